//! Differential generators for the sorted-set family.
//!
//! Members come from a small alphabet (so commands collide) and zsets stay far below 128
//! members of at most 64 bytes: both servers keep them in the compact (listpack) form, where
//! Redis's answers are fully deterministic — including lexicographic ranges over mixed scores
//! and ZSCAN order. The big (skiplist) form is compared against Redis by
//! `tests/integration/zsets.rs` on inputs where Redis is deterministic. ZRANDMEMBER is compared
//! by shape only ([`Check::Shape`]), except with a count covering the whole zset, which Redis
//! answers in descending order. ZRANK/ZREVRANK (7.2 accepts a WITHSCORE argument that 7.0
//! rejects by arity) are queued behind a harmless first step so the arity generator never
//! appends to them.

use super::{b, e, Check, Entry, Gen, Step};

/// Generator entries for this family.
#[rustfmt::skip]
pub static ENTRIES: &[Entry] = &[
    e("zadd", 12, zadd),
    e("zadd-same-score", 6, zadd_same_score),
    e("zset-scenario", 16, scenario),
    e("zincrby", 2, |g| g.cmd("ZINCRBY", |g, a| { a.push(zkey(g)); a.push(score(g)); a.push(member(g)) })),
    e("zrem", 2, |g| g.cmd("ZREM", |g, a| { a.push(zkey(g)); for _ in 0..1 + g.below(3) { a.push(member(g)) } })),
    e("zscore", 2, |g| g.cmd("ZSCORE", |g, a| { a.push(zkey(g)); a.push(member(g)) })),
    e("zmscore", 1, |g| g.cmd("ZMSCORE", |g, a| { a.push(zkey(g)); for _ in 0..1 + g.below(3) { a.push(member(g)) } })),
    e("zcard", 2, |g| g.cmd("ZCARD", |g, a| a.push(zkey(g)))),
    e("zcount", 2, |g| g.cmd("ZCOUNT", |g, a| { a.push(zkey(g)); a.push(score_bound(g)); a.push(score_bound(g)) })),
    e("zlexcount", 2, |g| g.cmd("ZLEXCOUNT", |g, a| { a.push(zkey(g)); a.push(lex_bound(g)); a.push(lex_bound(g)) })),
    e("zrange", 6, |g| zrange(g, "ZRANGE", false)),
    e("zrangestore", 2, |g| zrange(g, "ZRANGESTORE", true)),
    e("zrevrange", 1, |g| by_rank(g, "ZREVRANGE")),
    e("zrangebyscore", 2, |g| by_bounds(g, "ZRANGEBYSCORE", score_bound)),
    e("zrevrangebyscore", 2, |g| by_bounds(g, "ZREVRANGEBYSCORE", score_bound)),
    e("zrangebylex", 2, |g| by_bounds(g, "ZRANGEBYLEX", lex_bound)),
    e("zrevrangebylex", 2, |g| by_bounds(g, "ZREVRANGEBYLEX", lex_bound)),
    e("zrank", 2, |g| rank(g, "ZRANK")),
    e("zrevrank", 1, |g| rank(g, "ZREVRANK")),
    e("zremrangebyrank", 1, |g| g.cmd("ZREMRANGEBYRANK", |g, a| { a.push(zkey(g)); a.push(rank_arg(g)); a.push(rank_arg(g)) })),
    e("zremrangebyscore", 1, |g| g.cmd("ZREMRANGEBYSCORE", |g, a| { a.push(zkey(g)); a.push(score_bound(g)); a.push(score_bound(g)) })),
    e("zremrangebylex", 1, |g| g.cmd("ZREMRANGEBYLEX", |g, a| { a.push(zkey(g)); a.push(lex_bound(g)); a.push(lex_bound(g)) })),
    e("zpopmin", 2, |g| zpop(g, "ZPOPMIN")),
    e("zpopmax", 2, |g| zpop(g, "ZPOPMAX")),
    e("zmpop", 2, zmpop),
    e("bzpopmin", 1, |g| bzpop(g, "BZPOPMIN")),
    e("bzpopmax", 1, |g| bzpop(g, "BZPOPMAX")),
    e("bzmpop", 1, bzmpop),
    e("zrandmember", 2, zrandmember),
    e("zunion", 2, |g| set_op(g, "ZUNION", false, true)),
    e("zinter", 2, |g| set_op(g, "ZINTER", false, true)),
    e("zdiff", 1, |g| set_op(g, "ZDIFF", false, false)),
    e("zunionstore", 2, |g| set_op(g, "ZUNIONSTORE", true, true)),
    e("zinterstore", 2, |g| set_op(g, "ZINTERSTORE", true, true)),
    e("zdiffstore", 1, |g| set_op(g, "ZDIFFSTORE", true, false)),
    e("zintercard", 1, zintercard),
    e("zscan", 1, zscan),
];

