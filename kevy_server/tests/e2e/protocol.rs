//! The wire, end to end: malformed requests get Redis's protocol error and a
//! closed connection while other clients keep being served; inline commands;
//! pipelining; big values; many concurrent clients.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::util::{check, escape, Conn, Redis, Server};

/// What a server does with `bytes` sent on a fresh connection: everything it
/// replies, and whether it closes the connection, within `quiet` of silence.
fn probe(port: u16, bytes: &[u8], quiet: Duration) -> (Vec<u8>, bool) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(quiet)).expect("timeout");
    // The server may close before it read everything: that's allowed.
    let _ = s.write_all(bytes);
    let mut out = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut buf = [0u8; 4096];
    while Instant::now() < deadline {
        match s.read(&mut buf) {
            Ok(0) => return (out, true),
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return (out, false)
            }
            Err(_) => return (out, true),
        }
    }
    (out, false)
}

/// Malformed (or merely odd) requests, with what redis-server 7.0.15 replies
/// and whether it then closes the connection.
const CASES: &[(&[u8], &str, bool)] = &[
    (b"*1\r\n$99999999999\r\n", "-ERR Protocol error: invalid bulk length\r\n", true),
    // A header announcing a 1 GiB - 1 argument, then no body: above
    // proto-max-bulk-len (512 MiB), refused before any allocation.
    (b"*1\r\n$1073741823\r\n", "-ERR Protocol error: invalid bulk length\r\n", true),
    (b"*1\r\n$536870913\r\n", "-ERR Protocol error: invalid bulk length\r\n", true),
    (b"*1\r\n$-1\r\n", "-ERR Protocol error: invalid bulk length\r\n", true),
    (b"*1\r\n$-0\r\n\r\n", "-ERR Protocol error: invalid bulk length\r\n", true),
    (b"*1\r\n$+1\r\na\r\n", "-ERR Protocol error: invalid bulk length\r\n", true),
    (b"*1\r\n$abc\r\n", "-ERR Protocol error: invalid bulk length\r\n", true),
    (b"*1\r\n$1 \r\n", "-ERR Protocol error: invalid bulk length\r\n", true),
    (b"*abc\r\n", "-ERR Protocol error: invalid multibulk length\r\n", true),
    (b"*3000000000\r\n", "-ERR Protocol error: invalid multibulk length\r\n", true),
    (b"*2147483648\r\n", "-ERR Protocol error: invalid multibulk length\r\n", true),
    (b"*+1\r\n$1\r\na\r\n", "-ERR Protocol error: invalid multibulk length\r\n", true),
    (b"*01\r\n$1\r\na\r\n", "-ERR Protocol error: invalid multibulk length\r\n", true),
    (b"*1 \r\n", "-ERR Protocol error: invalid multibulk length\r\n", true),
    (b"*1\r\nfoo\r\n", "-ERR Protocol error: expected '$', got 'f'\r\n", true),
    (b"SET a \"b c\r\n", "-ERR Protocol error: unbalanced quotes in request\r\n", true),
    (b"SET a 'b\r\n", "-ERR Protocol error: unbalanced quotes in request\r\n", true),
    (b"SET a \"b\"c\r\n", "-ERR Protocol error: unbalanced quotes in request\r\n", true),
    // Replies to what came before the bad request still go out.
    (b"PING\r\n*abc\r\nPING\r\n", "+PONG\r\n-ERR Protocol error: invalid multibulk length\r\n", true),
    // A non-positive multibulk length is an empty request: skipped.
    (b"*-5\r\nPING\r\n", "+PONG\r\n", false),
    (b"*0\r\nPING\r\n", "+PONG\r\n", false),
    (b"*1\r\n$4\r\nPING\r\n*-1\r\n*1\r\n$4\r\nPING\r\n", "+PONG\r\n+PONG\r\n", false),
    // Incomplete requests wait for the rest.
    (b"*2\r\n$4\r\nPING\r\n", "", false),
    (b"*1\r\n$4\r\nPING\r\n*1\r\n", "+PONG\r\n", false),
    (b"*1\r\n$0\r\n\r\n", "-ERR unknown command '', with args beginning with: \r\n", false),
    // Inline requests: any first byte but '*' starts one.
    (b"PING\r\n\r\n\r\nPING\n", "+PONG\r\n+PONG\r\n", false),
    (b"   PING   \r\n", "+PONG\r\n", false),
    (b"\r\n", "", false),
    (b"ECHO \"\\x41\\n\"\r\n", "$2\r\nA\n\r\n", false),
    (b"ECHO \"a\\\"b\"\r\n", "$3\r\na\"b\r\n", false),
    (b"ECHO 'it''s'\r\n", "-ERR Protocol error: unbalanced quotes in request\r\n", true),
    (b"SET a \"b c\"\r\nGET a\r\n", "+OK\r\n$3\r\nb c\r\n", false),
    (
        b"$1\r\na\r\n",
        "-ERR unknown command '$1', with args beginning with: \r\n-ERR unknown command 'a', with args beginning with: \r\n",
        false,
    ),
    (b"+PING\r\n", "-ERR unknown command '+PING', with args beginning with: \r\n", false),
];

