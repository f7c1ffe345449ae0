//! kevy_script: runs Redis Lua scripts (`EVAL`) and function libraries
//! (`FUNCTION LOAD`/`FCALL`) the way Redis 7.0 does, against any host that
//! can execute Redis commands.
//!
//! A [`Vm`] holds two sandboxed Lua 5.1 states (one for EVAL scripts, one
//! for function libraries, as in Redis) with Redis's libraries (`cjson`,
//! `cmsgpack`, `struct`, `bit`), its `redis` API, read-only library
//! tables, protected globals and its PRNG. The embedder implements
//! [`Host`]: it runs the commands `redis.call` asks for, with whatever
//! locking and checks it needs, and decides when a busy script must stop.
//! [`StoreHost`] is such a host over an embedded [`kevy_store::Store`].
//!
//! ```
//! use bytes::Bytes;
//! use kevy_script::{StoreHost, Vm};
//! use kevy_store::Store;
//!
//! let store = Store::new(4, 16);
//! let mut vm = Vm::new().unwrap();
//! let (sha, _flags) = vm.load_script(b"return redis.call('incrby', KEYS[1], ARGV[1])").unwrap();
//! let mut host = StoreHost::new(&store, 0, 0);
//! let reply = vm.eval(&mut host, &sha, &[Bytes::from("n")], &[Bytes::from("5")]);
//! assert_eq!(reply, kevy_resp::Reply::Int(5));
//! ```
#![deny(missing_docs)]

mod api;
mod convert;
mod embedded;
mod engine;
mod flags;
mod hook;
mod host;
mod library;
mod libs;
mod num;
mod random;
mod raw;
mod state;
mod vm;

pub use api::{REDIS_VERSION, REDIS_VERSION_NUM};
pub use embedded::{check_call, StoreHost};
pub use flags::{eval_flags, ScriptFlags};
pub use hook::TICK_INSTRUCTIONS;
pub use host::{Abort, Host, LogLevel};
pub use library::{library_name, FunctionInfo, Library};
pub use vm::{Vm, VmError};

/// The SHA1 digest of `data` as 40 lowercase hex digits (what `SCRIPT
/// LOAD` answers and `redis.sha1hex` computes).
pub fn sha1_hex(data: &[u8]) -> String {
    sha1_smol::Sha1::from(data).digest().to_string()
}
#[cfg(test)]
mod tests;
