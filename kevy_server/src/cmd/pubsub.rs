//! Pub/sub commands: (P|S)SUBSCRIBE, (P|S)UNSUBSCRIBE, PUBLISH, SPUBLISH,
//! PUBSUB CHANNELS|NUMSUB|NUMPAT|SHARDCHANNELS|SHARDNUMSUB|HELP.

use super::{eq, help_reply, sub_arity, unknown_subcommand, Env, ServerCommand};
use crate::conn::Session;
use crate::pubsub::{Kind, Sub};
use crate::shared::Shared;
use bytes::Bytes;
use kevy_resp::{Protocol, Reply};
use kevy_store::spec::{flags::*, CommandMeta, Keys};
use std::sync::atomic::Ordering;

const fn meta(
    name: &'static str,
    arity: i16,
    flags: u32,
    keys: Keys,
    summary: &'static str,
    since: &'static str,
) -> CommandMeta {
    CommandMeta {
        name,
        arity,
        flags,
        acl: 0,
        keys,
        group: "pubsub",
        summary,
        since,
        complexity: "O(N)",
    }
}

const SUBF: u32 = PUBSUB | NOSCRIPT | LOADING | STALE;

pub(crate) static COMMANDS: &[ServerCommand] = &[
    ServerCommand {
        meta: meta(
            "subscribe",
            -2,
            SUBF,
            Keys::None,
            "Listens for messages published to channels.",
            "2.0.0",
        ),
        run: subscribe,
    },
    ServerCommand {
        meta: meta(
            "unsubscribe",
            -1,
            SUBF,
            Keys::None,
            "Stops listening to messages posted to channels.",
            "2.0.0",
        ),
        run: unsubscribe,
    },
    ServerCommand {
        meta: meta(
            "psubscribe",
            -2,
            SUBF,
            Keys::None,
            "Listens for messages published to channels that match one or more patterns.",
            "2.0.0",
        ),
        run: psubscribe,
    },
    ServerCommand {
        meta: meta(
            "punsubscribe",
            -1,
            SUBF,
            Keys::None,
            "Stops listening to messages published to channels that match one or more patterns.",
            "2.0.0",
        ),
        run: punsubscribe,
    },
    ServerCommand {
        meta: meta(
            "ssubscribe",
            -2,
            SUBF,
            Keys::ALL,
            "Listens for messages published to shard channels.",
            "7.0.0",
        ),
        run: ssubscribe,
    },
    ServerCommand {
        meta: meta(
            "sunsubscribe",
            -1,
            SUBF,
            Keys::ALL,
            "Stops listening to messages posted to shard channels.",
            "7.0.0",
        ),
        run: sunsubscribe,
    },
    ServerCommand {
        meta: meta(
            "publish",
            3,
            PUBSUB | LOADING | STALE | FAST | MAY_REPLICATE,
            Keys::None,
            "Posts a message to a channel.",
            "2.0.0",
        ),
        run: publish,
    },
    ServerCommand {
        meta: meta(
            "spublish",
            3,
            PUBSUB | LOADING | STALE | FAST | MAY_REPLICATE,
            Keys::ONE,
            "Post a message to a shard channel",
            "7.0.0",
        ),
        run: spublish,
    },
    ServerCommand {
        meta: meta(
            "pubsub",
            -2,
            0,
            Keys::None,
            "A container for Pub/Sub commands.",
            "2.8.0",
        ),
        run: pubsub,
    },
];

fn bulk(s: &'static str) -> Reply {
    Reply::Bulk(Bytes::from_static(s.as_bytes()))
}

fn me(sess: &Session) -> Sub {
    Sub {
        id: sess.id,
        worker: sess.handle.worker,
        handle: sess.handle.clone(),
    }
}

/// Subscriptions counted in (un)subscribe confirmations: channels plus
/// patterns, or shard channels alone.
fn count(sess: &Session, kind: Kind) -> i64 {
    match kind {
        Kind::Shard => sess.ssubs.len() as i64,
        _ => (sess.subs.len() + sess.psubs.len()) as i64,
    }
}

fn list_of(sess: &mut Session, kind: Kind) -> &mut Vec<Bytes> {
    match kind {
        Kind::Channel => &mut sess.subs,
        Kind::Pattern => &mut sess.psubs,
        Kind::Shard => &mut sess.ssubs,
    }
}

/// Updates the client's kind for CLIENT LIST/KILL TYPE pubsub.
fn refresh_kind(sess: &Session) {
    let subscribed = !(sess.subs.is_empty() && sess.psubs.is_empty() && sess.ssubs.is_empty());
    sess.handle
        .kind
        .store(if subscribed { 1 } else { 0 }, Ordering::Relaxed);
}

fn sub_generic(env: &mut Env<'_>, argv: &[Bytes], kind: Kind, label: &'static str) -> Reply {
    let mut frames = Vec::new();
    for name in &argv[1..] {
        if env.shared.pubsub.subscribe(kind, name, me(env.sess)) {
            list_of(env.sess, kind).push(Bytes::copy_from_slice(name));
        }
        frames.push(Reply::Push(vec![
            bulk(label),
            Reply::Bulk(name.clone()),
            Reply::Int(count(env.sess, kind)),
        ]));
    }
    refresh_kind(env.sess);
    env.sess.frames = Some(frames);
    Reply::ok()
}

