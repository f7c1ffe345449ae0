//! SORT transcripts (the store has 4 shards, so pattern keys land on
//! shards other than the sorted key's) and what a STORE logs.

use crate::cmd::testutil::T;

#[test]
fn numeric_alpha_limit_desc() {
    let mut t = T::new();
    t.check(&[
        ("RPUSH l 3 1 2 10 1.5", ":5"),
        (
            "SORT l",
            "*5\r\n$1\r\n1\r\n$3\r\n1.5\r\n$1\r\n2\r\n$1\r\n3\r\n$2\r\n10",
        ),
        ("SORT l DESC LIMIT 1 2", "*2\r\n$1\r\n3\r\n$1\r\n2"),
        ("SORT l ALPHA LIMIT 3 -1", "*2\r\n$1\r\n2\r\n$1\r\n3"),
        ("SORT l LIMIT 10 1", "*0"),
        (
            "SORT l BY nosort DESC LIMIT 0 2",
            "*2\r\n$3\r\n1.5\r\n$2\r\n10",
        ),
        ("RPUSH l x", ":6"),
        (
            "SORT l",
            "-ERR One or more scores can't be converted into double",
        ),
        (
            "SORT l LIMIT a 1",
            "-ERR value is not an integer or out of range",
        ),
        ("SORT l LIMIT 1", "-ERR syntax error"),
        ("SORT_RO l STORE d", "-ERR syntax error"),
        ("SET s v", "+OK"),
        (
            "SORT s",
            "-WRONGTYPE Operation against a key holding the wrong kind of value",
        ),
        ("SORT s foo", "-ERR syntax error"),
        ("SORT nokey", "*0"),
    ]);
}

#[test]
fn by_and_get_patterns() {
    let mut t = T::new();
    t.check(&[
        ("RPUSH l 2 1 3", ":3"),
        ("MSET w_1 30 w_2 20 w_3 10 o_1 one o_3 three", "+OK"),
        ("HSET h_2 f x2", ":1"),
        ("SORT l BY w_*", "*3\r\n$1\r\n3\r\n$1\r\n2\r\n$1\r\n1"),
        (
            "SORT l BY w_* GET # GET o_* GET h_*->f",
            "*9\r\n$1\r\n3\r\n$5\r\nthree\r\n$-1\r\n$1\r\n2\r\n$-1\r\n$2\r\nx2\r\n$1\r\n1\r\n$3\r\none\r\n$-1",
        ),
        ("SORT l BY h_*->f ALPHA", "*3\r\n$1\r\n1\r\n$1\r\n3\r\n$1\r\n2"),
        ("SORT l BY o_*", "-ERR One or more scores can't be converted into double"),
        ("SORT l GET nostar LIMIT 0 1", "*1\r\n$-1"),
    ]);
}

#[test]
fn store_replaces_logs_and_deletes() {
    let mut t = T::new();
    let rec = t.record();
    t.check(&[
        ("SADD s 3 1 2", ":3"),
        ("SET d old", "+OK"),
        ("EXPIRE d 100", ":1"),
        // Stored unsorted, a set is sorted ALPHA (DESC still applies).
        ("SORT s BY nosort DESC STORE d", ":3"),
        ("TTL d", ":-1"),
        ("LRANGE d 0 -1", "*3\r\n$1\r\n3\r\n$1\r\n2\r\n$1\r\n1"),
        ("SORT s GET nokey_* STORE d", ":3"),
        ("LRANGE d 0 -1", "*3\r\n$0\r\n\r\n$0\r\n\r\n$0\r\n"),
        ("SORT nokey STORE d", ":0"),
        ("EXISTS d", ":0"),
        ("SORT nokey STORE d", ":0"),
    ]);
    let lines = rec.lines();
    assert_eq!(
        &lines[lines.len() - 5..],
        ["DEL d", "RPUSH d 3 2 1", "DEL d", "RPUSH d   ", "DEL d"]
    );
}

#[test]
fn sorted_set_order_and_keys() {
    let mut t = T::new();
    t.check(&[
        ("ZADD z 3 a 1 b 2 c 2 d", ":4"),
        (
            "SORT z BY nosort",
            "*4\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n$1\r\na",
        ),
        (
            "SORT z BY nosort DESC LIMIT 1 2",
            "*2\r\n$1\r\nd\r\n$1\r\nc",
        ),
        (
            "SORT z ALPHA DESC",
            "*4\r\n$1\r\nd\r\n$1\r\nc\r\n$1\r\nb\r\n$1\r\na",
        ),
    ]);
    let meta = &crate::cmd::lookup(b"sort").map(|c| &c.meta);
    let argv = crate::cmd::testutil::split("SORT a BY x LIMIT 0 store GET y STORE b ALPHA");
    assert_eq!(meta.map(|m| m.key_positions(&argv)), Some(vec![1, 10]));
}

/// Random option soups over every source type never panic and always
/// answer (an array, an integer or an error).
#[test]
fn random_options_never_panic() {
    const OPTS: &[&str] = &[
        "ASC",
        "DESC",
        "ALPHA",
        "LIMIT",
        "BY",
        "GET",
        "STORE",
        "nosort",
        "#",
        "w_*",
        "h_*->f",
        "*->",
        "*",
        "-1",
        "0",
        "2",
        "9223372036854775807",
        "-9223372036854775808",
        "d",
        "l",
    ];
    let mut t = T::new();
    for line in [
        "RPUSH l 3 1 b 2",
        "SADD s 5 x 1",
        "SADD si 4 2",
        "ZADD z 2 a 1 b",
        "SET str v",
        "MSET w_1 1 w_b x w_2 -3",
        "HSET h_1 f 9",
    ] {
        t.run(line);
    }
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for _ in 0..3000 {
        let mut line = String::from(["SORT", "SORT_RO"][(x & 1) as usize]);
        line.push(' ');
        line.push_str(["l", "s", "si", "z", "str", "nokey", "d"][(x >> 1) as usize % 7]);
        for _ in 0..(x >> 4) % 7 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            line.push(' ');
            line.push_str(OPTS[(x >> 8) as usize % OPTS.len()]);
        }
        let r = t.run(&line);
        assert!(
            matches!(r.as_bytes().first(), Some(b'*' | b':' | b'-')),
            "{line}: {r}"
        );
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
    }
}
