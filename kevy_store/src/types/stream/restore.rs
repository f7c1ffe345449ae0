//! Rebuilding a stream: node by node from a snapshot ([`StreamValue::nodes`],
//! [`StreamValue::load_node`]), or from commands.
//!
//! The commands that rebuild a stream exactly (a cross-shard RENAME, COPY
//! or MOVE logs them in the destination shard's file): Redis has no command
//! that creates a pending entry for an entry no longer in the stream, so
//! such entries are added back as placeholders, claimed, then removed the
//! way they went (trimmed below the first live entry, deleted above it),
//! and `XSETID` puts the counters back. Only consumer seen-times are not
//! rebuilt.

use super::block::Block;
use super::{Entry, StreamId, StreamValue};
use crate::types::Argv;
use std::collections::BTreeSet;
use std::sync::Arc;

impl StreamValue {
    /// The commands that recreate this stream under `key`.
    pub fn restore_commands(&self, key: &[u8]) -> Vec<Argv> {
        let b = |s: &[u8]| s.to_vec();
        let id = |i: StreamId| i.to_string().into_bytes();
        let live: Vec<StreamId> = self
            .range(StreamId::MIN, StreamId::MAX, false)
            .map(|e| e.id)
            .collect();
        let ghosts: BTreeSet<StreamId> = self
            .groups
            .values()
            .flat_map(|g| g.pel.keys().copied())
            .filter(|pid| self.get(*pid).is_none())
            .collect();
        let mut out = Vec::new();
        let mut live_it = self.range(StreamId::MIN, StreamId::MAX, false).peekable();
        let mut ghost_it = ghosts.iter().peekable();
        loop {
            let next_live = live_it.peek().map(|e| e.id);
            let next_ghost = ghost_it.peek().map(|g| **g);
            let take_live = match (next_live, next_ghost) {
                (Some(l), Some(g)) => l < g,
                (Some(_), None) => true,
                (None, Some(_)) => false,
                (None, None) => break,
            };
            if take_live {
                let Some(e) = live_it.next() else { break };
                let mut c = vec![b(b"XADD"), b(key), id(e.id)];
                for (f, v) in e.fields() {
                    c.push(b(f));
                    c.push(b(v));
                }
                out.push(c);
            } else if let Some(g) = ghost_it.next() {
                out.push(vec![b(b"XADD"), b(key), id(*g), b(b"x"), b(b"y")]);
            }
        }
        if out.is_empty() {
            // An empty stream: create it and trim the entry away at once
            // (XSETID below puts the counters back).
            out.push(vec![
                b(b"XADD"),
                b(key),
                b(b"MAXLEN"),
                b(b"0"),
                b(b"0-1"),
                b(b"x"),
                b(b"y"),
            ]);
        }
        for (name, g) in &self.groups {
            out.push(vec![
                b(b"XGROUP"),
                b(b"CREATE"),
                b(key),
                b(name),
                id(g.last_id),
                b(b"ENTRIESREAD"),
                g.entries_read.to_string().into_bytes(),
            ]);
            for (pid, nack) in &g.pel {
                out.push(vec![
                    b(b"XCLAIM"),
                    b(key),
                    b(name),
                    b(&nack.consumer),
                    b(b"0"),
                    id(*pid),
                    b(b"TIME"),
                    nack.delivery_time.to_string().into_bytes(),
                    b(b"RETRYCOUNT"),
                    nack.delivery_count.to_string().into_bytes(),
                    b(b"JUSTID"),
                    b(b"FORCE"),
                ]);
            }
            for (cname, c) in &g.consumers {
                if c.pel.is_empty() {
                    out.push(vec![
                        b(b"XGROUP"),
                        b(b"CREATECONSUMER"),
                        b(key),
                        b(name),
                        b(cname),
                    ]);
                }
            }
        }
        // The placeholders go as their entries went: the ones before the
        // first live entry by a trim (which leaves the largest deleted ID
        // alone), the others by XDEL (they were deleted: the largest
        // deleted ID is at least theirs, and XSETID restores it).
        match live.first() {
            None if !ghosts.is_empty() => {
                out.push(vec![b(b"XTRIM"), b(key), b(b"MAXLEN"), b(b"0")]);
            }
            Some(first) if ghosts.iter().any(|g| g < first) => {
                out.push(vec![b(b"XTRIM"), b(key), b(b"MINID"), id(*first)]);
            }
            _ => {}
        }
        let above: Vec<StreamId> = match live.first() {
            Some(first) => ghosts.iter().filter(|g| *g > first).copied().collect(),
            None => Vec::new(),
        };
        if !above.is_empty() {
            let mut c = vec![b(b"XDEL"), b(key)];
            c.extend(above.into_iter().map(id));
            out.push(c);
        }
        let mut setid = vec![
            b(b"XSETID"),
            b(key),
            id(self.last_id),
            b(b"ENTRIESADDED"),
            self.entries_added.to_string().into_bytes(),
        ];
        if !self.max_deleted.is_zero() {
            setid.extend([b(b"MAXDELETEDID"), id(self.max_deleted)]);
        }
        out.push(setid);
        out
    }

    /// Appends a whole node as a snapshot stored it: `entries` as (ID,
    /// deleted, field, value, ...), IDs increasing and above every ID
    /// already held, at least one entry live. Counters other than the
    /// length (`last_id`, `first_id`, ...) are the caller's to set.
    pub fn load_node(
        &mut self,
        entries: &[(StreamId, bool, Vec<&[u8]>)],
    ) -> Result<(), &'static str> {
        let Some(((first, _, pairs), rest)) = entries.split_first() else {
            return Err("empty stream node");
        };
        if !entries.iter().any(|e| !e.1) {
            return Err("stream node without a live entry");
        }
        if entries.iter().any(|e| e.2.is_empty() || e.2.len() % 2 != 0) {
            return Err("stream entry without field-value pairs");
        }
        let floor = self
            .tail
            .as_ref()
            .or_else(|| self.blocks.get_max().map(|(_, b)| b))
            .map(|b| b.last_id());
        if floor.is_some_and(|f| *first <= f) || entries.windows(2).any(|w| w[0].0 >= w[1].0) {
            return Err("stream IDs out of order");
        }
        let mut b = Block::new(*first, pairs);
        for (id, _, pairs) in rest {
            b.push(*id, pairs);
        }
        let dead: Vec<usize> = b
            .offsets()
            .into_iter()
            .zip(entries)
            .filter(|(_, e)| e.1)
            .map(|(at, _)| at)
            .collect();
        b.delete_run(&dead);
        b.shrink();
        self.length += u64::from(b.live);
        if let Some(t) = self.tail.take() {
            self.blocks.insert(t.master, t);
        }
        self.tail = Some(Arc::new(b));
        Ok(())
    }

    /// The stream's nodes in order, each as its entries, deleted ones
    /// included (see [`Entry::deleted`]): what a snapshot writer stores.
    pub fn nodes(&self) -> impl Iterator<Item = Vec<Entry<'_>>> + '_ {
        self.all_nodes().map(|b| {
            let mut v = Vec::new();
            let mut at = b.first_at();
            while at < b.end_at() {
                let raw = b.entry_at(at);
                v.push(Entry {
                    id: raw.id,
                    block: b,
                    raw,
                });
                at = raw.end;
            }
            v
        })
    }
}
