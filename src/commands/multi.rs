//! Transactions: MULTI, EXEC, DISCARD, WATCH, UNWATCH.
//!
//! - Queueing happens in [`call`](super::call()) through [`queue`]: while a client is in
//!   MULTI, every resolved command other than EXEC/DISCARD/MULTI/WATCH/QUIT/RESET is queued
//!   (`+QUEUED`); a command rejected while queueing (unknown, wrong arity, not allowed in a
//!   transaction) marks the transaction failed and EXEC then answers `EXECABORT`.
//! - Atomicity: EXEC write-locks, in shard order, every shard the queued commands' keys (from
//!   the registry's key positions) and the watched keys live in — or every shard when a queued
//!   command is flagged [`super::flags::KEYSPACE_WIDE`] — then runs each queued command
//!   through [`call`](super::call()) inside [`crate::store::TxnLocks::run`], which makes the
//!   commands' own lock calls use the held locks. No other thread can observe a partial
//!   transaction, and the commands are one execution unit: their writes propagate wrapped in
//!   MULTI/EXEC, and blocked clients are served after the whole EXEC.
//! - WATCH registers the client on each key *under the key's shard lock*, and every change
//!   flags the watchers under the same lock ([`crate::store::events`]); EXEC checks the flag
//!   (and Redis 7's "watched key expired since WATCH" rule) while holding the locks. A change
//!   to another key of the same shard never flags anybody: registrations are per key.

use bytes::Bytes;

use super::flags::*;
use super::{errors, spec, CommandSpec, Ctx, Group};
use crate::state::client::{Queued, Watched};

#[rustfmt::skip]
pub static COMMANDS: &[CommandSpec] = &[
    spec("multi",   1,  NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY, Group::Transactions, 0, 0, 0, multi),
    spec("exec",    1,  NOSCRIPT | LOADING | STALE | SKIP_SLOWLOG, Group::Transactions, 0, 0, 0, exec),
    spec("discard", 1,  NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY, Group::Transactions, 0, 0, 0, discard),
    spec("watch",   -2, NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY, Group::Transactions, 1, -1, 1, watch),
    spec("unwatch", 1,  NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY, Group::Transactions, 0, 0, 0, unwatch),
];

/// Queues the command when the client is in MULTI. Returns `None` when the command must run
/// now, else whether it was queued (`false`: rejected, the error written).
pub fn queue(
    ctx: &mut Ctx<'_>,
    index: usize,
    spec: &'static CommandSpec,
    args: &[Bytes],
) -> Option<bool> {
    let txn = ctx.client.multi.as_mut()?;
    if matches!(
        spec.name,
        "exec" | "discard" | "multi" | "watch" | "quit" | "reset"
    ) {
        return None;
    }
    if spec.flags & NO_MULTI != 0 {
        txn.failed = true;
        ctx.out
            .error("ERR Command not allowed inside a transaction");
        return Some(false);
    }
    txn.queue.push(Queued {
        index,
        args: args.iter().map(|a| Bytes::copy_from_slice(a)).collect(),
    });
    ctx.client.show_queue();
    ctx.out.simple("QUEUED");
    Some(true)
}

/// Redis's `flagTransaction`: a command was rejected (unknown, wrong arity) while queueing.
/// A rejected EXEC itself aborts the transaction with the rejection as the reason.
pub fn rejected(ctx: &mut Ctx<'_>, spec: Option<&CommandSpec>, error: &[u8]) {
    let Some(txn) = ctx.client.multi.as_mut() else {
        ctx.out.error(error);
        return;
    };
    txn.failed = true;
    if spec.is_some_and(|s| s.name == "exec") {
        discard_transaction(ctx);
        ctx.out.error(errors::concat(&[
            b"EXECABORT Transaction discarded because of: ",
            error,
        ]));
    } else {
        ctx.out.error(error);
    }
}

