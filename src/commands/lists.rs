//! List commands: pushes (LPUSH, RPUSH, LPUSHX, RPUSHX, LINSERT), pops (LPOP, RPOP, LMPOP),
//! reads (LLEN, LRANGE, LINDEX, LPOS), in-place edits (LSET, LREM, LTRIM) and the atomic moves
//! (LMOVE, RPOPLPUSH), with Redis 7.0's semantics, replies and error texts. The blocking
//! variants (BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP) live in [`super::blocking`] and share
//! the pieces marked `pub(crate)` here: `pop_elements`, `move_locked`, `reply_popped_with_key`,
//! `parse_mpop`.
//!
//! # Layout
//! The table below is the family's only list of commands. Handlers parse what Redis parses
//! before its key lookup, then do their whole effect under the key's shard lock (one key) or
//! under [`crate::store::StoreRef::lock`] (LMOVE, RPOPLPUSH, LMPOP: every key locked up front,
//! so the move is atomic to every other thread). Writes return what they did as values (the
//! popped elements, the moved element) and the reply is written once the lock is released;
//! only the pure reads (LRANGE, LINDEX, LPOS) write their reply straight from the stored bytes
//! under the read lock, as GET does.
//!
//! # Propagation
//! As Redis rewrites them: LMPOP propagates as `LPOP|RPOP key count` (the count popped).
//!
//! # Waking blocked clients
//! Nothing here calls the blocking machinery: a client blocked on a key waits for that key to
//! be *created* as a list, and every creation goes through `Slot::put`, which records the key
//! as ready (Redis's `signalKeyAsReady` in `dbAdd`). A push onto an existing list cannot wake
//! anyone: a client only blocks while all its keys are missing.
//!
//! # Keyspace events
//! As Redis 7.0: `lpush`/`rpush` (pushes, and the destination of LMOVE/RPOPLPUSH),
//! `lpop`/`rpop` (pops, LMPOP, the source of a move) followed by `del` when the list empties,
//! `linsert`, `lset`, `lrem` (only when something was removed), `ltrim` (always, then `del` when
//! nothing is left). `[LR]POP key 0`, a missing pivot or a missing key report nothing.
//!
//! # Keyspace statistics
//! As Redis: LLEN, LRANGE, LINDEX and LPOS look their key up for reading and count a hit (the
//! key exists, whatever its type) or a miss; the write commands count nothing.

use bytes::Bytes;

use super::flags::*;
use super::{args, errors, keys_after_numkeys, spec, CommandSpec, Ctx, Group};
use crate::blocked::WaitOp;
use crate::resp::reply::Reply;
use crate::store::events::class;
use crate::store::types::list::Side;
use crate::store::types::List;
use crate::store::{Entry, Locks, Slot, StrBuf, Value};
use crate::util::num::parse_i64;

#[rustfmt::skip]
pub static COMMANDS: &[CommandSpec] = &[
    //   name       arity flags                      group        first last step handler
    spec("lpush",      -3, WRITE | DENYOOM | FAST, Group::List, 1, 1, 1, lpush),
    spec("rpush",      -3, WRITE | DENYOOM | FAST, Group::List, 1, 1, 1, rpush),
    spec("lpushx",     -3, WRITE | DENYOOM | FAST, Group::List, 1, 1, 1, lpushx),
    spec("rpushx",     -3, WRITE | DENYOOM | FAST, Group::List, 1, 1, 1, rpushx),
    spec("lpop",       -2, WRITE | FAST,           Group::List, 1, 1, 1, lpop),
    spec("rpop",       -2, WRITE | FAST,           Group::List, 1, 1, 1, rpop),
    spec("llen",        2, READONLY | FAST,        Group::List, 1, 1, 1, llen),
    spec("lrange",      4, READONLY,               Group::List, 1, 1, 1, lrange),
    spec("lindex",      3, READONLY,               Group::List, 1, 1, 1, lindex),
    spec("lset",        4, WRITE | DENYOOM,        Group::List, 1, 1, 1, lset),
    spec("linsert",     5, WRITE | DENYOOM,        Group::List, 1, 1, 1, linsert),
    spec("lrem",        4, WRITE,                  Group::List, 1, 1, 1, lrem),
    spec("ltrim",       4, WRITE,                  Group::List, 1, 1, 1, ltrim),
    spec("lpos",       -3, READONLY,               Group::List, 1, 1, 1, lpos),
    spec("lmove",       5, WRITE | DENYOOM,        Group::List, 1, 2, 1, lmove),
    spec("rpoplpush",   3, WRITE | DENYOOM,        Group::List, 1, 2, 1, rpoplpush),
    // Keys at 2..2+numkeys: no first/last/step describes them (COMMAND INFO shows 0 0 0).
    spec("lmpop",      -4, WRITE,                  Group::List, 0, 0, 0, lmpop).with_keys(keys_after_numkeys::<1>),
];

