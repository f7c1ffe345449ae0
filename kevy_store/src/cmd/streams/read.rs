//! XREAD and XREADGROUP: new entries of several streams, for a plain
//! reader or a consumer of a group (which records what it delivered in the
//! group's pending entries list), waiting for them with `BLOCK`.
//!
//! Blocking: a command that finds nothing asks the server to park the
//! client on its streams ([`Ctx::block_on_with`]), XREAD with every `$`
//! replaced by the stream's last ID at that moment. When an XADD (or a
//! deletion) makes a stream ready, the server re-runs the command with
//! `Ctx::woken` naming that stream, and it answers as Redis serves a
//! blocked client: that stream only, at most COUNT (default 1000)
//! entries, or for XREADGROUP the error Redis gives when the stream or
//! the group went away.

use super::deliver::{deliver, history};
use super::*;
use crate::error::CmdResult;

/// Redis's COUNT for a blocked XREAD served without one
/// (`XREAD_BLOCKED_DEFAULT_COUNT`).
const BLOCKED_DEFAULT_COUNT: u64 = 1000;

/// `XREAD [COUNT count] [BLOCK milliseconds] STREAMS key [key ...] id [id ...]`
/// and `XREADGROUP GROUP group consumer [COUNT count] [BLOCK milliseconds]
/// [NOACK] STREAMS key [key ...] id [id ...]`, parsed as Redis's
/// `xreadCommand` (errors in its order).
struct ReadArgs<'a> {
    /// Absolute deadline (Unix ms, 0: forever) when BLOCK was given.
    block: Option<u64>,
    /// 0: no limit.
    count: u64,
    keys: &'a [Bytes],
    ids: &'a [Bytes],
    /// Group and consumer (XREADGROUP).
    group: Option<(&'a [u8], &'a [u8])>,
    noack: bool,
}

impl<'a> ReadArgs<'a> {
    fn parse(
        argv: &'a [Bytes],
        now: u64,
        xreadgroup: bool,
        in_script: bool,
    ) -> Result<Self, CmdError> {
        let mut a = ReadArgs {
            block: None,
            count: 0,
            keys: &[],
            ids: &[],
            group: None,
            noack: false,
        };
        let mut streams_at = None;
        let mut i = 1;
        while i < argv.len() {
            let more = argv.len() - 1 - i;
            let o = &argv[i][..];
            if o.eq_ignore_ascii_case(b"block") && more > 0 {
                if in_script {
                    return Err(CmdError::err(format!(
                        "{} command is not allowed with BLOCK option from scripts",
                        cstr(&argv[0])
                    )));
                }
                i += 1;
                a.block = Some(block_timeout(&argv[i], now)?);
            } else if o.eq_ignore_ascii_case(b"count") && more > 0 {
                i += 1;
                a.count = int_arg(&argv[i])?.max(0) as u64;
            } else if o.eq_ignore_ascii_case(b"streams") && more > 0 {
                let n = argv.len() - (i + 1);
                if n % 2 != 0 {
                    // XREADGROUP gets XREAD's text too, as in Redis 7.0.
                    return Err(CmdError::err(
                        "Unbalanced XREAD list of streams: for each stream key an ID or '$' must be specified.",
                    ));
                }
                streams_at = Some(i + 1);
                break;
            } else if o.eq_ignore_ascii_case(b"group") && more >= 2 {
                if !xreadgroup {
                    return Err(CmdError::err(
                        "The GROUP option is only supported by XREADGROUP. You called XREAD instead.",
                    ));
                }
                a.group = Some((&argv[i + 1][..], &argv[i + 2][..]));
                i += 2;
            } else if o.eq_ignore_ascii_case(b"noack") {
                if !xreadgroup {
                    return Err(CmdError::err(
                        "The NOACK option is only supported by XREADGROUP. You called XREAD instead.",
                    ));
                }
                a.noack = true;
            } else {
                return Err(CmdError::Syntax);
            }
            i += 1;
        }
        let Some(at) = streams_at else {
            return Err(CmdError::Syntax);
        };
        if xreadgroup && a.group.is_none() {
            return Err(CmdError::err("Missing GROUP option for XREADGROUP"));
        }
        let n = (argv.len() - at) / 2;
        a.keys = &argv[at..at + n];
        a.ids = &argv[at + n..];
        Ok(a)
    }
}

