//! ACL and its subcommands: CAT, DELUSER, DRYRUN, GETUSER, GENPASS, LIST,
//! LOAD, LOG, SAVE, SETUSER, USERS, WHOAMI, HELP. The users themselves live
//! in `crate::acl`.

use super::{eq, help_reply, sub_arity, unknown_subcommand, Env, ServerCommand};
use crate::acl::{self, rules, Denied, User};
use bytes::Bytes;
use kevy_resp::Reply;
use kevy_store::spec::{acl as cat, flags::*, CommandMeta, Keys};

pub(crate) static COMMANDS: &[ServerCommand] = &[ServerCommand {
    meta: CommandMeta {
        name: "acl",
        arity: -2,
        flags: NOSCRIPT | LOADING | STALE,
        // Most subcommands are admin commands in Redis; kevy has no
        // per-subcommand categories, so the whole family is @admin
        // @dangerous (ACL WHOAMI and ACL CAT too, unlike Redis).
        acl: cat::ADMIN | cat::DANGEROUS,
        keys: Keys::None,
        group: "server",
        summary: "A container for Access List Control commands.",
        since: "6.0.0",
        complexity: "Depends on subcommand.",
    },
    run: acl_cmd,
}];

const HELP: &[&str] = &[
    "CAT [<category>]",
    "    List all commands that belong to <category>, or all command categories",
    "    when no category is specified.",
    "DELUSER <username> [<username> ...]",
    "    Delete a list of users.",
    "DRYRUN <username> <command> [<arg> ...]",
    "    Returns whether the user can execute the given command without executing the command.",
    "GETUSER <username>",
    "    Get the user's details.",
    "GENPASS [<bits>]",
    "    Generate a secure 256-bit user password. The optional `bits` argument can",
    "    be used to specify a different size.",
    "LIST",
    "    Show users details in config file format.",
    "LOAD",
    "    Reload users from the ACL file.",
    "LOG [<count> | RESET]",
    "    Show the ACL log entries.",
    "SAVE",
    "    Save the current config to the ACL file.",
    "SETUSER <username> <attribute> [<attribute> ...]",
    "    Create or modify a user with the specified attributes.",
    "USERS",
    "    List all the registered usernames.",
    "WHOAMI",
    "    Return the current connection username.",
];

const NO_FILE: &str = "ERR This Redis instance is not configured to use an ACL file. You may want to specify users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a Redis configuration file set) in order to store users in the Redis configuration.";

fn bulk(s: impl Into<String>) -> Reply {
    Reply::Bulk(Bytes::from(s.into()))
}

fn acl_cmd(env: &mut Env<'_>, argv: &[Bytes]) -> Reply {
    let sub = &argv[1];
    let n = argv.len();
    env.shared.acl.sync_requirepass(env.shared);
    let s = String::from_utf8_lossy(sub).to_lowercase();
    match s.as_str() {
        "help" if n == 2 => help_reply("acl", HELP),
        "cat" if n <= 3 => cat_cmd(env, argv),
        "deluser" if n >= 3 => deluser(env, argv),
        "dryrun" if n >= 4 => dryrun(env, argv),
        "getuser" if n == 3 => getuser(env, &argv[2]),
        "genpass" if n <= 3 => genpass(argv),
        "list" if n == 2 => Reply::Array(
            env.shared
                .acl
                .all()
                .iter()
                .map(|u| bulk(line(env, u)))
                .collect(),
        ),
        "users" if n == 2 => Reply::Array(
            env.shared
                .acl
                .all()
                .iter()
                .map(|u| bulk(u.name.clone()))
                .collect(),
        ),
        "whoami" if n == 2 => bulk(acl::user_name(&env.sess.handle)),
        "setuser" if n >= 3 => setuser(env, argv),
        "log" if n <= 3 => log(env, argv),
        "save" if n == 2 => save(env),
        "load" if n == 2 => load(env),
        "help" | "cat" | "deluser" | "dryrun" | "getuser" | "genpass" | "list" | "users"
        | "whoami" | "setuser" | "log" | "save" | "load" => sub_arity("acl", sub),
        _ => unknown_subcommand("acl", sub),
    }
}

