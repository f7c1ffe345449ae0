//! `Block`: up to a node's worth of stream entries packed in one buffer,
//! as Redis packs them in a listpack. The block remembers the fields of
//! the first entry added to it (the "master" fields); an entry with the
//! same fields stores only its values. IDs are stored as deltas from the
//! master ID. Deleted entries are flagged and stay until the whole block
//! is empty (Redis does the same), so an XDEL never moves bytes.
//!
//! Layout of `buf`:
//!
//! ```text
//! master:  nfields varint, nfields × (len varint, bytes)
//! entry*:  flags u8 (1 = deleted, 2 = same fields as the master)
//!          ms delta (zigzag varint), seq delta (zigzag varint)
//!          same fields:  nmaster × (len varint, value bytes)
//!          otherwise:    nfields varint, nfields × (field, value), each (len varint, bytes)
//! ```
//!
//! The block also keeps `lp_bytes`, the size Redis's listpack for the same
//! node would have: Redis decides when a node is full by that size
//! (`stream-node-max-bytes`), and kevy splits nodes at the same entries so
//! `XINFO STREAM` reports the same node count.

use super::id::StreamId;

/// Entry flag: deleted (a tombstone until the block empties).
const DELETED: u8 = 1;
/// Entry flag: the entry's fields are the master fields.
const SAME_FIELDS: u8 = 2;

/// One packed node of a stream.
#[derive(Clone, Debug)]
pub(crate) struct Block {
    /// The ID of the first entry added (Redis's rax key for the node).
    pub(crate) master: StreamId,
    /// Live entries.
    pub(crate) live: u32,
    /// Entries flagged deleted.
    pub(crate) deleted: u32,
    /// The size of Redis's listpack for this node, in bytes.
    pub(crate) lp_bytes: u64,
    /// Number of master fields.
    nmaster: u32,
    /// Offset of the first entry in `buf`.
    start: u32,
    /// Offset of the last entry in `buf`.
    last: u32,
    /// The packed master fields and entries.
    buf: Vec<u8>,
}

/// One decoded entry: its ID, flags and where its fields start.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RawEntry {
    pub(crate) id: StreamId,
    pub(crate) deleted: bool,
    same: bool,
    /// Offset of its field data (after the ID deltas).
    data: usize,
    /// Offset just past the entry.
    pub(crate) end: usize,
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Reads a varint at `*pos`. The buffer is only ever written by this
/// module, so a malformed varint is a bug; it reads as 0 rather than
/// panicking.
fn get_varint(buf: &[u8], pos: &mut usize) -> u64 {
    let mut v = 0u64;
    let mut shift = 0;
    while let Some(&b) = buf.get(*pos) {
        *pos += 1;
        if shift < 64 {
            v |= u64::from(b & 0x7f) << shift;
        }
        if b & 0x80 == 0 {
            break;
        }
        shift += 7;
    }
    v
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

fn put_str(out: &mut Vec<u8>, s: &[u8]) {
    put_varint(out, s.len() as u64);
    out.extend_from_slice(s);
}

fn get_str<'a>(buf: &'a [u8], pos: &mut usize) -> &'a [u8] {
    let n = get_varint(buf, pos) as usize;
    let start = (*pos).min(buf.len());
    let end = start.saturating_add(n).min(buf.len());
    *pos = end;
    &buf[start..end]
}

/// Bytes of a listpack integer entry holding `v` (encoding plus back-length).
pub(crate) fn lp_int(v: i64) -> u64 {
    let enc = if (0..=127).contains(&v) {
        1
    } else if (-4096..=4095).contains(&v) {
        2
    } else if (i16::MIN as i64..=i16::MAX as i64).contains(&v) {
        3
    } else if (-(1 << 23)..(1 << 23)).contains(&v) {
        4
    } else if (i32::MIN as i64..=i32::MAX as i64).contains(&v) {
        5
    } else {
        9
    };
    enc + lp_backlen(enc)
}

/// Bytes of a listpack entry holding the string `s` (stored as an integer
/// when it reads as one, as `lpAppend` does).
pub(crate) fn lp_str(s: &[u8]) -> u64 {
    if let Some(v) = crate::num::parse_i64(s) {
        return lp_int(v);
    }
    let n = s.len() as u64;
    let enc = if n < 64 {
        1 + n
    } else if n < 4096 {
        2 + n
    } else {
        5 + n
    };
    enc + lp_backlen(enc)
}

fn lp_backlen(enc: u64) -> u64 {
    match enc {
        0..=127 => 1,
        128..=16382 => 2,
        16383..=2097150 => 3,
        2097151..=268435454 => 4,
        _ => 5,
    }
}

/// Listpack header (total bytes u32, count u16) and end byte.
const LP_OVERHEAD: u64 = 7;

