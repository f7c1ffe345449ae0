//! Server-side persistence glue: start-up recovery, the per-batch AOF
//! flush (`appendfsync always` makes every touched shard durable before the
//! batch's replies are written), the cron duties (everysec fsync, `save`
//! rules, auto rewrite, retries), background jobs for BGSAVE and
//! BGREWRITEAOF, runtime CONFIG SET effects, and INFO persistence. The
//! bytes on disk are kevy_persist's business.

use kevy_config::{AppendFsync, Config};
use kevy_persist::{
    check_aof, recover, Engine, EngineConfig, OsFs, PersistError, RecoverOptions, Tail,
};
use kevy_store::Store;
use parking_lot::Mutex;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicU8, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What a background job is for (they run the same checkpoint).
#[derive(Clone, Copy, PartialEq, Debug)]
pub enum JobKind {
    /// BGSAVE / `save` rules.
    Save,
    /// BGREWRITEAOF / auto rewrite / `appendonly yes`.
    Rewrite,
}

/// How a BGSAVE/BGREWRITEAOF request was handled.
pub enum Started {
    /// The job runs.
    Now,
    /// It will run when the current job ends.
    Scheduled,
    /// Refused: a job of the same kind is running.
    AlreadyRunning,
    /// Refused: a job of the other kind runs and scheduling was not asked for.
    OtherRunning,
    /// The job could not start.
    Failed(String),
}

#[derive(Default)]
struct Running {
    kind: Option<JobKind>,
    started: Option<Instant>,
}

/// The persistence state of the server.
pub struct Persistence {
    engine: Arc<Engine>,
    aof_on: AtomicBool,
    /// `appendonly yes` was set and the first checkpoint of the new AOF has
    /// not completed yet.
    aof_pending: AtomicBool,
    fsync: AtomicU8,
    last_fsync: Mutex<Instant>,
    running: Mutex<Running>,
    save_scheduled: AtomicBool,
    rewrite_scheduled: AtomicBool,
    lastsave: AtomicU64,
    last_try: Mutex<Option<Instant>>,
    rdb_ok: AtomicBool,
    rdb_last_secs: AtomicI64,
    aof_ok: AtomicBool,
    aof_last_secs: AtomicI64,
    aof_rewrites: AtomicU64,
    saves: AtomicU64,
    aof_failures: AtomicU64,
    replay_ms: u64,
    quarantined: u64,
    loaded_keys: u64,
    shut: AtomicBool,
}

fn policy(p: AppendFsync) -> u8 {
    match p {
        AppendFsync::Always => 0,
        AppendFsync::Everysec => 1,
        AppendFsync::No => 2,
    }
}

fn unix_secs() -> u64 {
    crate::shared::now_ms() / 1000
}

fn log(msg: &str) {
    eprintln!("kevy-server: {msg}");
}

/// Recovers the keyspace from `cfg.dir` and starts persistence. Torn tails
/// are logged loudly; refusals come back as the error to exit with.
pub fn start(cfg: &Config, nshards: usize) -> Result<(Store, Arc<Persistence>), String> {
    let dir = PathBuf::from(&cfg.dir);
    let opts = RecoverOptions {
        dir: dir.clone(),
        dbfilename: cfg.dbfilename.clone(),
        appendfilename: cfg.appendfilename.clone(),
        aof_load_truncated: cfg.aof_load_truncated,
        nshards,
        ndbs: cfg.databases,
    };
    let r = recover(&OsFs, &opts)
        .map_err(|e| format!("cannot load the data in {}: {e}", dir.display()))?;
    for l in &r.report.log {
        log(l);
    }
    let rep = r.report.clone();
    if rep.files > 0 {
        log(&format!(
            "loaded {} snapshot entries and {} AOF commands from {} files ({} bytes) in {} ms",
            rep.entries, rep.commands, rep.files, rep.bytes, rep.millis
        ));
    }
    let ecfg = EngineConfig {
        dir,
        dbfilename: cfg.dbfilename.clone(),
        appendfilename: cfg.appendfilename.clone(),
    };
    let engine = Arc::new(Engine::new(
        Arc::new(OsFs),
        ecfg,
        nshards,
        r.manifest,
        rep.bytes,
    ));
    let store = r.store;
    engine.install(&store);
    if rep.needs_rebase {
        let cp = engine
            .begin(&store, cfg.appendonly, false)
            .map_err(|e| e.to_string())?;
        engine
            .finish(cp)
            .map_err(|e| format!("cannot write the recovered state in the new layout: {e}"))?;
        log("rewrote the recovered data in the current shard layout");
    } else if cfg.appendonly {
        engine.open_generations(&store).map_err(|e| e.to_string())?;
    }
    let p = Persistence {
        engine,
        aof_on: AtomicBool::new(cfg.appendonly),
        aof_pending: AtomicBool::new(false),
        fsync: AtomicU8::new(policy(cfg.appendfsync)),
        last_fsync: Mutex::new(Instant::now()),
        running: Mutex::new(Running::default()),
        save_scheduled: AtomicBool::new(false),
        rewrite_scheduled: AtomicBool::new(false),
        lastsave: AtomicU64::new(unix_secs()),
        last_try: Mutex::new(None),
        rdb_ok: AtomicBool::new(true),
        rdb_last_secs: AtomicI64::new(-1),
        aof_ok: AtomicBool::new(true),
        aof_last_secs: AtomicI64::new(-1),
        aof_rewrites: AtomicU64::new(0),
        saves: AtomicU64::new(0),
        aof_failures: AtomicU64::new(0),
        replay_ms: rep.millis,
        quarantined: rep.quarantined,
        loaded_keys: rep.entries + rep.commands,
        shut: AtomicBool::new(false),
    };
    Ok((store, Arc::new(p)))
}

