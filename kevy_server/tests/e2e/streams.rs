//! Streams end to end: blocked readers woken across connections (compared
//! with redis-server scenario by scenario), and a randomised differential
//! run of thousands of stream commands with explicit IDs against both
//! servers. The producer/consumers crash test is in `streams_crash.rs`.

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

/// A small xorshift generator: reproducible runs from a seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn pick<'a>(&mut self, v: &[&'a str]) -> &'a str {
        v[self.below(v.len() as u64) as usize]
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

const KEYS: &[&str] = &["s1", "s2", "s3"];
const GROUPS: &[&str] = &["g1", "g2"];
const CONSUMERS: &[&str] = &["c1", "c2", "c3"];
const FIELDS: &[&str] = &["f", "g", "name", "12", "x"];

/// Random command lines over a few streams, with explicit IDs and times:
/// each stream's IDs mostly grow, sometimes repeat or go back (errors);
/// groups, consumers and pending entries come and go.
struct Gen {
    r: Rng,
    /// Per key, the last millisecond used.
    ms: [u64; 3],
}

impl Gen {
    fn id(&mut self, k: usize) -> String {
        let ms = self.ms[k];
        match self.r.below(10) {
            0 => format!("{}-{}", ms.saturating_sub(self.r.below(3)), self.r.below(3)),
            1 => format!("{}", self.r.below(ms + 2)),
            2 => "-".into(),
            3 => "+".into(),
            _ => format!("{}-{}", self.r.below(ms + 2), self.r.below(4)),
        }
    }

    /// An ID where a strict one is wanted: `-` and `+` become `<ms>-0`.
    fn strict_id(&mut self, k: usize, ms: &str) -> String {
        match self.id(k) {
            s if s == "-" || s == "+" => format!("{ms}-0"),
            s => s,
        }
    }

    fn new_id(&mut self, k: usize) -> String {
        match self.r.below(10) {
            0 => format!("{}-*", self.ms[k]),
            1 => format!("{}-{}", self.ms[k].saturating_sub(1), self.r.below(3)),
            _ => {
                self.ms[k] += 1 + self.r.below(3);
                format!("{}-{}", self.ms[k], self.r.below(3))
            }
        }
    }

    fn fields(&mut self) -> String {
        let n = 1 + self.r.below(3);
        (0..n)
            .map(|_| format!("{} v{}", self.r.pick(FIELDS), self.r.below(100)))
            .collect::<Vec<_>>()
            .join(" ")
    }

    fn trim(&mut self, k: usize) -> String {
        let op = self.r.pick(&["", "= ", "~ "]);
        let mut s = if self.r.chance(50) {
            format!("MAXLEN {op}{}", self.r.below(12))
        } else {
            let id = self.id(k);
            format!("MINID {op}{id}")
        };
        if op == "~ " && self.r.chance(50) {
            s += &format!(" LIMIT {}", self.r.below(10));
        }
        s
    }

