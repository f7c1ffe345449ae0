//! CLIENT TRACKING against the oracle: default mode, BCAST with prefixes,
//! OPTIN/OPTOUT with CLIENT CACHING, NOLOOP, REDIRECT to a RESP2 client
//! subscribed to `__redis__:invalidate`, FLUSHALL, TRACKINGINFO, GETREDIR
//! and the error texts. Client ids differ between the servers, so every
//! frame holding one is masked.

use crate::pubsub::{differential, Rec};
use crate::util::{scalar, Conn};

/// The client id of `c`; from now on it reads `<name>` in TRACKINGINFO's
/// `redirect` field.
fn id_of(r: &mut Rec, c: &mut Conn, name: &str) -> String {
    let f = c.cmd("CLIENT ID");
    let id = String::from_utf8(scalar(&f).expect("CLIENT ID")).expect("ascii id");
    r.mask(
        format!("redirect\r\n:{id}\r\n"),
        format!("redirect\r\n:<{name}>\r\n"),
    );
    id
}

/// CLIENT GETREDIR, recorded as `<name>` when it answers `id`.
fn getredir(r: &mut Rec, c: &mut Conn, id: &str, name: &str) {
    let f = c.cmd("CLIENT GETREDIR");
    let f = if f == format!(":{id}\r\n").as_bytes() {
        format!("<{name}>").into_bytes()
    } else {
        f
    };
    r.note("CLIENT GETREDIR", f);
}

#[test]
fn tracking_default_mode_resp3() {
    differential(&["--threads", "2"], |port, r| {
        let mut c = Conn::connect(port);
        let mut w = Conn::connect(port);
        c.hello3();
        r.cmd(&mut c, "CLIENT TRACKINGINFO");
        r.cmd(&mut c, "CLIENT GETREDIR");
        r.cmd(&mut c, "CLIENT TRACKING on");
        r.cmd(&mut c, "CLIENT TRACKINGINFO");
        r.cmd(&mut c, "CLIENT GETREDIR");
        r.cmd(&mut c, "SET a 1");
        r.cmd(&mut c, "GET a");
        r.cmd(&mut c, "MGET b c");
        r.cmd(&mut c, "HGET h f");
        // Another client's writes invalidate what c read, once.
        r.cmd(&mut w, "SET a 2");
        r.read(&mut c, "invalidate a");
        r.cmd(&mut w, "SET a 3");
        r.cmd(&mut w, "MSET b 1 c 1");
        r.read(&mut c, "invalidate b");
        r.read(&mut c, "invalidate c");
        r.cmd(&mut w, "HSET h f 1");
        r.read(&mut c, "invalidate h");
        // Its own write invalidates too (no NOLOOP), after the reply.
        r.cmd(&mut c, "GET a");
        r.cmd(&mut c, "SET a mine");
        r.read(&mut c, "invalidate own write");
        r.cmd(&mut c, "GET a");
        r.cmd(&mut w, "DEL a");
        r.read(&mut c, "invalidate del");
        r.cmd(&mut c, "GET x");
        r.cmd(&mut w, "FLUSHALL");
        r.read(&mut c, "flushall");
        r.cmd(&mut c, "PING");
        r.cmd(&mut c, "CLIENT TRACKING off");
        r.cmd(&mut c, "CLIENT TRACKINGINFO");
        r.cmd(&mut c, "GET a");
        r.cmd(&mut w, "SET a 4");
        r.cmd(&mut c, "PING");
    });
}

#[test]
fn tracking_bcast_prefixes_and_noloop() {
    differential(&["--threads", "2"], |port, r| {
        let mut c = Conn::connect(port);
        let mut w = Conn::connect(port);
        c.hello3();
        r.cmd(&mut c, "CLIENT TRACKING on BCAST PREFIX user: PREFIX obj:");
        r.cmd(&mut c, "CLIENT TRACKINGINFO");
        r.cmd(&mut w, "SET user:1 x");
        r.read(&mut c, "user:1");
        r.cmd(&mut w, "SET other x");
        r.cmd(&mut w, "SET obj:9 x");
        r.read(&mut c, "obj:9");
        r.cmd(&mut c, "SET user:2 mine");
        r.read(&mut c, "own write");
        // One command's keys under one prefix: one message, keys sorted.
        r.cmd(&mut w, "MSET user:9 x other y user:3 z obj:1 w");
        r.read(&mut c, "obj: keys");
        r.read(&mut c, "user: keys");
        r.cmd(&mut c, "CLIENT TRACKING on BCAST PREFIX user:");
        r.cmd(&mut c, "CLIENT TRACKING on BCAST PREFIX us");
        r.cmd(&mut c, "CLIENT TRACKING on BCAST PREFIX zz PREFIX z");
        r.cmd(&mut c, "CLIENT TRACKING on BCAST PREFIX new");
        r.cmd(&mut c, "CLIENT TRACKINGINFO");
        r.cmd(&mut c, "CLIENT TRACKING on BCAST PREFIX user NOLOOP");
        r.cmd(&mut c, "CLIENT TRACKING on");
        r.cmd(&mut c, "CLIENT TRACKING off");
        r.cmd(&mut c, "CLIENT TRACKING on BCAST NOLOOP");
        r.cmd(&mut c, "CLIENT TRACKINGINFO");
        r.cmd(&mut c, "SET mine 1");
        r.cmd(&mut w, "SET theirs 1");
        r.read(&mut c, "every key");
        r.cmd(&mut c, "CLIENT TRACKING off");
        r.cmd(&mut c, "CLIENT TRACKING on NOLOOP");
        r.cmd(&mut c, "GET k");
        r.cmd(&mut c, "SET k 1");
        r.cmd(&mut c, "GET k");
        r.cmd(&mut w, "SET k 2");
        r.read(&mut c, "other's write");
        r.cmd(&mut c, "CLIENT TRACKING off");
        // Overlapping prefixes are refused.
        r.cmd(&mut c, "CLIENT TRACKING on BCAST PREFIX a PREFIX ab");
        r.cmd(&mut c, "CLIENT TRACKING on PREFIX a");
        r.cmd(&mut c, "CLIENT TRACKINGINFO");
    });
}