/// `kevy-server --check-aof FILE [--fix]`: prints a report, returns the exit code.
pub fn check_aof_cli(file: &std::path::Path, fix: bool) -> u8 {
    match check_aof(&OsFs, file, fix) {
        Ok(r) => {
            let kind = if r.scan.kevy {
                "kevy AOF"
            } else {
                "RESP AOF without kevy magic"
            };
            println!(
                "{}: {kind}, {} bytes, {} commands",
                file.display(),
                r.size,
                r.scan.commands
            );
            match &r.scan.tail {
                Tail::Clean => {
                    println!("AOF is valid");
                    0
                }
                Tail::Torn { offset, len } => {
                    println!("AOF ends in an incomplete frame at offset {offset} ({len} bytes)");
                    report_fix(&r, fix)
                }
                Tail::Corrupt { offset, reason } => {
                    println!("AOF is damaged: {reason}; the valid prefix ends at offset {offset}");
                    report_fix(&r, fix)
                }
                other => {
                    println!("AOF ends in an unexpected way: {other:?}");
                    report_fix(&r, fix)
                }
            }
        }
        Err(e) => {
            println!("cannot check {}: {e}", file.display());
            1
        }
    }
}

fn report_fix(r: &kevy_persist::CheckReport, fix: bool) -> u8 {
    if fix && r.fixed {
        println!(
            "Successfully truncated AOF to {} bytes ({} bytes moved to a quarantine file)",
            r.scan.valid_len,
            r.size - r.scan.valid_len
        );
        0
    } else {
        println!(
            "Run with --fix to truncate it to {} bytes",
            r.scan.valid_len
        );
        1
    }
}

impl Persistence {
    /// True when replies must wait for a shared fsync (`appendfsync always`
    /// with the AOF on): the event loop then syncs once per iteration.
    pub fn defers_sync(&self) -> bool {
        self.aof_on.load(Relaxed) && self.fsync.load(Relaxed) == 0
    }

    /// Called after every batch, locks released, before its replies go out.
    pub fn after_batch(&self, touched: &[usize]) {
        if touched.is_empty() || !self.aof_on.load(Relaxed) {
            return;
        }
        let always = self.fsync.load(Relaxed) == 0;
        if let Err(e) = self.engine.sync(touched, always) {
            self.write_failed(e, always);
        }
    }

    fn write_failed(&self, e: PersistError, always: bool) {
        if always {
            // A reply may not leave for a write that is not durable; the only
            // safe way out is to stop (as Redis does under appendfsync always).
            log(&format!(
                "FATAL: cannot write the AOF under appendfsync always: {e}. Exiting."
            ));
            std::process::exit(1);
        }
        log(&format!(
            "error writing the AOF: {e} (a rewrite will be attempted)"
        ));
    }

