//! Unit tests of the embedded handle.
use super::*;
use crate::value::Value;
use std::sync::atomic::{AtomicU64, Ordering};

const T0: u64 = 1_700_000_000_000;

fn kv() -> Kevy {
    Kevy::new(4, 16).with_clock(|| T0)
}

fn assert_send_sync_clone<T: Send + Sync + Clone + 'static>() {}

#[test]
fn handle_is_thread_safe() {
    assert_send_sync_clone::<Kevy>();
    assert_send_sync_clone::<Snapshot>();
}

#[test]
fn strings_and_keys() {
    let kv = kv();
    assert_eq!(kv.get("a"), Ok(None));
    kv.set("a", "1").unwrap();
    assert_eq!(kv.get("a").unwrap().as_deref(), Some(&b"1"[..]));
    assert_eq!(kv.incr("a"), Ok(2));
    assert_eq!(kv.incr_by("a", 40), Ok(42));
    assert_eq!(kv.decr("a"), Ok(41));
    assert_eq!(kv.append("s", "ab"), Ok(2));
    assert_eq!(kv.strlen("s"), Ok(2));
    assert_eq!(kv.set_nx("s", "x"), Ok(false));
    assert_eq!(kv.set_nx("t", "x"), Ok(true));
    kv.mset([("m1", "x"), ("m2", "y")]).unwrap();
    let got = kv.mget(["m1", "nope", "m2"]).unwrap();
    assert_eq!(
        got,
        vec![
            Some(Bytes::from_static(b"x")),
            None,
            Some(Bytes::from_static(b"y"))
        ]
    );
    assert_eq!(kv.exists("a"), Ok(true));
    assert_eq!(kv.exists_count(["a", "a", "zz"]), Ok(2));
    assert_eq!(kv.key_type("a").unwrap(), "string");
    assert_eq!(kv.key_type("zz").unwrap(), "none");
    kv.rename("a", "b").unwrap();
    assert_eq!(kv.rename("a", "c"), Err(CmdError::NoSuchKey));
    let mut keys = kv.keys("m*").unwrap();
    keys.sort();
    assert_eq!(
        keys,
        vec![Bytes::from_static(b"m1"), Bytes::from_static(b"m2")]
    );
    assert_eq!(kv.del(["b", "s", "zz"]), Ok(2));
    assert_eq!(kv.dbsize(), Ok(3));
    kv.flushdb().unwrap();
    assert_eq!(kv.dbsize(), Ok(0));
}

#[test]
fn typed_errors() {
    let kv = kv();
    kv.set("s", "abc").unwrap();
    assert_eq!(kv.incr("s"), Err(CmdError::NotInteger));
    assert_eq!(kv.lpush("s", ["x"]), Err(CmdError::WrongType));
    assert_eq!(kv.zadd("z", f64::NAN, "m"), Err(CmdError::NotFloat));
    assert_eq!(kv.run(&["GET"]), Err(CmdError::Arity("get".into())));
    assert!(
        matches!(kv.run(&["NOSUCH"]), Err(CmdError::Other(t)) if t.starts_with("ERR unknown command"))
    );
    assert_eq!(kv.select(16).err(), Some(CmdError::DbIndex));
}

#[test]
fn expiry_follows_the_clock() {
    let now = Arc::new(AtomicU64::new(T0));
    let n = now.clone();
    let kv = Kevy::new(2, 16).with_clock(move || n.load(Ordering::Relaxed));
    kv.set("k", "v").unwrap();
    assert_eq!(kv.ttl("k"), Ok(Ttl::Persistent));
    assert_eq!(kv.ttl("nope"), Ok(Ttl::Missing));
    assert_eq!(kv.expire("k", Duration::from_secs(10)), Ok(true));
    assert_eq!(kv.ttl("k"), Ok(Ttl::Expires(Duration::from_secs(10))));
    kv.set_ex("e", "v", Duration::from_millis(500)).unwrap();
    now.fetch_add(1_000, Ordering::Relaxed);
    assert_eq!(kv.get("e"), Ok(None));
    assert_eq!(kv.ttl("k"), Ok(Ttl::Expires(Duration::from_secs(9))));
    assert_eq!(kv.persist("k"), Ok(true));
    kv.set_ex("gone", "v", Duration::from_millis(1)).unwrap();
    now.fetch_add(10, Ordering::Relaxed);
    assert_eq!(kv.active_expire(Duration::from_millis(100)), 1);
}

