//! `OsTree`: a persistent order-statistic B+tree of `(score, member)` items.
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
enum Node {
    Leaf(Vec<Item>),
    Inner(Inner),
}

#[derive(Clone)]
struct Inner {
    seps: Vec<Item>,
    kids: Vec<Arc<Node>>,
    counts: Vec<usize>,
    len: usize,
}

impl Node {
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

impl Inner {
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
    fn split(&mut self) -> (Item, Inner) {
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
    fn insert_kid(&mut self, i: usize, sep: Item, node: Node) {
        let c = node.count();
        self.counts[i] -= c;
        self.counts.insert(i + 1, c);
        self.seps.insert(i, sep);
        self.kids.insert(i + 1, Arc::new(node));
    }
}

/// A persistent order-statistic tree of `(score, member)` items.
#[derive(Clone)]
pub struct OsTree {
    root: Arc<Node>,
}

impl Default for OsTree {
    fn default() -> OsTree {
        OsTree {
            root: Arc::new(Node::Leaf(Vec::new())),
        }
    }
}

impl std::fmt::Debug for OsTree {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.iter(0, self.len()).map(|it| (it.score, &it.member)))
            .finish()
    }
}

impl OsTree {
    /// Number of items.
    pub fn len(&self) -> usize {
        self.root.count()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Builds a tree from items already sorted by [`cmp_key`] and unique, in O(n).
    pub fn from_sorted(items: Vec<Item>) -> OsTree {
        let mut level: Vec<Node> = chunks(items, FILL).into_iter().map(Node::Leaf).collect();
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
    pub fn insert(&mut self, score: f64, member: KStr) {
        if let Some((sep, right)) = insert(&mut self.root, Item { score, member }) {
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

    /// Removes the item `(score, member)` and returns it. (A miss may still
    /// copy the path a snapshot shares: callers look the member up first.)
    pub fn remove(&mut self, score: f64, member: &[u8]) -> Option<Item> {
        let it = remove_key(&mut self.root, score, member);
        self.shrink_root();
        it
    }

    /// Removes and returns the item at rank `r`.
    pub fn remove_at(&mut self, r: usize) -> Option<Item> {
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

    /// The 0-based rank of `(score, member)`, if present.
    pub fn rank(&self, score: f64, member: &[u8]) -> Option<usize> {
        let mut node = &*self.root;
        let mut base = 0;
        loop {
            match node {
                Node::Leaf(items) => {
                    return items
                        .binary_search_by(|it| cmp_key(it.score, &it.member, score, member))
                        .ok()
                        .map(|p| base + p);
                }
                Node::Inner(inn) => {
                    let i = inn
                        .seps
                        .partition_point(|s| cmp_key(s.score, &s.member, score, member).is_le());
                    base += inn.counts[..i].iter().sum::<usize>();
                    node = &inn.kids[i];
                }
            }
        }
    }

    /// The number of items for which `pred` holds, where `pred` holds for a
    /// prefix of the order (true, ..., true, false, ...): the rank of the
    /// first item past a bound.
    pub fn partition_point(&self, pred: impl Fn(f64, &[u8]) -> bool) -> usize {
        let mut node = &*self.root;
        let mut base = 0;
        loop {
            match node {
                Node::Leaf(items) => {
                    return base + items.partition_point(|it| pred(it.score, &it.member))
                }
                Node::Inner(inn) => {
                    let i = inn.seps.partition_point(|s| pred(s.score, &s.member));
                    base += inn.counts[..i].iter().sum::<usize>();
                    node = &inn.kids[i];
                }
            }
        }
    }

    /// The item at rank `r`.
    pub fn get(&self, r: usize) -> Option<&Item> {
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
    pub fn iter(&self, start: usize, end: usize) -> Iter<'_> {
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
    pub fn iter_rev(&self, start: usize, end: usize) -> Iter<'_> {
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
    fn descend(&self, mut r: usize) -> (Vec<(&Inner, usize)>, &[Item], usize) {
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
        fn walk(n: &Node, root: bool, depth: usize, leaf_depth: &mut Option<usize>) -> usize {
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
                        assert!(cmp_key(w[0].score, &w[0].member, w[1].score, &w[1].member).is_lt());
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

fn first_item(n: &Node) -> Option<Item> {
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

fn insert(node: &mut Arc<Node>, item: Item) -> Option<(Item, Node)> {
    match Arc::make_mut(node) {
        Node::Leaf(items) => {
            let pos = items.partition_point(|it| {
                cmp_key(it.score, &it.member, item.score, &item.member).is_lt()
            });
            items.insert(pos, item);
            if items.len() > MAX {
                let right = items.split_off(items.len() / 2);
                let sep = right[0].clone();
                return Some((sep, Node::Leaf(right)));
            }
            None
        }
        Node::Inner(inn) => {
            let i = inn
                .seps
                .partition_point(|s| cmp_key(s.score, &s.member, item.score, &item.member).is_le());
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

/// Removes `(score, member)` below `node`; rebalances on the way back up.
fn remove_key(node: &mut Arc<Node>, score: f64, member: &[u8]) -> Option<Item> {
    match Arc::make_mut(node) {
        Node::Leaf(items) => {
            let i = items
                .binary_search_by(|it| cmp_key(it.score, &it.member, score, member))
                .ok()?;
            Some(items.remove(i))
        }
        Node::Inner(inn) => {
            let i = inn
                .seps
                .partition_point(|s| cmp_key(s.score, &s.member, score, member).is_le());
            let it = remove_key(&mut inn.kids[i], score, member)?;
            inn.after_remove(i);
            Some(it)
        }
    }
}

/// Removes the item of rank `r` below `node`; rebalances on the way back up.
fn remove_rank(node: &mut Arc<Node>, r: usize) -> Option<Item> {
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
