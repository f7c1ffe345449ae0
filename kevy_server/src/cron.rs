//! The background timer thread (Redis's `serverCron`): runs `hz` times a
//! second to reclaim expired keys actively, sample the ops/sec rate, and
//! track peak memory.

use crate::shared::{now_ms, Shared};
use kevy_store::{active_expire_cycle, Events};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

static OPS_PER_SEC: AtomicU64 = AtomicU64::new(0);
static PEAK_MEMORY: AtomicU64 = AtomicU64::new(0);

/// The instantaneous command rate (averaged over the last ~1.6 s).
pub fn ops_per_sec() -> u64 {
    OPS_PER_SEC.load(Ordering::Relaxed)
}

/// Highest `used_memory` sampled.
pub fn peak_memory() -> u64 {
    PEAK_MEMORY.load(Ordering::Relaxed)
}

/// Runs until shutdown.
pub fn run(shared: Arc<Shared>) {
    let mut samples: [u64; 16] = [0; 16];
    let mut idx = 0;
    let mut last_ops = shared
        .stats
        .total_commands_processed
        .load(Ordering::Relaxed);
    let mut last_t = Instant::now();
    let mut events = Events::default();
    while !shared.shutdown.load(Ordering::SeqCst) {
        let hz = shared.config.get().hz.clamp(1, 500) as u64;
        let period = Duration::from_millis(1000 / hz);
        std::thread::sleep(period);
        // Active expiry: at most a quarter of the period, so clients keep
        // most of the shard time even when many keys expire at once.
        let mask = shared.config.get().notify_keyspace_events.0 as u32;
        let track = shared.tracking.active();
        let cycle_start = Instant::now();
        let st = active_expire_cycle(
            &shared.store,
            now_ms(),
            period / 4,
            mask,
            track,
            &mut events,
        );
        if !events.modified_keys.is_empty() {
            // Keys the cycle deleted invalidate client-side caches, as Redis's
            // active expiry does; the server is the writer (no NOLOOP match).
            shared
                .tracking
                .invalidate_keys(&shared, &events.modified_keys, 0);
            events.modified_keys.clear();
        }
        shared
            .stats
            .expired_keys
            .fetch_add(st.expired, Ordering::Relaxed);
        shared.latency_monitor.record(
            "expire-cycle",
            cycle_start.elapsed().as_millis() as u64,
            shared.config.get().latency_monitor_threshold,
            now_ms() / 1000,
        );
        crate::pubsub::publish_notifications(&shared, mask, &mut events.notifications);
        events.ready_keys.clear();
        events.dirty = 0;
        let ops = shared
            .stats
            .total_commands_processed
            .load(Ordering::Relaxed);
        let dt = last_t.elapsed().as_secs_f64();
        if dt >= 0.1 {
            samples[idx % 16] = ((ops.saturating_sub(last_ops)) as f64 / dt) as u64;
            idx += 1;
            let n = idx.min(16);
            OPS_PER_SEC.store(
                samples[..n].iter().sum::<u64>() / n as u64,
                Ordering::Relaxed,
            );
            last_ops = ops;
            last_t = Instant::now();
        }
        shared
            .persist
            .cron_tick(&shared.store, &shared.config.get());
        crate::memory::cron(&shared);
        PEAK_MEMORY.fetch_max(crate::alloc::used_memory() as u64, Ordering::Relaxed);
    }
}
