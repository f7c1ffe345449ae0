//! `CONFIG GET *` differential: for every knob both kevy and redis-server
//! know, the two servers must agree on the value's format (and, for knobs
//! whose defaults are the same, on the value). Knobs where kevy differs on
//! purpose are listed with the reason.

use crate::util::{elements, scalar, Redis, Server};
use std::collections::BTreeMap;

/// Knobs whose value differs on purpose (kevy's defaults or meaning).
const DELIBERATE: &[(&str, &str)] = &[
    ("bind", "kevy binds 127.0.0.1 by default"),
    (
        "dir",
        "kevy reports the configured dir; each server runs in its own temp dir",
    ),
    (
        "dbfilename",
        "kevy writes its own snapshot format, dump.kevy",
    ),
    ("port", "each server gets its own ephemeral port"),
    (
        "appendonly",
        "same meaning; the harness may start the servers differently",
    ),
    (
        "save",
        "the harness starts both with save \"\"; compared for format only",
    ),
];

fn config_map(frame: &[u8]) -> BTreeMap<String, String> {
    let (_, items) = elements(frame).expect("CONFIG GET reply is an array");
    let mut out = BTreeMap::new();
    for pair in items.chunks(2) {
        let k = scalar(&pair[0])
            .map(|v| String::from_utf8_lossy(&v).into_owned())
            .unwrap_or_default();
        let v = scalar(&pair[1])
            .map(|v| String::from_utf8_lossy(&v).into_owned())
            .unwrap_or_default();
        out.insert(k, v);
    }
    out
}

/// A coarse "format" of a value: what kind of token each word is.
fn shape(v: &str) -> String {
    v.split(' ')
        .map(|w| {
            if w.is_empty() {
                "empty"
            } else if w.parse::<i64>().is_ok() {
                "int"
            } else if w.parse::<f64>().is_ok() {
                "float"
            } else if w == "yes" || w == "no" {
                "bool"
            } else {
                "word"
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn config_get_star_agrees_with_redis() {
    let Some(redis) = Redis::start() else { return };
    let kevy = Server::start(&[]);
    let k = config_map(&kevy.conn().cmd("CONFIG GET *"));
    let r = config_map(&redis.conn().cmd("CONFIG GET *"));
    let common: Vec<&String> = k.keys().filter(|n| r.contains_key(*n)).collect();
    assert!(common.len() >= 50, "only {} knobs in common", common.len());
    let mut problems = Vec::new();
    for name in common {
        let (kv, rv) = (&k[name], &r[name]);
        if DELIBERATE.iter().any(|(n, _)| n == name) {
            if shape(kv) != shape(rv) && !kv.is_empty() && !rv.is_empty() {
                problems.push(format!(
                    "{name}: format differs: kevy {kv:?} vs redis {rv:?}"
                ));
            }
            continue;
        }
        if kv != rv {
            problems.push(format!("{name}: kevy {kv:?} vs redis {rv:?}"));
        }
    }
    assert!(
        problems.is_empty(),
        "CONFIG GET * differs:\n{}",
        problems.join("\n")
    );
}
