//! One event-loop thread: a `mio` poll over the connections it owns, plus a
//! waker for messages from other threads (new connections from the
//! acceptor, CLIENT KILL, shutdown). Reads are drained until `WouldBlock`,
//! every complete command in the buffer is executed as one batch, and the
//! replies go out with one write. `conns.rs` holds the connection table,
//! `busy.rs` what the loop answers while one of its scripts is busy.

mod busy;
mod conns;

use crate::conn::Conn;
use crate::conn_io::{
    flush, on_readable, publish_net_out, update_interest, within_output_limits, MAX_STREAMS,
};
use crate::exec::Executor;
use crate::shared::{Msg, Shared};
pub(crate) use busy::BusyServer;
use conns::{adopt, close, close_idle, with_conn, ConnTable, Conns};
use mio::{Events, Poll, Token};
use std::cell::RefCell;
use std::io::ErrorKind;
use std::rc::Rc;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Token of the waker in every worker poll.
pub const WAKER: Token = Token(usize::MAX);

/// Bytes read from a socket per `read` call.
pub(crate) const READ_CHUNK: usize = 64 * 1024;

/// The executor and the scratch buffers a loop lends to connection I/O.
struct Io<'a, 's> {
    exec: &'a mut Executor<'s>,
    scratch: &'a mut [u8],
    batch: &'a mut Vec<Vec<bytes::Bytes>>,
}

/// Runs the loop until shutdown.
pub fn run(idx: usize, shared: Arc<Shared>, mut poll: Poll) {
    let mut events = Events::with_capacity(1024);
    let conns: ConnTable = Rc::new(RefCell::new(Conns::default()));
    let mut exec = Executor::new(&shared, idx);
    exec.set_busy_server(BusyServer::new(conns.clone()));
    let mut scratch = vec![0u8; READ_CHUNK];
    let mut batch: Vec<Vec<bytes::Bytes>> = Vec::new();
    let mut io = Io {
        exec: &mut exec,
        scratch: &mut scratch,
        batch: &mut batch,
    };
    let mut last_idle_check = Instant::now();
    // Connections whose replies wait for the end of this iteration.
    let mut later: Vec<usize> = Vec::new();
    loop {
        let timeout = next_timeout(&shared, &conns.borrow());
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
            let step = with_conn(&conns, slot, |conn| {
                let mut alive = true;
                if ev.is_writable() {
                    alive = flush(conn);
                }
                if alive && (ev.is_readable() || ev.is_read_closed()) {
                    conn.peer_closed |= ev.is_read_closed();
                    conn.defer_flush = true;
                    alive = on_readable(&shared, conn, io.exec, io.scratch, io.batch);
                    conn.defer_flush = false;
                    if alive && conn.pending_out() > 0 && !conn.hold {
                        // Written after every ready connection ran, as Redis
                        // does before it sleeps: a client woken by its first
                        // reply finds the others already there, instead of the
                        // loop waking it (a cross-core wake-up) per write.
                        return None;
                    }
                }
                Some(alive)
            });
            match step {
                None => {}
                Some(None) => later.push(slot),
                Some(Some(alive)) => finish_io(&shared, &poll, &conns, slot, alive, &mut io),
            }
        }
        for slot in later.drain(..) {
            if let Some(alive) = with_conn(&conns, slot, flush) {
                finish_io(&shared, &poll, &conns, slot, alive, &mut io);
            }
        }
        let msgs = std::mem::take(&mut *shared.workers[idx].inbox.lock());
        let mut pushed: Vec<usize> = Vec::new();
        for m in msgs {
            match m {
                Msg::NewConn(sock, addr) => {
                    adopt(&shared, &poll, idx, &mut conns.borrow_mut(), sock, addr)
                }
                Msg::Kill(id) => {
                    let slot = conns.borrow().by_id.get(&id).copied();
                    if let Some(slot) = slot {
                        close(&shared, &poll, &mut conns.borrow_mut(), slot);
                    }
                }
                Msg::Unblock { id, reply } => {
                    let Some(slot) = conns.borrow().by_id.get(&id).copied() else {
                        continue;
                    };
                    let alive = with_conn(&conns, slot, |conn| {
                        if conn.sess.blocked.take().is_none() {
                            return true;
                        }
                        conn.out.extend_from_slice(&reply);
                        on_readable(&shared, conn, io.exec, io.scratch, io.batch)
                            && settle(&shared, &poll, conn, slot, &mut io)
                    });
                    if alive == Some(false) {
                        close(&shared, &poll, &mut conns.borrow_mut(), slot);
                    }
                }
                Msg::Push { id, bytes } => {
                    queue_push(&shared, &poll, &conns, &mut pushed, id, &bytes);
                }
                Msg::PushMany(items) => {
                    for (id, bytes) in items {
                        queue_push(&shared, &poll, &conns, &mut pushed, id, &bytes);
                    }
                }
                Msg::Shutdown => {}
            }
        }
        for slot in pushed {
            let alive = with_conn(&conns, slot, |conn| {
                flush(conn) && settle(&shared, &poll, conn, slot, &mut io)
            });
            if alive == Some(false) {
                close(&shared, &poll, &mut conns.borrow_mut(), slot);
            }
        }
        expire_blocked(&shared, &poll, &conns, &mut io);
        release_held(&shared, &poll, &conns, &mut io);
        publish_net_out(&shared);
        if last_idle_check.elapsed() >= Duration::from_secs(1) {
            last_idle_check = Instant::now();
            close_idle(&shared, &poll, &mut conns.borrow_mut());
        }
        if shared.shutdown.load(Ordering::SeqCst) {
            // Last replies: what waits for a commit is committed here (the
            // committers may be gone); a reply still not durable is dropped.
            for _ in 0..3 {
                io.exec.commit_waits_now();
                release_held(&shared, &poll, &conns, &mut io);
            }
            let mut c = conns.borrow_mut();
            for slot in 0..c.slots.len() {
                if let Some(conn) = c.slots[slot].as_mut() {
                    if !io.exec.waits_for(conn.sess.id) {
                        conn.hold = false;
                        flush(conn);
                    }
                }
                close(&shared, &poll, &mut c, slot);
            }
            return;
        }
    }
}

