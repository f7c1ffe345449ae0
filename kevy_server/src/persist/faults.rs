//! Disk faults: when the AOF cannot be written (disk full, EIO) or a
//! snapshot fails while `stop-writes-on-bgsave-error` is on, write commands
//! are refused with Redis's MISCONF errors while reads go on; the failure is
//! logged once when it starts and once when it clears, and shows in INFO
//! persistence. Nothing acknowledged is dropped: under `everysec`/`no` the
//! unwritten bytes stay buffered and are retried every cron tick; under
//! `always` the replies of the batches whose shards could not be made
//! durable stay held until they are (a later retry, or a checkpoint that
//! covers a failed fsync).

use super::{log, Persistence};
use kevy_config::Config;
use kevy_persist::PersistError;
use std::sync::atomic::Ordering::Relaxed;

/// The file system persistence writes through: the real one, or, when the
/// environment names a fault file (`KEVYTEST_FAULT_FILE`, for tests of the
/// binary), kevy_persist's `FaultFs` following that file: it is read again
/// whenever it changes (`fail-sync`, `sync-delay-ms N`, `write-budget N`,
/// `only SUBSTRING`, one per line; see `Faults::parse`).
pub fn file_system() -> std::sync::Arc<dyn kevy_persist::Fs> {
    use kevy_persist::{FaultFs, Faults};
    let Some(path) = std::env::var_os("KEVYTEST_FAULT_FILE") else {
        return std::sync::Arc::new(kevy_persist::OsFs);
    };
    log(&format!(
        "injecting disk faults from {} (testing only)",
        std::path::Path::new(&path).display()
    ));
    let fs = FaultFs::default();
    let faults = fs.faults.clone();
    let spawned = std::thread::Builder::new()
        .name("kevy-faults".into())
        .spawn(move || {
            let mut last = None;
            loop {
                let text = std::fs::read_to_string(&path).unwrap_or_default();
                if last.as_ref() != Some(&text) {
                    match Faults::parse(&text) {
                        Ok(f) => *faults.lock() = f,
                        Err(e) => log(&format!("fault file: {e}")),
                    }
                    last = Some(text);
                }
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
        });
    if let Err(e) = spawned {
        log(&format!("cannot watch the fault file: {e}"));
    }
    std::sync::Arc::new(fs)
}

/// Redis's error when a snapshot failed and `stop-writes-on-bgsave-error` is on.
pub const MISCONF_RDB: &str = "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. Commands that may modify the data set are disabled, because this instance is configured to report errors during writes if RDB snapshotting fails (stop-writes-on-bgsave-error option). Please check the Redis logs for details about the RDB error.";

/// True when a failed snapshot must refuse writes: the option is on and
/// there is at least one save point (as Redis decides).
pub fn stops_writes(cfg: &Config) -> bool {
    cfg.stop_writes_on_bgsave_error && !cfg.save.is_empty()
}

impl Persistence {
    /// The MISCONF error a write command gets now, if writes are refused.
    pub fn write_denied(&self) -> Option<String> {
        if self.stop_writes_on_rdb_error.load(Relaxed) && !self.rdb_ok.load(Relaxed) {
            return Some(MISCONF_RDB.to_string());
        }
        if self.aof_on.load(Relaxed) && self.engine.failed() {
            let reason = self
                .engine
                .last_failure()
                .map_or_else(|| "unknown error".to_string(), |f| f.reason);
            return Some(kevy_persist::misconf_aof(&reason));
        }
        None
    }

    /// Once per event-loop iteration, before the replies go out: writes
    /// what `shards` logged to their files (`everysec`, `no`; a failed
    /// write stays buffered and is retried, and later writes get MISCONF).
    /// Under `always` the shard committers do the writing.
    pub fn sync_for_replies(&self, shards: &[usize]) {
        if !self.aof_on.load(Relaxed) || self.always_commit() {
            return;
        }
        for &s in shards {
            if let Err(e) = self.engine.sync(&[s], false) {
                self.write_failed(e);
            }
        }
        self.check_recovered();
    }

    /// True when replies wait for their positions to be durable
    /// (`appendfsync always` with the AOF on).
    pub fn always_commit(&self) -> bool {
        self.aof_on.load(Relaxed) && self.fsync.load(Relaxed) == 0
    }

    /// Keeps the engine's durable images exactly while `always` is on.
    pub(super) fn update_mode(&self, store: &kevy_store::Store) {
        let want = self.always_commit();
        if want != self.engine.images() {
            self.engine.keep_images(store, want);
        }
    }

    /// What became of shard `s`'s log up to `pos`.
    pub fn fate(&self, s: usize, pos: u64) -> kevy_persist::Fate {
        self.engine
            .shard(s)
            .map_or(kevy_persist::Fate::Durable, |sh| sh.fate(pos))
    }

    /// Asks the shard committers for `need` (shard, position) pairs; they
    /// wake event loop `worker` when done.
    pub fn request_commits(&self, need: &[(usize, u64)], worker: usize) {
        for &(s, p) in need {
            self.committers.request(s, p, worker);
        }
    }

    /// Commits shard `s` on the calling thread (see `committer.rs`).
    pub fn commit_now(&self, store: &kevy_store::Store, s: usize) {
        if let Err(e) = self.engine.commit(store, s) {
            self.write_failed(e);
        }
    }

    /// The MISCONF error for a write that the AOF could not take.
    pub fn misconf_text(&self) -> String {
        self.write_denied().unwrap_or_else(|| {
            let reason = self
                .engine
                .last_failure()
                .map_or_else(|| "unknown error".to_string(), |f| f.reason);
            kevy_persist::misconf_aof(&reason)
        })
    }

    /// Cron under `always`: probes shards that refuse writes after a failed
    /// write (they accept writes again once the disk takes a write and an
    /// fsync), and once a second asks the committers for what cron itself
    /// logged (active expiry).
    pub(super) fn tend_always(&self, store: &kevy_store::Store) {
        if self.engine.failed() || self.aof_refusing.load(Relaxed) {
            self.engine.tend(store);
            self.check_recovered();
        }
        let due = self.last_fsync.lock().elapsed() >= std::time::Duration::from_secs(1);
        if due {
            *self.last_fsync.lock() = std::time::Instant::now();
            for s in 0..self.engine.nshards() {
                if let Some(sh) = self.engine.shard(s) {
                    if sh.fate(sh.end()) == kevy_persist::Fate::Pending {
                        self.committers.request(s, sh.end(), usize::MAX);
                    }
                }
            }
        }
    }

    /// An AOF write or fsync failed: log it when refusing starts.
    pub(super) fn write_failed(&self, e: PersistError) {
        if !self.aof_refusing.swap(true, Relaxed) {
            log(&format!(
                "error writing the AOF: {e}. Write commands are refused (MISCONF) until it can be written again; {}",
                if self.always_commit() {
                    "the writes it could not make durable were undone and answered with MISCONF."
                } else {
                    "the unwritten data stays in memory and is retried."
                }
            ));
        }
    }

    /// Logs the end of an AOF failure, once.
    pub(super) fn check_recovered(&self) {
        if self.aof_refusing.load(Relaxed) && !self.engine.failed() {
            self.aof_refusing.store(false, Relaxed);
            log("AOF write error looks solved: write commands are accepted again.");
        }
    }

    /// Records a snapshot's outcome (None: it succeeded).
    pub(super) fn rdb_failed(&self, err: Option<String>) {
        let mut last = self.rdb_last_error.lock();
        match err {
            Some(e) => {
                if self.stop_writes_on_rdb_error.load(Relaxed) && last.is_none() {
                    log("the snapshot failed and stop-writes-on-bgsave-error is yes: write commands are refused (MISCONF) until a save succeeds.");
                }
                *last = Some(e);
            }
            None => {
                if last.take().is_some() && self.stop_writes_on_rdb_error.load(Relaxed) {
                    log("the snapshot succeeded: write commands are accepted again.");
                }
            }
        }
    }

    /// The last AOF and snapshot errors, for INFO persistence.
    pub(super) fn last_errors(&self) -> (String, String) {
        let aof = self
            .engine
            .last_failure()
            .filter(|_| self.engine.failed())
            .map_or_else(String::new, |f| {
                format!("{} {}: {}", f.op, f.path.display(), f.reason)
            });
        let rdb = self.rdb_last_error.lock().clone().unwrap_or_default();
        (aof, rdb)
    }
}
