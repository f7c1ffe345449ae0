//! String commands: GET/SET and their variants, multi-key MGET/MSET,
//! counters (INCR family, INCRBYFLOAT) and in-place edits (APPEND, SETRANGE,
//! GETRANGE). LCS lives in `lcs.rs`.

use super::keys::{lookup_write, write_str};
use super::ldouble::LongDouble;
use super::StoreCommand;
use crate::ctx::{notify, Ctx};
use crate::error::{CmdError, CmdResult};
use crate::kstr::VStr;
use crate::num::{arg_i64, parse_i64};
use crate::spec::{acl, flags::*, CommandMeta, Keys};
use crate::value::{Value, STR_NOINT, STR_RAW};
use bytes::Bytes;
use kevy_resp::Reply;

mod table;
pub(crate) use table::COMMANDS;

/// Redis's default `proto-max-bulk-len`: the largest string APPEND and
/// SETRANGE may build.
pub(crate) const PROTO_MAX_BULK_LEN: usize = 512 * 1024 * 1024;

/// `ERR invalid expire time in '<cmd>' command`.
pub(crate) fn invalid_expire(cmd: &str) -> CmdError {
    CmdError::Other(format!("ERR invalid expire time in '{cmd}' command"))
}

/// The four ways SET and GETEX name an expiry.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Unit {
    /// `EX seconds`
    Ex,
    /// `PX milliseconds`
    Px,
    /// `EXAT unix-seconds`
    ExAt,
    /// `PXAT unix-milliseconds`
    PxAt,
}

/// Turns an expiry argument into an absolute Unix ms time, with Redis's
/// checks (`getExpireMillisecondsOrReply`): the number must be positive, and
/// neither the unit conversion nor adding the current time may overflow.
fn expire_at(ctx: &Ctx<'_, '_>, arg: &[u8], unit: Unit, cmd: &str) -> Result<u64, CmdError> {
    let v = arg_i64(arg)?;
    let seconds = matches!(unit, Unit::Ex | Unit::ExAt);
    if v <= 0 || (seconds && v > i64::MAX / 1000) {
        return Err(invalid_expire(cmd));
    }
    let mut ms = if seconds { v * 1000 } else { v };
    if matches!(unit, Unit::Ex | Unit::Px) {
        ms = ms
            .checked_add(ctx.now_ms as i64)
            .ok_or_else(|| invalid_expire(cmd))?;
    }
    Ok(ms as u64)
}

/// The options SET and GETEX share, parsed with Redis's rules
/// (`parseExtendedStringArgumentsOrReply`): each option is refused when it
/// conflicts with one already seen, and a repeated one is accepted.
#[derive(Default, Debug)]
struct ExtArgs<'a> {
    nx: bool,
    xx: bool,
    get: bool,
    keepttl: bool,
    persist: bool,
    expire: Option<(Unit, &'a [u8])>,
}

impl<'a> ExtArgs<'a> {
    /// Parses `args` (the options only); `set` selects SET's options, else GETEX's.
    fn parse(args: &'a [Bytes], set: bool) -> Result<Self, CmdError> {
        let mut a = ExtArgs::default();
        let mut j = 0;
        while j < args.len() {
            let opt = &args[j][..];
            let next = args.get(j + 1);
            let unit = a.expire.map(|(u, _)| u);
            let no_exp_but = |u: Unit| unit.is_none() || unit == Some(u);
            if set && opt.eq_ignore_ascii_case(b"nx") && !a.xx {
                a.nx = true;
            } else if set && opt.eq_ignore_ascii_case(b"xx") && !a.nx {
                a.xx = true;
            } else if set && opt.eq_ignore_ascii_case(b"get") {
                a.get = true;
            } else if set && opt.eq_ignore_ascii_case(b"keepttl") && unit.is_none() {
                a.keepttl = true;
            } else if !set && opt.eq_ignore_ascii_case(b"persist") && unit.is_none() {
                a.persist = true;
            } else if let (Some(u), Some(next)) = (ext_unit(opt), next) {
                if a.keepttl || a.persist || !no_exp_but(u) {
                    return Err(CmdError::Syntax);
                }
                a.expire = Some((u, &next[..]));
                j += 1;
            } else {
                return Err(CmdError::Syntax);
            }
            j += 1;
        }
        Ok(a)
    }
}

