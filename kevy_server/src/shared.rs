//! `Shared`: the state every event-loop thread sees: the store, the live
//! config, the client registry, the command table and the server counters.
//! Everything here is either immutable after start, atomic, or behind a lock
//! that is off the per-command path (the client registry changes only on
//! connect/disconnect).

use crate::table::CommandTable;
use kevy_store::Store;
use mio::Waker;
use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::sync::atomic::{
    AtomicBool, AtomicI64, AtomicU32, AtomicU64, AtomicU8, AtomicUsize, Ordering,
};
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// Unix time in milliseconds.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Unix time in microseconds.
pub fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}

/// Server-wide counters reported by INFO stats.
#[derive(Default)]
pub struct Stats {
    /// Connections accepted.
    pub total_connections_received: AtomicU64,
    /// Commands executed.
    pub total_commands_processed: AtomicU64,
    /// Connections refused (maxclients).
    pub rejected_connections: AtomicU64,
    /// Bytes read from clients.
    pub net_input_bytes: AtomicU64,
    /// Bytes written to clients.
    pub net_output_bytes: AtomicU64,
    /// Keys deleted by expiry.
    pub expired_keys: AtomicU64,
    /// Keys deleted by eviction (`maxmemory`).
    pub evicted_keys: AtomicU64,
    /// Successful key lookups.
    pub keyspace_hits: AtomicU64,
    /// Failed key lookups.
    pub keyspace_misses: AtomicU64,
    /// Error replies sent.
    pub total_error_replies: AtomicU64,
    /// Errors by code (`ERR`, `WRONGTYPE`, ...), for INFO errorstats.
    pub errors: Mutex<BTreeMap<String, u64>>,
}

impl Stats {
    /// Records an error reply by its code prefix.
    pub fn count_error(&self, text: &[u8]) {
        self.total_error_replies.fetch_add(1, Ordering::Relaxed);
        let code = text.split(|&b| b == b' ').next().unwrap_or(b"ERR");
        let code = String::from_utf8_lossy(code).into_owned();
        *self.errors.lock().entry(code).or_default() += 1;
    }
}

/// What another thread can see and do to a client: CLIENT LIST reads it,
/// CLIENT KILL flags it. Per-command fields are relaxed atomics.
pub struct ClientHandle {
    /// Unique client id.
    pub id: u64,
    /// Peer address `ip:port`.
    pub addr: String,
    /// Local address `ip:port`.
    pub laddr: String,
    /// Socket file descriptor.
    pub fd: i32,
    /// Event-loop thread that owns the connection.
    pub worker: usize,
    /// When the connection was accepted.
    pub created: Instant,
    /// Last command time, ms since `created`.
    pub last_interaction: AtomicU64,
    /// Selected database.
    pub db: AtomicUsize,
    /// Index of the last command in the command table (usize::MAX: none).
    pub last_cmd: AtomicUsize,
    /// Protocol version (2 or 3).
    pub resp: AtomicU8,
    /// `container|sub` name of the last command when it was a container
    /// command (CLIENT LIST shows `cmd=client|list`).
    pub last_full_name: Mutex<String>,
    /// CLIENT SETNAME name.
    pub name: Mutex<String>,
    /// The ACL user it is authenticated as (empty: `default`).
    pub user: Mutex<String>,
    /// CLIENT SETINFO lib-name / lib-ver.
    pub lib: Mutex<(String, String)>,
    /// Set by CLIENT KILL; the owner closes the connection.
    pub killed: AtomicBool,
    /// CLIENT NO-EVICT on.
    pub no_evict: AtomicBool,
    /// In MONITOR mode (until RESET or disconnection).
    pub monitoring: AtomicBool,
    /// Channel, pattern and shard-channel subscriptions (for CLIENT LIST).
    pub subs: AtomicU32,
    /// Pattern subscriptions.
    pub psubs: AtomicU32,
    /// Shard-channel subscriptions.
    pub ssubs: AtomicU32,
    /// Commands queued in MULTI, -1 outside one.
    pub multi: AtomicI64,
    /// CLIENT LIST flag bits (see `cmd::client_info`).
    pub state_flags: AtomicU8,
    /// Kind flags for CLIENT LIST/KILL TYPE (normal, pubsub, master, replica).
    pub kind: AtomicU8,
    /// Bytes in the query buffer right now.
    pub qbuf: AtomicUsize,
    /// Bytes pending in the output buffer right now.
    pub obuf: AtomicUsize,
}

impl ClientHandle {
    /// The handle of a client just accepted by event loop `worker`.
    pub fn new(id: u64, addr: String, laddr: String, fd: i32, worker: usize) -> ClientHandle {
        ClientHandle {
            id,
            addr,
            laddr,
            fd,
            worker,
            created: Instant::now(),
            last_interaction: AtomicU64::new(0),
            db: AtomicUsize::new(0),
            last_cmd: AtomicUsize::new(usize::MAX),
            resp: AtomicU8::new(2),
            last_full_name: Mutex::new(String::new()),
            name: Mutex::new(String::new()),
            user: Mutex::new(String::new()),
            lib: Mutex::new((String::new(), String::new())),
            killed: AtomicBool::new(false),
            no_evict: AtomicBool::new(false),
            monitoring: AtomicBool::new(false),
            subs: AtomicU32::new(0),
            psubs: AtomicU32::new(0),
            ssubs: AtomicU32::new(0),
            multi: AtomicI64::new(-1),
            state_flags: AtomicU8::new(0),
            kind: AtomicU8::new(0),
            qbuf: AtomicUsize::new(0),
            obuf: AtomicUsize::new(0),
        }
    }

