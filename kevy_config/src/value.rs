//! The typed values knobs hold (enums, buffer limits, keyspace-event flags)
//! and the parsers and formatters that read and print them exactly as Redis
//! 7.0 does: `string2ll` for integers, `memtoull` for memory sizes, `strtoll`
//! where Redis uses it (`save`, buffer limits), and Redis's renderings for
//! `CONFIG GET`. Parsers return Redis's own error text, which `CONFIG SET`
//! sends back verbatim.

use std::fmt;

/// Declares a config enum with Redis's spellings, in Redis's order (the order
/// its "must be one of the following" message lists them), and its default.
macro_rules! knob_enum {
    ($(#[$m:meta])* $name:ident default $default:ident {
        $( $(#[$vm:meta])* $variant:ident = $text:literal, )+
    }) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum $name { $( $(#[$vm])* $variant, )+ }

        impl $name {
            /// Redis's spellings of the values, in Redis's order.
            pub const NAMES: &'static [&'static str] = &[$($text),+];
            const ALL: &'static [$name] = &[$($name::$variant),+];

            /// Redis's spelling of this value.
            pub fn as_str(self) -> &'static str {
                Self::NAMES[self.index()]
            }

            pub(crate) fn index(self) -> usize {
                Self::ALL.iter().position(|v| *v == self).unwrap_or(0)
            }

            pub(crate) fn from_index(i: usize) -> Self {
                Self::ALL[i]
            }
        }

        impl Default for $name {
            /// Redis 7.0's default.
            fn default() -> Self {
                $name::$default
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

knob_enum! {
    /// When the AOF is fsynced (`appendfsync`).
    AppendFsync default Everysec {
        /// In the background, at most one second behind.
        Everysec = "everysec",
        /// Before any reply that reflects the write.
        Always = "always",
        /// Never explicitly; the OS decides.
        No = "no",
    }
}

knob_enum! {
    /// What to evict when `maxmemory` is reached (`maxmemory-policy`).
    MaxmemoryPolicy default Noeviction {
        /// Approximate LRU among keys with an expiry.
        VolatileLru = "volatile-lru",
        /// Approximate LFU among keys with an expiry.
        VolatileLfu = "volatile-lfu",
        /// Random keys among those with an expiry.
        VolatileRandom = "volatile-random",
        /// The key with the nearest expiry.
        VolatileTtl = "volatile-ttl",
        /// Approximate LRU among all keys.
        AllkeysLru = "allkeys-lru",
        /// Approximate LFU among all keys.
        AllkeysLfu = "allkeys-lfu",
        /// Random keys.
        AllkeysRandom = "allkeys-random",
        /// Evict nothing; refuse writes that need memory.
        Noeviction = "noeviction",
    }
}

knob_enum! {
    /// Log verbosity (`loglevel`).
    LogLevel default Notice {
        /// Everything.
        Debug = "debug",
        /// Much that is rarely useful.
        Verbose = "verbose",
        /// What an operator wants in production.
        Notice = "notice",
        /// Only warnings and errors.
        Warning = "warning",
    }
}

/// One client class's output-buffer limit: disconnect at `hard` bytes, or
/// after staying above `soft` bytes for `soft_seconds`. Zero disables a limit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BufferLimit {
    /// Hard limit in bytes.
    pub hard: u64,
    /// Soft limit in bytes.
    pub soft: u64,
    /// How long the soft limit may be exceeded, in seconds.
    pub soft_seconds: u64,
}

/// `client-output-buffer-limit`: one [`BufferLimit`] per client class.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ClientOutputBufferLimits {
    /// Ordinary clients.
    pub normal: BufferLimit,
    /// Replicas (`slave`/`replica` in the config string).
    pub replica: BufferLimit,
    /// Pub/Sub subscribers.
    pub pubsub: BufferLimit,
}

impl ClientOutputBufferLimits {
    /// Parses Redis's `class hard soft seconds [class hard soft seconds ...]`
    /// on top of `self`; classes not named keep their limits. All or nothing.
    pub(crate) fn parse_onto(mut self, v: &str) -> Result<Self, &'static str> {
        if v.is_empty() {
            return Ok(self);
        }
        let args: Vec<&str> = v.split(' ').collect();
        if args.len() % 4 != 0 {
            return Err("Wrong number of arguments in buffer limit configuration.");
        }
        for a in args.chunks(4) {
            let class = match a[0].to_ascii_lowercase().as_str() {
                "normal" => &mut self.normal,
                "slave" | "replica" => &mut self.replica,
                "pubsub" => &mut self.pubsub,
                _ => return Err("Invalid client class specified in buffer limit configuration."),
            };
            let bad = "Error in hard, soft or soft_seconds setting in buffer limit configuration.";
            let hard = parse_memory(a[1]).ok_or(bad)?;
            let soft = parse_memory(a[2]).ok_or(bad)?;
            let secs = strtoll_exact(a[3]).filter(|s| *s >= 0).ok_or(bad)?;
            *class = BufferLimit {
                hard,
                soft,
                soft_seconds: secs as u64,
            };
        }
        Ok(self)
    }
}

impl fmt::Display for ClientOutputBufferLimits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let classes = [
            ("normal", self.normal),
            ("slave", self.replica),
            ("pubsub", self.pubsub),
        ];
        for (i, (name, l)) in classes.iter().enumerate() {
            let sep = if i == 0 { "" } else { " " };
            write!(f, "{sep}{name} {} {} {}", l.hard, l.soft, l.soft_seconds)?;
        }
        Ok(())
    }
}

/// `notify-keyspace-events` as Redis's bit flags (same bit values as Redis's
/// `NOTIFY_*` constants).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct KeyspaceEvents(pub u16);

impl KeyspaceEvents {
    /// `K`: publish on `__keyspace@<db>__:<key>`.
    pub const KEYSPACE: u16 = 1 << 0;
    /// `E`: publish on `__keyevent@<db>__:<event>`.
    pub const KEYEVENT: u16 = 1 << 1;
    /// `g`: generic commands (DEL, EXPIRE, RENAME, ...).
    pub const GENERIC: u16 = 1 << 2;
    /// `$`: string commands.
    pub const STRING: u16 = 1 << 3;
    /// `l`: list commands.
    pub const LIST: u16 = 1 << 4;
    /// `s`: set commands.
    pub const SET: u16 = 1 << 5;
    /// `h`: hash commands.
    pub const HASH: u16 = 1 << 6;
    /// `z`: sorted-set commands.
    pub const ZSET: u16 = 1 << 7;
    /// `x`: expired events.
    pub const EXPIRED: u16 = 1 << 8;
    /// `e`: evicted events.
    pub const EVICTED: u16 = 1 << 9;
    /// `t`: stream commands.
    pub const STREAM: u16 = 1 << 10;
    /// `m`: key-miss events (not part of `A`).
    pub const KEY_MISS: u16 = 1 << 11;
    /// `d`: module key-type events.
    pub const MODULE: u16 = 1 << 13;
    /// `n`: new-key events (not part of `A`).
    pub const NEW: u16 = 1 << 14;
    /// `A`: alias for `g$lshzxetd`.
    pub const ALL: u16 = Self::GENERIC
        | Self::STRING
        | Self::LIST
        | Self::SET
        | Self::HASH
        | Self::ZSET
        | Self::EXPIRED
        | Self::EVICTED
        | Self::STREAM
        | Self::MODULE;

    /// Are all bits of `flags` set?
    pub fn contains(self, flags: u16) -> bool {
        self.0 & flags == flags
    }

    /// Parses Redis's class characters (`keyspaceEventsStringToFlags`).
    pub(crate) fn parse(v: &str) -> Result<Self, &'static str> {
        let mut bits = 0;
        for c in v.bytes() {
            bits |= match c {
                b'A' => Self::ALL,
                b'g' => Self::GENERIC,
                b'$' => Self::STRING,
                b'l' => Self::LIST,
                b's' => Self::SET,
                b'h' => Self::HASH,
                b'z' => Self::ZSET,
                b'x' => Self::EXPIRED,
                b'e' => Self::EVICTED,
                b'K' => Self::KEYSPACE,
                b'E' => Self::KEYEVENT,
                b't' => Self::STREAM,
                b'm' => Self::KEY_MISS,
                b'd' => Self::MODULE,
                b'n' => Self::NEW,
                _ => return Err("Invalid event class character. Use 'Ag$lshzxeKEtmdn'."),
            };
        }
        Ok(KeyspaceEvents(bits))
    }
}

