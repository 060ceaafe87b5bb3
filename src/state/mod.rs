//! Server state, below the commands and above the store: what every loop shares ([`Shared`]),
//! what one connection is ([`client`]), how threads reach a loop ([`mailbox`]), where executed
//! writes go ([`propagate`]), client pauses ([`pause`]), the graceful shutdown's state
//! ([`shutdown`]), client eviction ([`client_eviction`]), MIGRATE's connection cache ([`migrate`]), the statistics ([`stats`]) and the
//! slow log and latency monitor ([`latency`]).
//!
//! Nothing here runs commands or knows the command table: the number of per-command
//! statistics slots is given to [`Shared::new`], and a client's last command is a registry
//! index.

pub mod client;
pub mod client_eviction;
pub mod latency;
pub mod listen;
pub mod mailbox;
pub mod migrate;
pub mod pause;
pub mod propagate;
pub mod shared;
pub mod shutdown;
pub mod stats;
pub mod tracking;

pub use client::{Client, ClientInfo};
pub use shared::{Settings, Shared};
pub use stats::LoopStats;
