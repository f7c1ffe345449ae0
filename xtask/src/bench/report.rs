//! Writing the results: a Markdown report (printed and saved as
//! `target/bench/latest.md`), the same data as JSON (`latest.json`, emitted
//! by hand to keep xtask dependency-free), and a hand-drawn SVG bar chart
//! of kevy against redis ops/s per workload on a log scale (`latest.svg`).

use super::memory::MemRow;
use super::snapshot::SnapRow;
use super::{Row, Stats};
use std::fmt::Write;

/// Everything one invocation measured.
#[derive(Debug, Default)]
pub struct Report {
    pub machine: Vec<(String, String)>,
    pub runs: usize,
    pub rows: Vec<Row>,
    pub memory: Vec<MemRow>,
    pub snapshot: Vec<SnapRow>,
    /// Keys loaded before the snapshot-impact runs.
    pub snapshot_keys: u64,
    /// (criterion benchmark id, median ns).
    pub micro: Vec<(String, f64)>,
}

/// `123456.7` → `123.5k`; `1234567` → `1.23M`.
pub fn si(x: f64) -> String {
    if x >= 1e6 {
        format!("{:.2}M", x / 1e6)
    } else if x >= 1e3 {
        format!("{:.1}k", x / 1e3)
    } else {
        format!("{x:.0}")
    }
}

fn ns(x: f64) -> String {
    if x >= 1e6 {
        format!("{:.2} ms", x / 1e6)
    } else if x >= 1e3 {
        format!("{:.2} µs", x / 1e3)
    } else {
        format!("{x:.1} ns")
    }
}

fn na(e: &str) -> String {
    let e = e.lines().next().unwrap_or("").replace('|', "/");
    format!("n/a ({})", e.chars().take(80).collect::<String>())
}

fn ratio(a: f64, b: f64) -> String {
    if b > 0.0 {
        format!("{:.2}×", a / b)
    } else {
        "–".into()
    }
}

