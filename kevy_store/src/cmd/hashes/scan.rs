//! HSCAN, and the argument rules every collection SCAN shares (HSCAN,
//! SSCAN, ZSCAN): Redis's cursor syntax (`strtoul`), then `MATCH` and
//! `COUNT` in any order. A small encoding (listpack, intset) returns
//! everything in one reply with cursor 0, as Redis does; a hashtable walks
//! from the cursor (see `types::hash::Indexed::scan`).

use super::read;
use crate::ctx::Ctx;
use crate::error::{CmdError, CmdResult};
use crate::glob::glob_match;
use crate::num::parse_i64;
use bytes::Bytes;
use kevy_resp::Reply;

pub(crate) use crate::cmd::scan::parse_cursor;

/// The options after a collection SCAN's cursor: `[MATCH pattern] [COUNT count]`.
pub(crate) struct ScanOpts<'a> {
    /// The glob fields/members must match; `None` matches everything.
    pub pattern: Option<&'a [u8]>,
    /// How many entries to visit per call (default 10).
    pub count: usize,
}

impl<'a> ScanOpts<'a> {
    /// Parses `args` (the options only) with Redis's `scanGenericCommand`
    /// rules: COUNT must be a positive integer, `MATCH *` is no filter, and
    /// anything else (TYPE included) is a syntax error.
    pub(crate) fn parse(args: &'a [Bytes]) -> Result<Self, CmdError> {
        let mut o = ScanOpts {
            pattern: None,
            count: 10,
        };
        let mut i = 0;
        while i < args.len() {
            let (opt, val) = (&args[i][..], args.get(i + 1));
            match val {
                Some(v) if opt.eq_ignore_ascii_case(b"count") => {
                    let n = parse_i64(v).ok_or(CmdError::NotInteger)?;
                    if n < 1 {
                        return Err(CmdError::Syntax);
                    }
                    o.count = usize::try_from(n).unwrap_or(usize::MAX);
                }
                Some(v) if opt.eq_ignore_ascii_case(b"match") => {
                    o.pattern = (&v[..] != b"*").then_some(&v[..]);
                }
                _ => return Err(CmdError::Syntax),
            }
            i += 2;
        }
        Ok(o)
    }

    /// True if `s` passes the MATCH filter.
    pub(crate) fn matches(&self, s: &[u8]) -> bool {
        self.pattern.is_none_or(|p| glob_match(p, s, false))
    }
}

/// The reply of a collection SCAN: `[cursor, [elements...]]`.
pub(crate) fn scan_reply(cursor: u64, items: Vec<Reply>) -> Reply {
    Reply::Array(vec![
        Reply::Bulk(Bytes::from(cursor.to_string())),
        Reply::Array(items),
    ])
}

/// `HSCAN key cursor [MATCH pattern] [COUNT count]`
pub(super) fn hscan(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    let cursor = parse_cursor(&argv[2])?;
    let Some(h) = read(ctx, &argv[1])? else {
        return Ok(scan_reply(0, Vec::new()));
    };
    let opts = ScanOpts::parse(&argv[3..])?;
    let mut items = Vec::new();
    let next = h.scan(cursor, opts.count, |k, v| {
        if opts.matches(k) {
            items.push(Reply::Bulk(k.to_bytes()));
            items.push(Reply::Bulk(v.to_bytes()));
        }
    });
    Ok(scan_reply(next, items))
}

#[cfg(test)]
mod tests {
    use super::parse_cursor;
    use crate::cmd::testutil::T;

    #[test]
    fn cursor_syntax() {
        assert_eq!(parse_cursor(b"").ok(), Some(0));
        assert_eq!(parse_cursor(b"+5").ok(), Some(5));
        assert_eq!(parse_cursor(b"-1").ok(), Some(u64::MAX));
        assert_eq!(parse_cursor(b"18446744073709551615").ok(), Some(u64::MAX));
        for bad in [
            &b"18446744073709551616"[..],
            b" 1",
            b"1 ",
            b"x",
            b"-",
            b"0x1",
        ] {
            assert!(parse_cursor(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn hscan_listpack_and_table() {
        let mut t = T::new();
        t.check(&[
            ("HSET h b 1 a 2 c 3", ":3"),
            ("HSCAN h 0", "*2\r\n$1\r\n0\r\n*6\r\n$1\r\nb\r\n$1\r\n1\r\n$1\r\na\r\n$1\r\n2\r\n$1\r\nc\r\n$1\r\n3"),
            ("HSCAN h 7 MATCH a* COUNT 1", "*2\r\n$1\r\n0\r\n*2\r\n$1\r\na\r\n$1\r\n2"),
            ("HSCAN h x", "-ERR invalid cursor"),
            ("HSCAN h 0 COUNT 0", "-ERR syntax error"),
            ("HSCAN h 0 COUNT x", "-ERR value is not an integer or out of range"),
            ("HSCAN h 0 TYPE string", "-ERR syntax error"),
            ("HSCAN h 0 MATCH", "-ERR syntax error"),
            ("HSCAN nokey 0 COUNT 0", "*2\r\n$1\r\n0\r\n*0"),
        ]);
        for i in 0..300 {
            t.run(&format!("HSET big f{i} {i}"));
        }
        let mut cursor = "0".to_string();
        let mut fields = std::collections::HashSet::new();
        loop {
            let r = t.reply(&format!("HSCAN big {cursor} COUNT 25"));
            let kevy_resp::Reply::Array(parts) = r else {
                panic!("not an array")
            };
            let (kevy_resp::Reply::Bulk(c), kevy_resp::Reply::Array(items)) =
                (&parts[0], &parts[1])
            else {
                panic!("bad shape")
            };
            for pair in items.chunks(2) {
                if let kevy_resp::Reply::Bulk(f) = &pair[0] {
                    fields.insert(f.clone());
                }
            }
            cursor = String::from_utf8_lossy(c).into_owned();
            if cursor == "0" {
                break;
            }
        }
        assert_eq!(fields.len(), 300);
    }
}
