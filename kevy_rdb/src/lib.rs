//! kevy_rdb: Redis's RDB format, the pieces a `DUMP` payload and an RDB
//! file share: length and string encodings (integers, LZF-compressed
//! strings), the CRC-64 Redis checksums with, and the framing of a `DUMP`
//! / `FUNCTION DUMP` payload (data, RDB version, checksum).
//!
//! ```
//! use kevy_rdb::{frame_payload, unframe_payload, read_string, write_string};
//!
//! let mut data = Vec::new();
//! write_string(&mut data, b"hello");
//! let payload = frame_payload(&data);
//! let body = unframe_payload(&payload).unwrap();
//! let (s, rest) = read_string(body).unwrap();
//! assert_eq!((&s[..], rest), (&b"hello"[..], &b""[..]));
//! ```
#![deny(missing_docs)]

mod encoding;
mod payload;

pub use encoding::{read_len, read_string, write_len, write_string, Len, RdbError};
pub use payload::{crc64, frame_payload, unframe_payload, RDB_VERSION};

/// RDB opcodes and value types kevy reads or writes (rdb.h's numbering).
pub mod opcode {
    /// A function library (Redis 7.0): its code as a string.
    pub const FUNCTION2: u8 = 245;
    /// Pre-7.0 RC function (refused: no stable Redis wrote it).
    pub const FUNCTION_PRE_GA: u8 = 246;
}
