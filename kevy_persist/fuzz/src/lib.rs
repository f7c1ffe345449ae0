//! The bodies of kevy_persist's fuzz targets, shared with its tests
//! (`tests/fuzz_corpus.rs` includes this file by path and replays the
//! committed corpora on stable, without libFuzzer). Each input is a file
//! put in an in-memory [`Fs`] ([`MemFs`]) and read through the real
//! recovery code, so nothing touches the disk and a run leaves nothing
//! behind. A typed error is a fine outcome for any input; a panic, an
//! endless loop or an allocation sized by a damaged length field is a bug
//! (libFuzzer reports the last two as a timeout or an out-of-memory).
//!
//! Both file formats carry checksums, which mutated inputs almost never
//! match; each input therefore also runs with its checksums recomputed, so
//! the fuzzer reaches the decoders and the replay behind them.

use kevy_persist::{
    check_aof, parse_frame, recover, write_snapshot, FileSync, Fs, Manifest, Parsed,
    RecoverOptions, ShardFiles, Tail, WFile, AOF_MAGIC, CRC_NAME,
};
use kevy_store::{Store, Value};
use std::collections::{BTreeMap, HashMap};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

/// The data directory inside a [`MemFs`].
pub const DIR: &str = "/kevy";
/// The AOF name recovery looks for when there is no manifest.
pub const AOF: &str = "appendonly.aof";
/// The snapshot name recovery looks for when there is no manifest.
pub const SNAPSHOT: &str = "dump.kevy";
/// Snapshot header length (`docs/persistence.md`, "Snapshot file").
const SNAP_HEADER: usize = 32;
/// Snapshot section header length.
const SNAP_SECTION: usize = 21;

/// A file system in memory: whole files by path, shared between clones.
/// Renames are atomic and fsyncs do nothing (nothing here can crash).
#[derive(Clone, Default)]
pub struct MemFs {
    files: Arc<Mutex<HashMap<PathBuf, Vec<u8>>>>,
}

impl MemFs {
    fn files(&self) -> MutexGuard<'_, HashMap<PathBuf, Vec<u8>>> {
        self.files.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Creates or replaces `path` with `data`.
    pub fn put(&self, path: &Path, data: &[u8]) {
        self.files().insert(path.to_path_buf(), data.to_vec());
    }

    /// The content of `path`, if it exists.
    pub fn get(&self, path: &Path) -> Option<Vec<u8>> {
        self.files().get(path).cloned()
    }

    /// Every path, sorted.
    pub fn paths(&self) -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = self.files().keys().cloned().collect();
        v.sort();
        v
    }
}

fn not_found() -> io::Error {
    io::Error::from(io::ErrorKind::NotFound)
}

struct MemFile {
    fs: MemFs,
    path: PathBuf,
}

struct NoSync;

impl FileSync for NoSync {
    fn sync(&self) -> io::Result<()> {
        Ok(())
    }
}

impl WFile for MemFile {
    fn write_all(&mut self, parts: &[&[u8]]) -> io::Result<()> {
        let mut files = self.fs.files();
        let f = files.get_mut(&self.path).ok_or_else(not_found)?;
        for p in parts {
            f.extend_from_slice(p);
        }
        Ok(())
    }

    fn sync(&mut self) -> io::Result<()> {
        Ok(())
    }

    fn truncate(&mut self, len: u64) -> io::Result<()> {
        self.fs.truncate(&self.path, len)
    }

    fn syncer(&self) -> io::Result<Arc<dyn FileSync>> {
        Ok(Arc::new(NoSync))
    }
}

impl Fs for MemFs {
    fn create(&self, path: &Path) -> io::Result<Box<dyn WFile>> {
        self.put(path, b"");
        Ok(Box::new(MemFile {
            fs: self.clone(),
            path: path.to_path_buf(),
        }))
    }

    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        self.get(path).ok_or_else(not_found)
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        let mut files = self.files();
        let data = files.remove(from).ok_or_else(not_found)?;
        files.insert(to.to_path_buf(), data);
        Ok(())
    }

    fn remove(&self, path: &Path) -> io::Result<()> {
        self.files().remove(path).map(|_| ()).ok_or_else(not_found)
    }

    fn sync_dir(&self, _dir: &Path) -> io::Result<()> {
        Ok(())
    }

    fn truncate(&self, path: &Path, len: u64) -> io::Result<()> {
        let mut files = self.files();
        let f = files.get_mut(path).ok_or_else(not_found)?;
        let len = usize::try_from(len).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
        f.resize(len, 0);
        Ok(())
    }

    fn exists(&self, path: &Path) -> bool {
        self.files().contains_key(path)
    }
}

