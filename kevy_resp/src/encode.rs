//! The reply encoder: writes a [`Reply`] in RESP2 or RESP3, downgrading the
//! RESP3-only types for RESP2 clients exactly as Redis 7.0 does (a map is a
//! flat array, a double a bulk string, a boolean `:1`/`:0`, a verbatim string
//! a bulk of its text). The `encode_*` helpers write single frames without
//! building a `Reply`, for hot paths; integers are formatted with a small
//! two-digits-at-a-time routine instead of `fmt`.

use crate::double::write_double;
use crate::reply::{Protocol, Reply};

/// `"00" "01" … "99"`: two decimal digits per lookup.
const DIGIT_PAIRS: &[u8; 200] = b"\
0001020304050607080910111213141516171819\
2021222324252627282930313233343536373839\
4041424344454647484950515253545556575859\
6061626364656667686970717273747576777879\
8081828384858687888990919293949596979899";

/// Appends the decimal form of `v`.
#[inline]
pub(crate) fn write_u64(out: &mut Vec<u8>, mut v: u64) {
    if v < 10 {
        out.push(b'0' + v as u8);
        return;
    }
    let mut buf = [0u8; 20];
    let mut at = buf.len();
    while v >= 100 {
        let pair = (v % 100) as usize * 2;
        v /= 100;
        at -= 2;
        buf[at..at + 2].copy_from_slice(&DIGIT_PAIRS[pair..pair + 2]);
    }
    if v >= 10 {
        let pair = v as usize * 2;
        at -= 2;
        buf[at..at + 2].copy_from_slice(&DIGIT_PAIRS[pair..pair + 2]);
    } else {
        at -= 1;
        buf[at] = b'0' + v as u8;
    }
    out.extend_from_slice(&buf[at..]);
}

/// Appends the decimal form of `v`, with a `-` when negative.
#[inline]
pub(crate) fn write_i64(out: &mut Vec<u8>, v: i64) {
    if v < 0 {
        out.push(b'-');
    }
    write_u64(out, v.unsigned_abs());
}

/// Appends `<prefix><n>\r\n`, the header line of a sized frame.
#[inline]
fn header(out: &mut Vec<u8>, prefix: u8, n: usize) {
    out.push(prefix);
    write_u64(out, n as u64);
    out.extend_from_slice(b"\r\n");
}

/// Appends a bulk string: `$<len>\r\n<data>\r\n`.
#[inline]
pub fn encode_bulk(out: &mut Vec<u8>, data: &[u8]) {
    out.reserve(data.len() + 16);
    header(out, b'$', data.len());
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
}

/// Appends an integer: `:<n>\r\n`.
#[inline]
pub fn encode_int(out: &mut Vec<u8>, n: i64) {
    out.push(b':');
    write_i64(out, n);
    out.extend_from_slice(b"\r\n");
}

/// Appends `text` and CRLF, with any CR or LF inside `text` replaced by a
/// space, as Redis's `addReplyErrorFormat` does: text that carries client
/// bytes (an unknown subcommand's name, say) cannot end the frame early and
/// make the client read the rest as another reply.
#[inline]
fn push_line(out: &mut Vec<u8>, text: &[u8]) {
    let start = out.len();
    out.extend_from_slice(text);
    for b in &mut out[start..] {
        if *b == b'\r' || *b == b'\n' {
            *b = b' ';
        }
    }
    out.extend_from_slice(b"\r\n");
}

/// Appends a simple string: `+<text>\r\n` (CR and LF in `text` become
/// spaces).
#[inline]
pub fn encode_simple(out: &mut Vec<u8>, text: &[u8]) {
    out.push(b'+');
    push_line(out, text);
}

/// Appends an error: `-<text>\r\n`, where `text` carries its code prefix
/// (`ERR ...`, `WRONGTYPE ...`); CR and LF in it become spaces.
#[inline]
pub fn encode_error(out: &mut Vec<u8>, text: &[u8]) {
    out.push(b'-');
    push_line(out, text);
}

