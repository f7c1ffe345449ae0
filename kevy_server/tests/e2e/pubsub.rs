//! Pub/sub against the oracle: (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE
//! confirmations, message frames and PUBSUB introspection in RESP2 and
//! RESP3, the RESP2 subscribed-mode rules, subscribers on other event-loop
//! threads, per-publisher ordering, and the `client-output-buffer-limit
//! pubsub` disconnection of a subscriber that never reads.
//!
//! Most tests are scenarios run twice, against a fresh redis-server and a
//! fresh kevy-server (`--threads 2`, so consecutive connections land on
//! different event loops); every frame read is recorded and the two
//! transcripts must be byte-identical. The [`differential`] helper and the
//! [`Rec`] recorder are shared with the tracking, notify, monitor and txn
//! modules.

use std::time::{Duration, Instant};

use crate::util::{elements, encode_request, escape, split_args, Conn, Redis, Server};

/// A transcript of one scenario run: labelled raw frames.
#[derive(Default)]
pub struct Rec {
    frames: Vec<(String, Vec<u8>)>,
    /// Byte rewrites applied to every recorded frame (masking values that
    /// legitimately differ, such as client ids).
    masks: Vec<(Vec<u8>, Vec<u8>)>,
    /// Which server the scenario runs against, for failure messages.
    server: &'static str,
}

impl Rec {
    /// Sends `line` on `c` without reading anything.
    pub fn send(&mut self, c: &mut Conn, line: &str) {
        let args = split_args(line).unwrap_or_else(|e| panic!("bad line {line:?}: {e}"));
        let refs: Vec<&[u8]> = args.iter().map(|a| a.as_slice()).collect();
        let mut out = Vec::new();
        encode_request(&refs, &mut out);
        c.send_raw(&out);
    }

    /// Reads one frame from `c` and records it under `label`.
    pub fn read(&mut self, c: &mut Conn, label: &str) -> Vec<u8> {
        let mut f = c
            .try_read_frame()
            .unwrap_or_else(|e| panic!("{}: reading `{label}`: {e}", self.server));
        for (from, to) in &self.masks {
            f = replace(&f, from, to);
        }
        self.frames.push((label.to_string(), f.clone()));
        f
    }

    /// Sends `line` and records its one reply.
    pub fn cmd(&mut self, c: &mut Conn, line: &str) -> Vec<u8> {
        self.send(c, line);
        self.read(c, line)
    }

    /// Sends `line` and records its one reply under `label` (when the line
    /// holds something that differs between the servers, such as an id).
    pub fn cmd_as(&mut self, c: &mut Conn, line: &str, label: &str) -> Vec<u8> {
        self.send(c, line);
        self.read(c, label)
    }

    /// Sends `line` and records `n` frames (SUBSCRIBE a b c answers with
    /// one frame per channel).
    pub fn cmd_n(&mut self, c: &mut Conn, line: &str, n: usize) {
        self.send(c, line);
        for i in 0..n {
            self.read(c, &format!("{line} [frame {}]", i + 1));
        }
    }

    /// Sends `line` and records the reply with its aggregate elements
    /// sorted (PUBSUB CHANNELS and other hash-table-ordered replies).
    pub fn cmd_sorted(&mut self, c: &mut Conn, line: &str) {
        self.send(c, line);
        let f = c.read_frame();
        self.frames.push((line.to_string(), sorted(&f)));
    }

    /// Records a value computed by the scenario (a count, a flag).
    pub fn note(&mut self, label: &str, value: impl AsRef<[u8]>) {
        self.frames
            .push((label.to_string(), value.as_ref().to_vec()));
    }

    /// From now on, records `to` wherever a frame holds `from`.
    pub fn mask(&mut self, from: impl AsRef<[u8]>, to: impl AsRef<[u8]>) {
        self.masks
            .push((from.as_ref().to_vec(), to.as_ref().to_vec()));
    }
}

/// `frame` with every occurrence of `from` replaced by `to`.
pub fn replace(frame: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    if from.is_empty() {
        return frame.to_vec();
    }
    let mut out = Vec::with_capacity(frame.len());
    let mut i = 0;
    while i < frame.len() {
        if frame[i..].starts_with(from) {
            out.extend_from_slice(to);
            i += from.len();
        } else {
            out.push(frame[i]);
            i += 1;
        }
    }
    out
}

/// An aggregate frame with its elements sorted (other frames unchanged).
pub fn sorted(frame: &[u8]) -> Vec<u8> {
    match elements(frame) {
        Some((header, mut items)) => {
            items.sort();
            let mut out = header;
            items.iter().for_each(|i| out.extend_from_slice(i));
            out
        }
        None => frame.to_vec(),
    }
}

