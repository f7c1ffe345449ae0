//! `Iter`: walks a rank range of an [`OsTree`](super::OsTree) forward or
//! backward with a stack of inner frames, O(log n) to start and amortised
//! O(1) per item.

use super::{Inner, Item, Node};

/// Iterator over a rank range, forward or backward.
pub struct Iter<'a, T = Item> {
    pub(super) stack: Vec<(&'a Inner<T>, usize)>,
    pub(super) leaf: &'a [T],
    /// Forward: index of the next item; backward: one past it.
    pub(super) pos: usize,
    pub(super) remaining: usize,
    pub(super) rev: bool,
}

impl<'a, T> Iter<'a, T> {
    pub(super) fn empty() -> Iter<'a, T> {
        Iter {
            stack: Vec::new(),
            leaf: &[],
            pos: 0,
            remaining: 0,
            rev: false,
        }
    }

    /// Moves to the next leaf in the iteration direction.
    fn step_leaf(&mut self) -> bool {
        loop {
            let Some((inn, i)) = self.stack.pop() else {
                return false;
            };
            let next = if self.rev {
                i.checked_sub(1)
            } else {
                Some(i + 1).filter(|&n| n < inn.kids.len())
            };
            if let Some(n) = next {
                self.stack.push((inn, n));
                let mut node: &'a Node<T> = &inn.kids[n];
                loop {
                    match node {
                        Node::Leaf(items) => {
                            self.leaf = items;
                            self.pos = if self.rev { items.len() } else { 0 };
                            return true;
                        }
                        Node::Inner(inner) => {
                            let k = if self.rev { inner.kids.len() - 1 } else { 0 };
                            self.stack.push((inner, k));
                            node = &inner.kids[k];
                        }
                    }
                }
            }
        }
    }
}

impl<'a, T> Iterator for Iter<'a, T> {
    type Item = &'a T;

    fn next(&mut self) -> Option<&'a T> {
        if self.remaining == 0 {
            return None;
        }
        if self.rev {
            while self.pos == 0 {
                if !self.step_leaf() {
                    self.remaining = 0;
                    return None;
                }
            }
            self.pos -= 1;
            self.remaining -= 1;
            self.leaf.get(self.pos)
        } else {
            while self.pos >= self.leaf.len() {
                if !self.step_leaf() {
                    self.remaining = 0;
                    return None;
                }
            }
            self.pos += 1;
            self.remaining -= 1;
            self.leaf.get(self.pos - 1)
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}
