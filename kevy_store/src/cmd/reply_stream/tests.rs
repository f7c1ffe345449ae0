//! Streamed replies against eager ones: the same bytes for ordered
//! collections (whatever the chunk size), the same members for sets and
//! hashes, and a snapshot's content whatever is written after the command.

use super::*;
use crate::cmd::testutil::{split, T, T0};
use crate::ctx::{Ctx, Events};
use bytes::Bytes;
use kevy_resp::{encode, encode_deferred};

/// Runs `line` as a connection speaking `proto` would, with or without
/// streamed replies.
fn run(t: &T, line: &str, proto: Protocol, stream_ok: bool) -> Reply {
    run_at(t, line, proto, stream_ok, T0)
}

/// [`run`] at time `now`.
fn run_at(t: &T, line: &str, proto: Protocol, stream_ok: bool, now: u64) -> Reply {
    let argv = split(line);
    let Some(cmd) = crate::cmd::lookup(&argv[0]) else {
        panic!("unknown command {line}")
    };
    let mut events = Events::default();
    let mut locked = t.store.lock_all();
    let mut ctx = Ctx::new(&mut locked, &mut events, 0, now);
    ctx.proto = proto;
    ctx.stream_replies = stream_ok;
    crate::store::run(&mut ctx, cmd, &argv)
}

/// The bytes a connection sends for `r`: streamed parts in chunks of
/// about `budget` bytes.
fn wire(r: &Reply, proto: Protocol, budget: usize) -> Vec<u8> {
    let mut plain = Vec::new();
    let mut parts = Vec::new();
    encode_deferred(r, proto, &mut plain, &mut |at, c| parts.push((at, c)));
    let (mut out, mut pos) = (Vec::new(), 0);
    for (at, mut c) in parts {
        out.extend_from_slice(&plain[pos..at]);
        pos = at;
        while !c.next_chunk(&mut out, budget) {}
    }
    out.extend_from_slice(&plain[pos..]);
    out
}

fn eager_bytes(r: &Reply, proto: Protocol) -> Vec<u8> {
    let mut out = Vec::new();
    encode(r, proto, &mut out);
    out
}

/// A store with a list `l`, sorted sets `z` (distinct scores) and `zl`
/// (equal scores, for BYLEX), a set `s` and a hash `h`, each holding
/// `n` entries.
fn filled(n: usize) -> T {
    let t = T::new();
    let mut rpush = vec![Bytes::from("RPUSH"), Bytes::from("l")];
    let mut zadd = vec![Bytes::from("ZADD"), Bytes::from("z")];
    let mut zlex = vec![Bytes::from("ZADD"), Bytes::from("zl")];
    let mut sadd = vec![Bytes::from("SADD"), Bytes::from("s")];
    let mut hset = vec![Bytes::from("HSET"), Bytes::from("h")];
    for i in 0..n {
        let m = Bytes::from(format!("m{i:06}"));
        rpush.push(Bytes::from(format!("e{i}")));
        zadd.extend([Bytes::from(format!("{}", i as f64 / 7.0)), m.clone()]);
        zlex.extend([Bytes::from("0"), m.clone()]);
        sadd.push(m.clone());
        hset.extend([m, Bytes::from(format!("v{i}"))]);
    }
    for argv in [rpush, zadd, zlex, sadd, hset] {
        let (r, _) = t.store.execute(0, &argv, T0);
        assert!(!r.is_error(), "{r:?}");
    }
    t
}

#[test]
fn ordered_replies_stream_the_eager_bytes() {
    let n = STREAM_MIN_ITEMS + 100;
    let t = filled(n);
    let lines = [
        "LRANGE l 0 -1",
        "LRANGE l 7 -5",
        "LRANGE l -100000 100000",
        "ZRANGE z 0 -1",
        "ZRANGE z 0 -1 WITHSCORES",
        "ZRANGE z 3 -2 REV WITHSCORES",
        "ZREVRANGE z 0 -1 WITHSCORES",
        "ZRANGEBYSCORE z -inf +inf WITHSCORES LIMIT 3 16400",
        "ZREVRANGEBYSCORE z +inf (1 WITHSCORES",
        "ZRANGE z +inf (2 BYSCORE REV",
        "ZRANGEBYLEX zl - + LIMIT 2 16420",
        "ZREVRANGEBYLEX zl + (m000010",
        "ZUNION 2 z zl WITHSCORES",
        "ZINTER 2 z zl WEIGHTS 1 2",
        "ZDIFF 1 z WITHSCORES",
    ];
    for proto in [Protocol::Resp2, Protocol::Resp3] {
        for line in lines {
            let eager = run(&t, line, proto, false);
            let streamed = run(&t, line, proto, true);
            assert!(
                matches!(streamed, Reply::Stream(_)),
                "{line} did not stream"
            );
            let want = eager_bytes(&eager, proto);
            for budget in [1, 1000, 64 << 10] {
                assert!(
                    wire(&streamed, proto, budget) == want,
                    "{proto:?} {line} {budget}"
                );
            }
        }
    }
    // Small replies stay eager.
    let r = run(&t, "LRANGE l 0 99", Protocol::Resp2, true);
    assert!(matches!(r, Reply::Array(ref v) if v.len() == 100));
}

