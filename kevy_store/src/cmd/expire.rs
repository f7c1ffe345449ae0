//! Expiry commands: EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT (with NX, XX, GT,
//! LT), TTL, PTTL, EXPIRETIME, PEXPIRETIME and PERSIST. They act on any
//! value type: only the entry's expiry is read or written.

use super::keys::{count_lookup, lookup_write};
use super::StoreCommand;
use crate::ctx::{notify, Ctx};
use crate::error::{CmdError, CmdResult};
use crate::num::arg_i64;
use crate::spec::{acl, flags::*, CommandMeta, Keys};
use bytes::Bytes;
use kevy_resp::Reply;

/// The expiry family's table.
pub(crate) static COMMANDS: &[StoreCommand] = &[
    StoreCommand {
        meta: CommandMeta {
            name: "expire",
            arity: -3,
            flags: WRITE | FAST,
            acl: acl::KEYSPACE,
            keys: Keys::ONE,
            group: "generic",
            summary: "Set a key's time to live in seconds",
            since: "1.0.0",
            complexity: "O(1)",
        },
        run: expire,
    },
    StoreCommand {
        meta: CommandMeta {
            name: "pexpire",
            arity: -3,
            flags: WRITE | FAST,
            acl: acl::KEYSPACE,
            keys: Keys::ONE,
            group: "generic",
            summary: "Set a key's time to live in milliseconds",
            since: "2.6.0",
            complexity: "O(1)",
        },
        run: pexpire,
    },
    StoreCommand {
        meta: CommandMeta {
            name: "expireat",
            arity: -3,
            flags: WRITE | FAST,
            acl: acl::KEYSPACE,
            keys: Keys::ONE,
            group: "generic",
            summary: "Set the expiration for a key as a UNIX timestamp",
            since: "1.2.0",
            complexity: "O(1)",
        },
        run: expireat,
    },
    StoreCommand {
        meta: CommandMeta {
            name: "pexpireat",
            arity: -3,
            flags: WRITE | FAST,
            acl: acl::KEYSPACE,
            keys: Keys::ONE,
            group: "generic",
            summary: "Set the expiration for a key as a UNIX timestamp specified in milliseconds",
            since: "2.6.0",
            complexity: "O(1)",
        },
        run: pexpireat,
    },
    StoreCommand {
        meta: CommandMeta {
            name: "ttl",
            arity: 2,
            flags: READONLY | FAST,
            acl: acl::KEYSPACE,
            keys: Keys::ONE,
            group: "generic",
            summary: "Get the time to live for a key in seconds",
            since: "1.0.0",
            complexity: "O(1)",
        },
        run: ttl,
    },
    StoreCommand {
        meta: CommandMeta {
            name: "pttl",
            arity: 2,
            flags: READONLY | FAST,
            acl: acl::KEYSPACE,
            keys: Keys::ONE,
            group: "generic",
            summary: "Get the time to live for a key in milliseconds",
            since: "2.6.0",
            complexity: "O(1)",
        },
        run: pttl,
    },
    StoreCommand {
        meta: CommandMeta {
            name: "expiretime",
            arity: 2,
            flags: READONLY | FAST,
            acl: acl::KEYSPACE,
            keys: Keys::ONE,
            group: "generic",
            summary: "Get the expiration Unix timestamp for a key",
            since: "7.0.0",
            complexity: "O(1)",
        },
        run: expiretime,
    },
    StoreCommand {
        meta: CommandMeta {
            name: "pexpiretime",
            arity: 2,
            flags: READONLY | FAST,
            acl: acl::KEYSPACE,
            keys: Keys::ONE,
            group: "generic",
            summary: "Get the expiration Unix timestamp for a key in milliseconds",
            since: "7.0.0",
            complexity: "O(1)",
        },
        run: pexpiretime,
    },
    StoreCommand {
        meta: CommandMeta {
            name: "persist",
            arity: 2,
            flags: WRITE | FAST,
            acl: acl::KEYSPACE,
            keys: Keys::ONE,
            group: "generic",
            summary: "Remove the expiration from a key",
            since: "2.2.0",
            complexity: "O(1)",
        },
        run: persist,
    },
];

