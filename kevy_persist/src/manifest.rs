//! The manifest: one small text file per data directory naming the files
//! that make up the durable state, per shard: at most one snapshot (the
//! base) and the AOF generations to replay after it, in order. It is
//! replaced atomically (temp file, fsync, rename, fsync dir) and ends with
//! the CRC32C of everything before its last line. Layout:
//! `docs/persistence.md`.

use crate::error::{PersistError, Result};
use crate::io::Fs;
use std::path::Path;

/// File name of the manifest inside `dir`.
pub const MANIFEST_NAME: &str = "kevy.manifest";
const HEADER: &str = "kevy-manifest 1";

/// The files of one shard.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ShardFiles {
    /// Snapshot file name and size.
    pub snapshot: Option<(String, u64)>,
    /// AOF generation file names, oldest first.
    pub aofs: Vec<String>,
}

/// The parsed manifest.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Manifest {
    /// Last generation number used in a file name.
    pub gen: u64,
    /// Per shard (its length is the shard count that wrote it).
    pub shards: Vec<ShardFiles>,
}

impl Manifest {
    /// The text form, checksum line included.
    pub fn render(&self) -> String {
        let mut s = format!("{HEADER}\nshards {}\ngen {}\n", self.shards.len(), self.gen);
        for (i, sh) in self.shards.iter().enumerate() {
            if let Some((name, size)) = &sh.snapshot {
                s.push_str(&format!("snapshot {i} {name} {size}\n"));
            }
            for a in &sh.aofs {
                s.push_str(&format!("aof {i} {a}\n"));
            }
        }
        let crc = crc32c::crc32c(s.as_bytes());
        s.push_str(&format!("crc {crc:08x}\n"));
        s
    }

    /// Parses a manifest; damage is reported with the byte offset of the bad line.
    pub fn parse(path: &Path, text: &[u8]) -> Result<Manifest> {
        let bad = |offset: usize, reason: &str| PersistError::Corrupt {
            path: path.to_path_buf(),
            offset: offset as u64,
            reason: reason.to_string(),
        };
        let s = std::str::from_utf8(text).map_err(|e| bad(e.valid_up_to(), "not UTF-8"))?;
        let Some(crc_at) = s.trim_end_matches('\n').rfind('\n').map(|i| i + 1) else {
            return Err(bad(0, "too short"));
        };
        let body = &s[..crc_at];
        let want = s[crc_at..]
            .trim()
            .strip_prefix("crc ")
            .and_then(|h| u32::from_str_radix(h, 16).ok());
        if want != Some(crc32c::crc32c(body.as_bytes())) {
            return Err(bad(crc_at, "checksum line missing or mismatched"));
        }
        let mut m = Manifest::default();
        let mut off = 0;
        for (n, line) in body.lines().enumerate() {
            let at = off;
            off += line.len() + 1;
            let f: Vec<&str> = line.split(' ').collect();
            let num = |i: usize| {
                f.get(i)
                    .and_then(|x| x.parse::<u64>().ok())
                    .ok_or_else(|| bad(at, "bad number"))
            };
            match (n, f.first().copied()) {
                (0, _) if line == HEADER => {}
                (0, _) => return Err(bad(0, "not a kevy manifest")),
                (_, Some("shards")) => {
                    let k = num(1)? as usize;
                    if k == 0 || k > 1 << 16 {
                        return Err(bad(at, "bad shard count"));
                    }
                    m.shards = vec![ShardFiles::default(); k];
                }
                (_, Some("gen")) => m.gen = num(1)?,
                (_, Some(kind @ ("snapshot" | "aof"))) => {
                    let i = num(1)? as usize;
                    let name = f
                        .get(2)
                        .filter(|x| is_plain_name(x))
                        .ok_or_else(|| bad(at, "bad file name"))?;
                    let sh = m
                        .shards
                        .get_mut(i)
                        .ok_or_else(|| bad(at, "shard index out of range"))?;
                    if kind == "snapshot" {
                        sh.snapshot = Some((name.to_string(), num(3)?));
                    } else {
                        sh.aofs.push(name.to_string());
                    }
                }
                _ => return Err(bad(at, "unknown line")),
            }
        }
        if m.shards.is_empty() {
            return Err(bad(0, "no shard count"));
        }
        Ok(m)
    }

    /// Reads `dir/kevy.manifest`; `Ok(None)` if there is none.
    pub fn load(fs: &dyn Fs, dir: &Path) -> Result<Option<Manifest>> {
        let path = dir.join(MANIFEST_NAME);
        if !fs.exists(&path) {
            return Ok(None);
        }
        let text = fs
            .read(&path)
            .map_err(|e| PersistError::io(&path, "read", e))?;
        Manifest::parse(&path, &text).map(Some)
    }

    /// Atomically replaces `dir/kevy.manifest` with this one, durably.
    pub fn store(&self, fs: &dyn Fs, dir: &Path) -> Result<()> {
        write_atomic(fs, dir, MANIFEST_NAME, self.render().as_bytes())
    }

    /// Every file the manifest names.
    pub fn files(&self) -> Vec<String> {
        let mut v = Vec::new();
        for sh in &self.shards {
            if let Some((n, _)) = &sh.snapshot {
                v.push(n.clone());
            }
            v.extend(sh.aofs.iter().cloned());
        }
        v
    }
}

fn is_plain_name(s: &str) -> bool {
    !s.is_empty() && !s.contains('/') && s != "." && s != ".."
}

/// Writes `name` in `dir` through a temp file: write, fsync, rename, fsync dir.
pub fn write_atomic(fs: &dyn Fs, dir: &Path, name: &str, bytes: &[u8]) -> Result<()> {
    let tmp = dir.join(format!("{name}.tmp"));
    let dst = dir.join(name);
    let written = fs
        .create(&tmp)
        .map_err(|e| PersistError::io(&tmp, "create", e))
        .and_then(|mut f| {
            f.write_all(&[bytes])
                .map_err(|e| PersistError::io(&tmp, "write", e))?;
            f.sync().map_err(|e| PersistError::io(&tmp, "fsync", e))
        })
        .and_then(|_| {
            fs.rename(&tmp, &dst)
                .map_err(|e| PersistError::io(&dst, "rename", e))
        });
    if let Err(e) = written {
        // A full disk keeps no half-written temp file.
        let _ = fs.remove(&tmp);
        return Err(e);
    }
    fs.sync_dir(dir)
        .map_err(|e| PersistError::io(dir, "fsync", e))
}
