//! BITFIELD and BITFIELD_RO: signed and unsigned integers of 1 to 64 bits
//! (unsigned up to 63) at arbitrary bit offsets, read and written
//! most-significant bit first, with Redis's overflow policies.

use super::{bit_offset, edit_bits, read_str};
use crate::ctx::{notify, Ctx};
use crate::error::{CmdError, CmdResult};
use crate::kstr::VStr;
use crate::num::{arg_i64, parse_i64};
use bytes::Bytes;
use kevy_resp::Reply;

/// What an operation does.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum OpKind {
    Get,
    Set,
    IncrBy,
}

/// How writes handle values that do not fit the type.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Overflow {
    Wrap,
    Sat,
    Fail,
}

/// One parsed operation.
#[derive(Clone, Copy, Debug)]
struct Op {
    kind: OpKind,
    signed: bool,
    bits: u32,
    offset: u64,
    value: i64,
    overflow: Overflow,
}

/// `BITFIELD key [GET encoding offset | [OVERFLOW <WRAP | SAT | FAIL>]
/// <SET encoding offset value | INCRBY encoding offset increment> ...]`
///
/// Every operation is parsed (and every error reported) before any runs;
/// writes then grow the string to the farthest bit written.
struct Bitfield {
    ops: Vec<Op>,
    /// Farthest bit a SET or INCRBY touches; `None` when all are GETs.
    max_write_bit: Option<u64>,
}

/// Redis's `getBitfieldTypeFromArgument`: `i1`..`i64` or `u1`..`u63`.
/// The width is read up to the first NUL byte, as Redis's `strlen` does.
fn parse_type(arg: &[u8]) -> Result<(bool, u32), CmdError> {
    let err = || {
        CmdError::err("Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.")
    };
    let signed = match arg.first() {
        Some(b'i') => true,
        Some(b'u') => false,
        _ => return Err(err()),
    };
    let rest = &arg[1..];
    let rest = &rest[..rest.iter().position(|&b| b == 0).unwrap_or(rest.len())];
    let bits = parse_i64(rest).ok_or_else(err)?;
    if bits < 1 || (signed && bits > 64) || (!signed && bits > 63) {
        return Err(err());
    }
    Ok((signed, bits as u32))
}

impl Bitfield {
    fn parse(args: &[Bytes]) -> Result<Bitfield, CmdError> {
        let mut ops = Vec::new();
        let mut overflow = Overflow::Wrap;
        let mut max_write_bit: Option<u64> = None;
        let mut j = 0;
        while j < args.len() {
            let sub = &args[j][..];
            let remaining = args.len() - j - 1;
            let kind = if sub.eq_ignore_ascii_case(b"get") && remaining >= 2 {
                OpKind::Get
            } else if sub.eq_ignore_ascii_case(b"set") && remaining >= 3 {
                OpKind::Set
            } else if sub.eq_ignore_ascii_case(b"incrby") && remaining >= 3 {
                OpKind::IncrBy
            } else if sub.eq_ignore_ascii_case(b"overflow") && remaining >= 1 {
                let name = &args[j + 1][..];
                overflow = if name.eq_ignore_ascii_case(b"wrap") {
                    Overflow::Wrap
                } else if name.eq_ignore_ascii_case(b"sat") {
                    Overflow::Sat
                } else if name.eq_ignore_ascii_case(b"fail") {
                    Overflow::Fail
                } else {
                    return Err(CmdError::err("Invalid OVERFLOW type specified"));
                };
                j += 2;
                continue;
            } else {
                return Err(CmdError::Syntax);
            };
            let (signed, bits) = parse_type(&args[j + 1])?;
            let offset = bit_offset(&args[j + 2], true, bits)?;
            let mut value = 0;
            if kind != OpKind::Get {
                let last = offset + bits as u64 - 1;
                max_write_bit = Some(max_write_bit.map_or(last, |m| m.max(last)));
                value = arg_i64(&args[j + 3])?;
            }
            ops.push(Op {
                kind,
                signed,
                bits,
                offset,
                value,
                overflow,
            });
            j += if kind == OpKind::Get { 3 } else { 4 };
        }
        Ok(Bitfield { ops, max_write_bit })
    }
}

