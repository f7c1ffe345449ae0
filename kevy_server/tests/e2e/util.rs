//! Shared harness of the end-to-end tests: child processes (`kevy-server` and
//! the real `redis-server`), a raw RESP client, a transcript checker and the
//! differential script runner.
//!
//! # Differential scripts
//!
//! `tests/scripts/<name>.txt` is run by [`diff_script`] against a fresh
//! kevy-server (`--threads 2`, so keys spread over shards) and a fresh
//! redis-server, both with `--save "" --appendonly no`, each on its own
//! connection, and the raw reply bytes are
//! compared line by line. The format:
//!
//! - one command per line, split into arguments like `redis-cli` does:
//!   spaces separate arguments, `"..."` quotes with `\n \r \t \\ \" \xHH`
//!   escapes, `'...'` quotes literally (only `\'` is an escape);
//! - lines starting with `#` are comments, blank lines are ignored;
//! - a line may start with one or more prefix directives that change how its
//!   reply is compared:
//!   - `@sort` the reply is an array (or RESP3 set) whose elements are
//!     compared after sorting (KEYS, SMEMBERS, ...);
//!   - `@sort-pairs` the same, sorting pairs of elements (CONFIG GET with
//!     several parameters or a glob, whose order follows Redis's hash table);
//!   - `@skip-compare` run on both servers, compare nothing (random output,
//!     server-specific output such as ids);
//!   - `@scan` a SCAN-family command given with cursor `0`: each server's
//!     cursor is followed to `0` (bounded), and only the sorted set of the
//!     elements returned (pairs for HSCAN/ZSCAN) is compared;
//!   - `@ttl` integer replies may differ by at most 1 (TTL, IDLETIME);
//!   - `@pttl` integer replies may differ by at most 1000 (PTTL: the two
//!     servers run each line one after the other, and a loaded test machine
//!     can stall either for a while; the check still catches wrong units);
//!   - `@error-prefix` both replies are errors whose first word (`ERR`,
//!     `WRONGTYPE`, ...) must match; the rest may differ. Use sparingly, and
//!     say why in a comment above the line;
//! - whole-line directives: `@resp3` sends `HELLO 3` on both connections
//!   (its reply is not compared: server name, version and id differ),
//!   `@resp2` sends `HELLO 2`, `@sleep <ms>` sleeps;
//! - after `QUIT` both connections are reopened (fresh RESP2 clients, db 0).
//!
//! Every script starts with `FLUSHALL`. Set `E2E_DIFF_ALL=1` to report every
//! mismatch of a script instead of stopping at the first,
//! `E2E_SELFTEST=1` to run every test against redis-server instead of
//! kevy-server ([`Server`] then starts a redis-server; checks the harness,
//! the scripts and the tests' expectations themselves), and
//! `E2E_DIFF_PRINT=1` (with `--nocapture`) to print every command with
//! redis-server's reply, which is how a script's expectations are reviewed.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
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
        let mut server = Server {
            child: None,
            port: 0,
            dir: temp_dir("kevy"),
            args: args.iter().map(|s| s.to_string()).collect(),
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
        cmd.arg("--port").arg("0").arg("--dir").arg(&self.dir);
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

/// A raw RESP client connection: sends requests, returns replies as the
/// exact bytes the server wrote.
pub struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
    port: u16,
}

impl Conn {
    /// Connects to 127.0.0.1:`port`, panicking on failure.
    pub fn connect(port: u16) -> Conn {
        Conn::try_connect(port).unwrap_or_else(|e| panic!("connect to 127.0.0.1:{port}: {e}"))
    }

