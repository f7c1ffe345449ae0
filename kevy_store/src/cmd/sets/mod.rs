//! Set commands. A set is an `intset` (sorted, which SMEMBERS, SSCAN and
//! the algebra results keep) until a non-integer or its size converts it to
//! a `hashtable` (see `types/set.rs`). Membership commands and SSCAN live
//! in `members.rs`, SPOP/SRANDMEMBER in `random.rs`, SINTER/SUNION/SDIFF
//! and their STORE forms in `algebra.rs`.

use super::StoreCommand;
use crate::ctx::Ctx;
use crate::error::CmdError;
use crate::num::parse_i64;
use crate::spec::{acl, flags::*, CommandMeta, Keys};
use crate::types::SetValue;
use crate::value::{lru_clock, Entry, Value};
use bytes::Bytes;
use std::sync::Arc;

mod algebra;
mod members;
mod random;

/// The set family's table.
pub(crate) static COMMANDS: &[StoreCommand] = &[
    StoreCommand {
        meta: CommandMeta {
            name: "sadd",
            arity: -3,
            flags: WRITE | DENYOOM | FAST,
            acl: acl::SET,
            keys: Keys::ONE,
            group: "set",
            summary: "Add one or more members to a set",
            since: "1.0.0",
            complexity: "O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments.",
        },
        run: members::sadd,
    },
    StoreCommand {
        meta: CommandMeta {
            name: "srem",
            arity: -3,
            flags: WRITE | FAST,
            acl: acl::SET,
            keys: Keys::ONE,
            group: "set",
            summary: "Remove one or more members from a set",
            since: "1.0.0",
            complexity: "O(N) where N is the number of members to be removed.",
        },
        run: members::srem,
    },
    StoreCommand {
        meta: CommandMeta {
            name: "smembers",
            arity: 2,
            flags: READONLY,
            acl: acl::SET,
            keys: Keys::ONE,
            group: "set",
            summary: "Get all the members in a set",
            since: "1.0.0",
            complexity: "O(N) where N is the set cardinality.",
        },
        run: members::smembers,
    },
    StoreCommand {
        meta: CommandMeta {
            name: "sismember",
            arity: 3,
            flags: READONLY | FAST,
            acl: acl::SET,
            keys: Keys::ONE,
            group: "set",
            summary: "Determine if a given value is a member of a set",
            since: "1.0.0",
            complexity: "O(1)",
        },
        run: members::sismember,
    },
    StoreCommand {
        meta: CommandMeta {
            name: "smismember",
            arity: -3,
            flags: READONLY | FAST,
            acl: acl::SET,
            keys: Keys::ONE,
            group: "set",
            summary: "Returns the membership associated with the given elements for a set",
            since: "6.2.0",
            complexity: "O(N) where N is the number of elements being checked for membership",
        },
        run: members::smismember,
    },
    StoreCommand {
        meta: CommandMeta {
            name: "scard",
            arity: 2,
            flags: READONLY | FAST,
            acl: acl::SET,
            keys: Keys::ONE,
            group: "set",
            summary: "Get the number of members in a set",
            since: "1.0.0",
            complexity: "O(1)",
        },
        run: members::scard,
    },
    StoreCommand {
        meta: CommandMeta {
            name: "smove",
            arity: 4,
            flags: WRITE | FAST,
            acl: acl::SET,
            keys: Keys::TWO,
            group: "set",
            summary: "Move a member from one set to another",
            since: "1.0.0",
            complexity: "O(1)",
        },
        run: members::smove,
    },
    StoreCommand {
        meta: CommandMeta {
            name: "spop",
            arity: -2,
            flags: WRITE | FAST,
            acl: acl::SET,
            keys: Keys::ONE,
            group: "set",
            summary: "Remove and return one or multiple random members from a set",
            since: "1.0.0",
            complexity: "Without the count argument O(1), otherwise O(N) where N is the value of the passed count.",
        },
        run: random::spop,
    },
    StoreCommand {
        meta: CommandMeta {
            name: "srandmember",
            arity: -2,
            flags: READONLY,
            acl: acl::SET,
            keys: Keys::ONE,
            group: "set",
            summary: "Get one or multiple random members from a set",
            since: "1.0.0",
            complexity: "Without the count argument O(1), otherwise O(N) where N is the absolute value of the passed count.",
        },
        run: random::srandmember,
    },
    StoreCommand {
        meta: CommandMeta {
            name: "sinter",
            arity: -2,
            flags: READONLY,
            acl: acl::SET,
            keys: Keys::ALL,
            group: "set",
            summary: "Intersect multiple sets",
            since: "1.0.0",
            complexity: "O(N*M) worst case where N is the cardinality of the smallest set and M is the number of sets.",
        },
        run: algebra::sinter,
    },
    StoreCommand {
        meta: CommandMeta {
            name: "sintercard",
            arity: -3,
            flags: READONLY | MOVABLE_KEYS,
            acl: acl::SET,
            keys: Keys::Custom { first: 0, last: 0, step: 0, find: sintercard_keys },
            group: "set",
            summary: "Intersect multiple sets and return the cardinality of the result",
            since: "7.0.0",
            complexity: "O(N*M) worst case where N is the cardinality of the smallest set and M is the number of sets.",
        },
        run: algebra::sintercard,
    },
    StoreCommand {
        meta: CommandMeta {
            name: "sunion",
            arity: -2,
            flags: READONLY,
            acl: acl::SET,
            keys: Keys::ALL,
            group: "set",
            summary: "Add multiple sets",
            since: "1.0.0",
            complexity: "O(N) where N is the total number of elements in all given sets.",
        },
        run: algebra::sunion,
    },
    StoreCommand {
        meta: CommandMeta {
            name: "sdiff",
            arity: -2,
            flags: READONLY,
            acl: acl::SET,
            keys: Keys::ALL,
            group: "set",
            summary: "Subtract multiple sets",
            since: "1.0.0",
            complexity: "O(N) where N is the total number of elements in all given sets.",
        },
        run: algebra::sdiff,
    },
    StoreCommand {
        meta: CommandMeta {
            name: "sinterstore",
            arity: -3,
            flags: WRITE | DENYOOM,
            acl: acl::SET,
            keys: Keys::ALL,
            group: "set",
            summary: "Intersect multiple sets and store the resulting set in a key",
            since: "1.0.0",
            complexity: "O(N*M) worst case where N is the cardinality of the smallest set and M is the number of sets.",
        },
        run: algebra::sinterstore,
    },
    StoreCommand {
        meta: CommandMeta {
            name: "sunionstore",
            arity: -3,
            flags: WRITE | DENYOOM,
            acl: acl::SET,
            keys: Keys::ALL,
            group: "set",
            summary: "Add multiple sets and store the resulting set in a key",
            since: "1.0.0",
            complexity: "O(N) where N is the total number of elements in all given sets.",
        },
        run: algebra::sunionstore,
    },
    StoreCommand {
        meta: CommandMeta {
            name: "sdiffstore",
            arity: -3,
            flags: WRITE | DENYOOM,
            acl: acl::SET,
            keys: Keys::ALL,
            group: "set",
            summary: "Subtract multiple sets and store the resulting set in a key",
            since: "1.0.0",
            complexity: "O(N) where N is the total number of elements in all given sets.",
        },
        run: algebra::sdiffstore,
    },
    StoreCommand {
        meta: CommandMeta {
            name: "sscan",
            arity: -3,
            flags: READONLY,
            acl: acl::SET,
            keys: Keys::ONE,
            group: "set",
            summary: "Incrementally iterate Set elements",
            since: "2.8.0",
            complexity: "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection..",
        },
        run: members::sscan,
    },
];

