//! Integration tests for kevy_resp. Property tests: requests encoded by the
//! client side come back from the server-side parser intact however the
//! bytes are chunked, arbitrary bytes never make the parser misbehave, and
//! every reply encoded in RESP3 (or RESP2) parses back to itself (or to its
//! RESP2 downgrade). Differential tests: the parser predicts byte for byte
//! what a real redis-server answers to raw input.

#[path = "roundtrip/redis_diff.rs"]
mod redis_diff;

#[path = "../fuzz/src/lib.rs"]
mod fuzz_input;

#[path = "roundtrip/fuzz_corpus.rs"]
mod fuzz_corpus;

mod util {
    use bytes::BytesMut;
    use kevy_resp::{Limits, ProtocolError, RequestParser};

    /// What a connection saw: the commands, then an error or `None`.
    pub type Outcome = (Vec<Vec<Vec<u8>>>, Option<ProtocolError>);

    /// Feeds `input` split at the given chunk sizes (cycled), parsing after
    /// every chunk as a server would after every read.
    pub fn feed(input: &[u8], chunks: &[usize]) -> Outcome {
        let limits = Limits::default();
        let mut parser = RequestParser::new();
        let mut buf = BytesMut::new();
        let mut cmds = Vec::new();
        let mut at = 0;
        let mut sizes = chunks.iter().cycle();
        while at < input.len() {
            let n = sizes.next().copied().unwrap_or(input.len()).max(1);
            let end = (at + n).min(input.len());
            buf.extend_from_slice(&input[at..end]);
            at = end;
            loop {
                let before = buf.len();
                match parser.parse(&mut buf, &limits) {
                    Ok(Some(args)) => {
                        assert!(buf.len() < before, "a command consumes bytes");
                        cmds.push(args.iter().map(|a| a.to_vec()).collect());
                    }
                    Ok(None) => break,
                    Err(e) => return (cmds, Some(e)),
                }
            }
        }
        (cmds, None)
    }
}

mod request {
    use super::util::feed;
    use kevy_resp::encode_request;
    use proptest::prelude::*;

    fn commands() -> impl Strategy<Value = Vec<Vec<Vec<u8>>>> {
        let arg = prop::collection::vec(any::<u8>(), 0..40);
        prop::collection::vec(prop::collection::vec(arg, 1..6), 1..6)
    }

    fn chunks() -> impl Strategy<Value = Vec<usize>> {
        prop::collection::vec(1usize..24, 1..8)
    }

    proptest! {
        #[test]
        fn multibulk_round_trips(cmds in commands(), chunks in chunks()) {
            let mut wire = Vec::new();
            for cmd in &cmds {
                let args: Vec<&[u8]> = cmd.iter().map(|a| a.as_slice()).collect();
                encode_request(&args, &mut wire);
            }
            prop_assert_eq!(feed(&wire, &chunks), (cmds, None));
        }

        /// Inline requests with every argument double-quoted and every byte
        /// written as `\xHH` parse back to the original bytes.
        #[test]
        fn quoted_inline_round_trips(cmds in commands(), chunks in chunks()) {
            let mut wire = Vec::new();
            for cmd in &cmds {
                for (i, arg) in cmd.iter().enumerate() {
                    if i > 0 {
                        wire.push(b' ');
                    }
                    wire.push(b'"');
                    for b in arg {
                        wire.extend_from_slice(format!("\\x{b:02x}").as_bytes());
                    }
                    wire.push(b'"');
                }
                wire.extend_from_slice(b"\r\n");
            }
            prop_assert_eq!(feed(&wire, &chunks), (cmds, None));
        }

        /// Bytes drawn from protocol fragments: the outcome does not depend
        /// on how the input is chunked (the inputs stay below the 64 KiB
        /// limits, the only place where Redis's answer depends on timing).
        #[test]
        fn chunking_never_changes_the_outcome(
            parts in prop::collection::vec(prop::sample::select(vec![
                &b"*"[..], b"$", b"\r\n", b"\r", b"\n", b"1", b"2", b"0", b"-1", b"3",
                b"\"", b"'", b"\\", b" ", b"x", b"\0", b"\\x4", b"\xff", b"PING",
            ]), 0..60),
            chunks in chunks(),
        ) {
            let input = parts.concat();
            prop_assert_eq!(feed(&input, &chunks), feed(&input, &[input.len().max(1)]));
        }

        #[test]
        fn arbitrary_bytes_are_handled(input in prop::collection::vec(any::<u8>(), 0..300), chunks in chunks()) {
            let whole = feed(&input, &[input.len().max(1)]);
            prop_assert_eq!(feed(&input, &chunks), whole);
        }
    }
}

