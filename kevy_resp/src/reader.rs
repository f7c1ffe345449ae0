//! The reply reader behind `parse_reply` and `reply_frame_len`: a one-shot
//! recursive descent over a byte slice, bounded in depth, that either builds
//! the [`Reply`] or only walks the frame to find where it ends. Streamed
//! strings (`$?`) and aggregates (`*?` … `.`) are read whole; attributes
//! (`|`) are read and dropped.

use bytes::Bytes;

use crate::client::{ReplyParseError, MAX_REPLY_DEPTH};
use crate::reply::Reply;

/// `Ok(None)` means "incomplete".
type Res<T> = Result<Option<T>, ReplyParseError>;

/// Unwraps a step's value, returning "incomplete" from the caller.
macro_rules! need {
    ($e:expr) => {
        match $e? {
            Some(v) => v,
            None => return Ok(None),
        }
    };
}

/// A signed decimal with an optional sign, within `i64`.
fn parse_int(s: &[u8]) -> Option<i64> {
    let (neg, digits) = match s.split_first() {
        Some((b'-', rest)) => (true, rest),
        Some((b'+', rest)) => (false, rest),
        _ => (false, s),
    };
    if digits.is_empty() {
        return None;
    }
    let mut v: i64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        let d = i64::from(d - b'0');
        v = v.checked_mul(10)?;
        v = if neg {
            v.checked_sub(d)?
        } else {
            v.checked_add(d)?
        };
    }
    Some(v)
}

/// What a length line announced.
enum Len {
    /// `-1`: a null.
    Null,
    /// `?`: a streamed string or aggregate.
    Streamed,
    /// A length or count.
    Count(usize),
}

/// A one-shot recursive descent over `buf`.
pub(crate) struct Parser<'a> {
    pub(crate) buf: &'a [u8],
    pub(crate) pos: usize,
    /// False for `reply_frame_len`: walk the frame, build placeholders.
    pub(crate) build: bool,
}