// ---------------------------------------------------------------------------------------------
// Shared helpers
// ---------------------------------------------------------------------------------------------

#[inline]
fn push(list: &mut List, side: Side, value: &[u8]) {
    match side {
        Side::Left => list.push_front(value),
        Side::Right => list.push_back(value),
    }
}

#[inline]
fn pop(list: &mut List, side: Side) -> Option<StrBuf> {
    match side {
        Side::Left => list.pop_front(),
        Side::Right => list.pop_back(),
    }
}

/// A new stored list holding `values` pushed in order at `side`.
fn new_list<'v>(side: Side, values: impl IntoIterator<Item = &'v [u8]>) -> Entry {
    let mut list = List::new();
    for v in values {
        push(&mut list, side, v);
    }
    Entry::new(Value::List(Box::new(list)), 0)
}

/// Redis's LRANGE/LTRIM index arithmetic: `[start, end]` (negative = from the tail) over a list
/// of `len` elements, as `(first index, element count)`; a count of 0 is an empty range.
fn range(start: i64, end: i64, len: usize) -> (usize, usize) {
    let len = len as i64;
    let start = if start < 0 { len + start } else { start }.max(0);
    let end = if end < 0 { len + end } else { end };
    if start > end || start >= len {
        return (0, 0);
    }
    let end = end.min(len - 1);
    (start as usize, (end - start + 1) as usize)
}

/// An index (negative = from the tail) as a position in a list of `len`, if inside it.
fn index(index: i64, len: usize) -> Option<usize> {
    let len = len as i64;
    let i = if index < 0 { len + index } else { index };
    (0..len).contains(&i).then_some(i as usize)
}

/// Redis's `listElementsRemoved`, after elements were popped from `side` of the list in `slot`:
/// the `lpop`/`rpop` event, the key deleted (`del`) when the list is now empty, WATCH
/// invalidated.
fn elements_removed(slot: &mut Slot<'_>, side: Side) {
    slot.notify(class::LIST, side.pop_event());
    if slot
        .get()
        .and_then(|e| e.value.as_list())
        .is_some_and(List::is_empty)
    {
        slot.remove();
        slot.notify(class::GENERIC, "del");
    }
    slot.touched();
}

/// Pops up to `count` elements from `side` of the list stored in `slot`, in pop order, with
/// Redis's events (`lpop`/`rpop`, then `del` when it empties); `None` when `slot` holds no
/// list. The pop of every command that removes from a list's end without a count argument
/// of 0 (LPOP/RPOP, LMPOP, BLPOP & co when served).
pub(crate) fn pop_elements(slot: &mut Slot<'_>, side: Side, count: usize) -> Option<Vec<StrBuf>> {
    let list = slot.get().and_then(|e| e.value.as_list_mut())?;
    let n = count.min(list.len());
    let popped = match side {
        Side::Left => {
            let popped = list.iter().take(n).map(StrBuf::from_slice).collect();
            list.drop_front(n);
            popped
        }
        Side::Right => {
            let popped = list.iter_rev().take(n).map(StrBuf::from_slice).collect();
            list.drop_back(n);
            popped
        }
    };
    elements_removed(slot, side);
    Some(popped)
}

/// The reply of a pop that names its key: `[key, element]` (BLPOP, BRPOP: `nested` false, one
/// element) or `[key, [elements]]` (LMPOP, BLMPOP).
pub(crate) fn reply_popped_with_key(out: &mut Reply, key: &[u8], popped: &[StrBuf], nested: bool) {
    out.array(2);
    out.bulk(key);
    if nested {
        reply_elements(out, popped);
    } else {
        match popped.first() {
            Some(v) => out.bulk(v),
            None => out.null(),
        }
    }
}

