//! Replies that wait for the AOF. With the AOF on, a loop holds every
//! batch's replies until the end of its iteration. Under `appendfsync
//! always` each command's reply also waits until what it wrote or read is
//! durable: the executor notes, per command, the log position of every
//! shard it touched (read while the shard is still locked, so no commit can
//! fall between the command and the position), and the shard committers
//! (`persist::committer`) make positions durable off the loop. A position
//! whose commit failed was undone (kevy_persist's `Fate::Undone`): its
//! command is answered again, a read by re-running it on the state that is
//! durable, anything else with Redis's MISCONF error. A served blocked
//! client whose pop was undone goes back to waiting.

use super::Executor;
use crate::blocking::Waiter;
use crate::conn::{Conn, PendingStream};
use crate::shared::Msg;
use crate::table::Kind;
use bytes::Bytes;
use kevy_persist::Fate;
use kevy_resp::{encode, Reply};
use kevy_store::spec::flags;
use std::collections::VecDeque;
use std::ops::Range;

/// What a command whose effects were undone is answered with.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Redo {
    /// A read: run it again on the durable state.
    Rerun,
    /// EXEC: the transaction is reported aborted.
    Exec,
    /// Anything else: MISCONF.
    Refuse,
}

/// A command whose reply waits for the log.
pub(crate) struct HeldCmd {
    /// Its reply's bytes in the connection's output.
    out: Range<usize>,
    db: usize,
    argv: Vec<Bytes>,
    redo: Redo,
    /// Entries of `touched` it added (while its batch runs).
    from: usize,
    to: usize,
    /// (shard, log position) that must be durable before its reply goes.
    at: Vec<(usize, u64)>,
}

/// A parked client served by this loop's batch: its reply waits too.
pub(crate) struct HeldUnblock {
    pub(crate) worker: usize,
    pub(crate) id: u64,
    pub(crate) reply: Vec<u8>,
    /// Kept under `always`, to park it again if its pop is undone.
    pub(crate) waiter: Option<Waiter>,
    pub(crate) from: usize,
    pub(crate) to: usize,
    pub(crate) at: Vec<(usize, u64)>,
}

/// A connection whose output is held.
pub(crate) struct HeldConn {
    pub(crate) id: u64,
    cmds: Vec<HeldCmd>,
}

/// The waiting state of one executor.
#[derive(Default)]
pub(crate) struct Waits {
    /// Positions are noted for the current batch (`always`, AOF on).
    pub(crate) on: bool,
    /// Log position of each `touched` entry, read before its lock went.
    touched_at: Vec<Option<u64>>,
    /// `touched` entries before this one all have their position.
    stamp_from: usize,
    /// Commands of the current batch.
    cur: Vec<HeldCmd>,
    /// Commands of finished batches, for [`Executor::hold`].
    done: Vec<HeldCmd>,
    pub(crate) conns: Vec<HeldConn>,
    /// Commands to answer again, by connection.
    redo: Vec<(u64, Vec<HeldCmd>)>,
    /// What the running command read: (shard, position of the last write
    /// to what it read).
    read_at: Vec<(usize, u64)>,
    pub(crate) unblocks: Vec<HeldUnblock>,
}

impl Waits {
    /// True while a reply waits for a position (or must be answered again).
    pub(crate) fn any(&self) -> bool {
        !self.conns.is_empty() || !self.unblocks.is_empty() || !self.redo.is_empty()
    }
}

/// The worst fate of a set of positions; `need` collects what to commit.
fn fate_of(
    persist: &crate::persist::Persistence,
    at: &[(usize, u64)],
    need: &mut Vec<(usize, u64)>,
) -> Fate {
    let mut worst = Fate::Durable;
    for &(s, p) in at {
        match persist.fate(s, p) {
            Fate::Undone => return Fate::Undone,
            Fate::Pending => {
                need.push((s, p));
                worst = Fate::Pending;
            }
            Fate::Durable => {}
        }
    }
    worst
}

/// (shard, position) pairs of `touched[from..to]`, the highest per shard.
fn positions(touched: &[usize], at: &[Option<u64>], from: usize, to: usize) -> Vec<(usize, u64)> {
    let mut out: Vec<(usize, u64)> = Vec::new();
    let to = to.min(touched.len());
    for (i, &s) in touched.iter().enumerate().take(to).skip(from) {
        let p = at.get(i).copied().flatten().unwrap_or(u64::MAX);
        match out.iter_mut().find(|e| e.0 == s) {
            Some(e) => e.1 = e.1.max(p),
            None => out.push((s, p)),
        }
    }
    out
}

