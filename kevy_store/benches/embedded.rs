//! Embedded store throughput: `Kevy::set` and `Kevy::get` (the typed API,
//! argument copies included) on one thread and on two threads sharing one
//! store, 100 000 distinct keys, 16-byte values, 4 shards. Criterion reports
//! operations per second (`elem/s`); with two threads it counts both.
//!
//! `cargo bench -p kevy_store --bench embedded -- --warm-up-time 1 --measurement-time 3`

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use kevy_store::Kevy;
use std::hint::black_box;
use std::sync::Barrier;
use std::time::{Duration, Instant};

const KEYS: usize = 100_000;
const SHARDS: usize = 4;

fn keys() -> Vec<Vec<u8>> {
    (0..KEYS)
        .map(|i| format!("key:{i:08}").into_bytes())
        .collect()
}

/// Runs `op(thread, i)` `iters` times on each of `threads` threads at once
/// and returns the wall time of the slowest.
fn parallel(threads: usize, iters: u64, op: &(dyn Fn(usize, u64) + Sync)) -> Duration {
    let barrier = Barrier::new(threads);
    std::thread::scope(|s| {
        let hs: Vec<_> = (0..threads)
            .map(|t| {
                let barrier = &barrier;
                s.spawn(move || {
                    barrier.wait();
                    let start = Instant::now();
                    for i in 0..iters {
                        op(t, i);
                    }
                    start.elapsed()
                })
            })
            .collect();
        hs.into_iter()
            .map(|h| h.join().unwrap_or_default())
            .max()
            .unwrap_or_default()
    })
}

fn bench(c: &mut Criterion) {
    let keys = keys();
    let value = [b'v'; 16];
    let kv = Kevy::new(SHARDS, 16);
    for k in &keys {
        kv.set(k, value).unwrap();
    }
    let mut g = c.benchmark_group("embedded");
    for threads in [1usize, 2] {
        g.throughput(Throughput::Elements(threads as u64));
        g.bench_function(format!("set/{threads}-thread"), |b| {
            b.iter_custom(|iters| {
                parallel(threads, iters, &|t, i| {
                    let k = &keys[(i as usize * 7919 + t * 50_021) % KEYS];
                    black_box(kv.set(k, value)).unwrap();
                })
            })
        });
        g.bench_function(format!("get/{threads}-thread"), |b| {
            b.iter_custom(|iters| {
                parallel(threads, iters, &|t, i| {
                    let k = &keys[(i as usize * 7919 + t * 50_021) % KEYS];
                    black_box(kv.get(k).unwrap());
                })
            })
        });
    }
    // Baseline: the same SET/GET as pre-built argv through `Store::execute`
    // (no argument copies, fixed clock): the cost of the typed layer is the
    // difference.
    g.throughput(Throughput::Elements(1));
    let store = kv.store().clone();
    let set_argv: Vec<Vec<bytes::Bytes>> = keys
        .iter()
        .take(1024)
        .map(|k| {
            vec![
                "SET".into(),
                bytes::Bytes::copy_from_slice(k),
                bytes::Bytes::copy_from_slice(&value),
            ]
        })
        .collect();
    let get_argv: Vec<Vec<bytes::Bytes>> = keys
        .iter()
        .take(1024)
        .map(|k| vec!["GET".into(), bytes::Bytes::copy_from_slice(k)])
        .collect();
    let mut i = 0usize;
    g.bench_function("baseline-store-execute-set/1-thread", |b| {
        b.iter(|| {
            i = (i + 1) & 1023;
            black_box(store.execute(0, &set_argv[i], 1));
        })
    });
    g.bench_function("baseline-store-execute-get/1-thread", |b| {
        b.iter(|| {
            i = (i + 1) & 1023;
            black_box(store.execute(0, &get_argv[i], 1));
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
