//! The committer of `appendfsync always`: one thread makes the shards' logs
//! durable (kevy_persist's `Engine::commit`) off the event loops, so a slow
//! fsync delays only the replies that wait for it. A loop asks for a
//! position and goes on serving; the committer commits every shard asked
//! for (in one round when a batch touched several), then wakes every loop
//! that asked, which sends, or answers again, what waited. One thread, not
//! one per shard: a round that touches every shard then costs one wake-up
//! of the committer and one of each loop.

use super::Persistence;
use crate::shared::Shared;
use kevy_persist::Fate;
use parking_lot::{Condvar, Mutex};
use std::sync::Arc;
use std::time::Duration;

#[derive(Default)]
struct Want {
    /// Per shard, the highest position asked for.
    upto: Vec<u64>,
    /// Loops to wake when the round is done.
    workers: Vec<usize>,
    asked: bool,
}

/// The requests.
#[derive(Default)]
pub struct Committers {
    want: Mutex<Want>,
    cv: Condvar,
}

impl Committers {
    /// Requests for `n` shards (the thread starts with [`spawn`]).
    pub fn new(n: usize) -> Committers {
        Committers {
            want: Mutex::new(Want {
                upto: vec![0; n],
                ..Default::default()
            }),
            cv: Condvar::new(),
        }
    }

    /// Asks for shard `s`'s log to be durable up to `pos`, and for `worker`
    /// to be woken then.
    pub fn request(&self, s: usize, pos: u64, worker: usize) {
        let mut w = self.want.lock();
        if let Some(u) = w.upto.get_mut(s) {
            *u = (*u).max(pos);
        }
        if !w.workers.contains(&worker) {
            w.workers.push(worker);
        }
        let first = !w.asked;
        w.asked = true;
        drop(w);
        if first {
            self.cv.notify_one();
        }
    }
}

/// Starts the committer thread.
pub fn spawn(shared: &Arc<Shared>) -> Result<(), String> {
    let sh = shared.clone();
    std::thread::Builder::new()
        .name("kevy-commit".into())
        .spawn(move || run(&sh))
        .map(|_| ())
        .map_err(|e| e.to_string())
}

fn run(shared: &Shared) {
    let p: &Persistence = &shared.persist;
    let c = &p.committers;
    loop {
        let (upto, workers) = {
            let mut w = c.want.lock();
            while !w.asked {
                c.cv.wait(&mut w);
            }
            w.asked = false;
            (w.upto.clone(), std::mem::take(&mut w.workers))
        };
        let t0 = std::time::Instant::now();
        let mut stuck = false;
        for (s, &pos) in upto.iter().enumerate() {
            if p.fate(s, pos) == Fate::Pending {
                if let Err(e) = p.engine.commit(&shared.store, s) {
                    p.write_failed(e);
                }
                stuck |= p.fate(s, pos) == Fate::Pending;
            }
        }
        shared.latency_monitor.record(
            "aof-fsync-always",
            t0.elapsed().as_millis() as u64,
            shared.config.get().latency_monitor_threshold,
            crate::shared::now_ms() / 1000,
        );
        if stuck {
            // Nothing moved (the log is being switched): do not spin.
            std::thread::sleep(Duration::from_millis(1));
        }
        for w in workers {
            if let Some(h) = shared.workers.get(w) {
                let _ = h.waker.wake();
            }
        }
    }
}