/// Reads `bits` bits at bit `offset` of `s` as an unsigned number; bits
/// past the end read as zero.
fn get_unsigned(s: &[u8], offset: u64, bits: u32) -> u64 {
    let mut v = 0u64;
    for k in 0..bits as u64 {
        let o = offset + k;
        let bit = s
            .get((o >> 3) as usize)
            .map_or(0, |b| (b >> (7 - (o & 7))) & 1);
        v = (v << 1) | bit as u64;
    }
    v
}

/// Reads a signed field (two's complement, sign-extended).
fn get_signed(s: &[u8], offset: u64, bits: u32) -> i64 {
    let v = get_unsigned(s, offset, bits);
    if bits < 64 && v & (1 << (bits - 1)) != 0 {
        (v | (u64::MAX << bits)) as i64
    } else {
        v as i64
    }
}

/// Writes the low `bits` bits of `v` at bit `offset` (the string is long
/// enough: it was grown for the farthest write).
fn set_bits(s: &mut [u8], offset: u64, bits: u32, v: u64) {
    for k in 0..bits as u64 {
        let o = offset + k;
        let bit = (v >> (bits as u64 - 1 - k)) & 1;
        if let Some(b) = s.get_mut((o >> 3) as usize) {
            let mask = 1u8 << (7 - (o & 7));
            if bit == 1 {
                *b |= mask;
            } else {
                *b &= !mask;
            }
        }
    }
}

/// The field's range as `(min, max)`.
fn limits(signed: bool, bits: u32) -> (i128, i128) {
    if signed {
        (-(1i128 << (bits - 1)), (1i128 << (bits - 1)) - 1)
    } else {
        (0, (1i128 << bits) - 1)
    }
}

/// The value to store for an exact result `x` (Redis's
/// `check(Un)signedBitfieldOverflow`): `None` when the policy is FAIL and
/// `x` does not fit.
fn fit(x: i128, signed: bool, bits: u32, overflow: Overflow) -> Option<i128> {
    let (min, max) = limits(signed, bits);
    if (min..=max).contains(&x) {
        return Some(x);
    }
    match overflow {
        Overflow::Fail => None,
        Overflow::Sat => Some(if x > max { max } else { min }),
        Overflow::Wrap => {
            let m = 1i128 << bits;
            let w = x.rem_euclid(m);
            Some(if signed && w > max { w - m } else { w })
        }
    }
}

/// Runs one write on `buf`: its reply and, when it wrote, whether the
/// field's value changed.
fn apply(buf: &mut [u8], op: &Op) -> (Reply, Option<bool>) {
    let old: i128 = if op.signed {
        get_signed(buf, op.offset, op.bits) as i128
    } else {
        get_unsigned(buf, op.offset, op.bits) as i128
    };
    // Unsigned fields take the SET value as an unsigned 64-bit number, as
    // Redis does (so `SET u8 0 -1` overflows upwards).
    let arg: i128 = if op.signed || op.kind == OpKind::IncrBy {
        op.value as i128
    } else {
        op.value as u64 as i128
    };
    let exact = if op.kind == OpKind::IncrBy {
        old + arg
    } else {
        arg
    };
    match fit(exact, op.signed, op.bits, op.overflow) {
        None => (Reply::Nil, None),
        Some(new) => {
            set_bits(buf, op.offset, op.bits, new as u64);
            (
                Reply::Int(if op.kind == OpKind::IncrBy { new } else { old } as i64),
                Some(old != new),
            )
        }
    }
}

/// Runs a GET on the string `s`.
fn get(s: &[u8], op: &Op) -> Reply {
    Reply::Int(if op.signed {
        get_signed(s, op.offset, op.bits)
    } else {
        get_unsigned(s, op.offset, op.bits) as i64
    })
}

