//! Range queries and removals: ZRANGE (BYSCORE, BYLEX, REV, LIMIT,
//! WITHSCORES), its older forms ZRANGEBYSCORE, ZREVRANGEBYSCORE,
//! ZRANGEBYLEX, ZREVRANGEBYLEX, ZREVRANGE, ZRANGESTORE, and
//! ZREMRANGEBYSCORE/BYRANK/BYLEX. Every range becomes a span of ranks in the
//! order-statistic tree, found in O(log n).

use super::basic::{lex_span, listpack_lex, score_span};
use super::parse::{LexRange, ScoreRange};
use super::{arg_long, drop_if_empty, is, items_reply, read, store_result, write};
use crate::cmd::reply_stream;
use crate::ctx::{notify, Ctx};
use crate::error::{CmdError, CmdResult};
use crate::types::zset::{Item, MAX_LISTPACK_ENTRIES, MAX_LISTPACK_VALUE};
use crate::types::ZSetValue;
use bytes::Bytes;
use kevy_resp::Reply;

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Auto,
    Rank,
    Score,
    Lex,
}

#[derive(Clone, Copy, PartialEq)]
enum Dir {
    Auto,
    Forward,
    Reverse,
}

/// The parsed range of one of the ZRANGE forms.
enum Span {
    Rank(i64, i64),
    Score(ScoreRange),
    Lex(LexRange),
}

/// `ZRANGE key start stop [BYSCORE|BYLEX] [REV] [LIMIT offset count] [WITHSCORES]`
/// and its relatives (`zrangeGenericCommand`); `at` is the index of the
/// source key, `store` whether this is ZRANGESTORE.
struct ZRange {
    span: Span,
    rev: bool,
    withscores: bool,
    offset: i64,
    limit: i64,
}

impl ZRange {
    fn parse(
        argv: &[Bytes],
        at: usize,
        store: bool,
        mut kind: Kind,
        mut dir: Dir,
    ) -> Result<ZRange, CmdError> {
        let (mut withscores, mut offset, mut limit) = (false, 0i64, -1i64);
        let mut j = at + 3;
        while j < argv.len() {
            let left = argv.len() - j - 1;
            let a = &argv[j];
            if !store && is(a, "withscores") {
                withscores = true;
            } else if is(a, "limit") && left >= 2 {
                offset = arg_long(&argv[j + 1])?;
                limit = arg_long(&argv[j + 2])?;
                j += 2;
            } else if dir == Dir::Auto && is(a, "rev") {
                dir = Dir::Reverse;
            } else if kind == Kind::Auto && is(a, "bylex") {
                kind = Kind::Lex;
            } else if kind == Kind::Auto && is(a, "byscore") {
                kind = Kind::Score;
            } else {
                return Err(CmdError::Syntax);
            }
            j += 1;
        }
        let rev = dir == Dir::Reverse;
        if kind == Kind::Auto {
            kind = Kind::Rank;
        }
        if limit != -1 && kind == Kind::Rank {
            return Err(CmdError::err(
                "syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX",
            ));
        }
        if withscores && kind == Kind::Lex {
            return Err(CmdError::err(
                "syntax error, WITHSCORES not supported in combination with BYLEX",
            ));
        }
        let (mut lo, mut hi) = (&argv[at + 1], &argv[at + 2]);
        if rev && kind != Kind::Rank {
            std::mem::swap(&mut lo, &mut hi);
        }
        let span = match kind {
            Kind::Score => Span::Score(ScoreRange::parse(lo, hi)?),
            Kind::Lex => Span::Lex(LexRange::parse(lo, hi)?),
            _ => Span::Rank(arg_long(lo)?, arg_long(hi)?),
        };
        Ok(ZRange {
            span,
            rev,
            withscores,
            offset,
            limit,
        })
    }

    /// The ranks `start..end` to return, walked backwards when `rev`.
    fn ranks(&self, z: &ZSetValue) -> (usize, usize) {
        let len = z.len() as i64;
        let (start, end) = match &self.span {
            Span::Rank(a, b) => {
                let (mut a, mut b) = (*a, *b);
                if a < 0 {
                    a += len;
                }
                if b < 0 {
                    b += len;
                }
                a = a.max(0);
                if a > b || a >= len {
                    return (0, 0);
                }
                b = b.min(len - 1);
                return if self.rev {
                    ((len - 1 - b) as usize, (len - a) as usize)
                } else {
                    (a as usize, (b + 1) as usize)
                };
            }
            Span::Score(r) => score_span(z, r),
            Span::Lex(r) if !z.is_skiplist() => {
                return listpack_lex(z, r, self.rev, self.offset, self.limit)
            }
            Span::Lex(r) => lex_span(z, r, self.rev),
        };
        // LIMIT: a negative offset yields nothing (Redis's `while (offset--)`
        // skips to the end), a negative count means no limit.
        if self.offset < 0 || (self.offset > 0 && self.offset >= len) {
            return (0, 0);
        }
        let avail = end - start;
        let skip = (self.offset as u64).min(avail as u64) as usize;
        let take = if self.limit < 0 {
            avail - skip
        } else {
            (self.limit as u64).min((avail - skip) as u64) as usize
        };
        if self.rev {
            (end - skip - take, end - skip)
        } else {
            (start + skip, start + skip + take)
        }
    }
}

