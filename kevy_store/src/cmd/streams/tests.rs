//! Transcript tests of the stream family (expected replies from
//! redis-server 7.0.15 for the same commands), what each write logs, and
//! that replaying the log rebuilds the same stream.

use crate::cmd::testutil::{resp2, split, T, T0};
use crate::ctx::{Ctx, Events};
use crate::store::Store;
use crate::value::Value;
use bytes::Bytes;

const WRONGTYPE: &str = "-WRONGTYPE Operation against a key holding the wrong kind of value";

#[test]
fn xadd_ids_and_errors() {
    let mut t = T::new();
    t.check(&[
        ("XADD s 0-* f v", "$3\r\n0-1"),
        (
            "XADD s 0-0 f v",
            "-ERR The ID specified in XADD must be greater than 0-0",
        ),
        (
            "XADD s2 0-0 f v",
            "-ERR The ID specified in XADD must be greater than 0-0",
        ),
        ("EXISTS s2", ":0"),
        ("XADD s 5-* f v", "$3\r\n5-0"),
        (
            "XADD s 5-18446744073709551615 f v",
            "$22\r\n5-18446744073709551615",
        ),
        ("XADD s 5-* f v", "-ERR Elements are too large to be stored"),
        (
            "XADD s 4-* f v",
            "-ERR The ID specified in XADD is equal or smaller than the target stream top item",
        ),
        ("XADD s * f v", "$15\r\n1700000000000-0"),
        ("XADD s * f v", "$15\r\n1700000000000-1"),
        (
            "XADD s 1-2-3 f v",
            "-ERR Invalid stream ID specified as stream command argument",
        ),
        (
            "XADD s 100-* f",
            "-ERR wrong number of arguments for 'xadd' command",
        ),
        (
            "XADD s maxlen 1 5-20 f v g",
            "-ERR wrong number of arguments for 'xadd' command",
        ),
        ("XADD s3 NOMKSTREAM 1-1 f v", "$-1"),
        ("EXISTS s3", ":0"),
        (
            "XADD s maxlen -1 * f v",
            "-ERR The MAXLEN argument must be >= 0.",
        ),
        (
            "XADD s maxlen = 1 limit 5 * f v",
            "-ERR syntax error, LIMIT cannot be used without the special ~ option",
        ),
        (
            "XADD s limit 1 * f v",
            "-ERR syntax error, LIMIT cannot be used without specifying a trimming strategy",
        ),
        (
            "XADD s minid 1 maxlen 2 * f v",
            "-ERR syntax error, MAXLEN and MINID options at the same time are not compatible",
        ),
        (
            "XADD s minid - * f v",
            "-ERR Invalid stream ID specified as stream command argument",
        ),
        ("XLEN s", ":5"),
        (
            "XADD s 18446744073709551615-18446744073709551615 f v",
            "$41\r\n18446744073709551615-18446744073709551615",
        ),
        (
            "XADD s * f v",
            "-ERR The stream has exhausted the last possible ID, unable to add more items",
        ),
        ("SET str x", "+OK"),
        ("XADD str * f v", WRONGTYPE),
        ("XLEN str", WRONGTYPE),
        ("XLEN nokey", ":0"),
        ("TYPE s", "+stream"),
        ("OBJECT ENCODING s", "$6\r\nstream"),
    ]);
}

