//! The pub/sub registry: who listens to which channel, pattern and shard
//! channel, and the delivery of messages to subscribers on any thread.
//! Delivery goes through each owner thread's FIFO inbox, so messages from
//! one publisher arrive in the order they were published.

use crate::shared::{ClientHandle, Msg, Shared};
use bytes::Bytes;
use kevy_resp::{encode, Protocol, Reply};
use parking_lot::RwLock;
use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// A subscriber as the registry knows it.
#[derive(Clone)]
pub struct Sub {
    /// Client id.
    pub id: u64,
    /// Owning event-loop thread.
    pub worker: usize,
    /// The client as other threads see it: its protocol is read at each
    /// delivery, because HELLO may switch it while the client is subscribed.
    pub handle: Arc<ClientHandle>,
}

impl Sub {
    /// The protocol the client speaks right now.
    pub fn proto(&self) -> Protocol {
        if self.handle.resp.load(Ordering::Relaxed) == 3 {
            Protocol::Resp3
        } else {
            Protocol::Resp2
        }
    }
}

/// The three namespaces Redis keeps apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// SUBSCRIBE / PUBLISH.
    Channel,
    /// PSUBSCRIBE (glob patterns over channels).
    Pattern,
    /// SSUBSCRIBE / SPUBLISH.
    Shard,
}

/// Channel (or pattern) → subscribers, per namespace.
#[derive(Default)]
pub struct PubSub {
    channels: RwLock<HashMap<Bytes, Vec<Sub>>>,
    patterns: RwLock<HashMap<Bytes, Vec<Sub>>>,
    shard: RwLock<HashMap<Bytes, Vec<Sub>>>,
}

impl PubSub {
    fn map(&self, kind: Kind) -> &RwLock<HashMap<Bytes, Vec<Sub>>> {
        match kind {
            Kind::Channel => &self.channels,
            Kind::Pattern => &self.patterns,
            Kind::Shard => &self.shard,
        }
    }

    /// Adds `sub` to `name`; false if it was already there.
    pub fn subscribe(&self, kind: Kind, name: &Bytes, sub: Sub) -> bool {
        let mut m = self.map(kind).write();
        // Copied: `name` is a slice of the client's read buffer.
        let v = m.entry(Bytes::copy_from_slice(name)).or_default();
        if v.iter().any(|s| s.id == sub.id) {
            return false;
        }
        v.push(sub);
        true
    }

    /// Removes client `id` from `name`; false if it was not there.
    pub fn unsubscribe(&self, kind: Kind, name: &[u8], id: u64) -> bool {
        let mut m = self.map(kind).write();
        let Some(v) = m.get_mut(name) else {
            return false;
        };
        let before = v.len();
        v.retain(|s| s.id != id);
        let removed = v.len() != before;
        if v.is_empty() {
            m.remove(name);
        }
        removed
    }

    /// Names with at least one subscriber, optionally filtered by a glob.
    pub fn names(&self, kind: Kind, pattern: Option<&[u8]>) -> Vec<Bytes> {
        self.map(kind)
            .read()
            .keys()
            .filter(|n| pattern.is_none_or(|p| kevy_config::glob_match(p, n, false)))
            .cloned()
            .collect()
    }

    /// Subscriber count of `name`.
    pub fn count(&self, kind: Kind, name: &[u8]) -> usize {
        self.map(kind).read().get(name).map_or(0, |v| v.len())
    }

    /// Number of patterns with subscribers (PUBSUB NUMPAT counts unique patterns).
    pub fn numpat(&self) -> usize {
        self.patterns.read().len()
    }

