//! The command table as data: one `CommandMeta` per command records its name,
//! arity, flags, key positions, ACL categories and docs. The same record
//! drives dispatch (arity check, which shards to lock), `COMMAND INFO`,
//! `COMMAND DOCS`, `COMMAND GETKEYS` and ACL categories.

use bytes::Bytes;

/// Command flags, rendered by `COMMAND INFO` with Redis's names.
pub mod flags {
    /// May modify the keyspace.
    pub const WRITE: u32 = 1 << 0;
    /// Only reads.
    pub const READONLY: u32 = 1 << 1;
    /// May grow memory (refused under maxmemory with `noeviction`).
    pub const DENYOOM: u32 = 1 << 2;
    /// Administrative.
    pub const ADMIN: u32 = 1 << 3;
    /// Pub/sub related.
    pub const PUBSUB: u32 = 1 << 4;
    /// Not allowed from scripts.
    pub const NOSCRIPT: u32 = 1 << 5;
    /// May block the client.
    pub const BLOCKING: u32 = 1 << 6;
    /// Allowed while loading data.
    pub const LOADING: u32 = 1 << 7;
    /// Allowed on a stale replica.
    pub const STALE: u32 = 1 << 8;
    /// Not shown by MONITOR.
    pub const SKIP_MONITOR: u32 = 1 << 9;
    /// Not logged by the slow log.
    pub const SKIP_SLOWLOG: u32 = 1 << 10;
    /// O(1) or O(log N).
    pub const FAST: u32 = 1 << 11;
    /// Allowed before authentication.
    pub const NO_AUTH: u32 = 1 << 12;
    /// May replicate even when read-only.
    pub const MAY_REPLICATE: u32 = 1 << 13;
    /// Not allowed inside MULTI.
    pub const NO_MULTI: u32 = 1 << 14;
    /// Key positions depend on the arguments.
    pub const MOVABLE_KEYS: u32 = 1 << 15;
    /// Allowed while a script is busy.
    pub const ALLOW_BUSY: u32 = 1 << 16;
    /// kevy-internal: the command needs every shard locked (KEYS, FLUSHDB, ...).
    pub const ALL_SHARDS: u32 = 1 << 24;

    /// Redis's names for the public flags, in the order `COMMAND INFO` lists them.
    pub const NAMES: &[(u32, &str)] = &[
        (WRITE, "write"),
        (READONLY, "readonly"),
        (DENYOOM, "denyoom"),
        (ADMIN, "admin"),
        (PUBSUB, "pubsub"),
        (NOSCRIPT, "noscript"),
        (BLOCKING, "blocking"),
        (LOADING, "loading"),
        (STALE, "stale"),
        (SKIP_MONITOR, "skip_monitor"),
        (SKIP_SLOWLOG, "skip_slowlog"),
        (FAST, "fast"),
        (NO_AUTH, "no_auth"),
        (MAY_REPLICATE, "may_replicate"),
        (NO_MULTI, "no_multi"),
        (MOVABLE_KEYS, "movablekeys"),
        (ALLOW_BUSY, "allow_busy"),
    ];
}

/// ACL categories, rendered as `@name`.
pub mod acl {
    #![allow(missing_docs)]
    pub const KEYSPACE: u64 = 1 << 0;
    pub const READ: u64 = 1 << 1;
    pub const WRITE: u64 = 1 << 2;
    pub const SET: u64 = 1 << 3;
    pub const SORTEDSET: u64 = 1 << 4;
    pub const LIST: u64 = 1 << 5;
    pub const HASH: u64 = 1 << 6;
    pub const STRING: u64 = 1 << 7;
    pub const BITMAP: u64 = 1 << 8;
    pub const HYPERLOGLOG: u64 = 1 << 9;
    pub const GEO: u64 = 1 << 10;
    pub const STREAM: u64 = 1 << 11;
    pub const PUBSUB: u64 = 1 << 12;
    pub const ADMIN: u64 = 1 << 13;
    pub const FAST: u64 = 1 << 14;
    pub const SLOW: u64 = 1 << 15;
    pub const BLOCKING: u64 = 1 << 16;
    pub const DANGEROUS: u64 = 1 << 17;
    pub const CONNECTION: u64 = 1 << 18;
    pub const TRANSACTION: u64 = 1 << 19;
    pub const SCRIPTING: u64 = 1 << 20;

    /// Category names without the `@`, in Redis's `ACL CAT` order.
    pub const NAMES: &[(u64, &str)] = &[
        (KEYSPACE, "keyspace"),
        (READ, "read"),
        (WRITE, "write"),
        (SET, "set"),
        (SORTEDSET, "sortedset"),
        (LIST, "list"),
        (HASH, "hash"),
        (STRING, "string"),
        (BITMAP, "bitmap"),
        (HYPERLOGLOG, "hyperloglog"),
        (GEO, "geo"),
        (STREAM, "stream"),
        (PUBSUB, "pubsub"),
        (ADMIN, "admin"),
        (FAST, "fast"),
        (SLOW, "slow"),
        (BLOCKING, "blocking"),
        (DANGEROUS, "dangerous"),
        (CONNECTION, "connection"),
        (TRANSACTION, "transaction"),
        (SCRIPTING, "scripting"),
    ];
}

