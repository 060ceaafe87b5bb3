//! Hash commands: HSET HSETNX HMSET HGET HMGET HDEL HEXISTS HLEN HSTRLEN HKEYS HVALS HGETALL
//! HINCRBY HINCRBYFLOAT HRANDFIELD HSCAN, with Redis 7.0's replies and error texts.
//!
//! The representation (listpack / hashtable, scanning, random picks) lives in
//! [`crate::store::types::hash`]; this file parses arguments, takes the key's shard lock through
//! `read` or `modify`, and writes replies. Read commands count keyspace hits and misses as
//! Redis's `lookupKeyRead` does (a key of another type is a hit); write commands count neither.
//!
//! Keyspace events follow Redis 7.0: `hset` (HSET and HMSET always, HSETNX when it set the
//! field), `hdel` (then `del` when the hash empties), `hincrby`, `hincrbyfloat`; the store
//! reports `new` when a command creates the key.

use bytes::Bytes;

use super::flags::{DENYOOM, FAST, READONLY, WRITE};
use super::{args, errors, keys, spec, CommandSpec, Ctx, Group};
use crate::resp::reply::Reply;
use crate::store::events::class;
use crate::store::types::hash::FieldValue;
use crate::store::types::Hash;
use crate::store::{Entry, Value};
use crate::util::glob::{glob_match, is_match_all};
use crate::util::num::{incr_by_float, parse_i64, IncrFloatError};

#[rustfmt::skip]
pub static COMMANDS: &[CommandSpec] = &[
    //   name           arity flags                      group        first last step handler
    spec("hset",          -4, WRITE | DENYOOM | FAST, Group::Hash, 1, 1, 1, hset),
    spec("hsetnx",         4, WRITE | DENYOOM | FAST, Group::Hash, 1, 1, 1, hsetnx),
    spec("hmset",         -4, WRITE | DENYOOM | FAST, Group::Hash, 1, 1, 1, hmset),
    spec("hget",           3, READONLY | FAST,        Group::Hash, 1, 1, 1, hget),
    spec("hmget",         -3, READONLY | FAST,        Group::Hash, 1, 1, 1, hmget),
    spec("hdel",          -3, WRITE | FAST,           Group::Hash, 1, 1, 1, hdel),
    spec("hexists",        3, READONLY | FAST,        Group::Hash, 1, 1, 1, hexists),
    spec("hlen",           2, READONLY | FAST,        Group::Hash, 1, 1, 1, hlen),
    spec("hstrlen",        3, READONLY | FAST,        Group::Hash, 1, 1, 1, hstrlen),
    spec("hkeys",          2, READONLY,               Group::Hash, 1, 1, 1, hkeys),
    spec("hvals",          2, READONLY,               Group::Hash, 1, 1, 1, hvals),
    spec("hgetall",        2, READONLY,               Group::Hash, 1, 1, 1, hgetall),
    spec("hincrby",        4, WRITE | DENYOOM | FAST, Group::Hash, 1, 1, 1, hincrby),
    spec("hincrbyfloat",   4, WRITE | DENYOOM | FAST, Group::Hash, 1, 1, 1, hincrbyfloat),
    spec("hrandfield",    -2, READONLY,               Group::Hash, 1, 1, 1, hrandfield),
    spec("hscan",         -3, READONLY,               Group::Hash, 1, 1, 1, hscan),
];

// ---------------------------------------------------------------------------------------------
// Shared helpers
// ---------------------------------------------------------------------------------------------

/// What a read lookup found.
enum Found<R> {
    Missing,
    /// WRONGTYPE has been replied.
    WrongType,
    Hash(R),
}

