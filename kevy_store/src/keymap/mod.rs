//! `HashTrie`: the persistent map behind a database. Keys are ordered by
//! (seeded 64-bit hash, bytes), and the structure is a trie over the hash's
//! bits, most significant first: a branch picks one of 16 children by the
//! next 4 bits, a leaf is a small sorted vector of entries sharing its hash
//! prefix. Because the hash is uniform, the trie is balanced without
//! rebalancing, and a lookup is a few pointer hops plus an interpolation
//! search in one leaf (a B-tree needed a binary search per level, each
//! probe a cache miss, and that was most of a GET's time).
//!
//! Children are `Arc`s: cloning the map is O(1) (the basis of snapshots),
//! and a write copies only the path to its leaf when a clone shares it.
//! In-order iteration is hash order, so a SCAN cursor is the hash to resume
//! from and a random key is the first at or after a random hash.

mod iter;
#[cfg(test)]
mod tests;

pub use iter::Iter;

use crate::db::Key;
use std::cmp::Ordering;
use std::sync::Arc;

/// Hash bits consumed per branch level.
const BITS: u32 = 4;
/// Children per branch.
const FANOUT: usize = 1 << BITS;
/// A leaf holding more entries splits into a branch (unless the hash bits
/// are exhausted, which only identical 64-bit hashes reach).
const LEAF_MAX: usize = 64;
/// A branch holding fewer entries collapses back into one leaf.
const MERGE_BELOW: usize = 16;
/// Deepest level: every hash bit consumed.
const MAX_DEPTH: u32 = 64 / BITS;

type Slot<V> = (Key, V);

/// Entries sharing a hash prefix, sorted, with each one's next 32 hash
/// bits (`frag`) in a parallel dense array.
#[derive(Clone)]
struct Leaf<V> {
    frags: Vec<u32>,
    items: Vec<Slot<V>>,
}

impl<V> Leaf<V> {
    fn empty() -> Self {
        Leaf {
            frags: Vec::new(),
            items: Vec::new(),
        }
    }

    fn with_capacity(n: usize) -> Self {
        Leaf {
            frags: Vec::with_capacity(n),
            items: Vec::with_capacity(n),
        }
    }
}

#[derive(Clone)]
enum Child<V> {
    Leaf(Arc<Leaf<V>>),
    Branch(Arc<Branch<V>>),
}

#[derive(Clone)]
struct Branch<V> {
    /// Entries below this branch.
    len: usize,
    kids: [Child<V>; FANOUT],
}

/// A persistent map from [`Key`] to `V`, ordered by (hash, bytes); see the
/// module docs. Cloning is O(1).
#[derive(Clone)]
pub struct HashTrie<V> {
    root: Child<V>,
    len: usize,
}

impl<V: Clone> Default for HashTrie<V> {
    fn default() -> Self {
        HashTrie {
            root: Child::Leaf(Arc::new(Leaf::empty())),
            len: 0,
        }
    }
}

impl<V> std::fmt::Debug for HashTrie<V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HashTrie({} keys)", self.len)
    }
}

/// The child index of hash `h` in a branch at `depth`.
#[inline]
fn index(h: u64, depth: u32) -> usize {
    ((h >> (64 - BITS * (depth + 1))) as usize) & (FANOUT - 1)
}

/// `Arc::make_mut` without writing to the shared count when this handle
/// is the only one. `make_mut` always does a compare-and-swap on the count,
/// which dirties the node's first cache line on every write: the root and
/// the upper branches are on every write's path, so with several event
/// loops that line would bounce between cores on every command.
#[inline]
fn unique_mut<T: Clone>(a: &mut Arc<T>) -> &mut T {
    if Arc::strong_count(a) == 1 && Arc::weak_count(a) == 0 {
        // Pairs with the release decrement of a clone dropped on another
        // thread, so its reads happen before our writes.
        std::sync::atomic::fence(std::sync::atomic::Ordering::Acquire);
        // SAFETY: `a` is borrowed exclusively and is the only strong
        // reference, and no weak reference exists (these maps never make
        // one), so nothing else can reach the value or clone `a` while the
        // returned borrow (tied to `a`'s) lives.
        unsafe { &mut *(Arc::as_ptr(a) as *mut T) }
    } else {
        Arc::make_mut(a)
    }
}

/// The depth leaves are at in a map of `len` entries: a leaf splits past
/// `LEAF_MAX`, each level 16 times as many leaves.
#[inline]
fn leaf_depth(len: usize) -> u32 {
    let (mut depth, mut cap) = (0, LEAF_MAX);
    while cap < len && depth < MAX_DEPTH {
        cap = cap.saturating_mul(FANOUT);
        depth += 1;
    }
    depth
}

