//! Running a script (EVAL, EVALSHA, FCALL and their `_RO` forms) on this
//! event loop's Lua VM, atomically whatever shards its keys live on.
//!
//! A script starts holding the shards of the keys it declared. If that is
//! every shard (always so with one shard), it runs in *full* mode. Else it
//! runs in *partial* mode: before each write it keeps the before-image of
//! the keys the command names (`exec::undo`), its log records are captured
//! instead of logged, and a command that needs a shard it does not hold
//! takes that lock only if it is free right now (`try_lock`, never a
//! wait, so lock order cannot deadlock). When a lock is not free, the
//! script is stopped, its writes are undone, and it runs again from the
//! start holding every shard (a full-mode run never needs undoing).
//! Commands that act beyond their keys (server commands, FLUSHALL, MOVE,
//! ...) first take every shard the same way.
//!
//! Invariant: no other client observes a script's partial effects: every
//! shard it wrote stays locked until it ends, and an undone run's writes
//! were never visible (nor logged).

use super::*;
use crate::script::Running;
use kevy_script::{Abort, Host, LogLevel, ScriptFlags};
use kevy_store::spec::flags as cf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

mod host_call;
mod undo;

use undo::Undo;

/// One script call: what runs, with which keys and arguments.
pub(crate) struct Call<'a> {
    /// The script or function.
    pub target: Target<'a>,
    /// `KEYS`.
    pub keys: &'a [Bytes],
    /// `ARGV`.
    pub args: &'a [Bytes],
    /// An `_RO` command: writes are refused.
    pub ro: bool,
    /// The script's or function's flags.
    pub flags: ScriptFlags,
    /// The command as sent (FUNCTION STATS shows it).
    pub argv: &'a [Bytes],
}

/// What a run executes.
#[derive(Clone, Copy)]
pub(crate) enum Target<'a> {
    /// Cached EVAL script by SHA1 (lowercase hex).
    Eval(&'a str),
    /// A function by name.
    Function(&'a str),
}

/// Whether the script holds every shard (nothing can need undoing).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Full,
    Partial,
}

/// The host side of one script run.
pub(crate) struct ScriptHost<'e, 's> {
    ex: &'e mut Executor<'s>,
    sess: &'e mut Session,
    /// The script's selected database (SELECT inside a script changes
    /// only this).
    db: usize,
    /// EVAL_RO/FCALL_RO or `no-writes`: write commands are refused.
    read_only: bool,
    flags: ScriptFlags,
    /// Memory was over `maxmemory` when the script started.
    oom: bool,
    mode: Mode,
    undo: Undo,
    /// Set when a lock was not free: the run must be undone and repeated
    /// holding every shard.
    restart: bool,
    /// The server is shutting down: the run stopped, its effects are
    /// neither committed nor logged.
    shutdown: bool,
    now: u64,
    started: Instant,
    threshold_ms: u64,
    busy: bool,
    /// The script ran a write command (it can no longer be killed).
    wrote: bool,
    /// `wrote` and the kill request, shared with the busy registry once
    /// the script is busy.
    flags_shared: Option<(Arc<AtomicBool>, Arc<AtomicBool>)>,
    is_eval: bool,
    name: &'e str,
    argv: &'e [Bytes],
    /// Errors of the commands the script called, already counted in the
    /// error stats.
    errors: Vec<Bytes>,
}

/// The error a killed script's caller gets (Redis's text, also for FUNCTION KILL).
const KILLED: &str = "ERR Script killed by user with SCRIPT KILL...";

