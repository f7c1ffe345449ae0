//! A client connection: its socket, input buffer and resumable parser, its
//! output (plain bytes plus the streamed replies whose items go at given
//! offsets of them), and the `Session` (selected db, protocol, name, ...)
//! that commands read and change.

use crate::shared::ClientHandle;
use bytes::BytesMut;
use kevy_resp::{Protocol, RequestParser};
use mio::net::TcpStream;
use std::sync::Arc;

/// Per-connection command state.
pub struct Session {
    /// Client id.
    pub id: u64,
    /// Selected database.
    pub db: usize,
    /// Protocol version in use.
    pub proto: Protocol,
    /// What other threads see of this client.
    pub handle: Arc<ClientHandle>,
    /// Close the connection once the pending replies are written (QUIT,
    /// protocol error, CLIENT KILL of itself).
    pub close_after_reply: bool,
    /// Suppress replies (CLIENT REPLY OFF/SKIP): 0 = on, 1 = off, 2 = skip next.
    pub reply_mode: u8,
    /// Passed AUTH (or no password is required).
    pub authenticated: bool,
    /// The ACL user this connection runs as.
    pub acl: crate::acl::SessionAcl,
    /// Parked by a blocking command until this deadline (Unix ms, 0 = none).
    pub blocked: Option<u64>,
    /// Commands queued since MULTI (None outside a transaction).
    pub multi: Option<Vec<Vec<bytes::Bytes>>>,
    /// A command was refused while queueing: EXEC must abort.
    pub multi_dirty: bool,
    /// Set by any write to a watched key (shared with the shards' registries).
    pub watch_flag: Option<kevy_store::WatchFlag>,
    /// Watched keys: (db, key, expiry at WATCH time).
    pub watched: Vec<(usize, bytes::Bytes, u64)>,
    /// Subscribed channels.
    pub subs: Vec<bytes::Bytes>,
    /// Subscribed patterns.
    pub psubs: Vec<bytes::Bytes>,
    /// Subscribed shard channels.
    pub ssubs: Vec<bytes::Bytes>,
    /// CLIENT TRACKING mode, when on.
    pub tracking: Option<crate::tracking::Mode>,
    /// CLIENT CACHING yes/no for the next command.
    pub caching: Option<bool>,
    /// Set by commands that answer with several frames (SUBSCRIBE x y):
    /// written instead of the command's single reply.
    pub frames: Option<Vec<kevy_resp::Reply>>,
}

/// A connection owned by one event-loop thread.
pub struct Conn {
    /// The socket.
    pub sock: TcpStream,
    /// Bytes read and not yet parsed.
    pub rbuf: BytesMut,
    /// The resumable request parser.
    pub parser: RequestParser,
    /// Encoded replies not yet written.
    pub out: Vec<u8>,
    /// How much of `out` was already written.
    pub out_pos: usize,
    /// Streamed replies not yet fully written, by ascending offset: each
    /// one's items are written when `out` has been written up to its `at`,
    /// before the rest of `out` (the replies and pushes queued after it).
    pub streams: std::collections::VecDeque<PendingStream>,
    /// The chunk of the first stream being written (about
    /// `conn_io::STREAM_CHUNK` bytes), and how much of it was written.
    pub chunk: Vec<u8>,
    /// How much of `chunk` was already written.
    pub chunk_pos: usize,
    /// The last flush stopped at its chunk budget with the socket still
    /// writable: the poll must report it writable again (see
    /// `conn_io::update_interest`).
    pub write_ready: bool,
    /// Command state.
    pub sess: Session,
    /// WRITABLE interest is registered (a write would have blocked).
    pub want_write: bool,
    /// Input is left unread until the output drains (backpressure).
    pub input_paused: bool,
    /// Commands parsed but not yet run (the rest of a pipeline behind a
    /// blocking command).
    pub pending: std::collections::VecDeque<(usize, usize)>,
    /// The arguments of the parsed commands: `pending` holds (start, count)
    /// ranges into it, so a pipeline needs no vector per command.
    pub args: Vec<bytes::Bytes>,
    /// When the output first went over the soft output-buffer limit.
    pub soft_limit_since: Option<u64>,
    /// Input held back by CLIENT PAUSE.
    pub paused: bool,
    /// Output held until the loop iteration's shared AOF write (and under
    /// `appendfsync always` its fsync).
    pub hold: bool,
    /// Set by the loop while it handles this connection's readable event:
    /// small replies then wait for the end of the loop iteration and go out
    /// with everyone else's (see `worker::run`).
    pub defer_flush: bool,
    /// The poll reported that the peer shut its sending side.
    pub peer_closed: bool,
}

/// A streamed reply in a connection's output: its items belong at offset
/// `at` of `Conn::out`.
pub struct PendingStream {
    /// Offset in `out` (its header is already before it).
    pub at: usize,
    /// What is left of its items.
    pub cursor: kevy_resp::StreamCursor,
}

impl Conn {
    /// A connection over `sock` for session `sess`, nothing read yet.
    pub fn new(sock: TcpStream, sess: Session) -> Conn {
        Conn {
            sock,
            rbuf: BytesMut::with_capacity(16 * 1024),
            parser: RequestParser::new(),
            out: Vec::with_capacity(16 * 1024),
            out_pos: 0,
            streams: Default::default(),
            chunk: Vec::new(),
            chunk_pos: 0,
            write_ready: false,
            sess,
            want_write: false,
            input_paused: false,
            pending: Default::default(),
            args: Vec::new(),
            soft_limit_since: None,
            paused: false,
            hold: false,
            defer_flush: false,
            peer_closed: false,
        }
    }

    /// Bytes of output buffered and not yet written (streamed replies count
    /// only for their current chunk: the rest is not in memory).
    pub fn pending_out(&self) -> usize {
        self.out.len() - self.out_pos + self.chunk.len() - self.chunk_pos
    }

    /// True while anything is left to write, buffered or streamed.
    pub fn has_output(&self) -> bool {
        self.pending_out() > 0 || !self.streams.is_empty()
    }
}

impl Session {
    /// A fresh session: db 0, RESP2, nothing subscribed, watched or queued.
    pub fn new(id: u64, handle: Arc<ClientHandle>, authenticated: bool) -> Session {
        Session {
            id,
            db: 0,
            proto: Protocol::Resp2,
            handle,
            close_after_reply: false,
            reply_mode: 0,
            authenticated,
            acl: Default::default(),
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
        }
    }

    /// True when no password is required any more (`requirepass` was
    /// cleared at runtime): the client counts as authenticated.
    pub fn authenticated_check(&self, shared: &crate::shared::Shared) -> bool {
        crate::acl::default_nopass(shared)
    }
}

/// Owned copies of a command's arguments. Parsed arguments are slices of the
/// connection's read buffer; anything kept beyond the command (a queued
/// MULTI command, a parked blocking command, a slow-log entry, a
/// subscription) must copy, or one small argument would pin a whole read
/// buffer in memory.
pub fn own(argv: &[bytes::Bytes]) -> Vec<bytes::Bytes> {
    argv.iter()
        .map(|a| bytes::Bytes::copy_from_slice(a))
        .collect()
}
