//! Redis's sparse HyperLogLog encoding: after the 16-byte header, a run-length
//! sequence of opcodes covering the 16384 registers in order.
//!
//! - `ZERO`  `00xxxxxx`: 1..64 zero registers (`xxxxxx` + 1);
//! - `XZERO` `01xxxxxx yyyyyyyy`: 1..16384 zero registers (14-bit length + 1);
//! - `VAL`   `1vvvvvxx`: 1..4 registers (`xx` + 1) of value 1..32 (`vvvvv` + 1).
//!
//! Updates follow Redis's `hllSparseSet` step by step (split the opcode that
//! covers the register, splice, then merge adjacent equal `VAL`s in a short
//! window), because the bytes it produces are observable with `GET` and must
//! be identical. A register value above 32, or a sequence that would grow
//! past `hll-sparse-max-bytes`, promotes the value to the dense encoding.

use super::dense::{self, DENSE, DENSE_SIZE, ENCODING_AT, HDR_SIZE, REGISTERS};

/// The sparse representation is invalid (lengths do not add up to 16384).
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Corrupt;

const VAL_MAX_VALUE: u8 = 32;
const VAL_MAX_LEN: usize = 4;
const ZERO_MAX_LEN: usize = 64;
const XZERO_MAX_LEN: usize = 16384;

#[inline]
fn is_zero(b: u8) -> bool {
    b & 0xc0 == 0
}
#[inline]
fn is_xzero(b: u8) -> bool {
    b & 0xc0 == 0x40
}
#[inline]
fn is_val(b: u8) -> bool {
    b & 0x80 != 0
}
#[inline]
fn zero_len(b: u8) -> usize {
    (b & 0x3f) as usize + 1
}
#[inline]
fn xzero_len(b0: u8, b1: u8) -> usize {
    ((((b0 & 0x3f) as usize) << 8) | b1 as usize) + 1
}
#[inline]
fn val_value(b: u8) -> u8 {
    ((b >> 2) & 0x1f) + 1
}
#[inline]
fn val_len(b: u8) -> usize {
    (b & 0x3) as usize + 1
}
#[inline]
fn val_op(value: u8, len: usize) -> u8 {
    (((value - 1) << 2) | (len as u8 - 1)) | 0x80
}
#[inline]
fn zero_op(len: usize) -> u8 {
    (len - 1) as u8
}
#[inline]
fn xzero_ops(len: usize) -> [u8; 2] {
    let l = len - 1;
    [((l >> 8) as u8) | 0x40, (l & 0xff) as u8]
}

/// One decoded opcode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Op {
    /// A run of zero registers (ZERO or XZERO), with the opcode's size.
    Zero { len: usize, xzero: bool },
    /// A run of registers holding `value`.
    Val { value: u8, len: usize },
}

/// The opcodes of a sparse register sequence, in order. The second byte of
/// an XZERO cut off at the end reads as zero, as the string terminator
/// does in Redis.
pub(super) fn ops(seq: &[u8]) -> impl Iterator<Item = Op> + '_ {
    let mut p = 0;
    std::iter::from_fn(move || {
        let b = *seq.get(p)?;
        if is_zero(b) {
            p += 1;
            Some(Op::Zero {
                len: zero_len(b),
                xzero: false,
            })
        } else if is_xzero(b) {
            let b1 = seq.get(p + 1).copied().unwrap_or(0);
            p += 2;
            Some(Op::Zero {
                len: xzero_len(b, b1),
                xzero: true,
            })
        } else {
            p += 1;
            Some(Op::Val {
                value: val_value(b),
                len: val_len(b),
            })
        }
    })
}

/// An empty HyperLogLog: sparse, cache marked valid at 0 (as Redis's
/// `createHLLObject` leaves it), one XZERO for all registers.
pub(super) fn new_empty() -> Vec<u8> {
    let mut s = Vec::with_capacity(HDR_SIZE + 2);
    s.extend_from_slice(b"HYLL");
    s.push(super::dense::SPARSE);
    s.extend_from_slice(&[0; 11]);
    let mut left = REGISTERS;
    while left > 0 {
        let n = left.min(XZERO_MAX_LEN);
        s.extend_from_slice(&xzero_ops(n));
        left -= n;
    }
    s
}