mod reply {
    use bytes::Bytes;
    use kevy_resp::{encode, format_double, parse_reply, reply_frame_len, Protocol, Reply};
    use proptest::prelude::*;

    fn line_bytes() -> impl Strategy<Value = Bytes> {
        prop::collection::vec(
            any::<u8>().prop_filter("no CR/LF", |b| *b != b'\r' && *b != b'\n'),
            0..20,
        )
        .prop_map(Bytes::from)
    }

    fn any_bytes() -> impl Strategy<Value = Bytes> {
        prop::collection::vec(any::<u8>(), 0..40).prop_map(Bytes::from)
    }

    /// Every `Reply` that survives RESP3 unchanged (`NilArray` is `_` there,
    /// which reads back as `Nil`; NaN is not equal to itself).
    fn reply() -> impl Strategy<Value = Reply> {
        let leaf = prop_oneof![
            line_bytes().prop_map(Reply::Simple),
            line_bytes().prop_map(Reply::Error),
            any::<i64>().prop_map(Reply::Int),
            any_bytes().prop_map(Reply::Bulk),
            Just(Reply::Nil),
            any::<f64>()
                .prop_filter("not NaN", |v| !v.is_nan())
                .prop_map(Reply::Double),
            any::<bool>().prop_map(Reply::Bool),
            (any::<bool>(), "[1-9][0-9]{0,60}").prop_map(|(neg, d)| {
                Reply::BigNumber(Bytes::from(if neg { format!("-{d}") } else { d }))
            }),
            (prop::sample::select(vec!["txt", "mkd"]), any_bytes())
                .prop_map(|(f, t)| Reply::Verbatim(f, t)),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Reply::Array),
                prop::collection::vec((inner.clone(), inner.clone()), 0..4).prop_map(Reply::Map),
                prop::collection::vec(inner.clone(), 0..6).prop_map(Reply::Set),
                prop::collection::vec(inner, 0..6).prop_map(Reply::Push),
            ]
        })
    }

    /// What a RESP2 client reads back for `r`, as Redis 7.0 downgrades it.
    fn resp2(r: &Reply) -> Reply {
        match r {
            Reply::Array(v) | Reply::Set(v) | Reply::Push(v) => {
                Reply::Array(v.iter().map(resp2).collect())
            }
            Reply::Map(pairs) => Reply::Array(
                pairs
                    .iter()
                    .flat_map(|(k, v)| [resp2(k), resp2(v)])
                    .collect(),
            ),
            Reply::Bool(b) => Reply::Int(i64::from(*b)),
            Reply::Double(v) => Reply::Bulk(Bytes::from(format_double(*v))),
            Reply::BigNumber(d) => Reply::Bulk(d.clone()),
            Reply::Verbatim(_, t) => Reply::Bulk(t.clone()),
            other => other.clone(),
        }
    }

    proptest! {
        #[test]
        fn resp3_round_trips(r in reply(), cut in any::<prop::sample::Index>()) {
            let mut wire = Vec::new();
            encode(&r, Protocol::Resp3, &mut wire);
            wire.extend_from_slice(b"+next\r\n");
            let len = wire.len() - 7;
            prop_assert_eq!(parse_reply(&wire), Ok(Some((r, len))));
            prop_assert_eq!(reply_frame_len(&wire), Ok(Some(len)));
            let cut = cut.index(len);
            prop_assert_eq!(parse_reply(&wire[..cut]), Ok(None));
            prop_assert_eq!(reply_frame_len(&wire[..cut]), Ok(None));
        }

        #[test]
        fn resp2_reads_back_as_redis_downgrades(r in reply()) {
            let mut wire = Vec::new();
            encode(&r, Protocol::Resp2, &mut wire);
            prop_assert_eq!(parse_reply(&wire), Ok(Some((resp2(&r), wire.len()))));
        }

        #[test]
        fn arbitrary_bytes_never_panic(input in prop::collection::vec(any::<u8>(), 0..200)) {
            let parsed = parse_reply(&input).map(|o| o.map(|(_, n)| n));
            prop_assert_eq!(reply_frame_len(&input), parsed);
            if let Ok(Some(n)) = parsed {
                prop_assert!(n <= input.len());
            }
        }
    }

    #[test]
    fn nil_array_reads_back_per_protocol() {
        let mut wire = Vec::new();
        encode(&Reply::NilArray, Protocol::Resp2, &mut wire);
        assert_eq!(parse_reply(&wire), Ok(Some((Reply::NilArray, 5))));
        wire.clear();
        encode(&Reply::NilArray, Protocol::Resp3, &mut wire);
        assert_eq!(parse_reply(&wire), Ok(Some((Reply::Nil, 3))));
    }
}
