//! `ListValue`: a list as a persistent RRB vector of strings (`imbl::Vector`):
//! O(1) clone (a snapshot shares every chunk), O(1) amortized pushes and pops
//! at both ends, O(log n) index, split and concatenation, so LSET, LINSERT
//! and LTRIM anywhere in a big list cost O(log n) and a write during a
//! snapshot copies only the chunks it touches. Range reads walk a narrowed
//! focus: O(log n + k) for k elements, never quadratic.

use super::Argv;
use crate::kstr::KStr;

/// One end of a list: Redis's `LEFT` (head) and `RIGHT` (tail).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum End {
    /// The head (`LEFT`, index 0).
    Left,
    /// The tail (`RIGHT`, index -1).
    Right,
}

/// Lists longer than this have their heap size estimated from a sample.
const HEAP_SAMPLE: usize = 1024;

/// A list.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ListValue {
    /// The elements, head first.
    pub items: imbl::Vector<KStr>,
}

impl ListValue {
    /// Number of elements.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// True when empty (an empty list is never stored).
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// `OBJECT ENCODING`: Redis 7.0 reports every list as a quicklist
    /// (its listpack lists arrived in 7.2).
    pub fn encoding(&self) -> &'static str {
        "quicklist"
    }

    /// Approximate heap bytes: exact up to `HEAP_SAMPLE` elements, else
    /// extrapolated from that many evenly spaced ones, so MEMORY USAGE and
    /// eviction accounting stay cheap on a huge list (Redis samples too).
    pub fn heap_size(&self) -> usize {
        let n = self.items.len();
        if n <= HEAP_SAMPLE {
            return self.items.iter().map(|s| 24 + s.heap_size()).sum();
        }
        let step = n / HEAP_SAMPLE;
        let sampled: usize = (0..HEAP_SAMPLE)
            .filter_map(|i| self.items.get(i * step))
            .map(|s| 24 + s.heap_size())
            .sum();
        (sampled as u128 * n as u128 / HEAP_SAMPLE as u128) as usize
    }

    /// Commands that recreate this list under `key`.
    pub fn restore_commands(&self, key: &[u8]) -> Vec<Argv> {
        chunked(b"RPUSH", key, self.items.iter().map(|s| s.to_vec()))
    }

    /// Adds `s` at `end`.
    pub fn push(&mut self, end: End, s: KStr) {
        match end {
            End::Left => self.items.push_front(s),
            End::Right => self.items.push_back(s),
        }
    }

    /// Removes and returns the element at `end`.
    pub fn pop(&mut self, end: End) -> Option<KStr> {
        match end {
            End::Left => self.items.pop_front(),
            End::Right => self.items.pop_back(),
        }
    }

    /// Removes up to `n` elements from `end`, returned in pop order (from
    /// that end inwards), as `LPOP key n` / `RPOP key n` reply them.
    pub fn pop_many(&mut self, end: End, n: usize) -> Vec<KStr> {
        let n = n.min(self.items.len());
        match end {
            End::Left => {
                let rest = self.items.split_off(n);
                let head = std::mem::replace(&mut self.items, rest);
                head.into_iter().collect()
            }
            End::Right => {
                let tail = self.items.split_off(self.items.len() - n);
                tail.into_iter().rev().collect()
            }
        }
    }

    /// Resolves a Redis index (negative counts from the tail) to a position.
    pub fn resolve(&self, index: i64) -> Option<usize> {
        let len = self.items.len() as i64;
        let i = if index < 0 {
            len.checked_add(index)?
        } else {
            index
        };
        (0..len).contains(&i).then_some(i as usize)
    }

    /// The element at a Redis index.
    pub fn get(&self, index: i64) -> Option<&KStr> {
        self.items.get(self.resolve(index)?)
    }

    /// Redis's range clamping (`LRANGE`, `LTRIM`): negative indexes count
    /// from the tail, `start` is clamped at 0 and `end` at the last element.
    /// Returns the positions `start..end+1`, or None when the range is empty.
    pub fn clamp_range(&self, start: i64, end: i64) -> Option<std::ops::Range<usize>> {
        let len = self.items.len() as i64;
        let start = if start < 0 {
            (len + start).max(0)
        } else {
            start
        };
        let end = if end < 0 { len + end } else { end };
        if start > end || start >= len {
            return None;
        }
        let end = end.min(len - 1);
        Some(start as usize..end as usize + 1)
    }

    /// The elements at positions `r`, head first, in O(log n + r.len()).
    pub fn range(&self, r: std::ops::Range<usize>) -> impl DoubleEndedIterator<Item = &KStr> + '_ {
        let r = r.start.min(self.items.len())..r.end.min(self.items.len());
        self.items.focus().narrow(r).into_iter()
    }

    /// Keeps only positions `r` (an empty range empties the list).
    pub fn keep(&mut self, r: std::ops::Range<usize>) {
        if r.start >= r.end || r.start >= self.items.len() {
            self.items.clear();
            return;
        }
        self.items.truncate(r.end);
        if r.start > 0 {
            self.items = self.items.split_off(r.start);
        }
    }

    /// Replaces the element at position `i` (which must be in range).
    pub fn set(&mut self, i: usize, s: KStr) {
        if i < self.items.len() {
            self.items.set(i, s);
        }
    }

    /// Inserts `s` at position `i` (clamped to the length).
    pub fn insert(&mut self, i: usize, s: KStr) {
        let i = i.min(self.items.len());
        self.items.insert(i, s);
    }

    /// Position of the first element equal to `s`, from the head.
    pub fn position(&self, s: &[u8]) -> Option<usize> {
        self.items.iter().position(|x| x.as_bytes() == s)
    }

    /// Removes the elements at `positions` (ascending, in range).
    pub fn remove_positions(&mut self, positions: &[usize]) {
        // A few removals: O(k log n) each in place. Many: one O(n) rebuild.
        if positions.len() <= 16 {
            for &i in positions.iter().rev() {
                if i < self.items.len() {
                    self.items.remove(i);
                }
            }
            return;
        }
        let mut next = positions.iter().peekable();
        let mut kept = imbl::Vector::new();
        for (i, x) in self.items.iter().enumerate() {
            if next.peek() == Some(&&i) {
                next.next();
            } else {
                kept.push_back(x.clone());
            }
        }
        self.items = kept;
    }
}

