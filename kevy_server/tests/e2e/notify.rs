//! Keyspace notifications against the oracle: `notify-keyspace-events`
//! flag sets, the `__keyspace@<db>__:<key>` / `__keyevent@<db>__:<event>`
//! channels, and the event each command raises, byte for byte with
//! redis-server, family by family; expiry by lazy access and by the active
//! cycle.
//!
//! A subscriber listens to every keyspace channel and to a `sync` channel;
//! after each command the actor publishes on `sync`, and the subscriber
//! records everything it receives up to that marker. Both servers deliver
//! a connection's notifications before the reply to its next command, so
//! the marker closes exactly the previous command's events.

use std::time::Duration;

use crate::pubsub::{differential, Rec};
use crate::util::Conn;

/// A subscriber to every keyspace/keyevent channel of every db, plus `sync`.
fn listener(port: u16, r: &mut Rec) -> Conn {
    let mut s = Conn::connect(port);
    r.cmd_n(&mut s, "PSUBSCRIBE __key*__:*", 1);
    r.cmd_n(&mut s, "SUBSCRIBE sync", 1);
    s
}

/// Runs `line` on `c`, then records the notifications `s` received for it.
/// `@sleep <ms>` sleeps instead.
fn step(r: &mut Rec, c: &mut Conn, s: &mut Conn, line: &str) {
    if let Some(ms) = line.strip_prefix("@sleep ") {
        std::thread::sleep(Duration::from_millis(ms.parse().unwrap_or(10)));
        return;
    }
    r.cmd(c, line);
    sync(r, c, s, line);
}

/// Publishes a marker and records what `s` receives up to it.
fn sync(r: &mut Rec, c: &mut Conn, s: &mut Conn, label: &str) {
    let mut p = Conn::connect(c.port());
    p.cmd("PUBLISH sync .");
    for _ in 0..100 {
        let f = r.read(s, &format!("after `{label}`"));
        if f.ends_with(b"$4\r\nsync\r\n$1\r\n.\r\n") {
            return;
        }
    }
    panic!("no sync marker after `{label}`");
}

