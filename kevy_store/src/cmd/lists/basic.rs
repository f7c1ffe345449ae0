//! Single-key list commands: pushes and pops at either end, length, ranges,
//! indexed access, LINSERT, LREM, LTRIM and LPOS. Each follows Redis 7.0's
//! `t_list.c` order of checks (which argument is parsed before the key is
//! looked up matters: it decides which error a bad call gets).

use super::*;
use crate::error::CmdResult;
use crate::kstr::KStr;
use crate::num::{arg_i64, parse_i64};

/// A non-negative integer argument, as Redis's `getPositiveLongFromObjectOrReply`
/// reads it: anything else (not a number, or negative) fails with `msg`.
pub(super) fn positive(arg: &[u8], msg: &str) -> Result<i64, CmdError> {
    match parse_i64(arg) {
        Some(n) if n >= 0 => Ok(n),
        _ => Err(CmdError::err(msg)),
    }
}

/// `LPUSH`/`RPUSH`/`LPUSHX`/`RPUSHX key element [element ...]`;
/// `only_existing` selects the X forms.
fn push(ctx: &mut Ctx<'_, '_>, argv: &[Bytes], end: End, only_existing: bool) -> CmdResult {
    let key = &argv[1][..];
    let exists = peek_list(ctx, key)?.is_some();
    if !exists && only_existing {
        return Ok(Reply::Int(0));
    }
    let elems = &argv[2..];
    let len = with_created(ctx, key, |l| {
        for e in elems {
            l.push(end, KStr::from_slice(e));
        }
    })?;
    changed(ctx, key, elems.len());
    ctx.notify(notify::LIST, push_event(end), key);
    ctx.key_ready(key);
    Ok(Reply::Int(len as i64))
}

/// `LPUSH key element [element ...]`
pub(super) fn lpush(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    push(ctx, argv, End::Left, false)
}

/// `RPUSH key element [element ...]`
pub(super) fn rpush(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    push(ctx, argv, End::Right, false)
}

/// `LPUSHX key element [element ...]`
pub(super) fn lpushx(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    push(ctx, argv, End::Left, true)
}

/// `RPUSHX key element [element ...]`
pub(super) fn rpushx(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    push(ctx, argv, End::Right, true)
}

/// `LPOP key [count]` / `RPOP key [count]`. Without a count: one element
/// (nil bulk when the key is missing); with one: an array (nil array when
/// missing, empty array for count 0).
fn pop(ctx: &mut Ctx<'_, '_>, argv: &[Bytes], end: End) -> CmdResult {
    if argv.len() > 3 {
        return Err(CmdError::Arity(pop_event(end).into()));
    }
    let count = match argv.get(2) {
        Some(a) => Some(positive(a, "value is out of range, must be positive")?),
        None => None,
    };
    let key = &argv[1][..];
    if peek_list(ctx, key)?.is_none() {
        return Ok(if count.is_some() {
            Reply::NilArray
        } else {
            Reply::Nil
        });
    }
    match count {
        Some(0) => Ok(Reply::Array(Vec::new())),
        None => {
            let Some(l) = write_list(ctx, key)? else {
                return Ok(Reply::Nil);
            };
            let Some(v) = l.pop(end) else {
                return Ok(Reply::Nil);
            };
            let emptied = l.is_empty();
            popped(ctx, key, end, 1, emptied)?;
            Ok(bulk(&v))
        }
        Some(n) => {
            let Some(l) = write_list(ctx, key)? else {
                return Ok(Reply::NilArray);
            };
            let items = l.pop_many(end, n as usize);
            let emptied = l.is_empty();
            popped(ctx, key, end, items.len(), emptied)?;
            Ok(bulks(items.iter()))
        }
    }
}

/// `LPOP key [count]`
pub(super) fn lpop(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    pop(ctx, argv, End::Left)
}

/// `RPOP key [count]`
pub(super) fn rpop(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    pop(ctx, argv, End::Right)
}

/// `LLEN key`
pub(super) fn llen(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    Ok(Reply::Int(
        read_list(ctx, &argv[1])?.map_or(0, |l| l.len() as i64),
    ))
}

