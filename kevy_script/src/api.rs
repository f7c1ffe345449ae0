//! The `redis` table a script sees: `call`/`pcall` (through the host),
//! `error_reply`, `status_reply`, `sha1hex`, `log`, `setresp`, `set_repl`,
//! `replicate_commands`, `breakpoint`, `debug`, `acl_check_cmd` and the
//! constants, with Redis 7.0's argument checks and error texts.
//!
//! Redis raises most API errors as error *tables* (`{err = "ERR ..."}`).
//! A Rust callback in mlua can only raise an mlua error, so each callback
//! returns `(result, err)` and a C closure (`raw::raising`) raises `err`
//! when it is set.

use crate::convert::{number_arg, reply_to_lua};
use crate::host::LogLevel;
use crate::raw::{raising, raising_packed, unpack_args};
use crate::state::{Phase, RunState};
use bytes::{Bytes, BytesMut};
use kevy_resp::Reply;
use mlua::{Lua, MultiValue, Table, Value};
use std::rc::Rc;

/// The version scripts see (`redis.REDIS_VERSION`).
pub const REDIS_VERSION: &str = "7.0.15";
/// `redis.REDIS_VERSION_NUM`: 0x00MMmmpp.
pub const REDIS_VERSION_NUM: i64 = 0x0007_000f;

/// What a callback answers: a value, or an error table to raise.
type Out = (Value, Option<Table>);

/// An API function that needs no state.
type Plain = fn(&Lua, MultiValue) -> mlua::Result<Out>;

/// An API function over the run state.
type Stateful = fn(&Lua, &RunState, MultiValue) -> mlua::Result<Out>;

pub(crate) fn err_table(lua: &Lua, text: &str) -> mlua::Result<Table> {
    let t = lua.create_table_with_capacity(0, 1)?;
    t.raw_set("err", text)?;
    Ok(t)
}

fn raise(lua: &Lua, text: &str) -> mlua::Result<Out> {
    Ok((Value::Nil, Some(err_table(lua, text)?)))
}

/// The error the VM raises (and the hook keeps raising) once the host
/// aborted the script; its text never reaches a client.
pub(crate) fn abort_error() -> mlua::Error {
    mlua::Error::runtime("kevy: script aborted")
}

/// Arguments of `redis.call` as a command's argv, copied into `arena`
/// (one buffer reused call after call: the argv's slices are dropped when
/// the command returns, so its space comes back) and listed in `out`.
fn command_args(
    args: &MultiValue,
    arena: &mut BytesMut,
    out: &mut Vec<Bytes>,
) -> Result<(), &'static str> {
    out.clear();
    if args.is_empty() {
        return Err("ERR Please specify at least one argument for this redis lib call");
    }
    for a in args.iter() {
        match a {
            Value::String(s) => arena.extend_from_slice(&s.as_bytes()),
            Value::Integer(i) => arena.extend_from_slice(&number_arg(*i as f64)),
            Value::Number(n) => arena.extend_from_slice(&number_arg(*n)),
            _ => return Err("ERR Lua redis lib command arguments must be strings or integers"),
        }
        out.push(arena.split().freeze());
    }
    Ok(())
}

/// `redis.call`/`redis.pcall` without the raising: `(reply, nil)` or
/// `(nil, error table)`.
fn call(lua: &Lua, st: &RunState, args: MultiValue) -> mlua::Result<Out> {
    if st.abort.borrow().is_some() {
        return Err(abort_error());
    }
    let mut argv = std::mem::take(&mut *st.argv.borrow_mut());
    let parsed = command_args(&args, &mut st.arena.borrow_mut(), &mut argv);
    drop(args);
    if let Err(e) = parsed {
        argv.clear();
        *st.argv.borrow_mut() = argv;
        return raise(lua, e);
    }
    let resp = st.resp.get();
    let reply = st.host(|h| h.call(&argv, resp));
    argv.clear();
    *st.argv.borrow_mut() = argv;
    match reply {
        Some(Ok(Reply::Error(e))) => {
            let t = lua.create_table_with_capacity(0, 1)?;
            t.raw_set("err", lua.create_string(&e)?)?;
            Ok((Value::Nil, Some(t)))
        }
        Some(Ok(r)) => Ok((reply_to_lua(lua, &r, st.resp.get())?, None)),
        Some(Err(abort)) => {
            st.stop(lua, abort, 1);
            crate::hook::arm_abort(lua)?;
            Err(abort_error())
        }
        None => raise(lua, "ERR redis.call is only available while a script runs"),
    }
}

