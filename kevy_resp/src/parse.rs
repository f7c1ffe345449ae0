//! The incremental request parser: turns the bytes a client sent into
//! commands, exactly as Redis 7.0's `processMultibulkBuffer` and
//! `processInlineBuffer` (networking.c) do, including their error strings and
//! their quirks (the two bytes after a bulk are skipped unchecked, a NUL byte
//! in a header line stalls the request until the 64 KiB limit trips,
//! non-positive multibulk counts are silently ignored). A request is not
//! consumed until it is complete: the parser records how far it got, so a
//! frame that arrives in pieces is scanned once, and the finished frame is
//! split off the buffer in one piece and sliced into zero-copy arguments.

use std::fmt;

use bytes::{Bytes, BytesMut};

use crate::inline::split_inline;

/// Redis's `PROTO_INLINE_MAX_SIZE`: an inline request, a multibulk count line
/// or a bulk length line with no line end within this many buffered bytes is
/// a protocol error.
pub(crate) const INLINE_MAX_SIZE: usize = 64 * 1024;

/// Largest multibulk count a client that still has to authenticate may send.
const UNAUTH_MAX_MULTIBULK: i64 = 10;

/// Largest bulk length a client that still has to authenticate may send.
const UNAUTH_MAX_BULK: u64 = 16384;

/// Redis's `LONG_STR_SIZE`: a count line this long or longer is not a number.
const LONG_STR_SIZE: usize = 21;

/// The protocol limits a connection is held to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// `proto-max-bulk-len`: the largest bulk argument accepted (default 512 MiB).
    pub max_bulk_len: usize,
    /// The largest multibulk count accepted (Redis hard-codes `INT_MAX`).
    pub max_multibulk_len: usize,
    /// False while the connection still has to `AUTH` (a password is set and
    /// the client has not authenticated). Redis 7.0.15 then refuses
    /// multibulk counts above 10 and bulk lengths above 16384.
    pub authenticated: bool,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bulk_len: 512 * 1024 * 1024,
            max_multibulk_len: i32::MAX as usize,
            authenticated: true,
        }
    }
}

/// A malformed request. The server replies with [`ProtocolError::reply_bytes`]
/// and closes the connection after the reply is written, as Redis does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProtocolError {
    /// No newline within 64 KiB of an inline request.
    TooBigInlineRequest,
    /// An inline request whose quoting does not close properly.
    UnbalancedQuotes,
    /// No line end within 64 KiB of a multibulk count (`*N`).
    TooBigMultibulkCount,
    /// A multibulk count that is not a number or exceeds the limit.
    InvalidMultibulkLength,
    /// A multibulk count above 10 from a client that has not authenticated.
    UnauthenticatedMultibulkLength,
    /// A multibulk element that does not start with `$`; holds the byte found.
    ExpectedDollar(u8),
    /// No line end within 64 KiB of a bulk length (`$N`).
    TooBigBulkCount,
    /// A bulk length that is negative, not a number, or above `proto-max-bulk-len`.
    InvalidBulkLength,
    /// A bulk length above 16384 from a client that has not authenticated.
    UnauthenticatedBulkLength,
}

