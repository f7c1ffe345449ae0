//! Network knobs: where kevy listens, who may connect, how many threads
//! serve them.

use super::{Kind, Knob};

/// Validates and stores `bind`: whitespace-separated addresses, each
/// optionally prefixed with `-` (Redis: skip it if unavailable).
fn set_bind(c: &mut crate::Config, v: &str) -> Result<(), &'static str> {
    let addrs: Vec<String> = v.split_whitespace().map(str::to_string).collect();
    if addrs.iter().any(|a| a == "-") || (addrs.is_empty() && !v.is_empty()) {
        return Err("Failed to bind to specified addresses.");
    }
    c.bind = addrs;
    Ok(())
}

pub(super) static KNOBS: &[Knob] = &[
    Knob {
        name: "bind",
        default: "127.0.0.1",
        doc: "Addresses to listen on, space-separated; \"* -::*\" means all IPv4 and (if available) IPv6.",
        kind: Kind::Custom {
            hint: "addr [addr ...]",
            get: |c| c.bind.join(" "),
            set: set_bind,
        },
        ..Knob::RESTART
    },
    Knob {
        name: "port",
        default: "6379",
        doc: "TCP port to accept connections on; 0 disables TCP.",
        kind: int!(port, 0, 65535),
        ..Knob::RESTART
    },
    Knob {
        name: "protected-mode",
        default: "yes",
        doc: "Refuse clients from non-loopback addresses while the default user has no password.",
        kind: boolean!(protected_mode),
        ..Knob::RUNTIME
    },
    Knob {
        name: "tcp-backlog",
        default: "511",
        doc: "Backlog of pending connections passed to listen().",
        kind: int!(tcp_backlog, 0, i32::MAX),
        ..Knob::RESTART
    },
    Knob {
        name: "tcp-keepalive",
        default: "300",
        doc: "Send TCP keepalives to idle clients every this many seconds; 0 disables them.",
        kind: int!(tcp_keepalive, 0, i32::MAX),
        ..Knob::RUNTIME
    },
    Knob {
        name: "timeout",
        default: "0",
        doc: "Close a client connection after it is idle this many seconds; 0 never closes.",
        kind: int!(timeout, 0, i32::MAX),
        ..Knob::RUNTIME
    },
    Knob {
        name: "maxclients",
        default: "10000",
        doc: "Maximum number of simultaneously connected clients.",
        kind: int!(maxclients, 1, u32::MAX),
        ..Knob::RUNTIME
    },
    Knob {
        name: "requirepass",
        default: "",
        doc: "Password clients must AUTH with; empty means no password.",
        kind: string!(requirepass),
        ..Knob::RUNTIME
    },
    Knob {
        name: "aclfile",
        default: "",
        doc: "File of ACL users (one `user <name> <rules>` line each), read at start and by ACL LOAD, written by ACL SAVE; empty means none.",
        kind: string!(aclfile),
        ..Knob::RESTART
    },
    Knob {
        name: "threads",
        default: "0",
        doc: "Event-loop threads (kevy); 0 means one per CPU core but one (at least one).",
        kind: int!(threads, 0, 1024),
        ..Knob::RESTART
    },
    Knob {
        name: "shards",
        default: "0",
        doc: "Keyspace shards, each with its own lock and AOF (kevy); 0 means the same as threads.",
        kind: int!(shards, 0, 16384),
        ..Knob::RESTART
    },
    Knob {
        name: "io-threads",
        default: "1",
        doc: "Redis I/O threads; accepted for compatibility (kevy sizes its loops with threads).",
        kind: int!(io_threads, 1, 128),
        compat: true,
        ..Knob::RESTART
    },
    Knob {
        name: "io-threads-do-reads",
        default: "no",
        doc: "Redis threaded reads; accepted for compatibility (kevy's loops always read).",
        kind: boolean!(io_threads_do_reads),
        compat: true,
        ..Knob::RESTART
    },
];
