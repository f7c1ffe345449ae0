//! `OsTree`: a persistent order-statistic B+tree of items ordered by
//! [`TreeItem::cmp_item`]: `(score, member)` pairs for a sorted set, and
//! `(hash, key)`-ordered slots for the large encodings of hashes, sets and a
//! sorted set's member index (`types::hash::Indexed`).
//!
//! Leaves hold the items in order; inner nodes hold their children behind
//! `Arc`s, the item count of every child, and separator keys. Cloning the tree
//! clones one `Arc` (O(1)), and a write goes through `Arc::make_mut` on every
//! node of its path: a node that a snapshot shares is copied, one that only
//! this tree owns is changed in place. Because every inner node knows its
//! children's counts, rank, select and "how many items sort before this
//! bound" all take O(log n) steps of O(B) work each.
//!
//! **Invariant:** in an inner node, every item of `kids[i]` sorts before
//! `seps[i]`, and every item of `kids[i + 1]` sorts at or after it
//! (separators are not required to be items still in the tree).
//! **Invariant:** every node but the root holds at least `MIN` entries (items
//! for a leaf, children for an inner node) and at most `MAX`.

use crate::kstr::KStr;
use std::cmp::Ordering;
use std::sync::Arc;

mod iter;
pub use iter::Iter;

/// Most entries a node holds before it splits.
const MAX: usize = 64;
/// Fewest entries a non-root node holds before it merges with a sibling.
const MIN: usize = MAX / 4;
/// Entries per node when building a tree from sorted items.
const FILL: usize = MAX * 3 / 4;

/// One member of a sorted set with its score.
#[derive(Clone, Debug, PartialEq)]
pub struct Item {
    /// The score (never NaN).
    pub score: f64,
    /// The member.
    pub member: KStr,
}

/// An item of an [`OsTree`]: a total order over items.
pub trait TreeItem: Clone {
    /// Compares two items.
    fn cmp_item(&self, o: &Self) -> Ordering;
}

impl TreeItem for Item {
    #[inline]
    fn cmp_item(&self, o: &Item) -> Ordering {
        cmp_key(self.score, &self.member, o.score, &o.member)
    }
}

/// Orders `(score, member)` pairs as Redis does: by score with `<`/`>` (so
/// `-0` and `0` tie), then by member bytes.
#[inline]
pub fn cmp_key(s1: f64, m1: &[u8], s2: f64, m2: &[u8]) -> Ordering {
    if s1 < s2 {
        Ordering::Less
    } else if s1 > s2 {
        Ordering::Greater
    } else {
        m1.cmp(m2)
    }
}

#[derive(Clone)]
enum Node<T> {
    Leaf(Vec<T>),
    Inner(Inner<T>),
}

#[derive(Clone)]
struct Inner<T> {
    seps: Vec<T>,
    kids: Vec<Arc<Node<T>>>,
    counts: Vec<usize>,
    len: usize,
}

impl<T> Node<T> {
    /// Number of items below this node.
    fn count(&self) -> usize {
        match self {
            Node::Leaf(v) => v.len(),
            Node::Inner(i) => i.len,
        }
    }

    /// Number of direct entries (items or children).
    fn width(&self) -> usize {
        match self {
            Node::Leaf(v) => v.len(),
            Node::Inner(i) => i.kids.len(),
        }
    }
}

impl<T: TreeItem> Inner<T> {
    /// The child holding rank `r` and the rank of that child's first item.
    #[inline]
    fn child_at(&self, mut r: usize) -> (usize, usize) {
        let mut base = 0;
        for (i, &c) in self.counts.iter().enumerate() {
            if r < c {
                return (i, base);
            }
            r -= c;
            base += c;
        }
        let last = self.kids.len().saturating_sub(1);
        (last, base - self.counts.get(last).copied().unwrap_or(0))
    }

    /// Accounts for one item removed below child `i`.
    fn after_remove(&mut self, i: usize) {
        self.counts[i] -= 1;
        self.len -= 1;
        if self.kids[i].width() < MIN {
            self.rebalance(i);
        }
    }

