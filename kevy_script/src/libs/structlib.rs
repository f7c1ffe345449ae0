//! The `struct` library (Roberto Ierusalimschy's struct.c, as patched into
//! Redis): `pack`, `unpack` and `size` of C-like structures described by a
//! format string. The native layout is x86-64's: little endian, `short` 2
//! bytes, `int` 4, `long` and `size_t` 8, maximum alignment 8. Integers go
//! through a 64-bit value, so sizes over 8 bytes (up to 32) are zero-filled
//! when packed and wrap when unpacked, exactly as the C code does.

use mlua::{Lua, MultiValue, Table, Value};

use super::args::{to_number, trunc_i64, trunc_u64, Args};
use super::cfunc::{arg_error, error, spread, LibResult};
use super::set_fn;

/// Largest integral size, in bytes.
const MAXINTSIZE: i64 = 32;
/// Default alignment given by a bare `!`: `offsetof(struct {char c; double d;}, d)`.
const MAXALIGN: i64 = 8;
/// `LUAI_MAXCSTACK`: how many stack slots `lua_checkstack` grants.
const MAX_STACK: usize = 8000;

/// Builds the `struct` table.
pub(crate) fn module(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    set_fn(lua, &t, "pack", pack)?;
    set_fn(lua, &t, "unpack", unpack)?;
    set_fn(lua, &t, "size", size)?;
    Ok(t)
}

struct Header {
    big_endian: bool,
    align: usize,
}

impl Header {
    fn new() -> Self {
        Header {
            big_endian: false,
            align: 1,
        }
    }
}

/// A format string, read as C reads it: up to its first NUL byte.
struct Format {
    bytes: Vec<u8>,
    at: usize,
}

impl Format {
    fn new(s: &mlua::String) -> Self {
        let all = s.as_bytes();
        let end = all.iter().position(|&b| b == 0).unwrap_or(all.len());
        Format {
            bytes: all[..end].to_vec(),
            at: 0,
        }
    }

    fn next_opt(&mut self) -> Option<u8> {
        let b = self.bytes.get(self.at).copied();
        self.at += 1;
        b
    }

    /// The decimal number at the cursor, or `default` when there is none.
    fn number(&mut self, default: i64) -> LibResult<i64> {
        let mut a: i64 = 0;
        let mut any = false;
        while let Some(&d) = self.bytes.get(self.at).filter(|d| d.is_ascii_digit()) {
            let d = i64::from(d - b'0');
            if a > i64::from(i32::MAX) / 10 || a * 10 > i64::from(i32::MAX) - d {
                return Err(error("integral size overflow"));
            }
            a = a * 10 + d;
            self.at += 1;
            any = true;
        }
        Ok(if any { a } else { default })
    }

    /// The size of option `opt`, reading its count if it has one.
    fn opt_size(&mut self, opt: u8) -> LibResult<usize> {
        Ok(match opt {
            b'B' | b'b' | b'x' => 1,
            b'H' | b'h' => 2,
            b'L' | b'l' | b'T' | b'd' => 8,
            b'f' => 4,
            b'c' => self.number(1)? as usize,
            b'i' | b'I' => {
                let sz = self.number(4)?;
                if sz > MAXINTSIZE {
                    return Err(error(format!(
                        "integral size {sz} is larger than limit of {MAXINTSIZE}"
                    )));
                }
                sz as usize
            }
            _ => 0,
        })
    }

    /// The options that are not values: space, endianness, alignment.
    fn control(&mut self, opt: u8, h: &mut Header) -> LibResult<()> {
        match opt {
            b' ' => {}
            b'>' => h.big_endian = true,
            b'<' => h.big_endian = false,
            b'!' => {
                let a = self.number(MAXALIGN)?;
                if a <= 0 || a & (a - 1) != 0 {
                    return Err(error(format!("alignment {a} is not a power of 2")));
                }
                h.align = a as usize;
            }
            _ => {
                let mut msg = b"invalid format option '".to_vec();
                msg.push(opt);
                msg.push(b'\'');
                return Err(arg_error(1, msg));
            }
        }
        Ok(())
    }
}

