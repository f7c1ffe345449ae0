//! `KStr`: the compact, cheaply clonable byte string that holds every key and
//! string value. Short strings live inline (no allocation); longer ones share
//! one reference-counted buffer, so cloning a map node during copy-on-write
//! never copies string bytes.

use std::borrow::Borrow;
use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

/// Longest string stored inline, without a heap allocation.
pub const INLINE_CAP: usize = 22;

#[derive(Clone)]
enum Repr {
    Inline {
        len: u8,
        data: [u8; INLINE_CAP],
    },
    Heap(Arc<[u8]>),
    /// A string that grows in place (SETBIT, BITFIELD past the end): spare
    /// capacity makes repeated growth amortized O(1), as Redis's sds does.
    Growable(Arc<Vec<u8>>),
}

/// An immutable byte string: 24 bytes, inline up to `INLINE_CAP` bytes.
#[derive(Clone)]
pub struct KStr(Repr);

impl KStr {
    /// Copies `b` into a new string.
    pub fn from_slice(b: &[u8]) -> KStr {
        if b.len() <= INLINE_CAP {
            let mut data = [0u8; INLINE_CAP];
            data[..b.len()].copy_from_slice(b);
            KStr(Repr::Inline {
                len: b.len() as u8,
                data,
            })
        } else {
            KStr(Repr::Heap(Arc::from(b)))
        }
    }

    /// The empty string.
    pub fn empty() -> KStr {
        KStr::from_slice(b"")
    }

    /// The bytes.
    #[inline]
    pub fn as_bytes(&self) -> &[u8] {
        match &self.0 {
            Repr::Inline { len, data } => &data[..*len as usize],
            Repr::Heap(a) => a,
            Repr::Growable(v) => v,
        }
    }

    /// A `bytes::Bytes` with the same content (shares the buffer when it is
    /// on the heap, copies when it is inline).
    pub fn to_bytes(&self) -> bytes::Bytes {
        match &self.0 {
            Repr::Inline { .. } => bytes::Bytes::copy_from_slice(self.as_bytes()),
            Repr::Heap(a) => bytes::Bytes::from_owner(ArcBytes(a.clone())),
            Repr::Growable(v) => bytes::Bytes::from_owner(ArcVecBytes(v.clone())),
        }
    }

    /// Heap bytes owned by this string beyond its own 24 bytes.
    pub fn heap_size(&self) -> usize {
        match &self.0 {
            Repr::Inline { .. } => 0,
            Repr::Heap(a) => a.len() + 16,
            Repr::Growable(v) => v.capacity() + 40,
        }
    }
}

struct ArcBytes(Arc<[u8]>);

struct ArcVecBytes(Arc<Vec<u8>>);

impl AsRef<[u8]> for ArcVecBytes {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl AsRef<[u8]> for ArcBytes {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl Deref for KStr {
    type Target = [u8];
    #[inline]
    fn deref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl AsRef<[u8]> for KStr {
    fn as_ref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl Borrow<[u8]> for KStr {
    fn borrow(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl PartialEq for KStr {
    fn eq(&self, other: &KStr) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Eq for KStr {}

impl PartialOrd for KStr {
    fn partial_cmp(&self, other: &KStr) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for KStr {
    fn cmp(&self, other: &KStr) -> std::cmp::Ordering {
        self.as_bytes().cmp(other.as_bytes())
    }
}

impl std::hash::Hash for KStr {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_bytes().hash(state)
    }
}

impl From<&[u8]> for KStr {
    fn from(b: &[u8]) -> KStr {
        KStr::from_slice(b)
    }
}

impl From<&str> for KStr {
    fn from(s: &str) -> KStr {
        KStr::from_slice(s.as_bytes())
    }
}

impl From<Vec<u8>> for KStr {
    fn from(v: Vec<u8>) -> KStr {
        if v.len() <= INLINE_CAP {
            KStr::from_slice(&v)
        } else {
            KStr(Repr::Heap(Arc::from(v)))
        }
    }
}

impl fmt::Debug for KStr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", String::from_utf8_lossy(self.as_bytes()))
    }
}

impl KStr {
    /// The bytes for modification in place (SETBIT, BITFIELD, PFADD on a
    /// dense HyperLogLog). A heap buffer that is shared (a snapshot or
    /// another clone holds it) is copied first: copy-on-write, so a
    /// frozen view never sees the change.
    pub(crate) fn make_mut(&mut self) -> &mut [u8] {
        match &mut self.0 {
            Repr::Inline { len, data } => &mut data[..*len as usize],
            Repr::Heap(a) => Arc::make_mut(a),
            Repr::Growable(v) => Arc::make_mut(v).as_mut_slice(),
        }
    }

    /// Extends the string with zero bytes to `len` (no-op if it is already
    /// that long). The buffer keeps spare room by Redis's `sdsMakeRoomFor`
    /// rule (double below 1 MiB, then 1 MiB more), so a string grown a few
    /// bytes at a time is copied O(log n) times, not once per growth.
    pub(crate) fn grow_zeroed(&mut self, len: usize) {
        if len <= self.len() {
            return;
        }
        if let Repr::Inline { len: l, data } = &mut self.0 {
            if len <= INLINE_CAP {
                data[*l as usize..len].fill(0);
                *l = len as u8;
                return;
            }
        }
        if !matches!(self.0, Repr::Growable(_)) {
            self.0 = Repr::Growable(Arc::new(self.as_bytes().to_vec()));
        }
        if let Repr::Growable(a) = &mut self.0 {
            let v = Arc::make_mut(a);
            if v.capacity() < len {
                let room = if len < 1 << 20 {
                    len * 2
                } else {
                    len + (1 << 20)
                };
                v.reserve_exact(room - v.len());
            }
            v.resize(len, 0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_and_roundtrip() {
        assert_eq!(std::mem::size_of::<KStr>(), 24);
        for n in [0, 1, 22, 23, 100] {
            let v: Vec<u8> = (0..n as u8).collect();
            let k = KStr::from_slice(&v);
            assert_eq!(k.as_bytes(), &v[..]);
            assert_eq!(&k.to_bytes()[..], &v[..]);
            assert_eq!(KStr::from(v.clone()), k);
        }
    }

    #[test]
    fn grow_zeroed_keeps_bytes_and_shares_nothing() {
        let mut k = KStr::from_slice(b"ab");
        k.grow_zeroed(5);
        assert_eq!(k.as_bytes(), b"ab\0\0\0");
        let frozen = k.clone();
        for n in [30, 31, 1000, 5000] {
            k.grow_zeroed(n);
            k.make_mut()[n - 1] = 7;
            assert_eq!(k.len(), n);
            assert_eq!(&k[..2], b"ab");
            assert_eq!(k[n - 1], 7);
        }
        let shared = k.clone();
        k.grow_zeroed(6000);
        k.make_mut()[0] = b'x';
        assert_eq!(
            (frozen.as_bytes(), shared.len(), shared[0]),
            (&b"ab\0\0\0"[..], 5000, b'a')
        );
        assert_eq!(&k.to_bytes()[..3], b"xb\0");
        assert_eq!(std::mem::size_of::<KStr>(), 24);
    }
}
