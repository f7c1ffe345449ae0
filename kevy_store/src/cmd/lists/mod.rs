//! The list command family: pushes and pops at both ends, indexed and ranged
//! access (`basic.rs`), and the commands that move elements between keys or
//! wait for them: LMOVE, LMPOP and the blocking pops (`moves.rs`). Values are
//! [`ListValue`]s (persistent vectors); an emptied list is deleted.

use super::StoreCommand;
use crate::ctx::{notify, Ctx};
use crate::error::CmdError;
use crate::spec::{acl, flags::*, CommandMeta, Keys};
use crate::types::list::{End, ListValue};
use crate::value::{Entry, Value};
use bytes::Bytes;
use kevy_resp::Reply;
use std::sync::Arc;

mod basic;
mod moves;
#[cfg(test)]
mod tests;

use basic::*;
use moves::*;

/// The lists family's table.
pub(crate) static COMMANDS: &[StoreCommand] = &[
    StoreCommand {
        meta: CommandMeta {
            name: "lpush",
            arity: -3,
            flags: WRITE | DENYOOM | FAST,
            acl: acl::LIST,
            keys: Keys::ONE,
            group: "list",
            summary: "Prepend one or multiple elements to a list",
            since: "1.0.0",
            complexity: PUSH_COMPLEXITY,
        },
        run: lpush,
    },
    StoreCommand {
        meta: CommandMeta {
            name: "rpush",
            arity: -3,
            flags: WRITE | DENYOOM | FAST,
            acl: acl::LIST,
            keys: Keys::ONE,
            group: "list",
            summary: "Append one or multiple elements to a list",
            since: "1.0.0",
            complexity: PUSH_COMPLEXITY,
        },
        run: rpush,
    },
    StoreCommand {
        meta: CommandMeta {
            name: "lpushx",
            arity: -3,
            flags: WRITE | DENYOOM | FAST,
            acl: acl::LIST,
            keys: Keys::ONE,
            group: "list",
            summary: "Prepend an element to a list, only if the list exists",
            since: "2.2.0",
            complexity: PUSH_COMPLEXITY,
        },
        run: lpushx,
    },
    StoreCommand {
        meta: CommandMeta {
            name: "rpushx",
            arity: -3,
            flags: WRITE | DENYOOM | FAST,
            acl: acl::LIST,
            keys: Keys::ONE,
            group: "list",
            summary: "Append an element to a list, only if the list exists",
            since: "2.2.0",
            complexity: PUSH_COMPLEXITY,
        },
        run: rpushx,
    },
    StoreCommand {
        meta: CommandMeta {
            name: "lpop",
            arity: -2,
            flags: WRITE | FAST,
            acl: acl::LIST,
            keys: Keys::ONE,
            group: "list",
            summary: "Remove and get the first elements in a list",
            since: "1.0.0",
            complexity: "O(N) where N is the number of elements returned",
        },
        run: lpop,
    },
    StoreCommand {
        meta: CommandMeta {
            name: "rpop",
            arity: -2,
            flags: WRITE | FAST,
            acl: acl::LIST,
            keys: Keys::ONE,
            group: "list",
            summary: "Remove and get the last elements in a list",
            since: "1.0.0",
            complexity: "O(N) where N is the number of elements returned",
        },
        run: rpop,
    },
    StoreCommand {
        meta: CommandMeta {
            name: "llen",
            arity: 2,
            flags: READONLY | FAST,
            acl: acl::LIST,
            keys: Keys::ONE,
            group: "list",
            summary: "Get the length of a list",
            since: "1.0.0",
            complexity: "O(1)",
        },
        run: llen,
    },
    StoreCommand {
        meta: CommandMeta {
            name: "lrange",
            arity: 4,
            flags: READONLY,
            acl: acl::LIST,
            keys: Keys::ONE,
            group: "list",
            summary: "Get a range of elements from a list",
            since: "1.0.0",
            complexity: "O(S+N) where S is the distance of start offset from HEAD for small lists, from nearest end (HEAD or TAIL) for large lists; and N is the number of elements in the specified range.",
        },
        run: lrange,
    },
    StoreCommand {
        meta: CommandMeta {
            name: "lindex",
            arity: 3,
            flags: READONLY,
            acl: acl::LIST,
            keys: Keys::ONE,
            group: "list",
            summary: "Get an element from a list by its index",
            since: "1.0.0",
            complexity: "O(N) where N is the number of elements to traverse to get to the element at index. This makes asking for the first or the last element of the list O(1).",
        },
        run: lindex,
    },
    StoreCommand {
        meta: CommandMeta {
            name: "lset",
            arity: 4,
            flags: WRITE | DENYOOM,
            acl: acl::LIST,
            keys: Keys::ONE,
            group: "list",
            summary: "Set the value of an element in a list by its index",
            since: "1.0.0",
            complexity: "O(N) where N is the length of the list. Setting either the first or the last element of the list is O(1).",
        },
        run: lset,
    },
    StoreCommand {
        meta: CommandMeta {
            name: "linsert",
            arity: 5,
            flags: WRITE | DENYOOM,
            acl: acl::LIST,
            keys: Keys::ONE,
            group: "list",
            summary: "Insert an element before or after another element in a list",
            since: "2.2.0",
            complexity: "O(N) where N is the number of elements to traverse before seeing the value pivot. This means that inserting somewhere on the left end on the list (head) can be considered O(1) and inserting somewhere on the right end (tail) is O(N).",
        },
        run: linsert,
    },
    StoreCommand {
        meta: CommandMeta {
            name: "lrem",
            arity: 4,
            flags: WRITE,
            acl: acl::LIST,
            keys: Keys::ONE,
            group: "list",
            summary: "Remove elements from a list",
            since: "1.0.0",
            complexity: "O(N+M) where N is the length of the list and M is the number of elements removed.",
        },
        run: lrem,
    },
    StoreCommand {
        meta: CommandMeta {
            name: "ltrim",
            arity: 4,
            flags: WRITE,
            acl: acl::LIST,
            keys: Keys::ONE,
            group: "list",
            summary: "Trim a list to the specified range",
            since: "1.0.0",
            complexity: "O(N) where N is the number of elements to be removed by the operation.",
        },
        run: ltrim,
    },
    StoreCommand {
        meta: CommandMeta {
            name: "lpos",
            arity: -3,
            flags: READONLY,
            acl: acl::LIST,
            keys: Keys::ONE,
            group: "list",
            summary: "Return the index of matching elements on a list",
            since: "6.0.6",
            complexity: "O(N) where N is the number of elements in the list, for the average case. When searching for elements near the head or the tail of the list, or when the MAXLEN option is provided, the command may run in constant time.",
        },
        run: lpos,
    },
    StoreCommand {
        meta: CommandMeta {
            name: "lmove",
            arity: 5,
            flags: WRITE | DENYOOM,
            acl: acl::LIST,
            keys: Keys::TWO,
            group: "list",
            summary: "Pop an element from a list, push it to another list and return it",
            since: "6.2.0",
            complexity: "O(1)",
        },
        run: lmove,
    },
    StoreCommand {
        meta: CommandMeta {
            name: "rpoplpush",
            arity: 3,
            flags: WRITE | DENYOOM,
            acl: acl::LIST,
            keys: Keys::TWO,
            group: "list",
            summary: "Remove the last element in a list, prepend it to another list and return it",
            since: "1.2.0",
            complexity: "O(1)",
        },
        run: rpoplpush,
    },
    StoreCommand {
        meta: CommandMeta {
            name: "lmpop",
            arity: -4,
            flags: WRITE | MOVABLE_KEYS,
            acl: acl::LIST,
            keys: Keys::Custom { first: 0, last: 0, step: 0, find: lmpop_keys },
            group: "list",
            summary: "Pop elements from a list",
            since: "7.0.0",
            complexity: MPOP_COMPLEXITY,
        },
        run: lmpop,
    },
    StoreCommand {
        meta: CommandMeta {
            name: "blpop",
            arity: -3,
            flags: WRITE | NOSCRIPT | BLOCKING,
            acl: acl::LIST,
            keys: Keys::Range { first: 1, last: -2, step: 1 },
            group: "list",
            summary: "Remove and get the first element in a list, or block until one is available",
            since: "2.0.0",
            complexity: "O(N) where N is the number of provided keys.",
        },
        run: blpop,
    },
    StoreCommand {
        meta: CommandMeta {
            name: "brpop",
            arity: -3,
            flags: WRITE | NOSCRIPT | BLOCKING,
            acl: acl::LIST,
            keys: Keys::Range { first: 1, last: -2, step: 1 },
            group: "list",
            summary: "Remove and get the last element in a list, or block until one is available",
            since: "2.0.0",
            complexity: "O(N) where N is the number of provided keys.",
        },
        run: brpop,
    },
    StoreCommand {
        meta: CommandMeta {
            name: "blmove",
            arity: 6,
            flags: WRITE | DENYOOM | NOSCRIPT | BLOCKING,
            acl: acl::LIST,
            keys: Keys::TWO,
            group: "list",
            summary: "Pop an element from a list, push it to another list and return it; or block until one is available",
            since: "6.2.0",
            complexity: "O(1)",
        },
        run: blmove,
    },
    StoreCommand {
        meta: CommandMeta {
            name: "brpoplpush",
            arity: 4,
            flags: WRITE | DENYOOM | NOSCRIPT | BLOCKING,
            acl: acl::LIST,
            keys: Keys::TWO,
            group: "list",
            summary: "Pop an element from a list, push it to another list and return it; or block until one is available",
            since: "2.2.0",
            complexity: "O(1)",
        },
        run: brpoplpush,
    },
    StoreCommand {
        meta: CommandMeta {
            name: "blmpop",
            arity: -5,
            flags: WRITE | BLOCKING | MOVABLE_KEYS,
            acl: acl::LIST,
            keys: Keys::Custom { first: 0, last: 0, step: 0, find: blmpop_keys },
            group: "list",
            summary: "Pop elements from a list, or block until one is available",
            since: "7.0.0",
            complexity: MPOP_COMPLEXITY,
        },
        run: blmpop,
    },
];

