//! Every kevy configuration knob, defined once.
//!
//! Each option has one entry in a table (Redis's name and aliases, type,
//! default, validation, whether `CONFIG SET` may change it, a one-line doc).
//! Everything else is derived from that table: parsing from the TOML file,
//! `KEVY_*` environment variables and `--flags` ([`load`]), `kevy-server
//! --help` ([`help_text`]), the documented sample file ([`sample_toml`]),
//! and the `CONFIG GET` / `CONFIG SET` / `CONFIG REWRITE` commands on the
//! [`Live`] config, which the server's threads read lock-free through
//! `arc-swap`. Names, value formats and error strings follow Redis 7.0.
//!
//! Main types: [`Config`] (typed fields), [`Loaded`] (start-up result with
//! the [`CliAction`] to take), [`Live`], [`ConfigError`].
//!
//! ```
//! use kevy_config::{load, AppendFsync, CliAction, Live};
//!
//! // Sources merge as defaults < file < KEVY_* environment < flags.
//! let args = vec!["--port".to_string(), "7000".to_string()];
//! let env = vec![("KEVY_APPENDFSYNC".to_string(), "always".to_string())];
//! let loaded = load(&args, &env).unwrap();
//! assert_eq!(loaded.action, CliAction::Run);
//! assert_eq!(loaded.config.port, 7000);
//! assert_eq!(loaded.config.appendfsync, AppendFsync::Always);
//!
//! // At runtime: CONFIG SET is all-or-nothing, CONFIG GET formats like Redis.
//! let live = Live::from_loaded(&loaded);
//! let changed = live.config_set(&[(b"maxmemory", b"1gb"), (b"hz", b"20")]).unwrap();
//! assert_eq!(changed, ["maxmemory", "hz"]);
//! assert_eq!(live.get().maxmemory, 1 << 30);
//! assert_eq!(
//!     live.config_get(&[b"maxmemory"]),
//!     [("maxmemory".to_string(), "1073741824".to_string())]
//! );
//! let err = live.config_set(&[(b"hz", b"5"), (b"port", b"abc")]).unwrap_err();
//! assert!(err.starts_with("ERR CONFIG SET failed (possibly related to argument 'port')"));
//! assert_eq!(live.get().hz, 20, "a refused CONFIG SET changes nothing");
//! ```
#![deny(missing_docs)]

mod config;
mod defs;
mod docs;
mod error;
mod glob;
mod live;
mod rewrite;
mod sources;
mod types;
mod value;

pub use config::Config;
pub use docs::{help_text, sample_toml};
pub use error::{ConfigError, Source};
pub use glob::glob_match;
pub use live::Live;
pub use sources::{load, CliAction, Loaded, DEFAULT_FILE};
pub use types::{
    AppendFsync, BufferLimit, ClientOutputBufferLimits, KeyspaceEvents, LogLevel, MaxmemoryPolicy,
};
