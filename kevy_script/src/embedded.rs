//! `StoreHost`: runs scripts against an embedded [`kevy_store::Store`]
//! with every shard locked for the whole script, so a script is atomic as
//! in Redis. Only the store's data commands are available; server
//! commands (`PUBLISH`, `INFO`, ...) answer as unknown.

use crate::host::{Abort, Host};
use bytes::Bytes;
use kevy_resp::Reply;
use kevy_store::spec::flags;
use kevy_store::{Ctx, Events, Locked, Store};

/// A [`Host`] over an embedded store.
pub struct StoreHost<'s> {
    locked: Locked<'s>,
    events: Events,
    /// The selected database (`SELECT` inside a script is not available).
    pub db: usize,
    /// The clock the script's commands see (Unix ms).
    pub now_ms: u64,
    /// Refuse write commands (`EVAL_RO`, `no-writes`).
    pub read_only: bool,
}

impl<'s> StoreHost<'s> {
    /// Locks every shard of `store` until the host is dropped.
    pub fn new(store: &'s Store, db: usize, now_ms: u64) -> StoreHost<'s> {
        StoreHost {
            locked: store.lock_all(),
            events: Events::default(),
            db,
            now_ms,
            read_only: false,
        }
    }

    /// The side effects the script's commands raised (keyspace events,
    /// changes counted).
    pub fn events(&self) -> &Events {
        &self.events
    }
}

/// Redis's checks on a command called from a script, in its order; the
/// error reply for a refused one. `read_only`: the script may not write.
pub fn check_call(
    meta: &kevy_store::spec::CommandMeta,
    argc: usize,
    read_only: bool,
) -> Option<Reply> {
    if !meta.arity_ok(argc) {
        return Some(Reply::error(
            "ERR Wrong number of args calling Redis command from script",
        ));
    }
    // Blocking commands without `noscript` (BLMPOP, BZMPOP, XREAD,
    // XREADGROUP) run, never blocking, as in Redis.
    if meta.flags & flags::NOSCRIPT != 0 {
        return Some(Reply::error(
            "ERR This Redis command is not allowed from script",
        ));
    }
    if read_only && meta.flags & flags::WRITE != 0 {
        return Some(Reply::error(
            "ERR Write commands are not allowed from read-only scripts.",
        ));
    }
    None
}

impl Host for StoreHost<'_> {
    fn call(&mut self, argv: &[Bytes], resp: u8) -> Result<Reply, Abort> {
        let Some(cmd) = kevy_store::lookup(&argv[0]) else {
            return Ok(Reply::error("ERR Unknown Redis command called from script"));
        };
        if let Some(r) = check_call(&cmd.meta, argv.len(), self.read_only) {
            return Ok(r);
        }
        let mut ctx = Ctx::new(&mut self.locked, &mut self.events, self.db, self.now_ms);
        ctx.may_block = false;
        if resp == 3 {
            ctx.proto = kevy_resp::Protocol::Resp3;
        }
        Ok(kevy_store::run(&mut ctx, cmd, argv))
    }
}
