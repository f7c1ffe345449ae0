//! XGROUP: CREATE, SETID, DESTROY, CREATECONSUMER, DELCONSUMER and HELP,
//! with Redis 7.0's checks in its order (options, then the key, then the
//! group, then the subcommand's own arguments).

use super::*;
use crate::ctx::notify;
use crate::error::CmdResult;
use crate::kstr::KStr;
use crate::types::stream::{Group, INVALID_ENTRIES_READ};

const HELP: &[&str] = &[
    "XGROUP <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CREATE <key> <groupname> <id|$> [option]",
    "    Create a new consumer group. Options are:",
    "    * MKSTREAM",
    "      Create the empty stream if it does not exist.",
    "    * ENTRIESREAD entries_read",
    "      Set the group's entries_read counter (internal use).",
    "CREATECONSUMER <key> <groupname> <consumer>",
    "    Create a new consumer in the specified group.",
    "DELCONSUMER <key> <groupname> <consumer>",
    "    Remove the specified consumer.",
    "DESTROY <key> <groupname>",
    "    Remove the specified group.",
    "SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]",
    "    Set the current group ID and entries_read counter.",
    "HELP",
    "    Prints this help.",
];

/// The subcommands and their arities (Redis's `xgroup|*` table entries).
fn sub_arity(sub: &[u8]) -> Option<(&'static str, i64)> {
    [
        ("create", -5),
        ("setid", -5),
        ("destroy", 4),
        ("createconsumer", 5),
        ("delconsumer", 5),
        ("help", 2),
    ]
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

/// XGROUP's key position: the stream of every subcommand but HELP.
pub(super) fn xgroup_keys(argv: &[Bytes]) -> Vec<usize> {
    match argv.get(1).and_then(|s| sub_arity(s)) {
        Some((name, arity)) if name != "help" && arity_ok(arity, argv.len()) => vec![2],
        _ => Vec::new(),
    }
}

/// `ENTRIESREAD` value: an integer, at least -1.
fn entries_read_arg(arg: &[u8]) -> Result<i64, CmdError> {
    let n = int_arg(arg)?;
    if n < 0 && n != INVALID_ENTRIES_READ {
        return Err(CmdError::err(
            "value for ENTRIESREAD must be positive or -1",
        ));
    }
    Ok(n)
}

/// `XGROUP <CREATE | SETID | DESTROY | CREATECONSUMER | DELCONSUMER | HELP> ...`
pub(super) fn xgroup(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    let Some((sub, arity)) = sub_arity(&argv[1]) else {
        return Err(unknown_sub(&argv[1], "XGROUP"));
    };
    if !arity_ok(arity, argv.len()) {
        return Err(CmdError::Arity(format!("xgroup|{sub}")));
    }
    if sub == "help" {
        return Ok(Reply::Array(
            HELP.iter().map(|l| Reply::simple(l)).collect(),
        ));
    }
    let mut mkstream = false;
    let mut entries_read = INVALID_ENTRIES_READ;
    if sub == "create" {
        let mut i = 5;
        while i < argv.len() {
            if argv[i].eq_ignore_ascii_case(b"mkstream") {
                mkstream = true;
                i += 1;
            } else if argv[i].eq_ignore_ascii_case(b"entriesread") && i + 1 < argv.len() {
                entries_read = entries_read_arg(&argv[i + 1])?;
                i += 2;
            } else {
                return Err(sub_syntax(&argv[1], "XGROUP"));
            }
        }
    }
    let (key, gname) = (&argv[2][..], &argv[3][..]);
    let (exists, has_group, last_id) = match peek_stream(ctx, key)? {
        Some(s) => (true, s.groups.contains_key(gname), s.last_id),
        None => (false, false, StreamId::MIN),
    };
    if !(exists || sub == "create" && mkstream) {
        return Err(CmdError::err(
            "The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the MKSTREAM option to create an empty stream automatically.",
        ));
    }
    if !has_group && matches!(sub, "setid" | "createconsumer" | "delconsumer") {
        return Err(StreamError::no_group(key, gname).into());
    }
    match sub {
        "create" if argv.len() <= 8 => create(ctx, argv, exists, last_id, entries_read),
        "setid" if argv.len() == 5 || argv.len() == 7 => setid(ctx, argv, last_id),
        "destroy" => destroy(ctx, key, gname, argv),
        "createconsumer" => {
            let now = ctx.now_ms;
            let Some(s) = write_stream(ctx, key)? else {
                return Err(StreamError::no_group(key, gname).into());
            };
            let created = match s.groups.get_mut(gname) {
                Some(g) => g.consumer_or_create(&argv[4], now).1,
                None => return Err(StreamError::no_group(key, gname).into()),
            };
            super::deliver::consumer_created(ctx, key, gname, &argv[4], created);
            if !created {
                ctx.suppress_propagation();
            }
            Ok(Reply::Int(created as i64))
        }
        "delconsumer" => delconsumer(ctx, key, gname, &argv[4]),
        _ => Err(sub_syntax(&argv[1], "XGROUP")),
    }
}

fn log(ctx: &mut Ctx<'_, '_>, key: &[u8], argv: &[Bytes]) {
    let parts: Vec<&[u8]> = argv.iter().map(|b| &b[..]).collect();
    ctx.propagate(key, &parts);
}

/// `XGROUP CREATE key group <id | $> [MKSTREAM] [ENTRIESREAD entries-read]`
fn create(
    ctx: &mut Ctx<'_, '_>,
    argv: &[Bytes],
    exists: bool,
    last_id: StreamId,
    entries_read: i64,
) -> CmdResult {
    let (key, gname) = (&argv[2][..], &argv[3][..]);
    let id = match &argv[4][..] {
        b"$" => last_id,
        other => strict_id(other)?,
    };
    if !exists {
        create_stream(ctx, key)?;
        ctx.signal_modified(key);
    } else if peek_stream(ctx, key)?.is_some_and(|s| s.groups.contains_key(gname)) {
        return Err(
            StreamError::Line("BUSYGROUP Consumer Group name already exists".into()).into(),
        );
    }
    let Some(s) = write_stream(ctx, key)? else {
        return Err(CmdError::err("internal error: stream vanished"));
    };
    s.groups
        .insert(KStr::from_slice(gname), Group::new(id, entries_read));
    ctx.events.dirty += 1;
    ctx.notify(notify::STREAM, "xgroup-create", key);
    log(ctx, key, argv);
    Ok(Reply::ok())
}

/// `XGROUP SETID key group <id | $> [ENTRIESREAD entries-read]`
fn setid(ctx: &mut Ctx<'_, '_>, argv: &[Bytes], last_id: StreamId) -> CmdResult {
    let (key, gname) = (&argv[2][..], &argv[3][..]);
    let id = match &argv[4][..] {
        b"$" => last_id,
        other => id_arg(other, 0)?,
    };
    let mut entries_read = INVALID_ENTRIES_READ;
    if argv.len() == 7 {
        if !argv[5].eq_ignore_ascii_case(b"entriesread") {
            return Err(sub_syntax(&argv[1], "XGROUP"));
        }
        entries_read = entries_read_arg(&argv[6])?;
    }
    let Some(s) = write_stream(ctx, key)? else {
        return Err(StreamError::no_group(key, gname).into());
    };
    let Some(g) = s.groups.get_mut(gname) else {
        return Err(StreamError::no_group(key, gname).into());
    };
    g.last_id = id;
    g.entries_read = entries_read;
    ctx.events.dirty += 1;
    ctx.notify(notify::STREAM, "xgroup-setid", key);
    log(ctx, key, argv);
    Ok(Reply::ok())
}

/// `XGROUP DESTROY key group`
fn destroy(ctx: &mut Ctx<'_, '_>, key: &[u8], gname: &[u8], argv: &[Bytes]) -> CmdResult {
    if !peek_stream(ctx, key)?.is_some_and(|s| s.groups.contains_key(gname)) {
        return Ok(Reply::Int(0));
    }
    if let Some(s) = write_stream(ctx, key)? {
        s.groups.remove(gname);
    }
    ctx.events.dirty += 1;
    ctx.notify(notify::STREAM, "xgroup-destroy", key);
    log(ctx, key, argv);
    // Consumers blocked on the group get Redis's NOGROUP error.
    ctx.key_ready(key);
    Ok(Reply::Int(1))
}

/// `XGROUP DELCONSUMER key group consumer`: the consumer's pending entries
/// leave the group's PEL with it.
fn delconsumer(ctx: &mut Ctx<'_, '_>, key: &[u8], gname: &[u8], cname: &[u8]) -> CmdResult {
    let exists = peek_stream(ctx, key)?
        .and_then(|s| s.groups.get(gname))
        .is_some_and(|g| g.consumers.contains_key(cname));
    if !exists {
        ctx.suppress_propagation();
        return Ok(Reply::Int(0));
    }
    let Some(s) = write_stream(ctx, key)? else {
        return Ok(Reply::Int(0));
    };
    let Some(g) = s.groups.get_mut(gname) else {
        return Ok(Reply::Int(0));
    };
    let pending = match g.consumers.remove(cname) {
        Some(c) => {
            for id in &c.pel {
                g.pel.remove(id);
            }
            c.pel.len()
        }
        None => 0,
    };
    ctx.events.dirty += 1;
    ctx.notify(notify::STREAM, "xgroup-delconsumer", key);
    ctx.propagate(key, &[b"XGROUP", b"DELCONSUMER", key, gname, cname]);
    Ok(Reply::Int(pending as i64))
}
