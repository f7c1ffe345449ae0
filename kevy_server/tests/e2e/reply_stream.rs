//! Streamed replies (issue 8: a bound on huge replies): `LRANGE` of a
//! multi-million element list is written from a snapshot in bounded chunks
//! as the client reads, so a client that does not read holds the server's
//! memory to a chunk, not the reply; the bytes are redis-server's, in
//! RESP2 and RESP3, in pipelines and inside MULTI/EXEC.

use crate::util::{encode_request, escape, Conn, Redis, Server};
use std::time::{Duration, Instant};

/// Sends `cmds` pipelined, `window` at a time, and checks each reply is
/// not an error.
fn pipeline(c: &mut Conn, cmds: &[Vec<Vec<u8>>], window: usize) {
    for group in cmds.chunks(window) {
        let mut raw = Vec::new();
        for cmd in group {
            let refs: Vec<&[u8]> = cmd.iter().map(|a| a.as_slice()).collect();
            encode_request(&refs, &mut raw);
        }
        c.send_raw(&raw);
        for _ in group {
            let r = c.read_frame();
            assert!(!r.starts_with(b"-"), "setup command failed: {}", escape(&r));
        }
    }
}

/// `RPUSH key` of `n` elements `e<i>`, as commands of `batch` elements.
fn rpush_cmds(key: &str, n: usize, batch: usize) -> Vec<Vec<Vec<u8>>> {
    (0..n)
        .step_by(batch)
        .map(|from| {
            let mut cmd = vec![b"RPUSH".to_vec(), key.as_bytes().to_vec()];
            cmd.extend((from..(from + batch).min(n)).map(|i| format!("e{i}").into_bytes()));
            cmd
        })
        .collect()
}

/// What `LRANGE key 0 -1` replies for those elements.
fn lrange_bytes(n: usize) -> Vec<u8> {
    let mut out = format!("*{n}\r\n").into_bytes();
    for i in 0..n {
        let e = format!("e{i}");
        out.extend_from_slice(format!("${}\r\n{e}\r\n", e.len()).as_bytes());
    }
    out
}

/// One `INFO` field as a number.
fn info_num(c: &mut Conn, field: &str) -> u64 {
    let info = c.cmd_str("INFO");
    info.lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("INFO has no numeric {field}"))
}

/// Resident set size of process `pid`, in bytes.
fn rss(pid: u64) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// A client that sends `LRANGE` of a 2M-element list and does not read
/// costs the server about a chunk, not the ~30 MB reply (nor the reply tree
/// an eager server builds); other clients are served meanwhile; writes
/// after the command do not show in the reply; a client that leaves
/// mid-stream is no trouble; and the reader finally gets every byte, in
/// order with the pipelined command behind it.
#[test]
fn a_huge_lrange_streams_in_bounded_memory() {
    const N: usize = 2_000_000;
    let s = Server::start(&[]);
    let mut w = s.conn();
    let t0 = Instant::now();
    pipeline(&mut w, &rpush_cmds("big", N, 2000), 50);
    println!("built a {N}-element list in {:?}", t0.elapsed());
    let want = lrange_bytes(N);

    let mut info = s.conn();
    let pid = info_num(&mut info, "process_id");
    let (used0, rss0) = (info_num(&mut info, "used_memory"), rss(pid));

    let mut slow = s.conn();
    slow.send_raw(
        b"*4\r\n$6\r\nLRANGE\r\n$3\r\nbig\r\n$1\r\n0\r\n$2\r\n-1\r\n*1\r\n$4\r\nPING\r\n",
    );
    // The header has arrived, so the command ran (and took its snapshot)
    // before the writes below; the rest is left unread for now.
    let header = format!("*{N}\r\n");
    assert_eq!(slow.read_exact(header.len()), header.as_bytes());
    // A second reader that leaves after a few bytes.
    let mut quitter = s.conn();
    quitter.send(&[b"LRANGE", b"big", b"0", b"-1"]);
    assert_eq!(quitter.read_exact(100_000), want[..100_000]);
    drop(quitter);

    // Writes after the command are not in its reply (snapshot).
    w.expect("LSET big 0 changed", "+OK\r\n");
    w.expect("RPUSH big extra", &format!(":{}\r\n", N + 1));
    std::thread::sleep(Duration::from_millis(500));
    let t = Instant::now();
    for _ in 0..50 {
        info.expect("PING", "+PONG\r\n");
    }
    let served = t.elapsed();
    let (used1, rss1) = (info_num(&mut info, "used_memory"), rss(pid));
    let clients = info.cmd_str("CLIENT LIST");
    println!(
        "reply {} bytes; while unread: used_memory {} -> {} (+{}), RSS {} -> {} (+{}); 50 PINGs in {served:?}",
        want.len(),
        used0,
        used1,
        used1 as i64 - used0 as i64,
        rss0,
        rss1,
        rss1 as i64 - rss0 as i64
    );
    assert!(
        used1 < used0 + (8 << 20),
        "used_memory grew by {} bytes for an unread {}-byte reply",
        used1 - used0,
        want.len()
    );
    assert!(
        rss1 < rss0 + (24 << 20),
        "RSS grew by {} bytes for an unread {}-byte reply",
        rss1 - rss0,
        want.len()
    );
    // The unread client's buffered output (omem) is about a chunk.
    let omem: Vec<u64> = clients
        .lines()
        .filter_map(|l| l.split(' ').find_map(|f| f.strip_prefix("omem=")))
        .filter_map(|v| v.parse().ok())
        .collect();
    assert!(omem.iter().all(|&m| m < 1 << 20), "omem: {omem:?}");

    let rest = slow.read_exact(want.len() - header.len());
    let got = [header.as_bytes(), &rest].concat();
    if let Some(i) = (0..want.len()).find(|&i| got[i] != want[i]) {
        panic!(
            "reply differs at byte {i}: got {} want {}",
            escape(&got[i..(i + 60).min(got.len())]),
            escape(&want[i..(i + 60).min(want.len())])
        );
    }
    slow.expect_frame(b"+PONG\r\n");
    w.expect("LLEN big", &format!(":{}\r\n", N + 1));
    println!("whole test {:?}", t0.elapsed());
}

