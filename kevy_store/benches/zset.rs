//! Sorted-set micro benchmarks at 10k, 100k and 1M members, to show that
//! ZADD (updating a member's score), ZRANGE (10 members from a rank in the
//! middle) and ZRANK grow with log n: the order-statistic tree answers each
//! in O(log n), not with a walk. A last group times ZADD through the command
//! path (`Store::execute`) on the 1M-member set, and one a write right after
//! a snapshot (the path copy).

use bytes::Bytes;
use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion};
use kevy_store::types::zset::{cmp_key, Item};
use kevy_store::types::ZSetValue;
use kevy_store::{KStr, Store};

const SIZES: [usize; 3] = [10_000, 100_000, 1_000_000];

struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

fn member(i: usize) -> String {
    format!("member:{i:08}")
}

/// A zset of `n` members with scores scattered over 0..n.
fn build(n: usize) -> ZSetValue {
    let mut items: Vec<Item> = (0..n)
        .map(|i| Item {
            score: ((i * 7919) % n) as f64,
            member: KStr::from(member(i).as_str()),
        })
        .collect();
    items.sort_by(|a, b| cmp_key(a.score, &a.member, b.score, &b.member));
    ZSetValue::from_sorted(items)
}

fn zset_ops(c: &mut Criterion) {
    let mut g = c.benchmark_group("zset");
    for n in SIZES {
        let mut z = build(n);
        let names: Vec<Vec<u8>> = (0..n).map(|i| member(i).into_bytes()).collect();
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        g.bench_with_input(BenchmarkId::new("zadd_update", n), &n, |b, &n| {
            b.iter(|| {
                let m = &names[rng.below(n)];
                black_box(z.insert(m, rng.below(n) as f64));
            })
        });
        g.bench_with_input(BenchmarkId::new("zrange_10_mid", n), &n, |b, &n| {
            b.iter(|| {
                let start = n / 2;
                let sum: f64 = z
                    .range(start, start + 10, false)
                    .map(|it| it.score + it.member.len() as f64)
                    .sum();
                black_box(sum)
            })
        });
        g.bench_with_input(BenchmarkId::new("zrank", n), &n, |b, &n| {
            b.iter(|| black_box(z.rank(&names[rng.below(n)])))
        });
    }
    g.finish();
}

fn command_path(c: &mut Criterion) {
    let n = 1_000_000;
    let store = Store::new(1, 16);
    let mut argv = vec![Bytes::from_static(b"ZADD"), Bytes::from_static(b"big")];
    for i in 0..n {
        argv.push(Bytes::from(((i * 7919) % n).to_string()));
        argv.push(Bytes::from(member(i)));
    }
    store.execute(0, &argv, 0);
    let mut rng = Rng(42);
    let mut g = c.benchmark_group("zset_cmd_1m");
    g.bench_function("ZADD", |b| {
        b.iter(|| {
            let a = [
                Bytes::from_static(b"ZADD"),
                Bytes::from_static(b"big"),
                Bytes::from(rng.below(n).to_string()),
                Bytes::from(member(rng.below(n))),
            ];
            black_box(store.execute(0, &a, 0))
        })
    });
    g.bench_function("ZRANGE_10_mid", |b| {
        let a: Vec<Bytes> = ["ZRANGE", "big", "500000", "500009", "WITHSCORES"]
            .iter()
            .map(|s| Bytes::copy_from_slice(s.as_bytes()))
            .collect();
        b.iter(|| black_box(store.execute(0, &a, 0)))
    });
    g.bench_function("ZRANK", |b| {
        b.iter(|| {
            let a = [
                Bytes::from_static(b"ZRANK"),
                Bytes::from_static(b"big"),
                Bytes::from(member(rng.below(n))),
            ];
            black_box(store.execute(0, &a, 0))
        })
    });
    // A write right after a snapshot copies only its path.
    g.bench_function("ZADD_after_snapshot", |b| {
        b.iter(|| {
            let snap = store.snapshot();
            let a = [
                Bytes::from_static(b"ZADD"),
                Bytes::from_static(b"big"),
                Bytes::from(rng.below(n).to_string()),
                Bytes::from(member(rng.below(n))),
            ];
            black_box(store.execute(0, &a, 0));
            drop(snap);
        })
    });
    g.finish();
}

criterion_group!(benches, zset_ops, command_path);
criterion_main!(benches);
