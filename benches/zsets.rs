//! Sorted-set benchmarks: the ZSet type's core operations at a compact size (128, "listpack")
//! and a big one (100,000, "skiplist"), and the ZADD / ZRANGE command paths (parser, registry,
//! store, reply) on a big zset.

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use ferrokv::commands::session::{request, Session};
use ferrokv::store::types::zset::ScoreRange;
use ferrokv::store::types::ZSet;

const SIZES: [usize; 2] = [128, 100_000];

/// A fixed pseudo-random sequence, so runs compare like with like.
#[path = "../tests/integration/common/splitmix.rs"]
mod splitmix;
use splitmix::SplitMix64 as Seq;

fn member(i: u64) -> Vec<u8> {
    format!("member:{i}").into_bytes()
}

fn score(i: u64) -> f64 {
    (i % 10_007) as f64
}

fn zset_of(n: usize) -> ZSet {
    let mut z = ZSet::new();
    let mut seq = Seq(n as u64);
    for _ in 0..n {
        let i = seq.next_u64() % (n as u64 * 10);
        z.insert(&member(i), score(i));
    }
    z
}

fn bench_type(c: &mut Criterion) {
    let mut g = c.benchmark_group("zset_type");
    g.throughput(Throughput::Elements(1));
    for n in SIZES {
        let mut z = zset_of(n);
        let members: Vec<Vec<u8>> = z.iter().map(|(m, _)| m.to_vec()).collect();
        let mut seq = Seq(7);
        g.bench_function(BenchmarkId::new("add_remove", n), |b| {
            b.iter(|| {
                let i = seq.next_u64();
                let m = format!("new:{i}");
                z.insert(m.as_bytes(), score(i));
                black_box(z.remove(m.as_bytes()));
            })
        });
        g.bench_function(BenchmarkId::new("update_score", n), |b| {
            b.iter(|| {
                let i = seq.next_u64();
                z.insert(&members[i as usize % members.len()], score(i));
            })
        });
        g.bench_function(BenchmarkId::new("score", n), |b| {
            b.iter(|| black_box(z.score(&members[seq.next_u64() as usize % members.len()])))
        });
        g.bench_function(BenchmarkId::new("rank", n), |b| {
            b.iter(|| black_box(z.rank(&members[seq.next_u64() as usize % members.len()])))
        });
        g.bench_function(BenchmarkId::new("range_by_rank_10", n), |b| {
            b.iter(|| {
                let start = seq.next_u64() as usize % n.saturating_sub(10).max(1);
                black_box(z.iter_from(start, false).take(10).count())
            })
        });
        g.bench_function(BenchmarkId::new("range_by_score_10", n), |b| {
            b.iter(|| {
                let min = (seq.next_u64() % 10_007) as f64;
                let range = ScoreRange {
                    min,
                    max: f64::INFINITY,
                    min_ex: false,
                    max_ex: false,
                };
                let start = z.score_start(&range, false).unwrap_or(0);
                black_box(z.iter_from(start, false).take(10).count())
            })
        });
    }
    g.finish();
}

/// Builds the next request of a command benchmark.
type MakeRequest = Box<dyn FnMut() -> Vec<u8>>;

fn bench_commands(c: &mut Criterion) {
    let mut session = Session::new();
    let mut run = |req: &[u8]| {
        session.feed(1, req);
        session.out.buf.clear();
    };
    // A 100,000-member zset loaded through ZADD itself.
    for start in (0..100_000u64).step_by(1000) {
        let pairs: Vec<Vec<u8>> = (start..start + 1000)
            .flat_map(|i| [score(i).to_string().into_bytes(), member(i)])
            .collect();
        let mut cmd: Vec<&[u8]> = vec![b"ZADD", b"big"];
        cmd.extend(pairs.iter().map(|p| &p[..]));
        run(&request(&cmd));
    }
    let mut g = c.benchmark_group("zset_commands");
    g.throughput(Throughput::Elements(1));
    let mut seq = Seq(11);
    let cases: Vec<(&str, MakeRequest)> = vec![
        (
            "zadd_update",
            Box::new(move || {
                let i = seq.next_u64() % 100_000;
                request(&[
                    b"ZADD",
                    b"big",
                    score(i + 1).to_string().as_bytes(),
                    &member(i),
                ])
            }),
        ),
        (
            "zrange_rank_10_withscores",
            Box::new(move || {
                let i = seq.next_u64() % 99_990;
                let (start, stop) = (i.to_string(), (i + 9).to_string());
                request(&[
                    b"ZRANGE",
                    b"big",
                    start.as_bytes(),
                    stop.as_bytes(),
                    b"WITHSCORES",
                ])
            }),
        ),
        (
            "zrangebyscore_limit_10",
            Box::new(move || {
                let min = (seq.next_u64() % 10_007).to_string();
                request(&[
                    b"ZRANGEBYSCORE",
                    b"big",
                    min.as_bytes(),
                    b"+inf",
                    b"LIMIT",
                    b"0",
                    b"10",
                ])
            }),
        ),
        (
            "zrank",
            Box::new(move || request(&[b"ZRANK", b"big", &member(seq.next_u64() % 100_000)])),
        ),
    ];
    for (name, mut make) in cases {
        g.bench_function(name, |b| {
            b.iter_batched(&mut make, |req| run(&req), criterion::BatchSize::SmallInput)
        });
    }
    g.finish();
}

criterion_group!(benches, bench_type, bench_commands);
criterion_main!(benches);
