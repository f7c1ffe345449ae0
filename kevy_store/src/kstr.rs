//! `SmallStr`: the compact, cheaply clonable byte string that holds every
//! key, member and string value. Short strings live inline (no allocation);
//! longer ones share one reference-counted buffer, so cloning a map node
//! during copy-on-write never copies string bytes. Two sizes are used:
//! [`KStr`] (24 bytes, inline up to 21) for keys and members, and [`VStr`]
//! (40 bytes, inline up to 37) for string values, which
//! spares the separate allocation of a typical short value. Each also keeps
//! one byte of flags for its owner (`Value` records the string's encoding
//! there), which costs no space: it sits beside the enum tag.

use std::borrow::Borrow;
use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

/// A key or member: 24 bytes, inline up to 21 bytes.
pub type KStr = SmallStr<21>;

/// A string value: 40 bytes, inline up to 37 bytes (a 32-byte value needs
/// no allocation of its own).
pub type VStr = SmallStr<37>;

#[derive(Clone)]
enum Repr<const N: usize> {
    Inline {
        len: u8,
        flags: u8,
        data: [u8; N],
    },
    Heap {
        flags: u8,
        a: Arc<[u8]>,
    },
    /// A string that grows in place (SETBIT, BITFIELD past the end): spare
    /// capacity makes repeated growth amortized O(1), as Redis's sds does.
    Growable {
        flags: u8,
        a: Arc<Vec<u8>>,
    },
}

/// An immutable byte string, inline up to `N` bytes (`N` + 3 bytes in
/// all: `N` = 21 and 37 give 24 and 40), plus a byte of flags.
#[derive(Clone)]
pub struct SmallStr<const N: usize>(Repr<N>);

impl<const N: usize> SmallStr<N> {
    /// Longest string stored inline, without a heap allocation.
    pub const INLINE_CAP: usize = N;

    /// Copies `b` into a new string.
    pub fn from_slice(b: &[u8]) -> Self {
        if b.len() <= N {
            let mut data = [0u8; N];
            data[..b.len()].copy_from_slice(b);
            SmallStr(Repr::Inline {
                len: b.len() as u8,
                flags: 0,
                data,
            })
        } else {
            SmallStr(Repr::Heap {
                flags: 0,
                a: Arc::from(b),
            })
        }
    }

    /// The same bytes in a string of another inline size (shares the
    /// buffer when it is on the heap and too long to go inline).
    pub fn convert<const M: usize>(&self) -> SmallStr<M> {
        match &self.0 {
            Repr::Heap { a, .. } if a.len() > M => SmallStr(Repr::Heap {
                flags: 0,
                a: a.clone(),
            }),
            _ => SmallStr::from_slice(self.as_bytes()),
        }
    }

    /// The empty string.
    pub fn empty() -> Self {
        Self::from_slice(b"")
    }

    /// The owner's flag byte (0 for a new string).
    #[inline]
    pub fn flags(&self) -> u8 {
        match &self.0 {
            Repr::Inline { flags, .. }
            | Repr::Heap { flags, .. }
            | Repr::Growable { flags, .. } => *flags,
        }
    }

    /// Sets the owner's flag byte.
    #[inline]
    pub fn set_flags(&mut self, f: u8) {
        match &mut self.0 {
            Repr::Inline { flags, .. }
            | Repr::Heap { flags, .. }
            | Repr::Growable { flags, .. } => *flags = f,
        }
    }

    /// The bytes.
    #[inline]
    pub fn as_bytes(&self) -> &[u8] {
        match &self.0 {
            Repr::Inline { len, data, .. } => &data[..*len as usize],
            Repr::Heap { a, .. } => a,
            Repr::Growable { a, .. } => a,
        }
    }

    /// A `bytes::Bytes` with the same content (shares the buffer when it is
    /// on the heap, copies when it is inline).
    pub fn to_bytes(&self) -> bytes::Bytes {
        match &self.0 {
            Repr::Inline { .. } => bytes::Bytes::copy_from_slice(self.as_bytes()),
            Repr::Heap { a, .. } => bytes::Bytes::from_owner(ArcBytes(a.clone())),
            Repr::Growable { a, .. } => bytes::Bytes::from_owner(ArcVecBytes(a.clone())),
        }
    }

