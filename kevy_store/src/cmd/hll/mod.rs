//! HyperLogLog commands (PFADD, PFCOUNT, PFMERGE, PFDEBUG, PFSELFTEST) over
//! string values in Redis's exact representation, so that the bytes `GET`
//! returns are the same as redis-server's after the same commands, and a
//! value copied from one server to the other counts the same. The encodings
//! live in `dense.rs` (header, hash, registers, estimator) and `sparse.rs`.

mod dense;
mod sparse;

use super::StoreCommand;
use crate::ctx::{notify, shard_for, Ctx};
use crate::error::{CmdError, CmdResult};
use crate::kstr::VStr;
use crate::spec::{acl, flags::*, CommandMeta, Keys};
use crate::value::{lru_clock, Entry, Value, STR_RAW};
use bytes::Bytes;
use dense::{DENSE, DENSE_SIZE, ENCODING_AT, HDR_SIZE, REGISTERS, SPARSE};
use kevy_resp::Reply;

/// Redis's `hll-sparse-max-bytes` default: a sparse value that would grow
/// past this many bytes (header included) is converted to dense.
const SPARSE_MAX_BYTES: usize = 3000;

/// The hll family's table.
pub(crate) static COMMANDS: &[StoreCommand] = &[
    StoreCommand {
        meta: CommandMeta {
            name: "pfadd",
            arity: -2,
            flags: WRITE | DENYOOM | FAST,
            acl: acl::HYPERLOGLOG,
            keys: Keys::ONE,
            group: "hyperloglog",
            summary: "Adds the specified elements to the specified HyperLogLog.",
            since: "2.8.9",
            complexity: "O(1) to add every element.",
        },
        run: pfadd,
    },
    StoreCommand {
        meta: CommandMeta {
            name: "pfcount",
            arity: -2,
            flags: READONLY,
            acl: acl::HYPERLOGLOG,
            keys: Keys::ALL,
            group: "hyperloglog",
            summary: "Return the approximated cardinality of the set(s) observed by the HyperLogLog at key(s).",
            since: "2.8.9",
            complexity: "O(1) with a very small average constant time when called with a single key. O(N) with N being the number of keys, and much bigger constant times, when called with multiple keys.",
        },
        run: pfcount,
    },
    StoreCommand {
        meta: CommandMeta {
            name: "pfmerge",
            arity: -2,
            flags: WRITE | DENYOOM,
            acl: acl::HYPERLOGLOG,
            keys: Keys::ALL,
            group: "hyperloglog",
            summary: "Merge N different HyperLogLogs into a single one.",
            since: "2.8.9",
            complexity: "O(N) to merge N HyperLogLogs, but with high constant times.",
        },
        run: pfmerge,
    },
    StoreCommand {
        meta: CommandMeta {
            name: "pfdebug",
            arity: 3,
            flags: WRITE | DENYOOM | ADMIN,
            acl: acl::HYPERLOGLOG,
            keys: Keys::Range { first: 2, last: 2, step: 1 },
            group: "hyperloglog",
            summary: "Internal commands for debugging HyperLogLog values",
            since: "2.8.9",
            complexity: "N/A",
        },
        run: pfdebug,
    },
    StoreCommand {
        meta: CommandMeta {
            name: "pfselftest",
            arity: 1,
            flags: ADMIN,
            acl: acl::HYPERLOGLOG,
            keys: Keys::None,
            group: "hyperloglog",
            summary: "An internal command for testing HyperLogLog values",
            since: "2.8.9",
            complexity: "N/A",
        },
        run: pfselftest,
    },
];

/// A string value as Redis creates it for a HyperLogLog (`raw` encoding).
fn raw_str(v: Vec<u8>) -> Value {
    Value::str_with(v, STR_RAW)
}

/// Redis's reply for a string that is not a HyperLogLog.
fn not_hll() -> CmdError {
    CmdError::Other("WRONGTYPE Key is not a valid HyperLogLog string value.".into())
}

