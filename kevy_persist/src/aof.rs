//! The per-shard AOF writer. Appends happen under the shard lock and only
//! copy bytes into an in-memory buffer (no syscall); [`AofShard::sync_to`]
//! later writes the buffer out and, when asked, fsyncs, outside every shard
//! lock. One syncer per file at a time: the others wait on the writer lock
//! and, once they get it, usually find their position already durable —
//! that is the group commit. Positions are logical (bytes ever appended to
//! this shard's log across generations), so they stay monotonic through a
//! rotation to a new file.
//!
//! Failures: bytes a write could not store stay buffered, in order, and the
//! next sync retries them (so the file never gets a gap); an fsync failure
//! cannot be retried safely (the kernel may have dropped the dirty pages and
//! a second fsync would report success), so the shard counts as failed until
//! a checkpoint that froze the state after the failure has completed.

use crate::error::{PersistError, Result};
use crate::frame::{encode, encode_crc, AOF_MAGIC};
use crate::io::{FileSync, WFile};
use kevy_store::ShardLog;
use parking_lot::Mutex;
use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

/// An AOF generation file, created (with its magic written) before it is
/// switched to.
pub struct GenFile {
    /// The open file.
    pub file: Box<dyn WFile>,
    /// Its path, for error messages.
    pub path: PathBuf,
}

struct Pending {
    enabled: bool,
    data: Vec<u8>,
    /// Logical position of `data[0]`.
    start: u64,
    /// The db the current generation last selected.
    cur_db: Option<usize>,
    /// Switches to a new generation (or to none) at a logical position.
    marks: VecDeque<(u64, Option<GenFile>)>,
    /// Bytes in the current generation, including buffered ones.
    gen_bytes: u64,
    /// A `MULTI` bracket is open at the end of `data` (its holder still
    /// has the shard locked).
    open: bool,
    /// Logical end of the last cross-shard `EXEC <txid> <parts>` record.
    xgroup: u64,
}

impl Pending {
    fn end(&self) -> u64 {
        self.start + self.data.len() as u64
    }
}

struct Writer {
    file: Option<GenFile>,
    /// fsync handle of `file` (used outside the writer lock).
    syncer: Option<(Arc<dyn FileSync>, PathBuf)>,
    /// Bytes actually in the current file.
    size: u64,
    /// A failed write could not be cut back: cut the file to `size` before
    /// the next write.
    torn: bool,
    /// The last fsynced point in `file`: (logical position, file size).
    synced_at: Option<(u64, u64)>,
}

/// The last I/O failure, for INFO, the log and the MISCONF error.
#[derive(Clone, Debug)]
pub struct IoFailure {
    /// The file.
    pub path: PathBuf,
    /// `"write"` or `"fsync"`.
    pub op: &'static str,
    /// The OS error number, when there was one.
    pub errno: Option<i32>,
    /// The error as the OS describes it (`strerror`: "No space left on device").
    pub reason: String,
}

impl IoFailure {
    fn of(e: &PersistError) -> Option<IoFailure> {
        match e {
            PersistError::Io { path, op, source } => Some(IoFailure {
                path: path.clone(),
                op,
                errno: source.raw_os_error(),
                reason: strerror(source),
            }),
            _ => None,
        }
    }

    fn to_error(&self) -> PersistError {
        let source = match self.errno {
            Some(n) => std::io::Error::from_raw_os_error(n),
            None => std::io::Error::other(self.reason.clone()),
        };
        PersistError::io(&self.path, self.op, source)
    }
}

/// An io::Error's text without Rust's " (os error N)" suffix, as C's
/// `strerror` prints it (Redis puts that text in its MISCONF error).
pub fn strerror(e: &std::io::Error) -> String {
    let s = e.to_string();
    match s.rfind(" (os error ") {
        Some(i) if e.raw_os_error().is_some() => s[..i].to_string(),
        _ => s,
    }
}

