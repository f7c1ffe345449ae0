//! `ZSetValue`: a sorted set: member → score plus the members ordered by
//! (score, member).

use super::Argv;
use crate::kstr::KStr;

/// A score that orders totally (scores are never NaN).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Score(pub f64);

impl Eq for Score {}
impl PartialOrd for Score {
    fn partial_cmp(&self, o: &Score) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Score {
    fn cmp(&self, o: &Score) -> std::cmp::Ordering {
        self.0.total_cmp(&o.0)
    }
}

/// A sorted set.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ZSetValue {
    /// Member → score.
    pub scores: imbl::HashMap<KStr, f64>,
    /// Members in (score, member) order.
    pub order: imbl::OrdSet<(Score, KStr)>,
}

impl ZSetValue {
    /// Number of members.
    pub fn len(&self) -> usize {
        self.scores.len()
    }

    /// True when empty (an empty sorted set is never stored).
    pub fn is_empty(&self) -> bool {
        self.scores.is_empty()
    }

    /// `OBJECT ENCODING`.
    pub fn encoding(&self) -> &'static str {
        "skiplist"
    }

    /// Approximate heap bytes.
    pub fn heap_size(&self) -> usize {
        self.scores.iter().map(|(m, _)| 80 + 2 * m.heap_size()).sum()
    }

    /// Commands that recreate this sorted set under `key`.
    pub fn restore_commands(&self, key: &[u8]) -> Vec<Argv> {
        let mut flat = Vec::new();
        for (s, m) in self.order.iter() {
            flat.push(kevy_resp::format_double(s.0).into_bytes());
            flat.push(m.to_vec());
        }
        super::list::chunked(b"ZADD", key, flat.into_iter())
    }
}