/// Elements as an array.
fn reply_elements(out: &mut Reply, elements: &[StrBuf]) {
    out.array(elements.len());
    for v in elements {
        out.bulk(v);
    }
}

/// How a pop of `count` elements from `side` of `key` propagates: `LPOP|RPOP key [count]`
/// (Redis's rewrite of LMPOP and the blocking pops).
pub(crate) fn pop_argv<'k>(side: Side, key: &'k [u8], count: Option<&'k [u8]>) -> Vec<&'k [u8]> {
    let name: &[u8] = match side {
        Side::Left => b"LPOP",
        Side::Right => b"RPOP",
    };
    let mut argv = vec![name, key];
    argv.extend(count);
    argv
}

/// LMPOP's and BLMPOP's arguments after the command name: `numkeys` at `at`, the keys, then
/// `LEFT|RIGHT [COUNT count]`, checked in Redis's order. Returns the position of the first
/// key, the number of keys, the side and the count (default 1).
pub(crate) fn parse_mpop(
    argv: &[Bytes],
    at: usize,
) -> Result<(usize, usize, Side, usize), &'static str> {
    let numkeys = match parse_i64(&argv[at]) {
        Some(n) if n > 0 => n as u64,
        _ => return Err(errors::NUMKEYS_NOT_POSITIVE),
    };
    // The side follows the keys; `numkeys` may claim more arguments than there are.
    let side_at = match usize::try_from(numkeys) {
        Ok(n) if n < argv.len() - at - 1 => at + 1 + n,
        _ => return Err(errors::SYNTAX),
    };
    let side = Side::parse(&argv[side_at]).ok_or(errors::SYNTAX)?;
    let mut count = None;
    let mut j = side_at + 1;
    while j < argv.len() {
        if count.is_none() && args::is(&argv[j], "COUNT") && j + 1 < argv.len() {
            j += 1;
            match parse_i64(&argv[j]) {
                Some(n) if n > 0 => count = Some(n as usize),
                _ => return Err(errors::COUNT_NOT_POSITIVE),
            }
        } else {
            return Err(errors::SYNTAX);
        }
        j += 1;
    }
    Ok((at + 1, side_at - at - 1, side, count.unwrap_or(1)))
}

// ---------------------------------------------------------------------------------------------
// Pushes
// ---------------------------------------------------------------------------------------------

/// `pushGenericCommand`: pushes `argv[2..]` one by one at `side`; with `only_existing` (the X
/// variants) a missing key stays missing. Replies with the new length (0 when nothing was
/// created).
fn push_generic(ctx: &mut Ctx<'_>, argv: &[Bytes], side: Side, only_existing: bool) {
    let key = &argv[1];
    let values = &argv[2..];
    let len = ctx.db().write(key, ctx.now, |slot| {
        let len = match slot.get() {
            Some(e) => {
                let list = e.value.as_list_mut().ok_or(())?;
                for v in values {
                    push(list, side, v);
                }
                list.len()
            }
            None if only_existing => return Ok(0),
            None => {
                slot.put(new_list(side, values.iter().map(|v| &v[..])));
                values.len()
            }
        };
        slot.modified(class::LIST, side.push_event());
        Ok(len)
    });
    match len {
        Ok(n) => ctx.out.int(n as i64),
        Err(()) => ctx.out.error(errors::WRONGTYPE),
    }
}

/// # Format
/// `LPUSH key element [element ...]` — the length after pushing each element at the head in
/// turn (so `LPUSH k a b c` leaves `c b a`).
fn lpush(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    push_generic(ctx, argv, Side::Left, false);
}

/// # Format
/// `RPUSH key element [element ...]` — the length after appending the elements.
fn rpush(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    push_generic(ctx, argv, Side::Right, false);
}

/// # Format
/// `LPUSHX key element [element ...]` — LPUSH only when the key holds a list; 0 otherwise.
fn lpushx(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    push_generic(ctx, argv, Side::Left, true);
}

/// # Format
/// `RPUSHX key element [element ...]` — RPUSH only when the key holds a list; 0 otherwise.
fn rpushx(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    push_generic(ctx, argv, Side::Right, true);
}

