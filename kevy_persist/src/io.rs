//! The I/O seam: every file operation kevy_persist performs goes through
//! [`Fs`] and [`WFile`], so tests can substitute [`FaultFs`] to tear a write
//! in the middle or fail an fsync, the way redb's crash backend does. Only
//! this module calls `fsync` (and only kevy_persist uses it).

use parking_lot::Mutex;
use std::fs::{File, OpenOptions};
use std::io::{self, IoSlice, Write};
use std::path::Path;
use std::sync::Arc;

/// A file open for writing at its end.
pub trait WFile: Send {
    /// Writes every byte of every part, in order.
    fn write_all(&mut self, parts: &[&[u8]]) -> io::Result<()>;
    /// Makes the written bytes durable (`fdatasync`).
    fn sync(&mut self) -> io::Result<()>;
    /// Cuts the file to `len` bytes (undoing a partial write); the next
    /// write goes at `len`.
    fn truncate(&mut self, len: u64) -> io::Result<()>;
    /// A handle that fsyncs this file from another thread, so writes go on
    /// while an fsync runs.
    fn syncer(&self) -> io::Result<Arc<dyn FileSync>>;
}

/// Makes a file's written bytes durable; shareable across threads.
pub trait FileSync: Send + Sync {
    /// `fdatasync`.
    fn sync(&self) -> io::Result<()>;
}

impl FileSync for File {
    fn sync(&self) -> io::Result<()> {
        self.sync_data()
    }
}

/// The file-system operations persistence needs.
pub trait Fs: Send + Sync {
    /// Creates (or empties) `path` for writing.
    fn create(&self, path: &Path) -> io::Result<Box<dyn WFile>>;
    /// Reads a whole file.
    fn read(&self, path: &Path) -> io::Result<Vec<u8>>;
    /// Atomically renames `from` to `to`.
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()>;
    /// Deletes a file.
    fn remove(&self, path: &Path) -> io::Result<()>;
    /// fsyncs a directory, making renames and creations in it durable.
    fn sync_dir(&self, dir: &Path) -> io::Result<()>;
    /// Cuts `path` to `len` bytes and fsyncs it.
    fn truncate(&self, path: &Path, len: u64) -> io::Result<()>;
    /// True if `path` exists.
    fn exists(&self, path: &Path) -> bool;
}

/// The real file system.
#[derive(Default, Clone, Copy, Debug)]
pub struct OsFs;

struct OsFile(File);