/// Set and hash members come in entry order when streamed, map order
/// when eager: the same members, counted the same.
#[test]
fn unordered_replies_stream_the_same_members() {
    let t = filled(STREAM_MIN_ITEMS + 10);
    let mut sadd = vec![Bytes::from("SADD"), Bytes::from("s2")];
    sadd.extend((0..STREAM_MIN_ITEMS + 10).map(|i| Bytes::from(format!("m{:06}", i + 5))));
    t.store.execute(0, &sadd, T0);
    let mut sadd = vec![Bytes::from("SADD"), Bytes::from("s3")];
    sadd.extend((0..STREAM_MIN_ITEMS + 10).map(|i| Bytes::from(format!("x{i}"))));
    t.store.execute(0, &sadd, T0);
    for proto in [Protocol::Resp2, Protocol::Resp3] {
        for line in [
            "SMEMBERS s",
            "HKEYS h",
            "HVALS h",
            "HGETALL h",
            "SINTER s s2",
            "SUNION s s2",
            "SDIFF s3 s",
        ] {
            let eager = run(&t, line, proto, false);
            let Reply::Stream(s) = run(&t, line, proto, true) else {
                panic!("{line} did not stream")
            };
            let (mut a, mut b) = (flat(&eager), flat(&s.to_reply()));
            assert_eq!(a.len(), b.len(), "{line}");
            a.sort();
            b.sort();
            assert!(a == b, "{line}");
            let mut header = Vec::new();
            s.header(proto, &mut header);
            assert!(eager_bytes(&eager, proto).starts_with(&header), "{line}");
        }
    }
}

/// Items of an aggregate (pairs for a map) as encoded bytes.
fn flat(r: &Reply) -> Vec<Vec<u8>> {
    match r {
        Reply::Array(v) | Reply::Set(v) => {
            v.iter().map(|x| eager_bytes(x, Protocol::Resp3)).collect()
        }
        Reply::Map(v) => v
            .iter()
            .map(|(k, x)| {
                [
                    eager_bytes(k, Protocol::Resp3),
                    eager_bytes(x, Protocol::Resp3),
                ]
                .concat()
            })
            .collect(),
        other => panic!("not an aggregate: {other:?}"),
    }
}

/// Writes after the command never show in its streamed reply.
#[test]
fn a_stream_reads_a_snapshot() {
    for line in ["LRANGE l 0 -1", "ZRANGE z 0 -1 WITHSCORES"] {
        let t = filled(STREAM_MIN_ITEMS);
        let want = eager_bytes(&run(&t, line, Protocol::Resp3, false), Protocol::Resp3);
        let streamed = run(&t, line, Protocol::Resp3, true);
        for w in [
            "LSET l 0 changed",
            "RPUSH l more",
            "ZADD z -1 first",
            "ZREM z m000005",
        ] {
            assert!(!run(&t, w, Protocol::Resp3, false).is_error(), "{w}");
        }
        assert!(wire(&streamed, Protocol::Resp3, 4096) == want, "{line}");
        run(&t, "DEL l z", Protocol::Resp3, false);
        assert!(
            wire(&streamed, Protocol::Resp3, 4096) == want,
            "{line} after DEL"
        );
    }
}

/// A list of few but big elements streams by its estimated size.
#[test]
fn big_elements_stream_by_size() {
    let t = T::new();
    let big = Bytes::from(vec![b'x'; 256 << 10]);
    let mut argv = vec![Bytes::from("RPUSH"), Bytes::from("l")];
    argv.extend(std::iter::repeat_n(big, 40));
    t.store.execute(0, &argv, T0);
    let r = run(&t, "LRANGE l 0 -1", Protocol::Resp2, true);
    assert!(matches!(r, Reply::Stream(ref s) if s.len() == 40));
    let r = run(&t, "LRANGE l 0 9", Protocol::Resp2, true);
    assert!(matches!(r, Reply::Array(ref v) if v.len() == 10));
}