fn unsub_generic(env: &mut Env<'_>, argv: &[Bytes], kind: Kind, label: &'static str) -> Reply {
    let names: Vec<Bytes> = if argv.len() > 1 {
        argv[1..].to_vec()
    } else {
        list_of(env.sess, kind).clone()
    };
    let mut frames = Vec::new();
    if names.is_empty() {
        frames.push(Reply::Push(vec![
            bulk(label),
            Reply::Nil,
            Reply::Int(count(env.sess, kind)),
        ]));
    }
    for name in names {
        env.shared.pubsub.unsubscribe(kind, &name, env.sess.id);
        list_of(env.sess, kind).retain(|n| *n != name);
        frames.push(Reply::Push(vec![
            bulk(label),
            Reply::Bulk(name),
            Reply::Int(count(env.sess, kind)),
        ]));
    }
    refresh_kind(env.sess);
    env.sess.frames = Some(frames);
    Reply::ok()
}

fn subscribe(env: &mut Env<'_>, argv: &[Bytes]) -> Reply {
    sub_generic(env, argv, Kind::Channel, "subscribe")
}
fn unsubscribe(env: &mut Env<'_>, argv: &[Bytes]) -> Reply {
    unsub_generic(env, argv, Kind::Channel, "unsubscribe")
}
fn psubscribe(env: &mut Env<'_>, argv: &[Bytes]) -> Reply {
    sub_generic(env, argv, Kind::Pattern, "psubscribe")
}
fn punsubscribe(env: &mut Env<'_>, argv: &[Bytes]) -> Reply {
    unsub_generic(env, argv, Kind::Pattern, "punsubscribe")
}
// Redis checks that shard channels share a slot only in cluster mode; a
// standalone server (what kevy answers as) accepts any mix.
fn ssubscribe(env: &mut Env<'_>, argv: &[Bytes]) -> Reply {
    sub_generic(env, argv, Kind::Shard, "ssubscribe")
}
fn sunsubscribe(env: &mut Env<'_>, argv: &[Bytes]) -> Reply {
    unsub_generic(env, argv, Kind::Shard, "sunsubscribe")
}

/// `PUBLISH channel message`
fn publish(env: &mut Env<'_>, argv: &[Bytes]) -> Reply {
    Reply::Int(
        env.shared
            .pubsub
            .publish(env.shared, Kind::Channel, &argv[1], &argv[2]) as i64,
    )
}

/// `SPUBLISH shardchannel message`
fn spublish(env: &mut Env<'_>, argv: &[Bytes]) -> Reply {
    Reply::Int(
        env.shared
            .pubsub
            .publish(env.shared, Kind::Shard, &argv[1], &argv[2]) as i64,
    )
}

const HELP: &[&str] = &[
    "CHANNELS [<pattern>]",
    "    Return the currently active channels matching a <pattern> (default: '*').",
    "NUMPAT",
    "    Return number of subscriptions to patterns.",
    "NUMSUB [<channel> ...]",
    "    Return the number of subscribers for the specified channels, excluding",
    "    pattern subscriptions(default: no channels).",
    "SHARDCHANNELS [<pattern>]",
    "    Return the currently active shard level channels matching a <pattern> (default: '*').",
    "SHARDNUMSUB [<shardchannel> ...]",
    "    Return the number of subscribers for the specified shard level channel(s)",
];

/// `PUBSUB <subcommand>`
fn pubsub(env: &mut Env<'_>, argv: &[Bytes]) -> Reply {
    let ps = &env.shared.pubsub;
    let sub = &argv[1];
    let n = argv.len();
    let names = |kind| {
        let pat = argv.get(2).map(|p| &p[..]);
        Reply::Array(ps.names(kind, pat).into_iter().map(Reply::Bulk).collect())
    };
    let numsub = |kind| {
        let mut out = Vec::new();
        for c in &argv[2..] {
            out.push(Reply::Bulk(c.clone()));
            out.push(Reply::Int(ps.count(kind, c) as i64));
        }
        Reply::Array(out)
    };
    if eq(sub, "help") && n == 2 {
        help_reply("pubsub", HELP)
    } else if eq(sub, "channels") && n <= 3 {
        names(Kind::Channel)
    } else if eq(sub, "shardchannels") && n <= 3 {
        names(Kind::Shard)
    } else if eq(sub, "numsub") {
        numsub(Kind::Channel)
    } else if eq(sub, "shardnumsub") {
        numsub(Kind::Shard)
    } else if eq(sub, "numpat") && n == 2 {
        Reply::Int(ps.numpat() as i64)
    } else if eq(sub, "channels") || eq(sub, "shardchannels") {
        // Arity -2 passes the table check; the handler refuses more.
        Reply::error(format!(
            "ERR unknown subcommand or wrong number of arguments for '{}'. Try PUBSUB HELP.",
            String::from_utf8_lossy(sub)
        ))
    } else if eq(sub, "help") || eq(sub, "numpat") {
        sub_arity("pubsub", sub)
    } else {
        unknown_subcommand("pubsub", sub)
    }
}

/// Drops every subscription of a closing or RESET client.
pub fn unsubscribe_all(shared: &Shared, sess: &mut Session) {
    for (kind, list) in [
        (Kind::Channel, &mut sess.subs),
        (Kind::Pattern, &mut sess.psubs),
        (Kind::Shard, &mut sess.ssubs),
    ] {
        for name in list.drain(..) {
            shared.pubsub.unsubscribe(kind, &name, sess.id);
        }
    }
    sess.handle.kind.store(0, Ordering::Relaxed);
}

/// True when a RESP2 client is in subscribed mode.
pub fn in_subscribed_mode(sess: &Session) -> bool {
    sess.proto == Protocol::Resp2
        && !(sess.subs.is_empty() && sess.psubs.is_empty() && sess.ssubs.is_empty())
}

/// Commands a RESP2 client may run in subscribed mode.
pub fn allowed_in_subscribed_mode(name: &str) -> bool {
    matches!(
        name,
        "subscribe"
            | "ssubscribe"
            | "psubscribe"
            | "unsubscribe"
            | "sunsubscribe"
            | "punsubscribe"
            | "ping"
            | "quit"
            | "reset"
    )
}
