//! Generic keyspace commands that act on named keys: DEL, UNLINK, EXISTS,
//! TYPE, TOUCH, RENAME, RENAMENX, COPY, MOVE and OBJECT, plus
//! [`restore_form`], the commands that recreate an entry in another shard's
//! log. Expiry commands live in `expire.rs`, whole-keyspace ones in `scan.rs`.

mod object;

use super::StoreCommand;
use crate::ctx::{notify, shard_for, Ctx};
use crate::error::{CmdError, CmdResult};
use crate::kstr::VStr;
use crate::num::arg_i64;
use crate::spec::{acl, flags::*, CommandMeta, Keys};
use crate::value::{lru_clock, Entry, Value};
use bytes::Bytes;
use kevy_resp::Reply;
use object::{object, object_keys};

/// The keyspace family's table.
pub(crate) static COMMANDS: &[StoreCommand] = &[
    StoreCommand {
        meta: CommandMeta {
            name: "del",
            arity: -2,
            flags: WRITE,
            acl: acl::KEYSPACE,
            keys: Keys::ALL,
            group: "generic",
            summary: "Delete a key",
            since: "1.0.0",
            complexity: "O(N) where N is the number of keys that will be removed. When a key to remove holds a value other than a string, the individual complexity for this key is O(M) where M is the number of elements in the list, set, sorted set or hash. Removing a single key that holds a string value is O(1).",
        },
        run: del,
    },
    StoreCommand {
        meta: CommandMeta {
            name: "unlink",
            arity: -2,
            flags: WRITE | FAST,
            acl: acl::KEYSPACE,
            keys: Keys::ALL,
            group: "generic",
            summary: "Delete a key asynchronously in another thread. Otherwise it is just as DEL, but non blocking.",
            since: "4.0.0",
            complexity: "O(1) for each key removed regardless of its size. Then the command does O(N) work in a different thread in order to reclaim memory, where N is the number of allocations the deleted objects where composed of.",
        },
        run: unlink,
    },
    StoreCommand {
        meta: CommandMeta {
            name: "exists",
            arity: -2,
            flags: READONLY | FAST,
            acl: acl::KEYSPACE,
            keys: Keys::ALL,
            group: "generic",
            summary: "Determine if a key exists",
            since: "1.0.0",
            complexity: "O(N) where N is the number of keys to check.",
        },
        run: exists,
    },
    StoreCommand {
        meta: CommandMeta {
            name: "type",
            arity: 2,
            flags: READONLY | FAST,
            acl: acl::KEYSPACE,
            keys: Keys::ONE,
            group: "generic",
            summary: "Determine the type stored at key",
            since: "1.0.0",
            complexity: "O(1)",
        },
        run: type_cmd,
    },
    StoreCommand {
        meta: CommandMeta {
            name: "rename",
            arity: 3,
            flags: WRITE,
            acl: acl::KEYSPACE,
            keys: Keys::TWO,
            group: "generic",
            summary: "Rename a key",
            since: "1.0.0",
            complexity: "O(1)",
        },
        run: rename,
    },
    StoreCommand {
        meta: CommandMeta {
            name: "renamenx",
            arity: 3,
            flags: WRITE | FAST,
            acl: acl::KEYSPACE,
            keys: Keys::TWO,
            group: "generic",
            summary: "Rename a key, only if the new key does not exist",
            since: "1.0.0",
            complexity: "O(1)",
        },
        run: renamenx,
    },
    StoreCommand {
        meta: CommandMeta {
            name: "copy",
            arity: -3,
            flags: WRITE | DENYOOM,
            acl: acl::KEYSPACE,
            keys: Keys::TWO,
            group: "generic",
            summary: "Copy a key",
            since: "6.2.0",
            complexity: "O(N) worst case for collections, where N is the number of nested items. O(1) for string values.",
        },
        run: copy,
    },
    StoreCommand {
        meta: CommandMeta {
            name: "move",
            arity: 3,
            flags: WRITE | FAST,
            acl: acl::KEYSPACE,
            keys: Keys::ONE,
            group: "generic",
            summary: "Move a key to another database",
            since: "1.0.0",
            complexity: "O(1)",
        },
        run: move_cmd,
    },
    StoreCommand {
        meta: CommandMeta {
            name: "touch",
            arity: -2,
            flags: READONLY | FAST,
            acl: acl::KEYSPACE,
            keys: Keys::ALL,
            group: "generic",
            summary: "Alters the last access time of a key(s). Returns the number of existing keys specified.",
            since: "3.2.1",
            complexity: "O(N) where N is the number of keys that will be touched.",
        },
        run: touch,
    },
    StoreCommand {
        meta: CommandMeta {
            name: "object",
            arity: -2,
            flags: 0,
            acl: 0,
            keys: Keys::Custom { first: 0, last: 0, step: 0, find: object_keys },
            group: "generic",
            summary: "A container for object introspection commands",
            since: "2.2.3",
            complexity: "Depends on subcommand.",
        },
        run: object,
    },
];

