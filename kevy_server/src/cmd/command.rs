//! COMMAND and its subcommands (COUNT, INFO, DOCS, LIST, GETKEYS, HELP),
//! all answered from the one command table.

use super::{eq, help_reply, sub_arity, unknown_subcommand, Env, ServerCommand};
use crate::table::Cmd;
use bytes::Bytes;
use kevy_resp::Reply;
use kevy_store::spec::{acl, flags, flags::*, CommandMeta, Keys};

pub(crate) static COMMANDS: &[ServerCommand] = &[ServerCommand {
    meta: CommandMeta {
        name: "command",
        arity: -1,
        flags: LOADING | STALE,
        acl: acl::CONNECTION,
        keys: Keys::None,
        group: "server",
        summary: "Returns detailed information about all commands.",
        since: "2.8.13",
        complexity: "O(N) where N is the total number of Redis commands",
    },
    run: command,
}];

const HELP: &[&str] = &[
    "(no subcommand)",
    "    Return details about all Redis commands.",
    "COUNT",
    "    Return the total number of commands in this Redis server.",
    "LIST",
    "    Return a list of all commands in this Redis server.",
    "INFO [<command-name> ...]",
    "    Return details about multiple Redis commands.",
    "    If no command names are given, documentation details for all",
    "    commands are returned.",
    "DOCS [<command-name> ...]",
    "    Return documentation details about multiple Redis commands.",
    "    If no command names are given, documentation details for all",
    "    commands are returned.",
    "GETKEYS <full-command>",
    "    Return the keys from a full Redis command.",
    "GETKEYSANDFLAGS <full-command>",
    "    Return the keys and the access flags from a full Redis command.",
];

fn bulk(s: &str) -> Reply {
    Reply::Bulk(Bytes::from(s.to_string()))
}

fn status(s: &str) -> Reply {
    Reply::Simple(Bytes::from(s.to_string()))
}

/// The `COMMAND INFO` entry of one command.
fn info_entry(m: &CommandMeta) -> Reply {
    let flag_list = flags::NAMES
        .iter()
        .filter(|(f, _)| m.flags & f != 0)
        .map(|(_, n)| status(n))
        .collect();
    let cats = m.acl_categories();
    let acl_list = acl::NAMES
        .iter()
        .filter(|(c, _)| cats & c != 0)
        .map(|(_, n)| status(&format!("@{n}")))
        .collect();
    let (first, last, step) = m.key_triple();
    let key_specs = if matches!(m.keys, Keys::None) {
        vec![]
    } else {
        let access = if m.flags & WRITE != 0 { "RW" } else { "RO" };
        vec![Reply::Map(vec![
            (bulk("flags"), Reply::Set(vec![status(access)])),
            (
                bulk("begin_search"),
                Reply::Map(vec![
                    (bulk("type"), bulk("index")),
                    (
                        bulk("spec"),
                        Reply::Map(vec![(bulk("index"), Reply::Int(first as i64))]),
                    ),
                ]),
            ),
            (
                bulk("find_keys"),
                Reply::Map(vec![
                    (bulk("type"), bulk("range")),
                    (
                        bulk("spec"),
                        Reply::Map(vec![
                            (
                                bulk("lastkey"),
                                Reply::Int(if last < 0 {
                                    last as i64
                                } else {
                                    (last - first) as i64
                                }),
                            ),
                            (bulk("keystep"), Reply::Int(step as i64)),
                            (bulk("limit"), Reply::Int(0)),
                        ]),
                    ),
                ]),
            ),
        ])]
    };
    Reply::Array(vec![
        bulk(m.name),
        Reply::Int(m.arity as i64),
        Reply::Set(flag_list),
        Reply::Int(first as i64),
        Reply::Int(last as i64),
        Reply::Int(step as i64),
        Reply::Set(acl_list),
        Reply::Set(vec![]),
        Reply::Array(key_specs),
        Reply::Array(vec![]),
    ])
}

fn docs_entry(m: &CommandMeta) -> Reply {
    Reply::Map(vec![
        (bulk("summary"), bulk(m.summary)),
        (bulk("since"), bulk(m.since)),
        (bulk("group"), bulk(m.group)),
        (bulk("complexity"), bulk(m.complexity)),
    ])
}

