//! The stream family's errors ([`StreamError`], each with Redis's exact
//! text) and the error lines that quote arguments as Redis prints them.

use crate::error::CmdError;
use std::fmt;

/// The family's errors, each with Redis's exact text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum StreamError {
    /// An unparsable ID argument.
    InvalidId,
    /// XADD with `0-0`.
    IdZero,
    /// XADD with an ID not above the stream's last one.
    IdNotGreater,
    /// XADD of a too large entry, or a sequence that would overflow.
    TooLarge,
    /// XADD on a stream whose last ID is the largest possible.
    Exhausted,
    /// `MAXLEN` below 0.
    MaxLenNegative,
    /// `LIMIT` below 0.
    LimitNegative,
    /// Both `MAXLEN` and `MINID`, or one of them twice.
    TrimTwice,
    /// `LIMIT` without `MAXLEN`/`MINID`.
    LimitWithoutStrategy,
    /// `LIMIT` with an exact trim.
    LimitWithoutApprox,
    /// XTRIM without `MAXLEN`/`MINID`.
    XtrimWithoutStrategy,
    /// `(id` whose successor does not exist.
    StartInterval,
    /// `(id` whose predecessor does not exist.
    EndInterval,
    /// A verbatim error line (the formatted ones naming keys and groups).
    Line(String),
}

impl fmt::Display for StreamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use StreamError::*;
        let s = match self {
            InvalidId => "ERR Invalid stream ID specified as stream command argument",
            IdZero => "ERR The ID specified in XADD must be greater than 0-0",
            IdNotGreater => {
                "ERR The ID specified in XADD is equal or smaller than the target stream top item"
            }
            TooLarge => "ERR Elements are too large to be stored",
            Exhausted => {
                "ERR The stream has exhausted the last possible ID, unable to add more items"
            }
            MaxLenNegative => "ERR The MAXLEN argument must be >= 0.",
            LimitNegative => "ERR The LIMIT argument must be >= 0.",
            TrimTwice => {
                "ERR syntax error, MAXLEN and MINID options at the same time are not compatible"
            }
            LimitWithoutStrategy => {
                "ERR syntax error, LIMIT cannot be used without specifying a trimming strategy"
            }
            LimitWithoutApprox => {
                "ERR syntax error, LIMIT cannot be used without the special ~ option"
            }
            XtrimWithoutStrategy => {
                "ERR syntax error, XTRIM must be called with a trimming strategy"
            }
            StartInterval => "ERR invalid start ID for the interval",
            EndInterval => "ERR invalid end ID for the interval",
            Line(s) => s,
        };
        f.write_str(s)
    }
}

impl From<StreamError> for CmdError {
    fn from(e: StreamError) -> CmdError {
        CmdError::Other(e.to_string())
    }
}

impl StreamError {
    /// `-NOGROUP No such key '<key>' or consumer group '<group>'<suffix>`.
    pub(crate) fn no_key_or_group(key: &[u8], group: &[u8], suffix: &str) -> StreamError {
        StreamError::Line(format!(
            "NOGROUP No such key '{}' or consumer group '{}'{suffix}",
            cstr(key),
            cstr(group)
        ))
    }

    /// `-NOGROUP No such consumer group '<group>' for key name '<key>'`.
    pub(crate) fn no_group(key: &[u8], group: &[u8]) -> StreamError {
        StreamError::Line(format!(
            "NOGROUP No such consumer group '{}' for key name '{}'",
            cstr(group),
            cstr(key)
        ))
    }
}

/// An argument as Redis's `%s` prints it: up to its first NUL byte, and
/// with CR/LF made spaces (Redis does so before sending an error line).
pub(crate) fn cstr(b: &[u8]) -> String {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    String::from_utf8_lossy(&b[..end]).replace(['\r', '\n'], " ")
}

/// Redis's reply to a subcommand with the wrong options: `unknown
/// subcommand or wrong number of arguments for '<sub>'. Try <CMD> HELP.`
pub(crate) fn sub_syntax(sub: &[u8], cmd: &str) -> CmdError {
    let typed: String = cstr(sub).chars().take(128).collect();
    CmdError::err(format!(
        "unknown subcommand or wrong number of arguments for '{typed}'. Try {cmd} HELP."
    ))
}

/// Redis's reply to an unknown subcommand.
pub(crate) fn unknown_sub(sub: &[u8], cmd: &str) -> CmdError {
    let typed: String = cstr(sub).chars().take(128).collect();
    CmdError::err(format!("unknown subcommand '{typed}'. Try {cmd} HELP."))
}