impl ProtocolError {
    /// The text after `Protocol error: `, byte for byte as Redis writes it.
    fn detail(&self) -> &'static str {
        match self {
            ProtocolError::TooBigInlineRequest => "too big inline request",
            ProtocolError::UnbalancedQuotes => "unbalanced quotes in request",
            ProtocolError::TooBigMultibulkCount => "too big mbulk count string",
            ProtocolError::InvalidMultibulkLength => "invalid multibulk length",
            ProtocolError::UnauthenticatedMultibulkLength => "unauthenticated multibulk length",
            ProtocolError::ExpectedDollar(_) => "expected '$', got '",
            ProtocolError::TooBigBulkCount => "too big bulk count string",
            ProtocolError::InvalidBulkLength => "invalid bulk length",
            ProtocolError::UnauthenticatedBulkLength => "unauthenticated bulk length",
        }
    }

    /// The exact error reply text, without the leading `-` and trailing CRLF,
    /// e.g. `ERR Protocol error: invalid multibulk length`.
    ///
    /// For [`ProtocolError::ExpectedDollar`] the offending byte is written raw,
    /// as Redis does with `%c`, except that CR and LF become spaces (Redis
    /// maps them so the reply stays one line). Use this, not
    /// [`ProtocolError::reply_text`], when writing to the wire.
    pub fn reply_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64);
        out.extend_from_slice(b"ERR Protocol error: ");
        out.extend_from_slice(self.detail().as_bytes());
        if let ProtocolError::ExpectedDollar(b) = *self {
            // A NUL never reaches here: it stalls the header scan instead.
            out.push(if b == b'\r' || b == b'\n' { b' ' } else { b });
            out.push(b'\'');
        }
        out
    }

    /// [`ProtocolError::reply_bytes`] as a string; a non-UTF-8 byte in
    /// `ExpectedDollar` shows as U+FFFD, so prefer `reply_bytes` on the wire.
    pub fn reply_text(&self) -> String {
        String::from_utf8_lossy(&self.reply_bytes()).into_owned()
    }
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = self.reply_text();
        f.write_str(text.strip_prefix("ERR ").unwrap_or(&text))
    }
}

impl std::error::Error for ProtocolError {}

/// Where the parser stands inside the request at the front of the buffer.
/// Every offset is from the front of the caller's buffer, which is not
/// consumed until the request is complete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// At a request boundary.
    Idle,
    /// Looking for the `\n` ending an inline request; `scan` is where the
    /// search resumes (everything before it holds neither `\n` nor NUL).
    Inline { scan: usize },
    /// Looking for the `\r` ending the `*N` line; `scan` as above.
    MultibulkCount { scan: usize },
    /// Inside a multibulk request with `remaining` arguments still to read.
    /// `pos` is where the next `$N` line (or, with `bulk` set, the next
    /// argument's data) starts; `scan` is where the `\r` search resumes.
    Multibulk {
        remaining: usize,
        pos: usize,
        scan: usize,
        bulk: Option<usize>,
    },
}

/// What a header-line search found.
enum Line {
    /// The line ends (at its `\r` or `\n`) at this offset.
    End(usize),
    /// Not yet: no terminator before the end of the buffer or before a NUL.
    /// Holds where the next search should resume.
    Pending(usize),
}

/// Finds `needle` in `buf[from..]` the way C's `strchr` does on Redis's
/// NUL-terminated query buffer: a NUL byte ends the search unsuccessfully.
#[inline]
fn find_line_end(buf: &[u8], from: usize, needle: u8) -> Line {
    let mut i = from;
    while let Some(&b) = buf.get(i) {
        if b == needle {
            return Line::End(i);
        }
        if b == 0 {
            // Parked on the NUL: every later search stops here at once, as
            // Redis's does, until the size limit is reached.
            return Line::Pending(i);
        }
        i += 1;
    }
    Line::Pending(i)
}

/// Redis's `string2ll`: strict decimal, optional `-`, no `+`, no leading
/// zeros, no `-0`, shorter than 21 bytes, within `i64`.
pub(crate) fn string2ll(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() >= LONG_STR_SIZE {
        return None;
    }
    if s == b"0" {
        return Some(0);
    }
    let (negative, digits) = match s.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, s),
    };
    match digits.first() {
        Some(b'1'..=b'9') => {}
        _ => return None,
    }
    let mut v: u64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
    }
    if negative {
        if v > i64::MAX as u64 + 1 {
            return None;
        }
        Some((v as i64).wrapping_neg())
    } else {
        i64::try_from(v).ok()
    }
}

/// The resumable request parser of one connection.
///
/// Feed it the connection's read buffer after every read; it returns one
/// command per call. Between calls the caller may only append to the buffer
/// (reading more data): the bytes of a request in progress stay at its front
/// until the whole request has arrived. Call [`RequestParser::reset`] when
/// the buffer is replaced.
///
/// The returned arguments share the buffer's allocation. A store that keeps
/// an argument for long may prefer to copy a small one rather than pin the
/// whole read buffer it came from.
#[derive(Debug, Clone)]
pub struct RequestParser {
    state: State,
    /// `(offset, len)` of each argument of the multibulk request in progress.
    spans: Vec<(usize, usize)>,
}

