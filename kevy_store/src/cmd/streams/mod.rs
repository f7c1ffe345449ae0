//! The stream command family, Redis 7.0 semantics: appending and trimming
//! (`add.rs`: XADD, XTRIM, XDEL, XLEN, XSETID), range reads (`range.rs`:
//! XRANGE, XREVRANGE), reading new entries, blocking (`read.rs`: XREAD,
//! XREADGROUP), consumer groups (`group.rs`: XGROUP), pending entries
//! (`pending.rs`: XACK, XPENDING, XCLAIM, XAUTOCLAIM) and introspection
//! (`info.rs`: XINFO). Values are [`StreamValue`]s; an emptied stream stays
//! (Redis never deletes one by itself).
//!
//! Logging: every write logs its own deterministic form (`Ctx::propagate`):
//! XADD with the ID it generated and an approximate trim as the exact trim
//! it did; XREADGROUP, XCLAIM and XAUTOCLAIM as the `XCLAIM ... TIME ...
//! RETRYCOUNT ... FORCE JUSTID LASTID` of each pending entry they touched
//! plus the group's `XGROUP SETID ... ENTRIESREAD`, as Redis propagates
//! them (the read counter too, so a replay rebuilds the group exactly).

use super::StoreCommand;
use crate::ctx::Ctx;
use crate::error::CmdError;
use crate::spec::{acl, flags::*, CommandMeta, Keys};
use crate::types::stream::{parse_id, NodeLimits, ParsedId, StreamId, StreamValue};
use crate::value::{Entry, Value};
use bytes::{BufMut, Bytes};
use kevy_resp::Reply;
use std::sync::Arc;

mod add;
mod deliver;
mod error;
mod group;
mod info;
mod pending;
mod range;
mod read;
pub(crate) use error::{cstr, sub_syntax, unknown_sub, StreamError};
#[cfg(test)]
mod tests;