/// How the time argument of an EXPIRE-family command reads.
#[derive(Clone, Copy)]
enum Base {
    /// Seconds from now (EXPIRE).
    RelSecs,
    /// Milliseconds from now (PEXPIRE).
    RelMs,
    /// Unix seconds (EXPIREAT).
    AbsSecs,
    /// Unix milliseconds (PEXPIREAT).
    AbsMs,
}

/// `EXPIRE key seconds [NX | XX | GT | LT]` and its three siblings.
struct Expire<'a> {
    key: &'a [u8],
    time: &'a [u8],
    nx: bool,
    xx: bool,
    gt: bool,
    lt: bool,
}

impl<'a> Expire<'a> {
    fn parse(argv: &'a [Bytes]) -> Result<Self, CmdError> {
        let mut e = Expire {
            key: &argv[1],
            time: &argv[2],
            nx: false,
            xx: false,
            gt: false,
            lt: false,
        };
        for opt in &argv[3..] {
            match opt.to_ascii_lowercase().as_slice() {
                b"nx" => e.nx = true,
                b"xx" => e.xx = true,
                b"gt" => e.gt = true,
                b"lt" => e.lt = true,
                _ => {
                    return Err(CmdError::err(format!(
                        "Unsupported option {}",
                        String::from_utf8_lossy(opt)
                    )));
                }
            }
        }
        if e.nx && (e.xx || e.gt || e.lt) {
            return Err(CmdError::err(
                "NX and XX, GT or LT options at the same time are not compatible",
            ));
        }
        if e.gt && e.lt {
            return Err(CmdError::err(
                "GT and LT options at the same time are not compatible",
            ));
        }
        Ok(e)
    }

    fn exec(self, ctx: &mut Ctx<'_, '_>, base: Base, name: &str) -> CmdResult {
        let invalid = || CmdError::Other(format!("ERR invalid expire time in '{name}' command"));
        let mut when = arg_i64(self.time)?;
        if matches!(base, Base::RelSecs | Base::AbsSecs) {
            when = when.checked_mul(1000).ok_or_else(invalid)?;
        }
        if matches!(base, Base::RelSecs | Base::RelMs) {
            when = when.checked_add(ctx.now_ms as i64).ok_or_else(invalid)?;
        }
        let key = self.key;
        let Some(e) = lookup_write(ctx, key)? else {
            return Ok(Reply::Int(0));
        };
        // A key without expiry counts as an infinite TTL for GT and LT.
        let cur = e.expire_at().map_or(-1, |t| t as i64);
        let refused = (self.nx && cur != -1)
            || (self.xx && cur == -1)
            || (self.gt && (cur == -1 || when <= cur))
            || (self.lt && cur != -1 && when >= cur);
        if refused {
            return Ok(Reply::Int(0));
        }
        // A replayed log keeps past expiries (the key then expires lazily),
        // as Redis does while loading.
        if when <= ctx.now_ms as i64 && !ctx.loading {
            ctx.remove(key)?;
            ctx.modified(key);
            ctx.notify(notify::GENERIC, "del", key);
            ctx.propagate(key, &[b"DEL", key]);
        } else {
            ctx.set_expire(key, when.max(1) as u64)?;
            ctx.modified(key);
            ctx.notify(notify::GENERIC, "expire", key);
            ctx.propagate(key, &[b"PEXPIREAT", key, when.to_string().as_bytes()]);
        }
        Ok(Reply::Int(1))
    }
}

/// `EXPIRE key seconds [NX | XX | GT | LT]`
fn expire(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    Expire::parse(argv)?.exec(ctx, Base::RelSecs, "expire")
}

/// `PEXPIRE key milliseconds [NX | XX | GT | LT]`
fn pexpire(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    Expire::parse(argv)?.exec(ctx, Base::RelMs, "pexpire")
}

/// `EXPIREAT key unix-time-seconds [NX | XX | GT | LT]`
fn expireat(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    Expire::parse(argv)?.exec(ctx, Base::AbsSecs, "expireat")
}