/// Redis's reply for a HyperLogLog whose sparse data does not add up.
fn corrupt() -> CmdError {
    CmdError::Other("INVALIDOBJ Corrupted HLL object detected".into())
}

/// Redis's `isHLLObjectOrReply`: a string with the `HYLL` magic, a known
/// encoding, and the exact length when dense.
fn check(v: &Value) -> Result<&VStr, CmdError> {
    let Value::Str(s) = v else {
        return Err(CmdError::WrongType);
    };
    if s.len() < HDR_SIZE || &s[..4] != b"HYLL" || s[ENCODING_AT] > SPARSE {
        return Err(not_hll());
    }
    if s[ENCODING_AT] == DENSE && s.len() != DENSE_SIZE {
        return Err(not_hll());
    }
    Ok(s)
}

/// Looks `key` up for writing (Redis's `lookupKeyWrite`: the access is
/// recorded, the keyspace hit/miss counters are not).
fn lookup_write<'c>(
    ctx: &'c mut Ctx<'_, '_>,
    key: &[u8],
) -> Result<Option<&'c mut Entry>, CmdError> {
    let clock = lru_clock(ctx.now_ms);
    let e = ctx.get_mut(key)?;
    if let Some(e) = &e {
        e.touch(clock);
    }
    Ok(e)
}

/// Checks an entry looked up for writing and marks it `raw`, as Redis's
/// `dbUnshareStringValue` does; returns the string.
fn check_mut(e: &mut Entry) -> Result<&mut VStr, CmdError> {
    check(&e.value)?;
    match &mut e.value {
        Value::Str(s) => {
            s.set_flags(s.flags() | STR_RAW);
            Ok(s)
        }
        _ => Err(CmdError::WrongType),
    }
}

/// Adds `elems` to a HyperLogLog held as owned bytes (either encoding; a
/// sparse one may turn dense on the way). Returns whether a register
/// changed, and stops at a corrupt sparse sequence.
fn add_owned(v: &mut Vec<u8>, elems: &[Bytes]) -> (bool, Result<(), sparse::Corrupt>) {
    let mut updated = false;
    for ele in elems {
        let (index, count) = dense::pat_len(ele);
        let changed = if v[ENCODING_AT] == DENSE {
            dense::dense_set(&mut v[HDR_SIZE..], index, count)
        } else {
            match sparse::set(v, index, count, SPARSE_MAX_BYTES) {
                Ok(c) => c,
                Err(e) => return (updated, Err(e)),
            }
        };
        updated |= changed;
    }
    (updated, Ok(()))
}

/// `PFADD key [element ...]`
fn pfadd(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    let key = &argv[1][..];
    let elems = &argv[2..];
    let (updated, res) = match lookup_write(ctx, key)? {
        None => {
            let mut v = sparse::new_empty();
            let (_, res) = add_owned(&mut v, elems);
            dense::invalidate_cache(&mut v[..HDR_SIZE]);
            ctx.set(key, raw_str(v), false)?;
            (true, res)
        }
        Some(e) => {
            let s = check_mut(e)?;
            if s[ENCODING_AT] == DENSE {
                let buf = s.make_mut();
                let mut updated = false;
                for ele in elems {
                    let (index, count) = dense::pat_len(ele);
                    updated |= dense::dense_set(&mut buf[HDR_SIZE..], index, count);
                }
                if updated {
                    dense::invalidate_cache(&mut buf[..HDR_SIZE]);
                }
                (updated, Ok(()))
            } else {
                let mut v = s.to_vec();
                let (updated, res) = add_owned(&mut v, elems);
                if updated && res.is_ok() {
                    dense::invalidate_cache(&mut v[..HDR_SIZE]);
                }
                if updated || res.is_err() {
                    s.set_bytes(v);
                }
                (updated, res)
            }
        }
    };
    if res.is_err() {
        return Err(corrupt());
    }
    if updated {
        ctx.modified(key);
        ctx.notify(notify::STRING, "pfadd", key);
    }
    Ok(Reply::Int(updated as i64))
}

