//! Starting, probing and stopping the two servers under test. A [`Server`]
//! owns its child process and scratch directory and kills the child when it
//! is dropped, so an error anywhere in a benchmark (or a panic) never leaves
//! a server behind; on ctrl-c the terminal's SIGINT reaches the children too,
//! since they share xtask's process group. Also here: the `/proc` readers
//! for a server's CPU time and resident memory, and a tiny RESP client for
//! setup commands (FLUSHALL, BGSAVE, INFO).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Which server a measurement belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Kevy,
    Redis,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Kevy => "kevy",
            Kind::Redis => "redis",
        }
    }
}

/// Persistence settings, passed identically to both servers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Persist {
    /// `--save "" --appendonly no`.
    Off,
    /// `--save "" --appendonly yes --appendfsync <policy>`.
    Aof(&'static str),
}

impl Persist {
    fn args(self) -> Vec<String> {
        let mut a = vec!["--save".to_string(), String::new()];
        match self {
            Persist::Off => a.extend(["--appendonly".into(), "no".into()]),
            Persist::Aof(p) => a.extend([
                "--appendonly".into(),
                "yes".into(),
                "--appendfsync".into(),
                p.to_string(),
            ]),
        }
        a
    }
}

/// How to start the servers: binaries, kevy's thread count, scratch root.
#[derive(Clone, Debug)]
pub struct Setup {
    pub kevy_bin: PathBuf,
    pub threads: Option<usize>,
    pub scratch: PathBuf,
}

/// A running server; dropping it kills the process and removes its directory.
pub struct Server {
    pub kind: Kind,
    pub port: u16,
    pub pid: u32,
    child: Child,
    dir: PathBuf,
}

