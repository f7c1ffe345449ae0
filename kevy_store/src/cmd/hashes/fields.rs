//! Field-level hash commands: setting, reading, deleting and counting
//! fields, the whole-hash listings, and the HINCRBY counters.

use super::super::ldouble::LongDouble;
use super::{peek, read, write, write_or_create};
use crate::cmd::reply_stream::{self, HashPart};
use crate::ctx::{notify, Ctx};
use crate::error::{CmdError, CmdResult};
use crate::kstr::KStr;
use crate::num::{arg_i64, parse_i64};
use bytes::Bytes;
use kevy_resp::Reply;

fn bulk(s: &KStr) -> Reply {
    Reply::Bulk(s.to_bytes())
}

/// Sets every `field value` pair of `pairs` in the hash under `key`
/// (creating it), signals the change once; returns the number of new fields.
fn set_pairs(ctx: &mut Ctx<'_, '_>, key: &[u8], pairs: &[Bytes]) -> Result<i64, CmdError> {
    let h = write_or_create(ctx, key)?;
    let mut added = 0;
    for p in pairs.chunks_exact(2) {
        added += h.set(&p[0], &p[1]) as i64;
    }
    ctx.modified(key);
    ctx.events.dirty += (pairs.len() / 2).saturating_sub(1) as u64;
    ctx.notify(notify::HASH, "hset", key);
    Ok(added)
}

/// `HSET key field value [field value ...]`
pub(super) fn hset(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    if argv.len() % 2 == 1 {
        return Err(CmdError::Arity("hset".into()));
    }
    Ok(Reply::Int(set_pairs(ctx, &argv[1], &argv[2..])?))
}

/// `HMSET key field value [field value ...]` (deprecated HSET replying OK)
pub(super) fn hmset(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    if argv.len() % 2 == 1 {
        return Err(CmdError::Arity("hmset".into()));
    }
    set_pairs(ctx, &argv[1], &argv[2..])?;
    Ok(Reply::ok())
}

/// `HSETNX key field value`
pub(super) fn hsetnx(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    if peek(ctx, &argv[1])?.is_some_and(|h| h.contains(&argv[2])) {
        return Ok(Reply::Int(0));
    }
    set_pairs(ctx, &argv[1], &argv[2..4])?;
    Ok(Reply::Int(1))
}

/// `HGET key field`
pub(super) fn hget(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    Ok(read(ctx, &argv[1])?
        .and_then(|h| h.get(&argv[2]))
        .map_or(Reply::Nil, bulk))
}

/// `HMGET key field [field ...]`: a nil for each missing field.
pub(super) fn hmget(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    let h = read(ctx, &argv[1])?;
    let out = argv[2..]
        .iter()
        .map(|f| h.and_then(|h| h.get(f)).map_or(Reply::Nil, bulk))
        .collect();
    Ok(Reply::Array(out))
}

/// `HDEL key field [field ...]`: deletes the key with its last field.
pub(super) fn hdel(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    let key = &argv[1][..];
    let Some(h) = write(ctx, key)? else {
        return Ok(Reply::Int(0));
    };
    let mut deleted = 0;
    for f in &argv[2..] {
        deleted += h.remove(f) as i64;
        if h.is_empty() {
            break;
        }
    }
    let emptied = h.is_empty();
    if deleted > 0 {
        if emptied {
            ctx.remove(key)?;
        }
        ctx.modified(key);
        ctx.events.dirty += deleted as u64 - 1;
        ctx.notify(notify::HASH, "hdel", key);
        if emptied {
            ctx.notify(notify::GENERIC, "del", key);
        }
    }
    Ok(Reply::Int(deleted))
}

/// `HEXISTS key field`
pub(super) fn hexists(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    Ok(Reply::Int(
        read(ctx, &argv[1])?.is_some_and(|h| h.contains(&argv[2])) as i64,
    ))
}

/// `HLEN key`
pub(super) fn hlen(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    Ok(Reply::Int(
        read(ctx, &argv[1])?.map_or(0, |h| h.len() as i64),
    ))
}

/// `HSTRLEN key field`
pub(super) fn hstrlen(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    let len = read(ctx, &argv[1])?
        .and_then(|h| h.get(&argv[2]))
        .map_or(0, |v| v.len());
    Ok(Reply::Int(len as i64))
}

/// `HKEYS key`
pub(super) fn hkeys(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    if let Some(r) = streamed(ctx, &argv[1], HashPart::Fields)? {
        return Ok(r);
    }
    let out = read(ctx, &argv[1])?.map(|h| h.iter().map(|(k, _)| bulk(k)).collect());
    Ok(Reply::Array(out.unwrap_or_default()))
}

/// `HVALS key`
pub(super) fn hvals(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    if let Some(r) = streamed(ctx, &argv[1], HashPart::Values)? {
        return Ok(r);
    }
    let out = read(ctx, &argv[1])?.map(|h| h.iter().map(|(_, v)| bulk(v)).collect());
    Ok(Reply::Array(out.unwrap_or_default()))
}

/// `HGETALL key`: a map in RESP3, a flat array in RESP2.
pub(super) fn hgetall(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    if let Some(r) = streamed(ctx, &argv[1], HashPart::Pairs)? {
        return Ok(r);
    }
    let out = read(ctx, &argv[1])?.map(|h| h.iter().map(|(k, v)| (bulk(k), bulk(v))).collect());
    Ok(Reply::Map(out.unwrap_or_default()))
}

