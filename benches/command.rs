//! The whole command path without sockets: request bytes in -> reply bytes out, through the
//! parser, the registry and the store.

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

fn command(args: &[&[u8]]) -> Vec<u8> {
    let mut v = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        v.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        v.extend_from_slice(a);
        v.extend_from_slice(b"\r\n");
    }
    v
}

fn bench_command_path(c: &mut Criterion) {
    let shared = Shared::new(Config::default());
    let addr: SocketAddr = "127.0.0.1:1".parse().unwrap();
    let mut client = Client::new(Arc::new(ClientInfo::new(1, addr, addr, -1, 0, 0)));
    let stats = WorkerStats::new(ferrokv::commands::registry().all.len());
    let mut out = Reply::new(false);
    let limits = Limits::default();
    let mut g = c.benchmark_group("command_path");
    let pipeline16: Vec<u8> = (0..16).flat_map(|_| command(&[b"GET", b"key:1"])).collect();
    for (name, req, n) in [
        ("set", command(&[b"SET", b"key:1", b"xyz"]), 1),
        ("get", command(&[b"GET", b"key:1"]), 1),
        ("incr", command(&[b"INCR", b"counter"]), 1),
        ("ping_inline", b"PING\r\n".to_vec(), 1),
        ("get_pipeline_16", pipeline16, 16),
    ] {
        g.throughput(Throughput::Elements(n));
        g.bench_with_input(BenchmarkId::from_parameter(name), &req, |b, req| {
            let mut parser = Parser::new();
            let mut args = Vec::new();
            let mut buf = BytesMut::with_capacity(4096);
            b.iter(|| {
                buf.extend_from_slice(black_box(req));
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

criterion_group!(benches, bench_command_path);
criterion_main!(benches);
