//! Persistence: the on-disk formats Redis 7.0 uses and the machinery that writes and reads them.
//!
//! - [`rdb`]: the RDB codec (version 10 writer, loader for what Redis 6.2 .. 7.2 write), also
//!   the value serialization DUMP/RESTORE use.
//!
//! This layer sits on the store (values) and config; it knows nothing about clients or commands.

pub mod rdb;
