//! Just enough of the x87 80-bit `long double` to make INCRBYFLOAT agree
//! with Redis digit for digit: Redis parses both operands with `strtold`,
//! adds them in extended precision (64-bit mantissa) and prints the sum with
//! `%.17Lf` before trimming trailing zeros. Doing the same in `f64` gives
//! `0.30000000000000004` where Redis says `0.3`. Every step here is exact
//! big-integer arithmetic followed by one round-half-to-even, which is what
//! glibc's `strtold`, the FPU's addition and glibc's `printf` each do.

mod big;

use big::Big;
use std::cmp::Ordering;

/// Smallest binary exponent of the last mantissa bit (subnormals included).
const MIN_EXP: i64 = -16445;
/// Largest binary exponent of the last mantissa bit of a finite value.
const MAX_EXP: i64 = 16320;
/// Redis refuses longer float strings (`MAX_LONG_DOUBLE_CHARS`).
const MAX_CHARS: usize = 5 * 1024;

/// An extended-precision value: `(-1)^neg * mant * 2^exp`, or an infinity.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct LongDouble {
    neg: bool,
    mant: u64,
    exp: i64,
    inf: bool,
}

impl LongDouble {
    /// Positive zero.
    pub(crate) const ZERO: LongDouble = LongDouble {
        neg: false,
        mant: 0,
        exp: 0,
        inf: false,
    };

    /// The exact extended-precision value of a double (C's `(long double)d`).
    pub(crate) fn from_f64(d: f64) -> LongDouble {
        let neg = d.is_sign_negative();
        if d.is_infinite() {
            return LongDouble {
                neg,
                mant: 0,
                exp: 0,
                inf: true,
            };
        }
        let bits = d.to_bits();
        let field = ((bits >> 52) & 0x7ff) as i64;
        let frac = bits & ((1u64 << 52) - 1);
        let (mant, exp) = if field == 0 {
            (frac, -1074)
        } else {
            (frac | 1 << 52, field - 1075)
        };
        round(neg, Big::from_u64(mant), exp, false).unwrap_or(LongDouble {
            neg,
            ..LongDouble::ZERO
        })
    }

    /// Parses a whole string as Redis's `getLongDoubleFromObject` accepts it:
    /// `strtold` syntax (decimal or hex, `inf`, `infinity`), no leading
    /// space, nothing left over, NaN refused, and results that overflow or
    /// underflow to zero refused.
    pub(crate) fn parse(b: &[u8]) -> Option<LongDouble> {
        if b.is_empty() || b.len() > MAX_CHARS || b[0].is_ascii_whitespace() {
            return None;
        }
        let (neg, rest) = match b[0] {
            b'-' => (true, &b[1..]),
            b'+' => (false, &b[1..]),
            _ => (false, b),
        };
        if rest.eq_ignore_ascii_case(b"inf") || rest.eq_ignore_ascii_case(b"infinity") {
            return Some(LongDouble {
                neg,
                mant: 0,
                exp: 0,
                inf: true,
            });
        }
        let (big, exp2, exp10) = if rest.len() > 2 && rest[0] == b'0' && (rest[1] | 0x20) == b'x' {
            parse_hex(&rest[2..])?
        } else {
            parse_dec(rest)?
        };
        if big.is_zero() {
            return Some(LongDouble {
                neg,
                ..LongDouble::ZERO
            });
        }
        let v = if exp10 >= 0 {
            // Anything above ~1e4933 overflows; refuse early instead of building it.
            if big.decimal_digits_upper() as i64 + exp10 > 4940 {
                return None;
            }
            let mut n = big;
            n.mul_pow10(exp10 as u32);
            round(neg, n, exp2, false)?
        } else {
            let k = -exp10;
            if (big.decimal_digits_upper() as i64) - k < -4965 {
                return None; // underflows to zero: strtold's ERANGE, refused
            }
            let mut den = Big::from_u64(1);
            den.mul_pow10(k as u32);
            let shift = (66 + den.bits() as i64 - big.bits() as i64 + 1).max(0) as u32;
            let mut num = big;
            num.shl(shift);
            let (q, rem_zero) = num.div_rem_is_zero(&den);
            round(neg, q, exp2 - shift as i64, !rem_zero)?
        };
        if v.mant == 0 {
            return None;
        }
        Some(v)
    }

