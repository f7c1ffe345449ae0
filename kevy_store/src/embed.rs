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
/// its shard locks are released, with the ids of the shards it held. A
/// persistence layer uses it to write, and under `appendfsync always` fsync,
/// those shards' logs before the call returns to the caller (see
/// kevy_persist's `Durable`). An `Err` replaces the replies with that error
/// (the change itself stays applied in memory, as in Redis).
pub type CommitHook = Arc<dyn Fn(&[usize]) -> Result<(), CmdError> + Send + Sync>;

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
        hook: impl Fn(&[usize]) -> Result<(), CmdError> + Send + Sync + 'static,
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
        let mut reply = {
            let mut locked = self.store.lock(&ids);
            let mut ctx = Ctx::new(&mut locked, &mut events, db, now);
            ctx.proto = self.proto;
            ctx.may_block = false;
            run(&mut ctx, c, argv)
        };
        if let Some(hook) = &self.hook {
            if events.dirty > 0 {
                if let Err(e) = hook(&ids) {
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
        drop(locked);
        if let Some(hook) = &self.hook {
            if events.dirty > dirty_before {
                if let Err(e) = hook(&ids) {
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
        crate::expire::active_expire_cycle(&self.store, self.now_ms(), budget, 0, &mut events)
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
impl Kevy {
    // ---- strings ----

    /// `SET key value`.
    pub fn set(&self, key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) -> Result<(), CmdError> {
        self.call(vec![s("SET"), b(key), b(value)]).map(drop)
    }

    /// `SET key value PX ttl`: sets with a time to live (millisecond precision).
    pub fn set_ex(
        &self,
        key: impl AsRef<[u8]>,
        value: impl AsRef<[u8]>,
        ttl: Duration,
    ) -> Result<(), CmdError> {
        self.call(vec![
            s("SET"),
            b(key),
            b(value),
            s("PX"),
            num(ttl.as_millis()),
        ])
        .map(drop)
    }

    /// `SET key value NX`: true if the key was set (it did not exist).
    pub fn set_nx(&self, key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) -> Result<bool, CmdError> {
        Ok(bulk_opt(self.call(vec![s("SET"), b(key), b(value), s("NX")])?)?.is_some())
    }

    /// `GET key`.
    pub fn get(&self, key: impl AsRef<[u8]>) -> Result<Option<Bytes>, CmdError> {
        bulk_opt(self.call(vec![s("GET"), b(key)])?)
    }

    /// `MGET key...`: one value per key (`None` for a missing or non-string key).
    pub fn mget<K: AsRef<[u8]>>(
        &self,
        keys: impl IntoIterator<Item = K>,
    ) -> Result<Vec<Option<Bytes>>, CmdError> {
        items(self.call(argv(&[s("MGET")], keys))?)?
            .into_iter()
            .map(bulk_opt)
            .collect()
    }

    /// `MSET key value ...`, atomically across shards.
    pub fn mset<K: AsRef<[u8]>, V: AsRef<[u8]>>(
        &self,
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Result<(), CmdError> {
        let mut v = vec![s("MSET")];
        for (k, x) in pairs {
            v.push(b(k));
            v.push(b(x));
        }
        self.call(v).map(drop)
    }

    /// `INCR key`: the new value.
    pub fn incr(&self, key: impl AsRef<[u8]>) -> Result<i64, CmdError> {
        int(self.call(vec![s("INCR"), b(key)])?)
    }

    /// `INCRBY key by`: the new value.
    pub fn incr_by(&self, key: impl AsRef<[u8]>, by: i64) -> Result<i64, CmdError> {
        int(self.call(vec![s("INCRBY"), b(key), num(by)])?)
    }

    /// `DECR key`: the new value.
    pub fn decr(&self, key: impl AsRef<[u8]>) -> Result<i64, CmdError> {
        int(self.call(vec![s("DECR"), b(key)])?)
    }

    /// `APPEND key value`: the new length.
    pub fn append(&self, key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) -> Result<i64, CmdError> {
        int(self.call(vec![s("APPEND"), b(key), b(value)])?)
    }

    /// `STRLEN key`.
    pub fn strlen(&self, key: impl AsRef<[u8]>) -> Result<i64, CmdError> {
        int(self.call(vec![s("STRLEN"), b(key)])?)
    }

    // ---- keys ----

    /// `DEL key...`: how many existed.
    pub fn del<K: AsRef<[u8]>>(&self, keys: impl IntoIterator<Item = K>) -> Result<i64, CmdError> {
        int(self.call(argv(&[s("DEL")], keys))?)
    }

    /// `EXISTS key`.
    pub fn exists(&self, key: impl AsRef<[u8]>) -> Result<bool, CmdError> {
        Ok(int(self.call(vec![s("EXISTS"), b(key)])?)? > 0)
    }

    /// `EXISTS key...`: how many of `keys` exist (a key named twice counts twice).
    pub fn exists_count<K: AsRef<[u8]>>(
        &self,
        keys: impl IntoIterator<Item = K>,
    ) -> Result<i64, CmdError> {
        int(self.call(argv(&[s("EXISTS")], keys))?)
    }

    /// `PEXPIRE key ttl`: true if the key exists and the expiry was set.
    pub fn expire(&self, key: impl AsRef<[u8]>, ttl: Duration) -> Result<bool, CmdError> {
        Ok(int(self.call(vec![s("PEXPIRE"), b(key), num(ttl.as_millis())])?)? == 1)
    }

    /// `PERSIST key`: true if an expiry was removed.
    pub fn persist(&self, key: impl AsRef<[u8]>) -> Result<bool, CmdError> {
        Ok(int(self.call(vec![s("PERSIST"), b(key)])?)? == 1)
    }

    /// `PTTL key`.
    pub fn ttl(&self, key: impl AsRef<[u8]>) -> Result<Ttl, CmdError> {
        Ok(match int(self.call(vec![s("PTTL"), b(key)])?)? {
            -2 => Ttl::Missing,
            -1 => Ttl::Persistent,
            ms => Ttl::Expires(Duration::from_millis(ms.max(0) as u64)),
        })
    }

    /// `TYPE key`: `"string"`, `"list"`, ... or `"none"`.
    pub fn key_type(&self, key: impl AsRef<[u8]>) -> Result<String, CmdError> {
        let t = bulk_opt(self.call(vec![s("TYPE"), b(key)])?)?.unwrap_or_default();
        Ok(String::from_utf8_lossy(&t).into_owned())
    }

    /// `RENAME key newkey` (atomic across shards).
    pub fn rename(&self, key: impl AsRef<[u8]>, to: impl AsRef<[u8]>) -> Result<(), CmdError> {
        self.call(vec![s("RENAME"), b(key), b(to)]).map(drop)
    }

    /// `KEYS pattern`: every key of the database matching a glob pattern.
    pub fn keys(&self, pattern: impl AsRef<[u8]>) -> Result<Vec<Bytes>, CmdError> {
        bulks(self.call(vec![s("KEYS"), b(pattern)])?)
    }

    /// `DBSIZE`.
    pub fn dbsize(&self) -> Result<i64, CmdError> {
        int(self.call(vec![s("DBSIZE")])?)
    }

    /// `FLUSHDB`: empties this handle's database.
    pub fn flushdb(&self) -> Result<(), CmdError> {
        self.call(vec![s("FLUSHDB")]).map(drop)
    }

    // ---- lists ----

    /// `LPUSH key value...`: the list's new length.
    pub fn lpush<V: AsRef<[u8]>>(
        &self,
        key: impl AsRef<[u8]>,
        values: impl IntoIterator<Item = V>,
    ) -> Result<i64, CmdError> {
        int(self.call(argv(&[s("LPUSH"), b(key)], values))?)
    }

    /// `RPUSH key value...`: the list's new length.
    pub fn rpush<V: AsRef<[u8]>>(
        &self,
        key: impl AsRef<[u8]>,
        values: impl IntoIterator<Item = V>,
    ) -> Result<i64, CmdError> {
        int(self.call(argv(&[s("RPUSH"), b(key)], values))?)
    }

    /// `LPOP key`.
    pub fn lpop(&self, key: impl AsRef<[u8]>) -> Result<Option<Bytes>, CmdError> {
        bulk_opt(self.call(vec![s("LPOP"), b(key)])?)
    }

    /// `RPOP key`.
    pub fn rpop(&self, key: impl AsRef<[u8]>) -> Result<Option<Bytes>, CmdError> {
        bulk_opt(self.call(vec![s("RPOP"), b(key)])?)
    }

    /// `LLEN key`.
    pub fn llen(&self, key: impl AsRef<[u8]>) -> Result<i64, CmdError> {
        int(self.call(vec![s("LLEN"), b(key)])?)
    }

    /// `LRANGE key start stop` (inclusive, negative indexes count from the end).
    pub fn lrange(
        &self,
        key: impl AsRef<[u8]>,
        start: i64,
        stop: i64,
    ) -> Result<Vec<Bytes>, CmdError> {
        bulks(self.call(vec![s("LRANGE"), b(key), num(start), num(stop)])?)
    }

    /// `LINDEX key index`.
    pub fn lindex(&self, key: impl AsRef<[u8]>, index: i64) -> Result<Option<Bytes>, CmdError> {
        bulk_opt(self.call(vec![s("LINDEX"), b(key), num(index)])?)
    }

    // ---- hashes ----

    /// `HSET key field value`: true if the field is new.
    pub fn hset(
        &self,
        key: impl AsRef<[u8]>,
        field: impl AsRef<[u8]>,
        value: impl AsRef<[u8]>,
    ) -> Result<bool, CmdError> {
        Ok(int(self.call(vec![s("HSET"), b(key), b(field), b(value)])?)? == 1)
    }

    /// `HSET key field value ...`: how many fields are new.
    pub fn hset_many<F: AsRef<[u8]>, V: AsRef<[u8]>>(
        &self,
        key: impl AsRef<[u8]>,
        pairs: impl IntoIterator<Item = (F, V)>,
    ) -> Result<i64, CmdError> {
        let mut v = vec![s("HSET"), b(key)];
        for (f, x) in pairs {
            v.push(b(f));
            v.push(b(x));
        }
        int(self.call(v)?)
    }

    /// `HGET key field`.
    pub fn hget(
        &self,
        key: impl AsRef<[u8]>,
        field: impl AsRef<[u8]>,
    ) -> Result<Option<Bytes>, CmdError> {
        bulk_opt(self.call(vec![s("HGET"), b(key), b(field)])?)
    }

    /// `HDEL key field...`: how many fields were removed.
    pub fn hdel<F: AsRef<[u8]>>(
        &self,
        key: impl AsRef<[u8]>,
        fields: impl IntoIterator<Item = F>,
    ) -> Result<i64, CmdError> {
        int(self.call(argv(&[s("HDEL"), b(key)], fields))?)
    }

    /// `HGETALL key`: (field, value) pairs in the hash's order.
    pub fn hgetall(&self, key: impl AsRef<[u8]>) -> Result<Vec<(Bytes, Bytes)>, CmdError> {
        pairs(self.call(vec![s("HGETALL"), b(key)])?)?
            .into_iter()
            .map(|(f, v)| {
                let f = bulk_opt(f)?.ok_or_else(|| unexpected(&Reply::Nil))?;
                let v = bulk_opt(v)?.ok_or_else(|| unexpected(&Reply::Nil))?;
                Ok((f, v))
            })
            .collect()
    }

    /// `HLEN key`.
    pub fn hlen(&self, key: impl AsRef<[u8]>) -> Result<i64, CmdError> {
        int(self.call(vec![s("HLEN"), b(key)])?)
    }

    /// `HINCRBY key field by`: the new value.
    pub fn hincr_by(
        &self,
        key: impl AsRef<[u8]>,
        field: impl AsRef<[u8]>,
        by: i64,
    ) -> Result<i64, CmdError> {
        int(self.call(vec![s("HINCRBY"), b(key), b(field), num(by)])?)
    }

    // ---- sets ----

    /// `SADD key member...`: how many members are new.
    pub fn sadd<M: AsRef<[u8]>>(
        &self,
        key: impl AsRef<[u8]>,
        members: impl IntoIterator<Item = M>,
    ) -> Result<i64, CmdError> {
        int(self.call(argv(&[s("SADD"), b(key)], members))?)
    }

    /// `SREM key member...`: how many members were removed.
    pub fn srem<M: AsRef<[u8]>>(
        &self,
        key: impl AsRef<[u8]>,
        members: impl IntoIterator<Item = M>,
    ) -> Result<i64, CmdError> {
        int(self.call(argv(&[s("SREM"), b(key)], members))?)
    }

    /// `SMEMBERS key` (in the set's internal order).
    pub fn smembers(&self, key: impl AsRef<[u8]>) -> Result<Vec<Bytes>, CmdError> {
        bulks(self.call(vec![s("SMEMBERS"), b(key)])?)
    }

    /// `SISMEMBER key member`.
    pub fn sismember(
        &self,
        key: impl AsRef<[u8]>,
        member: impl AsRef<[u8]>,
    ) -> Result<bool, CmdError> {
        Ok(int(self.call(vec![s("SISMEMBER"), b(key), b(member)])?)? == 1)
    }

    /// `SCARD key`.
    pub fn scard(&self, key: impl AsRef<[u8]>) -> Result<i64, CmdError> {
        int(self.call(vec![s("SCARD"), b(key)])?)
    }

    // ---- sorted sets ----

    /// `ZADD key score member`: true if the member is new.
    pub fn zadd(
        &self,
        key: impl AsRef<[u8]>,
        score: f64,
        member: impl AsRef<[u8]>,
    ) -> Result<bool, CmdError> {
        Ok(int(self.call(vec![s("ZADD"), b(key), num(score), b(member)])?)? == 1)
    }

    /// `ZADD key score member ...`: how many members are new.
    pub fn zadd_many<M: AsRef<[u8]>>(
        &self,
        key: impl AsRef<[u8]>,
        items: impl IntoIterator<Item = (f64, M)>,
    ) -> Result<i64, CmdError> {
        let mut v = vec![s("ZADD"), b(key)];
        for (score, m) in items {
            v.push(num(score));
            v.push(b(m));
        }
        int(self.call(v)?)
    }

    /// `ZSCORE key member`.
    pub fn zscore(
        &self,
        key: impl AsRef<[u8]>,
        member: impl AsRef<[u8]>,
    ) -> Result<Option<f64>, CmdError> {
        float_opt(self.call(vec![s("ZSCORE"), b(key), b(member)])?)
    }

    /// `ZINCRBY key by member`: the new score.
    pub fn zincr_by(
        &self,
        key: impl AsRef<[u8]>,
        by: f64,
        member: impl AsRef<[u8]>,
    ) -> Result<f64, CmdError> {
        float_opt(self.call(vec![s("ZINCRBY"), b(key), num(by), b(member)])?)?
            .ok_or_else(|| unexpected(&Reply::Nil))
    }

    /// `ZRANGE key start stop`: members by rank, lowest score first.
    pub fn zrange(
        &self,
        key: impl AsRef<[u8]>,
        start: i64,
        stop: i64,
    ) -> Result<Vec<Bytes>, CmdError> {
        bulks(self.call(vec![s("ZRANGE"), b(key), num(start), num(stop)])?)
    }

    /// `ZRANGE key start stop WITHSCORES`: (member, score) by rank.
    pub fn zrange_withscores(
        &self,
        key: impl AsRef<[u8]>,
        start: i64,
        stop: i64,
    ) -> Result<Vec<(Bytes, f64)>, CmdError> {
        let r = self.call(vec![
            s("ZRANGE"),
            b(key),
            num(start),
            num(stop),
            s("WITHSCORES"),
        ])?;
        pairs(r)?
            .into_iter()
            .map(|(m, sc)| {
                let m = bulk_opt(m)?.ok_or_else(|| unexpected(&Reply::Nil))?;
                let sc = float_opt(sc)?.ok_or_else(|| unexpected(&Reply::Nil))?;
                Ok((m, sc))
            })
            .collect()
    }

    /// `ZRANK key member`.
    pub fn zrank(
        &self,
        key: impl AsRef<[u8]>,
        member: impl AsRef<[u8]>,
    ) -> Result<Option<i64>, CmdError> {
        match self.call(vec![s("ZRANK"), b(key), b(member)])? {
            Reply::Nil | Reply::NilArray => Ok(None),
            r => int(r).map(Some),
        }
    }

    /// `ZREM key member...`: how many members were removed.
    pub fn zrem<M: AsRef<[u8]>>(
        &self,
        key: impl AsRef<[u8]>,
        members: impl IntoIterator<Item = M>,
    ) -> Result<i64, CmdError> {
        int(self.call(argv(&[s("ZREM"), b(key)], members))?)
    }

    /// `ZCARD key`.
    pub fn zcard(&self, key: impl AsRef<[u8]>) -> Result<i64, CmdError> {
        int(self.call(vec![s("ZCARD"), b(key)])?)
    }
}

/// A consistent frozen copy of a whole store (see [`Kevy::snapshot`]):
/// one [`SnapshotView`] per shard, all taken at the same instant.
/// `Send + Sync` and cheap to clone; read it on any thread.
#[derive(Clone)]
pub struct Snapshot {
    shards: Vec<SnapshotView>,
    taken_at_ms: u64,
}

impl Snapshot {
    /// Wraps views taken some other way (e.g. [`Store::snapshot`], which
    /// freezes shards one after another rather than at one instant).
    /// Expiry is judged at `taken_at_ms` (Unix ms).
    pub fn from_views(shards: Vec<SnapshotView>, taken_at_ms: u64) -> Snapshot {
        Snapshot {
            shards,
            taken_at_ms,
        }
    }

    /// The per-shard views.
    pub fn views(&self) -> &[SnapshotView] {
        &self.shards
    }

    /// When the snapshot was taken, Unix ms.
    pub fn taken_at_ms(&self) -> u64 {
        self.taken_at_ms
    }

    /// Number of stored keys, expired ones not yet reclaimed included.
    pub fn len(&self) -> usize {
        self.shards.iter().map(SnapshotView::len).sum()
    }

    /// True when no database holds a key.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every key that was live when the snapshot was taken, as
    /// `(db, key, entry)`: shard by shard, database by database, each in the
    /// store's internal (hash) order. Keys already expired are skipped.
    pub fn iter(&self) -> impl Iterator<Item = (usize, &[u8], &Entry)> + '_ {
        let now = self.taken_at_ms;
        self.shards
            .iter()
            .flat_map(|v| v.entries())
            .filter(move |(_, _, e)| !e.is_expired(now))
    }

    /// The live entry under `key` in database `db` when the snapshot was taken.
    pub fn get(&self, db: usize, key: impl AsRef<[u8]>) -> Option<&Entry> {
        let key = key.as_ref();
        let shard = self
            .shards
            .get(crate::ctx::shard_for(key, self.shards.len()))?;
        shard
            .dbs
            .get(db)?
            .get(&crate::db::Key::new(key))
            .filter(|e| !e.is_expired(self.taken_at_ms))
    }
}

impl SnapshotView {
    /// Every entry of the view as `(db, key, entry)`, database by database,
    /// each in hash order; expired entries not yet reclaimed included
    /// (check [`Entry::is_expired`]).
    pub fn entries(&self) -> impl Iterator<Item = (usize, &[u8], &Entry)> + '_ {
        self.dbs
            .iter()
            .enumerate()
            .flat_map(|(db, m)| m.iter().map(move |(k, e)| (db, k.bytes(), e)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::Value;
    use std::sync::atomic::{AtomicU64, Ordering};

    const T0: u64 = 1_700_000_000_000;

    fn kv() -> Kevy {
        Kevy::new(4, 16).with_clock(|| T0)
    }

    fn assert_send_sync_clone<T: Send + Sync + Clone + 'static>() {}

    #[test]
    fn handle_is_thread_safe() {
        assert_send_sync_clone::<Kevy>();
        assert_send_sync_clone::<Snapshot>();
    }

    #[test]
    fn strings_and_keys() {
        let kv = kv();
        assert_eq!(kv.get("a"), Ok(None));
        kv.set("a", "1").unwrap();
        assert_eq!(kv.get("a").unwrap().as_deref(), Some(&b"1"[..]));
        assert_eq!(kv.incr("a"), Ok(2));
        assert_eq!(kv.incr_by("a", 40), Ok(42));
        assert_eq!(kv.decr("a"), Ok(41));
        assert_eq!(kv.append("s", "ab"), Ok(2));
        assert_eq!(kv.strlen("s"), Ok(2));
        assert_eq!(kv.set_nx("s", "x"), Ok(false));
        assert_eq!(kv.set_nx("t", "x"), Ok(true));
        kv.mset([("m1", "x"), ("m2", "y")]).unwrap();
        let got = kv.mget(["m1", "nope", "m2"]).unwrap();
        assert_eq!(
            got,
            vec![
                Some(Bytes::from_static(b"x")),
                None,
                Some(Bytes::from_static(b"y"))
            ]
        );
        assert_eq!(kv.exists("a"), Ok(true));
        assert_eq!(kv.exists_count(["a", "a", "zz"]), Ok(2));
        assert_eq!(kv.key_type("a").unwrap(), "string");
        assert_eq!(kv.key_type("zz").unwrap(), "none");
        kv.rename("a", "b").unwrap();
        assert_eq!(kv.rename("a", "c"), Err(CmdError::NoSuchKey));
        let mut keys = kv.keys("m*").unwrap();
        keys.sort();
        assert_eq!(
            keys,
            vec![Bytes::from_static(b"m1"), Bytes::from_static(b"m2")]
        );
        assert_eq!(kv.del(["b", "s", "zz"]), Ok(2));
        assert_eq!(kv.dbsize(), Ok(3));
        kv.flushdb().unwrap();
        assert_eq!(kv.dbsize(), Ok(0));
    }

    #[test]
    fn typed_errors() {
        let kv = kv();
        kv.set("s", "abc").unwrap();
        assert_eq!(kv.incr("s"), Err(CmdError::NotInteger));
        assert_eq!(kv.lpush("s", ["x"]), Err(CmdError::WrongType));
        assert_eq!(kv.zadd("z", f64::NAN, "m"), Err(CmdError::NotFloat));
        assert_eq!(kv.run(&["GET"]), Err(CmdError::Arity("get".into())));
        assert!(
            matches!(kv.run(&["NOSUCH"]), Err(CmdError::Other(t)) if t.starts_with("ERR unknown command"))
        );
        assert_eq!(kv.select(16).err(), Some(CmdError::DbIndex));
    }

    #[test]
    fn expiry_follows_the_clock() {
        let now = Arc::new(AtomicU64::new(T0));
        let n = now.clone();
        let kv = Kevy::new(2, 16).with_clock(move || n.load(Ordering::Relaxed));
        kv.set("k", "v").unwrap();
        assert_eq!(kv.ttl("k"), Ok(Ttl::Persistent));
        assert_eq!(kv.ttl("nope"), Ok(Ttl::Missing));
        assert_eq!(kv.expire("k", Duration::from_secs(10)), Ok(true));
        assert_eq!(kv.ttl("k"), Ok(Ttl::Expires(Duration::from_secs(10))));
        kv.set_ex("e", "v", Duration::from_millis(500)).unwrap();
        now.fetch_add(1_000, Ordering::Relaxed);
        assert_eq!(kv.get("e"), Ok(None));
        assert_eq!(kv.ttl("k"), Ok(Ttl::Expires(Duration::from_secs(9))));
        assert_eq!(kv.persist("k"), Ok(true));
        kv.set_ex("gone", "v", Duration::from_millis(1)).unwrap();
        now.fetch_add(10, Ordering::Relaxed);
        assert_eq!(kv.active_expire(Duration::from_millis(100)), 1);
    }

    #[test]
    fn lists_hashes_sets_zsets() {
        let kv = kv();
        assert_eq!(kv.rpush("l", ["b", "c"]), Ok(2));
        assert_eq!(kv.lpush("l", ["a"]), Ok(3));
        assert_eq!(kv.lrange("l", 0, -1).unwrap(), vec!["a", "b", "c"]);
        assert_eq!(kv.llen("l"), Ok(3));
        assert_eq!(kv.lindex("l", -1).unwrap().as_deref(), Some(&b"c"[..]));
        assert_eq!(kv.lpop("l").unwrap().as_deref(), Some(&b"a"[..]));
        assert_eq!(kv.rpop("l").unwrap().as_deref(), Some(&b"c"[..]));
        assert_eq!(kv.lpop("none"), Ok(None));

        assert_eq!(kv.hset("h", "f", "1"), Ok(true));
        assert_eq!(kv.hset("h", "f", "2"), Ok(false));
        assert_eq!(kv.hset_many("h", [("g", "3"), ("f", "4")]), Ok(1));
        assert_eq!(kv.hget("h", "f").unwrap().as_deref(), Some(&b"4"[..]));
        assert_eq!(kv.hincr_by("h", "n", 5), Ok(5));
        let mut all = kv.hgetall("h").unwrap();
        all.sort();
        assert_eq!(
            all,
            vec![
                (Bytes::from("f"), Bytes::from("4")),
                (Bytes::from("g"), Bytes::from("3")),
                (Bytes::from("n"), Bytes::from("5"))
            ]
        );
        assert_eq!(kv.hdel("h", ["f", "x"]), Ok(1));
        assert_eq!(kv.hlen("h"), Ok(2));
        assert_eq!(kv.hgetall("none"), Ok(vec![]));

        assert_eq!(kv.sadd("s", ["x", "y", "x"]), Ok(2));
        assert_eq!(kv.sismember("s", "x"), Ok(true));
        let mut m = kv.smembers("s").unwrap();
        m.sort();
        assert_eq!(m, vec!["x", "y"]);
        assert_eq!(kv.srem("s", ["x"]), Ok(1));
        assert_eq!(kv.scard("s"), Ok(1));

        assert_eq!(kv.zadd("z", 2.0, "b"), Ok(true));
        assert_eq!(
            kv.zadd_many("z", [(1.0, "a"), (3.5, "c"), (9.0, "b")]),
            Ok(2)
        );
        assert_eq!(kv.zrange("z", 0, -1).unwrap(), vec!["a", "c", "b"]);
        assert_eq!(kv.zscore("z", "c"), Ok(Some(3.5)));
        assert_eq!(kv.zscore("z", "q"), Ok(None));
        assert_eq!(kv.zincr_by("z", 0.25, "a"), Ok(1.25));
        assert_eq!(kv.zrank("z", "b"), Ok(Some(2)));
        assert_eq!(kv.zrank("z", "q"), Ok(None));
        let ws = kv.zrange_withscores("z", 0, 1).unwrap();
        assert_eq!(ws, vec![(Bytes::from("a"), 1.25), (Bytes::from("c"), 3.5)]);
        // RESP2 replies (flat arrays, scores as bulk strings) convert the same.
        let ws2 = kv
            .with_protocol(Protocol::Resp2)
            .zrange_withscores("z", 0, 1)
            .unwrap();
        assert_eq!(ws2, ws);
        assert_eq!(
            kv.with_protocol(Protocol::Resp2).zscore("z", "c"),
            Ok(Some(3.5))
        );
        assert_eq!(kv.zrem("z", ["a"]), Ok(1));
        assert_eq!(kv.zcard("z"), Ok(2));
    }

    #[test]
    fn databases_are_separate() {
        let kv = kv();
        let db3 = kv.select(3).unwrap();
        db3.set("k", "three").unwrap();
        assert_eq!(kv.get("k"), Ok(None));
        assert_eq!(db3.db(), 3);
        assert_eq!(
            kv.command(3, &[&b"GET"[..], b"k"]),
            Reply::Bulk(Bytes::from("three"))
        );
    }

    #[test]
    fn commit_hook_sees_writes_only() {
        let calls = Arc::new(parking_lot::Mutex::new(Vec::new()));
        let c = calls.clone();
        let kv = Kevy::new(4, 16).with_commit_hook(move |ids| {
            c.lock().push(ids.to_vec());
            Ok(())
        });
        kv.set("a", "1").unwrap();
        kv.get("a").unwrap();
        kv.mset([("a", "1"), ("b", "2"), ("c", "3")]).unwrap();
        let seen = calls.lock().clone();
        assert_eq!(seen.len(), 2);
        assert_eq!(seen[0], vec![kv.store().shard_of(b"a")]);
        let failing = kv.with_commit_hook(|_| Err(CmdError::err("fsync failed")));
        assert_eq!(
            failing.set("x", "y"),
            Err(CmdError::Other("ERR fsync failed".into()))
        );
        assert_eq!(failing.get("x").unwrap().as_deref(), Some(&b"y"[..]));
    }

    #[test]
    fn blocking_commands_do_not_wait() {
        let kv = kv();
        let r = kv.command(0, &[&b"BLPOP"[..], b"nothing", b"0"]);
        assert_eq!(r, Reply::NilArray);
    }

    #[test]
    fn atomic_batch_is_all_or_nothing_for_readers() {
        let kv = Kevy::new(8, 16);
        kv.mset((0..100).map(|i| (format!("acct:{i}"), "100")))
            .unwrap();
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let reader = {
            let kv = kv.clone();
            let stop = stop.clone();
            std::thread::spawn(move || {
                let keys: Vec<String> = (0..100).map(|i| format!("acct:{i}")).collect();
                let mut checks = 0;
                while !stop.load(Ordering::Relaxed) {
                    // MGET locks every shard it reads, so it sees whole transfers only.
                    let total: i64 = kv
                        .mget(&keys)
                        .unwrap()
                        .iter()
                        .map(|v| {
                            std::str::from_utf8(v.as_ref().unwrap())
                                .unwrap()
                                .parse::<i64>()
                                .unwrap()
                        })
                        .sum();
                    assert_eq!(total, 10_000);
                    let snap: i64 = kv
                        .snapshot()
                        .iter()
                        .map(|(_, _, e)| match &e.value {
                            Value::Str { s, .. } => {
                                std::str::from_utf8(s).unwrap().parse::<i64>().unwrap()
                            }
                            _ => 0,
                        })
                        .sum();
                    assert_eq!(snap, 10_000);
                    checks += 1;
                }
                checks
            })
        };
        for i in 0..2000 {
            let (a, b) = (
                format!("acct:{}", i % 100),
                format!("acct:{}", (i * 7 + 3) % 100),
            );
            let r = kv.atomic(&[
                &[&b"DECRBY"[..], a.as_bytes(), b"5"],
                &[&b"INCRBY"[..], b.as_bytes(), b"5"],
            ]);
            assert!(r.iter().all(|r| matches!(r, Reply::Int(_))), "{r:?}");
        }
        stop.store(true, Ordering::Relaxed);
        assert!(reader.join().unwrap() > 0);
    }

    #[test]
    fn snapshot_is_frozen_and_iterable() {
        let kv = kv();
        kv.set("a", "1").unwrap();
        kv.select(2).unwrap().rpush("l", ["x", "y"]).unwrap();
        kv.set_ex("short", "v", Duration::from_millis(5)).unwrap();
        let snap = kv.snapshot();
        kv.set("a", "changed").unwrap();
        kv.set("b", "new").unwrap();
        assert_eq!(snap.len(), 3);
        let mut seen: Vec<(usize, Vec<u8>, &'static str)> = snap
            .iter()
            .map(|(db, k, e)| (db, k.to_vec(), e.value.type_name()))
            .collect();
        seen.sort();
        assert_eq!(
            seen,
            vec![
                (0, b"a".to_vec(), "string"),
                (0, b"short".to_vec(), "string"),
                (2, b"l".to_vec(), "list")
            ]
        );
        match snap.get(0, "a").map(|e| &e.value) {
            Some(Value::Str { s, .. }) => assert_eq!(&s[..], b"1"),
            other => panic!("{other:?}"),
        }
        assert!(snap.get(0, "b").is_none());
        assert!(snap.get(1, "a").is_none());
        let later = Snapshot::from_views(snap.views().to_vec(), T0 + 10);
        assert_eq!(later.iter().count(), 2);
        assert_eq!(snap.views().iter().flat_map(|v| v.entries()).count(), 3);
    }
}