impl<'s> Executor<'s> {
    /// Notes the log position of every touched shard still locked: call it
    /// before any shard lock is released.
    pub(crate) fn stamp(&mut self) {
        let w = &mut self.waits;
        if !w.on || w.stamp_from >= self.touched.len() {
            return;
        }
        w.touched_at.resize(self.touched.len(), None);
        let mut all = true;
        for i in w.stamp_from..self.touched.len() {
            if w.touched_at[i].is_some() {
                continue;
            }
            match self.locked.positions().find(|h| h.0 == self.touched[i]) {
                Some((_, p)) => w.touched_at[i] = Some(p),
                None => all = false,
            }
        }
        if all {
            w.stamp_from = self.touched.len();
        }
    }

    /// Before a command runs: where its reply and its shards will start.
    pub(crate) fn cmd_begin(&self, out_len: usize) -> (usize, usize, usize) {
        (out_len, self.touched.len(), self.unblocks.len())
    }

    /// After a command ran (its reply is in `out`): notes what it waits for.
    pub(crate) fn cmd_end(
        &mut self,
        begin: (usize, usize, usize),
        out_len: usize,
        db: usize,
        argv: &[Bytes],
    ) {
        if !self.waits.on {
            return;
        }
        let (out0, t0, _) = begin;
        let read_at = std::mem::take(&mut self.waits.read_at);
        if self.touched.len() == t0 && read_at.is_empty() {
            return;
        }
        let redo = match argv.first().and_then(|n| self.shared.commands.lookup(n)) {
            Some((_, c)) if c.meta.name == "exec" => Redo::Exec,
            Some((_, c))
                if matches!(c.kind, Kind::Store(_))
                    && c.meta.flags & flags::READONLY != 0
                    && c.meta.flags & flags::BLOCKING == 0 =>
            {
                Redo::Rerun
            }
            _ => Redo::Refuse,
        };
        self.waits.cur.push(HeldCmd {
            out: out0..out_len,
            db,
            // Only a read is run again.
            argv: if redo == Redo::Rerun {
                argv.to_vec()
            } else {
                Vec::new()
            },
            redo,
            from: t0,
            to: self.touched.len(),
            at: read_at,
        });
    }

    /// After a store command ran, its locks still held, under `always`: a
    /// write notes the keys it changed with their log position (a later
    /// read of one waits for that write); a read notes what it depends on,
    /// the last pending write to each key it read, so a read of durable
    /// data never waits for other clients' fsyncs. True for a read (it
    /// adds no shard to `touched`).
    pub(crate) fn note_effects(
        &mut self,
        sc: &kevy_store::StoreCommand,
        argv: &[Bytes],
        before: (u64, u64),
    ) {
        if self.pinned {
            // Inside EXEC the log position moves only when the transaction
            // closes: `note_wide` then covers what it wrote.
            return;
        }
        let engine = self.shared.persist.engine();
        let locked = &self.locked;
        let end = |s: usize| locked.positions().find(|h| h.0 == s).map(|h| h.1);
        let ev = &self.events;
        let own = ev.dirty.saturating_sub(before.0) > ev.expired.saturating_sub(before.1);
        if sc.meta.flags & flags::READONLY != 0 && !own {
            let store = &self.shared.store;
            let mut at: Vec<(usize, u64)> = Vec::new();
            let mut keyless = true;
            sc.meta.for_each_key(argv, |i| {
                keyless = false;
                let s = store.shard_of(&argv[i]);
                let p = engine.shard(s).map_or(0, |sh| sh.key_position(&argv[i]));
                match at.iter_mut().find(|e| e.0 == s) {
                    Some(e) => e.1 = e.1.max(p),
                    None => at.push((s, p)),
                }
            });
            if keyless {
                // It read the whole shard (DBSIZE, SCAN, ...).
                at = locked.positions().collect();
            }
            self.waits.read_at.extend(at);
        } else {
            let mut named = false;
            for key in &ev.modified_keys {
                let s = self.shared.store.shard_of(key);
                if let (Some(p), Some(sh)) = (end(s), engine.shard(s)) {
                    sh.note_key(key, p);
                    named = true;
                }
            }
            if !ev.replaced_dbs.is_empty() || (own && !named) {
                for (s, p) in locked.positions() {
                    if let Some(sh) = engine.shard(s) {
                        sh.note_wide(p);
                    }
                }
            }
        }
    }

    /// After a transaction or a script that wrote (its locks still held,
    /// its log records closed): every read of the shards it holds waits
    /// for it.
    pub(crate) fn note_wide(&mut self) {
        if !self.waits.on {
            return;
        }
        let engine = self.shared.persist.engine();
        for (s, p) in self.locked.positions() {
            if let Some(sh) = engine.shard(s) {
                sh.note_wide(p);
            }
        }
    }