fn multi(ctx: &mut Ctx<'_>, _args: &[Bytes]) {
    if ctx.client.multi.is_some() {
        ctx.out.error("ERR MULTI calls can not be nested");
        return;
    }
    ctx.client.multi = Some(Box::default());
    ctx.client.show_queue();
    ctx.out.ok();
}

fn discard(ctx: &mut Ctx<'_>, _args: &[Bytes]) {
    if ctx.client.multi.is_none() {
        ctx.out.error("ERR DISCARD without MULTI");
        return;
    }
    discard_transaction(ctx);
    ctx.out.ok();
}

/// Redis's `discardTransaction`: leaves MULTI and forgets every watched key.
pub fn discard_transaction(ctx: &mut Ctx<'_>) {
    ctx.client.multi = None;
    ctx.client.show_queue();
    unwatch_all(ctx);
}

fn watch(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    if ctx.client.multi.is_some() {
        ctx.out.error("ERR WATCH inside MULTI is not allowed");
        return;
    }
    let db = ctx.db();
    let watched = &mut ctx.client.watched;
    let flag = watched.flag.get_or_insert_with(Default::default).clone();
    // No point in watching more once a watched key changed: EXEC will fail anyway.
    if flag.is_dirty() {
        ctx.out.ok();
        return;
    }
    let events = ctx.srv.store.events();
    let now = ctx.now;
    for key in &args[1..] {
        if watched
            .keys
            .iter()
            .any(|(d, k)| *d == db.index() && k == key)
        {
            continue;
        }
        // Registered under the key's shard lock: a concurrent change either happened before
        // (and the client sees it) or flags us.
        db.inspect(key, |entry| {
            let expired = entry.is_some_and(|e| e.is_expired(now));
            events
                .watches
                .watch(db.index(), key, ctx.client.id, &flag, expired);
        });
        watched.keys.push((db.index(), Bytes::copy_from_slice(key)));
    }
    ctx.out.ok();
}

fn unwatch(ctx: &mut Ctx<'_>, _args: &[Bytes]) {
    unwatch_all(ctx);
    ctx.out.ok();
}

/// Forgets every key the client watches and clears its "changed" flag.
pub fn unwatch_all(ctx: &mut Ctx<'_>) {
    let id = ctx.client.id;
    ctx.client.watched.release(ctx.srv.store.events(), id);
}

fn exec(ctx: &mut Ctx<'_>, _args: &[Bytes]) {
    let Some(txn) = ctx.client.multi.take() else {
        ctx.out.error("ERR EXEC without MULTI");
        return;
    };
    ctx.client.show_queue();
    let mut watched = std::mem::take(&mut ctx.client.watched);
    if txn.failed {
        watched.release(ctx.srv.store.events(), ctx.client.id);
        ctx.out
            .error("EXECABORT Transaction discarded because of previous errors.");
        return;
    }
    let srv = ctx.srv;
    let db = ctx.client.db;
    let all = &super::registry().all;
    let everything = txn
        .queue
        .iter()
        .any(|q| all[q.index].flags & KEYSPACE_WIDE != 0);
    let mut keys: Vec<(usize, &[u8])> = Vec::new();
    if !everything {
        for q in &txn.queue {
            keys.extend(
                all[q.index]
                    .keys_of(&q.args)
                    .into_iter()
                    .map(|i| (db, &q.args[i][..])),
            );
        }
    }
    keys.extend(watched.keys.iter().map(|(d, k)| (*d, &k[..])));
    let mut locks = ctx.store().lock_txn(&keys, everything);
    let now = ctx.now;
    let changed = watched.flag.as_ref().is_some_and(|f| f.is_dirty())
        || locks.run(|| watched_key_expired(ctx, &watched, now));
    watched.release(srv.store.events(), ctx.client.id);
    if changed {
        ctx.out.null_array();
        return;
    }
    ctx.out.array(txn.queue.len());
    ctx.in_exec = true;
    locks.run(|| {
        for q in &txn.queue {
            super::call(ctx, &q.args);
        }
    });
    ctx.in_exec = false;
}

