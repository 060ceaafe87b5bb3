//! List benchmarks: the `List` type's operations (push/pop at both ends, index access, a range
//! walk) on lists of several sizes, and LPUSH / LRANGE / LINDEX / RPUSH+LPOP through the whole
//! command path (dispatch, store, reply encoding), without sockets.

use bytes::Bytes;
use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use ferrokv::commands::session::Session;
use ferrokv::store::types::List;

/// List sizes the type-level benches run on.
const SIZES: [usize; 3] = [100, 10_000, 1_000_000];

fn element(i: usize) -> Vec<u8> {
    format!("element:{i:08}").into_bytes()
}

fn list_of(n: usize) -> List {
    let mut l = List::new();
    for i in 0..n {
        l.push_back(&element(i));
    }
    l
}

/// A type-level operation measured on a list of a given size (the list is left as found).
type Op = fn(&mut List, usize);

fn bench_type(c: &mut Criterion) {
    let ops: [(&str, Op); 6] = [
        ("push_back+pop_front", |l, _| {
            l.push_back(b"element:xxxxxxxx");
            black_box(l.pop_front());
        }),
        ("push_front+pop_back", |l, _| {
            l.push_front(b"element:xxxxxxxx");
            black_box(l.pop_back());
        }),
        ("get_middle", |l, n| {
            black_box(l.get(n / 2));
        }),
        ("get_quarter", |l, n| {
            black_box(l.get(n / 4));
        }),
        ("set_middle", |l, n| {
            black_box(l.set(n / 2, b"element:yyyyyyyy"));
        }),
        ("iter_100_from_middle", |l, n| {
            black_box(l.iter_from(n / 2).take(100).map(<[u8]>::len).sum::<usize>());
        }),
    ];
    let mut g = c.benchmark_group("list_type");
    g.throughput(Throughput::Elements(1));
    for n in SIZES {
        let mut list = list_of(n);
        for (name, op) in ops {
            g.bench_with_input(BenchmarkId::new(name, n), &n, |b, &n| {
                b.iter(|| op(&mut list, n))
            });
        }
    }
    g.finish();
}

/// Runs commands (argument lists) on one session; replies are discarded.
struct Bench(Session);

impl Bench {
    fn new() -> Bench {
        Bench(Session::new())
    }

    fn run(&mut self, argv: &[Bytes]) {
        self.0.execute(1, argv);
        self.0.out.buf.clear();
    }
}

fn argv(args: &[&[u8]]) -> Vec<Bytes> {
    args.iter().map(|a| Bytes::copy_from_slice(a)).collect()
}

fn bench_commands(c: &mut Criterion) {
    let mut bench = Bench::new();
    // A 100k-element list to read from.
    for chunk in (0..100_000).collect::<Vec<usize>>().chunks(1000) {
        let mut args = vec![Bytes::from_static(b"RPUSH"), Bytes::from_static(b"big")];
        args.extend(chunk.iter().map(|&i| Bytes::from(element(i))));
        bench.run(&args);
    }
    // (name, commands per iteration, elements per iteration). LPUSH's list is deleted every
    // 2^16 iterations so it stays a realistic size however long criterion runs.
    let cases: [(&str, Vec<Vec<Bytes>>, u64); 5] = [
        (
            "lpush",
            vec![argv(&[b"LPUSH", b"grow", b"element:00000001"])],
            1,
        ),
        (
            "rpush+lpop",
            vec![
                argv(&[b"RPUSH", b"queue", b"element:00000001"]),
                argv(&[b"LPOP", b"queue"]),
            ],
            2,
        ),
        (
            "lrange_0_99",
            vec![argv(&[b"LRANGE", b"big", b"0", b"99"])],
            100,
        ),
        (
            "lrange_middle_100",
            vec![argv(&[b"LRANGE", b"big", b"50000", b"50099"])],
            100,
        ),
        (
            "lindex_middle",
            vec![argv(&[b"LINDEX", b"big", b"50000"])],
            1,
        ),
    ];
    let reset = argv(&[b"DEL", b"grow"]);
    let mut g = c.benchmark_group("list_commands");
    for (name, commands, elements) in cases {
        g.throughput(Throughput::Elements(elements));
        g.bench_function(name, |b| {
            let mut i = 0u32;
            b.iter(|| {
                for cmd in &commands {
                    bench.run(black_box(cmd));
                }
                i = i.wrapping_add(1);
                if i.is_multiple_of(65536) {
                    bench.run(&reset);
                }
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench_type, bench_commands);
criterion_main!(benches);
