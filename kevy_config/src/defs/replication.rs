//! Replication and cluster knobs. kevy is a single server without
//! replication or cluster mode; these are accepted, validated and reported so
//! clients and tools that query them keep working.

use super::{Kind, Knob};

pub(super) static KNOBS: &[Knob] = &[
    Knob {
        name: "cluster-enabled",
        default: "no",
        doc: "Redis Cluster mode; accepted for compatibility, only no.",
        kind: boolean!(
            cluster_enabled,
            only_no = "kevy does not implement cluster mode"
        ),
        compat: true,
        ..Knob::RESTART
    },
    Knob {
        name: "replica-read-only",
        aliases: &["slave-read-only"],
        default: "yes",
        doc: "Replicas refuse writes; accepted for compatibility.",
        kind: boolean!(replica_read_only),
        ..Knob::COMPAT
    },
    Knob {
        name: "replica-serve-stale-data",
        aliases: &["slave-serve-stale-data"],
        default: "yes",
        doc: "Replicas answer while out of sync; accepted for compatibility.",
        kind: boolean!(replica_serve_stale_data),
        ..Knob::COMPAT
    },
    Knob {
        name: "replica-priority",
        aliases: &["slave-priority"],
        default: "100",
        doc: "Sentinel promotion priority; accepted for compatibility.",
        kind: int!(replica_priority, 0, i32::MAX),
        ..Knob::COMPAT
    },
    Knob {
        name: "repl-backlog-size",
        default: "1mb",
        doc: "Replication backlog size; accepted for compatibility.",
        kind: Kind::Memory {
            min: 1,
            max: i64::MAX as u64,
            get: |c| c.repl_backlog_size,
            // Redis raises anything smaller to its 16kb minimum on set.
            set: |c, v| c.repl_backlog_size = v.max(16 * 1024),
        },
        ..Knob::COMPAT
    },
    Knob {
        name: "repl-timeout",
        default: "60",
        doc: "Replication timeout in seconds; accepted for compatibility.",
        kind: int!(repl_timeout, 1, i32::MAX),
        ..Knob::COMPAT
    },
    Knob {
        name: "masterauth",
        default: "",
        doc: "Password for a master; accepted for compatibility.",
        kind: string!(masterauth),
        ..Knob::COMPAT
    },
];