/// Steps that compare `key`'s final content when it holds this family's type (they must be
/// valid whatever the key holds: use a command that answers WRONGTYPE or nil otherwise).
pub fn read_back(key: &[u8]) -> Vec<Step> {
    vec![Step {
        args: vec![b("ZRANGE"), key.to_vec(), b("0"), b("-1"), b("WITHSCORES")],
        check: Check::Exact,
    }]
}

/// A key: any key of the shared keyspace (so zset commands meet strings and other types and
/// answer WRONGTYPE), but mostly one of three, so that zsets grow and get queried.
fn zkey(g: &mut Gen) -> Vec<u8> {
    if g.chance(65) {
        g.pick(&super::KEYS[4..7]).to_vec()
    } else {
        g.key()
    }
}

/// `ZADD key score member ...` with several members of one score: material for lexicographic
/// ranges, which Redis only defines over equal scores.
fn zadd_same_score(g: &mut Gen) -> Step {
    g.cmd("ZADD", |g, a| {
        a.push(zkey(g));
        let s = b(g.pick(&["0", "0", "1", "-1"]));
        for _ in 0..2 + g.below(6) {
            a.push(s.clone());
            a.push(member(g));
        }
    })
}

/// Single-key generators whose key is `args[1]` (for [`scenario`]).
#[rustfmt::skip]
const ON_ONE_KEY: &[fn(&mut Gen) -> Step] = &[
    |g| zrange(g, "ZRANGE", false),
    |g| zrange(g, "ZRANGE", false),
    |g| by_rank(g, "ZREVRANGE"),
    |g| by_bounds(g, "ZRANGEBYSCORE", score_bound),
    |g| by_bounds(g, "ZREVRANGEBYSCORE", score_bound),
    |g| by_bounds(g, "ZRANGEBYLEX", lex_bound),
    |g| by_bounds(g, "ZREVRANGEBYLEX", lex_bound),
    |g| g.cmd("ZCOUNT", |g, a| { a.push(zkey(g)); a.push(score_bound(g)); a.push(score_bound(g)) }),
    |g| g.cmd("ZLEXCOUNT", |g, a| { a.push(zkey(g)); a.push(lex_bound(g)); a.push(lex_bound(g)) }),
    |g| g.cmd("ZREMRANGEBYRANK", |g, a| { a.push(zkey(g)); a.push(rank_arg(g)); a.push(rank_arg(g)) }),
    |g| g.cmd("ZREMRANGEBYSCORE", |g, a| { a.push(zkey(g)); a.push(score_bound(g)); a.push(score_bound(g)) }),
    |g| g.cmd("ZREMRANGEBYLEX", |g, a| { a.push(zkey(g)); a.push(lex_bound(g)); a.push(lex_bound(g)) }),
    |g| g.cmd("ZRANK", |g, a| { a.push(zkey(g)); a.push(member(g)) }),
    |g| g.cmd("ZREVRANK", |g, a| { a.push(zkey(g)); a.push(member(g)) }),
    |g| g.cmd("ZMSCORE", |g, a| { a.push(zkey(g)); for _ in 0..1 + g.below(3) { a.push(member(g)) } }),
    |g| g.cmd("ZINCRBY", |g, a| { a.push(zkey(g)); a.push(score(g)); a.push(member(g)) }),
    |g| g.cmd("ZREM", |g, a| { a.push(zkey(g)); for _ in 0..1 + g.below(3) { a.push(member(g)) } }),
    |g| zpop(g, "ZPOPMIN"),
    |g| zpop(g, "ZPOPMAX"),
    zadd,
    zscan,
    zrandmember,
];

