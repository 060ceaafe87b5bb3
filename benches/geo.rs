//! Geo benchmarks: the geohash arithmetic (encode, decode, the nine search cells, distance)
//! and the GEOSEARCH / GEOADD command paths (parser, registry, store, reply) on a 100,000-member
//! geo set spread over a 10° x 10° region, searched with radii of 1 km and 10 km (the nearest
//! COUNT 10, or every match).

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use ferrokv::commands::session::{request, Session};
use ferrokv::util::geohash::{self, Extent, Shape};

/// A fixed pseudo-random sequence, so runs compare like with like.
#[path = "../tests/integration/common/splitmix.rs"]
mod splitmix;
use splitmix::SplitMix64 as Seq;

const MEMBERS: u64 = 100_000;

/// A position in the benchmark region (longitude 10..20, latitude 35..45), as text.
fn position(seq: &mut Seq) -> (String, String) {
    let lon = 10.0 + (seq.next_u64() % 1_000_000) as f64 / 100_000.0;
    let lat = 35.0 + (seq.next_u64() % 1_000_000) as f64 / 100_000.0;
    (format!("{lon:.5}"), format!("{lat:.5}"))
}

fn bench_math(c: &mut Criterion) {
    let mut g = c.benchmark_group("geohash");
    g.throughput(Throughput::Elements(1));
    let mut seq = Seq(3);
    g.bench_function("encode", |b| {
        b.iter(|| {
            let v = seq.next_u64();
            let lon = (v % 360_000) as f64 / 1000.0 - 180.0;
            let lat = (v % 170_000) as f64 / 1000.0 - 85.0;
            black_box(geohash::lon_lat_to_score(lon, lat))
        })
    });
    g.bench_function("decode", |b| {
        b.iter(|| black_box(geohash::score_to_lon_lat((seq.next_u64() >> 12) as f64)))
    });
    g.bench_function("distance", |b| {
        b.iter(|| {
            let v = (seq.next_u64() % 1000) as f64 / 100.0;
            black_box(geohash::distance(13.0, 38.0, 13.0 + v, 38.0 - v))
        })
    });
    g.bench_function("search_areas", |b| {
        b.iter(|| {
            let r = (seq.next_u64() % 1000) as f64;
            black_box(geohash::search_areas(&Shape {
                center: [15.0, 40.0],
                extent: Extent::Radius(r),
                conversion: 1000.0,
            }))
        })
    });
    g.finish();
}

/// Builds the next request of a command benchmark.
type MakeRequest = Box<dyn FnMut() -> Vec<u8>>;

fn search(seq: &mut Seq, radius: &[u8], extra: &[&[u8]]) -> Vec<u8> {
    let (lon, lat) = position(seq);
    let mut cmd: Vec<&[u8]> = vec![
        b"GEOSEARCH",
        b"geo",
        b"FROMLONLAT",
        lon.as_bytes(),
        lat.as_bytes(),
        b"BYRADIUS",
        radius,
        b"km",
    ];
    cmd.extend_from_slice(extra);
    request(&cmd)
}

fn bench_commands(c: &mut Criterion) {
    let mut session = Session::new();
    let mut run = |req: &[u8]| {
        session.feed(1, req);
        session.out.buf.clear();
    };
    let mut seq = Seq(5);
    for start in (0..MEMBERS).step_by(1000) {
        let args: Vec<Vec<u8>> = (start..start + 1000)
            .flat_map(|i| {
                let (lon, lat) = position(&mut seq);
                [
                    lon.into_bytes(),
                    lat.into_bytes(),
                    format!("p:{i}").into_bytes(),
                ]
            })
            .collect();
        let mut cmd: Vec<&[u8]> = vec![b"GEOADD", b"geo"];
        cmd.extend(args.iter().map(|a| &a[..]));
        run(&request(&cmd));
    }
    let mut g = c.benchmark_group("geo_commands");
    g.throughput(Throughput::Elements(1));
    let cases: Vec<(&str, MakeRequest)> = vec![
        (
            "geoadd_update",
            Box::new(move || {
                let (lon, lat) = position(&mut seq);
                let m = format!("p:{}", seq.next_u64() % MEMBERS);
                request(&[
                    b"GEOADD",
                    b"geo",
                    lon.as_bytes(),
                    lat.as_bytes(),
                    m.as_bytes(),
                ])
            }),
        ),
        (
            "geosearch_1km",
            Box::new(move || search(&mut seq, b"1", &[])),
        ),
        (
            "geosearch_10km_count_10_withdist",
            Box::new(move || search(&mut seq, b"10", &[b"COUNT", b"10", b"WITHDIST"])),
        ),
        (
            "geosearch_10km_withcoord",
            Box::new(move || search(&mut seq, b"10", &[b"WITHCOORD"])),
        ),
    ];
    for (name, mut make) in cases {
        g.bench_function(name, |b| {
            b.iter_batched(&mut make, |req| run(&req), criterion::BatchSize::SmallInput)
        });
    }
    g.finish();
}

criterion_group!(benches, bench_math, bench_commands);
criterion_main!(benches);
