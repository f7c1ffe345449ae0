//! `CONFIG REWRITE` for our TOML files, line by line so the operator's
//! comments, blank lines, key order and formatting survive. A `key = value`
//! line is replaced only when its value no longer matches the live config (so
//! `maxmemory = "1gb"` stays as written while it still holds); a trailing
//! `# comment` on that line is kept. Knobs absent from the file are appended
//! when they differ from their defaults, as Redis's rewrite does. Lines this
//! rewriter does not understand are left exactly as they are.

use crate::config::Config;
use crate::defs::{self, Knob};
use crate::sources::toml_to_text;

/// The comment that introduces appended settings.
const APPENDED: &str = "# Added by CONFIG REWRITE";

/// `text` updated to describe `live`.
pub(crate) fn rewrite_text(text: &str, live: &Config) -> String {
    let defaults = Config::default();
    let lines: Vec<&str> = text.lines().collect();
    let mut out: Vec<String> = Vec::with_capacity(lines.len());
    let mut seen: Vec<&'static str> = Vec::new();
    // Keys after a `[table]` header are not top-level knobs: kevy's files
    // have none, but if one appears, leave it and what follows alone.
    let mut first_table = None;
    let mut i = 0;
    while i < lines.len() {
        let t = lines[i].trim_start();
        if first_table.is_none() && t.starts_with('[') {
            first_table = Some(out.len());
        }
        if first_table.is_some() || t.is_empty() || t.starts_with('#') {
            out.push(lines[i].to_string());
            i += 1;
            continue;
        }
        // A value may span lines (a multi-line array or string): grow the
        // chunk until it parses as TOML on its own.
        let Some((end, table)) = (i..lines.len()).find_map(|j| {
            let chunk = lines[i..=j].join("\n");
            toml::from_str::<toml::Table>(&chunk).ok().map(|t| (j, t))
        }) else {
            out.push(lines[i].to_string());
            i += 1;
            continue;
        };
        let knob = match table.iter().next() {
            Some((key, value)) if table.len() == 1 => defs::find(key).map(|(k, _)| (k, value)),
            _ => None,
        };
        match knob {
            Some((k, value)) => {
                seen.push(k.name);
                if holds(k, value, live) {
                    out.extend(lines[i..=end].iter().map(|l| l.to_string()));
                } else {
                    out.push(replace_value(
                        lines[i],
                        end == i,
                        &k.toml_value(&k.format(live)),
                    ));
                }
            }
            None => out.extend(lines[i..=end].iter().map(|l| l.to_string())),
        }
        i = end + 1;
    }

    let missing: Vec<&Knob> = defs::all()
        .filter(|k| !seen.contains(&k.name) && k.format(live) != k.format(&defaults))
        .collect();
    if !missing.is_empty() {
        let tables = out.split_off(first_table.unwrap_or(out.len()));
        if !out.iter().any(|l| l == APPENDED) {
            if out.last().is_some_and(|l| !l.trim().is_empty()) {
                out.push(String::new());
            }
            out.push(APPENDED.to_string());
        }
        for k in missing {
            out.push(format!("{} = {}", k.name, k.toml_value(&k.format(live))));
        }
        out.extend(tables);
    }
    let mut s = out.join("\n");
    s.push('\n');
    s
}

/// Does the file's `value` for knob `k` still describe the live config?
fn holds(k: &Knob, value: &toml::Value, live: &Config) -> bool {
    let mut scratch = live.clone();
    toml_to_text(k, value).ok().is_some_and(|text| {
        k.apply(&mut scratch, &text).is_ok() && k.format(&scratch) == k.format(live)
    })
}

/// `line` (`key = old  # comment`) with its value replaced by `value`,
/// keeping the key as written, the spacing around `=` and, when the value
/// was on this one line, the trailing comment.
fn replace_value(line: &str, single_line: bool, value: &str) -> String {
    let Some(eq) = line.find('=') else {
        return line.to_string();
    };
    let after = &line[eq + 1..];
    let ws = &after[..after.len() - after.trim_start_matches([' ', '\t']).len()];
    let mut tail = "";
    if single_line {
        // The comment starts at the first `#` before which the line is
        // still valid TOML: a `#` inside a string fails that test.
        for (p, _) in line.match_indices('#') {
            if toml::from_str::<toml::Table>(&line[..p]).is_ok() {
                tail = &line[line[..p].trim_end().len()..];
                break;
            }
        }
    }
    format!("{}{ws}{value}{tail}", &line[..=eq])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unchanged_config_leaves_file_untouched() {
        let text = "# top\n\nport = 6379 # the port\nmaxmemory = \"0mb\"\n[unknown]\nx = 1\n";
        assert_eq!(rewrite_text(text, &Config::default()), text);
    }

    #[test]
    fn changed_values_keep_comments_and_order() {
        let c = Config {
            port: 7000,
            appendfsync: crate::AppendFsync::Always,
            maxmemory: 1 << 30,
            ..Config::default()
        };
        let text = "# ports\nport=6379   # main port\n\n  appendfsync = \"everysec\"\n";
        let want = "# ports\nport=7000   # main port\n\n  appendfsync = \"always\"\n\n# Added by CONFIG REWRITE\nmaxmemory = \"1gb\"\n";
        assert_eq!(rewrite_text(text, &c), want);
        // A second rewrite is a no-op.
        assert_eq!(rewrite_text(want, &c), want);
    }

    #[test]
    fn multi_line_values_and_hashes_in_strings() {
        let c = Config {
            bind: vec!["10.0.0.1".into()],
            requirepass: "a#b".into(),
            ..Config::default()
        };
        let text = "bind = [\n  \"127.0.0.1\",\n]\nrequirepass = \"x#y\" # secret\n";
        let want = "bind = \"10.0.0.1\"\nrequirepass = \"a#b\" # secret\n";
        assert_eq!(rewrite_text(text, &c), want);
    }

    #[test]
    fn alias_keys_are_updated_in_place() {
        let c = Config {
            hash_max_listpack_entries: 10,
            ..Config::default()
        };
        let text = "hash-max-ziplist-entries = 512\n";
        assert_eq!(rewrite_text(text, &c), "hash-max-ziplist-entries = 10\n");
    }
}