/// Runs `f` on the hash at `key` under its shard's read lock, with the reply buffer (so large
/// replies are written straight from the hash, without a copy). Replies WRONGTYPE itself for
/// another type; counts the keyspace hit or miss.
fn read<R>(ctx: &mut Ctx<'_>, key: &[u8], f: impl FnOnce(&Hash, &mut Reply) -> R) -> Found<R> {
    let db = ctx.db();
    let out = &mut *ctx.out;
    let found = db
        .read(key, ctx.now, |e| match &e.value {
            Value::Hash(h) => Found::Hash(f(h, out)),
            _ => Found::WrongType,
        })
        .unwrap_or(Found::Missing);
    ctx.read_lookup(key, !matches!(found, Found::Missing));
    if matches!(found, Found::WrongType) {
        ctx.out.error(errors::WRONGTYPE);
    }
    found
}

/// Runs `f` on the hash at `key` under its shard's write lock. A missing key is `Ok(None)`,
/// unless `create`: then `f` gets a new empty hash, stored only if `f` left it non-empty. A hash
/// that `f` empties is deleted (a stored hash is never empty). `Err` is WRONGTYPE's text.
///
/// `f` also says whether it changed the hash; if so, `event` is reported (then `del` when the
/// hash was emptied and deleted), as Redis's hash commands do.
fn modify<R>(
    ctx: &Ctx<'_>,
    key: &[u8],
    create: bool,
    event: &str,
    f: impl FnOnce(&mut Hash) -> (R, bool),
) -> Result<Option<R>, &'static str> {
    ctx.db().write(key, ctx.now, |slot| {
        let (r, changed, emptied) = match slot.get() {
            Some(e) => match &mut e.value {
                Value::Hash(h) => {
                    let (r, changed) = f(h);
                    (r, changed, h.is_empty())
                }
                _ => return Err(errors::WRONGTYPE),
            },
            None if create => {
                let mut h = Hash::new();
                let (r, changed) = f(&mut h);
                if !h.is_empty() {
                    slot.put(Entry::new(Value::Hash(Box::new(h)), 0));
                }
                if changed {
                    slot.modified(class::HASH, event);
                }
                return Ok(Some(r));
            }
            None => return Ok(None),
        };
        if emptied {
            slot.remove();
        }
        if changed {
            slot.modified(class::HASH, event);
            if emptied {
                slot.notify(class::GENERIC, "del");
            }
        }
        Ok(Some(r))
    })
}

/// Replies `n` picked pairs: fields only; or, with values, a flat field/value array in RESP2
/// and an array of [field, value] pairs in RESP3 (HRANDFIELD's shapes).
fn reply_pairs<'h>(
    out: &mut Reply,
    n: usize,
    with_values: bool,
    pairs: impl IntoIterator<Item = FieldValue<'h>>,
) {
    reply_pairs_header(out, n, with_values);
    for pair in pairs {
        reply_pair(out, with_values, pair);
    }
}

fn reply_pairs_header(out: &mut Reply, n: usize, with_values: bool) {
    let nested = with_values && out.resp3;
    out.array(if with_values && !nested { 2 * n } else { n });
}

fn reply_pair(out: &mut Reply, with_values: bool, (field, value): FieldValue<'_>) {
    if with_values && out.resp3 {
        out.array(2);
    }
    out.bulk(field);
    if with_values {
        out.bulk(value);
    }
}

// ---------------------------------------------------------------------------------------------
// Writing fields
// ---------------------------------------------------------------------------------------------

/// # Format
/// `HSET key field value [field value ...]` — the number of fields that were new.
fn hset(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    set_pairs(ctx, argv, "hset");
}

/// # Format
/// `HMSET key field value [field value ...]` — OK (deprecated form of HSET).
fn hmset(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    set_pairs(ctx, argv, "hmset");
}

