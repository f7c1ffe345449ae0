//! The latency monitor (`latency-monitor-threshold`): events that took at
//! least the threshold (`command`, `fast-command`, `expire-cycle`) keep their
//! last 160 samples, one per second at most (the worst of that second), and
//! their all-time maximum, as Redis's latency.c does. LATENCY LATEST,
//! HISTORY, RESET and DOCTOR read them.

use parking_lot::Mutex;
use std::collections::{BTreeMap, VecDeque};

/// Samples kept per event (Redis's `LATENCY_TS_LEN`).
const KEEP: usize = 160;

/// One event's time series.
#[derive(Default, Clone)]
pub struct Series {
    /// (Unix seconds, milliseconds), oldest first.
    pub samples: VecDeque<(u64, u64)>,
    /// The worst latency ever recorded.
    pub max: u64,
}

/// Every event's series.
#[derive(Default)]
pub struct Monitor {
    events: Mutex<BTreeMap<&'static str, Series>>,
}

impl Monitor {
    /// Records `ms` for `event` at `now_secs` if it reaches `threshold_ms`
    /// (0: monitoring off).
    pub fn record(&self, event: &'static str, ms: u64, threshold_ms: u64, now_secs: u64) {
        if threshold_ms == 0 || ms < threshold_ms {
            return;
        }
        let mut ev = self.events.lock();
        let s = ev.entry(event).or_default();
        s.max = s.max.max(ms);
        match s.samples.back_mut() {
            Some(last) if last.0 == now_secs => last.1 = last.1.max(ms),
            _ => {
                if s.samples.len() == KEEP {
                    s.samples.pop_front();
                }
                s.samples.push_back((now_secs, ms));
            }
        }
    }

    /// Every event with its series, by name.
    pub fn all(&self) -> Vec<(&'static str, Series)> {
        self.events
            .lock()
            .iter()
            .map(|(k, v)| (*k, v.clone()))
            .collect()
    }

    /// One event's series.
    pub fn get(&self, event: &[u8]) -> Option<Series> {
        self.events
            .lock()
            .iter()
            .find(|(k, _)| k.as_bytes() == event)
            .map(|(_, v)| v.clone())
    }

    /// Forgets the named events (all with an empty list); returns how many
    /// existed.
    pub fn reset(&self, events: &[&[u8]]) -> usize {
        let mut ev = self.events.lock();
        if events.is_empty() {
            let n = ev.len();
            ev.clear();
            return n;
        }
        let mut n = 0;
        for e in events {
            let key = ev.keys().find(|k| k.as_bytes() == *e).copied();
            if let Some(k) = key {
                ev.remove(k);
                n += 1;
            }
        }
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_worst_sample_per_second_and_the_last_160() {
        let m = Monitor::default();
        m.record("command", 5, 0, 1);
        assert!(m.all().is_empty(), "threshold 0 is off");
        m.record("command", 5, 10, 1);
        assert!(m.all().is_empty(), "under the threshold");
        m.record("command", 12, 10, 1);
        m.record("command", 30, 10, 1);
        m.record("command", 11, 10, 1);
        let s = m.get(b"command").unwrap();
        assert_eq!(s.samples, [(1, 30)]);
        for t in 2..300 {
            m.record("command", 10 + t, 10, t);
        }
        let s = m.get(b"command").unwrap();
        assert_eq!(s.samples.len(), KEEP);
        assert_eq!(s.samples.back(), Some(&(299, 309)));
        assert_eq!(s.max, 309);
        m.record("fast-command", 20, 10, 5);
        assert_eq!(m.reset(&[b"command", b"nosuch"]), 1);
        assert_eq!(m.reset(&[]), 1);
        assert!(m.all().is_empty());
    }
}