#[test]
fn lists_hashes_sets_zsets() {
    let kv = kv();
    assert_eq!(kv.rpush("l", ["b", "c"]), Ok(2));
    assert_eq!(kv.lpush("l", ["a"]), Ok(3));
    assert_eq!(kv.lrange("l", 0, -1).unwrap(), vec!["a", "b", "c"]);
    assert_eq!(kv.llen("l"), Ok(3));
    assert_eq!(kv.lindex("l", -1).unwrap().as_deref(), Some(&b"c"[..]));
    assert_eq!(kv.lpop("l").unwrap().as_deref(), Some(&b"a"[..]));
    assert_eq!(kv.rpop("l").unwrap().as_deref(), Some(&b"c"[..]));
    assert_eq!(kv.lpop("none"), Ok(None));

    assert_eq!(kv.hset("h", "f", "1"), Ok(true));
    assert_eq!(kv.hset("h", "f", "2"), Ok(false));
    assert_eq!(kv.hset_many("h", [("g", "3"), ("f", "4")]), Ok(1));
    assert_eq!(kv.hget("h", "f").unwrap().as_deref(), Some(&b"4"[..]));
    assert_eq!(kv.hincr_by("h", "n", 5), Ok(5));
    let mut all = kv.hgetall("h").unwrap();
    all.sort();
    assert_eq!(
        all,
        vec![
            (Bytes::from("f"), Bytes::from("4")),
            (Bytes::from("g"), Bytes::from("3")),
            (Bytes::from("n"), Bytes::from("5"))
        ]
    );
    assert_eq!(kv.hdel("h", ["f", "x"]), Ok(1));
    assert_eq!(kv.hlen("h"), Ok(2));
    assert_eq!(kv.hgetall("none"), Ok(vec![]));

    assert_eq!(kv.sadd("s", ["x", "y", "x"]), Ok(2));
    assert_eq!(kv.sismember("s", "x"), Ok(true));
    let mut m = kv.smembers("s").unwrap();
    m.sort();
    assert_eq!(m, vec!["x", "y"]);
    assert_eq!(kv.srem("s", ["x"]), Ok(1));
    assert_eq!(kv.scard("s"), Ok(1));

    assert_eq!(kv.zadd("z", 2.0, "b"), Ok(true));
    assert_eq!(
        kv.zadd_many("z", [(1.0, "a"), (3.5, "c"), (9.0, "b")]),
        Ok(2)
    );
    assert_eq!(kv.zrange("z", 0, -1).unwrap(), vec!["a", "c", "b"]);
    assert_eq!(kv.zscore("z", "c"), Ok(Some(3.5)));
    assert_eq!(kv.zscore("z", "q"), Ok(None));
    assert_eq!(kv.zincr_by("z", 0.25, "a"), Ok(1.25));
    assert_eq!(kv.zrank("z", "b"), Ok(Some(2)));
    assert_eq!(kv.zrank("z", "q"), Ok(None));
    let ws = kv.zrange_withscores("z", 0, 1).unwrap();
    assert_eq!(ws, vec![(Bytes::from("a"), 1.25), (Bytes::from("c"), 3.5)]);
    // RESP2 replies (flat arrays, scores as bulk strings) convert the same.
    let ws2 = kv
        .with_protocol(Protocol::Resp2)
        .zrange_withscores("z", 0, 1)
        .unwrap();
    assert_eq!(ws2, ws);
    assert_eq!(
        kv.with_protocol(Protocol::Resp2).zscore("z", "c"),
        Ok(Some(3.5))
    );
    assert_eq!(kv.zrem("z", ["a"]), Ok(1));
    assert_eq!(kv.zcard("z"), Ok(2));
}

#[test]
fn databases_are_separate() {
    let kv = kv();
    let db3 = kv.select(3).unwrap();
    db3.set("k", "three").unwrap();
    assert_eq!(kv.get("k"), Ok(None));
    assert_eq!(db3.db(), 3);
    assert_eq!(
        kv.command(3, &[&b"GET"[..], b"k"]),
        Reply::Bulk(Bytes::from("three"))
    );
}

