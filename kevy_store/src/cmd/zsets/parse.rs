//! Argument parsing with Redis's exact acceptance rules: scores through C's
//! `strtod` (hex floats, `inf`, overflow refused) as `getDoubleFromObject`
//! checks it, score ranges as `zslParseRange` (which skips none of those
//! checks but NaN), lexical ranges, and blocking timeouts as
//! `getTimeoutFromObjectOrReply` computes them.

use super::strtod::{is_c_space, strtod};
use crate::error::CmdError;

/// A score or increment as `getDoubleFromObject` accepts it: the whole
/// argument, no leading space, no overflow or underflow to zero, not NaN.
pub(crate) fn score(b: &[u8]) -> Option<f64> {
    if b.is_empty() || is_c_space(b[0]) {
        return None;
    }
    let r = strtod(b);
    if r.end != b.len()
        || r.value.is_nan()
        || (r.erange && (r.value.is_infinite() || r.value == 0.0))
    {
        return None;
    }
    Some(r.value)
}

/// A score argument, or `ERR value is not a valid float`.
pub(crate) fn arg_score(b: &[u8]) -> Result<f64, CmdError> {
    score(b).ok_or(CmdError::NotFloat)
}

/// One end of a score range.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct ScoreBound {
    pub value: f64,
    pub exclusive: bool,
}

/// A score range `min max` (`zslParseRange`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct ScoreRange {
    pub min: ScoreBound,
    pub max: ScoreBound,
}

fn score_bound(b: &[u8]) -> Option<ScoreBound> {
    let (exclusive, text) = match b.first() {
        Some(b'(') => (true, &b[1..]),
        _ => (false, b),
    };
    // strtod skips leading spaces, accepts an empty string as 0 (nothing
    // converted, but the end pointer is at the terminator) and Redis does
    // not look at ERANGE here.
    let r = strtod(text);
    if r.end != text.len() || r.value.is_nan() {
        return None;
    }
    Some(ScoreBound {
        value: r.value,
        exclusive,
    })
}

impl ScoreRange {
    /// Parses `min max`, or `ERR min or max is not a float`.
    pub(crate) fn parse(min: &[u8], max: &[u8]) -> Result<ScoreRange, CmdError> {
        match (score_bound(min), score_bound(max)) {
            (Some(min), Some(max)) => Ok(ScoreRange { min, max }),
            _ => Err(CmdError::err("min or max is not a float")),
        }
    }

    /// True if `s` is at or past the lower bound.
    #[inline]
    pub(crate) fn gte_min(&self, s: f64) -> bool {
        if self.min.exclusive {
            s > self.min.value
        } else {
            s >= self.min.value
        }
    }

    /// True if `s` is at or before the upper bound.
    #[inline]
    pub(crate) fn lte_max(&self, s: f64) -> bool {
        if self.max.exclusive {
            s < self.max.value
        } else {
            s <= self.max.value
        }
    }
}

/// One end of a lexical range.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum LexBound {
    /// `-`: before every string.
    Min,
    /// `+`: after every string.
    Max,
    /// `[x` (inclusive) or `(x` (exclusive).
    Str(Vec<u8>, bool),
}

/// A lexical range `min max` (`zslParseLexRange`).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct LexRange {
    pub min: LexBound,
    pub max: LexBound,
}

fn lex_bound(b: &[u8]) -> Option<LexBound> {
    match b {
        [b'+'] => Some(LexBound::Max),
        [b'-'] => Some(LexBound::Min),
        [b'(', rest @ ..] => Some(LexBound::Str(rest.to_vec(), true)),
        [b'[', rest @ ..] => Some(LexBound::Str(rest.to_vec(), false)),
        _ => None,
    }
}

impl LexRange {
    /// Parses `min max`, or `ERR min or max not valid string range item`.
    pub(crate) fn parse(min: &[u8], max: &[u8]) -> Result<LexRange, CmdError> {
        match (lex_bound(min), lex_bound(max)) {
            (Some(min), Some(max)) => Ok(LexRange { min, max }),
            _ => Err(CmdError::err("min or max not valid string range item")),
        }
    }

    /// True for a range that can hold nothing whatever the members
    /// (`min` past `max`, or equal with an exclusive end; `-` and `+` count
    /// as exclusive), as `zslIsInLexRange` tests first.
    pub(crate) fn is_empty(&self) -> bool {
        match (&self.min, &self.max) {
            (LexBound::Max, _) | (_, LexBound::Min) => true,
            (LexBound::Min, _) | (_, LexBound::Max) => false,
            (LexBound::Str(a, aex), LexBound::Str(b, bex)) => a > b || (a == b && (*aex || *bex)),
        }
    }

    /// True if `m` is at or past the lower bound.
    pub(crate) fn gte_min(&self, m: &[u8]) -> bool {
        match &self.min {
            LexBound::Min => true,
            LexBound::Max => false,
            LexBound::Str(s, true) => m > &s[..],
            LexBound::Str(s, false) => m >= &s[..],
        }
    }

    /// True if `m` is at or before the upper bound.
    pub(crate) fn lte_max(&self, m: &[u8]) -> bool {
        match &self.max {
            LexBound::Min => false,
            LexBound::Max => true,
            LexBound::Str(s, true) => m < &s[..],
            LexBound::Str(s, false) => m <= &s[..],
        }
    }
}

