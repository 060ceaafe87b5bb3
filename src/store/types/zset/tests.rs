//! Model-based tests: every operation is checked against a plain sorted vector, with the
//! structural invariants of the tree verified along the way.

use super::*;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

/// The reference model: `(score, member)` sorted in zset order.
#[derive(Default)]
struct Model(Vec<(f64, Vec<u8>)>);

impl Model {
    fn sort(&mut self) {
        self.0.sort_by(|a, b| cmp_key(a.0, &a.1, b.0, &b.1));
    }
    fn find(&self, m: &[u8]) -> Option<usize> {
        self.0.iter().position(|(_, x)| x == m)
    }
    fn set(&mut self, m: &[u8], s: f64) {
        match self.find(m) {
            Some(i) => self.0[i].0 = s,
            None => self.0.push((s, m.to_vec())),
        }
        self.sort();
    }
}

fn same(z: &ZSet, model: &Model) {
    z.check();
    assert_eq!(z.len(), model.0.len());
    let got: Vec<(f64, Vec<u8>)> = z.iter().map(|(m, s)| (s, m.to_vec())).collect();
    assert_eq!(got, model.0);
    let rev: Vec<(f64, Vec<u8>)> = z
        .iter_from(z.len().saturating_sub(1), true)
        .map(|(m, s)| (s, m.to_vec()))
        .collect();
    let mut expect = model.0.clone();
    expect.reverse();
    if !model.0.is_empty() {
        assert_eq!(rev, expect);
    }
}

fn member(rng: &mut StdRng, space: u32) -> Vec<u8> {
    let n = rng.gen_range(0..space);
    if n % 97 == 0 {
        // Occasionally long (forces the big form) or empty.
        return if n % 2 == 0 {
            format!("long-member-{n:0>70}").into_bytes()
        } else {
            Vec::new()
        };
    }
    format!("m{n}").into_bytes()
}

fn score(rng: &mut StdRng) -> f64 {
    match rng.gen_range(0..10) {
        0 => 0.0,
        1 => -0.0,
        2 => f64::INFINITY,
        3 => f64::NEG_INFINITY,
        4..=6 => rng.gen_range(-5..5) as f64,
        _ => rng.gen_range(-1000.0..1000.0),
    }
}

/// Random inserts, updates, removals, pops and range removals against the model.
fn churn(seed: u64, ops: usize, space: u32) {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut z = ZSet::new();
    let mut model = Model::default();
    for step in 0..ops {
        match rng.gen_range(0..100) {
            0..=54 => {
                let (m, s) = (member(&mut rng, space), score(&mut rng));
                let before = model.find(&m).map(|i| model.0[i].0);
                let out = z.add(s, &m, AddFlags::default());
                match before {
                    None => assert_eq!(out, AddOutcome::Added(s)),
                    Some(old) if old == s => assert_eq!(out, AddOutcome::Unchanged(s)),
                    Some(_) => assert_eq!(out, AddOutcome::Updated(s)),
                }
                if before.is_none_or(|old| old != s) {
                    model.set(&m, s);
                }
            }
            55..=79 => {
                let m = member(&mut rng, space);
                let had = model.find(&m);
                assert_eq!(z.remove(&m), had.is_some());
                if let Some(i) = had {
                    model.0.remove(i);
                }
            }
            80..=84 => {
                let max = rng.gen_bool(0.5);
                let got = z.pop(max).map(|(m, s)| (s, m.to_vec()));
                let want = if model.0.is_empty() {
                    None
                } else if max {
                    model.0.pop()
                } else {
                    Some(model.0.remove(0))
                };
                assert_eq!(got, want);
            }
            85..=87 => {
                let len = model.0.len();
                let lo = rng.gen_range(0..=len);
                let hi = (lo + rng.gen_range(0..20)).min(len);
                assert_eq!(z.remove_ranks(lo, hi), hi - lo);
                model.0.drain(lo..hi);
            }
            88..=90 => {
                let a = rng.gen_range(-6.0..6.0f64).round();
                let range = ScoreRange {
                    min: a,
                    max: a + rng.gen_range(0.0..3.0f64).round(),
                    min_ex: rng.gen_bool(0.3),
                    max_ex: rng.gen_bool(0.3),
                };
                let n = z.remove_score_range(&range);
                let before = model.0.len();
                model
                    .0
                    .retain(|(s, _)| !(range.gte_min(*s) && range.lte_max(*s)));
                assert_eq!(n, before - model.0.len());
            }
            _ => {
                // Queries.
                for (rank, (s, m)) in model.0.iter().enumerate().step_by(7) {
                    assert_eq!(z.rank(m), Some((rank, *s)), "rank of {m:?}");
                    assert_eq!(z.get(rank), Some((&m[..], *s)));
                    assert_eq!(z.score(m), Some(*s));
                }
                assert_eq!(z.rank(b"absent-member"), None);
                assert_eq!(z.get(model.0.len()), None);
                let a = rng.gen_range(-6.0..6.0f64).round();
                let range = ScoreRange {
                    min: a,
                    max: a + rng.gen_range(-1.0..4.0f64).round(),
                    min_ex: rng.gen_bool(0.3),
                    max_ex: rng.gen_bool(0.3),
                };
                let inside: Vec<usize> = (0..model.0.len())
                    .filter(|&i| range.gte_min(model.0[i].0) && range.lte_max(model.0[i].0))
                    .collect();
                assert_eq!(z.count_in_score_range(&range), inside.len());
                assert_eq!(z.score_start(&range, false), inside.first().copied());
                assert_eq!(z.score_start(&range, true), inside.last().copied());
            }
        }
        if step % 50 == 0 || model.0.len() < 5 {
            same(&z, &model);
        }
    }
    same(&z, &model);
}

