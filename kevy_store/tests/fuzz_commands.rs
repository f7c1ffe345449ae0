//! A bounded random-command run against an embedded store: every command of
//! the table with random (often malformed) arguments, in random order, over
//! a small key space so types collide. A handler that panics on any input is
//! a bug (the server would answer "ERR internal error"); this catches it in
//! every test run. `KEVY_FUZZ_ITERS` raises the count for a longer run.
//!
//! The `commands` fuzz target (`fuzz/`) shares its body with this file:
//! every committed corpus input and the transcript seeds below run through
//! it here too, on stable.

use bytes::Bytes;
use kevy_store::{all_commands, Store};
use std::path::Path;

#[path = "../fuzz/src/lib.rs"]
mod fuzz_input;

use fuzz_input::WORDS;

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
}

fn arg(r: &mut Rng) -> Bytes {
    match r.below(10) {
        0 => {
            let n = r.below(40) as usize;
            Bytes::from((0..n).map(|_| r.below(256) as u8).collect::<Vec<u8>>())
        }
        1 => Bytes::from(format!("k{}", r.below(4))),
        2 => Bytes::from((r.next() as i64 % 1000).to_string()),
        _ => Bytes::from_static(WORDS[r.below(WORDS.len() as u64) as usize].as_bytes()),
    }
}

#[test]
fn random_commands_never_panic() {
    let iters: u64 = std::env::var("KEVY_FUZZ_ITERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let seed: u64 = std::env::var("KEVY_FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(7, |d| d.as_nanos() as u64)
                | 1
        });
    let names: Vec<&'static str> = all_commands().map(|c| c.meta.name).collect();
    let store = Store::new(3, 4);
    let mut r = Rng(seed);
    let mut now = 1_700_000_000_000u64;
    for i in 0..iters {
        let name = names[r.below(names.len() as u64) as usize];
        // Blocking commands would only request a block; that is fine here.
        let n = r.below(7) as usize;
        let mut argv = vec![Bytes::from_static(name.as_bytes())];
        argv.extend((0..n).map(|_| arg(&mut r)));
        now += r.below(50);
        let db = r.below(4) as usize;
        let line: Vec<String> = argv
            .iter()
            .map(|a| format!("{:?}", String::from_utf8_lossy(a)))
            .collect();
        let res = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            store.execute(db, &argv, now)
        }));
        assert!(
            res.is_ok(),
            "seed {seed}, iteration {i}: panicked on {}",
            line.join(" ")
        );
    }
}