/// Asks the CPU to pull the cache line holding `p` (a hint: never faults,
/// never reads for the program).
#[inline(always)]
fn prefetch_line(p: *const u8) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is only a hint; it does not dereference `p` in the
    // program's sense and cannot fault, whatever the address.
    unsafe {
        std::arch::x86_64::_mm_prefetch(p as *const i8, std::arch::x86_64::_MM_HINT_T0);
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// Orders a stored key against the key (`h`, `b`).
#[inline]
fn cmp_key(k: &Key, h: u64, b: &[u8]) -> Ordering {
    k.hash().cmp(&h).then_with(|| k.bytes().cmp(b))
}

/// The 32 hash bits right below a leaf's prefix at `depth`: a leaf keeps
/// them in a dense array beside its entries, so finding a key reads one or
/// two cache lines of fragments and then the one entry.
#[inline]
fn frag(h: u64, depth: u32) -> u32 {
    let shift = BITS * depth;
    if shift >= 64 {
        0
    } else {
        ((h << shift) >> 32) as u32
    }
}

/// Where (`h`, `b`) is or would go in a leaf at `depth`: the leaf's hashes
/// are uniform over its prefix's range, so the guess is the key's relative
/// position in that range, then a short walk over the fragments to the
/// exact place.
#[inline]
fn search<V>(leaf: &Leaf<V>, depth: u32, h: u64, b: &[u8]) -> Result<usize, usize> {
    let f = frag(h, depth);
    let fr = &leaf.frags;
    let n = fr.len();
    let mut i = ((f as u64 * n as u64) >> 32) as usize;
    while i > 0 && fr[i - 1] >= f {
        i -= 1;
    }
    while i < n && fr[i] < f {
        i += 1;
    }
    while i < n && fr[i] == f {
        match cmp_key(&leaf.items[i].0, h, b) {
            Ordering::Less => i += 1,
            Ordering::Equal => return Ok(i),
            Ordering::Greater => return Err(i),
        }
    }
    Err(i)
}

impl<V: Clone> HashTrie<V> {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when the map holds nothing.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The value under the key with hash `h` and bytes `b`.
    #[inline]
    pub fn get(&self, h: u64, b: &[u8]) -> Option<&V> {
        let mut node = &self.root;
        let mut depth = 0;
        loop {
            match node {
                Child::Branch(br) => {
                    node = &br.kids[index(h, depth)];
                    depth += 1;
                }
                Child::Leaf(leaf) => {
                    return search(leaf, depth, h, b).ok().map(|i| &leaf.items[i].1);
                }
            }
        }
    }

    /// Hints the CPU to start loading what a lookup of hash `h` will read,
    /// so that a pipelined batch overlaps the cache misses of the coming
    /// commands with the work of the current one. A software pipeline of
    /// three stages, each reading only what the stage before pulled in:
    /// `stage` 2 (three commands ahead) walks the cached upper levels and
    /// pulls the child slot of the branch above the leaves (the hash is
    /// uniform, so leaves sit at about the same depth, estimated from the
    /// length; the slot's address needs only the parent, already read);
    /// 1 walks to the leaf
    /// and pulls its header; 0 (the next command) reads the header and
    /// pulls the fragment and the entry at the interpolated position.
    /// Changes nothing.
    #[inline]
    pub fn prefetch(&self, h: u64, stage: u8) {
        let mut node = &self.root;
        let mut depth = 0;
        let last = if stage == 2 { leaf_depth(self.len) } else { 0 };
        loop {
            match node {
                Child::Branch(br) => {
                    let slot = &br.kids[index(h, depth)];
                    if stage == 2 && depth + 1 >= last {
                        return prefetch_line(slot as *const Child<V> as *const u8);
                    }
                    node = slot;
                    depth += 1;
                }
                Child::Leaf(leaf) if stage > 0 => {
                    // The header (two vectors) may straddle two lines.
                    let p = Arc::as_ptr(leaf) as *const u8;
                    prefetch_line(p);
                    return prefetch_line(p.wrapping_add(std::mem::size_of::<Leaf<V>>() - 1));
                }
                Child::Leaf(leaf) => {
                    let n = leaf.frags.len();
                    if n == 0 {
                        return;
                    }
                    let i = (((frag(h, depth) as u64) * n as u64) >> 32) as usize;
                    prefetch_line(leaf.frags.as_ptr().wrapping_add(i) as *const u8);
                    // The guess is within an entry or two of the key: pull
                    // the entries on both sides too (each may straddle).
                    let from = leaf.items.as_ptr().wrapping_add(i.saturating_sub(1)) as *const u8;
                    let to = leaf.items.as_ptr().wrapping_add((i + 2).min(n)) as *const u8;
                    let mut p = from;
                    while p < to {
                        prefetch_line(p);
                        p = p.wrapping_add(64);
                    }
                    return prefetch_line(to.wrapping_sub(1).max(from));
                }
            }
        }
    }

    /// The value under (`h`, `b`) for modification; copies the path to it
    /// first where a clone of the map shares it.
    #[inline]
    pub fn get_mut(&mut self, h: u64, b: &[u8]) -> Option<&mut V> {
        // Look first: a miss must not copy a shared path.
        self.get(h, b)?;
        let mut node = &mut self.root;
        let mut depth = 0;
        loop {
            match node {
                Child::Branch(br) => {
                    node = &mut unique_mut(br).kids[index(h, depth)];
                    depth += 1;
                }
                Child::Leaf(leaf) => {
                    let i = search(leaf, depth, h, b).ok()?;
                    return Some(&mut unique_mut(leaf).items[i].1);
                }
            }
        }
    }

    /// Stores `v` under `k`, returning the previous value.
    pub fn insert(&mut self, k: Key, v: V) -> Option<V> {
        let old = insert_at(&mut self.root, 0, k, v);
        if old.is_none() {
            self.len += 1;
        }
        old
    }

    /// Removes the key (`h`, `b`), returning its value.
    pub fn remove(&mut self, h: u64, b: &[u8]) -> Option<V> {
        self.get(h, b)?;
        let old = remove_at(&mut self.root, 0, h, b);
        if old.is_some() {
            self.len -= 1;
        }
        old
    }

    /// Every entry in (hash, bytes) order.
    pub fn iter(&self) -> Iter<'_, V> {
        Iter::new(&self.root, None)
    }

    /// Every key in order.
    pub fn keys(&self) -> impl Iterator<Item = &Key> {
        self.iter().map(|(k, _)| k)
    }

    /// The entries from `from` on: at or after (`inclusive`) or strictly
    /// after it, in order.
    pub fn iter_from(&self, from: &Key, inclusive: bool) -> Iter<'_, V> {
        Iter::new(&self.root, Some((from, inclusive)))
    }
}

