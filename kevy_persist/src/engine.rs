//! `Engine`: the durable state of one data directory while a server runs:
//! one [`AofShard`] per shard, the manifest, and checkpoints. A checkpoint
//! (what SAVE, BGSAVE, BGREWRITEAOF and `appendonly yes` all do) has two
//! halves: [`Engine::begin`] creates the next AOF generation files, makes
//! them part of the manifest, then, shard by shard under the shard lock,
//! freezes the shard (O(1)) and switches its AOF to the new generation;
//! [`Engine::finish`] (any thread) writes the frozen shards as snapshot
//! files and swaps the manifest to "new snapshot + new generation", then
//! deletes the superseded files. A crash anywhere leaves a manifest that
//! names a complete state (see `docs/persistence.md`).

use crate::aof::{AofLog, AofShard, GenFile, IoFailure};
use crate::error::{PersistError, Result};
use crate::frame::AOF_MAGIC;
use crate::io::Fs;
use crate::manifest::{Manifest, ShardFiles, MANIFEST_NAME};
use crate::snapshot::write_snapshot;
use kevy_store::{SnapshotView, Store};
use parking_lot::Mutex;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

/// File naming and location.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Data directory.
    pub dir: PathBuf,
    /// Snapshot base name.
    pub dbfilename: String,
    /// AOF base name.
    pub appendfilename: String,
}

/// A checkpoint between its two halves: frozen shards and where they go.
pub struct Checkpoint {
    gen: u64,
    views: Vec<SnapshotView>,
    dirty_at: Vec<u64>,
    /// Per shard: fsync failures so far and the log's end, at the freeze.
    fails_at: Vec<(u64, u64)>,
    aof: bool,
    created_ms: u64,
    /// `Engine::reverts` at the freeze.
    reverts_at: u64,
}

impl Checkpoint {
    /// Keys frozen (expired ones included).
    pub fn keys(&self) -> usize {
        self.views.iter().map(|v| v.len()).sum()
    }
}

/// The persistence state of a running server.
pub struct Engine {
    fs: Arc<dyn Fs>,
    cfg: EngineConfig,
    pub(crate) shards: Vec<Arc<AofShard>>,
    manifest: Mutex<Manifest>,
    busy: AtomicBool,
    /// Files of a manifest written for another shard count: deleted by the
    /// first checkpoint (which describes the whole state without them).
    stale: Mutex<Vec<String>>,
    /// Bytes of the files before the current generations (snapshots, older gens).
    base_bytes: AtomicU64,
    /// `aof_current_size` right after the last checkpoint (or start-up).
    last_rewrite_size: AtomicU64,
    /// Undos so far (a checkpoint that froze before one is void).
    pub(crate) reverts: AtomicU64,
    /// Commits keep durable images (`appendfsync always`).
    pub(crate) images: AtomicBool,
    /// Duration of the last commit's write + fsync, and the longest, in ms.
    pub(crate) last_fsync_ms: AtomicU64,
    pub(crate) max_fsync_ms: AtomicU64,
    /// Unix ms when the running commit's write + fsync began (0: none).
    pub(crate) fsync_since: AtomicU64,
}

pub(crate) fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

impl Engine {
    /// An engine for `nshards` shards continuing from `manifest` (the one
    /// recovery loaded; `None` for an empty directory). `loaded_bytes`: the
    /// size of the files recovery read.
    pub fn new(
        fs: Arc<dyn Fs>,
        cfg: EngineConfig,
        nshards: usize,
        manifest: Option<Manifest>,
        loaded_bytes: u64,
    ) -> Engine {
        let gen = manifest.as_ref().map_or(0, |m| m.gen);
        let mut stale = Vec::new();
        let manifest = match manifest {
            Some(m) if m.shards.len() == nshards => m,
            other => {
                stale = other.map(|m| m.files()).unwrap_or_default();
                Manifest {
                    gen,
                    shards: vec![ShardFiles::default(); nshards],
                }
            }
        };
        Engine {
            fs,
            cfg,
            shards: (0..nshards).map(|_| Arc::new(AofShard::new())).collect(),
            manifest: Mutex::new(manifest),
            busy: AtomicBool::new(false),
            stale: Mutex::new(stale),
            base_bytes: AtomicU64::new(loaded_bytes),
            last_rewrite_size: AtomicU64::new(loaded_bytes),
            reverts: AtomicU64::new(0),
            images: AtomicBool::new(false),
            last_fsync_ms: AtomicU64::new(0),
            max_fsync_ms: AtomicU64::new(0),
            fsync_since: AtomicU64::new(0),
        }
    }