/// `LRANGE key start stop`
pub(super) fn lrange(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    let start = arg_i64(&argv[2])?;
    let stop = arg_i64(&argv[3])?;
    let stream_ok = ctx.stream_replies;
    let Some(l) = read_list(ctx, &argv[1])? else {
        return Ok(Reply::Array(Vec::new()));
    };
    Ok(match l.clamp_range(start, stop) {
        Some(r) => crate::cmd::reply_stream::list_range(stream_ok, l, r.clone())
            .unwrap_or_else(|| bulks(l.range(r))),
        None => Reply::Array(Vec::new()),
    })
}

/// `LINDEX key index` (the key is looked up before the index is parsed).
pub(super) fn lindex(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    let Some(l) = read_list(ctx, &argv[1])? else {
        return Ok(Reply::Nil);
    };
    let index = arg_i64(&argv[2])?;
    Ok(l.get(index).map_or(Reply::Nil, bulk))
}

/// `LSET key index element`
pub(super) fn lset(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    let key = &argv[1][..];
    let Some(l) = peek_list(ctx, key)? else {
        return Err(CmdError::NoSuchKey);
    };
    let index = arg_i64(&argv[2])?;
    let Some(i) = l.resolve(index) else {
        return Err(CmdError::err("index out of range"));
    };
    if let Some(l) = write_list(ctx, key)? {
        l.set(i, KStr::from_slice(&argv[3]));
    }
    changed(ctx, key, 1);
    ctx.notify(notify::LIST, "lset", key);
    Ok(Reply::ok())
}

/// `LINSERT key <BEFORE | AFTER> pivot element`: the new length, 0 when the
/// key is missing, -1 when the pivot is not found.
pub(super) fn linsert(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    let after = if argv[2].eq_ignore_ascii_case(b"after") {
        true
    } else if argv[2].eq_ignore_ascii_case(b"before") {
        false
    } else {
        return Err(CmdError::Syntax);
    };
    let key = &argv[1][..];
    let Some(l) = peek_list(ctx, key)? else {
        return Ok(Reply::Int(0));
    };
    let Some(pos) = l.position(&argv[3]) else {
        return Ok(Reply::Int(-1));
    };
    let Some(l) = write_list(ctx, key)? else {
        return Ok(Reply::Int(0));
    };
    l.insert(pos + after as usize, KStr::from_slice(&argv[4]));
    let len = l.len();
    changed(ctx, key, 1);
    ctx.notify(notify::LIST, "linsert", key);
    Ok(Reply::Int(len as i64))
}

/// `LREM key count element`: removes the first `count` occurrences from the
/// head (count > 0), from the tail (count < 0) or all of them (0).
pub(super) fn lrem(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    let count = arg_i64(&argv[2])?;
    let key = &argv[1][..];
    let elem = &argv[3][..];
    let Some(l) = peek_list(ctx, key)? else {
        return Ok(Reply::Int(0));
    };
    let limit = if count == 0 {
        usize::MAX
    } else {
        count.unsigned_abs().min(usize::MAX as u64) as usize
    };
    let mut hits: Vec<usize> = if count >= 0 {
        l.items
            .iter()
            .enumerate()
            .filter(|(_, x)| x.as_bytes() == elem)
            .map(|(i, _)| i)
            .take(limit)
            .collect()
    } else {
        let n = l.len();
        l.items
            .iter()
            .rev()
            .enumerate()
            .filter(|(_, x)| x.as_bytes() == elem)
            .map(|(i, _)| n - 1 - i)
            .take(limit)
            .collect()
    };
    if hits.is_empty() {
        return Ok(Reply::Int(0));
    }
    hits.sort_unstable();
    let Some(l) = write_list(ctx, key)? else {
        return Ok(Reply::Int(0));
    };
    l.remove_positions(&hits);
    let emptied = l.is_empty();
    ctx.notify(notify::LIST, "lrem", key);
    if emptied {
        ctx.remove(key)?;
        ctx.notify(notify::GENERIC, "del", key);
    }
    changed(ctx, key, hits.len());
    Ok(Reply::Int(hits.len() as i64))
}

