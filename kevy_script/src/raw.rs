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

/// What [`entry`] builds `KEYS` and `ARGV` from.
pub(crate) struct EntryArgs {
    keys: *const bytes::Bytes,
    nkeys: usize,
    args: *const bytes::Bytes,
    nargs: usize,
}

impl EntryArgs {
    pub(crate) fn new(keys: &[bytes::Bytes], args: &[bytes::Bytes]) -> EntryArgs {
        EntryArgs {
            keys: keys.as_ptr(),
            nkeys: keys.len(),
            args: args.as_ptr(),
            nargs: args.len(),
        }
    }
}

/// Pushes a new array of the `n` strings at `items`.
///
/// # Safety
/// `items` points to `n` live `Bytes`; `l` has 2 free stack slots.
unsafe fn push_array(l: *mut ffi::lua_State, items: *const bytes::Bytes, n: usize) {
    // SAFETY: per the contract; `lua_pushlstring` copies the bytes.
    unsafe {
        ffi::lua_createtable(l, n as c_int, 0);
        for i in 0..n {
            let b = &*items.add(i);
            ffi::lua_pushlstring(l, b.as_ptr() as *const _, b.len());
            ffi::lua_rawseti(l, -2, (i + 1) as _);
        }
    }
}

/// The entry of every script run: called (through mlua, under its
/// protection) with the script function, the error handler, the globals
/// table or nil, and an [`EntryArgs`] light userdata. It builds `KEYS` and
/// `ARGV` (set as globals for EVAL, passed as arguments to a function for
/// FCALL) and calls the script under the handler; it returns `true` and
/// the first result, or `false` and the handler's error. One C call in
/// place of mlua's per-table and per-string protected calls: these were a
/// fifth of an EVALSHA's instructions (callgrind).
unsafe extern "C-unwind" fn entry(l: *mut ffi::lua_State) -> c_int {
    // SAFETY (whole body): the arguments are as documented (see `call`);
    // the light userdata points to an `EntryArgs` whose slices live on the
    // caller's stack for the whole call; the stack grows by at most 6
    // slots above the 4 arguments (LUA_MINSTACK is 20). A memory error in
    // the pushes unwinds to mlua's protected call around this function;
    // this frame holds nothing with a destructor.
    unsafe {
        let a = &*(ffi::lua_touserdata(l, 4) as *const EntryArgs);
        push_array(l, a.keys, a.nkeys); // 5
        push_array(l, a.args, a.nargs); // 6
        ffi::lua_pushvalue(l, 1);
        let nparams = if ffi::lua_type(l, 3) == ffi::LUA_TTABLE {
            ffi::lua_pushstring(l, c"KEYS".as_ptr());
            ffi::lua_pushvalue(l, 5);
            ffi::lua_rawset(l, 3);
            ffi::lua_pushstring(l, c"ARGV".as_ptr());
            ffi::lua_pushvalue(l, 6);
            ffi::lua_rawset(l, 3);
            0
        } else {
            ffi::lua_pushvalue(l, 5);
            ffi::lua_pushvalue(l, 6);
            2
        };
        let status = ffi::lua_pcall(l, nparams, 1, 2);
        ffi::lua_pushboolean(l, (status == 0) as c_int);
        ffi::lua_insert(l, -2);
        2
    }
}

/// The [`entry`] function of `lua`.
pub(crate) fn entry_function(lua: &Lua) -> mlua::Result<Function> {
    // SAFETY: `entry` is sound for the arguments `Engine::protected_call`
    // passes it, the only caller.
    unsafe { lua.create_c_function(entry) }
}