    /// Splits an over-full node in two halves; returns the separator and the
    /// right half.
    fn split(&mut self) -> (T, Inner<T>) {
        let mid = self.kids.len() / 2;
        let kids = self.kids.split_off(mid);
        let counts = self.counts.split_off(mid);
        let mut seps = self.seps.split_off(mid - 1);
        let sep = seps.remove(0);
        let rlen: usize = counts.iter().sum();
        self.len -= rlen;
        (
            sep,
            Inner {
                seps,
                kids,
                counts,
                len: rlen,
            },
        )
    }

    /// Restores the size invariant of child `i` after a removal left it
    /// under-full: merges it with a neighbour, and splits the result again
    /// when it is too big (which amounts to borrowing).
    fn rebalance(&mut self, i: usize) {
        if self.kids.len() < 2 {
            return;
        }
        let l = if i + 1 < self.kids.len() { i } else { i - 1 };
        let right = self.kids.remove(l + 1);
        let rcount = self.counts.remove(l + 1);
        let sep = self.seps.remove(l);
        self.counts[l] += rcount;
        let left = Arc::make_mut(&mut self.kids[l]);
        match (left, Arc::unwrap_or_clone(right)) {
            (Node::Leaf(a), Node::Leaf(mut b)) => {
                a.append(&mut b);
                if a.len() > MAX {
                    let r = a.split_off(a.len() / 2);
                    let rsep = r[0].clone();
                    self.insert_kid(l, rsep, Node::Leaf(r));
                }
            }
            (Node::Inner(a), Node::Inner(mut b)) => {
                a.seps.push(sep);
                a.seps.append(&mut b.seps);
                a.kids.append(&mut b.kids);
                a.counts.append(&mut b.counts);
                a.len += b.len;
                if a.kids.len() > MAX {
                    let (rsep, r) = a.split();
                    self.insert_kid(l, rsep, Node::Inner(r));
                }
            }
            // Siblings always have the same height.
            _ => {}
        }
    }

    /// Inserts `node` as the right neighbour of child `i`, moving its items'
    /// count out of child `i`'s.
    fn insert_kid(&mut self, i: usize, sep: T, node: Node<T>) {
        let c = node.count();
        self.counts[i] -= c;
        self.counts.insert(i + 1, c);
        self.seps.insert(i, sep);
        self.kids.insert(i + 1, Arc::new(node));
    }
}

/// A persistent order-statistic tree, by default of `(score, member)` items.
#[derive(Clone)]
pub struct OsTree<T = Item> {
    root: Arc<Node<T>>,
}

impl<T> Default for OsTree<T> {
    fn default() -> OsTree<T> {
        OsTree {
            root: Arc::new(Node::Leaf(Vec::new())),
        }
    }
}

impl std::fmt::Debug for OsTree<Item> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.iter(0, self.len()).map(|it| (it.score, &it.member)))
            .finish()
    }
}

impl OsTree<Item> {
    /// Inserts an item that is not in the tree yet.
    pub fn insert(&mut self, score: f64, member: KStr) {
        self.insert_item(Item { score, member })
    }

    /// Removes the item `(score, member)` and returns it. (A miss may still
    /// copy the path a snapshot shares: callers look the member up first.)
    pub fn remove(&mut self, score: f64, member: &[u8]) -> Option<Item> {
        self.remove_by(|it| cmp_key(it.score, &it.member, score, member))
    }

    /// The 0-based rank of `(score, member)`, if present.
    pub fn rank(&self, score: f64, member: &[u8]) -> Option<usize> {
        self.rank_by(|it| cmp_key(it.score, &it.member, score, member))
    }

    /// The number of items for which `pred` holds, where `pred` holds for a
    /// prefix of the order (true, ..., true, false, ...): the rank of the
    /// first item past a bound.
    pub fn partition_point(&self, pred: impl Fn(f64, &[u8]) -> bool) -> usize {
        self.partition_by(|it| pred(it.score, &it.member))
    }
}