/// Appends an array header: `*<len>\r\n`; `len` elements must follow.
#[inline]
pub fn encode_array_header(out: &mut Vec<u8>, len: usize) {
    header(out, b'*', len);
}

/// Appends a map header: `%<len>\r\n` in RESP3, `*<2*len>\r\n` in RESP2;
/// `len` key/value pairs must follow.
#[inline]
pub fn encode_map_header(out: &mut Vec<u8>, len: usize, proto: Protocol) {
    match proto {
        Protocol::Resp2 => header(out, b'*', len.saturating_mul(2)),
        Protocol::Resp3 => header(out, b'%', len),
    }
}

/// Appends a set header: `~<len>\r\n` in RESP3, `*<len>\r\n` in RESP2.
#[inline]
pub fn encode_set_header(out: &mut Vec<u8>, len: usize, proto: Protocol) {
    let prefix = match proto {
        Protocol::Resp2 => b'*',
        Protocol::Resp3 => b'~',
    };
    header(out, prefix, len);
}

/// Appends a push header: `><len>\r\n` in RESP3, `*<len>\r\n` in RESP2.
#[inline]
pub fn encode_push_header(out: &mut Vec<u8>, len: usize, proto: Protocol) {
    let prefix = match proto {
        Protocol::Resp2 => b'*',
        Protocol::Resp3 => b'>',
    };
    header(out, prefix, len);
}

/// Appends the null bulk string: `$-1\r\n` in RESP2, `_\r\n` in RESP3.
#[inline]
pub fn encode_nil(out: &mut Vec<u8>, proto: Protocol) {
    out.extend_from_slice(match proto {
        Protocol::Resp2 => b"$-1\r\n",
        Protocol::Resp3 => b"_\r\n",
    });
}

/// Appends the null array: `*-1\r\n` in RESP2, `_\r\n` in RESP3.
#[inline]
pub fn encode_nil_array(out: &mut Vec<u8>, proto: Protocol) {
    out.extend_from_slice(match proto {
        Protocol::Resp2 => b"*-1\r\n",
        Protocol::Resp3 => b"_\r\n",
    });
}

/// Appends a double formatted with `%.17g`: a bulk string in RESP2,
/// `,<text>\r\n` in RESP3 (`,inf\r\n` for infinity).
pub fn encode_double(out: &mut Vec<u8>, v: f64, proto: Protocol) {
    match proto {
        Protocol::Resp2 => {
            let mut text = Vec::with_capacity(24);
            write_double(&mut text, v);
            encode_bulk(out, &text);
        }
        Protocol::Resp3 => {
            out.push(b',');
            write_double(out, v);
            out.extend_from_slice(b"\r\n");
        }
    }
}

/// Appends a boolean: `#t\r\n`/`#f\r\n` in RESP3, `:1\r\n`/`:0\r\n` in RESP2.
#[inline]
pub fn encode_bool(out: &mut Vec<u8>, b: bool, proto: Protocol) {
    out.extend_from_slice(match (proto, b) {
        (Protocol::Resp2, true) => b":1\r\n",
        (Protocol::Resp2, false) => b":0\r\n",
        (Protocol::Resp3, true) => b"#t\r\n",
        (Protocol::Resp3, false) => b"#f\r\n",
    });
}

