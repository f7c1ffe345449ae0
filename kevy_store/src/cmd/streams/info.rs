//! XINFO STREAM [FULL [COUNT n]], XINFO GROUPS, XINFO CONSUMERS, XINFO
//! HELP: what Redis 7.0 reports about a stream, its groups and consumers.

use super::*;
use crate::error::CmdResult;
use crate::types::stream::{Group, INVALID_ENTRIES_READ};

const HELP: &[&str] = &[
    "XINFO <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CONSUMERS <key> <groupname>",
    "    Show consumers of <groupname>.",
    "GROUPS <key>",
    "    Show the stream consumer groups.",
    "STREAM <key> [FULL [COUNT <count>]",
    "    Show information about the stream.",
    "HELP",
    "    Prints this help.",
];

fn sub_arity(sub: &[u8]) -> Option<(&'static str, i64)> {
    [("consumers", 4), ("groups", 3), ("stream", -3), ("help", 2)]
        .into_iter()
        .find(|(n, _)| sub.eq_ignore_ascii_case(n.as_bytes()))
}

fn arity_ok(arity: i64, argc: usize) -> bool {
    if arity >= 0 {
        argc as i64 == arity
    } else {
        argc as i64 >= -arity
    }
}

/// XINFO's key position: the stream of every subcommand but HELP.
pub(super) fn xinfo_keys(argv: &[Bytes]) -> Vec<usize> {
    match argv.get(1).and_then(|s| sub_arity(s)) {
        Some((name, arity)) if name != "help" && arity_ok(arity, argv.len()) => vec![2],
        _ => Vec::new(),
    }
}

fn field(name: &'static str) -> Reply {
    Reply::Bulk(Bytes::from_static(name.as_bytes()))
}

fn entries_read(g: &Group) -> Reply {
    if g.entries_read == INVALID_ENTRIES_READ {
        Reply::Nil
    } else {
        Reply::Int(g.entries_read)
    }
}

fn lag(s: &StreamValue, g: &Group) -> Reply {
    s.lag(g).map_or(Reply::Nil, Reply::Int)
}

/// `XINFO <STREAM | GROUPS | CONSUMERS | HELP> ...`
pub(super) fn xinfo(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    let Some((sub, arity)) = sub_arity(&argv[1]) else {
        return Err(unknown_sub(&argv[1], "XINFO"));
    };
    if !arity_ok(arity, argv.len()) {
        return Err(CmdError::Arity(format!("xinfo|{sub}")));
    }
    if sub == "help" {
        return Ok(Reply::Array(
            HELP.iter().map(|l| Reply::simple(l)).collect(),
        ));
    }
    let key = &argv[2][..];
    let now = ctx.now_ms;
    let Some(s) = read_stream(ctx, key)? else {
        return Err(CmdError::NoSuchKey);
    };
    match sub {
        "consumers" => {
            let Some(g) = s.groups.get(&argv[3][..]) else {
                return Err(StreamError::no_group(key, &argv[3]).into());
            };
            Ok(Reply::Array(
                g.consumers
                    .iter()
                    .map(|(name, c)| {
                        Reply::Map(vec![
                            (field("name"), Reply::bulk(name)),
                            (field("pending"), Reply::Int(c.pel.len() as i64)),
                            (
                                field("idle"),
                                Reply::Int((now as i64 - c.seen_time as i64).max(0)),
                            ),
                        ])
                    })
                    .collect(),
            ))
        }
        "groups" => Ok(Reply::Array(
            s.groups
                .iter()
                .map(|(name, g)| {
                    Reply::Map(vec![
                        (field("name"), Reply::bulk(name)),
                        (field("consumers"), Reply::Int(g.consumers.len() as i64)),
                        (field("pending"), Reply::Int(g.pel.len() as i64)),
                        (field("last-delivered-id"), id_reply(g.last_id)),
                        (field("entries-read"), entries_read(g)),
                        (field("lag"), lag(s, g)),
                    ])
                })
                .collect(),
        )),
        _ => stream_info(s, &argv[1], &argv[3..]),
    }
}

