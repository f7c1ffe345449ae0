//! Persistence through the real binary: restart after SIGKILL recovers every
//! acknowledged write, a different `--threads` loads the same data, runtime
//! CONFIG SET of appendfsync/appendonly, BGSAVE while clients write,
//! SHUTDOWN saving, torn tails quarantined at start-up, damaged files
//! refused, and `--check-aof`.

use crate::util::{selftest, Server};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const AOF_ALWAYS: &[&str] = &[
    "--appendonly",
    "yes",
    "--appendfsync",
    "always",
    "--save",
    "",
];

fn info_field(s: &Server, field: &str) -> String {
    let text = s.conn().cmd_str("INFO persistence");
    text.lines()
        .find_map(|l| {
            l.strip_prefix(&format!("{field}:"))
                .map(|v| v.trim().to_string())
        })
        .unwrap_or_else(|| panic!("no {field} in INFO: {text}"))
}

fn wait_idle(s: &Server) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while info_field(s, "rdb_bgsave_in_progress") != "0"
        || info_field(s, "aof_rewrite_in_progress") != "0"
    {
        assert!(Instant::now() < deadline, "background job did not end");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The AOF files the manifest names, in order.
fn aof_files(dir: &Path) -> Vec<PathBuf> {
    let m = std::fs::read_to_string(dir.join("kevy.manifest")).expect("manifest");
    m.lines()
        .filter_map(|l| l.strip_prefix("aof "))
        .map(|l| dir.join(l.split(' ').nth(1).unwrap_or("")))
        .collect()
}

#[test]
fn persist_restart_after_sigkill_recovers_acknowledged_writes() {
    if selftest() {
        return; // kevy's file layout; redis-server has its own.
    }
    let mut s = Server::start(&[AOF_ALWAYS, &["--threads", "2"]].concat());
    let mut c = s.conn();
    c.expect("SET a 1", "+OK\r\n");
    c.expect("INCR counter", ":1\r\n");
    c.expect("INCR counter", ":2\r\n");
    c.expect("MSET {x}1 one {x}2 two zz three", "+OK\r\n");
    c.expect("SET vol v PX 100000", "+OK\r\n");
    c.expect("RENAME a b", "+OK\r\n");
    c.expect("SELECT 3", "+OK\r\n");
    c.expect("SET indb3 yes", "+OK\r\n");
    s.kill();
    s.restart(&[AOF_ALWAYS, &["--threads", "2"]].concat());
    let mut c = s.conn();
    c.expect(
        "MGET a b counter {x}1 {x}2 zz",
        "*6\r\n$-1\r\n$1\r\n1\r\n$1\r\n2\r\n$3\r\none\r\n$3\r\ntwo\r\n$5\r\nthree\r\n",
    );
    let pttl: i64 = c
        .cmd_str("PTTL vol")
        .trim_start_matches(':')
        .trim()
        .parse()
        .unwrap_or(-3);
    assert!(pttl > 90_000 && pttl <= 100_000, "PTTL {pttl}");
    c.expect("SELECT 3", "+OK\r\n");
    c.expect("GET indb3", "$3\r\nyes\r\n");
}

#[test]
fn persist_different_threads_load_the_same_data() {
    if selftest() {
        return;
    }
    let mut s = Server::start(&[AOF_ALWAYS, &["--threads", "2"]].concat());
    let mut c = s.conn();
    for i in 0..300 {
        c.expect(&format!("SET key:{i} val:{i}"), "+OK\r\n");
    }
    c.expect("BGSAVE", "+Background saving started\r\n");
    for i in 300..400 {
        c.expect(&format!("SET key:{i} val:{i}"), "+OK\r\n");
    }
    wait_idle(&s);
    for (round, threads) in ["3", "1", "4"].into_iter().enumerate() {
        s.kill();
        s.restart(&[AOF_ALWAYS, &["--threads", threads]].concat());
        let mut c = s.conn();
        // 400 keys plus one `after:` key per earlier round.
        c.expect("DBSIZE", &format!(":{}\r\n", 400 + round));
        for i in (0..400).step_by(37) {
            c.expect(
                &format!("GET key:{i}"),
                &format!("${}\r\nval:{i}\r\n", format!("val:{i}").len()),
            );
        }
        c.expect(&format!("SET after:{threads} 1"), "+OK\r\n");
    }
}

#[test]
fn persist_config_set_appendfsync_and_appendonly_at_runtime() {
    if selftest() {
        return;
    }
    let mut s = Server::start(&["--save", "", "--threads", "2"]);
    let mut c = s.conn();
    c.expect("SET before 1", "+OK\r\n");
    assert_eq!(info_field(&s, "aof_enabled"), "0");
    c.expect("CONFIG SET appendonly yes", "+OK\r\n");
    wait_idle(&s);
    assert_eq!(info_field(&s, "aof_enabled"), "1");
    c.expect("CONFIG SET appendfsync always", "+OK\r\n");
    c.expect("SET during 2", "+OK\r\n");
    c.expect("CONFIG SET appendfsync everysec", "+OK\r\n");
    c.expect("SET lazy 3", "+OK\r\n");
    c.expect("CONFIG SET appendfsync always", "+OK\r\n");
    c.expect("SET last 4", "+OK\r\n");
    s.kill();
    s.restart(&["--appendonly", "yes", "--save", "", "--threads", "2"]);
    s.conn().expect(
        "MGET before during lazy last",
        "*4\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n$1\r\n4\r\n",
    );
}

#[test]
fn persist_bgsave_while_writing_then_restart() {
    if selftest() {
        return;
    }
    let mut s = Server::start(&["--save", "", "--threads", "2"]);
    let mut c = s.conn();
    let before: i64 = c
        .cmd_str("LASTSAVE")
        .trim_start_matches(':')
        .trim()
        .parse()
        .unwrap_or(0);
    for i in 0..2000 {
        c.send(&[b"SET", format!("k{i}").as_bytes(), b"old"]);
    }
    for _ in 0..2000 {
        c.read_frame();
    }
    std::thread::sleep(Duration::from_millis(1100));
    c.expect("BGSAVE", "+Background saving started\r\n");
    // Writes while the snapshot is written change the live data only.
    for i in 0..2000 {
        c.send(&[b"SET", format!("k{i}").as_bytes(), b"new"]);
    }
    for _ in 0..2000 {
        c.read_frame();
    }
    wait_idle(&s);
    assert_eq!(info_field(&s, "rdb_last_bgsave_status"), "ok");
    let after: i64 = c
        .cmd_str("LASTSAVE")
        .trim_start_matches(':')
        .trim()
        .parse()
        .unwrap_or(0);
    assert!(after > before, "LASTSAVE {before} -> {after}");
    c.expect("GET k5", "$3\r\nnew\r\n");
    s.kill();
    s.restart(&["--save", "", "--threads", "3"]);
    let mut c = s.conn();
    c.expect("DBSIZE", ":2000\r\n");
    // The snapshot is the frozen point in time: no AOF, so the later writes are gone.
    c.expect("GET k5", "$3\r\nold\r\n");
}

#[test]
fn persist_shutdown_saves_unless_nosave() {
    if selftest() {
        return;
    }
    let mut s = Server::start(&["--save", "3600 1"]);
    s.conn().expect("SET kept 1", "+OK\r\n");
    let mut c = s.conn();
    c.send(&[b"SHUTDOWN"]);
    assert!(s.wait_exit(Duration::from_secs(10)).is_some());
    s.restart(&["--save", ""]);
    s.conn().expect("GET kept", "$1\r\n1\r\n");
    s.conn().expect("SET lost 1", "+OK\r\n");
    s.conn().send(&[b"SHUTDOWN", b"NOSAVE"]);
    assert!(s.wait_exit(Duration::from_secs(10)).is_some());
    s.restart(&["--save", ""]);
    s.conn().expect("EXISTS kept lost", ":1\r\n");
}

#[test]
fn persist_torn_tail_is_quarantined_and_damage_refused() {
    if selftest() {
        return;
    }
    let mut s = Server::start(&[AOF_ALWAYS, &["--threads", "1"]].concat());
    s.conn().expect("SET a 1", "+OK\r\n");
    s.conn().expect("SET b 2", "+OK\r\n");
    s.kill();
    let file = aof_files(s.dir()).pop().expect("an AOF");
    let mut bytes = std::fs::read(&file).expect("read aof");
    let clean = bytes.clone();
    bytes.extend_from_slice(b"*3\r\n$3\r\nSET\r\n$1\r\nc\r\n$1");
    std::fs::write(&file, &bytes).expect("write aof");
    s.restart(&[AOF_ALWAYS, &["--threads", "1"]].concat());
    s.conn()
        .expect("MGET a b c", "*3\r\n$1\r\n1\r\n$1\r\n2\r\n$-1\r\n");
    assert!(s.output().contains("torn frame"), "{}", s.output());
    assert!(
        s.output().contains(&format!("offset {}", clean.len())),
        "{}",
        s.output()
    );
    assert_ne!(info_field(&s, "kevy_bytes_quarantined"), "0");
    let dir = s.dir().to_path_buf();
    assert!(std::fs::read_dir(&dir).expect("dir").any(|e| e
        .map(|e| e.file_name().to_string_lossy().contains("quarantine"))
        .unwrap_or(false)));
    s.kill();

    // Damage before the tail: refuse to start, naming file and offset.
    let file = aof_files(&dir)[0].clone();
    let mut bytes = std::fs::read(&file).expect("read aof");
    bytes[12] ^= 0x01;
    std::fs::write(&file, &bytes).expect("write aof");
    let out = Command::new(Server::bin())
        .args(["--port", "0", "--dir"])
        .arg(&dir)
        .args(AOF_ALWAYS)
        .output()
        .expect("run kevy-server");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&file.display().to_string()) && err.contains("offset"),
        "{err}"
    );

    // --check-aof reports it, --fix cuts it to the valid prefix.
    let check = |fix: bool| {
        let mut cmd = Command::new(Server::bin());
        cmd.arg("--check-aof").arg(&file);
        if fix {
            cmd.arg("--fix");
        }
        cmd.output().expect("run --check-aof")
    };
    let out = check(false);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("damaged"));
    assert!(check(true).status.success());
    assert!(check(false).status.success());
}

