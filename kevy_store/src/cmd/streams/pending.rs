//! The pending entries lists: XACK (acknowledge), XPENDING (inspect),
//! XCLAIM and XAUTOCLAIM (change owner, as a recovery of the entries of a
//! consumer that went away).

use super::deliver::{consumer_created, log_claim, log_setid};
use super::*;
use crate::error::CmdResult;
use crate::kstr::KStr;
use crate::types::stream::{Group, Nack};

/// `XACK key group id [id ...]`
pub(super) fn xack(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    let (key, gname) = (&argv[1][..], &argv[2][..]);
    let has_group = match read_stream(ctx, key)? {
        Some(s) => s.groups.contains_key(gname),
        None => false,
    };
    if !has_group {
        return Ok(Reply::Int(0));
    }
    let ids = argv[3..]
        .iter()
        .map(|a| strict_id(a))
        .collect::<Result<Vec<_>, _>>()?;
    let pending = peek_stream(ctx, key)?
        .and_then(|s| s.groups.get(gname))
        .is_some_and(|g| ids.iter().any(|id| g.pel.contains_key(id)));
    if !pending {
        return Ok(Reply::Int(0));
    }
    let Some(s) = write_stream(ctx, key)? else {
        return Ok(Reply::Int(0));
    };
    let Some(g) = s.groups.get_mut(gname) else {
        return Ok(Reply::Int(0));
    };
    let acked = ids.iter().filter(|&&id| g.ack(id).is_some()).count();
    ctx.events.dirty += acked as u64;
    let parts: Vec<&[u8]> = argv.iter().map(|b| &b[..]).collect();
    ctx.propagate(key, &parts);
    Ok(Reply::Int(acked as i64))
}

/// `XPENDING key group [[IDLE min-idle-time] start end count [consumer]]`
struct PendingArgs<'a> {
    /// None: the summary form.
    range: Option<(StreamId, StreamId, u64)>,
    min_idle: i64,
    consumer: Option<&'a [u8]>,
}

impl<'a> PendingArgs<'a> {
    fn parse(argv: &'a [Bytes]) -> Result<Self, CmdError> {
        let argc = argv.len();
        if argc != 3 && !(6..=9).contains(&argc) {
            return Err(CmdError::Syntax);
        }
        let mut a = PendingArgs {
            range: None,
            min_idle: 0,
            consumer: None,
        };
        if argc >= 6 {
            let mut at = 3;
            if argv[3].eq_ignore_ascii_case(b"idle") {
                a.min_idle = int_arg(&argv[4])?;
                if argc < 8 {
                    return Err(CmdError::Syntax);
                }
                at += 2;
            }
            let count = int_arg(arg(argv, at + 2))?.max(0) as u64;
            let start = start_bound(arg(argv, at))?;
            let end = end_bound(arg(argv, at + 1))?;
            a.range = Some((start, end, count));
            a.consumer = argv.get(at + 3).map(|c| &c[..]);
        }
        Ok(a)
    }
}

/// `XPENDING key group [[IDLE min-idle-time] start end count [consumer]]`
pub(super) fn xpending(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    let a = PendingArgs::parse(argv)?;
    let (key, gname) = (&argv[1][..], &argv[2][..]);
    let now = ctx.now_ms;
    let Some(g) = read_stream(ctx, key)?.and_then(|s| s.groups.get(gname)) else {
        return Err(StreamError::no_key_or_group(key, gname, "").into());
    };
    let Some((start, end, mut count)) = a.range else {
        let (Some((first, _)), Some((last, _))) = (g.pel.get_min(), g.pel.get_max()) else {
            return Ok(Reply::Array(vec![
                Reply::Int(0),
                Reply::Nil,
                Reply::Nil,
                Reply::NilArray,
            ]));
        };
        let owners = g
            .consumers
            .iter()
            .filter(|(_, c)| !c.pel.is_empty())
            .map(|(name, c)| {
                Reply::Array(vec![Reply::bulk(name), Reply::bulk_int(c.pel.len() as i64)])
            })
            .collect();
        return Ok(Reply::Array(vec![
            Reply::Int(g.pel.len() as i64),
            id_reply(*first),
            id_reply(*last),
            Reply::Array(owners),
        ]));
    };
    let ids: Box<dyn Iterator<Item = StreamId>> = match a.consumer {
        Some(c) => match g.consumers.get(c) {
            Some(cons) => Box::new(cons.pel.range(start..).copied()),
            None => return Ok(Reply::Array(Vec::new())),
        },
        None => Box::new(g.pel.range(start..).map(|(id, _)| *id)),
    };
    let mut out = Vec::new();
    for id in ids {
        if count == 0 || id > end {
            break;
        }
        let Some(n) = g.pel.get(&id) else { continue };
        let idle = now as i64 - n.delivery_time as i64;
        if a.min_idle != 0 && idle < a.min_idle {
            continue;
        }
        count -= 1;
        out.push(Reply::Array(vec![
            id_reply(id),
            Reply::bulk(&n.consumer),
            Reply::Int(idle.max(0)),
            Reply::Int(n.delivery_count as i64),
        ]));
    }
    Ok(Reply::Array(out))
}

