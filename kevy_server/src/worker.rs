//! One event-loop thread: a `mio` poll over the connections it owns, plus a
//! waker for messages from other threads (new connections from the
//! acceptor, CLIENT KILL, shutdown). Reads are drained until `WouldBlock`,
//! every complete command in the buffer is executed as one batch, and the
//! replies go out with one write.

use crate::conn::{Conn, Session};
use crate::conn_io::{
    flush, on_readable, publish_net_out, update_interest, within_output_limits, MAX_STREAMS,
};
use crate::exec::Executor;
use crate::shared::{ClientHandle, Msg, Shared};
use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};
use std::collections::HashMap;
use std::io::ErrorKind;
use std::os::fd::AsRawFd;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Token of the waker in every worker poll.
pub const WAKER: Token = Token(usize::MAX);

/// Bytes read from a socket per `read` call.
pub(crate) const READ_CHUNK: usize = 64 * 1024;

/// The connections a loop owns, by slot (the poll token) and by client id.
#[derive(Default)]
struct Conns {
    slots: Vec<Option<Conn>>,
    free: Vec<usize>,
    by_id: HashMap<u64, usize>,
    /// Slots of parked clients with a deadline, checked for timeouts.
    blocked: Vec<usize>,
}

/// Runs the loop until shutdown.
pub fn run(idx: usize, shared: Arc<Shared>, mut poll: Poll) {
    let mut events = Events::with_capacity(1024);
    let mut conns = Conns::default();
    let mut exec = Executor::new(&shared, idx);
    let mut scratch = vec![0u8; READ_CHUNK];
    let mut batch: Vec<Vec<bytes::Bytes>> = Vec::new();
    let mut last_idle_check = Instant::now();
    // Connections whose replies wait for the end of this iteration.
    let mut later: Vec<usize> = Vec::new();
    loop {
        let timeout = next_timeout(&shared, &conns);
        if let Err(e) = poll.poll(&mut events, Some(timeout)) {
            if e.kind() != ErrorKind::Interrupted {
                eprintln!("kevy: poll failed: {e}");
                return;
            }
        }
        for ev in events.iter() {
            let t = ev.token();
            if t == WAKER {
                continue;
            }
            let slot = t.0;
            let Some(conn) = conns.slots.get_mut(slot).and_then(|c| c.as_mut()) else {
                continue;
            };
            let mut alive = true;
            if ev.is_writable() {
                alive = flush(conn);
            }
            if alive && (ev.is_readable() || ev.is_read_closed()) {
                conn.peer_closed |= ev.is_read_closed();
                conn.defer_flush = true;
                alive = on_readable(&shared, conn, &mut exec, &mut scratch, &mut batch);
                conn.defer_flush = false;
                if alive && conn.pending_out() > 0 && !conn.hold {
                    // Written after every ready connection ran, as Redis
                    // does before it sleeps: a client woken by its first
                    // reply finds the others already there, instead of the
                    // loop waking it (a cross-core wake-up) per write.
                    later.push(slot);
                    continue;
                }
            }
            let io = (&mut exec, &mut scratch[..], &mut batch);
            finish_io(&shared, &poll, &mut conns, slot, alive, io);
        }
        for slot in later.drain(..) {
            let Some(conn) = conns.slots.get_mut(slot).and_then(|c| c.as_mut()) else {
                continue;
            };
            let alive = flush(conn);
            let io = (&mut exec, &mut scratch[..], &mut batch);
            finish_io(&shared, &poll, &mut conns, slot, alive, io);
        }
        let msgs = std::mem::take(&mut *shared.workers[idx].inbox.lock());
        let mut pushed: Vec<usize> = Vec::new();
        for m in msgs {
            match m {
                Msg::NewConn(sock, addr) => adopt(&shared, &poll, idx, &mut conns, sock, addr),
                Msg::Kill(id) => {
                    if let Some(&slot) = conns.by_id.get(&id) {
                        close(&shared, &poll, &mut conns, slot);
                    }
                }
                Msg::Unblock { id, reply } => {
                    let Some(&slot) = conns.by_id.get(&id) else {
                        continue;
                    };
                    let Some(conn) = conns.slots[slot].as_mut() else {
                        continue;
                    };
                    if conn.sess.blocked.take().is_none() {
                        continue;
                    }
                    conn.out.extend_from_slice(&reply);
                    let alive = on_readable(&shared, conn, &mut exec, &mut scratch, &mut batch)
                        && settle(
                            &shared,
                            &poll,
                            conn,
                            slot,
                            &mut exec,
                            &mut scratch,
                            &mut batch,
                        );
                    if !alive {
                        close(&shared, &poll, &mut conns, slot);
                    }
                }
                Msg::Push { id, bytes } => {
                    queue_push(&shared, &poll, &mut conns, &mut pushed, id, &bytes);
                }
                Msg::PushMany(items) => {
                    for (id, bytes) in items {
                        queue_push(&shared, &poll, &mut conns, &mut pushed, id, &bytes);
                    }
                }
                Msg::Shutdown => {}
            }
        }
        for slot in pushed {
            let Some(conn) = conns.slots.get_mut(slot).and_then(|c| c.as_mut()) else {
                continue;
            };
            if !(flush(conn)
                && settle(
                    &shared,
                    &poll,
                    conn,
                    slot,
                    &mut exec,
                    &mut scratch,
                    &mut batch,
                ))
            {
                close(&shared, &poll, &mut conns, slot);
            }
        }
        expire_blocked(
            &shared,
            &poll,
            &mut conns,
            &mut exec,
            &mut scratch,
            &mut batch,
        );
        release_held(
            &shared,
            &poll,
            &mut conns,
            &mut exec,
            &mut scratch,
            &mut batch,
        );
        publish_net_out(&shared);
        if last_idle_check.elapsed() >= Duration::from_secs(1) {
            last_idle_check = Instant::now();
            close_idle(&shared, &poll, &mut conns);
        }
        if shared.shutdown.load(Ordering::SeqCst) {
            exec.sync_deferred();
            for slot in 0..conns.slots.len() {
                if let Some(c) = conns.slots[slot].as_mut() {
                    c.hold = false;
                    flush(c);
                }
                close(&shared, &poll, &mut conns, slot);
            }
            return;
        }
    }
}

