//! Conversions between command replies and Lua values, both ways, as Redis
//! 7.0 does them: a reply becomes a Lua value according to the script's
//! protocol (`redis.setresp(2|3)`), and a script's result becomes a reply
//! (error and status tables, RESP3 type tables, tables cut at the first
//! nil, numbers truncated to integers).

use bytes::Bytes;
use kevy_resp::{format_double, Reply};
use mlua::{Lua, Table, Value};

/// Nesting beyond which a returned table is answered with Redis's
/// "reached lua stack limit" error in its place (Redis hits the Lua C stack
/// limit at a comparable depth).
pub(crate) const MAX_DEPTH: usize = 1000;

/// A Lua number as Redis turns it into an integer reply: truncated toward
/// zero; NaN and out-of-range values give `i64::MIN`, as the C cast does on
/// the machines Redis runs on.
pub(crate) fn lua_number_to_int(n: f64) -> i64 {
    if (-9_223_372_036_854_775_808.0..9_223_372_036_854_775_808.0).contains(&n) {
        n as i64
    } else {
        i64::MIN
    }
}

/// A Lua number as a command argument: C's `%.17g`, `-nan` for a negative
/// NaN (what `0/0` gives) as glibc prints it.
pub(crate) fn number_arg(n: f64) -> Bytes {
    if n.is_nan() {
        return Bytes::from_static(if n.is_sign_negative() {
            b"-nan"
        } else {
            b"nan"
        });
    }
    Bytes::from(format_double(n))
}

fn table(lua: &Lua, items: impl Iterator<Item = mlua::Result<Value>>) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    for (i, v) in items.enumerate() {
        t.raw_set(i + 1, v?)?;
    }
    Ok(t)
}

fn tagged(lua: &Lua, tag: &str, v: impl mlua::IntoLua) -> mlua::Result<Value> {
    let t = lua.create_table_with_capacity(0, 1)?;
    t.raw_set(tag, v)?;
    Ok(Value::Table(t))
}

/// A command's reply as the Lua value `redis.call` returns, for a script
/// speaking `resp` (2 or 3). An error reply becomes `{err = text}`.
pub(crate) fn reply_to_lua(lua: &Lua, r: &Reply, resp: u8) -> mlua::Result<Value> {
    let v = match r {
        Reply::Int(n) => Value::Number(*n as f64),
        Reply::Bulk(b) => Value::String(lua.create_string(b)?),
        Reply::Simple(s) => tagged(lua, "ok", lua.create_string(s)?)?,
        Reply::Error(e) => tagged(lua, "err", lua.create_string(e)?)?,
        Reply::Nil | Reply::NilArray => match resp {
            3 => Value::Nil,
            _ => Value::Boolean(false),
        },
        Reply::Array(items) | Reply::Push(items) => Value::Table(table(
            lua,
            items.iter().map(|i| reply_to_lua(lua, i, resp)),
        )?),
        Reply::Set(items) if resp == 3 => {
            let s = lua.create_table()?;
            for i in items {
                s.raw_set(reply_to_lua(lua, i, resp)?, true)?;
            }
            tagged(lua, "set", s)?
        }
        Reply::Set(items) => Value::Table(table(
            lua,
            items.iter().map(|i| reply_to_lua(lua, i, resp)),
        )?),
        Reply::Map(pairs) if resp == 3 => {
            let m = lua.create_table()?;
            for (k, v) in pairs {
                m.raw_set(reply_to_lua(lua, k, resp)?, reply_to_lua(lua, v, resp)?)?;
            }
            tagged(lua, "map", m)?
        }
        Reply::Map(pairs) => Value::Table(table(
            lua,
            pairs
                .iter()
                .flat_map(|(k, v)| [k, v])
                .map(|i| reply_to_lua(lua, i, resp)),
        )?),
        Reply::Double(d) if resp == 3 => tagged(lua, "double", *d)?,
        Reply::Double(d) => Value::String(lua.create_string(format_double(*d))?),
        Reply::DoubleText(t) if resp == 3 => {
            let d = std::str::from_utf8(t)
                .ok()
                .and_then(|s| s.parse::<f64>().ok())
                .unwrap_or(0.0);
            tagged(lua, "double", d)?
        }
        Reply::DoubleText(t) => Value::String(lua.create_string(t)?),
        Reply::Bool(b) if resp == 3 => Value::Boolean(*b),
        Reply::Bool(b) => Value::Number(*b as i64 as f64),
        Reply::BigNumber(n) if resp == 3 => tagged(lua, "big_number", lua.create_string(n)?)?,
        Reply::BigNumber(n) => Value::String(lua.create_string(n)?),
        Reply::Verbatim(format, text) if resp == 3 => {
            let t = lua.create_table_with_capacity(0, 2)?;
            t.raw_set("format", *format)?;
            t.raw_set("string", lua.create_string(text)?)?;
            tagged(lua, "verbatim_string", t)?
        }
        Reply::Verbatim(_, text) => Value::String(lua.create_string(text)?),
        Reply::Stream(s) => {
            // Scripts run with streamed replies off, so the host never
            // hands one over; encode it whole if one still arrives.
            let mut out = Vec::new();
            kevy_resp::encode(
                &Reply::Stream(s.clone()),
                kevy_resp::Protocol::Resp2,
                &mut out,
            );
            match kevy_resp::parse_reply(&out) {
                Ok(Some((r, _))) => reply_to_lua(lua, &r, resp)?,
                _ => Value::Nil,
            }
        }
        _ => Value::Nil,
    };
    Ok(v)
}

