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

/// Runs the loop until shutdown.
pub fn run(idx: usize, shared: Arc<Shared>, mut poll: Poll) {
    let mut events = Events::with_capacity(1024);
    let mut conns: Vec<Option<Conn>> = Vec::new();
    let mut free: Vec<usize> = Vec::new();
    let mut exec = Executor::new(&shared);
    let mut scratch = vec![0u8; READ_CHUNK];
    let mut batch: Vec<Vec<bytes::Bytes>> = Vec::new();
    loop {
        if let Err(e) = poll.poll(&mut events, Some(Duration::from_millis(100))) {
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
            let Some(conn) = conns.get_mut(slot).and_then(|c| c.as_mut()) else { continue };
            let mut alive = true;
            if ev.is_writable() {
                alive = flush(conn);
            }
            if alive && (ev.is_readable() || ev.is_read_closed()) {
                alive = on_readable(&shared, conn, &mut exec, &mut scratch, &mut batch);
            }
            if alive && conn.input_paused && conn.pending_out() == 0 {
                conn.input_paused = false;
                alive = on_readable(&shared, conn, &mut exec, &mut scratch, &mut batch);
            }
            if alive {
                alive = update_interest(poll.registry(), conn, slot);
            }
            if !alive {
                close(&shared, &poll, &mut conns, &mut free, slot);
            }
        }
        let msgs = std::mem::take(&mut *shared.workers[idx].inbox.lock());
        for m in msgs {
            match m {
                Msg::NewConn(sock, addr) => adopt(&shared, &poll, idx, &mut conns, &mut free, sock, addr),
                Msg::Kill(id) => {
                    if let Some(slot) = conns
                        .iter()
                        .position(|c| c.as_ref().is_some_and(|c| c.sess.id == id))
                    {
                        close(&shared, &poll, &mut conns, &mut free, slot);
                    }
                }
                Msg::Shutdown => {}
            }
        }
        if shared.shutdown.load(Ordering::SeqCst) {
            for slot in 0..conns.len() {
                if let Some(c) = conns[slot].as_mut() {
                    flush(c);
                }
                close(&shared, &poll, &mut conns, &mut free, slot);
            }
            return;
        }
    }
}

fn adopt(
    shared: &Shared,
    poll: &Poll,
    idx: usize,
    conns: &mut Vec<Option<Conn>>,
    free: &mut Vec<usize>,
    mut sock: TcpStream,
    addr: std::net::SocketAddr,
) {
    let _ = sock.set_nodelay(true);
    let slot = free.pop().unwrap_or_else(|| {
        conns.push(None);
        conns.len() - 1
    });
    if poll.registry().register(&mut sock, Token(slot), Interest::READABLE).is_err() {
        free.push(slot);
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
    conns[slot] = Some(Conn {
        sock,
        rbuf: BytesMut::with_capacity(16 * 1024),
        parser: RequestParser::new(),
        out: Vec::with_capacity(16 * 1024),
        out_pos: 0,
        sess: Session { id, db: 0, proto: Protocol::Resp2, handle, close_after_reply: false, reply_mode: 0 },
        want_write: false,
        input_paused: false,
    });
}

fn close(shared: &Shared, poll: &Poll, conns: &mut [Option<Conn>], free: &mut Vec<usize>, slot: usize) {
    if let Some(mut c) = conns.get_mut(slot).and_then(|c| c.take()) {
        let _ = poll.registry().deregister(&mut c.sock);
        shared.clients.lock().remove(&c.sess.id);
        free.push(slot);
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
    batch: &mut Vec<Vec<bytes::Bytes>>,
) -> bool {
    let cfg = shared.config.get();
    let limits = Limits {
        max_bulk_len: cfg.proto_max_bulk_len as usize,
        max_multibulk_len: i32::MAX as usize,
        authenticated: true,
    };
    let qlimit = cfg.client_query_buffer_limit as usize;
    drop(cfg);
    loop {
        if conn.sess.close_after_reply {
            break;
        }
        if conn.pending_out() > OUTPUT_HIGH_WATER {
            conn.input_paused = true;
            break;
        }
        batch.clear();
        let mut proto_err = None;
        while batch.len() < 1024 {
            match conn.parser.parse(&mut conn.rbuf, &limits) {
                Ok(Some(argv)) => batch.push(argv),
                Ok(None) => break,
                Err(e) => {
                    proto_err = Some(e);
                    break;
                }
            }
        }
        for argv in batch.iter() {
            exec.execute(&mut conn.sess, argv, &mut conn.out);
            if conn.sess.close_after_reply || conn.sess.handle.killed.load(Ordering::Relaxed) {
                break;
            }
        }
        exec.finish_batch();
        if let Some(e) = proto_err {
            let text = e.reply_text();
            shared.stats.count_error(text.as_bytes());
            kevy_resp::encode_error(&mut conn.out, text.as_bytes());
            conn.sess.close_after_reply = true;
            break;
        }
        if batch.len() < 1024 {
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
            Ok(n) => conn.out_pos += n,
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
