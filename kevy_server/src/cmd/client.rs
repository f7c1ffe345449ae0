//! CLIENT and its subcommands: ID, SETNAME, GETNAME, LIST, INFO, KILL,
//! SETINFO, NO-EVICT, REPLY, HELP.

use super::client_info::{client_line, publish_state};
use super::{eq, help_reply, sub_arity, unknown_subcommand, Env, ServerCommand};
use crate::shared::{ClientHandle, Shared};
use bytes::Bytes;
use kevy_resp::Reply;
use kevy_store::spec::{acl, flags::*, CommandMeta, Keys};
use std::sync::atomic::Ordering;
use std::sync::Arc;

pub(crate) static COMMANDS: &[ServerCommand] = &[ServerCommand {
    meta: CommandMeta {
        name: "client",
        arity: -2,
        flags: NOSCRIPT | LOADING | STALE,
        acl: acl::CONNECTION,
        keys: Keys::None,
        group: "connection",
        summary: "A container for client connection commands.",
        since: "2.4.0",
        complexity: "Depends on subcommand.",
    },
    run: client,
}];

const HELP: &[&str] = &[
    "CACHING (YES|NO)",
    "    Enable/disable tracking of the keys for next command in OPTIN/OPTOUT modes.",
    "GETREDIR",
    "    Return the client ID we are redirecting to when tracking is enabled.",
    "GETNAME",
    "    Return the name of the current connection.",
    "ID",
    "    Return the ID of the current connection.",
    "INFO",
    "    Return information about the current client connection.",
    "KILL <ip:port>",
    "    Kill connection made from <ip:port>.",
    "KILL <option> <value> [<option> <value> [...]]",
    "    Kill connections. Options are:",
    "    * ADDR (<ip:port>|<unixsocket>:0)",
    "      Kill connections made from the specified address",
    "    * LADDR (<ip:port>|<unixsocket>:0)",
    "      Kill connections made to specified local address",
    "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
    "      Kill connections by type.",
    "    * USER <username>",
    "      Kill connections authenticated by <username>.",
    "    * SKIPME (YES|NO)",
    "      Skip killing current connection (default: yes).",
    "LIST [options ...]",
    "    Return information about client connections. Options:",
    "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
    "      Return clients of specified type.",
    "UNPAUSE",
    "    Stop the current client pause, resuming traffic.",
    "PAUSE <timeout> [WRITE|ALL]",
    "    Suspend all, or just write, clients for <timeout> milliseconds.",
    "REPLY (ON|OFF|SKIP)",
    "    Control the replies sent to the current connection.",
    "SETNAME <name>",
    "    Assign the name <name> to the current connection.",
    "UNBLOCK <clientid> [TIMEOUT|ERROR]",
    "    Unblock the specified blocked client.",
    "SETINFO <LIB-NAME|LIB-VER> <value>",
    "    Set client library name or version.",
    "TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]]",
    "         [OPTIN] [OPTOUT] [NOLOOP]",
    "    Control server assisted client side caching.",
    "TRACKINGINFO",
    "    Report tracking status for the current connection.",
    "NO-EVICT (ON|OFF)",
    "    Protect current client connection from eviction.",
];

/// Redis's rule for client names: printable ASCII without spaces.
pub fn valid_name(name: &[u8]) -> Result<(), Reply> {
    if name.iter().any(|&c| !(b'!'..=b'~').contains(&c)) {
        return Err(Reply::error(
            "ERR Client names cannot contain spaces, newlines or special characters.",
        ));
    }
    Ok(())
}

