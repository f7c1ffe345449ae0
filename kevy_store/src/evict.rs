//! Key eviction under `maxmemory` (Redis's `evict.c` idea): approximated
//! LRU, LFU and TTL by sampling. Each round samples `samples` keys from every
//! database of every shard (all keys, or only keys with an expiry for the
//! `volatile-*` policies), scores them (idle seconds, 255 minus the decayed
//! LFU counter, or the inverse of the expiry time) and keeps the best
//! candidates seen so far in a small [`EvictionPool`] that survives across
//! rounds, so each eviction benefits from earlier samples. The best pool
//! entry that still exists is deleted with the side effects of an expiry: a
//! `DEL` in its shard's log, WATCH invalidation, client-tracking
//! invalidation and the `evicted` keyspace event. The random policies pick
//! a random key instead, visiting databases round-robin.
//!
//! Eviction never decides *whether* to evict: the caller measures memory
//! and calls [`evict_one`] until it is under its limit.

use crate::ctx::{notify, Ctx, Events};
use crate::db::Key;
use crate::lfu::{lfu_decayed, LfuParams};
use crate::rand::{below, next_u64};
use crate::store::Store;
use crate::value::{lru_clock, Entry};

/// Which keys may be evicted and which go first (`maxmemory-policy`
/// without `noeviction`, which evicts nothing).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum EvictPolicy {
    /// Least recently used among all keys.
    AllkeysLru,
    /// Least frequently used among all keys.
    AllkeysLfu,
    /// Any key.
    AllkeysRandom,
    /// Least recently used among keys with an expiry.
    VolatileLru,
    /// Least frequently used among keys with an expiry.
    VolatileLfu,
    /// Any key with an expiry.
    VolatileRandom,
    /// The key with the nearest expiry.
    VolatileTtl,
}

impl EvictPolicy {
    /// True for the `volatile-*` policies: keys without a TTL are never evicted.
    pub fn volatile(self) -> bool {
        matches!(
            self,
            EvictPolicy::VolatileLru
                | EvictPolicy::VolatileLfu
                | EvictPolicy::VolatileRandom
                | EvictPolicy::VolatileTtl
        )
    }

    fn random(self) -> bool {
        matches!(
            self,
            EvictPolicy::AllkeysRandom | EvictPolicy::VolatileRandom
        )
    }
}

/// The knobs one eviction reads.
#[derive(Clone, Copy, Debug)]
pub struct EvictParams {
    /// The policy.
    pub policy: EvictPolicy,
    /// `maxmemory-samples`: keys sampled per database per round.
    pub samples: usize,
    /// LFU tuning (for the LFU policies).
    pub lfu: LfuParams,
    /// `notify-keyspace-events` classes: the `evicted` event is raised when
    /// `notify::EVICTED` is enabled.
    pub notify_mask: u32,
    /// Collect evicted keys into `Events::modified_keys` (client tracking).
    pub track_keys: bool,
}

/// Candidates kept between rounds, as Redis's `EVPOOL_SIZE`.
const POOL_SIZE: usize = 16;

#[derive(Clone, Debug)]
struct Candidate {
    /// Higher is evicted first.
    score: u64,
    shard: usize,
    db: usize,
    key: Key,
}

/// The best eviction candidates sampled so far (ascending score). Keep one
/// per evicting thread of control and pass it to every [`evict_one`]; its
/// entries are re-checked before use, so stale ones are harmless.
#[derive(Default, Debug)]
pub struct EvictionPool {
    entries: Vec<Candidate>,
    /// Next database for the random policies (shard-major, round-robin).
    next: usize,
}

impl EvictionPool {
    /// An empty pool.
    pub const fn new() -> EvictionPool {
        EvictionPool {
            entries: Vec::new(),
            next: 0,
        }
    }

    /// Offers a candidate: kept if the pool has room or it beats the worst.
    fn offer(&mut self, c: Candidate) {
        if self
            .entries
            .iter()
            .any(|e| e.shard == c.shard && e.db == c.db && e.key == c.key)
        {
            return;
        }
        let pos = self.entries.partition_point(|e| e.score < c.score);
        if self.entries.len() < POOL_SIZE {
            self.entries.insert(pos, c);
        } else if pos > 0 {
            // Full: drop the lowest score to make room.
            self.entries.remove(0);
            self.entries.insert(pos - 1, c);
        }
    }

    /// Forgets every candidate (after FLUSHALL, a policy change, ...).
    pub fn clear(&mut self) {
        self.entries.clear();
    }
}

/// One evicted key.
#[derive(Debug, Clone)]
pub struct Evicted {
    /// Shard it lived in.
    pub shard: usize,
    /// Database it lived in.
    pub db: usize,
    /// Estimated bytes released (key, entry and value).
    pub bytes: usize,
}

