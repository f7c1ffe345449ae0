//! The stream workloads: XADD and XRANGE of 100 entries (plain
//! `redis-benchmark` commands, see `mod.rs`), and the consumer-group cycle
//! that `redis-benchmark` cannot express: each of 16 clients reads 10 new
//! entries with `XREADGROUP` and acknowledges them with `XACK`, as a worker
//! of a job queue does. One cycle is one request in the figures.

use super::load::Sample;
use super::memory::{fill, Fill};
use super::servers::{connect, encode, reply_len, Server};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Instant;

/// Clients running cycles at once.
const CLIENTS: usize = 16;
/// Entries per XREADGROUP.
const BATCH: u64 = 10;

/// Sends one command and reads its whole reply.
fn call(s: &mut TcpStream, argv: &[&[u8]], buf: &mut Vec<u8>) -> Result<Vec<u8>, String> {
    let mut req = Vec::new();
    encode(&mut req, argv.iter().copied());
    s.write_all(&req).map_err(|e| format!("write: {e}"))?;
    buf.clear();
    let mut chunk = [0u8; 65536];
    loop {
        if let Some(n) = reply_len(buf) {
            return Ok(buf[..n].to_vec());
        }
        let n = s.read(&mut chunk).map_err(|e| format!("read: {e}"))?;
        if n == 0 {
            return Err("connection closed".into());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// The entry IDs in an XREADGROUP reply: the bulk strings that open each
/// `[id, [field, value, ...]]` pair. Entries are written by [`Fill::Stream`]
/// with IDs `<ms>-<seq>`, fields `f1`/`f2` and values that never contain
/// `-` between digits, so an ID is the only bulk shaped `digits-digits`.
fn ids(reply: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut rest = reply;
    while let Some(at) = rest.windows(3).position(|w| w == b"\r\n$") {
        rest = &rest[at + 3..];
        let Some(eol) = rest.windows(2).position(|w| w == b"\r\n") else {
            break;
        };
        let Ok(n) = std::str::from_utf8(&rest[..eol])
            .unwrap_or("x")
            .parse::<usize>()
        else {
            continue;
        };
        let Some(body) = rest.get(eol + 2..eol + 2 + n) else {
            break;
        };
        let mut parts = body.splitn(2, |&c| c == b'-');
        let is_id = matches!((parts.next(), parts.next()), (Some(a), Some(b))
            if !a.is_empty() && !b.is_empty()
                && a.iter().all(u8::is_ascii_digit) && b.iter().all(u8::is_ascii_digit));
        if is_id {
            out.push(body.to_vec());
        }
        rest = &rest[eol + 2 + n..];
    }
    out
}

/// One run of `cycles` XREADGROUP/XACK cycles (spread over [`CLIENTS`])
/// against a stream refilled for the run. Latencies are per cycle.
pub fn group_cycle(server: &Server, cycles: u64) -> Result<Sample, String> {
    server.command(&["DEL", "jobs"])?;
    fill(server.port, Fill::Stream("jobs"), cycles * BATCH)?;
    let r = server.command(&["XGROUP", "CREATE", "jobs", "workers", "0"])?;
    if !r.starts_with('+') {
        return Err(format!("XGROUP CREATE answered {}", r.trim()));
    }
    let cpu0 = server.cpu_seconds()?;
    let t0 = Instant::now();
    let per = cycles / CLIENTS as u64;
    let port = server.port;
    let workers: Vec<_> = (0..CLIENTS)
        .map(|i| {
            std::thread::spawn(move || -> Result<Vec<f64>, String> {
                let mut s = connect(port)?;
                let mut buf = Vec::new();
                let name = format!("worker{i}");
                let count = BATCH.to_string();
                let mut lat = Vec::with_capacity(per as usize);
                for _ in 0..per {
                    let c0 = Instant::now();
                    let read = [
                        &b"XREADGROUP"[..],
                        b"GROUP",
                        b"workers",
                        name.as_bytes(),
                        b"COUNT",
                        count.as_bytes(),
                        b"STREAMS",
                        b"jobs",
                        b">",
                    ];
                    let got = ids(&call(&mut s, &read, &mut buf)?);
                    if got.is_empty() {
                        return Err("XREADGROUP delivered nothing".into());
                    }
                    let mut ack: Vec<&[u8]> = vec![b"XACK", b"jobs", b"workers"];
                    ack.extend(got.iter().map(|v| &v[..]));
                    let r = call(&mut s, &ack, &mut buf)?;
                    if r.first() != Some(&b':') {
                        return Err(format!("XACK answered {}", String::from_utf8_lossy(&r)));
                    }
                    lat.push(c0.elapsed().as_secs_f64() * 1000.0);
                }
                Ok(lat)
            })
        })
        .collect();
    let mut lat = Vec::new();
    for w in workers {
        lat.extend(
            w.join()
                .map_err(|_| "a cycle thread panicked".to_string())??,
        );
    }
    let secs = t0.elapsed().as_secs_f64();
    let cpu = server.cpu_seconds()? - cpu0;
    lat.sort_by(f64::total_cmp);
    let n = lat.len() as u64;
    let q = |p: f64| {
        let i = ((p / 100.0 * n as f64).ceil() as usize).clamp(1, lat.len().max(1)) - 1;
        lat.get(i).copied().unwrap_or(0.0)
    };
    Ok(Sample {
        requests: n,
        rps: n as f64 / secs.max(1e-9),
        p50: q(50.0),
        p99: q(99.0),
        p999: q(99.9),
        max: lat.last().copied().unwrap_or(0.0),
        cpu,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_entry_ids() {
        let reply = b"*1\r\n*2\r\n$4\r\njobs\r\n*2\r\n*2\r\n$3\r\n5-0\r\n*4\r\n$2\r\nf1\r\n$16\r\nv000000000000001\r\n$2\r\nf2\r\n$16\r\nw000000000000001\r\n*2\r\n$15\r\n1700000000000-7\r\n*0\r\n";
        assert_eq!(ids(reply), [b"5-0".to_vec(), b"1700000000000-7".to_vec()]);
    }
}
