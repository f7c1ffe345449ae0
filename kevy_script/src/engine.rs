//! `Engine`: one sandboxed Lua 5.1 state as Redis 7.0 shows it to
//! scripts: the safe base library plus `table`, `string`, `math`,
//! `cjson`, `cmsgpack`, `struct`, `bit` and `redis`, read-only library
//! tables, protected globals, Redis's PRNG, and the error handler that
//! records where a script failed. EVAL scripts and function libraries each
//! get an engine of their own, as in Redis.

use crate::api;
use crate::state::RunState;
use mlua::{Function, Lua, LuaOptions, StdLib, Table, Value};
use std::rc::Rc;

/// The chunk name of kevy's own Lua code; the error handler skips its
/// frames when it looks for the script line that failed.
pub(crate) const SANDBOX_CHUNK: &str = "=[kevy sandbox]";

const SANDBOX_LUA: &str = include_str!("sandbox.lua");

/// Globals Redis does not give scripts.
const REMOVED: [&str; 12] = [
    "print", "dofile", "loadfile", "getfenv", "setfenv", "module", "require", "newproxy", "os",
    "io", "package", "debug",
];

/// The library tables made read-only.
const FROZEN: [&str; 9] = [
    "string",
    "math",
    "table",
    "coroutine",
    "redis",
    "cjson",
    "cmsgpack",
    "struct",
    "bit",
];

/// One sandboxed Lua state and the handles the VM needs into it.
pub(crate) struct Engine {
    pub lua: Lua,
    pub st: Rc<RunState>,
    /// The real globals table (scripts see a read-only proxy of it).
    pub globals: Table,
    /// The proxy scripts see as `_G`.
    pub proxy: Table,
    /// Lua helpers from `sandbox.lua`.
    pub helpers: Table,
    /// The error handler passed to `xpcall`.
    pub handler: Function,
    /// The C entry every run goes through (`raw::entry`).
    pub entry: Function,
}

impl Engine {
    /// A fresh engine; `extra` fills engine-specific globals before the
    /// globals are frozen.
    pub(crate) fn new(extra: impl FnOnce(&Engine) -> mlua::Result<()>) -> mlua::Result<Engine> {
        let lua = Lua::new_with(
            StdLib::TABLE | StdLib::STRING | StdLib::MATH,
            LuaOptions::new(),
        )?;
        let globals = lua.globals();
        let helpers: Table = lua
            .load(SANDBOX_LUA)
            .set_name(SANDBOX_CHUNK)
            .call(globals.clone())?;
        crate::libs::install(&lua)?;
        let st = Rc::new(RunState::new());
        let redis = lua.create_table()?;
        api::install_runtime(&lua, &redis, &st)?;
        globals.raw_set("redis", redis)?;
        crate::random::install(&lua)?;
        let entry = crate::raw::entry_function(&lua)?;
        let handler = {
            let st = st.clone();
            lua.create_function(move |lua, err: Value| error_handler(lua, &st, err))?
        };
        globals.raw_set("__redis__err__handler", handler.clone())?;
        let mut engine = Engine {
            lua,
            st,
            globals: globals.clone(),
            proxy: globals.clone(),
            helpers,
            handler,
            entry,
        };
        extra(&engine)?;
        let setfenv: Function = globals.raw_get("setfenv")?;
        for name in REMOVED {
            globals.raw_set(name, Value::Nil)?;
        }
        let frozen = engine.lua.create_sequence_from(FROZEN)?;
        let proxy: Table = engine.helpers.raw_get::<Function>("freeze")?.call(frozen)?;
        // Code compiled later (loadstring in a script) sees the proxy too.
        setfenv.call::<()>((0, proxy.clone()))?;
        engine.proxy = proxy;
        crate::hook::arm_tick(&engine.lua, &engine.st)?;
        Ok(engine)
    }

    /// Compiles `code` as a chunk named `name` whose globals are `env`.
    pub(crate) fn compile(&self, code: &[u8], name: &str, env: &Table) -> Result<Function, String> {
        self.lua
            .load(code)
            .set_name(name)
            .set_environment(env.clone())
            .into_function()
            .map_err(|e| match e {
                mlua::Error::SyntaxError { message, .. } => message,
                other => other.to_string(),
            })
    }

    /// Runs `f` under the error handler with `KEYS` and `ARGV` (as
    /// globals when `as_globals`, as its two arguments otherwise): `Ok`
    /// with its first result, or `Err` with the handler's error table.
    pub(crate) fn protected_call(
        &self,
        f: &Function,
        keys: &[bytes::Bytes],
        args: &[bytes::Bytes],
        as_globals: bool,
    ) -> mlua::Result<Result<Value, Value>> {
        let data = crate::raw::EntryArgs::new(keys, args);
        let ptr = mlua::LightUserData(&data as *const _ as *mut std::ffi::c_void);
        let globals = if as_globals {
            Value::Table(self.globals.clone())
        } else {
            Value::Nil
        };
        let (ok, first): (bool, Value) = self.entry.call((f, &self.handler, globals, ptr))?;
        Ok(if ok { Ok(first) } else { Err(first) })
    }
}

/// The handler `xpcall` calls with the error, before the stack unwinds:
/// it turns the error into a table `{err = ..., source = ..., line = ...}`
/// naming the script line that failed (Redis's `__redis__err__handler`).
fn error_handler(lua: &Lua, st: &RunState, err: Value) -> mlua::Result<Value> {
    if st.abort.borrow().is_some() {
        return Ok(err);
    }
    let t = match &err {
        Value::Table(t) => t.clone(),
        other => {
            let text = match other {
                Value::String(s) => {
                    let mut b = b"ERR ".to_vec();
                    b.extend_from_slice(&s.as_bytes());
                    b
                }
                Value::Integer(i) => format!("ERR {i}").into_bytes(),
                Value::Number(n) => format!("ERR {}", crate::num::lua_number(*n)).into_bytes(),
                Value::Nil => b"ERR nil".to_vec(),
                Value::Boolean(b) => format!("ERR {b}").into_bytes(),
                Value::Error(e) => format!("ERR {e}").into_bytes(),
                _ => b"ERR unknown error".to_vec(),
            };
            let t = lua.create_table()?;
            t.raw_set("err", lua.create_string(&text)?)?;
            t
        }
    };
    if let Some((source, line)) = locate(lua, 1) {
        t.raw_set("source", source)?;
        t.raw_set("line", line)?;
    }
    Ok(Value::Table(t))
}

/// The script line running at stack `level` or the nearest above it: the
/// first Lua frame that is not kevy's own sandbox code, as (chunk source,
/// line).
pub(crate) fn locate(lua: &Lua, level: usize) -> Option<(String, usize)> {
    for level in level..level + 64 {
        let frame = lua.inspect_stack(level, |d| {
            let src = d.source();
            let what = src.what;
            let source = src.source.map(|s| s.into_owned()).unwrap_or_default();
            (what, source, d.current_line())
        });
        let (what, source, line) = frame?;
        if what == "C" || source == SANDBOX_CHUNK {
            continue;
        }
        return Some((source, line.unwrap_or(0)));
    }
    None
}