impl Default for RequestParser {
    fn default() -> Self {
        Self::new()
    }
}

impl RequestParser {
    /// A parser at a request boundary.
    pub fn new() -> Self {
        RequestParser {
            state: State::Idle,
            spans: Vec::new(),
        }
    }

    /// Forgets any request in progress.
    pub fn reset(&mut self) {
        self.state = State::Idle;
        self.spans.clear();
    }

    /// True while part of a request has been seen but not all of it.
    pub fn is_mid_request(&self) -> bool {
        self.state != State::Idle
    }

    /// While a bulk argument's data is awaited: the buffer length at which
    /// that argument (and its CRLF) will be complete. A server may use it to
    /// size its next read, but should cap what it reserves ahead of the data
    /// (a client can declare 512 MiB and send nothing).
    pub fn wanted_len(&self) -> Option<usize> {
        match self.state {
            State::Multibulk {
                pos,
                bulk: Some(len),
                ..
            } => Some(pos.saturating_add(len).saturating_add(2)),
            _ => None,
        }
    }

    /// The furthest buffer offset the saved state refers to.
    fn high_water(&self) -> usize {
        match self.state {
            State::Idle => 0,
            State::Inline { scan } | State::MultibulkCount { scan } => scan,
            State::Multibulk { pos, scan, .. } => pos.max(scan),
        }
    }

    /// Parses the next complete command from the front of `buf` and removes
    /// its bytes. `Ok(None)` means more data is needed: what was already
    /// scanned is remembered and not scanned again. Empty inline lines and
    /// multibulk counts of zero or less are skipped, as in Redis.
    ///
    /// After an error the connection is unusable: reply with the error and
    /// close it.
    pub fn parse(
        &mut self,
        buf: &mut BytesMut,
        limits: &Limits,
    ) -> Result<Option<Vec<Bytes>>, ProtocolError> {
        if self.high_water() > buf.len() {
            // The caller broke the append-only contract; start afresh rather
            // than index out of bounds.
            self.reset();
        }
        loop {
            match self.state {
                State::Idle => match buf.first() {
                    None => return Ok(None),
                    Some(b'*') => self.state = State::MultibulkCount { scan: 1 },
                    Some(_) => self.state = State::Inline { scan: 0 },
                },
                State::Inline { scan } => match self.parse_inline(buf, scan)? {
                    Step::Command(args) => return Ok(Some(args)),
                    Step::Continue => {}
                    Step::Incomplete => return Ok(None),
                },
                State::MultibulkCount { scan } => match self.parse_count(buf, scan, limits)? {
                    Step::Command(args) => return Ok(Some(args)),
                    Step::Continue => {}
                    Step::Incomplete => return Ok(None),
                },
                State::Multibulk { .. } => return self.parse_bulks(buf, limits),
            }
        }
    }

    /// An inline request: one line, split by `sdssplitargs` rules.
    fn parse_inline(&mut self, buf: &mut BytesMut, scan: usize) -> Result<Step, ProtocolError> {
        let nl = match find_line_end(buf, scan, b'\n') {
            Line::End(nl) => nl,
            Line::Pending(scan) => {
                if buf.len() > INLINE_MAX_SIZE {
                    return Err(ProtocolError::TooBigInlineRequest);
                }
                self.state = State::Inline { scan };
                return Ok(Step::Incomplete);
            }
        };
        let end = if nl > 0 && buf[nl - 1] == b'\r' {
            nl - 1
        } else {
            nl
        };
        let frame = buf.split_to(nl + 1).freeze();
        self.state = State::Idle;
        let args = split_inline(&frame, end).ok_or(ProtocolError::UnbalancedQuotes)?;
        Ok(if args.is_empty() {
            Step::Continue
        } else {
            Step::Command(args)
        })
    }

