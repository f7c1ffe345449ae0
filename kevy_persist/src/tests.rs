//! Recovery scenarios across modules: a real engine writes the files, the
//! tests damage them (every truncation point, flipped bytes, zero-filled
//! tails, foreign bytes, a bare Redis AOF, truncated snapshots) and check
//! the documented outcome of `recover`.

use crate::*;
use bytes::Bytes;
use kevy_store::Store;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

fn tmp(tag: &str) -> PathBuf {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    let d = std::env::temp_dir().join(format!(
        "kevy-persist-{tag}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn opts(dir: &Path, nshards: usize, truncated_ok: bool) -> RecoverOptions {
    RecoverOptions {
        dir: dir.to_path_buf(),
        dbfilename: "dump.kevy".into(),
        appendfilename: "appendonly.aof".into(),
        aof_load_truncated: truncated_ok,
        nshards,
        ndbs: 16,
    }
}

fn ecfg(dir: &Path) -> EngineConfig {
    EngineConfig {
        dir: dir.to_path_buf(),
        dbfilename: "dump.kevy".into(),
        appendfilename: "appendonly.aof".into(),
    }
}

fn argv(s: &str) -> Vec<Bytes> {
    s.split(' ')
        .map(|a| Bytes::copy_from_slice(a.as_bytes()))
        .collect()
}

/// Every (db, key) with its value and expiry, rendered.
fn dump(store: &Store) -> BTreeMap<(usize, Vec<u8>), String> {
    let mut m = BTreeMap::new();
    for v in store.snapshot() {
        for (db, map) in v.dbs.iter().enumerate() {
            for (k, e) in map.iter() {
                m.insert(
                    (db, k.bytes().to_vec()),
                    format!("{:?} {:?}", e.value, e.expire_at()),
                );
            }
        }
    }
    m
}

/// Starts an engine on an empty dir with AOF on, runs `cmds` (one batch
/// each, synced), and returns the live state.
fn write_aof(dir: &Path, nshards: usize, cmds: &[&str]) -> BTreeMap<(usize, Vec<u8>), String> {
    let r = recover(&OsFs, &opts(dir, nshards, true)).unwrap();
    let e = Engine::new(Arc::new(OsFs), ecfg(dir), nshards, r.manifest, 0);
    e.install(&r.store);
    e.open_generations(&r.store).unwrap();
    let mut db = 0;
    for c in cmds {
        if let Some(n) = c.strip_prefix("SELECT ") {
            db = n.parse().unwrap();
            continue;
        }
        let (reply, _) = r.store.execute(db, &argv(c), 1_000);
        assert!(!reply.is_error(), "{c}: {reply:?}");
        e.sync_all(true).unwrap();
    }
    dump(&r.store)
}

fn aof_files(dir: &Path) -> Vec<PathBuf> {
    let m = Manifest::load(&OsFs, dir).unwrap().unwrap();
    m.shards
        .iter()
        .flat_map(|s| s.aofs.iter().map(|a| dir.join(a)))
        .collect()
}

const CMDS: &[&str] = &[
    "SET a 1",
    "SET b 2",
    "INCR a",
    "SELECT 3",
    "SET c x",
    "PEXPIREAT c 99999999999999",
    "SELECT 0",
    "DEL b",
    "APPEND a zz",
];

#[test]
fn restart_recovers_and_layout_may_change() {
    let dir = tmp("layout");
    let want = write_aof(
        &dir,
        2,
        &[
            "SET x 1",
            "FLUSHALL",
            "SET a 1",
            "SET b 2",
            "SET c 3",
            "RENAME a d",
            "SELECT 2",
            "SET e 5",
        ],
    );
    for n in [1, 2, 3, 5] {
        let r = recover(&OsFs, &opts(&dir, n, true)).unwrap();
        assert_eq!(dump(&r.store), want, "{n} shards");
        assert_eq!(r.report.needs_rebase, n != 2);
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn every_truncation_point_loads_a_prefix() {
    let dir = tmp("trunc");
    let full = write_aof(&dir, 1, CMDS);
    let file = aof_files(&dir).pop().unwrap();
    let bytes = std::fs::read(&file).unwrap();
    let mut last = 0;
    for cut in 0..=bytes.len() {
        std::fs::write(&file, &bytes[..cut]).unwrap();
        let r = recover(&OsFs, &opts(&dir, 1, true)).unwrap();
        let n = r.report.commands;
        assert!(n >= last, "cut {cut}: fewer commands than a shorter cut");
        last = n;
        let on_disk = std::fs::metadata(&file).unwrap().len();
        assert_eq!(r.report.quarantined, cut as u64 - on_disk, "cut {cut}");
        // Refused without aof-load-truncated, unless it was a clean cut.
        std::fs::write(&file, &bytes[..cut]).unwrap();
        match recover(&OsFs, &opts(&dir, 1, false)) {
            Ok(r) => assert_eq!(r.report.quarantined, 0),
            Err(PersistError::Truncated { offset, .. }) => assert!(offset <= cut as u64),
            Err(e) => panic!("cut {cut}: {e}"),
        }
    }
    let r = recover(&OsFs, &opts(&dir, 1, true)).unwrap();
    assert_eq!(dump(&r.store), full);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn flipped_bytes_are_refused_or_quarantined() {
    let dir = tmp("flip");
    let full = write_aof(&dir, 1, CMDS);
    let file = aof_files(&dir).pop().unwrap();
    let bytes = std::fs::read(&file).unwrap();
    for at in 0..bytes.len() {
        let mut b = bytes.clone();
        b[at] ^= 0x04;
        std::fs::write(&file, &b).unwrap();
        match recover(&OsFs, &opts(&dir, 1, true)) {
            // A flip in the very last checksum frame reads as a torn final
            // write: cut and reported, never silently different.
            Ok(r) => assert!(
                r.report.quarantined > 0 || dump(&r.store) == full,
                "flip at {at} loaded silently"
            ),
            Err(PersistError::Corrupt { path, .. }) => assert_eq!(path, file),
            Err(e) => panic!("flip at {at}: {e}"),
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn zero_filled_tail_is_cut() {
    let dir = tmp("zero");
    let full = write_aof(&dir, 1, CMDS);
    let file = aof_files(&dir).pop().unwrap();
    let mut bytes = std::fs::read(&file).unwrap();
    let len = bytes.len() as u64;
    bytes.extend_from_slice(&[0u8; 4096]);
    std::fs::write(&file, &bytes).unwrap();
    let r = recover(&OsFs, &opts(&dir, 1, true)).unwrap();
    assert_eq!(r.report.quarantined, 4096);
    assert_eq!(dump(&r.store), full);
    assert_eq!(std::fs::metadata(&file).unwrap().len(), len);
    assert!(
        r.report.log[0].contains(&format!("offset {len}")),
        "{:?}",
        r.report.log
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn foreign_bytes_are_refused() {
    let dir = tmp("foreign");
    write_aof(&dir, 1, CMDS);
    let file = aof_files(&dir).pop().unwrap();
    std::fs::write(&file, b"PK\x03\x04 this is a zip file").unwrap();
    match recover(&OsFs, &opts(&dir, 1, true)) {
        Err(PersistError::Corrupt {
            offset: 0, path, ..
        }) => assert_eq!(path, file),
        Err(e) => panic!("{e}"),
        Ok(_) => panic!("foreign bytes loaded"),
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn redis_aof_without_magic_replays() {
    let dir = tmp("redis");
    let mut f = Vec::new();
    for c in [
        "SELECT 0", "SET a 1", "MULTI", "INCR a", "EXEC", "SELECT 5", "SET b 2",
    ] {
        let parts: Vec<&[u8]> = c.split(' ').map(|s| s.as_bytes()).collect();
        encode(&parts, &mut f);
    }
    std::fs::write(dir.join("appendonly.aof"), &f).unwrap();
    let r = recover(&OsFs, &opts(&dir, 2, true)).unwrap();
    assert!(r.report.needs_rebase);
    let d = dump(&r.store);
    assert_eq!(d.len(), 2);
    assert!(
        d[&(0, b"a".to_vec())].contains("\"2\"") || d[&(0, b"a".to_vec())].contains("50"),
        "{d:?}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn checkpoint_with_writes_meanwhile_then_truncated_snapshot() {
    let dir = tmp("snap");
    let r = recover(&OsFs, &opts(&dir, 2, true)).unwrap();
    let e = Engine::new(Arc::new(OsFs), ecfg(&dir), 2, r.manifest, 0);
    e.install(&r.store);
    e.open_generations(&r.store).unwrap();
    for i in 0..200 {
        r.store.execute(0, &argv(&format!("SET k{i} v{i}")), 1_000);
    }
    e.sync_all(true).unwrap();
    let cp = e.begin(&r.store, true, true).unwrap();
    assert!(matches!(
        e.begin(&r.store, true, true),
        Err(PersistError::Busy)
    ));
    // Writes while the snapshot is being written go to the new generation.
    for i in 0..50 {
        r.store
            .execute(0, &argv(&format!("SET k{i} new{i}")), 1_000);
    }
    r.store.execute(0, &argv("DEL k199"), 1_000);
    e.sync_all(true).unwrap();
    e.finish(cp).unwrap();
    let want = dump(&r.store);
    let got = recover(&OsFs, &opts(&dir, 2, true)).unwrap();
    assert_eq!(dump(&got.store), want);
    assert_eq!(got.report.entries, 200);
    // Only the files the manifest names remain.
    let m = Manifest::load(&OsFs, &dir).unwrap().unwrap();
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|d| d.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.retain(|n| n != MANIFEST_NAME);
    names.sort();
    let mut want_names = m.files();
    want_names.sort();
    assert_eq!(names, want_names);
    // Any truncation or flipped byte of a snapshot is refused, naming the file.
    let snap = dir.join(&m.shards[0].snapshot.as_ref().unwrap().0);
    let bytes = std::fs::read(&snap).unwrap();
    for cut in (0..bytes.len()).step_by(7) {
        std::fs::write(&snap, &bytes[..cut]).unwrap();
        match recover(&OsFs, &opts(&dir, 2, true)) {
            Err(PersistError::Corrupt { path, .. }) => assert_eq!(path, snap),
            Err(e) => panic!("cut {cut}: {e}"),
            Ok(_) => panic!("truncated snapshot at {cut} loaded"),
        }
    }
    for at in (0..bytes.len()).step_by(5) {
        let mut b = bytes.clone();
        b[at] ^= 1;
        std::fs::write(&snap, &b).unwrap();
        assert!(
            matches!(
                recover(&OsFs, &opts(&dir, 2, true)),
                Err(PersistError::Corrupt { .. })
            ),
            "flip at {at}"
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn torn_write_from_the_io_seam() {
    let dir = tmp("fault");
    let fs = FaultFs::default();
    let r = recover(&fs, &opts(&dir, 1, true)).unwrap();
    let e = Engine::new(Arc::new(fs.clone()), ecfg(&dir), 1, r.manifest, 0);
    e.install(&r.store);
    e.open_generations(&r.store).unwrap();
    r.store.execute(0, &argv("SET a 1"), 1_000);
    e.sync_all(true).unwrap();
    fs.faults.lock().write_budget = Some(10);
    r.store.execute(0, &argv("SET b 2"), 1_000);
    assert!(e.sync_all(true).is_err());
    assert!(e.failed());
    // The failed write was cut back: the file still ends cleanly.
    let got = recover(&OsFs, &opts(&dir, 1, false)).unwrap();
    assert_eq!(dump(&got.store).len(), 1);
    // The bytes stayed buffered: once the disk works again a retry writes
    // them, in order, and the shard is healthy again.
    r.store.execute(0, &argv("SET c 3"), 1_000);
    assert!(e.sync_all(true).is_err(), "the budget is spent");
    fs.faults.lock().write_budget = None;
    e.sync_all(true).unwrap();
    assert!(!e.failed());
    let got = recover(&OsFs, &opts(&dir, 1, false)).unwrap();
    assert_eq!(dump(&got.store).len(), 3);
    // An fsync error cannot be retried safely: the shard stays failed (and
    // nothing more counts as synced) until a checkpoint covers it.
    fs.faults.lock().fail_sync = true;
    r.store.execute(0, &argv("SET d 4"), 1_000);
    assert!(matches!(
        e.sync_all(true),
        Err(PersistError::Io { op: "fsync", .. })
    ));
    fs.faults.lock().fail_sync = false;
    assert!(e.sync_all(true).is_err());
    assert!(e.failed());
    let f = e.last_failure().unwrap();
    assert_eq!((f.op, f.reason.as_str()), ("fsync", "Input/output error"));
    let cp = e.begin(&r.store, true, true).unwrap();
    e.finish(cp).unwrap();
    assert!(!e.failed());
    r.store.execute(0, &argv("SET e 5"), 1_000);
    e.sync_all(true).unwrap();
    let got = recover(&OsFs, &opts(&dir, 1, false)).unwrap();
    assert_eq!(dump(&got.store).len(), 5);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn failed_write_before_a_rotation_is_retried_into_the_right_generation() {
    let dir = tmp("fault-rotate");
    let fs = FaultFs::default();
    let r = recover(&fs, &opts(&dir, 1, true)).unwrap();
    let e = Engine::new(Arc::new(fs.clone()), ecfg(&dir), 1, r.manifest, 0);
    e.install(&r.store);
    e.open_generations(&r.store).unwrap();
    r.store.execute(0, &argv("SET a 1"), 1_000);
    // A checkpoint freezes (rotating the log) while "SET a 1" is still
    // buffered; writing it fails, and so does the snapshot.
    let cp = e.begin(&r.store, true, true).unwrap();
    fs.faults.lock().write_budget = Some(0);
    r.store.execute(0, &argv("SET b 2"), 1_000);
    assert!(e.sync_all(false).is_err());
    assert!(e.finish(cp).is_err());
    assert!(e.failed());
    fs.faults.lock().write_budget = None;
    e.sync_all(true).unwrap();
    assert!(!e.failed());
    // Recovery from the old generation + the new one sees both writes.
    let got = recover(&OsFs, &opts(&dir, 1, false)).unwrap();
    assert_eq!(dump(&got.store).len(), 2);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn check_aof_reports_and_fixes() {
    let dir = tmp("check");
    write_aof(&dir, 1, CMDS);
    let file = aof_files(&dir).pop().unwrap();
    let bytes = std::fs::read(&file).unwrap();
    assert_eq!(
        check_aof(&OsFs, &file, false).unwrap().scan.tail,
        Tail::Clean
    );
    let mut b = bytes.clone();
    b.extend_from_slice(b"*3\r\n$3\r\nSET");
    std::fs::write(&file, &b).unwrap();
    let r = check_aof(&OsFs, &file, false).unwrap();
    assert!(matches!(r.scan.tail, Tail::Torn { .. }) && !r.fixed);
    let r = check_aof(&OsFs, &file, true).unwrap();
    assert!(r.fixed);
    assert_eq!(std::fs::read(&file).unwrap(), bytes);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A stream goes into a snapshot whole: its nodes (deleted entries and node
/// boundaries included), counters, groups, pending entries with delivery
/// times and counts, consumers with their seen-times; it loads back equal in
/// every detail, also into another shard count.
#[test]
fn streams_survive_a_snapshot_exactly() {
    let dir = tmp("stream-snap");
    let r = recover(&OsFs, &opts(&dir, 2, true)).unwrap();
    let e = Engine::new(Arc::new(OsFs), ecfg(&dir), 2, r.manifest, 0);
    e.install(&r.store);
    e.open_generations(&r.store).unwrap();
    let mut now = 1_700_000_000_000;
    let mut run = |cmd: &str| {
        now += 7;
        let (reply, _) = r.store.execute(0, &argv(cmd), now);
        assert!(
            !matches!(reply, kevy_resp::Reply::Error(_)),
            "{cmd}: {reply:?}"
        );
    };
    for i in 0..250 {
        run(&format!("XADD s * f{} v{i}", i % 2));
    }
    run("XDEL s 1700000000007-0 1700000000700-0");
    run("XGROUP CREATE s g 0");
    run("XGROUP CREATE s h $");
    run("XREADGROUP GROUP g alice COUNT 3 STREAMS s >");
    run("XREADGROUP GROUP g bob COUNT 2 STREAMS s >");
    run("XCLAIM s g carol 0 1700000000014-0");
    run("XGROUP CREATECONSUMER s h idle");
    run("XSETID s 1800000000000-5 ENTRIESADDED 999 MAXDELETEDID 1700000000700-0");
    run("XGROUP CREATE empty g $ MKSTREAM");
    run("PEXPIREAT empty 99999999999999");
    e.sync_all(true).unwrap();
    let cp = e.begin(&r.store, true, true).unwrap();
    e.finish(cp).unwrap();
    let want = dump(&r.store);
    for n in [2, 3] {
        let got = recover(&OsFs, &opts(&dir, n, true)).unwrap();
        assert_eq!(dump(&got.store), want, "{n} shards");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A version 1 snapshot (before streams) still loads.
#[test]
fn version_1_snapshots_load() {
    let store = Store::new(1, 16);
    store.execute(0, &argv("RPUSH l a b"), 1_000);
    let dir = tmp("snap-v1");
    let path = dir.join("v1");
    let mut f = OsFs.create(&path).unwrap();
    let view = &store.snapshot()[0];
    write_snapshot(&mut *f, &path, view, 0, 1, 1_000).unwrap();
    drop(f);
    let mut bytes = std::fs::read(&path).unwrap();
    // Rewrite the header as version 1 (same layout, no stream entries).
    bytes[8..12].copy_from_slice(&1u32.to_le_bytes());
    let crc = crc32c::crc32c(&bytes[..snapshot::HEADER_LEN - 4]);
    bytes[snapshot::HEADER_LEN - 4..snapshot::HEADER_LEN].copy_from_slice(&crc.to_le_bytes());
    let mut seen = 0;
    read_snapshot(&path, &bytes, |_, _, _, _| {
        seen += 1;
        Ok(())
    })
    .unwrap();
    assert_eq!(seen, 1);
    bytes[8..12].copy_from_slice(&3u32.to_le_bytes());
    let crc = crc32c::crc32c(&bytes[..snapshot::HEADER_LEN - 4]);
    bytes[snapshot::HEADER_LEN - 4..snapshot::HEADER_LEN].copy_from_slice(&crc.to_le_bytes());
    assert!(read_snapshot(&path, &bytes, |_, _, _, _| Ok(())).is_err());
    std::fs::remove_dir_all(&dir).unwrap();
}
