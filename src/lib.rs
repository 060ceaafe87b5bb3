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
//! # Invariants
//! - A connection lives on one loop for its whole life and only that loop touches it.
//! - Commands execute inline on the loop; single-key commands lock one shard; multi-key
//!   commands lock their shards in ascending order (see [`store`]). There is no global lock on
//!   the request path.
//! - Other threads reach a loop only through its inbox ([`server::worker::Msg`]): pub/sub
//!   messages, MONITOR lines, blocked-client wake-ups ([`commands::blocking`]) and CLIENT KILL/UNBLOCK all travel that
//!   way, so a connection's output is only ever written by its own loop.
//! - MULTI/EXEC is atomic by holding the shard locks of every key of the transaction while it
//!   runs (`store::TxnLocks`); WATCH and keyspace notifications hang off the store's change
//!   reports (`store::events`), made under the changed key's lock.
//! - No input from the network can panic the server: protocol errors close only the offending
//!   connection after Redis's error reply.

pub mod clock;
pub mod commands;
pub mod config;
pub mod logging;
pub mod pubsub;
pub mod resp;
pub mod server;
pub mod store;
pub mod util;
