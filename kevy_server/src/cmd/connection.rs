//! Connection commands: PING, ECHO, QUIT, SELECT, HELLO, RESET, AUTH.

use super::{eq, Env, ServerCommand};
use bytes::Bytes;
use kevy_resp::{Protocol, Reply};
use kevy_store::spec::{acl, flags::*, CommandMeta, Keys};
use std::sync::atomic::Ordering;

const fn meta(
    name: &'static str,
    arity: i16,
    flags: u32,
    summary: &'static str,
    since: &'static str,
) -> CommandMeta {
    CommandMeta {
        name,
        arity,
        flags,
        acl: acl::CONNECTION,
        keys: Keys::None,
        group: "connection",
        summary,
        since,
        complexity: "O(1)",
    }
}

pub(crate) static COMMANDS: &[ServerCommand] = &[
    ServerCommand {
        meta: meta(
            "ping",
            -1,
            FAST,
            "Returns the server's liveliness response.",
            "1.0.0",
        ),
        run: ping,
    },
    ServerCommand {
        meta: meta("echo", 2, FAST, "Returns the given string.", "1.0.0"),
        run: echo,
    },
    ServerCommand {
        meta: meta(
            "quit",
            -1,
            ALLOW_BUSY | NOSCRIPT | LOADING | STALE | FAST | NO_AUTH,
            "Closes the connection.",
            "1.0.0",
        ),
        run: quit,
    },
    ServerCommand {
        meta: meta(
            "select",
            2,
            LOADING | STALE | FAST,
            "Changes the selected database.",
            "2.0.0",
        ),
        run: select,
    },
    ServerCommand {
        meta: meta(
            "hello",
            -1,
            NOSCRIPT | LOADING | STALE | FAST | NO_AUTH | ALLOW_BUSY,
            "Handshakes with the Redis server.",
            "6.0.0",
        ),
        run: hello,
    },
    ServerCommand {
        meta: meta(
            "reset",
            1,
            NOSCRIPT | LOADING | STALE | FAST | NO_AUTH | ALLOW_BUSY,
            "Resets the connection.",
            "6.2.0",
        ),
        run: reset,
    },
    ServerCommand {
        meta: meta(
            "auth",
            -2,
            NOSCRIPT | LOADING | STALE | FAST | NO_AUTH | ALLOW_BUSY,
            "Authenticates the connection.",
            "1.0.0",
        ),
        run: auth,
    },
];

/// `PING [message]`
fn ping(env: &mut Env<'_>, argv: &[Bytes]) -> Reply {
    if super::in_subscribed_mode(env.sess) {
        let msg = argv.get(1).cloned().unwrap_or_default();
        return Reply::Array(vec![
            Reply::Bulk(Bytes::from_static(b"pong")),
            Reply::Bulk(msg),
        ]);
    }
    match argv.len() {
        1 => Reply::simple("PONG"),
        2 => Reply::Bulk(argv[1].clone()),
        _ => Reply::error(kevy_store::arity_error("ping")),
    }
}

/// `ECHO message`
fn echo(_: &mut Env<'_>, argv: &[Bytes]) -> Reply {
    Reply::Bulk(argv[1].clone())
}

/// `QUIT`: replies OK, then the connection closes.
fn quit(env: &mut Env<'_>, _: &[Bytes]) -> Reply {
    env.sess.close_after_reply = true;
    Reply::ok()
}

/// `SELECT index`
fn select(env: &mut Env<'_>, argv: &[Bytes]) -> Reply {
    let Some(n) = kevy_store::parse_i64(&argv[1]) else {
        return Reply::error("ERR value is not an integer or out of range");
    };
    if n < 0 || n as usize >= env.shared.store.ndbs() {
        return Reply::error("ERR DB index is out of range");
    }
    env.sess.db = n as usize;
    env.sess.handle.db.store(n as usize, Ordering::Relaxed);
    Reply::ok()
}

