//! kevy_resp: the Redis wire protocol (RESP2 and RESP3), with no I/O.
//!
//! The server side is a [`RequestParser`], an incremental zero-copy parser
//! of client requests (multibulk and inline) that behaves byte for byte like
//! Redis 7.0, error replies ([`ProtocolError`]) and [`Limits`] included
//! ([`RequestParser::parse_append`] gathers a pipeline without a vector per
//! command), and
//! [`encode`], which writes a [`Reply`] for a connection's [`Protocol`],
//! downgrading RESP3 types for RESP2 clients as Redis does. The client side is
//! [`encode_request`] and [`parse_reply`]. Doubles are written with C's
//! `%.17g`, as Redis 7.0 does ([`format_double`]).
//!
//! ```
//! use bytes::BytesMut;
//! use kevy_resp::{encode, Limits, Protocol, Reply, RequestParser};
//!
//! let mut parser = RequestParser::new();
//! let mut buf = BytesMut::from(&b"*2\r\n$3\r\nGET\r\n$3\r\nkey\r\nPING\r\n"[..]);
//! let limits = Limits::default();
//!
//! let args = parser.parse(&mut buf, &limits).unwrap().unwrap();
//! assert_eq!(args, [&b"GET"[..], &b"key"[..]]);
//! let inline = parser.parse(&mut buf, &limits).unwrap().unwrap();
//! assert_eq!(inline, [&b"PING"[..]]);
//! assert_eq!(parser.parse(&mut buf, &limits).unwrap(), None); // needs more bytes
//!
//! let mut out = Vec::new();
//! encode(&Reply::Double(1.1), Protocol::Resp2, &mut out);
//! encode(&Reply::Nil, Protocol::Resp3, &mut out);
//! assert_eq!(out, b"$18\r\n1.1000000000000001\r\n_\r\n");
//! ```
#![deny(missing_docs)]

mod client;
mod double;
mod encode;
mod error;
mod inline;
mod multibulk;
mod parse;
mod reader;
mod reply;
mod scan;
mod stream;

pub use client::{encode_request, parse_reply, reply_frame_len, ReplyParseError, MAX_REPLY_DEPTH};
pub use double::{format_double, write_double};
pub use encode::{
    encode, encode_array_header, encode_bool, encode_bulk, encode_double, encode_error, encode_int,
    encode_map_header, encode_nil, encode_nil_array, encode_push_header, encode_set_header,
    encode_simple,
};
pub use error::ProtocolError;
pub use parse::{Limits, RequestParser};
pub use reply::{Protocol, Reply};
pub use stream::{encode_deferred, ReplySource, StreamCursor, Streamed};
