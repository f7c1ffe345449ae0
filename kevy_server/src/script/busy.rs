//! Busy scripts: a script that has run longer than `busy-reply-threshold`
//! registers here. While one is registered, other clients get `BUSY`
//! (except the commands Redis lets through), `SCRIPT KILL` /
//! `FUNCTION KILL` ask it to stop if it has not written, and `FUNCTION
//! STATS` shows it.

use parking_lot::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

/// A script that went past the threshold.
#[derive(Clone)]
pub struct Running {
    /// Event loop running it.
    pub worker: usize,
    /// EVAL (true) or FCALL (false).
    pub is_eval: bool,
    /// The function's name (FCALL), for FUNCTION STATS.
    pub name: String,
    /// The command that started it, for FUNCTION STATS.
    pub argv: Vec<bytes::Bytes>,
    /// When it started.
    pub started: Instant,
    /// Set once the script has run a write command.
    pub wrote: Arc<AtomicBool>,
    /// Set by SCRIPT KILL / FUNCTION KILL.
    pub kill: Arc<AtomicBool>,
}

/// The busy scripts (one per event loop at most).
#[derive(Default)]
pub struct Busy {
    active: AtomicBool,
    running: Mutex<Vec<Running>>,
}

/// What a KILL found.
pub enum KillOutcome {
    /// The script will stop.
    Killed,
    /// No busy script.
    NotBusy,
    /// The busy script is of the other kind (EVAL vs FCALL).
    Mismatch {
        /// The busy one is an EVAL script.
        is_eval: bool,
    },
    /// It has written: it cannot be stopped without losing atomicity.
    Unkillable,
}

/// Redis's BUSY error for a busy EVAL script.
pub const BUSY_EVAL: &str =
    "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.";
/// Redis's BUSY error for a busy function.
pub const BUSY_FUNCTION: &str =
    "BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.";

impl Busy {
    /// True while some script is busy (one atomic load: the per-command
    /// gate).
    #[inline]
    pub fn active(&self) -> bool {
        self.active.load(Ordering::Acquire)
    }

    /// The BUSY error other clients get now, if a script is busy.
    pub fn busy_error(&self) -> Option<&'static str> {
        if !self.active() {
            return None;
        }
        let r = self.running.lock();
        r.first()
            .map(|s| if s.is_eval { BUSY_EVAL } else { BUSY_FUNCTION })
    }

    /// Registers a script that went past the threshold.
    pub fn enter(&self, r: Running) {
        let mut v = self.running.lock();
        v.retain(|x| x.worker != r.worker);
        v.push(r);
        self.active.store(true, Ordering::Release);
    }

    /// Unregisters event loop `worker`'s script (it ended).
    pub fn leave(&self, worker: usize) {
        let mut v = self.running.lock();
        v.retain(|x| x.worker != worker);
        self.active.store(!v.is_empty(), Ordering::Release);
    }

    /// SCRIPT KILL (`is_eval`) or FUNCTION KILL.
    pub fn kill(&self, is_eval: bool) -> KillOutcome {
        let v = self.running.lock();
        let Some(first) = v.first() else {
            return KillOutcome::NotBusy;
        };
        let mine: Vec<&Running> = v.iter().filter(|r| r.is_eval == is_eval).collect();
        if mine.is_empty() {
            return KillOutcome::Mismatch {
                is_eval: first.is_eval,
            };
        }
        if mine.iter().any(|r| r.wrote.load(Ordering::Acquire)) {
            return KillOutcome::Unkillable;
        }
        for r in mine {
            r.kill.store(true, Ordering::Release);
        }
        KillOutcome::Killed
    }

    /// The busy function (for FUNCTION STATS), or Err(is_eval) when the
    /// busy script is an EVAL one.
    pub fn running_function(&self) -> Result<Option<Running>, ()> {
        let v = self.running.lock();
        match v.first() {
            None => Ok(None),
            Some(r) if r.is_eval => Err(()),
            Some(r) => Ok(Some(r.clone())),
        }
    }
}
