//! Bitmap benchmarks: the helpers the bitmap commands call (`popcount`, `combine`) and the
//! BITCOUNT / BITOP / BITFIELD / SETBIT / GETBIT command paths (parser, registry, `call()`,
//! store, reply) through a socket-less `Session`, on seeded pseudo-random bitmaps:
//! - BITCOUNT of a 1 MiB and a 64 B string: whole, a BYTE range and a BIT range (both trim a
//!   little off each end, so the edge masks are exercised);
//! - BITOP AND/OR/XOR over 2, 3 and 4 keys of 64 KiB, and NOT of one (throughput: source bytes);
//! - BITFIELD GET, SET and INCRBY (OVERFLOW WRAP, SAT, FAIL) on u8, i16 and u63 fields at random
//!   `#N` offsets of a 4 KiB string, increments large enough that about half of them overflow.

use criterion::{
    black_box, criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, Throughput,
};
use ferrokv::commands::bitmaps::{self, BitOp};
use ferrokv::commands::session::{request, Session};

/// A fixed pseudo-random sequence, so runs compare like with like.
#[path = "../tests/integration/common/splitmix.rs"]
mod splitmix;
use splitmix::SplitMix64 as Seq;

const MIB: usize = 1 << 20;
const BITOP_LEN: usize = 64 << 10;
const BITOP_KEYS: [&[u8]; 4] = [b"src:0", b"src:1", b"src:2", b"src:3"];
const FIELD_STRING: usize = 4 << 10;

fn random_bytes(seq: &mut Seq, len: usize) -> Vec<u8> {
    let mut v: Vec<u8> = (0..len.div_ceil(8))
        .flat_map(|_| seq.next_u64().to_le_bytes())
        .collect();
    v.truncate(len);
    v
}

/// A session holding the benchmark keys: `bm:1m`, `bm:64`, the BITOP sources, `bf`.
fn loaded_session() -> Session {
    let mut s = Session::new();
    let mut seq = Seq(11);
    let mut put = |key: &[u8], len: usize| {
        let value = random_bytes(&mut seq, len);
        s.feed(1, &request(&[b"SET", key, &value]));
    };
    put(b"bm:1m", MIB);
    put(b"bm:64", 64);
    for key in BITOP_KEYS {
        put(key, BITOP_LEN);
    }
    put(b"bf", FIELD_STRING);
    assert_eq!(
        s.out.buf,
        b"+OK\r\n".repeat(3 + BITOP_KEYS.len()),
        "loading failed"
    );
    s.out.buf.clear();
    s
}

/// Runs one prepared request and drops its reply.
fn run(session: &mut Session, req: &[u8]) {
    session.feed(1, black_box(req));
    session.out.buf.clear();
}

fn bench_helpers(c: &mut Criterion) {
    let mut seq = Seq(7);
    let big = random_bytes(&mut seq, MIB);
    let mut g = c.benchmark_group("bitmap_helpers");
    g.throughput(Throughput::Bytes(MIB as u64));
    g.bench_function("popcount_1MiB", |b| {
        b.iter(|| bitmaps::popcount(black_box(&big)))
    });
    let sources: Vec<Vec<u8>> = (0..4).map(|_| random_bytes(&mut seq, BITOP_LEN)).collect();
    let refs: Vec<&[u8]> = sources.iter().map(|s| &s[..]).collect();
    g.throughput(Throughput::Bytes(4 * BITOP_LEN as u64));
    for (name, op) in [("and", BitOp::And), ("or", BitOp::Or), ("xor", BitOp::Xor)] {
        g.bench_function(format!("combine_{name}_4x64KiB"), |b| {
            b.iter(|| bitmaps::combine(op, black_box(&refs)))
        });
    }
    g.finish();
}

fn bench_bitcount(c: &mut Criterion) {
    let mut s = loaded_session();
    let mut g = c.benchmark_group("bitcount");
    for (size, key, len) in [("1MiB", &b"bm:1m"[..], MIB), ("64B", &b"bm:64"[..], 64)] {
        g.throughput(Throughput::Bytes(len as u64));
        for (name, args) in [
            ("whole", &[][..]),
            ("byte_range", &[&b"1"[..], b"-2", b"BYTE"][..]),
            ("bit_range", &[&b"5"[..], b"-6", b"BIT"][..]),
        ] {
            let mut cmd: Vec<&[u8]> = vec![b"BITCOUNT", key];
            cmd.extend_from_slice(args);
            let req = request(&cmd);
            g.bench_with_input(BenchmarkId::new(name, size), &req, |b, req| {
                b.iter(|| run(&mut s, req))
            });
        }
    }
    g.finish();
}

