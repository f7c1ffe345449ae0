//! EVAL, EVALSHA, EVAL_RO, EVALSHA_RO and SCRIPT (LOAD, EXISTS, FLUSH,
//! KILL, DEBUG, HELP); the function commands are in `functions.rs`. Both
//! run with the executor, which owns the thread's Lua VM (see
//! `exec::script`).

use super::{eq, help_reply, sub_arity, unknown_subcommand};
use crate::conn::Session;
use crate::exec::{Call, Executor, Target};
use crate::script::{KillOutcome, ScriptCommand};
use bytes::Bytes;
use kevy_resp::Reply;
use kevy_store::spec::{acl, flags as f, CommandMeta, Keys};

/// Keys of EVAL-like commands: `numkeys` at 2, then the keys.
fn numkeys_keys(argv: &[Bytes]) -> Vec<usize> {
    match argv.get(2).and_then(|n| kevy_store::parse_i64(n)) {
        Some(n) if n > 0 && (n as usize) <= argv.len().saturating_sub(3) => {
            (3..3 + n as usize).collect()
        }
        _ => Vec::new(),
    }
}

const EVAL_KEYS: Keys = Keys::Custom {
    first: 0,
    last: 0,
    step: 0,
    find: numkeys_keys,
};

const EVAL_FLAGS: u32 = f::NOSCRIPT | f::STALE | f::SKIP_MONITOR | f::MOVABLE_KEYS;

const fn script_meta(
    name: &'static str,
    arity: i16,
    flags: u32,
    keys: Keys,
    since: &'static str,
    summary: &'static str,
    complexity: &'static str,
) -> CommandMeta {
    CommandMeta {
        name,
        arity,
        flags,
        acl: acl::SCRIPTING | acl::SLOW,
        keys,
        group: "scripting",
        summary,
        since,
        complexity,
    }
}

const DEPENDS: &str = "Depends on the script that is executed.";
const DEPENDS_FN: &str = "Depends on the function that is executed";

/// Every scripting command.
pub(crate) static COMMANDS: &[ScriptCommand] = &[
    ScriptCommand {
        meta: script_meta(
            "eval",
            -3,
            EVAL_FLAGS,
            EVAL_KEYS,
            "2.6.0",
            "Executes a server-side Lua script.",
            DEPENDS,
        ),
        run: eval,
    },
    ScriptCommand {
        meta: script_meta(
            "evalsha",
            -3,
            EVAL_FLAGS,
            EVAL_KEYS,
            "2.6.0",
            "Executes a server-side Lua script by SHA1 digest.",
            DEPENDS,
        ),
        run: evalsha,
    },
    ScriptCommand {
        meta: script_meta(
            "eval_ro",
            -3,
            EVAL_FLAGS | f::READONLY,
            EVAL_KEYS,
            "7.0.0",
            "Executes a read-only server-side Lua script.",
            DEPENDS,
        ),
        run: eval_ro,
    },
    ScriptCommand {
        meta: script_meta(
            "evalsha_ro",
            -3,
            EVAL_FLAGS | f::READONLY,
            EVAL_KEYS,
            "7.0.0",
            "Executes a read-only server-side Lua script by SHA1 digest.",
            DEPENDS,
        ),
        run: evalsha_ro,
    },
    ScriptCommand {
        meta: script_meta(
            "fcall",
            -3,
            EVAL_FLAGS,
            EVAL_KEYS,
            "7.0.0",
            "Invokes a function.",
            DEPENDS_FN,
        ),
        run: super::functions::fcall,
    },
    ScriptCommand {
        meta: script_meta(
            "fcall_ro",
            -3,
            EVAL_FLAGS | f::READONLY,
            EVAL_KEYS,
            "7.0.0",
            "Invokes a read-only function.",
            DEPENDS_FN,
        ),
        run: super::functions::fcall_ro,
    },
    ScriptCommand {
        meta: script_meta(
            "script",
            -2,
            0,
            Keys::None,
            "2.6.0",
            "A container for Lua scripts management commands.",
            "Depends on subcommand.",
        ),
        run: script,
    },
    ScriptCommand {
        meta: script_meta(
            "function",
            -2,
            0,
            Keys::None,
            "7.0.0",
            "A container for function commands.",
            "Depends on subcommand.",
        ),
        run: super::functions::function,
    },
];

const NOT_INT: &str = "ERR value is not an integer or out of range";

/// `numkeys` of an EVAL-like command: the keys and the arguments after
/// them, or Redis's error.
pub(crate) fn split_keys<'a>(
    argv: &'a [Bytes],
    bad: &'static str,
) -> Result<(&'a [Bytes], &'a [Bytes]), Reply> {
    let Some(n) = kevy_store::parse_i64(&argv[2]) else {
        return Err(Reply::error(bad));
    };
    if n < 0 {
        return Err(Reply::error("ERR Number of keys can't be negative"));
    }
    let rest = &argv[3..];
    if n as usize > rest.len() {
        return Err(Reply::error(
            "ERR Number of keys can't be greater than number of args",
        ));
    }
    Ok(rest.split_at(n as usize))
}

fn eval(ex: &mut Executor<'_>, sess: &mut Session, argv: &[Bytes]) -> Reply {
    eval_body(ex, sess, argv, false)
}

fn eval_ro(ex: &mut Executor<'_>, sess: &mut Session, argv: &[Bytes]) -> Reply {
    eval_body(ex, sess, argv, true)
}

fn evalsha(ex: &mut Executor<'_>, sess: &mut Session, argv: &[Bytes]) -> Reply {
    eval_sha(ex, sess, argv, false)
}

