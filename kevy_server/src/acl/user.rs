//! `User`: one ACL user's flags, password hashes and permissions (commands,
//! key patterns, channel patterns), the permission checks the executor
//! runs, and `describe`, which renders the user in Redis 7.0's normalised
//! `ACL LIST` form.

use crate::table::CommandTable;
use bytes::Bytes;
use kevy_store::glob_match;
use kevy_store::spec::acl as cat;

/// Read permission bit of a key pattern (`%R~`).
pub const KEY_READ: u8 = 1;
/// Write permission bit of a key pattern (`%W~`).
pub const KEY_WRITE: u8 = 2;

/// One ACL user. Users are immutable once published: a change builds a new
/// `User` and swaps it into the registry, so a connection holds a
/// consistent snapshot.
#[derive(Clone, Debug)]
pub struct User {
    /// User name.
    pub name: String,
    /// `on` / `off`.
    pub enabled: bool,
    /// `nopass`: any password authenticates.
    pub nopass: bool,
    /// SHA-256 hex digests of the accepted passwords, in the order added.
    pub passwords: Vec<String>,
    /// Set by `+@all`: commands added later would be allowed too (Redis's
    /// reserved "future commands" bit); decides `+@all` vs `-@all` in
    /// `ACL LIST`.
    pub all_future: bool,
    /// Allowed top-level commands, by command-table index.
    pub allowed: Vec<bool>,
    /// Subcommand exceptions `(command index, subcommand, allowed)` that
    /// differ from the parent's bit, in the order given.
    pub subs: Vec<(usize, String, bool)>,
    /// `allkeys` / `~*`.
    pub allkeys: bool,
    /// Key patterns with their `KEY_READ | KEY_WRITE` bits.
    pub keys: Vec<(Bytes, u8)>,
    /// `allchannels` / `&*`.
    pub allchannels: bool,
    /// Channel patterns.
    pub channels: Vec<Bytes>,
}

/// Why a command was refused, with what the ACL log and DRYRUN name.
#[derive(Debug, PartialEq)]
pub enum Denied {
    /// The command (its full `cmd|sub` name).
    Command(String),
    /// A key argument.
    Key(Bytes),
    /// A channel argument.
    Channel(Bytes),
}

impl User {
    /// A new user as `ACL SETUSER name` creates it: off, no passwords, no
    /// commands, keys or channels.
    pub fn new(name: &str, ncmds: usize) -> User {
        User {
            name: name.to_string(),
            enabled: false,
            nopass: false,
            passwords: Vec::new(),
            all_future: false,
            allowed: vec![false; ncmds],
            subs: Vec::new(),
            allkeys: false,
            keys: Vec::new(),
            allchannels: false,
            channels: Vec::new(),
        }
    }

    /// The `default` user of a fresh server: `on nopass ~* &* +@all`.
    pub fn default_user(ncmds: usize) -> User {
        User {
            enabled: true,
            nopass: true,
            all_future: true,
            allowed: vec![true; ncmds],
            allkeys: true,
            allchannels: true,
            ..User::new("default", ncmds)
        }
    }

    /// True when nothing is restricted: the executor skips every check.
    pub fn unrestricted(&self) -> bool {
        self.allkeys && self.allchannels && self.subs.is_empty() && self.allowed.iter().all(|&b| b)
    }

    /// True if `pass` authenticates this user (disabled users never do).
    pub fn password_ok(&self, pass: &[u8]) -> bool {
        if !self.enabled {
            return false;
        }
        if self.nopass {
            return true;
        }
        let h = super::sha256::hex(pass);
        // Compare every stored hash fully, so timing says nothing.
        self.passwords
            .iter()
            .fold(false, |ok, p| ok | (p.as_bytes() == h.as_bytes()))
    }

    /// Is the command at `idx` (with subcommand `sub`, lowercase) allowed?
    pub fn command_allowed(&self, idx: usize, sub: Option<&str>) -> bool {
        if let Some(s) = sub {
            if let Some((_, _, allow)) = self.subs.iter().find(|(i, n, _)| *i == idx && n == s) {
                return *allow;
            }
        }
        self.allowed.get(idx).copied().unwrap_or(self.all_future)
    }

    /// Does some key pattern grant `need` (`KEY_READ`/`KEY_WRITE` bits) on `key`?
    pub fn key_allowed(&self, key: &[u8], need: u8) -> bool {
        self.allkeys
            || self
                .keys
                .iter()
                .any(|(p, f)| f & need == need && glob_match(p, key, false))
    }

    /// May the user use `channel`? A pattern subscription (`literal`) must
    /// equal one of the user's patterns, as in Redis.
    pub fn channel_allowed(&self, channel: &[u8], literal: bool) -> bool {
        self.allchannels
            || self.channels.iter().any(|p| {
                if literal {
                    p[..] == *channel
                } else {
                    glob_match(p, channel, false)
                }
            })
    }

