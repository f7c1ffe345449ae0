//! Micro benchmarks for persistence: appending SET effects to a shard's AOF
//! and writing them out (to a sink, so the disk is not what is timed), a
//! group commit of 16 writes with a real fsync, and serializing a 100k-key
//! snapshot view.

use bytes::Bytes;
use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use kevy_persist::{write_snapshot, AofShard, FileSync, Fs, GenFile, OsFs, WFile};
use kevy_store::Store;
use std::io;
use std::path::{Path, PathBuf};

/// A file that only counts what it is given.
struct Sink(u64);

impl WFile for Sink {
    fn write_all(&mut self, parts: &[&[u8]]) -> io::Result<()> {
        self.0 += parts.iter().map(|p| p.len() as u64).sum::<u64>();
        Ok(())
    }
    fn sync(&mut self) -> io::Result<()> {
        Ok(())
    }
    fn truncate(&mut self, len: u64) -> io::Result<()> {
        self.0 = len;
        Ok(())
    }
    fn syncer(&self) -> io::Result<std::sync::Arc<dyn FileSync>> {
        Ok(std::sync::Arc::new(NoSync))
    }
}

/// The sink's fsync: nothing to make durable.
struct NoSync;

impl FileSync for NoSync {
    fn sync(&self) -> io::Result<()> {
        Ok(())
    }
}

fn keys() -> Vec<Vec<u8>> {
    (0..1000)
        .map(|i| format!("key:{i:012}").into_bytes())
        .collect()
}

fn aof(c: &mut Criterion) {
    let keys = keys();
    let mut group = c.benchmark_group("aof");
    group.throughput(Throughput::Elements(1000));
    group.bench_function("append_1000_set_and_write", |b| {
        let log = AofShard::new();
        log.rotate(Some(GenFile {
            file: Box::new(Sink(0)),
            path: PathBuf::from("sink"),
        }));
        b.iter(|| {
            for k in &keys {
                log.append(0, &[b"SET", k, b"xxx"]);
            }
            log.sync_to(log.end(), false).expect("sink never fails");
        })
    });
    group.finish();

    let dir = std::env::temp_dir().join(format!("kevy-persist-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("bench.aof");
    let mut group = c.benchmark_group("aof");
    group.sample_size(20);
    group.throughput(Throughput::Elements(16));
    group.bench_function("group_commit_16_set_fsync", |b| {
        let log = AofShard::new();
        let file = OsFs.create(&path).expect("create bench file");
        log.rotate(Some(GenFile {
            file,
            path: path.clone(),
        }));
        b.iter(|| {
            for k in &keys[..16] {
                log.append(0, &[b"SET", k, b"xxx"]);
            }
            log.sync_to(log.end(), true).expect("fsync");
        })
    });
    group.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

fn snapshot(c: &mut Criterion) {
    let store = Store::new(1, 16);
    for i in 0..100_000 {
        let argv = [
            Bytes::from_static(b"SET"),
            Bytes::from(format!("key:{i:012}")),
            Bytes::from(vec![b'v'; 32]),
        ];
        store.execute(0, &argv, 0);
    }
    let view = store.snapshot().remove(0);
    let mut group = c.benchmark_group("snapshot");
    group.sample_size(10);
    group.throughput(Throughput::Elements(100_000));
    group.bench_function("write_100k_keys", |b| {
        b.iter(|| {
            let mut sink = Sink(0);
            let n = write_snapshot(&mut sink, Path::new("sink"), &view, 0, 1, 0).expect("sink");
            black_box(n);
        })
    });
    group.finish();
}

criterion_group!(benches, aof, snapshot);
criterion_main!(benches);
