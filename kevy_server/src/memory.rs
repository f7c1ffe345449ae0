//! `maxmemory` enforcement, as Redis's `performEvictions`: before a command
//! runs (any command, when `maxmemory` is set) and from the cron thread, if
//! the allocator's count exceeds `maxmemory`, keys are evicted by
//! `maxmemory-policy` until it does not, or until the eviction time budget
//! (`maxmemory-eviction-tenacity`) is spent, in which case the command still
//! runs and the cron thread carries on. When nothing evictable is left (or
//! under `noeviction`), commands flagged `denyoom` (and anything queued
//! inside MULTI) are refused with Redis's OOM error; reads go on.
//!
//! The hot path pays one branch when `maxmemory` is 0, and one thread-local
//! read plus one relaxed atomic load otherwise: nothing is scanned per command.

use crate::conn::Session;
use crate::shared::{now_ms, Shared};
use crate::table::Cmd;
use kevy_config::MaxmemoryPolicy as P;
use kevy_resp::Reply;
use kevy_store::spec::flags::DENYOOM;
use kevy_store::{evict_one, Events, EvictParams, EvictPolicy, EvictionPool, LfuParams, Locked};
use parking_lot::Mutex;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

/// Redis's reply to a `denyoom` command when memory cannot be freed.
pub const OOM: &str = "OOM command not allowed when used memory > 'maxmemory'.";

/// One pool for the whole server, as Redis has: evicting threads take turns,
/// and each re-measures after getting the lock, so two threads never both
/// evict for the same excess.
static POOL: Mutex<EvictionPool> = Mutex::new(EvictionPool::new());

/// `used_memory` right after start-up (MEMORY STATS `startup.allocated`).
static STARTUP: AtomicU64 = AtomicU64::new(0);
/// Unix ms since which memory has been over the limit (0: it is not).
static OVER_SINCE: AtomicU64 = AtomicU64::new(0);
/// Milliseconds spent over the limit in finished episodes.
static EXCEEDED_MS: AtomicU64 = AtomicU64::new(0);
/// Estimated bytes of keys evicted while a background snapshot or rewrite
/// holds a frozen copy of the keyspace. Such keys stay allocated until the
/// job drops its copy, so they are not counted against `maxmemory` meanwhile
/// (Redis's fork does the same implicitly: copy-on-write pages are not in
/// `used_memory`). Without this, eviction during a BGSAVE would free nothing
/// and go on until no key is left.
static PINNED: AtomicU64 = AtomicU64::new(0);

/// Bytes evicted but still held by a background job's frozen copy (INFO
/// `mem_not_counted_for_evict`).
pub fn pinned() -> u64 {
    PINNED.load(Relaxed)
}

/// What one eviction pass achieved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Memory is under the limit (or there is no limit).
    Ok,
    /// The time budget ran out first; the cron thread keeps evicting.
    Running,
    /// Over the limit with nothing evictable (or `noeviction`).
    Fail,
}

/// Records the memory in use once the server is up.
pub fn record_startup() {
    crate::alloc::flush_here();
    STARTUP.store(crate::alloc::used_memory() as u64, Relaxed);
}

/// `used_memory` at start-up.
pub fn startup_memory() -> u64 {
    STARTUP.load(Relaxed)
}

/// INFO stats `total_eviction_exceeded_time` and
/// `current_eviction_exceeded_time`, in ms.
pub fn exceeded_time() -> (u64, u64) {
    let since = OVER_SINCE.load(Relaxed);
    let current = if since == 0 {
        0
    } else {
        now_ms().saturating_sub(since)
    };
    (EXCEEDED_MS.load(Relaxed) + current, current)
}

fn policy(p: P) -> Option<EvictPolicy> {
    Some(match p {
        P::AllkeysLru => EvictPolicy::AllkeysLru,
        P::AllkeysLfu => EvictPolicy::AllkeysLfu,
        P::AllkeysRandom => EvictPolicy::AllkeysRandom,
        P::VolatileLru => EvictPolicy::VolatileLru,
        P::VolatileLfu => EvictPolicy::VolatileLfu,
        P::VolatileRandom => EvictPolicy::VolatileRandom,
        P::VolatileTtl => EvictPolicy::VolatileTtl,
        P::Noeviction => return None,
    })
}

/// Redis's `evictionTimeLimitUs`: 50 µs per tenacity point up to 10, then
/// growing 15% per point; 100 is unlimited.
fn time_limit(tenacity: u32) -> Duration {
    let t = tenacity.min(100);
    if t <= 10 {
        Duration::from_micros(50 * t as u64)
    } else if t < 100 {
        Duration::from_micros((500.0 * 1.15f64.powi(t as i32 - 10)) as u64)
    } else {
        Duration::MAX
    }
}

/// True when the memory in use (as this thread sees it) exceeds `max`.
#[inline]
pub fn over(max: u64) -> bool {
    (crate::alloc::used_memory_here() as u64).saturating_sub(PINNED.load(Relaxed)) > max
}

fn mark_over(over: bool) {
    let since = OVER_SINCE.load(Relaxed);
    if over && since == 0 {
        OVER_SINCE.store(now_ms().max(1), Relaxed);
    } else if !over
        && since != 0
        && OVER_SINCE
            .compare_exchange(since, 0, Relaxed, Relaxed)
            .is_ok()
    {
        EXCEEDED_MS.fetch_add(now_ms().saturating_sub(since), Relaxed);
    }
}

