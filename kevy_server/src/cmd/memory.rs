//! MEMORY and its subcommands (USAGE, STATS, DOCTOR, MALLOC-STATS, PURGE,
//! HELP), and the INFO `memory` section, which reads the same breakdown.
//!
//! `used_memory` is the counting allocator's total: everything the process
//! holds (keys, values, connection buffers, logs), as Redis's
//! `zmalloc_used_memory`. The overhead figures are estimates from the
//! structures' sizes; the dataset is what remains.

use super::{eq, help_reply, sub_arity, unknown_subcommand, Env, ServerCommand};
use bytes::Bytes;
use kevy_resp::Reply;
use kevy_store::spec::{acl, CommandMeta, Keys};
use kevy_store::{Entry, Key};
use std::fmt::Write;
use std::sync::atomic::Ordering::Relaxed;

pub(crate) static COMMANDS: &[ServerCommand] = &[ServerCommand {
    meta: CommandMeta {
        name: "memory",
        arity: -2,
        flags: 0,
        acl: acl::SLOW,
        keys: Keys::None,
        group: "server",
        summary: "A container for memory diagnostics commands.",
        since: "4.0.0",
        complexity: "Depends on subcommand.",
    },
    run: memory,
}];

const HELP: &[&str] = &[
    "DOCTOR",
    "    Return memory problems reports.",
    "MALLOC-STATS",
    "    Return internal statistics report from the memory allocator.",
    "PURGE",
    "    Attempt to purge dirty pages for reclamation by the allocator.",
    "STATS",
    "    Return information about the memory usage of the server.",
    "USAGE <key> [SAMPLES <count>]",
    "    Return memory in bytes used by <key> and its value. Nested values are",
    "    sampled up to <count> times (default: 5, 0 means sample all).",
];

/// Bytes a key costs in its database map beyond its value: the map slot
/// (key and entry, inline) plus the B-tree's per-slot share of its nodes.
const SLOT: usize = std::mem::size_of::<Key>() + std::mem::size_of::<Entry>() + 8;
/// Bytes a key with an expiry costs in the expiry index.
const EXPIRE_SLOT: usize = std::mem::size_of::<Key>() + 8;

/// MEMORY HELP ends with "Prints this help." where the other containers
/// say "Print".
fn help() -> Reply {
    match help_reply("memory", HELP) {
        Reply::Array(mut v) => {
            v.pop();
            v.push(Reply::simple("    Prints this help."));
            Reply::Array(v)
        }
        other => other,
    }
}

fn memory(env: &mut Env<'_>, argv: &[Bytes]) -> Reply {
    let sub = &argv[1];
    let n = argv.len();
    if eq(sub, "usage") {
        if n < 3 {
            return sub_arity("memory", sub);
        }
        return usage(env, argv);
    }
    let fixed = |want: usize| {
        if n == want {
            Ok(())
        } else {
            Err(sub_arity("memory", sub))
        }
    };
    let known = ["help", "stats", "doctor", "malloc-stats", "purge"];
    if let Some(name) = known.iter().find(|k| eq(sub, k)) {
        if let Err(e) = fixed(2) {
            return e;
        }
        return match *name {
            "help" => help(),
            "stats" => stats(env),
            "doctor" => Reply::Verbatim("txt", Bytes::from(doctor(env))),
            "malloc-stats" => Reply::Verbatim(
                "txt",
                Bytes::from_static(b"Stats not supported for the current allocator"),
            ),
            _ => Reply::ok(),
        };
    }
    unknown_subcommand("memory", sub)
}

