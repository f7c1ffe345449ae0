//! A work queue on a stream, end to end, under `appendfsync always`: a
//! producer adds 100k entries while three consumers of one group read them
//! with `XREADGROUP ... BLOCK` on their own threads (and event loops) and
//! acknowledge each; a fourth consumer takes a batch and dies without
//! acknowledging it, and a sweeper recovers its entries with XAUTOCLAIM.
//! Every entry must be acknowledged exactly once (its one `XACK` answering
//! 1). Then the server is SIGKILLed and restarted from its AOF: the group's
//! last-delivered ID, read counter, pending list (owners and delivery
//! counts) and consumers are as the clients last saw them.

use crate::util::{elements, escape, mask_ints, scalar, Conn, Server};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

const ENTRIES: usize = 100_000;
const AOF_ALWAYS: &[&str] = &[
    "--appendonly",
    "yes",
    "--appendfsync",
    "always",
    "--save",
    "",
    "--threads",
    "2",
];

/// The entry IDs of an XREADGROUP or XAUTOCLAIM entries array.
fn ids_of(entries: &[u8]) -> Vec<String> {
    elements(entries)
        .map(|(_, items)| {
            items
                .iter()
                .filter_map(|e| {
                    elements(e).and_then(|(_, kv)| kv.first().and_then(|id| scalar(id)))
                })
                .map(|id| String::from_utf8_lossy(&id).into_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// The IDs an XREADGROUP reply delivered (`*-1`: none).
fn delivered(reply: &[u8]) -> Vec<String> {
    let Some((_, streams)) = elements(reply) else {
        return Vec::new();
    };
    streams
        .iter()
        .filter_map(|s| elements(s).and_then(|(_, kv)| kv.get(1).cloned()))
        .flat_map(|e| ids_of(&e))
        .collect()
}

/// Acknowledges `ids` one XACK each (pipelined); returns the IDs whose
/// XACK answered 1: the ones this caller processed.
fn ack_each(c: &mut Conn, ids: &[String]) -> Vec<String> {
    let mut raw = Vec::new();
    for id in ids {
        crate::util::encode_request(&[b"XACK", b"jobs", b"workers", id.as_bytes()], &mut raw);
    }
    c.send_raw(&raw);
    ids.iter()
        .filter(|_| c.read_frame() == b":1\r\n")
        .cloned()
        .collect()
}

/// What the clients see of the group (idle times masked: they are clocks).
fn group_state(c: &mut Conn) -> Vec<String> {
    [
        "XLEN jobs",
        "XINFO GROUPS jobs",
        "XPENDING jobs workers",
        "XPENDING jobs workers - + 1000",
        "XINFO CONSUMERS jobs workers",
    ]
    .iter()
    .map(|line| format!("{line}: {}", escape(&mask_clocks(line, &c.cmd(line)))))
    .collect()
}

/// XPENDING's extended form and XINFO CONSUMERS carry idle times, so
/// their integers are masked (the delivery counts are compared by
/// [`pending`]); the other replies are compared exactly.
fn mask_clocks(line: &str, reply: &[u8]) -> Vec<u8> {
    if line.ends_with("1000") || line.starts_with("XINFO CONSUMERS") {
        mask_ints(reply)
    } else {
        reply.to_vec()
    }
}

/// (ID, owner, deliveries) of every pending entry.
fn pending(c: &mut Conn) -> Vec<(String, String, String)> {
    let r = c.cmd("XPENDING jobs workers - + 100000");
    elements(&r)
        .map(|(_, rows)| {
            rows.iter()
                .filter_map(|row| {
                    let (_, f) = elements(row)?;
                    let s = |i: usize| -> Option<String> {
                        Some(String::from_utf8_lossy(&scalar(f.get(i)?)?).into_owned())
                    };
                    Some((s(0)?, s(1)?, s(3)?))
                })
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn work_queue_processes_each_entry_once_and_survives_sigkill() {
    let mut server = Server::start(AOF_ALWAYS);
    let port = server.port();
    let mut admin = server.conn();
    admin.expect("XGROUP CREATE jobs workers $ MKSTREAM", "+OK\r\n");

    let produced = Arc::new(Mutex::new(Vec::with_capacity(ENTRIES)));
    let acked: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
    let done = Arc::new(AtomicBool::new(false));
    let total_acked = Arc::new(AtomicUsize::new(0));

    // The consumer that dies: it takes a batch and never acknowledges it.
    let mut dead = Conn::connect(port);
    let producer = {
        let produced = produced.clone();
        thread::spawn(move || {
            let mut c = Conn::connect(port);
            for batch in 0..ENTRIES / 500 {
                let mut raw = Vec::new();
                for i in 0..500 {
                    let n = (batch * 500 + i).to_string();
                    crate::util::encode_request(
                        &[b"XADD", b"jobs", b"*", b"job", n.as_bytes()],
                        &mut raw,
                    );
                }
                c.send_raw(&raw);
                let mut ids = Vec::with_capacity(500);
                for _ in 0..500 {
                    let r = c.read_frame();
                    ids.push(String::from_utf8_lossy(&scalar(&r).expect("an ID")).into_owned());
                }
                produced.lock().unwrap().extend(ids);
            }
        })
    };
    // Let some entries arrive, then the doomed consumer takes its batch.
    let t0 = Instant::now();
    let mut lost = Vec::new();
    while lost.is_empty() && t0.elapsed() < Duration::from_secs(30) {
        lost = delivered(
            &dead.cmd("XREADGROUP GROUP workers doomed COUNT 300 BLOCK 100 STREAMS jobs >"),
        );
    }
    assert!(!lost.is_empty(), "the doomed consumer got nothing");
    drop(dead);

    let mut workers = Vec::new();
    for name in ["alice", "bob", "carol"] {
        let (acked, done, total) = (acked.clone(), done.clone(), total_acked.clone());
        workers.push(thread::spawn(move || {
            let mut c = Conn::connect(port);
            let cmd = format!("XREADGROUP GROUP workers {name} COUNT 100 BLOCK 100 STREAMS jobs >");
            while !done.load(Ordering::Relaxed) {
                let ids = delivered(&c.cmd(&cmd));
                let mine = ack_each(&mut c, &ids);
                total.fetch_add(mine.len(), Ordering::Relaxed);
                let mut a = acked.lock().unwrap();
                for id in mine {
                    *a.entry(id).or_default() += 1;
                }
            }
        }));
    }
    let sweeper = {
        let (acked, done, total) = (acked.clone(), done.clone(), total_acked.clone());
        thread::spawn(move || {
            let mut c = Conn::connect(port);
            while !done.load(Ordering::Relaxed) {
                let mut cursor = "0-0".to_string();
                loop {
                    let r = c.cmd(&format!(
                        "XAUTOCLAIM jobs workers sweeper 1000 {cursor} COUNT 100"
                    ));
                    let (_, parts) = elements(&r).expect("XAUTOCLAIM reply");
                    let mine = ack_each(&mut c, &ids_of(&parts[1]));
                    total.fetch_add(mine.len(), Ordering::Relaxed);
                    {
                        let mut a = acked.lock().unwrap();
                        for id in mine {
                            *a.entry(id).or_default() += 1;
                        }
                    }
                    cursor =
                        String::from_utf8_lossy(&scalar(&parts[0]).expect("cursor")).into_owned();
                    if cursor == "0-0" {
                        break;
                    }
                }
                thread::sleep(Duration::from_millis(200));
            }
        })
    };
    producer.join().expect("producer");
    let deadline = Instant::now() + Duration::from_secs(600);
    while total_acked.load(Ordering::Relaxed) < ENTRIES {
        assert!(
            Instant::now() < deadline,
            "only {} of {ENTRIES} entries acknowledged",
            total_acked.load(Ordering::Relaxed)
        );
        thread::sleep(Duration::from_millis(50));
    }
    done.store(true, Ordering::Relaxed);
    for w in workers {
        w.join().expect("worker");
    }
    sweeper.join().expect("sweeper");

    let produced = produced.lock().unwrap().clone();
    let acked = acked.lock().unwrap().clone();
    assert_eq!(produced.len(), ENTRIES);
    assert_eq!(acked.len(), ENTRIES, "entries acknowledged");
    assert!(
        acked.values().all(|&n| n == 1),
        "an entry was acknowledged twice"
    );
    assert!(
        produced.iter().all(|id| acked.contains_key(id)),
        "an entry was never acknowledged"
    );
    assert!(
        lost.iter().all(|id| acked.contains_key(id)),
        "the sweeper missed the dead consumer's entries"
    );

    // Leave something pending: a last batch, half acknowledged.
    let mut c = server.conn();
    for i in 0..10 {
        c.cmd(&format!("XADD jobs * job tail{i}"));
    }
    let tail = delivered(&c.cmd("XREADGROUP GROUP workers alice COUNT 10 STREAMS jobs >"));
    assert_eq!(tail.len(), 10);
    assert_eq!(ack_each(&mut c, &tail[..5]).len(), 5);
    c.cmd("XREADGROUP GROUP workers alice STREAMS jobs 0");
    let before = group_state(&mut c);
    let pending_before = pending(&mut c);
    assert_eq!(pending_before.len(), 5);
    assert!(pending_before
        .iter()
        .all(|(_, who, n)| who == "alice" && n == "2"));

    server.kill();
    server.restart(AOF_ALWAYS);
    let mut c = server.conn();
    assert_eq!(
        group_state(&mut c),
        before,
        "the group after SIGKILL and restart"
    );
    assert_eq!(pending(&mut c), pending_before);
    assert!(before[1].contains(&escape(
        format!(
            "$17\r\nlast-delivered-id\r\n${}\r\n{}",
            tail[9].len(),
            tail[9]
        )
        .as_bytes()
    )));
}
