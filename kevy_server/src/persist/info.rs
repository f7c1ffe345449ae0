//! The body of `INFO persistence`: Redis 7.0's fields (fork and
//! copy-on-write ones are 0: kevy never forks) plus kevy's own.

use super::{JobKind, Persistence};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};

impl Persistence {
    /// The body of INFO persistence.
    pub fn info(&self, o: &mut String) {
        let (kind, started) = {
            let r = self.running.lock();
            (r.kind, r.started)
        };
        let cur = |k: JobKind| {
            if kind == Some(k) {
                started.map_or(-1, |s| s.elapsed().as_secs() as i64)
            } else {
                -1
            }
        };
        let st = |ok: &AtomicBool| if ok.load(Relaxed) { "ok" } else { "err" };
        let e = &self.engine;
        let mut l = |s: String| {
            o.push_str(&s);
            o.push_str("\r\n");
        };
        l("# Persistence".into());
        l("loading:0".into());
        l("async_loading:0".into());
        // No fork, so no copy-on-write pages: Redis's fork/COW fields are 0.
        for f in [
            "current_cow_peak",
            "current_cow_size",
            "current_cow_size_age",
            "current_fork_perc",
            "current_save_keys_processed",
            "current_save_keys_total",
        ] {
            l(format!("{f}:0"));
        }
        l(format!("rdb_changes_since_last_save:{}", e.dirty()));
        l(format!(
            "rdb_bgsave_in_progress:{}",
            (kind == Some(JobKind::Save)) as u8
        ));
        l(format!("rdb_last_save_time:{}", self.lastsave()));
        l(format!("rdb_last_bgsave_status:{}", st(&self.rdb_ok)));
        l(format!(
            "rdb_last_bgsave_time_sec:{}",
            self.rdb_last_secs.load(Relaxed)
        ));
        l(format!(
            "rdb_current_bgsave_time_sec:{}",
            cur(JobKind::Save)
        ));
        l(format!("rdb_saves:{}", self.saves.load(Relaxed)));
        l("rdb_last_cow_size:0".into());
        l("rdb_last_load_keys_expired:0".into());
        l(format!("rdb_last_load_keys_loaded:{}", self.loaded_keys));
        l(format!("aof_enabled:{}", self.aof_on.load(Relaxed) as u8));
        l(format!(
            "aof_rewrite_in_progress:{}",
            (kind == Some(JobKind::Rewrite)) as u8
        ));
        l(format!(
            "aof_rewrite_scheduled:{}",
            self.rewrite_scheduled.load(Relaxed) as u8
        ));
        l(format!(
            "aof_last_rewrite_time_sec:{}",
            self.aof_last_secs.load(Relaxed)
        ));
        l(format!(
            "aof_current_rewrite_time_sec:{}",
            cur(JobKind::Rewrite)
        ));
        l(format!("aof_last_bgrewrite_status:{}", st(&self.aof_ok)));
        l(format!("aof_rewrites:{}", self.aof_rewrites.load(Relaxed)));
        l(format!(
            "aof_rewrites_consecutive_failures:{}",
            self.aof_failures.load(Relaxed)
        ));
        l(format!(
            "aof_last_write_status:{}",
            if e.failed() { "err" } else { "ok" }
        ));
        for f in [
            "aof_last_cow_size",
            "module_fork_in_progress",
            "module_fork_last_cow_size",
        ] {
            l(format!("{f}:0"));
        }
        if self.aof_on.load(Relaxed) {
            l(format!("aof_current_size:{}", e.aof_current_size()));
            l(format!("aof_base_size:{}", e.aof_base_size()));
            l(format!(
                "aof_pending_rewrite:{}",
                self.rewrite_scheduled.load(Relaxed) as u8
            ));
            let (last, max, running) = e.fsync_timings();
            l(format!("aof_buffer_length:{}", e.buffered()));
            l(format!("aof_pending_bio_fsync:{}", (running > 0) as u8));
            l("aof_delayed_fsync:0".into());
            // How long the log's write + fsync takes (`always` commits):
            // the one running now, the last, the longest.
            l(format!("kevy_aof_fsync_in_progress_ms:{running}"));
            l(format!("kevy_aof_last_fsync_ms:{last}"));
            l(format!("kevy_aof_max_fsync_ms:{max}"));
        }
        l(format!(
            "aof_rewrites_total:{}",
            self.aof_rewrites.load(Relaxed)
        ));
        l(format!("kevy_replay_time_ms:{}", self.replay_ms));
        let _ = write!(o, "kevy_bytes_quarantined:{}\r\n", self.quarantined);
        let (aof_err, rdb_err) = self.last_errors();
        let _ = write!(o, "kevy_aof_last_error:{aof_err}\r\n");
        let _ = write!(o, "kevy_rdb_last_error:{rdb_err}\r\n");
    }
}
