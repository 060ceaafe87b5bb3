//! Differential test: seeded random command sequences run against ferrokv and a real
//! `redis-server`, replies compared exactly.
//!
//! # How it works
//!
//! For each seed, a generator emits [`STEPS`] commands over a tiny keyspace (8 keys, 4
//! databases) with values chosen to hit edge cases (numbers at the i64 limits, floats, binary,
//! empty strings). Each command goes to both servers as a RESP multibulk and the parsed replies
//! must be equal byte for byte (see [`RespConn`] for why not the `redis` crate). A mismatch
//! fails with the seed, the step, the command, both replies and the steps before it. After
//! each seed the whole keyspace is read back from both servers and compared too.
//!
//! Only what is truly non-deterministic is masked (see [`Check`]): TTLs are compared with a
//! small tolerance, `KEYS` results are sorted, `SCAN` is iterated to the end and its keys
//! sorted, `RANDOMKEY` is compared only as nil / not nil. Expire times are either in the past
//! or far in the future, so nothing expires while a sequence runs.
//!
//! # Running part of it
//!
//! `cargo test --test integration differential::` runs this test alone.
//! [`ONLY`] can restrict the generator to some entries while a family is being developed. `FERROKV_DIFF_SEED=n` runs only seed `n` (to
//! reproduce a failure), `FERROKV_DIFF_SEEDS` / `FERROKV_DIFF_STEPS` change the amounts,
//! `FERROKV_DIFF_ALL=1` ignores [`ONLY`], and `FERROKV_DIFF_SELF_CHECK=1` runs every entry
//! against two real redis-servers (a difference there is non-determinism left unmasked),
//! `FERROKV_DIFF_LOG=FILE` writes every step with the oracle's reply.
//!
//! # Extending it
//!
//! Add one line to the family's `ENTRIES` (strings and keyspace: [`CORE_ENTRIES`]; collections: their module) and one generator function. New data types (lists, hashes,
//! sets, zsets) should reuse [`Gen::key`], so their commands collide with the string keys and
//! exercise WRONGTYPE paths on both sides; add their read-back to [`final_state`]. Order-free
//! replies (SMEMBERS, HGETALL) use [`Check::Sorted`]. A MULTI/EXEC entry can emit its
//! commands as consecutive steps: each of MULTI, the queued commands (`QUEUED`) and EXEC is an
//! ordinary reply to compare.

// One module per collection family: each has `ENTRIES` (generators) and `read_back(key)`
// (steps that compare a key's final content).
mod hashes;
mod lists;
mod sets;
mod zsets;

use std::collections::VecDeque;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use crate::common::{self, Server};

/// Generator entries to run (`None` = all entries); narrow it while developing a
/// family that is not complete yet.
const ONLY: Option<&[&str]> = None;

/// Seeds per run and commands per seed.
const SEEDS: u64 = 60;
const STEPS: usize = 300;
/// Databases the generator uses (SELECT, MOVE, COPY DB, SWAPDB); others appear only as
/// invalid indexes.
const DBS: u64 = 4;
/// The whole keyspace: few keys, so commands collide.
const KEYS: &[&[u8]] = &[
    b"k0",
    b"k1",
    b"k2",
    b"k3",
    b"k4",
    b"k5",
    b"{t}x",
    b"b\x00\r\n\xff",
];

/// Integers at and past the i64 limits, and almost-integers.
#[rustfmt::skip]
const EDGE_INTS: &[&str] = &[
    "9223372036854775807", "-9223372036854775808", "9223372036854775806", "-9223372036854775807",
    "0", "-0", "007", "+1", " 1", "1 ", "18446744073709551616",
];

/// Float-looking values, some not valid floats for Redis.
#[rustfmt::skip]
const FLOAT_VALUES: &[&str] = &[
    "1.5", "-0.25", "3e2", "1e400", "0.1", "1.7976931348623157e308", "-1e-5", "inf", "nan", "5.0",
    "1.", ".5", "10.50",
];

/// Words (LCS, APPEND and GETRANGE material).
#[rustfmt::skip]
const WORDS: &[&str] = &[
    "", "abc", "hello", "hello world", "foobar", "ohmytext", "mynewtext",
];

/// Integer arguments at the limits or invalid.
#[rustfmt::skip]
const INT_ARGS: &[&str] = &[
    "0", "-1", "abc", "1.5", "9223372036854775807", "-9223372036854775808", "99999999999999999999",
    "", " 5", "5 ", "0x10",
];

/// INCRBYFLOAT increments: valid, infinite, NaN, invalid.
#[rustfmt::skip]
const FLOAT_ARGS: &[&str] = &[
    "0", "1.5", "0.1", "-0.25", "1e3", "3.0e-2", "5.0e3", "1e308", "-1e308", "inf", "-inf", "nan",
    "abc", "", "1e400", "0x10", "1.7976931348623157e308", " 1", "1.0", "-0", "0.3333333333333333",
];

/// Expire arguments that are invalid, zero, negative or overflow.
#[rustfmt::skip]
const BAD_TIMES: &[&str] = &[
    "0", "-1", "-100", "abc", "9223372036854775807", "9223372036854775806", "-9223372036854775808",
    "1.5", "",
];

/// GETRANGE offsets at the limits or invalid.
#[rustfmt::skip]
const BIG_OFFSETS: &[&str] = &[
    "9223372036854775807", "-9223372036854775808", "abc", "", "1.5",
];

/// SETRANGE offsets Redis rejects without allocating.
#[rustfmt::skip]
const SETRANGE_OFFSETS: &[&str] = &[
    "-1", "abc", "536870912", "1073741824", "9223372036854775807", "",
];

/// Names that are not commands.
#[rustfmt::skip]
const UNKNOWN_COMMANDS: &[&str] = &[
    "foo", "gett", "SETT", "frobnicate", "", "get get", "ge", "x\r\ny",
];

