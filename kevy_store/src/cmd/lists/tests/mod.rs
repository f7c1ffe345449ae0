//! Transcript tests of the list family; every expected reply in a
//! transcript was produced by redis-server 7.0.15 from the same commands.
//! `moves.rs` covers the multi-key and blocking commands.

use crate::cmd::testutil::T;

mod moves;

#[test]
fn push_and_pop() {
    let mut t = T::new();
    t.check(&[
            ("LPUSH l a b c", ":3"),
            ("RPUSH l d e", ":5"),
            ("LRANGE l 0 -1", "*5\r\n$1\r\nc\r\n$1\r\nb\r\n$1\r\na\r\n$1\r\nd\r\n$1\r\ne"),
            ("LLEN l", ":5"),
            ("LLEN nokey", ":0"),
            ("LPUSHX nokey a", ":0"),
            ("RPUSHX nokey a", ":0"),
            ("EXISTS nokey", ":0"),
            ("LPUSHX l x y", ":7"),
            ("RPUSHX l z", ":8"),
            ("LRANGE l 0 -1", "*8\r\n$1\r\ny\r\n$1\r\nx\r\n$1\r\nc\r\n$1\r\nb\r\n$1\r\na\r\n$1\r\nd\r\n$1\r\ne\r\n$1\r\nz"),
            ("LPOP l", "$1\r\ny"),
            ("RPOP l", "$1\r\nz"),
            ("LPOP l 2", "*2\r\n$1\r\nx\r\n$1\r\nc"),
            ("RPOP l 2", "*2\r\n$1\r\ne\r\n$1\r\nd"),
            ("LPOP l 0", "*0"),
            ("RPOP l 0", "*0"),
            ("LLEN l", ":2"),
            ("LPOP l 10", "*2\r\n$1\r\nb\r\n$1\r\na"),
            ("EXISTS l", ":0"),
            ("LPOP l", "$-1"),
            ("RPOP l", "$-1"),
            ("LPOP l 2", "*-1"),
            ("RPOP l 0", "*-1"),
            ("LPOP l -1", "-ERR value is out of range, must be positive"),
            ("RPOP l x", "-ERR value is out of range, must be positive"),
            ("LPOP l 1 2", "-ERR wrong number of arguments for 'lpop' command"),
            ("RPOP", "-ERR wrong number of arguments for 'rpop' command"),
            ("LPUSH l", "-ERR wrong number of arguments for 'lpush' command"),
            ("RPUSH l a b c", ":3"),
            ("RPOP l 100", "*3\r\n$1\r\nc\r\n$1\r\nb\r\n$1\r\na"),
            ("SET s str", "+OK"),
            ("LPUSH s a", "-WRONGTYPE Operation against a key holding the wrong kind of value"),
            ("RPUSH s a", "-WRONGTYPE Operation against a key holding the wrong kind of value"),
            ("LPUSHX s a", "-WRONGTYPE Operation against a key holding the wrong kind of value"),
            ("RPUSHX s a", "-WRONGTYPE Operation against a key holding the wrong kind of value"),
            ("LPOP s", "-WRONGTYPE Operation against a key holding the wrong kind of value"),
            ("RPOP s 1", "-WRONGTYPE Operation against a key holding the wrong kind of value"),
            ("LPOP s 0", "-WRONGTYPE Operation against a key holding the wrong kind of value"),
            ("LLEN s", "-WRONGTYPE Operation against a key holding the wrong kind of value"),
            ("LPOP s -1", "-ERR value is out of range, must be positive"),
            ("RPUSH e \"\"", ":1"),
            ("LLEN e", ":1"),
            ("LPOP e", "$0\r\n"),
            ("EXISTS e", ":0"),
            ("RPUSH \"\" a", ":1"),
            ("LPOP \"\"", "$1\r\na"),
            ("RPUSH l 1 2 3 4 5 6 7 8 9 10", ":10"),
            ("RPOP l 3", "*3\r\n$2\r\n10\r\n$1\r\n9\r\n$1\r\n8"),
            ("LPOP l 9223372036854775807", "*7\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n$1\r\n4\r\n$1\r\n5\r\n$1\r\n6\r\n$1\r\n7"),
    ]);
}