impl fmt::Display for KeyspaceEvents {
    /// Redis's `keyspaceEventsFlagsToString`, including its quirk of dropping
    /// `n` when all of `A` is set.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = String::new();
        if self.contains(Self::ALL) {
            s.push('A');
        } else {
            let order = [
                (Self::GENERIC, 'g'),
                (Self::STRING, '$'),
                (Self::LIST, 'l'),
                (Self::SET, 's'),
                (Self::HASH, 'h'),
                (Self::ZSET, 'z'),
                (Self::EXPIRED, 'x'),
                (Self::EVICTED, 'e'),
                (Self::STREAM, 't'),
                (Self::MODULE, 'd'),
                (Self::NEW, 'n'),
            ];
            s.extend(
                order
                    .iter()
                    .filter(|(b, _)| self.0 & b != 0)
                    .map(|(_, c)| c),
            );
        }
        for (b, c) in [
            (Self::KEYSPACE, 'K'),
            (Self::KEYEVENT, 'E'),
            (Self::KEY_MISS, 'm'),
        ] {
            if self.0 & b != 0 {
                s.push(c);
            }
        }
        f.write_str(&s)
    }
}

/// Redis's `yesnotoi`: `yes` or `no`, any case.
pub(crate) fn parse_bool(v: &str) -> Result<bool, &'static str> {
    if v.eq_ignore_ascii_case("yes") {
        Ok(true)
    } else if v.eq_ignore_ascii_case("no") {
        Ok(false)
    } else {
        Err("argument must be 'yes' or 'no'")
    }
}

