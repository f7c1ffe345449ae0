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
    marks: Vec<(u64, Option<GenFile>)>,
    /// Bytes in the current generation, including buffered ones.
    gen_bytes: u64,
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
    /// Held while an fsync runs: one syncer per file at a time.
    syncing: Mutex<()>,
    written: AtomicU64,
    synced: AtomicU64,
    dirty: AtomicU64,
    /// Bytes are buffered that a write failed to store.
    write_failed: AtomicBool,
    /// fsync failures so far, and how many of them a completed checkpoint
    /// made harmless.
    fsync_fails: AtomicU64,
    covered: AtomicU64,
    last_failure: Mutex<Option<IoFailure>>,
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
                marks: Vec::new(),
                gen_bytes: 0,
            }),
            writer: Mutex::new(Writer {
                file: None,
                syncer: None,
                size: 0,
                torn: false,
            }),
            syncing: Mutex::new(()),
            written: AtomicU64::new(0),
            synced: AtomicU64::new(0),
            dirty: AtomicU64::new(0),
            write_failed: AtomicBool::new(false),
            fsync_fails: AtomicU64::new(0),
            covered: AtomicU64::new(0),
            last_failure: Mutex::new(None),
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
    }

    /// Switches later appends to `next` (or stops logging with `None`).
    /// Call it under the shard lock, in the same critical section as the
    /// freeze it pairs with; no syscall happens here: the switch is applied
    /// by the next [`AofShard::sync_to`].
    pub fn rotate(&self, next: Option<GenFile>) {
        let mut p = self.pending.lock();
        let end = p.start + p.data.len() as u64;
        p.enabled = next.is_some();
        p.cur_db = None;
        p.gen_bytes = if next.is_some() {
            AOF_MAGIC.len() as u64
        } else {
            0
        };
        p.marks.push((end, next));
    }

    /// The logical end: every effect appended so far is before it.
    pub fn end(&self) -> u64 {
        let p = self.pending.lock();
        p.start + p.data.len() as u64
    }

    /// Position up to which everything is fsynced.
    pub fn synced(&self) -> u64 {
        self.synced.load(Ordering::Acquire)
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

    /// True while the log may lack acknowledged effects: a write failed and
    /// its bytes are still buffered, or an fsync failed and no checkpoint
    /// has covered it yet.
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

    fn note(&self, e: &PersistError) {
        if let Some(f) = IoFailure::of(e) {
            *self.last_failure.lock() = Some(f);
        }
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
    pub fn sync_to(&self, target: u64, fsync: bool) -> Result<()> {
        if self.done(target, fsync) {
            return Ok(());
        }
        let (handle, end) = {
            let mut w = self.writer.lock();
            if self.written.load(Ordering::Acquire) < target {
                if let Err(e) = self.write_pending(&mut w) {
                    self.note(&e);
                    self.write_failed.store(true, Ordering::Release);
                    return Err(e);
                }
                self.write_failed.store(false, Ordering::Release);
            }
            if !fsync {
                return Ok(());
            }
            if self.needs_cover() {
                if let Some(f) = self.last_failure() {
                    return Err(f.to_error());
                }
            }
            (w.syncer.clone(), self.written.load(Ordering::Acquire))
        };
        let _one_syncer = self.syncing.lock();
        if self.synced.load(Ordering::Acquire) >= target {
            return Ok(());
        }
        if let Some((h, path)) = handle {
            if let Err(e) = h.sync() {
                let e = PersistError::io(path, "fsync", e);
                self.note(&e);
                self.fsync_fails.fetch_add(1, Ordering::AcqRel);
                return Err(e);
            }
        }
        self.synced.fetch_max(end, Ordering::AcqRel);
        Ok(())
    }

    /// Writes the whole buffer, applying generation switches in order. On
    /// a write error the unwritten bytes and switches go back to the front
    /// of the buffer, so a retry continues exactly where this one stopped.
    fn write_pending(&self, w: &mut Writer) -> Result<()> {
        let (mut data, start, marks) = {
            let mut p = self.pending.lock();
            let data = std::mem::take(&mut p.data);
            let start = p.start;
            p.start += data.len() as u64;
            (data, start, std::mem::take(&mut p.marks))
        };
        let mut marks: VecDeque<_> = marks.into();
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
                    let e = PersistError::io(&f.path, "fsync", e);
                    self.note(&e);
                    self.fsync_fails.fetch_add(1, Ordering::AcqRel);
                }
            }
            w.syncer = match &next {
                Some(g) => match g.file.syncer() {
                    Ok(h) => Some((h, g.path.clone())),
                    Err(e) => {
                        // No handle: this generation cannot be fsynced, so
                        // it must be covered by a checkpoint like a failed fsync.
                        let e = PersistError::io(&g.path, "dup", e);
                        self.note(&e);
                        self.fsync_fails.fetch_add(1, Ordering::AcqRel);
                        None
                    }
                },
                None => None,
            };
            w.file = next;
            w.size = AOF_MAGIC.len() as u64;
            w.torn = false;
        }
        if res.is_ok() {
            res = write_group(w, &data[off..]);
            if res.is_ok() {
                off = data.len();
            }
        }
        self.written.store(start + off as u64, Ordering::Release);
        if res.is_err() {
            let mut p = self.pending.lock();
            data.drain(..off);
            data.extend_from_slice(&p.data);
            p.data = data;
            p.start = start + off as u64;
            marks.extend(p.marks.drain(..));
            p.marks = marks.into();
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
}
