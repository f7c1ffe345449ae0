//! `SetValue`: a set of strings as a persistent hash set.

use super::Argv;
use crate::kstr::KStr;

/// A set.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SetValue {
    /// The members.
    pub members: imbl::HashSet<KStr>,
}

impl SetValue {
    /// Number of members.
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// True when empty (an empty set is never stored).
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// `OBJECT ENCODING`.
    pub fn encoding(&self) -> &'static str {
        "hashtable"
    }

    /// Approximate heap bytes.
    pub fn heap_size(&self) -> usize {
        self.members.iter().map(|m| 32 + m.heap_size()).sum()
    }

    /// Commands that recreate this set under `key`.
    pub fn restore_commands(&self, key: &[u8]) -> Vec<Argv> {
        super::list::chunked(b"SADD", key, self.members.iter().map(|m| m.to_vec()))
    }
}
