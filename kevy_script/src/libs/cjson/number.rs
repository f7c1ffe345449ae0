//! The two C library number conversions lua-cjson relies on: `printf`'s
//! `%.<precision>g` for encoding, and glibc's `strtod` (decimal and
//! hexadecimal numbers, `inf`, `infinity`, `nan`, `nan(...)`) for decoding.

/// Formats `x` as C's `printf("%.<precision>g", x)` does (`precision` is at
/// least 1): the shorter of fixed and exponential notation, without
/// trailing zeros.
pub(crate) fn format_g(x: f64, precision: usize) -> String {
    let precision = precision.max(1);
    let sign = if x.is_sign_negative() { "-" } else { "" };
    if x.is_nan() {
        return format!("{sign}nan");
    }
    if x.is_infinite() {
        return format!("{sign}inf");
    }
    if x == 0.0 {
        return format!("{sign}0");
    }
    // Rust's `{:e}` rounds exactly (ties to even), as glibc does.
    let sci = format!("{:.*e}", precision - 1, x.abs());
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: Vec<u8> = mantissa.bytes().filter(u8::is_ascii_digit).collect();
    let mut out = String::from(sign);
    if exp < -4 || exp >= precision as i32 {
        out.push(digits[0] as char);
        let frac = trim_zeros(&digits[1..]);
        if !frac.is_empty() {
            out.push('.');
            out.extend(frac.iter().map(|&d| d as char));
        }
        let e_sign = if exp < 0 { '-' } else { '+' };
        out.push_str(&format!("e{e_sign}{:02}", exp.unsigned_abs()));
    } else if exp >= 0 {
        let int_len = exp as usize + 1;
        out.extend(digits[..int_len].iter().map(|&d| d as char));
        let frac = trim_zeros(&digits[int_len..]);
        if !frac.is_empty() {
            out.push('.');
            out.extend(frac.iter().map(|&d| d as char));
        }
    } else {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', (-exp - 1) as usize));
        out.extend(trim_zeros(&digits).iter().map(|&d| d as char));
    }
    out
}

fn trim_zeros(d: &[u8]) -> &[u8] {
    let end = d.iter().rposition(|&c| c != b'0').map_or(0, |i| i + 1);
    &d[..end]
}

/// Parses the longest prefix of `s` that glibc's `strtod` accepts (after
/// any leading whitespace, which the JSON tokenizer never leaves), and
/// returns the value and the number of bytes used; `None` when `strtod`
/// would consume nothing.
pub(crate) fn strtod(s: &[u8]) -> Option<(f64, usize)> {
    let mut i = 0;
    let negative = match s.first() {
        Some(b'-') => {
            i = 1;
            true
        }
        Some(b'+') => {
            i = 1;
            false
        }
        _ => false,
    };
    let signed = |v: f64| if negative { -v } else { v };
    let rest = &s[i..];
    if starts_with_ignore_case(rest, b"inf") {
        let len = if starts_with_ignore_case(rest, b"infinity") {
            8
        } else {
            3
        };
        return Some((signed(f64::INFINITY), i + len));
    }
    if starts_with_ignore_case(rest, b"nan") {
        let mut len = 3;
        if rest.get(3) == Some(&b'(') {
            let inner = rest[4..]
                .iter()
                .take_while(|c| c.is_ascii_alphanumeric() || **c == b'_')
                .count();
            if rest.get(4 + inner) == Some(&b')') {
                len = 4 + inner + 1;
            }
        }
        return Some((signed(f64::NAN), i + len));
    }
    if rest.len() >= 2 && rest[0] == b'0' && (rest[1] | 0x20) == b'x' {
        if let Some((v, len)) = hex(&rest[2..]) {
            return Some((signed(v), i + 2 + len));
        }
    }
    let len = decimal_len(rest)?;
    let text = std::str::from_utf8(&s[..i + len]).ok()?;
    text.parse::<f64>().ok().map(|v| (v, i + len))
}

fn starts_with_ignore_case(s: &[u8], word: &[u8]) -> bool {
    s.len() >= word.len() && s[..word.len()].eq_ignore_ascii_case(word)
}

