//! The body of the `commands` fuzz target, shared with kevy_store's tests
//! (`tests/fuzz_commands.rs` includes this file by path and replays the
//! committed corpus on stable, without libFuzzer). Fuzz bytes decode into a
//! sequence of commands over a small vocabulary and raw bytes (see
//! [`decode`]); they run against an embedded store of 3 shards with a log
//! on every shard. Checked, for every input:
//!
//! - no handler panics (a panic is a bug: the server answers "ERR internal
//!   error");
//! - every reply encodes, in RESP2 and RESP3, to exactly one well-formed
//!   frame (no client-supplied CR/LF breaks the framing);
//! - replaying each shard's log into a fresh store, as recovery does,
//!   succeeds command by command and rebuilds the same live keys, values
//!   and expiries: what the AOF holds is what clients saw.

use bytes::Bytes;
use kevy_resp::{encode, reply_frame_len, Protocol, Reply};
use kevy_store::{all_commands, Kevy, ShardLog, Store, Value};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// Arguments that steer commands into their interesting paths: numbers at
/// the edges, option keywords, patterns, a few colliding key names.
pub const WORDS: &[&str] = &[
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

/// Shards of the store under test (several, so multi-key commands cross
/// shards and log DEL + restore moves).
const NSHARDS: usize = 3;
/// Databases of the store under test.
const NDBS: usize = 4;
/// The clock's start (a fixed Unix ms, so runs are reproducible).
const T0: u64 = 1_700_000_000_000;

/// One decoded command: database, clock advance before it (ms), argv.
pub type Step = (usize, u64, Vec<Bytes>);

/// Decodes fuzz bytes into commands. Per command: one byte picks the name
/// from the command table; one byte packs the argument count (low 4 bits),
/// the database (next 2) and a clock step (top 2: 0, 1, 100 or 10 000
/// ms). Per argument, one tag byte: below `WORDS.len()` a word; up to
/// 0xEF a small integer (`tag - 150`); else raw bytes, the next byte
/// giving their count (mod 64). Decoding stops where the bytes run out.
/// PFSELFTEST is decoded but left out.
pub fn decode(data: &[u8]) -> Vec<Step> {
    let names: Vec<&'static str> = all_commands().map(|c| c.meta.name).collect();
    let mut it = data.iter().copied();
    let mut out = Vec::new();
    while let (Some(pick), Some(shape)) = (it.next(), it.next()) {
        let Some(name) = names.get(usize::from(pick) % names.len().max(1)) else {
            break;
        };
        let mut argv = vec![Bytes::from_static(name.as_bytes())];
        for _ in 0..shape & 15 {
            let Some(tag) = it.next() else { break };
            let arg = match usize::from(tag) {
                t if t < WORDS.len() => Bytes::from_static(WORDS[t].as_bytes()),
                t if t < 0xF0 => Bytes::from((t as i64 - 150).to_string()),
                _ => {
                    let n = it.next().map_or(0, |n| usize::from(n % 64));
                    Bytes::from(it.by_ref().take(n).collect::<Vec<u8>>())
                }
            };
            argv.push(arg);
        }
        let db = usize::from(shape >> 4 & 3);
        let step = [0, 1, 100, 10_000][usize::from(shape >> 6)];
        // PFSELFTEST takes no input and spends milliseconds in Redis's HLL
        // self-test: picked often, it slowed the fuzzer fiftyfold.
        if *name != "pfselftest" {
            out.push((db, step, argv));
        }
    }
    out
}

/// The inverse of [`decode`], for seeds and regression inputs written as
/// transcripts: `(db, clock step, argv)` per command. Steps other than 0,
/// 1, 100 and 10 000 ms round down to one of those; arguments that are not
/// a word or small integer go raw (at most 63 bytes).
pub fn encode_steps(steps: &[(usize, u64, &[&str])]) -> Vec<u8> {
    let names: Vec<&'static str> = all_commands().map(|c| c.meta.name).collect();
    let mut out = Vec::new();
    for (db, step, argv) in steps {
        let Some((name, args)) = argv.split_first() else {
            continue;
        };
        let pick = names.iter().position(|n| n.eq_ignore_ascii_case(name));
        out.push(pick.map_or(0, |p| p as u8));
        let step = [10_000, 100, 1, 0]
            .iter()
            .position(|s| step >= s)
            .map_or(0, |i| 3 - i);
        out.push((args.len().min(15) | (db & 3) << 4 | step << 6) as u8);
        for a in args.iter().take(15) {
            if let Some(w) = WORDS.iter().position(|w| w == a) {
                out.push(w as u8);
            } else if let Some(t) = a
                .parse::<i64>()
                .ok()
                .map(|n| n + 150)
                .filter(|t| (WORDS.len() as i64..0xF0).contains(t))
            {
                out.push(t as u8);
            } else {
                let b = &a.as_bytes()[..a.len().min(63)];
                out.extend_from_slice(&[0xF0, b.len() as u8]);
                out.extend_from_slice(b);
            }
        }
    }
    out
}

/// A log record: shard, database, argv.
type Record = (usize, usize, Vec<Vec<u8>>);

/// A shard log that keeps its records in memory.
struct MemLog {
    shard: usize,
    out: Arc<Mutex<Vec<Record>>>,
}

impl ShardLog for MemLog {
    fn append(&mut self, db: usize, argv: &[&[u8]]) {
        let rec = (self.shard, db, argv.iter().map(|a| a.to_vec()).collect());
        if let Ok(mut v) = self.out.lock() {
            v.push(rec);
        }
    }
}

/// Asserts that `reply` encodes to exactly one well-formed frame.
fn check_framing(reply: &Reply, argv: &[Bytes]) {
    for proto in [Protocol::Resp2, Protocol::Resp3] {
        let mut wire = Vec::new();
        encode(reply, proto, &mut wire);
        assert_eq!(
            reply_frame_len(&wire),
            Ok(Some(wire.len())),
            "{proto:?} reply to {argv:?} is not one frame: {:?}",
            String::from_utf8_lossy(&wire)
        );
    }
}

/// Every live (unexpired at `now`) key of `store`: (db, key) → (expiry, value).
fn live_keys(store: &Store, now: u64) -> BTreeMap<(usize, Vec<u8>), (u64, Value)> {
    let mut out = BTreeMap::new();
    for view in store.snapshot() {
        for (db, map) in view.dbs.iter().enumerate() {
            for (k, e) in map.iter().filter(|(_, e)| !e.is_expired(now)) {
                let v = (e.expire_at().unwrap_or(0), e.value.clone());
                out.insert((db, k.bytes().to_vec()), v);
            }
        }
    }
    out
}

/// Values equal as a client sees them (a string's encoding flags aside).
fn same_value(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Str(x), Value::Str(y)) => x[..] == y[..],
        _ => a == b,
    }
}