/// Splits a long element list into several commands of at most 512
/// elements, so replaying never builds a giant argv.
pub(crate) fn chunked(cmd: &[u8], key: &[u8], items: impl Iterator<Item = Vec<u8>>) -> Vec<Argv> {
    let mut out = Vec::new();
    let mut cur: Argv = Vec::new();
    for it in items {
        if cur.is_empty() {
            cur.push(cmd.to_vec());
            cur.push(key.to_vec());
        }
        cur.push(it);
        if cur.len() >= 514 {
            out.push(std::mem::take(&mut cur));
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(n: usize) -> ListValue {
        let mut l = ListValue::default();
        for i in 0..n {
            l.push(End::Right, KStr::from(i.to_string().as_str()));
        }
        l
    }

    fn strs<'a>(it: impl Iterator<Item = &'a KStr>) -> Vec<String> {
        it.map(|s| String::from_utf8_lossy(s).into_owned())
            .collect()
    }

    #[test]
    fn ranges_and_indexes() {
        let l = list(5);
        assert_eq!(l.clamp_range(0, -1), Some(0..5));
        assert_eq!(l.clamp_range(-100, 100), Some(0..5));
        assert_eq!(l.clamp_range(3, 1), None);
        assert_eq!(l.clamp_range(5, 10), None);
        assert_eq!(l.clamp_range(i64::MIN, i64::MAX), Some(0..5));
        assert_eq!(strs(l.range(1..3)), ["1", "2"]);
        assert_eq!(strs(l.range(1..3).rev()), ["2", "1"]);
        assert_eq!(l.resolve(-1), Some(4));
        assert_eq!(l.resolve(5), None);
        assert_eq!(l.resolve(i64::MIN), None);
    }

    #[test]
    fn pops_keep_and_removal() {
        let mut l = list(200);
        assert_eq!(
            strs(l.pop_many(End::Right, 3).iter()),
            ["199", "198", "197"]
        );
        assert_eq!(strs(l.pop_many(End::Left, 2).iter()), ["0", "1"]);
        l.keep(10..20);
        assert_eq!(l.len(), 10);
        assert_eq!(l.get(0).map(|s| s.to_vec()), Some(b"12".to_vec()));
        let mut big = list(100);
        let even: Vec<usize> = (0..100).step_by(2).collect();
        big.remove_positions(&even);
        assert_eq!(big.len(), 50);
        assert_eq!(big.get(0).map(|s| s.to_vec()), Some(b"1".to_vec()));
        big.remove_positions(&[0, 49]);
        assert_eq!(big.len(), 48);
        assert_eq!(big.get(-1).map(|s| s.to_vec()), Some(b"97".to_vec()));
    }

    #[test]
    fn heap_size_is_exact_when_small_and_estimated_when_big() {
        let mut l = ListValue::default();
        let long = KStr::from_slice(&[b'x'; 100]);
        for _ in 0..10 {
            l.push(End::Right, long.clone());
            l.push(End::Right, KStr::from("short"));
        }
        assert_eq!(l.heap_size(), 20 * 24 + 10 * long.heap_size());
        for _ in 0..5000 {
            l.push(End::Right, long.clone());
            l.push(End::Right, KStr::from("short"));
        }
        let exact: usize = l.items.iter().map(|s| 24 + s.heap_size()).sum();
        let est = l.heap_size();
        assert!(est.abs_diff(exact) < exact / 20, "{est} vs {exact}");
    }
}