/// Runs `scenario` against a fresh redis-server and a fresh kevy-server
/// started with `kevy_args` (each gets the port of its server) and asserts
/// that both transcripts are the same, frame by frame. Without a
/// redis-server on `PATH` the scenario still runs against kevy alone, so
/// it cannot panic unnoticed.
pub fn differential(kevy_args: &[&str], scenario: impl Fn(u16, &mut Rec)) {
    // The oracle first: a scenario that expects a frame redis does not send
    // fails there, with redis named in the panic.
    let mut want = Rec {
        server: "redis-server",
        ..Rec::default()
    };
    let redis = Redis::start();
    if let Some(redis) = &redis {
        scenario(redis.port(), &mut want);
    }
    let kevy = Server::start(kevy_args);
    let mut got = Rec {
        server: "kevy-server",
        ..Rec::default()
    };
    scenario(kevy.port(), &mut got);
    if redis.is_none() {
        return;
    }
    let n = want.frames.len().max(got.frames.len());
    for i in 0..n {
        let w = want.frames.get(i);
        let g = got.frames.get(i);
        if w.map(|x| &x.1) != g.map(|x| &x.1) || w.map(|x| &x.0) != g.map(|x| &x.0) {
            let show = |x: Option<&(String, Vec<u8>)>| {
                x.map_or("(nothing)".to_string(), |(l, f)| {
                    format!("{l}: {}", escape(f))
                })
            };
            panic!(
                "frame {} differs\n  redis: {}\n  kevy:  {}",
                i + 1,
                show(w),
                show(g)
            );
        }
    }
}

#[test]
fn pubsub_resp2_frames_and_introspection() {
    differential(&["--threads", "2"], |port, r| {
        let mut s = Conn::connect(port);
        let mut p = Conn::connect(port);
        r.cmd_n(&mut s, "SUBSCRIBE chan:a chan:b chan:a", 3);
        r.cmd_n(&mut s, "PSUBSCRIBE h?llo news.*", 2);
        r.cmd_n(&mut s, "SSUBSCRIBE {sh}1 {sh}2", 2);
        r.cmd(&mut s, "PING");
        r.cmd(&mut s, "PING hi");
        r.cmd(&mut s, "GET x");
        r.cmd(&mut s, "set x 1");
        r.cmd(&mut s, "PUBSUB NUMPAT");
        r.cmd(&mut s, "MULTI");
        r.cmd(&mut s, "nosuchcommand");
        r.cmd(&mut p, "PUBLISH chan:a m1");
        r.read(&mut s, "message chan:a");
        r.cmd(&mut p, "PUBLISH hello m2");
        r.read(&mut s, "pmessage hello");
        r.cmd(&mut p, "PUBLISH news.x \"bin\\x00\\r\\nary\"");
        r.read(&mut s, "pmessage news.x");
        r.cmd(&mut p, "PUBLISH nobody m");
        r.cmd(&mut p, "SPUBLISH {sh}2 m3");
        r.read(&mut s, "smessage");
        r.cmd(&mut p, "SPUBLISH chan:a m4");
        r.cmd(&mut p, "PUBLISH {sh}1 m5");
        r.cmd_sorted(&mut p, "PUBSUB CHANNELS");
        r.cmd_sorted(&mut p, "PUBSUB CHANNELS chan:*");
        r.cmd(&mut p, "PUBSUB CHANNELS zz*");
        r.cmd(&mut p, "PUBSUB NUMSUB");
        r.cmd(&mut p, "PUBSUB NUMSUB chan:a chan:b nobody hello");
        r.cmd(&mut p, "PUBSUB NUMPAT");
        r.cmd_sorted(&mut p, "PUBSUB SHARDCHANNELS");
        r.cmd(&mut p, "PUBSUB SHARDCHANNELS *2");
        r.cmd(&mut p, "PUBSUB SHARDNUMSUB {sh}1 chan:a");
        r.cmd(&mut p, "PUBSUB SHARDNUMSUB");
        r.cmd(&mut p, "PUBSUB CHANNELS a b");
        r.cmd(&mut p, "PUBSUB NUMPAT x");
        r.cmd(&mut p, "PUBSUB FOO");
        r.cmd(&mut p, "PUBSUB");
        r.cmd(&mut p, "PUBLISH a");
        r.cmd(&mut p, "SUBSCRIBE");
        // Unsubscribing: named, unknown, then the rest one kind at a time
        // (each kind holds one name, so "all" has a deterministic order).
        r.cmd_n(&mut s, "UNSUBSCRIBE chan:a nosuch", 2);
        r.cmd_n(&mut s, "UNSUBSCRIBE", 1);
        r.cmd_n(&mut s, "UNSUBSCRIBE", 1);
        r.cmd_n(&mut s, "PUNSUBSCRIBE news.*", 1);
        r.cmd_n(&mut s, "PUNSUBSCRIBE", 1);
        r.cmd(&mut s, "GET x");
        r.cmd_n(&mut s, "SUNSUBSCRIBE {sh}1", 1);
        r.cmd(&mut s, "GET x");
        r.cmd_n(&mut s, "SUNSUBSCRIBE", 1);
        r.cmd(&mut s, "GET x");
        r.cmd_n(&mut s, "PUNSUBSCRIBE", 1);
        r.cmd_n(&mut s, "SUNSUBSCRIBE", 1);
        r.cmd(&mut s, "PING");
        r.cmd(&mut p, "PUBSUB NUMPAT");
        r.cmd(&mut p, "PUBSUB CHANNELS");
        r.cmd(&mut p, "PUBLISH chan:b gone");
    });
}

