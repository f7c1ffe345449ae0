//! Command execution for one event-loop thread: a pipelined read is run as
//! one batch. Consecutive data commands that route to the same shards reuse
//! the locks already held, so a batch takes each lock about once; every lock
//! is released before server commands run and before replies are written.

use crate::acl::is_container;
use crate::blocking::Waiter;

mod durable;
mod gate;
mod script;
mod stats;
mod tx;
use crate::cmd::Env;
use crate::conn::{PendingStream, Session};
use crate::shared::{now_ms, Msg, Shared};
use crate::table::Kind;
use bytes::Bytes;
pub(crate) use durable::HeldUnblock;
use gate::{busy_refusal, misconf, reject, KEYSPACE_FLAGS};
use kevy_resp::{encode, encode_deferred, Reply};
use kevy_store::{Ctx, Events, Locked};
pub(crate) use script::{Call, Target};
use std::collections::VecDeque;
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
    /// `finish_batch` sorts them): what must be written to the AOF (and
    /// under `appendfsync always` made durable) before its replies leave.
    touched: Vec<usize>,
    /// Set by a blocking command that found nothing to serve.
    block: Option<kevy_store::BlockRequest>,
    /// Replies for parked clients served during this batch, delivered to
    /// their threads at the end of the batch (after the batch's writes are
    /// as durable as the fsync policy requires).
    unblocks: Vec<durable::HeldUnblock>,
    /// Inside EXEC: the transaction's locks are held; commands must not relock.
    pinned: bool,
    /// Shards touched by this loop iteration's batches, written at once by
    /// `sync_deferred` (AOF on, `everysec`/`no`).
    deferred: Vec<usize>,
    /// Replies held for the log (see `durable.rs`).
    waits: durable::Waits,
    /// `notify-keyspace-events` as of the start of the batch.
    notify_mask: u32,
    /// LFU parameters when the eviction policy is an LFU one.
    lfu: Option<kevy_store::LfuParams>,
    /// `stream-node-max-bytes` / `stream-node-max-entries`.
    stream_node: kevy_store::types::stream::NodeLimits,
    /// `latency-tracking`.
    latency_tracking: bool,
    /// `slowlog-log-slower-than` (negative: off).
    slowlog_threshold: i64,
    /// `slowlog-max-len`.
    slowlog_max_len: usize,
    /// `latency-monitor-threshold` (ms; 0: off).
    latency_threshold: u64,
    /// `maxmemory` as of the start of the batch (0: no limit, no check).
    maxmemory: u64,
    /// The batch's clock (Unix ms), read once by the first data command.
    now: Option<u64>,
    /// Counts not yet added to the shared counters: commands processed,
    /// and per command index (calls, usec, failed). Shared atomics that
    /// every thread bumps per command make cores fight over one cache
    /// line; they are added once per batch instead, and before any server
    /// command runs (so INFO on this connection sees its own commands).
    pending_total: u64,
    pending_stats: Vec<(usize, u64, u64, u64)>,
    /// When the batch's previous command ended.
    clock: Option<Instant>,
    /// This event loop's index.
    worker: usize,
    /// This event loop's Lua VM (created on first use).
    pub(crate) vm: crate::script::ThreadVm,
    /// Answers the loop's other clients while a script is busy.
    busy_server: Option<crate::worker::BusyServer>,
    /// The reply about to go out is an error already counted in the
    /// error stats (a script passing on a called command's error).
    skip_error_count: bool,
}

impl<'s> Executor<'s> {
    /// An executor over `shared` for event loop `worker`.
    pub fn new(shared: &'s Shared, worker: usize) -> Executor<'s> {
        let mut ex = Executor {
            shared,
            locked: shared.store.lock(&[]),
            events: Events::default(),
            ids: Vec::new(),
            touched: Vec::new(),
            block: None,
            unblocks: Vec::new(),
            pinned: false,
            deferred: Vec::new(),
            waits: Default::default(),
            notify_mask: 0,
            lfu: None,
            stream_node: Default::default(),
            maxmemory: 0,
            now: None,
            latency_tracking: false,
            slowlog_threshold: -1,
            slowlog_max_len: 128,
            latency_threshold: 0,
            pending_total: 0,
            pending_stats: Vec::new(),
            clock: None,
            worker,
            vm: Default::default(),
            busy_server: None,
            skip_error_count: false,
        };
        ex.refresh_config();
        ex.waits.on = shared.persist.always_commit();
        ex
    }

    /// The shared state.
    pub(crate) fn shared(&self) -> &'s Shared {
        self.shared
    }

