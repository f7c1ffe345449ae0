//! Streamed replies for the big multi-element readers (LRANGE, the ZRANGE
//! family, SMEMBERS, HGETALL/HKEYS/HVALS). Past [`STREAM_MIN_ITEMS`] items
//! (or, for a list, an estimated [`STREAM_MIN_BYTES`]), and only when the
//! caller can write streams (`Ctx::stream_replies`, set by the server), a
//! handler returns a [`Reply::Stream`] holding an O(1) clone of the
//! collection (a frozen snapshot: later writes copy the chunks they touch and
//! never show through) plus the range, instead of building every element.
//! The connection then encodes it in bounded chunks as its socket drains.
//!
//! The bytes are exactly those of the eager reply for lists and sorted sets.
//! A big set or hash (hashtable encoding, whose order is unspecified) is
//! walked by entry number rather than in map order.

use crate::types::{HashValue, ListValue, SetValue, ZSetValue};
use kevy_resp::{
    encode_array_header, encode_bulk, encode_double, encode_map_header, encode_set_header,
    Protocol, Reply, ReplySource, Streamed,
};

/// Replies with at least this many items are streamed.
pub(crate) const STREAM_MIN_ITEMS: usize = 16 * 1024;

/// A list range estimated at this many bytes or more is streamed, however
/// few its elements.
pub(crate) const STREAM_MIN_BYTES: usize = 8 << 20;

/// True when a reply of `n` items should be streamed, `stream_ok` being
/// the command's `Ctx::stream_replies`.
pub(crate) fn wanted(stream_ok: bool, n: usize) -> bool {
    stream_ok && n >= STREAM_MIN_ITEMS
}

/// `LRANGE`: positions `start..end` of a list, or None when the range is
/// small enough to reply eagerly.
pub(crate) fn list_range(
    stream_ok: bool,
    l: &ListValue,
    r: std::ops::Range<usize>,
) -> Option<Reply> {
    let n = r.len();
    if !stream_ok || n < 2 {
        return None;
    }
    let big = n >= STREAM_MIN_ITEMS || estimated_bytes(l, &r) >= STREAM_MIN_BYTES;
    big.then(|| {
        Reply::Stream(Streamed::new(ListRange {
            list: l.clone(),
            start: r.start,
            end: r.end,
        }))
    })
}

/// The reply size of positions `r` of `l`, extrapolated from at most 16
/// evenly spaced elements (O(log n) each).
fn estimated_bytes(l: &ListValue, r: &std::ops::Range<usize>) -> usize {
    let n = r.len();
    let k = n.min(16);
    let sampled: usize = (0..k)
        .filter_map(|j| l.get((r.start + j * n / k) as i64))
        .map(|s| s.len() + 16)
        .sum();
    (sampled / k.max(1)).saturating_mul(n)
}

/// Members (and scores) of ranks `start..end` of a sorted set, walked
/// backwards when `rev`, as `items_reply` would build them.
pub(crate) fn zset_range(
    z: &ZSetValue,
    start: usize,
    end: usize,
    rev: bool,
    withscores: bool,
) -> Reply {
    Reply::Stream(Streamed::new(ZRangeItems {
        z: z.clone(),
        start,
        end,
        rev,
        withscores,
    }))
}

/// SMEMBERS of a big set.
pub(crate) fn set_members(s: &SetValue) -> Reply {
    Reply::Stream(Streamed::new(SetMembers(s.clone())))
}

/// What of a hash's pairs a reply lists.
#[derive(Clone, Copy)]
pub(crate) enum HashPart {
    /// HKEYS.
    Fields,
    /// HVALS.
    Values,
    /// HGETALL (a map).
    Pairs,
}

/// HKEYS, HVALS or HGETALL of a big hash.
pub(crate) fn hash_fields(h: &HashValue, part: HashPart) -> Reply {
    Reply::Stream(Streamed::new(HashFields { h: h.clone(), part }))
}

/// Calls `item(i, out)` for `i` from `at` until `end` or until `out` grew
/// by `budget` bytes; returns the next `i`.
fn fill(
    at: usize,
    end: usize,
    out: &mut Vec<u8>,
    budget: usize,
    mut item: impl FnMut(usize, &mut Vec<u8>),
) -> usize {
    let base = out.len();
    let mut i = at;
    while i < end {
        item(i, out);
        i += 1;
        if out.len() - base >= budget {
            break;
        }
    }
    i
}

