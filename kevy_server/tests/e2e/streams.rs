//! Streams end to end: blocked readers woken across connections (compared
//! with redis-server scenario by scenario), CLIENT UNBLOCK and MULTI, and
//! big streamed ranges. The randomised differential run is in
//! `streams_random.rs`, the producer/consumers crash test in
//! `streams_crash.rs`.

use crate::util::{escape, mask_ints, Conn, Redis, Server};
use std::thread;
use std::time::Duration;

/// One blocking scenario: `setup` on a first connection, `blocked` sent on
/// a second one without waiting, then `actions` on the first; the blocked
/// client's reply (or `<none>` if it still waits after `wait`).
struct Scenario {
    name: &'static str,
    setup: &'static [&'static str],
    blocked: &'static str,
    actions: &'static [&'static str],
}

const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "XADD wakes XREAD with $",
        setup: &["XADD s 1-1 f v"],
        blocked: "XREAD BLOCK 0 STREAMS s $",
        actions: &["XADD s 1-2 g w"],
    },
    Scenario {
        name: "XADD to another stream does not wake it",
        setup: &["XADD s 1-1 f v"],
        blocked: "XREAD BLOCK 300 STREAMS s $",
        actions: &["XADD other 1-2 g w"],
    },
    Scenario {
        name: "$ is resolved when the reader blocks",
        setup: &["XADD s 5-1 f v"],
        blocked: "XREAD BLOCK 300 STREAMS s $",
        actions: &["DEL s", "XADD s 1-1 f v"],
    },
    Scenario {
        name: "a woken XREAD serves the ready stream only, COUNT 1000 by default",
        setup: &["XADD a 1-1 f v", "XADD b 1-1 f v"],
        blocked: "XREAD BLOCK 0 STREAMS a b $ $",
        actions: &["MULTI", "XADD b 1-2 f v", "XADD a 1-2 f v", "EXEC"],
    },
    Scenario {
        name: "XREADGROUP woken by XADD records the delivery",
        setup: &["XGROUP CREATE s g $ MKSTREAM"],
        blocked: "XREADGROUP GROUP g alice BLOCK 0 STREAMS s >",
        actions: &["XADD s 1-1 f v", "XPENDING s g", "XINFO GROUPS s"],
    },
    Scenario {
        name: "NOACK delivery leaves nothing pending",
        setup: &["XGROUP CREATE s g $ MKSTREAM"],
        blocked: "XREADGROUP GROUP g alice BLOCK 0 NOACK COUNT 1 STREAMS s >",
        actions: &[
            "MULTI",
            "XADD s 1-1 f v",
            "XADD s 1-2 f v",
            "EXEC",
            "XPENDING s g",
        ],
    },
    Scenario {
        name: "stream deleted under XREADGROUP",
        setup: &["XGROUP CREATE s g $ MKSTREAM"],
        blocked: "XREADGROUP GROUP g alice BLOCK 0 STREAMS s >",
        actions: &["DEL s"],
    },
    Scenario {
        name: "stream overwritten under XREADGROUP",
        setup: &["XGROUP CREATE s g $ MKSTREAM"],
        blocked: "XREADGROUP GROUP g alice BLOCK 0 STREAMS s >",
        actions: &["SET s x"],
    },
    Scenario {
        name: "stream renamed away under XREADGROUP",
        setup: &["XGROUP CREATE s g $ MKSTREAM"],
        blocked: "XREADGROUP GROUP g alice BLOCK 0 STREAMS s >",
        actions: &["RENAME s t"],
    },
    Scenario {
        name: "FLUSHALL under XREADGROUP",
        setup: &["XGROUP CREATE s g $ MKSTREAM"],
        blocked: "XREADGROUP GROUP g alice BLOCK 0 STREAMS s >",
        actions: &["FLUSHALL"],
    },
    Scenario {
        name: "group destroyed under XREADGROUP",
        setup: &["XGROUP CREATE s g $ MKSTREAM"],
        blocked: "XREADGROUP GROUP g alice BLOCK 0 STREAMS s >",
        actions: &["XGROUP DESTROY s g"],
    },
    Scenario {
        name: "stream deleted under XREAD keeps it waiting",
        setup: &["XADD s 1-1 f v"],
        blocked: "XREAD BLOCK 300 STREAMS s $",
        actions: &["DEL s"],
    },
    Scenario {
        name: "timeout",
        setup: &[],
        blocked: "XREAD BLOCK 50 STREAMS s 0",
        actions: &[],
    },
    Scenario {
        name: "consumers served in the order they blocked",
        setup: &["XGROUP CREATE s g $ MKSTREAM"],
        blocked: "XREADGROUP GROUP g first BLOCK 0 STREAMS s >",
        actions: &["XADD s 1-1 f v", "XINFO CONSUMERS s g"],
    },
];