/// `PEXPIREAT key unix-time-milliseconds [NX | XX | GT | LT]`
fn pexpireat(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    Expire::parse(argv)?.exec(ctx, Base::AbsMs, "pexpireat")
}

/// What TTL-family commands report.
#[derive(Clone, Copy)]
enum Show {
    /// Remaining seconds, rounded (TTL).
    Secs,
    /// Remaining milliseconds (PTTL).
    Ms,
    /// Absolute Unix seconds, rounded (EXPIRETIME).
    AtSecs,
    /// Absolute Unix milliseconds (PEXPIRETIME).
    AtMs,
}

/// -2 for a missing key, -1 for a key without expiry, else the time asked.
fn ttl_generic(ctx: &mut Ctx<'_, '_>, key: &[u8], show: Show) -> CmdResult {
    let now = ctx.now_ms;
    let found = ctx.peek(key)?.map(|e| e.expire_at());
    count_lookup(ctx, found.is_some());
    let Some(expiry) = found else {
        ctx.key_miss(key);
        return Ok(Reply::Int(-2));
    };
    let Some(at) = expiry else {
        return Ok(Reply::Int(-1));
    };
    let ms = match show {
        Show::Secs | Show::Ms => at.saturating_sub(now),
        Show::AtSecs | Show::AtMs => at,
    };
    Ok(Reply::Int(match show {
        Show::Secs | Show::AtSecs => ms.saturating_add(500) / 1000,
        Show::Ms | Show::AtMs => ms,
    } as i64))
}

/// `TTL key`
fn ttl(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    ttl_generic(ctx, &argv[1], Show::Secs)
}

/// `PTTL key`
fn pttl(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    ttl_generic(ctx, &argv[1], Show::Ms)
}

/// `EXPIRETIME key`
fn expiretime(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    ttl_generic(ctx, &argv[1], Show::AtSecs)
}

/// `PEXPIRETIME key`
fn pexpiretime(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    ttl_generic(ctx, &argv[1], Show::AtMs)
}

/// `PERSIST key`
fn persist(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    let key = &argv[1][..];
    if lookup_write(ctx, key)?.is_none_or(|e| e.expire_at().is_none()) {
        return Ok(Reply::Int(0));
    }
    ctx.set_expire(key, 0)?;
    ctx.modified(key);
    ctx.notify(notify::GENERIC, "persist", key);
    Ok(Reply::Int(1))
}

#[cfg(test)]
mod tests {
    use crate::cmd::testutil::{T, T0};

    #[test]
    fn options_matrix() {
        let mut t = T::new();
        t.check(&[
            ("SET a 1", "+OK"),
            ("EXPIRE a 100 GT", ":0"),
            ("TTL a", ":-1"),
            ("EXPIRE a 100 XX", ":0"),
            ("EXPIRE a 100 LT", ":1"),
            ("TTL a", ":100"),
            ("EXPIRE a 50 GT", ":0"),
            ("EXPIRE a 200 GT", ":1"),
            ("EXPIRE a 300 NX", ":0"),
            ("EXPIRE a 300 XX", ":1"),
            ("EXPIRE a 400 LT", ":0"),
            ("EXPIRE a 300 lt", ":0"),
            ("EXPIRE a 299 lt", ":1"),
            ("EXPIRE a 300 XX XX", ":1"),
            (
                "EXPIRE a 300 NX XX",
                "-ERR NX and XX, GT or LT options at the same time are not compatible",
            ),
            (
                "EXPIRE a 300 NX GT",
                "-ERR NX and XX, GT or LT options at the same time are not compatible",
            ),
            (
                "EXPIRE a 300 GT LT",
                "-ERR GT and LT options at the same time are not compatible",
            ),
            ("EXPIRE a 300 FOO", "-ERR Unsupported option FOO"),
            (
                "EXPIRE a abc NX XX",
                "-ERR NX and XX, GT or LT options at the same time are not compatible",
            ),
            (
                "EXPIRE a abc",
                "-ERR value is not an integer or out of range",
            ),
            ("PERSIST a", ":1"),
            ("PERSIST a", ":0"),
            ("PERSIST nosuch", ":0"),
            ("EXPIRE a 300 XX", ":0"),
            ("EXPIRE a 300 NX", ":1"),
            ("EXPIRE nosuch 100", ":0"),
            ("SET b 1", "+OK"),
            ("EXPIRE b 1 GT", ":0"),
            ("EXPIRE b -1 LT", ":1"),
            ("EXISTS b", ":0"),
        ]);
    }

