//! The bodies of kevy_resp's fuzz targets, shared with its tests
//! (`tests/roundtrip.rs` includes this file by path and replays the
//! committed corpora on stable, without libFuzzer).

use bytes::BytesMut;
use kevy_resp::{encode, reply_frame_len, Limits, Protocol, ProtocolError, Reply, RequestParser};

type Outcome = (Vec<Vec<Vec<u8>>>, Option<ProtocolError>);

/// Feeds `data` in chunks whose sizes cycle through `sizes`.
fn feed(data: &[u8], sizes: &[u8], limits: &Limits) -> Outcome {
    let mut parser = RequestParser::new();
    let mut buf = BytesMut::new();
    let mut cmds = Vec::new();
    let mut at = 0;
    let mut fed = 0usize;
    let mut consumed = 0usize;
    let mut i = 0;
    while at < data.len() {
        let n = sizes
            .get(i % sizes.len().max(1))
            .map_or(data.len(), |&s| usize::from(s).max(1));
        i += 1;
        let end = (at + n).min(data.len());
        buf.extend_from_slice(&data[at..end]);
        fed += end - at;
        at = end;
        loop {
            let before = buf.len();
            let result = parser.parse(&mut buf, limits);
            assert!(buf.len() <= before, "the buffer only shrinks");
            consumed += before - buf.len();
            assert!(consumed <= fed, "consumed more than was fed");
            match result {
                Ok(Some(args)) => cmds.push(args.iter().map(|a| a.to_vec()).collect()),
                Ok(None) => break,
                Err(e) => {
                    assert!(e.reply_bytes().starts_with(b"ERR Protocol error: "));
                    return (cmds, Some(e));
                }
            }
        }
    }
    (cmds, None)
}

/// The `parse_request` fuzz target: arbitrary bytes, cut into arbitrary
/// chunks, fed to the request parser as a server would after each read. The
/// parser must not panic, must never consume more than it was given, and
/// must reach the same outcome as when the input arrives in one piece (the
/// inputs libFuzzer makes by default stay under the 64 KiB limits, where
/// timing could matter).
pub fn parse_request(input: &[u8]) {
    // First byte: flags; next up to 8 bytes: chunk sizes; the rest: the stream.
    let Some((&flags, rest)) = input.split_first() else {
        return;
    };
    let n_sizes = usize::from(flags & 7).min(rest.len());
    let (sizes, data) = rest.split_at(n_sizes);
    let limits = Limits {
        authenticated: flags & 8 == 0,
        max_bulk_len: if flags & 16 == 0 { 512 << 20 } else { 100 },
        ..Limits::default()
    };
    let chunked = feed(data, sizes, &limits);
    if data.len() <= 64 * 1024 {
        assert_eq!(chunked, feed(data, &[], &limits));
    }
}

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
                && x.iter()
                    .zip(y)
                    .all(|((ka, va), (kb, vb))| same(ka, kb) && same(va, vb))
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

/// The `parse_reply` fuzz target: the client-side reply parser on arbitrary
/// bytes. It must not panic, must agree with `reply_frame_len`, must not
/// claim more bytes than it was given, and what it parses must re-encode to
/// something that parses to the same reply.
pub fn parse_reply(data: &[u8]) {
    let parsed = kevy_resp::parse_reply(data);
    let len = parsed
        .as_ref()
        .map(|o| o.as_ref().map(|(_, n)| *n))
        .map_err(|e| *e);
    assert_eq!(reply_frame_len(data), len);
    if let Ok(Some((reply, n))) = parsed {
        assert!(n <= data.len());
        if encodable(&reply) {
            let mut wire = Vec::new();
            encode(&reply, Protocol::Resp3, &mut wire);
            match kevy_resp::parse_reply(&wire) {
                Ok(Some((again, m))) => {
                    assert_eq!(m, wire.len());
                    assert!(same(&reply, &again), "{reply:?} != {again:?}");
                }
                other => panic!("re-encoded reply does not parse: {other:?}"),
            }
        }
    }
}
