//! ZSCAN. A listpack-encoded sorted set answers everything at once, in
//! order, with cursor 0, as Redis does; a skiplist-encoded one walks its
//! member index from the cursor (see `types::hash::Indexed::scan`), so a
//! member present for the whole scan is returned at least once whatever is
//! written meanwhile.

use super::parse::cursor;
use super::{is, read};
use crate::ctx::Ctx;
use crate::error::{CmdError, CmdResult};
use crate::glob::glob_match;
use bytes::Bytes;
use kevy_resp::Reply;

/// `ZSCAN key cursor [MATCH pattern] [COUNT count]`
struct ZScan<'a> {
    pattern: Option<&'a [u8]>,
    count: usize,
}

impl<'a> ZScan<'a> {
    /// Redis's `scanGenericCommand` option rules: COUNT a positive integer,
    /// `MATCH *` is no filter, anything else (TYPE included) a syntax error.
    fn parse(args: &'a [Bytes]) -> Result<ZScan<'a>, CmdError> {
        let mut o = ZScan {
            pattern: None,
            count: 10,
        };
        let mut i = 0;
        while i < args.len() {
            match args.get(i + 1) {
                Some(v) if is(&args[i], "count") => {
                    let n = crate::num::arg_i64(v)?;
                    if n < 1 {
                        return Err(CmdError::Syntax);
                    }
                    o.count = usize::try_from(n).unwrap_or(usize::MAX);
                }
                Some(v) if is(&args[i], "match") => o.pattern = (&v[..] != b"*").then_some(&v[..]),
                _ => return Err(CmdError::Syntax),
            }
            i += 2;
        }
        Ok(o)
    }

    fn matches(&self, m: &[u8]) -> bool {
        self.pattern.is_none_or(|p| glob_match(p, m, false))
    }
}

fn scan_reply(cursor: u64, items: Vec<Reply>) -> Reply {
    Reply::Array(vec![
        Reply::Bulk(Bytes::from(cursor.to_string())),
        Reply::Array(items),
    ])
}

fn push(out: &mut Vec<Reply>, m: &[u8], s: f64) {
    out.push(Reply::Bulk(Bytes::copy_from_slice(m)));
    out.push(Reply::Bulk(Bytes::from(kevy_resp::format_double(s))));
}

pub(super) fn zscan(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    let cur = cursor(&argv[2])?;
    let Some(z) = read(ctx, &argv[1])? else {
        return Ok(scan_reply(0, Vec::new()));
    };
    let o = ZScan::parse(&argv[3..])?;
    let mut out = Vec::new();
    if !z.is_skiplist() {
        for it in z.iter() {
            if o.matches(&it.member) {
                push(&mut out, &it.member, it.score);
            }
        }
        return Ok(scan_reply(0, out));
    }
    let next = z.scan(cur, o.count, |m, s| {
        if o.matches(m) {
            push(&mut out, m, s);
        }
    });
    Ok(scan_reply(next, out))
}
