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
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

/// How one tracking client wants its invalidations.
#[derive(Clone, Debug, Default)]
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
    /// Set when an invalidation found the redirect target gone (shared by
    /// the session's copy and the registry's, so TRACKINGINFO sees it).
    pub broken: Arc<AtomicBool>,
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
        c.insert(
            id,
            Client {
                worker,
                resp3,
                mode,
            },
        );
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

    /// Sends invalidations for the keys one command changed, `writer`
    /// being the client that ran it (0: the server). Default-mode readers
    /// get one message per key; a BCAST client gets one message per
    /// matching prefix listing its keys sorted, as Redis's broadcast does.
    pub fn invalidate_keys<K: AsRef<[u8]>>(&self, shared: &Shared, keys: &[K], writer: u64) {
        let clients = self.clients.read();
        for key in keys {
            let key = key.as_ref();
            let readers = self.keys.lock().remove(key).unwrap_or_default();
            for id in readers {
                if let Some(c) = clients.get(&id) {
                    if !(c.mode.bcast || c.mode.noloop && id == writer) {
                        self.send(shared, id, c, Some(vec![key]));
                    }
                }
            }
        }
        for (&id, c) in clients.iter() {
            if !c.mode.bcast || (c.mode.noloop && id == writer) {
                continue;
            }
            for p in &c.mode.prefixes {
                let mut hit: Vec<&[u8]> = keys
                    .iter()
                    .map(|k| k.as_ref())
                    .filter(|k| k.starts_with(p))
                    .collect();
                if hit.is_empty() {
                    continue;
                }
                hit.sort_unstable();
                hit.dedup();
                self.send(shared, id, c, Some(hit));
            }
        }
    }

    /// Sends invalidations for one changed `key` (see [`Tracking::invalidate_keys`]).
    pub fn invalidate(&self, shared: &Shared, key: &[u8], writer: u64) {
        self.invalidate_keys(shared, &[key], writer);
    }

    /// FLUSHDB/FLUSHALL: every tracking client drops its whole cache.
    pub fn invalidate_all(&self, shared: &Shared) {
        self.keys.lock().clear();
        let clients = self.clients.read();
        for (&id, c) in clients.iter() {
            self.send(shared, id, c, None);
        }
    }

    fn send(&self, shared: &Shared, id: u64, c: &Client, keys: Option<Vec<&[u8]>>) {
        let keys = match keys {
            Some(ks) => Reply::Array(
                ks.into_iter()
                    .map(|k| Reply::Bulk(Bytes::copy_from_slice(k)))
                    .collect(),
            ),
            None => Reply::Nil,
        };
        let (target, worker, resp3) = if c.mode.redirect != 0 {
            let Some(r) = shared.clients.lock().get(&c.mode.redirect).cloned() else {
                // As Redis: flag it, and tell a RESP3 client once per message.
                c.mode.broken.store(true, Ordering::Relaxed);
                if c.resp3 {
                    let frame = Reply::Push(vec![
                        Reply::Bulk(Bytes::from_static(b"tracking-redir-broken")),
                        Reply::Int(c.mode.redirect as i64),
                    ]);
                    let mut buf = Vec::new();
                    encode(&frame, Protocol::Resp3, &mut buf);
                    if let Some(w) = shared.workers.get(c.worker) {
                        w.send(Msg::Push { id, bytes: buf });
                    }
                }
                return;
            };
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
        let mut buf = Vec::new();
        encode(
            &frame,
            if resp3 {
                Protocol::Resp3
            } else {
                Protocol::Resp2
            },
            &mut buf,
        );
        if let Some(w) = shared.workers.get(worker) {
            w.send(Msg::Push {
                id: target,
                bytes: buf,
            });
        }
    }
}

fn is(a: &[u8], word: &str) -> bool {
    a.eq_ignore_ascii_case(word.as_bytes())
}

