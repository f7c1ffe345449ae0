//! `Durable`: a kevy store with its data directory, for programs that embed
//! kevy without the server. It does what `kevy-server` does at start-up
//! (recover, rewrite in the current shard layout if needed, open fresh AOF
//! generations) and while running (every write appended to its shards'
//! AOFs before the call returns, fsynced per [`Fsync`] policy, a background
//! fsync once a second under `everysec`, checkpoints on request), and
//! fsyncs everything when dropped.

use crate::engine::{Engine, EngineConfig};
use crate::error::{PersistError, Result};
use crate::io::OsFs;
use crate::recover::{recover, RecoverOptions, RecoverReport};
use crate::undo::{misconf_aof, reason_of, Fate};
use kevy_store::{CmdError, Kevy};
use parking_lot::{Condvar, Mutex};
use std::path::PathBuf;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// When appended writes are fsynced (`appendfsync`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Fsync {
    /// Before the write returns: an acknowledged write survives a power
    /// loss. Concurrent writers share fsyncs (group commit).
    Always,
    /// Once a second, in the background: a power loss may lose the last
    /// second. Every write still reaches the OS before it returns, so a
    /// crash or kill of the process alone loses nothing.
    #[default]
    EverySec,
    /// Never explicitly: the OS decides. A process crash loses nothing.
    No,
}

/// Where and how to open a [`Durable`] store.
#[derive(Debug, Clone)]
pub struct DurableOptions {
    /// Data directory (created if missing).
    pub dir: PathBuf,
    /// Shards (each with its own AOF). Recovery re-shards data written
    /// with another count.
    pub nshards: usize,
    /// Logical databases.
    pub ndbs: usize,
    /// fsync policy.
    pub fsync: Fsync,
    /// Cut a torn final AOF frame (a crash mid-write) instead of refusing
    /// to open; the cut bytes are kept aside in a quarantine file.
    pub aof_load_truncated: bool,
    /// Snapshot base name (`dbfilename`).
    pub dbfilename: String,
    /// AOF base name (`appendfilename`).
    pub appendfilename: String,
}

impl DurableOptions {
    /// kevy-server's defaults for `dir`: one shard per core, 16 databases,
    /// `everysec`, torn tails cut, `dump.kevy` and `appendonly.aof`.
    pub fn new(dir: impl Into<PathBuf>) -> DurableOptions {
        DurableOptions {
            dir: dir.into(),
            nshards: std::thread::available_parallelism().map_or(1, |n| n.get()),
            ndbs: 16,
            fsync: Fsync::EverySec,
            aof_load_truncated: true,
            dbfilename: "dump.kevy".into(),
            appendfilename: "appendonly.aof".into(),
        }
    }
}

/// Stops the `everysec` syncer thread.
struct Stop {
    flag: Mutex<bool>,
    cv: Condvar,
}

/// An embedded kevy store backed by a data directory (the same files
/// `kevy-server` reads and writes, so a directory can move between them).
///
/// ```
/// use kevy_persist::{Durable, DurableOptions, Fsync};
/// let dir = std::env::temp_dir().join(format!("kevy-durable-doc-{}", std::process::id()));
/// let opts = DurableOptions { nshards: 2, fsync: Fsync::Always, ..DurableOptions::new(&dir) };
/// {
///     let db = Durable::open(opts.clone())?;
///     db.kevy().set("greeting", "hello").unwrap(); // fsynced before it returns
///     db.kevy().rpush("list", ["a", "b"]).unwrap();
///     db.checkpoint()?; // snapshot files + a fresh AOF generation
///     db.kevy().rpush("list", ["c"]).unwrap();
/// }
/// let db = Durable::open(opts)?;
/// assert_eq!(db.kevy().get("greeting").unwrap().as_deref(), Some(&b"hello"[..]));
/// assert_eq!(db.kevy().llen("list").unwrap(), 3);
/// # drop(db);
/// # std::fs::remove_dir_all(&dir).unwrap();
/// # Ok::<(), kevy_persist::PersistError>(())
/// ```
pub struct Durable {
    kevy: Kevy,
    engine: Arc<Engine>,
    report: RecoverReport,
    stop: Arc<Stop>,
    syncer: Option<JoinHandle<()>>,
}

