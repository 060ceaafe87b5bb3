//! Small Redis-compatible helpers: glob matching and number parsing/formatting.

pub mod glob;
pub mod num;