fn client(env: &mut Env<'_>, argv: &[Bytes]) -> Reply {
    let sub = &argv[1];
    let n = argv.len();
    let s = String::from_utf8_lossy(sub).to_lowercase();
    match s.as_str() {
        "help" if n == 2 => help_reply("client", HELP),
        "id" if n == 2 => Reply::Int(env.sess.id as i64),
        "getname" if n == 2 => {
            let name = env.sess.handle.name.lock().clone();
            if name.is_empty() {
                Reply::Nil
            } else {
                Reply::Bulk(Bytes::from(name))
            }
        }
        "setname" if n == 3 => match valid_name(&argv[2]) {
            Ok(()) => {
                *env.sess.handle.name.lock() = String::from_utf8_lossy(&argv[2]).into_owned();
                Reply::ok()
            }
            Err(e) => e,
        },
        "setinfo" if n == 4 => setinfo(env, &argv[2], &argv[3]),
        "info" if n == 2 => {
            publish_state(env.sess);
            let line = client_line(env.shared, &env.sess.handle) + "\n";
            Reply::Verbatim("txt", Bytes::from(line))
        }
        "list" => list(env, argv),
        "kill" if n >= 3 => kill(env, argv),
        "unblock" if n == 3 || n == 4 => unblock(env, argv),
        "pause" if n == 3 || n == 4 => pause(env, argv),
        "tracking" if n >= 3 => crate::tracking::client_tracking(env, argv),
        "trackinginfo" if n == 2 => tracking_info(env),
        "getredir" if n == 2 => {
            Reply::Int(env.sess.tracking.as_ref().map_or(-1, |m| m.redirect as i64))
        }
        "caching" if n == 3 => caching(env, &argv[2]),
        "unpause" if n == 2 => {
            env.shared.pause_until.store(0, Ordering::SeqCst);
            for w in &env.shared.workers {
                let _ = w.waker.wake();
            }
            Reply::ok()
        }
        "no-evict" if n == 3 => {
            if eq(&argv[2], "on") {
                env.sess.handle.no_evict.store(true, Ordering::Relaxed);
            } else if eq(&argv[2], "off") {
                env.sess.handle.no_evict.store(false, Ordering::Relaxed);
            } else {
                return Reply::error("ERR syntax error");
            }
            Reply::ok()
        }
        "reply" if n == 3 => {
            if eq(&argv[2], "on") {
                env.sess.reply_mode = 0;
                Reply::ok()
            } else if eq(&argv[2], "off") {
                env.sess.reply_mode = 1;
                Reply::ok()
            } else if eq(&argv[2], "skip") {
                env.sess.reply_mode = 2;
                Reply::ok()
            } else {
                Reply::error("ERR syntax error")
            }
        }
        "help" | "id" | "getname" | "setname" | "setinfo" | "info" | "kill" | "no-evict"
        | "reply" | "unblock" | "pause" | "unpause" | "tracking" | "trackinginfo" | "getredir"
        | "caching" => sub_arity("client", sub),
        _ => unknown_subcommand("client", sub),
    }
}

fn setinfo(env: &mut Env<'_>, attr: &[u8], value: &[u8]) -> Reply {
    if value.iter().any(|&c| !(b'!'..=b'~').contains(&c)) {
        return Reply::error(format!(
            "ERR {} cannot contain spaces, newlines or special characters.",
            String::from_utf8_lossy(attr)
        ));
    }
    let v = String::from_utf8_lossy(value).into_owned();
    let mut lib = env.sess.handle.lib.lock();
    if eq(attr, "lib-name") {
        lib.0 = v;
    } else if eq(attr, "lib-ver") {
        lib.1 = v;
    } else {
        return Reply::error(format!(
            "ERR Unrecognized option '{}'",
            String::from_utf8_lossy(attr)
        ));
    }
    Reply::ok()
}

fn kind_name(h: &ClientHandle) -> &'static str {
    match h.kind.load(Ordering::Relaxed) {
        1 => "pubsub",
        2 => "master",
        3 => "replica",
        _ => "normal",
    }
}

fn snapshot_clients(shared: &Shared) -> Vec<Arc<ClientHandle>> {
    shared.clients.lock().values().cloned().collect()
}