    /// Heap bytes owned by this string beyond its own size.
    pub fn heap_size(&self) -> usize {
        match &self.0 {
            Repr::Inline { .. } => 0,
            Repr::Heap { a, .. } => a.len() + 16,
            Repr::Growable { a, .. } => a.capacity() + 40,
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

impl<const N: usize> Deref for SmallStr<N> {
    type Target = [u8];
    #[inline]
    fn deref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl<const N: usize> AsRef<[u8]> for SmallStr<N> {
    fn as_ref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl<const N: usize> Borrow<[u8]> for SmallStr<N> {
    fn borrow(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl<const N: usize> PartialEq for SmallStr<N> {
    fn eq(&self, other: &Self) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl<const N: usize> Eq for SmallStr<N> {}

impl<const N: usize> PartialOrd for SmallStr<N> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl<const N: usize> Ord for SmallStr<N> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.as_bytes().cmp(other.as_bytes())
    }
}

impl<const N: usize> std::hash::Hash for SmallStr<N> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_bytes().hash(state)
    }
}

impl<const N: usize> From<&[u8]> for SmallStr<N> {
    fn from(b: &[u8]) -> Self {
        Self::from_slice(b)
    }
}

impl<const N: usize> From<&str> for SmallStr<N> {
    fn from(s: &str) -> Self {
        Self::from_slice(s.as_bytes())
    }
}

impl<const N: usize> From<Vec<u8>> for SmallStr<N> {
    fn from(v: Vec<u8>) -> Self {
        if v.len() <= N {
            Self::from_slice(&v)
        } else {
            SmallStr(Repr::Heap {
                flags: 0,
                a: Arc::from(v),
            })
        }
    }
}

impl<const N: usize> fmt::Debug for SmallStr<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", String::from_utf8_lossy(self.as_bytes()))
    }
}

impl<const N: usize> SmallStr<N> {
    /// The bytes for modification in place (SETBIT, BITFIELD, PFADD on a
    /// dense HyperLogLog). A heap buffer that is shared (a snapshot or
    /// another clone holds it) is copied first: copy-on-write, so a
    /// frozen view never sees the change.
    pub(crate) fn make_mut(&mut self) -> &mut [u8] {
        match &mut self.0 {
            Repr::Inline { len, data, .. } => &mut data[..*len as usize],
            Repr::Heap { a, .. } => Arc::make_mut(a),
            Repr::Growable { a, .. } => Arc::make_mut(a).as_mut_slice(),
        }
    }

    /// Replaces the bytes, keeping the flags.
    pub(crate) fn set_bytes(&mut self, v: Vec<u8>) {
        let f = self.flags();
        *self = SmallStr::from(v);
        self.set_flags(f);
    }

    /// Extends the string with zero bytes to `len` (no-op if it is already
    /// that long). The buffer keeps spare room by Redis's `sdsMakeRoomFor`
    /// rule (double below 1 MiB, then 1 MiB more), so a string grown a few
    /// bytes at a time is copied O(log n) times, not once per growth.
    pub(crate) fn grow_zeroed(&mut self, len: usize) {
        if len <= self.len() {
            return;
        }
        if let Repr::Inline { len: l, data, .. } = &mut self.0 {
            if len <= N {
                data[*l as usize..len].fill(0);
                *l = len as u8;
                return;
            }
        }
        if !matches!(self.0, Repr::Growable { .. }) {
            self.0 = Repr::Growable {
                flags: self.flags(),
                a: Arc::new(self.as_bytes().to_vec()),
            };
        }
        if let Repr::Growable { a, .. } = &mut self.0 {
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
        assert_eq!(std::mem::size_of::<VStr>(), 40);
        for n in [0, 1, 21, 22, 37, 38, 100] {
            let v: Vec<u8> = (0..n as u8).collect();
            let k = KStr::from_slice(&v);
            assert_eq!(k.as_bytes(), &v[..]);
            assert_eq!(&k.to_bytes()[..], &v[..]);
            assert_eq!(KStr::from(v.clone()), k);
            let mut w: VStr = k.convert();
            assert_eq!(w.as_bytes(), &v[..]);
            w.set_flags(3);
            w.grow_zeroed(n + 40);
            assert_eq!((w.flags(), &w[..n]), (3, &v[..]));
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
