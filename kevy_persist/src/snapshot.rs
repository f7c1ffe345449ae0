//! The snapshot file: a binary, point-in-time image of one shard, written
//! from a frozen [`SnapshotView`] while the shard keeps changing. All
//! integers are little-endian; every section carries the CRC32C of its
//! header and of its payload; a final section records the totals, so a
//! truncated file is always detected. Layout: `docs/persistence.md`.

use crate::error::{PersistError, Result};
use crate::io::WFile;
use kevy_store::types::stream::{Consumer, Group, StreamId, StreamValue};
use kevy_store::{KStr, SnapshotView, Value};
use std::path::Path;

/// The first 8 bytes of a snapshot file.
pub const SNAP_MAGIC: &[u8; 8] = b"KEVYSNP\n";
/// Format version written. Version 2 added the stream type
/// ([`TYPE_STREAM`]); version 1 files (without it) are still read.
pub const SNAP_VERSION: u32 = 2;
/// The oldest format version read.
pub const SNAP_MIN_VERSION: u32 = 1;
/// Header: magic, version u32, shard u32, nshards u32, created_ms u64, crc u32.
pub const HEADER_LEN: usize = 8 + 4 + 4 + 4 + 8 + 4;
/// Section header: kind u8, db u32, count u32, payload_len u32, payload_crc
/// u32, header_crc u32 (over the 17 bytes before it).
pub const SECTION_LEN: usize = 1 + 4 + 4 + 4 + 4 + 4;
/// Section kind: a run of entries of one database.
pub const KIND_ENTRIES: u8 = 1;
/// Section kind: the end; payload = total entries u64, sections u64.
pub const KIND_END: u8 = 0xFF;
/// Entry value type: a string (`u32 len` + bytes).
pub const TYPE_STRING: u8 = 0;
/// Entry value type: any other type, as the commands that rebuild it
/// (`u32 ncmds`, each `u32 argc` then `argc` × (`u32 len` + bytes)).
pub const TYPE_COMMANDS: u8 = 1;
/// Entry value type (version 2 on): a stream, whole (see
/// `docs/persistence.md`: its nodes with their deleted entries, counters,
/// groups, pending entries and consumers).
pub const TYPE_STREAM: u8 = 2;
/// Payload size at which a section is closed.
const SECTION_TARGET: usize = 1 << 20;

fn put_u32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    put_u32(out, b.len() as u32);
    out.extend_from_slice(b);
}

struct SectionWriter<'a> {
    file: &'a mut dyn WFile,
    path: &'a Path,
    payload: Vec<u8>,
    count: u32,
    db: u32,
    bytes: u64,
    sections: u64,
}

impl SectionWriter<'_> {
    fn flush(&mut self, kind: u8) -> Result<()> {
        if kind == KIND_ENTRIES && self.count == 0 {
            return Ok(());
        }
        let mut h = Vec::with_capacity(SECTION_LEN);
        h.push(kind);
        put_u32(&mut h, self.db);
        put_u32(&mut h, self.count);
        put_u32(&mut h, self.payload.len() as u32);
        put_u32(&mut h, crc32c::crc32c(&self.payload));
        let hc = crc32c::crc32c(&h);
        put_u32(&mut h, hc);
        self.file
            .write_all(&[&h, &self.payload])
            .map_err(|e| PersistError::io(self.path, "write", e))?;
        self.bytes += (h.len() + self.payload.len()) as u64;
        self.sections += 1;
        self.payload.clear();
        self.count = 0;
        Ok(())
    }
}

