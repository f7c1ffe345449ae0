//! Commits under `appendfsync always`, which can undo what the disk did not
//! take (the per-shard state is in `undo.rs`). A commit freezes the shard
//! (log end, and every `REFRESH` an image, under its lock), writes the log
//! up to that end and fsyncs it, then moves the shard's durable state
//! there. When the write or the fsync fails, the shard goes back to its
//! durable state (see `AofShard::undo`). From then on the shard refuses
//! writes until a probe write and fsync succeed, or, when the file itself
//! can no longer be trusted (an fsync failed, or it holds bytes of undone
//! writes that could not be cut off), until a checkpoint has rewritten the
//! state from memory.
//!
//! A cross-shard group (`EXEC <txid> <parts>`) is durable only when every
//! part is: while one is not yet synced, commits freeze and write every
//! shard together, and a failure anywhere undoes all of them.

use crate::engine::Engine;
use crate::error::{PersistError, Result};
use crate::undo::Frozen;
use kevy_store::{ShardImage, Store};
use std::sync::atomic::Ordering;

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
            if sh.end() <= sh.synced() {
                None
            } else if sh.xgroup() > sh.synced() {
                Some(None)
            } else {
                Some(Some(sh.freeze(shard)))
            }
        });
        let frozen: Frozen = match frozen.flatten() {
            None => return Ok(()),
            Some(None) => {
                drop(guard);
                return self.commit_all(store);
            }
            Some(Some(f)) => f,
        };
        let t0 = self.fsync_begin();
        let mut written = Vec::new();
        let r = sh
            .write_upto(frozen.0, Some(&mut written))
            .and_then(|_| sh.fsync_written());
        self.note_fsync(t0);
        match r {
            Ok((_, size)) => {
                sh.promote(frozen, written, size);
                Ok(())
            }
            Err(err) => {
                self.reverts.fetch_add(1, Ordering::AcqRel);
                let mut locked = store.lock(&[s]);
                sh.undo(&mut locked, s, &err);
                Err(err)
            }
        }
    }

    /// A commit of every shard at once: while a cross-shard group is not
    /// yet durable, no shard may count its part durable alone.
    fn commit_all(&self, store: &Store) -> Result<()> {
        let _guards: Vec<_> = self.shards.iter().map(|s| s.syncing.lock()).collect();
        let mut frozen: Vec<Option<Frozen>> = Vec::with_capacity(self.shards.len());
        {
            let mut locked = store.lock_all();
            for (sh, shard) in self.shards.iter().zip(locked.shards_mut()) {
                let due = !sh.refusing() && sh.end() > sh.synced();
                frozen.push(due.then(|| sh.freeze(shard)));
            }
        }
        let t0 = self.fsync_begin();
        let mut failed = None;
        let mut done = Vec::with_capacity(frozen.len());
        for (sh, f) in self.shards.iter().zip(&frozen) {
            let mut written = Vec::new();
            if let Some((e, _)) = f {
                match sh
                    .write_upto(*e, Some(&mut written))
                    .and_then(|_| sh.fsync_written())
                {
                    Ok((_, size)) => done.push((written, size)),
                    Err(err) => {
                        failed = Some(err);
                        break;
                    }
                }
            } else {
                done.push((written, 0));
            }
        }
        self.note_fsync(t0);
        let Some(err) = failed else {
            for ((sh, f), (written, size)) in self.shards.iter().zip(frozen).zip(done) {
                if let Some(f) = f {
                    sh.promote(f, written, size);
                }
            }
            return Ok(());
        };
        self.reverts.fetch_add(1, Ordering::AcqRel);
        for (s, (sh, f)) in self.shards.iter().zip(&frozen).enumerate() {
            if f.is_some() {
                sh.undo(&mut store.lock(&[s]), s, &err);
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
                    sh.freeze(shard)
                });
                let Some(frozen) = frozen else { continue };
                let mut written = Vec::new();
                if let Ok((_, size)) = sh
                    .write_upto(frozen.0, Some(&mut written))
                    .and_then(|_| sh.fsync_written())
                {
                    sh.promote(frozen, written, size);
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
                sh.unprime();
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
