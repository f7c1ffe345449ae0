//! [`Snapshot`]: a frozen copy of the whole keyspace taken at one instant,
//! and iteration over shard views.

use super::*;

/// A consistent frozen copy of a whole store (see [`Kevy::snapshot`]):
/// one [`SnapshotView`] per shard, all taken at the same instant.
/// `Send + Sync` and cheap to clone; read it on any thread.
#[derive(Clone)]
pub struct Snapshot {
    pub(super) shards: Vec<SnapshotView>,
    pub(super) taken_at_ms: u64,
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
            .get(crate::hash::key_hash(key), key)
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
