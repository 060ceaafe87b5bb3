//! Set commands: SADD, SREM, SMEMBERS, SISMEMBER, SMISMEMBER, SCARD, SPOP, SRANDMEMBER, SMOVE,
//! SINTER, SINTERCARD, SUNION, SDIFF, SINTERSTORE, SUNIONSTORE, SDIFFSTORE and SSCAN, with
//! Redis 7.0's semantics, reply types and error texts. The representation and its operations
//! live in [`crate::store::types::set`]; this file parses arguments and writes replies.
//!
//! # Locking
//! Single-key commands take one shard lock through [`Db::read`](crate::store::DbRef::read) / [`Db::write`](crate::store::DbRef::write) and write their
//! reply from the set under it (no copy of SMEMBERS). SMOVE and the multi-key commands
//! (SINTER, SUNION, SDIFF, SINTERCARD and the STORE variants) lock every key they name up front
//! through [`crate::store::StoreRef::lock`] (locking rule 2), so each runs atomically with respect
//! to every other thread: a STORE never sees a half-updated source, and nobody sees its
//! destination half-written. The read-only ones hold the locks while writing their reply only
//! when the reply borrows from the sources (SINTER); results built as new sets are replied after
//! the locks are released.
//!
//! # Keyspace events
//! As Redis 7.0: `sadd` / `srem` when members were added / removed, `spop` (not for a count of
//! 0), SMOVE's `srem` on the source and `sadd` on the destination (only when the member was new
//! there), `sinterstore` / `sunionstore` / `sdiffstore` on a stored result, and `del` when a set
//! empties or a STORE with an empty result deletes its destination.
//!
//! # Reply order
//! As in Redis: an intset answers in ascending order, a hashtable in an unspecified order.
//!
//! # Keyspace statistics
//! Reads (SMEMBERS, SISMEMBER, SMISMEMBER, SCARD, SRANDMEMBER, SSCAN) and the sources of the
//! multi-key commands (STORE variants included, as in Redis 7.0) count a keyspace hit or miss
//! per key looked up, as Redis's `lookupKeyRead`; SADD, SREM, SPOP and SMOVE count nothing.

use bytes::Bytes;

use super::flags::*;
use super::{args, errors, keys, keys_after_numkeys, spec, CommandSpec, Ctx, Group};
use crate::resp::reply::Reply;
use crate::store::events::class;
use crate::store::types::set::{Member, OwnedMember};
use crate::store::types::Set;
use crate::store::{Entry, Value};
use crate::util::glob::{glob_match, is_match_all};
use crate::util::num::parse_i64;

#[rustfmt::skip]
pub static COMMANDS: &[CommandSpec] = &[
    //   name           arity flags                       group       first last step handler
    spec("sadd",          -3, WRITE | DENYOOM | FAST, Group::Set, 1,  1, 1, sadd),
    spec("srem",          -3, WRITE | FAST,           Group::Set, 1,  1, 1, srem),
    spec("smembers",       2, READONLY,               Group::Set, 1,  1, 1, smembers),
    spec("sismember",      3, READONLY | FAST,        Group::Set, 1,  1, 1, sismember),
    spec("smismember",    -3, READONLY | FAST,        Group::Set, 1,  1, 1, smismember),
    spec("scard",          2, READONLY | FAST,        Group::Set, 1,  1, 1, scard),
    spec("spop",          -2, WRITE | FAST,           Group::Set, 1,  1, 1, spop),
    spec("srandmember",   -2, READONLY,               Group::Set, 1,  1, 1, srandmember),
    spec("smove",          4, WRITE | FAST,           Group::Set, 1,  2, 1, smove),
    spec("sinter",        -2, READONLY,               Group::Set, 1, -1, 1, sinter),
    // Keys follow `numkeys` (argv[1]): movable, as Redis reports it (0 0 0 + movablekeys).
    spec("sintercard",    -3, READONLY, Group::Set, 0, 0, 0, sintercard).with_keys(keys_after_numkeys::<1>),
    spec("sunion",        -2, READONLY,               Group::Set, 1, -1, 1, sunion),
    spec("sdiff",         -2, READONLY,               Group::Set, 1, -1, 1, sdiff),
    spec("sinterstore",   -3, WRITE | DENYOOM,        Group::Set, 1, -1, 1, sinterstore),
    spec("sunionstore",   -3, WRITE | DENYOOM,        Group::Set, 1, -1, 1, sunionstore),
    spec("sdiffstore",    -3, WRITE | DENYOOM,        Group::Set, 1, -1, 1, sdiffstore),
    spec("sscan",         -3, READONLY,               Group::Set, 1,  1, 1, sscan),
];