/// Padding needed before an item of `size` at offset `len`.
fn to_align(len: usize, h: &Header, opt: u8, size: usize) -> usize {
    if size == 0 || opt == b'c' {
        return 0;
    }
    let size = size.min(h.align);
    size.wrapping_sub(len & (size - 1)) & (size - 1)
}

fn is_integer_opt(opt: u8) -> bool {
    matches!(
        opt,
        b'b' | b'B' | b'h' | b'H' | b'l' | b'L' | b'T' | b'i' | b'I'
    )
}

fn put_bytes(out: &mut Vec<u8>, little: &[u8], h: &Header) {
    if h.big_endian {
        out.extend(little.iter().rev());
    } else {
        out.extend_from_slice(little);
    }
}

fn pack(lua: &Lua, mut args: Args) -> LibResult<MultiValue> {
    let mut fmt = Format::new(&args.string(1)?);
    // struct.c pushes a nil to separate the arguments from its string
    // buffer, so a missing argument is reported as "got nil".
    args.push_nil();
    let mut h = Header::new();
    let mut out = Vec::new();
    let mut arg = 2;
    while let Some(opt) = fmt.next_opt() {
        let mut size = fmt.opt_size(opt)?;
        let pad = to_align(out.len(), &h, opt, size);
        out.resize(out.len() + pad, 0);
        match opt {
            _ if is_integer_opt(opt) => {
                let n = args.number(arg)?;
                arg += 1;
                let mut value = if n < 0.0 {
                    trunc_i64(n) as u64
                } else {
                    trunc_u64(n)
                };
                let mut little = Vec::with_capacity(size);
                for _ in 0..size {
                    little.push(value as u8);
                    value = value.checked_shr(8).unwrap_or(0);
                }
                put_bytes(&mut out, &little, &h);
            }
            b'x' => out.push(0),
            b'f' => {
                let f = args.number(arg)? as f32;
                arg += 1;
                put_bytes(&mut out, &f.to_le_bytes(), &h);
            }
            b'd' => {
                let d = args.number(arg)?;
                arg += 1;
                put_bytes(&mut out, &d.to_le_bytes(), &h);
            }
            b'c' | b's' => {
                let s = args.string(arg)?;
                arg += 1;
                let s = s.as_bytes();
                if size == 0 {
                    size = s.len();
                }
                // struct.c checks after moving past the argument, so the
                // error names the next argument's number.
                if s.len() < size {
                    return Err(arg_error(arg as i32, "string too short"));
                }
                out.extend_from_slice(&s[..size]);
                if opt == b's' {
                    out.push(0);
                }
            }
            _ => fmt.control(opt, &mut h)?,
        }
    }
    Ok(MultiValue::from_vec(vec![Value::String(
        lua.create_string(out)?,
    )]))
}

fn get_integer(bytes: &[u8], h: &Header, signed: bool) -> f64 {
    let mut l: u64 = 0;
    let mut push = |b: u8| l = (l << 8) | u64::from(b);
    if h.big_endian {
        bytes.iter().copied().for_each(&mut push);
    } else {
        bytes.iter().rev().copied().for_each(&mut push);
    }
    if !signed {
        return l as f64;
    }
    // C shifts by `size*8 - 1`; x86 takes shift counts modulo 64.
    let shift = (bytes.len() as i64 * 8 - 1) as u32;
    let mask = u64::MAX.wrapping_shl(shift);
    if l & mask != 0 {
        l |= mask;
    }
    l as i64 as f64
}

