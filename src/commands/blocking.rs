//! Blocking pops: BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP, BZPOPMIN, BZPOPMAX, BZMPOP, with
//! Redis 7.0's replies, error texts and wake-up order, while clients and pushers live on
//! different loops.
//!
//! # How a client blocks
//! The handler parses its arguments as Redis does, then locks the shards of all its keys (and
//! BLMOVE's destination). If a key holds data it is served at once, exactly as the
//! non-blocking command (the pops themselves are `lists::pop_with_key`,
//! `lists::move_locked` and `zsets::zpop_with_key`, shared with LMPOP, LMOVE and ZMPOP).
//! Otherwise — still under those locks — a [`Waiter`] is appended to the FIFO queue of every
//! key in [`Blocked`] and the store's blocked count is raised. The handler writes no reply;
//! the connection keeps `Client::blocked` set and runs none of its further (pipelined) input
//! until the wait ends.
//!
//! # How a client is woken
//! `Slot::put` of a list or zset records the key in the thread's ready list whenever the
//! blocked count is non-zero (see [`crate::store::events`]). Because registration and the
//! emptiness check happen under the same shard lock as every store, a push either happened
//! before the check (the client was served at once) or sees the count. After each command
//! (a whole EXEC included) the loop calls [`serve_ready`]: for each ready key, under its shard
//! lock, the waiters of the key's type are served first-come first-served while elements last.
//! Serving a waiter pops on its behalf, encodes the reply for its protocol and sends it to its
//! loop ([`Msg::Unblocked`]), which appends it and resumes the connection's input.
//!
//! # Ending a wait exactly once
//! Four parties may end a wait: a server on any thread, the timeout (on the waiter's loop),
//! CLIENT UNBLOCK (any thread) and the client's disconnection (its loop). Each first claims
//! the waiter (`Waiter::claim`, one atomic swap); only the winner removes it from the queues
//! and delivers a reply, so no element is popped for a waiter that has already gone and no
//! client gets two replies.
//!
//! Lock order: shard locks (ascending, [`crate::store::Store::lock`]), then a queue of
//! [`Blocked`] (leaf: nothing is locked while one is held).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use dashmap::DashMap;

use super::flags::*;
use super::lists::{self, Side};
use super::zsets;
use super::{errors, keys_after_numkeys, spec, CommandSpec, Ctx, Group};
use crate::resp::reply::Reply;
use crate::server::client::ClientInfo;
use crate::server::shared::Shared;
use crate::server::worker::Msg;
use crate::store::events::ready;
use crate::store::{Locks, Value};
use crate::util::num::parse_timeout_ms;

#[rustfmt::skip]
pub static COMMANDS: &[CommandSpec] = &[
    //   name          arity flags                                     group             first last step handler
    spec("blpop",        -3, WRITE | NOSCRIPT | BLOCKING,              Group::List,      1, -2, 1, blpop),
    spec("brpop",        -3, WRITE | NOSCRIPT | BLOCKING,              Group::List,      1, -2, 1, brpop),
    spec("blmove",        6, WRITE | DENYOOM | NOSCRIPT | BLOCKING,    Group::List,      1,  2, 1, blmove),
    spec("brpoplpush",    4, WRITE | DENYOOM | NOSCRIPT | BLOCKING,    Group::List,      1,  2, 1, brpoplpush),
    // Keys at 3..3+numkeys (after the timeout and numkeys): COMMAND INFO shows 0 0 0.
    spec("blmpop",       -5, WRITE | BLOCKING,                         Group::List,      0,  0, 0, blmpop).with_keys(keys_after_numkeys::<2>),
    spec("bzpopmin",     -3, WRITE | NOSCRIPT | FAST | BLOCKING,       Group::SortedSet, 1, -2, 1, bzpopmin),
    spec("bzpopmax",     -3, WRITE | NOSCRIPT | FAST | BLOCKING,       Group::SortedSet, 1, -2, 1, bzpopmax),
    spec("bzmpop",       -5, WRITE | BLOCKING,                         Group::SortedSet, 0,  0, 0, bzmpop).with_keys(keys_after_numkeys::<2>),
];

/// `-UNBLOCKED` reply of CLIENT UNBLOCK ... ERROR.
pub const UNBLOCKED_ERROR: &str = "UNBLOCKED client unblocked via CLIENT UNBLOCK";

// ---------------------------------------------------------------------------------------------
// Waiters and the registry
// ---------------------------------------------------------------------------------------------

