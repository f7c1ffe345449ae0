//! Snapshot impact: how much a `BGSAVE` of 1M keys hurts the tail latency
//! of a GET/SET load. Each server gets 1M keys, then a ~10 s 90/10 GET/SET
//! load (two `redis-benchmark` processes, 50 clients in all) runs twice:
//! once undisturbed and once with a `BGSAVE` issued a second in, whose
//! completion is polled through `INFO persistence`. Redis forks for the
//! save; kevy freezes copy-on-write views and must not stall either.

use super::load::{self, Proc, Sample};
use super::memory::{fill, Fill};
use super::servers::{command, Kind, Persist, Server, Setup};
use std::time::{Duration, Instant};

/// One server's figures.
#[derive(Clone, Debug)]
pub struct SnapRow {
    pub kind: Kind,
    pub base: Result<Sample, String>,
    /// The load with a BGSAVE in the middle, and how long the save took.
    pub during: Result<(Sample, f64), String>,
}

/// The 90/10 GET/SET mix over `keys` keys with `total` requests in all.
pub fn mix(keys: u64, total: u64, pipeline: u32) -> Vec<Proc> {
    let r = keys.to_string();
    let p = pipeline.to_string();
    let gets = (total * 9 / 10).to_string();
    let sets = (total / 10).to_string();
    vec![
        Proc::new(&["-c", "45", "-n", &gets, "-r", &r, "-P", &p, "-t", "get"]),
        Proc::new(&[
            "-c", "5", "-n", &sets, "-r", &r, "-P", &p, "-t", "set", "-d", "32",
        ]),
    ]
}

/// Runs the comparison for both servers.
pub fn measure(setup: &Setup, keys: u64, secs: f64) -> Vec<SnapRow> {
    let mut servers = Vec::new();
    for kind in [Kind::Kevy, Kind::Redis] {
        eprintln!("snapshot: loading {keys} keys into {}", kind.name());
        let s = Server::start(setup, kind, Persist::Off)
            .and_then(|s| fill(s.port, Fill::Strings(32), keys).map(|_| s));
        servers.push((kind, s));
    }
    let mut rows: Vec<SnapRow> = Vec::new();
    // Size each server's load to about `secs` seconds from a short probe.
    let mut totals = Vec::new();
    for (_, s) in &servers {
        let t = match s {
            Ok(s) => load::run(s, &mix(keys, 20_000, 1)).map(|p| (p.rps * secs) as u64),
            Err(e) => Err(e.clone()),
        };
        totals.push(t.map(|t| t.max(20_000)));
    }
    for ((kind, s), total) in servers.iter().zip(&totals) {
        let base = match (s, total) {
            (Ok(s), Ok(t)) => {
                eprintln!("snapshot: {} without BGSAVE", kind.name());
                load::run(s, &mix(keys, *t, 1))
            }
            (Err(e), _) | (_, Err(e)) => Err(e.clone()),
        };
        rows.push(SnapRow {
            kind: *kind,
            base,
            during: Err(String::new()),
        });
    }
    for (i, ((kind, s), total)) in servers.iter().zip(&totals).enumerate() {
        rows[i].during = match (s, total) {
            (Ok(s), Ok(t)) => {
                eprintln!("snapshot: {} with BGSAVE", kind.name());
                with_bgsave(s, &mix(keys, *t, 1))
            }
            (Err(e), _) | (_, Err(e)) => Err(e.clone()),
        };
    }
    rows
}

fn with_bgsave(server: &Server, procs: &[Proc]) -> Result<(Sample, f64), String> {
    let port = server.port;
    let saver = std::thread::spawn(move || -> Result<f64, String> {
        std::thread::sleep(Duration::from_secs(1));
        let probe = |argv: &[&str]| command(port, argv);
        let t0 = Instant::now();
        let r = probe(&["BGSAVE"])?;
        if r.starts_with('-') {
            return Err(format!("BGSAVE answered {}", r.trim()));
        }
        loop {
            std::thread::sleep(Duration::from_millis(20));
            let info = probe(&["INFO", "persistence"])?;
            if info.contains("rdb_bgsave_in_progress:0") {
                if info.contains("rdb_last_bgsave_status:err") {
                    return Err("BGSAVE failed (rdb_last_bgsave_status:err)".into());
                }
                return Ok(t0.elapsed().as_secs_f64());
            }
            if t0.elapsed() > Duration::from_secs(300) {
                return Err("BGSAVE still running after 300 s".into());
            }
        }
    });
    let sample = load::run(server, procs);
    let save = saver
        .join()
        .map_err(|_| "BGSAVE thread panicked".to_string())??;
    Ok((sample?, save))
}