    /// Delivers `msg` on `channel` to every subscriber (exact channel and
    /// matching patterns for `Kind::Channel`, shard subscribers for
    /// `Kind::Shard`). Returns the number of receivers.
    pub fn publish(&self, shared: &Shared, kind: Kind, channel: &Bytes, msg: &Bytes) -> usize {
        let mut n = 0;
        // Deliveries grouped by owner thread: one inbox lock and at most one
        // wake per thread per publish, whatever the number of subscribers.
        let mut out: Vec<Vec<(u64, Bytes)>> = vec![Vec::new(); shared.workers.len()];
        let (exact_kind, label) = match kind {
            Kind::Shard => (Kind::Shard, "smessage"),
            _ => (Kind::Channel, "message"),
        };
        if let Some(v) = self.map(exact_kind).read().get(channel) {
            // One encoding per protocol, shared by every subscriber.
            let mut frames = Frames::new(vec![
                bulk(label),
                Reply::Bulk(channel.clone()),
                Reply::Bulk(msg.clone()),
            ]);
            for s in v {
                queue(&mut out, s, frames.get(s.proto()));
                n += 1;
            }
        }
        if kind == Kind::Channel {
            for (pat, v) in self.patterns.read().iter() {
                if !kevy_config::glob_match(pat, channel, false) {
                    continue;
                }
                let mut frames = Frames::new(vec![
                    bulk("pmessage"),
                    Reply::Bulk(pat.clone()),
                    Reply::Bulk(channel.clone()),
                    Reply::Bulk(msg.clone()),
                ]);
                for s in v {
                    queue(&mut out, s, frames.get(s.proto()));
                    n += 1;
                }
            }
        }
        for (worker, items) in out.into_iter().enumerate() {
            if !items.is_empty() {
                if let Some(w) = shared.workers.get(worker) {
                    w.send(Msg::PushMany(items));
                }
            }
        }
        n
    }
}

/// A push frame encoded at most once per protocol.
struct Frames {
    items: Vec<Reply>,
    resp2: Option<Bytes>,
    resp3: Option<Bytes>,
}

impl Frames {
    fn new(items: Vec<Reply>) -> Frames {
        Frames {
            items,
            resp2: None,
            resp3: None,
        }
    }

    fn get(&mut self, proto: Protocol) -> &Bytes {
        let slot = if proto == Protocol::Resp3 {
            &mut self.resp3
        } else {
            &mut self.resp2
        };
        slot.get_or_insert_with(|| {
            let mut buf = Vec::with_capacity(64);
            encode(&Reply::Push(self.items.clone()), proto, &mut buf);
            Bytes::from(buf)
        })
    }
}

fn queue(out: &mut [Vec<(u64, Bytes)>], s: &Sub, frame: &Bytes) {
    if let Some(v) = out.get_mut(s.worker) {
        v.push((s.id, frame.clone()));
    }
}

fn bulk(s: &'static str) -> Reply {
    Reply::Bulk(Bytes::from_static(s.as_bytes()))
}

/// Publishes keyspace events on `__keyspace@<db>__:<key>` and
/// `__keyevent@<db>__:<event>`, as `notify-keyspace-events` (`mask`) asks,
/// draining `events`. Called at the end of each command batch and after
/// each active-expiry cycle.
pub fn publish_notifications(
    shared: &Shared,
    mask: u32,
    events: &mut Vec<kevy_store::Notification>,
) {
    use kevy_store::notify::{KEYEVENT, KEYSPACE};
    for n in events.drain(..) {
        let db = n.db;
        if mask & n.class == 0 {
            continue;
        }
        if mask & KEYSPACE != 0 {
            let mut ch = format!("__keyspace@{db}__:").into_bytes();
            ch.extend_from_slice(&n.key);
            let msg = Bytes::from_static(n.event.as_bytes());
            shared
                .pubsub
                .publish(shared, Kind::Channel, &Bytes::from(ch), &msg);
        }
        if mask & KEYEVENT != 0 {
            let ch = Bytes::from(format!("__keyevent@{db}__:{}", n.event));
            shared
                .pubsub
                .publish(shared, Kind::Channel, &ch, &n.key.to_bytes());
        }
    }
}
