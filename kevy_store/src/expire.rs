//! The active expiry cycle (Redis's sampling idea): keys that expire but are
//! never read again are still reclaimed. Each pass samples keys that carry a
//! TTL, deletes the expired ones (logging a DEL and raising `expired` as a
//! lazy expiry would), and keeps sampling a database while more than a
//! quarter of the sample had expired, within a time budget.

use crate::ctx::{Ctx, Events};
use crate::rand::next_u64;
use crate::store::Store;
use std::time::{Duration, Instant};

/// Keys sampled per round, as Redis's `ACTIVE_EXPIRE_CYCLE_KEYS_PER_LOOP`.
const SAMPLE: usize = 20;

/// What one cycle did.
#[derive(Debug, Default, Clone, Copy)]
pub struct ExpireStats {
    /// Keys looked at.
    pub sampled: u64,
    /// Keys deleted.
    pub expired: u64,
    /// The budget ran out before the keyspace looked clean.
    pub time_cap_reached: bool,
}

/// Runs one cycle over every shard, taking each shard's lock for at most
/// one round at a time so clients interleave. Side effects land in `events`.
/// `notify_mask` is `notify-keyspace-events`, for the `expired` events;
/// with `track_keys` the deleted keys are listed in `events.modified_keys`
/// (for client-side caching invalidations).
pub fn active_expire_cycle(
    store: &Store,
    now_ms: u64,
    budget: Duration,
    notify_mask: u32,
    track_keys: bool,
    events: &mut Events,
) -> ExpireStats {
    let start = Instant::now();
    let mut st = ExpireStats::default();
    for shard in 0..store.nshards() {
        for db in 0..store.ndbs() {
            loop {
                if start.elapsed() > budget {
                    st.time_cap_reached = true;
                    return st;
                }
                let mut locked = store.lock(&[shard]);
                let keys = match locked.shard_mut(shard) {
                    Some(s) => match s.dbs.get(db) {
                        Some(d) if d.volatile_len() > 0 => d.sample_volatile(next_u64(), SAMPLE),
                        _ => Vec::new(),
                    },
                    None => Vec::new(),
                };
                if keys.is_empty() {
                    break;
                }
                let mut expired = 0u64;
                let mut ctx = Ctx::new(&mut locked, events, db, now_ms);
                ctx.notify_mask = notify_mask;
                ctx.track_keys = track_keys;
                for k in &keys {
                    if ctx.expire_if_needed(k.bytes()).unwrap_or(false) {
                        expired += 1;
                    }
                }
                st.sampled += keys.len() as u64;
                st.expired += expired;
                if expired * 4 <= keys.len() as u64 {
                    break;
                }
            }
        }
    }
    st
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    #[test]
    fn reclaims_expired_keys_without_access() {
        let store = Store::new(3, 16);
        for i in 0..500 {
            let k = format!("k{i}");
            let argv: Vec<Bytes> = ["SET", &k, "v"]
                .iter()
                .map(|s| Bytes::copy_from_slice(s.as_bytes()))
                .collect();
            store.execute(0, &argv, 1000);
            let mut locked = store.lock_all();
            let mut ev = Events::default();
            let mut ctx = Ctx::new(&mut locked, &mut ev, 0, 1000);
            ctx.set_expire(k.as_bytes(), if i % 2 == 0 { 1500 } else { 100_000 })
                .unwrap();
        }
        let mut ev = Events::default();
        let mut total = 0;
        for _ in 0..200 {
            total +=
                active_expire_cycle(&store, 2000, Duration::from_millis(50), 0, false, &mut ev)
                    .expired;
        }
        assert_eq!(total, 250);
        let n: usize = store.snapshot().iter().map(|s| s.len()).sum();
        assert_eq!(n, 250);
    }
}
