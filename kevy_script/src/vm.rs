//! `Vm`: the scripting engines of one thread. It compiles and caches EVAL
//! scripts by SHA1, loads function libraries, and runs either against a
//! [`Host`], turning the result (or the error, with the script line that
//! raised it) into the reply Redis would give.

use crate::convert::{error_text, lua_to_reply};
use crate::engine::Engine;
use crate::flags::{eval_flags, without_shebang, ScriptFlags};
use crate::host::Host;
use crate::library::{library_name, FunctionInfo, Library};
use crate::state::Phase;
use bytes::Bytes;
use kevy_resp::Reply;
use mlua::{Function, Table, Value};
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// How long a library's load code may run (Redis's limit too).
const LOAD_TIMEOUT: Duration = Duration::from_millis(500);

/// A SHA1 hex digest as a map key.
type Sha = [u8; 40];

/// Hashes a SHA1 digest by its first eight hex digits: a digest is already
/// uniformly distributed, and SipHash was a measurable part of EVALSHA.
#[derive(Default)]
struct ShaHasher(u64);

impl std::hash::Hasher for ShaHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes.iter().take(8) {
            self.0 = (self.0 << 8) | u64::from(b);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

type ShaMap<V> = HashMap<Sha, V, std::hash::BuildHasherDefault<ShaHasher>>;

/// `sha` as a key, if it has the shape of one (40 characters).
fn sha_key(sha: &str) -> Option<Sha> {
    sha.as_bytes().try_into().ok()
}

/// A compiled EVAL script.
struct Script {
    f: Function,
    flags: ScriptFlags,
}

/// A loaded function.
struct LoadedFn {
    f: Function,
    flags: ScriptFlags,
}

/// The Lua engines of one thread: EVAL scripts and function libraries.
pub struct Vm {
    eval: Engine,
    func: Engine,
    /// The load-time API table libraries see while they load.
    load_api: Table,
    scripts: ShaMap<Script>,
    functions: HashMap<String, LoadedFn>,
    libraries: Vec<Library>,
}

/// Building a VM failed (out of memory in Lua's allocator, in practice).
#[derive(Debug)]
pub struct VmError(pub String);

impl std::fmt::Display for VmError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "cannot create the Lua VM: {}", self.0)
    }
}

impl std::error::Error for VmError {}

fn internal(e: mlua::Error) -> Reply {
    Reply::error(format!("ERR internal scripting error: {e}"))
}

impl Vm {
    /// A VM with no scripts and no libraries.
    pub fn new() -> Result<Vm, VmError> {
        let eval = Engine::new(|_| Ok(())).map_err(|e| VmError(e.to_string()))?;
        let mut load_api = None;
        let func = Engine::new(|e| {
            let redis = e.lua.create_table()?;
            crate::api::install_load_api(&e.lua, &redis, &e.st)?;
            let readonly: Function = e.helpers.raw_get("readonly")?;
            let redis: Table = readonly.call((redis, true))?;
            let api = e.lua.create_table()?;
            api.raw_set("redis", redis)?;
            load_api = Some(readonly.call::<Table>((api, true))?);
            Ok(())
        })
        .map_err(|e| VmError(e.to_string()))?;
        let load_api = load_api.ok_or_else(|| VmError("no load API".into()))?;
        Ok(Vm {
            eval,
            func,
            load_api,
            scripts: ShaMap::default(),
            functions: HashMap::new(),
            libraries: Vec::new(),
        })
    }

    /// Compiles an EVAL script and caches it under its SHA1 (lowercase
    /// hex), which it returns with the script's flags. A compile error is
    /// Redis's reply (`ERR Error compiling script (new function): ...`).
    pub fn load_script(&mut self, body: &[u8]) -> Result<(String, ScriptFlags), Reply> {
        let sha = crate::sha1_hex(body);
        let key = sha_key(&sha).unwrap_or([b'0'; 40]);
        if let Some(s) = self.scripts.get(&key) {
            return Ok((sha, s.flags));
        }
        let flags = eval_flags(body).map_err(|e| Reply::error(format!("ERR {e}")))?;
        let f = self
            .eval
            .compile(without_shebang(body), "@user_script", &self.eval.proxy)
            .map_err(|e| Reply::error(format!("ERR Error compiling script (new function): {e}")))?;
        self.scripts.insert(key, Script { f, flags });
        Ok((sha, flags))
    }

