//! The body of the `scripts` fuzz target, shared with kevy_script's tests
//! (`tests/fuzz_scripts.rs` includes this file by path and replays the
//! committed corpus on stable, without libFuzzer). Fuzz bytes decode into
//! scripts (see [`decode`]): Lua assembled from fragments that call
//! commands, use the libraries and misuse the sandbox, or the bytes
//! themselves as Lua. They run through one VM against an embedded store of
//! 3 shards with a log on every shard. Checked, for every input:
//!
//! - nothing panics, and no script runs away: the host stops a script
//!   after a bounded number of instruction ticks (a loop, a recursion);
//! - every reply encodes, in RESP2 and RESP3, to exactly one frame;
//! - the VM still answers a plain script afterwards;
//! - replaying each shard's log into a fresh store rebuilds the same live
//!   keys: what a script logged is what it did.

use bytes::Bytes;
use kevy_resp::{encode, reply_frame_len, Protocol, Reply};
use kevy_script::{Abort, Host, StoreHost, Vm};
use kevy_store::{ShardLog, Store};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// Lua fragments a script is assembled from.
pub const FRAGMENTS: &[&str] = &[
    "redis.call('set', KEYS[1], ARGV[1])",
    "redis.call('incr', KEYS[1])",
    "redis.pcall('incrby', KEYS[1], ARGV[1])",
    "redis.call('rpush', KEYS[2], ARGV[1], ARGV[2])",
    "redis.call('lpop', KEYS[2])",
    "redis.call('hset', KEYS[3], ARGV[1], ARGV[2])",
    "redis.call('hincrbyfloat', KEYS[3], 'f', ARGV[1])",
    "redis.call('sadd', KEYS[1], ARGV[2])",
    "redis.call('zadd', KEYS[2], ARGV[1], 'm')",
    "redis.call('expire', KEYS[1], 100)",
    "redis.call('del', KEYS[1], KEYS[2])",
    "redis.call('rename', KEYS[1], KEYS[3])",
    "redis.call('set', 'undeclared', ARGV[2])",
    "redis.call('spop', KEYS[1])",
    "redis.call('getex', KEYS[1], 'PX', 5000)",
    "redis.pcall('lmove', KEYS[2], KEYS[1], 'LEFT', 'RIGHT')",
    "redis.call('select', '1')",
    "redis.setresp(3)",
    "local r = redis.pcall('hgetall', KEYS[3])",
    "local x = redis.call('get', KEYS[1])",
    "local t = cjson.decode(cjson.encode({a = ARGV[1], b = {1, 2}}))",
    "local p = cmsgpack.unpack(cmsgpack.pack({1, ARGV[2], {x = true}}))",
    "local s = struct.pack('>i', 7)",
    "local b = bit.bxor(5, 3)",
    "math.randomseed(ARGV[1])",
    "local n = math.random(10)",
    "x = 1",
    "setmetatable(_G, {})",
    "string.rep('x', 1024)",
    "error('boom')",
    "error({err = 'E'})",
    "pcall(redis.call, 'nosuch')",
    "local f = loadstring('return 1')",
    "while true do end",
    "local function r() r() end r()",
    "return redis.call('get', KEYS[1])",
    "return {1, 2, {3, 'x'}, {err = 'e'}}",
    "return {map = {a = 1}, set = {b = true}}",
    "return redis.sha1hex(ARGV[1])",
    "if tonumber(ARGV[1]) then redis.call('incrbyfloat', KEYS[1], ARGV[1]) end",
];

/// Arguments and keys.
pub const WORDS: &[&str] = &[
    "0",
    "1",
    "-1",
    "1.5",
    "abc",
    "",
    "inf",
    "9223372036854775807",
    "k1",
    "{t}a",
    "10",
];

/// One decoded script: its body, keys and arguments.
pub struct Step {
    pub body: Vec<u8>,
    pub keys: Vec<Bytes>,
    pub args: Vec<Bytes>,
}