/// The commands that recreate `entry` (value and expiry) under `key` in a
/// log, replacing whatever `key` held: how a cross-shard RENAME, COPY or
/// MOVE reaches the destination shard's log, which never sees the source key.
pub(crate) fn restore_form(key: &[u8], entry: &Entry) -> Vec<Vec<Vec<u8>>> {
    let at = entry.expire_at().map(|t| t.to_string().into_bytes());
    if let Value::Str(s) = &entry.value {
        // One SET replaces any type and carries the expiry.
        let mut set = vec![b"SET".to_vec(), key.to_vec(), s.to_vec()];
        if let Some(at) = at {
            set.push(b"PXAT".to_vec());
            set.push(at);
        }
        return vec![set];
    }
    // Collections are rebuilt by appending, so clear the key first.
    let mut out = vec![vec![b"DEL".to_vec(), key.to_vec()]];
    out.extend(entry.value.restore_commands(key));
    if let Some(at) = at {
        out.push(vec![b"PEXPIREAT".to_vec(), key.to_vec(), at]);
    }
    out
}

/// Logs `restore_form(key, entry)` to `key`'s shard, in the current db.
fn propagate_restore(ctx: &mut Ctx<'_, '_>, key: &[u8], entry: &Entry) {
    for cmd in restore_form(key, entry) {
        let parts: Vec<&[u8]> = cmd.iter().map(Vec::as_slice).collect();
        ctx.propagate(key, &parts);
    }
}

/// Redis's `lookupKeyWrite`: the live entry under `key` with its access
/// recorded, not counted in the keyspace hit/miss statistics (only reads are).
pub(crate) fn lookup_write<'c>(
    ctx: &'c mut Ctx<'_, '_>,
    key: &[u8],
) -> Result<Option<&'c Entry>, CmdError> {
    let clock = lru_clock(ctx.now_ms);
    let e = ctx.peek(key)?;
    if let Some(e) = e {
        e.touch(clock);
    }
    Ok(e)
}

/// The string under `key` for a write command (see [`lookup_write`]);
/// `WrongType` if it holds another type.
pub(crate) fn write_str(ctx: &mut Ctx<'_, '_>, key: &[u8]) -> Result<Option<VStr>, CmdError> {
    match lookup_write(ctx, key)? {
        None => Ok(None),
        Some(Entry {
            value: Value::Str(s),
            ..
        }) => Ok(Some(s.clone())),
        Some(_) => Err(CmdError::WrongType),
    }
}

/// Counts a read that used [`Ctx::peek`] (no access recorded, as Redis's
/// `LOOKUP_NOTOUCH`) in the keyspace hit/miss statistics.
pub(crate) fn count_lookup(ctx: &mut Ctx<'_, '_>, hit: bool) {
    if hit {
        ctx.events.hits += 1;
    } else {
        ctx.events.misses += 1;
    }
}

/// A key just created with `entry` (RENAME, COPY, MOVE): clients blocked
/// on it may be served, as Redis's `dbAdd` signals for the blocking types.
fn added(ctx: &mut Ctx<'_, '_>, key: &[u8], entry: &Entry) {
    if matches!(entry.value.type_name(), "list" | "zset" | "stream") {
        ctx.key_ready(key);
    }
}

