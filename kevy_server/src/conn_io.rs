//! Per-connection I/O for an event loop: draining a readable socket into the
//! query buffer, parsing and executing every complete command as one batch,
//! writing replies (one write per batch; a streamed reply a bounded chunk at
//! a time, only as the socket drains), output limits, and the CLIENT PAUSE
//! check. `worker.rs` owns the loop and the connection table.

use crate::conn::Conn;
use crate::exec::Executor;
use crate::shared::Shared;
use crate::worker::READ_CHUNK;
use kevy_resp::Limits;
use mio::{Interest, Token};
use std::io::{ErrorKind, Read, Write};
use std::sync::atomic::Ordering;

/// Output beyond which a connection's input is left unread until the client
/// reads its replies: a client that pipelines without reading cannot grow
/// our memory without bound.
const OUTPUT_HIGH_WATER: usize = 4 << 20;

/// Replies up to this size may wait for the end of the loop iteration
/// (`Conn::defer_flush`); more are written at once.
const DEFER_MAX: usize = 64 * 1024;

/// Commands parsed and run per batch at most.
const MAX_BATCH: usize = 1024;

/// Bytes of a streamed reply encoded at a time: what a connection holds of
/// it at most (plus one element).
pub(crate) const STREAM_CHUNK: usize = 64 * 1024;

/// Chunks one flush writes at most before letting the loop serve other
/// connections (a fast reader of a huge reply must not starve them).
const CHUNKS_PER_FLUSH: usize = 16;

/// Streamed replies a connection may have queued before its input is left
/// unread: each holds a snapshot, so a pipeline of big reads stays bounded.
pub(crate) const MAX_STREAMS: usize = 8;