    /// Connects to 127.0.0.1:`port`.
    pub fn try_connect(port: u16) -> std::io::Result<Conn> {
        let stream = TcpStream::connect(("127.0.0.1", port))?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(READ_TIMEOUT))?;
        stream.set_write_timeout(Some(READ_TIMEOUT))?;
        Ok(Conn {
            stream,
            buf: Vec::new(),
            port,
        })
    }

    /// The server port this connection talks to.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Changes how long reads wait.
    pub fn set_read_timeout(&mut self, timeout: Duration) {
        self.stream
            .set_read_timeout(Some(timeout))
            .expect("set_read_timeout");
    }

    /// Sends one command as a RESP multibulk.
    pub fn send(&mut self, args: &[&[u8]]) {
        let mut out = Vec::new();
        encode_request(args, &mut out);
        self.send_raw(&out);
    }

    /// Sends bytes as they are.
    pub fn send_raw(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("write to server");
    }

    /// Like [`Conn::send_raw`] but reports errors (the server may have closed).
    pub fn try_send_raw(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.stream.write_all(bytes)
    }

    /// The raw bytes of exactly one reply frame; panics on timeout, on a
    /// closed connection or on bytes that are not RESP.
    pub fn read_frame(&mut self) -> Vec<u8> {
        self.try_read_frame()
            .unwrap_or_else(|e| panic!("reading a reply from port {}: {e}", self.port))
    }

    /// The raw bytes of exactly one reply frame.
    pub fn try_read_frame(&mut self) -> Result<Vec<u8>, String> {
        loop {
            match frame_len(&self.buf) {
                Ok(Some(n)) => return Ok(self.buf.drain(..n).collect()),
                Ok(None) => {}
                Err(e) => {
                    return Err(format!("{e}; buffered: {}", escape(&self.buf)));
                }
            }
            let mut chunk = [0u8; 64 * 1024];
            match self.stream.read(&mut chunk) {
                Ok(0) => {
                    return Err(format!(
                        "connection closed; partial reply buffered: {}",
                        escape(&self.buf)
                    ))
                }
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => {
                    return Err(format!(
                        "{e}; partial reply buffered: {}",
                        escape(&self.buf)
                    ))
                }
            }
        }
    }

    /// Exactly the next `n` bytes the server sends, whatever frames they
    /// hold (for replies too big to parse frame by frame).
    pub fn read_exact(&mut self, n: usize) -> Vec<u8> {
        let mut out: Vec<u8> = self.buf.drain(..n.min(self.buf.len())).collect();
        let start = out.len();
        out.resize(n, 0);
        if let Err(e) = self.stream.read_exact(&mut out[start..]) {
            panic!("reading {n} bytes from port {}: {e}", self.port);
        }
        out
    }

    /// Whether the server closes the connection within `timeout` (reading and
    /// discarding anything it still sends before that).
    pub fn is_closed_within(&mut self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        self.buf.clear();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            let _ = self.stream.set_read_timeout(Some(left));
            let mut chunk = [0u8; 4096];
            match self.stream.read(&mut chunk) {
                Ok(0) => return true,
                Ok(_) => {}
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    return false
                }
                // Reset by peer and friends: closed.
                Err(_) => return true,
            }
        }
    }

    /// Sends `line` (split like redis-cli does, see [`split_args`]) and
    /// returns the raw reply.
    pub fn cmd(&mut self, line: &str) -> Vec<u8> {
        let args = split_args(line).unwrap_or_else(|e| panic!("bad command line {line:?}: {e}"));
        let refs: Vec<&[u8]> = args.iter().map(|a| a.as_slice()).collect();
        self.send(&refs);
        self.read_frame()
    }

    /// Like [`Conn::cmd`], as (lossy) text.
    pub fn cmd_str(&mut self, line: &str) -> String {
        String::from_utf8_lossy(&self.cmd(line)).into_owned()
    }

    /// Sends `line` and asserts the raw reply is `want` (shown escaped).
    #[track_caller]
    pub fn expect(&mut self, line: &str, want: &str) {
        let got = self.cmd(line);
        assert!(
            got == want.as_bytes(),
            "`{line}`:\n  expected: {}\n  got:      {}",
            escape(want.as_bytes()),
            escape(&got)
        );
    }

    /// Reads one reply and asserts it is `want` (shown escaped).
    #[track_caller]
    pub fn expect_frame(&mut self, want: &[u8]) {
        let got = self.read_frame();
        assert!(
            got == want,
            "reply:\n  expected: {}\n  got:      {}",
            escape(want),
            escape(&got)
        );
    }

    /// Switches the connection to RESP3; returns the HELLO reply.
    pub fn hello3(&mut self) -> Vec<u8> {
        let reply = self.cmd("HELLO 3");
        assert!(
            reply.starts_with(b"%"),
            "HELLO 3 replied {}",
            escape(&reply)
        );
        reply
    }
}

