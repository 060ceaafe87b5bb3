//! HyperLogLog benchmarks: the `util::hll` operations PFADD and PFCOUNT run (`add` on a sparse
//! and a dense HLL, `count`, `merge_into`) and the PFADD / PFCOUNT command paths (parser,
//! registry, `call()`, store, reply) through a socket-less `Session`:
//! - PFADD of 1 and of 10 new random elements into a dense HLL (100,000 elements) and into
//!   sparse ones: the command path cycles over 20,000 keys that start with 100 elements each
//!   (they grow by a few hundred elements over a run and stay sparse; the `hll` group measures
//!   the same adds on a fixed 300-element sparse HLL, copied afresh for each add);
//! - PFCOUNT of one dense key with a valid cached cardinality, of one whose cache was just
//!   invalidated (a pipelined `SETRANGE key 15 "\x80"` first, which sets the header's invalid
//!   bit: its cost is in the figure), and of three dense keys (merged, never cached).

use criterion::{
    black_box, criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, Throughput,
};
use ferrokv::commands::session::{request, Session};
use ferrokv::util::hll;

/// A fixed pseudo-random sequence, so runs compare like with like.
#[path = "../tests/integration/common/splitmix.rs"]
mod splitmix;
use splitmix::SplitMix64 as Seq;

/// `hll-sparse-max-bytes`' default.
const SPARSE_MAX: u64 = 3000;
const SPARSE_KEYS: u64 = 20_000;

fn element(seq: &mut Seq) -> Vec<u8> {
    format!("e:{}", seq.next_u64()).into_bytes()
}

/// An HLL string holding `n` random elements (sparse while it fits `SPARSE_MAX`).
fn hll_with(seq: &mut Seq, n: usize) -> Vec<u8> {
    let mut s = hll::new_sparse();
    for _ in 0..n {
        hll::add(&mut s, &element(seq), SPARSE_MAX).expect("valid");
    }
    s
}

fn bench_hll(c: &mut Criterion) {
    let mut seq = Seq(21);
    let sparse = hll_with(&mut seq, 300);
    let dense = hll_with(&mut seq, 100_000);
    assert_eq!(hll::encoding(&sparse), hll::SPARSE);
    assert_eq!(hll::encoding(&dense), hll::DENSE);
    let mut g = c.benchmark_group("hll");
    g.throughput(Throughput::Elements(1));
    g.bench_function("murmur64a_20B", |b| {
        b.iter(|| hll::murmur64a(black_box(b"element:000000012345"), 0xadc8_3b19))
    });
    // New elements, made before timing (a sparse add's cost depends on whether it changes
    // a register, so every add gets an element not seen before).
    let pool: Vec<Vec<u8>> = (0..1 << 16).map(|_| element(&mut seq)).collect();
    let mut next = pool.iter().cycle();
    for n in [1usize, 10] {
        g.throughput(Throughput::Elements(n as u64));
        // Sparse: a fresh copy of the 300-element HLL per add, so it stays that size.
        g.bench_function(BenchmarkId::new("add_sparse_300", n), |b| {
            b.iter_batched(
                || {
                    (
                        sparse.clone(),
                        (0..n).map(|_| element(&mut seq)).collect::<Vec<_>>(),
                    )
                },
                |(mut s, eles)| {
                    for e in &eles {
                        hll::add(&mut s, e, SPARSE_MAX).expect("valid");
                    }
                    s
                },
                BatchSize::SmallInput,
            )
        });
        // Dense: one HLL, added to in place (a dense add never changes its size).
        let mut d = dense.clone();
        g.bench_function(BenchmarkId::new("add_dense", n), |b| {
            b.iter(|| {
                for e in next.by_ref().take(n) {
                    hll::add(&mut d, e, SPARSE_MAX).expect("valid");
                }
            })
        });
    }
    g.throughput(Throughput::Elements(1));
    g.bench_function("count_dense", |b| b.iter(|| hll::count(black_box(&dense))));
    g.bench_function("count_sparse_300", |b| {
        b.iter(|| hll::count(black_box(&sparse)))
    });
    g.bench_function("merge_into_dense", |b| {
        let mut max: Box<hll::Raw> = Box::new([0; hll::REGISTERS]);
        b.iter(|| hll::merge_into(&mut max, black_box(&dense)))
    });
    g.finish();
}

/// A session holding `dense:0`..`dense:2` (100,000 elements each) and `sparse:0`..
/// `sparse:{SPARSE_KEYS - 1}` (100 each), loaded with PFADD.
fn loaded_session(seq: &mut Seq) -> Session {
    let mut s = Session::new();
    let mut pfadd = |s: &mut Session, key: &[u8], n: usize| {
        for _ in 0..n.div_ceil(1000) {
            let eles: Vec<Vec<u8>> = (0..n.min(1000)).map(|_| element(seq)).collect();
            let mut cmd: Vec<&[u8]> = vec![b"PFADD", key];
            cmd.extend(eles.iter().map(|e| &e[..]));
            s.feed(1, &request(&cmd));
            assert!(s.out.buf.starts_with(b":"), "PFADD failed");
            s.out.buf.clear();
        }
    };
    for i in 0..3 {
        pfadd(&mut s, format!("dense:{i}").as_bytes(), 100_000);
    }
    for i in 0..SPARSE_KEYS {
        pfadd(&mut s, format!("sparse:{i}").as_bytes(), 100);
    }
    s
}

/// Runs one prepared request and drops its reply.
fn run(session: &mut Session, req: &[u8]) {
    session.feed(1, black_box(req));
    session.out.buf.clear();
}

fn bench_commands(c: &mut Criterion) {
    let mut seq = Seq(23);
    let mut s = loaded_session(&mut seq);
    let mut g = c.benchmark_group("hll_commands");
    for n in [1usize, 10] {
        g.throughput(Throughput::Elements(n as u64));
        for kind in ["dense", "sparse"] {
            g.bench_function(BenchmarkId::new(format!("pfadd_{kind}"), n), |b| {
                b.iter_batched(
                    || {
                        let key = match kind {
                            "dense" => "dense:0".to_string(),
                            _ => format!("sparse:{}", seq.next_u64() % SPARSE_KEYS),
                        };
                        let eles: Vec<Vec<u8>> = (0..n).map(|_| element(&mut seq)).collect();
                        let mut cmd: Vec<&[u8]> = vec![b"PFADD", key.as_bytes()];
                        cmd.extend(eles.iter().map(|e| &e[..]));
                        request(&cmd)
                    },
                    |req| run(&mut s, &req),
                    BatchSize::SmallInput,
                )
            });
        }
    }
    g.throughput(Throughput::Elements(1));
    for (name, req) in [
        ("pfcount_1_key_cached", request(&[b"PFCOUNT", b"dense:1"])),
        (
            "pfcount_1_key_uncached",
            [
                request(&[b"SETRANGE", b"dense:1", b"15", b"\x80"]),
                request(&[b"PFCOUNT", b"dense:1"]),
            ]
            .concat(),
        ),
        (
            "pfcount_3_keys",
            request(&[b"PFCOUNT", b"dense:0", b"dense:1", b"dense:2"]),
        ),
    ] {
        g.bench_with_input(BenchmarkId::from_parameter(name), &req, |b, req| {
            b.iter(|| run(&mut s, req))
        });
    }
    g.finish();
}

criterion_group!(benches, bench_hll, bench_commands);
criterion_main!(benches);