/// # Format
/// `LINSERT key BEFORE|AFTER pivot element` — the new length, -1 when `pivot` is not in the
/// list, 0 when the key is missing. The first (head-most) equal pivot is used.
fn linsert(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    let after = if args::is(&argv[2], "AFTER") {
        true
    } else if args::is(&argv[2], "BEFORE") {
        false
    } else {
        return ctx.out.error(errors::SYNTAX);
    };
    let (pivot, value) = (&argv[3], &argv[4]);
    let result = ctx.db().write(&argv[1], ctx.now, |slot| {
        let Some(e) = slot.get() else {
            return Ok(0);
        };
        let list = e.value.as_list_mut().ok_or(())?;
        if !list.insert(pivot, value, after) {
            return Ok(-1);
        }
        let len = list.len() as i64;
        slot.modified(class::LIST, "linsert");
        Ok(len)
    });
    match result {
        Ok(n) => ctx.out.int(n),
        Err(()) => ctx.out.error(errors::WRONGTYPE),
    }
}

// ---------------------------------------------------------------------------------------------
// Pops
// ---------------------------------------------------------------------------------------------

/// `popGenericCommand`: `[LR]POP key [count]`. Without a count: the element or nil. With one:
/// an array of up to `count` elements (empty for 0), or a nil array when the key is missing.
/// The count is validated before the key is looked up, as in Redis.
fn pop_generic(ctx: &mut Ctx<'_>, argv: &[Bytes], side: Side, name: &str) {
    if argv.len() > 3 {
        return ctx.out.error(errors::wrong_arity(name));
    }
    let count = match argv.get(2) {
        None => None,
        Some(arg) => match parse_i64(arg) {
            Some(n) if n >= 0 => Some(n as usize),
            _ => return ctx.out.error(errors::NOT_POSITIVE),
        },
    };
    let popped = ctx.db().write(&argv[1], ctx.now, |slot| {
        match slot.get() {
            None => Popped::Missing,
            Some(e) if e.value.as_list().is_none() => Popped::WrongType,
            // `[LR]POP key 0` on a list: an empty array, and no change.
            Some(_) if count == Some(0) => Popped::Elements(Vec::new()),
            Some(_) => match pop_elements(slot, side, count.unwrap_or(1)) {
                Some(popped) => Popped::Elements(popped),
                None => Popped::WrongType,
            },
        }
    });
    let out = &mut *ctx.out;
    match (popped, count) {
        (Popped::WrongType, _) => out.error(errors::WRONGTYPE),
        (Popped::Missing, Some(_)) => out.null_array(),
        (Popped::Missing, None) => out.null(),
        (Popped::Elements(popped), Some(_)) => reply_elements(out, &popped),
        (Popped::Elements(popped), None) => match popped.first() {
            Some(v) => out.bulk(v),
            None => out.null(),
        },
    }
}

/// What a pop found.
enum Popped {
    Missing,
    WrongType,
    Elements(Vec<StrBuf>),
}

/// # Format
/// `LPOP key [count]`
fn lpop(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    pop_generic(ctx, argv, Side::Left, "lpop");
}

/// # Format
/// `RPOP key [count]` — with a count, the elements in pop order (tail first).
fn rpop(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    pop_generic(ctx, argv, Side::Right, "rpop");
}

/// # Format
/// `LMPOP numkeys key [key ...] LEFT|RIGHT [COUNT count]` — pops up to `count` (default 1)
/// elements from the first key that holds a list, replying `[key, [elements]]`, or a nil array
/// when every key is missing. A key of another type met before that is a WRONGTYPE error.
/// Every key is locked up front, so the pop is atomic with respect to other threads.
fn lmpop(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    let (first, numkeys, side, count) = match parse_mpop(argv, 1) {
        Ok(parsed) => parsed,
        Err(e) => return ctx.out.error(e),
    };
    let op = WaitOp::Pop {
        side,
        count: Some(count),
    };
    super::blocking::pop_or_block(ctx, &argv[first..first + numkeys], op, None);
}

// ---------------------------------------------------------------------------------------------
// Reads
// ---------------------------------------------------------------------------------------------

/// # Format
/// `LLEN key` — the length, 0 when the key is missing.
fn llen(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    let found = ctx
        .db()
        .read(&argv[1], ctx.now, |e| e.value.as_list().map(List::len));
    ctx.read_lookup(&argv[1], found.is_some());
    match found {
        None => ctx.out.int(0),
        Some(Some(n)) => ctx.out.int(n as i64),
        Some(None) => ctx.out.error(errors::WRONGTYPE),
    }
}