/// Writes `view` (shard `shard` of `nshards`) to `file` and fsyncs it.
/// Returns the file size. The caller renames the file into place.
pub fn write_snapshot(
    file: &mut dyn WFile,
    path: &Path,
    view: &SnapshotView,
    shard: u32,
    nshards: u32,
    created_ms: u64,
) -> Result<u64> {
    let mut h = Vec::with_capacity(HEADER_LEN);
    h.extend_from_slice(SNAP_MAGIC);
    put_u32(&mut h, SNAP_VERSION);
    put_u32(&mut h, shard);
    put_u32(&mut h, nshards);
    h.extend_from_slice(&created_ms.to_le_bytes());
    let c = crc32c::crc32c(&h);
    put_u32(&mut h, c);
    file.write_all(&[&h])
        .map_err(|e| PersistError::io(path, "write", e))?;
    let mut w = SectionWriter {
        file,
        path,
        payload: Vec::with_capacity(SECTION_TARGET + 4096),
        count: 0,
        db: 0,
        bytes: h.len() as u64,
        sections: 0,
    };
    let mut total: u64 = 0;
    for (db, map) in view.dbs.iter().enumerate() {
        w.db = db as u32;
        for (k, e) in map.iter() {
            w.payload
                .extend_from_slice(&e.expire_at().unwrap_or(0).to_le_bytes());
            match &e.value {
                Value::Str(s) => {
                    w.payload.push(TYPE_STRING);
                    put_bytes(&mut w.payload, k.bytes());
                    put_bytes(&mut w.payload, s);
                }
                Value::Stream(s) => {
                    w.payload.push(TYPE_STREAM);
                    put_bytes(&mut w.payload, k.bytes());
                    put_stream(&mut w.payload, s);
                }
                other => {
                    w.payload.push(TYPE_COMMANDS);
                    put_bytes(&mut w.payload, k.bytes());
                    let cmds = other.restore_commands(k.bytes());
                    put_u32(&mut w.payload, cmds.len() as u32);
                    for c in &cmds {
                        put_u32(&mut w.payload, c.len() as u32);
                        for a in c {
                            put_bytes(&mut w.payload, a);
                        }
                    }
                }
            }
            w.count += 1;
            total += 1;
            if w.payload.len() >= SECTION_TARGET {
                w.flush(KIND_ENTRIES)?;
            }
        }
        w.flush(KIND_ENTRIES)?;
    }
    w.db = 0;
    w.payload.extend_from_slice(&total.to_le_bytes());
    w.payload.extend_from_slice(&w.sections.to_le_bytes());
    w.count = 0;
    w.flush(KIND_END)?;
    let bytes = w.bytes;
    file.sync()
        .map_err(|e| PersistError::io(path, "fsync", e))?;
    Ok(bytes)
}

fn put_u64(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn put_id(out: &mut Vec<u8>, id: StreamId) {
    put_u64(out, id.ms);
    put_u64(out, id.seq);
}

/// A stream, byte layout in `docs/persistence.md` ("Type 2").
fn put_stream(out: &mut Vec<u8>, s: &StreamValue) {
    put_id(out, s.last_id);
    put_id(out, s.first_id);
    put_id(out, s.max_deleted);
    put_u64(out, s.entries_added);
    put_u32(out, s.node_count() as u32);
    for node in s.nodes() {
        put_u32(out, node.len() as u32);
        for e in node {
            put_id(out, e.id);
            out.push(u8::from(e.deleted()));
            let fields = e.fields();
            put_u32(out, fields.len() as u32);
            for (f, v) in fields {
                put_bytes(out, f);
                put_bytes(out, v);
            }
        }
    }
    put_u32(out, s.groups.len() as u32);
    for (name, g) in &s.groups {
        put_bytes(out, name);
        put_id(out, g.last_id);
        put_u64(out, g.entries_read as u64);
        put_u32(out, g.consumers.len() as u32);
        for (cname, c) in &g.consumers {
            put_bytes(out, cname);
            put_u64(out, c.seen_time);
        }
        put_u32(out, g.pel.len() as u32);
        for (id, n) in &g.pel {
            put_id(out, *id);
            put_u64(out, n.delivery_time);
            put_u64(out, n.delivery_count);
            put_bytes(out, &n.consumer);
        }
    }
}

/// One entry read back from a snapshot.
#[non_exhaustive]
pub enum SnapValue<'a> {
    /// A string value.
    Str(&'a [u8]),
    /// The commands that rebuild a collection (`argv[0]` is the command).
    Commands(Vec<Vec<&'a [u8]>>),
    /// A stream, rebuilt whole.
    Stream(Box<StreamValue>),
}

/// The header of a snapshot file.
#[derive(Debug, Clone, PartialEq)]
pub struct SnapHeader {
    /// Shard that wrote it.
    pub shard: u32,
    /// Shard count of the writer.
    pub nshards: u32,
    /// Unix ms when it was frozen.
    pub created_ms: u64,
    /// Entries in the file.
    pub entries: u64,
}

struct Cursor<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let s = self.data.get(self.pos..end)?;
        self.pos = end;
        Some(s)
    }
    fn u32(&mut self) -> Option<u32> {
        self.take(4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn u64(&mut self) -> Option<u64> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Some(u64::from_le_bytes(a))
    }
    fn bytes(&mut self) -> Option<&'a [u8]> {
        let n = self.u32()? as usize;
        self.take(n)
    }
}

