//! The multibulk half of the request parser (`*N` then `$len` and data per
//! argument), following Redis's `processMultibulkBuffer`: its checks in its
//! order, and its quirks (the byte after a count's `\r` and the two bytes
//! after a bulk are skipped unchecked; counts of zero or less are ignored).
//! Canonical length lines take a fast path; anything else goes through the
//! general one, which reaches the same verdict on every line.

use bytes::{Bytes, BytesMut};

use crate::error::ProtocolError;
use crate::parse::{Limits, RequestParser, State, Step};
use crate::scan::{canonical_len, find_line_end, string2ll, Line, INLINE_MAX_SIZE};

/// Largest multibulk count a client that still has to authenticate may send.
const UNAUTH_MAX_MULTIBULK: i64 = 10;

/// Largest bulk length a client that still has to authenticate may send.
const UNAUTH_MAX_BULK: u64 = 16384;

impl RequestParser {
    /// The `*N` line opening a multibulk request.
    pub(crate) fn parse_count(
        &mut self,
        buf: &mut BytesMut,
        scan: usize,
        limits: &Limits,
    ) -> Result<Step, ProtocolError> {
        let (count, cr) = match canonical_len(buf, 1) {
            Some((n, cr)) if cr + 1 < buf.len() => (n as i64, cr),
            _ => {
                let cr = match find_line_end(buf, scan, b'\r') {
                    Line::End(cr) if cr + 1 < buf.len() => cr,
                    Line::End(cr) => {
                        self.state = State::MultibulkCount { scan: cr };
                        return Ok(Step::Incomplete);
                    }
                    Line::Pending(scan) => {
                        if buf.len() > INLINE_MAX_SIZE {
                            return Err(ProtocolError::TooBigMultibulkCount);
                        }
                        self.state = State::MultibulkCount { scan };
                        return Ok(Step::Incomplete);
                    }
                };
                match string2ll(&buf[1..cr]) {
                    Some(n) => (n, cr),
                    None => return Err(ProtocolError::InvalidMultibulkLength),
                }
            }
        };
        if count > 0 && count as u64 > limits.max_multibulk_len as u64 {
            return Err(ProtocolError::InvalidMultibulkLength);
        }
        if count > UNAUTH_MAX_MULTIBULK && !limits.authenticated {
            return Err(ProtocolError::UnauthenticatedMultibulkLength);
        }
        // Redis skips the byte after `\r` without checking that it is `\n`.
        let pos = cr + 2;
        if count <= 0 {
            let _ = buf.split_to(pos);
            self.state = State::Idle;
            return Ok(Step::Continue);
        }
        let Ok(remaining) = usize::try_from(count) else {
            return Err(ProtocolError::InvalidMultibulkLength);
        };
        self.spans.clear();
        self.state = State::Multibulk {
            remaining,
            pos,
            scan: pos,
            bulk: None,
        };
        Ok(Step::Continue)
    }

    /// The `$N` lines and data of a multibulk request, from the saved state.
    pub(crate) fn parse_bulks(
        &mut self,
        buf: &mut BytesMut,
        limits: &Limits,
        out: &mut Vec<Bytes>,
    ) -> Result<Step, ProtocolError> {
        let State::Multibulk {
            mut remaining,
            mut pos,
            mut scan,
            mut bulk,
        } = self.state
        else {
            return Ok(Step::Incomplete);
        };
        let len = buf.len();
        while remaining > 0 {
            let n = match bulk {
                Some(n) => n,
                None => {
                    let (n, cr) = match (buf.get(pos), canonical_len(buf, pos + 1)) {
                        (Some(b'$'), Some((n, cr))) if cr + 1 < len => (n, cr),
                        _ => match bulk_header(buf, pos, scan)? {
                            Header::Len { n, cr } => (n, cr),
                            Header::Pending(at) => {
                                scan = at;
                                break;
                            }
                        },
                    };
                    if n > limits.max_bulk_len as u64 {
                        return Err(ProtocolError::InvalidBulkLength);
                    }
                    if n > UNAUTH_MAX_BULK && !limits.authenticated {
                        return Err(ProtocolError::UnauthenticatedBulkLength);
                    }
                    pos = cr + 2;
                    n as usize
                }
            };
            // The two bytes after the data are skipped unchecked, as in Redis.
            match pos.checked_add(n).and_then(|e| e.checked_add(2)) {
                Some(next) if next <= len => {
                    self.spans.push((pos, n));
                    pos = next;
                    scan = next;
                    bulk = None;
                    remaining -= 1;
                }
                _ => {
                    bulk = Some(n);
                    break;
                }
            }
        }
        if remaining > 0 {
            self.state = State::Multibulk {
                remaining,
                pos,
                scan,
                bulk,
            };
            return Ok(Step::Incomplete);
        }
        let frame = buf.split_to(pos).freeze();
        let n = self.spans.len();
        out.reserve(n);
        out.extend(self.spans.iter().map(|&(at, n)| frame.slice(at..at + n)));
        self.spans.clear();
        self.state = State::Idle;
        Ok(Step::Command(n))
    }
}

/// A `$N` line read by the general path.
enum Header {
    /// A well-formed non-negative length, and where its `\r` is.
    Len { n: u64, cr: usize },
    /// The line is not complete yet; the search resumes at this offset.
    Pending(usize),
}

