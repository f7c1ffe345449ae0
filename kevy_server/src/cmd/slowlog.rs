//! SLOWLOG GET|LEN|RESET|HELP.

use super::{eq, help_reply, sub_arity, unknown_subcommand, Env, ServerCommand};
use bytes::Bytes;
use kevy_resp::Reply;
use kevy_store::spec::{CommandMeta, Keys};

pub(crate) static COMMANDS: &[ServerCommand] = &[ServerCommand {
    meta: CommandMeta {
        name: "slowlog",
        arity: -2,
        flags: 0,
        acl: 0,
        keys: Keys::None,
        group: "server",
        summary: "A container for slow log commands.",
        since: "2.2.12",
        complexity: "Depends on subcommand.",
    },
    run: slowlog,
}];

const HELP: &[&str] = &[
    "GET [<count>]",
    "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
    "    Entries are made of:",
    "    id, timestamp, time in microseconds, arguments array, client IP and port,",
    "    client name",
    "LEN",
    "    Return the length of the slowlog.",
    "RESET",
    "    Reset the slowlog.",
];

fn slowlog(env: &mut Env<'_>, argv: &[Bytes]) -> Reply {
    let sub = &argv[1];
    let n = argv.len();
    let log = &env.shared.slowlog;
    if eq(sub, "help") && n == 2 {
        help_reply("slowlog", HELP)
    } else if eq(sub, "len") && n == 2 {
        Reply::Int(log.len() as i64)
    } else if eq(sub, "reset") && n == 2 {
        log.reset();
        Reply::ok()
    } else if eq(sub, "get") && (n == 2 || n == 3) {
        let count = match argv.get(2).map(|c| kevy_store::parse_i64(c)) {
            None => Some(10),
            Some(Some(-1)) => None,
            Some(Some(c)) if c >= 0 => Some(c as usize),
            _ => return Reply::error("ERR count should be greater than or equal to -1"),
        };
        Reply::Array(
            log.get(count)
                .into_iter()
                .map(|e| {
                    Reply::Array(vec![
                        Reply::Int(e.id as i64),
                        Reply::Int(e.time as i64),
                        Reply::Int(e.micros as i64),
                        Reply::Array(e.argv.into_iter().map(Reply::Bulk).collect()),
                        Reply::Bulk(Bytes::from(e.addr)),
                        Reply::Bulk(Bytes::from(e.name)),
                    ])
                })
                .collect(),
        )
    } else if ["help", "len", "reset", "get"].iter().any(|s| eq(sub, s)) {
        sub_arity("slowlog", sub)
    } else {
        unknown_subcommand("slowlog", sub)
    }
}