// ---------------------------------------------------------------------------------------------
// Shared helpers
// ---------------------------------------------------------------------------------------------

#[inline]
fn reply_member(out: &mut Reply, m: Member<'_>) {
    match m {
        Member::Int(v) => out.bulk_int(v),
        Member::Bytes(b) => out.bulk(b),
    }
}

/// Writes a whole set as a set reply.
fn reply_set(out: &mut Reply, set: &Set) {
    out.set(set.len());
    for m in set.iter() {
        reply_member(out, m);
    }
}

/// Looks `key` up for reading (counting a hit or miss) and runs `f` on its set under the
/// shard's read lock; replies WRONGTYPE for another type. Returns false when the key is
/// missing, leaving the reply to the caller.
fn read_set(ctx: &mut Ctx<'_>, key: &[u8], f: impl FnOnce(&Set, &mut Reply)) -> bool {
    let db = ctx.db();
    let out = &mut *ctx.out;
    let found = db
        .read(key, ctx.now, |e| match &e.value {
            Value::Set(s) => f(s, out),
            _ => out.error(errors::WRONGTYPE),
        })
        .is_some();
    ctx.read_lookup(key, found);
    found
}

/// What a write lookup found.
enum Write<T> {
    Done(T),
    Missing,
    WrongType,
}

// ---------------------------------------------------------------------------------------------
// Single-key commands
// ---------------------------------------------------------------------------------------------

/// # Format
/// `SADD key member [member ...]` — the number of members added.
fn sadd(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    let members = &argv[2..];
    let added = ctx.db().write(&argv[1], ctx.now, |slot| {
        let n = match slot.get() {
            None => {
                let mut set = Set::new();
                let n = members.iter().filter(|m| set.add(m)).count();
                slot.put(Entry::new(Value::Set(Box::new(set)), 0));
                n
            }
            Some(e) => match &mut e.value {
                Value::Set(set) => members.iter().filter(|m| set.add(m)).count(),
                _ => return None,
            },
        };
        if n > 0 {
            slot.modified(class::SET, "sadd");
        }
        Some(n)
    });
    match added {
        Some(n) => ctx.out.int(n as i64),
        None => ctx.out.error(errors::WRONGTYPE),
    }
}

/// # Format
/// `SREM key member [member ...]` — the number of members removed; an emptied set is deleted.
fn srem(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    let removed = ctx.db().write(&argv[1], ctx.now, |slot| {
        let Some(e) = slot.get() else {
            return Write::Missing;
        };
        let Value::Set(set) = &mut e.value else {
            return Write::WrongType;
        };
        let mut n = 0;
        for m in &argv[2..] {
            if set.remove(m) {
                n += 1;
                if set.is_empty() {
                    break;
                }
            }
        }
        let emptied = set.is_empty();
        if emptied {
            slot.remove();
        }
        if n > 0 {
            slot.modified(class::SET, "srem");
            if emptied {
                slot.notify(class::GENERIC, "del");
            }
        }
        Write::Done(n)
    });
    match removed {
        Write::Done(n) => ctx.out.int(n),
        Write::Missing => ctx.out.int(0),
        Write::WrongType => ctx.out.error(errors::WRONGTYPE),
    }
}

/// # Format
/// `SMEMBERS key` — every member (a set reply; empty for a missing key).
fn smembers(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    if !read_set(ctx, &argv[1], |s, out| reply_set(out, s)) {
        ctx.out.set(0);
    }
}

