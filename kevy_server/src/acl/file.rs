//! The `aclfile`: one `user <name> <rules...>` line per user, the same text
//! `ACL LIST` prints. Loading applies every line to a fresh user and fails
//! as a whole on the first bad line; saving writes a temporary file and
//! renames it over the old one, so a crash leaves either file intact.

use super::rules;
use super::user::User;
use crate::table::CommandTable;
use std::collections::BTreeMap;
use std::io::Write;

/// Parses an aclfile's text. Errors carry Redis's `path:line: reason` form.
pub fn parse(
    path: &str,
    text: &str,
    table: &CommandTable,
) -> Result<BTreeMap<String, User>, String> {
    let mut users = BTreeMap::new();
    let mut errors = String::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let words: Vec<&str> = line.split_ascii_whitespace().collect();
        let lineno = n + 1;
        if words[0] != "user" || words.len() < 2 {
            errors.push_str(&format!(
                "{path}:{lineno}: line should start with user keyword. "
            ));
            continue;
        }
        let name = words[1];
        if users.contains_key(name) {
            errors.push_str(&format!("{path}:{lineno}: Duplicate user '{name}' found. "));
            continue;
        }
        let mut u = User::new(name, table.len());
        for w in &words[2..] {
            if let Err(e) = rules::apply(&mut u, w.as_bytes(), table) {
                errors.push_str(&format!("{path}:{lineno}: {e}. "));
                break;
            }
        }
        users.insert(name.to_string(), u);
    }
    if errors.is_empty() {
        Ok(users)
    } else {
        Err(errors)
    }
}

/// Reads and parses the aclfile at `path`.
pub fn load(path: &str, table: &CommandTable) -> Result<BTreeMap<String, User>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("Error loading ACLs, opening file '{path}': {e}"))?;
    parse(path, &text, table)
}

/// Writes `text` to `path` atomically (temporary file, fsync, rename).
pub fn save(path: &str, text: &str) -> std::io::Result<()> {
    let tmp = format!("{path}.tmp-{}", std::process::id());
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(text.as_bytes())?;
    f.sync_all()?;
    drop(f);
    std::fs::rename(&tmp, path)
}