/// Runs `lines` with notifications configured as `flags`.
fn family(flags: &'static str, lines: &'static [&'static str]) {
    differential(&["--threads", "2"], move |port, r| {
        let mut c = Conn::connect(port);
        c.cmd("FLUSHALL");
        r.cmd(
            &mut c,
            &format!("CONFIG SET notify-keyspace-events \"{flags}\""),
        );
        r.cmd(&mut c, "CONFIG GET notify-keyspace-events");
        let mut s = listener(port, r);
        for line in lines {
            step(r, &mut c, &mut s, line);
        }
    });
}

#[test]
fn notify_strings() {
    family(
        "KEA",
        &[
            "SET s v",
            "SET s v NX",
            "SET s v2 XX GET",
            "SETNX s2 x",
            "SETEX s3 100 x",
            "PSETEX s4 100000 x",
            "MSET m1 a m2 b",
            "MSETNX m3 a m4 b",
            "APPEND s more",
            "SETRANGE s 1 ZZ",
            "INCR n",
            "INCRBY n 5",
            "DECR n",
            "DECRBY n 2",
            "INCRBYFLOAT f 1.5",
            "GETSET s new",
            "GETDEL s2",
            "GETEX s3 EX 50",
            "GETEX s3 PERSIST",
            "GET s",
            "SET s x KEEPTTL",
            "SET s x EX 100",
            "GETRANGE s 0 1",
            "INCR s",
        ],
    );
}

#[test]
fn notify_keys() {
    family(
        "KEA",
        &[
            "SET k v",
            "EXPIRE k 100",
            "PEXPIRE k 100000",
            "EXPIREAT k 99999999999",
            "PERSIST k",
            "RENAME k k2",
            "RENAMENX k2 k3",
            "SET other 1",
            "RENAMENX k3 other",
            "RENAME k3 k3",
            "COPY k3 k4",
            "COPY k3 k4 REPLACE",
            "MOVE k4 1",
            "SELECT 1",
            "DEL k3 other nosuch",
            "SET u 1",
            "UNLINK u",
            "SET gone 1",
            "EXPIRE gone -1",
            "SET gone 1",
            "PEXPIREAT gone 1",
            "SET lazy 1",
            "PEXPIRE lazy 1",
            "@sleep 10",
            "GET lazy",
            "RPUSH sl 3 1 2",
            "TOUCH sl",
            "EXISTS sl",
            "TYPE sl",
            "FLUSHDB",
        ],
    );
}

#[test]
fn notify_lists() {
    family(
        "KEA",
        &[
            "LPUSH l a b",
            "RPUSH l c d",
            "LPUSHX l z",
            "RPUSHX nosuch z",
            "LINSERT l BEFORE c x",
            "LSET l 0 y",
            "LREM l 1 x",
            "LTRIM l 0 3",
            "LPOP l",
            "RPOP l 2",
            "LMOVE l l2 LEFT RIGHT",
            "RPOPLPUSH l2 l3",
            "LMPOP 2 nosuch l3 RIGHT",
            "RPUSH l p q",
            "BLPOP l 0",
            "BRPOP nosuch l 0",
            "LRANGE l 0 -1",
        ],
    );
}

#[test]
fn notify_hashes() {
    family(
        "KEA",
        &[
            "HSET h a 1 b 2",
            "HSETNX h a 9",
            "HSETNX h c 3",
            "HMSET h d 4",
            "HINCRBY h a 5",
            "HINCRBYFLOAT h b 0.5",
            "HDEL h a nosuch",
            "HDEL h b c d",
            "HGET h a",
        ],
    );
}

#[test]
fn notify_sets() {
    family(
        "KEA",
        &[
            "SADD s a b c",
            "SADD s a",
            "SREM s a",
            "SADD t b x",
            "SMOVE s t c",
            "SINTERSTORE i s t",
            "SUNIONSTORE u s t",
            "SDIFFSTORE d t s",
            "SINTERSTORE empty s nosuch",
            "SPOP s",
            "SREM t b x c",
            "SCARD u",
        ],
    );
}

#[test]
fn notify_zsets() {
    family(
        "KEA",
        &[
            "ZADD z 1 a 2 b 3 c",
            "ZADD z XX 5 a",
            "ZINCRBY z 1 b",
            "ZREM z c",
            "ZADD w 1 a 9 q",
            "ZUNIONSTORE zu 2 z w",
            "ZINTERSTORE zi 2 z w",
            "ZDIFFSTORE zd 2 z w",
            "ZRANGESTORE zr z 0 0",
            "ZREMRANGEBYSCORE zu 0 1",
            "ZREMRANGEBYRANK zu 0 0",
            "ZREMRANGEBYLEX w - +",
            "ZPOPMIN z",
            "ZPOPMAX z",
            "BZPOPMIN zr 0",
            "ZMPOP 1 zu MIN",
            "ZRANGE z 0 -1",
        ],
    );
}

/// GEOADD is ZADD underneath (`zadd`); the STORE forms raise
/// `georadiusstore`/`geosearchstore`, or `del` when the result is empty.
#[test]
fn notify_geo() {
    family(
        "KEA",
        &[
            "GEOADD g 13.361389 38.115556 Palermo 15.087269 37.502669 Catania",
            "GEOADD g XX 13.361389 38.115556 Palermo",
            "GEOADD g CH 13.4 38.1 Palermo",
            "GEORADIUS g 15 37 200 km STORE d1",
            "GEORADIUSBYMEMBER g Palermo 300 km STOREDIST d2",
            "GEOSEARCHSTORE d3 g FROMLONLAT 15 37 BYRADIUS 200 km",
            "GEOSEARCHSTORE d3 g FROMLONLAT 0 0 BYRADIUS 1 km",
            "GEORADIUS nosuch 0 0 1 km STORE d1",
            "GEOSEARCH g FROMLONLAT 15 37 BYRADIUS 200 km",
            "GEOPOS g Palermo",
        ],
    );
}

/// Narrower flag sets: only the named classes, on only the named channel kind.
#[test]
fn notify_narrow_flags() {
    family(
        "Kx",
        &["SET a 1", "PEXPIRE a 1", "@sleep 10", "GET a", "DEL a"],
    );
    family(
        "E$",
        &["SET a 1", "LPUSH l a", "INCR n", "DEL a", "APPEND a x"],
    );
    family("Kl", &["SET a 1", "LPUSH l a", "RPOP l", "DEL a"]);
    family(
        "Eg",
        &[
            "SET a 1",
            "EXPIRE a 100",
            "RENAME a b",
            "DEL b",
            "LPUSH l 1",
        ],
    );
    family("", &["SET a 1", "DEL a"]);
}

/// `m`: every read lookup of a missing key raises `keymiss` (writes do not).
#[test]
fn notify_keymiss() {
    family(
        "KEm",
        &[
            "GET nosuch",
            "SET a 1",
            "GET a",
            "MGET a b c",
            "EXISTS a b",
            "STRLEN zz",
            "LRANGE nol 0 -1",
            "HGET noh f",
            "SISMEMBER nos m",
            "ZSCORE noz m",
            "TYPE nosuch",
            "TTL nosuch",
            "PTTL nosuch",
            "OBJECT ENCODING nosuch",
            "INCR counter",
            "LPUSH l x",
            "SET s v GET",
            "GETDEL gone",
            "DEL a",
        ],
    );
}

/// `n`: every key a write creates raises `new`, before the command's own event.
#[test]
fn notify_new_keys() {
    family(
        "KEAn",
        &[
            "SET a 1",
            "SET a 2",
            "INCR n",
            "LPUSH l x",
            "RPUSH l y",
            "HSET h f v",
            "SADD s m",
            "ZADD z 1 m",
            "SETBIT b 7 1",
            "PFADD hll x",
            "MSET m1 a m2 b",
            "RENAME a a2",
            "COPY a2 a3",
            "LMOVE l l2 LEFT RIGHT",
            "SUNIONSTORE su s s",
            "SET tmp 1 PX 1",
            "@sleep 10",
            "SET tmp 2",
            "GETSET gs 1",
            "APPEND ap x",
            "SETRANGE sr 2 x",
            "INCRBYFLOAT fl 1.5",
        ],
    );
}

/// Keys that expire without being touched are reclaimed by the active
/// cycle, which raises `expired` too.
#[test]
fn notify_active_expiry() {
    differential(&["--threads", "2"], |port, r| {
        let mut c = Conn::connect(port);
        r.cmd(&mut c, "CONFIG SET notify-keyspace-events Ex");
        let mut s = listener(port, r);
        r.cmd(&mut c, "SET never-read 1 PX 50");
        // No command touches the key: only the active cycle can see it.
        std::thread::sleep(Duration::from_millis(50));
        r.read(&mut s, "expired by the active cycle");
        r.cmd(&mut c, "DBSIZE");
    });
}

/// A RESP3 client subscribed to its own keys' events.
///
/// Redis writes the notification push into the client's output before the
/// command's reply (it publishes while the command runs); kevy publishes at
/// the end of the batch through the owner thread's inbox, so the push comes
/// right after the reply. The frames are compared as unordered pairs; kevy
/// should publish a connection's own notifications before its reply.
#[test]
fn notify_resp3_self_subscriber() {
    differential(&["--threads", "2"], |port, r| {
        let mut c = Conn::connect(port);
        c.hello3();
        r.cmd(&mut c, "CONFIG SET notify-keyspace-events KEA");
        r.cmd_n(&mut c, "SUBSCRIBE __keyspace@0__:k", 1);
        for line in ["SET k v", "DEL k"] {
            let mut both = [c.cmd(line), c.read_frame()];
            both.sort();
            r.note(line, both.concat());
        }
        r.cmd(&mut c, "PING");
    });
}

/// SORT ... STORE raises `sortstore` (`del` for an empty result over an
/// existing key, nothing over a missing one); its BY/GET lookups and the
/// sorted key are reads, which raise `keymiss` when missing.
#[test]
fn notify_sort() {
    family(
        "KEAmn",
        &[
            "RPUSH l 2 1 3",
            "SET w_1 5",
            "SORT l BY w_* STORE d",
            "SORT l STORE d",
            "SORT l GET o_* GET # LIMIT 0 1",
            "SORT_RO l BY nosort GET w_*",
            "SORT nosuch STORE d",
            "SORT nosuch STORE d",
            "SADD s b a",
            "SORT s BY nosort STORE s",
            "SORT l BY x_* STORE l",
        ],
    );
}
