//! Header-line scanning shared by the inline and multibulk parsers, with the
//! semantics of the C calls Redis makes: `strchr` on a NUL-terminated buffer
//! (so a NUL byte hides everything after it) and the strict `string2ll`.

/// Redis's `PROTO_INLINE_MAX_SIZE`: an inline request, a multibulk count line
/// or a bulk length line with no line end within this many buffered bytes is
/// a protocol error.
pub(crate) const INLINE_MAX_SIZE: usize = 64 * 1024;

/// Redis's `LONG_STR_SIZE`: a count line this long or longer is not a number.
const LONG_STR_SIZE: usize = 21;

/// What a header-line search found.
pub(crate) enum Line {
    /// The line ends (at its `\r` or `\n`) at this offset.
    End(usize),
    /// Not yet: no terminator before the end of the buffer or before a NUL.
    /// Holds where the next search should resume.
    Pending(usize),
}

/// Finds `needle` in `buf[from..]` the way C's `strchr` does on Redis's
/// NUL-terminated query buffer: a NUL byte ends the search unsuccessfully.
#[inline]
pub(crate) fn find_line_end(buf: &[u8], from: usize, needle: u8) -> Line {
    let mut i = from;
    while let Some(&b) = buf.get(i) {
        if b == needle {
            return Line::End(i);
        }
        if b == 0 {
            // Parked on the NUL: every later search stops here at once, as
            // Redis's does, until the size limit is reached.
            return Line::Pending(i);
        }
        i += 1;
    }
    Line::Pending(i)
}

/// Redis's `string2ll`: strict decimal, optional `-`, no `+`, no leading
/// zeros, no `-0`, shorter than 21 bytes, within `i64`.
pub(crate) fn string2ll(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() >= LONG_STR_SIZE {
        return None;
    }
    if s == b"0" {
        return Some(0);
    }
    let (negative, digits) = match s.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, s),
    };
    match digits.first() {
        Some(b'1'..=b'9') => {}
        _ => return None,
    }
    let mut v: u64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
    }
    if negative {
        if v > i64::MAX as u64 + 1 {
            return None;
        }
        Some((v as i64).wrapping_neg())
    } else {
        i64::try_from(v).ok()
    }
}

/// The fast path for a count or length line: canonical digits (`0`, or up
/// to 18 digits not starting with `0`) from `at` straight to a `\r`. Any
/// other shape returns `None` and goes through the general path, which
/// reaches the same verdict on these lines, just more slowly.
#[inline]
pub(crate) fn canonical_len(buf: &[u8], at: usize) -> Option<(u64, usize)> {
    let first = buf.get(at)?.wrapping_sub(b'0');
    if first > 9 {
        return None;
    }
    let mut v = u64::from(first);
    let mut i = at + 1;
    loop {
        let b = *buf.get(i)?;
        if b == b'\r' {
            return Some((v, i));
        }
        let d = b.wrapping_sub(b'0');
        if d > 9 || v == 0 || i - at >= 18 {
            return None;
        }
        v = v * 10 + u64::from(d);
        i += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string2ll_is_strict() {
        assert_eq!(string2ll(b"0"), Some(0));
        assert_eq!(string2ll(b"-1"), Some(-1));
        assert_eq!(string2ll(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(string2ll(b"-9223372036854775808"), Some(i64::MIN));
        for bad in [
            &b""[..],
            b"-",
            b"-0",
            b"00",
            b"01",
            b"+1",
            b" 1",
            b"1 ",
            b"9223372036854775808",
            b"-9223372036854775809",
            b"99999999999999999999",
            b"1a",
        ] {
            assert_eq!(string2ll(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn canonical_len_takes_only_plain_digits() {
        assert_eq!(canonical_len(b"$0\r", 1), Some((0, 2)));
        assert_eq!(canonical_len(b"$16\r\n", 1), Some((16, 3)));
        assert_eq!(
            canonical_len(b"999999999999999999\r", 0),
            Some((999_999_999_999_999_999, 18))
        );
        for slow in [
            &b"01\r"[..],
            b"-1\r",
            b"1234567890123456789\r",
            b"1x\r",
            b"12",
            b"",
            b"\r",
        ] {
            assert_eq!(canonical_len(slow, 0), None);
        }
    }
}
