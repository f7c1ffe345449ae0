//! Tests of LMOVE, LMPOP and the blocking commands: transcripts (from
//! redis-server 7.0.15) with data present, and what the dispatcher sees
//! without data: block requests, ready keys and the logged forms.

use crate::cmd::testutil::{T, T0};
use crate::ctx::{Ctx, Events};
use bytes::Bytes;

#[test]
fn moves_mpop_and_blocking_with_data() {
    let mut t = T::new();
    t.check(&[
        ("RPUSH src a b c", ":3"),
        ("LMOVE src dst LEFT RIGHT", "$1\r\na"),
        ("LMOVE src dst right left", "$1\r\nc"),
        ("LRANGE src 0 -1", "*1\r\n$1\r\nb"),
        ("LRANGE dst 0 -1", "*2\r\n$1\r\nc\r\n$1\r\na"),
        ("LMOVE src dst LEFT LEFT", "$1\r\nb"),
        ("EXISTS src", ":0"),
        ("LMOVE src dst LEFT LEFT", "$-1"),
        ("LMOVE dst dst LEFT RIGHT", "$1\r\nb"),
        ("LRANGE dst 0 -1", "*3\r\n$1\r\nc\r\n$1\r\na\r\n$1\r\nb"),
        ("LMOVE dst dst RIGHT LEFT", "$1\r\nb"),
        ("LRANGE dst 0 -1", "*3\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\na"),
        ("RPUSH one x", ":1"),
        ("LMOVE one one LEFT LEFT", "$1\r\nx"),
        ("LRANGE one 0 -1", "*1\r\n$1\r\nx"),
        ("LMOVE one other UP LEFT", "-ERR syntax error"),
        ("LMOVE one other LEFT DOWN", "-ERR syntax error"),
        ("LMOVE nokey other UP LEFT", "-ERR syntax error"),
        ("SET s str", "+OK"),
        (
            "LMOVE s dst LEFT LEFT",
            "-WRONGTYPE Operation against a key holding the wrong kind of value",
        ),
        (
            "LMOVE dst s LEFT LEFT",
            "-WRONGTYPE Operation against a key holding the wrong kind of value",
        ),
        ("LMOVE nokey s LEFT LEFT", "$-1"),
        ("LRANGE dst 0 -1", "*3\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\na"),
        ("RPOPLPUSH dst dst", "$1\r\na"),
        ("LRANGE dst 0 -1", "*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc"),
        ("RPOPLPUSH dst new", "$1\r\nc"),
        ("LRANGE new 0 -1", "*1\r\n$1\r\nc"),
        ("RPOPLPUSH nokey new", "$-1"),
        (
            "RPOPLPUSH s new",
            "-WRONGTYPE Operation against a key holding the wrong kind of value",
        ),
        (
            "RPOPLPUSH new s",
            "-WRONGTYPE Operation against a key holding the wrong kind of value",
        ),
        ("RPOPLPUSH nokey s", "$-1"),
        (
            "RPOPLPUSH a",
            "-ERR wrong number of arguments for 'rpoplpush' command",
        ),
        ("DEL src dst new one", ":3"),
        ("RPUSH k1 a b c", ":3"),
        ("RPUSH k2 d e", ":2"),
        ("LMPOP 2 nokey k1 LEFT", "*2\r\n$2\r\nk1\r\n*1\r\n$1\r\na"),
        (
            "LMPOP 2 k1 k2 RIGHT COUNT 10",
            "*2\r\n$2\r\nk1\r\n*2\r\n$1\r\nc\r\n$1\r\nb",
        ),
        (
            "LMPOP 2 k1 k2 RIGHT COUNT 10",
            "*2\r\n$2\r\nk2\r\n*2\r\n$1\r\ne\r\n$1\r\nd",
        ),
        ("LMPOP 2 k1 k2 LEFT", "*-1"),
        ("EXISTS k1 k2", ":0"),
        ("LMPOP 2 k1 k2 LEFT", "*-1"),
        ("RPUSH k1 a b c", ":3"),
        (
            "LMPOP 1 k1 LEFT COUNT 2",
            "*2\r\n$2\r\nk1\r\n*2\r\n$1\r\na\r\n$1\r\nb",
        ),
        ("LMPOP 1 k1 left count 1", "*2\r\n$2\r\nk1\r\n*1\r\n$1\r\nc"),
        (
            "LMPOP 2 s k1 LEFT",
            "-WRONGTYPE Operation against a key holding the wrong kind of value",
        ),
        ("RPUSH k1 a", ":1"),
        ("LMPOP 2 k1 s LEFT", "*2\r\n$2\r\nk1\r\n*1\r\n$1\r\na"),
        (
            "LMPOP 2 k1 s LEFT",
            "-WRONGTYPE Operation against a key holding the wrong kind of value",
        ),
        ("LMPOP 0 k1 LEFT", "-ERR numkeys should be greater than 0"),
        ("LMPOP -1 k1 LEFT", "-ERR numkeys should be greater than 0"),
        ("LMPOP x k1 LEFT", "-ERR numkeys should be greater than 0"),
        ("LMPOP 1 k1 MIDDLE", "-ERR syntax error"),
        (
            "LMPOP 1 k1",
            "-ERR wrong number of arguments for 'lmpop' command",
        ),
        ("LMPOP 2 k1 LEFT", "-ERR syntax error"),
        (
            "LMPOP 1 k1 LEFT COUNT 0",
            "-ERR count should be greater than 0",
        ),
        (
            "LMPOP 1 k1 LEFT COUNT -1",
            "-ERR count should be greater than 0",
        ),
        (
            "LMPOP 1 k1 LEFT COUNT x",
            "-ERR count should be greater than 0",
        ),
        ("LMPOP 1 k1 LEFT COUNT", "-ERR syntax error"),
        ("LMPOP 1 k1 LEFT COUNT 1 COUNT 1", "-ERR syntax error"),
        ("LMPOP 1 k1 LEFT FOO", "-ERR syntax error"),
        ("LMPOP 9223372036854775807 k1 LEFT", "-ERR syntax error"),
        (
            "LMPOP 1 nokey LEFT COUNT 0",
            "-ERR count should be greater than 0",
        ),
        ("RPUSH b1 x y z", ":3"),
        ("RPUSH b2 w", ":1"),
        ("BLPOP nokey b1 b2 0", "*2\r\n$2\r\nb1\r\n$1\r\nx"),
        ("BRPOP nokey b1 b2 0", "*2\r\n$2\r\nb1\r\n$1\r\nz"),
        ("BLPOP b2 b1 1", "*2\r\n$2\r\nb2\r\n$1\r\nw"),
        ("BRPOP b1 0.5", "*2\r\n$2\r\nb1\r\n$1\r\ny"),
        ("EXISTS b1 b2", ":0"),
        (
            "BLPOP s 0",
            "-WRONGTYPE Operation against a key holding the wrong kind of value",
        ),
        ("RPUSH b2 a", ":1"),
        ("BLPOP b2 s 0", "*2\r\n$2\r\nb2\r\n$1\r\na"),
        (
            "BLPOP nokey s 0",
            "-WRONGTYPE Operation against a key holding the wrong kind of value",
        ),
        ("BLPOP b1 x", "-ERR timeout is not a float or out of range"),
        ("BLPOP b1 -1", "-ERR timeout is negative"),
        ("BLPOP b1 inf", "-ERR timeout is negative"),
        ("BLPOP b1 -inf", "-ERR timeout is negative"),
        ("BLPOP b1 1e400", "-ERR timeout is negative"),
        (
            "BLPOP b1 nan",
            "-ERR timeout is not a float or out of range",
        ),
        (
            "BLPOP b1 \"\"",
            "-ERR timeout is not a float or out of range",
        ),
        (
            "BLPOP b1 \" 1\"",
            "-ERR timeout is not a float or out of range",
        ),
        (
            "BLPOP b1",
            "-ERR wrong number of arguments for 'blpop' command",
        ),
        ("RPUSH b1 x y z", ":3"),
        ("BLMOVE b1 b2 LEFT RIGHT 0", "$1\r\nx"),
        ("BLMOVE b1 b2 RIGHT LEFT 0.1", "$1\r\nz"),
        ("LRANGE b2 0 -1", "*2\r\n$1\r\nz\r\n$1\r\nx"),
        ("BLMOVE b1 b2 UP RIGHT 0", "-ERR syntax error"),
        (
            "BLMOVE b1 b2 LEFT RIGHT x",
            "-ERR timeout is not a float or out of range",
        ),
        ("BLMOVE b1 b2 LEFT RIGHT -1", "-ERR timeout is negative"),
        (
            "BLMOVE s b2 LEFT RIGHT 0",
            "-WRONGTYPE Operation against a key holding the wrong kind of value",
        ),
        (
            "BLMOVE b1 s LEFT RIGHT 0",
            "-WRONGTYPE Operation against a key holding the wrong kind of value",
        ),
        ("BRPOPLPUSH b1 b2 0", "$1\r\ny"),
        ("BRPOPLPUSH b2 b2 0", "$1\r\nx"),
        ("LRANGE b2 0 -1", "*3\r\n$1\r\nx\r\n$1\r\ny\r\n$1\r\nz"),
        (
            "BRPOPLPUSH b2 s 0",
            "-WRONGTYPE Operation against a key holding the wrong kind of value",
        ),
        (
            "BRPOPLPUSH s b2 0",
            "-WRONGTYPE Operation against a key holding the wrong kind of value",
        ),
        (
            "BRPOPLPUSH b2 b1 x",
            "-ERR timeout is not a float or out of range",
        ),
        ("BRPOPLPUSH b2 b1 -1", "-ERR timeout is negative"),
        (
            "BLMPOP 0 2 nokey b2 LEFT COUNT 2",
            "*2\r\n$2\r\nb2\r\n*2\r\n$1\r\nx\r\n$1\r\ny",
        ),
        ("BLMPOP 0.01 1 b2 RIGHT", "*2\r\n$2\r\nb2\r\n*1\r\n$1\r\nz"),
        ("RPUSH b2 p q", ":2"),
        (
            "BLMPOP 0 1 b2 RIGHT COUNT 100",
            "*2\r\n$2\r\nb2\r\n*2\r\n$1\r\nq\r\n$1\r\np",
        ),
        ("EXISTS b2", ":0"),
        (
            "BLMPOP 0 1 s LEFT",
            "-WRONGTYPE Operation against a key holding the wrong kind of value",
        ),
        (
            "BLMPOP x 1 b1 LEFT",
            "-ERR timeout is not a float or out of range",
        ),
        ("BLMPOP -1 1 b1 LEFT", "-ERR timeout is negative"),
        (
            "BLMPOP x 0 b1 LEFT",
            "-ERR numkeys should be greater than 0",
        ),
        ("BLMPOP x 1 b1 MIDDLE", "-ERR syntax error"),
        (
            "BLMPOP x 1 b1 LEFT COUNT 0",
            "-ERR count should be greater than 0",
        ),
        ("BLMPOP 0 2 b1 LEFT", "-ERR syntax error"),
        (
            "BLMPOP 0 1 b1",
            "-ERR wrong number of arguments for 'blmpop' command",
        ),
    ]);
}

