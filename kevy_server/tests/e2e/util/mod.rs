//! Shared harness of the end-to-end tests: child processes (`kevy-server` and
//! the real `redis-server`), a raw RESP client, a transcript checker and the
//! differential script runner.

#![allow(dead_code)]

mod conn;
mod script;

pub use conn::*;
pub use script::{diff_script, mask_ints};

use std::io::{BufRead, BufReader, Read};
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a test waits for any single reply before it gives up.
pub const READ_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a server gets to start accepting connections.
pub const START_TIMEOUT: Duration = Duration::from_secs(10);

/// A fresh, empty directory under the system temp dir, unique to this process
/// and call.
pub fn temp_dir(tag: &str) -> PathBuf {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let dir = std::env::temp_dir().join(format!(
        "kevy-e2e-{tag}-{}-{}-{nanos}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).expect("create temp dir");
    dir
}

/// Lines a child printed, kept for failure messages.
type Log = Arc<Mutex<Vec<String>>>;

/// Reads `from` line by line into `log`, forwarding each line to `tx` too
/// while someone listens.
fn drain(from: impl Read + Send + 'static, log: Log, tx: Option<mpsc::Sender<String>>) {
    std::thread::spawn(move || {
        let mut reader = BufReader::new(from);
        let mut line = Vec::new();
        loop {
            line.clear();
            match reader.read_until(b'\n', &mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) => {
                    let text = String::from_utf8_lossy(&line).trim_end().to_string();
                    if let Some(tx) = &tx {
                        let _ = tx.send(text.clone());
                    }
                    let mut log = log.lock().unwrap_or_else(|e| e.into_inner());
                    // Bounded: a chatty server must not eat the test's memory.
                    if log.len() < 10_000 {
                        log.push(text);
                    }
                }
            }
        }
    });
}

/// Spawns `cmd` with piped output, dying with the test thread.
fn spawn(cmd: &mut Command) -> std::io::Result<Child> {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // SAFETY: prctl is async-signal-safe and touches no memory of the parent.
    // It makes the child die if the test is killed (e.g. by a nextest
    // timeout) before `Drop` could stop it, so no server outlives its test.
    unsafe {
        cmd.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
    cmd.spawn()
}

/// Sends `signal` to `child` (if it still runs) and waits up to `timeout`
/// for it to exit.
fn signal_and_wait(child: &mut Child, signal: i32, timeout: Duration) -> Option<ExitStatus> {
    if let Ok(Some(status)) = child.try_wait() {
        return Some(status);
    }
    if let Ok(pid) = i32::try_from(child.id()) {
        // SAFETY: plain syscall on the pid of a child we have not reaped yet,
        // so it cannot name another process.
        unsafe {
            libc::kill(pid, signal);
        }
    }
    wait_exit(child, timeout)
}

fn wait_exit(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(10)),
            _ => return None,
        }
    }
}