#[test]
fn tracking_optin_optout_and_caching() {
    differential(&["--threads", "2"], |port, r| {
        let mut c = Conn::connect(port);
        let mut w = Conn::connect(port);
        c.hello3();
        r.cmd(&mut c, "CLIENT CACHING yes");
        r.cmd(&mut c, "CLIENT TRACKING on OPTIN");
        r.cmd(&mut c, "CLIENT CACHING no");
        r.cmd(&mut c, "CLIENT CACHING maybe");
        r.cmd(&mut c, "GET notcached");
        r.cmd(&mut c, "CLIENT CACHING yes");
        r.cmd(&mut c, "CLIENT TRACKINGINFO");
        r.cmd(&mut c, "GET cached");
        r.cmd(&mut c, "CLIENT TRACKINGINFO");
        r.cmd(&mut w, "SET notcached 1");
        r.cmd(&mut w, "SET cached 1");
        r.read(&mut c, "only the opted-in key");
        r.cmd(&mut c, "CLIENT TRACKING on OPTOUT");
        r.cmd(&mut c, "CLIENT TRACKING off");
        r.cmd(&mut c, "CLIENT TRACKING on OPTOUT");
        r.cmd(&mut c, "CLIENT CACHING yes");
        r.cmd(&mut c, "CLIENT CACHING no");
        r.cmd(&mut c, "CLIENT TRACKINGINFO");
        r.cmd(&mut c, "GET skipped");
        r.cmd(&mut c, "GET kept");
        r.cmd(&mut w, "SET skipped 1");
        r.cmd(&mut w, "SET kept 1");
        r.read(&mut c, "only the key not opted out");
        r.cmd(&mut c, "CLIENT TRACKING off");
        r.cmd(&mut c, "CLIENT TRACKING on OPTIN OPTOUT");
        r.cmd(&mut c, "CLIENT TRACKING on BCAST OPTIN");
        r.cmd(&mut c, "CLIENT TRACKING maybe");
        r.cmd(&mut c, "CLIENT TRACKING on FOO");
        r.cmd(&mut c, "CLIENT TRACKING on REDIRECT");
        r.cmd(&mut c, "CLIENT TRACKING on REDIRECT 999999");
        r.cmd(&mut c, "CLIENT TRACKING on REDIRECT abc");
        r.cmd(&mut c, "CLIENT CACHING yes");
        r.cmd(&mut c, "CLIENT TRACKINGINFO x");
        r.cmd(&mut c, "CLIENT GETREDIR x");
    });
}

/// A RESP2 client cannot get pushes: it tracks by redirecting to a client
/// subscribed to `__redis__:invalidate`.
#[test]
fn tracking_redirect_to_resp2_subscriber() {
    differential(&["--threads", "2"], |port, r| {
        let mut inv = Conn::connect(port);
        let mut c = Conn::connect(port);
        let mut w = Conn::connect(port);
        let inv_id = id_of(r, &mut inv, "inv");
        r.cmd_n(&mut inv, "SUBSCRIBE __redis__:invalidate", 1);
        r.cmd(&mut c, "CLIENT TRACKING on");
        r.cmd_as(
            &mut c,
            &format!("CLIENT TRACKING on REDIRECT {inv_id}"),
            "CLIENT TRACKING on REDIRECT <inv>",
        );
        r.cmd(&mut c, "CLIENT TRACKING off");
        r.cmd_as(
            &mut c,
            &format!("CLIENT TRACKING on REDIRECT {inv_id}"),
            "CLIENT TRACKING on REDIRECT <inv>",
        );
        getredir(r, &mut c, &inv_id, "inv");
        r.cmd(&mut c, "CLIENT TRACKINGINFO");
        r.cmd(&mut c, "GET a");
        r.cmd(&mut c, "GET b");
        r.cmd(&mut w, "SET a 1");
        r.read(&mut inv, "invalidate a");
        r.cmd(&mut w, "SET b 1");
        r.read(&mut inv, "invalidate b");
        r.cmd(&mut w, "DEL nosuch");
        r.cmd(&mut c, "GET a");
        r.cmd(&mut w, "FLUSHALL");
        r.read(&mut inv, "flushall");
        // The redirect target goes away: TRACKINGINFO says so.
        drop(inv);
        std::thread::sleep(std::time::Duration::from_millis(100));
        r.cmd(&mut c, "GET a");
        r.cmd(&mut w, "SET a 2");
        r.cmd(&mut c, "PING");
        r.cmd(&mut c, "CLIENT TRACKINGINFO");
        getredir(r, &mut c, &inv_id, "inv");
    });
}

/// A key the active expiry cycle reclaims (nobody touches it) invalidates
/// the caches that read it, as Redis's active expiry does.
#[test]
fn tracking_active_expiry_invalidates() {
    differential(&["--threads", "2"], |port, r| {
        let mut c = Conn::connect(port);
        let mut w = Conn::connect(port);
        c.hello3();
        r.cmd(&mut c, "CLIENT TRACKING on");
        r.cmd(&mut w, "SET gone 1 PX 50");
        r.cmd(&mut c, "GET gone");
        // Nobody reads it again: only the active cycle can expire it.
        r.read(&mut c, "invalidate after active expiry");
        r.cmd(&mut c, "PING");
    });
}