impl<'a> Parser<'a> {
    /// The rest of the line, up to its CRLF, which is consumed.
    fn line(&mut self) -> Res<&'a [u8]> {
        let rest = self.buf.get(self.pos..).unwrap_or_default();
        let Some(nl) = rest.iter().position(|&b| b == b'\n') else {
            return Ok(None);
        };
        if nl == 0 || rest[nl - 1] != b'\r' {
            return Err(ReplyParseError::MissingCrlf);
        }
        self.pos += nl + 1;
        Ok(Some(&rest[..nl - 1]))
    }

    /// A length or count line.
    fn len(&mut self) -> Res<Len> {
        let line = need!(self.line());
        if line == b"?" {
            return Ok(Some(Len::Streamed));
        }
        match parse_int(line) {
            Some(-1) => Ok(Some(Len::Null)),
            Some(n) if n >= 0 => usize::try_from(n)
                .map(|n| Some(Len::Count(n)))
                .map_err(|_| ReplyParseError::InvalidLength),
            _ => Err(ReplyParseError::InvalidLength),
        }
    }

    /// `n` bytes of blob data and their CRLF.
    fn blob(&mut self, n: usize) -> Res<&'a [u8]> {
        let end = self
            .pos
            .checked_add(n)
            .ok_or(ReplyParseError::InvalidLength)?;
        if end.saturating_add(2) > self.buf.len() {
            return Ok(None);
        }
        if &self.buf[end..end + 2] != b"\r\n" {
            return Err(ReplyParseError::MissingCrlf);
        }
        let data = &self.buf[self.pos..end];
        self.pos = end + 2;
        Ok(Some(data))
    }

    /// A blob body after its `$`/`!`/`=` type byte; `None` inside for `-1`.
    fn blob_body(&mut self, allow_null: bool) -> Res<Option<Bytes>> {
        match need!(self.len()) {
            Len::Null if allow_null => Ok(Some(None)),
            Len::Null => Err(ReplyParseError::InvalidLength),
            Len::Count(n) => {
                let data = need!(self.blob(n));
                Ok(Some(Some(self.bytes(data))))
            }
            Len::Streamed => {
                // `;<n>\r\n<data>\r\n` chunks, ended by `;0\r\n`.
                let mut all = Vec::new();
                loop {
                    match self.buf.get(self.pos) {
                        None => return Ok(None),
                        Some(b';') => self.pos += 1,
                        Some(&b) => return Err(ReplyParseError::UnknownType(b)),
                    }
                    let Len::Count(n) = need!(self.len()) else {
                        return Err(ReplyParseError::InvalidLength);
                    };
                    if n == 0 {
                        return Ok(Some(Some(Bytes::from(all))));
                    }
                    let data = need!(self.blob(n));
                    if self.build {
                        all.extend_from_slice(data);
                    }
                }
            }
        }
    }

    /// A copy of `data`, or nothing when only walking.
    fn bytes(&self, data: &[u8]) -> Bytes {
        if self.build {
            Bytes::copy_from_slice(data)
        } else {
            Bytes::new()
        }
    }

    /// The elements of an aggregate of `count` (values, or pairs when
    /// `pairs`) after its header line; `None` count means streamed.
    /// Returns the elements (none when only walking) and how many there were.
    fn items(&mut self, count: Option<usize>, depth: usize) -> Res<(Vec<Reply>, usize)> {
        let per = if self.build { 1 } else { 0 };
        let mut out = Vec::with_capacity(count.unwrap_or(0).min(1024) * per);
        let mut seen = 0;
        loop {
            match count {
                Some(n) if seen == n => return Ok(Some((out, seen))),
                Some(_) => {}
                None => match self.buf.get(self.pos) {
                    None => return Ok(None),
                    Some(b'.') => {
                        let _ = need!(self.line());
                        return Ok(Some((out, seen)));
                    }
                    Some(_) => {}
                },
            }
            let v = need!(self.value(depth + 1));
            seen += 1;
            if self.build {
                out.push(v);
            }
        }
    }

    /// An aggregate's element count (`None` when streamed), or `Null`.
    fn count(&mut self, pairs: bool) -> Res<Result<Option<usize>, ()>> {
        Ok(Some(match need!(self.len()) {
            Len::Null => Err(()),
            Len::Streamed => Ok(None),
            Len::Count(n) if pairs => Ok(Some(
                n.checked_mul(2).ok_or(ReplyParseError::InvalidLength)?,
            )),
            Len::Count(n) => Ok(Some(n)),
        }))
    }

    /// One complete reply starting at `self.pos`.
    pub(crate) fn value(&mut self, depth: usize) -> Res<Reply> {
        if depth > MAX_REPLY_DEPTH {
            return Err(ReplyParseError::TooDeep);
        }
        let kind = loop {
            let Some(&kind) = self.buf.get(self.pos) else {
                return Ok(None);
            };
            self.pos += 1;
            if kind != b'|' {
                break kind;
            }
            // An attribute map describes the reply that follows: read it
            // (nested values count towards the depth) and drop it.
            let Ok(count) = need!(self.count(true)) else {
                return Err(ReplyParseError::InvalidLength);
            };
            let walk = std::mem::replace(&mut self.build, false);
            let items = self.items(count, depth);
            self.build = walk;
            let _ = need!(items);
        };
        let reply = match kind {
            b'+' => {
                let line = need!(self.line());
                Reply::Simple(self.bytes(line))
            }
            b'-' => {
                let line = need!(self.line());
                Reply::Error(self.bytes(line))
            }
            b':' => {
                let line = need!(self.line());
                Reply::Int(parse_int(line).ok_or(ReplyParseError::InvalidInteger)?)
            }
            b'$' => match need!(self.blob_body(true)) {
                Some(data) => Reply::Bulk(data),
                None => Reply::Nil,
            },
            b'!' => match need!(self.blob_body(false)) {
                Some(data) => Reply::Error(data),
                None => return Err(ReplyParseError::InvalidLength),
            },
            b'=' => match need!(self.blob_body(false)) {
                Some(data) => verbatim(data),
                None => return Err(ReplyParseError::InvalidLength),
            },
            b'(' => {
                let line = need!(self.line());
                Reply::BigNumber(self.bytes(line))
            }
            b'_' => {
                if !need!(self.line()).is_empty() {
                    return Err(ReplyParseError::InvalidNull);
                }
                Reply::Nil
            }
            b'#' => match need!(self.line()) {
                b"t" => Reply::Bool(true),
                b"f" => Reply::Bool(false),
                _ => return Err(ReplyParseError::InvalidBoolean),
            },
            b',' => {
                let line = need!(self.line());
                let v = std::str::from_utf8(line)
                    .ok()
                    .and_then(|s| s.parse::<f64>().ok())
                    .ok_or(ReplyParseError::InvalidDouble)?;
                Reply::Double(v)
            }
            b'*' | b'~' | b'>' => {
                let count = match need!(self.count(false)) {
                    Ok(count) => count,
                    Err(()) if kind == b'*' => return Ok(Some(Reply::NilArray)),
                    Err(()) => return Err(ReplyParseError::InvalidLength),
                };
                let (items, _) = need!(self.items(count, depth));
                match kind {
                    b'*' => Reply::Array(items),
                    b'~' => Reply::Set(items),
                    _ => Reply::Push(items),
                }
            }
            b'%' => {
                let Ok(count) = need!(self.count(true)) else {
                    return Err(ReplyParseError::InvalidLength);
                };
                let (items, seen) = need!(self.items(count, depth));
                if seen % 2 != 0 {
                    return Err(ReplyParseError::InvalidLength);
                }
                let mut pairs = Vec::with_capacity(items.len() / 2);
                let mut it = items.into_iter();
                while let (Some(k), Some(v)) = (it.next(), it.next()) {
                    pairs.push((k, v));
                }
                Reply::Map(pairs)
            }
            other => return Err(ReplyParseError::UnknownType(other)),
        };
        Ok(Some(reply))
    }
}

