//! Differential generators for the lists family: every list command with valid, edge and
//! invalid arguments, over the shared keyspace (so lists collide with strings and the other
//! collection types, and WRONGTYPE paths run on both servers). Elements come mostly from a tiny
//! alphabet so LREM, LPOS and LINSERT find their matches.

use super::{b, e, step_of, Check, Entry, Gen, Step};

/// Generator entries for this family.
#[rustfmt::skip]
pub static ENTRIES: &[Entry] = &[
    e("lpush", 4, |g| push(g, "LPUSH")),
    e("rpush", 4, |g| push(g, "RPUSH")),
    e("lpushx", 1, |g| push(g, "LPUSHX")),
    e("rpushx", 1, |g| push(g, "RPUSHX")),
    e("lpop", 2, |g| pop(g, "LPOP")),
    e("rpop", 2, |g| pop(g, "RPOP")),
    e("llen", 1, |g| g.cmd("LLEN", |g, a| a.push(g.key()))),
    e("lrange", 2, |g| g.cmd("LRANGE", |g, a| { a.push(g.key()); a.push(index(g)); a.push(index(g)) })),
    e("lindex", 2, |g| g.cmd("LINDEX", |g, a| { a.push(g.key()); a.push(index(g)) })),
    e("lset", 1, |g| g.cmd("LSET", |g, a| { a.push(g.key()); a.push(index(g)); a.push(element(g)) })),
    e("linsert", 1, linsert),
    e("lrem", 1, |g| g.cmd("LREM", |g, a| { a.push(g.key()); a.push(lrem_count(g)); a.push(element(g)) })),
    e("ltrim", 1, |g| g.cmd("LTRIM", |g, a| { a.push(g.key()); a.push(index(g)); a.push(index(g)) })),
    e("lpos", 2, lpos),
    e("lmove", 1, lmove),
    e("rpoplpush", 1, |g| g.cmd("RPOPLPUSH", |g, a| { a.push(g.key()); a.push(g.key()) })),
    e("lmpop", 1, lmpop),
    e("list-scenario", 4, scenario),
    e("blpop", 1, |g| bpop(g, "BLPOP")),
    e("brpop", 1, |g| bpop(g, "BRPOP")),
    e("blmove", 1, blmove),
    e("brpoplpush", 1, |g| g.cmd("BRPOPLPUSH", |g, a| { a.push(g.key()); a.push(g.key()); a.push(timeout(g)) })),
    e("blmpop", 1, blmpop),
];

/// Steps that compare `key`'s final content when it holds this family's type (they must be
/// valid whatever the key holds: use a command that answers WRONGTYPE or nil otherwise).
pub fn read_back(key: &[u8]) -> Vec<Step> {
    vec![step_of(&[b"LRANGE", key, b"0", b"-1"], Check::Exact)]
}

/// A list built on one key (often deleted first, so it is a list), then one to three list
/// commands on that key: the random keyspace alone mostly holds strings, and this makes the
/// matching paths of LPOS, LINSERT, LREM, LSET and the moves run often.
fn scenario(g: &mut Gen) -> Step {
    let key = g.key();
    let mut steps = Vec::new();
    if g.chance(60) {
        steps.push(step_of(&[b"DEL", &key], Check::Exact));
    }
    // Sometimes long enough (and with long elements) to span several of ferrokv's chunks.
    let n = if g.chance(10) {
        200 + g.below(300)
    } else {
        3 + g.below(8)
    };
    steps.push(g.cmd("RPUSH", |g, a| {
        a.push(key.clone());
        for _ in 0..n {
            if g.chance(10) {
                let len = 20 + g.below(200) as usize;
                a.push(b(g.pick(&["x", "y"])).repeat(len));
            } else {
                a.push(element(g));
            }
        }
    }));
    for _ in 0..1 + g.below(3) {
        let mut step = match g.below(11) {
            0 => pop(g, "LPOP"),
            1 => pop(g, "RPOP"),
            2 | 3 => lpos(g),
            4 => linsert(g),
            5 => g.cmd("LREM", |g, a| {
                a.push(Vec::new());
                a.push(lrem_count(g));
                a.push(element(g))
            }),
            6 => g.cmd("LSET", |g, a| {
                a.push(Vec::new());
                a.push(index(g));
                a.push(element(g))
            }),
            7 => g.cmd("LTRIM", |g, a| {
                a.push(Vec::new());
                a.push(index(g));
                a.push(index(g))
            }),
            8 => g.cmd("LRANGE", |g, a| {
                a.push(Vec::new());
                a.push(index(g));
                a.push(index(g))
            }),
            9 => lmove(g),
            _ => lmpop(g),
        };
        // The key under test goes where the command's first key is.
        let at = if step.args[0].eq_ignore_ascii_case(b"LMPOP") {
            2
        } else {
            1
        };
        if at < step.args.len() {
            step.args[at] = key.clone();
        }
        steps.push(step);
    }
    g.sequence(steps)
}

