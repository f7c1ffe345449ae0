//! Typed errors of the persistence layer. Every variant that concerns a file
//! names it, and every format error names the byte offset where the file
//! stopped making sense, so an operator can look at it with `xxd`.

use std::fmt;
use std::path::PathBuf;

/// What went wrong while reading, writing or recovering persistence files.
#[derive(Debug)]
#[non_exhaustive]
pub enum PersistError {
    /// An operating-system call on `path` failed.
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What was being done (`"write"`, `"fsync"`, `"rename"`, ...).
        op: &'static str,
        /// The OS error.
        source: std::io::Error,
    },
    /// A file's content is damaged or not ours: refuse to load it.
    Corrupt {
        /// The file.
        path: PathBuf,
        /// Byte offset of the first byte that is not valid.
        offset: u64,
        /// What was found there.
        reason: String,
    },
    /// An AOF ends in an incomplete frame and `aof-load-truncated` is off.
    Truncated {
        /// The file.
        path: PathBuf,
        /// Offset where the incomplete frame starts.
        offset: u64,
        /// Bytes from there to the end of the file.
        len: u64,
    },
    /// A logged command failed when replayed (the log does not describe a
    /// state kevy can rebuild).
    Replay {
        /// The file.
        path: PathBuf,
        /// Offset of the frame.
        offset: u64,
        /// The error reply.
        reason: String,
    },
    /// Another snapshot or rewrite is already running.
    Busy,
    /// A checkpoint gave up (the reason says why); nothing it wrote counts.
    Aborted(String),
}

impl PersistError {
    /// An I/O error on `path` during `op`.
    pub fn io(path: impl Into<PathBuf>, op: &'static str, source: std::io::Error) -> PersistError {
        PersistError::Io {
            path: path.into(),
            op,
            source,
        }
    }
}

impl fmt::Display for PersistError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PersistError::Io { path, op, source } => write!(f, "{op} {}: {source}", path.display()),
            PersistError::Corrupt { path, offset, reason } => {
                write!(f, "{} is damaged at offset {offset}: {reason}", path.display())
            }
            PersistError::Truncated { path, offset, len } => write!(
                f,
                "{} ends in an incomplete frame at offset {offset} ({len} bytes); set aof-load-truncated yes to cut it off, or run kevy-server --check-aof {} --fix",
                path.display(),
                path.display()
            ),
            PersistError::Replay { path, offset, reason } => {
                write!(f, "{}: the command at offset {offset} failed on replay: {reason}", path.display())
            }
            PersistError::Busy => write!(f, "a background save or rewrite is already in progress"),
            PersistError::Aborted(why) => write!(f, "aborted: {why}"),
        }
    }
}

impl std::error::Error for PersistError {}

/// Result alias of this crate.
pub type Result<T> = std::result::Result<T, PersistError>;