const PUSH_COMPLEXITY: &str = "O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments.";
const MPOP_COMPLEXITY: &str =
    "O(N+M) where N is the number of provided keys and M is the number of elements returned.";

/// The list under `key` for reading (counts a keyspace hit or miss);
/// `WrongType` if `key` holds another type.
fn read_list<'c>(ctx: &'c mut Ctx<'_, '_>, key: &[u8]) -> Result<Option<&'c ListValue>, CmdError> {
    match ctx.get(key)? {
        None => Ok(None),
        Some(Entry {
            value: Value::List(l),
            ..
        }) => Ok(Some(l)),
        Some(_) => Err(CmdError::WrongType),
    }
}

/// The list under `key` as a write command looks it up (no hit/miss
/// statistics, as Redis's `lookupKeyWrite`), without unsharing it: commands
/// that may turn out to change nothing look first, so a no-op never copies
/// what a snapshot shares.
fn peek_list<'c>(ctx: &'c mut Ctx<'_, '_>, key: &[u8]) -> Result<Option<&'c ListValue>, CmdError> {
    match ctx.peek(key)? {
        None => Ok(None),
        Some(Entry {
            value: Value::List(l),
            ..
        }) => Ok(Some(l)),
        Some(_) => Err(CmdError::WrongType),
    }
}

