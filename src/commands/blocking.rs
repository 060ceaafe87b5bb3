//! Blocking pops: BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP, BZPOPMIN, BZPOPMAX, BZMPOP, with
//! Redis 7.0's replies, error texts and wake-up order, while clients and pushers live on
//! different loops. The registry of waiters is [`crate::blocked`]; this module holds the
//! commands and the serving.
//!
//! # How a client blocks
//! The handler parses its arguments as Redis does, then locks the shards of all its keys (and
//! BLMOVE's destination). If a key holds data it is served at once, exactly as the
//! non-blocking command (the pops themselves are `lists::pop_elements`, `lists::move_locked`
//! and `zsets::pop_from`, shared with LPOP, LMPOP, LMOVE and ZMPOP), and propagated as that
//! command (Redis's rewrite: `LPOP key`, `LMOVE ...`, `ZPOPMIN key count`, ...). Otherwise —
//! still under those locks — a [`Waiter`] is registered on every key. The handler writes no
//! reply; the connection keeps `Client::blocked` set and runs none of its further (pipelined)
//! input until the wait ends.
//!
//! # How a client is woken
//! `Slot::put` of a list or zset records the key as ready in the execution's scope whenever
//! the blocked count is non-zero (see [`crate::store::events`]). Because registration and the
//! emptiness check happen under the same shard lock as every store, a push either happened
//! before the check (the client was served at once) or sees the count. When the command that
//! stored the key (a whole EXEC included) is done, [`call`](super::call()) runs
//! [`serve_ready`]: for each ready key, under its shard lock, the waiters of the key's type are
//! served first-come first-served while elements last. Serving a waiter pops on its behalf
//! (typed values), formats the reply for its protocol once the lock is released, propagates
//! the pop as its own execution unit, and queues the reply for its loop ([`Msg::Unblocked`]),
//! which appends it and resumes the connection's input; the loop is woken when the execution
//! ends.
//!
//! # Ending a wait exactly once
//! Four parties may end a wait — a server, the timeout, CLIENT UNBLOCK, the disconnection —
//! and each first claims the waiter ([`Blocked::finish`](crate::blocked::Blocked::finish)).

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};

use super::flags::*;
use super::lists::{self, Moved};
use super::zsets;
use super::{errors, keys_after_numkeys, spec, CommandSpec, Ctx, Group};
use crate::blocked::{BlockedOn, Kind, WaitOp, Waiter};
use crate::resp::reply::Reply;
use crate::state::mailbox::Msg;
use crate::state::Shared;
use crate::store::types::list::Side;
use crate::store::{Locks, Scope, StrBuf};
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
    spec("wait",          3, NOSCRIPT,                                 Group::Generic,   0,  0, 0, wait),
];

/// `-UNBLOCKED` reply of CLIENT UNBLOCK ... ERROR.
pub const UNBLOCKED_ERROR: &str = "UNBLOCKED client unblocked via CLIENT UNBLOCK";

// ---------------------------------------------------------------------------------------------
// Serving
// ---------------------------------------------------------------------------------------------

/// What serving a wait did, as values (to reply with and to propagate).
enum Served {
    /// Elements popped from a list, in pop order.
    List(Vec<StrBuf>),
    /// A move (an element, or WRONGTYPE for the destination: nothing moved).
    Moved(Moved),
    /// Members popped from a sorted set, with their scores.
    ZSet(Vec<(StrBuf, f64)>),
}

/// Pops for `op` from `key` (which holds a non-empty value of `op`'s kind) under `locks`: the
/// same code as the non-blocking commands.
fn perform(locks: &mut Locks<'_>, db: usize, key: &[u8], op: &WaitOp, now: u64) -> Served {
    match op {
        WaitOp::Pop { side, count } => {
            let popped =
                lists::pop_elements(&mut locks.slot(db, key, now), *side, count.unwrap_or(1));
            Served::List(popped.unwrap_or_default())
        }
        WaitOp::Move { dst, from, to, .. } => {
            Served::Moved(lists::move_locked(locks, db, (key, dst), (*from, *to), now))
        }
        WaitOp::ZPop { max, count } => Served::ZSet(zsets::pop_from(
            &mut locks.slot(db, key, now),
            *max,
            count.unwrap_or(1),
        )),
        WaitOp::Replicas => Served::List(Vec::new()),
    }
}

