//! The `bit` library (LuaBitOp 1.0.2, as compiled into Redis): 32-bit
//! operations on Lua's doubles. An argument is normalised by adding
//! 2^52+2^51 and keeping the low 32 bits of the sum, so fractions round to
//! even and large values wrap, and every result is a signed 32-bit number.

use mlua::{Lua, MultiValue, Table, Value};

use super::args::Args;
use super::cfunc::LibResult;
use super::set_fn;

/// Builds the `bit` table.
pub(crate) fn module(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    set_fn(lua, &t, "tobit", |_, a| unary(a, |b| b))?;
    set_fn(lua, &t, "bnot", |_, a| unary(a, |b| !b))?;
    set_fn(lua, &t, "bswap", |_, a| unary(a, u32::swap_bytes))?;
    set_fn(lua, &t, "band", |_, a| fold(a, |x, y| x & y))?;
    set_fn(lua, &t, "bor", |_, a| fold(a, |x, y| x | y))?;
    set_fn(lua, &t, "bxor", |_, a| fold(a, |x, y| x ^ y))?;
    set_fn(lua, &t, "lshift", |_, a| shift(a, |b, n| b << n))?;
    set_fn(lua, &t, "rshift", |_, a| shift(a, |b, n| b >> n))?;
    set_fn(lua, &t, "arshift", |_, a| {
        shift(a, |b, n| ((b as i32) >> n) as u32)
    })?;
    set_fn(lua, &t, "rol", |_, a| shift(a, u32::rotate_left))?;
    set_fn(lua, &t, "ror", |_, a| shift(a, u32::rotate_right))?;
    set_fn(lua, &t, "tohex", tohex)?;
    Ok(t)
}

/// LuaBitOp's `tobit` on a double: the low word of `x + 2^52 + 2^51`.
pub(crate) fn tobit(x: f64) -> u32 {
    (x + 6_755_399_441_055_744.0).to_bits() as u32
}

fn barg(args: &Args, n: usize) -> LibResult<u32> {
    args.number(n).map(tobit)
}

fn ret(b: u32) -> LibResult<MultiValue> {
    Ok(MultiValue::from_vec(vec![Value::Number(f64::from(
        b as i32,
    ))]))
}

fn unary(args: Args, op: fn(u32) -> u32) -> LibResult<MultiValue> {
    ret(op(barg(&args, 1)?))
}

// The first argument is read first, then the others from the last down,
// which decides which bad argument is reported.
fn fold(args: Args, op: fn(u32, u32) -> u32) -> LibResult<MultiValue> {
    let mut b = barg(&args, 1)?;
    for n in (2..=args.len()).rev() {
        b = op(b, barg(&args, n)?);
    }
    ret(b)
}

fn shift(args: Args, op: fn(u32, u32) -> u32) -> LibResult<MultiValue> {
    let b = barg(&args, 1)?;
    let n = barg(&args, 2)? & 31;
    ret(op(b, n))
}

fn tohex(lua: &Lua, args: Args) -> LibResult<MultiValue> {
    let mut b = barg(&args, 1)?;
    let n = match args.get(2) {
        None => 8,
        Some(_) => barg(&args, 2)? as i32,
    };
    let digits: &[u8; 16] = if n < 0 {
        b"0123456789ABCDEF"
    } else {
        b"0123456789abcdef"
    };
    let n = n.unsigned_abs().min(8) as usize;
    let mut buf = vec![0u8; n];
    for slot in buf.iter_mut().rev() {
        *slot = digits[(b & 15) as usize];
        b >>= 4;
    }
    Ok(MultiValue::from_vec(vec![Value::String(
        lua.create_string(buf)?,
    )]))
}

#[cfg(test)]
mod tests {
    use crate::libs::testutil::check;

    #[test]
    fn normalises_to_signed_32_bits() {
        check(&[
            ("return bit.tobit(0xffffffff)", "(integer) -1"),
            ("return bit.tobit(2^32+5)", "(integer) 5"),
            ("return bit.tobit(1.5)", "(integer) 2"),
            ("return bit.tobit(2.5)", "(integer) 2"),
            ("return bit.tobit(-1.5)", "(integer) -2"),
            ("return bit.tobit(-0.5)", "(integer) 0"),
            ("return bit.tobit(2^53+3)", "(integer) 2"),
            ("return bit.tobit(1e300)", "(integer) -2013235812"),
            ("return bit.tobit(1/0)", "(integer) 0"),
            ("return bit.tobit(0/0)", "(integer) 0"),
            ("return bit.tobit(-2^31-1)", "(integer) 2147483647"),
            ("return bit.tobit(4294967295.5)", "(integer) 0"),
            ("return bit.tobit('0x10')", "(integer) 16"),
            ("return bit.tobit(' 12 ')", "(integer) 12"),
        ]);
    }

