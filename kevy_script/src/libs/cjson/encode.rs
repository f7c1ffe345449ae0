//! `cjson.encode`: a Lua value to JSON text, as lua-cjson 2.1.0 writes it.
//! A table is an array when all its keys are positive integers and it is
//! not excessively sparse, else an object (an empty table is `{}`); keys
//! are visited in `next` order, numbers are written with `%.14g`, and `/`
//! is escaped.
//!
//! The encoder walks nested tables with an explicit stack instead of
//! recursing, and keeps the enclosing tables in one Lua table instead of a
//! Rust handle each, so any nesting the C encoder accepts (up to its Lua
//! stack limit when `encode_max_depth` is raised) costs neither Rust stack
//! nor mlua handles.

use mlua::{Lua, MultiValue, Table, Value};

use super::number::format_g;
use super::{Config, MAX_STACK};
use crate::libs::args::{trunc_i32, type_name, Args};
use crate::libs::cfunc::{arg_error, error, LibError, LibResult};

/// `cjson.encode(value)`.
pub(crate) fn encode(lua: &Lua, args: Args, cfg: &Config) -> LibResult<MultiValue> {
    if args.len() != 1 {
        return Err(arg_error(1, "expected 1 argument"));
    }
    let value = args.get(1).unwrap_or(Value::Nil);
    let mut enc = Encoder {
        lua,
        cfg,
        out: Vec::new(),
        frames: Vec::new(),
        anchor: None,
    };
    enc.run(value)?;
    Ok(MultiValue::from_vec(vec![Value::String(
        lua.create_string(enc.out)?,
    )]))
}

fn exception(what: &str, reason: &str) -> LibError {
    error(format!("Cannot serialise {what}: {reason}"))
}

/// A table being written. Its items are in `anchor[level]`: the table
/// itself for an array, a list `k1, v1, k2, v2, ...` of its entries in
/// `next` order for an object.
struct Frame {
    object: bool,
    /// Items in the list (array length, or twice the object's entries).
    len: i64,
    /// The next item's index, from 1.
    next: i64,
    depth: i32,
    /// The C encoder's Lua stack height with the table on top.
    height: usize,
}

struct Encoder<'a> {
    lua: &'a Lua,
    cfg: &'a Config,
    out: Vec<u8>,
    frames: Vec<Frame>,
    anchor: Option<Table>,
}

