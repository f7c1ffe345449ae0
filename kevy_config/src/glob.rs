//! Redis's glob matcher (`stringmatchlen` in `util.c`), used by `CONFIG GET`
//! and usable for `KEYS`, `SCAN MATCH` or `PSUBSCRIBE`: `*`, `?`, `[abc]`,
//! `[^a]`, `[a-z]` and `\x` escapes, optionally ignoring ASCII case. It is a
//! faithful port, including Redis's quirks (an unterminated `[` matches like a
//! closed one, a reversed range `[z-a]` is swapped) and its early exit on
//! hopeless `*` backtracking, so pathological patterns stay linear-ish.

/// Does `s` match the glob `pattern`? `nocase` folds ASCII case, as Redis
/// does for config names.
///
/// ```
/// use kevy_config::glob_match;
/// assert!(glob_match(b"max*", b"maxmemory", false));
/// assert!(glob_match(b"h[a-z]", b"HZ", true));
/// assert!(!glob_match(b"port", b"ports", false));
/// ```
pub fn glob_match(pattern: &[u8], s: &[u8], nocase: bool) -> bool {
    let mut skip_longer = false;
    match_impl(pattern, s, nocase, &mut skip_longer)
}

/// The byte at `i`, or 0 past the end: the C code relies on a NUL terminator
/// at several places, and reading a virtual one keeps the port exact.
fn at(p: &[u8], i: usize) -> u8 {
    p.get(i).copied().unwrap_or(0)
}

fn fold(c: u8, nocase: bool) -> u8 {
    if nocase {
        c.to_ascii_lowercase()
    } else {
        c
    }
}

fn match_impl(pat: &[u8], s: &[u8], nocase: bool, skip_longer: &mut bool) -> bool {
    let (mut p, mut si) = (0usize, 0usize);
    while p < pat.len() && si < s.len() {
        match pat[p] {
            b'*' => {
                while p + 1 < pat.len() && pat[p + 1] == b'*' {
                    p += 1;
                }
                if p + 1 == pat.len() {
                    return true;
                }
                while si < s.len() {
                    if match_impl(&pat[p + 1..], &s[si..], nocase, skip_longer) {
                        return true;
                    }
                    if *skip_longer {
                        return false;
                    }
                    si += 1;
                }
                // The rest of the pattern matches nowhere in the rest of the
                // string, so no earlier `*` can help by matching more.
                *skip_longer = true;
                return false;
            }
            b'?' => si += 1,
            b'[' => {
                p += 1;
                let not = at(pat, p) == b'^';
                if not {
                    p += 1;
                }
                let c = s[si];
                let mut matched = false;
                loop {
                    if at(pat, p) == b'\\' && pat.len() - p >= 2 {
                        p += 1;
                        if pat[p] == c {
                            matched = true;
                        }
                    } else if at(pat, p) == b']' {
                        break;
                    } else if p >= pat.len() {
                        // Unterminated class: step back so the shared
                        // advance below lands exactly at the end.
                        p -= 1;
                        break;
                    } else if pat.len() - p >= 3 && pat[p + 1] == b'-' {
                        let (mut start, mut end) = (pat[p], pat[p + 2]);
                        if start > end {
                            std::mem::swap(&mut start, &mut end);
                        }
                        let (start, end, c) =
                            (fold(start, nocase), fold(end, nocase), fold(c, nocase));
                        p += 2;
                        if c >= start && c <= end {
                            matched = true;
                        }
                    } else if fold(pat[p], nocase) == fold(c, nocase) {
                        matched = true;
                    }
                    p += 1;
                }
                if not {
                    matched = !matched;
                }
                if !matched {
                    return false;
                }
                si += 1;
            }
            first => {
                let lit = if first == b'\\' && pat.len() - p >= 2 {
                    p += 1;
                    pat[p]
                } else {
                    first
                };
                if fold(lit, nocase) != fold(s[si], nocase) {
                    return false;
                }
                si += 1;
            }
        }
        p += 1;
        if si == s.len() {
            while at(pat, p) == b'*' {
                p += 1;
            }
            break;
        }
    }
    p >= pat.len() && si == s.len()
}

#[cfg(test)]
mod tests {
    use super::glob_match;

    fn m(p: &str, s: &str) -> bool {
        glob_match(p.as_bytes(), s.as_bytes(), false)
    }

    #[test]
    fn stars_and_questions() {
        // Redis quirk, kept: nothing matches the empty string, not even
        // "*" (KEYS special-cases a lone "*"; `KEYS **` misses the key "").
        assert!(!m("*", ""));
        assert!(!m("**", ""));
        assert!(m("*", "anything"));
        assert!(m("a*", "a"));
        assert!(m("a*b", "axxb"));
        assert!(!m("a*b", "axxbc"));
        assert!(m("a**b*", "ab"));
        assert!(m("h?llo", "hello"));
        assert!(!m("h?llo", "hllo"));
        assert!(!m("", "a"));
        assert!(m("", ""));
        assert!(!m("a?", "a"));
    }

    #[test]
    fn classes() {
        assert!(m("h[ae]llo", "hallo"));
        assert!(!m("h[ae]llo", "hillo"));
        assert!(m("h[^e]llo", "hallo"));
        assert!(!m("h[^e]llo", "hello"));
        assert!(m("h[a-b]llo", "hbllo"));
        assert!(m("h[b-a]llo", "hallo"), "reversed ranges are swapped");
        assert!(m("[\\]]", "]"));
        assert!(m("[a-", "a"), "an unterminated class still matches");
        assert!(m("x[ab", "xb"));
        assert!(!m("x[ab", "xc"));
    }

    #[test]
    fn escapes() {
        assert!(m("\\*", "*"));
        assert!(!m("\\*", "a"));
        assert!(m("\\a*", "appendonly"));
        assert!(m("a\\", "a\\"));
    }

    #[test]
    fn nocase() {
        assert!(glob_match(b"PORT", b"port", true));
        assert!(glob_match(b"P[N-P]RT", b"port", true));
        assert!(!glob_match(b"PORT", b"port", false));
    }

    #[test]
    fn pathological_pattern_terminates() {
        let s = "a".repeat(60);
        assert!(!m("a*a*a*a*a*a*a*a*a*a*a*a*a*a*b", &s));
    }
}
