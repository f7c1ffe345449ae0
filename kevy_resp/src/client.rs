//! The client side of the wire, for clients, proxies and test harnesses:
//! encoding a command as a multibulk request, and parsing replies of every
//! RESP2 and RESP3 type (including streamed strings and aggregates, and
//! attributes, which are read and dropped) back into [`Reply`] values. The
//! reply parser is not incremental: on `Ok(None)` call it again with more
//! bytes and it starts over, which is fine for replies but quadratic for a
//! huge reply arriving in many pieces.

use std::fmt;

use bytes::Bytes;

use crate::encode::{encode_array_header, encode_bulk};
use crate::reply::Reply;

/// Deepest nesting of aggregates accepted, so that hostile input cannot
/// exhaust the stack (here or in the drop of the reply built).
pub const MAX_REPLY_DEPTH: usize = 128;

/// Appends `args` as one multibulk request: `*N\r\n` then a bulk per argument.
pub fn encode_request(args: &[&[u8]], out: &mut Vec<u8>) {
    let total: usize = args.iter().map(|a| a.len() + 16).sum();
    out.reserve(total + 16);
    encode_array_header(out, args.len());
    for arg in args {
        encode_bulk(out, arg);
    }
}

/// A reply stream that is not valid RESP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReplyParseError {
    /// A frame starts with a byte that is no RESP type; holds the byte.
    UnknownType(u8),
    /// A length or element count that is not a number or out of range.
    InvalidLength,
    /// An integer (`:`) that is not a number or overflows `i64`.
    InvalidInteger,
    /// A double (`,`) that does not parse.
    InvalidDouble,
    /// A boolean (`#`) other than `t` or `f`.
    InvalidBoolean,
    /// A null (`_`) with something before its CRLF.
    InvalidNull,
    /// A line or a blob not followed by CRLF.
    MissingCrlf,
    /// Aggregates nested deeper than [`MAX_REPLY_DEPTH`].
    TooDeep,
}

impl fmt::Display for ReplyParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReplyParseError::UnknownType(b) => write!(f, "unknown reply type byte {b:#04x}"),
            ReplyParseError::InvalidLength => f.write_str("invalid length in reply"),
            ReplyParseError::InvalidInteger => f.write_str("invalid integer reply"),
            ReplyParseError::InvalidDouble => f.write_str("invalid double reply"),
            ReplyParseError::InvalidBoolean => f.write_str("invalid boolean reply"),
            ReplyParseError::InvalidNull => f.write_str("invalid null reply"),
            ReplyParseError::MissingCrlf => f.write_str("reply line or blob not ended by CRLF"),
            ReplyParseError::TooDeep => f.write_str("reply nested too deeply"),
        }
    }
}

impl std::error::Error for ReplyParseError {}

/// Parses the first complete reply in `buf`: the reply and the number of
/// bytes it took, or `Ok(None)` if `buf` holds only part of it.
///
/// `$-1` and `_` become [`Reply::Nil`], `*-1` [`Reply::NilArray`], a blob
/// error `!` a [`Reply::Error`]. A verbatim string whose format is neither
/// `txt` nor `mkd` becomes a [`Reply::Bulk`] of the whole payload, format
/// prefix included, since [`Reply::Verbatim`] holds a static format name.
pub fn parse_reply(buf: &[u8]) -> Result<Option<(Reply, usize)>, ReplyParseError> {
    let mut p = Parser {
        buf,
        pos: 0,
        build: true,
    };
    Ok(p.value(0)?.map(|r| (r, p.pos)))
}

/// The length of the first complete reply frame in `buf` (attributes in
/// front of it included), or `Ok(None)` if it is incomplete. Builds nothing.
pub fn reply_frame_len(buf: &[u8]) -> Result<Option<usize>, ReplyParseError> {
    let mut p = Parser {
        buf,
        pos: 0,
        build: false,
    };
    Ok(p.value(0)?.map(|_| p.pos))
}

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
        v = if neg { v.checked_sub(d)? } else { v.checked_add(d)? };
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
struct Parser<'a> {
    buf: &'a [u8],
    pos: usize,
    /// False for [`reply_frame_len`]: walk the frame, build placeholders.
    build: bool,
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
    fn items(&mut self, count: Option<usize>, depth: usize) -> Res<Vec<Reply>> {
        let per = if self.build { 1 } else { 0 };
        let mut out = Vec::with_capacity(count.unwrap_or(0).min(1024) * per);
        let mut left = count;
        loop {
            match left {
                Some(0) => return Ok(Some(out)),
                Some(ref mut n) => *n -= 1,
                None => match self.buf.get(self.pos) {
                    None => return Ok(None),
                    Some(b'.') => {
                        let _ = need!(self.line());
                        return Ok(Some(out));
                    }
                    Some(_) => {}
                },
            }
            let v = need!(self.value(depth + 1));
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
    fn value(&mut self, depth: usize) -> Res<Reply> {
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
                let items = need!(self.items(count, depth));
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
                let items = need!(self.items(count, depth));
                if items.len() % 2 != 0 {
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
