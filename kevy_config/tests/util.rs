//! Shared helpers: argument vectors, scratch directories and a `CONFIG`
//! transcript checker.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use kevy_config::Live;

pub fn args(a: &[&str]) -> Vec<String> {
    a.iter().map(|s| s.to_string()).collect()
}

pub fn env(e: &[(&str, &str)]) -> Vec<(String, String)> {
    e.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// A fresh directory under the system temp dir, removed on drop.
pub struct Scratch(PathBuf);

impl Scratch {
    pub fn new() -> Scratch {
        static N: AtomicUsize = AtomicUsize::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("kevy-config-test-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    /// Writes `text` to `name` inside the scratch dir; returns its path.
    pub fn file(&self, name: &str, text: &str) -> PathBuf {
        let p = self.0.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `CONFIG SET a b c d ...` from words.
pub fn config_set(live: &Live, words: &[&str]) -> Result<Vec<&'static str>, String> {
    let pairs: Vec<(&[u8], &[u8])> = words
        .chunks(2)
        .map(|p| (p[0].as_bytes(), p[1].as_bytes()))
        .collect();
    live.config_set(&pairs)
}

/// `CONFIG GET p1 p2 ...`, flattened like a RESP2 reply.
pub fn config_get(live: &Live, patterns: &[&str]) -> Vec<String> {
    let pats: Vec<&[u8]> = patterns.iter().map(|p| p.as_bytes()).collect();
    live.config_get(&pats)
        .into_iter()
        .flat_map(|(n, v)| [n, v])
        .collect()
}

/// Runs `CONFIG SET` transcripts: each entry is the arguments after `SET`
/// and the expected reply (`OK` or the error text).
pub fn check_set(live: &Live, script: &[(&[&str], &str)]) {
    for (words, want) in script {
        let got = match config_set(live, words) {
            Ok(_) => "OK".to_string(),
            Err(e) => e,
        };
        assert_eq!(&got, want, "CONFIG SET {}", words.join(" "));
    }
}
