//! Small Redis-compatible helpers: glob matching, HyperLogLog, number parsing/formatting, crash-safe file
//! replacement, argument splitting, SHA-1,
//! blocking socket I/O with a timeout (MIGRATE).

pub mod fs;
pub mod geohash;
pub mod glob;
pub mod hll;
pub mod num;
pub mod sha1;
pub mod split;
pub mod syncio;