/// # Format
/// `LRANGE key start stop` — the elements from `start` to `stop` inclusive (negative = from
/// the tail, clamped to the list), written straight from the list under its read lock.
fn lrange(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    let (Some(start), Some(end)) = (parse_i64(&argv[2]), parse_i64(&argv[3])) else {
        return ctx.out.error(errors::NOT_INTEGER);
    };
    let db = ctx.db();
    let out = &mut *ctx.out;
    let found = db.read(&argv[1], ctx.now, |e| match e.value.as_list() {
        Some(list) => {
            let (first, n) = range(start, end, list.len());
            out.array(n);
            for v in list.iter_from(first).take(n) {
                out.bulk(v);
            }
        }
        None => out.error(errors::WRONGTYPE),
    });
    ctx.read_lookup(&argv[1], found.is_some());
    if found.is_none() {
        ctx.out.array(0);
    }
}

/// # Format
/// `LINDEX key index` — the element at `index` (negative = from the tail), or nil. The key is
/// looked up (and its type checked) before the index is parsed, as in Redis.
fn lindex(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    let at = parse_i64(&argv[2]);
    let db = ctx.db();
    let out = &mut *ctx.out;
    let found = db.read(&argv[1], ctx.now, |e| {
        let Some(list) = e.value.as_list() else {
            return out.error(errors::WRONGTYPE);
        };
        let Some(at) = at else {
            return out.error(errors::NOT_INTEGER);
        };
        match index(at, list.len()).and_then(|i| list.get(i)) {
            Some(v) => out.bulk(v),
            None => out.null(),
        }
    });
    ctx.read_lookup(&argv[1], found.is_some());
    if found.is_none() {
        ctx.out.null();
    }
}

/// LPOS options, as parsed before the key is looked up.
struct LposOptions {
    /// Which match to start from: 1 = the first; negative counts matches from the tail.
    rank: i64,
    /// COUNT: `None` = not given (reply with one index or nil), 0 = every match.
    count: Option<u64>,
    /// MAXLEN: compare at most this many elements (0 = all).
    maxlen: u64,
}

impl LposOptions {
    /// Parses `[RANK rank] [COUNT num-matches] [MAXLEN len]` from `argv[3..]`, in order, each
    /// error as soon as it is met (later options are not looked at); options may repeat.
    fn parse(argv: &[Bytes]) -> Result<LposOptions, &'static str> {
        let mut opts = LposOptions {
            rank: 1,
            count: None,
            maxlen: 0,
        };
        let mut j = 3;
        while j < argv.len() {
            let opt = &argv[j][..];
            let value = argv.get(j + 1);
            match value {
                Some(v) if args::is(opt, "RANK") => {
                    opts.rank = parse_i64(v).ok_or(errors::NOT_INTEGER)?;
                    if opts.rank == 0 {
                        return Err(errors::LPOS_RANK_ZERO);
                    }
                }
                Some(v) if args::is(opt, "COUNT") => {
                    let n = parse_i64(v).filter(|n| *n >= 0);
                    opts.count = Some(n.ok_or(errors::LPOS_COUNT_NEGATIVE)? as u64);
                }
                Some(v) if args::is(opt, "MAXLEN") => {
                    let n = parse_i64(v).filter(|n| *n >= 0);
                    opts.maxlen = n.ok_or(errors::LPOS_MAXLEN_NEGATIVE)? as u64;
                }
                _ => return Err(errors::SYNTAX),
            }
            j += 2;
        }
        Ok(opts)
    }
}

/// LPOS's scan over `elements` (head-to-tail, or tail-to-head when `from_tail`), returning the
/// matching indexes (positions from the head) that the options select.
///
/// This mirrors Redis 7.0's loop exactly, including its arithmetic on `rank`: RANK
/// -9223372036854775808 cannot be negated, stays negative, and so selects every match from the
/// tail with COUNT never reached (Redis 7.0 behaves so; later versions reject the value).
fn lpos_scan<'a>(
    elements: impl Iterator<Item = &'a [u8]>,
    len: usize,
    from_tail: bool,
    element: &[u8],
    opts: &LposOptions,
) -> Vec<i64> {
    let rank = if opts.rank < 0 {
        opts.rank.wrapping_neg()
    } else {
        opts.rank
    };
    let mut found = Vec::new();
    let mut matches: i64 = 0;
    for (i, v) in elements.enumerate() {
        if opts.maxlen != 0 && i as u64 >= opts.maxlen {
            break;
        }
        if v != element {
            continue;
        }
        matches += 1;
        if matches < rank {
            continue;
        }
        found.push(if from_tail { len - 1 - i } else { i } as i64);
        match opts.count {
            None => break,
            Some(0) => {}
            Some(c) => {
                if matches.wrapping_sub(rank).wrapping_add(1) >= c as i64 {
                    break;
                }
            }
        }
    }
    found
}