/// A populated zset, then a few commands on it: every query meets real content (the
/// generated keyspace otherwise holds strings, other types or nothing most of the time).
fn scenario(g: &mut Gen) -> Step {
    let key = zkey(g);
    let same = g.chance(40);
    let mut steps = Vec::new();
    if g.chance(50) {
        steps.push(g.cmd("DEL", |_, a| a.push(key.clone())));
    }
    steps.push(g.cmd("ZADD", |g, a| {
        a.push(key.clone());
        let s = g.range(-2, 2).to_string().into_bytes();
        for _ in 0..3 + g.below(8) {
            a.push(if same { s.clone() } else { score(g) });
            a.push(member(g));
        }
    }));
    for _ in 0..2 + g.below(4) {
        let make = ON_ONE_KEY[g.below(ON_ONE_KEY.len() as u64) as usize];
        let mut step = make(g);
        if step.args.len() > 1 {
            step.args[1] = key.clone();
        }
        steps.push(step);
    }
    if g.chance(30) {
        let other = zkey(g);
        steps.push(g.cmd("ZUNION", |g, a| {
            a.extend([b("2"), key.clone(), other]);
            a.push(g.maybe_mixed_case("WITHSCORES"));
        }));
    }
    g.sequence(steps)
}

/// A member from a small alphabet; sometimes empty, binary, numeric-looking or 64 bytes (the
/// compact form's limit).
fn member(g: &mut Gen) -> Vec<u8> {
    match g.below(100) {
        0..=74 => b(g.pick(&[
            "a", "b", "c", "d", "e", "f", "g", "h", "aa", "ab", "ba", "A",
        ])),
        75..=84 => b(g.pick(&["1", "10", "-1", "2", "007", "1.5", "9223372036854775807"])),
        85..=89 => Vec::new(),
        90..=94 => g
            .pick::<[u8]>(&[b"b\x00c", b"\xff", b"a b", b"\r\n"])
            .to_vec(),
        _ => vec![b'x'; 64],
    }
}

/// A ZADD/ZINCRBY score: mostly valid, sometimes infinite, NaN or not a float.
fn score(g: &mut Gen) -> Vec<u8> {
    if g.chance(75) {
        return g.range(-5, 5).to_string().into_bytes();
    }
    b(g.pick(&[
        "1.5",
        "-0.5",
        "0.1",
        "1e3",
        "inf",
        "-inf",
        "+inf",
        "-0",
        "0x10",
        "3.0",
        ".5",
        "nan",
        "abc",
        "",
        "(1",
        "1e400",
        " 1",
        "1 ",
        "1.7976931348623157e308",
    ]))
}

/// A score-range bound: numbers, `(` exclusive, infinities, invalid.
fn score_bound(g: &mut Gen) -> Vec<u8> {
    if g.chance(75) {
        let n = g.range(-5, 5).to_string();
        return if g.chance(30) {
            format!("({n}").into_bytes()
        } else {
            n.into_bytes()
        };
    }
    b(g.pick(&[
        "-inf", "+inf", "inf", "-inf", "+inf", "(-inf", "(+inf", "(1.5", "0.5", "-0", "1e400",
        "0x2", "abc", "", "(", " 1", "1 ", "nan", "(nan", "((1",
    ]))
}