struct ListRange {
    list: ListValue,
    start: usize,
    end: usize,
}

impl ReplySource for ListRange {
    fn len(&self) -> usize {
        self.end - self.start
    }

    fn header(&self, _: Protocol, out: &mut Vec<u8>) {
        encode_array_header(out, self.len());
    }

    fn encode_from(&self, at: usize, _: Protocol, out: &mut Vec<u8>, budget: usize) -> usize {
        // One narrowed focus per chunk: O(log n) to find the first element,
        // then sequential.
        let mut items = self.list.range(self.start + at..self.end);
        fill(at, self.len(), out, budget, |_, out| {
            if let Some(s) = items.next() {
                encode_bulk(out, s);
            }
        })
    }
}

struct ZRangeItems {
    z: ZSetValue,
    start: usize,
    end: usize,
    rev: bool,
    withscores: bool,
}

impl ReplySource for ZRangeItems {
    fn len(&self) -> usize {
        self.end - self.start
    }

    fn header(&self, proto: Protocol, out: &mut Vec<u8>) {
        // RESP2 flattens member, score; RESP3 nests [member, score] pairs.
        let flat = self.withscores && proto == Protocol::Resp2;
        encode_array_header(out, self.len() * if flat { 2 } else { 1 });
    }

    fn encode_from(&self, at: usize, proto: Protocol, out: &mut Vec<u8>, budget: usize) -> usize {
        let mut items = if self.rev {
            self.z.range(self.start, self.end - at, true)
        } else {
            self.z.range(self.start + at, self.end, false)
        };
        fill(at, self.len(), out, budget, |_, out| {
            let Some(it) = items.next() else { return };
            if self.withscores && proto == Protocol::Resp3 {
                encode_array_header(out, 2);
            }
            encode_bulk(out, &it.member);
            if self.withscores {
                encode_double(out, it.score, proto);
            }
        })
    }
}

struct SetMembers(SetValue);

impl ReplySource for SetMembers {
    fn len(&self) -> usize {
        self.0.len()
    }

    fn header(&self, proto: Protocol, out: &mut Vec<u8>) {
        encode_set_header(out, self.len(), proto);
    }

    fn encode_from(&self, at: usize, _: Protocol, out: &mut Vec<u8>, budget: usize) -> usize {
        fill(at, self.len(), out, budget, |i, out| {
            if let Some(m) = self.0.at(i) {
                encode_bulk(out, &m);
            }
        })
    }
}

struct HashFields {
    h: HashValue,
    part: HashPart,
}

impl ReplySource for HashFields {
    fn len(&self) -> usize {
        self.h.len()
    }

    fn header(&self, proto: Protocol, out: &mut Vec<u8>) {
        match self.part {
            HashPart::Pairs => encode_map_header(out, self.len(), proto),
            _ => encode_array_header(out, self.len()),
        }
    }

    fn encode_from(&self, at: usize, _: Protocol, out: &mut Vec<u8>, budget: usize) -> usize {
        fill(at, self.len(), out, budget, |i, out| {
            let Some((k, v)) = self.h.at(i) else { return };
            match self.part {
                HashPart::Fields => encode_bulk(out, k),
                HashPart::Values => encode_bulk(out, v),
                HashPart::Pairs => {
                    encode_bulk(out, k);
                    encode_bulk(out, v);
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cmd::testutil::{split, T, T0};
    use crate::ctx::{Ctx, Events};
    use bytes::Bytes;
    use kevy_resp::{encode, encode_deferred};

    /// Runs `line` as a connection speaking `proto` would, with or without
    /// streamed replies.
    fn run(t: &T, line: &str, proto: Protocol, stream_ok: bool) -> Reply {
        let argv = split(line);
        let Some(cmd) = crate::cmd::lookup(&argv[0]) else {
            panic!("unknown command {line}")
        };
        let mut events = Events::default();
        let mut locked = t.store.lock_all();
        let mut ctx = Ctx::new(&mut locked, &mut events, 0, T0);
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
        for proto in [Protocol::Resp2, Protocol::Resp3] {
            for line in ["SMEMBERS s", "HKEYS h", "HVALS h", "HGETALL h"] {
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
}
