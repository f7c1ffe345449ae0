//! Redis's glob matcher (`stringmatchlen` in `util.c`), byte for byte: `*`,
//! `?`, `[...]` classes with ranges and `^` negation, `\` escapes, the same
//! quirks on malformed patterns, and the same protections against
//! exponential patterns (a recursion limit of 1000 and the early exit once a
//! `*` has failed to match the rest of the pattern anywhere).

/// The byte at `i`, or 0 past the end (the C code reads the terminating NUL).
#[inline]
fn at(b: &[u8], i: usize) -> u8 {
    b.get(i).copied().unwrap_or(0)
}

/// C's `tolower` on a (signed) `char` in the C locale.
#[inline]
fn lower(c: i32) -> i32 {
    if (b'A' as i32..=b'Z' as i32).contains(&c) {
        c + 32
    } else {
        c
    }
}

/// A byte as C's signed `char`, widened to `int`.
#[inline]
fn sc(b: u8) -> i32 {
    b as i8 as i32
}

/// True if `string` matches the glob `pattern` (Redis `KEYS`/`SCAN MATCH`
/// semantics); `nocase` folds ASCII letters.
pub fn glob_match(pattern: &[u8], string: &[u8], nocase: bool) -> bool {
    let mut skip = false;
    matches(pattern, string, nocase, &mut skip, 0)
}

fn matches(pat: &[u8], s: &[u8], nocase: bool, skip_longer: &mut bool, nesting: u32) -> bool {
    if nesting > 1000 {
        return false;
    }
    let (mut p, mut plen) = (0usize, pat.len());
    let (mut i, mut slen) = (0usize, s.len());
    while plen > 0 && slen > 0 {
        match pat[p] {
            b'*' => {
                while plen > 0 && at(pat, p + 1) == b'*' {
                    p += 1;
                    plen -= 1;
                }
                if plen == 1 {
                    return true;
                }
                while slen > 0 {
                    if matches(
                        &pat[p + 1..p + plen],
                        &s[i..i + slen],
                        nocase,
                        skip_longer,
                        nesting + 1,
                    ) {
                        return true;
                    }
                    if *skip_longer {
                        return false;
                    }
                    i += 1;
                    slen -= 1;
                }
                *skip_longer = true;
                return false;
            }
            b'?' => {
                i += 1;
                slen -= 1;
            }
            b'[' => {
                p += 1;
                plen -= 1;
                let not = at(pat, p) == b'^';
                if not {
                    p += 1;
                    plen -= 1;
                }
                let mut matched = false;
                let c0 = s[i];
                loop {
                    if at(pat, p) == b'\\' && plen >= 2 {
                        p += 1;
                        plen -= 1;
                        if at(pat, p) == c0 {
                            matched = true;
                        }
                    } else if at(pat, p) == b']' {
                        break;
                    } else if plen == 0 {
                        p -= 1;
                        plen += 1;
                        break;
                    } else if plen >= 3 && at(pat, p + 1) == b'-' {
                        let (mut start, mut end, mut c) =
                            (sc(at(pat, p)), sc(at(pat, p + 2)), sc(c0));
                        if start > end {
                            std::mem::swap(&mut start, &mut end);
                        }
                        if nocase {
                            start = lower(start);
                            end = lower(end);
                            c = lower(c);
                        }
                        p += 2;
                        plen -= 2;
                        if c >= start && c <= end {
                            matched = true;
                        }
                    } else if !nocase {
                        if at(pat, p) == c0 {
                            matched = true;
                        }
                    } else if lower(sc(at(pat, p))) == lower(sc(c0)) {
                        matched = true;
                    }
                    p += 1;
                    plen -= 1;
                }
                if not {
                    matched = !matched;
                }
                if !matched {
                    return false;
                }
                i += 1;
                slen -= 1;
            }
            c => {
                let mut c = c;
                if c == b'\\' && plen >= 2 {
                    p += 1;
                    plen -= 1;
                    c = pat[p];
                }
                let eq = if nocase {
                    lower(sc(c)) == lower(sc(s[i]))
                } else {
                    c == s[i]
                };
                if !eq {
                    return false;
                }
                i += 1;
                slen -= 1;
            }
        }
        p += 1;
        plen -= 1;
        if slen == 0 {
            while at(pat, p) == b'*' && plen > 0 {
                p += 1;
                plen -= 1;
            }
            break;
        }
    }
    plen == 0 && slen == 0
}

#[cfg(test)]
mod tests {
    use super::glob_match;

    #[test]
    fn redis_cases() {
        let m = |p: &str, s: &str| glob_match(p.as_bytes(), s.as_bytes(), false);
        assert!(
            !m("*", ""),
            "the empty string needs the callers' `*` shortcut, as in Redis"
        );
        assert!(m("*", "anything"));
        assert!(m("h?llo", "hello"));
        assert!(!m("h?llo", "hllo"));
        assert!(m("h*llo", "heeeello"));
        assert!(m("h[ae]llo", "hallo"));
        assert!(!m("h[ae]llo", "hillo"));
        assert!(m("h[^e]llo", "hallo"));
        assert!(!m("h[^e]llo", "hello"));
        assert!(m("h[a-b]llo", "hbllo"));
        assert!(m("h[b-a]llo", "hbllo"));
        assert!(m("h\\*llo", "h*llo"));
        assert!(!m("h\\*llo", "hallo"));
        assert!(m("[a", "a"), "unterminated class matches its members");
        assert!(!m("a[", "a["));
        assert!(m("\\", "\\"), "a trailing backslash is literal");
        assert!(m("a\\", "a\\"));
        assert!(m("a**", "a"));
        assert!(m("*a*", "bab"));
        assert!(m("[\\]]", "]"));
        assert!(glob_match(b"HELLO", b"hello", true));
        assert!(glob_match(b"[A-C]x", b"bx", true));
    }

    #[test]
    fn abusive_patterns_are_bounded() {
        let key = vec![b'a'; 1001];
        assert!(
            !glob_match("*a".repeat(1001).as_bytes(), &key, false),
            "nesting limit, as Redis"
        );
        assert!(glob_match("*a".repeat(999).as_bytes(), &key, false));
        let long = vec![b'a'; 20000];
        assert!(!glob_match(b"a*a*a*a*a*a*a*a*a*a*a*b", &long, false));
    }
}