/// Runs one fuzz input; panics on a violated property (see the module doc).
pub fn run(data: &[u8]) {
    let clock = Arc::new(AtomicU64::new(T0));
    let kv = {
        let clock = clock.clone();
        Kevy::new(NSHARDS, NDBS).with_clock(move || clock.load(Ordering::Relaxed))
    };
    let records = Arc::new(Mutex::new(Vec::new()));
    for shard in 0..NSHARDS {
        let log = MemLog {
            shard,
            out: records.clone(),
        };
        kv.store().set_log(shard, Some(Box::new(log)));
    }
    for (db, step, argv) in decode(data) {
        clock.fetch_add(step, Ordering::Relaxed);
        let (reply, _) = kv.execute(db, &argv);
        check_framing(&reply, &argv);
    }
    // Recovery replays each shard's log on its own, applying MULTI ... EXEC
    // brackets whole (every bracket here is complete).
    let now = clock.load(Ordering::Relaxed);
    let replayed = Store::new(NSHARDS, NDBS);
    let records = records.lock().map(|r| r.clone()).unwrap_or_default();
    for (shard, db, argv) in &records {
        let name = argv.first().map(|a| a.to_ascii_uppercase());
        if matches!(name.as_deref(), Some(b"MULTI" | b"EXEC")) {
            continue;
        }
        let argv: Vec<Bytes> = argv.iter().map(|a| Bytes::copy_from_slice(a)).collect();
        let reply = replayed.replay(Some(*shard), *db, &argv, now);
        assert!(
            !matches!(reply, Reply::Error(_)),
            "shard {shard} logged {argv:?}, which fails on replay: {reply:?}"
        );
    }
    let want = live_keys(kv.store(), now);
    let got = live_keys(&replayed, now);
    let keys = |m: &BTreeMap<(usize, Vec<u8>), (u64, Value)>| m.keys().cloned().collect::<Vec<_>>();
    assert_eq!(
        keys(&want),
        keys(&got),
        "replaying the logs gives other keys"
    );
    for ((k, (exp_a, a)), (_, (exp_b, b))) in want.iter().zip(&got) {
        assert_eq!(exp_a, exp_b, "expiry of {k:?} differs after replay");
        assert!(
            same_value(a, b),
            "{k:?} differs after replay: {a:?} vs {b:?}"
        );
    }
}
