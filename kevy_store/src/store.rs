//! `Store`: the whole keyspace as `S` shards, each behind its own lock, plus
//! the entry points that find a command, lock the shards its keys route to
//! (ascending, so multi-shard commands never deadlock), run it and log its
//! effects. Servers drive it a batch at a time; embedders can call
//! [`Store::execute`] directly.

use crate::cmd::{self, StoreCommand};
use crate::ctx::{shard_for, Ctx, Events};
use crate::db::KeyMap;
use crate::locked::Locked;
use crate::shard::{Shard, ShardLog};
use crate::spec::flags;
use bytes::Bytes;
use kevy_resp::Reply;
use parking_lot::Mutex;

/// The sharded keyspace.
pub struct Store {
    shards: Box<[Mutex<Shard>]>,
    ndbs: usize,
}

impl Store {
    /// A store with `nshards` shards (at least 1) and `ndbs` databases.
    pub fn new(nshards: usize, ndbs: usize) -> Store {
        let nshards = nshards.max(1);
        let ndbs = ndbs.max(1);
        Store {
            shards: (0..nshards)
                .map(|i| Mutex::new(Shard::new(i, ndbs)))
                .collect(),
            ndbs,
        }
    }

    /// Number of shards.
    pub fn nshards(&self) -> usize {
        self.shards.len()
    }

    /// Number of logical databases.
    pub fn ndbs(&self) -> usize {
        self.ndbs
    }

    /// The shard `key` routes to.
    #[inline]
    pub fn shard_of(&self, key: &[u8]) -> usize {
        shard_for(key, self.shards.len())
    }

    /// Locks the shards in `ids` (must be ascending and unique).
    pub fn lock(&self, ids: &[usize]) -> Locked<'_> {
        let mut l = Locked {
            guards: Vec::with_capacity(ids.len()),
            nshards: self.shards.len(),
        };
        for &i in ids {
            if let Some(m) = self.shards.get(i) {
                l.guards.push(m.lock());
            }
        }
        l
    }

    /// Locks every shard.
    pub fn lock_all(&self) -> Locked<'_> {
        Locked {
            guards: self.shards.iter().map(|m| m.lock()).collect(),
            nshards: self.shards.len(),
        }
    }

    /// Adds shard `id` to `locked` if its lock is free right now; never
    /// waits, so it may be called whatever `locked` already holds (out of
    /// ascending order). True if `locked` holds it afterwards.
    pub fn try_lock_into<'s>(&'s self, locked: &mut Locked<'s>, id: usize) -> bool {
        if locked.guards.iter().any(|g| g.id() == id) {
            return true;
        }
        let Some(m) = self.shards.get(id) else {
            return false;
        };
        match m.try_lock() {
            Some(g) => {
                let at = locked.guards.partition_point(|h| h.id() < id);
                locked.guards.insert(at, g);
                true
            }
            None => false,
        }
    }

    /// Makes `locked` hold exactly `ids` (ascending), keeping the locks it
    /// already holds when they match: a pipelined batch whose commands hit
    /// the same shard takes that lock once.
    pub fn relock<'s>(&'s self, locked: &mut Locked<'s>, ids: &[usize]) {
        if locked.guards.len() == ids.len()
            && locked.guards.iter().zip(ids).all(|(g, &i)| g.id() == i)
        {
            return;
        }
        locked.guards.clear();
        for &i in ids {
            if let Some(m) = self.shards.get(i) {
                locked.guards.push(m.lock());
            }
        }
    }

    /// [`Store::relock`] that gives up while `stop()` says so: a lock that
    /// is not free is waited for in short slices, and between them `stop`
    /// is asked (a script holding the lock has run too long, and the
    /// caller must answer BUSY instead of waiting). False when it gave up;
    /// `locked` then holds nothing.
    pub fn relock_or<'s>(
        &'s self,
        locked: &mut Locked<'s>,
        ids: &[usize],
        stop: impl Fn() -> bool,
    ) -> bool {
        if locked.guards.len() == ids.len()
            && locked.guards.iter().zip(ids).all(|(g, &i)| g.id() == i)
        {
            return true;
        }
        locked.guards.clear();
        for &i in ids {
            let Some(m) = self.shards.get(i) else {
                continue;
            };
            let g = match m.try_lock() {
                Some(g) => g,
                None => loop {
                    if let Some(g) = m.try_lock_for(std::time::Duration::from_millis(10)) {
                        break g;
                    }
                    if stop() {
                        locked.guards.clear();
                        return false;
                    }
                },
            };
            locked.guards.push(g);
        }
        true
    }

    /// The ascending, unique shard ids `cmd` needs for `argv`, into `out`.
    pub fn shards_for(&self, cmd: &StoreCommand, argv: &[Bytes], out: &mut Vec<usize>) {
        self.shards_and_first_key(cmd, argv, out);
    }

    /// [`Store::shards_for`], also returning the position in `argv` of the
    /// command's first key (for [`Ctx::prime_route`]).
    pub fn shards_and_first_key(
        &self,
        cmd: &StoreCommand,
        argv: &[Bytes],
        out: &mut Vec<usize>,
    ) -> Option<usize> {
        out.clear();
        if cmd.meta.flags & flags::ALL_SHARDS != 0 {
            out.extend(0..self.shards.len());
            return None;
        }
        let n = self.shards.len();
        let mut first = None;
        cmd.meta.for_each_key(argv, |i| {
            first.get_or_insert(i);
            out.push(shard_for(&argv[i], n))
        });
        if out.len() > 1 {
            out.sort_unstable();
            out.dedup();
        }
        first
    }

    /// Installs the log for shard `id`.
    pub fn set_log(&self, id: usize, log: Option<Box<dyn ShardLog>>) {
        if let Some(m) = self.shards.get(id) {
            m.lock().set_log(log);
        }
    }

    /// Runs one command (`argv[0]` is its name) against database `db`:
    /// the simple embedded entry point. Locks what it needs, runs, logs.
    pub fn execute(&self, db: usize, argv: &[Bytes], now_ms: u64) -> (Reply, Events) {
        let mut events = Events::default();
        let Some(name) = argv.first() else {
            return (Reply::error("ERR empty command"), events);
        };
        let Some(cmd) = cmd::lookup(name) else {
            return (Reply::error(cmd::unknown_command_error(argv)), events);
        };
        if !cmd.meta.arity_ok(argv.len()) {
            return (Reply::error(cmd::arity_error(cmd.meta.name)), events);
        }
        let mut ids = Vec::new();
        self.shards_for(cmd, argv, &mut ids);
        let mut locked = self.lock(&ids);
        let reply = {
            let mut ctx = Ctx::new(&mut locked, &mut events, db, now_ms);
            run(&mut ctx, cmd, argv)
        };
        (reply, events)
    }

    /// O(1) frozen copies of every shard's databases (each shard frozen under
    /// its own lock; shards are frozen one after another).
    pub fn snapshot(&self) -> Vec<SnapshotView> {
        self.shards
            .iter()
            .map(|m| {
                let s = m.lock();
                SnapshotView {
                    dbs: s.dbs.iter().map(|d| d.snapshot()).collect(),
                }
            })
            .collect()
    }
}

