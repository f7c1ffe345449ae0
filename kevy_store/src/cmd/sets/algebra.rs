//! Set algebra: SINTER, SINTERCARD, SUNION, SDIFF and the STORE forms.
//! Results are built the way Redis builds them, adding members one by one
//! to an empty intset (and, for SDIFF's second algorithm, removing), so a
//! stored result gets Redis's encoding and a reply Redis's order: ascending
//! whenever the result is an intset. SINTER replies in the iteration order
//! of the smallest input, as Redis does. A STORE is logged as `DEL dst`
//! plus the commands that rebuild the result, on the destination's shard.

use super::read;
use crate::cmd::reply_stream;
use crate::ctx::{notify, Ctx};
use crate::error::{CmdError, CmdResult};
use crate::kstr::KStr;
use crate::num::parse_i64;
use crate::types::SetValue;
use crate::value::Value;
use bytes::Bytes;
use kevy_resp::Reply;
use std::sync::Arc;

/// The sets under `keys` (missing keys as `None`), all looked up before
/// anything else; `WrongType` at the first key of another type.
fn load(ctx: &mut Ctx<'_, '_>, keys: &[Bytes]) -> Result<Vec<Option<Arc<SetValue>>>, CmdError> {
    keys.iter().map(|k| Ok(read(ctx, k)?.cloned())).collect()
}

fn bulks(s: &SetValue) -> Vec<Reply> {
    s.iter().map(|m| Reply::Bulk(m.to_bytes())).collect()
}

/// A computed set as a reply: streamed from the result itself when big
/// (no element copies, no reply tree, no whole encoded reply).
fn set_reply(stream_ok: bool, s: SetValue) -> Reply {
    if reply_stream::wanted(stream_ok, s.len()) {
        return reply_stream::set_members(&s);
    }
    Reply::Set(bulks(&s))
}

/// The members common to every set, in the smallest set's order, stopping
/// after `limit` members (0: no limit). Any missing set makes it empty.
fn intersect(sets: Vec<Option<Arc<SetValue>>>, limit: usize) -> Vec<KStr> {
    let Some(mut sets) = sets.into_iter().collect::<Option<Vec<_>>>() else {
        return Vec::new();
    };
    sets.sort_by_key(|s| s.len());
    let Some((first, rest)) = sets.split_first() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for m in first.iter() {
        if rest.iter().all(|s| Arc::ptr_eq(s, first) || s.contains(&m)) {
            out.push(m);
            if limit > 0 && out.len() >= limit {
                break;
            }
        }
    }
    out
}

/// The union of `sets`, built by adding every member in turn.
fn union(sets: &[Option<Arc<SetValue>>]) -> SetValue {
    let mut dst = SetValue::default();
    for s in sets.iter().flatten() {
        for m in s.iter() {
            dst.add(&m);
        }
    }
    dst
}

/// The members of the first set in none of the others, with Redis's choice
/// of algorithm (it decides the encoding when a big intset shrinks): either
/// add each member of the first set found in no other set, or add the whole
/// first set and remove the others' members.
fn diff(sets: &[Option<Arc<SetValue>>]) -> SetValue {
    let mut dst = SetValue::default();
    let Some(Some(first)) = sets.first() else {
        return dst;
    };
    let rest = &sets[1..];
    if rest.iter().flatten().any(|s| Arc::ptr_eq(s, first)) {
        return dst;
    }
    let present = sets.iter().flatten();
    let one: usize = present.clone().map(|_| first.len()).sum::<usize>() / 2;
    let two: usize = present.map(|s| s.len()).sum();
    if one <= two {
        for m in first.iter() {
            if !rest.iter().flatten().any(|s| s.contains(&m)) {
                dst.add(&m);
            }
        }
    } else {
        for m in first.iter() {
            dst.add(&m);
        }
        for s in rest.iter().flatten() {
            for m in s.iter() {
                dst.remove(&m);
            }
            if dst.is_empty() {
                break;
            }
        }
    }
    dst
}

