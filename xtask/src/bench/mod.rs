//! `cargo xtask bench`: kevy against redis-server, side by side. This module
//! holds the workload list and the runner: servers are started in pairs
//! with the same persistence settings, each workload runs `runs` times per
//! server, alternating kevy and redis so drift on a shared machine hits
//! both, and the runs are reduced to medians with their min–max spread.
//! The other phases (memory, snapshot impact, micro benchmarks) live in
//! their own modules; `report` writes the results.

pub mod load;
pub mod memory;
pub mod micro;
pub mod report;
pub mod servers;
pub mod snapshot;
pub mod streams;

use load::{Proc, Sample};
use memory::Fill;
use servers::{Kind, Persist, Server, Setup};

/// A workload run that drives the server itself: `n` requests a run.
pub type Driver = fn(&Server, u64) -> Result<Sample, String>;

/// One table row's recipe.
#[derive(Clone, Debug)]
pub struct Workload {
    pub name: String,
    pub persist: Persist,
    pub procs: Vec<Proc>,
    /// FLUSHALL before the first run (LPOP keeps LPUSH's list).
    pub flush: bool,
    /// Keys to load before the first run, so GETs hit.
    pub prefill: Option<(Fill, u64)>,
    /// A run that `redis-benchmark` cannot express (instead of `procs`):
    /// it drives the server itself, `n` requests a run.
    pub driver: Option<(Driver, u64)>,
    /// Commands to send before the first run, each with the reply it must
    /// get (SCRIPT LOAD of the script an EVALSHA row calls).
    pub setup: Vec<(Vec<String>, String)>,
}

fn wl(name: &str, persist: Persist, procs: Vec<Proc>) -> Workload {
    Workload {
        name: name.into(),
        persist,
        procs,
        flush: true,
        prefill: None,
        driver: None,
        setup: Vec::new(),
    }
}

/// A one-key INCR script (the EVALSHA rows' first case).
pub const SCRIPT_INCR: &str = "return redis.call('incr', KEYS[1])";
/// Its SHA1.
pub const SCRIPT_INCR_SHA: &str = "2bab3b661081db58bd2341920e0ba7cf5dc77b25";
/// A five-command script over three keys.
pub const SCRIPT_FIVE: &str = "redis.call('incr', KEYS[1]) redis.call('hset', KEYS[2], 'f', ARGV[1]) redis.call('lpush', KEYS[3], ARGV[1]) redis.call('ltrim', KEYS[3], 0, 99) return redis.call('get', KEYS[1])";
/// Its SHA1.
pub const SCRIPT_FIVE_SHA: &str = "0ab8e02ecd9d39b01a432e7e8a6c40751caa08d3";

/// EVALSHA of `body` (loaded by SCRIPT LOAD before the first run) with
/// `rest` after the SHA.
fn evalsha(name: &str, body: &str, sha: &str, clients: &[&str], rest: &[&str], n: u64) -> Workload {
    let mut args: Vec<&str> = clients.to_vec();
    args.extend(["-r", "100000", "EVALSHA", sha]);
    args.extend_from_slice(rest);
    let mut w = wl(name, Persist::Off, bench(&args, n));
    w.setup = vec![(
        vec!["SCRIPT".into(), "LOAD".into(), body.into()],
        sha.into(),
    )];
    w
}

fn bench(args: &[&str], n: u64) -> Vec<Proc> {
    let n = n.to_string();
    let mut a = vec!["-n", n.as_str()];
    a.extend_from_slice(args);
    vec![Proc::new(&a)]
}

/// SET then GET (on prefilled keys) with the same shape.
fn set_get(out: &mut Vec<Workload>, label: &str, args: &[&str], n: u64, keys: u64, size: usize) {
    let r = keys.to_string();
    let d = size.to_string();
    let mut a: Vec<&str> = args.to_vec();
    a.extend(["-r", &r, "-d", &d]);
    let mut set = a.clone();
    set.extend(["-t", "set"]);
    out.push(wl(&format!("SET {label}"), Persist::Off, bench(&set, n)));
    let mut get = a;
    get.extend(["-t", "get"]);
    let mut w = wl(&format!("GET {label}"), Persist::Off, bench(&get, n));
    w.prefill = Some((Fill::Strings(size), keys));
    out.push(w);
}