#[test]
fn ranges_and_counts() {
    let mut t = T::new();
    for i in 1..=5 {
        t.run(&format!("XADD s 1-{i} f v{i}"));
    }
    t.check(&[
        ("XRANGE s - + COUNT 2", "*2\r\n*2\r\n$3\r\n1-1\r\n*2\r\n$1\r\nf\r\n$2\r\nv1\r\n*2\r\n$3\r\n1-2\r\n*2\r\n$1\r\nf\r\n$2\r\nv2"),
        ("XREVRANGE s + (1-4", "*1\r\n*2\r\n$3\r\n1-5\r\n*2\r\n$1\r\nf\r\n$2\r\nv5"),
        ("XRANGE s (1-4 (1-5", "*0"),
        ("XRANGE s - + COUNT 0", "*-1"),
        ("XRANGE nokey - + COUNT 0", "*0"),
        ("XRANGE s ( +", "-ERR Invalid stream ID specified as stream command argument"),
        ("XRANGE s (- +", "-ERR Invalid stream ID specified as stream command argument"),
        ("XRANGE s - (0-0", "-ERR invalid end ID for the interval"),
        ("XRANGE s (18446744073709551615-18446744073709551615 +", "-ERR invalid start ID for the interval"),
        ("XRANGE s - + COUNT", "-ERR syntax error"),
        ("XDEL s 1-2 1-2 1-9", ":1"),
        ("XDEL nokey bad", ":0"),
        ("XDEL s bad", "-ERR Invalid stream ID specified as stream command argument"),
        ("XRANGE s 1-1 1-3", "*2\r\n*2\r\n$3\r\n1-1\r\n*2\r\n$1\r\nf\r\n$2\r\nv1\r\n*2\r\n$3\r\n1-3\r\n*2\r\n$1\r\nf\r\n$2\r\nv3"),
        ("XTRIM s MAXLEN 2", ":2"),
        ("XTRIM s MINID 1-5", ":1"),
        ("XTRIM s", "-ERR wrong number of arguments for 'xtrim' command"),
        ("XTRIM s LIMIT 1 MAXLEN 1", "-ERR syntax error, LIMIT cannot be used without the special ~ option"),
        ("XTRIM s FOO 1", "-ERR syntax error"),
        ("XTRIM nokey MAXLEN 0", ":0"),
        ("XLEN s", ":1"),
    ]);
}

#[test]
fn groups_deliver_and_acknowledge() {
    let mut t = T::new();
    for i in 1..=3 {
        t.run(&format!("XADD s 1-{i} f v{i}"));
    }
    t.check(&[
        ("XGROUP CREATE s g 0", "+OK"),
        ("XGROUP CREATE s g 0", "-BUSYGROUP Consumer Group name already exists"),
        ("XGROUP CREATE nokey g $", "-ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the MKSTREAM option to create an empty stream automatically."),
        ("XREADGROUP GROUP g alice COUNT 2 STREAMS s >", "*1\r\n*2\r\n$1\r\ns\r\n*2\r\n*2\r\n$3\r\n1-1\r\n*2\r\n$1\r\nf\r\n$2\r\nv1\r\n*2\r\n$3\r\n1-2\r\n*2\r\n$1\r\nf\r\n$2\r\nv2"),
        ("XREADGROUP GROUP g bob STREAMS s >", "*1\r\n*2\r\n$1\r\ns\r\n*1\r\n*2\r\n$3\r\n1-3\r\n*2\r\n$1\r\nf\r\n$2\r\nv3"),
        ("XREADGROUP GROUP g bob STREAMS s >", "*-1"),
        ("XPENDING s g", "*4\r\n:3\r\n$3\r\n1-1\r\n$3\r\n1-3\r\n*2\r\n*2\r\n$5\r\nalice\r\n$1\r\n2\r\n*2\r\n$3\r\nbob\r\n$1\r\n1"),
        ("XACK s g 1-1 1-9", ":1"),
        ("XDEL s 1-2", ":1"),
        ("XREADGROUP GROUP g alice STREAMS s 0", "*1\r\n*2\r\n$1\r\ns\r\n*1\r\n*2\r\n$3\r\n1-2\r\n*-1"),
        ("XREADGROUP GROUP nog a STREAMS s >", "-NOGROUP No such key 's' or consumer group 'nog' in XREADGROUP with GROUP option"),
        ("XINFO GROUPS s", "*1\r\n*12\r\n$4\r\nname\r\n$1\r\ng\r\n$9\r\nconsumers\r\n:2\r\n$7\r\npending\r\n:2\r\n$17\r\nlast-delivered-id\r\n$3\r\n1-3\r\n$12\r\nentries-read\r\n:3\r\n$3\r\nlag\r\n:0"),
        ("XGROUP DELCONSUMER s g alice", ":1"),
        ("XGROUP DESTROY s g", ":1"),
        ("XGROUP DESTROY s g", ":0"),
    ]);
}

