//! The incremental request parser: turns the bytes a client sent into
//! commands exactly as Redis 7.0's `processInputBuffer` (networking.c) does.
//! This file holds the parser's state machine and the inline half; the
//! multibulk half is in `multibulk.rs`. A request is not consumed until it
//! is complete: the parser records how far it got, so a frame that arrives
//! in pieces is scanned once, and the finished frame is split off the buffer
//! in one piece and sliced into zero-copy arguments.

use bytes::{Bytes, BytesMut};

use crate::error::ProtocolError;
use crate::inline::split_inline;
use crate::scan::{find_line_end, Line, INLINE_MAX_SIZE};

/// The protocol limits a connection is held to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// `proto-max-bulk-len`: the largest bulk argument accepted (default
    /// 512 MiB). Redis does not apply it to the link from its master; a
    /// replica's parser for that link would use `usize::MAX`.
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

/// Where the parser stands inside the request at the front of the buffer.
/// Every offset is from the front of the caller's buffer, which is not
/// consumed until the request is complete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum State {
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
    pub(crate) state: State,
    /// `(offset, len)` of each argument of the multibulk request in progress.
    pub(crate) spans: Vec<(usize, usize)>,
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
        let mut args = Vec::new();
        Ok(self.parse_append(buf, limits, &mut args)?.map(|_| args))
    }

    /// [`RequestParser::parse`] without a vector per command: appends the
    /// next command's arguments to `out` and returns how many (at least
    /// one), so a server can reuse one vector, or gather a whole pipeline's
    /// arguments in one. On `Ok(None)` or an error `out` is left as it was.
    pub fn parse_append(
        &mut self,
        buf: &mut BytesMut,
        limits: &Limits,
        out: &mut Vec<Bytes>,
    ) -> Result<Option<usize>, ProtocolError> {
        if self.high_water() > buf.len() {
            // The caller broke the append-only contract; start afresh rather
            // than index out of bounds.
            self.reset();
        }
        loop {
            let step = match self.state {
                State::Idle => match buf.first() {
                    None => return Ok(None),
                    Some(b'*') => {
                        self.state = State::MultibulkCount { scan: 1 };
                        continue;
                    }
                    Some(_) => {
                        self.state = State::Inline { scan: 0 };
                        continue;
                    }
                },
                State::Inline { scan } => self.parse_inline(buf, scan, out)?,
                State::MultibulkCount { scan } => self.parse_count(buf, scan, limits)?,
                State::Multibulk { .. } => self.parse_bulks(buf, limits, out)?,
            };
            match step {
                Step::Command(n) => return Ok(Some(n)),
                Step::Continue => {}
                Step::Incomplete => return Ok(None),
            }
        }
    }

    /// An inline request: one line, split by `sdssplitargs` rules.
    fn parse_inline(
        &mut self,
        buf: &mut BytesMut,
        scan: usize,
        out: &mut Vec<Bytes>,
    ) -> Result<Step, ProtocolError> {
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
        let before = out.len();
        if !split_inline(&frame, end, out) {
            out.truncate(before);
            return Err(ProtocolError::UnbalancedQuotes);
        }
        Ok(match out.len() - before {
            0 => Step::Continue,
            n => Step::Command(n),
        })
    }
}

/// The outcome of one parsing step that does not produce an error.
pub(crate) enum Step {
    /// A complete command, whose arguments (this many) were appended.
    Command(usize),
    /// Keep going from the new state (a request that carried no command,
    /// such as an empty line or `*0`, or a count line that opened a request).
    Continue,
    /// More data is needed.
    Incomplete,
}

#[cfg(test)]
pub(crate) mod testutil {
    //! Transcript helpers shared by the parser's unit tests.
    use crate::{Limits, ProtocolError, RequestParser};
    use bytes::BytesMut;

    pub type Cmds = Vec<Vec<Vec<u8>>>;

    /// Parses everything in `input` at once: the commands, then the error or
    /// `None` if the parser ended up waiting for more.
    pub fn run(input: &[u8], limits: &Limits) -> (Cmds, Option<ProtocolError>) {
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
    pub fn run_bytewise(input: &[u8], limits: &Limits) -> (Cmds, Option<ProtocolError>) {
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
    pub fn check(input: &[u8], want: &[&[&[u8]]], err: Option<ProtocolError>) {
        check_with(input, &Limits::default(), want, err);
    }

    pub fn check_with(
        input: &[u8],
        limits: &Limits,
        want: &[&[&[u8]]],
        err: Option<ProtocolError>,
    ) {
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

    /// The one-argument `PING` command.
    pub const PING: &[&[u8]] = &[b"PING"];
}

#[cfg(test)]
mod tests {
    use super::testutil::*;
    use super::*;

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
    fn parse_append_gathers_a_pipeline() {
        let mut p = RequestParser::new();
        let mut buf = BytesMut::from(&b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\nPING\r\nSET a \"b"[..]);
        let limits = Limits::default();
        let mut all = vec![Bytes::from_static(b"kept")];
        assert_eq!(p.parse_append(&mut buf, &limits, &mut all), Ok(Some(2)));
        assert_eq!(p.parse_append(&mut buf, &limits, &mut all), Ok(Some(1)));
        assert_eq!(p.parse_append(&mut buf, &limits, &mut all), Ok(None));
        assert_eq!(all, [&b"kept"[..], b"GET", b"k", b"PING"]);
        // An unbalanced quote after two arguments leaves `out` untouched.
        buf.extend_from_slice(b"\r\n");
        assert_eq!(
            p.parse_append(&mut buf, &limits, &mut all),
            Err(ProtocolError::UnbalancedQuotes)
        );
        assert_eq!(all.len(), 4);
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
