//! `Ctx`: what a command body sees. It routes each key to its (already
//! locked) shard, applies lazy expiry on every lookup, and collects the side
//! effects Redis attaches to a write: the change counter, WATCH invalidation,
//! keyspace notifications, keys made ready for blocked clients, and the
//! deterministic form of the write for the shard's log.

use crate::db::Db;
use crate::kstr::{KStr, VStr};
use crate::locked::Locked;
use crate::shard::Shard;
use crate::value::{Entry, Value};
use crate::{error::CmdError, hash::key_slot};
use kevy_resp::Protocol;

/// Keyspace-notification classes (the `notify-keyspace-events` letters).
pub mod notify {
    #![allow(missing_docs)]
    pub const KEYSPACE: u32 = 1 << 0; // K
    pub const KEYEVENT: u32 = 1 << 1; // E
    pub const GENERIC: u32 = 1 << 2; // g
    pub const STRING: u32 = 1 << 3; // $
    pub const LIST: u32 = 1 << 4; // l
    pub const SET: u32 = 1 << 5; // s
    pub const HASH: u32 = 1 << 6; // h
    pub const ZSET: u32 = 1 << 7; // z
    pub const EXPIRED: u32 = 1 << 8; // x
    pub const EVICTED: u32 = 1 << 9; // e
    pub const STREAM: u32 = 1 << 10; // t
    pub const KEY_MISS: u32 = 1 << 11; // m
    pub const MODULE: u32 = 1 << 13; // d
    pub const NEW: u32 = 1 << 14; // n
}

/// A keyspace event raised by a command.
#[derive(Debug, Clone, PartialEq)]
pub struct Notification {
    /// Database index.
    pub db: usize,
    /// `notify::*` class of the event.
    pub class: u32,
    /// Event name (`set`, `del`, `expired`, ...).
    pub event: &'static str,
    /// The key.
    pub key: KStr,
}

/// Side effects collected while commands run; the caller drains them after
/// releasing the locks.
#[derive(Default, Debug)]
pub struct Events {
    /// Keyspace events to publish.
    pub notifications: Vec<Notification>,
    /// Keys that received elements blocked clients may be waiting for.
    pub ready_keys: Vec<(usize, KStr)>,
    /// Databases whose every key was replaced (FLUSHDB, FLUSHALL, SWAPDB):
    /// any client blocked on a key there may now be served, or told that
    /// its stream is gone, as Redis rescans such a database.
    pub replaced_dbs: Vec<usize>,
    /// Number of changes applied.
    pub dirty: u64,
    /// Keys deleted by lazy expiry (each also counted in `dirty`).
    pub expired: u64,
    /// Successful key lookups by read commands.
    pub hits: u64,
    /// Failed key lookups by read commands.
    pub misses: u64,
    /// Keys modified, collected only when [`Ctx::track_keys`] is set (for
    /// client-side-caching invalidation).
    pub modified_keys: Vec<KStr>,
}

/// A blocking command's request to wait: it found nothing to serve and asks
/// the server to park the client until one of `keys` receives data (or the
/// timeout passes), then run the same command again.
#[derive(Debug, Clone, PartialEq)]
pub struct BlockRequest {
    /// Database of the keys.
    pub db: usize,
    /// The keys to wait on, in the order the command named them.
    pub keys: Vec<KStr>,
    /// Absolute deadline in Unix ms; 0 waits forever.
    pub deadline_ms: u64,
    /// The command to re-run when a key is ready, when it is not the one
    /// that blocked: XREAD resolves `$` to the stream's last ID at the
    /// moment it blocks, and waits for entries after that one only.
    pub argv: Option<Vec<bytes::Bytes>>,
}

/// Routes a key to its shard: hash slot, then a contiguous slot range per shard.
#[inline]
pub fn shard_for(key: &[u8], nshards: usize) -> usize {
    if nshards == 1 {
        return 0;
    }
    key_slot(key) as usize * nshards / crate::hash::SLOTS as usize
}