/// `CLIENT LIST [TYPE type] [ID id [id ...]]`
fn list(env: &mut Env<'_>, argv: &[Bytes]) -> Reply {
    publish_state(env.sess);
    let mut ty: Option<String> = None;
    let mut ids: Option<Vec<u64>> = None;
    let mut i = 2;
    while i < argv.len() {
        if eq(&argv[i], "type") && i + 1 < argv.len() {
            let t = String::from_utf8_lossy(&argv[i + 1]).to_lowercase();
            let t = if t == "slave" {
                "replica".to_string()
            } else {
                t
            };
            if !["normal", "master", "replica", "pubsub"].contains(&t.as_str()) {
                return Reply::error(format!(
                    "ERR Unknown client type '{}'",
                    String::from_utf8_lossy(&argv[i + 1])
                ));
            }
            ty = Some(t);
            i += 2;
        } else if eq(&argv[i], "id") && i + 1 < argv.len() {
            let mut v = Vec::new();
            for a in &argv[i + 1..] {
                match kevy_store::parse_i64(a) {
                    Some(n) if n > 0 => v.push(n as u64),
                    _ => return Reply::error("ERR Invalid client ID"),
                }
            }
            ids = Some(v);
            i = argv.len();
        } else {
            return Reply::error("ERR syntax error");
        }
    }
    let mut out = String::new();
    for h in snapshot_clients(env.shared) {
        if ty.as_deref().is_some_and(|t| t != kind_name(&h)) {
            continue;
        }
        if ids.as_ref().is_some_and(|v| !v.contains(&h.id)) {
            continue;
        }
        out.push_str(&client_line(env.shared, &h));
        out.push('\n');
    }
    Reply::Verbatim("txt", Bytes::from(out))
}

/// `CLIENT KILL ip:port` or `CLIENT KILL <filter> <value> ...`
fn kill(env: &mut Env<'_>, argv: &[Bytes]) -> Reply {
    if argv.len() == 3 {
        let addr = String::from_utf8_lossy(&argv[2]).into_owned();
        let found = snapshot_clients(env.shared)
            .into_iter()
            .find(|h| h.addr == addr);
        return match found {
            Some(h) => {
                kill_one(env, &h);
                Reply::ok()
            }
            None => Reply::error("ERR No such client"),
        };
    }
    if argv.len() % 2 != 0 {
        return Reply::error("ERR syntax error");
    }
    let mut id = None;
    let mut addr = None;
    let mut laddr = None;
    let mut ty = None;
    let mut user = None;
    let mut skipme = true;
    for pair in argv[2..].chunks(2) {
        let (k, v) = (&pair[0], &pair[1]);
        let vs = String::from_utf8_lossy(v).into_owned();
        if eq(k, "id") {
            match kevy_store::parse_i64(v) {
                Some(n) if n > 0 => id = Some(n as u64),
                _ => return Reply::error("ERR client-id should be greater than 0"),
            }
        } else if eq(k, "addr") {
            addr = Some(vs);
        } else if eq(k, "laddr") {
            laddr = Some(vs);
        } else if eq(k, "type") {
            let t = vs.to_lowercase();
            let t = if t == "slave" {
                "replica".to_string()
            } else {
                t
            };
            if !["normal", "master", "replica", "pubsub"].contains(&t.as_str()) {
                return Reply::error(format!("ERR Unknown client type '{vs}'"));
            }
            ty = Some(t);
        } else if eq(k, "user") {
            if env.shared.acl.get(&vs).is_none() {
                return Reply::error(format!("ERR No such user '{vs}'"));
            }
            user = Some(vs);
        } else if eq(k, "skipme") {
            if eq(v, "yes") {
                skipme = true;
            } else if eq(v, "no") {
                skipme = false;
            } else {
                return Reply::error("ERR syntax error");
            }
        } else {
            return Reply::error("ERR syntax error");
        }
    }
    let mut killed = 0;
    for h in snapshot_clients(env.shared) {
        let matches = id.is_none_or(|i| i == h.id)
            && addr.as_ref().is_none_or(|a| *a == h.addr)
            && laddr.as_ref().is_none_or(|a| *a == h.laddr)
            && ty.as_ref().is_none_or(|t| t == kind_name(&h))
            && user
                .as_ref()
                .is_none_or(|u| *u == crate::acl::user_name(&h));
        if !matches || (skipme && h.id == env.sess.id) {
            continue;
        }
        kill_one(env, &h);
        killed += 1;
    }
    Reply::Int(killed)
}

fn kill_one(env: &mut Env<'_>, h: &ClientHandle) {
    if h.id == env.sess.id {
        env.sess.close_after_reply = true;
    } else {
        env.shared.kill_client(h.id);
    }
}