    /// The flags of cached script `sha` (lowercase hex), if cached.
    pub fn script_flags(&self, sha: &str) -> Option<ScriptFlags> {
        self.scripts.get(&sha_key(sha)?).map(|s| s.flags)
    }

    /// Forgets every cached script.
    pub fn flush_scripts(&mut self) {
        self.scripts.clear();
        let _ = self.eval.lua.gc_collect();
    }

    /// Number of cached scripts.
    pub fn script_count(&self) -> usize {
        self.scripts.len()
    }

    /// Bytes the EVAL engine's Lua state uses.
    pub fn eval_memory(&self) -> usize {
        self.eval.lua.used_memory()
    }

    /// Bytes the functions engine's Lua state uses.
    pub fn functions_memory(&self) -> usize {
        self.func.lua.used_memory()
    }

    /// Runs cached script `sha` with `KEYS` and `ARGV`; the reply is the
    /// script's result or its error.
    pub fn eval(
        &mut self,
        host: &mut dyn Host,
        sha: &str,
        keys: &[Bytes],
        args: &[Bytes],
    ) -> Reply {
        let Some(script) = sha_key(sha).and_then(|k| self.scripts.get(&k)) else {
            return Reply::error("NOSCRIPT No matching script. Please use EVAL.");
        };
        let f = script.f.clone();
        run(&self.eval, host, &f, keys, args, true, sha)
    }

    /// Loads a function library (`FUNCTION LOAD [REPLACE] code`): checks
    /// its header, compiles it, runs its registrations and adds its
    /// functions. Errors are Redis's replies; on error nothing changes.
    pub fn load_library(&mut self, code: &[u8], replace: bool) -> Result<Library, Reply> {
        let err = |e: String| Reply::error(format!("ERR {e}"));
        let name = library_name(code).map_err(err)?;
        let existing = self.libraries.iter().position(|l| l.name == name);
        if existing.is_some() && !replace {
            return Err(err(format!("Library '{name}' already exists")));
        }
        let e = &self.func;
        let env_fn: Function = e.helpers.raw_get("library_env").map_err(internal)?;
        let (env, go_live): (Table, Function) =
            env_fn.call(self.load_api.clone()).map_err(internal)?;
        let chunk = e
            .compile(without_shebang(code), "@user_function", &env)
            .map_err(|m| err(format!("Error compiling function: {m}")))?;
        e.st.registered.borrow_mut().clear();
        e.st.phase.set(Phase::Loading);
        e.st.load_deadline.set(Some(Instant::now() + LOAD_TIMEOUT));
        let res = e.protected_call(&chunk, &[], &[], false);
        e.st.phase.set(Phase::Idle);
        e.st.load_deadline.set(None);
        let aborted = e.st.abort.borrow_mut().take();
        if aborted.is_some() {
            let _ = crate::hook::arm_tick(&e.lua, &e.st);
        }
        let registered = std::mem::take(&mut *e.st.registered.borrow_mut());
        if let Some(a) = aborted {
            return Err(a.0);
        }
        match res {
            Err(x) => return Err(internal(x)),
            Ok(Err(t)) => {
                let text = String::from_utf8_lossy(&error_string(&t)).into_owned();
                return Err(err(format!("Error registering functions: {text}")));
            }
            Ok(Ok(_)) => {}
        }
        if registered.is_empty() {
            return Err(err("No functions registered".into()));
        }
        for r in &registered {
            if let Some(owner) = self.owner_of(&r.info.name) {
                if Some(owner) != existing {
                    return Err(err(format!("Function {} already exists", r.info.name)));
                }
            }
        }
        if let Err(x) = go_live.call::<()>(self.func.proxy.clone()) {
            return Err(internal(x));
        }
        if let Some(i) = existing {
            let old = self.libraries.remove(i);
            for f in &old.functions {
                self.functions.remove(&f.name.to_ascii_lowercase());
            }
        }
        let mut infos = Vec::with_capacity(registered.len());
        for r in registered {
            self.functions.insert(
                r.info.name.to_ascii_lowercase(),
                LoadedFn {
                    f: r.callback,
                    flags: r.info.flags,
                },
            );
            infos.push(r.info);
        }
        let lib = Library {
            name,
            code: Bytes::copy_from_slice(code),
            functions: infos,
        };
        self.libraries.push(lib.clone());
        Ok(lib)
    }

    fn owner_of(&self, function: &str) -> Option<usize> {
        self.libraries.iter().position(|l| {
            l.functions
                .iter()
                .any(|f| f.name.eq_ignore_ascii_case(function))
        })
    }

