//! Replication-facing commands of a server that has no replication: ROLE
//! (always a master with no replicas), and REPLICAOF/SLAVEOF, which accept
//! `NO ONE` (already true) and refuse to follow a master with an error that
//! says why, rather than pretending to.

use super::{eq, Env, ServerCommand};
use bytes::Bytes;
use kevy_resp::Reply;
use kevy_store::spec::{acl, flags::*, CommandMeta};

const fn meta(
    name: &'static str,
    arity: i16,
    flags: u32,
    acl: u64,
    summary: &'static str,
    since: &'static str,
) -> CommandMeta {
    super::keyless_meta(name, arity, flags, acl, "replication", summary, since)
}

pub(crate) static COMMANDS: &[ServerCommand] = &[
    ServerCommand {
        meta: meta(
            "role",
            1,
            NOSCRIPT | LOADING | STALE | FAST,
            acl::ADMIN | acl::DANGEROUS,
            "Returns the replication role.",
            "2.8.12",
        ),
        run: role,
    },
    ServerCommand {
        meta: meta(
            "replicaof",
            3,
            ADMIN | NOSCRIPT | STALE,
            0,
            "Configures a server as replica of another, or promotes it to a master.",
            "5.0.0",
        ),
        run: replicaof,
    },
    ServerCommand {
        meta: meta(
            "slaveof",
            3,
            ADMIN | NOSCRIPT | STALE,
            0,
            "Sets a Redis server as a replica of another, or promotes it to being a master.",
            "1.0.0",
        ),
        run: replicaof,
    },
];

/// `ROLE`: `master`, replication offset 0, no replicas.
fn role(_: &mut Env<'_>, _: &[Bytes]) -> Reply {
    Reply::Array(vec![
        Reply::Bulk(Bytes::from_static(b"master")),
        Reply::Int(0),
        Reply::Array(Vec::new()),
    ])
}

/// `REPLICAOF NO ONE | host port`
fn replicaof(_: &mut Env<'_>, argv: &[Bytes]) -> Reply {
    if eq(&argv[1], "no") && eq(&argv[2], "one") {
        return Reply::ok();
    }
    if kevy_store::parse_i64(&argv[2]).is_none_or(|p| !(0..=65535).contains(&p)) {
        return Reply::error("ERR Invalid master port");
    }
    Reply::error("ERR kevy does not support replication: it cannot follow a master")
}
