//! `FUNCTION DUMP` / `FUNCTION RESTORE` payloads: each library's code as
//! an RDB `FUNCTION2` record, framed as a DUMP payload (RDB version and
//! CRC-64), byte for byte what Redis 7.0 writes, so libraries move
//! between kevy and redis-server. The same bytes persist the libraries in
//! the data directory (`persist::functions`).

use kevy_rdb::{frame_payload, opcode, read_string, unframe_payload, write_string};
use kevy_script::Library;

/// The payload holding `libs`' code, in order.
pub fn encode_functions(libs: &[Library]) -> Vec<u8> {
    let mut data = Vec::new();
    for l in libs {
        data.push(opcode::FUNCTION2);
        write_string(&mut data, &l.code);
    }
    frame_payload(&data)
}

/// The library codes in `payload`, or Redis's error text.
pub fn decode_functions(payload: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    let Some(mut data) = unframe_payload(payload) else {
        return Err("ERR DUMP payload version or checksum are wrong".into());
    };
    let mut codes = Vec::new();
    while let Some((&op, rest)) = data.split_first() {
        if op != opcode::FUNCTION2 {
            return Err("ERR given type is not a function".into());
        }
        let (code, rest) =
            read_string(rest).map_err(|_| "ERR can not read function code".to_string())?;
        codes.push(code);
        data = rest;
    }
    Ok(codes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_redis_bytes() {
        let code = b"#!lua name=t\nredis.register_function('f', function() return 1 end)";
        let lib = Library {
            name: "t".into(),
            code: bytes::Bytes::from_static(code),
            functions: Vec::new(),
        };
        let p = encode_functions(&[lib]);
        assert_eq!(
            p,
            b"\xf5@B#!lua name=t\nredis.register_function('f', function() return 1 end)\n\x00\xe6\xe6\x92\xdf\xfa\xa1\xad\xcf"
                .to_vec()
        );
        assert_eq!(decode_functions(&p), Ok(vec![code.to_vec()]));
        assert_eq!(
            encode_functions(&[]),
            b"\n\x00\x5d\x9b\x5c\x40\x0f\x7f\xa2\xda".to_vec()
        );
        assert!(decode_functions(b"bad").is_err());
    }
}