fn line(env: &Env<'_>, u: &User) -> String {
    format!("user {} {}", u.name, u.describe(&env.shared.commands))
}

/// `ACL CAT [category]`
fn cat_cmd(env: &mut Env<'_>, argv: &[Bytes]) -> Reply {
    let Some(name) = argv.get(2) else {
        return Reply::Array(cat::NAMES.iter().map(|(_, n)| bulk(*n)).collect());
    };
    match rules::category(name) {
        Some(bit) if bit != u64::MAX => Reply::Array(
            env.shared
                .commands
                .iter()
                .filter(|c| c.meta.acl_categories() & bit != 0)
                .map(|c| bulk(c.meta.name))
                .collect(),
        ),
        _ => Reply::error(format!(
            "ERR Unknown category '{}'",
            String::from_utf8_lossy(name)
        )),
    }
}

/// `ACL SETUSER username [rule ...]`: the rules apply to a copy, so a bad
/// rule leaves the user (or its absence) unchanged.
fn setuser(env: &mut Env<'_>, argv: &[Bytes]) -> Reply {
    let name = String::from_utf8_lossy(&argv[2]).into_owned();
    if argv[2].iter().any(|&c| c == b' ' || c == 0) {
        return Reply::error("ERR Usernames can't contain spaces or null characters");
    }
    let table = &env.shared.commands;
    let mut u = match env.shared.acl.get(&name) {
        Some(u) => User::clone(&u),
        None => User::new(&name, table.len()),
    };
    for r in &argv[3..] {
        if let Err(e) = rules::apply(&mut u, r, table) {
            return Reply::error(format!(
                "ERR Error in ACL SETUSER modifier '{}': {e}",
                String::from_utf8_lossy(r)
            ));
        }
    }
    env.shared.acl.put(u);
    Reply::ok()
}

/// `ACL DELUSER username [username ...]`: also closes their connections.
fn deluser(env: &mut Env<'_>, argv: &[Bytes]) -> Reply {
    let names: Vec<String> = argv[2..]
        .iter()
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect();
    if names.iter().any(|n| n == "default") {
        return Reply::error("ERR The 'default' user cannot be removed");
    }
    let n = env.shared.acl.remove(&names);
    let clients: Vec<_> = env.shared.clients.lock().values().cloned().collect();
    for h in clients {
        if names.contains(&acl::user_name(&h)) {
            if h.id == env.sess.id {
                env.sess.close_after_reply = true;
            } else {
                env.shared.kill_client(h.id);
            }
        }
    }
    Reply::Int(n as i64)
}

/// `ACL DRYRUN username command [arg ...]`
fn dryrun(env: &mut Env<'_>, argv: &[Bytes]) -> Reply {
    let name = String::from_utf8_lossy(&argv[2]);
    let Some(u) = env.shared.acl.get(&name) else {
        return Reply::error(format!("ERR User '{name}' not found"));
    };
    let Some((idx, cmd)) = env.shared.commands.lookup(&argv[3]) else {
        return Reply::error(format!(
            "ERR Command '{}' not found",
            String::from_utf8_lossy(&argv[3])
        ));
    };
    if !cmd.meta.arity_ok(argv.len() - 3) {
        return Reply::error(kevy_store::arity_error(cmd.meta.name));
    }
    match u.check(&env.shared.commands, idx, &argv[3..]) {
        Ok(()) => Reply::ok(),
        Err(Denied::Command(c)) => bulk(format!(
            "This user has no permissions to run the '{c}' command"
        )),
        Err(Denied::Key(k)) => bulk(format!(
            "This user has no permissions to access the '{}' key",
            String::from_utf8_lossy(&k)
        )),
        Err(Denied::Channel(c)) => bulk(format!(
            "This user has no permissions to access the '{}' channel",
            String::from_utf8_lossy(&c)
        )),
    }
}

