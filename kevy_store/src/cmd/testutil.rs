//! Test helpers shared by the command families: a store driven by
//! transcripts that read like `redis-cli` sessions, replies compared as RESP2
//! text, and a shard log that records what each shard would append to its AOF.

use crate::shard::ShardLog;
use crate::store::Store;
use bytes::Bytes;
use kevy_resp::Reply;
use parking_lot::Mutex;
use std::fmt::Write;
use std::sync::Arc;

/// A fixed "now" for tests: 2023-11-14T22:13:20Z, in Unix ms.
pub const T0: u64 = 1_700_000_000_000;

/// Encodes `r` as RESP2 text (bulk bytes decoded lossily).
pub fn resp2(r: &Reply) -> String {
    let mut s = String::new();
    enc(r, &mut s);
    s
}

fn bulk(b: &[u8], out: &mut String) {
    let _ = write!(out, "${}\r\n{}\r\n", b.len(), String::from_utf8_lossy(b));
}

fn enc(r: &Reply, out: &mut String) {
    match r {
        Reply::Simple(s) => {
            let _ = write!(out, "+{}\r\n", String::from_utf8_lossy(s));
        }
        Reply::Error(s) => {
            let _ = write!(out, "-{}\r\n", String::from_utf8_lossy(s));
        }
        Reply::Int(n) => {
            let _ = write!(out, ":{n}\r\n");
        }
        Reply::Bulk(b) | Reply::BigNumber(b) | Reply::Verbatim(_, b) | Reply::DoubleText(b) => {
            bulk(b, out)
        }
        Reply::Nil => out.push_str("$-1\r\n"),
        Reply::NilArray => out.push_str("*-1\r\n"),
        Reply::Array(v) | Reply::Set(v) | Reply::Push(v) => {
            let _ = write!(out, "*{}\r\n", v.len());
            for x in v {
                enc(x, out);
            }
        }
        Reply::Map(v) => {
            let _ = write!(out, "*{}\r\n", v.len() * 2);
            for (k, x) in v {
                enc(k, out);
                enc(x, out);
            }
        }
        Reply::Double(d) => bulk(kevy_resp_double(*d).as_bytes(), out),
        Reply::Bool(b) => {
            let _ = write!(out, ":{}\r\n", *b as i64);
        }
        Reply::Stream(s) => enc(&s.to_reply(), out),
        #[allow(unreachable_patterns)]
        other => {
            let _ = write!(out, "?{other:?}\r\n");
        }
    }
}

fn kevy_resp_double(d: f64) -> String {
    format!("{d}")
}

/// Splits a command line on spaces; `"..."` groups words and `""` is the
/// empty argument (no escapes: tests do not need them).
pub fn split(line: &str) -> Vec<Bytes> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut has = false;
    for ch in line.chars() {
        match ch {
            '"' => {
                quoted = !quoted;
                has = true;
            }
            ' ' if !quoted => {
                if has {
                    out.push(Bytes::from(std::mem::take(&mut cur)));
                    has = false;
                }
            }
            c => {
                cur.push(c);
                has = true;
            }
        }
    }
    if has {
        out.push(Bytes::from(cur));
    }
    out
}

/// A store plus the client state a transcript needs (selected db, clock).
pub struct T {
    /// The store under test (4 shards, 16 dbs).
    pub store: Store,
    /// Selected database.
    pub db: usize,
    /// The clock commands see, Unix ms.
    pub now: u64,
}

impl T {
    /// A fresh store at time [`T0`].
    pub fn new() -> T {
        T {
            store: Store::new(4, 16),
            db: 0,
            now: T0,
        }
    }

    /// Runs one command line, returning its raw reply.
    pub fn reply(&mut self, line: &str) -> Reply {
        self.store.execute(self.db, &split(line), self.now).0
    }

    /// Runs one command line, returning its reply as RESP2 text without the
    /// final CRLF.
    pub fn run(&mut self, line: &str) -> String {
        let mut s = resp2(&self.reply(line));
        s.truncate(s.len() - 2);
        s
    }

    /// Runs a transcript of `(command, expected RESP2 reply without the
    /// final CRLF)`. Pseudo-commands: `@db N` selects a database, `@sleep MS`
    /// advances the clock.
    #[track_caller]
    pub fn check(&mut self, transcript: &[(&str, &str)]) {
        for (i, (cmd, want)) in transcript.iter().enumerate() {
            if let Some(n) = cmd.strip_prefix("@db ") {
                self.db = n.parse().expect("db index");
                continue;
            }
            if let Some(ms) = cmd.strip_prefix("@sleep ") {
                self.now += ms.parse::<u64>().expect("ms");
                continue;
            }
            let got = self.run(cmd);
            assert_eq!(got, *want, "step {i}: {cmd}");
        }
    }

    /// Runs one command line with every keyspace-event class enabled and
    /// returns the events it raised as `db:event:key`.
    pub fn events(&mut self, line: &str) -> Vec<String> {
        let argv = split(line);
        let Some(cmd) = crate::cmd::lookup(&argv[0]) else {
            panic!("unknown command {line}")
        };
        let mut events = crate::ctx::Events::default();
        let mut locked = self.store.lock_all();
        {
            let mut ctx = crate::ctx::Ctx::new(&mut locked, &mut events, self.db, self.now);
            // "KEA": every class but `new` and `keymiss`, which `A` leaves out.
            ctx.notify_mask = !(crate::ctx::notify::NEW | crate::ctx::notify::KEY_MISS);
            crate::store::run(&mut ctx, cmd, &argv);
        }
        events
            .notifications
            .iter()
            .map(|n| format!("{}:{}:{}", n.db, n.event, String::from_utf8_lossy(&n.key)))
            .collect()
    }

    /// Installs a recording log on every shard and returns the record.
    pub fn record(&mut self) -> Rec {
        let rec = Rec::default();
        for id in 0..self.store.nshards() {
            self.store.set_log(
                id,
                Some(Box::new(RecLog {
                    shard: id,
                    rec: rec.clone(),
                })),
            );
        }
        rec
    }
}

/// What the shards logged: `(shard, db, command line)` in order.
#[derive(Clone, Default)]
pub struct Rec(Arc<Mutex<Vec<(usize, usize, String)>>>);

impl Rec {
    /// Takes the recorded entries, leaving the record empty.
    pub fn take(&self) -> Vec<(usize, usize, String)> {
        std::mem::take(&mut *self.0.lock())
    }

    /// Takes the recorded command lines (shard and db dropped).
    pub fn lines(&self) -> Vec<String> {
        self.take().into_iter().map(|(_, _, l)| l).collect()
    }
}

struct RecLog {
    shard: usize,
    rec: Rec,
}

impl ShardLog for RecLog {
    fn append(&mut self, db: usize, argv: &[&[u8]]) {
        // Transaction brackets (MULTI ... EXEC [txid parts]) frame effects;
        // the family tests assert the effects themselves. The brackets have
        // their own test (`cross_shard_writes_are_bracketed`).
        if argv
            .first()
            .is_some_and(|a| a.eq_ignore_ascii_case(b"multi") || a.eq_ignore_ascii_case(b"exec"))
        {
            return;
        }
        let line = argv
            .iter()
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect::<Vec<_>>()
            .join(" ");
        self.rec.0.lock().push((self.shard, db, line));
    }
}
