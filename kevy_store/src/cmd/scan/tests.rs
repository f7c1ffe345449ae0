//! Unit tests of the scan family, as transcripts against a store.
use crate::cmd::testutil::{resp2, split, T};
use kevy_resp::Reply;
use std::collections::HashSet;

/// One SCAN call: (next cursor, keys).
fn scan(t: &mut T, args: &str) -> (String, Vec<String>) {
    match t.reply(&format!("SCAN {args}")) {
        Reply::Array(v) => match (&v[0], &v[1]) {
            (Reply::Bulk(c), Reply::Array(keys)) => (
                String::from_utf8_lossy(c).into_owned(),
                keys.iter()
                    .map(|k| match k {
                        Reply::Bulk(b) => String::from_utf8_lossy(b).into_owned(),
                        other => panic!("{other:?}"),
                    })
                    .collect(),
            ),
            _ => panic!("bad scan reply {v:?}"),
        },
        other => panic!("bad scan reply {}", resp2(&other)),
    }
}

#[test]
fn keys_patterns() {
    let mut t = T::new();
    t.check(&[
        (
            "MSET hello 1 hallo 2 hxllo 3 hllo 4 heeeello 5 other 6",
            "+OK",
        ),
        ("SET gone 1 PX 10", "+OK"),
        ("@sleep 20", ""),
        ("KEYS", "-ERR wrong number of arguments for 'keys' command"),
        ("KEYS nomatch*", "*0"),
        ("DBSIZE", ":7"),
    ]);
    let keys = |t: &mut T, p: &str| -> HashSet<String> {
        match t.reply(&format!("KEYS {p}")) {
            Reply::Array(v) => v.iter().map(resp2).collect(),
            other => panic!("{other:?}"),
        }
    };
    let bulk = |s: &str| format!("${}\r\n{}\r\n", s.len(), s);
    let set = |v: &[&str]| v.iter().map(|s| bulk(s)).collect::<HashSet<_>>();
    assert_eq!(keys(&mut t, "h?llo"), set(&["hello", "hallo", "hxllo"]));
    assert_eq!(
        keys(&mut t, "h*llo"),
        set(&["hello", "hallo", "hxllo", "hllo", "heeeello"])
    );
    assert_eq!(keys(&mut t, "h[ae]llo"), set(&["hello", "hallo"]));
    assert_eq!(keys(&mut t, "h[^e]llo"), set(&["hallo", "hxllo"]));
    assert_eq!(keys(&mut t, "*").len(), 6, "expired key skipped");
    assert_eq!(t.run("DBSIZE"), ":7", "KEYS does not reclaim");
}

#[test]
fn scan_arguments() {
    let mut t = T::new();
    t.check(&[
        ("SET a 1", "+OK"),
        ("SCAN abc", "-ERR invalid cursor"),
        ("SCAN \" 0\"", "-ERR invalid cursor"),
        ("SCAN 0x", "-ERR invalid cursor"),
        ("SCAN 18446744073709551616", "-ERR invalid cursor"),
        ("SCAN 0 COUNT 0", "-ERR syntax error"),
        ("SCAN 0 COUNT -1", "-ERR syntax error"),
        (
            "SCAN 0 COUNT abc",
            "-ERR value is not an integer or out of range",
        ),
        ("SCAN 0 MATCH", "-ERR syntax error"),
        ("SCAN 0 FOO x", "-ERR syntax error"),
        ("SCAN 0", "*2\r\n$1\r\n0\r\n*1\r\n$1\r\na"),
        ("SCAN \"\"", "*2\r\n$1\r\n0\r\n*1\r\n$1\r\na"),
        ("SCAN -0", "*2\r\n$1\r\n0\r\n*1\r\n$1\r\na"),
        ("SCAN 0 TYPE string", "*2\r\n$1\r\n0\r\n*1\r\n$1\r\na"),
        ("SCAN 0 TYPE STRING", "*2\r\n$1\r\n0\r\n*1\r\n$1\r\na"),
        ("SCAN 0 TYPE list", "*2\r\n$1\r\n0\r\n*0"),
        ("SCAN 0 MATCH b*", "*2\r\n$1\r\n0\r\n*0"),
        (
            "SCAN 0 MATCH a COUNT 5 MATCH *",
            "*2\r\n$1\r\n0\r\n*1\r\n$1\r\na",
        ),
    ]);
}

#[test]
fn scan_reclaims_expired_keys() {
    let mut t = T::new();
    let rec = t.record();
    t.check(&[
        ("SET a 1 PX 10", "+OK"),
        ("@sleep 11", ""),
        ("DBSIZE", ":1"),
        ("SCAN 0", "*2\r\n$1\r\n0\r\n*0"),
        ("DBSIZE", ":0"),
    ]);
    assert_eq!(rec.lines().last().map(String::as_str), Some("DEL a"));
}

#[test]
fn scan_is_complete_under_concurrent_writes() {
    let mut t = T::new();
    for i in 0..500 {
        t.run(&format!("SET stable:{i} x"));
    }
    for count in [1usize, 7, 10, 100] {
        let start: usize = t.run("DBSIZE")[1..].parse().unwrap_or(0);
        let mut seen = HashSet::new();
        let mut cursor = "0".to_string();
        let mut calls = 0;
        let mut extra = 0;
        loop {
            let (next, keys) = scan(&mut t, &format!("{cursor} COUNT {count}"));
            assert!(keys.len() <= count, "{} keys for COUNT {count}", keys.len());
            seen.extend(keys);
            calls += 1;
            // Churn between calls: add fresh keys, delete some of them.
            for _ in 0..3 {
                extra += 1;
                t.run(&format!("SET churn:{count}:{extra} y"));
                if extra % 2 == 0 {
                    t.run(&format!("DEL churn:{count}:{}", extra - 1));
                }
            }
            if next == "0" {
                break;
            }
            cursor = next;
            assert!(calls < 10_000);
        }
        for i in 0..500 {
            assert!(
                seen.contains(&format!("stable:{i}")),
                "COUNT {count}: stable:{i} missed"
            );
        }
        // Each call visits COUNT keys (ignoring the odd hash collision):
        // no more calls than the keys that ever existed need.
        assert!(
            calls <= 1 + (start + 3 * calls) / count,
            "COUNT {count}: {calls} calls"
        );
    }
}

