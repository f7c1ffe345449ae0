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
            return Some(format!("MISCONF Errors writing to the AOF file: {reason}"));
        }
        None
    }

    /// Once per event-loop iteration, before the replies go out: writes
    /// what `shards` logged to their files, and under `appendfsync always`
    /// makes it durable. Returns the shards whose replies must wait: under
    /// `always`, those that could not be made durable; under `everysec` and
    /// `no` none (a failed write stays buffered and is retried, and later
    /// writes get MISCONF, see `faults`).
    pub fn sync_for_replies(&self, shards: &[usize]) -> Vec<usize> {
        let mut failed = Vec::new();
        if !self.aof_on.load(Relaxed) {
            return failed;
        }
        let always = self.fsync.load(Relaxed) == 0;
        for &s in shards {
            if let Err(e) = self.engine.sync(&[s], always) {
                self.write_failed(e);
                if always {
                    failed.push(s);
                }
            }
        }
        if failed.is_empty() {
            self.check_recovered();
        }
        failed
    }

    /// An AOF write or fsync failed: log it when refusing starts.
    pub(super) fn write_failed(&self, e: PersistError) {
        if !self.aof_refusing.swap(true, Relaxed) {
            log(&format!(
                "error writing the AOF: {e}. Write commands are refused (MISCONF) until it can be written again; the unwritten data stays in memory and is retried."
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
