//! `Shard`: the unit of locking. It owns a slice of the keyspace (the hash
//! slots routed to it) in every logical database, the registry of keys
//! WATCHed by clients, and the hook its writes are logged through (the
//! per-shard AOF, installed by the persistence layer).

use crate::db::Db;
use crate::kstr::KStr;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Receives every effect applied to a shard, in the order applied, while the
/// shard lock is held. The AOF implements it.
pub trait ShardLog: Send {
    /// Records one effect: a command in deterministic form against `db`.
    fn append(&mut self, db: usize, argv: &[&[u8]]);

    /// A position in the log at or after every effect recorded so far
    /// (bytes appended, for a file log); 0 when the log has no positions.
    fn position(&self) -> u64 {
        0
    }
}

/// A flag a WATCHing client holds; set when a watched key is modified.
pub type WatchFlag = Arc<AtomicBool>;

/// One shard: its databases, watched keys, change counter and log hook.
pub struct Shard {
    id: usize,
    /// The logical databases (`SELECT 0..n`).
    pub dbs: Vec<Db>,
    log: Option<Box<dyn ShardLog>>,
    watched: HashMap<(usize, KStr), Vec<WatchFlag>>,
    /// Changes applied since the last snapshot.
    pub dirty: u64,
    /// MULTI/EXEC bracketing of the log: 0 none, 1 a transaction is open but
    /// logged nothing yet, 2 its `MULTI` record was written.
    tx: u8,
    /// While set, logged effects are kept here instead of reaching the log
    /// (a script that may still be rolled back; see [`Shard::begin_capture`]).
    capture: Option<Vec<(usize, Vec<bytes::Bytes>)>>,
    /// While set, write commands on this shard are refused with this error
    /// (its log could not take the last writes; see [`Shard::refuse_writes`]).
    refuse: Option<Arc<str>>,
}

/// A shard's databases frozen at one instant (O(1) to take: the key maps
/// are persistent); [`Shard::restore`] puts them back.
#[derive(Clone, Default)]
pub struct ShardImage {
    /// Each database's key map.
    pub maps: Vec<crate::db::KeyMap>,
}

impl Shard {
    /// An empty shard with `ndbs` databases.
    pub fn new(id: usize, ndbs: usize) -> Shard {
        Shard {
            id,
            dbs: (0..ndbs).map(|_| Db::new()).collect(),
            log: None,
            watched: HashMap::new(),
            dirty: 0,
            tx: 0,
            capture: None,
            refuse: None,
        }
    }

    /// The databases as they are now, frozen in O(1).
    pub fn image(&self) -> ShardImage {
        ShardImage {
            maps: self.dbs.iter().map(|d| d.snapshot()).collect(),
        }
    }

    /// Puts the databases back as `img` froze them (undoing every change
    /// since), and marks every watching client dirty: a WATCHed key may
    /// have changed back.
    pub fn restore(&mut self, img: &ShardImage) {
        for (db, m) in self.dbs.iter_mut().zip(&img.maps) {
            db.restore(m.clone());
        }
        self.touch_all_watched(None);
    }

    /// Refuses write commands on this shard with `err` (None: accepts them
    /// again). Set under the shard lock, so every write that runs after it
    /// sees it, whatever gate it passed before.
    pub fn refuse_writes(&mut self, err: Option<Arc<str>>) {
        self.refuse = err;
    }

    /// The error write commands get, while they are refused.
    pub fn refusal(&self) -> Option<&Arc<str>> {
        self.refuse.as_ref()
    }

    /// This shard's index.
    pub fn id(&self) -> usize {
        self.id
    }

    /// Installs (or removes) the log every later effect is appended to.
    pub fn set_log(&mut self, log: Option<Box<dyn ShardLog>>) -> Option<Box<dyn ShardLog>> {
        std::mem::replace(&mut self.log, log)
    }

