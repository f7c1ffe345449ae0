//! The process: start-up on an ephemeral port, clean exit on SIGTERM and on
//! SHUTDOWN NOSAVE, the real Redis tools (redis-cli, redis-benchmark)
//! working against it unchanged, and a client's half-close.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::util::{escape, have_binary, Server};

#[test]
fn port_zero_prints_the_port_it_listens_on() {
    // Server::start waits for the `listening on 127.0.0.1:<port>` line.
    let server = Server::start(&[]);
    assert_ne!(server.port(), 0);
    server.conn().expect("PING", "+PONG\r\n");
    // Two servers side by side get different ports.
    let other = Server::start(&[]);
    assert_ne!(server.port(), other.port());
    other.conn().expect("PING", "+PONG\r\n");
}

#[test]
fn sigterm_exits_cleanly() {
    let mut server = Server::start(&["--threads", "2"]);
    let mut c = server.conn();
    c.expect("SET a 1", "+OK\r\n");
    let started = Instant::now();
    let status = server.terminate(Duration::from_secs(5));
    let status =
        status.unwrap_or_else(|| panic!("no exit within 5 s of SIGTERM:\n{}", server.output()));
    assert!(
        status.success(),
        "exit status {status:?} after SIGTERM:\n{}",
        server.output()
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(c.is_closed_within(Duration::from_secs(5)));
}

#[test]
fn sigint_exits_cleanly() {
    let mut server = Server::start(&[]);
    server.conn().cmd("PING");
    server.signal(libc::SIGINT);
    let status = server.wait_exit(Duration::from_secs(5));
    let status =
        status.unwrap_or_else(|| panic!("no exit within 5 s of SIGINT:\n{}", server.output()));
    assert!(
        status.success(),
        "exit status {status:?} after SIGINT:\n{}",
        server.output()
    );
}

#[test]
fn shutdown_nosave_closes_everything() {
    let mut server = Server::start(&["--threads", "2"]);
    let mut idle = server.conn();
    let mut c = server.conn();
    c.expect("PING", "+PONG\r\n");
    let reply = c.cmd("SHUTDOWN BOGUS");
    assert_eq!(escape(&reply), escape(b"-ERR syntax error\r\n"));
    c.expect("PING", "+PONG\r\n");
    c.send_raw(b"SHUTDOWN NOSAVE\r\n");
    // On success Redis sends no reply: the connection just closes.
    assert!(
        c.is_closed_within(Duration::from_secs(5)),
        "connection left open"
    );
    assert!(
        idle.is_closed_within(Duration::from_secs(5)),
        "other connection left open"
    );
    let status = server.wait_exit(Duration::from_secs(5));
    let status =
        status.unwrap_or_else(|| panic!("no exit within 5 s of SHUTDOWN:\n{}", server.output()));
    assert!(
        status.success(),
        "exit status {status:?} after SHUTDOWN:\n{}",
        server.output()
    );
}

/// Runs `cmd` with a deadline; returns (success, stdout, stderr).
fn run_tool(cmd: &mut Command, timeout: Duration) -> (bool, String, String) {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn tool");
    let out = child.stdout.take().expect("stdout");
    let err = child.stderr.take().expect("stderr");
    let read = |mut r: Box<dyn std::io::Read + Send>| {
        std::thread::spawn(move || {
            let mut s = String::new();
            let _ = r.read_to_string(&mut s);
            s
        })
    };
    let (out, err) = (read(Box::new(out)), read(Box::new(err)));
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Ok(Some(status)) = child.try_wait() {
            break Some(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let (out, err) = (
        out.join().unwrap_or_default(),
        err.join().unwrap_or_default(),
    );
    match status {
        Some(s) => (s.success(), out, err),
        None => (false, out, format!("{err}\n<killed after {timeout:?}>")),
    }
}

#[test]
fn redis_cli_works() {
    if !have_binary("redis-cli") {
        println!("skipping: redis-cli not found");
        return;
    }
    let server = Server::start(&[]);
    let port = server.port().to_string();
    let cli = |args: &[&str]| {
        let (ok, out, err) = run_tool(
            Command::new("redis-cli")
                .args(["-h", "127.0.0.1", "-p", &port])
                .args(args),
            Duration::from_secs(30),
        );
        assert!(ok, "redis-cli {args:?} failed: {out} {err}");
        out
    };
    assert_eq!(cli(&["ping"]), "PONG\n");
    assert_eq!(cli(&["set", "greeting", "hello world"]), "OK\n");
    assert_eq!(cli(&["get", "greeting"]), "hello world\n");
    assert_eq!(cli(&["incr", "n"]), "1\n");
    assert_eq!(cli(&["get", "missing"]), "\n");
    assert_eq!(cli(&["-3", "get", "missing"]), "\n");
    assert_eq!(cli(&["--no-raw", "get", "missing"]), "(nil)\n");
    assert_eq!(cli(&["dbsize"]), "2\n");
    // Interactive mode reads commands from stdin.
    let mut child = Command::new("redis-cli")
        .args(["-h", "127.0.0.1", "-p", &port])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn redis-cli");
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().expect("stdin");
        stdin
            .write_all(b"set piped yes\nget piped\n")
            .expect("write stdin");
    }
    let out = child.wait_with_output().expect("redis-cli output");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "OK\nyes\n");
}

#[test]
fn redis_benchmark_runs_without_errors() {
    if !have_binary("redis-benchmark") {
        println!("skipping: redis-benchmark not found");
        return;
    }
    let server = Server::start(&[]);
    let port = server.port().to_string();
    for pipeline in ["16", "1"] {
        let (ok, out, err) = run_tool(
            Command::new("redis-benchmark").args([
                "-h",
                "127.0.0.1",
                "-p",
                &port,
                "-t",
                "set,get,incr,mset",
                "-n",
                "20000",
                "-c",
                "20",
                "-P",
                pipeline,
                "-q",
            ]),
            Duration::from_secs(240),
        );
        assert!(ok, "redis-benchmark -P {pipeline} failed:\n{out}\n{err}");
        assert!(
            err.trim().is_empty(),
            "redis-benchmark -P {pipeline} stderr:\n{err}"
        );
        assert!(
            !out.contains("rror"),
            "redis-benchmark -P {pipeline} output:\n{out}"
        );
        for test in ["SET", "GET", "INCR", "MSET"] {
            assert!(
                // -q still draws progress lines ending in '\r'.
                out.split(['\r', '\n'])
                    .any(|l| l.trim_start().starts_with(test) && l.contains("requests per second")),
                "redis-benchmark -P {pipeline}: no {test} result in:\n{out}"
            );
        }
    }
    // The benchmark's keys are really there.
    server
        .conn()
        .expect("EXISTS key:__rand_int__ counter:__rand_int__", ":2\r\n");
}

#[test]
fn restart_keeps_the_data_dir() {
    let mut server = Server::start(&["--threads", "2"]);
    let dir = server.dir().to_path_buf();
    std::fs::write(dir.join("marker"), b"kept").expect("write marker");
    server.restart(&["--threads", "1"]);
    assert_eq!(server.dir(), dir);
    assert!(dir.join("marker").exists(), "data dir was not kept");
    server.conn().expect("PING", "+PONG\r\n");
    // And the dir goes away with the server.
    drop(server);
    assert!(!dir.exists(), "data dir left behind");
}

#[test]
fn a_half_closed_client_gets_its_replies_then_the_server_closes() {
    // The client sends a pipeline and shuts its sending side at once: the
    // server must still answer everything and then close (as Redis does),
    // not keep the connection waiting for an end it was told about once.
    let server = Server::start(&[]);
    let mut s = TcpStream::connect(("127.0.0.1", server.port())).unwrap();
    s.write_all(b"SET h 1\r\nINCR h\r\nGET h\r\n").unwrap();
    s.shutdown(std::net::Shutdown::Write).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut got = Vec::new();
    s.read_to_end(&mut got)
        .expect("the server closes within 5 s");
    assert_eq!(escape(&got), escape(b"+OK\r\n:2\r\n$1\r\n2\r\n"));
}
