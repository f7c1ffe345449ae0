//! What `appendfsync always` keeps per shard to undo writes the disk did
//! not take. The *base* is an image of the shard's databases (O(1) to take:
//! the maps are persistent) at a log position, plus the durable log bytes
//! written since: base image + replay of those bytes = the durable state.
//! A commit refreshes the image only every `REFRESH` (or once the bytes
//! pass `TAIL_MAX`): each image makes the next write to every part of a
//! map copy that part, so one per commit would copy on every write.
//!
//! An undo puts the shard back to the durable state, drops the buffered
//! bytes after it, cuts undone bytes off the file, and marks their range
//! *void*: a reply waiting for a position in it learns its writes were
//! undone ([`Fate::Undone`]). The shard then refuses writes under its lock.

use crate::aof::{strerror, AofShard};
use crate::error::PersistError;
use crate::frame::{parse_frame, Parsed};
use bytes::Bytes;
use kevy_store::{KStr, Locked, ShardImage};
use parking_lot::Mutex;
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Undone ranges a shard remembers: a reply waits for its position for
/// one event-loop iteration, and each undo needs a failed disk write.
const VOIDS_KEPT: usize = 256;
/// How often a commit takes a new base image.
const REFRESH: Duration = Duration::from_millis(250);
/// Durable bytes kept on top of the base before a new image is taken.
const TAIL_MAX: usize = 8 << 20;

/// Per shard: the base, the undone ranges, the pending keys.
#[derive(Default)]
pub(crate) struct DurState {
    inner: Mutex<DurInner>,
    /// Highest position a void covers: `fate` of a later one skips the lock.
    void_to: AtomicU64,
    /// While the shard refuses writes: positions from here on hold no
    /// write a reply could depend on (0: not refusing).
    pub(crate) refuse_from: AtomicU64,
    /// The store's shard has a refusal set (cleared by `Engine::tend`).
    pub(crate) refused: AtomicBool,
    /// Keys written and not yet durable, with where their last write ends:
    /// what a read of one of them must wait for.
    keys: Mutex<KeyPositions>,
}

#[derive(Default)]
struct DurInner {
    base: Option<Base>,
    /// Undone ranges (start exclusive, end inclusive), oldest first.
    voids: VecDeque<(u64, u64)>,
}

struct Base {
    /// The log position `img` is at.
    pos: u64,
    img: ShardImage,
    /// The db the log had selected at `pos` (None: its next record selects one).
    db: Option<usize>,
    taken: Instant,
    /// The durable log bytes from `pos` on.
    tail: Vec<u8>,
}

impl Base {
    fn new(pos: u64, img: ShardImage, db: Option<usize>) -> Base {
        Base {
            pos,
            img,
            db,
            taken: Instant::now(),
            tail: Vec::new(),
        }
    }

    /// The position of the durable state it describes.
    fn end(&self) -> u64 {
        self.pos + self.tail.len() as u64
    }
}

#[derive(Default)]
struct KeyPositions {
    last: HashMap<KStr, u64>,
    /// (position, key) in write order, to forget what became durable.
    order: VecDeque<(u64, KStr)>,
    /// A write that changed keys without naming them (FLUSHDB, a script):
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

/// An error's text as `strerror` prints it.
pub(crate) fn reason_of(e: &PersistError) -> String {
    match e {
        PersistError::Io { source, .. } => strerror(source),
        other => other.to_string(),
    }
}

/// What a commit freezes: the log end and, when the base is due for a
/// refresh, the image there with the db selected at that point.
pub(crate) type Frozen = (u64, Option<(ShardImage, Option<usize>)>);

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

    /// True while the shard refuses writes after an undo.
    pub fn refusing(&self) -> bool {
        self.dur.refuse_from.load(Ordering::Acquire) != 0
    }

