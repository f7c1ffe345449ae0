//! Differential scripts.
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
//!   - `@times` every integer in the reply, however deep, may differ; the
//!     shape, strings, IDs and nulls must match (`XINFO STREAM FULL`,
//!     `XPENDING ... start end count`, `XINFO CONSUMERS`: delivery times,
//!     seen-times and idle times are the servers' clocks);
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

use super::*;

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
    times: bool,
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
                "times" => how.times = true,
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
    if how.times {
        return mask_ints(got) == mask_ints(want);
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

/// `frame` with every integer (`:n`) replaced by `:#`, walking the RESP
/// structure so bulk payloads are left alone. Unparsable bytes stay as
/// they are.
pub fn mask_ints(frame: &[u8]) -> Vec<u8> {
    fn walk(f: &[u8], p: usize, out: &mut Vec<u8>) -> Option<usize> {
        let cr = p + f.get(p..)?.windows(2).position(|w| w == b"\r\n")?;
        let line = &f[p..cr];
        match line.first()? {
            b':' => out.extend_from_slice(b":#\r\n"),
            b'*' | b'~' | b'>' | b'%' => {
                out.extend_from_slice(&f[p..cr + 2]);
                let n: i64 = std::str::from_utf8(&line[1..]).ok()?.parse().ok()?;
                let n = if line[0] == b'%' { 2 * n } else { n };
                let mut q = cr + 2;
                for _ in 0..n.max(0) {
                    q = walk(f, q, out)?;
                }
                return Some(q);
            }
            b'$' | b'=' | b'!' => {
                let n: i64 = std::str::from_utf8(&line[1..]).ok()?.parse().ok()?;
                let end = if n < 0 {
                    cr + 2
                } else {
                    cr + 2 + n as usize + 2
                };
                out.extend_from_slice(f.get(p..end)?);
                return Some(end);
            }
            _ => out.extend_from_slice(&f[p..cr + 2]),
        }
        Some(cr + 2)
    }
    let mut out = Vec::new();
    match walk(frame, 0, &mut out) {
        Some(_) => out,
        None => frame.to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comparisons() {
        let exact = Compare::default();
        assert!(same_reply(b":1\r\n", b":1\r\n", exact));
        assert!(!same_reply(b":1\r\n", b":2\r\n", exact));
        let times = Compare {
            times: true,
            ..exact
        };
        assert!(same_reply(
            b"*2\r\n:1700000000000\r\n$2\r\n:1\r\n",
            b"*2\r\n:1700000000004\r\n$2\r\n:1\r\n",
            times
        ));
        assert!(!same_reply(b"*1\r\n:1\r\n", b"*1\r\n$1\r\n1\r\n", times));
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
