//! The knob table: one [`Knob`] per option, grouped by area in the files of
//! this folder. A knob is data (Redis name, aliases, default, mutability,
//! one-line doc) plus typed accessors onto its [`Config`] field; parsing,
//! validation, `CONFIG GET` formatting, help text and the sample file are all
//! derived from it, so adding a knob means adding one entry here and one field
//! to `Config`.

use crate::config::Config;
use crate::value::{format_memory_units, parse_bool, parse_int, parse_memory};

/// Whether `CONFIG SET` may change a knob.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mutability {
    /// Changes take effect at runtime.
    Runtime,
    /// Start-up only: "can't set immutable config".
    Restart,
    /// Start-up only, and guarded like Redis's protected configs (`dir`,
    /// `dbfilename`): "can't set protected config".
    Protected,
}

/// How a knob's value is typed, with accessors onto its `Config` field.
/// Setters receive an already-parsed value and may still refuse it.
pub(crate) enum Kind {
    Bool {
        get: fn(&Config) -> bool,
        set: fn(&mut Config, bool) -> Result<(), &'static str>,
    },
    /// A plain integer, parsed strictly like Redis's `string2ll`.
    Int {
        min: i64,
        max: i64,
        get: fn(&Config) -> i64,
        set: fn(&mut Config, i64),
    },
    /// A byte count with optional `k`/`kb`/`m`/`mb`/`g`/`gb` unit.
    Memory {
        min: u64,
        max: u64,
        get: fn(&Config) -> u64,
        set: fn(&mut Config, u64),
    },
    /// One of a fixed set of lowercase names, matched in any case.
    Enum {
        names: &'static [&'static str],
        get: fn(&Config) -> usize,
        set: fn(&mut Config, usize),
    },
    Str {
        get: fn(&Config) -> &str,
        set: fn(&mut Config, &str) -> Result<(), &'static str>,
    },
    /// Anything with its own syntax (`save`, `bind`, buffer limits, ...);
    /// `hint` names the syntax in help and error messages.
    Custom {
        hint: &'static str,
        get: fn(&Config) -> String,
        set: fn(&mut Config, &str) -> Result<(), &'static str>,
    },
}

/// One configuration option.
pub(crate) struct Knob {
    /// Redis's name (lowercase, with `-`).
    pub name: &'static str,
    /// Other names Redis accepts, such as `hash-max-ziplist-entries`.
    pub aliases: &'static [&'static str],
    /// The built-in default, in `CONFIG SET` syntax.
    pub default: &'static str,
    pub mutability: Mutability,
    /// kevy accepts and reports the knob but does not act on it.
    pub compat: bool,
    /// One line for `--help`, the sample file and the docs.
    pub doc: &'static str,
    pub kind: Kind,
}

/// A knob group, for help and the sample file.
pub(crate) struct Area {
    pub title: &'static str,
    pub knobs: &'static [Knob],
}

#[macro_use]
mod macros;

mod encoding;
mod general;
mod limits;
mod memory;
mod network;
mod observability;
mod persistence;
mod replication;

/// Every area, in the order help and the sample file present them.
pub(crate) static AREAS: &[Area] = &[
    Area {
        title: "Network",
        knobs: network::KNOBS,
    },
    Area {
        title: "General",
        knobs: general::KNOBS,
    },
    Area {
        title: "Persistence",
        knobs: persistence::KNOBS,
    },
    Area {
        title: "Memory and eviction",
        knobs: memory::KNOBS,
    },
    Area {
        title: "Limits",
        knobs: limits::KNOBS,
    },
    Area {
        title: "Observability",
        knobs: observability::KNOBS,
    },
    Area {
        title: "Encodings",
        knobs: encoding::KNOBS,
    },
    Area {
        title: "Replication and cluster",
        knobs: replication::KNOBS,
    },
];

/// Every knob, area by area.
pub(crate) fn all() -> impl Iterator<Item = &'static Knob> {
    AREAS.iter().flat_map(|a| a.knobs.iter())
}

/// Every (name, knob) pair, aliases included, as `CONFIG GET *` lists them.
pub(crate) fn all_names() -> impl Iterator<Item = (&'static str, &'static Knob)> {
    all().flat_map(|k| {
        std::iter::once(k.name)
            .chain(k.aliases.iter().copied())
            .map(move |n| (n, k))
    })
}

/// Finds a knob by name or alias, ignoring ASCII case; returns it with the
/// lowercase name that matched (Redis reports errors under that name).
pub(crate) fn find(name: &str) -> Option<(&'static Knob, &'static str)> {
    all_names()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(n, k)| (k, n))
}

/// The knob name closest to a misspelt one, for start-up error messages.
pub(crate) fn suggest(name: &str) -> Option<&'static str> {
    let name = name.to_ascii_lowercase();
    all_names()
        .map(|(n, _)| (edit_distance(&name, n), n))
        .filter(|(d, n)| *d <= 2.max(n.len() / 5))
        .min_by_key(|(d, _)| *d)
        .map(|(_, n)| n)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

impl Knob {
    /// The base for knobs `CONFIG SET` may change; entries override the rest.
    pub(crate) const RUNTIME: Knob = Knob {
        name: "",
        aliases: &[],
        default: "",
        mutability: Mutability::Runtime,
        compat: false,
        doc: "",
        kind: Kind::Custom {
            hint: "",
            get: |_| String::new(),
            set: |_, _| Ok(()),
        },
    };

    /// The base for runtime knobs kevy accepts but does not act on.
    pub(crate) const COMPAT: Knob = Knob {
        compat: true,
        ..Knob::RUNTIME
    };