fn ext_unit(opt: &[u8]) -> Option<Unit> {
    [
        (&b"ex"[..], Unit::Ex),
        (b"px", Unit::Px),
        (b"exat", Unit::ExAt),
        (b"pxat", Unit::PxAt),
    ]
    .into_iter()
    .find(|(n, _)| opt.eq_ignore_ascii_case(n))
    .map(|(_, u)| u)
}

/// The string under `key`, cloned out of the map (cheap: `VStr` shares
/// long buffers). `WrongType` if `key` holds another type.
fn get_string(ctx: &mut Ctx<'_, '_>, key: &[u8]) -> Result<Option<VStr>, CmdError> {
    Ok(ctx.get_str(key)?.cloned())
}

fn bulk_or_nil(s: Option<VStr>) -> Reply {
    match s {
        Some(s) => Reply::Bulk(s.to_bytes()),
        None => Reply::Nil,
    }
}

/// `GET key`
fn get(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    Ok(bulk_or_nil(get_string(ctx, &argv[1])?))
}

/// Stores `value` under `key` as SET does (optionally keeping the TTL, or
/// setting an absolute expiry), signals it and logs its deterministic form.
fn store_string(
    ctx: &mut Ctx<'_, '_>,
    key: &[u8],
    value: &[u8],
    keepttl: bool,
    at: Option<u64>,
) -> Result<(), CmdError> {
    ctx.set(key, Value::str(value), keepttl)?;
    if let Some(at) = at {
        ctx.set_expire(key, at)?;
    }
    ctx.modified(key);
    ctx.notify(notify::STRING, "set", key);
    match at {
        Some(at) => {
            ctx.notify(notify::GENERIC, "expire", key);
            ctx.propagate(
                key,
                &[b"SET", key, value, b"PXAT", at.to_string().as_bytes()],
            );
        }
        None if keepttl => ctx.propagate(key, &[b"SET", key, value, b"KEEPTTL"]),
        None => ctx.propagate(key, &[b"SET", key, value]),
    }
    Ok(())
}

/// `SET key value [NX | XX] [GET] [EX seconds | PX milliseconds |
/// EXAT unix-time-seconds | PXAT unix-time-milliseconds | KEEPTTL]`
struct Set<'a> {
    key: &'a [u8],
    value: &'a [u8],
    opts: ExtArgs<'a>,
}

impl<'a> Set<'a> {
    fn parse(argv: &'a [Bytes]) -> Result<Self, CmdError> {
        Ok(Set {
            key: &argv[1],
            value: &argv[2],
            opts: ExtArgs::parse(&argv[3..], true)?,
        })
    }

    fn exec(self, ctx: &mut Ctx<'_, '_>) -> CmdResult {
        let o = &self.opts;
        let at = match o.expire {
            Some((unit, arg)) => Some(expire_at(ctx, arg, unit, "set")?),
            None => None,
        };
        let old = if o.get {
            get_string(ctx, self.key)?
        } else {
            None
        };
        let found = (o.nx || o.xx) && lookup_write(ctx, self.key)?.is_some();
        if (o.nx && found) || (o.xx && !found) {
            ctx.suppress_propagation();
            return Ok(if o.get { bulk_or_nil(old) } else { Reply::Nil });
        }
        store_string(ctx, self.key, self.value, o.keepttl, at)?;
        Ok(if o.get { bulk_or_nil(old) } else { Reply::ok() })
    }
}

fn set(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    Set::parse(argv)?.exec(ctx)
}

/// `SETNX key value`
fn setnx(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    if lookup_write(ctx, &argv[1])?.is_some() {
        ctx.suppress_propagation();
        return Ok(Reply::Int(0));
    }
    store_string(ctx, &argv[1], &argv[2], false, None)?;
    Ok(Reply::Int(1))
}

/// `SETEX key seconds value`
fn setex(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    let at = expire_at(ctx, &argv[2], Unit::Ex, "setex")?;
    store_string(ctx, &argv[1], &argv[3], false, Some(at))?;
    Ok(Reply::ok())
}

/// `PSETEX key milliseconds value`
fn psetex(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    let at = expire_at(ctx, &argv[2], Unit::Px, "psetex")?;
    store_string(ctx, &argv[1], &argv[3], false, Some(at))?;
    Ok(Reply::ok())
}