/// How two replies are compared.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Check {
    /// Equal values.
    Exact,
    /// An array in unspecified order: sorted before comparing.
    Sorted,
    /// A TTL-like integer: negatives exact, non-negatives within the tolerance.
    Ttl(i64),
    /// Only nil vs. not nil (RANDOMKEY).
    NilOrNot,
    /// `SCAN cursor <args[1..]>` iterated to cursor 0; the keys sorted and deduplicated.
    ScanAll,
    /// A flat field/value array in unspecified order (HGETALL, RESP2 or RESP3 map), or a scan
    /// reply `[cursor, [field, value, ...]]`: the pairs are sorted as pairs.
    SortedPairs,
    /// Random picks (HRANDFIELD, ...): only the shape is compared — errors, nils and integers
    /// exactly, aggregates by kind and length, every bulk string alike.
    Shape,
    /// `<name> key cursor <args[2..]>` (SSCAN) iterated to cursor 0; the elements sorted and
    /// deduplicated.
    KeyScanAll,
    /// Random members of the set `args[1]` (SRANDMEMBER): only the reply's type and length are
    /// compared, and whether every member is in the set (and, for a positive count, distinct).
    Sample,
    /// Members popped at random from the set `args[1]` (SPOP): compared as [`Check::Sample`],
    /// plus the popped members must be gone. Then both servers are brought back in step
    /// deterministically: the popped members are re-added and the smallest ones removed
    /// instead, so the set loses the same number of members on both.
    Pop,
    /// The reply only when `TYPE <last argument>` is this type (e.g. OBJECT ENCODING for the
    /// types whose encodings are implemented), else a placeholder.
    IfType(&'static str),
}

/// One command to send to both servers.
struct Step {
    args: Vec<Vec<u8>>,
    check: Check,
}

type Make = fn(&mut Gen) -> Step;

/// A generator entry: a name (for [`ONLY`]), a relative weight and the generator.
struct Entry {
    name: &'static str,
    weight: u32,
    make: Make,
}

const fn e(name: &'static str, weight: u32, make: Make) -> Entry {
    Entry { name, weight, make }
}

#[rustfmt::skip]
static CORE_ENTRIES: &[Entry] = &[
    // strings
    e("get", 4, |g| g.cmd("GET", |g, a| a.push(g.key()))),
    e("set", 4, |g| g.cmd("SET", |g, a| { a.push(g.key()); a.push(g.value()) })),
    e("set+opts", 4, set_with_options),
    e("getset", 1, |g| g.cmd("GETSET", |g, a| { a.push(g.key()); a.push(g.value()) })),
    e("getdel", 1, |g| g.cmd("GETDEL", |g, a| a.push(g.key()))),
    e("getex", 2, getex),
    e("setnx", 1, |g| g.cmd("SETNX", |g, a| { a.push(g.key()); a.push(g.value()) })),
    e("setex", 1, |g| setex(g, "SETEX", Gen::secs)),
    e("psetex", 1, |g| setex(g, "PSETEX", Gen::ms)),
    e("mget", 2, |g| g.cmd("MGET", |g, a| { let n = 1 + g.below(5); a.extend(g.keys(n)) })),
    e("mset", 2, |g| mset(g, "MSET")),
    e("msetnx", 1, |g| mset(g, "MSETNX")),
    e("incr", 2, |g| g.cmd("INCR", |g, a| a.push(g.key()))),
    e("decr", 1, |g| g.cmd("DECR", |g, a| a.push(g.key()))),
    e("incrby", 2, |g| g.cmd("INCRBY", |g, a| { a.push(g.key()); a.push(g.int()) })),
    e("decrby", 1, |g| g.cmd("DECRBY", |g, a| { a.push(g.key()); a.push(g.int()) })),
    e("incrbyfloat", 2, |g| g.cmd("INCRBYFLOAT", |g, a| { a.push(g.key()); a.push(g.float()) })),
    e("append", 2, |g| g.cmd("APPEND", |g, a| { a.push(g.key()); a.push(g.short_value()) })),
    e("strlen", 1, |g| g.cmd("STRLEN", |g, a| a.push(g.key()))),
    e("getrange", 2, |g| getrange(g, "GETRANGE")),
    e("substr", 1, |g| getrange(g, "SUBSTR")),
    e("setrange", 2, setrange),
    e("lcs", 2, lcs),
    // keyspace
    e("del", 2, |g| g.cmd("DEL", |g, a| { let n = 1 + g.below(4); a.extend(g.keys(n)) })),
    e("unlink", 1, |g| g.cmd("UNLINK", |g, a| { let n = 1 + g.below(4); a.extend(g.keys(n)) })),
    e("exists", 2, |g| g.cmd("EXISTS", |g, a| { let n = 1 + g.below(4); a.extend(g.keys(n)) })),
    e("touch", 1, |g| g.cmd("TOUCH", |g, a| { let n = 1 + g.below(4); a.extend(g.keys(n)) })),
    e("type", 1, |g| g.cmd("TYPE", |g, a| a.push(g.key()))),
    e("rename", 1, |g| g.cmd("RENAME", |g, a| { a.push(g.key()); a.push(g.key()) })),
    e("renamenx", 1, |g| g.cmd("RENAMENX", |g, a| { a.push(g.key()); a.push(g.key()) })),
    e("copy", 1, copy),
    e("move", 1, |g| g.cmd("MOVE", |g, a| { a.push(g.key()); a.push(g.db()) })),
    e("select", 2, |g| g.cmd("SELECT", |g, a| a.push(g.db()))),
    e("swapdb", 1, |g| g.cmd("SWAPDB", |g, a| { a.push(g.db()); a.push(g.db()) })),
    e("dbsize", 1, |g| g.cmd("DBSIZE", |_, _| {})),
    e("flushdb", 1, |g| g.cmd("FLUSHDB", |_, _| {})),
    e("expire", 2, |g| expire(g, "EXPIRE", Gen::secs)),
    e("pexpire", 1, |g| expire(g, "PEXPIRE", Gen::ms)),
    e("expireat", 1, |g| expire(g, "EXPIREAT", Gen::unix_secs)),
    e("pexpireat", 1, |g| expire(g, "PEXPIREAT", Gen::unix_ms)),
    e("persist", 1, |g| g.cmd("PERSIST", |g, a| a.push(g.key()))),
    e("ttl", 2, |g| g.cmd("TTL", |g, a| a.push(g.key())).check(Check::Ttl(2))),
    e("pttl", 1, |g| g.cmd("PTTL", |g, a| a.push(g.key())).check(Check::Ttl(2000))),
    e("expiretime", 1, |g| g.cmd("EXPIRETIME", |g, a| a.push(g.key())).check(Check::Ttl(2))),
    e("pexpiretime", 1, |g| g.cmd("PEXPIRETIME", |g, a| a.push(g.key())).check(Check::Ttl(2000))),
    e("keys", 1, |g| g.cmd("KEYS", |g, a| a.push(g.pattern())).check(Check::Sorted)),
    e("scan", 1, scan),
    e("randomkey", 1, |g| g.cmd("RANDOMKEY", |_, _| {}).check(Check::NilOrNot)),
    // connection
    e("ping", 1, |g| g.cmd("PING", |g, a| if g.chance(50) { a.push(g.short_value()) })),
    e("echo", 1, |g| g.cmd("ECHO", |g, a| a.push(g.value()))),
    // transactions
    e("multi", 4, transaction),
    // errors
    e("unknown", 1, unknown),
    e("arity", 2, wrong_arity),
];