/// A verbatim payload `fmt:text` as a reply.
fn verbatim(data: Bytes) -> Reply {
    let format = match data.get(..4) {
        Some(b"txt:") => "txt",
        Some(b"mkd:") => "mkd",
        _ => return Reply::Bulk(data),
    };
    Reply::Verbatim(format, data.slice(4..))
}

#[cfg(test)]
mod tests {
    use crate::client::testutil::*;
    use crate::client::ReplyParseError;
    use crate::Reply;
    use bytes::Bytes;

    #[test]
    fn resp2_types() {
        assert_eq!(one(b"+OK\r\n"), Reply::ok());
        assert_eq!(one(b"-ERR x y\r\n"), Reply::error("ERR x y"));
        assert_eq!(one(b":-42\r\n"), Reply::Int(-42));
        assert_eq!(one(b":+7\r\n"), Reply::Int(7));
        assert_eq!(one(b"$3\r\nfoo\r\n"), b("foo"));
        assert_eq!(one(b"$0\r\n\r\n"), b(""));
        assert_eq!(one(b"$-1\r\n"), Reply::Nil);
        assert_eq!(one(b"*-1\r\n"), Reply::NilArray);
        assert_eq!(one(b"*0\r\n"), Reply::Array(vec![]));
        assert_eq!(
            one(b"*2\r\n$1\r\na\r\n*1\r\n:1\r\n"),
            Reply::Array(vec![b("a"), Reply::Array(vec![Reply::Int(1)])])
        );
    }

    #[test]
    fn resp3_types() {
        assert_eq!(one(b"_\r\n"), Reply::Nil);
        assert_eq!(one(b"#t\r\n"), Reply::Bool(true));
        assert_eq!(one(b"#f\r\n"), Reply::Bool(false));
        assert_eq!(one(b",1.1000000000000001\r\n"), Reply::Double(1.1));
        assert_eq!(one(b",inf\r\n"), Reply::Double(f64::INFINITY));
        assert_eq!(one(b",-inf\r\n"), Reply::Double(f64::NEG_INFINITY));
        assert!(matches!(one(b",nan\r\n"), Reply::Double(v) if v.is_nan()));
        assert_eq!(one(b",1e+21\r\n"), Reply::Double(1e21));
        assert_eq!(
            one(b"(3492890328409238509324850943850943825024385\r\n"),
            Reply::BigNumber(Bytes::from_static(
                b"3492890328409238509324850943850943825024385"
            ))
        );
        assert_eq!(
            one(b"=15\r\ntxt:Some string\r\n"),
            Reply::Verbatim("txt", Bytes::from_static(b"Some string"))
        );
        assert_eq!(one(b"=7\r\nxyz:abc\r\n"), b("xyz:abc"));
        assert_eq!(one(b"!11\r\nSYNTAX oops\r\n"), Reply::error("SYNTAX oops"));
        assert_eq!(
            one(b"%2\r\n$1\r\nf\r\n$1\r\nv\r\n+n\r\n,0.5\r\n"),
            Reply::Map(vec![
                (b("f"), b("v")),
                (Reply::simple("n"), Reply::Double(0.5))
            ])
        );
        assert_eq!(one(b"~1\r\n$1\r\nx\r\n"), Reply::Set(vec![b("x")]));
        assert_eq!(
            one(b">2\r\n$7\r\nmessage\r\n:1\r\n"),
            Reply::Push(vec![b("message"), Reply::Int(1)])
        );
    }

    #[test]
    fn attributes_are_dropped() {
        assert_eq!(
            one(b"|1\r\n+key-popularity\r\n%1\r\n$1\r\na\r\n,0.19\r\n*1\r\n:2\r\n"),
            Reply::Array(vec![Reply::Int(2)])
        );
        assert_eq!(
            one(b"*1\r\n|0\r\n|0\r\n:1\r\n"),
            Reply::Array(vec![Reply::Int(1)])
        );
    }

    #[test]
    fn streamed_types() {
        assert_eq!(one(b"$?\r\n;4\r\nHell\r\n;2\r\no!\r\n;0\r\n"), b("Hello!"));
        assert_eq!(
            one(b"*?\r\n:1\r\n$1\r\na\r\n.\r\n"),
            Reply::Array(vec![Reply::Int(1), b("a")])
        );
        assert_eq!(
            one(b"%?\r\n+a\r\n:1\r\n.\r\n"),
            Reply::Map(vec![(Reply::simple("a"), Reply::Int(1))])
        );
        assert_eq!(
            parse(b"%?\r\n+a\r\n.\r\n"),
            Err(ReplyParseError::InvalidLength)
        );
    }
}
