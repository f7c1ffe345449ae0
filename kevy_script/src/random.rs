//! `math.random` and `math.randomseed` over Redis's PRNG: a 48-bit linear
//! congruential generator (the `lrand48` recurrence) seeded as Redis's
//! `redisSrand48` does, with Lua 5.1's argument rules and error texts. A
//! seeded script draws the same numbers on kevy as on Redis.

use crate::raw::raising;
use mlua::{Lua, MultiValue, Table, Value};
use std::cell::Cell;
use std::rc::Rc;

/// The largest value the generator draws (`REDIS_LRAND48_MAX`).
const MAX: u32 = i32::MAX as u32;

struct Rand48(Cell<u64>);

impl Rand48 {
    const MASK: u64 = (1 << 48) - 1;

    fn seed(&self, seed: i32) {
        self.0.set((u64::from(seed as u32) << 16) | 0x330e);
    }

    fn next(&self) -> u32 {
        let x = self.0.get().wrapping_mul(0x5_deec_e66d).wrapping_add(0xb) & Self::MASK;
        self.0.set(x);
        (x >> 17) as u32
    }
}

/// `luaL_checkint`: the argument as a C int (truncated toward zero), or
/// Lua's "bad argument" text.
fn int_arg(args: &MultiValue, i: usize, fname: &str) -> Result<i64, String> {
    let got = match args.get(i) {
        Some(Value::Integer(n)) => return Ok(*n),
        Some(Value::Number(n)) => return Ok(n.trunc() as i64),
        Some(Value::String(s)) => {
            let text = String::from_utf8_lossy(&s.as_bytes()).trim().to_string();
            if let Ok(n) = text.parse::<f64>() {
                return Ok(n.trunc() as i64);
            }
            "string"
        }
        None => "no value",
        Some(Value::Nil) => "nil",
        Some(Value::Boolean(_)) => "boolean",
        Some(Value::Table(_)) => "table",
        Some(Value::Function(_)) => "function",
        Some(_) => "userdata",
    };
    Err(format!(
        "bad argument #{} to '{fname}' (number expected, got {got})",
        i + 1
    ))
}

type Out = (Value, Option<String>);

fn random(g: &Rand48, args: &MultiValue) -> Out {
    let r = f64::from(g.next() % MAX) / f64::from(MAX);
    let res = match args.len() {
        0 => Ok(r),
        1 => int_arg(args, 0, "random").and_then(|u| {
            if u < 1 {
                return Err("bad argument #1 to 'random' (interval is empty)".into());
            }
            Ok((r * u as f64).floor() + 1.0)
        }),
        2 => int_arg(args, 0, "random").and_then(|l| {
            let u = int_arg(args, 1, "random")?;
            if l > u {
                return Err("bad argument #2 to 'random' (interval is empty)".into());
            }
            Ok((r * (u - l + 1) as f64).floor() + l as f64)
        }),
        _ => Err("wrong number of arguments".into()),
    };
    match res {
        Ok(v) => (Value::Number(v), None),
        Err(e) => (Value::Nil, Some(e)),
    }
}

/// Replaces `math.random` and `math.randomseed` (the generator starts
/// seeded with 0).
pub(crate) fn install(lua: &Lua) -> mlua::Result<()> {
    let g = Rc::new(Rand48(Cell::new(0)));
    g.seed(0);
    let math: Table = lua.globals().raw_get("math")?;
    let gr = g.clone();
    let rand = lua.create_function(move |_, a: MultiValue| Ok(random(&gr, &a)))?;
    math.raw_set("random", raising(lua, rand)?)?;
    let seed = lua.create_function(move |_, a: MultiValue| {
        Ok(match int_arg(&a, 0, "randomseed") {
            Ok(s) => {
                g.seed(s as i32);
                (Value::Nil, None)
            }
            Err(e) => (Value::Nil, Some(e)),
        })
    })?;
    math.raw_set("randomseed", raising(lua, seed)?)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sequence_is_redis_lrand48() {
        let g = Rand48(Cell::new(0));
        g.seed(10);
        let r = f64::from(g.next() % MAX) / f64::from(MAX);
        assert_eq!(crate::num::lua_number(r), "0.87885112309775");
    }
}
