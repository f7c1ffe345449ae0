//! `redis.call` on the server: Redis's checks on a command called from a
//! script, in its order and with its texts, then the command itself:
//! data commands over the script's shard locks (taking more when they
//! are free, see the parent module), server commands with every shard
//! held.

use super::*;

/// Commands whose effects reach beyond the keys they name (other
/// databases, the whole keyspace): a partial-mode script takes every
/// shard before running them.
const BEYOND_KEYS: &[&str] = &["move", "copy", "swapdb", "flushdb", "flushall"];

/// CONTAINER subcommands Redis flags `noscript`.
fn noscript_sub(container: &str, argv: &[Bytes]) -> bool {
    let sub = argv
        .get(1)
        .map(|s| String::from_utf8_lossy(s).to_ascii_lowercase())
        .unwrap_or_default();
    match container {
        "client" | "acl" | "script" | "function" | "config" | "module" => true,
        "latency" => sub != "help",
        "cluster" => sub == "reset",
        _ => false,
    }
}

impl ScriptHost<'_, '_> {
    /// Runs a command for `redis.call`, counting a refusal or a failure
    /// in the error stats once (the script's own error reply, if it is
    /// this error passed on, is then not counted again).
    pub(super) fn call_command(&mut self, argv: &[Bytes], resp: u8) -> Result<Reply, Abort> {
        let shared = self.ex.shared;
        let reply = self.checked_call(argv, resp)?;
        if let Reply::Error(e) = &reply {
            shared.stats.count_error(e);
            self.errors.push(e.clone());
        }
        Ok(reply)
    }

