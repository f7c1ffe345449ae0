//! The undo log of a partial-mode script run: the before-image of every
//! key the run wrote (taken before the first command that could change
//! it), restored in reverse when the run must start again holding every
//! shard. Before-images are entries cloned in O(1) (collections share
//! their trees until written).

use bytes::Bytes;
use kevy_store::{Entry, Locked};

/// Before-images, oldest first.
#[derive(Default)]
pub(super) struct Undo {
    saved: Vec<(usize, usize, Bytes, Option<Entry>)>,
}

impl Undo {
    /// Keeps `key`'s current entry in `db` of shard `shard`, unless it was
    /// kept already this run.
    pub(super) fn save(&mut self, locked: &mut Locked<'_>, shard: usize, db: usize, key: &[u8]) {
        if self
            .saved
            .iter()
            .any(|(s, d, k, _)| *s == shard && *d == db && k[..] == *key)
        {
            return;
        }
        let before = locked
            .shard_mut(shard)
            .and_then(|s| s.dbs.get(db))
            .and_then(|d| d.get(key))
            .cloned();
        self.saved
            .push((shard, db, Bytes::copy_from_slice(key), before));
    }

    /// Puts every saved key back as it was.
    pub(super) fn roll_back(self, locked: &mut Locked<'_>) {
        for (shard, db, key, before) in self.saved.into_iter().rev() {
            let Some(d) = locked.shard_mut(shard).and_then(|s| s.dbs.get_mut(db)) else {
                continue;
            };
            match before {
                Some(e) => {
                    d.insert(&key, e);
                }
                None => {
                    d.remove(&key);
                }
            }
        }
    }
}
