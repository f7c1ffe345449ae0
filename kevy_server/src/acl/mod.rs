//! Access control lists, as in Redis 7.0: named users with passwords
//! (stored as SHA-256 hex), command/category permissions, key patterns and
//! channel patterns; the per-command check the executor runs; AUTH for
//! named users; the ACL log and the `aclfile`.
//!
//! Invariant: a connection holds an `Arc<User>` snapshot and the registry
//! generation it was taken at. Every change to the registry bumps the
//! generation, so the next command of every connection re-reads its user:
//! ACL changes apply to connected clients, as in Redis. When the user is
//! the unrestricted `default`, the check is one atomic load and one branch.

pub mod file;
pub mod log;
pub mod rules;
pub mod sha256;
pub mod user;

use crate::conn::Session;
use crate::shared::Shared;
use bytes::Bytes;
use kevy_resp::Reply;
use parking_lot::{Mutex, RwLock};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
pub use user::{Denied, User};

/// The error every failed AUTH gets.
pub const WRONGPASS: &str = "WRONGPASS invalid username-password pair or user is disabled.";

/// Container commands whose first argument is a subcommand (`client|id`).
pub fn is_container(name: &str) -> bool {
    matches!(
        name,
        "client"
            | "config"
            | "command"
            | "object"
            | "pubsub"
            | "memory"
            | "slowlog"
            | "acl"
            | "latency"
            | "debug"
            | "script"
            | "function"
            | "cluster"
            | "xinfo"
            | "xgroup"
    )
}

/// The user registry.
pub struct Acl {
    users: RwLock<BTreeMap<String, Arc<User>>>,
    generation: AtomicU64,
    /// The `requirepass` last applied to the default user: CONFIG SET
    /// requirepass is noticed by comparing against it.
    seen_requirepass: Mutex<String>,
    /// `ACL LOG`.
    pub log: log::AclLog,
    /// `aclfile` (empty: none).
    pub path: String,
}

/// A connection's view of its user.
#[derive(Default)]
pub struct SessionAcl {
    /// The user as of `generation` (None until the first command).
    pub user: Option<Arc<User>>,
    /// Registry generation `user` was read at (0: never).
    pub generation: u64,
    /// `user` restricts nothing: the check is skipped.
    pub unrestricted: bool,
}

impl Acl {
    /// The registry at start-up: the default user (with `requirepass`
    /// as its password), then the users of the `aclfile` if there is one.
    pub fn start(
        cfg: &kevy_config::Config,
        table: &crate::table::CommandTable,
    ) -> Result<Acl, String> {
        let acl = Acl {
            users: RwLock::new(BTreeMap::new()),
            generation: AtomicU64::new(1),
            seen_requirepass: Mutex::new(String::new()),
            log: Default::default(),
            path: cfg.aclfile.clone(),
        };
        let mut users = BTreeMap::new();
        if !cfg.aclfile.is_empty() {
            users = file::load(&cfg.aclfile, table)?;
        }
        let mut default = match users.remove("default") {
            Some(d) => d,
            None => User::default_user(table.len()),
        };
        if !cfg.requirepass.is_empty() {
            default.nopass = false;
            default.passwords = vec![sha256::hex(cfg.requirepass.as_bytes())];
        }
        *acl.seen_requirepass.lock() = cfg.requirepass.clone();
        users.insert("default".to_string(), default);
        *acl.users.write() = users.into_iter().map(|(k, v)| (k, Arc::new(v))).collect();
        Ok(acl)
    }

    fn bump(&self) {
        self.generation.fetch_add(1, Ordering::Release);
    }