/// `LTRIM key start stop`. Like Redis, an existing key raises `ltrim` and
/// invalidates WATCHes even when nothing is removed (but counts no change,
/// so nothing is logged).
pub(super) fn ltrim(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    let start = arg_i64(&argv[2])?;
    let stop = arg_i64(&argv[3])?;
    let key = &argv[1][..];
    let Some(l) = peek_list(ctx, key)? else {
        return Ok(Reply::ok());
    };
    let len = l.len();
    let keep = l.clamp_range(start, stop).unwrap_or(0..0);
    let removed = len - keep.len();
    let mut emptied = false;
    if removed > 0 {
        if let Some(l) = write_list(ctx, key)? {
            l.keep(keep);
            emptied = l.is_empty();
        }
    }
    ctx.notify(notify::LIST, "ltrim", key);
    if emptied {
        ctx.remove(key)?;
        ctx.notify(notify::GENERIC, "del", key);
    }
    if removed > 0 {
        changed(ctx, key, removed);
    } else {
        ctx.signal_modified(key);
    }
    Ok(Reply::ok())
}

/// `LPOS key element [RANK rank] [COUNT num-matches] [MAXLEN len]`
struct Lpos<'a> {
    key: &'a [u8],
    elem: &'a [u8],
    /// Which match to start from: 1 = first from the head, -1 = first from
    /// the tail. Never 0.
    rank: i64,
    /// `COUNT`: None when absent (reply a single index), 0 = all matches.
    count: Option<i64>,
    /// `MAXLEN`: compare at most this many elements (0 = no limit).
    maxlen: i64,
}

impl<'a> Lpos<'a> {
    fn parse(argv: &'a [Bytes]) -> Result<Self, CmdError> {
        let mut p = Lpos {
            key: &argv[1],
            elem: &argv[2],
            rank: 1,
            count: None,
            maxlen: 0,
        };
        let mut j = 3;
        while j < argv.len() {
            let opt = &argv[j][..];
            let Some(val) = argv.get(j + 1) else {
                return Err(CmdError::Syntax);
            };
            if opt.eq_ignore_ascii_case(b"rank") {
                p.rank = arg_i64(val)?;
                if p.rank == 0 {
                    return Err(CmdError::err(
                        "RANK can't be zero: use 1 to start from the first match, 2 from the second ... \
                         or use negative to start from the end of the list",
                    ));
                }
            } else if opt.eq_ignore_ascii_case(b"count") {
                p.count = Some(positive(val, "COUNT can't be negative")?);
            } else if opt.eq_ignore_ascii_case(b"maxlen") {
                p.maxlen = positive(val, "MAXLEN can't be negative")?;
            } else {
                return Err(CmdError::Syntax);
            }
            j += 2;
        }
        Ok(p)
    }

    fn exec(self, ctx: &mut Ctx<'_, '_>) -> CmdResult {
        let Some(l) = read_list(ctx, self.key)? else {
            return Ok(if self.count.is_some() {
                Reply::Array(Vec::new())
            } else {
                Reply::Nil
            });
        };
        // Redis negates a negative rank in a C `long`: RANK -2^63 stays
        // negative, so every match qualifies. Wrapping arithmetic keeps that.
        let from_tail = self.rank < 0;
        let rank = if from_tail {
            self.rank.wrapping_neg()
        } else {
            self.rank
        };
        let len = l.len();
        let iter: Box<dyn Iterator<Item = &KStr>> = if from_tail {
            Box::new(l.items.iter().rev())
        } else {
            Box::new(l.items.iter())
        };
        let limit = if self.maxlen == 0 {
            usize::MAX
        } else {
            self.maxlen as usize
        };
        let mut matches: i64 = 0;
        let mut found = Vec::new();
        for (index, x) in iter.take(limit).enumerate() {
            if x.as_bytes() != self.elem {
                continue;
            }
            matches += 1;
            if matches < rank {
                continue;
            }
            let at = if from_tail { len - index - 1 } else { index } as i64;
            found.push(Reply::Int(at));
            match self.count {
                None => break,
                Some(c) if c != 0 && matches.wrapping_sub(rank).wrapping_add(1) >= c => break,
                Some(_) => {}
            }
        }
        Ok(match self.count {
            Some(_) => Reply::Array(found),
            None => found.pop().unwrap_or(Reply::Nil),
        })
    }
}

/// `LPOS key element [RANK rank] [COUNT num-matches] [MAXLEN len]`
pub(super) fn lpos(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    Lpos::parse(argv)?.exec(ctx)
}
