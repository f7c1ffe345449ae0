//! The `cjson` library (lua-cjson 2.1.0, as compiled into Redis):
//! `encode`, `decode`, `null`, the configuration functions and `new`, which
//! makes an independent copy with its own configuration. A configuration
//! change lasts as long as the table it was made through (in Redis, until
//! the scripting engine is reset).

use std::sync::{Arc, Mutex, MutexGuard};

use mlua::{Lua, MultiValue, Table, Value};

use super::args::Args;
use super::cfunc::{arg_error, c_function, LibResult};
use super::set_fn;

mod decode;
mod encode;
mod number;

/// What the configuration functions set; the defaults are Redis's.
#[derive(Clone, Debug)]
pub(crate) struct Config {
    /// Encode excessively sparse arrays as objects instead of failing.
    sparse_convert: bool,
    /// An array is excessively sparse when its largest index is over this
    /// many times its number of items (0: never).
    sparse_ratio: i32,
    /// ... and also over this index.
    sparse_safe: i32,
    encode_max_depth: i32,
    decode_max_depth: i32,
    /// Significant digits of encoded numbers (1 to 14).
    precision: i32,
    /// Only changes memory reuse in C; kept to answer what was set.
    keep_buffer: bool,
    /// 0: NaN and infinities are errors, 1: encoded as `nan`/`inf`,
    /// 2: encoded as `null`.
    encode_invalid: usize,
    /// Accept `inf`, `nan`, hexadecimal numbers and leading zeros.
    decode_invalid: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            sparse_convert: false,
            sparse_ratio: 2,
            sparse_safe: 10,
            encode_max_depth: 1000,
            decode_max_depth: 1000,
            precision: 14,
            keep_buffer: true,
            encode_invalid: 0,
            decode_invalid: true,
        }
    }
}

type Shared = Arc<Mutex<Config>>;

fn lock(cfg: &Shared) -> MutexGuard<'_, Config> {
    cfg.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// `LUAI_MAXCSTACK`: the stack slots `lua_checkstack` grants a C function;
/// the C encoder and decoder fail when nesting would need more.
pub(crate) const MAX_STACK: usize = 8000;

/// Builds a `cjson` table with a fresh configuration.
pub(crate) fn module(lua: &Lua) -> mlua::Result<Table> {
    let cfg: Shared = Arc::new(Mutex::new(Config::default()));
    let t = lua.create_table()?;
    // Fields in lua-cjson's order, so that `pairs(cjson)` lists them as
    // Redis does.
    let c = cfg.clone();
    set_fn(lua, &t, "encode", move |lua, a| {
        let cfg = lock(&c).clone();
        encode::encode(lua, a, &cfg)
    })?;
    let c = cfg.clone();
    set_fn(lua, &t, "decode", move |lua, a| {
        let cfg = lock(&c).clone();
        decode::decode(lua, a, &cfg)
    })?;
    let c = cfg.clone();
    set_fn(lua, &t, "encode_sparse_array", move |_, a| {
        let args = arg_init(a, 3)?;
        let mut cfg = lock(&c);
        let mut setting = bool_setting(cfg.sparse_convert);
        let convert = enum_option(&args, 1, &mut setting, BOOL);
        cfg.sparse_convert = setting == 1;
        let convert = convert?;
        let ratio = integer_option(&args, 2, &mut cfg.sparse_ratio, 0, i32::MAX)?;
        let safe = integer_option(&args, 3, &mut cfg.sparse_safe, 0, i32::MAX)?;
        Ok(MultiValue::from_vec(vec![convert, ratio, safe]))
    })?;
    let c = cfg.clone();
    set_fn(lua, &t, "encode_max_depth", move |_, a| {
        let args = arg_init(a, 1)?;
        let v = integer_option(&args, 1, &mut lock(&c).encode_max_depth, 1, i32::MAX)?;
        Ok(MultiValue::from_vec(vec![v]))
    })?;
    let c = cfg.clone();
    set_fn(lua, &t, "decode_max_depth", move |_, a| {
        let args = arg_init(a, 1)?;
        let v = integer_option(&args, 1, &mut lock(&c).decode_max_depth, 1, i32::MAX)?;
        Ok(MultiValue::from_vec(vec![v]))
    })?;
    let c = cfg.clone();
    set_fn(lua, &t, "encode_number_precision", move |_, a| {
        let args = arg_init(a, 1)?;
        let v = integer_option(&args, 1, &mut lock(&c).precision, 1, 14)?;
        Ok(MultiValue::from_vec(vec![v]))
    })?;
    let c = cfg.clone();
    set_fn(lua, &t, "encode_keep_buffer", move |_, a| {
        let args = arg_init(a, 1)?;
        let mut cfg = lock(&c);
        let mut setting = bool_setting(cfg.keep_buffer);
        let v = enum_option(&args, 1, &mut setting, BOOL)?;
        cfg.keep_buffer = setting == 1;
        Ok(MultiValue::from_vec(vec![v]))
    })?;
    let c = cfg.clone();
    set_fn(lua, &t, "encode_invalid_numbers", move |_, a| {
        let args = arg_init(a, 1)?;
        let mut cfg = lock(&c);
        let mut setting = cfg.encode_invalid;
        let v = enum_option(&args, 1, &mut setting, &["off", "on", "null"])?;
        cfg.encode_invalid = setting;
        Ok(MultiValue::from_vec(vec![v]))
    })?;
    let c = cfg;
    set_fn(lua, &t, "decode_invalid_numbers", move |_, a| {
        let args = arg_init(a, 1)?;
        let mut cfg = lock(&c);
        let mut setting = bool_setting(cfg.decode_invalid);
        let v = enum_option(&args, 1, &mut setting, BOOL)?;
        cfg.decode_invalid = setting == 1;
        Ok(MultiValue::from_vec(vec![v]))
    })?;
    let new = c_function(lua, |lua, _| {
        Ok(MultiValue::from_vec(vec![Value::Table(module(lua)?)]))
    })?;
    t.raw_set("new", new)?;
    t.raw_set("null", Value::NULL)?;
    t.raw_set("_NAME", "cjson")?;
    t.raw_set("_VERSION", "2.1.0")?;
    Ok(t)
}

