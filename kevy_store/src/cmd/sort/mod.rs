//! SORT and SORT_RO, as Redis 7.0's `sort.c` does them: the elements of a
//! list, set or sorted set are loaded, weighted (the element itself, or the
//! value a `BY` pattern names), sorted, cut to `LIMIT`, and each is replied
//! (or stored as a list) either itself or as the values its `GET` patterns
//! name. `BY`/`GET` patterns may name any key, so both commands lock every
//! shard (`ALL_SHARDS`); the key positions they declare are those Redis's
//! `sortGetKeys` reports. Pattern lookups are in `pattern.rs`.

use super::reply_stream;
use super::StoreCommand;
use crate::ctx::{notify, Ctx};
use crate::error::{CmdError, CmdResult};
use crate::kstr::KStr;
use crate::num::arg_i64;
use crate::spec::{acl, flags::*, CommandMeta, Keys};
use crate::types::ListValue;
use crate::value::Value;
use bytes::Bytes;
use kevy_resp::Reply;
use pattern::{collate, lookup, score_of};
use std::cmp::Ordering;
use std::sync::Arc;

mod pattern;
#[cfg(test)]
mod tests;

const ACL: u64 = acl::SET | acl::SORTEDSET | acl::LIST | acl::DANGEROUS;

/// The SORT family's table.
pub(crate) static COMMANDS: &[StoreCommand] = &[
    StoreCommand {
        meta: CommandMeta {
            name: "sort",
            arity: -2,
            flags: WRITE | DENYOOM | MOVABLE_KEYS | ALL_SHARDS,
            acl: ACL,
            keys: Keys::Custom {
                first: 1,
                last: 1,
                step: 1,
                find: sort_keys,
            },
            group: "generic",
            summary: "Sort the elements in a list, set or sorted set",
            since: "1.0.0",
            complexity: "O(N+M*log(M)) where N is the number of elements in the list or set to sort, and M the number of returned elements. When the elements are not sorted, complexity is O(N).",
        },
        run: sort,
    },
    StoreCommand {
        meta: CommandMeta {
            name: "sort_ro",
            arity: -2,
            flags: READONLY | MOVABLE_KEYS | ALL_SHARDS,
            acl: ACL,
            keys: Keys::ONE,
            group: "generic",
            summary: "Sort the elements in a list, set or sorted set. Read-only variant of SORT.",
            since: "7.0.0",
            complexity: "O(N+M*log(M)) where N is the number of elements in the list or set to sort, and M the number of returned elements. When the elements are not sorted, complexity is O(N).",
        },
        run: sort_ro,
    },
];

/// Redis's `sortGetKeys`: the sorted key, and the destination of the last
/// `STORE` (options taking arguments are skipped, as Redis skips them).
fn sort_keys(argv: &[Bytes]) -> Vec<usize> {
    let mut keys = vec![1];
    let mut store = None;
    let mut i = 2;
    while i < argv.len() {
        let a = &argv[i];
        if a.eq_ignore_ascii_case(b"limit") {
            i += 2;
        } else if a.eq_ignore_ascii_case(b"get") || a.eq_ignore_ascii_case(b"by") {
            i += 1;
        } else if a.eq_ignore_ascii_case(b"store") && i + 1 < argv.len() {
            store = Some(i + 1);
        }
        i += 1;
    }
    keys.extend(store);
    keys
}

/// `SORT key [BY pattern] [LIMIT offset count] [GET pattern [GET pattern
/// ...]] [ASC|DESC] [ALPHA] [STORE destination]`; `SORT_RO` takes the same
/// options but `STORE`.
struct SortArgs<'a> {
    desc: bool,
    alpha: bool,
    /// `LIMIT offset count` (count -1: to the end).
    limit: (i64, i64),
    /// The last `BY` pattern.
    by: Option<&'a [u8]>,
    /// Some `BY` pattern had no `*` (`BY nosort`): keep the source's order.
    /// Redis never resets it, even for a later `BY` with a `*`.
    dontsort: bool,
    gets: Vec<&'a [u8]>,
    store: Option<&'a [u8]>,
}

