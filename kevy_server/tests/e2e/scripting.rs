//! Scripts are atomic across shards: money moves between accounts that
//! live on different shards, by scripts that declare their keys and by
//! scripts that touch keys they did not declare (which must take more
//! shards while they run, or start again holding them all), and the total
//! is the same at every read, during the run and after a SIGKILL and a
//! restart under `appendfsync always`. Function libraries survive a
//! restart.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::util::{elements, escape, scalar, Conn, Server};

const ACCOUNTS: usize = 8;
const START: i64 = 1000;

/// Moves ARGV[1] from KEYS[1] to KEYS[2] if KEYS[1] has it.
const MOVE_DECLARED: &str = "local a = tonumber(redis.call('get', KEYS[1])) \
    local n = tonumber(ARGV[1]) \
    if a >= n then redis.call('decrby', KEYS[1], n) redis.call('incrby', KEYS[2], n) return 1 end \
    return 0";

/// The same, naming the accounts in ARGV only (undeclared keys, as
/// Sidekiq's and BullMQ's scripts do).
const MOVE_UNDECLARED: &str = "local a = tonumber(redis.call('get', ARGV[1])) \
    local n = tonumber(ARGV[3]) \
    if a >= n then redis.call('decrby', ARGV[1], n) redis.call('incrby', ARGV[2], n) return 1 end \
    return 0";

/// The total of every account (declared keys).
const SUM: &str =
    "local s = 0 for i = 1, #KEYS do s = s + tonumber(redis.call('get', KEYS[i])) end return s";

fn account(i: usize) -> String {
    format!("acct:{i}")
}

fn int(reply: &[u8]) -> i64 {
    let s = String::from_utf8_lossy(reply);
    s.trim_start_matches(':')
        .trim_end()
        .parse()
        .unwrap_or_else(|_| panic!("not an integer: {}", escape(reply)))
}

/// The total as a script sees it, and as MGET sees it.
fn totals(c: &mut Conn) -> (i64, i64) {
    let keys: Vec<String> = (0..ACCOUNTS).map(account).collect();
    let mut args: Vec<&[u8]> = vec![b"EVAL", SUM.as_bytes()];
    let n = ACCOUNTS.to_string();
    args.push(n.as_bytes());
    args.extend(keys.iter().map(|k| k.as_bytes()));
    c.send(&args);
    let by_script = int(&c.read_frame());
    let mut m: Vec<&[u8]> = vec![b"MGET"];
    m.extend(keys.iter().map(|k| k.as_bytes()));
    c.send(&m);
    let reply = c.read_frame();
    let (_, items) = elements(&reply).unwrap_or_else(|| panic!("MGET: {}", escape(&reply)));
    let by_mget = items
        .iter()
        .map(|i| {
            let v = scalar(i).unwrap_or_default();
            String::from_utf8_lossy(&v).parse::<i64>().unwrap_or(0)
        })
        .sum();
    (by_script, by_mget)
}

/// Writers move money with both scripts until `stop`; returns the moves made.
fn mover(port: u16, seed: usize, stop: Arc<AtomicBool>, moves: Arc<AtomicUsize>) {
    let mut c = Conn::connect(port);
    let mut x = seed as u64 * 2_654_435_761 + 1;
    while !stop.load(Ordering::Relaxed) {
        x = x
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let from = account((x >> 33) as usize % ACCOUNTS);
        let to = account((x >> 40) as usize % ACCOUNTS);
        let amount = ((x >> 50) % 50 + 1).to_string();
        let reply = if x & 1 == 0 {
            c.send(&[
                b"EVAL",
                MOVE_DECLARED.as_bytes(),
                b"2",
                from.as_bytes(),
                to.as_bytes(),
                amount.as_bytes(),
            ]);
            c.read_frame()
        } else {
            c.send(&[
                b"EVAL",
                MOVE_UNDECLARED.as_bytes(),
                b"0",
                from.as_bytes(),
                to.as_bytes(),
                amount.as_bytes(),
            ]);
            c.read_frame()
        };
        assert!(
            reply == b":1\r\n" || reply == b":0\r\n",
            "move: {}",
            escape(&reply)
        );
        moves.fetch_add(1, Ordering::Relaxed);
    }
}

fn setup(c: &mut Conn) {
    for i in 0..ACCOUNTS {
        c.expect(&format!("SET {} {START}", account(i)), "+OK\r\n");
    }
}

