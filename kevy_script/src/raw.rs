//! The one place kevy_script talks to the Lua C API directly: a C function
//! that raises an arbitrary Lua value as an error.
//!
//! Redis raises `redis.call` errors as tables (`{err = ...}`) and its C
//! library functions raise at the caller's line. An mlua callback can only
//! raise mlua's own error userdata, and a Lua wrapper that raises for it
//! would lose the caller's line whenever the script tail-calls it
//! (`return redis.call(...)`: Lua 5.1 drops the caller's frame for a Lua
//! callee, but not for a C one). So each raising function is this C
//! closure around an mlua callback that answers `(result, err)`: it calls
//! the callback and raises `err` when set, a string `err` prefixed with
//! the caller's position as `luaL_error` does.

use mlua::ffi;
use mlua::{Function, Lua};
use std::os::raw::c_int;

/// Calls with more arguments than this pass them to the packed callback
/// as one table: mlua holds a stack slot per argument it converts, and its
/// stack is smaller than the 8000 arguments a script may pass (Redis's
/// own test unpacks that many into `redis.call`).
const INLINE_ARGS: c_int = 16;

/// The C closure: upvalue 1 is the callback, upvalue 2 the same callback
/// taking its arguments as one table.
unsafe extern "C-unwind" fn raise_shim(l: *mut ffi::lua_State) -> c_int {
    // SAFETY (whole body): `l` is the state Lua called us with; the stack
    // operations stay within the arguments plus the 3 slots Lua guarantees
    // a C function (LUA_MINSTACK is 20). `lua_call` and `lua_error` may
    // longjmp out of this frame, which holds no Rust value with a
    // destructor, as Lua's C API expects of its C functions.
    unsafe {
        let n = ffi::lua_gettop(l);
        if n > INLINE_ARGS {
            ffi::lua_createtable(l, n, 0);
            for i in 1..=n {
                ffi::lua_pushvalue(l, i);
                ffi::lua_rawseti(l, -2, i.into());
            }
            ffi::lua_replace(l, 1);
            ffi::lua_settop(l, 1);
            ffi::lua_pushvalue(l, ffi::lua_upvalueindex(2));
            ffi::lua_insert(l, 1);
            ffi::lua_call(l, 1, 2);
        } else {
            ffi::lua_pushvalue(l, ffi::lua_upvalueindex(1));
            ffi::lua_insert(l, 1);
            ffi::lua_call(l, n, 2);
        }
        if ffi::lua_isnil(l, -1) != 0 {
            ffi::lua_pop(l, 1);
            return 1;
        }
        if ffi::lua_type(l, -1) == ffi::LUA_TSTRING {
            ffi::luaL_where(l, 1);
            ffi::lua_insert(l, -2);
            ffi::lua_concat(l, 2);
        }
        ffi::lua_error(l)
    }
}

/// A Lua function that calls `callback` (which answers `(result, err)`)
/// and raises `err` when it is not nil. Past [`INLINE_ARGS`] arguments it
/// calls `packed` with them in one table instead.
pub(crate) fn raising_packed(
    lua: &Lua,
    callback: Function,
    packed: Function,
) -> mlua::Result<Function> {
    // SAFETY: `exec_raw` pushes both functions, and the closure pops them
    // as the C closure's two upvalues and pushes the closure, which
    // `exec_raw` returns; `raise_shim` is sound for any arguments (see
    // there).
    unsafe {
        lua.exec_raw::<Function>((callback, packed), |l| {
            ffi::lua_pushcclosure(l, raise_shim, 2);
        })
    }
}

/// [`raising_packed`] for functions that take a few arguments: a call with
/// many gets them as a table, which the callback rejects as it would any
/// table argument.
pub(crate) fn raising(lua: &Lua, callback: Function) -> mlua::Result<Function> {
    raising_packed(lua, callback.clone(), callback)
}

/// The arguments a packed callback received, back as a list.
pub(crate) fn unpack_args(t: &mlua::Table) -> mlua::Result<mlua::MultiValue> {
    let n = t.raw_len();
    let mut v = Vec::with_capacity(n);
    for i in 1..=n {
        v.push(t.raw_get::<mlua::Value>(i)?);
    }
    Ok(mlua::MultiValue::from_vec(v))
}
