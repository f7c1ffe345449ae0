//! Doubles as Redis 7.0 writes them in replies: C's `printf("%.17g")`.
//! Rust has no `%g`, so the 17 correctly rounded significant digits come from
//! `{:.16e}` (exact and round-half-even, like glibc) and the C rules then pick
//! the fixed or the exponent form and strip trailing zeros. Infinities are
//! `inf`/`-inf` and NaN is `nan` (`-nan` with the sign bit set, as glibc
//! prints it). Seventeen significant digits always read back to the same
//! double.

use std::fmt::Write as _;

/// `%.17g`'s precision.
const PRECISION: i32 = 17;

/// A fixed-size stack buffer that `write!` can fill without allocating.
struct StackBuf {
    buf: [u8; 40],
    len: usize,
}

impl std::fmt::Write for StackBuf {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let end = self.len + s.len();
        let dst = self.buf.get_mut(self.len..end).ok_or(std::fmt::Error)?;
        dst.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// Appends `%.17g` of `v` to `out`.
pub fn write_double(out: &mut Vec<u8>, v: f64) {
    if v.is_nan() {
        out.extend_from_slice(if v.is_sign_negative() {
            b"-nan"
        } else {
            b"nan"
        });
        return;
    }
    if v.is_sign_negative() {
        out.push(b'-');
    }
    let a = v.abs();
    if a.is_infinite() {
        out.extend_from_slice(b"inf");
        return;
    }
    if a < 1e17 && a.fract() == 0.0 {
        // Integral and at most 17 digits: `%.17g` prints it exactly, in
        // fixed form. Scores are often whole numbers; skip the slow path.
        crate::encode::write_u64(out, a as u64);
        return;
    }
    // `d.dddddddddddddddde[-]x`: 17 digits and the decimal exponent.
    let mut sci = StackBuf {
        buf: [0; 40],
        len: 0,
    };
    if write!(sci, "{a:.16e}").is_err() {
        // Cannot happen (the longest form is 23 bytes); stay panic-free.
        out.push(b'0');
        return;
    }
    let text = &sci.buf[..sci.len];
    let Some(e_at) = text.iter().position(|&b| b == b'e') else {
        out.push(b'0');
        return;
    };
    let mut digits = [b'0'; PRECISION as usize];
    let mut n = 0;
    for &b in &text[..e_at] {
        if b.is_ascii_digit() && n < digits.len() {
            digits[n] = b;
            n += 1;
        }
    }
    let exp = parse_exponent(&text[e_at + 1..]);
    // Trailing zeros go: `%g` without `#` never shows them.
    let mut sig = digits.len();
    while sig > 1 && digits[sig - 1] == b'0' {
        sig -= 1;
    }
    let digits = &digits[..sig];
    if (-4..PRECISION).contains(&exp) {
        if exp >= 0 {
            let int_len = exp as usize + 1;
            if digits.len() <= int_len {
                out.extend_from_slice(digits);
                out.resize(out.len() + int_len - digits.len(), b'0');
            } else {
                out.extend_from_slice(&digits[..int_len]);
                out.push(b'.');
                out.extend_from_slice(&digits[int_len..]);
            }
        } else {
            out.extend_from_slice(b"0.");
            out.resize(out.len() + (-exp - 1) as usize, b'0');
            out.extend_from_slice(digits);
        }
    } else {
        out.push(digits[0]);
        if digits.len() > 1 {
            out.push(b'.');
            out.extend_from_slice(&digits[1..]);
        }
        out.push(b'e');
        out.push(if exp < 0 { b'-' } else { b'+' });
        let e = exp.unsigned_abs();
        if e < 10 {
            out.push(b'0');
        }
        crate::encode::write_u64(out, u64::from(e));
    }
}

/// The exponent Rust's `{:e}` writes: optional `-`, then digits.
fn parse_exponent(s: &[u8]) -> i32 {
    let (neg, digits) = match s.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, s),
    };
    let mut e: i32 = 0;
    for &d in digits {
        e = e
            .saturating_mul(10)
            .saturating_add(i32::from(d.wrapping_sub(b'0')));
    }
    if neg {
        -e
    } else {
        e
    }
}

/// `%.17g` of `v` as a string: `1.1` → `1.1000000000000001`, `3` → `3`,
/// `1e21` → `1e+21`, infinity → `inf`.
pub fn format_double(v: f64) -> String {
    let mut out = Vec::with_capacity(24);
    write_double(&mut out, v);
    // Only ASCII digits, signs, '.', 'e', "inf" and "nan" are written.
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Expected strings produced by glibc's `printf("%.17g")`. The tie
    /// literals are exact binary values, written out in full on purpose.
    #[allow(clippy::excessive_precision)]
    const CASES: &[(f64, &str)] = &[
        (0.0, "0"),
        (-0.0, "-0"),
        (1.0, "1"),
        (3.0, "3"),
        (-1.5, "-1.5"),
        (2.5, "2.5"),
        (0.5, "0.5"),
        (100.0, "100"),
        (1.1, "1.1000000000000001"),
        (0.1, "0.10000000000000001"),
        (1e21, "1e+21"),
        (1e22, "1e+22"),
        (1e23, "9.9999999999999992e+22"),
        (1e-5, "1.0000000000000001e-05"),
        (1e-4, "0.0001"),
        (0.00001234, "1.234e-05"),
        (-123.456, "-123.456"),
        (123456789012345678.0, "1.2345678901234568e+17"),
        (12345678901234567.0, "12345678901234568"),
        (9007199254740993.0, "9007199254740992"),
        (1e15, "1000000000000000"),
        (1e16, "10000000000000000"),
        (1e17, "1e+17"),
        (1e100, "1e+100"),
        (1.5e300, "1.5000000000000001e+300"),
        (1.7976931348623157e308, "1.7976931348623157e+308"),
        (5e-324, "4.9406564584124654e-324"),
        (2.2250738585072014e-308, "2.2250738585072014e-308"),
        (2.225073858507201e-308, "2.2250738585072009e-308"),
        // Exact ties at the 18th digit round half to even, as glibc does.
        (0.100002288818359375, "0.10000228881835938"),
        (0.100009918212890625, "0.10000991821289062"),
        (f64::INFINITY, "inf"),
        (f64::NEG_INFINITY, "-inf"),
        (f64::NAN, "nan"),
        (-f64::NAN, "-nan"),
    ];

    #[test]
    fn matches_glibc() {
        for &(v, want) in CASES {
            assert_eq!(format_double(v), want, "value {v:e}");
        }
    }

    /// Random bit patterns checked against glibc (generated with a small C
    /// program printing `0x%016llx %.17g`).
    #[test]
    fn random_bits_match_glibc() {
        for line in include_str!("../tests/data/doubles.txt").lines() {
            let Some((bits, want)) = line.split_once(' ') else {
                continue;
            };
            let Ok(bits) = u64::from_str_radix(bits.trim_start_matches("0x"), 16) else {
                continue;
            };
            assert_eq!(format_double(f64::from_bits(bits)), want, "bits {bits:#x}");
        }
    }

    #[test]
    fn reads_back_exactly() {
        for &(v, _) in CASES {
            if v.is_nan() {
                continue;
            }
            let back: f64 = format_double(v).parse().unwrap_or(f64::NAN);
            assert_eq!(back.to_bits(), v.to_bits());
        }
    }
}
