//! Command execution for one event-loop thread: a pipelined read is run as
//! one batch. Consecutive data commands that route to the same shards reuse
//! the locks already held, so a batch takes each lock about once; every lock
//! is released before server commands run and before replies are written.

use crate::cmd::Env;
use crate::conn::Session;
use crate::shared::{now_ms, Shared};
use crate::table::Kind;
use bytes::Bytes;
use kevy_resp::{encode, Reply};
use kevy_store::{Ctx, Events, Locked};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::Ordering::Relaxed;
use std::time::Instant;

/// Per-thread execution scratch: the locks held across a batch and the
/// side effects commands raised.
pub struct Executor<'s> {
    shared: &'s Shared,
    locked: Locked<'s>,
    events: Events,
    ids: Vec<usize>,
    /// Shards the current batch read or wrote (ascending, unique after
    /// `finish_batch` sorts them): what `appendfsync always` must make durable
    /// before the batch's replies leave.
    touched: Vec<usize>,
}

impl<'s> Executor<'s> {
    /// An executor over `shared`.
    pub fn new(shared: &'s Shared) -> Executor<'s> {
        Executor { shared, locked: shared.store.lock(&[]), events: Events::default(), ids: Vec::new(), touched: Vec::new() }
    }

    /// Runs one parsed command and appends its reply to `out`.
    pub fn execute(&mut self, sess: &mut Session, argv: &[Bytes], out: &mut Vec<u8>) {
        let reply = self.dispatch(sess, argv);
        if reply.is_error() {
            if let Reply::Error(e) = &reply {
                self.shared.stats.count_error(e);
            }
        }
        match sess.reply_mode {
            0 => encode(&reply, sess.proto, out),
            2 => sess.reply_mode = 0,
            _ => {}
        }
    }

    fn dispatch(&mut self, sess: &mut Session, argv: &[Bytes]) -> Reply {
        let shared = self.shared;
        shared.stats.total_commands_processed.fetch_add(1, Relaxed);
        let Some(name) = argv.first() else { return Reply::error("ERR empty command") };
        let Some((idx, cmd)) = shared.commands.lookup(name) else {
            return Reply::error(kevy_store::unknown_command_error(argv));
        };
        sess.handle.touch(idx);
        if !cmd.meta.arity_ok(argv.len()) {
            cmd.stats.rejected.fetch_add(1, Relaxed);
            return Reply::error(kevy_store::arity_error(cmd.meta.name));
        }
        let t0 = Instant::now();
        let reply = match cmd.kind {
            Kind::Store(sc) => {
                shared.store.shards_for(sc, argv, &mut self.ids);
                shared.store.relock(&mut self.locked, &self.ids);
                self.touched.extend_from_slice(&self.ids);
                let mut ctx = Ctx::new(&mut self.locked, &mut self.events, sess.db, now_ms());
                ctx.proto = sess.proto;
                guarded(|| kevy_store::run(&mut ctx, sc, argv))
            }
            Kind::Server(sv) => {
                self.locked.release();
                let mut env = Env { shared, sess };
                guarded(|| (sv.run)(&mut env, argv))
            }
        };
        cmd.stats.calls.fetch_add(1, Relaxed);
        cmd.stats.usec.fetch_add(t0.elapsed().as_micros() as u64, Relaxed);
        if reply.is_error() {
            cmd.stats.failed.fetch_add(1, Relaxed);
        }
        reply
    }

    /// Ends a batch: releases every lock and handles the side effects the
    /// batch raised.
    pub fn finish_batch(&mut self) {
        self.locked.release();
        self.touched.sort_unstable();
        self.touched.dedup();
        let st = &self.shared.stats;
        st.keyspace_hits.fetch_add(std::mem::take(&mut self.events.hits), Relaxed);
        st.keyspace_misses.fetch_add(std::mem::take(&mut self.events.misses), Relaxed);
        self.events.notifications.clear();
        self.events.ready_keys.clear();
        self.events.dirty = 0;
        self.touched.clear();
    }
}

/// Runs a command body, turning a panic (a bug, never client input) into an
/// error reply so one bad command cannot take the server down.
fn guarded(f: impl FnOnce() -> Reply) -> Reply {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(_) => {
            eprintln!("kevy: internal error: a command handler panicked");
            Reply::error("ERR internal error")
        }
    }
}
