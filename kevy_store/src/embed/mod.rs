//! `Kevy`: the store as an in-process library. A cheap, thread-safe handle
//! (`Clone + Send + Sync`) over an `Arc<Store>` that runs typed operations
//! (`set`, `get`, `lpush`, `zadd`, ...) with Rust types, raw commands (argv in,
//! [`Reply`] out), atomic batches (the embedded MULTI/EXEC), and consistent
//! snapshots that can be iterated on any thread while writes go on. Every
//! typed operation is the Redis command of the same name run through the
//! command table, so it has exactly the server's semantics, errors included.
//! No sockets, no files: durability is kevy_persist's job, which installs its
//! logs on the same [`Store`].

use crate::cmd;
use crate::ctx::{Ctx, Events};
use crate::error::CmdError;
use crate::store::{run, SnapshotView, Store};
use crate::value::Entry;
use bytes::Bytes;
use kevy_resp::{Protocol, Reply};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The clock the handle runs commands with: Unix milliseconds.
pub type Clock = Arc<dyn Fn() -> u64 + Send + Sync>;

/// Called after a command (or an atomic batch) that changed something, once
/// its shard locks are released, with the shards it held, each with its
/// log position read under the lock ([`Shard::log_position`](crate::Shard::log_position)). A
/// persistence layer uses it to write, and under `appendfsync always` fsync,
/// those shards' logs up to there before the call returns to the caller
/// (see kevy_persist's `Durable`). An `Err` replaces the replies with that
/// error (whether the change stays applied is the layer's business: Redis
/// keeps it; kevy_persist under `always` undoes it).
pub type CommitHook = Arc<dyn Fn(&[(usize, u64)]) -> Result<(), CmdError> + Send + Sync>;

/// Milliseconds since the Unix epoch by the system clock (0 if the clock is
/// set before 1970).
pub fn system_now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// An embedded kevy store: a handle bound to one logical database.
///
/// Cloning is cheap (an `Arc` and a db index); clones share the keyspace, so
/// hand one to each thread. [`Kevy::select`] gives a handle on another
/// database of the same keyspace.
///
/// Commands run with RESP3 reply shapes (maps, sets and doubles are typed,
/// as a `HELLO 3` client sees them). Blocking commands (`BLPOP`, ...) never
/// wait: they behave as inside `MULTI`, as if their timeout had passed.
/// Expired keys are removed lazily when touched; call
/// [`Kevy::active_expire`] from time to time to reclaim keys nobody reads.
///
/// ```
/// use kevy_store::Kevy;
/// use std::time::Duration;
///
/// let kv = Kevy::new(4, 16);
/// kv.set("user:1:name", "ada")?;
/// assert_eq!(kv.get("user:1:name")?.as_deref(), Some(&b"ada"[..]));
/// assert_eq!(kv.incr("visits")?, 1);
/// kv.expire("visits", Duration::from_secs(60))?;
///
/// kv.rpush("queue", ["a", "b", "c"])?;
/// assert_eq!(kv.lpop("queue")?.as_deref(), Some(&b"a"[..]));
///
/// kv.zadd("board", 10.0, "ada")?;
/// kv.zadd("board", 7.5, "bob")?;
/// assert_eq!(kv.zscore("board", "bob")?, Some(7.5));
///
/// // Redis's error, as a typed value.
/// assert_eq!(kv.lpush("user:1:name", ["x"]), Err(kevy_store::CmdError::WrongType));
///
/// // Any command by its argv, reply as the server would send it.
/// let reply = kv.command(0, &[&b"STRLEN"[..], b"user:1:name"]);
/// assert_eq!(reply, kevy_resp::Reply::Int(3));
/// # Ok::<(), kevy_store::CmdError>(())
/// ```
#[derive(Clone)]
pub struct Kevy {
    store: Arc<Store>,
    db: usize,
    clock: Clock,
    proto: Protocol,
    hook: Option<CommitHook>,
}