/// Reads a snapshot image, calling `sink(db, key, expire_at, value)` for
/// each entry. Any damage (bad magic, version, checksum, truncation) is a
/// `Corrupt` error naming the offset; nothing after a bad section is read.
pub fn read_snapshot<'a>(
    path: &Path,
    data: &'a [u8],
    mut sink: impl FnMut(usize, &'a [u8], u64, SnapValue<'a>) -> Result<()>,
) -> Result<SnapHeader> {
    let bad = |offset: usize, reason: &str| PersistError::Corrupt {
        path: path.to_path_buf(),
        offset: offset as u64,
        reason: reason.to_string(),
    };
    if data.len() < HEADER_LEN {
        return Err(bad(data.len(), "file shorter than the snapshot header"));
    }
    if &data[..8] != SNAP_MAGIC {
        return Err(bad(0, "not a kevy snapshot (bad magic)"));
    }
    if crc32c::crc32c(&data[..HEADER_LEN - 4])
        != u32::from_le_bytes([
            data[HEADER_LEN - 4],
            data[HEADER_LEN - 3],
            data[HEADER_LEN - 2],
            data[HEADER_LEN - 1],
        ])
    {
        return Err(bad(0, "header checksum mismatch"));
    }
    let mut c = Cursor { data, pos: 8 };
    let version = c.u32().unwrap_or(0);
    if !(SNAP_MIN_VERSION..=SNAP_VERSION).contains(&version) {
        return Err(bad(8, &format!("unsupported snapshot version {version}")));
    }
    let shard = c.u32().unwrap_or(0);
    let nshards = c.u32().unwrap_or(0);
    let created_ms = c.u64().unwrap_or(0);
    c.pos = HEADER_LEN;
    let mut entries: u64 = 0;
    let mut sections: u64 = 0;
    loop {
        let at = c.pos;
        let Some(h) = c.take(SECTION_LEN) else {
            return Err(bad(at, "truncated: the end section is missing"));
        };
        let hc = u32::from_le_bytes([h[17], h[18], h[19], h[20]]);
        if crc32c::crc32c(&h[..17]) != hc {
            return Err(bad(at, "section header checksum mismatch"));
        }
        let kind = h[0];
        let db = u32::from_le_bytes([h[1], h[2], h[3], h[4]]) as usize;
        let count = u32::from_le_bytes([h[5], h[6], h[7], h[8]]);
        let len = u32::from_le_bytes([h[9], h[10], h[11], h[12]]) as usize;
        let pc = u32::from_le_bytes([h[13], h[14], h[15], h[16]]);
        let Some(payload) = c.take(len) else {
            return Err(bad(at, "truncated section payload"));
        };
        if crc32c::crc32c(payload) != pc {
            return Err(bad(at, "section payload checksum mismatch"));
        }
        match kind {
            KIND_END => {
                let mut p = Cursor {
                    data: payload,
                    pos: 0,
                };
                let (Some(total), Some(nsec)) = (p.u64(), p.u64()) else {
                    return Err(bad(at, "short end section"));
                };
                if total != entries || nsec != sections {
                    return Err(bad(
                        at,
                        "entry or section count does not match the end section",
                    ));
                }
                if c.pos != data.len() {
                    return Err(bad(c.pos, "bytes after the end section"));
                }
                return Ok(SnapHeader {
                    shard,
                    nshards,
                    created_ms,
                    entries,
                });
            }
            KIND_ENTRIES => {
                let mut p = Cursor {
                    data: payload,
                    pos: 0,
                };
                for _ in 0..count {
                    let e = read_entry(&mut p, version)
                        .ok_or_else(|| bad(at, "malformed entry in a section"))?;
                    sink(db, e.0, e.1, e.2)?;
                    entries += 1;
                }
                if p.pos != payload.len() {
                    return Err(bad(at, "section payload longer than its entries"));
                }
                sections += 1;
            }
            _ => return Err(bad(at, &format!("unknown section kind {kind}"))),
        }
    }
}

fn read_entry<'a>(p: &mut Cursor<'a>, version: u32) -> Option<(&'a [u8], u64, SnapValue<'a>)> {
    let expire = p.u64()?;
    let ty = p.take(1)?[0];
    let key = p.bytes()?;
    let v = match ty {
        TYPE_STRING => SnapValue::Str(p.bytes()?),
        TYPE_COMMANDS => {
            let n = p.u32()? as usize;
            let mut cmds = Vec::with_capacity(n.min(1024));
            for _ in 0..n {
                let argc = p.u32()? as usize;
                let mut argv = Vec::with_capacity(argc.min(1024));
                for _ in 0..argc {
                    argv.push(p.bytes()?);
                }
                cmds.push(argv);
            }
            SnapValue::Commands(cmds)
        }
        TYPE_STREAM if version >= 2 => SnapValue::Stream(Box::new(read_stream(p)?)),
        _ => return None,
    };
    Some((key, expire, v))
}

