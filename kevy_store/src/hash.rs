//! Hashing: Redis Cluster's hash slot (CRC16-XMODEM of the key or of its
//! `{hash tag}`, mod 16384), which routes a key to its shard, and the fast
//! seeded 64-bit hash that orders keys inside a database (the order SCAN
//! cursors walk).

use std::sync::OnceLock;

/// Number of hash slots, as in Redis Cluster.
pub const SLOTS: u16 = 16384;

const fn crc16_table() -> [u16; 256] {
    let mut table = [0u16; 256];
    let mut i = 0;
    while i < 256 {
        let mut crc = (i as u16) << 8;
        let mut j = 0;
        while j < 8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
            j += 1;
        }
        table[i] = crc;
        i += 1;
    }
    table
}

static CRC16: [u16; 256] = crc16_table();

/// CRC16 as Redis Cluster computes it (XMODEM: poly 0x1021, init 0).
pub fn crc16(data: &[u8]) -> u16 {
    let mut crc: u16 = 0;
    for &b in data {
        crc = (crc << 8) ^ CRC16[(((crc >> 8) as u8) ^ b) as usize];
    }
    crc
}

/// The hash slot of a key: only the part inside the first non-empty `{...}`
/// counts, so keys sharing a hash tag share a slot (and a shard).
pub fn key_slot(key: &[u8]) -> u16 {
    if let Some(open) = key.iter().position(|&b| b == b'{') {
        if let Some(len) = key[open + 1..].iter().position(|&b| b == b'}') {
            if len > 0 {
                return crc16(&key[open + 1..open + 1 + len]) & (SLOTS - 1);
            }
        }
    }
    crc16(key) & (SLOTS - 1)
}

fn seed() -> u64 {
    static SEED: OnceLock<u64> = OnceLock::new();
    *SEED.get_or_init(|| {
        // A per-process random seed keeps key order unpredictable to clients,
        // so nobody can craft keys that all land next to each other.
        use std::collections::hash_map::RandomState;
        use std::hash::BuildHasher;
        RandomState::new().hash_one(0x6b65_7679u64)
    })
}

#[inline]
fn fold_mul(a: u64, b: u64) -> u64 {
    let r = (a as u128).wrapping_mul(b as u128);
    (r as u64) ^ ((r >> 64) as u64)
}

const K1: u64 = 0x9e37_79b9_7f4a_7c15;
const K2: u64 = 0xc2b2_ae3d_27d4_eb4f;

/// The seeded 64-bit hash used to order keys; never 0, so a SCAN cursor of 0
/// always means "start" or "done".
#[inline]
pub fn key_hash(data: &[u8]) -> u64 {
    let mut h = seed() ^ (data.len() as u64).wrapping_mul(K1);
    let mut chunks = data.chunks_exact(8);
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        h = fold_mul(h ^ u64::from_le_bytes(w), K2);
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut w = [0u8; 8];
        w[..rest.len()].copy_from_slice(rest);
        h = fold_mul(h ^ u64::from_le_bytes(w), K1);
    }
    let h = fold_mul(h, K2 ^ 0x1234_5678);
    if h == 0 {
        1
    } else {
        h
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_match_redis_cluster() {
        // Values from `CLUSTER KEYSLOT` on a real Redis.
        assert_eq!(crc16(b"123456789"), 0x31c3);
        assert_eq!(key_slot(b"foo"), 12182);
        assert_eq!(key_slot(b"bar"), 5061);
        assert_eq!(
            key_slot(b"{user1000}.following"),
            key_slot(b"{user1000}.followers")
        );
        assert_eq!(key_slot(b"foo{}{bar}"), key_slot(b"foo{}{bar}"));
        assert_eq!(key_slot(b"foo{}{bar}"), crc16(b"foo{}{bar}") & 16383);
        assert_eq!(key_slot(b"foo{{bar}}zap"), crc16(b"{bar") & 16383);
    }

    #[test]
    fn hash_spreads() {
        let a = key_hash(b"key:1");
        let b = key_hash(b"key:2");
        assert_ne!(a, b);
        assert_ne!(key_hash(b""), 0);
    }
}
