//! Streamed random picks with repetition (`SRANDMEMBER`, `HRANDFIELD`,
//! `ZRANDMEMBER` with a negative count): the reply's length is the count,
//! not the collection's, so a small set can be asked for millions of
//! members. The picks come from a seed taken when the command ran: pick
//! `i` is a hash of (seed, `i`), so any chunk can be encoded on its own
//! and the whole reply is the same however it is cut.

use super::fill;
use crate::types::{HashValue, SetValue, ZSetValue};
use kevy_resp::{
    encode_array_header, encode_bulk, encode_double, Protocol, Reply, ReplySource, Streamed,
};

/// The collection picked from (an O(1) clone).
pub(crate) enum Pool {
    /// SRANDMEMBER.
    Set(SetValue),
    /// HRANDFIELD (with values when `pairs`).
    Hash(HashValue),
    /// ZRANDMEMBER (with scores when `pairs`).
    ZSet(ZSetValue),
}

impl Pool {
    fn len(&self) -> usize {
        match self {
            Pool::Set(s) => s.len(),
            Pool::Hash(h) => h.len(),
            Pool::ZSet(z) => z.len(),
        }
    }
}

/// `count` picks from `pool`, each a field and its value (a member and its
/// score) when `pairs`: flat in RESP2, `[a, b]` arrays in RESP3.
pub(crate) fn random_picks(pool: Pool, count: usize, pairs: bool) -> Reply {
    Reply::Stream(Streamed::new(RandomPicks {
        size: pool.len() as u64,
        pool,
        count,
        pairs,
        seed: crate::rand::next_u64(),
    }))
}

struct RandomPicks {
    pool: Pool,
    size: u64,
    count: usize,
    pairs: bool,
    seed: u64,
}

impl RandomPicks {
    /// Pick `i`: a position in `0..size` (splitmix64 of seed and `i`).
    fn position(&self, i: usize) -> usize {
        let mut x = self
            .seed
            .wrapping_add((i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15));
        x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        x ^= x >> 31;
        ((x as u128 * self.size as u128) >> 64) as usize
    }
}

impl ReplySource for RandomPicks {
    fn len(&self) -> usize {
        self.count
    }

    fn header(&self, proto: Protocol, out: &mut Vec<u8>) {
        let flat = self.pairs && proto == Protocol::Resp2;
        encode_array_header(out, self.count * if flat { 2 } else { 1 });
    }

    fn encode_from(&self, at: usize, proto: Protocol, out: &mut Vec<u8>, budget: usize) -> usize {
        let nested = self.pairs && proto == Protocol::Resp3;
        fill(at, self.count, out, budget, |i, out| {
            let r = self.position(i);
            match &self.pool {
                Pool::Set(s) => {
                    if let Some(m) = s.at(r) {
                        encode_bulk(out, &m);
                    }
                }
                Pool::Hash(h) => {
                    let Some((k, v)) = h.at(r) else { return };
                    if nested {
                        encode_array_header(out, 2);
                    }
                    encode_bulk(out, k);
                    if self.pairs {
                        encode_bulk(out, v);
                    }
                }
                Pool::ZSet(z) => {
                    let Some(it) = z.get(r) else { return };
                    if nested {
                        encode_array_header(out, 2);
                    }
                    encode_bulk(out, &it.member);
                    if self.pairs {
                        encode_double(out, it.score, proto);
                    }
                }
            }
        })
    }
}