/// The executor and the scratch buffers a loop lends to connection I/O.
type Io<'a, 's> = (
    &'a mut Executor<'s>,
    &'a mut [u8],
    &'a mut Vec<Vec<bytes::Bytes>>,
);

/// After a ready connection's I/O (`alive`: it may stay): settles it, notes
/// it if it is parked or paused, and closes it if it must go.
fn finish_io(shared: &Shared, poll: &Poll, conns: &mut Conns, slot: usize, alive: bool, io: Io) {
    let (exec, scratch, batch) = io;
    let Some(conn) = conns.slots.get_mut(slot).and_then(|c| c.as_mut()) else {
        return;
    };
    let alive = alive && settle(shared, poll, conn, slot, exec, scratch, batch);
    if (conn.sess.blocked.is_some() || conn.paused) && !conns.blocked.contains(&slot) {
        conns.blocked.push(slot);
    }
    if !alive {
        close(shared, poll, conns, slot);
    }
}

/// After I/O on a connection: resume input that waited for the output to
/// drain, and set the poll interest. False when the connection must close.
fn settle(
    shared: &Shared,
    poll: &Poll,
    conn: &mut Conn,
    slot: usize,
    exec: &mut Executor<'_>,
    scratch: &mut [u8],
    batch: &mut Vec<Vec<bytes::Bytes>>,
) -> bool {
    let mut alive = true;
    if conn.input_paused && conn.pending_out() == 0 && conn.streams.len() < MAX_STREAMS {
        conn.input_paused = false;
        alive = on_readable(shared, conn, exec, scratch, batch);
    }
    alive && update_interest(poll.registry(), conn, slot)
}

/// How long the poll may sleep: until the nearest blocking deadline, at most 100 ms.
fn next_timeout(shared: &Shared, conns: &Conns) -> Duration {
    let mut t = Duration::from_millis(100);
    if conns.blocked.is_empty() {
        return t;
    }
    let now = crate::shared::now_ms();
    let pause = shared.pause_until.load(Ordering::Relaxed);
    if pause > now {
        t = t.min(Duration::from_millis(pause - now + 1));
    }
    for &slot in &conns.blocked {
        if let Some(Some(d)) = conns
            .slots
            .get(slot)
            .and_then(|c| c.as_ref())
            .map(|c| c.sess.blocked)
        {
            if d != 0 {
                t = t.min(Duration::from_millis(d.saturating_sub(now) + 1));
            }
        }
    }
    t
}

