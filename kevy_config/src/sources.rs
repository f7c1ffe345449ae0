//! Building the start-up configuration from its sources, later wins:
//! built-in defaults < TOML file < `KEVY_*` environment < command line. Every
//! source goes through the same knob parser, so a value means the same thing
//! wherever it is written; the first unknown key or bad value stops start-up.

use std::path::{Path, PathBuf};

use crate::config::Config;
use crate::defs::{self, Knob};
use crate::docs::help_text;
use crate::error::{ConfigError, Source};

/// The file read when neither `--config` nor `KEVY_CONFIG` names one.
pub const DEFAULT_FILE: &str = "kevy.toml";

/// What the command line asks the binary to do.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CliAction {
    /// Serve.
    Run,
    /// Print this text (the generated `--help`) and exit.
    Help(String),
    /// Print the version and exit.
    Version,
    /// Check (and with `fix`, truncate to its valid prefix) an AOF, then exit.
    CheckAof {
        /// The AOF to check.
        file: PathBuf,
        /// `--fix` was given.
        fix: bool,
    },
}

/// The start-up configuration and where it came from.
#[derive(Clone, Debug, PartialEq)]
pub struct Loaded {
    /// The merged configuration.
    pub config: Config,
    /// The config file that was read (absolute), if any; `CONFIG REWRITE`
    /// writes back to it.
    pub file: Option<PathBuf>,
    /// What the command line asks for besides settings.
    pub action: CliAction,
}

/// The command line, split into settings and actions.
#[derive(Default)]
struct Cli {
    file: Option<String>,
    settings: Vec<(String, String)>,
    help: bool,
    version: bool,
    check_aof: Option<String>,
    fix: bool,
}

/// Builds the start-up configuration: defaults < TOML file < `KEVY_*`
/// environment < `args`. `args` excludes `argv[0]`; `env` is typically
/// `std::env::vars().collect::<Vec<_>>()`.
///
/// The file is `--config FILE` (or a first argument that is not a flag, as
/// `redis-server /etc/redis.conf` takes it), else `$KEVY_CONFIG`, else
/// `./kevy.toml` if it exists. `--help` and `--version` return at once with
/// the defaults and read nothing.
pub fn load(args: &[String], env: &[(String, String)]) -> Result<Loaded, ConfigError> {
    let cli = parse_cli(args)?;
    if cli.help || cli.version {
        let action = if cli.help {
            CliAction::Help(help_text())
        } else {
            CliAction::Version
        };
        return Ok(Loaded {
            config: Config::default(),
            file: None,
            action,
        });
    }

    let env_file = env
        .iter()
        .find(|(k, _)| k == "KEVY_CONFIG")
        .map(|(_, v)| v.clone());
    let file = match cli.file.or(env_file) {
        Some(f) => Some(PathBuf::from(f)),
        None => Some(PathBuf::from(DEFAULT_FILE)).filter(|p| p.is_file()),
    };
    let mut config = Config::default();
    let file = match file {
        Some(path) => Some(apply_file(&mut config, &path)?),
        None => None,
    };

    for (var, value) in env {
        let Some(rest) = var.strip_prefix("KEVY_") else {
            continue;
        };
        if rest == "CONFIG" {
            continue;
        }
        let key = rest.to_ascii_lowercase().replace('_', "-");
        apply(&mut config, Source::Env(var.clone()), &key, value)?;
    }
    for (key, value) in &cli.settings {
        apply(&mut config, Source::Args, key, value)?;
    }

    let action = match cli.check_aof {
        Some(f) => CliAction::CheckAof {
            file: PathBuf::from(f),
            fix: cli.fix,
        },
        None => CliAction::Run,
    };
    Ok(Loaded {
        config,
        file,
        action,
    })
}

/// Splits the command line. Like `redis-server`, `--name` takes every
/// following argument up to the next `--flag`, joined by spaces (`--save 900
/// 1` is `save "900 1"`); `--name=value` works too.
fn parse_cli(args: &[String]) -> Result<Cli, ConfigError> {
    let mut cli = Cli::default();
    let mut i = 0;
    while i < args.len() {
        let arg = args[i].as_str();
        i += 1;
        if i == 1 && !arg.starts_with('-') {
            cli.file = Some(arg.to_string());
            continue;
        }
        match arg {
            "-h" | "--help" => {
                cli.help = true;
                continue;
            }
            "-v" | "--version" => {
                cli.version = true;
                continue;
            }
            "--fix" => {
                cli.fix = true;
                continue;
            }
            _ => {}
        }
        let Some(flag) = arg.strip_prefix("--") else {
            return Err(ConfigError::Usage(format!("unexpected argument '{arg}'")));
        };
        let (name, inline) = match flag.split_once('=') {
            Some((n, v)) => (n, Some(v.to_string())),
            None => (flag, None),
        };
        let value = match inline {
            Some(v) => v,
            None => {
                let start = i;
                while i < args.len() && !args[i].starts_with("--") {
                    i += 1;
                }
                if start == i && !name.eq_ignore_ascii_case("save") {
                    return Err(ConfigError::Usage(format!(
                        "option '--{name}' needs a value"
                    )));
                }
                args[start..i].join(" ")
            }
        };
        match name {
            "config" => cli.file = Some(value),
            "check-aof" => cli.check_aof = Some(value),
            _ => cli.settings.push((name.to_string(), value)),
        }
    }
    if cli.fix && cli.check_aof.is_none() {
        return Err(ConfigError::Usage(
            "--fix needs --check-aof FILE".to_string(),
        ));
    }
    Ok(cli)
}

