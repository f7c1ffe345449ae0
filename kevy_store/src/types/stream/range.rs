//! [`Range`]: the live entries of a stream between two IDs, forwards or
//! backwards, walking the node map from the node that may hold the first
//! one and decoding entries in place (a backward walk decodes a node's
//! entry offsets first: nodes are small).

use super::block::Block;
use super::{Entry, StreamId};
use std::sync::Arc;

/// Iterator over live entries of a range (see [`StreamValue::range`]).
pub struct Range<'a> {
    pub(super) blocks:
        imbl::ordmap::RangedIter<'a, StreamId, Arc<Block>, imbl::shared_ptr::DefaultSharedPtr>,
    /// The stream's last node, when the range may reach it: visited after
    /// the map's nodes (before them when walking backwards).
    pub(super) tail: Option<&'a Block>,
    pub(super) cur: Option<&'a Block>,
    /// Forward: offset of the next entry in `cur`.
    pub(super) pos: usize,
    /// Backward: offsets of `cur`'s entries not yet visited.
    pub(super) offs: Vec<usize>,
    pub(super) start: StreamId,
    pub(super) end: StreamId,
    pub(super) rev: bool,
    pub(super) done: bool,
}

impl<'a> Iterator for Range<'a> {
    type Item = Entry<'a>;

    fn next(&mut self) -> Option<Entry<'a>> {
        while !self.done {
            let Some(b) = self.cur else {
                let next = if self.rev {
                    self.tail
                        .take()
                        .or_else(|| self.blocks.next_back().map(|(_, b)| &**b))
                } else {
                    self.blocks
                        .next()
                        .map(|(_, b)| &**b)
                        .or_else(|| self.tail.take())
                };
                let Some(b) = next else {
                    self.done = true;
                    return None;
                };
                if self.rev {
                    if b.last_id() < self.start && b.master < self.start {
                        // Every entry of this node is before the range.
                        self.done = true;
                        return None;
                    }
                    self.offs = b.offsets();
                } else {
                    self.pos = b.first_at();
                }
                self.cur = Some(b);
                continue;
            };
            let at = if self.rev {
                self.offs.pop()
            } else {
                (self.pos < b.end_at()).then_some(self.pos)
            };
            let Some(at) = at else {
                self.cur = None;
                continue;
            };
            let raw = b.entry_at(at);
            self.pos = raw.end;
            if self.rev {
                if raw.id < self.start {
                    self.done = true;
                    return None;
                }
                if raw.id > self.end {
                    continue;
                }
            } else {
                if raw.id > self.end {
                    self.done = true;
                    return None;
                }
                if raw.id < self.start {
                    continue;
                }
            }
            if raw.deleted {
                continue;
            }
            return Some(Entry {
                id: raw.id,
                block: b,
                raw,
            });
        }
        None
    }
}