/// The argument generator.
struct Gen {
    rng: common::splitmix::SplitMix64,
    /// Unix seconds when the run started (future timestamps are relative to it).
    now: u64,
    enabled: Vec<&'static Entry>,
    /// Steps an entry queued to follow the one it returned (multi-command scenarios such as
    /// "set up two strings, then LCS them", or later MULTI ... EXEC).
    queue: VecDeque<Step>,
}

fn b(s: &str) -> Vec<u8> {
    s.as_bytes().to_vec()
}

impl Gen {
    fn below(&mut self, n: u64) -> u64 {
        self.rng.next_u64() % n.max(1)
    }

    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo + 1) as u64) as i64
    }

    /// True with `percent`% probability.
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    fn pick<'a, T: ?Sized>(&mut self, items: &[&'a T]) -> &'a T {
        items[self.below(items.len() as u64) as usize]
    }

    /// A command step: the name (sometimes in random case) and the arguments `fill` adds.
    fn cmd(&mut self, name: &str, fill: impl FnOnce(&mut Gen, &mut Vec<Vec<u8>>)) -> Step {
        let mut args = vec![self.maybe_mixed_case(name)];
        fill(self, &mut args);
        Step {
            args,
            check: Check::Exact,
        }
    }

    fn maybe_mixed_case(&mut self, word: &str) -> Vec<u8> {
        if !self.chance(15) {
            return b(word);
        }
        word.bytes()
            .map(|c| {
                if self.chance(50) {
                    c.to_ascii_lowercase()
                } else {
                    c.to_ascii_uppercase()
                }
            })
            .collect()
    }

    fn key(&mut self) -> Vec<u8> {
        self.pick(KEYS).to_vec()
    }

    fn keys(&mut self, n: u64) -> Vec<Vec<u8>> {
        (0..n).map(|_| self.key()).collect()
    }

    /// A value chosen to hit the edge cases of every string command.
    fn value(&mut self) -> Vec<u8> {
        match self.below(100) {
            0..=29 => self.range(-20, 100).to_string().into_bytes(),
            30..=37 => b(self.pick(EDGE_INTS)),
            38..=49 => b(self.pick(FLOAT_VALUES)),
            50..=64 => b(self.pick(WORDS)),
            65..=84 => self.letters(0, 12),
            _ => {
                let n = self.below(17);
                (0..n).map(|_| self.rng.next_u64() as u8).collect()
            }
        }
    }

    fn short_value(&mut self) -> Vec<u8> {
        let mut v = self.value();
        v.truncate(20);
        v
    }

    /// An integer argument, sometimes invalid or at the limits.
    fn int(&mut self) -> Vec<u8> {
        if self.chance(65) {
            return self.range(-10, 50).to_string().into_bytes();
        }
        b(self.pick(INT_ARGS))
    }

    fn float(&mut self) -> Vec<u8> {
        if self.chance(30) {
            return self.range(-10, 50).to_string().into_bytes();
        }
        b(self.pick(FLOAT_ARGS))
    }

    /// A bad expire argument (never a valid one, so no key expires mid-run by accident).
    fn bad_time(&mut self) -> Vec<u8> {
        b(self.pick(BAD_TIMES))
    }

    /// Relative seconds: far enough that nothing expires during the run.
    fn secs(&mut self) -> Vec<u8> {
        if self.chance(85) {
            self.range(1000, 1_000_000).to_string().into_bytes()
        } else {
            self.bad_time()
        }
    }

    fn ms(&mut self) -> Vec<u8> {
        if self.chance(85) {
            self.range(1_000_000, 1_000_000_000)
                .to_string()
                .into_bytes()
        } else {
            self.bad_time()
        }
    }

    /// An absolute Unix time in seconds: in the far future, or in the past.
    fn unix_secs(&mut self) -> Vec<u8> {
        match self.below(100) {
            0..=69 => (self.now as i64 + self.range(1000, 1_000_000))
                .to_string()
                .into_bytes(),
            70..=84 => b(self.pick(&["1", "1000000000"])),
            _ => self.bad_time(),
        }
    }

    fn unix_ms(&mut self) -> Vec<u8> {
        match self.below(100) {
            0..=69 => ((self.now as i64 + self.range(1000, 1_000_000)) * 1000)
                .to_string()
                .into_bytes(),
            70..=84 => b(self.pick(&["1", "1000000000000"])),
            _ => self.bad_time(),
        }
    }

    /// A time from `make` that is not a valid time in the past (`unit`: 1 for seconds, 1000
    /// for milliseconds).
    fn future(&mut self, make: fn(&mut Gen) -> Vec<u8>, unit: u64) -> Vec<u8> {
        loop {
            let t = make(self);
            let past = std::str::from_utf8(&t)
                .ok()
                .and_then(|t| t.parse::<i64>().ok())
                .is_some_and(|t| t > 0 && (t as u64) < self.now * unit);
            if !past {
                return t;
            }
        }
    }

    /// A database index: mostly one of the first [`DBS`], sometimes invalid.
    fn db(&mut self) -> Vec<u8> {
        if self.chance(90) {
            return self.below(DBS).to_string().into_bytes();
        }
        b(self.pick(&["16", "-1", "abc", "100", "1.5", ""]))
    }

    /// A GETRANGE offset.
    fn offset(&mut self) -> Vec<u8> {
        if self.chance(85) {
            return self.range(-25, 25).to_string().into_bytes();
        }
        b(self.pick(BIG_OFFSETS))
    }

    fn pattern(&mut self) -> Vec<u8> {
        b(self.pick(&[
            "*", "k*", "k?", "k[0-2]", "k[^0]", "*x*", "{t}*", "b*", "\\*", "[", "*1*", "k[1-3",
            "h*llo", "", "k\\3", "*\r\n*",
        ]))
    }

    /// Returns the first of `steps` and queues the rest to follow it.
    fn sequence(&mut self, steps: Vec<Step>) -> Step {
        let mut steps = VecDeque::from(steps);
        let first = steps.pop_front().expect("at least one step");
        steps.append(&mut self.queue);
        self.queue = steps;
        first
    }

    /// A string of a few letters from a small alphabet (long common subsequences).
    fn letters(&mut self, min: u64, max: u64) -> Vec<u8> {
        let n = min + self.below(max - min + 1);
        (0..n).map(|_| b"abcde"[self.below(5) as usize]).collect()
    }

    /// The next step: a queued one, else an enabled entry drawn by weight.
    fn step(&mut self) -> Step {
        if let Some(step) = self.queue.pop_front() {
            return step;
        }
        let total: u64 = self.enabled.iter().map(|e| e.weight as u64).sum();
        let mut n = self.below(total);
        for entry in self.enabled.clone() {
            if n < entry.weight as u64 {
                return (entry.make)(self);
            }
            n -= entry.weight as u64;
        }
        unreachable!("weights add up")
    }
}

