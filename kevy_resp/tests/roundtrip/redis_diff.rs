//! Differential tests against the real `redis-server` (the compatibility
//! oracle): each input is sent raw to a fresh connection, and what Redis
//! answers — the replies to the commands it parsed, then the protocol error
//! and the close — must equal what our parser predicts. The commands used
//! are `PING` and `ECHO`, whose replies are easy to predict; an input whose
//! parse yields anything else is not sent. When no `redis-server` binary is
//! installed the tests say so and pass.

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use kevy_resp::{encode_bulk, Limits, RequestParser};

/// A redis-server child process, killed on drop.
struct Server {
    child: Child,
    port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts redis-server on a free loopback port, with persistence off.
fn start(extra: &[&str]) -> Option<Server> {
    let port = TcpListener::bind("127.0.0.1:0")
        .ok()?
        .local_addr()
        .ok()?
        .port();
    let dir = std::env::temp_dir();
    let child = Command::new("redis-server")
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(["--save", "", "--appendonly", "no"])
        .arg("--dir")
        .arg(&dir)
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let server = Server { child, port };
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Some(server);
        }
        sleep(Duration::from_millis(20));
    }
    None
}

/// What a connection is expected to receive: the bytes, and whether the
/// server closes it afterwards.
#[derive(Debug, PartialEq)]
struct Expect {
    bytes: Vec<u8>,
    closed: bool,
}

/// Predicts Redis's answer from our parser, or `None` when the input holds
/// a command other than PING or ECHO.
fn predict(input: &[u8], authenticated: bool) -> Option<Expect> {
    let limits = Limits {
        authenticated,
        ..Limits::default()
    };
    let mut parser = RequestParser::new();
    let mut buf = BytesMut::from(input);
    let mut bytes = Vec::new();
    loop {
        match parser.parse(&mut buf, &limits) {
            Ok(Some(args)) => {
                let name = args[0].to_ascii_lowercase();
                if !authenticated {
                    if name != b"ping" && name != b"echo" {
                        return None;
                    }
                    bytes.extend_from_slice(b"-NOAUTH Authentication required.\r\n");
                    continue;
                }
                match (name.as_slice(), args.len()) {
                    (b"ping", 1) => bytes.extend_from_slice(b"+PONG\r\n"),
                    (b"ping", 2) | (b"echo", 2) => encode_bulk(&mut bytes, &args[1]),
                    (b"ping" | b"echo", _) => {
                        let name = String::from_utf8_lossy(&name).into_owned();
                        bytes.extend_from_slice(
                            format!("-ERR wrong number of arguments for '{name}' command\r\n")
                                .as_bytes(),
                        );
                    }
                    _ => return None,
                }
            }
            Ok(None) => {
                return Some(Expect {
                    bytes,
                    closed: false,
                })
            }
            Err(e) => {
                bytes.push(b'-');
                bytes.extend_from_slice(&e.reply_bytes());
                bytes.extend_from_slice(b"\r\n");
                return Some(Expect {
                    bytes,
                    closed: true,
                });
            }
        }
    }
}

