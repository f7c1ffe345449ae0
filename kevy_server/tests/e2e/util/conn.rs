//! The raw RESP client of the tests and the frame helpers it uses:
//! request encoding, reply framing, argument splitting like redis-cli.

#![allow(dead_code)]

use super::READ_TIMEOUT;
use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// A raw RESP client connection: sends requests, returns replies as the
/// exact bytes the server wrote.
pub struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
    port: u16,
}

impl Conn {
    /// Connects to 127.0.0.1:`port`, panicking on failure.
    pub fn connect(port: u16) -> Conn {
        Conn::try_connect(port).unwrap_or_else(|e| panic!("connect to 127.0.0.1:{port}: {e}"))
    }

    /// Connects to 127.0.0.1:`port`.
    pub fn try_connect(port: u16) -> std::io::Result<Conn> {
        let stream = TcpStream::connect(("127.0.0.1", port))?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(READ_TIMEOUT))?;
        stream.set_write_timeout(Some(READ_TIMEOUT))?;
        Ok(Conn {
            stream,
            buf: Vec::new(),
            port,
        })
    }

    /// The server port this connection talks to.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Changes how long reads wait.
    pub fn set_read_timeout(&mut self, timeout: Duration) {
        self.stream
            .set_read_timeout(Some(timeout))
            .expect("set_read_timeout");
    }

    /// Sends one command as a RESP multibulk.
    pub fn send(&mut self, args: &[&[u8]]) {
        let mut out = Vec::new();
        encode_request(args, &mut out);
        self.send_raw(&out);
    }

    /// Sends bytes as they are.
    pub fn send_raw(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("write to server");
    }

    /// Like [`Conn::send_raw`] but reports errors (the server may have closed).
    pub fn try_send_raw(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.stream.write_all(bytes)
    }

    /// The raw bytes of exactly one reply frame; panics on timeout, on a
    /// closed connection or on bytes that are not RESP.
    pub fn read_frame(&mut self) -> Vec<u8> {
        self.try_read_frame()
            .unwrap_or_else(|e| panic!("reading a reply from port {}: {e}", self.port))
    }

    /// The raw bytes of exactly one reply frame.
    pub fn try_read_frame(&mut self) -> Result<Vec<u8>, String> {
        loop {
            match frame_len(&self.buf) {
                Ok(Some(n)) => return Ok(self.buf.drain(..n).collect()),
                Ok(None) => {}
                Err(e) => {
                    return Err(format!("{e}; buffered: {}", escape(&self.buf)));
                }
            }
            let mut chunk = [0u8; 64 * 1024];
            match self.stream.read(&mut chunk) {
                Ok(0) => {
                    return Err(format!(
                        "connection closed; partial reply buffered: {}",
                        escape(&self.buf)
                    ))
                }
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => {
                    return Err(format!(
                        "{e}; partial reply buffered: {}",
                        escape(&self.buf)
                    ))
                }
            }
        }
    }

    /// Exactly the next `n` bytes the server sends, whatever frames they
    /// hold (for replies too big to parse frame by frame).
    pub fn read_exact(&mut self, n: usize) -> Vec<u8> {
        let mut out: Vec<u8> = self.buf.drain(..n.min(self.buf.len())).collect();
        let start = out.len();
        out.resize(n, 0);
        if let Err(e) = self.stream.read_exact(&mut out[start..]) {
            panic!("reading {n} bytes from port {}: {e}", self.port);
        }
        out
    }

    /// Whether the server closes the connection within `timeout` (reading and
    /// discarding anything it still sends before that).
    pub fn is_closed_within(&mut self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        self.buf.clear();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            let _ = self.stream.set_read_timeout(Some(left));
            let mut chunk = [0u8; 4096];
            match self.stream.read(&mut chunk) {
                Ok(0) => return true,
                Ok(_) => {}
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    return false
                }
                // Reset by peer and friends: closed.
                Err(_) => return true,
            }
        }
    }

    /// Sends `line` (split like redis-cli does, see [`split_args`]) and
    /// returns the raw reply.
    pub fn cmd(&mut self, line: &str) -> Vec<u8> {
        let args = split_args(line).unwrap_or_else(|e| panic!("bad command line {line:?}: {e}"));
        let refs: Vec<&[u8]> = args.iter().map(|a| a.as_slice()).collect();
        self.send(&refs);
        self.read_frame()
    }

    /// Like [`Conn::cmd`], as (lossy) text.
    pub fn cmd_str(&mut self, line: &str) -> String {
        String::from_utf8_lossy(&self.cmd(line)).into_owned()
    }

    /// Sends `line` and asserts the raw reply is `want` (shown escaped).
    #[track_caller]
    pub fn expect(&mut self, line: &str, want: &str) {
        let got = self.cmd(line);
        assert!(
            got == want.as_bytes(),
            "`{line}`:\n  expected: {}\n  got:      {}",
            escape(want.as_bytes()),
            escape(&got)
        );
    }

    /// Reads one reply and asserts it is `want` (shown escaped).
    #[track_caller]
    pub fn expect_frame(&mut self, want: &[u8]) {
        let got = self.read_frame();
        assert!(
            got == want,
            "reply:\n  expected: {}\n  got:      {}",
            escape(want),
            escape(&got)
        );
    }

    /// Switches the connection to RESP3; returns the HELLO reply.
    pub fn hello3(&mut self) -> Vec<u8> {
        let reply = self.cmd("HELLO 3");
        assert!(
            reply.starts_with(b"%"),
            "HELLO 3 replied {}",
            escape(&reply)
        );
        reply
    }
}

