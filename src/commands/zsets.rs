//! Sorted-set commands with Redis 7.0's semantics, replies and error texts (ZRANK/ZREVRANK also
//! take 7.2's WITHSCORE).
//!
//! # Layout
//! The table below is the family's only list of commands. Handlers parse and validate their
//! arguments in Redis's order (so the same error wins when several apply), then run their whole
//! effect under the store's locks: one shard lock for single-key commands,
//! [`StoreRef::lock`](crate::store::StoreRef::lock) over every key for ZRANGESTORE, ZMPOP and
//! the set operations, which makes them atomic. Writes return what they did (the popped
//! members) and reply once the lock is released; read-only range replies are written straight
//! from the zset under the shard's read lock. Operations on the value itself live in
//! [`crate::store::types::zset`]; this file never touches its representation.
//!
//! The blocking variants (BZPOPMIN, BZPOPMAX, BZMPOP) live in [`super::blocking`] and pop
//! through `pop_from`, `reply_popped_with_key` and `parse_mpop`, shared with ZMPOP.
//!
//! # Propagation
//! As Redis rewrites it: ZMPOP propagates as `ZPOPMIN|ZPOPMAX key count` (the count popped).
//!
//! # Replies (RESP2 / RESP3)
//! Scores are doubles: `%.17g` bulk strings in RESP2, `,` doubles in RESP3. WITHSCORES replies
//! are flat `member, score, ...` arrays in RESP2 and arrays of `[member, score]` pairs in RESP3;
//! ZPOPMIN/ZPOPMAX nest pairs in RESP3 only when a count was given; ZMPOP always nests; ZSCAN
//! always returns scores as bulk strings.
//!
//! # Keyspace events
//! As Redis 7.0: `zadd` / `zincr` (ZADD INCR, ZINCRBY) when a member was added or its score
//! changed, `zrem` and `zremrangebyrank|score|lex` when something was removed, `zpopmin` /
//! `zpopmax` (ZMPOP too; not for a count of 0), `zunionstore` / `zinterstore` / `zdiffstore` /
//! `zrangestore` on a stored result, and `del` when a zset empties or a STORE with an empty
//! result deletes its destination.
//!
//! # Keyspace statistics
//! As Redis: commands that look their keys up for reading (ZSCORE, ZRANGE & co, ZCARD, the set
//! operations' sources, ...) count one hit or miss per key; write lookups (ZADD, ZREM, ZPOP*,
//! ZREMRANGE*) count nothing.
//!
//! [`StoreRef::lock`]: crate::store::StoreRef::lock

use bytes::Bytes;

use super::flags::*;
use super::{args, dest_and_numkeys, errors, keys_after_numkeys, spec, CommandSpec, Ctx, Group};
use crate::resp::reply::Reply;
use crate::store::events::class;
use crate::store::types::zset::{AddFlags, AddOutcome, LexBound, LexRange, ScoreRange};
use crate::store::types::ZSet;
use crate::store::{Entry, StrBuf, Value};
use crate::util::glob::{glob_match, is_match_all};
use crate::util::num::{format_f64, parse_f64, parse_f64_strtod, parse_i64};

#[rustfmt::skip]
pub static COMMANDS: &[CommandSpec] = &[
    //   name                arity flags                                group                first last step handler
    spec("zadd",              -4, WRITE | DENYOOM | FAST,               Group::SortedSet, 1, 1, 1, zadd),
    spec("zincrby",            4, WRITE | DENYOOM | FAST,               Group::SortedSet, 1, 1, 1, zincrby),
    spec("zrem",              -3, WRITE | FAST,                         Group::SortedSet, 1, 1, 1, zrem),
    spec("zscore",             3, READONLY | FAST,                      Group::SortedSet, 1, 1, 1, zscore),
    spec("zmscore",           -3, READONLY | FAST,                      Group::SortedSet, 1, 1, 1, zmscore),
    spec("zcard",              2, READONLY | FAST,                      Group::SortedSet, 1, 1, 1, zcard),
    spec("zcount",             4, READONLY | FAST,                      Group::SortedSet, 1, 1, 1, zcount),
    spec("zlexcount",          4, READONLY | FAST,                      Group::SortedSet, 1, 1, 1, zlexcount),
    spec("zrange",            -4, READONLY,                             Group::SortedSet, 1, 1, 1, zrange),
    spec("zrangestore",       -5, WRITE | DENYOOM,                      Group::SortedSet, 1, 2, 1, zrangestore),
    spec("zrangebyscore",     -4, READONLY,                             Group::SortedSet, 1, 1, 1, zrangebyscore),
    spec("zrevrangebyscore",  -4, READONLY,                             Group::SortedSet, 1, 1, 1, zrevrangebyscore),
    spec("zrangebylex",       -4, READONLY,                             Group::SortedSet, 1, 1, 1, zrangebylex),
    spec("zrevrangebylex",    -4, READONLY,                             Group::SortedSet, 1, 1, 1, zrevrangebylex),
    spec("zrevrange",         -4, READONLY,                             Group::SortedSet, 1, 1, 1, zrevrange),
    spec("zrank",             -3, READONLY | FAST,                      Group::SortedSet, 1, 1, 1, zrank),
    spec("zrevrank",          -3, READONLY | FAST,                      Group::SortedSet, 1, 1, 1, zrevrank),
    spec("zremrangebyrank",    4, WRITE,                                Group::SortedSet, 1, 1, 1, zremrangebyrank),
    spec("zremrangebyscore",   4, WRITE,                                Group::SortedSet, 1, 1, 1, zremrangebyscore),
    spec("zremrangebylex",     4, WRITE,                                Group::SortedSet, 1, 1, 1, zremrangebylex),
    spec("zpopmin",           -2, WRITE | FAST,                         Group::SortedSet, 1, 1, 1, zpopmin),
    spec("zpopmax",           -2, WRITE | FAST,                         Group::SortedSet, 1, 1, 1, zpopmax),
    // Movable keys: `numkeys key ...` (found by the registry's numkeys finders).
    spec("zmpop",             -4, WRITE,                 Group::SortedSet, 0, 0, 0, zmpop).with_keys(keys_after_numkeys::<1>),
    spec("zrandmember",       -2, READONLY,                             Group::SortedSet, 1, 1, 1, zrandmember),
    spec("zunion",            -3, READONLY,              Group::SortedSet, 0, 0, 0, zunion).with_keys(keys_after_numkeys::<1>),
    spec("zinter",            -3, READONLY,              Group::SortedSet, 0, 0, 0, zinter).with_keys(keys_after_numkeys::<1>),
    spec("zdiff",             -3, READONLY,              Group::SortedSet, 0, 0, 0, zdiff).with_keys(keys_after_numkeys::<1>),
    spec("zintercard",        -3, READONLY,              Group::SortedSet, 0, 0, 0, zintercard).with_keys(keys_after_numkeys::<1>),
    spec("zunionstore",       -4, WRITE | DENYOOM,       Group::SortedSet, 1, 1, 1, zunionstore).with_keys(dest_and_numkeys),
    spec("zinterstore",       -4, WRITE | DENYOOM,       Group::SortedSet, 1, 1, 1, zinterstore).with_keys(dest_and_numkeys),
    spec("zdiffstore",        -4, WRITE | DENYOOM,       Group::SortedSet, 1, 1, 1, zdiffstore).with_keys(dest_and_numkeys),
    spec("zscan",             -3, READONLY,                             Group::SortedSet, 1, 1, 1, zscan),
];