/// Raises `max` to the registers of `s` (a checked HyperLogLog).
fn merge_into(s: &[u8], max: &mut [u8; REGISTERS]) -> Result<(), CmdError> {
    if s[ENCODING_AT] == DENSE {
        let regs = &s[HDR_SIZE..];
        for (i, m) in max.iter_mut().enumerate() {
            *m = (*m).max(dense::get_register(regs, i));
        }
        Ok(())
    } else {
        sparse::merge_into(&s[HDR_SIZE..], max).map_err(|_| corrupt())
    }
}

/// `PFCOUNT key [key ...]`: with one key the estimate is cached in the
/// header (a change that is logged, as Redis propagates it); with several,
/// the union is estimated on the fly and nothing is written.
fn pfcount(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    if argv.len() > 2 {
        let mut max = Box::new([0u8; REGISTERS]);
        for key in &argv[1..] {
            let Some(e) = ctx.get(key)? else { continue };
            merge_into(check(&e.value)?, &mut max)?;
        }
        return Ok(Reply::Int(dense::estimate(&dense::raw_histo(&max)) as i64));
    }
    let key = &argv[1][..];
    let Some(e) = lookup_write(ctx, key)? else {
        return Ok(Reply::Int(0));
    };
    let s = check_mut(e)?;
    if let Some(card) = dense::cached_card(s) {
        return Ok(Reply::Int(card as i64));
    }
    let histo = if s[ENCODING_AT] == DENSE {
        dense::dense_histo(&s[HDR_SIZE..])
    } else {
        sparse::histo(&s[HDR_SIZE..]).map_err(|_| corrupt())?
    };
    let card = dense::estimate(&histo);
    dense::set_cached_card(&mut s.make_mut()[..HDR_SIZE], card);
    ctx.modified(key);
    ctx.propagate(key, &[b"PFCOUNT", key]);
    Ok(Reply::Int(card as i64))
}

/// `PFMERGE destkey [sourcekey ...]`: the destination is also a source.
fn pfmerge(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    let dest = &argv[1][..];
    let mut max = Box::new([0u8; REGISTERS]);
    let mut use_dense = false;
    for key in &argv[1..] {
        let Some(e) = ctx.get(key)? else { continue };
        let s = check(&e.value)?;
        use_dense |= s[ENCODING_AT] == DENSE;
        merge_into(s, &mut max)?;
    }
    let (mut v, existed) = match lookup_write(ctx, dest)? {
        None => (sparse::new_empty(), false),
        Some(e) => (check_mut(e)?.to_vec(), true),
    };
    if use_dense && v[ENCODING_AT] == SPARSE {
        v = sparse::to_dense(&v).map_err(|_| corrupt())?;
    }
    for (i, &m) in max.iter().enumerate() {
        if m == 0 {
            continue;
        }
        if v[ENCODING_AT] == DENSE {
            dense::dense_set(&mut v[HDR_SIZE..], i, m);
        } else {
            // A corrupt destination was refused by the merge above.
            let _ = sparse::set(&mut v, i, m, SPARSE_MAX_BYTES);
        }
    }
    dense::invalidate_cache(&mut v[..HDR_SIZE]);
    let n = ctx.nshards();
    let home = shard_for(dest, n);
    let one_shard = argv[2..].iter().all(|k| shard_for(k, n) == home);
    if !one_shard {
        ctx.propagate(dest, &[b"SET", dest, &v, b"KEEPTTL"]);
    }
    let value = raw_str(v);
    match ctx.get_mut(dest)? {
        Some(e) if existed => e.value = value,
        _ => {
            ctx.set(dest, value, false)?;
        }
    }
    ctx.modified(dest);
    ctx.notify(notify::STRING, "pfadd", dest);
    Ok(Reply::ok())
}

