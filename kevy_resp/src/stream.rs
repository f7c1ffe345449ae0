//! Streamed replies: a large aggregate (an `LRANGE` of ten million
//! elements) is not built as a tree of [`Reply`] values nor encoded at once.
//! A command returns a [`Streamed`] reply holding a [`ReplySource`], which
//! writes the aggregate's header and then its items on demand, a bounded
//! chunk at a time. The source reads a frozen copy of the data taken when
//! the command ran, so the bytes are those the eager reply would have had,
//! whenever they are produced. A connection keeps a [`StreamCursor`] (how far
//! it got) and asks for the next chunk only once its socket took the last.

use crate::encode::encode;
use crate::reply::{Protocol, Reply};
use std::fmt;
use std::sync::Arc;

/// The items of one aggregate reply, produced on demand.
///
/// Implementations hold an immutable snapshot (a persistent collection's
/// O(1) clone plus a range), so any thread may encode them at any time and
/// always gets the same bytes.
pub trait ReplySource: Send + Sync {
    /// Number of items [`ReplySource::encode_from`] produces.
    fn len(&self) -> usize;

    /// True when there are no items.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Appends the aggregate's header line (`*<n>`, `%<n>`, `~<n>`) for `proto`.
    fn header(&self, proto: Protocol, out: &mut Vec<u8>);

    /// Appends items from number `at` on, stopping after the item that makes
    /// `out` grow by `budget` bytes or more, or at the last one. Returns the
    /// number of the next item to write: `len()` once every item is out.
    fn encode_from(&self, at: usize, proto: Protocol, out: &mut Vec<u8>, budget: usize) -> usize;

    /// True for a source small enough to encode with the rest of the
    /// output at once rather than a chunk at a time: a command that can
    /// write its items straight from the data (a range of stream entries)
    /// uses a source to skip building a reply tree, not to bound memory.
    fn inline(&self) -> bool {
        false
    }
}

/// A reply whose items are encoded lazily from a [`ReplySource`]. Cloning
/// shares the source.
#[derive(Clone)]
pub struct Streamed(Arc<dyn ReplySource>);

impl Streamed {
    /// Wraps a source.
    pub fn new(src: impl ReplySource + 'static) -> Streamed {
        Streamed(Arc::new(src))
    }

    /// Number of items.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when there are no items.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Appends the header line.
    pub fn header(&self, proto: Protocol, out: &mut Vec<u8>) {
        self.0.header(proto, out)
    }

    /// Appends the whole reply, header and every item: what an eager
    /// encoder writes.
    pub fn encode_all(&self, proto: Protocol, out: &mut Vec<u8>) {
        self.0.header(proto, out);
        let mut at = 0;
        while at < self.0.len() {
            at = self.0.encode_from(at, proto, out, usize::MAX);
        }
    }

    /// A cursor at the first item, for a connection speaking `proto`.
    pub fn cursor(&self, proto: Protocol) -> StreamCursor {
        StreamCursor {
            src: self.clone(),
            next: 0,
            proto,
        }
    }

    /// The same reply as a plain [`Reply`] tree (built by encoding it as
    /// RESP3 and parsing that back), for callers that want values rather
    /// than bytes, such as an embedded store or a test.
    pub fn to_reply(&self) -> Reply {
        let mut buf = Vec::new();
        self.encode_all(Protocol::Resp3, &mut buf);
        match crate::client::parse_reply(&buf) {
            Ok(Some((r, _))) => r,
            _ => Reply::error("ERR internal error: unreadable streamed reply"),
        }
    }
}

impl fmt::Debug for Streamed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Streamed({} items)", self.len())
    }
}

impl PartialEq for Streamed {
    /// Equal when both encode to the same bytes in RESP2 and in RESP3.
    fn eq(&self, o: &Streamed) -> bool {
        [Protocol::Resp2, Protocol::Resp3].into_iter().all(|p| {
            let (mut a, mut b) = (Vec::new(), Vec::new());
            self.encode_all(p, &mut a);
            o.encode_all(p, &mut b);
            a == b
        })
    }
}