/// A fresh copy of `e` (value and expiry) whose access clock reads `now`.
fn fresh_copy(e: &Entry, now_ms: u64) -> Entry {
    let c = Entry::with_expiry(e.value.clone(), e.expire_at);
    c.touch(lru_clock(now_ms));
    c
}

/// Deletes each key that exists, logging `DEL key` to its own shard.
fn del_keys(ctx: &mut Ctx<'_, '_>, keys: &[Bytes]) -> CmdResult {
    let mut n = 0;
    for key in keys {
        if ctx.remove(key)?.is_some() {
            ctx.modified(key);
            ctx.notify(notify::GENERIC, "del", key);
            ctx.propagate(key, &[b"DEL", key]);
            n += 1;
        }
    }
    Ok(Reply::Int(n))
}

/// `DEL key [key ...]`
fn del(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    del_keys(ctx, &argv[1..])
}

/// `UNLINK key [key ...]`: DEL; values are freed when their last snapshot
/// reference goes, which is already off the command path for shared data.
fn unlink(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    del_keys(ctx, &argv[1..])
}

/// `EXISTS key [key ...]`: counts a key once per mention.
fn exists(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    let mut n = 0;
    for key in &argv[1..] {
        let hit = ctx.peek(key)?.is_some();
        count_lookup(ctx, hit);
        if !hit {
            ctx.key_miss(key);
        }
        if hit {
            n += 1;
        }
    }
    Ok(Reply::Int(n))
}

/// `TOUCH key [key ...]`: records an access on each existing key.
fn touch(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    let mut n = 0;
    for key in &argv[1..] {
        if ctx.get(key)?.is_some() {
            n += 1;
        }
    }
    Ok(Reply::Int(n))
}

/// `TYPE key`
fn type_cmd(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    let name = ctx.peek(&argv[1])?.map(|e| e.value.type_name());
    count_lookup(ctx, name.is_some());
    if name.is_none() {
        ctx.key_miss(&argv[1]);
    }
    let name = name.unwrap_or("none");
    Ok(Reply::simple(name))
}

fn same_object() -> CmdError {
    CmdError::err("source and destination objects are the same")
}

/// `RENAME key newkey` and `RENAMENX key newkey`.
fn rename_generic(ctx: &mut Ctx<'_, '_>, argv: &[Bytes], nx: bool) -> CmdResult {
    let (src, dst) = (&argv[1][..], &argv[2][..]);
    let Some(entry) = lookup_write(ctx, src)?.cloned() else {
        return Err(CmdError::NoSuchKey);
    };
    let done = if nx { Reply::Int(1) } else { Reply::ok() };
    if src == dst {
        ctx.suppress_propagation();
        return Ok(if nx { Reply::Int(0) } else { done });
    }
    if lookup_write(ctx, dst)?.is_some() {
        if nx {
            ctx.suppress_propagation();
            return Ok(Reply::Int(0));
        }
        ctx.remove(dst)?;
    }
    ctx.remove(src)?;
    ctx.set_entry(dst, entry.clone())?;
    ctx.modified(src);
    ctx.signal_modified(dst);
    ctx.notify(notify::GENERIC, "rename_from", src);
    ctx.notify(notify::GENERIC, "rename_to", dst);
    added(ctx, dst, &entry);
    let n = ctx.nshards();
    if shard_for(src, n) == shard_for(dst, n) {
        ctx.propagate(src, &[b"RENAME", src, dst]);
    } else {
        ctx.propagate(src, &[b"DEL", src]);
        propagate_restore(ctx, dst, &entry);
    }
    Ok(done)
}

/// `RENAME key newkey`
fn rename(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    rename_generic(ctx, argv, false)
}

/// `RENAMENX key newkey`
fn renamenx(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    rename_generic(ctx, argv, true)
}

