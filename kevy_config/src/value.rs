//! Scalar parsers and formatters that read and print values exactly as Redis
//! 7.0 does: `yesnotoi` for booleans, `string2ll` for integers, `memtoull`
//! for memory sizes, `strtoll` where Redis uses it (`save`, buffer limits),
//! and Redis's renderings for `CONFIG GET`. Parsers return Redis's own error
//! text, which `CONFIG SET` sends back verbatim. Structured values live in
//! `types.rs`.

/// Redis's `yesnotoi`: `yes` or `no`, any case.
pub(crate) fn parse_bool(v: &str) -> Result<bool, &'static str> {
    if v.eq_ignore_ascii_case("yes") {
        Ok(true)
    } else if v.eq_ignore_ascii_case("no") {
        Ok(false)
    } else {
        Err("argument must be 'yes' or 'no'")
    }
}

/// Redis's `string2ll`: strict decimal, optional `-`, no `+`, no spaces, no
/// leading zeros, no overflow.
pub(crate) fn parse_int(v: &str) -> Option<i64> {
    let b = v.as_bytes();
    let (neg, digits) = match b.first() {
        Some(b'-') => (true, &b[1..]),
        _ => (false, b),
    };
    match digits {
        [b'0'] if !neg => return Some(0),
        [b'1'..=b'9', rest @ ..] if rest.iter().all(u8::is_ascii_digit) => {}
        _ => return None,
    }
    let mut n: i128 = 0;
    for d in digits {
        n = n * 10 + i128::from(d - b'0');
        if n > i128::from(i64::MAX) + 1 {
            return None;
        }
    }
    i64::try_from(if neg { -n } else { n }).ok()
}

/// Redis's `memtoull`: digits then an optional unit (`b`, `k`=1000, `kb`=1024,
/// `m`, `mb`, `g`, `gb`, any case). Like Redis, a digit string too large for
/// 64 bits saturates, an empty number counts as 0, and a product that
/// overflows is refused.
pub(crate) fn parse_memory(v: &str) -> Option<u64> {
    let digits_end = v
        .bytes()
        .position(|c| !c.is_ascii_digit())
        .unwrap_or(v.len());
    let (digits, unit) = v.split_at(digits_end);
    let mul: u64 = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" => 1000,
        "kb" => 1024,
        "m" => 1000 * 1000,
        "mb" => 1024 * 1024,
        "g" => 1000 * 1000 * 1000,
        "gb" => 1024 * 1024 * 1024,
        _ => return None,
    };
    if digits.len() >= 128 {
        return None;
    }
    let val = digits.bytes().fold(0u64, |n, d| {
        n.saturating_mul(10).saturating_add(u64::from(d - b'0'))
    });
    val.checked_mul(mul)
}

/// C's `strtoll(s, &end, 10)` with the check `*end == '\0'` Redis applies:
/// leading whitespace and a sign are allowed, the empty string is 0, and
/// overflow saturates.
pub(crate) fn strtoll_exact(v: &str) -> Option<i64> {
    if v.is_empty() {
        return Some(0);
    }
    let t = v.trim_start_matches(|c: char| c.is_ascii_whitespace() || c == '\x0b');
    let (neg, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    if digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let mut n: i128 = 0;
    for d in digits.bytes() {
        n = (n * 10 + i128::from(d - b'0')).min(i128::from(u64::MAX));
    }
    let n = if neg { -n } else { n };
    Some(n.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64)
}

/// Parses `save`: pairs of `seconds changes`, split on single spaces as
/// Redis does; `""` means no snapshots.
pub(crate) fn parse_save(v: &str) -> Result<Vec<(u64, u64)>, &'static str> {
    const BAD: &str = "Invalid save parameters";
    if v.is_empty() {
        return Ok(Vec::new());
    }
    let args: Vec<&str> = v.split(' ').collect();
    if args.len() % 2 != 0 {
        return Err(BAD);
    }
    args.chunks(2)
        .map(|p| {
            let secs = strtoll_exact(p[0]).filter(|s| *s >= 1).ok_or(BAD)?;
            let changes = strtoll_exact(p[1]).filter(|c| *c >= 0).ok_or(BAD)?;
            Ok((secs as u64, changes as u64))
        })
        .collect()
}

/// Formats `save` as `CONFIG GET` shows it.
pub(crate) fn format_save(rules: &[(u64, u64)]) -> String {
    let parts: Vec<String> = rules.iter().map(|(s, c)| format!("{s} {c}")).collect();
    parts.join(" ")
}