fn hard_kill(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

/// A running `kevy-server` on an ephemeral port with its own data dir.
pub struct Server {
    child: Option<Child>,
    port: u16,
    dir: PathBuf,
    args: Vec<String>,
    /// Extra environment for the process.
    env: Vec<(String, String)>,
    log: Log,
}

impl Server {
    /// Path of the binary under test.
    pub fn bin() -> &'static str {
        env!("CARGO_BIN_EXE_kevy-server")
    }

    /// Starts `kevy-server --port 0 --dir <fresh dir> <args>` and waits for
    /// its `listening on 127.0.0.1:<port>` line.
    pub fn start(args: &[&str]) -> Server {
        Server::start_with_env(args, &[])
    }

    /// [`Server::start`] with extra environment variables (kept across
    /// restarts).
    pub fn start_with_env(args: &[&str], env: &[(&str, &str)]) -> Server {
        let mut server = Server {
            child: None,
            port: 0,
            dir: temp_dir("kevy"),
            args: args.iter().map(|s| s.to_string()).collect(),
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            log: Log::default(),
        };
        server.launch();
        server
    }

    fn launch(&mut self) {
        if selftest() {
            return self.launch_redis_instead();
        }
        let mut cmd = Command::new(Self::bin());
        // kevy reads KEVY_* variables as configuration: tests are hermetic,
        // so none leaks in from the developer's or CI's environment.
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("KEVY_") {
                cmd.env_remove(name);
            }
        }
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        cmd.arg("--port").arg("0").arg("--dir").arg(&self.dir);
        if !self.args.iter().any(|a| a == "--threads") {
            // Two event loops and two shards unless a test says otherwise,
            // whatever the machine's default: cross-thread and cross-shard
            // paths are what most needs testing.
            cmd.args(["--threads", "2"]);
        }
        cmd.args(&self.args);
        let mut child = spawn(&mut cmd).expect("spawn kevy-server");
        let (tx, rx) = mpsc::channel();
        drain(
            child.stdout.take().expect("stdout"),
            self.log.clone(),
            Some(tx.clone()),
        );
        drain(
            child.stderr.take().expect("stderr"),
            self.log.clone(),
            Some(tx),
        );
        self.child = Some(child);
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) => {
                    if let Some(port) = parse_port(&line) {
                        self.port = port;
                        return;
                    }
                }
                Err(_) => {
                    let status = self
                        .child
                        .as_mut()
                        .and_then(|c| c.try_wait().ok().flatten());
                    if let Some(c) = self.child.as_mut() {
                        hard_kill(c);
                    }
                    panic!(
                        "kevy-server {:?} did not print its port within {:?} (exit: {status:?}); output:\n{}",
                        self.args,
                        START_TIMEOUT,
                        self.output()
                    );
                }
            }
        }
    }

    /// Self-test mode: a redis-server stands in for kevy-server, so that the
    /// tests' expectations are checked against the oracle. kevy-only flags
    /// (`--threads`, `--shards`) are dropped, the others passed on.
    fn launch_redis_instead(&mut self) {
        let mut args = Vec::new();
        let mut it = self.args.iter();
        while let Some(a) = it.next() {
            if a == "--threads" || a == "--shards" {
                it.next();
            } else {
                args.push(a.clone());
            }
        }
        for _attempt in 0..5 {
            let port = free_port();
            let mut cmd = Command::new("redis-server");
            cmd.args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
            ])
            .arg("--dir")
            .arg(&self.dir)
            .args(&args);
            let mut child = spawn(&mut cmd).expect("spawn redis-server");
            drain(child.stdout.take().expect("stdout"), self.log.clone(), None);
            drain(child.stderr.take().expect("stderr"), self.log.clone(), None);
            if wait_ready(&mut child, port, &self.dir) {
                self.child = Some(child);
                self.port = port;
                return;
            }
            hard_kill(&mut child);
        }
        panic!("redis-server (standing in for kevy-server) failed to start");
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Its data directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Everything it printed so far (stdout and stderr interleaved).
    pub fn output(&self) -> String {
        self.log
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .join("\n")
    }

    /// A new client connection.
    pub fn conn(&self) -> Conn {
        Conn::connect(self.port)
    }

    /// Sends SIGTERM and waits up to `timeout` for the exit status.
    pub fn terminate(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let child = self.child.as_mut()?;
        let status = signal_and_wait(child, libc::SIGTERM, timeout);
        if status.is_some() {
            self.child = None;
        }
        status
    }

    /// Sends `signal` (e.g. `libc::SIGINT`) without waiting.
    pub fn signal(&self, signal: i32) {
        if let Some(pid) = self.child.as_ref().and_then(|c| i32::try_from(c.id()).ok()) {
            // SAFETY: plain syscall on the pid of a child we have not reaped.
            unsafe {
                libc::kill(pid, signal);
            }
        }
    }

    /// Kills it with SIGKILL (a crash, for recovery tests).
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            hard_kill(&mut c);
        }
    }

    /// Waits up to `timeout` for it to exit on its own (e.g. after SHUTDOWN).
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let status = wait_exit(self.child.as_mut()?, timeout);
        if status.is_some() {
            self.child = None;
        }
        status
    }

    /// Stops it gracefully (SIGTERM, SIGKILL after 10 s) if it still runs, and
    /// starts it again on the same data dir with `args`. The port changes.
    pub fn restart(&mut self, args: &[&str]) {
        if let Some(mut c) = self.child.take() {
            if signal_and_wait(&mut c, libc::SIGTERM, Duration::from_secs(10)).is_none() {
                hard_kill(&mut c);
            }
        }
        self.args = args.iter().map(|s| s.to_string()).collect();
        self.launch();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The port in a `... listening on 127.0.0.1:<port> ...` line.
fn parse_port(line: &str) -> Option<u16> {
    const MARK: &str = "listening on 127.0.0.1:";
    let rest = &line[line.find(MARK)? + MARK.len()..];
    let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
    digits.parse().ok().filter(|&p| p != 0)
}

/// Whether `name` is an executable on `PATH`.
pub fn have_binary(name: &str) -> bool {
    std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).any(|p| p.join(name).is_file()))
        .unwrap_or(false)
}