    /// Applies a runtime `CONFIG SET requirepass` to the default user, as
    /// Redis does: the old passwords go, the new one (or `nopass`) comes.
    pub fn sync_requirepass(&self, shared: &Shared) {
        let rp = shared.config.get().requirepass.clone();
        let mut seen = self.seen_requirepass.lock();
        if *seen == rp {
            return;
        }
        *seen = rp.clone();
        let mut users = self.users.write();
        if let Some(d) = users.get("default") {
            let mut d = User::clone(d);
            d.passwords.clear();
            d.nopass = rp.is_empty();
            if !rp.is_empty() {
                d.passwords.push(sha256::hex(rp.as_bytes()));
            }
            users.insert("default".into(), Arc::new(d));
        }
        drop(users);
        self.bump();
    }

    /// The user called `name`.
    pub fn get(&self, name: &str) -> Option<Arc<User>> {
        self.users.read().get(name).cloned()
    }

    /// Every user, by name.
    pub fn all(&self) -> Vec<Arc<User>> {
        self.users.read().values().cloned().collect()
    }

    /// Adds or replaces a user.
    pub fn put(&self, u: User) {
        self.users.write().insert(u.name.clone(), Arc::new(u));
        self.bump();
    }

    /// Removes the named users; returns how many existed.
    pub fn remove(&self, names: &[String]) -> usize {
        let mut users = self.users.write();
        let n = names
            .iter()
            .filter(|n| users.remove(n.as_str()).is_some())
            .count();
        drop(users);
        self.bump();
        n
    }

    /// Replaces every user (ACL LOAD).
    pub fn replace_all(&self, users: BTreeMap<String, User>) {
        *self.users.write() = users.into_iter().map(|(k, v)| (k, Arc::new(v))).collect();
        self.bump();
    }
}

/// The name of the user a client is authenticated as.
pub fn user_name(h: &crate::shared::ClientHandle) -> String {
    let n = h.user.lock();
    if n.is_empty() {
        "default".to_string()
    } else {
        n.clone()
    }
}

/// True when the default user needs no password (and is on): clients
/// start authenticated and unauthenticated ones may run commands.
pub fn default_nopass(shared: &Shared) -> bool {
    shared.acl.sync_requirepass(shared);
    shared
        .acl
        .get("default")
        .is_some_and(|d| d.nopass && d.enabled)
}

/// Re-reads the session's user after a registry change. A deleted user's
/// clients are closed (DELUSER closes them too; this covers the race).
fn refresh(shared: &Shared, sess: &mut Session, generation: u64) {
    let name = user_name(&sess.handle);
    sess.acl.user = shared.acl.get(&name);
    sess.acl.generation = generation;
    sess.acl.unrestricted = sess.acl.user.as_ref().is_some_and(|u| u.unrestricted());
    if sess.acl.user.is_none() {
        sess.close_after_reply = true;
    }
}

/// The executor's permission check for the command at `idx`: None when it
/// may run, else the NOPERM error (and an ACL LOG entry).
#[inline]
pub fn check(shared: &Shared, sess: &mut Session, idx: usize, argv: &[Bytes]) -> Option<Reply> {
    let g = shared.acl.generation.load(Ordering::Acquire);
    if sess.acl.generation != g {
        refresh(shared, sess, g);
    }
    if sess.acl.unrestricted {
        return None;
    }
    match &sess.acl.user {
        Some(u) => {
            let u = u.clone();
            let denied = u.check(&shared.commands, idx, argv).err()?;
            Some(deny(shared, sess, &u.name, denied))
        }
        None => Some(Reply::error(format!(
            "NOPERM this user has no permissions to run the '{}' command",
            shared.commands.get(idx).map_or("", |c| c.meta.name)
        ))),
    }
}

