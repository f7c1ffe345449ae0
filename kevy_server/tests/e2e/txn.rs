//! Transactions under concurrency: MULTI/EXEC transfers between keys on
//! different shards, run by clients on different event loops while others
//! read, keep the total invariant at every read and across a SIGKILL and
//! restart (the AOF brackets each transaction); the classic WATCH-based
//! optimistic INCR ends with the exact count. (MULTI/EXEC/DISCARD/WATCH
//! error cases are in `tests/scripts/transactions.txt`.)

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::util::{elements, encode_request, escape, scalar, Conn, Server};

const ACCOUNTS: usize = 8;
const START: i64 = 1000;

/// `ACCOUNTS` keys, half on each of two shards (no hash tags: they really
/// live apart, so every transfer between halves spans both shard locks).
fn accounts() -> Vec<String> {
    let mut by_shard: [Vec<String>; 2] = [Vec::new(), Vec::new()];
    let mut i = 0;
    while by_shard.iter().any(|v| v.len() < ACCOUNTS / 2) {
        let k = format!("acct:{i}");
        let s = kevy_store::shard_for(k.as_bytes(), 2);
        if by_shard[s].len() < ACCOUNTS / 2 {
            by_shard[s].push(k);
        }
        i += 1;
    }
    let [a, b] = by_shard;
    a.into_iter().zip(b).flat_map(|(x, y)| [x, y]).collect()
}

/// The sum of an MGET reply of integers.
fn sum(reply: &[u8]) -> i64 {
    let (_, items) = elements(reply).unwrap_or_else(|| panic!("not an array: {}", escape(reply)));
    items
        .iter()
        .map(|i| {
            let v = scalar(i).unwrap_or_else(|| panic!("nil in {}", escape(reply)));
            String::from_utf8_lossy(&v).parse::<i64>().expect("integer")
        })
        .sum()
}

fn mget(keys: &[String]) -> Vec<u8> {
    let mut args: Vec<&[u8]> = vec![b"MGET"];
    args.extend(keys.iter().map(|k| k.as_bytes()));
    let mut out = Vec::new();
    encode_request(&args, &mut out);
    out
}

/// One transfer as a pipelined MULTI/DECRBY/INCRBY/EXEC; `Err` when the
/// connection broke (the server was killed).
fn transfer(c: &mut Conn, from: &str, to: &str, amount: i64) -> Result<(), String> {
    let amount = amount.to_string();
    let mut out = Vec::new();
    encode_request(&[b"MULTI"], &mut out);
    encode_request(&[b"DECRBY", from.as_bytes(), amount.as_bytes()], &mut out);
    encode_request(&[b"INCRBY", to.as_bytes(), amount.as_bytes()], &mut out);
    encode_request(&[b"EXEC"], &mut out);
    c.try_send_raw(&out).map_err(|e| e.to_string())?;
    for want in [&b"+OK\r\n"[..], b"+QUEUED\r\n", b"+QUEUED\r\n"] {
        let f = c.try_read_frame()?;
        assert_eq!(f, want, "transfer: {}", escape(&f));
    }
    let exec = c.try_read_frame()?;
    assert!(exec.starts_with(b"*2\r\n:"), "EXEC: {}", escape(&exec));
    Ok(())
}