/// Runs `line` in a context built by hand, so the test sees what the
/// dispatcher sees: the reply, the block request and the ready keys.
fn run_ctx(
    t: &T,
    line: &str,
    may_block: bool,
) -> (String, Option<crate::ctx::BlockRequest>, Vec<String>) {
    let argv: Vec<Bytes> = crate::cmd::testutil::split(line);
    let Some(cmd) = crate::cmd::lookup(&argv[0]) else {
        panic!("no command {line}")
    };
    let mut locked = t.store.lock_all();
    let mut events = Events::default();
    let mut ctx = Ctx::new(&mut locked, &mut events, 0, T0);
    ctx.may_block = may_block;
    let reply = crate::store::run(&mut ctx, cmd, &argv);
    let block = ctx.take_block();
    let ready = events
        .ready_keys
        .iter()
        .map(|(_, k)| String::from_utf8_lossy(k).into_owned())
        .collect();
    (crate::cmd::testutil::resp2(&reply), block, ready)
}

#[test]
fn blocking_commands_request_a_block_or_time_out_in_multi() {
    let mut t = T::new();
    for (line, timeout_reply) in [
        ("BLPOP a b 1.5", "*-1\r\n"),
        ("BRPOP a b 1.5", "*-1\r\n"),
        ("BLMPOP 1.5 2 a b LEFT COUNT 3", "*-1\r\n"),
        ("BLMOVE a b LEFT RIGHT 1.5", "$-1\r\n"),
        ("BRPOPLPUSH a b 1.5", "$-1\r\n"),
    ] {
        let (reply, block, _) = run_ctx(&t, line, true);
        let Some(b) = block else {
            panic!("{line}: no block request")
        };
        assert_eq!(b.deadline_ms, T0 + 1500, "{line}");
        let want: Vec<&[u8]> = if line.starts_with("BLM") || line.starts_with("BRPOPL") {
            if line.starts_with("BLMPOP") {
                vec![b"a", b"b"]
            } else {
                vec![b"a"]
            }
        } else {
            vec![b"a", b"b"]
        };
        assert_eq!(
            b.keys.iter().map(|k| &k[..]).collect::<Vec<_>>(),
            want,
            "{line}"
        );
        assert_eq!(reply, timeout_reply, "{line}");
        // Inside MULTI: the timeout reply at once, no block.
        let (reply, block, _) = run_ctx(&t, line, false);
        assert!(block.is_none(), "{line}");
        assert_eq!(reply, timeout_reply, "{line}");
    }
    // A positive timeout under a millisecond rounds up to 1 ms (redis-server
    // 7.0.15 answers `BLPOP nolist 0.0001` at its next timer tick).
    let (_, block, _) = run_ctx(&t, "BLPOP a 0.0001", true);
    assert_eq!(block.map(|b| b.deadline_ms), Some(T0 + 1));
    // Timeout 0 (and what rounds up to 0) waits forever.
    for line in ["BLPOP a 0", "BLPOP a -0.0001", "BLPOP a 1e-400"] {
        let (_, block, _) = run_ctx(&t, line, true);
        assert_eq!(block.map(|b| b.deadline_ms), Some(0), "{line}");
    }
    let (_, block, _) = run_ctx(&t, "BLPOP a 0x10", true);
    assert_eq!(block.map(|b| b.deadline_ms), Some(T0 + 16_000));
    // With data there is no block; errors never block either.
    t.check(&[("RPUSH b x", ":1"), ("SET s v", "+OK")]);
    let (reply, block, _) = run_ctx(&t, "BLPOP a b 0", true);
    assert!(block.is_none());
    assert_eq!(reply, "*2\r\n$1\r\nb\r\n$1\r\nx\r\n");
    let (_, block, _) = run_ctx(&t, "BLPOP a s 0", true);
    assert!(block.is_none());
}