impl Durable {
    /// Opens (creating if needed) the data directory and recovers its state.
    pub fn open(opts: DurableOptions) -> Result<Durable> {
        std::fs::create_dir_all(&opts.dir).map_err(|e| PersistError::io(&opts.dir, "create", e))?;
        let nshards = opts.nshards.max(1);
        let r = recover(
            &OsFs,
            &RecoverOptions {
                dir: opts.dir.clone(),
                dbfilename: opts.dbfilename.clone(),
                appendfilename: opts.appendfilename.clone(),
                aof_load_truncated: opts.aof_load_truncated,
                nshards,
                ndbs: opts.ndbs,
            },
        )?;
        let cfg = EngineConfig {
            dir: opts.dir.clone(),
            dbfilename: opts.dbfilename.clone(),
            appendfilename: opts.appendfilename.clone(),
        };
        let report = r.report;
        let engine = Arc::new(Engine::new(
            Arc::new(OsFs),
            cfg,
            nshards,
            r.manifest,
            report.bytes,
        ));
        let store = Arc::new(r.store);
        engine.install(&store);
        if report.needs_rebase {
            // The files describe the state in another layout: write it
            // anew (snapshot + fresh AOF generation) before any write.
            let cp = engine.begin(&store, true, false)?;
            engine.finish(cp)?;
        } else {
            engine.open_generations(&store)?;
        }
        let always = opts.fsync == Fsync::Always;
        if always {
            engine.keep_images(&store, true);
        }
        let (hook_engine, hook_store) = (engine.clone(), store.clone());
        let kevy = Kevy::from_store(store).with_commit_hook(move |at| {
            let misconf = |e: PersistError| CmdError::Other(misconf_aof(&reason_of(&e)));
            if !always {
                let ids: Vec<usize> = at.iter().map(|p| p.0).collect();
                return hook_engine.sync(&ids, false).map_err(misconf);
            }
            for &(s, pos) in at {
                let Some(sh) = hook_engine.shard(s) else {
                    continue;
                };
                loop {
                    match sh.fate(pos) {
                        Fate::Durable => break,
                        Fate::Undone => {
                            let why = sh
                                .last_failure()
                                .map_or_else(|| "unknown error".into(), |f| f.reason);
                            return Err(CmdError::Other(misconf_aof(&why)));
                        }
                        Fate::Pending => {
                            // An error is looked at through the fate: the
                            // failed commit undid this write (or a later one).
                            let _ = hook_engine.commit(&hook_store, s);
                        }
                    }
                }
            }
            Ok(())
        });
        let stop = Arc::new(Stop {
            flag: Mutex::new(false),
            cv: Condvar::new(),
        });
        let background = opts.fsync != Fsync::No;
        let syncer = background.then(|| {
            let (engine, stop, store) = (engine.clone(), stop.clone(), kevy.store().clone());
            std::thread::Builder::new()
                .name("kevy-fsync".into())
                .spawn(move || {
                    let mut stopped = stop.flag.lock();
                    while !*stopped {
                        stop.cv.wait_for(&mut stopped, Duration::from_secs(1));
                        if !always {
                            // A failure is reported by `failed()` and retried
                            // next second; writes go on in memory meanwhile.
                            let _ = engine.sync_all(true);
                            continue;
                        }
                        // `always`: after a failed write, probe the disk;
                        // a file that can no longer be trusted is replaced
                        // by a checkpoint from memory.
                        engine.tend(&store);
                        if engine.needs_checkpoint() {
                            if let Ok(cp) = engine.begin(&store, true, true) {
                                let _ = engine.finish(cp);
                            }
                            engine.tend(&store);
                        }
                    }
                })
        });
        let syncer = match syncer {
            Some(Ok(h)) => Some(h),
            Some(Err(e)) => return Err(PersistError::io(&opts.dir, "spawn fsync thread", e)),
            None => None,
        };
        Ok(Durable {
            kevy,
            engine,
            report,
            stop,
            syncer,
        })
    }

    /// The store handle: typed and raw commands, snapshots (see
    /// [`kevy_store::Kevy`]). Clone it for other threads; writes through
    /// any clone are logged.
    pub fn kevy(&self) -> &Kevy {
        &self.kevy
    }

    /// What recovery loaded when the store was opened.
    pub fn report(&self) -> &RecoverReport {
        &self.report
    }

