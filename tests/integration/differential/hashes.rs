//! Differential generators for the hashes family.
//!
//! Hash commands run on the shared keys ([`Gen::key`]), so they meet strings and the other
//! types (WRONGTYPE both ways). Fields come from a small set so commands collide; a few fields
//! and values are longer than 64 bytes, and [`big_hash`] crosses 512 fields, so both of Redis's
//! listpack → hashtable conversions happen and OBJECT ENCODING is compared. Replies whose order
//! Redis leaves unspecified (a hashtable's HGETALL, HKEYS, HVALS, HSCAN) are compared sorted;
//! HRANDFIELD only by shape. HSCAN always passes a COUNT large enough for Redis to finish a
//! small hashtable in one call (or an invalid one): cursors themselves are not comparable.

use super::{b, e, step_of, Check, Entry, Gen, Step};

/// Few fields, so commands collide; an empty one, binary ones, a number.
const FIELDS: &[&[u8]] = &[
    b"f0",
    b"f1",
    b"f2",
    b"f3",
    b"f4",
    b"a",
    b"",
    b"x y",
    b"\x00\xff\r\n",
    b"123",
];

/// Key of the self-contained encoding scenarios (deleted before and after use).
const SCRATCH: &[u8] = b"{h}scratch";

/// HRANDFIELD counts: small, zero, negative, invalid, and the range limits. Never a huge
/// negative count without WITHVALUES: Redis would try to send that many picks.
const RANDFIELD_COUNTS: &[&str] = &[
    "1",
    "2",
    "3",
    "5",
    "10",
    "100",
    "0",
    "-1",
    "-2",
    "-5",
    "-30",
    "abc",
    "",
    "1.5",
    "9223372036854775807",
    "-9223372036854775808",
];

/// Counts that are only safe with WITHVALUES, where Redis rejects them as out of range.
const RANDFIELD_WITHVALUES_LIMITS: &[&str] = &[
    "-4611686018427387904",
    "4611686018427387904",
    "-9223372036854775807",
];

#[rustfmt::skip]
pub static ENTRIES: &[Entry] = &[
    e("hset", 5, |g| hset(g, "HSET")),
    e("hmset", 1, |g| hset(g, "HMSET")),
    e("hsetnx", 1, |g| g.cmd("HSETNX", |g, a| { a.push(g.key()); a.push(g.field()); a.push(g.hvalue()) })),
    e("hget", 3, |g| g.cmd("HGET", |g, a| { a.push(g.key()); a.push(g.field()) })),
    e("hmget", 2, |g| g.cmd("HMGET", |g, a| { a.push(g.key()); for _ in 0..1 + g.below(4) { a.push(g.field()) } })),
    e("hdel", 2, |g| g.cmd("HDEL", |g, a| { a.push(g.key()); for _ in 0..1 + g.below(3) { a.push(g.field()) } })),
    e("hexists", 1, |g| g.cmd("HEXISTS", |g, a| { a.push(g.key()); a.push(g.field()) })),
    e("hlen", 1, |g| g.cmd("HLEN", |g, a| a.push(g.key()))),
    e("hstrlen", 1, |g| g.cmd("HSTRLEN", |g, a| { a.push(g.key()); a.push(g.field()) })),
    e("hkeys", 1, |g| g.cmd("HKEYS", |g, a| a.push(g.key())).check(Check::Sorted)),
    e("hvals", 1, |g| g.cmd("HVALS", |g, a| a.push(g.key())).check(Check::Sorted)),
    e("hgetall", 2, |g| g.cmd("HGETALL", |g, a| a.push(g.key())).check(Check::SortedPairs)),
    e("hincrby", 2, |g| g.cmd("HINCRBY", |g, a| { a.push(g.key()); a.push(g.field()); a.push(g.int()) })),
    e("hincrbyfloat", 2, |g| g.cmd("HINCRBYFLOAT", |g, a| { a.push(g.key()); a.push(g.field()); a.push(g.float()) })),
    e("hrandfield", 2, hrandfield),
    e("hscan", 2, hscan),
    e("hash-encoding", 1, encoding),
    e("hash-big", 1, big_hash),
];

impl Gen {
    /// A field: mostly from [`FIELDS`], sometimes one too long for a listpack.
    fn field(&mut self) -> Vec<u8> {
        if self.chance(4) {
            return format!("{}{}", "F".repeat(64), self.below(3)).into_bytes();
        }
        self.pick(FIELDS).to_vec()
    }

    /// A value: the string generator's edge cases, sometimes 64 or 65+ bytes.
    fn hvalue(&mut self) -> Vec<u8> {
        match self.below(100) {
            0..=2 => vec![b'v'; 64],
            3..=5 => vec![b'w'; 65 + self.below(40) as usize],
            _ => self.value(),
        }
    }
}

/// `HSET key field value [field value ...]` (or HMSET), sometimes with a dangling field.
fn hset(g: &mut Gen, name: &str) -> Step {
    g.cmd(name, |g, a| {
        a.push(g.key());
        for _ in 0..1 + g.below(4) {
            a.push(g.field());
            a.push(g.hvalue());
        }
        if g.chance(8) {
            a.push(g.field());
        }
    })
}