/// # Format
/// `LPOS key element [RANK rank] [COUNT num-matches] [MAXLEN len]` — the index of the
/// `rank`-th match (nil when none); with COUNT, an array of up to that many indexes (all for
/// 0). A negative rank searches from the tail. Indexes always count from the head.
fn lpos(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    let opts = match LposOptions::parse(argv) {
        Ok(opts) => opts,
        Err(e) => return ctx.out.error(e),
    };
    let element = &argv[2];
    let found = ctx.db().read(&argv[1], ctx.now, |e| {
        e.value.as_list().map(|list| {
            if opts.rank < 0 {
                lpos_scan(list.iter_rev(), list.len(), true, element, &opts)
            } else {
                lpos_scan(list.iter(), list.len(), false, element, &opts)
            }
        })
    });
    ctx.read_lookup(&argv[1], found.is_some());
    match (found, opts.count) {
        (Some(None), _) => ctx.out.error(errors::WRONGTYPE),
        (None, Some(_)) => ctx.out.array(0),
        (None, None) => ctx.out.null(),
        (Some(Some(indexes)), Some(_)) => {
            ctx.out.array(indexes.len());
            for i in indexes {
                ctx.out.int(i);
            }
        }
        (Some(Some(indexes)), None) => match indexes.first() {
            Some(&i) => ctx.out.int(i),
            None => ctx.out.null(),
        },
    }
}

// ---------------------------------------------------------------------------------------------
// In-place edits
// ---------------------------------------------------------------------------------------------

/// # Format
/// `LSET key index element` — OK; `ERR no such key` when missing, `ERR index out of range`
/// outside the list. The type is checked before the index is parsed, as in Redis.
fn lset(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    let at = parse_i64(&argv[2]);
    let value = &argv[3];
    let result = ctx.db().write(&argv[1], ctx.now, |slot| {
        let e = slot.get().ok_or(errors::NO_SUCH_KEY)?;
        let list = e.value.as_list_mut().ok_or(errors::WRONGTYPE)?;
        let at = at.ok_or(errors::NOT_INTEGER)?;
        match index(at, list.len()) {
            Some(i) if list.set(i, value) => {
                slot.modified(class::LIST, "lset");
                Ok(())
            }
            _ => Err(errors::INDEX_OUT_OF_RANGE),
        }
    });
    match result {
        Ok(()) => ctx.out.ok(),
        Err(e) => ctx.out.error(e),
    }
}

/// # Format
/// `LREM key count element` — removes the first `count` elements equal to `element` (from the
/// tail when negative, all when 0) and replies how many went.
fn lrem(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    let Some(count) = parse_i64(&argv[2]) else {
        return ctx.out.error(errors::NOT_INTEGER);
    };
    // |i64::MIN| overflows in Redis and removes every match from the tail; so does this.
    let limit = usize::try_from(count.unsigned_abs()).unwrap_or(usize::MAX);
    let element = &argv[3];
    let removed = ctx.db().write(&argv[1], ctx.now, |slot| {
        let Some(e) = slot.get() else {
            return Ok(0);
        };
        let list = e.value.as_list_mut().ok_or(())?;
        let removed = list.remove(element, limit, count < 0);
        let emptied = list.is_empty();
        if emptied {
            slot.remove();
        }
        if removed > 0 {
            slot.modified(class::LIST, "lrem");
        }
        if emptied {
            slot.notify(class::GENERIC, "del");
        }
        Ok(removed)
    });
    match removed {
        Ok(n) => ctx.out.int(n as i64),
        Err(()) => ctx.out.error(errors::WRONGTYPE),
    }
}