    /// The rounded sum, or None when it is not finite (Redis's "increment
    /// would produce NaN or Infinity").
    pub(crate) fn add(&self, o: &LongDouble) -> Option<LongDouble> {
        if self.inf || o.inf {
            return None;
        }
        if o.mant == 0 {
            return Some(if self.mant == 0 {
                LongDouble {
                    neg: self.neg && o.neg,
                    ..*self
                }
            } else {
                *self
            });
        }
        if self.mant == 0 {
            return Some(*o);
        }
        let (hi, lo) = if self.exp >= o.exp {
            (self, o)
        } else {
            (o, self)
        };
        if hi.exp - lo.exp > 70 && hi.mant >> 63 == 1 {
            // |lo| is below a quarter of hi's unit in the last place: the sum rounds to hi.
            return Some(*hi);
        }
        let e = hi.exp.min(lo.exp);
        let mut a = Big::from_u64(self.mant);
        a.shl((self.exp - e) as u32);
        let mut b = Big::from_u64(o.mant);
        b.shl((o.exp - e) as u32);
        let (neg, mag) = if self.neg == o.neg {
            a.add(&b);
            (self.neg, a)
        } else {
            match a.cmp(&b) {
                Ordering::Equal => return Some(LongDouble::ZERO),
                Ordering::Greater => {
                    a.sub(&b);
                    (self.neg, a)
                }
                Ordering::Less => {
                    b.sub(&a);
                    (o.neg, b)
                }
            }
        };
        round(neg, mag, e, false)
    }

    /// Redis's human form (`ld2string(..., LD_STR_HUMAN)`): `%.17Lf`, then
    /// trailing zeros and a trailing dot removed, and `-0` written as `0`.
    pub(crate) fn to_human(self) -> String {
        if self.inf {
            return if self.neg {
                "-inf".into()
            } else {
                "inf".into()
            };
        }
        // N = round(mant * 2^exp * 10^17), half to even.
        let mut n = Big::from_u64(self.mant);
        n.mul_pow10(17);
        if self.exp >= 0 {
            n.shl(self.exp as u32);
        } else {
            n = n.shr_round_even((-self.exp) as u32, false);
        }
        let digits = n.to_decimal();
        let digits = format!("{digits:0>18}");
        let (int, frac) = digits.split_at(digits.len() - 17);
        let mut s = String::with_capacity(digits.len() + 2);
        if self.neg {
            s.push('-');
        }
        s.push_str(int);
        let frac = frac.trim_end_matches('0');
        if !frac.is_empty() {
            s.push('.');
            s.push_str(frac);
        }
        if s == "-0" {
            s = "0".into();
        }
        s
    }
}

/// Rounds `mag * 2^e` (plus a nonzero tail below it if `sticky`) to a
/// 64-bit mantissa, subnormals included. None on overflow.
fn round(neg: bool, mag: Big, e: i64, sticky: bool) -> Option<LongDouble> {
    if mag.is_zero() {
        return Some(LongDouble {
            neg,
            ..LongDouble::ZERO
        });
    }
    let bits = mag.bits() as i64;
    let shift = (bits - 64).max(MIN_EXP - e);
    let mut exp = e;
    // With no bits to drop the value is exact (a nonzero sticky tail only
    // comes with quotients much wider than 64 bits).
    let mut m = if shift > 0 {
        exp += shift;
        mag.shr_round_even(shift as u32, sticky)
    } else {
        mag
    };
    if m.bits() > 64 {
        m = m.shr_round_even(1, false);
        exp += 1;
    }
    let mut mant = m.to_u64();
    // Normalize exact small values so the top bit is set (keeps `add`'s shortcut valid).
    while mant != 0 && mant >> 63 == 0 && exp > MIN_EXP {
        mant <<= 1;
        exp -= 1;
    }
    if exp > MAX_EXP {
        return None;
    }
    Some(LongDouble {
        neg,
        mant,
        exp,
        inf: false,
    })
}

/// Decimal `digits[.digits][e[+-]digits]`: (significand, 0, decimal exponent).
fn parse_dec(b: &[u8]) -> Option<(Big, i64, i64)> {
    let mut big = Big::from_u64(0);
    let mut exp10: i64 = 0;
    let mut i = 0;
    let mut any = false;
    let mut seen_dot = false;
    while i < b.len() {
        match b[i] {
            d @ b'0'..=b'9' => {
                any = true;
                if !big.is_zero() || d != b'0' {
                    big.mul_add_small(10, (d - b'0') as u32);
                }
                if seen_dot {
                    exp10 -= 1;
                }
            }
            b'.' if !seen_dot => seen_dot = true,
            _ => break,
        }
        i += 1;
    }
    if !any {
        return None;
    }
    if i < b.len() {
        if b[i] | 0x20 != b'e' {
            return None;
        }
        exp10 += parse_exp(&b[i + 1..])?;
    }
    Some((big, 0, exp10))
}