/// What a blocked client waits to do.
#[derive(Debug, Clone)]
enum Op {
    /// BLPOP/BRPOP (`count` = `None`: reply `[key, element]`) and BLMPOP (`[key, [elements]]`).
    Pop { side: Side, count: Option<usize> },
    /// BLMOVE/BRPOPLPUSH: move one element onto `dst`.
    Move { dst: Bytes, from: Side, to: Side },
    /// BZPOPMIN/BZPOPMAX (`count` = `None`: `[key, member, score]`) and BZMPOP.
    ZPop { max: bool, count: Option<u64> },
}

/// The type of value that can serve a waiter (Redis's `BLOCKED_LIST` / `BLOCKED_ZSET`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    List,
    ZSet,
}

impl Kind {
    fn of(value: &Value) -> Option<Kind> {
        match value {
            Value::List(_) => Some(Kind::List),
            Value::ZSet(_) => Some(Kind::ZSet),
            _ => None,
        }
    }
}

impl Op {
    fn kind(&self) -> Kind {
        match self {
            Op::Pop { .. } | Op::Move { .. } => Kind::List,
            Op::ZPop { .. } => Kind::ZSet,
        }
    }

    fn dst(&self) -> Option<&[u8]> {
        match self {
            Op::Move { dst, .. } => Some(dst),
            _ => None,
        }
    }
}

/// `ClientInfo::blocked` values (CLIENT LIST `flags=b`, INFO `blocked_clients`,
/// `clients_in_timeout_table`).
pub mod state {
    pub const NONE: u8 = 0;
    pub const BLOCKED: u8 = 1;
    /// Blocked with a timeout.
    pub const BLOCKED_TIMEOUT: u8 = 2;
}

/// One blocked client, shared by the queues of its keys, its connection and whoever serves it.
pub struct Waiter {
    /// The blocked connection: id, loop and token to deliver to.
    pub info: Arc<ClientInfo>,
    db: usize,
    /// Its keys without duplicates, in argument order (copied: request buffers are not kept).
    keys: Vec<Bytes>,
    op: Op,
    /// The connection's protocol, for encoding the reply.
    resp3: bool,
    /// Set by whoever ends the wait (see the module doc).
    claimed: AtomicBool,
}

impl Waiter {
    /// Takes the right to end this wait; true for exactly one caller.
    fn claim(&self) -> bool {
        !self.claimed.swap(true, Ordering::AcqRel)
    }

    /// What the client gets on timeout (and CLIENT UNBLOCK ... TIMEOUT): Redis's
    /// `replyToBlockedClientTimedOut`, the null array for every list and zset command.
    fn timeout_reply(&self) -> BytesMut {
        let mut out = reply_for(self.resp3);
        out.null_array();
        out.buf
    }
}

fn reply_for(resp3: bool) -> Reply {
    Reply {
        buf: BytesMut::new(),
        resp3,
    }
}

/// A connection's side of a wait (`Client::blocked`).
pub struct BlockedOn {
    pub waiter: Arc<Waiter>,
    /// When to time out (`None`: never).
    pub deadline: Option<Instant>,
    /// CLIENT REPLY OFF/SKIP was in force for the blocking command: its reply is dropped.
    pub discard_reply: bool,
    /// The loop has put `deadline` in its timer set.
    pub armed: bool,
}

/// One database's blocked keys: key -> its waiters in blocking order.
type Queues = DashMap<Bytes, VecDeque<Arc<Waiter>>, ahash::RandomState>;

/// The queues of blocked clients, per database.
pub struct Blocked {
    dbs: Box<[Queues]>,
    /// Blocked clients by id (CLIENT UNBLOCK).
    clients: DashMap<u64, Arc<Waiter>, ahash::RandomState>,
}

impl Blocked {
    pub fn new(databases: usize) -> Self {
        Blocked {
            dbs: (0..databases.max(1)).map(|_| DashMap::default()).collect(),
            clients: DashMap::default(),
        }
    }

    /// Appends `w` to the queue of each of its keys. Call under the shard locks of those keys.
    fn register(&self, srv: &Shared, w: &Arc<Waiter>, timeout: bool) {
        srv.store.events().blocked.fetch_add(1, Ordering::SeqCst);
        for key in &w.keys {
            self.dbs[w.db]
                .entry(key.clone())
                .or_default()
                .push_back(w.clone());
        }
        self.clients.insert(w.info.id, w.clone());
        let st = if timeout {
            state::BLOCKED_TIMEOUT
        } else {
            state::BLOCKED
        };
        w.info.blocked.store(st, Ordering::Relaxed);
    }