impl Server {
    /// Starts `kind` with `persist` in a fresh directory under the scratch root.
    pub fn start(setup: &Setup, kind: Kind, persist: Persist) -> Result<Server, String> {
        let dir = fresh_dir(&setup.scratch, kind)?;
        let log = std::fs::File::create(dir.join("server.log"))
            .map_err(|e| format!("creating {}: {e}", dir.display()))?;
        let (mut cmd, port) = match kind {
            Kind::Kevy => {
                let mut c = Command::new(&setup.kevy_bin);
                c.args(["--port", "0", "--bind", "127.0.0.1"]);
                if let Some(t) = setup.threads {
                    c.args(["--threads", &t.to_string()]);
                }
                (c, None)
            }
            Kind::Redis => {
                let port = free_port()?;
                let mut c = Command::new("redis-server");
                c.args(["--port", &port.to_string(), "--bind", "127.0.0.1"]);
                (c, Some(port))
            }
        };
        cmd.arg("--dir").arg(&dir).args(persist.args());
        cmd.stdin(Stdio::null()).stderr(log);
        cmd.stdout(Stdio::piped());
        let mut child = cmd
            .spawn()
            .map_err(|e| format!("starting {}: {e}", kind.name()))?;
        let pid = child.id();
        let stdout = child.stdout.take();
        let mut server = Server {
            kind,
            port: port.unwrap_or(0),
            pid,
            child,
            dir,
        };
        let stdout = stdout.ok_or("no stdout pipe")?;
        let (tx, rx) = std::sync::mpsc::channel();
        // Drains stdout for the server's whole life, so a chatty server never
        // blocks on a full pipe; the first "listening on" line gives the port.
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            let mut sent = false;
            for line in lines.by_ref().map_while(Result::ok) {
                if !sent {
                    if let Some(p) = listening_port(&line) {
                        let _ = tx.send(p);
                        sent = true;
                    }
                }
            }
        });
        if kind == Kind::Kevy {
            match rx.recv_timeout(Duration::from_secs(20)) {
                Ok(p) => server.port = p,
                Err(_) => return Err(server.failure("never printed `listening on`")),
            }
        }
        server.wait_ready()?;
        Ok(server)
    }

    fn wait_ready(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(Some(st)) = self.child.try_wait() {
                return Err(self.failure(&format!("exited with {st}")));
            }
            if let Ok(r) = self.command(&["PING"]) {
                if r.starts_with("+PONG") {
                    return Ok(());
                }
            }
            if Instant::now() > deadline {
                return Err(self.failure("did not answer PING within 20 s"));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// An error message carrying the tail of the server's log.
    pub fn failure(&self, what: &str) -> String {
        let log = std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(5).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        format!(
            "{} {what}; log tail:\n{}",
            self.kind.name(),
            tail.join("\n")
        )
    }

    /// True while the process runs.
    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Sends one command, returns its reply's raw text (errors are replies).
    pub fn command(&self, argv: &[&str]) -> Result<String, String> {
        command(self.port, argv)
    }

    /// utime + stime so far, in seconds.
    pub fn cpu_seconds(&self) -> Result<f64, String> {
        cpu_seconds(self.pid)
    }

    /// Resident set size in bytes.
    pub fn rss(&self) -> Result<u64, String> {
        let s = std::fs::read_to_string(format!("/proc/{}/status", self.pid))
            .map_err(|e| format!("reading /proc/{}/status: {e}", self.pid))?;
        vm_rss(&s).ok_or_else(|| "no VmRSS line".to_string())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn fresh_dir(root: &Path, kind: Kind) -> Result<PathBuf, String> {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let d = root.join(format!(
        "{}-{}",
        kind.name(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).map_err(|e| format!("creating {}: {e}", d.display()))?;
    Ok(d)
}

fn free_port() -> Result<u16, String> {
    let l = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("binding a port: {e}"))?;
    l.local_addr().map(|a| a.port()).map_err(|e| e.to_string())
}

/// Opens a connection to a server under test.
pub fn connect(port: u16) -> Result<TcpStream, String> {
    let s = TcpStream::connect(("127.0.0.1", port)).map_err(|e| format!("connect: {e}"))?;
    let _ = s.set_nodelay(true);
    s.set_read_timeout(Some(Duration::from_secs(120)))
        .map_err(|e| e.to_string())?;
    Ok(s)
}

/// Sends one command on a new connection and returns the reply's raw text.
pub fn command(port: u16, argv: &[&str]) -> Result<String, String> {
    let mut s = connect(port)?;
    let mut req = Vec::new();
    encode(&mut req, argv.iter().map(|a| a.as_bytes()));
    s.write_all(&req).map_err(|e| e.to_string())?;
    read_reply(&mut s)
}

/// Appends one RESP multibulk request.
pub fn encode<'a>(out: &mut Vec<u8>, argv: impl ExactSizeIterator<Item = &'a [u8]>) {
    out.extend_from_slice(format!("*{}\r\n", argv.len()).as_bytes());
    for a in argv {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
}

/// Reads one whole reply (any type) and returns it as text.
fn read_reply(s: &mut TcpStream) -> Result<String, String> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 65536];
    loop {
        if let Some(n) = reply_len(&buf) {
            return Ok(String::from_utf8_lossy(&buf[..n]).into_owned());
        }
        let n = s.read(&mut chunk).map_err(|e| format!("read: {e}"))?;
        if n == 0 {
            return Err("connection closed".into());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// The length of the first complete reply in `b`, if it is complete.
pub fn reply_len(b: &[u8]) -> Option<usize> {
    let line_end = b.windows(2).position(|w| w == b"\r\n")?;
    let head = std::str::from_utf8(&b[1..line_end]).ok()?;
    let after = line_end + 2;
    match b.first()? {
        b'$' => {
            let n: i64 = head.parse().ok()?;
            if n < 0 {
                return Some(after);
            }
            let end = after + n as usize + 2;
            (b.len() >= end).then_some(end)
        }
        b'*' => {
            let n: i64 = head.parse().ok()?;
            let mut at = after;
            for _ in 0..n.max(0) {
                at += reply_len(&b[at..])?;
            }
            Some(at)
        }
        _ => Some(after),
    }
}

/// The port in kevy's `... listening on 127.0.0.1:PORT (...)` line.
pub fn listening_port(line: &str) -> Option<u16> {
    let rest = &line[line.find("listening on ")? + "listening on ".len()..];
    let addr = rest.split_whitespace().next()?;
    addr.rsplit(':').next()?.parse().ok()
}

/// Clock ticks per second for `/proc/PID/stat` (from `getconf CLK_TCK`).
fn clk_tck() -> f64 {
    use std::sync::OnceLock;
    static TCK: OnceLock<f64> = OnceLock::new();
    *TCK.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
            .unwrap_or(100.0)
    })
}

/// utime + stime of `pid` in seconds (all threads; not reaped children).
pub fn cpu_seconds(pid: u32) -> Result<f64, String> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map_err(|e| format!("reading /proc/{pid}/stat: {e}"))?;
    let ticks = stat_ticks(&s).ok_or("unparsable /proc/PID/stat")?;
    Ok(ticks as f64 / clk_tck())
}

/// Fields 14 (utime) and 15 (stime) of a `/proc/PID/stat` line, summed.
/// The command name (field 2) may contain spaces, so count from its `)`.
pub fn stat_ticks(stat: &str) -> Option<u64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // rest starts at field 3, so field N is f[N - 3].
    let utime: u64 = f.get(11)?.parse().ok()?;
    let stime: u64 = f.get(12)?.parse().ok()?;
    Some(utime + stime)
}

/// VmRSS from `/proc/PID/status`, in bytes.
pub fn vm_rss(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_proc_files() {
        let stat = "1234 (kevy io (x)) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 31 0 0 20 0 3 0";
        assert_eq!(stat_ticks(stat), Some(281));
        let status =
            "Name:\tredis-server\nVmPeak:\t  10 kB\nVmRSS:\t    8192 kB\nRssAnon:\t 1 kB\n";
        assert_eq!(vm_rss(status), Some(8192 * 1024));
    }

    #[test]
    fn parses_listening_line() {
        let l = "kevy-server 0.1.0 listening on 127.0.0.1:40123 (2 threads, 2 shards)";
        assert_eq!(listening_port(l), Some(40123));
        assert_eq!(listening_port("starting"), None);
    }

    #[test]
    fn measures_replies() {
        assert_eq!(reply_len(b"+OK\r\n+OK\r\n"), Some(5));
        assert_eq!(reply_len(b"$3\r\nabc\r\n"), Some(9));
        assert_eq!(reply_len(b"$3\r\nab"), None);
        assert_eq!(reply_len(b"*2\r\n:1\r\n$-1\r\nx"), Some(13));
        assert_eq!(reply_len(b"*2\r\n:1\r\n"), None);
    }
}
