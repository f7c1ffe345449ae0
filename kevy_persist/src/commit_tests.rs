//! `appendfsync always` under disk faults, through the [`FaultFs`] seam: a
//! batch whose log bytes cannot be written or fsynced is undone, its
//! positions report [`Fate::Undone`], the shard refuses writes until the
//! disk takes them again (or, after a failed fsync, until a checkpoint has
//! rewritten the state from memory), and a restart recovers exactly what
//! was durable: nothing acknowledged is lost, nothing undone comes back.

use crate::*;
use bytes::Bytes;
use kevy_resp::Reply;
use kevy_store::Store;
use std::path::{Path, PathBuf};
use std::sync::Arc;

fn tmp(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("kevy-commit-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn ropts(dir: &Path, nshards: usize) -> RecoverOptions {
    RecoverOptions {
        dir: dir.to_path_buf(),
        dbfilename: "dump.kevy".into(),
        appendfilename: "appendonly.aof".into(),
        aof_load_truncated: false,
        nshards,
        ndbs: 16,
    }
}

fn argv(s: &str) -> Vec<Bytes> {
    s.split(' ')
        .map(|a| Bytes::copy_from_slice(a.as_bytes()))
        .collect()
}

struct Rig {
    dir: PathBuf,
    fs: FaultFs,
    store: Store,
    engine: Engine,
}

impl Rig {
    fn new(tag: &str, nshards: usize) -> Rig {
        let dir = tmp(tag);
        let fs = FaultFs::default();
        let r = recover(&fs, &ropts(&dir, nshards)).unwrap();
        let cfg = EngineConfig {
            dir: dir.clone(),
            dbfilename: "dump.kevy".into(),
            appendfilename: "appendonly.aof".into(),
        };
        let engine = Engine::new(Arc::new(fs.clone()), cfg, nshards, r.manifest, 0);
        engine.install(&r.store);
        engine.open_generations(&r.store).unwrap();
        engine.keep_images(&r.store, true);
        Rig {
            dir,
            fs,
            store: r.store,
            engine,
        }
    }

    /// Runs one command; returns its reply and the (shard, position) pairs
    /// it must wait for, read under the lock as the server does.
    fn run(&self, cmd: &str) -> (Reply, Vec<(usize, u64)>) {
        let a = argv(cmd);
        let (reply, _) = self.store.execute(0, &a, 1_000);
        let at = (0..self.store.nshards())
            .map(|s| (s, self.engine.shard(s).unwrap().end()))
            .collect();
        (reply, at)
    }

    /// Commits what `at` needs; the fate of each position afterwards.
    fn commit(&self, at: &[(usize, u64)]) -> Vec<Fate> {
        at.iter()
            .map(|&(s, p)| {
                let sh = self.engine.shard(s).unwrap();
                if sh.fate(p) == Fate::Pending {
                    let _ = self.engine.commit(&self.store, s);
                }
                sh.fate(p)
            })
            .collect()
    }

    fn get(&self, key: &str) -> Reply {
        self.store.execute(0, &argv(&format!("GET {key}")), 1_000).0
    }

    /// The keys a restart finds.
    fn recovered(&self) -> Vec<String> {
        let r = recover(&OsFs, &ropts(&self.dir, self.store.nshards())).unwrap();
        let mut keys: Vec<String> = r
            .store
            .snapshot()
            .iter()
            .flat_map(|v| {
                v.dbs[0]
                    .keys()
                    .map(|k| String::from_utf8_lossy(k.bytes()).into_owned())
                    .collect::<Vec<_>>()
            })
            .collect();
        keys.sort();
        keys
    }

    fn checkpoint(&self) -> Result<u64> {
        let cp = self.engine.begin(&self.store, true, true)?;
        self.engine.finish(cp)
    }
}

impl Drop for Rig {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn bulk(s: &str) -> Reply {
    Reply::Bulk(Bytes::copy_from_slice(s.as_bytes()))
}

#[test]
fn a_write_the_disk_refuses_is_undone_and_writes_resume_after() {
    let rig = Rig::new("write", 1);
    let (_, at) = rig.run("SET a 1");
    assert_eq!(rig.commit(&at), [Fate::Durable]);
    rig.fs.faults.lock().write_budget = Some(0);
    let (r, at) = rig.run("SET b 2");
    assert_eq!(r, Reply::Simple("OK".into()));
    assert_eq!(rig.commit(&at), [Fate::Undone]);
    assert_eq!(
        rig.get("b"),
        Reply::Nil,
        "the undone write is gone from memory"
    );
    assert_eq!(rig.get("a"), bulk("1"));
    assert!(rig.engine.failed());
    // Writes are refused under the lock; reads need nothing.
    let (r, at) = rig.run("SET c 3");
    assert_eq!(
        r,
        Reply::error("MISCONF Errors writing to the AOF file: Input/output error")
    );
    let (_, read_at) = rig.run("GET a");
    assert_eq!(rig.commit(&read_at), [Fate::Durable]);
    assert_eq!(rig.commit(&at), [Fate::Durable]);
    // The disk still refuses: the probe fails and the shard stays refusing.
    assert!(rig.engine.tend(&rig.store).is_empty());
    rig.fs.faults.lock().write_budget = None;
    assert_eq!(rig.engine.tend(&rig.store), [0]);
    assert!(!rig.engine.failed());
    let (_, at) = rig.run("SET c 3");
    assert_eq!(rig.commit(&at), [Fate::Durable]);
    assert_eq!(rig.recovered(), ["a", "c"]);
}

#[test]
fn a_failed_fsync_undoes_and_only_a_checkpoint_clears_it() {
    let rig = Rig::new("fsync", 1);
    let (_, at) = rig.run("SET a 1");
    rig.commit(&at);
    rig.fs.faults.lock().fail_sync = true;
    let (_, at) = rig.run("SET b 2");
    assert_eq!(rig.commit(&at), [Fate::Undone]);
    assert_eq!(rig.get("b"), Reply::Nil);
    rig.fs.faults.lock().fail_sync = false;
    // The file may have lost pages the kernel dropped: a probe on it would
    // prove nothing, so the shard waits for a checkpoint.
    assert!(rig.engine.tend(&rig.store).is_empty());
    assert!(rig.engine.needs_checkpoint());
    // A restart now (before the checkpoint) must not bring "b" back,
    // although its bytes were written to the file before the fsync failed.
    assert_eq!(rig.recovered(), ["a"]);
    rig.checkpoint().unwrap();
    assert_eq!(rig.engine.tend(&rig.store), [0]);
    let (_, at) = rig.run("SET c 3");
    assert_eq!(rig.commit(&at), [Fate::Durable]);
    assert_eq!(rig.recovered(), ["a", "c"]);
}

#[test]
fn a_cross_shard_write_is_undone_in_every_shard() {
    let rig = Rig::new("xshard", 2);
    let k0 = (0..)
        .map(|i| format!("k{i}"))
        .find(|k| rig.store.shard_of(k.as_bytes()) == 0)
        .unwrap();
    let k1 = (0..)
        .map(|i| format!("k{i}"))
        .find(|k| rig.store.shard_of(k.as_bytes()) == 1)
        .unwrap();
    let (_, at) = rig.run(&format!("SET {k0} old"));
    rig.commit(&at);
    // Only shard 1's file fails: shard 0's part is written and fsynced,
    // but the group is not durable, so both parts are undone.
    let shard1_log = rig.engine.manifest().shards[1].aofs.last().cloned();
    rig.fs.faults.lock().only = shard1_log;
    rig.fs.faults.lock().write_budget = Some(0);
    let (_, at) = rig.run(&format!("MSET {k0} new {k1} new"));
    assert_eq!(rig.commit(&at), [Fate::Undone, Fate::Undone]);
    assert_eq!(rig.get(&k0), bulk("old"));
    assert_eq!(rig.get(&k1), Reply::Nil);
    // Shard 0's fsynced part was cut off its file again.
    assert!(!rig.engine.shard(0).unwrap().needs_checkpoint());
    assert_eq!(rig.recovered(), std::slice::from_ref(&k0));
    rig.fs.faults.lock().write_budget = None;
    rig.checkpoint().unwrap();
    assert_eq!(rig.engine.tend(&rig.store), [0, 1]);
    let got = recover(&OsFs, &ropts(&rig.dir, 2)).unwrap();
    let (r, _) = got.store.execute(0, &argv(&format!("GET {k0}")), 1_000);
    assert_eq!(r, bulk("old"));
}

#[test]
fn a_checkpoint_that_froze_undone_writes_is_abandoned_and_cleaned_up() {
    let rig = Rig::new("cp", 1);
    let (_, at) = rig.run("SET a 1");
    rig.commit(&at);
    let (_, at) = rig.run("SET b 2");
    // The checkpoint freezes "b" before it is durable ...
    let cp = rig.engine.begin(&rig.store, true, true).unwrap();
    rig.fs.faults.lock().write_budget = Some(0);
    // ... then its commit fails and "b" is undone.
    assert_eq!(rig.commit(&at), [Fate::Undone]);
    rig.fs.faults.lock().write_budget = None;
    assert!(matches!(
        rig.engine.finish(cp),
        Err(PersistError::Aborted(_))
    ));
    let left: Vec<String> = std::fs::read_dir(&rig.dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("dump.kevy"))
        .collect();
    assert!(left.is_empty(), "snapshot files left behind: {left:?}");
    assert_eq!(rig.recovered(), ["a"]);
}

#[test]
fn a_snapshot_that_hits_a_full_disk_leaves_nothing_behind() {
    let rig = Rig::new("snapfull", 2);
    for i in 0..200 {
        let (_, at) = rig.run(&format!("SET key{i} {i}"));
        rig.commit(&at);
    }
    rig.fs.faults.lock().only = Some("dump.kevy".into());
    rig.fs.faults.lock().write_budget = Some(100);
    assert!(rig.checkpoint().is_err());
    let left: Vec<String> = std::fs::read_dir(&rig.dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("dump.kevy"))
        .collect();
    assert!(left.is_empty(), "snapshot files left behind: {left:?}");
    rig.fs.faults.lock().write_budget = None;
    rig.checkpoint().unwrap();
    assert_eq!(rig.recovered().len(), 200);
}

#[test]
fn leftovers_of_a_crash_are_collected_and_the_rest_is_kept() {
    let rig = Rig::new("garbage", 2);
    let (_, at) = rig.run("SET a 1");
    rig.commit(&at);
    for junk in [
        "dump.kevy.99.0.tmp",
        "appendonly.aof.98.1",
        "kevy.manifest.tmp",
    ] {
        std::fs::write(rig.dir.join(junk), b"junk").unwrap();
    }
    for keep in ["appendonly.aof.5.0.quarantine-1", "notes.txt", "dump.kevy"] {
        std::fs::write(rig.dir.join(keep), b"keep").unwrap();
    }
    let gone = rig.engine.collect_garbage();
    assert_eq!(
        gone,
        [
            "appendonly.aof.98.1",
            "dump.kevy.99.0.tmp",
            "kevy.manifest.tmp"
        ]
    );
    for keep in ["appendonly.aof.5.0.quarantine-1", "notes.txt", "dump.kevy"] {
        assert!(rig.dir.join(keep).exists(), "{keep} was removed");
    }
    assert_eq!(rig.recovered(), ["a"]);
}

/// Every key of every db with its value and expiry, rendered.
fn dump(store: &Store) -> Vec<String> {
    let mut v = Vec::new();
    for (s, view) in store.snapshot().iter().enumerate() {
        for (db, map) in view.dbs.iter().enumerate() {
            for (k, e) in map.iter() {
                v.push(format!(
                    "{s}/{db}/{:?} {:?} {:?}",
                    k.bytes(),
                    e.value,
                    e.expire_at()
                ));
            }
        }
    }
    v.sort();
    v
}

#[test]
fn an_undo_rebuilds_exactly_the_durable_state() {
    let rig = Rig::new("rebuild", 2);
    // Many commits on top of one base image: the undo restores the image
    // and replays the durable bytes after it (selects, brackets, every type).
    let cmds = [
        "SET a 1",
        "RPUSH l x y z",
        "HSET h f v g w",
        "SADD s m n",
        "ZADD z 1 one 2 two",
        "SET e v PX 100000",
        "MSET a 2 b 3 c 4",
        "LPOP l",
        "INCR a",
        "XADD x 1-1 f v",
        "SWAPDB 0 1",
        "SET after-swap 1",
    ];
    for c in cmds {
        let (r, at) = rig.run(c);
        assert!(!matches!(r, Reply::Error(_)), "{c}: {r:?}");
        assert!(rig.commit(&at).iter().all(|f| *f == Fate::Durable), "{c}");
    }
    let durable = dump(&rig.store);
    rig.fs.faults.lock().write_budget = Some(0);
    let (_, at) = rig.run("MSET a 9 b 9 c 9 new 1");
    assert!(rig.commit(&at).contains(&Fate::Undone));
    assert_eq!(dump(&rig.store), durable, "memory after the undo");
    rig.fs.faults.lock().write_budget = None;
    let got = recover(&OsFs, &ropts(&rig.dir, 2)).unwrap();
    assert_eq!(dump(&got.store), durable, "the files after the undo");
}