/// Stores `result` under `dst` (replacing any value and TTL), or deletes
/// `dst` when the result is empty; replies with the result's size.
fn store(ctx: &mut Ctx<'_, '_>, dst: &[u8], result: SetValue, event: &'static str) -> CmdResult {
    if result.is_empty() {
        ctx.store_empty(dst)?;
        return Ok(Reply::Int(0));
    }
    let n = result.len();
    let rebuild = result.restore_commands(dst);
    ctx.set(dst, Value::Set(Arc::new(result)), false)?;
    ctx.modified(dst);
    ctx.notify(notify::SET, event, dst);
    ctx.propagate(dst, &[b"DEL", dst]);
    for cmd in &rebuild {
        let argv: Vec<&[u8]> = cmd.iter().map(Vec::as_slice).collect();
        ctx.propagate(dst, &argv);
    }
    Ok(Reply::Int(n as i64))
}

/// `SINTER key [key ...]`
pub(super) fn sinter(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    let sets = load(ctx, &argv[1..])?;
    let found = intersect(sets, 0);
    if reply_stream::wanted(ctx.stream_replies, found.len()) {
        return Ok(reply_stream::members(found));
    }
    Ok(Reply::Set(
        found.iter().map(|m| Reply::Bulk(m.to_bytes())).collect(),
    ))
}

/// `SINTERSTORE destination key [key ...]`
pub(super) fn sinterstore(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    let sets = load(ctx, &argv[2..])?;
    let members = intersect(sets, 0);
    let result = SetValue::from_members(members.iter().map(|m| &m[..]));
    store(ctx, &argv[1], result, "sinterstore")
}

