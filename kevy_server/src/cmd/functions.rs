//! FCALL, FCALL_RO and FUNCTION (LOAD, DELETE, FLUSH, LIST, DUMP,
//! RESTORE, STATS, KILL, HELP). The libraries are shared state
//! (`script::Scripting`): a change is made in this thread's VM first (so
//! a library that fails to load changes nothing), then published, then
//! persisted.

use super::scripting::{kill_reply, split_keys};
use super::{eq, help_reply, sub_arity, unknown_subcommand};
use crate::conn::Session;
use crate::exec::{Call, Executor, Target};
use crate::script::{decode_functions, encode_functions, Libs};
use bytes::Bytes;
use kevy_resp::Reply;
use kevy_script::{Library, ScriptFlags};

pub(crate) fn fcall(ex: &mut Executor<'_>, sess: &mut Session, argv: &[Bytes]) -> Reply {
    call(ex, sess, argv, false)
}

pub(crate) fn fcall_ro(ex: &mut Executor<'_>, sess: &mut Session, argv: &[Bytes]) -> Reply {
    call(ex, sess, argv, true)
}

fn call(ex: &mut Executor<'_>, sess: &mut Session, argv: &[Bytes], ro: bool) -> Reply {
    let (keys, args) = match split_keys(argv, "ERR Bad number of keys provided") {
        Ok(x) => x,
        Err(e) => return e,
    };
    let shared = ex.shared();
    let vm = match ex.vm.with_libs(&shared.scripting) {
        Ok(vm) => vm,
        Err(e) => return e,
    };
    let name = String::from_utf8_lossy(&argv[1]).into_owned();
    let Some(flags) = vm.function_flags(&name) else {
        return Reply::error("ERR Function not found");
    };
    ex.run_script(
        sess,
        Call {
            target: Target::Function(&name),
            keys,
            args,
            ro,
            flags,
            argv,
        },
    )
}

const HELP: &[&str] = &[
    "LOAD [REPLACE] <FUNCTION CODE>",
    "    Create a new library with the given library name and code.",
    "DELETE <LIBRARY NAME>",
    "    Delete the given library.",
    "LIST [LIBRARYNAME PATTERN] [WITHCODE]",
    "    Return general information on all the libraries:",
    "    * Library name",
    "    * The engine used to run the Library",
    "    * Library description",
    "    * Functions list",
    "    * Library code (if WITHCODE is given)",
    "    It also possible to get only function that matches a pattern using LIBRARYNAME argument.",
    "STATS",
    "    Return information about the current function running:",
    "    * Function name",
    "    * Command used to run the function",
    "    * Duration in MS that the function is running",
    "    If no function is running, return nil",
    "    In addition, returns a list of available engines.",
    "KILL",
    "    Kill the current running function.",
    "FLUSH [ASYNC|SYNC]",
    "    Delete all the libraries.",
    "    When called without the optional mode argument, the behavior is determined by the",
    "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
    "    * ASYNC: Asynchronously flush the libraries.",
    "    * SYNC: Synchronously flush the libraries.",
    "DUMP",
    "    Return a serialized payload representing the current libraries, can be restored using FUNCTION RESTORE command",
    "RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
    "    Restore the libraries represented by the given payload, it is possible to give a restore policy to",
    "    control how to handle existing libraries (default APPEND):",
    "    * FLUSH: delete all existing libraries.",
    "    * APPEND: appends the restored libraries to the existing libraries. On collision, abort.",
    "    * REPLACE: appends the restored libraries to the existing libraries, On collision, replace the old",
    "      libraries with the new libraries (notice that even on this option there is a chance of failure",
    "      in case of functions name collision with another library).",
];

const OOM: &str = "OOM command not allowed when used memory > 'maxmemory'.";

fn over_memory(ex: &Executor<'_>) -> bool {
    let max = ex.shared().config.get().maxmemory;
    max != 0 && crate::memory::over(max)
}