// ---------------------------------------------------------------------------------------------
// Shared helpers
// ---------------------------------------------------------------------------------------------

fn new_entry(z: ZSet) -> Entry {
    Entry::new(Value::ZSet(Box::new(z)), 0)
}

/// What a read of a key found.
enum Read<T> {
    Missing,
    WrongType,
    Found(T),
}

/// Runs `f` on the zset at `key` under its shard's read lock, counting the lookup.
fn read_zset<R>(ctx: &mut Ctx<'_>, key: &[u8], f: impl FnOnce(&ZSet) -> R) -> Read<R> {
    let found = ctx.db().read(key, ctx.now, |e| match e.value.as_zset() {
        Some(z) => Read::Found(f(z)),
        None => Read::WrongType,
    });
    ctx.read_lookup(key, found.is_some());
    found.unwrap_or(Read::Missing)
}

/// Writes elements as range replies do: members only, or with scores as a flat array (RESP2)
/// or as `[member, score]` pairs (RESP3).
fn reply_elements<'a>(
    out: &mut Reply,
    items: impl ExactSizeIterator<Item = (&'a [u8], f64)>,
    withscores: bool,
) {
    let n = items.len();
    if withscores && !out.resp3 {
        out.array(2 * n);
    } else {
        out.array(n);
    }
    for (member, score) in items {
        if withscores && out.resp3 {
            out.array(2);
        }
        out.bulk(member);
        if withscores {
            out.double(score);
        }
    }
}

/// Parses `min`/`max` of a score range: a float (C `strtod` rules), `(` for exclusive.
fn parse_score_range(min: &[u8], max: &[u8]) -> Option<ScoreRange> {
    let bound = |arg: &[u8]| match arg.split_first() {
        Some((b'(', rest)) => parse_f64_strtod(rest).map(|v| (v, true)),
        _ => parse_f64_strtod(arg).map(|v| (v, false)),
    };
    let (min, min_ex) = bound(min)?;
    let (max, max_ex) = bound(max)?;
    Some(ScoreRange {
        min,
        max,
        min_ex,
        max_ex,
    })
}

/// Parses one end of a lexicographic range: `-`, `+`, `[member` or `(member`.
fn parse_lex_bound(arg: &[u8]) -> Option<LexBound> {
    // As Redis reads the C string: `+` or `-` must be followed by the terminator.
    let alone = arg.get(1).is_none_or(|&c| c == 0);
    match arg.first()? {
        b'+' if alone => Some(LexBound::Max),
        b'-' if alone => Some(LexBound::Min),
        b'(' => Some(LexBound::Exclusive(arg[1..].to_vec())),
        b'[' => Some(LexBound::Inclusive(arg[1..].to_vec())),
        _ => None,
    }
}

fn parse_lex_range(min: &[u8], max: &[u8]) -> Option<LexRange> {
    Some(LexRange {
        min: parse_lex_bound(min)?,
        max: parse_lex_bound(max)?,
    })
}

/// Normalises a `start stop` rank pair (negatives count from the end) against `len`; `None`
/// when the range is empty. Returns inclusive bounds.
fn rank_bounds(start: i64, end: i64, len: usize) -> Option<(usize, usize)> {
    let len = len as i64;
    let mut start = if start < 0 { start + len } else { start };
    let mut end = if end < 0 { end + len } else { end };
    if start < 0 {
        start = 0;
    }
    if start > end || start >= len {
        return None;
    }
    if end >= len {
        end = len - 1;
    }
    Some((start as usize, end as usize))
}

// ---------------------------------------------------------------------------------------------
// ZADD, ZINCRBY, ZREM
// ---------------------------------------------------------------------------------------------

/// # Format
/// `ZADD key [NX|XX] [GT|LT] [CH] [INCR] score member [score member ...]` — the number of new
/// members (CH: added or updated); with INCR the new score, or nil when NX/XX/GT/LT prevented it.
fn zadd(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    zadd_generic(ctx, argv, false);
}

/// # Format
/// `ZINCRBY key increment member` — the new score (ZADD INCR).
fn zincrby(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    zadd_generic(ctx, argv, true);
}

/// How a ZADD's elements went.
#[derive(Default)]
struct AddTally {
    added: i64,
    updated: i64,
    processed: i64,
    score: f64,
}

enum AddError {
    WrongType,
    NotANumber,
}

/// `zaddGenericCommand`. Options are read until the first argument that is not one (so
/// `ZINCRBY key nx member` is a syntax error, as in Redis).
pub(crate) fn zadd_generic(ctx: &mut Ctx<'_>, argv: &[Bytes], incr: bool) {
    let mut flags = AddFlags {
        incr,
        ..AddFlags::default()
    };
    let mut ch = false;
    let mut i = 2;
    while i < argv.len() {
        let opt = &argv[i];
        if args::is(opt, "nx") {
            flags.nx = true;
        } else if args::is(opt, "xx") {
            flags.xx = true;
        } else if args::is(opt, "ch") {
            ch = true;
        } else if args::is(opt, "incr") {
            flags.incr = true;
        } else if args::is(opt, "gt") {
            flags.gt = true;
        } else if args::is(opt, "lt") {
            flags.lt = true;
        } else {
            break;
        }
        i += 1;
    }
    let rest = &argv[i..];
    if rest.is_empty() || !rest.len().is_multiple_of(2) {
        ctx.out.error(errors::SYNTAX);
        return;
    }
    if flags.nx && flags.xx {
        ctx.out.error(errors::ZADD_XX_AND_NX);
        return;
    }
    if (flags.nx && (flags.gt || flags.lt)) || (flags.gt && flags.lt) {
        ctx.out.error(errors::ZADD_GT_LT_NX);
        return;
    }
    if flags.incr && rest.len() > 2 {
        ctx.out.error(errors::ZADD_INCR_PAIR);
        return;
    }
    let mut pairs = Vec::with_capacity(rest.len() / 2);
    for pair in rest.chunks_exact(2) {
        let Some(score) = args::float(ctx, &pair[0]) else {
            return;
        };
        pairs.push((score, &pair[1][..]));
    }
    let result = ctx.db().write(&argv[1], ctx.now, |slot| {
        match slot.get() {
            Some(e) if e.value.as_zset().is_none() => return Err(AddError::WrongType),
            Some(_) => {}
            None if flags.xx => return Ok(AddTally::default()),
            None => {
                slot.put(new_entry(ZSet::new()));
            }
        }
        let Some(z) = slot.get().and_then(|e| e.value.as_zset_mut()) else {
            return Ok(AddTally::default());
        };
        let mut tally = AddTally::default();
        let mut failed = false;
        for &(score, member) in &pairs {
            match z.add(score, member, flags) {
                AddOutcome::Added(s) => {
                    tally.added += 1;
                    tally.processed += 1;
                    tally.score = s;
                }
                AddOutcome::Updated(s) => {
                    tally.updated += 1;
                    tally.processed += 1;
                    tally.score = s;
                }
                AddOutcome::Unchanged(s) => {
                    tally.processed += 1;
                    tally.score = s;
                }
                AddOutcome::Skipped => {}
                AddOutcome::NotANumber => {
                    failed = true;
                    break;
                }
            }
        }
        // Never leave an empty zset behind (a fresh key whose only element failed).
        if z.is_empty() {
            slot.remove();
        }
        // Reported when something changed, even if a later element failed, as Redis.
        if tally.added + tally.updated > 0 {
            slot.modified(class::ZSET, if flags.incr { "zincr" } else { "zadd" });
        }
        if failed {
            Err(AddError::NotANumber)
        } else {
            Ok(tally)
        }
    });
    match result {
        Err(AddError::WrongType) => ctx.out.error(errors::WRONGTYPE),
        Err(AddError::NotANumber) => ctx.out.error(errors::SCORE_NAN),
        Ok(t) if flags.incr => {
            if t.processed > 0 {
                ctx.out.double(t.score);
            } else {
                ctx.out.null();
            }
        }
        Ok(t) => ctx.out.int(if ch { t.added + t.updated } else { t.added }),
    }
}