/// # Format
/// `SISMEMBER key member` — 1 or 0.
fn sismember(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    if !read_set(ctx, &argv[1], |s, out| out.int(s.contains(&argv[2]) as i64)) {
        ctx.out.int(0);
    }
}

/// # Format
/// `SMISMEMBER key member [member ...]` — an array of 1/0, one per member.
fn smismember(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    let members = &argv[2..];
    let found = read_set(ctx, &argv[1], |s, out| {
        out.array(members.len());
        for m in members {
            out.int(s.contains(m) as i64);
        }
    });
    if !found {
        ctx.out.array(members.len());
        for _ in members {
            ctx.out.int(0);
        }
    }
}

/// # Format
/// `SCARD key` — the number of members (0 for a missing key).
fn scard(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    if !read_set(ctx, &argv[1], |s, out| out.int(s.len() as i64)) {
        ctx.out.int(0);
    }
}

/// What SPOP took out of the set.
enum Popped {
    One(OwnedMember),
    Some(Vec<OwnedMember>),
    /// Members no longer stored: the whole old set (count ≥ size) or what was left of it after
    /// the kept members moved to a new set.
    Rest(Box<Set>),
}

/// # Format
/// `SPOP key [count]`
///
/// Without count: one random member removed (nil for a missing key). With count: a set reply
/// of up to `count` distinct random members, all removed. As Redis, when fewer than a fifth of
/// `count` members stay, those few move to a fresh set (so a hashtable of integers can become
/// an intset again) and the old set is the reply.
fn spop(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    if argv.len() > 3 {
        ctx.out.error(errors::SYNTAX);
        return;
    }
    let count = match argv.get(2) {
        None => None,
        Some(arg) => match parse_i64(arg).and_then(|n| u64::try_from(n).ok()) {
            Some(n) => Some(usize::try_from(n).unwrap_or(usize::MAX)),
            None => {
                ctx.out.error(errors::NOT_POSITIVE);
                return;
            }
        },
    };
    let this = &*ctx;
    let popped = this.db().write(&argv[1], this.now, |slot| {
        let Some(e) = slot.get() else {
            return Write::Missing;
        };
        let Value::Set(set) = &mut e.value else {
            return Write::WrongType;
        };
        let rng = &mut rand::thread_rng();
        let popped = match count {
            None => Popped::One(set.pop_random(rng)),
            // `SPOP key 0`: an empty reply, and no change.
            Some(0) => return Write::Done(Popped::Some(Vec::new())),
            Some(n) if n >= set.len() => {
                // Redis replies here through SUNION's code, whose read lookup counts a hit.
                this.read_lookup(&argv[1], true);
                let rest = std::mem::take(&mut **set);
                Popped::Rest(Box::new(rest))
            }
            Some(n) => {
                let remaining = set.len() - n;
                if remaining.saturating_mul(5) > n {
                    Popped::Some((0..n).map(|_| set.pop_random(rng)).collect())
                } else {
                    let mut kept = Set::new();
                    for _ in 0..remaining {
                        kept.add_member(set.pop_random(rng).as_member());
                    }
                    Popped::Rest(Box::new(std::mem::replace(&mut **set, kept)))
                }
            }
        };
        let emptied = set.is_empty();
        slot.notify(class::SET, "spop");
        if emptied {
            slot.remove();
            slot.notify(class::GENERIC, "del");
        }
        slot.touched();
        Write::Done(popped)
    });
    if ctx.fx.propagating() {
        propagate_spop(ctx, &argv[1], &popped);
    }
    let out = &mut *ctx.out;
    match popped {
        Write::Done(Popped::One(m)) => reply_member(out, m.as_member()),
        Write::Done(Popped::Some(ms)) => {
            out.set(ms.len());
            for m in &ms {
                reply_member(out, m.as_member());
            }
        }
        Write::Done(Popped::Rest(set)) => reply_set(out, &set),
        Write::Missing if count.is_some() => out.set(0),
        Write::Missing => out.null(),
        Write::WrongType => out.error(errors::WRONGTYPE),
    }
}

