//! `ZSetValue`: a sorted set as a member → score map (an [`Indexed`]
//! persistent map: O(log n) score lookups and ZSCAN cursors that survive
//! writes) plus the members ordered by (score, member) in a persistent
//! order-statistic B+tree ([`OsTree`]), so ranks, rank selection and range
//! bounds are O(log n) and a clone (a snapshot) is O(1) for both halves.
//!
//! Redis keeps small sorted sets in a listpack and converts them to a
//! skiplist once they pass `zset-max-listpack-entries` members or a member
//! passes `zset-max-listpack-value` bytes, never converting back. kevy uses
//! the same structure for both and only tracks the encoding name, plus the
//! one visible listpack trait: it stores a `-0` score as `0`.

mod tree;

pub use tree::{cmp_key, Item, Iter, OsTree, TreeItem};

use super::hash::Indexed;
use super::Argv;
use crate::kstr::KStr;

/// `zset-max-listpack-entries`: most members of a listpack-encoded zset.
pub const MAX_LISTPACK_ENTRIES: usize = 128;
/// `zset-max-listpack-value`: longest member of a listpack-encoded zset.
pub const MAX_LISTPACK_VALUE: usize = 64;

/// A sorted set.
#[derive(Clone, Default)]
pub struct ZSetValue {
    scores: Indexed<f64>,
    tree: OsTree,
    skiplist: bool,
}

impl PartialEq for ZSetValue {
    fn eq(&self, o: &ZSetValue) -> bool {
        self.len() == o.len() && self.iter().zip(o.iter()).all(|(a, b)| a == b)
    }
}

impl std::fmt::Debug for ZSetValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ZSet({}, {:?})", self.encoding(), self.tree)
    }
}

impl ZSetValue {
    /// An empty sorted set (listpack-encoded).
    pub fn new() -> ZSetValue {
        ZSetValue::default()
    }

    /// A sorted set from items sorted by [`cmp_key`] with unique members,
    /// encoded as Redis encodes a freshly computed result (`*STORE`): a
    /// listpack when small enough, else a skiplist.
    pub fn from_sorted(mut items: Vec<Item>) -> ZSetValue {
        let small = items.len() <= MAX_LISTPACK_ENTRIES
            && items.iter().all(|i| i.member.len() <= MAX_LISTPACK_VALUE);
        if small {
            for it in &mut items {
                it.score = listpack_score(it.score);
            }
        }
        ZSetValue::from_parts(items, !small)
    }

    /// A sorted set from items sorted by [`cmp_key`] with unique members,
    /// with the encoding given (scores taken as they are).
    pub fn from_parts(items: Vec<Item>, skiplist: bool) -> ZSetValue {
        let mut scores = Indexed::default();
        for i in &items {
            scores.insert(i.member.clone(), i.score);
        }
        ZSetValue {
            scores,
            tree: OsTree::from_sorted(items),
            skiplist,
        }
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        self.tree.len()
    }

    /// True when empty (an empty sorted set is never stored).
    pub fn is_empty(&self) -> bool {
        self.tree.is_empty()
    }

