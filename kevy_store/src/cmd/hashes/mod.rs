//! Hash commands. A hash is a `listpack` (insertion order, which every
//! reply that lists fields keeps) until it outgrows Redis's thresholds, then
//! a `hashtable` (see `types/hash.rs`). Field commands live in `fields.rs`,
//! HRANDFIELD in `random.rs`, HSCAN and the scan-argument parser the other
//! SCAN-family commands share in `scan.rs`.

use super::StoreCommand;
use crate::ctx::Ctx;
use crate::error::CmdError;
use crate::spec::{acl, flags::*, CommandMeta, Keys};
use crate::types::HashValue;
use crate::value::{lru_clock, Entry, Value};
use std::sync::Arc;

mod fields;
pub(crate) mod random;
pub(crate) mod scan;

/// The hash family's table.
pub(crate) static COMMANDS: &[StoreCommand] = &[
    StoreCommand {
        meta: CommandMeta {
            name: "hset",
            arity: -4,
            flags: WRITE | DENYOOM | FAST,
            acl: acl::HASH,
            keys: Keys::ONE,
            group: "hash",
            summary: "Set the string value of a hash field",
            since: "2.0.0",
            complexity: "O(1) for each field/value pair added, so O(N) to add N field/value pairs when the command is called with multiple field/value pairs.",
        },
        run: fields::hset,
    },
    StoreCommand {
        meta: CommandMeta {
            name: "hsetnx",
            arity: 4,
            flags: WRITE | DENYOOM | FAST,
            acl: acl::HASH,
            keys: Keys::ONE,
            group: "hash",
            summary: "Set the value of a hash field, only if the field does not exist",
            since: "2.0.0",
            complexity: "O(1)",
        },
        run: fields::hsetnx,
    },
    StoreCommand {
        meta: CommandMeta {
            name: "hget",
            arity: 3,
            flags: READONLY | FAST,
            acl: acl::HASH,
            keys: Keys::ONE,
            group: "hash",
            summary: "Get the value of a hash field",
            since: "2.0.0",
            complexity: "O(1)",
        },
        run: fields::hget,
    },
    StoreCommand {
        meta: CommandMeta {
            name: "hmset",
            arity: -4,
            flags: WRITE | DENYOOM | FAST,
            acl: acl::HASH,
            keys: Keys::ONE,
            group: "hash",
            summary: "Set multiple hash fields to multiple values",
            since: "2.0.0",
            complexity: "O(N) where N is the number of fields being set.",
        },
        run: fields::hmset,
    },
    StoreCommand {
        meta: CommandMeta {
            name: "hmget",
            arity: -3,
            flags: READONLY | FAST,
            acl: acl::HASH,
            keys: Keys::ONE,
            group: "hash",
            summary: "Get the values of all the given hash fields",
            since: "2.0.0",
            complexity: "O(N) where N is the number of fields being requested.",
        },
        run: fields::hmget,
    },
    StoreCommand {
        meta: CommandMeta {
            name: "hdel",
            arity: -3,
            flags: WRITE | FAST,
            acl: acl::HASH,
            keys: Keys::ONE,
            group: "hash",
            summary: "Delete one or more hash fields",
            since: "2.0.0",
            complexity: "O(N) where N is the number of fields to be removed.",
        },
        run: fields::hdel,
    },
    StoreCommand {
        meta: CommandMeta {
            name: "hexists",
            arity: 3,
            flags: READONLY | FAST,
            acl: acl::HASH,
            keys: Keys::ONE,
            group: "hash",
            summary: "Determine if a hash field exists",
            since: "2.0.0",
            complexity: "O(1)",
        },
        run: fields::hexists,
    },
    StoreCommand {
        meta: CommandMeta {
            name: "hlen",
            arity: 2,
            flags: READONLY | FAST,
            acl: acl::HASH,
            keys: Keys::ONE,
            group: "hash",
            summary: "Get the number of fields in a hash",
            since: "2.0.0",
            complexity: "O(1)",
        },
        run: fields::hlen,
    },
    StoreCommand {
        meta: CommandMeta {
            name: "hstrlen",
            arity: 3,
            flags: READONLY | FAST,
            acl: acl::HASH,
            keys: Keys::ONE,
            group: "hash",
            summary: "Get the length of the value of a hash field",
            since: "3.2.0",
            complexity: "O(1)",
        },
        run: fields::hstrlen,
    },
    StoreCommand {
        meta: CommandMeta {
            name: "hkeys",
            arity: 2,
            flags: READONLY,
            acl: acl::HASH,
            keys: Keys::ONE,
            group: "hash",
            summary: "Get all the fields in a hash",
            since: "2.0.0",
            complexity: "O(N) where N is the size of the hash.",
        },
        run: fields::hkeys,
    },
    StoreCommand {
        meta: CommandMeta {
            name: "hvals",
            arity: 2,
            flags: READONLY,
            acl: acl::HASH,
            keys: Keys::ONE,
            group: "hash",
            summary: "Get all the values in a hash",
            since: "2.0.0",
            complexity: "O(N) where N is the size of the hash.",
        },
        run: fields::hvals,
    },
    StoreCommand {
        meta: CommandMeta {
            name: "hgetall",
            arity: 2,
            flags: READONLY,
            acl: acl::HASH,
            keys: Keys::ONE,
            group: "hash",
            summary: "Get all the fields and values in a hash",
            since: "2.0.0",
            complexity: "O(N) where N is the size of the hash.",
        },
        run: fields::hgetall,
    },
    StoreCommand {
        meta: CommandMeta {
            name: "hincrby",
            arity: 4,
            flags: WRITE | DENYOOM | FAST,
            acl: acl::HASH,
            keys: Keys::ONE,
            group: "hash",
            summary: "Increment the integer value of a hash field by the given number",
            since: "2.0.0",
            complexity: "O(1)",
        },
        run: fields::hincrby,
    },
    StoreCommand {
        meta: CommandMeta {
            name: "hincrbyfloat",
            arity: 4,
            flags: WRITE | DENYOOM | FAST,
            acl: acl::HASH,
            keys: Keys::ONE,
            group: "hash",
            summary: "Increment the float value of a hash field by the given amount",
            since: "2.6.0",
            complexity: "O(1)",
        },
        run: fields::hincrbyfloat,
    },
    StoreCommand {
        meta: CommandMeta {
            name: "hrandfield",
            arity: -2,
            flags: READONLY,
            acl: acl::HASH,
            keys: Keys::ONE,
            group: "hash",
            summary: "Get one or multiple random fields from a hash",
            since: "6.2.0",
            complexity: "O(N) where N is the number of fields returned",
        },
        run: random::hrandfield,
    },
    StoreCommand {
        meta: CommandMeta {
            name: "hscan",
            arity: -3,
            flags: READONLY,
            acl: acl::HASH,
            keys: Keys::ONE,
            group: "hash",
            summary: "Incrementally iterate hash fields and associated values",
            since: "2.8.0",
            complexity: "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection..",
        },
        run: scan::hscan,
    },
];