#[test]
fn malformed_requests_get_redis_errors_and_neighbours_are_served() {
    let server = Server::start(&[]);
    let redis = Redis::start();
    let mut neighbour = server.conn();
    neighbour.expect("PING", "+PONG\r\n");
    let quiet = Duration::from_millis(300);
    for (bytes, want, want_closed) in CASES {
        let (got, closed) = probe(server.port(), bytes, quiet);
        if let Some(redis) = &redis {
            // Keep the table honest: it must match the oracle.
            let (oracle, oracle_closed) = probe(redis.port(), bytes, quiet);
            assert_eq!(
                (escape(&oracle), oracle_closed),
                (escape(want.as_bytes()), *want_closed),
                "CASES entry for {} disagrees with redis-server",
                escape(bytes)
            );
        }
        assert_eq!(
            (escape(&got), closed),
            (escape(want.as_bytes()), *want_closed),
            "request {} (reply, closed)",
            escape(bytes)
        );
        assert_eq!(
            escape(&neighbour.cmd("PING")),
            "+PONG\\r\\n",
            "after {}",
            escape(bytes)
        );
    }
}

#[test]
fn too_big_inline_and_bulk_count_are_refused() {
    let server = Server::start(&[]);
    let mut neighbour = server.conn();
    let quiet = Duration::from_millis(500);
    // No newline within 64 KiB.
    let (got, closed) = probe(server.port(), &vec![b'x'; 70_000], quiet);
    assert_eq!(
        escape(&got),
        escape(b"-ERR Protocol error: too big inline request\r\n")
    );
    assert!(closed);
    let mut long_count = b"*1\r\n$".to_vec();
    long_count.extend(std::iter::repeat_n(b'1', 70_000));
    let (got, closed) = probe(server.port(), &long_count, quiet);
    assert_eq!(
        escape(&got),
        escape(b"-ERR Protocol error: too big bulk count string\r\n")
    );
    assert!(closed);
    let mut long_mb = b"*".to_vec();
    long_mb.extend(std::iter::repeat_n(b'1', 70_000));
    let (got, closed) = probe(server.port(), &long_mb, quiet);
    assert_eq!(
        escape(&got),
        escape(b"-ERR Protocol error: too big mbulk count string\r\n")
    );
    assert!(closed);
    neighbour.expect("PING", "+PONG\r\n");
}

/// Small deterministic PRNG (xorshift64*), so failures replay.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

#[test]
fn random_garbage_never_takes_the_server_down() {
    let server = Server::start(&[]);
    let mut neighbour = server.conn();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let alphabet = b"*$\r\n-+:0123456789 \"'\\xabPINGSET\x00\xff";
    for round in 0..200 {
        let len = (rng.next() % 200) as usize;
        let blob: Vec<u8> = (0..len)
            .map(|_| {
                let r = rng.next();
                if r & 3 == 0 {
                    (r >> 8) as u8
                } else {
                    alphabet[(r >> 8) as usize % alphabet.len()]
                }
            })
            .collect();
        let (_reply, _closed) = probe(server.port(), &blob, Duration::from_millis(20));
        if round % 20 == 0 {
            assert_eq!(
                escape(&neighbour.cmd("PING")),
                "+PONG\\r\\n",
                "after {}",
                escape(&blob)
            );
        }
    }
    neighbour.expect("PING", "+PONG\r\n");
    server.conn().expect("PING", "+PONG\r\n");
}

