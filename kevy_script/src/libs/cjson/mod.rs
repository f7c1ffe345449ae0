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

#[cfg(test)]
mod tests {
    use crate::libs::testutil::check;

    #[test]
    fn module() {
        check(&[

            (
                "return {cjson._NAME, cjson._VERSION, type(cjson.new), tostring(cjson.null)}",
                "1) \"cjson\"\n2) \"2.1.0\"\n3) \"function\"\n4) \"userdata: (nil)\"",
            ),

            (
                "return {cjson.new().null == cjson.null, cjson.new()._NAME, cjson.new() ~= cjson}",
                "1) (integer) 1\n2) \"cjson\"\n3) (integer) 1",
            ),

            (
                "local c = cjson.new() c.encode_max_depth(1) return {cjson.encode_max_depth(), c.encode_max_depth()}",
                "1) (integer) 1000\n2) (integer) 1",
            ),

        ]);
    }

    #[test]
    fn defaults() {
        check(&[

            (
                "return {cjson.encode_sparse_array()}",
                "1) (nil)\n2) (integer) 2\n3) (integer) 10",
            ),

            (
                "return {cjson.encode_max_depth(), cjson.decode_max_depth(), cjson.encode_number_precision()}",
                "1) (integer) 1000\n2) (integer) 1000\n3) (integer) 14",
            ),

            (
                "return {cjson.encode_keep_buffer(), cjson.encode_invalid_numbers(), cjson.decode_invalid_numbers()}",
                "1) (integer) 1\n2) (nil)\n3) (integer) 1",
            ),

        ]);
    }

    #[test]
    fn sparse_arrays() {
        check(&[

            (
                "local c = cjson.new() return {c.encode_sparse_array(true, 3, 5)}",
                "1) (integer) 1\n2) (integer) 3\n3) (integer) 5",
            ),

            (
                "local c = cjson.new() return {c.encode_sparse_array(true), c.encode({[20]=1})}",
                "1) (integer) 1\n2) \"{\\\"20\\\":1}\"",
            ),

            (
                "local c = cjson.new() return {c.encode_sparse_array('on')}",
                "1) (integer) 1\n2) (integer) 2\n3) (integer) 10",
            ),

            (
                "local c = cjson.new() return {c.encode_sparse_array(false, 0), #c.encode({[2000]=1})}",
                "1) (nil)\n2) (integer) 9998",
            ),

            (
                "local c = cjson.new() return {c.encode_sparse_array(nil, 1, 0), c.encode({[1]=1,[2]=1,[3]=1})}",
                "1) (nil)\n2) \"[1,1,1]\"",
            ),

            (
                "local c = cjson.new() return {c.encode_sparse_array(nil, 1, 0), c.encode({[2]=1,[3]=1})}",
                "(error) ERR user_script:1: Cannot serialise table: excessively sparse array script: 6d9ef40a7648681673f7c4ce07f309fea0dc9214, on @user_script:1.",
            ),

            (
                "local c = cjson.new() return {c.encode_sparse_array(nil, nil, 2^32+3)}",
                "1) (nil)\n2) (integer) 2\n3) (integer) 3",
            ),

            (
                "local c = cjson.new() return {c.encode_sparse_array(nil, nil, 1.9)}",
                "1) (nil)\n2) (integer) 2\n3) (integer) 1",
            ),

            (
                "local c = cjson.new() return {c.encode_sparse_array('yes')}",
                "(error) ERR user_script:1: bad argument #1 to 'encode_sparse_array' (invalid option 'yes') script: eafc83a0d03ae8f18a31ebe8fcff3f87eadf6074, on @user_script:1.",
            ),

            (
                "local c = cjson.new() return {c.encode_sparse_array(1)}",
                "(error) ERR user_script:1: bad argument #1 to 'encode_sparse_array' (invalid option '1') script: 012419a62dd928f4ee704d9b3c9c584e12f7eea9, on @user_script:1.",
            ),

            (
                "local c = cjson.new() return {c.encode_sparse_array(nil, -1)}",
                "(error) ERR user_script:1: bad argument #1 to 'encode_sparse_array' (expected integer between 0 and 2147483647) script: 346c35c83c506f94649922700f0c88cf76841ff7, on @user_script:1.",
            ),

            (
                "local c = cjson.new() return {c.encode_sparse_array(nil, 'x')}",
                "(error) ERR user_script:1: bad argument #2 to 'encode_sparse_array' (number expected, got string) script: 49d5fe5b66d3c28208649014466077271eb317ca, on @user_script:1.",
            ),

            (
                "local c = cjson.new() return {c.encode_sparse_array(nil, nil, 2^31)}",
                "(error) ERR user_script:1: bad argument #1 to 'encode_sparse_array' (expected integer between 0 and 2147483647) script: 1ba6d3ddaf29a051d1de1ea3773aa2b4ac811e6d, on @user_script:1.",
            ),

            (
                "local c = cjson.new() return {c.encode_sparse_array(1,2,3,4)}",
                "(error) ERR user_script:1: bad argument #4 to 'encode_sparse_array' (found too many arguments) script: b5424d6f2b7d4ad102c6c176b4b2db4ca8501cbf, on @user_script:1.",
            ),

            (
                "local c = cjson.new() pcall(c.encode_sparse_array, true, -1) return {c.encode_sparse_array()}",
                "1) (integer) 1\n2) (integer) 2\n3) (integer) 10",
            ),

        ]);
    }