/// `ACL GETUSER username`
fn getuser(env: &mut Env<'_>, name: &[u8]) -> Reply {
    let Some(u) = env.shared.acl.get(&String::from_utf8_lossy(name)) else {
        return Reply::Nil;
    };
    let mut flags = vec![bulk(if u.enabled { "on" } else { "off" })];
    if u.nopass {
        flags.push(bulk("nopass"));
    }
    Reply::Map(vec![
        (bulk("flags"), Reply::Set(flags)),
        (
            bulk("passwords"),
            Reply::Array(u.passwords.iter().map(|p| bulk(p.clone())).collect()),
        ),
        (
            bulk("commands"),
            bulk(u.describe_commands(&env.shared.commands)),
        ),
        (bulk("keys"), bulk(u.describe_keys())),
        (bulk("channels"), bulk(u.describe_channels())),
        (bulk("selectors"), Reply::Array(vec![])),
    ])
}

/// `ACL GENPASS [bits]`: hex from the OS's random source.
fn genpass(argv: &[Bytes]) -> Reply {
    let bits = match argv.get(2) {
        None => 256,
        Some(a) => match kevy_store::parse_i64(a) {
            Some(b) if (1..=4096).contains(&b) => b as usize,
            _ => {
                return Reply::error(
                    "ERR ACL GENPASS argument must be the number of bits for the output password, a positive number up to 4096",
                )
            }
        },
    };
    let chars = bits.div_ceil(4);
    let mut raw = vec![0u8; chars.div_ceil(2)];
    let filled = std::fs::File::open("/dev/urandom")
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut raw))
        .is_ok();
    if !filled {
        for c in raw.chunks_mut(8) {
            let r = kevy_store::rand::next_u64().to_le_bytes();
            c.copy_from_slice(&r[..c.len()]);
        }
    }
    let mut hex: String = raw.iter().map(|b| format!("{b:02x}")).collect();
    hex.truncate(chars);
    bulk(hex)
}

/// `ACL LOG [count | RESET]`
fn log(env: &mut Env<'_>, argv: &[Bytes]) -> Reply {
    let count = match argv.get(2) {
        None => 10,
        Some(a) if eq(a, "reset") => {
            env.shared.acl.log.reset();
            return Reply::ok();
        }
        Some(a) => match kevy_store::parse_i64(a) {
            // Redis answers a negative count with an empty log.
            Some(n) => n.max(0) as usize,
            None => return Reply::error("ERR value is not an integer or out of range"),
        },
    };
    env.shared.acl.log.reply(count, crate::shared::now_ms())
}

/// `ACL SAVE`
fn save(env: &mut Env<'_>) -> Reply {
    let path = &env.shared.acl.path;
    if path.is_empty() {
        return Reply::error(NO_FILE);
    }
    let mut text = String::new();
    for u in env.shared.acl.all() {
        text.push_str(&line(env, &u));
        text.push('\n');
    }
    match acl::file::save(path, &text) {
        Ok(()) => Reply::ok(),
        Err(e) => {
            eprintln!("kevy-server: ACL SAVE to '{path}' failed: {e}");
            Reply::error("ERR There was an error trying to save the ACLs. Please check the server logs for more information")
        }
    }
}

/// `ACL LOAD`: all or nothing; clients of users that are gone are closed.
fn load(env: &mut Env<'_>) -> Reply {
    let path = env.shared.acl.path.clone();
    if path.is_empty() {
        return Reply::error(NO_FILE);
    }
    let mut users = match acl::file::load(&path, &env.shared.commands) {
        Ok(u) => u,
        Err(e) => return Reply::error(format!("ERR {e}")),
    };
    users
        .entry("default".to_string())
        .or_insert_with(|| User::default_user(env.shared.commands.len()));
    env.shared.acl.replace_all(users);
    let clients: Vec<_> = env.shared.clients.lock().values().cloned().collect();
    for h in clients {
        if env.shared.acl.get(&acl::user_name(&h)).is_none() && h.id != env.sess.id {
            env.shared.kill_client(h.id);
        }
    }
    Reply::ok()
}
