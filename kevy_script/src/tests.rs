//! Transcripts of what redis-server 7.0.15 answers, run through the VM
//! over an embedded store.

use crate::{StoreHost, Vm};
use bytes::Bytes;
use kevy_resp::{encode, Protocol, Reply};
use kevy_store::Store;

fn b(s: &str) -> Bytes {
    Bytes::copy_from_slice(s.as_bytes())
}

struct T {
    store: Store,
    vm: Vm,
}

impl T {
    fn new() -> T {
        T {
            store: Store::new(2, 16),
            vm: Vm::new().unwrap(),
        }
    }

    fn eval(&mut self, body: &str, keys: &[&str], args: &[&str]) -> Reply {
        let (sha, _) = match self.vm.load_script(body.as_bytes()) {
            Ok(x) => x,
            Err(r) => return r,
        };
        let keys: Vec<Bytes> = keys.iter().map(|k| b(k)).collect();
        let args: Vec<Bytes> = args.iter().map(|k| b(k)).collect();
        let mut host = StoreHost::new(&self.store, 0, 1_700_000_000_000);
        self.vm.eval(&mut host, &sha, &keys, &args)
    }

    /// The RESP2 bytes of the reply, as a string.
    fn wire(&mut self, body: &str) -> String {
        let r = self.eval(body, &[], &[]);
        let mut out = Vec::new();
        encode(&r, Protocol::Resp2, &mut out);
        String::from_utf8_lossy(&out).into_owned()
    }
}

fn sha(body: &str) -> String {
    crate::sha1_hex(body.as_bytes())
}

#[test]
fn basic_replies() {
    let mut t = T::new();
    assert_eq!(t.wire("return 'hello'"), "$5\r\nhello\r\n");
    assert_eq!(t.wire("return 3.99"), ":3\r\n");
    assert_eq!(
        t.wire("return {1,2,3.7,'a',nil,5}"),
        "*4\r\n:1\r\n:2\r\n:3\r\n$1\r\na\r\n"
    );
    assert_eq!(t.wire("return {true,false,1}"), "*3\r\n:1\r\n$-1\r\n:1\r\n");
    assert_eq!(t.wire("return {err='My Err'}"), "-My Err\r\n");
    assert_eq!(t.wire("return {ok='BAR'}"), "+BAR\r\n");
    assert_eq!(t.wire("return redis.error_reply('')"), "-ERR \r\n");
    assert_eq!(t.wire("return redis.error_reply('-x y')"), "-x y\r\n");
    assert_eq!(t.wire("return {err='ERR\\r\\nx'}"), "-ERR  x\r\n");
    assert_eq!(t.wire("return 0/0"), ":-9223372036854775808\r\n");
    assert_eq!(t.wire("return _G"), "*0\r\n");
}

#[test]
fn errors_name_the_script_line() {
    let mut t = T::new();
    let body = "error('boom')";
    assert_eq!(
        t.wire(body),
        format!(
            "-ERR user_script:1: boom script: {}, on @user_script:1.\r\n",
            sha(body)
        )
    );
    let body = "local x = nil + 1";
    assert_eq!(
        t.wire(body),
        format!(
            "-ERR user_script:1: attempt to perform arithmetic on a nil value script: {}, on @user_script:1.\r\n",
            sha(body)
        )
    );
    let body = "error({err='X'})";
    assert_eq!(
        t.wire(body),
        format!("-X script: {}, on @user_script:1.\r\n", sha(body))
    );
    let body = "return redis.call('nosuch')";
    assert_eq!(
        t.wire(body),
        format!(
            "-ERR Unknown Redis command called from script script: {}, on @user_script:1.\r\n",
            sha(body)
        )
    );
    assert_eq!(
        t.wire("return redis.pcall('incr','x','y')"),
        "-ERR Wrong number of args calling Redis command from script\r\n"
    );
    assert_eq!(
        t.wire("syntax error here"),
        "-ERR Error compiling script (new function): user_script:1: '=' expected near 'error'\r\n"
    );
    let body = "error()";
    assert_eq!(
        t.wire(body),
        format!("-ERR nil script: {}, on @user_script:1.\r\n", sha(body))
    );
    let body = "error(42)";
    assert_eq!(
        t.wire(body),
        format!(
            "-ERR user_script:1: 42 script: {}, on @user_script:1.\r\n",
            sha(body)
        )
    );
    let body = "return redis.call('set','x',{})";
    assert_eq!(t.wire(body), format!("-ERR Lua redis lib command arguments must be strings or integers script: {}, on @user_script:1.\r\n", sha(body)));
}