/// The stream family's table.
pub(crate) static COMMANDS: &[StoreCommand] = &[
    StoreCommand {
        meta: CommandMeta {
            name: "xadd",
            arity: -5,
            flags: WRITE | DENYOOM | FAST,
            acl: acl::STREAM,
            keys: Keys::ONE,
            group: "stream",
            summary: "Appends a new entry to a stream",
            since: "5.0.0",
            complexity: "O(1) when adding a new entry, O(N) when trimming where N being the number of entries evicted.",
        },
        run: add::xadd,
    },
    StoreCommand {
        meta: CommandMeta {
            name: "xtrim",
            arity: -4,
            flags: WRITE,
            acl: acl::STREAM,
            keys: Keys::ONE,
            group: "stream",
            summary: "Trims the stream to (approximately if '~' is passed) a certain size",
            since: "5.0.0",
            complexity: "O(N), with N being the number of evicted entries. Constant times are very small however, since entries are organized in macro nodes containing multiple entries that can be released with a single deallocation.",
        },
        run: add::xtrim,
    },
    StoreCommand {
        meta: CommandMeta {
            name: "xdel",
            arity: -3,
            flags: WRITE | FAST,
            acl: acl::STREAM,
            keys: Keys::ONE,
            group: "stream",
            summary: "Removes the specified entries from the stream. Returns the number of items actually deleted, that may be different from the number of IDs passed in case certain IDs do not exist.",
            since: "5.0.0",
            complexity: "O(1) for each single item to delete in the stream, regardless of the stream size.",
        },
        run: add::xdel,
    },
    StoreCommand {
        meta: CommandMeta {
            name: "xlen",
            arity: 2,
            flags: READONLY | FAST,
            acl: acl::STREAM,
            keys: Keys::ONE,
            group: "stream",
            summary: "Return the number of entries in a stream",
            since: "5.0.0",
            complexity: "O(1)",
        },
        run: add::xlen,
    },
    StoreCommand {
        meta: CommandMeta {
            name: "xsetid",
            arity: -3,
            flags: WRITE | DENYOOM | FAST,
            acl: acl::STREAM,
            keys: Keys::ONE,
            group: "stream",
            summary: "An internal command for replicating stream values",
            since: "5.0.0",
            complexity: "O(1)",
        },
        run: add::xsetid,
    },
    StoreCommand {
        meta: CommandMeta {
            name: "xrange",
            arity: -4,
            flags: READONLY,
            acl: acl::STREAM,
            keys: Keys::ONE,
            group: "stream",
            summary: "Return a range of elements in a stream, with IDs matching the specified IDs interval",
            since: "5.0.0",
            complexity: "O(N) with N being the number of elements being returned. If N is constant (e.g. always asking for the first 10 elements with COUNT), you can consider it O(1).",
        },
        run: range::xrange,
    },
    StoreCommand {
        meta: CommandMeta {
            name: "xrevrange",
            arity: -4,
            flags: READONLY,
            acl: acl::STREAM,
            keys: Keys::ONE,
            group: "stream",
            summary: "Return a range of elements in a stream, with IDs matching the specified IDs interval, in reverse order (from greater to smaller IDs) compared to XRANGE",
            since: "5.0.0",
            complexity: "O(N) with N being the number of elements returned. If N is constant (e.g. always asking for the first 10 elements with COUNT), you can consider it O(1).",
        },
        run: range::xrevrange,
    },
    StoreCommand {
        meta: CommandMeta {
            name: "xread",
            arity: -4,
            flags: READONLY | BLOCKING | MOVABLE_KEYS,
            acl: acl::STREAM,
            keys: Keys::Custom { first: 0, last: 0, step: 0, find: read::xread_keys },
            group: "stream",
            summary: "Return never seen elements in multiple streams, with IDs greater than the ones reported by the caller for each stream. Can block.",
            since: "5.0.0",
            complexity: "For each stream mentioned: O(N) with N being the number of elements being returned, it means that XREAD-ing with a fixed COUNT is O(1). Note that when the BLOCK option is used, XADD will pay O(M) time in order to serve the M clients blocked on the stream getting new data.",
        },
        run: read::xread,
    },
    StoreCommand {
        meta: CommandMeta {
            name: "xreadgroup",
            arity: -7,
            flags: WRITE | BLOCKING | MOVABLE_KEYS,
            acl: acl::STREAM,
            keys: Keys::Custom { first: 0, last: 0, step: 0, find: read::xread_keys },
            group: "stream",
            summary: "Return new entries from a stream using a consumer group, or access the history of the pending entries for a given consumer. Can block.",
            since: "5.0.0",
            complexity: "For each stream mentioned: O(M) with M being the number of elements returned. If M is constant (e.g. always asking for the first 10 elements with COUNT), you can consider it O(1). On the other side when XREADGROUP blocks, XADD will pay the O(N) time in order to serve the N clients blocked on the stream getting new data.",
        },
        run: read::xreadgroup,
    },
    StoreCommand {
        meta: CommandMeta {
            name: "xgroup",
            arity: -2,
            flags: 0,
            acl: 0,
            keys: Keys::Custom { first: 0, last: 0, step: 0, find: group::xgroup_keys },
            group: "stream",
            summary: "A container for consumer groups commands",
            since: "5.0.0",
            complexity: "Depends on subcommand.",
        },
        run: group::xgroup,
    },
    StoreCommand {
        meta: CommandMeta {
            name: "xack",
            arity: -4,
            flags: WRITE | FAST,
            acl: acl::STREAM,
            keys: Keys::ONE,
            group: "stream",
            summary: "Marks a pending message as correctly processed, effectively removing it from the pending entries list of the consumer group. Return value of the command is the number of messages successfully acknowledged, that is, the IDs we were actually able to resolve in the PEL.",
            since: "5.0.0",
            complexity: "O(1) for each message ID processed.",
        },
        run: pending::xack,
    },
    StoreCommand {
        meta: CommandMeta {
            name: "xpending",
            arity: -3,
            flags: READONLY,
            acl: acl::STREAM,
            keys: Keys::ONE,
            group: "stream",
            summary: "Return information and entries from a stream consumer group pending entries list, that are messages fetched but never acknowledged.",
            since: "5.0.0",
            complexity: "O(N) with N being the number of elements returned, so asking for a small fixed number of entries per call is O(1). O(M), where M is the total number of entries scanned when used with the IDLE filter. When the command returns just the summary and the list of consumers is small, it runs in O(1) time; otherwise, an additional O(N) time for iterating every consumer.",
        },
        run: pending::xpending,
    },
    StoreCommand {
        meta: CommandMeta {
            name: "xclaim",
            arity: -6,
            flags: WRITE | FAST,
            acl: acl::STREAM,
            keys: Keys::ONE,
            group: "stream",
            summary: "Changes (or acquires) ownership of a message in a consumer group, as if the message was delivered to the specified consumer.",
            since: "5.0.0",
            complexity: "O(log N) with N being the number of messages in the PEL of the consumer group.",
        },
        run: pending::xclaim,
    },
    StoreCommand {
        meta: CommandMeta {
            name: "xautoclaim",
            arity: -6,
            flags: WRITE | FAST,
            acl: acl::STREAM,
            keys: Keys::ONE,
            group: "stream",
            summary: "Changes (or acquires) ownership of messages in a consumer group, as if the messages were delivered to the specified consumer.",
            since: "6.2.0",
            complexity: "O(1) if COUNT is small.",
        },
        run: pending::xautoclaim,
    },
    StoreCommand {
        meta: CommandMeta {
            name: "xinfo",
            arity: -2,
            flags: 0,
            acl: 0,
            keys: Keys::Custom { first: 0, last: 0, step: 0, find: info::xinfo_keys },
            group: "stream",
            summary: "A container for stream introspection commands",
            since: "5.0.0",
            complexity: "Depends on subcommand.",
        },
        run: info::xinfo,
    },
];

