//! SPOP and SRANDMEMBER. A random member is a uniform position in the
//! set's numbering (`SetValue::at`): O(1) for an intset, O(log n) for a
//! hashtable. SPOP is logged as the `SREM` of what it removed (or `DEL`
//! when it took everything), never verbatim.

use super::{peek, read, write};
use crate::cmd::hashes::random::{arg_count, check_repeated, distinct_positions};
use crate::cmd::reply_stream;
use crate::ctx::{notify, Ctx};
use crate::error::{CmdError, CmdResult};
use crate::kstr::KStr;
use crate::num::parse_i64;
use crate::rand::below;
use crate::types::set::SET_MAX_INTSET_ENTRIES;
use crate::types::SetValue;
use bytes::Bytes;
use kevy_resp::Reply;

/// Most members one logged `SREM` names (Redis batches SPOP's the same way).
const SREM_BATCH: usize = 1024;

fn bulk(m: &KStr) -> Reply {
    Reply::Bulk(m.to_bytes())
}

/// `SPOP key [count]`
pub(super) fn spop(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    match argv.len() {
        3 => return spop_count(ctx, argv),
        n if n > 3 => return Err(CmdError::Syntax),
        _ => {}
    }
    let key = &argv[1][..];
    let Some(m) = peek(ctx, key)?.and_then(|s| s.at(below(s.len() as u64) as usize)) else {
        return Ok(Reply::Nil);
    };
    let Some(s) = write(ctx, key)? else {
        return Ok(Reply::Nil);
    };
    s.remove(&m);
    let emptied = s.is_empty();
    ctx.notify(notify::SET, "spop", key);
    ctx.propagate(key, &[b"SREM", key, &m]);
    if emptied {
        ctx.remove(key)?;
        ctx.notify(notify::GENERIC, "del", key);
    }
    ctx.modified(key);
    Ok(bulk(&m))
}

/// SPOP with a count: the whole set when the count covers it (replied in
/// the order of the union Redis builds for it: ascending when that union
/// is an intset), else `count` distinct random members.
fn spop_count(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    let key = &argv[1][..];
    let count = match parse_i64(&argv[2]) {
        Some(n) if n >= 0 => n as u64,
        _ => return Err(CmdError::err("value is out of range, must be positive")),
    };
    let Some(s) = peek(ctx, key)? else {
        return Ok(Reply::Set(Vec::new()));
    };
    if count == 0 {
        return Ok(Reply::Set(Vec::new()));
    }
    let size = s.len();
    if count >= size as u64 {
        let out: Vec<Reply> = if s.is_intset() || size > SET_MAX_INTSET_ENTRIES {
            s.iter().map(|m| bulk(&m)).collect()
        } else {
            SetValue::from_members(s.iter().collect::<Vec<_>>().iter().map(|m| &m[..]))
                .iter()
                .map(|m| bulk(&m))
                .collect()
        };
        ctx.remove(key)?;
        ctx.notify(notify::SET, "spop", key);
        ctx.notify(notify::GENERIC, "del", key);
        ctx.propagate(key, &[b"DEL", key]);
        ctx.modified(key);
        return Ok(Reply::Set(out));
    }
    let picked: Vec<KStr> = distinct_positions(size, count as usize)
        .into_iter()
        .filter_map(|i| s.at(i))
        .collect();
    let Some(s) = write(ctx, key)? else {
        return Ok(Reply::Set(Vec::new()));
    };
    for m in &picked {
        s.remove(m);
    }
    ctx.notify(notify::SET, "spop", key);
    for chunk in picked.chunks(SREM_BATCH) {
        let mut cmd: Vec<&[u8]> = vec![b"SREM", key];
        cmd.extend(chunk.iter().map(|m| &m[..]));
        ctx.propagate(key, &cmd);
    }
    ctx.modified(key);
    ctx.events.dirty += picked.len().saturating_sub(1) as u64;
    Ok(Reply::Set(picked.iter().map(bulk).collect()))
}

/// `SRANDMEMBER key [count]`: a negative count allows repeats.
pub(super) fn srandmember(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    match argv.len() {
        3 => return srandmember_count(ctx, argv),
        n if n > 3 => return Err(CmdError::Syntax),
        _ => {}
    }
    let m = read(ctx, &argv[1])?.and_then(|s| s.at(below(s.len() as u64) as usize));
    Ok(m.map_or(Reply::Nil, |m| bulk(&m)))
}

fn srandmember_count(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    let l = arg_count(&argv[2])?;
    let stream_ok = ctx.stream_replies;
    let Some(s) = read(ctx, &argv[1])? else {
        return Ok(Reply::Array(Vec::new()));
    };
    let count = l.unsigned_abs();
    let size = s.len();
    let out = if count == 0 {
        Vec::new()
    } else if l < 0 || count == 1 {
        check_repeated(count)?;
        if reply_stream::wanted(stream_ok, count as usize) {
            let pool = reply_stream::Pool::Set(SetValue::clone(s.as_ref()));
            return Ok(reply_stream::random_picks(pool, count as usize, false));
        }
        (0..count)
            .filter_map(|_| s.at(below(size as u64) as usize))
            .map(|m| bulk(&m))
            .collect()
    } else if count >= size as u64 {
        s.iter().map(|m| bulk(&m)).collect()
    } else {
        distinct_positions(size, count as usize)
            .into_iter()
            .filter_map(|i| s.at(i))
            .map(|m| bulk(&m))
            .collect()
    };
    Ok(Reply::Array(out))
}

#[cfg(test)]
mod tests {
    use crate::cmd::testutil::T;

    #[test]
    fn spop_logs_removed_members() {
        let mut t = T::new();
        t.check(&[("SADD s 1 2 3 4 5", ":5"), ("SADD one a", ":1")]);
        let rec = t.record();
        let r = t.run("SPOP s 2");
        assert_eq!(r.matches("\r\n$1\r\n").count(), 2, "{r}");
        t.check(&[
            ("SCARD s", ":3"),
            ("SPOP s -1", "-ERR value is out of range, must be positive"),
            ("SPOP s x", "-ERR value is out of range, must be positive"),
            ("SPOP s 1 2", "-ERR syntax error"),
            ("SPOP s 0", "*0"),
            ("SPOP nokey", "$-1"),
            ("SPOP nokey 3", "*0"),
            ("SPOP one", "$1\r\na"),
            ("EXISTS one", ":0"),
        ]);
        let all = t.run("SPOP s 10");
        assert!(all.starts_with("*3\r\n"), "{all}");
        let lines = rec.lines();
        assert_eq!(lines.len(), 3, "{lines:?}");
        assert!(
            lines[0].starts_with("SREM s ") && lines[0].split(' ').count() == 4,
            "{lines:?}"
        );
        assert_eq!(&lines[1..], ["SREM one a", "DEL s"]);
    }

    #[test]
    fn srandmember_counts() {
        let mut t = T::new();
        t.check(&[
            ("SADD s 3 1 2", ":3"),
            ("SRANDMEMBER s 5", "*3\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3"),
            ("SRANDMEMBER s 0", "*0"),
            ("SRANDMEMBER nokey 2", "*0"),
            ("SRANDMEMBER nokey", "$-1"),
            ("SRANDMEMBER s 1 2", "-ERR syntax error"),
            (
                "SRANDMEMBER s x",
                "-ERR value is not an integer or out of range",
            ),
        ]);
        assert_eq!(t.run("SRANDMEMBER s -10").matches("\r\n$1\r\n").count(), 10);
        assert_eq!(t.run("SRANDMEMBER s 2").matches("\r\n$1\r\n").count(), 2);
    }
}