impl Cursor<'_> {
    fn id(&mut self) -> Option<StreamId> {
        Some(StreamId::new(self.u64()?, self.u64()?))
    }
}

/// A stream as [`put_stream`] wrote it; None when malformed (IDs out of
/// order, a node without live entries, a pending entry of an unknown
/// consumer, a count past the payload).
fn read_stream(p: &mut Cursor<'_>) -> Option<StreamValue> {
    let mut s = StreamValue::default();
    let last_id = p.id()?;
    let first_id = p.id()?;
    let max_deleted = p.id()?;
    let entries_added = p.u64()?;
    let nodes = p.u32()?;
    for _ in 0..nodes {
        let n = p.u32()? as usize;
        let mut entries = Vec::with_capacity(n.min(4096));
        for _ in 0..n {
            let id = p.id()?;
            let deleted = match p.take(1)?[0] {
                0 => false,
                1 => true,
                _ => return None,
            };
            let pairs = p.u32()? as usize;
            let mut fields = Vec::with_capacity(pairs.min(1024) * 2);
            for _ in 0..pairs {
                fields.push(p.bytes()?);
                fields.push(p.bytes()?);
            }
            entries.push((id, deleted, fields));
        }
        s.load_node(&entries).ok()?;
    }
    if s.edge(true).is_some_and(|e| e.id > last_id) {
        return None;
    }
    s.last_id = last_id;
    s.first_id = first_id;
    s.max_deleted = max_deleted;
    s.entries_added = entries_added;
    let groups = p.u32()?;
    for _ in 0..groups {
        let name = KStr::from_slice(p.bytes()?);
        let mut g = Group::new(p.id()?, p.u64()? as i64);
        let consumers = p.u32()?;
        for _ in 0..consumers {
            let cname = KStr::from_slice(p.bytes()?);
            let seen_time = p.u64()?;
            g.consumers.insert(
                cname,
                Consumer {
                    seen_time,
                    pel: Default::default(),
                },
            );
        }
        let pending = p.u32()?;
        for _ in 0..pending {
            let id = p.id()?;
            let (time, count) = (p.u64()?, p.u64()?);
            let owner = p.bytes()?;
            if !g.consumers.contains_key(owner) {
                return None;
            }
            g.deliver(id, owner, time, count);
        }
        s.groups.insert(name, g);
    }
    Some(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use kevy_store::Store;

    /// A stream entry's payload, damaged at every byte and cut at every
    /// length, never panics the reader (it is refused or read as some
    /// other well-formed stream).
    #[test]
    fn damaged_stream_entries_never_panic() {
        let store = Store::new(1, 1);
        for cmd in [
            "XADD s 1-1 f v g w",
            "XADD s 1-2 f v2 g w2",
            "XADD s 2-0 other 1",
            "XGROUP CREATE s grp 0",
            "XREADGROUP GROUP grp alice COUNT 2 STREAMS s >",
            "XDEL s 1-2",
        ] {
            let argv: Vec<Bytes> = cmd
                .split(' ')
                .map(|a| Bytes::copy_from_slice(a.as_bytes()))
                .collect();
            store.execute(0, &argv, 1_000);
        }
        let view = &store.snapshot()[0];
        let (_, e) = view.dbs[0].iter().next().expect("the stream");
        let Value::Stream(s) = &e.value else {
            panic!("not a stream")
        };
        let mut payload = Vec::new();
        payload.extend_from_slice(&0u64.to_le_bytes());
        payload.push(TYPE_STREAM);
        put_bytes(&mut payload, b"s");
        put_stream(&mut payload, s);
        let read = |b: &[u8]| {
            let mut c = Cursor { data: b, pos: 0 };
            read_entry(&mut c, SNAP_VERSION).map(|(_, _, v)| matches!(v, SnapValue::Stream(_)))
        };
        assert_eq!(read(&payload), Some(true));
        assert_eq!(read(&payload[..payload.len() - 1]), None);
        let mut c = Cursor {
            data: &payload,
            pos: 0,
        };
        assert!(
            read_entry(&mut c, 1).is_none(),
            "type 2 in a version 1 file"
        );
        for at in 0..payload.len() {
            read(&payload[..at]);
            for bit in [1u8, 0x80, 0xff] {
                let mut b = payload.clone();
                b[at] ^= bit;
                read(&b);
            }
        }
    }
}
