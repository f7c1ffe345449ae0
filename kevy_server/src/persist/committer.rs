//! The shard committers of `appendfsync always`: one thread per shard
//! makes its log durable (kevy_persist's `Engine::commit`) off the event
//! loops, so a slow fsync delays only the replies that wait for it. A loop
//! asks for a position and goes on serving; the committer wakes every loop
//! that asked once its commit is done (or undone), and the loop then sends,
//! or answers again, what waited.

use super::Persistence;
use crate::shared::Shared;
use kevy_persist::Fate;
use parking_lot::{Condvar, Mutex};
use std::sync::Arc;
use std::time::Duration;

#[derive(Default)]
struct Want {
    /// Highest position asked for.
    upto: u64,
    /// Loops to wake when it is settled.
    workers: Vec<usize>,
}

#[derive(Default)]
struct Slot {
    want: Mutex<Want>,
    cv: Condvar,
}

/// One request slot per shard.
#[derive(Default)]
pub struct Committers {
    slots: Vec<Slot>,
}

impl Committers {
    /// Slots for `n` shards (their threads start with [`spawn`]).
    pub fn new(n: usize) -> Committers {
        Committers {
            slots: (0..n).map(|_| Slot::default()).collect(),
        }
    }

    /// Asks shard `s`'s committer to make `pos` durable and wake `worker`.
    pub fn request(&self, s: usize, pos: u64, worker: usize) {
        let Some(slot) = self.slots.get(s) else {
            return;
        };
        let mut w = slot.want.lock();
        w.upto = w.upto.max(pos);
        if !w.workers.contains(&worker) {
            w.workers.push(worker);
        }
        drop(w);
        slot.cv.notify_one();
    }
}

/// Starts one committer thread per shard.
pub fn spawn(shared: &Arc<Shared>) -> Result<(), String> {
    for s in 0..shared.persist.committers.slots.len() {
        let sh = shared.clone();
        std::thread::Builder::new()
            .name(format!("kevy-commit-{s}"))
            .spawn(move || run(&sh, s))
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}

fn run(shared: &Shared, s: usize) {
    let p: &Persistence = &shared.persist;
    let slot = &p.committers.slots[s];
    loop {
        let (upto, workers) = {
            let mut w = slot.want.lock();
            while w.workers.is_empty() {
                slot.cv.wait(&mut w);
            }
            (w.upto, std::mem::take(&mut w.workers))
        };
        if p.fate(s, upto) == Fate::Pending {
            let t0 = std::time::Instant::now();
            if let Err(e) = p.engine.commit(&shared.store, s) {
                p.write_failed(e);
            }
            shared.latency_monitor.record(
                "aof-fsync-always",
                t0.elapsed().as_millis() as u64,
                shared.config.get().latency_monitor_threshold,
                crate::shared::now_ms() / 1000,
            );
            if p.fate(s, upto) == Fate::Pending {
                // Nothing moved (the log is being switched): do not spin.
                std::thread::sleep(Duration::from_millis(1));
            }
        }
        for w in workers {
            if let Some(h) = shared.workers.get(w) {
                let _ = h.waker.wake();
            }
        }
    }
}
