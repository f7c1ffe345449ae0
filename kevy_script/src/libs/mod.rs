//! The C libraries Redis compiles into its Lua 5.1, written here in Rust:
//! `cjson`, `cmsgpack`, `struct` and `bit`, each installed as a global
//! table before the sandbox freezes the globals. Each behaves as on
//! redis-server 7.0.15, error texts included (its tests are transcripts of
//! that server's answers). `cfunc` makes the Rust functions raise errors and
//! return values the way C functions of the Lua API do, and `args` checks
//! arguments as the Lua auxiliary library does.

use mlua::{Lua, MultiValue, Table};

use args::Args;

mod args;
mod bit;
mod cfunc;
mod cjson;
mod cmsgpack;
mod structlib;

use cfunc::{c_function, LibResult};

/// Installs `cjson`, `cmsgpack`, `struct` and `bit` as globals of `lua`.
pub fn install(lua: &Lua) -> mlua::Result<()> {
    let globals = lua.globals();
    // Redis's loading order.
    globals.raw_set("cjson", cjson::module(lua)?)?;
    globals.raw_set("struct", structlib::module(lua)?)?;
    globals.raw_set("cmsgpack", cmsgpack::module(lua)?)?;
    globals.raw_set("bit", bit::module(lua)?)?;
    Ok(())
}

/// Sets `table[name]` to a library function (see `cfunc`).
fn set_fn<F>(lua: &Lua, table: &Table, name: &str, f: F) -> mlua::Result<()>
where
    F: Fn(&Lua, Args) -> LibResult<MultiValue> + mlua::MaybeSend + 'static,
{
    table.raw_set(name, c_function(lua, f)?)
}

#[cfg(test)]
pub(crate) mod testutil;

#[cfg(test)]
mod tests {
    use super::testutil::{check, check_transcript};

    /// The differential cases kept for the server-level tests pass here.
    #[test]
    fn oracle_transcript() {
        let cases = check_transcript(include_str!("../../tests/libs_oracle.txt"));
        assert!(cases >= 60, "only {cases} cases");
    }

    #[test]
    fn tables_list_their_fields_as_redis_does() {
        check(&[
            (
                "local t={} for k,v in pairs(cjson) do t[#t+1]=k end return table.concat(t, ' ')",
                r#""_NAME encode decode_max_depth _VERSION decode_invalid_numbers encode_keep_buffer null encode_number_precision new encode_max_depth encode_invalid_numbers decode encode_sparse_array""#,
            ),
            (
                "local t={} for k,v in pairs(cmsgpack) do t[#t+1]=k end return table.concat(t, ' ')",
                r#""_DESCRIPTION pack _NAME unpack _COPYRIGHT _VERSION unpack_one unpack_limit""#,
            ),
            (
                "local t={} for k,v in pairs(struct) do t[#t+1]=k end return table.concat(t, ' ')",
                r#""pack size unpack""#,
            ),
            (
                "local t={} for k,v in pairs(bit) do t[#t+1]=k end return table.concat(t, ' ')",
                r#""band rshift bor bnot bswap bxor tobit ror lshift tohex rol arshift""#,
            ),
        ]);
    }
}
