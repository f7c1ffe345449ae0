//! [`ConfigError`]: why start-up configuration was refused. Each error names
//! where the setting came from, the key, the value and what would have been
//! accepted, so the operator can fix it without reading the source.

use std::fmt;
use std::path::PathBuf;

/// Where a setting came from.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Source {
    /// The TOML config file.
    File(PathBuf),
    /// A `KEVY_*` environment variable (the variable's name).
    Env(String),
    /// A command-line flag.
    Args,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::File(p) => write!(f, "config file {}", p.display()),
            Source::Env(var) => write!(f, "environment variable {var}"),
            Source::Args => f.write_str("command line"),
        }
    }
}

/// A configuration that kevy refuses to start with.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigError {
    /// A key that names no knob.
    UnknownOption {
        /// Where it was found.
        source: Source,
        /// The key as written.
        key: String,
        /// The closest known knob name, if one is close.
        suggestion: Option<&'static str>,
    },
    /// A knob given a value it does not accept.
    InvalidValue {
        /// Where it was found.
        source: Source,
        /// The knob name as written.
        key: String,
        /// The value as written.
        value: String,
        /// Why it was refused (Redis's wording where Redis has one). The
        /// message adds what the knob accepts.
        reason: String,
    },
    /// The config file could not be read or is not valid TOML.
    File {
        /// The file.
        path: PathBuf,
        /// The I/O or TOML error.
        reason: String,
    },
    /// The command line is malformed (a flag without its value, a stray
    /// argument).
    Usage(String),
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::UnknownOption {
                source,
                key,
                suggestion,
            } => {
                write!(f, "{source}: unknown option '{key}'")?;
                match suggestion {
                    Some(s) => write!(f, " (did you mean '{s}'?)"),
                    None => f.write_str(" (kevy-server --help lists every option)"),
                }
            }
            ConfigError::InvalidValue {
                source,
                key,
                value,
                reason,
            } => {
                write!(f, "{source}: invalid value {value:?} for '{key}': {reason}")?;
                match crate::defs::find(key) {
                    Some((knob, _)) => write!(f, "; expected {}", knob.allowed()),
                    None => Ok(()),
                }
            }
            ConfigError::File { path, reason } => {
                write!(f, "config file {}: {reason}", path.display())
            }
            ConfigError::Usage(msg) => write!(f, "command line: {msg} (see kevy-server --help)"),
        }
    }
}

impl std::error::Error for ConfigError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_source_key_value_and_allowed() {
        let e = ConfigError::InvalidValue {
            source: Source::Env("KEVY_APPENDFSYNC".into()),
            key: "appendfsync".into(),
            value: "sometimes".into(),
            reason: "argument couldn't be parsed".into(),
        };
        let s = e.to_string();
        for part in [
            "KEVY_APPENDFSYNC",
            "appendfsync",
            "\"sometimes\"",
            "everysec, always, no",
        ] {
            assert!(s.contains(part), "{s}");
        }
    }
}