#[test]
fn inline_commands() {
    let server = Server::start(&[]);
    let mut c = server.conn();
    c.send_raw(b"PING\r\n");
    c.expect_frame(b"+PONG\r\n");
    c.send_raw(b"SET a \"b c\"\r\nGET a\r\n");
    c.expect_frame(b"+OK\r\n");
    c.expect_frame(b"$3\r\nb c\r\n");
    c.send_raw(b"set k 'single quoted'\nget k\n");
    c.expect_frame(b"+OK\r\n");
    c.expect_frame(b"$13\r\nsingle quoted\r\n");
    c.send_raw(b"INCRBY n 5\r\nEXISTS a k n nosuch\r\n");
    c.expect_frame(b":5\r\n");
    c.expect_frame(b":3\r\n");
    // An inline request may arrive in pieces.
    c.send_raw(b"EC");
    std::thread::sleep(Duration::from_millis(50));
    c.send_raw(b"HO hel");
    std::thread::sleep(Duration::from_millis(50));
    c.send_raw(b"lo\r\n");
    c.expect_frame(b"$5\r\nhello\r\n");
    // Inline and multibulk mixed in one write.
    c.send_raw(b"PING\r\n*2\r\n$4\r\nECHO\r\n$2\r\nhi\r\nPING x\r\n");
    c.expect_frame(b"+PONG\r\n");
    c.expect_frame(b"$2\r\nhi\r\n");
    c.expect_frame(b"$1\r\nx\r\n");
}

#[test]
fn a_request_split_across_many_writes() {
    let server = Server::start(&[]);
    let mut c = server.conn();
    let value = vec![b'v'; 100_000];
    let mut req = Vec::new();
    crate::util::encode_request(&[b"SET", b"split", &value], &mut req);
    for chunk in req.chunks(7919) {
        c.send_raw(chunk);
        std::thread::sleep(Duration::from_millis(2));
    }
    c.expect_frame(b"+OK\r\n");
    c.expect("STRLEN split", ":100000\r\n");
    // Byte by byte, headers included.
    for b in b"*2\r\n$3\r\nGET\r\n$5\r\nsplit\r\n" {
        c.send_raw(&[*b]);
    }
    let reply = c.read_frame();
    assert_eq!(reply.len(), 100_000 + b"$100000\r\n\r\n".len());
}

#[test]
fn pipelining_1000_commands_in_one_write() {
    let server = Server::start(&["--threads", "2"]);
    let mut c = server.conn();
    let mut batch = Vec::new();
    for i in 0..1000 {
        let key = format!("key:{}", i % 37);
        match i % 4 {
            0 => crate::util::encode_request(&[b"INCR", b"counter"], &mut batch),
            1 => crate::util::encode_request(
                &[b"SET", key.as_bytes(), format!("{i}").as_bytes()],
                &mut batch,
            ),
            2 => crate::util::encode_request(&[b"GET", key.as_bytes()], &mut batch),
            _ => batch.extend_from_slice(b"PING\r\n"),
        }
    }
    c.send_raw(&batch);
    let mut last_set: std::collections::HashMap<String, usize> = Default::default();
    for i in 0..1000 {
        let key = format!("key:{}", i % 37);
        let reply = c.read_frame();
        let want = match i % 4 {
            0 => format!(":{}\r\n", i / 4 + 1),
            1 => {
                last_set.insert(key, i);
                "+OK\r\n".to_string()
            }
            2 => match last_set.get(&key) {
                Some(v) => format!("${}\r\n{v}\r\n", v.to_string().len()),
                None => "$-1\r\n".to_string(),
            },
            _ => "+PONG\r\n".to_string(),
        };
        assert_eq!(escape(&reply), escape(want.as_bytes()), "reply {i}");
    }
    c.expect("GET counter", "$3\r\n250\r\n");
}

