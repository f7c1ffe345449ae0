//! What an event loop does for its other clients while one of its own
//! scripts is busy (past `busy-reply-threshold`), called from the script's
//! instruction hook: it reads their input and answers each command as
//! Redis does during a busy script: BUSY, except the few commands that
//! get through (SCRIPT KILL, FUNCTION KILL, FUNCTION STATS, SHUTDOWN
//! NOSAVE, AUTH, HELLO, MULTI, QUIT, ...).
//!
//! Commands that would take a shard lock (WATCH, and UNWATCH / DISCARD /
//! RESET of a client that watches keys) are answered BUSY too: the busy
//! script holds those locks on this very thread. A client with commands
//! already parsed and waiting (behind a blocking command) is left alone
//! until the script ends, so its replies stay in order.

use super::conns::ConnTable;
use crate::cmd::{eq, Env};
use crate::conn::Conn;
use crate::conn_io::flush;
use crate::shared::Shared;
use crate::table::Kind;
use bytes::Bytes;
use kevy_resp::{encode, Limits, Reply};
use std::io::{ErrorKind, Read};
use std::time::{Duration, Instant};

/// How often the busy hook looks at the other clients at most.
const EVERY: Duration = Duration::from_millis(5);

/// The loop's connection table, as a busy script's hook sees it.
pub(crate) struct BusyServer {
    conns: ConnTable,
    last: Option<Instant>,
    scratch: Vec<u8>,
}

impl BusyServer {
    /// A server over the loop's table.
    pub(crate) fn new(conns: ConnTable) -> BusyServer {
        BusyServer {
            conns,
            last: None,
            scratch: vec![0; 16 * 1024],
        }
    }

    /// Answers whatever the loop's other clients sent; `released` are the
    /// clients whose held replies may now go out.
    pub(crate) fn serve(&mut self, shared: &Shared, released: &[u64]) {
        if self.last.is_some_and(|t| t.elapsed() < EVERY) && released.is_empty() {
            return;
        }
        self.last = Some(Instant::now());
        // The table is borrowed only while no connection is taken out of
        // it by the loop's code further up this thread's stack; the
        // running script's own connection is out, so it is skipped.
        let Ok(mut conns) = self.conns.try_borrow_mut() else {
            return;
        };
        for conn in conns.slots.iter_mut().flatten() {
            if released.contains(&conn.sess.id) {
                conn.hold = false;
            }
            serve_one(shared, conn, &mut self.scratch);
        }
    }
}

fn serve_one(shared: &Shared, conn: &mut Conn, scratch: &mut [u8]) {
    if !conn.pending.is_empty() || conn.sess.blocked.is_some() || conn.sess.close_after_reply {
        if conn.pending_out() > 0 {
            flush(conn);
        }
        return;
    }
    loop {
        match conn.sock.read(scratch) {
            Ok(0) => {
                conn.peer_closed = true;
                break;
            }
            Ok(n) => conn.rbuf.extend_from_slice(&scratch[..n]),
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(_) => break,
        }
    }
    let limits = Limits {
        max_bulk_len: shared.config.get().proto_max_bulk_len as usize,
        max_multibulk_len: i32::MAX as usize,
        authenticated: conn.sess.authenticated,
    };
    let mut answered = false;
    loop {
        conn.args.clear();
        match conn
            .parser
            .parse_append(&mut conn.rbuf, &limits, &mut conn.args)
        {
            Ok(Some(n)) => {
                let argv: Vec<Bytes> = conn.args[..n].to_vec();
                let reply = answer(shared, conn, &argv);
                if conn.sess.reply_mode == 0 {
                    encode(&reply, conn.sess.proto, &mut conn.out);
                }
                answered = true;
                if conn.sess.close_after_reply {
                    break;
                }
            }
            // A protocol error is left for the loop to answer afterwards.
            Ok(None) | Err(_) => break,
        }
    }
    conn.args.clear();
    // Also what the loop left to write at the end of its iteration.
    if answered || conn.pending_out() > 0 {
        flush(conn);
    }
}

/// The reply to one command of another client while the script is busy.
fn answer(shared: &Shared, conn: &mut Conn, argv: &[Bytes]) -> Reply {
    let Some((idx, cmd)) = argv.first().and_then(|n| shared.commands.lookup(n)) else {
        return Reply::error(kevy_store::unknown_command_error(argv));
    };
    let sess = &mut conn.sess;
    sess.handle.touch(idx);
    if !cmd.meta.arity_ok(argv.len()) {
        return Reply::error(kevy_store::arity_error(cmd.meta.name));
    }
    let busy = || {
        Reply::error(
            shared
                .scripting
                .busy
                .busy_error()
                .unwrap_or(crate::script::BUSY_EVAL),
        )
    };
    let sub = argv.get(1);
    let takes_locks = matches!(cmd.meta.name, "watch" | "exec")
        || (matches!(cmd.meta.name, "unwatch" | "discard" | "reset") && !sess.watched.is_empty());
    match cmd.kind {
        Kind::Script(_) if cmd.meta.name == "script" && sub.is_some_and(|s| eq(s, "kill")) => {
            crate::cmd::scripting::kill_reply(shared.scripting.busy.kill(true))
        }
        Kind::Script(_) if cmd.meta.name == "function" && sub.is_some_and(|s| eq(s, "kill")) => {
            crate::cmd::scripting::kill_reply(shared.scripting.busy.kill(false))
        }
        Kind::Script(_) if cmd.meta.name == "function" && sub.is_some_and(|s| eq(s, "stats")) => {
            crate::cmd::functions::stats_reply(shared)
        }
        Kind::Server(sv)
            if cmd.meta.flags & kevy_store::spec::flags::ALLOW_BUSY != 0 && !takes_locks =>
        {
            if cmd.meta.name == "shutdown" && !argv[1..].iter().any(|a| eq(a, "nosave")) {
                // Saving would need the shards the script holds.
                return busy();
            }
            let mut env = Env {
                shared,
                sess,
                held: None,
            };
            (sv.run)(&mut env, argv)
        }
        _ => {
            if sess.multi.is_some() {
                sess.multi_dirty = true;
            }
            busy()
        }
    }
}
