//! Keyspace and expiry commands: DEL, UNLINK, EXISTS, TYPE, KEYS, SCAN, RANDOMKEY, RENAME,
//! RENAMENX, COPY, MOVE, SWAPDB, FLUSHDB, FLUSHALL, TOUCH, OBJECT, the EXPIRE family, TTL,
//! PTTL, EXPIRETIME, PEXPIRETIME and PERSIST.
//!
//! Single-key commands take one shard lock through [`Db::read`](crate::store::DbRef::read) / [`Db::peek`](crate::store::DbRef::peek) /
//! [`Db::write`](crate::store::DbRef::write). RENAME, RENAMENX, COPY and MOVE touch two keys (possibly in two databases) and
//! take both shard locks up front through [`crate::store::StoreRef::lock`], so other threads see
//! them happen at once (locking rule 2 in `store`). DEL, UNLINK, EXISTS and TOUCH act per key,
//! as Redis allows. DBSIZE lives in `server.rs`.
//!
//! Keyspace events follow Redis 7.0: `del` (DEL, UNLINK, EXPIRE family with a time not in the
//! future), `rename_from` + `rename_to`, `move_from` + `move_to`, `copy_to`, `expire`,
//! `persist`; RENAME, MOVE and COPY ... REPLACE re-create their destination, so it also gets
//! `new`. FLUSHDB, FLUSHALL and SWAPDB publish nothing but flag the watchers of the databases
//! they empty or exchange ([`crate::store::StoreRef::flush`], [`crate::store::StoreRef::swap`]).
//!
//! Lookups follow Redis's flags: commands Redis runs with `LOOKUP_NOTOUCH` (TYPE, EXISTS, the
//! TTL family, OBJECT) use [`Db::peek`](crate::store::DbRef::peek) so they do not reset `OBJECT IDLETIME`; read lookups
//! count keyspace hits and misses, write lookups do not.

use bytes::Bytes;

use super::flags::*;
use super::{args, container, errors, spec, CommandSpec, Ctx, Group};
use crate::store::events::class;
use crate::store::{Entry, Value};
use crate::util::glob::{glob_match, is_match_all};
use crate::util::num::parse_i64;

#[rustfmt::skip]
pub static COMMANDS: &[CommandSpec] = &[
    //   name     arity flags                       group           keys       handler
    spec("del", -2, WRITE, Group::Generic, 1, -1, 1, del),
    spec("unlink", -2, WRITE | FAST, Group::Generic, 1, -1, 1, unlink),
    spec("exists", -2, READONLY | FAST, Group::Generic, 1, -1, 1, exists),
    spec("type", 2, READONLY | FAST, Group::Generic, 1, 1, 1, type_),
    spec("keys", 2, KEYSPACE_WIDE | READONLY | DANGEROUS, Group::Generic, 0, 0, 0, keys),
    spec("scan", -2, KEYSPACE_WIDE | TOUCHES_ARBITRARY_KEYS | READONLY, Group::Generic, 0, 0, 0, scan),
    spec("randomkey", 1, KEYSPACE_WIDE | TOUCHES_ARBITRARY_KEYS | READONLY, Group::Generic, 0, 0, 0, randomkey),
    spec("rename", 3, WRITE, Group::Generic, 1, 2, 1, rename),
    spec("renamenx", 3, WRITE | FAST, Group::Generic, 1, 2, 1, renamenx),
    spec("copy", -3, KEYSPACE_WIDE | WRITE | DENYOOM, Group::Generic, 1, 2, 1, copy),
    spec("move", 3, KEYSPACE_WIDE | WRITE | FAST, Group::Generic, 1, 1, 1, move_),
    spec("swapdb", 3, KEYSPACE_WIDE | WRITE | FAST | DANGEROUS, Group::Generic, 0, 0, 0, swapdb),
    spec("flushdb", -1, KEYSPACE_WIDE | WRITE | DANGEROUS, Group::Generic, 0, 0, 0, flushdb),
    spec("flushall", -1, KEYSPACE_WIDE | WRITE | DANGEROUS, Group::Generic, 0, 0, 0, flushall),
    spec("dbsize", 1, KEYSPACE_WIDE | READONLY | FAST, Group::Generic, 0, 0, 0, dbsize),
    spec("touch", -2, READONLY | FAST, Group::Generic, 1, -1, 1, touch),
    spec("expire", -3, WRITE | FAST, Group::Generic, 1, 1, 1, expire),
    spec("pexpire", -3, WRITE | FAST, Group::Generic, 1, 1, 1, pexpire),
    spec("expireat", -3, WRITE | FAST, Group::Generic, 1, 1, 1, expireat),
    spec("pexpireat", -3, WRITE | FAST, Group::Generic, 1, 1, 1, pexpireat),
    spec("ttl", 2, READONLY | FAST, Group::Generic, 1, 1, 1, ttl),
    spec("pttl", 2, READONLY | FAST, Group::Generic, 1, 1, 1, pttl),
    spec("expiretime", 2, READONLY | FAST, Group::Generic, 1, 1, 1, expiretime),
    spec("pexpiretime", 2, READONLY | FAST, Group::Generic, 1, 1, 1, pexpiretime),
    spec("persist", 2, WRITE | FAST, Group::Generic, 1, 1, 1, persist),
    container("object", 0, Group::Generic, OBJECT_SUBCOMMANDS),
];