/// One shard's AOF: the append buffer, the file, and its positions.
pub struct AofShard {
    pending: Mutex<Pending>,
    writer: Mutex<Writer>,
    /// Held while an fsync runs (under `appendfsync always`, a whole
    /// commit): one syncer per file at a time.
    pub(crate) syncing: Mutex<()>,
    /// Logical end of the last record that left no `MULTI` bracket open:
    /// what [`AofShard::end`] reports (a bracket is always closed by the
    /// time its holder releases the shard lock).
    clean: AtomicU64,
    written: AtomicU64,
    synced: AtomicU64,
    dirty: AtomicU64,
    /// A write failed: under `everysec`/`no` its bytes are still buffered;
    /// under `always` the shard refuses writes until a probe succeeds.
    write_failed: AtomicBool,
    /// fsync failures so far, and how many of them a completed checkpoint
    /// made harmless.
    fsync_fails: AtomicU64,
    covered: AtomicU64,
    last_failure: Mutex<Option<IoFailure>>,
    /// What `appendfsync always` needs to undo writes (see `commit.rs`).
    pub(crate) dur: crate::undo::DurState,
}

impl Default for AofShard {
    fn default() -> Self {
        AofShard::new()
    }
}

impl AofShard {
    /// A log with no file (appends are only counted) until [`AofShard::rotate`].
    pub fn new() -> AofShard {
        AofShard {
            pending: Mutex::new(Pending {
                enabled: false,
                data: Vec::new(),
                start: 0,
                cur_db: None,
                marks: VecDeque::new(),
                gen_bytes: 0,
                open: false,
                xgroup: 0,
            }),
            writer: Mutex::new(Writer {
                file: None,
                syncer: None,
                size: 0,
                torn: false,
                synced_at: None,
            }),
            syncing: Mutex::new(()),
            clean: AtomicU64::new(0),
            written: AtomicU64::new(0),
            synced: AtomicU64::new(0),
            dirty: AtomicU64::new(0),
            write_failed: AtomicBool::new(false),
            fsync_fails: AtomicU64::new(0),
            covered: AtomicU64::new(0),
            last_failure: Mutex::new(None),
            dur: Default::default(),
        }
    }

    /// Records one effect (called under the shard lock).
    pub fn append(&self, db: usize, argv: &[&[u8]]) {
        self.dirty.fetch_add(1, Ordering::Relaxed);
        let mut p = self.pending.lock();
        if !p.enabled {
            return;
        }
        let before = p.data.len();
        if p.cur_db != Some(db) {
            let n = db.to_string();
            encode(&[b"SELECT", n.as_bytes()], &mut p.data);
            p.cur_db = Some(db);
        }
        encode(argv, &mut p.data);
        let added = (p.data.len() - before) as u64;
        p.gen_bytes += added;
        match argv.first() {
            Some(&b"MULTI") if argv.len() == 1 => p.open = true,
            Some(&b"EXEC") => {
                p.open = false;
                if argv.len() == 3 {
                    p.xgroup = p.end();
                }
            }
            _ => {}
        }
        if !p.open {
            self.clean.store(p.end(), Ordering::Release);
        }
    }

    /// Appends a record that changes nothing (`SELECT` of the current db):
    /// what a probe writes to learn whether the disk takes writes again.
    pub(crate) fn append_noop(&self) {
        let mut p = self.pending.lock();
        if !p.enabled {
            return;
        }
        let before = p.data.len();
        let db = p.cur_db.unwrap_or(0);
        let n = db.to_string();
        encode(&[b"SELECT", n.as_bytes()], &mut p.data);
        p.cur_db = Some(db);
        p.gen_bytes += (p.data.len() - before) as u64;
        if !p.open {
            self.clean.store(p.end(), Ordering::Release);
        }
    }

    /// Switches later appends to `next` (or stops logging with `None`).
    /// Call it under the shard lock, in the same critical section as the
    /// freeze it pairs with; no syscall happens here: the switch is applied
    /// by the next [`AofShard::sync_to`].
    pub fn rotate(&self, next: Option<GenFile>) {
        let mut p = self.pending.lock();
        let end = p.end();
        p.enabled = next.is_some();
        p.cur_db = None;
        p.gen_bytes = if next.is_some() {
            AOF_MAGIC.len() as u64
        } else {
            0
        };
        p.marks.push_back((end, next));
    }

    /// The logical end: every effect appended so far by a holder that
    /// released the shard lock is before it.
    pub fn end(&self) -> u64 {
        self.clean.load(Ordering::Acquire)
    }

    /// Logical end of the last cross-shard group record.
    pub(crate) fn xgroup(&self) -> u64 {
        self.pending.lock().xgroup
    }

