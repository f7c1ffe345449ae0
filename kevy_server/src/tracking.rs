//! Server-assisted client-side caching (CLIENT TRACKING). In the default
//! mode the server remembers which client read which key and sends each one
//! an `invalidate` message when the key changes; in BCAST mode clients name
//! key prefixes and hear about every change under them. Messages go through
//! the owner thread's inbox like pub/sub messages; a client may redirect its
//! invalidations to another connection (RESP2 clients then receive them on
//! `__redis__:invalidate`).

use crate::shared::{Msg, Shared};
use bytes::Bytes;
use kevy_resp::{encode, Protocol, Reply};
use parking_lot::{Mutex, RwLock};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};

/// How one tracking client wants its invalidations.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Mode {
    /// BCAST: prefix subscriptions instead of read tracking.
    pub bcast: bool,
    /// OPTIN: track only reads after CLIENT CACHING yes.
    pub optin: bool,
    /// OPTOUT: track reads unless CLIENT CACHING no.
    pub optout: bool,
    /// NOLOOP: no invalidation for the client's own writes.
    pub noloop: bool,
    /// Client receiving the invalidations (0: the client itself).
    pub redirect: u64,
    /// BCAST prefixes (empty prefix = every key).
    pub prefixes: Vec<Bytes>,
}

#[derive(Clone)]
struct Client {
    worker: usize,
    resp3: bool,
    mode: Mode,
}

/// The tracking registry shared by every thread.
#[derive(Default)]
pub struct Tracking {
    active: AtomicUsize,
    clients: RwLock<HashMap<u64, Client>>,
    keys: Mutex<HashMap<Bytes, Vec<u64>>>,
}

impl Tracking {
    /// True when at least one client tracks (writes then collect keys).
    pub fn active(&self) -> bool {
        self.active.load(Ordering::Relaxed) > 0
    }

    /// Turns tracking on for client `id`.
    pub fn enable(&self, id: u64, worker: usize, resp3: bool, mode: Mode) {
        let mut c = self.clients.write();
        c.insert(id, Client { worker, resp3, mode });
        self.active.store(c.len(), Ordering::Relaxed);
    }

    /// Turns tracking off for client `id` (also on disconnect).
    pub fn disable(&self, id: u64) {
        let mut c = self.clients.write();
        if c.remove(&id).is_some() {
            self.active.store(c.len(), Ordering::Relaxed);
        }
    }

    /// Remembers that client `id` read `key` (default mode).
    pub fn remember(&self, id: u64, key: &[u8]) {
        let mut k = self.keys.lock();
        let v = k.entry(Bytes::copy_from_slice(key)).or_default();
        if !v.contains(&id) {
            v.push(id);
        }
    }

    /// Sends invalidations for `key`, changed by client `writer` (0: the server).
    pub fn invalidate(&self, shared: &Shared, key: &[u8], writer: u64) {
        let readers = self.keys.lock().remove(key).unwrap_or_default();
        let clients = self.clients.read();
        for id in readers {
            if let Some(c) = clients.get(&id) {
                if !(c.mode.noloop && id == writer) && !c.mode.bcast {
                    self.send(shared, &clients, id, c, Some(key));
                }
            }
        }
        for (&id, c) in clients.iter() {
            if c.mode.bcast && !(c.mode.noloop && id == writer) && c.mode.prefixes.iter().any(|p| key.starts_with(p)) {
                self.send(shared, &clients, id, c, Some(key));
            }
        }
        if clients.iter().any(|(_, c)| c.mode.bcast && c.mode.prefixes.is_empty()) {
            for (&id, c) in clients.iter() {
                if c.mode.bcast && c.mode.prefixes.is_empty() && !(c.mode.noloop && id == writer) {
                    self.send(shared, &clients, id, c, Some(key));
                }
            }
        }
    }

    /// FLUSHDB/FLUSHALL: every tracking client drops its whole cache.
    pub fn invalidate_all(&self, shared: &Shared) {
        self.keys.lock().clear();
        let clients = self.clients.read();
        for (&id, c) in clients.iter() {
            self.send(shared, &clients, id, c, None);
        }
    }

    fn send(&self, shared: &Shared, clients: &HashMap<u64, Client>, id: u64, c: &Client, key: Option<&[u8]>) {
        let keys = match key {
            Some(k) => Reply::Array(vec![Reply::Bulk(Bytes::copy_from_slice(k))]),
            None => Reply::Nil,
        };
        let (target, worker, resp3) = if c.mode.redirect != 0 {
            let Some(r) = shared.clients.lock().get(&c.mode.redirect).cloned() else { return };
            let resp3 = r.resp.load(Ordering::Relaxed) == 3;
            (r.id, r.worker, resp3)
        } else {
            (id, c.worker, c.resp3)
        };
        let frame = if resp3 {
            Reply::Push(vec![Reply::Bulk(Bytes::from_static(b"invalidate")), keys])
        } else {
            Reply::Push(vec![
                Reply::Bulk(Bytes::from_static(b"message")),
                Reply::Bulk(Bytes::from_static(b"__redis__:invalidate")),
                keys,
            ])
        };
        let _ = clients;
        let mut buf = Vec::new();
        encode(&frame, if resp3 { Protocol::Resp3 } else { Protocol::Resp2 }, &mut buf);
        if let Some(w) = shared.workers.get(worker) {
            w.send(Msg::Push { id: target, bytes: buf });
        }
    }
}