#[test]
fn big_values() {
    let server = Server::start(&[]);
    let mut c = server.conn();
    let value: Vec<u8> = (0..(1u32 << 20)).map(|i| (i % 251) as u8).collect();
    c.send(&[b"SET", b"big", &value]);
    c.expect_frame(b"+OK\r\n");
    c.send(&[b"GET", b"big"]);
    let reply = c.read_frame();
    let mut want = format!("${}\r\n", value.len()).into_bytes();
    want.extend_from_slice(&value);
    want.extend_from_slice(b"\r\n");
    assert!(reply == want, "GET big returned {} bytes", reply.len());
    c.expect("STRLEN big", ":1048576\r\n");
    c.send(&[b"APPEND", b"big", &value]);
    c.expect_frame(b":2097152\r\n");
    c.send(&[b"GETRANGE", b"big", b"1048575", b"1048577"]);
    c.expect_frame(
        &[
            &b"$3\r\n"[..],
            &[value[1048575], value[0], value[1]],
            b"\r\n",
        ]
        .concat(),
    );
    // Many big replies pipelined: the server must not drop or reorder output
    // when the socket buffer fills up.
    let mut batch = Vec::new();
    for _ in 0..20 {
        crate::util::encode_request(&[b"GET", b"big"], &mut batch);
    }
    c.send_raw(&batch);
    for _ in 0..20 {
        assert_eq!(
            c.read_frame().len(),
            2 * value.len() + b"$2097152\r\n\r\n".len()
        );
    }
}

