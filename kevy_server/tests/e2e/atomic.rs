//! Multi-key commands are atomic across shards: concurrent readers never see
//! half of an MSET, DEL, RENAME or MSETNX, whichever event loops and shards
//! the keys and clients land on.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::util::{elements, escape, scalar, Conn, Server};

/// Ten keys without hash tags: they spread over the shards.
fn keys() -> Vec<String> {
    (1..=10).map(|i| format!("atomic:key:{i}")).collect()
}

/// Runs `writers` and `readers` threads until each writer is done (or 20 s
/// pass); readers run until the writers finish and return their check count.
fn race(
    port: u16,
    writers: usize,
    readers: usize,
    write: impl Fn(&mut Conn, usize, usize) + Send + Sync + 'static,
    read: impl Fn(&mut Conn) + Send + Sync + 'static,
    rounds: usize,
) -> usize {
    let write = Arc::new(write);
    let read = Arc::new(read);
    let done = Arc::new(AtomicBool::new(false));
    let deadline = Instant::now() + Duration::from_secs(20);
    let readers: Vec<_> = (0..readers)
        .map(|_| {
            let (read, done) = (read.clone(), done.clone());
            std::thread::spawn(move || {
                let mut c = Conn::connect(port);
                let mut checks = 0;
                while !done.load(Ordering::Relaxed) && Instant::now() < deadline {
                    read(&mut c);
                    checks += 1;
                }
                checks
            })
        })
        .collect();
    let writers: Vec<_> = (0..writers)
        .map(|w| {
            let write = write.clone();
            std::thread::spawn(move || {
                let mut c = Conn::connect(port);
                for round in 0..rounds {
                    if Instant::now() > deadline {
                        break;
                    }
                    write(&mut c, w, round);
                }
            })
        })
        .collect();
    let mut failed = None;
    for t in writers {
        if let Err(e) = t.join() {
            failed = Some(e);
        }
    }
    done.store(true, Ordering::Relaxed);
    let mut checks = 0;
    for t in readers {
        match t.join() {
            Ok(n) => checks += n,
            Err(e) => failed = Some(e),
        }
    }
    if let Some(e) = failed {
        std::panic::resume_unwind(e);
    }
    checks
}

fn bulk_items(reply: &[u8]) -> Vec<Option<Vec<u8>>> {
    let (_, items) = elements(reply).unwrap_or_else(|| panic!("not an array: {}", escape(reply)));
    items
        .iter()
        .map(|i| {
            if i.as_slice() == b"$-1\r\n" {
                None
            } else {
                scalar(i)
            }
        })
        .collect()
}

