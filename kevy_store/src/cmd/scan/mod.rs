//! Whole-keyspace commands: KEYS, SCAN, RANDOMKEY, DBSIZE, FLUSHDB,
//! FLUSHALL and SWAPDB. They lock every shard (`ALL_SHARDS`) and see the
//! selected database of each.
//!
//! SCAN's cursor is a position in the key-hash order every shard shares:
//! each call merges the shards' walks from the cursor, returns about COUNT
//! keys, and hands back the hash of the first key it did not visit. A key
//! present for the whole scan sits at a fixed position, so it is returned
//! whatever is written meanwhile, and the cursor means the same thing
//! whatever the shard count.

use super::reply_stream;
use super::StoreCommand;
use crate::ctx::Ctx;
use crate::db::Key;
use crate::error::{CmdError, CmdResult};
use crate::glob::glob_match;
use crate::num::arg_i64;
use crate::shard::Shard;
use crate::spec::{acl, flags::*, CommandMeta, Keys};
use bytes::Bytes;
use kevy_resp::Reply;

/// The whole-keyspace table.
pub(crate) static COMMANDS: &[StoreCommand] = &[
    StoreCommand {
        meta: CommandMeta {
            name: "keys",
            arity: 2,
            flags: READONLY | ALL_SHARDS,
            acl: acl::KEYSPACE | acl::DANGEROUS,
            keys: Keys::None,
            group: "generic",
            summary: "Find all keys matching the given pattern",
            since: "1.0.0",
            complexity: "O(N) with N being the number of keys in the database, under the assumption that the key names in the database and the given pattern have limited length.",
        },
        run: keys_cmd,
    },
    StoreCommand {
        meta: CommandMeta {
            name: "scan",
            arity: -2,
            flags: READONLY | ALL_SHARDS,
            acl: acl::KEYSPACE,
            keys: Keys::None,
            group: "generic",
            summary: "Incrementally iterate the keys space",
            since: "2.8.0",
            complexity: "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection.",
        },
        run: scan,
    },
    StoreCommand {
        meta: CommandMeta {
            name: "randomkey",
            arity: 1,
            flags: READONLY | ALL_SHARDS,
            acl: acl::KEYSPACE,
            keys: Keys::None,
            group: "generic",
            summary: "Return a random key from the keyspace",
            since: "1.0.0",
            complexity: "O(1)",
        },
        run: randomkey,
    },
    StoreCommand {
        meta: CommandMeta {
            name: "dbsize",
            arity: 1,
            flags: READONLY | FAST | ALL_SHARDS,
            acl: acl::KEYSPACE,
            keys: Keys::None,
            group: "server",
            summary: "Return the number of keys in the selected database",
            since: "1.0.0",
            complexity: "O(1)",
        },
        run: dbsize,
    },
    StoreCommand {
        meta: CommandMeta {
            name: "flushdb",
            arity: -1,
            flags: WRITE | ALL_SHARDS,
            acl: acl::KEYSPACE | acl::DANGEROUS,
            keys: Keys::None,
            group: "server",
            summary: "Remove all keys from the current database",
            since: "1.0.0",
            complexity: "O(N) where N is the number of keys in the selected database",
        },
        run: flushdb,
    },
    StoreCommand {
        meta: CommandMeta {
            name: "flushall",
            arity: -1,
            flags: WRITE | ALL_SHARDS,
            acl: acl::KEYSPACE | acl::DANGEROUS,
            keys: Keys::None,
            group: "server",
            summary: "Remove all keys from all databases",
            since: "1.0.0",
            complexity: "O(N) where N is the total number of keys in all databases",
        },
        run: flushall,
    },
    StoreCommand {
        meta: CommandMeta {
            name: "swapdb",
            arity: 3,
            flags: WRITE | FAST | ALL_SHARDS,
            acl: acl::KEYSPACE | acl::DANGEROUS,
            keys: Keys::None,
            group: "server",
            summary: "Swaps two Redis databases",
            since: "4.0.0",
            complexity: "O(N) where N is the count of clients watching or blocking on keys from both databases.",
        },
        run: swapdb,
    },
];

