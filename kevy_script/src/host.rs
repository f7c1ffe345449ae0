//! `Host`: what a running script needs from whoever embeds the VM. The VM
//! owns Lua; the host owns everything a `redis.*` call touches: command
//! lookup and checks, the keyspace, ACLs, the log, and the clock that
//! decides when a busy script must give way.

use bytes::Bytes;
use kevy_resp::Reply;

/// Stops the running script at once. The VM unwinds it (the script cannot
/// catch this with `pcall`) and answers `.0` as the script's reply.
#[derive(Debug, Clone, PartialEq)]
pub struct Abort(pub Reply);

/// `redis.log` levels, as Redis numbers them (`redis.LOG_DEBUG` ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogLevel {
    /// `redis.LOG_DEBUG` (0).
    Debug,
    /// `redis.LOG_VERBOSE` (1).
    Verbose,
    /// `redis.LOG_NOTICE` (2).
    Notice,
    /// `redis.LOG_WARNING` (3).
    Warning,
}

/// The embedding side of a script run. Every method is called on the
/// thread that called [`Vm::eval`](crate::Vm::eval) or
/// [`Vm::fcall`](crate::Vm::fcall), while that call is on the stack.
pub trait Host {
    /// Runs one command for `redis.call`/`redis.pcall` (`argv[0]` is the
    /// name) and returns its reply. The host does every check Redis does
    /// first and answers a refused command with Redis's error reply (for
    /// instance `ERR Unknown Redis command called from script`, `ERR Wrong
    /// number of args calling Redis command from script`, `ERR This Redis
    /// command is not allowed from script`, `ERR Write commands are not
    /// allowed from read-only scripts.`). `resp` is the protocol the script
    /// chose (`redis.setresp`), for commands whose reply shape depends on
    /// it. `Err` stops the script.
    fn call(&mut self, argv: &[Bytes], resp: u8) -> Result<Reply, Abort>;

    /// `redis.acl_check_cmd`: whether the script's user may run `argv`;
    /// `Err(text)` when `argv` names no command (Redis answers
    /// `ERR Invalid command passed to redis.acl_check_cmd()`).
    fn acl_check(&mut self, argv: &[Bytes]) -> Result<bool, String> {
        let _ = argv;
        Ok(true)
    }

    /// `redis.log`: one line for the server's log.
    fn log(&mut self, level: LogLevel, msg: &[u8]) {
        let _ = (level, msg);
    }

    /// Called about every [`TICK_INSTRUCTIONS`](crate::TICK_INSTRUCTIONS)
    /// Lua instructions: the place to notice that the script runs too long,
    /// serve other clients, or honour `SCRIPT KILL`. `Err` stops the script.
    fn tick(&mut self) -> Result<(), Abort> {
        Ok(())
    }
}