#[rustfmt::skip]
static OBJECT_SUBCOMMANDS: &[CommandSpec] = &[
    spec("object|help", 2, LOADING | STALE, Group::Generic, 0, 0, 0, object_help),
    spec("object|encoding", 3, READONLY, Group::Generic, 2, 2, 1, object_encoding),
    spec("object|freq", 3, READONLY, Group::Generic, 2, 2, 1, object_freq),
    spec("object|idletime", 3, READONLY, Group::Generic, 2, 2, 1, object_idletime),
    spec("object|refcount", 3, READONLY, Group::Generic, 2, 2, 1, object_refcount),
];

/// Drops `value` on a short-lived background thread (FLUSHDB/FLUSHALL ASYNC), so freeing a
/// large keyspace does not stall the event loop. If no thread can be spawned the value is
/// dropped here, which is slower but correct.
fn free_in_background<T: Send + 'static>(value: T) {
    let spawned = std::thread::Builder::new()
        .name("ferrokv-lazyfree".into())
        .spawn(move || drop(value));
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "lazy free thread unavailable; freed inline");
    }
}

// ---------------------------------------------------------------------------------------------
// Keyspace
// ---------------------------------------------------------------------------------------------

/// # Format
/// `DEL key [key ...]` — the number of keys removed (a repeated key counts once).
///
/// A single key takes its one shard lock; several keys are locked together up front (locking
/// rule 2), so the deletion is atomic as in Redis — and one unit in the propagation order.
fn del(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    let now = ctx.now;
    let remove = |slot: &mut crate::store::Slot<'_>| {
        let removed = slot.remove().is_some();
        if removed {
            slot.modified(class::GENERIC, "del");
        }
        removed
    };
    let n = if argv.len() == 2 {
        usize::from(ctx.db().write(&argv[1], now, remove))
    } else {
        let d = ctx.client.db;
        let keys: Vec<(usize, &[u8])> = argv[1..].iter().map(|k| (d, &k[..])).collect();
        let mut locks = ctx.store().lock(&keys);
        argv[1..]
            .iter()
            .filter(|k| remove(&mut locks.slot(d, k, now)))
            .count()
    };
    ctx.out.int(n as i64);
}

/// # Format
/// `UNLINK key [key ...]`
///
/// Same reply as DEL. Redis frees large values on a background thread here; we currently
/// delete in place (values are reference-counted `Bytes`, cheap to drop). Once collection types
/// exist, big ones should go through [`free_in_background`].
fn unlink(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    del(ctx, argv);
}

/// # Format
/// `EXISTS key [key ...]` — how many of the given keys exist; repeats count each time.
fn exists(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    count_existing(ctx, argv, false);
}

/// # Format
/// `TOUCH key [key ...]` — like EXISTS, but records an access on each key.
fn touch(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    count_existing(ctx, argv, true);
}

/// EXISTS and TOUCH: counts the live keys among `argv[1..]`, recording an access when `touch`.
fn count_existing(ctx: &mut Ctx<'_>, argv: &[Bytes], touch: bool) {
    let db = ctx.db();
    let mut n = 0;
    for key in &argv[1..] {
        let found = if touch {
            db.read(key, ctx.now, |_| ()).is_some()
        } else {
            db.peek(key, ctx.now, |_| ()).is_some()
        };
        ctx.read_lookup(key, found);
        n += found as i64;
    }
    ctx.out.int(n);
}

/// # Format
/// `TYPE key` — a simple string: the type name, or `none`.
fn type_(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    let name = ctx.db().peek(&argv[1], ctx.now, |e| e.value.type_name());
    ctx.read_lookup(&argv[1], name.is_some());
    ctx.out.simple(name.unwrap_or("none"));
}

/// # Format
/// `KEYS pattern` — every live key matching the glob `pattern` (`*` matches all, even `""`).
fn keys(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    let pattern = &argv[1][..];
    let all = is_match_all(pattern);
    let mut found = Vec::new();
    ctx.db().for_each_key(ctx.now, |key, _| {
        if all || glob_match(pattern, key, false) {
            found.push(Bytes::copy_from_slice(key));
        }
    });
    ctx.out.array(found.len());
    for key in &found {
        ctx.out.bulk(key);
    }
}

