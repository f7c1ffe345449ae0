//! `StreamValue`: a Redis stream. Entries live in packed [`Block`]s (up to
//! `stream-node-max-entries` entries or `stream-node-max-bytes` bytes each,
//! delta-encoded IDs, field names shared with the block's first entry, as
//! Redis's listpack nodes) indexed by a persistent ordered map on each
//! block's first ID, so:
//!
//! - cloning is O(1) (a snapshot or a streamed reply shares every block;
//!   a write copies only the block it touches, at most a node's bytes);
//! - `XADD` appends to the last block, O(log n) to find it;
//! - a range read finds its first block in O(log n), then walks entries.
//!
//! Consumer groups ([`Group`]) hang off the stream in another persistent
//! map, ordered by name as Redis lists them.

mod block;
mod group;
mod id;
mod lag;
mod range;
mod rax;
mod restore;

use crate::kstr::KStr;
use block::{Block, Fields, RawEntry};
pub use group::{Consumer, Group, Nack, INVALID_ENTRIES_READ};
pub use id::{parse_id, ParsedId, StreamId};
use imbl::OrdMap;
pub use range::Range;
use std::sync::Arc;

/// The node size limits (`stream-node-max-bytes`, `stream-node-max-entries`;
/// 0 means no limit).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NodeLimits {
    /// Largest node, in bytes of Redis's listpack encoding.
    pub max_bytes: u64,
    /// Most entries (live and deleted) in a node.
    pub max_entries: u64,
}

impl Default for NodeLimits {
    fn default() -> NodeLimits {
        NodeLimits {
            max_bytes: 4096,
            max_entries: 100,
        }
    }
}

/// Redis's cap on a listpack (`STREAM_LISTPACK_MAX_SIZE`).
const LP_MAX_SIZE: u64 = 1 << 30;

/// Why an entry could not be added (Redis's two `streamAppendItem` errors).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AddError {
    /// The ID is not greater than the stream's last ID.
    NotGreater,
    /// The entry is too large (or its generated sequence overflowed).
    TooLarge,
}

/// How to trim a stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trim {
    /// Keep at most this many entries.
    MaxLen(u64),
    /// Drop entries with smaller IDs.
    MinId(StreamId),
}

/// A stream.
#[derive(Clone, Debug, Default)]
pub struct StreamValue {
    /// Every node but the last, by first ID.
    blocks: OrdMap<StreamId, Arc<Block>>,
    /// The last node, where XADD appends (kept out of the map so an append
    /// costs no map walk); its first ID is above every key of `blocks`.
    /// None only when the stream has no node.
    tail: Option<Arc<Block>>,
    length: u64,
    /// The last ID ever added (or set by XSETID).
    pub last_id: StreamId,
    /// The first live entry's ID, 0-0 when empty.
    pub first_id: StreamId,
    /// The largest ID deleted by XDEL.
    pub max_deleted: StreamId,
    /// Entries ever added.
    pub entries_added: u64,
    /// Consumer groups, by name.
    pub groups: OrdMap<KStr, Group>,
}

/// One entry: its ID and (field, value) pairs.
pub struct Entry<'a> {
    /// The entry's ID.
    pub id: StreamId,
    block: &'a Block,
    raw: RawEntry,
}

impl<'a> Entry<'a> {
    /// True for a deleted entry still held by its node (only
    /// [`StreamValue::nodes`] yields those).
    pub fn deleted(&self) -> bool {
        self.raw.deleted
    }

    /// The entry's (field, value) pairs, in order.
    pub fn fields(&self) -> impl ExactSizeIterator<Item = (&'a [u8], &'a [u8])> + 'a {
        ExactFields(self.block.fields(&self.raw))
    }
}

struct ExactFields<'a>(Fields<'a>);

impl<'a> Iterator for ExactFields<'a> {
    type Item = (&'a [u8], &'a [u8]);
    fn next(&mut self) -> Option<Self::Item> {
        self.0.next()
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.0.remaining(), Some(self.0.remaining()))
    }
}

impl ExactSizeIterator for ExactFields<'_> {}

impl PartialEq for StreamValue {
    /// Equal as a client sees it: the entries and every counter and group
    /// (consumer seen-times aside), whatever the node layout.
    fn eq(&self, o: &StreamValue) -> bool {
        self.length == o.length
            && self.last_id == o.last_id
            && self.first_id == o.first_id
            && self.max_deleted == o.max_deleted
            && self.entries_added == o.entries_added
            && self.groups == o.groups
            && self
                .range(StreamId::MIN, StreamId::MAX, false)
                .zip(o.range(StreamId::MIN, StreamId::MAX, false))
                .all(|(a, b)| a.id == b.id && a.fields().eq(b.fields()))
    }
}

impl StreamValue {
    /// Number of entries.
    pub fn len(&self) -> u64 {
        self.length
    }

    /// True when the stream holds no entry (it may still exist, with groups).
    pub fn is_empty(&self) -> bool {
        self.length == 0
    }