/// Asserts a transcript: each command's raw reply equals the expected bytes.
#[track_caller]
pub fn check(conn: &mut Conn, transcript: &[(&str, &str)]) {
    for (i, (command, expected)) in transcript.iter().enumerate() {
        let got = conn.cmd(command);
        assert!(
            got == expected.as_bytes(),
            "step {} `{command}`:\n  expected: {}\n  got:      {}",
            i + 1,
            escape(expected.as_bytes()),
            escape(&got)
        );
    }
}

/// Appends `args` as a RESP multibulk request.
pub fn encode_request(args: &[&[u8]], out: &mut Vec<u8>) {
    out.extend_from_slice(format!("*{}\r\n", args.len()).as_bytes());
    for a in args {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
}

/// Bytes as printable ASCII with `\r`, `\n`, `\xNN` escapes.
pub fn escape(bytes: &[u8]) -> String {
    const MAX: usize = 2000;
    let shown = bytes.len().min(MAX);
    let mut s = bytes[..shown].escape_ascii().to_string();
    if bytes.len() > MAX {
        s.push_str(&format!("... ({} bytes)", bytes.len()));
    }
    s
}

/// Length of the first complete RESP2/RESP3 reply frame in `buf`, or
/// `Ok(None)` when more bytes are needed. An attribute (`|`) counts as part
/// of the frame it annotates; a push (`>`) is a frame of its own.
pub fn frame_len(buf: &[u8]) -> Result<Option<usize>, String> {
    frame_end(buf, 0, 0)
}

fn find_crlf(buf: &[u8], from: usize) -> Option<usize> {
    buf.get(from..)?
        .windows(2)
        .position(|w| w == b"\r\n")
        .map(|i| from + i)
}

fn frame_end(buf: &[u8], pos: usize, depth: usize) -> Result<Option<usize>, String> {
    if depth > 64 {
        return Err("reply nested too deep".into());
    }
    let Some(&kind) = buf.get(pos) else {
        return Ok(None);
    };
    let Some(cr) = find_crlf(buf, pos + 1) else {
        return Ok(None);
    };
    let header = &buf[pos + 1..cr];
    let after = cr + 2;
    let int = || -> Result<i64, String> {
        std::str::from_utf8(header)
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| format!("bad length {:?} at byte {pos}", escape(header)))
    };
    match kind {
        b'+' | b'-' | b':' | b'_' | b'#' | b',' | b'(' => Ok(Some(after)),
        b'$' | b'!' | b'=' => {
            let n = int()?;
            if n < 0 {
                return Ok(Some(after));
            }
            let end = after + n as usize + 2;
            if buf.len() < end {
                return Ok(None);
            }
            if &buf[end - 2..end] != b"\r\n" {
                return Err(format!(
                    "bulk of {n} bytes at byte {pos} not followed by CRLF"
                ));
            }
            Ok(Some(end))
        }
        b'*' | b'~' | b'>' | b'%' | b'|' => {
            let n = int()?;
            if n < 0 {
                return Ok(Some(after));
            }
            let count = if matches!(kind, b'%' | b'|') {
                2 * n
            } else {
                n
            };
            let mut p = after;
            for _ in 0..count {
                match frame_end(buf, p, depth + 1)? {
                    Some(e) => p = e,
                    None => return Ok(None),
                }
            }
            if kind == b'|' {
                // The attribute is followed by the reply it annotates.
                return frame_end(buf, p, depth + 1);
            }
            Ok(Some(p))
        }
        other => Err(format!(
            "unknown reply type byte {:?} at byte {pos}",
            other as char
        )),
    }
}

/// Splits an aggregate frame into its header line and the raw bytes of each
/// element (map pairs count as two elements). `None` for non-aggregates.
pub fn elements(frame: &[u8]) -> Option<(Vec<u8>, Vec<Vec<u8>>)> {
    if !matches!(frame.first(), Some(b'*' | b'~' | b'>' | b'%')) {
        return None;
    }
    let cr = find_crlf(frame, 1)?;
    let n: i64 = std::str::from_utf8(&frame[1..cr]).ok()?.parse().ok()?;
    let header = frame[..cr + 2].to_vec();
    let count = if frame[0] == b'%' {
        2 * n.max(0)
    } else {
        n.max(0)
    };
    let mut items = Vec::new();
    let mut p = cr + 2;
    for _ in 0..count {
        let end = frame_end(frame, p, 1).ok()??;
        items.push(frame[p..end].to_vec());
        p = end;
    }
    Some((header, items))
}