/// A lexicographic-range bound, sometimes invalid.
fn lex_bound(g: &mut Gen) -> Vec<u8> {
    if g.chance(75) {
        let m = b(g.pick(&["a", "b", "c", "d", "e", "h", "aa", "1", ""]));
        let mut v = b(if g.chance(50) { "[" } else { "(" });
        v.extend(m);
        return v;
    }
    b(g.pick(&["-", "+", "-", "+", "[", "(", "a", "", "+a", "-a", "x"]))
}

/// A rank (ZRANGE start/stop, ZREMRANGEBYRANK), sometimes invalid.
fn rank_arg(g: &mut Gen) -> Vec<u8> {
    if g.chance(92) {
        return g.range(-6, 6).to_string().into_bytes();
    }
    b(g.pick(&[
        "9223372036854775807",
        "-9223372036854775808",
        "abc",
        "",
        "1.5",
        "+1",
        "100",
    ]))
}

/// `LIMIT offset count` values.
fn limit_arg(g: &mut Gen) -> Vec<u8> {
    if g.chance(95) {
        return g.range(-2, 5).to_string().into_bytes();
    }
    b(g.pick(&["abc", "", "9223372036854775807", "-9223372036854775808"]))
}

/// `ZADD key [NX|XX] [GT|LT] [CH] [INCR] score member ...`, options sometimes conflicting.
fn zadd(g: &mut Gen) -> Step {
    g.cmd("ZADD", |g, a| {
        a.push(zkey(g));
        if g.chance(40) {
            for _ in 0..1 + g.below(2) {
                let opt = g.pick(&["NX", "XX", "GT", "LT", "CH", "CH", "INCR", "INCR"]);
                a.push(g.maybe_mixed_case(opt));
            }
        }
        let pairs = if g.chance(90) { 1 + g.below(5) } else { 0 };
        for _ in 0..pairs {
            a.push(score(g));
            a.push(member(g));
        }
        if g.chance(5) {
            a.push(score(g));
        }
    })
}

/// `ZRANGE`/`ZRANGESTORE` with BYSCORE/BYLEX/REV/LIMIT/WITHSCORES in any order.
fn zrange(g: &mut Gen, name: &str, store: bool) -> Step {
    g.cmd(name, |g, a| {
        if store {
            a.push(zkey(g));
        }
        a.push(zkey(g));
        let by = g.below(3);
        let bound = |g: &mut Gen| match by {
            0 => rank_arg(g),
            1 => score_bound(g),
            _ => lex_bound(g),
        };
        a.push(bound(g));
        a.push(bound(g));
        let mut opts: Vec<Vec<u8>> = Vec::new();
        match by {
            1 if g.chance(90) => opts.push(g.maybe_mixed_case("BYSCORE")),
            2 if g.chance(90) => opts.push(g.maybe_mixed_case("BYLEX")),
            _ => {}
        }
        if g.chance(35) {
            opts.push(g.maybe_mixed_case("REV"));
        }
        if g.chance(if by == 0 { 10 } else { 40 }) {
            opts.push(g.maybe_mixed_case("LIMIT"));
            opts.push(limit_arg(g));
            opts.push(limit_arg(g));
        }
        if g.chance(if store || by == 2 { 4 } else { 40 }) {
            opts.push(g.maybe_mixed_case("WITHSCORES"));
        }
        if g.chance(4) {
            opts.push(b(g.pick(&["FOO", "BYSCORE", "REV", "LIMIT"])));
        }
        // Options in any order (LIMIT keeps its two arguments).
        if g.chance(30) {
            opts.reverse();
            if let Some(i) = opts.iter().position(|o| o.eq_ignore_ascii_case(b"LIMIT")) {
                if i >= 2 {
                    opts.swap(i, i - 2);
                    opts[i - 2..=i].reverse();
                }
            }
        }
        a.extend(opts);
    })
}