/// The Markdown report.
pub fn markdown(r: &Report) -> String {
    let mut o = String::new();
    if !r.rows.is_empty() {
        let _ = writeln!(o, "### Throughput and latency (median of {} runs per server; ops/s spread min–max; latencies in ms)\n", r.runs);
        o.push_str("| workload | kevy ops/s | redis ops/s | kevy/redis | kevy p50 / p99 / p99.9 | redis p50 / p99 / p99.9 | kevy CPU s | redis CPU s | kevy ops/CPU-s | redis ops/CPU-s | CPU efficiency kevy/redis |\n");
        o.push_str("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        for row in &r.rows {
            let cell = |s: &Result<Stats, String>| match s {
                Ok(s) => [
                    format!("{} ({}–{})", si(s.rps), si(s.rps_min), si(s.rps_max)),
                    format!("{:.3} / {:.3} / {:.3}", s.p50, s.p99, s.p999),
                    format!("{:.2}", s.cpu),
                    si(s.ops_per_cpu),
                ],
                Err(e) => [na(e), "–".into(), "–".into(), "–".into()],
            };
            let (k, rd) = (cell(&row.kevy), cell(&row.redis));
            let (tr, cr) = match (&row.kevy, &row.redis) {
                (Ok(a), Ok(b)) => (ratio(a.rps, b.rps), ratio(a.ops_per_cpu, b.ops_per_cpu)),
                _ => ("–".into(), "–".into()),
            };
            let _ = writeln!(
                o,
                "| {} | {} | {} | {tr} | {} | {} | {} | {} | {} | {} | {cr} |",
                row.name, k[0], rd[0], k[1], rd[1], k[2], rd[2], k[3], rd[3]
            );
        }
        o.push('\n');
    }
    if !r.memory.is_empty() {
        o.push_str("### Memory (RSS growth per item, fresh server per shape)\n\n");
        o.push_str("| data | items | kevy bytes/item | redis bytes/item | kevy/redis |\n|---|---:|---:|---:|---:|\n");
        for m in &r.memory {
            let c = |x: &Result<f64, String>| match x {
                Ok(v) => format!("{v:.1}"),
                Err(e) => na(e),
            };
            let rt = match (&m.kevy, &m.redis) {
                (Ok(a), Ok(b)) => ratio(*a, *b),
                _ => "–".into(),
            };
            let _ = writeln!(
                o,
                "| {} | {} | {} | {} | {rt} |",
                m.what,
                si(m.items as f64),
                c(&m.kevy),
                c(&m.redis)
            );
        }
        o.push('\n');
    }
    if !r.snapshot.is_empty() {
        let _ = writeln!(
            o,
            "### Snapshot impact (90/10 GET/SET, 50 clients, {} keys; BGSAVE issued 1 s in; ms)\n",
            si(r.snapshot_keys as f64)
        );
        o.push_str("| server | ops/s no save | p99 / p99.9 / max no save | ops/s during BGSAVE | p99 / p99.9 / max during BGSAVE | p99.9 ratio | BGSAVE took |\n|---|---:|---:|---:|---:|---:|---:|\n");
        for s in &r.snapshot {
            let lat =
                |x: &super::load::Sample| format!("{:.3} / {:.3} / {:.3}", x.p99, x.p999, x.max);
            let (b_rps, b_lat) = match &s.base {
                Ok(b) => (si(b.rps), lat(b)),
                Err(e) => (na(e), "–".into()),
            };
            let (d_rps, d_lat, rt, took) = match (&s.during, &s.base) {
                (Ok((d, t)), Ok(b)) => (
                    si(d.rps),
                    lat(d),
                    ratio(d.p999, b.p999),
                    format!("{t:.2} s"),
                ),
                (Ok((d, t)), Err(_)) => (si(d.rps), lat(d), "–".into(), format!("{t:.2} s")),
                (Err(e), _) => (na(e), "–".into(), "–".into(), "–".into()),
            };
            let _ = writeln!(
                o,
                "| {} | {b_rps} | {b_lat} | {d_rps} | {d_lat} | {rt} | {took} |",
                s.kind.name()
            );
        }
        o.push('\n');
    }
    if !r.micro.is_empty() {
        o.push_str(
            "### Micro benchmarks (criterion, median)\n\n| benchmark | median |\n|---|---:|\n",
        );
        for (id, t) in &r.micro {
            let _ = writeln!(o, "| {id} | {} |", ns(*t));
        }
        o.push('\n');
    }
    o
}