/// The length of `digits [. digits] [e [sign] digits]` at the start of
/// `s`, with at least one mantissa digit.
fn decimal_len(s: &[u8]) -> Option<usize> {
    let count = |from: usize| s[from..].iter().take_while(|c| c.is_ascii_digit()).count();
    let int = count(0);
    let mut i = int;
    let mut frac = 0;
    if s.get(i) == Some(&b'.') {
        frac = count(i + 1);
        i += 1 + frac;
    }
    if int + frac == 0 {
        return None;
    }
    if matches!(s.get(i), Some(b'e' | b'E')) {
        let mut j = i + 1;
        if matches!(s.get(j), Some(b'+' | b'-')) {
            j += 1;
        }
        let exp = count(j);
        if exp > 0 {
            i = j + exp;
        }
    }
    Some(i)
}

/// A hexadecimal float after its `0x`: `hexdigits [. hexdigits] [p [sign]
/// digits]`, correctly rounded. `None` when no hex digit follows.
fn hex(s: &[u8]) -> Option<(f64, usize)> {
    let mut i = 0;
    let mut mantissa: u64 = 0;
    let mut sticky = false;
    let mut exp2: i64 = 0;
    let mut any = false;
    let mut seen_point = false;
    loop {
        match s.get(i) {
            Some(b'.') if !seen_point => seen_point = true,
            Some(&c) if c.is_ascii_hexdigit() => {
                any = true;
                let d = u64::from((c as char).to_digit(16).unwrap_or(0));
                if mantissa >> 56 == 0 {
                    mantissa = (mantissa << 4) | d;
                    if seen_point {
                        exp2 -= 4;
                    }
                } else {
                    sticky |= d != 0;
                    if !seen_point {
                        exp2 += 4;
                    }
                }
            }
            _ => break,
        }
        i += 1;
    }
    if !any {
        return None;
    }
    if matches!(s.get(i), Some(b'p' | b'P')) {
        let mut j = i + 1;
        let negative = s.get(j) == Some(&b'-');
        if matches!(s.get(j), Some(b'+' | b'-')) {
            j += 1;
        }
        let digits = s[j..].iter().take_while(|c| c.is_ascii_digit()).count();
        if digits > 0 {
            let mut e: i64 = 0;
            for &c in &s[j..j + digits] {
                e = (e * 10 + i64::from(c - b'0')).min(1 << 40);
            }
            exp2 += if negative { -e } else { e };
            i = j + digits;
        }
    }
    Some((compose(mantissa, sticky, exp2), i))
}

/// `mantissa * 2^exp2` rounded to the nearest double (ties to even), where
/// `sticky` says that nonzero bits below the mantissa were dropped.
fn compose(mantissa: u64, sticky: bool, exp2: i64) -> f64 {
    if mantissa == 0 {
        return 0.0;
    }
    let shift = mantissa.leading_zeros();
    let m = mantissa << shift;
    // The value is m * 2^(e - 63) with m's top bit set: its exponent is e.
    let e = exp2 - i64::from(shift) + 63;
    if e > 1023 {
        return f64::INFINITY;
    }
    let bits: i64 = if e >= -1022 { 53 } else { 53 - (-1022 - e) };
    if bits < 0 {
        return 0.0;
    }
    let drop = (64 - bits) as u32;
    let (kept, rest) = if drop >= 64 {
        (0, m)
    } else {
        (m >> drop, m & ((1u64 << drop) - 1))
    };
    let half = 1u64 << (drop - 1);
    let round_up = rest > half || (rest == half && (sticky || kept & 1 == 1));
    let kept = kept + u64::from(round_up);
    // kept * 2^(e - bits + 1), exact now that kept has at most bits+1 bits.
    ldexp(kept as f64, e - bits + 1)
}