/// After a ready connection's I/O (`alive`: it may stay): settles it, notes
/// it if it is parked or paused, and closes it if it must go.
fn finish_io(
    shared: &Shared,
    poll: &Poll,
    conns: &ConnTable,
    slot: usize,
    alive: bool,
    io: &mut Io,
) {
    let Some((alive, parked)) = with_conn(conns, slot, |conn| {
        let alive = alive && settle(shared, poll, conn, slot, io);
        (alive, conn.sess.blocked.is_some() || conn.paused)
    }) else {
        return;
    };
    let mut c = conns.borrow_mut();
    if parked && !c.blocked.contains(&slot) {
        c.blocked.push(slot);
    }
    if !alive {
        close(shared, poll, &mut c, slot);
    }
}

/// After I/O on a connection: resume input that waited for the output to
/// drain, and set the poll interest. False when the connection must close.
fn settle(shared: &Shared, poll: &Poll, conn: &mut Conn, slot: usize, io: &mut Io) -> bool {
    let mut alive = true;
    if conn.input_paused && conn.pending_out() == 0 && conn.streams.len() < MAX_STREAMS {
        conn.input_paused = false;
        alive = on_readable(shared, conn, io.exec, io.scratch, io.batch);
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

/// Answers parked clients whose deadline passed with their timeout reply,
/// and resumes clients whose CLIENT PAUSE ended.
fn expire_blocked(shared: &Shared, poll: &Poll, conns: &ConnTable, io: &mut Io) {
    if conns.borrow().blocked.is_empty() {
        return;
    }
    let now = crate::shared::now_ms();
    let slots: Vec<usize> = conns.borrow().blocked.clone();
    let mut done = Vec::new();
    for slot in slots {
        let outcome = with_conn(conns, slot, |conn| {
            if conn.paused {
                if shared.pause_until.load(Ordering::SeqCst) <= now {
                    conn.paused = false;
                    let alive = on_readable(shared, conn, io.exec, io.scratch, io.batch)
                        && settle(shared, poll, conn, slot, io);
                    return (false, alive);
                }
                return (false, true);
            }
            match conn.sess.blocked {
                None => (true, true),
                Some(d) if d != 0 && now > d => {
                    // Only the claimer answers: if another thread already
                    // served the client, its reply is on the way in our inbox.
                    if let Some(w) = shared.blocking.claim(conn.sess.id) {
                        conn.sess.blocked = None;
                        kevy_resp::encode(&w.timeout_reply(), w.proto, &mut conn.out);
                        let alive = on_readable(shared, conn, io.exec, io.scratch, io.batch)
                            && settle(shared, poll, conn, slot, io);
                        return (false, alive);
                    }
                    (false, true)
                }
                Some(_) => (false, true),
            }
        });
        match outcome {
            None => done.push(slot),
            Some((unblocked, alive)) => {
                if unblocked {
                    done.push(slot);
                }
                if !alive {
                    close(shared, poll, &mut conns.borrow_mut(), slot);
                }
            }
        }
    }
    if !done.is_empty() {
        conns.borrow_mut().blocked.retain(|s| !done.contains(s));
    }
}

/// AOF on: one AOF write per shard for every batch this iteration ran
/// (under `appendfsync always`: the positions its replies need, made
/// durable by the shard committers, which wake the loop), then the held
/// replies go out, and commands whose writes were undone are answered
/// again. A released connection may run more input, which may hold it
/// again: repeat until nothing waits (bounded).
fn release_held(shared: &Shared, poll: &Poll, conns: &ConnTable, io: &mut Io) {
    for _ in 0..16 {
        if !io.exec.has_deferred() {
            return;
        }
        let ready = io.exec.sync_deferred();
        let redo = io.exec.redo_ids();
        for &id in &redo {
            let slot = conns.borrow().by_id.get(&id).copied();
            let done = slot.and_then(|slot| with_conn(conns, slot, |conn| io.exec.redo(conn)));
            if done.is_none() {
                io.exec.forget(id);
            }
        }
        if ready.is_empty() && redo.is_empty() {
            // Nothing could be released yet (a commit runs): the
            // committer wakes the loop when it is done.
            return;
        }
        for id in ready {
            let Some(slot) = conns.borrow().by_id.get(&id).copied() else {
                continue;
            };
            let alive = with_conn(conns, slot, |conn| {
                conn.hold = false;
                flush(conn) && settle(shared, poll, conn, slot, io)
            });
            if alive == Some(false) {
                close(shared, poll, &mut conns.borrow_mut(), slot);
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
    conns: &ConnTable,
    pushed: &mut Vec<usize>,
    id: u64,
    bytes: &[u8],
) {
    let Some(slot) = conns.borrow().by_id.get(&id).copied() else {
        return;
    };
    let within = with_conn(conns, slot, |conn| {
        conn.out.extend_from_slice(bytes);
        within_output_limits(shared, conn)
    });
    match within {
        Some(false) => close(shared, poll, &mut conns.borrow_mut(), slot),
        Some(true) if !pushed.contains(&slot) => pushed.push(slot),
        _ => {}
    }
}
