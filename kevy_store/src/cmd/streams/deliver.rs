//! What XREADGROUP does to a consumer group (new entries delivered and
//! recorded as pending, or a consumer's own pending entries delivered
//! again), and the log records of group changes XREADGROUP, XCLAIM and
//! XAUTOCLAIM share: `XGROUP CREATECONSUMER`, the `XCLAIM` of a pending
//! entry and `XGROUP SETID ... ENTRIESREAD`.

use super::*;
use crate::ctx::notify;
use crate::error::CmdResult;
use crate::kstr::KStr;
use crate::types::stream::{Group, Nack};

/// Takes group `g` out of stream `s` (so its maps are updated in place,
/// not copied because the stream still shares them), with consumer `c`
/// created if needed and marked seen now. The caller puts it back.
fn take_group(
    s: &mut StreamValue,
    key: &[u8],
    g: &[u8],
    c: &[u8],
    now: u64,
) -> Result<(Group, bool), CmdError> {
    let Some(mut group) = s.groups.remove(g) else {
        return Err(
            StreamError::no_key_or_group(key, g, " in XREADGROUP with GROUP option").into(),
        );
    };
    let (cons, created) = group.consumer_or_create(c, now);
    cons.seen_time = now;
    Ok((group, created))
}

/// Logs and notifies the creation of consumer `c` (when `created`).
pub(super) fn consumer_created(
    ctx: &mut Ctx<'_, '_>,
    key: &[u8],
    g: &[u8],
    c: &[u8],
    created: bool,
) {
    if created {
        ctx.events.dirty += 1;
        ctx.notify(notify::STREAM, "xgroup-createconsumer", key);
        ctx.propagate(key, &[b"XGROUP", b"CREATECONSUMER", key, g, c]);
    }
}

/// Logs the `XCLAIM` that leaves pending entry `id` as `n` says (Redis's
/// `streamPropagateXCLAIM`: `XCLAIM key group consumer 0 id TIME t
/// RETRYCOUNT n FORCE JUSTID LASTID last`). Replayed for an entry no
/// longer in the stream, it drops the pending entry, as it did here.
pub(super) fn log_claim(
    ctx: &mut Ctx<'_, '_>,
    key: &[u8],
    gname: &[u8],
    last: StreamId,
    id: StreamId,
    n: &Nack,
) {
    let id_s = id.to_string();
    let time = n.delivery_time.to_string();
    let count = n.delivery_count.to_string();
    let last = last.to_string();
    ctx.propagate(
        key,
        &[
            b"XCLAIM",
            key,
            gname,
            &n.consumer,
            b"0",
            id_s.as_bytes(),
            b"TIME",
            time.as_bytes(),
            b"RETRYCOUNT",
            count.as_bytes(),
            b"FORCE",
            b"JUSTID",
            b"LASTID",
            last.as_bytes(),
        ],
    );
}

/// Logs a group's last delivered ID and read counter.
pub(super) fn log_setid(
    ctx: &mut Ctx<'_, '_>,
    key: &[u8],
    gname: &[u8],
    last: StreamId,
    read: i64,
) {
    let last = last.to_string();
    let read = read.to_string();
    ctx.propagate(
        key,
        &[
            b"XGROUP",
            b"SETID",
            key,
            gname,
            last.as_bytes(),
            b"ENTRIESREAD",
            read.as_bytes(),
        ],
    );
}

/// Delivers the entries after `after` of stream `key` to consumer `c` of
/// group `g` (XREADGROUP `>`): moves the group's last ID, and unless
/// `noack` records each entry as pending for `c`.
pub(super) fn deliver(
    ctx: &mut Ctx<'_, '_>,
    key: &[u8],
    g: &[u8],
    c: &[u8],
    after: StreamId,
    count: u64,
    noack: bool,
) -> CmdResult {
    let now = ctx.now_ms;
    let Some(s) = write_stream(ctx, key)? else {
        return Err(
            StreamError::no_key_or_group(key, g, " in XREADGROUP with GROUP option").into(),
        );
    };
    let (mut group, created) = take_group(s, key, g, c, now)?;
    let start = after.incr().unwrap_or(StreamId::MIN);
    let mut out = EntriesReply::default();
    let mut ids = Vec::new();
    for e in s.range(start, StreamId::MAX, false) {
        out.push(&e);
        ids.push(e.id);
        if count != 0 && out.len() as u64 >= count {
            break;
        }
    }
    let out = out.finish();
    let before = (group.last_id, group.entries_read);
    for &id in &ids {
        s.advance_group(&mut group, id);
        if !noack {
            group.deliver(id, c, now, 1);
        }
    }
    let after = (group.last_id, group.entries_read);
    let consumer = KStr::from_slice(c);
    s.groups.insert(KStr::from_slice(g), group);
    consumer_created(ctx, key, g, c, created);
    if !noack {
        for &id in &ids {
            let n = Nack {
                delivery_time: now,
                delivery_count: 1,
                consumer: consumer.clone(),
            };
            log_claim(ctx, key, g, after.0, id, &n);
        }
    }
    if after != before {
        log_setid(ctx, key, g, after.0, after.1);
    }
    ctx.events.dirty += 1 + ids.len() as u64;
    ctx.suppress_propagation();
    Ok(Reply::Array(out))
}

/// XREADGROUP with an ID: the consumer's own pending entries after `after`
/// (Redis's `streamReplyWithRangeFromConsumerPEL`); each one delivered
/// again counts a delivery, one since deleted reads as `[id, nil]`.
pub(super) fn history(
    ctx: &mut Ctx<'_, '_>,
    key: &[u8],
    g: &[u8],
    c: &[u8],
    after: StreamId,
    count: u64,
) -> CmdResult {
    let now = ctx.now_ms;
    let Some(s) = write_stream(ctx, key)? else {
        return Err(
            StreamError::no_key_or_group(key, g, " in XREADGROUP with GROUP option").into(),
        );
    };
    let (mut group, created) = take_group(s, key, g, c, now)?;
    let start = after.incr().unwrap_or(StreamId::MIN);
    let owned: Vec<StreamId> = group
        .consumers
        .get(c)
        .map(|cons| {
            cons.pel
                .range(start..)
                .take(if count == 0 {
                    usize::MAX
                } else {
                    count as usize
                })
                .copied()
                .collect()
        })
        .unwrap_or_default();
    let mut out = Vec::with_capacity(owned.len());
    let mut redelivered = Vec::new();
    for id in owned {
        match single_entry(s, id) {
            Some(r) => {
                out.push(r);
                if let Some(n) = group.pel.get_mut(&id) {
                    n.delivery_time = now;
                    n.delivery_count += 1;
                    redelivered.push((id, n.clone()));
                }
            }
            None => out.push(Reply::Array(vec![id_reply(id), Reply::NilArray])),
        }
    }
    let last = group.last_id;
    s.groups.insert(KStr::from_slice(g), group);
    consumer_created(ctx, key, g, c, created);
    for (id, n) in &redelivered {
        log_claim(ctx, key, g, last, *id, n);
    }
    ctx.events.dirty += 1;
    ctx.suppress_propagation();
    Ok(Reply::Array(out))
}
