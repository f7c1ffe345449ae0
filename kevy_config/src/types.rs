//! The structured values knobs hold: Redis's enums (`appendfsync`,
//! `maxmemory-policy`, `loglevel`), client output-buffer limits and
//! keyspace-event flags, each with Redis's parser and `CONFIG GET` rendering.

use std::fmt;

use crate::value::{parse_memory, strtoll_exact};

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
