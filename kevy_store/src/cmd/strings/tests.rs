//! Unit tests of the strings family, as transcripts against a store.
use crate::cmd::testutil::{T, T0};

#[test]
fn set_options() {
    let mut t = T::new();
    t.check(&[
        ("SET k v EX 0", "-ERR invalid expire time in 'set' command"),
        ("SET k v EX -1", "-ERR invalid expire time in 'set' command"),
        ("SET k v PX 0", "-ERR invalid expire time in 'set' command"),
        (
            "SET k v EXAT 0",
            "-ERR invalid expire time in 'set' command",
        ),
        (
            "SET k v EX 9223372036854775807",
            "-ERR invalid expire time in 'set' command",
        ),
        (
            "SET k v EX 9223372036854775",
            "-ERR invalid expire time in 'set' command",
        ),
        (
            "SET k v PX 9223372036854775807",
            "-ERR invalid expire time in 'set' command",
        ),
        (
            "SET k v EX abc",
            "-ERR value is not an integer or out of range",
        ),
        ("SET k v NX XX", "-ERR syntax error"),
        ("SET k v EX 10 PX 10", "-ERR syntax error"),
        ("SET k v EX 10 KEEPTTL", "-ERR syntax error"),
        ("SET k v PX 100 KEEPTTL", "-ERR syntax error"),
        ("SET k v EX", "-ERR syntax error"),
        ("SET k v FOO", "-ERR syntax error"),
        ("SET k v PERSIST", "-ERR syntax error"),
        ("SET", "-ERR wrong number of arguments for 'set' command"),
        ("SET k", "-ERR wrong number of arguments for 'set' command"),
        ("EXISTS k", ":0"),
        ("SET k v KEEPTTL", "+OK"),
        ("SET k v GET", "$1\r\nv"),
        ("SET k v2 NX GET", "$1\r\nv"),
        ("GET k", "$1\r\nv"),
        ("SET k v3 XX GET", "$1\r\nv"),
        ("SET k2 v XX GET", "$-1"),
        ("SET k2 v XX", "$-1"),
        ("SET k v nx nx", "$-1"),
        ("SET k v ex 10 ex 20", "+OK"),
        ("TTL k", ":20"),
        ("SET k v2 KEEPTTL", "+OK"),
        ("TTL k", ":20"),
        ("SET k v3", "+OK"),
        ("TTL k", ":-1"),
        ("SET k v PX 1500", "+OK"),
        ("PTTL k", ":1500"),
        ("TTL k", ":2"),
        ("SET k v EXAT 1700000100", "+OK"),
        ("TTL k", ":100"),
        ("SET k v PXAT 1700000000500", "+OK"),
        ("PTTL k", ":500"),
        ("SET k v EXAT 1", "+OK"),
        ("EXISTS k", ":0"),
        ("SET k v PXAT 99999999999999 GET", "$-1"),
    ]);
}

#[test]
fn set_logs_absolute_expiry() {
    let mut t = T::new();
    let rec = t.record();
    t.check(&[
        ("SET k v EX 10", "+OK"),
        ("SET k v PX 10 GET", "$1\r\nv"),
        ("SET k w KEEPTTL", "+OK"),
        ("SET k v NX", "$-1"),
        ("SETEX k 5 v", "+OK"),
        ("PSETEX k 5 v", "+OK"),
        ("GETSET k x", "$1\r\nv"),
        ("SETNX k y", ":0"),
        ("SETNX n y", ":1"),
        ("GETEX k EX 1", "$1\r\nx"),
        ("GETEX k PERSIST", "$1\r\nx"),
        ("GETEX k PERSIST", "$1\r\nx"),
        ("GETEX k", "$1\r\nx"),
        ("GETEX k EXAT 1", "$1\r\nx"),
        ("GETDEL n", "$1\r\ny"),
        ("GETDEL n", "$-1"),
    ]);
    let at = |ms: u64| (T0 + ms).to_string();
    assert_eq!(
        rec.lines(),
        vec![
            format!("SET k v PXAT {}", at(10_000)),
            format!("SET k v PXAT {}", at(10)),
            "SET k w KEEPTTL".to_string(),
            format!("SET k v PXAT {}", at(5_000)),
            format!("SET k v PXAT {}", at(5)),
            "SET k x".to_string(),
            "SET n y".to_string(),
            format!("PEXPIREAT k {}", at(1_000)),
            "PERSIST k".to_string(),
            "DEL k".to_string(),
            "DEL n".to_string(),
        ]
    );
}

