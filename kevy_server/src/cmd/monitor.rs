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
    env.sess.handle.monitoring.store(true, Ordering::Relaxed);
    let mut m = env.shared.monitors.write();
    if !m.iter().any(|s| s.id == sub.id) {
        m.push(sub);
        env.shared.monitor_count.store(m.len(), Ordering::Relaxed);
    }
    Reply::ok()
}

/// Stops monitoring for a client that closes or RESETs.
pub fn stop_monitor(shared: &Shared, id: u64) {
    if shared.monitor_count.load(Ordering::Relaxed) == 0 {
        return;
    }
    let mut m = shared.monitors.write();
    m.retain(|s| s.id != id);
    shared.monitor_count.store(m.len(), Ordering::Relaxed);
}

/// Sends the MONITOR line for `argv`, just run by `sess` (so the db shown
/// is the one after the command, as Redis shows it), to every monitor.
/// Admin commands and those flagged skip-monitor are not shown;
/// passwords (AUTH, HELLO ... AUTH) are redacted.
pub fn feed(shared: &Shared, sess: &Session, flags: u32, argv: &[Bytes]) {
    if shared.monitor_count.load(Ordering::Relaxed) == 0
        || flags & (SKIP_MONITOR | ADMIN) != 0
        || admin_subcommand(argv)
    {
        return;
    }
    send_line(shared, sess.db, &sess.handle.addr, argv);
}

/// Sends the MONITOR line of a script about to run (EVAL, FCALL, ...),
/// before the commands it calls: these are flagged skip-monitor, yet
/// Redis shows them, first.
pub fn feed_script(shared: &Shared, sess: &Session, argv: &[Bytes]) {
    if shared.monitor_count.load(Ordering::Relaxed) != 0 {
        send_line(shared, sess.db, &sess.handle.addr, argv);
    }
}

/// Sends the MONITOR line of a command a script called (`[db lua]`).
pub fn feed_lua(shared: &Shared, db: usize, flags: u32, argv: &[Bytes]) {
    if shared.monitor_count.load(Ordering::Relaxed) == 0
        || flags & (SKIP_MONITOR | ADMIN) != 0
        || admin_subcommand(argv)
    {
        return;
    }
    send_line(shared, db, "lua", argv);
}

fn send_line(shared: &Shared, db: usize, source: &str, argv: &[Bytes]) {
    let us = now_us();
    let mut line = format!(
        "+{}.{:06} [{} {}]",
        us / 1_000_000,
        us % 1_000_000,
        db,
        source
    )
    .into_bytes();
    let redact = redacted(argv);
    for (i, a) in argv.iter().enumerate() {
        line.extend_from_slice(b" \"");
        if redact(i) {
            line.extend_from_slice(b"(redacted)");
        } else {
            repr(a, &mut line);
        }
        line.push(b'"');
    }
    line.extend_from_slice(b"\r\n");
    // A monitor sees its own commands too (after their replies), as in Redis.
    for s in shared.monitors.read().iter() {
        if let Some(w) = shared.workers.get(s.worker) {
            w.send(Msg::Push {
                id: s.id,
                bytes: line.clone(),
            });
        }
    }
}

/// Subcommands Redis flags `admin` under containers that are not admin as a
/// whole (the flag Redis checks is the subcommand's).
fn admin_subcommand(argv: &[Bytes]) -> bool {
    let (Some(cmd), Some(sub)) = (argv.first(), argv.get(1)) else {
        return false;
    };
    let sub = sub.to_ascii_lowercase();
    if cmd.eq_ignore_ascii_case(b"config") {
        return true;
    }
    cmd.eq_ignore_ascii_case(b"client")
        && matches!(
            &sub[..],
            b"kill" | b"pause" | b"unpause" | b"list" | b"no-evict" | b"unblock"
        )
}

/// Which arguments Redis hides from MONITOR: every argument of AUTH, the
/// user name and password after HELLO's AUTH.
fn redacted(argv: &[Bytes]) -> impl Fn(usize) -> bool {
    let name = argv
        .first()
        .map(|a| a.to_ascii_lowercase())
        .unwrap_or_default();
    let mut hide = vec![false; argv.len()];
    if name == b"auth" {
        hide.iter_mut().skip(1).for_each(|h| *h = true);
    } else if name == b"hello" {
        if let Some(p) = argv.iter().position(|a| a.eq_ignore_ascii_case(b"auth")) {
            hide.iter_mut().skip(p + 1).take(2).for_each(|h| *h = true);
        }
    }
    move |i| hide.get(i).copied().unwrap_or(false)
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