    /// The `*N` line opening a multibulk request.
    fn parse_count(
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
        self.spans.clear();
        self.state = State::Multibulk {
            remaining: count as usize,
            pos,
            scan: pos,
            bulk: None,
        };
        Ok(Step::Continue)
    }

    /// The `$N` lines and data of a multibulk request, from the saved state.
    fn parse_bulks(
        &mut self,
        buf: &mut BytesMut,
        limits: &Limits,
    ) -> Result<Option<Vec<Bytes>>, ProtocolError> {
        let State::Multibulk {
            mut remaining,
            mut pos,
            mut scan,
            mut bulk,
        } = self.state
        else {
            return Ok(None);
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
            return Ok(None);
        }
        let frame = buf.split_to(pos).freeze();
        let args = self
            .spans
            .iter()
            .map(|&(at, n)| frame.slice(at..at + n))
            .collect();
        self.spans.clear();
        self.state = State::Idle;
        Ok(Some(args))
    }
}

/// A `$N` line read by the general path.
enum Header {
    /// A well-formed non-negative length, and where its `\r` is.
    Len { n: u64, cr: usize },
    /// The line is not complete yet; the search resumes at this offset.
    Pending(usize),
}

/// The fast path for a count or length line: canonical digits (`0`, or up
/// to 18 digits not starting with `0`) from `at` straight to a `\r`. Any
/// other shape returns `None` and goes through the general path, which
/// reaches the same verdict on these lines, just more slowly.
#[inline]
fn canonical_len(buf: &[u8], at: usize) -> Option<(u64, usize)> {
    let first = buf.get(at)?.wrapping_sub(b'0');
    if first > 9 {
        return None;
    }
    let mut v = u64::from(first);
    let mut i = at + 1;
    loop {
        let b = *buf.get(i)?;
        if b == b'\r' {
            return Some((v, i));
        }
        let d = b.wrapping_sub(b'0');
        if d > 9 || v == 0 || i - at >= 18 {
            return None;
        }
        v = v * 10 + u64::from(d);
        i += 1;
    }
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

/// The outcome of one parsing step that does not produce an error.
enum Step {
    /// A complete command.
    Command(Vec<Bytes>),
    /// Keep going from the new state (a request that carried no command,
    /// such as an empty line or `*0`, or a count line that opened a request).
    Continue,
    /// More data is needed.
    Incomplete,
}

#[cfg(test)]
mod tests {
    use super::*;

    type Cmds = Vec<Vec<Vec<u8>>>;

    /// Parses everything in `input` at once: the commands, then the error or
    /// `None` if the parser ended up waiting for more.
    fn run(input: &[u8], limits: &Limits) -> (Cmds, Option<ProtocolError>) {
        let mut p = RequestParser::new();
        let mut buf = BytesMut::from(input);
        let mut cmds = Vec::new();
        loop {
            match p.parse(&mut buf, limits) {
                Ok(Some(args)) => cmds.push(args.iter().map(|a| a.to_vec()).collect()),
                Ok(None) => return (cmds, None),
                Err(e) => return (cmds, Some(e)),
            }
        }
    }

    /// The same, fed one byte at a time.
    fn run_bytewise(input: &[u8], limits: &Limits) -> (Cmds, Option<ProtocolError>) {
        let mut p = RequestParser::new();
        let mut buf = BytesMut::new();
        let mut cmds = Vec::new();
        for &b in input {
            buf.extend_from_slice(&[b]);
            loop {
                match p.parse(&mut buf, limits) {
                    Ok(Some(args)) => cmds.push(args.iter().map(|a| a.to_vec()).collect()),
                    Ok(None) => break,
                    Err(e) => return (cmds, Some(e)),
                }
            }
        }
        (cmds, None)
    }

    /// Checks a transcript, whole and byte by byte.
    fn check(input: &[u8], want: &[&[&[u8]]], err: Option<ProtocolError>) {
        check_with(input, &Limits::default(), want, err);
    }

    fn check_with(input: &[u8], limits: &Limits, want: &[&[&[u8]]], err: Option<ProtocolError>) {
        let want: Cmds = want
            .iter()
            .map(|c| c.iter().map(|a| a.to_vec()).collect())
            .collect();
        let shown = String::from_utf8_lossy(input);
        assert_eq!(run(input, limits), (want.clone(), err), "whole {shown:?}");
        assert_eq!(
            run_bytewise(input, limits),
            (want, err),
            "bytewise {shown:?}"
        );
    }

    const PING: &[&[u8]] = &[b"PING"];

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
    fn nul_in_a_header_line_stalls() {
        // Redis searches header lines with strchr, which stops at NUL.
        check(b"*1\r\n\x00\r\n", &[], None);
        check(b"*1\x00\r\n$4\r\nPING\r\n", &[], None);
        check(b"PING\x00\r\nPING\r\n", &[], None);
        let mut big = b"PING\x00\r\n".to_vec();
        big.resize(70000, b'A');
        assert_eq!(
            run(&big, &Limits::default()),
            (vec![], Some(ProtocolError::TooBigInlineRequest))
        );
        let mut big = b"*1\x00\r\n".to_vec();
        big.resize(70000, b'A');
        assert_eq!(
            run(&big, &Limits::default()),
            (vec![], Some(ProtocolError::TooBigMultibulkCount))
        );
    }

    #[test]
    fn inline_like_redis() {
        check(b"PING\r\n", &[PING], None);
        check(b"\r\n\r\nPING\r\n", &[PING], None);
        check(b"\nPING\n", &[PING], None);
        check(b"   \r\nPING\r\n", &[PING], None);
        check(b"PING\rX\r\n", &[&[b"PING", b"X"]], None);
        check(b"PING", &[], None);
        check(b"ECHO \"a\\x41\\n\\q\"\r\n", &[&[b"ECHO", b"aA\nq"]], None);
        check(b"ECHO 'a\\'b'\r\n", &[&[b"ECHO", b"a'b"]], None);
        check(b"ECHO a\"b c\"\r\n", &[&[b"ECHO", b"ab c"]], None);
        check(b"ECHO \x0bab\r\n", &[&[b"ECHO", b"ab"]], None);
        check(b"ECHO a\x0bb\r\n", &[&[b"ECHO", b"a\x0bb"]], None);
        check(b"ECHO \"x\"\x0b\r\n", &[&[b"ECHO", b"x"]], None);
        check(b"ECHO ''\r\n", &[&[b"ECHO", b""]], None);
        check(b"ECHO \"\\x4\"\r\n", &[&[b"ECHO", b"x4"]], None);
        check(b" *1\r\n", &[&[b"*1"]], None);
        check(
            b"SET k v\r\n*1\r\n$4\r\nPING\r\nGET k\n",
            &[&[b"SET", b"k", b"v"], PING, &[b"GET", b"k"]],
            None,
        );
        for bad in [
            &b"ECHO \"ab\"c\r\n"[..],
            b"ECHO \"ab\r\n",
            b"ECHO \"a\\\"\r\n",
            b"ECHO 'x\r\n",
        ] {
            check(bad, &[], Some(ProtocolError::UnbalancedQuotes));
        }
        check(
            b"PING\r\nECHO \"\r\nPING\r\n",
            &[PING],
            Some(ProtocolError::UnbalancedQuotes),
        );
    }

    #[test]
    fn size_limits_like_redis() {
        let d = Limits::default();
        let a = |n: usize| vec![b'A'; n];
        assert_eq!(run(&a(65536), &d), (vec![], None));
        assert_eq!(
            run(&a(65537), &d),
            (vec![], Some(ProtocolError::TooBigInlineRequest))
        );
        // A longer line is fine if its end is already buffered.
        let mut line = b"ECHO ".to_vec();
        line.extend(a(70000));
        line.extend_from_slice(b"\r\n");
        let (cmds, err) = run(&line, &d);
        assert_eq!((cmds.len(), cmds[0][1].len(), err), (1, 70000, None));

        let mut count = b"*".to_vec();
        count.resize(65536, b'1');
        assert_eq!(run(&count, &d), (vec![], None));
        count.push(b'1');
        assert_eq!(
            run(&count, &d),
            (vec![], Some(ProtocolError::TooBigMultibulkCount))
        );

        let mut bulk = b"*1\r\n$".to_vec();
        bulk.resize(4 + 65536, b'1');
        assert_eq!(run(&bulk, &d), (vec![], None));
        bulk.push(b'1');
        assert_eq!(
            run(&bulk, &d),
            (vec![], Some(ProtocolError::TooBigBulkCount))
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
    fn error_replies() {
        use ProtocolError::*;
        let cases: &[(ProtocolError, &[u8])] = &[
            (
                TooBigInlineRequest,
                b"ERR Protocol error: too big inline request",
            ),
            (
                UnbalancedQuotes,
                b"ERR Protocol error: unbalanced quotes in request",
            ),
            (
                TooBigMultibulkCount,
                b"ERR Protocol error: too big mbulk count string",
            ),
            (
                InvalidMultibulkLength,
                b"ERR Protocol error: invalid multibulk length",
            ),
            (
                UnauthenticatedMultibulkLength,
                b"ERR Protocol error: unauthenticated multibulk length",
            ),
            (
                ExpectedDollar(b'X'),
                b"ERR Protocol error: expected '$', got 'X'",
            ),
            (
                ExpectedDollar(b'\r'),
                b"ERR Protocol error: expected '$', got ' '",
            ),
            (
                ExpectedDollar(b'\n'),
                b"ERR Protocol error: expected '$', got ' '",
            ),
            (
                ExpectedDollar(0xff),
                b"ERR Protocol error: expected '$', got '\xff'",
            ),
            (
                TooBigBulkCount,
                b"ERR Protocol error: too big bulk count string",
            ),
            (
                InvalidBulkLength,
                b"ERR Protocol error: invalid bulk length",
            ),
            (
                UnauthenticatedBulkLength,
                b"ERR Protocol error: unauthenticated bulk length",
            ),
        ];
        for (e, want) in cases {
            assert_eq!(e.reply_bytes(), *want);
            assert_eq!(e.reply_text(), String::from_utf8_lossy(want));
            assert_eq!(format!("ERR {e}"), e.reply_text());
        }
    }

    #[test]
    fn string2ll_is_strict() {
        assert_eq!(string2ll(b"0"), Some(0));
        assert_eq!(string2ll(b"-1"), Some(-1));
        assert_eq!(string2ll(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(string2ll(b"-9223372036854775808"), Some(i64::MIN));
        for bad in [
            &b""[..],
            b"-",
            b"-0",
            b"00",
            b"01",
            b"+1",
            b" 1",
            b"1 ",
            b"9223372036854775808",
            b"-9223372036854775809",
            b"99999999999999999999",
            b"1a",
        ] {
            assert_eq!(string2ll(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
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

    #[test]
    fn arguments_are_slices_of_the_buffer() {
        let mut p = RequestParser::new();
        let mut buf = BytesMut::from(&b"*2\r\n$3\r\nSET\r\n$5\r\nvalue\r\nGET k\r\n"[..]);
        let range = buf.as_ptr_range();
        let args = p
            .parse(&mut buf, &Limits::default())
            .unwrap_or_default()
            .unwrap_or_default();
        for a in &args {
            assert!(range.contains(&a.as_ptr()));
        }
        let args = p
            .parse(&mut buf, &Limits::default())
            .unwrap_or_default()
            .unwrap_or_default();
        assert_eq!(args, [&b"GET"[..], b"k"]);
        assert!(range.contains(&args[1].as_ptr()));
        assert!(buf.is_empty());
        assert!(!p.is_mid_request());
    }

    #[test]
    fn shrunken_buffer_does_not_panic() {
        let mut p = RequestParser::new();
        let mut buf = BytesMut::from(&b"*2\r\n$3\r\nGET\r\n$1"[..]);
        assert_eq!(p.parse(&mut buf, &Limits::default()), Ok(None));
        buf.clear();
        buf.extend_from_slice(b"PING\r\n");
        let args = p.parse(&mut buf, &Limits::default());
        assert_eq!(args, Ok(Some(vec![Bytes::from_static(b"PING")])));
    }
}