impl<'s> Executor<'s> {
    /// Runs a script call for `sess`.
    pub(crate) fn run_script(&mut self, sess: &mut Session, call: Call<'_>) -> Reply {
        let Call {
            target,
            keys,
            args,
            ro,
            flags,
            argv,
        } = call;
        let shared = self.shared;
        if let Some(r) = self.script_prechecks(sess, flags, ro) {
            return r;
        }
        let Some(mut vm) = self.vm.take() else {
            return Reply::error("ERR scripting is unavailable");
        };
        let n = shared.store.nshards();
        let mut ids = std::mem::take(&mut self.ids);
        ids.clear();
        ids.extend(keys.iter().map(|k| shared.store.shard_of(k)));
        ids.sort_unstable();
        ids.dedup();
        let pinned = self.pinned;
        let mut mode = if pinned || ids.len() == n {
            Mode::Full
        } else {
            Mode::Partial
        };
        let maxmem = self.maxmemory;
        let oom = maxmem != 0 && crate::memory::over(maxmem);
        let mut reply;
        let mut shutdown;
        let dirty0 = self.events.dirty;
        loop {
            if !pinned {
                self.stamp();
                match mode {
                    Mode::Full if ids.len() == n => shared.store.relock(&mut self.locked, &ids),
                    Mode::Full => {
                        ids.clear();
                        ids.extend(0..n);
                        shared.store.relock(&mut self.locked, &ids);
                    }
                    Mode::Partial => shared.store.relock(&mut self.locked, &ids),
                }
            }
            // A partial-mode run may be undone: its log records wait aside.
            // A full-mode run cannot be: they go to the log at once,
            // bracketed so replay applies all of the script or none.
            for s in self.locked.shards_mut() {
                match mode {
                    Mode::Partial => s.begin_capture(),
                    Mode::Full if !pinned => s.begin_tx(),
                    Mode::Full => {}
                }
            }
            let mark = self.events_mark();
            let now = *self.now.get_or_insert_with(now_ms);
            let mut host = ScriptHost {
                ex: self,
                sess,
                db: 0,
                read_only: ro || flags.contains(ScriptFlags::NO_WRITES),
                flags,
                oom,
                mode,
                undo: Undo::default(),
                restart: false,
                shutdown: false,
                now,
                started: Instant::now(),
                threshold_ms: 0,
                busy: false,
                wrote: false,
                flags_shared: None,
                is_eval: matches!(target, Target::Eval(_)),
                name: match target {
                    Target::Eval(_) => "",
                    Target::Function(f) => f,
                },
                argv,
                errors: Vec::new(),
            };
            host.db = host.sess.db;
            host.threshold_ms = shared.config.get().busy_reply_threshold;
            reply = guarded(|| match target {
                Target::Eval(sha) => vm.eval(&mut host, sha, keys, args),
                Target::Function(name) => vm.fcall(&mut host, name, keys, args),
            });
            let restart = host.restart;
            let busy = host.busy;
            let counted = std::mem::take(&mut host.errors);
            shutdown = host.shutdown;
            let undo = std::mem::take(&mut host.undo);
            if busy {
                shared.scripting.busy.leave(self.worker);
            }
            if restart {
                undo.roll_back(&mut self.locked);
                for s in self.locked.shards_mut() {
                    s.end_capture();
                }
                self.events_reset(mark);
                self.locked.release();
                mode = Mode::Full;
                continue;
            }
            if let Reply::Error(e) = &reply {
                // An error a called command gave, passed on by the script:
                // it was counted when it happened.
                self.skip_error_count = counted.iter().any(|c| e.starts_with(c));
            }
            break;
        }
        if shutdown {
            // The server is going away: none of the script is kept (an
            // open bracket without its EXEC is dropped at replay).
            for s in self.locked.shards_mut() {
                s.end_capture();
            }
        } else {
            self.commit_captures(sess.db);
            if !pinned {
                kevy_store::end_tx_all(self.locked.shards_mut(), sess.db);
            }
        }
        self.touched.extend(self.locked.ids());
        self.ids = ids;
        if !pinned {
            if self.events.dirty != dirty0 {
                self.note_wide();
            }
            self.stamp();
            self.locked.release();
        }
        self.vm.put(vm);
        self.vm.report_memory(&shared.scripting, self.worker);
        reply
    }

    /// Redis's checks before a script with a shebang (or a function) runs
    /// that may write: MISCONF and OOM. EVAL scripts without a shebang
    /// skip them (their commands are checked one by one).
    fn script_prechecks(&mut self, sess: &Session, flags: ScriptFlags, ro: bool) -> Option<Reply> {
        if flags.contains(ScriptFlags::EVAL_COMPAT) {
            return None;
        }
        let may_write = !flags.contains(ScriptFlags::NO_WRITES);
        if ro && may_write {
            return Some(Reply::error(
                "ERR Can not execute a script with write flag using *_ro command.",
            ));
        }
        if may_write {
            if let Some(msg) = self.shared.persist.write_denied() {
                return Some(Reply::error(msg));
            }
            if !flags.contains(ScriptFlags::ALLOW_OOM)
                && self.maxmemory != 0
                && crate::memory::over(self.maxmemory)
            {
                return Some(Reply::error(
                    "OOM command not allowed when used memory > 'maxmemory'.",
                ));
            }
        }
        let _ = sess;
        None
    }

