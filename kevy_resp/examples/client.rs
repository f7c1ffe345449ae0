//! A tiny blocking Redis client built on kevy_resp's client side: it encodes
//! the command line as a multibulk request with `encode_request`, sends it
//! over a `std::net::TcpStream`, reads until `parse_reply` finds one whole
//! reply, and prints it the way `redis-cli` does.
//!
//! ```text
//! cargo run -p kevy_resp --example client -- 127.0.0.1:6379 SET a b
//! cargo run -p kevy_resp --example client -- 127.0.0.1:6379 HELLO 3
//! ```

use kevy_resp::{encode_request, parse_reply, Reply};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let Some(addr) = args.next() else {
        eprintln!("usage: client HOST:PORT COMMAND [ARG...]");
        return ExitCode::from(2);
    };
    let argv: Vec<String> = args.collect();
    if argv.is_empty() {
        eprintln!("usage: client HOST:PORT COMMAND [ARG...]");
        return ExitCode::from(2);
    }
    match run(&addr, &argv) {
        Ok(reply) => {
            let mut out = String::new();
            render(&reply, 0, &mut out);
            print!("{out}");
            if reply.is_error() {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(e) => {
            eprintln!("client: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Sends one command and reads back exactly one reply.
fn run(addr: &str, argv: &[String]) -> Result<Reply, Box<dyn std::error::Error>> {
    let mut stream = TcpStream::connect(addr)?;
    let parts: Vec<&[u8]> = argv.iter().map(|a| a.as_bytes()).collect();
    let mut req = Vec::new();
    encode_request(&parts, &mut req);
    stream.write_all(&req)?;

    let mut buf = Vec::with_capacity(4096);
    let mut chunk = [0u8; 16 * 1024];
    loop {
        // parse_reply is not incremental: it starts over on each call, which
        // is fine for one reply read in a few large chunks.
        if let Some((reply, _used)) = parse_reply(&buf)? {
            return Ok(reply);
        }
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            return Err("connection closed before a whole reply arrived".into());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// `redis-cli`-style rendering: numbered lines for aggregates, quoted strings.
fn render(r: &Reply, indent: usize, out: &mut String) {
    let quoted = |b: &[u8]| format!("\"{}\"", b.escape_ascii());
    let line = match r {
        Reply::Simple(s) => String::from_utf8_lossy(s).into_owned(),
        Reply::Error(e) => format!("(error) {}", String::from_utf8_lossy(e)),
        Reply::Int(n) => format!("(integer) {n}"),
        Reply::Bulk(b) | Reply::Verbatim(_, b) => quoted(b),
        Reply::Nil | Reply::NilArray => "(nil)".to_string(),
        Reply::Double(d) => format!("(double) {d}"),
        Reply::Bool(b) => format!("({})", if *b { "true" } else { "false" }),
        Reply::BigNumber(b) => format!("(big number) {}", String::from_utf8_lossy(b)),
        Reply::Array(v) | Reply::Set(v) | Reply::Push(v) => {
            if v.is_empty() {
                "(empty array)".to_string()
            } else {
                for (i, x) in v.iter().enumerate() {
                    aggregate_item(i, indent, out, |o| render(x, indent + 3, o));
                }
                return;
            }
        }
        Reply::Map(m) => {
            if m.is_empty() {
                "(empty hash)".to_string()
            } else {
                for (i, (k, x)) in m.iter().enumerate() {
                    aggregate_item(i, indent, out, |o| {
                        let mut key = String::new();
                        render(k, 0, &mut key);
                        o.push_str(key.trim_end());
                        o.push_str(" => ");
                        render(x, indent + 3, o);
                    });
                }
                return;
            }
        }
        other => format!("{other:?}"),
    };
    out.push_str(&line);
    out.push('\n');
}

fn aggregate_item(i: usize, indent: usize, out: &mut String, f: impl FnOnce(&mut String)) {
    if i > 0 {
        out.push_str(&" ".repeat(indent));
    }
    out.push_str(&format!("{}) ", i + 1));
    f(out);
}