/// Redis's `string2ll`: strict decimal, optional `-`, no `+`, no spaces, no
/// leading zeros, no overflow.
pub(crate) fn parse_int(v: &str) -> Option<i64> {
    let b = v.as_bytes();
    let (neg, digits) = match b.first() {
        Some(b'-') => (true, &b[1..]),
        _ => (false, b),
    };
    match digits {
        [b'0'] if !neg => return Some(0),
        [b'1'..=b'9', rest @ ..] if rest.iter().all(u8::is_ascii_digit) => {}
        _ => return None,
    }
    let mut n: i128 = 0;
    for d in digits {
        n = n * 10 + i128::from(d - b'0');
        if n > i128::from(i64::MAX) + 1 {
            return None;
        }
    }
    i64::try_from(if neg { -n } else { n }).ok()
}

/// Redis's `memtoull`: digits then an optional unit (`b`, `k`=1000, `kb`=1024,
/// `m`, `mb`, `g`, `gb`, any case). Like Redis, a digit string too large for
/// 64 bits saturates, an empty number counts as 0, and a product that
/// overflows is refused.
pub(crate) fn parse_memory(v: &str) -> Option<u64> {
    let digits_end = v
        .bytes()
        .position(|c| !c.is_ascii_digit())
        .unwrap_or(v.len());
    let (digits, unit) = v.split_at(digits_end);
    let mul: u64 = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" => 1000,
        "kb" => 1024,
        "m" => 1000 * 1000,
        "mb" => 1024 * 1024,
        "g" => 1000 * 1000 * 1000,
        "gb" => 1024 * 1024 * 1024,
        _ => return None,
    };
    if digits.len() >= 128 {
        return None;
    }
    let val = digits.bytes().fold(0u64, |n, d| {
        n.saturating_mul(10).saturating_add(u64::from(d - b'0'))
    });
    val.checked_mul(mul)
}