/// SINTERCARD's key positions: `numkeys` keys from argument 2; none when
/// `numkeys` is malformed (the command then reports the error).
fn sintercard_keys(argv: &[Bytes]) -> Vec<usize> {
    match argv.get(1).and_then(|n| parse_i64(n)) {
        Some(n) if n > 0 && n <= argv.len().saturating_sub(2) as i64 => {
            (2..2 + n as usize).collect()
        }
        _ => Vec::new(),
    }
}

/// The set under `key` for a read command (counts a keyspace hit or miss);
/// `WrongType` if `key` holds another type.
fn read<'c>(ctx: &'c mut Ctx<'_, '_>, key: &[u8]) -> Result<Option<&'c Arc<SetValue>>, CmdError> {
    match ctx.get(key)? {
        None => Ok(None),
        Some(Entry {
            value: Value::Set(s),
            ..
        }) => Ok(Some(s)),
        Some(_) => Err(CmdError::WrongType),
    }
}

/// The set under `key` as a write command sees it before changing it: no
/// hit/miss counted, nothing copied.
fn peek<'c>(ctx: &'c mut Ctx<'_, '_>, key: &[u8]) -> Result<Option<&'c Arc<SetValue>>, CmdError> {
    match ctx.peek(key)? {
        None => Ok(None),
        Some(Entry {
            value: Value::Set(s),
            ..
        }) => Ok(Some(s)),
        Some(_) => Err(CmdError::WrongType),
    }
}

/// The set under `key` for modification (copied first if a snapshot
/// shares it).
fn write<'c>(ctx: &'c mut Ctx<'_, '_>, key: &[u8]) -> Result<Option<&'c mut SetValue>, CmdError> {
    let clock = lru_clock(ctx.now_ms);
    match ctx.get_mut(key)? {
        None => Ok(None),
        Some(e) => {
            e.touch(clock);
            match &mut e.value {
                Value::Set(s) => Ok(Some(Arc::make_mut(s))),
                _ => Err(CmdError::WrongType),
            }
        }
    }
}

/// The set under `key` for modification, created empty when missing (the
/// caller must leave it non-empty).
fn write_or_create<'c>(ctx: &'c mut Ctx<'_, '_>, key: &[u8]) -> Result<&'c mut SetValue, CmdError> {
    if peek(ctx, key)?.is_none() {
        ctx.set(key, Value::Set(Arc::new(SetValue::default())), false)?;
    }
    write(ctx, key)?.ok_or_else(|| CmdError::err("internal error: set vanished"))
}
