//! Small Redis-compatible helpers: glob matching, HyperLogLog, number parsing/formatting, crash-safe file
//! replacement, argument splitting.

pub mod fs;
pub mod geohash;
pub mod glob;
pub mod hll;
pub mod num;
pub mod split;