fn one_string(args: &MultiValue) -> Option<mlua::String> {
    match args.len() {
        1 => match &args[0] {
            Value::String(s) => Some(s.clone()),
            _ => None,
        },
        _ => None,
    }
}

fn error_reply(lua: &Lua, args: MultiValue) -> mlua::Result<Out> {
    let Some(s) = one_string(&args) else {
        return Ok((
            Value::Table(err_table(lua, "ERR wrong number or type of arguments")?),
            None,
        ));
    };
    // Redis splits "-CODE message" at the first space; without one the
    // code is ERR and the whole text is the message.
    let b = s.as_bytes();
    let b = b.strip_prefix(b"-").unwrap_or(&b);
    let text: Vec<u8> = if b.contains(&b' ') {
        b.to_vec()
    } else {
        [&b"ERR "[..], b].concat()
    };
    let t = lua.create_table_with_capacity(0, 1)?;
    t.raw_set("err", lua.create_string(&text)?)?;
    Ok((Value::Table(t), None))
}

fn status_reply(lua: &Lua, args: MultiValue) -> mlua::Result<Out> {
    let Some(s) = one_string(&args) else {
        return Ok((
            Value::Table(err_table(lua, "ERR wrong number or type of arguments")?),
            None,
        ));
    };
    let t = lua.create_table_with_capacity(0, 1)?;
    t.raw_set("ok", s)?;
    Ok((Value::Table(t), None))
}

/// A Lua value as `tostring` would show a string or number argument.
fn arg_bytes(v: &Value) -> Option<Vec<u8>> {
    match v {
        Value::String(s) => Some(s.as_bytes().to_vec()),
        Value::Integer(i) => Some(i.to_string().into_bytes()),
        Value::Number(n) => Some(crate::num::lua_number(*n).into_bytes()),
        _ => None,
    }
}

fn sha1hex(lua: &Lua, args: MultiValue) -> mlua::Result<Out> {
    if args.len() != 1 {
        return raise(lua, "ERR wrong number of arguments");
    }
    let data = arg_bytes(&args[0]).unwrap_or_default();
    Ok((
        Value::String(lua.create_string(crate::sha1_hex(&data))?),
        None,
    ))
}

fn log(lua: &Lua, st: &RunState, args: MultiValue) -> mlua::Result<Out> {
    if args.len() < 2 {
        return raise(lua, "ERR redis.log() requires two arguments or more.");
    }
    let level = match &args[0] {
        Value::Integer(0) => LogLevel::Debug,
        Value::Integer(1) => LogLevel::Verbose,
        Value::Integer(2) => LogLevel::Notice,
        Value::Integer(3) => LogLevel::Warning,
        Value::Integer(_) => return raise(lua, "ERR Invalid debug level."),
        _ => return raise(lua, "ERR First argument must be a number (log level)."),
    };
    let mut msg = Vec::new();
    for (i, a) in args.iter().skip(1).enumerate() {
        if i > 0 {
            msg.push(b' ');
        }
        if let Some(b) = arg_bytes(a) {
            msg.extend_from_slice(&b);
        }
    }
    st.host(|h| h.log(level, &msg));
    Ok((Value::Nil, None))
}

fn setresp(lua: &Lua, st: &RunState, args: MultiValue) -> mlua::Result<Out> {
    if args.len() != 1 {
        return raise(lua, "ERR redis.setresp() requires one argument.");
    }
    match &args[0] {
        Value::Integer(v @ (2 | 3)) => {
            st.resp.set(*v as u8);
            Ok((Value::Nil, None))
        }
        _ => raise(lua, "ERR RESP version must be 2 or 3."),
    }
}

fn set_repl(lua: &Lua, args: MultiValue) -> mlua::Result<Out> {
    if args.len() != 1 {
        return raise(lua, "ERR redis.set_repl() requires two arguments.");
    }
    match &args[0] {
        Value::Integer(0..=3) => Ok((Value::Nil, None)),
        _ => raise(
            lua,
            "ERR Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.",
        ),
    }
}

fn acl_check_cmd(lua: &Lua, st: &RunState, args: MultiValue) -> mlua::Result<Out> {
    let mut argv = Vec::new();
    if let Err(e) = command_args(&args, &mut BytesMut::new(), &mut argv) {
        return raise(lua, e);
    }
    match st.host(|h| h.acl_check(&argv)) {
        Some(Ok(ok)) => Ok((Value::Boolean(ok), None)),
        Some(Err(e)) => raise(lua, &e),
        None => raise(
            lua,
            "ERR redis.acl_check_cmd is only available while a script runs",
        ),
    }
}

