//! Fuzz target: arbitrary bytes, cut into arbitrary chunks, fed to the
//! request parser as a server would after each read. The parser must not
//! panic, must never consume more than it was given, and must reach the same
//! outcome as when the input arrives in one piece (the inputs libFuzzer makes
//! by default stay under the 64 KiB limits, where timing could matter).
#![no_main]

use bytes::BytesMut;
use kevy_resp::{Limits, ProtocolError, RequestParser};
use libfuzzer_sys::fuzz_target;

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
        let n = sizes.get(i % sizes.len().max(1)).map_or(data.len(), |&s| usize::from(s).max(1));
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

fuzz_target!(|input: &[u8]| {
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
});
