//! Text generated from the knob table: `kevy-server --help` and the
//! documented sample `kevy.toml`. Nothing here names a knob; a new entry in
//! `defs` shows up in both automatically.

use crate::defs::{Knob, Mutability, AREAS};

fn runtime_note(k: &Knob) -> &'static str {
    match k.mutability {
        Mutability::Runtime => "CONFIG SET: yes",
        Mutability::Restart => "CONFIG SET: no (restart)",
        Mutability::Protected => "CONFIG SET: no (protected)",
    }
}

/// A default as the operator would type it: quoted when empty or spaced.
fn shown(v: &str) -> String {
    if v.is_empty() || v.contains(' ') {
        format!("{v:?}")
    } else {
        v.to_string()
    }
}

/// The `--help` text: usage, how sources combine, then every knob by area
/// with its syntax, default and one-line doc.
pub fn help_text() -> String {
    let mut out = String::from(
        "kevy-server: a Redis-compatible key-value server\n\
         \n\
         Usage:\n\
         \x20 kevy-server [FILE] [--config FILE] [--<option> <value>]...\n\
         \x20 kevy-server --check-aof FILE [--fix]\n\
         \x20 kevy-server --help | --version\n\
         \n\
         Every option below can be set, later sources winning, in:\n\
         \x20 the TOML file        port = 7000   (--config FILE, else $KEVY_CONFIG, else ./kevy.toml)\n\
         \x20 the environment      KEVY_PORT=7000, KEVY_MAXMEMORY_POLICY=allkeys-lru\n\
         \x20 the command line     --port 7000, --save \"900 1\" (or --save 900 1), --port=7000\n\
         \x20 at runtime           CONFIG SET port 7000 (options marked *)\n\
         Memory sizes take units: 10k = 10000, 10kb = 10240, likewise m/mb and g/gb.\n",
    );
    for area in AREAS {
        out.push_str(&format!("\n{}:\n", area.title));
        for k in area.knobs {
            let mark = if k.mutability == Mutability::Runtime {
                '*'
            } else {
                ' '
            };
            out.push_str(&format!("{mark} --{} <{}>\n", k.name, k.hint()));
            out.push_str(&format!("      {} [default: {}]", k.doc, shown(k.default)));
            if !k.aliases.is_empty() {
                out.push_str(&format!(" [alias: {}]", k.aliases.join(", ")));
            }
            out.push('\n');
        }
    }
    out
}

/// A complete, commented `kevy.toml` with every knob at its default. It
/// parses back into `Config::default()`.
pub fn sample_toml() -> String {
    let mut out = String::from(
        "# kevy.toml: kevy-server configuration (generated from the option table).\n\
         #\n\
         # Keys are Redis's option names. Booleans are true/false (or \"yes\"/\"no\"),\n\
         # memory sizes are bytes or strings with a unit (\"64mb\": kb/mb/gb are\n\
         # powers of 1024, k/m/g of 1000). Every value here is the default, so\n\
         # delete what you do not change. KEVY_* environment variables and\n\
         # --flags override this file; CONFIG REWRITE updates it in place.\n",
    );
    for area in AREAS {
        out.push_str(&format!("\n# ---- {} ----\n", area.title));
        for k in area.knobs {
            out.push_str(&format!("\n# {}\n", k.doc));
            out.push_str(&format!("# Allowed: {}. {}.", k.allowed(), runtime_note(k)));
            if !k.aliases.is_empty() {
                out.push_str(&format!(" Also accepted as: {}.", k.aliases.join(", ")));
            }
            out.push('\n');
            out.push_str(&format!("{} = {}\n", k.name, k.toml_value(k.default)));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::defs::all;

    #[test]
    fn help_mentions_every_knob_once_as_a_flag() {
        let h = help_text();
        for k in all() {
            assert_eq!(
                h.matches(&format!("--{} <", k.name)).count(),
                1,
                "{}",
                k.name
            );
        }
    }

    #[test]
    fn sample_has_a_line_per_knob() {
        let s = sample_toml();
        let t: toml::Table = toml::from_str(&s).unwrap();
        assert_eq!(t.len(), all().count());
    }
}