/// Runs `cmd` in `ctx` and, for a write that changed something without
/// logging its own deterministic form, logs `argv` verbatim to the shard of
/// its first key.
pub fn run(ctx: &mut Ctx<'_, '_>, cmd: &StoreCommand, argv: &[Bytes]) -> Reply {
    ctx.begin_command();
    if cmd.meta.is_write() && !ctx.loading {
        if let Some(e) = ctx.shards_mut().find_map(|s| s.refusal().cloned()) {
            return Reply::Error(Bytes::copy_from_slice(e.as_bytes()));
        }
    }
    let (dirty_before, expired_before) = (ctx.events.dirty, ctx.events.expired);
    // A write over several shards logs into several files: bracket it so
    // recovery applies all of it or none (see `end_tx_all`).
    let bracket = cmd.meta.is_write() && !ctx.loading && ctx.locked_count() > 1 && !ctx.in_tx();
    if bracket {
        ctx.shards_mut().for_each(|s| s.begin_tx());
    }
    let reply = match (cmd.run)(ctx, argv) {
        Ok(r) => r,
        Err(e) => e.reply(),
    };
    // Lazy expiry logs its own DELs: a command whose only changes were
    // expired keys it looked at (say, one that then failed) logs nothing
    // more, or replay would run a command that fails.
    let own_changes = ctx.events.dirty.saturating_sub(dirty_before)
        > ctx.events.expired.saturating_sub(expired_before);
    if cmd.meta.is_write() && own_changes && !ctx.propagated() && !ctx.loading {
        let mut first = None;
        cmd.meta.for_each_key(argv, |i| {
            if first.is_none() {
                first = Some(i)
            }
        });
        if let Some(i) = first {
            if ctx.shard(&argv[i]).is_ok_and(|s| s.has_log()) {
                let parts: Vec<&[u8]> = argv.iter().map(|b| &b[..]).collect();
                ctx.propagate(&argv[i], &parts);
            }
        }
    }
    if bracket {
        let db = ctx.db;
        crate::shard::end_tx_all(ctx.shards_mut(), db);
    }
    reply
}

