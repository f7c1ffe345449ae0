//! Executor pieces that act on behalf of more than the current command:
//! EXEC (every queued command under one set of shard locks) and serving
//! clients parked by blocking commands when a key they wait on is ready.

use super::*;

impl<'s> Executor<'s> {
    /// `EXEC`: runs the queued commands atomically. Every shard any queued
    /// data command needs is locked up front (ascending), each shard's log
    /// brackets the transaction's effects, and nothing blocks.
    pub(super) fn exec_tx(&mut self, sess: &mut Session) -> Reply {
        let shared = self.shared;
        let queue = sess.multi.take().unwrap_or_default();
        if std::mem::take(&mut sess.multi_dirty) {
            crate::cmd::unwatch_all(shared, sess);
            return Reply::error("EXECABORT Transaction discarded because of previous errors.");
        }
        let mut ids = Vec::new();
        let mut one = Vec::new();
        for argv in &queue {
            if let Some((_, c)) = shared.commands.lookup(&argv[0]) {
                match c.kind {
                    Kind::Store(sc) => {
                        shared.store.shards_for(sc, argv, &mut one);
                        ids.extend_from_slice(&one);
                    }
                    // A script may touch keys it did not declare: the
                    // transaction holds every shard.
                    Kind::Script(_) => ids.extend(0..shared.store.nshards()),
                    Kind::Server(_) => {}
                }
            }
        }
        for (_, key, _) in &sess.watched {
            ids.push(shared.store.shard_of(key));
        }
        ids.sort_unstable();
        ids.dedup();
        self.stamp();
        shared.store.relock(&mut self.locked, &ids);
        // Noted now (and after every relock below), so each stretch under
        // the locks gets its own log position (see `durable.rs`).
        self.touched.extend_from_slice(&ids);
        if self.watch_broken(sess) {
            self.stamp();
            self.locked.release();
            crate::cmd::unwatch_all(shared, sess);
            return Reply::NilArray;
        }
        for s in self.locked.shards_mut() {
            s.begin_tx();
        }
        let dirty0 = self.events.dirty;
        let mut replies = Vec::with_capacity(queue.len());
        for argv in &queue {
            let Some((idx, cmd)) = shared.commands.lookup(&argv[0]) else {
                continue;
            };
            let reply = match cmd.kind {
                Kind::Store(_) | Kind::Script(_) => {
                    // Locks are already held: run without relocking.
                    self.pinned = true;
                    let r = self.run_one(sess, idx, argv, false);
                    self.pinned = false;
                    r
                }
                Kind::Server(_) if cmd.meta.flags & kevy_store::spec::flags::FAST != 0 => {
                    self.run_server_locked(sess, idx, argv)
                }
                Kind::Server(_) => {
                    // A slow server command may lock the store itself (INFO,
                    // SAVE): step out of the locks for it.
                    let db = sess.db;
                    kevy_store::end_tx_all(self.locked.shards_mut(), db);
                    let r = self.run_one(sess, idx, argv, false);
                    self.stamp();
                    shared.store.relock(&mut self.locked, &ids);
                    self.touched.extend_from_slice(&ids);
                    for s in self.locked.shards_mut() {
                        s.begin_tx();
                    }
                    r
                }
            };
            if let Reply::Error(e) = &reply {
                if !std::mem::take(&mut self.skip_error_count) {
                    shared.stats.count_error(e);
                }
            }
            // SUBSCRIBE and friends answer with frames of their own, as in Redis.
            match sess.frames.take() {
                Some(frames) => replies.extend(frames),
                None => replies.push(reply),
            }
        }
        let db = sess.db;
        kevy_store::end_tx_all(self.locked.shards_mut(), db);
        if self.events.dirty != dirty0 {
            self.note_wide();
        }
        self.stamp();
        self.locked.release();
        crate::cmd::unwatch_all(shared, sess);
        Reply::Array(replies)
    }