#[test]
fn persist_auto_rewrite_follows_runtime_config() {
    if selftest() {
        return;
    }
    let s = Server::start(&[AOF_ALWAYS, &["--threads", "2"]].concat());
    let mut c = s.conn();
    c.expect("CONFIG SET auto-aof-rewrite-min-size 8kb", "+OK\r\n");
    c.expect("CONFIG SET auto-aof-rewrite-percentage 100", "+OK\r\n");
    assert_eq!(info_field(&s, "aof_rewrites"), "0");
    let value = "x".repeat(100);
    // Write until the rewrite has started (not a fixed count: writes that
    // land while it runs go to the new generation and count in its base
    // size, so on a slow machine a fixed burst could exceed the bound below).
    for i in 0..400 {
        c.expect(&format!("SET key:{} {value}", i % 20), "+OK\r\n");
        if i % 10 == 9
            && (info_field(&s, "aof_rewrite_in_progress") != "0"
                || info_field(&s, "aof_rewrites") != "0")
        {
            break;
        }
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while info_field(&s, "aof_rewrites") == "0" {
        assert!(
            Instant::now() < deadline,
            "no automatic rewrite: {}",
            s.conn().cmd_str("INFO persistence")
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    wait_idle(&s);
    // The rewrite compacted the writes so far into a base image of the 20
    // keys (writes that land after the rewrite started are appended after
    // it, so the current size depends on timing; the base does not).
    let base: u64 = info_field(&s, "aof_base_size").parse().unwrap_or(u64::MAX);
    assert!(base < 8 * 1024, "aof_base_size {base} after the rewrite");
    c.expect("CONFIG SET auto-aof-rewrite-percentage 0", "+OK\r\n");
}

/// GEOADD replays as itself; the STORE forms log DEL + ZADD of their result
/// (on the destination's shard), so a restart with another shard count
/// rebuilds the same sorted sets, also after the source changed.
#[test]
fn persist_geo_store_results_replay() {
    if selftest() {
        return;
    }
    let mut s = Server::start(&[AOF_ALWAYS, &["--threads", "2"]].concat());
    let mut c = s.conn();
    c.expect(
        "GEOADD g 13.361389 38.115556 Palermo 15.087269 37.502669 Catania",
        ":2\r\n",
    );
    c.expect("GEORADIUS g 15 37 200 km STORE d1", ":2\r\n");
    c.expect("GEORADIUSBYMEMBER g Palermo 300 km STOREDIST d2", ":2\r\n");
    c.expect(
        "GEOSEARCHSTORE d3 g FROMLONLAT 15 37 BYBOX 400 400 km COUNT 1 STOREDIST",
        ":1\r\n",
    );
    c.expect("SET d4 x", "+OK\r\n");
    c.expect("GEOSEARCHSTORE d4 g FROMLONLAT 0 0 BYRADIUS 1 km", ":0\r\n");
    c.expect("ZREM g Catania", ":1\r\n");
    let keys = ["g", "d1", "d2", "d3"];
    let before: Vec<String> = keys
        .iter()
        .map(|k| c.cmd_str(&format!("ZRANGE {k} 0 -1 WITHSCORES")))
        .collect();
    s.kill();
    s.restart(&[AOF_ALWAYS, &["--threads", "3"]].concat());
    let mut c = s.conn();
    for (k, want) in keys.iter().zip(&before) {
        assert_eq!(
            &c.cmd_str(&format!("ZRANGE {k} 0 -1 WITHSCORES")),
            want,
            "{k}"
        );
    }
    c.expect("EXISTS d4", ":0\r\n");
    c.expect("ZCARD d1", ":2\r\n");
}