/// `PFDEBUG <GETREG|DECODE|ENCODING|TODENSE> key`
fn pfdebug(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    let sub = &argv[1][..];
    let key = &argv[2][..];
    let Some(e) = lookup_write(ctx, key)? else {
        return Err(CmdError::err("The specified key does not exist"));
    };
    let s = check_mut(e)?;
    let lower = sub.to_ascii_lowercase();
    let mut converted = false;
    if matches!(&lower[..], b"getreg" | b"todense") && s[ENCODING_AT] == SPARSE {
        let dense = sparse::to_dense(s).map_err(|_| corrupt())?;
        s.set_bytes(dense);
        converted = true;
    }
    let reply = match &lower[..] {
        b"getreg" => {
            let regs = &s[HDR_SIZE..];
            Reply::Array(
                (0..REGISTERS)
                    .map(|i| Reply::Int(dense::get_register(regs, i) as i64))
                    .collect(),
            )
        }
        b"decode" => {
            if s[ENCODING_AT] != SPARSE {
                return Err(CmdError::err("HLL encoding is not sparse"));
            }
            Reply::Bulk(Bytes::from(sparse::decode(&s[HDR_SIZE..])))
        }
        b"encoding" => Reply::simple(if s[ENCODING_AT] == DENSE {
            "dense"
        } else {
            "sparse"
        }),
        b"todense" => Reply::Int(converted as i64),
        _ => {
            return Err(CmdError::err(format!(
                "Unknown PFDEBUG subcommand '{}'",
                String::from_utf8_lossy(sub)
            )))
        }
    };
    if converted {
        // Redis counts the conversion as a change (so it is propagated)
        // without signalling the key.
        ctx.events.dirty += 1;
    }
    Ok(reply)
}

/// `PFSELFTEST`: checks the dense register packing and that the sparse and
/// dense encodings agree, register for register and in their estimates.
/// Lighter than Redis's (which adds ten million elements), same reply.
fn pfselftest(_ctx: &mut Ctx<'_, '_>, _argv: &[Bytes]) -> CmdResult {
    let mut regs = vec![0u8; DENSE_SIZE - HDR_SIZE];
    let mut want = vec![0u8; REGISTERS];
    for round in 0..100 {
        for (i, w) in want.iter_mut().enumerate() {
            let r = (crate::rand::next_u64() & dense::REGISTER_MAX as u64) as u8;
            *w = r;
            dense::set_register(&mut regs, i, r);
        }
        for (i, &w) in want.iter().enumerate() {
            if dense::get_register(&regs, i) != w {
                return Err(CmdError::Other(format!(
                    "TESTFAILED Register error at {i} (round {round})"
                )));
            }
        }
    }
    let mut sp = sparse::new_empty();
    let mut de = sparse::to_dense(&sp).map_err(|_| corrupt())?;
    let seed = crate::rand::next_u64();
    for j in 0..20_000u64 {
        let ele = Bytes::from((seed ^ j).to_le_bytes().to_vec());
        let (index, count) = dense::pat_len(&ele);
        let _ = sparse::set(&mut sp, index, count, usize::MAX);
        dense::dense_set(&mut de[HDR_SIZE..], index, count);
        if j % 1000 == 999 && sp[ENCODING_AT] == SPARSE {
            let a = sparse::histo(&sp[HDR_SIZE..]).map_err(|_| corrupt())?;
            let b = dense::dense_histo(&de[HDR_SIZE..]);
            let card = dense::estimate(&b);
            if a != b {
                return Err(CmdError::Other(format!(
                    "TESTFAILED sparse and dense disagree at {j}"
                )));
            }
            let err = (card as f64 - (j + 1) as f64).abs() / (j + 1) as f64;
            if err > 5.0 * 1.04 / (REGISTERS as f64).sqrt() {
                return Err(CmdError::Other(format!(
                    "TESTFAILED too big error. card:{card} abserr:{err}"
                )));
            }
        }
    }
    Ok(Reply::ok())
}

#[cfg(test)]
mod tests;
