//! Memory knobs: the `maxmemory` limit, eviction, expiry effort and lazy
//! freeing.

use super::Knob;

pub(super) static KNOBS: &[Knob] = &[
    Knob {
        name: "maxmemory",
        default: "0",
        doc: "Memory limit for the dataset; when reached, maxmemory-policy applies. 0 means no limit.",
        kind: memory!(maxmemory, 0, u64::MAX),
        ..Knob::RUNTIME
    },
    Knob {
        name: "maxmemory-policy",
        default: "noeviction",
        doc: "Which keys to evict when maxmemory is reached; noeviction refuses writes instead.",
        kind: enumeration!(maxmemory_policy, crate::MaxmemoryPolicy),
        ..Knob::RUNTIME
    },
    Knob {
        name: "maxmemory-samples",
        default: "5",
        doc: "Keys sampled per eviction: more is more precise and slower.",
        kind: int!(maxmemory_samples, 1, i32::MAX),
        ..Knob::RUNTIME
    },
    Knob {
        name: "maxmemory-eviction-tenacity",
        default: "10",
        doc: "How long one eviction pass may run before the command goes on and the cron thread continues: 50 us per point up to 10, then +15% per point; 100 is unlimited.",
        kind: int!(maxmemory_eviction_tenacity, 0, 100),
        ..Knob::RUNTIME
    },
    Knob {
        name: "lfu-log-factor",
        default: "10",
        doc: "How many hits it takes to saturate the LFU counter (logarithmic).",
        kind: int!(lfu_log_factor, 0, i32::MAX),
        ..Knob::RUNTIME
    },
    Knob {
        name: "lfu-decay-time",
        default: "1",
        doc: "Minutes after which an idle key's LFU counter is halved; 0 never decays.",
        kind: int!(lfu_decay_time, 0, i32::MAX),
        ..Knob::RUNTIME
    },
    Knob {
        name: "active-expire-effort",
        default: "1",
        doc: "Effort of the background expiry cycle, 1 (cheap) to 10 (reclaims memory sooner).",
        kind: int!(active_expire_effort, 1, 10),
        ..Knob::RUNTIME
    },
    Knob {
        name: "activerehashing",
        default: "yes",
        doc: "Incrementally rehash the main dictionaries; accepted for compatibility.",
        kind: boolean!(activerehashing),
        compat: true,
        ..Knob::RUNTIME
    },
    Knob {
        name: "activedefrag",
        default: "no",
        doc: "Active memory defragmentation; accepted for compatibility.",
        kind: boolean!(activedefrag),
        compat: true,
        ..Knob::RUNTIME
    },
    Knob {
        name: "lazyfree-lazy-eviction",
        default: "no",
        doc: "Free evicted values in the background; accepted for compatibility.",
        kind: boolean!(lazyfree_lazy_eviction),
        compat: true,
        ..Knob::RUNTIME
    },
    Knob {
        name: "lazyfree-lazy-expire",
        default: "no",
        doc: "Free expired values in the background; accepted for compatibility.",
        kind: boolean!(lazyfree_lazy_expire),
        compat: true,
        ..Knob::RUNTIME
    },
    Knob {
        name: "lazyfree-lazy-server-del",
        default: "no",
        doc: "Free values overwritten by the server in the background; accepted for compatibility.",
        kind: boolean!(lazyfree_lazy_server_del),
        compat: true,
        ..Knob::RUNTIME
    },
    Knob {
        name: "lazyfree-lazy-user-del",
        default: "no",
        doc: "Make DEL behave like UNLINK; accepted for compatibility.",
        kind: boolean!(lazyfree_lazy_user_del),
        compat: true,
        ..Knob::RUNTIME
    },
    Knob {
        name: "lazyfree-lazy-user-flush",
        default: "no",
        doc: "Make FLUSHDB/FLUSHALL default to ASYNC; accepted for compatibility.",
        kind: boolean!(lazyfree_lazy_user_flush),
        compat: true,
        ..Knob::RUNTIME
    },
];