/// The environment of one command execution.
pub struct Ctx<'a, 's> {
    locked: &'a mut Locked<'s>,
    /// Selected database.
    pub db: usize,
    /// The command's clock, Unix ms (fixed for the whole command, as Redis does).
    pub now_ms: u64,
    /// The client's protocol version.
    pub proto: Protocol,
    /// Collected side effects.
    pub events: &'a mut Events,
    /// Enabled `notify::*` classes (from `notify-keyspace-events`).
    pub notify_mask: u32,
    /// True while replaying a log: no lazy expiry, no propagation.
    pub loading: bool,
    /// Some(params) under an LFU `maxmemory-policy`: accesses update LFU
    /// counters instead of the LRU clock.
    pub lfu: Option<crate::lfu::LfuParams>,
    /// Collect modified keys into `events.modified_keys` (some client uses
    /// CLIENT TRACKING).
    pub track_keys: bool,
    /// False inside MULTI/EXEC and scripts: blocking commands then behave as
    /// if their timeout had passed.
    pub may_block: bool,
    /// The caller writes [`Reply::Stream`](kevy_resp::Reply::Stream)
    /// replies chunk by chunk (a server connection): big collection replies
    /// may then be streamed from a snapshot. False (the default) for the
    /// embedded store, replays and re-run blocked commands: every reply is
    /// then built eagerly.
    pub stream_replies: bool,
    /// The key whose readiness re-runs a blocked command (set by the
    /// server): XREAD/XREADGROUP then serve that stream alone, as Redis
    /// serves a blocked client, and report a stream or group deleted
    /// meanwhile with Redis's errors.
    pub woken: Option<KStr>,
    /// `stream-node-max-bytes` and `stream-node-max-entries`.
    pub stream_node: crate::types::stream::NodeLimits,
    /// The command was called by a script (`redis.call`): SORT then sorts
    /// a set it was asked not to, as Redis does for determinism.
    pub in_script: bool,
    block: Option<BlockRequest>,
    propagated: bool,
    route_cache: (u8, [u8; 32], usize),
}

impl<'a, 's> Ctx<'a, 's> {
    /// A context over `locked` shards.
    pub fn new(locked: &'a mut Locked<'s>, events: &'a mut Events, db: usize, now_ms: u64) -> Self {
        Ctx {
            locked,
            db,
            now_ms,
            proto: Protocol::Resp2,
            events,
            notify_mask: 0,
            loading: false,
            track_keys: false,
            lfu: None,
            may_block: true,
            stream_replies: false,
            woken: None,
            stream_node: Default::default(),
            in_script: false,
            block: None,
            propagated: false,
            route_cache: (255, [0; 32], 0),
        }
    }

    /// Asks the server to block the client on `keys` until `deadline_ms`
    /// (absolute Unix ms, 0 = forever). The command's reply is discarded;
    /// it runs again when a key is ready. Only valid when `may_block`.
    pub fn block_on(&mut self, keys: &[&[u8]], deadline_ms: u64) {
        self.block = Some(BlockRequest {
            db: self.db,
            keys: keys.iter().map(|k| KStr::from_slice(k)).collect(),
            deadline_ms,
            argv: None,
        });
    }

    /// [`Ctx::block_on`], re-running `argv` instead of the command itself
    /// when a key is ready.
    pub fn block_on_with(&mut self, keys: &[&[u8]], deadline_ms: u64, argv: Vec<bytes::Bytes>) {
        self.block_on(keys, deadline_ms);
        if let Some(b) = self.block.as_mut() {
            b.argv = Some(argv);
        }
    }

    /// True for a blocked command re-run because its key is ready while
    /// that key now holds a type other than `want` (a list waited on was
    /// replaced by a stream, say): Redis serves a blocked client only from
    /// a key of the type it waits for, so the command waits on.
    pub fn woken_by_wrong_type(&mut self, want: &str) -> bool {
        let Some(k) = self.woken.clone() else {
            return false;
        };
        matches!(self.peek(&k), Ok(Some(e)) if e.value.type_name() != want)
    }

    /// The block request the last command made, if any.
    pub fn take_block(&mut self) -> Option<BlockRequest> {
        self.block.take()
    }

    /// Number of logical databases.
    pub fn ndbs(&mut self) -> usize {
        self.locked.guards.first().map_or(0, |g| g.dbs.len())
    }

    /// Number of shards in the store.
    pub fn nshards(&self) -> usize {
        self.locked.nshards
    }

    /// True if the command propagated its own effects (see [`Ctx::propagate`]).
    pub fn propagated(&self) -> bool {
        self.propagated
    }

    /// Resets the per-command propagation flag.
    pub fn begin_command(&mut self) {
        self.propagated = false;
    }

    /// Number of shards this command holds locked.
    pub fn locked_count(&self) -> usize {
        self.locked.guards.len()
    }