/// # Format
/// `LTRIM key start stop` — OK; keeps only `[start, stop]` (LRANGE's index rules), deleting the
/// key when nothing is left.
fn ltrim(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    let (Some(start), Some(end)) = (parse_i64(&argv[2]), parse_i64(&argv[3])) else {
        return ctx.out.error(errors::NOT_INTEGER);
    };
    let result = ctx.db().write(&argv[1], ctx.now, |slot| {
        let Some(e) = slot.get() else {
            return Ok(None);
        };
        let list = e.value.as_list_mut().ok_or(())?;
        let len = list.len();
        let (first, n) = range(start, end, len);
        if n > 0 {
            list.drop_back(len - first - n);
            list.drop_front(first);
        }
        // Reported even when nothing was trimmed, as Redis.
        slot.notify(class::LIST, "ltrim");
        // Taken out whole: a big list is then freed off the loop by its Drop.
        let removed = if n == 0 {
            let removed = slot.remove();
            slot.notify(class::GENERIC, "del");
            removed
        } else {
            None
        };
        slot.touched();
        Ok(removed)
    });
    match result {
        // A removed list is dropped here, outside the shard lock.
        Ok(_removed) => ctx.out.ok(),
        Err(()) => ctx.out.error(errors::WRONGTYPE),
    }
}

// ---------------------------------------------------------------------------------------------
// Moves
// ---------------------------------------------------------------------------------------------

/// What LMOVE did.
pub(crate) enum Moved {
    /// The source is missing: nil.
    Missing,
    WrongType,
    /// The element moved.
    Element(StrBuf),
}

impl Moved {
    /// LMOVE's reply: the element, nil or WRONGTYPE.
    pub(crate) fn reply(&self, out: &mut Reply) {
        match self {
            Moved::Missing => out.null(),
            Moved::WrongType => out.error(errors::WRONGTYPE),
            Moved::Element(v) => out.bulk(v),
        }
    }
}

/// `lmoveGenericCommand` under `locks` (which hold both keys' shards): pops from `src`'s
/// `from` end and pushes onto `dst`'s `to` end. A source equal to the destination rotates the
/// list in place (its TTL kept). Checks as Redis: a missing source is nil whatever the
/// destination holds; a destination of another type is WRONGTYPE and nothing moves. Events as
/// Redis: the destination's `lpush`/`rpush` (and `new`), then the source's `lpop`/`rpop` (and
/// `del`). LMOVE, RPOPLPUSH and BLMOVE/BRPOPLPUSH (at once or when served) all move here.
pub(crate) fn move_locked(
    locks: &mut Locks<'_>,
    db: usize,
    (src, dst): (&[u8], &[u8]),
    (from, to): (Side, Side),
    now: u64,
) -> Moved {
    match locks
        .slot(db, src, now)
        .get()
        .map(|e| e.value.as_list().is_some())
    {
        None => return Moved::Missing,
        Some(false) => return Moved::WrongType,
        Some(true) => {}
    }
    if src != dst {
        if let Some(e) = locks.slot(db, dst, now).get() {
            if e.value.as_list().is_none() {
                return Moved::WrongType;
            }
        }
    }
    let v = {
        let mut slot = locks.slot(db, src, now);
        let list = slot
            .get()
            .and_then(|e| e.value.as_list_mut())
            .expect("checked above");
        pop(list, from).expect("stored lists are never empty")
    };
    // The push side (Redis's `lmoveHandlePush`): for a rotation, onto the list just popped.
    let mut slot = locks.slot(db, dst, now);
    match slot.get().and_then(|e| e.value.as_list_mut()) {
        Some(list) => push(list, to, &v),
        None => {
            slot.put(new_list(to, [&v[..]]));
        }
    }
    slot.touched();
    slot.notify(class::LIST, to.push_event());
    // The pop side: deletes the source if the move emptied it.
    elements_removed(&mut locks.slot(db, src, now), from);
    Moved::Element(v)
}

/// LMOVE and RPOPLPUSH: both keys' shards are locked before either is read, so the move is
/// atomic to every other thread.
fn lmove_generic(ctx: &mut Ctx<'_>, src: &[u8], dst: &[u8], from: Side, to: Side) {
    let db = ctx.client.db;
    let mut locks = ctx.store().lock(&[(db, src), (db, dst)]);
    let moved = move_locked(&mut locks, db, (src, dst), (from, to), ctx.now);
    drop(locks);
    moved.reply(ctx.out);
}