fn bench_bitop(c: &mut Criterion) {
    let mut s = loaded_session();
    let mut g = c.benchmark_group("bitop_64KiB");
    let mut cases: Vec<(&str, usize)> = vec![("not", 1)];
    for op in ["and", "or", "xor"] {
        cases.extend((2..=4).map(|n| (op, n)));
    }
    for (op, keys) in cases {
        let mut cmd: Vec<&[u8]> = vec![b"BITOP", op.as_bytes(), b"dest"];
        cmd.extend_from_slice(&BITOP_KEYS[..keys]);
        let req = request(&cmd);
        g.throughput(Throughput::Bytes((keys * BITOP_LEN) as u64));
        g.bench_with_input(
            BenchmarkId::new(op, format!("{keys}_keys")),
            &req,
            |b, req| b.iter(|| run(&mut s, req)),
        );
    }
    g.finish();
}

/// A BITFIELD field type: its name, width, and an increment that overflows about half the
/// time (half the field's range).
struct Field {
    name: &'static str,
    bits: u64,
    incr: i128,
}

const FIELDS: [Field; 3] = [
    Field {
        name: "u8",
        bits: 8,
        incr: 1 << 7,
    },
    Field {
        name: "i16",
        bits: 16,
        incr: 1 << 15,
    },
    Field {
        name: "u63",
        bits: 63,
        incr: 1 << 62,
    },
];

/// BITFIELD `op` on field type `f` at a random `#N` offset inside the string.
fn bitfield_request(seq: &mut Seq, f: &Field, op: &str) -> Vec<u8> {
    let slots = FIELD_STRING as u64 * 8 / f.bits;
    let at = format!("#{}", seq.next_u64() % slots);
    let r = seq.next_u64();
    // A random value of the field's type, and a random +/- increment of up to `incr`.
    let value = if f.name.starts_with('i') {
        (r as i64 >> (64 - f.bits)).to_string()
    } else {
        (r >> (64 - f.bits)).to_string()
    };
    let incr = ((r % (f.incr as u64)) as i128 * if r & 1 == 0 { 1 } else { -1 }).to_string();
    let name = f.name.as_bytes();
    let mut cmd: Vec<&[u8]> = vec![b"BITFIELD", b"bf"];
    match op {
        "get" => cmd.extend_from_slice(&[b"GET", name, at.as_bytes()]),
        "set" => cmd.extend_from_slice(&[b"SET", name, at.as_bytes(), value.as_bytes()]),
        _ => {
            let mode = op.strip_prefix("incrby_").expect("incrby_<mode>");
            cmd.extend_from_slice(&[b"OVERFLOW", mode.as_bytes()]);
            cmd.extend_from_slice(&[b"INCRBY", name, at.as_bytes(), incr.as_bytes()]);
        }
    }
    request(&cmd)
}

fn bench_bitfield(c: &mut Criterion) {
    let mut s = loaded_session();
    let mut seq = Seq(13);
    let mut g = c.benchmark_group("bitfield");
    g.throughput(Throughput::Elements(1));
    for f in &FIELDS {
        for op in ["get", "set", "incrby_wrap", "incrby_sat", "incrby_fail"] {
            g.bench_function(BenchmarkId::new(op, f.name), |b| {
                b.iter_batched(
                    || bitfield_request(&mut seq, f, op),
                    |req| run(&mut s, &req),
                    BatchSize::SmallInput,
                )
            });
        }
    }
    g.finish();
}

/// SETBIT and GETBIT at random offsets of the 1 MiB bitmap (the `make bench-compare` rows
/// use fixed offsets of many small keys; this is the single-large-bitmap case).
fn bench_single_bits(c: &mut Criterion) {
    let mut s = loaded_session();
    let mut seq = Seq(17);
    let mut g = c.benchmark_group("bits_1MiB");
    g.throughput(Throughput::Elements(1));
    for name in ["setbit", "getbit"] {
        g.bench_function(name, |b| {
            b.iter_batched(
                || {
                    let r = seq.next_u64();
                    let offset = (r % (MIB as u64 * 8)).to_string();
                    let value = if r >> 63 == 0 { &b"0"[..] } else { b"1" };
                    if name == "setbit" {
                        request(&[b"SETBIT", b"bm:1m", offset.as_bytes(), value])
                    } else {
                        request(&[b"GETBIT", b"bm:1m", offset.as_bytes()])
                    }
                },
                |req| run(&mut s, &req),
                BatchSize::SmallInput,
            )
        });
    }
    g.finish();
}

criterion_group!(
    benches,
    bench_helpers,
    bench_bitcount,
    bench_bitop,
    bench_bitfield,
    bench_single_bits
);
criterion_main!(benches);