/// The payload of a simple string, error, integer or bulk string frame.
pub fn scalar(frame: &[u8]) -> Option<Vec<u8>> {
    let cr = find_crlf(frame, 1)?;
    match frame.first()? {
        b'+' | b'-' | b':' | b',' | b'(' | b'#' => Some(frame[1..cr].to_vec()),
        b'$' | b'=' | b'!' => {
            let body = &frame[cr + 2..];
            Some(body.get(..body.len().checked_sub(2)?)?.to_vec())
        }
        _ => None,
    }
}

/// Splits a command line into arguments like redis-cli (sdssplitargs):
/// `"..."` with `\n \r \t \b \a \\ \" \xHH` escapes, `'...'` with only `\'`,
/// and a closing quote must be followed by a space or the end.
pub fn split_args(line: &str) -> Result<Vec<Vec<u8>>, String> {
    let b = line.as_bytes();
    let mut args = Vec::new();
    let mut i = 0;
    loop {
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        if i == b.len() {
            return Ok(args);
        }
        let mut cur = Vec::new();
        let mut quote: Option<u8> = None;
        loop {
            let Some(&c) = b.get(i) else {
                if quote.is_some() {
                    return Err("unbalanced quotes".into());
                }
                break;
            };
            match quote {
                None if c.is_ascii_whitespace() => break,
                None if c == b'"' || c == b'\'' => quote = Some(c),
                None => cur.push(c),
                Some(q) if c == q => {
                    if b.get(i + 1).is_some_and(|n| !n.is_ascii_whitespace()) {
                        return Err("closing quote must be followed by a space".into());
                    }
                    i += 1;
                    break;
                }
                Some(b'"') if c == b'\\' && i + 1 < b.len() => {
                    i += 1;
                    let e = b[i];
                    let hex = |h: u8| (h as char).to_digit(16);
                    match e {
                        b'x' if i + 2 < b.len()
                            && hex(b[i + 1]).is_some()
                            && hex(b[i + 2]).is_some() =>
                        {
                            cur.push(
                                (hex(b[i + 1]).unwrap_or(0) * 16 + hex(b[i + 2]).unwrap_or(0))
                                    as u8,
                            );
                            i += 2;
                        }
                        b'n' => cur.push(b'\n'),
                        b'r' => cur.push(b'\r'),
                        b't' => cur.push(b'\t'),
                        b'b' => cur.push(8),
                        b'a' => cur.push(7),
                        other => cur.push(other),
                    }
                }
                Some(b'\'') if c == b'\\' && b.get(i + 1) == Some(&b'\'') => {
                    i += 1;
                    cur.push(b'\'');
                }
                Some(_) => cur.push(c),
            }
            i += 1;
        }
        args.push(cur);
    }
}

/// Either side of a differential run.
enum Target {
    Kevy(Server),
    Redis(Redis),
}

impl Target {
    fn port(&self) -> u16 {
        match self {
            Target::Kevy(s) => s.port(),
            Target::Redis(r) => r.port(),
        }
    }

    fn output(&self) -> String {
        match self {
            Target::Kevy(s) => s.output(),
            Target::Redis(r) => r.output(),
        }
    }
}

/// How one script line's replies are compared.
#[derive(Default, Clone, Copy)]
struct Compare {
    sort: bool,
    sort_pairs: bool,
    skip: bool,
    scan: bool,
    ttl: bool,
    pttl: bool,
    error_prefix: bool,
}