    #[test]
    fn depths() {
        check(&[

            (
                "local c = cjson.new() return {c.encode_max_depth(0)}",
                "(error) ERR user_script:1: bad argument #1 to 'encode_max_depth' (expected integer between 1 and 2147483647) script: 6c07ad9e3c12e47bb2aa6764dde0fb1f4a0e8918, on @user_script:1.",
            ),

            (
                "local c = cjson.new() return {c.encode_max_depth(2), pcall(c.encode, {{{1}}})}",
                "1) (integer) 2\n2) (nil)\n3) \"Cannot serialise, excessive nesting (3)\"",
            ),

            (
                "local c = cjson.new() return {c.encode_max_depth(3), c.encode({{{1}}})}",
                "1) (integer) 3\n2) \"[[[1]]]\"",
            ),

            (
                "local c = cjson.new() return {c.encode_max_depth(1, 2)}",
                "(error) ERR user_script:1: bad argument #2 to 'encode_max_depth' (found too many arguments) script: c349f5d338551fb8646035621ece3f14595837d3, on @user_script:1.",
            ),

            (
                "local c = cjson.new() return {c.encode_max_depth({})}",
                "(error) ERR user_script:1: bad argument #1 to 'encode_max_depth' (number expected, got table) script: 399f38c731f611cd615d7339172a530f22b62695, on @user_script:1.",
            ),

            (
                "local c = cjson.new() return {c.encode_max_depth('5')}",
                "1) (integer) 5",
            ),

            (
                "local c = cjson.new() return {c.encode_max_depth('x')}",
                "(error) ERR user_script:1: bad argument #1 to 'encode_max_depth' (number expected, got string) script: eb8983061de74063aa874c41010f76472b0b7b20, on @user_script:1.",
            ),

            (
                "local c = cjson.new() return {c.decode_max_depth(2), pcall(c.decode, '[[[1]]]')}",
                "1) (integer) 2\n2) (nil)\n3) \"Found too many nested data structures (3) at character 3\"",
            ),

            (
                r#"local c = cjson.new() return {c.decode_max_depth(2), pcall(c.decode, '{"a":{"b":{}}}')}"#,
                "1) (integer) 2\n2) (nil)\n3) \"Found too many nested data structures (3) at character 11\"",
            ),

            (
                "local c = cjson.new() return {c.decode_max_depth(1), pcall(c.decode, '[]')}",
                "1) (integer) 1\n2) (integer) 1\n3) (empty array)",
            ),

            (
                "local c = cjson.new() return {c.decode_max_depth(1), pcall(c.decode, '[[]]')}",
                "1) (integer) 1\n2) (nil)\n3) \"Found too many nested data structures (2) at character 2\"",
            ),

            (
                "local c = cjson.new() return {c.decode_max_depth(0)}",
                "(error) ERR user_script:1: bad argument #1 to 'decode_max_depth' (expected integer between 1 and 2147483647) script: 78fd0eaed4100ac17ab4ea31a2cd795c07878b3b, on @user_script:1.",
            ),

        ]);
    }

    #[test]
    fn precision() {
        check(&[

            (
                "local c = cjson.new() return {c.encode_number_precision(3), c.encode(math.pi), c.encode(1234.5), c.encode({[1/3]=1})}",
                "1) (integer) 3\n2) \"3.14\"\n3) \"1.23e+03\"\n4) \"{\\\"0.333\\\":1}\"",
            ),

            (
                "local c = cjson.new() return {c.encode_number_precision(1), c.encode(0.05), c.encode(15), c.encode(95)}",
                "1) (integer) 1\n2) \"0.05\"\n3) \"2e+01\"\n4) \"1e+02\"",
            ),

            (
                "local c = cjson.new() return {c.encode_number_precision(0)}",
                "(error) ERR user_script:1: bad argument #1 to 'encode_number_precision' (expected integer between 1 and 14) script: ed62eb7e162107901d2638152f39839efa137f3e, on @user_script:1.",
            ),

            (
                "local c = cjson.new() return {c.encode_number_precision(15)}",
                "(error) ERR user_script:1: bad argument #1 to 'encode_number_precision' (expected integer between 1 and 14) script: b243bfd69d81f784c031799704aaddad64d03cab, on @user_script:1.",
            ),

        ]);
    }