    /// Ends `w`'s wait if nobody else has: removes it from every queue. Returns whether this
    /// caller won (and must deliver the outcome).
    fn finish(&self, srv: &Shared, w: &Arc<Waiter>) -> bool {
        if !w.claim() {
            return false;
        }
        for key in &w.keys {
            let emptied = self.dbs[w.db].remove_if_mut(key, |_, queue| {
                queue.retain(|x| !Arc::ptr_eq(x, w));
                queue.is_empty()
            });
            drop(emptied);
        }
        self.clients.remove_if(&w.info.id, |_, x| Arc::ptr_eq(x, w));
        w.info.blocked.store(state::NONE, Ordering::Relaxed);
        srv.store.events().blocked.fetch_sub(1, Ordering::SeqCst);
        true
    }

    /// The first waiter on `(db, key)` that `kind` can serve and nobody has claimed yet.
    fn first_waiting(&self, db: usize, key: &[u8], kind: Kind) -> Option<Arc<Waiter>> {
        let queue = self.dbs[db].get(key)?;
        queue
            .iter()
            .find(|w| w.op.kind() == kind && !w.claimed.load(Ordering::Acquire))
            .cloned()
    }

    /// Records every key of `db` that has waiters as ready (after SWAPDB, as Redis's
    /// `scanDatabaseForReadyKeys`; serving checks each key's type).
    pub fn signal_db(&self, srv: &Shared, db: usize) {
        if srv.store.events().blocked.load(Ordering::Relaxed) == 0 {
            return;
        }
        for entry in self.dbs[db].iter() {
            ready::push(db, entry.key());
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Serving
// ---------------------------------------------------------------------------------------------

/// Pops for `op` from `key` (which holds a non-empty value of `op`'s kind) under `locks`,
/// writing the reply the client gets into `out`: the same code as the non-blocking commands.
fn serve_locked(locks: &mut Locks<'_>, db: usize, key: &[u8], op: &Op, now: u64, out: &mut Reply) {
    match op {
        Op::Pop { side, count } => {
            lists::pop_with_key(out, &mut locks.slot(db, key, now), key, *side, *count)
        }
        Op::Move { dst, from, to } => {
            lists::move_locked(locks, db, (key, dst), (*from, *to), now).reply(out)
        }
        Op::ZPop { max, count } => {
            zsets::zpop_with_key(out, &mut locks.slot(db, key, now), key, *max, *count)
        }
    }
}

/// Serves the clients blocked on the keys this thread made ready (Redis's
/// `handleClientsBlockedOnKeys`). Called by the loop after each command; serving a BLMOVE can
/// make its destination ready in turn, which is served in the same call.
pub fn serve_ready(srv: &Shared) {
    loop {
        let keys = ready::take();
        if keys.is_empty() {
            return;
        }
        for (db, key) in keys {
            serve_key(srv, db, &key);
        }
    }
}

/// Serves the waiters of `(db, key)` in order while it holds elements of their type.
fn serve_key(srv: &Shared, db: usize, key: &[u8]) {
    let now = crate::clock::now_ms();
    // A BLMOVE waiter found first needs its destination locked too: lock both and look again.
    let mut with_dst: Option<Bytes> = None;
    loop {
        let mut targets = vec![(db, key)];
        if let Some(dst) = &with_dst {
            targets.push((db, &dst[..]));
        }
        let mut locks = srv.store.lock(&targets);
        let kind = match locks.slot(db, key, now).get() {
            Some(e) => match Kind::of(&e.value) {
                Some(kind) => kind,
                None => return,
            },
            None => return,
        };
        let Some(w) = srv.blocked.first_waiting(db, key, kind) else {
            return;
        };
        if let Some(dst) = w.op.dst() {
            if dst != key && with_dst.as_deref() != Some(dst) {
                with_dst = Some(Bytes::copy_from_slice(dst));
                continue;
            }
        }
        if !srv.blocked.finish(srv, &w) {
            // Timed out, unblocked or served elsewhere meanwhile: look at the next one.
            continue;
        }
        let mut out = reply_for(w.resp3);
        serve_locked(&mut locks, db, key, &w.op, now, &mut out);
        drop(locks);
        deliver(srv, &w, out.buf);
    }
}

/// Sends the reply that ends `w`'s wait to its loop.
fn deliver(srv: &Shared, w: &Arc<Waiter>, reply: BytesMut) {
    if let Some(worker) = srv.workers.get().and_then(|ws| ws.get(w.info.worker)) {
        worker.send(Msg::Unblocked {
            token: w.info.token,
            waiter: w.clone(),
            reply,
        });
    }
}

/// The wait of `blocked` timed out (called by its loop): true when the timeout won, the
/// connection must then append `reply` and resume.
pub fn timed_out(srv: &Shared, blocked: &BlockedOn) -> Option<BytesMut> {
    let w = &blocked.waiter;
    srv.blocked.finish(srv, w).then(|| w.timeout_reply())
}

/// The connection of `blocked` is closing: its wait ends without a trace.
pub fn disconnected(srv: &Shared, blocked: &BlockedOn) {
    srv.blocked.finish(srv, &blocked.waiter);
}

/// CLIENT UNBLOCK: ends client `id`'s wait with the timeout reply or `-UNBLOCKED` (`error`).
/// Returns whether it was blocked (and now is not).
pub fn unblock_client(srv: &Shared, id: u64, error: bool) -> bool {
    let Some(w) = srv.blocked.clients.get(&id).map(|w| w.clone()) else {
        return false;
    };
    if !srv.blocked.finish(srv, &w) {
        return false;
    }
    let reply = if error {
        let mut out = reply_for(w.resp3);
        out.error(UNBLOCKED_ERROR);
        out.buf
    } else {
        w.timeout_reply()
    };
    deliver(srv, &w, reply);
    true
}

// ---------------------------------------------------------------------------------------------
// Commands
// ---------------------------------------------------------------------------------------------

/// Redis's `getTimeoutFromObjectOrReply` (seconds): `Some(milliseconds, 0 = forever)`, or
/// `None` after replying with the error.
fn parse_timeout(ctx: &mut Ctx<'_>, arg: &[u8]) -> Option<u64> {
    match parse_timeout_ms(arg) {
        None => {
            ctx.out.error(errors::TIMEOUT_NOT_FLOAT);
            None
        }
        Some(ms) if ms < 0 => {
            ctx.out.error(errors::TIMEOUT_NEGATIVE);
            None
        }
        Some(ms) => Some(ms as u64),
    }
}

/// Serves `op` from the first of `keys` that holds data, as the non-blocking command would;
/// when none does, blocks the client on all of them for `timeout_ms` (0 = forever), or inside
/// EXEC (where nothing may block) replies as on a timeout. A key of the wrong type met before
/// any data is WRONGTYPE.
fn pop_or_block(ctx: &mut Ctx<'_>, keys: &[Bytes], op: Op, timeout_ms: u64) {
    let db = ctx.client.db;
    let now = ctx.now;
    let mut targets: Vec<(usize, &[u8])> = keys.iter().map(|k| (db, &k[..])).collect();
    if let Some(dst) = op.dst() {
        targets.push((db, dst));
    }
    let mut locks = ctx.srv.store.lock(&targets);
    for key in keys {
        let kind = match locks.slot(db, key, now).get() {
            None => continue,
            Some(e) => Kind::of(&e.value),
        };
        if kind != Some(op.kind()) {
            return ctx.out.error(errors::WRONGTYPE);
        }
        return serve_locked(&mut locks, db, key, &op, now, ctx.out);
    }
    if ctx.client.in_exec {
        // Redis's CLIENT_DENY_BLOCKING: BLMOVE/BRPOPLPUSH answer nil as LMOVE would, the
        // others the null array of a timeout.
        return match op {
            Op::Move { .. } => ctx.out.null(),
            _ => ctx.out.null_array(),
        };
    }
    let mut distinct: Vec<Bytes> = Vec::with_capacity(keys.len());
    for k in keys {
        if !distinct.iter().any(|d| d == k) {
            distinct.push(Bytes::copy_from_slice(k));
        }
    }
    let op = match op {
        Op::Move { dst, from, to } => Op::Move {
            dst: Bytes::copy_from_slice(&dst),
            from,
            to,
        },
        other => other,
    };
    let waiter = Arc::new(Waiter {
        info: ctx.client.info.clone(),
        db,
        keys: distinct,
        op,
        resp3: ctx.out.resp3,
        claimed: AtomicBool::new(false),
    });
    ctx.srv.blocked.register(ctx.srv, &waiter, timeout_ms != 0);
    drop(locks);
    // A deadline past what `Instant` can hold is as good as none (Redis 7.0 then never times
    // out either: its deadline overflows).
    let deadline = (timeout_ms != 0)
        .then(|| Instant::now().checked_add(Duration::from_millis(timeout_ms)))
        .flatten();
    ctx.client.blocked = Some(BlockedOn {
        waiter,
        deadline,
        discard_reply: ctx.client.reply_off || ctx.client.reply_skip,
        armed: false,
    });
}

/// `BLPOP`/`BRPOP`/`BZPOPMIN`/`BZPOPMAX key [key ...] timeout`: the timeout is parsed first.
fn keys_then_timeout(ctx: &mut Ctx<'_>, argv: &[Bytes], op: Op) {
    let last = argv.len() - 1;
    let Some(timeout) = parse_timeout(ctx, &argv[last]) else {
        return;
    };
    pop_or_block(ctx, &argv[1..last], op, timeout);
}

/// # Format
/// `BLPOP key [key ...] timeout` — `[key, element]` from the head of the first non-empty list,
/// waiting up to `timeout` seconds (0 = forever) for one; the null array on timeout.
fn blpop(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    let op = Op::Pop {
        side: Side::Left,
        count: None,
    };
    keys_then_timeout(ctx, argv, op);
}

/// # Format
/// `BRPOP key [key ...] timeout` — BLPOP from the tail.
fn brpop(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    let op = Op::Pop {
        side: Side::Right,
        count: None,
    };
    keys_then_timeout(ctx, argv, op);
}

/// # Format
/// `BZPOPMIN key [key ...] timeout` — `[key, member, score]` of the lowest score of the first
/// non-empty sorted set, waiting for one; the null array on timeout.
fn bzpopmin(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    let op = Op::ZPop {
        max: false,
        count: None,
    };
    keys_then_timeout(ctx, argv, op);
}

/// # Format
/// `BZPOPMAX key [key ...] timeout` — BZPOPMIN of the highest score.
fn bzpopmax(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    let op = Op::ZPop {
        max: true,
        count: None,
    };
    keys_then_timeout(ctx, argv, op);
}

/// # Format
/// `BLMOVE source destination LEFT|RIGHT LEFT|RIGHT timeout` — LMOVE, waiting for the source
/// to exist. The destination's type is checked when the move happens: a waiter served while
/// it holds another type gets WRONGTYPE (and nothing moves), as in Redis.
fn blmove(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    let (Some(from), Some(to)) = (Side::parse(&argv[3]), Side::parse(&argv[4])) else {
        return ctx.out.error(errors::SYNTAX);
    };
    let Some(timeout) = parse_timeout(ctx, &argv[5]) else {
        return;
    };
    let op = Op::Move {
        dst: argv[2].clone(),
        from,
        to,
    };
    pop_or_block(ctx, &argv[1..2], op, timeout);
}

/// # Format
/// `BRPOPLPUSH source destination timeout` — `BLMOVE source destination RIGHT LEFT timeout`.
fn brpoplpush(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    let Some(timeout) = parse_timeout(ctx, &argv[3]) else {
        return;
    };
    let op = Op::Move {
        dst: argv[2].clone(),
        from: Side::Right,
        to: Side::Left,
    };
    pop_or_block(ctx, &argv[1..2], op, timeout);
}

/// # Format
/// `BLMPOP timeout numkeys key [key ...] LEFT|RIGHT [COUNT count]` — LMPOP, waiting for a
/// key. The timeout is parsed after the other arguments, as in Redis.
fn blmpop(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    let (first, numkeys, side, count) = match lists::parse_mpop(argv, 2) {
        Ok(parsed) => parsed,
        Err(e) => return ctx.out.error(e),
    };
    let Some(timeout) = parse_timeout(ctx, &argv[1]) else {
        return;
    };
    let op = Op::Pop {
        side,
        count: Some(count),
    };
    pop_or_block(ctx, &argv[first..first + numkeys], op, timeout);
}

/// # Format
/// `BZMPOP timeout numkeys key [key ...] MIN|MAX [COUNT count]` — ZMPOP, waiting for a key.
fn bzmpop(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    let (first, numkeys, max, count) = match zsets::parse_mpop(argv, 2) {
        Ok(parsed) => parsed,
        Err(e) => return ctx.out.error(e),
    };
    let Some(timeout) = parse_timeout(ctx, &argv[1]) else {
        return;
    };
    let op = Op::ZPop {
        max,
        count: Some(count),
    };
    pop_or_block(ctx, &argv[first..first + numkeys], op, timeout);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::session::Session;
    use crate::server::client::Client;

    /// Runs `args` as a client of its own (id `id`) on the session's server; returns the reply
    /// and the client (blocked or not).
    fn run_as(h: &Session, id: u64, args: &[&str]) -> (String, Client) {
        let addr = "127.0.0.1:1".parse().expect("address");
        let mut client = Client::new(Arc::new(ClientInfo::new(id, addr, addr, -1, 0, 0)));
        let mut out = reply_for(false);
        let argv: Vec<Bytes> = args
            .iter()
            .map(|a| Bytes::copy_from_slice(a.as_bytes()))
            .collect();
        let mut ctx = Ctx {
            srv: &h.srv,
            client: &mut client,
            out: &mut out,
            stats: &h.stats,
            now: 1_000,
        };
        crate::commands::dispatch(&mut ctx, &argv);
        (String::from_utf8_lossy(&out.buf).into_owned(), client)
    }

    fn waiter(c: &Client) -> Arc<Waiter> {
        c.blocked.as_ref().expect("blocked").waiter.clone()
    }

    #[test]
    fn waiters_are_served_in_order_each_exactly_once() {
        let h = Session::new();
        let (reply, a) = run_as(&h, 10, &["BLPOP", "k", "0"]);
        assert_eq!(reply, "", "a blocked client gets no reply yet");
        let (_, b) = run_as(&h, 11, &["BLPOP", "other", "k", "0"]);
        let (_, z) = run_as(&h, 12, &["BZPOPMIN", "k", "0"]);
        assert_eq!(h.srv.store.events().blocked.load(Ordering::SeqCst), 3);
        assert!(a.info.is_blocked() && b.info.is_blocked());
        // Storing the list records the key as ready on this thread; one element serves the
        // first list waiter only.
        run_as(&h, 20, &["RPUSH", "k", "v"]);
        assert!(!ready::is_empty());
        serve_ready(&h.srv);
        assert!(waiter(&a).claimed.load(Ordering::SeqCst));
        assert!(!waiter(&b).claimed.load(Ordering::SeqCst));
        assert!(!a.info.is_blocked() && b.info.is_blocked());
        assert_eq!(run_as(&h, 20, &["EXISTS", "k"]).0, ":0\r\n");
        // Whoever comes second cannot end a wait again.
        assert!(timed_out(&h.srv, a.blocked.as_ref().unwrap()).is_none());
        assert!(!unblock_client(&h.srv, 10, false));
        // The zset waiter ignored the list; CLIENT UNBLOCK ends it, then the timeout cannot.
        assert!(unblock_client(&h.srv, 12, true));
        assert!(timed_out(&h.srv, z.blocked.as_ref().unwrap()).is_none());
        // A disconnection leaves nothing in the queues.
        disconnected(&h.srv, b.blocked.as_ref().unwrap());
        assert_eq!(h.srv.store.events().blocked.load(Ordering::SeqCst), 0);
        assert!(h.srv.blocked.dbs[0].is_empty());
        assert!(h.srv.blocked.clients.is_empty());
        run_as(&h, 20, &["RPUSH", "k", "stays"]);
        assert!(ready::is_empty(), "nobody blocked: nothing recorded");
        assert_eq!(run_as(&h, 20, &["LLEN", "k"]).0, ":1\r\n");
    }

    #[test]
    fn inside_exec_nothing_blocks() {
        let h = Session::new();
        let addr = "127.0.0.1:1".parse().expect("address");
        let mut client = Client::new(Arc::new(ClientInfo::new(1, addr, addr, -1, 0, 0)));
        client.in_exec = true;
        for (args, want) in [
            (&["BLPOP", "k", "0"][..], "*-1\r\n"),
            (&["BLMOVE", "k", "d", "LEFT", "LEFT", "0"], "$-1\r\n"),
            (&["BRPOPLPUSH", "k", "d", "0"], "$-1\r\n"),
            (&["BZMPOP", "0", "1", "k", "MIN"], "*-1\r\n"),
        ] {
            let mut out = reply_for(false);
            let argv: Vec<Bytes> = args
                .iter()
                .map(|a| Bytes::copy_from_slice(a.as_bytes()))
                .collect();
            let mut ctx = Ctx {
                srv: &h.srv,
                client: &mut client,
                out: &mut out,
                stats: &h.stats,
                now: 1_000,
            };
            crate::commands::dispatch(&mut ctx, &argv);
            assert_eq!(String::from_utf8_lossy(&out.buf), want, "{args:?}");
            assert!(client.blocked.is_none());
        }
    }
}