/// The eviction score of `e` under `policy`: higher goes first.
fn score(policy: EvictPolicy, e: &Entry, now_ms: u64, lfu: LfuParams) -> u64 {
    match policy {
        EvictPolicy::AllkeysLru | EvictPolicy::VolatileLru => {
            let clock = lru_clock(now_ms);
            let at = e.access();
            // The clock is seconds; an access word from a key written under
            // an LFU policy may read as a time ahead of now: treat it as fresh.
            clock.saturating_sub(at) as u64
        }
        EvictPolicy::AllkeysLfu | EvictPolicy::VolatileLfu => {
            255 - lfu_decayed(e.access(), now_ms, lfu).min(255) as u64
        }
        EvictPolicy::VolatileTtl => u64::MAX - e.expire_at().unwrap_or(u64::MAX),
        EvictPolicy::AllkeysRandom | EvictPolicy::VolatileRandom => 0,
    }
}

/// Samples every database of every shard once into `pool`.
fn populate(store: &Store, pool: &mut EvictionPool, p: &EvictParams, now_ms: u64) {
    let n = p.samples.max(1);
    for shard in 0..store.nshards() {
        store.with_shard(shard, |s| {
            for (db, d) in s.dbs.iter().enumerate() {
                if p.policy.volatile() {
                    if d.volatile_len() == 0 {
                        continue;
                    }
                    for k in d.sample_volatile(next_u64(), n) {
                        if let Some(e) = d.get(k.bytes()) {
                            let sc = score(p.policy, e, now_ms, p.lfu);
                            pool.offer(Candidate {
                                score: sc,
                                shard,
                                db,
                                key: k,
                            });
                        }
                    }
                } else {
                    if d.is_empty() {
                        continue;
                    }
                    let mut picked: Vec<(u64, Key)> = Vec::with_capacity(n);
                    let want = n.min(d.len());
                    // Consecutive keys from a random position in hash order
                    // (as Redis's dictGetSomeKeys), wrapping at the end.
                    for from in [next_u64(), 0] {
                        d.scan_from(from, |k, e| {
                            if picked.iter().all(|(_, x)| x != k) {
                                picked.push((score(p.policy, e, now_ms, p.lfu), k.clone()));
                            }
                            picked.len() < want
                        });
                        if picked.len() >= want {
                            break;
                        }
                    }
                    for (sc, key) in picked {
                        pool.offer(Candidate {
                            score: sc,
                            shard,
                            db,
                            key,
                        });
                    }
                }
            }
        });
    }
}

/// Deletes `key` from `db` of `shard` as an eviction, if it is still there
/// (and, under a volatile policy, still has an expiry).
fn delete(
    store: &Store,
    shard: usize,
    db: usize,
    key: &[u8],
    p: &EvictParams,
    now_ms: u64,
    events: &mut Events,
) -> Option<Evicted> {
    let mut locked = store.lock(&[shard]);
    let mut ctx = Ctx::new(&mut locked, events, db, now_ms);
    ctx.notify_mask = p.notify_mask;
    ctx.track_keys = p.track_keys;
    let s = ctx.shard(key).ok()?;
    let d = s.dbs.get_mut(db)?;
    if p.policy.volatile() && d.get(key)?.expire_at().is_none() {
        return None;
    }
    let e = d.remove(key)?;
    let bytes =
        std::mem::size_of::<Key>() + std::mem::size_of::<Entry>() + key.len() + e.value.heap_size();
    s.log(db, &[b"DEL", key]);
    s.touch_watched(db, key);
    ctx.events.dirty += 1;
    if ctx.track_keys {
        ctx.events
            .modified_keys
            .push(crate::kstr::KStr::from_slice(key));
    }
    ctx.notify(notify::EVICTED, "evicted", key);
    drop(ctx);
    // Freed here, before the lock goes, so the caller's next measurement sees it.
    drop(e);
    Some(Evicted { shard, db, bytes })
}

/// Evicts one key by `p`'s policy; `None` when no key is evictable (an empty
/// keyspace, or no key with an expiry under a volatile policy). Locks one
/// shard at a time: the caller must hold no shard lock.
pub fn evict_one(
    store: &Store,
    pool: &mut EvictionPool,
    p: &EvictParams,
    now_ms: u64,
    events: &mut Events,
) -> Option<Evicted> {
    if p.policy.random() {
        return evict_random(store, pool, p, now_ms, events);
    }
    // A few rounds at most: each round either finds a live candidate or the
    // keyspace (or its volatile part) is empty.
    for _ in 0..8 {
        populate(store, pool, p, now_ms);
        if pool.entries.is_empty() {
            return None;
        }
        while let Some(c) = pool.entries.pop() {
            if let Some(ev) = delete(store, c.shard, c.db, c.key.bytes(), p, now_ms, events) {
                return Some(ev);
            }
        }
    }
    None
}

