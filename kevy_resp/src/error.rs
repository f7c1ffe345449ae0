//! The protocol errors a request can raise, with the exact reply text Redis
//! 7.0 sends for each before it closes the connection.

use std::fmt;

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

    /// The error as a reply, ready for the encoder (`-ERR Protocol error: ...`).
    pub fn to_reply(&self) -> crate::Reply {
        crate::Reply::Error(bytes::Bytes::from(self.reply_bytes()))
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

#[cfg(test)]
mod tests {
    use super::*;

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
            let mut wire = Vec::new();
            crate::encode(&e.to_reply(), crate::Protocol::Resp3, &mut wire);
            assert_eq!(wire, [&b"-"[..], want, b"\r\n"].concat());
        }
    }
}