/// Asserts a transcript: each command's raw reply equals the expected bytes.
#[track_caller]
pub fn check(conn: &mut Conn, transcript: &[(&str, &str)]) {
    for (i, (command, expected)) in transcript.iter().enumerate() {
        let got = conn.cmd(command);
        assert!(
            got == expected.as_bytes(),
            "step {} `{command}`:\n  expected: {}\n  got:      {}",
            i + 1,
            escape(expected.as_bytes()),
            escape(&got)
        );
    }
}

/// Appends `args` as a RESP multibulk request.
pub fn encode_request(args: &[&[u8]], out: &mut Vec<u8>) {
    out.extend_from_slice(format!("*{}\r\n", args.len()).as_bytes());
    for a in args {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
}

/// Bytes as printable ASCII with `\r`, `\n`, `\xNN` escapes.
pub fn escape(bytes: &[u8]) -> String {
    const MAX: usize = 2000;
    let shown = bytes.len().min(MAX);
    let mut s = bytes[..shown].escape_ascii().to_string();
    if bytes.len() > MAX {
        s.push_str(&format!("... ({} bytes)", bytes.len()));
    }
    s
}

/// Length of the first complete RESP2/RESP3 reply frame in `buf`, or
/// `Ok(None)` when more bytes are needed. An attribute (`|`) counts as part
/// of the frame it annotates; a push (`>`) is a frame of its own.
pub fn frame_len(buf: &[u8]) -> Result<Option<usize>, String> {
    frame_end(buf, 0, 0)
}

fn find_crlf(buf: &[u8], from: usize) -> Option<usize> {
    buf.get(from..)?
        .windows(2)
        .position(|w| w == b"\r\n")
        .map(|i| from + i)
}

fn frame_end(buf: &[u8], pos: usize, depth: usize) -> Result<Option<usize>, String> {
    if depth > 64 {
        return Err("reply nested too deep".into());
    }
    let Some(&kind) = buf.get(pos) else {
        return Ok(None);
    };
    let Some(cr) = find_crlf(buf, pos + 1) else {
        return Ok(None);
    };
    let header = &buf[pos + 1..cr];
    let after = cr + 2;
    let int = || -> Result<i64, String> {
        std::str::from_utf8(header)
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| format!("bad length {:?} at byte {pos}", escape(header)))
    };
    match kind {
        b'+' | b'-' | b':' | b'_' | b'#' | b',' | b'(' => Ok(Some(after)),
        b'$' | b'!' | b'=' => {
            let n = int()?;
            if n < 0 {
                return Ok(Some(after));
            }
            let end = after + n as usize + 2;
            if buf.len() < end {
                return Ok(None);
            }
            if &buf[end - 2..end] != b"\r\n" {
                return Err(format!(
                    "bulk of {n} bytes at byte {pos} not followed by CRLF"
                ));
            }
            Ok(Some(end))
        }
        b'*' | b'~' | b'>' | b'%' | b'|' => {
            let n = int()?;
            if n < 0 {
                return Ok(Some(after));
            }
            let count = if matches!(kind, b'%' | b'|') {
                2 * n
            } else {
                n
            };
            let mut p = after;
            for _ in 0..count {
                match frame_end(buf, p, depth + 1)? {
                    Some(e) => p = e,
                    None => return Ok(None),
                }
            }
            if kind == b'|' {
                // The attribute is followed by the reply it annotates.
                return frame_end(buf, p, depth + 1);
            }
            Ok(Some(p))
        }
        other => Err(format!(
            "unknown reply type byte {:?} at byte {pos}",
            other as char
        )),
    }
}

