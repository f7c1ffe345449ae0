//! Disk faults through the real binary: the data directory is a small tmpfs
//! filled until writes fail with ENOSPC. Writes are refused with Redis's
//! MISCONF errors while reads are served, the reason shows in INFO
//! persistence, writes resume by themselves once space is freed, and every
//! acknowledged write is there after a SIGKILL and a restart (under
//! `appendfsync always` the write that met the full disk is undone and
//! answered MISCONF). Mounting needs root (CI runs as root); elsewhere these
//! tests skip, saying why. `diskfull_load.rs` does the same under load.

use crate::util::{selftest, temp_dir, Conn, Server};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

pub(crate) const MISCONF_AOF: &str =
    "-MISCONF Errors writing to the AOF file: No space left on device\r\n";
const MISCONF_RDB: &str = "-MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. Commands that may modify the data set are disabled, because this instance is configured to report errors during writes if RDB snapshotting fails (stop-writes-on-bgsave-error option). Please check the Redis logs for details about the RDB error.\r\n";

/// A small tmpfs mounted on a fresh directory, unmounted when dropped.
pub(crate) struct Tmpfs {
    pub(crate) dir: PathBuf,
}

impl Tmpfs {
    pub(crate) fn mount() -> Option<Tmpfs> {
        if selftest() {
            return None; // kevy's recovery is checked; redis-server exits under always.
        }
        let dir = temp_dir("diskfull");
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=2m", "tmpfs"])
            .arg(&dir)
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            println!(
                "skipping: cannot mount a tmpfs on {} (needs root and mount(8))",
                dir.display()
            );
            let _ = std::fs::remove_dir(&dir);
            return None;
        }
        Some(Tmpfs { dir })
    }

    pub(crate) fn path(&self) -> &str {
        self.dir.to_str().expect("utf-8 temp dir")
    }

    fn filler(&self) -> PathBuf {
        self.dir.join("filler")
    }

    /// Writes a filler file until the file system has no byte left.
    pub(crate) fn fill(&self) {
        let mut f = std::fs::File::create(self.filler()).expect("create filler");
        let mut chunk = 64 * 1024;
        while chunk > 0 {
            if f.write_all(&vec![b'x'; chunk]).is_err() {
                chunk /= 2;
            }
        }
        let _ = f.sync_all();
    }

    /// Fills the file system, then gives `left` bytes back.
    pub(crate) fn fill_leaving(&self, left: u64) {
        self.fill();
        let f = std::fs::OpenOptions::new()
            .write(true)
            .open(self.filler())
            .expect("open filler");
        let len = f.metadata().expect("stat filler").len();
        f.set_len(len.saturating_sub(left)).expect("shrink filler");
    }

    pub(crate) fn free(&self) {
        std::fs::remove_file(self.filler()).expect("remove filler");
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.dir).status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

pub(crate) fn info_field(c: &mut Conn, field: &str) -> String {
    let text = c.cmd_str("INFO persistence");
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")).map(str::to_string))
        .unwrap_or_else(|| panic!("no {field} in INFO: {text}"))
}

/// Sends `line` until it answers `want` (writes resume on their own).
pub(crate) fn until(c: &mut Conn, line: &str, want: &str) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let got = String::from_utf8_lossy(&c.cmd(line)).into_owned();
        if got == want {
            return;
        }
        assert!(Instant::now() < deadline, "{line}: still {got:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn args<'a>(dir: &'a Tmpfs, extra: &[&'a str]) -> Vec<&'a str> {
    let mut v = vec!["--dir", dir.path(), "--threads", "2"];
    v.extend_from_slice(extra);
    v
}

fn dir_is(s: &Server, dir: &Path) {
    let mut c = s.conn();
    let got = c.cmd_str("CONFIG GET dir");
    assert!(got.contains(dir.to_str().unwrap_or("?")), "{got}");
}