impl Step {
    fn check(mut self, check: Check) -> Step {
        self.check = check;
        self
    }
}

/// `SET key value [NX|XX] [GET] [EX s|PX ms|EXAT t|PXAT t|KEEPTTL]`, options in any order,
/// sometimes conflicting or malformed.
fn set_with_options(g: &mut Gen) -> Step {
    g.cmd("SET", |g, a| {
        a.push(g.key());
        a.push(g.value());
        for _ in 0..g.below(4) {
            match g.below(11) {
                0 => a.push(g.maybe_mixed_case("NX")),
                1 => a.push(g.maybe_mixed_case("XX")),
                2 | 3 => a.push(g.maybe_mixed_case("GET")),
                4 => a.push(g.maybe_mixed_case("KEEPTTL")),
                5 => a.extend([g.maybe_mixed_case("EX"), g.secs()]),
                6 => a.extend([g.maybe_mixed_case("PX"), g.ms()]),
                // Not in the past: Redis stores such a key and DBSIZE counts it until the
                // active expire cycle happens to remove it, which is timing, not semantics.
                7 => a.extend([g.maybe_mixed_case("EXAT"), g.future(Gen::unix_secs, 1)]),
                8 => a.extend([g.maybe_mixed_case("PXAT"), g.future(Gen::unix_ms, 1000)]),
                9 => a.push(b("EX")),
                _ => a.push(b(g.pick(&["FOO", "NXX", "", "PERSIST"]))),
            }
        }
    })
}

/// `GETEX key [EX s|PX ms|EXAT t|PXAT t|PERSIST]`, sometimes with extra or broken options.
fn getex(g: &mut Gen) -> Step {
    g.cmd("GETEX", |g, a| {
        a.push(g.key());
        for _ in 0..g.below(3) {
            match g.below(7) {
                0 => a.extend([g.maybe_mixed_case("EX"), g.secs()]),
                1 => a.extend([g.maybe_mixed_case("PX"), g.ms()]),
                2 => a.extend([g.maybe_mixed_case("EXAT"), g.unix_secs()]),
                3 => a.extend([g.maybe_mixed_case("PXAT"), g.unix_ms()]),
                4 | 5 => a.push(g.maybe_mixed_case("PERSIST")),
                _ => a.push(b(g.pick(&["EX", "FOO", "KEEPTTL"]))),
            }
        }
    })
}

/// `SETEX key time value` / `PSETEX`.
fn setex(g: &mut Gen, name: &str, time: fn(&mut Gen) -> Vec<u8>) -> Step {
    g.cmd(name, |g, a| {
        a.push(g.key());
        a.push(time(g));
        a.push(g.value());
    })
}

/// `GETRANGE key start end` / `SUBSTR`.
fn getrange(g: &mut Gen, name: &str) -> Step {
    g.cmd(name, |g, a| {
        a.push(g.key());
        a.push(g.offset());
        a.push(g.offset());
    })
}

fn mset(g: &mut Gen, name: &str) -> Step {
    g.cmd(name, |g, a| {
        for _ in 0..1 + g.below(3) {
            a.push(g.key());
            a.push(g.short_value());
        }
        if g.chance(10) {
            a.push(g.key());
        }
    })
}

/// `SETRANGE key offset value`; huge offsets only where Redis rejects them without allocating.
fn setrange(g: &mut Gen) -> Step {
    g.cmd("SETRANGE", |g, a| {
        a.push(g.key());
        if g.chance(90) {
            a.push(g.range(0, 40).to_string().into_bytes());
            a.push(g.short_value());
        } else {
            a.push(b(g.pick(SETRANGE_OFFSETS)));
            let mut v = g.short_value();
            if v.is_empty() && g.chance(50) {
                v.push(b'x');
            }
            a.push(v);
        }
    })
}