/// The workload list; `scale` multiplies every request count.
pub fn workloads(quick: bool, scale: f64) -> Vec<Workload> {
    let n = |x: u64| ((x as f64 * scale) as u64).max(1000);
    let mut v = Vec::new();
    if quick {
        set_get(&mut v, "50 clients", &["-c", "50"], n(20_000), 100_000, 3);
        set_get(
            &mut v,
            "50 clients -P 16",
            &["-c", "50", "-P", "16"],
            n(200_000),
            100_000,
            3,
        );
        return v;
    }
    set_get(&mut v, "50 clients", &["-c", "50"], n(100_000), 100_000, 3);
    set_get(
        &mut v,
        "50 clients -P 16",
        &["-c", "50", "-P", "16"],
        n(1_000_000),
        100_000,
        3,
    );
    set_get(&mut v, "1 client", &["-c", "1"], n(20_000), 100_000, 3);
    set_get(&mut v, "1 KiB", &["-c", "50"], n(100_000), 100_000, 1024);
    set_get(&mut v, "16 KiB", &["-c", "50"], n(30_000), 1_000, 16 * 1024);
    let simple = |name: &str, t: &str, count: u64| {
        wl(
            name,
            Persist::Off,
            bench(&["-c", "50", "-r", "100000", "-t", t], n(count)),
        )
    };
    v.push(simple("INCR", "incr", 100_000));
    v.push(simple("LPUSH", "lpush", 100_000));
    let mut lpop = simple("LPOP", "lpop", 100_000);
    lpop.flush = false; // pops what the LPUSH runs pushed
    v.push(lpop);
    v.push(simple("SADD", "sadd", 100_000));
    v.push(simple("HSET", "hset", 100_000));
    v.push(simple("ZADD", "zadd", 100_000));
    v.push(simple("MSET (10 keys)", "mset", 50_000));
    v.push(simple("LRANGE_100", "lrange_100", 20_000));
    v.extend(stream_workloads(scale));
    let key = ["1", "key:__rand_int__"];
    let three = [
        "3",
        "{a}:__rand_int__",
        "{b}:__rand_int__",
        "{c}:__rand_int__",
        "x",
    ];
    let p16 = ["-c", "50", "-P", "16"];
    v.push(evalsha(
        "EVALSHA INCR",
        SCRIPT_INCR,
        SCRIPT_INCR_SHA,
        &["-c", "50"],
        &key,
        n(100_000),
    ));
    v.push(evalsha(
        "EVALSHA INCR -P 16",
        SCRIPT_INCR,
        SCRIPT_INCR_SHA,
        &p16,
        &key,
        n(400_000),
    ));
    v.push(evalsha(
        "EVALSHA 5 commands -P 16",
        SCRIPT_FIVE,
        SCRIPT_FIVE_SHA,
        &p16,
        &three,
        n(200_000),
    ));
    let mut mix = wl(
        "90/10 GET/SET, 1M keys",
        Persist::Off,
        snapshot::mix(1_000_000, n(200_000), 1),
    );
    mix.prefill = Some((Fill::Strings(32), 1_000_000));
    v.push(mix);
    for (policy, count) in [("everysec", 100_000), ("always", 20_000)] {
        let args = ["-c", "50", "-r", "100000", "-t", "set"];
        let name = format!("SET appendfsync {policy}");
        v.push(wl(&name, Persist::Aof(policy), bench(&args, n(count))));
    }
    v
}

/// The stream rows: XADD, XRANGE of 100 entries, and the consumer-group
/// cycle (`streams::group_cycle`).
pub fn stream_workloads(scale: f64) -> Vec<Workload> {
    let n = |x: u64| ((x as f64 * scale) as u64).max(1000);
    let mut v = Vec::new();
    v.push(wl(
        "XADD (2 fields, 16 B values)",
        Persist::Off,
        bench(
            &[
                "-c",
                "50",
                "XADD",
                "stream",
                "*",
                "f1",
                "vvvvvvvvvvvvvvvv",
                "f2",
                "wwwwwwwwwwwwwwww",
            ],
            n(100_000),
        ),
    ));
    v.push(wl(
        "XADD (2 fields, 16 B values) -P 16",
        Persist::Off,
        bench(
            &[
                "-c",
                "50",
                "-P",
                "16",
                "XADD",
                "stream",
                "*",
                "f1",
                "vvvvvvvvvvvvvvvv",
                "f2",
                "wwwwwwwwwwwwwwww",
            ],
            n(1_000_000),
        ),
    ));
    let mut xrange = wl(
        "XRANGE of 100 entries",
        Persist::Off,
        bench(
            &["-c", "50", "XRANGE", "stream", "-", "+", "COUNT", "100"],
            n(20_000),
        ),
    );
    xrange.prefill = Some((Fill::Stream("stream"), 1000));
    v.push(xrange);
    let mut cycle = wl(
        "XREADGROUP COUNT 10 + XACK cycle, 16 clients",
        Persist::Off,
        Vec::new(),
    );
    cycle.driver = Some((streams::group_cycle, n(20_000)));
    v.push(cycle);
    v
}

/// Medians over runs, with the throughput spread.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Stats {
    pub runs: usize,
    pub rps: f64,
    pub rps_min: f64,
    pub rps_max: f64,
    pub p50: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
    /// Median server CPU seconds per run.
    pub cpu: f64,
    /// Median requests per server CPU second.
    pub ops_per_cpu: f64,
}

/// The median (mean of the middle two for an even count).
pub fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    if v.len() % 2 == 1 {
        v[m]
    } else {
        (v[m - 1] + v[m]) / 2.0
    }
}

