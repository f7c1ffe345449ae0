//! Cluster-facing commands of a server that runs without cluster mode, as
//! redis-server does with `cluster-enabled no`: CLUSTER checks its
//! subcommand and arity, then answers that cluster support is disabled;
//! READONLY, READWRITE and ASKING answer the same. They exist so that
//! clients probing for a cluster, and ACL rules naming them, behave as
//! with Redis.

use super::{sub_arity, unknown_subcommand, Env, ServerCommand};
use bytes::Bytes;
use kevy_resp::Reply;
use kevy_store::spec::{acl, flags::*, CommandMeta};

const DISABLED: &str = "ERR This instance has cluster support disabled";

const fn meta(
    name: &'static str,
    arity: i16,
    flags: u32,
    acl: u64,
    summary: &'static str,
    since: &'static str,
) -> CommandMeta {
    super::keyless_meta(name, arity, flags, acl, "cluster", summary, since)
}

pub(crate) static COMMANDS: &[ServerCommand] = &[
    ServerCommand {
        meta: meta(
            "cluster",
            -2,
            0,
            0,
            "A container for cluster commands",
            "3.0.0",
        ),
        run: cluster,
    },
    ServerCommand {
        meta: meta(
            "readonly",
            1,
            LOADING | STALE | FAST,
            acl::CONNECTION,
            "Enables read queries for a connection to a cluster replica node",
            "3.0.0",
        ),
        run: disabled,
    },
    ServerCommand {
        meta: meta(
            "readwrite",
            1,
            LOADING | STALE | FAST,
            acl::CONNECTION,
            "Disables read queries for a connection to a cluster replica node",
            "3.0.0",
        ),
        run: disabled,
    },
    ServerCommand {
        meta: meta(
            "asking",
            1,
            FAST,
            acl::CONNECTION,
            "Sent by cluster clients after an -ASK redirect",
            "3.0.0",
        ),
        run: disabled,
    },
];

/// Redis 7.0's CLUSTER subcommands with their arities.
const SUBCOMMANDS: &[(&str, i16)] = &[
    ("addslots", -3),
    ("addslotsrange", -4),
    ("bumpepoch", 2),
    ("count-failure-reports", 3),
    ("countkeysinslot", 3),
    ("delslots", -3),
    ("delslotsrange", -4),
    ("failover", -2),
    ("flushslots", 2),
    ("forget", 3),
    ("getkeysinslot", 4),
    ("help", 2),
    ("info", 2),
    ("keyslot", 3),
    ("links", 2),
    ("meet", -4),
    ("myid", 2),
    ("nodes", 2),
    ("replicas", 3),
    ("replicate", 3),
    ("reset", -2),
    ("saveconfig", 2),
    ("set-config-epoch", 3),
    ("setslot", -4),
    ("shards", 2),
    ("slaves", 3),
    ("slots", 2),
];

fn disabled(_: &mut Env<'_>, _: &[Bytes]) -> Reply {
    Reply::error(DISABLED)
}

/// `CLUSTER <subcommand> ...`
fn cluster(_: &mut Env<'_>, argv: &[Bytes]) -> Reply {
    let sub = &argv[1];
    let Some(&(_, arity)) = SUBCOMMANDS
        .iter()
        .find(|(name, _)| sub.eq_ignore_ascii_case(name.as_bytes()))
    else {
        return unknown_subcommand("cluster", sub);
    };
    let n = argv.len() as i16;
    if (arity > 0 && n != arity) || (arity < 0 && n < -arity) {
        return sub_arity("cluster", sub);
    }
    Reply::error(DISABLED)
}
