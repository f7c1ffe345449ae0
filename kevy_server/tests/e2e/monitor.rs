//! MONITOR against the oracle (lines compared after masking the timestamp
//! and the client address), and CLIENT PAUSE WRITE/ALL with UNPAUSE: which
//! commands wait, and that UNPAUSE (or the timeout) releases them.

use std::time::{Duration, Instant};

use crate::pubsub::{differential, Rec};
use crate::util::{escape, Conn, Server};

/// `+1700000000.123456 [0 127.0.0.1:5555] "SET" ...` with the time and the
/// address masked: `+<time> [0 <addr>] "SET" ...`.
fn mask_line(frame: &[u8]) -> Vec<u8> {
    let text = frame.to_vec();
    let (Some(open), Some(close)) = (
        text.iter().position(|&b| b == b'['),
        text.iter().position(|&b| b == b']'),
    ) else {
        return text;
    };
    let inside = &text[open + 1..close];
    let db_end = inside
        .iter()
        .position(|&b| b == b' ')
        .unwrap_or(inside.len());
    let mut out = b"+<time> [".to_vec();
    out.extend_from_slice(&inside[..db_end]);
    out.extend_from_slice(b" <addr>]");
    out.extend_from_slice(&text[close + 1..]);
    out
}

/// Reads monitor lines until the one for `ECHO end`, recording them masked.
fn read_until_end(r: &mut Rec, m: &mut Conn) {
    for _ in 0..200 {
        let f = m.read_frame();
        let masked = mask_line(&f);
        r.note("monitor line", &masked);
        if masked.ends_with(b"\"ECHO\" \"end\"\r\n") {
            return;
        }
    }
    panic!("no `ECHO end` line");
}

/// Reads a monitor client's own frames (its reply and the monitor line of
/// its command, in whatever order) until the line for `cmd` was seen.
fn read_until_end_or(r: &mut Rec, m: &mut Conn, cmd: &str) {
    let name = format!("\"{}\"", cmd.split(' ').next().unwrap_or(""));
    for _ in 0..10 {
        let f = m.read_frame();
        let masked = mask_line(&f);
        r.note("monitor frame", &masked);
        if masked.starts_with(b"+<time>")
            && masked.windows(name.len()).any(|w| w == name.as_bytes())
        {
            return;
        }
    }
    panic!("no monitor line for {cmd}");
}

#[test]
fn monitor_lines_match_redis() {
    differential(&["--threads", "2"], |port, r| {
        let mut m = Conn::connect(port);
        let mut c = Conn::connect(port);
        r.cmd(&mut m, "MONITOR");
        for line in [
            "SET k v",
            "GET k",
            "SET b \"a\\x00b\\\"\\\\ \\n\\r\\t\\x07\\x08\\x7f\\xff\"",
            "SELECT 2",
            "MULTI",
            "INCR n",
            "EXEC",
            "nosuchcommand x",
            "GET",
            "CONFIG SET maxmemory 0",
            "PING",
            "AUTH secret",
            "HELLO 2 AUTH user pass",
            "CLIENT ID",
            "BLPOP zz 0.01",
            "MULTI",
            "GET k",
            "DISCARD",
            "SELECT 0",
            "MSET a 1 b 2",
            "ECHO end",
        ] {
            c.cmd(line);
        }
        read_until_end(r, &mut m);
        // A monitor counts as a replica: keyspace commands are refused, the
        // others run (and are shown to it); RESET leaves MONITOR mode.
        for line in ["SET x 1", "GET x", "PING", "ECHO end"] {
            r.cmd(&mut m, line);
            if line != "SET x 1" && line != "GET x" {
                read_until_end_or(r, &mut m, line);
            }
        }
        r.cmd(&mut m, "RESET");
        r.cmd(&mut m, "SET x 1");
        r.cmd(&mut m, "GET x");
    });
}

/// A script's command line comes first, then each command it called, as
/// `[db lua]` (with the database the script selected).
#[test]
fn monitor_shows_scripts_and_what_they_call() {
    differential(&["--threads", "2"], |port, r| {
        let mut m = Conn::connect(port);
        let mut c = Conn::connect(port);
        r.cmd(&mut m, "MONITOR");
        for line in [
            "EVAL \"redis.call('set','mk','v') return redis.call('get','mk')\" 1 mk",
            "EVAL \"redis.call('select','3') redis.call('ping') return redis.pcall('nosuch')\" 0",
            "FUNCTION LOAD REPLACE \"#!lua name=mon\\nredis.register_function('monf', function() return redis.call('echo', 'x') end)\"",
            "FCALL monf 0",
            "ECHO end",
        ] {
            c.cmd(line);
        }
        read_until_end(r, &mut m);
    });
}

