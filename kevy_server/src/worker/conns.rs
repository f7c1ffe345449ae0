//! The connections an event loop owns, by slot (the poll token) and by
//! client id. A connection is taken out of its slot while the loop works
//! on it, so what runs meanwhile (a busy script serving the loop's other
//! clients, see `busy.rs`) can reach every other connection without
//! aliasing the one in use.

use crate::conn::{Conn, Session};
use crate::shared::{ClientHandle, Shared};
use mio::net::TcpStream;
use mio::{Interest, Poll, Token};
use std::cell::RefCell;
use std::collections::HashMap;
use std::os::fd::AsRawFd;
use std::rc::Rc;
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// The connection table.
#[derive(Default)]
pub(crate) struct Conns {
    pub slots: Vec<Option<Box<Conn>>>,
    pub free: Vec<usize>,
    pub by_id: HashMap<u64, usize>,
    /// Slots of parked clients with a deadline, checked for timeouts.
    pub blocked: Vec<usize>,
}

/// The table, shared between the loop and its busy-script server.
pub(crate) type ConnTable = Rc<RefCell<Conns>>;

/// Runs `f` on the connection in `slot`, taken out of the table for the
/// while (the table is not borrowed during `f`). None if the slot is
/// empty (or the connection is in use further up the stack).
pub(crate) fn with_conn<R>(
    table: &ConnTable,
    slot: usize,
    f: impl FnOnce(&mut Conn) -> R,
) -> Option<R> {
    let mut conn = table.borrow_mut().slots.get_mut(slot)?.take()?;
    let r = f(&mut conn);
    if let Some(s) = table.borrow_mut().slots.get_mut(slot) {
        *s = Some(conn);
    }
    Some(r)
}

/// Registers an accepted socket as a new client of loop `idx`.
pub(crate) fn adopt(
    shared: &Shared,
    poll: &Poll,
    idx: usize,
    conns: &mut Conns,
    mut sock: TcpStream,
    addr: std::net::SocketAddr,
) {
    let _ = sock.set_nodelay(true);
    let slot = conns.free.pop().unwrap_or_else(|| {
        conns.slots.push(None);
        conns.slots.len() - 1
    });
    if poll
        .registry()
        .register(&mut sock, Token(slot), Interest::READABLE)
        .is_err()
    {
        conns.free.push(slot);
        return;
    }
    let id = shared.next_client_id.fetch_add(1, Ordering::Relaxed);
    let laddr = sock.local_addr().map(|a| a.to_string()).unwrap_or_default();
    let handle = Arc::new(ClientHandle::new(
        id,
        addr.to_string(),
        laddr,
        sock.as_raw_fd(),
        idx,
    ));
    let n = {
        let mut clients = shared.clients.lock();
        clients.insert(id, handle.clone());
        clients.len()
    };
    shared.peak_clients.fetch_max(n, Ordering::Relaxed);
    shared
        .stats
        .total_connections_received
        .fetch_add(1, Ordering::Relaxed);
    conns.by_id.insert(id, slot);
    let sess = Session::new(id, handle, crate::acl::default_nopass(shared));
    conns.slots[slot] = Some(Box::new(Conn::new(sock, sess)));
}

/// Closes the connection in `slot` and forgets the client everywhere.
pub(crate) fn close(shared: &Shared, poll: &Poll, conns: &mut Conns, slot: usize) {
    if let Some(mut c) = conns.slots.get_mut(slot).and_then(|c| c.take()) {
        let _ = poll.registry().deregister(&mut c.sock);
        if c.sess.blocked.is_some() {
            shared.blocking.claim(c.sess.id);
        }
        crate::cmd::unwatch_all(shared, &mut c.sess);
        crate::cmd::unsubscribe_all(shared, &mut c.sess);
        crate::cmd::stop_monitor(shared, c.sess.id);
        if c.sess.tracking.is_some() {
            shared.tracking.disable(c.sess.id);
        }
        shared.clients.lock().remove(&c.sess.id);
        conns.by_id.remove(&c.sess.id);
        conns.free.push(slot);
    }
}

/// `timeout`: closes clients idle for longer than the configured seconds.
/// Parked (blocked) and subscribed clients are exempt, as in Redis.
pub(crate) fn close_idle(shared: &Shared, poll: &Poll, conns: &mut Conns) {
    let limit = shared.config.get().timeout as u64;
    if limit == 0 {
        return;
    }
    let mut idle = Vec::new();
    for (slot, c) in conns.slots.iter().enumerate() {
        let Some(c) = c else { continue };
        let s = &c.sess;
        if s.blocked.is_none()
            && s.subs.is_empty()
            && s.psubs.is_empty()
            && s.ssubs.is_empty()
            && c.sess.handle.idle_secs() > limit
        {
            idle.push(slot);
        }
    }
    for slot in idle {
        close(shared, poll, conns, slot);
    }
}
