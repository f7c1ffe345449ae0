//! Pops and random picks: ZPOPMIN, ZPOPMAX, BZPOPMIN, BZPOPMAX, ZMPOP,
//! BZMPOP (Redis's `genericZpopCommand` and `blockingGenericZpopCommand`)
//! and ZRANDMEMBER. Every pop is logged as `ZPOPMIN|ZPOPMAX key count`
//! routed to the popped key's shard, which replays deterministically.

use super::parse::timeout;
use super::{arg_long, exists_for_write, is, push_item, read, score_reply, write};
use crate::ctx::{notify, Ctx};
use crate::error::{CmdError, CmdResult};
use crate::types::zset::Item;
use bytes::Bytes;
use kevy_resp::{Protocol, Reply};

/// How a pop's reply is shaped.
#[derive(Clone, Copy)]
struct Shape {
    /// Name the key (BZPOP*, ZMPOP, BZMPOP).
    emit_key: bool,
    /// `[member, score]` pairs rather than a flat list.
    nested: bool,
    /// Reply a null array rather than an empty one when nothing is popped.
    nil_when_empty: bool,
}

/// `getPositiveLongFromObjectOrReply` with Redis's default message.
fn positive(b: &[u8]) -> Result<i64, CmdError> {
    match crate::num::parse_i64(b) {
        Some(n) if n >= 0 => Ok(n),
        _ => Err(CmdError::err("value is out of range, must be positive")),
    }
}

/// Pops up to `count` members (`None`: one, replied without nesting) from
/// the first of `keys` that exists.
fn generic_pop(
    ctx: &mut Ctx<'_, '_>,
    keys: &[&[u8]],
    max: bool,
    count: Option<i64>,
    shape: Shape,
) -> CmdResult {
    let mut found = None;
    for &k in keys {
        if exists_for_write(ctx, k)? {
            found = Some(k);
            break;
        }
    }
    let Some(key) = found else {
        ctx.suppress_propagation();
        return Ok(if shape.nil_when_empty {
            Reply::NilArray
        } else {
            Reply::Array(Vec::new())
        });
    };
    let count = count.unwrap_or(1);
    if count == 0 {
        ctx.suppress_propagation();
        return Ok(Reply::Array(Vec::new()));
    }
    let Some(z) = write(ctx, key)? else {
        return Ok(Reply::Array(Vec::new()));
    };
    let n = (count as u64).min(z.len() as u64) as usize;
    let mut popped: Vec<Item> = Vec::with_capacity(n);
    for _ in 0..n {
        let r = if max { z.len() - 1 } else { 0 };
        match z.remove_at(r) {
            Some(it) => popped.push(it),
            None => break,
        }
    }
    let mut items = Vec::with_capacity(popped.len() * 2);
    for it in &popped {
        if shape.nested {
            items.push(Reply::Array(vec![
                Reply::Bulk(it.member.to_bytes()),
                score_reply(it.score),
            ]));
        } else {
            push_item(&mut items, Protocol::Resp2, it, true);
        }
    }
    let reply = if shape.emit_key && shape.nested {
        Reply::Array(vec![
            Reply::Bulk(Bytes::copy_from_slice(key)),
            Reply::Array(items),
        ])
    } else if shape.emit_key {
        items.insert(0, Reply::Bulk(Bytes::copy_from_slice(key)));
        Reply::Array(items)
    } else {
        Reply::Array(items)
    };
    let event = if max { "zpopmax" } else { "zpopmin" };
    ctx.notify(notify::ZSET, event, key);
    ctx.modified(key);
    super::add_dirty(ctx, popped.len());
    drop_if_empty_key(ctx, key)?;
    let n = popped.len().to_string();
    ctx.propagate(
        key,
        &[if max { b"ZPOPMAX" } else { b"ZPOPMIN" }, key, n.as_bytes()],
    );
    Ok(reply)
}

