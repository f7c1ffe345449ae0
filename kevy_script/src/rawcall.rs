//! `redis.call` and `redis.pcall` as C functions: they read the command's
//! arguments straight off the Lua stack into a reused buffer and push the
//! reply with the Lua C API. Going through mlua instead made a handle per
//! argument and per reply value, about 2,300 instructions per call of a
//! script's ~3,000 (callgrind, EVALSHA of a five-command script).
//!
//! The host call itself runs in an mlua callback (it may raise mlua's
//! abort error, and it borrows the run state): the C function collects
//! the arguments, calls it, and turns what it left in the run state into
//! Lua values or an error table, raised for `redis.call`.
//!
//! The rules for turning a reply into Lua values are Redis's (they match
//! `convert::lua_to_reply` the other way): integers are numbers, bulk
//! strings strings, nil `false` (RESP2) or `nil` (RESP3), status and error
//! replies `{ok=...}` / `{err=...}` tables, aggregates arrays, and under
//! RESP3 maps, sets, doubles, big numbers and verbatim strings their
//! tagged tables.

use crate::state::RunState;
use bytes::Bytes;
use kevy_resp::{format_double, Reply};
use mlua::ffi;
use mlua::{Function, Lua};
use std::ffi::c_void;
use std::os::raw::c_int;
use std::rc::Rc;

/// Copies the arguments at stack slots `1..=top` into the run state's
/// arena and argv, or records why they are not a command.
///
/// # Safety
/// `l` is a live state whose slots `1..=top` exist. Nothing here can
/// raise a Lua error (`lua_tolstring` is only used on strings, which it
/// neither converts nor allocates), so no longjmp crosses the RefCell
/// borrows held meanwhile.
unsafe fn collect_args(l: *mut ffi::lua_State, st: &RunState, top: c_int) {
    let mut arena = st.arena.borrow_mut();
    let mut argv = st.argv.borrow_mut();
    argv.clear();
    if top == 0 {
        st.arg_error.set(Some(
            "ERR Please specify at least one argument for this redis lib call",
        ));
        return;
    }
    for i in 1..=top {
        // SAFETY: per the contract.
        unsafe {
            match ffi::lua_type(l, i) {
                ffi::LUA_TSTRING => {
                    let mut len = 0;
                    let p = ffi::lua_tolstring(l, i, &mut len) as *const u8;
                    arena.extend_from_slice(std::slice::from_raw_parts(p, len));
                }
                ffi::LUA_TNUMBER => {
                    let n = ffi::lua_tonumber(l, i);
                    arena.extend_from_slice(&crate::convert::number_arg(n));
                }
                _ => {
                    argv.clear();
                    st.arg_error.set(Some(
                        "ERR Lua redis lib command arguments must be strings or integers",
                    ));
                    return;
                }
            }
        }
        argv.push(arena.split().freeze());
    }
}

/// Pushes a string.
///
/// # Safety
/// `l` has a free stack slot.
unsafe fn push_bytes(l: *mut ffi::lua_State, b: &[u8]) {
    // SAFETY: per the contract; `lua_pushlstring` copies.
    unsafe {
        ffi::lua_pushlstring(l, b.as_ptr() as *const _, b.len());
    }
}

/// Pushes `{[tag] = <the value on top>}` in place of that value.
///
/// # Safety
/// The value is on top; two free slots.
unsafe fn wrap(l: *mut ffi::lua_State, tag: &std::ffi::CStr) {
    // SAFETY: per the contract.
    unsafe {
        ffi::lua_createtable(l, 0, 1);
        ffi::lua_insert(l, -2);
        ffi::lua_setfield(l, -2, tag.as_ptr());
    }
}