    /// Installs each shard's log hook in `store`.
    pub fn install(&self, store: &Store) {
        for (i, s) in self.shards.iter().enumerate() {
            store.set_log(i, Some(Box::new(AofLog(s.clone()))));
        }
    }

    /// The per-shard logs.
    pub fn shard(&self, id: usize) -> Option<&Arc<AofShard>> {
        self.shards.get(id)
    }

    /// Number of shards.
    pub fn nshards(&self) -> usize {
        self.shards.len()
    }

    /// Starts logging to a fresh generation per shard, appended to the
    /// manifest after the files it already names (valid only when the
    /// store holds exactly the state the manifest describes, as right after
    /// recovery or a checkpoint).
    pub fn open_generations(&self, store: &Store) -> Result<()> {
        let gen = self.next_gen();
        let files = self.create_gens(gen)?;
        let mut m = self.manifest.lock().clone();
        for (i, sh) in m.shards.iter_mut().enumerate() {
            sh.aofs.push(self.gen_name(gen, i));
        }
        m.gen = m.gen.max(gen);
        if let Err(e) = m.store(&*self.fs, &self.cfg.dir) {
            self.remove_gens(files);
            return Err(e);
        }
        *self.manifest.lock() = m;
        for (i, f) in files.into_iter().enumerate() {
            let s = self.shards[i].clone();
            store.with_shard(i, move |_| s.rotate(Some(f)));
        }
        Ok(())
    }

    /// Stops AOF logging (the files stay in the manifest: they are still a
    /// valid description of the state up to now).
    pub fn close_aof(&self, store: &Store) {
        for (i, s) in self.shards.iter().enumerate() {
            store.with_shard(i, |_| s.rotate(None));
            let _ = s.sync_to(s.end(), true);
        }
    }

    fn next_gen(&self) -> u64 {
        let mut m = self.manifest.lock();
        m.gen += 1;
        m.gen
    }

    fn gen_name(&self, gen: u64, shard: usize) -> String {
        format!("{}.{gen}.{shard}", self.cfg.appendfilename)
    }

    fn snap_name(&self, gen: u64, shard: usize) -> String {
        format!("{}.{gen}.{shard}", self.cfg.dbfilename)
    }

    /// Creates generation `gen`'s file for every shard, magic written. On
    /// failure (a full disk) the files it made are removed again.
    fn create_gens(&self, gen: u64) -> Result<Vec<GenFile>> {
        let mut out: Vec<GenFile> = Vec::with_capacity(self.shards.len());
        for i in 0..self.shards.len() {
            let path = self.cfg.dir.join(self.gen_name(gen, i));
            let made = self
                .fs
                .create(&path)
                .map_err(|e| PersistError::io(&path, "create", e))
                .and_then(|mut file| {
                    file.write_all(&[AOF_MAGIC])
                        .map_err(|e| PersistError::io(&path, "write", e))
                        .map(|_| file)
                });
            match made {
                Ok(file) => out.push(GenFile { file, path }),
                Err(e) => {
                    let _ = self.fs.remove(&path);
                    self.remove_gens(out);
                    return Err(e);
                }
            }
        }
        Ok(out)
    }

    fn remove_gens(&self, files: Vec<GenFile>) {
        for f in files {
            drop(f.file);
            let _ = self.fs.remove(&f.path);
        }
    }

