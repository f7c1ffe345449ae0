//! C's `strtod` (glibc, "C" locale) for the score, range and timeout
//! parsers: decimal and hex floats, `inf`/`infinity`/`nan`, leading spaces
//! skipped, and whether the conversion set `ERANGE`.

/// What C's `strtod` returns: the value, how many bytes it consumed (0 when
/// nothing converted) and whether it set `ERANGE`.
pub(crate) struct Strtod {
    pub value: f64,
    pub end: usize,
    pub erange: bool,
}

pub(crate) fn is_c_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r')
}

fn starts_with_ci(s: &[u8], p: &[u8]) -> bool {
    s.len() >= p.len() && s[..p.len()].eq_ignore_ascii_case(p)
}

/// C's `strtod` on `s` (glibc semantics, "C" locale).
pub(crate) fn strtod(s: &[u8]) -> Strtod {
    let none = Strtod {
        value: 0.0,
        end: 0,
        erange: false,
    };
    let mut i = 0;
    while i < s.len() && is_c_space(s[i]) {
        i += 1;
    }
    let neg = matches!(s.get(i), Some(b'-'));
    if matches!(s.get(i), Some(b'-' | b'+')) {
        i += 1;
    }
    let sign = |v: f64| if neg { -v } else { v };
    let rest = &s[i..];
    if starts_with_ci(rest, b"inf") {
        let n = if starts_with_ci(rest, b"infinity") {
            8
        } else {
            3
        };
        return Strtod {
            value: sign(f64::INFINITY),
            end: i + n,
            erange: false,
        };
    }
    if starts_with_ci(rest, b"nan") {
        let mut n = 3;
        if rest.get(3) == Some(&b'(') {
            if let Some(close) = rest[4..]
                .iter()
                .position(|&c| !(c.is_ascii_alphanumeric() || c == b'_'))
            {
                if rest[4 + close] == b')' {
                    n = 4 + close + 1;
                }
            }
        }
        return Strtod {
            value: f64::NAN,
            end: i + n,
            erange: false,
        };
    }
    if starts_with_ci(rest, b"0x") {
        if let Some((v, n, erange)) = hex(&rest[2..]) {
            return Strtod {
                value: sign(v),
                end: i + 2 + n,
                erange,
            };
        }
        // "0x" without hex digits converts just the "0".
        return Strtod {
            value: sign(0.0),
            end: i + 1,
            erange: false,
        };
    }
    // Decimal: digits [. digits] [e [sign] digits].
    let mut j = 0;
    let mut digits = 0;
    let mut nonzero = false;
    while j < rest.len() && rest[j].is_ascii_digit() {
        nonzero |= rest[j] != b'0';
        j += 1;
        digits += 1;
    }
    if rest.get(j) == Some(&b'.') {
        j += 1;
        while j < rest.len() && rest[j].is_ascii_digit() {
            nonzero |= rest[j] != b'0';
            j += 1;
            digits += 1;
        }
    }
    if digits == 0 {
        return none;
    }
    if matches!(rest.get(j), Some(b'e' | b'E')) {
        let mut k = j + 1;
        if matches!(rest.get(k), Some(b'-' | b'+')) {
            k += 1;
        }
        if rest.get(k).is_some_and(|c| c.is_ascii_digit()) {
            while k < rest.len() && rest[k].is_ascii_digit() {
                k += 1;
            }
            j = k;
        }
    }
    let text = std::str::from_utf8(&rest[..j]).unwrap_or("0");
    let v: f64 = text.parse().unwrap_or(0.0);
    let erange = v.is_infinite() || (nonzero && (v == 0.0 || v.abs() < f64::MIN_POSITIVE));
    Strtod {
        value: sign(v),
        end: i + j,
        erange,
    }
}

/// A hex float body after "0x": digits [. digits] [p [sign] digits].
/// Returns (value, bytes consumed, erange), or none without any hex digit.
fn hex(s: &[u8]) -> Option<(f64, usize, bool)> {
    let mut mant: u64 = 0;
    let mut exp: i64 = 0;
    let mut sticky = false;
    let mut any = false;
    let mut j = 0;
    let mut frac = false;
    loop {
        match s.get(j) {
            Some(&c) if c.is_ascii_hexdigit() => {
                any = true;
                let d = (c as char).to_digit(16).unwrap_or(0) as u64;
                if mant >> 56 == 0 {
                    mant = mant << 4 | d;
                    if frac {
                        exp -= 4;
                    }
                } else {
                    sticky |= d != 0;
                    if !frac {
                        exp += 4;
                    }
                }
            }
            Some(b'.') if !frac => frac = true,
            _ => break,
        }
        j += 1;
    }
    if !any {
        return None;
    }
    if matches!(s.get(j), Some(b'p' | b'P')) {
        let mut k = j + 1;
        let eneg = matches!(s.get(k), Some(b'-'));
        if matches!(s.get(k), Some(b'-' | b'+')) {
            k += 1;
        }
        if s.get(k).is_some_and(|c| c.is_ascii_digit()) {
            let mut e: i64 = 0;
            while let Some(&c) = s.get(k).filter(|c| c.is_ascii_digit()) {
                e = (e * 10 + (c - b'0') as i64).min(1 << 20);
                k += 1;
            }
            exp += if eneg { -e } else { e };
            j = k;
        }
    }
    if sticky {
        mant |= 1;
    }
    let mut v = mant as f64;
    // Scale in steps that stay exact until the final one.
    let mut e = exp.clamp(-4000, 4000) as i32;
    while e > 0 {
        let step = e.min(1000);
        v *= 2f64.powi(step);
        e -= step;
    }
    while e < 0 {
        let step = e.max(-1000);
        v *= 2f64.powi(step);
        e -= step;
    }
    let erange = v.is_infinite() || (mant != 0 && (v == 0.0 || v.abs() < f64::MIN_POSITIVE));
    Some((v, j, erange))
}