/// The reply of `op` served from `key` with `served`.
fn reply(out: &mut Reply, key: &[u8], op: &WaitOp, served: &Served) {
    match (op, served) {
        (WaitOp::Pop { count, .. }, Served::List(popped)) => {
            lists::reply_popped_with_key(out, key, popped, count.is_some())
        }
        (WaitOp::ZPop { count, .. }, Served::ZSet(popped)) => {
            zsets::reply_popped_with_key(out, key, popped, count.is_some())
        }
        (_, Served::Moved(moved)) => moved.reply(out),
        _ => out.null_array(),
    }
}

/// How `op` served from `key` propagates: the non-blocking command it amounts to, as Redis
/// rewrites it (`None` when nothing changed).
fn rewrite(key: &[u8], op: &WaitOp, served: &Served) -> Option<Vec<Vec<u8>>> {
    let owned = |argv: Vec<&[u8]>| argv.into_iter().map(<[u8]>::to_vec).collect();
    match (op, served) {
        (WaitOp::Pop { side, count }, Served::List(popped)) if !popped.is_empty() => {
            let n = count.map(|_| popped.len().to_string());
            Some(owned(lists::pop_argv(
                *side,
                key,
                n.as_deref().map(str::as_bytes),
            )))
        }
        (WaitOp::ZPop { max, count }, Served::ZSet(popped)) if !popped.is_empty() => {
            let n = count.map(|_| popped.len().to_string());
            Some(owned(zsets::pop_argv(
                *max,
                key,
                n.as_deref().map(str::as_bytes),
            )))
        }
        (
            WaitOp::Move {
                dst,
                from,
                to,
                rpoplpush,
            },
            Served::Moved(Moved::Element(_)),
        ) => Some(if *rpoplpush {
            owned(vec![b"RPOPLPUSH", key, dst])
        } else {
            owned(vec![b"LMOVE", key, dst, from.name(), to.name()])
        }),
        _ => None,
    }
}

/// Serves the clients blocked on the keys execution `fx` made ready (Redis's
/// `handleClientsBlockedOnKeys`); called by [`call`](super::call()) once the outermost command
/// is done. Serving a BLMOVE can make its destination ready in turn, which is served in the
/// same call.
pub fn serve_ready(srv: &Shared, fx: &Scope, stats: &crate::state::LoopStats) {
    loop {
        let keys = fx.take_ready();
        if keys.is_empty() {
            return;
        }
        for (db, key) in keys {
            serve_key(srv, fx, db, &key, stats);
        }
    }
}

/// Serves the waiters of `(db, key)` in order while it holds elements of their type; each
/// served waiter is an execution unit of its own (its pop propagates alone).
fn serve_key(srv: &Shared, fx: &Scope, db: usize, key: &[u8], stats: &crate::state::LoopStats) {
    let now = crate::clock::now_ms();
    let store = srv.store.with(fx);
    // A BLMOVE waiter found first needs its destination locked too: lock both and look again.
    let mut with_dst: Option<Bytes> = None;
    loop {
        let mut targets = vec![(db, key)];
        if let Some(dst) = &with_dst {
            targets.push((db, &dst[..]));
        }
        let mut locks = store.lock(&targets);
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
        if !srv.blocked.finish(srv.store.events(), &w) {
            // Timed out, unblocked or served elsewhere meanwhile: look at the next one.
            continue;
        }
        let served = perform(&mut locks, db, key, &w.op, now);
        drop(locks);
        let mut out = reply_for(w.resp3);
        reply(&mut out, key, &w.op, &served);
        if fx.propagating() {
            if let Some(argv) = rewrite(key, &w.op, &served) {
                fx.propagate(crate::store::Op {
                    db,
                    argv: argv.into_iter().map(Bytes::from).collect(),
                });
            }
            stats.note_ticket(srv.propagation.flush_unit(fx, true));
        }
        deliver(srv, fx, &w, out.buf);
    }
}

fn reply_for(resp3: bool) -> Reply {
    Reply {
        buf: BytesMut::new(),
        resp3,
    }
}

