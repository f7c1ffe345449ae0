//! The instruction hook: every [`TICK_INSTRUCTIONS`] Lua instructions the
//! host gets a say (busy scripts, `SCRIPT KILL`), and `FUNCTION LOAD` gets
//! its time limit. Once a script is aborted, the hook fires on every line
//! and raises again, so a script that catches the error with `pcall`
//! still cannot go on.

use crate::api::abort_error;
use crate::host::Abort;
use crate::state::{Phase, RunState};
use kevy_resp::Reply;
use mlua::{HookTriggers, Lua, VmState};
use std::rc::Rc;

/// Lua instructions between two calls of [`Host::tick`](crate::Host::tick)
/// (Redis checks its script timeout at the same interval).
pub const TICK_INSTRUCTIONS: u32 = 100_000;

/// Installs the counting hook that runs between instructions.
pub(crate) fn arm_tick(lua: &Lua, st: &Rc<RunState>) -> mlua::Result<()> {
    let st = st.clone();
    lua.set_hook(
        HookTriggers::new().every_nth_instruction(TICK_INSTRUCTIONS),
        move |lua, _| {
            if st.abort.borrow().is_some() {
                return Err(abort_error());
            }
            let verdict = match st.phase.get() {
                Phase::Loading => match st.load_deadline.get() {
                    Some(d) if std::time::Instant::now() >= d => {
                        Err(Abort(Reply::error("ERR FUNCTION LOAD timeout")))
                    }
                    _ => Ok(()),
                },
                _ => st.host(|h| h.tick()).unwrap_or(Ok(())),
            };
            match verdict {
                Ok(()) => Ok(VmState::Continue),
                Err(abort) => {
                    st.stop(lua, abort, 0);
                    arm_abort(lua)?;
                    Err(abort_error())
                }
            }
        },
    )
}

/// After an abort: raise on every line until the script has unwound.
pub(crate) fn arm_abort(lua: &Lua) -> mlua::Result<()> {
    lua.set_hook(HookTriggers::EVERY_LINE, |_, _| Err(abort_error()))
}