/// KEYS merges the shards' snapshots in the eager reply's order, with the
/// pattern and the command's clock applied as it streams.
#[test]
fn keys_streams_the_eager_bytes() {
    let t = T::new();
    let n = STREAM_MIN_ITEMS + 4000;
    let mut mset = vec![Bytes::from("MSET")];
    for i in 0..n {
        mset.extend([Bytes::from(format!("k{i}")), Bytes::from("v")]);
    }
    t.store.execute(0, &mset, T0);
    for i in 0..300 {
        let argv = split(&format!("SET k{i} v PX 50"));
        t.store.execute(0, &argv, T0);
    }
    let later = T0 + 100;
    for line in ["KEYS *", "KEYS k*", "KEYS *[0-8]"] {
        let eager = run_at(&t, line, Protocol::Resp2, false, later);
        let streamed = run_at(&t, line, Protocol::Resp2, true, later);
        let Reply::Stream(s) = &streamed else {
            panic!("{line} did not stream")
        };
        let want = eager_bytes(&eager, Protocol::Resp2);
        // A fresh walk (encode_all) and a chunked one give the same bytes.
        let mut all = Vec::new();
        s.encode_all(Protocol::Resp2, &mut all);
        assert!(all == want, "{line}");
        run_at(&t, "DEL k5 k6 k7", Protocol::Resp2, false, later);
        for budget in [1, 777, 64 << 10] {
            assert!(
                wire(&streamed, Protocol::Resp2, budget) == want,
                "{line} {budget}"
            );
        }
        // Two cursors taking turns: each chunk starts where the other's
        // did not stop, so each walks to its own position first.
        let (mut a, mut b) = (s.cursor(Protocol::Resp2), s.cursor(Protocol::Resp2));
        let (mut out_a, mut out_b) = (Vec::new(), Vec::new());
        s.header(Protocol::Resp2, &mut out_a);
        s.header(Protocol::Resp2, &mut out_b);
        loop {
            let done_a = a.next_chunk(&mut out_a, 50_000);
            let done_b = b.next_chunk(&mut out_b, 30_000);
            if done_a && done_b {
                break;
            }
        }
        assert!(
            out_a == want && out_b == want,
            "{line}: alternating cursors"
        );
    }
    // Few matches: eager.
    let r = run_at(&t, "KEYS k12345*", Protocol::Resp2, true, later);
    assert!(matches!(r, Reply::Array(ref v) if v.len() == 1), "{r:?}");
}

/// Random picks with repetition: as many as asked, each one a real member
/// (with its own value or score), the same bytes however the reply is cut.
#[test]
fn random_picks_stream() {
    let t = filled(100);
    let count = STREAM_MIN_ITEMS + 7;
    for proto in [Protocol::Resp2, Protocol::Resp3] {
        for (line, pairs) in [
            (format!("SRANDMEMBER s -{count}"), false),
            (format!("HRANDFIELD h -{count}"), false),
            (format!("HRANDFIELD h -{count} WITHVALUES"), true),
            (format!("ZRANDMEMBER z -{count}"), false),
            (format!("ZRANDMEMBER z -{count} WITHSCORES"), true),
        ] {
            let Reply::Stream(s) = run(&t, &line, proto, true) else {
                panic!("{line} did not stream")
            };
            let whole = wire(&Reply::Stream(s.clone()), proto, usize::MAX);
            assert!(
                wire(&Reply::Stream(s.clone()), proto, 100) == whole,
                "{line}"
            );
            let Reply::Array(items) = s.to_reply() else {
                panic!("{line}: not an array")
            };
            let n = count
                * if pairs && proto == Protocol::Resp2 {
                    2
                } else {
                    1
                };
            assert!(whole.starts_with(format!("*{n}\r\n").as_bytes()), "{line}");
            // `to_reply` reads the RESP3 form: pairs nest.
            let flat: Vec<Reply> = if pairs {
                assert_eq!(items.len(), count, "{line}");
                items
                    .into_iter()
                    .flat_map(|p| match p {
                        Reply::Array(v) if v.len() == 2 => v,
                        other => panic!("{line}: not a pair: {other:?}"),
                    })
                    .collect()
            } else {
                items
            };
            assert_eq!(flat.len(), count * if pairs { 2 } else { 1 }, "{line}");
            let per = if pairs { 2 } else { 1 };
            for pick in flat.chunks(per) {
                let Reply::Bulk(m) = &pick[0] else {
                    panic!("{line}: {pick:?}")
                };
                let i: usize = std::str::from_utf8(&m[1..]).unwrap().parse().unwrap();
                assert!(i < 100, "{line}: {m:?}");
                if pairs {
                    let want = if line.starts_with('H') {
                        Reply::bulk(format!("v{i}").as_bytes())
                    } else {
                        Reply::Double(i as f64 / 7.0)
                    };
                    let got = match (&pick[1], &want) {
                        // RESP2 sends a score as a bulk string.
                        (Reply::Bulk(b), Reply::Double(_)) => {
                            Reply::Double(std::str::from_utf8(b).unwrap().parse().unwrap())
                        }
                        (g, _) => g.clone(),
                    };
                    assert_eq!(got, want, "{line}");
                }
            }
        }
    }
}
