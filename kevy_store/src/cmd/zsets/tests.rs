//! Transcript tests of the sorted-set family: replies, what each command
//! logs for the AOF, blocking requests, and snapshots staying frozen.

use crate::cmd::testutil::{split, T, T0};
use crate::ctx::{Ctx, Events};
use crate::store::Store;

#[test]
fn zadd_options_and_replies() {
    let mut t = T::new();
    t.check(&[
        ("ZADD z 1 a 2 b 3 c", ":3"),
        ("ZADD z CH 1 a 5 b 4 d", ":2"),
        ("ZADD z 1 x 2 x", ":1"),
        ("ZSCORE z x", "$1\r\n2"),
        ("ZADD z CH 3 y 4 y", ":2"),
        (
            "ZADD z NX XX 1 a",
            "-ERR XX and NX options at the same time are not compatible",
        ),
        (
            "ZADD z GT LT 1 a",
            "-ERR GT, LT, and/or NX options at the same time are not compatible",
        ),
        (
            "ZADD z INCR 1 a 1 b",
            "-ERR INCR option supports a single increment-element pair",
        ),
        ("ZADD z 1 a 2", "-ERR syntax error"),
        ("ZADD z abc a", "-ERR value is not a valid float"),
        ("ZADD z INCR inf a", "$3\r\ninf"),
        (
            "ZADD z INCR -inf a",
            "-ERR resulting score is not a number (NaN)",
        ),
        ("ZADD z XX INCR 1 nosuch", "$-1"),
        ("ZADD z GT 0 b", ":0"),
        ("ZSCORE z b", "$1\r\n5"),
        ("ZINCRBY z 0.5 b", "$3\r\n5.5"),
        ("ZINCRBY z 0.25 new", "$4\r\n0.25"),
        ("SET s v", "+OK"),
        (
            "ZADD s 1 a",
            "-WRONGTYPE Operation against a key holding the wrong kind of value",
        ),
        ("ZADD s x a", "-ERR value is not a valid float"),
    ]);
}

#[test]
fn ranges_and_ranks() {
    let mut t = T::new();
    t.check(&[
        ("ZADD z 1 a 2 b 2 c 3 d", ":4"),
        ("ZRANGE z 0 -1", "*4\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd"),
        ("ZRANGE z 1 2 REV WITHSCORES", "*4\r\n$1\r\nc\r\n$1\r\n2\r\n$1\r\nb\r\n$1\r\n2"),
        ("ZRANGE z (1 3 BYSCORE LIMIT 1 5", "*2\r\n$1\r\nc\r\n$1\r\nd"),
        ("ZRANGE z +inf -inf BYSCORE REV LIMIT 0 2", "*2\r\n$1\r\nd\r\n$1\r\nc"),
        ("ZRANGE z 0 -1 LIMIT 0 1", "-ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX"),
        ("ZRANGE z - + BYLEX WITHSCORES", "-ERR syntax error, WITHSCORES not supported in combination with BYLEX"),
        ("ZRANGEBYSCORE z x 1", "-ERR min or max is not a float"),
        ("ZRANGEBYLEX z a b", "-ERR min or max not valid string range item"),
        ("ZRANK z c", ":2"),
        ("ZREVRANK z c", ":1"),
        ("ZCOUNT z (1 +inf", ":3"),
        ("ZREMRANGEBYSCORE z 2 2", ":2"),
        ("ZRANGE z 0 -1 WITHSCORES", "*4\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nd\r\n$1\r\n3"),
        ("ZREMRANGEBYRANK z 0 -1", ":2"),
        ("EXISTS z", ":0"),
    ]);
}

#[test]
fn writes_log_deterministic_effects() {
    let mut t = T::new();
    let rec = t.record();
    t.check(&[
        ("ZADD z 1 a 2 b 3 c", ":3"),
        ("ZADD z XX 1 nosuch", ":0"),
        ("ZADD z 1 a", ":0"),
        ("ZPOPMIN z", "*2\r\n$1\r\na\r\n$1\r\n1"),
        (
            "ZMPOP 2 {z}nokey z MAX COUNT 5",
            "*2\r\n$1\r\nz\r\n*2\r\n*2\r\n$1\r\nc\r\n$1\r\n3\r\n*2\r\n$1\r\nb\r\n$1\r\n2",
        ),
        ("ZPOPMIN z", "*0"),
        ("ZADD {t}a 1 x 2 y", ":2"),
        ("ZADD {t}b 5 y", ":1"),
        ("ZUNIONSTORE {t}d 2 {t}a {t}b", ":2"),
        ("ZINTERSTORE {t}d 2 {t}a nokey{t}", ":0"),
        ("ZINTERSTORE {t}d 2 {t}a nokey{t}", ":0"),
        ("ZRANGESTORE {t}e {t}a 0 0", ":1"),
        ("BZPOPMAX {t}a 0", "*3\r\n$4\r\n{t}a\r\n$1\r\ny\r\n$1\r\n2"),
        ("ZREM {t}a x nosuch", ":1"),
        ("ZREM {t}a x", ":0"),
    ]);
    assert_eq!(
        rec.lines(),
        vec![
            "ZADD z 1 a 2 b 3 c",
            "ZPOPMIN z 1",
            "ZPOPMAX z 2",
            "ZADD {t}a 1 x 2 y",
            "ZADD {t}b 5 y",
            "DEL {t}d",
            "ZADD {t}d 1 x 7 y",
            "DEL {t}d",
            "DEL {t}e",
            "ZADD {t}e 1 x",
            "ZPOPMAX {t}a 1",
            "ZREM {t}a x nosuch",
        ]
    );
}