    /// Runs a fast server command (PING, SELECT, ...) while the transaction's
    /// locks stay held; fast server commands never lock the store.
    fn run_server_locked(&mut self, sess: &mut Session, idx: usize, argv: &[Bytes]) -> Reply {
        let shared = self.shared;
        let Some(cmd) = shared.commands.get(idx) else {
            return Reply::error("ERR internal error");
        };
        let Kind::Server(sv) = cmd.kind else {
            return Reply::error("ERR internal error");
        };
        let mut env = Env {
            shared,
            sess,
            held: None,
        };
        let r = guarded(|| (sv.run)(&mut env, argv));
        crate::cmd::monitor_feed(shared, sess, cmd.meta.flags, argv);
        cmd.stats.calls.fetch_add(1, Relaxed);
        r
    }

    /// True if a watched key was written (or has expired) since WATCH. The
    /// watched keys' shards must be locked.
    fn watch_broken(&mut self, sess: &Session) -> bool {
        if sess
            .watch_flag
            .as_ref()
            .is_some_and(|f| f.load(std::sync::atomic::Ordering::Acquire))
        {
            return true;
        }
        let now = now_ms();
        let n = self.shared.store.nshards();
        for (db, key, _) in &sess.watched {
            let id = kevy_store::shard_for(key, n);
            if let Some(s) = self.locked.shard_mut(id) {
                if s.dbs
                    .get(*db)
                    .and_then(|d| d.get(key))
                    .is_some_and(|e| e.is_expired(now))
                {
                    return true;
                }
            }
        }
        false
    }

    /// Serves parked clients waiting on keys that just received data, the
    /// longest-waiting first, by re-running their commands now (as Redis
    /// does right after the command that pushed). Keys are taken in the
    /// order they became ready (a transaction that pushes to two keys a
    /// client waits on serves it from the first, as Redis does), including
    /// keys that the re-runs themselves make ready. A re-run that would
    /// block again puts the client back at the head of its queues.
    pub(super) fn serve_ready(&mut self) {
        let shared = self.shared;
        let mut next = 0;
        while let Some((db, key)) = self.events.ready_keys.get(next).cloned() {
            next += 1;
            if shared.blocking.len() == 0 || next > 100_000 {
                break;
            }
            while let Some(w) = shared.blocking.claim_first(db, &key) {
                let Some((idx, cmd)) = shared.commands.lookup(&w.argv[0]) else {
                    continue;
                };
                let Kind::Store(sc) = cmd.kind else { continue };
                shared.store.shards_for(sc, &w.argv, &mut self.ids);
                self.stamp();
                shared.store.relock(&mut self.locked, &self.ids);
                let from = self.touched.len();
                self.touched.extend_from_slice(&self.ids);
                let mut ctx = Ctx::new(&mut self.locked, &mut self.events, w.db, now_ms());
                ctx.proto = w.proto;
                ctx.woken = Some(key.clone());
                ctx.stream_node = self.stream_node;
                let reply = guarded(|| kevy_store::run(&mut ctx, sc, &w.argv));
                let blocked = ctx.take_block().is_some();
                if !blocked {
                    // What it popped is a write others may read next.
                    self.note_wide();
                }
                if blocked {
                    shared.blocking.unclaim(w);
                    break;
                }
                // The call was counted when the command blocked: a served
                // blocked command counts once, as in Redis.
                let _ = idx;
                if let Reply::Error(e) = &reply {
                    // A blocked XREADGROUP told its stream or group is gone.
                    cmd.stats.failed.fetch_add(1, Relaxed);
                    shared.stats.count_error(e);
                }
                let mut buf = Vec::new();
                encode(&reply, w.proto, &mut buf);
                self.unblocks.push(HeldUnblock {
                    worker: w.worker,
                    id: w.id,
                    reply: buf,
                    from,
                    to: self.touched.len(),
                    at: Vec::new(),
                    waiter: self.waits.on.then_some(w),
                });
            }
        }
        self.events.ready_keys.clear();
    }
}
