//! The disk fills under a write load from several clients, for each fsync
//! policy: every request gets an answer (within `ANSWER_WITHIN`), readers
//! always see the last acknowledged values, no acknowledged write is lost,
//! no write answered with an error appears (now or after a restart), and
//! writes resume by themselves once space is freed. Needs root for the
//! tmpfs, like `diskfull.rs`.

use super::diskfull::{until, Tmpfs};
use crate::util::{Conn, Server};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const WRITERS: usize = 4;
const READERS: usize = 2;
const BASE_KEYS: usize = 50;
/// Generous for a loaded 2-core CI box: a reply that waits on a disk that
/// is not coming back would wait forever.
const ANSWER_WITHIN: Duration = Duration::from_secs(3);

/// What one writer learned.
#[derive(Default)]
struct Outcome {
    acked: Vec<(String, Vec<u8>)>,
    refused: Vec<String>,
}

fn value(t: usize, n: usize) -> Vec<u8> {
    let mut v = format!("{t}-{n}-").into_bytes();
    v.resize(1000, b'v');
    v
}

fn writer(port: u16, t: usize, stop: Arc<AtomicBool>, refusals: Arc<AtomicUsize>) -> Outcome {
    let mut c = Conn::connect(port);
    c.set_read_timeout(ANSWER_WITHIN);
    let mut out = Outcome::default();
    for n in 0.. {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let key = format!("w{t}:{n}");
        let v = value(t, n);
        c.send(&[b"SET", key.as_bytes(), &v]);
        let t0 = Instant::now();
        let reply = c
            .try_read_frame()
            .unwrap_or_else(|e| panic!("SET {key}: no answer within {ANSWER_WITHIN:?}: {e}"));
        assert!(
            t0.elapsed() <= ANSWER_WITHIN,
            "SET {key} took {:?}",
            t0.elapsed()
        );
        match reply.as_slice() {
            b"+OK\r\n" => out.acked.push((key, v)),
            r if r.starts_with(b"-MISCONF Errors writing to the AOF file") => {
                out.refused.push(key);
                refusals.fetch_add(1, Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(5));
            }
            r => panic!("SET {key}: {}", String::from_utf8_lossy(r)),
        }
    }
    out
}

fn reader(port: u16, stop: Arc<AtomicBool>) -> usize {
    let mut c = Conn::connect(port);
    c.set_read_timeout(ANSWER_WITHIN);
    let mut reads = 0;
    while !stop.load(Ordering::Relaxed) {
        let i = reads % BASE_KEYS;
        c.send(&[b"GET", format!("base:{i}").as_bytes()]);
        let got = c
            .try_read_frame()
            .unwrap_or_else(|e| panic!("GET base:{i}: no answer within {ANSWER_WITHIN:?}: {e}"));
        let want = format!("$3\r\nv{i:02}\r\n");
        assert_eq!(String::from_utf8_lossy(&got), want, "GET base:{i}");
        reads += 1;
    }
    reads
}

/// Every acknowledged write reads back; no refused one exists.
fn check(c: &mut Conn, outcomes: &[Outcome]) {
    for o in outcomes {
        for (k, v) in &o.acked {
            c.send(&[b"GET", k.as_bytes()]);
            let got = c.read_frame();
            let mut want = format!("${}\r\n", v.len()).into_bytes();
            want.extend_from_slice(v);
            want.extend_from_slice(b"\r\n");
            assert!(got == want, "acknowledged {k} lost or changed");
        }
        for k in &o.refused {
            c.send(&[b"EXISTS", k.as_bytes()]);
            assert_eq!(c.read_frame(), b":0\r\n", "refused {k} exists");
        }
    }
}

fn fill_under_load(policy: &str) {
    let Some(fs) = Tmpfs::mount() else { return };
    let a = [
        "--dir",
        fs.path(),
        "--threads",
        "2",
        "--appendonly",
        "yes",
        "--appendfsync",
        policy,
        "--save",
        "",
    ];
    let mut s = Server::start(&a);
    let mut c = s.conn();
    for i in 0..BASE_KEYS {
        c.expect(&format!("SET base:{i} v{i:02}"), "+OK\r\n");
    }
    fs.fill_leaving(256 * 1024);
    let stop = Arc::new(AtomicBool::new(false));
    let refusals = Arc::new(AtomicUsize::new(0));
    let port = s.port();
    let writers: Vec<_> = (0..WRITERS)
        .map(|t| {
            let (stop, refusals) = (stop.clone(), refusals.clone());
            std::thread::spawn(move || writer(port, t, stop, refusals))
        })
        .collect();
    let readers: Vec<_> = (0..READERS)
        .map(|_| {
            let stop = stop.clone();
            std::thread::spawn(move || reader(port, stop))
        })
        .collect();
    // Run until the disk has been full for a while (every writer refused
    // some), bounded.
    let deadline = Instant::now() + Duration::from_secs(20);
    while refusals.load(Ordering::Relaxed) < 50 * WRITERS && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    stop.store(true, Ordering::Relaxed);
    let outcomes: Vec<Outcome> = writers.into_iter().map(|h| h.join().unwrap()).collect();
    let reads: usize = readers.into_iter().map(|h| h.join().unwrap()).sum();
    let acked: usize = outcomes.iter().map(|o| o.acked.len()).sum();
    let refused: usize = outcomes.iter().map(|o| o.refused.len()).sum();
    println!("{policy}: {acked} writes acknowledged, {refused} refused, {reads} reads");
    assert!(refused > 0, "the disk never filled");
    assert!(acked > 0, "nothing was written before the disk filled");
    assert!(reads > 0);
    check(&mut c, &outcomes);
    fs.free();
    until(&mut c, "SET after 1", "+OK\r\n");
    check(&mut c, &outcomes);
    s.kill();
    s.restart(&a);
    let mut c = s.conn();
    check(&mut c, &outcomes);
    c.expect("GET after", "$1\r\n1\r\n");
    c.expect("GET base:7", "$3\r\nv07\r\n");
}

#[test]
fn diskfull_load_always() {
    fill_under_load("always");
}

#[test]
fn diskfull_load_everysec() {
    fill_under_load("everysec");
}

#[test]
fn diskfull_load_no() {
    fill_under_load("no");
}