fn zrange_generic(ctx: &mut Ctx<'_, '_>, argv: &[Bytes], kind: Kind, dir: Dir) -> CmdResult {
    let q = ZRange::parse(argv, 1, false, kind, dir)?;
    let proto = ctx.proto;
    let stream_ok = ctx.stream_replies;
    let Some(z) = read(ctx, &argv[1])? else {
        return Ok(Reply::Array(Vec::new()));
    };
    let (start, end) = q.ranks(z);
    if reply_stream::wanted(stream_ok, end - start) {
        return Ok(reply_stream::zset_range(z, start, end, q.rev, q.withscores));
    }
    Ok(items_reply(proto, z.range(start, end, q.rev), q.withscores))
}

pub(super) fn zrange(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    zrange_generic(ctx, argv, Kind::Auto, Dir::Auto)
}

pub(super) fn zrangebyscore(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    zrange_generic(ctx, argv, Kind::Score, Dir::Forward)
}

pub(super) fn zrevrangebyscore(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    zrange_generic(ctx, argv, Kind::Score, Dir::Reverse)
}

pub(super) fn zrangebylex(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    zrange_generic(ctx, argv, Kind::Lex, Dir::Forward)
}

pub(super) fn zrevrangebylex(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    zrange_generic(ctx, argv, Kind::Lex, Dir::Reverse)
}

pub(super) fn zrevrange(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    zrange_generic(ctx, argv, Kind::Rank, Dir::Reverse)
}

/// `ZRANGESTORE dst src min max [BYSCORE|BYLEX] [REV] [LIMIT offset count]`
pub(super) fn zrangestore(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    let q = ZRange::parse(argv, 2, true, Kind::Auto, Dir::Auto)?;
    let result = match read(ctx, &argv[2])? {
        Some(z) => {
            let (start, end) = q.ranks(z);
            // Redis adds the results one by one, in the order it walks them,
            // to a listpack (a skiplist when a rank range is known to be
            // big) that converts when it outgrows the limits: the scores
            // added while it is a listpack lose the sign of a zero.
            let mut skiplist =
                matches!(q.span, Span::Rank(..)) && end - start > MAX_LISTPACK_ENTRIES;
            let mut items: Vec<Item> = Vec::with_capacity(end - start);
            for it in z.range(start, end, q.rev) {
                if !skiplist
                    && (items.len() + 1 > MAX_LISTPACK_ENTRIES
                        || it.member.len() > MAX_LISTPACK_VALUE)
                {
                    skiplist = true;
                }
                let mut it = it.clone();
                if !skiplist && it.score == 0.0 {
                    it.score = 0.0;
                }
                items.push(it);
            }
            if q.rev {
                items.reverse();
            }
            ZSetValue::from_parts(items, skiplist)
        }
        None => ZSetValue::new(),
    };
    store_result(ctx, &argv[1], result, "zrangestore")
}

/// ZREMRANGEBYSCORE / BYRANK / BYLEX (`zremrangeGenericCommand`).
fn zremrange(ctx: &mut Ctx<'_, '_>, argv: &[Bytes], span: Span, event: &'static str) -> CmdResult {
    let key = &argv[1];
    let Some(z) = write(ctx, key)? else {
        return Ok(Reply::Int(0));
    };
    let (start, end) = match &span {
        Span::Rank(a, b) => {
            let len = z.len() as i64;
            let (mut a, mut b) = (*a, *b);
            if a < 0 {
                a += len;
            }
            if b < 0 {
                b += len;
            }
            a = a.max(0);
            if a > b || a >= len {
                (0, 0)
            } else {
                (a as usize, (b.min(len - 1) + 1) as usize)
            }
        }
        Span::Score(r) => score_span(z, r),
        Span::Lex(r) => lex_span(z, r, false),
    };
    let deleted = z.remove_range(start, end);
    if deleted > 0 {
        ctx.modified(key);
        super::add_dirty(ctx, deleted);
        ctx.notify(notify::ZSET, event, key);
        drop_if_empty(ctx, key)?;
    }
    Ok(Reply::Int(deleted as i64))
}

/// `ZREMRANGEBYSCORE key min max`
pub(super) fn zremrangebyscore(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    let r = ScoreRange::parse(&argv[2], &argv[3])?;
    zremrange(ctx, argv, Span::Score(r), "zremrangebyscore")
}

/// `ZREMRANGEBYRANK key start stop`
pub(super) fn zremrangebyrank(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    let (a, b) = (arg_long(&argv[2])?, arg_long(&argv[3])?);
    zremrange(ctx, argv, Span::Rank(a, b), "zremrangebyrank")
}

/// `ZREMRANGEBYLEX key min max`
pub(super) fn zremrangebylex(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    let r = LexRange::parse(&argv[2], &argv[3])?;
    zremrange(ctx, argv, Span::Lex(r), "zremrangebylex")
}
