//! HRANDFIELD, and the random-sampling helpers it shares with SRANDMEMBER
//! and SPOP: a count argument parsed with Redis's range rules, and distinct
//! random positions drawn from `0..n`.

use super::read;
use crate::ctx::Ctx;
use crate::error::{CmdError, CmdResult};
use crate::num::parse_i64;
use crate::rand::below;
use bytes::Bytes;
use kevy_resp::{Protocol, Reply};
use std::collections::HashSet;

/// Longest reply a negative count (repeats allowed) may ask for. Redis has
/// no limit and streams the reply. kevy streams it to a connection too (in
/// bounded memory, see `cmd::reply_stream`), but the embedded store builds it
/// eagerly, and a count like `-9223372036854775807` would occupy the
/// connection for good: such counts are refused.
pub(crate) const MAX_REPEATED_PICKS: u64 = 1 << 24;

/// A count argument in `-LONG_MAX..=LONG_MAX` (Redis's
/// `getRangeLongFromObjectOrReply` with its default message).
pub(crate) fn arg_count(b: &[u8]) -> Result<i64, CmdError> {
    let v = parse_i64(b).ok_or(CmdError::NotInteger)?;
    if v == i64::MIN {
        return Err(CmdError::err(format!(
            "value is out of range, value must between {} and {}",
            -i64::MAX,
            i64::MAX
        )));
    }
    Ok(v)
}

/// Refuses a repeated-pick count kevy will not build (see [`MAX_REPEATED_PICKS`]).
pub(crate) fn check_repeated(count: u64) -> Result<(), CmdError> {
    if count > MAX_REPEATED_PICKS {
        return Err(CmdError::err("value is out of range"));
    }
    Ok(())
}

/// `count` distinct positions of `0..n` in random order (`count <= n`).
/// A partial Fisher-Yates shuffle when the sample is a large part of the
/// range, rejection sampling otherwise: O(count) either way.
pub(crate) fn distinct_positions(n: usize, count: usize) -> Vec<usize> {
    let count = count.min(n);
    if count.saturating_mul(3) > n {
        let mut all: Vec<usize> = (0..n).collect();
        for i in 0..count {
            let j = i + below((n - i) as u64) as usize;
            all.swap(i, j);
        }
        all.truncate(count);
        all
    } else {
        let mut seen = HashSet::with_capacity(count);
        let mut out = Vec::with_capacity(count);
        while out.len() < count {
            let i = below(n as u64) as usize;
            if seen.insert(i) {
                out.push(i);
            }
        }
        out
    }
}

/// `HRANDFIELD key [count [WITHVALUES]]`
pub(super) fn hrandfield(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    if argv.len() >= 3 {
        let l = arg_count(&argv[2])?;
        let withvalues = match argv.len() {
            3 => false,
            4 if argv[3].eq_ignore_ascii_case(b"withvalues") => true,
            _ => return Err(CmdError::Syntax),
        };
        if withvalues && !(-i64::MAX / 2..=i64::MAX / 2).contains(&l) {
            return Err(CmdError::err("value is out of range"));
        }
        return with_count(ctx, &argv[1], l, withvalues);
    }
    let Some(h) = read(ctx, &argv[1])? else {
        return Ok(Reply::Nil);
    };
    Ok(h.at(below(h.len() as u64) as usize)
        .map_or(Reply::Nil, |(k, _)| Reply::Bulk(k.to_bytes())))
}

/// HRANDFIELD with a count: negative allows repeats; a count covering the
/// hash returns all of it in iteration order (insertion order for a
/// listpack, as Redis). With values, RESP3 nests each pair in an array.
fn with_count(ctx: &mut Ctx<'_, '_>, key: &[u8], l: i64, withvalues: bool) -> CmdResult {
    let nested = withvalues && ctx.proto == Protocol::Resp3;
    let stream_ok = ctx.stream_replies;
    let Some(h) = read(ctx, key)? else {
        return Ok(Reply::Array(Vec::new()));
    };
    let count = l.unsigned_abs();
    let size = h.len();
    let mut out = Vec::new();
    let mut push = |k: &crate::kstr::KStr, v: &crate::kstr::KStr| {
        let (k, v) = (Reply::Bulk(k.to_bytes()), Reply::Bulk(v.to_bytes()));
        match (withvalues, nested) {
            (true, true) => out.push(Reply::Array(vec![k, v])),
            (true, false) => out.extend([k, v]),
            _ => out.push(k),
        }
    };
    if count == 0 || size == 0 {
    } else if l < 0 || count == 1 {
        check_repeated(count)?;
        if crate::cmd::reply_stream::wanted(stream_ok, count as usize) {
            let pool = crate::cmd::reply_stream::Pool::Hash(h.clone());
            return Ok(crate::cmd::reply_stream::random_picks(
                pool,
                count as usize,
                withvalues,
            ));
        }
        for _ in 0..count {
            if let Some((k, v)) = h.at(below(size as u64) as usize) {
                push(k, v);
            }
        }
    } else if count >= size as u64 {
        h.iter().for_each(|(k, v)| push(k, v));
    } else {
        for i in distinct_positions(size, count as usize) {
            if let Some((k, v)) = h.at(i) {
                push(k, v);
            }
        }
    }
    Ok(Reply::Array(out))
}

#[cfg(test)]
mod tests {
    use super::distinct_positions;
    use crate::cmd::testutil::T;

    #[test]
    fn positions_are_distinct() {
        for (n, c) in [(10, 10), (10, 9), (1000, 5), (1000, 400), (3, 0)] {
            let v = distinct_positions(n, c);
            let set: std::collections::HashSet<_> = v.iter().collect();
            assert_eq!(set.len(), c);
            assert!(v.iter().all(|&i| i < n));
        }
    }

    #[test]
    fn hrandfield_shapes() {
        let mut t = T::new();
        t.check(&[
            ("HSET h a 1 b 2", ":2"),
            ("HRANDFIELD h 5", "*2\r\n$1\r\na\r\n$1\r\nb"),
            ("HRANDFIELD h 5 WITHVALUES", "*4\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2"),
            ("HRANDFIELD h 0", "*0"),
            ("HRANDFIELD nokey", "$-1"),
            ("HRANDFIELD nokey -3", "*0"),
            ("HRANDFIELD h 1 x", "-ERR syntax error"),
            ("HRANDFIELD h x", "-ERR value is not an integer or out of range"),
            ("HRANDFIELD h 4611686018427387904 WITHVALUES", "-ERR value is out of range"),
            (
                "HRANDFIELD h -9223372036854775808",
                "-ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807",
            ),
            ("HRANDFIELD h -100000000", "-ERR value is out of range"),
        ]);
        assert_eq!(t.run("HRANDFIELD h -7").matches("\r\n$1\r\n").count(), 7);
        assert_eq!(
            t.run("HRANDFIELD h -3 WITHVALUES")
                .matches("\r\n$1\r\n")
                .count(),
            6
        );
    }
}
