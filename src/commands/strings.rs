//! String commands: SET and its variants, GET and its variants, the multi-key MGET/MSET/MSETNX,
//! counters (INCR ... INCRBYFLOAT), byte-range commands (APPEND, STRLEN, GETRANGE, SETRANGE,
//! SUBSTR) and LCS, with Redis 7.0's semantics, replies and error texts.
//!
//! # Layout
//! The table below is the family's only list of commands. Each handler parses its arguments
//! (arity was checked by the dispatcher), performs its whole effect under the lock(s) the store's
//! locking rules prescribe, and writes its reply once the locks are released, except GET which
//! writes straight from the stored value under the shard's read lock (no copy on the hottest
//! path).
//!
//! # Expiry rules (as Redis)
//! - SET/SETEX/PSETEX/GETSET/MSET/MSETNX replace the value and its TTL (SET KEEPTTL keeps it).
//! - INCR family, INCRBYFLOAT, APPEND and SETRANGE change the value in place and keep the TTL.
//! - An absolute expiry already in the past leaves no live key: `GETEX k PXAT 1` deletes it;
//!   `SET k v EXAT 1` stores it already expired (Redis 7.0 does; DBSIZE counts it until its next
//!   lookup or the sweep removes it with an `expired` event).
//!
//! # Keyspace events
//! Each write reports its change through [`crate::store::Slot::modified`] with Redis 7.0's event
//! names and conditions: `set` (SET family, GETSET, MSET, MSETNX) plus `expire` when SET/SETEX/
//! PSETEX got a TTL, `incrby` (INCR, DECR, INCRBY, DECRBY), `incrbyfloat`, `append`, `setrange`
//! (non-empty value only), `del` (GETDEL; GETEX with a past EXAT/PXAT), `expire`/`persist`
//! (GETEX). A command that changes nothing reports nothing.
//!
//! # Keyspace statistics
//! Commands that Redis runs through `lookupKeyRead` (GET, GETEX, GETDEL, GETSET, SET ... GET,
//! MGET, STRLEN, GETRANGE, SUBSTR, LCS) count one keyspace hit or miss per key looked up; a key of
//! another type counts as a hit. Write-only lookups (INCR, APPEND, SETNX, ...) count nothing.

use bytes::Bytes;

use super::flags::*;
use super::{args, errors, spec, CommandSpec, Ctx, Group};
use crate::store::events::class;
use crate::store::{Entry, StrBuf, Value};
use crate::util::num::{incr_by_float, parse_i64};

#[rustfmt::skip]
pub static COMMANDS: &[CommandSpec] = &[
    //   name  arity flags                       group          first last step handler
    spec("get", 2, READONLY | FAST, Group::String, 1, 1, 1, get),
    spec("set", -3, WRITE | DENYOOM, Group::String, 1, 1, 1, set),
    spec("getset", 3, WRITE | DENYOOM | FAST, Group::String, 1, 1, 1, getset),
    spec("getdel", 2, WRITE | FAST, Group::String, 1, 1, 1, getdel),
    spec("getex", -2, WRITE | FAST, Group::String, 1, 1, 1, getex),
    spec("setnx", 3, WRITE | DENYOOM | FAST, Group::String, 1, 1, 1, setnx),
    spec("setex", 4, WRITE | DENYOOM, Group::String, 1, 1, 1, setex),
    spec("psetex", 4, WRITE | DENYOOM, Group::String, 1, 1, 1, psetex),
    spec("mget", -2, READONLY | FAST, Group::String, 1, -1, 1, mget),
    spec("mset", -3, WRITE | DENYOOM, Group::String, 1, -1, 2, mset),
    spec("msetnx", -3, WRITE | DENYOOM, Group::String, 1, -1, 2, msetnx),
    spec("incr", 2, WRITE | DENYOOM | FAST, Group::String, 1, 1, 1, incr),
    spec("decr", 2, WRITE | DENYOOM | FAST, Group::String, 1, 1, 1, decr),
    spec("incrby", 3, WRITE | DENYOOM | FAST, Group::String, 1, 1, 1, incrby),
    spec("decrby", 3, WRITE | DENYOOM | FAST, Group::String, 1, 1, 1, decrby),
    spec("incrbyfloat", 3, WRITE | DENYOOM | FAST, Group::String, 1, 1, 1, incrbyfloat),
    spec("append", 3, WRITE | DENYOOM | FAST, Group::String, 1, 1, 1, append),
    spec("strlen", 2, READONLY | FAST, Group::String, 1, 1, 1, strlen),
    spec("getrange", 4, READONLY, Group::String, 1, 1, 1, getrange),
    spec("substr", 4, READONLY, Group::String, 1, 1, 1, getrange),
    spec("setrange", 4, WRITE | DENYOOM, Group::String, 1, 1, 1, setrange),
    spec("lcs", -3, READONLY, Group::String, 1, 2, 1, lcs),
];

// ---------------------------------------------------------------------------------------------
// Shared helpers
// ---------------------------------------------------------------------------------------------

/// What a key held when a command looked at it.
enum Found {
    Missing,
    WrongType,
    Str(Bytes),
}

impl Found {
    /// Classifies a live entry (or its absence), copying the string out of the store.
    fn of(entry: Option<&mut Entry>) -> Found {
        match entry {
            None => Found::Missing,
            Some(e) => match e.value.as_str() {
                Some(s) => Found::Str(Bytes::copy_from_slice(s)),
                None => Found::WrongType,
            },
        }
    }

    /// A keyspace hit: the key existed, whatever its type.
    fn is_hit(&self) -> bool {
        !matches!(self, Found::Missing)
    }
}

/// A stored string: a private copy of `data` (argv points into the connection's read buffer).
#[inline]
fn new_string(data: &[u8], expire_at: u64) -> Entry {
    Entry::new(Value::Str(StrBuf::from_slice(data)), expire_at)
}

/// `server.proto_max_bulk_len`, the largest string a command may build.
#[inline]
fn max_string_len(ctx: &Ctx<'_>) -> u64 {
    ctx.srv
        .settings
        .proto_max_bulk_len
        .load(std::sync::atomic::Ordering::Relaxed)
}