/// `LCS key1 key2 [LEN] [IDX] [MINMATCHLEN n] [WITHMATCHLEN]`.
fn lcs(g: &mut Gen) -> Step {
    let (k1, k2) = (g.key(), g.key());
    let mut steps = Vec::new();
    // Half the time, first store two strings with plenty in common.
    if g.chance(50) {
        for k in [&k1, &k2] {
            let v = g.letters(0, 20);
            steps.push(step_of(&[b"SET", k, &v], Check::Exact));
        }
    }
    steps.push(g.cmd("LCS", |g, a| {
        a.push(k1);
        a.push(k2);
        for _ in 0..g.below(4) {
            match g.below(6) {
                0 => a.push(g.maybe_mixed_case("LEN")),
                1 | 2 => a.push(g.maybe_mixed_case("IDX")),
                3 => a.extend([
                    g.maybe_mixed_case("MINMATCHLEN"),
                    g.pick(&["0", "1", "2", "4", "-1", "x"]).as_bytes().to_vec(),
                ]),
                4 => a.push(g.maybe_mixed_case("WITHMATCHLEN")),
                _ => a.push(b("FOO")),
            }
        }
    }));
    g.sequence(steps)
}

/// `COPY source destination [DB index] [REPLACE]`.
fn copy(g: &mut Gen) -> Step {
    g.cmd("COPY", |g, a| {
        a.push(g.key());
        a.push(g.key());
        if g.chance(50) {
            a.extend([g.maybe_mixed_case("DB"), g.db()]);
        }
        if g.chance(40) {
            a.push(g.maybe_mixed_case("REPLACE"));
        }
        if g.chance(5) {
            a.push(b(g.pick(&["FOO", "DB"])));
        }
    })
}

/// `EXPIRE`-like: `NAME key time [NX|XX|GT|LT ...]`.
fn expire(g: &mut Gen, name: &str, time: fn(&mut Gen) -> Vec<u8>) -> Step {
    g.cmd(name, |g, a| {
        a.push(g.key());
        a.push(time(g));
        let flags = match g.below(10) {
            0..=4 => 0,
            5..=8 => 1,
            _ => 2,
        };
        for _ in 0..flags {
            let flag = g.pick(&["NX", "XX", "GT", "LT", "FOO"]);
            a.push(g.maybe_mixed_case(flag));
        }
    })
}

/// `SCAN` iterated to the end: `[MATCH p] [COUNT n] [TYPE t]`, sometimes invalid.
fn scan(g: &mut Gen) -> Step {
    let mut step = g.cmd("SCAN", |g, a| {
        if g.chance(50) {
            a.extend([g.maybe_mixed_case("MATCH"), g.pattern()]);
        }
        if g.chance(50) {
            let count = g.pick(&["1", "2", "5", "10", "100", "0", "-1", "abc"]);
            a.extend([g.maybe_mixed_case("COUNT"), b(count)]);
        }
        if g.chance(30) {
            let t = g.pick(&["string", "STRING", "list", "none", "foo"]);
            a.extend([g.maybe_mixed_case("TYPE"), b(t)]);
        }
        if g.chance(5) {
            a.push(b("FOO"));
        }
    });
    step.check = Check::ScanAll;
    step
}

/// A transaction, as consecutive steps: sometimes WATCH (and sometimes a change to a watched
/// key by this same connection, which counts in Redis), MULTI, one to four queued commands
/// drawn from the other entries (some rejected while queueing: unknown, wrong arity), maybe a
/// nested MULTI or a WATCH inside MULTI, then EXEC (or DISCARD). EXEC's reply carries every
/// queued command's reply, so only entries compared exactly are queued.
fn transaction(g: &mut Gen) -> Step {
    let mut steps = Vec::new();
    if g.chance(40) {
        let n = 1 + g.below(2);
        steps.push(g.cmd("WATCH", |g, a| a.extend(g.keys(n))));
        if g.chance(50) {
            steps.extend(exact_steps(g));
        }
        if g.chance(10) {
            steps.push(g.cmd("UNWATCH", |_, _| {}));
        }
    }
    steps.push(g.cmd("MULTI", |_, _| {}));
    for _ in 0..1 + g.below(4) {
        steps.extend(exact_steps(g));
        if g.chance(3) {
            let name = if g.chance(50) { "MULTI" } else { "WATCH" };
            steps.push(g.cmd(name, |g, a| {
                if name == "WATCH" {
                    a.push(g.key())
                }
            }));
        }
    }
    let end = if g.chance(85) { "EXEC" } else { "DISCARD" };
    steps.push(g.cmd(end, |_, _| {}));
    let first = steps.remove(0);
    g.queue.extend(steps);
    first
}

/// The steps of one entry (other than a transaction) whose replies are compared exactly;
/// PING if none is found after a few draws.
fn exact_steps(g: &mut Gen) -> Vec<Step> {
    let entries: Vec<&Entry> = g
        .enabled
        .iter()
        .copied()
        .filter(|e| e.name != "multi")
        .collect();
    for _ in 0..10 {
        if entries.is_empty() {
            break;
        }
        let entry = entries[g.below(entries.len() as u64) as usize];
        let first = (entry.make)(g);
        let mut steps = vec![first];
        steps.extend(g.queue.drain(..));
        if steps.iter().all(|s| s.check == Check::Exact) {
            return steps;
        }
    }
    vec![g.cmd("PING", |_, _| {})]
}

/// An unknown command. Its arguments are kept printable for now: Redis echoes them raw (cut
/// at a NUL) into the error, while ferrokv's dispatcher replaces non-UTF-8 bytes with U+FFFD.
/// Allow any bytes here once that is fixed.
fn unknown(g: &mut Gen) -> Step {
    let name = g.pick(UNKNOWN_COMMANDS);
    let mut step = g.cmd(name, |g, a| {
        for _ in 0..g.below(4) {
            let mut v = g.value();
            v.retain(|c| c.is_ascii_graphic() || *c == b' ');
            a.push(v);
        }
    });
    step.args[0] = b(name);
    step
}