/// How far a connection has written one streamed reply (its header is
/// written when the reply is queued, see [`encode_deferred`]).
#[derive(Debug)]
pub struct StreamCursor {
    src: Streamed,
    next: usize,
    proto: Protocol,
}

impl StreamCursor {
    /// Appends the next items, about `budget` bytes of them. Returns true
    /// once the last item is out.
    pub fn next_chunk(&mut self, out: &mut Vec<u8>, budget: usize) -> bool {
        if self.next < self.src.len() {
            self.next = self.src.0.encode_from(self.next, self.proto, out, budget);
        }
        self.is_done()
    }

    /// True once every item is out.
    pub fn is_done(&self) -> bool {
        self.next >= self.src.len()
    }
}

/// Encodes `reply` as [`encode`] does, except for its streamed parts (at
/// the top or nested in aggregates, as in an `EXEC` reply): for each, only
/// the header is written and `defer(at, cursor)` is called, `at` being the
/// offset in `out` where the items belong. The caller writes `out[..at]`,
/// then the cursor's chunks, then the rest.
pub fn encode_deferred(
    reply: &Reply,
    proto: Protocol,
    out: &mut Vec<u8>,
    defer: &mut dyn FnMut(usize, StreamCursor),
) {
    use crate::encode::{
        encode_array_header, encode_map_header, encode_push_header, encode_set_header,
    };
    match reply {
        Reply::Stream(s) if s.0.inline() => s.encode_all(proto, out),
        Reply::Stream(s) => {
            s.header(proto, out);
            defer(out.len(), s.cursor(proto));
        }
        Reply::Array(items) | Reply::Set(items) | Reply::Push(items)
            if items.iter().any(has_stream) =>
        {
            match reply {
                Reply::Set(_) => encode_set_header(out, items.len(), proto),
                Reply::Push(_) => encode_push_header(out, items.len(), proto),
                _ => encode_array_header(out, items.len()),
            }
            for item in items {
                encode_deferred(item, proto, out, defer);
            }
        }
        Reply::Map(pairs) if pairs.iter().any(|(k, v)| has_stream(k) || has_stream(v)) => {
            encode_map_header(out, pairs.len(), proto);
            for (k, v) in pairs {
                encode_deferred(k, proto, out, defer);
                encode_deferred(v, proto, out, defer);
            }
        }
        other => encode(other, proto, out),
    }
}