/// Inserts below `node` (at `depth`), splitting a leaf that grows too big.
fn insert_at<V: Clone>(node: &mut Child<V>, depth: u32, k: Key, v: V) -> Option<V> {
    match node {
        Child::Branch(br) => {
            let br = unique_mut(br);
            let old = insert_at(&mut br.kids[index(k.hash(), depth)], depth + 1, k, v);
            if old.is_none() {
                br.len += 1;
            }
            old
        }
        Child::Leaf(leaf) => {
            let leaf = unique_mut(leaf);
            match search(leaf, depth, k.hash(), k.bytes()) {
                Ok(i) => return Some(std::mem::replace(&mut leaf.items[i].1, v)),
                Err(i) => {
                    if leaf.items.len() == leaf.items.capacity() {
                        // Grow by a quarter, not double: leaves are many
                        // and small, and slack is memory per key.
                        let more = (leaf.items.len() / 4).max(4);
                        leaf.items.reserve_exact(more);
                        leaf.frags.reserve_exact(more);
                    }
                    leaf.frags.insert(i, frag(k.hash(), depth));
                    leaf.items.insert(i, (k, v));
                }
            }
            if leaf.items.len() > LEAF_MAX && depth < MAX_DEPTH {
                let all = std::mem::take(&mut leaf.items);
                *node = split(all, depth);
            }
            None
        }
    }
}

/// A branch at `depth` over `items` (sorted), one leaf per hash digit.
fn split<V: Clone>(items: Vec<Slot<V>>, depth: u32) -> Child<V> {
    let len = items.len();
    let mut counts = [0usize; FANOUT];
    for (k, _) in &items {
        counts[index(k.hash(), depth)] += 1;
    }
    let mut parts: [Leaf<V>; FANOUT] = counts.map(Leaf::with_capacity);
    for s in items {
        let part = &mut parts[index(s.0.hash(), depth)];
        part.frags.push(frag(s.0.hash(), depth + 1));
        part.items.push(s);
    }
    let kids = parts.map(|p| Child::Leaf(Arc::new(p)));
    Child::Branch(Arc::new(Branch { len, kids }))
}

/// Removes below `node` (which holds the key), collapsing a branch that
/// became small back into one leaf.
fn remove_at<V: Clone>(node: &mut Child<V>, depth: u32, h: u64, b: &[u8]) -> Option<V> {
    match node {
        Child::Branch(br) => {
            let brm = unique_mut(br);
            let old = remove_at(&mut brm.kids[index(h, depth)], depth + 1, h, b);
            if old.is_some() {
                brm.len -= 1;
                if brm.len < MERGE_BELOW {
                    let mut all = Leaf::with_capacity(brm.len);
                    collect(node, depth, &mut all);
                    *node = Child::Leaf(Arc::new(all));
                }
            }
            old
        }
        Child::Leaf(leaf) => {
            let i = search(leaf, depth, h, b).ok()?;
            let leaf = unique_mut(leaf);
            leaf.frags.remove(i);
            let (_, v) = leaf.items.remove(i);
            let n = leaf.items.len();
            if leaf.items.capacity() > 2 * n + 8 {
                leaf.items.shrink_to(n + n / 4);
                leaf.frags.shrink_to(n + n / 4);
            }
            Some(v)
        }
    }
}

/// Appends every entry under `node`, in order, to `out`, a leaf at `depth`.
fn collect<V: Clone>(node: &Child<V>, depth: u32, out: &mut Leaf<V>) {
    match node {
        Child::Leaf(leaf) => {
            for s in &leaf.items {
                out.frags.push(frag(s.0.hash(), depth));
                out.items.push(s.clone());
            }
        }
        Child::Branch(br) => br.kids.iter().for_each(|k| collect(k, depth, out)),
    }
}
