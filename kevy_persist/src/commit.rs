//! Commits under `appendfsync always`, which can undo what the disk did not
//! take. Each shard keeps an image of its databases as of its last durable
//! log position (O(1) to take: the maps are persistent). A commit freezes
//! the shard (image + log end, under its lock), writes the log up to that
//! end and fsyncs it, then makes the new image the durable one. When the
//! write or the fsync fails, the shard goes back to its durable image: the
//! writes after it are undone in memory, their log bytes are dropped, and
//! the log range they held becomes a *void*: a reply waiting for a position
//! in a void learns its writes were undone ([`Fate::Undone`]). From then on
//! the shard refuses writes (under its lock, so no write slips in after the
//! undo) until a probe write and fsync succeed, or, when the file itself
//! can no longer be trusted (an fsync failed, or it holds bytes of undone
//! writes), until a checkpoint has rewritten the state from memory.
//!
//! A cross-shard group (`EXEC <txid> <parts>`) is durable only when every
//! part is: while one is not yet synced, commits freeze and write every
//! shard together, and a failure anywhere undoes all of them.

use crate::aof::{strerror, AofShard};
use crate::engine::Engine;
use crate::error::{PersistError, Result};
use kevy_store::{Shard, ShardImage, Store};
use parking_lot::Mutex;
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

/// Undone ranges a shard remembers: a reply waits for its position for
/// one event-loop iteration, and each undo needs a failed disk write.
const VOIDS_KEPT: usize = 256;

/// Per shard: the durable image and the undone ranges.
#[derive(Default)]
pub(crate) struct DurState {
    inner: Mutex<DurInner>,
    /// Highest position a void covers: `fate` of a later one skips the lock.
    void_to: AtomicU64,
    /// While the shard refuses writes: positions from here on hold no
    /// write a reply could depend on (0: not refusing).
    refuse_from: AtomicU64,
    /// The store's shard has a refusal set (cleared by `Engine::tend`).
    refused: AtomicBool,
    /// Keys written since the durable image, with where their last write
    /// ends: what a read of one of them must wait for.
    keys: Mutex<KeyPositions>,
}

#[derive(Default)]
struct KeyPositions {
    last: HashMap<Box<[u8]>, u64>,
    /// (position, key) in write order, to forget what became durable.
    order: VecDeque<(u64, Box<[u8]>)>,
    /// A write that changed keys without naming them (FLUSHDB, SWAPDB):
    /// every read of the shard waits for it.
    wide: u64,
}

impl KeyPositions {
    /// Forgets writes at or before `durable`.
    fn prune(&mut self, durable: u64) {
        while self.order.front().is_some_and(|o| o.0 <= durable) {
            if let Some((p, k)) = self.order.pop_front() {
                if self.last.get(&k) == Some(&p) {
                    self.last.remove(&k);
                }
            }
        }
        if self.wide <= durable {
            self.wide = 0;
        }
    }
}

#[derive(Default)]
struct DurInner {
    /// The shard's state at a log position everything before which is durable.
    image: Option<(u64, ShardImage)>,
    /// Undone ranges (start exclusive, end inclusive), oldest first.
    voids: VecDeque<(u64, u64)>,
}

/// What became of the effects a shard's log held up to a position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    /// Durable (or nothing a reply depends on is at risk).
    Durable,
    /// Undone: the disk did not take them and memory went back.
    Undone,
    /// Not yet known: a commit must run.
    Pending,
}

/// The MISCONF error writes get while the AOF cannot take them (Redis's text).
pub fn misconf_aof(reason: &str) -> String {
    format!("MISCONF Errors writing to the AOF file: {reason}")
}

pub(crate) fn reason_of(e: &PersistError) -> String {
    match e {
        PersistError::Io { source, .. } => strerror(source),
        other => other.to_string(),
    }
}