#[test]
fn getex() {
    let mut t = T::new();
    t.check(&[
        ("GETEX nokey EX 0", "$-1"),
        ("GETEX nokey EX abc", "$-1"),
        ("GETEX nokey FOO", "-ERR syntax error"),
        ("SET k v", "+OK"),
        (
            "GETEX k EX 0",
            "-ERR invalid expire time in 'getex' command",
        ),
        (
            "GETEX k EX abc",
            "-ERR value is not an integer or out of range",
        ),
        ("GETEX k PERSIST EX 10", "-ERR syntax error"),
        ("GETEX k EX 10 PERSIST", "-ERR syntax error"),
        ("GETEX k EX 10 PX 10", "-ERR syntax error"),
        ("GETEX k EX 10 10", "-ERR syntax error"),
        ("GETEX k KEEPTTL", "-ERR syntax error"),
        ("GETEX k NX", "-ERR syntax error"),
        ("GETEX k PERSIST PERSIST", "$1\r\nv"),
        ("GETEX k", "$1\r\nv"),
        ("GETEX k EX 10", "$1\r\nv"),
        ("TTL k", ":10"),
        ("GETEX k PXAT 1700000001000", "$1\r\nv"),
        ("PTTL k", ":1000"),
        ("GETEX k PERSIST", "$1\r\nv"),
        ("TTL k", ":-1"),
        ("GETEX k PXAT 1700000000000", "$1\r\nv"),
        ("EXISTS k", ":0"),
    ]);
}

#[test]
fn multi_key() {
    let mut t = T::new();
    let rec = t.record();
    t.check(&[
        (
            "MSET a 1 b",
            "-ERR wrong number of arguments for 'mset' command",
        ),
        (
            "MSETNX a 1 b",
            "-ERR wrong number of arguments for 'msetnx' command",
        ),
        ("MSET a 1 b 2", "+OK"),
        ("MGET a b c", "*3\r\n$1\r\n1\r\n$1\r\n2\r\n$-1"),
        ("MSETNX c 3 a 1", ":0"),
        ("MSETNX c 3 d 4", ":1"),
        ("MGET c d", "*2\r\n$1\r\n3\r\n$1\r\n4"),
    ]);
    let logged = rec.take();
    let lines: Vec<&str> = logged.iter().map(|(_, _, l)| l.as_str()).collect();
    assert_eq!(lines, ["SET a 1", "SET b 2", "SET c 3", "SET d 4"]);
    for (shard, _, line) in &logged {
        let key = line.split(' ').nth(1).unwrap_or_default();
        assert_eq!(
            *shard,
            t.store.shard_of(key.as_bytes()),
            "{line} logged to its key's shard"
        );
    }
    assert_ne!(
        t.store.shard_of(b"a"),
        t.store.shard_of(b"b"),
        "test needs keys on two shards"
    );
}

#[test]
fn counters() {
    let mut t = T::new();
    t.check(&[
        ("INCR new", ":1"),
        ("INCRBY new 10", ":11"),
        ("DECR new", ":10"),
        ("DECRBY new 20", ":-10"),
        (
            "INCRBY new abc",
            "-ERR value is not an integer or out of range",
        ),
        ("SET n 9223372036854775807", "+OK"),
        ("INCR n", "-ERR increment or decrement would overflow"),
        ("INCRBY n -1", ":9223372036854775806"),
        (
            "DECRBY n -9223372036854775808",
            "-ERR decrement would overflow",
        ),
        ("SET m -9223372036854775808", "+OK"),
        ("DECR m", "-ERR increment or decrement would overflow"),
        ("SET s abc", "+OK"),
        ("INCR s", "-ERR value is not an integer or out of range"),
        ("SET s \" 1\"", "+OK"),
        ("INCR s", "-ERR value is not an integer or out of range"),
        ("SET s 01", "+OK"),
        ("INCR s", "-ERR value is not an integer or out of range"),
        ("SET t 1 EX 100", "+OK"),
        ("INCR t", ":2"),
        ("TTL t", ":100"),
    ]);
}