impl Encoder<'_> {
    fn run(&mut self, root: Value) -> LibResult<()> {
        // The argument is the one value on the C function's stack.
        self.value(&root, 0, 1)?;
        // The list of the innermost open frame, fetched again from the
        // anchor when an inner frame closes.
        let mut items: Option<Table> = self.top_items()?;
        loop {
            let open = self.frames.len();
            let (Some(frame), Some(list)) = (self.frames.last_mut(), items.as_ref()) else {
                break;
            };
            let (object, next, depth, height) =
                (frame.object, frame.next, frame.depth, frame.height);
            if next > frame.len {
                self.out.push(if object { b'}' } else { b']' });
                if let Some(anchor) = &self.anchor {
                    anchor.raw_set(open, Value::Nil)?;
                }
                self.frames.pop();
                items = self.top_items()?;
                continue;
            }
            frame.next += if object { 2 } else { 1 };
            if next > 1 {
                self.out.push(b',');
            }
            if object {
                let k: Value = list.raw_get(next)?;
                let v: Value = list.raw_get(next + 1)?;
                self.key(&k)?;
                // Key and value are pushed above the table.
                self.value(&v, depth, height + 2)?;
            } else {
                let v: Value = list.raw_get(next)?;
                // The item is pushed above the table.
                self.value(&v, depth, height + 1)?;
            }
            if self.frames.len() > open {
                items = self.top_items()?;
            }
        }
        Ok(())
    }

    fn top_items(&self) -> LibResult<Option<Table>> {
        match (&self.anchor, self.frames.len()) {
            (Some(anchor), n) if n > 0 => Ok(Some(anchor.raw_get(n)?)),
            _ => Ok(None),
        }
    }

    /// Writes `v`, found at depth `depth` and Lua stack height `height` in
    /// the C encoder; a table opens a frame (its first item is written by
    /// `run`).
    fn value(&mut self, v: &Value, depth: i32, height: usize) -> LibResult<()> {
        match v {
            Value::String(s) => self.string(&s.as_bytes()),
            Value::Integer(i) => self.number(*i as f64)?,
            Value::Number(x) => self.number(*x)?,
            Value::Boolean(true) => self.out.extend_from_slice(b"true"),
            Value::Boolean(false) => self.out.extend_from_slice(b"false"),
            Value::Nil => self.out.extend_from_slice(b"null"),
            Value::LightUserData(p) if p.0.is_null() => self.out.extend_from_slice(b"null"),
            Value::Table(t) => self.open(t, depth + 1, height)?,
            other => return Err(exception(type_name(other), "type not supported")),
        }
        Ok(())
    }

    fn open(&mut self, t: &Table, depth: i32, height: usize) -> LibResult<()> {
        // lua-cjson asks for 3 free slots at each level.
        if depth > self.cfg.encode_max_depth || height + 3 > MAX_STACK {
            return Err(error(format!(
                "Cannot serialise, excessive nesting ({depth})"
            )));
        }
        let (len, nested) = self.array_length(t)?;
        if !nested {
            // Nothing below opens a frame: write it all now.
            return self.flat(t, len, depth, height);
        }
        let (object, list, len) = if len > 0 {
            self.out.push(b'[');
            (false, t.clone(), i64::from(len))
        } else {
            self.out.push(b'{');
            let list = self.lua.create_table()?;
            let mut n: i64 = 0;
            t.for_each::<Value, Value>(|k, v| {
                list.raw_set(n + 1, k)?;
                list.raw_set(n + 2, v)?;
                n += 2;
                Ok(())
            })?;
            (true, list, n)
        };
        let anchor = match &self.anchor {
            Some(a) => a.clone(),
            None => {
                let a = self.lua.create_table()?;
                self.anchor = Some(a.clone());
                a
            }
        };
        self.frames.push(Frame {
            object,
            len,
            next: 1,
            depth,
            height,
        });
        anchor.raw_set(self.frames.len(), list)?;
        Ok(())
    }

    /// Writes a table none of whose values is a table, as an array of
    /// `len` items or (when `len` is 0) as an object.
    fn flat(&mut self, t: &Table, len: i32, depth: i32, height: usize) -> LibResult<()> {
        if len > 0 {
            self.out.push(b'[');
            for i in 1..=len {
                if i > 1 {
                    self.out.push(b',');
                }
                let v: Value = t.raw_get(i)?;
                self.value(&v, depth, height + 1)?;
            }
            self.out.push(b']');
            return Ok(());
        }
        self.out.push(b'{');
        let mut first = true;
        let mut failure = None;
        let walked = t.for_each::<Value, Value>(|k, v| {
            if !first {
                self.out.push(b',');
            }
            first = false;
            let entry = self
                .key(&k)
                .and_then(|()| self.value(&v, depth, height + 2));
            entry.map_err(|e| {
                failure = Some(e);
                mlua::Error::RuntimeError(String::new())
            })
        });
        if let Some(e) = failure {
            return Err(e);
        }
        walked?;
        self.out.push(b'}');
        Ok(())
    }

    fn key(&mut self, k: &Value) -> LibResult<()> {
        match k {
            Value::Integer(i) => self.number_key(*i as f64),
            Value::Number(x) => self.number_key(*x),
            Value::String(s) => {
                self.string(&s.as_bytes());
                self.out.push(b':');
                Ok(())
            }
            other => Err(exception(
                type_name(other),
                "table key must be a number or string",
            )),
        }
    }

    fn number_key(&mut self, x: f64) -> LibResult<()> {
        self.out.push(b'"');
        self.number(x)?;
        self.out.extend_from_slice(b"\":");
        Ok(())
    }

    fn number(&mut self, x: f64) -> LibResult<()> {
        if !x.is_finite() {
            match self.cfg.encode_invalid {
                0 => return Err(exception("number", "must not be NaN or Inf")),
                // "nan" whatever the sign, as the C code writes it.
                1 if x.is_nan() => {
                    self.out.extend_from_slice(b"nan");
                    return Ok(());
                }
                1 => {}
                _ => {
                    self.out.extend_from_slice(b"null");
                    return Ok(());
                }
            }
        }
        let text = format_g(x, self.cfg.precision as usize);
        self.out.extend_from_slice(text.as_bytes());
        Ok(())
    }

    fn string(&mut self, s: &[u8]) {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        self.out.reserve(s.len() + 2);
        self.out.push(b'"');
        for &b in s {
            let escaped: &[u8] = match b {
                b'"' => b"\\\"",
                b'\\' => b"\\\\",
                b'/' => b"\\/",
                8 => b"\\b",
                b'\t' => b"\\t",
                b'\n' => b"\\n",
                12 => b"\\f",
                b'\r' => b"\\r",
                0..=0x1f | 0x7f => {
                    let hi = HEX[usize::from(b >> 4)];
                    let lo = HEX[usize::from(b & 15)];
                    self.out
                        .extend_from_slice(&[b'\\', b'u', b'0', b'0', hi, lo]);
                    continue;
                }
                _ => {
                    self.out.push(b);
                    continue;
                }
            };
            self.out.extend_from_slice(escaped);
        }
        self.out.push(b'"');
    }

    /// lua-cjson's `lua_array_length`: the array length to encode, or 0 to
    /// encode an object (the C code also gives a negative length for an
    /// index that overflows its `int`, which means an object too); and
    /// whether any value is a table.
    fn array_length(&self, t: &Table) -> LibResult<(i32, bool)> {
        let mut max: i32 = 0;
        let mut items: i32 = 0;
        let mut object = false;
        let mut nested = false;
        t.for_each::<Value, Value>(|k, v| {
            nested |= matches!(v, Value::Table(_));
            let k = match k {
                Value::Integer(i) => i as f64,
                Value::Number(x) => x,
                _ => f64::NAN,
            };
            if k != 0.0 && k.floor() == k && k >= 1.0 {
                if k > f64::from(max) {
                    max = trunc_i32(k);
                }
                items = items.wrapping_add(1);
            } else {
                object = true;
            }
            Ok(())
        })?;
        if object {
            return Ok((0, nested));
        }
        let cfg = self.cfg;
        if cfg.sparse_ratio > 0
            && max > items.wrapping_mul(cfg.sparse_ratio)
            && max > cfg.sparse_safe
        {
            if !cfg.sparse_convert {
                return Err(exception("table", "excessively sparse array"));
            }
            return Ok((0, nested));
        }
        Ok((max.max(0), nested))
    }
}