/// What a client gets on timeout (and CLIENT UNBLOCK ... TIMEOUT): Redis's
/// `replyToBlockedClientTimedOut`, the null array for every list and zset command.
fn timeout_reply(w: &Waiter) -> BytesMut {
    let mut out = reply_for(w.resp3);
    match w.op {
        // WAIT: the replicas that acknowledged (there are none yet).
        WaitOp::Replicas => out.int(0),
        _ => out.null_array(),
    }
    out.buf
}

/// Queues the reply that ends `w`'s wait for its loop (woken when `fx` ends).
fn deliver(srv: &Shared, fx: &Scope, w: &Arc<Waiter>, reply: BytesMut) {
    let msg = Msg::Unblocked {
        token: w.token,
        waiter: w.clone(),
        reply,
    };
    srv.loops.send(w.home, msg, fx);
}

/// The wait of `blocked` timed out (called by its loop): its reply when the timeout won (the
/// connection then appends it and resumes).
pub fn timed_out(srv: &Shared, blocked: &BlockedOn) -> Option<BytesMut> {
    let w = &blocked.waiter;
    srv.blocked
        .finish(srv.store.events(), w)
        .then(|| timeout_reply(w))
}

/// CLIENT UNBLOCK: ends client `id`'s wait with the timeout reply or `-UNBLOCKED` (`error`),
/// queued for its loop in execution `fx`. Returns whether it was blocked (and now is not).
pub fn unblock_client(srv: &Shared, fx: &Scope, id: u64, error: bool) -> bool {
    let Some(w) = srv.blocked.waiter_of(id) else {
        return false;
    };
    if !srv.blocked.finish(srv.store.events(), &w) {
        return false;
    }
    let reply = if error {
        let mut out = reply_for(w.resp3);
        out.error(UNBLOCKED_ERROR);
        out.buf
    } else {
        timeout_reply(&w)
    };
    deliver(srv, fx, &w, reply);
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

/// Serves `op` from the first of `keys` that holds data, as the non-blocking command would
/// (and propagates as it); when none does, blocks the client on all of them for `timeout_ms`
/// (0 = forever), or — for the non-blocking forms (`timeout_ms` = `None`: LMPOP, ZMPOP) and
/// inside EXEC, where nothing may block — replies as on a timeout. A key of the wrong type met
/// before any data is WRONGTYPE.
pub(crate) fn pop_or_block(ctx: &mut Ctx<'_>, keys: &[Bytes], op: WaitOp, timeout_ms: Option<u64>) {
    let db = ctx.client.db;
    let now = ctx.now;
    let mut targets: Vec<(usize, &[u8])> = keys.iter().map(|k| (db, &k[..])).collect();
    if let Some(dst) = op.dst() {
        targets.push((db, dst));
    }
    let mut locks = ctx.store().lock(&targets);
    for key in keys {
        let kind = match locks.slot(db, key, now).get() {
            None => continue,
            Some(e) => Kind::of(&e.value),
        };
        if kind != Some(op.kind()) {
            drop(locks);
            return ctx.out.error(errors::WRONGTYPE);
        }
        let served = perform(&mut locks, db, key, &op, now);
        drop(locks);
        reply(ctx.out, key, &op, &served);
        if let Some(argv) = rewrite(key, &op, &served) {
            let argv: Vec<&[u8]> = argv.iter().map(Vec::as_slice).collect();
            ctx.propagate_as(&argv);
        }
        return;
    }
    let Some(timeout_ms) = timeout_ms.filter(|_| !ctx.in_exec) else {
        drop(locks);
        // Redis's CLIENT_DENY_BLOCKING: BLMOVE/BRPOPLPUSH answer nil as LMOVE would, the
        // others the null array of a timeout (LMPOP and ZMPOP's reply for missing keys).
        return match op {
            WaitOp::Move { .. } => ctx.out.null(),
            _ => ctx.out.null_array(),
        };
    };
    let mut distinct: Vec<Bytes> = Vec::with_capacity(keys.len());
    for k in keys {
        if !distinct.iter().any(|d| d == k) {
            distinct.push(Bytes::copy_from_slice(k));
        }
    }
    let op = match op {
        WaitOp::Move {
            dst,
            from,
            to,
            rpoplpush,
        } => WaitOp::Move {
            dst: Bytes::copy_from_slice(&dst),
            from,
            to,
            rpoplpush,
        },
        other => other,
    };
    block(ctx, distinct, op, timeout_ms);
    drop(locks);
}

/// Blocks the client on `keys` (none: WAIT) for `timeout_ms` (0 = forever): registers its
/// waiter (under the keys' shard locks, which the caller holds) and parks the connection.
fn block(ctx: &mut Ctx<'_>, keys: Vec<Bytes>, op: WaitOp, timeout_ms: u64) {
    let info = &ctx.client.info;
    let waiter = Arc::new(Waiter::new(
        ctx.client.id,
        info.home,
        info.token,
        ctx.client.db,
        keys,
        op,
        ctx.out.resp3,
        timeout_ms != 0,
    ));
    ctx.srv.blocked.register(ctx.srv.store.events(), &waiter);
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
        call: None,
    });
}