    /// True when the locked shards are inside a transaction (EXEC).
    pub fn in_tx(&self) -> bool {
        self.locked.guards.iter().any(|g| g.in_tx())
    }

    /// Every locked shard.
    pub fn shards_mut(&mut self) -> impl Iterator<Item = &mut Shard> + use<'_, 'a, 's> {
        self.locked.shards_mut()
    }

    /// The shard holding `key`. Dispatch locks every shard a command's keys
    /// route to before the command runs, so a miss is a table bug; it is
    /// reported as an error rather than touching the wrong shard.
    #[inline]
    pub fn shard(&mut self, key: &[u8]) -> Result<&mut Shard, CmdError> {
        let id = self.route(key);
        self.locked
            .shard_mut(id)
            .ok_or_else(|| CmdError::err("internal error: key routed to an unlocked shard"))
    }

    /// The shard id of `key`. Commands route the same key through many
    /// `Ctx` calls, so the last short key and its shard are remembered.
    #[inline]
    fn route(&mut self, key: &[u8]) -> usize {
        let n = self.locked.nshards;
        if n == 1 {
            return 0;
        }
        let (len, ref buf, id) = self.route_cache;
        if len as usize == key.len() && key.len() <= buf.len() && buf[..key.len()] == *key {
            return id;
        }
        let id = shard_for(key, n);
        if key.len() <= 32 {
            let mut b = [0u8; 32];
            b[..key.len()].copy_from_slice(key);
            self.route_cache = (key.len() as u8, b, id);
        }
        id
    }

    /// Tells the router that `key` lives on shard `id` (the caller already
    /// computed it while choosing the locks), sparing a second hash-slot
    /// computation for the command's first key.
    #[inline]
    pub fn prime_route(&mut self, key: &[u8], id: usize) {
        if key.len() <= 32 {
            let mut b = [0u8; 32];
            b[..key.len()].copy_from_slice(key);
            self.route_cache = (key.len() as u8, b, id);
        }
    }

    /// The current database of the shard holding `key`, without expiry checks.
    #[inline]
    pub fn raw_db(&mut self, key: &[u8]) -> Result<&mut Db, CmdError> {
        let db = self.db;
        self.shard(key)?.dbs.get_mut(db).ok_or(CmdError::DbIndex)
    }

    /// Deletes `key` if it has expired (propagating a DEL and raising the
    /// `expired` event). Returns true if it was deleted.
    pub fn expire_if_needed(&mut self, key: &[u8]) -> Result<bool, CmdError> {
        let now = self.now_ms;
        let loading = self.loading;
        let db = self.db;
        let shard = self.shard(key)?;
        let Some(d) = shard.dbs.get_mut(db) else {
            return Err(CmdError::DbIndex);
        };
        if d.volatile_len() == 0 {
            // No key of this db carries a TTL: nothing can have expired, and
            // the lookup below (a B-tree walk) is skipped.
            return Ok(false);
        }
        match d.get(key) {
            Some(e) if e.is_expired(now) && !loading => {
                let stream = matches!(e.value, Value::Stream(_));
                d.remove(key);
                shard.log(db, &[b"DEL", key]);
                shard.touch_watched(db, key);
                self.events.dirty += 1;
                self.events.expired += 1;
                if self.track_keys {
                    self.events.modified_keys.push(KStr::from_slice(key));
                }
                self.notify(notify::EXPIRED, "expired", key);
                if stream {
                    self.key_ready(key);
                }
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    /// The live entry under `key` (expired keys are deleted first); records
    /// the access for LRU.
    #[inline]
    pub fn get(&mut self, key: &[u8]) -> Result<Option<&Entry>, CmdError> {
        self.expire_if_needed(key)?;
        let clock = crate::value::lru_clock(self.now_ms);
        let (lfu, now) = (self.lfu, self.now_ms);
        let keymiss = self.notify_mask & notify::KEY_MISS != 0
            && self.notify_mask & (notify::KEYSPACE | notify::KEYEVENT) != 0;
        let hits = &mut self.events.hits;
        let misses = &mut self.events.misses;
        let notifications = &mut self.events.notifications;
        let db = self.db;
        let id = shard_for(key, self.locked.nshards);
        let shard = self
            .locked
            .shard_mut(id)
            .ok_or_else(|| CmdError::err("internal error: key routed to an unlocked shard"))?;
        let e = shard.dbs.get_mut(db).ok_or(CmdError::DbIndex)?.get(key);
        match e {
            Some(e) => {
                match lfu {
                    Some(p) => e.touch(crate::lfu::lfu_touch(e.access(), now, p)),
                    None => e.touch(clock),
                }
                *hits += 1;
            }
            None => {
                *misses += 1;
                if keymiss {
                    // Redis's lookupKeyRead raises `keymiss` (class `m`).
                    notifications.push(Notification {
                        db,
                        class: notify::KEY_MISS,
                        event: "keymiss",
                        key: KStr::from_slice(key),
                    });
                }
            }
        }
        Ok(e)
    }

    /// The live entry under `key` without recording an access (OBJECT,
    /// TYPE-like introspection that Redis does not count as a use).
    pub fn peek(&mut self, key: &[u8]) -> Result<Option<&Entry>, CmdError> {
        self.expire_if_needed(key)?;
        Ok(self.raw_db(key)?.get(key))
    }

    /// The live entry under `key`, for modification in place.
    #[inline]
    pub fn get_mut(&mut self, key: &[u8]) -> Result<Option<&mut Entry>, CmdError> {
        self.expire_if_needed(key)?;
        Ok(self.raw_db(key)?.get_mut(key))
    }

    /// True if `key` exists (and has not expired).
    pub fn exists(&mut self, key: &[u8]) -> Result<bool, CmdError> {
        Ok(self.get(key)?.is_some())
    }

    /// The string under `key`; `WrongType` if it holds another type.
    pub fn get_str(&mut self, key: &[u8]) -> Result<Option<&VStr>, CmdError> {
        match self.get(key)? {
            None => Ok(None),
            Some(Entry {
                value: Value::Str(s),
                ..
            }) => Ok(Some(s)),
            #[allow(unreachable_patterns)]
            Some(_) => Err(CmdError::WrongType),
        }
    }

    /// Stores `value` under `key`, dropping any expiry unless `keep_ttl`
    /// (Redis's `setKey`). Does not signal: call [`Ctx::modified`] and
    /// [`Ctx::notify`] as the command requires.
    pub fn set(
        &mut self,
        key: &[u8],
        value: Value,
        keep_ttl: bool,
    ) -> Result<Option<Entry>, CmdError> {
        // One walk of the B-tree: insert, then look at what was replaced. A
        // replaced entry that had already expired gets the side effects of a
        // lazy expiry (logged DEL before this command's own effect, WATCH,
        // `expired` event), exactly as if it had been found and deleted first.
        let clock = self.new_access_word();
        let (now, loading, dbi) = (self.now_ms, self.loading, self.db);
        let shard = self.shard(key)?;
        let d = shard.dbs.get_mut(dbi).ok_or(CmdError::DbIndex)?;
        let e = Entry::with_expiry(value, 0);
        e.touch(clock);
        let old = d.insert(key, e);
        let expired = old.as_ref().is_some_and(|o| o.is_expired(now)) && !loading;
        if keep_ttl && !expired {
            if let Some(at) = old.as_ref().and_then(|o| o.expire_at()) {
                d.set_expire(key, at);
            }
        }
        if expired {
            shard.log(dbi, &[b"DEL", key]);
            shard.touch_watched(dbi, key);
            self.events.dirty += 1;
            self.events.expired += 1;
            if self.track_keys {
                self.events.modified_keys.push(KStr::from_slice(key));
            }
            self.notify(notify::EXPIRED, "expired", key);
            self.notify(notify::NEW, "new", key);
            return Ok(None);
        }
        if old.is_none() {
            // Redis's dbAdd raises `new` (class `n`) for every key it creates.
            self.notify(notify::NEW, "new", key);
        }
        self.stream_gone(key, old.as_ref());
        Ok(old)
    }

    /// A stream under `key` was deleted or overwritten: consumers blocked
    /// on it are woken to get Redis's "no longer exists" error.
    fn stream_gone(&mut self, key: &[u8], old: Option<&Entry>) {
        if old.is_some_and(|e| matches!(e.value, Value::Stream(_))) {
            self.key_ready(key);
        }
    }

    /// The access word a key created now starts with (LRU clock, or LFU's
    /// initial counter under an LFU policy).
    pub fn new_access_word(&self) -> u32 {
        match self.lfu {
            Some(_) => crate::lfu::lfu_new(self.now_ms),
            None => crate::value::lru_clock(self.now_ms),
        }
    }

    /// Stores a whole entry (value and expiry) under `key`.
    pub fn set_entry(&mut self, key: &[u8], entry: Entry) -> Result<Option<Entry>, CmdError> {
        self.expire_if_needed(key)?;
        let old = self.raw_db(key)?.insert(key, entry);
        if old.is_none() {
            self.notify(notify::NEW, "new", key);
        }
        self.stream_gone(key, old.as_ref());
        Ok(old)
    }

    /// Deletes `key`; returns its entry if it existed (and was live).
    pub fn remove(&mut self, key: &[u8]) -> Result<Option<Entry>, CmdError> {
        if self.expire_if_needed(key)? {
            return Ok(None);
        }
        let old = self.raw_db(key)?.remove(key);
        self.stream_gone(key, old.as_ref());
        Ok(old)
    }

    /// Sets the absolute expiry (Unix ms) of an existing key; 0 clears it.
    pub fn set_expire(&mut self, key: &[u8], at_ms: u64) -> Result<bool, CmdError> {
        Ok(self.raw_db(key)?.set_expire(key, at_ms))
    }

    /// Signals that `key` changed: counts one change and invalidates WATCHes.
    #[inline]
    pub fn modified(&mut self, key: &[u8]) {
        self.events.dirty += 1;
        if self.track_keys {
            self.events.modified_keys.push(KStr::from_slice(key));
        }
        let db = self.db;
        if let Ok(s) = self.shard(key) {
            s.touch_watched(db, key);
        }
    }

    /// Invalidates WATCHes on `key` without counting a change: for commands
    /// that touch several keys but count as one change (RENAME, MOVE), as
    /// Redis's `signalModifiedKey` without `server.dirty++`.
    #[inline]
    pub fn signal_modified(&mut self, key: &[u8]) {
        if self.track_keys {
            self.events.modified_keys.push(KStr::from_slice(key));
        }
        let db = self.db;
        if let Ok(s) = self.shard(key) {
            s.touch_watched(db, key);
        }
    }

    /// The empty result of a *STORE command: `dst` is deleted (logged as
    /// `DEL`, with the `del` event) if it existed; otherwise nothing is
    /// logged at all, as Redis does.
    pub fn store_empty(&mut self, dst: &[u8]) -> Result<(), CmdError> {
        if self.remove(dst)?.is_some() {
            self.modified(dst);
            self.notify(notify::GENERIC, "del", dst);
            self.propagate(dst, &[b"DEL", dst]);
        } else {
            self.suppress_propagation();
        }
        Ok(())
    }

    /// Raises `keymiss` for a read lookup of a missing key (for commands
    /// that look up without [`Ctx::get`], as Redis's lookupKeyRead does).
    pub fn key_miss(&mut self, key: &[u8]) {
        self.notify(notify::KEY_MISS, "keymiss", key);
    }

    /// Raises a keyspace event if its class is enabled.
    #[inline]
    pub fn notify(&mut self, class: u32, event: &'static str, key: &[u8]) {
        if self.notify_mask & class != 0
            && self.notify_mask & (notify::KEYSPACE | notify::KEYEVENT) != 0
        {
            self.events.notifications.push(Notification {
                db: self.db,
                class,
                event,
                key: KStr::from_slice(key),
            });
        }
    }

    /// Records that `key` received data blocked clients may wait for.
    pub fn key_ready(&mut self, key: &[u8]) {
        self.events
            .ready_keys
            .push((self.db, KStr::from_slice(key)));
    }

    /// Logs `argv` (the deterministic form of an effect) to the shard that
    /// holds `route_key`, and marks the command as having propagated its own
    /// effects (so the verbatim command is not logged as well).
    pub fn propagate(&mut self, route_key: &[u8], argv: &[&[u8]]) {
        self.propagated = true;
        if self.loading {
            return;
        }
        let db = self.db;
        if let Ok(s) = self.shard(route_key) {
            s.log(db, argv);
        }
    }

    /// Logs `argv` to every locked shard (FLUSHALL, FLUSHDB, SWAPDB).
    pub fn propagate_all(&mut self, argv: &[&[u8]]) {
        self.propagated = true;
        if self.loading {
            return;
        }
        let db = self.db;
        for s in self.locked.shards_mut() {
            s.log(db, argv);
        }
    }

    /// Marks the command as propagated without logging anything (a write
    /// command that turned out to change nothing worth logging).
    pub fn suppress_propagation(&mut self) {
        self.propagated = true;
    }
}
