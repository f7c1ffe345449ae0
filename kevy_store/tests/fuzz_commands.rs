//! A bounded random-command run against an embedded store: every command of
//! the table with random (often malformed) arguments, in random order, over
//! a small key space so types collide. A handler that panics on any input is
//! a bug (the server would answer "ERR internal error"); this catches it in
//! every test run. `KEVY_FUZZ_ITERS` raises the count for a longer run.

use bytes::Bytes;
use kevy_store::{all_commands, Store};

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

const WORDS: &[&str] = &[
    "0",
    "1",
    "-1",
    "2",
    "10",
    "-10",
    "100",
    "9223372036854775807",
    "-9223372036854775808",
    "18446744073709551616",
    "1.5",
    "-0.5",
    "inf",
    "-inf",
    "+inf",
    "nan",
    "1e400",
    "0x10",
    "",
    " ",
    "abc",
    "k1",
    "k2",
    "k3",
    "{t}a",
    "{t}b",
    "*",
    "k*",
    "[a-z]*",
    "\\",
    "NX",
    "XX",
    "GT",
    "LT",
    "CH",
    "INCR",
    "EX",
    "PX",
    "EXAT",
    "PXAT",
    "KEEPTTL",
    "GET",
    "PERSIST",
    "WITHSCORES",
    "LIMIT",
    "BYSCORE",
    "BYLEX",
    "REV",
    "(1",
    "[a",
    "(a",
    "-",
    "+",
    "LEFT",
    "RIGHT",
    "BEFORE",
    "AFTER",
    "COUNT",
    "MATCH",
    "TYPE",
    "string",
    "list",
    "RANK",
    "MAXLEN",
    "WEIGHTS",
    "AGGREGATE",
    "SUM",
    "MIN",
    "MAX",
    "AND",
    "OR",
    "XOR",
    "NOT",
    "BIT",
    "BYTE",
    "u8",
    "i64",
    "u63",
    "i1",
    "#1",
    "OVERFLOW",
    "WRAP",
    "SAT",
    "FAIL",
    "SET",
    "INCRBY",
    "LEN",
    "IDX",
    "MINMATCHLEN",
    "WITHMATCHLEN",
    "DB",
    "REPLACE",
    "ASYNC",
    "SYNC",
    "ENCODING",
    "FREQ",
    "IDLETIME",
    "REFCOUNT",
    "HELP",
    "WITHVALUES",
    "NOVALUES",
    "HYLL",
    "4294967296",
];

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