/// `ZREVRANGE key start stop [WITHSCORES]`.
fn by_rank(g: &mut Gen, name: &str) -> Step {
    g.cmd(name, |g, a| {
        a.push(zkey(g));
        a.push(rank_arg(g));
        a.push(rank_arg(g));
        if g.chance(40) {
            a.push(g.maybe_mixed_case("WITHSCORES"));
        }
        if g.chance(5) {
            a.push(b(g.pick(&["LIMIT", "REV", "BYSCORE"])));
        }
    })
}

/// `Z[REV]RANGEBY{SCORE,LEX} key a b [WITHSCORES] [LIMIT offset count]`.
fn by_bounds(g: &mut Gen, name: &str, bound: fn(&mut Gen) -> Vec<u8>) -> Step {
    g.cmd(name, |g, a| {
        a.push(zkey(g));
        a.push(bound(g));
        a.push(bound(g));
        let lex = name.ends_with("LEX");
        if g.chance(if lex { 3 } else { 40 }) {
            a.push(g.maybe_mixed_case("WITHSCORES"));
        }
        if g.chance(40) {
            a.push(g.maybe_mixed_case("LIMIT"));
            a.push(limit_arg(g));
            a.push(limit_arg(g));
        }
        if g.chance(5) {
            a.push(b(g.pick(&["REV", "BYLEX", "LIMIT"])));
        }
    })
}

/// `ZRANK key member`, queued behind a ZSCORE (see the module doc).
fn rank(g: &mut Gen, name: &str) -> Step {
    let key = zkey(g);
    let m = member(g);
    let first = Step {
        args: vec![b("ZSCORE"), key.clone(), m.clone()],
        check: Check::Exact,
    };
    let rank = g.cmd(name, |_, a| {
        a.push(key);
        a.push(m);
    });
    g.sequence(vec![first, rank])
}

/// `ZPOPMIN key [count]`.
fn zpop(g: &mut Gen, name: &str) -> Step {
    g.cmd(name, |g, a| {
        a.push(zkey(g));
        if g.chance(60) {
            a.push(b(g.pick(&["0", "1", "2", "3", "10", "-1", "abc", ""])));
        }
    })
}

/// `ZMPOP numkeys key ... MIN|MAX [COUNT n]`, sometimes malformed.
fn zmpop(g: &mut Gen) -> Step {
    g.cmd("ZMPOP", |g, a| {
        let n = 1 + g.below(3);
        a.push(if g.chance(90) {
            n.to_string().into_bytes()
        } else {
            b(g.pick(&["0", "-1", "abc", "5"]))
        });
        for _ in 0..n {
            a.push(zkey(g))
        }
        a.push({
            let w = g.pick(&["MIN", "MAX", "MIN", "MAX", "MID"]);
            g.maybe_mixed_case(w)
        });
        if g.chance(50) {
            a.push(g.maybe_mixed_case("COUNT"));
            a.push(b(g.pick(&["1", "2", "5", "0", "-1", "abc"])));
        }
        if g.chance(5) {
            a.push(b(g.pick(&["COUNT", "FOO"])));
        }
    })
}

/// `BZPOPMIN|BZPOPMAX key [key ...] timeout`.
fn bzpop(g: &mut Gen, name: &str) -> Step {
    g.cmd(name, |g, a| {
        for _ in 0..1 + g.below(3) {
            a.push(zkey(g));
        }
        a.push(super::lists::timeout(g));
    })
}

/// `BZMPOP timeout numkeys key [key ...] MIN|MAX [COUNT count]`.
fn bzmpop(g: &mut Gen) -> Step {
    let mut step = zmpop(g);
    step.args[0] = g.maybe_mixed_case("BZMPOP");
    step.args.insert(1, super::lists::timeout(g));
    step
}

