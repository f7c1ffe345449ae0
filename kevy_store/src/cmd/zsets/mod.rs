//! Sorted-set commands. `basic.rs` holds the per-member commands (ZADD,
//! ZINCRBY, ZREM, ZSCORE, ZRANK, counts), `range.rs` the range queries and
//! removals (ZRANGE and its older forms, ZRANGESTORE, ZREMRANGEBY*),
//! `pop.rs` the pops (ZPOPMIN/MAX, ZMPOP and the blocking forms) and
//! ZRANDMEMBER, `algebra.rs` ZUNION/ZINTER/ZDIFF (and their STORE forms,
//! ZINTERCARD), `scan.rs` ZSCAN, and `parse.rs` (on `strtod.rs`) Redis's
//! exact number and range parsing. This file holds the command table and
//! the helpers they share.

mod algebra;
mod basic;
pub(crate) mod parse;
mod pop;
mod range;
mod scan;
pub(crate) mod strtod;

pub(crate) use basic::zadd;

use super::StoreCommand;
use crate::ctx::{notify, Ctx};
use crate::error::CmdError;
use crate::spec::{acl, flags::*, CommandMeta, Keys};
use crate::types::zset::Item;
use crate::types::ZSetValue;
use crate::value::Value;
use bytes::Bytes;
use kevy_resp::{Protocol, Reply};
use std::sync::Arc;

macro_rules! zcmd {
    ($name:literal, $arity:expr, $flags:expr, $keys:expr, $since:literal, $run:expr,
     $summary:expr, $complexity:expr) => {
        StoreCommand {
            meta: CommandMeta {
                name: $name,
                arity: $arity,
                flags: $flags,
                acl: acl::SORTEDSET,
                keys: $keys,
                group: "sorted-set",
                summary: $summary,
                since: $since,
                complexity: $complexity,
            },
            run: $run,
        }
    };
}

const BZPOP_KEYS: Keys = Keys::Range {
    first: 1,
    last: -2,
    step: 1,
};
const STORE_KEYS: Keys = Keys::Custom {
    first: 1,
    last: 1,
    step: 1,
    find: store_keys,
};
const NUMKEYS_1: Keys = Keys::Custom {
    first: 0,
    last: 0,
    step: 0,
    find: numkeys_keys,
};
const BZMPOP_KEYS: Keys = Keys::Custom {
    first: 0,
    last: 0,
    step: 0,
    find: bzmpop_keys,
};

const LOG_N_M: &str = "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements returned.";
const LOG_N_M_LIMIT: &str = "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements being returned. If M is constant (e.g. always asking for the first 10 elements with LIMIT), you can consider it O(log(N)).";
const REMOVED: &str = "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements removed by the operation.";
const POP: &str =
    "O(log(N)*M) with N being the number of elements in the sorted set, and M being the number of elements popped.";
const MPOP: &str = "O(K) + O(M*log(N)) where K is the number of provided keys, N being the number of elements in the sorted set, and M being the number of elements popped.";
const UNION: &str = "O(N)+O(M*log(M)) with N being the sum of the sizes of the input sorted sets, and M being the number of elements in the resulting sorted set.";
const INTER: &str = "O(N*K)+O(M*log(M)) worst case with N being the smallest input sorted set, K being the number of input sorted sets and M being the number of elements in the resulting sorted set.";
const DIFF: &str = "O(L + (N-K)log(N)) worst case where L is the total number of elements in all the sets, N is the size of the first set, and K is the size of the result set.";

