//! The encoding thresholds (`hash-max-listpack-entries`, `set-max-intset-entries`, ...): live,
//! process-wide values read where a value decides its representation, as Redis's `server.*`
//! fields are. CONFIG and the config file write them ([`LIMITS`] is their one table: names,
//! Redis's old `ziplist` aliases, bounds and defaults); the types only read.
//!
//! # Invariants
//! - Reads are relaxed loads: a conversion decided just before a CONFIG SET uses the old value,
//!   as in Redis (a value converts on its next write).
//! - The compact forms store a member's length in one byte and a hash's pair count in two, so
//!   the effective limits are capped at [`PACK_MAX_VALUE`] bytes and [`PACK_MAX_PAIRS`] pairs:
//!   above those, a value converts to the big form earlier than Redis would (OBJECT ENCODING
//!   then differs; replies never do). Redis's defaults (64 bytes, 512/128 entries) are far
//!   below the caps.

use std::sync::atomic::{AtomicI64, Ordering};

/// The longest field, value or member a compact form can hold (its one-byte length).
pub const PACK_MAX_VALUE: i64 = 255;
/// The most pairs a compact hash can hold (its two-byte count).
pub const PACK_MAX_PAIRS: i64 = 65_535;

pub static HASH_MAX_LISTPACK_ENTRIES: AtomicI64 = AtomicI64::new(512);
pub static HASH_MAX_LISTPACK_VALUE: AtomicI64 = AtomicI64::new(64);
pub static SET_MAX_INTSET_ENTRIES: AtomicI64 = AtomicI64::new(512);
pub static ZSET_MAX_LISTPACK_ENTRIES: AtomicI64 = AtomicI64::new(128);
pub static ZSET_MAX_LISTPACK_VALUE: AtomicI64 = AtomicI64::new(64);
/// Quicklist node size (entries when positive, a size class when negative); lists are
/// always `quicklist` in Redis 7.0, so it changes no reply.
pub static LIST_MAX_LISTPACK_SIZE: AtomicI64 = AtomicI64::new(-2);
/// Uncompressed quicklist nodes at each end (0 = none compressed): stored only.
pub static LIST_COMPRESS_DEPTH: AtomicI64 = AtomicI64::new(0);

/// One threshold parameter.
#[derive(Debug)]
pub struct Limit {
    pub name: &'static str,
    pub alias: Option<&'static str>,
    pub min: i64,
    pub max: i64,
    pub default: i64,
    pub cell: &'static AtomicI64,
}

const LONG_MAX: i64 = i64::MAX;
const INT_MAX: i64 = i32::MAX as i64;
const INT_MIN: i64 = i32::MIN as i64;

/// Every threshold, with Redis 7.0's bounds and defaults (config.c).
#[rustfmt::skip]
pub static LIMITS: [Limit; 7] = [
    Limit { name: "hash-max-listpack-entries", alias: Some("hash-max-ziplist-entries"), min: 0, max: LONG_MAX, default: 512, cell: &HASH_MAX_LISTPACK_ENTRIES },
    Limit { name: "hash-max-listpack-value", alias: Some("hash-max-ziplist-value"), min: 0, max: LONG_MAX, default: 64, cell: &HASH_MAX_LISTPACK_VALUE },
    Limit { name: "set-max-intset-entries", alias: None, min: 0, max: LONG_MAX, default: 512, cell: &SET_MAX_INTSET_ENTRIES },
    Limit { name: "zset-max-listpack-entries", alias: Some("zset-max-ziplist-entries"), min: 0, max: LONG_MAX, default: 128, cell: &ZSET_MAX_LISTPACK_ENTRIES },
    Limit { name: "zset-max-listpack-value", alias: Some("zset-max-ziplist-value"), min: 0, max: LONG_MAX, default: 64, cell: &ZSET_MAX_LISTPACK_VALUE },
    Limit { name: "list-max-listpack-size", alias: Some("list-max-ziplist-size"), min: INT_MIN, max: INT_MAX, default: -2, cell: &LIST_MAX_LISTPACK_SIZE },
    Limit { name: "list-compress-depth", alias: None, min: 0, max: INT_MAX, default: 0, cell: &LIST_COMPRESS_DEPTH },
];

/// The threshold called `name` or its alias (case-insensitive).
pub fn find(name: &str) -> Option<&'static Limit> {
    LIMITS.iter().find(|l| {
        l.name.eq_ignore_ascii_case(name) || l.alias.is_some_and(|a| a.eq_ignore_ascii_case(name))
    })
}

impl Limit {
    pub fn get(&self) -> i64 {
        self.cell.load(Ordering::Relaxed)
    }

    /// Validates `value` with Redis's error texts.
    pub fn parse(&self, value: &str) -> Result<i64, String> {
        let n = crate::util::num::parse_i64(value.as_bytes())
            .ok_or_else(|| "argument couldn't be parsed into an integer".to_string())?;
        if n < self.min || n > self.max {
            return Err(format!(
                "argument must be between {} and {} inclusive",
                self.min, self.max
            ));
        }
        Ok(n)
    }

    pub fn set(&self, n: i64) {
        self.cell.store(n, Ordering::Relaxed)
    }
}

fn capped(cell: &AtomicI64, cap: i64) -> usize {
    cell.load(Ordering::Relaxed).clamp(0, cap) as usize
}

/// Most pairs a hash keeps in its listpack form.
#[inline]
pub fn hash_max_entries() -> usize {
    capped(&HASH_MAX_LISTPACK_ENTRIES, PACK_MAX_PAIRS)
}

/// Longest field or value a hash keeps in its listpack form.
#[inline]
pub fn hash_max_value() -> usize {
    capped(&HASH_MAX_LISTPACK_VALUE, PACK_MAX_VALUE)
}

/// Most integers a set keeps in its intset form.
#[inline]
pub fn set_max_intset_entries() -> usize {
    capped(&SET_MAX_INTSET_ENTRIES, i64::MAX)
}

/// Most members a zset keeps in its listpack form.
#[inline]
pub fn zset_max_entries() -> usize {
    capped(&ZSET_MAX_LISTPACK_ENTRIES, i64::MAX)
}

/// Longest member a zset keeps in its listpack form.
#[inline]
pub fn zset_max_value() -> usize {
    capped(&ZSET_MAX_LISTPACK_VALUE, PACK_MAX_VALUE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_aliases_and_bounds() {
        assert!(std::ptr::eq(
            find("HASH-MAX-ZIPLIST-ENTRIES").unwrap(),
            &LIMITS[0]
        ));
        assert_eq!(
            find("list-max-ziplist-size").unwrap().name,
            "list-max-listpack-size"
        );
        let l = find("list-compress-depth").unwrap();
        assert_eq!(
            l.parse("-1").unwrap_err(),
            "argument must be between 0 and 2147483647 inclusive"
        );
        assert_eq!(
            l.parse("x").unwrap_err(),
            "argument couldn't be parsed into an integer"
        );
        for l in &LIMITS {
            assert_eq!(l.get(), l.default, "{}", l.name);
        }
    }
}