#[test]
fn ranges_indexes_and_trim() {
    let mut t = T::new();
    t.check(&[
        ("RPUSH l a b c d e", ":5"),
        ("LRANGE l 0 0", "*1\r\n$1\r\na"),
        ("LRANGE l -1 -1", "*1\r\n$1\r\ne"),
        ("LRANGE l -2 -1", "*2\r\n$1\r\nd\r\n$1\r\ne"),
        ("LRANGE l 1 3", "*3\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd"),
        (
            "LRANGE l -100 100",
            "*5\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n$1\r\ne",
        ),
        ("LRANGE l 3 1", "*0"),
        ("LRANGE l 5 10", "*0"),
        ("LRANGE l -100 -6", "*0"),
        ("LRANGE l -100 -5", "*1\r\n$1\r\na"),
        ("LRANGE l 2 -3", "*1\r\n$1\r\nc"),
        (
            "LRANGE l -9223372036854775808 9223372036854775807",
            "*5\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n$1\r\ne",
        ),
        (
            "LRANGE l 0 9223372036854775808",
            "-ERR value is not an integer or out of range",
        ),
        (
            "LRANGE l a 1",
            "-ERR value is not an integer or out of range",
        ),
        ("LRANGE nokey 0 -1", "*0"),
        (
            "LRANGE nokey a b",
            "-ERR value is not an integer or out of range",
        ),
        ("LINDEX l 0", "$1\r\na"),
        ("LINDEX l -1", "$1\r\ne"),
        ("LINDEX l 4", "$1\r\ne"),
        ("LINDEX l 5", "$-1"),
        ("LINDEX l -5", "$1\r\na"),
        ("LINDEX l -6", "$-1"),
        ("LINDEX l x", "-ERR value is not an integer or out of range"),
        ("LINDEX nokey x", "$-1"),
        ("LINDEX nokey 0", "$-1"),
        ("LSET l 0 A", "+OK"),
        ("LSET l -1 E", "+OK"),
        ("LSET l 5 x", "-ERR index out of range"),
        ("LSET l -6 x", "-ERR index out of range"),
        ("LSET l x y", "-ERR value is not an integer or out of range"),
        ("LSET nokey 0 x", "-ERR no such key"),
        ("LSET nokey x x", "-ERR no such key"),
        (
            "LRANGE l 0 -1",
            "*5\r\n$1\r\nA\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n$1\r\nE",
        ),
        ("LTRIM l 1 -2", "+OK"),
        ("LRANGE l 0 -1", "*3\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd"),
        ("LTRIM l -100 100", "+OK"),
        ("LRANGE l 0 -1", "*3\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd"),
        ("LTRIM l 1 1", "+OK"),
        ("LRANGE l 0 -1", "*1\r\n$1\r\nc"),
        (
            "LTRIM l 0 x",
            "-ERR value is not an integer or out of range",
        ),
        ("LTRIM nokey 0 1", "+OK"),
        ("LTRIM l 2 1", "+OK"),
        ("EXISTS l", ":0"),
        ("RPUSH l a b c d e", ":5"),
        ("LTRIM l 10 20", "+OK"),
        ("EXISTS l", ":0"),
        ("RPUSH l a b c d e", ":5"),
        ("LTRIM l -2 -1", "+OK"),
        ("LRANGE l 0 -1", "*2\r\n$1\r\nd\r\n$1\r\ne"),
        ("LTRIM l 0 -3", "+OK"),
        ("EXISTS l", ":0"),
        ("SET s str", "+OK"),
        (
            "LRANGE s 0 -1",
            "-WRONGTYPE Operation against a key holding the wrong kind of value",
        ),
        (
            "LRANGE s x 1",
            "-ERR value is not an integer or out of range",
        ),
        (
            "LINDEX s 0",
            "-WRONGTYPE Operation against a key holding the wrong kind of value",
        ),
        (
            "LINDEX s x",
            "-WRONGTYPE Operation against a key holding the wrong kind of value",
        ),
        (
            "LSET s 0 a",
            "-WRONGTYPE Operation against a key holding the wrong kind of value",
        ),
        (
            "LSET s x a",
            "-WRONGTYPE Operation against a key holding the wrong kind of value",
        ),
        (
            "LTRIM s 0 1",
            "-WRONGTYPE Operation against a key holding the wrong kind of value",
        ),
        (
            "LTRIM s x 1",
            "-ERR value is not an integer or out of range",
        ),
    ]);
}