/// Checks a database index argument against the configured count.
fn db_index(ctx: &mut Ctx<'_, '_>, id: i64) -> Result<usize, CmdError> {
    if id < 0 || id as u64 >= ctx.ndbs() as u64 {
        return Err(CmdError::DbIndex);
    }
    Ok(id as usize)
}

/// Runs `f` with `db` selected, restoring the selection afterwards (also on error).
fn in_db<R>(ctx: &mut Ctx<'_, '_>, db: usize, f: impl FnOnce(&mut Ctx<'_, '_>) -> R) -> R {
    let saved = std::mem::replace(&mut ctx.db, db);
    let r = f(ctx);
    ctx.db = saved;
    r
}

/// `COPY source destination [DB destination-db] [REPLACE]`
struct Copy<'a> {
    src: &'a [u8],
    dst: &'a [u8],
    db: Option<usize>,
    replace: bool,
}

impl<'a> Copy<'a> {
    fn parse(ctx: &mut Ctx<'_, '_>, argv: &'a [Bytes]) -> Result<Self, CmdError> {
        let mut c = Copy {
            src: &argv[1],
            dst: &argv[2],
            db: None,
            replace: false,
        };
        let mut j = 3;
        while j < argv.len() {
            let opt = &argv[j][..];
            if opt.eq_ignore_ascii_case(b"replace") {
                c.replace = true;
            } else if opt.eq_ignore_ascii_case(b"db") && j + 1 < argv.len() {
                let id = arg_i64(&argv[j + 1])?;
                c.db = Some(db_index(ctx, id)?);
                j += 1;
            } else {
                return Err(CmdError::Syntax);
            }
            j += 1;
        }
        Ok(c)
    }

    fn exec(self, ctx: &mut Ctx<'_, '_>) -> CmdResult {
        let dst_db = self.db.unwrap_or(ctx.db);
        if dst_db == ctx.db && self.src == self.dst {
            return Err(same_object());
        }
        let now = ctx.now_ms;
        let Some(entry) = ctx.get(self.src)?.map(|e| fresh_copy(e, now)) else {
            return Ok(Reply::Int(0));
        };
        let dst = self.dst;
        let replace = self.replace;
        in_db(ctx, dst_db, |ctx| {
            if lookup_write(ctx, dst)?.is_some() {
                if !replace {
                    return Ok(Reply::Int(0));
                }
                ctx.remove(dst)?;
            }
            ctx.set_entry(dst, entry.clone())?;
            ctx.modified(dst);
            ctx.notify(notify::GENERIC, "copy_to", dst);
            added(ctx, dst, &entry);
            propagate_restore(ctx, dst, &entry);
            Ok(Reply::Int(1))
        })
    }
}

fn copy(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    Copy::parse(ctx, argv)?.exec(ctx)
}

/// `MOVE key db`
fn move_cmd(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    let key = &argv[1][..];
    let id = arg_i64(&argv[2])?;
    if i32::try_from(id).is_err() {
        return Err(CmdError::err(
            "value is out of range, value must between -2147483648 and 2147483647",
        ));
    }
    let dst_db = db_index(ctx, id)?;
    if dst_db == ctx.db {
        return Err(same_object());
    }
    let Some(entry) = lookup_write(ctx, key)?.cloned() else {
        return Ok(Reply::Int(0));
    };
    let moved = in_db(ctx, dst_db, |ctx| -> Result<bool, CmdError> {
        if lookup_write(ctx, key)?.is_some() {
            return Ok(false);
        }
        ctx.set_entry(key, entry.clone())?;
        Ok(true)
    })?;
    if !moved {
        return Ok(Reply::Int(0));
    }
    ctx.remove(key)?;
    ctx.modified(key);
    ctx.notify(notify::GENERIC, "move_from", key);
    ctx.propagate(key, &[b"DEL", key]);
    in_db(ctx, dst_db, |ctx| {
        ctx.signal_modified(key);
        ctx.notify(notify::GENERIC, "move_to", key);
        added(ctx, key, &entry);
        propagate_restore(ctx, key, &entry);
    });
    Ok(Reply::Int(1))
}

#[cfg(test)]
mod tests;