/// Recovery options for [`DIR`]: `nshards` shards, 4 databases.
pub fn options(nshards: usize, truncated_ok: bool) -> RecoverOptions {
    RecoverOptions {
        dir: PathBuf::from(DIR),
        dbfilename: SNAPSHOT.into(),
        appendfilename: AOF.into(),
        aof_load_truncated: truncated_ok,
        nshards,
        ndbs: 4,
    }
}

/// Every key of `store` (expired ones too): (db, key) → (expiry, value).
fn dump(store: &Store) -> BTreeMap<(usize, Vec<u8>), (u64, Value)> {
    let mut out = BTreeMap::new();
    for view in store.snapshot() {
        for (db, map) in view.dbs.iter().enumerate() {
            for (k, e) in map.iter() {
                let v = (e.expire_at().unwrap_or(0), e.value.clone());
                out.insert((db, k.bytes().to_vec()), v);
            }
        }
    }
    out
}

/// Asserts that `a` and `b` hold the same keys and values (strings compared
/// by their bytes alone), and the same expiries if `expiries`.
fn assert_same(a: &Store, b: &Store, expiries: bool, what: &str) {
    let (a, b) = (dump(a), dump(b));
    let keys = |m: &BTreeMap<(usize, Vec<u8>), (u64, Value)>| m.keys().cloned().collect::<Vec<_>>();
    assert_eq!(keys(&a), keys(&b), "{what}: other keys");
    for ((k, (ea, va)), (_, (eb, vb))) in a.iter().zip(&b) {
        let same = match (va, vb) {
            (Value::Str(x), Value::Str(y)) => x[..] == y[..],
            _ => va == vb,
        };
        assert!(same, "{what}: {k:?} differs: {va:?} vs {vb:?}");
        assert!(!expiries || ea == eb, "{what}: expiry of {k:?} differs");
    }
}

/// True if replaying `data` twice may legitimately give different states:
/// SPOP picks at random (kevy logs it as SREM, so its own files never hold
/// it, but a foreign AOF may).
fn random_writes(data: &[u8]) -> bool {
    data.windows(4).any(|w| w.eq_ignore_ascii_case(b"spop"))
}

/// `data` with the hex CRC of every `KEVYCRC` frame of a kevy AOF replaced
/// by the checksum of the frames before it (since the previous one).
pub fn fix_aof_checksums(data: &[u8]) -> Vec<u8> {
    let mut d = data.to_vec();
    if !d.starts_with(AOF_MAGIC) {
        return d;
    }
    let (mut pos, mut group) = (AOF_MAGIC.len(), AOF_MAGIC.len());
    while let Parsed::Frame { args, len } = parse_frame(&d[pos..]) {
        if let [name, hex] = &args[..] {
            if d[pos + name.start..pos + name.end] == *CRC_NAME && hex.len() == 8 {
                let crc = format!("{:08x}", crc32c::crc32c(&d[group..pos]));
                d[pos + hex.start..pos + hex.end].copy_from_slice(crc.as_bytes());
                group = pos + len;
            }
        }
        pos += len;
    }
    d
}

/// `data` with the header and section checksums of a snapshot recomputed
/// over what they cover (section lengths as the file states them).
pub fn fix_snapshot_checksums(data: &[u8]) -> Vec<u8> {
    let mut d = data.to_vec();
    if d.len() < SNAP_HEADER {
        return d;
    }
    let crc = crc32c::crc32c(&d[..SNAP_HEADER - 4]);
    d[SNAP_HEADER - 4..SNAP_HEADER].copy_from_slice(&crc.to_le_bytes());
    let mut pos = SNAP_HEADER;
    while pos + SNAP_SECTION <= d.len() {
        let len = [9, 10, 11, 12].map(|i| d[pos + i]);
        let start = pos + SNAP_SECTION;
        let end = start.saturating_add(u32::from_le_bytes(len) as usize);
        let crc = crc32c::crc32c(&d[start..end.min(d.len())]);
        d[pos + 13..pos + 17].copy_from_slice(&crc.to_le_bytes());
        let crc = crc32c::crc32c(&d[pos..pos + 17]);
        d[pos + 17..pos + 21].copy_from_slice(&crc.to_le_bytes());
        pos = end;
    }
    d
}

/// [`aof_file`] on `data`, and on `data` with its checksums fixed.
pub fn aof_replay(data: &[u8]) {
    aof_file(data);
    let fixed = fix_aof_checksums(data);
    if fixed != data {
        aof_file(&fixed);
    }
}

/// [`snapshot_file`] on `data`, and on `data` with its checksums fixed.
pub fn snapshot_load(data: &[u8]) {
    snapshot_file(data);
    let fixed = fix_snapshot_checksums(data);
    if fixed != data {
        snapshot_file(&fixed);
    }
}

