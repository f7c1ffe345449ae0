//! Function libraries (`FUNCTION LOAD`): the `#!lua name=...` header, and
//! `redis.register_function` in both its forms (positional and named
//! arguments), with Redis 7.0's checks and error texts.

use crate::flags::ScriptFlags;
use crate::state::RunState;
use bytes::Bytes;
use mlua::{Function, Lua, MultiValue, Table, Value};

/// A function a library registered.
#[derive(Debug, Clone, PartialEq)]
pub struct FunctionInfo {
    /// Its name (what `FCALL` names).
    pub name: String,
    /// `description`, if given.
    pub description: Option<Bytes>,
    /// Its flags.
    pub flags: ScriptFlags,
}

/// A loaded library: its name, its code and its functions.
#[derive(Debug, Clone, PartialEq)]
pub struct Library {
    /// The library's name from its header.
    pub name: String,
    /// The code as loaded (header included).
    pub code: Bytes,
    /// Its functions, in registration order.
    pub functions: Vec<FunctionInfo>,
}

/// A registration collected while a library's code runs.
pub(crate) struct Registered {
    pub info: FunctionInfo,
    pub callback: Function,
}

/// True for a valid library or function name: letters, digits and `_`,
/// at least one.
pub(crate) fn valid_name(name: &[u8]) -> bool {
    !name.is_empty() && name.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_')
}

const BAD_NAME: &str =
    "Library names can only contain letters, numbers, or underscores(_) and must be at least one character long";

/// The library name of `code`'s `#!<engine> name=<name>` header. Errors
/// are Redis's texts without the `ERR ` prefix.
pub fn library_name(code: &[u8]) -> Result<String, String> {
    if !code.starts_with(b"#!") {
        return Err("Missing library metadata".into());
    }
    let end = code.iter().position(|&c| c == b'\n').unwrap_or(code.len());
    let line = &code[2..end];
    let engine_end = line.iter().position(|&c| c == b' ').unwrap_or(line.len());
    let engine = &line[..engine_end];
    if !engine.eq_ignore_ascii_case(b"lua") {
        return Err(format!(
            "Engine '{}' not found",
            String::from_utf8_lossy(engine)
        ));
    }
    let Some(parts) = split_args(&line[engine_end..]) else {
        return Err("Invalid metadata value given: invalid library metadata".into());
    };
    let mut name = None;
    for p in parts {
        let Some(v) = p.strip_prefix(b"name=") else {
            return Err(format!(
                "Invalid metadata value given: {}",
                String::from_utf8_lossy(&p)
            ));
        };
        if name.is_some() {
            return Err("Invalid metadata value, name argument was given multiple times".into());
        }
        name = Some(v.to_vec());
    }
    let Some(name) = name else {
        return Err("Library name was not given".into());
    };
    if !valid_name(&name) {
        return Err(BAD_NAME.into());
    }
    Ok(String::from_utf8_lossy(&name).into_owned())
}

/// Splits `line` into arguments the way Redis splits a config line or a
/// shebang (`sdssplitargs`): spaces separate, `"..."` and `'...'` quote
/// (with backslash escapes inside double quotes), quotes may sit inside an
/// argument (`name="foo"`). None on an unbalanced quote.
fn split_args(line: &[u8]) -> Option<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < line.len() {
        while i < line.len() && line[i].is_ascii_whitespace() {
            i += 1;
        }
        if i >= line.len() {
            break;
        }
        let mut arg = Vec::new();
        while i < line.len() && !line[i].is_ascii_whitespace() {
            match line[i] {
                q @ (b'"' | b'\'') => {
                    i += 1;
                    loop {
                        let c = *line.get(i)?;
                        i += 1;
                        if c == q {
                            break;
                        }
                        if c == b'\\' && q == b'"' {
                            let e = *line.get(i)?;
                            i += 1;
                            arg.push(match e {
                                b'n' => b'\n',
                                b'r' => b'\r',
                                b't' => b'\t',
                                other => other,
                            });
                        } else {
                            arg.push(c);
                        }
                    }
                }
                c => {
                    arg.push(c);
                    i += 1;
                }
            }
        }
        out.push(arg);
    }
    Some(out)
}

/// A value Lua would accept where a string is expected (`lua_isstring`:
/// strings and numbers).
fn stringish(v: &Value) -> Option<Vec<u8>> {
    match v {
        Value::String(s) => Some(s.as_bytes().to_vec()),
        Value::Integer(i) => Some(i.to_string().into_bytes()),
        Value::Number(n) => Some(crate::num::lua_number(*n).into_bytes()),
        _ => None,
    }
}

