//! Fuzz target: the client-side reply parser on arbitrary bytes. It must not
//! panic, must agree with `reply_frame_len`, must not claim more bytes than
//! it was given, and what it parses must re-encode to something that parses
//! to the same reply.
#![no_main]

use kevy_resp::{encode, parse_reply, reply_frame_len, Protocol, Reply};
use libfuzzer_sys::fuzz_target;

/// Equality that treats NaN doubles as equal to each other.
fn same(a: &Reply, b: &Reply) -> bool {
    match (a, b) {
        (Reply::Double(x), Reply::Double(y)) => x == y || (x.is_nan() && y.is_nan()),
        (Reply::Array(x), Reply::Array(y))
        | (Reply::Set(x), Reply::Set(y))
        | (Reply::Push(x), Reply::Push(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b))
        }
        (Reply::Map(x), Reply::Map(y)) => {
            x.len() == y.len()
                && x.iter().zip(y).all(|((ka, va), (kb, vb))| same(ka, kb) && same(va, vb))
        }
        _ => a == b,
    }
}

/// Whether `r` re-encodes losslessly in RESP3: simple strings and errors
/// without CR/LF, no null arrays (those read back as `Nil`).
fn encodable(r: &Reply) -> bool {
    match r {
        Reply::Simple(s) | Reply::Error(s) | Reply::BigNumber(s) => {
            !s.contains(&b'\r') && !s.contains(&b'\n')
        }
        Reply::NilArray => false,
        Reply::Array(v) | Reply::Set(v) | Reply::Push(v) => v.iter().all(encodable),
        Reply::Map(p) => p.iter().all(|(k, v)| encodable(k) && encodable(v)),
        _ => true,
    }
}

fuzz_target!(|data: &[u8]| {
    let parsed = parse_reply(data);
    let len = parsed.as_ref().map(|o| o.as_ref().map(|(_, n)| *n)).map_err(|e| *e);
    assert_eq!(reply_frame_len(data), len);
    if let Ok(Some((reply, n))) = parsed {
        assert!(n <= data.len());
        if encodable(&reply) {
            let mut wire = Vec::new();
            encode(&reply, Protocol::Resp3, &mut wire);
            match parse_reply(&wire) {
                Ok(Some((again, m))) => {
                    assert_eq!(m, wire.len());
                    assert!(same(&reply, &again), "{reply:?} != {again:?}");
                }
                other => panic!("re-encoded reply does not parse: {other:?}"),
            }
        }
    }
});