pub(crate) fn function(ex: &mut Executor<'_>, _sess: &mut Session, argv: &[Bytes]) -> Reply {
    let shared = ex.shared();
    let sub = &argv[1];
    let n = argv.len();
    if eq(sub, "help") && n == 2 {
        help_reply("function", HELP)
    } else if eq(sub, "load") && n >= 3 {
        load(ex, argv)
    } else if eq(sub, "delete") && n == 3 {
        change(ex, |vm, libs| {
            let name = String::from_utf8_lossy(&argv[2]).into_owned();
            if !vm.delete_library(&name) {
                return Err(Reply::error("ERR Library not found"));
            }
            libs.list.retain(|l| l.name != name);
            Ok(Reply::ok())
        })
    } else if eq(sub, "flush") && n <= 3 {
        if n == 3 && !eq(&argv[2], "sync") && !eq(&argv[2], "async") {
            return Reply::error("ERR FUNCTION FLUSH only supports SYNC|ASYNC option");
        }
        change(ex, |vm, libs| {
            vm.flush_libraries();
            libs.list.clear();
            Ok(Reply::ok())
        })
    } else if eq(sub, "list") {
        list(ex, argv)
    } else if eq(sub, "dump") && n == 2 {
        let libs = shared.scripting.libs();
        Reply::Bulk(Bytes::from(encode_functions(&libs.list)))
    } else if eq(sub, "restore") && (n == 3 || n == 4) {
        restore(ex, argv)
    } else if eq(sub, "stats") && n == 2 {
        stats_reply(shared)
    } else if eq(sub, "kill") && n == 2 {
        kill_reply(shared.scripting.busy.kill(false))
    } else if [
        "help", "load", "delete", "flush", "list", "dump", "restore", "stats", "kill",
    ]
    .iter()
    .any(|s| eq(sub, s))
    {
        if eq(sub, "restore") || eq(sub, "flush") {
            return Reply::error(format!(
                "ERR unknown subcommand or wrong number of arguments for '{}'. Try FUNCTION HELP.",
                String::from_utf8_lossy(sub)
            ));
        }
        sub_arity("function", sub)
    } else {
        unknown_subcommand("function", sub)
    }
}

/// Applies a change to the libraries: in this thread's VM (brought up to
/// date first) and, when `f` succeeds, in the shared list, which is then
/// published and persisted. Changes are serialized by the list's lock.
fn change(
    ex: &mut Executor<'_>,
    f: impl FnOnce(&mut kevy_script::Vm, &mut Libs) -> Result<Reply, Reply>,
) -> Reply {
    let shared = ex.shared();
    let mut libs = shared.scripting.libs();
    if let Err(e) = ex.vm.sync_libs(&shared.scripting, &libs) {
        return e;
    }
    let vm = match ex.vm.vm(&shared.scripting) {
        Ok(vm) => vm,
        Err(e) => return e,
    };
    let before = libs.list.clone();
    match f(vm, &mut libs) {
        Ok(r) => {
            let g = shared.scripting.libs_changed();
            ex.vm.set_libs_gen(g);
            if let Err(e) = crate::persist::functions::save(shared, &libs.list) {
                eprintln!("kevy: cannot persist the function libraries: {e}");
                let _ = before;
            }
            r
        }
        Err(e) => {
            // The VM may hold part of the change: reload it from the list.
            let _ = ex.vm.sync_libs(&shared.scripting, &libs);
            e
        }
    }
}

fn load(ex: &mut Executor<'_>, argv: &[Bytes]) -> Reply {
    let mut replace = false;
    let mut i = 2;
    while i + 1 < argv.len() {
        if eq(&argv[i], "replace") {
            replace = true;
        } else {
            return Reply::error(format!(
                "ERR Unknown option given: {}",
                String::from_utf8_lossy(&argv[i])
            ));
        }
        i += 1;
    }
    if over_memory(ex) {
        return Reply::error(OOM);
    }
    let code = argv[argv.len() - 1].clone();
    change(ex, |vm, libs| {
        let lib = vm.load_library(&code, replace)?;
        let name = lib.name.clone();
        match libs.list.iter().position(|l| l.name == name) {
            Some(p) => libs.list[p] = lib,
            None => libs.list.push(lib),
        }
        Ok(Reply::Bulk(Bytes::from(name)))
    })
}

