//! `SetValue`: a set of strings in Redis 7.0's two encodings. A set of
//! integers only (each one that Redis's `string2ll` accepts) of at most
//! [`SET_MAX_INTSET_ENTRIES`] members is an `intset`: a sorted vector, small
//! enough to copy when a snapshot shares it, and iterated in ascending order
//! as Redis does (SMEMBERS, SSCAN, SUNION results). Adding a non-integer or
//! growing past the limit converts it, once and for good, to a `hashtable`:
//! an [`Indexed`] persistent set (O(1) clone, O(log n) uniform random pick).

use super::hash::Indexed;
use super::Argv;
use crate::kstr::KStr;
use crate::num::parse_i64;

/// `set-max-intset-entries`: most members an intset holds.
pub const SET_MAX_INTSET_ENTRIES: usize = 512;

/// The two encodings.
#[derive(Clone, Debug)]
enum Repr {
    /// Sorted ascending, no duplicates.
    Intset(Vec<i64>),
    /// A persistent set.
    Table(Indexed<()>),
}

/// A set.
#[derive(Clone, Debug)]
pub struct SetValue {
    repr: Repr,
}

impl Default for SetValue {
    /// An empty intset, as Redis's `createIntsetObject`; the first
    /// non-integer added converts it.
    fn default() -> Self {
        SetValue {
            repr: Repr::Intset(Vec::new()),
        }
    }
}

impl PartialEq for SetValue {
    fn eq(&self, o: &SetValue) -> bool {
        self.len() == o.len() && self.iter().all(|m| o.contains(&m))
    }
}

impl SetValue {
    /// A set holding `members` (duplicates collapse), encoded by the rules
    /// of adding them one by one to an empty intset.
    pub fn from_members<'a>(members: impl IntoIterator<Item = &'a [u8]>) -> SetValue {
        let mut s = SetValue::default();
        for m in members {
            s.add(m);
        }
        s
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        match &self.repr {
            Repr::Intset(v) => v.len(),
            Repr::Table(t) => t.len(),
        }
    }

    /// True when empty (an empty set is never stored).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `OBJECT ENCODING`.
    pub fn encoding(&self) -> &'static str {
        match &self.repr {
            Repr::Intset(_) => "intset",
            Repr::Table(_) => "hashtable",
        }
    }

    /// True for the intset encoding (iteration is then ascending).
    pub fn is_intset(&self) -> bool {
        matches!(self.repr, Repr::Intset(_))
    }

    /// Approximate heap bytes.
    pub fn heap_size(&self) -> usize {
        match &self.repr {
            Repr::Intset(v) => v.capacity() * 8,
            Repr::Table(t) => t
                .iter()
                .map(|(m, _)| Indexed::<()>::SLOT_BYTES + m.heap_size())
                .sum(),
        }
    }

    /// Commands that recreate this set under `key`.
    pub fn restore_commands(&self, key: &[u8]) -> Vec<Argv> {
        super::list::chunked(b"SADD", key, self.iter().map(|m| m.to_vec()))
    }

    /// True if `m` is a member.
    pub fn contains(&self, m: &[u8]) -> bool {
        match &self.repr {
            Repr::Intset(v) => parse_i64(m).is_some_and(|i| v.binary_search(&i).is_ok()),
            Repr::Table(t) => t.get(m).is_some(),
        }
    }

    /// Adds `m`; true if it was not a member. Converts an intset to a
    /// hashtable when `m` is not an integer, or when it grows past
    /// [`SET_MAX_INTSET_ENTRIES`] (Redis's `setTypeAdd`).
    pub fn add(&mut self, m: &[u8]) -> bool {
        if let Repr::Intset(v) = &mut self.repr {
            match parse_i64(m) {
                Some(i) => {
                    let Err(at) = v.binary_search(&i) else {
                        return false;
                    };
                    v.insert(at, i);
                    if v.len() > SET_MAX_INTSET_ENTRIES {
                        self.convert();
                    }
                    return true;
                }
                None => self.convert(),
            }
        }
        match &mut self.repr {
            Repr::Table(t) => t.get(m).is_none() && t.insert(KStr::from_slice(m), ()),
            Repr::Intset(_) => false,
        }
    }

    /// Removes `m`; true if it was a member. Never converts back.
    pub fn remove(&mut self, m: &[u8]) -> bool {
        match &mut self.repr {
            Repr::Intset(v) => match parse_i64(m).map(|i| v.binary_search(&i)) {
                Some(Ok(at)) => {
                    v.remove(at);
                    true
                }
                _ => false,
            },
            Repr::Table(t) => t.remove(m).is_some(),
        }
    }

    /// Every member: ascending for an intset, arbitrary for a hashtable.
    pub fn iter(&self) -> Box<dyn Iterator<Item = KStr> + '_> {
        match &self.repr {
            Repr::Intset(v) => Box::new(v.iter().map(|i| KStr::from(i.to_string().as_str()))),
            Repr::Table(t) => Box::new(t.iter().map(|(m, _)| m.clone())),
        }
    }

    /// The member numbered `i` (`i < len`): a uniform pick when `i` is.
    pub fn at(&self, i: usize) -> Option<KStr> {
        match &self.repr {
            Repr::Intset(v) => v.get(i).map(|n| KStr::from(n.to_string().as_str())),
            Repr::Table(t) => t.at(i).map(|(m, _)| m.clone()),
        }
    }

    /// SSCAN: an intset returns every member at once with cursor 0 (as
    /// Redis does); a hashtable visits about `count` members from `cursor`.
    pub fn scan(&self, cursor: u64, count: usize, mut f: impl FnMut(KStr)) -> u64 {
        match &self.repr {
            Repr::Intset(_) => {
                self.iter().for_each(f);
                0
            }
            Repr::Table(t) => t.scan(cursor, count, |m, _| f(m.clone())),
        }
    }

    fn convert(&mut self) {
        if let Repr::Intset(v) = &self.repr {
            let mut t = Indexed::default();
            for i in v {
                t.insert(KStr::from(i.to_string().as_str()), ());
            }
            self.repr = Repr::Table(t);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intset_sorted_and_converts() {
        let mut s = SetValue::default();
        for m in ["3", "-1", "2", "3"] {
            s.add(m.as_bytes());
        }
        assert_eq!(s.encoding(), "intset");
        let all: Vec<_> = s.iter().map(|m| m.to_vec()).collect();
        assert_eq!(all, vec![b"-1".to_vec(), b"2".to_vec(), b"3".to_vec()]);
        assert!(!s.contains(b"02"));
        assert!(s.add(b"02"));
        assert_eq!(s.encoding(), "hashtable");
        assert!(s.contains(b"2") && s.contains(b"02"));
        let mut big = SetValue::default();
        for i in 0..SET_MAX_INTSET_ENTRIES as i64 {
            big.add(i.to_string().as_bytes());
        }
        assert_eq!(big.encoding(), "intset");
        big.add(b"-5");
        assert_eq!(big.encoding(), "hashtable");
        assert_eq!(big.len(), SET_MAX_INTSET_ENTRIES + 1);
        assert!(big.remove(b"-5") && big.remove(b"0"));
        assert_eq!(big.encoding(), "hashtable");
        assert_eq!(SetValue::from_members([&b"1"[..], b"1"]).len(), 1);
    }
}
