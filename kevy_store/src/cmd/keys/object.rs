//! OBJECT ENCODING/REFCOUNT/IDLETIME/FREQ/HELP: what Redis reports about a
//! key's internal representation, in Redis's vocabulary.

use super::count_lookup;
use crate::ctx::Ctx;
use crate::error::{CmdError, CmdResult};
use crate::value::{lru_clock, Entry, Value};
use bytes::Bytes;
use kevy_resp::Reply;

/// OBJECT's key position: the third argument of the key subcommands.
pub(super) fn object_keys(argv: &[Bytes]) -> Vec<usize> {
    let keyed = argv.get(1).is_some_and(|s| {
        [&b"encoding"[..], b"refcount", b"idletime", b"freq"]
            .iter()
            .any(|n| s.eq_ignore_ascii_case(n))
    });
    if keyed && argv.len() == 3 {
        vec![2]
    } else {
        Vec::new()
    }
}

const OBJECT_HELP: &[&str] = &[
    "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "ENCODING <key>",
    "    Return the kind of internal representation used in order to store the value",
    "    associated with a <key>.",
    "FREQ <key>",
    "    Return the access frequency index of the <key>. The returned integer is",
    "    proportional to the logarithm of the recent access frequency of the key.",
    "IDLETIME <key>",
    "    Return the idle time of the <key>, that is the approximated number of",
    "    seconds elapsed since the last access to the key.",
    "REFCOUNT <key>",
    "    Return the number of references of the value associated with the specified",
    "    <key>.",
    "HELP",
    "    Prints this help.",
];

/// Redis shares one object for each integer 0..9999 (`OBJ_SHARED_INTEGERS`)
/// and reports its refcount as `INT_MAX`.
const SHARED_REFCOUNT: i64 = i32::MAX as i64;

/// `OBJECT ENCODING|REFCOUNT|IDLETIME|FREQ key`, `OBJECT HELP`
pub(super) fn object(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    let sub = String::from_utf8_lossy(&argv[1]).to_ascii_lowercase();
    let want = match sub.as_str() {
        "help" => 2,
        "encoding" | "refcount" | "idletime" | "freq" => 3,
        _ => {
            let typed: String = String::from_utf8_lossy(&argv[1])
                .chars()
                .take(128)
                .collect();
            return Err(CmdError::err(format!(
                "unknown subcommand '{typed}'. Try OBJECT HELP."
            )));
        }
    };
    if argv.len() != want {
        return Err(CmdError::Arity(format!("object|{sub}")));
    }
    if sub == "help" {
        return Ok(Reply::Array(
            OBJECT_HELP.iter().map(|l| Reply::simple(l)).collect(),
        ));
    }
    let now = ctx.now_ms;
    let lfu = ctx.lfu;
    let answer = ctx
        .peek(&argv[2])?
        .map(|e| object_answer(e, &sub, now, lfu));
    count_lookup(ctx, answer.is_some());
    answer.unwrap_or(Ok(Reply::Nil))
}

/// OBJECT's answer about an existing entry.
fn object_answer(e: &Entry, sub: &str, now: u64, lfu: Option<crate::lfu::LfuParams>) -> CmdResult {
    Ok(match sub {
        "encoding" => Reply::bulk(e.value.encoding().as_bytes()),
        "refcount" => Reply::Int(match &e.value {
            Value::Str(s)
                if e.value.encoding() == "int"
                    && crate::num::parse_i64(s).is_some_and(|v| (0..10000).contains(&v)) =>
            {
                SHARED_REFCOUNT
            }
            _ => 1,
        }),
        "idletime" if lfu.is_some() => {
            return Err(CmdError::err(
                "An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.",
            ))
        }
        "freq" if lfu.is_some() => {
            let p = lfu.unwrap_or_default();
            Reply::Int(crate::lfu::lfu_decayed(e.access(), now, p) as i64)
        }
        "idletime" => {
            let access = e.access();
            let idle = if access == 0 { 0 } else { lru_clock(now).wrapping_sub(access) };
            Reply::Int(idle as i64)
        }
        _ => {
            return Err(CmdError::err(
                "An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.",
            ))
        }
    })
}
