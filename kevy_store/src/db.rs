//! `Db`: one logical database of one shard. Keys live in a persistent
//! hash trie (`HashTrie`) ordered by (seeded hash, bytes): cloning it is O(1)
//! (the basis of `SnapshotView`), a SCAN cursor is simply the hash to resume
//! from (so keys present for the whole scan are always returned, whatever is
//! written meanwhile), and a random key is the first one at or after a random
//! hash. Keys with an expiry are also indexed in `expires`, the set the active
//! expiry cycle samples.

use crate::hash::key_hash;
use crate::keymap::HashTrie;
use crate::kstr::KStr;
use crate::value::Entry;
use std::cmp::Ordering;
use std::collections::BTreeSet;

/// A key with its cached hash; ordered by (hash, bytes).
#[derive(Clone, Debug)]
pub struct Key {
    hash: u64,
    s: KStr,
}

impl Key {
    /// Builds the lookup/storage key for `b`.
    #[inline]
    pub fn new(b: &[u8]) -> Key {
        Key {
            hash: key_hash(b),
            s: KStr::from_slice(b),
        }
    }

    /// A key with a chosen hash (tests that need collisions).
    #[cfg(test)]
    pub(crate) fn with_hash(hash: u64, b: &[u8]) -> Key {
        Key {
            hash,
            s: KStr::from_slice(b),
        }
    }

    fn lowest_at(hash: u64) -> Key {
        Key {
            hash,
            s: KStr::empty(),
        }
    }

    /// The key's bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.s
    }

    /// The key as a shared string.
    pub fn kstr(&self) -> &KStr {
        &self.s
    }

    /// The key's position in iteration order (what a SCAN cursor names).
    pub fn hash(&self) -> u64 {
        self.hash
    }
}

impl PartialEq for Key {
    fn eq(&self, o: &Key) -> bool {
        self.hash == o.hash && self.s == o.s
    }
}
impl Eq for Key {}
impl PartialOrd for Key {
    fn partial_cmp(&self, o: &Key) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Key {
    #[inline]
    fn cmp(&self, o: &Key) -> Ordering {
        self.hash.cmp(&o.hash).then_with(|| self.s.cmp(&o.s))
    }
}

/// The persistent map behind a database; cloning it is O(1).
pub type KeyMap = HashTrie<Entry>;

/// One logical database (`SELECT n`) within one shard.
#[derive(Default, Clone)]
pub struct Db {
    map: KeyMap,
    expires: BTreeSet<Key>,
}

impl Db {
    /// An empty database.
    pub fn new() -> Db {
        Db::default()
    }

    /// Number of keys, including expired ones not yet reclaimed.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// True when the database holds no key.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Number of keys with an expiry.
    pub fn volatile_len(&self) -> usize {
        self.expires.len()
    }

    /// The entry under `key`, expired or not.
    #[inline]
    pub fn get(&self, key: &[u8]) -> Option<&Entry> {
        self.map.get(key_hash(key), key)
    }

    /// Starts loading what a lookup of `key` will read (a CPU hint only).
    #[inline]
    pub fn prefetch(&self, key: &[u8], stage: u8) {
        self.map.prefetch(key_hash(key), stage);
    }

    /// The entry under `key` for modification in place (copies the path on
    /// write when a snapshot shares it). Do not change the expiry through it:
    /// use [`Db::set_expire`].
    #[inline]
    pub fn get_mut(&mut self, key: &[u8]) -> Option<&mut Entry> {
        self.map.get_mut(key_hash(key), key)
    }

    /// Stores `entry` under `key`, returning the previous entry.
    pub fn insert(&mut self, key: &[u8], entry: Entry) -> Option<Entry> {
        let k = Key::new(key);
        let volatile = entry.expire_at != 0;
        let old = self.map.insert(k.clone(), entry);
        let was = old.as_ref().is_some_and(|o| o.expire_at != 0);
        if volatile && !was {
            self.expires.insert(k);
        } else if !volatile && was {
            self.expires.remove(&k);
        }
        old
    }

    /// Removes `key`, returning its entry.
    pub fn remove(&mut self, key: &[u8]) -> Option<Entry> {
        let h = key_hash(key);
        let old = self.map.remove(h, key)?;
        if old.expire_at != 0 {
            self.expires.remove(&Key::new(key));
        }
        Some(old)
    }

