//! kevy_store: the data model of kevy, a Redis-compatible server.
//!
//! The keyspace is split into shards by Redis Cluster's hash slot; each
//! [`Shard`] holds its slice of every logical database ([`Db`]), each a
//! persistent map so a [`SnapshotView`] is an O(1) frozen copy. Commands are
//! plain functions over a [`Ctx`] (the locked shards a command touches) that
//! return a [`kevy_resp::Reply`]: no sockets, no files.
//!
//! ```
//! use bytes::Bytes;
//! use kevy_store::Store;
//! let store = Store::new(4, 16);
//! let argv = |s: &str| s.split(' ').map(|a| Bytes::copy_from_slice(a.as_bytes())).collect::<Vec<_>>();
//! store.execute(0, &argv("SET greeting hello"), 0);
//! let (reply, _) = store.execute(0, &argv("GET greeting"), 0);
//! assert_eq!(reply, kevy_resp::Reply::Bulk(Bytes::from_static(b"hello")));
//! ```
#![deny(missing_docs)]

mod cmd;
mod ctx;
mod db;
mod embed;
mod error;
mod evict;
mod expire;
mod glob;
mod hash;
mod keymap;
mod kstr;
mod lfu;
mod locked;
mod num;
pub mod rand;
mod shard;
pub mod spec;
mod store;
pub mod types;
mod value;

pub use cmd::{
    all as all_commands, arity_error, lookup, unknown_command_error, Handler, StoreCommand,
};
pub use ctx::{notify, shard_for, BlockRequest, Ctx, Events, Notification};
pub use db::{Db, Key, KeyMap};
pub use embed::{system_now_ms, Clock, CommitHook, Kevy, Snapshot, Ttl};
pub use error::{CmdError, CmdResult};
pub use evict::{evict_one, EvictParams, EvictPolicy, Evicted, EvictionPool};
pub use expire::{active_expire_cycle, ExpireStats};
pub use glob::glob_match;
pub use hash::{crc16, key_hash, key_slot, SLOTS};
pub use keymap::HashTrie;
pub use kstr::{KStr, SmallStr, VStr};
pub use lfu::{lfu_decayed, lfu_new, lfu_touch, LfuParams, LFU_INIT_VAL};
pub use locked::Locked;
pub use num::{arg_f64, arg_i64, format_human_f64, parse_f64, parse_i64};
pub use shard::{end_tx_all, Shard, ShardImage, ShardLog, WatchFlag};
pub use store::{replay_in, run, SnapshotView, Store};
pub use value::{lru_clock, Entry, Value, STR_NOINT, STR_RAW};
