//! Recovery: rebuild a [`Store`] from the files the manifest names (or from
//! a lone Redis-style AOF when there is no manifest), and the
//! `--check-aof` report/repair. Each AOF file of old shard `s` is replayed
//! with whole-keyspace commands restricted to shard `s` of a store laid out
//! as the writer's was; if the shard count changed, the entries are then
//! moved into a store of the new layout.

use crate::error::{PersistError, Result};
use crate::frame::{scan_aof, Scan, Tail};
use crate::io::Fs;
use crate::manifest::{write_atomic, Manifest};
use crate::snapshot::{read_snapshot, SnapValue};
use bytes::Bytes;
use kevy_resp::Reply;
use kevy_store::{Entry, Store, Value};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// What recovery needs to know.
#[derive(Debug, Clone)]
pub struct RecoverOptions {
    /// Data directory.
    pub dir: PathBuf,
    /// Snapshot base name (`dbfilename`).
    pub dbfilename: String,
    /// AOF base name (`appendfilename`).
    pub appendfilename: String,
    /// Cut a torn final frame instead of refusing to start.
    pub aof_load_truncated: bool,
    /// Shards of the store to build.
    pub nshards: usize,
    /// Logical databases.
    pub ndbs: usize,
}

/// What recovery did.
#[derive(Debug, Default, Clone)]
pub struct RecoverReport {
    /// Files read.
    pub files: usize,
    /// Bytes read.
    pub bytes: u64,
    /// Snapshot entries loaded.
    pub entries: u64,
    /// AOF commands replayed.
    pub commands: u64,
    /// Torn bytes cut off and kept in quarantine files.
    pub quarantined: u64,
    /// Milliseconds spent loading.
    pub millis: u64,
    /// Lines to log (each torn tail gets one).
    pub log: Vec<String>,
    /// The state must be rewritten in the current layout before serving
    /// (shard count changed, or it came from files outside a manifest).
    pub needs_rebase: bool,
}

