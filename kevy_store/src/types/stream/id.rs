//! `StreamId`: a stream entry's 128-bit ID (milliseconds, sequence), and
//! the parser Redis 7.0 applies to ID arguments, quirks included: each
//! half is read by `string2ull` (a strict integer, else `strtoull`, which
//! takes leading blanks, a sign, leading zeros), the argument stops at its
//! first NUL byte as a C string would, and more than 127 bytes is invalid.

use std::fmt;

/// A stream entry ID, ordered as Redis orders them (by `ms`, then `seq`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StreamId {
    /// Milliseconds part.
    pub ms: u64,
    /// Sequence part.
    pub seq: u64,
}

impl StreamId {
    /// `0-0`.
    pub const MIN: StreamId = StreamId { ms: 0, seq: 0 };
    /// `18446744073709551615-18446744073709551615`.
    pub const MAX: StreamId = StreamId {
        ms: u64::MAX,
        seq: u64::MAX,
    };

    /// An ID from its two halves.
    pub const fn new(ms: u64, seq: u64) -> StreamId {
        StreamId { ms, seq }
    }

    /// True for `0-0`.
    pub fn is_zero(&self) -> bool {
        *self == StreamId::MIN
    }

    /// The next ID, or None past the last one (Redis's `streamIncrID`).
    pub fn incr(&self) -> Option<StreamId> {
        if self.seq == u64::MAX {
            if self.ms == u64::MAX {
                return None;
            }
            return Some(StreamId::new(self.ms + 1, 0));
        }
        Some(StreamId::new(self.ms, self.seq + 1))
    }

    /// The previous ID, or None before `0-0` (Redis's `streamDecrID`).
    pub fn decr(&self) -> Option<StreamId> {
        if self.seq == 0 {
            if self.ms == 0 {
                return None;
            }
            return Some(StreamId::new(self.ms - 1, u64::MAX));
        }
        Some(StreamId::new(self.ms, self.seq - 1))
    }

    /// `ms-seq` as bytes (what replies and logs carry).
    pub fn to_bytes(&self) -> bytes::Bytes {
        bytes::Bytes::from(self.to_string())
    }

    /// The ID as Redis's rax keys it: 128 bits, big-endian.
    pub fn be_bytes(&self) -> [u8; 16] {
        let mut k = [0u8; 16];
        k[..8].copy_from_slice(&self.ms.to_be_bytes());
        k[8..].copy_from_slice(&self.seq.to_be_bytes());
        k
    }
}

impl fmt::Display for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.ms, self.seq)
    }
}

/// What an ID argument said: an ID, or `ms-*` (XADD: the sequence is to be
/// generated).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ParsedId {
    /// The ID (`seq` 0 for `ms-*`).
    pub id: StreamId,
    /// False for `ms-*`.
    pub seq_given: bool,
}

/// Parses an ID argument as Redis's `streamGenericParseIDOrReply`: `-` and
/// `+` (unless `strict`) are the smallest and largest IDs, `<ms>` alone
/// takes `missing_seq`, `<ms>-*` is accepted only when `allow_auto_seq`.
/// None: "Invalid stream ID specified as stream command argument".
pub fn parse_id(
    arg: &[u8],
    missing_seq: u64,
    strict: bool,
    allow_auto_seq: bool,
) -> Option<ParsedId> {
    if arg.len() > 127 {
        return None;
    }
    // The argument is read as a C string: it ends at its first NUL.
    let s = match arg.iter().position(|&b| b == 0) {
        Some(n) => &arg[..n],
        None => arg,
    };
    let given = |id| {
        Some(ParsedId {
            id,
            seq_given: true,
        })
    };
    match s {
        b"-" if !strict => return given(StreamId::MIN),
        b"+" if !strict => return given(StreamId::MAX),
        b"-" | b"+" => return None,
        _ => {}
    }
    match s.iter().position(|&b| b == b'-') {
        None => given(StreamId::new(string2ull(s)?, missing_seq)),
        Some(dash) => {
            let ms = string2ull(&s[..dash])?;
            let rest = &s[dash + 1..];
            if allow_auto_seq && rest == b"*" {
                return Some(ParsedId {
                    id: StreamId::new(ms, 0),
                    seq_given: false,
                });
            }
            given(StreamId::new(ms, string2ull(rest)?))
        }
    }
}

/// Redis's `string2ull`: a strict signed 64-bit integer (rejected if
/// negative), else what `strtoull` accepts in full.
fn string2ull(s: &[u8]) -> Option<u64> {
    if let Some(v) = crate::num::parse_i64(s) {
        return u64::try_from(v).ok();
    }
    strtoull(s)
}

/// C's `strtoull(s, &end, 10)` with the whole string consumed: leading
/// white space, an optional sign (a `-` negates modulo 2^64), at least one
/// digit, no overflow.
fn strtoull(s: &[u8]) -> Option<u64> {
    let mut i = 0;
    while i < s.len() && matches!(s[i], b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r') {
        i += 1;
    }
    let mut neg = false;
    if i < s.len() && (s[i] == b'+' || s[i] == b'-') {
        neg = s[i] == b'-';
        i += 1;
    }
    let digits = &s[i..];
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut v: u64 = 0;
    for d in digits {
        v = v.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
    }
    Some(if neg { v.wrapping_neg() } else { v })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Option<(u64, u64)> {
        parse_id(s.as_bytes(), 0, false, false).map(|p| (p.id.ms, p.id.seq))
    }

    #[test]
    fn parses_like_redis() {
        assert_eq!(p("1-2"), Some((1, 2)));
        assert_eq!(p("5"), Some((5, 0)));
        assert_eq!(p("-"), Some((0, 0)));
        assert_eq!(p("+"), Some((u64::MAX, u64::MAX)));
        assert_eq!(p(" 100"), Some((100, 0)));
        assert_eq!(p("+1-2"), Some((1, 2)));
        assert_eq!(p("01-02"), Some((1, 2)));
        assert_eq!(p("1- 5"), Some((1, 5)));
        assert_eq!(p("1- -5"), Some((1, 0u64.wrapping_sub(5))));
        assert_eq!(p("1--5"), None);
        assert_eq!(p("-100"), None);
        assert_eq!(p("1-2-3"), None);
        assert_eq!(p("100-"), None);
        assert_eq!(p("100-0x1"), None);
        assert_eq!(p("18446744073709551616"), None);
        assert_eq!(
            p("18446744073709551615-18446744073709551615"),
            Some((u64::MAX, u64::MAX))
        );
        assert_eq!(p("5\0junk"), Some((5, 0)));
        assert_eq!(p(""), None);
        assert_eq!(parse_id(b"-", 0, true, false), None);
        let auto = parse_id(b"7-*", 0, true, true).map(|p| (p.id, p.seq_given));
        assert_eq!(auto, Some((StreamId::new(7, 0), false)));
        assert_eq!(parse_id(b"7-*", 0, true, false), None);
        assert_eq!(
            parse_id(b"7", u64::MAX, false, false).map(|p| p.id),
            Some(StreamId::new(7, u64::MAX))
        );
    }

    #[test]
    fn incr_decr() {
        assert_eq!(StreamId::new(1, u64::MAX).incr(), Some(StreamId::new(2, 0)));
        assert_eq!(StreamId::MAX.incr(), None);
        assert_eq!(StreamId::new(2, 0).decr(), Some(StreamId::new(1, u64::MAX)));
        assert_eq!(StreamId::MIN.decr(), None);
    }
}
