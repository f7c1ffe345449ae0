//! `HashValue`: a hash (field → value) in Redis 7.0's two encodings. A
//! small hash is a `listpack`: a plain vector of pairs in insertion order
//! (bounded by [`HASH_MAX_LISTPACK_ENTRIES`] and [`HASH_MAX_LISTPACK_VALUE`],
//! so copying it when a snapshot shares it is cheap), which is the order
//! HGETALL, HKEYS, HVALS and HSCAN report, as Redis does. Past a threshold it
//! converts, once and for good, to a `hashtable`: an [`Indexed`] persistent
//! map, which clones in O(1) and copies only the touched path on write.
//! [`Indexed`] is also the large form of sets and a sorted set's member index.

use super::zset::{OsTree, TreeItem};
use super::Argv;
use crate::hash::key_hash;
use crate::kstr::KStr;
use std::cmp::Ordering;

/// `hash-max-listpack-entries`: most fields a listpack hash holds.
pub const HASH_MAX_LISTPACK_ENTRIES: usize = 512;
/// `hash-max-listpack-value`: longest field or value a listpack hash holds.
pub const HASH_MAX_LISTPACK_VALUE: usize = 64;

/// A persistent map kept in one order-statistic B+tree ([`OsTree`]) of
/// [`Slot`]s ordered by (seeded hash of the key, key). One structure per
/// entry, no separate index: the tree's counts give what a plain hash map
/// cannot, a uniformly random entry in O(log n) (SPOP, SRANDMEMBER,
/// HRANDFIELD, by rank), and the hash order gives a scan cursor that
/// survives writes, as the keyspace's SCAN does: a cursor is the hash to
/// resume from, every entry below it has been visited, and an entry's
/// position never depends on the others. Lookups are O(log n) with 64-wide
/// nodes; a clone is O(1) and a write copies only its path.
#[derive(Clone)]
pub struct Indexed<V: Clone> {
    tree: OsTree<Slot<V>>,
}

/// One entry of an [`Indexed`].
#[derive(Clone)]
pub struct Slot<V> {
    hash: u64,
    key: KStr,
    val: V,
}

impl<V: Clone> TreeItem for Slot<V> {
    #[inline]
    fn cmp_item(&self, o: &Self) -> Ordering {
        self.hash
            .cmp(&o.hash)
            .then_with(|| self.key[..].cmp(&o.key[..]))
    }
}

/// The comparison that finds `key` (whose hash is `hash`) in the tree.
#[inline]
fn seek<V>(hash: u64, key: &[u8]) -> impl Fn(&Slot<V>) -> Ordering + '_ {
    move |s| s.hash.cmp(&hash).then_with(|| s.key[..].cmp(key))
}

impl<V: Clone> Default for Indexed<V> {
    fn default() -> Self {
        Indexed {
            tree: OsTree::default(),
        }
    }
}

