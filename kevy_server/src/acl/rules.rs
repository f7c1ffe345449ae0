//! ACL SETUSER rules (`on`, `>pass`, `+@read`, `~key*`, `&chan`, ...):
//! parsing one rule and applying it to a `User`, with Redis 7.0's error
//! texts for the rules it refuses.

use super::user::{User, KEY_READ, KEY_WRITE};
use crate::table::CommandTable;
use bytes::Bytes;
use kevy_store::spec::acl as cat;

/// Why a rule was refused; `Display` gives Redis's text.
#[derive(Debug, PartialEq)]
pub enum RuleError {
    /// ENOENT.
    Unknown,
    /// EINVAL.
    Syntax,
    /// EEXIST.
    AfterAllKeys,
    /// EISDIR.
    AfterAllChannels,
    /// ENODEV.
    NoSuchPassword,
    /// EBADMSG.
    BadHash,
}

impl std::fmt::Display for RuleError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            RuleError::Unknown => "Unknown command or category name in ACL",
            RuleError::Syntax => "Syntax error",
            RuleError::AfterAllKeys => "Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does not have any effect. Try 'resetkeys' to start with an empty list of patterns",
            RuleError::AfterAllChannels => "Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid and does not have any effect. Try 'resetchannels' to start with an empty list of channels",
            RuleError::NoSuchPassword => "The password you are trying to remove from the user does not exist",
            RuleError::BadHash => "The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters",
        })
    }
}

/// The category bit for `name` (without the `@`), if it is one.
pub fn category(name: &[u8]) -> Option<u64> {
    if name.eq_ignore_ascii_case(b"all") {
        return Some(u64::MAX);
    }
    cat::NAMES
        .iter()
        .find(|(_, n)| name.eq_ignore_ascii_case(n.as_bytes()))
        .map(|(f, _)| *f)
}

fn valid_hash(h: &[u8]) -> bool {
    h.len() == 64
        && h.iter()
            .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(c))
}

fn set_all_commands(u: &mut User, allow: bool) {
    u.all_future = allow;
    u.allowed.iter_mut().for_each(|b| *b = allow);
    u.subs.clear();
}

fn set_command(u: &mut User, idx: usize, allow: bool) {
    if let Some(b) = u.allowed.get_mut(idx) {
        *b = allow;
    }
    u.subs.retain(|(i, _, _)| *i != idx);
}

/// Applies one rule to `u`.
pub fn apply(u: &mut User, rule: &[u8], table: &CommandTable) -> Result<(), RuleError> {
    let lower = rule.to_ascii_lowercase();
    match &lower[..] {
        b"on" => u.enabled = true,
        b"off" => u.enabled = false,
        // Payload sanitisation is not a thing in kevy (RESTORE payloads are
        // always checked); accepted for compatibility.
        b"skip-sanitize-payload" | b"sanitize-payload" => {}
        b"nopass" => {
            u.nopass = true;
            u.passwords.clear();
        }
        b"resetpass" => {
            u.nopass = false;
            u.passwords.clear();
        }
        b"allkeys" => return apply(u, b"~*", table),
        b"resetkeys" => {
            u.allkeys = false;
            u.keys.clear();
        }
        b"allchannels" => return apply(u, b"&*", table),
        b"resetchannels" => {
            u.allchannels = false;
            u.channels.clear();
        }
        b"allcommands" => set_all_commands(u, true),
        b"nocommands" => set_all_commands(u, false),
        b"reset" => {
            for r in ["resetpass", "resetkeys", "resetchannels", "off", "-@all"] {
                apply(u, r.as_bytes(), table)?;
            }
        }
        _ => return apply_prefixed(u, rule, table),
    }
    Ok(())
}

fn apply_prefixed(u: &mut User, rule: &[u8], table: &CommandTable) -> Result<(), RuleError> {
    let Some((&first, rest)) = rule.split_first() else {
        return Err(RuleError::Syntax);
    };
    match first {
        b'>' => {
            let h = super::sha256::hex(rest);
            if !u.passwords.contains(&h) {
                u.passwords.push(h);
            }
            u.nopass = false;
        }
        b'#' => {
            if !valid_hash(rest) {
                return Err(RuleError::BadHash);
            }
            let h = String::from_utf8_lossy(rest).into_owned();
            if !u.passwords.contains(&h) {
                u.passwords.push(h);
            }
            u.nopass = false;
        }
        b'<' | b'!' => {
            let h = if first == b'<' {
                super::sha256::hex(rest)
            } else {
                if !valid_hash(rest) {
                    return Err(RuleError::BadHash);
                }
                String::from_utf8_lossy(rest).into_owned()
            };
            let before = u.passwords.len();
            u.passwords.retain(|p| *p != h);
            if u.passwords.len() == before {
                return Err(RuleError::NoSuchPassword);
            }
            u.nopass = false;
        }
        b'~' | b'%' => {
            if u.allkeys {
                return Err(RuleError::AfterAllKeys);
            }
            let (flags, pat) = if first == b'~' {
                (KEY_READ | KEY_WRITE, rest)
            } else {
                let Some(t) = rest.iter().position(|&c| c == b'~') else {
                    return Err(RuleError::Syntax);
                };
                let mut f = 0;
                for &c in &rest[..t] {
                    match c.to_ascii_uppercase() {
                        b'R' => f |= KEY_READ,
                        b'W' => f |= KEY_WRITE,
                        _ => return Err(RuleError::Syntax),
                    }
                }
                if f == 0 {
                    return Err(RuleError::Syntax);
                }
                (f, &rest[t + 1..])
            };
            if pat == b"*" && flags == KEY_READ | KEY_WRITE {
                u.allkeys = true;
                u.keys.clear();
            } else if let Some(k) = u.keys.iter_mut().find(|(p, _)| p[..] == *pat) {
                k.1 |= flags;
            } else {
                u.keys.push((Bytes::copy_from_slice(pat), flags));
            }
        }
        b'&' => {
            if u.allchannels {
                return Err(RuleError::AfterAllChannels);
            }
            if rest == b"*" {
                u.allchannels = true;
                u.channels.clear();
            } else if !u.channels.iter().any(|c| c[..] == *rest) {
                u.channels.push(Bytes::copy_from_slice(rest));
            }
        }
        b'+' | b'-' => {
            let allow = first == b'+';
            if let Some(c) = rest.strip_prefix(b"@") {
                let bit = category(c).ok_or(RuleError::Unknown)?;
                if bit == u64::MAX {
                    set_all_commands(u, allow);
                } else {
                    for (i, cmd) in table.iter().enumerate() {
                        if cmd.meta.acl_categories() & bit != 0 {
                            set_command(u, i, allow);
                        }
                    }
                }
            } else if let Some(bar) = rest.iter().position(|&c| c == b'|') {
                let (name, sub) = (&rest[..bar], &rest[bar + 1..]);
                let (idx, _) = table.lookup(name).ok_or(RuleError::Unknown)?;
                if sub.is_empty() || sub.contains(&b'|') {
                    return Err(RuleError::Syntax);
                }
                let sub = String::from_utf8_lossy(sub).to_lowercase();
                u.subs.retain(|(i, s, _)| !(*i == idx && *s == sub));
                if u.allowed.get(idx).copied() != Some(allow) {
                    u.subs.push((idx, sub, allow));
                }
            } else {
                let (idx, _) = table.lookup(rest).ok_or(RuleError::Unknown)?;
                set_command(u, idx, allow);
            }
        }
        b'(' => return Err(RuleError::Syntax),
        _ => return Err(RuleError::Syntax),
    }
    Ok(())
}
