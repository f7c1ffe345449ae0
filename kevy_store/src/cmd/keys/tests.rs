//! Unit tests of the keys family, as transcripts against a store.
use crate::cmd::testutil::{T, T0};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

#[test]
fn del_exists_type_touch() {
    let mut t = T::new();
    t.check(&[
        ("MSET a 1 b 2 c 3", "+OK"),
        ("EXISTS a a b nosuch", ":3"),
        (
            "EXISTS",
            "-ERR wrong number of arguments for 'exists' command",
        ),
        ("TYPE a", "+string"),
        ("TYPE nosuch", "+none"),
        ("TOUCH a b nosuch a", ":3"),
        ("DEL a a b nosuch", ":2"),
        ("UNLINK c c", ":1"),
        ("DEL", "-ERR wrong number of arguments for 'del' command"),
        ("EXISTS a b c", ":0"),
        ("SET e 1 PX 100", "+OK"),
        ("@sleep 101", ""),
        ("EXISTS e", ":0"),
        ("DEL e", ":0"),
    ]);
}

#[test]
fn del_logs_each_key_to_its_shard() {
    let mut t = T::new();
    t.check(&[("MSET a 1 b 2", "+OK")]);
    let rec = t.record();
    t.check(&[("DEL a b nosuch", ":2"), ("DEL nosuch", ":0")]);
    let (sa, sb) = (t.store.shard_of(b"a"), t.store.shard_of(b"b"));
    assert_ne!(sa, sb);
    assert_eq!(
        rec.take(),
        vec![(sa, 0, "DEL a".to_string()), (sb, 0, "DEL b".to_string())]
    );
}

#[test]
fn rename() {
    let mut t = T::new();
    t.check(&[
        ("SET a hello", "+OK"),
        ("RENAME nosuch x", "-ERR no such key"),
        ("RENAME nosuch nosuch", "-ERR no such key"),
        ("RENAME a a", "+OK"),
        ("RENAMENX a a", ":0"),
        ("RENAMENX nosuch a", "-ERR no such key"),
        ("SET b 2", "+OK"),
        ("RENAMENX a b", ":0"),
        ("RENAME a b", "+OK"),
        ("GET b", "$5\r\nhello"),
        ("EXISTS a", ":0"),
        ("SETEX a 100 v", "+OK"),
        ("RENAMENX a c", ":1"),
        ("TTL c", ":100"),
        (
            "RENAME a b c",
            "-ERR wrong number of arguments for 'rename' command",
        ),
    ]);
}

#[test]
fn rename_across_shards_logs_delete_and_full_write() {
    let mut t = T::new();
    let (sa, sb) = (t.store.shard_of(b"a"), t.store.shard_of(b"b"));
    assert_ne!(sa, sb, "a and b must live on different shards");
    t.check(&[("SET a v PX 5000", "+OK"), ("SET b old", "+OK")]);
    let rec = t.record();
    t.check(&[
        ("RENAME a b", "+OK"),
        ("PTTL b", ":5000"),
        ("RENAME {x}1 {x}2", "-ERR no such key"),
    ]);
    t.check(&[("SET {x}1 v", "+OK")]);
    rec.take();
    t.check(&[("RENAME {x}1 {x}2", "+OK")]);
    let s = t.store.shard_of(b"{x}1");
    assert_eq!(rec.take(), vec![(s, 0, "RENAME {x}1 {x}2".to_string())]);
    t.check(&[("SET a v PX 5000", "+OK")]);
    rec.take();
    t.check(&[("RENAME a b", "+OK")]);
    assert_eq!(
        rec.take(),
        vec![
            (sa, 0, "DEL a".to_string()),
            (sb, 0, format!("SET b v PXAT {}", T0 + 5000))
        ]
    );
}