/// An ID argument: `-`/`+` allowed, `<ms>` alone takes `missing_seq`.
pub(crate) fn id_arg(arg: &[u8], missing_seq: u64) -> Result<StreamId, StreamError> {
    parse_id(arg, missing_seq, false, false)
        .map(|p| p.id)
        .ok_or(StreamError::InvalidId)
}

/// A strict ID argument (`-` and `+` refused).
pub(crate) fn strict_id(arg: &[u8]) -> Result<StreamId, StreamError> {
    parse_id(arg, 0, true, false)
        .map(|p| p.id)
        .ok_or(StreamError::InvalidId)
}

/// A strict ID argument that may be `<ms>-*` (XADD).
pub(crate) fn xadd_id(arg: &[u8]) -> Result<ParsedId, StreamError> {
    parse_id(arg, 0, true, true).ok_or(StreamError::InvalidId)
}

/// A range bound: `(id` is exclusive (`exclude` true); `missing_seq` as in
/// [`id_arg`]. Redis's `streamParseIntervalIDOrReply`.
pub(crate) fn interval_id(arg: &[u8], missing_seq: u64) -> Result<(StreamId, bool), StreamError> {
    if arg.len() > 1 && arg[0] == b'(' {
        let id = parse_id(&arg[1..], missing_seq, true, false).ok_or(StreamError::InvalidId)?;
        return Ok((id.id, true));
    }
    Ok((id_arg(arg, missing_seq)?, false))
}

/// An inclusive start bound from an interval argument.
pub(crate) fn start_bound(arg: &[u8]) -> Result<StreamId, StreamError> {
    let (id, ex) = interval_id(arg, 0)?;
    if ex {
        return id.incr().ok_or(StreamError::StartInterval);
    }
    Ok(id)
}

/// An inclusive end bound from an interval argument.
pub(crate) fn end_bound(arg: &[u8]) -> Result<StreamId, StreamError> {
    let (id, ex) = interval_id(arg, u64::MAX)?;
    if ex {
        return id.decr().ok_or(StreamError::EndInterval);
    }
    Ok(id)
}

/// The stream under `key` for reading (counts a keyspace hit or miss);
/// `WrongType` if `key` holds another type.
pub(crate) fn read_stream<'c>(
    ctx: &'c mut Ctx<'_, '_>,
    key: &[u8],
) -> Result<Option<&'c StreamValue>, CmdError> {
    match ctx.get(key)? {
        None => Ok(None),
        Some(Entry {
            value: Value::Stream(s),
            ..
        }) => Ok(Some(s)),
        Some(_) => Err(CmdError::WrongType),
    }
}

/// The stream under `key` as a write command looks it up (no statistics),
/// without unsharing it.
pub(crate) fn peek_stream<'c>(
    ctx: &'c mut Ctx<'_, '_>,
    key: &[u8],
) -> Result<Option<&'c StreamValue>, CmdError> {
    match ctx.peek(key)? {
        None => Ok(None),
        Some(Entry {
            value: Value::Stream(s),
            ..
        }) => Ok(Some(s)),
        Some(_) => Err(CmdError::WrongType),
    }
}