    /// The base for start-up-only knobs.
    pub(crate) const RESTART: Knob = Knob {
        mutability: Mutability::Restart,
        ..Knob::RUNTIME
    };

    /// Parses and validates `v` into `c`. The error is Redis's reason text.
    pub(crate) fn apply(&self, c: &mut Config, v: &str) -> Result<(), String> {
        match &self.kind {
            Kind::Bool { set, .. } => set(c, parse_bool(v)?)?,
            Kind::Int { min, max, set, .. } => {
                let n = parse_int(v).ok_or("argument couldn't be parsed into an integer")?;
                if n < *min || n > *max {
                    return Err(format!(
                        "argument must be between {min} and {max} inclusive"
                    ));
                }
                set(c, n);
            }
            Kind::Memory { min, max, set, .. } => {
                let n = parse_memory(v).ok_or("argument must be a memory value")?;
                if n < *min || n > *max {
                    return Err(format!(
                        "argument must be between {min} and {max} inclusive"
                    ));
                }
                set(c, n);
            }
            Kind::Enum { names, set, .. } => {
                let i = names
                    .iter()
                    .position(|n| n.eq_ignore_ascii_case(v))
                    .ok_or_else(|| {
                        format!(
                            "argument(s) must be one of the following: {}",
                            names.join(", ")
                        )
                    })?;
                set(c, i);
            }
            Kind::Str { set, .. } | Kind::Custom { set, .. } => set(c, v)?,
        }
        Ok(())
    }

    /// The value as `CONFIG GET` prints it.
    pub(crate) fn format(&self, c: &Config) -> String {
        match &self.kind {
            Kind::Bool { get, .. } => if get(c) { "yes" } else { "no" }.to_string(),
            Kind::Int { get, .. } => get(c).to_string(),
            Kind::Memory { get, .. } => get(c).to_string(),
            Kind::Enum { names, get, .. } => names[get(c)].to_string(),
            Kind::Str { get, .. } => get(c).to_string(),
            Kind::Custom { get, .. } => get(c),
        }
    }

    /// Short syntax hint for `--help`, e.g. `<yes|no>`.
    pub(crate) fn hint(&self) -> String {
        match &self.kind {
            Kind::Bool { .. } => "yes|no".to_string(),
            Kind::Int { .. } => "integer".to_string(),
            Kind::Memory { .. } => "bytes".to_string(),
            Kind::Enum { names, .. } => names.join("|"),
            Kind::Str { .. } => "string".to_string(),
            Kind::Custom { hint, .. } => hint.to_string(),
        }
    }

    /// What values are allowed, in words, for start-up error messages.
    pub(crate) fn allowed(&self) -> String {
        match &self.kind {
            Kind::Bool { .. } => "yes or no".to_string(),
            Kind::Int { min, max, .. } => format!("an integer from {min} to {max}"),
            Kind::Memory { min, max, .. } => format!(
                "a memory size from {min} to {max} bytes, with an optional unit k, kb, m, mb, g or gb"
            ),
            Kind::Enum { names, .. } => format!("one of {}", names.join(", ")),
            Kind::Str { .. } => "a string".to_string(),
            Kind::Custom { hint, .. } => format!("a string of the form \"{hint}\""),
        }
    }

    /// `v` (in `CONFIG SET` syntax) as a TOML value for this knob's line in
    /// the sample file or a rewritten config file.
    pub(crate) fn toml_value(&self, v: &str) -> String {
        match &self.kind {
            Kind::Bool { .. } => (v == "yes").to_string(),
            Kind::Int { .. } => v.to_string(),
            Kind::Memory { .. } => match parse_memory(v) {
                Some(n) if n > i64::MAX as u64 => format!("\"{n}\""),
                Some(n) => match format_memory_units(n) {
                    s if s.bytes().all(|b| b.is_ascii_digit()) => s,
                    s => format!("\"{s}\""),
                },
                None => toml_string(v),
            },
            _ => toml_string(v),
        }
    }
}

/// A TOML basic string, escaped.
pub(crate) fn toml_string(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_lowercase_and_documented() {
        let mut seen = std::collections::HashSet::new();
        for (n, k) in all_names() {
            assert!(seen.insert(n), "duplicate knob name {n}");
            assert_eq!(n, n.to_ascii_lowercase());
            assert!(!k.doc.is_empty(), "{n} has no doc");
            assert!(k.doc.len() < 200, "{n}: keep docs to one line");
            if k.compat {
                assert!(k.doc.contains("accepted for compatibility"), "{n}");
            }
        }
    }

    #[test]
    fn defaults_apply_and_round_trip() {
        let c = Config::default();
        for k in all() {
            let mut z = c.clone();
            k.apply(&mut z, k.default).unwrap();
            assert_eq!(k.format(&z), k.format(&c), "{}", k.name);
            // The formatted value must be accepted back unchanged.
            k.apply(&mut z, &k.format(&c)).unwrap();
            assert_eq!(z, c, "{}", k.name);
        }
    }

    #[test]
    fn lookup_is_case_insensitive_and_knows_aliases() {
        assert_eq!(
            find("PORT").map(|(k, n)| (k.name, n)),
            Some(("port", "port"))
        );
        let (k, n) = find("hash-max-ziplist-entries").unwrap();
        assert_eq!(
            (k.name, n),
            ("hash-max-listpack-entries", "hash-max-ziplist-entries")
        );
        assert!(find("nope").is_none());
        assert_eq!(suggest("apendfsync"), Some("appendfsync"));
        assert_eq!(suggest("zzzzzzzz"), None);
    }
}