impl Block {
    /// A block whose first entry is `id` with `pairs` (field, value, ...).
    pub(crate) fn new(id: StreamId, pairs: &[&[u8]]) -> Block {
        let nfields = pairs.len() / 2;
        let mut buf = Vec::with_capacity(8 + pairs.iter().map(|p| p.len() + 2).sum::<usize>());
        put_varint(&mut buf, nfields as u64);
        let mut lp = LP_OVERHEAD + lp_int(1) + lp_int(0) + lp_int(nfields as i64) + lp_int(0);
        for f in pairs.iter().step_by(2) {
            put_str(&mut buf, f);
            lp += lp_str(f);
        }
        let start = buf.len() as u32;
        let mut b = Block {
            master: id,
            live: 0,
            deleted: 0,
            lp_bytes: lp,
            nmaster: nfields as u32,
            start,
            last: start,
            buf,
        };
        // The first entry is already counted by the master's `count` of 1.
        b.push(id, pairs);
        b
    }

    /// Entries ever stored (live and deleted), Redis's node entry count.
    pub(crate) fn total(&self) -> u64 {
        u64::from(self.live) + u64::from(self.deleted)
    }

    fn same_as_master(&self, pairs: &[&[u8]]) -> bool {
        if self.nmaster as usize != pairs.len() / 2 {
            return false;
        }
        let mut pos = 0;
        get_varint(&self.buf, &mut pos);
        pairs
            .iter()
            .step_by(2)
            .all(|f| get_str(&self.buf, &mut pos) == *f)
    }

    /// Appends entry `id` (greater than every ID in the block).
    pub(crate) fn push(&mut self, id: StreamId, pairs: &[&[u8]]) {
        let nfields = pairs.len() / 2;
        let same = self.same_as_master(pairs);
        let ms_delta = id.ms.wrapping_sub(self.master.ms) as i64;
        let seq_delta = id.seq.wrapping_sub(self.master.seq) as i64;
        let at = self.buf.len();
        self.buf.push(if same { SAME_FIELDS } else { 0 });
        put_varint(&mut self.buf, zigzag(ms_delta));
        put_varint(&mut self.buf, zigzag(seq_delta));
        let mut lp =
            lp_int((same as i64) * i64::from(SAME_FIELDS)) + lp_int(ms_delta) + lp_int(seq_delta);
        if same {
            for v in pairs.iter().skip(1).step_by(2) {
                put_str(&mut self.buf, v);
                lp += lp_str(v);
            }
            lp += lp_int(nfields as i64 + 3);
        } else {
            put_varint(&mut self.buf, nfields as u64);
            lp += lp_int(nfields as i64);
            for p in pairs.iter().take(nfields * 2) {
                put_str(&mut self.buf, p);
                lp += lp_str(p);
            }
            lp += lp_int(2 * nfields as i64 + 4);
        }
        if self.live + self.deleted > 0 {
            // Redis bumps the master entry's live count in place.
            let c = i64::from(self.live);
            lp = lp + lp_int(c + 1) - lp_int(c);
        }
        self.lp_bytes += lp;
        self.live += 1;
        self.last = at as u32;
    }

    /// Drops spare capacity once the block is full (Redis shrinks a
    /// listpack when it closes the node).
    pub(crate) fn shrink(&mut self) {
        self.buf.shrink_to_fit();
    }

    /// Heap bytes held.
    pub(crate) fn heap_size(&self) -> usize {
        self.buf.capacity() + std::mem::size_of::<Block>()
    }

    /// Decodes the entry at `at`.
    pub(crate) fn entry_at(&self, at: usize) -> RawEntry {
        let buf = &self.buf;
        let flags = buf.get(at).copied().unwrap_or(0);
        let mut pos = at + 1;
        let ms = unzigzag(get_varint(buf, &mut pos)) as u64;
        let seq = unzigzag(get_varint(buf, &mut pos)) as u64;
        let id = StreamId::new(
            self.master.ms.wrapping_add(ms),
            self.master.seq.wrapping_add(seq),
        );
        let data = pos;
        let same = flags & SAME_FIELDS != 0;
        if same {
            for _ in 0..self.nmaster {
                get_str(buf, &mut pos);
            }
        } else {
            let n = get_varint(buf, &mut pos);
            for _ in 0..n * 2 {
                get_str(buf, &mut pos);
            }
        }
        RawEntry {
            id,
            deleted: flags & DELETED != 0,
            same,
            data,
            end: pos,
        }
    }

    /// Offset of the first entry.
    pub(crate) fn first_at(&self) -> usize {
        self.start as usize
    }

    /// Offset just past the last entry.
    pub(crate) fn end_at(&self) -> usize {
        self.buf.len()
    }

    /// The last entry's ID, deleted or not.
    pub(crate) fn last_id(&self) -> StreamId {
        self.entry_at(self.last as usize).id
    }

    /// Offsets of every entry, in order (for walking a block backwards).
    pub(crate) fn offsets(&self) -> Vec<usize> {
        let mut out = Vec::with_capacity(self.total() as usize);
        let mut at = self.first_at();
        while at < self.end_at() {
            out.push(at);
            at = self.entry_at(at).end;
        }
        out
    }