    /// Checks a whole command line: the command, then its keys, then its
    /// channels (Redis's order).
    pub fn check(&self, table: &CommandTable, idx: usize, argv: &[Bytes]) -> Result<(), Denied> {
        let Some(cmd) = table.get(idx) else {
            return Ok(());
        };
        let meta = cmd.meta;
        if meta.flags & kevy_store::spec::flags::NO_AUTH != 0 {
            return Ok(());
        }
        let sub = if super::is_container(meta.name) {
            argv.get(1)
                .map(|s| String::from_utf8_lossy(s).to_lowercase())
        } else {
            None
        };
        if !self.command_allowed(idx, sub.as_deref()) {
            let full = match &sub {
                Some(s) => format!("{}|{}", meta.name, s),
                None => meta.name.to_string(),
            };
            return Err(Denied::Command(full));
        }
        if !self.allkeys {
            let need = if meta.flags & kevy_store::spec::flags::WRITE != 0 {
                KEY_WRITE
            } else if meta.flags & kevy_store::spec::flags::READONLY != 0 {
                KEY_READ
            } else {
                0
            };
            for i in meta.key_positions(argv) {
                if !self.key_allowed(&argv[i], need) {
                    return Err(Denied::Key(argv[i].clone()));
                }
            }
        }
        if !self.allchannels {
            let (from, literal) = match meta.name {
                "publish" | "spublish" => (Some(1..2.min(argv.len())), false),
                "subscribe" | "ssubscribe" => (Some(1..argv.len()), false),
                "psubscribe" => (Some(1..argv.len()), true),
                _ => (None, false),
            };
            if let Some(range) = from {
                for c in &argv[range] {
                    if !self.channel_allowed(c, literal) {
                        return Err(Denied::Channel(c.clone()));
                    }
                }
            }
        }
        Ok(())
    }

    /// The user as `ACL LIST` prints it (without the leading `user name`):
    /// flags, password hashes, key patterns, channels, command rules.
    pub fn describe(&self, table: &CommandTable) -> String {
        let mut out = String::new();
        out.push_str(if self.enabled { "on " } else { "off " });
        if self.nopass {
            out.push_str("nopass ");
        }
        for p in &self.passwords {
            out.push('#');
            out.push_str(p);
            out.push(' ');
        }
        let keys = self.describe_keys();
        if !keys.is_empty() {
            out.push_str(&keys);
            out.push(' ');
        }
        if self.allchannels {
            out.push_str("&* ");
        } else {
            out.push_str("resetchannels ");
            for c in &self.channels {
                out.push('&');
                out.push_str(&String::from_utf8_lossy(c));
                out.push(' ');
            }
        }
        out.push_str(&self.describe_commands(table));
        out
    }

    /// Key patterns as `ACL GETUSER` shows them (space separated).
    pub fn describe_keys(&self) -> String {
        if self.allkeys {
            return "~*".to_string();
        }
        let v: Vec<String> = self
            .keys
            .iter()
            .map(|(p, f)| {
                let prefix = match *f {
                    KEY_READ => "%R~",
                    KEY_WRITE => "%W~",
                    _ => "~",
                };
                format!("{prefix}{}", String::from_utf8_lossy(p))
            })
            .collect();
        v.join(" ")
    }

    /// Channel patterns as `ACL GETUSER` shows them.
    pub fn describe_channels(&self) -> String {
        if self.allchannels {
            return "&*".to_string();
        }
        let v: Vec<String> = self
            .channels
            .iter()
            .map(|c| format!("&{}", String::from_utf8_lossy(c)))
            .collect();
        v.join(" ")
    }

    /// Command rules, normalised as Redis 7.0 does: `+@all` or `-@all`,
    /// then the categories that fit best, then single-command fixes.
    pub fn describe_commands(&self, table: &CommandTable) -> String {
        let n = self.allowed.len();
        let additive = !self.all_future;
        let mut rules = String::from(if additive { "-@all" } else { "+@all" });
        let mut fake = vec![!additive; n];
        let mut temp = self.allowed.clone();
        let cats: Vec<u64> = (0..n)
            .map(|i| table.get(i).map_or(0, |c| c.meta.acl_categories()))
            .collect();
        loop {
            // Redis's best fit: a category with more commands in common with
            // the user than different, fewest differences first, then most
            // in common; ties go to the earlier category.
            let mut best: Option<(usize, usize, usize)> = None;
            for (j, &(flag, _)) in cat::NAMES.iter().enumerate() {
                let (mut on, mut off) = (0usize, 0usize);
                for (&c, &t) in cats.iter().zip(&temp) {
                    if c & flag != 0 {
                        if t {
                            on += 1;
                        } else {
                            off += 1;
                        }
                    }
                }
                let (diff, same) = if additive { (off, on) } else { (on, off) };
                let better = match best {
                    None => true,
                    Some((_, md, ms)) => diff < md || (diff == md && same > ms),
                };
                if same > diff && better {
                    best = Some((j, diff, same));
                }
            }
            let Some((j, _, _)) = best else { break };
            let (flag, name) = cat::NAMES[j];
            for ((&c, f), t) in cats.iter().zip(fake.iter_mut()).zip(temp.iter_mut()) {
                if c & flag != 0 {
                    *f = additive;
                    *t = !additive;
                }
            }
            rules.push_str(if additive { " +@" } else { " -@" });
            rules.push_str(name);
        }
        for (i, (&allowed, &f)) in self.allowed.iter().zip(&fake).enumerate() {
            let name = table.get(i).map_or("", |c| c.meta.name);
            if allowed != f {
                rules.push_str(if allowed { " +" } else { " -" });
                rules.push_str(name);
            }
            for (_, sub, allow) in self.subs.iter().filter(|(c, _, _)| *c == i) {
                rules.push_str(if *allow { " +" } else { " -" });
                rules.push_str(name);
                rules.push('|');
                rules.push_str(sub);
            }
        }
        rules
    }
}