/// Runs `tests/scripts/<name>.txt` against kevy-server and redis-server and
/// panics on the first reply that differs (see the module docs).
pub fn diff_script(name: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/scripts/{name}.txt"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let Some(redis) = Redis::start() else { return };
    let subject = if selftest() {
        match Redis::start() {
            Some(r) => Target::Redis(r),
            None => return,
        }
    } else {
        // Same persistence settings as the oracle, so CONFIG GET agrees.
        Target::Kevy(Server::start(&[
            "--threads",
            "2",
            "--save",
            "",
            "--appendonly",
            "no",
        ]))
    };
    let oracle = Target::Redis(redis);
    let report_all = std::env::var_os("E2E_DIFF_ALL").is_some();
    let print = std::env::var_os("E2E_DIFF_PRINT").is_some();
    let mut ours = Conn::connect(subject.port());
    let mut theirs = Conn::connect(oracle.port());
    let mut mismatches = Vec::new();
    let mut first_command = true;

    for (idx, raw_line) in text.lines().enumerate() {
        let lineno = idx + 1;
        let line = raw_line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let loc = format!("{name}.txt:{lineno}");
        if let Some(ms) = line.strip_prefix("@sleep ") {
            let ms: u64 = ms
                .trim()
                .parse()
                .unwrap_or_else(|_| panic!("{loc}: bad @sleep"));
            std::thread::sleep(Duration::from_millis(ms));
            continue;
        }
        if line == "@resp3" || line == "@resp2" {
            let hello = if line == "@resp3" {
                "HELLO 3"
            } else {
                "HELLO 2"
            };
            for conn in [&mut ours, &mut theirs] {
                let reply = conn.cmd(hello);
                assert!(
                    reply.starts_with(b"%") || reply.starts_with(b"*"),
                    "{loc}: {hello} on port {} replied {}",
                    conn.port(),
                    escape(&reply)
                );
            }
            continue;
        }
        let mut how = Compare::default();
        let mut rest = line;
        while let Some(r) = rest.strip_prefix('@') {
            let (word, tail) = r.split_once(' ').unwrap_or((r, ""));
            match word {
                "sort" => how.sort = true,
                "sort-pairs" => how.sort_pairs = true,
                "skip-compare" => how.skip = true,
                "scan" => how.scan = true,
                "ttl" => how.ttl = true,
                "pttl" => how.pttl = true,
                "error-prefix" => how.error_prefix = true,
                other => panic!("{loc}: unknown directive @{other}"),
            }
            rest = tail.trim_start();
        }
        let args = split_args(rest).unwrap_or_else(|e| panic!("{loc}: {e}"));
        assert!(!args.is_empty(), "{loc}: directive without a command");
        if first_command {
            assert!(
                args[0].eq_ignore_ascii_case(b"FLUSHALL"),
                "{loc}: every script starts with FLUSHALL"
            );
            first_command = false;
        }

        let (got, want) = if how.scan {
            (scan_all(&mut ours, &args), scan_all(&mut theirs, &args))
        } else {
            (run(&mut ours, &args), run(&mut theirs, &args))
        };
        if print {
            println!("{loc} {rest}\n    -> {}", escape(&want));
        }
        let same = how.skip || same_reply(&got, &want, how);
        if !same {
            let msg = format!(
                "{loc}: `{rest}` differs\n  kevy:  {}\n  redis: {}",
                escape(&got),
                escape(&want)
            );
            if !report_all {
                panic!(
                    "{msg}\n--- kevy-server output (last lines):\n{}",
                    tail(&subject.output())
                );
            }
            mismatches.push(msg);
        }
        if args[0].eq_ignore_ascii_case(b"QUIT") {
            ours = Conn::connect(subject.port());
            theirs = Conn::connect(oracle.port());
        }
    }
    if !mismatches.is_empty() {
        panic!(
            "{} mismatches in {name}.txt:\n{}\n--- server output:\n{}",
            mismatches.len(),
            mismatches.join("\n"),
            tail(&subject.output())
        );
    }
}

/// The last 30 lines of a server's output.
fn tail(output: &str) -> String {
    let lines: Vec<&str> = output.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}

fn run(conn: &mut Conn, args: &[Vec<u8>]) -> Vec<u8> {
    let refs: Vec<&[u8]> = args.iter().map(|a| a.as_slice()).collect();
    let mut request = Vec::new();
    encode_request(&refs, &mut request);
    if let Err(e) = conn.try_send_raw(&request) {
        return format!("<could not send: {e}>").into_bytes();
    }
    conn.try_read_frame()
        .unwrap_or_else(|e| format!("<no reply: {e}>").into_bytes())
}