fn set_pairs(ctx: &mut Ctx<'_>, argv: &[Bytes], name: &str) {
    if !argv.len().is_multiple_of(2) {
        ctx.out.error(errors::wrong_arity(name));
        return;
    }
    let pairs = &argv[2..];
    // `hset` is reported even when no field changed, as Redis.
    let added = modify(ctx, &argv[1], true, "hset", |h| {
        let added = pairs
            .chunks_exact(2)
            .filter(|p| h.set(&p[0], &p[1]))
            .count();
        (added, true)
    });
    match added {
        Err(e) => ctx.out.error(e),
        Ok(_) if name == "hmset" => ctx.out.ok(),
        Ok(n) => ctx.out.int(n.unwrap_or(0) as i64),
    }
}

/// # Format
/// `HSETNX key field value` — 1 when the field was set, 0 when it already existed.
fn hsetnx(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    let (field, value) = (&argv[2], &argv[3]);
    let set = modify(ctx, &argv[1], true, "hset", |h| {
        let set = !h.contains(field) && h.set(field, value);
        (set, set)
    });
    match set {
        Err(e) => ctx.out.error(e),
        Ok(set) => ctx.out.int(i64::from(set == Some(true))),
    }
}

/// # Format
/// `HDEL key field [field ...]` — how many of the fields were removed.
fn hdel(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    let fields = &argv[2..];
    match modify(ctx, &argv[1], false, "hdel", |h| {
        let removed = fields.iter().filter(|f| h.remove(f)).count();
        (removed, removed > 0)
    }) {
        Err(e) => ctx.out.error(e),
        Ok(n) => ctx.out.int(n.unwrap_or(0) as i64),
    }
}

/// # Format
/// `HINCRBY key field increment` — the new value; the field starts at 0.
fn hincrby(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    let Some(incr) = args::int(ctx, &argv[3]) else {
        return;
    };
    let field = &argv[2];
    let result = modify(ctx, &argv[1], true, "hincrby", |h| {
        let r = (|| {
            let current = match h.get(field) {
                Some(v) => parse_i64(v).ok_or(errors::HASH_NOT_INTEGER)?,
                None => 0,
            };
            let new = current.checked_add(incr).ok_or(errors::OVERFLOW)?;
            h.set(field, itoa::Buffer::new().format(new).as_bytes());
            Ok(new)
        })();
        let changed = r.is_ok();
        (r, changed)
    });
    match result.and_then(|r| r.unwrap_or(Ok(0))) {
        Ok(n) => ctx.out.int(n),
        Err(e) => ctx.out.error(e),
    }
}

/// # Format
/// `HINCRBYFLOAT key field increment` — the new value as a bulk string, computed in long
/// double and formatted as INCRBYFLOAT does; the field starts at 0.
fn hincrbyfloat(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    let incr = &argv[3];
    // The increment is checked on its own first, as Redis does before looking at the key.
    match incr_by_float(b"0", incr) {
        Ok(_) => {}
        Err(IncrFloatError::NotFloat) => return ctx.out.error(errors::NOT_FLOAT),
        Err(IncrFloatError::NanOrInf) => return ctx.out.error(errors::VALUE_NAN_OR_INF),
    }
    let field = &argv[2];
    let result = modify(ctx, &argv[1], true, "hincrbyfloat", |h| {
        let r = incr_by_float(h.get(field).unwrap_or(b"0"), incr).map_err(|e| match e {
            IncrFloatError::NotFloat => errors::HASH_NOT_FLOAT,
            IncrFloatError::NanOrInf => errors::NAN_OR_INF,
        });
        if let Ok(new) = &r {
            h.set(field, new);
        }
        let changed = r.is_ok();
        (r, changed)
    });
    match result.and_then(|r| r.unwrap_or_else(|| Ok(Vec::new()))) {
        Ok(v) => {
            ctx.propagate_as(&[b"HSET", &argv[1], field, &v]);
            ctx.out.bulk(&v)
        }
        Err(e) => ctx.out.error(e),
    }
}

// ---------------------------------------------------------------------------------------------
// Reading fields
// ---------------------------------------------------------------------------------------------