    /// One command line; `masked` when its reply carries clock times.
    fn next(&mut self) -> (String, bool) {
        let k = self.r.below(KEYS.len() as u64) as usize;
        let key = KEYS[k];
        let g = self.r.pick(GROUPS);
        let c = self.r.pick(CONSUMERS);
        let n = self.r.below(6);
        let line = match self.r.below(100) {
            0..=29 => {
                let mut opts = String::new();
                if self.r.chance(5) {
                    opts += "NOMKSTREAM ";
                }
                if self.r.chance(20) {
                    opts += &self.trim(k);
                    opts += " ";
                }
                let id = self.new_id(k);
                let f = self.fields();
                format!("XADD {key} {opts}{id} {f}")
            }
            30..=33 => {
                let ids: Vec<String> = (0..1 + n / 2).map(|_| self.strict_id(k, "0")).collect();
                format!("XDEL {key} {}", ids.join(" "))
            }
            34..=35 => format!("XTRIM {key} {}", self.trim(k)),
            36..=40 => {
                let (a, b) = (self.id(k), self.id(k));
                let ex = if self.r.chance(20) { "(" } else { "" };
                let count = if self.r.chance(50) {
                    format!(" COUNT {n}")
                } else {
                    String::new()
                };
                let cmd = if self.r.chance(50) {
                    "XRANGE"
                } else {
                    "XREVRANGE"
                };
                format!("{cmd} {key} {ex}{a} {b}{count}")
            }
            41..=42 => format!("XLEN {key}"),
            43..=46 => {
                let k2 = self.r.pick(KEYS);
                let id = match self.id(k) {
                    s if s == "-" || s == "+" => "$".to_string(),
                    s => s,
                };
                format!("XREAD COUNT {} STREAMS {key} {k2} {id} 0", 1 + n)
            }
            47..=51 => {
                let id = match self.id(k) {
                    s if s == "+" || self.r.chance(30) => "$".to_string(),
                    s => s,
                };
                let mk = if self.r.chance(30) { " MKSTREAM" } else { "" };
                let er = if self.r.chance(20) {
                    format!(" ENTRIESREAD {}", self.r.below(8))
                } else {
                    String::new()
                };
                format!("XGROUP CREATE {key} {g} {id}{mk}{er}")
            }
            52 => {
                let id = match self.id(k) {
                    s if s == "+" => "$".to_string(),
                    s => s,
                };
                format!("XGROUP SETID {key} {g} {id}")
            }
            53 if self.r.chance(20) => format!("XGROUP DESTROY {key} {g}"),
            53 => format!("XINFO GROUPS {key}"),
            54 => format!("XGROUP CREATECONSUMER {key} {g} {c}"),
            55 => format!("XGROUP DELCONSUMER {key} {g} {c}"),
            56..=67 => {
                let id = if self.r.chance(70) {
                    ">".to_string()
                } else {
                    self.strict_id(k, "0")
                };
                let noack = if self.r.chance(15) { " NOACK" } else { "" };
                let count = if self.r.chance(70) {
                    format!(" COUNT {}", 1 + n)
                } else {
                    String::new()
                };
                format!("XREADGROUP GROUP {g} {c}{count}{noack} STREAMS {key} {id}")
            }
            68..=73 => {
                let ids: Vec<String> = (0..1 + n / 2).map(|_| self.strict_id(k, "1")).collect();
                format!("XACK {key} {g} {}", ids.join(" "))
            }
            74..=76 => format!("XPENDING {key} {g}"),
            77..=79 => {
                let who = if self.r.chance(50) {
                    format!(" {c}")
                } else {
                    String::new()
                };
                return (format!("XPENDING {key} {g} IDLE 0 - + {n}{who}"), true);
            }
            80..=84 => {
                let ids: Vec<String> = (0..1 + n / 2).map(|_| self.strict_id(k, "1")).collect();
                let mut opts = String::new();
                for (p, o) in [(30, " JUSTID"), (30, " FORCE")] {
                    if self.r.chance(p) {
                        opts += o;
                    }
                }
                if self.r.chance(30) {
                    opts += &format!(" RETRYCOUNT {}", self.r.below(5));
                }
                if self.r.chance(30) {
                    opts += &format!(" TIME {}", 1_000_000 + self.r.below(1000));
                }
                if self.r.chance(15) {
                    opts += &format!(" LASTID {}", self.strict_id(k, "2"));
                }
                format!("XCLAIM {key} {g} {c} 0 {}{opts}", ids.join(" "))
            }
            85..=88 => {
                let start = match self.id(k) {
                    s if s == "+" => "0".to_string(),
                    s => s,
                };
                let justid = if self.r.chance(40) { " JUSTID" } else { "" };
                format!("XAUTOCLAIM {key} {g} {c} 0 {start} COUNT {}{justid}", 1 + n)
            }
            89..=91 => format!("XINFO STREAM {key}"),
            92 => return (format!("XINFO STREAM {key} FULL COUNT {n}"), true),
            93..=94 => format!("XINFO GROUPS {key}"),
            95 => return (format!("XINFO CONSUMERS {key} {g}"), true),
            96 => {
                let id = self.new_id(k).replace('*', "0");
                format!("XSETID {key} {id}")
            }
            97 if self.r.chance(20) => format!("DEL {key}"),
            _ => format!("TYPE {key}"),
        };
        (line, false)
    }
}

#[test]
fn random_stream_commands_match_redis() {
    let Some(redis) = Redis::start() else { return };
    let kevy = Server::start(&["--threads", "2"]);
    let seed: u64 = std::env::var("KEVY_STREAM_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x5eed_cafe_f00d_0001);
    let n: usize = std::env::var("KEVY_STREAM_COMMANDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5000);
    let mut ours = kevy.conn();
    let mut theirs = redis.conn();
    // Small nodes, so trims, deletions and XINFO's node counts cross them.
    for c in [&mut ours, &mut theirs] {
        c.expect("CONFIG SET stream-node-max-entries 4", "+OK\r\n");
        c.expect("CONFIG SET stream-node-max-bytes 200", "+OK\r\n");
    }
    let mut g = Gen {
        r: Rng(seed | 1),
        ms: [0; 3],
    };
    let mut history = Vec::new();
    for i in 0..n {
        let (line, masked) = g.next();
        let (mut a, mut b) = (ours.cmd(&line), theirs.cmd(&line));
        if masked {
            (a, b) = (mask_ints(&a), mask_ints(&b));
        }
        history.push(line.clone());
        if std::env::var_os("KEVY_STREAM_SHOW").is_some() {
            println!("{line}\n    {}", escape(&b));
        }
        assert!(
            a == b,
            "seed {seed}, command {i}: `{line}`\n  kevy:  {}\n  redis: {}\n  last commands:\n    {}",
            escape(&a),
            escape(&b),
            history[history.len().saturating_sub(15)..].join("\n    ")
        );
    }
    // The two keyspaces agree in the end, entry by entry.
    for key in KEYS {
        for line in [format!("XRANGE {key} - +"), format!("XINFO GROUPS {key}")] {
            assert_eq!(
                escape(&ours.cmd(&line)),
                escape(&theirs.cmd(&line)),
                "{line}"
            );
        }
    }
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
