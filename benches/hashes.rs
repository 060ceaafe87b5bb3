//! Hash benchmarks: HSET (update) and HGET (hit) on the value type itself and through the whole
//! command path, for a small listpack (16 fields), a full one (512 fields, the linear-search
//! worst case) and a 100,000-field table; plus HSET of new fields while a table grows (segment
//! splits included). Field choice is seeded, so runs are comparable.

use bytes::Bytes;
use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use ferrokv::commands::session::Session;
use ferrokv::store::types::Hash;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// (name, number of fields).
const SIZES: &[(&str, usize)] = &[
    ("listpack_16", 16),
    ("listpack_512", 512),
    ("table_100k", 100_000),
];

fn field(i: usize) -> Vec<u8> {
    format!("field:{i}").into_bytes()
}

fn filled(n: usize) -> Hash {
    let mut h = Hash::new();
    for i in 0..n {
        h.set(&field(i), b"value");
    }
    h
}

/// Fields to touch, in a seeded random order.
fn picks(n: usize) -> Vec<Vec<u8>> {
    let mut rng = StdRng::seed_from_u64(7);
    (0..4096).map(|_| field(rng.gen_range(0..n))).collect()
}

fn bench_type(c: &mut Criterion) {
    let mut g = c.benchmark_group("hash_type");
    g.throughput(Throughput::Elements(1));
    for &(name, n) in SIZES {
        let mut h = filled(n);
        let fields = picks(n);
        let mut i = 0;
        g.bench_function(BenchmarkId::new("hget", name), |b| {
            b.iter(|| {
                i = (i + 1) % fields.len();
                black_box(h.get(&fields[i]).map(<[u8]>::len))
            })
        });
        g.bench_function(BenchmarkId::new("hset_update", name), |b| {
            b.iter(|| {
                i = (i + 1) % fields.len();
                black_box(h.set(&fields[i], b"other"))
            })
        });
    }
    // New fields into a growing table: includes the cost of segment splits.
    g.bench_function("hset_new_into_table", |b| {
        let mut h = filled(1000);
        let mut next = 1000;
        b.iter(|| {
            next += 1;
            black_box(h.set(&field(next), b"value"))
        })
    });
    g.finish();
}

fn bench_commands(c: &mut Criterion) {
    let mut session = Session::new();
    let mut run = |argv: &[Bytes]| {
        session.execute(1, argv);
        session.out.buf.clear();
    };
    let mut g = c.benchmark_group("hash_commands");
    g.throughput(Throughput::Elements(1));
    for &(name, n) in SIZES {
        let key = Bytes::from(name);
        for chunk in (0..n).collect::<Vec<_>>().chunks(1000) {
            let mut argv = vec![Bytes::from_static(b"HSET"), key.clone()];
            for &i in chunk {
                argv.push(Bytes::from(field(i)));
                argv.push(Bytes::from_static(b"value"));
            }
            run(&argv);
        }
        let fields: Vec<Bytes> = picks(n).into_iter().map(Bytes::from).collect();
        let mut i = 0;
        g.bench_function(BenchmarkId::new("HGET", name), |b| {
            b.iter(|| {
                i = (i + 1) % fields.len();
                run(&[Bytes::from_static(b"HGET"), key.clone(), fields[i].clone()]);
            })
        });
        g.bench_function(BenchmarkId::new("HSET", name), |b| {
            b.iter(|| {
                i = (i + 1) % fields.len();
                run(&[
                    Bytes::from_static(b"HSET"),
                    key.clone(),
                    fields[i].clone(),
                    Bytes::from_static(b"other"),
                ]);
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench_type, bench_commands);
criterion_main!(benches);