    /// `OBJECT ENCODING`.
    pub fn encoding(&self) -> &'static str {
        "stream"
    }

    /// Number of nodes (Redis's `radix-tree-keys`).
    pub fn node_count(&self) -> usize {
        self.blocks.len() + usize::from(self.tail.is_some())
    }

    /// Every node, in order.
    fn all_nodes(&self) -> impl Iterator<Item = &Block> + '_ {
        self.blocks
            .values()
            .map(|b| &**b)
            .chain(self.tail.as_deref())
    }

    /// The node that holds `id` if any does: the last one starting at or
    /// before it.
    fn node_for(&self, id: StreamId) -> Option<&Block> {
        match self.tail.as_deref() {
            Some(t) if t.master <= id => Some(t),
            _ => self.blocks.get_prev(&id).map(|(_, b)| &**b),
        }
    }

    /// Runs `f` on the node starting at `key` (copy-on-write when a
    /// snapshot shares it).
    fn with_node(&mut self, key: StreamId, f: impl FnOnce(&mut Block)) {
        if self.tail.as_ref().is_some_and(|t| t.master == key) {
            if let Some(t) = self.tail.as_mut() {
                f(Arc::make_mut(t));
            }
        } else if let Some(b) = self.blocks.get_mut(&key) {
            f(Arc::make_mut(b));
        }
    }

    /// Drops the node starting at `key` (the last one: the node before it
    /// becomes the last).
    fn remove_node(&mut self, key: StreamId) {
        if self.tail.as_ref().is_some_and(|t| t.master == key) {
            self.tail = self.blocks.get_max().map(|(_, b)| b.clone());
            if let Some(t) = &self.tail {
                let k = t.master;
                self.blocks.remove(&k);
            }
        } else {
            self.blocks.remove(&key);
        }
    }

    /// What Redis's radix tree over the nodes would count as nodes
    /// (`radix-tree-nodes`).
    pub fn rax_nodes(&self) -> u64 {
        let keys: Vec<[u8; 16]> = self.all_nodes().map(|b| b.master.be_bytes()).collect();
        rax::node_count(&keys)
    }

    /// Approximate heap bytes.
    pub fn heap_size(&self) -> usize {
        let blocks: usize = self.all_nodes().map(|b| b.heap_size() + 40).sum();
        let groups: usize = self
            .groups
            .iter()
            .map(|(k, g)| k.heap_size() + g.heap_size())
            .sum();
        std::mem::size_of::<StreamValue>() + blocks + groups
    }

    /// The ID `XADD` would give a new entry: `*` (`req` None) takes `now_ms`
    /// or the last ID's successor, `ms-*` the next sequence in `ms`, an
    /// explicit ID must be greater than the last (Redis's
    /// `streamAppendItem` checks).
    pub fn next_id(&self, now_ms: u64, req: Option<ParsedId>) -> Result<StreamId, AddError> {
        let last = self.last_id;
        let id = match req {
            None if now_ms > last.ms => StreamId::new(now_ms, 0),
            None => last.incr().ok_or(AddError::NotGreater)?,
            Some(p) if p.seq_given => p.id,
            Some(p) if p.id.ms == last.ms => {
                if last.seq == u64::MAX {
                    // Redis returns here without setting errno; the reply
                    // it then picks is the "too large" one.
                    return Err(AddError::TooLarge);
                }
                StreamId::new(last.ms, last.seq + 1)
            }
            Some(p) => p.id,
        };
        if id <= last {
            return Err(AddError::NotGreater);
        }
        Ok(id)
    }

    /// Appends entry `id` (from [`StreamValue::next_id`]) with `pairs`
    /// (field, value, ...), starting a new node when the last one is full.
    pub fn append(&mut self, id: StreamId, pairs: &[&[u8]], lim: NodeLimits) {
        let max_bytes = match lim.max_bytes {
            0 => LP_MAX_SIZE,
            n => n.min(LP_MAX_SIZE),
        };
        let payload: u64 = pairs.iter().map(|p| p.len() as u64).sum();
        match self.tail.as_mut() {
            Some(t)
                if !(t.lp_bytes + payload >= max_bytes
                    || (lim.max_entries != 0 && t.total() >= lim.max_entries)) =>
            {
                Arc::make_mut(t).push(id, pairs);
            }
            _ => {
                if let Some(mut full) = self.tail.take() {
                    // Redis shrinks the listpack it closes; a node shared
                    // with a snapshot is left as it is.
                    if let Some(b) = Arc::get_mut(&mut full) {
                        b.shrink();
                    }
                    self.blocks.insert(full.master, full);
                }
                self.tail = Some(Arc::new(Block::new(id, pairs)));
            }
        }
        self.length += 1;
        self.entries_added += 1;
        self.last_id = id;
        if self.length == 1 {
            self.first_id = id;
        }
    }

    /// Total field and value bytes of `pairs`, checked against Redis's
    /// listpack cap.
    pub fn fits(pairs: &[&[u8]]) -> bool {
        pairs.iter().map(|p| p.len() as u64).sum::<u64>() <= LP_MAX_SIZE
    }

    /// The live entries with IDs in `start..=end`, in order (backwards when
    /// `rev`).
    pub fn range(&self, start: StreamId, end: StreamId, rev: bool) -> Range<'_> {
        let none = || self.blocks.range(StreamId::MAX..StreamId::MAX);
        let tail = self
            .tail
            .as_deref()
            .filter(|t| t.master <= end && start <= end);
        let blocks = if start > end {
            none()
        } else if rev {
            self.blocks.range(..=end)
        } else if tail.is_some_and(|t| t.master <= start) {
            none()
        } else {
            let lo = self.blocks.get_prev(&start).map_or(start, |(k, _)| *k);
            self.blocks.range(lo..=end)
        };
        Range {
            blocks,
            tail,
            cur: None,
            pos: 0,
            offs: Vec::new(),
            start,
            end,
            rev,
            done: start > end,
        }
    }

    /// The live entry `id`, if any.
    pub fn get(&self, id: StreamId) -> Option<Entry<'_>> {
        self.range(id, id, false).next()
    }

    /// The first (or, `last`, the last) live entry.
    pub fn edge(&self, last: bool) -> Option<Entry<'_>> {
        self.range(StreamId::MIN, StreamId::MAX, last).next()
    }

    /// Number of live entries in `start..=end`: whole nodes inside the
    /// range are counted without decoding them.
    pub fn count_range(&self, start: StreamId, end: StreamId) -> u64 {
        if start > end {
            return 0;
        }
        let tail = self.tail.as_deref().filter(|t| t.master <= end);
        let from_map = if tail.is_some_and(|t| t.master <= start) {
            self.blocks.range(StreamId::MAX..StreamId::MAX)
        } else {
            let lo = self.blocks.get_prev(&start).map_or(start, |(k, _)| *k);
            self.blocks.range(lo..=end)
        };
        let mut n = 0;
        for b in from_map.map(|(_, b)| &**b).chain(tail) {
            if b.master >= start && b.last_id() <= end {
                n += u64::from(b.live);
            } else {
                let mut at = b.first_at();
                while at < b.end_at() {
                    let e = b.entry_at(at);
                    if !e.deleted && e.id >= start && e.id <= end {
                        n += 1;
                    }
                    at = e.end;
                }
            }
        }
        n
    }

    /// Deletes entry `id`; false if there was no such live entry. A node
    /// left without live entries is dropped. (XDEL's bookkeeping of
    /// `first_id` and `max_deleted` is the caller's.)
    pub fn delete(&mut self, id: StreamId) -> bool {
        let Some(b) = self.node_for(id) else {
            return false;
        };
        let mut at = b.first_at();
        let mut found = None;
        while at < b.end_at() {
            let e = b.entry_at(at);
            if e.id == id {
                if !e.deleted {
                    found = Some(at);
                }
                break;
            }
            if e.id > id {
                break;
            }
            at = e.end;
        }
        let Some(at) = found else {
            return false;
        };
        let (key, last) = (b.master, b.live == 1);
        if last {
            self.remove_node(key);
        } else {
            self.with_node(key, |b| {
                b.delete_at(at);
            });
        }
        self.length -= 1;
        true
    }

    /// Sets `first_id` to the first live entry (0-0 when empty).
    pub fn refresh_first_id(&mut self) {
        self.first_id = self.edge(false).map_or(StreamId::MIN, |e| e.id);
    }

    /// Trims the stream as Redis's `streamTrim`: whole nodes from the head
    /// while they can go; then, unless `approx`, entries inside the next
    /// node. `limit` (0: none) caps the entries removed by whole nodes.
    /// Returns the number of entries removed.
    pub fn trim(&mut self, to: Trim, approx: bool, limit: u64) -> u64 {
        let mut deleted = 0u64;
        loop {
            let first = match self.blocks.get_min() {
                Some((_, b)) => b.clone(),
                None => match &self.tail {
                    Some(t) => t.clone(),
                    None => break,
                },
            };
            let b = &*first;
            let key = b.master;
            if let Trim::MaxLen(m) = to {
                if self.length <= m {
                    break;
                }
            }
            let entries = u64::from(b.live);
            if limit != 0 && deleted + entries > limit {
                break;
            }
            let remove = match to {
                Trim::MaxLen(m) => self.length - entries >= m,
                Trim::MinId(min) => b.last_id() < min,
            };
            if remove {
                self.remove_node(key);
                self.length -= entries;
                deleted += entries;
                continue;
            }
            if approx {
                break;
            }
            let mut victims = Vec::new();
            let mut at = b.first_at();
            let mut length = self.length;
            while at < b.end_at() {
                let e = b.entry_at(at);
                let stop = match to {
                    Trim::MaxLen(m) => length <= m,
                    Trim::MinId(min) => e.id >= min,
                };
                if stop {
                    break;
                }
                if !e.deleted {
                    victims.push(at);
                    length -= 1;
                }
                at = e.end;
            }
            let mut n = 0;
            self.with_node(key, |b| n = b.delete_run(&victims));
            self.length -= u64::from(n);
            deleted += u64::from(n);
            break;
        }
        if deleted > 0 {
            self.refresh_first_id();
        }
        deleted
    }
}

#[cfg(test)]
mod tests;