impl std::fmt::Debug for Kevy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Kevy")
            .field("nshards", &self.store.nshards())
            .field("ndbs", &self.store.ndbs())
            .field("db", &self.db)
            .finish()
    }
}

impl Default for Kevy {
    /// One shard per available core, 16 databases, as `kevy-server` starts.
    fn default() -> Kevy {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Kevy::new(cores, 16)
    }
}

/// What `TTL`/`PTTL` know about a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ttl {
    /// The key does not exist.
    Missing,
    /// The key exists and has no expiry.
    Persistent,
    /// The key expires after this much time.
    Expires(Duration),
}

impl Kevy {
    /// An empty store with `nshards` shards (at least 1) and `ndbs` logical
    /// databases (at least 1), on database 0, using the system clock.
    pub fn new(nshards: usize, ndbs: usize) -> Kevy {
        Kevy::from_store(Arc::new(Store::new(nshards, ndbs)))
    }

    /// A handle on an existing store, e.g. one kevy_persist recovered from
    /// disk (with its logs installed, so writes through the handle are
    /// appended to the shards' AOFs).
    pub fn from_store(store: Arc<Store>) -> Kevy {
        Kevy {
            store,
            db: 0,
            clock: Arc::new(system_now_ms),
            proto: Protocol::Resp3,
            hook: None,
        }
    }

    /// The shared store under the handle.
    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    /// The database this handle runs commands on.
    pub fn db(&self) -> usize {
        self.db
    }

    /// A handle on database `db` of the same keyspace (`SELECT db`).
    pub fn select(&self, db: usize) -> Result<Kevy, CmdError> {
        if db >= self.store.ndbs() {
            return Err(CmdError::DbIndex);
        }
        Ok(Kevy { db, ..self.clone() })
    }

    /// The same handle with another clock (Unix ms), e.g. a fake one in
    /// tests of expiry. Handles made from it with `clone`/`select` keep it.
    pub fn with_clock(&self, clock: impl Fn() -> u64 + Send + Sync + 'static) -> Kevy {
        Kevy {
            clock: Arc::new(clock),
            ..self.clone()
        }
    }

    /// The same handle producing replies for `proto` (RESP3 by default).
    /// Only raw commands see a difference; typed operations accept both.
    pub fn with_protocol(&self, proto: Protocol) -> Kevy {
        Kevy {
            proto,
            ..self.clone()
        }
    }

    /// The same handle calling `hook` after every command that changed
    /// something (see [`CommitHook`]). Handles made from it keep it.
    pub fn with_commit_hook(
        &self,
        hook: impl Fn(&[(usize, u64)]) -> Result<(), CmdError> + Send + Sync + 'static,
    ) -> Kevy {
        Kevy {
            hook: Some(Arc::new(hook)),
            ..self.clone()
        }
    }

    /// The handle's current time, Unix ms.
    pub fn now_ms(&self) -> u64 {
        (self.clock)()
    }

    // ---- raw commands ----

    /// Runs one command (`argv[0]` is its name) on database `db`, with the
    /// server's semantics: it locks the shards its keys route to (all of
    /// them, ascending, for a multi-key command, so it is atomic), runs,
    /// logs its effects to the shards' logs if installed, and unlocks.
    /// Errors come back as [`Reply::Error`] with Redis's exact text.
    ///
    /// Connection and server commands (`SELECT`, `MULTI`, `CONFIG`, ...)
    /// are not store commands: they reply with the unknown-command error.
    pub fn command(&self, db: usize, argv: &[&[u8]]) -> Reply {
        let argv: Vec<Bytes> = argv.iter().map(|a| Bytes::copy_from_slice(a)).collect();
        self.execute(db, &argv).0
    }

