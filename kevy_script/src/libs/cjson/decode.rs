//! `cjson.decode`: JSON text to a Lua value, as lua-cjson 2.1.0 reads it.
//! The text ends at its first NUL byte; `null` becomes `cjson.null` (a NULL
//! light userdata); numbers are read by `strtod`, so with
//! `decode_invalid_numbers` on (Redis's default) `0x10`, `inf` and `nan`
//! are numbers too. Errors name the expected and the found token with a
//! 1-based character position.
//!
//! The parser keeps its nesting on an explicit stack rather than recursing,
//! and keeps the enclosing tables in one Lua table rather than in a Rust
//! handle each, so deep input costs neither Rust stack nor mlua handles.
//! The C parser's limits are reproduced from its Lua stack use.

use mlua::{Lua, MultiValue, Table, Value};

use super::number::strtod;
use super::{Config, MAX_STACK};
use crate::libs::args::Args;
use crate::libs::cfunc::{arg_error, error, LibError, LibResult};

/// `cjson.decode(text)`.
pub(crate) fn decode(lua: &Lua, args: Args, cfg: &Config) -> LibResult<MultiValue> {
    if args.len() != 1 {
        return Err(arg_error(1, "expected 1 argument"));
    }
    let text = args.string(1)?;
    let data = text.as_bytes();
    if data.len() >= 2 && (data[0] == 0 || data[1] == 0) {
        return Err(error("JSON parser does not support UTF-16 or UTF-32"));
    }
    let mut parser = Parser {
        lua,
        cfg,
        data: &data,
        ptr: 0,
        depth: 0,
    };
    let value = parser.parse()?;
    Ok(MultiValue::from_vec(vec![value]))
}

#[derive(Debug)]
enum Tok {
    ObjBegin,
    ObjEnd,
    ArrBegin,
    ArrEnd,
    Str(Vec<u8>),
    Num(f64),
    Bool(bool),
    Null,
    Colon,
    Comma,
    End,
    /// A token error, described as lua-cjson describes it.
    Error(&'static str),
}

impl Tok {
    /// How an error message names this token.
    fn name(&self) -> &'static str {
        match self {
            Tok::ObjBegin => "T_OBJ_BEGIN",
            Tok::ObjEnd => "T_OBJ_END",
            Tok::ArrBegin => "T_ARR_BEGIN",
            Tok::ArrEnd => "T_ARR_END",
            Tok::Str(_) => "T_STRING",
            Tok::Num(_) => "T_NUMBER",
            Tok::Bool(_) => "T_BOOLEAN",
            Tok::Null => "T_NULL",
            Tok::Colon => "T_COLON",
            Tok::Comma => "T_COMMA",
            Tok::End => "T_END",
            Tok::Error(what) => what,
        }
    }
}

/// A token and the 0-based offset it starts at (for errors, where the
/// offset is where the tokenizer stopped).
struct Token {
    tok: Tok,
    index: usize,
}

/// An array or object being filled; its table is the parser's current one
/// or, for enclosing ones, in the anchor table.
enum Frame {
    Array { next: i64, height: usize },
    Object { key: Vec<u8>, height: usize },
}

struct Parser<'a> {
    lua: &'a Lua,
    cfg: &'a Config,
    data: &'a [u8],
    ptr: usize,
    depth: i32,
}

fn expected(exp: &str, found: &Token) -> LibError {
    error(format!(
        "Expected {exp} but found {} at character {}",
        found.tok.name(),
        found.index + 1
    ))
}