/// `GETSET key value`
fn getset(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    let old = get_string(ctx, &argv[1])?;
    store_string(ctx, &argv[1], &argv[2], false, None)?;
    Ok(bulk_or_nil(old))
}

/// `GETDEL key`
fn getdel(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    let key = &argv[1][..];
    let Some(old) = get_string(ctx, key)? else {
        return Ok(Reply::Nil);
    };
    ctx.remove(key)?;
    ctx.modified(key);
    ctx.notify(notify::GENERIC, "del", key);
    ctx.propagate(key, &[b"DEL", key]);
    Ok(Reply::Bulk(old.to_bytes()))
}

/// `GETEX key [EX seconds | PX milliseconds | EXAT unix-time-seconds |
/// PXAT unix-time-milliseconds | PERSIST]`
struct GetEx<'a> {
    key: &'a [u8],
    opts: ExtArgs<'a>,
}

impl<'a> GetEx<'a> {
    fn parse(argv: &'a [Bytes]) -> Result<Self, CmdError> {
        Ok(GetEx {
            key: &argv[1],
            opts: ExtArgs::parse(&argv[2..], false)?,
        })
    }

    fn exec(self, ctx: &mut Ctx<'_, '_>) -> CmdResult {
        let key = self.key;
        let Some(value) = get_string(ctx, key)? else {
            return Ok(Reply::Nil);
        };
        let at = match self.opts.expire {
            Some((unit, arg)) => Some((unit, expire_at(ctx, arg, unit, "getex")?)),
            None => None,
        };
        match at {
            Some((Unit::ExAt | Unit::PxAt, at)) if at <= ctx.now_ms && !ctx.loading => {
                ctx.remove(key)?;
                ctx.modified(key);
                ctx.notify(notify::GENERIC, "del", key);
                ctx.propagate(key, &[b"DEL", key]);
            }
            Some((_, at)) => {
                ctx.set_expire(key, at)?;
                ctx.modified(key);
                ctx.notify(notify::GENERIC, "expire", key);
                ctx.propagate(key, &[b"PEXPIREAT", key, at.to_string().as_bytes()]);
            }
            None if self.opts.persist
                && lookup_write(ctx, key)?.is_some_and(|e| e.expire_at().is_some()) =>
            {
                ctx.set_expire(key, 0)?;
                ctx.modified(key);
                ctx.notify(notify::GENERIC, "persist", key);
                ctx.propagate(key, &[b"PERSIST", key]);
            }
            None => {}
        }
        Ok(Reply::Bulk(value.to_bytes()))
    }
}

fn getex(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    GetEx::parse(argv)?.exec(ctx)
}

/// `MGET key [key ...]`: a nil for each missing key or non-string.
fn mget(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    let mut out = Vec::with_capacity(argv.len() - 1);
    for key in &argv[1..] {
        out.push(match ctx.get_str(key) {
            Ok(Some(s)) => Reply::Bulk(s.to_bytes()),
            Ok(None) | Err(CmdError::WrongType) => Reply::Nil,
            Err(e) => return Err(e),
        });
    }
    Ok(Reply::Array(out))
}

/// `MSET key value [key value ...]`: each key is logged to its own shard.
fn mset(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    if argv.len() % 2 == 0 {
        return Err(CmdError::Arity("mset".into()));
    }
    for kv in argv[1..].chunks_exact(2) {
        store_string(ctx, &kv[0], &kv[1], false, None)?;
    }
    Ok(Reply::ok())
}

/// `MSETNX key value [key value ...]`: all or nothing.
fn msetnx(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    if argv.len() % 2 == 0 {
        return Err(CmdError::Arity("msetnx".into()));
    }
    for kv in argv[1..].chunks_exact(2) {
        if lookup_write(ctx, &kv[0])?.is_some() {
            ctx.suppress_propagation();
            return Ok(Reply::Int(0));
        }
    }
    for kv in argv[1..].chunks_exact(2) {
        store_string(ctx, &kv[0], &kv[1], false, None)?;
    }
    Ok(Reply::Int(1))
}

mod edit;
use edit::*;

#[cfg(test)]
mod tests;
