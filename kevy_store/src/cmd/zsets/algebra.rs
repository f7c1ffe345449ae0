//! ZUNION, ZINTER, ZDIFF, ZINTERCARD and ZUNIONSTORE, ZINTERSTORE,
//! ZDIFFSTORE (Redis's `zunionInterDiffGenericCommand`). Inputs may be
//! sorted sets or plain sets (members scoring 1). Inputs are taken as O(1)
//! clones of their values, so no lock or borrow is held across the work.

use super::parse::score;
use super::{arg_long, is, items_reply, store_result};
use crate::ctx::Ctx;
use crate::error::{CmdError, CmdResult};
use crate::kstr::KStr;
use crate::types::zset::{cmp_key, Item};
use crate::types::{SetValue, ZSetValue};
use crate::value::Value;
use bytes::Bytes;
use kevy_resp::Reply;
use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::sync::Arc;

#[derive(Clone, Copy, PartialEq)]
enum Op {
    Union,
    Inter,
    Diff,
}

#[derive(Clone, Copy)]
enum Agg {
    Sum,
    Min,
    Max,
}

/// One input: a sorted set, a set, or nothing (a missing key).
enum Src {
    None,
    ZSet(Arc<ZSetValue>),
    Set(Arc<SetValue>),
}

impl Src {
    fn len(&self) -> usize {
        match self {
            Src::None => 0,
            Src::ZSet(z) => z.len(),
            Src::Set(s) => s.len(),
        }
    }

    /// Every member with its score (1 for a set member).
    fn for_each(&self, mut f: impl FnMut(&[u8], f64) -> bool) {
        match self {
            Src::None => {}
            Src::ZSet(z) => {
                for it in z.range(0, z.len(), true) {
                    if !f(&it.member, it.score) {
                        return;
                    }
                }
            }
            Src::Set(s) => {
                for m in s.iter() {
                    if !f(&m, 1.0) {
                        return;
                    }
                }
            }
        }
    }

    fn find(&self, m: &[u8]) -> Option<f64> {
        match self {
            Src::None => None,
            Src::ZSet(z) => z.score(m),
            Src::Set(s) => s.contains(m).then_some(1.0),
        }
    }
}

/// Redis's `zunionInterAggregate`.
#[inline]
fn aggregate(target: &mut f64, val: f64, agg: Agg) {
    match agg {
        Agg::Sum => {
            *target += val;
            // inf + -inf: Redis keeps the convention that the sum is 0.
            if target.is_nan() {
                *target = 0.0;
            }
        }
        Agg::Min => {
            if val < *target {
                *target = val
            }
        }
        Agg::Max => {
            if val > *target {
                *target = val
            }
        }
    }
}

/// Looks up one input key: Redis uses `lookupKeyWrite` (no hit/miss
/// counting) when there is a destination, `lookupKeyRead` otherwise.
fn load(ctx: &mut Ctx<'_, '_>, key: &[u8], for_write: bool) -> Result<Src, CmdError> {
    let e = if for_write {
        ctx.get_mut(key)?.map(|e| &*e)
    } else {
        ctx.get(key)?
    };
    Ok(match e.map(|e| &e.value) {
        None => Src::None,
        Some(Value::ZSet(z)) => Src::ZSet(z.clone()),
        Some(Value::Set(s)) => Src::Set(s.clone()),
        Some(_) => return Err(CmdError::WrongType),
    })
}