/// Where a command's keys are in its argument vector.
#[derive(Clone, Copy)]
pub enum Keys {
    /// No keys.
    None,
    /// Keys at `first`, `first+step`, ... up to `last` (negative `last`
    /// counts from the end: -1 is the last argument).
    Range {
        /// Index of the first key.
        first: i16,
        /// Index of the last key (negative: from the end).
        last: i16,
        /// Distance between keys.
        step: i16,
    },
    /// Positions computed from the arguments (e.g. a `numkeys` argument);
    /// `first/last/step` is what `COMMAND INFO` reports.
    Custom {
        /// Reported first key.
        first: i16,
        /// Reported last key.
        last: i16,
        /// Reported step.
        step: i16,
        /// Computes the key positions; returns none on malformed arguments
        /// (the command itself then reports the error).
        find: fn(&[Bytes]) -> Vec<usize>,
    },
}

/// Static metadata for one command.
pub struct CommandMeta {
    /// Lower-case name (for subcommands: `parent|sub`).
    pub name: &'static str,
    /// Exact argument count including the name, or -N for "at least N".
    pub arity: i16,
    /// `flags::*` bits.
    pub flags: u32,
    /// `acl::*` bits for the command's family; read/write/fast/slow/admin
    /// categories are derived from the flags.
    pub acl: u64,
    /// Key positions.
    pub keys: Keys,
    /// `COMMAND DOCS` group (`string`, `generic`, `connection`, ...).
    pub group: &'static str,
    /// `COMMAND DOCS` one-line summary.
    pub summary: &'static str,
    /// Redis version that introduced the command.
    pub since: &'static str,
    /// `COMMAND DOCS` complexity.
    pub complexity: &'static str,
}

impl CommandMeta {
    /// True if `argc` satisfies the arity.
    #[inline]
    pub fn arity_ok(&self, argc: usize) -> bool {
        if self.arity >= 0 {
            argc == self.arity as usize
        } else {
            argc >= (-self.arity) as usize
        }
    }

    /// True for a command flagged `write`.
    #[inline]
    pub fn is_write(&self) -> bool {
        self.flags & flags::WRITE != 0
    }

    /// The positions of the keys in `argv`.
    pub fn key_positions(&self, argv: &[Bytes]) -> Vec<usize> {
        match self.keys {
            Keys::None => Vec::new(),
            Keys::Range { first, last, step } => range_positions(argv.len(), first, last, step),
            Keys::Custom { find, .. } => {
                find(argv).into_iter().filter(|&i| i < argv.len()).collect()
            }
        }
    }

    /// Calls `f` for every key position without allocating, for the common
    /// range case.
    #[inline]
    pub fn for_each_key(&self, argv: &[Bytes], mut f: impl FnMut(usize)) {
        match self.keys {
            Keys::None => {}
            Keys::Range { first, last, step } => {
                let argc = argv.len() as i64;
                let last = if last < 0 {
                    argc + last as i64
                } else {
                    last as i64
                };
                let mut i = first as i64;
                while i <= last && i < argc && step > 0 {
                    f(i as usize);
                    i += step as i64;
                }
            }
            Keys::Custom { find, .. } => {
                for i in find(argv) {
                    if i < argv.len() {
                        f(i)
                    }
                }
            }
        }
    }

    /// `(first, last, step)` as `COMMAND INFO` reports them.
    pub fn key_triple(&self) -> (i16, i16, i16) {
        match self.keys {
            Keys::None => (0, 0, 0),
            Keys::Range { first, last, step }
            | Keys::Custom {
                first, last, step, ..
            } => (first, last, step),
        }
    }

    /// Every ACL category, with the ones Redis derives from the flags.
    pub fn acl_categories(&self) -> u64 {
        let mut c = self.acl;
        if self.flags & flags::WRITE != 0 {
            c |= acl::WRITE;
        }
        if self.flags & flags::READONLY != 0 && c & acl::SCRIPTING == 0 {
            c |= acl::READ;
        }
        if self.flags & flags::ADMIN != 0 {
            c |= acl::ADMIN | acl::DANGEROUS;
        }
        if self.flags & flags::PUBSUB != 0 {
            c |= acl::PUBSUB;
        }
        if self.flags & flags::FAST != 0 {
            c |= acl::FAST;
        }
        if self.flags & flags::BLOCKING != 0 {
            c |= acl::BLOCKING;
        }
        if c & acl::FAST == 0 {
            c |= acl::SLOW;
        }
        c
    }
}

fn range_positions(argc: usize, first: i16, last: i16, step: i16) -> Vec<usize> {
    let argc = argc as i64;
    let last = if last < 0 {
        argc + last as i64
    } else {
        last as i64
    };
    let mut out = Vec::new();
    let mut i = first as i64;
    while i <= last && i < argc && step > 0 {
        out.push(i as usize);
        i += step as i64;
    }
    out
}

/// Shorthand for the common key layouts.
impl Keys {
    /// One key at argument 1.
    pub const ONE: Keys = Keys::Range {
        first: 1,
        last: 1,
        step: 1,
    };
    /// Every argument from 1 on is a key.
    pub const ALL: Keys = Keys::Range {
        first: 1,
        last: -1,
        step: 1,
    };
    /// Keys at 1 and 2 (RENAME, COPY, ...).
    pub const TWO: Keys = Keys::Range {
        first: 1,
        last: 2,
        step: 1,
    };
    /// Key/value pairs from argument 1 (MSET).
    pub const PAIRS: Keys = Keys::Range {
        first: 1,
        last: -1,
        step: 2,
    };
}
