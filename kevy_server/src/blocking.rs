//! The registry of clients parked by blocking commands (BLPOP, BLMOVE,
//! BZPOPMIN, ...). A waiter is queued on each key it waits for, in arrival
//! order, so the longest-waiting client is served first. Whoever removes a
//! waiter from the registry (`claim`) owns its reply: the thread that served
//! it, the owner's timeout check, or CLIENT UNBLOCK. Everything else sees it
//! gone, so a client is answered exactly once.

use bytes::Bytes;
use kevy_resp::{Protocol, Reply};
use kevy_store::KStr;
use parking_lot::Mutex;
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};

/// A parked client and the command to re-run for it.
#[derive(Clone)]
pub struct Waiter {
    /// Client id.
    pub id: u64,
    /// Owning event-loop thread.
    pub worker: usize,
    /// Database the command runs in.
    pub db: usize,
    /// The client's protocol version.
    pub proto: Protocol,
    /// The blocking command, re-run when a key is ready.
    pub argv: Vec<Bytes>,
    /// Keys waited on.
    pub keys: Vec<KStr>,
}

impl Waiter {
    /// What the command answers when it times out: Redis 7.0 answers every
    /// blocking command's timeout with a null array (`*-1` in RESP2), even
    /// the single-element moves (BLMOVE, BRPOPLPUSH).
    pub fn timeout_reply(&self) -> Reply {
        Reply::NilArray
    }
}

#[derive(Default)]
struct Inner {
    by_key: HashMap<(usize, KStr), VecDeque<u64>>,
    waiters: HashMap<u64, Waiter>,
}

/// The registry shared by all threads.
#[derive(Default)]
pub struct Blocking {
    inner: Mutex<Inner>,
    count: AtomicUsize,
}

impl Blocking {
    /// Number of parked clients (cheap; checked before every ready-key pass).
    pub fn len(&self) -> usize {
        self.count.load(Ordering::Relaxed)
    }

    /// Parks `w` at the back of each of its keys' queues.
    pub fn park(&self, w: Waiter) {
        let mut g = self.inner.lock();
        for k in &w.keys {
            g.by_key
                .entry((w.db, k.clone()))
                .or_default()
                .push_back(w.id);
        }
        g.waiters.insert(w.id, w);
        self.count.store(g.waiters.len(), Ordering::Relaxed);
    }

    /// Puts back a waiter that was claimed but could not be served, at the
    /// front of its queues so it keeps its turn.
    pub fn unclaim(&self, w: Waiter) {
        let mut g = self.inner.lock();
        for k in &w.keys {
            g.by_key
                .entry((w.db, k.clone()))
                .or_default()
                .push_front(w.id);
        }
        g.waiters.insert(w.id, w);
        self.count.store(g.waiters.len(), Ordering::Relaxed);
    }

    /// Removes client `id` from the registry; the caller now owns its reply.
    pub fn claim(&self, id: u64) -> Option<Waiter> {
        let mut g = self.inner.lock();
        let w = g.waiters.remove(&id)?;
        for k in &w.keys {
            let kk = (w.db, k.clone());
            if let Some(q) = g.by_key.get_mut(&kk) {
                q.retain(|&x| x != id);
                if q.is_empty() {
                    g.by_key.remove(&kk);
                }
            }
        }
        self.count.store(g.waiters.len(), Ordering::Relaxed);
        Some(w)
    }

    /// Every key some client waits on in `db`.
    pub fn keys_in(&self, db: usize) -> Vec<KStr> {
        let g = self.inner.lock();
        g.by_key
            .keys()
            .filter(|(d, _)| *d == db)
            .map(|(_, k)| k.clone())
            .collect()
    }

    /// Claims the longest-waiting client on `key` in `db`.
    pub fn claim_first(&self, db: usize, key: &KStr) -> Option<Waiter> {
        let id = {
            let g = self.inner.lock();
            *g.by_key.get(&(db, key.clone()))?.front()?
        };
        self.claim(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(id: u64, keys: &[&str]) -> Waiter {
        Waiter {
            id,
            worker: 0,
            db: 0,
            proto: Protocol::Resp2,
            argv: vec![],
            keys: keys.iter().map(|k| KStr::from(*k)).collect(),
        }
    }

    #[test]
    fn fifo_and_claim_once() {
        let b = Blocking::default();
        b.park(w(1, &["a", "b"]));
        b.park(w(2, &["a"]));
        assert_eq!(b.len(), 2);
        let first = b.claim_first(0, &KStr::from("a")).map(|w| w.id);
        assert_eq!(first, Some(1));
        assert!(b.claim(1).is_none());
        assert_eq!(b.claim_first(0, &KStr::from("b")).map(|w| w.id), None);
        b.unclaim(w(1, &["a", "b"]));
        assert_eq!(b.claim_first(0, &KStr::from("a")).map(|w| w.id), Some(1));
        assert_eq!(b.claim_first(0, &KStr::from("a")).map(|w| w.id), Some(2));
        assert_eq!(b.len(), 0);
    }
}
