//! What SORT compares and fetches: Redis's `lookupKeyByPattern` (`#` is the
//! element itself; the first `*` is replaced by the element; `key->field`
//! reads a hash field), the `strtod` weight check, and `strcoll` order.
//! Redis handles patterns and collation as C strings, so a NUL byte ends
//! them where it did in Redis; lengths taken from the whole argument stay
//! whole, as Redis takes them from the `sds` length.

use crate::cmd::zsets::strtod::strtod;
use crate::ctx::Ctx;
use crate::error::CmdError;
use crate::kstr::KStr;
use crate::value::Value;
use std::cmp::Ordering;

/// `b` as a C string sees it: up to the first NUL byte.
pub(super) fn cstr(b: &[u8]) -> &[u8] {
    match b.iter().position(|&c| c == 0) {
        Some(i) => &b[..i],
        None => b,
    }
}

/// `strcoll` in the "C" and "C.UTF-8" locales: `strcmp`, byte order up to
/// the first NUL.
pub(super) fn collate(a: &[u8], b: &[u8]) -> Ordering {
    cstr(a).cmp(cstr(b))
}

/// The numeric weight of `v` as SORT checks `strtod`: the conversion must
/// stop at the end (or at a NUL; an empty string is 0), without `ERANGE`
/// (overflow or underflow) and not NaN.
pub(super) fn score_of(v: &[u8]) -> Option<f64> {
    let r = strtod(v);
    let stop = v.get(r.end).copied().unwrap_or(0);
    (stop == 0 && !r.erange && !r.value.is_nan()).then_some(r.value)
}

/// The value `pattern` names for element `subst`: the element for `#`, a
/// string key, or a hash field with `->field`; none when there is no `*`,
/// the key is missing or of another type, or the field is missing.
pub(super) fn lookup(
    ctx: &mut Ctx<'_, '_>,
    pattern: &[u8],
    subst: &KStr,
) -> Result<Option<KStr>, CmdError> {
    let c = cstr(pattern);
    if c == b"#" {
        return Ok(Some(subst.clone()));
    }
    let Some(star) = c.iter().position(|&b| b == b'*') else {
        return Ok(None);
    };
    // `->` after the `*`, followed by at least one byte, names a field.
    let arrow = c[star + 1..]
        .windows(2)
        .position(|w| w == b"->")
        .map(|i| star + 1 + i)
        .filter(|&f| f + 2 < c.len());
    let (postfix_end, field) = match arrow {
        Some(f) => (f, Some(&pattern[f + 2..])),
        None => (pattern.len(), None),
    };
    let mut key = Vec::with_capacity(pattern.len() + subst.len());
    key.extend_from_slice(&pattern[..star]);
    key.extend_from_slice(subst);
    key.extend_from_slice(&pattern[star + 1..postfix_end]);
    Ok(match (ctx.get(&key)?.map(|e| &e.value), field) {
        (Some(Value::Str(s)), None) => Some(s.convert()),
        (Some(Value::Hash(h)), Some(f)) => h.get(f).cloned(),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_as_redis_checks_strtod() {
        assert_eq!(score_of(b"1.5"), Some(1.5));
        assert_eq!(score_of(b" 5"), Some(5.0));
        assert_eq!(score_of(b""), Some(0.0));
        assert_eq!(score_of(b"0x10"), Some(16.0));
        assert_eq!(score_of(b"-inf"), Some(f64::NEG_INFINITY));
        assert_eq!(score_of(b"5\0x"), Some(5.0));
        for bad in [&b"5 "[..], b"a", b"nan", b"1e400", b"1e-400", b" ", b"-"] {
            assert_eq!(score_of(bad), None, "{:?}", bad);
        }
    }

    #[test]
    fn collation_stops_at_nul() {
        assert_eq!(collate(b"a\0b", b"a\0c"), Ordering::Equal);
        assert_eq!(collate(b"B", b"a"), Ordering::Less);
        assert_eq!(collate(b"a", b"ab"), Ordering::Less);
    }
}