/// A `BLOCK` argument (milliseconds) as an absolute deadline (0: forever),
/// with Redis's `getTimeoutFromObjectOrReply` errors. A deadline past
/// `i64::MAX` ms is refused as Redis 7.2 refuses it (7.0 lets the sum
/// overflow).
fn block_timeout(arg: &[u8], now: u64) -> Result<u64, CmdError> {
    let ms = crate::num::parse_i64(arg)
        .ok_or_else(|| CmdError::err("timeout is not an integer or out of range"))?;
    if ms < 0 {
        return Err(CmdError::err("timeout is negative"));
    }
    if ms == 0 {
        return Ok(0);
    }
    if ms > i64::MAX - now as i64 {
        return Err(CmdError::err("timeout is out of range"));
    }
    Ok(now + ms as u64)
}

/// The key positions of XREAD/XREADGROUP (Redis's `xreadGetKeys`): the
/// first half of what follows `STREAMS`; none when malformed.
pub(super) fn xread_keys(argv: &[Bytes]) -> Vec<usize> {
    let mut i = 1;
    while i < argv.len() {
        let a = &argv[i][..];
        if a.eq_ignore_ascii_case(b"block") || a.eq_ignore_ascii_case(b"count") {
            i += 1;
        } else if a.eq_ignore_ascii_case(b"group") {
            i += 2;
        } else if a.eq_ignore_ascii_case(b"noack") {
        } else if a.eq_ignore_ascii_case(b"streams") {
            let n = argv.len() - i - 1;
            if n == 0 || n % 2 != 0 {
                return Vec::new();
            }
            return (i + 1..i + 1 + n / 2).collect();
        } else {
            break;
        }
        i += 1;
    }
    Vec::new()
}

/// `XREAD [COUNT count] [BLOCK milliseconds] STREAMS key [key ...] id [id ...]`
pub(super) fn xread(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    read_generic(ctx, argv, false)
}

/// `XREADGROUP GROUP group consumer [COUNT count] [BLOCK milliseconds] [NOACK] STREAMS key [key ...] id [id ...]`
pub(super) fn xreadgroup(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    read_generic(ctx, argv, true)
}

/// What to read from one stream: entries after `gt`, or (XREADGROUP with
/// an ID) the consumer's own pending entries after it.
#[derive(Clone, Copy)]
enum Want {
    After(StreamId),
    /// `>`: what the group has not delivered yet.
    New,
}

fn read_generic(ctx: &mut Ctx<'_, '_>, argv: &[Bytes], xreadgroup: bool) -> CmdResult {
    let a = ReadArgs::parse(argv, ctx.now_ms, xreadgroup, ctx.in_script)?;
    if let Some(key) = ctx.woken.clone() {
        if let Some(i) = a.keys.iter().position(|k| k[..] == key[..]) {
            return serve_woken(ctx, argv, &a, i);
        }
    }
    // Resolve every ID first (and check every key), as Redis does before
    // serving anything.
    let mut wants = Vec::with_capacity(a.keys.len());
    for (key, id) in a.keys.iter().zip(a.ids) {
        let s = read_stream(ctx, key)?;
        if let Some((g, _)) = a.group {
            if !s.is_some_and(|s| s.groups.contains_key(g)) {
                return Err(StreamError::no_key_or_group(
                    key,
                    g,
                    " in XREADGROUP with GROUP option",
                )
                .into());
            }
        }
        let w = match &id[..] {
            b"$" if xreadgroup => {
                return Err(CmdError::err(
                    "The $ ID is meaningless in the context of XREADGROUP: you want to read the history of this consumer by specifying a proper ID, or use the > ID to get new messages. The $ ID would just return an empty result set.",
                ))
            }
            b"$" => Want::After(s.map_or(StreamId::MIN, |s| s.last_id)),
            b">" if !xreadgroup => {
                return Err(CmdError::err(
                    "The > ID can be specified only when calling XREADGROUP using the GROUP <group> <consumer> option.",
                ))
            }
            b">" => Want::New,
            other => match strict_id(other)? {
                // An explicit maximum ID reads as `>` (Redis encodes `>`
                // as that ID).
                StreamId::MAX if xreadgroup => Want::New,
                id => Want::After(id),
            },
        };
        wants.push(w);
    }
    let mut served = Vec::new();
    let stream_ok = ctx.stream_replies;
    for (i, key) in a.keys.iter().enumerate() {
        let Some(s) = read_stream(ctx, key)? else {
            continue;
        };
        let top = s.edge(true).map(|e| e.id);
        let reply = match (a.group, wants[i]) {
            (Some((g, c)), Want::After(gt)) => Some(history(ctx, key, g, c, gt, a.count)?),
            (Some((g, c)), Want::New) => {
                let last = s.groups.get(g).map_or(StreamId::MAX, |g| g.last_id);
                match top {
                    Some(top) if top > last => {
                        Some(deliver(ctx, key, g, c, last, a.count, a.noack)?)
                    }
                    _ => None,
                }
            }
            (None, Want::After(gt)) => match top {
                Some(top) if top > gt => {
                    let start = gt.incr().unwrap_or(StreamId::MIN);
                    Some(super::range::entries(
                        s,
                        start,
                        StreamId::MAX,
                        false,
                        a.count,
                        stream_ok,
                    ))
                }
                _ => None,
            },
            (None, Want::New) => None,
        };
        if let Some(r) = reply {
            served.push((key.clone(), r));
        }
    }
    if !served.is_empty() {
        return Ok(keyed(ctx, served));
    }
    if let Some(deadline) = a.block {
        if ctx.may_block {
            block(ctx, argv, &a, &wants, deadline);
        }
    }
    Ok(Reply::NilArray)
}

