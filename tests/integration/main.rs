//! The integration suite, one test binary: the real `ferrokv-server` binary (and a real
//! `redis-server` where one is installed) driven over TCP. One module per area, named after
//! the file it lives in, so `cargo test --test integration lists::` runs one area and
//! `cargo test --test integration lists::push_pop_and_length` one test.
//!
//! One binary links the `redis` crate and the library once instead of once per area. The
//! price is one shared process, so a test must not change what other tests see of it: no
//! environment variables set, no working-directory change, no signal handlers, temp files
//! named per test (`common::temp_file`). The one process-wide change is `load`'s raising of
//! the open-files soft limit, which only ever goes up and which no test depends on being low.
//!
//! `tests/notify_diff.rs` stays a binary of its own (it includes `common` by path): its
//! comparison of WATCH signals with Redis relies on keys with a 100 ms TTL not expiring in the
//! middle of a step, so it needs the CPU to itself. Inside this binary it ran next to the
//! heavy tests here (a thousand connections, million-element collections, 20 MB values) and
//! failed 4 of 11 full runs with `reads of expired keys` differences; alone it passes (cargo
//! runs test binaries one after another). Two busy loops on the 2 cores make it fail alone too.
//!
//! `common` is the harness (start and stop servers, connections, shared helpers), `conn_util`
//! the raw-protocol helpers.

mod common;
mod conn_util;

mod acl;
mod aof;
mod auth;
mod bitmaps;
mod blocking;
mod client_eviction;
mod cluster_cmds;
mod command_docs;
mod config_file;
mod config_listen;
mod connection;
mod debug;
mod differential;
mod encodings;
mod geo;
mod haproxy;
mod hashes;
mod hyperloglog;
mod introspection;
mod keys;
mod latency;
mod lists;
mod load;
mod lolwut;
mod memory;
mod migrate;
mod pause;
mod persistence;
mod protocol;
mod proxy;
mod pubsub;
mod scripting;
mod server;
mod sets;
mod shutdown;
mod slowlog;
mod smoke;
mod sort;
mod strings;
mod tls;
mod tools;
mod tracking;
mod transactions;
mod tunables;
mod zsets;