/// A list element: mostly from a tiny alphabet (matches for LREM, LPOS, LINSERT), else any
/// generator value (binary, empty, numbers), rarely a long run of one letter.
fn element(g: &mut Gen) -> Vec<u8> {
    if g.chance(70) {
        return b(g.pick(&["a", "b", "c", "1", "2", ""]));
    }
    if g.chance(5) {
        // Long: past ferrokv's 4 KiB chunk at times.
        let len = 100 + g.below(6000) as usize;
        return b(g.pick(&["z", "w"])).repeat(len);
    }
    g.short_value()
}

/// A list index: mostly near the ends of small lists, sometimes at the i64 limits or invalid.
fn index(g: &mut Gen) -> Vec<u8> {
    if g.chance(85) {
        return g.range(-8, 8).to_string().into_bytes();
    }
    b(g.pick(&[
        "9223372036854775807",
        "-9223372036854775808",
        "abc",
        "",
        "1.5",
        " 1",
    ]))
}

/// A count for LPOP/RPOP/LMPOP: small, zero, negative, huge or invalid.
fn count(g: &mut Gen) -> Vec<u8> {
    if g.chance(75) {
        return g.range(0, 5).to_string().into_bytes();
    }
    b(g.pick(&[
        "-1",
        "abc",
        "9223372036854775807",
        "-9223372036854775808",
        "",
        "1.0",
    ]))
}

fn lrem_count(g: &mut Gen) -> Vec<u8> {
    if g.chance(85) {
        return g.range(-3, 3).to_string().into_bytes();
    }
    b(g.pick(&["-9223372036854775808", "9223372036854775807", "abc", ""]))
}

/// LEFT or RIGHT in any case, sometimes something else.
fn side(g: &mut Gen) -> Vec<u8> {
    if g.chance(95) {
        let s = g.pick(&["LEFT", "RIGHT"]);
        return g.maybe_mixed_case(s);
    }
    b(g.pick(&["MIDDLE", "", "LEFTX"]))
}

/// `LPUSH|RPUSH|LPUSHX|RPUSHX key element [element ...]`.
fn push(g: &mut Gen, name: &str) -> Step {
    g.cmd(name, |g, a| {
        a.push(g.key());
        for _ in 0..1 + g.below(4) {
            a.push(element(g));
        }
    })
}

/// `LPOP|RPOP key [count]`, sometimes with an extra argument.
fn pop(g: &mut Gen, name: &str) -> Step {
    g.cmd(name, |g, a| {
        a.push(g.key());
        if g.chance(50) {
            a.push(count(g));
            if g.chance(5) {
                a.push(count(g));
            }
        }
    })
}

/// `LINSERT key BEFORE|AFTER pivot element`.
fn linsert(g: &mut Gen) -> Step {
    g.cmd("LINSERT", |g, a| {
        a.push(g.key());
        let w = if g.chance(95) {
            let w = g.pick(&["BEFORE", "AFTER"]);
            g.maybe_mixed_case(w)
        } else {
            b(g.pick(&["FOO", "", "BEFOREX"]))
        };
        a.push(w);
        a.push(element(g));
        a.push(element(g));
    })
}