/// The stream under `key` for modification (copy-on-write when a snapshot
/// shares it).
pub(crate) fn write_stream<'c>(
    ctx: &'c mut Ctx<'_, '_>,
    key: &[u8],
) -> Result<Option<&'c mut StreamValue>, CmdError> {
    match ctx.get_mut(key)? {
        None => Ok(None),
        Some(Entry {
            value: Value::Stream(s),
            ..
        }) => Ok(Some(Arc::make_mut(s))),
        Some(_) => Err(CmdError::WrongType),
    }
}

/// Creates an empty stream under `key` (the caller checked it is absent).
pub(crate) fn create_stream(ctx: &mut Ctx<'_, '_>, key: &[u8]) -> Result<(), CmdError> {
    ctx.set(key, Value::Stream(Arc::new(StreamValue::default())), false)?;
    Ok(())
}

/// An ID as a bulk string.
pub(crate) fn id_reply(id: StreamId) -> Reply {
    Reply::Bulk(id.to_bytes())
}

/// One entry as `[id, [field, value, ...]]`.
pub(crate) fn entry_reply(e: &crate::types::stream::Entry<'_>) -> Reply {
    let mut b = EntriesReply::default();
    b.push(e);
    b.finish().pop().unwrap_or(Reply::NilArray)
}

/// Builds the replies of a run of entries with one buffer for all their
/// bytes (IDs, fields, values), each bulk string a slice of it: a range of
/// 100 entries costs a few allocations, not one per string.
#[derive(Default)]
pub(crate) struct EntriesReply {
    data: bytes::BytesMut,
    /// Per entry: the ID's span, then each field's and value's span.
    spans: Vec<(usize, usize)>,
    /// Per entry: its number of spans (1 + 2 per pair).
    lens: Vec<usize>,
}

impl EntriesReply {
    fn span(&mut self, b: &[u8]) {
        let at = self.data.len();
        self.data.extend_from_slice(b);
        self.spans.push((at, self.data.len()));
    }

    /// Adds entry `e`.
    pub(crate) fn push(&mut self, e: &crate::types::stream::Entry<'_>) {
        use std::io::Write;
        let at = self.data.len();
        let mut w = (&mut self.data).writer();
        let _ = write!(w, "{}", e.id);
        self.spans.push((at, self.data.len()));
        let fields = e.fields();
        self.lens.push(1 + 2 * fields.len());
        for (f, v) in fields {
            self.span(f);
            self.span(v);
        }
    }

    /// Number of entries added.
    pub(crate) fn len(&self) -> usize {
        self.lens.len()
    }

    /// The `[id, [field, value, ...]]` replies, in order.
    pub(crate) fn finish(self) -> Vec<Reply> {
        let data = self.data.freeze();
        let mut spans = self.spans.into_iter();
        let mut bulk = || {
            let (a, b) = spans.next().unwrap_or((0, 0));
            Reply::Bulk(data.slice(a..b))
        };
        self.lens
            .iter()
            .map(|&n| {
                let id = bulk();
                let flat: Vec<Reply> = (1..n).map(|_| bulk()).collect();
                Reply::Array(vec![id, Reply::Array(flat)])
            })
            .collect()
    }
}

/// The entry `id` as `[id, [fields]]`, or None when it is not in `s`.
pub(crate) fn single_entry(s: &StreamValue, id: StreamId) -> Option<Reply> {
    s.get(id).map(|e| entry_reply(&e))
}

/// The node limits the command runs with.
pub(crate) fn limits(ctx: &Ctx<'_, '_>) -> NodeLimits {
    ctx.stream_node
}

/// Redis's `getLongLongFromObjectOrReply`: a strict integer.
pub(crate) fn int_arg(arg: &[u8]) -> Result<i64, CmdError> {
    crate::num::parse_i64(arg).ok_or(CmdError::NotInteger)
}

/// `argv[i]` as bytes (empty when out of range).
pub(crate) fn arg(argv: &[Bytes], i: usize) -> &[u8] {
    argv.get(i).map_or(&[][..], |b| &b[..])
}
