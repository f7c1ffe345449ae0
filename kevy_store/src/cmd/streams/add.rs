//! XADD, XTRIM, XDEL, XLEN and XSETID: the commands that append to a
//! stream, shorten it or set its counters.

use super::*;
use crate::ctx::notify;
use crate::error::CmdResult;
use crate::types::stream::{AddError, Trim};

/// The trimming and XADD options, parsed as Redis's
/// `streamParseAddOrTrimArgsOrReply` reads them (order-sensitive, the
/// first bad option decides the error).
///
/// `XADD key [NOMKSTREAM] [<MAXLEN | MINID> [= | ~] threshold [LIMIT count]]
/// <* | id> field value [field value ...]`
/// `XTRIM key <MAXLEN | MINID> [= | ~] threshold [LIMIT count]`
#[derive(Debug, Default)]
struct AddTrimArgs {
    trim: Option<Trim>,
    approx: bool,
    /// Most entries whole-node removal may drop (0: no limit).
    limit: u64,
    /// Position of the threshold argument (rewritten for the log).
    threshold_at: usize,
    nomkstream: bool,
    /// The ID (None for `*`).
    id: Option<ParsedId>,
    /// Position of the ID (XADD); `argv.len()` when there is none.
    id_at: usize,
}

impl AddTrimArgs {
    fn parse(
        argv: &[Bytes],
        xadd: bool,
        loading: bool,
        max_entries: u64,
    ) -> Result<Self, CmdError> {
        let mut a = AddTrimArgs::default();
        let mut limit: Option<i64> = None;
        let mut i = 2;
        while i < argv.len() {
            let more = argv.len() - 1 - i;
            let opt = &argv[i][..];
            if xadd && opt == b"*" {
                break;
            } else if (opt.eq_ignore_ascii_case(b"maxlen") || opt.eq_ignore_ascii_case(b"minid"))
                && more > 0
            {
                if a.trim.is_some() {
                    return Err(StreamError::TrimTwice.into());
                }
                a.approx = false;
                let next = &argv[i + 1][..];
                if more >= 2 && next == b"~" {
                    a.approx = true;
                    i += 1;
                } else if more >= 2 && next == b"=" {
                    i += 1;
                }
                let v = &argv[i + 1][..];
                a.trim = Some(if opt.eq_ignore_ascii_case(b"maxlen") {
                    let n = int_arg(v)?;
                    if n < 0 {
                        return Err(StreamError::MaxLenNegative.into());
                    }
                    Trim::MaxLen(n as u64)
                } else {
                    Trim::MinId(strict_id(v)?)
                });
                i += 1;
                a.threshold_at = i;
            } else if opt.eq_ignore_ascii_case(b"limit") && more > 0 {
                let n = int_arg(&argv[i + 1])?;
                if n < 0 {
                    return Err(StreamError::LimitNegative.into());
                }
                limit = Some(n);
                i += 1;
            } else if xadd && opt.eq_ignore_ascii_case(b"nomkstream") {
                a.nomkstream = true;
            } else if xadd {
                a.id = Some(xadd_id(opt)?);
                break;
            } else {
                return Err(CmdError::Syntax);
            }
            i += 1;
        }
        a.id_at = i;
        if limit.is_some_and(|l| l != 0) && a.trim.is_none() {
            return Err(StreamError::LimitWithoutStrategy.into());
        }
        if !xadd && a.trim.is_none() {
            return Err(StreamError::XtrimWithoutStrategy.into());
        }
        if loading {
            // A replayed trim was logged exact; Redis ignores LIMIT then.
            a.limit = 0;
        } else if let Some(l) = limit {
            if !a.approx {
                return Err(StreamError::LimitWithoutApprox.into());
            }
            a.limit = l as u64;
        } else if a.approx {
            a.limit = match max_entries.saturating_mul(100) {
                0 => 10_000,
                n => n.min(1_000_000),
            };
        }
        Ok(a)
    }

