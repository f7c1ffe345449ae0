//! The `cmsgpack` library (lua-cmsgpack 0.4.0, as compiled into Redis):
//! `pack(...)` concatenates the MessagePack encoding of each argument, and
//! `unpack`, `unpack_one` and `unpack_limit` decode values back. Integers
//! take their smallest encoding, other numbers a float32 when that is exact
//! and a float64 otherwise; a table whose keys are exactly 1..n is an array,
//! any other a map; tables nested 16 deep are encoded as nil; functions and
//! other unencodable values are nil. Decoding knows no bin or ext types.
//!
//! The decoder walks nested arrays and maps with an explicit stack, keeping
//! the open tables (and pending map keys) in one Lua table, and reproduces
//! the C decoder's Lua stack limits, errors included.

use mlua::{Lua, MultiValue, Table, Value};

use super::args::{trunc_i32, trunc_i64, Args};
use super::cfunc::{arg_error, error, spread, LibError, LibResult};
use super::set_fn;

/// Tables nested this deep are encoded as nil (`LUACMSGPACK_MAX_NESTING`).
const MAX_NESTING: usize = 16;
/// `LUAI_MAXCSTACK`: the stack slots `lua_checkstack` grants.
const MAX_STACK: usize = 8000;

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

/// `mp_unpack_full`: decodes up to `limit` values from byte `offset` (all
/// of them when both are 0, and then without the leading next offset).
fn unpack(lua: &Lua, args: &Args, limit: i64, offset: i64) -> LibResult<MultiValue> {
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
