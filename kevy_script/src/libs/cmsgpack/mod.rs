//! The `cmsgpack` library (lua-cmsgpack 0.4.0, as compiled into Redis):
//! `pack(...)` concatenates the MessagePack encoding of each argument, and
//! `unpack`, `unpack_one` and `unpack_limit` decode values back. Integers
//! take their smallest encoding, other numbers a float32 when that is exact
//! and a float64 otherwise; a table whose keys are exactly 1..n is an array,
//! any other a map; tables nested 16 deep are encoded as nil; functions and
//! other unencodable values are nil. Decoding knows no bin or ext types.

use mlua::{Lua, MultiValue, Table, Value};

use super::args::{trunc_i32, trunc_i64, Args};
use super::cfunc::{arg_error, LibResult};
use super::set_fn;

mod decode;

use decode::unpack;

/// Tables nested this deep are encoded as nil (`LUACMSGPACK_MAX_NESTING`).
const MAX_NESTING: usize = 16;
/// `LUAI_MAXCSTACK`: the stack slots `lua_checkstack` grants.
pub(crate) const MAX_STACK: usize = 8000;

/// Builds the `cmsgpack` table.
pub(crate) fn module(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    set_fn(lua, &t, "pack", pack)?;
    set_fn(lua, &t, "unpack", |lua, args| unpack(lua, &args, 0, 0))?;
    set_fn(lua, &t, "unpack_one", |lua, args| {
        let offset = args.opt_integer(2, 0)?;
        unpack(lua, &args.truncate(1), 1, offset)
    })?;
    set_fn(lua, &t, "unpack_limit", |lua, args| {
        let limit = args.integer(2)?;
        let offset = args.opt_integer(3, 0)?;
        unpack(lua, &args.truncate(1), limit, offset)
    })?;
    t.raw_set("_NAME", "cmsgpack")?;
    t.raw_set("_VERSION", "lua-cmsgpack 0.4.0")?;
    t.raw_set("_COPYRIGHT", "Copyright (C) 2012, Salvatore Sanfilippo")?;
    t.raw_set("_DESCRIPTION", "MessagePack C implementation for Lua")?;
    Ok(t)
}

fn pack(lua: &Lua, args: Args) -> LibResult<MultiValue> {
    let n = args.len();
    if n == 0 {
        return Err(arg_error(0, "MessagePack pack needs input."));
    }
    // lua_checkstack(L, nargs) with the arguments already on the stack.
    if 2 * n > MAX_STACK {
        return Err(arg_error(0, "Too many arguments for MessagePack pack."));
    }
    let mut out = Vec::new();
    for i in 1..=n {
        encode(&mut out, &args.get(i).unwrap_or(Value::Nil), 0)?;
    }
    Ok(MultiValue::from_vec(vec![Value::String(
        lua.create_string(out)?,
    )]))
}

fn encode(out: &mut Vec<u8>, v: &Value, level: usize) -> LibResult<()> {
    match v {
        Value::String(s) => encode_bytes(out, &s.as_bytes()),
        Value::Boolean(b) => out.push(if *b { 0xc3 } else { 0xc2 }),
        Value::Integer(i) => encode_number(out, *i as f64),
        Value::Number(x) => encode_number(out, *x),
        Value::Table(t) if level < MAX_NESTING => encode_table(out, t, level)?,
        _ => out.push(0xc0),
    }
    Ok(())
}

fn encode_bytes(out: &mut Vec<u8>, s: &[u8]) {
    let len = s.len();
    if len < 32 {
        out.push(0xa0 | len as u8);
    } else if len <= 0xff {
        out.extend_from_slice(&[0xd9, len as u8]);
    } else if len <= 0xffff {
        out.push(0xda);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(0xdb);
        out.extend_from_slice(&(len as u32).to_be_bytes());
    }
    out.extend_from_slice(s);
}