    /// While a script on this loop is busy: answers this loop's other
    /// clients (BUSY, or the commands Redis lets through).
    pub(crate) fn serve_while_busy(&mut self) {
        if self.busy_server.is_none() {
            return;
        }
        // Replies of earlier batches that wait for the loop's group commit
        // go out now: the script may run for long (its own writes are not
        // in the log yet, so this commits only what came before it).
        let released = if self.has_deferred() {
            self.sync_deferred()
        } else {
            Vec::new()
        };
        if let Some(b) = self.busy_server.as_mut() {
            b.serve(self.shared, &released);
        }
    }

    /// Gives the executor its loop's connection table, for
    /// [`Executor::serve_while_busy`].
    pub(crate) fn set_busy_server(&mut self, b: crate::worker::BusyServer) {
        self.busy_server = Some(b);
    }

    /// Runs one parsed command and appends its reply to `out`; the items of
    /// a streamed reply are left to `streams` (see `conn_io::flush`).
    pub fn execute(
        &mut self,
        sess: &mut Session,
        argv: &[Bytes],
        out: &mut Vec<u8>,
        streams: &mut VecDeque<PendingStream>,
    ) {
        let begin = self.cmd_begin(out.len());
        let db = sess.db;
        let reply = self.dispatch(sess, argv);
        if !self.events.replaced_dbs.is_empty() {
            self.replaced_dbs_ready();
        }
        if !self.events.ready_keys.is_empty() {
            self.serve_ready();
        }
        if let Some(req) = self.block.take() {
            sess.blocked = Some(req.deadline_ms);
            self.shared.blocking.park(Waiter {
                id: sess.id,
                worker: sess.handle.worker,
                db: req.db,
                proto: sess.proto,
                argv: req.argv.unwrap_or_else(|| crate::conn::own(argv)),
                keys: req.keys,
            });
            return;
        }
        if reply.is_error() && !std::mem::take(&mut self.skip_error_count) {
            if let Reply::Error(e) = &reply {
                self.shared.stats.count_error(e);
            }
        }
        let frames = sess.frames.take();
        match sess.reply_mode {
            0 => match frames {
                Some(fr) => fr.iter().for_each(|f| encode(f, sess.proto, out)),
                None => encode_deferred(&reply, sess.proto, out, &mut |at, cursor| {
                    streams.push_back(PendingStream { at, cursor })
                }),
            },
            2 => sess.reply_mode = 0,
            _ => {}
        }
        self.cmd_end(begin, out.len(), db, argv);
    }

    /// After FLUSHDB, FLUSHALL or SWAPDB: every key a client waits on in
    /// those databases counts as ready (Redis rescans them the same way).
    fn replaced_dbs_ready(&mut self) {
        let mut dbs = std::mem::take(&mut self.events.replaced_dbs);
        dbs.sort_unstable();
        dbs.dedup();
        if self.shared.blocking.len() == 0 {
            return;
        }
        for db in dbs {
            for key in self.shared.blocking.keys_in(db) {
                self.events.ready_keys.push((db, key));
            }
        }
    }

    /// A hint for a command that comes later in this batch: start loading
    /// what its lookup of `argv[1]` (most commands' key) will read, if that
    /// key's shard is locked now. `stage` is how far ahead the command is,
    /// less one (0: the next; see `HashTrie::prefetch`). A wrong guess (no
    /// key there) only wastes a cache line.
    pub fn prefetch(&self, db: usize, argv: &[Bytes], stage: u8) {
        if let Some(key) = argv.get(1) {
            self.locked.prefetch(db, key, stage);
        }
    }