    #[test]
    fn overflow_and_past_times() {
        let mut t = T::new();
        t.check(&[
            ("SET a 1", "+OK"),
            (
                "EXPIRE a 9223372036854775807",
                "-ERR invalid expire time in 'expire' command",
            ),
            (
                "PEXPIRE a 9223372036854775807",
                "-ERR invalid expire time in 'pexpire' command",
            ),
            (
                "EXPIRE a 9223372036854775",
                "-ERR invalid expire time in 'expire' command",
            ),
            (
                "EXPIRE a -9223372036854775808",
                "-ERR invalid expire time in 'expire' command",
            ),
            (
                "EXPIREAT a 9223372036854776",
                "-ERR invalid expire time in 'expireat' command",
            ),
            ("EXPIREAT a 9223372036854775", ":1"),
            ("PEXPIREAT a 9223372036854775807", ":1"),
            ("TTL a", ":9223370336854776"),
            ("PEXPIREAT a -9223372036854775808", ":1"),
            ("EXISTS a", ":0"),
            ("SET a 1", "+OK"),
            ("EXPIRE a 0", ":1"),
            ("EXISTS a", ":0"),
            ("SET a 1", "+OK"),
            ("PEXPIREAT a 1700000000000", ":1"),
            ("EXISTS a", ":0"),
            ("SET a 1", "+OK"),
            ("PEXPIREAT a 1700000000001", ":1"),
            ("EXISTS a", ":1"),
        ]);
    }

    #[test]
    fn ttl_rounding_and_lazy_expiry() {
        let mut t = T::new();
        t.check(&[
            ("TTL nosuch", ":-2"),
            ("PTTL nosuch", ":-2"),
            ("EXPIRETIME nosuch", ":-2"),
            ("SET a 1", "+OK"),
            ("TTL a", ":-1"),
            ("PTTL a", ":-1"),
            ("EXPIRETIME a", ":-1"),
            ("PEXPIRETIME a", ":-1"),
            ("PEXPIRE a 1500", ":1"),
            ("TTL a", ":2"),
            ("PEXPIRE a 1499", ":1"),
            ("TTL a", ":1"),
            ("PEXPIREAT a 99999999999999", ":1"),
            ("EXPIRETIME a", ":100000000000"),
            ("PEXPIRETIME a", ":99999999999999"),
            ("PEXPIRE a 100", ":1"),
            ("@sleep 100", ""),
            ("PTTL a", ":0"),
            ("TTL a", ":0"),
            ("GET a", "$1\r\n1"),
            ("@sleep 1", ""),
            ("PTTL a", ":-2"),
            ("GET a", "$-1"),
        ]);
    }

    #[test]
    fn logs_absolute_times_and_deletes() {
        let mut t = T::new();
        t.check(&[("SET a 1", "+OK")]);
        let rec = t.record();
        t.check(&[
            ("EXPIRE a 10", ":1"),
            ("PEXPIRE a 10 GT", ":0"),
            ("EXPIREAT a 1800000000", ":1"),
            ("PERSIST a", ":1"),
            ("PEXPIRE a 100", ":1"),
            ("@sleep 101", ""),
            ("GET a", "$-1"),
            ("SET b 1", "+OK"),
            ("EXPIRE b -5", ":1"),
        ]);
        assert_eq!(
            rec.lines(),
            vec![
                format!("PEXPIREAT a {}", T0 + 10_000),
                "PEXPIREAT a 1800000000000".to_string(),
                "PERSIST a".to_string(),
                format!("PEXPIREAT a {}", T0 + 100),
                "DEL a".to_string(),
                "SET b 1".to_string(),
                "DEL b".to_string(),
            ]
        );
    }
}