    /// The threshold to log after an approximate trim (which is logged as
    /// the exact trim `=` it reached): the length, or the first ID.
    fn reached(&self, s: &StreamValue) -> Option<Vec<u8>> {
        if !self.approx || self.threshold_at == 0 {
            return None;
        }
        Some(match self.trim {
            Some(Trim::MaxLen(_)) => s.len().to_string().into_bytes(),
            // Redis logs the first ID, 0-0 once the trim emptied the
            // stream, which trims nothing on replay; past the last ID
            // trims everything, as this trim did.
            _ if s.is_empty() => s
                .last_id
                .incr()
                .unwrap_or(StreamId::MAX)
                .to_string()
                .into_bytes(),
            _ => s.first_id.to_string().into_bytes(),
        })
    }

    /// `argv` as logged: an approximate trim as the exact one it reached,
    /// and the ID the entry got (XADD).
    fn logged<'a>(
        &self,
        argv: &'a [Bytes],
        reached: &'a Option<Vec<u8>>,
        id: Option<&'a [u8]>,
    ) -> Vec<&'a [u8]> {
        let mut parts: Vec<&[u8]> = argv.iter().map(|b| &b[..]).collect();
        if let Some(r) = reached {
            parts[self.threshold_at - 1] = b"=";
            parts[self.threshold_at] = r;
        }
        if let Some(id) = id {
            parts[self.id_at] = id;
        }
        parts
    }
}

fn log(ctx: &mut Ctx<'_, '_>, key: &[u8], argv: &[Bytes]) {
    let parts: Vec<&[u8]> = argv.iter().map(|b| &b[..]).collect();
    ctx.propagate(key, &parts);
}

/// `XADD key [NOMKSTREAM] [<MAXLEN | MINID> [= | ~] threshold [LIMIT count]] <* | id> field value [field value ...]`
pub(super) fn xadd(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    let a = AddTrimArgs::parse(argv, true, ctx.loading, ctx.stream_node.max_entries)?;
    let fields_at = a.id_at + 1;
    if fields_at > argv.len() || (argv.len() - fields_at) < 2 || (argv.len() - fields_at) % 2 == 1 {
        return Err(CmdError::Arity("xadd".into()));
    }
    if let Some(p) = a.id {
        if p.seq_given && p.id.is_zero() {
            return Err(StreamError::IdZero.into());
        }
    }
    let key = &argv[1][..];
    let pairs: Vec<&[u8]> = argv[fields_at..].iter().map(|b| &b[..]).collect();
    let (now, lim) = (ctx.now_ms, limits(ctx));
    let (exists, id) = match peek_stream(ctx, key)? {
        None if a.nomkstream => return Ok(Reply::Nil),
        None => (false, StreamValue::default().next_id(now, a.id)),
        Some(s) if s.last_id == StreamId::MAX => return Err(StreamError::Exhausted.into()),
        Some(s) => (true, s.next_id(now, a.id)),
    };
    let id = id.map_err(|e| match e {
        AddError::NotGreater => StreamError::IdNotGreater,
        AddError::TooLarge => StreamError::TooLarge,
    })?;
    if !StreamValue::fits(&pairs) {
        return Err(StreamError::TooLarge.into());
    }
    if !exists {
        create_stream(ctx, key)?;
    }
    let Some(s) = write_stream(ctx, key)? else {
        return Err(CmdError::err("internal error: stream vanished"));
    };
    s.append(id, &pairs, lim);
    let mut trimmed = 0;
    if let Some(t) = a.trim {
        trimmed = s.trim(t, a.approx, a.limit);
    }
    let reached = a.reached(s);
    let id_bytes = id.to_bytes();
    ctx.modified(key);
    ctx.notify(notify::STREAM, "xadd", key);
    if trimmed > 0 {
        ctx.notify(notify::STREAM, "xtrim", key);
    }
    let generated = a.id.is_none_or(|p| !p.seq_given);
    let parts = a.logged(argv, &reached, generated.then_some(&id_bytes[..]));
    ctx.propagate(key, &parts);
    ctx.key_ready(key);
    Ok(Reply::Bulk(id_bytes))
}

