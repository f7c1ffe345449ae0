//! The C libraries Redis compiles into its Lua 5.1, written here in Rust:
//! `cjson`, `cmsgpack`, `struct` and `bit`, each installed as a global
//! table before the sandbox freezes the globals. Each behaves as on
//! redis-server 7.0, error texts included; `cfunc` makes the Rust functions
//! raise errors the way C functions of the Lua API do.

use mlua::{Lua, MultiValue, Table};

mod args;
mod bit;
mod cfunc;
mod structlib;

use cfunc::{c_function, LibResult};

/// Installs `cjson`, `cmsgpack`, `struct` and `bit` as globals of `lua`.
pub fn install(lua: &Lua) -> mlua::Result<()> {
    let globals = lua.globals();
    globals.raw_set("struct", structlib::module(lua)?)?;
    globals.raw_set("bit", bit::module(lua)?)?;
    Ok(())
}

/// Sets `table[name]` to a library function (see `cfunc`).
fn set_fn<F>(lua: &Lua, table: &Table, name: &str, f: F) -> mlua::Result<()>
where
    F: Fn(&Lua, MultiValue) -> LibResult<MultiValue> + mlua::MaybeSend + 'static,
{
    table.raw_set(name, c_function(lua, f)?)
}

#[cfg(test)]
pub(crate) mod testutil;
