//! Test helper: runs a script body the way `EVAL body 0` runs it on Redis
//! (chunk named `@user_script`, first return value converted to a RESP2
//! reply) and prints the reply as `redis-cli --no-raw` does, so unit tests
//! are transcripts of what redis-server 7.0.15 answered.

use mlua::{Lua, Value};

use super::args::trunc_i64;

enum Reply {
    Nil,
    Int(i64),
    Bulk(Vec<u8>),
    Status(Vec<u8>),
    Error(Vec<u8>),
    Array(Vec<Reply>),
}

fn to_reply(v: &Value) -> Reply {
    match v {
        Value::String(s) => Reply::Bulk(s.as_bytes().to_vec()),
        Value::Boolean(true) => Reply::Int(1),
        Value::Integer(i) => Reply::Int(*i),
        Value::Number(x) => Reply::Int(trunc_i64(*x)),
        Value::Table(t) => {
            if let Ok(Value::String(e)) = t.raw_get::<Value>("err") {
                return Reply::Error(e.as_bytes().to_vec());
            }
            if let Ok(Value::String(s)) = t.raw_get::<Value>("ok") {
                return Reply::Status(s.as_bytes().to_vec());
            }
            let mut items = Vec::new();
            for i in 1.. {
                match t.raw_get::<Value>(i) {
                    Ok(Value::Nil) | Err(_) => break,
                    Ok(v) => items.push(to_reply(&v)),
                }
            }
            Reply::Array(items)
        }
        _ => Reply::Nil,
    }
}

fn repr(bytes: &[u8]) -> String {
    let mut out = String::from("\"");
    for &b in bytes {
        match b {
            b'\\' | b'"' => {
                out.push('\\');
                out.push(b as char);
            }
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            7 => out.push_str("\\a"),
            8 => out.push_str("\\b"),
            0x20..=0x7e => out.push(b as char),
            _ => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    out.push('"');
    out
}

// redis-cli's cliFormatReplyTTY.
fn format(r: &Reply, prefix: &str, out: &mut String) {
    match r {
        Reply::Nil => out.push_str("(nil)\n"),
        Reply::Int(i) => out.push_str(&format!("(integer) {i}\n")),
        Reply::Bulk(b) => {
            out.push_str(&repr(b));
            out.push('\n');
        }
        Reply::Status(s) => {
            out.push_str(&String::from_utf8_lossy(s));
            out.push('\n');
        }
        Reply::Error(e) => {
            out.push_str("(error) ");
            out.push_str(&String::from_utf8_lossy(e));
            out.push('\n');
        }
        Reply::Array(items) if items.is_empty() => out.push_str("(empty array)\n"),
        Reply::Array(items) => {
            let width = items.len().to_string().len();
            let inner = format!("{prefix}{}", " ".repeat(width + 2));
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(prefix);
                }
                out.push_str(&format!("{:>width$}) ", i + 1));
                format(item, &inner, out);
            }
        }
    }
}

/// Runs `body` as `EVAL body 0` would and returns redis-cli's rendering of
/// the reply, without the final newline.
pub(crate) fn eval(body: &str) -> String {
    let lua = Lua::new();
    super::install(&lua).expect("install");
    let reply = match lua.load(body).set_name("@user_script").call::<Value>(()) {
        Ok(v) => to_reply(&v),
        Err(mlua::Error::RuntimeError(msg)) => {
            // mlua appends a traceback to errors escaping to Rust.
            let msg = msg.split("\nstack traceback:").next().unwrap_or_default();
            let sha = sha1_smol::Sha1::from(body).digest().to_string();
            let text = format!("ERR {msg} script: {sha}, on @user_script:1.");
            Reply::Error(text.into_bytes())
        }
        Err(e) => panic!("not a Lua string error: {e:?}"),
    };
    let mut out = String::new();
    format(&reply, "", &mut out);
    out.pop();
    out
}

/// Asserts that each `(body, reply)` pair is what redis-server answered.
pub(crate) fn check(cases: &[(&str, &str)]) {
    for (body, expected) in cases {
        assert_eq!(eval(body), *expected, "EVAL {body:?} 0");
    }
}

/// Checks every case of a transcript: cases are separated by blank lines,
/// each is a script body on one line followed by redis-cli's reply lines;
/// lines starting with `#` between cases are comments.
pub(crate) fn check_transcript(text: &str) -> usize {
    let mut count = 0;
    let mut failures = Vec::new();
    for block in text.split("\n\n") {
        let mut lines = block
            .lines()
            .skip_while(|l| l.starts_with('#') || l.is_empty());
        let Some(body) = lines.next() else { continue };
        let expected = lines.collect::<Vec<_>>().join("\n");
        let got = eval(body);
        if got != expected {
            failures.push(format!(
                "EVAL {body:?} 0\n  got: {got:?}\n want: {expected:?}"
            ));
        }
        count += 1;
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    count
}
