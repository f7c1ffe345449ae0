//! kevy_persist: kevy's bytes on disk. One append-only file per shard
//! (RESP frames after a `KEVYAOF1\n` magic, a CRC32C frame after every
//! write), a binary checksummed snapshot file per shard, a manifest naming
//! the files that make up the durable state, and the recovery that rebuilds
//! a [`kevy_store::Store`] from them, whatever the shard count.
//!
//! Main types: [`Engine`] (a running server's AOFs and checkpoints),
//! [`AofShard`] (append under the shard lock, group-committed fsync
//! outside it), [`recover`], [`check_aof`], and the [`Fs`] seam with
//! [`FaultFs`] for tests. Byte layouts: `docs/persistence.md`.
//!
//! ```
//! use std::sync::Arc;
//! use bytes::Bytes;
//! use kevy_persist::{recover, Engine, EngineConfig, OsFs, RecoverOptions};
//! let dir = std::env::temp_dir().join(format!("kevy-persist-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir).unwrap();
//! let opts = RecoverOptions { dir: dir.clone(), dbfilename: "dump.kevy".into(),
//!     appendfilename: "appendonly.aof".into(), aof_load_truncated: true, nshards: 2, ndbs: 16 };
//! let cfg = EngineConfig { dir: dir.clone(), dbfilename: "dump.kevy".into(), appendfilename: "appendonly.aof".into() };
//! let argv = |s: &str| s.split(' ').map(|a| Bytes::copy_from_slice(a.as_bytes())).collect::<Vec<_>>();
//! {
//!     let r = recover(&OsFs, &opts).unwrap();
//!     let engine = Engine::new(Arc::new(OsFs), cfg.clone(), 2, r.manifest, 0);
//!     engine.install(&r.store);
//!     engine.open_generations(&r.store).unwrap();
//!     r.store.execute(0, &argv("SET greeting hello"), 0);
//!     engine.sync_all(true).unwrap(); // appendfsync always does this per batch
//! }
//! // A restart (here with 3 shards instead of 2) finds the write.
//! let r = recover(&OsFs, &RecoverOptions { nshards: 3, ..opts }).unwrap();
//! let (reply, _) = r.store.execute(0, &argv("GET greeting"), 0);
//! assert_eq!(reply, kevy_resp::Reply::Bulk(Bytes::from_static(b"hello")));
//! std::fs::remove_dir_all(&dir).unwrap();
//! ```
#![deny(missing_docs)]

mod aof;
mod commit;
mod durable;
mod engine;
mod error;
mod frame;
mod io;
mod manifest;
mod recover;
mod snapshot;
mod undo;

pub use aof::{strerror, AofLog, AofShard, GenFile, IoFailure};
pub use durable::{Durable, DurableOptions, Fsync};
pub use engine::{Checkpoint, Engine, EngineConfig};
pub use error::{PersistError, Result};
pub use frame::{encode, parse_frame, scan_aof, Parsed, Scan, Tail, AOF_MAGIC, CRC_NAME};
pub use io::{FaultFs, Faults, FileSync, Fs, OsFs, WFile};
pub use manifest::{write_atomic, Manifest, ShardFiles, MANIFEST_NAME};
pub use recover::{
    check_aof, load_aof, load_snapshot, migrate, recover, CheckReport, RecoverOptions,
    RecoverReport, Recovered,
};
pub use snapshot::{
    read_snapshot, write_snapshot, SnapHeader, SnapValue, SNAP_MAGIC, SNAP_VERSION,
};
pub use undo::{misconf_aof, Fate};

#[cfg(test)]
mod commit_tests;
#[cfg(test)]
mod tests;
