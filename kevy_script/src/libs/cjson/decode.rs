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

#[cfg(test)]
mod tests {
    use crate::libs::testutil::check;

    #[test]
    fn values() {
        check(&[
            ("return cjson.decode('null') == cjson.null", "(integer) 1"),
            (
                "return tostring(cjson.decode('null'))",
                r#""userdata: (nil)""#,
            ),
            ("return cjson.decode('true')", "(integer) 1"),
            ("return {cjson.decode('false')}", "1) (nil)"),
            (
                "return cjson.decode(' [1, 2 ,3] ')",
                "1) (integer) 1\n2) (integer) 2\n3) (integer) 3",
            ),
            (
                r#"return cjson.encode(cjson.decode('{"a":1,"a":2,"b":[{}, []]}'))"#,
                r#""{\"a\":2,\"b\":[{},{}]}""#,
            ),
            (
                "return cjson.encode(cjson.decode('[null,null]'))",
                r#""[null,null]""#,
            ),
            (r#"return cjson.decode('\t\r\n"x"\n')"#, r#""x""#),
            ("return cjson.decode(12)", "(integer) 12"),
            (r#"return cjson.decode('[1]\0x')"#, "1) (integer) 1"),
        ]);
    }

    #[test]
    fn strings() {
        check(&[
            (
                r#"return cjson.decode('"\\u00e9\\ud83d\\ude00"')"#,
                r#""\xc3\xa9\xf0\x9f\x98\x80""#,
            ),
            (
                r#"return cjson.decode('"\\uD83D\\uDE00"')"#,
                r#""\xf0\x9f\x98\x80""#,
            ),
            (
                r#"return cjson.decode('"\\u007f\\u0080\\u07ff\\u0800\\uffff"')"#,
                r#""\x7f\xc2\x80\xdf\xbf\xe0\xa0\x80\xef\xbf\xbf""#,
            ),
            (r#"return cjson.decode('"a\\u0000b"')"#, r#""a\x00b""#),
            (
                r#"return cjson.decode('"\\/\\b\\f\\n\\r\\t\\"\\\\"')"#,
                r#""/\b\x0c\n\r\t\"\\""#,
            ),
            (r#"return cjson.decode('"\\u0041\\u00410"')"#, r#""AA0""#),
            (
                r#"return cjson.decode('"a\tb\1é"')"#,
                r#""a\tb\x01\xc3\xa9""#,
            ),
        ]);
    }

    #[test]
    fn numbers() {
        check(&[

            (
                "return {tostring(cjson.decode('0x10')), tostring(cjson.decode('-0x10')), tostring(cjson.decode('0x1p4')), tostring(cjson.decode('+1'))}",
                "1) \"16\"\n2) \"-16\"\n3) \"16\"\n4) \"1\"",
            ),

            (
                "return {tostring(cjson.decode('NaN')), tostring(cjson.decode('-nan')), tostring(cjson.decode('nan(123)'))}",
                "1) \"nan\"\n2) \"-nan\"\n3) \"nan\"",
            ),

            (
                "return {tostring(cjson.decode('inf')), tostring(cjson.decode('-Infinity')), tostring(cjson.decode('1e400'))}",
                "1) \"inf\"\n2) \"-inf\"\n3) \"inf\"",
            ),

            (
                "return {tostring(cjson.decode('007')), tostring(cjson.decode('01.5')), tostring(cjson.decode('1.')), tostring(cjson.decode('-0'))}",
                "1) \"7\"\n2) \"1.5\"\n3) \"1\"\n4) \"-0\"",
            ),

            (
                "return {tostring(cjson.decode('1E+2')), tostring(cjson.decode('-1e-400')), tostring(cjson.decode('123456789012345678901'))}",
                "1) \"100\"\n2) \"-0\"\n3) \"1.2345678901235e+20\"",
            ),

        ]);
    }

    #[test]
    fn syntax_errors() {
        check(&[

            (
                "return cjson.decode('')",
                "(error) ERR user_script:1: Expected value but found T_END at character 1 script: 7ff8cf86abed928f4d61a01dcc9713f0117b180a, on @user_script:1.",
            ),

            (
                "return cjson.decode('  ')",
                "(error) ERR user_script:1: Expected value but found T_END at character 3 script: ad90e2cff32ebb0824378d300466719d14e6d1da, on @user_script:1.",
            ),

            (
                "return cjson.decode('nul')",
                "(error) ERR user_script:1: Expected value but found invalid token at character 1 script: 5586fdf8c512d9c8a68678c91a0de23617e84e25, on @user_script:1.",
            ),

            (
                "return cjson.decode('x')",
                "(error) ERR user_script:1: Expected value but found invalid token at character 1 script: 5f58dd5cefb3eb0313af3534f36be4b83e79ae80, on @user_script:1.",
            ),

            (
                "return cjson.decode('.5')",
                "(error) ERR user_script:1: Expected value but found invalid token at character 1 script: 121c0b0f2d2ad62de9456ed953ed7b854d2ec58d, on @user_script:1.",
            ),

            (
                "return cjson.decode('-')",
                "(error) ERR user_script:1: Expected value but found invalid number at character 1 script: a968c762a4638482bd9ef50dcecdc4504214d87d, on @user_script:1.",
            ),

            (
                "return cjson.decode('-i')",
                "(error) ERR user_script:1: Expected value but found invalid number at character 1 script: ecd3645b5d1cdf69c84566c00fb764e3258debb7, on @user_script:1.",
            ),

            (
                "return cjson.decode('1e')",
                "(error) ERR user_script:1: Expected the end but found invalid token at character 2 script: 233eff79cc67a332d1af979291114a1307e115c8, on @user_script:1.",
            ),

            (
                "return cjson.decode('truex')",
                "(error) ERR user_script:1: Expected the end but found invalid token at character 5 script: 6e70d391cb7729b386bd9fd128f3dd0bfee15744, on @user_script:1.",
            ),

            (
                "return cjson.decode('[1]  x')",
                "(error) ERR user_script:1: Expected the end but found invalid token at character 6 script: 05e2ee8e40ef0d935968d736cde3d21b42a1fe5a, on @user_script:1.",
            ),

            (
                r#"return cjson.decode('{"a":1}}')"#,
                "(error) ERR user_script:1: Expected the end but found T_OBJ_END at character 8 script: 3784123f44989e27f1bb6ccf09feb56eef3ed8ed, on @user_script:1.",
            ),

            (
                "return cjson.decode('[1,]')",
                "(error) ERR user_script:1: Expected value but found T_ARR_END at character 4 script: d31ab1dd313d99d4ad3dac6e48cdff283bea270c, on @user_script:1.",
            ),

            (
                "return cjson.decode('[,1]')",
                "(error) ERR user_script:1: Expected value but found T_COMMA at character 2 script: 8d3eede6798b7c83d6ad51ebefaafbf000bdd35a, on @user_script:1.",
            ),

            (
                "return cjson.decode('[1 2]')",
                "(error) ERR user_script:1: Expected comma or array end but found T_NUMBER at character 4 script: cae89247ef27d42d411c61ae44ff3af6ab258d99, on @user_script:1.",
            ),

            (
                "return cjson.decode('[1,2')",
                "(error) ERR user_script:1: Expected comma or array end but found T_END at character 5 script: c107001b5ba2ff860ee2557f64da37c4767ef4bd, on @user_script:1.",
            ),

            (
                "return cjson.decode('{')",
                "(error) ERR user_script:1: Expected object key string but found T_END at character 2 script: 6c60bbb22c4b71b0415e4e539d6dc66cc27df21d, on @user_script:1.",
            ),

            (
                r#"return cjson.decode('{"a" 1}')"#,
                "(error) ERR user_script:1: Expected colon but found T_NUMBER at character 6 script: 3486ee24bfdfc100c738c73355e99954ef01d92f, on @user_script:1.",
            ),

            (
                r#"return cjson.decode('{"a"}')"#,
                "(error) ERR user_script:1: Expected colon but found T_OBJ_END at character 5 script: f0a9c953b5de2269fefed17badeddc57357e2c25, on @user_script:1.",
            ),

            (
                "return cjson.decode('{1:2}')",
                "(error) ERR user_script:1: Expected object key string but found T_NUMBER at character 2 script: b7dfc51e0d5bf164c246fe708a2e33743e899be6, on @user_script:1.",
            ),

            (
                r#"return cjson.decode('{"a":1,}')"#,
                "(error) ERR user_script:1: Expected object key string but found T_OBJ_END at character 8 script: 7e3659dd873275ff5047e436b0cc31cc91d160e4, on @user_script:1.",
            ),

            (
                r#"return cjson.decode('{"a":1 "b":2}')"#,
                "(error) ERR user_script:1: Expected comma or object end but found T_STRING at character 8 script: 7e6d40e89e823b8e3c90db9a275f3a62289f33af, on @user_script:1.",
            ),

            (
                r#"return cjson.decode('{"a":}')"#,
                "(error) ERR user_script:1: Expected value but found T_OBJ_END at character 6 script: 271f75bfc2ffe1a84becf0088927c2079d8cd197, on @user_script:1.",
            ),

            (
                "return cjson.decode(':')",
                "(error) ERR user_script:1: Expected value but found T_COLON at character 1 script: 274ed54f4ed746bb9f78d55f1c0d32fedaac9c3f, on @user_script:1.",
            ),

            (
                "return cjson.decode('}')",
                "(error) ERR user_script:1: Expected value but found T_OBJ_END at character 1 script: 624d1d3b539e5bc974f8121606306b1c4e403f7e, on @user_script:1.",
            ),

        ]);
    }

    #[test]
    fn string_errors() {
        check(&[

            (
                r#"return cjson.decode('"abc')"#,
                "(error) ERR user_script:1: Expected value but found unexpected end of string at character 5 script: 30d67c6fb8e066eef4796bfcc59cee500c381744, on @user_script:1.",
            ),

            (
                r#"return cjson.decode('"\\x"')"#,
                "(error) ERR user_script:1: Expected value but found invalid escape code at character 2 script: e15fa517a0e30bc5ba472a9403d98fe6c88ca8e5, on @user_script:1.",
            ),

            (
                r#"return cjson.decode('"\\')"#,
                "(error) ERR user_script:1: Expected value but found invalid escape code at character 2 script: da59ca298d06a2c4adb061efa6f75e29123f8148, on @user_script:1.",
            ),

            (
                r#"return cjson.decode('"\\u12"')"#,
                "(error) ERR user_script:1: Expected value but found invalid unicode escape code at character 2 script: abf3d7a6907669d8b3a294456e4dca885645512f, on @user_script:1.",
            ),

            (
                r#"return cjson.decode('"\\uzzzz"')"#,
                "(error) ERR user_script:1: Expected value but found invalid unicode escape code at character 2 script: db350170e6360d7b126e76e72b660bca984d2871, on @user_script:1.",
            ),

            (
                r#"return cjson.decode('"\\ud83d"')"#,
                "(error) ERR user_script:1: Expected value but found invalid unicode escape code at character 2 script: a6c52b6928b77ab585254f4aad3a29c682736f38, on @user_script:1.",
            ),

            (
                r#"return cjson.decode('"\\ude00"')"#,
                "(error) ERR user_script:1: Expected value but found invalid unicode escape code at character 2 script: 8f5a5d0c62f864810e9d6f8da1941b32dfb7516e, on @user_script:1.",
            ),

            (
                r#"return cjson.decode('"\\ud83dx"')"#,
                "(error) ERR user_script:1: Expected value but found invalid unicode escape code at character 2 script: a0690fbd5e7523e0aa4c80addeeb64dc02c40971, on @user_script:1.",
            ),

            (
                r#"return cjson.decode('["\\ud800\\u0041"]')"#,
                "(error) ERR user_script:1: Expected value but found invalid unicode escape code at character 3 script: 9b819d843371a8ffb5fddd3198e7a4d4deebba8b, on @user_script:1.",
            ),

        ]);
    }

    #[test]
    fn other_errors() {
        check(&[

            (
                r#"return cjson.decode('1\0x')"#,
                "(error) ERR user_script:1: JSON parser does not support UTF-16 or UTF-32 script: f357e5afece48f5aaef8c380e890f8b2d3501327, on @user_script:1.",
            ),

            (
                r#"return cjson.decode('\0')"#,
                "(error) ERR user_script:1: Expected value but found T_END at character 1 script: 415c2ca45509b359c98e03d445d505048ec768e3, on @user_script:1.",
            ),

            (
                "return cjson.decode()",
                "(error) ERR user_script:1: bad argument #1 to 'decode' (expected 1 argument) script: 5378278d59343caf5c3375a655dfea5e69ab8a74, on @user_script:1.",
            ),

            (
                "return cjson.decode(1, 2)",
                "(error) ERR user_script:1: bad argument #1 to 'decode' (expected 1 argument) script: e6e8194d58fab0f52e4cfd40a22ed55d8c095d09, on @user_script:1.",
            ),

            (
                "return cjson.decode({})",
                "(error) ERR user_script:1: bad argument #1 to 'decode' (string expected, got table) script: 10c706d54b3ae7d2bcc169d647405abd961145fa, on @user_script:1.",
            ),

            (
                "return cjson.decode(nil)",
                "(error) ERR user_script:1: bad argument #1 to 'decode' (string expected, got nil) script: a844f6020def000abf40e0ee50e4a4bd8ed32ccd, on @user_script:1.",
            ),

            (
                "return {pcall(cjson.decode, 'x')}",
                "1) (nil)\n2) \"Expected value but found invalid token at character 1\"",
            ),

            (
                "return {pcall(cjson.decode, string.rep('[', 1000))}",
                "1) (nil)\n2) \"Expected value but found T_END at character 1001\"",
            ),

            (
                "return {pcall(cjson.decode, string.rep('[', 1001))}",
                "1) (nil)\n2) \"Found too many nested data structures (1001) at character 1001\"",
            ),

            (
                r#"return {pcall(cjson.decode, ' '..string.rep('{"a":', 1001))}"#,
                "1) (nil)\n2) \"Found too many nested data structures (1001) at character 5002\"",
            ),

            (
                "return #cjson.decode(string.rep('[', 1000)..string.rep(']', 1000))",
                "(integer) 1",
            ),

        ]);
    }
}
