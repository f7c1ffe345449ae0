//! Bitmap commands over string values: SETBIT, GETBIT, BITCOUNT, BITPOS
//! here, BITOP in `bitop.rs`, BITFIELD and BITFIELD_RO in `bitfield.rs`.
//! Bit 0 is the most significant bit of the first byte, as in Redis.
//! Strings modified in place are reported with the `raw` encoding, as
//! Redis's unshared strings are.

mod bitfield;
mod bitop;

use super::strings::PROTO_MAX_BULK_LEN;
use super::StoreCommand;
use crate::ctx::{notify, Ctx};
use crate::error::{CmdError, CmdResult};
use crate::kstr::VStr;
use crate::num::{arg_i64, parse_i64};
use crate::spec::{acl, flags::*, CommandMeta, Keys};
use crate::value::{lru_clock, Entry, Value, STR_RAW};
use bytes::Bytes;
use kevy_resp::Reply;

/// The bitmaps family's table.
pub(crate) static COMMANDS: &[StoreCommand] = &[
    StoreCommand {
        meta: CommandMeta {
            name: "setbit",
            arity: 4,
            flags: WRITE | DENYOOM,
            acl: acl::BITMAP,
            keys: Keys::ONE,
            group: "bitmap",
            summary: "Sets or clears the bit at offset in the string value stored at key",
            since: "2.2.0",
            complexity: "O(1)",
        },
        run: setbit,
    },
    StoreCommand {
        meta: CommandMeta {
            name: "getbit",
            arity: 3,
            flags: READONLY | FAST,
            acl: acl::BITMAP,
            keys: Keys::ONE,
            group: "bitmap",
            summary: "Returns the bit value at offset in the string value stored at key",
            since: "2.2.0",
            complexity: "O(1)",
        },
        run: getbit,
    },
    StoreCommand {
        meta: CommandMeta {
            name: "bitcount",
            arity: -2,
            flags: READONLY,
            acl: acl::BITMAP,
            keys: Keys::ONE,
            group: "bitmap",
            summary: "Count set bits in a string",
            since: "2.6.0",
            complexity: "O(N)",
        },
        run: bitcount,
    },
    StoreCommand {
        meta: CommandMeta {
            name: "bitpos",
            arity: -3,
            flags: READONLY,
            acl: acl::BITMAP,
            keys: Keys::ONE,
            group: "bitmap",
            summary: "Find first bit set or clear in a string",
            since: "2.8.7",
            complexity: "O(N)",
        },
        run: bitpos,
    },
    StoreCommand {
        meta: CommandMeta {
            name: "bitop",
            arity: -4,
            flags: WRITE | DENYOOM,
            acl: acl::BITMAP,
            keys: Keys::Range { first: 2, last: -1, step: 1 },
            group: "bitmap",
            summary: "Perform bitwise operations between strings",
            since: "2.6.0",
            complexity: "O(N)",
        },
        run: bitop::bitop,
    },
    StoreCommand {
        meta: CommandMeta {
            name: "bitfield",
            arity: -2,
            flags: WRITE | DENYOOM,
            acl: acl::BITMAP,
            keys: Keys::ONE,
            group: "bitmap",
            summary: "Perform arbitrary bitfield integer operations on strings",
            since: "3.2.0",
            complexity: "O(1) for each subcommand specified",
        },
        run: bitfield::bitfield,
    },
    StoreCommand {
        meta: CommandMeta {
            name: "bitfield_ro",
            arity: -2,
            flags: READONLY | FAST,
            acl: acl::BITMAP,
            keys: Keys::ONE,
            group: "bitmap",
            summary: "Perform arbitrary bitfield integer operations on strings. Read-only variant of BITFIELD",
            since: "6.0.0",
            complexity: "O(1) for each subcommand specified",
        },
        run: bitfield::bitfield_ro,
    },
];

/// A string value as Redis creates it for bit commands (`raw` encoding).
fn raw_str(v: Vec<u8>) -> Value {
    Value::str_with(v, STR_RAW)
}

/// Redis's `getBitOffsetFromArgument`: a bit offset, or with `hash` a
/// `#N` offset counted in units of `bits`; at most 2^32 * 8 - 1 (the
/// offset's byte must be below `proto-max-bulk-len`).
fn bit_offset(arg: &[u8], hash: bool, bits: u32) -> Result<u64, CmdError> {
    let err = || CmdError::err("bit offset is not an integer or out of range");
    let usehash = hash && arg.len() > 1 && arg[0] == b'#';
    let mut off = parse_i64(if usehash { &arg[1..] } else { arg }).ok_or_else(err)?;
    if usehash {
        off = off.wrapping_mul(bits as i64);
    }
    if off < 0 || (off >> 3) as u64 >= PROTO_MAX_BULK_LEN as u64 {
        return Err(err());
    }
    Ok(off as u64)
}