fn command(env: &mut Env<'_>, argv: &[Bytes]) -> Reply {
    let table = &env.shared.commands;
    if argv.len() == 1 {
        return Reply::Array(table.iter().map(|c| info_entry(c.meta)).collect());
    }
    let sub = &argv[1];
    let n = argv.len();
    let find = |name: &[u8]| -> Option<&Cmd> { table.lookup(name).map(|(_, c)| c) };
    if eq(sub, "help") && n == 2 {
        help_reply("command", HELP)
    } else if eq(sub, "count") && n == 2 {
        Reply::Int(table.len() as i64)
    } else if eq(sub, "info") {
        if n == 2 {
            return Reply::Array(table.iter().map(|c| info_entry(c.meta)).collect());
        }
        Reply::Array(
            argv[2..]
                .iter()
                .map(|a| find(a).map_or(Reply::Nil, |c| info_entry(c.meta)))
                .collect(),
        )
    } else if eq(sub, "docs") {
        let mut out = Vec::new();
        if n == 2 {
            for c in table.iter() {
                out.push((bulk(c.meta.name), docs_entry(c.meta)));
            }
        } else {
            for a in &argv[2..] {
                if let Some(c) = find(a) {
                    out.push((bulk(c.meta.name), docs_entry(c.meta)));
                }
            }
        }
        Reply::Map(out)
    } else if eq(sub, "list") {
        list(env, argv)
    } else if eq(sub, "getkeys") && n >= 4 {
        getkeys(env, &argv[2..], false)
    } else if eq(sub, "getkeysandflags") && n >= 4 {
        getkeys(env, &argv[2..], true)
    } else if eq(sub, "help")
        || eq(sub, "count")
        || eq(sub, "getkeys")
        || eq(sub, "getkeysandflags")
    {
        sub_arity("command", sub)
    } else {
        unknown_subcommand("command", sub)
    }
}

/// `COMMAND LIST [FILTERBY MODULE name | ACLCAT cat | PATTERN pattern]`
fn list(env: &mut Env<'_>, argv: &[Bytes]) -> Reply {
    let table = &env.shared.commands;
    let names = table.iter().map(|c| c.meta);
    match argv.len() {
        2 => Reply::Array(names.map(|m| bulk(m.name)).collect()),
        5 if eq(&argv[2], "filterby") => {
            let v = &argv[4];
            if eq(&argv[3], "module") {
                Reply::Array(vec![])
            } else if eq(&argv[3], "aclcat") {
                let Some(&(bit, _)) = acl::NAMES.iter().find(|(_, n)| eq(v, n)) else {
                    return Reply::Array(vec![]);
                };
                Reply::Array(
                    names
                        .filter(|m| m.acl_categories() & bit != 0)
                        .map(|m| bulk(m.name))
                        .collect(),
                )
            } else if eq(&argv[3], "pattern") {
                Reply::Array(
                    names
                        .filter(|m| kevy_config::glob_match(v, m.name.as_bytes(), true))
                        .map(|m| bulk(m.name))
                        .collect(),
                )
            } else {
                Reply::error("ERR syntax error")
            }
        }
        _ => Reply::error("ERR syntax error"),
    }
}

/// `COMMAND GETKEYS command arg ...` / `COMMAND GETKEYSANDFLAGS ...`
fn getkeys(env: &mut Env<'_>, args: &[Bytes], with_flags: bool) -> Reply {
    let Some((_, c)) = env.shared.commands.lookup(&args[0]) else {
        return Reply::error("ERR Invalid command specified");
    };
    if !c.meta.arity_ok(args.len()) {
        return Reply::error("ERR Invalid number of arguments specified for command");
    }
    let pos = c.meta.key_positions(args);
    if pos.is_empty() {
        return Reply::error("ERR The command has no key arguments");
    }
    if with_flags {
        let flags = if c.meta.flags & WRITE != 0 {
            ["RW", "update"]
        } else {
            ["RO", "access"]
        };
        return Reply::Array(
            pos.into_iter()
                .map(|i| {
                    Reply::Array(vec![
                        Reply::Bulk(args[i].clone()),
                        Reply::Set(flags.iter().map(|f| status(f)).collect()),
                    ])
                })
                .collect(),
        );
    }
    Reply::Array(
        pos.into_iter()
            .map(|i| Reply::Bulk(args[i].clone()))
            .collect(),
    )
}