/// The constants every `redis` table has.
fn constants(lua: &Lua, t: &Table) -> mlua::Result<()> {
    for (k, v) in [
        ("LOG_DEBUG", 0),
        ("LOG_VERBOSE", 1),
        ("LOG_NOTICE", 2),
        ("LOG_WARNING", 3),
    ] {
        t.raw_set(k, v)?;
    }
    t.raw_set("REDIS_VERSION", REDIS_VERSION)?;
    t.raw_set("REDIS_VERSION_NUM", REDIS_VERSION_NUM)?;
    let _ = lua;
    Ok(())
}

/// Fills `redis` with the runtime API (what EVAL scripts and FCALL'd
/// functions see).
pub(crate) fn install_runtime(lua: &Lua, redis: &Table, st: &Rc<RunState>) -> mlua::Result<()> {
    constants(lua, redis)?;
    for (k, v) in [
        ("REPL_NONE", 0),
        ("REPL_AOF", 1),
        ("REPL_SLAVE", 2),
        ("REPL_REPLICA", 2),
        ("REPL_ALL", 3),
    ] {
        redis.raw_set(k, v)?;
    }
    let s = st.clone();
    let raw_call = lua.create_function(move |lua, a: MultiValue| call(lua, &s, a))?;
    let s = st.clone();
    let packed_call = lua.create_function(move |lua, t: Table| call(lua, &s, unpack_args(&t)?))?;
    redis.raw_set("call", raising_packed(lua, raw_call, packed_call)?)?;
    let s = st.clone();
    let pcall = lua.create_function(move |lua, a: MultiValue| {
        let (r, e) = call(lua, &s, a)?;
        Ok((e.map_or(r, Value::Table), Value::Nil))
    })?;
    let s = st.clone();
    let packed_pcall = lua.create_function(move |lua, t: Table| {
        let (r, e) = call(lua, &s, unpack_args(&t)?)?;
        Ok((e.map_or(r, Value::Table), Value::Nil))
    })?;
    redis.raw_set("pcall", raising_packed(lua, pcall, packed_pcall)?)?;
    let plain: [(&str, Plain); 4] = [
        ("error_reply", error_reply),
        ("status_reply", status_reply),
        ("sha1hex", sha1hex),
        ("set_repl", set_repl),
    ];
    for (name, f) in plain {
        let func = lua.create_function(move |lua, a: MultiValue| f(lua, a))?;
        redis.raw_set(name, raising(lua, func)?)?;
    }
    let stateful: [(&str, Stateful); 3] = [
        ("log", log),
        ("setresp", setresp),
        ("acl_check_cmd", acl_check_cmd),
    ];
    for (name, f) in stateful {
        let s = st.clone();
        let func = lua.create_function(move |lua, a: MultiValue| f(lua, &s, a))?;
        redis.raw_set(name, raising(lua, func)?)?;
    }
    redis.raw_set(
        "replicate_commands",
        lua.create_function(|_, _: MultiValue| Ok(true))?,
    )?;
    redis.raw_set(
        "breakpoint",
        lua.create_function(|_, _: MultiValue| Ok(false))?,
    )?;
    redis.raw_set("debug", lua.create_function(|_, _: MultiValue| Ok(()))?)?;
    Ok(())
}

/// Fills `redis` with what a library's code sees while `FUNCTION LOAD`
/// runs it: `register_function`, `log` and the constants.
pub(crate) fn install_load_api(lua: &Lua, redis: &Table, st: &Rc<RunState>) -> mlua::Result<()> {
    constants(lua, redis)?;
    let s = st.clone();
    let log_fn = lua.create_function(move |lua, a: MultiValue| log(lua, &s, a))?;
    redis.raw_set("log", raising(lua, log_fn)?)?;
    let s = st.clone();
    let reg = lua.create_function(move |lua, a: MultiValue| {
        if s.phase.get() != Phase::Loading {
            return raise(
                lua,
                "ERR redis.register_function can only be called on FUNCTION LOAD command",
            );
        }
        match crate::library::register(lua, &s, a) {
            Ok(()) => Ok((Value::Nil, None)),
            Err(e) => raise(lua, &e),
        }
    })?;
    redis.raw_set("register_function", raising(lua, reg)?)?;
    Ok(())
}