fn evict_random(
    store: &Store,
    pool: &mut EvictionPool,
    p: &EvictParams,
    now_ms: u64,
    events: &mut Events,
) -> Option<Evicted> {
    let (nshards, ndbs) = (store.nshards(), store.ndbs());
    let total = nshards * ndbs;
    // Start at a random shard so concurrent writers to one shard do not
    // always lose keys of the same shard first; then walk (shard, db) pairs.
    let start = pool
        .next
        .wrapping_add(below(nshards as u64) as usize * ndbs);
    for i in 0..total {
        let slot = (start + i) % total;
        let (shard, db) = (slot / ndbs, slot % ndbs);
        let key = store
            .with_shard(shard, |s| {
                let d = s.dbs.get(db)?;
                if p.policy.volatile() {
                    d.sample_volatile(next_u64(), 1).into_iter().next()
                } else {
                    d.key_at(next_u64()).cloned()
                }
            })
            .flatten();
        if let Some(k) = key {
            pool.next = slot + 1;
            if let Some(ev) = delete(store, shard, db, k.bytes(), p, now_ms, events) {
                return Some(ev);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn params(policy: EvictPolicy) -> EvictParams {
        EvictParams {
            policy,
            samples: 5,
            lfu: LfuParams::default(),
            notify_mask: notify::KEYEVENT | notify::EVICTED,
            track_keys: false,
        }
    }

    fn run(store: &Store, db: usize, line: &str, now: u64) {
        let argv: Vec<Bytes> = line
            .split(' ')
            .map(|s| Bytes::copy_from_slice(s.as_bytes()))
            .collect();
        store.execute(db, &argv, now);
    }

    fn keys(store: &Store) -> usize {
        store.snapshot().iter().map(|s| s.len()).sum()
    }

    #[test]
    fn every_policy_empties_what_it_may_and_stops() {
        for policy in [
            EvictPolicy::AllkeysLru,
            EvictPolicy::AllkeysLfu,
            EvictPolicy::AllkeysRandom,
            EvictPolicy::VolatileLru,
            EvictPolicy::VolatileLfu,
            EvictPolicy::VolatileRandom,
            EvictPolicy::VolatileTtl,
        ] {
            let store = Store::new(3, 4);
            for i in 0..100 {
                run(&store, i % 4, &format!("SET p{i} v"), 1000);
                run(&store, i % 4, &format!("SET t{i} v PX 100000"), 1000);
            }
            let mut pool = EvictionPool::new();
            let mut ev = Events::default();
            let mut n = 0;
            while evict_one(&store, &mut pool, &params(policy), 2000, &mut ev).is_some() {
                n += 1;
                assert!(n <= 200, "{policy:?}");
            }
            let want = if policy.volatile() { 100 } else { 200 };
            assert_eq!(n, want, "{policy:?}");
            assert_eq!(keys(&store), 200 - want, "{policy:?}");
            assert_eq!(ev.notifications.len(), want);
            assert!(ev.notifications.iter().all(|x| x.event == "evicted"));
            if policy.volatile() {
                for i in 0..100 {
                    let (r, _) = store.execute(
                        i % 4,
                        &[Bytes::from("EXISTS"), Bytes::from(format!("p{i}"))],
                        2000,
                    );
                    assert_eq!(r, kevy_resp::Reply::Int(1));
                }
            }
        }
    }

    #[test]
    fn lru_prefers_idle_keys_and_ttl_the_nearest_expiry() {
        let store = Store::new(2, 1);
        for i in 0..200 {
            run(
                &store,
                0,
                &format!("SET k{i} v PX {}", 1_000_000 + i * 1000),
                if i < 100 { 1_000 } else { 500_000 },
            );
        }
        let exists = |range: std::ops::Range<usize>| {
            range
                .filter(|i| {
                    store
                        .execute(
                            0,
                            &[Bytes::from("EXISTS"), Bytes::from(format!("k{i}"))],
                            600_000,
                        )
                        .0
                        == kevy_resp::Reply::Int(1)
                })
                .count()
        };
        let mut pool = EvictionPool::new();
        let mut ev = Events::default();
        for _ in 0..50 {
            evict_one(
                &store,
                &mut pool,
                &params(EvictPolicy::AllkeysLru),
                600_000,
                &mut ev,
            )
            .unwrap();
        }
        let old = 100 - exists(0..100);
        assert!(old >= 45, "{old}");

        let store = Store::new(2, 1);
        for i in 0..100 {
            run(
                &store,
                0,
                &format!("SET k{i} v PX {}", 1_000_000 + i * 1000),
                0,
            );
        }
        let mut pool = EvictionPool::new();
        let mut first = Vec::new();
        for _ in 0..10 {
            evict_one(
                &store,
                &mut pool,
                &params(EvictPolicy::VolatileTtl),
                0,
                &mut ev,
            )
            .unwrap();
        }
        for i in 0..100 {
            let (r, _) =
                store.execute(0, &[Bytes::from("EXISTS"), Bytes::from(format!("k{i}"))], 0);
            if r == kevy_resp::Reply::Int(0) {
                first.push(i);
            }
        }
        let mean = first.iter().sum::<usize>() as f64 / first.len() as f64;
        assert!(mean < 40.0, "{first:?}");
    }
}
