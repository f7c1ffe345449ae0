//! `--micro`: runs every criterion bench target in the workspace and reads
//! back each benchmark's median from `target/criterion/**/new/estimates.json`.
//! Bench targets are found from the `[[bench]]` entries of the member crates'
//! manifests and run one by one (`cargo bench -p CRATE --bench NAME`), because
//! `cargo bench --workspace` would also hand criterion's flags to the libtest
//! harness of every library, which rejects them.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Runs the benches (short warm-up and measurement) and returns
/// (benchmark id, median ns), sorted by id.
pub fn run(root: &Path) -> Result<Vec<(String, f64)>, String> {
    let manifest = std::fs::read_to_string(root.join("Cargo.toml"))
        .map_err(|e| format!("reading Cargo.toml: {e}"))?;
    let mut targets = Vec::new();
    for member in members(&manifest) {
        let m = std::fs::read_to_string(root.join(&member).join("Cargo.toml")).unwrap_or_default();
        for b in bench_names(&m) {
            targets.push((member.clone(), b));
        }
    }
    if targets.is_empty() {
        return Err("no [[bench]] targets in the workspace".into());
    }
    for (krate, bench) in &targets {
        eprintln!("micro: cargo bench -p {krate} --bench {bench}");
        let st = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .current_dir(root)
            .args(["bench", "-p", krate, "--bench", bench, "--"])
            .args(["--warm-up-time", "1", "--measurement-time", "3"])
            // criterion's report goes to stderr: stdout carries only the table.
            .stdout(std::process::Stdio::from(std::io::stderr()))
            .status()
            .map_err(|e| format!("cargo bench: {e}"))?;
        if !st.success() {
            return Err(format!(
                "cargo bench -p {krate} --bench {bench} failed ({st})"
            ));
        }
    }
    let base = root.join("target").join("criterion");
    let mut files = Vec::new();
    find_estimates(&base, &mut files);
    let mut out = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap_or_default();
        let Some(m) = median_ns(&text) else { continue };
        // target/criterion/<group>/<function>/new/estimates.json → group/function
        let id = f
            .parent()
            .and_then(Path::parent)
            .and_then(|d| d.strip_prefix(&base).ok())
            .map(|d| d.display().to_string())
            .unwrap_or_default();
        out.push((id, m));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

fn find_estimates(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            // criterion's own HTML report folders hold no estimates.
            if p.file_name().is_some_and(|n| n == "report") {
                continue;
            }
            find_estimates(&p, out);
        } else if p.ends_with("new/estimates.json") {
            out.push(p);
        }
    }
}

/// The `members = [...]` of a workspace manifest.
pub fn members(manifest: &str) -> Vec<String> {
    let Some(start) = manifest.find("members") else {
        return Vec::new();
    };
    let rest = &manifest[start..];
    let (Some(a), Some(b)) = (rest.find('['), rest.find(']')) else {
        return Vec::new();
    };
    rest[a + 1..b]
        .split(',')
        .map(|s| s.trim().trim_matches('"').to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

/// The `name`s of a crate manifest's `[[bench]]` tables.
pub fn bench_names(manifest: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut in_bench = false;
    for line in manifest.lines() {
        let t = line.trim();
        if t.starts_with('[') {
            in_bench = t == "[[bench]]";
        } else if in_bench {
            if let Some(v) = t.strip_prefix("name") {
                let v = v
                    .trim_start()
                    .trim_start_matches('=')
                    .trim()
                    .trim_matches('"');
                out.push(v.to_string());
            }
        }
    }
    out
}

/// `median.point_estimate` (ns) from criterion's `estimates.json`.
pub fn median_ns(json: &str) -> Option<f64> {
    let m = &json[json.find("\"median\"")?..];
    let p = &m[m.find("\"point_estimate\"")? + "\"point_estimate\"".len()..];
    let p = p.trim_start().strip_prefix(':')?.trim_start();
    let end = p.find([',', '}'])?;
    p[..end].trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_criterion_estimates() {
        let j = r#"{"mean":{"confidence_interval":{"confidence_level":0.95,"lower_bound":10.0,"upper_bound":12.0},"point_estimate":11.0,"standard_error":0.5},"median":{"confidence_interval":{"confidence_level":0.95,"lower_bound":9.5,"upper_bound":10.5},"point_estimate":10.25,"standard_error":0.2},"median_abs_dev":{"point_estimate":1.0}}"#;
        assert_eq!(median_ns(j), Some(10.25));
        assert_eq!(median_ns("{}"), None);
    }

    #[test]
    fn reads_manifests() {
        let ws = "[workspace]\nresolver = \"2\"\nmembers = [\"kevy_resp\", \"xtask\"]\n";
        assert_eq!(members(ws), vec!["kevy_resp", "xtask"]);
        let c = "[package]\nname = \"kevy_store\"\n\n[[bench]]\nname = \"store\"\nharness = false\n\n[[bench]]\nname = \"zset\"\nharness = false\n[lints]\n";
        assert_eq!(bench_names(c), vec!["store", "zset"]);
    }
}