    fn dispatch(&mut self, sess: &mut Session, argv: &[Bytes]) -> Reply {
        let shared = self.shared;
        self.pending_total += 1;
        let Some(name) = argv.first() else {
            return Reply::error("ERR empty command");
        };
        let Some((idx, cmd)) = shared.commands.lookup(name) else {
            if sess.multi.is_some() {
                sess.multi_dirty = true;
            }
            return Reply::error(kevy_store::unknown_command_error(argv));
        };
        sess.handle.touch(idx);
        if is_container(cmd.meta.name) {
            if let Some(sub) = argv.get(1) {
                let mut name = sess.handle.last_full_name.lock();
                name.clear();
                name.push_str(cmd.meta.name);
                name.push('|');
                name.push_str(&String::from_utf8_lossy(sub).to_lowercase());
            }
        }
        if !cmd.meta.arity_ok(argv.len()) {
            cmd.stats.rejected.fetch_add(1, Relaxed);
            if cmd.meta.name == "exec" {
                // Redis aborts the transaction (if any) and says why.
                sess.multi = None;
                sess.multi_dirty = false;
                crate::cmd::unwatch_all(shared, sess);
                return Reply::error(
                    "EXECABORT Transaction discarded because of: wrong number of arguments for 'exec' command",
                );
            }
            if sess.multi.is_some() {
                sess.multi_dirty = true;
            }
            return Reply::error(kevy_store::arity_error(cmd.meta.name));
        }
        if crate::cmd::in_subscribed_mode(sess)
            && !crate::cmd::allowed_in_subscribed_mode(cmd.meta.name)
        {
            let full = if is_container(cmd.meta.name) && argv.len() > 1 {
                sess.handle.last_full_name.lock().clone()
            } else {
                cmd.meta.name.to_string()
            };
            return Reply::error(format!(
                "ERR Can't execute '{full}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context"
            ));
        }
        if !sess.authenticated && cmd.meta.flags & kevy_store::spec::flags::NO_AUTH == 0 {
            if sess.authenticated_check(shared) {
                sess.authenticated = true;
            } else {
                cmd.stats.rejected.fetch_add(1, Relaxed);
                return Reply::error("NOAUTH Authentication required.");
            }
        }
        if let Some(r) = crate::acl::check(shared, sess, idx, argv) {
            cmd.stats.rejected.fetch_add(1, Relaxed);
            return reject(shared, sess, cmd, r);
        }
        if let Some(r) = busy_refusal(shared, cmd, argv) {
            cmd.stats.rejected.fetch_add(1, Relaxed);
            return reject(shared, sess, cmd, r);
        }
        // After authentication, as Redis: only clients that may run commands
        // trigger evictions or see OOM.
        if self.maxmemory != 0 {
            self.stamp();
            if let Some(r) =
                crate::memory::oom_check(shared, &mut self.locked, sess, cmd, self.maxmemory)
            {
                return r;
            }
        }
        if let Some(msg) = misconf(shared, sess, cmd) {
            cmd.stats.rejected.fetch_add(1, Relaxed);
            return reject(shared, sess, cmd, Reply::error(msg));
        }
        if sess.handle.monitoring.load(Relaxed) && cmd.meta.flags & KEYSPACE_FLAGS != 0 {
            // Redis flags a MONITOR client as a replica, which may not
            // touch the keyspace (its check against CLIENT PAUSE abuse).
            cmd.stats.rejected.fetch_add(1, Relaxed);
            return reject(
                shared,
                sess,
                cmd,
                Reply::error("ERR Replica can't interact with the keyspace"),
            );
        }
        if let Some(queue) = sess.multi.as_mut() {
            match cmd.meta.name {
                "exec" => {
                    // MONITOR shows EXEC after the commands it ran, as Redis.
                    let r = self.exec_tx(sess);
                    crate::cmd::monitor_feed(shared, sess, cmd.meta.flags, argv);
                    return r;
                }
                "multi" | "discard" | "watch" | "quit" | "reset" => {}
                _ => {
                    queue.push(crate::conn::own(argv));
                    return Reply::simple("QUEUED");
                }
            }
        } else if cmd.meta.name == "exec" {
            return Reply::error("ERR EXEC without MULTI");
        }
        self.run_one(sess, idx, argv, true)
    }