    /// Logs what the shards of a partial-mode run captured (a shard that
    /// captured nothing logs nothing); the caller closes the bracket.
    /// More than one record is bracketed (replay applies a script whole or
    /// not at all); a single one is logged plain.
    fn commit_captures(&mut self, _db: usize) {
        let total: usize = self.locked.shards_mut().map(|s| s.captured()).sum();
        for s in self.locked.shards_mut() {
            let recs = s.end_capture();
            if recs.is_empty() {
                continue;
            }
            if total > 1 && !s.in_tx() {
                s.begin_tx();
            }
            for (d, argv) in recs {
                let parts: Vec<&[u8]> = argv.iter().map(|a| &a[..]).collect();
                s.log(d, &parts);
            }
        }
    }

    /// Lengths of the side-effect lists, to undo a run's.
    fn events_mark(&self) -> (usize, usize, usize, u64, u64) {
        let e = &self.events;
        (
            e.notifications.len(),
            e.ready_keys.len(),
            e.modified_keys.len(),
            e.dirty,
            e.expired,
        )
    }

    fn events_reset(&mut self, m: (usize, usize, usize, u64, u64)) {
        let e = &mut self.events;
        e.notifications.truncate(m.0);
        e.ready_keys.truncate(m.1);
        e.modified_keys.truncate(m.2);
        e.dirty = m.3;
        e.expired = m.4;
    }
}

impl Host for ScriptHost<'_, '_> {
    fn call(&mut self, argv: &[Bytes], resp: u8) -> Result<Reply, Abort> {
        self.call_command(argv, resp)
    }

    fn acl_check(&mut self, argv: &[Bytes]) -> Result<bool, String> {
        let shared = self.ex.shared;
        let Some((idx, _)) = shared.commands.lookup(&argv[0]) else {
            return Err("ERR Invalid command passed to redis.acl_check_cmd()".into());
        };
        Ok(crate::acl::allowed(shared, self.sess, idx, argv))
    }

    fn log(&mut self, level: LogLevel, msg: &[u8]) {
        let tag = match level {
            LogLevel::Debug => '.',
            LogLevel::Verbose => '-',
            LogLevel::Notice => '*',
            LogLevel::Warning => '#',
        };
        let min = self.ex.shared.config.get().loglevel as usize;
        if (level as usize) >= min {
            eprintln!("kevy: {tag} {}", String::from_utf8_lossy(msg));
        }
    }

    fn tick(&mut self) -> Result<(), Abort> {
        self.check_busy()
    }
}

impl ScriptHost<'_, '_> {
    /// Registers the script as busy once it passes the threshold, and
    /// stops it when killed.
    fn check_busy(&mut self) -> Result<(), Abort> {
        if self.ex.shared.shutdown.load(Relaxed) {
            self.shutdown = true;
            return Err(Abort(Reply::error("ERR server shutting down")));
        }
        if !self.busy {
            if self.threshold_ms == 0
                || (self.started.elapsed().as_millis() as u64) < self.threshold_ms
            {
                return Ok(());
            }
            self.busy = true;
            let wrote = Arc::new(AtomicBool::new(self.wrote));
            let kill = Arc::new(AtomicBool::new(false));
            self.flags_shared = Some((wrote.clone(), kill.clone()));
            self.ex.shared.scripting.busy.enter(Running {
                worker: self.ex.worker,
                is_eval: self.is_eval,
                name: self.name.to_string(),
                argv: self.argv.to_vec(),
                started: self.started,
                wrote,
                kill,
            });
        }
        let killed = |h: &Self| {
            h.flags_shared
                .as_ref()
                .is_some_and(|(_, k)| k.load(Relaxed))
        };
        if killed(self) {
            return Err(Abort(Reply::error(KILLED)));
        }
        self.ex.serve_while_busy();
        if killed(self) {
            return Err(Abort(Reply::error(KILLED)));
        }
        Ok(())
    }
}
