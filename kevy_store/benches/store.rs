//! Micro benchmarks for the store's embedded entry point: SET, GET and INCR
//! through `Store::execute` on one thread, over a 100k-key keyspace (the
//! shape `redis-benchmark -r 100000` produces), with the argv prebuilt so
//! only lookup, locking, the command and its reply are timed.

use bytes::Bytes;
use criterion::{black_box, criterion_group, criterion_main, Criterion};
use kevy_store::Store;

const KEYS: usize = 100_000;

fn argvs(cmd: &str, value: Option<&str>) -> Vec<Vec<Bytes>> {
    (0..KEYS)
        .map(|i| {
            let mut a = vec![
                Bytes::copy_from_slice(cmd.as_bytes()),
                Bytes::from(format!("key:{i:012}")),
            ];
            if let Some(v) = value {
                a.push(Bytes::copy_from_slice(v.as_bytes()));
            }
            a
        })
        .collect()
}

fn store_ops(c: &mut Criterion) {
    // Two shards, as on the 2-core target machine; db 0 throughout.
    let store = Store::new(2, 16);
    let sets = argvs("SET", Some("xxx"));
    for a in &sets {
        store.execute(0, a, 0);
    }
    let gets = argvs("GET", None);
    let incrs = argvs("INCR", None);
    let mut group = c.benchmark_group("store");
    for (name, list) in [("set", &sets), ("get", &gets)] {
        group.bench_function(name, |b| {
            let mut i = 0;
            b.iter(|| {
                i = (i + 1) % KEYS;
                black_box(store.execute(0, &list[i], 0));
            })
        });
    }
    let counters = Store::new(2, 16);
    group.bench_function("incr", |b| {
        let mut i = 0;
        b.iter(|| {
            i = (i + 1) % KEYS;
            black_box(counters.execute(0, &incrs[i], 0));
        })
    });
    let big = argvs("SET", Some(&"v".repeat(1024)));
    group.bench_function("set_1k_value", |b| {
        let mut i = 0;
        b.iter(|| {
            i = (i + 1) % KEYS;
            black_box(store.execute(0, &big[i], 0));
        })
    });
    group.finish();
}

criterion_group!(benches, store_ops);
criterion_main!(benches);
