//! Access tracking for eviction and OBJECT IDLETIME/FREQ, in Redis's two
//! modes. Under an LRU (or non-LFU) policy an entry's access word holds the
//! LRU clock (seconds); under an LFU policy it holds Redis's LFU data: the
//! last decrement time in minutes (16 bits) and a logarithmic access counter
//! (8 bits) that starts at 5, grows with probability 1/((c-5)*factor+1) per
//! access, and loses one per `lfu-decay-time` minutes idle.

use crate::rand::next_u64;

/// Initial counter of a new key, as Redis's `LFU_INIT_VAL`.
pub const LFU_INIT_VAL: u32 = 5;

/// LFU tuning: `lfu-log-factor` and `lfu-decay-time` (minutes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LfuParams {
    /// `lfu-log-factor`.
    pub log_factor: u32,
    /// `lfu-decay-time`, in minutes (0: never decay).
    pub decay_time: u32,
}

impl Default for LfuParams {
    fn default() -> Self {
        LfuParams {
            log_factor: 10,
            decay_time: 1,
        }
    }
}

fn minutes(now_ms: u64) -> u32 {
    ((now_ms / 60_000) & 0xffff) as u32
}

fn elapsed(ldt: u32, now_ms: u64) -> u32 {
    let now = minutes(now_ms);
    if now >= ldt {
        now - ldt
    } else {
        65535 - ldt + now
    }
}

/// The access word of a key created now under LFU.
pub fn lfu_new(now_ms: u64) -> u32 {
    (minutes(now_ms) << 8) | LFU_INIT_VAL
}

/// The counter after idle decay, without counting an access (OBJECT FREQ).
pub fn lfu_decayed(word: u32, now_ms: u64, p: LfuParams) -> u32 {
    let ldt = word >> 8;
    let counter = word & 255;
    let periods = elapsed(ldt, now_ms).checked_div(p.decay_time).unwrap_or(0);
    counter.saturating_sub(periods)
}

/// The access word after one more access.
pub fn lfu_touch(word: u32, now_ms: u64, p: LfuParams) -> u32 {
    let mut counter = lfu_decayed(word, now_ms, p);
    if counter < 255 {
        let r = (next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        let base = counter.saturating_sub(LFU_INIT_VAL) as f64;
        if r < 1.0 / (base * p.log_factor as f64 + 1.0) {
            counter += 1;
        }
    }
    (minutes(now_ms) << 8) | counter
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counter_grows_logarithmically_and_decays() {
        let p = LfuParams::default();
        let t0 = 1_000_000 * 60_000;
        let mut w = lfu_new(t0);
        assert_eq!(lfu_decayed(w, t0, p), 5);
        for _ in 0..1000 {
            w = lfu_touch(w, t0, p);
        }
        let c = lfu_decayed(w, t0, p);
        assert!(c > 10 && c < 40, "{c}");
        assert_eq!(lfu_decayed(w, t0 + 3 * 60_000, p), c - 3);
    }
}