/// # Format
/// `ZREM key member [member ...]` — the number of members removed.
fn zrem(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    let result = ctx.db().write(&argv[1], ctx.now, |slot| {
        let Some(e) = slot.get() else {
            return Some((0, None));
        };
        let z = e.value.as_zset_mut()?;
        let mut removed = 0;
        for member in &argv[2..] {
            if z.remove(member) {
                removed += 1;
            }
            if z.is_empty() {
                break;
            }
        }
        let emptied = z.is_empty();
        Some((removed, removed_events(slot, removed > 0, "zrem", emptied)))
    });
    match result {
        Some((removed, dropped)) => {
            drop(dropped);
            ctx.out.int(removed);
        }
        None => ctx.out.error(errors::WRONGTYPE),
    }
}

// ---------------------------------------------------------------------------------------------
// Point reads: ZSCORE, ZMSCORE, ZCARD, ZCOUNT, ZLEXCOUNT, ZRANK, ZREVRANK
// ---------------------------------------------------------------------------------------------

/// # Format
/// `ZSCORE key member` — the score (a double), or nil.
fn zscore(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    match read_zset(ctx, &argv[1], |z| z.score(&argv[2])) {
        Read::WrongType => ctx.out.error(errors::WRONGTYPE),
        Read::Found(Some(score)) => ctx.out.double(score),
        Read::Found(None) | Read::Missing => ctx.out.null(),
    }
}

/// # Format
/// `ZMSCORE key member [member ...]` — an array of scores or nils.
fn zmscore(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    let members = &argv[2..];
    let scores = match read_zset(ctx, &argv[1], |z| {
        members.iter().map(|m| z.score(m)).collect::<Vec<_>>()
    }) {
        Read::WrongType => {
            ctx.out.error(errors::WRONGTYPE);
            return;
        }
        Read::Missing => vec![None; members.len()],
        Read::Found(scores) => scores,
    };
    ctx.out.array(scores.len());
    for score in scores {
        match score {
            Some(s) => ctx.out.double(s),
            None => ctx.out.null(),
        }
    }
}

/// # Format
/// `ZCARD key` — the number of members (0 for a missing key).
fn zcard(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    match read_zset(ctx, &argv[1], |z| z.len()) {
        Read::WrongType => ctx.out.error(errors::WRONGTYPE),
        Read::Found(n) => ctx.out.int(n as i64),
        Read::Missing => ctx.out.int(0),
    }
}

/// # Format
/// `ZCOUNT key min max` — members with a score in the range (`(` exclusive, `-inf`, `+inf`).
fn zcount(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    let Some(range) = parse_score_range(&argv[2], &argv[3]) else {
        ctx.out.error(errors::MIN_MAX_NOT_FLOAT);
        return;
    };
    match read_zset(ctx, &argv[1], |z| z.count_in_score_range(&range)) {
        Read::WrongType => ctx.out.error(errors::WRONGTYPE),
        Read::Found(n) => ctx.out.int(n as i64),
        Read::Missing => ctx.out.int(0),
    }
}

/// # Format
/// `ZLEXCOUNT key min max` — members in the lexicographic range (`-`, `+`, `[m`, `(m`).
fn zlexcount(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    let Some(range) = parse_lex_range(&argv[2], &argv[3]) else {
        ctx.out.error(errors::MIN_MAX_NOT_LEX);
        return;
    };
    match read_zset(ctx, &argv[1], |z| z.count_in_lex_range(&range)) {
        Read::WrongType => ctx.out.error(errors::WRONGTYPE),
        Read::Found(n) => ctx.out.int(n as i64),
        Read::Missing => ctx.out.int(0),
    }
}

/// # Format
/// `ZRANK key member [WITHSCORE]` — the 0-based rank by ascending score, or nil;
/// WITHSCORE (Redis 7.2) answers `[rank, score]` or a nil array.
fn zrank(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    rank_generic(ctx, argv, false);
}

/// # Format
/// `ZREVRANK key member [WITHSCORE]` — the rank by descending score.
fn zrevrank(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    rank_generic(ctx, argv, true);
}