const BOOL: &[&str] = &["off", "on"];

fn bool_setting(b: bool) -> usize {
    usize::from(b)
}

/// `json_arg_init`: at most `max` arguments, the missing ones read as nil.
fn arg_init(mut args: Args, max: usize) -> LibResult<Args> {
    if args.len() > max {
        return Err(arg_error(max as i32 + 1, "found too many arguments"));
    }
    while args.len() < max {
        args.push_nil();
    }
    Ok(args)
}

/// `json_enum_option`: sets `setting` from argument `n` (a boolean, or one
/// of `options` by name) unless it is nil, and returns the value to report:
/// a boolean for off/on, else the option's name.
fn enum_option(args: &Args, n: usize, setting: &mut usize, options: &[&str]) -> LibResult<Value> {
    match args.get(n) {
        Some(Value::Nil) | None => {}
        Some(Value::Boolean(b)) => *setting = usize::from(b),
        Some(_) => {
            let name = args.string(n)?;
            let name = name.as_bytes();
            // luaL_checkoption compares C strings: up to the first NUL.
            let name = name.split(|&b| b == 0).next().unwrap_or_default();
            match options.iter().position(|o| o.as_bytes() == name) {
                Some(i) => *setting = i,
                None => {
                    let mut msg = b"invalid option '".to_vec();
                    msg.extend_from_slice(name);
                    msg.push(b'\'');
                    return Err(arg_error(n as i32, msg));
                }
            }
        }
    }
    let v = if *setting <= 1 {
        Value::Boolean(*setting == 1)
    } else {
        Value::String(args.lua().create_string(options[*setting])?)
    };
    Ok(v)
}

/// `json_integer_option`: sets `setting` from argument `n` unless it is nil
/// (truncated to a C `int`), and returns the setting. The C code reports a
/// value out of range as a bad argument #1 whatever `n` is.
fn integer_option(
    args: &Args,
    n: usize,
    setting: &mut i32,
    min: i32,
    max: i32,
) -> LibResult<Value> {
    if !args.is_none_or_nil(n) {
        let value = args.integer(n)? as i32;
        if !(min..=max).contains(&value) {
            let msg = format!("expected integer between {min} and {max}");
            return Err(arg_error(1, msg));
        }
        *setting = value;
    }
    Ok(Value::Number(f64::from(*setting)))
}