/// Runs `s` on a server listening on `port`: the blocked client's reply
/// and the actions' replies, in RESP2 or RESP3.
fn play(port: u16, s: &Scenario, resp3: bool) -> Vec<String> {
    let mut a = Conn::connect(port);
    let mut b = Conn::connect(port);
    if resp3 {
        a.hello3();
        b.hello3();
    }
    a.expect("FLUSHALL", "+OK\r\n");
    let mut out = Vec::new();
    for line in s.setup {
        out.push(escape(&a.cmd(line)));
    }
    let args: Vec<&[u8]> = s.blocked.split(' ').map(|x| x.as_bytes()).collect();
    b.send(&args);
    thread::sleep(Duration::from_millis(100));
    for line in s.actions {
        // Idle and seen times are the servers' clocks.
        out.push(escape(&mask_ints(&a.cmd(line))));
    }
    b.set_read_timeout(Duration::from_secs(2));
    out.push(match b.try_read_frame() {
        Ok(r) => format!("blocked client: {}", escape(&r)),
        Err(e) => format!("blocked client: <none: {e}>"),
    });
    out
}

#[test]
fn blocked_readers_are_woken_as_redis_wakes_them() {
    let Some(redis) = Redis::start() else { return };
    let kevy = Server::start(&["--threads", "2"]);
    for resp3 in [false, true] {
        for s in SCENARIOS {
            let want = play(redis.port(), s, resp3);
            let got = play(kevy.port(), s, resp3);
            assert_eq!(got, want, "{} (RESP3: {resp3})", s.name);
        }
    }
}

#[test]
fn client_unblock_and_multi() {
    let Some(redis) = Redis::start() else { return };
    let kevy = Server::start(&["--threads", "2"]);
    let run = |port: u16| {
        let mut a = Conn::connect(port);
        let mut b = Conn::connect(port);
        a.cmd("FLUSHALL");
        let id = String::from_utf8_lossy(&b.cmd("CLIENT ID"))
            .trim()
            .trim_start_matches(':')
            .to_string();
        let mut out = Vec::new();
        for how in ["", " ERROR"] {
            b.send(&[
                b"XREADGROUP",
                b"GROUP",
                b"g",
                b"c",
                b"BLOCK",
                b"0",
                b"STREAMS",
                b"nokey",
                b">",
            ]);
            out.push(escape(&b.read_frame()));
            a.cmd("XGROUP CREATE s g $ MKSTREAM");
            b.send(&[
                b"XREADGROUP",
                b"GROUP",
                b"g",
                b"c",
                b"BLOCK",
                b"0",
                b"STREAMS",
                b"s",
                b">",
            ]);
            thread::sleep(Duration::from_millis(100));
            out.push(escape(&a.cmd(&format!("CLIENT UNBLOCK {id}{how}"))));
            out.push(escape(&b.read_frame()));
            a.cmd("DEL s");
        }
        out.push(escape(&b.cmd("MULTI")));
        out.push(escape(&b.cmd("XREAD BLOCK 0 STREAMS s $")));
        out.push(escape(&b.cmd("EXEC")));
        out
    };
    assert_eq!(run(kevy.port()), run(redis.port()));
}

/// Big XRANGE/XREVRANGE/XREAD replies (past 16k entries) are streamed from
/// a snapshot; the bytes are redis-server's, in RESP2 and RESP3.
#[test]
fn big_ranges_are_streamed_with_redis_bytes() {
    let Some(redis) = Redis::start() else { return };
    let kevy = Server::start(&["--threads", "2"]);
    let mut conns = [kevy.conn(), redis.conn()];
    for c in conns.iter_mut() {
        let mut raw = Vec::new();
        for i in 0..20_000u32 {
            let id = format!("{}-{}", 1 + i / 7, i % 7);
            let v = format!("value-{i}");
            let f: &[u8] = if i % 5 == 0 { b"other" } else { b"field" };
            crate::util::encode_request(
                &[b"XADD", b"big", id.as_bytes(), f, v.as_bytes()],
                &mut raw,
            );
        }
        c.send_raw(&raw);
        for _ in 0..20_000 {
            let r = c.read_frame();
            assert!(r.starts_with(b"$"), "XADD failed: {}", escape(&r));
        }
        c.expect("XDEL big 1-0 100-3", ":2\r\n");
    }
    for resp3 in [false, true] {
        if resp3 {
            for c in conns.iter_mut() {
                c.hello3();
            }
        }
        for line in [
            "XRANGE big - +",
            "XREVRANGE big + - COUNT 17000",
            "XRANGE big (1000-2 +",
            "XREAD COUNT 0 STREAMS big 0",
        ] {
            let [k, r] = &mut conns;
            let (a, b) = (k.cmd(line), r.cmd(line));
            assert!(
                a == b,
                "{line} (RESP3 {resp3}): {} bytes vs {}",
                a.len(),
                b.len()
            );
        }
    }
}
