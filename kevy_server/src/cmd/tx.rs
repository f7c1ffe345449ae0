//! Transactions: MULTI, DISCARD, WATCH, UNWATCH here; EXEC runs inside the
//! executor (`exec.rs`) because it needs the shard locks of every queued
//! command at once.

use super::{Env, ServerCommand};
use crate::conn::Session;
use crate::shared::Shared;
use bytes::Bytes;
use kevy_resp::Reply;
use kevy_store::spec::{acl, flags::*, CommandMeta, Keys};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

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
        acl: acl::TRANSACTION,
        keys,
        group: "transactions",
        summary,
        since,
        complexity: "O(1)",
    }
}

pub(crate) static COMMANDS: &[ServerCommand] = &[
    ServerCommand {
        meta: meta(
            "multi",
            1,
            NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY,
            Keys::None,
            "Starts a transaction.",
            "1.2.0",
        ),
        run: multi,
    },
    ServerCommand {
        meta: meta(
            "exec",
            1,
            NOSCRIPT | LOADING | STALE | SKIP_SLOWLOG,
            Keys::None,
            "Executes all commands in a transaction.",
            "1.2.0",
        ),
        run: exec_outside_executor,
    },
    ServerCommand {
        meta: meta(
            "discard",
            1,
            NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY,
            Keys::None,
            "Discards a transaction.",
            "2.0.0",
        ),
        run: discard,
    },
    ServerCommand {
        meta: meta(
            "watch",
            -2,
            NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY,
            Keys::ALL,
            "Monitors changes to keys to determine the execution of a transaction.",
            "2.2.0",
        ),
        run: watch,
    },
    ServerCommand {
        meta: meta(
            "unwatch",
            1,
            NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY,
            Keys::None,
            "Forgets about watched keys of a transaction.",
            "2.2.0",
        ),
        run: unwatch,
    },
];

/// `MULTI`
fn multi(env: &mut Env<'_>, _: &[Bytes]) -> Reply {
    if env.sess.multi.is_some() {
        return Reply::error("ERR MULTI calls can not be nested");
    }
    env.sess.multi = Some(Vec::new());
    env.sess.multi_dirty = false;
    Reply::ok()
}

/// EXEC is intercepted by the executor; reaching this body means a bug.
fn exec_outside_executor(_: &mut Env<'_>, _: &[Bytes]) -> Reply {
    Reply::error("ERR EXEC without MULTI")
}

/// `DISCARD`
fn discard(env: &mut Env<'_>, _: &[Bytes]) -> Reply {
    if env.sess.multi.take().is_none() {
        return Reply::error("ERR DISCARD without MULTI");
    }
    env.sess.multi_dirty = false;
    unwatch_all(env.shared, env.sess);
    Reply::ok()
}

/// `WATCH key [key ...]`
fn watch(env: &mut Env<'_>, argv: &[Bytes]) -> Reply {
    if env.sess.multi.is_some() {
        return Reply::error("ERR WATCH inside MULTI is not allowed");
    }
    let flag = env
        .sess
        .watch_flag
        .get_or_insert_with(|| Arc::new(AtomicBool::new(false)))
        .clone();
    let db = env.sess.db;
    for key in &argv[1..] {
        if env
            .sess
            .watched
            .iter()
            .any(|(d, k, _)| *d == db && k == key)
        {
            continue;
        }
        let id = env.shared.store.shard_of(key);
        let mut locked = env.shared.store.lock(&[id]);
        let Some(shard) = locked.shard_mut(id) else {
            continue;
        };
        shard.watch(db, key, flag.clone());
        let expire = shard
            .dbs
            .get(db)
            .and_then(|d| d.get(key))
            .and_then(|e| e.expire_at())
            .unwrap_or(0);
        env.sess
            .watched
            .push((db, Bytes::copy_from_slice(key), expire));
    }
    Reply::ok()
}

/// `UNWATCH`
fn unwatch(env: &mut Env<'_>, _: &[Bytes]) -> Reply {
    unwatch_all(env.shared, env.sess);
    Reply::ok()
}

/// Forgets every watched key of `sess` and resets its flag.
pub fn unwatch_all(shared: &Shared, sess: &mut Session) {
    if let Some(flag) = &sess.watch_flag {
        for (db, key, _) in sess.watched.drain(..) {
            let id = shared.store.shard_of(&key);
            let mut locked = shared.store.lock(&[id]);
            if let Some(s) = locked.shard_mut(id) {
                s.unwatch(db, &key, flag);
            }
        }
        flag.store(false, Ordering::Release);
    }
    sess.watched.clear();
}
