//! CLIENT LIST / CLIENT INFO fields that reflect a connection's state
//! (`flags`, `sub`, `psub`, `ssub`, `multi`), checked on kevy and on
//! redis-server alike: subscribers, a client inside MULTI, a blocked
//! client, a tracking client, and the caller itself.

use crate::util::{Conn, Redis, Server};
use std::time::{Duration, Instant};

/// The `name=value` fields of the CLIENT LIST line of the client named
/// `who`, once that line contains `wait_for` (another connection's command
/// may still be on its way).
fn fields_of(admin: &mut Conn, who: &str, names: &[&str], wait_for: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let list = admin.cmd_str("CLIENT LIST");
        let line = list
            .lines()
            .find(|l| l.contains(&format!(" name={who} ")) && l.contains(wait_for));
        if let Some(line) = line {
            return names
                .iter()
                .map(|n| {
                    line.split(' ')
                        .find(|f| f.starts_with(&format!("{n}=")))
                        .unwrap_or("?")
                        .to_string()
                })
                .collect::<Vec<_>>()
                .join(" ");
        }
        assert!(
            Instant::now() < deadline,
            "no client {who} with {wait_for} in {list}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn case(port: u16) -> Vec<String> {
    const F: &[&str] = &["flags", "sub", "psub", "ssub", "multi"];
    let mut admin = Conn::connect(port);
    let mut got = Vec::new();
    let mut sub = Conn::connect(port);
    sub.cmd("CLIENT SETNAME sub");
    sub.send(&[b"SUBSCRIBE", b"a", b"b"]);
    sub.read_frame();
    sub.read_frame();
    sub.send(&[b"PSUBSCRIBE", b"p*"]);
    sub.read_frame();
    got.push(fields_of(&mut admin, "sub", F, "psub=1"));
    let mut tx = Conn::connect(port);
    tx.cmd("CLIENT SETNAME tx");
    tx.cmd("MULTI");
    tx.cmd("SET k 1");
    tx.cmd("GET k");
    got.push(fields_of(&mut admin, "tx", F, "multi=2"));
    tx.cmd("EXEC");
    got.push(fields_of(&mut admin, "tx", F, "multi=-1"));
    let mut blocked = Conn::connect(port);
    blocked.cmd("CLIENT SETNAME blocked");
    blocked.send(&[b"BLPOP", b"nolist", b"0"]);
    got.push(fields_of(&mut admin, "blocked", F, "flags=b"));
    admin.cmd("LPUSH nolist x");
    blocked.read_frame();
    got.push(fields_of(&mut admin, "blocked", F, "flags=N"));
    let mut tr = Conn::connect(port);
    tr.cmd("CLIENT SETNAME tr");
    tr.hello3();
    tr.cmd("CLIENT TRACKING on BCAST");
    got.push(fields_of(&mut admin, "tr", F, "flags=t"));
    admin.cmd("CLIENT SETNAME admin");
    admin.cmd("CLIENT NO-EVICT on");
    got.push(fields_of(&mut admin, "admin", F, " "));
    // The caller's own line is current within its batch.
    got.push(
        admin
            .cmd_str("CLIENT INFO")
            .contains(" flags=e ")
            .to_string(),
    );
    got
}

#[test]
fn client_list_state_fields_match_redis() {
    let kevy = Server::start(&["--threads", "2"]);
    let k = case(kevy.port());
    let Some(redis) = Redis::start() else {
        return;
    };
    assert_eq!(k, case(redis.port()), "kevy vs redis-server");
}