#[test]
fn diskfull_aof_everysec_refuses_writes_serves_reads_and_recovers() {
    let Some(fs) = Tmpfs::mount() else { return };
    let a = args(
        &fs,
        &[
            "--appendonly",
            "yes",
            "--appendfsync",
            "everysec",
            "--save",
            "",
        ],
    );
    let mut s = Server::start(&a);
    dir_is(&s, &fs.dir);
    let mut c = s.conn();
    for i in 0..20 {
        c.expect(&format!("SET k{i} v{i}"), "+OK\r\n");
    }
    fs.fill();
    // As Redis under everysec: the write that meets the full disk is
    // acknowledged (it stays buffered in memory and is retried); from then
    // on writes are refused.
    // (The value is larger than a page: a tmpfs file's last page may still
    // have room for small writes.)
    let big = vec![b'd'; 8192];
    c.send(&[b"SET", b"during", &big]);
    assert_eq!(c.read_frame(), b"+OK\r\n");
    c.expect("SET refused 1", MISCONF_AOF);
    c.expect("INCR k1", MISCONF_AOF);
    c.expect("PING", MISCONF_AOF);
    c.expect("GET k7", "$2\r\nv7\r\n");
    c.expect("STRLEN during", ":8192\r\n");
    c.expect("MULTI", "+OK\r\n");
    c.expect("SET t 1", MISCONF_AOF);
    c.expect("GET k1", "+QUEUED\r\n");
    c.expect(
        "EXEC",
        "-EXECABORT Transaction discarded because of previous errors.\r\n",
    );
    assert_eq!(info_field(&mut c, "aof_last_write_status"), "err");
    let why = info_field(&mut c, "kevy_aof_last_error");
    assert!(why.contains("No space left on device"), "{why}");
    let mut other = s.conn();
    other.expect("EXISTS k0 k19 during", ":3\r\n");
    fs.free();
    until(&mut c, "SET after 1", "+OK\r\n");
    assert_eq!(info_field(&mut c, "aof_last_write_status"), "ok");
    assert_eq!(info_field(&mut c, "kevy_aof_last_error"), "");
    assert!(
        s.output().contains("No space left on device"),
        "{}",
        s.output()
    );
    assert!(s.output().contains("accepted again"), "{}", s.output());
    // A crash now loses nothing that was acknowledged.
    s.kill();
    s.restart(&a);
    let mut c = s.conn();
    c.expect(
        "MGET k0 k19 after refused",
        "*4\r\n$2\r\nv0\r\n$3\r\nv19\r\n$1\r\n1\r\n$-1\r\n",
    );
    c.expect("STRLEN during", ":8192\r\n");
    c.expect("DBSIZE", ":22\r\n");
}

#[test]
fn diskfull_aof_always_undoes_the_write_and_keeps_serving_reads() {
    let Some(fs) = Tmpfs::mount() else { return };
    let a = args(
        &fs,
        &[
            "--appendonly",
            "yes",
            "--appendfsync",
            "always",
            "--save",
            "",
        ],
    );
    let mut s = Server::start(&a);
    let mut c = s.conn();
    c.expect("SET before 1", "+OK\r\n");
    c.expect("RPUSH list a b c", ":3\r\n");
    fs.fill();
    // The write cannot be made durable: it is undone and answered with
    // MISCONF at once; nobody ever sees its value.
    let mut w = s.conn();
    w.set_read_timeout(Duration::from_secs(2));
    let big = vec![b'h'; 8192];
    w.send(&[b"SET", b"held", &big]);
    assert_eq!(String::from_utf8_lossy(&w.read_frame()), MISCONF_AOF);
    w.send(&[b"RPUSH", b"list", &big]);
    let got = String::from_utf8_lossy(&w.read_frame()).into_owned();
    assert!(got.starts_with("-MISCONF"), "{got}");
    // Reads, from anyone, answer at once from the durable state.
    let mut r = s.conn();
    r.set_read_timeout(Duration::from_secs(2));
    r.expect("GET held", "$-1\r\n");
    r.expect("GET nothing", "$-1\r\n");
    r.expect("GET before", "$1\r\n1\r\n");
    r.expect("LLEN list", ":3\r\n");
    r.expect("DBSIZE", ":2\r\n");
    assert_eq!(info_field(&mut r, "aof_last_write_status"), "err");
    fs.free();
    until(&mut c, "SET other 1", "+OK\r\n");
    assert_eq!(info_field(&mut c, "aof_last_write_status"), "ok");
    s.kill();
    s.restart(&a);
    let mut c = s.conn();
    c.expect(
        "MGET before other held",
        "*3\r\n$1\r\n1\r\n$1\r\n1\r\n$-1\r\n",
    );
    c.expect("LLEN list", ":3\r\n");
}