#[test]
fn scan_cursor_is_independent_of_shard_count() {
    use crate::store::Store;
    let a = Store::new(1, 16);
    let b = Store::new(7, 16);
    for i in 0..200 {
        for s in [&a, &b] {
            s.execute(0, &split(&format!("SET k{i} v")), 0);
        }
    }
    let (ra, _) = a.execute(0, &split("SCAN 0 COUNT 37"), 0);
    let (rb, _) = b.execute(0, &split("SCAN 0 COUNT 37"), 0);
    assert_eq!(resp2(&ra), resp2(&rb));
}

#[test]
fn randomkey_dbsize_flush() {
    let mut t = T::new();
    let rec = t.record();
    t.check(&[
        ("RANDOMKEY", "$-1"),
        ("DBSIZE", ":0"),
        ("SET a 1", "+OK"),
        ("RANDOMKEY", "$1\r\na"),
    ]);
    for i in 0..50 {
        t.run(&format!("SET tmp{i} x PX 5"));
    }
    t.check(&[("@sleep 10", ""), ("DBSIZE", ":51")]);
    for _ in 0..5 {
        assert_eq!(t.run("RANDOMKEY"), "$1\r\na");
    }
    rec.take();
    t.check(&[
        ("@db 3", ""),
        ("SET x 1", "+OK"),
        ("@db 0", ""),
        ("FLUSHDB foo", "-ERR syntax error"),
        ("FLUSHDB async sync", "-ERR syntax error"),
        ("FLUSHDB ASYNC", "+OK"),
        ("DBSIZE", ":0"),
        ("@db 3", ""),
        ("DBSIZE", ":1"),
        ("FLUSHALL x", "-ERR syntax error"),
        ("FLUSHALL SYNC", "+OK"),
        ("DBSIZE", ":0"),
    ]);
    let logged = rec.take();
    let flushdb: Vec<_> = logged
        .iter()
        .filter(|(_, _, l)| l == "FLUSHDB ASYNC")
        .collect();
    assert_eq!(flushdb.len(), 4, "one FLUSHDB per shard");
    assert!(flushdb.iter().all(|(_, db, _)| *db == 0));
    assert_eq!(
        logged
            .iter()
            .filter(|(_, _, l)| l == "FLUSHALL SYNC")
            .count(),
        4
    );
}

#[test]
fn flush_and_swap_invalidate_watches_of_existing_keys_only() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    let mut t = T::new();
    let watch = |t: &T, db: usize, key: &str| {
        let flag = Arc::new(AtomicBool::new(false));
        let id = t.store.shard_of(key.as_bytes());
        let mut l = t.store.lock(&[id]);
        if let Some(s) = l.shard_mut(id) {
            s.watch(db, key.as_bytes(), flag.clone());
        }
        flag
    };
    let fired = |f: &Arc<AtomicBool>| f.swap(false, Ordering::AcqRel);
    t.check(&[
        ("SET x 1", "+OK"),
        ("@db 1", ""),
        ("SET z 1", "+OK"),
        ("@db 0", ""),
    ]);
    let (x, missing, z0, z1) = (
        watch(&t, 0, "x"),
        watch(&t, 0, "nosuch"),
        watch(&t, 0, "z"),
        watch(&t, 1, "z"),
    );
    t.check(&[("SWAPDB 0 1", "+OK")]);
    assert!(fired(&x) && fired(&z0) && fired(&z1) && !fired(&missing));
    t.check(&[("SWAPDB 0 1", "+OK")]);
    assert!(fired(&x) && fired(&z0) && fired(&z1) && !fired(&missing));
    t.check(&[("FLUSHDB", "+OK")]);
    assert!(fired(&x) && !fired(&z0) && !fired(&missing));
    t.check(&[("FLUSHALL", "+OK")]);
    assert!(fired(&z1) && !fired(&z0) && !fired(&missing));
}

#[test]
fn swapdb() {
    let mut t = T::new();
    let rec = t.record();
    t.check(&[
        ("SET a 0", "+OK"),
        ("@db 1", ""),
        ("SET a 1", "+OK"),
        ("SET b 1", "+OK"),
        ("SWAPDB 0 16", "-ERR DB index is out of range"),
        ("SWAPDB 0 -1", "-ERR DB index is out of range"),
        ("SWAPDB a 1", "-ERR invalid first DB index"),
        ("SWAPDB 0 a", "-ERR invalid second DB index"),
        ("SWAPDB 0 99999999999", "-ERR invalid second DB index"),
        ("SWAPDB 0 0", "+OK"),
        ("SWAPDB 0 1", "+OK"),
        ("GET a", "$1\r\n0"),
        ("DBSIZE", ":1"),
        ("@db 0", ""),
        ("GET a", "$1\r\n1"),
        ("DBSIZE", ":2"),
    ]);
    assert_eq!(rec.lines().iter().filter(|l| *l == "SWAPDB 0 1").count(), 4);
}