/// `HINCRBY key field increment`
pub(super) fn hincrby(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    let (key, field) = (&argv[1][..], &argv[2][..]);
    let by = arg_i64(&argv[3])?;
    let cur = match peek(ctx, key)?.and_then(|h| h.get(field)) {
        None => 0,
        Some(v) => parse_i64(v).ok_or_else(|| CmdError::err("hash value is not an integer"))?,
    };
    let new = cur.checked_add(by).ok_or(CmdError::Overflow)?;
    write_or_create(ctx, key)?.set(field, new.to_string().as_bytes());
    ctx.modified(key);
    ctx.notify(notify::HASH, "hincrby", key);
    Ok(Reply::Int(new))
}

/// `HINCRBYFLOAT key field increment`: extended precision and `%.17Lf`
/// formatting as INCRBYFLOAT; logged as `HSET key field result`.
pub(super) fn hincrbyfloat(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    let (key, field) = (&argv[1][..], &argv[2][..]);
    let by = LongDouble::parse(&argv[3]).ok_or(CmdError::NotFloat)?;
    // Zero plus a finite value is always finite: only an infinite one fails.
    if LongDouble::ZERO.add(&by).is_none() {
        return Err(CmdError::err("value is NaN or Infinity"));
    }
    let cur = match peek(ctx, key)?.and_then(|h| h.get(field)) {
        None => LongDouble::ZERO,
        Some(v) => {
            LongDouble::parse(v).ok_or_else(|| CmdError::err("hash value is not a float"))?
        }
    };
    let sum = cur
        .add(&by)
        .ok_or_else(|| CmdError::err("increment would produce NaN or Infinity"))?;
    let text = sum.to_human();
    write_or_create(ctx, key)?.set(field, text.as_bytes());
    ctx.modified(key);
    ctx.notify(notify::HASH, "hincrbyfloat", key);
    ctx.propagate(key, &[b"HSET", key, field, text.as_bytes()]);
    Ok(Reply::Bulk(Bytes::from(text)))
}

/// A streamed HKEYS/HVALS/HGETALL reply when the hash is big enough.
fn streamed(ctx: &mut Ctx<'_, '_>, key: &[u8], part: HashPart) -> Result<Option<Reply>, CmdError> {
    let stream_ok = ctx.stream_replies;
    Ok(read(ctx, key)?
        .filter(|h| reply_stream::wanted(stream_ok, h.len()))
        .map(|h| reply_stream::hash_fields(h, part)))
}

#[cfg(test)]
mod tests {
    use crate::cmd::testutil::T;

    #[test]
    fn set_get_delete() {
        let mut t = T::new();
        t.check(&[
            ("HSET h a 1 b 2 a 3", ":2"),
            (
                "HGETALL h",
                "*4\r\n$1\r\na\r\n$1\r\n3\r\n$1\r\nb\r\n$1\r\n2",
            ),
            (
                "HSET h c",
                "-ERR wrong number of arguments for 'hset' command",
            ),
            ("HMSET h c 4", "+OK"),
            ("HSETNX h c 5", ":0"),
            ("HSETNX h d 5", ":1"),
            ("HKEYS h", "*4\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd"),
            ("HDEL h b zz", ":1"),
            ("HVALS h", "*3\r\n$1\r\n3\r\n$1\r\n4\r\n$1\r\n5"),
            ("HMGET h a zz", "*2\r\n$1\r\n3\r\n$-1"),
            ("HMGET nokey a", "*1\r\n$-1"),
            ("HLEN h", ":3"),
            ("HSTRLEN h a", ":1"),
            ("HEXISTS h zz", ":0"),
            ("OBJECT ENCODING h", "$8\r\nlistpack"),
            ("HDEL h a c d", ":3"),
            ("EXISTS h", ":0"),
            ("SET s x", "+OK"),
            (
                "HGET s a",
                "-WRONGTYPE Operation against a key holding the wrong kind of value",
            ),
            (
                "HSET s a 1",
                "-WRONGTYPE Operation against a key holding the wrong kind of value",
            ),
        ]);
    }

    #[test]
    fn counters() {
        let mut t = T::new();
        let rec = t.record();
        t.check(&[
            ("HINCRBY h n 9223372036854775806", ":9223372036854775806"),
            ("HINCRBY h n 1", ":9223372036854775807"),
            (
                "HINCRBY h n 1",
                "-ERR increment or decrement would overflow",
            ),
            (
                "HINCRBY h n x",
                "-ERR value is not an integer or out of range",
            ),
            ("HSET h s 01", ":1"),
            ("HINCRBY h s 1", "-ERR hash value is not an integer"),
            ("HINCRBYFLOAT h s 1", "$1\r\n2"),
            ("HINCRBYFLOAT h f 0.1", "$3\r\n0.1"),
            ("HINCRBYFLOAT h f 0.2", "$3\r\n0.3"),
            ("HINCRBYFLOAT h f inf", "-ERR value is NaN or Infinity"),
            ("HINCRBYFLOAT h f x", "-ERR value is not a valid float"),
            ("HSET h w abc", ":1"),
            ("HINCRBYFLOAT h w 1", "-ERR hash value is not a float"),
        ]);
        let lines = rec.lines();
        assert!(lines.contains(&"HSET h f 0.3".to_string()), "{lines:?}");
        assert!(
            !lines.iter().any(|l| l.starts_with("HINCRBYFLOAT")),
            "{lines:?}"
        );
    }
}