/// SPOP propagates as the SREMs of what it removed (Redis's rewrite: a random pop must not be
/// replayed as another random pop), in batches of 1024 members.
fn propagate_spop(ctx: &mut Ctx<'_>, key: &[u8], popped: &Write<Popped>) {
    let members: Vec<Vec<u8>> = match popped {
        Write::Done(Popped::One(m)) => vec![m.as_member().with_bytes(|b| b.to_vec())],
        Write::Done(Popped::Some(ms)) => ms
            .iter()
            .map(|m| m.as_member().with_bytes(|b| b.to_vec()))
            .collect(),
        Write::Done(Popped::Rest(set)) => {
            set.iter().map(|m| m.with_bytes(|b| b.to_vec())).collect()
        }
        _ => return,
    };
    if members.is_empty() {
        return;
    }
    if let [one] = &members[..] {
        return ctx.propagate_as(&[b"SREM", key, one]);
    }
    ctx.prevent_propagation();
    let db = ctx.client.db;
    for batch in members.chunks(1024) {
        let mut argv: Vec<&[u8]> = vec![b"SREM", key];
        argv.extend(batch.iter().map(|m| &m[..]));
        ctx.also_propagate(db, &argv);
    }
}

/// # Format
/// `SRANDMEMBER key [count]`
///
/// Without count: a random member, or nil. With a positive count: an array of up to `count`
/// distinct members; with a negative count: exactly `-count` members, repeats allowed.
fn srandmember(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    if argv.len() > 3 {
        ctx.out.error(errors::SYNTAX);
        return;
    }
    let Some(arg) = argv.get(2) else {
        let key = &argv[1];
        if !read_set(ctx, key, |s, out| {
            reply_member(out, s.random(&mut rand::thread_rng()))
        }) {
            ctx.out.null();
        }
        return;
    };
    let Some(l) = parse_i64(arg) else {
        ctx.out.error(errors::NOT_INTEGER);
        return;
    };
    if l == i64::MIN {
        ctx.out.error(errors::COUNT_OUT_OF_RANGE);
        return;
    }
    if l < 0 && l.unsigned_abs() > args::MAX_RANDOM_REPEATS {
        ctx.out.error(errors::VALUE_OUT_OF_RANGE);
        return;
    }
    let count = usize::try_from(l.unsigned_abs()).unwrap_or(usize::MAX);
    let distinct = l >= 0;
    let found = read_set(ctx, &argv[1], |s, out| {
        let rng = &mut rand::thread_rng();
        if count == 0 {
            out.array(0);
        } else if !distinct {
            out.array(count);
            for _ in 0..count {
                reply_member(out, s.random(rng));
            }
        } else if count >= s.len() {
            out.array(s.len());
            s.iter().for_each(|m| reply_member(out, m));
        } else {
            let picked = s.sample(count, rng);
            out.array(picked.len());
            picked.into_iter().for_each(|m| reply_member(out, m));
        }
    });
    if !found {
        ctx.out.array(0);
    }
}

/// # Format
/// `SSCAN key cursor [MATCH pattern] [COUNT count]`
///
/// Replies `[next cursor, [members...]]`. An intset comes whole with cursor 0 (as in Redis);
/// a hashtable is walked a few buckets per call with Redis's reverse-binary cursor, which
/// returns every member present for the whole iteration at least once.
fn sscan(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    let Some(cursor) = keys::parse_cursor(&argv[2]) else {
        ctx.out.error(errors::INVALID_CURSOR);
        return;
    };
    let found = read_set(ctx, &argv[1], |s, out| {
        let (count, pattern) = match scan_options(&argv[3..]) {
            Ok(options) => options,
            Err(e) => {
                out.error(e);
                return;
            }
        };
        let mut batch = Vec::new();
        let next = s.scan(cursor, count, |m| {
            if pattern.is_none_or(|p| m.with_bytes(|b| glob_match(p, b, false))) {
                batch.push(m);
            }
        });
        out.array(2);
        out.bulk(itoa::Buffer::new().format(next).as_bytes());
        out.array(batch.len());
        batch.into_iter().for_each(|m| reply_member(out, m));
    });
    if !found {
        ctx.out.array(2);
        ctx.out.bulk(b"0");
        ctx.out.array(0);
    }
}