    /// `OBJECT ENCODING`.
    pub fn encoding(&self) -> &'static str {
        if self.skiplist {
            "skiplist"
        } else {
            "listpack"
        }
    }

    /// True once converted to the skiplist encoding.
    pub fn is_skiplist(&self) -> bool {
        self.skiplist
    }

    /// Approximate heap bytes.
    pub fn heap_size(&self) -> usize {
        // The tree's item and the index's slot, each with node slack.
        let per = Indexed::<f64>::SLOT_BYTES + std::mem::size_of::<Item>() * 4 / 3;
        self.scores.iter().map(|(m, _)| per + m.heap_size()).sum()
    }

    /// The score of `member`.
    #[inline]
    pub fn score(&self, member: &[u8]) -> Option<f64> {
        self.scores.get(member).copied()
    }

    /// Sets the score of `member` (adding it if new); returns the old score.
    pub fn insert(&mut self, member: &[u8], score: f64) -> Option<f64> {
        let old = self.score(member);
        if old.is_none()
            && !self.skiplist
            && (self.len() + 1 > MAX_LISTPACK_ENTRIES || member.len() > MAX_LISTPACK_VALUE)
        {
            self.skiplist = true;
        }
        let score = if self.skiplist {
            score
        } else {
            listpack_score(score)
        };
        match old {
            Some(o) => {
                if o.to_bits() == score.to_bits() {
                    return old;
                }
                if let Some(v) = self.scores.get_mut(member) {
                    *v = score;
                }
                let m = match self.tree.remove(o, member) {
                    Some(it) => it.member,
                    None => KStr::from_slice(member),
                };
                self.tree.insert(score, m);
            }
            None => {
                let m = KStr::from_slice(member);
                self.tree.insert(score, m.clone());
                self.scores.insert(m, score);
            }
        }
        old
    }

    /// Removes `member`; returns its score.
    pub fn remove(&mut self, member: &[u8]) -> Option<f64> {
        let s = self.scores.remove(member)?;
        self.tree.remove(s, member);
        Some(s)
    }

    /// Removes and returns the member of rank `r`.
    pub fn remove_at(&mut self, r: usize) -> Option<Item> {
        let it = self.tree.remove_at(r)?;
        self.scores.remove(&it.member[..]);
        Some(it)
    }

    /// Removes the members of ranks `start..end`; returns how many.
    pub fn remove_range(&mut self, start: usize, end: usize) -> usize {
        let end = end.min(self.len());
        if start >= end {
            return 0;
        }
        if start == 0 && end == self.len() {
            let n = self.len();
            self.scores = Indexed::default();
            self.tree = OsTree::default();
            return n;
        }
        for _ in start..end {
            self.remove_at(start);
        }
        end - start
    }

    /// The 0-based rank of `member` in ascending order.
    pub fn rank(&self, member: &[u8]) -> Option<usize> {
        let s = self.score(member)?;
        self.tree.rank(s, member)
    }

    /// Visits up to `count` members from a ZSCAN `cursor` (0 starts) and
    /// returns the next cursor (0 when done). Members present for the whole
    /// scan are visited at least once whatever is written meanwhile.
    pub fn scan(&self, cursor: u64, count: usize, mut f: impl FnMut(&KStr, f64)) -> u64 {
        self.scores.scan(cursor, count, |m, s| f(m, *s))
    }

    /// The member of rank `r`.
    pub fn get(&self, r: usize) -> Option<&Item> {
        self.tree.get(r)
    }

    /// Number of members for which `pred` holds, `pred` being true for a
    /// prefix of the order (see [`OsTree::partition_point`]).
    pub fn partition_point(&self, pred: impl Fn(f64, &[u8]) -> bool) -> usize {
        self.tree.partition_point(pred)
    }

    /// Every member in order.
    pub fn iter(&self) -> Iter<'_> {
        self.tree.iter(0, self.len())
    }

    /// The members of ranks `start..end`, ascending, or descending from
    /// `end - 1` when `rev`.
    pub fn range(&self, start: usize, end: usize, rev: bool) -> Iter<'_> {
        if rev {
            self.tree.iter_rev(start, end)
        } else {
            self.tree.iter(start, end)
        }
    }

    /// Commands that recreate this sorted set under `key`.
    pub fn restore_commands(&self, key: &[u8]) -> Vec<Argv> {
        let mut out = Vec::new();
        let mut cur: Argv = Vec::new();
        for it in self.iter() {
            if cur.is_empty() {
                cur.push(b"ZADD".to_vec());
                cur.push(key.to_vec());
            }
            cur.push(kevy_resp::format_double(it.score).into_bytes());
            cur.push(it.member.to_vec());
            if cur.len() >= 2 + 2 * 256 {
                out.push(std::mem::take(&mut cur));
            }
        }
        if !cur.is_empty() {
            out.push(cur);
        }
        out
    }
}

/// A listpack-encoded zset does not keep the sign of a zero score (Redis
/// 7.0.15 answers `0` for a member added with `-0`; a skiplist answers `-0`).
#[inline]
fn listpack_score(s: f64) -> f64 {
    if s == 0.0 {
        0.0
    } else {
        s
    }
}

#[cfg(test)]
mod tests;
