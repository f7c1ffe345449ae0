//! MONITOR: stream every command the server runs to the monitoring clients,
//! in Redis's line format.

use super::{Env, ServerCommand};
use crate::conn::Session;
use crate::pubsub::Sub;
use crate::shared::{now_us, Msg, Shared};
use bytes::Bytes;
use kevy_resp::Reply;
use kevy_store::spec::{flags::*, CommandMeta, Keys};
use std::sync::atomic::Ordering;

pub(crate) static COMMANDS: &[ServerCommand] = &[ServerCommand {
    meta: CommandMeta {
        name: "monitor",
        arity: 1,
        flags: ADMIN | NOSCRIPT | LOADING | STALE,
        acl: 0,
        keys: Keys::None,
        group: "server",
        summary: "Listens for all requests received by the server in real-time.",
        since: "1.0.0",
        complexity: "",
    },
    run: monitor,
}];

/// `MONITOR`
fn monitor(env: &mut Env<'_>, _: &[Bytes]) -> Reply {
    let sub = Sub {
        id: env.sess.id,
        worker: env.sess.handle.worker,
        handle: env.sess.handle.clone(),
    };
    let mut m = env.shared.monitors.write();
    if !m.iter().any(|s| s.id == sub.id) {
        m.push(sub);
        env.shared.monitor_count.store(m.len(), Ordering::Relaxed);
    }
    Reply::ok()
}

/// Stops monitoring for a closing client.
pub fn stop_monitor(shared: &Shared, id: u64) {
    if shared.monitor_count.load(Ordering::Relaxed) == 0 {
        return;
    }
    let mut m = shared.monitors.write();
    m.retain(|s| s.id != id);
    shared.monitor_count.store(m.len(), Ordering::Relaxed);
}

/// Sends the MONITOR line for `argv` run by `sess` to every monitor.
pub fn feed(shared: &Shared, sess: &Session, argv: &[Bytes]) {
    let us = now_us();
    let mut line = format!(
        "+{}.{:06} [{} {}]",
        us / 1_000_000,
        us % 1_000_000,
        sess.db,
        sess.handle.addr
    )
    .into_bytes();
    for a in argv {
        line.extend_from_slice(b" \"");
        repr(a, &mut line);
        line.push(b'"');
    }
    line.extend_from_slice(b"\r\n");
    for s in shared.monitors.read().iter() {
        if s.id == sess.id {
            continue;
        }
        if let Some(w) = shared.workers.get(s.worker) {
            w.send(Msg::Push {
                id: s.id,
                bytes: line.clone(),
            });
        }
    }
}

/// Redis's `sdscatrepr` escaping, without the surrounding quotes.
fn repr(b: &[u8], out: &mut Vec<u8>) {
    for &c in b {
        match c {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'"' => out.extend_from_slice(b"\\\""),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            7 => out.extend_from_slice(b"\\a"),
            8 => out.extend_from_slice(b"\\b"),
            c if c.is_ascii_graphic() || c == b' ' => out.push(c),
            c => out.extend_from_slice(format!("\\x{c:02x}").as_bytes()),
        }
    }
}