fn rank_generic(ctx: &mut Ctx<'_>, argv: &[Bytes], rev: bool) {
    if argv.len() > 4 {
        ctx.out
            .error(errors::wrong_arity(if rev { "zrevrank" } else { "zrank" }));
        return;
    }
    let withscore = argv.len() == 4;
    if withscore && !args::is(&argv[3], "withscore") {
        ctx.out.error(errors::SYNTAX);
        return;
    }
    let found = read_zset(ctx, &argv[1], |z| {
        z.rank(&argv[2])
            .map(|(rank, score)| (if rev { z.len() - 1 - rank } else { rank }, score))
    });
    match found {
        Read::WrongType => ctx.out.error(errors::WRONGTYPE),
        Read::Found(Some((rank, score))) => {
            if withscore {
                ctx.out.array(2);
                ctx.out.int(rank as i64);
                ctx.out.double(score);
            } else {
                ctx.out.int(rank as i64);
            }
        }
        Read::Found(None) | Read::Missing => {
            if withscore {
                ctx.out.null_array();
            } else {
                ctx.out.null();
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The ZRANGE family
// ---------------------------------------------------------------------------------------------

/// The kind of range, as `zrange_type` (`Auto` until an option or the command decides).
#[derive(Clone, Copy, PartialEq, Eq)]
enum By {
    Auto,
    Rank,
    Score,
    Lex,
}

enum Bounds {
    Rank(i64, i64),
    Score(ScoreRange),
    Lex(LexRange),
}

/// A parsed range query.
struct RangeQuery {
    bounds: Bounds,
    rev: bool,
    /// LIMIT offset and count (count < 0: no limit).
    offset: i64,
    limit: i64,
    withscores: bool,
}

/// # Format
/// `ZRANGE key start stop [BYSCORE|BYLEX] [REV] [LIMIT offset count] [WITHSCORES]`
fn zrange(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    if let Some(q) = parse_range(ctx, argv, 1, false, By::Auto, None) {
        range_reply(ctx, &argv[1], &q);
    }
}

/// # Format
/// `ZREVRANGE key start stop [WITHSCORES]`
fn zrevrange(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    if let Some(q) = parse_range(ctx, argv, 1, false, By::Rank, Some(true)) {
        range_reply(ctx, &argv[1], &q);
    }
}

/// # Format
/// `ZRANGEBYSCORE key min max [WITHSCORES] [LIMIT offset count]`
fn zrangebyscore(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    if let Some(q) = parse_range(ctx, argv, 1, false, By::Score, Some(false)) {
        range_reply(ctx, &argv[1], &q);
    }
}

/// # Format
/// `ZREVRANGEBYSCORE key max min [WITHSCORES] [LIMIT offset count]`
fn zrevrangebyscore(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    if let Some(q) = parse_range(ctx, argv, 1, false, By::Score, Some(true)) {
        range_reply(ctx, &argv[1], &q);
    }
}

/// # Format
/// `ZRANGEBYLEX key min max [LIMIT offset count]`
fn zrangebylex(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    if let Some(q) = parse_range(ctx, argv, 1, false, By::Lex, Some(false)) {
        range_reply(ctx, &argv[1], &q);
    }
}

/// # Format
/// `ZREVRANGEBYLEX key max min [LIMIT offset count]`
fn zrevrangebylex(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    if let Some(q) = parse_range(ctx, argv, 1, false, By::Lex, Some(true)) {
        range_reply(ctx, &argv[1], &q);
    }
}

/// # Format
/// `ZRANGESTORE dst src min max [BYSCORE|BYLEX] [REV] [LIMIT offset count]` — the number of
/// elements stored in `dst` (an empty result deletes `dst`).
fn zrangestore(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    let Some(q) = parse_range(ctx, argv, 2, true, By::Auto, None) else {
        return;
    };
    let (dst, src) = (&argv[1][..], &argv[2][..]);
    let (d, now) = (ctx.client.db, ctx.now);
    let mut locks = ctx.store().lock(&[(d, src), (d, dst)]);
    let selected = match locks.slot(d, src, now).get() {
        None => Read::Missing,
        Some(e) => match e.value.as_zset() {
            None => Read::WrongType,
            Some(z) => Read::Found(
                select(z, &q)
                    .into_iter()
                    .map(|(m, s)| (StrBuf::from_slice(m), s))
                    .collect::<Vec<_>>(),
            ),
        },
    };
    ctx.read_lookup(src, !matches!(selected, Read::Missing));
    let pairs = match selected {
        Read::WrongType => {
            drop(locks);
            ctx.out.error(errors::WRONGTYPE);
            return;
        }
        Read::Missing => Vec::new(),
        Read::Found(pairs) => pairs,
    };
    let stored = pairs.len();
    let old = store_result(&mut locks.slot(d, dst, now), pairs, "zrangestore");
    drop(locks);
    drop(old);
    ctx.out.int(stored as i64);
}

/// `zrangeGenericCommand`'s parsing: options from `key_idx + 3`, then their conflicts, then the
/// bounds (swapped for REV score/lex ranges). Replies the error and returns `None` on failure.
fn parse_range(
    ctx: &mut Ctx<'_>,
    argv: &[Bytes],
    key_idx: usize,
    store: bool,
    mut by: By,
    mut rev: Option<bool>,
) -> Option<RangeQuery> {
    let mut withscores = false;
    let (mut offset, mut limit) = (0i64, -1i64);
    let mut j = key_idx + 3;
    while j < argv.len() {
        let left = argv.len() - j - 1;
        let opt = &argv[j];
        if !store && args::is(opt, "withscores") {
            withscores = true;
        } else if args::is(opt, "limit") && left >= 2 {
            offset = args::int(ctx, &argv[j + 1])?;
            limit = args::int(ctx, &argv[j + 2])?;
            j += 2;
        } else if rev.is_none() && args::is(opt, "rev") {
            rev = Some(true);
        } else if by == By::Auto && args::is(opt, "bylex") {
            by = By::Lex;
        } else if by == By::Auto && args::is(opt, "byscore") {
            by = By::Score;
        } else {
            ctx.out.error(errors::SYNTAX);
            return None;
        }
        j += 1;
    }
    let rev = rev.unwrap_or(false);
    if by == By::Auto {
        by = By::Rank;
    }
    if limit != -1 && by == By::Rank {
        ctx.out.error(errors::LIMIT_NEEDS_BY);
        return None;
    }
    if withscores && by == By::Lex {
        ctx.out.error(errors::WITHSCORES_BYLEX);
        return None;
    }
    let (mut min, mut max) = (&argv[key_idx + 1], &argv[key_idx + 2]);
    if rev && by != By::Rank {
        std::mem::swap(&mut min, &mut max);
    }
    let bounds = match by {
        By::Auto | By::Rank => Bounds::Rank(args::int(ctx, min)?, args::int(ctx, max)?),
        By::Score => match parse_score_range(min, max) {
            Some(r) => Bounds::Score(r),
            None => {
                ctx.out.error(errors::MIN_MAX_NOT_FLOAT);
                return None;
            }
        },
        By::Lex => match parse_lex_range(min, max) {
            Some(r) => Bounds::Lex(r),
            None => {
                ctx.out.error(errors::MIN_MAX_NOT_LEX);
                return None;
            }
        },
    };
    Some(RangeQuery {
        bounds,
        rev,
        offset,
        limit,
        withscores,
    })
}

/// Replies the elements `q` selects from the zset at `key` (an empty array when it is missing),
/// written under the shard's read lock.
fn range_reply(ctx: &mut Ctx<'_>, key: &[u8], q: &RangeQuery) {
    let db = ctx.db();
    let out = &mut *ctx.out;
    let found = db.read(key, ctx.now, |e| match e.value.as_zset() {
        Some(z) => reply_elements(out, select(z, q).into_iter(), q.withscores),
        None => out.error(errors::WRONGTYPE),
    });
    ctx.read_lookup(key, found.is_some());
    if found.is_none() {
        ctx.out.array(0);
    }
}

/// The elements a range query selects, in reply order (Redis's `genericZrangeby*Command`).
fn select<'a>(z: &'a ZSet, q: &RangeQuery) -> Vec<(&'a [u8], f64)> {
    match &q.bounds {
        Bounds::Rank(start, end) => {
            let Some((start, end)) = rank_bounds(*start, *end, z.len()) else {
                return Vec::new();
            };
            let first = if q.rev { z.len() - 1 - start } else { start };
            z.iter_from(first, q.rev).take(end - start + 1).collect()
        }
        Bounds::Score(r) => walk(z, z.score_start(r, q.rev), q, |_, s| {
            if q.rev {
                r.gte_min(s)
            } else {
                r.lte_max(s)
            }
        }),
        Bounds::Lex(r) => walk(z, z.lex_start(r, q.rev), q, |m, _| {
            if q.rev {
                r.gte_min(m)
            } else {
                r.lte_max(m)
            }
        }),
    }
}

/// From the first element in range, skips `offset` elements (a negative offset walks off the
/// end, as Redis's `while (offset--)`), then takes up to `limit` while `in_range` holds.
fn walk<'a>(
    z: &'a ZSet,
    start: Option<usize>,
    q: &RangeQuery,
    in_range: impl Fn(&[u8], f64) -> bool,
) -> Vec<(&'a [u8], f64)> {
    let Some(start) = start else {
        return Vec::new();
    };
    let Ok(offset) = usize::try_from(q.offset) else {
        return Vec::new();
    };
    let first = if q.rev {
        match start.checked_sub(offset) {
            Some(f) => f,
            None => return Vec::new(),
        }
    } else {
        start.saturating_add(offset)
    };
    let limit = usize::try_from(q.limit).unwrap_or(usize::MAX);
    z.iter_from(first, q.rev)
        .take(limit)
        .take_while(|(m, s)| in_range(m, *s))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// ZREMRANGEBYRANK, ZREMRANGEBYSCORE, ZREMRANGEBYLEX
// ---------------------------------------------------------------------------------------------

/// # Format
/// `ZREMRANGEBYRANK key start stop` — the number of members removed.
fn zremrangebyrank(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    let Some(start) = args::int(ctx, &argv[2]) else {
        return;
    };
    let Some(end) = args::int(ctx, &argv[3]) else {
        return;
    };
    remove_range(ctx, &argv[1], Bounds::Rank(start, end));
}

/// # Format
/// `ZREMRANGEBYSCORE key min max` — the number of members removed.
fn zremrangebyscore(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    match parse_score_range(&argv[2], &argv[3]) {
        Some(r) => remove_range(ctx, &argv[1], Bounds::Score(r)),
        None => ctx.out.error(errors::MIN_MAX_NOT_FLOAT),
    }
}

/// # Format
/// `ZREMRANGEBYLEX key min max` — the number of members removed.
fn zremrangebylex(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    match parse_lex_range(&argv[2], &argv[3]) {
        Some(r) => remove_range(ctx, &argv[1], Bounds::Lex(r)),
        None => ctx.out.error(errors::MIN_MAX_NOT_LEX),
    }
}

fn remove_range(ctx: &mut Ctx<'_>, key: &[u8], bounds: Bounds) {
    let result = ctx.db().write(key, ctx.now, |slot| {
        let Some(e) = slot.get() else {
            return Some((0, None));
        };
        let z = e.value.as_zset_mut()?;
        let removed = match &bounds {
            Bounds::Rank(start, end) => match rank_bounds(*start, *end, z.len()) {
                Some((start, end)) => z.remove_ranks(start, end + 1),
                None => 0,
            },
            Bounds::Score(r) => z.remove_score_range(r),
            Bounds::Lex(r) => z.remove_lex_range(r),
        };
        let event = match &bounds {
            Bounds::Rank(..) => "zremrangebyrank",
            Bounds::Score(_) => "zremrangebyscore",
            Bounds::Lex(_) => "zremrangebylex",
        };
        let emptied = z.is_empty();
        Some((removed, removed_events(slot, removed > 0, event, emptied)))
    });
    match result {
        Some((removed, dropped)) => {
            drop(dropped);
            ctx.out.int(removed as i64);
        }
        None => ctx.out.error(errors::WRONGTYPE),
    }
}

// ---------------------------------------------------------------------------------------------
// ZPOPMIN, ZPOPMAX, ZMPOP
// ---------------------------------------------------------------------------------------------

/// # Format
/// `ZPOPMIN key [count]` — the popped `member, score` pairs (RESP3 with a count: nested).
fn zpopmin(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    zpop(ctx, argv, false);
}

/// # Format
/// `ZPOPMAX key [count]`
fn zpopmax(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    zpop(ctx, argv, true);
}

/// Pops up to `count` elements from the zset in `slot` (the caller checked its type); deletes
/// the key when it empties. Events as Redis's `genericZpopCommand`: `zpopmin`/`zpopmax` (and
/// WATCH) once something was popped, then `del` if the key went. Returns the elements.
pub(crate) fn pop_from(
    slot: &mut crate::store::Slot<'_>,
    max: bool,
    count: u64,
) -> Vec<(StrBuf, f64)> {
    let Some(z) = slot.get().and_then(|e| e.value.as_zset_mut()) else {
        return Vec::new();
    };
    let n = count.min(z.len() as u64) as usize;
    let popped: Vec<(StrBuf, f64)> = (0..n).filter_map(|_| z.pop(max)).collect();
    let emptied = z.is_empty();
    if !popped.is_empty() {
        slot.notify(class::ZSET, if max { "zpopmax" } else { "zpopmin" });
        slot.touched();
    }
    if emptied {
        // Emptied by popping: nothing left to free, so it is dropped under the lock.
        slot.remove();
        slot.notify(class::GENERIC, "del");
    }
    popped
}

/// After members were removed from the zset in `slot` (if `changed`): reports `event`, deletes
/// an `emptied` zset reporting `del`, and returns the removed entry (drop it unlocked).
fn removed_events(
    slot: &mut crate::store::Slot<'_>,
    changed: bool,
    event: &str,
    emptied: bool,
) -> Option<Entry> {
    let removed = if emptied { slot.remove() } else { None };
    if changed {
        slot.modified(class::ZSET, event);
        if emptied {
            slot.notify(class::GENERIC, "del");
        }
    }
    removed
}

/// Stores a STORE command's non-empty `result` in `slot` reporting `event`, or deletes the
/// destination reporting `del` (Redis deletes without a lookup: an expired one counts).
/// Returns the old entry (drop it unlocked).
pub(crate) fn store_result(
    slot: &mut crate::store::Slot<'_>,
    result: Vec<(StrBuf, f64)>,
    event: &str,
) -> Option<Entry> {
    if result.is_empty() {
        let old = slot.delete();
        if old.is_some() {
            slot.modified(class::GENERIC, "del");
        }
        old
    } else {
        let old = slot.put(new_entry(ZSet::from_pairs(result)));
        slot.modified(class::ZSET, event);
        old
    }
}

/// The reply of a pop that names its key, as Redis's `genericZpopCommand` with `emitkey`:
/// `[key, member, score]` (BZPOPMIN/BZPOPMAX: `nested` false) or `[key, [[member, score],
/// ...]]` (ZMPOP, BZMPOP).
pub(crate) fn reply_popped_with_key(
    out: &mut Reply,
    key: &[u8],
    popped: &[(StrBuf, f64)],
    nested: bool,
) {
    if nested {
        out.array(2);
        out.bulk(key);
        out.array(popped.len());
    } else {
        out.array(2 * popped.len() + 1);
        out.bulk(key);
    }
    for (member, score) in popped {
        if nested {
            out.array(2);
        }
        out.bulk(member);
        out.double(*score);
    }
}

/// How a pop of `count` members of `key` propagates: `ZPOPMIN|ZPOPMAX key [count]` (Redis's
/// rewrite of ZMPOP and the blocking pops).
pub(crate) fn pop_argv<'k>(max: bool, key: &'k [u8], count: Option<&'k [u8]>) -> Vec<&'k [u8]> {
    let name: &[u8] = if max { b"ZPOPMAX" } else { b"ZPOPMIN" };
    let mut argv = vec![name, key];
    argv.extend(count);
    argv
}

fn zpop(ctx: &mut Ctx<'_>, argv: &[Bytes], max: bool) {
    if argv.len() > 3 {
        ctx.out.error(errors::SYNTAX);
        return;
    }
    let count = match argv.get(2) {
        None => None,
        Some(arg) => match parse_i64(arg) {
            Some(n) if n >= 0 => Some(n as u64),
            _ => {
                ctx.out.error(errors::NOT_POSITIVE);
                return;
            }
        },
    };
    let result = ctx.db().write(&argv[1], ctx.now, |slot| match slot.get() {
        None => Read::Missing,
        Some(e) if e.value.as_zset().is_none() => Read::WrongType,
        Some(_) if count == Some(0) => Read::Found(Vec::new()),
        Some(_) => Read::Found(pop_from(slot, max, count.unwrap_or(1))),
    });
    let popped = match result {
        Read::WrongType => {
            ctx.out.error(errors::WRONGTYPE);
            return;
        }
        Read::Missing => Vec::new(),
        Read::Found(popped) => popped,
    };
    let nested = ctx.out.resp3 && count.is_some();
    ctx.out.array(if nested {
        popped.len()
    } else {
        2 * popped.len()
    });
    for (member, score) in &popped {
        if nested {
            ctx.out.array(2);
        }
        ctx.out.bulk(member);
        ctx.out.double(*score);
    }
}

/// # Format
/// `ZMPOP numkeys key [key ...] MIN|MAX [COUNT count]` — `[key, [[member, score], ...]]` from
/// the first non-empty zset, or a nil array.
fn zmpop(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    let (first, numkeys, max, count) = match parse_mpop(argv, 1) {
        Ok(parsed) => parsed,
        Err(e) => return ctx.out.error(e),
    };
    let op = crate::blocked::WaitOp::ZPop {
        max,
        count: Some(count),
    };
    super::blocking::pop_or_block(ctx, &argv[first..first + numkeys], op, None);
}

/// ZMPOP's and BZMPOP's arguments after the command name: `numkeys` at `at`, the keys, then
/// `MIN|MAX [COUNT count]`, checked in Redis's order. Returns the position of the first key,
/// the number of keys, whether to pop the maximum, and the count (default 1).
pub(crate) fn parse_mpop(
    argv: &[Bytes],
    at: usize,
) -> Result<(usize, usize, bool, u64), &'static str> {
    let numkeys = match parse_i64(&argv[at]) {
        Some(n) if n >= 1 => n as usize,
        _ => return Err(errors::NUMKEYS_NOT_POSITIVE),
    };
    let where_idx = match numkeys.checked_add(at + 1) {
        Some(i) if i < argv.len() => i,
        _ => return Err(errors::SYNTAX),
    };
    let max = if args::is(&argv[where_idx], "min") {
        false
    } else if args::is(&argv[where_idx], "max") {
        true
    } else {
        return Err(errors::SYNTAX);
    };
    let mut count = None;
    let mut j = where_idx + 1;
    while j < argv.len() {
        let more = argv.len() - 1 - j;
        if count.is_none() && args::is(&argv[j], "count") && more > 0 {
            j += 1;
            match parse_i64(&argv[j]) {
                Some(n) if n >= 1 => count = Some(n as u64),
                _ => return Err(errors::COUNT_NOT_POSITIVE),
            }
        } else {
            return Err(errors::SYNTAX);
        }
        j += 1;
    }
    Ok((at + 1, numkeys, max, count.unwrap_or(1)))
}

// ---------------------------------------------------------------------------------------------
// ZRANDMEMBER
// ---------------------------------------------------------------------------------------------

/// # Format
/// `ZRANDMEMBER key [count [WITHSCORES]]` — one random member (or nil); with a count, up to
/// `count` distinct members, or `-count` members with repetitions.
fn zrandmember(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    if argv.len() < 3 {
        let picked = read_zset(ctx, &argv[1], |z| {
            let rank = rand::Rng::gen_range(&mut rand::thread_rng(), 0..z.len());
            z.get(rank).map(|(m, _)| StrBuf::from_slice(m))
        });
        match picked {
            Read::WrongType => ctx.out.error(errors::WRONGTYPE),
            Read::Found(Some(m)) => ctx.out.bulk(&m),
            Read::Found(None) | Read::Missing => ctx.out.null(),
        }
        return;
    }
    let Some(l) = args::int(ctx, &argv[2]) else {
        return;
    };
    if argv.len() > 4 || (argv.len() == 4 && !args::is(&argv[3], "withscores")) {
        ctx.out.error(errors::SYNTAX);
        return;
    }
    let withscores = argv.len() == 4;
    if withscores && !(i64::MIN / 2..=i64::MAX / 2).contains(&l) {
        ctx.out.error(errors::VALUE_OUT_OF_RANGE);
        return;
    }
    if l < 0 && l.unsigned_abs() > args::MAX_RANDOM_REPEATS {
        ctx.out.error(errors::VALUE_OUT_OF_RANGE);
        return;
    }
    let db = ctx.db();
    let out = &mut *ctx.out;
    let found = db.read(&argv[1], ctx.now, |e| match e.value.as_zset() {
        Some(z) => reply_elements(out, random_members(z, l).into_iter(), withscores),
        None => out.error(errors::WRONGTYPE),
    });
    ctx.read_lookup(&argv[1], found.is_some());
    if found.is_none() {
        ctx.out.array(0);
    }
}

/// `zrandmemberWithCountCommand`'s selection: repetitions for a negative count; the whole zset
/// in descending order when `count >= len` (Redis walks it from the tail); otherwise a random
/// sample of distinct members in random order.
fn random_members(z: &ZSet, count: i64) -> Vec<(&[u8], f64)> {
    use rand::Rng;
    let mut rng = rand::thread_rng();
    let len = z.len();
    let n = count.unsigned_abs() as usize;
    if count < 0 || n == 1 {
        // A small zset is walked once, not once per pick.
        if len <= 128 {
            let all: Vec<(&[u8], f64)> = z.iter().collect();
            return (0..n).map(|_| all[rng.gen_range(0..len)]).collect();
        }
        return (0..n)
            .filter_map(|_| z.get(rng.gen_range(0..len)))
            .collect();
    }
    if n >= len {
        return z.iter_from(len - 1, true).collect();
    }
    let ranks = rand::seq::index::sample(&mut rng, len, n);
    if len <= 128 {
        let all: Vec<(&[u8], f64)> = z.iter().collect();
        return ranks.into_iter().map(|rank| all[rank]).collect();
    }
    ranks.into_iter().filter_map(|rank| z.get(rank)).collect()
}

// ---------------------------------------------------------------------------------------------
// ZUNION, ZINTER, ZDIFF, ZINTERCARD and their STORE forms
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq)]
enum SetOp {
    Union,
    Inter,
    Diff,
}

