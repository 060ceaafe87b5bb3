//! RESP microbenchmarks: request parsing (one command, a pipelined batch, a large bulk arriving
//! in pieces) and reply encoding. `Throughput` is set so criterion reports rates.

use bytes::BytesMut;
use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use ferrokv::resp::parse::{Limits, Parser};
use ferrokv::resp::reply::Reply;

fn command(args: &[&[u8]]) -> Vec<u8> {
    let mut v = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        v.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        v.extend_from_slice(a);
        v.extend_from_slice(b"\r\n");
    }
    v
}

fn parse_all(input: &[u8], pieces: usize) -> usize {
    let mut parser = Parser::new();
    let mut args = Vec::new();
    let mut buf = BytesMut::with_capacity(16 * 1024);
    let limits = Limits::default();
    let mut n = 0;
    for chunk in input.chunks(pieces) {
        buf.extend_from_slice(chunk);
        while let Ok(true) = parser.parse(&mut buf, &mut args, &limits) {
            n += args.len();
            args.clear();
        }
    }
    n
}

fn bench_parse(c: &mut Criterion) {
    let mut g = c.benchmark_group("parse");
    let one = command(&[b"SET", b"key:000001", b"xyz"]);
    g.throughput(Throughput::Bytes(one.len() as u64));
    g.bench_function("one_small_command", |b| {
        b.iter(|| parse_all(black_box(&one), one.len()))
    });
    let batch: Vec<u8> = (0..16).flat_map(|_| one.clone()).collect();
    g.throughput(Throughput::Bytes(batch.len() as u64));
    g.bench_function("pipeline_16", |b| {
        b.iter(|| parse_all(black_box(&batch), batch.len()))
    });
    let big = command(&[b"SET", b"k", &vec![b'x'; 1 << 20]]);
    g.throughput(Throughput::Bytes(big.len() as u64));
    g.bench_function("bulk_1mib_in_16kib_pieces", |b| {
        b.iter(|| parse_all(black_box(&big), 16 * 1024))
    });
    g.finish();
}

fn bench_reply(c: &mut Criterion) {
    let mut g = c.benchmark_group("reply");
    let value = vec![b'v'; 64];
    g.bench_function("bulk_64", |b| {
        let mut r = Reply::new(false);
        b.iter(|| {
            r.buf.clear();
            r.bulk(black_box(&value));
        })
    });
    g.bench_function("integer", |b| {
        let mut r = Reply::new(false);
        b.iter(|| {
            r.buf.clear();
            r.int(black_box(1234567));
        })
    });
    g.bench_function("array_of_100_bulks", |b| {
        let mut r = Reply::new(false);
        b.iter(|| {
            r.buf.clear();
            r.array(100);
            for _ in 0..100 {
                r.bulk(black_box(&value));
            }
        })
    });
    g.bench_function("resp3_map_10", |b| {
        let mut r = Reply::new(true);
        b.iter(|| {
            r.buf.clear();
            r.map(10);
            for i in 0..10 {
                r.bulk(black_box(&value));
                r.int(i);
            }
        })
    });
    g.finish();
}

criterion_group!(benches, bench_parse, bench_reply);
criterion_main!(benches);
