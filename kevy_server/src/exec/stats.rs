//! The executor's bookkeeping around commands: per-command stats gathered
//! per thread and added to the shared counters once per batch, the latency
//! histograms, the slow log and the latency monitor, and the knobs re-read
//! once per batch.

use super::Executor;
use crate::acl::is_container;
use crate::conn::Session;
use crate::shared::now_ms;
use bytes::Bytes;
use std::sync::atomic::Ordering::Relaxed;

impl Executor<'_> {
    /// Feeds the latency histograms and the slow log.
    pub(super) fn observe(&mut self, sess: &Session, idx: usize, argv: &[Bytes], ns: u64) {
        let shared = self.shared;
        let Some(cmd) = shared.commands.get(idx) else {
            return;
        };
        let container = is_container(cmd.meta.name) && argv.len() > 1;
        if self.latency_tracking {
            let h = if container {
                Some(shared.latencies.get(&full_name(cmd.meta.name, &argv[1])))
            } else {
                shared
                    .latency_by_index
                    .get(idx, cmd.meta.name, &shared.latencies)
            };
            if let Some(h) = h {
                h.record(ns);
            }
        }
        let ms = ns / 1_000_000;
        if self.latency_threshold > 0 && ms >= self.latency_threshold {
            let fast = cmd.meta.flags & kevy_store::spec::flags::FAST != 0;
            let event = if fast { "fast-command" } else { "command" };
            shared
                .latency_monitor
                .record(event, ms, self.latency_threshold, now_ms() / 1000);
        }
        let micros = ns / 1000;
        if self.slowlog_threshold >= 0
            && micros >= self.slowlog_threshold as u64
            && cmd.meta.flags & kevy_store::spec::flags::SKIP_SLOWLOG == 0
        {
            let name = sess.handle.name.lock().clone();
            shared.slowlog.push(
                argv,
                micros,
                &sess.handle.addr,
                &name,
                self.slowlog_max_len,
                now_ms() / 1000,
            );
        }
    }

    /// The slow log for a command a script called: Redis logs it too, with
    /// `?:0` for the client (the script's).
    pub(super) fn observe_script_call(&mut self, flags: u32, argv: &[Bytes], micros: u64) {
        if self.slowlog_threshold >= 0
            && micros >= self.slowlog_threshold as u64
            && flags & kevy_store::spec::flags::SKIP_SLOWLOG == 0
        {
            self.shared.slowlog.push(
                argv,
                micros,
                "?:0",
                "",
                self.slowlog_max_len,
                now_ms() / 1000,
            );
        }
    }

    /// Adds the counts gathered since the last flush to the shared ones.
    pub(super) fn flush_stats(&mut self) {
        let shared = self.shared;
        if self.pending_total > 0 {
            shared
                .stats
                .total_commands_processed
                .fetch_add(std::mem::take(&mut self.pending_total), Relaxed);
        }
        for (idx, calls, usec, failed) in self.pending_stats.drain(..) {
            if let Some(cmd) = shared.commands.get(idx) {
                cmd.stats.calls.fetch_add(calls, Relaxed);
                cmd.stats.usec.fetch_add(usec, Relaxed);
                if failed > 0 {
                    cmd.stats.failed.fetch_add(failed, Relaxed);
                }
            }
        }
    }

    /// Re-reads the knobs commands consult, once per batch.
    pub(super) fn refresh_config(&mut self) {
        use kevy_config::MaxmemoryPolicy as P;
        let cfg = self.shared.config.get();
        self.notify_mask = cfg.notify_keyspace_events.0 as u32;
        self.maxmemory = cfg.maxmemory;
        self.latency_tracking = cfg.latency_tracking;
        self.slowlog_threshold = cfg.slowlog_log_slower_than;
        self.slowlog_max_len = cfg.slowlog_max_len as usize;
        self.latency_threshold = cfg.latency_monitor_threshold;
        self.stream_node = kevy_store::types::stream::NodeLimits {
            max_bytes: cfg.stream_node_max_bytes,
            max_entries: cfg.stream_node_max_entries,
        };
        self.lfu = matches!(cfg.maxmemory_policy, P::AllkeysLfu | P::VolatileLfu).then(|| {
            kevy_store::LfuParams {
                log_factor: cfg.lfu_log_factor,
                decay_time: cfg.lfu_decay_time,
            }
        });
    }
}

/// `container|sub`, as Redis names subcommands.
fn full_name(container: &str, sub: &[u8]) -> String {
    format!(
        "{}|{}",
        container,
        String::from_utf8_lossy(sub).to_lowercase()
    )
}