#[derive(Clone, Copy)]
enum Aggregate {
    Sum,
    Min,
    Max,
}

impl Aggregate {
    /// `zunionInterAggregate`.
    fn apply(self, target: &mut f64, v: f64) {
        match self {
            Aggregate::Sum => {
                *target += v;
                // inf + -inf: Redis takes 0.
                if target.is_nan() {
                    *target = 0.0;
                }
            }
            Aggregate::Min => {
                if v < *target {
                    *target = v;
                }
            }
            Aggregate::Max => {
                if v > *target {
                    *target = v;
                }
            }
        }
    }
}

/// What the set operation's result is for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Output {
    Reply,
    Store,
    Cardinality,
}

/// # Format
/// `ZUNION numkeys key [key ...] [WEIGHTS w ...] [AGGREGATE SUM|MIN|MAX] [WITHSCORES]`
fn zunion(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    set_operation(ctx, argv, "zunion", SetOp::Union, Output::Reply);
}

/// # Format
/// `ZINTER numkeys key [key ...] [WEIGHTS w ...] [AGGREGATE SUM|MIN|MAX] [WITHSCORES]`
fn zinter(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    set_operation(ctx, argv, "zinter", SetOp::Inter, Output::Reply);
}

/// # Format
/// `ZDIFF numkeys key [key ...] [WITHSCORES]`
fn zdiff(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    set_operation(ctx, argv, "zdiff", SetOp::Diff, Output::Reply);
}

