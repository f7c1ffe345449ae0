//! Refusals before a command runs that Redis's processCommand makes after
//! the ACL check: MISCONF while persistence is failing, a MONITOR client
//! touching the keyspace, and how a refusal dooms a MULTI (or aborts EXEC).

use crate::conn::Session;
use crate::shared::Shared;
use crate::table::Cmd;
use kevy_resp::Reply;

/// Commands that read or write the keyspace (`readonly`, `write`,
/// `may-replicate`): a MONITOR client may not run them.
pub(super) const KEYSPACE_FLAGS: u32 = kevy_store::spec::flags::READONLY
    | kevy_store::spec::flags::WRITE
    | kevy_store::spec::flags::MAY_REPLICATE;

/// A command refused before it ran (ACL, MISCONF), as Redis's
/// rejectCommand: inside MULTI it dooms the transaction, and a refused EXEC
/// aborts it, saying why.
pub(super) fn reject(shared: &Shared, sess: &mut Session, cmd: &Cmd, r: Reply) -> Reply {
    if sess.multi.is_none() {
        return r;
    }
    sess.multi_dirty = true;
    if cmd.meta.name != "exec" {
        return r;
    }
    sess.multi = None;
    sess.multi_dirty = false;
    crate::cmd::unwatch_all(shared, sess);
    match &r {
        Reply::Error(e) => Reply::error(format!(
            "EXECABORT Transaction discarded because of: {}",
            String::from_utf8_lossy(e)
        )),
        _ => r,
    }
}

/// MISCONF: while the AOF cannot be written, or a snapshot failed with
/// `stop-writes-on-bgsave-error yes`, write commands, PING and an EXEC of a
/// transaction with writes are refused (the commands Redis refuses).
pub(super) fn misconf(shared: &Shared, sess: &Session, cmd: &Cmd) -> Option<String> {
    use kevy_store::spec::flags::WRITE;
    let name = cmd.meta.name;
    let writes = cmd.meta.flags & WRITE != 0
        || name == "ping"
        || (name == "exec"
            && sess.multi.as_ref().is_some_and(|q| {
                q.iter().any(|argv| {
                    argv.first()
                        .and_then(|n| shared.commands.lookup(n))
                        .is_some_and(|(_, c)| c.meta.flags & WRITE != 0)
                })
            }));
    if writes {
        shared.persist.write_denied()
    } else {
        None
    }
}

/// While a script is busy, what Redis lets through: commands flagged
/// `allow-busy` (AUTH, HELLO, MULTI, DISCARD, WATCH, UNWATCH, QUIT,
/// RESET, SHUTDOWN) and the subcommands SCRIPT KILL, FUNCTION KILL and
/// FUNCTION STATS. Everything else gets the BUSY error.
pub(crate) fn busy_refusal(shared: &Shared, cmd: &Cmd, argv: &[bytes::Bytes]) -> Option<Reply> {
    if !shared.scripting.busy.active() {
        return None;
    }
    if cmd.meta.flags & kevy_store::spec::flags::ALLOW_BUSY != 0 {
        return None;
    }
    let sub = argv.get(1).map(|s| s.to_ascii_lowercase());
    let sub = sub.as_deref();
    match (cmd.meta.name, sub) {
        ("script", Some(b"kill")) | ("function", Some(b"kill" | b"stats")) => None,
        _ => shared.scripting.busy.busy_error().map(Reply::error),
    }
}
