//! RDB's variable-length integers and strings. A length is 6 bits
//! (`00xxxxxx`), 14 bits (`01xxxxxx xxxxxxxx`), or a marker byte followed
//! by 32 (`0x80`) or 64 (`0x81`) big-endian bits. `11xxxxxx` instead
//! marks a specially encoded string: an 8, 16 or 32-bit little-endian
//! integer (`0xc0`..`0xc2`) or an LZF-compressed one (`0xc3`, then the
//! compressed and the original length, then the compressed bytes).

use std::fmt;

/// Why bytes are not a valid RDB encoding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RdbError {
    /// The input ends inside a value.
    Truncated,
    /// A string encoding byte RDB does not define.
    BadEncoding(u8),
    /// An LZF string that does not decompress to its stated length.
    BadLzf,
    /// A length too large for this machine.
    TooLong,
}

impl fmt::Display for RdbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RdbError::Truncated => write!(f, "unexpected end of data"),
            RdbError::BadEncoding(b) => write!(f, "unknown string encoding {b:#04x}"),
            RdbError::BadLzf => write!(f, "invalid LZF-compressed string"),
            RdbError::TooLong => write!(f, "length out of range"),
        }
    }
}

impl std::error::Error for RdbError {}

/// A decoded length: a plain length, or the marker of a special string
/// encoding (its low 6 bits).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Len {
    /// A length or count.
    Plain(u64),
    /// `11xxxxxx`: a specially encoded string follows.
    Encoded(u8),
}

/// Appends `n` in RDB's length encoding.
pub fn write_len(out: &mut Vec<u8>, n: u64) {
    if n < 1 << 6 {
        out.push(n as u8);
    } else if n < 1 << 14 {
        out.push(0x40 | (n >> 8) as u8);
        out.push(n as u8);
    } else if n <= u64::from(u32::MAX) {
        out.push(0x80);
        out.extend_from_slice(&(n as u32).to_be_bytes());
    } else {
        out.push(0x81);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

fn take(b: &[u8], n: usize) -> Result<(&[u8], &[u8]), RdbError> {
    if b.len() < n {
        return Err(RdbError::Truncated);
    }
    Ok(b.split_at(n))
}

/// Reads a length from the front of `b`; returns it and the rest.
pub fn read_len(b: &[u8]) -> Result<(Len, &[u8]), RdbError> {
    let (&first, rest) = b.split_first().ok_or(RdbError::Truncated)?;
    match first >> 6 {
        0 => Ok((Len::Plain(u64::from(first & 0x3f)), rest)),
        1 => {
            let (lo, rest) = take(rest, 1)?;
            Ok((
                Len::Plain((u64::from(first & 0x3f) << 8) | u64::from(lo[0])),
                rest,
            ))
        }
        3 => Ok((Len::Encoded(first & 0x3f), rest)),
        _ => match first {
            0x80 => {
                let (v, rest) = take(rest, 4)?;
                let n = u32::from_be_bytes([v[0], v[1], v[2], v[3]]);
                Ok((Len::Plain(u64::from(n)), rest))
            }
            0x81 => {
                let (v, rest) = take(rest, 8)?;
                let mut a = [0u8; 8];
                a.copy_from_slice(v);
                Ok((Len::Plain(u64::from_be_bytes(a)), rest))
            }
            other => Err(RdbError::BadEncoding(other)),
        },
    }
}

fn plain_len(b: &[u8]) -> Result<(usize, &[u8]), RdbError> {
    match read_len(b)? {
        (Len::Plain(n), rest) => Ok((usize::try_from(n).map_err(|_| RdbError::TooLong)?, rest)),
        (Len::Encoded(e), _) => Err(RdbError::BadEncoding(0xc0 | e)),
    }
}

/// Appends `s` as an RDB string (plain: length then bytes; kevy never
/// compresses on write).
pub fn write_string(out: &mut Vec<u8>, s: &[u8]) {
    write_len(out, s.len() as u64);
    out.extend_from_slice(s);
}

/// Reads an RDB string in any of its encodings; returns its bytes and the
/// rest of `b`.
pub fn read_string(b: &[u8]) -> Result<(Vec<u8>, &[u8]), RdbError> {
    match read_len(b)? {
        (Len::Plain(n), rest) => {
            let n = usize::try_from(n).map_err(|_| RdbError::TooLong)?;
            let (s, rest) = take(rest, n)?;
            Ok((s.to_vec(), rest))
        }
        (Len::Encoded(0), rest) => {
            let (v, rest) = take(rest, 1)?;
            Ok(((v[0] as i8).to_string().into_bytes(), rest))
        }
        (Len::Encoded(1), rest) => {
            let (v, rest) = take(rest, 2)?;
            Ok((
                i16::from_le_bytes([v[0], v[1]]).to_string().into_bytes(),
                rest,
            ))
        }
        (Len::Encoded(2), rest) => {
            let (v, rest) = take(rest, 4)?;
            let n = i32::from_le_bytes([v[0], v[1], v[2], v[3]]);
            Ok((n.to_string().into_bytes(), rest))
        }
        (Len::Encoded(3), rest) => {
            let (clen, rest) = plain_len(rest)?;
            let (len, rest) = plain_len(rest)?;
            let (comp, rest) = take(rest, clen)?;
            let s = lzf::decompress(comp, len).map_err(|_| RdbError::BadLzf)?;
            if s.len() != len {
                return Err(RdbError::BadLzf);
            }
            Ok((s, rest))
        }
        (Len::Encoded(e), _) => Err(RdbError::BadEncoding(0xc0 | e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_round_trip_in_each_width() {
        for n in [
            0u64,
            63,
            64,
            16383,
            16384,
            u64::from(u32::MAX),
            u64::from(u32::MAX) + 1,
        ] {
            let mut out = Vec::new();
            write_len(&mut out, n);
            assert_eq!(read_len(&out), Ok((Len::Plain(n), &b""[..])), "{n}");
        }
        let mut out = Vec::new();
        write_len(&mut out, 66);
        assert_eq!(out, b"@B");
    }

    #[test]
    fn special_strings_decode() {
        assert_eq!(read_string(&[0xc0, 0xfe]).unwrap().0, b"-2");
        assert_eq!(read_string(&[0xc1, 0x39, 0x30]).unwrap().0, b"12345");
        assert_eq!(
            read_string(&[0xc2, 0x15, 0xcd, 0x5b, 0x07]).unwrap().0,
            b"123456789"
        );
        let text = b"abcabcabcabcabcabcabcabcabcabcabcabc";
        let comp = lzf::compress(text).unwrap();
        let mut enc = vec![0xc3];
        write_len(&mut enc, comp.len() as u64);
        write_len(&mut enc, text.len() as u64);
        enc.extend_from_slice(&comp);
        assert_eq!(read_string(&enc).unwrap().0, text);
        assert_eq!(read_string(&[0x05, b'a']), Err(RdbError::Truncated));
        assert_eq!(read_string(&[0xc4]), Err(RdbError::BadEncoding(0xc4)));
    }
}