/// Parses a SCAN cursor exactly as Redis's `parseScanCursorOrReply`, i.e. C's `strtoul` in
/// base 10 on a 64-bit `unsigned long`: optional sign (a `-` wraps around), digits, nothing
/// after them, no leading whitespace, no overflow. Quirk kept: the empty string is cursor 0.
pub(crate) fn parse_cursor(s: &[u8]) -> Option<u64> {
    let Some(&first) = s.first() else {
        return Some(0);
    };
    if matches!(first, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r') {
        return None;
    }
    let (negative, digits) = match first {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() {
        return None;
    }
    let mut v: u64 = 0;
    for &b in digits {
        if !b.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
    }
    Some(if negative { v.wrapping_neg() } else { v })
}

/// # Format
/// `SCAN cursor [MATCH pattern] [COUNT count] [TYPE type]`
///
/// Replies `[next-cursor as a bulk string, [keys...]]`. The cursor encodes a position in
/// the hash space of one shard ([`Db::scan`]); a key present for the whole iteration is
/// returned at least once whatever happens to the table meanwhile.
fn scan(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    let Some(cursor) = parse_cursor(&argv[1]) else {
        ctx.out.error(errors::INVALID_CURSOR);
        return;
    };
    let mut count = 10usize;
    let mut pattern: Option<&[u8]> = None;
    let mut type_name: Option<&[u8]> = None;
    let mut i = 2;
    while i < argv.len() {
        let has_value = i + 1 < argv.len();
        if args::is(&argv[i], "COUNT") && has_value {
            let Some(n) = args::int(ctx, &argv[i + 1]) else {
                return;
            };
            if n < 1 {
                ctx.out.error(errors::SYNTAX);
                return;
            }
            count = usize::try_from(n).unwrap_or(usize::MAX);
        } else if args::is(&argv[i], "MATCH") && has_value {
            // `*` is Redis's "no pattern" (it also matches the empty key).
            pattern = Some(&argv[i + 1][..]).filter(|p| !is_match_all(p));
        } else if args::is(&argv[i], "TYPE") && has_value {
            type_name = Some(&argv[i + 1][..]);
        } else {
            ctx.out.error(errors::SYNTAX);
            return;
        }
        i += 2;
    }
    // As Redis's `scanGenericCommand`, for each key matching the pattern: with TYPE, a read
    // lookup (a hit, or for an expired key its removal, a miss and `keymiss`); then an expired
    // key is removed (`expired`) and left out.
    let (this, now) = (&*ctx, ctx.now);
    let mut expired = Vec::new();
    let (next, mut found) = this.db().scan(cursor, count, now, |key, entry| {
        if !pattern.is_none_or(|p| glob_match(p, key, false)) {
            return false;
        }
        let Some(entry) = entry else {
            // Removed below, under the key's write lock.
            expired.push(Bytes::copy_from_slice(key));
            return false;
        };
        type_name.is_none_or(|t| {
            this.read_lookup(key, true);
            t.eq_ignore_ascii_case(entry.value.type_name().as_bytes())
        })
    });
    for key in expired {
        // The lookup removes the key if it is still expired (it may have been set again).
        let live = this.db().peek(&key, now, |e| e.value.type_name());
        let keep = match type_name {
            None => live.is_some(),
            // A missing key's type is `none`, so Redis 7.0 returns an expired key to TYPE none.
            Some(t) => {
                this.read_lookup(&key, live.is_some());
                t.eq_ignore_ascii_case(live.unwrap_or("none").as_bytes())
            }
        };
        if keep {
            found.push(key);
        }
    }
    ctx.out.array(2);
    let mut num = itoa::Buffer::new();
    ctx.out.bulk(num.format(next).as_bytes());
    ctx.out.array(found.len());
    for key in &found {
        ctx.out.bulk(key);
    }
}

/// # Format
/// `RANDOMKEY` — a random live key, or nil when the database is empty.
fn randomkey(ctx: &mut Ctx<'_>, _argv: &[Bytes]) {
    match ctx.db().random_key(ctx.now) {
        Some(key) => ctx.out.bulk(&key),
        None => ctx.out.null(),
    }
}

/// # Format
/// `RENAME key newkey` — OK; the value keeps its TTL; an existing `newkey` is overwritten.
fn rename(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    rename_generic(ctx, argv, false);
}

/// # Format
/// `RENAMENX key newkey` — 1 if renamed, 0 if `newkey` exists.
fn renamenx(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    rename_generic(ctx, argv, true);
}

fn rename_generic(ctx: &mut Ctx<'_>, argv: &[Bytes], nx: bool) {
    let (from, to) = (&argv[1][..], &argv[2][..]);
    let d = ctx.client.db;
    let now = ctx.now;
    let mut locks = ctx.store().lock(&[(d, from), (d, to)]);
    if !locks.slot(d, from, now).exists() {
        drop(locks);
        ctx.out.error(errors::NO_SUCH_KEY);
        return;
    }
    let renamed = if from == to {
        !nx
    } else if nx && locks.slot(d, to, now).exists() {
        false
    } else {
        if let Some(entry) = locks.slot(d, from, now).remove() {
            // Redis deletes an existing destination, then adds the key anew (`new` event).
            let mut target = locks.slot(d, to, now);
            target.remove();
            target.put(entry);
        }
        locks
            .slot(d, from, now)
            .modified(class::GENERIC, "rename_from");
        locks.slot(d, to, now).modified(class::GENERIC, "rename_to");
        true
    };
    drop(locks);
    if nx {
        ctx.out.int(renamed as i64);
    } else {
        ctx.out.ok();
    }
}

/// Parses a DB index argument as MOVE and COPY do (`getIntFromObjectOrReply`, then
/// `selectDb`), replying with the matching error.
fn db_index(ctx: &mut Ctx<'_>, arg: &[u8]) -> Option<usize> {
    let Some(v) = parse_i64(arg) else {
        ctx.out.error(errors::NOT_INTEGER);
        return None;
    };
    if i32::try_from(v).is_err() {
        ctx.out.error(errors::NOT_INT32);
        return None;
    }
    match usize::try_from(v) {
        Ok(i) if i < ctx.srv.store.len() => Some(i),
        _ => {
            ctx.out.error(errors::DB_INDEX);
            None
        }
    }
}

/// # Format
/// `COPY source destination [DB destination-db] [REPLACE]` — 1 if copied, 0 if the source is
/// missing or the destination exists (without REPLACE). The copy keeps the TTL.
fn copy(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    let src_db = ctx.client.db;
    let mut dst_db = src_db;
    let mut replace = false;
    let mut i = 3;
    while i < argv.len() {
        if args::is(&argv[i], "REPLACE") {
            replace = true;
            i += 1;
        } else if args::is(&argv[i], "DB") && i + 1 < argv.len() {
            let Some(index) = db_index(ctx, &argv[i + 1]) else {
                return;
            };
            dst_db = index;
            i += 2;
        } else {
            ctx.out.error(errors::SYNTAX);
            return;
        }
    }
    let (src, dst) = (&argv[1][..], &argv[2][..]);
    if src_db == dst_db && src == dst {
        ctx.out.error(errors::SAME_OBJECT);
        return;
    }
    let now = ctx.now;
    let mut locks = ctx.store().lock(&[(src_db, src), (dst_db, dst)]);
    // A fresh object, as Redis's `dup*Object`: same value and TTL, new access time.
    let copy = locks
        .slot(src_db, src, now)
        .get()
        .map(|e| Entry::new(e.value.clone(), e.expire_at));
    // The source is read (`lookupKeyRead`) before the destination is met.
    ctx.read_lookup(src, copy.is_some());
    let Some(copy) = copy else {
        drop(locks);
        ctx.out.int(0);
        return;
    };
    let mut target = locks.slot(dst_db, dst, now);
    let copied = replace || !target.exists();
    if copied {
        // REPLACE deletes the old destination first: the copy is a new key (`new` event).
        target.remove();
        target.put(copy);
        target.modified(class::GENERIC, "copy_to");
    }
    drop(locks);
    ctx.out.int(copied as i64);
}

/// # Format
/// `MOVE key db` — 1 if moved, 0 if the key is missing here or exists in `db`.
fn move_(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    let Some(dst_db) = db_index(ctx, &argv[2]) else {
        return;
    };
    let src_db = ctx.client.db;
    if dst_db == src_db {
        ctx.out.error(errors::SAME_OBJECT);
        return;
    }
    let key = &argv[1][..];
    let now = ctx.now;
    let mut locks = ctx.store().lock(&[(src_db, key), (dst_db, key)]);
    let moved = locks.slot(src_db, key, now).exists() && !locks.slot(dst_db, key, now).exists();
    if moved {
        if let Some(entry) = locks.slot(src_db, key, now).remove() {
            locks.slot(dst_db, key, now).put(entry);
        }
        locks
            .slot(src_db, key, now)
            .modified(class::GENERIC, "move_from");
        locks
            .slot(dst_db, key, now)
            .modified(class::GENERIC, "move_to");
    }
    drop(locks);
    ctx.out.int(moved as i64);
}

/// # Format
/// `SWAPDB index1 index2` — OK; both databases are exchanged atomically.
fn swapdb(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    // Redis parses both with getIntFromObjectOrReply and a custom message, then range-checks.
    let int32 = |arg: &[u8]| parse_i64(arg).and_then(|v| i32::try_from(v).ok());
    let Some(a) = int32(&argv[1]) else {
        ctx.out.error(errors::INVALID_FIRST_DB);
        return;
    };
    let Some(b) = int32(&argv[2]) else {
        ctx.out.error(errors::INVALID_SECOND_DB);
        return;
    };
    let n = ctx.srv.store.len();
    match (usize::try_from(a), usize::try_from(b)) {
        (Ok(a), Ok(b)) if a < n && b < n => {
            ctx.store().swap(a, b, ctx.now);
            // Redis's `server.dirty++`: the swap is no change of one key.
            ctx.fx.add_changes(1);
            // Clients blocked in either database may now find their keys (Redis's
            // `scanDatabaseForReadyKeys`).
            let events = ctx.srv.store.events();
            ctx.srv.blocked.signal_db(events, a, ctx.fx);
            ctx.srv.blocked.signal_db(events, b, ctx.fx);
            ctx.out.ok();
        }
        _ => ctx.out.error(errors::DB_INDEX),
    }
}

/// FLUSHDB/FLUSHALL's optional `ASYNC | SYNC` (Redis's `getFlushCommandFlags`): `Some(async)`.
fn flush_mode(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> Option<bool> {
    match argv.len() {
        1 => Some(false),
        2 if args::is(&argv[1], "SYNC") => Some(false),
        2 if args::is(&argv[1], "ASYNC") => Some(true),
        _ => {
            ctx.out.error(errors::SYNTAX);
            None
        }
    }
}

fn flush(ctx: &mut Ctx<'_>, argv: &[Bytes], dbs: &[usize]) {
    let Some(background) = flush_mode(ctx, argv) else {
        return;
    };
    let old = ctx.store().flush(dbs);
    // As Redis: the keys removed count as changes, and the flush propagates even when there
    // was nothing to remove.
    ctx.fx
        .add_changes(old.iter().map(|shard| shard.len() as u64).sum());
    ctx.force_propagation();
    if background {
        free_in_background(old);
    } else {
        drop(old);
    }
    ctx.out.ok();
    // As Redis's trackingInvalidateKeysOnFlush: every tracking client is told "all keys"
    // (the caller after this reply).
    if ctx.srv.tracking.client_count() > 0 {
        let invs = ctx.srv.tracking.flush();
        let mut own = Vec::new();
        crate::state::tracking::deliver(ctx.srv, ctx.fx, invs, ctx.client.id, &mut own);
        ctx.out.buf.extend_from_slice(&own);
    }
}

/// # Format
/// `DBSIZE` — keys in the selected database (not-yet-swept expired keys included, as Redis).
fn dbsize(ctx: &mut Ctx<'_>, _argv: &[Bytes]) {
    ctx.out.int(ctx.db().len() as i64);
}

/// # Format
/// `FLUSHDB [ASYNC | SYNC]` — empties the selected database; ASYNC frees it in the background.
fn flushdb(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    let current = ctx.client.db;
    flush(ctx, argv, &[current]);
}

/// # Format
/// `FLUSHALL [ASYNC | SYNC]` — empties every database; ASYNC frees them in the background.
fn flushall(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    let all: Vec<usize> = (0..ctx.srv.store.len()).collect();
    flush(ctx, argv, &all);
}

// ---------------------------------------------------------------------------------------------
// OBJECT
// ---------------------------------------------------------------------------------------------

const OBJECT_HELP: &[&str] = &[
    "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "ENCODING <key>",
    "    Return the kind of internal representation used in order to store the value",
    "    associated with a <key>.",
    "FREQ <key>",
    "    Return the access frequency index of the <key>. The returned integer is",
    "    proportional to the logarithm of the recent access frequency of the key.",
    "IDLETIME <key>",
    "    Return the idle time of the <key>, that is the approximated number of",
    "    seconds elapsed since the last access to the key.",
    "REFCOUNT <key>",
    "    Return the number of references of the value associated with the specified",
    "    <key>.",
    "HELP",
    "    Prints this help.",
];

/// # Format
/// `OBJECT HELP` — one status reply per line, as Redis's `addReplyHelp`.
fn object_help(ctx: &mut Ctx<'_>, _argv: &[Bytes]) {
    ctx.out.array(OBJECT_HELP.len());
    for line in OBJECT_HELP {
        ctx.out.simple(line);
    }
}

/// Looks `key` up without touching it (Redis's `objectCommandLookup`); nil when missing. Counted
/// as a hit or miss, but a miss publishes no `keymiss` (Redis's `LOOKUP_NONOTIFY`).
fn object_lookup<R>(ctx: &mut Ctx<'_>, key: &[u8], f: impl FnOnce(&Entry) -> R) -> Option<R> {
    let found = ctx.db().peek(key, ctx.now, f);
    ctx.count_lookup(found.is_some());
    if found.is_none() {
        ctx.out.null();
    }
    found
}

/// # Format
/// `OBJECT ENCODING key`
fn object_encoding(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    if let Some(encoding) = object_lookup(ctx, &argv[2], |e| e.value.encoding()) {
        ctx.out.bulk(encoding.as_bytes());
    }
}

/// # Format
/// `OBJECT FREQ key` — the key's decayed LFU counter; Redis's error unless the
/// maxmemory-policy is an LFU one.
fn object_freq(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    if let Some(freq) = object_lookup(ctx, &argv[2], Entry::freq) {
        if !crate::memory::policy::lfu() {
            return ctx.out.error(errors::LFU_NOT_SELECTED);
        }
        ctx.out.int(i64::from(freq));
    }
}

/// # Format
/// `OBJECT IDLETIME key` — seconds since the key was last read or written; Redis's error
/// under an LFU maxmemory-policy (the access word then holds the frequency).
fn object_idletime(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    if let Some(idle) = object_lookup(ctx, &argv[2], Entry::idle_secs) {
        if crate::memory::policy::lfu() {
            return ctx.out.error(errors::LFU_SELECTED);
        }
        ctx.out.int(i64::from(idle));
    }
}

/// Redis stores the integers 0..10000 as shared objects whose refcount reads as `INT_MAX`.
const SHARED_INTEGERS: i64 = 10_000;

/// # Format
/// `OBJECT REFCOUNT key` — 1, or 2147483647 for values Redis would store as a shared integer
/// (a canonical integer in 0..10000), unless a maxmemory with an LRU or LFU policy turns
/// sharing off as in Redis (each key needs its own access data).
fn object_refcount(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    let shared = ctx
        .srv
        .memory
        .maxmemory
        .load(std::sync::atomic::Ordering::Relaxed)
        == 0
        || !crate::memory::policy::policy().no_shared_integers();
    let refcount = object_lookup(ctx, &argv[2], |e| match &e.value {
        Value::Str(s) => match parse_i64(s) {
            Some(v) if shared && (0..SHARED_INTEGERS).contains(&v) => i64::from(i32::MAX),
            _ => 1,
        },
        _ => 1,
    });
    if let Some(n) = refcount {
        ctx.out.int(n);
    }
}

// ---------------------------------------------------------------------------------------------
// Expiry
// ---------------------------------------------------------------------------------------------

/// The EXPIRE family's NX / XX / GT / LT options.
#[derive(Default)]
struct ExpireFlags {
    nx: bool,
    xx: bool,
    gt: bool,
    lt: bool,
}

/// Redis's `parseExtendedExpireArgumentsOrReply` (options come after `key` and the time).
fn expire_flags(ctx: &mut Ctx<'_>, options: &[Bytes]) -> Option<ExpireFlags> {
    let mut f = ExpireFlags::default();
    for opt in options {
        if args::is(opt, "NX") {
            f.nx = true;
        } else if args::is(opt, "XX") {
            f.xx = true;
        } else if args::is(opt, "GT") {
            f.gt = true;
        } else if args::is(opt, "LT") {
            f.lt = true;
        } else {
            ctx.out.error(errors::unsupported_option(opt));
            return None;
        }
    }
    if f.nx && (f.xx || f.gt || f.lt) {
        ctx.out.error(errors::EXPIRE_NX_CONFLICT);
        return None;
    }
    if f.gt && f.lt {
        ctx.out.error(errors::EXPIRE_GT_LT_CONFLICT);
        return None;
    }
    Some(f)
}

/// Converts the time argument to an absolute Unix time in ms, rejecting overflow exactly where
/// Redis does. `Err(())` means "invalid expire time".
fn absolute_expire(value: i64, seconds: bool, base: i64) -> Result<i64, ()> {
    let ms = if seconds {
        value.checked_mul(1000).ok_or(())?
    } else {
        value
    };
    // Redis rejects `when > LLONG_MAX - basetime` (base is never negative).
    ms.checked_add(base).ok_or(())
}

/// EXPIRE, PEXPIRE, EXPIREAT and PEXPIREAT (`expireGenericCommand`): `relative` adds the
/// current time, `seconds` scales the argument. A time not in the future deletes the key.
fn expire_generic(ctx: &mut Ctx<'_>, argv: &[Bytes], relative: bool, seconds: bool, name: &str) {
    let Some(flags) = expire_flags(ctx, &argv[3..]) else {
        return;
    };
    let Some(value) = args::int(ctx, &argv[2]) else {
        return;
    };
    let now = ctx.now as i64;
    let base = if relative { now } else { 0 };
    let Ok(when) = absolute_expire(value, seconds, base) else {
        ctx.out.error(errors::invalid_expire(name));
        return;
    };
    let changed = ctx.db().write(&argv[1], ctx.now, |slot| {
        let Some(entry) = slot.get() else {
            return false;
        };
        // -1 = no TTL, which counts as an infinite TTL for GT and LT.
        let current = if entry.is_volatile() {
            entry.expire_at as i64
        } else {
            -1
        };
        if (flags.nx && current != -1)
            || (flags.xx && current == -1)
            || (flags.gt && (current == -1 || when <= current))
            || (flags.lt && current != -1 && when >= current)
        {
            return false;
        }
        if when <= now {
            slot.remove();
            slot.modified(class::GENERIC, "del");
        } else {
            // `when > now > 0`, so it is a valid non-zero expiry.
            slot.set_expire(when as u64);
            slot.modified(class::GENERIC, "expire");
        }
        true
    });
    if changed {
        // Propagated as PEXPIREAT with the absolute time (options kept), or as the DEL it was.
        if when <= now {
            ctx.propagate_as(&[b"DEL", &argv[1]]);
        } else {
            let at = itoa::Buffer::new().format(when).as_bytes().to_vec();
            let mut rewritten: Vec<&[u8]> = vec![b"PEXPIREAT", &argv[1], &at];
            rewritten.extend(argv[3..].iter().map(|a| &a[..]));
            ctx.propagate_as(&rewritten);
        }
    }
    ctx.out.int(changed as i64);
}

/// # Format
/// `EXPIRE key seconds [NX | XX | GT | LT]`
fn expire(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    expire_generic(ctx, argv, true, true, "expire");
}

/// # Format
/// `PEXPIRE key milliseconds [NX | XX | GT | LT]`
fn pexpire(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    expire_generic(ctx, argv, true, false, "pexpire");
}

/// # Format
/// `EXPIREAT key unix-time-seconds [NX | XX | GT | LT]`
fn expireat(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    expire_generic(ctx, argv, false, true, "expireat");
}

/// # Format
/// `PEXPIREAT key unix-time-milliseconds [NX | XX | GT | LT]`
fn pexpireat(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    expire_generic(ctx, argv, false, false, "pexpireat");
}

/// TTL, PTTL, EXPIRETIME and PEXPIRETIME (`ttlGenericCommand`): -2 when the key is missing,
/// -1 when it has no TTL; seconds are rounded to the nearest second as Redis does.
fn ttl_generic(ctx: &mut Ctx<'_>, argv: &[Bytes], millis: bool, absolute: bool) {
    let now = ctx.now;
    let expire_at = ctx.db().peek(&argv[1], now, |e| e.expire_at);
    ctx.read_lookup(&argv[1], expire_at.is_some());
    let Some(expire_at) = expire_at else {
        ctx.out.int(-2);
        return;
    };
    if expire_at == 0 {
        ctx.out.int(-1);
        return;
    }
    let ms = if absolute {
        expire_at as i64
    } else {
        expire_at.saturating_sub(now) as i64
    };
    // Rounded to seconds in i128: expire times up to i64::MAX are legal (PEXPIREAT), and Redis
    // answers them with the exact quotient.
    ctx.out.int(if millis {
        ms
    } else {
        ((i128::from(ms) + 500) / 1000) as i64
    });
}

/// # Format
/// `TTL key`
fn ttl(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    ttl_generic(ctx, argv, false, false);
}

/// # Format
/// `PTTL key`
fn pttl(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    ttl_generic(ctx, argv, true, false);
}

/// # Format
/// `EXPIRETIME key` — absolute Unix time in seconds.
fn expiretime(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    ttl_generic(ctx, argv, false, true);
}

/// # Format
/// `PEXPIRETIME key` — absolute Unix time in milliseconds.
fn pexpiretime(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    ttl_generic(ctx, argv, true, true);
}

/// # Format
/// `PERSIST key` — 1 if a TTL was removed, 0 if the key is missing or has none.
fn persist(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    let removed = ctx.db().write(&argv[1], ctx.now, |slot| match slot.get() {
        Some(e) if e.is_volatile() => {
            e.expire_at = 0;
            slot.modified(class::GENERIC, "persist");
            true
        }
        _ => false,
    });
    ctx.out.int(removed as i64);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::session::Session;

    /// Runs commands at dispatch level with an explicit clock.
    struct Harness(Session);

    impl Harness {
        fn new() -> Self {
            Harness(Session::new())
        }

        /// The raw RESP2 reply of one command run at time `now` (ms).
        fn at(&mut self, now: u64, args: &str) -> String {
            let argv: Vec<&[u8]> = args.split(' ').map(str::as_bytes).collect();
            self.0.run_at(now, false, &argv)
        }
    }

    const T0: u64 = 1_700_000_000_000;

    #[test]
    fn ttl_family_with_a_fixed_clock() {
        let mut h = Harness::new();
        assert_eq!(h.at(T0, "ttl k"), ":-2\r\n");
        h.at(T0, "set k v");
        assert_eq!(h.at(T0, "ttl k"), ":-1\r\n");
        assert_eq!(h.at(T0, "pexpiretime k"), ":-1\r\n");
        assert_eq!(h.at(T0, "pexpire k 1499"), ":1\r\n");
        assert_eq!(h.at(T0, "pttl k"), ":1499\r\n");
        // Seconds round to nearest: 1499 ms -> 1, 1500 ms -> 2.
        assert_eq!(h.at(T0, "ttl k"), ":1\r\n");
        assert_eq!(h.at(T0 - 1, "ttl k"), ":2\r\n");
        assert_eq!(h.at(T0, "pexpiretime k"), format!(":{}\r\n", T0 + 1499));
        assert_eq!(
            h.at(T0, "expiretime k"),
            format!(":{}\r\n", (T0 + 1499 + 500) / 1000)
        );
        assert_eq!(h.at(T0 + 1498, "pttl k"), ":1\r\n");
        assert_eq!(h.at(T0 + 1499, "pttl k"), ":-2\r\n");
        assert_eq!(h.at(T0 + 1499, "dbsize"), ":0\r\n", "lazily removed");
    }

    #[test]
    fn expire_options_and_past_times() {
        let mut h = Harness::new();
        h.at(T0, "set k v");
        // No TTL counts as infinite: GT never applies, LT always does.
        assert_eq!(h.at(T0, "expire k 100 gt"), ":0\r\n");
        assert_eq!(h.at(T0, "expire k 100 xx"), ":0\r\n");
        assert_eq!(h.at(T0, "expire k 100 lt"), ":1\r\n");
        assert_eq!(h.at(T0, "expire k 50 nx"), ":0\r\n");
        assert_eq!(h.at(T0, "expire k 200 lt"), ":0\r\n");
        assert_eq!(h.at(T0, "expire k 100 gt"), ":0\r\n");
        assert_eq!(h.at(T0, "expire k 101 gt"), ":1\r\n");
        assert_eq!(h.at(T0, "pexpireat k 1 xx"), ":1\r\n");
        assert_eq!(h.at(T0, "exists k"), ":0\r\n");
        h.at(T0, "set k v");
        assert_eq!(h.at(T0, "expire k 0"), ":1\r\n");
        assert_eq!(h.at(T0, "exists k"), ":0\r\n");
        h.at(T0, "set k v");
        assert_eq!(h.at(T0, "pexpireat k -5"), ":1\r\n");
        assert_eq!(h.at(T0, "dbsize"), ":0\r\n");
        assert_eq!(h.at(T0, "expire missing 10"), ":0\r\n");
        h.at(T0, "set k v");
        h.at(T0, "expire k 10");
        assert_eq!(h.at(T0, "persist k"), ":1\r\n");
        assert_eq!(h.at(T0, "persist k"), ":0\r\n");
        assert_eq!(h.at(T0, "ttl k"), ":-1\r\n");
    }

    #[test]
    fn rename_copy_move_keep_the_ttl() {
        let mut h = Harness::new();
        h.at(T0, "set a v");
        h.at(T0, "pexpire a 5000");
        assert_eq!(h.at(T0, "rename a b"), "+OK\r\n");
        assert_eq!(h.at(T0, "pttl b"), ":5000\r\n");
        assert_eq!(h.at(T0, "copy b c"), ":1\r\n");
        assert_eq!(h.at(T0, "pttl c"), ":5000\r\n");
        assert_eq!(h.at(T0, "move c 3"), ":1\r\n");
        h.at(T0, "select 3");
        assert_eq!(h.at(T0, "pttl c"), ":5000\r\n");
        assert_eq!(h.at(T0 + 5000, "exists c"), ":0\r\n");
    }

    #[test]
    fn object_idletime_is_not_reset_by_peeking_commands() {
        let mut h = Harness::new();
        h.at(T0, "set k 5");
        assert_eq!(h.at(T0, "object refcount k"), ":2147483647\r\n");
        assert_eq!(h.at(T0, "object encoding k"), "$3\r\nint\r\n");
        assert_eq!(h.at(T0, "object idletime k"), ":0\r\n");
        assert_eq!(h.at(T0, "object idletime nokey"), "$-1\r\n");
        assert_eq!(h.at(T0, "object freq nokey"), "$-1\r\n");
    }

    #[test]
    fn cursor_parsing_follows_strtoul() {
        assert_eq!(parse_cursor(b"0"), Some(0));
        assert_eq!(parse_cursor(b""), Some(0));
        assert_eq!(parse_cursor(b"+7"), Some(7));
        assert_eq!(parse_cursor(b"-1"), Some(u64::MAX));
        assert_eq!(parse_cursor(b"18446744073709551615"), Some(u64::MAX));
        assert_eq!(parse_cursor(b"18446744073709551616"), None);
        assert_eq!(parse_cursor(b" 1"), None);
        assert_eq!(parse_cursor(b"1 "), None);
        assert_eq!(parse_cursor(b"-"), None);
        assert_eq!(parse_cursor(b"abc"), None);
        assert_eq!(parse_cursor(b"0x10"), None);
    }

    #[test]
    fn expire_time_overflow_matches_redis() {
        assert_eq!(absolute_expire(5, true, 1000), Ok(6000));
        assert!(absolute_expire(i64::MAX / 1000 + 1, true, 0).is_err());
        assert!(absolute_expire(i64::MIN / 1000 - 1, true, 0).is_err());
        assert!(absolute_expire(i64::MAX, false, 1).is_err());
        assert_eq!(absolute_expire(i64::MAX, false, 0), Ok(i64::MAX));
        assert_eq!(absolute_expire(-5, false, 0), Ok(-5));
    }
}
