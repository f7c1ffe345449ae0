//! Driving a server with `redis-benchmark` and reading what it prints. One
//! run of a workload starts one or more `redis-benchmark` processes at once
//! (two for the 90/10 GET/SET mix), samples the server's CPU time around
//! them, and parses their full (non-`-q`) output: the `====== TITLE ======`
//! header, `N requests completed in S seconds`, both latency distribution
//! blocks, and the `Summary:` block. Latencies of concurrent processes are
//! merged from their cumulative counts, so a mix reports one honest p99.9.

use super::servers::Server;
use std::process::{Command, Stdio};

/// One `redis-benchmark` invocation: its arguments after host and port.
#[derive(Clone, Debug)]
pub struct Proc {
    pub args: Vec<String>,
}

impl Proc {
    pub fn new(args: &[&str]) -> Proc {
        Proc {
            args: args.iter().map(|s| s.to_string()).collect(),
        }
    }
}

/// What one section of `redis-benchmark` output says.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Section {
    pub title: String,
    pub requests: u64,
    pub secs: f64,
    pub rps: f64,
    pub p50: f64,
    pub p99: f64,
    pub max: f64,
    /// (latency ms, requests at or below it), from both distribution blocks.
    pub points: Vec<(f64, u64)>,
}

/// The result of one run of a workload against one server.
#[derive(Clone, Debug, Default)]
pub struct Sample {
    pub requests: u64,
    pub rps: f64,
    pub p50: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
    /// Server CPU seconds (utime + stime) spent during the run.
    pub cpu: f64,
}

/// Runs `procs` concurrently against `server`; the last section of each
/// process's output is the measured one (earlier ones, like LRANGE's
/// LPUSH fill, are set-up).
pub fn run(server: &Server, procs: &[Proc]) -> Result<Sample, String> {
    let cpu0 = server.cpu_seconds()?;
    let mut children = Vec::new();
    for p in procs {
        let child = Command::new("redis-benchmark")
            .args(["-h", "127.0.0.1", "-p", &server.port.to_string()])
            .args(["--precision", "3"])
            .args(&p.args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("starting redis-benchmark: {e}"))?;
        children.push(child);
    }
    let mut sections = Vec::new();
    for (child, p) in children.into_iter().zip(procs) {
        let out = child
            .wait_with_output()
            .map_err(|e| format!("redis-benchmark: {e}"))?;
        let text = String::from_utf8_lossy(&out.stdout);
        let parsed = parse_output(&text);
        match parsed.into_iter().last() {
            Some(s) if out.status.success() && s.requests > 0 => sections.push(s),
            _ => {
                return Err(format!(
                    "redis-benchmark {} against {} failed ({}): {}",
                    p.args.join(" "),
                    server.kind.name(),
                    out.status,
                    String::from_utf8_lossy(&out.stderr).trim()
                ))
            }
        }
    }
    let cpu = server.cpu_seconds()? - cpu0;
    Ok(combine(&sections, cpu))
}

/// One sample from the sections of concurrently run processes.
pub fn combine(sections: &[Section], cpu: f64) -> Sample {
    let requests: u64 = sections.iter().map(|s| s.requests).sum();
    let max = sections.iter().map(|s| s.max).fold(0.0, f64::max);
    if let [s] = sections {
        return Sample {
            requests,
            rps: s.rps,
            p50: s.p50,
            p99: s.p99,
            p999: percentile(&[&s.points], requests, 99.9),
            max,
            cpu,
        };
    }
    let secs = sections.iter().map(|s| s.secs).fold(0.0, f64::max);
    let points: Vec<&[(f64, u64)]> = sections.iter().map(|s| &s.points[..]).collect();
    Sample {
        requests,
        rps: if secs > 0.0 {
            requests as f64 / secs
        } else {
            0.0
        },
        p50: percentile(&points, requests, 50.0),
        p99: percentile(&points, requests, 99.0),
        p999: percentile(&points, requests, 99.9),
        max,
        cpu,
    }
}

/// The smallest reported latency at which at least `q`% of all `total`
/// requests (summed over every process's cumulative counts) had finished.
pub fn percentile(lists: &[&[(f64, u64)]], total: u64, q: f64) -> f64 {
    let mut xs: Vec<f64> = lists.iter().flat_map(|l| l.iter().map(|p| p.0)).collect();
    xs.sort_by(f64::total_cmp);
    xs.dedup();
    let want = (q / 100.0 * total as f64).ceil() as u64;
    for x in &xs {
        let n: u64 = lists
            .iter()
            .map(|l| {
                l.iter()
                    .filter(|p| p.0 <= *x)
                    .map(|p| p.1)
                    .max()
                    .unwrap_or(0)
            })
            .sum();
        if n >= want {
            return *x;
        }
    }
    xs.last().copied().unwrap_or(0.0)
}