pub fn summarize(s: &[Sample]) -> Stats {
    let col = |f: fn(&Sample) -> f64| median(s.iter().map(f).collect());
    let rps: Vec<f64> = s.iter().map(|x| x.rps).collect();
    Stats {
        runs: s.len(),
        rps: median(rps.clone()),
        rps_min: rps.iter().copied().fold(f64::INFINITY, f64::min),
        rps_max: rps.iter().copied().fold(0.0, f64::max),
        p50: col(|x| x.p50),
        p99: col(|x| x.p99),
        p999: col(|x| x.p999),
        max: col(|x| x.max),
        cpu: col(|x| x.cpu),
        ops_per_cpu: col(|x| {
            if x.cpu > 0.0 {
                x.requests as f64 / x.cpu
            } else {
                0.0
            }
        }),
    }
}

/// One workload's result for both servers (`Err` says why it is missing).
#[derive(Clone, Debug)]
pub struct Row {
    pub name: String,
    pub kevy: Result<Stats, String>,
    pub redis: Result<Stats, String>,
}

/// Runs every workload, `runs` times per server, alternating servers.
pub fn run_workloads(setup: &Setup, list: &[Workload], runs: usize) -> Vec<Row> {
    let mut rows = Vec::new();
    let mut i = 0;
    while i < list.len() {
        // Workloads sharing a persistence setting share a server pair.
        let persist = list[i].persist;
        let mut pair: Vec<(Kind, Result<Server, String>)> = [Kind::Kevy, Kind::Redis]
            .into_iter()
            .map(|k| (k, Server::start(setup, k, persist)))
            .collect();
        while i < list.len() && list[i].persist == persist {
            rows.push(run_one(&mut pair, &list[i], runs));
            i += 1;
        }
    }
    rows
}

fn run_one(pair: &mut [(Kind, Result<Server, String>)], w: &Workload, runs: usize) -> Row {
    eprintln!("bench: {}", w.name);
    let mut samples: Vec<Result<Vec<Sample>, String>> = Vec::new();
    for (_, s) in pair.iter_mut() {
        samples.push(match s {
            Ok(s) => prepare(s, w).map(|_| Vec::new()),
            Err(e) => Err(e.clone()),
        });
    }
    for _ in 0..runs {
        for ((_, s), acc) in pair.iter_mut().zip(samples.iter_mut()) {
            let (Ok(s), Ok(v)) = (s, &mut *acc) else {
                continue;
            };
            let run = match w.driver {
                Some((f, n)) => f(s, n),
                None => load::run(s, &w.procs),
            };
            match run {
                Ok(x) => v.push(x),
                Err(e) if !s.alive() => *acc = Err(s.failure(&format!("died: {e}"))),
                Err(e) => *acc = Err(e),
            }
        }
    }
    let mut it = samples.into_iter().map(|r| r.map(|v| summarize(&v)));
    let kevy = it.next().unwrap_or_else(|| Err("not run".into()));
    let redis = it.next().unwrap_or_else(|| Err("not run".into()));
    for (k, r) in [("kevy", &kevy), ("redis", &redis)] {
        match r {
            Ok(s) => eprintln!("  {k}: {:.0} ops/s, p99 {:.3} ms", s.rps, s.p99),
            Err(e) => eprintln!("  {k}: n/a: {e}"),
        }
    }
    Row {
        name: w.name.clone(),
        kevy,
        redis,
    }
}

fn prepare(s: &Server, w: &Workload) -> Result<(), String> {
    if w.flush {
        let r = s.command(&["FLUSHALL"])?;
        if r.starts_with('-') {
            return Err(format!("FLUSHALL answered {}", r.trim()));
        }
    }
    if let Some((fill, n)) = w.prefill {
        memory::fill(s.port, fill, n)?;
    }
    for (cmd, want) in &w.setup {
        let args: Vec<&str> = cmd.iter().map(String::as_str).collect();
        let r = s.command(&args)?;
        if !r.trim_end().ends_with(want.as_str()) {
            return Err(format!("{} answered {}", cmd[0], r.trim()));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_and_spread() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(vec![4.0, 1.0, 2.0, 3.0]), 2.5);
        let s = |rps: f64, cpu: f64| Sample {
            requests: 1000,
            rps,
            cpu,
            ..Sample::default()
        };
        let st = summarize(&[s(100.0, 0.5), s(300.0, 1.0), s(200.0, 2.0)]);
        assert_eq!((st.rps, st.rps_min, st.rps_max), (200.0, 100.0, 300.0));
        assert_eq!((st.cpu, st.ops_per_cpu), (1.0, 1000.0));
    }

    #[test]
    fn default_set_covers_the_issue() {
        let names: Vec<String> = workloads(false, 1.0).into_iter().map(|w| w.name).collect();
        for want in [
            "SET 50 clients -P 16",
            "GET 16 KiB",
            "MSET (10 keys)",
            "LRANGE_100",
            "XRANGE of 100 entries",
        ] {
            assert!(names.iter().any(|n| n == want), "{want} missing");
        }
        assert!(workloads(true, 1.0).len() == 4);
    }
}