/// `BLPOP`/`BRPOP`/`BZPOPMIN`/`BZPOPMAX key [key ...] timeout`: the timeout is parsed first.
fn keys_then_timeout(ctx: &mut Ctx<'_>, argv: &[Bytes], op: WaitOp) {
    let last = argv.len() - 1;
    let Some(timeout) = parse_timeout(ctx, &argv[last]) else {
        return;
    };
    pop_or_block(ctx, &argv[1..last], op, Some(timeout));
}

/// # Format
/// `BLPOP key [key ...] timeout` — `[key, element]` from the head of the first non-empty list,
/// waiting up to `timeout` seconds (0 = forever) for one; the null array on timeout.
fn blpop(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    let op = WaitOp::Pop {
        side: Side::Left,
        count: None,
    };
    keys_then_timeout(ctx, argv, op);
}

/// # Format
/// `BRPOP key [key ...] timeout` — BLPOP from the tail.
fn brpop(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    let op = WaitOp::Pop {
        side: Side::Right,
        count: None,
    };
    keys_then_timeout(ctx, argv, op);
}

/// # Format
/// `BZPOPMIN key [key ...] timeout` — `[key, member, score]` of the lowest score of the first
/// non-empty sorted set, waiting for one; the null array on timeout.
fn bzpopmin(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    let op = WaitOp::ZPop {
        max: false,
        count: None,
    };
    keys_then_timeout(ctx, argv, op);
}