/// Reads the TOML file at `path` into `config`; returns its absolute path.
fn apply_file(config: &mut Config, path: &Path) -> Result<PathBuf, ConfigError> {
    let file_err = |reason: String| ConfigError::File {
        path: path.to_path_buf(),
        reason,
    };
    let text = std::fs::read_to_string(path).map_err(|e| file_err(e.to_string()))?;
    // Resolving symlinks makes CONFIG REWRITE replace the real file, not the
    // link, and keeps working if the server later changes directory.
    let abs = std::fs::canonicalize(path).map_err(|e| file_err(e.to_string()))?;
    let table: toml::Table = toml::from_str(&text).map_err(|e| file_err(e.to_string()))?;
    let source = Source::File(abs.clone());
    let mut seen: Vec<(&str, &str)> = Vec::new();
    for (key, value) in &table {
        let Some((knob, _)) = defs::find(key) else {
            return Err(unknown(source, key));
        };
        // TOML refuses a key written twice; a name and its alias (or two
        // spellings in different case) would otherwise race silently.
        if let Some((first, _)) = seen.iter().find(|(_, n)| *n == knob.name) {
            return Err(invalid(
                &source,
                key,
                &value.to_string(),
                format!("'{}' is already set in this file as '{first}'", knob.name),
            ));
        }
        seen.push((key, knob.name));
        let text = toml_to_text(knob, value)
            .map_err(|reason| invalid(&source, key, &value.to_string(), reason))?;
        apply(config, source.clone(), key, &text)?;
    }
    Ok(abs)
}

/// A TOML value in `CONFIG SET` syntax: strings as written, numbers in
/// decimal, booleans as yes/no, arrays (for `bind`, `save`) joined by spaces.
pub(crate) fn toml_to_text(knob: &Knob, v: &toml::Value) -> Result<String, String> {
    match v {
        toml::Value::String(s) => Ok(s.clone()),
        toml::Value::Integer(n) => Ok(n.to_string()),
        toml::Value::Float(x) => Ok(x.to_string()),
        toml::Value::Boolean(b) if matches!(knob.kind, defs::Kind::Bool { .. }) => {
            Ok(if *b { "yes" } else { "no" }.to_string())
        }
        toml::Value::Array(items) => {
            let parts = items
                .iter()
                .map(|i| match i {
                    toml::Value::Array(_) | toml::Value::Table(_) => {
                        Err("nested arrays and tables are not allowed".to_string())
                    }
                    other => toml_to_text(knob, other),
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok(parts.join(" "))
        }
        other => Err(format!("a TOML {} is not allowed here", other.type_str())),
    }
}

/// Applies one setting, turning a refusal into a start-up error.
fn apply(config: &mut Config, source: Source, key: &str, value: &str) -> Result<(), ConfigError> {
    let Some((knob, _)) = defs::find(key) else {
        return Err(unknown(source, key));
    };
    knob.apply(config, value)
        .map_err(|reason| invalid(&source, key, value, reason))
}

fn unknown(source: Source, key: &str) -> ConfigError {
    ConfigError::UnknownOption {
        source,
        key: key.to_string(),
        suggestion: defs::suggest(key),
    }
}

fn invalid(source: &Source, key: &str, value: &str, reason: String) -> ConfigError {
    ConfigError::InvalidValue {
        source: source.clone(),
        key: key.to_string(),
        value: value.to_string(),
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn redis_style_multi_word_flags() {
        let cli = parse_cli(&args(&[
            "--save", "900", "1", "300", "10", "--port", "7000",
        ]))
        .unwrap();
        assert_eq!(
            cli.settings,
            vec![
                ("save".into(), "900 1 300 10".into()),
                ("port".into(), "7000".into())
            ]
        );
        let cli = parse_cli(&args(&["--save", "--port=1"])).unwrap();
        assert_eq!(
            cli.settings,
            vec![("save".into(), "".into()), ("port".into(), "1".into())]
        );
        let cli = parse_cli(&args(&["--slowlog-log-slower-than", "-1"])).unwrap();
        assert_eq!(
            cli.settings,
            vec![("slowlog-log-slower-than".into(), "-1".into())]
        );
    }

    #[test]
    fn usage_errors() {
        assert!(matches!(
            parse_cli(&args(&["--port"])),
            Err(ConfigError::Usage(_))
        ));
        assert!(matches!(
            parse_cli(&args(&["a.toml", "stray"])),
            Err(ConfigError::Usage(_))
        ));
        assert!(matches!(
            parse_cli(&args(&["--fix"])),
            Err(ConfigError::Usage(_))
        ));
        // Like redis-server, words up to the next `--flag` belong to the
        // previous flag; the knob's parser then refuses "1 -x".
        let cli = parse_cli(&args(&["--port", "1", "-x"])).unwrap();
        assert_eq!(cli.settings, vec![("port".into(), "1 -x".into())]);
    }

    #[test]
    fn sample_toml_loads_back_as_the_defaults() {
        let path = std::env::temp_dir().join(format!("kevy-sample-{}.toml", std::process::id()));
        std::fs::write(&path, crate::sample_toml()).unwrap();
        let loaded = load(&args(&["--config", path.to_str().unwrap()]), &[]);
        std::fs::remove_file(&path).unwrap();
        assert_eq!(loaded.unwrap().config, Config::default());
    }

    #[test]
    fn positional_file_and_actions() {
        let cli = parse_cli(&args(&["my.toml", "--check-aof", "a.aof", "--fix"])).unwrap();
        assert_eq!(cli.file.as_deref(), Some("my.toml"));
        assert_eq!(cli.check_aof.as_deref(), Some("a.aof"));
        assert!(cli.fix);
    }
}