fn generic(
    ctx: &mut Ctx<'_, '_>,
    argv: &[Bytes],
    name: &str,
    dst: Option<&[u8]>,
    op: Op,
    card_only: bool,
) -> CmdResult {
    let at = if dst.is_some() { 2 } else { 1 };
    let setnum = arg_long(&argv[at])?;
    if setnum < 1 {
        return Err(CmdError::err(format!(
            "at least 1 input key is needed for '{name}' command"
        )));
    }
    if setnum as u64 > (argv.len() - at - 1) as u64 {
        return Err(CmdError::Syntax);
    }
    let setnum = setnum as usize;
    let mut srcs = Vec::with_capacity(setnum);
    for k in &argv[at + 1..at + 1 + setnum] {
        srcs.push((load(ctx, k, dst.is_some())?, 1.0f64));
    }
    let (mut agg, mut withscores, mut limit) = (Agg::Sum, false, 0u64);
    let mut j = at + 1 + setnum;
    while j < argv.len() {
        let remaining = argv.len() - j;
        let a = &argv[j];
        if op != Op::Diff && !card_only && remaining > setnum && is(a, "weights") {
            j += 1;
            for src in srcs.iter_mut() {
                src.1 =
                    score(&argv[j]).ok_or_else(|| CmdError::err("weight value is not a float"))?;
                j += 1;
            }
        } else if op != Op::Diff && !card_only && remaining >= 2 && is(a, "aggregate") {
            let v = &argv[j + 1];
            agg = if is(v, "sum") {
                Agg::Sum
            } else if is(v, "min") {
                Agg::Min
            } else if is(v, "max") {
                Agg::Max
            } else {
                return Err(CmdError::Syntax);
            };
            j += 2;
        } else if dst.is_none() && !card_only && is(a, "withscores") {
            withscores = true;
            j += 1;
        } else if card_only && remaining >= 2 && is(a, "limit") {
            limit = match crate::num::parse_i64(&argv[j + 1]) {
                Some(n) if n >= 0 => n as u64,
                _ => return Err(CmdError::err("LIMIT can't be negative")),
            };
            j += 2;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    if op != Op::Diff {
        // Smallest first (a stable sort, as glibc's qsort behaves here).
        srcs.sort_by_key(|s| s.0.len());
    }
    let mut items: Vec<Item> = Vec::new();
    let mut cardinality = 0u64;
    match op {
        Op::Inter => {
            let (first, rest) = srcs.split_at(1);
            let (s0, w0) = &first[0];
            s0.for_each(|m, s| {
                let mut acc = w0 * s;
                if acc.is_nan() {
                    acc = 0.0;
                }
                for (src, w) in rest {
                    match src.find(m) {
                        Some(v) => aggregate(&mut acc, v * w, agg),
                        None => return true,
                    }
                }
                if card_only {
                    cardinality += 1;
                    return limit == 0 || cardinality < limit;
                }
                items.push(Item {
                    score: acc,
                    member: KStr::from_slice(m),
                });
                true
            });
        }
        Op::Union => {
            let mut acc: HashMap<KStr, f64> = HashMap::new();
            for (src, w) in &srcs {
                src.for_each(|m, s| {
                    let mut v = w * s;
                    if v.is_nan() {
                        v = 0.0;
                    }
                    match acc.entry(KStr::from_slice(m)) {
                        Entry::Vacant(e) => {
                            e.insert(v);
                        }
                        Entry::Occupied(mut e) => aggregate(e.get_mut(), v, agg),
                    }
                    true
                });
            }
            items = acc
                .into_iter()
                .map(|(member, score)| Item { score, member })
                .collect();
        }
        Op::Diff => {
            let (first, rest) = srcs.split_at(1);
            first[0].0.for_each(|m, s| {
                if rest.iter().all(|(src, _)| src.find(m).is_none()) {
                    items.push(Item {
                        score: s,
                        member: KStr::from_slice(m),
                    });
                }
                true
            });
        }
    }
    if card_only {
        return Ok(Reply::Int(cardinality as i64));
    }
    items.sort_by(|a, b| cmp_key(a.score, &a.member, b.score, &b.member));
    match dst {
        Some(d) => {
            let event = match op {
                Op::Union => "zunionstore",
                Op::Inter => "zinterstore",
                Op::Diff => "zdiffstore",
            };
            store_result(ctx, d, ZSetValue::from_sorted(items), event)
        }
        None if crate::cmd::reply_stream::wanted(ctx.stream_replies, items.len()) => {
            Ok(crate::cmd::reply_stream::zset_items(items, withscores))
        }
        None => Ok(items_reply(ctx.proto, items.iter(), withscores)),
    }
}

/// `ZUNION numkeys key [key ...] [WEIGHTS weight ...] [AGGREGATE SUM|MIN|MAX] [WITHSCORES]`
pub(super) fn zunion(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    generic(ctx, argv, "zunion", None, Op::Union, false)
}

/// `ZINTER numkeys key [key ...] [WEIGHTS weight ...] [AGGREGATE SUM|MIN|MAX] [WITHSCORES]`
pub(super) fn zinter(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    generic(ctx, argv, "zinter", None, Op::Inter, false)
}

/// `ZDIFF numkeys key [key ...] [WITHSCORES]`
pub(super) fn zdiff(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    generic(ctx, argv, "zdiff", None, Op::Diff, false)
}

/// `ZINTERCARD numkeys key [key ...] [LIMIT limit]`
pub(super) fn zintercard(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    generic(ctx, argv, "zintercard", None, Op::Inter, true)
}

/// `ZUNIONSTORE destination numkeys key [key ...] [WEIGHTS ...] [AGGREGATE ...]`
pub(super) fn zunionstore(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    generic(ctx, argv, "zunionstore", Some(&argv[1]), Op::Union, false)
}

/// `ZINTERSTORE destination numkeys key [key ...] [WEIGHTS ...] [AGGREGATE ...]`
pub(super) fn zinterstore(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    generic(ctx, argv, "zinterstore", Some(&argv[1]), Op::Inter, false)
}

/// `ZDIFFSTORE destination numkeys key [key ...]`
pub(super) fn zdiffstore(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    generic(ctx, argv, "zdiffstore", Some(&argv[1]), Op::Diff, false)
}