    /// Appends an effect to the log, if one is installed.
    #[inline]
    pub fn log(&mut self, db: usize, argv: &[&[u8]]) {
        if let Some(c) = self.capture.as_mut() {
            if self.log.is_some() {
                c.push((
                    db,
                    argv.iter()
                        .map(|a| bytes::Bytes::copy_from_slice(a))
                        .collect(),
                ));
            }
            return;
        }
        if let Some(l) = self.log.as_mut() {
            if self.tx == 1 {
                self.tx = 2;
                l.append(db, &[b"MULTI"]);
            }
            l.append(db, argv);
        }
    }

    /// Opens a transaction: the effects logged until [`Shard::end_tx`] are
    /// bracketed by `MULTI` ... `EXEC` records, so replay applies all of
    /// them or none. A transaction that logs nothing on this shard writes no
    /// bracket at all.
    pub fn begin_tx(&mut self) {
        self.tx = 1;
    }

    /// Closes the transaction opened by [`Shard::begin_tx`] when it is known
    /// to involve this shard alone (a plain `EXEC` record). Transactions that
    /// may span shards close with [`end_tx_all`].
    pub fn end_tx(&mut self, db: usize) {
        if self.tx == 2 {
            if let Some(l) = self.log.as_mut() {
                l.append(db, &[b"EXEC"]);
            }
        }
        self.tx = 0;
    }

    /// Starts keeping logged effects aside instead of logging them: the
    /// shard's state may still be rolled back (a script that must re-run
    /// with more shards locked). [`Shard::end_capture`] hands them back.
    pub fn begin_capture(&mut self) {
        self.capture.get_or_insert_with(Vec::new);
    }

    /// Stops capturing; returns the effects captured since
    /// [`Shard::begin_capture`], in order (to log them, or to drop them
    /// when the changes are undone).
    pub fn end_capture(&mut self) -> Vec<(usize, Vec<bytes::Bytes>)> {
        self.capture.take().unwrap_or_default()
    }

    /// Number of effects captured so far.
    pub fn captured(&self) -> usize {
        self.capture.as_ref().map_or(0, Vec::len)
    }

    /// True while effects are being captured.
    pub fn capturing(&self) -> bool {
        self.capture.is_some()
    }

    /// True while a transaction is open on this shard.
    pub fn in_tx(&self) -> bool {
        self.tx != 0
    }

    /// True when the open transaction has logged something here.
    fn tx_logged(&self) -> bool {
        self.tx == 2
    }
}

/// Closes a transaction on every shard it had open. When its effects landed
/// in more than one shard's log, each closing record names the group:
/// `EXEC <txid> <parts>`, so recovery applies the group only if all `parts`
/// logs hold it complete (a crash between two logs' writes cannot leave half
/// a cross-shard write behind). A single-shard group closes with plain `EXEC`.
pub fn end_tx_all<'a>(shards: impl Iterator<Item = &'a mut Shard>, db: usize) {
    let mut open: Vec<&'a mut Shard> = shards.collect();
    let parts = open.iter().filter(|s| s.tx_logged()).count();
    if parts <= 1 {
        for s in open.iter_mut() {
            s.end_tx(db);
        }
        return;
    }
    let id = next_txid().to_string();
    let n = parts.to_string();
    for s in open.iter_mut() {
        if s.tx == 2 {
            if let Some(l) = s.log.as_mut() {
                l.append(db, &[b"EXEC", id.as_bytes(), n.as_bytes()]);
            }
        }
        s.tx = 0;
    }
}

/// A transaction id unique within this process and, being seeded from the
/// clock at start-up, across restarts that share the same data files.
fn next_txid() -> u64 {
    use std::sync::atomic::AtomicU64;
    use std::sync::OnceLock;
    static NEXT: OnceLock<AtomicU64> = OnceLock::new();
    NEXT.get_or_init(|| {
        let ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        AtomicU64::new(ms << 20)
    })
    .fetch_add(1, Ordering::Relaxed)
}