/// Redis's `XREAD` shape in RESP3 is a map from stream to entries.
#[test]
fn xread_resp3_is_a_map() {
    let mut t = T::new();
    t.run("XADD s 1-1 f v");
    let argv = split("XREAD STREAMS s 0");
    let mut events = Events::default();
    let mut locked = t.store.lock_all();
    let mut ctx = Ctx::new(&mut locked, &mut events, 0, T0);
    ctx.proto = kevy_resp::Protocol::Resp3;
    let r = crate::store::run(&mut ctx, crate::cmd::lookup(b"xread").unwrap(), &argv);
    let mut wire = Vec::new();
    kevy_resp::encode(&r, kevy_resp::Protocol::Resp3, &mut wire);
    assert_eq!(
        String::from_utf8_lossy(&wire),
        "%1\r\n$1\r\ns\r\n*1\r\n*2\r\n$3\r\n1-1\r\n*2\r\n$1\r\nf\r\n$1\r\nv\r\n"
    );
}

#[test]
fn writes_log_their_deterministic_form() {
    let mut t = T::new();
    let rec = t.record();
    t.run("XADD s * f v");
    t.run("XADD s 5-* f v");
    t.run("XADD s NOMKSTREAM MAXLEN ~ 0 * f v");
    t.run("XADD nokey NOMKSTREAM * f v");
    assert_eq!(
        rec.lines(),
        [
            "XADD s 1700000000000-0 f v",
            // 5-* after 1700000000000-0 fails: nothing logged.
            // The node holding both entries goes whole, the new one too.
            "XADD s NOMKSTREAM MAXLEN = 0 1700000000000-1 f v",
        ]
    );
    for i in 0..250 {
        t.run(&format!("XADD big 1-{i} f v"));
    }
    rec.take();
    t.check(&[("XTRIM big MAXLEN ~ 10", ":200")]);
    t.check(&[("XTRIM big MINID ~ 1-249", ":0")]);
    assert_eq!(rec.lines(), ["XTRIM big MAXLEN = 50"]);
    t.run("XGROUP CREATE big g 1-247");
    rec.take();
    t.run("XREADGROUP GROUP g alice STREAMS big >");
    assert_eq!(
        rec.lines(),
        [
            "XGROUP CREATECONSUMER big g alice",
            "XCLAIM big g alice 0 1-248 TIME 1700000000000 RETRYCOUNT 1 FORCE JUSTID LASTID 1-249",
            "XCLAIM big g alice 0 1-249 TIME 1700000000000 RETRYCOUNT 1 FORCE JUSTID LASTID 1-249",
            "XGROUP SETID big g 1-249 ENTRIESREAD 250",
        ]
    );
    t.now += 1000;
    t.run("XDEL big 1-249");
    rec.take();
    t.check(&[(
        "XAUTOCLAIM big g bob 0 0 JUSTID",
        "*3\r\n$3\r\n0-0\r\n*1\r\n$5\r\n1-248\r\n*1\r\n$5\r\n1-249",
    )]);
    assert_eq!(
        rec.lines(),
        [
            "XGROUP CREATECONSUMER big g bob",
            "XCLAIM big g bob 0 1-248 TIME 1700000001000 RETRYCOUNT 1 FORCE JUSTID LASTID 1-249",
            "XCLAIM big g alice 0 1-249 TIME 1700000000000 RETRYCOUNT 1 FORCE JUSTID LASTID 1-249",
        ]
    );
    t.run("XREADGROUP GROUP g bob NOACK STREAMS big >");
    t.run("XADD big 2-0 f v");
    rec.take();
    t.run("XREADGROUP GROUP g bob NOACK STREAMS big >");
    assert_eq!(rec.lines(), ["XGROUP SETID big g 2-0 ENTRIESREAD 251"]);
}