/// Redis 7's `isWatchedKeyExpired`: a key that was live at WATCH time and is logically expired
/// now counts as changed (even before anything deleted it).
fn watched_key_expired(ctx: &Ctx<'_>, watched: &Watched, now: u64) -> bool {
    let events = ctx.srv.store.events();
    watched.keys.iter().any(|(db, key)| {
        events.watches.was_live(*db, key, ctx.client.id)
            && ctx
                .store()
                .db(*db)
                .inspect(key, |e| e.is_some_and(|e| e.is_expired(now)))
    })
}

#[cfg(test)]
mod tests {
    use crate::commands::session::Session;

    fn run(s: &mut Session, now: u64, args: &[&str]) -> String {
        let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        s.run_at(now, false, &args)
    }

    #[test]
    fn queue_exec_discard_and_errors() {
        let mut s = Session::new();
        assert_eq!(run(&mut s, 0, &["EXEC"]), "-ERR EXEC without MULTI\r\n");
        assert_eq!(
            run(&mut s, 0, &["DISCARD"]),
            "-ERR DISCARD without MULTI\r\n"
        );
        assert_eq!(run(&mut s, 0, &["MULTI"]), "+OK\r\n");
        assert_eq!(
            run(&mut s, 0, &["MULTI"]),
            "-ERR MULTI calls can not be nested\r\n"
        );
        assert_eq!(
            run(&mut s, 0, &["WATCH", "k"]),
            "-ERR WATCH inside MULTI is not allowed\r\n"
        );
        assert_eq!(run(&mut s, 0, &["SET", "k", "1"]), "+QUEUED\r\n");
        assert_eq!(run(&mut s, 0, &["INCR", "k"]), "+QUEUED\r\n");
        assert_eq!(run(&mut s, 0, &["LPUSH", "k", "x"]), "+QUEUED\r\n");
        assert_eq!(
            run(&mut s, 0, &["EXEC"]),
            "*3\r\n+OK\r\n:2\r\n-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"
        );
        assert_eq!(run(&mut s, 0, &["MULTI"]), "+OK\r\n");
        assert_eq!(run(&mut s, 0, &["SET", "k", "9"]), "+QUEUED\r\n");
        assert_eq!(run(&mut s, 0, &["DISCARD"]), "+OK\r\n");
        assert_eq!(run(&mut s, 0, &["GET", "k"]), "$1\r\n2\r\n");
    }

    #[test]
    fn a_command_rejected_while_queueing_aborts_exec() {
        let mut s = Session::new();
        run(&mut s, 0, &["MULTI"]);
        assert!(run(&mut s, 0, &["NOSUCH"]).starts_with("-ERR unknown command"));
        assert_eq!(run(&mut s, 0, &["SET", "k", "1"]), "+QUEUED\r\n");
        assert_eq!(
            run(&mut s, 0, &["GET"]),
            "-ERR wrong number of arguments for 'get' command\r\n"
        );
        assert_eq!(
            run(&mut s, 0, &["EXEC"]),
            "-EXECABORT Transaction discarded because of previous errors.\r\n"
        );
        assert_eq!(run(&mut s, 0, &["GET", "k"]), "$-1\r\n");
        run(&mut s, 0, &["MULTI"]);
        assert_eq!(
            run(&mut s, 0, &["EXEC", "x"]),
            "-EXECABORT Transaction discarded because of: ERR wrong number of arguments for 'exec' command\r\n"
        );
        assert_eq!(run(&mut s, 0, &["EXEC"]), "-ERR EXEC without MULTI\r\n");
        run(&mut s, 0, &["MULTI"]);
        assert_eq!(
            run(&mut s, 0, &["SHUTDOWN"]),
            "-ERR Command not allowed inside a transaction\r\n"
        );
        assert_eq!(
            run(&mut s, 0, &["EXEC"]),
            "-EXECABORT Transaction discarded because of previous errors.\r\n"
        );
    }

