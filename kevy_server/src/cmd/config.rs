//! CONFIG GET|SET|RESETSTAT|REWRITE|HELP over the live configuration.

use super::{eq, help_reply, sub_arity, unknown_subcommand, Env, ServerCommand};
use bytes::Bytes;
use kevy_resp::Reply;
use kevy_store::spec::{acl, CommandMeta, Keys};
use std::sync::atomic::Ordering::Relaxed;

pub(crate) static COMMANDS: &[ServerCommand] = &[ServerCommand {
    meta: CommandMeta {
        name: "config",
        arity: -2,
        flags: 0,
        acl: acl::SLOW,
        keys: Keys::None,
        group: "server",
        summary: "A container for server configuration commands.",
        since: "2.0.0",
        complexity: "Depends on subcommand.",
    },
    run: config,
}];

const HELP: &[&str] = &[
    "GET <pattern>",
    "    Return parameters matching the glob-like <pattern> and their values.",
    "SET <directive> <value>",
    "    Set the configuration <directive> to <value>.",
    "RESETSTAT",
    "    Reset statistics reported by the INFO command.",
    "REWRITE",
    "    Rewrite the configuration file.",
];

fn config(env: &mut Env<'_>, argv: &[Bytes]) -> Reply {
    let sub = &argv[1];
    let n = argv.len();
    let live = &env.shared.config;
    if eq(sub, "help") && n == 2 {
        help_reply("config", HELP)
    } else if eq(sub, "get") && n >= 3 {
        let pats: Vec<&[u8]> = argv[2..].iter().map(|b| &b[..]).collect();
        let pairs = live.config_get(&pats);
        Reply::Map(
            pairs
                .into_iter()
                .map(|(k, v)| (Reply::Bulk(Bytes::from(k)), Reply::Bulk(Bytes::from(v))))
                .collect(),
        )
    } else if eq(sub, "set") && n >= 4 && n % 2 == 1 {
        Reply::error("ERR syntax error")
    } else if eq(sub, "set") && n >= 4 {
        let pairs: Vec<(&[u8], &[u8])> = argv[2..]
            .chunks(2)
            .map(|p| (&p[0][..], &p[1][..]))
            .collect();
        match live.config_set(&pairs) {
            Ok(names) => {
                env.shared
                    .persist
                    .on_config_change(&env.shared.store, &live.get(), &names);
                Reply::ok()
            }
            Err(e) => Reply::error(e),
        }
    } else if eq(sub, "resetstat") && n == 2 {
        reset_stats(env);
        Reply::ok()
    } else if eq(sub, "rewrite") && n == 2 {
        match live.rewrite() {
            Ok(()) => Reply::ok(),
            Err(e) => Reply::error(e),
        }
    } else if ["help", "get", "set", "resetstat", "rewrite"]
        .iter()
        .any(|s| eq(sub, s))
    {
        sub_arity("config", sub)
    } else {
        unknown_subcommand("config", sub)
    }
}

fn reset_stats(env: &mut Env<'_>) {
    let st = &env.shared.stats;
    for a in [
        &st.total_connections_received,
        &st.total_commands_processed,
        &st.rejected_connections,
        &st.net_input_bytes,
        &st.net_output_bytes,
        &st.expired_keys,
        &st.keyspace_hits,
        &st.keyspace_misses,
        &st.total_error_replies,
    ] {
        a.store(0, Relaxed);
    }
    st.errors.lock().clear();
    env.shared.latencies.reset();
    for c in env.shared.commands.iter() {
        c.stats.calls.store(0, Relaxed);
        c.stats.usec.store(0, Relaxed);
        c.stats.rejected.store(0, Relaxed);
        c.stats.failed.store(0, Relaxed);
    }
}
