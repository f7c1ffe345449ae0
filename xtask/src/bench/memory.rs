//! Memory per key: a pipelined loader that writes raw RESP over TCP in
//! batches of 1000 commands, and the measurement that uses it. Each shape
//! (1M string keys with 32-byte values; one hash, set and zset of 1M
//! members; one stream of 1M entries) is loaded into a freshly started server, and the growth of its
//! resident set (VmRSS, before and after) is divided by the item count. A
//! fresh server per shape keeps memory freed by an earlier shape, which the
//! allocator may not return to the OS, out of the next figure.

use super::servers::{connect, encode, reply_len, Kind, Persist, Server, Setup};
use std::io::{Read, Write};
use std::time::Duration;

/// What the loader writes; item `i` has the 16-byte name `key:%012d`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fill {
    /// `SET key:%012d <value_len bytes>`: the keyspace `redis-benchmark -r` uses.
    Strings(usize),
    /// `HSET hash fld:%012d <32 bytes>`.
    Hash,
    /// `SADD set mem:%012d`.
    Set,
    /// `ZADD zset i mem:%012d`.
    Zset,
    /// `XADD <key> * f1 v%015d f2 w%015d`: stream entries of two fields
    /// with 16-byte values.
    Stream(&'static str),
}

impl Fill {
    pub fn label(self) -> String {
        match self {
            Fill::Strings(n) => format!("string keys ({n} B values)"),
            Fill::Hash => "hash fields (32 B values)".into(),
            Fill::Set => "set members".into(),
            Fill::Zset => "zset members".into(),
            Fill::Stream(_) => "stream entries (two 16 B fields)".into(),
        }
    }

    fn command(self, i: u64, value: &[u8], out: &mut Vec<u8>) {
        let score = i.to_string();
        match self {
            Fill::Strings(_) => {
                let k = format!("key:{i:012}");
                encode(out, [&b"SET"[..], k.as_bytes(), value].into_iter())
            }
            Fill::Hash => {
                let f = format!("fld:{i:012}");
                encode(
                    out,
                    [&b"HSET"[..], b"hash", f.as_bytes(), value].into_iter(),
                )
            }
            Fill::Set => {
                let m = format!("mem:{i:012}");
                encode(out, [&b"SADD"[..], b"set", m.as_bytes()].into_iter())
            }
            Fill::Zset => {
                let m = format!("mem:{i:012}");
                let args = [&b"ZADD"[..], b"zset", score.as_bytes(), m.as_bytes()];
                encode(out, args.into_iter())
            }
            Fill::Stream(key) => {
                let (v, w) = (format!("v{i:015}"), format!("w{i:015}"));
                let args = [
                    &b"XADD"[..],
                    key.as_bytes(),
                    b"*",
                    b"f1",
                    v.as_bytes(),
                    b"f2",
                    w.as_bytes(),
                ];
                encode(out, args.into_iter())
            }
        }
    }
}

/// Writes `n` items of `fill` into the server on `port`, 1000 per batch,
/// and checks that no reply is an error.
pub fn fill(port: u16, fill: Fill, n: u64) -> Result<(), String> {
    let value = match fill {
        Fill::Strings(len) => vec![b'v'; len],
        _ => vec![b'v'; 32],
    };
    let mut s = connect(port)?;
    let mut req = Vec::with_capacity(1 << 20);
    let mut buf: Vec<u8> = Vec::with_capacity(1 << 16);
    let mut chunk = vec![0u8; 1 << 16];
    let mut i = 0;
    while i < n {
        let batch = (n - i).min(1000);
        req.clear();
        for j in i..i + batch {
            fill.command(j, &value, &mut req);
        }
        s.write_all(&req)
            .map_err(|e| format!("loader write: {e}"))?;
        let mut got = 0;
        while got < batch {
            while let Some(len) = reply_len(&buf) {
                if buf.first() == Some(&b'-') {
                    let e = String::from_utf8_lossy(&buf[..len]);
                    return Err(format!("loader got an error: {}", e.trim()));
                }
                buf.drain(..len);
                got += 1;
                if got == batch {
                    break;
                }
            }
            if got < batch {
                let r = s
                    .read(&mut chunk)
                    .map_err(|e| format!("loader read: {e}"))?;
                if r == 0 {
                    return Err("server closed the loader's connection".into());
                }
                buf.extend_from_slice(&chunk[..r]);
            }
        }
        i += batch;
    }
    Ok(())
}

/// One shape's figures for both servers.
#[derive(Clone, Debug)]
pub struct MemRow {
    pub what: String,
    pub items: u64,
    /// Bytes per item, kevy then redis (`Err` carries why it is missing).
    pub kevy: Result<f64, String>,
    pub redis: Result<f64, String>,
}

/// Loads every shape into fresh servers and reports bytes per item.
pub fn measure(setup: &Setup, n: u64) -> Vec<MemRow> {
    let shapes = [
        Fill::Strings(32),
        Fill::Hash,
        Fill::Set,
        Fill::Zset,
        Fill::Stream("stream"),
    ];
    measure_shapes(setup, n, &shapes)
}

/// Loads each of `shapes` into fresh servers and reports bytes per item.
pub fn measure_shapes(setup: &Setup, n: u64, shapes: &[Fill]) -> Vec<MemRow> {
    let mut rows = Vec::new();
    for &shape in shapes {
        eprintln!("memory: {} x {n}", shape.label());
        let kevy = per_item(setup, Kind::Kevy, shape, n);
        let redis = per_item(setup, Kind::Redis, shape, n);
        if let Err(e) = &kevy {
            eprintln!("  kevy: {e}");
        }
        if let Err(e) = &redis {
            eprintln!("  redis: {e}");
        }
        rows.push(MemRow {
            what: shape.label(),
            items: n,
            kevy,
            redis,
        });
    }
    rows
}

fn per_item(setup: &Setup, kind: Kind, shape: Fill, n: u64) -> Result<f64, String> {
    let server = Server::start(setup, kind, Persist::Off)?;
    std::thread::sleep(Duration::from_millis(300));
    let before = server.rss()?;
    fill(server.port, shape, n)?;
    // Let background work (lazy frees, rehashing steps) settle.
    std::thread::sleep(Duration::from_millis(1000));
    let after = server.rss()?;
    Ok(after.saturating_sub(before) as f64 / n as f64)
}