/// A blocking timeout in seconds as Redis 7.0 reads it (a long double,
/// times 1000, rounded up to whole ms): the absolute deadline in Unix ms,
/// 0 for "forever".
pub(crate) fn timeout(b: &[u8], now_ms: u64) -> Result<u64, CmdError> {
    if b.is_empty() || is_c_space(b[0]) {
        return Err(CmdError::Timeout);
    }
    let r = strtod(b);
    if r.end != b.len() || r.value.is_nan() {
        return Err(CmdError::Timeout);
    }
    if r.erange && !long_double_fits(b) {
        return Err(CmdError::Timeout);
    }
    let ms = (r.value * 1000.0).ceil();
    // An out-of-range conversion to long long yields LLONG_MIN on x86-64.
    let ms = if ms.is_finite() && ms > -9.223_372_036_854_776e18 && ms < 9.223_372_036_854_776e18 {
        ms as i64
    } else {
        i64::MIN
    };
    if ms < 0 {
        return Err(CmdError::err("timeout is negative"));
    }
    if ms == 0 {
        return Ok(0);
    }
    Ok(now_ms.saturating_add(ms as u64))
}

/// Whether a decimal text that overflows or underflows a double still fits
/// an x87 long double (exponent range about ±4931).
fn long_double_fits(b: &[u8]) -> bool {
    let s = String::from_utf8_lossy(b).to_ascii_lowercase();
    if s.contains('x') {
        return false;
    }
    let (mant, exp) = match s.split_once('e') {
        Some((m, e)) => (
            m.to_string(),
            e.parse::<i64>().unwrap_or(if e.starts_with('-') {
                i64::MIN
            } else {
                i64::MAX
            }),
        ),
        None => (s.clone(), 0),
    };
    let mant = mant.trim_start_matches(['+', '-']);
    let (int, frac) = mant.split_once('.').unwrap_or((mant, ""));
    let int = int.trim_start_matches('0');
    let mag = if !int.is_empty() {
        int.len() as i64 - 1
    } else {
        -(frac.len() as i64 - frac.trim_start_matches('0').len() as i64) - 1
    };
    let e = mag.saturating_add(exp);
    (-4950..=4931).contains(&e)
}

pub(crate) use crate::cmd::scan::parse_cursor as cursor;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_like_get_double_from_object() {
        assert_eq!(score(b"1.5"), Some(1.5));
        assert_eq!(score(b"0x10"), Some(16.0));
        assert_eq!(score(b"0x1p-2"), Some(0.25));
        assert_eq!(score(b"-inf"), Some(f64::NEG_INFINITY));
        assert_eq!(score(b"+Infinity"), Some(f64::INFINITY));
        assert_eq!(score(b"1e308"), Some(1e308));
        assert_eq!(score(b".5"), Some(0.5));
        assert_eq!(score(b"5."), Some(5.0));
        assert_eq!(score(b"1e-310"), Some(1e-310));
        for bad in [
            &b"1e400"[..],
            b"1e-400",
            b"nan",
            b" 1",
            b"1 ",
            b"",
            b".",
            b"e5",
            b"1e",
            b"0x",
            b"--1",
            b"abc",
        ] {
            assert_eq!(score(bad), None, "{}", String::from_utf8_lossy(bad));
        }
        assert!(score(b"-0").is_some_and(|v| v == 0.0 && v.is_sign_negative()));
    }

    #[test]
    fn score_ranges_like_zsl_parse_range() {
        let r = ScoreRange::parse(b"(1", b" 5").unwrap_or_else(|_| panic!());
        assert!(r.min.exclusive && r.min.value == 1.0 && r.max.value == 5.0);
        assert!(ScoreRange::parse(b"", b"(").is_ok());
        assert!(ScoreRange::parse(b"1e400", b"-1e400").is_ok());
        assert!(ScoreRange::parse(b"nan", b"1").is_err());
        assert!(ScoreRange::parse(b"1 ", b"1").is_err());
        assert!(ScoreRange::parse(b"((1", b"1").is_err());
    }

    #[test]
    fn timeouts() {
        assert_eq!(timeout(b"0", 1000), Ok(0));
        assert_eq!(timeout(b"1.5", 1000), Ok(2500));
        assert_eq!(timeout(b"0.0001", 1000), Ok(1001));
        assert_eq!(timeout(b"-0.0001", 1000), Ok(0));
        assert_eq!(timeout(b"-1", 0), Err(CmdError::err("timeout is negative")));
        assert_eq!(
            timeout(b"inf", 0),
            Err(CmdError::err("timeout is negative"))
        );
        assert_eq!(
            timeout(b"1e400", 0),
            Err(CmdError::err("timeout is negative"))
        );
        assert_eq!(timeout(b"1e5000", 0), Err(CmdError::Timeout));
        assert_eq!(timeout(b" 1", 0), Err(CmdError::Timeout));
        assert_eq!(timeout(b"x", 0), Err(CmdError::Timeout));
        assert_eq!(timeout(b"0x10", 0), Ok(16000));
    }

    #[test]
    fn cursors() {
        assert_eq!(cursor(b"0"), Ok(0));
        assert_eq!(cursor(b"18446744073709551615"), Ok(u64::MAX));
        assert_eq!(cursor(b""), Ok(0));
        assert_eq!(cursor(b"-1"), Ok(u64::MAX));
        assert!(cursor(b" 1").is_err());
        assert!(cursor(b"x").is_err());
        assert!(cursor(b"18446744073709551616").is_err());
    }
}