fn restore(ex: &mut Executor<'_>, argv: &[Bytes]) -> Reply {
    let policy =
        match argv.get(3) {
            None => "append",
            Some(p) if eq(p, "append") => "append",
            Some(p) if eq(p, "replace") => "replace",
            Some(p) if eq(p, "flush") => "flush",
            Some(_) => return Reply::error(
                "ERR Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.",
            ),
        };
    let codes = match decode_functions(&argv[2]) {
        Ok(c) => c,
        Err(e) => return Reply::error(e),
    };
    if over_memory(ex) {
        return Reply::error(OOM);
    }
    change(ex, |vm, libs| {
        if policy == "flush" {
            vm.flush_libraries();
            libs.list.clear();
        }
        let mut loaded: Vec<Library> = Vec::new();
        for code in &codes {
            let name =
                kevy_script::library_name(code).map_err(|e| Reply::error(format!("ERR {e}")))?;
            if policy == "append" && libs.list.iter().any(|l| l.name == name) {
                return Err(Reply::error(format!("ERR Library {name} already exists")));
            }
            loaded.push(vm.load_library(code, policy == "replace")?);
        }
        for lib in loaded {
            match libs.list.iter().position(|l| l.name == lib.name) {
                Some(p) => libs.list[p] = lib,
                None => libs.list.push(lib),
            }
        }
        Ok(Reply::ok())
    })
}

fn list(ex: &mut Executor<'_>, argv: &[Bytes]) -> Reply {
    let mut with_code = false;
    let mut pattern: Option<&[u8]> = None;
    let mut i = 2;
    while i < argv.len() {
        let a = &argv[i];
        if eq(a, "withcode") && !with_code {
            with_code = true;
        } else if eq(a, "libraryname") && pattern.is_none() {
            let Some(p) = argv.get(i + 1) else {
                return Reply::error("ERR library name argument was not given");
            };
            pattern = Some(p);
            i += 1;
        } else {
            return Reply::error(format!(
                "ERR Unknown argument {}",
                String::from_utf8_lossy(a)
            ));
        }
        i += 1;
    }
    let libs = ex.shared().scripting.libs();
    let k = |s: &'static str| Reply::Bulk(Bytes::from_static(s.as_bytes()));
    let items = libs
        .list
        .iter()
        .filter(|l| pattern.is_none_or(|p| kevy_store::glob_match(p, l.name.as_bytes(), false)))
        .map(|l| {
            let functions = l
                .functions
                .iter()
                .map(|f| {
                    Reply::Map(vec![
                        (k("name"), Reply::Bulk(Bytes::from(f.name.clone()))),
                        (
                            k("description"),
                            f.description.clone().map_or(Reply::Nil, Reply::Bulk),
                        ),
                        (k("flags"), flags_reply(f.flags)),
                    ])
                })
                .collect();
            let mut m = vec![
                (k("library_name"), Reply::Bulk(Bytes::from(l.name.clone()))),
                (k("engine"), k("LUA")),
                (k("functions"), Reply::Array(functions)),
            ];
            if with_code {
                m.push((k("library_code"), Reply::Bulk(l.code.clone())));
            }
            Reply::Map(m)
        })
        .collect();
    Reply::Array(items)
}

fn flags_reply(flags: ScriptFlags) -> Reply {
    Reply::Set(
        flags
            .names()
            .map(|n| Reply::Simple(Bytes::from_static(n.as_bytes())))
            .collect(),
    )
}

/// FUNCTION STATS.
pub(crate) fn stats_reply(shared: &crate::shared::Shared) -> Reply {
    let running = match shared.scripting.busy.running_function() {
        Err(()) => return Reply::error(crate::script::BUSY_EVAL),
        Ok(None) => Reply::Nil,
        Ok(Some(r)) => Reply::Map(vec![
            (Reply::bulk(b"name"), Reply::Bulk(Bytes::from(r.name))),
            (
                Reply::bulk(b"command"),
                Reply::Array(r.argv.into_iter().map(Reply::Bulk).collect()),
            ),
            (
                Reply::bulk(b"duration_ms"),
                Reply::Int(r.started.elapsed().as_millis() as i64),
            ),
        ]),
    };
    let libs = shared.scripting.libs();
    let nfuncs: usize = libs.list.iter().map(|l| l.functions.len()).sum();
    Reply::Map(vec![
        (Reply::bulk(b"running_script"), running),
        (
            Reply::bulk(b"engines"),
            Reply::Map(vec![(
                Reply::bulk(b"LUA"),
                Reply::Map(vec![
                    (
                        Reply::bulk(b"libraries_count"),
                        Reply::Int(libs.list.len() as i64),
                    ),
                    (Reply::bulk(b"functions_count"), Reply::Int(nfuncs as i64)),
                ]),
            )]),
        ),
    ])
}