impl Parser<'_> {
    /// The byte at `i`, 0 past the end as in a C string.
    fn at(&self, i: usize) -> u8 {
        self.data.get(i).copied().unwrap_or(0)
    }

    fn starts_with(&self, word: &[u8]) -> bool {
        self.data[self.ptr.min(self.data.len())..].starts_with(word)
    }

    fn token_error(&self, what: &'static str) -> Token {
        Token {
            tok: Tok::Error(what),
            index: self.ptr,
        }
    }

    fn next_token(&mut self) -> Token {
        while matches!(self.at(self.ptr), b' ' | b'\t' | b'\n' | b'\r') {
            self.ptr += 1;
        }
        let index = self.ptr;
        let ch = self.at(self.ptr);
        let single = match ch {
            b'{' => Some(Tok::ObjBegin),
            b'}' => Some(Tok::ObjEnd),
            b'[' => Some(Tok::ArrBegin),
            b']' => Some(Tok::ArrEnd),
            b',' => Some(Tok::Comma),
            b':' => Some(Tok::Colon),
            _ => None,
        };
        if let Some(tok) = single {
            self.ptr += 1;
            return Token { tok, index };
        }
        match ch {
            0 => Token {
                tok: Tok::End,
                index,
            },
            b'"' => self.string_token(index),
            b'-' | b'0'..=b'9' => {
                if !self.cfg.decode_invalid && self.is_invalid_number() {
                    return self.token_error("invalid number");
                }
                self.number_token(index)
            }
            b'f' | b'i' | b'I' | b'n' | b'N' | b't' | b'+' => {
                if self.starts_with(b"true") {
                    self.ptr += 4;
                    Token {
                        tok: Tok::Bool(true),
                        index,
                    }
                } else if self.starts_with(b"false") {
                    self.ptr += 5;
                    Token {
                        tok: Tok::Bool(false),
                        index,
                    }
                } else if self.starts_with(b"null") {
                    self.ptr += 4;
                    Token {
                        tok: Tok::Null,
                        index,
                    }
                } else if self.cfg.decode_invalid && self.is_invalid_number() {
                    self.number_token(index)
                } else {
                    self.token_error("invalid token")
                }
            }
            _ => self.token_error("invalid token"),
        }
    }

    /// lua-cjson's `json_is_invalid_number`: forms `strtod` takes but JSON
    /// does not (a leading `+`, hexadecimal, leading zeros, inf, nan).
    fn is_invalid_number(&self) -> bool {
        let mut p = self.ptr;
        match self.at(p) {
            b'+' => return true,
            b'-' => p += 1,
            _ => {}
        }
        let c = self.at(p);
        if c == b'0' {
            let c2 = self.at(p + 1);
            return (c2 | 0x20) == b'x' || c2.is_ascii_digit();
        }
        if c <= b'9' {
            return false;
        }
        let rest = &self.data[p.min(self.data.len())..];
        let word = |w: &[u8]| rest.len() >= 3 && rest[..3].eq_ignore_ascii_case(w);
        word(b"inf") || word(b"nan")
    }

    fn number_token(&mut self, index: usize) -> Token {
        match strtod(&self.data[self.ptr..]) {
            Some((n, len)) => {
                self.ptr += len;
                Token {
                    tok: Tok::Num(n),
                    index,
                }
            }
            None => self.token_error("invalid number"),
        }
    }

    fn string_token(&mut self, index: usize) -> Token {
        self.ptr += 1;
        let mut out = Vec::new();
        loop {
            let ch = self.at(self.ptr);
            match ch {
                b'"' => break,
                0 => return self.token_error("unexpected end of string"),
                b'\\' => {
                    let unescaped = match self.at(self.ptr + 1) {
                        b'"' => b'"',
                        b'\\' => b'\\',
                        b'/' => b'/',
                        b'b' => 8,
                        b'f' => 12,
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'u' => {
                            if self.unicode_escape(&mut out) {
                                continue;
                            }
                            return self.token_error("invalid unicode escape code");
                        }
                        _ => return self.token_error("invalid escape code"),
                    };
                    out.push(unescaped);
                    self.ptr += 2;
                }
                _ => {
                    out.push(ch);
                    self.ptr += 1;
                }
            }
        }
        self.ptr += 1;
        Token {
            tok: Tok::Str(out),
            index,
        }
    }

    fn hex4(&self, at: usize) -> Option<u32> {
        let mut v = 0;
        for i in 0..4 {
            v = (v << 4) | (self.at(at + i) as char).to_digit(16)?;
        }
        Some(v)
    }

    /// Appends the UTF-8 of the `\uXXXX` escape (or surrogate pair) at the
    /// cursor and moves past it; false if it is invalid.
    fn unicode_escape(&mut self, out: &mut Vec<u8>) -> bool {
        let Some(mut cp) = self.hex4(self.ptr + 2) else {
            return false;
        };
        let mut len = 6;
        if cp & 0xF800 == 0xD800 {
            // A pair must start with a high surrogate, and a \u escape of a
            // low one must follow.
            if cp & 0x400 != 0 || self.at(self.ptr + 6) != b'\\' || self.at(self.ptr + 7) != b'u' {
                return false;
            }
            let Some(low) = self.hex4(self.ptr + 8) else {
                return false;
            };
            if low & 0xFC00 != 0xDC00 {
                return false;
            }
            cp = (((cp & 0x3FF) << 10) | (low & 0x3FF)) + 0x10000;
            len = 12;
        }
        let Some(c) = char::from_u32(cp) else {
            return false;
        };
        let mut buf = [0u8; 4];
        out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
        self.ptr += len;
        true
    }

    /// `json_decode_descend`: one level deeper, if the configured depth and
    /// the C parser's Lua stack (`slots` more from `height`) allow it.
    fn descend(&mut self, height: usize, slots: usize) -> LibResult<()> {
        self.depth += 1;
        if self.depth <= self.cfg.decode_max_depth && height + slots <= MAX_STACK {
            return Ok(());
        }
        Err(error(format!(
            "Found too many nested data structures ({}) at character {}",
            self.depth, self.ptr
        )))
    }

    fn parse(&mut self) -> LibResult<Value> {
        let mut frames: Vec<Frame> = Vec::new();
        // The enclosing tables: anchor[i] is frames[i - 1]'s table.
        let anchor = self.lua.create_table()?;
        // The innermost open table; the anchor stands in at the top level,
        // where there is none.
        let mut current: Table = anchor.clone();
        let mut tok = self.next_token();
        // The C parser's Lua stack height where the next value goes.
        let mut height = 1;
        loop {
            // Read a value starting with `tok`; an array or object that is
            // not empty opens a frame and reads its first value.
            let mut value = match &tok.tok {
                Tok::Str(s) => Value::String(self.lua.create_string(s)?),
                Tok::Num(n) => Value::Number(*n),
                Tok::Bool(b) => Value::Boolean(*b),
                Tok::Null => Value::NULL,
                Tok::ObjBegin => {
                    self.descend(height, 3)?;
                    let table = self.lua.create_table()?;
                    tok = self.next_token();
                    if matches!(tok.tok, Tok::ObjEnd) {
                        self.depth -= 1;
                        Value::Table(table)
                    } else {
                        let key = self.object_key(tok)?;
                        tok = self.next_token();
                        frames.push(Frame::Object { key, height });
                        anchor.raw_set(frames.len(), &table)?;
                        current = table;
                        height += 2;
                        continue;
                    }
                }
                Tok::ArrBegin => {
                    self.descend(height, 2)?;
                    let table = self.lua.create_table()?;
                    tok = self.next_token();
                    if matches!(tok.tok, Tok::ArrEnd) {
                        self.depth -= 1;
                        Value::Table(table)
                    } else {
                        frames.push(Frame::Array { next: 1, height });
                        anchor.raw_set(frames.len(), &table)?;
                        current = table;
                        height += 1;
                        continue;
                    }
                }
                _ => return Err(expected("value", &tok)),
            };
            // Store the value in the enclosing frames, closing those that
            // end here, until one expects another value.
            loop {
                let table = &current;
                let Some(frame) = frames.last_mut() else {
                    let end = self.next_token();
                    if !matches!(end.tok, Tok::End) {
                        return Err(expected("the end", &end));
                    }
                    return Ok(value);
                };
                let more = match frame {
                    Frame::Array { next, height: h } => {
                        table.raw_set(*next, value)?;
                        *next += 1;
                        let t = self.next_token();
                        match t.tok {
                            Tok::ArrEnd => None,
                            Tok::Comma => {
                                tok = self.next_token();
                                Some(*h + 1)
                            }
                            _ => return Err(expected("comma or array end", &t)),
                        }
                    }
                    Frame::Object { key, height: h } => {
                        table.raw_set(self.lua.create_string(&*key)?, value)?;
                        let t = self.next_token();
                        match t.tok {
                            Tok::ObjEnd => None,
                            Tok::Comma => {
                                let t = self.next_token();
                                *key = self.object_key(t)?;
                                tok = self.next_token();
                                Some(*h + 2)
                            }
                            _ => return Err(expected("comma or object end", &t)),
                        }
                    }
                };
                if let Some(h) = more {
                    height = h;
                    break;
                }
                // The frame's table is complete: it is the value for the
                // frame around it.
                self.depth -= 1;
                anchor.raw_set(frames.len(), Value::Nil)?;
                frames.pop();
                let inner = if frames.is_empty() {
                    anchor.clone()
                } else {
                    anchor.raw_get(frames.len())?
                };
                value = Value::Table(std::mem::replace(&mut current, inner));
            }
        }
    }

    /// The key string of an object member followed by its colon.
    fn object_key(&mut self, tok: Token) -> LibResult<Vec<u8>> {
        let Tok::Str(key) = tok.tok else {
            return Err(expected("object key string", &tok));
        };
        let colon = self.next_token();
        if !matches!(colon.tok, Tok::Colon) {
            return Err(expected("colon", &colon));
        }
        Ok(key)
    }
}