/// An enabled command with arguments dropped or added.
fn wrong_arity(g: &mut Gen) -> Step {
    let commands: Vec<&Entry> = g
        .enabled
        .iter()
        .copied()
        .filter(|e| !["arity", "unknown", "multi"].contains(&e.name))
        .collect();
    if commands.is_empty() {
        return g.cmd("PING", |_, _| {});
    }
    let entry = commands[g.below(commands.len() as u64) as usize];
    let mut step = (entry.make)(g);
    if step.args.len() > 1 && g.chance(70) {
        let keep = 1 + g.below(step.args.len() as u64 - 1) as usize;
        step.args.truncate(keep);
    } else {
        for _ in 0..1 + g.below(2) {
            step.args.push(g.short_value());
        }
    }
    step
}

/// A parsed reply (RESP2 and RESP3), bytes kept exactly as sent.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Reply {
    Simple(Vec<u8>),
    Error(Vec<u8>),
    Int(i64),
    Bulk(Vec<u8>),
    /// `$-1`, `*-1` or RESP3 `_`.
    Nil(u8),
    /// `*`, `~` (set), `%` (map, keys and values flattened), `>` (push), `|` (attribute).
    Aggregate(u8, Vec<Reply>),
    /// Other RESP3 scalars (`,` double, `#` boolean, `(` big number, `!` and `=` blobs): the
    /// type byte and the payload.
    Scalar(u8, Vec<u8>),
}

/// Bytes for a failure message: printable ASCII as is, the rest escaped.
fn escaped(bytes: &[u8]) -> String {
    let mut s = String::new();
    for &c in bytes {
        match c {
            b'\\' => s.push_str("\\\\"),
            b'\r' => s.push_str("\\r"),
            b'\n' => s.push_str("\\n"),
            b'\t' => s.push_str("\\t"),
            0x20..=0x7e => s.push(c as char),
            _ => s.push_str(&format!("\\x{c:02x}")),
        }
    }
    s
}

impl std::fmt::Debug for Reply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Reply::Simple(s) => write!(f, "+{}", escaped(s)),
            Reply::Error(s) => write!(f, "-{}", escaped(s)),
            Reply::Int(n) => write!(f, ":{n}"),
            Reply::Bulk(s) => write!(f, "\"{}\"", escaped(s)),
            Reply::Nil(t) => write!(f, "{}nil", *t as char),
            Reply::Aggregate(t, items) => {
                write!(f, "{}", *t as char)?;
                f.debug_list().entries(items).finish()
            }
            Reply::Scalar(t, s) => write!(f, "{}{}", *t as char, escaped(s)),
        }
    }
}

/// A minimal raw RESP client: the `redis` crate cannot parse an error line that is not
/// UTF-8 (Redis echoes raw argument bytes in some errors) and loses sync after it, and it
/// also hides byte-level differences. This one compares exactly what was sent.
struct RespConn {
    w: TcpStream,
    r: BufReader<TcpStream>,
}

impl RespConn {
    fn connect(s: &Server) -> RespConn {
        let w = TcpStream::connect(("127.0.0.1", s.port)).expect("connect");
        w.set_read_timeout(Some(Duration::from_secs(10))).ok();
        w.set_write_timeout(Some(Duration::from_secs(10))).ok();
        w.set_nodelay(true).ok();
        let r = BufReader::new(w.try_clone().expect("clone"));
        RespConn { w, r }
    }

    fn call(&mut self, args: &[Vec<u8>]) -> io::Result<Reply> {
        let mut req = format!("*{}\r\n", args.len()).into_bytes();
        for a in args {
            req.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
            req.extend_from_slice(a);
            req.extend_from_slice(b"\r\n");
        }
        self.w.write_all(&req)?;
        self.reply()
    }

    fn line(&mut self) -> io::Result<Vec<u8>> {
        let mut line = Vec::new();
        self.r.read_until(b'\n', &mut line)?;
        if !line.ends_with(b"\r\n") {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("connection closed or bad line {:?}", escaped(&line)),
            ));
        }
        line.truncate(line.len() - 2);
        Ok(line)
    }

    fn reply(&mut self) -> io::Result<Reply> {
        let line = self.line()?;
        let Some((&kind, rest)) = line.split_first() else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "empty reply line",
            ));
        };
        let bad = || {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("bad reply line {:?}", escaped(&line)),
            )
        };
        let len = || -> io::Result<i64> {
            std::str::from_utf8(rest)
                .ok()
                .and_then(|t| t.parse().ok())
                .ok_or_else(bad)
        };
        Ok(match kind {
            b'+' => Reply::Simple(rest.to_vec()),
            b'-' => Reply::Error(rest.to_vec()),
            b':' => Reply::Int(len()?),
            b'_' => Reply::Nil(kind),
            b',' | b'#' | b'(' => Reply::Scalar(kind, rest.to_vec()),
            b'$' | b'!' | b'=' => {
                let n = len()?;
                if n < 0 {
                    return Ok(Reply::Nil(kind));
                }
                let mut data = vec![0u8; n as usize + 2];
                self.r.read_exact(&mut data)?;
                data.truncate(n as usize);
                if kind == b'$' {
                    Reply::Bulk(data)
                } else {
                    Reply::Scalar(kind, data)
                }
            }
            b'*' | b'~' | b'>' | b'%' | b'|' => {
                let n = len()?;
                if n < 0 {
                    return Ok(Reply::Nil(kind));
                }
                let n = if matches!(kind, b'%' | b'|') {
                    2 * n
                } else {
                    n
                };
                let items = (0..n).map(|_| self.reply()).collect::<io::Result<_>>()?;
                Reply::Aggregate(kind, items)
            }
            _ => return Err(bad()),
        })
    }
}

/// Runs one step and returns its reply after the masking its check requires.
fn run_step(c: &mut RespConn, step: &Step) -> io::Result<Reply> {
    match step.check {
        Check::ScanAll => scan_all(c, &step.args, 1),
        Check::KeyScanAll => scan_all(c, &step.args, 2),
        Check::Sample => random_members(c, &step.args, false),
        Check::Pop => random_members(c, &step.args, true),
        Check::IfType(t) => {
            let key = step.args.last().cloned().unwrap_or_default();
            match c.call(&[b"TYPE".to_vec(), key])? {
                Reply::Simple(found) if found == t.as_bytes() => c.call(&step.args),
                _ => Ok(Reply::Simple(b"<other type>".to_vec())),
            }
        }
        check => Ok(normalize(c.call(&step.args)?, check)),
    }
}

