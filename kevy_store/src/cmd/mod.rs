//! The command families and the registry that finds a command by name. Each
//! family file exports `COMMANDS`, a table of [`StoreCommand`] entries; adding
//! a command touches only its family file.

use crate::ctx::Ctx;
use crate::error::CmdResult;
use crate::spec::CommandMeta;
use bytes::Bytes;
use std::collections::HashMap;
use std::sync::OnceLock;

mod bitmaps;
mod expire;
mod geo;
mod hashes;
mod hll;
pub(crate) mod keys;
mod lcs;
mod ldouble;
mod lists;
mod reply_stream;
mod scan;
mod sets;
mod sort;
mod streams;
pub(crate) mod strings;
#[cfg(test)]
pub(crate) mod testutil;
mod zsets;

/// A command body: parses `argv` (`argv[0]` is the name) and runs it.
pub type Handler = fn(&mut Ctx<'_, '_>, &[Bytes]) -> CmdResult;

/// A data command: its metadata and its body.
pub struct StoreCommand {
    /// Name, arity, flags, keys, docs.
    pub meta: CommandMeta,
    /// The body.
    pub run: Handler,
}

fn families() -> [&'static [StoreCommand]; 14] {
    [
        strings::COMMANDS,
        keys::COMMANDS,
        lcs::COMMANDS,
        lists::COMMANDS,
        hashes::COMMANDS,
        sets::COMMANDS,
        zsets::COMMANDS,
        bitmaps::COMMANDS,
        hll::COMMANDS,
        expire::COMMANDS,
        scan::COMMANDS,
        // New families go last, so the fuzz corpus (which picks commands by
        // table index) keeps naming the commands it was recorded with.
        sort::COMMANDS,
        geo::COMMANDS,
        streams::COMMANDS,
    ]
}

/// Every data command, in table order.
pub fn all() -> impl Iterator<Item = &'static StoreCommand> {
    families().into_iter().flat_map(|f| f.iter())
}

fn registry() -> &'static HashMap<&'static [u8], &'static StoreCommand> {
    static REG: OnceLock<HashMap<&'static [u8], &'static StoreCommand>> = OnceLock::new();
    REG.get_or_init(|| all().map(|c| (c.meta.name.as_bytes(), c)).collect())
}

/// Finds a data command by name, case-insensitively.
#[inline]
pub fn lookup(name: &[u8]) -> Option<&'static StoreCommand> {
    let mut buf = [0u8; 32];
    if name.len() > buf.len() {
        return None;
    }
    for (d, s) in buf.iter_mut().zip(name) {
        *d = s.to_ascii_lowercase();
    }
    registry().get(&buf[..name.len()]).copied()
}

/// Redis's error for an unknown command, quoting the first arguments.
pub fn unknown_command_error(argv: &[Bytes]) -> String {
    let name = argv
        .first()
        .map(|b| String::from_utf8_lossy(b).into_owned())
        .unwrap_or_default();
    let mut args = String::new();
    for a in argv.iter().skip(1) {
        if args.len() >= 128 {
            break;
        }
        let s = String::from_utf8_lossy(a);
        let s: String = s.chars().take(128 - args.len()).collect();
        args.push('\'');
        args.push_str(&s);
        args.push_str("' ");
    }
    let msg = format!(
        "ERR unknown command '{}', with args beginning with: {}",
        truncate(&name, 128),
        args
    );
    msg.replace(['\r', '\n'], " ")
}

fn truncate(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

/// Redis's arity error for `name`.
pub fn arity_error(name: &str) -> String {
    format!("ERR wrong number of arguments for '{}' command", name)
}
