//! How a library function written in Rust behaves like the Lua C function
//! Redis has in its place: its errors are plain strings raised the way
//! `luaL_error` and `luaL_argerror` raise them (with the caller's position,
//! and with the function name Lua finds at the call site), and it can return
//! as many values as a C function could without holding a Rust-side handle
//! per value.
//!
//! mlua turns a Rust error into a userdata error object, which a script's
//! `pcall` would then see instead of the message Redis gives. So each
//! function is a real C closure ([`trampoline`]) whose one upvalue is the
//! mlua function doing the work. The Rust function reports an error by
//! *returning* a marked triple, and the trampoline, a C frame with nothing
//! to drop, raises it with the Lua C API. Large results come back the same
//! way, as a marked table that the trampoline spreads on the Lua stack, and
//! many arguments go in as one table: mlua keeps a slot of a bounded stack
//! per live handle, so thousands of string arguments or results could
//! exhaust it where the C function would not.

use std::ffi::{c_int, c_void};

use mlua::{ffi, Function, LightUserData, Lua, MaybeSend, MultiValue, Table, Value};

use super::args::Args;

/// An error a library function raises, in the shape of the Lua C API call
/// that raises it in the C library.
#[derive(Debug)]
pub(crate) enum LibError {
    /// `luaL_argerror(L, narg, msg)`: "bad argument #narg to 'name' (msg)".
    Arg(i32, Vec<u8>),
    /// `luaL_error(L, msg)`: the message after the caller's position.
    Msg(Vec<u8>),
    /// An error the Lua core raises inside a C function, which carries no
    /// position (for example "table index is nil").
    Raw(Vec<u8>),
    /// An error of mlua itself (out of memory, ...), passed on unchanged.
    Lua(mlua::Error),
}

impl From<mlua::Error> for LibError {
    fn from(e: mlua::Error) -> Self {
        LibError::Lua(e)
    }
}

/// What library functions return.
pub(crate) type LibResult<T> = Result<T, LibError>;

/// Builds a [`LibError::Arg`].
pub(crate) fn arg_error(narg: i32, msg: impl Into<Vec<u8>>) -> LibError {
    LibError::Arg(narg, msg.into())
}

/// Builds a [`LibError::Msg`].
pub(crate) fn error(msg: impl Into<Vec<u8>>) -> LibError {
    LibError::Msg(msg.into())
}

// Statics whose addresses mark the trampoline protocol's values. A script
// cannot make a light userdata with these addresses. They hold different
// values so that they cannot be merged into one address.
static ERROR_MARK: u8 = 1;
static SPREAD_MARK: u8 = 2;
static ARGS_MARK: u8 = 3;

/// Calls with more arguments than this pass them in one table.
const INLINE_ARGS: c_int = 16;

const KIND_ARG: i64 = 1;
const KIND_MSG: i64 = 2;
const KIND_RAW: i64 = 3;

fn is_mark(v: &Value, m: &'static u8) -> bool {
    matches!(v, Value::LightUserData(p) if std::ptr::eq(p.0 as *const u8, m))
}

fn mark(m: &'static u8) -> Value {
    Value::LightUserData(LightUserData(m as *const u8 as *mut c_void))
}

/// Returns `n` values kept in `values[1..=n]`: the trampoline moves them to
/// the Lua stack, so no Rust handle per value is needed.
pub(crate) fn spread(values: Table, n: usize) -> MultiValue {
    MultiValue::from_vec(vec![
        mark(&SPREAD_MARK),
        Value::Table(values),
        Value::Number(n as f64),
    ])
}