fn ldexp(mut x: f64, mut k: i64) -> f64 {
    // Scale in steps that keep intermediate results normal, so only the
    // last step can land on a subnormal, exactly.
    while k > 1000 {
        x *= 2f64.powi(1000);
        k -= 1000;
    }
    if k < -1000 {
        x *= 2f64.powi((k + 1000) as i32);
        k = -1000;
    }
    x * 2f64.powi(k as i32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_g_matches_c_printf() {
        // string.format is Lua's own snprintf("%.<p>g").
        let lua = mlua::Lua::new();
        let values = [
            0.1,
            1.0 / 3.0,
            1e100,
            123456789012345678.0,
            9007199254740992.0,
            1e15,
            1e14,
            12345678901234.5,
            std::f64::consts::PI,
            0.125,
            0.5,
            1.5,
            2.5,
            15.0,
            95.0,
            0.05,
            1e-5,
            1e-4,
            0.00012345,
            5e-324,
            1.7976931348623157e308,
            -2.5e-7,
            100.0,
            123456.0,
            1234567.0,
            999999.5,
            0.000099999,
            2f64.powi(63),
            -0.0,
            0.0,
        ];
        for &x in &values {
            for p in 1..=17 {
                let expected: String = lua
                    .load(format!("return string.format('%.{p}g', ...)"))
                    .call(x)
                    .unwrap();
                assert_eq!(format_g(x, p), expected, "{x} at precision {p}");
            }
        }
        assert_eq!(format_g(f64::INFINITY, 14), "inf");
        assert_eq!(format_g(f64::NEG_INFINITY, 14), "-inf");
    }

    #[test]
    fn strtod_prefixes() {
        let p = |s: &str| strtod(s.as_bytes());
        assert_eq!(p("12abc"), Some((12.0, 2)));
        assert_eq!(p("-1.5e3,"), Some((-1500.0, 6)));
        assert_eq!(p("1e"), Some((1.0, 1)));
        assert_eq!(p("1e+"), Some((1.0, 1)));
        assert_eq!(p("1."), Some((1.0, 2)));
        assert_eq!(p("007"), Some((7.0, 3)));
        assert_eq!(p("+1"), Some((1.0, 2)));
        assert_eq!(p("-"), None);
        assert_eq!(p("-i"), None);
        assert_eq!(p("."), None);
        assert_eq!(p("0x10"), Some((16.0, 4)));
        assert_eq!(p("0x"), Some((0.0, 1)));
        assert_eq!(p("0x1p4"), Some((16.0, 5)));
        assert_eq!(p("0x.8"), Some((0.5, 4)));
        assert_eq!(p("0x1P-1x"), Some((0.5, 6)));
        assert_eq!(p("0x1p"), Some((1.0, 3)));
        assert_eq!(p("-0x10"), Some((-16.0, 5)));
        assert_eq!(p("0x1fffffffffffff"), Some((9007199254740991.0, 16)));
        assert_eq!(p("0x20000000000001"), Some((9007199254740992.0, 16)));
        assert_eq!(p("0x20000000000003"), Some((9007199254740996.0, 16)));
        assert_eq!(
            p("0x200000000000010001"),
            Some((2f64.powi(69) + 2f64.powi(17), 20))
        );
        assert_eq!(p("0x200000000000010000"), Some((2f64.powi(69), 20)));
        assert_eq!(p("0x1p-1074"), Some((5e-324, 9)));
        assert_eq!(p("0x1p-1075"), Some((0.0, 9)));
        assert_eq!(p("0x1.8p-1074"), Some((1e-323, 11)));
        assert_eq!(p("0x1p1024"), Some((f64::INFINITY, 8)));
        assert_eq!(p("1e400"), Some((f64::INFINITY, 5)));
        assert_eq!(p("inf"), Some((f64::INFINITY, 3)));
        assert_eq!(p("-Infinity"), Some((f64::NEG_INFINITY, 9)));
        assert_eq!(p("infinit"), Some((f64::INFINITY, 3)));
        let (nan, len) = p("-nan(123)").unwrap();
        assert!(nan.is_nan() && nan.is_sign_negative() && len == 9);
        let (nan, len) = p("NaN(").unwrap();
        assert!(nan.is_nan() && nan.is_sign_positive() && len == 3);
        assert_eq!(
            p("123456789012345678901"),
            Some((1.2345678901234568e20, 21))
        );
    }
}