#[test]
fn insert_remove_and_lpos() {
    let mut t = T::new();
    t.check(&[
            ("RPUSH l a b c b a", ":5"),
            ("LINSERT l BEFORE b X", ":6"),
            ("LRANGE l 0 -1", "*6\r\n$1\r\na\r\n$1\r\nX\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nb\r\n$1\r\na"),
            ("LINSERT l after b Y", ":7"),
            ("LRANGE l 0 -1", "*7\r\n$1\r\na\r\n$1\r\nX\r\n$1\r\nb\r\n$1\r\nY\r\n$1\r\nc\r\n$1\r\nb\r\n$1\r\na"),
            ("LINSERT l before nothere Z", ":-1"),
            ("LINSERT l middle a Z", "-ERR syntax error"),
            ("LINSERT nokey before a Z", ":0"),
            ("LINSERT nokey middle a Z", "-ERR syntax error"),
            ("EXISTS nokey", ":0"),
            ("LINSERT l AFTER a \"\"", ":8"),
            ("LRANGE l 0 -1", "*8\r\n$1\r\na\r\n$0\r\n\r\n$1\r\nX\r\n$1\r\nb\r\n$1\r\nY\r\n$1\r\nc\r\n$1\r\nb\r\n$1\r\na"),
            ("DEL l", ":1"),
            ("RPUSH l a b a c a d a", ":7"),
            ("LREM l 2 a", ":2"),
            ("LRANGE l 0 -1", "*5\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\na\r\n$1\r\nd\r\n$1\r\na"),
            ("LREM l -1 a", ":1"),
            ("LRANGE l 0 -1", "*4\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\na\r\n$1\r\nd"),
            ("LREM l 0 zz", ":0"),
            ("LREM l 0 a", ":1"),
            ("LRANGE l 0 -1", "*3\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd"),
            ("LREM l x a", "-ERR value is not an integer or out of range"),
            ("LREM nokey 1 a", ":0"),
            ("LREM nokey x a", "-ERR value is not an integer or out of range"),
            ("RPUSH m a a a", ":3"),
            ("LREM m 0 a", ":3"),
            ("EXISTS m", ":0"),
            ("RPUSH m a b a", ":3"),
            ("LREM m -9223372036854775808 a", ":2"),
            ("LRANGE m 0 -1", "*1\r\n$1\r\nb"),
            ("LREM m 9223372036854775807 b", ":1"),
            ("EXISTS m", ":0"),
            ("DEL l", ":1"),
            ("RPUSH l a b c 1 2 3 c c", ":8"),
            ("LPOS l c", ":2"),
            ("LPOS l c RANK 2", ":6"),
            ("LPOS l c RANK -1", ":7"),
            ("LPOS l c RANK -3", ":2"),
            ("LPOS l c RANK -4", "$-1"),
            ("LPOS l c RANK 4", "$-1"),
            ("LPOS l c COUNT 0", "*3\r\n:2\r\n:6\r\n:7"),
            ("LPOS l c COUNT 2", "*2\r\n:2\r\n:6"),
            ("LPOS l c COUNT 0 RANK 2", "*2\r\n:6\r\n:7"),
            ("LPOS l c COUNT 0 RANK -1", "*3\r\n:7\r\n:6\r\n:2"),
            ("LPOS l c COUNT 2 RANK -2", "*2\r\n:6\r\n:2"),
            ("LPOS l c COUNT 0 MAXLEN 3", "*1\r\n:2"),
            ("LPOS l c MAXLEN 2", "$-1"),
            ("LPOS l c MAXLEN 3", ":2"),
            ("LPOS l c RANK -1 MAXLEN 1", ":7"),
            ("LPOS l c RANK -1 MAXLEN 2 COUNT 0", "*2\r\n:7\r\n:6"),
            ("LPOS l x", "$-1"),
            ("LPOS l x COUNT 0", "*0"),
            ("LPOS nokey x", "$-1"),
            ("LPOS nokey x COUNT 1", "*0"),
            ("LPOS nokey x RANK 0", "-ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list"),
            ("LPOS l c RANK 0", "-ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list"),
            ("LPOS l c RANK x", "-ERR value is not an integer or out of range"),
            ("LPOS l c COUNT -1", "-ERR COUNT can't be negative"),
            ("LPOS l c COUNT x", "-ERR COUNT can't be negative"),
            ("LPOS l c MAXLEN -1", "-ERR MAXLEN can't be negative"),
            ("LPOS l c MAXLEN x", "-ERR MAXLEN can't be negative"),
            ("LPOS l c RANK", "-ERR syntax error"),
            ("LPOS l c FOO 1", "-ERR syntax error"),
            ("LPOS l c count 1 rank 1 maxlen 0", "*1\r\n:2"),
            ("LPOS l c RANK -9223372036854775808", ":7"),
            ("LPOS l c RANK -9223372036854775808 COUNT 1", "*3\r\n:7\r\n:6\r\n:2"),
            ("LPOS l c RANK -9223372036854775808 COUNT 2 MAXLEN 3", "*2\r\n:7\r\n:6"),
            ("LPOS l c RANK 9223372036854775807", "$-1"),
            ("LPOS l c RANK 1 RANK 2", ":6"),
            ("SET s str", "+OK"),
            ("LINSERT s before a b", "-WRONGTYPE Operation against a key holding the wrong kind of value"),
            ("LINSERT s middle a b", "-ERR syntax error"),
            ("LREM s 0 a", "-WRONGTYPE Operation against a key holding the wrong kind of value"),
            ("LREM s x a", "-ERR value is not an integer or out of range"),
            ("LPOS s a", "-WRONGTYPE Operation against a key holding the wrong kind of value"),
            ("LPOS s a RANK 0", "-ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list"),
    ]);
}