/// Follows a SCAN-family cursor to 0; returns an array of the sorted, deduped
/// elements (pairs joined for HSCAN/ZSCAN), or the first non-array reply.
fn scan_all(conn: &mut Conn, args: &[Vec<u8>]) -> Vec<u8> {
    let name = args[0].to_ascii_uppercase();
    let cursor_at = if name == b"SCAN" { 1 } else { 2 };
    let pairs = name == b"HSCAN" || name == b"ZSCAN";
    let mut args = args.to_vec();
    assert!(args.len() > cursor_at, "@scan needs a cursor argument");
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..100_000 {
        let reply = run(conn, &args);
        let Some((_, parts)) = elements(&reply) else {
            return reply;
        };
        let (Some(cursor), Some(batch)) = (parts.first().and_then(|c| scalar(c)), parts.get(1))
        else {
            return reply;
        };
        let Some((_, items)) = elements(batch) else {
            return reply;
        };
        if pairs {
            for pair in items.chunks(2) {
                seen.insert(pair.concat());
            }
        } else {
            seen.extend(items);
        }
        if cursor == b"0" {
            let mut out = format!("*{}\r\n", seen.len()).into_bytes();
            for item in seen {
                out.extend_from_slice(&item);
            }
            return out;
        }
        args[cursor_at] = cursor;
    }
    b"<scan did not finish within 100000 calls>".to_vec()
}

