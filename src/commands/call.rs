//! The one command path: [`call`], Redis's `processCommand` + `call()` + `afterCommand`.
//!
//! Every execution of a command goes through it: the command a client sent (the loop's
//! `Conn`), each command EXEC runs, a unit test's or benchmark's `Session` — and later a
//! script's `redis.call`. A new cross-cutting concern is one step here, never a line in every
//! handler.
//!
//! # One command, in order
//! 1. Resolve the name (and a container's subcommand) in the registry; the connection caches
//!    its last top-level command's index. Unknown: rejected.
//! 2. The checks, in Redis's order: arity; (issue 11: authentication, ACL — from the
//!    registry's categories and key positions —, maxmemory); (later: the cluster slot); the
//!    RESP2 Pub/Sub context. A rejected command gets its error and flags an open MULTI.
//!    Last, a client pause: a command it holds is postponed, not run nor counted; its
//!    connection keeps it and runs it again when the pause ends ([`crate::state::pause`]).
//! 3. Inside MULTI: queued (`+QUEUED`), nothing runs.
//! 4. The handler, with the client as the execution's [`Caller`] when it is subscribed: pushes
//!    for itself are put in front of its reply.
//! 5. MONITOR (unless the command is `admin` or `skip_monitor`).
//! 6. Propagation: when the command changed the dataset (the execution's change count moved),
//!    it is recorded — as executed, or as the handler rewrote it ([`Ctx::propagate_as`]) —
//!    after whatever the store and the handler recorded meanwhile (expired keys' deletions,
//!    [`Ctx::also_propagate`]). EXEC itself is never recorded: its commands are.
//! 7. Statistics (calls, time, failures, rejections, error codes).
//!
//! # Once the outermost command is done
//! The execution unit ends: its writes go to the propagation sink (several wrapped in
//! MULTI/EXEC), then the clients blocked on keys it gave data are served (each its own unit,
//! Redis's `handleClientsBlockedOnKeys`), then the loops it sent messages to are woken — the
//! execution holds no shard lock any more — and CLIENT REPLY OFF/SKIP drops the reply (but not
//! the pushes the command sent its own client). The change count is added to the loop's.
//!
//! # Panics
//! A bug in a handler must not take the loop (and every client on it) down: the outermost call
//! catches the panic, replaces what the command wrote with `-ERR internal error` and closes
//! the connection after it. Everything the execution had installed lives in its
//! [`Scope`](crate::store::Scope) and `Ctx`, which are reset: held shard locks are released by
//! unwinding (and are not poisoned: parking_lot), the caller and the pushes meant for it are
//! discarded with its reply, EXEC's state is cleared, so other clients carry on. What the command did to the dataset
//! before the panic stays done, so the unit still ends: the deletions it made propagate (the
//! command itself does not), the clients waiting for keys it filled are served, and the
//! wake-ups of messages it already queued are sent.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::Ordering;

use bytes::{BufMut, Bytes};

use super::flags::{ADMIN, FAST, SKIP_MONITOR, SKIP_SLOWLOG, TOUCHES_ARBITRARY_KEYS};
use super::{errors, multi, registry, CommandSpec, Ctx};
use crate::state::{ClientInfo, LoopStats, Shared};
use crate::store::{Caller, Op};

/// What became of one command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// The handler ran (registry index, flags).
    Ran { index: usize, flags: u32 },
    /// Queued by MULTI (`+QUEUED`): counted when EXEC runs it.
    Queued,
    /// Rejected before running: unknown (`None`), wrong arity, not allowed here.
    Rejected(Option<usize>),
    /// Held by a client pause: nothing ran or was counted; the connection keeps the command
    /// and its loop runs it again once the pause ends ([`crate::state::pause`]).
    Postponed,
}

/// Runs one command (`args[0]` is its name) for `ctx`'s client: see the module doc.
#[inline]
pub fn call(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    if ctx.depth > 0 {
        return nested(ctx, args);
    }
    outermost(ctx, args, |ctx| execute(ctx, args));
}

/// A command run by a command (EXEC's queue): part of the running execution unit.
#[inline(never)]
fn nested(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    ctx.depth += 1;
    let start = quanta::Instant::now();
    let (outcome, reply_at) = execute(ctx, args);
    record(
        ctx,
        outcome,
        start.elapsed().as_micros() as u64,
        reply_at,
        args,
    );
    ctx.depth -= 1;
}

