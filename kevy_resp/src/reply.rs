//! The reply value every command produces, independent of the protocol
//! version it will be written in: the encoder decides how each variant looks
//! on the wire in RESP2 and in RESP3.

use crate::stream::Streamed;
use bytes::Bytes;

/// One reply frame, as a command produces it.
///
/// Variants that only exist in RESP3 (`Map`, `Set`, `Double`, `DoubleText`, `Bool`,
/// `BigNumber`, `Verbatim`, `Push`) are downgraded by the encoder to the shapes
/// Redis uses for RESP2 clients, so a command builds one value for both.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Reply {
    /// A simple string such as `+OK`. Must not contain CR or LF.
    Simple(Bytes),
    /// An error line, including its code prefix, e.g. `ERR syntax error`.
    /// Must not contain CR or LF.
    Error(Bytes),
    /// An integer, `:42`.
    Int(i64),
    /// A binary-safe bulk string.
    Bulk(Bytes),
    /// The null bulk string: `$-1` in RESP2, `_` in RESP3.
    Nil,
    /// The null array: `*-1` in RESP2, `_` in RESP3.
    NilArray,
    /// An array of replies.
    Array(Vec<Reply>),
    /// A map (RESP3 `%`); a flat array of key, value, ... in RESP2.
    Map(Vec<(Reply, Reply)>),
    /// A set (RESP3 `~`); an array in RESP2.
    Set(Vec<Reply>),
    /// A double (RESP3 `,`); a bulk string in RESP2, formatted as Redis does.
    Double(f64),
    /// A double Redis formats its own way (GEOPOS's `%.17Lf` with trailing
    /// zeros trimmed): RESP3 `,` with this text, a bulk string in RESP2.
    DoubleText(Bytes),
    /// A boolean (RESP3 `#`); the integer 1 or 0 in RESP2.
    Bool(bool),
    /// A big number (RESP3 `(`), digits with an optional sign; a bulk string in RESP2.
    BigNumber(Bytes),
    /// A verbatim string (RESP3 `=`) with its three-letter format such as
    /// `txt`; a plain bulk string in RESP2.
    Verbatim(&'static str, Bytes),
    /// An out-of-band push (RESP3 `>`); an array in RESP2.
    Push(Vec<Reply>),
    /// A large aggregate whose items are encoded lazily from a snapshot
    /// (see [`Streamed`]); on the wire it is the aggregate it stands for.
    Stream(Streamed),
}

impl Reply {
    /// `+OK`.
    pub fn ok() -> Reply {
        Reply::Simple(Bytes::from_static(b"OK"))
    }

    /// A simple string from static text.
    pub fn simple(s: &'static str) -> Reply {
        Reply::Simple(Bytes::from_static(s.as_bytes()))
    }

    /// An error reply from its full text (code prefix included).
    pub fn error(s: impl Into<String>) -> Reply {
        Reply::Error(Bytes::from(s.into()))
    }

    /// A bulk string copied from a slice.
    pub fn bulk(b: &[u8]) -> Reply {
        Reply::Bulk(Bytes::copy_from_slice(b))
    }

    /// A bulk string holding an integer's decimal form.
    pub fn bulk_int(n: i64) -> Reply {
        Reply::Bulk(Bytes::from(n.to_string()))
    }

    /// True for `Reply::Error`.
    pub fn is_error(&self) -> bool {
        matches!(self, Reply::Error(_))
    }
}

/// The protocol version a connection speaks (`HELLO 2` / `HELLO 3`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Protocol {
    /// RESP2, the default for every new connection.
    #[default]
    Resp2,
    /// RESP3, after `HELLO 3`.
    Resp3,
}
