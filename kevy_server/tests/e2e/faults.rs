//! Disk faults a tmpfs cannot make, through the binary's fault seam
//! (`KEVYTEST_FAULT_FILE`: kevy_persist's `FaultFs`, re-read whenever the
//! file changes): an fsync that fails, and an fsync that takes seconds.
//! A failed fsync is never retried on the same file: the writes it carried
//! are undone (`always`) and writes are refused until a checkpoint has
//! written the state again from memory into a new generation; nothing
//! acknowledged is lost and nothing refused comes back after a restart. A
//! slow fsync delays only the replies that wait for it.

use super::diskfull::info_field;
use crate::util::{selftest, temp_dir, Conn, Server};
use std::path::PathBuf;
use std::time::{Duration, Instant};

struct Faulty {
    server: Server,
    file: PathBuf,
    args: Vec<String>,
}

impl Faulty {
    fn start(args: &[&str]) -> Option<Faulty> {
        if selftest() {
            return None; // kevy's own seam.
        }
        let file = temp_dir("faults").join("faults");
        std::fs::write(&file, "").unwrap();
        let env = [("KEVYTEST_FAULT_FILE", file.to_str().unwrap())];
        let server = Server::start_with_env(args, &env);
        Some(Faulty {
            server,
            file,
            args: args.iter().map(|s| s.to_string()).collect(),
        })
    }

    /// Sets the faults and waits for the server to pick them up.
    fn set(&self, faults: &str) {
        std::fs::write(&self.file, faults).unwrap();
        std::thread::sleep(Duration::from_millis(150));
    }

    fn kill_and_restart(&mut self) {
        self.set("");
        self.server.kill();
        let args: Vec<&str> = self.args.iter().map(String::as_str).collect();
        self.server.restart(&args);
    }
}

/// Sends `line` until the reply satisfies `ok` (bounded).
fn until(c: &mut Conn, line: &str, ok: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let got = String::from_utf8_lossy(&c.cmd(line)).into_owned();
        if ok(&got) {
            return got;
        }
        assert!(Instant::now() < deadline, "{line}: still {got:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

const MISCONF_EIO: &str = "-MISCONF Errors writing to the AOF file: Input/output error\r\n";

#[test]
fn faults_failed_fsync_under_always_undoes_and_waits_for_a_checkpoint() {
    let a = [
        "--appendonly",
        "yes",
        "--appendfsync",
        "always",
        "--save",
        "",
    ];
    let Some(mut f) = Faulty::start(&a) else {
        return;
    };
    let mut c = f.server.conn();
    c.expect("SET a 1", "+OK\r\n");
    f.set("fail-sync\nonly appendonly");
    c.expect("SET b 2", MISCONF_EIO);
    c.expect("GET b", "$-1\r\n");
    c.expect("GET a", "$1\r\n1\r\n");
    c.expect("SET c 3", MISCONF_EIO);
    assert_eq!(info_field(&mut c, "aof_last_write_status"), "err");
    // A crash now must not bring back "b", whose bytes reached the file
    // before its fsync failed.
    f.kill_and_restart();
    let mut c = f.server.conn();
    c.expect("MGET a b", "*2\r\n$1\r\n1\r\n$-1\r\n");
    f.set("fail-sync\nonly appendonly");
    c.expect("SET b 2", MISCONF_EIO);
    // The disk works again, but the failed file is not trusted: writes
    // resume once a checkpoint wrote the state into a new generation.
    f.set("");
    until(&mut c, "SET c 3", |r| r == "+OK\r\n");
    assert_eq!(info_field(&mut c, "aof_last_write_status"), "ok");
    assert!(f.server.output().contains("Input/output error"));
    f.kill_and_restart();
    let mut c = f.server.conn();
    c.expect("MGET a b c", "*3\r\n$1\r\n1\r\n$-1\r\n$1\r\n3\r\n");
}

#[test]
fn faults_failed_fsync_under_everysec_keeps_what_was_acknowledged() {
    let a = [
        "--appendonly",
        "yes",
        "--appendfsync",
        "everysec",
        "--save",
        "",
    ];
    let Some(mut f) = Faulty::start(&a) else {
        return;
    };
    let mut c = f.server.conn();
    f.set("fail-sync\nonly appendonly");
    // Acknowledged (everysec), then the background fsync fails.
    c.expect("SET kept 1", "+OK\r\n");
    until(&mut c, "SET probe 1", |r| r == MISCONF_EIO);
    c.expect("GET kept", "$1\r\n1\r\n");
    f.set("");
    until(&mut c, "SET after 1", |r| r == "+OK\r\n");
    f.kill_and_restart();
    let mut c = f.server.conn();
    c.expect("MGET kept after", "*2\r\n$1\r\n1\r\n$1\r\n1\r\n");
}

#[test]
fn faults_slow_fsync_delays_only_the_replies_that_wait_for_it() {
    let a = [
        "--threads",
        "1",
        "--appendonly",
        "yes",
        "--appendfsync",
        "always",
        "--save",
        "",
    ];
    let Some(f) = Faulty::start(&a) else { return };
    let mut c = f.server.conn();
    c.expect("CONFIG SET latency-monitor-threshold 100", "+OK\r\n");
    c.expect("SET durable 1", "+OK\r\n");
    f.set("sync-delay-ms 1500\nonly appendonly");
    let mut w = f.server.conn();
    let t0 = Instant::now();
    w.send(&[b"SET", b"slow", b"2"]);
    std::thread::sleep(Duration::from_millis(200));
    // Same event loop, same or other shard: a read of durable data and
    // other commands answer while the fsync runs.
    let mut r = f.server.conn();
    let t1 = Instant::now();
    r.expect("GET durable", "$1\r\n1\r\n");
    r.expect("PING", "+PONG\r\n");
    let stalled: u64 = info_field(&mut r, "kevy_aof_fsync_in_progress_ms")
        .parse()
        .unwrap();
    assert!(
        t1.elapsed() < Duration::from_millis(1000),
        "{:?}",
        t1.elapsed()
    );
    assert!(stalled > 0, "INFO shows no fsync in progress");
    // A read of the pending write waits for it (never sees it before).
    let mut p = f.server.conn();
    p.send(&[b"GET", b"slow"]);
    assert_eq!(w.read_frame(), b"+OK\r\n");
    assert!(t0.elapsed() >= Duration::from_millis(1400));
    assert_eq!(p.read_frame(), b"$1\r\n2\r\n");
    f.set("");
    let latest = String::from_utf8_lossy(&r.cmd("LATENCY LATEST")).into_owned();
    assert!(latest.contains("aof-fsync-always"), "{latest}");
    let max: u64 = info_field(&mut r, "kevy_aof_max_fsync_ms").parse().unwrap();
    assert!(max >= 1400, "kevy_aof_max_fsync_ms {max}");
}