/// Evicts keys until memory is under `maxmemory`, the budget is spent, or
/// nothing evictable is left. The caller must hold no shard lock.
pub fn perform_evictions(shared: &Shared) -> Outcome {
    perform(shared, Duration::ZERO)
}

/// [`perform_evictions`] with a time budget of at least `min_budget`.
fn perform(shared: &Shared, min_budget: Duration) -> Outcome {
    let cfg = shared.config.get();
    let max = cfg.maxmemory;
    if max == 0 || !over(max) {
        mark_over(false);
        return Outcome::Ok;
    }
    // CLIENT PAUSE (WRITE or ALL) pauses eviction too, as in Redis 7.
    if shared.pause_until.load(Relaxed) > now_ms() {
        return Outcome::Ok;
    }
    mark_over(true);
    let frozen = shared.persist.busy();
    if !frozen {
        PINNED.store(0, Relaxed);
    }
    let Some(policy) = policy(cfg.maxmemory_policy) else {
        return Outcome::Fail;
    };
    let params = EvictParams {
        policy,
        samples: cfg.maxmemory_samples.max(1) as usize,
        lfu: LfuParams {
            log_factor: cfg.lfu_log_factor,
            decay_time: cfg.lfu_decay_time,
        },
        notify_mask: cfg.notify_keyspace_events.0 as u32,
        track_keys: shared.tracking.active(),
    };
    let limit = time_limit(cfg.maxmemory_eviction_tenacity).max(min_budget);
    let start = Instant::now();
    let mut events = Events::default();
    let mut evicted = 0u64;
    let outcome = {
        let mut pool = POOL.lock();
        loop {
            if !over(max) {
                break Outcome::Ok;
            }
            match evict_one(&shared.store, &mut pool, &params, now_ms(), &mut events) {
                None => break Outcome::Fail,
                Some(ev) if frozen => {
                    PINNED.fetch_add(ev.bytes as u64, Relaxed);
                }
                Some(_) => {}
            }
            evicted += 1;
            if evicted % 16 == 0 && start.elapsed() > limit {
                break Outcome::Running;
            }
        }
    };
    if outcome == Outcome::Ok {
        mark_over(false);
    }
    shared.stats.evicted_keys.fetch_add(evicted, Relaxed);
    for key in events.modified_keys.drain(..) {
        shared.tracking.invalidate(shared, &key, u64::MAX);
    }
    crate::pubsub::publish_notifications(shared, params.notify_mask, &mut events.notifications);
    outcome
}

/// The check before a command runs, called only when `maxmemory` > 0:
/// evicts if needed and returns the reply that refuses the command, if it
/// must be refused. Releases the batch's locks before evicting.
#[inline]
pub fn oom_check(
    shared: &Shared,
    locked: &mut Locked<'_>,
    sess: &mut Session,
    cmd: &Cmd,
    max: u64,
) -> Option<Reply> {
    if !over(max) {
        return None;
    }
    oom_slow(shared, locked, sess, cmd)
}

#[cold]
fn oom_slow(
    shared: &Shared,
    locked: &mut Locked<'_>,
    sess: &mut Session,
    cmd: &Cmd,
) -> Option<Reply> {
    locked.release();
    if perform_evictions(shared) != Outcome::Fail {
        return None;
    }
    let name = cmd.meta.name;
    let denyoom = |c: &Cmd| c.meta.flags & DENYOOM != 0;
    let reject = match &sess.multi {
        // Queuing grows memory without bound: Redis refuses it, except for
        // the commands that end the transaction (EXEC only if it would run
        // a denyoom command).
        Some(queue) if name == "exec" => queue.iter().any(|argv| {
            argv.first()
                .and_then(|n| shared.commands.lookup(n))
                .is_some_and(|(_, c)| denyoom(c))
        }),
        Some(_) => !matches!(name, "discard" | "quit" | "reset"),
        None => denyoom(cmd),
    };
    if !reject {
        return None;
    }
    cmd.stats.rejected.fetch_add(1, Relaxed);
    if name == "exec" {
        sess.multi = None;
        sess.multi_dirty = false;
        crate::cmd::unwatch_all(shared, sess);
        return Some(Reply::error(format!(
            "EXECABORT Transaction discarded because of: {OOM}"
        )));
    }
    if sess.multi.is_some() {
        sess.multi_dirty = true;
    }
    Some(Reply::error(OOM))
}

/// Cron's share: keeps evicting while over the limit (after a CONFIG SET
/// that lowered `maxmemory`, or when a pass ran out of time).
pub fn cron(shared: &Shared) {
    // The cron thread's own allocations (INFO-free, but expiry and
    // persistence work) are published each tick rather than per 256 KiB.
    crate::alloc::flush_here();
    let cfg = shared.config.get();
    if PINNED.load(Relaxed) != 0 && !shared.persist.busy() {
        // The job ended and dropped its copy: the evicted keys are freed.
        PINNED.store(0, Relaxed);
    }
    if cfg.maxmemory != 0 {
        // Up to a quarter of the tick, as active expiry: Redis keeps
        // evicting from its event loop between commands; here the cron
        // thread does that share, so an idle server still gets under a
        // lowered limit quickly.
        let tick = Duration::from_millis(1000 / cfg.hz.clamp(1, 500) as u64);
        perform(shared, tick / 4);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_limit_follows_redis() {
        assert_eq!(time_limit(0), Duration::ZERO);
        assert_eq!(time_limit(10), Duration::from_micros(500));
        assert!(time_limit(11) > Duration::from_micros(500));
        assert_eq!(time_limit(100), Duration::MAX);
    }
}
