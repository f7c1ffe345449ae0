//! Encoding knobs: Redis's thresholds for its compact encodings (listpack,
//! intset, quicklist compression). kevy has its own representations, so
//! most of these are accepted, validated and reported for compatibility
//! only; the stream node limits decide where kevy's stream nodes split, as
//! Redis's do (so `XINFO STREAM` reports the same node counts).

use super::Knob;

pub(super) static KNOBS: &[Knob] = &[
    Knob {
        name: "list-max-listpack-size",
        aliases: &["list-max-ziplist-size"],
        default: "-2",
        doc: "Entries (positive) or size class (-1..-5) per list node; accepted for compatibility.",
        kind: int!(list_max_listpack_size, i32::MIN, i32::MAX),
        ..Knob::COMPAT
    },
    Knob {
        name: "list-compress-depth",
        default: "0",
        doc: "List nodes left uncompressed at each end; accepted for compatibility.",
        kind: int!(list_compress_depth, 0, i32::MAX),
        ..Knob::COMPAT
    },
    Knob {
        name: "hash-max-listpack-entries",
        aliases: &["hash-max-ziplist-entries"],
        default: "512",
        doc: "Largest hash kept compact, in fields; accepted for compatibility.",
        kind: int!(hash_max_listpack_entries, 0, i64::MAX),
        ..Knob::COMPAT
    },
    Knob {
        name: "hash-max-listpack-value",
        aliases: &["hash-max-ziplist-value"],
        default: "64",
        doc: "Largest hash field or value kept compact, in bytes; accepted for compatibility.",
        kind: memory!(hash_max_listpack_value, 0, i64::MAX),
        ..Knob::COMPAT
    },
    Knob {
        name: "set-max-intset-entries",
        default: "512",
        doc: "Largest all-integer set kept compact; accepted for compatibility.",
        kind: int!(set_max_intset_entries, 0, i64::MAX),
        ..Knob::COMPAT
    },
    Knob {
        name: "zset-max-listpack-entries",
        aliases: &["zset-max-ziplist-entries"],
        default: "128",
        doc: "Largest sorted set kept compact, in members; accepted for compatibility.",
        kind: int!(zset_max_listpack_entries, 0, i64::MAX),
        ..Knob::COMPAT
    },
    Knob {
        name: "zset-max-listpack-value",
        aliases: &["zset-max-ziplist-value"],
        default: "64",
        doc: "Largest sorted-set member kept compact, in bytes; accepted for compatibility.",
        kind: memory!(zset_max_listpack_value, 0, i64::MAX),
        ..Knob::COMPAT
    },
    Knob {
        name: "stream-node-max-bytes",
        default: "4kb",
        doc: "Largest stream node, in bytes of Redis's listpack encoding (0: no limit).",
        kind: memory!(stream_node_max_bytes, 0, i64::MAX),
        ..Knob::RUNTIME
    },
    Knob {
        name: "stream-node-max-entries",
        default: "100",
        doc: "Most entries in a stream node (0: no limit).",
        kind: int!(stream_node_max_entries, 0, i64::MAX),
        ..Knob::RUNTIME
    },
    Knob {
        name: "hll-sparse-max-bytes",
        default: "3000",
        doc: "Largest sparse HyperLogLog, in bytes; accepted for compatibility.",
        kind: memory!(hll_sparse_max_bytes, 0, i64::MAX),
        ..Knob::COMPAT
    },
];