    /// Runs one command on database `db`, with owned arguments, returning
    /// the side effects too (keyspace notifications, change
    /// count, hits and misses).
    pub fn execute(&self, db: usize, argv: &[Bytes]) -> (Reply, Events) {
        let mut events = Events::default();
        // The one-command path of `run_locked`, without its per-batch vectors.
        let c = match argv.first().map(|n| cmd::lookup(n)) {
            None => return (Reply::error("ERR empty command"), events),
            Some(None) => return (Reply::error(cmd::unknown_command_error(argv)), events),
            Some(Some(c)) if !c.meta.arity_ok(argv.len()) => {
                return (Reply::error(cmd::arity_error(c.meta.name)), events)
            }
            Some(Some(c)) => c,
        };
        if db >= self.store.ndbs() {
            return (CmdError::DbIndex.reply(), events);
        }
        let mut ids = Vec::new();
        self.store.shards_for(c, argv, &mut ids);
        let now = self.now_ms();
        let (mut reply, at) = {
            let mut locked = self.store.lock(&ids);
            let mut ctx = Ctx::new(&mut locked, &mut events, db, now);
            ctx.proto = self.proto;
            ctx.may_block = false;
            let r = run(&mut ctx, c, argv);
            (r, locked.positions().collect::<Vec<_>>())
        };
        if let Some(hook) = &self.hook {
            if events.dirty > 0 {
                if let Err(e) = hook(&at) {
                    reply = e.reply();
                }
            }
        }
        (reply, events)
    }

    /// Runs `cmds` on this handle's database as one atomic unit, like
    /// `MULTI` ... `EXEC`: every shard any of them touches is locked (in
    /// ascending order) for the whole batch, so no other thread sees a state
    /// in between, and each shard's log brackets the batch's effects with
    /// `MULTI`/`EXEC` so replay applies all or none. One reply per command;
    /// a failing command does not stop the others (Redis's EXEC rule).
    ///
    /// ```
    /// let kv = kevy_store::Kevy::new(4, 16);
    /// let replies = kv.atomic(&[
    ///     &[&b"SET"[..], b"from", b"90"],
    ///     &[&b"INCRBY"[..], b"to", b"10"],
    /// ]);
    /// assert_eq!(replies[1], kevy_resp::Reply::Int(10));
    /// ```
    pub fn atomic(&self, cmds: &[&[&[u8]]]) -> Vec<Reply> {
        let owned: Vec<Vec<Bytes>> = cmds
            .iter()
            .map(|c| c.iter().map(|a| Bytes::copy_from_slice(a)).collect())
            .collect();
        let refs: Vec<&[Bytes]> = owned.iter().map(|c| &c[..]).collect();
        self.run_locked(self.db, &refs, true, &mut Events::default())
    }

    /// Runs `argv` on this handle's database; an error reply becomes `Err`.
    pub fn run<A: AsRef<[u8]>>(&self, argv: &[A]) -> Result<Reply, CmdError> {
        let argv: Vec<Bytes> = argv
            .iter()
            .map(|a| Bytes::copy_from_slice(a.as_ref()))
            .collect();
        ok(self.execute(self.db, &argv).0)
    }

