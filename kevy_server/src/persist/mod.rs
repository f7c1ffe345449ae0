//! Server-side persistence glue: start-up recovery, the per-batch AOF
//! flush (`appendfsync always` makes every touched shard durable before the
//! batch's replies are written), the cron duties (everysec fsync, `save`
//! rules, auto rewrite, retries), background jobs for BGSAVE and
//! BGREWRITEAOF, runtime CONFIG SET effects, and INFO persistence. The
//! bytes on disk are kevy_persist's business.

mod check;
pub mod committer;
mod faults;
pub mod functions;
mod info;

pub use check::check_aof_cli;

use kevy_config::{AppendFsync, Config};
use kevy_persist::{recover, Engine, EngineConfig, OsFs, PersistError, RecoverOptions};
use kevy_store::Store;
use parking_lot::Mutex;
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
    /// `stop-writes-on-bgsave-error yes` with at least one save point: a
    /// failed snapshot refuses writes (MISCONF) until one succeeds.
    stop_writes_on_rdb_error: AtomicBool,
    /// The last snapshot failure, for INFO and the log.
    rdb_last_error: Mutex<Option<String>>,
    /// An AOF failure was logged and writes are refused until it clears.
    aof_refusing: AtomicBool,
    /// `appendfsync always`: the per-shard commit threads' requests.
    pub committers: committer::Committers,
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
    let dir_shown = dir.display().to_string();
    let ecfg = EngineConfig {
        dir,
        dbfilename: cfg.dbfilename.clone(),
        appendfilename: cfg.appendfilename.clone(),
    };
    let engine = Arc::new(Engine::new(
        faults::file_system(),
        ecfg,
        nshards,
        r.manifest,
        rep.bytes,
    ));
    let store = r.store;
    engine.install(&store);
    let gone = engine.collect_garbage();
    if !gone.is_empty() {
        log(&format!(
            "removed {} files a crash or a failed write left behind: {}",
            gone.len(),
            gone.join(", ")
        ));
    }
    // Start-up writes (a new AOF generation, or the state in a new shard
    // layout) fail on a full or read-only disk: say so, naming the file.
    let unwritable = |e: PersistError| {
        format!(
            "cannot start: the data directory {} does not take writes ({e}); free some space, make it writable, or choose another dir",
            dir_shown
        )
    };
    if rep.needs_rebase {
        let cp = engine
            .begin(&store, cfg.appendonly, false)
            .map_err(unwritable)?;
        engine.finish(cp).map_err(|e| {
            format!(
                "cannot write the recovered state in the new layout: {}",
                unwritable(e)
            )
        })?;
        log("rewrote the recovered data in the current shard layout");
    } else if cfg.appendonly {
        engine.open_generations(&store).map_err(unwritable)?;
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
        stop_writes_on_rdb_error: AtomicBool::new(faults::stops_writes(cfg)),
        rdb_last_error: Mutex::new(None),
        aof_refusing: AtomicBool::new(false),
        committers: committer::Committers::new(nshards),
    };
    p.update_mode(&store);
    Ok((store, Arc::new(p)))
}

impl Persistence {
    /// The engine (AOF positions, commits).
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// True when a batch's replies wait for the end of the event-loop
    /// iteration, where [`Persistence::sync_for_replies`] writes (and under
    /// `appendfsync always` fsyncs) every shard the iteration's batches
    /// touched, once: Redis too writes its AOF buffer once per iteration,
    /// before it sends the replies. One write per batch cost 50 writes an
    /// iteration with 50 clients.
    pub fn defers_sync(&self) -> bool {
        self.aof_on.load(Relaxed)
    }

    /// Cron duties, called `hz` times a second.
    pub fn cron_tick(self: &Arc<Self>, store: &Store, cfg: &Config) {
        if self.always_commit() {
            self.tend_always(store);
        } else if self.aof_on.load(Relaxed) {
            let pol = self.fsync.load(Relaxed);
            let due = self.last_fsync.lock().elapsed() >= Duration::from_secs(1);
            // While the log is failing, retry buffered writes every tick so
            // writes resume as soon as the disk has room again.
            let failing = self.engine.failed();
            if due || failing {
                if due {
                    *self.last_fsync.lock() = Instant::now();
                }
                if let Err(e) = self.engine.sync_all(due && pol != 2) {
                    self.write_failed(e);
                }
            }
            self.check_recovered();
        }
        if self.engine.busy() {
            return;
        }
        // A log that refuses writes until a checkpoint rewrites the state
        // retries every second; a failed save every 5 s.
        let every = if self.engine.needs_checkpoint() { 1 } else { 5 };
        let retry_ok = self
            .last_try
            .lock()
            .is_none_or(|t| t.elapsed() >= Duration::from_secs(every));
        let aof_on = self.aof_on.load(Relaxed);
        if self.rewrite_scheduled.load(Relaxed)
            || (aof_on
                && (self.aof_pending.load(Relaxed) || self.engine.needs_checkpoint())
                && retry_ok)
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
                log(&format!("background {} failed to start: {e}", name(kind)));
                self.record(kind, Err(e.to_string()), 0);
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

    fn record(&self, kind: JobKind, res: Result<(), String>, secs: i64) {
        let ok = res.is_ok();
        match kind {
            JobKind::Save => {
                self.rdb_ok.store(ok, Relaxed);
                self.rdb_last_secs.store(secs, Relaxed);
                self.rdb_failed(res.err());
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
                self.record(kind, Ok(()), secs);
            }
            Err(e) => {
                log(&format!("background {} failed: {e}", name(kind)));
                self.record(kind, Err(e.to_string()), secs);
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
        let res = r.as_ref().map(|_| ()).map_err(|e| e.to_string());
        self.record(JobKind::Save, res, t0.elapsed().as_secs() as i64);
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
                    self.write_failed(e);
                }
            }
            self.update_mode(store);
        }
        if names.contains(&"save") || names.contains(&"stop-writes-on-bgsave-error") {
            self.stop_writes_on_rdb_error
                .store(faults::stops_writes(cfg), Relaxed);
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
            self.update_mode(store);
        }
    }

    /// Orderly shutdown: makes the AOF durable and saves if asked (once).
    pub fn shutdown(&self, store: &Store, save: bool) -> Result<(), String> {
        if self.shut.swap(true, Relaxed) {
            return Ok(());
        }

        // Not a commit, even under `always`: a busy script may hold shard
        // locks on the very thread that runs SHUTDOWN.
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
}

fn name(kind: JobKind) -> &'static str {
    match kind {
        JobKind::Save => "save",
        JobKind::Rewrite => "AOF rewrite",
    }
}