/// Bulk strings of a reply (a single bulk, or an array or set of them).
fn bulks(reply: &Reply) -> Option<Vec<Vec<u8>>> {
    match reply {
        Reply::Bulk(b) => Some(vec![b.clone()]),
        Reply::Aggregate(b'*' | b'~', items) => items
            .iter()
            .map(|r| match r {
                Reply::Bulk(b) => Some(b.clone()),
                _ => None,
            })
            .collect(),
        _ => None,
    }
}

/// [`Check::Sample`] and [`Check::Pop`]: `args` is `SRANDMEMBER|SPOP key [count]`.
fn random_members(c: &mut RespConn, args: &[Vec<u8>], pop: bool) -> io::Result<Reply> {
    let reply = c.call(args)?;
    let (Some(picked), Some(key)) = (bulks(&reply), args.get(1)) else {
        return Ok(reply);
    };
    if picked.is_empty() {
        return Ok(reply);
    }
    let Some(rest) = bulks(&c.call(&[b"SMEMBERS".to_vec(), key.clone()])?) else {
        return Err(io::Error::other("SMEMBERS after a random pick failed"));
    };
    let mut unique = picked.clone();
    unique.sort();
    unique.dedup();
    let distinct = unique.len() == picked.len();
    let ok = if pop {
        distinct && picked.iter().all(|m| !rest.contains(m))
    } else {
        let positive = args.get(2).is_some_and(|n| !n.starts_with(b"-"));
        (distinct || !positive) && picked.iter().all(|m| rest.contains(m))
    };
    if pop {
        let mut all: Vec<Vec<u8>> = rest.iter().chain(&unique).cloned().collect();
        all.sort();
        let mut sadd = vec![b"SADD".to_vec(), key.clone()];
        sadd.extend(unique.iter().cloned());
        c.call(&sadd)?;
        let mut srem = vec![b"SREM".to_vec(), key.clone()];
        srem.extend(all.into_iter().take(unique.len()));
        c.call(&srem)?;
    }
    let kind = match &reply {
        Reply::Aggregate(kind, _) => *kind,
        _ => b'$',
    };
    Ok(Reply::Aggregate(
        kind,
        vec![
            Reply::Int(picked.len() as i64),
            Reply::Simple(if ok {
                b"members ok".to_vec()
            } else {
                b"WRONG MEMBERS".to_vec()
            }),
        ],
    ))
}

/// [`Check::ScanAll`] / [`Check::KeyScanAll`]: the cursor goes at `args[at]`.
fn scan_all(c: &mut RespConn, step_args: &[Vec<u8>], at: usize) -> io::Result<Reply> {
    let mut keys: Vec<Reply> = Vec::new();
    let mut cursor = b"0".to_vec();
    for _ in 0..10_000 {
        let at = at.min(step_args.len());
        let mut args = step_args[..at].to_vec();
        args.push(cursor.clone());
        args.extend(step_args[at..].iter().cloned());
        match c.call(&args)? {
            Reply::Aggregate(b'*', parts) if parts.len() == 2 => {
                let (Reply::Bulk(next), Reply::Aggregate(b'*', batch)) = (&parts[0], &parts[1])
                else {
                    return Ok(Reply::Aggregate(b'*', parts));
                };
                keys.extend(batch.iter().cloned());
                if next == b"0" {
                    keys.sort();
                    keys.dedup();
                    return Ok(Reply::Aggregate(b'*', keys));
                }
                cursor = next.clone();
            }
            other => return Ok(other),
        }
    }
    Err(io::Error::other("SCAN did not finish in 10000 calls"))
}

/// Masks bulk-string contents, keeping the structure (for [`Check::Shape`]).
fn shape(reply: Reply) -> Reply {
    match reply {
        Reply::Bulk(_) => Reply::Bulk(b"<bulk>".to_vec()),
        Reply::Scalar(kind, _) => Reply::Scalar(kind, Vec::new()),
        Reply::Aggregate(kind, items) => {
            Reply::Aggregate(kind, items.into_iter().map(shape).collect())
        }
        other => other,
    }
}

fn normalize(reply: Reply, check: Check) -> Reply {
    match (check, reply) {
        (Check::Shape, reply) => shape(reply),
        (Check::Sorted, Reply::Aggregate(kind, mut items)) => {
            items.sort();
            Reply::Aggregate(kind, items)
        }
        (Check::NilOrNot, Reply::Bulk(_)) => Reply::Simple(b"<not nil>".to_vec()),
        (Check::SortedPairs, reply) => sorted_pairs(reply),
        (_, reply) => reply,
    }
}

/// See [`Check::SortedPairs`].
fn sorted_pairs(reply: Reply) -> Reply {
    match reply {
        Reply::Aggregate(kind, mut items)
            if items.len() == 2
                && matches!(items[0], Reply::Bulk(_))
                && matches!(items[1], Reply::Aggregate(..)) =>
        {
            let pairs = sorted_pairs(items.pop().expect("two items"));
            items.push(pairs);
            Reply::Aggregate(kind, items)
        }
        Reply::Aggregate(kind, items) if items.len() % 2 == 0 => {
            let mut pairs: Vec<[Reply; 2]> = items
                .chunks(2)
                .map(|p| [p[0].clone(), p[1].clone()])
                .collect();
            pairs.sort();
            Reply::Aggregate(kind, pairs.into_iter().flatten().collect())
        }
        other => other,
    }
}

fn same(check: Check, a: &Reply, b: &Reply) -> bool {
    match (check, a, b) {
        (Check::Ttl(tol), Reply::Int(x), Reply::Int(y)) if *x >= 0 && *y >= 0 => {
            (x - y).abs() <= tol
        }
        _ => a == b,
    }
}