/// C's `strtoll(s, &end, 10)` with the check `*end == '\0'` Redis applies:
/// leading whitespace and a sign are allowed, the empty string is 0, and
/// overflow saturates.
pub(crate) fn strtoll_exact(v: &str) -> Option<i64> {
    if v.is_empty() {
        return Some(0);
    }
    let t = v.trim_start_matches(|c: char| c.is_ascii_whitespace() || c == '\x0b');
    let (neg, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    if digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let mut n: i128 = 0;
    for d in digits.bytes() {
        n = (n * 10 + i128::from(d - b'0')).min(i128::from(u64::MAX));
    }
    let n = if neg { -n } else { n };
    Some(n.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64)
}

/// Parses `save`: pairs of `seconds changes`, split on single spaces as
/// Redis does; `""` means no snapshots.
pub(crate) fn parse_save(v: &str) -> Result<Vec<(u64, u64)>, &'static str> {
    const BAD: &str = "Invalid save parameters";
    if v.is_empty() {
        return Ok(Vec::new());
    }
    let args: Vec<&str> = v.split(' ').collect();
    if args.len() % 2 != 0 {
        return Err(BAD);
    }
    args.chunks(2)
        .map(|p| {
            let secs = strtoll_exact(p[0]).filter(|s| *s >= 1).ok_or(BAD)?;
            let changes = strtoll_exact(p[1]).filter(|c| *c >= 0).ok_or(BAD)?;
            Ok((secs as u64, changes as u64))
        })
        .collect()
}

/// Formats `save` as `CONFIG GET` shows it.
pub(crate) fn format_save(rules: &[(u64, u64)]) -> String {
    let parts: Vec<String> = rules.iter().map(|(s, c)| format!("{s} {c}")).collect();
    parts.join(" ")
}

/// Parses `latency-tracking-info-percentiles`: numbers in `[0, 100]`.
pub(crate) fn parse_percentiles(v: &str) -> Result<Vec<f64>, &'static str> {
    if v.is_empty() {
        return Ok(Vec::new());
    }
    v.split(' ')
        .map(|p| {
            let x: f64 = p
                .parse()
                .ok()
                .filter(|x: &f64| !x.is_nan() && !p.starts_with(|c: char| c.is_whitespace()))
                .ok_or("Invalid latency-tracking-info-percentiles parameters")?;
            if (0.0..=100.0).contains(&x) {
                Ok(x)
            } else {
                Err("latency-tracking-info-percentiles parameters should sit between [0.0,100.0]")
            }
        })
        .collect()
}

/// Formats percentiles like Redis: `%f`, then trailing zeros trimmed.
pub(crate) fn format_percentiles(ps: &[f64]) -> String {
    let parts: Vec<String> = ps
        .iter()
        .map(|p| {
            let s = format!("{p:.6}");
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        })
        .collect();
    parts.join(" ")
}