impl AofShard {
    /// What became of everything appended up to `pos` (a value of
    /// [`AofShard::end`] read under the shard lock).
    pub fn fate(&self, pos: u64) -> Fate {
        if pos <= self.dur.void_to.load(Ordering::Acquire) {
            let inner = self.dur.inner.lock();
            if inner.voids.iter().any(|&(a, b)| a < pos && pos <= b) {
                return Fate::Undone;
            }
        }
        if pos <= self.synced() {
            return Fate::Durable;
        }
        let r = self.dur.refuse_from.load(Ordering::Acquire);
        if r != 0 && pos >= r {
            // Refusing: what was appended since are expirations and
            // evictions, which no reply depends on being durable.
            return Fate::Durable;
        }
        Fate::Pending
    }

    /// Notes that a write to `key` ends at log position `pos` (called under
    /// the shard lock, `appendfsync always`).
    pub fn note_key(&self, key: &[u8], pos: u64) {
        if pos <= self.synced() {
            return;
        }
        let mut k = self.dur.keys.lock();
        let key: Box<[u8]> = key.into();
        k.last.insert(key.clone(), pos);
        k.order.push_back((pos, key));
    }

    /// Notes a write ending at `pos` that changed keys it does not name.
    pub fn note_wide(&self, pos: u64) {
        let mut k = self.dur.keys.lock();
        k.wide = k.wide.max(pos);
    }

    /// The log position a read of `key` depends on (0: nothing pending):
    /// the end of the last write to it that may not be durable yet.
    pub fn key_position(&self, key: &[u8]) -> u64 {
        let k = self.dur.keys.lock();
        k.last.get(key).copied().unwrap_or(0).max(k.wide)
    }

    /// True while the shard refuses writes after an undo.
    pub fn refusing(&self) -> bool {
        self.dur.refuse_from.load(Ordering::Acquire) != 0
    }

    fn promote(&self, end: u64, img: ShardImage, size: u64) {
        self.set_synced_at(end, size);
        self.dur.keys.lock().prune(end);
        let mut inner = self.dur.inner.lock();
        if inner.image.as_ref().is_none_or(|(p, _)| *p <= end) {
            inner.image = Some((end, img));
        }
        self.set_synced(end);
    }

    /// Takes the current state as the durable image (the log up to `end`
    /// counts as durable or acknowledged under another policy).
    fn prime(&self, shard: &Shard) {
        let end = self.end();
        self.dur.inner.lock().image = Some((end, shard.image()));
    }

    /// Undoes everything after the durable image (called under the shard
    /// lock and `syncing`): memory goes back, buffered bytes are dropped,
    /// the range becomes a void, and the shard refuses writes.
    fn undo(&self, shard: &mut Shard, err: &PersistError) {
        let mut inner = self.dur.inner.lock();
        let keep = inner.image.as_ref().map_or(self.synced(), |(p, _)| *p);
        if let Some((_, img)) = &inner.image {
            shard.restore(img);
        }
        let written = self.written();
        let end = self.drop_after(keep);
        // Every noted write is durable (before `keep`) or undone.
        *self.dur.keys.lock() = KeyPositions::default();
        let next = self.end();
        if end > keep {
            inner.voids.push_back((keep, end));
            while inner.voids.len() > VOIDS_KEPT {
                inner.voids.pop_front();
            }
            self.dur.void_to.fetch_max(end, Ordering::AcqRel);
        }
        if let Some((p, _)) = inner.image.as_mut() {
            *p = next;
        }
        drop(inner);
        self.note(err);
        let fsync_failed = matches!(err, PersistError::Io { op: "fsync", .. });
        if written > keep {
            // The file holds bytes of undone writes: cut them off, so a
            // restart cannot bring them back. A file whose fsync failed
            // is not appended to again whatever the cut did, and one that
            // cannot be cut waits for a checkpoint to replace it.
            if self.cut_back(keep) != Some(true) && !fsync_failed {
                self.mark_broken(err);
            }
        }
        self.set_synced(next);
        self.set_write_failed(true);
        self.dur.refuse_from.store(next, Ordering::Release);
        self.dur.refused.store(true, Ordering::Release);
        let msg: Arc<str> = misconf_aof(&reason_of(err)).into();
        shard.refuse_writes(Some(msg));
    }