/// Runs `movers` transfer clients and `readers` MGET clients for `rounds`
/// transfers each (or until `stop`); every read must see the full total.
/// Returns (transfers done, reads checked).
fn bank(
    port: u16,
    keys: &[String],
    movers: usize,
    readers: usize,
    rounds: usize,
    stop: Arc<AtomicBool>,
) -> (usize, usize) {
    let total = START * keys.len() as i64;
    let moved = Arc::new(AtomicUsize::new(0));
    let deadline = Instant::now() + Duration::from_secs(30);
    let readers: Vec<_> = (0..readers)
        .map(|_| {
            let (keys, stop) = (keys.to_vec(), stop.clone());
            std::thread::spawn(move || {
                let mut c = Conn::connect(port);
                let req = mget(&keys);
                let mut checks = 0;
                while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
                    if c.try_send_raw(&req).is_err() {
                        break;
                    }
                    let Ok(reply) = c.try_read_frame() else { break };
                    assert_eq!(
                        sum(&reply),
                        total,
                        "MGET saw half a transfer: {}",
                        escape(&reply)
                    );
                    checks += 1;
                }
                checks
            })
        })
        .collect();
    let movers: Vec<_> = (0..movers)
        .map(|m| {
            let (keys, stop, moved) = (keys.to_vec(), stop.clone(), moved.clone());
            std::thread::spawn(move || {
                let mut c = Conn::connect(port);
                let mut x = m as u64 * 7919 + 1;
                for _ in 0..rounds {
                    if stop.load(Ordering::Relaxed) || Instant::now() > deadline {
                        break;
                    }
                    x = x
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    let from = (x >> 33) as usize % keys.len();
                    let to = (from + 1 + (x >> 40) as usize % (keys.len() - 1)) % keys.len();
                    let amount = (x >> 50) as i64 % 50 + 1;
                    if transfer(&mut c, &keys[from], &keys[to], amount).is_err() {
                        break;
                    }
                    moved.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    let mut failed = None;
    for t in movers {
        if let Err(e) = t.join() {
            failed = Some(e);
        }
    }
    stop.store(true, Ordering::Relaxed);
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
    (moved.load(Ordering::Relaxed), checks)
}

fn seed(c: &mut Conn, keys: &[String]) {
    for k in keys {
        c.expect(&format!("SET {k} {START}"), "+OK\r\n");
    }
}

#[test]
fn txn_transfers_across_shards_keep_the_sum() {
    let server = Server::start(&["--threads", "2"]);
    let keys = accounts();
    let mut c = server.conn();
    seed(&mut c, &keys);
    let (moved, checks) = bank(
        server.port(),
        &keys,
        4,
        3,
        400,
        Arc::new(AtomicBool::new(false)),
    );
    assert!(moved > 0 && checks > 0, "moved {moved}, checked {checks}");
    let reply = c.cmd(&mget_line(&keys));
    assert_eq!(sum(&reply), START * keys.len() as i64);
}

fn mget_line(keys: &[String]) -> String {
    format!("MGET {}", keys.join(" "))
}

/// The same bank under `appendfsync always`, killed with SIGKILL while
/// transfers run: after the restart the AOF replays whole transactions only.
#[test]
fn txn_transfers_survive_sigkill_and_restart() {
    let args = [
        "--threads",
        "2",
        "--appendonly",
        "yes",
        "--appendfsync",
        "always",
    ];
    let mut server = Server::start(&args);
    let keys = accounts();
    let mut c = server.conn();
    seed(&mut c, &keys);
    let port = server.port();
    let stop = Arc::new(AtomicBool::new(false));
    let run = {
        let (keys, stop) = (keys.clone(), stop.clone());
        std::thread::spawn(move || bank(port, &keys, 4, 1, 100_000, stop))
    };
    std::thread::sleep(Duration::from_millis(700));
    server.kill();
    stop.store(true, Ordering::Relaxed);
    let (moved, _) = run.join().expect("bank threads");
    assert!(moved > 0, "no transfer ran before the kill");
    server.restart(&args);
    let mut c = server.conn();
    let reply = c.cmd(&mget_line(&keys));
    assert_eq!(
        sum(&reply),
        START * keys.len() as i64,
        "after {moved} transfers and a SIGKILL: {}",
        escape(&reply)
    );
}

/// The textbook optimistic lock: WATCH, GET, MULTI, SET value+1, EXEC,
/// retry on a nil EXEC. Concurrent clients on both event loops end with
/// the exact count.
#[test]
fn txn_watch_optimistic_incr_is_exact() {
    let server = Server::start(&["--threads", "2"]);
    const CLIENTS: usize = 8;
    const EACH: usize = 60;
    let port = server.port();
    let retries = Arc::new(AtomicUsize::new(0));
    let workers: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let retries = retries.clone();
            std::thread::spawn(move || {
                let mut c = Conn::connect(port);
                let deadline = Instant::now() + Duration::from_secs(30);
                for _ in 0..EACH {
                    loop {
                        assert!(Instant::now() < deadline, "optimistic INCR starved");
                        c.expect("WATCH counter", "+OK\r\n");
                        let v = scalar(&c.cmd("GET counter"))
                            .map(|v| String::from_utf8_lossy(&v).parse::<u64>().expect("int"))
                            .unwrap_or(0);
                        c.expect("MULTI", "+OK\r\n");
                        c.expect(&format!("SET counter {}", v + 1), "+QUEUED\r\n");
                        let exec = c.cmd("EXEC");
                        if exec == b"*1\r\n+OK\r\n" {
                            break;
                        }
                        assert_eq!(exec, b"*-1\r\n", "EXEC: {}", escape(&exec));
                        retries.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    for w in workers {
        w.join().expect("worker");
    }
    let want = format!("{}", CLIENTS * EACH);
    server
        .conn()
        .expect("GET counter", &format!("${}\r\n{want}\r\n", want.len()));
    // Contention happened (or the test proved nothing about WATCH).
    println!("retries: {}", retries.load(Ordering::Relaxed));
}
