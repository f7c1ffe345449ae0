//! Streamed replies for the big multi-element readers (LRANGE, the ZRANGE
//! family, SMEMBERS, HGETALL/HKEYS/HVALS; KEYS in `keys.rs`, random picks in
//! `random.rs`). Past [`STREAM_MIN_ITEMS`] items (or, for a list, an
//! estimated [`STREAM_MIN_BYTES`]), and only when the caller can write
//! streams (`Ctx::stream_replies`, set by the server), a handler returns a
//! [`Reply::Stream`] holding an O(1) clone of the collection (a frozen
//! snapshot: later writes copy the chunks they touch and never show
//! through) plus the range, instead of building every element. The
//! connection then encodes it in bounded chunks as its socket drains.
//! Computed results (SINTER/SUNION/SDIFF, ZUNION/ZINTER/ZDIFF, SORT) stream from
//! the result itself: it is in memory anyway, but its copies as a reply
//! tree and as one encoded buffer are not.
//!
//! The bytes are exactly those of the eager reply for lists and sorted sets.
//! A big set or hash (hashtable encoding, whose order is unspecified) is
//! walked by entry number rather than in map order.

use crate::kstr::KStr;
use crate::types::zset::Item;
use crate::types::{HashValue, ListValue, SetValue, ZSetValue};
pub(crate) mod keys;
mod random;
pub(crate) use random::{random_picks, Pool};

use kevy_resp::{
    encode_array_header, encode_bulk, encode_double, encode_map_header, encode_nil,
    encode_set_header, Protocol, Reply, ReplySource, Streamed,
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

/// A computed, ordered sorted-set result as `items_reply` would build it.
pub(crate) fn zset_items(items: Vec<Item>, withscores: bool) -> Reply {
    Reply::Stream(Streamed::new(Items { items, withscores }))
}

/// SMEMBERS of a big set.
pub(crate) fn set_members(s: &SetValue) -> Reply {
    Reply::Stream(Streamed::new(SetMembers(s.clone())))
}

/// A computed list of members (SINTER's result) as a set reply.
pub(crate) fn members(v: Vec<KStr>) -> Reply {
    Reply::Stream(Streamed::new(Members(v)))
}

/// A computed array of bulk strings and nils (SORT's result).
pub(crate) fn bulks(v: Vec<Option<KStr>>) -> Reply {
    Reply::Stream(Streamed::new(Bulks(v)))
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
            if let Some(it) = items.next() {
                encode_item(out, proto, it, self.withscores);
            }
        })
    }
}

/// One member (and its score) of a sorted-set reply, as `items_reply`
/// builds it: `[member, score]` in RESP3, flat in RESP2.
fn encode_item(out: &mut Vec<u8>, proto: Protocol, it: &Item, withscores: bool) {
    if withscores && proto == Protocol::Resp3 {
        encode_array_header(out, 2);
    }
    encode_bulk(out, &it.member);
    if withscores {
        encode_double(out, it.score, proto);
    }
}

/// A computed sorted-set result (ZUNION, ZINTER, ZDIFF), in order.
struct Items {
    items: Vec<Item>,
    withscores: bool,
}

impl ReplySource for Items {
    fn len(&self) -> usize {
        self.items.len()
    }

    fn header(&self, proto: Protocol, out: &mut Vec<u8>) {
        let flat = self.withscores && proto == Protocol::Resp2;
        encode_array_header(out, self.len() * if flat { 2 } else { 1 });
    }

    fn encode_from(&self, at: usize, proto: Protocol, out: &mut Vec<u8>, budget: usize) -> usize {
        fill(at, self.len(), out, budget, |i, out| {
            if let Some(it) = self.items.get(i) {
                encode_item(out, proto, it, self.withscores);
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

struct Members(Vec<KStr>);

impl ReplySource for Members {
    fn len(&self) -> usize {
        self.0.len()
    }

    fn header(&self, proto: Protocol, out: &mut Vec<u8>) {
        encode_set_header(out, self.len(), proto);
    }

    fn encode_from(&self, at: usize, _: Protocol, out: &mut Vec<u8>, budget: usize) -> usize {
        fill(at, self.len(), out, budget, |i, out| {
            if let Some(m) = self.0.get(i) {
                encode_bulk(out, m);
            }
        })
    }
}

struct Bulks(Vec<Option<KStr>>);

impl ReplySource for Bulks {
    fn len(&self) -> usize {
        self.0.len()
    }

    fn header(&self, _: Protocol, out: &mut Vec<u8>) {
        encode_array_header(out, self.len());
    }

    fn encode_from(&self, at: usize, proto: Protocol, out: &mut Vec<u8>, budget: usize) -> usize {
        fill(at, self.len(), out, budget, |i, out| match self.0.get(i) {
            Some(Some(m)) => encode_bulk(out, m),
            _ => encode_nil(out, proto),
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
mod tests;