/// The permission check for a command a script calls: None when it may
/// run, else Redis's error for scripts (and an ACL LOG entry with context
/// `lua`).
pub fn check_script(
    shared: &Shared,
    sess: &mut Session,
    idx: usize,
    argv: &[Bytes],
) -> Option<Reply> {
    let g = shared.acl.generation.load(Ordering::Acquire);
    if sess.acl.generation != g {
        refresh(shared, sess, g);
    }
    if sess.acl.unrestricted {
        return None;
    }
    let u = sess.acl.user.clone()?;
    let denied = u.check(&shared.commands, idx, argv).err()?;
    let (reason, object, text) = match denied {
        Denied::Command(name) => (
            "command",
            name,
            "ERR The user executing the script can't run this command or subcommand",
        ),
        Denied::Key(k) => (
            "key",
            String::from_utf8_lossy(&k).into_owned(),
            "ERR The user executing the script can't access at least one of the keys mentioned in the command arguments",
        ),
        Denied::Channel(c) => (
            "channel",
            String::from_utf8_lossy(&c).into_owned(),
            "ERR The user executing the script can't publish to the channel mentioned in the command",
        ),
    };
    log_event(shared, sess, reason, "lua", object, u.name.clone());
    Some(Reply::error(text))
}

/// `redis.acl_check_cmd`: true if the session's user may run `argv`
/// (nothing is logged).
pub fn allowed(shared: &Shared, sess: &mut Session, idx: usize, argv: &[Bytes]) -> bool {
    let g = shared.acl.generation.load(Ordering::Acquire);
    if sess.acl.generation != g {
        refresh(shared, sess, g);
    }
    if sess.acl.unrestricted {
        return true;
    }
    sess.acl
        .user
        .as_ref()
        .is_some_and(|u| u.check(&shared.commands, idx, argv).is_ok())
}

fn deny(shared: &Shared, sess: &Session, user: &str, d: Denied) -> Reply {
    let context = if sess.multi.is_some() {
        "multi"
    } else {
        "toplevel"
    };
    let (reason, object, text) = match d {
        Denied::Command(name) => {
            let t = format!("NOPERM this user has no permissions to run the '{name}' command");
            ("command", name, t)
        }
        Denied::Key(k) => (
            "key",
            String::from_utf8_lossy(&k).into_owned(),
            "NOPERM this user has no permissions to access one of the keys used as arguments"
                .to_string(),
        ),
        Denied::Channel(c) => (
            "channel",
            String::from_utf8_lossy(&c).into_owned(),
            "NOPERM this user has no permissions to access one of the channels used as arguments"
                .to_string(),
        ),
    };
    log_event(shared, sess, reason, context, object, user.to_string());
    Reply::error(text)
}

fn log_event(
    shared: &Shared,
    sess: &Session,
    reason: &'static str,
    context: &'static str,
    object: String,
    username: String,
) {
    shared.acl.log.add(log::Entry {
        count: 1,
        reason,
        context,
        object,
        username,
        ctime: crate::shared::now_ms(),
        client_info: crate::cmd::client_line(shared, &sess.handle),
    });
}

/// AUTH / HELLO AUTH: on success the session becomes `user`'s; a failure
/// is logged and answered with WRONGPASS.
pub fn authenticate(
    shared: &Shared,
    sess: &mut Session,
    user: &[u8],
    pass: &[u8],
) -> Result<(), Reply> {
    shared.acl.sync_requirepass(shared);
    let name = String::from_utf8_lossy(user).into_owned();
    match shared.acl.get(&name) {
        Some(u) if u.password_ok(pass) => {
            *sess.handle.user.lock() = if name == "default" {
                String::new()
            } else {
                name
            };
            sess.acl.unrestricted = u.unrestricted();
            sess.acl.user = Some(u);
            sess.acl.generation = shared.acl.generation.load(Ordering::Acquire);
            sess.authenticated = true;
            Ok(())
        }
        _ => {
            log_event(shared, sess, "auth", "toplevel", "auth".to_string(), name);
            Err(Reply::error(WRONGPASS))
        }
    }
}

/// RESET: back to the default user.
pub fn reset_session(shared: &Shared, sess: &mut Session) {
    sess.handle.user.lock().clear();
    sess.acl = SessionAcl::default();
    sess.authenticated = default_nopass(shared);
}