#[test]
fn parallel_clients_increment_exactly() {
    let server = Server::start(&["--threads", "4"]);
    let port = server.port();
    let threads: Vec<_> = (0..16)
        .map(|_| {
            std::thread::spawn(move || {
                let mut c = Conn::connect(port);
                for _ in 0..500 {
                    let reply = c.cmd("INCR total");
                    assert!(reply.starts_with(b":"), "INCR replied {}", escape(&reply));
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("client thread");
    }
    server.conn().expect("GET total", "$4\r\n8000\r\n");
}

#[test]
fn quit_closes_the_connection() {
    let server = Server::start(&[]);
    let mut c = server.conn();
    c.expect("QUIT", "+OK\r\n");
    assert!(c.is_closed_within(Duration::from_secs(5)));
    let mut c = server.conn();
    // Commands pipelined after QUIT are not executed.
    c.send_raw(b"SET a 1\r\nQUIT\r\nSET a 2\r\n");
    c.expect_frame(b"+OK\r\n");
    c.expect_frame(b"+OK\r\n");
    assert!(c.is_closed_within(Duration::from_secs(5)));
    server.conn().expect("GET a", "$1\r\n1\r\n");
}

#[test]
fn resp3_after_hello() {
    let server = Server::start(&[]);
    let mut c = server.conn();
    let hello = String::from_utf8_lossy(&c.hello3()).into_owned();
    for field in [
        "server", "version", "proto", "id", "mode", "role", "modules",
    ] {
        assert!(
            hello.contains(&format!("${}\r\n{field}\r\n", field.len())),
            "HELLO 3: {hello}"
        );
    }
    assert!(hello.contains("$5\r\nproto\r\n:3\r\n"), "HELLO 3: {hello}");
    check(
        &mut c,
        &[
            ("GET missing", "_\r\n"),
            ("SET a 1", "+OK\r\n"),
            ("MGET a missing", "*2\r\n$1\r\n1\r\n_\r\n"),
            (
                "CONFIG GET maxmemory",
                "%1\r\n$9\r\nmaxmemory\r\n$1\r\n0\r\n",
            ),
        ],
    );
    let hello2 = c.cmd("HELLO 2");
    assert!(
        hello2.starts_with(b"*14\r\n"),
        "HELLO 2: {}",
        escape(&hello2)
    );
    check(&mut c, &[("GET missing", "$-1\r\n")]);
}

/// CLIENT SETINFO is Redis 7.2; kevy accepts it (redis-py 5 and other
/// clients send it on connect), where 7.0 replies "unknown subcommand".
#[test]
fn client_setinfo_as_in_redis_7_2() {
    if crate::util::selftest() {
        println!("skipping: redis-server 7.0 has no CLIENT SETINFO");
        return;
    }
    let server = Server::start(&[]);
    let mut c = server.conn();
    check(
        &mut c,
        &[
            ("CLIENT SETINFO lib-name redis-py", "+OK\r\n"),
            ("CLIENT SETINFO LIB-VER 5.0.1", "+OK\r\n"),
        ],
    );
    for bad in ["CLIENT SETINFO lib-name \"a b\"", "CLIENT SETINFO bogus x"] {
        let reply = c.cmd(bad);
        assert!(reply.starts_with(b"-ERR "), "{bad}: {}", escape(&reply));
    }
    let reply = c.cmd("CLIENT SETINFO lib-name");
    assert_eq!(
        escape(&reply),
        escape(b"-ERR wrong number of arguments for 'client|setinfo' command\r\n")
    );
    let info = c.cmd_str("CLIENT INFO");
    assert!(info.contains("lib-name=redis-py"), "CLIENT INFO: {info}");
    assert!(info.contains("lib-ver=5.0.1"), "CLIENT INFO: {info}");
}

#[test]
fn client_id_list_info_kill() {
    let server = Server::start(&["--threads", "2"]);
    let mut a = server.conn();
    let mut b = server.conn();
    let id_a = String::from_utf8_lossy(&a.cmd("CLIENT ID")).into_owned();
    let id_b = String::from_utf8_lossy(&b.cmd("CLIENT ID")).into_owned();
    let id_a = id_a.trim_start_matches(':').trim_end().to_string();
    let id_b = id_b.trim_start_matches(':').trim_end().to_string();
    assert!(
        id_a.parse::<u64>().is_ok() && id_b.parse::<u64>().is_ok(),
        "ids {id_a} {id_b}"
    );
    assert_ne!(id_a, id_b);
    check(&mut b, &[("CLIENT SETNAME bee", "+OK\r\n")]);
    let info = a.cmd_str("CLIENT INFO");
    for field in [
        "id=",
        "addr=127.0.0.1:",
        "laddr=127.0.0.1:",
        "fd=",
        "name=",
        "age=",
        "idle=",
        "flags=",
        "db=0",
        "cmd=client|info",
        "resp=2",
    ] {
        assert!(info.contains(field), "CLIENT INFO lacks {field}: {info}");
    }
    assert!(info.contains(&format!("id={id_a} ")), "CLIENT INFO: {info}");
    let list = a.cmd_str("CLIENT LIST");
    assert!(list.contains(&format!("id={id_a} ")), "CLIENT LIST: {list}");
    assert!(list.contains(&format!("id={id_b} ")), "CLIENT LIST: {list}");
    assert!(list.contains("name=bee "), "CLIENT LIST: {list}");
    let only_b = a.cmd_str(&format!("CLIENT LIST ID {id_b}"));
    assert!(
        only_b.contains("name=bee ") && !only_b.contains(&format!("id={id_a} ")),
        "{only_b}"
    );
    // Killing another connection (likely on another event loop) closes it.
    a.expect(&format!("CLIENT KILL ID {id_b}"), ":1\r\n");
    assert!(
        b.is_closed_within(Duration::from_secs(5)),
        "killed client still open"
    );
    a.expect(&format!("CLIENT KILL ID {id_b}"), ":0\r\n");
    let list = a.cmd_str("CLIENT LIST");
    assert!(
        !list.contains(&format!("id={id_b} ")),
        "CLIENT LIST after kill: {list}"
    );
    // SKIPME defaults to yes: a client doesn't kill itself by its own id...
    a.expect(&format!("CLIENT KILL ID {id_a}"), ":0\r\n");
    // ...unless asked to, and then it is closed without a reply.
    a.send(&[b"CLIENT", b"KILL", b"ID", id_a.as_bytes(), b"SKIPME", b"no"]);
    assert!(a.is_closed_within(Duration::from_secs(5)));
}