#[test]
fn diskfull_failed_bgsave_stops_writes_until_a_save_succeeds() {
    let Some(fs) = Tmpfs::mount() else { return };
    let a = args(&fs, &["--appendonly", "no", "--save", "3600 1"]);
    let s = Server::start(&a);
    let mut c = s.conn();
    c.expect("SET a 1", "+OK\r\n");
    fs.fill();
    c.expect("BGSAVE", "+Background saving started\r\n");
    let deadline = Instant::now() + Duration::from_secs(15);
    while info_field(&mut c, "rdb_last_bgsave_status") != "err" {
        assert!(Instant::now() < deadline, "BGSAVE did not fail");
        std::thread::sleep(Duration::from_millis(20));
    }
    c.expect("SET b 1", MISCONF_RDB);
    c.expect("GET a", "$1\r\n1\r\n");
    assert!(!info_field(&mut c, "kevy_rdb_last_error").is_empty());
    // The option turns the refusal off and on at runtime, as in Redis.
    c.expect("CONFIG SET stop-writes-on-bgsave-error no", "+OK\r\n");
    c.expect("SET b 1", "+OK\r\n");
    c.expect("CONFIG SET stop-writes-on-bgsave-error yes", "+OK\r\n");
    c.expect("SET c 1", MISCONF_RDB);
    fs.free();
    c.expect("BGSAVE", "+Background saving started\r\n");
    until(&mut c, "SET c 1", "+OK\r\n");
    assert_eq!(info_field(&mut c, "rdb_last_bgsave_status"), "ok");
}

/// Runs the binary on `dir` expecting it to refuse to start; its output.
fn refused_start(dir: &Tmpfs) -> String {
    let out = Command::new(Server::bin())
        .args(["--port", "0", "--dir", dir.path(), "--appendonly", "yes"])
        .output()
        .expect("run kevy-server");
    let text =
        String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "it started: {text}");
    assert!(!text.contains("listening on"), "{text}");
    text
}

#[test]
fn diskfull_start_on_a_full_or_read_only_disk_says_why_and_exits() {
    let Some(fs) = Tmpfs::mount() else { return };
    // A data dir with data in it, then the disk fills.
    let a = args(&fs, &["--appendonly", "yes", "--save", ""]);
    let mut s = Server::start(&a);
    s.conn().expect("SET kept 1", "+OK\r\n");
    s.terminate(Duration::from_secs(10));
    fs.fill();
    let text = refused_start(&fs);
    assert!(
        text.contains("cannot start")
            && text.contains(fs.path())
            && text.contains("No space left on device"),
        "{text}"
    );
    fs.free();
    let ok = Command::new("mount")
        .args(["-o", "remount,ro"])
        .arg(&fs.dir)
        .status()
        .is_ok_and(|s| s.success());
    if ok {
        let text = refused_start(&fs);
        assert!(
            text.contains("cannot start") && text.contains("Read-only file system"),
            "{text}"
        );
        let _ = Command::new("mount")
            .args(["-o", "remount,rw"])
            .arg(&fs.dir)
            .status();
    }
    // Nothing was damaged: the data loads once the disk takes writes.
    s.restart(&a);
    s.conn().expect("GET kept", "$1\r\n1\r\n");
}

#[test]
fn diskfull_failed_rewrite_leaves_no_files_and_the_next_one_starts_clean() {
    let Some(fs) = Tmpfs::mount() else { return };
    let a = args(&fs, &["--appendonly", "yes", "--save", ""]);
    let mut s = Server::start(&a);
    let mut c = s.conn();
    let big = vec![b'r'; 4096];
    for i in 0..40 {
        c.send(&[b"SET", format!("r{i}").as_bytes(), &big]);
        assert_eq!(c.read_frame(), b"+OK\r\n");
    }
    let before = names(&fs);
    fs.fill();
    let reply = String::from_utf8_lossy(&c.cmd("BGREWRITEAOF")).into_owned();
    let deadline = Instant::now() + Duration::from_secs(15);
    while info_field(&mut c, "aof_last_bgrewrite_status") != "err" {
        assert!(
            Instant::now() < deadline,
            "BGREWRITEAOF did not fail: {reply}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(info_field(&mut c, "aof_rewrite_in_progress"), "0");
    // The old generation is still the state; the failed rewrite left
    // nothing behind (no temp file, no half snapshot, no new generation).
    assert_eq!(names(&fs), before, "leftovers of the failed rewrite");
    c.expect("GET r7", &format!("$4096\r\n{}\r\n", "r".repeat(4096)));
    fs.free();
    c.expect(
        "BGREWRITEAOF",
        "+Background append only file rewriting started\r\n",
    );
    let deadline = Instant::now() + Duration::from_secs(15);
    while info_field(&mut c, "aof_last_bgrewrite_status") != "ok"
        || info_field(&mut c, "aof_rewrite_in_progress") != "0"
    {
        assert!(Instant::now() < deadline, "BGREWRITEAOF did not succeed");
        std::thread::sleep(Duration::from_millis(20));
    }
    s.kill();
    s.restart(&a);
    s.conn().expect("DBSIZE", ":40\r\n");
}

/// The data files in the directory (the filler aside), sorted.
fn names(fs: &Tmpfs) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(&fs.dir)
        .expect("read dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n != "filler")
        .collect();
    v.sort();
    v
}
