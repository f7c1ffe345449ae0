//! The server's own commands (connection, client, introspection, config,
//! server control): the ones that need the connection or the server rather
//! than the keyspace. One file per family, each exporting `COMMANDS`.

use crate::conn::Session;
use crate::shared::Shared;
use bytes::Bytes;
use kevy_resp::Reply;
use kevy_store::spec::CommandMeta;

mod acl;
mod client;
mod client_info;
mod cluster;
mod command;
mod config;
mod connection;
pub(crate) mod functions;
mod info;
mod latency;
mod memory;
mod monitor;
mod persistence;
mod pubsub;
mod replication;
pub(crate) mod scripting;
mod server;
mod slowlog;
mod tx;

pub use client_info::{client_line, publish_state};
pub use monitor::{
    feed as monitor_feed, feed_lua as monitor_feed_lua, feed_script as monitor_feed_script,
    stop_monitor,
};
pub use pubsub::{allowed_in_subscribed_mode, in_subscribed_mode, unsubscribe_all};
pub use tx::unwatch_all;

/// What a server command sees: the shared state and its own session.
pub struct Env<'a> {
    /// Server-wide state.
    pub shared: &'a Shared,
    /// The calling connection's state.
    pub sess: &'a mut Session,
    /// Shards the caller holds locked (a script calling a server
    /// command): read through these instead of locking them again.
    pub held: Option<&'a mut dyn HeldShards>,
}

/// Shard locks a caller already holds.
pub trait HeldShards {
    /// Shard `id`, if held.
    fn held_shard(&mut self, id: usize) -> Option<&mut kevy_store::Shard>;
}

impl HeldShards for kevy_store::Locked<'_> {
    fn held_shard(&mut self, id: usize) -> Option<&mut kevy_store::Shard> {
        self.shard_mut(id)
    }
}

impl Env<'_> {
    /// Runs `f` on shard `id`: through the caller's lock when it holds
    /// it, else under the shard's own lock. A server command never locks
    /// a shard its caller holds (the lock is not reentrant).
    pub fn with_shard<R>(
        &mut self,
        id: usize,
        f: impl FnOnce(&mut kevy_store::Shard) -> R,
    ) -> Option<R> {
        if let Some(h) = self.held.as_mut() {
            if let Some(s) = h.held_shard(id) {
                return Some(f(s));
            }
        }
        self.shared.store.with_shard(id, f)
    }
}

/// A server command: metadata plus body.
pub struct ServerCommand {
    /// Name, arity, flags, docs.
    pub meta: CommandMeta,
    /// The body.
    pub run: fn(&mut Env<'_>, &[Bytes]) -> Reply,
}

/// The metadata of a server command without key arguments (the shape most
/// server commands share; `complexity` is O(1)).
pub(crate) const fn keyless_meta(
    name: &'static str,
    arity: i16,
    flags: u32,
    acl: u64,
    group: &'static str,
    summary: &'static str,
    since: &'static str,
) -> CommandMeta {
    CommandMeta {
        name,
        arity,
        flags,
        acl,
        keys: kevy_store::spec::Keys::None,
        group,
        summary,
        since,
        complexity: "O(1)",
    }
}

/// Every server command.
pub fn all() -> impl Iterator<Item = &'static ServerCommand> {
    [
        connection::COMMANDS,
        acl::COMMANDS,
        client::COMMANDS,
        cluster::COMMANDS,
        command::COMMANDS,
        config::COMMANDS,
        info::COMMANDS,
        memory::COMMANDS,
        persistence::COMMANDS,
        pubsub::COMMANDS,
        replication::COMMANDS,
        latency::COMMANDS,
        monitor::COMMANDS,
        server::COMMANDS,
        slowlog::COMMANDS,
        tx::COMMANDS,
    ]
    .into_iter()
    .flat_map(|f| f.iter())
}

/// Redis's error for an unknown subcommand of `cmd`.
pub fn unknown_subcommand(cmd: &str, sub: &[u8]) -> Reply {
    Reply::error(format!(
        "ERR unknown subcommand '{}'. Try {} HELP.",
        String::from_utf8_lossy(sub)
            .chars()
            .take(128)
            .collect::<String>(),
        cmd.to_uppercase()
    ))
}

/// Redis's arity error for a subcommand (`client|setname` style name).
pub fn sub_arity(cmd: &str, sub: &[u8]) -> Reply {
    Reply::error(format!(
        "ERR wrong number of arguments for '{}|{}' command",
        cmd,
        String::from_utf8_lossy(sub).to_lowercase()
    ))
}

/// A HELP reply: status lines as Redis formats them.
pub fn help_reply(cmd: &str, lines: &[&str]) -> Reply {
    let mut v = vec![Reply::Simple(Bytes::from(format!(
        "{} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        cmd.to_uppercase()
    )))];
    for l in lines {
        v.push(Reply::Simple(Bytes::from(l.to_string())));
    }
    v.push(Reply::simple("HELP"));
    v.push(Reply::simple("    Prints this help."));
    Reply::Array(v)
}

/// Case-insensitive ASCII comparison.
pub fn eq(a: &[u8], b: &str) -> bool {
    a.eq_ignore_ascii_case(b.as_bytes())
}