/// The outermost command of an execution unit: `run` plus what follows a whole command, with
/// panics contained (module doc).
fn outermost(
    ctx: &mut Ctx<'_>,
    args: &[Bytes],
    run: impl FnOnce(&mut Ctx<'_>) -> (Outcome, usize),
) {
    debug_assert!(
        ctx.fx.is_settled() && !ctx.in_exec,
        "a command starts afresh"
    );
    ctx.depth = 1;
    let reply_start = ctx.out.len();
    let start = ctx.clock;
    let done = catch_unwind(AssertUnwindSafe(|| run(ctx)));
    if let Ok((Outcome::Postponed, _)) = done {
        ctx.depth = 0;
        return;
    }
    let (outcome, reply_at) = done.unwrap_or_else(|_| {
        tracing::error!(
            client = ctx.client.id,
            "command panicked; closing the client"
        );
        // What the command was doing for its own client ends with it.
        ctx.fx.set_caller(None);
        ctx.fx.take_pushes_since(0);
        ctx.in_exec = false;
        ctx.propagation = None;
        ctx.out.buf.truncate(reply_start);
        ctx.out.error("ERR internal error");
        ctx.client.close_after_reply = true;
        (Outcome::Rejected(None), reply_start)
    });
    if ctx.fx.has_pending() {
        end_of_unit(ctx, outcome);
    }
    let end = quanta::Instant::now();
    record(
        ctx,
        outcome,
        (end - start).as_micros() as u64,
        reply_at,
        args,
    );
    let changes = ctx.fx.take_dirty();
    if changes != 0 {
        LoopStats::add(&ctx.stats.dirty, changes);
    }
    // CLIENT REPLY OFF|SKIP: the reply is produced (and counted) as usual, then dropped — but
    // not the Pub/Sub pushes the command sent this client itself, which come first (Redis's
    // CLIENT_PUSHING bypasses the silencing).
    let client = &mut *ctx.client;
    if client.reply_off || client.reply_skip {
        ctx.out.buf.truncate(reply_start + ctx.own_push_bytes);
    }
    client.reply_skip = std::mem::take(&mut client.reply_skip_next);
    ctx.own_push_bytes = 0;
    ctx.clock = end;
    ctx.depth = 0;
}

/// Ends the outermost command's execution unit, when its scope recorded anything: its writes
/// are propagated, the clients blocked on keys it gave data are served, and — the execution
/// holding no shard lock any more — the loops it sent messages to are woken. Also after a
/// panic: what the command did to the dataset before it stopped stays done.
#[cold]
#[inline(never)]
fn end_of_unit(ctx: &mut Ctx<'_>, outcome: Outcome) {
    let (srv, fx) = (ctx.srv, ctx.fx);
    let flags = match outcome {
        Outcome::Ran { flags, .. } => flags,
        _ => 0,
    };
    let served = catch_unwind(AssertUnwindSafe(|| {
        let atomic = flags & TOUCHES_ARBITRARY_KEYS == 0;
        ctx.stats
            .note_ticket(srv.propagation.flush_unit(fx, atomic));
        if fx.has_ready() {
            super::blocking::serve_ready(srv, fx, ctx.stats);
        }
    }));
    if served.is_err() {
        tracing::error!(client = ctx.client.id, "serving blocked clients panicked");
    }
    // Invalidations (CLIENT TRACKING) go after the reply, the caller's own included.
    let mut own = Vec::new();
    crate::state::tracking::deliver_modified(srv, fx, ctx.client.id, &mut own);
    ctx.out.buf.extend_from_slice(&own);
    srv.loops.wake(fx);
    fx.settle();
}

/// Steps 1-3 then [`run`]; returns the outcome and where the command's reply begins in
/// `ctx.out` (after the pushes put in front of it).
#[inline(always)]
fn execute(ctx: &mut Ctx<'_>, args: &[Bytes]) -> (Outcome, usize) {
    let reply_start = ctx.out.len();
    let (index, spec) = match resolve(ctx, args) {
        Ok(found) => found,
        Err(e) => {
            // As Redis: an unknown command leaves `cmd=NULL` in CLIENT LIST.
            ctx.client.info.last_cmd.store(0, Ordering::Relaxed);
            multi::rejected(ctx, None, &e);
            return (Outcome::Rejected(None), reply_start);
        }
    };
    // Recorded before running, so CLIENT LIST shows `cmd=client|list` for its own caller.
    ctx.client.info.last_cmd.store(index + 1, Ordering::Relaxed);
    if !spec.arity_ok(args.len()) {
        multi::rejected(ctx, Some(spec), errors::wrong_arity(spec.name).as_bytes());
        return (Outcome::Rejected(Some(index)), reply_start);
    }
    // Protected commands (Redis checks them right after the arity, before authentication).
    if spec.flags & super::flags::PROTECTED != 0 && !protected_allowed(ctx, spec) {
        return (Outcome::Rejected(Some(index)), reply_start);
    }
    // Authentication first (Redis's processCommand order), then ACL, then maxmemory (the
    // cluster slot check will go between them), before the Pub/Sub context.
    if !ctx.client.authenticated
        && spec.flags & super::flags::NO_AUTH == 0
        && ctx.srv.users.default_requires_auth()
    {
        multi::rejected(ctx, Some(spec), errors::NOAUTH.as_bytes());
        return (Outcome::Rejected(Some(index)), reply_start);
    }
    // ACL: one relaxed load for a user that may run everything (`default` unless restricted).
    if !ctx.srv.users.of(&ctx.client.user).is_unrestricted()
        && !super::acl::permitted(ctx, index, spec, args)
    {
        return (Outcome::Rejected(Some(index)), reply_start);
    }
    // maxmemory (Redis's performEvictions): evict over the limit, refuse what may grow. Not
    // for EXEC's commands (checked with EXEC), nor while the dataset loads (as Redis).
    if !ctx.in_exec
        && ctx.client.id != super::aof::AOF_CLIENT_ID
        && !crate::evict::admits(ctx.srv, ctx.now, ctx.client.info.home, || {
            may_grow(ctx, spec)
        })
    {
        multi::rejected(ctx, Some(spec), crate::evict::OOM.as_bytes());
        return (Outcome::Rejected(Some(index)), reply_start);
    }
    let gate = ctx.srv.persistence.gate();
    if gate != 0 && !ctx.in_exec && !persistence_allows(ctx, spec, gate) {
        return (Outcome::Rejected(Some(index)), reply_start);
    }
    // min-replicas-to-write (Redis's checkGoodReplicasStatus): with no replica connected,
    // any positive setting (and a positive max lag) refuses writes.
    if ctx.srv.tunables.int(crate::tunables::MIN_REPLICAS_TO_WRITE) > 0
        && !ctx.in_exec
        && !enough_replicas(ctx, spec)
    {
        return (Outcome::Rejected(Some(index)), reply_start);
    }
    // A script running past busy-reply-threshold on another loop (Redis's BUSY state): only
    // the allow-busy commands run. One relaxed load when no script runs.
    if !ctx.in_script && spec.flags & super::flags::ALLOW_BUSY == 0 {
        let srv = ctx.srv;
        if let Some(busy) = srv
            .scripts
            .busy(|| srv.tunables.int(crate::tunables::BUSY_REPLY_THRESHOLD))
        {
            multi::rejected(ctx, Some(spec), busy.as_bytes());
            return (Outcome::Rejected(Some(index)), reply_start);
        }
    }
    let subscribed = ctx.client.pubsub.is_subscribed();
    if subscribed && !allowed_in_context(ctx, spec.name) {
        return (Outcome::Rejected(Some(index)), reply_start);
    }
    // Last of the checks, as Redis: a command that passed them all waits out a client pause
    // (queueing into MULTI included). The common case is this one relaxed load.
    let pause = ctx.srv.pause.kind();
    if pause != crate::state::pause::OFF && !ctx.in_exec && postpone(ctx, spec, pause) {
        return (Outcome::Postponed, reply_start);
    }
    if ctx.client.multi.is_some() {
        let queued = multi::queue(ctx, index, spec, args);
        let outcome = match queued {
            None => None,
            Some(true) => Some(Outcome::Queued),
            Some(false) => Some(Outcome::Rejected(Some(index))),
        };
        if let Some(outcome) = outcome {
            return (outcome, reply_start);
        }
    }
    run(ctx, index, spec, args, subscribed)
}

/// Redis's `processCommand` rule for `protected` commands: DEBUG runs only where
/// `enable-debug-command` allows the client (the AOF's loader always may). Returns false after
/// writing the error (flagging an open MULTI).
#[cold]
#[inline(never)]
fn protected_allowed(ctx: &mut Ctx<'_>, spec: &'static CommandSpec) -> bool {
    if ctx.client.id == super::aof::AOF_CLIENT_ID
        || ctx.allows_protected(crate::tunables::ENABLE_DEBUG_COMMAND)
    {
        return true;
    }
    multi::rejected(ctx, Some(spec), DEBUG_NOT_ALLOWED.as_bytes());
    false
}

/// The refusal of a protected command (Redis's text, for DEBUG, its only one here).
pub const DEBUG_NOT_ALLOWED: &str = "ERR DEBUG command not allowed. If the enable-debug-command option is set to \"local\", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server.";

/// Redis's `processCommand` rules while persistence refuses commands: after a failed
/// background save (with `stop-writes-on-bgsave-error`), or while the AOF cannot be
/// appended to, writes and PING get `-MISCONF`;
/// while the dataset loads, commands without the `loading` flag get `-LOADING`. Returns false
/// after writing the error (flagging an open MULTI).
#[cold]
#[inline(never)]
fn persistence_allows(ctx: &mut Ctx<'_>, spec: &'static CommandSpec, gate: u8) -> bool {
    use super::flags::{LOADING, WRITE};
    use super::persistence::{LOADING_ERR, MISCONF};
    if ctx.client.id == super::aof::AOF_CLIENT_ID {
        return true;
    }
    use crate::persist::gate;
    let denies_writes = spec.flags & WRITE != 0 || spec.name == "ping";
    // As Redis's writeCommandsDeniedByDiskError: the RDB's error first, then the AOF's.
    let error = if gate & gate::MISCONF != 0 && denies_writes {
        MISCONF.to_string()
    } else if gate & gate::AOF_ERROR != 0 && denies_writes && ctx.srv.aof.is_on() {
        ctx.srv.aof.misconf_error()
    } else if gate & gate::LOADING != 0 && spec.flags & LOADING == 0 {
        LOADING_ERR.to_string()
    } else {
        return true;
    };
    multi::rejected(ctx, Some(spec), error.as_bytes());
    false
}

/// Redis's `processCommand` rule for `min-replicas-to-write`: a write (or an EXEC that queued
/// one) is refused with -NOREPLICAS while fewer good replicas are connected than asked — none
/// are, so far — unless `min-replicas-max-lag` is 0. Returns false after writing the error.
#[cold]
#[inline(never)]
fn enough_replicas(ctx: &mut Ctx<'_>, spec: &'static CommandSpec) -> bool {
    use super::flags::WRITE;
    use crate::tunables::MIN_REPLICAS_MAX_LAG;
    const GOOD_REPLICAS: i64 = 0;
    if ctx.client.id == super::aof::AOF_CLIENT_ID
        || ctx.srv.tunables.int(MIN_REPLICAS_MAX_LAG) == 0
        || GOOD_REPLICAS >= ctx.srv.tunables.int(crate::tunables::MIN_REPLICAS_TO_WRITE)
    {
        return true;
    }
    let writes = spec.flags & WRITE != 0
        || (spec.name == "exec"
            && ctx.client.multi.as_ref().is_some_and(|t| {
                t.queue
                    .iter()
                    .any(|q| registry().all[q.index].flags & WRITE != 0)
            }));
    if !writes {
        return true;
    }
    multi::rejected(ctx, Some(spec), NOREPLICAS.as_bytes());
    false
}

/// Redis's `shared.noreplicaserr`.
pub const NOREPLICAS: &str = "NOREPLICAS Not enough good replicas to write.";

/// Redis's `processCommand` pause rule: under CLIENT PAUSE ALL every command waits; under
/// WRITE (and the shutdown's write pause) those that write or may replicate (PUBLISH, ...) and
/// an EXEC whose queue holds one. Returns true after parking the client: the connection keeps
/// the command and runs it again when its loop sees the pause end.
#[cold]
#[inline(never)]
fn postpone(ctx: &mut Ctx<'_>, spec: &'static CommandSpec, kind: u8) -> bool {
    use super::flags::{MAY_REPLICATE, WRITE};
    use crate::state::pause;
    if ctx.client.id == super::aof::AOF_CLIENT_ID {
        return false;
    }
    let kind = ctx.srv.pause.current(ctx.now).min(kind);
    let writes = spec.flags & (WRITE | MAY_REPLICATE) != 0
        || (spec.name == "exec"
            && ctx.client.multi.as_ref().is_some_and(|t| {
                t.queue
                    .iter()
                    .any(|q| registry().all[q.index].flags & (WRITE | MAY_REPLICATE) != 0)
            }));
    if !pause::holds(kind, writes) {
        return false;
    }
    ctx.client.postponed = true;
    ctx.client.info.postponed.store(true, Ordering::Relaxed);
    ctx.srv.pause.parked.fetch_add(1, Ordering::Relaxed);
    true
}

/// Redis's `reject_cmd_on_oom`: a `denyoom` command, anything queued inside MULTI (queueing
/// takes memory) but EXEC, DISCARD, QUIT and RESET, or EXEC of a transaction that queued a
/// `denyoom` command.
#[cold]
fn may_grow(ctx: &Ctx<'_>, spec: &'static CommandSpec) -> bool {
    use super::flags::DENYOOM;
    let in_multi =
        ctx.client.multi.is_some() && !matches!(spec.name, "exec" | "discard" | "quit" | "reset");
    spec.flags & DENYOOM != 0
        || in_multi
        || (spec.name == "exec"
            && ctx.client.multi.as_ref().is_some_and(|t| {
                t.queue
                    .iter()
                    .any(|q| registry().all[q.index].flags & DENYOOM != 0)
            }))
}

/// The registry entry `args` names, through the connection's one-entry cache.
#[inline(always)]
fn resolve(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<(usize, &'static CommandSpec), Vec<u8>> {
    let reg = registry();
    if let Some(i) = ctx.client.last_resolved {
        let spec = reg.all[i];
        if is_name(&args[0], spec.name) {
            return Ok((i, spec));
        }
    }
    let found = reg.resolve(args)?;
    // Only plain top-level commands are cached (a container's answer depends on `args[1]`;
    // their names are lowercase letters and `_`, which `is_name` relies on).
    if found.0 < reg.commands.len() && !found.1.is_container() {
        ctx.client.last_resolved = Some(found.0);
    }
    Ok(found)
}

/// Whether `arg` spells the top-level command `name` in any case. Registry names are lowercase
/// ASCII letters and `_` (BITFIELD_RO), so `byte | 0x20 == letter` holds exactly for the letter
/// and its uppercase, and `_` (which that test never matches) must be equal (an OR and two
/// compares per byte: this runs for every command).
#[inline]
fn is_name(arg: &[u8], name: &str) -> bool {
    debug_assert!(
        name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
        "{name}"
    );
    arg.len() == name.len()
        && arg
            .iter()
            .zip(name.as_bytes())
            .all(|(a, n)| a | 0x20 == *n || a == n)
}

/// Redis's `processCommand` rule for RESP2 clients in Pub/Sub mode: only (P|S)SUBSCRIBE,
/// (P|S)UNSUBSCRIBE, PING, QUIT and RESET run. Returns false after writing the error.
/// (Commands run by EXEC are not checked, as Redis checks only what `processCommand` sees.)
#[inline(always)]
fn allowed_in_context(ctx: &mut Ctx<'_>, name: &str) -> bool {
    ctx.out.resp3
        || !ctx.client.pubsub.is_subscribed()
        || ctx.in_exec
        || subscribed_may_run(ctx, name)
}

/// [`allowed_in_context`] for a RESP2 client in Pub/Sub mode.
#[cold]
#[inline(never)]
fn subscribed_may_run(ctx: &mut Ctx<'_>, name: &str) -> bool {
    const ALLOWED: &[&str] = &[
        "ping",
        "subscribe",
        "ssubscribe",
        "unsubscribe",
        "sunsubscribe",
        "psubscribe",
        "punsubscribe",
        "quit",
        "reset",
    ];
    if ALLOWED.contains(&name) {
        return true;
    }
    ctx.out.error(format!(
        "ERR Can't execute '{name}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context"
    ));
    false
}

/// Steps 4-6: runs the handler of `spec` (registry `index`).
#[inline(always)]
fn run(
    ctx: &mut Ctx<'_>,
    index: usize,
    spec: &'static CommandSpec,
    args: &[Bytes],
    subscribed: bool,
) -> (Outcome, usize) {
    if subscribed || ctx.fx.propagating() {
        return run_attended(ctx, index, spec, args, subscribed);
    }
    // Nobody to keep pushes for, nothing to propagate: the handler, then MONITOR.
    let reply_start = ctx.out.len();
    handle(ctx, spec, args);
    if ctx.fx.has_ticket() {
        // Propagation was switched on (at a snapshot barrier) while the command ran, and it
        // changed data after the switch: it belongs to the stream, as executed.
        record_switched_on(ctx, args);
    }
    let flags = spec.flags;
    (Outcome::Ran { index, flags }, reply_start)
}

#[cold]
#[inline(never)]
fn record_switched_on(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    let asked = ctx.take_propagation().unwrap_or_default();
    if !asked.prevented {
        ctx.fx.propagate(Op {
            db: ctx.client.db,
            argv: asked.rewrite.unwrap_or_else(|| args.to_vec()),
        });
    }
}

/// [`run`] for a subscribed client (its pushes go before its reply) or while writes are
/// recorded for propagation.
#[inline(never)]
fn run_attended(
    ctx: &mut Ctx<'_>,
    index: usize,
    spec: &'static CommandSpec,
    args: &[Bytes],
    subscribed: bool,
) -> (Outcome, usize) {
    let fx = ctx.fx;
    let reply_start = ctx.out.len();
    // A subscribed client is the execution's caller while its command runs: publications (its
    // own PUBLISH, keyspace events of its writes) keep its frames for it.
    let (previous, pushes_mark) = if subscribed {
        let me = Caller {
            id: ctx.client.id,
            resp3: ctx.out.resp3,
        };
        (Some(fx.set_caller(Some(me))), fx.pushes_len())
    } else {
        (None, 0)
    };
    let outer = fx
        .propagating()
        .then(|| (ctx.take_propagation(), fx.dirty()));
    handle(ctx, spec, args);
    let mut reply_at = reply_start;
    if let Some(previous) = previous {
        fx.set_caller(previous);
        let pushes = fx.take_pushes_since(pushes_mark);
        if !pushes.is_empty() {
            let reply = ctx.out.buf.split_off(reply_start);
            ctx.out.buf.put_slice(&pushes);
            ctx.out.buf.put_slice(&reply);
            ctx.own_push_bytes += pushes.len();
            reply_at += pushes.len();
        }
    }
    if let Some((outer, dirty)) = outer {
        let asked = ctx.take_propagation().unwrap_or_default();
        let changed = fx.dirty() != dirty || asked.forced;
        if changed && !asked.prevented && spec.name != "exec" {
            fx.propagate(Op {
                db: ctx.client.db,
                argv: asked.rewrite.unwrap_or_else(|| args.to_vec()),
            });
        }
        ctx.propagation = outer;
    }
    (
        Outcome::Ran {
            index,
            flags: spec.flags,
        },
        reply_at,
    )
}

/// The handler, then MONITOR (unless the command is `admin` or `skip_monitor`). A subscribed
/// client's own MONITOR line then follows the pushes [`run_attended`] puts before the reply:
/// Redis feeds monitors once the command has run.
#[inline(always)]
fn handle(ctx: &mut Ctx<'_>, spec: &'static CommandSpec, args: &[Bytes]) {
    if ctx.client.info.no_touch.load(Ordering::Relaxed) && spec.name != "touch" {
        // CLIENT NO-TOUCH: the keys' LRU/LFU data stay as they were (TOUCH still touches).
        crate::memory::access::untouched(|| (spec.handler)(ctx, args));
    } else {
        (spec.handler)(ctx, args);
    }
    if ctx.client.tracking {
        tracking_after(ctx, spec, args);
    }
    if ctx.srv.pubsub.has_monitors() && spec.flags & (SKIP_MONITOR | ADMIN) == 0 {
        feed_monitors(ctx, spec.name, args);
    }
}

/// CLIENT TRACKING (default mode): the client read the keys of `args`.
#[cold]
#[inline(never)]
fn tracking_after(ctx: &mut Ctx<'_>, spec: &'static CommandSpec, args: &[Bytes]) {
    if spec.flags & super::flags::READONLY != 0 {
        let t = ctx.srv.tracking.get(ctx.client.id).unwrap_or_default();
        // OPTIN: only after CLIENT CACHING YES; OPTOUT: unless CLIENT CACHING NO.
        let skip = t.bcast
            || (t.optin && ctx.client.caching != Some(true))
            || (t.optout && ctx.client.caching == Some(false));
        if !skip {
            let keys = spec.keys_of(args);
            ctx.srv.tracking.remember(
                ctx.client.id,
                keys.iter().filter_map(|&i| args.get(i).map(|a| &a[..])),
            );
            let mut own = Vec::new();
            crate::state::tracking::enforce_limit(ctx.srv, ctx.fx, ctx.client.id, &mut own);
            ctx.out.buf.extend_from_slice(&own);
        }
    }
    // CLIENT CACHING applies to the next command (or the next transaction) only.
    if !ctx.in_exec && !spec.name.starts_with("client") && spec.name != "multi" {
        ctx.client.caching = None;
    }
}

/// Feeds `args` to the MONITOR clients before the command runs (EVAL: so that the script's
/// commands follow it, as Redis's `evalCommand` does).
pub(super) fn feed_monitors_now(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    if ctx.srv.pubsub.has_monitors() {
        let name = String::from_utf8_lossy(&args[0]).to_ascii_lowercase();
        feed_monitors(ctx, &name, args);
    }
}

/// Feeds the command just run (`args` as the client sent them, its database as the command
/// left it) to every MONITOR client. Its own line, when it monitors too, goes right after its
/// reply, as Redis's `call()` feeds monitors once the command has run.
fn feed_monitors(ctx: &mut Ctx<'_>, name: &str, args: &[Bytes]) {
    let now = crate::clock::now_us();
    let line = if ctx.in_script {
        crate::pubsub::monitor::line(now, ctx.client.db, &"lua", name, args)
    } else {
        crate::pubsub::monitor::line(now, ctx.client.db, &ctx.client.info.addr(), name, args)
    };
    let me = Caller {
        id: ctx.client.id,
        resp3: ctx.out.resp3,
    };
    let mut out = ctx.srv.pubsub.feed(line, me);
    let mine = std::mem::take(&mut out.to_caller);
    ctx.out.buf.put_slice(&mine);
    ctx.srv.loops.deliver(out, ctx.fx);
}

/// Step 7: the statistics of one command (Redis's `call()` and `rejectCommand` counters);
/// `reply_at` is where its reply begins in `ctx.out`.
#[inline(always)]
fn record(ctx: &mut Ctx<'_>, outcome: Outcome, usec: u64, reply_at: usize, args: &[Bytes]) {
    let stats = ctx.stats;
    let reply = if std::mem::take(&mut ctx.raw_error_reply) {
        &[][..]
    } else {
        &ctx.out.buf[reply_at.min(ctx.out.buf.len())..]
    };
    match outcome {
        Outcome::Ran { index, flags } => {
            stats.record_call(index, usec, reply);
            observe(ctx, index, flags, usec, args);
        }
        Outcome::Queued | Outcome::Postponed => {}
        Outcome::Rejected(index) => {
            LoopStats::add(&stats.commands_processed, 1);
            if let Some(index) = index {
                LoopStats::add(&stats.commands[index].rejected, 1);
            }
            if reply.first() == Some(&b'-') {
                stats.count_error(&reply[1..]);
            }
        }
    }
}

/// Where the time of a command that ran goes (Redis's `call()`): the latency monitor's
/// `command` / `fast-command` event, the command's latency histogram (`latency-tracking`)
/// and the slow log. Each threshold is one relaxed load; the shared logs are locked only for
/// a command over its threshold. A command that left its client blocked is recorded in the
/// histogram and the slow log when its wait ends ([`unblocked`]).
#[inline(always)]
fn observe(ctx: &mut Ctx<'_>, index: usize, flags: u32, usec: u64, args: &[Bytes]) {
    use crate::tunables::{LATENCY_MONITOR_THRESHOLD, LATENCY_TRACKING, SLOWLOG_LOG_SLOWER_THAN};
    let srv = ctx.srv;
    let monitor = srv.tunables.int(LATENCY_MONITOR_THRESHOLD);
    // The AOF's replay is not a client's latency (Redis replays without `call()`).
    let replay = ctx.client.id == super::aof::AOF_CLIENT_ID;
    if monitor > 0 && usec / 1000 >= monitor as u64 && !replay {
        let event = if flags & FAST != 0 {
            "fast-command"
        } else {
            "command"
        };
        srv.latency.monitor.add_sample(event, usec / 1000);
    }
    if ctx.client.blocked.is_some() {
        return keep_for_unblock(ctx, index, usec, args);
    }
    if srv.tunables.int(LATENCY_TRACKING) != 0 {
        ctx.stats.record_latency(index, usec);
    }
    let slower = srv.tunables.int(SLOWLOG_LOG_SLOWER_THAN);
    if slower >= 0 && usec >= slower as u64 && flags & SKIP_SLOWLOG == 0 && !replay {
        log_slow(srv, &ctx.client.info, index, usec, args);
    }
}

/// The command just blocked its client: what [`observe`] records is kept for when the wait
/// ends.
#[cold]
#[inline(never)]
fn keep_for_unblock(ctx: &mut Ctx<'_>, index: usize, usec: u64, args: &[Bytes]) {
    if let Some(blocked) = ctx.client.blocked.as_mut() {
        blocked.call = Some(Box::new(crate::blocked::BlockedCall {
            index,
            usec,
            argv: args.to_vec(),
        }));
    }
}

/// A blocking command's wait was ended by a server or CLIENT UNBLOCK (not a timeout): its
/// latency histogram and the slow log get it now, as Redis's `updateStatsOnUnblock`.
pub fn unblocked(
    srv: &Shared,
    stats: &LoopStats,
    info: &ClientInfo,
    call: &crate::blocked::BlockedCall,
) {
    use crate::tunables::{LATENCY_TRACKING, SLOWLOG_LOG_SLOWER_THAN};
    if srv.tunables.int(LATENCY_TRACKING) != 0 {
        stats.record_latency(call.index, call.usec);
    }
    let slower = srv.tunables.int(SLOWLOG_LOG_SLOWER_THAN);
    let flags = registry().all[call.index].flags;
    if slower >= 0 && call.usec >= slower as u64 && flags & SKIP_SLOWLOG == 0 {
        log_slow(srv, info, call.index, call.usec, &call.argv);
    }
}

/// Adds a slow log entry for command `index` run with `args` by the client `info`: its
/// arguments trimmed, passwords redacted.
#[cold]
#[inline(never)]
fn log_slow(srv: &Shared, info: &ClientInfo, index: usize, usec: u64, args: &[Bytes]) {
    use crate::state::latency::trim_args;
    let hidden = crate::pubsub::monitor::redacted(registry().all[index].name, args);
    let mut argv = trim_args(args);
    for i in hidden {
        if let Some(a) = argv.get_mut(i) {
            *a = Bytes::from_static(b"(redacted)");
        }
    }
    let name = info.name.lock().clone().unwrap_or_default();
    let max_len = srv.tunables.int(crate::tunables::SLOWLOG_MAX_LEN);
    srv.latency.slowlog.push(
        crate::clock::now_ms() / 1000,
        usec,
        argv,
        info.addr().to_string(),
        name,
        usize::try_from(max_len).unwrap_or(usize::MAX),
    );
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;
    use std::sync::mpsc::{channel, Receiver};
    use std::sync::{Arc, Mutex, Weak};

    use super::*;
    use crate::commands::session::{run_as, Session};
    use crate::commands::{spec, Group};
    use crate::config::Config;
    use crate::resp::reply::Reply;
    use crate::state::mailbox::{LoopHandle, Msg, Wake};
    use crate::state::propagate::Propagator;
    use crate::state::{Client, ClientInfo, Shared};
    use crate::store::Scope;

    /// A connection of its own (id, loop) driven through the real command path.
    struct Peer {
        client: Client,
        out: Reply,
    }

    impl Peer {
        fn new(srv: &Shared, id: u64, home: usize) -> Peer {
            let addr: SocketAddr = "127.0.0.1:1".parse().expect("address");
            let info = Arc::new(ClientInfo::new(id, addr, addr, -1, home, id as usize));
            srv.clients.insert(info.clone());
            Peer {
                client: Client::new(info),
                out: Reply::new(false),
            }
        }

        /// Runs a test-only `spec` (standing in for the registry command of its name) as the
        /// outermost command of execution `fx`, exactly as `call` runs a resolved command.
        fn run_spec(
            &mut self,
            srv: &Shared,
            fx: &Scope,
            spec: &'static CommandSpec,
            args: &[&str],
        ) -> String {
            let index = registry().lookup(spec.name.as_bytes()).unwrap().0;
            let argv = crate::commands::session::argv(args);
            let subscribed = self.client.pubsub.is_subscribed();
            self.out.buf.clear();
            let now = quanta::Instant::now();
            let mut ctx = Ctx::new(
                srv,
                &srv.stats[0],
                &mut self.client,
                &mut self.out,
                fx,
                1_000,
                now,
            );
            outermost(&mut ctx, &argv, |ctx| {
                run(ctx, index, spec, &argv, subscribed)
            });
            String::from_utf8_lossy(&self.out.buf).into_owned()
        }

        fn run(&mut self, srv: &Shared, args: &[&str]) -> String {
            let argv: Vec<Bytes> = args
                .iter()
                .map(|a| Bytes::copy_from_slice(a.as_bytes()))
                .collect();
            self.out.buf.clear();
            run_as(
                srv,
                &srv.stats[0],
                &mut self.client,
                &mut self.out,
                1_000,
                &argv,
            );
            String::from_utf8_lossy(&self.out.buf).into_owned()
        }
    }

    fn server(threads: usize) -> Arc<Shared> {
        let cfg = Config {
            threads,
            ..Config::default()
        };
        Arc::new(Shared::new(cfg, registry().all.len()))
    }

    /// A propagation sink keeping every unit, each rendered as `db:ARG ARG; db:ARG ...`.
    #[derive(Clone, Default)]
    struct Capture(Arc<Mutex<Vec<String>>>);

    impl Propagator for Capture {
        fn feed(&self, _ticket: u64, unit: &[Op]) {
            if unit.is_empty() {
                return;
            }
            let ops: Vec<String> = unit
                .iter()
                .map(|op| {
                    let args: Vec<String> = op
                        .argv
                        .iter()
                        .map(|a| String::from_utf8_lossy(a).into_owned())
                        .collect();
                    format!("{}:{}", op.db, args.join(" "))
                })
                .collect();
            self.0.lock().unwrap().push(ops.join("; "));
        }
    }

    impl Capture {
        fn take(&self) -> Vec<String> {
            std::mem::take(&mut *self.0.lock().unwrap())
        }
    }

    #[test]
    fn command_names_match_in_any_case_and_nothing_else() {
        assert!(is_name(b"GET", "get") && is_name(b"gEt", "get") && is_name(b"get", "get"));
        assert!(!is_name(b"ge", "get") && !is_name(b"gets", "get") && !is_name(b"g\x05t", "get"));
        assert!(!is_name(b"GE\x14", "get"));
        assert!(
            is_name(b"BITFIELD_RO", "bitfield_ro") && !is_name(b"BITFIELD\x7fRO", "bitfield_ro")
        );
        for spec in &registry().commands {
            if !spec.is_container() {
                assert!(
                    spec.name
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b == b'_'),
                    "{}",
                    spec.name
                );
                assert!(is_name(spec.name.to_uppercase().as_bytes(), spec.name));
            }
        }
    }

    #[test]
    fn the_cache_never_answers_for_another_command() {
        let mut s = Session::new();
        assert_eq!(s.run_at(0, false, &[b"SET", b"k", b"v"]), "+OK\r\n");
        assert_eq!(s.run_at(0, false, &[b"set", b"k", b"w"]), "+OK\r\n");
        assert_eq!(s.run_at(0, false, &[b"GET", b"k"]), "$1\r\nw\r\n");
        assert!(s
            .run_at(0, false, &[b"SEX", b"k"])
            .starts_with("-ERR unknown command 'SEX'"));
    }

    /// A command whose handler does a little of everything, then hits a bug: inside held
    /// transaction locks it publishes to its own channel (a push for its caller), creates a
    /// list a client is blocked on (a ready key) and panics.
    static BUGGY: CommandSpec = spec("ping", -1, 0, Group::Connection, 0, 0, 0, buggy);

    fn buggy(ctx: &mut Ctx<'_>, _args: &[Bytes]) {
        let mut txn = ctx.store().lock_txn(&[(0, b"list")], false);
        txn.run(|| {
            ctx.publish(crate::pubsub::Space::Global, b"ch", b"before the bug");
            ctx.db().write(b"list", ctx.now, |slot| {
                let mut list = crate::store::types::List::new();
                list.push_back(b"x");
                slot.put(crate::store::Entry::new(
                    crate::store::Value::List(Box::new(list)),
                    0,
                ));
                slot.modified(crate::store::events::class::LIST, "rpush");
            });
            ctx.out.simple("partial reply");
            panic!("a bug in a handler");
        });
    }

    #[test]
    fn a_panicking_command_leaves_no_state_behind() {
        let srv = server(1);
        let mut me = Peer::new(&srv, 1, 0);
        let mut other = Peer::new(&srv, 2, 0);
        let mut waiter = Peer::new(&srv, 3, 0);
        for p in [&mut me, &mut other] {
            p.run(&srv, &["HELLO", "3"]);
            p.run(&srv, &["SUBSCRIBE", "ch"]);
        }
        assert_eq!(waiter.run(&srv, &["BLPOP", "list", "0"]), "");
        assert!(srv.blocked.is_blocked(3));
        let processed = srv.stat(|l| &l.commands_processed);
        let changes = srv.stat(|l| &l.dirty);

        // The buggy command, through the outermost call exactly as a client's command runs.
        let fx = srv.scope(Some(0));
        me.out.buf.clear();
        let mut ctx = Ctx::new(
            &srv,
            &srv.stats[0],
            &mut me.client,
            &mut me.out,
            &fx,
            1_000,
            quanta::Instant::now(),
        );
        let ping = registry().lookup(b"ping").unwrap().0;
        let argv = [Bytes::from_static(b"PING")];
        outermost(&mut ctx, &argv, |ctx| {
            run(ctx, ping, &BUGGY, &[Bytes::from_static(b"PING")], true)
        });
        drop(ctx);
        assert!(fx.is_settled() && !fx.has_pending());
        drop(fx);

        // Its client gets an error instead of a partial reply and its own push, and is closed.
        assert_eq!(
            String::from_utf8_lossy(&me.out.buf),
            "-ERR internal error\r\n"
        );
        assert!(me.client.close_after_reply);
        assert_eq!(srv.stat(|l| &l.commands_processed), processed + 1);
        // The transaction's locks were released by unwinding: another thread locks the shard.
        let locked =
            std::thread::scope(|s| s.spawn(|| srv.store.is_locked(0, b"list")).join().unwrap());
        assert!(!locked, "a held shard lock survived the panic");
        // The list it created served the waiting client before anything else ran.
        assert!(!srv.blocked.is_blocked(3));
        assert_eq!(other.run(&srv, &["EXISTS", "list"]), ":0\r\n");
        assert_eq!(
            srv.stat(|l| &l.dirty),
            changes + 2,
            "the list's creation and the served pop"
        );
        // Nothing meant for the panicked client reaches another subscriber's replies.
        assert_eq!(other.run(&srv, &["PING"]), "+PONG\r\n");
        assert_eq!(
            other.run(&srv, &["PUBLISH", "ch", "after"]),
            ">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$5\r\nafter\r\n:2\r\n"
        );
        // The registry still knows both subscribers; the panicked one is cleaned up by its
        // loop when the connection closes.
        assert_eq!(srv.pubsub.numsub(crate::pubsub::Space::Global, b"ch"), 2);
    }

    #[test]
    fn writes_propagate_as_execution_units() {
        let mut s = Session::new();
        let capture = Capture::default();
        assert!(s.srv.propagation.install(Box::new(capture.clone())));
        let mut run = |args: &[&str]| {
            let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
            s.run_at(1_000, false, &args)
        };
        run(&["SET", "k", "v"]);
        run(&["SET", "k", "w", "NX"]);
        run(&["GET", "k"]);
        run(&["DEL", "missing"]);
        run(&["SET", "t", "v", "PX", "100"]);
        assert_eq!(capture.take(), ["0:SET k v", "0:SET t v PXAT 1100"]);
        // A lookup deleting an expired key propagates the deletion, alone or before the
        // command that met it.
        let mut run_at = |now: u64, args: &[&str]| {
            let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
            s.run_at(now, false, &args)
        };
        run_at(2_000, &["GET", "t"]);
        run_at(0, &["SET", "t", "v", "PX", "100"]);
        run_at(2_000, &["SET", "t", "w", "NX"]);
        assert_eq!(
            capture.take(),
            [
                "0:DEL t",
                "0:SET t v PXAT 100",
                "0:MULTI; 0:DEL t; 0:SET t w NX; 0:EXEC"
            ]
        );
        // A transaction is one unit: several writes wrapped, in their databases; EXEC itself
        // is not propagated, and a single write needs no wrapping.
        for cmd in [
            &["MULTI"][..],
            &["SELECT", "1"],
            &["SET", "a", "1"],
            &["SELECT", "0"],
            &["INCR", "n"],
            &["GET", "a"],
            &["EXEC"],
        ] {
            run_at(1_000, cmd);
        }
        for cmd in [&["MULTI"][..], &["SET", "b", "1"], &["GET", "b"], &["EXEC"]] {
            run_at(1_000, cmd);
        }
        assert_eq!(
            capture.take(),
            ["1:MULTI; 1:SET a 1; 0:INCR n; 0:EXEC", "0:SET b 1"]
        );
        // FLUSHALL propagates even when there was nothing to flush; SWAPDB is a change.
        run_at(1_000, &["FLUSHALL"]);
        run_at(1_000, &["FLUSHALL"]);
        run_at(1_000, &["SWAPDB", "0", "1"]);
        assert_eq!(capture.take(), ["0:FLUSHALL", "0:FLUSHALL", "0:SWAPDB 0 1"]);
        // The pops shared with the blocking commands propagate as Redis rewrites them.
        run_at(1_000, &["RPUSH", "l", "a", "b", "c"]);
        run_at(1_000, &["LMPOP", "1", "l", "LEFT", "COUNT", "2"]);
        run_at(1_000, &["BLPOP", "l", "0"]);
        run_at(1_000, &["ZADD", "z", "1", "a", "2", "b", "3", "c"]);
        run_at(1_000, &["ZMPOP", "1", "z", "MAX", "COUNT", "9"]);
        run_at(1_000, &["RPUSH", "src", "x", "y"]);
        run_at(1_000, &["BLMOVE", "src", "dst", "LEFT", "RIGHT", "0"]);
        run_at(1_000, &["BRPOPLPUSH", "src", "dst", "0"]);
        assert_eq!(
            capture.take(),
            [
                "0:RPUSH l a b c",
                "0:LPOP l 2",
                "0:LPOP l",
                "0:ZADD z 1 a 2 b 3 c",
                "0:ZPOPMAX z 3",
                "0:RPUSH src x y",
                "0:LMOVE src dst LEFT RIGHT",
                "0:RPOPLPUSH src dst",
            ]
        );
    }

    /// A write that asks for its propagation to be something else: the dataset changes, the
    /// command itself is not propagated, two other writes are.
    static REWRITING: CommandSpec = spec("set", -3, 0, Group::String, 0, 0, 0, rewriting);

    fn rewriting(ctx: &mut Ctx<'_>, args: &[Bytes]) {
        let set = registry().lookup(b"set").unwrap().1;
        (set.handler)(ctx, args);
        ctx.prevent_propagation();
        ctx.also_propagate(0, &[b"DEL", b"a"]);
        ctx.also_propagate(0, &[b"DEL", b"b"]);
    }

    #[test]
    fn handlers_steer_their_propagation() {
        let srv = server(1);
        let capture = Capture::default();
        assert!(srv.propagation.install(Box::new(capture.clone())));
        let mut c = Peer::new(&srv, 1, 0);
        let fx = srv.scope(Some(0));
        assert_eq!(
            c.run_spec(&srv, &fx, &REWRITING, &["SET", "k", "v"]),
            "+OK\r\n"
        );
        assert_eq!(capture.take(), ["0:MULTI; 0:DEL a; 0:DEL b; 0:EXEC"]);
        assert_eq!(c.run(&srv, &["GET", "k"]), "$1\r\nv\r\n");
    }

    #[test]
    fn serving_a_blocked_client_propagates_its_pop_as_a_unit_of_its_own() {
        let srv = server(1);
        let capture = Capture::default();
        assert!(srv.propagation.install(Box::new(capture.clone())));
        let mut pusher = Peer::new(&srv, 1, 0);
        let mut a = Peer::new(&srv, 2, 0);
        let mut b = Peer::new(&srv, 3, 0);
        let mut z = Peer::new(&srv, 4, 0);
        assert_eq!(
            a.run(&srv, &["BLMPOP", "0", "1", "l", "RIGHT", "COUNT", "5"]),
            ""
        );
        assert_eq!(b.run(&srv, &["BRPOPLPUSH", "l", "dst", "0"]), "");
        assert_eq!(z.run(&srv, &["BZPOPMIN", "z", "0"]), "");
        pusher.run(&srv, &["RPUSH", "l", "a", "b", "c"]);
        pusher.run(&srv, &["RPUSH", "l", "d"]);
        pusher.run(&srv, &["ZADD", "z", "1", "m"]);
        assert_eq!(
            capture.take(),
            [
                "0:RPUSH l a b c",
                "0:RPOP l 3",
                "0:RPUSH l d",
                "0:RPOPLPUSH l dst",
                "0:ZADD z 1 m",
                "0:ZPOPMIN z",
            ]
        );
        assert!(srv.blocked.is_empty());
    }

    /// Wakes a loop and notes whether any of `keys` had its shard locked at that moment.
    struct LockProbe {
        srv: Mutex<Weak<Shared>>,
        keys: Vec<(usize, &'static [u8])>,
        woken_under_lock: Arc<Mutex<Vec<bool>>>,
    }

    impl Wake for LockProbe {
        fn wake(&self) {
            let Some(srv) = self.srv.lock().unwrap().upgrade() else {
                return;
            };
            let held = self.keys.iter().any(|(db, k)| srv.store.is_locked(*db, k));
            self.woken_under_lock.lock().unwrap().push(held);
        }
    }

    #[test]
    fn loops_are_woken_only_once_the_shard_locks_are_released() {
        let srv = server(2);
        let woken = Arc::new(Mutex::new(Vec::new()));
        let mut inboxes: Vec<Receiver<Msg>> = Vec::new();
        let mut handles = Vec::new();
        for _ in 0..2 {
            let (tx, rx) = channel();
            let probe = LockProbe {
                srv: Mutex::new(Arc::downgrade(&srv)),
                keys: vec![(0, b"k"), (0, b"list")],
                woken_under_lock: woken.clone(),
            };
            handles.push(LoopHandle::new(tx, Arc::new(probe)));
            inboxes.push(rx);
        }
        srv.loops.set(handles);
        srv.install_notifications();
        let mut writer = Peer::new(&srv, 1, 0);
        let mut subscriber = Peer::new(&srv, 2, 1);
        let mut blocked = Peer::new(&srv, 3, 1);
        let mut victim = Peer::new(&srv, 4, 1);
        writer.run(&srv, &["CONFIG", "SET", "notify-keyspace-events", "KA"]);
        subscriber.run(&srv, &["SUBSCRIBE", "__keyspace@0__:k", "ch"]);
        let wakes = |expected: usize| {
            let w = woken.lock().unwrap();
            assert_eq!(w.len(), expected, "wake-ups so far");
            assert!(
                w.iter().all(|under_lock| !under_lock),
                "woken under a shard lock"
            );
        };
        // A keyspace notification, queued under k's shard lock.
        writer.run(&srv, &["SET", "k", "v"]);
        wakes(1);
        // PUBLISH and CLIENT KILL inside EXEC, which holds k's shard throughout.
        for cmd in [
            &["MULTI"][..],
            &["SET", "k", "w"],
            &["PUBLISH", "ch", "m"],
            &["CLIENT", "KILL", "ID", "4"],
            &["EXEC"],
        ] {
            writer.run(&srv, cmd);
        }
        wakes(2);
        // A blocked client on the other loop, served by a push.
        assert_eq!(blocked.run(&srv, &["BLPOP", "list", "0"]), "");
        writer.run(&srv, &["RPUSH", "list", "a"]);
        wakes(3);
        // The writer's own loop is never woken: it drains its inbox before it sleeps.
        assert!(inboxes[0].try_recv().is_err());
        let kinds: Vec<&str> = inboxes[1]
            .try_iter()
            .map(|m| match m {
                Msg::Deliver(_) => "deliver",
                Msg::Kill { .. } => "kill",
                Msg::Unblocked { .. } => "unblocked",
                Msg::Shutdown => "shutdown",
                Msg::AclRecheck { .. } => "acl",
                Msg::Unpaused => "unpaused",
                Msg::StopAccepting => "stop accepting",
                Msg::ShutdownCancelled => "shutdown cancelled",
                Msg::Listen(_) => "listen",
                Msg::Push { .. } => "push",
            })
            .collect();
        assert_eq!(
            kinds,
            ["deliver", "deliver", "deliver", "kill", "unblocked"]
        );
        let _ = victim.run(&srv, &["PING"]);
    }
}