#[test]
fn type_and_encoding() {
    let mut t = T::new();
    t.check(&[
        ("RPUSH l a", ":1"),
        ("OBJECT ENCODING l", "$9\r\nquicklist"),
        ("TYPE l", "+list"),
        (
            "RPUSH big 0123456789012345678901234567890123456789012345678901234567890123456789",
            ":1",
        ),
        ("OBJECT ENCODING big", "$9\r\nquicklist"),
    ]);
}

#[test]
fn big_lists_are_not_quadratic() {
    let mut t = T::new();
    let elems: Vec<String> = (0..20_000).map(|i| i.to_string()).collect();
    for chunk in elems.chunks(1000) {
        t.run(&format!("RPUSH big {}", chunk.join(" ")));
    }
    let started = std::time::Instant::now();
    for _ in 0..20 {
        t.run("LRANGE big 0 -1");
        t.run("LRANGE big 10000 10100");
        t.run("LINDEX big 15000");
        t.run("LSET big 12345 x");
        t.run("LINSERT big BEFORE 19999 y");
        t.run("LMOVE big big LEFT RIGHT");
    }
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    t.check(&[
        ("LLEN big", ":20020"),
        ("LTRIM big 100 -101", "+OK"),
        ("LLEN big", ":19820"),
    ]);
}