/// Every live key of every shard of `s`, in key order.
fn dump(s: &Store) -> Vec<(Vec<u8>, Value)> {
    let mut out: Vec<(Vec<u8>, Value)> = s
        .snapshot()
        .into_iter()
        .flat_map(|v| {
            v.dbs[0]
                .iter()
                .map(|(k, e)| (k.bytes().to_vec(), e.value.clone()))
                .collect::<Vec<_>>()
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

#[test]
fn replaying_the_log_rebuilds_groups_and_pending_entries() {
    let mut t = T::new();
    let rec = t.record();
    let script = [
        "XADD s * a 1",
        "XADD s 1700000000100-0 a 2 b 3",
        "XADD s MAXLEN ~ 5 1700000000100-* a 4",
        "XGROUP CREATE s g 0",
        "XGROUP CREATE s h $ MKSTREAM",
        "XGROUP CREATE other g $ MKSTREAM",
        "XREADGROUP GROUP g alice COUNT 1 STREAMS s >",
        "XREADGROUP GROUP g bob STREAMS s >",
        "XREADGROUP GROUP g alice STREAMS s 0",
        "XCLAIM s g carol 0 1700000000100-0 IDLE 500",
        "XDEL s 1700000000010-0",
        "XADD s 1700000000200-0 c 1",
        "XADD s 1700000000300-0 c 2",
        "XREADGROUP GROUP h alice STREAMS s >",
        // Pending entries whose entries go: one deleted above the first
        // live entry, one trimmed below it.
        "XDEL s 1700000000200-0",
        "XTRIM s MINID 1700000000100-1",
        "XGROUP CREATECONSUMER s g erin",
        "XGROUP SETID s h 0 ENTRIESREAD 1",
        "XREADGROUP GROUP h frank NOACK STREAMS s >",
        "XSETID s 1800000000000-0 ENTRIESADDED 9 MAXDELETEDID 1700000000200-0",
        "XADD s * z 9",
        "XAUTOCLAIM s g dave 0 0 COUNT 1",
        "XACK s g 1700000000100-1",
    ];
    for (i, line) in script.iter().enumerate() {
        t.now += 10 + i as u64;
        let r = t.run(line);
        assert!(!r.starts_with('-'), "{line}: {r}");
    }
    // Both pending entries left are of entries gone: 100-0 trimmed, 200-0
    // deleted (redis-server 7.0.15 agrees).
    t.check(&[
        (
            "XPENDING s g",
            "*4\r\n:1\r\n$15\r\n1700000000100-0\r\n$15\r\n1700000000100-0\r\n*1\r\n*2\r\n$5\r\ncarol\r\n$1\r\n1",
        ),
        (
            "XPENDING s h",
            "*4\r\n:2\r\n$15\r\n1700000000200-0\r\n$15\r\n1700000000300-0\r\n*1\r\n*2\r\n$5\r\nalice\r\n$1\r\n2",
        ),
    ]);
    let replayed = Store::new(4, 16);
    for (_, db, line) in rec.take() {
        let r = replayed.replay(None, db, &split(&line), t.now + 1000);
        assert!(!resp2(&r).starts_with('-'), "{line}: {}", resp2(&r));
    }
    assert_eq!(dump(&t.store), dump(&replayed));
    // The restore commands (a cross-shard RENAME, an AOF rewrite) rebuild
    // the same value too.
    let rebuilt = Store::new(1, 1);
    for (k, v) in dump(&t.store) {
        for cmd in v.restore_commands(&k) {
            let argv: Vec<Bytes> = cmd.into_iter().map(Bytes::from).collect();
            let r = rebuilt.replay(None, 0, &argv, t.now);
            assert!(!resp2(&r).starts_with('-'), "{argv:?}: {}", resp2(&r));
        }
    }
    // Pending entries of deleted entries included (seen-times aside).
    assert_eq!(dump(&t.store), dump(&rebuilt));
}

#[test]
fn keyspace_events() {
    let mut t = T::new();
    assert_eq!(t.events("XADD s 1-1 f v"), ["0:xadd:s"]);
    assert_eq!(
        t.events("XADD s MAXLEN 0 1-2 f v"),
        ["0:xadd:s", "0:xtrim:s"]
    );
    t.run("XADD s 1-3 f v");
    assert_eq!(t.events("XTRIM s MAXLEN 0"), ["0:xtrim:s"]);
    t.run("XADD s 1-4 f v");
    assert_eq!(t.events("XDEL s 1-4"), ["0:xdel:s"]);
    assert_eq!(t.events("XGROUP CREATE s g $"), ["0:xgroup-create:s"]);
    assert_eq!(
        t.events("XGROUP CREATECONSUMER s g c"),
        ["0:xgroup-createconsumer:s"]
    );
    assert_eq!(t.events("XGROUP SETID s g 0"), ["0:xgroup-setid:s"]);
    assert_eq!(
        t.events("XGROUP DELCONSUMER s g c"),
        ["0:xgroup-delconsumer:s"]
    );
    assert_eq!(t.events("XGROUP DESTROY s g"), ["0:xgroup-destroy:s"]);
    assert_eq!(t.events("XSETID s 5-5"), ["0:xsetid:s"]);
    assert!(t.events("XTRIM s MAXLEN 0").is_empty());
}

/// Runs `line` as a server connection would (blocking allowed) and
/// returns the reply and the block request.
fn run_blocking(t: &T, line: &str, may_block: bool) -> (String, Option<crate::ctx::BlockRequest>) {
    let argv = split(line);
    let cmd = crate::cmd::lookup(&argv[0]).unwrap();
    let mut events = Events::default();
    let mut locked = t.store.lock_all();
    let mut ctx = Ctx::new(&mut locked, &mut events, 0, t.now);
    ctx.may_block = may_block;
    let r = crate::store::run(&mut ctx, cmd, &argv);
    (resp2(&r), ctx.take_block())
}

#[test]
fn blocking_reads_resolve_dollar_when_they_block() {
    let mut t = T::new();
    t.run("XADD s 5-1 f v");
    let (r, b) = run_blocking(&t, "XREAD BLOCK 100 STREAMS s nokey $ $", true);
    assert_eq!(r, "*-1\r\n");
    let b = b.expect("blocks");
    assert_eq!(b.deadline_ms, T0 + 100);
    let again: Vec<String> = b
        .argv
        .unwrap()
        .iter()
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect();
    assert_eq!(
        again,
        ["XREAD", "BLOCK", "100", "STREAMS", "s", "nokey", "5-1", "0-0"]
    );
    // Inside MULTI a blocking read answers at once.
    let (r, b) = run_blocking(&t, "XREAD BLOCK 0 STREAMS s $", false);
    assert_eq!((r.as_str(), b.is_none()), ("*-1\r\n", true));
    t.check(&[
        ("XREAD BLOCK -1 STREAMS s $", "-ERR timeout is negative"),
        (
            "XREAD BLOCK x STREAMS s $",
            "-ERR timeout is not an integer or out of range",
        ),
        // Redis 7.0 lets this deadline overflow; kevy refuses it as 7.2 does.
        (
            "XREAD BLOCK 9223372036854775807 STREAMS s $",
            "-ERR timeout is out of range",
        ),
    ]);
}

#[test]
fn big_ranges_stream_the_same_bytes() {
    let mut t = T::new();
    for i in 0..20_000 {
        t.run(&format!("XADD s 1-{i} field{} value-{i}", i % 3));
    }
    t.run("XDEL s 1-5 1-19999");
    for line in [
        "XRANGE s - +",
        "XREVRANGE s + - COUNT 17000",
        "XRANGE s 1-100 +",
    ] {
        let argv = split(line);
        let cmd = crate::cmd::lookup(&argv[0]).unwrap();
        let mut events = Events::default();
        let mut locked = t.store.lock_all();
        let mut ctx = Ctx::new(&mut locked, &mut events, 0, T0);
        ctx.stream_replies = true;
        let streamed = crate::store::run(&mut ctx, cmd, &argv);
        ctx.stream_replies = false;
        let eager = crate::store::run(&mut ctx, cmd, &argv);
        assert!(
            matches!(streamed, kevy_resp::Reply::Stream(_)),
            "{line} streams"
        );
        assert!(matches!(eager, kevy_resp::Reply::Array(_)));
        let (mut a, mut b) = (Vec::new(), Vec::new());
        kevy_resp::encode(&streamed, kevy_resp::Protocol::Resp2, &mut a);
        kevy_resp::encode(&eager, kevy_resp::Protocol::Resp2, &mut b);
        assert!(a == b, "{line}: streamed bytes differ");
    }
}

/// An approximate MINID trim that empties the stream is logged as a trim
/// past the last ID: Redis logs the first ID, 0-0 by then, which trims
/// nothing on replay (found by the `commands` fuzz target).
#[test]
fn approximate_minid_trim_that_empties_the_stream_replays() {
    let mut t = T::new();
    t.run("XADD s 1-1 f v");
    t.run("XADD s 1-2 f w");
    let rec = t.record();
    t.check(&[
        ("XTRIM s MINID ~ 9", ":2"),
        ("XADD s MINID ~ 99 5-0 f v", "$3\r\n5-0"),
    ]);
    assert_eq!(
        rec.lines(),
        ["XTRIM s MINID = 1-3", "XADD s MINID = 5-1 5-0 f v"]
    );
    t.check(&[("XLEN s", ":0")]);
}