/// Parks the client on the command's streams, XREAD's `$` resolved.
fn block(ctx: &mut Ctx<'_, '_>, argv: &[Bytes], a: &ReadArgs<'_>, wants: &[Want], deadline: u64) {
    let keys: Vec<&[u8]> = a.keys.iter().map(|k| &k[..]).collect();
    let mut again = argv.to_vec();
    let ids_at = argv.len() - a.ids.len();
    for (i, w) in wants.iter().enumerate() {
        if let (Want::After(id), b"$") = (w, &a.ids[i][..]) {
            again[ids_at + i] = id.to_bytes();
        }
    }
    ctx.block_on_with(&keys, deadline, again);
}

/// The reply of the streams served: `[[key, entries], ...]`, or in RESP3 a
/// map of key to entries.
fn keyed(ctx: &Ctx<'_, '_>, served: Vec<(Bytes, Reply)>) -> Reply {
    if ctx.proto == kevy_resp::Protocol::Resp2 {
        Reply::Array(
            served
                .into_iter()
                .map(|(k, r)| Reply::Array(vec![Reply::Bulk(k), r]))
                .collect(),
        )
    } else {
        Reply::Map(
            served
                .into_iter()
                .map(|(k, r)| (Reply::Bulk(k), r))
                .collect(),
        )
    }
}

/// A blocked command re-run because stream number `i` is ready: serve that
/// stream alone, as Redis's `serveClientsBlockedOnStreamKey`, or wait on.
fn serve_woken(ctx: &mut Ctx<'_, '_>, argv: &[Bytes], a: &ReadArgs<'_>, i: usize) -> CmdResult {
    let key = &a.keys[i][..];
    let count = if a.count == 0 {
        BLOCKED_DEFAULT_COUNT
    } else {
        a.count
    };
    let stream_ok = ctx.stream_replies;
    let s = match ctx.peek(key)? {
        Some(Entry {
            value: Value::Stream(s),
            ..
        }) => Some(s.clone()),
        _ => None,
    };
    let reply = match (a.group, s) {
        (Some(_), None) => {
            return Err(
                StreamError::Line("UNBLOCKED the stream key no longer exists".into()).into(),
            )
        }
        (Some((g, c)), Some(s)) => {
            let Some(group) = s.groups.get(g) else {
                return Err(StreamError::Line(
                    "NOGROUP the consumer group this client was blocked on no longer exists".into(),
                )
                .into());
            };
            let last = group.last_id;
            (s.last_id > last)
                .then(|| deliver(ctx, key, g, c, last, count, a.noack))
                .transpose()?
        }
        (None, Some(s)) => {
            let gt = strict_id(&a.ids[i]).unwrap_or(StreamId::MAX);
            (s.last_id > gt).then(|| {
                let start = gt.incr().unwrap_or(StreamId::MIN);
                super::range::entries(&s, start, StreamId::MAX, false, count, stream_ok)
            })
        }
        (None, None) => None,
    };
    match reply {
        Some(r) => Ok(keyed(ctx, vec![(a.keys[i].clone(), r)])),
        None => {
            let keys: Vec<&[u8]> = a.keys.iter().map(|k| &k[..]).collect();
            ctx.block_on_with(&keys, 0, argv.to_vec());
            Ok(Reply::NilArray)
        }
    }
}
