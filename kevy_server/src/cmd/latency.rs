//! LATENCY LATEST|HISTORY|RESET|DOCTOR|HELP over the latency monitor
//! (`crate::latency`). GRAPH and HISTOGRAM are not implemented: they answer
//! an error that says so.

use super::{eq, help_reply, sub_arity, unknown_subcommand, Env, ServerCommand};
use bytes::Bytes;
use kevy_resp::Reply;
use kevy_store::spec::{CommandMeta, Keys};
use std::fmt::Write as _;

pub(crate) static COMMANDS: &[ServerCommand] = &[ServerCommand {
    meta: CommandMeta {
        name: "latency",
        arity: -2,
        flags: 0,
        acl: 0,
        keys: Keys::None,
        group: "server",
        summary: "A container for latency diagnostics commands.",
        since: "2.8.13",
        complexity: "Depends on subcommand.",
    },
    run: latency,
}];

const HELP: &[&str] = &[
    "DOCTOR",
    "    Return a human readable latency analysis report.",
    "GRAPH <event>",
    "    Return an ASCII latency graph for the <event> class.",
    "HISTORY <event>",
    "    Return time-latency samples for the <event> class.",
    "LATEST",
    "    Return the latest latency samples for all events.",
    "RESET [<event> ...]",
    "    Reset latency data of one or more <event> classes.",
    "    (default: reset all data for all event classes)",
    "HISTOGRAM [COMMAND ...]",
    "    Return a cumulative distribution of latencies in the format of a histogram for the specified command names.",
    "    If no commands are specified then all histograms are replied.",
];

const DISABLED: &str = "I'm sorry, Dave, I can't do that. Latency monitoring is disabled in this Redis instance. You may use \"CONFIG SET latency-monitor-threshold <milliseconds>.\" in order to enable it. If we weren't in a deep space mission I'd suggest to take a look at https://redis.io/topics/latency-monitor.\n";
const NO_SPIKES: &str = "Dave, no latency spike was observed during the lifetime of this Redis instance, not in the slightest bit. I honestly think you ought to sit down calmly, take a stress pill, and think things over.\n";

fn latency(env: &mut Env<'_>, argv: &[Bytes]) -> Reply {
    let sub = &argv[1];
    let n = argv.len();
    let mon = &env.shared.latency_monitor;
    if eq(sub, "help") && n == 2 {
        help_reply("latency", HELP)
    } else if eq(sub, "latest") && n == 2 {
        Reply::Array(
            mon.all()
                .into_iter()
                .filter_map(|(name, s)| {
                    let &(t, ms) = s.samples.back()?;
                    Some(Reply::Array(vec![
                        Reply::Bulk(Bytes::from_static(name.as_bytes())),
                        Reply::Int(t as i64),
                        Reply::Int(ms as i64),
                        Reply::Int(s.max as i64),
                    ]))
                })
                .collect(),
        )
    } else if eq(sub, "history") && n == 3 {
        let samples = mon.get(&argv[2]).map(|s| s.samples).unwrap_or_default();
        Reply::Array(
            samples
                .into_iter()
                .map(|(t, ms)| Reply::Array(vec![Reply::Int(t as i64), Reply::Int(ms as i64)]))
                .collect(),
        )
    } else if eq(sub, "reset") {
        let names: Vec<&[u8]> = argv[2..].iter().map(|a| &a[..]).collect();
        Reply::Int(mon.reset(&names) as i64)
    } else if eq(sub, "doctor") && n == 2 {
        Reply::Verbatim("txt", Bytes::from(doctor(env)))
    } else if (eq(sub, "graph") && n == 3) || eq(sub, "histogram") {
        Reply::error(format!(
            "ERR LATENCY {} is not implemented in kevy",
            String::from_utf8_lossy(sub).to_uppercase()
        ))
    } else if ["help", "latest", "history", "doctor", "graph"]
        .iter()
        .any(|s| eq(sub, s))
    {
        sub_arity("latency", sub)
    } else {
        unknown_subcommand("latency", sub)
    }
}

/// The report: Redis's texts when monitoring is off or nothing was seen;
/// otherwise Redis's per-event statistics lines (without its advice).
fn doctor(env: &Env<'_>) -> String {
    let events = env.shared.latency_monitor.all();
    if events.is_empty() {
        let on = env.shared.config.get().latency_monitor_threshold > 0;
        return if on { NO_SPIKES } else { DISABLED }.to_string();
    }
    let mut out = String::from(
        "Dave, I have observed latency spikes in this Redis instance. You don't mind talking about it, do you Dave?\n\n",
    );
    for (i, (name, s)) in events.iter().enumerate() {
        let n = s.samples.len().max(1) as u64;
        let avg = s.samples.iter().map(|x| x.1).sum::<u64>() / n;
        let mad = s.samples.iter().map(|x| x.1.abs_diff(avg)).sum::<u64>() / n;
        let period = match (s.samples.front(), s.samples.back()) {
            (Some(a), Some(b)) if s.samples.len() > 1 => {
                (b.0 - a.0) as f64 / (s.samples.len() - 1) as f64
            }
            _ => 0.0,
        };
        let _ = writeln!(
            out,
            "{}. {}: {} latency spikes (average {}ms, mean deviation {}ms, period {:.2} sec). Worst all time event {}ms.",
            i + 1,
            name,
            s.samples.len(),
            avg,
            mad,
            period,
            s.max
        );
    }
    out
}
