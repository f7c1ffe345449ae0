//! INFO: Redis's sections and field names, filled from the server's real
//! counters. `redis_version` names the Redis release whose behaviour kevy
//! matches (clients choose features by it); `kevy_version` is kevy's own.

use super::{Env, ServerCommand};
use crate::shared::now_us;
use bytes::Bytes;
use kevy_resp::Reply;
use kevy_store::spec::{acl, flags::*, CommandMeta, Keys};
use std::fmt::Write;
use std::sync::atomic::Ordering::Relaxed;

pub(crate) static COMMANDS: &[ServerCommand] = &[ServerCommand {
    meta: CommandMeta {
        name: "info",
        arity: -1,
        flags: LOADING | STALE,
        acl: acl::DANGEROUS,
        keys: Keys::None,
        group: "server",
        summary: "Returns information and statistics about the server.",
        since: "1.0.0",
        complexity: "O(1)",
    },
    run: info,
}];

const DEFAULT: &[&str] = &[
    "server",
    "clients",
    "memory",
    "persistence",
    "stats",
    "replication",
    "cpu",
    "modules",
    "errorstats",
    "cluster",
    "keyspace",
];
const ALL_EXTRA: &[&str] = &["commandstats", "latencystats"];

fn info(env: &mut Env<'_>, argv: &[Bytes]) -> Reply {
    let mut wanted: Vec<String> = Vec::new();
    for a in &argv[1..] {
        let s = String::from_utf8_lossy(a).to_lowercase();
        match s.as_str() {
            "default" => wanted.extend(DEFAULT.iter().map(|s| s.to_string())),
            "all" | "everything" => {
                wanted.extend(DEFAULT.iter().map(|s| s.to_string()));
                wanted.extend(ALL_EXTRA.iter().map(|s| s.to_string()));
            }
            _ => wanted.push(s),
        }
    }
    if argv.len() == 1 {
        wanted.extend(DEFAULT.iter().map(|s| s.to_string()));
    }
    let order = [
        "server",
        "clients",
        "memory",
        "persistence",
        "stats",
        "replication",
        "cpu",
        "modules",
        "errorstats",
        "cluster",
        "keyspace",
        "commandstats",
        "latencystats",
    ];
    let mut out = String::new();
    for sec in order {
        if !wanted.iter().any(|w| w == sec) {
            continue;
        }
        if !out.is_empty() {
            out.push_str("\r\n");
        }
        section(env, sec, &mut out);
    }
    Reply::Verbatim("txt", Bytes::from(out))
}

macro_rules! line {
    ($out:expr, $($arg:tt)*) => {{
        let _ = write!($out, $($arg)*);
        $out.push_str("\r\n");
    }};
}

