//! ferrokv: a Redis-compatible, multi-threaded in-memory key-value server.
//!
//! # Thread model
//! ```text
//!                    kernel (SO_REUSEPORT spreads accepts)
//!            ┌──────────────────┼──────────────────┐
//!     ┌──────▼──────┐    ┌──────▼──────┐    ┌──────▼──────┐
//!     │  loop 0     │    │  loop 1     │ .. │  loop N-1   │   one per core (--threads)
//!     │ Poll        │    │ Poll        │    │ Poll        │
//!     │ listener(s) │    │ listener(s) │    │ listener(s) │
//!     │ Slab<Conn>  │    │ Slab<Conn>  │    │ Slab<Conn>  │   token = slab key
//!     │ inbox+Waker │◄───┤ inbox+Waker │◄──►│ inbox+Waker │   cross-loop messages
//!     └──────┬──────┘    └──────┬──────┘    └──────┬──────┘
//!            └──────────────────┼──────────────────┘
//!                   commands run inline on the loop
//!                ┌──────────────▼───────────────┐
//!                │ Store: dbs × DashMap shards   │◄── expiry thread (sweeps shards)
//!                └──────────────────────────────┘
//! ```
//!
//! # Layers
//! Each top-level module imports only from the layers below it (`../shared/tools/layers.py src`
//! checks that there is no cycle):
//! ```text
//!   main.rs                      flags, config, signals -> net::start
//!   net/       the I/O loops: listeners, EventLoop (Poll, Slab, inbox), Conn, expiry thread
//!   commands/  the registry, call() (the one command path), one file per command family
//!   state/     Shared (settings, stats, client table), Client/ClientInfo, mailboxes, propagation
//!   pubsub/    subscription registry, encoded deliveries      blocked/   waiters on keys
//!   tls        tls-* settings, the rustls context (reloadable)
//!   config     Config, redis.conf parsing                      resp/      parser, encoders
//!   store/     Store, shards, values, expiry, WATCH, notifications, the execution Scope
//!   util/, clock, logging
//! ```
//! The loop knows connections and messages, not commands: it hands each parsed command to
//! [`commands::call()`]. A client's last command is a registry index; CLIENT LIST's line is
//! written by the CLIENT family; the registry of blocked clients ([`blocked`]) and the Pub/Sub
//! registry ([`pubsub`]) neither format replies nor send messages.
//!
//! # One request, from socket to reply
//! 1. `net::event_loop` polls; a readable connection (`net::conn::Conn`) reads into its buffer
//!    and the incremental parser ([`resp::parse`]) yields every complete command.
//! 2. Each command gets a fresh execution [`store::Scope`] and a [`commands::Ctx`], and runs
//!    through [`commands::call()`]: resolve in the registry, the checks (arity, then the place
//!    of authentication/ACL, maxmemory, the cluster slot, the RESP2 Pub/Sub context), MULTI
//!    queueing, the handler, MONITOR, statistics, propagation.
//! 3. The handler reaches the keyspace through the scope's views ([`store::StoreRef`],
//!    [`store::DbRef`]): one shard lock for a single key, every shard in ascending order for a
//!    multi-key command. Under the lock each change is reported ([`store::Slot::modified`]):
//!    WATCH flags, keyspace notifications (queued for the subscribers' loops), the change
//!    count, keys made ready for blocked clients; writes return values and the reply is
//!    formatted once the lock is released (pure reads write straight from the stored bytes).
//! 4. When the outermost command is done, `call` ends the execution unit: its writes go to
//!    the propagation sink, the clients blocked on keys it filled are served, and the loops it
//!    sent messages to are woken (never under a shard lock). CLIENT REPLY OFF/SKIP drops the
//!    reply.
//! 5. The loop writes every connection's pending output once per iteration, then drains its
//!    inbox (Pub/Sub deliveries, unblocked clients, CLIENT KILL) before it sleeps.
//!
//! # Where the cross-cutting hooks live
//! - Propagation (AOF, replicas): [`state::propagate`]; commands are recorded by
//!   `commands::call`, expired-key deletions by the store, served blocked clients by
//!   `commands::blocking`; handlers rewrite with `Ctx::propagate_as` / `Ctx::also_propagate`.
//! - ACL, authentication, maxmemory and the cluster slot check: one step each in
//!   `commands::call`'s checks, from the registry's flags, categories and key positions; EXEC
//!   re-runs them for each queued command through the same `call`.
//! - Scripts: `redis.call` will run commands through `commands::call` with the script's
//!   client context (nested in the EVAL's execution unit, like EXEC's commands).
//! - Eviction and expiry: run in an execution scope of their own and report through the same
//!   interfaces (notifications, propagation).
//!
//! # Invariants
//! - A connection lives on one loop for its whole life and only that loop touches it.
//! - Commands execute inline on the loop; single-key commands lock one shard; multi-key
//!   commands lock their shards in ascending order (see [`store`]). There is no global lock on
//!   the request path.
//! - Other threads reach a loop only through its inbox ([`state::mailbox`]): pub/sub messages,
//!   MONITOR lines, blocked-client wake-ups ([`commands::blocking`]) and CLIENT KILL/UNBLOCK
//!   all travel that way, so a connection's output is only ever written by its own loop. No
//!   syscall and no cross-thread wake-up happens while a shard lock is held.
//! - MULTI/EXEC is atomic by holding the shard locks of every key of the transaction while it
//!   runs (`store::TxnLocks`); WATCH and keyspace notifications hang off the store's change
//!   reports (`store::events`), made under the changed key's lock.
//! - Nothing about an execution lives in a thread-local: it is in its `Scope` and `Ctx`,
//!   dropped with it, also when a command panics (the panic is contained to its connection).
//! - No input from the network can panic the server: protocol errors close only the offending
//!   connection after Redis's error reply.

pub mod acl;
pub mod blocked;
pub mod clock;
pub mod commands;
pub mod config;
pub mod evict;
pub mod logging;
pub mod lua;
pub mod memory;
pub mod net;
pub mod persist;
pub mod pubsub;
pub mod resp;
pub mod state;
pub mod store;
pub mod tls;
pub mod tunables;
pub mod util;

/// jemalloc: its statistics are `used_memory` (INFO, maxmemory), MEMORY PURGE and
/// MALLOC-STATS use it, and it holds fragmentation down under churn of small values. Not
/// under cargo-fuzz (`--cfg fuzzing`), whose sanitizers need the system allocator.
#[cfg(not(fuzzing))]
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;