impl<T: TreeItem> OsTree<T> {
    /// Number of items.
    pub fn len(&self) -> usize {
        self.root.count()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Builds a tree from items already sorted and unique, in O(n).
    pub fn from_sorted(items: Vec<T>) -> OsTree<T> {
        let mut level: Vec<Node<T>> = chunks(items, FILL).into_iter().map(Node::Leaf).collect();
        while level.len() > 1 {
            level = chunks(level, FILL)
                .into_iter()
                .map(|kids| {
                    let counts: Vec<usize> = kids.iter().map(Node::count).collect();
                    let seps = kids.iter().skip(1).filter_map(first_item).collect();
                    let len = counts.iter().sum();
                    Node::Inner(Inner {
                        seps,
                        kids: kids.into_iter().map(Arc::new).collect(),
                        counts,
                        len,
                    })
                })
                .collect();
        }
        match level.pop() {
            Some(root) => OsTree {
                root: Arc::new(root),
            },
            None => OsTree::default(),
        }
    }

    /// Inserts an item that is not in the tree yet.
    pub fn insert_item(&mut self, item: T) {
        if let Some((sep, right)) = insert(&mut self.root, item) {
            let left = std::mem::replace(&mut self.root, Arc::new(Node::Leaf(Vec::new())));
            let counts = vec![left.count(), right.count()];
            let len = counts[0] + counts[1];
            self.root = Arc::new(Node::Inner(Inner {
                seps: vec![sep],
                kids: vec![left, Arc::new(right)],
                counts,
                len,
            }));
        }
    }

    /// Removes the item for which `cmp` (the item against the one sought)
    /// says `Equal`, and returns it. (A miss may still copy the path a
    /// snapshot shares: callers look the item up first.)
    pub fn remove_by(&mut self, cmp: impl Fn(&T) -> Ordering) -> Option<T> {
        let it = remove_key(&mut self.root, &cmp);
        self.shrink_root();
        it
    }

    /// Removes and returns the item at rank `r`.
    pub fn remove_at(&mut self, r: usize) -> Option<T> {
        if r >= self.len() {
            return None;
        }
        let it = remove_rank(&mut self.root, r);
        self.shrink_root();
        it
    }

    fn shrink_root(&mut self) {
        loop {
            let only = match &*self.root {
                Node::Inner(i) if i.kids.len() == 1 => i.kids[0].clone(),
                _ => return,
            };
            self.root = only;
        }
    }

    /// The 0-based rank of the item for which `cmp` says `Equal`, if present.
    pub fn rank_by(&self, cmp: impl Fn(&T) -> Ordering) -> Option<usize> {
        let mut node = &*self.root;
        let mut base = 0;
        loop {
            match node {
                Node::Leaf(items) => {
                    return items.binary_search_by(&cmp).ok().map(|p| base + p);
                }
                Node::Inner(inn) => {
                    let i = inn.seps.partition_point(|s| cmp(s).is_le());
                    base += inn.counts[..i].iter().sum::<usize>();
                    node = &inn.kids[i];
                }
            }
        }
    }

    /// The item for which `cmp` says `Equal`, if present.
    pub fn find_by(&self, cmp: impl Fn(&T) -> Ordering) -> Option<&T> {
        let mut node = &*self.root;
        loop {
            match node {
                Node::Leaf(items) => return items.binary_search_by(&cmp).ok().map(|p| &items[p]),
                Node::Inner(inn) => node = &inn.kids[inn.seps.partition_point(|s| cmp(s).is_le())],
            }
        }
    }

    /// The item for which `cmp` says `Equal`, for modification in place
    /// (the caller must not change its position in the order). Copies the
    /// path a snapshot shares, also on a miss.
    pub fn find_mut_by(&mut self, cmp: impl Fn(&T) -> Ordering) -> Option<&mut T> {
        let mut node = Arc::make_mut(&mut self.root);
        loop {
            match node {
                Node::Leaf(items) => {
                    return match items.binary_search_by(&cmp) {
                        Ok(p) => items.get_mut(p),
                        Err(_) => None,
                    }
                }
                Node::Inner(inn) => {
                    let i = inn.seps.partition_point(|s| cmp(s).is_le());
                    node = Arc::make_mut(&mut inn.kids[i]);
                }
            }
        }
    }

    /// The number of items for which `pred` holds, where `pred` holds for a
    /// prefix of the order (true, ..., true, false, ...).
    pub fn partition_by(&self, pred: impl Fn(&T) -> bool) -> usize {
        let mut node = &*self.root;
        let mut base = 0;
        loop {
            match node {
                Node::Leaf(items) => return base + items.partition_point(&pred),
                Node::Inner(inn) => {
                    let i = inn.seps.partition_point(&pred);
                    base += inn.counts[..i].iter().sum::<usize>();
                    node = &inn.kids[i];
                }
            }
        }
    }

    /// The item at rank `r`.
    pub fn get(&self, r: usize) -> Option<&T> {
        if r >= self.len() {
            return None;
        }
        let mut node = &*self.root;
        let mut r = r;
        loop {
            match node {
                Node::Leaf(items) => return items.get(r),
                Node::Inner(inn) => {
                    let (i, base) = inn.child_at(r);
                    r -= base;
                    node = &inn.kids[i];
                }
            }
        }
    }

    /// The items of ranks `start..end` in order (clamped to the tree).
    pub fn iter(&self, start: usize, end: usize) -> Iter<'_, T> {
        let end = end.min(self.len());
        if start >= end {
            return Iter::empty();
        }
        let (stack, leaf, pos) = self.descend(start);
        Iter {
            stack,
            leaf,
            pos,
            remaining: end - start,
            rev: false,
        }
    }