/// The group `gname` of the stream at `key`, for XCLAIM/XAUTOCLAIM (a
/// keyspace read: counts a hit or miss): `NOGROUP` when either is missing.
fn claim_group(ctx: &mut Ctx<'_, '_>, key: &[u8], gname: &[u8]) -> Result<(), CmdError> {
    match read_stream(ctx, key)? {
        Some(s) if s.groups.contains_key(gname) => Ok(()),
        _ => Err(StreamError::no_key_or_group(key, gname, "").into()),
    }
}

/// The outcome of claiming pending entries in a working copy of a group.
struct Claims {
    group: Group,
    created: bool,
    /// Pending entries changed, with their new state, for the log.
    changed: Vec<(StreamId, Nack)>,
}

impl Claims {
    /// Takes group `gname` out of the stream (so its maps are updated in
    /// place, not copied because the stream still shares them);
    /// [`Claims::finish`] puts it back.
    fn new(ctx: &mut Ctx<'_, '_>, key: &[u8], gname: &[u8]) -> Result<Claims, CmdError> {
        let group = write_stream(ctx, key)?
            .and_then(|s| s.groups.remove(gname))
            .ok_or_else(|| CmdError::from(StreamError::no_key_or_group(key, gname, "")))?;
        Ok(Claims {
            group,
            created: false,
            changed: Vec::new(),
        })
    }

    /// Drops pending entry `id`, whose stream entry is gone.
    fn drop_missing(&mut self, id: StreamId) {
        if let Some(n) = self.group.ack(id) {
            self.changed.push((id, n));
        }
    }

    /// Gives pending entry `id` to consumer `c` (created at first use),
    /// delivered at `time`, with `count` deliveries.
    fn take(&mut self, id: StreamId, c: &[u8], now: u64, time: u64, count: u64) {
        let (cons, created) = self.group.consumer_or_create(c, now);
        if created {
            self.created = true;
        } else if !self.created {
            cons.seen_time = now;
        }
        self.group.deliver(id, c, time, count);
        if let Some(n) = self.group.pel.get(&id) {
            self.changed.push((id, n.clone()));
        }
    }

    /// Stores the group back and logs every change.
    fn finish(self, ctx: &mut Ctx<'_, '_>, key: &[u8], gname: &[u8], last_moved: bool) {
        let Claims {
            group,
            created,
            changed,
        } = self;
        let dirty = changed.len() as u64 + u64::from(last_moved);
        let (last, read) = (group.last_id, group.entries_read);
        // XCLAIM/XAUTOCLAIM create the consumer as XREADGROUP does.
        let new_consumer = created
            .then(|| {
                changed
                    .iter()
                    .map(|(_, n)| n.consumer.clone())
                    .find(|c| group.consumers.contains_key(&c[..]))
            })
            .flatten();
        if let Ok(Some(s)) = write_stream(ctx, key) {
            s.groups.insert(KStr::from_slice(gname), group);
        }
        if let Some(c) = new_consumer {
            consumer_created(ctx, key, gname, &c, true);
        }
        for (id, n) in &changed {
            log_claim(ctx, key, gname, last, *id, n);
        }
        if last_moved && changed.is_empty() {
            log_setid(ctx, key, gname, last, read);
        }
        ctx.events.dirty += dirty;
        ctx.suppress_propagation();
    }
}