/// The general path for a `$N` line starting at `pos`, with the line-end
/// search resuming at `scan`: Redis's checks, in Redis's order.
#[cold]
fn bulk_header(buf: &[u8], pos: usize, scan: usize) -> Result<Header, ProtocolError> {
    let cr = match find_line_end(buf, scan, b'\r') {
        Line::End(cr) if cr + 1 < buf.len() => cr,
        Line::End(cr) => return Ok(Header::Pending(cr)),
        Line::Pending(at) => {
            if buf.len() - pos > INLINE_MAX_SIZE {
                return Err(ProtocolError::TooBigBulkCount);
            }
            return Ok(Header::Pending(at));
        }
    };
    let first = buf[pos];
    if first != b'$' {
        return Err(ProtocolError::ExpectedDollar(first));
    }
    match string2ll(&buf[pos + 1..cr]) {
        Some(n) if n >= 0 => Ok(Header::Len { n: n as u64, cr }),
        _ => Err(ProtocolError::InvalidBulkLength),
    }
}

#[cfg(test)]
mod tests {
    use crate::parse::testutil::*;
    use crate::{Limits, ProtocolError, RequestParser};
    use bytes::BytesMut;

    /// Every case below was sent to redis-server 7.0.15 over a socket; the
    /// expected outcome is what it did.
    /// Every case below was sent to redis-server 7.0.15 over a socket; the
    /// expected outcome is what it did.
    #[test]
    fn multibulk_like_redis() {
        check(b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n", &[&[b"GET", b"k"]], None);
        check(b"*-5\r\nPING\r\n", &[PING], None);
        check(b"*0\r\nPING\r\n", &[PING], None);
        check(b"*-1\r\n*1\r\n$4\r\nPING\r\n", &[PING], None);
        // The two bytes after a bulk and after a count's `\r` are not checked.
        check(
            b"*1\r\n$4\r\nPINGXY*1\r\n$4\r\nPING\r\n",
            &[PING, PING],
            None,
        );
        check(b"*1\rX$4\r\nPING\r\n", &[PING], None);
        check(b"*1\r\n$0\r\n\r\n", &[&[b""]], None);
        check(
            b"*3\r\n$1\r\n\x00\r\n$2\r\n\r\n\r\n$1\r\n\xff\r\n",
            &[&[b"\x00", b"\r\n", b"\xff"]],
            None,
        );
        // A count that fits but whose arguments never come: just waiting.
        check(b"*2147483647\r\n", &[], None);
        check(b"*1\r\n$536870912\r\n", &[], None);
    }

    #[test]
    fn multibulk_errors_like_redis() {
        use ProtocolError::*;
        for bad in [
            &b"*\r\n"[..],
            b"*abc\r\n",
            b"*01\r\n",
            b"*+1\r\n",
            b"*-0\r\n",
            b"*2147483648\r\n",
            b"*000000000000000000001\r\n",
            b"*00000000000000000001\r\n",
            b"*1 \r\n",
            b"*1\n$4\r\n",
        ] {
            check(bad, &[], Some(InvalidMultibulkLength));
        }
        check(b"*1\r\nX\r\n", &[], Some(ExpectedDollar(b'X')));
        check(b"*1\r\n\r\n", &[], Some(ExpectedDollar(b'\r')));
        check(b"*1\r\n\xff\r\n", &[], Some(ExpectedDollar(0xff)));
        for bad in [
            &b"*1\r\n$-1\r\n"[..],
            b"*1\r\n$abc\r\n",
            b"*1\r\n$\r\n",
            b"*1\r\n$04\r\n",
            b"*1\r\n$536870913\r\n",
            b"*1\r\n$-0\r\n",
        ] {
            check(bad, &[], Some(InvalidBulkLength));
        }
        check(
            b"*1\r\n$4\r\nPING\r\n*1\r\nX\r\n*1\r\n$4\r\nPING\r\n",
            &[PING],
            Some(ExpectedDollar(b'X')),
        );
        check(
            b"PING\r\n*1\r\n$4\r\nPING\r\n*1\r\n$x\r\n",
            &[PING, PING],
            Some(InvalidBulkLength),
        );
    }

    #[test]
    fn unauthenticated_limits_like_redis() {
        use ProtocolError::*;
        let l = Limits {
            authenticated: false,
            ..Limits::default()
        };
        check_with(b"*11\r\n", &l, &[], Some(UnauthenticatedMultibulkLength));
        check_with(b"*10\r\n", &l, &[], None);
        check_with(
            b"*1\r\n$16385\r\n",
            &l,
            &[],
            Some(UnauthenticatedBulkLength),
        );
        check_with(b"*1\r\n$16384\r\n", &l, &[], None);
        check_with(b"*1\r\n$536870913\r\n", &l, &[], Some(InvalidBulkLength));
        check_with(b"*2147483648\r\n", &l, &[], Some(InvalidMultibulkLength));
        check_with(b"*-5\r\nPING\r\n", &l, &[PING], None);
    }

    #[test]
    fn configured_limits() {
        let l = Limits {
            max_bulk_len: 3,
            max_multibulk_len: 2,
            authenticated: true,
        };
        check_with(
            b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n",
            &l,
            &[&[b"GET", b"k"]],
            None,
        );
        check_with(
            b"*3\r\n",
            &l,
            &[],
            Some(ProtocolError::InvalidMultibulkLength),
        );
        check_with(
            b"*1\r\n$4\r\n",
            &l,
            &[],
            Some(ProtocolError::InvalidBulkLength),
        );
    }

    #[test]
    fn declared_bulk_is_not_preallocated() {
        let mut p = RequestParser::new();
        let mut buf = BytesMut::with_capacity(64);
        buf.extend_from_slice(b"*1\r\n$536870912\r\nabc");
        assert_eq!(p.parse(&mut buf, &Limits::default()), Ok(None));
        assert!(buf.capacity() < 1024);
        assert!(p.is_mid_request());
        assert_eq!(p.wanted_len(), Some(16 + 536870912 + 2));
    }
}