/// # Format
/// `BZPOPMAX key [key ...] timeout` — BZPOPMIN of the highest score.
fn bzpopmax(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    let op = WaitOp::ZPop {
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
    let op = WaitOp::Move {
        dst: argv[2].clone(),
        from,
        to,
        rpoplpush: false,
    };
    pop_or_block(ctx, &argv[1..2], op, Some(timeout));
}

/// # Format
/// `BRPOPLPUSH source destination timeout` — `BLMOVE source destination RIGHT LEFT timeout`.
fn brpoplpush(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    let Some(timeout) = parse_timeout(ctx, &argv[3]) else {
        return;
    };
    let op = WaitOp::Move {
        dst: argv[2].clone(),
        from: Side::Right,
        to: Side::Left,
        rpoplpush: true,
    };
    pop_or_block(ctx, &argv[1..2], op, Some(timeout));
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
    let op = WaitOp::Pop {
        side,
        count: Some(count),
    };
    pop_or_block(ctx, &argv[first..first + numkeys], op, Some(timeout));
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
    let op = WaitOp::ZPop {
        max,
        count: Some(count),
    };
    pop_or_block(ctx, &argv[first..first + numkeys], op, Some(timeout));
}

/// # Format
/// `WAIT numreplicas timeout` — the number of replicas that acknowledged this connection's
/// writes: at once when that is at least `numreplicas` (or inside MULTI), else after
/// `timeout` milliseconds (0: never), CLIENT UNBLOCK or more acknowledgements. ferrokv has no
/// replicas yet, so the count is always 0.
fn wait(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    let Some(wanted) = crate::util::num::parse_i64(&argv[1]) else {
        return ctx.out.error(errors::NOT_INTEGER);
    };
    let Some(timeout_ms) = crate::util::num::parse_i64(&argv[2]) else {
        return ctx.out.error(WAIT_TIMEOUT_NOT_INTEGER);
    };
    if timeout_ms < 0 {
        return ctx.out.error(errors::TIMEOUT_NEGATIVE);
    }
    let acked = 0;
    if acked >= wanted || ctx.in_exec {
        return ctx.out.int(acked);
    }
    block(ctx, Vec::new(), WaitOp::Replicas, timeout_ms as u64);
}

/// WAIT's timeout is whole milliseconds (Redis's `UNIT_MILLISECONDS`).
const WAIT_TIMEOUT_NOT_INTEGER: &str = "ERR timeout is not an integer or out of range";

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;
    use std::sync::atomic::Ordering;

    use super::*;
    use crate::commands::session::{run_as, Session};
    use crate::state::{Client, ClientInfo};

    fn client(id: u64) -> (Client, Reply) {
        let addr: SocketAddr = "127.0.0.1:1".parse().expect("address");
        let client = Client::new(Arc::new(ClientInfo::new(id, addr, addr, -1, 0, 0)));
        (client, reply_for(false))
    }

    /// Runs `args` as `c` through the command path; returns the reply.
    fn run(h: &Session, c: &mut (Client, Reply), args: &[&str]) -> String {
        let argv: Vec<Bytes> = args
            .iter()
            .map(|a| Bytes::copy_from_slice(a.as_bytes()))
            .collect();
        c.1.buf.clear();
        run_as(&h.srv, &h.stats, &mut c.0, &mut c.1, 1_000, &argv);
        String::from_utf8_lossy(&c.1.buf).into_owned()
    }

    fn waiter(c: &(Client, Reply)) -> Arc<Waiter> {
        c.0.blocked.as_ref().expect("blocked").waiter.clone()
    }

    #[test]
    fn waiters_are_served_in_order_each_exactly_once() {
        let h = Session::new();
        let fx = Scope::new(None, None);
        let (mut a, mut b, mut z, mut w) = (client(10), client(11), client(12), client(20));
        assert_eq!(run(&h, &mut a, &["BLPOP", "k", "0"]), "", "no reply yet");
        run(&h, &mut b, &["BLPOP", "other", "k", "0"]);
        run(&h, &mut z, &["BZPOPMIN", "k", "0"]);
        assert_eq!(h.srv.store.events().blocked.load(Ordering::SeqCst), 3);
        assert!(h.srv.blocked.is_blocked(10) && h.srv.blocked.is_blocked(11));
        // One element serves the first list waiter only, as soon as the push is done.
        run(&h, &mut w, &["RPUSH", "k", "v"]);
        assert!(waiter(&a).is_claimed() && !waiter(&b).is_claimed());
        assert!(!h.srv.blocked.is_blocked(10) && h.srv.blocked.is_blocked(11));
        assert_eq!(run(&h, &mut w, &["EXISTS", "k"]), ":0\r\n");
        // Whoever comes second cannot end a wait again.
        assert!(timed_out(&h.srv, a.0.blocked.as_ref().unwrap()).is_none());
        assert!(!unblock_client(&h.srv, &fx, 10, false));
        // The zset waiter ignored the list; CLIENT UNBLOCK ends it, then the timeout cannot.
        assert!(unblock_client(&h.srv, &fx, 12, true));
        assert!(timed_out(&h.srv, z.0.blocked.as_ref().unwrap()).is_none());
        // A disconnection leaves nothing in the registry.
        assert!(h.srv.disconnect(&mut b.0).is_some());
        assert_eq!(h.srv.store.events().blocked.load(Ordering::SeqCst), 0);
        assert!(h.srv.blocked.is_empty());
        run(&h, &mut w, &["RPUSH", "k", "stays"]);
        assert_eq!(run(&h, &mut w, &["LLEN", "k"]), ":1\r\n");
    }

    #[test]
    fn inside_exec_nothing_blocks() {
        let mut h = Session::new();
        for cmd in [
            &["MULTI"][..],
            &["BLPOP", "k", "0"],
            &["BLMOVE", "k", "d", "LEFT", "LEFT", "0"],
            &["BRPOPLPUSH", "k", "d", "0"],
            &["BZMPOP", "0", "1", "k", "MIN"],
        ] {
            let args: Vec<&[u8]> = cmd.iter().map(|a| a.as_bytes()).collect();
            h.run_at(1_000, false, &args);
        }
        assert_eq!(
            h.run_at(1_000, false, &[b"EXEC"]),
            "*4\r\n*-1\r\n$-1\r\n$-1\r\n*-1\r\n"
        );
        assert!(h.client.blocked.is_none() && h.srv.blocked.is_empty());
    }
}
