//! Lua 5.1's number to string conversion (`tostring`, string coercion):
//! C's `printf("%.14g")`, which Rust's formatter has no direct form for.

/// `%.<precision>g` of `v` as glibc prints it.
pub(crate) fn fmt_g(v: f64, precision: usize) -> String {
    if v.is_nan() {
        return if v.is_sign_negative() { "-nan" } else { "nan" }.to_string();
    }
    if v.is_infinite() {
        return if v < 0.0 { "-inf" } else { "inf" }.to_string();
    }
    let p = precision.max(1);
    // `d.ddde±x` with p significant digits, correctly rounded.
    let sci = format!("{:.*e}", p - 1, v);
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if exp < -4 || exp >= p as i32 {
        let m = strip_zeros(mantissa);
        let sign = if exp < 0 { '-' } else { '+' };
        return format!("{m}e{sign}{:02}", exp.abs());
    }
    let decimals = (p as i32 - 1 - exp).max(0) as usize;
    strip_zeros(&format!("{v:.decimals$}")).to_string()
}

fn strip_zeros(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

/// `tostring` of a Lua number: `%.14g`.
pub(crate) fn lua_number(v: f64) -> String {
    fmt_g(v, 14)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_printf_g14() {
        for (v, s) in [
            (0.0, "0"),
            (-0.0, "-0"),
            (1.0, "1"),
            (0.1, "0.1"),
            (1.0 / 3.0, "0.33333333333333"),
            (0.878_851_123_097_749, "0.87885112309775"),
            (1e14, "1e+14"),
            (12_345_678_901_234.0, "12345678901234"),
            (1e-5, "1e-05"),
            (0.0001, "0.0001"),
            (123.456, "123.456"),
            (-2.5e-300, "-2.5e-300"),
            (f64::INFINITY, "inf"),
        ] {
            assert_eq!(lua_number(v), s, "{v}");
        }
    }
}