/// The list under `key` for modification (copy-on-write when a snapshot
/// shares it); `WrongType` if `key` holds another type.
fn write_list<'c>(
    ctx: &'c mut Ctx<'_, '_>,
    key: &[u8],
) -> Result<Option<&'c mut ListValue>, CmdError> {
    match ctx.get_mut(key)? {
        None => Ok(None),
        Some(Entry {
            value: Value::List(l),
            ..
        }) => Ok(Some(Arc::make_mut(l))),
        Some(_) => Err(CmdError::WrongType),
    }
}

/// Runs `f` on the list under `key`, creating it first if absent (the
/// caller has checked the type). Returns the list's new length.
fn with_created(
    ctx: &mut Ctx<'_, '_>,
    key: &[u8],
    f: impl FnOnce(&mut ListValue),
) -> Result<usize, CmdError> {
    if let Some(l) = write_list(ctx, key)? {
        f(l);
        return Ok(l.len());
    }
    let mut l = ListValue::default();
    f(&mut l);
    let len = l.len();
    ctx.set(key, Value::List(Arc::new(l)), false)?;
    Ok(len)
}

/// Counts `n` changes to `key` (Redis adds one to `dirty` per element) and
/// invalidates its WATCHes.
fn changed(ctx: &mut Ctx<'_, '_>, key: &[u8], n: usize) {
    ctx.modified(key);
    ctx.events.dirty += (n as u64).saturating_sub(1);
}

/// After elements were popped from `end` of `key` (Redis's
/// `listElementsRemoved`): the pop event, the deletion of an emptied list,
/// and the change count. `emptied`: the list is now empty.
fn popped(
    ctx: &mut Ctx<'_, '_>,
    key: &[u8],
    end: End,
    n: usize,
    emptied: bool,
) -> Result<(), CmdError> {
    ctx.notify(notify::LIST, pop_event(end), key);
    if emptied {
        ctx.remove(key)?;
        ctx.notify(notify::GENERIC, "del", key);
    }
    changed(ctx, key, n);
    Ok(())
}

fn pop_event(end: End) -> &'static str {
    match end {
        End::Left => "lpop",
        End::Right => "rpop",
    }
}

fn push_event(end: End) -> &'static str {
    match end {
        End::Left => "lpush",
        End::Right => "rpush",
    }
}

/// `LEFT` or `RIGHT`, case-insensitively; anything else is a syntax error.
fn parse_end(arg: &[u8]) -> Result<End, CmdError> {
    if arg.eq_ignore_ascii_case(b"left") {
        Ok(End::Left)
    } else if arg.eq_ignore_ascii_case(b"right") {
        Ok(End::Right)
    } else {
        Err(CmdError::Syntax)
    }
}

fn bulk(s: &crate::kstr::KStr) -> Reply {
    Reply::Bulk(s.to_bytes())
}

fn bulks<'a>(it: impl Iterator<Item = &'a crate::kstr::KStr>) -> Reply {
    Reply::Array(it.map(bulk).collect())
}

/// `argv[i]` as bytes.
fn arg(argv: &[Bytes], i: usize) -> &[u8] {
    argv.get(i).map_or(&[][..], |b| &b[..])
}
