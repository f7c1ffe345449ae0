//! Persistence knobs: the working directory, snapshots (`save`) and the
//! append-only file.

use super::{Knob, Mutability};
use crate::value::{format_save, parse_save};

/// Redis refuses file names with a directory part for `dbfilename` and
/// `appendfilename`: files always live in `dir`.
fn is_base_name(v: &str) -> bool {
    !v.contains('/') && v != "." && v != ".."
}

pub(super) static KNOBS: &[Knob] = &[
    Knob {
        name: "dir",
        default: "./data",
        doc: "Working directory: snapshots and AOF files are written here (created if missing).",
        kind: string!(dir),
        mutability: Mutability::Protected,
        ..Knob::RUNTIME
    },
    Knob {
        name: "dbfilename",
        default: "dump.kevy",
        doc: "Snapshot file name inside dir (kevy's own snapshot format).",
        kind: string!(dbfilename, |v| {
            if is_base_name(v) {
                Ok(())
            } else {
                Err("dbfilename can't be a path, just a filename")
            }
        }),
        mutability: Mutability::Protected,
        ..Knob::RUNTIME
    },
    Knob {
        name: "save",
        default: "3600 1 300 100 60 10000",
        doc: "Snapshot after <seconds> if at least <changes> writes, for each pair; \"\" disables snapshots.",
        kind: super::Kind::Custom {
            hint: "seconds changes [seconds changes ...]",
            get: |c| format_save(&c.save),
            set: |c, v| {
                c.save = parse_save(v)?;
                Ok(())
            },
        },
        ..Knob::RUNTIME
    },
    Knob {
        name: "stop-writes-on-bgsave-error",
        default: "yes",
        doc: "Refuse writes while the last background snapshot failed.",
        kind: boolean!(stop_writes_on_bgsave_error),
        ..Knob::RUNTIME
    },
    Knob {
        name: "rdbcompression",
        default: "yes",
        doc: "Compress strings in RDB files; accepted for compatibility.",
        kind: boolean!(rdbcompression),
        compat: true,
        ..Knob::RUNTIME
    },
    Knob {
        name: "rdbchecksum",
        default: "yes",
        doc: "Checksum RDB files; accepted for compatibility (kevy snapshots are always checksummed).",
        kind: boolean!(rdbchecksum),
        compat: true,
        ..Knob::RESTART
    },
    Knob {
        name: "appendonly",
        default: "no",
        doc: "Log every write to the append-only file; turning it on at runtime writes a fresh AOF.",
        kind: boolean!(appendonly),
        ..Knob::RUNTIME
    },
    Knob {
        name: "appendfilename",
        default: "appendonly.aof",
        doc: "Base name of the AOF files inside dir (one per shard).",
        kind: string!(appendfilename, |v| {
            if is_base_name(v) {
                Ok(())
            } else {
                Err("appendfilename can't be a path, just a filename")
            }
        }),
        ..Knob::RESTART
    },
    Knob {
        name: "appendfsync",
        default: "everysec",
        doc: "When to fsync the AOF: before replying (always), once a second (everysec) or never (no).",
        kind: enumeration!(appendfsync, crate::AppendFsync),
        ..Knob::RUNTIME
    },
    Knob {
        name: "no-appendfsync-on-rewrite",
        default: "no",
        doc: "Skip AOF fsyncs while a rewrite runs; accepted for compatibility.",
        kind: boolean!(no_appendfsync_on_rewrite),
        compat: true,
        ..Knob::RUNTIME
    },
    Knob {
        name: "auto-aof-rewrite-percentage",
        default: "100",
        doc: "Rewrite the AOF when it grew this many percent since the last rewrite; 0 disables.",
        kind: int!(auto_aof_rewrite_percentage, 0, i32::MAX),
        ..Knob::RUNTIME
    },
    Knob {
        name: "auto-aof-rewrite-min-size",
        default: "64mb",
        doc: "Do not rewrite the AOF automatically while it is smaller than this.",
        kind: memory!(auto_aof_rewrite_min_size, 0, i64::MAX),
        ..Knob::RUNTIME
    },
    Knob {
        name: "aof-load-truncated",
        default: "yes",
        doc: "At start-up, load an AOF whose last frame is torn (cutting it off) instead of refusing to start.",
        kind: boolean!(aof_load_truncated),
        ..Knob::RUNTIME
    },
    Knob {
        name: "aof-use-rdb-preamble",
        default: "yes",
        doc: "Start rewritten AOFs with an RDB image; accepted for compatibility.",
        kind: boolean!(aof_use_rdb_preamble),
        compat: true,
        ..Knob::RUNTIME
    },
    Knob {
        name: "aof-rewrite-incremental-fsync",
        default: "yes",
        doc: "fsync every 4 MB while rewriting the AOF; accepted for compatibility.",
        kind: boolean!(aof_rewrite_incremental_fsync),
        compat: true,
        ..Knob::RUNTIME
    },
    Knob {
        name: "rdb-save-incremental-fsync",
        default: "yes",
        doc: "fsync every 4 MB while saving a snapshot; accepted for compatibility.",
        kind: boolean!(rdb_save_incremental_fsync),
        compat: true,
        ..Knob::RUNTIME
    },
];
