//! Server control: TIME, SHUTDOWN.

use super::{eq, Env, ServerCommand};
use crate::shared::now_us;
use bytes::Bytes;
use kevy_resp::Reply;
use kevy_store::spec::{flags::*, CommandMeta, Keys};

const fn meta(
    name: &'static str,
    arity: i16,
    flags: u32,
    summary: &'static str,
    since: &'static str,
) -> CommandMeta {
    CommandMeta {
        name,
        arity,
        flags,
        acl: 0,
        keys: Keys::None,
        group: "server",
        summary,
        since,
        complexity: "O(1)",
    }
}

pub(crate) static COMMANDS: &[ServerCommand] = &[
    ServerCommand {
        meta: meta(
            "time",
            1,
            LOADING | STALE | FAST,
            "Returns the server time.",
            "2.6.0",
        ),
        run: time,
    },
    ServerCommand {
        meta: meta(
            "shutdown",
            -1,
            ADMIN | NOSCRIPT | LOADING | STALE | NO_MULTI | ALLOW_BUSY,
            "Synchronously saves the database(s) to disk and shuts down the Redis server.",
            "1.0.0",
        ),
        run: shutdown,
    },
];

/// `TIME`
fn time(_: &mut Env<'_>, _: &[Bytes]) -> Reply {
    let us = now_us();
    Reply::Array(vec![
        Reply::bulk_int((us / 1_000_000) as i64),
        Reply::bulk_int((us % 1_000_000) as i64),
    ])
}

/// `SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT]`: on success the server
/// exits and the connection closes without a reply, as in Redis.
fn shutdown(env: &mut Env<'_>, argv: &[Bytes]) -> Reply {
    let (mut save, mut nosave, mut abort) = (false, false, false);
    for a in &argv[1..] {
        if eq(a, "save") {
            save = true;
        } else if eq(a, "nosave") {
            nosave = true;
        } else if eq(a, "abort") {
            abort = true;
        } else if !(eq(a, "now") || eq(a, "force")) {
            return Reply::error("ERR syntax error");
        }
    }
    if (save && nosave) || (abort && argv.len() > 2) {
        return Reply::error("ERR syntax error");
    }
    if abort {
        return Reply::error("ERR No shutdown in progress.");
    }
    let save_points = !env.shared.config.get().save.is_empty();
    if env
        .shared
        .persist
        .shutdown(&env.shared.store, save || (save_points && !nosave))
        .is_err()
    {
        return Reply::error("ERR Errors trying to SHUTDOWN. Check logs.");
    }
    env.shared.begin_shutdown();
    env.sess.close_after_reply = true;
    env.sess.reply_mode = 2;
    Reply::ok()
}