    fn checked_call(&mut self, argv: &[Bytes], resp: u8) -> Result<Reply, Abort> {
        let shared = self.ex.shared;
        let Some((idx, cmd)) = shared.commands.lookup(&argv[0]) else {
            return err("ERR Unknown Redis command called from script");
        };
        let refused = |text: &'static str| {
            cmd.stats.rejected.fetch_add(1, Relaxed);
            Ok(Reply::error(text))
        };
        if !cmd.meta.arity_ok(argv.len()) {
            return refused("ERR Wrong number of args calling Redis command from script");
        }
        let flags = cmd.meta.flags;
        // Blocking commands without `noscript` (BLMPOP, BZMPOP, XREAD,
        // XREADGROUP) run, never blocking, as in Redis.
        if flags & cf::NOSCRIPT != 0
            || matches!(cmd.kind, Kind::Script(_))
            || (crate::acl::is_container(cmd.meta.name) && noscript_sub(cmd.meta.name, argv))
        {
            return refused("ERR This Redis command is not allowed from script");
        }
        if let Some(r) = crate::acl::check_script(shared, self.sess, idx, argv) {
            cmd.stats.rejected.fetch_add(1, Relaxed);
            return Ok(r);
        }
        let write = flags & cf::WRITE != 0;
        if write {
            if self.read_only {
                return refused("ERR Write commands are not allowed from read-only scripts.");
            }
            if let Some(msg) = shared.persist.write_denied() {
                cmd.stats.rejected.fetch_add(1, Relaxed);
                return Ok(Reply::error(msg));
            }
        }
        if self.oom && flags & cf::DENYOOM != 0 && !self.flags.contains(ScriptFlags::ALLOW_OOM) {
            return refused("OOM command not allowed when used memory > 'maxmemory'.");
        }
        if write {
            self.wrote = true;
            if let Some((w, _)) = &self.flags_shared {
                w.store(true, Relaxed);
            }
        }
        let t0 = Instant::now();
        let reply = match cmd.kind {
            Kind::Store(sc) => self.run_store(sc, argv, resp)?,
            Kind::Server(sv) => self.run_server(sv, argv)?,
            Kind::Script(_) => return refused("ERR This Redis command is not allowed from script"),
        };
        let micros = t0.elapsed().as_micros() as u64;
        cmd.stats.calls.fetch_add(1, Relaxed);
        cmd.stats.usec.fetch_add(micros, Relaxed);
        if reply.is_error() {
            cmd.stats.failed.fetch_add(1, Relaxed);
        }
        crate::cmd::monitor_feed_lua(shared, self.db, flags, argv);
        self.ex.observe_script_call(cmd.meta.flags, argv, micros);
        Ok(reply)
    }

    /// Takes the shards `ids` that are not held yet, without waiting; a
    /// busy one stops the run for a restart holding every shard.
    fn acquire(&mut self, ids: &[usize]) -> Result<(), Abort> {
        let store = &self.ex.shared.store;
        for &id in ids {
            if self.ex.locked.holds(id) {
                continue;
            }
            if !store.try_lock_into(&mut self.ex.locked, id) {
                self.restart = true;
                return Err(Abort(Reply::error("ERR script restarted")));
            }
            if let Some(s) = self.ex.locked.shard_mut(id) {
                s.begin_capture();
            }
        }
        if self.ex.locked.len() == store.nshards() {
            // Everything is held now: nothing later can force a restart,
            // but what ran so far may still be undone only if a restart
            // happens, which it cannot any more.
            self.mode = Mode::Full;
        }
        Ok(())
    }

    fn take_all(&mut self) -> Result<(), Abort> {
        let all: Vec<usize> = (0..self.ex.shared.store.nshards()).collect();
        self.acquire(&all)
    }

    fn run_store(
        &mut self,
        sc: &'static kevy_store::StoreCommand,
        argv: &[Bytes],
        resp: u8,
    ) -> Result<Reply, Abort> {
        let shared = self.ex.shared;
        if self.mode == Mode::Partial {
            if BEYOND_KEYS.contains(&sc.meta.name) {
                self.take_all()?;
            } else {
                let mut ids = Vec::new();
                shared.store.shards_for(sc, argv, &mut ids);
                self.acquire(&ids)?;
            }
        }
        if self.mode == Mode::Partial && sc.meta.is_write() {
            let n = shared.store.nshards();
            let (db, undo, locked) = (self.db, &mut self.undo, &mut self.ex.locked);
            sc.meta.for_each_key(argv, |i| {
                let key = &argv[i];
                undo.save(locked, kevy_store::shard_for(key, n), db, key);
            });
        }
        let ex = &mut *self.ex;
        let mut ctx = Ctx::new(&mut ex.locked, &mut ex.events, self.db, self.now);
        ctx.proto = if resp == 3 {
            kevy_resp::Protocol::Resp3
        } else {
            kevy_resp::Protocol::Resp2
        };
        ctx.may_block = false;
        ctx.in_script = true;
        ctx.notify_mask = ex.notify_mask;
        ctx.track_keys = shared.tracking.active();
        ctx.lfu = ex.lfu;
        ctx.stream_node = ex.stream_node;
        let r = guarded(|| kevy_store::run(&mut ctx, sc, argv));
        if shared.tracking.active() {
            ex.track(self.sess, sc, argv);
        }
        Ok(r)
    }

    fn run_server(
        &mut self,
        sv: &'static crate::cmd::ServerCommand,
        argv: &[Bytes],
    ) -> Result<Reply, Abort> {
        if sv.meta.name == "select" {
            return Ok(self.select(&argv[1]));
        }
        if self.mode == Mode::Partial {
            self.take_all()?;
        }
        let shared = self.ex.shared;
        let caller_db = self.sess.db;
        self.sess.db = self.db;
        let reply = {
            let mut env = Env {
                shared,
                sess: self.sess,
                held: Some(&mut self.ex.locked),
            };
            guarded(|| (sv.run)(&mut env, argv))
        };
        self.sess.db = caller_db;
        Ok(reply)
    }

    /// SELECT inside a script: changes the script's database only.
    fn select(&mut self, arg: &[u8]) -> Reply {
        let Some(n) = kevy_store::parse_i64(arg) else {
            return Reply::error("ERR value is not an integer or out of range");
        };
        if n < 0 || n as usize >= self.ex.shared.store.ndbs() {
            return Reply::error("ERR DB index is out of range");
        }
        self.db = n as usize;
        Reply::ok()
    }
}

fn err(text: &'static str) -> Result<Reply, Abort> {
    Ok(Reply::error(text))
}