/// `HRANDFIELD key [count [WITHVALUES]]`, compared by shape only.
fn hrandfield(g: &mut Gen) -> Step {
    g.cmd("HRANDFIELD", |g, a| {
        a.push(g.key());
        match g.below(10) {
            0..=1 => {}
            2..=5 => a.push(b(g.pick(RANDFIELD_COUNTS))),
            6..=8 => {
                a.push(b(g.pick(RANDFIELD_COUNTS)));
                a.push(g.maybe_mixed_case("WITHVALUES"));
            }
            _ => {
                if g.chance(50) {
                    a.push(b(g.pick(RANDFIELD_WITHVALUES_LIMITS)));
                    a.push(g.maybe_mixed_case("WITHVALUES"));
                } else {
                    a.push(b("3"));
                    a.push(b(g.pick(&["FOO", "WITHVALUE", "WITHVALUES"])));
                    if g.chance(50) {
                        a.push(b("WITHVALUES"));
                    }
                }
            }
        }
    })
    .check(Check::Shape)
}

/// `HSCAN key cursor [MATCH pattern] [COUNT count]` from cursor 0 (or an invalid cursor).
fn hscan(g: &mut Gen) -> Step {
    g.cmd("HSCAN", |g, a| {
        a.push(g.key());
        let cursor = if g.chance(85) {
            "0"
        } else {
            g.pick(&["abc", "1.5", "", "18446744073709551616", " 0"])
        };
        a.push(b(cursor));
        let mut options = Vec::new();
        if g.chance(50) {
            let p = g.pick(&["*", "f*", "f[0-2]", "?", "*1*", "", "\\*", "[", "a", "F*"]);
            options.push([g.maybe_mixed_case("MATCH"), b(p)]);
        }
        let count = if g.chance(85) {
            g.pick(&["100", "1000"])
        } else {
            g.pick(&["0", "-1", "abc", ""])
        };
        options.push([g.maybe_mixed_case("COUNT"), b(count)]);
        if g.chance(50) {
            options.reverse();
        }
        a.extend(options.into_iter().flatten());
        if g.chance(5) {
            a.push(b(g.pick(&["NOVALUES", "TYPE", "MATCH"])));
        }
    })
    .check(Check::SortedPairs)
}

/// A scratch hash built by a few writes, then its encoding, length and content.
fn encoding(g: &mut Gen) -> Step {
    let mut steps = vec![step_of(&[b"DEL", SCRATCH], Check::Exact)];
    for _ in 0..1 + g.below(5) {
        let mut step = match g.below(4) {
            0 => g.cmd("HINCRBYFLOAT", |g, a| {
                a.extend([SCRATCH.to_vec(), g.field()]);
                a.push(b(g.pick(&["1e70", "1.5", "1e308", "-3"])));
            }),
            1 => g.cmd("HINCRBY", |g, a| {
                a.extend([SCRATCH.to_vec(), g.field(), b("7")])
            }),
            2 => g.cmd("HSETNX", |g, a| {
                a.extend([SCRATCH.to_vec(), g.field(), g.hvalue()])
            }),
            _ => hset(g, "HSET"),
        };
        if step.args[0].eq_ignore_ascii_case(b"HSET") {
            step.args[1] = SCRATCH.to_vec();
        }
        steps.push(step);
    }
    steps.extend(scratch_read_back());
    g.sequence(steps)
}

/// A hash near hash-max-listpack-entries (512): filled with one HSET, then grown past it.
fn big_hash(g: &mut Gen) -> Step {
    let mut steps = vec![step_of(&[b"DEL", SCRATCH], Check::Exact)];
    let n = 500 + g.below(20);
    let mut hset: Vec<Vec<u8>> = vec![b("HSET"), SCRATCH.to_vec()];
    for i in 0..n {
        hset.push(format!("field:{i}").into_bytes());
        hset.push(format!("{}", i * 7).into_bytes());
    }
    steps.push(Step {
        args: hset,
        check: Check::Exact,
    });
    for _ in 0..g.below(4) {
        let i = g.below(n + 10);
        let field = format!("field:{i}").into_bytes();
        steps.push(step_of(&[b"HSET", SCRATCH, &field, b"x"], Check::Exact));
    }
    if g.chance(50) {
        steps.push(step_of(
            &[b"HDEL", SCRATCH, b"field:0", b"field:1"],
            Check::Exact,
        ));
    }
    steps.push(step_of(
        &[
            b"HSCAN",
            SCRATCH,
            b"0",
            b"COUNT",
            b"1000",
            b"MATCH",
            b"field:1*",
        ],
        Check::SortedPairs,
    ));
    steps.extend(scratch_read_back());
    g.sequence(steps)
}

fn scratch_read_back() -> Vec<Step> {
    vec![
        step_of(&[b"OBJECT", b"ENCODING", SCRATCH], Check::Exact),
        step_of(&[b"HLEN", SCRATCH], Check::Exact),
        step_of(&[b"HGETALL", SCRATCH], Check::SortedPairs),
        step_of(&[b"DEL", SCRATCH], Check::Exact),
    ]
}

/// Steps that compare `key`'s final content when it holds this family's type (they must be
/// valid whatever the key holds: use a command that answers WRONGTYPE or nil otherwise).
pub fn read_back(key: &[u8]) -> Vec<Step> {
    vec![
        step_of(&[b"HGETALL", key], Check::SortedPairs),
        step_of(&[b"HLEN", key], Check::Exact),
    ]
}