#[test]
fn pubsub_cross_slot_and_reset() {
    differential(&["--threads", "2"], |port, r| {
        let mut s = Conn::connect(port);
        r.cmd_n(&mut s, "SSUBSCRIBE a b", 2);
        r.cmd_n(&mut s, "SUNSUBSCRIBE a b", 2);
        r.cmd_n(&mut s, "SUBSCRIBE c", 1);
        r.cmd(&mut s, "RESET");
        r.cmd(&mut s, "GET x");
        r.cmd(&mut s, "PUBSUB NUMSUB c");
        r.cmd(&mut s, "MULTI");
        r.cmd(&mut s, "SUBSCRIBE c");
        r.cmd(&mut s, "EXEC");
        r.cmd(&mut s, "PUBSUB NUMSUB c");
        r.cmd(&mut s, "PING");
        r.cmd(&mut s, "QUIT");
    });
}

#[test]
fn pubsub_resp3_push_frames_and_commands_on_one_connection() {
    differential(&["--threads", "2"], |port, r| {
        let mut s = Conn::connect(port);
        let mut p = Conn::connect(port);
        s.hello3();
        r.cmd_n(&mut s, "SUBSCRIBE chan:a chan:b", 2);
        r.cmd_n(&mut s, "PSUBSCRIBE p*", 1);
        r.cmd_n(&mut s, "SSUBSCRIBE {sh}1", 1);
        r.cmd(&mut s, "PING");
        r.cmd(&mut s, "SET k v");
        r.cmd(&mut s, "GET k");
        r.cmd(&mut s, "HSET h f 1");
        r.cmd(&mut s, "HGETALL h");
        r.cmd(&mut p, "PUBLISH chan:b hello");
        r.read(&mut s, "message");
        r.cmd(&mut p, "PUBLISH pq hello");
        r.read(&mut s, "pmessage");
        r.cmd(&mut p, "SPUBLISH {sh}1 hi");
        r.read(&mut s, "smessage");
        r.cmd(&mut s, "GET k");
        // A message interleaved with the subscriber's own command traffic.
        r.cmd(&mut p, "PUBLISH chan:a x");
        r.read(&mut s, "message before GET");
        r.cmd(&mut s, "GET k");
        r.cmd_n(&mut s, "UNSUBSCRIBE chan:a chan:b", 2);
        r.cmd_n(&mut s, "PUNSUBSCRIBE", 1);
        r.cmd_n(&mut s, "SUNSUBSCRIBE", 1);
        r.cmd_n(&mut s, "UNSUBSCRIBE", 1);
        r.cmd(&mut s, "PING");
        // Back to RESP2 while subscribed: the messages follow the protocol.
        r.cmd_n(&mut s, "SUBSCRIBE c", 1);
        // (HELLO's reply holds the client id, which differs.)
        s.cmd("HELLO 2");
        r.cmd(&mut p, "PUBLISH c after-hello-2");
        r.read(&mut s, "message in RESP2");
        r.cmd(&mut s, "PING");
    });
}