/// True when `r` is or holds a streamed reply.
fn has_stream(r: &Reply) -> bool {
    match r {
        Reply::Stream(_) => true,
        Reply::Array(v) | Reply::Set(v) | Reply::Push(v) => v.iter().any(has_stream),
        Reply::Map(v) => v.iter().any(|(k, x)| has_stream(k) || has_stream(x)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encode::{encode_array_header, encode_bulk, encode_double, encode_map_header};

    /// A test source: `n` numbered elements, as an array, or as a map of
    /// element → double when `map`.
    struct Numbers {
        n: usize,
        map: bool,
    }

    impl ReplySource for Numbers {
        fn len(&self) -> usize {
            self.n
        }
        fn header(&self, proto: Protocol, out: &mut Vec<u8>) {
            if self.map {
                encode_map_header(out, self.n, proto);
            } else {
                encode_array_header(out, self.n);
            }
        }
        fn encode_from(
            &self,
            at: usize,
            proto: Protocol,
            out: &mut Vec<u8>,
            budget: usize,
        ) -> usize {
            let start = out.len();
            let mut i = at;
            while i < self.n {
                encode_bulk(out, format!("element-{i}").as_bytes());
                if self.map {
                    encode_double(out, i as f64 / 3.0, proto);
                }
                i += 1;
                if out.len() - start >= budget {
                    break;
                }
            }
            i
        }
    }

    fn eager(n: usize, map: bool) -> Reply {
        let b = |i: usize| Reply::bulk(format!("element-{i}").as_bytes());
        if map {
            Reply::Map(
                (0..n)
                    .map(|i| (b(i), Reply::Double(i as f64 / 3.0)))
                    .collect(),
            )
        } else {
            Reply::Array((0..n).map(b).collect())
        }
    }

    /// Writes `reply` as a connection does: the plain bytes up to each
    /// deferred stream, then the stream in chunks of `budget` bytes.
    fn streamed_bytes(reply: &Reply, proto: Protocol, budget: usize) -> Vec<u8> {
        let mut plain = Vec::new();
        let mut streams = Vec::new();
        encode_deferred(reply, proto, &mut plain, &mut |at, c| streams.push((at, c)));
        let mut wire = Vec::new();
        let mut pos = 0;
        for (at, mut c) in streams {
            wire.extend_from_slice(&plain[pos..at]);
            pos = at;
            let mut chunks = 0;
            loop {
                let before = wire.len();
                let done = c.next_chunk(&mut wire, budget);
                chunks += 1;
                // One item may pass the budget, never more.
                assert!(wire.len() - before < budget.saturating_add(64));
                if done {
                    break;
                }
                assert!(chunks < 1_000_000, "stream makes no progress");
            }
        }
        wire.extend_from_slice(&plain[pos..]);
        wire
    }

    /// An inline source is written at once, in place: nothing deferred.
    #[test]
    fn inline_sources_are_encoded_in_place() {
        struct Inline(Numbers);
        impl ReplySource for Inline {
            fn len(&self) -> usize {
                self.0.len()
            }
            fn header(&self, proto: Protocol, out: &mut Vec<u8>) {
                self.0.header(proto, out)
            }
            fn encode_from(&self, at: usize, p: Protocol, out: &mut Vec<u8>, b: usize) -> usize {
                self.0.encode_from(at, p, out, b)
            }
            fn inline(&self) -> bool {
                true
            }
        }
        let src = Inline(Numbers { n: 3, map: false });
        let reply = Reply::Array(vec![Reply::Int(1), Reply::Stream(Streamed::new(src))]);
        let mut out = Vec::new();
        let mut deferred = 0;
        encode_deferred(&reply, Protocol::Resp2, &mut out, &mut |_, _| deferred += 1);
        assert_eq!(deferred, 0);
        let mut want = Vec::new();
        let eager = Reply::Array(vec![Reply::Int(1), eager(3, false)]);
        encode(&eager, Protocol::Resp2, &mut want);
        assert_eq!(out, want);
    }

    #[test]
    fn streamed_bytes_equal_eager_bytes() {
        for proto in [Protocol::Resp2, Protocol::Resp3] {
            for map in [false, true] {
                for n in [0, 1, 7, 1000] {
                    let src = Reply::Stream(Streamed::new(Numbers { n, map }));
                    let mut want = Vec::new();
                    encode(&eager(n, map), proto, &mut want);
                    let mut got = Vec::new();
                    encode(&src, proto, &mut got);
                    assert_eq!(got, want, "eager encode of a stream, n={n} map={map}");
                    for budget in [0, 1, 13, 64, 4096, usize::MAX] {
                        assert_eq!(
                            streamed_bytes(&src, proto, budget),
                            want,
                            "{proto:?} n={n} map={map} budget={budget}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn nested_streams_keep_their_place() {
        let reply = Reply::Array(vec![
            Reply::ok(),
            Reply::Stream(Streamed::new(Numbers { n: 50, map: false })),
            Reply::Int(3),
            Reply::Array(vec![Reply::Stream(Streamed::new(Numbers {
                n: 20,
                map: true,
            }))]),
            Reply::Nil,
        ]);
        let plain = Reply::Array(vec![
            Reply::ok(),
            eager(50, false),
            Reply::Int(3),
            Reply::Array(vec![eager(20, true)]),
            Reply::Nil,
        ]);
        for proto in [Protocol::Resp2, Protocol::Resp3] {
            let mut want = Vec::new();
            encode(&plain, proto, &mut want);
            for budget in [1, 100, 1 << 20] {
                assert_eq!(streamed_bytes(&reply, proto, budget), want);
            }
        }
    }

    #[test]
    fn to_reply_and_equality() {
        let s = Streamed::new(Numbers { n: 5, map: false });
        assert_eq!(s.to_reply(), eager(5, false));
        assert_eq!(s, Streamed::new(Numbers { n: 5, map: false }));
        assert_ne!(s, Streamed::new(Numbers { n: 6, map: false }));
        assert_eq!(format!("{s:?}"), "Streamed(5 items)");
    }
}
