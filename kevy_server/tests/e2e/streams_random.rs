//! A randomised differential run: thousands of stream commands (explicit
//! IDs and times, groups and consumers coming and going, small nodes so
//! trims and deletions cross them) sent to kevy-server and redis-server;
//! every reply must be the same bytes (clock times masked where a reply
//! carries them). `KEVY_STREAM_SEED` and `KEVY_STREAM_COMMANDS` choose the
//! run; `KEVY_STREAM_SHOW=1` prints every command with Redis's reply.

use crate::util::{escape, mask_ints, Redis, Server};

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
