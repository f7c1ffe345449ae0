//! List commands that span keys or wait: LMOVE/RPOPLPUSH, LMPOP and the
//! blocking BLPOP/BRPOP/BLMOVE/BRPOPLPUSH/BLMPOP.
//!
//! A blocking command serves at once when a key has data; otherwise it asks
//! the server to park the client ([`Ctx::block_on`]) and the server re-runs
//! the same argv when a push makes a key ready, or replies the timeout value
//! itself. Inside MULTI (`may_block` false) it replies the timeout value at
//! once, as Redis does.
//!
//! Logging: the source and destination of a move may live on different
//! shards, and each shard's log must hold only effects on its own keys, so a
//! move is logged as `LPOP|RPOP src` in the source's log plus
//! `LPUSH|RPUSH dst element` in the destination's (one `LMOVE` entry when
//! both keys share a shard). Multi-key pops are logged as the `LPOP|RPOP key
//! [n]` that actually happened, on that key's shard.

use super::*;
use crate::ctx::shard_for;
use crate::error::CmdResult;
use crate::kstr::KStr;
use crate::num::parse_i64;

/// Parses a blocking command's timeout (seconds, fractional allowed) as
/// Redis 7.0's `getTimeoutFromObjectOrReply` does and turns it into an
/// absolute deadline in Unix ms (0 = wait forever). The number is read with
/// `strtold` rules (hex and `inf` included); the product with 1000 is
/// rounded up, and a value that does not fit becomes negative (what the C
/// conversion yields on x86), hence `timeout is negative` for `inf`.
pub(crate) fn parse_timeout(now_ms: u64, arg: &[u8]) -> Result<u64, CmdError> {
    // One parser for every blocking family (sorted sets own it): Redis
    // 7.0 reads the seconds as a long double and rounds the milliseconds
    // up, so 0.0001 times out after 1 ms rather than waiting forever.
    crate::cmd::zsets::parse::timeout(arg, now_ms)
}

/// Pops one element from `end` of `src` and pushes it at `to` of `dst`
/// (Redis's `lmoveGenericCommand`): nil when `src` is missing, `WrongType`
/// when either key holds another type.
fn lmove_generic(ctx: &mut Ctx<'_, '_>, src: &[u8], dst: &[u8], from: End, to: End) -> CmdResult {
    if peek_list(ctx, src)?.is_none() {
        return Ok(Reply::Nil);
    }
    peek_list(ctx, dst)?;
    let Some(l) = write_list(ctx, src)? else {
        return Ok(Reply::Nil);
    };
    let Some(v) = l.pop(from) else {
        return Ok(Reply::Nil);
    };
    let same = src == dst;
    if same {
        l.push(to, v.clone());
    }
    let emptied = l.is_empty();
    if !same {
        if emptied {
            ctx.remove(src)?;
        }
        with_created(ctx, dst, |d| d.push(to, v.clone()))?;
    }
    ctx.signal_modified(dst);
    ctx.notify(notify::LIST, push_event(to), dst);
    ctx.key_ready(dst);
    ctx.notify(notify::LIST, pop_event(from), src);
    if emptied {
        ctx.notify(notify::GENERIC, "del", src);
    }
    changed(ctx, src, 1);
    log_move(ctx, src, dst, from, to, &v);
    Ok(bulk(&v))
}

fn log_move(ctx: &mut Ctx<'_, '_>, src: &[u8], dst: &[u8], from: End, to: End, v: &[u8]) {
    let n = ctx.nshards();
    let name = |e: End| match e {
        End::Left => &b"LEFT"[..],
        End::Right => b"RIGHT",
    };
    if shard_for(src, n) == shard_for(dst, n) {
        ctx.propagate(src, &[b"LMOVE", src, dst, name(from), name(to)]);
    } else {
        ctx.propagate(src, &[pop_event(from).to_ascii_uppercase().as_bytes(), src]);
        ctx.propagate(
            dst,
            &[push_event(to).to_ascii_uppercase().as_bytes(), dst, v],
        );
    }
}