/// `checkStringLength`: would a string of `size + append` bytes exceed proto-max-bulk-len?
#[inline]
fn too_long(ctx: &Ctx<'_>, size: u64, append: u64) -> bool {
    size.checked_add(append)
        .is_none_or(|total| total > max_string_len(ctx))
}

// ---------------------------------------------------------------------------------------------
// SET-family options and expiry
// ---------------------------------------------------------------------------------------------

/// Option bits of SET and GETEX, as Redis's `OBJ_*` flags.
mod opt {
    pub const NX: u32 = 1 << 0;
    pub const XX: u32 = 1 << 1;
    pub const EX: u32 = 1 << 2;
    pub const PX: u32 = 1 << 3;
    pub const KEEPTTL: u32 = 1 << 4;
    pub const GET: u32 = 1 << 5;
    pub const EXAT: u32 = 1 << 6;
    pub const PXAT: u32 = 1 << 7;
    pub const PERSIST: u32 = 1 << 8;
    /// Every option that sets or clears the TTL.
    pub const ANY_EXPIRE: u32 = EX | PX | EXAT | PXAT;
}

/// Which command's options are being parsed (they share one grammar, as in Redis).
#[derive(Clone, Copy, PartialEq, Eq)]
enum OptionsOf {
    Set,
    GetEx,
}

/// An expiry argument with its meaning.
#[derive(Clone, Copy)]
struct Expire<'a> {
    arg: &'a [u8],
    /// EX/EXAT count seconds, PX/PXAT milliseconds.
    seconds: bool,
    /// EX/PX are relative to now, EXAT/PXAT absolute.
    relative: bool,
}

/// Why an expiry argument was refused.
#[derive(Clone, Copy)]
enum ExpireError {
    NotInteger,
    Invalid,
}

impl<'a> Expire<'a> {
    fn new(arg: &'a [u8], flag: u32) -> Self {
        Expire {
            arg,
            seconds: flag & (opt::EX | opt::EXAT) != 0,
            relative: flag & (opt::EX | opt::PX) != 0,
        }
    }

    /// `getExpireMillisecondsOrReply`: the absolute expiry in Unix milliseconds. Zero,
    /// negative and overflowing values are invalid.
    fn resolve(&self, now: u64) -> Result<u64, ExpireError> {
        let v = parse_i64(self.arg).ok_or(ExpireError::NotInteger)?;
        if v <= 0 || (self.seconds && v > i64::MAX / 1000) {
            return Err(ExpireError::Invalid);
        }
        let mut ms = if self.seconds { v * 1000 } else { v };
        if self.relative {
            ms = i64::try_from(now)
                .ok()
                .and_then(|now| ms.checked_add(now))
                .ok_or(ExpireError::Invalid)?;
        }
        Ok(ms as u64)
    }

    /// Resolves, or replies with the error (naming `command`, as Redis's `c->cmd->fullname`).
    fn resolve_or_reply(&self, ctx: &mut Ctx<'_>, command: &str) -> Option<u64> {
        match self.resolve(ctx.now) {
            Ok(at) => Some(at),
            Err(ExpireError::NotInteger) => {
                ctx.out.error(errors::NOT_INTEGER);
                None
            }
            Err(ExpireError::Invalid) => {
                ctx.out.error(errors::invalid_expire(command));
                None
            }
        }
    }
}

/// `parseExtendedStringArgumentsOrReply`: parses `argv[from..]` into option bits and the expiry
/// argument. Any unknown, misplaced or conflicting option, or an expiry option without its
/// value, is `None` (the caller replies `ERR syntax error`). A repeated option is accepted and
/// the last expiry value wins, as in Redis.
fn parse_options(argv: &[Bytes], from: usize, of: OptionsOf) -> Option<(u32, Option<Expire<'_>>)> {
    use opt::*;
    let set = of == OptionsOf::Set;
    let mut flags = 0u32;
    let mut expire = None;
    let mut j = from;
    while j < argv.len() {
        let a = &argv[j][..];
        let has_next = j + 1 < argv.len();
        // (flag, allowed here, options it conflicts with, takes a value)
        let (flag, allowed, conflicts, value) = if args::is(a, "NX") {
            (NX, set, XX, false)
        } else if args::is(a, "XX") {
            (XX, set, NX, false)
        } else if args::is(a, "GET") {
            (GET, set, 0, false)
        } else if args::is(a, "KEEPTTL") {
            (KEEPTTL, set, PERSIST | ANY_EXPIRE, false)
        } else if args::is(a, "PERSIST") {
            (PERSIST, !set, KEEPTTL | ANY_EXPIRE, false)
        } else if args::is(a, "EX") {
            (EX, true, KEEPTTL | PERSIST | (ANY_EXPIRE & !EX), true)
        } else if args::is(a, "PX") {
            (PX, true, KEEPTTL | PERSIST | (ANY_EXPIRE & !PX), true)
        } else if args::is(a, "EXAT") {
            (EXAT, true, KEEPTTL | PERSIST | (ANY_EXPIRE & !EXAT), true)
        } else if args::is(a, "PXAT") {
            (PXAT, true, KEEPTTL | PERSIST | (ANY_EXPIRE & !PXAT), true)
        } else {
            return None;
        };
        if !allowed || flags & conflicts != 0 || (value && !has_next) {
            return None;
        }
        flags |= flag;
        if value {
            j += 1;
            expire = Some(Expire::new(&argv[j], flag));
        }
        j += 1;
    }
    Some((flags, expire))
}

/// The outcome of the SET family under the key's lock.
enum SetOutcome {
    /// The old value when GET was asked; `None` = the key was missing.
    Done(Option<Bytes>),
    /// NX/XX condition failed (with the old value when GET was asked).
    Aborted(Option<Bytes>),
    WrongType,
}