fn encode_number(out: &mut Vec<u8>, x: f64) {
    let i = trunc_i64(x);
    if x.is_finite() && i as f64 == x {
        encode_int(out, i);
        return;
    }
    let f = x as f32;
    if f64::from(f) == x {
        out.push(0xca);
        out.extend_from_slice(&f.to_be_bytes());
    } else {
        out.push(0xcb);
        out.extend_from_slice(&x.to_be_bytes());
    }
}

fn encode_int(out: &mut Vec<u8>, n: i64) {
    if n >= 0 {
        if n <= 127 {
            out.push(n as u8);
        } else if n <= 0xff {
            out.extend_from_slice(&[0xcc, n as u8]);
        } else if n <= 0xffff {
            out.push(0xcd);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        } else if n <= 0xffff_ffff {
            out.push(0xce);
            out.extend_from_slice(&(n as u32).to_be_bytes());
        } else {
            out.push(0xcf);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    } else if n >= -32 {
        out.push(n as i8 as u8);
    } else if n >= -128 {
        out.extend_from_slice(&[0xd0, n as i8 as u8]);
    } else if n >= -32768 {
        out.push(0xd1);
        out.extend_from_slice(&(n as i16).to_be_bytes());
    } else if n >= -2_147_483_648 {
        out.push(0xd2);
        out.extend_from_slice(&(n as i32).to_be_bytes());
    } else {
        out.push(0xd3);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

fn encode_table(out: &mut Vec<u8>, t: &Table, level: usize) -> LibResult<()> {
    // An array when every key is an integer from 1 that fits a C int and
    // the largest equals the count.
    let mut count: usize = 0;
    let mut max: i32 = 0;
    let mut array = true;
    t.for_each::<Value, Value>(|k, _| {
        let n = match k {
            Value::Integer(i) => i as f64,
            Value::Number(x) => x,
            _ => f64::NAN,
        };
        if n > 0.0 && n.is_finite() && f64::from(trunc_i32(n)) == n {
            max = max.max(trunc_i32(n));
            count += 1;
        } else {
            array = false;
        }
        Ok(())
    })?;
    if array && max as usize == count {
        if count <= 15 {
            out.push(0x90 | count as u8);
        } else if count <= 0xffff {
            out.push(0xdc);
            out.extend_from_slice(&(count as u16).to_be_bytes());
        } else {
            out.push(0xdd);
            out.extend_from_slice(&(count as u32).to_be_bytes());
        }
        for i in 1..=count {
            let v: Value = t.raw_get(i)?;
            encode(out, &v, level + 1)?;
        }
        return Ok(());
    }
    let mut len: usize = 0;
    t.for_each::<Value, Value>(|_, _| {
        len += 1;
        Ok(())
    })?;
    if len <= 15 {
        out.push(0x80 | len as u8);
    } else if len <= 0xffff {
        out.push(0xde);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(0xdf);
        out.extend_from_slice(&(len as u32).to_be_bytes());
    }
    let mut failure = None;
    let walked = t.for_each::<Value, Value>(|k, v| {
        let entry = encode(out, &k, level + 1).and_then(|()| encode(out, &v, level + 1));
        entry.map_err(|e| {
            failure = Some(e);
            mlua::Error::RuntimeError(String::new())
        })
    });
    if let Some(e) = failure {
        return Err(e);
    }
    walked?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::libs::testutil::check;

    #[test]
    fn integers() {
        check(&[

            (
                "return cmsgpack.pack(0,127,128,255,256,65535,65536,2^32-1,2^32,2^53)",
                r#""\x00\x7f\xcc\x80\xcc\xff\xcd\x01\x00\xcd\xff\xff\xce\x00\x01\x00\x00\xce\xff\xff\xff\xff\xcf\x00\x00\x00\x01\x00\x00\x00\x00\xcf\x00 \x00\x00\x00\x00\x00\x00""#,
            ),

            (
                "return cmsgpack.pack(-1,-32,-33,-128,-129,-32768,-32769,-2^31,-2^31-1,-2^53,-2^63)",
                r#""\xff\xe0\xd0\xdf\xd0\x80\xd1\xff\x7f\xd1\x80\x00\xd2\xff\xff\x7f\xff\xd2\x80\x00\x00\x00\xd3\xff\xff\xff\xff\x7f\xff\xff\xff\xd3\xff\xe0\x00\x00\x00\x00\x00\x00\xd3\x80\x00\x00\x00\x00\x00\x00\x00""#,
            ),

            (
                "return cmsgpack.pack(-0.0, 3.0, '7')",
                r#""\x00\x03\xa17""#,
            ),

        ]);
    }

    #[test]
    fn floats() {
        check(&[
            (
                "return cmsgpack.pack(0.5, 0.1, 1/0, -1/0, 3.4e38)",
                r#""\xca?\x00\x00\x00\xcb?\xb9\x99\x99\x99\x99\x99\x9a\xca\x7f\x80\x00\x00\xca\xff\x80\x00\x00\xcbG\xef\xf93\xc7\x8c\xdf\xad""#,
            ),
            (
                "return cmsgpack.pack(1e300, 0/0, 2^63, 2^64, -2^63-2^20, 1e20)",
                r#""\xcb~7\xe4<\x88\x00u\x9c\xcb\xff\xf8\x00\x00\x00\x00\x00\x00\xca_\x00\x00\x00\xca_\x80\x00\x00\xcb\xc3\xe0\x00\x00\x00\x00\x02\x00\xcbD\x15\xaf\x1dx\xb5\x8c@""#,
            ),
            (
                "return cmsgpack.pack(4294967295.5)",
                r#""\xcbA\xef\xff\xff\xff\xf0\x00\x00""#,
            ),
        ]);
    }

    #[test]
    fn strings() {
        check(&[

            (
                "return cmsgpack.pack('', 'a', string.rep('b', 31))",
                r#""\xa0\xa1a\xbfbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb""#,
            ),

            (
                "return {cmsgpack.pack(string.rep('a',32)):sub(1,3), cmsgpack.pack(string.rep('a',255)):sub(1,3), #cmsgpack.pack(string.rep('a',255))}",
                "1) \"\\xd9 a\"\n2) \"\\xd9\\xffa\"\n3) (integer) 257",
            ),

            (
                "return {cmsgpack.pack(string.rep('a',256)):sub(1,4), cmsgpack.pack(string.rep('a',65535)):sub(1,4), cmsgpack.pack(string.rep('a',65536)):sub(1,6)}",
                "1) \"\\xda\\x01\\x00a\"\n2) \"\\xda\\xff\\xffa\"\n3) \"\\xdb\\x00\\x01\\x00\\x00a\"",
            ),

        ]);
    }

    #[test]
    fn other_types() {
        check(&[

            (
                "return cmsgpack.pack(true, false, nil, function() end, coroutine.create(function() end), cjson.null)",
                r#""\xc3\xc2\xc0\xc0\xc0\xc0""#,
            ),

        ]);
    }

    #[test]
    fn tables() {
        check(&[

            (
                "return cmsgpack.pack({1,2,3})",
                r#""\x93\x01\x02\x03""#,
            ),

            (
                "return cmsgpack.pack({})",
                r#""\x90""#,
            ),

            (
                "return cmsgpack.pack({a=1})",
                r#""\x81\xa1a\x01""#,
            ),

            (
                "return cmsgpack.pack({1,2,nil,4})",
                r#""\x83\x01\x01\x02\x02\x04\x04""#,
            ),

            (
                "return cmsgpack.pack({[1]=1,[3]=3})",
                r#""\x82\x01\x01\x03\x03""#,
            ),

            (
                "return cmsgpack.pack({[2]=2})",
                r#""\x81\x02\x02""#,
            ),

            (
                "return cmsgpack.pack({[0]=1})",
                r#""\x81\x00\x01""#,
            ),

            (
                "return cmsgpack.pack({[1.5]=1})",
                r#""\x81\xca?\xc0\x00\x00\x01""#,
            ),

            (
                "return cmsgpack.pack({1,2,x=3})",
                r#""\x83\x01\x01\x02\x02\xa1x\x03""#,
            ),

            (
                "return cmsgpack.pack({[2^31]=1})",
                r#""\x81\xce\x80\x00\x00\x00\x01""#,
            ),

            (
                "return cmsgpack.pack({[1]=1,[2^31]=1})",
                r#""\x82\x01\x01\xce\x80\x00\x00\x00\x01""#,
            ),

            (
                "return cmsgpack.pack({[function() end]=1, [true]=false})",
                r#""\x82\xc0\x01\xc3\xc2""#,
            ),

            (
                "return cmsgpack.pack({1,2,3,4,5,6,7,8,9,10,11,12,13,14,15})",
                r#""\x9f\x01\x02\x03\x04\x05\x06\a\b\t\n\x0b\x0c\r\x0e\x0f""#,
            ),

            (
                "return cmsgpack.pack({1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16}):sub(1,4)",
                r#""\xdc\x00\x10\x01""#,
            ),

            (
                "return (function() local t={} for i=1,65536 do t[i]=0 end return cmsgpack.pack(t):sub(1,6) end)()",
                r#""\xdd\x00\x01\x00\x00\x00""#,
            ),

            (
                "return (function() local t={} for i=1,16 do t['k'..i]=0 end return cmsgpack.pack(t):sub(1,3) end)()",
                r#""\xde\x00\x10""#,
            ),

            (
                "return (function() local t={} for i=1,65536 do t['k'..i]=0 end return cmsgpack.pack(t):sub(1,5) end)()",
                r#""\xdf\x00\x01\x00\x00""#,
            ),

        ]);
    }

    #[test]
    fn nesting() {
        check(&[
            (
                "return cmsgpack.pack((function() local t={} t[1]=t return t end)())",
                r#""\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\xc0""#,
            ),
            (
                "return cmsgpack.pack((function() local t={} t.a=t return t end)())",
                r#""\x81\xa1a\x81\xa1a\x81\xa1a\x81\xa1a\x81\xa1a\x81\xa1a\x81\xa1a\x81\xa1a\x81\xa1a\x81\xa1a\x81\xa1a\x81\xa1a\x81\xa1a\x81\xa1a\x81\xa1a\x81\xa1a\xc0""#,
            ),
            (
                "return cmsgpack.pack({{{{{{{{{{{{{{{{1}}}}}}}}}}}}}}}})",
                r#""\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x01""#,
            ),
        ]);
    }

    #[test]
    fn errors() {
        check(&[

            (
                "return cmsgpack.pack()",
                "(error) ERR user_script:1: bad argument #0 to 'pack' (MessagePack pack needs input.) script: 6bc235afa55de88253e203cc5fe5844792e25209, on @user_script:1.",
            ),

            (
                "return {pcall(cmsgpack.pack)}",
                "1) (nil)\n2) \"bad argument #0 to '?' (MessagePack pack needs input.)\"",
            ),

            (
                "return #cmsgpack.pack(unpack((function() local t={} for i=1,4000 do t[i]=i end return t end)()))",
                "(integer) 11618",
            ),

            (
                "return #cmsgpack.pack(unpack((function() local t={} for i=1,4001 do t[i]=i end return t end)()))",
                "(error) ERR user_script:1: bad argument #0 to 'pack' (Too many arguments for MessagePack pack.) script: e041e8f1ff4756cc06bc41adc8f80c8c267824e5, on @user_script:1.",
            ),

            (
                "return #cmsgpack.pack(unpack((function() local t={} for i=1,4000 do t[i]='s'..i end return t end)()))",
                "(integer) 22893",
            ),

        ]);
    }
}
