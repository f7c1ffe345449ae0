//! LCS: the longest common subsequence of two strings, as Redis 7.0's
//! `lcsCommand` computes it (same dynamic-programming table, same
//! tie-breaking when walking it back, so the same matches in the same order).

use super::StoreCommand;
use crate::ctx::Ctx;
use crate::error::{CmdError, CmdResult};
use crate::num::arg_i64;
use crate::spec::{acl, flags::*, CommandMeta, Keys};
use bytes::Bytes;
use kevy_resp::Reply;

/// The LCS table.
pub(crate) static COMMANDS: &[StoreCommand] = &[StoreCommand {
    meta: CommandMeta {
        name: "lcs",
        arity: -3,
        flags: READONLY,
        acl: acl::STRING,
        keys: Keys::TWO,
        group: "string",
        summary: "Find longest common substring",
        since: "7.0.0",
        complexity: "O(N*M) where N and M are the lengths of s1 and s2, respectively",
    },
    run: lcs,
}];

/// `LCS key1 key2 [LEN] [IDX] [MINMATCHLEN min-match-len] [WITHMATCHLEN]`
#[derive(Default)]
struct Lcs {
    len: bool,
    idx: bool,
    min_match: i64,
    with_match_len: bool,
}

impl Lcs {
    fn parse(args: &[Bytes]) -> Result<Self, CmdError> {
        let mut o = Lcs::default();
        let mut j = 0;
        while j < args.len() {
            let opt = &args[j][..];
            let more = args.len() - j - 1;
            if opt.eq_ignore_ascii_case(b"idx") {
                o.idx = true;
            } else if opt.eq_ignore_ascii_case(b"len") {
                o.len = true;
            } else if opt.eq_ignore_ascii_case(b"withmatchlen") {
                o.with_match_len = true;
            } else if opt.eq_ignore_ascii_case(b"minmatchlen") && more > 0 {
                o.min_match = arg_i64(&args[j + 1])?.max(0);
                j += 1;
            } else {
                return Err(CmdError::Syntax);
            }
            j += 1;
        }
        if o.len && o.idx {
            return Err(CmdError::err(
                "If you want both the length and indexes, please just use IDX.",
            ));
        }
        Ok(o)
    }

    fn exec(self, a: &[u8], b: &[u8]) -> Reply {
        let (alen, blen) = (a.len(), b.len());
        // table[i][j] = LCS length of a[..i] and b[..j], in one flat vector.
        let w = blen + 1;
        let mut t = vec![0u32; (alen + 1) * w];
        for i in 1..=alen {
            for j in 1..=blen {
                t[i * w + j] = if a[i - 1] == b[j - 1] {
                    t[(i - 1) * w + j - 1] + 1
                } else {
                    t[(i - 1) * w + j].max(t[i * w + j - 1])
                };
            }
        }
        let total = t[alen * w + blen] as usize;
        if self.len {
            return Reply::Int(total as i64);
        }
        // Walk back from the bottom-right corner, as Redis does, emitting
        // each run of consecutive matching positions as one range.
        let mut result = vec![0u8; total];
        let mut idx = total;
        let mut matches = Vec::new();
        let (mut i, mut j) = (alen, blen);
        let mut range: Option<(usize, usize, usize, usize)> = None; // (a_start, a_end, b_start, b_end)
        let emit = |r: (usize, usize, usize, usize), matches: &mut Vec<Reply>| {
            let len = (r.1 - r.0 + 1) as i64;
            if self.idx && len >= self.min_match {
                let mut m = vec![
                    Reply::Array(vec![Reply::Int(r.0 as i64), Reply::Int(r.1 as i64)]),
                    Reply::Array(vec![Reply::Int(r.2 as i64), Reply::Int(r.3 as i64)]),
                ];
                if self.with_match_len {
                    m.push(Reply::Int(len));
                }
                matches.push(Reply::Array(m));
            }
        };
        while i > 0 && j > 0 {
            if a[i - 1] == b[j - 1] {
                idx -= 1;
                result[idx] = a[i - 1];
                range = match range {
                    Some((s1, e1, s2, e2)) if s1 == i && s2 == j => Some((i - 1, e1, j - 1, e2)),
                    Some(r) => {
                        emit(r, &mut matches);
                        Some((i - 1, i - 1, j - 1, j - 1))
                    }
                    None => Some((i - 1, i - 1, j - 1, j - 1)),
                };
                i -= 1;
                j -= 1;
            } else if t[(i - 1) * w + j] > t[i * w + j - 1] {
                i -= 1;
            } else {
                j -= 1;
            }
        }
        if let Some(r) = range {
            emit(r, &mut matches);
        }
        if self.idx {
            Reply::Map(vec![
                (Reply::bulk(b"matches"), Reply::Array(matches)),
                (Reply::bulk(b"len"), Reply::Int(total as i64)),
            ])
        } else {
            Reply::Bulk(Bytes::from(result))
        }
    }
}

/// Redis refuses a table (4 bytes a cell) larger than `proto-max-bulk-len`.
const MAX_CELLS: u128 = (super::strings::PROTO_MAX_BULK_LEN / 4) as u128;

fn lcs(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    let not_str = |e: CmdError| match e {
        CmdError::WrongType => CmdError::err("The specified keys must contain string values"),
        e => e,
    };
    let a = ctx.get_str(&argv[1]).map_err(not_str)?.cloned();
    let b = ctx.get_str(&argv[2]).map_err(not_str)?.cloned();
    let opts = Lcs::parse(&argv[3..])?;
    let a = a.as_deref().unwrap_or_default();
    let b = b.as_deref().unwrap_or_default();
    if (a.len() as u128 + 1) * (b.len() as u128 + 1) > MAX_CELLS {
        return Err(CmdError::err(
            "Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len",
        ));
    }
    Ok(opts.exec(a, b))
}

#[cfg(test)]
mod tests {
    use crate::cmd::testutil::T;

    #[test]
    fn redis_examples() {
        let mut t = T::new();
        t.check(&[
            ("MSET {k}1 ohmytext {k}2 mynewtext", "+OK"),
            ("LCS {k}1 {k}2", "$6\r\nmytext"),
            ("LCS {k}1 {k}2 LEN", ":6"),
            (
                "LCS {k}1 {k}2 IDX",
                "*4\r\n$7\r\nmatches\r\n*2\r\n*2\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n*2\r\n*2\r\n:2\r\n:3\r\n*2\r\n:0\r\n:1\r\n$3\r\nlen\r\n:6",
            ),
            (
                "LCS {k}1 {k}2 IDX MINMATCHLEN 4 WITHMATCHLEN",
                "*4\r\n$7\r\nmatches\r\n*1\r\n*3\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n:4\r\n$3\r\nlen\r\n:6",
            ),
            ("LCS {k}1 {k}2 LEN IDX", "-ERR If you want both the length and indexes, please just use IDX."),
            ("LCS {k}1 {k}2 MINMATCHLEN", "-ERR syntax error"),
            ("LCS {k}1 {k}2 MINMATCHLEN x", "-ERR value is not an integer or out of range"),
            ("LCS {k}1 {k}2 FOO", "-ERR syntax error"),
            ("LCS {k}1 {k}2 WITHMATCHLEN", "$6\r\nmytext"),
            ("LCS {k}1 {k}nokey", "$0\r\n"),
            ("LCS {k}1 {k}nokey IDX", "*4\r\n$7\r\nmatches\r\n*0\r\n$3\r\nlen\r\n:0"),
            ("LCS {k}1", "-ERR wrong number of arguments for 'lcs' command"),
        ]);
    }
}