    #[test]
    fn watch_aborts_only_when_a_watched_key_changes() {
        let mut s = Session::new();
        run(&mut s, 0, &["SET", "a", "1"]);
        run(&mut s, 0, &["WATCH", "a", "b"]);
        run(&mut s, 0, &["SET", "other", "x"]);
        run(&mut s, 0, &["MULTI"]);
        run(&mut s, 0, &["INCR", "a"]);
        assert_eq!(run(&mut s, 0, &["EXEC"]), "*1\r\n:2\r\n");
        // The client's own change to a watched key counts too, as in Redis.
        run(&mut s, 0, &["WATCH", "a"]);
        run(&mut s, 0, &["SET", "a", "5"]);
        run(&mut s, 0, &["MULTI"]);
        run(&mut s, 0, &["INCR", "a"]);
        assert_eq!(run(&mut s, 0, &["EXEC"]), "*-1\r\n");
        // EXEC forgot the watches: the next transaction runs.
        run(&mut s, 0, &["SET", "a", "7"]);
        run(&mut s, 0, &["MULTI"]);
        run(&mut s, 0, &["INCR", "a"]);
        assert_eq!(run(&mut s, 0, &["EXEC"]), "*1\r\n:8\r\n");
        // UNWATCH forgets too.
        run(&mut s, 0, &["WATCH", "a"]);
        run(&mut s, 0, &["DEL", "a"]);
        run(&mut s, 0, &["UNWATCH"]);
        run(&mut s, 0, &["MULTI"]);
        run(&mut s, 0, &["GET", "a"]);
        assert_eq!(run(&mut s, 0, &["EXEC"]), "*1\r\n$-1\r\n");
    }

    #[test]
    fn watched_key_expiring_aborts_but_an_already_expired_one_does_not() {
        let mut s = Session::new();
        run(&mut s, 0, &["SET", "a", "1", "PX", "100"]);
        run(&mut s, 0, &["WATCH", "a"]);
        run(&mut s, 0, &["MULTI"]);
        run(&mut s, 200, &["PING"]);
        assert_eq!(run(&mut s, 200, &["EXEC"]), "*-1\r\n");
        // Expired (not yet deleted) at WATCH time: its deletion is no change.
        run(&mut s, 0, &["SET", "b", "1", "PX", "100"]);
        run(&mut s, 300, &["WATCH", "b"]);
        run(&mut s, 300, &["GET", "b"]);
        run(&mut s, 300, &["MULTI"]);
        run(&mut s, 300, &["PING"]);
        assert_eq!(run(&mut s, 300, &["EXEC"]), "*1\r\n+PONG\r\n");
    }

    #[test]
    fn keyspace_wide_commands_run_inside_exec() {
        let mut s = Session::new();
        run(&mut s, 0, &["SET", "a", "1"]);
        run(&mut s, 0, &["MULTI"]);
        for cmd in [
            &["DBSIZE"][..],
            &["KEYS", "*"],
            &["SELECT", "1"],
            &["SET", "b", "2"],
            &["SWAPDB", "0", "1"],
            &["FLUSHDB"],
            &["SELECT", "0"],
            &["GET", "b"],
            &["RANDOMKEY"],
            &["FLUSHALL"],
        ] {
            assert_eq!(run(&mut s, 0, cmd), "+QUEUED\r\n");
        }
        assert_eq!(
            run(&mut s, 0, &["EXEC"]),
            "*10\r\n:1\r\n*1\r\n$1\r\na\r\n+OK\r\n+OK\r\n+OK\r\n+OK\r\n+OK\r\n$1\r\n2\r\n$1\r\nb\r\n+OK\r\n"
        );
        assert_eq!(run(&mut s, 0, &["DBSIZE"]), ":0\r\n");
    }
}