#[test]
fn rename_and_swapdb_invalidate_watchers() {
    let mut t = T::new();
    t.check(&[("SET a 1", "+OK")]);
    let watch = |t: &T, db: usize, key: &[u8]| {
        let flag = Arc::new(AtomicBool::new(false));
        let id = t.store.shard_of(key);
        let mut l = t.store.lock(&[id]);
        if let Some(s) = l.shard_mut(id) {
            s.watch(db, key, flag.clone());
        }
        flag
    };
    let fa = watch(&t, 0, b"a");
    let fb = watch(&t, 0, b"b");
    let f9 = watch(&t, 9, b"zz");
    t.check(&[("RENAME a b", "+OK")]);
    assert!(fa.load(Ordering::Acquire) && fb.load(Ordering::Acquire));
    assert!(!f9.load(Ordering::Acquire));
    t.check(&[("SWAPDB 9 3", "+OK")]);
    assert!(
        !f9.load(Ordering::Acquire),
        "zz exists in neither db: Redis leaves the watch alone"
    );
    t.check(&[("@db 3", ""), ("SET zz 1", "+OK"), ("SWAPDB 9 3", "+OK")]);
    assert!(f9.load(Ordering::Acquire));
}

#[test]
fn copy() {
    let mut t = T::new();
    let rec = t.record();
    t.check(&[
        ("SET c 1 EX 100", "+OK"),
        (
            "COPY c c",
            "-ERR source and destination objects are the same",
        ),
        (
            "COPY c c DB 0",
            "-ERR source and destination objects are the same",
        ),
        ("COPY c d", ":1"),
        ("TTL d", ":100"),
        ("COPY c d", ":0"),
        ("COPY c d REPLACE", ":1"),
        ("COPY c d DB 1", ":1"),
        ("COPY c d DB 1", ":0"),
        ("COPY c d DB 16", "-ERR DB index is out of range"),
        ("COPY c d DB -1", "-ERR DB index is out of range"),
        (
            "COPY c d DB abc",
            "-ERR value is not an integer or out of range",
        ),
        ("COPY c d DB", "-ERR syntax error"),
        ("COPY c d FOO", "-ERR syntax error"),
        ("COPY c c DB 1 REPLACE", ":1"),
        ("COPY nosuch d", ":0"),
        ("@db 1", ""),
        ("MGET c d", "*2\r\n$1\r\n1\r\n$1\r\n1"),
        ("TTL c", ":100"),
    ]);
    let at = T0 + 100_000;
    let sd = t.store.shard_of(b"d");
    let logged = rec.take();
    assert_eq!(logged[1], (sd, 0, format!("SET d 1 PXAT {at}")));
    assert_eq!(logged[3], (sd, 1, format!("SET d 1 PXAT {at}")));
}

#[test]
fn move_between_dbs() {
    let mut t = T::new();
    let rec = t.record();
    t.check(&[
        ("SET k v EX 100", "+OK"),
        (
            "MOVE k 0",
            "-ERR source and destination objects are the same",
        ),
        ("MOVE k 16", "-ERR DB index is out of range"),
        ("MOVE k abc", "-ERR value is not an integer or out of range"),
        (
            "MOVE k 4294967297",
            "-ERR value is out of range, value must between -2147483648 and 2147483647",
        ),
        ("MOVE nosuch 1", ":0"),
        ("MOVE k 2", ":1"),
        ("MOVE k 2", ":0"),
        ("@db 2", ""),
        ("TTL k", ":100"),
        ("SET other x", "+OK"),
        ("@db 0", ""),
        ("SET other y", "+OK"),
        ("MOVE other 2", ":0"),
        ("GET other", "$1\r\ny"),
    ]);
    let s = t.store.shard_of(b"k");
    let logged = rec.take();
    assert_eq!(logged[1], (s, 0, "DEL k".to_string()));
    assert_eq!(logged[2], (s, 2, format!("SET k v PXAT {}", T0 + 100_000)));
}

#[test]
fn only_reads_count_keyspace_hits() {
    let t = T::new();
    let stats = |line: &str| {
        let (_, ev) = t.store.execute(0, &crate::cmd::testutil::split(line), T0);
        (ev.hits, ev.misses)
    };
    for write in [
        "SET k 1",
        "SET k 1 NX",
        "SETNX k 1",
        "INCR k",
        "INCRBYFLOAT k 1",
        "APPEND k 1",
        "SETRANGE k 0 1",
        "EXPIRE k 100",
        "PERSIST k",
        "RENAME k j",
        "MOVE j 1",
        "DEL j",
    ] {
        assert_eq!(stats(write), (0, 0), "{write}");
    }
    assert_eq!(stats("SET k 1 GET"), (0, 1));
    assert_eq!(stats("GET k"), (1, 0));
    assert_eq!(stats("MGET k nosuch"), (1, 1));
    assert_eq!(stats("EXISTS k nosuch"), (1, 1));
    assert_eq!(stats("TYPE k"), (1, 0));
    assert_eq!(stats("TTL nosuch"), (0, 1));
    assert_eq!(stats("OBJECT ENCODING k"), (1, 0));
}