/// `MEMORY USAGE key [SAMPLES count]`: the key's bytes (key, map slot,
/// expiry slot and value), or nil. kevy sizes collections exactly, so
/// SAMPLES is checked but does not change the answer.
fn usage(env: &mut Env<'_>, argv: &[Bytes]) -> Reply {
    let mut i = 3;
    while i < argv.len() {
        if eq(&argv[i], "samples") && i + 1 < argv.len() {
            match kevy_store::parse_i64(&argv[i + 1]) {
                Some(v) if v >= 0 => {}
                Some(_) => return Reply::error("ERR syntax error"),
                None => return Reply::error("ERR value is not an integer or out of range"),
            }
            i += 2;
        } else {
            return Reply::error("ERR syntax error");
        }
    }
    let key = &argv[2];
    let sh = env.shared;
    let id = sh.store.shard_of(key);
    let db = env.sess.db;
    let size = env
        .with_shard(id, |s| {
            // A raw lookup, as Redis's: a key past its expiry but not yet
            // reclaimed is still measured.
            let e = s.dbs.get(db)?.get(key)?;
            let key_heap = kevy_store::KStr::from_slice(key).heap_size();
            let expiry = if e.expire_at().is_some() {
                EXPIRE_SLOT
            } else {
                0
            };
            Some(SLOT + key_heap + expiry + e.value.heap_size())
        })
        .flatten();
    match size {
        Some(n) => Reply::Int(n as i64),
        None => Reply::Nil,
    }
}

/// The memory breakdown MEMORY STATS and INFO memory report.
struct Breakdown {
    used: u64,
    peak: u64,
    startup: u64,
    rss: u64,
    clients_normal: u64,
    /// Per database with keys: (db, main map overhead, expiry index overhead).
    dbs: Vec<(usize, u64, u64)>,
    keys: u64,
    overhead: u64,
}

impl Breakdown {
    fn measure(env: &mut Env<'_>) -> Breakdown {
        let sh = env.shared;
        let used = crate::alloc::used_memory() as u64;
        let peak = crate::cron::peak_memory().max(used);
        let startup = crate::memory::startup_memory();
        let clients_normal: u64 = sh
            .clients
            .lock()
            .values()
            .map(|c| (c.qbuf.load(Relaxed) + c.obuf.load(Relaxed)) as u64)
            .sum();
        let mut per_db = vec![(0u64, 0u64); sh.store.ndbs()];
        for id in 0..sh.store.nshards() {
            env.with_shard(id, |s| {
                for (i, d) in s.dbs.iter().enumerate() {
                    per_db[i].0 += d.len() as u64;
                    per_db[i].1 += d.volatile_len() as u64;
                }
            });
        }
        let keys = per_db.iter().map(|(k, _)| k).sum();
        let dbs: Vec<(usize, u64, u64)> = per_db
            .iter()
            .enumerate()
            .filter(|(_, (k, _))| *k > 0)
            .map(|(i, (k, v))| (i, k * SLOT as u64, v * EXPIRE_SLOT as u64))
            .collect();
        let overhead = startup + clients_normal + dbs.iter().map(|(_, m, e)| m + e).sum::<u64>();
        Breakdown {
            used,
            peak,
            startup,
            rss: super::info::rss_bytes(),
            clients_normal,
            dbs,
            keys,
            overhead,
        }
    }

    fn dataset(&self) -> u64 {
        self.used.saturating_sub(self.overhead)
    }

    fn dataset_perc(&self) -> f64 {
        let net = self.used.saturating_sub(self.startup);
        if net == 0 {
            0.0
        } else {
            self.dataset() as f64 * 100.0 / net as f64
        }
    }

    fn peak_perc(&self) -> f64 {
        if self.peak == 0 {
            0.0
        } else {
            self.used as f64 * 100.0 / self.peak as f64
        }
    }

    fn frag(&self) -> f64 {
        if self.used == 0 {
            0.0
        } else {
            self.rss as f64 / self.used as f64
        }
    }
}

