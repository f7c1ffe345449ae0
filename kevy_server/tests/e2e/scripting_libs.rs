//! Scripts of the kind real client libraries ship, sent the way those
//! libraries send them: EVALSHA first, and on NOSCRIPT a SCRIPT LOAD and
//! EVALSHA again (redis-py's `Script`). redis-py's `Lock` scripts, a
//! sliding-window rate limiter, and a job-queue "move to active" script of
//! the kind BullMQ ships (cmsgpack options, cjson payloads, keys it did
//! not declare). Every reply is compared with redis-server's when it is
//! installed.

use crate::util::{escape, scalar, Conn, Redis, Server};

/// redis-py `Lock.release`.
const LOCK_RELEASE: &str = "local token = redis.call('get', KEYS[1])
if not token or token ~= ARGV[1] then
    return 0
end
redis.call('del', KEYS[1])
return 1";

/// redis-py `Lock.extend` (ARGV[3] == "0": add to the remaining time).
const LOCK_EXTEND: &str = "local token = redis.call('get', KEYS[1])
if not token or token ~= ARGV[1] then
    return 0
end
local expiration = redis.call('pttl', KEYS[1])
if not expiration then
    expiration = 0
end
if expiration < 0 then
    return 0
end

local newttl = ARGV[2]
if ARGV[3] == \"0\" then
    newttl = ARGV[2] + expiration
end
redis.call('pexpire', KEYS[1], newttl)
return 1";

/// redis-py `Lock.reacquire`.
const LOCK_REACQUIRE: &str = "local token = redis.call('get', KEYS[1])
if not token or token ~= ARGV[1] then
    return 0
end
redis.call('pexpire', KEYS[1], ARGV[2])
return 1";

/// A sliding-window rate limiter over a sorted set of request times.
const RATE_LIMIT: &str = "local key = KEYS[1]
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
redis.call('zremrangebyscore', key, 0, now - window)
local count = redis.call('zcard', key)
if count < limit then
    redis.call('zadd', key, now, ARGV[4])
    redis.call('pexpire', key, window)
    return {1, limit - count - 1}
end
local oldest = redis.call('zrange', key, 0, 0, 'WITHSCORES')
return {0, tonumber(oldest[2]) + window - now}";

/// Moves the next waiting job to the active list and marks it, as
/// BullMQ's moveToActive does: options come msgpack-packed, job data is
/// JSON, and the job's hash and the event log are keys the script builds
/// itself (it declares only the queue lists).
const MOVE_TO_ACTIVE: &str = "local opts = cmsgpack.unpack(ARGV[1])
local jobId = redis.call('rpoplpush', KEYS[1], KEYS[2])
if not jobId then
    return {0, 'empty'}
end
local jobKey = KEYS[3] .. jobId
redis.call('hset', jobKey, 'processedOn', opts.timestamp, 'token', opts.token, 'attemptsMade', 1)
local data = cjson.decode(redis.call('hget', jobKey, 'data'))
local event = cjson.encode({event = 'active', jobId = jobId, name = data.name, prev = 'waiting'})
redis.call('rpush', KEYS[3] .. 'events', event)
redis.call('hincrby', KEYS[3] .. 'meta', 'active', 1)
return {jobId, data.name, redis.call('hget', jobKey, 'token'), redis.call('llen', KEYS[2])}";

/// Sends a script as redis-py does: EVALSHA, and on NOSCRIPT load it and
/// try again. Returns every raw reply seen (NOSCRIPT and SCRIPT LOAD's
/// included), so two servers can be compared step by step.
fn run_script(c: &mut Conn, body: &str, keys: &[&str], args: &[&[u8]]) -> Vec<Vec<u8>> {
    let sha = sha1_of(c, body);
    let mut seen = Vec::new();
    let numkeys = keys.len().to_string();
    let mut argv: Vec<&[u8]> = vec![b"EVALSHA", sha.as_bytes(), numkeys.as_bytes()];
    argv.extend(keys.iter().map(|k| k.as_bytes()));
    argv.extend(args.iter().copied());
    c.send(&argv);
    let first = c.read_frame();
    let noscript = first.starts_with(b"-NOSCRIPT");
    seen.push(first);
    if noscript {
        c.send(&[b"SCRIPT", b"LOAD", body.as_bytes()]);
        seen.push(c.read_frame());
        c.send(&argv);
        seen.push(c.read_frame());
    }
    seen
}

/// The SHA1 of `body`, as the client computes it (asked of the server
/// without loading: SCRIPT LOAD would load it).
fn sha1_of(c: &mut Conn, body: &str) -> String {
    c.send(&[
        b"EVAL",
        b"return redis.sha1hex(ARGV[1])",
        b"0",
        body.as_bytes(),
    ]);
    let r = c.read_frame();
    String::from_utf8_lossy(&scalar(&r).expect("sha1hex")).into_owned()
}

