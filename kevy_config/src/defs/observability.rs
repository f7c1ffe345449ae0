//! Observability knobs: the slow log, latency tracking and keyspace
//! notifications.

use super::{Kind, Knob};
use crate::types::KeyspaceEvents;
use crate::value::{format_percentiles, parse_percentiles};

pub(super) static KNOBS: &[Knob] = &[
    Knob {
        name: "slowlog-log-slower-than",
        default: "10000",
        doc: "Log commands slower than this many microseconds in the slow log; -1 disables, 0 logs all.",
        kind: int!(slowlog_log_slower_than, -1, i64::MAX),
        ..Knob::RUNTIME
    },
    Knob {
        name: "slowlog-max-len",
        default: "128",
        doc: "Entries kept in the slow log.",
        kind: int!(slowlog_max_len, 0, i64::MAX),
        ..Knob::RUNTIME
    },
    Knob {
        name: "latency-tracking",
        default: "yes",
        doc: "Keep per-command latency histograms (INFO latencystats).",
        kind: boolean!(latency_tracking),
        ..Knob::RUNTIME
    },
    Knob {
        name: "latency-tracking-info-percentiles",
        default: "50 99 99.9",
        doc: "Percentiles INFO latencystats reports.",
        kind: Kind::Custom {
            hint: "percentile [percentile ...]",
            get: |c| format_percentiles(&c.latency_tracking_info_percentiles),
            set: |c, v| {
                c.latency_tracking_info_percentiles = parse_percentiles(v)?;
                Ok(())
            },
        },
        ..Knob::RUNTIME
    },
    Knob {
        name: "latency-monitor-threshold",
        default: "0",
        doc: "Record events slower than this many milliseconds for LATENCY; 0 disables.",
        kind: int!(latency_monitor_threshold, 0, i64::MAX),
        ..Knob::RUNTIME
    },
    Knob {
        name: "notify-keyspace-events",
        default: "",
        doc: "Keyspace notification classes, Redis letters K E g $ l s h z x e t m d n A; empty disables.",
        kind: Kind::Custom {
            hint: "classes",
            get: |c| c.notify_keyspace_events.to_string(),
            set: |c, v| {
                c.notify_keyspace_events = KeyspaceEvents::parse(v)?;
                Ok(())
            },
        },
        ..Knob::RUNTIME
    },
];