#[test]
fn small_churn_matches_model() {
    for seed in 0..40 {
        churn(seed, 600, 60);
    }
}

#[test]
fn large_churn_matches_model() {
    for seed in 0..4 {
        churn(1000 + seed, 20_000, 3000);
    }
}

#[test]
fn encoding_follows_redis_limits() {
    let mut z = ZSet::new();
    for i in 0..LISTPACK_MAX_ENTRIES {
        z.insert(format!("{i}").as_bytes(), i as f64);
    }
    assert_eq!(z.encoding(), "listpack");
    z.insert(b"one-more", 0.0);
    assert_eq!(z.encoding(), "skiplist");
    z.remove(b"one-more");
    assert_eq!(
        z.encoding(),
        "skiplist",
        "never converted back by deletions"
    );

    let mut z = ZSet::new();
    z.insert(&[b'x'; LISTPACK_MAX_VALUE], 1.0);
    assert_eq!(z.encoding(), "listpack");
    z.insert(&[b'y'; LISTPACK_MAX_VALUE + 1], 1.0);
    assert_eq!(z.encoding(), "skiplist");

    let small = ZSet::from_pairs(vec![(StrBuf::from_slice(b"a"), 1.0)]);
    assert_eq!(small.encoding(), "listpack");
    let long = ZSet::from_pairs(vec![(StrBuf::from_slice(&[b'a'; 65]), 1.0)]);
    assert_eq!(long.encoding(), "skiplist");
}

#[test]
fn add_flags_follow_zadd() {
    let mut z = ZSet::new();
    let f = |nx, xx, gt, lt, incr| AddFlags {
        nx,
        xx,
        gt,
        lt,
        incr,
    };
    assert_eq!(
        z.add(1.0, b"a", f(false, true, false, false, false)),
        AddOutcome::Skipped
    );
    assert_eq!(
        z.add(1.0, b"a", f(true, false, false, false, false)),
        AddOutcome::Added(1.0)
    );
    assert_eq!(
        z.add(2.0, b"a", f(true, false, false, false, false)),
        AddOutcome::Skipped
    );
    assert_eq!(
        z.add(0.5, b"a", f(false, false, true, false, false)),
        AddOutcome::Skipped
    );
    assert_eq!(
        z.add(3.0, b"a", f(false, false, true, false, false)),
        AddOutcome::Updated(3.0)
    );
    assert_eq!(
        z.add(4.0, b"a", f(false, false, false, true, false)),
        AddOutcome::Skipped
    );
    assert_eq!(
        z.add(2.0, b"a", f(false, true, false, true, true)),
        AddOutcome::Skipped
    );
    assert_eq!(
        z.add(-1.0, b"a", f(false, true, false, true, true)),
        AddOutcome::Updated(2.0)
    );
    assert_eq!(
        z.add(2.0, b"a", f(false, false, false, false, false)),
        AddOutcome::Unchanged(2.0)
    );
    z.insert(b"inf", f64::INFINITY);
    assert_eq!(
        z.add(
            f64::NEG_INFINITY,
            b"inf",
            f(false, false, false, false, true)
        ),
        AddOutcome::NotANumber
    );
    assert_eq!(z.score(b"inf"), Some(f64::INFINITY));
    // -0 over 0 changes nothing (they compare equal).
    z.insert(b"zero", 0.0);
    assert_eq!(
        z.add(-0.0, b"zero", AddFlags::default()),
        AddOutcome::Unchanged(-0.0)
    );
    assert!(z.score(b"zero").unwrap().is_sign_positive());
}