/// Parses `latency-tracking-info-percentiles`: numbers in `[0, 100]`.
pub(crate) fn parse_percentiles(v: &str) -> Result<Vec<f64>, &'static str> {
    if v.is_empty() {
        return Ok(Vec::new());
    }
    v.split(' ')
        .map(|p| {
            let x: f64 = p
                .parse()
                .ok()
                .filter(|x: &f64| !x.is_nan() && !p.starts_with(|c: char| c.is_whitespace()))
                .ok_or("Invalid latency-tracking-info-percentiles parameters")?;
            if (0.0..=100.0).contains(&x) {
                Ok(x)
            } else {
                Err("latency-tracking-info-percentiles parameters should sit between [0.0,100.0]")
            }
        })
        .collect()
}

/// Formats percentiles like Redis: `%f`, then trailing zeros trimmed.
pub(crate) fn format_percentiles(ps: &[f64]) -> String {
    let parts: Vec<String> = ps
        .iter()
        .map(|p| {
            let s = format!("{p:.6}");
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        })
        .collect();
    parts.join(" ")
}

/// Formats a byte count the way `CONFIG REWRITE` writes memory values: with
/// the largest binary unit that divides it exactly.
pub(crate) fn format_memory_units(n: u64) -> String {
    const GB: u64 = 1 << 30;
    const MB: u64 = 1 << 20;
    const KB: u64 = 1 << 10;
    match n {
        0 => "0".to_string(),
        n if n % GB == 0 => format!("{}gb", n / GB),
        n if n % MB == 0 => format!("{}mb", n / MB),
        n if n % KB == 0 => format!("{}kb", n / KB),
        n => n.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ints_follow_string2ll() {
        assert_eq!(parse_int("0"), Some(0));
        assert_eq!(parse_int("-2"), Some(-2));
        assert_eq!(parse_int("9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_int("-9223372036854775808"), Some(i64::MIN));
        for bad in [
            "",
            "-",
            "+5",
            " 5",
            "05",
            "-0",
            "1.5",
            "9223372036854775808",
            "5 ",
        ] {
            assert_eq!(parse_int(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn memory_follows_memtoull() {
        assert_eq!(parse_memory("0"), Some(0));
        assert_eq!(parse_memory("1gb"), Some(1 << 30));
        assert_eq!(parse_memory("1GB"), Some(1 << 30));
        assert_eq!(parse_memory("10k"), Some(10_000));
        assert_eq!(parse_memory("10kb"), Some(10_240));
        assert_eq!(parse_memory("5B"), Some(5));
        assert_eq!(parse_memory("05"), Some(5));
        assert_eq!(parse_memory(""), Some(0));
        assert_eq!(parse_memory("gb"), Some(0));
        assert_eq!(parse_memory("18446744073709551616"), Some(u64::MAX));
        for bad in ["-5", "1.5gb", " 5", "abc", "5 mb", "99999999999999999999kb"] {
            assert_eq!(parse_memory(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn save_rules() {
        assert_eq!(parse_save("900 1 300 10"), Ok(vec![(900, 1), (300, 10)]));
        assert_eq!(parse_save(""), Ok(vec![]));
        assert_eq!(parse_save("900 "), Ok(vec![(900, 0)]));
        assert_eq!(parse_save("01 2"), Ok(vec![(1, 2)]));
        for bad in ["900", "0 0", "-900 1", "900 -1", "900 1 abc", "  900   1  "] {
            assert_eq!(parse_save(bad), Err("Invalid save parameters"), "{bad:?}");
        }
        assert_eq!(format_save(&[(3600, 1), (300, 100)]), "3600 1 300 100");
    }

    #[test]
    fn percentiles() {
        assert_eq!(parse_percentiles("50 99 99.9"), Ok(vec![50.0, 99.0, 99.9]));
        assert_eq!(format_percentiles(&[0.5, 99.999, 100.0]), "0.5 99.999 100");
        assert!(parse_percentiles("101").is_err());
        assert!(parse_percentiles("50 abc").is_err());
    }

    #[test]
    fn memory_units_for_rewrite() {
        assert_eq!(format_memory_units(67_108_864), "64mb");
        assert_eq!(format_memory_units(1 << 30), "1gb");
        assert_eq!(format_memory_units(3000), "3000");
        assert_eq!(format_memory_units(0), "0");
    }
}