/// `KEYS pattern`: live keys only (expired ones are skipped, not deleted),
/// in key-hash order.
fn keys_cmd(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    let pat = &argv[1][..];
    let all = pat == b"*";
    let (db, now, loading) = (ctx.db, ctx.now_ms, ctx.loading);
    if ctx.stream_replies {
        if let Some(r) = reply_stream::keys::streamed(ctx, pat)? {
            return Ok(r);
        }
    }
    let mut found: Vec<Key> = Vec::new();
    for shard in ctx.shards_mut() {
        let Some(d) = shard.dbs.get(db) else {
            return Err(CmdError::DbIndex);
        };
        for (k, e) in d.iter() {
            if (all || glob_match(pat, k.bytes(), false)) && (loading || !e.is_expired(now)) {
                found.push(k.clone());
            }
        }
    }
    found.sort_unstable();
    Ok(Reply::Array(
        found
            .iter()
            .map(|k| Reply::Bulk(k.kstr().to_bytes()))
            .collect(),
    ))
}

/// Parses a SCAN cursor as Redis's `strtoul` accepts it: optional sign,
/// decimal digits, no spaces; a negative number wraps; the empty string is 0.
pub(crate) fn parse_cursor(b: &[u8]) -> Result<u64, CmdError> {
    let invalid = || CmdError::err("invalid cursor");
    let (neg, digits) = match b.first() {
        Some(b'-') => (true, &b[1..]),
        Some(b'+') => (false, &b[1..]),
        _ => (false, b),
    };
    if b.is_empty() {
        return Ok(0);
    }
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return Err(invalid());
    }
    let mut v: u64 = 0;
    for &c in digits {
        v = v
            .checked_mul(10)
            .and_then(|v| v.checked_add((c - b'0') as u64))
            .ok_or_else(invalid)?;
    }
    Ok(if neg { v.wrapping_neg() } else { v })
}

/// `SCAN cursor [MATCH pattern] [COUNT count] [TYPE type]`
struct Scan<'a> {
    cursor: u64,
    pattern: Option<&'a [u8]>,
    count: usize,
    type_name: Option<Vec<u8>>,
}

impl<'a> Scan<'a> {
    fn parse(argv: &'a [Bytes]) -> Result<Self, CmdError> {
        let mut s = Scan {
            cursor: parse_cursor(&argv[1])?,
            pattern: None,
            count: 10,
            type_name: None,
        };
        let mut i = 2;
        while i < argv.len() {
            let opt = &argv[i][..];
            let has_value = i + 1 < argv.len();
            if opt.eq_ignore_ascii_case(b"count") && has_value {
                let n = arg_i64(&argv[i + 1])?;
                if n < 1 {
                    return Err(CmdError::Syntax);
                }
                s.count = n.min(1 << 20) as usize;
            } else if opt.eq_ignore_ascii_case(b"match") && has_value {
                let p = &argv[i + 1][..];
                s.pattern = (p != b"*").then_some(p);
            } else if opt.eq_ignore_ascii_case(b"type") && has_value {
                s.type_name = Some(argv[i + 1].to_ascii_lowercase());
            } else {
                return Err(CmdError::Syntax);
            }
            i += 2;
        }
        Ok(s)
    }

    fn exec(self, ctx: &mut Ctx<'_, '_>) -> CmdResult {
        let (db, count) = (ctx.db, self.count);
        // Each shard contributes its first count+1 keys at or after the
        // cursor; the merged first count+1 then bound what was visited.
        let mut batch: Vec<Key> = Vec::new();
        for shard in ctx.shards_mut() {
            let Some(d) = shard.dbs.get(db) else {
                return Err(CmdError::DbIndex);
            };
            let mut n = 0;
            d.scan_from(self.cursor, |k, _| {
                batch.push(k.clone());
                n += 1;
                n <= count
            });
        }
        batch.sort_unstable();
        let next = if batch.len() > count {
            let boundary = batch[count].hash();
            let visited = batch.iter().take_while(|k| k.hash() < boundary).count();
            if visited > 0 {
                batch.truncate(visited);
                boundary
            } else {
                // More than COUNT keys share one hash: take them all and
                // resume past it (never happens with a 64-bit hash in practice).
                batch.retain(|k| k.hash() == boundary);
                boundary.wrapping_add(1)
            }
        } else {
            0
        };
        let mut out = Vec::with_capacity(batch.len());
        for k in &batch {
            if let Some(p) = self.pattern {
                if !glob_match(p, k.bytes(), false) {
                    continue;
                }
            }
            // Expired keys are reclaimed as they are met, as Redis's SCAN does.
            let Some(e) = ctx.peek(k.bytes())? else {
                continue;
            };
            if let Some(t) = &self.type_name {
                if e.value.type_name().as_bytes() != t.as_slice() {
                    continue;
                }
            }
            out.push(Reply::Bulk(k.kstr().to_bytes()));
        }
        Ok(Reply::Array(vec![
            Reply::Bulk(Bytes::from(next.to_string())),
            Reply::Array(out),
        ]))
    }
}