/// A JSON string literal.
pub fn js(s: &str) -> String {
    let mut o = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            '\n' => o.push_str("\\n"),
            c if (c as u32) < 0x20 => {
                let _ = write!(o, "\\u{:04x}", c as u32);
            }
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

fn num(x: f64) -> String {
    if x.is_finite() {
        format!("{x}")
    } else {
        "null".into()
    }
}

fn stats_json(s: &Result<Stats, String>) -> String {
    match s {
        Ok(s) => format!(
            "{{\"runs\":{},\"ops\":{},\"ops_min\":{},\"ops_max\":{},\"p50_ms\":{},\"p99_ms\":{},\"p999_ms\":{},\"max_ms\":{},\"cpu_s\":{},\"ops_per_cpu_s\":{}}}",
            s.runs, num(s.rps), num(s.rps_min), num(s.rps_max), num(s.p50), num(s.p99), num(s.p999), num(s.max), num(s.cpu), num(s.ops_per_cpu)
        ),
        Err(e) => format!("{{\"error\":{}}}", js(e)),
    }
}

fn sample_json(s: &Result<super::load::Sample, String>) -> String {
    match s {
        Ok(s) => {
            format!(
            "{{\"ops\":{},\"p50_ms\":{},\"p99_ms\":{},\"p999_ms\":{},\"max_ms\":{},\"cpu_s\":{}}}",
            num(s.rps), num(s.p50), num(s.p99), num(s.p999), num(s.max), num(s.cpu)
        )
        }
        Err(e) => format!("{{\"error\":{}}}", js(e)),
    }
}

/// The JSON document.
pub fn json(r: &Report) -> String {
    let mut o = String::from("{\n  \"machine\": {");
    let m: Vec<String> = r
        .machine
        .iter()
        .map(|(k, v)| format!("{}: {}", js(k), js(v)))
        .collect();
    o.push_str(&m.join(", "));
    let _ = write!(o, "}},\n  \"runs\": {},\n  \"workloads\": [", r.runs);
    let rows: Vec<String> = r
        .rows
        .iter()
        .map(|w| {
            format!(
                "\n    {{\"name\": {}, \"kevy\": {}, \"redis\": {}}}",
                js(&w.name),
                stats_json(&w.kevy),
                stats_json(&w.redis)
            )
        })
        .collect();
    o.push_str(&rows.join(","));
    o.push_str("\n  ],\n  \"memory\": [");
    let mem: Vec<String> = r
        .memory
        .iter()
        .map(|m| {
            let c = |x: &Result<f64, String>| match x {
                Ok(v) => num(*v),
                Err(e) => format!("{{\"error\":{}}}", js(e)),
            };
            format!("\n    {{\"data\": {}, \"items\": {}, \"kevy_bytes_per_item\": {}, \"redis_bytes_per_item\": {}}}", js(&m.what), m.items, c(&m.kevy), c(&m.redis))
        })
        .collect();
    o.push_str(&mem.join(","));
    o.push_str("\n  ],\n  \"snapshot\": [");
    let snap: Vec<String> = r
        .snapshot
        .iter()
        .map(|s| {
            let during = match &s.during {
                Ok((d, t)) => format!(
                    "{{\"load\": {}, \"bgsave_s\": {}}}",
                    sample_json(&Ok(d.clone())),
                    num(*t)
                ),
                Err(e) => format!("{{\"error\":{}}}", js(e)),
            };
            format!(
                "\n    {{\"server\": {}, \"no_save\": {}, \"during_bgsave\": {during}}}",
                js(s.kind.name()),
                sample_json(&s.base)
            )
        })
        .collect();
    o.push_str(&snap.join(","));
    o.push_str("\n  ],\n  \"micro\": [");
    let micro: Vec<String> = r
        .micro
        .iter()
        .map(|(id, t)| format!("\n    {{\"id\": {}, \"median_ns\": {}}}", js(id), num(*t)))
        .collect();
    o.push_str(&micro.join(","));
    o.push_str("\n  ]\n}\n");
    o
}

fn xml(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Horizontal grouped bars, kevy above redis, ops/s on a log axis.
pub fn svg(r: &Report) -> String {
    let bars: Vec<(&str, Option<f64>, Option<f64>)> = r
        .rows
        .iter()
        .map(|w| {
            (
                w.name.as_str(),
                w.kevy.as_ref().ok().map(|s| s.rps),
                w.redis.as_ref().ok().map(|s| s.rps),
            )
        })
        .collect();
    let vals = bars
        .iter()
        .flat_map(|b| [b.1, b.2])
        .flatten()
        .filter(|v| *v > 0.0);
    let hi = vals.clone().fold(1.0, f64::max);
    let lo = vals.fold(hi, f64::min);
    let (d0, d1) = (lo.log10().floor().min(3.0), hi.log10().ceil().max(4.0));
    let (left, width, row_h, top) = (230.0, 620.0, 34.0, 40.0);
    let x = |v: f64| left + (v.log10() - d0) / (d1 - d0) * width;
    let h = top + row_h * bars.len() as f64 + 40.0;
    let mut o = String::new();
    let _ = writeln!(o, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{h}\" font-family=\"sans-serif\" font-size=\"12\">", left + width + 90.0);
    let _ = writeln!(o, "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>");
    let _ = writeln!(o, "<text x=\"{left}\" y=\"20\" font-size=\"14\">ops/s, kevy vs redis-server (log scale, median of {} runs)</text>", r.runs);
    let _ = writeln!(o, "<rect x=\"{}\" y=\"26\" width=\"10\" height=\"10\" fill=\"#e4572e\"/><text x=\"{}\" y=\"35\">kevy</text><rect x=\"{}\" y=\"26\" width=\"10\" height=\"10\" fill=\"#4c72b0\"/><text x=\"{}\" y=\"35\">redis</text>", left + width - 110.0, left + width - 96.0, left + width - 55.0, left + width - 41.0);
    let mut d = d0;
    while d <= d1 {
        let gx = x(10f64.powf(d));
        let _ = writeln!(o, "<line x1=\"{gx:.1}\" y1=\"{top}\" x2=\"{gx:.1}\" y2=\"{:.1}\" stroke=\"#ddd\"/><text x=\"{gx:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>", h - 35.0, h - 20.0, si(10f64.powf(d)));
        d += 1.0;
    }
    for (i, (name, k, rd)) in bars.iter().enumerate() {
        let y = top + row_h * i as f64;
        let _ = writeln!(
            o,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            left - 8.0,
            y + 19.0,
            xml(name)
        );
        for (j, (v, color)) in [(k, "#e4572e"), (rd, "#4c72b0")].into_iter().enumerate() {
            let by = y + 4.0 + 13.0 * j as f64;
            match v {
                Some(v) if *v > 0.0 => {
                    let w = (x(*v) - left).max(1.0);
                    let _ = writeln!(o, "<rect x=\"{left}\" y=\"{by:.1}\" width=\"{w:.1}\" height=\"12\" fill=\"{color}\"/><text x=\"{:.1}\" y=\"{:.1}\" font-size=\"10\">{}</text>", left + w + 4.0, by + 10.0, si(*v));
                }
                _ => {
                    let _ = writeln!(
                        o,
                        "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"10\">n/a</text>",
                        left + 4.0,
                        by + 10.0
                    );
                }
            }
        }
    }
    o.push_str("</svg>\n");
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report() -> Report {
        let st = Stats {
            runs: 3,
            rps: 150_000.0,
            rps_min: 140_000.0,
            rps_max: 160_000.0,
            p50: 0.3,
            p99: 0.9,
            p999: 1.5,
            max: 3.0,
            cpu: 1.0,
            ops_per_cpu: 100_000.0,
        };
        Report {
            machine: vec![("nproc".into(), "2".into())],
            runs: 3,
            rows: vec![
                Row {
                    name: "SET \"x\"".into(),
                    kevy: Ok(st.clone()),
                    redis: Ok(Stats {
                        rps: 100_000.0,
                        ops_per_cpu: 50_000.0,
                        ..st
                    }),
                },
                Row {
                    name: "SET always".into(),
                    kevy: Err("refused | x".into()),
                    redis: Err("no".into()),
                },
            ],
            micro: vec![("parse/pipeline16_set".into(), 812.5)],
            ..Report::default()
        }
    }

    #[test]
    fn markdown_has_ratios_and_na() {
        let md = markdown(&report());
        assert!(
            md.contains("| 150.0k (140.0k–160.0k) | 100.0k (140.0k–160.0k) | 1.50× |"),
            "{md}"
        );
        assert!(md.contains("| 2.00× |"));
        assert!(md.contains("n/a (refused / x)"));
        assert!(md.contains("| parse/pipeline16_set | 812.5 ns |"));
    }

    #[test]
    fn json_escapes_and_nests() {
        let j = json(&report());
        assert!(j.contains("\"name\": \"SET \\\"x\\\"\""));
        assert!(j.contains("\"kevy\": {\"error\":\"refused | x\"}"));
        assert!(j.contains("\"ops\":150000,"));
        assert_eq!(j.matches('{').count(), j.matches('}').count());
    }

    #[test]
    fn svg_draws_every_bar() {
        let s = svg(&report());
        assert!(s.starts_with("<svg"));
        assert_eq!(s.matches("fill=\"#e4572e\"/><text").count(), 1 + 1);
        assert!(s.contains("n/a"));
        assert!(s.contains("SET &quot;x&quot;") || s.contains("SET \"x\""));
    }
}
