//! Splitting an inline request line into arguments with the rules of Redis's
//! `sdssplitargs` (sds.c): blanks separate arguments, double quotes allow
//! `\n \r \t \b \a \xHH` and `\<any>` escapes, single quotes allow `\'`, a
//! closing quote must be followed by a blank or the end of the line, and a
//! quote may open in the middle of an argument (`a"b c"` is `ab c`).
//! Arguments without quotes are zero-copy slices of the line.

use bytes::Bytes;

/// C's `isspace` in the "C" locale, which Redis uses to skip blanks.
#[inline]
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// The value of an ASCII hex digit.
#[inline]
fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// True when the byte after a closing quote at `i` is acceptable: a blank or
/// the end of the line.
#[inline]
fn quote_may_close(line: &[u8], i: usize) -> bool {
    line.get(i + 1).is_none_or(|&b| is_space(b))
}

/// Splits `frame[..end]` into arguments appended to `args`. False means
/// unbalanced quotes (some arguments may have been appended already). The
/// line holds no NUL byte: the caller's line search stops at one.
pub(crate) fn split_inline(frame: &Bytes, end: usize, args: &mut Vec<Bytes>) -> bool {
    let Some(line) = frame.get(..end) else {
        return false;
    };
    let mut i = 0;
    loop {
        while line.get(i).is_some_and(|&b| is_space(b)) {
            i += 1;
        }
        if i >= line.len() {
            return true;
        }
        let start = i;
        // Set once a quote is met: the argument then differs from the raw
        // bytes and is built here instead of sliced.
        let mut owned: Option<Vec<u8>> = None;
        let mut in_double = false;
        let mut in_single = false;
        let token_end;
        loop {
            let c = line.get(i).copied();
            if in_double {
                let out = owned.get_or_insert_with(Vec::new);
                match c {
                    None => return false,
                    Some(b'\\') => {
                        let hex = match (line.get(i + 1), line.get(i + 2), line.get(i + 3)) {
                            (Some(b'x'), Some(&h), Some(&l)) => {
                                hex_value(h).zip(hex_value(l)).map(|(h, l)| h * 16 + l)
                            }
                            _ => None,
                        };
                        if let Some(byte) = hex {
                            out.push(byte);
                            i += 4;
                        } else if let Some(&e) = line.get(i + 1) {
                            out.push(match e {
                                b'n' => b'\n',
                                b'r' => b'\r',
                                b't' => b'\t',
                                b'b' => 0x08,
                                b'a' => 0x07,
                                other => other,
                            });
                            i += 2;
                        } else {
                            // A backslash ending the line is kept, and the
                            // quote is then unterminated.
                            out.push(b'\\');
                            i += 1;
                        }
                    }
                    Some(b'"') => {
                        if !quote_may_close(line, i) {
                            return false;
                        }
                        i += 1;
                        token_end = i;
                        break;
                    }
                    Some(b) => {
                        out.push(b);
                        i += 1;
                    }
                }
            } else if in_single {
                let out = owned.get_or_insert_with(Vec::new);
                match c {
                    None => return false,
                    Some(b'\\') if line.get(i + 1) == Some(&b'\'') => {
                        out.push(b'\'');
                        i += 2;
                    }
                    Some(b'\'') => {
                        if !quote_may_close(line, i) {
                            return false;
                        }
                        i += 1;
                        token_end = i;
                        break;
                    }
                    Some(b) => {
                        out.push(b);
                        i += 1;
                    }
                }
            } else {
                match c {
                    None | Some(b' ' | b'\n' | b'\r' | b'\t') => {
                        token_end = i;
                        if c.is_some() {
                            i += 1;
                        }
                        break;
                    }
                    Some(q @ (b'"' | b'\'')) => {
                        // A closing quote ends the argument, so this is the
                        // first quote of it: copy the unquoted prefix.
                        owned = Some(line[start..i].to_vec());
                        if q == b'"' {
                            in_double = true;
                        } else {
                            in_single = true;
                        }
                        i += 1;
                    }
                    Some(b) => {
                        if let Some(out) = owned.as_mut() {
                            out.push(b);
                        }
                        i += 1;
                    }
                }
            }
        }
        args.push(match owned {
            Some(out) => Bytes::from(out),
            None => frame.slice(start..token_end),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(line: &[u8]) -> Option<Vec<Vec<u8>>> {
        let frame = Bytes::copy_from_slice(line);
        let mut args = Vec::new();
        split_inline(&frame, line.len(), &mut args)
            .then(|| args.into_iter().map(|b| b.to_vec()).collect())
    }

    fn ok(line: &[u8], want: &[&[u8]]) {
        let want: Vec<Vec<u8>> = want.iter().map(|w| w.to_vec()).collect();
        assert_eq!(
            split(line),
            Some(want),
            "line {:?}",
            String::from_utf8_lossy(line)
        );
    }

    #[test]
    fn plain_words() {
        ok(b"", &[]);
        ok(b"   ", &[]);
        ok(b"\x0b\x0c", &[]);
        ok(b"PING", &[b"PING"]);
        ok(b"  SET  k   v ", &[b"SET", b"k", b"v"]);
        ok(b"a\tb\rc", &[b"a", b"b", b"c"]);
        // Vertical tab and form feed are skipped before an argument but are
        // part of one once it has started, as in sdssplitargs.
        ok(b"\x0bab", &[b"ab"]);
        ok(b"a\x0bb", &[b"a\x0bb"]);
        ok(b"\xff\xfe", &[b"\xff\xfe"]);
    }

    #[test]
    fn double_quotes() {
        ok(b"ECHO \"a\\x41\\n\\q\"", &[b"ECHO", b"aA\nq"]);
        ok(b"\"\\r\\t\\b\\a\\\\\\\"\"", &[b"\r\t\x08\x07\\\""]);
        ok(b"\"\\x4\"", &[b"x4"]);
        ok(b"\"\\xZZ\"", &[b"xZZ"]);
        ok(b"\"\\xff\\x00\"", &[b"\xff\x00"]);
        ok(b"\"\"", &[b""]);
        ok(b"a\"b c\"", &[b"ab c"]);
        ok(b"\"x\"\x0b", &[b"x"]);
        ok(b"\"a b\" c", &[b"a b", b"c"]);
        ok(b"\"a\"\rb", &[b"a", b"b"]);
    }

    #[test]
    fn single_quotes() {
        ok(b"'a\\'b'", &[b"a'b"]);
        ok(b"'a\\nb'", &[b"a\\nb"]);
        ok(b"''", &[b""]);
        ok(b"x'y z' w", &[b"xy z", b"w"]);
    }

    #[test]
    fn unbalanced() {
        for line in [
            &b"\"ab"[..],
            b"\"ab\"c",
            b"'ab",
            b"'ab'c",
            b"\"a\\\"",
            b"\"a\\",
            b"ECHO \"",
            b"'\\'",
        ] {
            assert_eq!(
                split(line),
                None,
                "line {:?}",
                String::from_utf8_lossy(line)
            );
        }
    }
}