/// `LPOS key element [RANK r] [COUNT n] [MAXLEN m]`, options in any order, repeated, missing
/// their value or invalid.
fn lpos(g: &mut Gen) -> Step {
    g.cmd("LPOS", |g, a| {
        a.push(g.key());
        a.push(element(g));
        for _ in 0..g.below(4) {
            match g.below(10) {
                0..=2 => {
                    let rank = if g.chance(80) {
                        g.range(-3, 3).to_string().into_bytes()
                    } else {
                        b(g.pick(&[
                            "-9223372036854775808",
                            "-9223372036854775807",
                            "9223372036854775807",
                            "abc",
                        ]))
                    };
                    a.extend([g.maybe_mixed_case("RANK"), rank]);
                }
                3..=5 => {
                    let n = if g.chance(80) {
                        g.range(-1, 3).to_string().into_bytes()
                    } else {
                        b(g.pick(&["abc", "9223372036854775807", ""]))
                    };
                    a.extend([g.maybe_mixed_case("COUNT"), n]);
                }
                6..=8 => {
                    let n = if g.chance(80) {
                        g.range(-1, 6).to_string().into_bytes()
                    } else {
                        b(g.pick(&["abc", "9223372036854775807"]))
                    };
                    a.extend([g.maybe_mixed_case("MAXLEN"), n]);
                }
                _ => a.push(b(g.pick(&["RANK", "FOO", "COUNT"]))),
            }
        }
    })
}

/// `LMOVE source destination LEFT|RIGHT LEFT|RIGHT` (source and destination often equal).
fn lmove(g: &mut Gen) -> Step {
    g.cmd("LMOVE", |g, a| {
        let src = g.key();
        let dst = if g.chance(25) { src.clone() } else { g.key() };
        a.extend([src, dst, side(g), side(g)]);
    })
}

/// A blocking command's timeout: short enough that a command finding no data times out at
/// once (a single connection has nobody to wake it), sometimes invalid; never 0.
pub fn timeout(g: &mut Gen) -> Vec<u8> {
    if g.chance(85) {
        return b(g.pick(&["0.01", "0.001", ".005", "1e-300"]));
    }
    b(g.pick(&["abc", "-1", "nan", "", "inf", "-0.002", " 1"]))
}

/// `BLPOP|BRPOP key [key ...] timeout`.
fn bpop(g: &mut Gen, name: &str) -> Step {
    g.cmd(name, |g, a| {
        for _ in 0..1 + g.below(3) {
            a.push(g.key());
        }
        a.push(timeout(g));
    })
}

/// `BLMOVE source destination LEFT|RIGHT LEFT|RIGHT timeout`.
fn blmove(g: &mut Gen) -> Step {
    let mut step = lmove(g);
    step.args[0] = g.maybe_mixed_case("BLMOVE");
    step.args.push(timeout(g));
    step
}

/// `BLMPOP timeout numkeys key [key ...] LEFT|RIGHT [COUNT count]`.
fn blmpop(g: &mut Gen) -> Step {
    let mut step = lmpop(g);
    step.args[0] = g.maybe_mixed_case("BLMPOP");
    step.args.insert(1, timeout(g));
    step
}

/// `LMPOP numkeys key [key ...] LEFT|RIGHT [COUNT count]`, numkeys sometimes wrong.
fn lmpop(g: &mut Gen) -> Step {
    g.cmd("LMPOP", |g, a| {
        let n = 1 + g.below(3);
        let numkeys = if g.chance(85) {
            n.to_string().into_bytes()
        } else {
            b(g.pick(&["0", "-1", "abc", "4", "9223372036854775807"]))
        };
        a.push(numkeys);
        a.extend(g.keys(n));
        a.push(side(g));
        if g.chance(50) {
            a.extend([g.maybe_mixed_case("COUNT"), count(g)]);
        }
        if g.chance(5) {
            a.push(b(g.pick(&["COUNT", "FOO"])));
        }
    })
}