    #[test]
    fn keep_buffer() {
        check(&[

            (
                "local c = cjson.new() return {c.encode_keep_buffer(false), c.encode({1})}",
                "1) (nil)\n2) \"[1]\"",
            ),

            (
                "local c = cjson.new() return {c.encode_keep_buffer('off'), c.encode_keep_buffer('on')}",
                "1) (nil)\n2) (integer) 1",
            ),

            (
                "local c = cjson.new() return {c.encode_keep_buffer('x')}",
                "(error) ERR user_script:1: bad argument #1 to 'encode_keep_buffer' (invalid option 'x') script: 79302292e894a82340b6151e5f22a6db6097aa7a, on @user_script:1.",
            ),

            (
                "local c = cjson.new() return {c.encode_keep_buffer(0)}",
                "(error) ERR user_script:1: bad argument #1 to 'encode_keep_buffer' (invalid option '0') script: 1e08da980e7a5a82b39266cb43c2c09b43f0b0df, on @user_script:1.",
            ),

        ]);
    }

    #[test]
    fn invalid_numbers() {
        check(&[

            (
                "local c = cjson.new() return {c.encode_invalid_numbers(true), c.encode({1/0, -1/0, 0/0, -(0/0)})}",
                "1) (integer) 1\n2) \"[inf,-inf,nan,nan]\"",
            ),

            (
                "local c = cjson.new() return {c.encode_invalid_numbers(true), c.encode({[1/0]=1})}",
                "1) (integer) 1\n2) \"{\\\"inf\\\":1}\"",
            ),

            (
                "local c = cjson.new() return {c.encode_invalid_numbers('null'), c.encode({1/0, -1/0, 0/0})}",
                "1) \"null\"\n2) \"[null,null,null]\"",
            ),

            (
                "local c = cjson.new() return {c.encode_invalid_numbers('null'), c.encode({[1/0]=1})}",
                "1) \"null\"\n2) \"{\\\"null\\\":1}\"",
            ),

            (
                "local c = cjson.new() return {c.encode_invalid_numbers('on'), c.encode_invalid_numbers('off')}",
                "1) (integer) 1\n2) (nil)",
            ),

            (
                "local c = cjson.new() return {c.encode_invalid_numbers('nul')}",
                "(error) ERR user_script:1: bad argument #1 to 'encode_invalid_numbers' (invalid option 'nul') script: b61a5f2c55a6b15a409cfbdec05ab0b0a3b159f5, on @user_script:1.",
            ),

            (
                "local c = cjson.new() return {c.decode_invalid_numbers(false), pcall(c.decode, '0x10')}",
                "1) (nil)\n2) (nil)\n3) \"Expected value but found invalid number at character 1\"",
            ),

            (
                "local c = cjson.new() return {c.decode_invalid_numbers(false), pcall(c.decode, '+1')}",
                "1) (nil)\n2) (nil)\n3) \"Expected value but found invalid token at character 1\"",
            ),

            (
                "local c = cjson.new() return {c.decode_invalid_numbers(false), pcall(c.decode, 'NaN')}",
                "1) (nil)\n2) (nil)\n3) \"Expected value but found invalid token at character 1\"",
            ),

            (
                "local c = cjson.new() return {c.decode_invalid_numbers(false), pcall(c.decode, '-inf')}",
                "1) (nil)\n2) (nil)\n3) \"Expected value but found invalid number at character 1\"",
            ),

            (
                "local c = cjson.new() return {c.decode_invalid_numbers(false), pcall(c.decode, '007')}",
                "1) (nil)\n2) (nil)\n3) \"Expected value but found invalid number at character 1\"",
            ),

            (
                "local c = cjson.new() return {c.decode_invalid_numbers(false), pcall(c.decode, '[-0.5, 0, 10]')}",
                "1) (nil)\n2) (integer) 1\n3) 1) (integer) 0\n   2) (integer) 0\n   3) (integer) 10",
            ),

            (
                "local c = cjson.new() return {c.decode_invalid_numbers('on')}",
                "1) (integer) 1",
            ),

            (
                "local c = cjson.new() return {c.decode_invalid_numbers({})}",
                "(error) ERR user_script:1: bad argument #1 to 'decode_invalid_numbers' (string expected, got table) script: 0311b4a9079d17a9479ebc1772c0d39659633e96, on @user_script:1.",
            ),

        ]);
    }
}
