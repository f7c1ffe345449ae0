//! AOF frames: RESP multibulk commands (`*N\r\n$len\r\narg\r\n...`), the
//! `KEVYAOF1\n` magic, the checksum frames kevy appends after each write,
//! and [`scan_aof`], which walks a file and classifies how it ends.
//! Layouts are specified in `docs/persistence.md`.

use std::ops::Range;

/// The first bytes of every AOF file kevy creates.
pub const AOF_MAGIC: &[u8] = b"KEVYAOF1\n";
/// The command name of a checksum frame: `*2\r\n$7\r\nKEVYCRC\r\n$8\r\n<hex>\r\n`,
/// where `<hex>` is the CRC32C of the bytes since the previous checksum
/// frame (or since the magic). Never executed.
pub const CRC_NAME: &[u8] = b"KEVYCRC";
/// How every checksum frame starts.
const CRC_FRAME_START: &[u8] = b"*2\r\n$7\r\nKEVYCRC\r\n";
/// Longest argument accepted (Redis's proto-max-bulk-len default).
const MAX_BULK: usize = 512 << 20;
/// Most arguments in one frame.
const MAX_ARGS: usize = 1 << 24;

/// Appends `argv` as one RESP multibulk frame.
pub fn encode(argv: &[&[u8]], out: &mut Vec<u8>) {
    out.push(b'*');
    push_int(out, argv.len());
    for a in argv {
        out.push(b'$');
        push_int(out, a.len());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
}

/// Appends a checksum frame for `crc`.
pub fn encode_crc(crc: u32, out: &mut Vec<u8>) {
    let hex = format!("{crc:08x}");
    encode(&[CRC_NAME, hex.as_bytes()], out);
}

fn push_int(out: &mut Vec<u8>, n: usize) {
    let mut tmp = [0u8; 20];
    let mut i = tmp.len();
    let mut n = n;
    loop {
        i -= 1;
        tmp[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&tmp[i..]);
    out.extend_from_slice(b"\r\n");
}

/// The outcome of parsing one frame.
#[derive(Debug, PartialEq)]
pub enum Parsed {
    /// A whole frame of `len` bytes; argument ranges relative to the input.
    Frame {
        /// Argument byte ranges.
        args: Vec<Range<usize>>,
        /// Frame length.
        len: usize,
    },
    /// The input ends inside the frame.
    Incomplete,
    /// The bytes are not a RESP multibulk frame; `at` is relative to the input.
    Invalid {
        /// Offset of the offending byte.
        at: usize,
        /// What was wrong.
        reason: &'static str,
    },
}

/// Parses the line-terminated decimal at `buf[*pos..]` after a `prefix` byte.
fn number(
    buf: &[u8],
    pos: &mut usize,
    prefix: u8,
    max: usize,
) -> Result<Option<usize>, (usize, &'static str)> {
    let start = *pos;
    match buf.get(start) {
        None => return Ok(None),
        Some(&c) if c == prefix => {}
        Some(_) => {
            return Err((
                start,
                if prefix == b'*' {
                    "expected '*'"
                } else {
                    "expected '$'"
                },
            ))
        }
    }
    let mut i = start + 1;
    let mut n: usize = 0;
    let mut digits = 0;
    loop {
        match buf.get(i) {
            None => return Ok(None),
            Some(c @ b'0'..=b'9') => {
                n = n.saturating_mul(10).saturating_add((c - b'0') as usize);
                digits += 1;
                if n > max {
                    return Err((start, "length out of range"));
                }
            }
            Some(b'\r') => break,
            Some(_) => return Err((i, "expected a digit")),
        }
        i += 1;
    }
    if digits == 0 {
        return Err((i, "expected a digit"));
    }
    match buf.get(i + 1) {
        None => return Ok(None),
        Some(b'\n') => {}
        Some(_) => return Err((i + 1, "expected LF")),
    }
    *pos = i + 2;
    Ok(Some(n))
}

/// Parses one frame at the start of `buf`.
pub fn parse_frame(buf: &[u8]) -> Parsed {
    let mut pos = 0;
    let n = match number(buf, &mut pos, b'*', MAX_ARGS) {
        Ok(Some(0)) => {
            return Parsed::Invalid {
                at: 0,
                reason: "empty multibulk",
            }
        }
        Ok(Some(n)) => n,
        Ok(None) => return Parsed::Incomplete,
        Err((at, reason)) => return Parsed::Invalid { at, reason },
    };
    let mut args = Vec::with_capacity(n.min(1024));
    for _ in 0..n {
        let len = match number(buf, &mut pos, b'$', MAX_BULK) {
            Ok(Some(l)) => l,
            Ok(None) => return Parsed::Incomplete,
            Err((at, reason)) => return Parsed::Invalid { at, reason },
        };
        let end = pos + len;
        if buf.len() < end + 2 {
            return Parsed::Incomplete;
        }
        if &buf[end..end + 2] != b"\r\n" {
            return Parsed::Invalid {
                at: end,
                reason: "expected CRLF after a bulk string",
            };
        }
        args.push(pos..end);
        pos = end + 2;
    }
    Parsed::Frame { args, len: pos }
}

/// How an AOF file ends.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Tail {
    /// Every byte belongs to a whole frame.
    Clean,
    /// The last frame is incomplete (a write torn by a crash), or the file
    /// ends in zero bytes (blocks allocated but never written): `len` bytes
    /// from `offset` are not part of the log.
    Torn {
        /// Where the torn bytes start.
        offset: u64,
        /// How many bytes.
        len: u64,
    },
    /// Damage before the tail: a byte that cannot start or continue a
    /// frame, or a checksum frame that does not match.
    Corrupt {
        /// Where the valid prefix ends.
        offset: u64,
        /// What was found.
        reason: String,
    },
}

/// The result of [`scan_aof`].
#[derive(Debug, Clone, PartialEq)]
pub struct Scan {
    /// The file began with [`AOF_MAGIC`] (else it is a bare RESP file).
    pub kevy: bool,
    /// Command frames delivered (checksum frames not counted).
    pub commands: u64,
    /// Bytes of the valid prefix (everything delivered, plus verified
    /// checksum frames).
    pub valid_len: u64,
    /// How the file ends.
    pub tail: Tail,
}

/// Walks an AOF image, calling `on_cmd(offset, args)` for each command frame
/// in order. In a kevy file, the frames of a write group are delivered only
/// once the group's checksum frame verifies; a final group without one is
/// part of the torn tail. A file that is
/// neither kevy's (magic) nor RESP (`*`) is `Corrupt` at offset 0. Stops
/// early if `on_cmd` returns an error, which is passed through.
pub fn scan_aof<E>(
    data: &[u8],
    mut on_cmd: impl FnMut(u64, &[Range<usize>]) -> Result<(), E>,
) -> Result<Scan, E> {
    let kevy = data.starts_with(AOF_MAGIC);
    let mut pos = if kevy { AOF_MAGIC.len() } else { 0 };
    let mut scan = Scan {
        kevy,
        commands: 0,
        valid_len: pos as u64,
        tail: Tail::Clean,
    };
    if !kevy && !data.is_empty() && data[0] != b'*' {
        let reason = if AOF_MAGIC.starts_with(&data[..data.len().min(AOF_MAGIC.len())]) {
            scan.tail = Tail::Torn {
                offset: 0,
                len: data.len() as u64,
            };
            return Ok(scan);
        } else {
            "not an AOF: no KEVYAOF1 magic and not RESP".to_string()
        };
        scan.tail = Tail::Corrupt { offset: 0, reason };
        return Ok(scan);
    }
    // Frames of the current (unverified) write group: (offset, args).
    let mut group: Vec<(u64, Vec<Range<usize>>)> = Vec::new();
    let mut group_start = pos;
    while pos < data.len() {
        match parse_frame(&data[pos..]) {
            Parsed::Frame { args, len } => {
                let abs: Vec<Range<usize>> =
                    args.iter().map(|r| r.start + pos..r.end + pos).collect();
                let is_crc = kevy && abs.len() == 2 && data[abs[0].clone()] == *CRC_NAME;
                if is_crc {
                    let want = std::str::from_utf8(&data[abs[1].clone()])
                        .ok()
                        .and_then(|s| u32::from_str_radix(s, 16).ok());
                    let got = crc32c::crc32c(&data[group_start..pos]);
                    if want != Some(got) {
                        scan.tail = Tail::Corrupt {
                            offset: group_start as u64,
                            reason: format!("checksum mismatch for the frames from offset {group_start} to {pos}"),
                        };
                        return Ok(scan);
                    }
                    for (off, a) in group.drain(..) {
                        on_cmd(off, &a)?;
                        scan.commands += 1;
                    }
                    pos += len;
                    group_start = pos;
                    scan.valid_len = pos as u64;
                } else if kevy {
                    group.push((pos as u64, abs));
                    pos += len;
                } else {
                    on_cmd(pos as u64, &abs)?;
                    scan.commands += 1;
                    pos += len;
                    scan.valid_len = pos as u64;
                }
            }
            Parsed::Incomplete => {
                // A torn write only ever damages the last write group: if a
                // checksum frame follows, this is damage, not a tear.
                if kevy && contains(&data[pos + 1..], CRC_FRAME_START) {
                    scan.tail = Tail::Corrupt {
                        offset: group_start as u64,
                        reason: format!(
                            "a frame at offset {pos} runs past later frames (damaged length)"
                        ),
                    };
                    return Ok(scan);
                }
                scan.tail = Tail::Torn {
                    offset: pos as u64,
                    len: (data.len() - pos) as u64,
                };
                break;
            }
            Parsed::Invalid { at, reason } => {
                if data[pos..].iter().all(|&b| b == 0) {
                    scan.tail = Tail::Torn {
                        offset: pos as u64,
                        len: (data.len() - pos) as u64,
                    };
                } else {
                    scan.tail = Tail::Corrupt {
                        offset: pos as u64,
                        reason: format!("{reason} at offset {}", pos + at),
                    };
                    // A damaged group is not delivered.
                    if kevy {
                        if let Tail::Corrupt { offset, .. } = &mut scan.tail {
                            *offset = group_start as u64;
                        }
                        return Ok(scan);
                    }
                }
                break;
            }
        }
    }
    // A final group without its checksum frame was torn: the group and its
    // checksum go out in one write, so the write did not complete, and no
    // reply under `appendfsync always` depended on it. Its frames, whole or
    // not, are the torn tail: nothing unverified is replayed.
    if kevy && !group.is_empty() {
        scan.tail = Tail::Torn {
            offset: group_start as u64,
            len: (data.len() - group_start) as u64,
        };
    }
    Ok(scan)
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_parse_round_trip() {
        let mut b = Vec::new();
        encode(&[b"SET", b"k", b""], &mut b);
        assert_eq!(b, b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n");
        match parse_frame(&b) {
            Parsed::Frame { args, len } => {
                assert_eq!(len, b.len());
                assert_eq!(args, vec![8..11, 17..18, 24..24]);
            }
            other => panic!("{other:?}"),
        }
        for cut in 0..b.len() {
            assert_eq!(parse_frame(&b[..cut]), Parsed::Incomplete, "cut {cut}");
        }
    }

    #[test]
    fn invalid_frames() {
        assert!(matches!(
            parse_frame(b"+OK\r\n"),
            Parsed::Invalid { at: 0, .. }
        ));
        assert!(matches!(
            parse_frame(b"*1\r\n$3\r\nabcX\n"),
            Parsed::Invalid { at: 11, .. }
        ));
        assert!(matches!(parse_frame(b"*0\r\n"), Parsed::Invalid { .. }));
        assert!(matches!(
            parse_frame(b"*1\r\n$99999999999\r\n"),
            Parsed::Invalid { .. }
        ));
    }

    fn kevy_file(groups: &[&[&[&[u8]]]]) -> Vec<u8> {
        let mut f = AOF_MAGIC.to_vec();
        for g in groups {
            let mut b = Vec::new();
            for c in *g {
                encode(c, &mut b);
            }
            let crc = crc32c::crc32c(&b);
            f.extend_from_slice(&b);
            encode_crc(crc, &mut f);
        }
        f
    }

    fn count(data: &[u8]) -> Scan {
        scan_aof(data, |_, _| Ok::<(), ()>(())).unwrap()
    }

    #[test]
    fn scan_clean_torn_corrupt() {
        let f = kevy_file(&[
            &[&[b"SET", b"a", b"1"]],
            &[&[b"SET", b"b", b"2"], &[b"DEL", b"a"]],
        ]);
        let s = count(&f);
        assert_eq!((s.kevy, s.commands, s.tail.clone()), (true, 3, Tail::Clean));
        assert_eq!(s.valid_len, f.len() as u64);
        // Every cut is a tear, never damage.
        for cut in 0..f.len() {
            let s = count(&f[..cut]);
            assert!(
                matches!(s.tail, Tail::Torn { .. } | Tail::Clean),
                "cut {cut}: {:?}",
                s.tail
            );
        }
        // A zero-filled tail is a tear.
        let mut z = f.clone();
        z.extend_from_slice(&[0u8; 100]);
        assert_eq!(
            count(&z).tail,
            Tail::Torn {
                offset: f.len() as u64,
                len: 100
            }
        );
        // Foreign bytes.
        assert!(matches!(
            count(b"hello world").tail,
            Tail::Corrupt { offset: 0, .. }
        ));
        // A flipped payload byte fails the group's checksum.
        let mut x = f.clone();
        let at = f.len() - 40;
        x[at] ^= 0x20;
        assert!(
            matches!(count(&x).tail, Tail::Corrupt { .. }),
            "{:?}",
            count(&x).tail
        );
    }

    #[test]
    fn bare_resp_replays() {
        let mut f = Vec::new();
        encode(&[b"SELECT", b"1"], &mut f);
        encode(&[b"SET", b"a", b"1"], &mut f);
        let s = count(&f);
        assert_eq!((s.kevy, s.commands, s.tail), (false, 2, Tail::Clean));
    }
}
