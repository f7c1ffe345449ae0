//! [`Config`]: one typed field per knob. The field list is only storage; what
//! each knob means, its Redis name, default, bounds and runtime mutability
//! live in the knob table (`defs`), and `Config::default()` is built by
//! applying every knob's default from that table.

use crate::defs;
use crate::types::{
    AppendFsync, ClientOutputBufferLimits, KeyspaceEvents, LogLevel, MaxmemoryPolicy,
};

/// Declares `Config` and a private all-zero constructor from one field list,
/// so the defaults have exactly one home: the knob table.
macro_rules! config_struct {
    ($( $(#[$m:meta])* $field:ident : $ty:ty, )*) => {
        /// The whole configuration, one typed field per knob. Field docs name
        /// the Redis knob; `kevy-server --help` describes each one.
        #[derive(Clone, Debug, PartialEq)]
        pub struct Config {
            $( $(#[$m])* pub $field: $ty, )*
        }

        impl Config {
            fn zeroed() -> Self {
                Config { $( $field: Default::default(), )* }
            }
        }
    };
}

config_struct! {
    // Network.
    /// `bind`: addresses to listen on (a leading `-` marks one as optional).
    bind: Vec<String>,
    /// `port`: TCP port (0: none).
    port: u16,
    /// `protected-mode`: refuse remote clients without a password.
    protected_mode: bool,
    /// `tcp-backlog`: listen(2) backlog.
    tcp_backlog: u32,
    /// `tcp-keepalive`: SO_KEEPALIVE interval in seconds (0: off).
    tcp_keepalive: u32,
    /// `timeout`: close idle clients after this many seconds (0: never).
    timeout: u32,
    /// `maxclients`: maximum simultaneous clients.
    maxclients: u32,
    /// `requirepass`: password for the default user (empty: none).
    requirepass: String,
    /// `aclfile`: ACL users file (empty: none).
    aclfile: String,
    /// `threads`: event-loop threads (0: number of cores).
    threads: usize,
    /// `shards`: keyspace shards (0: same as `threads`).
    shards: usize,
    /// `io-threads` (compatibility only).
    io_threads: u32,
    /// `io-threads-do-reads` (compatibility only).
    io_threads_do_reads: bool,

    // General.
    /// `daemonize` (only `no` is accepted).
    daemonize: bool,
    /// `pidfile`: where to write the process id (empty: nowhere).
    pidfile: String,
    /// `loglevel`.
    loglevel: LogLevel,
    /// `logfile` (empty: standard output).
    logfile: String,
    /// `databases`: number of logical databases.
    databases: usize,
    /// `hz`: background task frequency, clamped to 1..=500.
    hz: u32,
    /// `dynamic-hz` (compatibility only).
    dynamic_hz: bool,

    // Persistence.
    /// `dir`: working directory for snapshots and AOF files.
    dir: String,
    /// `dbfilename`: snapshot file name inside `dir`.
    dbfilename: String,
    /// `save`: snapshot after `seconds` if at least `changes` writes.
    save: Vec<(u64, u64)>,
    /// `stop-writes-on-bgsave-error`.
    stop_writes_on_bgsave_error: bool,
    /// `rdbcompression` (compatibility only).
    rdbcompression: bool,
    /// `rdbchecksum` (compatibility only).
    rdbchecksum: bool,
    /// `appendonly`: log every write to the AOF.
    appendonly: bool,
    /// `appendfilename`: AOF base name inside `dir`.
    appendfilename: String,
    /// `appendfsync`.
    appendfsync: AppendFsync,
    /// `no-appendfsync-on-rewrite` (compatibility only).
    no_appendfsync_on_rewrite: bool,
    /// `auto-aof-rewrite-percentage` (0: no automatic rewrite).
    auto_aof_rewrite_percentage: u32,
    /// `auto-aof-rewrite-min-size` in bytes.
    auto_aof_rewrite_min_size: u64,
    /// `aof-load-truncated`: load an AOF whose last frame is torn.
    aof_load_truncated: bool,
    /// `aof-use-rdb-preamble` (compatibility only).
    aof_use_rdb_preamble: bool,
    /// `aof-rewrite-incremental-fsync` (compatibility only).
    aof_rewrite_incremental_fsync: bool,
    /// `rdb-save-incremental-fsync` (compatibility only).
    rdb_save_incremental_fsync: bool,

    // Memory.
    /// `maxmemory` in bytes (0: no limit).
    maxmemory: u64,
    /// `maxmemory-policy`.
    maxmemory_policy: MaxmemoryPolicy,
    /// `maxmemory-samples`.
    maxmemory_samples: u32,
    /// `maxmemory-eviction-tenacity`: the eviction time budget per pass.
    maxmemory_eviction_tenacity: u32,
    /// `lfu-log-factor`.
    lfu_log_factor: u32,
    /// `lfu-decay-time` in minutes.
    lfu_decay_time: u32,
    /// `active-expire-effort` (1..=10).
    active_expire_effort: u32,
    /// `activerehashing` (compatibility only).
    activerehashing: bool,
    /// `activedefrag` (compatibility only).
    activedefrag: bool,
    /// `lazyfree-lazy-eviction` (compatibility only).
    lazyfree_lazy_eviction: bool,
    /// `lazyfree-lazy-expire` (compatibility only).
    lazyfree_lazy_expire: bool,
    /// `lazyfree-lazy-server-del` (compatibility only).
    lazyfree_lazy_server_del: bool,
    /// `lazyfree-lazy-user-del` (compatibility only).
    lazyfree_lazy_user_del: bool,
    /// `lazyfree-lazy-user-flush` (compatibility only).
    lazyfree_lazy_user_flush: bool,

    // Encodings (all compatibility only).
    /// `list-max-listpack-size`.
    list_max_listpack_size: i32,
    /// `list-compress-depth`.
    list_compress_depth: u32,
    /// `hash-max-listpack-entries`.
    hash_max_listpack_entries: u64,
    /// `hash-max-listpack-value`.
    hash_max_listpack_value: u64,
    /// `set-max-intset-entries`.
    set_max_intset_entries: u64,
    /// `zset-max-listpack-entries`.
    zset_max_listpack_entries: u64,
    /// `zset-max-listpack-value`.
    zset_max_listpack_value: u64,
    /// `stream-node-max-bytes` (used: where stream nodes split).
    stream_node_max_bytes: u64,
    /// `stream-node-max-entries` (used: where stream nodes split).
    stream_node_max_entries: u64,
    /// `hll-sparse-max-bytes`.
    hll_sparse_max_bytes: u64,

    // Limits.
    /// `proto-max-bulk-len` in bytes.
    proto_max_bulk_len: u64,
    /// `client-query-buffer-limit` in bytes.
    client_query_buffer_limit: u64,
    /// `client-output-buffer-limit`.
    client_output_buffer_limit: ClientOutputBufferLimits,
    /// `busy-reply-threshold` (alias `lua-time-limit`) in milliseconds.
    busy_reply_threshold: u64,

    // Observability.
    /// `slowlog-log-slower-than` in microseconds (-1: off, 0: everything).
    slowlog_log_slower_than: i64,
    /// `slowlog-max-len`.
    slowlog_max_len: u64,
    /// `latency-tracking`: per-command latency histograms.
    latency_tracking: bool,
    /// `latency-tracking-info-percentiles`.
    latency_tracking_info_percentiles: Vec<f64>,
    /// `latency-monitor-threshold` in milliseconds (0: off).
    latency_monitor_threshold: u64,
    /// `notify-keyspace-events`.
    notify_keyspace_events: KeyspaceEvents,

    // Replication and cluster (compatibility only).
    /// `cluster-enabled` (only `no` is accepted).
    cluster_enabled: bool,
    /// `replica-read-only`.
    replica_read_only: bool,
    /// `replica-serve-stale-data`.
    replica_serve_stale_data: bool,
    /// `replica-priority`.
    replica_priority: u32,
    /// `repl-backlog-size` in bytes.
    repl_backlog_size: u64,
    /// `repl-timeout` in seconds.
    repl_timeout: u32,
    /// `masterauth`.
    masterauth: String,
}

impl Default for Config {
    /// Every knob at its built-in default, as the knob table defines it.
    fn default() -> Self {
        let mut c = Config::zeroed();
        for k in defs::all() {
            // The defaults are constants checked by a unit test, not input.
            if let Err(e) = k.apply(&mut c, k.default) {
                panic!("built-in default of '{}' is invalid: {e}", k.name);
            }
        }
        c
    }
}

impl Config {
    /// The value of knob `name` (or an alias) as `CONFIG GET` prints it, or
    /// `None` if there is no such knob.
    ///
    /// ```
    /// let c = kevy_config::Config::default();
    /// assert_eq!(c.get("save").as_deref(), Some("3600 1 300 100 60 10000"));
    /// ```
    pub fn get(&self, name: &str) -> Option<String> {
        defs::find(name).map(|(k, _)| k.format(self))
    }

    /// Sets knob `name` from its textual form, with the same validation as
    /// every other source; runtime mutability is not checked. The error is
    /// Redis's reason text.
    pub fn set(&mut self, name: &str, value: &str) -> Result<(), String> {
        let (k, _) = defs::find(name).ok_or_else(|| format!("unknown option '{name}'"))?;
        k.apply(self, value)
    }

    /// Knobs kevy accepts only for compatibility (see their docs) that are
    /// set away from their defaults here: worth a start-up warning, since
    /// they have no effect.
    pub fn compat_overrides(&self) -> Vec<&'static str> {
        let defaults = Config::default();
        defs::all()
            .filter(|k| k.compat && k.format(self) != k.format(&defaults))
            .map(|k| k.name)
            .collect()
    }

    /// Number of event-loop threads to run: `threads`, or when it is 0 one
    /// per core but one (at least one). The spare core is for what the
    /// loops rely on: the kernel's network stack, the fsync and snapshot
    /// threads, and on small machines the clients. Redis gives the same
    /// advice for its I/O threads. Measured on 2 cores with the load
    /// generator on the same machine (docs/benchmarks.md): 2 loops slept
    /// and woke 35 times per 1000 pipelined commands and spent 20-40% more
    /// CPU per command than 1 loop, which never slept.
    pub fn effective_threads(&self, cores: usize) -> usize {
        if self.threads == 0 {
            cores.saturating_sub(1).max(1)
        } else {
            self.threads
        }
    }

    /// Number of shards: `shards`, or the effective thread count when it is 0.
    pub fn effective_shards(&self, cores: usize) -> usize {
        if self.shards == 0 {
            self.effective_threads(cores)
        } else {
            self.shards
        }
    }
}