fn stats(env: &mut Env<'_>) -> Reply {
    let b = Breakdown::measure(env);
    let k = |s: &str| Reply::Bulk(Bytes::from(s.to_string()));
    let int = |v: u64| Reply::Int(v as i64);
    let mut m = vec![
        (k("peak.allocated"), int(b.peak)),
        (k("total.allocated"), int(b.used)),
        (k("startup.allocated"), int(b.startup)),
        (k("replication.backlog"), int(0)),
        (k("clients.slaves"), int(0)),
        (k("clients.normal"), int(b.clients_normal)),
        (k("cluster.links"), int(0)),
        (k("aof.buffer"), int(0)),
        (k("lua.caches"), int(0)),
        (k("functions.caches"), int(0)),
    ];
    for (db, main, exp) in &b.dbs {
        m.push((
            k(&format!("db.{db}")),
            Reply::Map(vec![
                (k("overhead.hashtable.main"), int(*main)),
                (k("overhead.hashtable.expires"), int(*exp)),
                (k("overhead.hashtable.slot-to-keys"), int(0)),
            ]),
        ));
    }
    let bytes_per_key = b
        .used
        .saturating_sub(b.startup)
        .checked_div(b.keys)
        .unwrap_or(0);
    let rss_minus = b.rss as i64 - b.used as i64;
    m.extend([
        (k("overhead.total"), int(b.overhead)),
        (k("keys.count"), int(b.keys)),
        (k("keys.bytes-per-key"), int(bytes_per_key)),
        (k("dataset.bytes"), int(b.dataset())),
        (k("dataset.percentage"), Reply::Double(b.dataset_perc())),
        (k("peak.percentage"), Reply::Double(b.peak_perc())),
        (k("allocator.allocated"), int(b.used)),
        (k("allocator.active"), int(b.used)),
        (k("allocator.resident"), int(b.rss)),
        (k("allocator-fragmentation.ratio"), Reply::Double(1.0)),
        (k("allocator-fragmentation.bytes"), int(0)),
        (k("allocator-rss.ratio"), Reply::Double(b.frag())),
        (k("allocator-rss.bytes"), Reply::Int(rss_minus)),
        (k("rss-overhead.ratio"), Reply::Double(1.0)),
        (k("rss-overhead.bytes"), int(0)),
        (k("fragmentation"), Reply::Double(b.frag())),
        (k("fragmentation.bytes"), Reply::Int(rss_minus)),
    ]);
    Reply::Map(m)
}

/// Redis's `getMemoryDoctorReport`, on the figures kevy has.
fn doctor(env: &mut Env<'_>) -> String {
    let b = Breakdown::measure(env);
    if b.used < 5 * 1024 * 1024 {
        return "Hi Sam, this instance is empty or is using very little memory, my issues detector can't be used in these conditions. Please, leave for your mission on Earth and fill it with some data. The new Sam and I will be back to our programming as soon as I finished rebooting.\n".into();
    }
    let big_peak = b.peak as f64 / b.used as f64 > 1.5;
    let high_frag = b.frag() > 1.4;
    if !big_peak && !high_frag {
        return "Hi Sam, I can't find any memory issue in your instance. I can only account for what occurs on this base.\n".into();
    }
    let mut s =
        String::from("Sam, I detected a few issues in this Redis instance memory implants:\n\n");
    if big_peak {
        s.push_str(" * Peak memory: In the past this instance used more than 150% the memory that is currently using. The allocator is normally not able to release memory after a peak, so you can expect to see a big fragmentation ratio, however this is actually harmless and is only due to the memory peak, and if the Redis instance Resident Set Size (RSS) is currently bigger than expected, the memory will be used as soon as you fill the Redis instance with more data. If the memory peak was only occasional and you want to try to reclaim memory, please try the MEMORY PURGE command, otherwise the only other option is to shutdown and restart the instance.\n\n");
    }
    if high_frag {
        s.push_str(" * High total RSS: This instance has a memory fragmentation and RSS overhead greater than 1.4 (this means that the Resident Set Size of the Redis process is much larger than the sum of the logical allocations Redis performed). This problem is usually due either to a large peak memory (check if there is a peak memory entry above in the report) or may result from a workload that causes the allocator to fragment memory a lot. If the problem is a large peak memory, then there is no issue. Otherwise, make sure you are using the Jemalloc allocator and not the default libc malloc. Note: The currently used allocator is \"libc\".\n\n");
    }
    s.push_str("I'm here to keep you safe, Sam. I want to help you.\n");
    s
}