impl Shard {
    /// True when a log is installed.
    pub fn has_log(&self) -> bool {
        self.log.is_some()
    }

    /// The installed log's position (see [`ShardLog::position`]); 0 without one.
    pub fn log_position(&self) -> u64 {
        self.log.as_ref().map_or(0, |l| l.position())
    }

    /// Registers `flag` to be set when `key` in `db` is modified.
    pub fn watch(&mut self, db: usize, key: &[u8], flag: WatchFlag) {
        self.watched
            .entry((db, KStr::from_slice(key)))
            .or_default()
            .push(flag);
    }

    /// Forgets `flag` for `key` in `db`.
    pub fn unwatch(&mut self, db: usize, key: &[u8], flag: &WatchFlag) {
        let k = (db, KStr::from_slice(key));
        if let Some(v) = self.watched.get_mut(&k) {
            v.retain(|f| !Arc::ptr_eq(f, flag));
            if v.is_empty() {
                self.watched.remove(&k);
            }
        }
    }

    /// Marks every client watching `key` in `db` as dirty.
    #[inline]
    pub fn touch_watched(&mut self, db: usize, key: &[u8]) {
        if self.watched.is_empty() {
            return;
        }
        if let Some(v) = self.watched.get(&(db, KStr::from_slice(key))) {
            for f in v {
                f.store(true, Ordering::Release);
            }
        }
    }

    /// Marks every client watching any key of `db` (all dbs if `None`) as
    /// dirty, as FLUSHDB/FLUSHALL/SWAPDB do.
    pub fn touch_all_watched(&mut self, db: Option<usize>) {
        for ((d, _), v) in &self.watched {
            if db.is_none_or(|x| x == *d) {
                for f in v {
                    f.store(true, Ordering::Release);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::{ShardLog, Store};
    use bytes::Bytes;
    use parking_lot::Mutex;
    use std::sync::Arc;

    struct Rec(usize, Arc<Mutex<Vec<(usize, String)>>>);

    impl ShardLog for Rec {
        fn append(&mut self, _db: usize, argv: &[&[u8]]) {
            let line: Vec<String> = argv
                .iter()
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect();
            self.1.lock().push((self.0, line.join(" ")));
        }
    }

    fn argv(s: &str) -> Vec<Bytes> {
        s.split(' ')
            .map(|a| Bytes::copy_from_slice(a.as_bytes()))
            .collect()
    }

    #[test]
    fn cross_shard_writes_are_bracketed() {
        let store = Store::new(2, 16);
        let rec = Arc::new(Mutex::new(Vec::new()));
        for i in 0..2 {
            store.set_log(i, Some(Box::new(Rec(i, rec.clone()))));
        }
        // Find two keys on different shards.
        let a = "a";
        let b = (0..100)
            .map(|i| format!("k{i}"))
            .find(|k| store.shard_of(k.as_bytes()) != store.shard_of(b"a"))
            .unwrap_or_default();
        store.execute(0, &argv(&format!("MSET {a} 1 {b} 2")), 0);
        store.execute(0, &argv(&format!("SET {a} 3")), 0);
        let log = rec.lock().clone();
        let per = |shard: usize| -> Vec<String> {
            log.iter()
                .filter(|(s, _)| *s == shard)
                .map(|(_, l)| l.clone())
                .collect()
        };
        let (sa, sb) = (store.shard_of(a.as_bytes()), store.shard_of(b.as_bytes()));
        let la = per(sa);
        let lb = per(sb);
        assert_eq!(la[0], "MULTI");
        assert_eq!(la[1], format!("SET {a} 1"));
        assert!(
            la[2].starts_with("EXEC ") && la[2].ends_with(" 2"),
            "{la:?}"
        );
        assert_eq!(lb[0], "MULTI");
        assert_eq!(lb[2], la[2], "both parts name the same group");
        // A single-shard write is not bracketed.
        assert_eq!(la[3], format!("SET {a} 3"));
    }
}