#[test]
fn pushes_make_keys_ready() {
    let t = T::new();
    assert_eq!(run_ctx(&t, "LPUSH a x", true).2, ["a"]);
    assert_eq!(run_ctx(&t, "RPUSH a x", true).2, ["a"]);
    assert_eq!(run_ctx(&t, "LPUSHX a x", true).2, ["a"]);
    assert_eq!(run_ctx(&t, "RPUSHX a x", true).2, ["a"]);
    assert!(run_ctx(&t, "LPUSHX nokey x", true).2.is_empty());
    assert_eq!(run_ctx(&t, "LMOVE a b LEFT RIGHT", true).2, ["b"]);
    assert_eq!(run_ctx(&t, "RPOPLPUSH a c", true).2, ["c"]);
    assert_eq!(run_ctx(&t, "BLMOVE a d LEFT RIGHT 0", true).2, ["d"]);
    assert_eq!(run_ctx(&t, "BRPOPLPUSH b e 0", true).2, ["e"]);
}

#[test]
fn deterministic_log_forms() {
    let mut t = T::new();
    let rec = t.record();
    // Find two keys on different shards and two on the same one.
    let n = t.store.nshards();
    let shard = |k: &str| crate::ctx::shard_for(k.as_bytes(), n);
    let other = (0..100)
        .map(|i| format!("k{i}"))
        .find(|k| shard(k) != shard("src"))
        .unwrap_or_default();
    let same = "{src}dst";
    t.check(&[
        ("RPUSH src a b c d e f", ":6"),
        ("LPUSH src z", ":7"),
        ("LPOP src", "$1\r\nz"),
        ("RPOP src 2", "*2\r\n$1\r\nf\r\n$1\r\ne"),
        ("LPOP src 0", "*0"),
        ("LPOP nokey", "$-1"),
        ("LPUSHX nokey a", ":0"),
        ("LREM src 0 nothere", ":0"),
        ("LTRIM src 0 -1", "+OK"),
        ("LINSERT src BEFORE nothere x", ":-1"),
    ]);
    assert_eq!(
        rec.lines(),
        [
            "RPUSH src a b c d e f",
            "LPUSH src z",
            "LPOP src",
            "RPOP src 2"
        ],
        "no-ops are not logged"
    );
    t.run(&format!("LMOVE src {other} LEFT RIGHT"));
    let log = rec.take();
    assert_eq!(log.len(), 2);
    assert_eq!((log[0].0, log[0].2.as_str()), (shard("src"), "LPOP src"));
    assert_eq!(
        (log[1].0, log[1].2.clone()),
        (shard(&other), format!("RPUSH {other} a"))
    );
    t.run(&format!("RPOPLPUSH src {same}"));
    assert_eq!(rec.lines(), [format!("LMOVE src {same} RIGHT LEFT")]);
    t.run(&format!("BRPOPLPUSH src {other} 0"));
    assert_eq!(
        rec.lines(),
        ["RPOP src".to_string(), format!("LPUSH {other} c")]
    );
    t.run(&format!("BLMOVE {other} src RIGHT RIGHT 0"));
    assert_eq!(
        rec.lines(),
        [format!("RPOP {other}"), "RPUSH src a".to_string()]
    );
    t.check(&[
        ("RPUSH x 1 2 3", ":3"),
        ("BLPOP nokey x 0", "*2\r\n$1\r\nx\r\n$1\r\n1"),
        ("BRPOP x 0", "*2\r\n$1\r\nx\r\n$1\r\n3"),
        ("RPUSH y 1 2 3", ":3"),
        (
            "LMPOP 3 nokey x y LEFT COUNT 5",
            "*2\r\n$1\r\nx\r\n*1\r\n$1\r\n2",
        ),
        (
            "BLMPOP 0 2 x y RIGHT COUNT 2",
            "*2\r\n$1\r\ny\r\n*2\r\n$1\r\n3\r\n$1\r\n2",
        ),
    ]);
    let log = rec.take();
    let lines: Vec<&str> = log.iter().map(|(_, _, l)| l.as_str()).collect();
    assert_eq!(
        lines,
        [
            "RPUSH x 1 2 3",
            "LPOP x",
            "RPOP x",
            "RPUSH y 1 2 3",
            "LPOP x 1",
            "RPOP y 2"
        ]
    );
    assert!(log
        .iter()
        .all(|(s, _, l)| *s == shard(l.split(' ').nth(1).unwrap_or_default())));
}