/// Hex `hexdigits[.hexdigits][p[+-]digits]` after `0x`: (significand, binary exponent, 0).
fn parse_hex(b: &[u8]) -> Option<(Big, i64, i64)> {
    let mut big = Big::from_u64(0);
    let mut exp2: i64 = 0;
    let mut i = 0;
    let mut any = false;
    let mut seen_dot = false;
    while i < b.len() {
        let c = b[i];
        if let Some(d) = (c as char).to_digit(16) {
            any = true;
            if big.bits() < 20000 {
                big.mul_add_small(16, d);
                if seen_dot {
                    exp2 -= 4;
                }
            } else if !seen_dot {
                exp2 += 4;
            }
        } else if c == b'.' && !seen_dot {
            seen_dot = true;
        } else {
            break;
        }
        i += 1;
    }
    if !any {
        return None;
    }
    if i < b.len() {
        if b[i] | 0x20 != b'p' {
            return None;
        }
        exp2 += parse_exp(&b[i + 1..])?;
    }
    if !big.is_zero() && (exp2 + big.bits() as i64 > 16400 || exp2 + (big.bits() as i64) < -16500) {
        return None;
    }
    Some((big, exp2, 0))
}

/// `[+-]digits` to the end of the input, clamped far outside any finite range.
fn parse_exp(b: &[u8]) -> Option<i64> {
    let (neg, d) = match b.first() {
        Some(b'-') => (true, &b[1..]),
        Some(b'+') => (false, &b[1..]),
        _ => (false, b),
    };
    if d.is_empty() || !d.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut v: i64 = 0;
    for &c in d {
        v = (v * 10 + (c - b'0') as i64).min(1_000_000);
    }
    Some(if neg { -v } else { v })
}

/// A minimal unsigned big integer (little-endian 32-bit limbs, no leading zeros).
#[cfg(test)]
mod tests {
    use super::LongDouble;

    fn incr(a: &str, b: &str) -> Option<String> {
        let a = LongDouble::parse(a.as_bytes())?;
        let b = LongDouble::parse(b.as_bytes())?;
        Some(a.add(&b)?.to_human())
    }

    #[test]
    fn matches_redis_outputs() {
        // Each pair was produced by redis-server 7.0 (`SET k a`, `INCRBYFLOAT k b`).
        let cases = [
            ("10.5", "0.1", "10.6"),
            ("0.1", "0.2", "0.3"),
            ("1.1", "2.2", "3.3"),
            ("3", "1.5e1", "18"),
            ("1e5", "0", "100000"),
            ("5.0e3", "0", "5000"),
            ("5000", "0.0000001", "5000.00000009999999984"),
            ("0", "1.23456789012345678", "1.23456789012345678"),
            ("10.6", "1e300", "1000000000000000000008997324079559193870523944273290747938260082321265646596180935755849152083750497190350372508614274835903592556184672983913096260520748646287327135641843653294084255107606016789726652932370030551382947620994540294772781889620606179267611627097410650567187386105690089424915104006144"),
            ("-1", "1", "0"),
            ("1", "-1.5", "-0.5"),
            ("0", "-0.000000000000000001", "0"),
            ("0x10", "1", "17"),
            ("+1.5", ".5", "2"),
        ];
        for (a, b, want) in cases {
            assert_eq!(incr(a, b).as_deref(), Some(want), "{a} + {b}");
        }
    }

    #[test]
    fn from_doubles() {
        let h = |d: f64| LongDouble::from_f64(d).to_human();
        assert_eq!(h(13.361389338970184), "13.36138933897018433");
        assert_eq!(h(180.0), "180");
        assert_eq!(h(-0.0), "0");
        assert_eq!(h(f64::NEG_INFINITY), "-inf");
    }

    #[test]
    fn refusals() {
        for bad in [
            "", " 1", "1 ", "abc", "nan", "1e", "1e+", ".", "-", "1e5000", "1e-5000", "0x", "1.2.3",
        ] {
            assert_eq!(LongDouble::parse(bad.as_bytes()), None, "{bad:?}");
        }
        assert!(LongDouble::parse(b"inf").is_some());
        assert_eq!(incr("inf", "1"), None);
        assert_eq!(incr("1e4932", "1e4932"), None, "overflow");
    }
}