/// Appends `reply` encoded for `proto`.
pub fn encode(reply: &Reply, proto: Protocol, out: &mut Vec<u8>) {
    match reply {
        Reply::Simple(s) => encode_simple(out, s),
        Reply::Error(e) => encode_error(out, e),
        Reply::Int(n) => encode_int(out, *n),
        Reply::Bulk(b) => encode_bulk(out, b),
        Reply::Nil => encode_nil(out, proto),
        Reply::NilArray => encode_nil_array(out, proto),
        Reply::Array(items) => {
            encode_array_header(out, items.len());
            for item in items {
                encode(item, proto, out);
            }
        }
        Reply::Map(pairs) => {
            encode_map_header(out, pairs.len(), proto);
            for (k, v) in pairs {
                encode(k, proto, out);
                encode(v, proto, out);
            }
        }
        Reply::Set(items) => {
            encode_set_header(out, items.len(), proto);
            for item in items {
                encode(item, proto, out);
            }
        }
        Reply::Push(items) => {
            encode_push_header(out, items.len(), proto);
            for item in items {
                encode(item, proto, out);
            }
        }
        Reply::Stream(s) => s.encode_all(proto, out),
        Reply::Double(v) => encode_double(out, *v, proto),
        Reply::DoubleText(text) => match proto {
            Protocol::Resp2 => encode_bulk(out, text),
            Protocol::Resp3 => {
                out.push(b',');
                push_line(out, text);
            }
        },
        Reply::Bool(b) => encode_bool(out, *b, proto),
        Reply::BigNumber(digits) => match proto {
            Protocol::Resp2 => encode_bulk(out, digits),
            Protocol::Resp3 => {
                out.push(b'(');
                push_line(out, digits);
            }
        },
        Reply::Verbatim(format, text) => match proto {
            Protocol::Resp2 => encode_bulk(out, text),
            Protocol::Resp3 => {
                out.reserve(text.len() + 24);
                header(out, b'=', format.len() + 1 + text.len());
                out.extend_from_slice(format.as_bytes());
                out.push(b':');
                out.extend_from_slice(text);
                out.extend_from_slice(b"\r\n");
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn enc(r: &Reply, proto: Protocol) -> Vec<u8> {
        let mut out = Vec::new();
        encode(r, proto, &mut out);
        out
    }

    /// Checks one reply's RESP2 and RESP3 bytes.
    fn check(r: Reply, resp2: &[u8], resp3: &[u8]) {
        assert_eq!(
            String::from_utf8_lossy(&enc(&r, Protocol::Resp2)),
            String::from_utf8_lossy(resp2),
            "RESP2 of {r:?}"
        );
        assert_eq!(
            String::from_utf8_lossy(&enc(&r, Protocol::Resp3)),
            String::from_utf8_lossy(resp3),
            "RESP3 of {r:?}"
        );
    }

    fn b(s: &str) -> Reply {
        Reply::bulk(s.as_bytes())
    }

    /// Client bytes inside a one-line reply cannot split it: CR and LF
    /// become spaces, as in Redis (the `commands` fuzz target found OBJECT's
    /// unknown-subcommand error echoing an LF).
    #[test]
    fn line_replies_never_hold_crlf() {
        let err = Reply::Error(Bytes::from_static(b"ERR unknown subcommand 'a\r\nb\n'"));
        let want = b"-ERR unknown subcommand 'a  b '\r\n";
        check(err, want, want);
        check(
            Reply::Simple(Bytes::from_static(b"O\nK")),
            b"+O K\r\n",
            b"+O K\r\n",
        );
    }

    #[test]
    fn scalars() {
        check(Reply::ok(), b"+OK\r\n", b"+OK\r\n");
        check(
            Reply::error("ERR syntax error"),
            b"-ERR syntax error\r\n",
            b"-ERR syntax error\r\n",
        );
        check(Reply::Int(0), b":0\r\n", b":0\r\n");
        check(Reply::Int(-42), b":-42\r\n", b":-42\r\n");
        check(
            Reply::Int(i64::MIN),
            b":-9223372036854775808\r\n",
            b":-9223372036854775808\r\n",
        );
        check(
            Reply::Int(i64::MAX),
            b":9223372036854775807\r\n",
            b":9223372036854775807\r\n",
        );
        check(b("foo"), b"$3\r\nfoo\r\n", b"$3\r\nfoo\r\n");
        check(b(""), b"$0\r\n\r\n", b"$0\r\n\r\n");
        check(Reply::Nil, b"$-1\r\n", b"_\r\n");
        check(Reply::NilArray, b"*-1\r\n", b"_\r\n");
        check(Reply::Bool(true), b":1\r\n", b"#t\r\n");
        check(Reply::Bool(false), b":0\r\n", b"#f\r\n");
        check(
            Reply::BigNumber(Bytes::from_static(
                b"-3492890328409238509324850943850943825024385",
            )),
            b"$44\r\n-3492890328409238509324850943850943825024385\r\n",
            b"(-3492890328409238509324850943850943825024385\r\n",
        );
        check(
            Reply::Verbatim("txt", Bytes::from_static(b"Some string")),
            b"$11\r\nSome string\r\n",
            b"=15\r\ntxt:Some string\r\n",
        );
    }

    /// The bytes redis-server 7.0.15 sent for `ZSCORE` in RESP2 and RESP3.
    #[test]
    fn doubles_as_redis_sends_them() {
        check(
            Reply::Double(1.1),
            b"$18\r\n1.1000000000000001\r\n",
            b",1.1000000000000001\r\n",
        );
        check(Reply::Double(3.0), b"$1\r\n3\r\n", b",3\r\n");
        check(
            Reply::DoubleText(Bytes::from_static(b"13.5000001")),
            b"$10\r\n13.5000001\r\n",
            b",13.5000001\r\n",
        );
        check(Reply::Double(f64::INFINITY), b"$3\r\ninf\r\n", b",inf\r\n");
        check(
            Reply::Double(f64::NEG_INFINITY),
            b"$4\r\n-inf\r\n",
            b",-inf\r\n",
        );
        check(
            Reply::Double(5e-324),
            b"$23\r\n4.9406564584124654e-324\r\n",
            b",4.9406564584124654e-324\r\n",
        );
        check(Reply::Double(1e21), b"$5\r\n1e+21\r\n", b",1e+21\r\n");
        check(Reply::Double(f64::NAN), b"$3\r\nnan\r\n", b",nan\r\n");
    }

    #[test]
    fn aggregates() {
        check(
            Reply::Array(vec![b("a"), Reply::Int(1), Reply::Nil]),
            b"*3\r\n$1\r\na\r\n:1\r\n$-1\r\n",
            b"*3\r\n$1\r\na\r\n:1\r\n_\r\n",
        );
        check(Reply::Array(vec![]), b"*0\r\n", b"*0\r\n");
        check(
            Reply::Map(vec![(b("f"), b("v")), (b("n"), Reply::Double(0.5))]),
            b"*4\r\n$1\r\nf\r\n$1\r\nv\r\n$1\r\nn\r\n$3\r\n0.5\r\n",
            b"%2\r\n$1\r\nf\r\n$1\r\nv\r\n$1\r\nn\r\n,0.5\r\n",
        );
        check(
            Reply::Set(vec![b("x")]),
            b"*1\r\n$1\r\nx\r\n",
            b"~1\r\n$1\r\nx\r\n",
        );
        check(
            Reply::Push(vec![b("message"), b("ch"), b("hi")]),
            b"*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n",
            b">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n",
        );
        check(
            Reply::Array(vec![Reply::Array(vec![b("f"), Reply::Double(-1.5)])]),
            b"*1\r\n*2\r\n$1\r\nf\r\n$4\r\n-1.5\r\n",
            b"*1\r\n*2\r\n$1\r\nf\r\n,-1.5\r\n",
        );
    }

    #[test]
    fn helpers() {
        let mut out = Vec::new();
        encode_array_header(&mut out, 2);
        encode_bulk(&mut out, b"k");
        encode_int(&mut out, 1234567890);
        encode_simple(&mut out, b"QUEUED");
        encode_error(&mut out, b"WRONGTYPE x");
        encode_nil(&mut out, Protocol::Resp2);
        encode_nil(&mut out, Protocol::Resp3);
        assert_eq!(
            out,
            b"*2\r\n$1\r\nk\r\n:1234567890\r\n+QUEUED\r\n-WRONGTYPE x\r\n$-1\r\n_\r\n"
        );
    }

    #[test]
    fn integers_match_std() {
        let mut v: i64 = 1;
        let mut samples = vec![0i64, 9, 10, 99, 100, 101, i64::MAX, i64::MIN, -1, -10];
        for _ in 0..62 {
            samples.extend([v, v - 1, v + 1, -v, v * 3 / 2]);
            v *= 2;
        }
        for n in samples {
            let mut out = Vec::new();
            write_i64(&mut out, n);
            assert_eq!(out, n.to_string().as_bytes());
        }
    }
}
