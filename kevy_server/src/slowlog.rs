//! The slow log (`slowlog-log-slower-than`, `slowlog-max-len`) and the
//! per-command latency histograms behind INFO latencystats
//! (`latency-tracking`, `latency-tracking-info-percentiles`).

use bytes::Bytes;
use parking_lot::Mutex;
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

/// Arguments kept per entry, as Redis's `SLOWLOG_ENTRY_MAX_ARGC`.
const MAX_ARGC: usize = 32;
/// Bytes kept per argument, as Redis's `SLOWLOG_ENTRY_MAX_STRING`.
const MAX_STRING: usize = 128;

/// One slow-log entry.
#[derive(Clone)]
pub struct Entry {
    /// Unique, increasing id.
    pub id: u64,
    /// Unix time (seconds) the command ran.
    pub time: u64,
    /// Duration in microseconds.
    pub micros: u64,
    /// The arguments, truncated like Redis does.
    pub argv: Vec<Bytes>,
    /// Client `ip:port`.
    pub addr: String,
    /// Client name.
    pub name: String,
}

/// The slow log.
#[derive(Default)]
pub struct SlowLog {
    entries: Mutex<VecDeque<Entry>>,
    next_id: AtomicU64,
}

impl SlowLog {
    /// Records a command that took `micros` (the caller checked the threshold).
    pub fn push(
        &self,
        argv: &[Bytes],
        micros: u64,
        addr: &str,
        name: &str,
        max_len: usize,
        now_s: u64,
    ) {
        let mut args: Vec<Bytes> = Vec::with_capacity(argv.len().min(MAX_ARGC));
        for (i, a) in argv.iter().enumerate() {
            if i == MAX_ARGC - 1 && argv.len() > MAX_ARGC {
                args.push(Bytes::from(format!(
                    "... ({} more arguments)",
                    argv.len() - MAX_ARGC + 1
                )));
                break;
            }
            if a.len() > MAX_STRING {
                let mut v = a[..MAX_STRING].to_vec();
                v.extend_from_slice(
                    format!("... ({} more bytes)", a.len() - MAX_STRING).as_bytes(),
                );
                args.push(Bytes::from(v));
            } else {
                args.push(Bytes::copy_from_slice(a));
            }
        }
        let e = Entry {
            id: self.next_id.fetch_add(1, Ordering::Relaxed),
            time: now_s,
            micros,
            argv: args,
            addr: addr.to_string(),
            name: name.to_string(),
        };
        let mut q = self.entries.lock();
        q.push_front(e);
        q.truncate(max_len);
    }

    /// The newest `count` entries (all when `None`).
    pub fn get(&self, count: Option<usize>) -> Vec<Entry> {
        let q = self.entries.lock();
        q.iter()
            .take(count.unwrap_or(usize::MAX))
            .cloned()
            .collect()
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.lock().len()
    }

    /// Drops every entry.
    pub fn reset(&self) {
        self.entries.lock().clear();
    }
}

const SUB: usize = 32;
const BUCKETS: usize = 60 * SUB;

/// A log-linear latency histogram over nanoseconds (about 3% precision).
pub struct Histogram {
    counts: Box<[AtomicU64]>,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            counts: (0..BUCKETS).map(|_| AtomicU64::new(0)).collect(),
        }
    }
}

fn bucket(v: u64) -> usize {
    if v < SUB as u64 {
        return v as usize;
    }
    let e = 63 - v.leading_zeros() as usize;
    let shift = e - 5;
    ((e - 4) * SUB + ((v >> shift) as usize & (SUB - 1))).min(BUCKETS - 1)
}

fn bucket_high(i: usize) -> u64 {
    if i < SUB {
        return i as u64;
    }
    let e = i / SUB + 4;
    let sub = (i % SUB) as u64;
    let shift = e - 5;
    ((SUB as u64 + sub) << shift) + (1u64 << shift) - 1
}

impl Histogram {
    /// Records one duration in nanoseconds.
    pub fn record(&self, ns: u64) {
        self.counts[bucket(ns)].fetch_add(1, Ordering::Relaxed);
    }

