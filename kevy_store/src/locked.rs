//! `Locked`: the shard locks a command, a batch of commands or a
//! transaction holds, always taken in ascending shard order (see
//! `Store::lock`/`relock`).

use crate::ctx::shard_for;
use crate::shard::Shard;
use parking_lot::MutexGuard;

/// The shards a command (or a batch of commands) holds locked, in ascending
/// shard order.
pub struct Locked<'s> {
    pub(crate) guards: Vec<MutexGuard<'s, Shard>>,
    pub(crate) nshards: usize,
}

impl<'s> Locked<'s> {
    /// Ids of the locked shards, ascending.
    pub fn ids(&self) -> impl Iterator<Item = usize> + '_ {
        self.guards.iter().map(|g| g.id())
    }

    /// Hints the CPU to start loading what a lookup of `key` in database
    /// `db` will read (see [`HashTrie::prefetch`](crate::HashTrie::prefetch)),
    /// when its shard is among the locked ones; otherwise nothing. Reads
    /// nothing it could not read under the held lock.
    pub fn prefetch(&self, db: usize, key: &[u8], stage: u8) {
        let id = shard_for(key, self.nshards);
        if let Some(g) = self.guards.iter().find(|g| g.id() == id) {
            if let Some(d) = g.dbs.get(db) {
                d.prefetch(key, stage);
            }
        }
    }

    /// The locked shard with id `id`, if held.
    pub fn shard_mut(&mut self, id: usize) -> Option<&mut Shard> {
        self.guards
            .iter_mut()
            .find(|g| g.id() == id)
            .map(|g| &mut **g)
    }

    /// Every locked shard.
    pub fn shards_mut(&mut self) -> impl Iterator<Item = &mut Shard> + use<'_, 's> {
        self.guards.iter_mut().map(|g| &mut **g)
    }

    /// Each locked shard's id with its log position now (see
    /// [`ShardLog::position`](crate::ShardLog::position)): read while the
    /// locks are held, it bounds exactly the effects made under them.
    pub fn positions(&self) -> impl Iterator<Item = (usize, u64)> + '_ {
        self.guards.iter().map(|g| (g.id(), g.log_position()))
    }

    /// True if shard `id` is among the locked ones.
    pub fn holds(&self, id: usize) -> bool {
        self.guards.iter().any(|g| g.id() == id)
    }

    /// Number of shards held.
    pub fn len(&self) -> usize {
        self.guards.len()
    }

    /// True when no shard is held.
    pub fn is_empty(&self) -> bool {
        self.guards.is_empty()
    }

    /// Releases every lock.
    pub fn release(&mut self) {
        self.guards.clear();
    }

    /// Number of shards in the store.
    pub fn nshards(&self) -> usize {
        self.nshards
    }
}