#[test]
fn incrbyfloat() {
    let mut t = T::new();
    let rec = t.record();
    t.check(&[
        ("SET f 10.5", "+OK"),
        ("INCRBYFLOAT f 0.1", "$4\r\n10.6"),
        (
            "INCRBYFLOAT f inf",
            "-ERR increment would produce NaN or Infinity",
        ),
        ("INCRBYFLOAT f abc", "-ERR value is not a valid float"),
        ("INCRBYFLOAT g 0.1", "$3\r\n0.1"),
        ("INCRBYFLOAT g 0.2", "$3\r\n0.3"),
        ("SET h abc", "+OK"),
        ("INCRBYFLOAT h 1", "-ERR value is not a valid float"),
        ("SET i 3 EX 100", "+OK"),
        ("INCRBYFLOAT i 1.5e1", "$2\r\n18"),
        ("TTL i", ":100"),
        ("OBJECT ENCODING i", "$6\r\nembstr"),
        ("INCRBY i 1", ":19"),
        ("OBJECT ENCODING i", "$3\r\nint"),
    ]);
    let lines = rec.lines();
    assert_eq!(lines[1], "SET f 10.6 KEEPTTL");
    assert!(lines.contains(&"SET i 18 KEEPTTL".to_string()), "{lines:?}");
    assert_eq!(lines.last().map(String::as_str), Some("INCRBY i 1"));
}

#[test]
fn ranges_and_edits() {
    let mut t = T::new();
    t.check(&[
        ("SET s \"Hello World\"", "+OK"),
        ("GETRANGE s 0 -1", "$11\r\nHello World"),
        ("GETRANGE s -3 -1", "$3\r\nrld"),
        ("GETRANGE s 5 2", "$0\r\n"),
        ("GETRANGE s -100 100", "$11\r\nHello World"),
        ("GETRANGE s 20 30", "$0\r\n"),
        ("GETRANGE s 0 -100", "$1\r\nH"),
        ("GETRANGE s -1 -5", "$0\r\n"),
        ("GETRANGE nokey 0 -1", "$0\r\n"),
        (
            "GETRANGE s a 1",
            "-ERR value is not an integer or out of range",
        ),
        ("SUBSTR s 0 3", "$4\r\nHell"),
        ("STRLEN s", ":11"),
        ("STRLEN nokey", ":0"),
        ("OBJECT ENCODING s", "$6\r\nembstr"),
        ("SETRANGE s 0 X", ":11"),
        ("OBJECT ENCODING s", "$3\r\nraw"),
        ("GET s", "$11\r\nXello World"),
        ("SETRANGE new 5 abc", ":8"),
        ("GET new", "$8\r\n\0\0\0\0\0abc"),
        ("SETRANGE new2 0 \"\"", ":0"),
        ("EXISTS new2", ":0"),
        ("SETRANGE s -1 x", "-ERR offset is out of range"),
        (
            "SETRANGE s 536870912 x",
            "-ERR string exceeds maximum allowed size (proto-max-bulk-len)",
        ),
        ("SETRANGE s 536870912 \"\"", ":11"),
        (
            "SETRANGE s abc x",
            "-ERR value is not an integer or out of range",
        ),
        ("APPEND a 12", ":2"),
        ("OBJECT ENCODING a", "$3\r\nint"),
        ("APPEND a 3", ":3"),
        ("OBJECT ENCODING a", "$3\r\nraw"),
        ("GET a", "$3\r\n123"),
        ("SET b 1 EX 100", "+OK"),
        ("APPEND b \"\"", ":1"),
        ("OBJECT ENCODING b", "$3\r\nraw"),
        ("TTL b", ":100"),
        ("APPEND e \"\"", ":0"),
        ("EXISTS e", ":1"),
    ]);
}