/// A frozen, O(1)-cloned copy of one shard's databases; readable on any
/// thread while the live shard keeps changing.
#[derive(Clone)]
pub struct SnapshotView {
    /// One frozen map per logical database.
    pub dbs: Vec<KeyMap>,
}

impl SnapshotView {
    /// Total number of keys (expired ones included).
    pub fn len(&self) -> usize {
        self.dbs.iter().map(|d| d.len()).sum()
    }

    /// True when no database holds a key.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Entry points for the persistence layer: atomic access to one shard (to
/// freeze it and switch its log in one critical section) and log replay.
impl Store {
    /// Runs `f` on shard `id` while holding its lock; `None` if there is no
    /// such shard. Persistence uses it to take a [`SnapshotView`] and rotate
    /// the shard's log in the same critical section.
    pub fn with_shard<R>(&self, id: usize, f: impl FnOnce(&mut Shard) -> R) -> Option<R> {
        let m = self.shards.get(id)?;
        let mut g = m.lock();
        Some(f(&mut g))
    }

    /// Replays one logged command against database `db` with
    /// `ctx.loading = true`: no lazy expiry, nothing logged. With
    /// `only = Some(s)`, a whole-keyspace command (FLUSHALL, FLUSHDB,
    /// SWAPDB) acts on shard `s` alone, as it did when shard `s` logged it.
    pub fn replay(&self, only: Option<usize>, db: usize, argv: &[Bytes], now_ms: u64) -> Reply {
        let mut events = Events::default();
        let Some(name) = argv.first() else {
            return Reply::error("ERR empty command");
        };
        let Some(cmd) = cmd::lookup(name) else {
            return Reply::error(cmd::unknown_command_error(argv));
        };
        if !cmd.meta.arity_ok(argv.len()) {
            return Reply::error(cmd::arity_error(cmd.meta.name));
        }
        let mut ids = Vec::new();
        match only {
            Some(s) if cmd.meta.flags & flags::ALL_SHARDS != 0 => ids.push(s),
            _ => self.shards_for(cmd, argv, &mut ids),
        }
        let mut locked = self.lock(&ids);
        let mut ctx = Ctx::new(&mut locked, &mut events, db, now_ms);
        ctx.loading = true;
        ctx.may_block = false;
        run(&mut ctx, cmd, argv)
    }
}

/// Replays one logged command on the shards `locked` holds, as recovery
/// does (loading: nothing expires, nothing is propagated). An undo that
/// rebuilds a shard from an older image and the log bytes after it uses it.
pub fn replay_in(locked: &mut Locked<'_>, db: usize, argv: &[Bytes], now_ms: u64) -> Reply {
    let mut events = Events::default();
    let Some(cmd) = argv.first().and_then(|n| cmd::lookup(n)) else {
        return Reply::error(cmd::unknown_command_error(argv));
    };
    if !cmd.meta.arity_ok(argv.len()) {
        return Reply::error(cmd::arity_error(cmd.meta.name));
    }
    let mut ctx = Ctx::new(locked, &mut events, db, now_ms);
    ctx.loading = true;
    ctx.may_block = false;
    run(&mut ctx, cmd, argv)
}

#[cfg(test)]
mod tests {
    use crate::cmd::testutil::T;

    /// A write command that fails after lazily expiring the key it looked
    /// at logs the expiry's DEL and nothing else: logging the command too
    /// would make recovery replay a command that fails, and refuse to start
    /// (found by the `commands` fuzz target).
    #[test]
    fn failed_write_logs_only_the_expiry() {
        let mut t = T::new();
        let rec = t.record();
        t.check(&[("SET k abc PX 100", "+OK"), ("SET n 1", "+OK")]);
        t.now += 10_000;
        t.check(&[
            ("PFDEBUG k k", "-ERR The specified key does not exist"),
            ("INCRBY n x", "-ERR value is not an integer or out of range"),
        ]);
        assert_eq!(
            rec.lines(),
            ["SET k abc PXAT 1700000000100", "SET n 1", "DEL k"]
        );
    }
}