/// `HELLO [protover [AUTH username password] [SETNAME clientname]]`
fn hello(env: &mut Env<'_>, argv: &[Bytes]) -> Reply {
    let mut proto = env.sess.proto;
    let mut i = 1;
    if argv.len() > 1 {
        match kevy_store::parse_i64(&argv[1]) {
            Some(2) => proto = Protocol::Resp2,
            Some(3) => proto = Protocol::Resp3,
            Some(_) => return Reply::error("NOPROTO unsupported protocol version"),
            None => return Reply::error("ERR Protocol version is not an integer or out of range"),
        }
        i = 2;
    }
    let mut setname = None;
    while i < argv.len() {
        let more = argv.len() - i - 1;
        if eq(&argv[i], "auth") && more >= 2 {
            let pass = &argv[i + 2];
            if let Err(e) = check_password(env, &argv[i + 1], pass) {
                return e;
            }
            env.sess.authenticated = true;
            i += 3;
        } else if eq(&argv[i], "setname") && more >= 1 {
            if let Err(e) = super::client::valid_name(&argv[i + 1]) {
                return e;
            }
            setname = Some(argv[i + 1].clone());
            i += 2;
        } else {
            return Reply::error(format!(
                "ERR Syntax error in HELLO option '{}'",
                String::from_utf8_lossy(&argv[i])
            ));
        }
    }
    if !env.sess.authenticated {
        return Reply::error("NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time");
    }
    if let Some(n) = setname {
        *env.sess.handle.name.lock() = String::from_utf8_lossy(&n).into_owned();
    }
    env.sess.proto = proto;
    env.sess.handle.resp.store(
        if proto == Protocol::Resp3 { 3 } else { 2 },
        Ordering::Relaxed,
    );
    let s = |t: &str| Reply::Bulk(Bytes::from(t.to_string()));
    Reply::Map(vec![
        (s("server"), s("redis")),
        (s("version"), s(crate::REDIS_VERSION)),
        (
            s("proto"),
            Reply::Int(if proto == Protocol::Resp3 { 3 } else { 2 }),
        ),
        (s("id"), Reply::Int(env.sess.id as i64)),
        (s("mode"), s("standalone")),
        (s("role"), s("master")),
        (s("modules"), Reply::Array(vec![])),
    ])
}

fn check_password(env: &mut Env<'_>, user: &[u8], pass: &[u8]) -> Result<(), Reply> {
    crate::acl::authenticate(env.shared, env.sess, user, pass)
}

/// `AUTH [username] password`
fn auth(env: &mut Env<'_>, argv: &[Bytes]) -> Reply {
    if argv.len() > 3 {
        return Reply::error("ERR syntax error");
    }
    let no_pass = crate::acl::default_nopass(env.shared);
    if argv.len() == 2 && no_pass {
        return Reply::error(
            "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?",
        );
    }
    let (user, pass) = if argv.len() == 3 {
        (&argv[1][..], &argv[2][..])
    } else {
        (&b"default"[..], &argv[1][..])
    };
    match check_password(env, user, pass) {
        Ok(()) => Reply::ok(),
        Err(e) => e,
    }
}

/// `RESET`: back to a fresh connection's state.
fn reset(env: &mut Env<'_>, _: &[Bytes]) -> Reply {
    env.sess.multi = None;
    env.sess.multi_dirty = false;
    super::unwatch_all(env.shared, env.sess);
    super::unsubscribe_all(env.shared, env.sess);
    if env.sess.tracking.take().is_some() {
        env.shared.tracking.disable(env.sess.id);
    }
    env.sess.caching = None;
    crate::acl::reset_session(env.shared, env.sess);
    env.sess.db = 0;
    env.sess.proto = Protocol::Resp2;
    env.sess.reply_mode = 0;
    env.sess.handle.db.store(0, Ordering::Relaxed);
    env.sess.handle.resp.store(2, Ordering::Relaxed);
    env.sess.handle.name.lock().clear();
    env.sess.handle.no_evict.store(false, Ordering::Relaxed);
    if env.sess.handle.monitoring.swap(false, Ordering::Relaxed) {
        super::stop_monitor(env.shared, env.sess.id);
    }
    Reply::simple("RESET")
}