/// The sorted-set family's table.
pub(crate) static COMMANDS: &[StoreCommand] = &[
    zcmd!("zadd", -4, WRITE | DENYOOM | FAST, Keys::ONE, "1.2.0", basic::zadd,
        "Add one or more members to a sorted set, or update its score if it already exists",
        "O(log(N)) for each item added, where N is the number of elements in the sorted set."),
    zcmd!("zincrby", 4, WRITE | DENYOOM | FAST, Keys::ONE, "1.2.0", basic::zincrby,
        "Increment the score of a member in a sorted set",
        "O(log(N)) where N is the number of elements in the sorted set."),
    zcmd!("zrem", -3, WRITE | FAST, Keys::ONE, "1.2.0", basic::zrem,
        "Remove one or more members from a sorted set",
        "O(M*log(N)) with N being the number of elements in the sorted set and M the number of elements to be removed."),
    zcmd!("zscore", 3, READONLY | FAST, Keys::ONE, "1.2.0", basic::zscore,
        "Get the score associated with the given member in a sorted set", "O(1)"),
    zcmd!("zmscore", -3, READONLY | FAST, Keys::ONE, "6.2.0", basic::zmscore,
        "Get the score associated with the given members in a sorted set",
        "O(N) where N is the number of members being requested."),
    zcmd!("zcard", 2, READONLY | FAST, Keys::ONE, "1.2.0", basic::zcard,
        "Get the number of members in a sorted set", "O(1)"),
    zcmd!("zcount", 4, READONLY | FAST, Keys::ONE, "2.0.0", basic::zcount,
        "Count the members in a sorted set with scores within the given values",
        "O(log(N)) with N being the number of elements in the sorted set."),
    zcmd!("zlexcount", 4, READONLY | FAST, Keys::ONE, "2.8.9", basic::zlexcount,
        "Count the number of members in a sorted set between a given lexicographical range",
        "O(log(N)) with N being the number of elements in the sorted set."),
    zcmd!("zrank", 3, READONLY | FAST, Keys::ONE, "2.0.0", basic::zrank,
        "Determine the index of a member in a sorted set", "O(log(N))"),
    zcmd!("zrevrank", 3, READONLY | FAST, Keys::ONE, "2.0.0", basic::zrevrank,
        "Determine the index of a member in a sorted set, with scores ordered from high to low", "O(log(N))"),
    zcmd!("zrange", -4, READONLY, Keys::ONE, "1.2.0", range::zrange,
        "Return a range of members in a sorted set",
        "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements returned."),
    zcmd!("zrangestore", -5, WRITE | DENYOOM, Keys::TWO, "6.2.0", range::zrangestore,
        "Store a range of members from sorted set into another key",
        "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements stored into the destination key."),
    zcmd!("zrangebyscore", -4, READONLY, Keys::ONE, "1.0.5", range::zrangebyscore,
        "Return a range of members in a sorted set, by score", LOG_N_M_LIMIT),
    zcmd!("zrevrangebyscore", -4, READONLY, Keys::ONE, "2.2.0", range::zrevrangebyscore,
        "Return a range of members in a sorted set, by score, with scores ordered from high to low", LOG_N_M_LIMIT),
    zcmd!("zrangebylex", -4, READONLY, Keys::ONE, "2.8.9", range::zrangebylex,
        "Return a range of members in a sorted set, by lexicographical range", LOG_N_M_LIMIT),
    zcmd!("zrevrangebylex", -4, READONLY, Keys::ONE, "2.8.9", range::zrevrangebylex,
        "Return a range of members in a sorted set, by lexicographical range, ordered from higher to lower strings.",
        LOG_N_M_LIMIT),
    zcmd!("zrevrange", -4, READONLY, Keys::ONE, "1.2.0", range::zrevrange,
        "Return a range of members in a sorted set, by index, with scores ordered from high to low", LOG_N_M),
    zcmd!("zremrangebyscore", 4, WRITE, Keys::ONE, "1.2.0", range::zremrangebyscore,
        "Remove all members in a sorted set within the given scores", REMOVED),
    zcmd!("zremrangebyrank", 4, WRITE, Keys::ONE, "2.0.0", range::zremrangebyrank,
        "Remove all members in a sorted set within the given indexes", REMOVED),
    zcmd!("zremrangebylex", 4, WRITE, Keys::ONE, "2.8.9", range::zremrangebylex,
        "Remove all members in a sorted set between the given lexicographical range", REMOVED),
    zcmd!("zpopmin", -2, WRITE | FAST, Keys::ONE, "5.0.0", pop::zpopmin,
        "Remove and return members with the lowest scores in a sorted set", POP),
    zcmd!("zpopmax", -2, WRITE | FAST, Keys::ONE, "5.0.0", pop::zpopmax,
        "Remove and return members with the highest scores in a sorted set", POP),
    zcmd!("bzpopmin", -3, WRITE | NOSCRIPT | BLOCKING | FAST, BZPOP_KEYS, "5.0.0", pop::bzpopmin,
        "Remove and return the member with the lowest score from one or more sorted sets, or block until one is available",
        "O(log(N)) with N being the number of elements in the sorted set."),
    zcmd!("bzpopmax", -3, WRITE | NOSCRIPT | BLOCKING | FAST, BZPOP_KEYS, "5.0.0", pop::bzpopmax,
        "Remove and return the member with the highest score from one or more sorted sets, or block until one is available",
        "O(log(N)) with N being the number of elements in the sorted set."),
    zcmd!("zmpop", -4, WRITE | MOVABLE_KEYS, NUMKEYS_1, "7.0.0", pop::zmpop,
        "Remove and return members with scores in a sorted set", MPOP),
    zcmd!("bzmpop", -5, WRITE | BLOCKING | MOVABLE_KEYS, BZMPOP_KEYS, "7.0.0", pop::bzmpop,
        "Remove and return members with scores in a sorted set or block until one is available", MPOP),
    zcmd!("zrandmember", -2, READONLY, Keys::ONE, "6.2.0", pop::zrandmember,
        "Get one or multiple random elements from a sorted set",
        "O(N) where N is the number of elements returned"),
    zcmd!("zunion", -3, READONLY | MOVABLE_KEYS, NUMKEYS_1, "6.2.0", algebra::zunion,
        "Add multiple sorted sets", UNION),
    zcmd!("zinter", -3, READONLY | MOVABLE_KEYS, NUMKEYS_1, "6.2.0", algebra::zinter,
        "Intersect multiple sorted sets", INTER),
    zcmd!("zdiff", -3, READONLY | MOVABLE_KEYS, NUMKEYS_1, "6.2.0", algebra::zdiff,
        "Subtract multiple sorted sets", DIFF),
    zcmd!("zintercard", -3, READONLY | MOVABLE_KEYS, NUMKEYS_1, "7.0.0", algebra::zintercard,
        "Intersect multiple sorted sets and return the cardinality of the result",
        "O(N*K) worst case with N being the smallest input sorted set, K being the number of input sorted sets."),
    zcmd!("zunionstore", -4, WRITE | DENYOOM | MOVABLE_KEYS, STORE_KEYS, "2.0.0", algebra::zunionstore,
        "Add multiple sorted sets and store the resulting sorted set in a new key", UNION),
    zcmd!("zinterstore", -4, WRITE | DENYOOM | MOVABLE_KEYS, STORE_KEYS, "2.0.0", algebra::zinterstore,
        "Intersect multiple sorted sets and store the resulting sorted set in a new key", INTER),
    zcmd!("zdiffstore", -4, WRITE | DENYOOM | MOVABLE_KEYS, STORE_KEYS, "6.2.0", algebra::zdiffstore,
        "Subtract multiple sorted sets and store the resulting sorted set in a new key", DIFF),
    zcmd!("zscan", -3, READONLY, Keys::ONE, "2.8.0", scan::zscan,
        "Incrementally iterate sorted sets elements and associated scores",
        "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection.."),
];