/// Splits an aggregate frame into its header line and the raw bytes of each
/// element (map pairs count as two elements). `None` for non-aggregates.
pub fn elements(frame: &[u8]) -> Option<(Vec<u8>, Vec<Vec<u8>>)> {
    if !matches!(frame.first(), Some(b'*' | b'~' | b'>' | b'%')) {
        return None;
    }
    let cr = find_crlf(frame, 1)?;
    let n: i64 = std::str::from_utf8(&frame[1..cr]).ok()?.parse().ok()?;
    let header = frame[..cr + 2].to_vec();
    let count = if frame[0] == b'%' {
        2 * n.max(0)
    } else {
        n.max(0)
    };
    let mut items = Vec::new();
    let mut p = cr + 2;
    for _ in 0..count {
        let end = frame_end(frame, p, 1).ok()??;
        items.push(frame[p..end].to_vec());
        p = end;
    }
    Some((header, items))
}

/// The payload of a simple string, error, integer or bulk string frame.
pub fn scalar(frame: &[u8]) -> Option<Vec<u8>> {
    let cr = find_crlf(frame, 1)?;
    match frame.first()? {
        b'+' | b'-' | b':' | b',' | b'(' | b'#' => Some(frame[1..cr].to_vec()),
        b'$' | b'=' | b'!' => {
            let body = &frame[cr + 2..];
            Some(body.get(..body.len().checked_sub(2)?)?.to_vec())
        }
        _ => None,
    }
}