/// `data` as an AOF file, three ways:
///
/// 1. the lone `appendonly.aof` of a directory without a manifest (a bare
///    Redis AOF, or kevy's), recovered with `aof-load-truncated yes`: if a
///    torn tail was cut, the file is now exactly the valid prefix and the
///    quarantine file exactly the rest, and the cut file recovers again
///    with nothing left to cut, to the same keys and values;
/// 2. the AOF of shard 0 of 2 named by a manifest, recovered into 3 shards
///    (MULTI/EXEC groups, shard-local FLUSHALL, migration) with
///    `aof-load-truncated no`;
/// 3. `--check-aof --fix`: a fixed file then checks clean.
pub fn aof_file(data: &[u8]) {
    let dir = Path::new(DIR);
    let aof = dir.join(AOF);

    let fs = MemFs::default();
    fs.put(&aof, data);
    if let Ok(first) = recover(&fs, &options(2, true)) {
        let cut = fs.get(&aof).unwrap_or_default();
        let cut_len = cut.len() as u64;
        assert!(data.starts_with(&cut), "the AOF was cut to a non-prefix");
        assert_eq!(cut_len + first.report.quarantined, data.len() as u64);
        if first.report.quarantined > 0 {
            let q: Vec<Vec<u8>> = fs
                .paths()
                .iter()
                .filter(|p| p.to_string_lossy().contains(".quarantine-"))
                .filter_map(|p| fs.get(p))
                .collect();
            assert_eq!(q, [data[cut.len()..].to_vec()], "the quarantined bytes");
        }
        match recover(&fs, &options(2, false)) {
            Ok(again) => {
                if !random_writes(data) {
                    assert_same(&first.store, &again.store, false, "the cut AOF");
                }
            }
            Err(e) => panic!("the cut AOF does not recover: {e}"),
        }
    }

    let fs = MemFs::default();
    let name = format!("{AOF}.1.0");
    fs.put(&dir.join(&name), data);
    let manifest = Manifest {
        gen: 1,
        shards: vec![
            ShardFiles {
                snapshot: None,
                aofs: vec![name],
            },
            ShardFiles::default(),
        ],
    };
    if manifest.store(&fs, dir).is_ok() {
        let _ = recover(&fs, &options(3, false));
    }

    let fs = MemFs::default();
    fs.put(&aof, data);
    if let Ok(rep) = check_aof(&fs, &aof, true) {
        assert!(rep.scan.valid_len <= data.len() as u64);
        if rep.fixed {
            match check_aof(&fs, &aof, false) {
                Ok(again) => {
                    assert_eq!(again.scan.tail, Tail::Clean, "a fixed AOF checks clean");
                    assert_eq!(again.scan.commands, rep.scan.commands);
                }
                Err(e) => panic!("a fixed AOF does not check: {e}"),
            }
        } else {
            assert_eq!(rep.scan.tail, Tail::Clean);
        }
    }
}

/// `data` as the lone `dump.kevy` of a directory without a manifest. If it
/// loads, the state it gives, written back as one snapshot per shard (as a
/// checkpoint does) and recovered through a manifest, comes back with the
/// same keys, values and expiries.
pub fn snapshot_file(data: &[u8]) {
    let dir = Path::new(DIR);
    let fs = MemFs::default();
    fs.put(&dir.join(SNAPSHOT), data);
    let Ok(first) = recover(&fs, &options(2, false)) else {
        return;
    };
    let fs = MemFs::default();
    let views = first.store.snapshot();
    let mut manifest = Manifest {
        gen: 1,
        shards: Vec::new(),
    };
    for (i, view) in views.iter().enumerate() {
        let name = format!("{SNAPSHOT}.1.{i}");
        let path = dir.join(&name);
        let size = fs
            .create(&path)
            .map_err(|e| e.to_string())
            .and_then(|mut f| {
                write_snapshot(&mut *f, &path, view, i as u32, views.len() as u32, 0)
                    .map_err(|e| e.to_string())
            });
        let size = match size {
            Ok(n) => n,
            Err(e) => panic!("a loaded state does not save: {e}"),
        };
        manifest.shards.push(ShardFiles {
            snapshot: Some((name, size)),
            aofs: Vec::new(),
        });
    }
    if let Err(e) = manifest.store(&fs, dir) {
        panic!("the manifest does not save: {e}");
    }
    match recover(&fs, &options(views.len(), false)) {
        Ok(again) => assert_same(&first.store, &again.store, true, "the saved state"),
        Err(e) => panic!("a saved state does not load: {e}"),
    }
}