    /// Cron duties, called `hz` times a second.
    pub fn cron_tick(self: &Arc<Self>, store: &Store, cfg: &Config) {
        if self.aof_on.load(Relaxed) {
            let pol = self.fsync.load(Relaxed);
            let due = self.last_fsync.lock().elapsed() >= Duration::from_secs(1);
            if due {
                *self.last_fsync.lock() = Instant::now();
                if let Err(e) = self.engine.sync_all(pol != 2) {
                    self.write_failed(e, pol == 0);
                }
            }
        }
        if self.engine.busy() {
            return;
        }
        let retry_ok = self
            .last_try
            .lock()
            .is_none_or(|t| t.elapsed() >= Duration::from_secs(5));
        let aof_on = self.aof_on.load(Relaxed);
        if self.rewrite_scheduled.load(Relaxed)
            || (aof_on && (self.aof_pending.load(Relaxed) || self.engine.failed()) && retry_ok)
        {
            self.start_job(store, JobKind::Rewrite, false);
            return;
        }
        if self.save_scheduled.load(Relaxed) {
            self.start_job(store, JobKind::Save, false);
            return;
        }
        let dirty = self.engine.dirty();
        let since = unix_secs().saturating_sub(self.lastsave.load(Relaxed));
        let rule = cfg
            .save
            .iter()
            .any(|&(secs, changes)| dirty >= changes && since >= secs);
        if rule && (self.rdb_ok.load(Relaxed) || retry_ok) {
            self.start_job(store, JobKind::Save, false);
            return;
        }
        if aof_on && cfg.auto_aof_rewrite_percentage > 0 {
            let cur = self.engine.aof_current_size();
            let base = self.engine.aof_base_size().max(1);
            if cur >= cfg.auto_aof_rewrite_min_size
                && cur.saturating_sub(base) * 100 / base >= cfg.auto_aof_rewrite_percentage as u64
            {
                log(&format!(
                    "starting automatic AOF rewrite: {cur} bytes, {base} at the last rewrite"
                ));
                self.start_job(store, JobKind::Rewrite, false);
            }
        }
    }

    /// Starts a background job (BGSAVE, BGREWRITEAOF).
    pub fn start_job(self: &Arc<Self>, store: &Store, kind: JobKind, schedule: bool) -> Started {
        if let Some(k) = self.running.lock().kind {
            if k == kind {
                return Started::AlreadyRunning;
            }
            if kind == JobKind::Rewrite || schedule {
                self.scheduled(kind).store(true, Relaxed);
                return Started::Scheduled;
            }
            return Started::OtherRunning;
        }
        let aof = self.aof_on.load(Relaxed);
        let publish = aof && !self.aof_pending.load(Relaxed);
        *self.last_try.lock() = Some(Instant::now());
        let cp = match self.engine.begin(store, aof, publish) {
            Ok(cp) => cp,
            Err(PersistError::Busy) => {
                self.scheduled(kind).store(true, Relaxed);
                return Started::Scheduled;
            }
            Err(e) => {
                self.record(kind, false, 0);
                log(&format!("background {} failed to start: {e}", name(kind)));
                return Started::Failed(e.to_string());
            }
        };
        self.scheduled(kind).store(false, Relaxed);
        *self.running.lock() = Running {
            kind: Some(kind),
            started: Some(Instant::now()),
        };
        let me = self.clone();
        let spawned = std::thread::Builder::new()
            .name("kevy-bgsave".into())
            .spawn(move || {
                let t0 = Instant::now();
                let r = me.engine.finish(cp);
                me.done(kind, aof, r, t0);
            });
        match spawned {
            Ok(_) => Started::Now,
            Err(e) => {
                *self.running.lock() = Running::default();
                Started::Failed(e.to_string())
            }
        }
    }

    fn scheduled(&self, kind: JobKind) -> &AtomicBool {
        match kind {
            JobKind::Save => &self.save_scheduled,
            JobKind::Rewrite => &self.rewrite_scheduled,
        }
    }

    fn record(&self, kind: JobKind, ok: bool, secs: i64) {
        match kind {
            JobKind::Save => {
                self.rdb_ok.store(ok, Relaxed);
                self.rdb_last_secs.store(secs, Relaxed);
            }
            JobKind::Rewrite => {
                self.aof_ok.store(ok, Relaxed);
                self.aof_last_secs.store(secs, Relaxed);
                if ok {
                    self.aof_failures.store(0, Relaxed);
                } else {
                    self.aof_failures.fetch_add(1, Relaxed);
                }
            }
        }
    }