impl<V: Clone + std::fmt::Debug> std::fmt::Debug for Indexed<V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl<V: Clone> Indexed<V> {
    /// Bytes one entry takes in the tree, node slack included (an estimate
    /// for MEMORY USAGE: nodes are about 3/4 full).
    pub const SLOT_BYTES: usize = std::mem::size_of::<Slot<V>>() * 4 / 3;

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.tree.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.tree.is_empty()
    }

    /// The value under `k`.
    pub fn get(&self, k: &[u8]) -> Option<&V> {
        self.tree.find_by(seek(key_hash(k), k)).map(|s| &s.val)
    }

    /// The value under `k`, for modification (copies the path a snapshot
    /// shares only when `k` is there).
    pub fn get_mut(&mut self, k: &[u8]) -> Option<&mut V> {
        let h = key_hash(k);
        self.tree.find_by(seek(h, k))?;
        self.tree.find_mut_by(seek(h, k)).map(|s| &mut s.val)
    }

    /// Inserts or replaces; true when `k` is new.
    pub fn insert(&mut self, k: KStr, v: V) -> bool {
        let hash = key_hash(&k);
        if self.tree.find_by(seek(hash, &k)).is_some() {
            if let Some(s) = self.tree.find_mut_by(seek(hash, &k)) {
                s.val = v;
            }
            return false;
        }
        self.tree.insert_item(Slot {
            hash,
            key: k,
            val: v,
        });
        true
    }

    /// Removes `k`, returning its value.
    pub fn remove(&mut self, k: &[u8]) -> Option<V> {
        let h = key_hash(k);
        self.tree.find_by(seek(h, k))?;
        self.tree.remove_by(seek(h, k)).map(|s| s.val)
    }

    /// The entry numbered `i` (`i < len`) in the tree's order.
    pub fn at(&self, i: usize) -> Option<(&KStr, &V)> {
        self.tree.get(i).map(|s| (&s.key, &s.val))
    }

    /// Every entry, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&KStr, &V)> {
        self.tree.iter(0, self.len()).map(|s| (&s.key, &s.val))
    }

    /// Visits about `count` entries from `cursor` (0 starts a scan) and
    /// returns the cursor to resume from, 0 when the scan is complete. A
    /// cursor is the hash of the next entry to visit; a batch never ends
    /// inside a run of equal hashes, so the walk always moves forward.
    pub fn scan(&self, cursor: u64, count: usize, mut f: impl FnMut(&KStr, &V)) -> u64 {
        let start = self.tree.partition_by(|s| s.hash < cursor);
        let mut last = 0;
        for (seen, s) in self.tree.iter(start, self.len()).enumerate() {
            if seen >= count && s.hash != last {
                return s.hash;
            }
            f(&s.key, &s.val);
            last = s.hash;
        }
        0
    }
}

/// The two encodings.
#[derive(Clone, Debug)]
enum Repr {
    /// Pairs in insertion order.
    Listpack(Vec<(KStr, KStr)>),
    /// A persistent map.
    Table(Indexed<KStr>),
}

/// A hash.
#[derive(Clone, Debug)]
pub struct HashValue {
    repr: Repr,
}

impl Default for HashValue {
    fn default() -> Self {
        HashValue {
            repr: Repr::Listpack(Vec::new()),
        }
    }
}

impl PartialEq for HashValue {
    fn eq(&self, o: &HashValue) -> bool {
        self.len() == o.len() && self.iter().all(|(k, v)| o.get(k) == Some(v))
    }
}

impl HashValue {
    /// Number of fields.
    pub fn len(&self) -> usize {
        match &self.repr {
            Repr::Listpack(v) => v.len(),
            Repr::Table(t) => t.len(),
        }
    }