fn show_args(args: &[Vec<u8>]) -> String {
    args.iter()
        .map(|a| format!("\"{}\" ", escaped(a)))
        .collect()
}

/// The pair of connections a seed runs on.
struct Pair {
    ferrokv: RespConn,
    redis: RespConn,
}

impl Pair {
    /// Sends to both; returns (ferrokv, redis) replies.
    fn both(&mut self, step: &Step) -> (Reply, Reply) {
        let f = run_step(&mut self.ferrokv, step)
            .unwrap_or_else(|e| panic!("ferrokv: {e} on {}", show_args(&step.args)));
        let r = run_step(&mut self.redis, step)
            .unwrap_or_else(|e| panic!("redis: {e} on {}", show_args(&step.args)));
        (f, r)
    }
}

fn step_of(args: &[&[u8]], check: Check) -> Step {
    Step {
        args: args.iter().map(|a| a.to_vec()).collect(),
        check,
    }
}

/// Empties the databases the generator uses, with commands every branch has.
fn reset(pair: &mut Pair) {
    for db in 0..DBS {
        let mut del: Vec<&[u8]> = vec![b"DEL"];
        del.extend(KEYS.iter().copied());
        for step in [
            step_of(&[b"SELECT", db.to_string().as_bytes()], Check::Exact),
            step_of(&del, Check::Exact),
        ] {
            pair.both(&step);
        }
    }
    pair.both(&step_of(&[b"SELECT", b"0"], Check::Exact));
}

/// Reads the whole keyspace back from both servers: the commands to do so.
fn final_state(enabled: &[&str]) -> Vec<Step> {
    // A transaction cut off by the step limit would queue the read-back.
    let mut steps = vec![step_of(&[b"DISCARD"], Check::Exact)];
    for db in 0..DBS {
        steps.push(step_of(
            &[b"SELECT", db.to_string().as_bytes()],
            Check::Exact,
        ));
        steps.push(step_of(&[b"DBSIZE"], Check::Exact));
        for key in KEYS {
            steps.push(step_of(&[b"GET", key], Check::Exact));
            if enabled.contains(&"type") {
                steps.push(step_of(&[b"TYPE", key], Check::Exact));
            }
            if enabled.contains(&"pttl") {
                steps.push(step_of(&[b"PTTL", key], Check::Ttl(2000)));
            }
            for read_back in [
                lists::read_back,
                hashes::read_back,
                sets::read_back,
                zsets::read_back,
            ] {
                steps.extend(read_back(key));
            }
        }
    }
    steps
}

/// Every family's generator entries.
fn all_entries() -> Vec<&'static Entry> {
    [
        CORE_ENTRIES,
        lists::ENTRIES,
        hashes::ENTRIES,
        sets::ENTRIES,
        zsets::ENTRIES,
    ]
    .into_iter()
    .flatten()
    .collect()
}

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

#[test]
fn random_command_sequences_match_redis() {
    let Some(oracle) = Server::start_redis() else {
        println!("differential test skipped: redis-server not found");
        return;
    };
    // FERROKV_DIFF_SELF_CHECK=1 compares redis with a second redis over every entry: any
    // difference then is non-determinism the checks fail to mask.
    let self_check = std::env::var_os("FERROKV_DIFF_SELF_CHECK").is_some();
    let ferrokv = if self_check {
        Server::start_redis().expect("second redis-server")
    } else {
        Server::start(&["--threads", "2"])
    };
    let only = if self_check || std::env::var_os("FERROKV_DIFF_ALL").is_some() {
        None
    } else {
        ONLY
    };
    let enabled: Vec<&'static Entry> = all_entries()
        .into_iter()
        .filter(|e| only.is_none_or(|only| only.contains(&e.name)))
        .collect();
    let names: Vec<&str> = enabled.iter().map(|e| e.name).collect();
    let seeds: Vec<u64> = match env_u64("FERROKV_DIFF_SEED") {
        Some(seed) => vec![seed],
        None => (1..=env_u64("FERROKV_DIFF_SEEDS").unwrap_or(SEEDS)).collect(),
    };
    let steps = env_u64("FERROKV_DIFF_STEPS").map_or(STEPS, |n| n as usize);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    println!(
        "differential: {} seeds x {steps} steps over {names:?}",
        seeds.len()
    );

    // FERROKV_DIFF_LOG=FILE records every step and the oracle's reply (to inspect coverage).
    let mut log = std::env::var_os("FERROKV_DIFF_LOG")
        .map(|path| std::io::BufWriter::new(std::fs::File::create(path).expect("log file")));
    for seed in seeds {
        let mut pair = Pair {
            ferrokv: RespConn::connect(&ferrokv),
            redis: RespConn::connect(&oracle),
        };
        reset(&mut pair);
        let mut gen = Gen {
            rng: common::splitmix::SplitMix64(seed),
            now,
            enabled: enabled.clone(),
            queue: VecDeque::new(),
        };
        let mut history: Vec<String> = Vec::new();
        let generated = (0..steps).map(|_| gen.step());
        let tail = final_state(&names);
        for (i, step) in generated.chain(tail).enumerate() {
            let (f, r) = pair.both(&step);
            if !same(step.check, &f, &r) {
                let start = history.len().saturating_sub(15);
                panic!(
                    "ferrokv and redis differ: seed {seed}, step {i} ({})\n  command: {}\n  \
                     ferrokv: {f:?}\n  redis:   {r:?}\nprevious steps:\n{}\n\
                     reproduce: FERROKV_DIFF_SEED={seed} \
                     cargo test --test integration differential::",
                    if i < steps {
                        "generated"
                    } else {
                        "final state read-back"
                    },
                    show_args(&step.args),
                    history[start..].join("\n"),
                );
            }
            let line = format!("  {i:>4}: {} -> {r:?}", show_args(&step.args));
            if let Some(log) = log.as_mut() {
                writeln!(log, "seed {seed}{line}").expect("write log");
            }
            history.push(line);
        }
    }
}