    /// Position up to which everything is fsynced.
    pub fn synced(&self) -> u64 {
        self.synced.load(Ordering::Acquire)
    }

    /// Bytes appended but not yet written to the file.
    pub fn buffered(&self) -> u64 {
        self.pending.lock().data.len() as u64
    }

    /// Bytes in the current generation file (written or buffered).
    pub fn gen_bytes(&self) -> u64 {
        self.pending.lock().gen_bytes
    }

    /// True while a generation file is being appended to.
    pub fn enabled(&self) -> bool {
        self.pending.lock().enabled
    }

    /// Effects recorded so far (Redis's `dirty`).
    pub fn dirty(&self) -> u64 {
        self.dirty.load(Ordering::Relaxed)
    }

    /// Subtracts `n` from the change counter (after a snapshot covered them).
    pub fn sub_dirty(&self, n: u64) {
        let _ = self
            .dirty
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |d| {
                Some(d.saturating_sub(n))
            });
    }

    /// True while the log may lack acknowledged effects or refuses writes:
    /// a write failed (its bytes are still buffered, or under `always` the
    /// writes it carried were undone and no probe has succeeded since), or
    /// an fsync failed and no checkpoint has covered it yet.
    pub fn failed(&self) -> bool {
        self.write_failed.load(Ordering::Acquire) || self.needs_cover()
    }

    /// True when only a checkpoint can clear the failure (an fsync failed).
    pub fn needs_checkpoint(&self) -> bool {
        self.needs_cover()
    }

    fn needs_cover(&self) -> bool {
        self.fsync_fails.load(Ordering::Acquire) > self.covered.load(Ordering::Acquire)
    }

    pub(crate) fn set_write_failed(&self, on: bool) {
        self.write_failed.store(on, Ordering::Release);
    }

    pub(crate) fn write_failed(&self) -> bool {
        self.write_failed.load(Ordering::Acquire)
    }

    /// The last write or fsync failure (kept after recovery, for INFO).
    pub fn last_failure(&self) -> Option<IoFailure> {
        self.last_failure.lock().clone()
    }

    /// fsync failures so far (a checkpoint records it when it freezes).
    pub fn fsync_failures(&self) -> u64 {
        self.fsync_fails.load(Ordering::Acquire)
    }

    /// A checkpoint that froze this shard when `fails` fsync failures had
    /// happened and the log ended at `end` is durable: everything before
    /// `end` is in its snapshot, so those failures no longer matter.
    pub fn cover(&self, fails: u64, end: u64) {
        self.covered.fetch_max(fails, Ordering::AcqRel);
        self.synced.fetch_max(end, Ordering::AcqRel);
    }

    pub(crate) fn note(&self, e: &PersistError) {
        if let Some(f) = IoFailure::of(e) {
            *self.last_failure.lock() = Some(f);
        }
    }

    /// The file can no longer be trusted (it holds undone bytes): only a
    /// checkpoint clears the failure.
    pub(crate) fn mark_broken(&self, e: &PersistError) {
        self.fsync_failed(e);
    }

    pub(crate) fn written(&self) -> u64 {
        self.written.load(Ordering::Acquire)
    }

    pub(crate) fn set_synced(&self, pos: u64) {
        self.synced.fetch_max(pos, Ordering::AcqRel);
    }

    fn fsync_failed(&self, e: &PersistError) {
        self.note(e);
        self.fsync_fails.fetch_add(1, Ordering::AcqRel);
    }

    /// Writes everything appended up to at least `target` to the OS and,
    /// with `fsync`, makes it durable. Concurrent callers share the work:
    /// writes happen under the writer lock, the fsync under a separate
    /// lock through a handle taken from the writer, so other threads keep
    /// writing while an fsync runs, and whoever fsyncs covers everything
    /// written before it started (group commit).
    /// On error [`AofShard::failed`] turns true: bytes that could not be
    /// written stay buffered for the next call; after an fsync error no
    /// position counts as synced until a checkpoint covers it.
    /// (Under `appendfsync always` the server commits through
    /// [`crate::Engine::commit`] instead, which can undo what fails.)
    pub fn sync_to(&self, target: u64, fsync: bool) -> Result<()> {
        if self.done(target, fsync) {
            return Ok(());
        }
        if self.written.load(Ordering::Acquire) < target {
            if let Err(e) = self.write_upto(self.end(), None) {
                self.set_write_failed(true);
                return Err(e);
            }
            self.set_write_failed(false);
        }
        if !fsync {
            return Ok(());
        }
        if self.needs_cover() {
            if let Some(f) = self.last_failure() {
                return Err(f.to_error());
            }
        }
        let _one_syncer = self.syncing.lock();
        if self.synced.load(Ordering::Acquire) >= target {
            return Ok(());
        }
        let (end, _) = self.fsync_written()?;
        self.synced.fetch_max(end, Ordering::AcqRel);
        Ok(())
    }

    /// Writes the buffer up to `upto` (a clean position) to the file; with
    /// `keep`, a copy of the bytes written is appended to it.
    pub(crate) fn write_upto(&self, upto: u64, keep: Option<&mut Vec<u8>>) -> Result<()> {
        let mut w = self.writer.lock();
        if self.written.load(Ordering::Acquire) >= upto {
            return Ok(());
        }
        let r = self.write_pending(&mut w, upto, keep);
        if let Err(e) = &r {
            self.note(e);
        }
        r
    }

    /// The db the log has selected at its end (None: the next record
    /// selects one). Read under the shard lock.
    pub(crate) fn cur_db(&self) -> Option<usize> {
        self.pending.lock().cur_db
    }

    /// fsyncs what is written so far; returns the position it covers and
    /// the file's size there. Callers hold `syncing`.
    pub(crate) fn fsync_written(&self) -> Result<(u64, u64)> {
        let (handle, end, size) = {
            let w = self.writer.lock();
            (
                w.syncer.clone(),
                self.written.load(Ordering::Acquire),
                w.size,
            )
        };
        if let Some((h, path)) = handle {
            if let Err(e) = h.sync() {
                let e = PersistError::io(path, "fsync", e);
                self.fsync_failed(&e);
                return Err(e);
            }
        }
        Ok((end, size))
    }

    /// Records that the current file is durable up to `size` bytes, which
    /// is logical position `pos` (what an undo may cut back to).
    pub(crate) fn set_synced_at(&self, pos: u64, size: u64) {
        self.writer.lock().synced_at = Some((pos, size));
    }

    /// Cuts the file back to the last fsynced point when that point is
    /// logical position `keep` (an undo: the bytes after it belong to
    /// undone writes), then fsyncs the cut. None when it cannot cut;
    /// `Some(false)` when the cut is made (a restart of the process will
    /// not see the bytes) but its fsync failed (a power loss might).
    pub(crate) fn cut_back(&self, keep: u64) -> Option<bool> {
        let mut w = self.writer.lock();
        let (pos, size) = w.synced_at?;
        if pos != keep || w.torn {
            return None;
        }
        let f = w.file.as_mut()?;
        f.file.truncate(size).ok()?;
        let synced = f.file.sync().is_ok();
        w.size = size;
        Some(synced)
    }

    /// Writes the buffer up to `upto`, applying generation switches in
    /// order. On a write error the unwritten bytes and switches go back to
    /// the front of the buffer, so a retry continues exactly where this
    /// one stopped.
    fn write_pending(&self, w: &mut Writer, upto: u64, keep: Option<&mut Vec<u8>>) -> Result<()> {
        let (mut data, start, mut marks) = {
            let mut p = self.pending.lock();
            let n = (upto.saturating_sub(p.start) as usize).min(p.data.len());
            let rest = p.data.split_off(n);
            let data = std::mem::replace(&mut p.data, rest);
            let start = p.start;
            p.start += n as u64;
            let mut marks = VecDeque::new();
            while p.marks.front().is_some_and(|m| m.0 <= start + n as u64) {
                marks.extend(p.marks.pop_front());
            }
            (data, start, marks)
        };
        let mut off = 0usize;
        let mut res = Ok(());
        while let Some(&(pos, _)) = marks.front() {
            let cut = (pos - start) as usize;
            res = write_group(w, &data[off..cut]);
            if res.is_err() {
                break;
            }
            off = cut;
            let Some((_, next)) = marks.pop_front() else {
                break;
            };
            // The old generation stays authoritative until the snapshot
            // that supersedes it is durable: finish it properly.
            if let Some(f) = w.file.as_mut() {
                if let Err(e) = f.file.sync() {
                    self.fsync_failed(&PersistError::io(&f.path, "fsync", e));
                }
            }
            w.syncer = match &next {
                Some(g) => match g.file.syncer() {
                    Ok(h) => Some((h, g.path.clone())),
                    Err(e) => {
                        // No handle: this generation cannot be fsynced, so
                        // it must be covered by a checkpoint like a failed fsync.
                        self.fsync_failed(&PersistError::io(&g.path, "dup", e));
                        None
                    }
                },
                None => None,
            };
            w.file = next;
            w.size = AOF_MAGIC.len() as u64;
            w.torn = false;
            w.synced_at = None;
        }
        if res.is_ok() {
            res = write_group(w, &data[off..]);
            if res.is_ok() {
                off = data.len();
            }
        }
        self.written.store(start + off as u64, Ordering::Release);
        if let Some(k) = keep {
            k.extend_from_slice(&data[..off]);
        }
        if res.is_err() {
            let mut p = self.pending.lock();
            data.drain(..off);
            data.extend_from_slice(&p.data);
            p.data = data;
            p.start = start + off as u64;
            while let Some(m) = marks.pop_back() {
                p.marks.push_front(m);
            }
        }
        res
    }

    fn done(&self, target: u64, fsync: bool) -> bool {
        if fsync {
            self.synced.load(Ordering::Acquire) >= target
        } else {
            self.written.load(Ordering::Acquire) >= target
        }
    }

    /// Drops every buffered byte after `keep` (a clean position) and moves
    /// the log past `end` (the end before the drop, plus one), so positions
    /// handed out before stay distinguishable from later ones. Switches
    /// that fell in the dropped range happen at the new start. Called under
    /// the shard lock by an undo. Returns the end before the drop.
    pub(crate) fn drop_after(&self, keep: u64) -> u64 {
        let mut p = self.pending.lock();
        let end = p.end();
        let keep_n = (keep.saturating_sub(p.start) as usize).min(p.data.len());
        let dropped = (p.data.len() - keep_n) as u64;
        if keep_n == 0 {
            // Nothing before `keep` is buffered: the file holds it all.
            p.data.clear();
            let next = end + 1;
            p.start = next;
            for m in p.marks.iter_mut() {
                m.0 = next;
            }
            self.written.store(next, Ordering::Release);
        } else {
            // Bytes before `keep` stay buffered (written under another
            // fsync policy); the log resumes right after them.
            p.data.truncate(keep_n);
            let gap = end + 1 - (p.start + keep_n as u64);
            p.start += gap;
            let new_end = p.start + keep_n as u64;
            for m in p.marks.iter_mut() {
                m.0 = m.0.min(new_end);
            }
        }
        p.gen_bytes = p.gen_bytes.saturating_sub(dropped);
        p.cur_db = None;
        p.open = false;
        self.clean.store(p.end(), Ordering::Release);
        end
    }
}