/// The hash under `key` for a read command (counts a keyspace hit or miss);
/// `WrongType` if `key` holds another type.
fn read<'c>(ctx: &'c mut Ctx<'_, '_>, key: &[u8]) -> Result<Option<&'c HashValue>, CmdError> {
    match ctx.get(key)? {
        None => Ok(None),
        Some(Entry {
            value: Value::Hash(h),
            ..
        }) => Ok(Some(h)),
        Some(_) => Err(CmdError::WrongType),
    }
}

/// The hash under `key` as a write command sees it before changing it: no
/// hit/miss counted, nothing copied.
fn peek<'c>(ctx: &'c mut Ctx<'_, '_>, key: &[u8]) -> Result<Option<&'c HashValue>, CmdError> {
    match ctx.peek(key)? {
        None => Ok(None),
        Some(Entry {
            value: Value::Hash(h),
            ..
        }) => Ok(Some(h)),
        Some(_) => Err(CmdError::WrongType),
    }
}

/// The hash under `key` for modification (copied first if a snapshot
/// shares it).
fn write<'c>(ctx: &'c mut Ctx<'_, '_>, key: &[u8]) -> Result<Option<&'c mut HashValue>, CmdError> {
    let clock = lru_clock(ctx.now_ms);
    match ctx.get_mut(key)? {
        None => Ok(None),
        Some(e) => {
            e.touch(clock);
            match &mut e.value {
                Value::Hash(h) => Ok(Some(Arc::make_mut(h))),
                _ => Err(CmdError::WrongType),
            }
        }
    }
}

/// The hash under `key` for modification, created empty when missing (the
/// caller must leave it non-empty).
fn write_or_create<'c>(
    ctx: &'c mut Ctx<'_, '_>,
    key: &[u8],
) -> Result<&'c mut HashValue, CmdError> {
    if peek(ctx, key)?.is_none() {
        ctx.set(key, Value::Hash(Arc::new(HashValue::default())), false)?;
    }
    write(ctx, key)?.ok_or_else(|| CmdError::err("internal error: hash vanished"))
}