/// The text of an error table's `err` field as it goes on the wire: CR
/// and LF become spaces (a reply line cannot hold them).
pub(crate) fn error_text(b: &[u8]) -> Bytes {
    Bytes::from(
        b.iter()
            .map(|&c| if c == b'\r' || c == b'\n' { b' ' } else { c })
            .collect::<Vec<u8>>(),
    )
}

fn string_field(t: &Table, name: &str) -> Option<mlua::String> {
    match t.raw_get::<Value>(name) {
        Ok(Value::String(s)) => Some(s),
        _ => None,
    }
}

/// A script's result as the reply to its caller; `resp` is the protocol
/// the script chose (it decides what a Lua boolean becomes).
pub(crate) fn lua_to_reply(v: &Value, resp: u8) -> Reply {
    to_reply(v, resp, 0)
}

fn to_reply(v: &Value, resp: u8, depth: usize) -> Reply {
    match v {
        Value::Nil => Reply::Nil,
        Value::Boolean(b) => match (resp, b) {
            (3, b) => Reply::Bool(*b),
            (_, true) => Reply::Int(1),
            (_, false) => Reply::Nil,
        },
        Value::Integer(i) => Reply::Int(*i),
        Value::Number(n) => Reply::Int(lua_number_to_int(*n)),
        Value::String(s) => Reply::Bulk(Bytes::copy_from_slice(&s.as_bytes())),
        Value::Table(t) => {
            if depth >= MAX_DEPTH {
                return Reply::error("ERR reached lua stack limit");
            }
            table_to_reply(t, resp, depth)
        }
        _ => Reply::Nil,
    }
}

fn table_to_reply(t: &Table, resp: u8, depth: usize) -> Reply {
    if let Some(e) = string_field(t, "err") {
        return Reply::Error(error_text(&e.as_bytes()));
    }
    if let Some(s) = string_field(t, "ok") {
        return Reply::Simple(error_text(&s.as_bytes()));
    }
    if let Ok(Value::Number(d)) = t.raw_get::<Value>("double") {
        return Reply::Double(d);
    }
    if let Ok(Value::Integer(d)) = t.raw_get::<Value>("double") {
        return Reply::Double(d as f64);
    }
    if let Some(s) = string_field(t, "big_number") {
        return Reply::BigNumber(error_text(&s.as_bytes()));
    }
    if let Ok(Value::Table(m)) = t.raw_get::<Value>("map") {
        let mut pairs = Vec::new();
        for (k, v) in m.pairs::<Value, Value>().flatten() {
            pairs.push((to_reply(&k, resp, depth + 1), to_reply(&v, resp, depth + 1)));
        }
        return Reply::Map(pairs);
    }
    if let Ok(Value::Table(s)) = t.raw_get::<Value>("set") {
        let mut items = Vec::new();
        for (k, _) in s.pairs::<Value, Value>().flatten() {
            items.push(to_reply(&k, resp, depth + 1));
        }
        return Reply::Set(items);
    }
    if let Ok(Value::Table(v)) = t.raw_get::<Value>("verbatim_string") {
        if let (Some(f), Some(s)) = (string_field(&v, "format"), string_field(&v, "string")) {
            let format = match &f.as_bytes()[..] {
                b"mkd" => "mkd",
                _ => "txt",
            };
            return Reply::Verbatim(format, Bytes::copy_from_slice(&s.as_bytes()));
        }
    }
    let mut items = Vec::new();
    let mut i = 1;
    loop {
        match t.raw_get::<Value>(i) {
            Ok(Value::Nil) | Err(_) => break,
            Ok(v) => items.push(to_reply(&v, resp, depth + 1)),
        }
        i += 1;
    }
    Reply::Array(items)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_truncate_like_the_c_cast() {
        assert_eq!(lua_number_to_int(-3.7), -3);
        assert_eq!(lua_number_to_int(3.99), 3);
        assert_eq!(lua_number_to_int(f64::NAN), i64::MIN);
        assert_eq!(lua_number_to_int(f64::INFINITY), i64::MIN);
        assert_eq!(lua_number_to_int(1e30), i64::MIN);
    }

    #[test]
    fn number_arguments_use_17_digits() {
        assert_eq!(number_arg(0.1), "0.10000000000000001");
        assert_eq!(number_arg(3.0), "3");
        assert_eq!(number_arg(1e20), "1e+20");
        assert_eq!(number_arg(-f64::NAN.abs()), "-nan");
        assert_eq!(number_arg(f64::INFINITY), "inf");
    }

    #[test]
    fn replies_round_trip_through_lua() {
        let lua = Lua::new();
        let r = Reply::Array(vec![
            Reply::Int(3),
            Reply::bulk(b"x"),
            Reply::Nil,
            Reply::Simple(Bytes::from_static(b"OK")),
        ]);
        let v = reply_to_lua(&lua, &r, 2).unwrap();
        // The nil became `false`, which converts back to a nil bulk.
        assert_eq!(
            lua_to_reply(&v, 2),
            Reply::Array(vec![
                Reply::Int(3),
                Reply::bulk(b"x"),
                Reply::Nil,
                Reply::Simple(Bytes::from_static(b"OK")),
            ])
        );
        let m = Reply::Map(vec![(Reply::bulk(b"f"), Reply::Double(1.5))]);
        let v3 = reply_to_lua(&lua, &m, 3).unwrap();
        assert_eq!(lua_to_reply(&v3, 3), m);
        let v2 = reply_to_lua(&lua, &m, 2).unwrap();
        assert_eq!(
            lua_to_reply(&v2, 2),
            Reply::Array(vec![Reply::bulk(b"f"), Reply::bulk(b"1.5")])
        );
    }
}
