//! The fuzz targets' bodies (`fuzz/src/lib.rs`, included here by path) on
//! every committed corpus input and on seed files written by kevy's own
//! writers, on stable and without libFuzzer. With
//! `KEVY_FUZZ_SEEDS_DIR=kevy_persist/fuzz/corpus` the seeds are (re)written
//! as `<target>/seed-<name>`.

use bytes::Bytes;
use kevy_persist::{encode, recover, write_snapshot, Engine, EngineConfig, Fs};
use std::path::Path;
use std::sync::Arc;

#[path = "../fuzz/src/lib.rs"]
mod fuzz_input;

use fuzz_input::{MemFs, AOF, DIR, SNAPSHOT};

const NOW: u64 = 1_700_000_000_000;

fn argv(s: &str) -> Vec<Bytes> {
    s.split(' ')
        .map(|a| Bytes::copy_from_slice(a.as_bytes()))
        .collect()
}

/// Commands that give every value type (a stream with a group, pending
/// entries and a deleted entry too), expiries, two databases and
/// cross-shard moves (logged as bracketed DEL + restore).
const WRITES: &[(usize, &str)] = &[
    (0, "SET s1 hello PX 100000"),
    (0, "INCRBY n1 42"),
    (0, "RPUSH l1 a b c"),
    (0, "HSET h1 f1 v1 f2 v2"),
    (0, "SADD set1 1 2 three"),
    (0, "ZADD z1 1 a 2.5 b"),
    (0, "EXPIRE h1 1000"),
    (1, "SET other db1"),
    (0, "RENAME l1 l2"),
    (0, "SMOVE set1 set2 three"),
    (0, "LPOP l2"),
    (0, "DEL n1"),
    (0, "XADD x1 1-1 f v g w"),
    (0, "XADD x1 1-2 f v2 g w2"),
    (0, "XADD x1 2-0 other 1"),
    (0, "XGROUP CREATE x1 grp 0"),
    (0, "XREADGROUP GROUP grp alice COUNT 2 STREAMS x1 >"),
    (0, "XDEL x1 1-2"),
    (0, "XGROUP CREATE x2 grp $ MKSTREAM"),
];

/// A store holding [`WRITES`], with its AOFs (one per shard) and snapshots.
fn written() -> (Vec<Vec<u8>>, Vec<Vec<u8>>) {
    let fs = MemFs::default();
    let r = recover(&fs, &fuzz_input::options(2, true)).expect("an empty directory");
    let cfg = EngineConfig {
        dir: DIR.into(),
        dbfilename: SNAPSHOT.into(),
        appendfilename: AOF.into(),
    };
    let engine = Engine::new(Arc::new(fs.clone()), cfg, 2, r.manifest, 0);
    engine.install(&r.store);
    engine.open_generations(&r.store).expect("open the AOFs");
    // One write group (checksum frame) per command.
    for (db, cmd) in WRITES {
        r.store.execute(*db, &argv(cmd), NOW);
        engine.sync_all(true).expect("sync");
    }
    let aofs = fs
        .paths()
        .iter()
        .filter(|p| p.to_string_lossy().contains(".aof"))
        .filter_map(|p| fs.get(p))
        .collect();
    let snaps = r
        .store
        .snapshot()
        .iter()
        .enumerate()
        .map(|(i, view)| {
            let path = Path::new(DIR).join(format!("snap.{i}"));
            let mut f = fs.create(&path).expect("create");
            write_snapshot(&mut *f, &path, view, i as u32, 2, NOW).expect("write");
            fs.get(&path).expect("written")
        })
        .collect();
    (aofs, snaps)
}

/// A bare Redis-style AOF (no magic, no checksums).
fn redis_aof() -> Vec<u8> {
    let mut out = Vec::new();
    for cmd in [
        "SELECT 0",
        "SET a 1",
        "RPUSH l x y",
        "PEXPIREAT a 1700000100000",
        "MULTI",
        "INCR a",
        "HSET h f v",
        "EXEC",
        "SELECT 2",
        "ZADD z 1 m",
        "FLUSHDB",
        "SADD s m",
    ] {
        let args: Vec<&[u8]> = cmd.split(' ').map(str::as_bytes).collect();
        encode(&args, &mut out);
    }
    out
}

fn seeds() -> Vec<(&'static str, String, Vec<u8>)> {
    let (aofs, snaps) = written();
    let mut out = Vec::new();
    for (i, a) in aofs.into_iter().enumerate() {
        // Cut inside the last write group: a torn tail.
        out.push((
            "aof_replay",
            format!("kevy-torn-{i}"),
            a[..a.len() - 7].to_vec(),
        ));
        out.push(("aof_replay", format!("kevy-{i}"), a));
    }
    let r = redis_aof();
    out.push(("aof_replay", "redis-torn".into(), r[..r.len() - 3].to_vec()));
    out.push(("aof_replay", "redis".into(), r));
    for (i, s) in snaps.into_iter().enumerate() {
        out.push(("snapshot_load", format!("shard-{i}"), s));
    }
    out
}

fn run(target: &str, data: &[u8]) {
    match target {
        "aof_replay" => fuzz_input::aof_replay(data),
        "snapshot_load" => fuzz_input::snapshot_load(data),
        other => panic!("no target {other}"),
    }
}

#[test]
fn fuzz_seeds() {
    let dir = std::env::var_os("KEVY_FUZZ_SEEDS_DIR");
    for (target, name, data) in seeds() {
        // The targets' checksum fixing leaves files kevy wrote as they are.
        let fixed = match target {
            "aof_replay" => fuzz_input::fix_aof_checksums(&data),
            _ => fuzz_input::fix_snapshot_checksums(&data),
        };
        assert!(fixed == data, "fixing the checksums of {name} changed it");
        run(target, &data);
        if let Some(dir) = &dir {
            let path = Path::new(dir).join(target).join(format!("seed-{name}"));
            std::fs::write(path, &data).expect("write a seed");
        }
    }
}

/// Every committed corpus input (seeds, inputs that once failed, and the
/// minimised corpus libFuzzer grew) passes its target's checks.
#[test]
fn fuzz_corpus_replays() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
    for target in ["aof_replay", "snapshot_load"] {
        let dir = root.join(target);
        let mut n = 0;
        for entry in std::fs::read_dir(&dir).expect("the corpus directory") {
            let path = entry.expect("a corpus entry").path();
            let data = std::fs::read(&path).expect("a corpus file");
            let res = std::panic::catch_unwind(|| run(target, &data));
            assert!(res.is_ok(), "{} fails", path.display());
            n += 1;
        }
        assert!(n > 0, "no corpus in {}", dir.display());
    }
}