/// The same bytes as redis-server 7.0.15 for big LRANGE and ZRANGE
/// replies, in RESP2 and RESP3, pipelined and inside MULTI/EXEC.
#[test]
fn big_replies_match_redis() {
    let Some(redis) = Redis::start() else {
        return;
    };
    let s = Server::start(&[]);
    const N: usize = 20_000;
    let mut setup = rpush_cmds("l", N, 1000);
    for from in (0..N).step_by(1000) {
        let mut zadd = vec![b"ZADD".to_vec(), b"z".to_vec()];
        for i in from..from + 1000 {
            zadd.push(format!("{}", (i % 977) as f64 / 7.0).into_bytes());
            zadd.push(format!("m{i}").into_bytes());
        }
        setup.push(zadd);
    }
    let script: &[&[&str]] = &[
        &["LRANGE l 0 -1", "PING"],
        &["LRANGE l 123 -456"],
        &["ZRANGE z 0 -1 WITHSCORES", "ZRANGE z 0 -1"],
        &["ZREVRANGEBYSCORE z +inf -inf WITHSCORES LIMIT 5 19000"],
        &["ZRANGE z +inf (3 BYSCORE REV WITHSCORES"],
        &[
            "MULTI",
            "LRANGE l 0 -1",
            "ZRANGE z 0 -1 WITHSCORES",
            "PING",
            "EXEC",
        ],
    ];
    let mut kevy = s.conn();
    let mut oracle = redis.conn();
    pipeline(&mut kevy, &setup, 20);
    pipeline(&mut oracle, &setup, 20);
    for proto in [2, 3] {
        if proto == 3 {
            kevy.hello3();
            oracle.hello3();
        }
        for group in script {
            let mut raw = Vec::new();
            for line in *group {
                let args: Vec<&[u8]> = line.split(' ').map(str::as_bytes).collect();
                encode_request(&args, &mut raw);
            }
            kevy.send_raw(&raw);
            oracle.send_raw(&raw);
            for line in *group {
                let (a, b) = (kevy.read_frame(), oracle.read_frame());
                assert!(
                    a == b,
                    "RESP{proto} `{line}` differs from redis-server ({} vs {} bytes)",
                    a.len(),
                    b.len()
                );
            }
        }
    }
}