/// Runs one command the way the server does, returning the reply and the
/// block request it left.
fn run_blocking(
    store: &Store,
    line: &str,
    may_block: bool,
) -> (String, Option<crate::ctx::BlockRequest>) {
    let argv = split(line);
    let cmd = crate::cmd::lookup(&argv[0]).unwrap_or_else(|| panic!("no command {line}"));
    let mut ids = Vec::new();
    store.shards_for(cmd, &argv, &mut ids);
    let mut locked = store.lock(&ids);
    let mut events = Events::default();
    let mut ctx = Ctx::new(&mut locked, &mut events, 0, T0);
    ctx.may_block = may_block;
    let reply = crate::store::run(&mut ctx, cmd, &argv);
    let block = ctx.take_block();
    (crate::cmd::testutil::resp2(&reply), block)
}

#[test]
fn blocking_pops_park_or_time_out() {
    let store = Store::new(4, 16);
    let (r, b) = run_blocking(&store, "BZPOPMIN k1 k2 1.5", true);
    assert_eq!(r, "*-1\r\n");
    let b = b.unwrap_or_else(|| panic!("no block request"));
    assert_eq!(
        b.keys.iter().map(|k| k.to_vec()).collect::<Vec<_>>(),
        vec![b"k1".to_vec(), b"k2".to_vec()]
    );
    assert_eq!(b.deadline_ms, T0 + 1500);
    let (_, b) = run_blocking(&store, "BZMPOP 0 2 k1 k2 MIN COUNT 2", true);
    assert_eq!(b.map(|b| b.deadline_ms), Some(0));
    // Inside MULTI: the timeout reply at once, no block.
    let (r, b) = run_blocking(&store, "BZPOPMAX k1 0", false);
    assert_eq!((r.as_str(), b.is_none()), ("*-1\r\n", true));
    // Errors never block.
    let (r, b) = run_blocking(&store, "BZPOPMIN k1 -1", true);
    assert_eq!(
        (r.as_str(), b.is_none()),
        ("-ERR timeout is negative\r\n", true)
    );
    // Data present: served at once.
    run_blocking(&store, "ZADD k2 1 a 2 b", true);
    let (r, b) = run_blocking(&store, "BZMPOP 0 2 k1 k2 MAX COUNT 5", true);
    assert!(b.is_none());
    assert_eq!(
        r,
        "*2\r\n$2\r\nk2\r\n*2\r\n*2\r\n$1\r\nb\r\n$1\r\n2\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n"
    );
}

#[test]
fn zadd_signals_ready_keys() {
    let store = Store::new(1, 16);
    let (_, ev) = store.execute(0, &split("ZADD q 1 a"), T0);
    assert_eq!(ev.ready_keys.len(), 1);
    let (_, ev) = store.execute(0, &split("ZADD q 2 b"), T0);
    assert!(ev.ready_keys.is_empty());
}

#[test]
fn snapshots_stay_frozen() {
    let store = Store::new(1, 16);
    let mut line = String::from("ZADD big");
    for i in 0..5000 {
        line.push_str(&format!(" {i} m{i}"));
    }
    store.execute(0, &split(&line), T0);
    let snap = store.snapshot();
    store.execute(0, &split("ZREMRANGEBYRANK big 0 2499"), T0);
    store.execute(0, &split("ZADD big -1 first"), T0);
    let (r, _) = store.execute(0, &split("ZCARD big"), T0);
    assert_eq!(crate::cmd::testutil::resp2(&r), ":2501\r\n");
    let e = snap[0].dbs[0]
        .get(crate::hash::key_hash(b"big"), b"big")
        .map(|e| e.value.clone());
    match e {
        Some(crate::value::Value::ZSet(z)) => {
            assert_eq!(z.len(), 5000);
            assert_eq!(z.get(0).map(|i| i.member.to_vec()), Some(b"m0".to_vec()));
            assert_eq!(z.rank(b"m4999"), Some(4999));
        }
        other => panic!("snapshot lost the zset: {other:?}"),
    }
}

#[test]
fn zscan_visits_every_member_of_a_big_set() {
    let mut t = T::new();
    let mut line = String::from("ZADD big");
    for i in 0..300 {
        line.push_str(&format!(" {i} m{i}"));
    }
    t.run(&line);
    let mut cursor = "0".to_string();
    let mut seen = std::collections::HashSet::new();
    for _ in 0..1000 {
        let r = t.reply(&format!("ZSCAN big {cursor} COUNT 17"));
        let kevy_resp::Reply::Array(parts) = r else {
            panic!("not an array")
        };
        let (kevy_resp::Reply::Bulk(c), kevy_resp::Reply::Array(items)) = (&parts[0], &parts[1])
        else {
            panic!("bad scan reply")
        };
        for pair in items.chunks(2) {
            if let kevy_resp::Reply::Bulk(m) = &pair[0] {
                seen.insert(m.to_vec());
            }
        }
        // Writes in the middle of a scan never hide members that stay.
        t.run(&format!("ZADD big {} extra{}", seen.len(), seen.len()));
        cursor = String::from_utf8_lossy(c).into_owned();
        if cursor == "0" {
            break;
        }
    }
    assert_eq!(cursor, "0");
    assert!((0..300).all(|i| seen.contains(format!("m{i}").as_bytes())));
}
