//! Persistence commands: SAVE, BGSAVE [SCHEDULE], BGREWRITEAOF, LASTSAVE.
//! The work is done by `crate::persist`; these only translate outcomes into
//! Redis's replies.

use super::{eq, Env, ServerCommand};
use crate::persist::{JobKind, Started};
use bytes::Bytes;
use kevy_resp::Reply;
use kevy_store::spec::{acl, flags::*, CommandMeta, Keys};

const fn meta(
    name: &'static str,
    arity: i16,
    flags: u32,
    acl: u64,
    summary: &'static str,
    since: &'static str,
) -> CommandMeta {
    CommandMeta {
        name,
        arity,
        flags,
        acl,
        keys: Keys::None,
        group: "server",
        summary,
        since,
        complexity: "O(N) where N is the total number of keys in all databases",
    }
}

pub(crate) static COMMANDS: &[ServerCommand] = &[
    ServerCommand {
        meta: meta(
            "save",
            1,
            ADMIN | NOSCRIPT | NO_MULTI,
            acl::ADMIN | acl::SLOW | acl::DANGEROUS,
            "Synchronously saves the database(s) to disk.",
            "1.0.0",
        ),
        run: save,
    },
    ServerCommand {
        meta: meta(
            "bgsave",
            -1,
            ADMIN | NOSCRIPT,
            acl::ADMIN | acl::SLOW | acl::DANGEROUS,
            "Asynchronously saves the database(s) to disk.",
            "1.0.0",
        ),
        run: bgsave,
    },
    ServerCommand {
        meta: meta(
            "bgrewriteaof",
            1,
            ADMIN | NOSCRIPT,
            acl::ADMIN | acl::SLOW | acl::DANGEROUS,
            "Asynchronously rewrites the append-only file to disk.",
            "1.0.0",
        ),
        run: bgrewriteaof,
    },
    ServerCommand {
        meta: CommandMeta {
            complexity: "O(1)",
            ..meta(
                "lastsave",
                1,
                LOADING | STALE | FAST,
                acl::ADMIN | acl::FAST | acl::DANGEROUS,
                "Returns the Unix timestamp of the last successful save to disk.",
                "1.0.0",
            )
        },
        run: lastsave,
    },
];

/// `SAVE`: replies once the snapshot is durable.
fn save(env: &mut Env<'_>, _: &[Bytes]) -> Reply {
    let p = &env.shared.persist;
    if p.busy() {
        return Reply::error("ERR Background save already in progress");
    }
    match p.save(&env.shared.store) {
        Ok(()) => Reply::ok(),
        Err(_) => Reply::error("ERR"),
    }
}

/// `BGSAVE [SCHEDULE]`
fn bgsave(env: &mut Env<'_>, argv: &[Bytes]) -> Reply {
    let schedule = match argv.len() {
        1 => false,
        2 if eq(&argv[1], "schedule") => true,
        _ => return Reply::error("ERR syntax error"),
    };
    match env.shared.persist.start_job(&env.shared.store, JobKind::Save, schedule) {
        Started::Now => Reply::simple("Background saving started"),
        Started::Scheduled => Reply::simple("Background saving scheduled"),
        Started::AlreadyRunning => Reply::error("ERR Background save already in progress"),
        Started::OtherRunning => Reply::error(
            "ERR Another child process is active (AOF?): can't BGSAVE right now. Use BGSAVE SCHEDULE in order to schedule a BGSAVE whenever possible.",
        ),
        Started::Failed(_) => Reply::error("ERR"),
    }
}

/// `BGREWRITEAOF`
fn bgrewriteaof(env: &mut Env<'_>, _: &[Bytes]) -> Reply {
    match env.shared.persist.start_job(&env.shared.store, JobKind::Rewrite, true) {
        Started::Now => Reply::simple("Background append only file rewriting started"),
        Started::Scheduled => Reply::simple("Background append only file rewriting scheduled"),
        Started::AlreadyRunning => Reply::error("ERR Background append only file rewriting already in progress"),
        Started::OtherRunning => Reply::simple("Background append only file rewriting scheduled"),
        Started::Failed(_) => Reply::error("ERR Can't execute an AOF background rewriting. Please check the server logs for more information."),
    }
}

/// `LASTSAVE`
fn lastsave(env: &mut Env<'_>, _: &[Bytes]) -> Reply {
    Reply::Int(env.shared.persist.lastsave().max(env.shared.started_unix) as i64)
}