    /// The value (ns) at percentile `p` (0..=100), or None when empty.
    pub fn percentile(&self, p: f64) -> Option<u64> {
        let counts: Vec<u64> = self
            .counts
            .iter()
            .map(|c| c.load(Ordering::Relaxed))
            .collect();
        let total: u64 = counts.iter().sum();
        if total == 0 {
            return None;
        }
        let rank = ((p / 100.0) * total as f64).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (i, c) in counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return Some(bucket_high(i));
            }
        }
        Some(bucket_high(BUCKETS - 1))
    }

    /// Forgets every sample.
    pub fn reset(&self) {
        for c in self.counts.iter() {
            c.store(0, Ordering::Relaxed);
        }
    }
}

/// Latency histograms by full command name (`get`, `client|id`, ...),
/// created on first use.
#[derive(Default)]
pub struct Latencies {
    by_name: Mutex<HashMap<String, &'static Histogram>>,
}

impl Latencies {
    /// The histogram for `name` (leaked once per distinct command name, so
    /// recording takes no lock after the first call of a command).
    pub fn get(&self, name: &str) -> &'static Histogram {
        let mut m = self.by_name.lock();
        if let Some(h) = m.get(name) {
            return h;
        }
        let h: &'static Histogram = Box::leak(Box::default());
        m.insert(name.to_string(), h);
        h
    }

    /// Every histogram with samples, sorted by name.
    pub fn all(&self) -> Vec<(String, &'static Histogram)> {
        let mut v: Vec<_> = self
            .by_name
            .lock()
            .iter()
            .map(|(k, v)| (k.clone(), *v))
            .collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    }

    /// Clears every histogram (CONFIG RESETSTAT).
    pub fn reset(&self) {
        for (_, h) in self.by_name.lock().iter() {
            h.reset();
        }
    }
}

/// Per-command-index histogram cache so the hot path never takes the name
/// map's lock: index → histogram, filled on first use.
pub struct ByIndex {
    slots: Box<[OnceLock<&'static Histogram>]>,
}

impl ByIndex {
    /// A cache for `n` commands.
    pub fn new(n: usize) -> ByIndex {
        ByIndex {
            slots: (0..n).map(|_| OnceLock::new()).collect(),
        }
    }

    /// The histogram of command `idx` named `name`.
    pub fn get(&self, idx: usize, name: &str, lat: &Latencies) -> Option<&'static Histogram> {
        let slot = self.slots.get(idx)?;
        Some(*slot.get_or_init(|| lat.get(name)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_monotonic_and_close() {
        let mut last = 0;
        for v in [
            0u64,
            1,
            31,
            32,
            33,
            100,
            1000,
            12_345,
            1_000_000,
            987_654_321,
        ] {
            let b = bucket(v);
            assert!(b >= last);
            last = b;
            let hi = bucket_high(b);
            assert!(hi >= v, "{v} -> {hi}");
            assert!(hi as f64 <= v as f64 * 1.07 + 1.0, "{v} -> {hi}");
        }
        let h = Histogram::default();
        for v in 1..=1000 {
            h.record(v * 1000);
        }
        let p50 = h.percentile(50.0).unwrap_or(0);
        assert!((490_000..=520_000).contains(&p50), "{p50}");
    }

    #[test]
    fn slowlog_truncates_like_redis() {
        let s = SlowLog::default();
        let argv: Vec<Bytes> = (0..40).map(|i| Bytes::from(format!("a{i}"))).collect();
        s.push(&argv, 5, "1.2.3.4:5", "", 2, 0);
        let e = &s.get(None)[0];
        assert_eq!(e.argv.len(), 32);
        assert_eq!(&e.argv[31][..], b"... (9 more arguments)");
        s.push(&[Bytes::from(vec![b'x'; 200])], 5, "", "", 2, 0);
        s.push(&[Bytes::from_static(b"z")], 5, "", "", 2, 0);
        assert_eq!(s.len(), 2);
        assert_eq!(s.get(Some(1))[0].id, 2);
    }
}
