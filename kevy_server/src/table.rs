//! The command table: the store's data commands and the server's own
//! commands merged into one list, looked up by name once per command, each
//! with its INFO commandstats counters.

use crate::cmd::{self, ServerCommand};
use kevy_store::spec::CommandMeta;
use kevy_store::StoreCommand;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// FNV-1a for command-name lookups, once per command (SipHash was ~2% of
/// a pipelined SET's instructions). The table's keys are fixed, so a client
/// choosing names cannot make collisions grow: no keyed hash is needed.
pub struct NameHasher(u64);

impl Default for NameHasher {
    fn default() -> NameHasher {
        NameHasher(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for NameHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}
use std::sync::atomic::AtomicU64;

/// Where a command runs.
pub enum Kind {
    /// A data command over the locked shards.
    Store(&'static StoreCommand),
    /// A server command over the connection and shared state.
    Server(&'static ServerCommand),
    /// A scripting command, run by the executor with its Lua VM.
    Script(&'static crate::script::ScriptCommand),
}

/// Per-command counters for INFO commandstats.
#[derive(Default)]
pub struct CmdStats {
    /// Calls that ran.
    pub calls: AtomicU64,
    /// Microseconds spent.
    pub usec: AtomicU64,
    /// Calls refused before running (arity, auth, OOM, ...).
    pub rejected: AtomicU64,
    /// Calls that ran and replied with an error.
    pub failed: AtomicU64,
}

/// One table entry.
pub struct Cmd {
    /// Static metadata.
    pub meta: &'static CommandMeta,
    /// How it runs.
    pub kind: Kind,
    /// Counters.
    pub stats: CmdStats,
}

/// Every command, by index and by name.
pub struct CommandTable {
    cmds: Vec<Cmd>,
    by_name: HashMap<&'static [u8], usize, BuildHasherDefault<NameHasher>>,
}

impl CommandTable {
    /// Builds the table from the store's and the server's families.
    pub fn new() -> CommandTable {
        let mut cmds = Vec::new();
        for c in kevy_store::all_commands() {
            cmds.push(Cmd {
                meta: &c.meta,
                kind: Kind::Store(c),
                stats: CmdStats::default(),
            });
        }
        for c in cmd::all() {
            cmds.push(Cmd {
                meta: &c.meta,
                kind: Kind::Server(c),
                stats: CmdStats::default(),
            });
        }
        for c in crate::cmd::scripting::COMMANDS {
            cmds.push(Cmd {
                meta: &c.meta,
                kind: Kind::Script(c),
                stats: CmdStats::default(),
            });
        }
        let by_name = cmds
            .iter()
            .enumerate()
            .map(|(i, c)| (c.meta.name.as_bytes(), i))
            .collect();
        CommandTable { cmds, by_name }
    }

    /// Finds a command by name, case-insensitively.
    #[inline]
    pub fn lookup(&self, name: &[u8]) -> Option<(usize, &Cmd)> {
        let mut buf = [0u8; 32];
        if name.len() > buf.len() {
            return None;
        }
        for (d, s) in buf.iter_mut().zip(name) {
            *d = s.to_ascii_lowercase();
        }
        let i = *self.by_name.get(&buf[..name.len()])?;
        Some((i, &self.cmds[i]))
    }

    /// The command at `idx`.
    pub fn get(&self, idx: usize) -> Option<&Cmd> {
        self.cmds.get(idx)
    }

    /// Every command.
    pub fn iter(&self) -> impl Iterator<Item = &Cmd> {
        self.cmds.iter()
    }

    /// Number of top-level commands.
    pub fn len(&self) -> usize {
        self.cmds.len()
    }
}
