//! The exact arithmetic under the long-double emulation: a minimal unsigned
//! big integer, just the operations parsing, rounding and printing need.

use std::cmp::Ordering;

#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Big(pub(super) Vec<u32>);

impl Big {
    pub(super) fn from_u64(v: u64) -> Big {
        let mut b = Big(vec![v as u32, (v >> 32) as u32]);
        b.trim();
        b
    }

    pub(super) fn trim(&mut self) {
        while self.0.last() == Some(&0) {
            self.0.pop();
        }
    }

    pub(super) fn is_zero(&self) -> bool {
        self.0.is_empty()
    }

    pub(super) fn bits(&self) -> u32 {
        match self.0.last() {
            None => 0,
            Some(&top) => (self.0.len() as u32 - 1) * 32 + (32 - top.leading_zeros()),
        }
    }

    /// An upper bound of the number of decimal digits.
    pub(super) fn decimal_digits_upper(&self) -> u32 {
        self.bits() * 30103 / 100000 + 1
    }

    pub(super) fn to_u64(&self) -> u64 {
        self.0.first().copied().unwrap_or(0) as u64
            | (self.0.get(1).copied().unwrap_or(0) as u64) << 32
    }

    pub(super) fn mul_add_small(&mut self, m: u32, a: u32) {
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

    pub(super) fn mul_pow10(&mut self, mut k: u32) {
        while k >= 9 {
            self.mul_add_small(1_000_000_000, 0);
            k -= 9;
        }
        if k > 0 {
            self.mul_add_small(10u32.pow(k), 0);
        }
    }

    pub(super) fn shl(&mut self, n: u32) {
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
    pub(super) fn shr_round_even(&self, n: u32, sticky: bool) -> Big {
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

    pub(super) fn add(&mut self, o: &Big) {
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
    pub(super) fn sub(&mut self, o: &Big) {
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

    pub(super) fn cmp(&self, o: &Big) -> Ordering {
        self.0
            .len()
            .cmp(&o.0.len())
            .then_with(|| self.0.iter().rev().cmp(o.0.iter().rev()))
    }

    /// Quotient and whether the remainder is zero, by shift-and-subtract
    /// (the quotients needed here have fewer than ~140 bits).
    pub(super) fn div_rem_is_zero(&self, d: &Big) -> (Big, bool) {
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

    pub(super) fn to_decimal(&self) -> String {
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
