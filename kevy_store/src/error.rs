//! Typed command errors and the one place that maps each to Redis's exact
//! error text.

use kevy_resp::Reply;
use std::fmt;

/// Why a command failed. `Display` gives the exact Redis error line.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CmdError {
    /// The key holds another type.
    WrongType,
    /// An argument (or stored value) is not an integer, or out of range.
    NotInteger,
    /// An argument (or stored value) is not a valid float.
    NotFloat,
    /// Bad option combination or unknown option.
    Syntax,
    /// INCR-style arithmetic would overflow.
    Overflow,
    /// The key does not exist (RENAME and friends).
    NoSuchKey,
    /// Wrong number of arguments for the named command.
    Arity(String),
    /// Database index out of range.
    DbIndex,
    /// A timeout argument is not a number or negative.
    Timeout,
    /// A verbatim error line, code prefix included (e.g. `ERR invalid expire time in 'set' command`).
    Other(String),
}

impl CmdError {
    /// An `ERR`-prefixed error from its message.
    pub fn err(msg: impl fmt::Display) -> CmdError {
        CmdError::Other(format!("ERR {msg}"))
    }

    /// The reply carrying this error.
    pub fn reply(&self) -> Reply {
        Reply::error(self.to_string())
    }
}

impl fmt::Display for CmdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CmdError::WrongType => {
                f.write_str("WRONGTYPE Operation against a key holding the wrong kind of value")
            }
            CmdError::NotInteger => f.write_str("ERR value is not an integer or out of range"),
            CmdError::NotFloat => f.write_str("ERR value is not a valid float"),
            CmdError::Syntax => f.write_str("ERR syntax error"),
            CmdError::Overflow => f.write_str("ERR increment or decrement would overflow"),
            CmdError::NoSuchKey => f.write_str("ERR no such key"),
            CmdError::Arity(cmd) => {
                write!(
                    f,
                    "ERR wrong number of arguments for '{}' command",
                    cmd.to_lowercase()
                )
            }
            CmdError::DbIndex => f.write_str("ERR DB index is out of range"),
            CmdError::Timeout => f.write_str("ERR timeout is not a float or out of range"),
            CmdError::Other(s) => f.write_str(s),
        }
    }
}

impl std::error::Error for CmdError {}

impl From<CmdError> for Reply {
    fn from(e: CmdError) -> Reply {
        e.reply()
    }
}

/// Result of a command body: a reply or a typed error.
pub type CmdResult = Result<Reply, CmdError>;