#[test]
fn sandbox() {
    let mut t = T::new();
    let body = "x = 5 return 1";
    assert_eq!(t.wire(body), format!("-ERR user_script:1: Attempt to modify a readonly table script: {}, on @user_script:1.\r\n", sha(body)));
    let body = "return print";
    assert_eq!(t.wire(body), format!("-ERR user_script:1: Script attempted to access nonexistent global variable 'print' script: {}, on @user_script:1.\r\n", sha(body)));
    let body = "rawset(_G,'x',1)";
    assert_eq!(
        t.wire(body),
        format!(
            "-ERR Attempt to modify a readonly table script: {}, on @user_script:1.\r\n",
            sha(body)
        )
    );
    let body = "setmetatable(_G, {})";
    assert_eq!(
        t.wire(body),
        format!(
            "-ERR Attempt to modify a readonly table script: {}, on @user_script:1.\r\n",
            sha(body)
        )
    );
    let body = "local g = getmetatable(_G); g.__index = {}";
    assert_eq!(t.wire(body), format!("-ERR user_script:1: Attempt to modify a readonly table script: {}, on @user_script:1.\r\n", sha(body)));
    let body = "string.x = 1";
    assert_eq!(t.wire(body), format!("-ERR user_script:1: Attempt to modify a readonly table script: {}, on @user_script:1.\r\n", sha(body)));
    let body = "redis.call = function() return 1 end";
    assert_eq!(t.wire(body), format!("-ERR user_script:1: Attempt to modify a readonly table script: {}, on @user_script:1.\r\n", sha(body)));
    let body = "return loadstring('x = 1')()";
    assert_eq!(t.wire(body), format!("-ERR [string \"x = 1\"]:1: Attempt to modify a readonly table script: {}, on x = 1:1.\r\n", sha(body)));
    assert_eq!(
        t.wire("local s = 0 for k,v in pairs(math) do s = s + 1 end return s"),
        ":31\r\n"
    );
    assert_eq!(t.wire("KEYS[1]='z' return KEYS[1]"), "$1\r\nz\r\n");
    assert_eq!(t.wire("return type(getmetatable(_G))"), "$5\r\ntable\r\n");
    let body = "return loadstring(string.dump(function() return 1 end))()";
    assert!(
        t.wire(body).contains("attempt to call a nil value"),
        "{}",
        t.wire(body)
    );
    assert_eq!(
        t.wire("local t = {} for k,v in pairs(_G) do t[#t+1]=k end table.sort(t) return table.concat(t, ' ')"),
        "$271\r\nARGV KEYS _G _VERSION __redis__err__handler assert bit cjson cmsgpack collectgarbage coroutine error gcinfo getmetatable ipairs load loadstring math next pairs pcall rawequal rawget rawset redis select setmetatable string struct table tonumber tostring type unpack xpcall\r\n"
    );
    assert_eq!(
        t.wire("local t = {} for k,v in pairs(redis) do t[#t+1]=k end table.sort(t) return table.concat(t, ' ')"),
        "$243\r\nLOG_DEBUG LOG_NOTICE LOG_VERBOSE LOG_WARNING REDIS_VERSION REDIS_VERSION_NUM REPL_ALL REPL_AOF REPL_NONE REPL_REPLICA REPL_SLAVE acl_check_cmd breakpoint call debug error_reply log pcall replicate_commands set_repl setresp sha1hex status_reply\r\n"
    );
}

#[test]
fn prng_matches_redis() {
    let mut t = T::new();
    assert_eq!(
        t.wire("math.randomseed(10); return {tostring(math.random()), tostring(math.random(100)), tostring(math.random(5,10)), tostring(math.random())}"),
        "*4\r\n$16\r\n0.87885112309775\r\n$2\r\n80\r\n$1\r\n7\r\n$16\r\n0.52567325836312\r\n"
    );
    assert_eq!(
        t.wire("math.randomseed(-1); return tostring(math.random())"),
        "$16\r\n0.30002572727391\r\n"
    );
    let body = "return math.random(0)";
    assert_eq!(t.wire(body), format!("-ERR user_script:1: bad argument #1 to 'random' (interval is empty) script: {}, on @user_script:1.\r\n", sha(body)));
    let body = "math.randomseed() return 1";
    assert_eq!(t.wire(body), format!("-ERR user_script:1: bad argument #1 to 'randomseed' (number expected, got no value) script: {}, on @user_script:1.\r\n", sha(body)));
}

#[test]
fn commands_run_against_the_store() {
    let mut t = T::new();
    assert_eq!(
        t.eval("return redis.call('incr', KEYS[1])", &["n"], &[]),
        Reply::Int(1)
    );
    assert_eq!(
        t.eval(
            "redis.call('set','x',0.1) return redis.call('get','x')",
            &[],
            &[]
        ),
        Reply::bulk(b"0.10000000000000001")
    );
    t.eval("redis.call('set','s','abc')", &[], &[]);
    assert_eq!(
        t.wire("local foo = redis.pcall('incr','s'); return {type(foo),foo['err']}"),
        "*2\r\n$5\r\ntable\r\n$43\r\nERR value is not an integer or out of range\r\n"
    );
    assert_eq!(t.wire("redis.call('hset','h','f','v') redis.setresp(3); local r = redis.call('hgetall','h'); return {type(r), type(r.map), r.map.f}"), "*3\r\n$5\r\ntable\r\n$5\r\ntable\r\n$1\r\nv\r\n");
    assert_eq!(
        t.wire("redis.setresp(3); return type(redis.call('get','nokey'))"),
        "$3\r\nnil\r\n"
    );
    assert_eq!(t.wire("return redis.call('get','nokey')"), "$-1\r\n");
    assert_eq!(
        t.wire("redis.setresp(3); return {true,false}"),
        "*2\r\n:1\r\n:0\r\n"
    );
}

#[test]
fn thousands_of_arguments_reach_the_command() {
    let mut t = T::new();
    let body =
        "local a = {} for i=1,7999 do a[i] = 1 end return redis.call('lpush', 'l', unpack(a))";
    assert_eq!(t.eval(body, &[], &[]), Reply::Int(7999));
    let body = "local a = {} for i=1,100 do a[i] = 'x' end return redis.pcall('set', unpack(a))";
    assert_eq!(t.wire(body), "-ERR syntax error\r\n");
}