    /// After a checkpoint that froze this shard at `end` with `view` has
    /// completed: its state up to `end` is durable (called with `syncing`).
    fn covered_by(&self, fails: u64, end: u64, view: Option<ShardImage>) {
        self.cover(fails, end);
        self.dur.keys.lock().prune(end);
        if let Some(v) = view {
            let mut inner = self.dur.inner.lock();
            if let Some((p, img)) = inner.image.as_mut() {
                if *p < end {
                    *p = end;
                    *img = v;
                }
            }
        }
    }
}

impl Engine {
    /// Makes everything appended to shard `s` so far durable (`appendfsync
    /// always`; see the module doc). On failure the writes that were not
    /// durable are undone and the error comes back; positions of them read
    /// before report [`Fate::Undone`]. A shard that refuses writes commits
    /// nothing (the probe of [`Engine::tend`] does).
    pub fn commit(&self, store: &Store, s: usize) -> Result<()> {
        let Some(sh) = self.shards.get(s) else {
            return Ok(());
        };
        let guard = sh.syncing.lock();
        if sh.refusing() {
            return Ok(());
        }
        let frozen = store.with_shard(s, |shard| {
            let e = sh.end();
            if e <= sh.synced() {
                None
            } else if sh.xgroup() > sh.synced() {
                Some(None)
            } else {
                Some(Some((e, shard.image())))
            }
        });
        let (e, img) = match frozen.flatten() {
            None => return Ok(()),
            Some(None) => {
                drop(guard);
                return self.commit_all(store);
            }
            Some(Some(x)) => x,
        };
        let t0 = self.fsync_begin();
        let r = sh.write_upto(e).and_then(|_| sh.fsync_written());
        self.note_fsync(t0);
        match r {
            Ok((_, size)) => {
                sh.promote(e, img, size);
                Ok(())
            }
            Err(err) => {
                self.reverts.fetch_add(1, Ordering::AcqRel);
                store.with_shard(s, |shard| sh.undo(shard, &err));
                Err(err)
            }
        }
    }

    /// A commit of every shard at once: while a cross-shard group is not
    /// yet durable, no shard may count its part durable alone.
    fn commit_all(&self, store: &Store) -> Result<()> {
        let _guards: Vec<_> = self.shards.iter().map(|s| s.syncing.lock()).collect();
        let mut frozen = Vec::with_capacity(self.shards.len());
        {
            let mut locked = store.lock_all();
            for (sh, shard) in self.shards.iter().zip(locked.shards_mut()) {
                let e = sh.end();
                frozen.push((!sh.refusing() && e > sh.synced()).then(|| (e, shard.image())));
            }
        }
        let t0 = self.fsync_begin();
        let mut failed = None;
        let mut sizes = vec![0; frozen.len()];
        for ((sh, f), size) in self.shards.iter().zip(&frozen).zip(sizes.iter_mut()) {
            if let Some((e, _)) = f {
                match sh.write_upto(*e).and_then(|_| sh.fsync_written()) {
                    Ok((_, s)) => *size = s,
                    Err(err) => {
                        failed = Some(err);
                        break;
                    }
                }
            }
        }
        self.note_fsync(t0);
        let Some(err) = failed else {
            for ((sh, f), size) in self.shards.iter().zip(frozen).zip(sizes) {
                if let Some((e, img)) = f {
                    sh.promote(e, img, size);
                }
            }
            return Ok(());
        };
        self.reverts.fetch_add(1, Ordering::AcqRel);
        let mut locked = store.lock_all();
        for ((sh, shard), f) in self.shards.iter().zip(locked.shards_mut()).zip(&frozen) {
            if f.is_some() {
                sh.undo(shard, &err);
            }
        }
        Err(err)
    }

