//! `cmsgpack.unpack`, `unpack_one` and `unpack_limit`: MessagePack to Lua
//! values, as lua-cmsgpack 0.4.0 reads it (no bin or ext types; a uint 64
//! reads as signed, Redis's Lua having no unsigned integers).
//!
//! The decoder walks nested arrays and maps with an explicit stack, keeping
//! the open tables (and pending map keys) in one Lua table, and reproduces
//! the C decoder's Lua stack limits, errors included.

use mlua::{Lua, MultiValue, Table, Value};

use super::MAX_STACK;
use crate::libs::args::Args;
use crate::libs::cfunc::{error, spread, LibError, LibResult};

/// `mp_unpack_full`: decodes up to `limit` values from byte `offset` (all
/// of them when both are 0, and then without the leading next offset).
pub(crate) fn unpack(lua: &Lua, args: &Args, limit: i64, offset: i64) -> LibResult<MultiValue> {
    let s = args.string(1)?;
    let data = s.as_bytes();
    let len = data.len();
    let decode_all = limit == 0 && offset == 0;
    // The C code prints these with %d, from 64-bit values.
    if offset < 0 || limit < 0 {
        return Err(error(format!(
            "Invalid request to unpack with offset of {} and limit of {}.",
            offset as i32, len as i32
        )));
    }
    if offset as u64 > len as u64 {
        return Err(error(format!(
            "Start offset {} greater than input length {}.",
            offset as i32, len as i32
        )));
    }
    let limit = if decode_all {
        i64::from(i32::MAX)
    } else {
        limit
    };
    let results = lua.create_table()?;
    let mut dec = Decoder {
        lua,
        data: &data,
        pos: offset as usize,
        frames: Vec::new(),
        anchor: None,
    };
    let mut count: usize = 0;
    if !decode_all {
        // The next offset goes first; it is filled in at the end.
        count = 1;
    }
    let mut decoded: i64 = 0;
    while dec.pos < len && decoded < limit {
        // The C decoder's stack: the arguments and the values so far.
        let height = args.len() + decoded as usize;
        let v = dec.value(height)?;
        count += 1;
        results.raw_set(count, v)?;
        decoded += 1;
    }
    if !decode_all {
        let next = if dec.pos == len { -1 } else { dec.pos as i32 };
        results.raw_set(1, next)?;
    }
    Ok(spread(results, count))
}

enum DecodeError {
    Eof,
    BadFormat,
    Lib(LibError),
}

impl From<mlua::Error> for DecodeError {
    fn from(e: mlua::Error) -> Self {
        DecodeError::Lib(LibError::Lua(e))
    }
}

impl From<DecodeError> for LibError {
    fn from(e: DecodeError) -> Self {
        match e {
            DecodeError::Eof => error("Missing bytes in input."),
            DecodeError::BadFormat => error("Bad data format in input."),
            DecodeError::Lib(e) => e,
        }
    }
}

/// An array or map being filled. Its table is in `anchor[2 * level - 1]`,
/// and a map's key waiting for its value in `anchor[2 * level]`.
struct Frame {
    map: bool,
    remaining: u64,
    /// The next array index.
    index: i64,
    key: Key,
    /// The C decoder's Lua stack height below the table.
    height: usize,
}

/// The state of a map entry.
#[derive(Clone, Copy, PartialEq)]
enum Key {
    /// Waiting for the key.
    None,
    /// A key Lua can store, kept in the anchor.
    Stored,
    /// A nil or NaN key: storing the entry will fail with this message.
    Invalid(&'static str),
}

struct Decoder<'a> {
    lua: &'a Lua,
    data: &'a [u8],
    pos: usize,
    frames: Vec<Frame>,
    anchor: Option<Table>,
}

enum Start {
    Value(Value),
    /// A table whose entries follow.
    Open(Table, bool, u64),
}