/// The dense form of a sparse HyperLogLog (header copied, encoding byte
/// changed): Redis's `hllSparseToDense`.
pub(super) fn to_dense(s: &[u8]) -> Result<Vec<u8>, Corrupt> {
    let mut d = vec![0u8; DENSE_SIZE];
    d[..HDR_SIZE].copy_from_slice(&s[..HDR_SIZE]);
    d[ENCODING_AT] = DENSE;
    let regs = &mut d[HDR_SIZE..];
    let mut idx = 0;
    for op in ops(&s[HDR_SIZE..]) {
        match op {
            Op::Zero { len, .. } => idx += len,
            Op::Val { value, len } => {
                if idx + len > REGISTERS {
                    break;
                }
                for i in idx..idx + len {
                    dense::set_register(regs, i, value);
                }
                idx += len;
            }
        }
    }
    if idx != REGISTERS {
        return Err(Corrupt);
    }
    Ok(d)
}

/// The histogram of a sparse register sequence; `Corrupt` if the runs do
/// not cover exactly 16384 registers.
pub(super) fn histo(seq: &[u8]) -> Result<dense::Histo, Corrupt> {
    let mut h = [0u64; 64];
    let mut idx = 0usize;
    for op in ops(seq) {
        match op {
            Op::Zero { len, .. } => {
                idx += len;
                h[0] += len as u64;
            }
            Op::Val { value, len } => {
                idx += len;
                h[value as usize] += len as u64;
            }
        }
    }
    if idx != REGISTERS {
        return Err(Corrupt);
    }
    Ok(h)
}

/// Raises `max[i]` to each register's value (Redis's `hllMerge` for the
/// sparse encoding).
pub(super) fn merge_into(seq: &[u8], max: &mut [u8; REGISTERS]) -> Result<(), Corrupt> {
    let mut i = 0usize;
    for op in ops(seq) {
        match op {
            Op::Zero { len, .. } => i += len,
            Op::Val { value, len } => {
                if i + len > REGISTERS {
                    break;
                }
                for m in &mut max[i..i + len] {
                    *m = (*m).max(value);
                }
                i += len;
            }
        }
    }
    if i != REGISTERS {
        return Err(Corrupt);
    }
    Ok(())
}

/// `PFDEBUG DECODE`'s text: `z:N`, `Z:N`, `v:value,len` separated by spaces.
pub(super) fn decode(seq: &[u8]) -> String {
    let mut out = Vec::new();
    for op in ops(seq) {
        out.push(match op {
            Op::Zero { len, xzero: false } => format!("z:{len}"),
            Op::Zero { len, xzero: true } => format!("Z:{len}"),
            Op::Val { value, len } => format!("v:{value},{len}"),
        });
    }
    out.join(" ")
}

/// Sets register `index` to `count` if higher, in the whole HyperLogLog
/// string `s` (header included, sparse encoding). May promote `s` to the
/// dense encoding. Returns whether a register changed.
pub(super) fn set(
    s: &mut Vec<u8>,
    index: usize,
    count: u8,
    max_bytes: usize,
) -> Result<bool, Corrupt> {
    if count > VAL_MAX_VALUE {
        return promote(s, index, count);
    }
    // Step 1: find the opcode covering `index`.
    let mut p = HDR_SIZE;
    let mut first = 0usize;
    let mut prev: Option<usize> = None;
    let mut span = 0usize;
    while p < s.len() {
        let b = s[p];
        let oplen;
        if is_zero(b) {
            span = zero_len(b);
            oplen = 1;
        } else if is_val(b) {
            span = val_len(b);
            oplen = 1;
        } else {
            span = xzero_len(b, s.get(p + 1).copied().unwrap_or(0));
            oplen = 2;
        }
        if index < first + span {
            break;
        }
        prev = Some(p);
        p += oplen;
        first += span;
    }
    if span == 0 || p >= s.len() {
        return Err(Corrupt);
    }
    let b = s[p];
    let (zero, xzero) = (is_zero(b), is_xzero(b));
    let runlen = span;

    // Step 2: the in-place cases.
    let mut in_place = false;
    if is_val(b) {
        if val_value(b) >= count {
            return Ok(false);
        }
        if runlen == 1 {
            s[p] = val_op(count, 1);
            in_place = true;
        }
    }
    if zero && runlen == 1 {
        s[p] = val_op(count, 1);
        in_place = true;
    }

    if !in_place {
        // General case: split the opcode into up to three.
        let last = first + span - 1;
        let mut seq: Vec<u8> = Vec::with_capacity(5);
        let zero_run = |seq: &mut Vec<u8>, len: usize| {
            if len > ZERO_MAX_LEN {
                seq.extend_from_slice(&xzero_ops(len));
            } else {
                seq.push(zero_op(len));
            }
        };
        if zero || xzero {
            if index != first {
                zero_run(&mut seq, index - first);
            }
            seq.push(val_op(count, 1));
            if index != last {
                zero_run(&mut seq, last - index);
            }
        } else {
            let cur = val_value(b);
            if index != first {
                seq.push(val_op(cur, index - first));
            }
            seq.push(val_op(count, 1));
            if index != last {
                seq.push(val_op(cur, last - index));
            }
        }
        // Step 3: splice the new sequence in place of the old opcode.
        let oldlen = if xzero { 2 } else { 1 };
        let newlen = (s.len() + seq.len()).saturating_sub(oldlen);
        if seq.len() > oldlen && newlen > max_bytes {
            return promote(s, index, count);
        }
        let next = (p + oldlen).min(s.len());
        s.splice(p..next, seq);
        // An XZERO cut off at the end (corrupt) loses its missing byte's
        // worth of the new sequence, as Redis's length arithmetic does.
        s.truncate(newlen);
    }

    // Step 4: merge adjacent VALs with the same value, in a window of five
    // opcodes starting at the one before the change.
    let mut p = prev.unwrap_or(HDR_SIZE);
    let mut scan = 5;
    while p < s.len() {
        if scan == 0 {
            break;
        }
        scan -= 1;
        let b = s[p];
        if is_xzero(b) {
            p += 2;
            continue;
        }
        if is_zero(b) {
            p += 1;
            continue;
        }
        if p + 1 < s.len() && is_val(s[p + 1]) {
            let v = val_value(b);
            let len = val_len(b) + val_len(s[p + 1]);
            if v == val_value(s[p + 1]) && len <= VAL_MAX_LEN {
                s[p + 1] = val_op(v, len);
                s.remove(p);
                continue;
            }
        }
        p += 1;
    }
    dense::invalidate_cache(&mut s[..HDR_SIZE]);
    Ok(true)
}