fn args<'a>(head: &'a [&'a str], keys: &'a [String], value: Option<&'a str>) -> Vec<&'a [u8]> {
    let mut v: Vec<&[u8]> = head.iter().map(|s| s.as_bytes()).collect();
    for k in keys {
        v.push(k.as_bytes());
        if let Some(val) = value {
            v.push(val.as_bytes());
        }
    }
    v
}

#[test]
fn mget_never_sees_half_an_mset() {
    let server = Server::start(&["--threads", "4"]);
    let checks = race(
        server.port(),
        3,
        3,
        |c, w, round| {
            let keys = keys();
            let value = format!("{w}-{round}");
            c.send(&args(&["MSET"], &keys, Some(&value)));
            c.expect_frame(b"+OK\r\n");
        },
        |c| {
            let keys = keys();
            c.send(&args(&["MGET"], &keys, None));
            let reply = c.read_frame();
            let values = bulk_items(&reply);
            assert!(
                values.iter().all(|v| v == &values[0]),
                "MGET saw a torn MSET: {}",
                escape(&reply)
            );
        },
        1500,
    );
    assert!(checks > 0);
}

#[test]
fn exists_never_sees_half_a_del() {
    let server = Server::start(&["--threads", "4"]);
    race(
        server.port(),
        2,
        3,
        |c, _w, round| {
            let keys = keys();
            if round % 2 == 0 {
                c.send(&args(&["MSET"], &keys, Some("x")));
                c.expect_frame(b"+OK\r\n");
            } else {
                c.send(&args(&["DEL"], &keys, None));
                let reply = c.read_frame();
                assert!(reply.starts_with(b":"), "DEL: {}", escape(&reply));
            }
        },
        |c| {
            let keys = keys();
            c.send(&args(&["EXISTS"], &keys, None));
            let reply = c.read_frame();
            assert!(
                reply == b":0\r\n" || reply == b":10\r\n",
                "EXISTS saw a torn MSET/DEL: {}",
                escape(&reply)
            );
        },
        1500,
    );
}

#[test]
fn rename_across_shards_is_never_seen_halfway() {
    let server = Server::start(&["--threads", "4"]);
    // Two keys that don't share a hash tag, moved back and forth.
    let mut c = server.conn();
    c.expect("SET ping-side token", "+OK\r\n");
    race(
        server.port(),
        1,
        3,
        |c, _w, round| {
            let (from, to) = if round % 2 == 0 {
                ("ping-side", "pong-side")
            } else {
                ("pong-side", "ping-side")
            };
            let reply = c.cmd(&format!("RENAME {from} {to}"));
            assert_eq!(escape(&reply), escape(b"+OK\r\n"), "RENAME {from} {to}");
        },
        |c| {
            let reply = c.cmd("MGET ping-side pong-side");
            let values = bulk_items(&reply);
            let present = values.iter().filter(|v| v.is_some()).count();
            assert_eq!(present, 1, "MGET saw a torn RENAME: {}", escape(&reply));
        },
        3000,
    );
}

#[test]
fn concurrent_msetnx_has_exactly_one_winner() {
    let server = Server::start(&["--threads", "4"]);
    let port = server.port();
    let keys = keys();
    for round in 0..30 {
        let mut c = Conn::connect(port);
        c.send(&args(&["DEL"], &keys, None));
        c.read_frame();
        let contenders: Vec<_> = (0..6)
            .map(|w| {
                let keys = keys.clone();
                std::thread::spawn(move || {
                    let mut c = Conn::connect(port);
                    let value = format!("writer{w}");
                    c.send(&args(&["MSETNX"], &keys, Some(&value)));
                    (w, c.read_frame())
                })
            })
            .collect();
        let results: Vec<(usize, Vec<u8>)> = contenders
            .into_iter()
            .map(|t| t.join().expect("contender"))
            .collect();
        let winners: Vec<usize> = results
            .iter()
            .filter(|(_, r)| r.as_slice() == b":1\r\n")
            .map(|(w, _)| *w)
            .collect();
        assert_eq!(
            winners.len(),
            1,
            "round {round}: MSETNX replies {results:?}"
        );
        c.send(&args(&["MGET"], &keys, None));
        let reply = c.read_frame();
        let want = format!("writer{}", winners[0]).into_bytes();
        assert!(
            bulk_items(&reply)
                .iter()
                .all(|v| v.as_deref() == Some(&want[..])),
            "round {round}: winner {} but MGET {}",
            winners[0],
            escape(&reply)
        );
    }
}

#[test]
fn pipelined_batches_on_many_connections_stay_consistent() {
    // Each writer pipelines MSET + INCR batches; the counters' final values
    // must be exact and every MGET must still be whole.
    let server = Server::start(&["--threads", "4"]);
    let port = server.port();
    let writers: Vec<_> = (0..4)
        .map(|w| {
            std::thread::spawn(move || {
                let mut c = Conn::connect(port);
                let keys = keys();
                for round in 0..100 {
                    let mut batch = Vec::new();
                    let value = format!("{w}-{round}");
                    crate::util::encode_request(&args(&["MSET"], &keys, Some(&value)), &mut batch);
                    for k in ["cnt:a", "cnt:b", "cnt:c"] {
                        crate::util::encode_request(&[b"INCR", k.as_bytes()], &mut batch);
                    }
                    crate::util::encode_request(&args(&["MGET"], &keys, None), &mut batch);
                    c.send_raw(&batch);
                    c.expect_frame(b"+OK\r\n");
                    for _ in 0..3 {
                        let r = c.read_frame();
                        assert!(r.starts_with(b":"), "INCR: {}", escape(&r));
                    }
                    let reply = c.read_frame();
                    let values = bulk_items(&reply);
                    assert!(
                        values.iter().all(|v| v == &values[0]),
                        "torn: {}",
                        escape(&reply)
                    );
                }
            })
        })
        .collect();
    for t in writers {
        t.join().expect("writer");
    }
    let mut c = Conn::connect(port);
    c.expect(
        "MGET cnt:a cnt:b cnt:c",
        "*3\r\n$3\r\n400\r\n$3\r\n400\r\n$3\r\n400\r\n",
    );
}

#[test]
fn exec_is_atomic_across_shards() {
    let server = Server::start(&["--threads", "4"]);
    race(
        server.port(),
        3,
        3,
        |c, _w, _round| {
            c.send_raw(b"MULTI\r\nINCR tx:x\r\nINCR tx:y\r\nINCR tx:z\r\nEXEC\r\n");
            c.expect_frame(b"+OK\r\n");
            for _ in 0..3 {
                c.expect_frame(b"+QUEUED\r\n");
            }
            let exec = c.read_frame();
            assert!(exec.starts_with(b"*3\r\n:"), "EXEC: {}", escape(&exec));
        },
        |c| {
            let reply = c.cmd("MGET tx:x tx:y tx:z");
            let values = bulk_items(&reply);
            assert!(
                values.iter().all(|v| v == &values[0]),
                "MGET saw half an EXEC: {}",
                escape(&reply)
            );
        },
        500,
    );
    Conn::connect(server.port()).expect(
        "MGET tx:x tx:y tx:z",
        "*3\r\n$4\r\n1500\r\n$4\r\n1500\r\n$4\r\n1500\r\n",
    );
}

#[test]
fn watch_sees_other_clients_writes() {
    let server = Server::start(&["--threads", "2"]);
    let mut a = server.conn();
    let mut b = server.conn();
    a.expect("SET w 1", "+OK\r\n");
    a.expect("WATCH w", "+OK\r\n");
    b.expect("INCR w", ":2\r\n");
    a.expect("MULTI", "+OK\r\n");
    a.expect("SET w 100", "+QUEUED\r\n");
    a.expect("EXEC", "*-1\r\n");
    a.expect("GET w", "$1\r\n2\r\n");
    // Untouched watched keys (on any shard) let EXEC run.
    a.expect("WATCH w other:key third", "+OK\r\n");
    b.expect("SET unrelated 1", "+OK\r\n");
    a.expect("MULTI", "+OK\r\n");
    a.expect("SET w 100", "+QUEUED\r\n");
    a.expect("EXEC", "*1\r\n+OK\r\n");
    // A delete, an expiry set, a FLUSHALL and a RENAME onto the key all
    // count as writes.
    for write in ["DEL w", "EXPIRE w 100", "FLUSHALL", "RENAME src w"] {
        a.expect("SET w 1", "+OK\r\n");
        a.expect("SET src s", "+OK\r\n");
        a.expect("WATCH w", "+OK\r\n");
        let reply = b.cmd(write);
        assert!(!reply.starts_with(b"-"), "{write}: {}", escape(&reply));
        a.expect("MULTI", "+OK\r\n");
        a.expect("PING", "+QUEUED\r\n");
        a.expect("EXEC", "*-1\r\n");
    }
}
