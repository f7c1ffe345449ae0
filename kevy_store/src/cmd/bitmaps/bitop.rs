//! BITOP: AND, OR, XOR and NOT of whole strings into a destination key,
//! shorter inputs read as zero-padded. The sources and the destination may
//! live on different shards (the dispatcher locks them all); the log then
//! gets the result itself, routed to the destination's shard.

use super::{raw_str, read_str};
use crate::ctx::{notify, shard_for, Ctx};
use crate::error::{CmdError, CmdResult};
use crate::kstr::VStr;
use bytes::Bytes;
use kevy_resp::Reply;

/// The BITOP operations.
#[derive(Clone, Copy, PartialEq, Eq)]
enum BitOp {
    And,
    Or,
    Xor,
    Not,
}

/// Combines `srcs` with `op`; shorter strings read as zero-padded.
fn bitop_apply(op: BitOp, srcs: &[Option<VStr>], maxlen: usize) -> Vec<u8> {
    let empty = VStr::empty();
    let first = srcs[0].as_ref().unwrap_or(&empty);
    let mut res = vec![0u8; maxlen];
    res[..first.len()].copy_from_slice(first);
    if op == BitOp::Not {
        res.iter_mut().for_each(|b| *b = !*b);
        return res;
    }
    for src in &srcs[1..] {
        let s = src.as_ref().unwrap_or(&empty);
        let n = s.len();
        match op {
            BitOp::And => {
                res[..n].iter_mut().zip(s.iter()).for_each(|(r, b)| *r &= b);
                res[n..].iter_mut().for_each(|r| *r = 0);
            }
            BitOp::Or => res[..n].iter_mut().zip(s.iter()).for_each(|(r, b)| *r |= b),
            BitOp::Xor => res[..n].iter_mut().zip(s.iter()).for_each(|(r, b)| *r ^= b),
            BitOp::Not => {}
        }
    }
    res
}

/// `BITOP <AND | OR | XOR | NOT> destkey key [key ...]`
pub(super) fn bitop(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    let name = &argv[1][..];
    let op = if name.eq_ignore_ascii_case(b"and") {
        BitOp::And
    } else if name.eq_ignore_ascii_case(b"or") {
        BitOp::Or
    } else if name.eq_ignore_ascii_case(b"xor") {
        BitOp::Xor
    } else if name.eq_ignore_ascii_case(b"not") {
        BitOp::Not
    } else {
        return Err(CmdError::Syntax);
    };
    if op == BitOp::Not && argv.len() != 4 {
        return Err(CmdError::err(
            "BITOP NOT must be called with a single source key.",
        ));
    }
    let dest = &argv[2][..];
    let mut srcs = Vec::with_capacity(argv.len() - 3);
    for key in &argv[3..] {
        srcs.push(read_str(ctx, key)?);
    }
    let maxlen = srcs.iter().flatten().map(|s| s.len()).max().unwrap_or(0);
    let n = ctx.nshards();
    let home = shard_for(dest, n);
    let one_shard = argv[3..].iter().all(|k| shard_for(k, n) == home);
    if maxlen == 0 {
        if ctx.remove(dest)?.is_some() {
            ctx.modified(dest);
            ctx.notify(notify::GENERIC, "del", dest);
            if !one_shard {
                ctx.propagate(dest, &[b"DEL", dest]);
            }
        }
        return Ok(Reply::Int(0));
    }
    let res = bitop_apply(op, &srcs, maxlen);
    if !one_shard {
        ctx.propagate(dest, &[b"SET", dest, &res]);
    }
    ctx.set(dest, raw_str(res), false)?;
    ctx.modified(dest);
    ctx.notify(notify::STRING, "set", dest);
    Ok(Reply::Int(maxlen as i64))
}