    /// The items of ranks `start..end` from the last to the first.
    pub fn iter_rev(&self, start: usize, end: usize) -> Iter<'_, T> {
        let end = end.min(self.len());
        if start >= end {
            return Iter::empty();
        }
        let (stack, leaf, pos) = self.descend(end - 1);
        Iter {
            stack,
            leaf,
            pos: pos + 1,
            remaining: end - start,
            rev: true,
        }
    }

    /// The path to rank `r` (< len): inner frames, the leaf and the index in it.
    #[allow(clippy::type_complexity)]
    fn descend(&self, mut r: usize) -> (Vec<(&Inner<T>, usize)>, &[T], usize) {
        let mut stack = Vec::new();
        let mut node = &*self.root;
        loop {
            match node {
                Node::Leaf(items) => return (stack, items, r),
                Node::Inner(inn) => {
                    let (i, base) = inn.child_at(r);
                    r -= base;
                    stack.push((inn, i));
                    node = &inn.kids[i];
                }
            }
        }
    }

    /// Checks every structural invariant (tests only).
    #[cfg(test)]
    pub(crate) fn check(&self) {
        fn walk<T: TreeItem>(
            n: &Node<T>,
            root: bool,
            depth: usize,
            leaf_depth: &mut Option<usize>,
        ) -> usize {
            if !root {
                assert!(n.width() >= MIN && n.width() <= MAX, "width {}", n.width());
            }
            match n {
                Node::Leaf(v) => {
                    match leaf_depth {
                        Some(d) => assert_eq!(*d, depth),
                        None => *leaf_depth = Some(depth),
                    }
                    for w in v.windows(2) {
                        assert!(w[0].cmp_item(&w[1]).is_lt());
                    }
                    v.len()
                }
                Node::Inner(i) => {
                    assert!(i.kids.len() >= 2);
                    assert_eq!(i.seps.len() + 1, i.kids.len());
                    assert_eq!(i.counts.len(), i.kids.len());
                    let mut total = 0;
                    for (k, kid) in i.kids.iter().enumerate() {
                        let c = walk(kid, false, depth + 1, leaf_depth);
                        assert_eq!(c, i.counts[k]);
                        total += c;
                    }
                    assert_eq!(total, i.len);
                    total
                }
            }
        }
        let mut d = None;
        walk(&self.root, true, 0, &mut d);
    }
}

