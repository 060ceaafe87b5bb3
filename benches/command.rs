//! The whole command path without sockets: request bytes in -> reply bytes out, through the
//! parser, the registry and the store (`commands::session::Session`).

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use ferrokv::commands::session::{request, Session};

fn bench_command_path(c: &mut Criterion) {
    let mut session = Session::new();
    let mut g = c.benchmark_group("command_path");
    let pipeline16: Vec<u8> = (0..16).flat_map(|_| request(&[b"GET", b"key:1"])).collect();
    for (name, req, n) in [
        ("set", request(&[b"SET", b"key:1", b"xyz"]), 1),
        ("get", request(&[b"GET", b"key:1"]), 1),
        ("incr", request(&[b"INCR", b"counter"]), 1),
        ("ping_inline", b"PING\r\n".to_vec(), 1),
        ("get_pipeline_16", pipeline16, 16),
    ] {
        g.throughput(Throughput::Elements(n));
        g.bench_with_input(BenchmarkId::from_parameter(name), &req, |b, req| {
            b.iter(|| {
                session.feed(1, black_box(req));
                session.out.buf.clear();
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench_command_path);
criterion_main!(benches);
