//! Argument checks with the Lua 5.1 auxiliary library's semantics and
//! error texts (`luaL_checknumber`, `luaL_checkinteger`, `luaL_optinteger`,
//! `luaL_checklstring`), and the C conversions of doubles to integers as
//! they behave on x86-64, which the C libraries rely on for out-of-range
//! and NaN values.

use mlua::{Lua, MultiValue, Table, Value};

use super::cfunc::{arg_error, LibResult};

/// The arguments of one call, numbered from 1 as in the C API.
pub(crate) struct Args<'l> {
    lua: &'l Lua,
    store: Store,
    /// Arguments in the store.
    given: usize,
    /// `lua_gettop`: `given` and the nils pushed since.
    len: usize,
}

enum Store {
    Inline(Vec<Value>),
    /// Many arguments, kept in a table rather than one handle each.
    Table(Table),
}

impl<'l> Args<'l> {
    pub(crate) fn new(lua: &'l Lua, values: MultiValue) -> Self {
        let values = values.into_vec();
        let given = values.len();
        Args {
            lua,
            store: Store::Inline(values),
            given,
            len: given,
        }
    }

    /// The `n` arguments in `values[1..=n]`.
    pub(crate) fn from_table(lua: &'l Lua, values: Table, n: usize) -> Self {
        Args {
            lua,
            store: Store::Table(values),
            given: n,
            len: n,
        }
    }

    /// The Lua state the call runs in.
    pub(crate) fn lua(&self) -> &'l Lua {
        self.lua
    }

    /// `lua_pushnil`: a C function that pushes a value on its own stack
    /// makes it the next argument index's value.
    pub(crate) fn push_nil(&mut self) {
        self.len += 1;
    }

    /// `lua_settop(L, n)` when `n` is at most `len()`: drops the arguments
    /// after the first `n`.
    pub(crate) fn truncate(mut self, n: usize) -> Self {
        self.len = self.len.min(n);
        self.given = self.given.min(n);
        self
    }

    /// `lua_gettop`.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Argument `n`, `None` when absent ("no value").
    pub(crate) fn get(&self, n: usize) -> Option<Value> {
        if n == 0 || n > self.len {
            return None;
        }
        if n > self.given {
            return Some(Value::Nil);
        }
        Some(match &self.store {
            Store::Inline(values) => values[n - 1].clone(),
            Store::Table(t) => t.raw_get(n).unwrap_or(Value::Nil),
        })
    }

    /// `lua_isnoneornil`.
    pub(crate) fn is_none_or_nil(&self, n: usize) -> bool {
        matches!(self.get(n), None | Some(Value::Nil))
    }

    /// `luaL_typename`, "no value" for an absent argument.
    pub(crate) fn type_name(&self, n: usize) -> &'static str {
        self.get(n).as_ref().map_or("no value", type_name)
    }

    fn type_error(&self, n: usize, expected: &str) -> super::cfunc::LibError {
        let msg = format!("{expected} expected, got {}", self.type_name(n));
        arg_error(n as i32, msg)
    }

    /// `luaL_checknumber`: a number, or a string Lua converts to one.
    pub(crate) fn number(&self, n: usize) -> LibResult<f64> {
        match self.get(n).map(|v| to_number(self.lua, &v)) {
            Some(Some(x)) => Ok(x),
            _ => Err(self.type_error(n, "number")),
        }
    }

    /// `luaL_checkinteger`: the number truncated as `lua_tointeger` does.
    pub(crate) fn integer(&self, n: usize) -> LibResult<i64> {
        self.number(n).map(trunc_i64)
    }

    /// `luaL_optinteger`.
    pub(crate) fn opt_integer(&self, n: usize, default: i64) -> LibResult<i64> {
        if self.is_none_or_nil(n) {
            Ok(default)
        } else {
            self.integer(n)
        }
    }

    /// `luaL_checklstring`: a string, or a number formatted by Lua.
    pub(crate) fn string(&self, n: usize) -> LibResult<mlua::String> {
        match self.get(n) {
            Some(Value::String(s)) => Ok(s),
            Some(v @ (Value::Integer(_) | Value::Number(_))) => self
                .lua
                .coerce_string(v)?
                .ok_or_else(|| self.type_error(n, "string")),
            _ => Err(self.type_error(n, "string")),
        }
    }
}

/// `lua_typename(lua_type(v))`.
pub(crate) fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Nil => "nil",
        Value::Boolean(_) => "boolean",
        Value::Integer(_) | Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Table(_) => "table",
        Value::Function(_) => "function",
        Value::Thread(_) => "thread",
        _ => "userdata",
    }
}

/// `lua_tonumber`: numbers, and strings Lua's own parser accepts.
pub(crate) fn to_number(lua: &Lua, v: &Value) -> Option<f64> {
    match v {
        Value::Integer(i) => Some(*i as f64),
        Value::Number(x) => Some(*x),
        Value::String(_) => lua.coerce_number(v.clone()).ok().flatten(),
        _ => None,
    }
}

const TWO_63: f64 = 9_223_372_036_854_775_808.0;

/// A C cast of a double to a 64-bit signed integer on x86-64
/// (`cvttsd2si`): truncation, and `i64::MIN` for NaN and out-of-range
/// values.
pub(crate) fn trunc_i64(x: f64) -> i64 {
    if (-TWO_63..TWO_63).contains(&x) {
        x as i64
    } else {
        i64::MIN
    }
}

/// A C cast of a double to a 32-bit `int` on x86-64: truncation, and
/// `i32::MIN` for NaN and out-of-range values.
pub(crate) fn trunc_i32(x: f64) -> i32 {
    if x > -2_147_483_649.0 && x < 2_147_483_648.0 {
        x as i32
    } else {
        i32::MIN
    }
}

/// A C cast of a double to an unsigned 64-bit integer as GCC compiles it
/// for x86-64: values from 2^63 up are converted after subtracting 2^63.
pub(crate) fn trunc_u64(x: f64) -> u64 {
    if x >= TWO_63 {
        (trunc_i64(x - TWO_63) as u64) ^ (1 << 63)
    } else {
        trunc_i64(x) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn casts_follow_x86() {
        assert_eq!(trunc_i64(-1.9), -1);
        assert_eq!(trunc_i64(f64::NAN), i64::MIN);
        assert_eq!(trunc_i64(1e300), i64::MIN);
        assert_eq!(trunc_i32(2_147_483_648.0), i32::MIN);
        assert_eq!(trunc_i32(-2_147_483_648.9), i32::MIN);
        assert_eq!(trunc_i32(-2_147_483_647.9), -2_147_483_647);
        assert_eq!(trunc_i32(4_294_967_301.0), i32::MIN);
        assert_eq!(trunc_u64(TWO_63 + 4096.0), (1 << 63) + 4096);
        assert_eq!(trunc_u64(1e20), 0);
        assert_eq!(trunc_u64(f64::NAN), 1 << 63);
        assert_eq!(trunc_u64(-1.0), u64::MAX);
    }
}
