//! What CLIENT LIST / CLIENT INFO show of a connection. The session lives
//! on its event-loop thread, so after every batch the fields another client
//! may list (subscriptions, MULTI, blocked, tracking) are published into the
//! connection's shared handle.

use crate::conn::Session;
use crate::shared::{ClientHandle, Shared};
use std::sync::atomic::Ordering;

/// Bits of `ClientHandle::state_flags`.
const PUBSUB: u8 = 1;
const MULTI: u8 = 2;
const BLOCKED: u8 = 4;
const TRACKING: u8 = 8;
const BCAST: u8 = 16;

/// Copies the session's listable state into its handle.
pub fn publish_state(sess: &Session) {
    let h = &sess.handle;
    let (subs, psubs, ssubs) = (sess.subs.len(), sess.psubs.len(), sess.ssubs.len());
    h.subs.store(subs as u32, Ordering::Relaxed);
    h.psubs.store(psubs as u32, Ordering::Relaxed);
    h.ssubs.store(ssubs as u32, Ordering::Relaxed);
    h.multi.store(
        sess.multi.as_ref().map_or(-1, |q| q.len() as i64),
        Ordering::Relaxed,
    );
    let mut f = 0;
    if subs + psubs + ssubs > 0 {
        f |= PUBSUB;
    }
    if sess.multi.is_some() {
        f |= MULTI;
    }
    if sess.blocked.is_some() {
        f |= BLOCKED;
    }
    if let Some(m) = &sess.tracking {
        f |= TRACKING;
        if m.bcast {
            f |= BCAST;
        }
    }
    h.state_flags.store(f, Ordering::Relaxed);
}

/// Redis's `flags=` letters, in Redis's order (`N` for none).
fn flags(h: &ClientHandle) -> String {
    let f = h.state_flags.load(Ordering::Relaxed);
    let mut s = String::new();
    if h.monitoring.load(Ordering::Relaxed) {
        s.push('O');
    }
    for (bit, c) in [
        (PUBSUB, 'P'),
        (MULTI, 'x'),
        (BLOCKED, 'b'),
        (TRACKING, 't'),
        (BCAST, 'B'),
    ] {
        if f & bit != 0 {
            s.push(c);
        }
    }
    if h.no_evict.load(Ordering::Relaxed) {
        s.push('e');
    }
    if s.is_empty() {
        s.push('N');
    }
    s
}

/// One CLIENT LIST line, with Redis's fields in Redis's order.
pub fn client_line(shared: &Shared, h: &ClientHandle) -> String {
    let full = h.last_full_name.lock().clone();
    let cmd = shared
        .commands
        .get(h.last_cmd.load(Ordering::Relaxed))
        .map_or("NULL".to_string(), |c| {
            if full.starts_with(c.meta.name)
                && full.as_bytes().get(c.meta.name.len()) == Some(&b'|')
            {
                full.clone()
            } else {
                c.meta.name.to_string()
            }
        });
    let qbuf = h.qbuf.load(Ordering::Relaxed);
    let obuf = h.obuf.load(Ordering::Relaxed);
    let lib = h.lib.lock().clone();
    format!(
        "id={} addr={} laddr={} fd={} name={} age={} idle={} flags={} db={} sub={} psub={} ssub={} multi={} qbuf={} qbuf-free={} argv-mem=0 multi-mem=0 rbs=16384 rbp=0 obl={} oll=0 omem={} tot-mem={} events=r cmd={} user={} redir=-1 resp={} lib-name={} lib-ver={}",
        h.id,
        h.addr,
        h.laddr,
        h.fd,
        h.name.lock(),
        h.created.elapsed().as_secs(),
        h.idle_secs(),
        flags(h),
        h.db.load(Ordering::Relaxed),
        h.subs.load(Ordering::Relaxed),
        h.psubs.load(Ordering::Relaxed),
        h.ssubs.load(Ordering::Relaxed),
        h.multi.load(Ordering::Relaxed),
        qbuf,
        16384usize.saturating_sub(qbuf),
        obuf,
        obuf,
        qbuf + obuf + 32 * 1024,
        cmd,
        crate::acl::user_name(h),
        h.resp.load(Ordering::Relaxed),
        lib.0,
        lib.1,
    )
}