impl WFile for OsFile {
    fn write_all(&mut self, parts: &[&[u8]]) -> io::Result<()> {
        let mut slices: Vec<IoSlice<'_>> = parts
            .iter()
            .filter(|p| !p.is_empty())
            .map(|p| IoSlice::new(p))
            .collect();
        let mut bufs = &mut slices[..];
        while !bufs.is_empty() {
            match self.0.write_vectored(bufs) {
                Ok(0) => return Err(io::Error::new(io::ErrorKind::WriteZero, "write returned 0")),
                Ok(n) => IoSlice::advance_slices(&mut bufs, n),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    fn sync(&mut self) -> io::Result<()> {
        self.0.sync_data()
    }

    fn truncate(&mut self, len: u64) -> io::Result<()> {
        // set_len leaves the cursor where it was: without the seek the next
        // write would leave a hole of zeros where the cut bytes were.
        self.0.set_len(len)?;
        io::Seek::seek(&mut self.0, io::SeekFrom::Start(len)).map(|_| ())
    }

    fn syncer(&self) -> io::Result<Arc<dyn FileSync>> {
        Ok(Arc::new(self.0.try_clone()?))
    }
}

impl Fs for OsFs {
    fn create(&self, path: &Path) -> io::Result<Box<dyn WFile>> {
        let f = OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(true)
            .open(path)?;
        Ok(Box::new(OsFile(f)))
    }

    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        std::fs::read(path)
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        std::fs::rename(from, to)
    }

    fn remove(&self, path: &Path) -> io::Result<()> {
        std::fs::remove_file(path)
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        File::open(dir)?.sync_all()
    }

    fn truncate(&self, path: &Path, len: u64) -> io::Result<()> {
        let f = OpenOptions::new().write(true).open(path)?;
        f.set_len(len)?;
        f.sync_all()
    }

    fn exists(&self, path: &Path) -> bool {
        path.exists()
    }
}

/// What [`FaultFs`] does wrong.
#[derive(Default, Debug, Clone)]
pub struct Faults {
    /// After this many more bytes are written (over all files), a write
    /// stores only the bytes up to the limit and fails with EIO: a torn write.
    pub write_budget: Option<u64>,
    /// Every fsync fails with EIO.
    pub fail_sync: bool,
    /// Every fsync first sleeps this long: a slow disk.
    pub sync_delay_ms: u64,
    /// When set, the faults above hit only files whose path contains it.
    pub only: Option<String>,
}

impl Faults {
    fn hits(&self, path: &Path) -> bool {
        self.only
            .as_deref()
            .is_none_or(|o| path.to_string_lossy().contains(o))
    }

    /// Sleeps for a slow disk, then says whether this fsync fails.
    fn on_sync(faults: &Mutex<Faults>, path: &Path) -> bool {
        let (delay, fail) = {
            let f = faults.lock();
            let hit = f.hits(path);
            (if hit { f.sync_delay_ms } else { 0 }, hit && f.fail_sync)
        };
        if delay > 0 {
            std::thread::sleep(std::time::Duration::from_millis(delay));
        }
        fail
    }

    /// Faults from text, one per line: `fail-sync`, `sync-delay-ms N`,
    /// `write-budget N` (bytes), `only SUBSTRING`; `#` starts a comment.
    pub fn parse(text: &str) -> Result<Faults, String> {
        let mut f = Faults::default();
        for line in text.lines() {
            let line = line.split('#').next().unwrap_or("").trim();
            let mut it = line.split_whitespace();
            let (Some(name), arg) = (it.next(), it.next()) else {
                continue;
            };
            let num = || {
                arg.and_then(|a| a.parse::<u64>().ok())
                    .ok_or_else(|| format!("'{name}' needs a number"))
            };
            match name {
                "fail-sync" => f.fail_sync = true,
                "sync-delay-ms" => f.sync_delay_ms = num()?,
                "write-budget" => f.write_budget = Some(num()?),
                "only" => f.only = arg.map(str::to_string),
                other => return Err(format!("unknown fault '{other}'")),
            }
        }
        Ok(f)
    }
}

/// A file system that behaves like [`OsFs`] until its [`Faults`] say
/// otherwise; for tests of torn writes and I/O errors.
#[derive(Clone, Default)]
pub struct FaultFs {
    /// The faults to inject; change them at any time.
    pub faults: Arc<Mutex<Faults>>,
}

struct FaultFile {
    inner: OsFile,
    faults: Arc<Mutex<Faults>>,
    path: std::path::PathBuf,
}

fn eio() -> io::Error {
    io::Error::from_raw_os_error(5)
}

impl WFile for FaultFile {
    fn write_all(&mut self, parts: &[&[u8]]) -> io::Result<()> {
        let mut f = self.faults.lock();
        if !f.hits(&self.path) {
            return self.inner.write_all(parts);
        }
        for p in parts {
            match f.write_budget {
                Some(b) if (p.len() as u64) > b => {
                    self.inner.write_all(&[&p[..b as usize]])?;
                    f.write_budget = Some(0);
                    return Err(eio());
                }
                Some(b) => f.write_budget = Some(b - p.len() as u64),
                None => {}
            }
            self.inner.write_all(&[p])?;
        }
        Ok(())
    }

    fn sync(&mut self) -> io::Result<()> {
        if Faults::on_sync(&self.faults, &self.path) {
            return Err(eio());
        }
        self.inner.sync()
    }

    fn truncate(&mut self, len: u64) -> io::Result<()> {
        self.inner.truncate(len)
    }

    fn syncer(&self) -> io::Result<Arc<dyn FileSync>> {
        Ok(Arc::new(FaultSync {
            file: self.inner.0.try_clone()?,
            faults: self.faults.clone(),
            path: self.path.clone(),
        }))
    }
}

struct FaultSync {
    file: File,
    faults: Arc<Mutex<Faults>>,
    path: std::path::PathBuf,
}

impl FileSync for FaultSync {
    fn sync(&self) -> io::Result<()> {
        if Faults::on_sync(&self.faults, &self.path) {
            return Err(eio());
        }
        self.file.sync_data()
    }
}

impl Fs for FaultFs {
    fn create(&self, path: &Path) -> io::Result<Box<dyn WFile>> {
        let f = OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(true)
            .open(path)?;
        Ok(Box::new(FaultFile {
            inner: OsFile(f),
            faults: self.faults.clone(),
            path: path.to_path_buf(),
        }))
    }
    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        OsFs.read(path)
    }
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        OsFs.rename(from, to)
    }
    fn remove(&self, path: &Path) -> io::Result<()> {
        OsFs.remove(path)
    }
    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        if Faults::on_sync(&self.faults, dir) {
            return Err(eio());
        }
        OsFs.sync_dir(dir)
    }
    fn truncate(&self, path: &Path, len: u64) -> io::Result<()> {
        OsFs.truncate(path, len)
    }
    fn exists(&self, path: &Path) -> bool {
        OsFs.exists(path)
    }
}