/// `CLIENT TRACKING ON|OFF [REDIRECT id] [PREFIX p ...] [BCAST] [OPTIN]
/// [OPTOUT] [NOLOOP]`, with Redis's checks in Redis's order: options are
/// parsed first (a missing redirect target fails right there), then ON/OFF,
/// then the compatibility checks. Re-enabling replaces the flags and the
/// redirect and adds BCAST prefixes to the ones already held (BCAST without
/// PREFIX adds the empty prefix, which matches every key).
pub fn client_tracking(env: &mut crate::cmd::Env<'_>, argv: &[Bytes]) -> Reply {
    let mut mode = Mode::default();
    let mut new_prefixes = Vec::new();
    let mut i = 3;
    while i < argv.len() {
        let a = &argv[i];
        let more = i + 1 < argv.len();
        if is(a, "redirect") && more {
            i += 1;
            if mode.redirect != 0 {
                return Reply::error("ERR A client can only redirect to a single other client");
            }
            let Some(id) = kevy_store::parse_i64(&argv[i]) else {
                return Reply::error("ERR value is not an integer or out of range");
            };
            if id <= 0 || !env.shared.clients.lock().contains_key(&(id as u64)) {
                return Reply::error("ERR The client ID you want redirect to does not exist");
            }
            mode.redirect = id as u64;
        } else if is(a, "bcast") {
            mode.bcast = true;
        } else if is(a, "optin") {
            mode.optin = true;
        } else if is(a, "optout") {
            mode.optout = true;
        } else if is(a, "noloop") {
            mode.noloop = true;
        } else if is(a, "prefix") && more {
            i += 1;
            new_prefixes.push(argv[i].clone());
        } else {
            return Reply::error("ERR syntax error");
        }
        i += 1;
    }
    if is(&argv[2], "off") {
        if env.sess.tracking.take().is_some() {
            env.shared.tracking.disable(env.sess.id);
        }
        env.sess.caching = None;
        return Reply::ok();
    }
    if !is(&argv[2], "on") {
        return Reply::error("ERR syntax error");
    }
    if !mode.bcast && !new_prefixes.is_empty() {
        return Reply::error("ERR PREFIX option requires BCAST mode to be enabled");
    }
    let cur = env.sess.tracking.as_ref();
    if cur.is_some_and(|c| c.bcast != mode.bcast) {
        return Reply::error("ERR You can't switch BCAST mode on/off before disabling tracking for this client, and then re-enabling it with a different mode.");
    }
    if mode.bcast && (mode.optin || mode.optout) {
        return Reply::error("ERR OPTIN and OPTOUT are not compatible with BCAST");
    }
    if mode.optin && mode.optout {
        return Reply::error("ERR You can't specify both OPTIN mode and OPTOUT mode");
    }
    if cur.is_some_and(|c| (mode.optin && c.optout) || (mode.optout && c.optin)) {
        return Reply::error("ERR You can't switch OPTIN/OPTOUT mode before disabling tracking for this client, and then re-enabling it with a different mode.");
    }
    if mode.bcast {
        let held = cur.map(|c| c.prefixes.as_slice()).unwrap_or(&[]);
        for (n, p) in new_prefixes.iter().enumerate() {
            if let Some(old) = held.iter().find(|h| overlap(h, p)) {
                return Reply::error(format!(
                    "ERR Prefix '{}' overlaps with an existing prefix '{}'. Prefixes for a single client must not overlap.",
                    String::from_utf8_lossy(p),
                    String::from_utf8_lossy(old)
                ));
            }
            if let Some(other) = new_prefixes[n + 1..].iter().find(|o| overlap(p, o)) {
                return Reply::error(format!(
                    "ERR Prefix '{}' overlaps with another provided prefix '{}'. Prefixes for a single client must not overlap.",
                    String::from_utf8_lossy(p),
                    String::from_utf8_lossy(other)
                ));
            }
        }
        let mut all = held.to_vec();
        if new_prefixes.is_empty() {
            new_prefixes.push(Bytes::new());
        }
        for p in new_prefixes {
            if !all.contains(&p) {
                all.push(p);
            }
        }
        // Redis keeps them in a radix tree: TRACKINGINFO lists them sorted.
        all.sort();
        mode.prefixes = all;
    }
    let resp3 = env.sess.proto == Protocol::Resp3;
    env.shared
        .tracking
        .enable(env.sess.id, env.sess.handle.worker, resp3, mode.clone());
    env.sess.tracking = Some(mode);
    Reply::ok()
}

/// One prefix starts with the other (Redis's `stringCheckPrefix`).
fn overlap(a: &[u8], b: &[u8]) -> bool {
    a.starts_with(b) || b.starts_with(a)
}
