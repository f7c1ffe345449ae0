//! HyperLogLog tests. The expected bytes, checksums and counts were taken
//! from redis-server 7.0.15 (`PFADD`, then `GET` and `PFCOUNT` with
//! redis-cli), so they pin kevy to Redis's exact representation.

use super::*;
use crate::cmd::testutil::T;

fn cmd(t: &T, args: &[&[u8]]) -> Reply {
    let argv: Vec<Bytes> = args.iter().map(|a| Bytes::copy_from_slice(a)).collect();
    t.store.execute(t.db, &argv, t.now).0
}

fn get(t: &T, key: &str) -> Vec<u8> {
    match cmd(t, &[b"GET", key.as_bytes()]) {
        Reply::Bulk(b) => b.to_vec(),
        other => panic!("GET {key}: {other:?}"),
    }
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap_or(0))
        .collect()
}

/// FNV-1a 64, to compare long values with the oracle's without pasting them.
fn fnv(b: &[u8]) -> u64 {
    b.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &x| {
        (h ^ x as u64).wrapping_mul(0x100_0000_01b3)
    })
}

fn pfadd_range(t: &T, key: &str, prefix: &str, n: usize) {
    for start in (0..n).step_by(1000) {
        let elems: Vec<String> = (start..n.min(start + 1000))
            .map(|j| format!("{prefix}{j}"))
            .collect();
        let mut args: Vec<&[u8]> = vec![b"PFADD", key.as_bytes()];
        args.extend(elems.iter().map(|e| e.as_bytes()));
        cmd(t, &args);
    }
}

#[test]
fn small_values_match_redis_bytes() {
    let mut t = T::new();
    t.check(&[
        ("PFADD v1 a b c", ":1"),
        ("PFADD v1 a", ":0"),
        ("OBJECT ENCODING v1", "$3\r\nraw"),
    ]);
    assert_eq!(
        get(&t, "v1"),
        hex("48594c4c01000000000000000000008060f38050b1844bfb80425a")
    );
    t.check(&[("PFCOUNT v1", ":3")]);
    assert_eq!(
        get(&t, "v1"),
        hex("48594c4c01000000030000000000000060f38050b1844bfb80425a")
    );
    let args: [&[u8]; 7] = [
        b"PFADD",
        b"b",
        b"",
        b"\x00",
        b"\xff\xff\xff\xff\xff\xff\xff",
        b"12345678",
        b"123456789abcdefgh",
    ];
    assert_eq!(cmd(&t, &args), Reply::Int(1));
    assert_eq!(
        get(&t, "b"),
        hex("48594c4c01000000000000000000008047a5884aa18044e7844b548446c98856ab")
    );
    t.check(&[("PFCOUNT b", ":5"), ("PFADD e", ":1"), ("PFCOUNT e", ":0")]);
    assert_eq!(get(&t, "e"), hex("48594c4c0100000000000000000000007fff"));
}

#[test]
fn sparse_and_dense_match_redis() {
    let mut t = T::new();
    // (key, prefix, n, len, encoding, fnv before PFCOUNT, count, fnv after)
    let cases = [
        (
            "s200",
            "e",
            200,
            513,
            1,
            0xf158_5676_83ab_d43d_u64,
            200,
            0xcf22_0b3b_377a_cfd5_u64,
        ),
        (
            "s1000",
            "x",
            1000,
            1877,
            1,
            0xcec4_6daf_4176_a1e5,
            1001,
            0xc0d1_5165_203a_cae9,
        ),
        (
            "d5000",
            "e",
            5000,
            12304,
            0,
            0x8052_4675_3a1c_dada,
            4968,
            0x9219_c5a2_921d_b657,
        ),
        (
            "d100k",
            "k",
            100_000,
            12304,
            0,
            0x2ccc_d9e8_a3f2_88f4,
            100_216,
            0x06c5_a84f_9965_d2fc,
        ),
    ];
    for (key, prefix, n, len, enc, before, count, after) in cases {
        pfadd_range(&t, key, prefix, n);
        let v = get(&t, key);
        assert_eq!((v.len(), v[4], fnv(&v)), (len, enc, before), "{key}");
        assert_eq!(
            cmd(&t, &[b"PFCOUNT", key.as_bytes()]),
            Reply::Int(count),
            "{key}"
        );
        assert_eq!(fnv(&get(&t, key)), after, "{key}");
    }
    t.check(&[("PFCOUNT s200 s1000 d5000", ":5975")]);
    t.check(&[
        ("PFMERGE m s200 s1000", "+OK"),
        ("PFMERGE m2 s200 d5000", "+OK"),
    ]);
    let m = get(&t, "m");
    assert_eq!((m.len(), fnv(&m)), (2219, 0x4c32_1fa2_c5e5_4356));
    let m2 = get(&t, "m2");
    assert_eq!((m2.len(), fnv(&m2)), (12304, 0x8052_4675_3a1c_dada));
}