/// Splits a command line into arguments like redis-cli (sdssplitargs):
/// `"..."` with `\n \r \t \b \a \\ \" \xHH` escapes, `'...'` with only `\'`,
/// and a closing quote must be followed by a space or the end.
pub fn split_args(line: &str) -> Result<Vec<Vec<u8>>, String> {
    let b = line.as_bytes();
    let mut args = Vec::new();
    let mut i = 0;
    loop {
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        if i == b.len() {
            return Ok(args);
        }
        let mut cur = Vec::new();
        let mut quote: Option<u8> = None;
        loop {
            let Some(&c) = b.get(i) else {
                if quote.is_some() {
                    return Err("unbalanced quotes".into());
                }
                break;
            };
            match quote {
                None if c.is_ascii_whitespace() => break,
                None if c == b'"' || c == b'\'' => quote = Some(c),
                None => cur.push(c),
                Some(q) if c == q => {
                    if b.get(i + 1).is_some_and(|n| !n.is_ascii_whitespace()) {
                        return Err("closing quote must be followed by a space".into());
                    }
                    i += 1;
                    break;
                }
                Some(b'"') if c == b'\\' && i + 1 < b.len() => {
                    i += 1;
                    let e = b[i];
                    let hex = |h: u8| (h as char).to_digit(16);
                    match e {
                        b'x' if i + 2 < b.len()
                            && hex(b[i + 1]).is_some()
                            && hex(b[i + 2]).is_some() =>
                        {
                            cur.push(
                                (hex(b[i + 1]).unwrap_or(0) * 16 + hex(b[i + 2]).unwrap_or(0))
                                    as u8,
                            );
                            i += 2;
                        }
                        b'n' => cur.push(b'\n'),
                        b'r' => cur.push(b'\r'),
                        b't' => cur.push(b'\t'),
                        b'b' => cur.push(8),
                        b'a' => cur.push(7),
                        other => cur.push(other),
                    }
                }
                Some(b'\'') if c == b'\\' && b.get(i + 1) == Some(&b'\'') => {
                    i += 1;
                    cur.push(b'\'');
                }
                Some(_) => cur.push(c),
            }
            i += 1;
        }
        args.push(cur);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_len_handles_every_reply_type() {
        let complete: &[&[u8]] = &[
            b"+OK\r\n",
            b"-ERR x\r\n",
            b":-5\r\n",
            b"$-1\r\n",
            b"$0\r\n\r\n",
            b"$5\r\na\r\nb\r\r\n",
            b"*-1\r\n",
            b"*0\r\n",
            b"*2\r\n$1\r\na\r\n*1\r\n:1\r\n",
            b"_\r\n",
            b"#t\r\n",
            b",1.5\r\n",
            b"(12345678901234567890\r\n",
            b"!3\r\nerr\r\n",
            b"=7\r\ntxt:abc\r\n",
            b"%2\r\n+a\r\n:1\r\n+b\r\n*1\r\n_\r\n",
            b"~2\r\n+a\r\n+b\r\n",
            b">2\r\n+message\r\n$1\r\nx\r\n",
            b"|1\r\n+ttl\r\n:3\r\n$1\r\nv\r\n",
        ];
        for frame in complete {
            assert_eq!(frame_len(frame), Ok(Some(frame.len())), "{}", escape(frame));
            let mut two = frame.to_vec();
            two.extend_from_slice(b"+next\r\n");
            assert_eq!(frame_len(&two), Ok(Some(frame.len())), "{}", escape(frame));
            for cut in 0..frame.len() {
                assert_eq!(
                    frame_len(&frame[..cut]),
                    Ok(None),
                    "{} cut at {cut}",
                    escape(frame)
                );
            }
        }
        assert!(frame_len(b"?\r\n").is_err());
        assert!(frame_len(b"$x\r\n").is_err());
        assert!(frame_len(b"$1\r\nab\r\n").is_err());
    }

    #[test]
    fn elements_and_scalars() {
        let (header, items) = elements(b"*3\r\n$1\r\na\r\n*1\r\n:1\r\n_\r\n").expect("array");
        assert_eq!(header, b"*3\r\n");
        assert_eq!(items, [&b"$1\r\na\r\n"[..], b"*1\r\n:1\r\n", b"_\r\n"]);
        let (_, pairs) = elements(b"%1\r\n+k\r\n+v\r\n").expect("map");
        assert_eq!(pairs.len(), 2);
        assert_eq!(elements(b"+OK\r\n"), None);
        assert_eq!(scalar(b"$3\r\nabc\r\n").as_deref(), Some(&b"abc"[..]));
        assert_eq!(scalar(b":42\r\n").as_deref(), Some(&b"42"[..]));
        assert_eq!(scalar(b"-ERR no\r\n").as_deref(), Some(&b"ERR no"[..]));
    }

    #[test]
    fn split_args_quotes_like_redis_cli() {
        let split = |s: &str| {
            split_args(s).map(|v| {
                v.into_iter()
                    .map(|a| String::from_utf8_lossy(&a).into_owned())
                    .collect::<Vec<_>>()
            })
        };
        assert_eq!(split("SET a b").unwrap(), ["SET", "a", "b"]);
        assert_eq!(split("  SET   a  ").unwrap(), ["SET", "a"]);
        assert_eq!(split(r#"SET "a b" 'c d'"#).unwrap(), ["SET", "a b", "c d"]);
        assert_eq!(split(r#"SET "" ''"#).unwrap(), ["SET", "", ""]);
        assert_eq!(
            split(r#"ECHO "\x41\n\t\\\"""#).unwrap(),
            ["ECHO", "A\n\t\\\""]
        );
        assert_eq!(split(r"ECHO 'it\'s'").unwrap(), ["ECHO", "it's"]);
        assert_eq!(split(r#"ECHO '\x41'"#).unwrap(), ["ECHO", r"\x41"]);
        assert_eq!(split(r#"KEYS a\*b"#).unwrap(), ["KEYS", r"a\*b"]);
        assert!(split(r#"SET "a"#).is_err());
        assert!(split(r#"SET "a"b"#).is_err());
        assert_eq!(split_args(r#""\xff\x00""#).unwrap(), [vec![0xff, 0]]);
    }
}
