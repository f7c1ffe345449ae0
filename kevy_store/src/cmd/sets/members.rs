//! Member-level set commands: adding, removing, testing and listing
//! members, SMOVE between two sets (possibly on two shards), and SSCAN.

use super::{peek, read, write, write_or_create};
use crate::cmd::hashes::scan::{parse_cursor, scan_reply, ScanOpts};
use crate::cmd::reply_stream;
use crate::ctx::{notify, Ctx};
use crate::error::CmdResult;
use bytes::Bytes;
use kevy_resp::Reply;

/// `SADD key member [member ...]`
pub(super) fn sadd(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    let key = &argv[1][..];
    let s = write_or_create(ctx, key)?;
    let added = argv[2..].iter().filter(|m| s.add(m)).count();
    if added > 0 {
        ctx.modified(key);
        ctx.events.dirty += added as u64 - 1;
        ctx.notify(notify::SET, "sadd", key);
    }
    Ok(Reply::Int(added as i64))
}

/// `SREM key member [member ...]`: deletes the key with its last member.
pub(super) fn srem(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    let key = &argv[1][..];
    if !peek(ctx, key)?.is_some_and(|s| argv[2..].iter().any(|m| s.contains(m))) {
        return Ok(Reply::Int(0));
    }
    let Some(s) = write(ctx, key)? else {
        return Ok(Reply::Int(0));
    };
    let mut removed = 0;
    for m in &argv[2..] {
        removed += s.remove(m) as u64;
        if s.is_empty() {
            break;
        }
    }
    let emptied = s.is_empty();
    if emptied {
        ctx.remove(key)?;
    }
    ctx.modified(key);
    ctx.events.dirty += removed.saturating_sub(1);
    ctx.notify(notify::SET, "srem", key);
    if emptied {
        ctx.notify(notify::GENERIC, "del", key);
    }
    Ok(Reply::Int(removed as i64))
}

/// `SMEMBERS key`: ascending for an intset; a set in RESP3.
pub(super) fn smembers(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    let stream_ok = ctx.stream_replies;
    if let Some(s) = read(ctx, &argv[1])?.filter(|s| reply_stream::wanted(stream_ok, s.len())) {
        return Ok(reply_stream::set_members(s));
    }
    let out = read(ctx, &argv[1])?.map(|s| s.iter().map(|m| Reply::Bulk(m.to_bytes())).collect());
    Ok(Reply::Set(out.unwrap_or_default()))
}

/// `SISMEMBER key member`
pub(super) fn sismember(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    Ok(Reply::Int(
        read(ctx, &argv[1])?.is_some_and(|s| s.contains(&argv[2])) as i64,
    ))
}

/// `SMISMEMBER key member [member ...]`
pub(super) fn smismember(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    let s = read(ctx, &argv[1])?;
    let out = argv[2..]
        .iter()
        .map(|m| Reply::Int(s.is_some_and(|s| s.contains(m)) as i64))
        .collect();
    Ok(Reply::Array(out))
}

/// `SCARD key`
pub(super) fn scard(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    Ok(Reply::Int(
        read(ctx, &argv[1])?.map_or(0, |s| s.len() as i64),
    ))
}

/// `SMOVE source destination member`: logged as `SREM source member` on
/// the source's shard and `SADD destination member` on the destination's,
/// so each shard's log holds only its own keys.
pub(super) fn smove(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    let (src, dst, m) = (&argv[1][..], &argv[2][..], &argv[3][..]);
    let Some(has) = peek(ctx, src)?.map(|s| s.contains(m)) else {
        return Ok(Reply::Int(0));
    };
    peek(ctx, dst)?;
    if src == dst || !has {
        return Ok(Reply::Int(has as i64));
    }
    let Some(s) = write(ctx, src)? else {
        return Ok(Reply::Int(0));
    };
    s.remove(m);
    let emptied = s.is_empty();
    ctx.notify(notify::SET, "srem", src);
    if emptied {
        ctx.remove(src)?;
        ctx.notify(notify::GENERIC, "del", src);
    }
    ctx.modified(src);
    ctx.propagate(src, &[b"SREM", src, m]);
    if write_or_create(ctx, dst)?.add(m) {
        ctx.modified(dst);
        ctx.notify(notify::SET, "sadd", dst);
        ctx.propagate(dst, &[b"SADD", dst, m]);
    }
    Ok(Reply::Int(1))
}

/// `SSCAN key cursor [MATCH pattern] [COUNT count]`
pub(super) fn sscan(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    let cursor = parse_cursor(&argv[2])?;
    let Some(s) = read(ctx, &argv[1])? else {
        return Ok(scan_reply(0, Vec::new()));
    };
    let opts = ScanOpts::parse(&argv[3..])?;
    let mut items = Vec::new();
    let next = s.scan(cursor, opts.count, |m| {
        if opts.matches(&m) {
            items.push(Reply::Bulk(m.to_bytes()));
        }
    });
    Ok(scan_reply(next, items))
}

#[cfg(test)]
mod tests {
    use crate::cmd::testutil::T;

    #[test]
    fn add_remove_list() {
        let mut t = T::new();
        t.check(&[
            ("SADD s 3 1 2 1", ":3"),
            ("SMEMBERS s", "*3\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3"),
            ("OBJECT ENCODING s", "$6\r\nintset"),
            (
                "SSCAN s 0",
                "*2\r\n$1\r\n0\r\n*3\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3",
            ),
            ("SSCAN s 0 MATCH 2", "*2\r\n$1\r\n0\r\n*1\r\n$1\r\n2"),
            ("SISMEMBER s 01", ":0"),
            ("SMISMEMBER s 1 9", "*2\r\n:1\r\n:0"),
            ("SMISMEMBER nokey 1", "*1\r\n:0"),
            ("SREM s 1 9", ":1"),
            ("SCARD s", ":2"),
            ("SADD s x", ":1"),
            ("OBJECT ENCODING s", "$9\r\nhashtable"),
            ("SREM s 2 3 x", ":3"),
            ("EXISTS s", ":0"),
            ("SET str v", "+OK"),
            (
                "SADD str a",
                "-WRONGTYPE Operation against a key holding the wrong kind of value",
            ),
            (
                "SCARD str",
                "-WRONGTYPE Operation against a key holding the wrong kind of value",
            ),
        ]);
    }

    #[test]
    fn smove_logs_per_shard_effects() {
        let mut t = T::new();
        t.check(&[("SADD a x y", ":2"), ("SET str v", "+OK")]);
        let rec = t.record();
        t.check(&[
            ("SMOVE nokey str x", ":0"),
            (
                "SMOVE str a x",
                "-WRONGTYPE Operation against a key holding the wrong kind of value",
            ),
            (
                "SMOVE a str x",
                "-WRONGTYPE Operation against a key holding the wrong kind of value",
            ),
            ("SMOVE a a x", ":1"),
            ("SMOVE a a z", ":0"),
            ("SMOVE a b z", ":0"),
            ("SMOVE a b x", ":1"),
            ("SMOVE a b y", ":1"),
            ("EXISTS a", ":0"),
            ("SCARD b", ":2"),
        ]);
        let lines = rec.lines();
        assert_eq!(lines, vec!["SREM a x", "SADD b x", "SREM a y", "SADD b y"]);
    }
}