#[test]
fn foreign_bytes_count_the_same() {
    // A value written by redis-server, SET into kevy.
    let t = T::new();
    let v = hex("48594c4c01000000000000000000008047a5884aa18044e7844b548446c98856ab");
    cmd(&t, &[b"SET", b"r", &v]);
    assert_eq!(cmd(&t, &[b"PFCOUNT", b"r"]), Reply::Int(5));
    assert_eq!(
        cmd(&t, &[b"PFDEBUG", b"DECODE", b"r"]),
        Reply::Bulk(Bytes::from(
            "Z:1958 v:3,1 Z:2722 v:1,1 Z:1256 v:2,1 Z:2901 v:2,1 Z:1738 v:3,1 Z:5804"
        ))
    );
}

#[test]
fn errors_and_types() {
    let mut t = T::new();
    t.check(&[
        ("SET s foo", "+OK"),
        (
            "PFADD s a",
            "-WRONGTYPE Key is not a valid HyperLogLog string value.",
        ),
        (
            "PFCOUNT s",
            "-WRONGTYPE Key is not a valid HyperLogLog string value.",
        ),
        (
            "PFCOUNT nokey s",
            "-WRONGTYPE Key is not a valid HyperLogLog string value.",
        ),
        (
            "PFMERGE d s",
            "-WRONGTYPE Key is not a valid HyperLogLog string value.",
        ),
        ("EXISTS d", ":0"),
        ("SADD l a", ":1"),
        (
            "PFADD l a",
            "-WRONGTYPE Operation against a key holding the wrong kind of value",
        ),
        ("PFCOUNT nokey", ":0"),
        ("PFCOUNT n1 n2", ":0"),
        (
            "PFDEBUG ENCODING nokey",
            "-ERR The specified key does not exist",
        ),
        ("PFADD h a", ":1"),
        ("PFDEBUG foo h", "-ERR Unknown PFDEBUG subcommand 'foo'"),
        ("PFDEBUG ENCODING h", "+sparse"),
        ("PFDEBUG TODENSE h", ":1"),
        ("PFDEBUG TODENSE h", ":0"),
        ("PFDEBUG ENCODING h", "+dense"),
        ("PFDEBUG DECODE h", "-ERR HLL encoding is not sparse"),
        ("PFCOUNT h", ":1"),
        ("PFSELFTEST", "+OK"),
    ]);
    // A sparse value whose runs cover 16383 registers.
    let bad = hex("48594c4c0100000000000000000000807ffe");
    cmd(&t, &[b"SET", b"c", &bad]);
    t.check(&[
        ("PFCOUNT c", "-INVALIDOBJ Corrupted HLL object detected"),
        ("PFADD c a", ":1"),
        ("PFCOUNT c c", "-INVALIDOBJ Corrupted HLL object detected"),
        ("PFMERGE d c", "-INVALIDOBJ Corrupted HLL object detected"),
        (
            "PFDEBUG GETREG c",
            "-INVALIDOBJ Corrupted HLL object detected",
        ),
    ]);
    assert_eq!(
        get(&t, "c"),
        hex("48594c4c01000000000000000000008071a6844e56")
    );
}

#[test]
fn cache_is_logged_and_merge_across_shards() {
    let mut t = T::new();
    let rec = t.record();
    t.check(&[
        ("PFADD a x y", ":1"),
        ("PFCOUNT a", ":2"),
        ("PFCOUNT a", ":2"),
    ]);
    assert_eq!(rec.lines(), ["PFADD a x y", "PFCOUNT a"]);
    assert_ne!(
        t.store.shard_of(b"a"),
        t.store.shard_of(b"b"),
        "test needs keys on two shards"
    );
    t.check(&[
        ("PFADD b z", ":1"),
        ("PFMERGE b a", "+OK"),
        ("PFCOUNT b", ":3"),
    ]);
    let lines = rec.lines();
    assert_eq!(lines[0], "PFADD b z");
    assert!(
        lines[1].starts_with("SET b HYLL") && lines[1].ends_with(" KEEPTTL"),
        "{}",
        lines[1]
    );
}