fn first_item<T: Clone>(n: &Node<T>) -> Option<T> {
    match n {
        Node::Leaf(v) => v.first().cloned(),
        Node::Inner(i) => i.kids.first().and_then(|k| first_item(k)),
    }
}

/// Splits `v` into `ceil(len / fill)` runs of nearly equal length.
fn chunks<T>(v: Vec<T>, fill: usize) -> Vec<Vec<T>> {
    let n = v.len();
    if n == 0 {
        return Vec::new();
    }
    let groups = n.div_ceil(fill);
    let mut out = Vec::with_capacity(groups);
    let mut it = v.into_iter();
    for g in 0..groups {
        let size = n / groups + usize::from(g < n % groups);
        out.push(it.by_ref().take(size).collect());
    }
    out
}

/// Spare room a node keeps when it has to grow: about 1/8 of its length,
/// where `Vec`'s doubling would leave a leaf half empty (a leaf copied for a
/// snapshot, or split, has no spare room at all). This keeps the bytes per
/// item close to the item's size, at the price of a reallocation every few
/// inserts into the same leaf.
#[inline]
fn slack(len: usize) -> usize {
    len / 8 + 2
}

/// Makes room for one more entry, growing by [`slack`] rather than doubling.
#[inline]
fn grow<T>(v: &mut Vec<T>) {
    if v.len() == v.capacity() {
        v.reserve_exact(slack(v.len()));
    }
}

fn insert<T: TreeItem>(node: &mut Arc<Node<T>>, item: T) -> Option<(T, Node<T>)> {
    match Arc::make_mut(node) {
        Node::Leaf(items) => {
            let pos = items.partition_point(|it| it.cmp_item(&item).is_lt());
            grow(items);
            items.insert(pos, item);
            if items.len() > MAX {
                let right = items.split_off(items.len() / 2);
                items.shrink_to(items.len() + slack(items.len()));
                let sep = right[0].clone();
                return Some((sep, Node::Leaf(right)));
            }
            None
        }
        Node::Inner(inn) => {
            let i = inn.seps.partition_point(|s| s.cmp_item(&item).is_le());
            inn.len += 1;
            inn.counts[i] += 1;
            if let Some((sep, right)) = insert(&mut inn.kids[i], item) {
                inn.insert_kid(i, sep, right);
                if inn.kids.len() > MAX {
                    let (sep, r) = inn.split();
                    return Some((sep, Node::Inner(r)));
                }
            }
            None
        }
    }
}

/// Removes the item `cmp` finds below `node`; rebalances on the way back up.
fn remove_key<T: TreeItem>(node: &mut Arc<Node<T>>, cmp: &impl Fn(&T) -> Ordering) -> Option<T> {
    match Arc::make_mut(node) {
        Node::Leaf(items) => {
            let i = items.binary_search_by(cmp).ok()?;
            Some(items.remove(i))
        }
        Node::Inner(inn) => {
            let i = inn.seps.partition_point(|s| cmp(s).is_le());
            let it = remove_key(&mut inn.kids[i], cmp)?;
            inn.after_remove(i);
            Some(it)
        }
    }
}

/// Removes the item of rank `r` below `node`; rebalances on the way back up.
fn remove_rank<T: TreeItem>(node: &mut Arc<Node<T>>, r: usize) -> Option<T> {
    match Arc::make_mut(node) {
        Node::Leaf(items) => (r < items.len()).then(|| items.remove(r)),
        Node::Inner(inn) => {
            let (i, base) = inn.child_at(r);
            let it = remove_rank(&mut inn.kids[i], r - base)?;
            inn.after_remove(i);
            Some(it)
        }
    }
}
