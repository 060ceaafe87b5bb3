//! Microbenchmarks of the request path: RESP parsing, reply encoding, the store, and a whole
//! command (request bytes in -> reply bytes out) through parser, registry and store, without
//! sockets. Seeded and parameterised; `Throughput` is set so criterion reports rates.

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::BytesMut;
use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use ferrokv::commands::{dispatch, Ctx};
use ferrokv::config::Config;
use ferrokv::resp::parse::{Limits, Parser};
use ferrokv::resp::reply::Reply;
use ferrokv::server::client::{Client, ClientInfo};
use ferrokv::server::shared::{Shared, WorkerStats};
use ferrokv::store::{Entry, Store, StrBuf, Value};

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

fn bench_store(c: &mut Criterion) {
    let mut g = c.benchmark_group("store");
    let store = Store::new(1);
    let db = store.db(0);
    let keys: Vec<Vec<u8>> = (0..100_000)
        .map(|i| format!("key:{i:06}").into_bytes())
        .collect();
    for k in &keys {
        db.write(k, 0, |s| {
            s.put(Entry::new(Value::Str(StrBuf::from_slice(b"xyz")), 0))
        });
    }
    let mut i = 0usize;
    g.bench_function("get_hit", |b| {
        b.iter(|| {
            i = (i + 7919) % keys.len();
            db.read(&keys[i], 1, |e| black_box(e.expire_at))
        })
    });
    g.bench_function("get_miss", |b| {
        b.iter(|| db.read(black_box(b"nokey"), 1, |e| e.expire_at))
    });
    g.bench_function("set", |b| {
        b.iter(|| {
            i = (i + 7919) % keys.len();
            db.write(&keys[i], 1, |s| {
                s.put(Entry::new(Value::Str(StrBuf::from_slice(b"abc")), 0))
            })
        })
    });
    g.finish();
}

fn bench_command_path(c: &mut Criterion) {
    let shared = Shared::new(Config::default());
    let addr: SocketAddr = "127.0.0.1:1".parse().unwrap();
    let mut client = Client::new(Arc::new(ClientInfo::new(1, addr, addr, -1, 0, 0)));
    let stats = WorkerStats::new(ferrokv::commands::registry().commands.len());
    let mut out = Reply::new(false);
    let limits = Limits::default();
    let mut g = c.benchmark_group("command_path");
    for (name, req) in [
        ("set", command(&[b"SET", b"key:1", b"xyz"])),
        ("get", command(&[b"GET", b"key:1"])),
        ("ping_inline", b"PING\r\n".to_vec()),
    ] {
        g.throughput(Throughput::Elements(1));
        g.bench_with_input(BenchmarkId::from_parameter(name), &req, |b, req| {
            let mut parser = Parser::new();
            let mut args = Vec::new();
            let mut buf = BytesMut::with_capacity(4096);
            b.iter(|| {
                buf.extend_from_slice(req);
                while let Ok(true) = parser.parse(&mut buf, &mut args, &limits) {
                    let mut ctx = Ctx {
                        srv: &shared,
                        client: &mut client,
                        out: &mut out,
                        stats: &stats,
                        now: 1,
                    };
                    dispatch(&mut ctx, &args);
                    args.clear();
                }
                out.buf.clear();
            })
        });
    }
    g.finish();
}

criterion_group!(
    benches,
    bench_parse,
    bench_reply,
    bench_store,
    bench_command_path
);
criterion_main!(benches);