fn lex(min: &str, max: &str) -> LexRange {
    let b = |s: &str| match s.as_bytes() {
        b"-" => LexBound::Min,
        b"+" => LexBound::Max,
        [b'[', rest @ ..] => LexBound::Inclusive(rest.to_vec()),
        [b'(', rest @ ..] => LexBound::Exclusive(rest.to_vec()),
        _ => panic!("bad bound"),
    };
    LexRange {
        min: b(min),
        max: b(max),
    }
}

#[test]
fn lex_ranges_on_equal_scores_agree_between_forms() {
    let members: Vec<String> = (0..300).map(|i| format!("{:03}", i * 7 % 1000)).collect();
    let mut small = ZSet::new();
    let mut big = ZSet::new();
    for m in &members[..100] {
        small.insert(m.as_bytes(), 0.0);
        big.insert(m.as_bytes(), 0.0);
    }
    for i in 0..200 {
        big.insert(format!("zz{i}").as_bytes(), 0.0);
    }
    for i in 0..200 {
        big.remove(format!("zz{i}").as_bytes());
    }
    assert_eq!((small.encoding(), big.encoding()), ("listpack", "skiplist"));
    for (min, max) in [
        ("-", "+"),
        ("[100", "[300"),
        ("(100", "(301"),
        ("[5", "+"),
        ("-", "(050"),
        ("+", "-"),
        ("[300", "[100"),
        ("[999", "+"),
        ("-", "-"),
        ("(007", "[007"),
        ("[007", "[007"),
    ] {
        let r = lex(min, max);
        for rev in [false, true] {
            assert_eq!(
                small.lex_start(&r, rev),
                big.lex_start(&r, rev),
                "{min} {max} {rev}"
            );
        }
        assert_eq!(
            small.count_in_lex_range(&r),
            big.count_in_lex_range(&r),
            "{min} {max}"
        );
    }
    let r = lex("[100", "[300");
    assert_eq!(small.remove_lex_range(&r), big.remove_lex_range(&r));
    let a: Vec<_> = small.iter().collect();
    let b: Vec<_> = big.iter().collect();
    assert_eq!(a, b);
}

#[test]
fn lex_start_on_mixed_scores_follows_listpack_scan() {
    // Redis 7.0: ZADD z 1 c 2 a 3 b 4 e 5 d; ZRANGEBYLEX z [b [d -> c a b;
    // ZREVRANGEBYLEX z [d [b -> d e b; ZLEXCOUNT z [a [c -> 3.
    let mut z = ZSet::new();
    for (s, m) in [(1.0, "c"), (2.0, "a"), (3.0, "b"), (4.0, "e"), (5.0, "d")] {
        z.insert(m.as_bytes(), s);
    }
    let r = lex("[b", "[d");
    let fwd: Vec<&[u8]> = z
        .iter_from(z.lex_start(&r, false).unwrap(), false)
        .take_while(|(m, _)| r.lte_max(m))
        .map(|(m, _)| m)
        .collect();
    assert_eq!(fwd, [b"c", b"a", b"b"]);
    let rev: Vec<&[u8]> = z
        .iter_from(z.lex_start(&r, true).unwrap(), true)
        .take_while(|(m, _)| r.gte_min(m))
        .map(|(m, _)| m)
        .collect();
    assert_eq!(rev, [b"d", b"e", b"b"]);
    assert_eq!(z.count_in_lex_range(&lex("[a", "[c")), 3);
}

