//! The client side of the wire, for clients, proxies and test harnesses:
//! encoding a command as a multibulk request, and parsing replies of every
//! RESP2 and RESP3 type (including streamed strings and aggregates, and
//! attributes, which are read and dropped) back into [`Reply`] values. The
//! reply parser is not incremental: on `Ok(None)` call it again with more
//! bytes and it starts over, which is fine for replies but quadratic for a
//! huge reply arriving in many pieces.

use std::fmt;

use crate::encode::{encode_array_header, encode_bulk};
use crate::reader::Parser;
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

#[cfg(test)]
pub(crate) mod testutil {
    //! Helpers shared by the reply parser's unit tests.
    use super::*;

    pub fn parse(input: &[u8]) -> Result<Option<(Reply, usize)>, ReplyParseError> {
        let got = parse_reply(input);
        // The frame walker agrees with the parser on every input.
        assert_eq!(
            reply_frame_len(input),
            got.as_ref()
                .map(|r| r.as_ref().map(|(_, n)| *n))
                .map_err(|e| *e)
        );
        got
    }

    pub fn one(input: &[u8]) -> Reply {
        match parse(input) {
            Ok(Some((r, n))) => {
                assert_eq!(n, input.len(), "whole input consumed");
                // Every proper prefix is incomplete.
                for cut in 0..input.len() {
                    assert_eq!(parse(&input[..cut]), Ok(None), "prefix {cut}");
                }
                r
            }
            other => panic!("{:?}: {other:?}", String::from_utf8_lossy(input)),
        }
    }

    pub fn b(s: &str) -> Reply {
        Reply::bulk(s.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::testutil::*;
    use super::*;

    #[test]
    fn request_encoding() {
        let mut out = Vec::new();
        encode_request(&[b"SET", b"k", b""], &mut out);
        assert_eq!(out, b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n");
    }

    #[test]
    fn pipelined_frames() {
        let input = b"+OK\r\n:1\r\n$-1\r\n";
        assert_eq!(parse(input), Ok(Some((Reply::ok(), 5))));
        assert_eq!(reply_frame_len(&input[5..]), Ok(Some(4)));
    }

    #[test]
    fn malformed() {
        use ReplyParseError::*;
        let cases: &[(&[u8], ReplyParseError)] = &[
            (b"?\r\n", UnknownType(b'?')),
            (b"+OK\n", MissingCrlf),
            (b":12a\r\n", InvalidInteger),
            (b":\r\n", InvalidInteger),
            (b":99999999999999999999\r\n", InvalidInteger),
            (b"$-2\r\n", InvalidLength),
            (b"$x\r\n", InvalidLength),
            (b"$3\r\nfooXY", MissingCrlf),
            (b"*-2\r\n", InvalidLength),
            (b"%-1\r\n", InvalidLength),
            (b"~-1\r\n", InvalidLength),
            (b"!-1\r\n", InvalidLength),
            (b"_x\r\n", InvalidNull),
            (b"#x\r\n", InvalidBoolean),
            (b",abc\r\n", InvalidDouble),
            (b"$?\r\n:1\r\n", UnknownType(b':')),
            (b"%1\r\n+a\r\n?", UnknownType(b'?')),
        ];
        for (input, err) in cases {
            assert_eq!(
                parse(input),
                Err(*err),
                "{:?}",
                String::from_utf8_lossy(input)
            );
        }
    }

    #[test]
    fn huge_declared_sizes_are_just_incomplete() {
        assert_eq!(parse(b"$9223372036854775807\r\nabc"), Ok(None));
        assert_eq!(parse(b"*9223372036854775807\r\n:1\r\n"), Ok(None));
        assert_eq!(parse(b"%9223372036854775807\r\n"), Ok(None));
    }

    #[test]
    fn depth_is_bounded() {
        let mut deep = b"*1\r\n".repeat(MAX_REPLY_DEPTH);
        deep.extend_from_slice(b":1\r\n");
        assert!(matches!(parse(&deep), Ok(Some(_))));
        let mut deeper = b"*1\r\n".repeat(MAX_REPLY_DEPTH + 1);
        deeper.extend_from_slice(b":1\r\n");
        assert_eq!(parse(&deeper), Err(ReplyParseError::TooDeep));
        let attrs = b"|0\r\n".repeat(100_000);
        assert_eq!(parse(&attrs), Ok(None));
    }
}