/// Converts `s` to dense and sets the register there (always a change: a
/// promotion only happens when a register must be raised).
fn promote(s: &mut Vec<u8>, index: usize, count: u8) -> Result<bool, Corrupt> {
    *s = to_dense(s)?;
    dense::dense_set(&mut s[HDR_SIZE..], index, count);
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_and_decode() {
        let s = new_empty();
        assert_eq!(s.len(), 18);
        assert_eq!(&s[16..], &[0x7f, 0xff]);
        assert_eq!(decode(&s[HDR_SIZE..]), "Z:16384");
    }

    #[test]
    fn splits_and_merges() {
        let mut s = new_empty();
        assert_eq!(set(&mut s, 100, 3, 3000), Ok(true));
        assert_eq!(decode(&s[HDR_SIZE..]), "Z:100 v:3,1 Z:16283");
        assert_eq!(set(&mut s, 100, 2, 3000), Ok(false));
        assert_eq!(set(&mut s, 101, 3, 3000), Ok(true));
        assert_eq!(decode(&s[HDR_SIZE..]), "Z:100 v:3,2 Z:16282");
        assert_eq!(set(&mut s, 0, 1, 3000), Ok(true));
        assert_eq!(decode(&s[HDR_SIZE..]), "v:1,1 Z:99 v:3,2 Z:16282");
        assert_eq!(set(&mut s, 99, 3, 3000), Ok(true));
        assert_eq!(decode(&s[HDR_SIZE..]), "v:1,1 Z:98 v:3,3 Z:16282");
        assert_eq!(set(&mut s, 100, 5, 3000), Ok(true));
        assert_eq!(
            decode(&s[HDR_SIZE..]),
            "v:1,1 Z:98 v:3,1 v:5,1 v:3,1 Z:16282"
        );
        assert_eq!(histo(&s[HDR_SIZE..]).map(|h| h[3]), Ok(2));
        // A value past 32 promotes.
        assert_eq!(set(&mut s, 7, 33, 3000), Ok(true));
        assert_eq!(s.len(), DENSE_SIZE);
        assert_eq!(s[ENCODING_AT], DENSE);
        assert_eq!(dense::get_register(&s[HDR_SIZE..], 7), 33);
        assert_eq!(dense::get_register(&s[HDR_SIZE..], 100), 5);
    }

    #[test]
    fn corrupt_sequences() {
        let mut s = new_empty();
        s[17] = 0xfe; // XZERO of 16383 registers.
        assert_eq!(histo(&s[HDR_SIZE..]), Err(Corrupt));
        assert_eq!(to_dense(&s), Err(Corrupt));
        assert_eq!(set(&mut s, 16383, 1, 3000), Err(Corrupt));
        assert_eq!(set(&mut s, 5, 1, 3000), Ok(true));
    }
}
