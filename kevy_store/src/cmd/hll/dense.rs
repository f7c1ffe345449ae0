//! The parts of Redis's HyperLogLog that do not depend on the encoding: the
//! header layout, the hash (MurmurHash64A, seed `0xadc83b19`), the
//! element-to-register mapping, the dense register array (16384 registers
//! of 6 bits, packed little-endian bit-wise: register `i` starts at bit
//! `6*i` of the array, low bits first) and Redis 7.0's cardinality
//! estimator (Otmar Ertl, "New cardinality estimation algorithms for
//! HyperLogLog sketches", arXiv:1702.01284), computed from a histogram of
//! register values so that both encodings share it.
//!
//! Every layout constant here is part of the on-the-wire format: a value
//! `GET` from redis-server and `SET` into kevy must read the same.

/// Bits of the hash that select a register.
pub(super) const P: u32 = 14;
/// Bits of the hash left for the run of zeros.
pub(super) const Q: usize = 64 - P as usize;
/// Number of registers.
pub(super) const REGISTERS: usize = 1 << P;
/// Register width in the dense encoding.
const BITS: usize = 6;
/// Largest value a dense register holds.
pub(super) const REGISTER_MAX: u8 = (1 << BITS) - 1;
/// Header: magic "HYLL", encoding byte, 3 unused bytes, 8 bytes of cached
/// cardinality (little-endian, MSB of the last byte set when stale).
pub(super) const HDR_SIZE: usize = 16;
/// Offset of the encoding byte in the header.
pub(super) const ENCODING_AT: usize = 4;
/// Offset of the cached cardinality in the header.
pub(super) const CARD_AT: usize = 8;
/// Encoding byte of the dense representation.
pub(super) const DENSE: u8 = 0;
/// Encoding byte of the sparse representation.
pub(super) const SPARSE: u8 = 1;
/// Total length of a dense HyperLogLog string.
pub(super) const DENSE_SIZE: usize = HDR_SIZE + (REGISTERS * BITS).div_ceil(8);
/// `alpha` for m -> infinity, as Redis defines it.
const ALPHA_INF: f64 = 0.721_347_520_444_481_7;

/// MurmurHash64A as Redis uses it (little-endian 8-byte blocks).
pub(super) fn murmur64a(key: &[u8], seed: u32) -> u64 {
    const M: u64 = 0xc6a4_a793_5bd1_e995;
    const R: u32 = 47;
    let mut h: u64 = (seed as u64) ^ (key.len() as u64).wrapping_mul(M);
    let mut blocks = key.chunks_exact(8);
    for b in &mut blocks {
        let mut k = u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h ^= k;
        h = h.wrapping_mul(M);
    }
    let tail = blocks.remainder();
    if !tail.is_empty() {
        for (i, &b) in tail.iter().enumerate() {
            h ^= (b as u64) << (8 * i);
        }
        h = h.wrapping_mul(M);
    }
    h ^= h >> R;
    h = h.wrapping_mul(M);
    h ^= h >> R;
    h
}

/// The register an element maps to and the length of the run of zeros
/// (plus one) in the rest of its hash: Redis's `hllPatLen`.
pub(super) fn pat_len(ele: &[u8]) -> (usize, u8) {
    let hash = murmur64a(ele, 0xadc8_3b19);
    let index = (hash as usize) & (REGISTERS - 1);
    // The forced bit at position Q bounds the count to Q + 1.
    let rest = (hash >> P) | (1u64 << Q);
    (index, rest.trailing_zeros() as u8 + 1)
}

/// Register `i` of a dense register array. The byte after the array (the
/// string terminator in Redis) reads as zero.
#[inline]
pub(super) fn get_register(regs: &[u8], i: usize) -> u8 {
    let byte = i * BITS / 8;
    let fb = (i * BITS) & 7;
    let b0 = regs.get(byte).copied().unwrap_or(0) as u16;
    let b1 = regs.get(byte + 1).copied().unwrap_or(0) as u16;
    (((b0 >> fb) | (b1 << (8 - fb))) as u8) & REGISTER_MAX
}

/// Sets register `i` of a dense register array to `v` (at most 63).
#[inline]
pub(super) fn set_register(regs: &mut [u8], i: usize, v: u8) {
    let byte = i * BITS / 8;
    let fb = (i * BITS) & 7;
    let v = (v & REGISTER_MAX) as u16;
    let max = REGISTER_MAX as u16;
    if let Some(b) = regs.get_mut(byte) {
        *b = ((*b as u16 & !(max << fb)) | (v << fb)) as u8;
    }
    if let Some(b) = regs.get_mut(byte + 1) {
        *b = ((*b as u16 & !(max >> (8 - fb))) | (v >> (8 - fb))) as u8;
    }
}