fn drop_if_empty_key(ctx: &mut Ctx<'_, '_>, key: &[u8]) -> Result<(), CmdError> {
    super::drop_if_empty(ctx, key).map(|_| ())
}

/// `ZPOPMIN key [count]` / `ZPOPMAX key [count]`
fn zpop(ctx: &mut Ctx<'_, '_>, argv: &[Bytes], max: bool) -> CmdResult {
    if argv.len() > 3 {
        return Err(CmdError::Syntax);
    }
    let count = argv.get(2).map(|c| positive(c)).transpose()?;
    let nested = ctx.proto == Protocol::Resp3 && count.is_some();
    generic_pop(
        ctx,
        &[&argv[1]],
        max,
        count,
        Shape {
            emit_key: false,
            nested,
            nil_when_empty: false,
        },
    )
}

pub(super) fn zpopmin(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    zpop(ctx, argv, false)
}

pub(super) fn zpopmax(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    zpop(ctx, argv, true)
}

/// `blockingGenericZpopCommand`: serves the first non-empty key, or blocks
/// (or, when blocking is not allowed, replies as a timeout would).
fn blocking_pop(
    ctx: &mut Ctx<'_, '_>,
    keys: &[&[u8]],
    timeout_arg: &[u8],
    max: bool,
    count: Option<i64>,
    shape: Shape,
) -> CmdResult {
    let deadline = timeout(timeout_arg, ctx.now_ms)?;
    if ctx.woken_by_wrong_type("zset") {
        ctx.block_on(keys, deadline);
        return Ok(Reply::NilArray);
    }
    for &k in keys {
        if exists_for_write(ctx, k)? {
            return generic_pop(ctx, &[k], max, count, shape);
        }
    }
    ctx.suppress_propagation();
    if ctx.may_block {
        ctx.block_on(keys, deadline);
    }
    Ok(Reply::NilArray)
}

/// `BZPOPMIN key [key ...] timeout` / `BZPOPMAX ...`
fn bzpop(ctx: &mut Ctx<'_, '_>, argv: &[Bytes], max: bool) -> CmdResult {
    let keys: Vec<&[u8]> = argv[1..argv.len() - 1].iter().map(|k| &k[..]).collect();
    let shape = Shape {
        emit_key: true,
        nested: false,
        nil_when_empty: false,
    };
    blocking_pop(ctx, &keys, &argv[argv.len() - 1], max, None, shape)
}

pub(super) fn bzpopmin(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    bzpop(ctx, argv, false)
}

pub(super) fn bzpopmax(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    bzpop(ctx, argv, true)
}