/// Answers parked clients whose deadline passed with their timeout reply.
fn expire_blocked(
    shared: &Shared,
    poll: &Poll,
    conns: &mut Conns,
    exec: &mut Executor<'_>,
    scratch: &mut [u8],
    batch: &mut Vec<Vec<bytes::Bytes>>,
) {
    if conns.blocked.is_empty() {
        return;
    }
    let now = crate::shared::now_ms();
    let mut i = 0;
    while i < conns.blocked.len() {
        let slot = conns.blocked[i];
        let Some(conn) = conns.slots.get_mut(slot).and_then(|c| c.as_mut()) else {
            conns.blocked.swap_remove(i);
            continue;
        };
        if conn.paused {
            if shared.pause_until.load(Ordering::SeqCst) <= now {
                conn.paused = false;
                let alive = on_readable(shared, conn, exec, scratch, batch)
                    && settle(shared, poll, conn, slot, exec, scratch, batch);
                if !alive {
                    close(shared, poll, conns, slot);
                }
            }
            i += 1;
            continue;
        }
        match conn.sess.blocked {
            None => {
                conns.blocked.swap_remove(i);
            }
            Some(d) if d != 0 && now > d => {
                // Only the claimer answers: if another thread already served
                // the client, its reply is on the way in our inbox.
                if let Some(w) = shared.blocking.claim(conn.sess.id) {
                    conn.sess.blocked = None;
                    kevy_resp::encode(&w.timeout_reply(), w.proto, &mut conn.out);
                    let alive = on_readable(shared, conn, exec, scratch, batch)
                        && settle(shared, poll, conn, slot, exec, scratch, batch);
                    if !alive {
                        close(shared, poll, conns, slot);
                    }
                }
                i += 1;
            }
            Some(_) => i += 1,
        }
    }
}

fn adopt(
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
    conns.slots[slot] = Some(Conn::new(sock, sess));
}

fn close(shared: &Shared, poll: &Poll, conns: &mut Conns, slot: usize) {
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
fn close_idle(shared: &Shared, poll: &Poll, conns: &mut Conns) {
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

/// AOF on: one AOF write per shard (under `appendfsync always` one fsync)
/// for every batch this iteration ran, then the held replies go out. A released connection may run more input, which
/// may hold it again: repeat until nothing waits (bounded).
fn release_held(
    shared: &Shared,
    poll: &Poll,
    conns: &mut Conns,
    exec: &mut Executor<'_>,
    scratch: &mut [u8],
    batch: &mut Vec<Vec<bytes::Bytes>>,
) {
    for _ in 0..16 {
        if !exec.has_deferred() {
            return;
        }
        let ready = exec.sync_deferred();
        if ready.is_empty() {
            // Nothing could be released (the disk is failing): retry on the
            // next iteration rather than spinning here.
            return;
        }
        for id in ready {
            let Some(&slot) = conns.by_id.get(&id) else {
                continue;
            };
            let Some(conn) = conns.slots[slot].as_mut() else {
                continue;
            };
            conn.hold = false;
            let alive = flush(conn) && settle(shared, poll, conn, slot, exec, scratch, batch);
            if !alive {
                close(shared, poll, conns, slot);
            }
        }
    }
}

/// Appends pushed frames (pub/sub, MONITOR, invalidations) to client `id`'s
/// output. They are written once after the whole inbox is drained (one write
/// per client per wake-up, not one per message), so the slot is remembered
/// in `pushed`; a client over its output limit is closed instead.
fn queue_push(
    shared: &Shared,
    poll: &Poll,
    conns: &mut Conns,
    pushed: &mut Vec<usize>,
    id: u64,
    bytes: &[u8],
) {
    let Some(&slot) = conns.by_id.get(&id) else {
        return;
    };
    let Some(conn) = conns.slots[slot].as_mut() else {
        return;
    };
    conn.out.extend_from_slice(bytes);
    if !within_output_limits(shared, conn) {
        close(shared, poll, conns, slot);
    } else if !pushed.contains(&slot) {
        pushed.push(slot);
    }
}