    /// True when empty (an empty hash is never stored).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `OBJECT ENCODING`.
    pub fn encoding(&self) -> &'static str {
        match &self.repr {
            Repr::Listpack(_) => "listpack",
            Repr::Table(_) => "hashtable",
        }
    }

    /// Approximate heap bytes.
    pub fn heap_size(&self) -> usize {
        match &self.repr {
            Repr::Listpack(v) => {
                v.capacity() * 48
                    + v.iter()
                        .map(|(k, x)| k.heap_size() + x.heap_size())
                        .sum::<usize>()
            }
            Repr::Table(t) => t
                .iter()
                .map(|(k, v)| Indexed::<KStr>::SLOT_BYTES + k.heap_size() + v.heap_size())
                .sum(),
        }
    }

    /// Commands that recreate this hash under `key`, fields in order.
    pub fn restore_commands(&self, key: &[u8]) -> Vec<Argv> {
        let flat = self.iter().flat_map(|(k, v)| [k.to_vec(), v.to_vec()]);
        super::list::chunked(b"HSET", key, flat)
    }

    /// The value of `field`.
    pub fn get(&self, field: &[u8]) -> Option<&KStr> {
        match &self.repr {
            Repr::Listpack(v) => v.iter().find(|(k, _)| &k[..] == field).map(|(_, x)| x),
            Repr::Table(t) => t.get(field),
        }
    }

    /// True if `field` exists.
    pub fn contains(&self, field: &[u8]) -> bool {
        self.get(field).is_some()
    }

    /// Sets `field` to `value`; true when the field is new. Converts to a
    /// hashtable first when either is too long for a listpack, and after
    /// adding when the listpack holds too many fields (Redis's `hashTypeSet`).
    pub fn set(&mut self, field: &[u8], value: &[u8]) -> bool {
        if field.len() > HASH_MAX_LISTPACK_VALUE || value.len() > HASH_MAX_LISTPACK_VALUE {
            self.convert();
        }
        let value = KStr::from_slice(value);
        match &mut self.repr {
            Repr::Listpack(v) => {
                if let Some(slot) = v.iter_mut().find(|(k, _)| &k[..] == field) {
                    slot.1 = value;
                    return false;
                }
                v.push((KStr::from_slice(field), value));
                if v.len() > HASH_MAX_LISTPACK_ENTRIES {
                    self.convert();
                }
                true
            }
            Repr::Table(t) => match t.get_mut(field) {
                Some(slot) => {
                    *slot = value;
                    false
                }
                None => t.insert(KStr::from_slice(field), value),
            },
        }
    }

    /// Removes `field`; true if it existed. A listpack keeps the others'
    /// order; a hashtable never converts back.
    pub fn remove(&mut self, field: &[u8]) -> bool {
        match &mut self.repr {
            Repr::Listpack(v) => match v.iter().position(|(k, _)| &k[..] == field) {
                Some(i) => {
                    v.remove(i);
                    true
                }
                None => false,
            },
            Repr::Table(t) => t.remove(field).is_some(),
        }
    }

    /// Every pair: insertion order for a listpack, arbitrary for a hashtable.
    pub fn iter(&self) -> Box<dyn Iterator<Item = (&KStr, &KStr)> + '_> {
        match &self.repr {
            Repr::Listpack(v) => Box::new(v.iter().map(|(k, x)| (k, x))),
            Repr::Table(t) => Box::new(t.iter()),
        }
    }

    /// The pair numbered `i` (`i < len`): a uniform pick when `i` is.
    pub fn at(&self, i: usize) -> Option<(&KStr, &KStr)> {
        match &self.repr {
            Repr::Listpack(v) => v.get(i).map(|(k, x)| (k, x)),
            Repr::Table(t) => t.at(i),
        }
    }

    /// HSCAN: a listpack returns every pair at once with cursor 0 (as
    /// Redis does); a hashtable visits about `count` pairs from `cursor`.
    pub fn scan(&self, cursor: u64, count: usize, mut f: impl FnMut(&KStr, &KStr)) -> u64 {
        match &self.repr {
            Repr::Listpack(v) => {
                for (k, x) in v {
                    f(k, x);
                }
                0
            }
            Repr::Table(t) => t.scan(cursor, count, f),
        }
    }

    fn convert(&mut self) {
        if let Repr::Listpack(v) = &mut self.repr {
            let mut t = Indexed::default();
            for (k, x) in std::mem::take(v) {
                t.insert(k, x);
            }
            self.repr = Repr::Table(t);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listpack_keeps_order_and_converts_once() {
        let mut h = HashValue::default();
        for i in 0..HASH_MAX_LISTPACK_ENTRIES {
            assert!(h.set(format!("f{i}").as_bytes(), b"v"));
        }
        assert_eq!(h.encoding(), "listpack");
        assert!(h.remove(b"f0"));
        let keys: Vec<_> = h.iter().map(|(k, _)| k.to_vec()).take(2).collect();
        assert_eq!(keys, vec![b"f1".to_vec(), b"f2".to_vec()]);
        assert!(h.set(b"f0", b"v"));
        assert!(h.set(b"extra", b"v"));
        assert_eq!(h.encoding(), "hashtable");
        for i in 0..100 {
            h.remove(format!("f{i}").as_bytes());
        }
        assert_eq!(h.encoding(), "hashtable");
        assert_eq!(h.len(), HASH_MAX_LISTPACK_ENTRIES + 1 - 100);
        let mut long = HashValue::default();
        long.set(b"f", &[b'x'; 65]);
        assert_eq!(long.encoding(), "hashtable");
    }

    #[test]
    fn indexed_scan_survives_removals() {
        let mut t: Indexed<()> = Indexed::default();
        for i in 0..1000 {
            t.insert(KStr::from(format!("m{i}").as_str()), ());
        }
        let mut seen = std::collections::HashSet::new();
        let mut cursor = 0;
        let mut round = 0;
        loop {
            cursor = t.scan(cursor, 7, |k, _| {
                seen.insert(k.to_vec());
            });
            // Remove a few members (visited or not) and add new ones each round.
            round += 1;
            for j in 0..3 {
                t.remove(format!("m{}", (round * 37 + j * 101) % 1000).as_bytes());
                t.insert(KStr::from(format!("n{round}-{j}").as_str()), ());
            }
            if cursor == 0 {
                break;
            }
        }
        for i in 0..1000 {
            let k = format!("m{i}");
            if t.get(k.as_bytes()).is_some() {
                assert!(
                    seen.contains(k.as_bytes()),
                    "{k} present throughout but not returned"
                );
            }
        }
        let numbered: std::collections::HashSet<Vec<u8>> = (0..t.len())
            .map(|i| t.at(i).expect("dense numbering").0.to_vec())
            .collect();
        assert_eq!(numbered.len(), t.len());
        assert!(t.iter().all(|(k, _)| numbered.contains(&k[..])));
    }

    #[test]
    fn indexed_scan_moves_forward_and_random_picks_cover_all() {
        let mut t: Indexed<u32> = Indexed::default();
        for i in 0..5000 {
            t.insert(KStr::from(format!("member:{i}").as_str()), i);
        }
        let mut seen = Vec::new();
        let mut cursor = 0;
        loop {
            let next = t.scan(cursor, 1, |_, v| seen.push(*v));
            assert!(
                next == 0 || next > cursor,
                "cursor went from {cursor} to {next}"
            );
            cursor = next;
            if cursor == 0 {
                break;
            }
        }
        seen.sort_unstable();
        assert_eq!(seen, (0..5000).collect::<Vec<_>>());
        let mut by_rank: Vec<u32> = (0..t.len()).map(|i| *t.at(i).unwrap().1).collect();
        by_rank.sort_unstable();
        assert_eq!(by_rank, seen);
        assert_eq!(t.get(b"member:42"), Some(&42));
        *t.get_mut(b"member:42").unwrap() = 7;
        assert_eq!(
            (t.remove(b"member:42"), t.remove(b"member:42")),
            (Some(7), None)
        );
        assert_eq!(t.len(), 4999);
    }

    #[test]
    fn clone_is_independent_and_restore_keeps_order() {
        let mut a = HashValue::default();
        for i in 0..600 {
            a.set(format!("f{i}").as_bytes(), b"v");
        }
        let frozen = a.clone();
        a.set(b"f1", b"changed");
        a.remove(b"f2");
        assert_eq!(frozen.get(b"f1").map(|v| v.to_vec()), Some(b"v".to_vec()));
        assert!(frozen.contains(b"f2") && frozen.len() == 600 && a.len() == 599);
        let mut small = HashValue::default();
        small.set(b"z", b"1");
        small.set(b"a", b"2");
        let cmds = small.restore_commands(b"k");
        assert_eq!(
            cmds,
            vec![vec![
                b"HSET".to_vec(),
                b"k".to_vec(),
                b"z".to_vec(),
                b"1".to_vec(),
                b"a".to_vec(),
                b"2".to_vec()
            ]]
        );
    }
}