/// The result of [`recover`].
pub struct Recovered {
    /// The rebuilt keyspace, in the requested layout.
    pub store: Store,
    /// The manifest found, if any.
    pub manifest: Option<Manifest>,
    /// What happened.
    pub report: RecoverReport,
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Loads the durable state from `opts.dir`.
pub fn recover(fs: &dyn Fs, opts: &RecoverOptions) -> Result<Recovered> {
    let t0 = Instant::now();
    let mut rep = RecoverReport::default();
    let manifest = Manifest::load(fs, &opts.dir)?;
    let store = match &manifest {
        Some(m) => {
            let old = m.shards.len();
            let target = Store::new(old, opts.ndbs);
            // Which cross-shard groups every participant's log holds whole.
            let mut all_aofs = Vec::new();
            for sh in &m.shards {
                for a in &sh.aofs {
                    all_aofs.push(opts.dir.join(a));
                }
            }
            let txs = complete_groups(fs, &all_aofs);
            let txs = &txs;
            // Each old shard's files touch only that shard's keys (in the
            // writer's layout), so the shards load in parallel, one thread each.
            let parts: Vec<Result<RecoverReport>> = std::thread::scope(|sc| {
                let handles: Vec<_> = m
                    .shards
                    .iter()
                    .enumerate()
                    .map(|(i, sh)| {
                        let target = &target;
                        sc.spawn(move || -> Result<RecoverReport> {
                            let mut rep = RecoverReport::default();
                            if let Some((name, _)) = &sh.snapshot {
                                load_snapshot(fs, target, &opts.dir.join(name), &mut rep)?;
                            }
                            for a in &sh.aofs {
                                load_aof_groups(
                                    fs,
                                    target,
                                    &opts.dir.join(a),
                                    Some(i),
                                    opts.aof_load_truncated,
                                    Some(txs),
                                    &mut rep,
                                )?;
                            }
                            Ok(rep)
                        })
                    })
                    .collect();
                handles
                    .into_iter()
                    .map(|h| {
                        h.join().unwrap_or_else(|_| {
                            Err(PersistError::Replay {
                                path: opts.dir.clone(),
                                offset: 0,
                                reason: "a loader thread panicked".into(),
                            })
                        })
                    })
                    .collect()
            });
            for part in parts {
                let p = part?;
                rep.files += p.files;
                rep.bytes += p.bytes;
                rep.entries += p.entries;
                rep.commands += p.commands;
                rep.quarantined += p.quarantined;
                rep.log.extend(p.log);
            }
            if old == opts.nshards.max(1) {
                target
            } else {
                rep.needs_rebase = true;
                let new = Store::new(opts.nshards, opts.ndbs);
                migrate(&target, &new);
                new
            }
        }
        None => {
            let store = Store::new(opts.nshards, opts.ndbs);
            let snap = opts.dir.join(&opts.dbfilename);
            if fs.exists(&snap) {
                load_snapshot(fs, &store, &snap, &mut rep)?;
                rep.needs_rebase = true;
            }
            let legacy = opts.dir.join(&opts.appendfilename);
            if fs.exists(&legacy) {
                load_aof(fs, &store, &legacy, None, opts.aof_load_truncated, &mut rep)?;
                rep.needs_rebase = true;
            }
            store
        }
    };
    rep.millis = t0.elapsed().as_millis() as u64;
    Ok(Recovered {
        store,
        manifest,
        report: rep,
    })
}

/// Moves every entry of `from` into `to` (a store with another layout).
pub fn migrate(from: &Store, to: &Store) {
    for view in from.snapshot() {
        for (db, map) in view.dbs.iter().enumerate() {
            for (k, e) in map.iter() {
                let id = to.shard_of(k.bytes());
                to.with_shard(id, |sh| {
                    if let Some(d) = sh.dbs.get_mut(db) {
                        d.insert(k.bytes(), e.clone());
                    }
                });
            }
        }
    }
}

/// Loads one snapshot file into `store`.
pub fn load_snapshot(
    fs: &dyn Fs,
    store: &Store,
    path: &Path,
    rep: &mut RecoverReport,
) -> Result<()> {
    let data = fs
        .read(path)
        .map_err(|e| PersistError::io(path, "read", e))?;
    rep.files += 1;
    rep.bytes += data.len() as u64;
    let now = now_ms();
    let ndbs = store.ndbs();
    let hdr = read_snapshot(path, &data, |db, key, exp, v| {
        if db >= ndbs {
            return Err(PersistError::Corrupt {
                path: path.to_path_buf(),
                offset: 0,
                reason: format!("database {db} out of range (databases {ndbs})"),
            });
        }
        match v {
            SnapValue::Str(s) => {
                store.with_shard(store.shard_of(key), |sh| {
                    sh.dbs[db].insert(key, Entry::with_expiry(Value::str(s), exp))
                });
            }
            SnapValue::Commands(cmds) => {
                for c in cmds {
                    let argv: Vec<Bytes> = c.iter().map(|a| Bytes::copy_from_slice(a)).collect();
                    if let Reply::Error(e) = store.replay(None, db, &argv, now) {
                        return Err(PersistError::Replay {
                            path: path.to_path_buf(),
                            offset: 0,
                            reason: String::from_utf8_lossy(&e).into_owned(),
                        });
                    }
                }
                if exp != 0 {
                    store.with_shard(store.shard_of(key), |sh| sh.dbs[db].set_expire(key, exp));
                }
            }
            SnapValue::Stream(st) => {
                let v = Value::Stream(std::sync::Arc::new(*st));
                store.with_shard(store.shard_of(key), |sh| {
                    sh.dbs[db].insert(key, Entry::with_expiry(v, exp))
                });
            }
        }
        Ok(())
    })?;
    rep.entries += hdr.entries;
    Ok(())
}

/// Replays one AOF file into `store`. `only`: the shard that wrote it (its
/// FLUSHALL/FLUSHDB/SWAPDB act on that shard alone); `None` for a
/// standalone file (a Redis AOF). A torn tail is cut off into a quarantine
/// file when `truncated_ok`, else refused; damage before the tail is refused.
pub fn load_aof(
    fs: &dyn Fs,
    store: &Store,
    path: &Path,
    only: Option<usize>,
    truncated_ok: bool,
    rep: &mut RecoverReport,
) -> Result<Scan> {
    load_aof_groups(fs, store, path, only, truncated_ok, None, rep)
}

/// Counts, for every cross-shard group id (`EXEC <txid> <parts>` records),
/// how many of `paths` hold the group complete (its `MULTI` ... `EXEC`
/// bracket whole). Unreadable files count nothing; `load_aof` reports them.
pub fn complete_groups(fs: &dyn Fs, paths: &[std::path::PathBuf]) -> HashMap<u64, usize> {
    let mut out: HashMap<u64, usize> = HashMap::new();
    for p in paths {
        let Ok(data) = fs.read(p) else { continue };
        let mut open = false;
        let _ = scan_aof(&data, |_, args| -> std::result::Result<(), ()> {
            let name = &data[args[0].clone()];
            if name.eq_ignore_ascii_case(b"multi") {
                open = true;
            } else if name.eq_ignore_ascii_case(b"exec") {
                if open && args.len() == 3 {
                    if let Some(id) = parse_u64(&data[args[1].clone()]) {
                        *out.entry(id).or_default() += 1;
                    }
                }
                open = false;
            }
            Ok(())
        });
    }
    out
}

fn parse_u64(b: &[u8]) -> Option<u64> {
    std::str::from_utf8(b).ok()?.parse().ok()
}

/// Like [`load_aof`], applying `MULTI` ... `EXEC` brackets all or nothing:
/// a bracket still open at the end of the file (a crash mid-transaction) is
/// dropped, and a cross-shard group (`EXEC <txid> <parts>`) is applied only
/// when `groups` says all its parts are complete.
#[allow(clippy::too_many_arguments)]
pub fn load_aof_groups(
    fs: &dyn Fs,
    store: &Store,
    path: &Path,
    only: Option<usize>,
    truncated_ok: bool,
    groups: Option<&HashMap<u64, usize>>,
    rep: &mut RecoverReport,
) -> Result<Scan> {
    let data = Bytes::from(
        fs.read(path)
            .map_err(|e| PersistError::io(path, "read", e))?,
    );
    rep.files += 1;
    rep.bytes += data.len() as u64;
    let now = now_ms();
    let mut db = 0usize;
    let ndbs = store.ndbs();
    let mut bracket: Option<Vec<(usize, Vec<Bytes>)>> = None;
    let mut dropped: Vec<String> = Vec::new();
    let apply = |db: usize, argv: &[Bytes], off: u64| -> Result<()> {
        match store.replay(only, db, argv, now) {
            Reply::Error(e) => Err(PersistError::Replay {
                path: path.to_path_buf(),
                offset: off,
                reason: String::from_utf8_lossy(&e).into_owned(),
            }),
            _ => Ok(()),
        }
    };
    let scan = scan_aof(&data, |off, args| {
        let argv: Vec<Bytes> = args.iter().map(|r| data.slice(r.clone())).collect();
        if argv[0].eq_ignore_ascii_case(b"select") && argv.len() == 2 {
            match std::str::from_utf8(&argv[1])
                .ok()
                .and_then(|s| s.parse::<usize>().ok())
            {
                Some(n) if n < ndbs => db = n,
                _ => {
                    return Err(PersistError::Replay {
                        path: path.to_path_buf(),
                        offset: off,
                        reason: "bad SELECT".into(),
                    })
                }
            }
            return Ok(());
        }
        if argv[0].eq_ignore_ascii_case(b"multi") {
            bracket = Some(Vec::new());
            return Ok(());
        }
        if argv[0].eq_ignore_ascii_case(b"exec") {
            let Some(group) = bracket.take() else {
                return Ok(());
            };
            let whole = match (
                argv.get(1).and_then(|a| parse_u64(a)),
                argv.get(2).and_then(|a| parse_u64(a)),
            ) {
                (Some(id), Some(parts)) if parts > 1 => {
                    groups.is_none_or(|g| g.get(&id).copied().unwrap_or(0) as u64 >= parts)
                }
                _ => true,
            };
            if !whole {
                dropped.push(format!(
                    "a cross-shard transaction ending at offset {off} of {} is not complete in every shard's log: its {} commands were not applied",
                    path.display(),
                    group.len()
                ));
                return Ok(());
            }
            for (gdb, gargv) in group {
                apply(gdb, &gargv, off)?;
            }
            return Ok(());
        }
        if let Some(group) = bracket.as_mut() {
            group.push((db, argv));
            return Ok(());
        }
        apply(db, &argv, off)
    })?;
    if let Some(group) = bracket.take() {
        dropped.push(format!(
            "{} ends inside a transaction: its {} logged commands were not applied",
            path.display(),
            group.len()
        ));
    }
    for d in dropped {
        rep.log.push(format!("WARNING: {d}"));
    }
    rep.commands += scan.commands;
    match &scan.tail {
        Tail::Clean => {}
        Tail::Torn { offset, len } => {
            if !truncated_ok {
                return Err(PersistError::Truncated {
                    path: path.to_path_buf(),
                    offset: *offset,
                    len: *len,
                });
            }
            let q = quarantine(fs, path, &data[*offset as usize..])?;
            fs.truncate(path, *offset)
                .map_err(|e| PersistError::io(path, "truncate", e))?;
            rep.quarantined += len;
            rep.log.push(format!(
                "WARNING: {} ended in a torn frame: cut {len} bytes at offset {offset}; the cut bytes are kept in {}",
                path.display(),
                q.display()
            ));
        }
        Tail::Corrupt { offset, reason } => {
            return Err(PersistError::Corrupt {
                path: path.to_path_buf(),
                offset: *offset,
                reason: reason.clone(),
            });
        }
    }
    Ok(scan)
}

/// Saves `bytes` as `<file>.quarantine-<unix ms>` beside `path`, durably.
fn quarantine(fs: &dyn Fs, path: &Path, bytes: &[u8]) -> Result<PathBuf> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let base = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let name = format!("{base}.quarantine-{}", now_ms());
    write_atomic(fs, dir, &name, bytes)?;
    Ok(dir.join(name))
}

/// The outcome of `--check-aof`.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckReport {
    /// The scan.
    pub scan: Scan,
    /// Bytes in the file.
    pub size: u64,
    /// True if `--fix` cut the file.
    pub fixed: bool,
}

/// Checks an AOF like `redis-check-aof`: every frame must parse and every
/// checksum verify. With `fix`, a damaged file is cut to its valid prefix
/// (the cut bytes go to a quarantine file first).
pub fn check_aof(fs: &dyn Fs, path: &Path, fix: bool) -> Result<CheckReport> {
    let data = fs
        .read(path)
        .map_err(|e| PersistError::io(path, "read", e))?;
    let scan = scan_aof(&data, |_, _| Ok::<(), PersistError>(()))?;
    let mut fixed = false;
    if fix && scan.tail != Tail::Clean {
        let cut = scan.valid_len as usize;
        quarantine(fs, path, &data[cut..])?;
        fs.truncate(path, scan.valid_len)
            .map_err(|e| PersistError::io(path, "truncate", e))?;
        fixed = true;
    }
    Ok(CheckReport {
        scan,
        size: data.len() as u64,
        fixed,
    })
}