/// `[MATCH pattern] [COUNT count]` of SSCAN: (count, pattern unless it matches everything).
fn scan_options(opts: &[Bytes]) -> Result<(usize, Option<&[u8]>), &'static str> {
    let mut count = 10;
    let mut pattern = None;
    let mut i = 0;
    while i < opts.len() {
        if i + 1 >= opts.len() {
            return Err(errors::SYNTAX);
        }
        if super::args::is(&opts[i], "COUNT") {
            let n = parse_i64(&opts[i + 1]).ok_or(errors::NOT_INTEGER)?;
            if n < 1 {
                return Err(errors::SYNTAX);
            }
            count = usize::try_from(n).unwrap_or(usize::MAX);
        } else if super::args::is(&opts[i], "MATCH") {
            pattern = Some(&opts[i + 1][..]).filter(|p| !is_match_all(p));
        } else {
            return Err(errors::SYNTAX);
        }
        i += 2;
    }
    Ok((count, pattern))
}

// ---------------------------------------------------------------------------------------------
// Multi-key commands
// ---------------------------------------------------------------------------------------------

/// # Format
/// `SMOVE source destination member` — 1 if moved (or already there when source is
/// destination), 0 if the source is missing or lacks the member. WRONGTYPE when either key
/// holds another type (except that a missing source answers 0 first, as Redis).
fn smove(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    let (src, dst, member) = (&argv[1][..], &argv[2][..], &argv[3][..]);
    let d = ctx.client.db;
    let now = ctx.now;
    let mut locks = ctx.store().lock(&[(d, src), (d, dst)]);
    // Expired keys go first, as Redis's lookups delete them.
    locks.slot(d, src, now).get();
    locks.slot(d, dst, now).get();
    let kind = |e: Option<&Entry>| e.map(|e| matches!(e.value, Value::Set(_)));
    let (src_kind, dst_kind) = (kind(locks.get(d, src, now)), kind(locks.get(d, dst, now)));
    let moved = match (src_kind, dst_kind) {
        (None, _) => Ok(false),
        (Some(false), _) | (_, Some(false)) => Err(()),
        _ if src == dst => Ok(matches!(
            locks.get(d, src, now).map(|e| &e.value),
            Some(Value::Set(s)) if s.contains(member)
        )),
        _ => {
            let mut from = locks.slot(d, src, now);
            let removed = match from.get().map(|e| &mut e.value) {
                Some(Value::Set(s)) => {
                    let removed = s.remove(member);
                    let emptied = s.is_empty();
                    if removed {
                        from.notify(class::SET, "srem");
                    }
                    if emptied {
                        from.remove();
                        from.notify(class::GENERIC, "del");
                    }
                    removed
                }
                _ => false,
            };
            if removed {
                let mut to = locks.slot(d, dst, now);
                let added = match to.get().map(|e| &mut e.value) {
                    Some(Value::Set(s)) => s.add(member),
                    _ => {
                        let mut set = Set::new();
                        set.add(member);
                        to.put(Entry::new(Value::Set(Box::new(set)), 0));
                        true
                    }
                };
                locks.slot(d, src, now).touched();
                // Reported only when the member was not already in the destination.
                if added {
                    locks.slot(d, dst, now).modified(class::SET, "sadd");
                }
            }
            Ok(removed)
        }
    };
    drop(locks);
    match moved {
        Ok(moved) => ctx.out.int(moved as i64),
        Err(()) => ctx.out.error(errors::WRONGTYPE),
    }
}

/// The set operations.
#[derive(Clone, Copy, PartialEq)]
enum Op {
    Inter,
    Union,
    Diff,
}

