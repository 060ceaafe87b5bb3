//! SADD and SISMEMBER through the whole command path (parser, registry, store), on an intset
//! and on a hashtable, without sockets. Members cycle through a fixed, seeded pool so each
//! iteration does the same kind of work.

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use ferrokv::commands::session::{request, Session};
use rand::{Rng, SeedableRng};

/// A session driven by request bytes; replies are discarded.
struct Harness(Session);

impl Harness {
    fn new() -> Self {
        Harness(Session::new())
    }

    fn run(&mut self, req: &[u8]) {
        self.0.feed(1, req);
        self.0.out.buf.clear();
    }
}

/// `count` requests `NAME key <member>` over members drawn from `members` (seeded).
fn requests(name: &str, key: &str, members: &[Vec<u8>], count: usize) -> Vec<Vec<u8>> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(42);
    (0..count)
        .map(|_| {
            let m = &members[rng.gen_range(0..members.len())];
            request(&[name.as_bytes(), key.as_bytes(), m])
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
            h.run(&request(&[b"SADD", key.as_bytes(), m]));
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