/// A port that was free a moment ago (bound to 127.0.0.1:0, then released).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("bind 127.0.0.1:0")
}

/// Whether `E2E_SELFTEST` asks for redis-server on both sides.
pub fn selftest() -> bool {
    std::env::var_os("E2E_SELFTEST").is_some()
}

/// Polls until the redis-server `child` answers PING on `port`. Checking
/// `CONFIG GET dir` guards against another process having taken the port
/// meanwhile.
fn wait_ready(child: &mut Child, port: u16, dir: &Path) -> bool {
    let deadline = Instant::now() + START_TIMEOUT;
    let want_dir = dir.to_string_lossy().into_owned();
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return false;
        }
        if let Ok(mut c) = Conn::try_connect(port) {
            if c.cmd("PING") == b"+PONG\r\n" {
                let dir = c.cmd("CONFIG GET dir");
                return String::from_utf8_lossy(&dir).contains(&want_dir);
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

/// A running real `redis-server` (the oracle), without persistence.
pub struct Redis {
    child: Child,
    port: u16,
    dir: PathBuf,
    log: Log,
}

impl Redis {
    /// Starts redis-server on a free port, or returns `None` (and says so)
    /// when it is not installed: tests then pass without checking anything.
    pub fn start() -> Option<Redis> {
        if !have_binary("redis-server") {
            println!("skipping: redis-server not found");
            return None;
        }
        for _attempt in 0..5 {
            let dir = temp_dir("redis");
            let port = free_port();
            let mut cmd = Command::new("redis-server");
            cmd.args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
                .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
                .arg("--dir")
                .arg(&dir);
            let mut child = spawn(&mut cmd).expect("spawn redis-server");
            let log = Log::default();
            drain(child.stdout.take().expect("stdout"), log.clone(), None);
            drain(child.stderr.take().expect("stderr"), log.clone(), None);
            let mut redis = Redis {
                child,
                port,
                dir,
                log,
            };
            if wait_ready(&mut redis.child, port, &redis.dir) {
                return Some(redis);
            }
            // Lost the port to someone else: drop (kill, clean up) and retry.
        }
        panic!("redis-server failed to start 5 times");
    }

    /// Like [`Redis::start`], then applies `--name value` pairs with CONFIG
    /// SET once it answers (so readiness checks run before, say, a password).
    pub fn start_with(settings: &[&str]) -> Option<Redis> {
        let r = Redis::start()?;
        let mut c = r.conn();
        for pair in settings.chunks(2) {
            let name = pair[0].trim_start_matches("--");
            let value = pair.get(1).copied().unwrap_or("");
            let reply = {
                c.send(&[b"CONFIG", b"SET", name.as_bytes(), value.as_bytes()]);
                c.read_frame()
            };
            assert_eq!(
                reply, b"+OK\r\n",
                "CONFIG SET {name} {value} on redis-server"
            );
        }
        Some(r)
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// A new client connection.
    pub fn conn(&self) -> Conn {
        Conn::connect(self.port)
    }

    /// What it logged so far.
    pub fn output(&self) -> String {
        self.log
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .join("\n")
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        hard_kill(&mut self.child);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_line() {
        assert_eq!(
            parse_port("kevy-server 0.1.0 listening on 127.0.0.1:6379 (2 threads)"),
            Some(6379)
        );
        assert_eq!(parse_port("listening on 127.0.0.1:0"), None);
        assert_eq!(parse_port("starting"), None);
    }
}