impl<'a> SortArgs<'a> {
    /// Parses the options after the key; the first bad option is the error.
    fn parse(argv: &'a [Bytes], readonly: bool) -> Result<Self, CmdError> {
        let mut a = SortArgs {
            desc: false,
            alpha: false,
            limit: (0, -1),
            by: None,
            dontsort: false,
            gets: Vec::new(),
            store: None,
        };
        let mut j = 2;
        while j < argv.len() {
            let left = argv.len() - j - 1;
            let opt = &argv[j];
            let is = |name: &str| opt.eq_ignore_ascii_case(name.as_bytes());
            if is("asc") {
                a.desc = false;
            } else if is("desc") {
                a.desc = true;
            } else if is("alpha") {
                a.alpha = true;
            } else if is("limit") && left >= 2 {
                a.limit = (arg_i64(&argv[j + 1])?, arg_i64(&argv[j + 2])?);
                j += 2;
            } else if !readonly && is("store") && left >= 1 {
                a.store = Some(&argv[j + 1]);
                j += 1;
            } else if is("by") && left >= 1 {
                let p = &argv[j + 1][..];
                if !pattern::cstr(p).contains(&b'*') {
                    a.dontsort = true;
                }
                a.by = Some(p);
                j += 1;
            } else if is("get") && left >= 1 {
                a.gets.push(&argv[j + 1]);
                j += 1;
            } else {
                return Err(CmdError::Syntax);
            }
            j += 1;
        }
        Ok(a)
    }
}

/// One element to sort and what it is compared by.
struct Sortable {
    elem: KStr,
    /// The numeric weight (0 when the `BY` key is missing).
    score: f64,
    /// The `BY` value for `ALPHA` with a pattern (none when missing).
    by: Option<KStr>,
}

/// Redis's `sortCompare`. Equal numeric weights fall back to comparing the
/// elements, so a numeric sort is deterministic; `ALPHA` compares with
/// `strcoll` (byte order in the C/C.UTF-8 locale, up to a NUL byte), or
/// binary-safe when storing.
fn compare(a: &Sortable, b: &Sortable, alpha: bool, by: bool, store: bool) -> Ordering {
    let text = |x: &[u8], y: &[u8]| if store { x.cmp(y) } else { collate(x, y) };
    if !alpha {
        return a
            .score
            .partial_cmp(&b.score)
            .unwrap_or(Ordering::Equal)
            .then_with(|| a.elem[..].cmp(&b.elem[..]));
    }
    if !by {
        return text(&a.elem, &b.elem);
    }
    match (&a.by, &b.by) {
        (Some(x), Some(y)) => text(x, y),
        (x, y) => x.is_some().cmp(&y.is_some()),
    }
}

/// The elements of the source key in its natural order (sets in their
/// iteration order, a missing key as an empty list), and whether it is a
/// set; `WrongType` for a string.
fn load(ctx: &mut Ctx<'_, '_>, key: &[u8]) -> Result<(Vec<KStr>, bool), CmdError> {
    Ok(match ctx.get(key)?.map(|e| &e.value) {
        None => (Vec::new(), false),
        Some(Value::List(l)) => (l.items.iter().cloned().collect(), false),
        Some(Value::Set(s)) => (s.iter().collect(), true),
        Some(Value::ZSet(z)) => (z.iter().map(|it| it.member.clone()).collect(), false),
        Some(_) => return Err(CmdError::WrongType),
    })
}

/// Redis's `LIMIT` sanity checks: the selected positions of `len` elements.
fn limit_range(len: usize, (offset, count): (i64, i64)) -> std::ops::Range<usize> {
    let len = len as i64;
    let mut start = offset.clamp(0, len);
    let count = count.clamp(-1, len);
    let mut end = if count < 0 {
        len - 1
    } else {
        start + count - 1
    };
    if start >= len {
        start = len - 1;
        end = len - 2;
    }
    end = end.min(len - 1);
    if end < start {
        return 0..0;
    }
    start as usize..end as usize + 1
}

/// `SORT key [BY pattern] [LIMIT offset count] [GET pattern ...] [ASC|DESC] [ALPHA] [STORE destination]`
fn sort(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    run(ctx, argv, false)
}

/// `SORT_RO key [BY pattern] [LIMIT offset count] [GET pattern ...] [ASC|DESC] [ALPHA]`
fn sort_ro(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    run(ctx, argv, true)
}