/// Seed transcripts for the fuzz corpus: `(db, clock step ms, argv)`.
/// `KEVY_FUZZ_SEEDS_DIR=kevy_store/fuzz/corpus/commands` writes them there
/// (as `seed-<name>`) when they change.
#[allow(clippy::type_complexity)]
const SEEDS: &[(&str, &[(usize, u64, &[&str])])] = &[
    (
        "strings",
        &[
            (0, 0, &["SET", "k1", "abc", "PX", "100"]),
            (0, 1, &["APPEND", "k1", "def"]),
            (0, 0, &["SETRANGE", "k2", "5", "x"]),
            (0, 0, &["INCRBYFLOAT", "k3", "1.5"]),
            (0, 0, &["GETEX", "k1", "PERSIST"]),
            (0, 100, &["MSET", "k1", "1", "{t}a", "2"]),
            (0, 10_000, &["GETDEL", "k2"]),
        ],
    ),
    (
        "lists",
        &[
            (0, 0, &["RPUSH", "k1", "a", "b", "c", "d"]),
            (0, 0, &["LMOVE", "k1", "k2", "LEFT", "RIGHT"]),
            (0, 0, &["LINSERT", "k2", "BEFORE", "a", "x"]),
            (0, 0, &["LPOS", "k1", "c", "RANK", "-1"]),
            (
                0,
                0,
                &["BLMPOP", "0", "2", "k1", "k2", "LEFT", "COUNT", "2"],
            ),
            (1, 0, &["LPUSH", "k3", "1", "2"]),
        ],
    ),
    (
        "hashes-sets",
        &[
            (0, 0, &["HSET", "k1", "a", "1", "b", "2"]),
            (0, 0, &["HINCRBYFLOAT", "k1", "a", "1.5"]),
            (0, 0, &["SADD", "k2", "1", "2", "3", "abc"]),
            (0, 0, &["SPOP", "k2", "2"]),
            (0, 0, &["SINTERSTORE", "k3", "k2", "{t}a"]),
            (0, 0, &["SMOVE", "k2", "k3", "abc"]),
            (0, 0, &["HRANDFIELD", "k1", "-5", "WITHVALUES"]),
        ],
    ),
    (
        "zsets",
        &[
            (0, 0, &["ZADD", "k1", "1", "a", "2", "b", "inf", "c"]),
            (0, 0, &["ZADD", "k1", "GT", "CH", "INCR", "1", "a"]),
            (0, 0, &["ZRANGESTORE", "k2", "k1", "(1", "+inf", "BYSCORE"]),
            (
                0,
                0,
                &["ZUNIONSTORE", "k3", "2", "k1", "k2", "WEIGHTS", "2", "-0.5"],
            ),
            (0, 0, &["ZPOPMIN", "k1", "2"]),
            (0, 0, &["ZRANGEBYLEX", "k3", "-", "[a"]),
        ],
    ),
    (
        "keys",
        &[
            (0, 0, &["SET", "k1", "v", "EX", "10"]),
            (0, 0, &["RENAME", "k1", "k2"]),
            (0, 0, &["COPY", "k2", "k3", "DB", "2"]),
            (0, 0, &["MOVE", "k3", "1"]),
            (0, 10_000, &["EXPIRE", "k2", "100", "GT"]),
            (0, 0, &["SWAPDB", "0", "1"]),
            (0, 0, &["SCAN", "0", "MATCH", "k*", "COUNT", "2"]),
            (0, 0, &["FLUSHDB", "ASYNC"]),
        ],
    ),
    (
        "bits",
        &[
            (0, 0, &["SETBIT", "k1", "100", "1"]),
            (
                0,
                0,
                &[
                    "BITFIELD", "k1", "OVERFLOW", "SAT", "INCRBY", "i64", "#1", "-1",
                ],
            ),
            (0, 0, &["BITOP", "XOR", "k2", "k1", "k3"]),
            (0, 0, &["BITPOS", "k1", "1", "0", "-1", "BIT"]),
            (0, 0, &["PFADD", "k3", "a", "b"]),
            (0, 0, &["LCS", "k1", "k2", "IDX", "WITHMATCHLEN"]),
        ],
    ),
    (
        "streams",
        &[
            (0, 0, &["XADD", "k1", "1-1", "f", "v", "g", "w"]),
            (0, 1, &["XADD", "k1", "*", "f", "v"]),
            (
                0,
                0,
                &[
                    "XADD", "k1", "MAXLEN", "~", "1", "LIMIT", "2", "5-*", "a", "b",
                ],
            ),
            (
                0,
                0,
                &[
                    "XADD",
                    "k2",
                    "NOMKSTREAM",
                    "MINID",
                    "=",
                    "1-1",
                    "2-2",
                    "x",
                    "y",
                ],
            ),
            (0, 0, &["XDEL", "k1", "1-1", "5-0"]),
            (0, 0, &["XTRIM", "k1", "MINID", "~", "9"]),
            (0, 0, &["XRANGE", "k1", "(1-1", "+", "COUNT", "2"]),
            (0, 0, &["XREVRANGE", "k1", "+", "-"]),
            (
                0,
                0,
                &[
                    "XREAD", "COUNT", "1", "BLOCK", "0", "STREAMS", "k1", "k2", "0", "$",
                ],
            ),
            (
                0,
                0,
                &[
                    "XSETID",
                    "k1",
                    "9-9",
                    "ENTRIESADDED",
                    "10",
                    "MAXDELETEDID",
                    "1-1",
                ],
            ),
            (0, 0, &["XINFO", "STREAM", "k1", "FULL", "COUNT", "1"]),
        ],
    ),
    (
        "stream-groups",
        &[
            (0, 0, &["XADD", "k1", "1-1", "f", "v"]),
            (0, 0, &["XADD", "k1", "1-2", "f", "w"]),
            (
                0,
                0,
                &[
                    "XGROUP",
                    "CREATE",
                    "k1",
                    "g",
                    "0",
                    "MKSTREAM",
                    "ENTRIESREAD",
                    "1",
                ],
            ),
            (
                0,
                0,
                &[
                    "XREADGROUP",
                    "GROUP",
                    "g",
                    "c",
                    "COUNT",
                    "1",
                    "STREAMS",
                    "k1",
                    ">",
                ],
            ),
            (
                0,
                100,
                &[
                    "XREADGROUP",
                    "GROUP",
                    "g",
                    "d",
                    "NOACK",
                    "STREAMS",
                    "k1",
                    ">",
                ],
            ),
            (
                0,
                0,
                &["XREADGROUP", "GROUP", "g", "c", "STREAMS", "k1", "0"],
            ),
            (
                0,
                100,
                &[
                    "XCLAIM", "k1", "g", "d", "0", "1-1", "FORCE", "JUSTID", "LASTID", "1-2",
                ],
            ),
            (0, 0, &["XDEL", "k1", "1-1"]),
            (
                0,
                100,
                &["XAUTOCLAIM", "k1", "g", "e", "0", "0", "COUNT", "1"],
            ),
            (
                0,
                0,
                &["XPENDING", "k1", "g", "IDLE", "0", "-", "+", "10", "e"],
            ),
            (0, 0, &["XACK", "k1", "g", "1-2"]),
            (
                0,
                0,
                &["XGROUP", "SETID", "k1", "g", "$", "ENTRIESREAD", "5"],
            ),
            (0, 0, &["XGROUP", "DELCONSUMER", "k1", "g", "c"]),
            (0, 0, &["RENAME", "k1", "{t}a"]),
            (0, 0, &["XINFO", "GROUPS", "{t}a"]),
        ],
    ),
];