/// Makes a Lua function of `f` that raises its errors as plain strings (see
/// the module doc).
pub(crate) fn c_function<F>(lua: &Lua, f: F) -> mlua::Result<Function>
where
    F: Fn(&Lua, Args) -> LibResult<MultiValue> + MaybeSend + 'static,
{
    let inner = lua.create_function(move |lua, values: MultiValue| {
        let table_args = match (values.len(), values.front(), values.get(1), values.get(2)) {
            (3, Some(m), Some(Value::Table(t)), Some(Value::Integer(n)))
                if is_mark(m, &ARGS_MARK) =>
            {
                Some((t.clone(), *n as usize))
            }
            _ => None,
        };
        let args = match table_args {
            Some((t, n)) => Args::from_table(lua, t, n),
            None => Args::new(lua, values),
        };
        let (kind, narg, msg) = match f(lua, args) {
            Ok(values) => return Ok(values),
            Err(LibError::Lua(e)) => return Err(e),
            Err(LibError::Arg(narg, msg)) => (KIND_ARG, narg, msg),
            Err(LibError::Msg(msg)) => (KIND_MSG, 0, msg),
            Err(LibError::Raw(msg)) => (KIND_RAW, 0, msg),
        };
        Ok(MultiValue::from_vec(vec![
            mark(&ERROR_MARK),
            Value::Number(kind as f64),
            Value::Number(f64::from(narg)),
            Value::String(lua.create_string(msg)?),
        ]))
    })?;
    // SAFETY: `exec_raw` runs the closure in a protected call with `inner`
    // on the stack; `lua_pushcclosure` pops it as the closure's upvalue and
    // leaves the closure as the one result. `trampoline` keeps the C API's
    // rules (see its own comment).
    unsafe {
        lua.exec_raw::<Function>(inner, |state| {
            ffi::lua_pushcclosure(state, trampoline, 1);
        })
    }
}

/// The C function every library function is: calls its upvalue with the
/// same arguments (many of them as one marked table) and returns its
/// results, except the two marked shapes (module doc).
///
/// SAFETY (why this is sound): this frame owns no Rust value with a
/// destructor, so `lua_error`/`luaL_argerror` may `longjmp` across it, as
/// mlua's own callbacks do; every index it reads was checked by `nres` and
/// the mark; `lua_call` may raise, which also only unwinds over this frame.
/// The spread path needs `n` free slots, and the libraries only spread as
/// many values as their C versions could have pushed (the same
/// `lua_checkstack` limit), checked again here.
unsafe extern "C-unwind" fn trampoline(state: *mut ffi::lua_State) -> c_int {
    // SAFETY: see the function comment.
    unsafe {
        let nargs = ffi::lua_gettop(state);
        if nargs > INLINE_ARGS {
            // Stack: args. A C function has LUA_MINSTACK free slots, and
            // this uses at most four of them.
            ffi::lua_createtable(state, nargs, 0);
            ffi::lua_insert(state, 1);
            for i in (1..=nargs).rev() {
                ffi::lua_rawseti(state, 1, i.into());
            }
            // Stack: table.
            ffi::lua_pushvalue(state, ffi::lua_upvalueindex(1));
            ffi::lua_insert(state, 1);
            ffi::lua_pushlightuserdata(state, &ARGS_MARK as *const u8 as *mut c_void);
            ffi::lua_insert(state, 2);
            ffi::lua_pushnumber(state, f64::from(nargs));
            ffi::lua_call(state, 3, ffi::LUA_MULTRET);
        } else {
            ffi::lua_pushvalue(state, ffi::lua_upvalueindex(1));
            ffi::lua_insert(state, 1);
            ffi::lua_call(state, nargs, ffi::LUA_MULTRET);
        }
        let nres = ffi::lua_gettop(state);
        if nres < 3 || ffi::lua_type(state, 1) != ffi::LUA_TLIGHTUSERDATA {
            return nres;
        }
        let m = ffi::lua_touserdata(state, 1) as *const u8;
        if std::ptr::eq(m, &ERROR_MARK) && nres == 4 {
            let kind = ffi::lua_tonumber(state, 2) as i64;
            let narg = ffi::lua_tonumber(state, 3) as c_int;
            match kind {
                KIND_ARG => {
                    ffi::luaL_argerror(state, narg, ffi::lua_tostring(state, 4));
                }
                KIND_MSG => {
                    ffi::luaL_where(state, 1);
                    ffi::lua_pushvalue(state, 4);
                    ffi::lua_concat(state, 2);
                }
                _ => ffi::lua_pushvalue(state, 4),
            }
            ffi::lua_error(state);
        }
        if std::ptr::eq(m, &SPREAD_MARK) && nres == 3 {
            let n = ffi::lua_tonumber(state, 3) as c_int;
            ffi::lua_settop(state, 2);
            ffi::lua_remove(state, 1);
            if ffi::lua_checkstack(state, n) == 0 {
                ffi::luaL_error(state, c"stack overflow (too many results)".as_ptr());
            }
            for i in 1..=n {
                ffi::lua_rawgeti(state, 1, i.into());
            }
            ffi::lua_remove(state, 1);
            return n;
        }
        nres
    }
}