    /// The (field, value) pairs of entry `e`, in order.
    pub(crate) fn fields<'a>(&'a self, e: &RawEntry) -> Fields<'a> {
        let mut pos = e.data;
        let (left, master) = if e.same {
            let mut m = 0;
            get_varint(&self.buf, &mut m);
            (self.nmaster as u64, Some(m))
        } else {
            (get_varint(&self.buf, &mut pos), None)
        };
        Fields {
            buf: &self.buf,
            pos,
            master,
            left,
        }
    }

    /// Flags the entry at `at` deleted; false if it already was.
    pub(crate) fn delete_at(&mut self, at: usize) -> bool {
        let Some(flags) = self.buf.get_mut(at) else {
            return false;
        };
        if *flags & DELETED != 0 {
            return false;
        }
        *flags |= DELETED;
        // The flags integer stays one byte; the master counters may not.
        let (l, d) = (i64::from(self.live), i64::from(self.deleted));
        self.lp_bytes = self.lp_bytes + lp_int(l - 1) + lp_int(d + 1) - lp_int(l) - lp_int(d);
        self.live -= 1;
        self.deleted += 1;
        true
    }

    /// Flags `n` entries deleted at once (a trim inside the node), adjusting
    /// the counters as one in-place update, as Redis does.
    pub(crate) fn delete_run(&mut self, ats: &[usize]) -> u32 {
        let (l0, d0) = (i64::from(self.live), i64::from(self.deleted));
        let mut n = 0;
        for &at in ats {
            if let Some(flags) = self.buf.get_mut(at) {
                if *flags & DELETED == 0 {
                    *flags |= DELETED;
                    n += 1;
                }
            }
        }
        self.live -= n;
        self.deleted += n;
        let (l1, d1) = (i64::from(self.live), i64::from(self.deleted));
        self.lp_bytes = self.lp_bytes + lp_int(l1) + lp_int(d1) - lp_int(l0) - lp_int(d0);
        n
    }
}

/// The (field, value) pairs of one entry.
pub(crate) struct Fields<'a> {
    buf: &'a [u8],
    /// Next value (same fields) or field (own fields).
    pos: usize,
    /// Next master field, for an entry with the master's fields.
    master: Option<usize>,
    left: u64,
}

impl Fields<'_> {
    /// Number of pairs not yet read.
    pub(crate) fn remaining(&self) -> usize {
        self.left as usize
    }
}

impl<'a> Iterator for Fields<'a> {
    type Item = (&'a [u8], &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let f = match &mut self.master {
            Some(m) => get_str(self.buf, m),
            None => get_str(self.buf, &mut self.pos),
        };
        Some((f, get_str(self.buf, &mut self.pos)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(ms: u64, seq: u64) -> StreamId {
        StreamId::new(ms, seq)
    }

    #[test]
    fn packs_and_reads_back() {
        let mut b = Block::new(id(10, 5), &[b"f", b"v", b"g", b"w"]);
        b.push(id(11, 0), &[b"f", b"x", b"g", b"y"]);
        b.push(id(11, 1), &[b"other", b"1"]);
        let offs = b.offsets();
        assert_eq!(offs.len(), 3);
        let ids: Vec<StreamId> = offs.iter().map(|&o| b.entry_at(o).id).collect();
        assert_eq!(ids, [id(10, 5), id(11, 0), id(11, 1)]);
        let e = b.entry_at(offs[1]);
        let f: Vec<_> = b.fields(&e).collect();
        assert_eq!(f, [(&b"f"[..], &b"x"[..]), (b"g", b"y")]);
        let e = b.entry_at(offs[2]);
        let f: Vec<_> = b.fields(&e).collect();
        assert_eq!(f, [(&b"other"[..], &b"1"[..])]);
        assert_eq!(b.last_id(), id(11, 1));
        assert!(b.delete_at(offs[1]));
        assert!(!b.delete_at(offs[1]));
        assert!(b.entry_at(offs[1]).deleted);
        assert_eq!((b.live, b.deleted), (2, 1));
    }

    #[test]
    fn listpack_sizes() {
        // A node with one entry `f v` under ID 1-1: header 6 + end 1,
        // master (count 1, deleted 0, nfields 1, "f", 0) = 2+2+2+3+2,
        // entry (flags 2, 0, 0, "v", lp-count 4) = 2+2+2+3+2.
        let b = Block::new(id(1, 1), &[b"f", b"v"]);
        assert_eq!(b.lp_bytes, 7 + 11 + 11);
        assert_eq!(lp_int(127), 2);
        assert_eq!(lp_int(128), 3);
        assert_eq!(lp_int(-1), 3);
        assert_eq!(lp_str(b"12345"), lp_int(12345));
        assert_eq!(lp_str(&[b'a'; 63]), 65);
        assert_eq!(lp_str(&[b'a'; 64]), 67);
    }
}