#[cfg(test)]
mod tests {
    use crate::libs::testutil::check;

    #[test]
    fn scalars() {
        check(&[
            ("return cjson.encode(1/3)", r#""0.33333333333333""#),
            ("return cjson.encode(0.1)", r#""0.1""#),
            ("return cjson.encode(1e100)", r#""1e+100""#),
            (
                "return cjson.encode(123456789012345678)",
                r#""1.2345678901235e+17""#,
            ),
            ("return cjson.encode(-0.0)", r#""-0""#),
            ("return cjson.encode(2^53)", r#""9.007199254741e+15""#),
            ("return cjson.encode(1e-7)", r#""1e-07""#),
            (
                "return cjson.encode(12345678901234.5)",
                r#""12345678901234""#,
            ),
            ("return cjson.encode(-100)", r#""-100""#),
            ("return cjson.encode(true)", r#""true""#),
            ("return cjson.encode(false)", r#""false""#),
            ("return cjson.encode(nil)", r#""null""#),
            ("return cjson.encode(cjson.null)", r#""null""#),
            ("return cjson.encode('')", r#""\"\"""#),
            (
                r#"return cjson.encode('a/b"c\\d')"#,
                r#""\"a\\/b\\\"c\\\\d\"""#,
            ),
            (
                r#"return cjson.encode('\1\2\8\9\10\12\13\31\127')"#,
                r#""\"\\u0001\\u0002\\b\\t\\n\\f\\r\\u001f\\u007f\"""#,
            ),
            (
                r#"return cjson.encode('\128\255é\0')"#,
                r#""\"\x80\xff\xc3\xa9\\u0000\"""#,
            ),
        ]);
    }

    #[test]
    fn tables() {
        check(&[

            (
                "return cjson.encode({1,2,{a=1}})",
                r#""[1,2,{\"a\":1}]""#,
            ),

            (
                "return cjson.encode({})",
                r#""{}""#,
            ),

            (
                "return cjson.encode({{{}}})",
                r#""[[{}]]""#,
            ),

            (
                "return cjson.encode({1,2,a=3})",
                r#""{\"1\":1,\"2\":2,\"a\":3}""#,
            ),

            (
                "return cjson.encode({[1]=1,[3]=3})",
                r#""[1,null,3]""#,
            ),

            (
                "return cjson.encode({[1]=1,[4]=4})",
                r#""[1,null,null,4]""#,
            ),

            (
                "return cjson.encode({[10]=1})",
                r#""[null,null,null,null,null,null,null,null,null,1]""#,
            ),

            (
                "return cjson.encode({[0]=1})",
                r#""{\"0\":1}""#,
            ),

            (
                "return cjson.encode({[-1]=1})",
                r#""{\"-1\":1}""#,
            ),

            (
                "return cjson.encode({[1.5]=1})",
                r#""{\"1.5\":1}""#,
            ),

            (
                "return cjson.encode({[1/3]=1})",
                r#""{\"0.33333333333333\":1}""#,
            ),

            (
                "return cjson.encode({[1e300]=1})",
                r#""{\"1e+300\":1}""#,
            ),

            (
                "return cjson.encode({[2]='x', ['1']=1})",
                r#""{\"2\":\"x\",\"1\":1}""#,
            ),

            (
                "return cjson.encode({[2^31]=1,[1]=2})",
                r#""[2]""#,
            ),

            (
                "return cjson.encode({[1]=2,[2^31]=1})",
                r#""{\"1\":2,\"2147483648\":1}""#,
            ),

            (
                "return cjson.encode({[-2^31]=1})",
                r#""{\"-2147483648\":1}""#,
            ),

            (
                "return cjson.encode({[2^32]=1})",
                r#""{\"4294967296\":1}""#,
            ),

            (
                r#"return cjson.encode({['a"b']=1})"#,
                r#""{\"a\\\"b\":1}""#,
            ),

            (
                "return cjson.encode({1,nil,3})",
                r#""[1,null,3]""#,
            ),

            (
                "return (function() local t = {} local c=t for i=1,999 do c[1]={} c=c[1] end return #cjson.encode(t) end)()",
                "(integer) 2000",
            ),

            (
                "return (function() local t = {} local c=t for i=1,999 do c.k={} c=c.k end return #cjson.encode(t) end)()",
                "(integer) 5996",
            ),

        ]);
    }

    #[test]
    fn errors() {
        check(&[

            (
                "return cjson.encode()",
                "(error) ERR user_script:1: bad argument #1 to 'encode' (expected 1 argument) script: fc593ea31f478c7ed65c77495cc63edeb9153530, on @user_script:1.",
            ),

            (
                "return cjson.encode(1,2)",
                "(error) ERR user_script:1: bad argument #1 to 'encode' (expected 1 argument) script: 9796fc0f4acc8ba1f9133e705bfd4aa24561765a, on @user_script:1.",
            ),

            (
                "return {pcall(cjson.encode)}",
                "1) (nil)\n2) \"bad argument #1 to '?' (expected 1 argument)\"",
            ),

            (
                "return cjson.encode(function() end)",
                "(error) ERR user_script:1: Cannot serialise function: type not supported script: c6600573aa08cdf0af5da6e0ef682db69a3acc00, on @user_script:1.",
            ),

            (
                "return cjson.encode(coroutine.create(function() end))",
                "(error) ERR user_script:1: Cannot serialise thread: type not supported script: a6623ce6b732fc5d7a9f3cf8070e4ed88fffcddb, on @user_script:1.",
            ),

            (
                "return cjson.encode({a={b={c=function() end}}})",
                "(error) ERR user_script:1: Cannot serialise function: type not supported script: b0cd33dc66b90007e368ff320db7a1ffc7b7b02c, on @user_script:1.",
            ),

            (
                "return cjson.encode(1/0)",
                "(error) ERR user_script:1: Cannot serialise number: must not be NaN or Inf script: 08ffdaa5e7f117332da21c3b5222c2ede9492c60, on @user_script:1.",
            ),

            (
                "return cjson.encode(-1/0)",
                "(error) ERR user_script:1: Cannot serialise number: must not be NaN or Inf script: eeea526afae25161c515bd49cddc89d6cfbf2456, on @user_script:1.",
            ),

            (
                "return cjson.encode(0/0)",
                "(error) ERR user_script:1: Cannot serialise number: must not be NaN or Inf script: d3f8d4e745d6587b04e9dd216e0d4631f0a306d9, on @user_script:1.",
            ),

            (
                "return cjson.encode({[1/0]=1})",
                "(error) ERR user_script:1: Cannot serialise number: must not be NaN or Inf script: d755e1d8b557c8f3573fc89852e5b5cdcc2f6583, on @user_script:1.",
            ),

            (
                "return cjson.encode({[true]=1})",
                "(error) ERR user_script:1: Cannot serialise boolean: table key must be a number or string script: 376a640005c8509c694166527ca834359bf69aa8, on @user_script:1.",
            ),

            (
                "return cjson.encode({[{}]=1})",
                "(error) ERR user_script:1: Cannot serialise table: table key must be a number or string script: d2e2560c1eac16fa2ba971165f1a135f816add6f, on @user_script:1.",
            ),

            (
                "return cjson.encode({[1]=1,[11]=4})",
                "(error) ERR user_script:1: Cannot serialise table: excessively sparse array script: 7170e92ba7ea3a8270fc4ffed1eea04078c15db6, on @user_script:1.",
            ),

            (
                "return cjson.encode({[12]=1})",
                "(error) ERR user_script:1: Cannot serialise table: excessively sparse array script: 07ca5a5ace340e40ffca8e2bef9ec3514440666e, on @user_script:1.",
            ),

            (
                "return cjson.encode({[2^31-1]=1})",
                "(error) ERR user_script:1: Cannot serialise table: excessively sparse array script: 195bcc41ce386c53ca26b8ed7682b821e944a30d, on @user_script:1.",
            ),

            (
                "return cjson.encode({[1]=1,[2]=2,[20]=4})",
                "(error) ERR user_script:1: Cannot serialise table: excessively sparse array script: 0888aae1663df7b5a282703f0daef300530c9013, on @user_script:1.",
            ),

            (
                "return (function() local t = {} t[1]=t return {pcall(cjson.encode, t)} end)()",
                "1) (nil)\n2) \"Cannot serialise, excessive nesting (1001)\"",
            ),

            (
                "return (function() local t = {} t.a=t return {pcall(cjson.encode, t)} end)()",
                "1) (nil)\n2) \"Cannot serialise, excessive nesting (1001)\"",
            ),

            (
                "return (function() local t = {} local c=t for i=1,1000 do c[1]={} c=c[1] end return cjson.encode(t) end)()",
                "(error) ERR user_script:1: Cannot serialise, excessive nesting (1001) script: 203ed3bcce889d8788ec8a99ec9677ae26965d28, on @user_script:1.",
            ),

        ]);
    }
}