    /// Deletes what a crash or a failed write left in `dir`: temp files
    /// and numbered snapshot or AOF files the manifest does not name
    /// (quarantined tails are kept). Returns the names removed. Call it
    /// once, before the first checkpoint.
    pub fn collect_garbage(&self) -> Vec<String> {
        let mut keep = self.manifest.lock().files();
        keep.extend(self.stale.lock().iter().cloned());
        let ours = |name: &str| {
            let numbered = |base: &str| {
                name.strip_prefix(base)
                    .and_then(|r| r.strip_prefix('.'))
                    .map(|r| r.strip_suffix(".tmp").unwrap_or(r))
                    .is_some_and(|r| {
                        let mut it = r.split('.');
                        let ok = |p: Option<&str>| {
                            p.is_some_and(|p| {
                                !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit())
                            })
                        };
                        ok(it.next()) && ok(it.next()) && it.next().is_none()
                    })
            };
            numbered(&self.cfg.dbfilename)
                || numbered(&self.cfg.appendfilename)
                || name == format!("{MANIFEST_NAME}.tmp")
        };
        let Ok(entries) = std::fs::read_dir(&self.cfg.dir) else {
            return Vec::new();
        };
        let mut gone = Vec::new();
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if ours(&name) && !keep.contains(&name) && self.fs.remove(&e.path()).is_ok() {
                gone.push(name);
            }
        }
        gone.sort();
        gone
    }

    /// True while a checkpoint is between `begin` and `finish`.
    pub fn busy(&self) -> bool {
        self.busy.load(Ordering::Acquire)
    }

    /// First half of a checkpoint (cheap: file creations, one manifest
    /// write, and an O(1) freeze per shard). With `aof`, each shard's log
    /// moves to a new generation in the same critical section as its
    /// freeze; `publish` first adds those generations to the manifest
    /// (so writes acknowledged from now on are recoverable even if the
    /// checkpoint never finishes) — pass false when the AOF is being
    /// turned on and the manifest does not yet describe the live state.
    pub fn begin(&self, store: &Store, aof: bool, publish: bool) -> Result<Checkpoint> {
        if self.busy.swap(true, Ordering::AcqRel) {
            return Err(PersistError::Busy);
        }
        let r = self.begin_inner(store, aof, publish);
        if r.is_err() {
            self.busy.store(false, Ordering::Release);
        }
        r
    }

    fn begin_inner(&self, store: &Store, aof: bool, publish: bool) -> Result<Checkpoint> {
        let gen = self.next_gen();
        let mut files: Vec<Option<GenFile>> = Vec::new();
        if aof {
            let made = self.create_gens(gen)?;
            if publish {
                let mut m = self.manifest.lock().clone();
                for (i, sh) in m.shards.iter_mut().enumerate() {
                    sh.aofs.push(self.gen_name(gen, i));
                }
                if let Err(e) = m.store(&*self.fs, &self.cfg.dir) {
                    self.remove_gens(made);
                    return Err(e);
                }
                *self.manifest.lock() = m;
            }
            files = made.into_iter().map(Some).collect();
        }
        let n = self.shards.len();
        let reverts_at = self.reverts.load(Ordering::Acquire);
        let mut views = Vec::with_capacity(n);
        let mut dirty_at = Vec::with_capacity(n);
        let mut fails_at = Vec::with_capacity(n);
        // Every shard is frozen (and its log rotated) under one hold of all
        // the shard locks: a cross-shard transaction is then entirely before
        // the cut (in the snapshots) or entirely after it (in the new log
        // generation), never split, which recovery's all-or-nothing groups
        // (`EXEC <txid> <parts>`) rely on. Each freeze is O(1).
        let mut locked = store.lock_all();
        for (i, sh) in locked.shards_mut().enumerate().take(n) {
            let s = &self.shards[i];
            let next = files.get_mut(i).and_then(|f| f.take());
            views.push(SnapshotView {
                dbs: sh.dbs.iter().map(|d| d.snapshot()).collect(),
            });
            dirty_at.push(s.dirty());
            fails_at.push((s.fsync_failures(), s.end()));
            if aof {
                s.rotate(next);
            }
        }
        drop(locked);
        while views.len() < n {
            views.push(SnapshotView { dbs: Vec::new() });
        }
        Ok(Checkpoint {
            gen,
            views,
            dirty_at,
            fails_at,
            aof,
            created_ms: now_ms(),
            reverts_at,
        })
    }

    /// Second half: writes the snapshot files, swaps the manifest, deletes
    /// what it superseded. Returns the bytes written.
    pub fn finish(&self, cp: Checkpoint) -> Result<u64> {
        let r = self.finish_inner(&cp);
        self.busy.store(false, Ordering::Release);
        r
    }

    fn finish_inner(&self, cp: &Checkpoint) -> Result<u64> {
        let sizes = self.write_snapshots(cp)?;
        let old = self.manifest.lock().clone();
        let mut m = old.clone();
        m.gen = m.gen.max(cp.gen);
        for (i, sh) in m.shards.iter_mut().enumerate() {
            sh.snapshot = sizes.get(i).cloned();
            sh.aofs = if cp.aof {
                vec![self.gen_name(cp.gen, i)]
            } else {
                Vec::new()
            };
        }
        // The manifest swap and the shards' "durable up to the freeze"
        // happen together, with no commit running (see `commit.rs`).
        let published = self.cover_checkpoint(cp.reverts_at, &cp.fails_at, &cp.views, || {
            m.store(&*self.fs, &self.cfg.dir)
        });
        if let Err(e) = published {
            for (name, _) in &sizes {
                let _ = self.fs.remove(&self.cfg.dir.join(name));
            }
            return Err(e);
        }
        let keep = m.files();
        *self.manifest.lock() = m;
        let mut gone = old.files();
        gone.append(&mut self.stale.lock());
        for f in gone {
            if !keep.contains(&f) {
                let _ = self.fs.remove(&self.cfg.dir.join(f));
            }
        }
        for (s, d) in self.shards.iter().zip(&cp.dirty_at) {
            s.sub_dirty(*d);
        }
        let total: u64 = sizes.iter().map(|s| s.1).sum();
        self.base_bytes.store(total, Ordering::Relaxed);
        self.last_rewrite_size
            .store(self.aof_current_size(), Ordering::Relaxed);
        Ok(total)
    }

    /// Writes every frozen shard as `<dbfilename>.<gen>.<shard>` (temp file,
    /// fsync, rename, then fsync of `dir`). On any failure every file it
    /// made is removed, so a full disk keeps no half-written checkpoint.
    fn write_snapshots(&self, cp: &Checkpoint) -> Result<Vec<(String, u64)>> {
        let n = self.shards.len();
        let mut sizes: Vec<(String, u64)> = Vec::with_capacity(n);
        let cleanup = |sizes: &[(String, u64)]| {
            for (name, _) in sizes {
                let _ = self.fs.remove(&self.cfg.dir.join(name));
            }
        };
        for (i, v) in cp.views.iter().enumerate() {
            let name = self.snap_name(cp.gen, i);
            let path = self.cfg.dir.join(&name);
            let tmp = self.cfg.dir.join(format!("{name}.tmp"));
            let res = self
                .fs
                .create(&tmp)
                .map_err(|e| PersistError::io(&tmp, "create", e))
                .and_then(|mut f| {
                    write_snapshot(&mut *f, &tmp, v, i as u32, n as u32, cp.created_ms)
                })
                .and_then(|size| {
                    self.fs
                        .rename(&tmp, &path)
                        .map_err(|e| PersistError::io(&path, "rename", e))
                        .map(|_| size)
                });
            match res {
                Ok(size) => sizes.push((name, size)),
                Err(e) => {
                    let _ = self.fs.remove(&tmp);
                    cleanup(&sizes);
                    return Err(e);
                }
            }
        }
        if let Err(e) = self.fs.sync_dir(&self.cfg.dir) {
            cleanup(&sizes);
            return Err(PersistError::io(&self.cfg.dir, "fsync", e));
        }
        Ok(sizes)
    }

    /// Writes (and with `fsync`, makes durable) every shard in `ids` up to
    /// its current end.
    pub fn sync(&self, ids: &[usize], fsync: bool) -> Result<()> {
        let mut first = Ok(());
        for &i in ids {
            if let Some(s) = self.shards.get(i) {
                let r = s.sync_to(s.end(), fsync);
                if first.is_ok() {
                    first = r;
                }
            }
        }
        first
    }

    /// [`Engine::sync`] over every shard.
    pub fn sync_all(&self, fsync: bool) -> Result<()> {
        let ids: Vec<usize> = (0..self.shards.len()).collect();
        self.sync(&ids, fsync)
    }

    /// Bytes logged but not yet written to the files, all shards.
    pub fn buffered(&self) -> u64 {
        self.shards.iter().map(|s| s.buffered()).sum()
    }

    /// Changes since the last snapshot, all shards.
    pub fn dirty(&self) -> u64 {
        self.shards.iter().map(|s| s.dirty()).sum()
    }

    /// Bytes of the durable state: snapshot files plus AOF generations.
    pub fn aof_current_size(&self) -> u64 {
        self.base_bytes.load(Ordering::Relaxed)
            + self.shards.iter().map(|s| s.gen_bytes()).sum::<u64>()
    }

    /// [`Engine::aof_current_size`] right after the last checkpoint.
    pub fn aof_base_size(&self) -> u64 {
        self.last_rewrite_size.load(Ordering::Relaxed)
    }

    /// True while some shard's log may lack acknowledged effects (see
    /// [`AofShard::failed`]): a server refuses writes meanwhile.
    pub fn failed(&self) -> bool {
        self.shards.iter().any(|s| s.failed())
    }

    /// True when some shard's failure (a failed fsync) can only be cleared
    /// by a checkpoint.
    pub fn needs_checkpoint(&self) -> bool {
        self.shards.iter().any(|s| s.needs_checkpoint())
    }

    /// The failure that makes [`Engine::failed`] true (or the last one seen).
    pub fn last_failure(&self) -> Option<IoFailure> {
        self.shards
            .iter()
            .find(|s| s.failed())
            .and_then(|s| s.last_failure())
            .or_else(|| self.shards.iter().find_map(|s| s.last_failure()))
    }

    /// The manifest as it stands.
    pub fn manifest(&self) -> Manifest {
        self.manifest.lock().clone()
    }
}