fn scan(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    Scan::parse(argv)?.exec(ctx)
}

/// Random picks that land on expired keys before RANDOMKEY falls back to a walk.
const RANDOM_TRIES: usize = 100;

/// `RANDOMKEY`: a shard chosen in proportion to its key count, then the
/// key at a random position; expired keys met on the way are deleted.
fn randomkey(ctx: &mut Ctx<'_, '_>, _argv: &[Bytes]) -> CmdResult {
    let db = ctx.db;
    for _ in 0..RANDOM_TRIES {
        let sizes: Vec<usize> = ctx
            .shards_mut()
            .map(|s| s.dbs.get(db).map_or(0, |d| d.len()))
            .collect();
        let total: usize = sizes.iter().sum();
        if total == 0 {
            return Ok(Reply::Nil);
        }
        let mut r = crate::rand::below(total as u64) as usize;
        let idx = sizes.iter().position(|&n| {
            if r < n {
                true
            } else {
                r -= n;
                false
            }
        });
        let pos = crate::rand::next_u64();
        let key = ctx
            .shards_mut()
            .nth(idx.unwrap_or(0))
            .and_then(|s| s.dbs.get(db))
            .and_then(|d| d.key_at(pos))
            .map(|k| k.kstr().clone());
        let Some(key) = key else { continue };
        if !ctx.expire_if_needed(&key)? {
            return Ok(Reply::Bulk(key.to_bytes()));
        }
    }
    // Mostly expired keys: walk from a random position to a live one
    // instead of sampling forever.
    let (now, start) = (ctx.now_ms, crate::rand::next_u64());
    let mut best: Option<Key> = None;
    for shard in ctx.shards_mut() {
        let Some(d) = shard.dbs.get(db) else { continue };
        d.scan_from(start, |k, e| {
            if e.is_expired(now) {
                return true;
            }
            if best.as_ref().is_none_or(|b| k < b) {
                best = Some(k.clone());
            }
            false
        });
    }
    Ok(best.map_or(Reply::Nil, |k| Reply::Bulk(k.kstr().to_bytes())))
}

/// `DBSIZE`: every key of the selected database, including expired keys
/// not yet reclaimed (as Redis counts them).
fn dbsize(ctx: &mut Ctx<'_, '_>, _argv: &[Bytes]) -> CmdResult {
    let db = ctx.db;
    let n: usize = ctx
        .shards_mut()
        .map(|s| s.dbs.get(db).map_or(0, |d| d.len()))
        .sum();
    Ok(Reply::Int(n as i64))
}

/// Up to this many keys, FLUSHDB, FLUSHALL and SWAPDB invalidate exactly
/// the WATCHes Redis does (`touchAllWatchedKeysInDb`: a watched key counts
/// as touched only if it exists in either database). Above it they flag
/// every watcher of the databases instead, so the command never walks a
/// large keyspace under the lock; the price is a spurious EXEC abort.
const EXACT_WATCH_LIMIT: usize = 1 << 16;