    /// Seconds since the last command.
    pub fn idle_secs(&self) -> u64 {
        let now = self.created.elapsed().as_millis() as u64;
        now.saturating_sub(self.last_interaction.load(Ordering::Relaxed)) / 1000
    }

    /// Records the client's latest command (its interaction time is the
    /// read that brought it, as in Redis).
    pub fn touch(&self, cmd: usize) {
        self.last_cmd.store(cmd, Ordering::Relaxed);
    }

    /// Records I/O with the client at this moment: as in Redis, a client
    /// sending a big request or reading a long reply is not idle
    /// (`timeout`, the `idle` of CLIENT LIST).
    pub fn touch_io(&self) {
        self.last_interaction
            .store(self.created.elapsed().as_millis() as u64, Ordering::Relaxed);
    }
}

/// A message to an event-loop thread.
pub enum Msg {
    /// A freshly accepted connection to adopt.
    NewConn(mio::net::TcpStream, std::net::SocketAddr),
    /// Close the client with this id (CLIENT KILL).
    Kill(u64),
    /// A parked client was answered (served, timed out or CLIENT UNBLOCK):
    /// append `reply` to its output and resume its input.
    Unblock {
        /// Client id.
        id: u64,
        /// Encoded reply.
        reply: Vec<u8>,
    },
    /// Out-of-band frames for a client (pub/sub messages, MONITOR lines).
    Push {
        /// Client id.
        id: u64,
        /// Encoded frames.
        bytes: Vec<u8>,
    },
    /// Pub/sub messages for several clients of one thread, each frame
    /// shared (encoded once per protocol by the publisher).
    PushMany(Vec<(u64, bytes::Bytes)>),
    /// Stop the loop (server shutdown).
    Shutdown,
}

/// An event-loop thread as others see it: a queue and a waker.
pub struct WorkerHandle {
    /// Pending messages.
    pub inbox: Mutex<Vec<Msg>>,
    /// Wakes the thread's poll.
    pub waker: Waker,
}

impl WorkerHandle {
    /// Queues `msg` and wakes the thread.
    pub fn send(&self, msg: Msg) {
        let mut q = self.inbox.lock();
        let was_empty = q.is_empty();
        q.push(msg);
        drop(q);
        // A non-empty inbox already has a wake-up pending (the thread takes
        // the whole queue after it wakes), so only the first message wakes.
        if was_empty {
            let _ = self.waker.wake();
        }
    }
}

/// State shared by every thread.
pub struct Shared {
    /// The keyspace.
    pub store: Store,
    /// AOF, snapshots and their background jobs.
    pub persist: std::sync::Arc<crate::persist::Persistence>,
    /// The live configuration.
    pub config: kevy_config::Live,
    /// The command table.
    pub commands: CommandTable,
    /// ACL users and the ACL log.
    pub acl: crate::acl::Acl,
    /// The script cache, function libraries and busy scripts.
    pub scripting: crate::script::Scripting,
    /// Channel, pattern and shard-channel subscribers.
    pub pubsub: crate::pubsub::PubSub,
    /// The slow log.
    pub slowlog: crate::slowlog::SlowLog,
    /// The latency monitor (`latency-monitor-threshold`).
    pub latency_monitor: crate::latency::Monitor,
    /// Latency histograms by command name (INFO latencystats).
    pub latencies: crate::slowlog::Latencies,
    /// Per-command-index shortcut into `latencies`.
    pub latency_by_index: crate::slowlog::ByIndex,
    /// CLIENT TRACKING registry.
    pub tracking: crate::tracking::Tracking,
    /// MONITOR clients.
    pub monitors: parking_lot::RwLock<Vec<crate::pubsub::Sub>>,
    /// Number of MONITOR clients (checked before formatting a line).
    pub monitor_count: AtomicUsize,
    /// CLIENT PAUSE: paused until this Unix ms (0: not paused).
    pub pause_until: AtomicU64,
    /// CLIENT PAUSE WRITE (true) or ALL (false).
    pub pause_writes_only: AtomicBool,
    /// Clients parked by blocking commands.
    pub blocking: crate::blocking::Blocking,
    /// Connected clients by id.
    pub clients: Mutex<BTreeMap<u64, Arc<ClientHandle>>>,
    /// Next client id.
    pub next_client_id: AtomicU64,
    /// Counters.
    pub stats: Stats,
    /// Event-loop threads.
    pub workers: Vec<WorkerHandle>,
    /// Set when the server is shutting down.
    pub shutdown: AtomicBool,
    /// Wakes the acceptor so it notices `shutdown`.
    pub acceptor_waker: Waker,
    /// Start instant.
    pub started: Instant,
    /// Start time, Unix seconds.
    pub started_unix: u64,
    /// 40 hex chars identifying this run.
    pub run_id: String,
    /// The TCP port actually bound.
    pub port: u16,
    /// Path of the executable, for INFO.
    pub executable: String,
    /// Config file path, for INFO.
    pub config_file: String,
    /// Highest number of connected clients seen... (INFO maxclients-style stats).
    pub peak_clients: AtomicUsize,
}

impl Shared {
    /// Starts an orderly shutdown: every loop stops, the acceptor returns.
    pub fn begin_shutdown(&self) {
        self.shutdown.store(true, Ordering::SeqCst);
        for w in &self.workers {
            w.send(Msg::Shutdown);
        }
        let _ = self.acceptor_waker.wake();
    }

    /// Flags client `id` for closing and tells its owner. False if unknown.
    pub fn kill_client(&self, id: u64) -> bool {
        let h = self.clients.lock().get(&id).cloned();
        match h {
            Some(h) => {
                h.killed.store(true, Ordering::SeqCst);
                if let Some(w) = self.workers.get(h.worker) {
                    w.send(Msg::Kill(id));
                }
                true
            }
            None => false,
        }
    }
}
