//! Differential generators for the sets family.
//!
//! Members come from a small pool (so commands collide): mostly small integers, which keep
//! sets as intsets, plus letters and almost-integers ("007", "-0", "+1", ...) that Redis does
//! not store in an intset. One entry builds sets just past the intset limit (512) to cross the
//! intset -> hashtable conversion, and OBJECT ENCODING is compared whenever a key holds a set.
//! Replies in hash order use `Check::Sorted`; SPOP and SRANDMEMBER use `Check::Pop` /
//! `Check::Sample`; SSCAN is iterated to the end with `Check::KeyScanAll`.

use super::{b, e, Check, Entry, Gen, Step};

/// Generator entries for this family.
#[rustfmt::skip]
pub static ENTRIES: &[Entry] = &[
    e("sadd", 8, |g| g.cmd("SADD", |g, a| { a.push(g.key()); a.extend(members(g, 1, 5)) })),
    e("srem", 3, |g| g.cmd("SREM", |g, a| { a.push(g.key()); a.extend(members(g, 1, 4)) })),
    e("smembers", 2, |g| g.cmd("SMEMBERS", |g, a| a.push(g.key())).check(Check::Sorted)),
    e("sismember", 2, |g| g.cmd("SISMEMBER", |g, a| { a.push(g.key()); a.push(member(g)) })),
    e("smismember", 1, |g| g.cmd("SMISMEMBER", |g, a| { a.push(g.key()); a.extend(members(g, 1, 4)) })),
    e("scard", 2, |g| g.cmd("SCARD", |g, a| a.push(g.key()))),
    e("spop", 2, spop),
    e("srandmember", 2, srandmember),
    e("smove", 2, |g| g.cmd("SMOVE", |g, a| { a.push(g.key()); a.push(g.key()); a.push(member(g)) })),
    e("sinter", 2, |g| multi(g, "SINTER").check(Check::Sorted)),
    e("sunion", 2, |g| multi(g, "SUNION").check(Check::Sorted)),
    e("sdiff", 2, |g| multi(g, "SDIFF").check(Check::Sorted)),
    e("sinterstore", 2, |g| store(g, "SINTERSTORE")),
    e("sunionstore", 2, |g| store(g, "SUNIONSTORE")),
    e("sdiffstore", 2, |g| store(g, "SDIFFSTORE")),
    e("sintercard", 2, sintercard),
    e("sscan", 1, sscan),
    e("sadd-big", 1, sadd_big),
    e("set-encoding", 1, |g| g.cmd("OBJECT", |g, a| { a.push(b("ENCODING")); a.push(g.key()) })
        .check(Check::IfType("set"))),
];

/// Steps that compare `key`'s final content when it holds a set (SMEMBERS answers WRONGTYPE
/// for other types, the encoding is compared only for sets).
pub fn read_back(key: &[u8]) -> Vec<Step> {
    vec![
        Step {
            args: vec![b("SMEMBERS"), key.to_vec()],
            check: Check::Sorted,
        },
        Step {
            args: vec![b("OBJECT"), b("ENCODING"), key.to_vec()],
            check: Check::IfType("set"),
        },
    ]
}

/// Members that are not integers to Redis, or are at the limits.
#[rustfmt::skip]
const ODD_MEMBERS: &[&str] = &[
    "", "007", "-0", "+1", " 1", "1 ", "9223372036854775807", "-9223372036854775808",
    "18446744073709551616", "1.5", "hello", "x\0y", "\r\n", "-",
];

/// A member: mostly small integers, sometimes letters or odd values.
fn member(g: &mut Gen) -> Vec<u8> {
    match g.below(100) {
        0..=54 => g.range(-3, 12).to_string().into_bytes(),
        55..=84 => g.letters(1, 2),
        _ => b(g.pick(ODD_MEMBERS)),
    }
}