/// Redis's `lookupStringForBitCommand` followed by an edit: the string
/// under `key`, created or grown with zero bytes so that bit `maxbit`
/// exists, marked `raw`, is passed to `edit`. Returns what `edit` returned
/// and whether the key was created or grown.
fn edit_bits<R>(
    ctx: &mut Ctx<'_, '_>,
    key: &[u8],
    maxbit: u64,
    edit: impl FnOnce(&mut [u8]) -> R,
) -> Result<(R, bool), CmdError> {
    let need = (maxbit >> 3) as usize + 1;
    let clock = lru_clock(ctx.now_ms);
    match ctx.get_mut(key)? {
        None => {
            let mut v = vec![0u8; need];
            let r = edit(&mut v);
            ctx.set(key, raw_str(v), false)?;
            Ok((r, true))
        }
        Some(e) => {
            e.touch(clock);
            let Value::Str(s) = &mut e.value else {
                return Err(CmdError::WrongType);
            };
            s.set_flags(s.flags() | STR_RAW);
            let grown = s.len() < need;
            s.grow_zeroed(need);
            Ok((edit(s.make_mut()), grown))
        }
    }
}

/// The string under `key` for a read (counted as a hit or miss); a cheap
/// clone, so the caller may go on using the context.
fn read_str(ctx: &mut Ctx<'_, '_>, key: &[u8]) -> Result<Option<VStr>, CmdError> {
    match ctx.get(key)? {
        None => Ok(None),
        Some(Entry {
            value: Value::Str(s),
            ..
        }) => Ok(Some(s.clone())),
        Some(_) => Err(CmdError::WrongType),
    }
}

/// `SETBIT key offset value`
fn setbit(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    let key = &argv[1][..];
    let offset = bit_offset(&argv[2], false, 0)?;
    let on = parse_i64(&argv[3])
        .filter(|v| v & !1 == 0)
        .ok_or_else(|| CmdError::err("bit is not an integer or out of range"))?;
    let byte = (offset >> 3) as usize;
    let mask = 1u8 << (7 - (offset & 7));
    let (old, dirty) = edit_bits(ctx, key, offset, |buf| {
        let old = buf[byte] & mask != 0;
        if on == 1 {
            buf[byte] |= mask;
        } else {
            buf[byte] &= !mask;
        }
        old
    })?;
    if dirty || old != (on == 1) {
        ctx.modified(key);
        ctx.notify(notify::STRING, "setbit", key);
    } else {
        ctx.suppress_propagation();
    }
    Ok(Reply::Int(old as i64))
}

/// `GETBIT key offset`
fn getbit(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    let offset = bit_offset(&argv[2], false, 0)?;
    let Some(s) = read_str(ctx, &argv[1])? else {
        return Ok(Reply::Int(0));
    };
    let byte = (offset >> 3) as usize;
    let bit = s
        .get(byte)
        .is_some_and(|b| b & (1 << (7 - (offset & 7))) != 0);
    Ok(Reply::Int(bit as i64))
}

/// Number of set bits in `b`, eight bytes at a time.
pub(crate) fn popcount(b: &[u8]) -> u64 {
    let mut words = b.chunks_exact(32);
    let mut n = 0u64;
    for w in &mut words {
        for q in w.chunks_exact(8) {
            let x = u64::from_ne_bytes([q[0], q[1], q[2], q[3], q[4], q[5], q[6], q[7]]);
            n += x.count_ones() as u64;
        }
    }
    n + words
        .remainder()
        .iter()
        .map(|x| x.count_ones() as u64)
        .sum::<u64>()
}

/// Parses a `BYTE|BIT` unit argument; true for `BIT`.
fn unit_is_bit(arg: &[u8]) -> Result<bool, CmdError> {
    if arg.eq_ignore_ascii_case(b"bit") {
        Ok(true)
    } else if arg.eq_ignore_ascii_case(b"byte") {
        Ok(false)
    } else {
        Err(CmdError::Syntax)
    }
}

/// Resolves a `start end` range over `total` units (bytes or bits) with
/// Redis's rules for negative indexes; `None` when it is empty.
fn clamp_range(mut start: i64, mut end: i64, total: i64) -> Option<(u64, u64)> {
    if start < 0 {
        start = start.saturating_add(total);
    }
    if end < 0 {
        end = end.saturating_add(total);
    }
    start = start.max(0);
    end = end.max(0);
    if end >= total {
        end = total - 1;
    }
    (start <= end).then_some((start as u64, end as u64))
}

/// Counts the set bits of `s` from bit `from` to bit `to`, inclusive.
fn count_bits(s: &[u8], from: u64, to: u64) -> u64 {
    let (fb, lb) = ((from >> 3) as usize, (to >> 3) as usize);
    let mut n = popcount(&s[fb..=lb]);
    // Remove the bits of the edge bytes that are outside the range.
    n -= (s[fb] & !(0xffu8 >> (from & 7))).count_ones() as u64;
    n -= (s[lb] & (0x7fu8 >> (to & 7))).count_ones() as u64;
    n
}