    /// Runs one command that passed lookup and arity checks; records its
    /// stats. Data commands lock what they need (reusing held locks).
    fn run_one(
        &mut self,
        sess: &mut Session,
        idx: usize,
        argv: &[Bytes],
        may_block: bool,
    ) -> Reply {
        let shared = self.shared;
        let Some(cmd) = shared.commands.get(idx) else {
            return Reply::error("ERR internal error");
        };
        // One clock read per command: a command of a batch starts when the
        // one before it ended (the dispatch in between is a few dozen ns).
        let t0 = self.clock.take().unwrap_or_else(Instant::now);
        let reply = match cmd.kind {
            Kind::Store(sc) => {
                let mut first = None;
                if !self.pinned {
                    first = shared.store.shards_and_first_key(sc, argv, &mut self.ids);
                    let busy = &shared.scripting.busy;
                    self.stamp();
                    if !shared
                        .store
                        .relock_or(&mut self.locked, &self.ids, || busy.active())
                    {
                        // A script on another loop holds the lock past
                        // busy-reply-threshold.
                        let e = busy.busy_error().unwrap_or(crate::script::BUSY_EVAL);
                        return Reply::error(e);
                    }
                    // Under `always` a read waits for the keys it read, not
                    // for the shards (see `note_effects`).
                    let read =
                        self.waits.on && sc.meta.flags & kevy_store::spec::flags::READONLY != 0;
                    if !read {
                        self.touched.extend_from_slice(&self.ids);
                    }
                }
                let now = *self.now.get_or_insert_with(now_ms);
                let mut ctx = Ctx::new(&mut self.locked, &mut self.events, sess.db, now);
                if let (Some(i), [id]) = (first, self.ids.as_slice()) {
                    ctx.prime_route(&argv[i], *id);
                }
                ctx.proto = sess.proto;
                ctx.may_block = may_block;
                // Big collection replies become streams over a snapshot,
                // written as the socket drains (also inside EXEC: the
                // transaction's reply array holds them in place).
                ctx.stream_replies = true;
                ctx.notify_mask = self.notify_mask;
                ctx.track_keys = shared.tracking.active() || self.waits.on;
                ctx.lfu = self.lfu;
                ctx.stream_node = self.stream_node;
                let before = (ctx.events.dirty, ctx.events.expired);
                let r = guarded(|| kevy_store::run(&mut ctx, sc, argv));
                self.block = ctx.take_block();
                if self.waits.on {
                    self.note_effects(sc, argv, before);
                    if !shared.tracking.active() {
                        self.events.modified_keys.clear();
                    }
                }
                if shared.tracking.active() {
                    self.track(sess, sc, argv);
                }
                r
            }
            Kind::Script(sc) => {
                if !self.pinned {
                    self.stamp();
                    self.locked.release();
                }
                self.flush_stats();
                if cmd.meta.flags & kevy_store::spec::flags::SKIP_MONITOR != 0 {
                    crate::cmd::monitor_feed_script(shared, sess, argv);
                }
                guarded(|| (sc.run)(self, sess, argv))
            }
            Kind::Server(sv) => {
                self.stamp();
                self.locked.release();
                self.flush_stats();
                let mut env = Env {
                    shared,
                    sess,
                    held: None,
                };
                guarded(|| (sv.run)(&mut env, argv))
            }
        };
        crate::cmd::monitor_feed(shared, sess, cmd.meta.flags, argv);
        let t1 = Instant::now();
        self.clock = Some(t1);
        let ns = t1.duration_since(t0).as_nanos() as u64;
        let failed = reply.is_error() as u64;
        match self.pending_stats.iter_mut().find(|p| p.0 == idx) {
            Some(p) => {
                p.1 += 1;
                p.2 += ns / 1000;
                p.3 += failed;
            }
            None => self.pending_stats.push((idx, 1, ns / 1000, failed)),
        }
        if cmd.meta.name == "config" {
            // CONFIG SET takes effect for the rest of the batch, including
            // the slow log's view of this very command, as in Redis.
            self.refresh_config();
        }
        let unknown_sub =
            matches!(&reply, Reply::Error(e) if e.starts_with(b"ERR unknown subcommand"));
        if !unknown_sub {
            self.observe(sess, idx, argv, ns);
        }
        reply
    }

