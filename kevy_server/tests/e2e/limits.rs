//! Client limits through the real binary, each case run against kevy and
//! against redis-server with the same settings: `maxclients` (the client
//! over the limit gets Redis's error and is closed), an endless bulk
//! (closed at `client-query-buffer-limit`, memory stays bounded), a client
//! that never reads its replies (closed at `client-output-buffer-limit`)
//! while another keeps being served, and `timeout` for idle clients.

use crate::util::{Conn, Redis, Server};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// Runs `case` against a kevy-server and, when installed, a redis-server,
/// both configured with `settings` (name, value pairs) through CONFIG SET.
fn both(settings: &[&str], case: impl Fn(u16, &str)) {
    let kevy = Server::start(&["--threads", "2"]);
    configure(&mut kevy.conn(), settings);
    case(kevy.port(), "kevy");
    match Redis::start_with(settings) {
        Some(redis) => case(redis.port(), "redis"),
        None => println!("skipping the redis-server half: not installed"),
    }
}

fn configure(c: &mut Conn, settings: &[&str]) {
    for pair in settings.chunks(2) {
        c.expect(
            &format!("CONFIG SET {} \"{}\"", pair[0], pair[1]),
            "+OK\r\n",
        );
    }
}

/// Whether the server closes `s` within `timeout` (what it still sends
/// before that is read and dropped).
fn closed_within(s: &mut TcpStream, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    let mut buf = vec![0u8; 256 * 1024];
    while Instant::now() < deadline {
        let _ = s.set_read_timeout(Some(Duration::from_millis(200)));
        match s.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => return true,
        }
    }
    false
}

fn used_memory(c: &mut Conn) -> u64 {
    let text = c.cmd_str("INFO memory");
    text.lines()
        .find_map(|l| l.strip_prefix("used_memory:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no used_memory in {text}"))
}

#[test]
fn limits_maxclients_plus_one_is_refused() {
    both(&["maxclients", "4"], |port, who| {
        let mut admin = Conn::connect(port);
        let mut open: Vec<Conn> = (0..3).map(|_| Conn::connect(port)).collect();
        for c in &mut open {
            c.expect("PING", "+PONG\r\n");
        }
        let mut extra = Conn::connect(port);
        extra.set_read_timeout(Duration::from_secs(5));
        assert_eq!(
            extra.read_frame(),
            b"-ERR max number of clients reached\r\n",
            "{who}"
        );
        assert!(extra.is_closed_within(Duration::from_secs(5)), "{who}");
        // Freeing a slot lets the next client in.
        drop(open.pop());
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let mut c = Conn::connect(port);
            c.send(&[b"PING"]);
            if c.read_frame() == b"+PONG\r\n" {
                break;
            }
            assert!(Instant::now() < deadline, "{who}: slot never freed");
            std::thread::sleep(Duration::from_millis(20));
        }
        admin.expect("PING", "+PONG\r\n");
    });
}

#[test]
fn limits_endless_bulk_is_cut_at_the_query_buffer_limit() {
    both(&["client-query-buffer-limit", "1mb"], |port, who| {
        let mut other = Conn::connect(port);
        let before = used_memory(&mut other);
        let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        // A 400 MB argument (under proto-max-bulk-len) that never ends.
        s.write_all(b"*2\r\n$3\r\nGET\r\n$400000000\r\n")
            .expect("header");
        let chunk = vec![b'x'; 64 * 1024];
        let mut sent = 0usize;
        let mut closed = false;
        while sent < 64 * 1024 * 1024 {
            if s.write_all(&chunk).is_err() {
                closed = true;
                break;
            }
            sent += chunk.len();
            if sent % (4 * 1024 * 1024) == 0 {
                other.expect("PING", "+PONG\r\n");
            }
        }
        assert!(closed, "{who}: accepted {sent} bytes of one argument");
        assert!(
            sent < 32 * 1024 * 1024,
            "{who}: closed only after {sent} bytes"
        );
        other.expect("PING", "+PONG\r\n");
        let after = used_memory(&mut other);
        assert!(
            after < before + 16 * 1024 * 1024,
            "{who}: used_memory grew from {before} to {after}"
        );
    });
}

#[test]
fn limits_client_that_never_reads_is_closed_others_served() {
    both(
        &["client-output-buffer-limit", "normal 1mb 1mb 0"],
        |port, who| {
            let mut other = Conn::connect(port);
            let big = vec![b'v'; 100 * 1024];
            other.send(&[b"SET", b"big", &big]);
            assert_eq!(other.read_frame(), b"+OK\r\n");
            let mut lazy = TcpStream::connect(("127.0.0.1", port)).expect("connect");
            lazy.set_write_timeout(Some(Duration::from_secs(5)))
                .expect("timeout");
            // 2000 GETs of 100 KiB: 200 MB of replies it never reads.
            let req = b"*2\r\n$3\r\nGET\r\n$3\r\nbig\r\n".repeat(100);
            for _ in 0..20 {
                if lazy.write_all(&req).is_err() {
                    break;
                }
                other.expect("PING", "+PONG\r\n");
            }
            assert!(closed_within(&mut lazy, Duration::from_secs(10)), "{who}");
            other.expect("PING", "+PONG\r\n");
            other.expect("STRLEN big", ":102400\r\n");
        },
    );
}

#[test]
fn limits_idle_clients_are_closed_after_timeout() {
    both(&["timeout", "1"], |port, who| {
        let mut idle = Conn::connect(port);
        idle.expect("PING", "+PONG\r\n");
        let mut busy = Conn::connect(port);
        let t0 = Instant::now();
        let mut closed = false;
        while t0.elapsed() < Duration::from_secs(6) {
            busy.expect("PING", "+PONG\r\n");
            if idle.is_closed_within(Duration::from_millis(200)) {
                closed = true;
                break;
            }
        }
        assert!(closed, "{who}: idle client still open");
        assert!(
            t0.elapsed() >= Duration::from_millis(900),
            "{who}: closed too early"
        );
        busy.expect("PING", "+PONG\r\n");
    });
}