/// Pushes `r` as the Lua value a script speaking `resp` gets.
///
/// # Safety
/// `l` is running inside a protected call (a memory error raised by a
/// push unwinds to it); this function holds nothing with a destructor.
unsafe fn push_reply(l: *mut ffi::lua_State, r: &Reply, resp: u8) {
    // SAFETY: each level makes room for what it pushes (the checkstack
    // raises "stack overflow" rather than overrunning); the rest per the
    // contract.
    unsafe {
        ffi::luaL_checkstack(l, 4, c"reply too deep".as_ptr());
        match r {
            Reply::Int(n) => ffi::lua_pushnumber(l, *n as f64),
            Reply::Bulk(b) => push_bytes(l, b),
            Reply::Simple(s) => {
                push_bytes(l, s);
                wrap(l, c"ok");
            }
            Reply::Error(e) => {
                push_bytes(l, e);
                wrap(l, c"err");
            }
            Reply::Nil | Reply::NilArray => {
                if resp == 3 {
                    ffi::lua_pushnil(l)
                } else {
                    ffi::lua_pushboolean(l, 0)
                }
            }
            Reply::Array(items) | Reply::Push(items) => push_array(l, items, resp),
            Reply::Set(items) if resp == 3 => {
                ffi::lua_createtable(l, 0, items.len() as c_int);
                for i in items {
                    push_reply(l, i, resp);
                    ffi::lua_pushboolean(l, 1);
                    ffi::lua_rawset(l, -3);
                }
                wrap(l, c"set");
            }
            Reply::Set(items) => push_array(l, items, resp),
            Reply::Map(pairs) if resp == 3 => {
                ffi::lua_createtable(l, 0, pairs.len() as c_int);
                for (k, v) in pairs {
                    push_reply(l, k, resp);
                    push_reply(l, v, resp);
                    ffi::lua_rawset(l, -3);
                }
                wrap(l, c"map");
            }
            Reply::Map(pairs) => {
                ffi::lua_createtable(l, (pairs.len() * 2) as c_int, 0);
                let mut i = 1;
                for (k, v) in pairs {
                    push_reply(l, k, resp);
                    ffi::lua_rawseti(l, -2, i);
                    push_reply(l, v, resp);
                    ffi::lua_rawseti(l, -2, i + 1);
                    i += 2;
                }
            }
            Reply::Double(d) if resp == 3 => {
                ffi::lua_pushnumber(l, *d);
                wrap(l, c"double");
            }
            Reply::Double(d) => push_bytes(l, format_double(*d).as_bytes()),
            Reply::DoubleText(t) if resp == 3 => {
                let d = std::str::from_utf8(t)
                    .ok()
                    .and_then(|s| s.parse::<f64>().ok())
                    .unwrap_or(0.0);
                ffi::lua_pushnumber(l, d);
                wrap(l, c"double");
            }
            Reply::DoubleText(t) => push_bytes(l, t),
            Reply::Bool(b) if resp == 3 => ffi::lua_pushboolean(l, *b as c_int),
            Reply::Bool(b) => ffi::lua_pushnumber(l, *b as i64 as f64),
            Reply::BigNumber(n) if resp == 3 => {
                push_bytes(l, n);
                wrap(l, c"big_number");
            }
            Reply::BigNumber(n) => push_bytes(l, n),
            Reply::Verbatim(format, text) if resp == 3 => {
                ffi::lua_createtable(l, 0, 2);
                push_bytes(l, format.as_bytes());
                ffi::lua_setfield(l, -2, c"format".as_ptr());
                push_bytes(l, text);
                ffi::lua_setfield(l, -2, c"string".as_ptr());
                wrap(l, c"verbatim_string");
            }
            Reply::Verbatim(_, text) => push_bytes(l, text),
            // Scripts run with streamed replies off; anything else the
            // protocol may grow is nil to a script.
            _ => ffi::lua_pushnil(l),
        }
    }
}

/// Pushes an array of `items`.
///
/// # Safety
/// As [`push_reply`].
unsafe fn push_array(l: *mut ffi::lua_State, items: &[Reply], resp: u8) {
    // SAFETY: as push_reply.
    unsafe {
        ffi::lua_createtable(l, items.len() as c_int, 0);
        for (i, item) in items.iter().enumerate() {
            push_reply(l, item, resp);
            ffi::lua_rawseti(l, -2, (i + 1) as _);
        }
    }
}

/// The C function: upvalue 1 is the run state (light userdata), 2 whether
/// to raise an error reply (`redis.call`) or return it (`redis.pcall`),
/// 3 the mlua callback that makes the host call.
unsafe extern "C-unwind" fn call_c(l: *mut ffi::lua_State) -> c_int {
    // SAFETY (whole body): the upvalues are as `install` made them, and the
    // run state outlives the Lua state's callbacks (the engine owns both).
    // The only Rust work between Lua calls is `collect_args` (no Lua
    // error possible); the reply is read through a raw pointer into the
    // run state, so a longjmp out of `push_reply` or `lua_error` skips no
    // destructor and leaves the reply to be dropped by the next call.
    unsafe {
        let st = &*(ffi::lua_touserdata(l, ffi::lua_upvalueindex(1)) as *const RunState);
        let raise = ffi::lua_toboolean(l, ffi::lua_upvalueindex(2)) != 0;
        collect_args(l, st, ffi::lua_gettop(l));
        ffi::lua_settop(l, 0);
        ffi::lua_pushvalue(l, ffi::lua_upvalueindex(3));
        ffi::lua_call(l, 0, 0);
        let reply = st.reply.as_ptr();
        let resp = st.resp.get();
        match &*reply {
            Some(Reply::Error(e)) => {
                push_bytes(l, e);
                wrap(l, c"err");
                if raise {
                    ffi::lua_error(l);
                }
            }
            Some(r) => push_reply(l, r, resp),
            None => ffi::lua_pushnil(l),
        }
        1
    }
}

/// Installs `redis.call` and `redis.pcall` into `redis` (the table on
/// the host callback `host_call`, which reads `st.argv`/`st.arg_error` and
/// leaves the reply in `st.reply`).
pub(crate) fn install(
    lua: &Lua,
    redis: &mlua::Table,
    st: &Rc<RunState>,
    host_call: Function,
) -> mlua::Result<()> {
    let ptr = mlua::LightUserData(Rc::as_ptr(st) as *mut c_void);
    for (name, raise) in [("call", true), ("pcall", false)] {
        // SAFETY: `exec_raw` pushes the three values, which become the C
        // closure's upvalues in order; `call_c` is sound with them (see
        // there). The run state is kept alive by the engine (and by
        // `host_call`'s captured `Rc`) as long as the Lua state.
        let f = unsafe {
            lua.exec_raw::<Function>((ptr, raise, &host_call), |l| {
                ffi::lua_pushcclosure(l, call_c, 3);
            })?
        };
        redis.raw_set(name, f)?;
    }
    Ok(())
}

/// The argv collected for the host, taken out of the run state (its
/// capacity is given back by [`put_argv`]).
pub(crate) fn take_argv(st: &RunState) -> Vec<Bytes> {
    std::mem::take(&mut *st.argv.borrow_mut())
}

/// Gives the argv's capacity back to the run state.
pub(crate) fn put_argv(st: &RunState, mut argv: Vec<Bytes>) {
    argv.clear();
    *st.argv.borrow_mut() = argv;
}