/// # Format
/// `ZINTERCARD numkeys key [key ...] [LIMIT limit]` — the size of the intersection (at most
/// `limit` when it is not 0).
fn zintercard(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    set_operation(ctx, argv, "zintercard", SetOp::Inter, Output::Cardinality);
}

/// # Format
/// `ZUNIONSTORE dst numkeys key [key ...] [WEIGHTS w ...] [AGGREGATE SUM|MIN|MAX]` — the size
/// of the stored result (an empty result deletes `dst`).
fn zunionstore(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    set_operation(ctx, argv, "zunionstore", SetOp::Union, Output::Store);
}

/// # Format
/// `ZINTERSTORE dst numkeys key [key ...] [WEIGHTS w ...] [AGGREGATE SUM|MIN|MAX]`
fn zinterstore(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    set_operation(ctx, argv, "zinterstore", SetOp::Inter, Output::Store);
}

/// # Format
/// `ZDIFFSTORE dst numkeys key [key ...]`
fn zdiffstore(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    set_operation(ctx, argv, "zdiffstore", SetOp::Diff, Output::Store);
}

/// A source of a set operation: a zset, a set (every member scores 1) or nothing.
#[derive(Clone, Copy)]
struct Source<'a> {
    key: &'a [u8],
    len: usize,
    weight: f64,
}