/// `[B]ZMPOP [timeout] numkeys key [key ...] MIN|MAX [COUNT count]`
/// (`zmpopGenericCommand`); `at` is the index of `numkeys`.
fn zmpop_generic(ctx: &mut Ctx<'_, '_>, argv: &[Bytes], at: usize, blocking: bool) -> CmdResult {
    let numkeys = match crate::num::parse_i64(&argv[at]) {
        Some(n) if n >= 1 => n as u64,
        _ => return Err(CmdError::err("numkeys should be greater than 0")),
    };
    let where_at = (at as u64).saturating_add(numkeys).saturating_add(1);
    if where_at >= argv.len() as u64 {
        return Err(CmdError::Syntax);
    }
    let where_at = where_at as usize;
    let max = if is(&argv[where_at], "min") {
        false
    } else if is(&argv[where_at], "max") {
        true
    } else {
        return Err(CmdError::Syntax);
    };
    let mut count = None;
    let mut j = where_at + 1;
    while j < argv.len() {
        if count.is_none() && is(&argv[j], "count") && j + 1 < argv.len() {
            j += 1;
            match crate::num::parse_i64(&argv[j]) {
                Some(n) if n >= 1 => count = Some(n),
                _ => return Err(CmdError::err("count should be greater than 0")),
            }
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    let count = Some(count.unwrap_or(1));
    let keys: Vec<&[u8]> = argv[at + 1..where_at].iter().map(|k| &k[..]).collect();
    let shape = Shape {
        emit_key: true,
        nested: true,
        nil_when_empty: true,
    };
    if blocking {
        blocking_pop(ctx, &keys, &argv[1], max, count, shape)
    } else {
        generic_pop(ctx, &keys, max, count, shape)
    }
}

pub(super) fn zmpop(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    zmpop_generic(ctx, argv, 1, false)
}

pub(super) fn bzmpop(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    zmpop_generic(ctx, argv, 2, true)
}

/// Largest count ZRANDMEMBER serves: Redis streams any count to the client
/// (until its output limit closes it); kevy builds the reply in memory.
const RANDMEMBER_MAX: u64 = 1 << 28;

/// `ZRANDMEMBER key [count [WITHSCORES]]`
pub(super) fn zrandmember(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    if argv.len() < 3 {
        let Some(z) = read(ctx, &argv[1])? else {
            return Ok(Reply::Nil);
        };
        let r = crate::rand::below(z.len() as u64) as usize;
        return Ok(z
            .get(r)
            .map_or(Reply::Nil, |it| Reply::Bulk(it.member.to_bytes())));
    }
    let l = arg_long(&argv[2])?;
    if l == i64::MIN {
        return Err(CmdError::err(
            "value is out of range, value must between -9223372036854775807 and 9223372036854775807",
        ));
    }
    let withscores = match argv.len() {
        3 => false,
        4 if is(&argv[3], "withscores") => true,
        _ => return Err(CmdError::Syntax),
    };
    if withscores && !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&l) {
        return Err(CmdError::err("value is out of range"));
    }
    let proto = ctx.proto;
    let stream_ok = ctx.stream_replies;
    let Some(z) = read(ctx, &argv[1])? else {
        return Ok(Reply::Array(Vec::new()));
    };
    let size = z.len();
    let (count, uniq) = (l.unsigned_abs(), l >= 0);
    if count == 0 {
        return Ok(Reply::Array(Vec::new()));
    }
    let mut out = Vec::new();
    if !uniq || count == 1 {
        if count > RANDMEMBER_MAX {
            return Err(CmdError::err("value is out of range"));
        }
        if crate::cmd::reply_stream::wanted(stream_ok, count as usize) {
            let pool = crate::cmd::reply_stream::Pool::ZSet(z.clone());
            return Ok(crate::cmd::reply_stream::random_picks(
                pool,
                count as usize,
                withscores,
            ));
        }
        for _ in 0..count {
            if let Some(it) = z.get(crate::rand::below(size as u64) as usize) {
                push_item(&mut out, proto, it, withscores);
            }
        }
        return Ok(Reply::Array(out));
    }
    if count >= size as u64 {
        // The whole set, walked from the tail as Redis's zset iterator does.
        for it in z.range(0, size, true) {
            push_item(&mut out, proto, it, withscores);
        }
        return Ok(Reply::Array(out));
    }
    // `count` distinct ranks, in random order: a partial Fisher-Yates over
    // the ranks when many are wanted, rejection sampling otherwise.
    let count = count as usize;
    let ranks: Vec<usize> = if count * 3 > size {
        let mut all: Vec<usize> = (0..size).collect();
        for i in 0..count {
            let j = i + crate::rand::below((size - i) as u64) as usize;
            all.swap(i, j);
        }
        all.truncate(count);
        all
    } else {
        let mut seen = std::collections::HashSet::with_capacity(count);
        let mut v = Vec::with_capacity(count);
        while v.len() < count {
            let r = crate::rand::below(size as u64) as usize;
            if seen.insert(r) {
                v.push(r);
            }
        }
        v
    };
    for r in ranks {
        if let Some(it) = z.get(r) {
            push_item(&mut out, proto, it, withscores);
        }
    }
    Ok(Reply::Array(out))
}
