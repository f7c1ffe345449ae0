//! `HashValue`: a hash (field → value) as a persistent map.

use super::Argv;
use crate::kstr::KStr;

/// A hash.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HashValue {
    /// Field → value.
    pub map: imbl::HashMap<KStr, KStr>,
}

impl HashValue {
    /// Number of fields.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// True when empty (an empty hash is never stored).
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// `OBJECT ENCODING`.
    pub fn encoding(&self) -> &'static str {
        "hashtable"
    }

    /// Approximate heap bytes.
    pub fn heap_size(&self) -> usize {
        self.map.iter().map(|(k, v)| 48 + k.heap_size() + v.heap_size()).sum()
    }

    /// Commands that recreate this hash under `key`.
    pub fn restore_commands(&self, key: &[u8]) -> Vec<Argv> {
        let mut flat = Vec::new();
        for (k, v) in self.map.iter() {
            flat.push(k.to_vec());
            flat.push(v.to_vec());
        }
        super::list::chunked(b"HSET", key, flat.into_iter())
    }
}