fn section(env: &mut Env<'_>, name: &str, o: &mut String) {
    let sh = env.shared;
    let cfg = sh.config.get();
    match name {
        "server" => {
            line!(o, "# Server");
            line!(o, "redis_version:{}", crate::REDIS_VERSION);
            line!(o, "kevy_version:{}", env!("CARGO_PKG_VERSION"));
            line!(o, "redis_git_sha1:00000000");
            line!(o, "redis_git_dirty:0");
            line!(o, "redis_build_id:0");
            line!(o, "redis_mode:standalone");
            line!(o, "os:{} {}", std::env::consts::OS, std::env::consts::ARCH);
            line!(o, "arch_bits:64");
            line!(o, "monotonic_clock:POSIX clock_gettime");
            line!(o, "multiplexing_api:epoll");
            line!(o, "atomicvar_api:c11-builtin");
            line!(o, "gcc_version:0.0.0");
            line!(o, "process_id:{}", std::process::id());
            line!(o, "process_supervised:no");
            line!(o, "run_id:{}", sh.run_id);
            line!(o, "tcp_port:{}", sh.port);
            line!(o, "server_time_usec:{}", now_us());
            let up = sh.started.elapsed().as_secs();
            line!(o, "uptime_in_seconds:{}", up);
            line!(o, "uptime_in_days:{}", up / 86400);
            line!(o, "hz:{}", cfg.hz);
            line!(o, "configured_hz:{}", cfg.hz);
            line!(o, "lru_clock:{}", (now_us() / 1_000_000) & 0xff_ffff);
            line!(o, "executable:{}", sh.executable);
            line!(o, "config_file:{}", sh.config_file);
            line!(o, "io_threads_active:0");
            line!(o, "kevy_threads:{}", sh.workers.len());
            line!(o, "kevy_shards:{}", sh.store.nshards());
        }
        "clients" => {
            line!(o, "# Clients");
            line!(o, "connected_clients:{}", sh.clients.lock().len());
            line!(o, "cluster_connections:0");
            line!(o, "maxclients:{}", cfg.maxclients);
            line!(o, "client_recent_max_input_buffer:0");
            line!(o, "client_recent_max_output_buffer:0");
            line!(o, "blocked_clients:{}", sh.blocking.len());
            line!(o, "tracking_clients:0");
            line!(o, "clients_in_timeout_table:0");
        }
        "memory" => super::memory::info_section(env, o),
        "persistence" => sh.persist.info(o),
        "stats" => {
            let st = &sh.stats;
            line!(o, "# Stats");
            let counters: [(&str, u64); 5] = [
                (
                    "total_connections_received",
                    st.total_connections_received.load(Relaxed),
                ),
                (
                    "total_commands_processed",
                    st.total_commands_processed.load(Relaxed),
                ),
                ("instantaneous_ops_per_sec", crate::cron::ops_per_sec()),
                ("total_net_input_bytes", st.net_input_bytes.load(Relaxed)),
                ("total_net_output_bytes", st.net_output_bytes.load(Relaxed)),
            ];
            for (name, v) in counters {
                line!(o, "{name}:{v}");
            }
            let (total, current) = crate::memory::exceeded_time();
            let counters: [(&str, u64); 12] = [
                (
                    "rejected_connections",
                    st.rejected_connections.load(Relaxed),
                ),
                ("expired_keys", st.expired_keys.load(Relaxed)),
                ("evicted_keys", st.evicted_keys.load(Relaxed)),
                ("evicted_clients", 0),
                ("total_eviction_exceeded_time", total),
                ("current_eviction_exceeded_time", current),
                ("keyspace_hits", st.keyspace_hits.load(Relaxed)),
                ("keyspace_misses", st.keyspace_misses.load(Relaxed)),
                (
                    "pubsub_channels",
                    sh.pubsub.names(crate::pubsub::Kind::Channel, None).len() as u64,
                ),
                ("pubsub_patterns", sh.pubsub.numpat() as u64),
                // kevy never forks: snapshots are copy-on-write views.
                ("latest_fork_usec", 0),
                ("total_forks", 0),
            ];
            for (name, v) in counters {
                line!(o, "{name}:{v}");
            }
            line!(
                o,
                "total_error_replies:{}",
                st.total_error_replies.load(Relaxed)
            );
        }
        "replication" => {
            line!(o, "# Replication");
            line!(o, "role:master");
            line!(o, "connected_slaves:0");
            line!(o, "master_failover_state:no-failover");
            line!(o, "master_replid:{}", sh.run_id);
            line!(o, "master_replid2:0000000000000000000000000000000000000000");
            line!(o, "master_repl_offset:0");
            line!(o, "second_repl_offset:-1");
            line!(o, "repl_backlog_active:0");
            line!(o, "repl_backlog_size:{}", cfg.repl_backlog_size);
            line!(o, "repl_backlog_first_byte_offset:0");
            line!(o, "repl_backlog_histlen:0");
        }
        "cpu" => {
            let (user, sys) = cpu_times();
            line!(o, "# CPU");
            line!(o, "used_cpu_sys:{:.6}", sys);
            line!(o, "used_cpu_user:{:.6}", user);
            line!(o, "used_cpu_sys_children:0.000000");
            line!(o, "used_cpu_user_children:0.000000");
        }
        "modules" => line!(o, "# Modules"),
        "cluster" => {
            line!(o, "# Cluster");
            line!(o, "cluster_enabled:0");
        }
        "errorstats" => {
            line!(o, "# Errorstats");
            for (code, n) in sh.stats.errors.lock().iter() {
                line!(o, "errorstat_{}:count={}", code, n);
            }
        }
        "commandstats" => {
            line!(o, "# Commandstats");
            for c in sh.commands.iter() {
                let calls = c.stats.calls.load(Relaxed);
                let rejected = c.stats.rejected.load(Relaxed);
                if calls == 0 && rejected == 0 {
                    continue;
                }
                let usec = c.stats.usec.load(Relaxed);
                let per = if calls > 0 {
                    usec as f64 / calls as f64
                } else {
                    0.0
                };
                line!(
                    o,
                    "cmdstat_{}:calls={},usec={},usec_per_call={:.2},rejected_calls={},failed_calls={}",
                    c.meta.name,
                    calls,
                    usec,
                    per,
                    rejected,
                    c.stats.failed.load(Relaxed)
                );
            }
        }
        "latencystats" => {
            line!(o, "# Latencystats");
            let pcts = cfg.latency_tracking_info_percentiles.clone();
            for (name, h) in sh.latencies.all() {
                let mut parts = Vec::new();
                for p in &pcts {
                    if let Some(ns) = h.percentile(*p) {
                        parts.push(format!("p{}={:.3}", p, ns as f64 / 1000.0));
                    }
                }
                if !parts.is_empty() {
                    line!(o, "latency_percentiles_usec_{}:{}", name, parts.join(","));
                }
            }
        }
        "keyspace" => {
            line!(o, "# Keyspace");
            let ndbs = sh.store.ndbs();
            let mut keys = vec![0usize; ndbs];
            let mut vol = vec![0usize; ndbs];
            for i in 0..sh.store.nshards() {
                env.with_shard(i, |s| {
                    for (d, db) in s.dbs.iter().enumerate() {
                        keys[d] += db.len();
                        vol[d] += db.volatile_len();
                    }
                });
            }
            for d in 0..ndbs {
                if keys[d] > 0 {
                    line!(o, "db{}:keys={},expires={},avg_ttl=0", d, keys[d], vol[d]);
                }
            }
        }
        _ => {}
    }
}

