//! Protected mode from a non-loopback client: a connection from 127.0.0.2
//! (a second address on the loopback interface, which Redis — and kevy —
//! treat as remote: only 127.0.0.1 and ::1 are local) gets Redis's DENIED
//! error and is closed, unless a password is set or protected mode is off.
//! Each case is checked against redis-server too.

use crate::util::{Redis, Server};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// Connects to `port` from `src`, sends PING, returns everything read
/// until the server closes or goes quiet.
fn ping_from(src: &str, port: u16) -> Option<String> {
    let sock = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).ok()?;
    let from: SocketAddr = format!("{src}:0").parse().ok()?;
    if let Err(e) = sock.bind(&from.into()) {
        println!("skipping: cannot bind a client socket to {src}: {e}");
        return None;
    }
    let to: SocketAddr = format!("127.0.0.1:{port}").parse().ok()?;
    sock.connect(&to.into()).expect("connect");
    let mut s: TcpStream = sock.into();
    s.set_read_timeout(Some(Duration::from_millis(500))).ok()?;
    s.write_all(b"PING\r\n").ok()?;
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    while let Ok(n) = s.read(&mut buf) {
        if n == 0 {
            break;
        }
        out.extend_from_slice(&buf[..n]);
    }
    Some(String::from_utf8_lossy(&out).into_owned())
}

fn cases(port: u16, set: &mut dyn FnMut(&str)) -> Option<Vec<String>> {
    let mut got = vec![ping_from("127.0.0.1", port)?, ping_from("127.0.0.2", port)?];
    set("CONFIG SET requirepass s3cret");
    got.push(ping_from("127.0.0.2", port)?);
    set("CONFIG SET requirepass \"\"");
    set("CONFIG SET protected-mode no");
    got.push(ping_from("127.0.0.2", port)?);
    Some(got)
}

#[test]
fn protected_mode_denies_a_non_loopback_client_like_redis() {
    let kevy = Server::start(&["--protected-mode", "yes"]);
    let mut admin = kevy.conn();
    // Redis 7.0.15's DENIED text has a typo ("Setup a an"); kevy sends it as is.
    let Some(k) = cases(kevy.port(), &mut |line| {
        let r = admin.cmd_str(line);
        if line.contains("requirepass s3cret") {
            admin.expect("AUTH s3cret", "+OK\r\n");
        }
        assert!(r.starts_with("OK") || r.starts_with("+OK"), "{line}: {r}");
    }) else {
        return;
    };
    assert_eq!(k[0], "+PONG\r\n");
    assert!(
        k[1].starts_with("-DENIED Redis is running in protected mode"),
        "{}",
        k[1]
    );
    assert_eq!(k[2], "-NOAUTH Authentication required.\r\n");
    assert_eq!(k[3], "+PONG\r\n");
    let Some(redis) = Redis::start_with(&["protected-mode", "yes"]) else {
        return;
    };
    let mut rc = redis.conn();
    let r = cases(redis.port(), &mut |line| {
        rc.cmd_str(line);
        if line.contains("requirepass s3cret") {
            rc.expect("AUTH s3cret", "+OK\r\n");
        }
    })
    .expect("redis cases");
    assert_eq!(k, r, "kevy vs redis-server");
}