    /// Removes library `name`; false if there is none.
    pub fn delete_library(&mut self, name: &str) -> bool {
        let Some(i) = self.libraries.iter().position(|l| l.name == name) else {
            return false;
        };
        let lib = self.libraries.remove(i);
        for f in &lib.functions {
            self.functions.remove(&f.name.to_ascii_lowercase());
        }
        true
    }

    /// Removes every library.
    pub fn flush_libraries(&mut self) {
        self.libraries.clear();
        self.functions.clear();
        let _ = self.func.lua.gc_collect();
    }

    /// The loaded libraries, in load order.
    pub fn libraries(&self) -> &[Library] {
        &self.libraries
    }

    /// The flags of function `name` (any case), if loaded.
    pub fn function_flags(&self, name: &str) -> Option<ScriptFlags> {
        self.functions
            .get(&name.to_ascii_lowercase())
            .map(|f| f.flags)
    }

    /// The description and flags of function `name`.
    pub fn function_info(&self, name: &str) -> Option<&FunctionInfo> {
        self.libraries
            .iter()
            .flat_map(|l| l.functions.iter())
            .find(|f| f.name.eq_ignore_ascii_case(name))
    }

    /// Calls function `name` with `keys` and `args`.
    pub fn fcall(
        &mut self,
        host: &mut dyn Host,
        name: &str,
        keys: &[Bytes],
        args: &[Bytes],
    ) -> Reply {
        let Some(func) = self.functions.get(&name.to_ascii_lowercase()) else {
            return Reply::error("ERR Function not found");
        };
        let f = func.f.clone();
        run(&self.func, host, &f, keys, args, false, name)
    }
}

/// The text of a raised error table: its `err` field (as Lua's `tostring`
/// shows a string or number).
fn error_string(v: &Value) -> Vec<u8> {
    let Value::Table(t) = v else {
        return b"ERR unknown error".to_vec();
    };
    match t.raw_get::<Value>("err") {
        Ok(Value::String(s)) => s.as_bytes().to_vec(),
        Ok(Value::Integer(i)) => i.to_string().into_bytes(),
        Ok(Value::Number(n)) => crate::num::lua_number(n).into_bytes(),
        _ => b"ERR unknown error".to_vec(),
    }
}

/// Runs `f` in engine `e` for `host` and turns the outcome into a reply.
/// `name` is what errors call the script (its SHA1, or the function name).
fn run(
    e: &Engine,
    host: &mut dyn Host,
    f: &Function,
    keys: &[Bytes],
    args: &[Bytes],
    eval: bool,
    name: &str,
) -> Reply {
    e.st.resp.set(2);
    e.st.phase.set(Phase::Running);
    let res =
        e.st.with_host(host, || e.protected_call(f, keys, args, eval));
    e.st.phase.set(Phase::Idle);
    let resp = e.st.resp.get();
    let aborted = e.st.abort.borrow_mut().take();
    if let Some(abort) = aborted {
        let _ = crate::hook::arm_tick(&e.lua, &e.st);
        let at = e.st.abort_at.borrow_mut().take();
        return match (abort.0, at) {
            (Reply::Error(text), Some((src, line))) => {
                Reply::Error(with_trace(&text, name, src.as_bytes(), line as i64))
            }
            (r, _) => r,
        };
    }
    match res {
        Err(x) => internal(x),
        Ok(Ok(v)) => lua_to_reply(&v, resp),
        Ok(Err(t)) => {
            let text = error_string(&t);
            if let Value::Table(t) = &t {
                if let Ok(Value::String(src)) = t.raw_get::<Value>("source") {
                    let line: i64 = t.raw_get("line").unwrap_or(0);
                    return Reply::Error(with_trace(&text, name, &src.as_bytes(), line));
                }
            }
            Reply::Error(error_text(&text))
        }
    }
}

/// `text script: <name>, on <source>:<line>.`: where a script error came
/// from, as Redis appends it.
fn with_trace(text: &[u8], name: &str, source: &[u8], line: i64) -> Bytes {
    let mut t = text.to_vec();
    t.extend_from_slice(b" script: ");
    t.extend_from_slice(name.as_bytes());
    t.extend_from_slice(b", on ");
    t.extend_from_slice(source);
    t.extend_from_slice(format!(":{line}.").as_bytes());
    error_text(&t)
}