/// Calls `f(member, score)` for every element of the source value.
fn visit(value: Option<&Value>, mut f: impl FnMut(&[u8], f64)) {
    match value {
        Some(Value::ZSet(z)) => z.iter().for_each(|(m, s)| f(m, s)),
        // Set members score 1 (integers of an intset are formatted on the stack).
        Some(Value::Set(s)) => s.iter().for_each(|m| m.with_bytes(|b| f(b, 1.0))),
        _ => {}
    }
}

/// The score of `member` in the source value, if it is there.
fn lookup(value: Option<&Value>, member: &[u8]) -> Option<f64> {
    match value {
        Some(Value::ZSet(z)) => z.score(member),
        Some(Value::Set(s)) => s.contains(member).then_some(1.0),
        _ => None,
    }
}

/// `zunionInterDiffGenericCommand`: numkeys, then the sources' types (WRONGTYPE before any
/// option error, as Redis), then the options, then the operation, all under the locks of every
/// key involved.
fn set_operation(ctx: &mut Ctx<'_>, argv: &[Bytes], name: &str, op: SetOp, output: Output) {
    let numkeys_idx = if output == Output::Store { 2 } else { 1 };
    let Some(numkeys) = args::int(ctx, &argv[numkeys_idx]) else {
        return;
    };
    if numkeys < 1 {
        ctx.out.error(errors::at_least_one_key(name));
        return;
    }
    let first = numkeys_idx + 1;
    if numkeys as u64 > (argv.len() - first) as u64 {
        ctx.out.error(errors::SYNTAX);
        return;
    }
    let numkeys = numkeys as usize;
    let keys = &argv[first..first + numkeys];
    let dst = (output == Output::Store).then(|| &argv[1][..]);
    let (d, now) = (ctx.client.db, ctx.now);
    let mut targets: Vec<(usize, &[u8])> = keys.iter().map(|k| (d, &k[..])).collect();
    targets.extend(dst.map(|k| (d, k)));
    let mut locks = ctx.store().lock(&targets);

    // Sources: existence and type, in order, stopping at the first of a wrong type.
    // Each lookup is recorded as it happens (an expired key's `expired`, then its `keymiss`).
    let mut sources = Vec::with_capacity(numkeys);
    let mut wrongtype = false;
    for key in keys {
        let len = match locks.slot(d, key, now).get().map(|e| &e.value) {
            None => None,
            Some(Value::ZSet(z)) => Some(z.len()),
            Some(Value::Set(s)) => Some(s.len()),
            Some(_) => {
                ctx.read_lookup(key, true);
                wrongtype = true;
                break;
            }
        };
        ctx.read_lookup(key, len.is_some());
        sources.push(Source {
            key,
            len: len.unwrap_or(0),
            weight: 1.0,
        });
    }
    if wrongtype {
        drop(locks);
        ctx.out.error(errors::WRONGTYPE);
        return;
    }

    // Options.
    let mut aggregate = Aggregate::Sum;
    let mut withscores = false;
    let mut limit = 0usize;
    let mut j = first + numkeys;
    while j < argv.len() {
        let remaining = argv.len() - j;
        let opt = &argv[j];
        if op != SetOp::Diff
            && output != Output::Cardinality
            && remaining > numkeys
            && args::is(opt, "weights")
        {
            for (i, source) in sources.iter_mut().enumerate() {
                match parse_f64(&argv[j + 1 + i]) {
                    Some(w) => source.weight = w,
                    None => {
                        drop(locks);
                        ctx.out.error(errors::WEIGHT_NOT_FLOAT);
                        return;
                    }
                }
            }
            j += 1 + numkeys;
        } else if op != SetOp::Diff
            && output != Output::Cardinality
            && remaining >= 2
            && args::is(opt, "aggregate")
        {
            let kind = &argv[j + 1];
            aggregate = if args::is(kind, "sum") {
                Aggregate::Sum
            } else if args::is(kind, "min") {
                Aggregate::Min
            } else if args::is(kind, "max") {
                Aggregate::Max
            } else {
                drop(locks);
                ctx.out.error(errors::SYNTAX);
                return;
            };
            j += 2;
        } else if output == Output::Reply && args::is(opt, "withscores") {
            withscores = true;
            j += 1;
        } else if output == Output::Cardinality && remaining >= 2 && args::is(opt, "limit") {
            match parse_i64(&argv[j + 1]) {
                Some(n) if n >= 0 => limit = usize::try_from(n).unwrap_or(usize::MAX),
                _ => {
                    drop(locks);
                    ctx.out.error(errors::LIMIT_NEGATIVE);
                    return;
                }
            }
            j += 2;
        } else {
            drop(locks);
            ctx.out.error(errors::SYNTAX);
            return;
        }
    }

    // Smallest first (a stable sort, as glibc's merge-sort qsort), except for ZDIFF whose first
    // key is the minuend.
    if op != SetOp::Diff {
        sources.sort_by_key(|s| s.len);
    }
    // Each source is read in turn under the locks taken above.
    let mut result: Vec<(StrBuf, f64)> = Vec::new();
    match op {
        SetOp::Union => {
            let mut acc: hashbrown::HashMap<StrBuf, f64, ahash::RandomState> =
                hashbrown::HashMap::default();
            for source in &sources {
                let mut slot = locks.slot(d, source.key, now);
                visit(slot.get().map(|e| &e.value), |m, s| {
                    let mut score = source.weight * s;
                    if score.is_nan() {
                        score = 0.0;
                    }
                    match acc.get_mut(m) {
                        Some(t) => aggregate.apply(t, score),
                        None => {
                            acc.insert(StrBuf::from_slice(m), score);
                        }
                    }
                });
            }
            result.extend(acc);
        }
        SetOp::Inter | SetOp::Diff => {
            if sources[0].len > 0 {
                let weight = if op == SetOp::Inter {
                    sources[0].weight
                } else {
                    1.0
                };
                let mut slot = locks.slot(d, sources[0].key, now);
                visit(slot.get().map(|e| &e.value), |m, s| {
                    let mut score = weight * s;
                    if score.is_nan() {
                        score = 0.0;
                    }
                    result.push((StrBuf::from_slice(m), score));
                });
                for source in &sources[1..] {
                    if result.is_empty() {
                        break;
                    }
                    let mut slot = locks.slot(d, source.key, now);
                    let value = slot.get().map(|e| &e.value);
                    result.retain_mut(|(m, score)| match (op, lookup(value, m)) {
                        (SetOp::Inter, Some(v)) => {
                            aggregate.apply(score, v * source.weight);
                            true
                        }
                        (SetOp::Inter, None) => false,
                        (_, found) => found.is_none(),
                    });
                }
            }
        }
    }
    if output == Output::Cardinality {
        drop(locks);
        let n = if limit > 0 {
            result.len().min(limit)
        } else {
            result.len()
        };
        ctx.out.int(n as i64);
        return;
    }
    if let Some(dst) = dst {
        let stored = result.len();
        let event = match op {
            SetOp::Union => "zunionstore",
            SetOp::Inter => "zinterstore",
            SetOp::Diff => "zdiffstore",
        };
        let old = store_result(&mut locks.slot(d, dst, now), result, event);
        drop(locks);
        drop(old);
        ctx.out.int(stored as i64);
        return;
    }
    drop(locks);
    result.sort_unstable_by(|a, b| crate::store::types::zset::cmp_key(a.1, &a.0, b.1, &b.0));
    reply_elements(
        ctx.out,
        result.iter().map(|(m, s)| (&m[..], *s)),
        withscores,
    );
}