/// # Format
/// `LMOVE source destination LEFT|RIGHT LEFT|RIGHT` — the element moved, or nil.
fn lmove(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    let (Some(from), Some(to)) = (Side::parse(&argv[3]), Side::parse(&argv[4])) else {
        return ctx.out.error(errors::SYNTAX);
    };
    lmove_generic(ctx, &argv[1], &argv[2], from, to);
}

/// # Format
/// `RPOPLPUSH source destination` — `LMOVE source destination RIGHT LEFT`.
fn rpoplpush(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    lmove_generic(ctx, &argv[1], &argv[2], Side::Right, Side::Left);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::session::Session as Harness;

    fn run(h: &mut Harness, args: &[&str]) -> String {
        let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        h.run_at(1_000, false, &args)
    }

    #[test]
    fn range_follows_redis_index_rules() {
        assert_eq!(range(0, -1, 3), (0, 3));
        assert_eq!(range(-100, 100, 3), (0, 3));
        assert_eq!(range(2, 1, 3), (0, 0));
        assert_eq!(range(3, 5, 3), (0, 0));
        assert_eq!(range(-1, -1, 3), (2, 1));
        assert_eq!(range(i64::MAX, i64::MIN, 3), (0, 0));
        assert_eq!(range(i64::MIN, i64::MAX, 3), (0, 3));
        assert_eq!(range(0, -1, 0), (0, 0));
        assert_eq!(index(-1, 3), Some(2));
        assert_eq!(index(-4, 3), None);
        assert_eq!(index(3, 3), None);
        assert_eq!(index(i64::MIN, 3), None);
    }

    #[test]
    fn push_pop_replies() {
        let mut h = Harness::new();
        assert_eq!(run(&mut h, &["RPUSH", "l", "a", "b", "c"]), ":3\r\n");
        assert_eq!(run(&mut h, &["LPUSH", "l", "x", "y"]), ":5\r\n");
        assert_eq!(
            run(&mut h, &["LRANGE", "l", "0", "-1"]),
            "*5\r\n$1\r\ny\r\n$1\r\nx\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n"
        );
        assert_eq!(
            run(&mut h, &["RPOP", "l", "2"]),
            "*2\r\n$1\r\nc\r\n$1\r\nb\r\n"
        );
        assert_eq!(run(&mut h, &["LPOP", "l", "0"]), "*0\r\n");
        assert_eq!(run(&mut h, &["LPOP", "missing", "1"]), "*-1\r\n");
        assert_eq!(run(&mut h, &["LPOP", "missing"]), "$-1\r\n");
        assert_eq!(
            run(&mut h, &["LPOP", "l", "-1"]),
            "-ERR value is out of range, must be positive\r\n"
        );
        assert_eq!(
            run(&mut h, &["LPOP", "l", "1", "2"]),
            "-ERR wrong number of arguments for 'lpop' command\r\n"
        );
        assert_eq!(
            run(&mut h, &["LPOP", "l", "9"]),
            "*3\r\n$1\r\ny\r\n$1\r\nx\r\n$1\r\na\r\n"
        );
        assert_eq!(run(&mut h, &["EXISTS", "l"]), ":0\r\n");
    }

    #[test]
    fn lpos_rank_i64_min_behaves_like_redis_7_0() {
        let mut h = Harness::new();
        run(&mut h, &["RPUSH", "l", "a", "b", "c", "a", "b", "c", "a"]);
        let min = "-9223372036854775808";
        assert_eq!(run(&mut h, &["LPOS", "l", "a", "RANK", min]), ":6\r\n");
        assert_eq!(
            run(&mut h, &["LPOS", "l", "a", "RANK", min, "COUNT", "1"]),
            "*3\r\n:6\r\n:3\r\n:0\r\n"
        );
        assert_eq!(
            run(
                &mut h,
                &["LPOS", "l", "a", "RANK", min, "COUNT", "1", "MAXLEN", "2"]
            ),
            "*1\r\n:6\r\n"
        );
        assert_eq!(
            run(
                &mut h,
                &[
                    "LPOS",
                    "l",
                    "a",
                    "RANK",
                    "-9223372036854775807",
                    "COUNT",
                    "1"
                ]
            ),
            "*0\r\n"
        );
    }
}
