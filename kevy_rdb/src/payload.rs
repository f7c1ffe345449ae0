//! The framing of a `DUMP` / `FUNCTION DUMP` payload: the serialized data,
//! then the RDB version as 2 little-endian bytes, then the CRC-64 (Jones
//! polynomial, Redis's variant) of everything before it as 8
//! little-endian bytes.

use crc::{Crc, CRC_64_REDIS};

/// The RDB version kevy writes (Redis 7.0's).
pub const RDB_VERSION: u16 = 10;

const CRC: Crc<u64> = Crc::<u64>::new(&CRC_64_REDIS);

/// Redis's CRC-64 of `data`.
pub fn crc64(data: &[u8]) -> u64 {
    CRC.checksum(data)
}

/// `data` framed as a payload.
pub fn frame_payload(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + 10);
    out.extend_from_slice(data);
    out.extend_from_slice(&RDB_VERSION.to_le_bytes());
    let crc = crc64(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// The data of a payload whose version kevy can read (at most
/// [`RDB_VERSION`]) and whose checksum matches; `None` otherwise, as Redis
/// answers "payload version or checksum are wrong" to both.
pub fn unframe_payload(payload: &[u8]) -> Option<&[u8]> {
    if payload.len() < 10 {
        return None;
    }
    let (body, crc) = payload.split_at(payload.len() - 8);
    let (data, ver) = body.split_at(body.len() - 2);
    if u16::from_le_bytes([ver[0], ver[1]]) > RDB_VERSION {
        return None;
    }
    let mut c = [0u8; 8];
    c.copy_from_slice(crc);
    let stored = u64::from_le_bytes(c);
    if stored != crc64(body) {
        return None;
    }
    Some(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc_is_redis_crc64() {
        assert_eq!(crc64(b"123456789"), 0xe9c6_d914_c4b8_d9ca);
    }

    #[test]
    fn a_redis_function_dump_unframes() {
        // FUNCTION DUMP of redis-server 7.0.15 after loading one library.
        let p = b"\xf5@B#!lua name=t\nredis.register_function('f', function() return 1 end)\n\x00\xe6\xe6\x92\xdf\xfa\xa1\xad\xcf";
        let data = unframe_payload(p).unwrap();
        assert_eq!(data[0], crate::opcode::FUNCTION2);
        assert_eq!(frame_payload(data), p.to_vec());
        let mut bad = p.to_vec();
        bad[5] ^= 1;
        assert_eq!(unframe_payload(&bad), None);
    }
}