    /// End of a batch (locks still held): every command's positions are
    /// final; they wait for [`Executor::hold`].
    pub(crate) fn batch_positions(&mut self) {
        if !self.waits.on {
            return;
        }
        self.stamp();
        let w = &mut self.waits;
        for mut c in w.cur.drain(..) {
            for (s, p) in positions(&self.touched, &w.touched_at, c.from, c.to) {
                match c.at.iter_mut().find(|e| e.0 == s) {
                    Some(e) => e.1 = e.1.max(p),
                    None => c.at.push((s, p)),
                }
            }
            w.done.push(c);
        }
        for u in self.unblocks.iter_mut() {
            u.at = positions(&self.touched, &w.touched_at, u.from, u.to);
        }
        w.touched_at.clear();
        w.stamp_from = 0;
    }

    /// Client `id`'s output waits: attaches the commands of its batch.
    pub(crate) fn hold_cmds(&mut self, id: u64) {
        let cmds = std::mem::take(&mut self.waits.done);
        match self.waits.conns.iter_mut().find(|h| h.id == id) {
            Some(h) => h.cmds.extend(cmds),
            None => self.waits.conns.push(HeldConn { id, cmds }),
        }
    }

    /// Under `always`: which held connections may go, which must answer
    /// some commands again, and (asked of the committers) what must still
    /// be made durable.
    pub(crate) fn settle_waits(&mut self, ready: &mut Vec<u64>) {
        let persist = &*self.shared.persist;
        let mut need = Vec::new();
        let mut keep = Vec::new();
        for h in std::mem::take(&mut self.waits.conns) {
            let mut pending = false;
            let mut undone = Vec::new();
            for (i, c) in h.cmds.iter().enumerate() {
                match fate_of(persist, &c.at, &mut need) {
                    Fate::Durable => {}
                    Fate::Undone => undone.push(i),
                    Fate::Pending => pending = true,
                }
            }
            if pending {
                keep.push(h);
            } else if undone.is_empty() {
                ready.push(h.id);
            } else {
                let cmds: Vec<HeldCmd> = h
                    .cmds
                    .into_iter()
                    .enumerate()
                    .filter(|(i, _)| undone.contains(i))
                    .map(|(_, c)| c)
                    .collect();
                self.waits.redo.push((h.id, cmds));
            }
        }
        self.waits.conns = keep;
        let mut left = Vec::new();
        for u in std::mem::take(&mut self.waits.unblocks) {
            match fate_of(persist, &u.at, &mut need) {
                Fate::Durable => {
                    if let Some(w) = self.shared.workers.get(u.worker) {
                        w.send(Msg::Unblock {
                            id: u.id,
                            reply: u.reply,
                        });
                    }
                }
                // Its pop never happened: it waits again.
                Fate::Undone => {
                    if let Some(w) = u.waiter {
                        self.shared.blocking.unclaim(w);
                    }
                }
                Fate::Pending => left.push(u),
            }
        }
        self.waits.unblocks = left;
        if std::env::var_os("XKEVY_INLINE_COMMIT").is_some() && !need.is_empty() {
            need.sort_unstable();
            need.dedup_by_key(|n| n.0);
            for &(s, _) in &need {
                persist.commit_now(&self.shared.store, s);
            }
            return self.settle_waits(ready);
        }
        persist.request_commits(&need, self.worker);
    }

    /// Answers again the commands of `conn` whose effects were undone
    /// (the connection stays held: a re-run read waits for its own
    /// positions like any command).
    pub fn redo(&mut self, conn: &mut Conn) {
        let id = conn.sess.id;
        let Some(i) = self.waits.redo.iter().position(|r| r.0 == id) else {
            return;
        };
        let (_, cmds) = self.waits.redo.swap_remove(i);
        let misconf = self.shared.persist.misconf_text();
        let was_on = self.waits.on;
        self.waits.on = true;
        let mut edits: Vec<(Range<usize>, Vec<u8>)> = Vec::new();
        let mut reruns: Vec<Option<HeldCmd>> = Vec::new();
        for c in &cmds {
            if c.out.is_empty() {
                continue;
            }
            let mut bytes = Vec::new();
            let mut rerun = None;
            match c.redo {
                Redo::Rerun => {
                    let r = self.rerun(&mut conn.sess, c);
                    rerun = self.waits.done.pop();
                    encode(&r, conn.sess.proto, &mut bytes);
                }
                Redo::Exec => encode(
                    &Reply::error(format!(
                        "EXECABORT Transaction discarded because of: {misconf}"
                    )),
                    conn.sess.proto,
                    &mut bytes,
                ),
                Redo::Refuse => encode(&Reply::error(misconf.clone()), conn.sess.proto, &mut bytes),
            }
            edits.push((c.out.clone(), bytes));
            reruns.push(rerun);
        }
        let new_ranges = splice(&mut conn.out, &mut conn.streams, &edits);
        // Re-runs wait for their own positions, at their new place.
        for (r, range) in reruns.into_iter().zip(new_ranges) {
            if let Some(mut h) = r {
                h.out = range;
                self.waits.done.push(h);
            }
        }
        self.hold_cmds(id);
        self.waits.on = was_on;
    }