/// `XCLAIM key group consumer min-idle-time id [id ...] [IDLE ms]
/// [TIME unix-time-milliseconds] [RETRYCOUNT count] [FORCE] [JUSTID]
/// [LASTID lastid]`
pub(super) fn xclaim(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    let (key, gname, cname) = (&argv[1][..], &argv[2][..], &argv[3][..]);
    claim_group(ctx, key, gname)?;
    let min_idle = crate::num::parse_i64(&argv[4])
        .ok_or_else(|| CmdError::err("Invalid min-idle-time argument for XCLAIM"))?
        .max(0);
    let mut j = 5;
    while j < argv.len() && strict_id(&argv[j]).is_ok() {
        j += 1;
    }
    let ids: Vec<StreamId> = argv[5..j]
        .iter()
        .filter_map(|a| strict_id(a).ok())
        .collect();
    let now = ctx.now_ms;
    let (mut force, mut justid) = (false, false);
    let mut time: Option<i64> = None;
    let mut retry: Option<i64> = None;
    let mut last_id = StreamId::MIN;
    while j < argv.len() {
        let more = argv.len() - 1 - j;
        let opt = &argv[j][..];
        let num = |a: &[u8], what: &str| {
            crate::num::parse_i64(a)
                .ok_or_else(|| CmdError::err(format!("Invalid {what} option argument for XCLAIM")))
        };
        if opt.eq_ignore_ascii_case(b"force") {
            force = true;
        } else if opt.eq_ignore_ascii_case(b"justid") {
            justid = true;
        } else if opt.eq_ignore_ascii_case(b"idle") && more > 0 {
            j += 1;
            time = Some((now as i64).wrapping_sub(num(&argv[j], "IDLE")?));
        } else if opt.eq_ignore_ascii_case(b"time") && more > 0 {
            j += 1;
            time = Some(num(&argv[j], "TIME")?);
        } else if opt.eq_ignore_ascii_case(b"retrycount") && more > 0 {
            j += 1;
            retry = Some(num(&argv[j], "RETRYCOUNT")?);
        } else if opt.eq_ignore_ascii_case(b"lastid") && more > 0 {
            j += 1;
            last_id = strict_id(&argv[j])?;
        } else {
            return Err(CmdError::err(format!(
                "Unrecognized XCLAIM option '{}'",
                cstr(opt)
            )));
        }
        j += 1;
    }
    let mut claims = Claims::new(ctx, key, gname)?;
    let mut last_moved = false;
    if last_id > claims.group.last_id {
        claims.group.last_id = last_id;
        last_moved = true;
    }
    // A delivery time in the future or before the epoch reads as now.
    let time = match time {
        Some(t) if t >= 0 && t as u64 <= now => t as u64,
        _ => now,
    };
    // The group is out of the stream until `finish`: no early return.
    let Some(s) = peek_stream(ctx, key).ok().flatten() else {
        claims.finish(ctx, key, gname, last_moved);
        return Ok(Reply::Array(Vec::new()));
    };
    let mut out = Vec::new();
    for &id in &ids {
        let entry = single_entry(s, id);
        let Some(entry) = entry else {
            claims.drop_missing(id);
            continue;
        };
        let nack = claims.group.pel.get(&id).cloned();
        if nack.is_none() && !force {
            continue;
        }
        if let Some(n) = &nack {
            if min_idle != 0 && (now as i64 - n.delivery_time as i64) < min_idle {
                continue;
            }
        }
        let count = match retry {
            Some(r) if r >= 0 => r as u64,
            _ => {
                // A pending entry FORCE creates starts at one delivery.
                let c = nack.map_or(1, |n| n.delivery_count);
                if justid {
                    c
                } else {
                    c + 1
                }
            }
        };
        claims.take(id, cname, now, time, count);
        out.push(if justid { id_reply(id) } else { entry });
    }
    claims.finish(ctx, key, gname, last_moved);
    Ok(Reply::Array(out))
}

/// `XAUTOCLAIM key group consumer min-idle-time start [COUNT count] [JUSTID]`
pub(super) fn xautoclaim(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    let (key, gname, cname) = (&argv[1][..], &argv[2][..], &argv[3][..]);
    let min_idle = crate::num::parse_i64(&argv[4])
        .ok_or_else(|| CmdError::err("Invalid min-idle-time argument for XAUTOCLAIM"))?
        .max(0);
    let start = start_bound(&argv[5])?;
    let mut count: i64 = 100;
    let mut justid = false;
    let mut j = 6;
    while j < argv.len() {
        let more = argv.len() - 1 - j;
        let opt = &argv[j][..];
        if opt.eq_ignore_ascii_case(b"count") && more > 0 {
            let max = i64::MAX / 16;
            count = match crate::num::parse_i64(&argv[j + 1]) {
                Some(n) if (1..=max).contains(&n) => n,
                _ => return Err(CmdError::err("COUNT must be > 0")),
            };
            j += 1;
        } else if opt.eq_ignore_ascii_case(b"justid") {
            justid = true;
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    claim_group(ctx, key, gname)?;
    let now = ctx.now_ms;
    let mut claims = Claims::new(ctx, key, gname)?;
    // The group is out of the stream until `finish`: no early return.
    let Some(s) = peek_stream(ctx, key).ok().flatten() else {
        claims.finish(ctx, key, gname, false);
        return Ok(Reply::Array(Vec::new()));
    };
    let mut attempts = count.saturating_mul(10);
    let mut out = Vec::new();
    let mut deleted = Vec::new();
    let mut cursor = start;
    let mut next = None;
    while let Some((&id, n)) = claims.group.pel.range(cursor..).next() {
        if attempts == 0 || count == 0 {
            next = Some(id);
            break;
        }
        attempts -= 1;
        cursor = match id.incr() {
            Some(c) => c,
            None => StreamId::MAX,
        };
        let n = n.clone();
        let Some(entry) = single_entry(s, id) else {
            claims.drop_missing(id);
            deleted.push(id_reply(id));
            count -= 1;
            if id == StreamId::MAX {
                break;
            }
            continue;
        };
        if min_idle != 0 && (now as i64 - n.delivery_time as i64) < min_idle {
            if id == StreamId::MAX {
                break;
            }
            continue;
        }
        let deliveries = if justid {
            n.delivery_count
        } else {
            n.delivery_count + 1
        };
        claims.take(id, cname, now, now, deliveries);
        out.push(if justid { id_reply(id) } else { entry });
        count -= 1;
        if id == StreamId::MAX {
            break;
        }
    }
    claims.finish(ctx, key, gname, false);
    Ok(Reply::Array(vec![
        id_reply(next.unwrap_or(StreamId::MIN)),
        Reply::Array(out),
        Reply::Array(deleted),
    ]))
}