/// Reads everything available, executes the complete commands as one batch
/// and writes the replies. Returns false when the connection must close.
pub(crate) fn on_readable(
    shared: &Shared,
    conn: &mut Conn,
    exec: &mut Executor<'_>,
    scratch: &mut [u8],
    batch: &mut Vec<Vec<bytes::Bytes>>,
) -> bool {
    let mut eof = false;
    loop {
        let mut drained = conn.input_paused;
        let before = conn.rbuf.len();
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
                        shared
                            .stats
                            .net_input_bytes
                            .fetch_add(n as u64, Ordering::Relaxed);
                        // A short read means the socket is drained, unless
                        // the peer closed its side: then read on to the end
                        // (the poll reports that close only once).
                        if n < scratch.len() && !conn.peer_closed {
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
        if conn.rbuf.len() > before {
            // As in Redis, any input is interaction: a client uploading a
            // big pipeline is not idle before its first command runs.
            conn.sess.handle.touch_io();
        }
        if !process_input(shared, conn, exec, batch) {
            return false;
        }
        // A peer that closed its side gets its last replies now: the
        // edge-triggered poll reports that end only once.
        let defer = conn.defer_flush
            && !eof
            && conn.pending_out() < DEFER_MAX
            && conn.streams.is_empty()
            && !conn.sess.close_after_reply;
        if !defer && !flush(conn) {
            return false;
        }
        // Replies the socket did not take count against the client's
        // `client-output-buffer-limit` class, as pushes do (Redis checks on
        // every reply it queues).
        if conn.pending_out() > 0 && !within_output_limits(shared, conn) {
            return false;
        }
        if drained || conn.input_paused || conn.sess.close_after_reply {
            break;
        }
    }
    if eof {
        if !conn.has_output() {
            return false;
        }
        // Answer what it sent, then close (as Redis does).
        conn.sess.close_after_reply = true;
    }
    !conn.sess.close_after_reply || conn.has_output()
}

/// Parses and executes every complete command in the input buffer.
pub(crate) fn process_input(
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
        if conn.pending_out() > OUTPUT_HIGH_WATER || conn.streams.len() >= MAX_STREAMS {
            conn.input_paused = true;
            break;
        }
        let mut proto_err = None;
        if conn.pending.is_empty() {
            conn.args.clear();
            while conn.pending.len() < MAX_BATCH {
                let start = conn.args.len();
                match conn
                    .parser
                    .parse_append(&mut conn.rbuf, &limits, &mut conn.args)
                {
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
            exec.execute(&mut conn.sess, argv, &mut conn.out, &mut conn.streams);
            // Overlap the next commands' cache misses with this batch's work.
            for (k, &(s, n)) in conn.pending.iter().take(3).enumerate() {
                exec.prefetch(conn.sess.db, &conn.args[s..s + n], k as u8);
            }
            if conn.sess.close_after_reply
                || conn.sess.blocked.is_some()
                || conn.sess.handle.killed.load(Ordering::Relaxed)
            {
                break;
            }
        }
        if exec.finish_batch() {
            conn.hold = true;
            exec.hold(conn.sess.id);
        }
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
        eprintln!(
            "kevy: closing client {}: query buffer over client-query-buffer-limit",
            conn.sess.handle.addr
        );
        return false;
    }
    conn.sess
        .handle
        .qbuf
        .store(conn.rbuf.len(), Ordering::Relaxed);
    crate::cmd::publish_state(&conn.sess);
    true
}

/// One `write`: Some(bytes written), None when the socket is full, Err on
/// an error or a closed peer.
fn write_some(sock: &mut mio::net::TcpStream, buf: &[u8]) -> Result<Option<usize>, ()> {
    loop {
        match sock.write(buf) {
            Ok(0) => return Err(()),
            Ok(n) => {
                NET_OUT.with(|c| c.set(c.get() + n as u64));
                return Ok(Some(n));
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(None),
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(_) => return Err(()),
        }
    }
}

/// Writes as much pending output as the socket takes, in order: `out` up
/// to the first streamed reply's offset, that reply's items one chunk at a
/// time (a chunk is encoded only once the previous one is written, so a
/// slow reader holds one chunk, never the reply), then on. At most
/// `CHUNKS_PER_FLUSH` chunks per call: `write_ready` then asks for another
/// turn. False on a write error.
pub(crate) fn flush(conn: &mut Conn) -> bool {
    if conn.hold {
        // Replies wait for this loop iteration's shared fsync.
        return true;
    }
    conn.write_ready = false;
    let mut chunks = 0;
    let mut wrote = false;
    loop {
        if conn.chunk_pos < conn.chunk.len() {
            match write_some(&mut conn.sock, &conn.chunk[conn.chunk_pos..]) {
                Ok(Some(n)) => {
                    conn.chunk_pos += n;
                    wrote = true;
                }
                Ok(None) => break,
                Err(()) => return false,
            }
            continue;
        }
        let upto = conn.streams.front().map_or(conn.out.len(), |s| s.at);
        if conn.out_pos < upto {
            match write_some(&mut conn.sock, &conn.out[conn.out_pos..upto]) {
                Ok(Some(n)) => {
                    conn.out_pos += n;
                    wrote = true;
                }
                Ok(None) => break,
                Err(()) => return false,
            }
            continue;
        }
        let Some(s) = conn.streams.front_mut() else {
            break;
        };
        if chunks == CHUNKS_PER_FLUSH {
            conn.write_ready = true;
            break;
        }
        chunks += 1;
        conn.chunk.clear();
        conn.chunk_pos = 0;
        if s.cursor.next_chunk(&mut conn.chunk, STREAM_CHUNK) {
            conn.streams.pop_front();
        }
    }
    if wrote {
        conn.sess.handle.touch_io();
    }
    if conn.chunk_pos == conn.chunk.len() {
        conn.chunk.clear();
        conn.chunk_pos = 0;
        if conn.chunk.capacity() > 4 * STREAM_CHUNK {
            // One huge element made it grow: do not keep that.
            conn.chunk.shrink_to(STREAM_CHUNK);
        }
    }
    // Drop the written prefix of `out` once it reaches a stream (or the
    // end), so offsets stay small: one move of what is queued behind.
    let upto = conn.streams.front().map_or(conn.out.len(), |s| s.at);
    if conn.out_pos > 0 && conn.out_pos == upto {
        let done = conn.out_pos;
        conn.out.drain(..done);
        conn.out_pos = 0;
        for s in conn.streams.iter_mut() {
            s.at -= done;
        }
    }
    if conn.out.is_empty() && conn.out.capacity() > 1 << 20 {
        conn.out.shrink_to(64 * 1024);
    }
    conn.sess
        .handle
        .obuf
        .store(conn.pending_out(), Ordering::Relaxed);
    true
}

/// Sets the poll interest: WRITABLE while output is left. A flush that
/// stopped at its chunk budget (`write_ready`) re-registers anyway: with
/// edge-triggered polling only a re-registration reports a socket that is
/// still writable again.
pub(crate) fn update_interest(reg: &mio::Registry, conn: &mut Conn, slot: usize) -> bool {
    let need = conn.has_output();
    if need != conn.want_write || (need && conn.write_ready) {
        let interest = if need {
            Interest::READABLE | Interest::WRITABLE
        } else {
            Interest::READABLE
        };
        if reg
            .reregister(&mut conn.sock, Token(slot), interest)
            .is_err()
        {
            return false;
        }
        conn.want_write = need;
    }
    !conn.sess.close_after_reply || need
}

/// `client-output-buffer-limit` for the client's class: past the hard limit,
/// or past the soft limit for longer than its seconds, the client is
/// disconnected instead of growing memory without bound.
pub(crate) fn within_output_limits(shared: &Shared, conn: &mut Conn) -> bool {
    let cfg = shared.config.get();
    let class =
        if conn.sess.subs.is_empty() && conn.sess.psubs.is_empty() && conn.sess.ssubs.is_empty() {
            &cfg.client_output_buffer_limit.normal
        } else {
            &cfg.client_output_buffer_limit.pubsub
        };
    let pending = conn.pending_out() as u64;
    if class.hard > 0 && pending > class.hard {
        eprintln!(
            "kevy: closing client {}: output buffer over the hard limit",
            conn.sess.handle.addr
        );
        return false;
    }
    if class.soft > 0 && pending > class.soft {
        let now = crate::shared::now_ms();
        let since = *conn.soft_limit_since.get_or_insert(now);
        if now.saturating_sub(since) > class.soft_seconds * 1000 {
            eprintln!(
                "kevy: closing client {}: output buffer over the soft limit for too long",
                conn.sess.handle.addr
            );
            return false;
        }
    } else {
        conn.soft_limit_since = None;
    }
    true
}

/// True if CLIENT PAUSE holds back `argv` right now.
pub(crate) fn is_paused_for(shared: &Shared, argv: &[bytes::Bytes]) -> bool {
    let until = shared.pause_until.load(Ordering::SeqCst);
    if until == 0 || until <= crate::shared::now_ms() {
        return false;
    }
    if !shared.pause_writes_only.load(Ordering::SeqCst) {
        return true;
    }
    let Some((_, cmd)) = argv.first().and_then(|n| shared.commands.lookup(n)) else {
        return false;
    };
    cmd.meta.flags & (kevy_store::spec::flags::WRITE | kevy_store::spec::flags::MAY_REPLICATE) != 0
}

thread_local! {
    /// Bytes written by this thread not yet added to the shared counter.
    static NET_OUT: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// Adds this thread's written-bytes count to INFO's `total_net_output_bytes`.
pub(crate) fn publish_net_out(shared: &Shared) {
    let n = NET_OUT.with(|c| c.replace(0));
    if n > 0 {
        shared
            .stats
            .net_output_bytes
            .fetch_add(n, Ordering::Relaxed);
    }
}