macro_rules! line {
    ($out:expr, $($arg:tt)*) => {{
        let _ = write!($out, $($arg)*);
        $out.push_str("\r\n");
    }};
}

/// The INFO `memory` section, with Redis 7.0's field names and order.
pub(super) fn info_section(env: &mut Env<'_>, o: &mut String) {
    let cfg = env.shared.config.get();
    let b = Breakdown::measure(env);
    let human = super::info::human;
    let total_sys = super::info::total_system_memory();
    let rss_minus = b.rss as i64 - b.used as i64;
    line!(o, "# Memory");
    line!(o, "used_memory:{}", b.used);
    line!(o, "used_memory_human:{}", human(b.used));
    line!(o, "used_memory_rss:{}", b.rss);
    line!(o, "used_memory_rss_human:{}", human(b.rss));
    line!(o, "used_memory_peak:{}", b.peak);
    line!(o, "used_memory_peak_human:{}", human(b.peak));
    line!(o, "used_memory_peak_perc:{:.2}%", b.peak_perc());
    line!(o, "used_memory_overhead:{}", b.overhead);
    line!(o, "used_memory_startup:{}", b.startup);
    line!(o, "used_memory_dataset:{}", b.dataset());
    line!(o, "used_memory_dataset_perc:{:.2}%", b.dataset_perc());
    line!(o, "allocator_allocated:{}", b.used);
    line!(o, "allocator_active:{}", b.used);
    line!(o, "allocator_resident:{}", b.rss);
    line!(o, "total_system_memory:{}", total_sys);
    line!(o, "total_system_memory_human:{}", human(total_sys));
    let sm = env.shared.scripting.memory();
    let vm_total = sm.vm_eval + sm.vm_functions;
    let scripts = sm.scripts_bytes + sm.functions_bytes;
    line!(o, "used_memory_lua:{}", sm.vm_eval);
    line!(o, "used_memory_vm_eval:{}", sm.vm_eval);
    line!(o, "used_memory_lua_human:{}", human(sm.vm_eval as u64));
    line!(o, "used_memory_scripts_eval:{}", sm.scripts_bytes);
    line!(o, "number_of_cached_scripts:{}", sm.scripts);
    line!(o, "number_of_functions:{}", sm.functions);
    line!(o, "number_of_libraries:{}", sm.libraries);
    line!(o, "used_memory_vm_functions:{}", sm.vm_functions);
    line!(o, "used_memory_vm_total:{vm_total}");
    line!(o, "used_memory_vm_total_human:{}", human(vm_total as u64));
    line!(o, "used_memory_functions:{}", sm.functions_bytes);
    line!(o, "used_memory_scripts:{scripts}");
    line!(o, "used_memory_scripts_human:{}", human(scripts as u64));
    line!(o, "maxmemory:{}", cfg.maxmemory);
    line!(o, "maxmemory_human:{}", human(cfg.maxmemory));
    line!(o, "maxmemory_policy:{}", cfg.maxmemory_policy.as_str());
    line!(o, "allocator_frag_ratio:1.00");
    line!(o, "allocator_frag_bytes:0");
    line!(o, "allocator_rss_ratio:{:.2}", b.frag());
    line!(o, "allocator_rss_bytes:{}", rss_minus);
    line!(o, "rss_overhead_ratio:1.00");
    line!(o, "rss_overhead_bytes:0");
    line!(o, "mem_fragmentation_ratio:{:.2}", b.frag());
    line!(o, "mem_fragmentation_bytes:{}", rss_minus);
    line!(o, "mem_not_counted_for_evict:{}", crate::memory::pinned());
    line!(o, "mem_replication_backlog:0");
    line!(o, "mem_total_replication_buffers:0");
    line!(o, "mem_clients_slaves:0");
    line!(o, "mem_clients_normal:{}", b.clients_normal);
    line!(o, "mem_cluster_links:0");
    line!(o, "mem_aof_buffer:0");
    line!(o, "mem_allocator:libc");
    line!(o, "active_defrag_running:0");
    line!(o, "lazyfree_pending_objects:0");
    line!(o, "lazyfreed_objects:0");
}