    /// Sets (`at` > 0) or clears (`at` == 0) the absolute expiry of an
    /// existing key. Returns false if the key does not exist.
    pub fn set_expire(&mut self, key: &[u8], at: u64) -> bool {
        let Some(e) = self.map.get_mut(key_hash(key), key) else {
            return false;
        };
        let had = e.expire_at != 0;
        e.expire_at = at;
        match (had, at != 0) {
            (false, true) => {
                self.expires.insert(Key::new(key));
            }
            (true, false) => {
                self.expires.remove(&Key::new(key));
            }
            _ => {}
        }
        true
    }

    /// Removes every key, returning the old contents (so the caller may drop
    /// them on another thread, as `FLUSHDB ASYNC` does).
    pub fn take(&mut self) -> Db {
        std::mem::take(self)
    }

    /// Iterates every entry in key-hash order.
    pub fn iter(&self) -> impl Iterator<Item = (&Key, &Entry)> {
        self.map.iter()
    }

    /// Visits entries in hash order starting at `cursor` until `f` returns
    /// false; returns the cursor to resume from (0 when the walk reached the end).
    pub fn scan_from(&self, cursor: u64, mut f: impl FnMut(&Key, &Entry) -> bool) -> u64 {
        let mut it = self.map.iter_from(&Key::lowest_at(cursor), true);
        for (k, e) in &mut it {
            if !f(k, e) {
                return match it.next() {
                    Some((next, _)) => next.hash,
                    None => 0,
                };
            }
        }
        0
    }

    /// The first key at or after the position `r` (wrapping), a cheap random
    /// pick when `r` is random.
    pub fn key_at(&self, r: u64) -> Option<&Key> {
        self.map
            .iter_from(&Key::lowest_at(r), true)
            .next()
            .or_else(|| self.map.iter().next())
            .map(|(k, _)| k)
    }

    /// Up to `n` keys with an expiry, starting at position `r` (wrapping).
    pub fn sample_volatile(&self, r: u64, n: usize) -> Vec<Key> {
        let mut out: Vec<Key> = self
            .expires
            .range(Key::lowest_at(r)..)
            .take(n)
            .cloned()
            .collect();
        if out.len() < n {
            for k in self.expires.iter().take(n - out.len()) {
                if out.first().is_some_and(|f| f == k) {
                    break;
                }
                out.push(k.clone());
            }
        }
        out
    }

    /// An O(1) frozen copy of the contents.
    pub fn snapshot(&self) -> KeyMap {
        self.map.clone()
    }

    /// Puts back contents frozen earlier by [`Db::snapshot`], rebuilding
    /// the expiry index from them (O(keys): only an undo after a failed
    /// log write takes this path).
    pub fn restore(&mut self, map: KeyMap) {
        self.expires = map
            .iter()
            .filter(|(_, e)| e.expire_at != 0)
            .map(|(k, _)| k.clone())
            .collect();
        self.map = map;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::Value;

    #[test]
    fn insert_expire_remove() {
        let mut db = Db::new();
        db.insert(b"a", Entry::new(Value::str(b"1")));
        assert!(db.set_expire(b"a", 100));
        assert_eq!(db.volatile_len(), 1);
        db.insert(b"a", Entry::new(Value::str(b"2")));
        assert_eq!(db.volatile_len(), 0);
        assert!(db.set_expire(b"a", 100));
        assert!(db.remove(b"a").is_some());
        assert_eq!(db.volatile_len(), 0);
        assert!(!db.set_expire(b"a", 100));
    }

    #[test]
    fn scan_visits_everything_once_without_writes() {
        let mut db = Db::new();
        for i in 0..1000 {
            db.insert(format!("k{i}").as_bytes(), Entry::new(Value::str(b"v")));
        }
        let mut seen = std::collections::HashSet::new();
        let mut cursor = 0;
        loop {
            let mut n = 0;
            cursor = db.scan_from(cursor, |k, _| {
                assert!(seen.insert(k.bytes().to_vec()));
                n += 1;
                n < 10
            });
            if cursor == 0 {
                break;
            }
        }
        assert_eq!(seen.len(), 1000);
    }
}