/// # Format
/// `HGET key field` — the value, or nil.
fn hget(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    let field = &argv[2];
    let found = read(ctx, &argv[1], |h, out| match h.get(field) {
        Some(v) => out.bulk(v),
        None => out.null(),
    });
    if let Found::Missing = found {
        ctx.out.null();
    }
}

/// # Format
/// `HMGET key field [field ...]` — an array with each value or nil.
fn hmget(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    let fields = &argv[2..];
    let found = read(ctx, &argv[1], |h, out| {
        out.array(fields.len());
        for f in fields {
            match h.get(f) {
                Some(v) => out.bulk(v),
                None => out.null(),
            }
        }
    });
    if let Found::Missing = found {
        ctx.out.array(fields.len());
        for _ in fields {
            ctx.out.null();
        }
    }
}

/// Replies the integer `f` computes from the hash, or 0 for a missing key.
fn int_of(ctx: &mut Ctx<'_>, key: &[u8], f: impl FnOnce(&Hash) -> usize) {
    let found = read(ctx, key, |h, out| out.int(f(h) as i64));
    if let Found::Missing = found {
        ctx.out.int(0);
    }
}

/// # Format
/// `HEXISTS key field` — 1 or 0.
fn hexists(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    let field = &argv[2];
    int_of(ctx, &argv[1], |h| usize::from(h.contains(field)));
}

/// # Format
/// `HLEN key` — the number of fields (0 for a missing key).
fn hlen(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    int_of(ctx, &argv[1], Hash::len);
}

/// # Format
/// `HSTRLEN key field` — the length of the value (0 when missing).
fn hstrlen(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    let field = &argv[2];
    int_of(ctx, &argv[1], |h| h.get(field).map_or(0, <[u8]>::len));
}

/// # Format
/// `HKEYS key` — every field (array).
fn hkeys(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    all(ctx, &argv[1], true, false);
}

/// # Format
/// `HVALS key` — every value (array).
fn hvals(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    all(ctx, &argv[1], false, true);
}

/// # Format
/// `HGETALL key` — every field and value: a map in RESP3, a flat array in RESP2.
fn hgetall(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    all(ctx, &argv[1], true, true);
}