/// `LMOVE source destination <LEFT | RIGHT> <LEFT | RIGHT>`
pub(super) fn lmove(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    let from = parse_end(&argv[3])?;
    let to = parse_end(&argv[4])?;
    lmove_generic(ctx, &argv[1], &argv[2], from, to)
}

/// `RPOPLPUSH source destination`
pub(super) fn rpoplpush(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    lmove_generic(ctx, &argv[1], &argv[2], End::Right, End::Left)
}

/// BLMOVE/BRPOPLPUSH once the arguments are parsed: move now, or wait on
/// `src` (Redis's `blmoveGenericCommand`).
fn blmove_generic(
    ctx: &mut Ctx<'_, '_>,
    argv: &[Bytes],
    from: End,
    to: End,
    deadline: u64,
) -> CmdResult {
    let (src, dst) = (&argv[1][..], &argv[2][..]);
    if ctx.woken_by_wrong_type("list") {
        ctx.block_on(&[src], deadline);
        return Ok(Reply::Nil);
    }
    if peek_list(ctx, src)?.is_some() {
        return lmove_generic(ctx, src, dst, from, to);
    }
    if ctx.may_block {
        ctx.block_on(&[src], deadline);
    }
    Ok(Reply::Nil)
}

/// `BLMOVE source destination <LEFT | RIGHT> <LEFT | RIGHT> timeout`
pub(super) fn blmove(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    let from = parse_end(&argv[3])?;
    let to = parse_end(&argv[4])?;
    let deadline = parse_timeout(ctx.now_ms, &argv[5])?;
    blmove_generic(ctx, argv, from, to, deadline)
}

/// `BRPOPLPUSH source destination timeout`
pub(super) fn brpoplpush(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    let deadline = parse_timeout(ctx.now_ms, &argv[3])?;
    blmove_generic(ctx, argv, End::Right, End::Left, deadline)
}

/// Pops from the first non-empty list among `keys` (Redis's
/// `blockingPopGenericCommand` / `mpopGenericCommand`): `count` None pops
/// one element and replies `[key, element]` (BLPOP); Some(n) pops up to n
/// and replies `[key, [elements]]` (LMPOP). None when every key is missing.
/// A key of another type met before a non-empty list is `WrongType`.
fn pop_first(
    ctx: &mut Ctx<'_, '_>,
    keys: &[Bytes],
    end: End,
    count: Option<u64>,
) -> Result<Option<Reply>, CmdError> {
    for key in keys {
        let key = &key[..];
        if peek_list(ctx, key)?.is_none_or(|l| l.is_empty()) {
            continue;
        }
        let Some(l) = write_list(ctx, key)? else {
            continue;
        };
        let name = pop_event(end).to_ascii_uppercase();
        let (reply, n) = match count {
            None => {
                let Some(v) = l.pop(end) else { continue };
                (vec![bulk(&KStr::from_slice(key)), bulk(&v)], 1)
            }
            Some(c) => {
                let items = l.pop_many(end, c.min(usize::MAX as u64) as usize);
                let n = items.len();
                (vec![bulk(&KStr::from_slice(key)), bulks(items.iter())], n)
            }
        };
        let emptied = l.is_empty();
        popped(ctx, key, end, n, emptied)?;
        match count {
            None => ctx.propagate(key, &[name.as_bytes(), key]),
            Some(_) => ctx.propagate(key, &[name.as_bytes(), key, n.to_string().as_bytes()]),
        }
        return Ok(Some(Reply::Array(reply)));
    }
    Ok(None)
}

/// `BLPOP`/`BRPOP key [key ...] timeout`
fn bpop(ctx: &mut Ctx<'_, '_>, argv: &[Bytes], end: End) -> CmdResult {
    let deadline = parse_timeout(ctx.now_ms, &argv[argv.len() - 1])?;
    let keys = &argv[1..argv.len() - 1];
    if ctx.woken_by_wrong_type("list") {
        block(ctx, keys, deadline);
        return Ok(Reply::NilArray);
    }
    if let Some(r) = pop_first(ctx, keys, end, None)? {
        return Ok(r);
    }
    block(ctx, keys, deadline);
    Ok(Reply::NilArray)
}