    /// Under `appendfsync always`, once per cron tick: a shard that
    /// refuses writes after a failed write tries a probe (its buffered
    /// expirations, or a no-op record, written and fsynced); on success it
    /// accepts writes again. Shards that need a checkpoint wait for one.
    /// Refusals of shards no longer failed are lifted. Returns the shards
    /// that came back.
    pub fn tend(&self, store: &Store) -> Vec<usize> {
        let mut back = Vec::new();
        for (i, sh) in self.shards.iter().enumerate() {
            if sh.write_failed() && sh.refusing() && !sh.needs_checkpoint() {
                let _g = sh.syncing.lock();
                let frozen = store.with_shard(i, |shard| {
                    if sh.end() <= sh.synced() {
                        sh.append_noop();
                    }
                    (sh.end(), shard.image())
                });
                let Some((e, img)) = frozen else { continue };
                if let Ok((_, size)) = sh.write_upto(e).and_then(|_| sh.fsync_written()) {
                    sh.promote(e, img, size);
                    sh.set_write_failed(false);
                }
            }
            if !sh.failed() && sh.dur.refused.load(Ordering::Acquire) {
                store.with_shard(i, |shard| {
                    sh.dur.refuse_from.store(0, Ordering::Release);
                    sh.dur.refused.store(false, Ordering::Release);
                    shard.refuse_writes(None);
                });
                back.push(i);
            }
        }
        back
    }

    /// Starts (`on`) or stops keeping durable images: `appendfsync always`
    /// switched on or off. On: the state now is taken as the base an undo
    /// goes back to (everything before it was acknowledged already).
    pub fn keep_images(&self, store: &Store, on: bool) {
        for (i, sh) in self.shards.iter().enumerate() {
            let _g = sh.syncing.lock();
            if on {
                store.with_shard(i, |shard| sh.prime(shard));
            } else {
                sh.dur.inner.lock().image = None;
            }
        }
        self.images.store(on, Ordering::Release);
    }

    /// True while commits keep durable images (`appendfsync always`).
    pub fn images(&self) -> bool {
        self.images.load(Ordering::Acquire)
    }

    /// Marks the checkpoint's shards durable up to their freeze, under
    /// every shard's `syncing` lock; fails when an undo happened since the
    /// checkpoint froze (its snapshot may hold undone writes).
    pub(crate) fn cover_checkpoint(
        &self,
        reverts_at: u64,
        fails_at: &[(u64, u64)],
        views: &[kevy_store::SnapshotView],
        publish: impl FnOnce() -> Result<()>,
    ) -> Result<()> {
        let _guards: Vec<_> = self.shards.iter().map(|s| s.syncing.lock()).collect();
        if self.reverts.load(Ordering::Acquire) != reverts_at {
            return Err(PersistError::Aborted(
                "writes were undone after a failed AOF write while the snapshot was taken".into(),
            ));
        }
        publish()?;
        for (i, (sh, &(fails, end))) in self.shards.iter().zip(fails_at).enumerate() {
            let view = views.get(i).map(|v| ShardImage {
                maps: v.dbs.clone(),
            });
            sh.covered_by(fails, end, view);
        }
        Ok(())
    }

    fn fsync_begin(&self) -> std::time::Instant {
        self.fsync_since
            .store(crate::engine::now_ms().max(1), Ordering::Relaxed);
        std::time::Instant::now()
    }

    fn note_fsync(&self, t0: std::time::Instant) {
        let ms = t0.elapsed().as_millis() as u64;
        self.fsync_since.store(0, Ordering::Relaxed);
        self.last_fsync_ms.store(ms, Ordering::Relaxed);
        self.max_fsync_ms.fetch_max(ms, Ordering::Relaxed);
    }

    /// Commit timings, in ms: the last write + fsync, the longest so far,
    /// and how long the one running now has taken (0: none runs).
    pub fn fsync_timings(&self) -> (u64, u64, u64) {
        let since = self.fsync_since.load(Ordering::Relaxed);
        let running = if since == 0 {
            0
        } else {
            crate::engine::now_ms().saturating_sub(since)
        };
        (
            self.last_fsync_ms.load(Ordering::Relaxed),
            self.max_fsync_ms.load(Ordering::Relaxed),
            running,
        )
    }
}
