//! [`Live`]: the running server's configuration. Readers on the command path
//! take a lock-free snapshot through `arc-swap`; `CONFIG SET` builds a new
//! `Config` aside and swaps it in whole, so a reader sees either every change
//! of one `CONFIG SET` or none. Writers (`CONFIG SET`, `CONFIG REWRITE`)
//! serialize on a mutex that readers never touch.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use arc_swap::{ArcSwap, Guard};

use crate::config::Config;
use crate::defs::{self, Mutability};
use crate::glob::glob_match;
use crate::rewrite::rewrite_text;
use crate::sources::Loaded;

/// The live configuration shared by all threads.
pub struct Live {
    current: ArcSwap<Config>,
    file: Option<PathBuf>,
    writer: Mutex<()>,
}

impl Live {
    /// Wraps a start-up config; `file` is where `CONFIG REWRITE` writes.
    pub fn new(config: Config, file: Option<PathBuf>) -> Live {
        Live {
            current: ArcSwap::from_pointee(config),
            file,
            writer: Mutex::new(()),
        }
    }

    /// The live config for a [`Loaded`] start-up result.
    pub fn from_loaded(loaded: &Loaded) -> Live {
        Live::new(loaded.config.clone(), loaded.file.clone())
    }

    /// The current config, lock-free. Hold the guard briefly (one command);
    /// use [`Live::snapshot`] to keep it longer.
    pub fn get(&self) -> Guard<Arc<Config>> {
        self.current.load()
    }

    /// The current config as an owned `Arc`.
    pub fn snapshot(&self) -> Arc<Config> {
        self.current.load_full()
    }

    /// The config file `CONFIG REWRITE` writes to, if any.
    pub fn file(&self) -> Option<&Path> {
        self.file.as_deref()
    }

    /// `CONFIG GET pattern [pattern ...]`: (name, value) pairs, values in
    /// Redis's formatting. Like Redis, a pattern without `*?[` is an exact,
    /// case-insensitive lookup answered under the name as the client wrote
    /// it; glob patterns match every name and alias, case-insensitively.
    /// Each name appears once. Order: patterns in turn, then table order
    /// (Redis's order is its hash table's, and clients read a map).
    pub fn config_get(&self, patterns: &[&[u8]]) -> Vec<(String, String)> {
        let config = self.get();
        let mut out: Vec<(String, String)> = Vec::new();
        let mut push = |name: String, value: String| {
            if !out.iter().any(|(n, _)| n.eq_ignore_ascii_case(&name)) {
                out.push((name, value));
            }
        };
        for pat in patterns {
            if !pat.iter().any(|c| matches!(c, b'*' | b'?' | b'[')) {
                let name = String::from_utf8_lossy(pat);
                if let Some((k, _)) = defs::find(&name) {
                    push(name.into_owned(), k.format(&config));
                }
                continue;
            }
            for (name, k) in defs::all_names() {
                if glob_match(pat, name.as_bytes(), true) {
                    push(name.to_string(), k.format(&config));
                }
            }
        }
        out
    }

    /// `CONFIG SET name value [name value ...]`, all or nothing. On success,
    /// returns the canonical names of the knobs whose value actually changed,
    /// in argument order, so the server can react (reopen the AOF, resize
    /// the slow log, ...). The error is Redis's full error text, `ERR`
    /// included.
    ///
    /// The caller checks arity first, as Redis does: fewer than one pair is
    /// `ERR wrong number of arguments for 'config|set' command`, an odd
    /// number of arguments is `ERR syntax error`.
    pub fn config_set(&self, pairs: &[(&[u8], &[u8])]) -> Result<Vec<&'static str>, String> {
        // Writers serialize; a poisoned lock only means another writer
        // panicked, and the swapped-in config is always whole.
        let _w = self.writer.lock().unwrap_or_else(|e| e.into_inner());

        // First pass, as Redis's: find every knob, reporting the first
        // unknown name, else the first immutable one or duplicate.
        let mut found = Vec::with_capacity(pairs.len());
        let mut unknown: Option<String> = None;
        let mut refused: Option<(String, &str)> = None;
        for (name, _) in pairs {
            let typed = String::from_utf8_lossy(name).into_owned();
            let Some((k, matched)) = defs::find(&typed) else {
                if unknown.is_none() && refused.is_none() {
                    unknown = Some(typed);
                }
                continue;
            };
            if unknown.is_some() || refused.is_some() {
                continue;
            }
            let why = match k.mutability {
                Mutability::Runtime if found.iter().any(|(_, m)| *m == matched) => {
                    Some("duplicate parameter")
                }
                Mutability::Runtime => None,
                Mutability::Restart => Some("can't set immutable config"),
                Mutability::Protected => Some("can't set protected config"),
            };
            if let Some(why) = why {
                refused = Some((typed, why));
            }
            found.push((k, matched));
        }
        if let Some(name) = unknown {
            return Err(format!(
                "ERR Unknown option or number of arguments for CONFIG SET - '{name}'"
            ));
        }
        if let Some((name, why)) = refused {
            return Err(set_failed(&name, why));
        }