fn run(ctx: &mut Ctx<'_, '_>, argv: &[Bytes], read_only: bool) -> CmdResult {
    let key = &argv[1][..];
    let bf = Bitfield::parse(&argv[2..])?;
    let Some(maxbit) = bf.max_write_bit else {
        let s = read_str(ctx, key)?.unwrap_or_else(VStr::empty);
        return Ok(Reply::Array(bf.ops.iter().map(|op| get(&s, op)).collect()));
    };
    if read_only {
        return Err(CmdError::err(
            "BITFIELD_RO only supports the GET subcommand",
        ));
    }
    let mut changed = Vec::new();
    let (replies, grown) = edit_bits(ctx, key, maxbit, |buf| {
        let mut replies = Vec::with_capacity(bf.ops.len());
        for op in &bf.ops {
            if op.kind == OpKind::Get {
                replies.push(get(buf, op));
            } else {
                let (reply, wrote) = apply(buf, op);
                replies.push(reply);
                changed.push(wrote);
            }
        }
        replies
    })?;
    // As Redis counts them: a write that stored a different value, or any
    // stored write when the string was created or grown. A FAIL overflow
    // stores nothing (even though the key may just have been created).
    let changes = changed
        .iter()
        .filter(|w| matches!(w, Some(c) if *c || grown))
        .count();
    if changes > 0 {
        ctx.modified(key);
        ctx.events.dirty += changes as u64 - 1;
        ctx.notify(notify::STRING, "setbit", key);
    } else if grown {
        // The string was created or padded with zeros although nothing was
        // stored. Redis signals the key without counting a change, and so
        // never propagates it; kevy logs the command (it replays to the same
        // padding), or a restart would lose a key clients saw.
        ctx.signal_modified(key);
        ctx.notify(notify::STRING, "setbit", key);
        let parts: Vec<&[u8]> = argv.iter().map(|a| &a[..]).collect();
        ctx.propagate(key, &parts);
    } else {
        ctx.suppress_propagation();
    }
    Ok(Reply::Array(replies))
}

/// `BITFIELD key [GET ... | OVERFLOW ... | SET ... | INCRBY ...]`
pub(super) fn bitfield(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    run(ctx, argv, false)
}

/// `BITFIELD_RO key [GET encoding offset ...]`
pub(super) fn bitfield_ro(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    run(ctx, argv, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overflow_policies() {
        assert_eq!(fit(128, true, 8, Overflow::Wrap), Some(-128));
        assert_eq!(fit(-129, true, 8, Overflow::Wrap), Some(127));
        assert_eq!(fit(300, true, 8, Overflow::Sat), Some(127));
        assert_eq!(fit(-300, true, 8, Overflow::Sat), Some(-128));
        assert_eq!(fit(256, false, 8, Overflow::Wrap), Some(0));
        assert_eq!(fit(-1, false, 8, Overflow::Wrap), Some(255));
        assert_eq!(fit(-1, false, 8, Overflow::Sat), Some(0));
        assert_eq!(fit(256, false, 8, Overflow::Fail), None);
        assert_eq!(
            fit(i64::MAX as i128 + 1, true, 64, Overflow::Wrap),
            Some(i64::MIN as i128)
        );
    }

    #[test]
    fn field_io() {
        let mut s = [0u8; 3];
        set_bits(&mut s, 3, 10, 0b10_1100_1111);
        assert_eq!(get_unsigned(&s, 3, 10), 0b10_1100_1111);
        assert_eq!(get_signed(&s, 3, 10), 0b10_1100_1111 - 1024);
        assert_eq!(get_unsigned(&s, 20, 10), 0);
        assert_eq!(parse_type(b"i64"), Ok((true, 64)));
        assert!(
            parse_type(b"u64").is_err() && parse_type(b"I8").is_err() && parse_type(b"i0").is_err()
        );
        assert_eq!(parse_type(b"u8\0zz"), Ok((false, 8)));
    }
}