fn same_reply(got: &[u8], want: &[u8], how: Compare) -> bool {
    if got == want {
        return true;
    }
    if how.sort || how.sort_pairs {
        if let (Some((gh, g)), Some((wh, w))) = (elements(got), elements(want)) {
            let group = if how.sort_pairs { 2 } else { 1 };
            let sorted = |items: Vec<Vec<u8>>| {
                let mut v: Vec<Vec<u8>> = items.chunks(group).map(|c| c.concat()).collect();
                v.sort();
                v
            };
            return gh == wh && g.len() == w.len() && sorted(g) == sorted(w);
        }
    }
    if (how.ttl || how.pttl) && got.first() == Some(&b':') && want.first() == Some(&b':') {
        let num = |f: &[u8]| -> Option<i64> { std::str::from_utf8(&scalar(f)?).ok()?.parse().ok() };
        if let (Some(a), Some(b)) = (num(got), num(want)) {
            let slack = if how.pttl { 1000 } else { 1 };
            return a.abs_diff(b) <= slack;
        }
    }
    if how.error_prefix && got.first() == Some(&b'-') && want.first() == Some(&b'-') {
        let word = |f: &[u8]| -> Vec<u8> {
            f[1..]
                .iter()
                .take_while(|&&c| c != b' ' && c != b'\r')
                .copied()
                .collect()
        };
        return word(got) == word(want);
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_len_handles_every_reply_type() {
        let complete: &[&[u8]] = &[
            b"+OK\r\n",
            b"-ERR x\r\n",
            b":-5\r\n",
            b"$-1\r\n",
            b"$0\r\n\r\n",
            b"$5\r\na\r\nb\r\r\n",
            b"*-1\r\n",
            b"*0\r\n",
            b"*2\r\n$1\r\na\r\n*1\r\n:1\r\n",
            b"_\r\n",
            b"#t\r\n",
            b",1.5\r\n",
            b"(12345678901234567890\r\n",
            b"!3\r\nerr\r\n",
            b"=7\r\ntxt:abc\r\n",
            b"%2\r\n+a\r\n:1\r\n+b\r\n*1\r\n_\r\n",
            b"~2\r\n+a\r\n+b\r\n",
            b">2\r\n+message\r\n$1\r\nx\r\n",
            b"|1\r\n+ttl\r\n:3\r\n$1\r\nv\r\n",
        ];
        for frame in complete {
            assert_eq!(frame_len(frame), Ok(Some(frame.len())), "{}", escape(frame));
            let mut two = frame.to_vec();
            two.extend_from_slice(b"+next\r\n");
            assert_eq!(frame_len(&two), Ok(Some(frame.len())), "{}", escape(frame));
            for cut in 0..frame.len() {
                assert_eq!(
                    frame_len(&frame[..cut]),
                    Ok(None),
                    "{} cut at {cut}",
                    escape(frame)
                );
            }
        }
        assert!(frame_len(b"?\r\n").is_err());
        assert!(frame_len(b"$x\r\n").is_err());
        assert!(frame_len(b"$1\r\nab\r\n").is_err());
    }

    #[test]
    fn elements_and_scalars() {
        let (header, items) = elements(b"*3\r\n$1\r\na\r\n*1\r\n:1\r\n_\r\n").expect("array");
        assert_eq!(header, b"*3\r\n");
        assert_eq!(items, [&b"$1\r\na\r\n"[..], b"*1\r\n:1\r\n", b"_\r\n"]);
        let (_, pairs) = elements(b"%1\r\n+k\r\n+v\r\n").expect("map");
        assert_eq!(pairs.len(), 2);
        assert_eq!(elements(b"+OK\r\n"), None);
        assert_eq!(scalar(b"$3\r\nabc\r\n").as_deref(), Some(&b"abc"[..]));
        assert_eq!(scalar(b":42\r\n").as_deref(), Some(&b"42"[..]));
        assert_eq!(scalar(b"-ERR no\r\n").as_deref(), Some(&b"ERR no"[..]));
    }

    #[test]
    fn split_args_quotes_like_redis_cli() {
        let split = |s: &str| {
            split_args(s).map(|v| {
                v.into_iter()
                    .map(|a| String::from_utf8_lossy(&a).into_owned())
                    .collect::<Vec<_>>()
            })
        };
        assert_eq!(split("SET a b").unwrap(), ["SET", "a", "b"]);
        assert_eq!(split("  SET   a  ").unwrap(), ["SET", "a"]);
        assert_eq!(split(r#"SET "a b" 'c d'"#).unwrap(), ["SET", "a b", "c d"]);
        assert_eq!(split(r#"SET "" ''"#).unwrap(), ["SET", "", ""]);
        assert_eq!(
            split(r#"ECHO "\x41\n\t\\\"""#).unwrap(),
            ["ECHO", "A\n\t\\\""]
        );
        assert_eq!(split(r"ECHO 'it\'s'").unwrap(), ["ECHO", "it's"]);
        assert_eq!(split(r#"ECHO '\x41'"#).unwrap(), ["ECHO", r"\x41"]);
        assert_eq!(split(r#"KEYS a\*b"#).unwrap(), ["KEYS", r"a\*b"]);
        assert!(split(r#"SET "a"#).is_err());
        assert!(split(r#"SET "a"b"#).is_err());
        assert_eq!(split_args(r#""\xff\x00""#).unwrap(), [vec![0xff, 0]]);
    }

    #[test]
    fn port_line() {
        assert_eq!(
            parse_port("kevy-server 0.1.0 listening on 127.0.0.1:6379 (2 threads)"),
            Some(6379)
        );
        assert_eq!(parse_port("listening on 127.0.0.1:0"), None);
        assert_eq!(parse_port("starting"), None);
    }

    #[test]
    fn comparisons() {
        let exact = Compare::default();
        assert!(same_reply(b":1\r\n", b":1\r\n", exact));
        assert!(!same_reply(b":1\r\n", b":2\r\n", exact));
        let ttl = Compare { ttl: true, ..exact };
        assert!(same_reply(b":99\r\n", b":100\r\n", ttl));
        assert!(!same_reply(b":98\r\n", b":100\r\n", ttl));
        let sort = Compare {
            sort: true,
            ..exact
        };
        assert!(same_reply(
            b"*2\r\n+a\r\n+b\r\n",
            b"*2\r\n+b\r\n+a\r\n",
            sort
        ));
        assert!(!same_reply(
            b"*2\r\n+a\r\n+b\r\n",
            b"~2\r\n+b\r\n+a\r\n",
            sort
        ));
        let pairs = Compare {
            sort_pairs: true,
            ..exact
        };
        assert!(same_reply(
            b"*4\r\n+a\r\n+1\r\n+b\r\n+2\r\n",
            b"*4\r\n+b\r\n+2\r\n+a\r\n+1\r\n",
            pairs
        ));
        assert!(!same_reply(
            b"*4\r\n+a\r\n+2\r\n+b\r\n+1\r\n",
            b"*4\r\n+b\r\n+2\r\n+a\r\n+1\r\n",
            pairs
        ));
        let prefix = Compare {
            error_prefix: true,
            ..exact
        };
        assert!(same_reply(b"-ERR one\r\n", b"-ERR two\r\n", prefix));
        assert!(!same_reply(b"-ERR one\r\n", b"-WRONGTYPE one\r\n", prefix));
    }
}