        // Second pass: apply in order to a private copy; publish only if
        // every value was accepted.
        let old = self.snapshot();
        let mut new = Config::clone(&old);
        for ((k, matched), (_, value)) in found.iter().zip(pairs) {
            let value = std::str::from_utf8(value)
                .map_err(|_| set_failed(matched, "argument must be valid UTF-8"))?;
            k.apply(&mut new, value)
                .map_err(|why| set_failed(matched, &why))?;
        }
        let mut changed: Vec<&'static str> = Vec::new();
        for (k, _) in &found {
            if !changed.contains(&k.name) && k.format(&old) != k.format(&new) {
                changed.push(k.name);
            }
        }
        if !changed.is_empty() {
            self.current.store(Arc::new(new));
        }
        Ok(changed)
    }

    /// `CONFIG REWRITE`: updates the config file to the live values, keeping
    /// the operator's comments and order (see `rewrite.rs`). The new file is
    /// written aside, synced and renamed over the old one, so a crash leaves
    /// either the old file or the new one.
    pub fn rewrite(&self) -> Result<(), String> {
        let Some(path) = self.file.as_deref() else {
            return Err("ERR The server is running without a config file".to_string());
        };
        let _w = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        let fail = |e: std::io::Error| format!("ERR Rewriting config file: {e}");
        let old = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(fail(e)),
        };
        let new = rewrite_text(&old, &self.get());
        if new == old {
            return Ok(());
        }
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(".rewrite-tmp");
        let tmp = PathBuf::from(tmp);
        let write = || -> std::io::Result<()> {
            use std::io::Write;
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(new.as_bytes())?;
            f.sync_all()?;
            std::fs::rename(&tmp, path)
        };
        write().map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            fail(e)
        })
    }
}

fn set_failed(name: &str, why: &str) -> String {
    format!("ERR CONFIG SET failed (possibly related to argument '{name}') - {why}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(live: &Live, args: &[(&str, &str)]) -> Result<Vec<&'static str>, String> {
        let pairs: Vec<(&[u8], &[u8])> = args
            .iter()
            .map(|(n, v)| (n.as_bytes(), v.as_bytes()))
            .collect();
        live.config_set(&pairs)
    }

    #[test]
    fn error_precedence_matches_redis() {
        let live = Live::new(Config::default(), None);
        let unknown = "ERR Unknown option or number of arguments for CONFIG SET - 'foo'";
        assert_eq!(
            set(&live, &[("foo", "1"), ("databases", "1")]).unwrap_err(),
            unknown
        );
        assert_eq!(
            set(&live, &[("hz", "abc"), ("foo", "1")]).unwrap_err(),
            unknown
        );
        assert_eq!(
            set(&live, &[("Databases", "1"), ("foo", "1")]).unwrap_err(),
            "ERR CONFIG SET failed (possibly related to argument 'Databases') - can't set immutable config"
        );
        assert_eq!(
            set(&live, &[("hz", "5"), ("HZ", "6")]).unwrap_err(),
            "ERR CONFIG SET failed (possibly related to argument 'HZ') - duplicate parameter"
        );
        assert_eq!(
            set(&live, &[("HZ", "abc")]).unwrap_err(),
            "ERR CONFIG SET failed (possibly related to argument 'hz') - argument couldn't be parsed into an integer"
        );
        assert_eq!(
            set(&live, &[("dir", "/tmp")]).unwrap_err(),
            "ERR CONFIG SET failed (possibly related to argument 'dir') - can't set protected config"
        );
    }

    #[test]
    fn alias_and_name_are_not_duplicates_and_last_wins() {
        let live = Live::new(Config::default(), None);
        let changed = set(
            &live,
            &[
                ("hash-max-ziplist-entries", "1"),
                ("hash-max-listpack-entries", "2"),
            ],
        );
        assert_eq!(changed, Ok(vec!["hash-max-listpack-entries"]));
        assert_eq!(live.get().hash_max_listpack_entries, 2);
    }

    #[test]
    fn unchanged_values_are_not_reported() {
        let live = Live::new(Config::default(), None);
        assert_eq!(set(&live, &[("appendfsync", "EVERYSEC")]), Ok(vec![]));
        assert_eq!(
            set(&live, &[("appendfsync", "always")]),
            Ok(vec!["appendfsync"])
        );
    }

    #[test]
    fn get_exact_names_echo_the_client_spelling() {
        let live = Live::new(Config::default(), None);
        let got = live.config_get(&[b"Port", b"pORT", b"p*"]);
        assert_eq!(got[0], ("Port".to_string(), "6379".to_string()));
        assert!(got.iter().all(|(n, _)| n != "port" && n != "pORT"));
        assert!(got.iter().any(|(n, _)| n == "protected-mode"));
        assert!(live.config_get(&[b"nonexistent"]).is_empty());
    }

    #[test]
    fn rewrite_without_file() {
        let live = Live::new(Config::default(), None);
        assert_eq!(
            live.rewrite().unwrap_err(),
            "ERR The server is running without a config file"
        );
    }
}