// ---------------------------------------------------------------------------------------------
// ZSCAN
// ---------------------------------------------------------------------------------------------

/// # Format
/// `ZSCAN key cursor [MATCH pattern] [COUNT count]` — `[next-cursor, [member, score, ...]]`.
/// A compact zset is returned whole with cursor 0; a big one incrementally (bounded work per
/// call), every member present for the whole iteration returned at least once.
fn zscan(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    let Some(cursor) = super::keys::parse_cursor(&argv[2]) else {
        ctx.out.error(errors::INVALID_CURSOR);
        return;
    };
    // Options are checked after the key, as Redis does; parse them now, report them later.
    let mut count = 10usize;
    let mut pattern: Option<&[u8]> = None;
    let mut bad: Option<&str> = None;
    let mut i = 3;
    while i < argv.len() && bad.is_none() {
        let has_value = i + 1 < argv.len();
        if args::is(&argv[i], "count") && has_value {
            match parse_i64(&argv[i + 1]) {
                None => bad = Some(errors::NOT_INTEGER),
                Some(n) if n < 1 => bad = Some(errors::SYNTAX),
                Some(n) => count = usize::try_from(n).unwrap_or(usize::MAX),
            }
        } else if args::is(&argv[i], "match") && has_value {
            pattern = Some(&argv[i + 1][..]).filter(|p| !is_match_all(p));
        } else {
            bad = Some(errors::SYNTAX);
        }
        i += 2;
    }
    let scanned = read_zset(ctx, &argv[1], |z| {
        if bad.is_some() {
            return None;
        }
        let mut items: Vec<(StrBuf, f64)> = Vec::new();
        let next = z.scan(cursor, count, |m, s| {
            if pattern.is_none_or(|p| glob_match(p, m, false)) {
                items.push((StrBuf::from_slice(m), s));
            }
        });
        Some((next, items))
    });
    let (next, items) = match scanned {
        Read::WrongType => {
            ctx.out.error(errors::WRONGTYPE);
            return;
        }
        Read::Missing => (0, Vec::new()),
        Read::Found(None) => {
            ctx.out.error(bad.unwrap_or(errors::SYNTAX));
            return;
        }
        Read::Found(Some(found)) => found,
    };
    ctx.out.array(2);
    let mut num = itoa::Buffer::new();
    ctx.out.bulk(num.format(next).as_bytes());
    ctx.out.array(2 * items.len());
    for (member, score) in &items {
        ctx.out.bulk(member);
        ctx.out.bulk(format_f64(*score).as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(line: &str) -> Vec<Bytes> {
        line.split(' ')
            .map(|a| Bytes::copy_from_slice(a.as_bytes()))
            .collect()
    }

    #[test]
    fn movable_keys_follow_numkeys() {
        let keys = |line: &str| {
            let args = argv(line);
            let (_, spec) = crate::commands::registry().lookup(&args[0]).unwrap();
            spec.keys_of(&args)
        };
        assert_eq!(keys("ZUNIONSTORE d 2 a b WEIGHTS 1 2"), vec![1, 3, 4]);
        assert_eq!(keys("zinter 3 a b c"), vec![2, 3, 4]);
        assert_eq!(keys("ZMPOP 1 a MIN"), vec![2]);
        assert_eq!(keys("ZINTERCARD 5 a b"), Vec::<usize>::new());
        assert_eq!(keys("ZDIFF x a"), Vec::<usize>::new());
        assert_eq!(keys("ZADD z 1 a"), vec![1]);
    }

    #[test]
    fn range_bounds_parse_like_redis() {
        let r = parse_score_range(b"(1.5", b"+inf").unwrap();
        assert_eq!(
            (r.min, r.min_ex, r.max, r.max_ex),
            (1.5, true, f64::INFINITY, false)
        );
        assert!(parse_score_range(b"", b"(").is_some());
        assert!(parse_score_range(b"((1", b"2").is_none());
        assert!(parse_score_range(b"1", b"nan").is_none());
        assert_eq!(parse_lex_bound(b"+"), Some(LexBound::Max));
        assert_eq!(parse_lex_bound(b"+\0x"), Some(LexBound::Max));
        assert_eq!(
            parse_lex_bound(b"(a"),
            Some(LexBound::Exclusive(b"a".to_vec()))
        );
        assert_eq!(parse_lex_bound(b"["), Some(LexBound::Inclusive(Vec::new())));
        assert_eq!(parse_lex_bound(b""), None);
        assert_eq!(parse_lex_bound(b"+a"), None);
        assert_eq!(parse_lex_bound(b"a"), None);
        assert_eq!(rank_bounds(-2, -1, 5), Some((3, 4)));
        assert_eq!(rank_bounds(i64::MIN, i64::MAX, 5), Some((0, 4)));
        assert_eq!(rank_bounds(3, 1, 5), None);
        assert_eq!(rank_bounds(5, 10, 5), None);
    }
}
