//! Busy scripts: past `busy-reply-threshold` every other client gets BUSY
//! (whether it shares the script's event loop or not), SCRIPT KILL and
//! FUNCTION KILL stop a script that has not written, one that has written
//! is UNKILLABLE, and SHUTDOWN NOSAVE still stops the server without
//! keeping half of that script.

use std::time::Duration;

use crate::util::{escape, Conn, Server};

const BUSY_EVAL: &str =
    "-BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.\r\n";
const BUSY_FUNCTION: &str =
    "-BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.\r\n";
const LOOP: &str = "local a = 1 while true do a = a + 1 end";

/// The SHA1 the server names `body` by (its SCRIPT LOAD reply).
fn sha1(c: &mut Conn, body: &str) -> String {
    let r = c.cmd(&format!("SCRIPT LOAD '{body}'"));
    String::from_utf8_lossy(&r[5..45]).into_owned()
}

/// Clients connected before the script starts, on every loop.
fn others(server: &Server) -> Vec<Conn> {
    (0..3).map(|_| server.conn()).collect()
}

fn wait_busy(c: &mut Conn, busy: &str) {
    for _ in 0..100 {
        let r = c.cmd("PING");
        if r == busy.as_bytes() {
            return;
        }
        assert_eq!(r, b"+PONG\r\n", "unexpected reply {}", escape(&r));
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("the script never became busy");
}

fn kill_eval(threads: &str) {
    let server = Server::start(&["--threads", threads]);
    let mut cfg = server.conn();
    cfg.expect("CONFIG SET busy-reply-threshold 50", "+OK\r\n");
    let sha = sha1(&mut cfg, LOOP);
    let mut others = others(&server);
    let mut runner = server.conn();
    runner.send(&[b"EVAL", LOOP.as_bytes(), b"0"]);
    wait_busy(&mut others[0], BUSY_EVAL);
    for o in others.iter_mut() {
        o.expect("PING", BUSY_EVAL);
        o.expect("GET x", BUSY_EVAL);
    }
    others[1].expect("FUNCTION KILL", BUSY_EVAL);
    others[1].expect("FUNCTION STATS", BUSY_EVAL);
    others[1].expect("SCRIPT KILL", "+OK\r\n");
    runner.expect_frame(
        format!(
            "-ERR Script killed by user with SCRIPT KILL... script: {sha}, on @user_script:1.\r\n"
        )
        .as_bytes(),
    );
    for o in others.iter_mut() {
        o.expect("PING", "+PONG\r\n");
    }
    runner.expect("PING", "+PONG\r\n");
    others[2].expect(
        "SCRIPT KILL",
        "-NOTBUSY No scripts in execution right now.\r\n",
    );
}

#[test]
fn script_kill_on_the_scripts_own_loop() {
    kill_eval("1");
}

#[test]
fn script_kill_across_loops() {
    kill_eval("2");
}

#[test]
fn function_kill_and_stats() {
    let server = Server::start(&["--threads", "1"]);
    let mut c = server.conn();
    c.expect("CONFIG SET busy-reply-threshold 50", "+OK\r\n");
    c.expect(
        &format!("FUNCTION LOAD \"#!lua name=t\\nredis.register_function('spin', function() {LOOP} end)\""),
        "$1\r\nt\r\n",
    );
    let mut runner = server.conn();
    runner.send(&[b"FCALL", b"spin", b"0"]);
    wait_busy(&mut c, BUSY_FUNCTION);
    c.expect("SCRIPT KILL", BUSY_FUNCTION);
    let stats = String::from_utf8_lossy(&c.cmd("FUNCTION STATS")).into_owned();
    assert!(
        stats.starts_with("*4\r\n$14\r\nrunning_script\r\n*6\r\n$4\r\nname\r\n$4\r\nspin\r\n$7\r\ncommand\r\n*3\r\n$5\r\nFCALL\r\n$4\r\nspin\r\n$1\r\n0\r\n$11\r\nduration_ms\r\n:"),
        "{stats}"
    );
    c.expect("FUNCTION KILL", "+OK\r\n");
    runner.expect_frame(
        b"-ERR Script killed by user with SCRIPT KILL... script: spin, on @user_function:2.\r\n",
    );
    c.expect("PING", "+PONG\r\n");
}

#[test]
fn a_script_that_wrote_is_unkillable_but_shutdown_nosave_ends_it() {
    let args = [
        "--threads",
        "1",
        "--appendonly",
        "yes",
        "--appendfsync",
        "always",
    ];
    let mut server = Server::start(&args);
    let mut c = server.conn();
    c.expect("CONFIG SET busy-reply-threshold 50", "+OK\r\n");
    c.expect("SET before 1", "+OK\r\n");
    let mut runner = server.conn();
    let body = format!("redis.call('set', 'half', 'written') {LOOP}");
    runner.send(&[b"EVAL", body.as_bytes(), b"0"]);
    wait_busy(&mut c, BUSY_EVAL);
    let unkillable = "-UNKILLABLE Sorry the script already executed write commands against the dataset. You can either wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command.\r\n";
    c.expect("SCRIPT KILL", unkillable);
    c.expect("PING", BUSY_EVAL);
    c.send(&[b"SHUTDOWN", b"NOSAVE"]);
    assert!(
        c.is_closed_within(Duration::from_secs(10)),
        "SHUTDOWN NOSAVE did not close"
    );
    assert!(
        server.wait_exit(Duration::from_secs(10)).is_some(),
        "the server did not exit"
    );
    server.restart(&args);
    let mut c = server.conn();
    c.expect("GET before", "$1\r\n1\r\n");
    // The script never finished: none of it was kept.
    c.expect("GET half", "$-1\r\n");
}