fn evalsha_ro(ex: &mut Executor<'_>, sess: &mut Session, argv: &[Bytes]) -> Reply {
    eval_sha(ex, sess, argv, true)
}

fn eval_body(ex: &mut Executor<'_>, sess: &mut Session, argv: &[Bytes], ro: bool) -> Reply {
    let (keys, args) = match split_keys(argv, NOT_INT) {
        Ok(x) => x,
        Err(e) => return e,
    };
    let shared = ex.shared();
    let vm = match ex.vm.vm(&shared.scripting) {
        Ok(vm) => vm,
        Err(e) => return e,
    };
    let (sha, flags) = match vm.load_script(&argv[1]) {
        Ok(x) => x,
        Err(e) => return e,
    };
    shared.scripting.add_script(&sha, &argv[1]);
    ex.run_script(
        sess,
        Call {
            target: Target::Eval(&sha),
            keys,
            args,
            ro,
            flags,
            argv,
        },
    )
}

fn eval_sha(ex: &mut Executor<'_>, sess: &mut Session, argv: &[Bytes], ro: bool) -> Reply {
    let (keys, args) = match split_keys(argv, NOT_INT) {
        Ok(x) => x,
        Err(e) => return e,
    };
    let mut buf = [0u8; 40];
    if argv[1].len() != 40 {
        return Reply::error("NOSCRIPT No matching script. Please use EVAL.");
    }
    for (d, s) in buf.iter_mut().zip(argv[1].iter()) {
        *d = s.to_ascii_lowercase();
    }
    let Ok(sha) = std::str::from_utf8(&buf) else {
        return Reply::error("NOSCRIPT No matching script. Please use EVAL.");
    };
    let shared = ex.shared();
    let flags = match ex.vm.with_script(&shared.scripting, sha) {
        Ok(f) => f,
        Err(e) => return e,
    };
    ex.run_script(
        sess,
        Call {
            target: Target::Eval(sha),
            keys,
            args,
            ro,
            flags,
            argv,
        },
    )
}

const SCRIPT_HELP: &[&str] = &[
    "DEBUG (YES|SYNC|NO)",
    "    Set the debug mode for subsequent scripts executed.",
    "EXISTS <sha1> [<sha1> ...]",
    "    Return information about the existence of the scripts in the script cache.",
    "FLUSH [ASYNC|SYNC]",
    "    Flush the Lua scripts cache. Very dangerous on replicas.",
    "    When called without the optional mode argument, the behavior is determined by the",
    "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
    "    * ASYNC: Asynchronously flush the scripts cache.",
    "    * SYNC: Synchronously flush the scripts cache.",
    "KILL",
    "    Kill the currently executing Lua script.",
    "LOAD <script>",
    "    Load a script into the scripts cache without executing it.",
];

/// The reply to SCRIPT KILL / FUNCTION KILL.
pub(crate) fn kill_reply(outcome: KillOutcome) -> Reply {
    match outcome {
        KillOutcome::Killed => Reply::ok(),
        KillOutcome::NotBusy => Reply::error("NOTBUSY No scripts in execution right now."),
        KillOutcome::Mismatch { is_eval } => Reply::error(if is_eval {
            crate::script::BUSY_EVAL
        } else {
            crate::script::BUSY_FUNCTION
        }),
        KillOutcome::Unkillable => Reply::error("UNKILLABLE Sorry the script already executed write commands against the dataset. You can either wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command."),
    }
}

fn script(ex: &mut Executor<'_>, _sess: &mut Session, argv: &[Bytes]) -> Reply {
    let shared = ex.shared();
    let sub = &argv[1];
    let n = argv.len();
    if eq(sub, "help") && n == 2 {
        help_reply("script", SCRIPT_HELP)
    } else if eq(sub, "load") && n == 3 {
        let vm = match ex.vm.vm(&shared.scripting) {
            Ok(vm) => vm,
            Err(e) => return e,
        };
        match vm.load_script(&argv[2]) {
            Ok((sha, _)) => {
                shared.scripting.add_script(&sha, &argv[2]);
                Reply::Bulk(Bytes::from(sha))
            }
            Err(e) => e,
        }
    } else if eq(sub, "exists") && n >= 3 {
        Reply::Array(
            argv[2..]
                .iter()
                .map(|s| Reply::Int(shared.scripting.has_script(s) as i64))
                .collect(),
        )
    } else if eq(sub, "flush") {
        if n > 3 || (n == 3 && !eq(&argv[2], "sync") && !eq(&argv[2], "async")) {
            return Reply::error("ERR SCRIPT FLUSH only support SYNC|ASYNC option");
        }
        shared.scripting.flush_scripts();
        if let Ok(vm) = ex.vm.vm(&shared.scripting) {
            vm.flush_scripts();
        }
        Reply::ok()
    } else if eq(sub, "kill") && n == 2 {
        kill_reply(shared.scripting.busy.kill(true))
    } else if eq(sub, "debug") && n == 3 {
        if eq(&argv[2], "no") {
            Reply::ok()
        } else if eq(&argv[2], "yes") || eq(&argv[2], "sync") {
            Reply::error("ERR kevy does not support the Lua debugger (SCRIPT DEBUG YES|SYNC)")
        } else {
            Reply::error("ERR Use SCRIPT DEBUG YES/SYNC/NO")
        }
    } else if ["help", "load", "exists", "flush", "kill", "debug"]
        .iter()
        .any(|s| eq(sub, s))
    {
        sub_arity("script", sub)
    } else {
        unknown_subcommand("script", sub)
    }
}