    #[test]
    fn operations() {
        check(&[
            ("return bit.bnot(0)", "(integer) -1"),
            ("return bit.bnot('0x0f')", "(integer) -16"),
            ("return bit.band(1)", "(integer) 1"),
            ("return bit.bor(1,2,'4')", "(integer) 7"),
            ("return bit.bor(1,2,4,8,16,32,64,128)", "(integer) 255"),
            ("return bit.bor(2^31)", "(integer) -2147483648"),
            ("return bit.bxor(5,3,1)", "(integer) 7"),
            ("return bit.lshift(1,31)", "(integer) -2147483648"),
            ("return bit.lshift(1,32)", "(integer) 1"),
            ("return bit.lshift(1,33)", "(integer) 2"),
            ("return bit.lshift(1,-1)", "(integer) -2147483648"),
            ("return bit.rshift(-1,4)", "(integer) 268435455"),
            ("return bit.rshift(0x80000000,31)", "(integer) 1"),
            ("return bit.arshift(-256,4)", "(integer) -16"),
            ("return bit.arshift(0x80000000,31)", "(integer) -1"),
            ("return bit.rol(0x80000001,1)", "(integer) 3"),
            ("return bit.rol(1,0)", "(integer) 1"),
            ("return bit.ror(1,1)", "(integer) -2147483648"),
            ("return bit.ror(0x12345678,36)", "(integer) -2128394905"),
            ("return bit.bswap(0x12345678)", "(integer) 2018915346"),
            ("return bit.bswap(0x80)", "(integer) -2147483648"),
            ("return bit.bswap(-1)", "(integer) -1"),
        ]);
    }

    #[test]
    fn tohex() {
        check(&[
            ("return bit.tohex(422342)", r#""000671c6""#),
            ("return bit.tohex(-1)", r#""ffffffff""#),
            ("return bit.tohex(255,-4)", r#""00FF""#),
            ("return bit.tohex(255,2)", r#""ff""#),
            ("return bit.tohex(255,0)", r#""""#),
            ("return bit.tohex(255,9)", r#""000000ff""#),
            ("return bit.tohex(255,-9)", r#""000000FF""#),
            ("return bit.tohex(0x12345678, 3)", r#""678""#),
            ("return bit.tohex(255, 2.7)", r#""0ff""#),
            ("return bit.tohex(255, -2.5)", r#""FF""#),
            ("return bit.tohex(255, 2^31)", r#""000000FF""#),
            ("return bit.tohex(255, -2^31)", r#""000000FF""#),
            ("return bit.tohex(1,-0.6)", r#""1""#),
            ("return bit.tohex(-0.5)", r#""00000000""#),
            ("return bit.tohex(0xabcdef, 6)", r#""abcdef""#),
        ]);
    }

    #[test]
    fn bad_arguments() {
        check(&[
            (
                "return bit.tobit('x')",
                "(error) ERR user_script:1: bad argument #1 to 'tobit' (number expected, got string) script: 4fe0a4258aa95439ac2f80d95b01a24a0ba1ff0c, on @user_script:1.",
            ),
            (
                "return bit.tobit()",
                "(error) ERR user_script:1: bad argument #1 to 'tobit' (number expected, got no value) script: 6058df6fbdf91c1b96015f209fb1a490233f2272, on @user_script:1.",
            ),
            (
                "return bit.band()",
                "(error) ERR user_script:1: bad argument #1 to 'band' (number expected, got no value) script: 5cf53f885283a4f44a8fe7ad7e7fccaed4113e62, on @user_script:1.",
            ),
            (
                "return bit.band(1,nil)",
                "(error) ERR user_script:1: bad argument #2 to 'band' (number expected, got nil) script: c7bddb7053e25f63ef1da0222cd3e2cf81f7e379, on @user_script:1.",
            ),
            (
                "return bit.band(1,'x',{})",
                "(error) ERR user_script:1: bad argument #3 to 'band' (number expected, got table) script: 1995910d508d8fdd53f59ed06f598a005ce96aa3, on @user_script:1.",
            ),
            (
                "return bit.bor('x',{})",
                "(error) ERR user_script:1: bad argument #1 to 'bor' (number expected, got string) script: 9871c54bd68b2353580896c738f74265de6762a5, on @user_script:1.",
            ),
            (
                "return bit.lshift(1)",
                "(error) ERR user_script:1: bad argument #2 to 'lshift' (number expected, got no value) script: 96ef0de5140ab932215a1863ca1373f10f03b7a6, on @user_script:1.",
            ),
            (
                "return bit.tohex(255,'x')",
                "(error) ERR user_script:1: bad argument #2 to 'tohex' (number expected, got string) script: d0b4e703febf7abac067ee14fff6a5a634106d4c, on @user_script:1.",
            ),
            (
                "return bit.tohex(1,nil)",
                "(error) ERR user_script:1: bad argument #2 to 'tohex' (number expected, got nil) script: f8bb9414e041f2bb4e0db78d42de95a917dcad6d, on @user_script:1.",
            ),
            (
                "return {pcall(bit.lshift, 1)}",
                "1) (nil)\n2) \"bad argument #2 to '?' (number expected, got no value)\"",
            ),
            (
                "return {pcall(bit.tobit, 'x')}",
                "1) (nil)\n2) \"bad argument #1 to '?' (number expected, got string)\"",
            ),
            (
                "return {pcall(function() return bit.tobit('x') end)}",
                "1) (nil)\n2) \"user_script:1: bad argument #1 to 'tobit' (number expected, got string)\"",
            ),
        ]);
    }

    #[test]
    fn many_arguments() {
        check(&[
            (
                "local t={} for i=1,7990 do t[i]=tostring(i) end return bit.bor(unpack(t))",
                "(integer) 8191",
            ),
            (
                "local t={} for i=1,7990 do t[i]=tostring(i) end t[7000]='x' return bit.bor(unpack(t))",
                "(error) ERR user_script:1: bad argument #7000 to 'bor' (number expected, got string) script: aea26f03b86367587e0bb63f61ec64a0f8d7c031, on @user_script:1.",
            ),
        ]);
    }
}