/// Asks the server to wait on `keys` when this client may block.
fn block(ctx: &mut Ctx<'_, '_>, keys: &[Bytes], deadline: u64) {
    if ctx.may_block {
        let keys: Vec<&[u8]> = keys.iter().map(|k| &k[..]).collect();
        ctx.block_on(&keys, deadline);
    }
}

/// `BLPOP key [key ...] timeout`
pub(super) fn blpop(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    bpop(ctx, argv, End::Left)
}

/// `BRPOP key [key ...] timeout`
pub(super) fn brpop(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    bpop(ctx, argv, End::Right)
}

/// `[B]LMPOP [timeout] numkeys key [key ...] <LEFT | RIGHT> [COUNT count]`;
/// `at` is the index of `numkeys` (1 for LMPOP, 2 for BLMPOP).
struct Mpop<'a> {
    keys: &'a [Bytes],
    end: End,
    count: u64,
}

impl<'a> Mpop<'a> {
    fn parse(argv: &'a [Bytes], at: usize) -> Result<Self, CmdError> {
        let numkeys = match parse_i64(arg(argv, at)) {
            Some(n) if n >= 1 => n as u64,
            _ => return Err(CmdError::err("numkeys should be greater than 0")),
        };
        let end_at = (at as u64 + 1).saturating_add(numkeys);
        if end_at >= argv.len() as u64 {
            return Err(CmdError::Syntax);
        }
        let end_at = end_at as usize;
        let end = parse_end(&argv[end_at])?;
        let mut count = None;
        let mut j = end_at + 1;
        while j < argv.len() {
            match argv.get(j + 1) {
                Some(v) if count.is_none() && argv[j].eq_ignore_ascii_case(b"count") => {
                    count = match parse_i64(v) {
                        Some(c) if c >= 1 => Some(c as u64),
                        _ => return Err(CmdError::err("count should be greater than 0")),
                    };
                }
                _ => return Err(CmdError::Syntax),
            }
            j += 2;
        }
        Ok(Mpop {
            keys: &argv[at + 1..end_at],
            end,
            count: count.unwrap_or(1),
        })
    }
}

/// Key positions of `[B]LMPOP` with `numkeys` at `at`: none when the
/// command is malformed (it then fails before touching a key).
fn mpop_keys(argv: &[Bytes], at: usize) -> Vec<usize> {
    match Mpop::parse(argv, at) {
        Ok(m) => (at + 1..at + 1 + m.keys.len()).collect(),
        Err(_) => Vec::new(),
    }
}

/// Key positions of `LMPOP`.
pub(super) fn lmpop_keys(argv: &[Bytes]) -> Vec<usize> {
    mpop_keys(argv, 1)
}

/// Key positions of `BLMPOP`.
pub(super) fn blmpop_keys(argv: &[Bytes]) -> Vec<usize> {
    mpop_keys(argv, 2)
}

/// `LMPOP numkeys key [key ...] <LEFT | RIGHT> [COUNT count]`
pub(super) fn lmpop(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    let m = Mpop::parse(argv, 1)?;
    Ok(pop_first(ctx, m.keys, m.end, Some(m.count))?.unwrap_or(Reply::NilArray))
}

/// `BLMPOP timeout numkeys key [key ...] <LEFT | RIGHT> [COUNT count]`
/// (the timeout is checked after the other arguments, as Redis does).
pub(super) fn blmpop(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    let m = Mpop::parse(argv, 2)?;
    let deadline = parse_timeout(ctx.now_ms, &argv[1])?;
    if ctx.woken_by_wrong_type("list") {
        block(ctx, m.keys, deadline);
        return Ok(Reply::NilArray);
    }
    if let Some(r) = pop_first(ctx, m.keys, m.end, Some(m.count))? {
        return Ok(r);
    }
    block(ctx, m.keys, deadline);
    Ok(Reply::NilArray)
}
