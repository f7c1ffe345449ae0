//! Limit knobs: how big a request, a query buffer or an output buffer may
//! grow, and when a long-running command is reported busy.

use super::{Kind, Knob};

const MB: u64 = 1024 * 1024;

pub(super) static KNOBS: &[Knob] = &[
    Knob {
        name: "proto-max-bulk-len",
        default: "512mb",
        doc: "Largest bulk string a client may send.",
        kind: memory!(proto_max_bulk_len, MB, i64::MAX),
        ..Knob::RUNTIME
    },
    Knob {
        name: "client-query-buffer-limit",
        default: "1gb",
        doc: "Close a client whose unparsed input exceeds this.",
        kind: memory!(client_query_buffer_limit, MB, i64::MAX),
        ..Knob::RUNTIME
    },
    Knob {
        name: "client-output-buffer-limit",
        default: "normal 0 0 0 slave 256mb 64mb 60 pubsub 32mb 8mb 60",
        doc: "Per class (normal, replica, pubsub): close a client whose pending output exceeds hard, or soft for seconds.",
        kind: Kind::Custom {
            hint: "class hard soft seconds [class hard soft seconds ...]",
            get: |c| c.client_output_buffer_limit.to_string(),
            set: |c, v| {
                c.client_output_buffer_limit = c.client_output_buffer_limit.parse_onto(v)?;
                Ok(())
            },
        },
        ..Knob::RUNTIME
    },
    Knob {
        name: "busy-reply-threshold",
        aliases: &["lua-time-limit"],
        default: "5000",
        doc: "Milliseconds after which a running script makes other clients get BUSY; accepted for compatibility.",
        kind: int!(busy_reply_threshold, 0, i64::MAX),
        compat: true,
        ..Knob::RUNTIME
    },
];

#[cfg(test)]
mod tests {
    #[test]
    fn output_limits_default_prints_like_redis() {
        let c = crate::Config::default();
        assert_eq!(
            c.client_output_buffer_limit.to_string(),
            "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60"
        );
    }
}
