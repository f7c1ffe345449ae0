//! Per-member sorted-set commands: ZADD, ZINCRBY, ZREM, ZSCORE, ZMSCORE,
//! ZCARD, ZCOUNT, ZLEXCOUNT, ZRANK, ZREVRANK.

use super::parse::{arg_score, LexRange, ScoreRange};
use super::{drop_if_empty, is, read, score_reply, write};
use crate::ctx::{notify, Ctx};
use crate::error::{CmdError, CmdResult};
use crate::types::ZSetValue;
use crate::value::Value;
use bytes::Bytes;
use kevy_resp::Reply;
use std::sync::Arc;

/// `ZADD key [NX|XX] [GT|LT] [CH] [INCR] score member [score member ...]`
/// (and ZINCRBY, which is `ZADD key INCR increment member`).
struct ZAdd<'a> {
    nx: bool,
    xx: bool,
    gt: bool,
    lt: bool,
    ch: bool,
    incr: bool,
    pairs: Vec<(f64, &'a [u8])>,
}

impl<'a> ZAdd<'a> {
    fn parse(argv: &'a [Bytes]) -> Result<ZAdd<'a>, CmdError> {
        let mut a = ZAdd {
            nx: false,
            xx: false,
            gt: false,
            lt: false,
            ch: false,
            incr: false,
            pairs: Vec::new(),
        };
        let mut i = 2;
        while let Some(opt) = argv.get(i) {
            let flag = match opt.len() {
                2 if is(opt, "nx") => &mut a.nx,
                2 if is(opt, "xx") => &mut a.xx,
                2 if is(opt, "gt") => &mut a.gt,
                2 if is(opt, "lt") => &mut a.lt,
                2 if is(opt, "ch") => &mut a.ch,
                4 if is(opt, "incr") => &mut a.incr,
                _ => break,
            };
            *flag = true;
            i += 1;
        }
        let rest = &argv[i..];
        if rest.is_empty() || rest.len() % 2 != 0 {
            return Err(CmdError::Syntax);
        }
        if a.nx && a.xx {
            return Err(CmdError::err(
                "XX and NX options at the same time are not compatible",
            ));
        }
        if (a.nx && (a.gt || a.lt)) || (a.gt && a.lt) {
            return Err(CmdError::err(
                "GT, LT, and/or NX options at the same time are not compatible",
            ));
        }
        if a.incr && rest.len() > 2 {
            return Err(CmdError::err(
                "INCR option supports a single increment-element pair",
            ));
        }
        a.pairs.reserve(rest.len() / 2);
        for p in rest.chunks_exact(2) {
            a.pairs.push((arg_score(&p[0])?, &p[1][..]));
        }
        Ok(a)
    }
}

/// What applying ZADD's pairs did.
#[derive(Default)]
struct Outcome {
    added: usize,
    updated: usize,
    processed: usize,
    score: f64,
}

/// Redis's `zsetAdd` over every pair.
fn apply(z: &mut ZSetValue, a: &ZAdd<'_>) -> Result<Outcome, CmdError> {
    let mut o = Outcome::default();
    for &(score, member) in &a.pairs {
        match z.score(member) {
            Some(cur) => {
                if a.nx {
                    continue;
                }
                let mut score = score;
                if a.incr {
                    score += cur;
                    if score.is_nan() {
                        return Err(CmdError::err("resulting score is not a number (NaN)"));
                    }
                }
                if (a.lt && score >= cur) || (a.gt && score <= cur) {
                    continue;
                }
                o.processed += 1;
                o.score = score;
                if score != cur {
                    z.insert(member, score);
                    o.updated += 1;
                }
            }
            None if !a.xx => {
                z.insert(member, score);
                o.added += 1;
                o.processed += 1;
                o.score = score;
            }
            None => {}
        }
    }
    Ok(o)
}

fn zadd_generic(ctx: &mut Ctx<'_, '_>, key: &[u8], a: ZAdd<'_>) -> CmdResult {
    let o = match write(ctx, key)? {
        Some(z) => apply(z, &a)?,
        None if a.xx => {
            ctx.suppress_propagation();
            return Ok(if a.incr { Reply::Nil } else { Reply::Int(0) });
        }
        None => {
            let mut z = ZSetValue::new();
            let o = apply(&mut z, &a)?;
            if !z.is_empty() {
                ctx.set(key, Value::ZSet(Arc::new(z)), false)?;
                ctx.key_ready(key);
            }
            o
        }
    };
    let changed = o.added + o.updated;
    if changed > 0 {
        ctx.modified(key);
        super::add_dirty(ctx, changed);
        ctx.notify(notify::ZSET, if a.incr { "zincr" } else { "zadd" }, key);
    }
    Ok(if a.incr {
        if o.processed > 0 {
            score_reply(o.score)
        } else {
            Reply::Nil
        }
    } else {
        Reply::Int((if a.ch { changed } else { o.added }) as i64)
    })
}

pub(crate) fn zadd(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    let a = ZAdd::parse(argv)?;
    zadd_generic(ctx, &argv[1], a)
}

/// `ZINCRBY key increment member`
pub(super) fn zincrby(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    let inc = arg_score(&argv[2])?;
    let a = ZAdd {
        nx: false,
        xx: false,
        gt: false,
        lt: false,
        ch: false,
        incr: true,
        pairs: vec![(inc, &argv[3][..])],
    };
    zadd_generic(ctx, &argv[1], a)
}

/// `ZREM key member [member ...]`
pub(super) fn zrem(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    let key = &argv[1];
    let Some(z) = write(ctx, key)? else {
        return Ok(Reply::Int(0));
    };
    let mut deleted = 0;
    for m in &argv[2..] {
        if z.remove(m).is_some() {
            deleted += 1;
            if z.is_empty() {
                break;
            }
        }
    }
    if deleted > 0 {
        ctx.notify(notify::ZSET, "zrem", key);
        drop_if_empty(ctx, key)?;
        ctx.modified(key);
        super::add_dirty(ctx, deleted);
    }
    Ok(Reply::Int(deleted as i64))
}

/// `ZSCORE key member`
pub(super) fn zscore(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    Ok(match read(ctx, &argv[1])?.and_then(|z| z.score(&argv[2])) {
        Some(s) => score_reply(s),
        None => Reply::Nil,
    })
}

/// `ZMSCORE key member [member ...]`
pub(super) fn zmscore(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    let z = read(ctx, &argv[1])?;
    let out = argv[2..]
        .iter()
        .map(|m| z.and_then(|z| z.score(m)).map_or(Reply::Nil, score_reply))
        .collect();
    Ok(Reply::Array(out))
}

/// `ZCARD key`
pub(super) fn zcard(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    Ok(Reply::Int(
        read(ctx, &argv[1])?.map_or(0, |z| z.len()) as i64
    ))
}

/// The ranks `start..end` of the members inside a score range.
pub(super) fn score_span(z: &ZSetValue, r: &ScoreRange) -> (usize, usize) {
    let start = z.partition_point(|s, _| !r.gte_min(s));
    let end = z.partition_point(|s, _| r.lte_max(s));
    (start, end.max(start))
}

/// The ranks `start..end` of the members inside a lexical range, walked
/// backwards when `rev`. Redis assumes the members share one score; when
/// they do not, a skiplist's answer depends on its random levels, but a
/// listpack's is a plain walk, which [`listpack_lex`] reproduces.
pub(super) fn lex_span(z: &ZSetValue, r: &LexRange, rev: bool) -> (usize, usize) {
    if !z.is_skiplist() {
        return listpack_lex(z, r, rev, 0, -1);
    }
    let start = z.partition_point(|_, m| !r.gte_min(m));
    let end = z.partition_point(|_, m| r.lte_max(m));
    (start, end.max(start))
}

/// Redis's listpack walk for a lexical range (`zzlFirstInLexRange`,
/// `zzlLastInLexRange`): nothing unless the range can hold something, the
/// last member is at or past `min` and the first at or before `max`; else
/// find the first member (the last when `rev`) past the near bound, give up
/// unless it is within the far bound, skip `offset` members unchecked, then
/// take up to `limit` (all when negative) while they stay within the far bound.
pub(super) fn listpack_lex(
    z: &ZSetValue,
    r: &LexRange,
    rev: bool,
    offset: i64,
    limit: i64,
) -> (usize, usize) {
    let items: Vec<&[u8]> = z.iter().map(|it| &it.member[..]).collect();
    let n = items.len();
    if offset < 0 || (offset > 0 && offset as u64 >= n as u64) || r.is_empty() {
        return (0, 0);
    }
    if !items.last().is_some_and(|m| r.gte_min(m)) || !items.first().is_some_and(|m| r.lte_max(m)) {
        return (0, 0);
    }
    let offset = offset as usize;
    let cap = if limit < 0 {
        usize::MAX
    } else {
        limit as usize
    };
    if rev {
        let Some(last) = items.iter().rposition(|m| r.lte_max(m)) else {
            return (0, 0);
        };
        if !r.gte_min(items[last]) || offset > last {
            return (0, 0);
        }
        let end = last + 1 - offset;
        let run = items[..end]
            .iter()
            .rev()
            .take(cap)
            .take_while(|m| r.gte_min(m))
            .count();
        (end - run, end)
    } else {
        let Some(first) = items.iter().position(|m| r.gte_min(m)) else {
            return (0, 0);
        };
        if !r.lte_max(items[first]) || first + offset >= n {
            return (0, 0);
        }
        let start = first + offset;
        let run = items[start..]
            .iter()
            .take(cap)
            .take_while(|m| r.lte_max(m))
            .count();
        (start, start + run)
    }
}

/// `ZCOUNT key min max`
pub(super) fn zcount(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    let r = ScoreRange::parse(&argv[2], &argv[3])?;
    let n = read(ctx, &argv[1])?.map_or(0, |z| {
        let (a, b) = score_span(z, &r);
        b - a
    });
    Ok(Reply::Int(n as i64))
}

/// `ZLEXCOUNT key min max`
pub(super) fn zlexcount(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    let r = LexRange::parse(&argv[2], &argv[3])?;
    let n = read(ctx, &argv[1])?.map_or(0, |z| {
        let (a, b) = lex_span(z, &r, false);
        b - a
    });
    Ok(Reply::Int(n as i64))
}

/// `ZRANK key member`
pub(super) fn zrank(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    Ok(read(ctx, &argv[1])?
        .and_then(|z| z.rank(&argv[2]))
        .map_or(Reply::Nil, |r| Reply::Int(r as i64)))
}

/// `ZREVRANK key member`
pub(super) fn zrevrank(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    Ok(read(ctx, &argv[1])?
        .and_then(|z| z.rank(&argv[2]).map(|r| z.len() - 1 - r))
        .map_or(Reply::Nil, |r| Reply::Int(r as i64)))
}