/// `XINFO STREAM key [FULL [COUNT count]]`
fn stream_info(s: &StreamValue, sub: &[u8], opts: &[Bytes]) -> CmdResult {
    let mut count: u64 = 10;
    let full = !opts.is_empty();
    if full {
        if (opts.len() != 1 && opts.len() != 3) || !opts[0].eq_ignore_ascii_case(b"full") {
            return Err(sub_syntax(sub, "XINFO"));
        }
        if opts.len() == 3 {
            if !opts[1].eq_ignore_ascii_case(b"count") {
                return Err(sub_syntax(sub, "XINFO"));
            }
            let n = int_arg(&opts[2])?;
            count = if n < 0 { 10 } else { n as u64 };
        }
    }
    let mut m = vec![
        (field("length"), Reply::Int(s.len() as i64)),
        (field("radix-tree-keys"), Reply::Int(s.node_count() as i64)),
        (field("radix-tree-nodes"), Reply::Int(s.rax_nodes() as i64)),
        (field("last-generated-id"), id_reply(s.last_id)),
        (field("max-deleted-entry-id"), id_reply(s.max_deleted)),
        (field("entries-added"), Reply::Int(s.entries_added as i64)),
        (field("recorded-first-entry-id"), id_reply(s.first_id)),
    ];
    if !full {
        let edge = |last| s.edge(last).map_or(Reply::Nil, |e| entry_reply(&e));
        m.push((field("groups"), Reply::Int(s.groups.len() as i64)));
        m.push((field("first-entry"), edge(false)));
        m.push((field("last-entry"), edge(true)));
        return Ok(Reply::Map(m));
    }
    let limit = |n: usize| count == 0 || (n as u64) < count;
    let mut entries = EntriesReply::default();
    for e in s.range(StreamId::MIN, StreamId::MAX, false) {
        if !limit(entries.len()) {
            break;
        }
        entries.push(&e);
    }
    m.push((field("entries"), Reply::Array(entries.finish())));
    let groups = s
        .groups
        .iter()
        .map(|(name, g)| {
            let mut pel = Vec::new();
            for (id, n) in &g.pel {
                if !limit(pel.len()) {
                    break;
                }
                pel.push(Reply::Array(vec![
                    id_reply(*id),
                    Reply::bulk(&n.consumer),
                    Reply::Int(n.delivery_time as i64),
                    Reply::Int(n.delivery_count as i64),
                ]));
            }
            let consumers = g
                .consumers
                .iter()
                .map(|(cname, c)| {
                    let mut cpel = Vec::new();
                    for id in &c.pel {
                        if !limit(cpel.len()) {
                            break;
                        }
                        let (t, k) = g
                            .pel
                            .get(id)
                            .map_or((0, 0), |n| (n.delivery_time, n.delivery_count));
                        cpel.push(Reply::Array(vec![
                            id_reply(*id),
                            Reply::Int(t as i64),
                            Reply::Int(k as i64),
                        ]));
                    }
                    Reply::Map(vec![
                        (field("name"), Reply::bulk(cname)),
                        (field("seen-time"), Reply::Int(c.seen_time as i64)),
                        (field("pel-count"), Reply::Int(c.pel.len() as i64)),
                        (field("pending"), Reply::Array(cpel)),
                    ])
                })
                .collect();
            Reply::Map(vec![
                (field("name"), Reply::bulk(name)),
                (field("last-delivered-id"), id_reply(g.last_id)),
                (field("entries-read"), entries_read(g)),
                (field("lag"), lag(s, g)),
                (field("pel-count"), Reply::Int(g.pel.len() as i64)),
                (field("pending"), Reply::Array(pel)),
                (field("consumers"), Reply::Array(consumers)),
            ])
        })
        .collect();
    m.push((field("groups"), Reply::Array(groups)));
    Ok(Reply::Map(m))
}
