//! Micro benchmarks for the hot path: parsing a 16-command pipeline (what
//! `redis-benchmark -P 16` sends for SET) and encoding the commonest replies.

use bytes::BytesMut;
use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use kevy_resp::{
    encode, encode_array_header, encode_bulk, encode_int, encode_request, Limits, Protocol, Reply,
    RequestParser,
};

/// Sixteen `SET key:000000001234 xxx` requests, back to back.
fn pipeline() -> Vec<u8> {
    let mut wire = Vec::new();
    for _ in 0..16 {
        encode_request(&[b"SET", b"key:000000001234", b"xxx"], &mut wire);
    }
    wire
}

fn parse(c: &mut Criterion) {
    let wire = pipeline();
    let limits = Limits::default();
    let mut group = c.benchmark_group("parse");
    group.throughput(Throughput::Bytes(wire.len() as u64));
    group.bench_function("pipeline16_set", |b| {
        let mut parser = RequestParser::new();
        let mut buf = BytesMut::with_capacity(16 * 1024);
        b.iter(|| {
            buf.extend_from_slice(&wire);
            let mut n = 0;
            while let Ok(Some(args)) = parser.parse(&mut buf, &limits) {
                n += args.len();
                black_box(&args);
            }
            assert_eq!(n, 48);
        })
    });
    group.bench_function("pipeline16_set_append", |b| {
        let mut parser = RequestParser::new();
        let mut buf = BytesMut::with_capacity(16 * 1024);
        let mut args = Vec::with_capacity(64);
        b.iter(|| {
            buf.extend_from_slice(&wire);
            args.clear();
            while let Ok(Some(_)) = parser.parse_append(&mut buf, &limits, &mut args) {}
            assert_eq!(black_box(&args).len(), 48);
        })
    });
    let inline = b"SET key:000000001234 xxx\r\n".repeat(16);
    group.bench_function("pipeline16_inline_set", |b| {
        let mut parser = RequestParser::new();
        let mut buf = BytesMut::with_capacity(16 * 1024);
        b.iter(|| {
            buf.extend_from_slice(&inline);
            while let Ok(Some(args)) = parser.parse(&mut buf, &limits) {
                black_box(&args);
            }
        })
    });
    group.finish();
}

fn encode_replies(c: &mut Criterion) {
    let mut group = c.benchmark_group("encode");
    let mut out = Vec::with_capacity(64 * 1024);
    group.bench_function("16_bulk", |b| {
        b.iter(|| {
            out.clear();
            for _ in 0..16 {
                encode_bulk(&mut out, black_box(b"xxx"));
            }
            black_box(&out);
        })
    });
    group.bench_function("16_int", |b| {
        b.iter(|| {
            out.clear();
            for i in 0..16 {
                encode_int(&mut out, black_box(1_234_567 + i));
            }
            black_box(&out);
        })
    });
    group.bench_function("array_of_16_bulk", |b| {
        b.iter(|| {
            out.clear();
            encode_array_header(&mut out, 16);
            for _ in 0..16 {
                encode_bulk(&mut out, black_box(b"member:000000001234"));
            }
            black_box(&out);
        })
    });
    let reply = Reply::Array(
        (0..16)
            .map(|i| {
                if i % 2 == 0 {
                    Reply::bulk(b"member:000000001234")
                } else {
                    Reply::Double(1.5 * f64::from(i))
                }
            })
            .collect(),
    );
    group.bench_function("reply_array_bulk_double_resp3", |b| {
        b.iter(|| {
            out.clear();
            encode(black_box(&reply), Protocol::Resp3, &mut out);
            black_box(&out);
        })
    });
    group.finish();
}

criterion_group!(benches, parse, encode_replies);
criterion_main!(benches);
