//! `requirepass`: before AUTH a client may run only AUTH, HELLO (with its
//! AUTH option), QUIT and RESET; wrong passwords get WRONGPASS; RESET logs
//! the connection out again. Replies are compared with redis-server's when
//! it is installed.

use crate::util::{Conn, Redis, Server};

const SCRIPT: &[&str] = &[
    "GET a",
    "PING",
    "AUTH wrong",
    "AUTH default wrong",
    "AUTH nobody secret",
    "AUTH secret",
    "SET a 1",
    "GET a",
    "RESET",
    "GET a",
    "AUTH default secret",
    "GET a",
    "AUTH a b c",
];

fn transcript(c: &mut Conn) -> Vec<String> {
    SCRIPT
        .iter()
        .map(|l| format!("{l} -> {}", crate::util::escape(&c.cmd(l))))
        .collect()
}

#[test]
fn requirepass_gates_commands_like_redis() {
    let s = Server::start(&["--requirepass", "secret"]);
    let kevy = transcript(&mut s.conn());
    assert!(
        kevy[0].ends_with("-NOAUTH Authentication required.\\r\\n"),
        "{}",
        kevy[0]
    );
    assert!(kevy[5].ends_with("+OK\\r\\n"), "{}", kevy[5]);
    let Some(r) = Redis::start_with(&["--requirepass", "secret"]) else {
        return;
    };
    let redis = transcript(&mut r.conn());
    assert_eq!(kevy, redis);
}

#[test]
fn hello_auth_authenticates() {
    let s = Server::start(&["--requirepass", "secret"]);
    let mut c = s.conn();
    let r = c.cmd_str("HELLO 3");
    assert!(r.starts_with("-NOAUTH HELLO must be called"), "{r}");
    let r = c.cmd_str("HELLO 3 AUTH default secret");
    assert!(r.starts_with('%'), "{r}");
    c.expect("GET missing", "_\r\n");
}

#[test]
fn config_set_requirepass_applies_to_new_connections() {
    let s = Server::start(&[]);
    let mut admin = s.conn();
    admin.expect("CONFIG SET requirepass s3cret", "+OK\r\n");
    // The connection that set it stays usable, as in Redis.
    admin.expect("PING", "+PONG\r\n");
    let mut c = s.conn();
    c.expect("PING", "-NOAUTH Authentication required.\r\n");
    c.expect("AUTH s3cret", "+OK\r\n");
    admin.expect("CONFIG SET requirepass \"\"", "+OK\r\n");
    let mut d = s.conn();
    d.expect("PING", "+PONG\r\n");
}