#[test]
fn scan_returns_every_stable_member_across_compaction() {
    let mut z = ZSet::new();
    for i in 0..40_000 {
        z.insert(format!("m{i}").as_bytes(), i as f64);
    }
    let mut seen = std::collections::HashSet::new();
    let mut cursor = 0;
    let mut calls = 0;
    loop {
        cursor = z.scan(cursor, 100, |m, _| {
            seen.insert(m.to_vec());
        });
        calls += 1;
        // Churn: delete most of the odd members mid-scan, forcing a compaction.
        if calls == 50 {
            for i in (1..40_000).step_by(2) {
                z.remove(format!("m{i}").as_bytes());
            }
            for i in (2..40_000).step_by(4) {
                z.remove(format!("m{i}").as_bytes());
            }
            z.check();
        }
        if cursor == 0 {
            break;
        }
        assert!(calls < 10_000);
    }
    for i in (0..40_000).step_by(4) {
        assert!(seen.contains(format!("m{i}").as_bytes()), "missing m{i}");
    }
}

#[test]
fn clone_is_deep_and_independent() {
    let mut z = ZSet::new();
    for i in 0..1000 {
        z.insert(format!("m{i}").as_bytes(), (i % 17) as f64);
    }
    let c = z.clone();
    z.remove(b"m1");
    z.insert(b"m2", 100.0);
    assert_eq!(c.len(), 1000);
    assert_eq!(c.score(b"m1"), Some(1.0));
    assert_eq!(c.score(b"m2"), Some(2.0));
    c.check();
}

/// Deep trees (three inner levels) built in random, ascending and descending order, then
/// emptied in random order, from the front and from the back: merges and borrows at every level.
#[test]
fn deep_tree_survives_mass_deletion() {
    let n = 150_000u32;
    for order in 0..3 {
        let mut rng = StdRng::seed_from_u64(order);
        let mut ids: Vec<u32> = (0..n).collect();
        match order {
            0 => ids.shuffle(&mut rng),
            1 => {}
            _ => ids.reverse(),
        }
        let mut z = ZSet::new();
        for &i in &ids {
            z.insert(format!("{i:08}").as_bytes(), f64::from(i % 1000));
        }
        z.check();
        assert_eq!(z.len(), n as usize);
        // Remove 90% in random order, checking as we go.
        ids.shuffle(&mut rng);
        for (k, &i) in ids.iter().enumerate().take(n as usize * 9 / 10) {
            assert!(z.remove(format!("{i:08}").as_bytes()));
            if k % 20_000 == 0 {
                z.check();
            }
        }
        z.check();
        let rest = z.len();
        // Then pop the rest alternately from both ends: output stays sorted.
        let mut last_min: Option<(f64, Vec<u8>)> = None;
        for k in 0..rest {
            let (m, s) = z.pop(k % 2 == 1).unwrap();
            if k % 2 == 0 {
                if let Some((ls, lm)) = &last_min {
                    assert_eq!(cmp_key(*ls, lm, s, &m), Ordering::Less);
                }
                last_min = Some((s, m.to_vec()));
            }
            if k % 1000 == 0 {
                z.check();
            }
        }
        assert!(z.is_empty());
        z.check();
    }
}

/// Popping from the front of a randomly built deep tree underflows the leftmost nodes, whose
/// right siblings are often large enough to lend children.
#[test]
fn deep_tree_pops_from_the_front() {
    let mut rng = StdRng::seed_from_u64(7);
    let mut ids: Vec<u32> = (0..200_000).collect();
    ids.shuffle(&mut rng);
    let mut z = ZSet::new();
    for &i in &ids {
        z.insert(format!("{i:08}").as_bytes(), 0.0);
    }
    for k in 0..190_000u32 {
        let (m, _) = z.pop(false).unwrap();
        assert_eq!(&m[..], format!("{k:08}").as_bytes());
        if k % 10_000 == 0 {
            z.check();
        }
    }
    z.check();
    assert_eq!(z.get(0).unwrap().0, b"00190000");
}