    /// The engine under the store (AOF positions, sizes, manifest).
    pub fn engine(&self) -> &Arc<Engine> {
        &self.engine
    }

    /// Makes every write so far durable (fsync of every shard's AOF).
    pub fn sync(&self) -> Result<()> {
        self.engine.sync_all(true)
    }

    /// `BGREWRITEAOF`/`SAVE` in one call: freezes every shard (O(1)),
    /// switches the AOFs to a new generation, writes the frozen state as
    /// snapshot files and makes them the base of the manifest, deleting the
    /// superseded files. Writes from other threads go on meanwhile (they
    /// land in the new generation). Returns the snapshot bytes written.
    pub fn checkpoint(&self) -> Result<u64> {
        let cp = self.engine.begin(self.kevy.store(), true, true)?;
        self.engine.finish(cp)
    }

    /// True while the log may lack acknowledged writes: a write failed (its
    /// bytes stay buffered and every sync retries them), or an fsync failed
    /// — that one only a [`Durable::checkpoint`] clears, since a retried
    /// fsync cannot be trusted. Under [`Fsync::Always`] writes answer a
    /// MISCONF error meanwhile.
    pub fn failed(&self) -> bool {
        self.engine.failed()
    }

    /// Stops the background fsync and makes everything durable, reporting
    /// a failure that dropping would swallow.
    pub fn close(mut self) -> Result<()> {
        self.stop_syncer();
        self.engine.sync_all(true)
    }

    fn stop_syncer(&mut self) {
        *self.stop.flag.lock() = true;
        self.stop.cv.notify_all();
        if let Some(h) = self.syncer.take() {
            let _ = h.join();
        }
    }
}

impl Drop for Durable {
    fn drop(&mut self) {
        self.stop_syncer();
        let _ = self.engine.sync_all(true);
    }
}

impl std::fmt::Debug for Durable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Durable")
            .field("kevy", &self.kevy)
            .field("report", &self.report)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("kevy-durable-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    #[test]
    fn writes_survive_reopen_with_another_shard_count() {
        let dir = tmp("reshard");
        let opts = DurableOptions {
            nshards: 3,
            ..DurableOptions::new(&dir)
        };
        {
            let db = Durable::open(opts.clone()).unwrap();
            let kv = db.kevy();
            for i in 0..500 {
                kv.set(format!("k{i}"), i.to_string()).unwrap();
            }
            kv.select(5).unwrap().zadd("z", 1.5, "m").unwrap();
            db.checkpoint().unwrap();
            kv.del(["k0"]).unwrap();
            kv.hset("h", "f", "v").unwrap();
        }
        let db = Durable::open(DurableOptions {
            nshards: 5,
            fsync: Fsync::Always,
            ..opts.clone()
        })
        .unwrap();
        assert!(db.report().needs_rebase);
        let kv = db.kevy();
        assert_eq!(kv.dbsize().unwrap(), 500);
        assert_eq!(kv.get("k0").unwrap(), None);
        assert_eq!(kv.get("k499").unwrap().as_deref(), Some(&b"499"[..]));
        assert_eq!(kv.hget("h", "f").unwrap().as_deref(), Some(&b"v"[..]));
        assert_eq!(kv.select(5).unwrap().zscore("z", "m").unwrap(), Some(1.5));
        kv.set("after", "rebase").unwrap();
        db.close().unwrap();
        let db = Durable::open(opts).unwrap();
        assert_eq!(
            db.kevy().get("after").unwrap().as_deref(),
            Some(&b"rebase"[..])
        );
        drop(db);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn atomic_batches_are_bracketed_in_the_log() {
        let dir = tmp("atomic");
        let opts = DurableOptions {
            nshards: 2,
            fsync: Fsync::No,
            ..DurableOptions::new(&dir)
        };
        {
            let db = Durable::open(opts.clone()).unwrap();
            let r = db
                .kevy()
                .atomic(&[&[&b"SET"[..], b"a", b"1"], &[&b"SET"[..], b"b", b"2"]]);
            assert!(r.iter().all(|r| !r.is_error()));
        }
        let db = Durable::open(opts).unwrap();
        assert_eq!(db.kevy().mget(["a", "b"]).unwrap().len(), 2);
        assert_eq!(db.kevy().exists_count(["a", "b"]).unwrap(), 2);
        drop(db);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