fn members(g: &mut Gen, min: u64, max: u64) -> Vec<Vec<u8>> {
    let n = min + g.below(max - min + 1);
    (0..n).map(|_| member(g)).collect()
}

/// `NAME key [key ...]`.
fn multi(g: &mut Gen, name: &str) -> Step {
    g.cmd(name, |g, a| {
        let n = 1 + g.below(4);
        a.extend(g.keys(n));
    })
}

/// `NAME destination key [key ...]`.
fn store(g: &mut Gen, name: &str) -> Step {
    g.cmd(name, |g, a| {
        let n = 2 + g.below(3);
        a.extend(g.keys(n));
    })
}

/// `SPOP key [count]`, sometimes with a bad count or an extra argument.
fn spop(g: &mut Gen) -> Step {
    g.cmd("SPOP", |g, a| {
        a.push(g.key());
        if g.chance(60) {
            let count = g.pick(&["0", "1", "2", "3", "5", "20", "-1", "x", "", "1.5", "007"]);
            a.push(b(count));
            if g.chance(5) {
                a.push(b("1"));
            }
        }
    })
    .check(Check::Pop)
}

/// `SRANDMEMBER key [count]`; negative counts stay small (Redis honours any count).
fn srandmember(g: &mut Gen) -> Step {
    g.cmd("SRANDMEMBER", |g, a| {
        a.push(g.key());
        if g.chance(70) {
            let count = g.pick(&[
                "0",
                "1",
                "2",
                "3",
                "5",
                "100",
                "-1",
                "-3",
                "-10",
                "x",
                "",
                "-9223372036854775808",
                "9223372036854775807",
            ]);
            a.push(b(count));
            if g.chance(5) {
                a.push(b("1"));
            }
        }
    })
    .check(Check::Sample)
}

/// `SINTERCARD numkeys key [key ...] [LIMIT limit]`, numkeys sometimes wrong.
fn sintercard(g: &mut Gen) -> Step {
    g.cmd("SINTERCARD", |g, a| {
        let n = 1 + g.below(3);
        let numkeys = if g.chance(85) {
            n.to_string()
        } else {
            g.pick(&["0", "-1", "x", "4", "9223372036854775807"])
                .to_string()
        };
        a.push(numkeys.into_bytes());
        a.extend(g.keys(n));
        for _ in 0..g.below(3) {
            match g.below(5) {
                0..=2 => {
                    let limit = g.pick(&["0", "1", "2", "5", "-1", "x"]);
                    a.extend([g.maybe_mixed_case("LIMIT"), b(limit)]);
                }
                3 => a.push(b("LIMIT")),
                _ => a.push(b("FOO")),
            }
        }
    })
}

/// `SSCAN key [MATCH pattern] [COUNT count]` iterated to the end (the cursor is inserted).
fn sscan(g: &mut Gen) -> Step {
    g.cmd("SSCAN", |g, a| {
        a.push(g.key());
        if g.chance(40) {
            let pattern = g.pick(&["*", "1*", "?", "[a-c]", "*a*", "-*", "", "\\*", "[", "h*o"]);
            a.extend([g.maybe_mixed_case("MATCH"), b(pattern)]);
        }
        if g.chance(40) {
            let count = g.pick(&["1", "2", "5", "100", "0", "-1", "abc"]);
            a.extend([g.maybe_mixed_case("COUNT"), b(count)]);
        }
        if g.chance(5) {
            a.push(b(g.pick(&["FOO", "TYPE", "MATCH"])));
        }
    })
    .check(Check::KeyScanAll)
}

/// A set just below or past the intset limit: `SADD key 0 1 ... n` (n around 512), sometimes
/// with a non-integer member.
fn sadd_big(g: &mut Gen) -> Step {
    g.cmd("SADD", |g, a| {
        a.push(g.key());
        let n = g.range(505, 520);
        a.extend((0..n).map(|i| i.to_string().into_bytes()));
        if g.chance(20) {
            a.push(g.letters(1, 3));
        }
    })
}