/// `XTRIM key <MAXLEN | MINID> [= | ~] threshold [LIMIT count]`
pub(super) fn xtrim(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    let a = AddTrimArgs::parse(argv, false, ctx.loading, ctx.stream_node.max_entries)?;
    let key = &argv[1][..];
    let Some(t) = a.trim else {
        return Err(StreamError::XtrimWithoutStrategy.into());
    };
    // Look before unsharing: a trim that removes nothing copies nothing.
    if peek_stream(ctx, key)?.is_none() {
        return Ok(Reply::Int(0));
    }
    let Some(s) = write_stream(ctx, key)? else {
        return Ok(Reply::Int(0));
    };
    let deleted = s.trim(t, a.approx, a.limit);
    if deleted == 0 {
        ctx.suppress_propagation();
        return Ok(Reply::Int(0));
    }
    let reached = a.reached(s);
    ctx.notify(notify::STREAM, "xtrim", key);
    ctx.modified(key);
    ctx.events.dirty += deleted - 1;
    let parts = a.logged(argv, &reached, None);
    ctx.propagate(key, &parts);
    Ok(Reply::Int(deleted as i64))
}

/// `XDEL key id [id ...]`
pub(super) fn xdel(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    let key = &argv[1][..];
    let Some(s) = peek_stream(ctx, key)? else {
        return Ok(Reply::Int(0));
    };
    let ids = argv[2..]
        .iter()
        .map(|a| strict_id(a))
        .collect::<Result<Vec<_>, _>>()?;
    if !ids.iter().any(|&id| s.get(id).is_some()) {
        return Ok(Reply::Int(0));
    }
    let Some(s) = write_stream(ctx, key)? else {
        return Ok(Reply::Int(0));
    };
    let mut deleted = 0u64;
    let mut first = false;
    for &id in &ids {
        if s.delete(id) {
            first |= id == s.first_id;
            s.max_deleted = s.max_deleted.max(id);
            deleted += 1;
        }
    }
    if s.is_empty() {
        s.first_id = StreamId::MIN;
    } else if first {
        s.refresh_first_id();
    }
    ctx.modified(key);
    ctx.events.dirty += deleted - 1;
    ctx.notify(notify::STREAM, "xdel", key);
    log(ctx, key, argv);
    Ok(Reply::Int(deleted as i64))
}

/// `XLEN key`
pub(super) fn xlen(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    Ok(Reply::Int(
        read_stream(ctx, &argv[1])?.map_or(0, |s| s.len() as i64),
    ))
}

/// `XSETID key last-id [ENTRIESADDED entries-added] [MAXDELETEDID max-deleted-id]`
pub(super) fn xsetid(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    let id = strict_id(&argv[2])?;
    let mut entries_added: Option<u64> = None;
    let mut max_deleted = StreamId::MIN;
    let mut i = 3;
    while i < argv.len() {
        let more = argv.len() - 1 - i;
        let opt = &argv[i][..];
        if opt.eq_ignore_ascii_case(b"entriesadded") && more > 0 {
            let n = int_arg(&argv[i + 1])?;
            if n < 0 {
                return Err(CmdError::err("entries_added must be positive"));
            }
            entries_added = Some(n as u64);
        } else if opt.eq_ignore_ascii_case(b"maxdeletedid") && more > 0 {
            max_deleted = strict_id(&argv[i + 1])?;
            if id < max_deleted {
                return Err(CmdError::err(
                    "The ID specified in XSETID is smaller than the provided max_deleted_entry_id",
                ));
            }
        } else {
            return Err(CmdError::Syntax);
        }
        i += 2;
    }
    let key = &argv[1][..];
    let Some(s) = peek_stream(ctx, key)? else {
        return Err(CmdError::NoSuchKey);
    };
    if !s.is_empty() {
        let top = s.edge(true).map_or(StreamId::MIN, |e| e.id);
        if id < top {
            return Err(CmdError::err(
                "The ID specified in XSETID is smaller than the target stream top item",
            ));
        }
        if entries_added.is_some_and(|n| s.len() > n) {
            return Err(CmdError::err(
                "The entries_added specified in XSETID is smaller than the target stream length",
            ));
        }
    }
    let Some(s) = write_stream(ctx, key)? else {
        return Err(CmdError::NoSuchKey);
    };
    s.last_id = id;
    if let Some(n) = entries_added {
        s.entries_added = n;
    }
    if !max_deleted.is_zero() {
        s.max_deleted = max_deleted;
    }
    ctx.events.dirty += 1;
    ctx.notify(notify::STREAM, "xsetid", key);
    log(ctx, key, argv);
    Ok(Reply::ok())
}