/// What to do with the result of an operation.
#[derive(Clone, Copy)]
enum Output<'k> {
    /// Reply with the members (SINTER, SUNION, SDIFF).
    Reply,
    /// Reply with the cardinality, counting at most `limit` (0 = no limit) (SINTERCARD).
    Card(usize),
    /// Replace `dst` with the result and reply with its cardinality (the STORE variants).
    Store(&'k [u8]),
}

/// # Format
/// `SINTER key [key ...]` — a set reply; empty when any key is missing.
fn sinter(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    set_op(ctx, Op::Inter, &argv[1..], Output::Reply);
}

/// # Format
/// `SUNION key [key ...]` — a set reply; missing keys are empty sets.
fn sunion(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    set_op(ctx, Op::Union, &argv[1..], Output::Reply);
}

/// # Format
/// `SDIFF key [key ...]` — the members of the first set in none of the others.
fn sdiff(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    set_op(ctx, Op::Diff, &argv[1..], Output::Reply);
}

/// # Format
/// `SINTERSTORE destination key [key ...]` — the cardinality of the result, stored in
/// `destination` (replacing it, TTL included), which is deleted when the result is empty.
fn sinterstore(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    set_op(ctx, Op::Inter, &argv[2..], Output::Store(&argv[1]));
}

/// # Format
/// `SUNIONSTORE destination key [key ...]` — as SINTERSTORE, for the union.
fn sunionstore(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    set_op(ctx, Op::Union, &argv[2..], Output::Store(&argv[1]));
}

/// # Format
/// `SDIFFSTORE destination key [key ...]` — as SINTERSTORE, for the difference.
fn sdiffstore(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    set_op(ctx, Op::Diff, &argv[2..], Output::Store(&argv[1]));
}

/// # Format
/// `SINTERCARD numkeys key [key ...] [LIMIT limit]` — the cardinality of the intersection,
/// counting stops at `limit` (0: no limit).
fn sintercard(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    let numkeys = match parse_i64(&argv[1]) {
        Some(n) if n >= 1 => n as u64,
        _ => {
            ctx.out.error(errors::NUMKEYS_NOT_POSITIVE);
            return;
        }
    };
    let given = argv.len() as u64 - 2;
    if numkeys > given {
        ctx.out.error(errors::NUMKEYS_TOO_MANY);
        return;
    }
    let end = 2 + numkeys as usize;
    let mut limit = 0;
    let mut i = end;
    while i < argv.len() {
        if super::args::is(&argv[i], "LIMIT") && i + 1 < argv.len() {
            match parse_i64(&argv[i + 1]).and_then(|n| u64::try_from(n).ok()) {
                Some(n) => limit = usize::try_from(n).unwrap_or(usize::MAX),
                None => {
                    ctx.out.error(errors::LIMIT_NEGATIVE);
                    return;
                }
            }
            i += 2;
        } else {
            ctx.out.error(errors::SYNTAX);
            return;
        }
    }
    set_op(ctx, Op::Inter, &argv[2..end], Output::Card(limit));
}