/// KEYS, SMEMBERS, HGETALL and random picks stream complete replies (the
/// store's tests check their bytes), also under `appendfsync always`, where
/// a batch's replies wait for the shared fsync before any chunk leaves.
#[test]
fn other_streamed_replies_are_complete() {
    let s = Server::start(&["--appendonly", "yes", "--appendfsync", "always"]);
    let mut c = s.conn();
    const N: usize = 20_000;
    let mut setup = Vec::new();
    for from in (0..N).step_by(1000) {
        let mut mset = vec![b"MSET".to_vec()];
        let mut sadd = vec![b"SADD".to_vec(), b"s".to_vec()];
        let mut hset = vec![b"HSET".to_vec(), b"h".to_vec()];
        for i in from..from + 1000 {
            mset.extend([format!("k{i}").into_bytes(), b"v".to_vec()]);
            sadd.push(format!("m{i}").into_bytes());
            hset.extend([format!("f{i}").into_bytes(), format!("v{i}").into_bytes()]);
        }
        setup.extend([mset, sadd, hset]);
    }
    pipeline(&mut c, &setup, 10);
    let lines = [
        ("KEYS *", N + 2, b'*'),
        ("SMEMBERS s", N, b'*'),
        ("HGETALL h", 2 * N, b'*'),
        ("HKEYS h", N, b'*'),
        ("SRANDMEMBER s -30000", 30_000, b'*'),
        ("ZRANDMEMBER nokey -30000", 0, b'*'),
    ];
    let mut raw = Vec::new();
    for (line, _, _) in lines {
        let args: Vec<&[u8]> = line.split(' ').map(str::as_bytes).collect();
        encode_request(&args, &mut raw);
    }
    encode_request(&[b"PING"], &mut raw);
    c.send_raw(&raw);
    for (line, n, kind) in lines {
        let frame = c.read_frame();
        let (header, items) = crate::util::elements(&frame).expect("an aggregate");
        assert_eq!(header[0], kind, "{line}");
        assert_eq!(items.len(), n, "{line}");
        assert!(items.iter().all(|i| i.starts_with(b"$")), "{line}");
    }
    c.expect_frame(b"+PONG\r\n");
    c.hello3();
    c.send(&[b"HGETALL", b"h"]);
    let (header, items) = crate::util::elements(&c.read_frame()).expect("a map");
    assert_eq!(
        (header, items.len()),
        (format!("%{N}\r\n").into_bytes(), 2 * N)
    );
}

/// A client reading a long reply slowly is not idle: `timeout` does not
/// close it mid-stream (as in Redis, taking output counts as interaction).
/// The reader takes about 5 MB/s, so the server's socket drains often
/// enough to be written (and the client touched) well within the timeout,
/// whatever the kernel buffers hold.
#[test]
fn a_slow_reader_is_not_idle() {
    const N: usize = 40_000;
    let elem = |i: usize| format!("{i:0>1000}").into_bytes();
    let cmds: Vec<Vec<Vec<u8>>> = (0..N)
        .step_by(1000)
        .map(|from| {
            let mut cmd = vec![b"RPUSH".to_vec(), b"big".to_vec()];
            cmd.extend((from..from + 1000).map(elem));
            cmd
        })
        .collect();
    let mut want = format!("*{N}\r\n").into_bytes();
    for i in 0..N {
        want.extend_from_slice(b"$1000\r\n");
        want.extend(elem(i));
        want.extend_from_slice(b"\r\n");
    }
    // Connect only now: building the data may take longer than the
    // timeout on a busy machine, and an unused connection is idle.
    let s = Server::start(&["--timeout", "1"]);
    let mut w = s.conn();
    pipeline(&mut w, &cmds, 4);
    let mut slow = s.conn();
    slow.send(&[b"LRANGE", b"big", b"0", b"-1"]);
    let mut got = Vec::with_capacity(want.len());
    let t = Instant::now();
    while t.elapsed() < Duration::from_secs(4) && got.len() + (1 << 20) < want.len() {
        got.extend(slow.read_exact(512 * 1024));
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        t.elapsed() >= Duration::from_secs(3),
        "the reply should outlast the timeout"
    );
    got.extend(slow.read_exact(want.len() - got.len()));
    // Complete: not cut by the timeout. (Once the last chunk is in the
    // kernel's buffers the client may well be closed as idle while it reads
    // them, as Redis would: no command follows.)
    assert!(got == want, "the slow reader got a different reply");
}
