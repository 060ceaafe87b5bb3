//! Store microbenchmarks: GET/SET hit and miss and INCR, on one thread and with a second
//! thread contending on the same database; Redis glob matching (KEYS/SCAN MATCH).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use ferrokv::store::{Entry, Scope, Store, StrBuf, Value};
use ferrokv::util::glob::glob_match;

const KEYS: usize = 100_000;

fn keys() -> Vec<Vec<u8>> {
    (0..KEYS)
        .map(|i| format!("key:{i:06}").into_bytes())
        .collect()
}

fn loaded_store(keys: &[Vec<u8>]) -> Store {
    let store = Store::new(1);
    for k in keys {
        store.with(&Scope::new(None, None)).db(0).write(k, 0, |s| {
            s.put(Entry::new(Value::Str(StrBuf::from_slice(b"xyz")), 0))
        });
    }
    store
}

/// The operations measured, each on key `keys[i]`.
fn get(store: &Store, key: &[u8]) -> Option<usize> {
    store
        .with(&Scope::new(None, None))
        .db(0)
        .read(key, 1, |e| match &e.value {
            Value::Str(s) => s.len(),
            _ => 0,
        })
}

fn set(store: &Store, key: &[u8]) {
    store
        .with(&Scope::new(None, None))
        .db(0)
        .write(key, 1, |s| {
            s.put(Entry::new(Value::Str(StrBuf::from_slice(b"abc")), 0));
        });
}

fn incr(store: &Store, key: &[u8]) {
    store
        .with(&Scope::new(None, None))
        .db(0)
        .write(key, 1, |s| match s.get() {
            Some(e) => {
                let Value::Str(v) = &mut e.value else {
                    return;
                };
                let n: i64 = std::str::from_utf8(v)
                    .ok()
                    .and_then(|t| t.parse().ok())
                    .unwrap_or(0);
                *v = StrBuf::from_slice(itoa::Buffer::new().format(n + 1).as_bytes());
            }
            None => {
                s.put(Entry::new(Value::Str(StrBuf::from_slice(b"1")), 0));
            }
        });
}

fn bench_ops(c: &mut Criterion, contended: bool) {
    let keys = Arc::new(keys());
    let store = Arc::new(loaded_store(&keys));
    // With `contended`, a second thread hammers GET and SET on the same keys meanwhile.
    let stop = Arc::new(AtomicBool::new(false));
    let other = contended.then(|| {
        let (store, keys, stop) = (store.clone(), keys.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut i = 0usize;
            while !stop.load(Ordering::Relaxed) {
                i = (i + 104_729) % KEYS;
                if i.is_multiple_of(4) {
                    set(&store, &keys[i]);
                } else {
                    black_box(get(&store, &keys[i]));
                }
            }
        })
    });
    let name = if contended {
        "store_2_threads"
    } else {
        "store_1_thread"
    };
    let mut g = c.benchmark_group(name);
    g.throughput(Throughput::Elements(1));
    let mut i = 0usize;
    let mut next = || {
        i = (i + 7919) % KEYS;
        i
    };
    g.bench_function("get_hit", |b| b.iter(|| get(&store, &keys[next()])));
    g.bench_function("get_miss", |b| {
        b.iter(|| get(&store, black_box(b"no-such-key")))
    });
    g.bench_function("set_existing", |b| b.iter(|| set(&store, &keys[next()])));
    g.bench_function("incr", |b| b.iter(|| incr(&store, black_box(b"counter"))));
    g.finish();
    stop.store(true, Ordering::Relaxed);
    if let Some(t) = other {
        t.join().expect("contending thread");
    }
}

fn bench_store(c: &mut Criterion) {
    bench_ops(c, false);
    bench_ops(c, true);
}

fn bench_glob(c: &mut Criterion) {
    let mut g = c.benchmark_group("glob");
    let key = b"user:1000:session:abcdef";
    for (name, pattern) in [
        ("literal", &b"user:1000:session:abcdef"[..]),
        ("prefix_star", b"user:*"),
        ("class_and_star", b"user:[0-9]*:session:*"),
        ("question_marks", b"user:????:session:??????"),
        ("no_match", b"admin:*"),
    ] {
        g.bench_function(name, |b| {
            b.iter(|| glob_match(black_box(pattern), black_box(key), false))
        });
    }
    g.finish();
}

criterion_group!(benches, bench_store, bench_glob);
criterion_main!(benches);