/// The whole scenario against one server; every reply in order.
fn scenario(c: &mut Conn) -> Vec<Vec<u8>> {
    let mut log = Vec::new();
    let mut step = |c: &mut Conn, line: &str| log.push(c.cmd(line));
    step(c, "FLUSHALL");
    step(c, "SCRIPT FLUSH");
    let mut all = Vec::new();
    // redis-py Lock: acquire with SET NX PX, extend, reacquire, release.
    step(c, "SET lock:res tok-1 NX PX 100000");
    all.extend(run_script(
        c,
        LOCK_EXTEND,
        &["lock:res"],
        &[b"tok-1", b"5000", b"1"],
    ));
    all.extend(run_script(
        c,
        LOCK_EXTEND,
        &["lock:res"],
        &[b"tok-2", b"5000", b"1"],
    ));
    all.extend(run_script(
        c,
        LOCK_REACQUIRE,
        &["lock:res"],
        &[b"tok-1", b"7000"],
    ));
    all.extend(run_script(c, LOCK_RELEASE, &["lock:res"], &[b"tok-2"]));
    all.extend(run_script(c, LOCK_RELEASE, &["lock:res"], &[b"tok-1"]));
    all.extend(run_script(c, LOCK_RELEASE, &["lock:res"], &[b"tok-1"]));
    step(c, "EXISTS lock:res");
    // The rate limiter: 3 requests per 1000 ms window, explicit clock.
    for (now, id) in [
        (1000, "a"),
        (1100, "b"),
        (1200, "c"),
        (1300, "d"),
        (2150, "e"),
        (2151, "f"),
    ] {
        let now = now.to_string();
        all.extend(run_script(
            c,
            RATE_LIMIT,
            &["rl:user:1"],
            &[now.as_bytes(), b"1000", b"3", id.as_bytes()],
        ));
    }
    step(c, "ZRANGE rl:user:1 0 -1 WITHSCORES");
    // The job queue.
    for id in ["1", "2"] {
        let data = format!("{{\"name\":\"job-{id}\",\"payload\":[1,2,3]}}");
        step(c, &format!("HSET bull:q:{id} data '{data}'"));
        step(c, &format!("LPUSH bull:q:wait {id}"));
    }
    let opts = msgpack_opts();
    for _ in 0..3 {
        all.extend(run_script(
            c,
            MOVE_TO_ACTIVE,
            &["bull:q:wait", "bull:q:active", "bull:q:"],
            &[&opts],
        ));
    }
    step(c, "LRANGE bull:q:events 0 -1");
    step(c, "HGETALL bull:q:meta");
    step(c, "LRANGE bull:q:active 0 -1");
    log.extend(all);
    log
}

/// `{timestamp = 1700000000000, token = "w1:42"}` msgpack-packed, as the
/// client library packs its options.
fn msgpack_opts() -> Vec<u8> {
    let mut v = vec![0x82];
    v.push(0xa9);
    v.extend_from_slice(b"timestamp");
    v.push(0xcf);
    v.extend_from_slice(&1_700_000_000_000u64.to_be_bytes());
    v.push(0xa5);
    v.extend_from_slice(b"token");
    v.push(0xa5);
    v.extend_from_slice(b"w1:42");
    v
}

#[test]
fn real_library_scripts_work_and_match_redis() {
    let server = Server::start(&["--threads", "2", "--shards", "4"]);
    let mut c = server.conn();
    let ours = scenario(&mut c);
    // What a user sees, without needing redis-server.
    let text: Vec<String> = ours.iter().map(|r| escape(r)).collect();
    let joined = text.join("\n");
    assert!(
        joined.contains("-NOSCRIPT No matching script. Please use EVAL."),
        "{joined}"
    );
    assert!(
        joined.contains("*4\\r\\n$1\\r\\n2\\r\\n$5\\r\\njob-2\\r\\n$5\\r\\nw1:42\\r\\n:2\\r\\n"),
        "{joined}"
    );
    assert!(
        joined.contains("*2\\r\\n:0\\r\\n$5\\r\\nempty\\r\\n"),
        "{joined}"
    );
    // A second connection (the other loop) finds the scripts loaded.
    let mut d = server.conn();
    let again = run_script(&mut d, LOCK_RELEASE, &["nothing"], &[b"x"]);
    assert_eq!(again, vec![b":0\r\n".to_vec()]);
    let Some(redis) = Redis::start() else {
        eprintln!("skipping the comparison with redis-server: not installed");
        return;
    };
    let theirs = scenario(&mut redis.conn());
    assert_eq!(ours.len(), theirs.len());
    for (i, (a, b)) in ours.iter().zip(&theirs).enumerate() {
        assert_eq!(a, b, "step {i}: kevy {} redis {}", escape(a), escape(b));
    }
}
