//! String commands: GET, SET and friends.

use super::StoreCommand;
use crate::ctx::{notify, Ctx};
use crate::error::{CmdError, CmdResult};
use crate::spec::{acl, flags::*, CommandMeta, Keys};
use crate::value::Value;
use bytes::Bytes;
use kevy_resp::Reply;

/// The string family's table.
pub(crate) static COMMANDS: &[StoreCommand] = &[
    StoreCommand {
        meta: CommandMeta {
            name: "get",
            arity: 2,
            flags: READONLY | FAST,
            acl: acl::STRING,
            keys: Keys::ONE,
            group: "string",
            summary: "Returns the string value of a key.",
            since: "1.0.0",
            complexity: "O(1)",
        },
        run: get,
    },
    StoreCommand {
        meta: CommandMeta {
            name: "set",
            arity: -3,
            flags: WRITE | DENYOOM,
            acl: acl::STRING,
            keys: Keys::ONE,
            group: "string",
            summary: "Sets the string value of a key, ignoring its type. The key is created if it doesn't exist.",
            since: "1.0.0",
            complexity: "O(1)",
        },
        run: set,
    },
];

/// `GET key`
fn get(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    Ok(match ctx.get_str(&argv[1])? {
        Some(s) => Reply::Bulk(s.to_bytes()),
        None => Reply::Nil,
    })
}

/// `SET key value` (options to come).
fn set(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    if argv.len() != 3 {
        return Err(CmdError::Syntax);
    }
    let key = &argv[1];
    ctx.set(key, Value::str(&argv[2]), false)?;
    ctx.modified(key);
    ctx.notify(notify::STRING, "set", key);
    Ok(Reply::ok())
}
