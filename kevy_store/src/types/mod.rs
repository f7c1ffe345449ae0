//! The collection types a key can hold besides strings. Each is persistent
//! (O(1) clone) or copy-on-write behind an `Arc`, so a `SnapshotView` never
//! copies a collection and a write during a snapshot copies only what it
//! touches. Each type reports Redis's encoding names by Redis's thresholds.

pub mod hash;
pub mod list;
pub mod set;
pub mod stream;
pub mod zset;

pub use hash::HashValue;
pub use list::ListValue;
pub use set::SetValue;
pub use stream::StreamValue;
pub use zset::ZSetValue;

/// An argv to replay: the commands that recreate a value (RENAME across
/// shards, AOF rewrite).
pub type Argv = Vec<Vec<u8>>;