    /// Locks the union of the shards `cmds` need, then runs each in turn.
    fn run_locked(
        &self,
        db: usize,
        cmds: &[&[Bytes]],
        tx: bool,
        events: &mut Events,
    ) -> Vec<Reply> {
        let mut found = Vec::with_capacity(cmds.len());
        let mut ids = Vec::new();
        let mut one = Vec::new();
        for argv in cmds {
            let c = match argv.first().map(|n| (n, cmd::lookup(n))) {
                None => Err(Reply::error("ERR empty command")),
                Some((_, None)) => Err(Reply::error(cmd::unknown_command_error(argv))),
                Some((_, Some(c))) if !c.meta.arity_ok(argv.len()) => {
                    Err(Reply::error(cmd::arity_error(c.meta.name)))
                }
                Some((_, Some(c))) => {
                    self.store.shards_for(c, argv, &mut one);
                    ids.extend_from_slice(&one);
                    Ok(c)
                }
            };
            found.push(c);
        }
        ids.sort_unstable();
        ids.dedup();
        if db >= self.store.ndbs() {
            return found.iter().map(|_| CmdError::DbIndex.reply()).collect();
        }
        let now = self.now_ms();
        let mut locked = self.store.lock(&ids);
        if tx {
            locked.shards_mut().for_each(|s| s.begin_tx());
        }
        let mut replies = Vec::with_capacity(cmds.len());
        let dirty_before = events.dirty;
        {
            let mut ctx = Ctx::new(&mut locked, events, db, now);
            ctx.proto = self.proto;
            ctx.may_block = false;
            for (argv, c) in cmds.iter().zip(found) {
                replies.push(match c {
                    Ok(c) => run(&mut ctx, c, argv),
                    Err(r) => r,
                });
            }
        }
        if tx {
            // Cross-shard batches close with `EXEC <txid> <parts>` so recovery
            // applies them all or none.
            crate::shard::end_tx_all(locked.shards_mut(), db);
        }
        let at: Vec<(usize, u64)> = locked.positions().collect();
        drop(locked);
        if let Some(hook) = &self.hook {
            if events.dirty > dirty_before {
                if let Err(e) = hook(&at) {
                    replies.iter_mut().for_each(|r| *r = e.reply());
                }
            }
        }
        replies
    }

    /// Runs a typed operation's argv and returns its (non-error) reply.
    fn call(&self, argv: Vec<Bytes>) -> Result<Reply, CmdError> {
        ok(self.execute(self.db, &argv).0)
    }

    // ---- snapshots ----

    /// A consistent, frozen copy of the whole keyspace: every shard is
    /// locked at once while each is frozen (O(1) per database, persistent
    /// maps), so the snapshot is one point in time across all keys. Reading
    /// it never blocks writers, and later writes never show through.
    pub fn snapshot(&self) -> Snapshot {
        let mut locked = self.store.lock_all();
        let taken_at_ms = self.now_ms();
        let shards = locked
            .shards_mut()
            .map(|s| SnapshotView {
                dbs: s.dbs.iter().map(|d| d.snapshot()).collect(),
            })
            .collect();
        Snapshot {
            shards,
            taken_at_ms,
        }
    }

    /// Runs one active expiry pass (Redis's sampling cycle) within `budget`,
    /// deleting keys that expired but were never read again; returns how
    /// many it deleted.
    pub fn active_expire(&self, budget: Duration) -> u64 {
        let mut events = Events::default();
        crate::expire::active_expire_cycle(
            &self.store,
            self.now_ms(),
            budget,
            0,
            false,
            &mut events,
        )
        .expired
    }
}

/// An error reply as a typed error; any other reply passes.
fn ok(r: Reply) -> Result<Reply, CmdError> {
    match r {
        Reply::Error(text) => Err(error_from_text(&text)),
        r => Ok(r),
    }
}

/// Maps an error line back to the [`CmdError`] variant whose `Display` it is.
fn error_from_text(text: &[u8]) -> CmdError {
    let text = String::from_utf8_lossy(text);
    for e in [
        CmdError::WrongType,
        CmdError::NotInteger,
        CmdError::NotFloat,
        CmdError::Syntax,
        CmdError::Overflow,
        CmdError::NoSuchKey,
        CmdError::DbIndex,
        CmdError::Timeout,
    ] {
        if e.to_string() == text {
            return e;
        }
    }
    const ARITY: &str = "ERR wrong number of arguments for '";
    if let Some(name) = text
        .strip_prefix(ARITY)
        .and_then(|r| r.strip_suffix("' command"))
    {
        return CmdError::Arity(name.to_string());
    }
    CmdError::Other(text.into_owned())
}

fn unexpected(r: &Reply) -> CmdError {
    CmdError::err(format!("unexpected reply for an embedded call: {r:?}"))
}

