//! `ListValue`: a list as a persistent RRB vector of strings: O(1) clone,
//! O(log n) index, cheap pushes and pops at both ends.

use super::Argv;
use crate::kstr::KStr;

/// A list.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ListValue {
    /// The elements, head first.
    pub items: imbl::Vector<KStr>,
}

impl ListValue {
    /// Number of elements.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// True when empty (an empty list is never stored).
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// `OBJECT ENCODING`: Redis 7.0 reports every list as a quicklist.
    pub fn encoding(&self) -> &'static str {
        "quicklist"
    }

    /// Approximate heap bytes.
    pub fn heap_size(&self) -> usize {
        self.items.iter().map(|s| 24 + s.heap_size()).sum()
    }

    /// Commands that recreate this list under `key`.
    pub fn restore_commands(&self, key: &[u8]) -> Vec<Argv> {
        chunked(b"RPUSH", key, self.items.iter().map(|s| s.to_vec()))
    }
}

/// Splits a long element list into several commands of at most 512
/// elements, so replaying never builds a giant argv.
pub(crate) fn chunked(cmd: &[u8], key: &[u8], items: impl Iterator<Item = Vec<u8>>) -> Vec<Argv> {
    let mut out = Vec::new();
    let mut cur: Argv = Vec::new();
    for it in items {
        if cur.is_empty() {
            cur.push(cmd.to_vec());
            cur.push(key.to_vec());
        }
        cur.push(it);
        if cur.len() >= 514 {
            out.push(std::mem::take(&mut cur));
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}