/// `BITCOUNT key [start end [BYTE|BIT]]`
fn bitcount(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    // Redis looks the key up before it reads the range: a missing key
    // counts 0 whatever the other arguments.
    let Some(s) = read_str(ctx, &argv[1])? else {
        return Ok(Reply::Int(0));
    };
    let len = s.len() as i64;
    let (from, to) = match argv.len() {
        2 => match clamp_range(0, -1, len) {
            Some((a, b)) => (a * 8, b * 8 + 7),
            None => return Ok(Reply::Int(0)),
        },
        4 | 5 => {
            let start = arg_i64(&argv[2])?;
            let end = arg_i64(&argv[3])?;
            let isbit = argv.len() == 5 && unit_is_bit(&argv[4])?;
            let total = if isbit { len * 8 } else { len };
            // BITCOUNT (unlike BITPOS and GETRANGE's clamping) treats two
            // negative indexes in the wrong order as an empty range.
            if start < 0 && end < 0 && start > end {
                return Ok(Reply::Int(0));
            }
            match clamp_range(start, end, total) {
                Some((a, b)) if isbit => (a, b),
                Some((a, b)) => (a * 8, b * 8 + 7),
                None => return Ok(Reply::Int(0)),
            }
        }
        _ => return Err(CmdError::Syntax),
    };
    Ok(Reply::Int(count_bits(&s, from, to) as i64))
}

/// The first bit equal to `bit` in `s` between bits `from` and `to`
/// (inclusive). Whole 32-byte blocks that cannot hold it are skipped
/// first, so long runs are scanned at memory speed.
fn find_bit(s: &[u8], bit: bool, from: u64, to: u64) -> Option<u64> {
    let (fb, lb) = ((from >> 3) as usize, (to >> 3) as usize);
    // The byte at `i` with the bits outside the range cleared, inverted
    // first when looking for a clear bit.
    let masked = |i: usize| {
        let mut inside = 0xffu8;
        if i == fb {
            inside &= 0xff >> (from & 7);
        }
        if i == lb {
            inside &= !(0x7fu8 >> (to & 7));
        }
        (if bit { s[i] } else { !s[i] }) & inside
    };
    let hit = |i: usize, b: u8| Some(i as u64 * 8 + b.leading_zeros() as u64);
    let b = masked(fb);
    if b != 0 {
        return hit(fb, b);
    }
    if lb == fb {
        return None;
    }
    // Whole bytes strictly between the edges.
    let mid = &s[fb + 1..lb];
    let skip = if bit { 0u8 } else { 0xff };
    let mut i = 0;
    for block in mid.chunks_exact(32) {
        let word = |k: usize| {
            let q = &block[k * 8..k * 8 + 8];
            u64::from_ne_bytes([q[0], q[1], q[2], q[3], q[4], q[5], q[6], q[7]])
        };
        let all_skip = if bit {
            word(0) | word(1) | word(2) | word(3) == 0
        } else {
            word(0) & word(1) & word(2) & word(3) == u64::MAX
        };
        if !all_skip {
            break;
        }
        i += 32;
    }
    if let Some(j) = mid[i..].iter().position(|&x| x != skip) {
        let at = fb + 1 + i + j;
        return hit(at, if bit { s[at] } else { !s[at] });
    }
    let b = masked(lb);
    if b != 0 {
        return hit(lb, b);
    }
    None
}

/// `BITPOS key bit [start [end [BYTE|BIT]]]`
fn bitpos(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    let bit = arg_i64(&argv[2])?;
    if bit != 0 && bit != 1 {
        return Err(CmdError::err("The bit argument must be 1 or 0."));
    }
    let bit = bit == 1;
    // A missing key is an endless run of zeros, whatever the range.
    let Some(s) = read_str(ctx, &argv[1])? else {
        return Ok(Reply::Int(if bit { -1 } else { 0 }));
    };
    let len = s.len() as i64;
    let (range, end_given) = match argv.len() {
        3 => (
            clamp_range(0, -1, len).map(|(a, b)| (a * 8, b * 8 + 7)),
            false,
        ),
        4..=6 => {
            let start = arg_i64(&argv[3])?;
            let isbit = argv.len() == 6 && unit_is_bit(&argv[5])?;
            let end = if argv.len() >= 5 {
                arg_i64(&argv[4])?
            } else {
                len - 1
            };
            let total = if isbit { len * 8 } else { len };
            let r = clamp_range(start, end, total);
            (
                if isbit {
                    r
                } else {
                    r.map(|(a, b)| (a * 8, b * 8 + 7))
                },
                argv.len() >= 5,
            )
        }
        _ => return Err(CmdError::Syntax),
    };
    let Some((from, to)) = range else {
        return Ok(Reply::Int(-1));
    };
    Ok(Reply::Int(match find_bit(&s, bit, from, to) {
        Some(p) => p as i64,
        None if bit || end_given => -1,
        // No end given: the string is padded with zeros on the right, so
        // the first clear bit is the one just past the range.
        None => ((to >> 3) + 1) as i64 * 8,
    }))
}

#[cfg(test)]
mod tests;