/// Key positions of a `numkeys key [key ...]` list whose count is at
/// `numkeys_at`: the keys that follow it (clamped to the arguments).
fn numkeys_positions(argv: &[Bytes], numkeys_at: usize) -> Vec<usize> {
    let n = argv
        .get(numkeys_at)
        .and_then(|b| crate::num::parse_i64(b))
        .unwrap_or(0);
    let avail = argv.len().saturating_sub(numkeys_at + 1);
    let n = if n < 1 {
        0
    } else {
        (n as u64).min(avail as u64) as usize
    };
    (numkeys_at + 1..numkeys_at + 1 + n).collect()
}

/// ZUNION, ZINTER, ZDIFF, ZINTERCARD, ZMPOP: `numkeys` at 1.
fn numkeys_keys(argv: &[Bytes]) -> Vec<usize> {
    numkeys_positions(argv, 1)
}

/// BZMPOP: `timeout numkeys key ...`.
fn bzmpop_keys(argv: &[Bytes]) -> Vec<usize> {
    numkeys_positions(argv, 2)
}

/// Z*STORE: the destination, then `numkeys` at 2.
fn store_keys(argv: &[Bytes]) -> Vec<usize> {
    let mut v = vec![1];
    v.extend(numkeys_positions(argv, 2));
    v
}

/// The sorted set under `key` for reading; `WrongType` if it holds another type.
pub(super) fn read<'c>(
    ctx: &'c mut Ctx<'_, '_>,
    key: &[u8],
) -> Result<Option<&'c ZSetValue>, CmdError> {
    match ctx.get(key)? {
        None => Ok(None),
        Some(e) => match &e.value {
            Value::ZSet(z) => Ok(Some(z)),
            _ => Err(CmdError::WrongType),
        },
    }
}