/// `SINTERCARD numkeys key [key ...] [LIMIT limit]`
pub(super) fn sintercard(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    let numkeys = match parse_i64(&argv[1]) {
        Some(n) if n > 0 => n as u64,
        _ => return Err(CmdError::err("numkeys should be greater than 0")),
    };
    if numkeys > (argv.len() - 2) as u64 {
        return Err(CmdError::err(
            "Number of keys can't be greater than number of args",
        ));
    }
    let keys_end = 2 + numkeys as usize;
    let mut limit = 0;
    let mut i = keys_end;
    while i < argv.len() {
        if argv[i].eq_ignore_ascii_case(b"limit") && i + 1 < argv.len() {
            limit = match parse_i64(&argv[i + 1]) {
                Some(n) if n >= 0 => usize::try_from(n).unwrap_or(usize::MAX),
                _ => return Err(CmdError::err("LIMIT can't be negative")),
            };
            i += 2;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    let sets = load(ctx, &argv[2..keys_end])?;
    Ok(Reply::Int(intersect(sets, limit).len() as i64))
}

/// `SUNION key [key ...]`
pub(super) fn sunion(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    let sets = load(ctx, &argv[1..])?;
    Ok(set_reply(ctx.stream_replies, union(&sets)))
}

/// `SUNIONSTORE destination key [key ...]`
pub(super) fn sunionstore(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    let sets = load(ctx, &argv[2..])?;
    store(ctx, &argv[1], union(&sets), "sunionstore")
}

/// `SDIFF key [key ...]`
pub(super) fn sdiff(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    let sets = load(ctx, &argv[1..])?;
    Ok(set_reply(ctx.stream_replies, diff(&sets)))
}

/// `SDIFFSTORE destination key [key ...]`
pub(super) fn sdiffstore(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    let sets = load(ctx, &argv[2..])?;
    store(ctx, &argv[1], diff(&sets), "sdiffstore")
}

#[cfg(test)]
mod tests {
    use crate::cmd::testutil::T;

    #[test]
    fn algebra_orders_and_encodings() {
        let mut t = T::new();
        t.check(&[
            ("SADD a 5 3 1 x", ":4"),
            ("SADD b 3 1 9", ":3"),
            ("SINTER b a", "*2\r\n$1\r\n1\r\n$1\r\n3"),
            ("SINTER a nokey", "*0"),
            ("SET str v", "+OK"),
            (
                "SINTER nokey str",
                "-WRONGTYPE Operation against a key holding the wrong kind of value",
            ),
            ("SUNION b nokey", "*3\r\n$1\r\n1\r\n$1\r\n3\r\n$1\r\n9"),
            ("SREM a x", ":1"),
            ("OBJECT ENCODING a", "$9\r\nhashtable"),
            ("SDIFF a b", "*1\r\n$1\r\n5"),
            ("SDIFFSTORE d a", ":3"),
            ("OBJECT ENCODING d", "$6\r\nintset"),
            ("SMEMBERS d", "*3\r\n$1\r\n1\r\n$1\r\n3\r\n$1\r\n5"),
            ("SDIFF a a", "*0"),
            ("SINTERCARD 2 a b", ":2"),
            ("SINTERCARD 2 a b LIMIT 1", ":1"),
            ("SINTERCARD 0 a", "-ERR numkeys should be greater than 0"),
            (
                "SINTERCARD 3 a b",
                "-ERR Number of keys can't be greater than number of args",
            ),
            ("SINTERCARD 1 a LIMIT -1", "-ERR LIMIT can't be negative"),
            ("SINTERCARD 1 a LIMIT", "-ERR syntax error"),
            ("EXPIRE d 100", ":1"),
            ("SINTERSTORE d a b", ":2"),
            ("TTL d", ":-1"),
            ("SINTERSTORE d a nokey", ":0"),
            ("EXISTS d", ":0"),
            ("SUNIONSTORE str a", ":3"),
            ("TYPE str", "+set"),
        ]);
    }

    #[test]
    fn store_logs_rebuild_on_destination() {
        let mut t = T::new();
        t.check(&[("SADD a 2 1", ":2")]);
        let rec = t.record();
        t.check(&[
            ("SUNIONSTORE d a", ":2"),
            ("SDIFFSTORE d a a", ":0"),
            ("SDIFFSTORE d a a", ":0"),
        ]);
        assert_eq!(rec.lines(), vec!["DEL d", "SADD d 1 2", "DEL d"]);
    }

    #[test]
    fn keyspace_events_as_redis() {
        // Sequences recorded from redis-server 7.0.15 with notify-keyspace-events KEA.
        let mut t = T::new();
        let cases: &[(&str, &[&str])] = &[
            ("HSET h a 1 b 2", &["0:hset:h"]),
            ("HINCRBYFLOAT h f 1.5", &["0:hincrbyfloat:h"]),
            ("HDEL h zz", &[]),
            ("HDEL h a b f", &["0:hdel:h", "0:del:h"]),
            ("SADD s 1 2 3", &["0:sadd:s"]),
            ("SADD s 1", &[]),
            ("SREM s 9", &[]),
            ("SREM s 1", &["0:srem:s"]),
            ("SPOP s", &["0:spop:s"]),
            ("SPOP s 5", &["0:spop:s", "0:del:s"]),
            ("SADD a 1 x", &["0:sadd:a"]),
            ("SMOVE a b 1", &["0:srem:a", "0:sadd:b"]),
            ("SMOVE a b x", &["0:srem:a", "0:del:a", "0:sadd:b"]),
            ("SADD c 1", &["0:sadd:c"]),
            ("SINTERSTORE d c c", &["0:sinterstore:d"]),
            ("SUNIONSTORE d c", &["0:sunionstore:d"]),
            ("SDIFFSTORE d c c", &["0:del:d"]),
            ("SDIFFSTORE d c c", &[]),
        ];
        for (cmd, want) in cases {
            assert_eq!(t.events(cmd), *want, "{cmd}");
        }
    }
}