/// Sends `input` on a new connection and reads Redis's answer: until it
/// closes, or, when `want` bytes are expected and no close, until they
/// have come plus a short quiet period.
fn ask(port: u16, input: &[u8], want: &Expect) -> Expect {
    let mut conn = TcpStream::connect(("127.0.0.1", port)).expect("connect to redis-server");
    conn.write_all(input).expect("write to redis-server");
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut got = Vec::new();
    let mut chunk = [0u8; 65536];
    loop {
        let quiet = !want.closed && got.len() >= want.bytes.len();
        let wait = if quiet {
            Duration::from_millis(20)
        } else {
            deadline.saturating_duration_since(Instant::now())
        };
        if wait.is_zero() {
            break;
        }
        conn.set_read_timeout(Some(wait)).expect("set timeout");
        match conn.read(&mut chunk) {
            Ok(0) => {
                return Expect {
                    bytes: got,
                    closed: true,
                }
            }
            Ok(n) => got.extend_from_slice(&chunk[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => break,
            Err(e) if e.kind() == ErrorKind::ConnectionReset => {
                return Expect {
                    bytes: got,
                    closed: true,
                }
            }
            Err(e) => panic!("read from redis-server: {e}"),
        }
    }
    let _ = conn.shutdown(Shutdown::Both);
    Expect {
        bytes: got,
        closed: false,
    }
}

/// Hand-picked inputs: the quirks and every error Redis can give.
fn cases() -> Vec<Vec<u8>> {
    let mut v: Vec<Vec<u8>> = [
        &b"*1\r\n$4\r\nPING\r\n"[..],
        b"*-5\r\nPING\r\n",
        b"*0\r\nPING\r\n",
        b"*1\r\n$4\r\nPINGXY*2\r\n$4\r\nECHO\r\n$3\r\na\x00b\r\n",
        b"*1\rX$4\r\nPING\r\n",
        b"*\r\n",
        b"*abc\r\n",
        b"*01\r\n",
        b"*+1\r\n",
        b"*-0\r\n",
        b"*2147483647\r\n",
        b"*2147483648\r\n",
        b"*00000000000000000001\r\n",
        b"*1\r\nX\r\n",
        b"*1\r\n\r\n",
        b"*1\r\n\n\r\n",
        b"*1\r\n\x00\r\n",
        b"*1\r\n\xff\r\n",
        b"*1\r\n$-1\r\n",
        b"*1\r\n$abc\r\n",
        b"*1\r\n$\r\n",
        b"*1\r\n$04\r\n",
        b"*1\r\n$536870912\r\n",
        b"*1\r\n$536870913\r\n",
        b"\r\n\r\nPING\r\n",
        b"\nPING\n",
        b"   \r\nping\r\n",
        b"PING\rX\r\n",
        b"ECHO \"a\\x41\\n\\q\\xzz\"\r\n",
        b"ECHO 'a\\'b\\n'\r\n",
        b"ECHO \"ab\"c\r\n",
        b"ECHO \"ab\r\n",
        b"ECHO a\"b c\"\r\n",
        b"ECHO \x0bab\r\n",
        b"ECHO a\x0bb\x0c\r\n",
        b"ECHO \"x\"\x0b\r\n",
        b"PING\x00\r\n",
        b"ECHO \"a\\\"\r\n",
        b"ECHO\r\n",
        b"PING a b\r\n",
        b"*1\r\n$4\r\nPING\r\n*1\r\nX\r\n*1\r\n$4\r\nPING\r\n",
        b"PING\r\n*1\r\n$4\r\nPING\r\n*1\r\n$x\r\n",
    ]
    .iter()
    .map(|c| c.to_vec())
    .collect();
    v.push(vec![b'A'; 65536]);
    v.push(vec![b'A'; 65537]);
    let mut count = b"*".to_vec();
    count.resize(65537, b'1');
    v.push(count);
    let mut bulk = b"*1\r\n$".to_vec();
    bulk.resize(4 + 65537, b'1');
    v.push(bulk);
    let mut nul = b"PING\x00\r\n".to_vec();
    nul.resize(70000, b'A');
    v.push(nul);
    v
}

/// Deterministic pseudo-random inputs made of protocol fragments.
fn random_cases(n: usize) -> Vec<Vec<u8>> {
    const PARTS: &[&[u8]] = &[
        b"PING",
        b"ECHO",
        b"ping ",
        b"ECHO ",
        b" ",
        b"\"",
        b"'",
        b"\\",
        b"x",
        b"\\x4",
        b"1",
        b"\r\n",
        b"\n",
        b"\r",
        b"*1\r\n",
        b"*2\r\n",
        b"$4\r\n",
        b"$1\r\n",
        b"$4\r\nPING\r\n",
        b"$4\r\nECHO\r\n",
        b"*",
        b"$",
        b"-1",
        b"0",
        b"\x00",
        b"\xff",
        b"\x0b",
    ];
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    (0..n)
        .map(|_| {
            let len = 1 + next() % 12;
            let mut input = Vec::new();
            for _ in 0..len {
                input.extend_from_slice(PARTS[(next() % PARTS.len() as u64) as usize]);
            }
            input
        })
        .collect()
}

/// Runs every input through both and reports all differences at once.
fn compare(port: u16, inputs: &[Vec<u8>], authenticated: bool) -> usize {
    let mut compared = 0;
    let mut failures = Vec::new();
    for input in inputs {
        let Some(want) = predict(input, authenticated) else {
            continue;
        };
        compared += 1;
        let got = ask(port, input, &want);
        if got != want {
            let show = |b: &[u8]| String::from_utf8_lossy(&b[..b.len().min(200)]).into_owned();
            failures.push(format!(
                "input {:?}\n  redis: {:?} closed={}\n  kevy:  {:?} closed={}",
                show(input),
                show(&got.bytes),
                got.closed,
                show(&want.bytes),
                want.closed
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    compared
}

#[test]
fn parser_agrees_with_redis_server() {
    let Some(server) = start(&[]) else {
        eprintln!("redis-server not available: differential parser test not run");
        return;
    };
    let mut inputs = cases();
    inputs.extend(random_cases(250));
    let compared = compare(server.port, &inputs, true);
    eprintln!("compared {compared} inputs with redis-server");
    assert!(compared > 150, "only {compared} inputs were comparable");
}

#[test]
fn unauthenticated_limits_agree_with_redis_server() {
    let Some(server) = start(&["--requirepass", "kevy-test"]) else {
        eprintln!("redis-server not available: differential parser test not run");
        return;
    };
    let inputs: Vec<Vec<u8>> = [
        &b"*11\r\n"[..],
        b"*10\r\n",
        b"*1\r\n$16385\r\n",
        b"*1\r\n$16384\r\n",
        b"*1\r\n$536870913\r\n",
        b"*2147483648\r\n",
        b"*-5\r\nPING\r\n",
        b"*2\r\n$4\r\nECHO\r\n$1\r\nx\r\n",
    ]
    .iter()
    .map(|c| c.to_vec())
    .collect();
    assert_eq!(compare(server.port, &inputs, false), inputs.len());
}