/// Redis's `bytesToHuman`.
pub(super) fn human(n: u64) -> String {
    let n = n as f64;
    if n < 1024.0 {
        format!("{}B", n as u64)
    } else if n < 1024.0 * 1024.0 {
        format!("{:.2}K", n / 1024.0)
    } else if n < 1024.0 * 1024.0 * 1024.0 {
        format!("{:.2}M", n / (1024.0 * 1024.0))
    } else {
        format!("{:.2}G", n / (1024.0 * 1024.0 * 1024.0))
    }
}

/// Resident set size from `/proc/self/statm`.
pub fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| {
            s.split_whitespace()
                .nth(1)
                .and_then(|p| p.parse::<u64>().ok())
        })
        .map_or(0, |pages| pages * 4096)
}

pub(super) fn total_system_memory() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| {
                    l.split_whitespace()
                        .nth(1)
                        .and_then(|v| v.parse::<u64>().ok())
                })
        })
        .map_or(0, |kb| kb * 1024)
}

/// (user, system) CPU seconds of this process.
pub fn cpu_times() -> (f64, f64) {
    // SAFETY: getrusage only writes into the zeroed struct we pass.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: RUSAGE_SELF with a valid pointer to a rusage struct.
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) } != 0 {
        return (0.0, 0.0);
    }
    let t = |tv: libc::timeval| tv.tv_sec as f64 + tv.tv_usec as f64 / 1e6;
    (t(ru.ru_utime), t(ru.ru_stime))
}