#[test]
fn fuzz_seed_transcripts() {
    // `decode` picks the command with one byte.
    assert!(all_commands().count() <= 256, "every command reachable");
    let dir = std::env::var_os("KEVY_FUZZ_SEEDS_DIR");
    for (name, steps) in SEEDS {
        let input = fuzz_input::encode_steps(steps);
        let decoded = fuzz_input::decode(&input);
        assert_eq!(decoded.len(), steps.len(), "seed {name}");
        for ((_, _, argv), (_, _, want)) in decoded.iter().zip(steps.iter()) {
            let got: Vec<&[u8]> = argv.iter().map(|a| &a[..]).collect();
            let want: Vec<&[u8]> = want.iter().map(|a| a.as_bytes()).collect();
            assert!(got[0].eq_ignore_ascii_case(want[0]), "seed {name}");
            assert_eq!(got[1..], want[1..], "seed {name}");
        }
        fuzz_input::run(&input);
        if let Some(dir) = &dir {
            std::fs::write(Path::new(dir).join(format!("seed-{name}")), &input)
                .expect("write a seed");
        }
    }
}

/// Every committed input of the `commands` corpus (the seeds and the
/// minimised corpus libFuzzer grew) passes the target's checks.
#[test]
fn fuzz_corpus_replays() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/commands");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).expect("the corpus directory") {
        let path = entry.expect("a corpus entry").path();
        let data = std::fs::read(&path).expect("a corpus file");
        let res = std::panic::catch_unwind(|| fuzz_input::run(&data));
        assert!(res.is_ok(), "{} fails", path.display());
        n += 1;
    }
    assert!(n > 0, "no corpus in {}", dir.display());
}

/// `KEVY_FUZZ_SHOW=<file>` prints the commands a fuzz input decodes to (to
/// read a crash libFuzzer saved); without it this does nothing.
#[test]
fn fuzz_show_input() {
    let Some(path) = std::env::var_os("KEVY_FUZZ_SHOW") else {
        return;
    };
    let data = std::fs::read(&path).expect("the input file");
    for (db, step, argv) in fuzz_input::decode(&data) {
        let line: Vec<String> = argv
            .iter()
            .map(|a| format!("{:?}", String::from_utf8_lossy(a)))
            .collect();
        println!("db {db} +{step}ms: {}", line.join(" "));
    }
}