/// `ZRANDMEMBER key [count [WITHSCORES]]`: shapes only, except a count covering the zset.
fn zrandmember(g: &mut Gen) -> Step {
    let whole = g.chance(30);
    let mut step = g.cmd("ZRANDMEMBER", |g, a| {
        a.push(zkey(g));
        if whole {
            a.push(b("200"));
        } else if g.chance(80) {
            a.push(b(g.pick(&["1", "2", "3", "-1", "-3", "-10", "0", "abc"])));
        } else {
            return;
        }
        if g.chance(40) {
            a.push(g.maybe_mixed_case("WITHSCORES"));
        }
        if g.chance(5) {
            a.push(b(g.pick(&["FOO", "WITHSCORES"])));
        }
    });
    if !whole {
        step.check = Check::Shape;
    }
    step
}

/// ZUNION/ZINTER/ZDIFF and their STORE forms, with WEIGHTS/AGGREGATE/WITHSCORES.
fn set_op(g: &mut Gen, name: &str, store: bool, weighted: bool) -> Step {
    g.cmd(name, |g, a| {
        if store {
            a.push(zkey(g));
        }
        let n = 1 + g.below(3);
        a.push(if g.chance(92) {
            n.to_string().into_bytes()
        } else {
            b(g.pick(&["0", "-1", "abc", "9"]))
        });
        for _ in 0..n {
            a.push(zkey(g))
        }
        if weighted && g.chance(35) {
            a.push(g.maybe_mixed_case("WEIGHTS"));
            let w = if g.chance(90) { n } else { n + 1 };
            for _ in 0..w {
                a.push(b(g.pick(&[
                    "1", "2", "0", "-1", "0.5", "inf", "-inf", "abc", "1e400",
                ])));
            }
        }
        if weighted && g.chance(30) {
            a.push(g.maybe_mixed_case("AGGREGATE"));
            a.push({
                let w = g.pick(&["SUM", "MIN", "MAX", "AVG"]);
                g.maybe_mixed_case(w)
            });
        }
        if g.chance(if store { 5 } else { 40 }) {
            a.push(g.maybe_mixed_case("WITHSCORES"));
        }
        if g.chance(4) {
            a.push(b(g.pick(&["FOO", "WEIGHTS", "AGGREGATE"])));
        }
    })
}

/// `ZINTERCARD numkeys key ... [LIMIT n]`.
fn zintercard(g: &mut Gen) -> Step {
    g.cmd("ZINTERCARD", |g, a| {
        let n = 1 + g.below(3);
        a.push(if g.chance(92) {
            n.to_string().into_bytes()
        } else {
            b(g.pick(&["0", "-1", "abc", "9"]))
        });
        for _ in 0..n {
            a.push(zkey(g))
        }
        if g.chance(40) {
            a.push(g.maybe_mixed_case("LIMIT"));
            a.push(b(g.pick(&["0", "1", "2", "-1", "abc"])));
        }
        if g.chance(4) {
            a.push(b(g.pick(&["FOO", "WITHSCORES"])));
        }
    })
}

/// `ZSCAN key cursor [MATCH p] [COUNT n]` (compact zsets answer in one call).
fn zscan(g: &mut Gen) -> Step {
    g.cmd("ZSCAN", |g, a| {
        a.push(zkey(g));
        a.push(b(g.pick(&["0", "0", "0", "1", "abc", "-1", ""])));
        if g.chance(40) {
            a.push(g.maybe_mixed_case("MATCH"));
            a.push(b(g.pick(&["*", "a*", "?", "[a-c]", "*b*", "x*", ""])));
        }
        if g.chance(40) {
            a.push(g.maybe_mixed_case("COUNT"));
            a.push(b(g.pick(&["1", "10", "0", "-1", "abc"])));
        }
        if g.chance(5) {
            a.push(b(g.pick(&["FOO", "TYPE", "COUNT"])));
        }
    })
}