    /// Notes that a write to `key` ends at log position `pos` (called under
    /// the shard lock, `appendfsync always`).
    pub fn note_key(&self, key: &KStr, pos: u64) {
        if pos <= self.synced() {
            return;
        }
        let mut k = self.dur.keys.lock();
        k.last.insert(key.clone(), pos);
        k.order.push_back((pos, key.clone()));
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

    /// Under the shard lock, for a commit at log end `end`: the image to
    /// take, if the base is due for a new one.
    pub(crate) fn freeze(&self, shard: &kevy_store::Shard) -> Frozen {
        let due = self
            .dur
            .inner
            .lock()
            .base
            .as_ref()
            .is_none_or(|b| b.taken.elapsed() >= REFRESH || b.tail.len() >= TAIL_MAX);
        (self.end(), due.then(|| (shard.image(), self.cur_db())))
    }

    /// A commit up to `end` is durable: `written` are its bytes, `size` the
    /// file's size after them (called with `syncing`).
    pub(crate) fn promote(&self, frozen: Frozen, written: Vec<u8>, size: u64) {
        let (end, fresh) = frozen;
        self.set_synced_at(end, size);
        self.dur.keys.lock().prune(end);
        let mut inner = self.dur.inner.lock();
        match (fresh, inner.base.as_mut()) {
            (Some((img, db)), _) => inner.base = Some(Base::new(end, img, db)),
            (None, Some(b)) if b.end() + written.len() as u64 == end => {
                b.tail.extend_from_slice(&written)
            }
            // The bytes do not line up with the base (should not happen):
            // without a base an undo cannot restore, so keep none stale.
            (None, _) => inner.base = None,
        }
        drop(inner);
        self.set_synced(end);
    }

    /// Takes the current state as the base (the log up to here counts as
    /// durable or acknowledged under another policy). Under the shard lock.
    pub(crate) fn prime(&self, shard: &kevy_store::Shard) {
        self.dur.inner.lock().base = Some(Base::new(self.end(), shard.image(), self.cur_db()));
    }

    /// Stops keeping a base.
    pub(crate) fn unprime(&self) {
        self.dur.inner.lock().base = None;
    }

    /// Undoes everything after the durable state (called with `syncing`,
    /// `locked` holding shard `s` and no other: the replay of a
    /// whole-keyspace record acts on every locked shard): memory goes back, buffered bytes are
    /// dropped, undone bytes are cut off the file, the range becomes a
    /// void, and the shard refuses writes.
    pub(crate) fn undo(&self, locked: &mut Locked<'_>, s: usize, err: &PersistError) {
        let mut inner = self.dur.inner.lock();
        let keep = inner.base.as_ref().map_or(self.synced(), Base::end);
        if let Some(b) = inner.base.take() {
            if let Some(shard) = locked.shard_mut(s) {
                shard.restore(&b.img);
            }
            replay(locked, s, &b.tail, b.db);
        }
        let written = self.written();
        let end = self.drop_after(keep);
        let next = self.end();
        if end > keep {
            inner.voids.push_back((keep, end));
            while inner.voids.len() > VOIDS_KEPT {
                inner.voids.pop_front();
            }
            self.dur.void_to.fetch_max(end, Ordering::AcqRel);
        }
        if let Some(shard) = locked.shard_mut(s) {
            inner.base = Some(Base::new(next, shard.image(), None));
        }
        drop(inner);
        // Every noted write is durable (before `keep`) or undone.
        *self.dur.keys.lock() = KeyPositions::default();
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
        if let Some(shard) = locked.shard_mut(s) {
            shard.refuse_writes(Some(msg));
        }
    }

    /// After a checkpoint that froze this shard at `end` with `view` has
    /// completed: its state up to `end` is durable (called with `syncing`).
    pub(crate) fn covered_by(&self, fails: u64, end: u64, view: Option<ShardImage>) {
        self.cover(fails, end);
        self.dur.keys.lock().prune(end);
        let mut inner = self.dur.inner.lock();
        if let (Some(b), Some(v)) = (inner.base.as_ref(), view) {
            if b.end() < end {
                // The checkpoint switched the log to a new generation at
                // `end`, which selects its db before its first record.
                inner.base = Some(Base::new(end, v, None));
            }
        }
    }
}

/// Applies durable log bytes on top of a restored image, with the shard's
/// log detached (they are in the file already).
fn replay(locked: &mut Locked<'_>, s: usize, tail: &[u8], db0: Option<usize>) {
    if tail.is_empty() {
        return;
    }
    let log = locked.shard_mut(s).and_then(|sh| sh.set_log(None));
    let mut db = db0.unwrap_or(0);
    let mut pos = 0;
    while pos < tail.len() {
        let Parsed::Frame { args, len } = parse_frame(&tail[pos..]) else {
            break;
        };
        let argv: Vec<Bytes> = args
            .iter()
            .map(|r| Bytes::copy_from_slice(&tail[pos + r.start..pos + r.end]))
            .collect();
        pos += len;
        let name = argv.first().map(|a| a.to_ascii_lowercase());
        match name.as_deref() {
            Some(b"select") => {
                db = argv
                    .get(1)
                    .and_then(|a| std::str::from_utf8(a).ok())
                    .and_then(|a| a.parse().ok())
                    .unwrap_or(db);
            }
            // A bracket in the durable bytes is complete everywhere.
            Some(b"multi") | Some(b"exec") => {}
            _ => {
                let _ = kevy_store::replay_in(locked, db, &argv, 0);
            }
        }
    }
    if let Some(sh) = locked.shard_mut(s) {
        sh.set_log(log);
    }
}
