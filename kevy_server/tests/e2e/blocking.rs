//! Blocking commands across threads: wake-up by a push from another
//! connection (on another event-loop thread), FIFO order between waiters,
//! timeouts, CLIENT UNBLOCK, blocking inside MULTI, key deletion and type
//! changes while clients wait, and a pipeline queued behind a blocked command.

use crate::util::{Conn, Server};
use std::thread;
use std::time::{Duration, Instant};

fn server() -> Server {
    Server::start(&["--threads", "2"])
}

/// Sends `line` without reading the reply.
fn send(c: &mut Conn, line: &str) {
    let args: Vec<&[u8]> = line.split(' ').map(|a| a.as_bytes()).collect();
    c.send(&args);
}

#[test]
fn push_wakes_a_waiter_on_another_thread() {
    let s = server();
    // Connections go to threads round-robin: a and b sit on different loops.
    let mut a = s.conn();
    let mut b = s.conn();
    send(&mut a, "BLPOP q 5");
    thread::sleep(Duration::from_millis(100));
    b.expect("RPUSH q hello", ":1\r\n");
    a.expect_frame(b"*2\r\n$1\r\nq\r\n$5\r\nhello\r\n");
    // The element went to the waiter: nothing is left.
    b.expect("LLEN q", ":0\r\n");
}

#[test]
fn waiters_are_served_first_come_first_served() {
    let s = server();
    let mut waiters: Vec<Conn> = (0..4).map(|_| s.conn()).collect();
    for w in waiters.iter_mut() {
        send(w, "BRPOP fifo 5");
        // Give each BRPOP time to park before the next one arrives.
        thread::sleep(Duration::from_millis(50));
    }
    let mut p = s.conn();
    p.expect("LPUSH fifo 1 2 3 4", ":4\r\n");
    // BRPOP pops from the tail: 1, 2, 3, 4 in the order the clients blocked.
    for (i, w) in waiters.iter_mut().enumerate() {
        let want = format!("*2\r\n$4\r\nfifo\r\n$1\r\n{}\r\n", i + 1);
        w.expect_frame(want.as_bytes());
    }
}

#[test]
fn timeout_answers_null_and_client_unblock_works() {
    let s = server();
    let mut a = s.conn();
    let t0 = Instant::now();
    a.expect("BLPOP nothing 0.2", "*-1\r\n");
    assert!(
        t0.elapsed() >= Duration::from_millis(150),
        "returned too early: {:?}",
        t0.elapsed()
    );
    let id = a.cmd_str("CLIENT ID");
    let id = id.trim().trim_start_matches(':').to_string();
    send(&mut a, "BLPOP nothing 0");
    thread::sleep(Duration::from_millis(100));
    let mut b = s.conn();
    b.expect(&format!("CLIENT UNBLOCK {id}"), ":1\r\n");
    a.expect_frame(b"*-1\r\n");
    send(&mut a, "BLPOP nothing 0");
    thread::sleep(Duration::from_millis(100));
    b.expect(&format!("CLIENT UNBLOCK {id} ERROR"), ":1\r\n");
    a.expect_frame(b"-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n");
    b.expect(&format!("CLIENT UNBLOCK {id}"), ":0\r\n");
}

#[test]
fn blocking_inside_multi_does_not_block() {
    let s = server();
    let mut a = s.conn();
    a.expect("MULTI", "+OK\r\n");
    a.expect("BLPOP empty 0", "+QUEUED\r\n");
    a.expect("EXEC", "*1\r\n*-1\r\n");
}

#[test]
fn deleted_or_retyped_key_keeps_the_client_waiting() {
    let s = server();
    let mut a = s.conn();
    let mut b = s.conn();
    send(&mut a, "BLPOP k 5");
    thread::sleep(Duration::from_millis(100));
    // A string under the key does not serve (or error) the waiter.
    b.expect("SET k notalist", "+OK\r\n");
    b.expect("DEL k", ":1\r\n");
    b.expect("RPUSH k finally", ":1\r\n");
    a.expect_frame(b"*2\r\n$1\r\nk\r\n$7\r\nfinally\r\n");
}

#[test]
fn pipeline_behind_a_blocked_command_runs_after_it() {
    let s = server();
    let mut a = s.conn();
    let mut b = s.conn();
    a.send_raw(b"*3\r\n$5\r\nBLPOP\r\n$2\r\npq\r\n$1\r\n5\r\n*1\r\n$4\r\nPING\r\n");
    thread::sleep(Duration::from_millis(100));
    b.expect("RPUSH pq x", ":1\r\n");
    a.expect_frame(b"*2\r\n$2\r\npq\r\n$1\r\nx\r\n");
    a.expect_frame(b"+PONG\r\n");
}

#[test]
fn blmove_chain_and_many_concurrent_waiters() {
    let s = server();
    // Ten waiters on two threads, fed by a producer: every element is
    // delivered exactly once.
    let port = s.port();
    let handles: Vec<_> = (0..10)
        .map(|_| {
            thread::spawn(move || {
                let mut c = Conn::connect(port);
                c.set_read_timeout(Duration::from_secs(10));
                let r = c.cmd("BLMOVE src dst LEFT RIGHT 5");
                String::from_utf8_lossy(&r).into_owned()
            })
        })
        .collect();
    thread::sleep(Duration::from_millis(200));
    let mut p = s.conn();
    for i in 0..10 {
        p.cmd(&format!("RPUSH src e{i}"));
    }
    let mut got: Vec<String> = handles
        .into_iter()
        .map(|h| h.join().unwrap_or_default())
        .collect();
    got.sort();
    let mut want: Vec<String> = (0..10).map(|i| format!("$2\r\ne{i}\r\n")).collect();
    want.sort();
    assert_eq!(got, want);
    p.expect("LLEN dst", ":10\r\n");
    p.expect("LLEN src", ":0\r\n");
}