/// Fuzz bytes as scripts: a byte `0xff` starts a raw-Lua script (the bytes
/// up to the next `0xfe`); any other byte picks how many fragments (1-4)
/// follow, each picked by one byte, then three keys and two arguments.
pub fn decode(data: &[u8]) -> Vec<Step> {
    let mut steps = Vec::new();
    let mut i = 0;
    let word = |b: u8| Bytes::from_static(WORDS[b as usize % WORDS.len()].as_bytes());
    while i < data.len() && steps.len() < 32 {
        let head = data[i];
        i += 1;
        let body = if head == 0xff {
            let end = data[i..]
                .iter()
                .position(|&b| b == 0xfe)
                .map_or(data.len(), |p| i + p);
            let b = data[i..end].to_vec();
            i = (end + 1).min(data.len());
            b
        } else {
            let n = 1 + head as usize % 4;
            let mut parts = Vec::new();
            for _ in 0..n {
                let Some(&b) = data.get(i) else { break };
                i += 1;
                parts.push(FRAGMENTS[b as usize % FRAGMENTS.len()]);
            }
            parts.join("\n").into_bytes()
        };
        let mut pick = || {
            let b = data.get(i).copied().unwrap_or(0);
            i += 1;
            b
        };
        let keys = (0..3).map(|_| word(pick())).collect();
        let args = (0..2).map(|_| word(pick())).collect();
        steps.push(Step { body, keys, args });
    }
    steps
}

/// What a shard logged: (db, argv) records.
type Records = Arc<Mutex<Vec<(usize, Vec<Bytes>)>>>;

#[derive(Clone, Default)]
struct MemLog(Records);

impl ShardLog for MemLog {
    fn append(&mut self, db: usize, argv: &[&[u8]]) {
        if let Ok(mut v) = self.0.lock() {
            v.push((db, argv.iter().map(|a| Bytes::copy_from_slice(a)).collect()));
        }
    }
}

/// A store host that stops a script after a bounded number of ticks.
struct Bounded<'s> {
    inner: StoreHost<'s>,
    ticks: u32,
}

impl Host for Bounded<'_> {
    fn call(&mut self, argv: &[Bytes], resp: u8) -> Result<Reply, Abort> {
        self.inner.call(argv, resp)
    }

    fn tick(&mut self) -> Result<(), Abort> {
        self.ticks += 1;
        if self.ticks > 20 {
            return Err(Abort(Reply::error("ERR script ran too long")));
        }
        Ok(())
    }
}

fn check_framing(reply: &Reply) {
    for proto in [Protocol::Resp2, Protocol::Resp3] {
        let mut out = Vec::new();
        encode(reply, proto, &mut out);
        assert_eq!(
            reply_frame_len(&out).ok().flatten(),
            Some(out.len()),
            "a reply does not frame: {out:?}"
        );
    }
}

const NOW: u64 = 1_700_000_000_000;

fn live(store: &Store) -> BTreeMap<(usize, usize, Vec<u8>), kevy_store::Entry> {
    let mut m = BTreeMap::new();
    for (s, view) in store.snapshot().iter().enumerate() {
        for (d, db) in view.dbs.iter().enumerate() {
            for (k, e) in db.iter() {
                if !e.is_expired(NOW) {
                    let _ = s;
                    m.insert((0, d, k.bytes().to_vec()), e.clone());
                }
            }
        }
    }
    m
}

/// Runs the scripts `data` decodes to and checks what the module doc says.
pub fn run(data: &[u8]) {
    let store = Store::new(3, 16);
    let logs: Vec<MemLog> = (0..3).map(|_| MemLog::default()).collect();
    for (i, l) in logs.iter().enumerate() {
        store.set_log(i, Some(Box::new(l.clone())));
    }
    let Ok(mut vm) = Vm::new() else { return };
    for step in decode(data) {
        let (sha, _) = match vm.load_script(&step.body) {
            Ok(x) => x,
            Err(r) => {
                check_framing(&r);
                continue;
            }
        };
        let mut host = Bounded {
            inner: StoreHost::new(&store, 0, NOW),
            ticks: 0,
        };
        let reply = vm.eval(&mut host, &sha, &step.keys, &step.args);
        drop(host);
        check_framing(&reply);
    }
    let (sha, _) = vm
        .load_script(b"return 1")
        .expect("a plain script compiles");
    let mut host = StoreHost::new(&store, 0, NOW);
    assert_eq!(vm.eval(&mut host, &sha, &[], &[]), Reply::Int(1));
    drop(host);
    // Replay every shard's log into a fresh store: the same live keys.
    let fresh = Store::new(3, 16);
    for (shard, l) in logs.iter().enumerate() {
        let recs = l.0.lock().map(|v| v.clone()).unwrap_or_default();
        for (db, argv) in recs {
            // Transaction brackets are recovery's business, not commands.
            if argv[0] == "MULTI" || argv[0] == "EXEC" {
                continue;
            }
            let r = fresh.replay(Some(shard), db, &argv, NOW);
            assert!(!r.is_error(), "replaying {argv:?} failed: {r:?}");
        }
    }
    assert!(
        live(&store) == live(&fresh),
        "the logs do not rebuild the store"
    );
}