#[test]
fn keyspace_events_in_redis_order() {
    // The sequence redis-server 7.0.15 publishes for the same commands
    // (notify-keyspace-events KEA, observed on __keyevent@0__:*).
    let t = T::new();
    let mut got = Vec::new();
    for line in [
        "RPUSH src a",
        "LMOVE src dst LEFT RIGHT",
        "LTRIM dst 0 -1",
        "LTRIM dst 1 0",
        "RPUSH l a b c",
        "LINSERT l BEFORE b x",
        "LSET l 0 y",
        "LREM l 0 x",
        "LREM l 0 nothere",
        "LMPOP 1 l RIGHT COUNT 5",
        "RPUSH l a",
        "BLPOP l 0",
        "RPUSH l a b",
        "RPOPLPUSH l l",
        "LPUSHX nokey a",
        "LPOP nokey",
    ] {
        let argv: Vec<Bytes> = crate::cmd::testutil::split(line);
        let Some(cmd) = crate::cmd::lookup(&argv[0]) else {
            panic!("no command {line}")
        };
        let mut locked = t.store.lock_all();
        let mut events = Events::default();
        let mut ctx = Ctx::new(&mut locked, &mut events, 0, T0);
        // "KEA": every class but `new` and `keymiss`, which `A` leaves out.
        ctx.notify_mask = !(crate::ctx::notify::NEW | crate::ctx::notify::KEY_MISS);
        crate::store::run(&mut ctx, cmd, &argv);
        for n in events.notifications {
            got.push(format!("{} {}", n.event, String::from_utf8_lossy(&n.key)));
        }
    }
    assert_eq!(
        got,
        [
            "rpush src",
            "rpush dst",
            "lpop src",
            "del src",
            "ltrim dst",
            "ltrim dst",
            "del dst",
            "rpush l",
            "linsert l",
            "lset l",
            "lrem l",
            "rpop l",
            "del l",
            "rpush l",
            "lpop l",
            "del l",
            "rpush l",
            "lpush l",
            "rpop l",
        ]
    );
}