#[test]
fn commit_hook_sees_writes_only() {
    let calls = Arc::new(parking_lot::Mutex::new(Vec::new()));
    let c = calls.clone();
    let kv = Kevy::new(4, 16).with_commit_hook(move |ids| {
        c.lock().push(ids.iter().map(|p| p.0).collect::<Vec<_>>());
        Ok(())
    });
    kv.set("a", "1").unwrap();
    kv.get("a").unwrap();
    kv.mset([("a", "1"), ("b", "2"), ("c", "3")]).unwrap();
    let seen = calls.lock().clone();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0], vec![kv.store().shard_of(b"a")]);
    let failing = kv.with_commit_hook(|_| Err(CmdError::err("fsync failed")));
    assert_eq!(
        failing.set("x", "y"),
        Err(CmdError::Other("ERR fsync failed".into()))
    );
    assert_eq!(failing.get("x").unwrap().as_deref(), Some(&b"y"[..]));
}

#[test]
fn blocking_commands_do_not_wait() {
    let kv = kv();
    let r = kv.command(0, &[&b"BLPOP"[..], b"nothing", b"0"]);
    assert_eq!(r, Reply::NilArray);
}

#[test]
fn atomic_batch_is_all_or_nothing_for_readers() {
    let kv = Kevy::new(8, 16);
    kv.mset((0..100).map(|i| (format!("acct:{i}"), "100")))
        .unwrap();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reader = {
        let kv = kv.clone();
        let stop = stop.clone();
        std::thread::spawn(move || {
            let keys: Vec<String> = (0..100).map(|i| format!("acct:{i}")).collect();
            let mut checks = 0;
            while !stop.load(Ordering::Relaxed) {
                // MGET locks every shard it reads, so it sees whole transfers only.
                let total: i64 = kv
                    .mget(&keys)
                    .unwrap()
                    .iter()
                    .map(|v| {
                        std::str::from_utf8(v.as_ref().unwrap())
                            .unwrap()
                            .parse::<i64>()
                            .unwrap()
                    })
                    .sum();
                assert_eq!(total, 10_000);
                let snap: i64 = kv
                    .snapshot()
                    .iter()
                    .map(|(_, _, e)| match &e.value {
                        Value::Str(s) => std::str::from_utf8(s).unwrap().parse::<i64>().unwrap(),
                        _ => 0,
                    })
                    .sum();
                assert_eq!(snap, 10_000);
                checks += 1;
            }
            checks
        })
    };
    for i in 0..2000 {
        let (a, b) = (
            format!("acct:{}", i % 100),
            format!("acct:{}", (i * 7 + 3) % 100),
        );
        let r = kv.atomic(&[
            &[&b"DECRBY"[..], a.as_bytes(), b"5"],
            &[&b"INCRBY"[..], b.as_bytes(), b"5"],
        ]);
        assert!(r.iter().all(|r| matches!(r, Reply::Int(_))), "{r:?}");
    }
    stop.store(true, Ordering::Relaxed);
    assert!(reader.join().unwrap() > 0);
}

#[test]
fn snapshot_is_frozen_and_iterable() {
    let kv = kv();
    kv.set("a", "1").unwrap();
    kv.select(2).unwrap().rpush("l", ["x", "y"]).unwrap();
    kv.set_ex("short", "v", Duration::from_millis(5)).unwrap();
    let snap = kv.snapshot();
    kv.set("a", "changed").unwrap();
    kv.set("b", "new").unwrap();
    assert_eq!(snap.len(), 3);
    let mut seen: Vec<(usize, Vec<u8>, &'static str)> = snap
        .iter()
        .map(|(db, k, e)| (db, k.to_vec(), e.value.type_name()))
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        vec![
            (0, b"a".to_vec(), "string"),
            (0, b"short".to_vec(), "string"),
            (2, b"l".to_vec(), "list")
        ]
    );
    match snap.get(0, "a").map(|e| &e.value) {
        Some(Value::Str(s)) => assert_eq!(&s[..], b"1"),
        other => panic!("{other:?}"),
    }
    assert!(snap.get(0, "b").is_none());
    assert!(snap.get(1, "a").is_none());
    let later = Snapshot::from_views(snap.views().to_vec(), T0 + 10);
    assert_eq!(later.iter().count(), 2);
    assert_eq!(snap.views().iter().flat_map(|v| v.entries()).count(), 3);
}