    fn done(&self, kind: JobKind, aof: bool, r: Result<u64, PersistError>, t0: Instant) {
        let secs = t0.elapsed().as_secs() as i64;
        match r {
            Ok(bytes) => {
                self.lastsave.store(unix_secs(), Relaxed);
                if aof {
                    self.aof_pending.store(false, Relaxed);
                }
                match kind {
                    JobKind::Save => {
                        self.saves.fetch_add(1, Relaxed);
                        log(&format!(
                            "background saving terminated with success ({bytes} bytes, {} ms)",
                            t0.elapsed().as_millis()
                        ));
                    }
                    JobKind::Rewrite => {
                        self.aof_rewrites.fetch_add(1, Relaxed);
                        log(&format!(
                            "background AOF rewrite terminated with success ({bytes} bytes, {} ms)",
                            t0.elapsed().as_millis()
                        ));
                    }
                }
                self.record(kind, true, secs);
            }
            Err(e) => {
                log(&format!("background {} failed: {e}", name(kind)));
                self.record(kind, false, secs);
            }
        }
        *self.running.lock() = Running::default();
    }

    /// SAVE: a checkpoint on the calling thread; returns once it is durable.
    pub fn save(&self, store: &Store) -> Result<(), String> {
        let aof = self.aof_on.load(Relaxed);
        let publish = aof && !self.aof_pending.load(Relaxed);
        let t0 = Instant::now();
        let cp = self
            .engine
            .begin(store, aof, publish)
            .map_err(|e| e.to_string())?;
        let r = self.engine.finish(cp);
        let ok = r.is_ok();
        self.record(JobKind::Save, ok, t0.elapsed().as_secs() as i64);
        match r {
            Ok(_) => {
                self.lastsave.store(unix_secs(), Relaxed);
                self.saves.fetch_add(1, Relaxed);
                if aof {
                    self.aof_pending.store(false, Relaxed);
                }
                Ok(())
            }
            Err(e) => {
                log(&format!("SAVE failed: {e}"));
                Err(e.to_string())
            }
        }
    }

    /// True while a background job runs.
    pub fn busy(&self) -> bool {
        self.running.lock().kind.is_some() || self.engine.busy()
    }

    /// Unix time of the last successful save.
    pub fn lastsave(&self) -> u64 {
        self.lastsave.load(Relaxed)
    }

    /// Applies CONFIG SET changes that concern persistence.
    pub fn on_config_change(self: &Arc<Self>, store: &Store, cfg: &Config, names: &[&str]) {
        if names.contains(&"appendfsync") {
            self.fsync.store(policy(cfg.appendfsync), Relaxed);
            if cfg.appendfsync == AppendFsync::Always && self.aof_on.load(Relaxed) {
                if let Err(e) = self.engine.sync_all(true) {
                    self.write_failed(e, true);
                }
            }
        }
        if names.contains(&"appendonly") {
            let on = self.aof_on.load(Relaxed);
            if cfg.appendonly && !on {
                // As Redis: the new AOF is usable once a rewrite has written
                // the current state as its base.
                self.aof_pending.store(true, Relaxed);
                self.aof_on.store(true, Relaxed);
                if let Started::Failed(e) = self.start_job(store, JobKind::Rewrite, true) {
                    log(&format!("cannot start the AOF: {e}"));
                }
            } else if !cfg.appendonly && on {
                self.aof_on.store(false, Relaxed);
                self.aof_pending.store(false, Relaxed);
                while self.engine.busy() {
                    std::thread::sleep(Duration::from_millis(5));
                }
                self.engine.close_aof(store);
            }
        }
    }

    /// Orderly shutdown: makes the AOF durable and saves if asked (once).
    pub fn shutdown(&self, store: &Store, save: bool) -> Result<(), String> {
        if self.shut.swap(true, Relaxed) {
            return Ok(());
        }
        if self.aof_on.load(Relaxed) {
            if let Err(e) = self.engine.sync_all(true) {
                log(&format!("error flushing the AOF at shutdown: {e}"));
            }
        }
        if save {
            while self.busy() {
                std::thread::sleep(Duration::from_millis(5));
            }
            if let Err(e) = self.save(store) {
                self.shut.store(false, Relaxed);
                return Err(e);
            }
            log("DB saved on disk");
        }
        Ok(())
    }

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
            for f in [
                "aof_buffer_length",
                "aof_pending_bio_fsync",
                "aof_delayed_fsync",
            ] {
                l(format!("{f}:0"));
            }
        }
        l(format!(
            "aof_rewrites_total:{}",
            self.aof_rewrites.load(Relaxed)
        ));
        l(format!("kevy_replay_time_ms:{}", self.replay_ms));
        let _ = write!(o, "kevy_bytes_quarantined:{}\r\n", self.quarantined);
    }
}

fn name(kind: JobKind) -> &'static str {
    match kind {
        JobKind::Save => "save",
        JobKind::Rewrite => "AOF rewrite",
    }
}