    /// Ends a batch: releases every lock and handles the side effects the
    /// batch raised.
    /// Returns true when the batch's replies must wait for
    /// [`Executor::sync_deferred`] (AOF on: the write, and under
    /// `appendfsync always` the fsync, is shared by every batch of this loop
    /// iteration).
    pub fn finish_batch(&mut self) -> bool {
        self.batch_positions();
        self.locked.release();
        self.flush_stats();
        self.touched.sort_unstable();
        self.touched.dedup();
        let st = &self.shared.stats;
        st.keyspace_hits
            .fetch_add(std::mem::take(&mut self.events.hits), Relaxed);
        st.keyspace_misses
            .fetch_add(std::mem::take(&mut self.events.misses), Relaxed);
        self.publish_notifications();
        self.events.ready_keys.clear();
        self.events.replaced_dbs.clear();
        self.events.dirty = 0;
        let defer = self.shared.persist.defers_sync();
        if defer {
            self.deferred.extend_from_slice(&self.touched);
        }
        self.touched.clear();
        self.refresh_config();
        self.now = None;
        self.clock = None;
        if defer {
            self.waits.unblocks.append(&mut self.unblocks);
        } else {
            self.send_unblocks();
        }
        self.waits.on = defer && self.shared.persist.always_commit();
        defer
    }

    fn send_unblocks(&mut self) {
        for u in self.unblocks.drain(..) {
            if let Some(w) = self.shared.workers.get(u.worker) {
                w.send(Msg::Unblock {
                    id: u.id,
                    reply: u.reply,
                });
            }
        }
    }

    /// True when replies wait for the log at the end of the loop iteration.
    pub fn has_deferred(&self) -> bool {
        self.waits.any()
    }

    /// Records that client `id`'s output waits for the log (the commands
    /// of its last batch, under `appendfsync always`, for their positions).
    pub fn hold(&mut self, id: u64) {
        self.hold_cmds(id);
    }

    /// With the AOF on, once per loop iteration: writes every shard the
    /// iteration's batches touched (`everysec`/`no`), then returns the
    /// clients whose output may now go. Under `always` a client waits until
    /// the positions its commands need are durable (the shard committers
    /// are asked for them and wake the loop); commands whose writes were
    /// undone are answered again by [`Executor::redo`].
    pub fn sync_deferred(&mut self) -> Vec<u64> {
        self.deferred.sort_unstable();
        self.deferred.dedup();
        self.shared.persist.sync_for_replies(&self.deferred);
        self.deferred.clear();
        let mut ready = Vec::new();
        self.settle_waits(&mut ready);
        ready
    }

    /// Client-side caching after a data command: remember what a tracking
    /// client read, and invalidate what anyone wrote.
    fn track(&mut self, sess: &mut Session, sc: &kevy_store::StoreCommand, argv: &[Bytes]) {
        let shared = self.shared;
        let caching = sess.caching.take();
        if let Some(mode) = &sess.tracking {
            let record = !mode.bcast
                && sc.meta.flags & kevy_store::spec::flags::READONLY != 0
                && if mode.optin {
                    caching == Some(true)
                } else if mode.optout {
                    caching != Some(false)
                } else {
                    true
                };
            if record {
                sc.meta
                    .for_each_key(argv, |i| shared.tracking.remember(sess.id, &argv[i]));
            }
        }
        if matches!(sc.meta.name, "flushall" | "flushdb") {
            self.events.modified_keys.clear();
            shared.tracking.invalidate_all(shared);
            return;
        }
        shared
            .tracking
            .invalidate_keys(shared, &self.events.modified_keys, sess.id);
        self.events.modified_keys.clear();
    }

    /// Publishes the batch's keyspace events (see `pubsub::publish_notifications`).
    fn publish_notifications(&mut self) {
        crate::pubsub::publish_notifications(
            self.shared,
            self.notify_mask,
            &mut self.events.notifications,
        );
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
