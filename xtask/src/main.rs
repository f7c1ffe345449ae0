//! Developer tasks for the kevy workspace, run as `cargo xtask <task>` (the
//! alias lives in `.cargo/config.toml`). Today there is one task, `bench`:
//! kevy against redis-server side by side, see `docs/benchmarks.md`. This
//! file parses the arguments, checks the tools, builds kevy and dispatches
//! to the phases in `bench/`; xtask has no dependencies on purpose.

mod bench;

use bench::report::{self, Report};
use bench::servers::Setup;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

const USAGE: &str = "\
usage: cargo xtask bench [options]

Runs kevy-server and redis-server side by side under redis-benchmark and
writes target/bench/latest.{md,json,svg}.

phases (default: the workload table, memory and snapshot impact):
  --quick          only SET/GET with 50 clients, with and without -P 16 (< 1 min)
  --memory         only bytes per key (1M keys; 1M-member hash, set, zset)
  --snapshot       only p99/p99.9/max of a GET/SET load during BGSAVE
  --micro          only the criterion benches (cargo bench), summarised
  --streams        only the stream rows (XADD, XRANGE of 100, XREADGROUP/XACK
                   cycle) and bytes per stream entry (--keys entries)
options:
  --threads N      kevy-server --threads N (default: kevy's own, one per core but one)
  --runs N         runs per workload and server, alternating (default 3)
  --scale F        multiply every workload's request count by F (default 1)
  --keys N         items for --memory and --snapshot (default 1000000)
  --no-build       use the existing target/release/kevy-server
  --only TEXT      only the workload rows whose name contains TEXT
";

#[derive(Debug, Default)]
struct Args {
    quick: bool,
    memory: bool,
    snapshot: bool,
    micro: bool,
    streams: bool,
    no_build: bool,
    threads: Option<usize>,
    runs: usize,
    scale: f64,
    keys: u64,
    only: Option<String>,
}

fn parse_args(argv: &[String]) -> Result<Args, String> {
    let mut a = Args {
        runs: 3,
        scale: 1.0,
        keys: 1_000_000,
        ..Args::default()
    };
    let mut it = argv.iter();
    fn val<T: std::str::FromStr>(flag: &str, v: Option<&String>) -> Result<T, String> {
        v.and_then(|v| v.parse().ok())
            .ok_or_else(|| format!("{flag} needs a number"))
    }
    while let Some(x) = it.next() {
        match x.as_str() {
            "--quick" => a.quick = true,
            "--memory" => a.memory = true,
            "--snapshot" => a.snapshot = true,
            "--micro" => a.micro = true,
            "--streams" => a.streams = true,
            "--no-build" => a.no_build = true,
            "--threads" => a.threads = Some(val(x, it.next())?),
            "--runs" => a.runs = val(x, it.next())?,
            "--scale" => a.scale = val(x, it.next())?,
            "--keys" => a.keys = val(x, it.next())?,
            "--only" => {
                a.only = Some(it.next().ok_or("--only needs a text")?.clone());
            }
            other => return Err(format!("unknown option {other}\n\n{USAGE}")),
        }
    }
    if a.runs == 0 || a.scale <= 0.0 || a.keys == 0 {
        return Err("--runs, --scale and --keys must be positive".into());
    }
    Ok(a)
}

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let result = match argv.first().map(String::as_str) {
        Some("bench") => parse_args(&argv[1..]).and_then(|a| run_bench(&a)),
        Some("-h" | "--help" | "help") | None => {
            print!("{USAGE}");
            Ok(())
        }
        Some(other) => Err(format!("unknown task {other}\n\n{USAGE}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

fn on_path(tool: &str) -> bool {
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(tool).is_file()))
        .unwrap_or(false)
}

fn workspace_root() -> PathBuf {
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    here.parent().map(Path::to_path_buf).unwrap_or(here)
}

fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

fn run_bench(a: &Args) -> Result<(), String> {
    let root = workspace_root();
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    let out_dir = target.join("bench");
    std::fs::create_dir_all(&out_dir)
        .map_err(|e| format!("creating {}: {e}", out_dir.display()))?;
    let only = a.memory || a.snapshot || a.micro || a.streams;
    let servers_needed = !only || a.memory || a.snapshot || a.streams;
    let mut report = Report {
        machine: machine(),
        runs: a.runs,
        ..Report::default()
    };
    if a.micro {
        report.micro = bench::micro::run(&root)?;
    }
    if servers_needed {
        if !on_path("redis-benchmark") {
            let memtier = if on_path("memtier_benchmark") {
                "memtier_benchmark is installed, but this task drives redis-benchmark; "
            } else {
                ""
            };
            return Err(format!(
                "{memtier}redis-benchmark not found. Install it with `apt-get install redis-tools` \
                 (and `apt-get install redis-server` for the reference server)"
            ));
        }
        if !on_path("redis-server") {
            return Err("redis-server not found: `apt-get install redis-server`".into());
        }
        if !a.no_build {
            eprintln!("building kevy-server (release)");
            let st = Command::new(cargo())
                .current_dir(&root)
                .args(["build", "--release", "-p", "kevy_server"])
                .status()
                .map_err(|e| format!("cargo build: {e}"))?;
            if !st.success() {
                return Err(format!(
                    "cargo build --release -p kevy_server failed ({st})"
                ));
            }
        }
        let scratch = out_dir.join("tmp");
        let _ = std::fs::remove_dir_all(&scratch);
        let setup = Setup {
            kevy_bin: target.join("release").join("kevy-server"),
            threads: a.threads,
            scratch: scratch.clone(),
        };
        report.machine.push((
            "kevy threads".into(),
            a.threads
                .map_or("default (one per core but one)".into(), |t| t.to_string()),
        ));
        if !only {
            let mut list = bench::workloads(a.quick, a.scale);
            if let Some(only) = &a.only {
                list.retain(|w| w.name.contains(only.as_str()));
            }
            report.rows = bench::run_workloads(&setup, &list, a.runs);
        }
        if a.streams {
            let list = bench::stream_workloads(a.scale);
            report
                .rows
                .extend(bench::run_workloads(&setup, &list, a.runs));
        }
        let all_phases = !only && !a.quick && a.only.is_none();
        if a.memory || all_phases {
            report.memory = bench::memory::measure(&setup, a.keys);
        } else if a.streams {
            report.memory = bench::memory::measure_shapes(
                &setup,
                a.keys,
                &[bench::memory::Fill::Stream("stream")],
            );
        }
        if a.snapshot || all_phases {
            report.snapshot = bench::snapshot::measure(&setup, a.keys, 10.0);
            report.snapshot_keys = a.keys;
        }
        let _ = std::fs::remove_dir_all(&scratch);
    }
    let md = format!(
        "{}\n{}",
        machine_md(&report.machine),
        report::markdown(&report)
    );
    print!("{md}");
    for (name, body) in [
        ("latest.md", md),
        ("latest.json", report::json(&report)),
        ("latest.svg", report::svg(&report)),
    ] {
        let p = out_dir.join(name);
        std::fs::write(&p, body).map_err(|e| format!("writing {}: {e}", p.display()))?;
    }
    eprintln!("wrote {}/latest.{{md,json,svg}}", out_dir.display());
    Ok(())
}

fn machine_md(m: &[(String, String)]) -> String {
    let mut s = String::from("### Machine\n\n");
    for (k, v) in m {
        s.push_str(&format!("- {k}: {v}\n"));
    }
    s
}

/// nproc, CPU model, kernel, load, and the versions of the tools.
fn machine() -> Vec<(String, String)> {
    let read = |p: &str| std::fs::read_to_string(p).unwrap_or_default();
    let cmd = |c: &str, args: &[&str]| {
        Command::new(c)
            .args(args)
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_default()
    };
    let cpuinfo = read("/proc/cpuinfo");
    let model = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().to_string())
        .unwrap_or_default();
    let nproc = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mem = read("/proc/meminfo")
        .lines()
        .next()
        .unwrap_or("")
        .replace("MemTotal:", "")
        .trim()
        .to_string();
    vec![
        ("nproc".into(), nproc.to_string()),
        ("cpu".into(), model),
        ("memory".into(), mem),
        (
            "kernel".into(),
            read("/proc/sys/kernel/osrelease").trim().to_string(),
        ),
        (
            "load average at start".into(),
            read("/proc/loadavg").trim().to_string(),
        ),
        ("redis-server".into(), cmd("redis-server", &["--version"])),
        (
            "redis-benchmark".into(),
            cmd("redis-benchmark", &["--version"]),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_flags() {
        let v = |s: &str| s.split_whitespace().map(String::from).collect::<Vec<_>>();
        let a = parse_args(&v("--quick --threads 2 --runs 5 --scale 0.5")).unwrap();
        assert!(a.quick && !a.memory);
        assert_eq!(
            (a.threads, a.runs, a.scale, a.keys),
            (Some(2), 5, 0.5, 1_000_000)
        );
        assert!(parse_args(&v("--streams")).unwrap().streams);
        assert!(parse_args(&v("--threads")).is_err());
        assert!(parse_args(&v("--bogus")).is_err());
        assert!(parse_args(&v("--runs 0")).is_err());
    }
}
