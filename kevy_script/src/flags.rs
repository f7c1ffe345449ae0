//! Script flags: what a script declares in its shebang (`#!lua
//! flags=no-writes,allow-oom`) or a function in `register_function`'s
//! `flags`, and how a shebang line is parsed, with Redis's errors.

/// The flags of a script or function (Redis 7.0's names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ScriptFlags(u8);

impl ScriptFlags {
    /// `no-writes`: the script may not call write commands.
    pub const NO_WRITES: ScriptFlags = ScriptFlags(1);
    /// `allow-oom`: may run (and write) while memory is over `maxmemory`.
    pub const ALLOW_OOM: ScriptFlags = ScriptFlags(2);
    /// `allow-stale`: may run on a stale replica.
    pub const ALLOW_STALE: ScriptFlags = ScriptFlags(4);
    /// `no-cluster`: refused in cluster mode.
    pub const NO_CLUSTER: ScriptFlags = ScriptFlags(8);
    /// `allow-cross-slot-keys`: may touch keys of several slots.
    pub const ALLOW_CROSS_SLOT: ScriptFlags = ScriptFlags(16);
    /// An EVAL script without a shebang: Redis's pre-7.0 rules (it may
    /// write, and runs under OOM until it tries a `denyoom` command).
    pub const EVAL_COMPAT: ScriptFlags = ScriptFlags(32);

    /// The flags by name, in Redis's order (`FUNCTION LIST` shows them so).
    pub const NAMES: [(&'static str, ScriptFlags); 5] = [
        ("no-writes", ScriptFlags::NO_WRITES),
        ("allow-oom", ScriptFlags::ALLOW_OOM),
        ("allow-stale", ScriptFlags::ALLOW_STALE),
        ("no-cluster", ScriptFlags::NO_CLUSTER),
        ("allow-cross-slot-keys", ScriptFlags::ALLOW_CROSS_SLOT),
    ];

    /// No flag.
    pub const fn empty() -> ScriptFlags {
        ScriptFlags(0)
    }

    /// True if every flag of `other` is set.
    pub const fn contains(self, other: ScriptFlags) -> bool {
        self.0 & other.0 == other.0
    }

    /// The union.
    #[must_use]
    pub const fn with(self, other: ScriptFlags) -> ScriptFlags {
        ScriptFlags(self.0 | other.0)
    }

    /// The flag called `name`.
    pub fn by_name(name: &[u8]) -> Option<ScriptFlags> {
        ScriptFlags::NAMES
            .iter()
            .find(|(n, _)| n.as_bytes() == name)
            .map(|(_, f)| *f)
    }

    /// The names of the set flags, in Redis's order.
    pub fn names(self) -> impl Iterator<Item = &'static str> {
        ScriptFlags::NAMES
            .into_iter()
            .filter(move |(_, f)| self.contains(*f))
            .map(|(n, _)| n)
    }
}

/// The flags an EVAL script declares: [`ScriptFlags::EVAL_COMPAT`] without
/// a shebang, else the `flags=` of its `#!lua` line. Errors are Redis's
/// texts (without the `ERR ` prefix).
pub fn eval_flags(body: &[u8]) -> Result<ScriptFlags, String> {
    if !body.starts_with(b"#!") {
        return Ok(ScriptFlags::EVAL_COMPAT);
    }
    let Some(nl) = body.iter().position(|&c| c == b'\n') else {
        return Err("Invalid script shebang".into());
    };
    let line = &body[..nl];
    let mut parts = line[2..].split(|&c| c == b' ').filter(|p| !p.is_empty());
    if parts.next() != Some(&b"lua"[..]) {
        return Err(format!(
            "Unexpected engine in script shebang: {}",
            String::from_utf8_lossy(line)
        ));
    }
    let mut flags = ScriptFlags::empty();
    for part in parts {
        let Some(list) = part.strip_prefix(b"flags=") else {
            return Err(format!(
                "Unknown lua shebang option: {}",
                String::from_utf8_lossy(part)
            ));
        };
        for name in list.split(|&c| c == b',').filter(|n| !n.is_empty()) {
            match ScriptFlags::by_name(name) {
                Some(f) => flags = flags.with(f),
                None => {
                    return Err(format!(
                        "Unexpected flag in script shebang: {}",
                        String::from_utf8_lossy(name)
                    ))
                }
            }
        }
    }
    Ok(flags)
}

/// The body Lua compiles: a shebang line is blanked (its newline stays, so
/// line numbers in errors match the script's).
pub(crate) fn without_shebang(body: &[u8]) -> &[u8] {
    if body.starts_with(b"#!") {
        match body.iter().position(|&c| c == b'\n') {
            Some(nl) => &body[nl..],
            None => b"",
        }
    } else {
        body
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shebangs_parse_as_redis_does() {
        assert_eq!(eval_flags(b"return 1"), Ok(ScriptFlags::EVAL_COMPAT));
        assert_eq!(eval_flags(b"#!lua\nreturn 1"), Ok(ScriptFlags::empty()));
        assert_eq!(
            eval_flags(b"#!lua  flags=no-writes,allow-oom  \nreturn 1"),
            Ok(ScriptFlags::NO_WRITES.with(ScriptFlags::ALLOW_OOM))
        );
        assert_eq!(eval_flags(b"#!lua flags=\nx"), Ok(ScriptFlags::empty()));
        for (body, err) in [
            (
                &b"#!lua flags=bad\nx"[..],
                "Unexpected flag in script shebang: bad",
            ),
            (b"#!foo\nx", "Unexpected engine in script shebang: #!foo"),
            (b"#!luax\nx", "Unexpected engine in script shebang: #!luax"),
            (b"#!lua xx=1\nx", "Unknown lua shebang option: xx=1"),
            (b"#!lua name=foo\nx", "Unknown lua shebang option: name=foo"),
            (b"#!lua", "Invalid script shebang"),
        ] {
            assert_eq!(eval_flags(body), Err(err.to_string()));
        }
        assert_eq!(without_shebang(b"#!lua\nreturn 1"), b"\nreturn 1");
    }
}