/// `CLIENT UNBLOCK id [TIMEOUT|ERROR]`: answers a parked client as if its
/// timeout had passed, or with an UNBLOCKED error. Replies 1 if it was parked.
fn unblock(env: &mut Env<'_>, argv: &[Bytes]) -> Reply {
    let Some(id) = kevy_store::parse_i64(&argv[2]) else {
        return Reply::error("ERR value is not an integer or out of range");
    };
    let as_error = if argv.len() == 4 {
        if eq(&argv[3], "error") {
            true
        } else if eq(&argv[3], "timeout") {
            false
        } else {
            return Reply::error("ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR");
        }
    } else {
        false
    };
    let Some(w) = env.shared.blocking.claim(id as u64) else {
        return Reply::Int(0);
    };
    let reply = if as_error {
        Reply::error("UNBLOCKED client unblocked via CLIENT UNBLOCK")
    } else {
        w.timeout_reply()
    };
    let mut buf = Vec::new();
    kevy_resp::encode(&reply, w.proto, &mut buf);
    if let Some(worker) = env.shared.workers.get(w.worker) {
        worker.send(crate::shared::Msg::Unblock {
            id: w.id,
            reply: buf,
        });
    }
    Reply::Int(1)
}

/// `CLIENT PAUSE timeout [WRITE|ALL]`
fn pause(env: &mut Env<'_>, argv: &[Bytes]) -> Reply {
    let timeout = match kevy_store::parse_i64(&argv[2]) {
        Some(t) if t >= 0 => t as u64,
        Some(_) => return Reply::error("ERR timeout is negative"),
        None => return Reply::error("ERR timeout is not an integer or out of range"),
    };
    let writes_only = match argv.get(3) {
        None => false,
        Some(m) if eq(m, "all") => false,
        Some(m) if eq(m, "write") => true,
        Some(_) => return Reply::error("ERR CLIENT PAUSE mode must be WRITE or ALL"),
    };
    let until = crate::shared::now_ms() + timeout;
    let sh = env.shared;
    // A pause never shortens one in force; ALL wins over WRITE while both last.
    if until >= sh.pause_until.load(Ordering::SeqCst) || !writes_only {
        sh.pause_writes_only.store(writes_only, Ordering::SeqCst);
    }
    sh.pause_until.fetch_max(until, Ordering::SeqCst);
    Reply::ok()
}

/// `CLIENT CACHING YES|NO`
fn caching(env: &mut Env<'_>, v: &[u8]) -> Reply {
    let Some(mode) = &env.sess.tracking else {
        return Reply::error("ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled");
    };
    if eq(v, "yes") {
        if !mode.optin {
            return Reply::error(
                "ERR CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode.",
            );
        }
        env.sess.caching = Some(true);
    } else if eq(v, "no") {
        if !mode.optout {
            return Reply::error(
                "ERR CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode.",
            );
        }
        env.sess.caching = Some(false);
    } else {
        return Reply::error("ERR syntax error");
    }
    Reply::ok()
}

/// `CLIENT TRACKINGINFO`
fn tracking_info(env: &mut Env<'_>) -> Reply {
    let b = |s: &'static str| Reply::Bulk(Bytes::from_static(s.as_bytes()));
    let (flags, redirect, prefixes) = match &env.sess.tracking {
        None => (vec![b("off")], -1, vec![]),
        Some(m) => {
            let mut f = vec![b("on")];
            if m.bcast {
                f.push(b("bcast"));
            }
            if m.optin {
                f.push(b("optin"));
            }
            if m.optout {
                f.push(b("optout"));
            }
            match env.sess.caching {
                Some(true) => f.push(b("caching-yes")),
                Some(false) => f.push(b("caching-no")),
                None => {}
            }
            if m.noloop {
                f.push(b("noloop"));
            }
            if m.broken.load(Ordering::Relaxed) {
                f.push(b("broken_redirect"));
            }
            (
                f,
                m.redirect as i64,
                m.prefixes.iter().cloned().map(Reply::Bulk).collect(),
            )
        }
    };
    Reply::Map(vec![
        (b("flags"), Reply::Set(flags)),
        (b("redirect"), Reply::Int(redirect)),
        (b("prefixes"), Reply::Array(prefixes)),
    ])
}
