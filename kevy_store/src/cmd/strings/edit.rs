//! In-place string edits and counters: STRLEN, APPEND, SETRANGE, GETRANGE
//! (SUBSTR), INCR, DECR, INCRBY, DECRBY, INCRBYFLOAT.

use super::*;

/// `STRLEN key`
pub(super) fn strlen(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    Ok(Reply::Int(
        ctx.get_str(&argv[1])?.map_or(0, |s| s.len() as i64),
    ))
}

/// `ERR string exceeds maximum allowed size (proto-max-bulk-len)` unless
/// `offset + len` fits.
pub(super) fn check_len(offset: u64, len: usize) -> Result<(), CmdError> {
    if offset.saturating_add(len as u64) > PROTO_MAX_BULK_LEN as u64 {
        return Err(CmdError::err(
            "string exceeds maximum allowed size (proto-max-bulk-len)",
        ));
    }
    Ok(())
}

/// Replaces the string under an existing `key` in place (keeping its TTL),
/// marked `raw` as Redis marks strings it has unshared for editing.
pub(super) fn replace_raw(ctx: &mut Ctx<'_, '_>, key: &[u8], s: Vec<u8>) -> Result<(), CmdError> {
    if let Some(e) = ctx.get_mut(key)? {
        e.value = Value::str_with(s, STR_RAW);
    }
    Ok(())
}

/// `APPEND key value`
pub(super) fn append(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    let (key, tail) = (&argv[1][..], &argv[2][..]);
    let len = match write_str(ctx, key)? {
        None => {
            ctx.set(key, Value::str(tail), false)?;
            tail.len()
        }
        Some(cur) => {
            check_len(cur.len() as u64, tail.len())?;
            let mut s = Vec::with_capacity(cur.len() + tail.len());
            s.extend_from_slice(&cur);
            s.extend_from_slice(tail);
            let len = s.len();
            replace_raw(ctx, key, s)?;
            len
        }
    };
    ctx.modified(key);
    ctx.notify(notify::STRING, "append", key);
    Ok(Reply::Int(len as i64))
}

/// `SETRANGE key offset value`
pub(super) fn setrange(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    let (key, patch) = (&argv[1][..], &argv[3][..]);
    let offset = arg_i64(&argv[2])?;
    if offset < 0 {
        return Err(CmdError::err("offset is out of range"));
    }
    let offset = offset as u64;
    let cur = write_str(ctx, key)?;
    if patch.is_empty() {
        ctx.suppress_propagation();
        return Ok(Reply::Int(cur.map_or(0, |s| s.len() as i64)));
    }
    check_len(offset, patch.len())?;
    let offset = offset as usize;
    let mut s = cur.as_deref().unwrap_or_default().to_vec();
    if s.len() < offset + patch.len() {
        s.resize(offset + patch.len(), 0);
    }
    s[offset..offset + patch.len()].copy_from_slice(patch);
    let len = s.len();
    if cur.is_some() {
        replace_raw(ctx, key, s)?;
    } else {
        ctx.set(key, Value::str_with(s, STR_RAW), false)?;
    }
    ctx.modified(key);
    ctx.notify(notify::STRING, "setrange", key);
    Ok(Reply::Int(len as i64))
}

/// `GETRANGE key start end` (and its old name `SUBSTR`)
pub(super) fn getrange(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    let mut start = arg_i64(&argv[2])?;
    let mut end = arg_i64(&argv[3])?;
    let Some(s) = get_string(ctx, &argv[1])? else {
        return Ok(Reply::Bulk(Bytes::new()));
    };
    let len = s.len() as i64;
    if start < 0 && end < 0 && start > end {
        return Ok(Reply::Bulk(Bytes::new()));
    }
    if start < 0 {
        start += len;
    }
    if end < 0 {
        end += len;
    }
    start = start.max(0);
    end = end.max(0);
    if end >= len {
        end = len - 1;
    }
    if start > end || len == 0 {
        return Ok(Reply::Bulk(Bytes::new()));
    }
    Ok(Reply::Bulk(Bytes::copy_from_slice(
        &s[start as usize..=end as usize],
    )))
}

/// Adds `by` to the integer under `key` (created as 0), keeping its TTL.
pub(super) fn incr_by(ctx: &mut Ctx<'_, '_>, key: &[u8], by: i64) -> CmdResult {
    let cur = match write_str(ctx, key)? {
        None => 0,
        Some(s) => parse_i64(&s).ok_or(CmdError::NotInteger)?,
    };
    let new = cur.checked_add(by).ok_or(CmdError::Overflow)?;
    ctx.set(key, Value::str(new.to_string().as_bytes()), true)?;
    ctx.modified(key);
    ctx.notify(notify::STRING, "incrby", key);
    Ok(Reply::Int(new))
}

/// `INCR key`
pub(super) fn incr(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    incr_by(ctx, &argv[1], 1)
}

/// `DECR key`
pub(super) fn decr(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    incr_by(ctx, &argv[1], -1)
}

/// `INCRBY key increment`
pub(super) fn incrby(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    let by = arg_i64(&argv[2])?;
    incr_by(ctx, &argv[1], by)
}

/// `DECRBY key decrement`
pub(super) fn decrby(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    let by = arg_i64(&argv[2])?;
    if by == i64::MIN {
        return Err(CmdError::err("decrement would overflow"));
    }
    incr_by(ctx, &argv[1], -by)
}

/// `INCRBYFLOAT key increment`: computed in x87 extended precision and
/// formatted with `%.17Lf` as Redis does, so results match digit for digit;
/// logged as `SET key result KEEPTTL`.
pub(super) fn incrbyfloat(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    let key = &argv[1][..];
    let cur = match write_str(ctx, key)? {
        None => LongDouble::ZERO,
        Some(s) => LongDouble::parse(&s).ok_or(CmdError::NotFloat)?,
    };
    let by = LongDouble::parse(&argv[2]).ok_or(CmdError::NotFloat)?;
    let sum = cur
        .add(&by)
        .ok_or_else(|| CmdError::err("increment would produce NaN or Infinity"))?;
    let text = sum.to_human();
    ctx.set(key, Value::str_with(text.as_bytes(), STR_NOINT), true)?;
    ctx.modified(key);
    ctx.notify(notify::STRING, "incrbyfloat", key);
    ctx.propagate(key, &[b"SET", key, text.as_bytes(), b"KEEPTTL"]);
    Ok(Reply::Bulk(Bytes::from(text)))
}
