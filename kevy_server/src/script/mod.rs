//! Scripting state shared by every event loop: the script cache (SHA1 →
//! body) and the function libraries, which are the authority every
//! thread's Lua VM follows (a VM reloads when the generation it loaded
//! from is out of date), plus the busy-script state behind `BUSY`,
//! `SCRIPT KILL` and `FUNCTION KILL`.

mod busy;
mod payload;
mod registry;

pub use busy::{KillOutcome, Running, BUSY_EVAL, BUSY_FUNCTION};
pub use payload::{decode_functions, encode_functions};
pub use registry::{Libs, Scripting, ThreadVm};

use crate::conn::Session;
use crate::exec::Executor;
use bytes::Bytes;
use kevy_resp::Reply;
use kevy_store::spec::CommandMeta;

/// A scripting command: it runs with the executor (its Lua VM and its
/// shard locks) rather than over the store or the session alone.
pub struct ScriptCommand {
    /// Name, arity, flags, docs.
    pub meta: CommandMeta,
    /// The body.
    pub run: fn(&mut Executor<'_>, &mut Session, &[Bytes]) -> Reply,
}