fn all(ctx: &mut Ctx<'_>, key: &[u8], fields: bool, values: bool) {
    let map = fields && values;
    let found = read(ctx, key, |h, out| {
        if map {
            out.map(h.len());
        } else {
            out.array(h.len());
        }
        for (field, value) in h.iter() {
            if fields {
                out.bulk(field);
            }
            if values {
                out.bulk(value);
            }
        }
    });
    if let Found::Missing = found {
        if map {
            ctx.out.map(0);
        } else {
            ctx.out.array(0);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Random fields and scanning
// ---------------------------------------------------------------------------------------------

/// # Format
/// `HRANDFIELD key [count [WITHVALUES]]`
///
/// Without a count: one random field, or nil. With a count: up to `count` distinct fields (the
/// whole hash when `count` reaches its size), or, for a negative count, exactly `-count` picks
/// that may repeat. WITHVALUES adds each value (RESP3: [field, value] pairs).
///
/// Deliberate difference: Redis accepts any negative count and builds the reply however large
/// it gets (a count near -2^62 WITHVALUES crashes 7.0.15); we refuse with "value is out of
/// range" a count whose reply could not fit in `proto-max-bulk-len` bytes.
fn hrandfield(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    let key = &argv[1];
    let mut rng = rand::thread_rng();
    if argv.len() == 2 {
        let found = read(ctx, key, |h, out| match h.random(&mut rng) {
            Some((field, _)) => out.bulk(field),
            None => out.null(),
        });
        if let Found::Missing = found {
            ctx.out.null();
        }
        return;
    }
    let Some(count) = args::int(ctx, &argv[2]) else {
        return;
    };
    if count == i64::MIN {
        return ctx.out.error(errors::COUNT_OUT_OF_RANGE);
    }
    let with_values = match argv.get(3) {
        None => false,
        Some(word) if argv.len() == 4 && args::is(word, "WITHVALUES") => true,
        Some(_) => return ctx.out.error(errors::SYNTAX),
    };
    if with_values && !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&count) {
        return ctx.out.error(errors::VALUE_OUT_OF_RANGE);
    }
    let max_reply = ctx
        .srv
        .settings
        .proto_max_bulk_len
        .load(std::sync::atomic::Ordering::Relaxed);
    let found = read(ctx, key, |h, out| {
        let n = count.unsigned_abs();
        if n == 0 {
            return out.array(0);
        }
        if count < 0 || n == 1 {
            // Picks with repeats. Each costs at least `$1\r\nf\r\n` (7 bytes), twice with values.
            let least = if with_values { 14 } else { 7 };
            if n.saturating_mul(least) > max_reply {
                return out.error(errors::VALUE_OUT_OF_RANGE);
            }
            reply_pairs_header(out, n as usize, with_values);
            return h.random_repeated(n as usize, &mut rng, |pair| {
                reply_pair(out, with_values, pair)
            });
        }
        if n >= h.len() as u64 {
            return reply_pairs(out, h.len(), with_values, h.iter());
        }
        let picked = h.random_distinct(n as usize, &mut rng);
        reply_pairs(out, picked.len(), with_values, picked);
    });
    if let Found::Missing = found {
        ctx.out.array(0);
    }
}

/// HSCAN's `[MATCH pattern] [COUNT count]`: (count, pattern unless it is `*`), or the first
/// error's text, as Redis's scanGenericCommand parses them (TYPE is SCAN's only).
fn scan_options(opts: &[Bytes]) -> Result<(usize, Option<&[u8]>), &'static str> {
    let mut count = 10usize;
    let mut pattern = None;
    let mut i = 0;
    while i < opts.len() {
        let has_value = i + 1 < opts.len();
        if args::is(&opts[i], "COUNT") && has_value {
            let n = parse_i64(&opts[i + 1]).ok_or(errors::NOT_INTEGER)?;
            if n < 1 {
                return Err(errors::SYNTAX);
            }
            count = usize::try_from(n).unwrap_or(usize::MAX);
        } else if args::is(&opts[i], "MATCH") && has_value {
            pattern = Some(&opts[i + 1][..]).filter(|p| !is_match_all(p));
        } else {
            return Err(errors::SYNTAX);
        }
        i += 2;
    }
    Ok((count, pattern))
}

/// # Format
/// `HSCAN key cursor [MATCH pattern] [COUNT count]`
///
/// Replies `[next cursor, [field, value, ...]]`. A small (listpack) hash comes back whole with
/// cursor 0, whatever the cursor, as in Redis; a table is scanned by hash-space ranges (see
/// [`Hash::scan`]): every field present for the whole scan is returned exactly once. MATCH
/// filters fields after they are visited, so a step may return fewer than COUNT. Errors come
/// in Redis's order: the cursor, then the key's type, then the options.
fn hscan(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    let Some(cursor) = keys::parse_cursor(&argv[2]) else {
        return ctx.out.error(errors::INVALID_CURSOR);
    };
    let options = scan_options(&argv[3..]);
    let found = read(ctx, &argv[1], |h, out| {
        let (count, pattern) = match options {
            Ok(o) => o,
            Err(e) => return out.error(e),
        };
        let mut pairs = Vec::new();
        let next = h.scan(cursor, count, |pair| {
            if pattern.is_none_or(|pat| glob_match(pat, pair.0, false)) {
                pairs.push(pair);
            }
        });
        out.array(2);
        out.bulk(itoa::Buffer::new().format(next).as_bytes());
        out.array(2 * pairs.len());
        for (field, value) in pairs {
            out.bulk(field);
            out.bulk(value);
        }
    });
    if let Found::Missing = found {
        ctx.out.array(2);
        ctx.out.bulk(b"0");
        ctx.out.array(0);
    }
}
