//! Just enough of the x87 80-bit `long double` to make INCRBYFLOAT agree
//! with Redis digit for digit: Redis parses both operands with `strtold`,
//! adds them in extended precision (64-bit mantissa) and prints the sum with
//! `%.17Lf` before trimming trailing zeros. Doing the same in `f64` gives
//! `0.30000000000000004` where Redis says `0.3`. Every step here is exact
//! big-integer arithmetic followed by one round-half-to-even, which is what
//! glibc's `strtold`, the FPU's addition and glibc's `printf` each do.

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
#[derive(Clone, Debug, PartialEq, Eq)]
struct Big(Vec<u32>);

impl Big {
    fn from_u64(v: u64) -> Big {
        let mut b = Big(vec![v as u32, (v >> 32) as u32]);
        b.trim();
        b
    }

    fn trim(&mut self) {
        while self.0.last() == Some(&0) {
            self.0.pop();
        }
    }

    fn is_zero(&self) -> bool {
        self.0.is_empty()
    }

    fn bits(&self) -> u32 {
        match self.0.last() {
            None => 0,
            Some(&top) => (self.0.len() as u32 - 1) * 32 + (32 - top.leading_zeros()),
        }
    }

    /// An upper bound of the number of decimal digits.
    fn decimal_digits_upper(&self) -> u32 {
        self.bits() * 30103 / 100000 + 1
    }

    fn to_u64(&self) -> u64 {
        self.0.first().copied().unwrap_or(0) as u64
            | (self.0.get(1).copied().unwrap_or(0) as u64) << 32
    }

    fn mul_add_small(&mut self, m: u32, a: u32) {
        let mut carry = a as u64;
        for l in self.0.iter_mut() {
            let v = *l as u64 * m as u64 + carry;
            *l = v as u32;
            carry = v >> 32;
        }
        if carry != 0 {
            self.0.push(carry as u32);
        }
        self.trim();
    }

    fn mul_pow10(&mut self, mut k: u32) {
        while k >= 9 {
            self.mul_add_small(1_000_000_000, 0);
            k -= 9;
        }
        if k > 0 {
            self.mul_add_small(10u32.pow(k), 0);
        }
    }

    fn shl(&mut self, n: u32) {
        if self.is_zero() || n == 0 {
            return;
        }
        let (words, bits) = ((n / 32) as usize, n % 32);
        let mut out = vec![0u32; words];
        let mut carry = 0u32;
        for &l in &self.0 {
            if bits == 0 {
                out.push(l);
            } else {
                out.push((l << bits) | carry);
                carry = l >> (32 - bits);
            }
        }
        if carry != 0 {
            out.push(carry);
        }
        self.0 = out;
        self.trim();
    }

    /// `self >> n`, rounded half to even; `sticky` says a nonzero tail lies
    /// below `self` itself.
    fn shr_round_even(&self, n: u32, sticky: bool) -> Big {
        if n == 0 {
            return self.clone();
        }
        let bit = |i: u32| -> bool {
            let w = (i / 32) as usize;
            w < self.0.len() && (self.0[w] >> (i % 32)) & 1 == 1
        };
        let half = bit(n - 1);
        let below = sticky || (0..(n - 1).min(self.bits())).any(bit);
        let (words, bits) = ((n / 32) as usize, n % 32);
        let mut out: Vec<u32> = Vec::with_capacity(self.0.len().saturating_sub(words));
        for i in words..self.0.len() {
            let lo = self.0[i] >> bits;
            let hi = if bits == 0 {
                0
            } else {
                self.0.get(i + 1).map_or(0, |&h| h << (32 - bits))
            };
            out.push(lo | hi);
        }
        let mut q = Big(out);
        q.trim();
        let odd = q.0.first().is_some_and(|&l| l & 1 == 1);
        if half && (below || odd) {
            q.add(&Big::from_u64(1));
        }
        q
    }

    fn add(&mut self, o: &Big) {
        let mut carry = 0u64;
        let n = self.0.len().max(o.0.len());
        self.0.resize(n, 0);
        for i in 0..n {
            let v = self.0[i] as u64 + o.0.get(i).copied().unwrap_or(0) as u64 + carry;
            self.0[i] = v as u32;
            carry = v >> 32;
        }
        if carry != 0 {
            self.0.push(carry as u32);
        }
    }

    /// `self -= o`; requires `self >= o`.
    fn sub(&mut self, o: &Big) {
        let mut borrow = 0i64;
        for i in 0..self.0.len() {
            let v = self.0[i] as i64 - o.0.get(i).copied().unwrap_or(0) as i64 - borrow;
            if v < 0 {
                self.0[i] = (v + (1i64 << 32)) as u32;
                borrow = 1;
            } else {
                self.0[i] = v as u32;
                borrow = 0;
            }
        }
        self.trim();
    }

    fn cmp(&self, o: &Big) -> Ordering {
        self.0
            .len()
            .cmp(&o.0.len())
            .then_with(|| self.0.iter().rev().cmp(o.0.iter().rev()))
    }

    /// Quotient and whether the remainder is zero, by shift-and-subtract
    /// (the quotients needed here have fewer than ~140 bits).
    fn div_rem_is_zero(&self, d: &Big) -> (Big, bool) {
        let mut rem = self.clone();
        let mut q = Big(Vec::new());
        if rem.cmp(d) == Ordering::Less {
            return (q, rem.is_zero());
        }
        let top = rem.bits() - d.bits();
        let mut qbits = vec![0u32; (top / 32 + 1) as usize];
        for i in (0..=top).rev() {
            let mut t = d.clone();
            t.shl(i);
            if rem.cmp(&t) != Ordering::Less {
                rem.sub(&t);
                qbits[(i / 32) as usize] |= 1 << (i % 32);
            }
        }
        q.0 = qbits;
        q.trim();
        (q, rem.is_zero())
    }

    fn to_decimal(&self) -> String {
        if self.is_zero() {
            return "0".into();
        }
        let mut chunks = Vec::new();
        let mut n = self.clone();
        while !n.is_zero() {
            let mut rem = 0u64;
            for l in n.0.iter_mut().rev() {
                let v = (rem << 32) | *l as u64;
                *l = (v / 1_000_000_000) as u32;
                rem = v % 1_000_000_000;
            }
            n.trim();
            chunks.push(rem as u32);
        }
        let mut s = chunks.pop().map(|c| c.to_string()).unwrap_or_default();
        for c in chunks.iter().rev() {
            s.push_str(&format!("{c:09}"));
        }
        s
    }
}

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
