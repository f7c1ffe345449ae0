//! `Value`: what a key holds, and `Entry`: a value plus its expiry. Every
//! variant clones in O(1) (strings share their buffer, collections are
//! persistent), which is what makes a `SnapshotView` cheap.

use crate::kstr::VStr;
use crate::types::{Argv, HashValue, ListValue, SetValue, StreamValue, ZSetValue};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

/// The value stored under a key.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Value {
    /// A string. Its flag byte records how Redis would encode it:
    /// [`STR_RAW`] once modified in place (APPEND, SETRANGE, ...), which
    /// Redis reports as the `raw` encoding whatever its length, and
    /// [`STR_NOINT`] for a string never reported as `int` (INCRBYFLOAT
    /// results: Redis stores them as plain strings even when they read as
    /// an integer).
    Str(VStr),
    /// A list.
    List(Arc<ListValue>),
    /// A hash.
    Hash(Arc<HashValue>),
    /// A set.
    Set(Arc<SetValue>),
    /// A sorted set.
    ZSet(Arc<ZSetValue>),
    /// A stream.
    Stream(Arc<StreamValue>),
}

/// Longest string Redis stores with the `embstr` encoding.
const EMBSTR_MAX: usize = 44;

/// String flag: modified in place, so reported as `raw`.
pub const STR_RAW: u8 = 1;
/// String flag: never reported as `int`.
pub const STR_NOINT: u8 = 2;

impl Value {
    /// A fresh string value.
    pub fn str(b: &[u8]) -> Value {
        Value::Str(VStr::from_slice(b))
    }

    /// A string value with the given flags ([`STR_RAW`], [`STR_NOINT`]).
    pub fn str_with(s: impl Into<VStr>, flags: u8) -> Value {
        let mut s = s.into();
        s.set_flags(flags);
        Value::Str(s)
    }

    /// The type name `TYPE` reports.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Str(_) => "string",
            Value::List(_) => "list",
            Value::Hash(_) => "hash",
            Value::Set(_) => "set",
            Value::ZSet(_) => "zset",
            Value::Stream(_) => "stream",
        }
    }

    /// The encoding `OBJECT ENCODING` reports, by Redis's rules.
    pub fn encoding(&self) -> &'static str {
        match self {
            Value::Str(s) => {
                let raw = s.flags() & STR_RAW != 0;
                let noint = s.flags() & STR_NOINT != 0;
                if !raw && !noint && s.len() <= 20 && crate::num::parse_i64(s).is_some() {
                    "int"
                } else if !raw && s.len() <= EMBSTR_MAX {
                    "embstr"
                } else {
                    "raw"
                }
            }
            Value::List(l) => l.encoding(),
            Value::Hash(h) => h.encoding(),
            Value::Set(x) => x.encoding(),
            Value::ZSet(z) => z.encoding(),
            Value::Stream(x) => x.encoding(),
        }
    }

    /// Approximate heap bytes owned by this value (for MEMORY USAGE and
    /// eviction accounting).
    pub fn heap_size(&self) -> usize {
        match self {
            Value::Str(s) => s.heap_size(),
            Value::List(l) => l.heap_size(),
            Value::Hash(h) => h.heap_size(),
            Value::Set(x) => x.heap_size(),
            Value::ZSet(z) => z.heap_size(),
            Value::Stream(x) => x.heap_size(),
        }
    }

    /// The commands that recreate this value under `key` (without expiry):
    /// used to log a cross-shard move and to rewrite the AOF.
    pub fn restore_commands(&self, key: &[u8]) -> Vec<Argv> {
        match self {
            Value::Str(s) => vec![vec![b"SET".to_vec(), key.to_vec(), s.to_vec()]],
            Value::List(l) => l.restore_commands(key),
            Value::Hash(h) => h.restore_commands(key),
            Value::Set(x) => x.restore_commands(key),
            Value::ZSet(z) => z.restore_commands(key),
            Value::Stream(x) => x.restore_commands(key),
        }
    }
}

/// A stored value with its absolute expiry time and access clock.
#[derive(Debug)]
pub struct Entry {
    /// The value.
    pub value: Value,
    /// Absolute expiry in Unix milliseconds, 0 when the key is persistent.
    pub(crate) expire_at: u64,
    /// Last access (LRU clock, seconds) or LFU data. Atomic so a read can
    /// update it through a shared reference: touching a key never copies a
    /// map path that a snapshot shares.
    access: AtomicU32,
}

impl Clone for Entry {
    fn clone(&self) -> Entry {
        Entry {
            value: self.value.clone(),
            expire_at: self.expire_at,
            access: AtomicU32::new(self.access.load(Ordering::Relaxed)),
        }
    }
}

impl PartialEq for Entry {
    fn eq(&self, o: &Entry) -> bool {
        self.value == o.value && self.expire_at == o.expire_at
    }
}

/// The LRU clock: seconds since the Unix epoch, truncated to 32 bits.
pub fn lru_clock(now_ms: u64) -> u32 {
    (now_ms / 1000) as u32
}

impl Entry {
    /// A persistent entry.
    pub fn new(value: Value) -> Entry {
        Entry {
            value,
            expire_at: 0,
            access: AtomicU32::new(0),
        }
    }

    /// An entry with an absolute expiry (Unix ms, 0 = none).
    pub fn with_expiry(value: Value, expire_at: u64) -> Entry {
        Entry {
            value,
            expire_at,
            access: AtomicU32::new(0),
        }
    }

    /// Absolute expiry in Unix ms, if any.
    pub fn expire_at(&self) -> Option<u64> {
        (self.expire_at != 0).then_some(self.expire_at)
    }

    /// True when the entry has an expiry strictly before `now_ms` (Redis
    /// keeps a key alive through its expiry millisecond).
    #[inline]
    pub fn is_expired(&self, now_ms: u64) -> bool {
        self.expire_at != 0 && now_ms > self.expire_at
    }

    /// The access clock value (see [`lru_clock`]).
    pub fn access(&self) -> u32 {
        self.access.load(Ordering::Relaxed)
    }

    /// Records an access.
    #[inline]
    pub fn touch(&self, clock: u32) {
        // Read first: most touches find the clock unchanged (it ticks once
        // a second), and a store would dirty the line for other cores.
        if self.access.load(Ordering::Relaxed) != clock {
            self.access.store(clock, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        // Memory per key matters (target: within 1.2x of Redis); keep an eye on these.
        // A map slot is a 32-byte `Key` plus an `Entry`.
        assert_eq!(std::mem::size_of::<Value>(), 40);
        assert_eq!(std::mem::size_of::<Entry>(), 56);
    }
}
