//! Consumer groups: a group's last-delivered ID and read counter, its
//! pending entries list (PEL: ID → delivery time, count, owner) and its
//! consumers, each with its own PEL (the IDs it owns). Everything is a
//! persistent map, so cloning a stream for a snapshot copies no group.

use super::id::StreamId;
use crate::kstr::KStr;
use imbl::{OrdMap, OrdSet};

/// `entries_read` when the group's read counter is unknown (Redis's
/// `SCG_INVALID_ENTRIES_READ`).
pub const INVALID_ENTRIES_READ: i64 = -1;

/// A pending (delivered, not acknowledged) entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Nack {
    /// Last delivery, Unix ms.
    pub delivery_time: u64,
    /// Deliveries so far.
    pub delivery_count: u64,
    /// The consumer it was last delivered to.
    pub consumer: KStr,
}

/// A consumer of a group.
#[derive(Clone, Debug, Default)]
pub struct Consumer {
    /// Last time it was active, Unix ms.
    pub seen_time: u64,
    /// The pending entries it owns.
    pub pel: OrdSet<StreamId>,
}

impl PartialEq for Consumer {
    /// Equal by what replay rebuilds: the owned entries. The seen time is
    /// the clock of whoever last touched the consumer, and is not logged
    /// (Redis does not propagate it either).
    fn eq(&self, o: &Consumer) -> bool {
        self.pel == o.pel
    }
}

/// A consumer group.
#[derive(Clone, Debug, PartialEq)]
pub struct Group {
    /// Last delivered ID.
    pub last_id: StreamId,
    /// Logical count of entries read, or [`INVALID_ENTRIES_READ`].
    pub entries_read: i64,
    /// Pending entries, by ID.
    pub pel: OrdMap<StreamId, Nack>,
    /// Consumers, by name (byte order, as Redis's rax lists them).
    pub consumers: OrdMap<KStr, Consumer>,
}

impl Group {
    /// A group delivering after `last_id`.
    pub fn new(last_id: StreamId, entries_read: i64) -> Group {
        Group {
            last_id,
            entries_read,
            pel: OrdMap::new(),
            consumers: OrdMap::new(),
        }
    }

    /// The consumer `name`, created (seen now) if missing; true when created.
    pub fn consumer_or_create(&mut self, name: &[u8], now_ms: u64) -> (&mut Consumer, bool) {
        let mut created = false;
        let c = self
            .consumers
            .entry(KStr::from_slice(name))
            .or_insert_with(|| {
                created = true;
                Consumer {
                    seen_time: now_ms,
                    pel: OrdSet::new(),
                }
            });
        (c, created)
    }

    /// Removes `id` from the group's PEL and from its owner's; returns the
    /// removed entry.
    pub fn ack(&mut self, id: StreamId) -> Option<Nack> {
        let nack = self.pel.remove(&id)?;
        if let Some(c) = self.consumers.get_mut(&nack.consumer[..]) {
            c.pel.remove(&id);
        }
        Some(nack)
    }

    /// Records a delivery of `id` to `consumer` at `now_ms`: a new pending
    /// entry with `count`, or the existing one moved to `consumer`.
    pub fn deliver(&mut self, id: StreamId, consumer: &[u8], now_ms: u64, count: u64) {
        if let Some(old) = self.pel.get(&id) {
            if old.consumer[..] != *consumer {
                let prev = old.consumer.clone();
                if let Some(c) = self.consumers.get_mut(&prev[..]) {
                    c.pel.remove(&id);
                }
            }
        }
        self.pel.insert(
            id,
            Nack {
                delivery_time: now_ms,
                delivery_count: count,
                consumer: KStr::from_slice(consumer),
            },
        );
        if let Some(c) = self.consumers.get_mut(consumer) {
            c.pel.insert(id);
        }
    }

    /// Approximate heap bytes.
    pub fn heap_size(&self) -> usize {
        let pel = self.pel.len() * (16 + std::mem::size_of::<Nack>() + 16);
        let consumers: usize = self
            .consumers
            .iter()
            .map(|(k, c)| 64 + k.heap_size() + c.pel.len() * 24)
            .sum();
        64 + pel + consumers
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deliver_and_ack() {
        let mut g = Group::new(StreamId::MIN, 0);
        g.consumer_or_create(b"alice", 1);
        g.consumer_or_create(b"bob", 1);
        let id = StreamId::new(5, 0);
        g.deliver(id, b"alice", 10, 1);
        assert!(g
            .consumers
            .get(&b"alice"[..])
            .is_some_and(|c| c.pel.contains(&id)));
        g.deliver(id, b"bob", 20, 2);
        assert!(g
            .consumers
            .get(&b"alice"[..])
            .is_some_and(|c| c.pel.is_empty()));
        assert!(g
            .consumers
            .get(&b"bob"[..])
            .is_some_and(|c| c.pel.contains(&id)));
        let n = g.ack(id);
        assert_eq!(n.map(|n| n.delivery_count), Some(2));
        assert!(g.pel.is_empty());
        assert!(g
            .consumers
            .get(&b"bob"[..])
            .is_some_and(|c| c.pel.is_empty()));
    }
}
