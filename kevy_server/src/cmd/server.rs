//! Server control: TIME, SHUTDOWN, and the module/LOLWUT commands of a
//! server without modules (MODULE LIST is empty; loading is refused with
//! the error Redis gives while `enable-module-command` is off).

use super::{eq, help_reply, sub_arity, unknown_subcommand, Env, ServerCommand};
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
    ServerCommand {
        meta: meta("module", -2, 0, "A container for module commands.", "4.0.0"),
        run: module,
    },
    ServerCommand {
        meta: meta(
            "lolwut",
            -1,
            READONLY | FAST,
            "Displays computer art and the Redis version",
            "5.0.0",
        ),
        run: lolwut,
    },
];

const MODULE_HELP: &[&str] = &[
    "LIST",
    "    Return a list of loaded modules.",
    "LOAD <path> [<arg> ...]",
    "    Load a module library from <path>, passing to it any optional arguments.",
    "LOADEX <path> [[CONFIG NAME VALUE] [CONFIG NAME VALUE]] [ARGS ...]",
    "    Load a module library from <path>, while passing it module configurations and optional arguments.",
    "UNLOAD <name>",
    "    Unload a module.",
];

/// `MODULE LIST|LOAD|LOADEX|UNLOAD|HELP`: kevy loads no modules.
fn module(_: &mut Env<'_>, argv: &[Bytes]) -> Reply {
    let sub = &argv[1];
    let n = argv.len();
    if eq(sub, "help") && n == 2 {
        help_reply("module", MODULE_HELP)
    } else if eq(sub, "list") && n == 2 {
        Reply::Array(Vec::new())
    } else if (eq(sub, "load") || eq(sub, "loadex")) && n >= 3 || eq(sub, "unload") && n == 3 {
        Reply::error("ERR MODULE command not allowed. If the enable-module-command option is set to \"local\", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server.")
    } else if ["help", "list", "load", "loadex", "unload"]
        .iter()
        .any(|s| eq(sub, s))
    {
        sub_arity("module", sub)
    } else {
        unknown_subcommand("module", sub)
    }
}

/// `LOLWUT [VERSION v]`: Redis 7.0 draws no art for its own version and
/// prints the version line; kevy prints that line for every version.
fn lolwut(_: &mut Env<'_>, argv: &[Bytes]) -> Reply {
    let mut i = 1;
    while i < argv.len() {
        if eq(&argv[i], "version") && i + 1 < argv.len() {
            if kevy_store::parse_i64(&argv[i + 1]).is_none() {
                return Reply::error("ERR value is not an integer or out of range");
            }
            i += 2;
        } else {
            i += 1;
        }
    }
    Reply::Verbatim("txt", Bytes::from_static(b"Redis ver. 7.0.15\n"))
}

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