/// Both commands: parse, load, weigh, sort, cut, then reply or store.
fn run(ctx: &mut Ctx<'_, '_>, argv: &[Bytes], readonly: bool) -> CmdResult {
    let mut a = SortArgs::parse(argv, readonly)?;
    let (mut elems, is_set) = load(ctx, &argv[1])?;
    // A set has no order of its own: when it is stored unsorted, or read
    // by a script, Redis sorts it (ALPHA, no BY) so the result is the
    // same on a replica.
    if a.dontsort && is_set && (a.store.is_some() || ctx.in_script) {
        a.dontsort = false;
        a.alpha = true;
        a.by = None;
    }
    // Unsorted lists and sorted sets keep their order, reversed by DESC.
    if a.dontsort && a.desc && !is_set {
        elems.reverse();
    }
    let range = limit_range(elems.len(), a.limit);
    let mut items: Vec<Sortable> = elems
        .into_iter()
        .map(|elem| Sortable {
            elem,
            score: 0.0,
            by: None,
        })
        .collect();
    if !a.dontsort {
        let mut bad_score = false;
        for it in items.iter_mut() {
            let val = match a.by {
                Some(p) => match lookup(ctx, p, &it.elem)? {
                    Some(v) => v,
                    None => continue,
                },
                None => it.elem.clone(),
            };
            if a.alpha {
                if a.by.is_some() {
                    it.by = Some(val);
                }
            } else {
                match score_of(&val) {
                    Some(s) => it.score = s,
                    None => bad_score = true,
                }
            }
        }
        if bad_score {
            return Err(CmdError::err(
                "One or more scores can't be converted into double",
            ));
        }
        let (alpha, by, store) = (a.alpha, a.by.is_some(), a.store.is_some());
        // Stable, as glibc's qsort (a merge sort) is: ties under ALPHA BY
        // keep the source order. (Redis uses a partial quicksort for BY with
        // a LIMIT, whose order of ties is unspecified.)
        items.sort_by(|x, y| {
            let o = compare(x, y, alpha, by, store);
            if a.desc {
                o.reverse()
            } else {
                o
            }
        });
    }
    let selected = &items[range];
    match a.store {
        None => reply(ctx, selected, &a.gets),
        Some(dst) => store(ctx, dst, selected, &a.gets),
    }
}

/// The reply: each selected element, or the values of its `GET` patterns
/// (nil when missing).
fn reply(ctx: &mut Ctx<'_, '_>, selected: &[Sortable], gets: &[&[u8]]) -> CmdResult {
    let mut out: Vec<Option<KStr>> = Vec::with_capacity(selected.len() * gets.len().max(1));
    for it in selected {
        if gets.is_empty() {
            out.push(Some(it.elem.clone()));
        }
        for p in gets {
            out.push(lookup(ctx, p, &it.elem)?);
        }
    }
    if reply_stream::wanted(ctx.stream_replies, out.len()) {
        return Ok(reply_stream::bulks(out));
    }
    Ok(Reply::Array(
        out.into_iter()
            .map(|v| v.map_or(Reply::Nil, |s| Reply::Bulk(s.to_bytes())))
            .collect(),
    ))
}

/// `STORE`: the result as a list under `dst` (a missing `GET` value as an
/// empty string), replacing it and its TTL, or deleting `dst` when empty.
/// Logged as `DEL dst` plus the pushes that rebuild the list.
fn store(ctx: &mut Ctx<'_, '_>, dst: &[u8], selected: &[Sortable], gets: &[&[u8]]) -> CmdResult {
    let mut list = ListValue::default();
    for it in selected {
        if gets.is_empty() {
            list.items.push_back(it.elem.clone());
        }
        for p in gets {
            let v = lookup(ctx, p, &it.elem)?;
            list.items
                .push_back(v.unwrap_or_else(|| KStr::from_slice(b"")));
        }
    }
    let n = list.len();
    if n == 0 {
        ctx.store_empty(dst)?;
        return Ok(Reply::Int(0));
    }
    let cmds = list.restore_commands(dst);
    ctx.set(dst, Value::List(Arc::new(list)), false)?;
    ctx.modified(dst);
    // Redis counts one change per stored element.
    ctx.events.dirty += n as u64 - 1;
    ctx.notify(notify::LIST, "sortstore", dst);
    ctx.key_ready(dst);
    ctx.propagate(dst, &[b"DEL", dst]);
    for c in &cmds {
        let parts: Vec<&[u8]> = c.iter().map(|x| &x[..]).collect();
        ctx.propagate(dst, &parts);
    }
    Ok(Reply::Int(n as i64))
}
