//! Redis's `pqsort.c`: Bentley & McIlroy's quicksort (NetBSD's `qsort`)
//! that only recurses into partitions overlapping the wanted ranks. GEOSEARCH
//! with a COUNT smaller than the result uses it, and since it is not stable,
//! the order of equal distances is whatever its swaps leave; replies must
//! match byte for byte, so the swaps are reproduced exactly.

/// Sorts `v` enough that ranks `lrange..=rrange` hold what a full sort
/// would put there, with Redis's exact order of ties. `cmp` returns a C
/// comparator's sign.
pub(super) fn pqsort<T>(v: &mut [T], cmp: &impl Fn(&T, &T) -> i32, lrange: usize, rrange: usize) {
    let n = v.len();
    sort(v, 0, n, cmp, lrange, rrange);
}

fn med3<T>(v: &[T], a: usize, b: usize, c: usize, cmp: &impl Fn(&T, &T) -> i32) -> usize {
    if cmp(&v[a], &v[b]) < 0 {
        if cmp(&v[b], &v[c]) < 0 {
            b
        } else if cmp(&v[a], &v[c]) < 0 {
            c
        } else {
            a
        }
    } else if cmp(&v[b], &v[c]) > 0 {
        b
    } else if cmp(&v[a], &v[c]) < 0 {
        a
    } else {
        c
    }
}

/// Swaps the `n` elements from `a` with the `n` from `b` (`vecswap`).
fn vecswap<T>(v: &mut [T], a: usize, b: usize, n: usize) {
    for i in 0..n {
        v.swap(a + i, b + i);
    }
}

/// `_pqsort` over `v[a..a + n]`; the wanted ranks are `l..=r`.
fn sort<T>(
    v: &mut [T],
    mut a: usize,
    mut n: usize,
    cmp: &impl Fn(&T, &T) -> i32,
    l: usize,
    r: usize,
) {
    // A partition `[s, s + m)` matters unless the wanted ranks are all
    // before or all after it.
    let wanted = |s: usize, m: usize| !((l < s && r < s) || (l >= s + m && r >= s + m));
    loop {
        if n < 7 {
            for pm in a + 1..a + n {
                let mut pl = pm;
                while pl > a && cmp(&v[pl - 1], &v[pl]) > 0 {
                    v.swap(pl, pl - 1);
                    pl -= 1;
                }
            }
            return;
        }
        let mut pm = a + n / 2;
        if n > 7 {
            let mut pl = a;
            let mut pn = a + n - 1;
            if n > 40 {
                let d = n / 8;
                pl = med3(v, pl, pl + d, pl + 2 * d, cmp);
                pm = med3(v, pm - d, pm, pm + d, cmp);
                pn = med3(v, pn - 2 * d, pn - d, pn, cmp);
            }
            pm = med3(v, pl, pm, pn, cmp);
        }
        v.swap(a, pm);
        let (mut pa, mut pb) = (a + 1, a + 1);
        let (mut pc, mut pd) = (a + n - 1, a + n - 1);
        loop {
            while pb <= pc {
                let c = cmp(&v[pb], &v[a]);
                if c > 0 {
                    break;
                }
                if c == 0 {
                    v.swap(pa, pb);
                    pa += 1;
                }
                pb += 1;
            }
            while pb <= pc {
                let c = cmp(&v[pc], &v[a]);
                if c < 0 {
                    break;
                }
                if c == 0 {
                    v.swap(pc, pd);
                    pd -= 1;
                }
                pc -= 1;
            }
            if pb > pc {
                break;
            }
            v.swap(pb, pc);
            pb += 1;
            pc -= 1;
        }
        let pn = a + n;
        let s = (pa - a).min(pb - pa);
        vecswap(v, a, pb - s, s);
        let s = (pd - pc).min(pn - pd - 1);
        vecswap(v, pb, pn - s, s);
        let m = pb - pa;
        if m > 1 && wanted(a, m) {
            sort(v, a, m, cmp, l, r);
        }
        let m = pd - pc;
        if m > 1 {
            a = pn - m;
            n = m;
            if wanted(a, m) {
                continue;
            }
        }
        return;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(a: &(u32, u32), b: &(u32, u32)) -> i32 {
        (a.0 > b.0) as i32 - (a.0 < b.0) as i32
    }

    #[test]
    fn the_wanted_prefix_is_sorted() {
        let mut seed = 12345u64;
        for n in [0usize, 1, 5, 7, 8, 30, 41, 100, 500] {
            for k in [1usize, 3, 10] {
                let mut v: Vec<(u32, u32)> = (0..n as u32)
                    .map(|i| {
                        seed ^= seed << 13;
                        seed ^= seed >> 7;
                        seed ^= seed << 17;
                        ((seed % 50) as u32, i)
                    })
                    .collect();
                let mut full = v.clone();
                full.sort_by_key(|p| p.0);
                if n == 0 {
                    continue;
                }
                let k = k.min(n);
                pqsort(&mut v, &c, 0, k - 1);
                let got: Vec<u32> = v[..k].iter().map(|p| p.0).collect();
                let want: Vec<u32> = full[..k].iter().map(|p| p.0).collect();
                assert_eq!(got, want, "n={n} k={k}");
            }
        }
    }
}
