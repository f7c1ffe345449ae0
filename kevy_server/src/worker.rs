//! One event-loop thread: a `mio` poll over the connections it owns, plus a
//! waker for messages from other threads (new connections from the
//! acceptor, CLIENT KILL, shutdown). Reads are drained until `WouldBlock`,
//! every complete command in the buffer is executed as one batch, and the
//! replies go out with one write.

use crate::conn::{Conn, Session};
use crate::exec::Executor;
use crate::shared::{ClientHandle, Msg, Shared};
use bytes::BytesMut;
use kevy_resp::{Limits, Protocol, RequestParser};
use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};
use parking_lot::Mutex;
use std::collections::HashMap;
use std::io::{ErrorKind, Read, Write};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Token of the waker in every worker poll.
pub const WAKER: Token = Token(usize::MAX);

/// Output beyond which a connection's input is left unread until the client
/// reads its replies: a client that pipelines without reading cannot grow
/// our memory without bound.
const OUTPUT_HIGH_WATER: usize = 4 << 20;

const READ_CHUNK: usize = 64 * 1024;

/// Commands parsed and run per batch at most.
const MAX_BATCH: usize = 1024;

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
    let mut exec = Executor::new(&shared);
    let mut scratch = vec![0u8; READ_CHUNK];
    let mut batch: Vec<Vec<bytes::Bytes>> = Vec::new();
    let mut last_idle_check = Instant::now();
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
            let Some(conn) = conns.slots.get_mut(slot).and_then(|c| c.as_mut()) else { continue };
            let mut alive = true;
            if ev.is_writable() {
                alive = flush(conn);
            }
            if alive && (ev.is_readable() || ev.is_read_closed()) {
                alive = on_readable(&shared, conn, &mut exec, &mut scratch, &mut batch);
            }
            alive = alive && settle(&shared, &poll, conn, slot, &mut exec, &mut scratch, &mut batch);
            if (conn.sess.blocked.is_some() || conn.paused) && !conns.blocked.contains(&slot) {
                conns.blocked.push(slot);
            }
            if !alive {
                close(&shared, &poll, &mut conns, slot);
            }
        }
        let msgs = std::mem::take(&mut *shared.workers[idx].inbox.lock());
        for m in msgs {
            match m {
                Msg::NewConn(sock, addr) => adopt(&shared, &poll, idx, &mut conns, sock, addr),
                Msg::Kill(id) => {
                    if let Some(&slot) = conns.by_id.get(&id) {
                        close(&shared, &poll, &mut conns, slot);
                    }
                }
                Msg::Unblock { id, reply } => {
                    let Some(&slot) = conns.by_id.get(&id) else { continue };
                    let Some(conn) = conns.slots[slot].as_mut() else { continue };
                    if conn.sess.blocked.take().is_none() {
                        continue;
                    }
                    conn.out.extend_from_slice(&reply);
                    let alive = on_readable(&shared, conn, &mut exec, &mut scratch, &mut batch)
                        && settle(&shared, &poll, conn, slot, &mut exec, &mut scratch, &mut batch);
                    if !alive {
                        close(&shared, &poll, &mut conns, slot);
                    }
                }
                Msg::Push { id, bytes } => {
                    let Some(&slot) = conns.by_id.get(&id) else { continue };
                    let Some(conn) = conns.slots[slot].as_mut() else { continue };
                    conn.out.extend_from_slice(&bytes);
                    let alive = within_output_limits(&shared, conn) && flush(conn) && settle(&shared, &poll, conn, slot, &mut exec, &mut scratch, &mut batch);
                    if !alive {
                        close(&shared, &poll, &mut conns, slot);
                    }
                }
                Msg::Shutdown => {}
            }
        }
        expire_blocked(&shared, &poll, &mut conns, &mut exec, &mut scratch, &mut batch);
        publish_net_out(&shared);
        if last_idle_check.elapsed() >= Duration::from_secs(1) {
            last_idle_check = Instant::now();
            close_idle(&shared, &poll, &mut conns);
        }
        if shared.shutdown.load(Ordering::SeqCst) {
            for slot in 0..conns.slots.len() {
                if let Some(c) = conns.slots[slot].as_mut() {
                    flush(c);
                }
                close(&shared, &poll, &mut conns, slot);
            }
            return;
        }
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
    if conn.input_paused && conn.pending_out() == 0 {
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
        if let Some(Some(d)) = conns.slots.get(slot).and_then(|c| c.as_ref()).map(|c| c.sess.blocked) {
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
    if poll.registry().register(&mut sock, Token(slot), Interest::READABLE).is_err() {
        conns.free.push(slot);
        return;
    }
    let id = shared.next_client_id.fetch_add(1, Ordering::Relaxed);
    let laddr = sock.local_addr().map(|a| a.to_string()).unwrap_or_default();
    let handle = Arc::new(ClientHandle {
        id,
        addr: addr.to_string(),
        laddr,
        fd: sock.as_raw_fd(),
        worker: idx,
        created: Instant::now(),
        last_interaction: AtomicU64::new(0),
        db: AtomicUsize::new(0),
        last_cmd: AtomicUsize::new(usize::MAX),
        resp: AtomicU8::new(2),
        last_full_name: Mutex::new(String::new()),
        name: Mutex::new(String::new()),
        lib: Mutex::new((String::new(), String::new())),
        killed: AtomicBool::new(false),
        no_evict: AtomicBool::new(false),
        kind: AtomicU8::new(0),
        qbuf: AtomicUsize::new(0),
        obuf: AtomicUsize::new(0),
    });
    let n = {
        let mut clients = shared.clients.lock();
        clients.insert(id, handle.clone());
        clients.len()
    };
    shared.peak_clients.fetch_max(n, Ordering::Relaxed);
    shared.stats.total_connections_received.fetch_add(1, Ordering::Relaxed);
    conns.by_id.insert(id, slot);
    conns.slots[slot] = Some(Conn {
        sock,
        rbuf: BytesMut::with_capacity(16 * 1024),
        parser: RequestParser::new(),
        out: Vec::with_capacity(16 * 1024),
        out_pos: 0,
        sess: Session {
            id,
            db: 0,
            proto: Protocol::Resp2,
            handle,
            close_after_reply: false,
            reply_mode: 0,
            authenticated: shared.config.get().requirepass.is_empty(),
            blocked: None,
            multi: None,
            multi_dirty: false,
            watch_flag: None,
            watched: Vec::new(),
            subs: Vec::new(),
            psubs: Vec::new(),
            ssubs: Vec::new(),
            frames: None,
            tracking: None,
            caching: None,
        },
        want_write: false,
        input_paused: false,
        pending: Default::default(),
        args: Vec::new(),
        soft_limit_since: None,
        paused: false,
    });
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

/// Reads everything available, executes the complete commands as one batch
/// and writes the replies. Returns false when the connection must close.
fn on_readable(
    shared: &Shared,
    conn: &mut Conn,
    exec: &mut Executor<'_>,
    scratch: &mut [u8],
    batch: &mut Vec<Vec<bytes::Bytes>>,
) -> bool {
    let mut eof = false;
    loop {
        let mut drained = conn.input_paused;
        if !conn.input_paused {
            loop {
                match conn.sock.read(scratch) {
                    Ok(0) => {
                        eof = true;
                        drained = true;
                        break;
                    }
                    Ok(n) => {
                        conn.rbuf.extend_from_slice(&scratch[..n]);
                        shared.stats.net_input_bytes.fetch_add(n as u64, Ordering::Relaxed);
                        if n < scratch.len() {
                            drained = true;
                            break;
                        }
                        if conn.rbuf.len() > READ_CHUNK * 16 {
                            break;
                        }
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {
                        drained = true;
                        break;
                    }
                    Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                    Err(_) => return false,
                }
            }
        }
        if !process_input(shared, conn, exec, batch) {
            return false;
        }
        if !flush(conn) {
            return false;
        }
        if drained || conn.input_paused || conn.sess.close_after_reply {
            break;
        }
    }
    if eof && conn.pending_out() == 0 {
        return false;
    }
    !(conn.sess.close_after_reply && conn.pending_out() == 0)
}

/// Parses and executes every complete command in the input buffer.
fn process_input(
    shared: &Shared,
    conn: &mut Conn,
    exec: &mut Executor<'_>,
    _batch: &mut Vec<Vec<bytes::Bytes>>,
) -> bool {
    let cfg = shared.config.get();
    let limits = Limits {
        max_bulk_len: cfg.proto_max_bulk_len as usize,
        max_multibulk_len: i32::MAX as usize,
        authenticated: conn.sess.authenticated,
    };
    let qlimit = cfg.client_query_buffer_limit as usize;
    drop(cfg);
    loop {
        if conn.sess.close_after_reply || conn.sess.blocked.is_some() || conn.paused {
            break;
        }
        if conn.pending_out() > OUTPUT_HIGH_WATER {
            conn.input_paused = true;
            break;
        }
        let mut proto_err = None;
        if conn.pending.is_empty() {
            conn.args.clear();
            while conn.pending.len() < MAX_BATCH {
                let start = conn.args.len();
                match conn.parser.parse_append(&mut conn.rbuf, &limits, &mut conn.args) {
                    Ok(Some(n)) => conn.pending.push_back((start, n)),
                    Ok(None) => break,
                    Err(e) => {
                        proto_err = Some(e);
                        break;
                    }
                }
            }
        }
        let parsed_full = conn.pending.len() >= MAX_BATCH;
        if conn.pending.is_empty() && proto_err.is_none() {
            break;
        }
        while let Some((start, n)) = conn.pending.pop_front() {
            let argv = &conn.args[start..start + n];
            if is_paused_for(shared, argv) {
                conn.pending.push_front((start, n));
                conn.paused = true;
                break;
            }
            exec.execute(&mut conn.sess, argv, &mut conn.out);
            if conn.sess.close_after_reply
                || conn.sess.blocked.is_some()
                || conn.sess.handle.killed.load(Ordering::Relaxed)
            {
                break;
            }
        }
        exec.finish_batch();
        if let Some(e) = proto_err {
            if conn.sess.blocked.is_none() {
                let text = e.reply_bytes();
                shared.stats.count_error(&text);
                kevy_resp::encode_error(&mut conn.out, &text);
                conn.sess.close_after_reply = true;
            } else {
                // Answer the protocol error once the client is unblocked: the
                // parser state is gone, so close after the pending replies.
                conn.sess.close_after_reply = true;
            }
            break;
        }
        if conn.paused || (!parsed_full && conn.pending.is_empty()) {
            break;
        }
    }
    if conn.sess.handle.killed.load(Ordering::Relaxed) {
        return false;
    }
    if conn.rbuf.len() > qlimit && qlimit > 0 {
        eprintln!("kevy: closing client {}: query buffer over client-query-buffer-limit", conn.sess.handle.addr);
        return false;
    }
    conn.sess.handle.qbuf.store(conn.rbuf.len(), Ordering::Relaxed);
    true
}

/// Writes as much pending output as the socket takes. False on a write error.
fn flush(conn: &mut Conn) -> bool {
    while conn.out_pos < conn.out.len() {
        match conn.sock.write(&conn.out[conn.out_pos..]) {
            Ok(0) => return false,
            Ok(n) => {
                conn.out_pos += n;
                NET_OUT.with(|c| c.set(c.get() + n as u64));
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(_) => return false,
        }
    }
    if conn.out_pos == conn.out.len() {
        conn.out.clear();
        conn.out_pos = 0;
        if conn.out.capacity() > 1 << 20 {
            conn.out.shrink_to(64 * 1024);
        }
    }
    conn.sess.handle.obuf.store(conn.pending_out(), Ordering::Relaxed);
    true
}

fn update_interest(reg: &mio::Registry, conn: &mut Conn, slot: usize) -> bool {
    let need = conn.pending_out() > 0;
    if need != conn.want_write {
        let interest = if need { Interest::READABLE | Interest::WRITABLE } else { Interest::READABLE };
        if reg.reregister(&mut conn.sock, Token(slot), interest).is_err() {
            return false;
        }
        conn.want_write = need;
    }
    !(conn.sess.close_after_reply && !need)
}

/// `client-output-buffer-limit` for the client's class: past the hard limit,
/// or past the soft limit for longer than its seconds, the client is
/// disconnected instead of growing memory without bound.
fn within_output_limits(shared: &Shared, conn: &mut Conn) -> bool {
    let cfg = shared.config.get();
    let class = if conn.sess.subs.is_empty() && conn.sess.psubs.is_empty() && conn.sess.ssubs.is_empty() {
        &cfg.client_output_buffer_limit.normal
    } else {
        &cfg.client_output_buffer_limit.pubsub
    };
    let pending = conn.pending_out() as u64;
    if class.hard > 0 && pending > class.hard {
        eprintln!("kevy: closing client {}: output buffer over the hard limit", conn.sess.handle.addr);
        return false;
    }
    if class.soft > 0 && pending > class.soft {
        let now = crate::shared::now_ms();
        let since = *conn.soft_limit_since.get_or_insert(now);
        if now.saturating_sub(since) > class.soft_seconds * 1000 {
            eprintln!("kevy: closing client {}: output buffer over the soft limit for too long", conn.sess.handle.addr);
            return false;
        }
    } else {
        conn.soft_limit_since = None;
    }
    true
}

/// True if CLIENT PAUSE holds back `argv` right now.
fn is_paused_for(shared: &Shared, argv: &[bytes::Bytes]) -> bool {
    let until = shared.pause_until.load(Ordering::SeqCst);
    if until == 0 || until <= crate::shared::now_ms() {
        return false;
    }
    if !shared.pause_writes_only.load(Ordering::SeqCst) {
        return true;
    }
    let Some((_, cmd)) = argv.first().and_then(|n| shared.commands.lookup(n)) else { return false };
    cmd.meta.flags & (kevy_store::spec::flags::WRITE | kevy_store::spec::flags::MAY_REPLICATE) != 0
}

thread_local! {
    /// Bytes written by this thread not yet added to the shared counter.
    static NET_OUT: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// Adds this thread's written-bytes count to INFO's `total_net_output_bytes`.
fn publish_net_out(shared: &Shared) {
    let n = NET_OUT.with(|c| c.replace(0));
    if n > 0 {
        shared.stats.net_output_bytes.fetch_add(n, Ordering::Relaxed);
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
        if s.blocked.is_none() && s.subs.is_empty() && s.psubs.is_empty() && s.ssubs.is_empty() && c.sess.handle.idle_secs() > limit {
            idle.push(slot);
        }
    }
    for slot in idle {
        close(shared, poll, conns, slot);
    }
}