fn unpack(lua: &Lua, args: Args) -> LibResult<MultiValue> {
    let mut fmt = Format::new(&args.string(1)?);
    let data = args.string(2)?;
    let data = data.as_bytes();
    let ld = data.len();
    // size_t in C: a negative offset becomes huge and fails the length check.
    let init = args.opt_integer(3, 1)? as u64 as usize;
    if init == 0 {
        return Err(arg_error(3, "offset must be 1 or greater"));
    }
    let mut pos = init - 1;
    let mut h = Header::new();
    let results = lua.create_table()?;
    let mut n = 0usize;
    while let Some(opt) = fmt.next_opt() {
        let mut size = fmt.opt_size(opt)?;
        pos = pos.wrapping_add(to_align(pos, &h, opt, size));
        if pos.checked_add(size).is_none_or(|end| end > ld) {
            return Err(arg_error(2, "data string too short"));
        }
        if args.len() + n + 2 > MAX_STACK {
            return Err(error("stack overflow (too many results)"));
        }
        match opt {
            _ if is_integer_opt(opt) => {
                let v = get_integer(&data[pos..pos + size], &h, opt.is_ascii_lowercase());
                n += 1;
                results.raw_set(n, v)?;
            }
            b'x' => {}
            b'f' => {
                let mut b = [0u8; 4];
                b.copy_from_slice(&data[pos..pos + 4]);
                let f = if h.big_endian {
                    f32::from_be_bytes(b)
                } else {
                    f32::from_le_bytes(b)
                };
                n += 1;
                results.raw_set(n, f64::from(f))?;
            }
            b'd' => {
                let mut b = [0u8; 8];
                b.copy_from_slice(&data[pos..pos + 8]);
                let d = if h.big_endian {
                    f64::from_be_bytes(b)
                } else {
                    f64::from_le_bytes(b)
                };
                n += 1;
                results.raw_set(n, d)?;
            }
            b'c' => {
                if size == 0 {
                    let prev: Value = if n == 0 {
                        Value::Nil
                    } else {
                        results.raw_get(n)?
                    };
                    let Some(len) = to_number(lua, &prev) else {
                        return Err(error("format 'c0' needs a previous size"));
                    };
                    results.raw_set(n, Value::Nil)?;
                    n -= 1;
                    size = trunc_u64(len) as usize;
                    if size > ld || pos > ld - size {
                        return Err(arg_error(2, "data string too short"));
                    }
                }
                n += 1;
                results.raw_set(n, lua.create_string(&data[pos..pos + size])?)?;
            }
            b's' => {
                let Some(len) = data[pos..].iter().position(|&b| b == 0) else {
                    return Err(error("unfinished string in data"));
                };
                size = len + 1;
                n += 1;
                results.raw_set(n, lua.create_string(&data[pos..pos + len])?)?;
            }
            _ => fmt.control(opt, &mut h)?,
        }
        pos = pos.wrapping_add(size);
    }
    n += 1;
    results.raw_set(n, pos.wrapping_add(1) as i64 as f64)?;
    Ok(spread(results, n))
}

fn size(_lua: &Lua, args: Args) -> LibResult<MultiValue> {
    let mut fmt = Format::new(&args.string(1)?);
    let mut h = Header::new();
    let mut pos = 0usize;
    while let Some(opt) = fmt.next_opt() {
        let size = fmt.opt_size(opt)?;
        pos = pos.wrapping_add(to_align(pos, &h, opt, size));
        if opt == b's' {
            return Err(arg_error(1, "option 's' has no fixed size"));
        } else if opt == b'c' && size == 0 {
            return Err(arg_error(1, "option 'c0' has no fixed size"));
        }
        // Letters and digits that are not options count as nothing here.
        if !opt.is_ascii_alphanumeric() {
            fmt.control(opt, &mut h)?;
        }
        pos = pos.wrapping_add(size);
    }
    Ok(MultiValue::from_vec(vec![Value::Number(pos as f64)]))
}

#[cfg(test)]
mod tests {
    use crate::libs::testutil::check;

    fn err(msg: &str, sha: &str) -> String {
        format!("(error) ERR user_script:1: {msg} script: {sha}, on @user_script:1.")
    }

