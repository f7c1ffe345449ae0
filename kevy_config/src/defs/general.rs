//! General knobs: process behaviour, logging, databases, background tick.

use super::Knob;

pub(super) static KNOBS: &[Knob] = &[
    Knob {
        name: "daemonize",
        default: "no",
        doc:
            "Fork into the background; accepted for compatibility, only no (use a service manager).",
        kind: boolean!(
            daemonize,
            only_no = "kevy does not daemonize; run it under a service manager instead"
        ),
        compat: true,
        ..Knob::RESTART
    },
    Knob {
        name: "pidfile",
        default: "",
        doc: "File to write the process id to at start-up; empty writes none.",
        kind: string!(pidfile),
        ..Knob::RESTART
    },
    Knob {
        name: "loglevel",
        default: "notice",
        doc: "Log verbosity.",
        kind: enumeration!(loglevel, crate::LogLevel),
        ..Knob::RUNTIME
    },
    Knob {
        name: "logfile",
        default: "",
        doc: "Log file; empty logs to standard output.",
        kind: string!(logfile),
        ..Knob::RESTART
    },
    Knob {
        name: "databases",
        default: "16",
        doc: "Number of logical databases (SELECT 0 to databases-1).",
        kind: int!(databases, 1, i32::MAX),
        ..Knob::RESTART
    },
    Knob {
        name: "hz",
        default: "10",
        doc: "Background task frequency (active expiry, timeouts) per second, clamped to 1..500.",
        kind: super::Kind::Int {
            min: 0,
            max: i32::MAX as i64,
            get: |c| i64::from(c.hz),
            // Redis stores the clamped value, so CONFIG GET shows it.
            set: |c, v| c.hz = v.clamp(1, 500) as u32,
        },
        ..Knob::RUNTIME
    },
    Knob {
        name: "dynamic-hz",
        default: "yes",
        doc: "Raise hz with the number of clients; accepted for compatibility.",
        kind: boolean!(dynamic_hz),
        compat: true,
        ..Knob::RUNTIME
    },
];