    /// Ids of connections with commands to answer again.
    pub fn redo_ids(&self) -> Vec<u64> {
        self.waits.redo.iter().map(|r| r.0).collect()
    }

    /// True while client `id`'s output waits for the log.
    pub fn waits_for(&self, id: u64) -> bool {
        self.waits.conns.iter().any(|h| h.id == id) || self.waits.redo.iter().any(|r| r.0 == id)
    }

    /// Commits, on this thread, every shard a held reply waits for (at
    /// shutdown, when no committer may answer any more).
    pub fn commit_waits_now(&mut self) {
        let persist = &*self.shared.persist;
        let mut need = Vec::new();
        for h in &self.waits.conns {
            for c in &h.cmds {
                fate_of(persist, &c.at, &mut need);
            }
        }
        for u in &self.waits.unblocks {
            fate_of(persist, &u.at, &mut need);
        }
        need.sort_unstable();
        need.dedup_by_key(|n| n.0);
        for (s, _) in need {
            persist.commit_now(&self.shared.store, s);
        }
    }

    /// Forgets what client `id` waited for (it is gone).
    pub fn forget(&mut self, id: u64) {
        self.waits.redo.retain(|r| r.0 != id);
        self.waits.conns.retain(|h| h.id != id);
    }

    /// Runs a held read again on the state as it is now (after an undo).
    fn rerun(&mut self, sess: &mut crate::conn::Session, c: &HeldCmd) -> Reply {
        let shared = self.shared;
        let Some((_, cmd)) = shared.commands.lookup(&c.argv[0]) else {
            return Reply::error("ERR internal error");
        };
        let Kind::Store(sc) = cmd.kind else {
            return Reply::error("ERR internal error");
        };
        let begin = self.cmd_begin(0);
        shared
            .store
            .shards_and_first_key(sc, &c.argv, &mut self.ids);
        shared.store.relock(&mut self.locked, &self.ids);
        self.touched.extend_from_slice(&self.ids);
        let mut ctx = kevy_store::Ctx::new(
            &mut self.locked,
            &mut self.events,
            c.db,
            crate::shared::now_ms(),
        );
        ctx.proto = sess.proto;
        ctx.may_block = false;
        ctx.stream_node = self.stream_node;
        let r = super::guarded(|| kevy_store::run(&mut ctx, sc, &c.argv));
        self.cmd_end(begin, 1, c.db, &c.argv);
        self.batch_positions();
        self.touched.clear();
        self.locked.release();
        self.events.ready_keys.clear();
        self.events.replaced_dbs.clear();
        r
    }
}

/// Replaces byte ranges of `out` (ascending, disjoint) with new bytes,
/// keeping streamed replies in place: a stream inside a replaced reply is
/// dropped with it, later ones move. Returns each edit's new range.
fn splice(
    out: &mut Vec<u8>,
    streams: &mut VecDeque<PendingStream>,
    edits: &[(Range<usize>, Vec<u8>)],
) -> Vec<Range<usize>> {
    let mut res = Vec::with_capacity(out.len());
    let mut ranges = Vec::with_capacity(edits.len());
    let mut pos = 0;
    for (r, bytes) in edits {
        res.extend_from_slice(&out[pos..r.start]);
        let start = res.len();
        res.extend_from_slice(bytes);
        ranges.push(start..res.len());
        pos = r.end;
    }
    res.extend_from_slice(&out[pos..]);
    streams.retain_mut(|s| {
        let mut delta: isize = 0;
        for (r, bytes) in edits {
            if s.at > r.start && s.at <= r.end {
                return false;
            }
            if r.end <= s.at {
                delta += bytes.len() as isize - r.len() as isize;
            }
        }
        s.at = (s.at as isize + delta) as usize;
        true
    });
    *out = res;
    ranges
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splice_replaces_ranges_and_moves_what_follows() {
        let mut out = b"+OK\r\n:1\r\n$1\r\na\r\n".to_vec();
        let mut streams = VecDeque::new();
        let edits = vec![(5..9, b"-ERR x\r\n".to_vec())];
        let r = splice(&mut out, &mut streams, &edits);
        assert_eq!(out, b"+OK\r\n-ERR x\r\n$1\r\na\r\n");
        assert_eq!(r, vec![5..13]);
    }

    #[test]
    fn positions_take_the_highest_per_shard() {
        let touched = [1, 0, 1];
        let at = [Some(5), Some(9), Some(7)];
        assert_eq!(positions(&touched, &at, 0, 3), vec![(1, 7), (0, 9)]);
        assert_eq!(positions(&touched, &[None], 0, 1), vec![(1, u64::MAX)]);
    }
}