    #[test]
    fn pack_integers_and_floats() {
        check(&[
            ("return struct.pack('HH',1,2)", r#""\x01\x00\x02\x00""#),
            ("return struct.pack('>i',-2)", r#""\xff\xff\xff\xfe""#),
            ("return struct.pack('<i2',-2)", r#""\xfe\xff""#),
            ("return struct.pack('i3',65536*3+1)", r#""\x01\x00\x03""#),
            (
                "return struct.pack('<l',1)",
                r#""\x01\x00\x00\x00\x00\x00\x00\x00""#,
            ),
            (
                "return struct.pack('<T',1)",
                r#""\x01\x00\x00\x00\x00\x00\x00\x00""#,
            ),
            (
                "return struct.pack('i8',-1)",
                r#""\xff\xff\xff\xff\xff\xff\xff\xff""#,
            ),
            (
                "return struct.pack('i9',-1)",
                r#""\xff\xff\xff\xff\xff\xff\xff\xff\x00""#,
            ),
            (
                "return struct.pack('>i16',-2)",
                r#""\x00\x00\x00\x00\x00\x00\x00\x00\xff\xff\xff\xff\xff\xff\xff\xfe""#,
            ),
            ("return struct.pack('i0',1)", r#""""#),
            ("return struct.pack('b',200)", r#""\xc8""#),
            ("return struct.pack('B',-1)", r#""\xff""#),
            ("return struct.pack('B',256)", r#""\x00""#),
            ("return struct.pack('b',1.7)", r#""\x01""#),
            ("return struct.pack('b',-1.7)", r#""\xff""#),
            ("return struct.pack('b','12')", r#""\x0c""#),
            ("return struct.pack('i',2^40)", r#""\x00\x00\x00\x00""#),
            ("return struct.pack('i',1e20)", r#""\x00\x00\x00\x00""#),
            (
                "return struct.pack('i8',0/0)",
                r#""\x00\x00\x00\x00\x00\x00\x00\x80""#,
            ),
            (
                "return struct.pack('i8',1e300)",
                r#""\x00\x00\x00\x00\x00\x00\x00\x00""#,
            ),
            (
                "return struct.pack('i8',-1e300)",
                r#""\x00\x00\x00\x00\x00\x00\x00\x80""#,
            ),
            (
                "return struct.pack('I8',2^63+2^12)",
                r#""\x00\x10\x00\x00\x00\x00\x00\x80""#,
            ),
            (
                "return struct.pack('I8',2^64)",
                r#""\x00\x00\x00\x00\x00\x00\x00\x00""#,
            ),
            ("return struct.pack('f',1.5)", r#""\x00\x00\xc0?""#),
            ("return struct.pack('f',0.1)", r#""\xcd\xcc\xcc=""#),
            ("return struct.pack('f',1e300)", r#""\x00\x00\x80\x7f""#),
            (
                "return struct.pack('>d',1.5)",
                r#""?\xf8\x00\x00\x00\x00\x00\x00""#,
            ),
            ("return struct.pack('b',1,2,3)", r#""\x01""#),
            ("return struct.pack(' b b ',1,2)", r#""\x01\x02""#),
            ("return struct.pack('b\\0b',1,2)", r#""\x01""#),
            ("return struct.pack('<>h',1)", r#""\x00\x01""#),
        ]);
    }

    #[test]
    fn pack_strings_and_alignment() {
        check(&[
            ("return struct.pack('s','ab')", r#""ab\x00""#),
            ("return struct.pack('s','a\\0b')", r#""a\x00b\x00""#),
            ("return struct.pack('s',12)", r#""12\x00""#),
            ("return struct.pack('c','ab')", r#""a""#),
            ("return struct.pack('c0','abc')", r#""abc""#),
            ("return struct.pack('c0',12)", r#""12""#),
            ("return struct.pack('c5','abcdefgh')", r#""abcde""#),
            (
                "return struct.pack('!i1d',1,2)",
                r#""\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00@""#,
            ),
            (
                "return struct.pack('!4bd',1,2)",
                r#""\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00@""#,
            ),
            (
                "return struct.pack('bxd',1,2)",
                r#""\x01\x00\x00\x00\x00\x00\x00\x00\x00@""#,
            ),
            ("return struct.pack('!bh',1,2)", r#""\x01\x00\x02\x00""#),
            (
                "return struct.pack('!2bi',1,2)",
                r#""\x01\x00\x02\x00\x00\x00""#,
            ),
            (
                "return struct.pack('!8bi3',1,2)",
                r#""\x01\x00\x00\x02\x00\x00""#,
            ),
            (
                "return struct.pack('!8bbi3',1,2,3)",
                r#""\x01\x02\x03\x00\x00""#,
            ),
            (
                "return struct.pack('!8bi6',1,2)",
                r#""\x01\x00\x00\x00\x00\x00\x02\x00\x00\x00\x00\x00""#,
            ),
            ("return struct.pack('!4bs',1,'a')", r#""\x01a\x00""#),
            ("return struct.pack('!4bc2',1,'ab')", r#""\x01ab""#),
            (
                "return struct.pack('!4bf',1,1)",
                r#""\x01\x00\x00\x00\x00\x00\x80?""#,
            ),
            (
                "return struct.pack('!8xbi4',1,2)",
                r#""\x00\x01\x00\x00\x02\x00\x00\x00""#,
            ),
            ("return struct.pack('>!4bh',1,2)", r#""\x01\x00\x00\x02""#),
            ("return struct.pack('!64b',1)", r#""\x01""#),
            ("return struct.pack('!',1)", r#""""#),
        ]);
    }

    #[test]
    fn pack_errors() {
        check(&[
            (
                "return struct.pack('i33',1)",
                &err(
                    "integral size 33 is larger than limit of 32",
                    "4b5c165af2e6891884809860ebfa9b6c33a178b8",
                ),
            ),
            (
                "return struct.pack('i99999999999',1)",
                &err(
                    "integral size overflow",
                    "9051e7d494800dd60b771826ea6140a989e23bc9",
                ),
            ),
            (
                "return struct.pack('i2147483647',1)",
                &err(
                    "integral size 2147483647 is larger than limit of 32",
                    "3e27cdea59bb8dcac0499a89b3b99d175c421522",
                ),
            ),
            (
                "return struct.pack('c3','ab')",
                &err(
                    "bad argument #3 to 'pack' (string too short)",
                    "936d0f2ba324617f569b9bf97d6caf82cbefc336",
                ),
            ),
            (
                "return struct.pack('q',1)",
                &err(
                    "bad argument #1 to 'pack' (invalid format option 'q')",
                    "1b5cc12c9373f0c88806e2dfc2bf83162eb3a0a1",
                ),
            ),
            (
                "return struct.pack(12,1)",
                &err(
                    "bad argument #1 to 'pack' (invalid format option '1')",
                    "5145fafd2cd5eb2925bc9fea9414b527c1716618",
                ),
            ),
            (
                "return struct.pack('b')",
                &err(
                    "bad argument #2 to 'pack' (number expected, got nil)",
                    "fd20463fb1ef62aa4fafca9dfa083b276ab7d453",
                ),
            ),
            (
                "return struct.pack('b','x')",
                &err(
                    "bad argument #2 to 'pack' (number expected, got string)",
                    "b3be4b1c7f63b1dcdc3c47b08e04c9f687267ea7",
                ),
            ),
            (
                "return struct.pack('s',{})",
                &err(
                    "bad argument #2 to 'pack' (string expected, got table)",
                    "156284d5f9b9e767dc97cac810314875d0c3fa41",
                ),
            ),
            (
                "return struct.pack('!3bh',1,2)",
                &err(
                    "alignment 3 is not a power of 2",
                    "d123cb65304fbbfaa6b0873671199b90d904c6a7",
                ),
            ),
            (
                "return struct.pack('!0b',1)",
                &err(
                    "alignment 0 is not a power of 2",
                    "e586cc82db8e5c2c7eded216859a84426939bdcd",
                ),
            ),
            (
                "return struct.pack()",
                &err(
                    "bad argument #1 to 'pack' (string expected, got no value)",
                    "c9b8aed4f0633591e6252db264bf8b86b82828d5",
                ),
            ),
            (
                "return struct.pack({},1)",
                &err(
                    "bad argument #1 to 'pack' (string expected, got table)",
                    "a2d6fa94c0ebfcbb1bd29b5103adff44fcaa543b",
                ),
            ),
            (
                "return struct.pack('d')",
                &err(
                    "bad argument #2 to 'pack' (number expected, got nil)",
                    "4613033cb1d3097d7204f4b1b6990789d26565af",
                ),
            ),
            (
                "return {pcall(struct.pack, 'q')}",
                "1) (nil)\n2) \"bad argument #1 to '?' (invalid format option 'q')\"",
            ),
        ]);
    }

    #[test]
    fn unpack_values() {
        check(&[
            ("return { struct.unpack('HH', '\\1\\0\\2\\0') }", "1) (integer) 1\n2) (integer) 2\n3) (integer) 5"),
            ("return {struct.unpack('>i', '\\255\\255\\255\\254')}", "1) (integer) -2\n2) (integer) 5"),
            ("return {struct.unpack('<I', '\\255\\255\\255\\254')}", "1) (integer) 4278190079\n2) (integer) 5"),
            ("return {struct.unpack('b', 'abc', 2)}", "1) (integer) 98\n2) (integer) 3"),
            ("return {struct.unpack('b', 'abc', 1.9)}", "1) (integer) 97\n2) (integer) 2"),
            ("return {struct.unpack('b', 'abc', '2')}", "1) (integer) 98\n2) (integer) 3"),
            ("return {struct.unpack('b', 12)}", "1) (integer) 49\n2) (integer) 2"),
            ("return {struct.unpack('ss', 'ab\\0cd\\0')}", "1) \"ab\"\n2) \"cd\"\n3) (integer) 7"),
            ("return {struct.unpack('bc0', '\\3abcd')}", "1) \"abc\"\n2) (integer) 5"),
            ("return {struct.unpack('bc0', '\\0abc')}", "1) \"\"\n2) (integer) 2"),
            ("return {struct.unpack('c1c0', '3abc')}", "1) \"abc\"\n2) (integer) 5"),
            ("return {struct.unpack('c2c0', '1.5abc')}", "1) \"5\"\n2) (integer) 4"),
            ("return {struct.unpack('c2c2', 'abcd')}", "1) \"ab\"\n2) \"cd\"\n3) (integer) 5"),
            ("return {struct.unpack('f', '\\0\\0\\192?')}", "1) (integer) 1\n2) (integer) 5"),
            ("return {struct.unpack('>d', '?\\248\\0\\0\\0\\0\\0\\0')}", "1) (integer) 1\n2) (integer) 9"),
            ("return {struct.unpack('i9', '\\255\\255\\255\\255\\255\\255\\255\\255\\255')}", "1) (integer) -1\n2) (integer) 10"),
            ("return {struct.unpack('>i16', string.rep('\\255',16))}", "1) (integer) -1\n2) (integer) 17"),
            ("return {struct.unpack('i8', '\\255\\255\\255\\255\\255\\255\\255\\127')}", "1) (integer) -9223372036854775808\n2) (integer) 9"),
            ("return {struct.unpack('!4bi', '\\1\\0\\0\\0\\2\\0\\0\\0')}", "1) (integer) 1\n2) (integer) 2\n3) (integer) 9"),
            ("return {struct.unpack('bxb', '\\1\\0\\2')}", "1) (integer) 1\n2) (integer) 2\n3) (integer) 4"),
            ("return {struct.unpack('i0', '')}", "1) (integer) 0\n2) (integer) 1"),
            ("return {struct.unpack('', 'abc', 10)}", "1) (integer) 10"),
            ("return {struct.unpack('i3', '\\255\\255\\255')}", "1) (integer) -1\n2) (integer) 4"),
            ("return {struct.unpack('I3', '\\255\\255\\255')}", "1) (integer) 16777215\n2) (integer) 4"),
            ("return {struct.unpack('b>', 'a')}", "1) (integer) 97\n2) (integer) 2"),
            ("return tostring(struct.unpack('I8', string.rep('\\255',8)))", "\"1.844674407371e+19\""),
            ("return tostring(struct.unpack('i9', '\\0\\0\\0\\0\\0\\0\\0\\128\\0'))", "\"-128\""),
            ("return tostring(struct.unpack('i12', '\\1\\0\\0\\0\\0\\0\\0\\0\\0\\0\\0\\128'))", "\"1\""),
            ("return tostring(struct.unpack('>i9', '\\128\\0\\0\\0\\0\\0\\0\\0\\1'))", "\"1\""),
            ("return tostring(struct.unpack('f', '\\0\\0\\192\\127'))", "\"nan\""),
            ("return tostring(struct.unpack('d', 'abcdefgh'))", "\"8.5408832230361e+194\""),
            ("return select('#', struct.unpack(string.rep('b', 7997), string.rep('a', 9000)))", "(integer) 7998"),
            ("return select('#', struct.unpack(string.rep('b', 7996), string.rep('a', 9000), 1))", "(integer) 7997"),
            ("return select('#', struct.unpack(string.rep('c1', 7997), string.rep('a', 9000)))", "(integer) 7998"),
        ]);
    }

    #[test]
    fn unpack_errors() {
        check(&[
            ("return {struct.unpack('b', 'abc', 4)}", &err("bad argument #2 to 'unpack' (data string too short)", "497ccd0cb357739ee2c61753c141f871f79d4fab")),
            ("return {struct.unpack('b', 'abc', 0)}", &err("bad argument #3 to 'unpack' (offset must be 1 or greater)", "79de5b09e3b045084f761eb72f7ae8f435666337")),
            ("return {struct.unpack('b', 'abc', -1)}", &err("bad argument #2 to 'unpack' (data string too short)", "a99362aa05fa96318d668c42e37cbc7b78d13a09")),
            ("return {struct.unpack('b', 'abc', 'x')}", &err("bad argument #3 to 'unpack' (number expected, got string)", "8b4c56e914adc19984ed1b3d14c6b4f46e3c68b5")),
            ("return {struct.unpack('b', 'abc', 1/0)}", &err("bad argument #2 to 'unpack' (data string too short)", "1be0fa38271ca6769aa32221b8a9a871bce422e2")),
            ("return {struct.unpack('b', 'abc', 0/0)}", &err("bad argument #2 to 'unpack' (data string too short)", "871aa7d18978c69ebd8ea470fa6be1ab02c2d790")),
            ("return {struct.unpack('s', 'ab')}", &err("unfinished string in data", "663a8a7d5280e34ca9b4ae460750f699731c3d1d")),
            ("return {struct.unpack('c0', 'abcd')}", &err("format 'c0' needs a previous size", "9fbda9566ba9b7cbf07d69a04df54c6da7e9830c")),
            ("return {struct.unpack('sc0', 'ab\\0cd')}", &err("format 'c0' needs a previous size", "b8634fbd98684c128c3650c155d300935c557afa")),
            ("return {struct.unpack('c1c0', '-1abc')}", &err("format 'c0' needs a previous size", "e5601932ee9529aa0676a957f8c75ca466b8f7ab")),
            ("return {struct.unpack('bc0', '\\9abcd')}", &err("bad argument #2 to 'unpack' (data string too short)", "f9a2112fd2cf230d26a85dffd7b41555b6e527e1")),
            ("return {struct.unpack('c5', 'abcd')}", &err("bad argument #2 to 'unpack' (data string too short)", "133b3f9c70fa823ef07a7faab7614717f32ee193")),
            ("return {struct.unpack('!8bd', 'a')}", &err("bad argument #2 to 'unpack' (data string too short)", "dc5ff4cea290786eb6bacefe0f6671c4d2d20364")),
            ("return {struct.unpack('q', 'a')}", &err("bad argument #1 to 'unpack' (invalid format option 'q')", "e829591df80db2c5f5d23432a86ec1e6665499df")),
            ("return {struct.unpack('b!3', 'a')}", &err("alignment 3 is not a power of 2", "558b3d54e263caec86e5586e45bc28c81419b70c")),
            ("return {struct.unpack('b')}", &err("bad argument #2 to 'unpack' (string expected, got no value)", "6525302830df3d67940cd767f77af1613a3665b4")),
            ("return {struct.unpack()}", &err("bad argument #1 to 'unpack' (string expected, got no value)", "268ec9e584f7e1122ed699cbb7fc9856ec0eb21e")),
            ("return {struct.unpack('b', {})}", &err("bad argument #2 to 'unpack' (string expected, got table)", "1d804b25ee0babded0f2d18c461a17fc086f57fa")),
            ("return select('#', struct.unpack(string.rep('b', 7998), string.rep('a', 9000)))", &err("stack overflow (too many results)", "bdf916ab339f3081a6201ca879e66d9c1defe696")),
            ("return select('#', struct.unpack(string.rep('b', 7997), string.rep('a', 9000), 1))", &err("stack overflow (too many results)", "0f03b0985fed46d544dd457232a688fcbebd98f8")),
            ("return select('#', struct.unpack(string.rep('b', 7997)..'x', string.rep('a', 9000)))", &err("stack overflow (too many results)", "79e5c5c29488076d3cd894ba470764a06af00c6b")),
        ]);
    }

    #[test]
    fn size() {
        check(&[
            ("return struct.size('HH')", "(integer) 4"),
            ("return struct.size('!bd')", "(integer) 16"),
            ("return struct.size(' !4b>d<i')", "(integer) 16"),
            ("return struct.size('>i3hx')", "(integer) 6"),
            ("return struct.size('c')", "(integer) 1"),
            ("return struct.size('x')", "(integer) 1"),
            ("return struct.size('q')", "(integer) 0"),
            ("return struct.size(12)", "(integer) 0"),
            (
                "return struct.size('s')",
                &err(
                    "bad argument #1 to 'size' (option 's' has no fixed size)",
                    "a2a0525826ab7939ccd3f54427a862205642f28f",
                ),
            ),
            (
                "return struct.size('bs')",
                &err(
                    "bad argument #1 to 'size' (option 's' has no fixed size)",
                    "f41e3ad4414ef94b6f813b2777a99ba9c7269d14",
                ),
            ),
            (
                "return struct.size('c0')",
                &err(
                    "bad argument #1 to 'size' (option 'c0' has no fixed size)",
                    "18f217e7d560de92703dc71e9797e043b536e0e6",
                ),
            ),
            (
                "return struct.size()",
                &err(
                    "bad argument #1 to 'size' (string expected, got no value)",
                    "4c30ee4bce24a141420f334922489017312786e7",
                ),
            ),
            (
                "return struct.size('!3')",
                &err(
                    "alignment 3 is not a power of 2",
                    "e85d1ac33cd35488c9a4f9b4f97cb56bbfae9248",
                ),
            ),
            (
                "return struct.size('b!3')",
                &err(
                    "alignment 3 is not a power of 2",
                    "f7a2b7066b1c54c30ec922812ab536d03191516d",
                ),
            ),
            (
                "return struct.size('i40')",
                &err(
                    "integral size 40 is larger than limit of 32",
                    "3e540f3a08223d82bf92ec251944ff434d9bae0b",
                ),
            ),
            (
                "return struct.size('?')",
                &err(
                    "bad argument #1 to 'size' (invalid format option '?')",
                    "7bbb71570e714600c71d9cc568bccd7730051b1f",
                ),
            ),
            (
                "return struct.size('#b')",
                &err(
                    "bad argument #1 to 'size' (invalid format option '#')",
                    "178658c5380834439ad55903576f608413677fb0",
                ),
            ),
        ]);
    }
}