/// Invalidates the WATCHes of `dbs` in `shard` when they are flushed (one
/// db) or swapped (two): a watched key of any of `dbs` is touched if it
/// exists in any of them.
fn touch_watchers(shard: &mut Shard, dbs: &[usize]) {
    let total: usize = dbs
        .iter()
        .map(|&d| shard.dbs.get(d).map_or(0, |x| x.len()))
        .sum();
    if total > EXACT_WATCH_LIMIT {
        for &d in dbs {
            shard.touch_all_watched(Some(d));
        }
        return;
    }
    for &d in dbs {
        // An O(1) frozen copy, so the walk does not borrow the shard.
        let Some(keys) = shard.dbs.get(d).map(|x| x.snapshot()) else {
            continue;
        };
        for k in keys.keys() {
            for &w in dbs {
                shard.touch_watched(w, k.bytes());
            }
        }
    }
}

/// `[ASYNC | SYNC]`: true for ASYNC.
fn flush_mode(argv: &[Bytes]) -> Result<bool, CmdError> {
    match argv.get(1) {
        None => Ok(false),
        Some(a) if argv.len() == 2 && a.eq_ignore_ascii_case(b"sync") => Ok(false),
        Some(a) if argv.len() == 2 && a.eq_ignore_ascii_case(b"async") => Ok(true),
        Some(_) => Err(CmdError::Syntax),
    }
}

/// Drops flushed data, on a helper thread when the client asked for ASYNC
/// and there is enough of it to matter.
fn dispose(old: Vec<crate::db::Db>, keys: usize, async_free: bool) {
    if async_free && keys > 1024 {
        std::thread::spawn(move || drop(old));
    }
}

/// `FLUSHDB [ASYNC | SYNC]`
fn flushdb(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    let async_free = flush_mode(argv)?;
    let db = ctx.db;
    let mut old = Vec::new();
    let mut n = 0;
    for shard in ctx.shards_mut() {
        touch_watchers(shard, &[db]);
        if let Some(d) = shard.dbs.get_mut(db) {
            n += d.len();
            old.push(d.take());
        }
    }
    dispose(old, n, async_free);
    ctx.events.dirty += n as u64;
    ctx.events.replaced_dbs.push(db);
    let parts: Vec<&[u8]> = argv.iter().map(|a| &a[..]).collect();
    ctx.propagate_all(&parts);
    Ok(Reply::ok())
}

/// `FLUSHALL [ASYNC | SYNC]`
fn flushall(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    let async_free = flush_mode(argv)?;
    let mut old = Vec::new();
    let mut n = 0;
    for shard in ctx.shards_mut() {
        for d in 0..shard.dbs.len() {
            touch_watchers(shard, &[d]);
        }
        for d in shard.dbs.iter_mut() {
            n += d.len();
            old.push(d.take());
        }
    }
    dispose(old, n, async_free);
    ctx.events.dirty += n as u64 + 1;
    let ndbs = ctx.ndbs();
    ctx.events.replaced_dbs.extend(0..ndbs);
    let parts: Vec<&[u8]> = argv.iter().map(|a| &a[..]).collect();
    ctx.propagate_all(&parts);
    Ok(Reply::ok())
}

/// Parses a SWAPDB index (a C `int`), with SWAPDB's own error text.
fn swap_index(b: &[u8], which: &str) -> Result<i64, CmdError> {
    match crate::num::parse_i64(b) {
        Some(v) if i32::try_from(v).is_ok() => Ok(v),
        _ => Err(CmdError::err(format!("invalid {which} DB index"))),
    }
}

/// `SWAPDB index1 index2`: swaps in every shard; clients watching keys in
/// either database are invalidated.
fn swapdb(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    let a = swap_index(&argv[1], "first")?;
    let b = swap_index(&argv[2], "second")?;
    let ndbs = ctx.ndbs() as i64;
    if a < 0 || a >= ndbs || b < 0 || b >= ndbs {
        return Err(CmdError::DbIndex);
    }
    let (a, b) = (a as usize, b as usize);
    if a != b {
        for shard in ctx.shards_mut() {
            touch_watchers(shard, &[a, b]);
            shard.dbs.swap(a, b);
        }
        ctx.events.replaced_dbs.extend([a, b]);
    }
    ctx.events.dirty += 1;
    let parts: Vec<&[u8]> = argv.iter().map(|a| &a[..]).collect();
    ctx.propagate_all(&parts);
    Ok(Reply::ok())
}

#[cfg(test)]
mod tests;