/// Writes one group of frames followed by its checksum frame, in one
/// vectored write. A failed write is cut back so the file never keeps half
/// a group.
fn write_group(w: &mut Writer, bytes: &[u8]) -> Result<()> {
    if bytes.is_empty() {
        return Ok(());
    }
    let size = w.size;
    let Some(f) = w.file.as_mut() else {
        return Ok(());
    };
    if w.torn {
        f.file
            .truncate(size)
            .map_err(|e| PersistError::io(&f.path, "truncate", e))?;
        w.torn = false;
    }
    let mut crc = Vec::with_capacity(32);
    encode_crc(crc32c::crc32c(bytes), &mut crc);
    match f.file.write_all(&[bytes, &crc]) {
        Ok(()) => {
            w.size += (bytes.len() + crc.len()) as u64;
            Ok(())
        }
        Err(e) => {
            w.torn = f.file.truncate(size).is_err();
            Err(PersistError::io(&f.path, "write", e))
        }
    }
}

/// The [`ShardLog`] installed in a shard: forwards to its [`AofShard`].
pub struct AofLog(pub Arc<AofShard>);

impl ShardLog for AofLog {
    fn append(&mut self, db: usize, argv: &[&[u8]]) {
        self.0.append(db, argv);
    }

    fn position(&self) -> u64 {
        self.0.end()
    }
}