/// Raises register `i` to `count` if it is lower; true if it changed.
#[inline]
pub(super) fn dense_set(regs: &mut [u8], i: usize, count: u8) -> bool {
    if count > get_register(regs, i) {
        set_register(regs, i, count);
        true
    } else {
        false
    }
}

/// A histogram of register values, as Redis sizes it (64 slots: a forged
/// dense register may hold up to 63).
pub(super) type Histo = [u64; 64];

/// The histogram of a dense register array.
pub(super) fn dense_histo(regs: &[u8]) -> Histo {
    let mut h = [0u64; 64];
    for i in 0..REGISTERS {
        h[get_register(regs, i) as usize] += 1;
    }
    h
}

/// The histogram of one-byte-per-register values (a merge result).
pub(super) fn raw_histo(regs: &[u8; REGISTERS]) -> Histo {
    let mut h = [0u64; 64];
    for &r in regs {
        h[(r & 63) as usize] += 1;
    }
    h
}

fn sigma(mut x: f64) -> f64 {
    if x == 1.0 {
        return f64::INFINITY;
    }
    let mut y = 1.0;
    let mut z = x;
    loop {
        x *= x;
        let prev = z;
        z += x * y;
        y += y;
        if prev == z {
            return z;
        }
    }
}

fn tau(mut x: f64) -> f64 {
    if x == 0.0 || x == 1.0 {
        return 0.0;
    }
    let mut y = 1.0;
    let mut z = 1.0 - x;
    loop {
        x = x.sqrt();
        let prev = z;
        y *= 0.5;
        // Redis writes pow(1 - x, 2), which the C compiler folds into this
        // exact multiplication.
        let d = 1.0 - x;
        z -= d * d * y;
        if prev == z {
            return z / 3.0;
        }
    }
}

/// Redis 7.0's cardinality estimate from a register histogram. The result
/// is what Redis stores: `llroundl` of the estimate, whose out-of-range
/// result on x86-64 (a forged HLL whose every register is past Q + 1) is
/// `i64::MIN`, reinterpreted as unsigned.
pub(super) fn estimate(h: &Histo) -> u64 {
    let m = REGISTERS as f64;
    let mut z = m * tau((m - h[Q + 1] as f64) / m);
    for j in (1..=Q).rev() {
        z += h[j] as f64;
        z *= 0.5;
    }
    z += m * sigma(h[0] as f64 / m);
    let e = (ALPHA_INF * m * m / z).round();
    // 2^63: the first value that does not fit an i64.
    let limit = 9_223_372_036_854_775_808.0_f64;
    if (-limit..limit).contains(&e) {
        e as i64 as u64
    } else {
        i64::MIN as u64
    }
}

/// The cached cardinality in a header, if it is marked valid.
pub(super) fn cached_card(hdr: &[u8]) -> Option<u64> {
    let c = hdr.get(CARD_AT..CARD_AT + 8)?;
    if c[7] & 0x80 != 0 {
        return None;
    }
    Some(u64::from_le_bytes([
        c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7],
    ]))
}

/// Stores `card` as the cached cardinality.
pub(super) fn set_cached_card(hdr: &mut [u8], card: u64) {
    if let Some(c) = hdr.get_mut(CARD_AT..CARD_AT + 8) {
        c.copy_from_slice(&card.to_le_bytes());
    }
}

/// Marks the cached cardinality stale.
pub(super) fn invalidate_cache(hdr: &mut [u8]) {
    if let Some(b) = hdr.get_mut(CARD_AT + 7) {
        *b |= 0x80;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout() {
        assert_eq!(DENSE_SIZE, 12304);
        assert_eq!(Q, 50);
    }

    #[test]
    fn registers_pack_like_redis() {
        let mut regs = vec![0u8; REGISTERS * BITS / 8];
        for i in 0..REGISTERS {
            set_register(&mut regs, i, ((i * 7 + 3) % 64) as u8);
        }
        for i in 0..REGISTERS {
            assert_eq!(
                get_register(&regs, i),
                ((i * 7 + 3) % 64) as u8,
                "register {i}"
            );
        }
        let mut regs = vec![0u8; 12];
        set_register(&mut regs, 0, 63);
        set_register(&mut regs, 1, 1);
        // Register 0 in bits 0..6 of byte 0, register 1 from bit 6 of byte 0.
        assert_eq!(&regs[..2], &[0x7f, 0x00]);
        set_register(&mut regs, 2, 0x3f);
        assert_eq!(&regs[..3], &[0x7f, 0xf0, 0x03]);
    }

    #[test]
    fn estimator_edges() {
        let mut h = [0u64; 64];
        h[0] = REGISTERS as u64;
        assert_eq!(estimate(&h), 0);
        let mut h = [0u64; 64];
        h[63] = REGISTERS as u64;
        assert_eq!(estimate(&h) as i64, i64::MIN);
    }
}