/// True if `key` holds a sorted set, false if it is missing; `WrongType`
/// otherwise. Does not count a hit or a miss (Redis's `lookupKeyWrite`).
pub(super) fn exists_for_write(ctx: &mut Ctx<'_, '_>, key: &[u8]) -> Result<bool, CmdError> {
    match ctx.get_mut(key)? {
        None => Ok(false),
        Some(e) => match &e.value {
            Value::ZSet(_) => Ok(true),
            _ => Err(CmdError::WrongType),
        },
    }
}

/// The sorted set under `key` for modification (copied first if a snapshot
/// shares it); `WrongType` if it holds another type.
pub(super) fn write<'c>(
    ctx: &'c mut Ctx<'_, '_>,
    key: &[u8],
) -> Result<Option<&'c mut ZSetValue>, CmdError> {
    match ctx.get_mut(key)? {
        None => Ok(None),
        Some(e) => match &mut e.value {
            Value::ZSet(z) => Ok(Some(Arc::make_mut(z))),
            _ => Err(CmdError::WrongType),
        },
    }
}

/// Deletes `key` if its sorted set became empty (raising `del`); true if it did.
pub(super) fn drop_if_empty(ctx: &mut Ctx<'_, '_>, key: &[u8]) -> Result<bool, CmdError> {
    let empty =
        matches!(ctx.get_mut(key)?, Some(e) if matches!(&e.value, Value::ZSet(z) if z.is_empty()));
    if empty {
        ctx.remove(key)?;
        ctx.notify(notify::GENERIC, "del", key);
    }
    Ok(empty)
}

/// Counts `n` changes (one already counted by `ctx.modified`).
pub(super) fn add_dirty(ctx: &mut Ctx<'_, '_>, n: usize) {
    ctx.events.dirty += n.saturating_sub(1) as u64;
}

/// A member with its score, as a `Reply`: score as a bulk string in RESP2,
/// a double in RESP3.
#[inline]
pub(super) fn score_reply(s: f64) -> Reply {
    Reply::Double(s)
}

/// Members (and scores) as Redis 7.0 replies to a range: flat in RESP2,
/// `[member, score]` pairs in RESP3 when `withscores`.
pub(super) fn items_reply<'a>(
    proto: Protocol,
    items: impl Iterator<Item = &'a Item>,
    withscores: bool,
) -> Reply {
    let mut out =
        Vec::with_capacity(items.size_hint().0.min(1 << 16) * if withscores { 2 } else { 1 });
    for it in items {
        push_item(&mut out, proto, it, withscores);
    }
    Reply::Array(out)
}

/// Appends one member (and its score) to a range reply.
pub(super) fn push_item(out: &mut Vec<Reply>, proto: Protocol, it: &Item, withscores: bool) {
    let m = Reply::Bulk(it.member.to_bytes());
    if !withscores {
        out.push(m);
    } else if proto == Protocol::Resp3 {
        out.push(Reply::Array(vec![m, score_reply(it.score)]));
    } else {
        out.push(m);
        out.push(score_reply(it.score));
    }
}

/// Stores a computed result under `dst` as Redis's `*STORE` commands do:
/// replaces it (dropping its TTL) when non-empty, deletes it when empty.
/// Logs `DEL dst` plus the result's restore commands to `dst`'s shard.
/// Returns the reply (the result's size).
pub(crate) fn store_result(
    ctx: &mut Ctx<'_, '_>,
    dst: &[u8],
    z: ZSetValue,
    event: &'static str,
) -> Result<Reply, CmdError> {
    let n = z.len();
    if n == 0 {
        ctx.store_empty(dst)?;
        return Ok(Reply::Int(0));
    }
    let cmds = z.restore_commands(dst);
    ctx.set(dst, Value::ZSet(Arc::new(z)), false)?;
    ctx.modified(dst);
    ctx.notify(notify::ZSET, event, dst);
    ctx.key_ready(dst);
    ctx.propagate(dst, &[b"DEL", dst]);
    for c in &cmds {
        let parts: Vec<&[u8]> = c.iter().map(|a| &a[..]).collect();
        ctx.propagate(dst, &parts);
    }
    Ok(Reply::Int(n as i64))
}

/// Redis's `getLongFromObjectOrReply` (a `long` is 64 bits).
#[inline]
pub(super) fn arg_long(b: &[u8]) -> Result<i64, CmdError> {
    crate::num::arg_i64(b)
}

/// Case-insensitive comparison with an option name.
#[inline]
pub(super) fn is(arg: &[u8], name: &str) -> bool {
    arg.eq_ignore_ascii_case(name.as_bytes())
}

#[cfg(test)]
mod tests;