fn int(r: Reply) -> Result<i64, CmdError> {
    match r {
        Reply::Int(n) => Ok(n),
        Reply::Bool(b) => Ok(b as i64),
        r => Err(unexpected(&r)),
    }
}

fn bulk_opt(r: Reply) -> Result<Option<Bytes>, CmdError> {
    match r {
        Reply::Bulk(b) | Reply::Simple(b) | Reply::Verbatim(_, b) => Ok(Some(b)),
        Reply::Nil | Reply::NilArray => Ok(None),
        r => Err(unexpected(&r)),
    }
}

fn float_opt(r: Reply) -> Result<Option<f64>, CmdError> {
    match r {
        Reply::Double(d) => Ok(Some(d)),
        Reply::Int(n) => Ok(Some(n as f64)),
        Reply::Bulk(b) => crate::num::parse_f64(&b)
            .map(Some)
            .ok_or(CmdError::NotFloat),
        Reply::Nil | Reply::NilArray => Ok(None),
        r => Err(unexpected(&r)),
    }
}

fn items(r: Reply) -> Result<Vec<Reply>, CmdError> {
    match r {
        Reply::Array(v) | Reply::Set(v) | Reply::Push(v) => Ok(v),
        Reply::Map(v) => Ok(v.into_iter().flat_map(|(k, x)| [k, x]).collect()),
        Reply::Nil | Reply::NilArray => Ok(Vec::new()),
        Reply::Stream(s) => items(s.to_reply()),
        r => Err(unexpected(&r)),
    }
}

fn bulks(r: Reply) -> Result<Vec<Bytes>, CmdError> {
    items(r)?
        .into_iter()
        .map(|x| bulk_opt(x)?.ok_or_else(|| unexpected(&Reply::Nil)))
        .collect()
}

/// Pairs from a RESP3 map, a RESP3 array of pairs, or a flat RESP2 array.
fn pairs(r: Reply) -> Result<Vec<(Reply, Reply)>, CmdError> {
    match r {
        Reply::Map(v) => Ok(v),
        Reply::Stream(s) => pairs(s.to_reply()),
        r => {
            let v = items(r)?;
            if v.iter()
                .all(|x| matches!(x, Reply::Array(p) if p.len() == 2))
            {
                return Ok(v
                    .into_iter()
                    .filter_map(|x| match x {
                        Reply::Array(mut p) => {
                            let b = p.pop()?;
                            let a = p.pop()?;
                            Some((a, b))
                        }
                        _ => None,
                    })
                    .collect());
            }
            if v.len() % 2 != 0 {
                return Err(unexpected(&Reply::Array(v)));
            }
            let mut out = Vec::with_capacity(v.len() / 2);
            let mut it = v.into_iter();
            while let (Some(a), Some(b)) = (it.next(), it.next()) {
                out.push((a, b));
            }
            Ok(out)
        }
    }
}

fn b(x: impl AsRef<[u8]>) -> Bytes {
    Bytes::copy_from_slice(x.as_ref())
}

fn s(x: &'static str) -> Bytes {
    Bytes::from_static(x.as_bytes())
}

fn num(n: impl std::fmt::Display) -> Bytes {
    Bytes::from(n.to_string())
}

fn argv<K: AsRef<[u8]>>(head: &[Bytes], rest: impl IntoIterator<Item = K>) -> Vec<Bytes> {
    let mut v = head.to_vec();
    v.extend(rest.into_iter().map(b));
    v
}

/// Typed operations. Keys, fields, members and values are anything that is
/// `AsRef<[u8]>` (`&str`, `String`, `&[u8]`, `Vec<u8>`, `Bytes`, ...); each
/// runs the Redis command of the same name on the handle's database.
mod ops;
mod snapshot;
#[cfg(test)]
mod tests;

pub use snapshot::Snapshot;