impl Decoder<'_> {
    fn need(&self, n: usize) -> Result<(), DecodeError> {
        if self.data.len() - self.pos < n {
            Err(DecodeError::Eof)
        } else {
            Ok(())
        }
    }

    fn be(&self, from: usize, n: usize) -> u64 {
        self.data[self.pos + from..self.pos + from + n]
            .iter()
            .fold(0, |acc, &b| (acc << 8) | u64::from(b))
    }

    fn string(&mut self, header: usize, len: usize) -> Result<Value, DecodeError> {
        self.need(header.saturating_add(len))?;
        let start = self.pos + header;
        let s = self.lua.create_string(&self.data[start..start + len])?;
        self.pos = start + len;
        Ok(Value::String(s))
    }

    /// `mp_decode_to_lua_type` for the value at the cursor, at Lua stack
    /// height `height` in the C decoder; a non-empty array or map opens a
    /// frame.
    fn start(&mut self, height: usize) -> Result<Start, DecodeError> {
        self.need(1)?;
        if height + 1 > MAX_STACK {
            return Err(DecodeError::Lib(error(
                "stack overflow (too many return values at once; use unpack_one or unpack_limit instead.)",
            )));
        }
        let b = self.data[self.pos];
        let fixed = |n: usize, v: Value, this: &mut Self| -> Result<Start, DecodeError> {
            this.need(n)?;
            this.pos += n;
            Ok(Start::Value(v))
        };
        let num = |x: f64| Value::Number(x);
        match b {
            0xcc => {
                self.need(2)?;
                fixed(2, num(self.be(1, 1) as f64), self)
            }
            0xd0 => {
                self.need(2)?;
                fixed(2, num(f64::from(self.be(1, 1) as u8 as i8)), self)
            }
            0xcd => {
                self.need(3)?;
                fixed(3, num(self.be(1, 2) as f64), self)
            }
            0xd1 => {
                self.need(3)?;
                fixed(3, num(f64::from(self.be(1, 2) as u16 as i16)), self)
            }
            0xce => {
                self.need(5)?;
                fixed(5, num(self.be(1, 4) as f64), self)
            }
            0xd2 => {
                self.need(5)?;
                fixed(5, num(f64::from(self.be(1, 4) as u32 as i32)), self)
            }
            // Redis's Lua has no unsigned integers: uint 64 reads signed.
            0xcf | 0xd3 => {
                self.need(9)?;
                fixed(9, num(self.be(1, 8) as i64 as f64), self)
            }
            0xc0 => fixed(1, Value::Nil, self),
            0xc3 => fixed(1, Value::Boolean(true), self),
            0xc2 => fixed(1, Value::Boolean(false), self),
            0xca => {
                self.need(5)?;
                let f = f32::from_bits(self.be(1, 4) as u32);
                fixed(5, num(f64::from(f)), self)
            }
            0xcb => {
                self.need(9)?;
                fixed(9, num(f64::from_bits(self.be(1, 8))), self)
            }
            0xd9 => {
                self.need(2)?;
                let len = self.be(1, 1) as usize;
                Ok(Start::Value(self.string(2, len)?))
            }
            0xda => {
                self.need(3)?;
                let len = self.be(1, 2) as usize;
                Ok(Start::Value(self.string(3, len)?))
            }
            0xdb => {
                self.need(5)?;
                let len = self.be(1, 4) as usize;
                Ok(Start::Value(self.string(5, len)?))
            }
            0xdc | 0xde => {
                self.need(3)?;
                let len = self.be(1, 2);
                self.pos += 3;
                self.open(b == 0xde, len, height)
            }
            0xdd | 0xdf => {
                self.need(5)?;
                let len = self.be(1, 4);
                self.pos += 5;
                self.open(b == 0xdf, len, height)
            }
            0x00..=0x7f => fixed(1, num(f64::from(b)), self),
            0xe0..=0xff => fixed(1, num(f64::from(b as i8)), self),
            0xa0..=0xbf => Ok(Start::Value(self.string(1, usize::from(b & 0x1f))?)),
            0x90..=0x9f => {
                self.pos += 1;
                self.open(false, u64::from(b & 0xf), height)
            }
            0x80..=0x8f => {
                self.pos += 1;
                self.open(true, u64::from(b & 0xf), height)
            }
            _ => Err(DecodeError::BadFormat),
        }
    }

    fn open(&mut self, map: bool, len: u64, height: usize) -> Result<Start, DecodeError> {
        let table = self.lua.create_table()?;
        // mp_decode_to_lua_array checks for one more slot above the table.
        if !map && height + 2 > MAX_STACK {
            return Err(DecodeError::Lib(error(
                "stack overflow (in function mp_decode_to_lua_array)",
            )));
        }
        Ok(Start::Open(table, map, len))
    }

    fn anchor(&mut self) -> Result<Table, DecodeError> {
        if let Some(a) = &self.anchor {
            return Ok(a.clone());
        }
        let a = self.lua.create_table()?;
        self.anchor = Some(a.clone());
        Ok(a)
    }

    /// Decodes one whole value at Lua stack height `height`.
    fn value(&mut self, height: usize) -> Result<Value, DecodeError> {
        let base = self.frames.len();
        let mut height = height;
        loop {
            let mut value = match self.start(height)? {
                Start::Value(v) => v,
                Start::Open(table, _, 0) => Value::Table(table),
                Start::Open(table, map, remaining) => {
                    self.frames.push(Frame {
                        map,
                        remaining,
                        index: 1,
                        key: Key::None,
                        height,
                    });
                    let level = self.frames.len();
                    self.anchor()?.raw_set(2 * level - 1, table)?;
                    // A map's key, an array's index, sit above the table.
                    height = if map { height + 1 } else { height + 2 };
                    continue;
                }
            };
            // Store the value in the open frames, closing those it
            // completes, until one expects another value.
            loop {
                let level = self.frames.len();
                if level == base {
                    return Ok(value);
                }
                let anchor = self.anchor()?;
                let frame = &mut self.frames[level - 1];
                let table: Table = anchor.raw_get(2 * level - 1)?;
                if !frame.map {
                    table.raw_set(frame.index, value)?;
                    frame.index += 1;
                    frame.remaining -= 1;
                } else if frame.key == Key::None {
                    frame.key = match &value {
                        Value::Nil => Key::Invalid("table index is nil"),
                        Value::Number(x) if x.is_nan() => Key::Invalid("table index is NaN"),
                        _ => {
                            anchor.raw_set(2 * level, value)?;
                            Key::Stored
                        }
                    };
                    height = frame.height + 2;
                    break;
                } else {
                    match frame.key {
                        Key::Invalid(msg) => {
                            return Err(DecodeError::Lib(LibError::Raw(msg.into())));
                        }
                        _ => {
                            let key: Value = anchor.raw_get(2 * level)?;
                            table.raw_set(key, value)?;
                            anchor.raw_set(2 * level, Value::Nil)?;
                        }
                    }
                    frame.key = Key::None;
                    frame.remaining -= 1;
                }
                if frame.remaining > 0 {
                    height = if frame.map {
                        frame.height + 1
                    } else {
                        frame.height + 2
                    };
                    break;
                }
                self.frames.pop();
                anchor.raw_set(2 * level - 1, Value::Nil)?;
                value = Value::Table(table);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::libs::testutil::check;

    #[test]
    fn values() {
        check(&[

            (
                "return {cmsgpack.unpack(cmsgpack.pack(1,'a',{1,2},{a=1}))}",
                "1) (integer) 1\n2) \"a\"\n3) 1) (integer) 1\n   2) (integer) 2\n4) (empty array)",
            ),

            (
                "return {cmsgpack.unpack('')}",
                "(empty array)",
            ),

            (
                r#"return {cmsgpack.unpack('\192')}"#,
                "(empty array)",
            ),

            (
                r#"return {cmsgpack.unpack('\195\194\192\1')}"#,
                "1) (integer) 1\n2) (nil)",
            ),

            (
                r#"return {cmsgpack.unpack('\204\255\205\1\0\206\255\255\255\255')}"#,
                "1) (integer) 255\n2) (integer) 256\n3) (integer) 4294967295",
            ),

            (
                r#"return {cmsgpack.unpack('\208\128\209\128\0\210\128\0\0\0\224\255\127')}"#,
                "1) (integer) -128\n2) (integer) -32768\n3) (integer) -2147483648\n4) (integer) -32\n5) (integer) -1\n6) (integer) 127",
            ),

            (
                r#"return {tostring(cmsgpack.unpack('\207\255\255\255\255\255\255\255\255')), tostring(cmsgpack.unpack('\207\128\0\0\0\0\0\0\1')), tostring(cmsgpack.unpack('\211\255\255\255\255\255\255\255\254'))}"#,
                "1) \"-1\"\n2) \"-9.2233720368548e+18\"\n3) \"-2\"",
            ),

            (
                r#"return {tostring(cmsgpack.unpack('\202\63\192\0\0')), tostring(cmsgpack.unpack('\203\63\248\0\0\0\0\0\0')), tostring(cmsgpack.unpack('\202\127\128\0\0'))}"#,
                "1) \"1.5\"\n2) \"1.5\"\n3) \"inf\"",
            ),

            (
                r#"return {cmsgpack.unpack('\217\2ab\218\0\1c\219\0\0\0\1d\163xyz')}"#,
                "1) \"ab\"\n2) \"c\"\n3) \"d\"\n4) \"xyz\"",
            ),

            (
                r#"return {cmsgpack.unpack('\220\0\2\1\2')}"#,
                "1) 1) (integer) 1\n   2) (integer) 2",
            ),

            (
                r#"return {cmsgpack.unpack('\221\0\0\0\1\1')}"#,
                "1) 1) (integer) 1",
            ),

            (
                r#"return {cmsgpack.unpack('\222\0\1\1\2')}"#,
                "1) 1) (integer) 2",
            ),

            (
                r#"return {cmsgpack.unpack('\223\0\0\0\1\1\2')}"#,
                "1) 1) (integer) 2",
            ),

            (
                r#"return {cmsgpack.unpack('\145\192')}"#,
                "1) (empty array)",
            ),

            (
                r#"return {cmsgpack.unpack('\129\1\192\1')}"#,
                "1) (empty array)\n2) (integer) 1",
            ),

            (
                "return {cmsgpack.unpack(12)}",
                "1) (integer) 49\n2) (integer) 50",
            ),

            (
                r#"return {cmsgpack.unpack('\1', 'extra')}"#,
                "1) (integer) 1",
            ),

        ]);
    }

    #[test]
    fn unpack_one() {
        check(&[

            (
                "return {cmsgpack.unpack_one('')}",
                "1) (integer) -1",
            ),

            (
                r#"return {cmsgpack.unpack_one('\1\2\3')}"#,
                "1) (integer) 1\n2) (integer) 1",
            ),

            (
                r#"return {cmsgpack.unpack_one('\1\2\3', 1)}"#,
                "1) (integer) 2\n2) (integer) 2",
            ),

            (
                r#"return {cmsgpack.unpack_one('\1\2\3', 2)}"#,
                "1) (integer) -1\n2) (integer) 3",
            ),

            (
                r#"return {cmsgpack.unpack_one('\1\2\3', 3)}"#,
                "1) (integer) -1",
            ),

            (
                r#"return {cmsgpack.unpack_one('\1\2\3', 1.7)}"#,
                "1) (integer) 2\n2) (integer) 2",
            ),

            (
                r#"return {cmsgpack.unpack_one('\1\2\3', 4)}"#,
                "(error) ERR user_script:1: Start offset 4 greater than input length 3. script: 20f363070f2503e0b7a10a1c59da3a86eeac39cf, on @user_script:1.",
            ),

            (
                r#"return {cmsgpack.unpack_one('\1\2\3', -1)}"#,
                "(error) ERR user_script:1: Invalid request to unpack with offset of -1 and limit of 3. script: 01c48994c7c313b4d5375e730dc2a78ab0f88aab, on @user_script:1.",
            ),

            (
                r#"return {cmsgpack.unpack_one('\1\2\3', 2^32+1)}"#,
                "(error) ERR user_script:1: Start offset 1 greater than input length 3. script: 3b5ace72e6879150e6774b0d5423abd2c0cc7be7, on @user_script:1.",
            ),

            (
                r#"return {cmsgpack.unpack_one('\1\2\3', 'x')}"#,
                "(error) ERR user_script:1: bad argument #2 to 'unpack_one' (number expected, got string) script: 98975624424161b3b39c71251f8fe2ea4e8fd674, on @user_script:1.",
            ),

            (
                "return {cmsgpack.unpack_one({})}",
                "(error) ERR user_script:1: bad argument #1 to 'unpack_one' (string expected, got table) script: 67f08ff198520e3e77cb4a48b6a26d62d63e5848, on @user_script:1.",
            ),

            (
                "return {cmsgpack.unpack_one()}",
                "(error) ERR user_script:1: bad argument #1 to 'unpack_one' (string expected, got no value) script: d150534e8ca91f9b54123563cfae8624dd707de1, on @user_script:1.",
            ),

        ]);
    }

    #[test]
    fn unpack_limit() {
        check(&[

            (
                r#"return {cmsgpack.unpack_limit('\1\2\3', 2)}"#,
                "1) (integer) 2\n2) (integer) 1\n3) (integer) 2",
            ),

            (
                r#"return {cmsgpack.unpack_limit('\1\2\3', 0)}"#,
                "1) (integer) 1\n2) (integer) 2\n3) (integer) 3",
            ),

            (
                r#"return {cmsgpack.unpack_limit('\1\2\3', 0, 1)}"#,
                "1) (integer) 1",
            ),

            (
                r#"return {cmsgpack.unpack_limit('\1\2\3', 5, 1)}"#,
                "1) (integer) -1\n2) (integer) 2\n3) (integer) 3",
            ),

            (
                r#"return {cmsgpack.unpack_limit('\1\2', 2^32)}"#,
                "1) (integer) -1\n2) (integer) 1\n3) (integer) 2",
            ),

            (
                r#"return {cmsgpack.unpack_limit('\1\2\3', 1, 3)}"#,
                "1) (integer) -1",
            ),

            (
                r#"return {cmsgpack.unpack_limit('\1\2\3', 1, 4)}"#,
                "(error) ERR user_script:1: Start offset 4 greater than input length 3. script: 6fb5a1eb40e2b95931a08cbb87bec0d68344793e, on @user_script:1.",
            ),

            (
                r#"return {cmsgpack.unpack_limit('\1\2\3', -1)}"#,
                "(error) ERR user_script:1: Invalid request to unpack with offset of 0 and limit of 3. script: a61504c604879e3b4b9e8da20ce1ee48942ccd0b, on @user_script:1.",
            ),

            (
                r#"return {cmsgpack.unpack_limit('\1\2\3', 2^32+1, 2^32)}"#,
                "(error) ERR user_script:1: Start offset 0 greater than input length 3. script: 0aa30b75fc7363cf0866003edb15c9f5dd8dabfd, on @user_script:1.",
            ),

            (
                r#"return {cmsgpack.unpack_limit('\1\2\3')}"#,
                "(error) ERR user_script:1: bad argument #2 to 'unpack_limit' (number expected, got no value) script: 7fb246eac09ff0e796fd213b6e11737bb6c4c4e6, on @user_script:1.",
            ),

            (
                r#"return {cmsgpack.unpack_limit('\1\2\3', 'x')}"#,
                "(error) ERR user_script:1: bad argument #2 to 'unpack_limit' (number expected, got string) script: 651f19bd4c401bfe4e72a107d8796004e54cfb56, on @user_script:1.",
            ),

            (
                "return {cmsgpack.unpack_limit({}, 'x')}",
                "(error) ERR user_script:1: bad argument #2 to 'unpack_limit' (number expected, got string) script: e455968599b5059ac5ffc0eebf45fdde40118343, on @user_script:1.",
            ),

        ]);
    }

    #[test]
    fn errors() {
        check(&[

            (
                "return {cmsgpack.unpack()}",
                "(error) ERR user_script:1: bad argument #1 to 'unpack' (string expected, got no value) script: 293064d82f29cbcbd9e806b28d1d580edad8d5a8, on @user_script:1.",
            ),

            (
                "return {cmsgpack.unpack({})}",
                "(error) ERR user_script:1: bad argument #1 to 'unpack' (string expected, got table) script: a9c33dfccf30a08a7d54486285626120782eb84b, on @user_script:1.",
            ),

            (
                r#"return {cmsgpack.unpack('\205\1')}"#,
                "(error) ERR user_script:1: Missing bytes in input. script: 4da9fbd31d226f226d552ab0f5198a12ec27f96b, on @user_script:1.",
            ),

            (
                r#"return {cmsgpack.unpack('\1\205')}"#,
                "(error) ERR user_script:1: Missing bytes in input. script: e8653213b45a25113d7e23f48aee2eadd646532c, on @user_script:1.",
            ),

            (
                r#"return {cmsgpack.unpack('\217')}"#,
                "(error) ERR user_script:1: Missing bytes in input. script: 73251b960d5bdd24d51d2a72f46a555368e41990, on @user_script:1.",
            ),

            (
                r#"return {cmsgpack.unpack('\217\3ab')}"#,
                "(error) ERR user_script:1: Missing bytes in input. script: 477829b9aae1fd0e8890f86eb9472825a5aa276a, on @user_script:1.",
            ),

            (
                r#"return {cmsgpack.unpack('\146\1')}"#,
                "(error) ERR user_script:1: Missing bytes in input. script: 6257cdcf8ad148ec52395b072561d9f5daf4af49, on @user_script:1.",
            ),

            (
                r#"return {cmsgpack.unpack('\129\1')}"#,
                "(error) ERR user_script:1: Missing bytes in input. script: 6fc535faf2c8c59f5e4e940b685aa32b0464e5c2, on @user_script:1.",
            ),

            (
                r#"return {cmsgpack.unpack('\221\255\255\255\255')}"#,
                "(error) ERR user_script:1: Missing bytes in input. script: 83ad060e58969dd54d41947fa1f0bcfa2a843d61, on @user_script:1.",
            ),

            (
                r#"return {cmsgpack.unpack('\193')}"#,
                "(error) ERR user_script:1: Bad data format in input. script: 4370c4369e4c339c56b8ad64adc652c10d7953b5, on @user_script:1.",
            ),

            (
                r#"return {cmsgpack.unpack('\196\1a')}"#,
                "(error) ERR user_script:1: Bad data format in input. script: 91d63a26ef3fef676ccafbf87a95e18c4408141e, on @user_script:1.",
            ),

            (
                r#"return {cmsgpack.unpack('\1\212\1\1')}"#,
                "(error) ERR user_script:1: Bad data format in input. script: d9d562a2ab8ee7a560f1a084331f9c629812f4dd, on @user_script:1.",
            ),

            (
                r#"return {cmsgpack.unpack('\129\192\1')}"#,
                "(error) ERR table index is nil script: b57640c96e3674704b8e4c9127630b3cf5524843, on @user_script:1.",
            ),

            (
                r#"return {cmsgpack.unpack('\129\192\205')}"#,
                "(error) ERR user_script:1: Missing bytes in input. script: 53a8ce8c79afb24d62911abdfe4685523ebd8519, on @user_script:1.",
            ),

            (
                r#"return {cmsgpack.unpack('\129\203\255\248\0\0\0\0\0\0\1')}"#,
                "(error) ERR table index is NaN script: e9a379b9f0ba6692f8fe4757e217569e7a0d5da8, on @user_script:1.",
            ),

            (
                r#"return {pcall(cmsgpack.unpack, '\129\192\1')}"#,
                "1) (nil)\n2) \"table index is nil\"",
            ),

            (
                r#"return {pcall(cmsgpack.unpack, '\193')}"#,
                "1) (nil)\n2) \"Bad data format in input.\"",
            ),

        ]);
    }

    #[test]
    fn stack_limits() {
        check(&[

            (
                r#"return select('#', cmsgpack.unpack(string.rep('\1', 7999)))"#,
                "(integer) 7999",
            ),

            (
                r#"return select('#', cmsgpack.unpack(string.rep('\1', 8000)))"#,
                "(error) ERR user_script:1: stack overflow (too many return values at once; use unpack_one or unpack_limit instead.) script: fe4db4b1d4612e7b08c9cb25cb8cf88492a06c85, on @user_script:1.",
            ),

            (
                r#"return select('#', cmsgpack.unpack(string.rep('\1', 7998), 'x'))"#,
                "(integer) 7998",
            ),

            (
                r#"return select('#', cmsgpack.unpack(string.rep('\1', 7999), 'x'))"#,
                "(error) ERR user_script:1: stack overflow (too many return values at once; use unpack_one or unpack_limit instead.) script: 3ec852cccf6c68b6a371549552f404ee2f58552d, on @user_script:1.",
            ),

            (
                r#"return select('#', cmsgpack.unpack(string.rep('\161a', 7999)))"#,
                "(integer) 7999",
            ),

            (
                r#"return type(cmsgpack.unpack(string.rep('\145', 3999)..'\1'))"#,
                r#""table""#,
            ),

            (
                r#"return type(cmsgpack.unpack(string.rep('\145', 4000)..'\1'))"#,
                "(error) ERR user_script:1: stack overflow (in function mp_decode_to_lua_array) script: 05cf43317f57ebd3f6748b0ef92ec1064a7ea4a3, on @user_script:1.",
            ),

            (
                r#"return type(cmsgpack.unpack(string.rep('\129\1', 3998)..'\1'))"#,
                r#""table""#,
            ),

            (
                r#"return type(cmsgpack.unpack(string.rep('\129\1', 4000)..'\1'))"#,
                "(error) ERR user_script:1: stack overflow (too many return values at once; use unpack_one or unpack_limit instead.) script: 339ddf5ea66a9bdb42773bcc291b00c3b8adb58c, on @user_script:1.",
            ),

            (
                r#"return type(cmsgpack.unpack(string.rep('\129\161a', 3998)..'\1'))"#,
                r#""table""#,
            ),

            (
                r#"return select('#', cmsgpack.unpack_limit(string.rep('\1', 9000), 8500))"#,
                "(error) ERR user_script:1: stack overflow (too many return values at once; use unpack_one or unpack_limit instead.) script: fb6b30b4ab9a1ef283432875b02de88a3cc03d77, on @user_script:1.",
            ),

            (
                r#"return select('#', cmsgpack.unpack_limit(string.rep('\1', 9000), 7998))"#,
                "(integer) 7999",
            ),

        ]);
    }
}
