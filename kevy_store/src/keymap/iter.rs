//! In-order iteration over a [`HashTrie`](super::HashTrie): a stack of the
//! branches on the way down (with the next child to visit) and the rest of
//! the current leaf.

use super::{index, search, Branch, Child, Slot, FANOUT};
use crate::db::Key;

/// Entries in (hash, bytes) order.
pub struct Iter<'a, V> {
    stack: Vec<(&'a Branch<V>, usize)>,
    leaf: std::slice::Iter<'a, Slot<V>>,
}

impl<'a, V> Iter<'a, V> {
    /// From the first entry, or from `from` (at or after it when inclusive).
    pub(super) fn new(root: &'a Child<V>, from: Option<(&Key, bool)>) -> Self {
        let mut it = Iter {
            stack: Vec::with_capacity(8),
            leaf: [].iter(),
        };
        let Some((k, inclusive)) = from else {
            it.descend_first(root);
            return it;
        };
        let (mut node, mut depth) = (root, 0);
        loop {
            match node {
                Child::Branch(br) => {
                    let i = index(k.hash(), depth);
                    it.stack.push((br, i + 1));
                    node = &br.kids[i];
                    depth += 1;
                }
                Child::Leaf(leaf) => {
                    let pos = match search(leaf, depth, k.hash(), k.bytes()) {
                        Ok(i) if !inclusive => i + 1,
                        Ok(i) | Err(i) => i,
                    };
                    it.leaf = leaf.items[pos..].iter();
                    return it;
                }
            }
        }
    }

    /// Goes down the leftmost path of `node`.
    fn descend_first(&mut self, mut node: &'a Child<V>) {
        loop {
            match node {
                Child::Branch(br) => {
                    self.stack.push((br, 1));
                    node = &br.kids[0];
                }
                Child::Leaf(leaf) => {
                    self.leaf = leaf.items.iter();
                    return;
                }
            }
        }
    }
}

impl<'a, V> Iterator for Iter<'a, V> {
    type Item = (&'a Key, &'a V);

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some((k, v)) = self.leaf.next() {
                return Some((k, v));
            }
            loop {
                let top = self.stack.last_mut()?;
                let (br, i) = (top.0, top.1);
                if i < FANOUT {
                    top.1 += 1;
                    self.descend_first(&br.kids[i]);
                    break;
                }
                self.stack.pop();
            }
        }
    }
}