fn flags_of(v: &Value) -> Result<ScriptFlags, String> {
    let Value::Table(t) = v else {
        return Err(
            "flags argument to redis.register_function must be a table representing function flags"
                .into(),
        );
    };
    let mut flags = ScriptFlags::empty();
    for i in 1.. {
        match t.raw_get::<Value>(i) {
            Ok(Value::Nil) | Err(_) => break,
            Ok(Value::String(s)) => match ScriptFlags::by_name(&s.as_bytes()) {
                Some(f) => flags = flags.with(f),
                None => return Err("unknown flag given".into()),
            },
            Ok(_) => return Err("unknown flag given".into()),
        }
    }
    Ok(flags)
}

fn named(t: &Table) -> Result<(Vec<u8>, Function, ScriptFlags, Option<Bytes>), String> {
    let (mut name, mut callback, mut flags, mut desc) = (None, None, ScriptFlags::empty(), None);
    for pair in t.pairs::<Value, Value>() {
        let Ok((k, v)) = pair else { continue };
        let key = match &k {
            Value::String(s) => s.as_bytes().to_vec(),
            _ => {
                return Err(
                    "named argument key given to redis.register_function is not a string".into(),
                )
            }
        };
        match &key[..] {
            b"function_name" => {
                match stringish(&v) {
                    Some(n) => name = Some(n),
                    None => return Err(
                        "function_name argument given to redis.register_function must be a string"
                            .into(),
                    ),
                }
            }
            b"callback" => match v {
                Value::Function(f) => callback = Some(f),
                _ => {
                    return Err(
                        "callback argument given to redis.register_function must be a function"
                            .into(),
                    )
                }
            },
            b"description" => {
                match stringish(&v) {
                    Some(d) => desc = Some(Bytes::from(d)),
                    None => return Err(
                        "description argument given to redis.register_function must be a string"
                            .into(),
                    ),
                }
            }
            b"flags" => flags = flags_of(&v)?,
            _ => return Err("unknown argument given to redis.register_function".into()),
        }
    }
    let Some(name) = name else {
        return Err("redis.register_function must get a function name argument".into());
    };
    let Some(callback) = callback else {
        return Err("redis.register_function must get a callback argument".into());
    };
    Ok((name, callback, flags, desc))
}

/// `redis.register_function(...)` while a library loads: checks the
/// arguments and records the function. Errors are full Redis texts.
pub(crate) fn register(_lua: &Lua, st: &RunState, args: MultiValue) -> Result<(), String> {
    let (name, callback, flags, description) = match args.len() {
        1 => match &args[0] {
            Value::Table(t) => named(t).map_err(|e| format!("ERR {e}"))?,
            _ => return Err("ERR calling redis.register_function with a single argument is only applicable to Lua table (representing named arguments).".into()),
        },
        2 => {
            let Some(name) = stringish(&args[0]) else {
                return Err("ERR first argument to redis.register_function must be a string".into());
            };
            let Value::Function(f) = &args[1] else {
                return Err("ERR second argument to redis.register_function must be a function".into());
            };
            (name, f.clone(), ScriptFlags::empty(), None)
        }
        _ => return Err("ERR wrong number of arguments to redis.register_function".into()),
    };
    if !valid_name(&name) {
        return Err(format!("ERR {BAD_NAME}"));
    }
    let name = String::from_utf8_lossy(&name).into_owned();
    let mut reg = st.registered.borrow_mut();
    if reg.iter().any(|r| r.info.name == name) {
        return Err("ERR Function already exists in the library".into());
    }
    reg.push(Registered {
        info: FunctionInfo {
            name,
            description,
            flags,
        },
        callback,
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_parse_as_redis_does() {
        assert_eq!(library_name(b"#!lua name=lib1\nx"), Ok("lib1".into()));
        assert_eq!(library_name(b"#!LUA name=test\nx"), Ok("test".into()));
        assert_eq!(library_name(b"#!lua name=\"foo\"\nx"), Ok("foo".into()));
        assert_eq!(
            library_name(b"#! name=test\nx"),
            Err("Engine '' not found".to_string())
        );
        for (code, err) in [
            (
                &b"redis.register_function()"[..],
                "Missing library metadata",
            ),
            (b"#!bad_engine name=x\n", "Engine 'bad_engine' not found"),
            (b"#!lua\n", "Library name was not given"),
            (b"#!lua name=\n", BAD_NAME),
            (b"#!lua name=a-b\n", BAD_NAME),
            (
                b"#!lua name=ok foo=bar\n",
                "Invalid metadata value given: foo=bar",
            ),
            (
                b"#!lua name=ok name=ok2\n",
                "Invalid metadata value, name argument was given multiple times",
            ),
        ] {
            assert_eq!(library_name(code), Err(err.to_string()));
        }
    }
}