/// The shared body of the multi-key operations: locks `keys` (and the destination), resolves
/// them — every key is looked up and type-checked before an empty operand short-cuts the
/// work, as Redis 7.0 does — computes, then replies or stores.
fn set_op(ctx: &mut Ctx<'_>, op: Op, keys: &[Bytes], output: Output<'_>) {
    let d = ctx.client.db;
    let now = ctx.now;
    let mut names: Vec<(usize, &[u8])> = keys.iter().map(|k| (d, &k[..])).collect();
    if let Output::Store(dst) = output {
        names.push((d, dst));
    }
    let mut locks = ctx.store().lock(&names);
    // Each source is looked up in turn (an expired one removed then, as Redis's lookups do),
    // stopping at the first of another type. The destination is only met when storing.
    for key in keys {
        let found = locks
            .slot(d, key, now)
            .get()
            .map(|e| matches!(e.value, Value::Set(_)));
        ctx.read_lookup(key, found.is_some());
        if found == Some(false) {
            drop(locks);
            ctx.out.error(errors::WRONGTYPE);
            return;
        }
    }
    let sets: Vec<Option<&Set>> = keys
        .iter()
        .map(|key| match locks.get(d, key, now).map(|e| &e.value) {
            Some(Value::Set(s)) => Some(&**s),
            _ => None,
        })
        .collect();
    let result: Set = match (op, &output) {
        (Op::Inter, Output::Reply) => {
            // Reply straight from the sources, under the locks.
            let mut found = Vec::new();
            if let Some(mut sets) = sets.into_iter().collect::<Option<Vec<&Set>>>() {
                intersect(&mut sets, |m| {
                    found.push(m);
                    true
                });
            }
            ctx.out.set(found.len());
            found.into_iter().for_each(|m| reply_member(ctx.out, m));
            return;
        }
        (Op::Inter, Output::Card(limit)) => {
            let mut n = 0;
            if let Some(mut sets) = sets.into_iter().collect::<Option<Vec<&Set>>>() {
                intersect(&mut sets, |_| {
                    n += 1;
                    *limit == 0 || n < *limit
                });
            }
            drop(locks);
            ctx.out.int(n as i64);
            return;
        }
        (Op::Inter, _) => {
            let mut result = Set::new();
            if let Some(mut sets) = sets.into_iter().collect::<Option<Vec<&Set>>>() {
                intersect(&mut sets, |m| {
                    result.add_member(m);
                    true
                });
            }
            result
        }
        (Op::Union, _) => {
            let mut result = Set::new();
            for s in sets.into_iter().flatten() {
                s.iter().for_each(|m| {
                    result.add_member(m);
                });
            }
            result
        }
        (Op::Diff, _) => diff(&sets),
    };
    if let Output::Store(dst) = output {
        let n = result.len();
        let mut slot = locks.slot(d, dst, now);
        let old = if n > 0 {
            let old = slot.put(Entry::new(Value::Set(Box::new(result)), 0));
            let event = match op {
                Op::Inter => "sinterstore",
                Op::Union => "sunionstore",
                Op::Diff => "sdiffstore",
            };
            slot.modified(class::SET, event);
            old
        } else {
            // Redis deletes the destination without looking it up: an expired one counts.
            let old = slot.delete();
            if old.is_some() {
                slot.modified(class::GENERIC, "del");
            }
            old
        };
        drop(locks);
        drop(old);
        ctx.out.int(n as i64);
    } else {
        drop(locks);
        reply_set(ctx.out, &result);
    }
}

/// Calls `keep` for each member of the intersection of `sets` (smallest set first, as Redis)
/// until it returns false.
fn intersect<'s>(sets: &mut [&'s Set], mut keep: impl FnMut(Member<'s>) -> bool) {
    sets.sort_by_key(|s| s.len());
    let Some((&first, rest)) = sets.split_first() else {
        return;
    };
    for m in first.iter() {
        let everywhere = rest
            .iter()
            .all(|&s| std::ptr::eq(s, first) || s.contains_member(m));
        if everywhere && !keep(m) {
            return;
        }
    }
}

/// The difference, computed as Redis computes it — the choice of algorithm decides whether
/// the result is an intset, which `OBJECT ENCODING` shows after SDIFFSTORE:
/// 1. when the first set is small next to the others: add each member of the first set that no
///    other set holds;
/// 2. otherwise: add the whole first set, then remove every member of the others.
fn diff(sets: &[Option<&Set>]) -> Set {
    let mut result = Set::new();
    let Some(Some(first)) = sets.first().copied() else {
        return result;
    };
    let others: Vec<&Set> = sets[1..].iter().flatten().copied().collect();
    let algo_one_work = first.len() * (others.len() + 1) / 2;
    let algo_two_work = first.len() + others.iter().map(|s| s.len()).sum::<usize>();
    if algo_one_work <= algo_two_work {
        for m in first.iter() {
            if !others.iter().any(|s| s.contains_member(m)) {
                result.add_member(m);
            }
        }
    } else {
        first.iter().for_each(|m| {
            result.add_member(m);
        });
        for s in others {
            for m in s.iter() {
                result.remove_member(m);
                if result.is_empty() {
                    return result;
                }
            }
        }
    }
    result
}