/// Formats a byte count the way `CONFIG REWRITE` writes memory values: with
/// the largest binary unit that divides it exactly.
pub(crate) fn format_memory_units(n: u64) -> String {
    const GB: u64 = 1 << 30;
    const MB: u64 = 1 << 20;
    const KB: u64 = 1 << 10;
    match n {
        0 => "0".to_string(),
        n if n % GB == 0 => format!("{}gb", n / GB),
        n if n % MB == 0 => format!("{}mb", n / MB),
        n if n % KB == 0 => format!("{}kb", n / KB),
        n => n.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ints_follow_string2ll() {
        assert_eq!(parse_int("0"), Some(0));
        assert_eq!(parse_int("-2"), Some(-2));
        assert_eq!(parse_int("9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_int("-9223372036854775808"), Some(i64::MIN));
        for bad in [
            "",
            "-",
            "+5",
            " 5",
            "05",
            "-0",
            "1.5",
            "9223372036854775808",
            "5 ",
        ] {
            assert_eq!(parse_int(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn memory_follows_memtoull() {
        assert_eq!(parse_memory("0"), Some(0));
        assert_eq!(parse_memory("1gb"), Some(1 << 30));
        assert_eq!(parse_memory("1GB"), Some(1 << 30));
        assert_eq!(parse_memory("10k"), Some(10_000));
        assert_eq!(parse_memory("10kb"), Some(10_240));
        assert_eq!(parse_memory("5B"), Some(5));
        assert_eq!(parse_memory("05"), Some(5));
        assert_eq!(parse_memory(""), Some(0));
        assert_eq!(parse_memory("gb"), Some(0));
        assert_eq!(parse_memory("18446744073709551616"), Some(u64::MAX));
        for bad in ["-5", "1.5gb", " 5", "abc", "5 mb", "99999999999999999999kb"] {
            assert_eq!(parse_memory(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn save_rules() {
        assert_eq!(parse_save("900 1 300 10"), Ok(vec![(900, 1), (300, 10)]));
        assert_eq!(parse_save(""), Ok(vec![]));
        assert_eq!(parse_save("900 "), Ok(vec![(900, 0)]));
        assert_eq!(parse_save("01 2"), Ok(vec![(1, 2)]));
        for bad in ["900", "0 0", "-900 1", "900 -1", "900 1 abc", "  900   1  "] {
            assert_eq!(parse_save(bad), Err("Invalid save parameters"), "{bad:?}");
        }
        assert_eq!(format_save(&[(3600, 1), (300, 100)]), "3600 1 300 100");
    }

    #[test]
    fn keyspace_events_render_like_redis() {
        let r = |s: &str| KeyspaceEvents::parse(s).map(|k| k.to_string());
        assert_eq!(r("Kx"), Ok("xK".into()));
        assert_eq!(r("KEA"), Ok("AKE".into()));
        assert_eq!(r("g$lshzxetdKEmn"), Ok("AKEm".into()));
        assert_eq!(r("AnmKK"), Ok("AKm".into()));
        assert_eq!(r("nd"), Ok("dn".into()));
        assert_eq!(r(""), Ok("".into()));
        assert!(r("Q").is_err());
    }

    #[test]
    fn buffer_limits() {
        let d = ClientOutputBufferLimits::default();
        let l = d.parse_onto("NORMAL 1k 2KB 3 replica 4 5 6").unwrap();
        assert_eq!(l.to_string(), "normal 1000 2048 3 slave 4 5 6 pubsub 0 0 0");
        assert_eq!(d.parse_onto(""), Ok(d));
        assert!(d.parse_onto("normal 1 2").is_err());
        assert!(d.parse_onto("master 1 2 3").is_err());
        assert!(d.parse_onto("normal 1 2 -3").is_err());
        assert!(d.parse_onto("normal 1 2 3 ").is_err());
    }

    #[test]
    fn percentiles() {
        assert_eq!(parse_percentiles("50 99 99.9"), Ok(vec![50.0, 99.0, 99.9]));
        assert_eq!(format_percentiles(&[0.5, 99.999, 100.0]), "0.5 99.999 100");
        assert!(parse_percentiles("101").is_err());
        assert!(parse_percentiles("50 abc").is_err());
    }

    #[test]
    fn memory_units_for_rewrite() {
        assert_eq!(format_memory_units(67_108_864), "64mb");
        assert_eq!(format_memory_units(1 << 30), "1gb");
        assert_eq!(format_memory_units(3000), "3000");
        assert_eq!(format_memory_units(0), "0");
    }
}