/// Two monitors on different event loops both see a third client's commands.
#[test]
fn monitor_on_both_threads() {
    differential(&["--threads", "2"], |port, r| {
        let mut m1 = Conn::connect(port);
        let mut m2 = Conn::connect(port);
        let mut c = Conn::connect(port);
        r.cmd(&mut m1, "MONITOR");
        r.cmd(&mut m2, "MONITOR");
        c.cmd("SET x 1");
        c.cmd("ECHO end");
        read_until_end(r, &mut m1);
        read_until_end(r, &mut m2);
    });
}

/// Sends `line` on `c` and reports whether its reply arrives within `wait`
/// (the reply is consumed either way, eventually, by `finish`).
fn replies_within(c: &mut Conn, line: &str, wait: Duration) -> Option<Vec<u8>> {
    c.set_read_timeout(wait);
    let args = crate::util::split_args(line).expect("line");
    let refs: Vec<&[u8]> = args.iter().map(|a| a.as_slice()).collect();
    c.send(&refs);
    let r = c.try_read_frame().ok();
    c.set_read_timeout(Duration::from_secs(10));
    r
}

#[test]
fn monitor_client_pause_write_and_all() {
    let server = Server::start(&["--threads", "2"]);
    let mut admin = server.conn();
    let mut w = server.conn();
    let mut rd = server.conn();
    admin.expect("SET k 1", "+OK\r\n");
    // WRITE: reads go on, writes wait until UNPAUSE.
    admin.expect("CLIENT PAUSE 20000 WRITE", "+OK\r\n");
    let held = replies_within(&mut w, "SET k 2", Duration::from_millis(300));
    assert!(held.is_none(), "a write ran during PAUSE WRITE: {held:?}");
    let t0 = Instant::now();
    rd.expect("GET k", "$1\r\n1\r\n");
    rd.expect("PING", "+PONG\r\n");
    rd.expect("EXISTS k", ":1\r\n");
    assert!(t0.elapsed() < Duration::from_secs(2), "reads waited");
    let held = replies_within(&mut rd, "INCR ctr", Duration::from_millis(200));
    assert!(held.is_none(), "INCR ran during PAUSE WRITE");
    admin.expect("CLIENT UNPAUSE", "+OK\r\n");
    w.expect_frame(b"+OK\r\n");
    rd.expect_frame(b":1\r\n");
    rd.expect("GET k", "$1\r\n2\r\n");
    // ALL: every command waits, reads too, and the pausing client's own
    // (so CLIENT UNPAUSE cannot end it either, as in Redis): only the
    // timeout does.
    admin.expect("CLIENT PAUSE 1500 ALL", "+OK\r\n");
    let t0 = Instant::now();
    let held = replies_within(&mut rd, "GET k", Duration::from_millis(300));
    assert!(held.is_none(), "a read ran during PAUSE ALL: {held:?}");
    let held = replies_within(&mut w, "SET k2 9", Duration::from_millis(100));
    assert!(held.is_none(), "a write ran during PAUSE ALL: {held:?}");
    let held = replies_within(&mut admin, "CLIENT UNPAUSE", Duration::from_millis(100));
    assert!(held.is_none(), "UNPAUSE ran during PAUSE ALL: {held:?}");
    rd.expect_frame(b"$1\r\n2\r\n");
    w.expect_frame(b"+OK\r\n");
    admin.expect_frame(b"+OK\r\n");
    assert!(
        t0.elapsed() >= Duration::from_millis(1200),
        "PAUSE ALL released after {:?} of 1500 ms",
        t0.elapsed()
    );
    rd.expect("GET k2", "$1\r\n9\r\n");
}

#[test]
fn monitor_client_pause_errors_match_redis() {
    differential(&["--threads", "2"], |port, r| {
        let mut c = Conn::connect(port);
        for line in [
            "CLIENT PAUSE",
            "CLIENT PAUSE abc",
            "CLIENT PAUSE -1",
            "CLIENT PAUSE 10 SOME",
            "CLIENT PAUSE 10 write",
            "CLIENT UNPAUSE",
            "CLIENT UNPAUSE x",
            "CLIENT PAUSE 10",
            "CLIENT UNPAUSE",
        ] {
            let f = c.cmd(line);
            r.note(line, &f);
            assert!(!f.is_empty(), "{line}: {}", escape(&f));
        }
    });
}