/// What the SET family replies besides GET's old value.
struct SetReplies {
    ok: fn(&mut Ctx<'_>),
    aborted: fn(&mut Ctx<'_>),
}

const SET_REPLIES: SetReplies = SetReplies {
    ok: |ctx| ctx.out.ok(),
    aborted: |ctx| ctx.out.null(),
};

/// `setGenericCommand`: SET, SETNX, SETEX and PSETEX.
fn set_generic(
    ctx: &mut Ctx<'_>,
    command: &str,
    flags: u32,
    key: &[u8],
    value: &[u8],
    expire: Option<Expire<'_>>,
    replies: SetReplies,
) {
    let expire_at = match expire {
        Some(e) => match e.resolve_or_reply(ctx, command) {
            Some(at) => Some(at),
            None => return,
        },
        None => None,
    };
    let get = flags & opt::GET != 0;
    let now = ctx.now;
    let arg = value;
    // Copy outside the lock to keep the critical section short.
    let value = StrBuf::from_slice(value);
    let mut dropped = None;
    let this = &*ctx;
    let outcome = this.db().write(key, now, |slot| {
        // The old value is copied only for SET ... GET (a plain overwrite allocates nothing).
        let (found, old_ttl, old) = match slot.get() {
            None => (false, 0, Found::Missing),
            Some(e) if !get => (true, e.expire_at, Found::Missing),
            Some(e) => (true, e.expire_at, Found::of(Some(e))),
        };
        // GET reads the key first (`getGenericCommand`): its `keymiss` precedes `set`.
        if get {
            this.read_lookup(key, found);
        }
        let old = match old {
            Found::WrongType => return SetOutcome::WrongType,
            Found::Str(s) => Some(s),
            Found::Missing => None,
        };
        if (flags & opt::NX != 0 && found) || (flags & opt::XX != 0 && !found) {
            return SetOutcome::Aborted(old);
        }
        let ttl = match expire_at {
            Some(at) => at,
            None if flags & opt::KEEPTTL != 0 => old_ttl,
            None => 0,
        };
        // An absolute time already past is stored as is, as Redis does: the key is logically
        // gone and its next lookup (or the sweep) removes it with an `expired` event.
        dropped = slot.put(Entry::new(Value::Str(value), ttl));
        slot.modified(class::STRING, "set");
        if expire_at.is_some() {
            slot.notify(class::GENERIC, "expire");
        }
        SetOutcome::Done(old)
    });
    // The replaced value is freed here, outside the shard lock.
    drop(dropped);
    // A relative or second-based expiry propagates as the absolute time it stood for
    // (Redis's `SET key value PXAT ms`).
    if let (SetOutcome::Done(_), Some(at)) = (&outcome, expire_at) {
        if flags & opt::PXAT == 0 {
            let at = itoa::Buffer::new().format(at).as_bytes().to_vec();
            ctx.propagate_as(&[b"SET", key, arg, b"PXAT", &at]);
        }
    }
    match outcome {
        SetOutcome::WrongType => ctx.out.error(errors::WRONGTYPE),
        SetOutcome::Done(old) | SetOutcome::Aborted(old) if get => match old {
            Some(v) => ctx.out.bulk(&v),
            None => ctx.out.null(),
        },
        SetOutcome::Done(_) => (replies.ok)(ctx),
        SetOutcome::Aborted(_) => (replies.aborted)(ctx),
    }
}

/// # Format
/// `SET key value [NX | XX] [GET] [EX seconds | PX milliseconds | EXAT unix-time-seconds |
/// PXAT unix-time-milliseconds | KEEPTTL]`
///
/// Replies OK, or nil when NX/XX prevented the write; with GET, the old value or nil.
fn set(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    let Some((flags, expire)) = parse_options(argv, 3, OptionsOf::Set) else {
        ctx.out.error(errors::SYNTAX);
        return;
    };
    set_generic(ctx, "set", flags, &argv[1], &argv[2], expire, SET_REPLIES);
}

/// # Format
/// `SETNX key value` — 1 when set, 0 when the key existed.
fn setnx(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    let replies = SetReplies {
        ok: |ctx| ctx.out.int(1),
        aborted: |ctx| ctx.out.int(0),
    };
    set_generic(ctx, "setnx", opt::NX, &argv[1], &argv[2], None, replies);
}

/// # Format
/// `SETEX key seconds value`
fn setex(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    let expire = Expire::new(&argv[2], opt::EX);
    set_generic(
        ctx,
        "setex",
        opt::EX,
        &argv[1],
        &argv[3],
        Some(expire),
        SET_REPLIES,
    );
}

/// # Format
/// `PSETEX key milliseconds value`
fn psetex(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    let expire = Expire::new(&argv[2], opt::PX);
    set_generic(
        ctx,
        "psetex",
        opt::PX,
        &argv[1],
        &argv[3],
        Some(expire),
        SET_REPLIES,
    );
}

// ---------------------------------------------------------------------------------------------
// GET family
// ---------------------------------------------------------------------------------------------

/// # Format
/// `GET key` — the value, or nil.
fn get(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    let db = ctx.db();
    let out = &mut *ctx.out;
    // Written straight from the stored bytes under the shard's read lock: no copy.
    let found = db.read(&argv[1], ctx.now, |e| match e.value.as_str() {
        Some(s) => out.bulk(s),
        None => out.error(errors::WRONGTYPE),
    });
    ctx.read_lookup(&argv[1], found.is_some());
    if found.is_none() {
        ctx.out.null();
    }
}

/// # Format
/// `GETSET key value` — the old value (or nil); the new value replaces it without TTL.
fn getset(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    let value = StrBuf::from_slice(&argv[2]);
    let mut dropped = None;
    let this = &*ctx;
    let found = this.db().write(&argv[1], this.now, |slot| {
        let found = Found::of(slot.get());
        this.read_lookup(&argv[1], found.is_hit());
        if !matches!(found, Found::WrongType) {
            dropped = slot.put(Entry::new(Value::Str(value), 0));
            slot.modified(class::STRING, "set");
        }
        found
    });
    drop(dropped);
    reply_found(ctx, found);
}

/// # Format
/// `GETDEL key` — the value (or nil), deleting the key.
fn getdel(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    let mut dropped = None;
    let this = &*ctx;
    let found = this.db().write(&argv[1], this.now, |slot| {
        let found = Found::of(slot.get());
        this.read_lookup(&argv[1], found.is_hit());
        if matches!(found, Found::Str(_)) {
            dropped = slot.remove();
            slot.modified(class::GENERIC, "del");
        }
        found
    });
    drop(dropped);
    reply_found(ctx, found);
}

/// Replies with the value, nil or WRONGTYPE (the lookup was recorded when it was made).
fn reply_found(ctx: &mut Ctx<'_>, found: Found) {
    match found {
        Found::Missing => ctx.out.null(),
        Found::WrongType => ctx.out.error(errors::WRONGTYPE),
        Found::Str(v) => ctx.out.bulk(&v),
    }
}

/// # Format
/// `GETEX key [EX seconds | PX milliseconds | EXAT unix-time-seconds |
/// PXAT unix-time-milliseconds | PERSIST]`
///
/// The value (or nil), then sets or clears its TTL. The expiry argument is only validated when
/// the key holds a string (`GETEX missing EX abc` is nil, as in Redis).
fn getex(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    let Some((flags, expire)) = parse_options(argv, 2, OptionsOf::GetEx) else {
        ctx.out.error(errors::SYNTAX);
        return;
    };
    let now = ctx.now;
    let resolved = expire.map(|e| e.resolve(now));
    let mut dropped = None;
    let this = &*ctx;
    let found = this.db().write(&argv[1], now, |slot| {
        let found = Found::of(slot.get());
        this.read_lookup(&argv[1], found.is_hit());
        if !matches!(found, Found::Str(_)) {
            return Ok(found);
        }
        match &resolved {
            Some(Err(e)) => return Err(*e),
            // An absolute time already past deletes the key (after it was read).
            Some(Ok(at)) if *at <= now => {
                dropped = slot.remove();
                slot.modified(class::GENERIC, "del");
            }
            Some(Ok(at)) => {
                slot.set_expire(*at);
                slot.modified(class::GENERIC, "expire");
            }
            None if flags & opt::PERSIST != 0 => {
                let had_ttl = slot.get().is_some_and(|e| e.is_volatile());
                if had_ttl {
                    slot.set_expire(0);
                    slot.modified(class::GENERIC, "persist");
                }
            }
            None => {}
        }
        Ok(found)
    });
    drop(dropped);
    // Propagated as what it did: PEXPIREAT at the absolute time, DEL, or PERSIST.
    if matches!(found, Ok(Found::Str(_))) {
        match resolved {
            Some(Ok(at)) if at <= now => ctx.propagate_as(&[b"DEL", &argv[1]]),
            Some(Ok(at)) => {
                let at = itoa::Buffer::new().format(at).as_bytes().to_vec();
                ctx.propagate_as(&[b"PEXPIREAT", &argv[1], &at]);
            }
            None if flags & opt::PERSIST != 0 => ctx.propagate_as(&[b"PERSIST", &argv[1]]),
            _ => {}
        }
    }
    match found {
        Ok(found) => reply_found(ctx, found),
        Err(e) => {
            // The key was found (a hit, recorded) before its expiry argument was refused.
            match e {
                ExpireError::NotInteger => ctx.out.error(errors::NOT_INTEGER),
                ExpireError::Invalid => ctx.out.error(errors::invalid_expire("getex")),
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Multi-key commands
// ---------------------------------------------------------------------------------------------

/// # Format
/// `MGET key [key ...]` — an array with each value, nil for missing keys and other types.
///
/// With several keys every shard involved is locked at once (store rule 2), so the reply is a
/// snapshot of one instant: it can never show half of a concurrent MSET. One key takes the
/// ordinary shared read lock.
fn mget(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    let keys = &argv[1..];
    let db_index = ctx.client.db;
    let now = ctx.now;
    let values: Vec<Found> = if keys.len() == 1 {
        let found = ctx.db().read(&keys[0], now, |e| match e.value.as_str() {
            Some(s) => Found::Str(Bytes::copy_from_slice(s)),
            None => Found::WrongType,
        });
        let found = found.unwrap_or(Found::Missing);
        ctx.read_lookup(&keys[0], found.is_hit());
        vec![found]
    } else {
        let targets: Vec<(usize, &[u8])> = keys.iter().map(|k| (db_index, &k[..])).collect();
        let mut locks = ctx.store().lock(&targets);
        // Each lookup is recorded as it is made (Redis's order of `expired` and `keymiss`).
        keys.iter()
            .map(|k| {
                let found = Found::of(locks.slot(db_index, k, now).get());
                ctx.read_lookup(k, found.is_hit());
                found
            })
            .collect()
    };
    ctx.out.array(values.len());
    for v in values {
        match v {
            Found::Str(s) => ctx.out.bulk(&s),
            Found::Missing | Found::WrongType => ctx.out.null(),
        }
    }
}

/// Shared by MSET and MSETNX: validates the pairs, then applies them atomically (all shards
/// locked in order before the first write, released after the last). Returns false when
/// `nx` and some key existed (nothing was written).
fn mset_generic(ctx: &mut Ctx<'_>, argv: &[Bytes], nx: bool) -> Option<bool> {
    if argv.len().is_multiple_of(2) {
        ctx.out
            .error(errors::wrong_arity(if nx { "msetnx" } else { "mset" }));
        return None;
    }
    let db_index = ctx.client.db;
    let now = ctx.now;
    // Copy the values before locking to keep the critical section short.
    let pairs: Vec<(&[u8], Entry)> = argv[1..]
        .chunks_exact(2)
        .map(|kv| (&kv[0][..], new_string(&kv[1], 0)))
        .collect();
    let targets: Vec<(usize, &[u8])> = pairs.iter().map(|(k, _)| (db_index, *k)).collect();
    let mut replaced = Vec::new();
    {
        let mut locks = ctx.store().lock(&targets);
        if nx
            && pairs
                .iter()
                .any(|(k, _)| locks.slot(db_index, k, now).exists())
        {
            return Some(false);
        }
        for (k, entry) in pairs {
            let mut slot = locks.slot(db_index, k, now);
            replaced.extend(slot.put(entry));
            slot.modified(class::STRING, "set");
        }
    }
    // Old values are freed after the locks are released.
    drop(replaced);
    Some(true)
}

/// # Format
/// `MSET key value [key value ...]` — OK; atomic with respect to every other command.
fn mset(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    if mset_generic(ctx, argv, false).is_some() {
        ctx.out.ok();
    }
}

/// # Format
/// `MSETNX key value [key value ...]` — 1 when all keys were set, 0 (nothing set) when any
/// existed.
fn msetnx(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    if let Some(done) = mset_generic(ctx, argv, true) {
        ctx.out.int(done as i64);
    }
}

// ---------------------------------------------------------------------------------------------
// Counters
// ---------------------------------------------------------------------------------------------

/// Why a counter update failed.
enum CounterError {
    WrongType,
    NotInteger,
    Overflow,
}

/// `incrDecrCommand`: adds `by` to the integer at `argv[1]` (missing = 0), keeping its TTL.
fn incr_decr(ctx: &mut Ctx<'_>, key: &[u8], by: i64) {
    let result = ctx.db().write(key, ctx.now, |slot| {
        let new = match slot.get() {
            None => {
                let mut num = itoa::Buffer::new();
                slot.put(new_string(num.format(by).as_bytes(), 0));
                by
            }
            Some(e) => {
                let s = e.value.as_str_mut().ok_or(CounterError::WrongType)?;
                let old = parse_i64(s).ok_or(CounterError::NotInteger)?;
                let new = old.checked_add(by).ok_or(CounterError::Overflow)?;
                let mut num = itoa::Buffer::new();
                *s = StrBuf::from_slice(num.format(new).as_bytes());
                new
            }
        };
        // INCR, DECR, INCRBY and DECRBY all report `incrby`, as Redis.
        slot.modified(class::STRING, "incrby");
        Ok(new)
    });
    match result {
        Ok(n) => ctx.out.int(n),
        Err(CounterError::WrongType) => ctx.out.error(errors::WRONGTYPE),
        Err(CounterError::NotInteger) => ctx.out.error(errors::NOT_INTEGER),
        Err(CounterError::Overflow) => ctx.out.error(errors::OVERFLOW),
    }
}

/// # Format
/// `INCR key`
fn incr(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    incr_decr(ctx, &argv[1], 1);
}

/// # Format
/// `DECR key`
fn decr(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    incr_decr(ctx, &argv[1], -1);
}

/// # Format
/// `INCRBY key increment` — the increment is validated before the key is looked at.
fn incrby(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    if let Some(by) = args::int(ctx, &argv[2]) {
        incr_decr(ctx, &argv[1], by);
    }
}

/// # Format
/// `DECRBY key decrement` — a decrement of i64::MIN cannot be negated:
/// `ERR decrement would overflow`.
fn decrby(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    let Some(by) = args::int(ctx, &argv[2]) else {
        return;
    };
    if by == i64::MIN {
        ctx.out.error(errors::DECREMENT_OVERFLOW);
        return;
    }
    incr_decr(ctx, &argv[1], -by);
}

/// # Format
/// `INCRBYFLOAT key increment` — the new value as a bulk string (computed in `long double`
/// and stored as that text); a missing key counts as "0"; the TTL is kept.
fn incrbyfloat(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    let incr = &argv[2];
    let result: Result<Vec<u8>, &str> = ctx.db().write(&argv[1], ctx.now, |slot| {
        let new = match slot.get() {
            None => {
                let new = incr_by_float(b"0", incr).map_err(|e| e.message())?;
                slot.put(new_string(&new, 0));
                new
            }
            Some(e) => {
                let s = e.value.as_str_mut().ok_or(errors::WRONGTYPE)?;
                let new = incr_by_float(s, incr).map_err(|e| e.message())?;
                *s = StrBuf::from_slice(&new);
                new
            }
        };
        slot.modified(class::STRING, "incrbyfloat");
        Ok(new)
    });
    match result {
        Ok(v) => {
            // Replayed as the value it produced (float arithmetic may differ elsewhere).
            ctx.propagate_as(&[b"SET", &argv[1], &v, b"KEEPTTL"]);
            ctx.out.bulk(&v)
        }
        Err(msg) => ctx.out.error(msg),
    }
}

// ---------------------------------------------------------------------------------------------
// Byte ranges
// ---------------------------------------------------------------------------------------------

/// # Format
/// `APPEND key value` — the length after appending; creates the key when missing; keeps the TTL.
fn append(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    let tail = &argv[2];
    let limit = max_string_len(ctx);
    let result = ctx.db().write(&argv[1], ctx.now, |slot| {
        let len = match slot.get() {
            None => {
                slot.put(new_string(tail, 0));
                tail.len()
            }
            Some(e) => {
                let s = e.value.as_str_mut().ok_or(errors::WRONGTYPE)?;
                if (s.len() as u64).saturating_add(tail.len() as u64) > limit {
                    return Err(errors::STRING_TOO_LONG);
                }
                // Grows in place, amortised (as Redis's sds does).
                s.extend_from_slice(tail);
                s.len()
            }
        };
        slot.modified(class::STRING, "append");
        Ok(len)
    });
    match result {
        Ok(n) => ctx.out.int(n as i64),
        Err(msg) => ctx.out.error(msg),
    }
}

/// # Format
/// `STRLEN key` — 0 when missing.
fn strlen(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    let found = ctx
        .db()
        .read(&argv[1], ctx.now, |e| e.value.as_str().map(|s| s.len()));
    ctx.read_lookup(&argv[1], found.is_some());
    match found {
        None => ctx.out.int(0),
        Some(None) => ctx.out.error(errors::WRONGTYPE),
        Some(Some(n)) => ctx.out.int(n as i64),
    }
}

/// The inclusive byte range GETRANGE returns from a string of `len` bytes, or `None` for the
/// empty string; Redis 7.0's clamping rules, overflow-free.
fn clamp_range(mut start: i64, mut end: i64, len: usize) -> Option<(usize, usize)> {
    if start < 0 && end < 0 && start > end {
        return None;
    }
    let len = len as i64;
    if start < 0 {
        start += len;
    }
    if end < 0 {
        end += len;
    }
    let start = start.max(0);
    let end = end.max(0).min(len - 1);
    if len == 0 || start > end {
        return None;
    }
    Some((start as usize, end as usize))
}

/// # Format
/// `GETRANGE key start end` (and the deprecated `SUBSTR key start end`) — the inclusive
/// substring, negative indexes counting from the end; empty when missing or out of range.
fn getrange(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    let Some(start) = args::int(ctx, &argv[2]) else {
        return;
    };
    let Some(end) = args::int(ctx, &argv[3]) else {
        return;
    };
    let db = ctx.db();
    let out = &mut *ctx.out;
    let found = db.read(&argv[1], ctx.now, |e| match e.value.as_str() {
        Some(s) => match clamp_range(start, end, s.len()) {
            Some((a, b)) => out.bulk(&s[a..=b]),
            None => out.bulk(b""),
        },
        None => out.error(errors::WRONGTYPE),
    });
    ctx.read_lookup(&argv[1], found.is_some());
    if found.is_none() {
        ctx.out.bulk(b"");
    }
}

/// # Format
/// `SETRANGE key offset value` — the length after writing `value` at `offset`, zero-padding as
/// needed; keeps the TTL. An empty value never creates the key (replies its current length).
fn setrange(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    let Some(offset) = args::int(ctx, &argv[2]) else {
        return;
    };
    if offset < 0 {
        ctx.out.error(errors::OFFSET_OUT_OF_RANGE);
        return;
    }
    let value = &argv[3];
    // Whether the result would fit in proto-max-bulk-len; only consulted once the key's type
    // was checked and the value is known to be non-empty, as in Redis.
    let fits = !too_long(ctx, offset as u64, value.len() as u64);
    // From here on `offset + value.len()` is bounded by proto-max-bulk-len when used.
    let offset = offset as usize;
    let result = ctx.db().write(&argv[1], ctx.now, |slot| {
        let Some(e) = slot.get() else {
            if value.is_empty() {
                return Ok(0);
            }
            if !fits {
                return Err(errors::STRING_TOO_LONG);
            }
            let mut buf = StrBuf::from_elem(0, offset + value.len());
            buf[offset..].copy_from_slice(value);
            slot.put(Entry::new(Value::Str(buf), 0));
            slot.modified(class::STRING, "setrange");
            return Ok(offset + value.len());
        };
        let s = e.value.as_str_mut().ok_or(errors::WRONGTYPE)?;
        if value.is_empty() {
            return Ok(s.len());
        }
        if !fits {
            return Err(errors::STRING_TOO_LONG);
        }
        let end = offset + value.len();
        if s.len() < end {
            s.resize(end, 0);
        }
        s[offset..end].copy_from_slice(value);
        let len = s.len();
        slot.modified(class::STRING, "setrange");
        Ok(len)
    });
    match result {
        Ok(n) => ctx.out.int(n as i64),
        Err(msg) => ctx.out.error(msg),
    }
}

// ---------------------------------------------------------------------------------------------
// LCS
// ---------------------------------------------------------------------------------------------

/// One common run found by LCS: inclusive ranges in `a` and in `b`.
#[derive(Debug, PartialEq, Eq)]
struct Match {
    a: (usize, usize),
    b: (usize, usize),
}

impl Match {
    fn len(&self) -> usize {
        self.a.1 - self.a.0 + 1
    }
}

/// The longest common subsequence of `a` and `b` and its contiguous runs, latest first, walked
/// exactly as Redis does (ties go towards shorter `b`), so replies match byte for byte.
/// `table` is the caller-allocated `(a.len()+1) * (b.len()+1)` work area. Without
/// `backtrack` (LCS ... LEN) only the length is computed.
fn lcs_compute(
    a: &[u8],
    b: &[u8],
    table: &mut [u32],
    backtrack: bool,
) -> (u32, Vec<u8>, Vec<Match>) {
    let w = b.len() + 1;
    let at = |i: usize, j: usize| i * w + j;
    for i in 0..=a.len() {
        for j in 0..=b.len() {
            table[at(i, j)] = if i == 0 || j == 0 {
                0
            } else if a[i - 1] == b[j - 1] {
                table[at(i - 1, j - 1)] + 1
            } else {
                table[at(i - 1, j)].max(table[at(i, j - 1)])
            };
        }
    }
    let total = table[at(a.len(), b.len())];
    if !backtrack {
        return (total, Vec::new(), Vec::new());
    }
    let mut result = vec![0u8; total as usize];
    let mut matches = Vec::new();
    let mut idx = total as usize;
    let (mut i, mut j) = (a.len(), b.len());
    // The run being extended backwards: (a start, a end, b start, b end).
    let mut run: Option<(usize, usize, usize, usize)> = None;
    while i > 0 && j > 0 {
        let mut emit = false;
        if a[i - 1] == b[j - 1] {
            result[idx - 1] = a[i - 1];
            match &mut run {
                None => run = Some((i - 1, i - 1, j - 1, j - 1)),
                Some(r) if r.0 == i && r.2 == j => {
                    r.0 -= 1;
                    r.2 -= 1;
                }
                Some(_) => emit = true,
            }
            if let Some(r) = run {
                if r.0 == 0 || r.2 == 0 {
                    emit = true;
                }
            }
            idx -= 1;
            i -= 1;
            j -= 1;
        } else {
            if table[at(i - 1, j)] > table[at(i, j - 1)] {
                i -= 1;
            } else {
                j -= 1;
            }
            emit = run.is_some();
        }
        if emit {
            if let Some((a0, a1, b0, b1)) = run.take() {
                matches.push(Match {
                    a: (a0, a1),
                    b: (b0, b1),
                });
            }
        }
    }
    (total, result, matches)
}

/// # Format
/// `LCS key1 key2 [LEN] [IDX] [MINMATCHLEN min-match-len] [WITHMATCHLEN]`
///
/// The longest common subsequence of two strings (missing keys are empty strings): the string,
/// its length (LEN), or (IDX) a map `matches` => `[[[a0, a1], [b0, b1](, len)], ...]`,
/// `len` => total (a flat array in RESP2).
fn lcs(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    // Both values are read at one instant (shards locked together), then the work is done
    // without any lock.
    let db_index = ctx.client.db;
    let now = ctx.now;
    let (a, b) = {
        let targets = [(db_index, &argv[1][..]), (db_index, &argv[2][..])];
        let mut locks = ctx.store().lock(&targets);
        let a = Found::of(locks.slot(db_index, &argv[1], now).get());
        ctx.read_lookup(&argv[1], a.is_hit());
        let b = Found::of(locks.slot(db_index, &argv[2], now).get());
        ctx.read_lookup(&argv[2], b.is_hit());
        (a, b)
    };
    let text = |f: Found| match f {
        Found::Missing => Some(Bytes::new()),
        Found::Str(s) => Some(s),
        Found::WrongType => None,
    };
    let (Some(a), Some(b)) = (text(a), text(b)) else {
        ctx.out.error(errors::LCS_NOT_STRINGS);
        return;
    };

    let (mut getlen, mut getidx, mut withmatchlen) = (false, false, false);
    let mut minmatchlen = 0i64;
    let mut j = 3;
    while j < argv.len() {
        let o = &argv[j][..];
        if args::is(o, "IDX") {
            getidx = true;
        } else if args::is(o, "LEN") {
            getlen = true;
        } else if args::is(o, "WITHMATCHLEN") {
            withmatchlen = true;
        } else if args::is(o, "MINMATCHLEN") && j + 1 < argv.len() {
            let Some(n) = args::int(ctx, &argv[j + 1]) else {
                return;
            };
            minmatchlen = n.max(0);
            j += 1;
        } else {
            ctx.out.error(errors::SYNTAX);
            return;
        }
        j += 1;
    }
    if getlen && getidx {
        ctx.out.error(errors::LCS_LEN_AND_IDX);
        return;
    }
    if a.len() as u64 >= u32::MAX as u64 - 1 || b.len() as u64 >= u32::MAX as u64 - 1 {
        ctx.out.error(errors::LCS_TOO_LONG);
        return;
    }
    let cells = (a.len() as u64 + 1) * (b.len() as u64 + 1);
    let Some(bytes) = cells.checked_mul(4) else {
        ctx.out.error(errors::LCS_ALLOC_FAILED);
        return;
    };
    if bytes > max_string_len(ctx) {
        ctx.out.error(errors::LCS_OVER_LIMIT);
        return;
    }
    let mut table = Vec::new();
    if table.try_reserve_exact(cells as usize).is_err() {
        ctx.out.error(errors::LCS_ALLOC_FAILED);
        return;
    }
    table.resize(cells as usize, 0u32);
    let (total, common, matches) = lcs_compute(&a, &b, &mut table, getidx || !getlen);
    drop(table);

    if getidx {
        let shown: Vec<&Match> = matches
            .iter()
            .filter(|m| minmatchlen == 0 || m.len() as u64 >= minmatchlen as u64)
            .collect();
        let out = &mut *ctx.out;
        out.map(2);
        out.bulk(b"matches");
        out.array(shown.len());
        for m in shown {
            out.array(2 + withmatchlen as usize);
            out.array(2);
            out.int(m.a.0 as i64);
            out.int(m.a.1 as i64);
            out.array(2);
            out.int(m.b.0 as i64);
            out.int(m.b.1 as i64);
            if withmatchlen {
                out.int(m.len() as i64);
            }
        }
        out.bulk(b"len");
        out.int(total as i64);
    } else if getlen {
        ctx.out.int(total as i64);
    } else {
        ctx.out.bulk(&common);
    }
}

#[cfg(test)]
mod tests {
    //! Dispatch-level tests: no sockets, an injected clock, direct access to the store.

    use std::sync::atomic::Ordering;

    use super::*;
    use crate::commands::session::Session;

    /// The shared dispatch harness plus this family's clock.
    struct Harness {
        inner: Session,
        now: u64,
    }

    impl Harness {
        fn new() -> Self {
            Harness {
                inner: Session::new(),
                now: 1_000_000,
            }
        }

        fn run_with(&mut self, resp3: bool, args: &[&str]) -> String {
            let argv: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
            self.inner.run_at(self.now, resp3, &argv)
        }

        fn run(&mut self, args: &[&str]) -> String {
            self.run_with(false, args)
        }

        fn expire_at(&self, key: &str) -> Option<u64> {
            let fx = crate::store::Scope::new(None, None);
            self.inner
                .srv
                .store
                .with(&fx)
                .db(0)
                .read(key.as_bytes(), self.now, |e| e.expire_at)
        }

        fn stats(&self) -> (u64, u64) {
            (
                self.inner.stats.keyspace_hits.load(Ordering::Relaxed),
                self.inner.stats.keyspace_misses.load(Ordering::Relaxed),
            )
        }
    }

    #[test]
    fn option_grammar_matches_redis() {
        let argv = |s: &str| -> Vec<Bytes> {
            s.split(' ')
                .map(|a| Bytes::copy_from_slice(a.as_bytes()))
                .collect()
        };
        let ok = |s: &str| parse_options(&argv(s), 3, OptionsOf::Set).is_some();
        assert!(ok("set k v"));
        assert!(ok("set k v nx get ex 10"));
        assert!(ok("set k v ex 10 ex 20"));
        assert!(ok("set k v keepttl keepttl xx"));
        assert!(!ok("set k v nx xx"));
        assert!(!ok("set k v ex 10 px 10"));
        assert!(!ok("set k v keepttl exat 10"));
        assert!(!ok("set k v persist"));
        assert!(!ok("set k v ex"));
        let getex = |s: &str| parse_options(&argv(s), 2, OptionsOf::GetEx).is_some();
        assert!(getex("getex k persist"));
        assert!(!getex("getex k persist ex 1"));
        assert!(!getex("getex k nx"));
        assert!(!getex("getex k get"));
        assert!(!getex("getex k keepttl"));
    }

    #[test]
    fn expiry_resolution_and_overflow() {
        let at =
            |arg: &str, flag: u32, now: u64| Expire::new(arg.as_bytes(), flag).resolve(now).ok();
        assert_eq!(at("10", opt::EX, 5), Some(10_005));
        assert_eq!(at("10", opt::PX, 5), Some(15));
        assert_eq!(at("10", opt::EXAT, 5), Some(10_000));
        assert_eq!(at("10", opt::PXAT, 5), Some(10));
        assert_eq!(at("0", opt::PXAT, 5), None);
        assert_eq!(
            at("9223372036854775", opt::EXAT, 5),
            Some(9_223_372_036_854_775_000)
        );
        assert_eq!(at("9223372036854776", opt::EXAT, 5), None);
        assert_eq!(at("9223372036854775", opt::EX, 1_000_000), None);
        assert_eq!(
            at("9223372036854775807", opt::PXAT, 5),
            Some(i64::MAX as u64)
        );
        assert_eq!(at("9223372036854775807", opt::PX, 5), None);
        assert!(matches!(
            Expire::new(b"1.5", opt::EX).resolve(0),
            Err(ExpireError::NotInteger)
        ));
    }

    #[test]
    fn ttl_kept_or_cleared_with_injected_clock() {
        let mut h = Harness::new();
        assert_eq!(h.run(&["SET", "k", "10", "EX", "100"]), "+OK\r\n");
        assert_eq!(h.expire_at("k"), Some(h.now + 100_000));
        assert_eq!(h.run(&["INCR", "k"]), ":11\r\n");
        assert_eq!(h.run(&["INCRBYFLOAT", "k", "0.5"]), "$4\r\n11.5\r\n");
        assert_eq!(h.run(&["APPEND", "k", "x"]), ":5\r\n");
        assert_eq!(h.run(&["SETRANGE", "k", "0", "y"]), ":5\r\n");
        assert_eq!(h.expire_at("k"), Some(h.now + 100_000));
        assert_eq!(h.run(&["SET", "k", "v", "KEEPTTL"]), "+OK\r\n");
        assert_eq!(h.expire_at("k"), Some(h.now + 100_000));
        assert_eq!(h.run(&["SET", "k", "v"]), "+OK\r\n");
        assert_eq!(h.expire_at("k"), Some(0));
        assert_eq!(h.run(&["PSETEX", "k", "50", "v"]), "+OK\r\n");
        assert_eq!(h.expire_at("k"), Some(h.now + 50));
        assert_eq!(h.run(&["GETSET", "k", "w"]), "$1\r\nv\r\n");
        assert_eq!(h.expire_at("k"), Some(0));
        assert_eq!(h.run(&["GETEX", "k", "PXAT", "2000000"]), "$1\r\nw\r\n");
        assert_eq!(h.expire_at("k"), Some(2_000_000));
        h.now = 2_000_000;
        assert_eq!(h.run(&["GET", "k"]), "$-1\r\n");
        // Stored already expired, as Redis 7.0: counted by DBSIZE until a lookup removes it.
        assert_eq!(h.run(&["SET", "k", "v", "EXAT", "1"]), "+OK\r\n");
        assert_eq!(h.run(&["DBSIZE"]), ":1\r\n");
        assert_eq!(h.run(&["GET", "k"]), "$-1\r\n");
        assert_eq!(h.run(&["DBSIZE"]), ":0\r\n");
    }

    #[test]
    fn keyspace_hits_and_misses() {
        let mut h = Harness::new();
        h.run(&["SET", "a", "1"]);
        assert_eq!(h.stats(), (0, 0));
        h.run(&["GET", "a"]);
        h.run(&["GET", "b"]);
        assert_eq!(h.stats(), (1, 1));
        h.run(&["MGET", "a", "b", "a"]);
        assert_eq!(h.stats(), (3, 2));
        h.run(&["STRLEN", "b"]);
        h.run(&["GETRANGE", "a", "0", "1"]);
        h.run(&["LCS", "a", "b"]);
        assert_eq!(h.stats(), (5, 4));
        h.run(&["INCR", "a"]);
        h.run(&["APPEND", "a", "x"]);
        h.run(&["SETNX", "a", "x"]);
        assert_eq!(h.stats(), (5, 4));
        h.run(&["SET", "a", "x", "GET"]);
        h.run(&["GETSET", "c", "x"]);
        assert_eq!(h.stats(), (6, 5));
    }

    #[test]
    fn lcs_idx_is_a_map_in_resp3() {
        let mut h = Harness::new();
        h.run(&["MSET", "key1", "ohmytext", "key2", "mynewtext"]);
        assert_eq!(
            h.run_with(true, &["LCS", "key1", "key2", "IDX", "MINMATCHLEN", "4", "WITHMATCHLEN"]),
            "%2\r\n$7\r\nmatches\r\n*1\r\n*3\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n:4\r\n$3\r\nlen\r\n:6\r\n"
        );
        assert_eq!(
            h.run_with(false, &["LCS", "key1", "nokey", "IDX"]),
            "*4\r\n$7\r\nmatches\r\n*0\r\n$3\r\nlen\r\n:0\r\n"
        );
    }

    #[test]
    fn lcs_runs_follow_redis_backtracking() {
        let a = b"ohmytext";
        let b = b"mynewtext";
        let mut table = vec![0u32; (a.len() + 1) * (b.len() + 1)];
        let (total, s, m) = lcs_compute(a, b, &mut table, true);
        assert_eq!(total, 6);
        assert_eq!(s, b"mytext");
        assert_eq!(
            m,
            vec![
                Match {
                    a: (4, 7),
                    b: (5, 8)
                },
                Match {
                    a: (2, 3),
                    b: (0, 1)
                }
            ]
        );
    }

    #[test]
    fn getrange_clamping() {
        assert_eq!(clamp_range(0, -1, 5), Some((0, 4)));
        assert_eq!(clamp_range(-1, -5, 5), None);
        assert_eq!(clamp_range(-100, -50, 5), Some((0, 0)));
        assert_eq!(clamp_range(5, 10, 5), None);
        assert_eq!(clamp_range(0, i64::MAX, 5), Some((0, 4)));
        assert_eq!(clamp_range(i64::MIN, i64::MIN, 5), Some((0, 0)));
        assert_eq!(clamp_range(0, -1, 0), None);
    }

    #[test]
    fn appends_grow_in_place_amortised() {
        // Repeated APPENDs must not copy the whole string each time (Redis's sds is amortised).
        let mut s = StrBuf::from_slice(b"abc");
        let mut moves = 0;
        let mut last = s.as_ptr();
        for _ in 0..100_000 {
            s.extend_from_slice(b"0123456789");
            if s.as_ptr() != last {
                moves += 1;
                last = s.as_ptr();
            }
        }
        assert_eq!(s.len(), 1_000_003);
        assert!(moves < 1000, "{moves} reallocations");
    }
}