/// With two event loops, a subscriber on each loop and a publisher on
/// either: everyone hears everything.
#[test]
fn pubsub_subscribers_on_both_threads() {
    differential(&["--threads", "2"], |port, r| {
        let mut subs: Vec<Conn> = (0..4).map(|_| Conn::connect(port)).collect();
        for (i, s) in subs.iter_mut().enumerate() {
            if i % 2 == 1 {
                s.hello3();
            }
            r.cmd_n(s, "SUBSCRIBE news", 1);
            r.cmd_n(s, "PSUBSCRIBE n*", 1);
        }
        let mut p1 = Conn::connect(port);
        let mut p2 = Conn::connect(port);
        r.cmd(&mut p1, "PUBLISH news one");
        r.cmd(&mut p2, "PUBLISH news two");
        for s in subs.iter_mut() {
            for _ in 0..4 {
                r.read(s, "delivery");
            }
        }
        r.cmd(&mut p1, "PUBSUB NUMSUB news");
    });
}

/// Messages of one publisher arrive in publication order, at a subscriber
/// on the same event loop and one on the other.
#[test]
fn pubsub_per_publisher_order_is_preserved() {
    let server = Server::start(&["--threads", "2"]);
    const N: usize = 10_000;
    let mut subs: Vec<Conn> = (0..2).map(|_| server.conn()).collect();
    for s in subs.iter_mut() {
        s.send(&[b"SUBSCRIBE", b"seq"]);
        s.read_frame();
    }
    let mut p = server.conn();
    // Pipelined in chunks, so batches and inbox hand-offs interleave.
    let mut next = 0;
    while next < N {
        let mut out = Vec::new();
        let end = (next + 500).min(N);
        for i in next..end {
            let msg = i.to_string();
            encode_request(&[b"PUBLISH", b"seq", msg.as_bytes()], &mut out);
        }
        p.send_raw(&out);
        for _ in next..end {
            assert_eq!(p.read_frame(), b":2\r\n");
        }
        next = end;
    }
    for s in subs.iter_mut() {
        for i in 0..N {
            let f = s.read_frame();
            let want = format!(
                "*3\r\n$7\r\nmessage\r\n$3\r\nseq\r\n${}\r\n{i}\r\n",
                i.to_string().len()
            );
            assert!(f == want.as_bytes(), "message {i}: {}", escape(&f));
        }
    }
}

/// A subscriber that never reads is disconnected once its pending output
/// passes `client-output-buffer-limit pubsub`; the publisher and other
/// clients keep being served meanwhile.
#[test]
fn pubsub_slow_subscriber_is_disconnected_by_output_limit() {
    let server = Server::start(&["--threads", "2"]);
    let mut admin = server.conn();
    admin.expect(
        "CONFIG SET client-output-buffer-limit \"pubsub 1mb 512kb 1\"",
        "+OK\r\n",
    );
    let mut slow = server.conn();
    let mut fast = server.conn();
    slow.send(&[b"SUBSCRIBE", b"firehose"]);
    slow.read_frame();
    fast.send(&[b"SUBSCRIBE", b"firehose"]);
    fast.read_frame();
    // The fast subscriber drains its socket on a thread of its own.
    let reader = std::thread::spawn(move || {
        let mut n = 0usize;
        let deadline = Instant::now() + Duration::from_secs(30);
        fast.set_read_timeout(Duration::from_secs(5));
        while Instant::now() < deadline {
            match fast.try_read_frame() {
                Ok(f) => n += f.len(),
                Err(_) => break,
            }
        }
        n
    });
    let mut p = server.conn();
    let payload = vec![b'x'; 4096];
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut receivers_seen = Vec::new();
    let mut sent = 0usize;
    while Instant::now() < deadline {
        let mut out = Vec::new();
        for _ in 0..64 {
            encode_request(&[b"PUBLISH", b"firehose", &payload], &mut out);
        }
        p.send_raw(&out);
        for _ in 0..64 {
            let f = p.read_frame();
            receivers_seen.push(f);
        }
        sent += 64;
        let last = receivers_seen.last().cloned().unwrap_or_default();
        receivers_seen.clear();
        if last == b":1\r\n" {
            break;
        }
        // Other clients are served while the slow one piles up.
        admin.expect("PING", "+PONG\r\n");
    }
    assert!(
        p.cmd("PUBSUB NUMSUB firehose") == b"*2\r\n$8\r\nfirehose\r\n:1\r\n",
        "the slow subscriber was not dropped after {sent} messages of 4 KiB"
    );
    assert!(
        slow.is_closed_within(Duration::from_secs(10)),
        "the slow subscriber's connection stays open"
    );
    admin.expect("PING", "+PONG\r\n");
    p.expect("PUBLISH firehose last", ":1\r\n");
    drop(p);
    // The fast subscriber got well past the limit without being dropped.
    admin.expect("CLIENT KILL TYPE pubsub", ":1\r\n");
    let got = reader.join().expect("reader thread");
    assert!(got > 2 << 20, "the fast subscriber read only {got} bytes");
}