/// Splits `redis-benchmark` output (progress lines use `\r`) into sections.
pub fn parse_output(text: &str) -> Vec<Section> {
    let mut out: Vec<Section> = Vec::new();
    let mut in_dist = false;
    let mut summary_next = false;
    for line in text.split(['\r', '\n']) {
        let t = line.trim();
        if let Some(title) = t
            .strip_prefix("======")
            .and_then(|r| r.strip_suffix("======"))
        {
            out.push(Section {
                title: title.trim().to_string(),
                ..Section::default()
            });
            in_dist = false;
            continue;
        }
        let Some(cur) = out.last_mut() else { continue };
        if let Some(r) = t.split_once(" requests completed in ") {
            cur.requests = r.0.trim().parse().unwrap_or(0);
            cur.secs = r.1.trim_end_matches(" seconds").parse().unwrap_or(0.0);
        } else if t.starts_with("Latency by percentile") || t.starts_with("Cumulative distribution")
        {
            in_dist = true;
        } else if in_dist && t.contains("% <= ") {
            if let Some(p) = dist_point(t) {
                cur.points.push(p);
            }
        } else if let Some(r) = t.strip_prefix("throughput summary: ") {
            in_dist = false;
            cur.rps = r
                .split_whitespace()
                .next()
                .and_then(|v| v.parse().ok())
                .unwrap_or(0.0);
        } else if t.starts_with("avg") && t.contains("p99") {
            summary_next = true;
            continue;
        } else if summary_next {
            // avg min p50 p95 p99 max
            let v: Vec<f64> = t
                .split_whitespace()
                .filter_map(|x| x.parse().ok())
                .collect();
            if v.len() == 6 {
                cur.p50 = v[2];
                cur.p99 = v[4];
                cur.max = v[5];
            }
        } else if t.is_empty() {
            in_dist = false;
        }
        summary_next = false;
    }
    out
}

/// `99.900% <= 1.234 milliseconds (cumulative count 99900)` → (1.234, 99900).
fn dist_point(t: &str) -> Option<(f64, u64)> {
    let (_, rest) = t.split_once("% <= ")?;
    let ms: f64 = rest.split_whitespace().next()?.parse().ok()?;
    let (_, c) = rest.split_once("cumulative count ")?;
    let n: u64 = c.trim_end_matches(')').trim().parse().ok()?;
    Some((ms, n))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "\r====== SET ======\r                                      \r\
SET: rps=7952.6 (overall: 7859.4) avg_msec=4.258 (overall: 4.258)\r\n\
  20000 requests completed in 3.50 seconds
  50 parallel clients
  3 bytes payload

Latency by percentile distribution:
0.000% <= 0.199 milliseconds (cumulative count 1)
50.000% <= 4.591 milliseconds (cumulative count 10003)
99.219% <= 45.311 milliseconds (cumulative count 19844)
99.902% <= 57.887 milliseconds (cumulative count 19982)
100.000% <= 58.303 milliseconds (cumulative count 20000)

Cumulative distribution of latencies:
0.000% <= 0.103 milliseconds (cumulative count 0)
99.000% <= 34.111 milliseconds (cumulative count 19800)
100.000% <= 59.103 milliseconds (cumulative count 20000)

Summary:
  throughput summary: 5707.76 requests per second
  latency summary (msec):
          avg       min       p50       p95       p99       max
        6.538     0.192     4.591    17.263    34.111    58.303
\r====== LPUSH (needed to benchmark LRANGE) ======\r\n  10 requests completed in 0.01 seconds
Summary:
  throughput summary: 1000.00 requests per second
";

    #[test]
    fn parses_sections() {
        let s = parse_output(SAMPLE);
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].title, "SET");
        assert_eq!(s[0].requests, 20000);
        assert_eq!(s[0].secs, 3.5);
        assert_eq!(s[0].rps, 5707.76);
        assert_eq!((s[0].p50, s[0].p99, s[0].max), (4.591, 34.111, 58.303));
        assert_eq!(s[0].points.len(), 8);
        assert_eq!(s[0].points[3], (57.887, 19982));
        assert_eq!(s[1].title, "LPUSH (needed to benchmark LRANGE)");
        assert_eq!(s[1].requests, 10);
    }

    #[test]
    fn percentiles_from_cumulative_counts() {
        let s = &parse_output(SAMPLE)[0];
        assert_eq!(percentile(&[&s.points], 20000, 99.9), 57.887);
        assert_eq!(percentile(&[&s.points], 20000, 50.0), 4.591);
        // Two processes: 90 fast requests at 1 ms, 10 slow ones at 10 ms.
        let a = [(1.0, 90)];
        let b = [(1.0, 0), (10.0, 10)];
        assert_eq!(percentile(&[&a, &b], 100, 50.0), 1.0);
        assert_eq!(percentile(&[&a, &b], 100, 99.0), 10.0);
    }

    #[test]
    fn combines_concurrent_processes() {
        let a = Section {
            requests: 900,
            secs: 2.0,
            max: 3.0,
            points: vec![(1.0, 900)],
            ..Section::default()
        };
        let b = Section {
            requests: 100,
            secs: 2.5,
            max: 9.0,
            points: vec![(2.0, 100)],
            ..Section::default()
        };
        let s = combine(&[a, b], 1.5);
        assert_eq!(s.requests, 1000);
        assert_eq!(s.rps, 400.0);
        assert_eq!((s.p50, s.p99, s.max), (1.0, 2.0, 9.0));
    }
}
