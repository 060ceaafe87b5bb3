//! SADD and SISMEMBER through the whole command path (parser, registry, store), on an intset
//! and on a hashtable, without sockets. Members cycle through a fixed, seeded pool so each
//! iteration does the same kind of work.

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
use rand::{Rng, SeedableRng};

fn command(args: &[&[u8]]) -> Vec<u8> {
    let mut v = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        v.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        v.extend_from_slice(a);
        v.extend_from_slice(b"\r\n");
    }
    v
}

/// A server state plus one client, driven by request bytes.
struct Harness {
    shared: Shared,
    client: Client,
    stats: WorkerStats,
    out: Reply,
    parser: Parser,
    args: Vec<bytes::Bytes>,
    buf: BytesMut,
    limits: Limits,
}

impl Harness {
    fn new() -> Self {
        let addr: SocketAddr = "127.0.0.1:1".parse().unwrap();
        Harness {
            shared: Shared::new(Config::default()),
            client: Client::new(Arc::new(ClientInfo::new(1, addr, addr, -1, 0, 0))),
            stats: WorkerStats::new(ferrokv::commands::registry().all.len()),
            out: Reply::new(false),
            parser: Parser::new(),
            args: Vec::new(),
            buf: BytesMut::with_capacity(4096),
            limits: Limits::default(),
        }
    }

    fn run(&mut self, req: &[u8]) {
        self.buf.extend_from_slice(req);
        while let Ok(true) = self
            .parser
            .parse(&mut self.buf, &mut self.args, &self.limits)
        {
            let mut ctx = Ctx {
                srv: &self.shared,
                client: &mut self.client,
                out: &mut self.out,
                stats: &self.stats,
                now: 1,
            };
            dispatch(&mut ctx, &self.args);
            self.args.clear();
        }
        self.out.buf.clear();
    }
}

/// `count` requests `NAME key <member>` over members drawn from `members` (seeded).
fn requests(name: &str, key: &str, members: &[Vec<u8>], count: usize) -> Vec<Vec<u8>> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(42);
    (0..count)
        .map(|_| {
            let m = &members[rng.gen_range(0..members.len())];
            command(&[name.as_bytes(), key.as_bytes(), m])
        })
        .collect()
}

fn bench_sets(c: &mut Criterion) {
    let mut h = Harness::new();
    let ints: Vec<Vec<u8>> = (0..512).map(|i: i64| i.to_string().into_bytes()).collect();
    let strings: Vec<Vec<u8>> = (0..100_000)
        .map(|i| format!("member:{i}").into_bytes())
        .collect();
    // Preload: an intset of 512 integers and a hashtable of 100k strings.
    for (key, members) in [("intset", &ints), ("table", &strings)] {
        for m in members.iter() {
            h.run(&command(&[b"SADD", key.as_bytes(), m]));
        }
    }
    let mut g = c.benchmark_group("sets");
    g.throughput(Throughput::Elements(1));
    // Twice the preloaded pool: SISMEMBER hits half the time; SADD inserts the absent ones
    // during the first pass over its 4096 requests and finds them present afterwards.
    let more_strings: Vec<Vec<u8>> = (0..200_000)
        .map(|i| format!("member:{i}").into_bytes())
        .collect();
    let cases = [
        ("sadd_intset", requests("SADD", "intset", &ints, 4096)),
        (
            "sadd_hashtable",
            requests("SADD", "table", &more_strings, 4096),
        ),
        (
            "sismember_intset",
            requests("SISMEMBER", "intset", &ints, 4096),
        ),
        (
            "sismember_hashtable",
            requests("SISMEMBER", "table", &more_strings, 4096),
        ),
    ];
    for (name, reqs) in &cases {
        g.bench_with_input(BenchmarkId::from_parameter(name), reqs, |b, reqs| {
            let mut i = 0;
            b.iter(|| {
                h.run(black_box(&reqs[i % reqs.len()]));
                i += 1;
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench_sets);
criterion_main!(benches);