#[test]
fn keyspace_events() {
    let mut t = T::new();
    let ev = |t: &mut T, line: &str| t.events(line).join(" ");
    assert_eq!(ev(&mut t, "SET a 1 EX 100"), "0:set:a 0:expire:a");
    assert_eq!(ev(&mut t, "RENAME a b"), "0:rename_from:a 0:rename_to:b");
    assert_eq!(ev(&mut t, "COPY b c DB 2"), "2:copy_to:c");
    assert_eq!(ev(&mut t, "MOVE b 3"), "0:move_from:b 3:move_to:b");
    assert_eq!(ev(&mut t, "MSET x 1 y 2"), "0:set:x 0:set:y");
    assert_eq!(ev(&mut t, "DEL x y nosuch"), "0:del:x 0:del:y");
    assert_eq!(ev(&mut t, "INCRBY n 2"), "0:incrby:n");
    assert_eq!(ev(&mut t, "INCRBYFLOAT n 2"), "0:incrbyfloat:n");
    assert_eq!(ev(&mut t, "APPEND n x"), "0:append:n");
    assert_eq!(ev(&mut t, "SETRANGE n 0 y"), "0:setrange:n");
    assert_eq!(ev(&mut t, "GETEX n PX 50"), "0:expire:n");
    assert_eq!(ev(&mut t, "GETEX n PERSIST"), "0:persist:n");
    assert_eq!(ev(&mut t, "EXPIRE n 0"), "0:del:n");
    assert_eq!(ev(&mut t, "SETEX n 1 v"), "0:set:n 0:expire:n");
    t.now += 1001;
    assert_eq!(ev(&mut t, "GET n"), "0:expired:n");
    assert_eq!(ev(&mut t, "GETDEL nosuch"), "");
}

#[test]
fn object() {
    let mut t = T::new();
    t.check(&[
        ("SET a 12345", "+OK"),
        ("SET b 012", "+OK"),
        ("SET c 9999", "+OK"),
        ("SET d 10000", "+OK"),
        ("SET e -5", "+OK"),
        ("SET big 123456789012345678901234567890123456789012345", "+OK"),
        ("OBJECT ENCODING a", "$3\r\nint"),
        ("OBJECT ENCODING b", "$6\r\nembstr"),
        ("OBJECT ENCODING big", "$3\r\nraw"),
        ("OBJECT REFCOUNT a", ":1"),
        ("OBJECT REFCOUNT c", ":2147483647"),
        ("OBJECT REFCOUNT d", ":1"),
        ("OBJECT REFCOUNT e", ":1"),
        ("OBJECT ENCODING nosuch", "$-1"),
        ("OBJECT REFCOUNT nosuch", "$-1"),
        ("OBJECT IDLETIME nosuch", "$-1"),
        ("OBJECT IDLETIME a", ":0"),
        ("@sleep 5000", ""),
        ("OBJECT IDLETIME a", ":5"),
        ("OBJECT IDLETIME a", ":5"),
        ("GET a", "$5\r\n12345"),
        ("OBJECT IDLETIME a", ":0"),
        ("OBJECT FREQ a", "-ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust."),
        ("OBJECT FOO a", "-ERR unknown subcommand 'FOO'. Try OBJECT HELP."),
        ("OBJECT Encoding", "-ERR wrong number of arguments for 'object|encoding' command"),
        ("OBJECT encoding a b", "-ERR wrong number of arguments for 'object|encoding' command"),
        ("OBJECT HELP x", "-ERR wrong number of arguments for 'object|help' command"),
        ("OBJECT", "-ERR wrong number of arguments for 'object' command"),
    ]);
    let help = t.run("OBJECT HELP");
    assert!(
        help.starts_with(
            "*15\r\n+OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n"
        ),
        "{help}"
    );
}