/// Runs movers and a checking reader for `secs`; returns the moves made.
fn run_and_check(port: u16, writers: usize, secs: u64) -> usize {
    let stop = Arc::new(AtomicBool::new(false));
    let moves = Arc::new(AtomicUsize::new(0));
    let handles: Vec<_> = (0..writers)
        .map(|w| {
            let (stop, moves) = (stop.clone(), moves.clone());
            std::thread::spawn(move || mover(port, w, stop, moves))
        })
        .collect();
    let mut reader = Conn::connect(port);
    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut checks = 0;
    while Instant::now() < deadline {
        let (s, m) = totals(&mut reader);
        assert_eq!(
            (s, m),
            (START * ACCOUNTS as i64, START * ACCOUNTS as i64),
            "a reader saw half a move"
        );
        checks += 1;
    }
    stop.store(true, Ordering::Relaxed);
    for h in handles {
        h.join().expect("mover");
    }
    assert!(checks > 10, "only {checks} checks ran");
    moves.load(Ordering::Relaxed)
}

#[test]
fn scripts_are_atomic_across_shards() {
    // Four shards over two loops: declared keys rarely cover every shard,
    // so runs take locks as they go and restart when one is busy.
    let server = Server::start(&["--threads", "2", "--shards", "4"]);
    let mut c = server.conn();
    setup(&mut c);
    let moves = run_and_check(server.port(), 4, 3);
    assert!(moves > 100, "only {moves} moves ran");
    let (s, _) = totals(&mut c);
    assert_eq!(s, START * ACCOUNTS as i64);
}

#[test]
fn scripts_survive_sigkill_whole_or_not_at_all() {
    let args = [
        "--threads",
        "2",
        "--shards",
        "4",
        "--appendonly",
        "yes",
        "--appendfsync",
        "always",
    ];
    let mut server = Server::start(&args);
    let mut c = server.conn();
    setup(&mut c);
    let port = server.port();
    let stop = Arc::new(AtomicBool::new(false));
    let moves = Arc::new(AtomicUsize::new(0));
    let handles: Vec<_> = (0..4)
        .map(|w| {
            let (stop, moves) = (stop.clone(), moves.clone());
            std::thread::spawn(move || {
                // The connection breaks when the server dies: stop there.
                let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    mover(port, w, stop, moves)
                }));
                drop(r);
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(800));
    server.kill();
    stop.store(true, Ordering::Relaxed);
    for h in handles {
        let _ = h.join();
    }
    assert!(
        moves.load(Ordering::Relaxed) > 20,
        "too few moves before the kill"
    );
    server.restart(&args);
    let mut c = server.conn();
    let (s, m) = totals(&mut c);
    assert_eq!(
        (s, m),
        (START * ACCOUNTS as i64, START * ACCOUNTS as i64),
        "a script was half replayed"
    );
}

#[test]
fn function_libraries_survive_a_restart() {
    let args = ["--appendonly", "yes"];
    let mut server = Server::start(&args);
    let mut c = server.conn();
    c.expect(
        "FUNCTION LOAD \"#!lua name=keep\\nredis.register_function('kept', function(keys, args) return args[1] end)\"",
        "$4\r\nkeep\r\n",
    );
    c.expect("FCALL kept 0 hello", "$5\r\nhello\r\n");
    let list = c.cmd("FUNCTION LIST WITHCODE");
    server.kill();
    server.restart(&args);
    let mut c = server.conn();
    c.expect("FCALL kept 0 again", "$5\r\nagain\r\n");
    assert_eq!(c.cmd("FUNCTION LIST WITHCODE"), list);
    c.expect("FUNCTION DELETE keep", "+OK\r\n");
    server.restart(&args);
    let mut c = server.conn();
    c.expect("FUNCTION LIST", "*0\r\n");
    c.expect("FCALL kept 0 x", "-ERR Function not found\r\n");
}

#[test]
fn evalsha_works_on_every_event_loop() {
    let server = Server::start(&["--threads", "2"]);
    let mut a = server.conn();
    let sha = a.cmd("SCRIPT LOAD 'return ARGV[1]'");
    let sha = String::from_utf8_lossy(&scalar(&sha).expect("sha")).into_owned();
    // Connections are spread over the loops: one of these is on the other.
    for i in 0..4 {
        let mut c = server.conn();
        c.expect(&format!("EVALSHA {sha} 0 v{i}"), &format!("$2\r\nv{i}\r\n"));
    }
    a.expect("SCRIPT FLUSH", "+OK\r\n");
    for _ in 0..4 {
        let mut c = server.conn();
        c.expect(
            &format!("EVALSHA {sha} 0 x"),
            "-NOSCRIPT No matching script. Please use EVAL.\r\n",
        );
    }
}
