//! `maxmemory-policy`, `lfu-log-factor` and `lfu-decay-time`: process-wide settings read by
//! every entry when it records an access (module doc of [`super`]).
//!
//! Threading: relaxed atomics. A policy switch while loops run is seen by each loop at its
//! next access; entries keep the meaning their word had until they are next touched, as in
//! Redis ("LRU and LFU data will take some time to adjust").

use std::sync::atomic::{AtomicU32, AtomicU8, Ordering};

/// Redis 7.0's eight policies, in its `maxmemory-policy` spelling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Policy {
    VolatileLru,
    VolatileLfu,
    VolatileRandom,
    VolatileTtl,
    AllkeysLru,
    AllkeysLfu,
    AllkeysRandom,
    NoEviction,
}

impl Policy {
    pub const ALL: [Policy; 8] = [
        Policy::VolatileLru,
        Policy::VolatileLfu,
        Policy::VolatileRandom,
        Policy::VolatileTtl,
        Policy::AllkeysLru,
        Policy::AllkeysLfu,
        Policy::AllkeysRandom,
        Policy::NoEviction,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Policy::VolatileLru => "volatile-lru",
            Policy::VolatileLfu => "volatile-lfu",
            Policy::VolatileRandom => "volatile-random",
            Policy::VolatileTtl => "volatile-ttl",
            Policy::AllkeysLru => "allkeys-lru",
            Policy::AllkeysLfu => "allkeys-lfu",
            Policy::AllkeysRandom => "allkeys-random",
            Policy::NoEviction => "noeviction",
        }
    }

    /// Case-insensitive, as Redis's enum configs.
    pub fn parse(s: &str) -> Option<Policy> {
        Policy::ALL
            .into_iter()
            .find(|p| p.name().eq_ignore_ascii_case(s))
    }

    /// Redis's error text for any other value.
    pub const CHOICES: &'static str = "argument(s) must be one of the following: volatile-lru, volatile-lfu, volatile-random, volatile-ttl, allkeys-lru, allkeys-lfu, allkeys-random, noeviction";

    pub fn is_lfu(self) -> bool {
        matches!(self, Policy::VolatileLfu | Policy::AllkeysLfu)
    }

    pub fn is_lru(self) -> bool {
        matches!(self, Policy::VolatileLru | Policy::AllkeysLru)
    }

    /// Whether only keys with a TTL may be evicted.
    pub fn volatile_only(self) -> bool {
        matches!(
            self,
            Policy::VolatileLru
                | Policy::VolatileLfu
                | Policy::VolatileRandom
                | Policy::VolatileTtl
        )
    }

    /// Redis's MAXMEMORY_FLAG_NO_SHARED_INTEGERS: LRU and LFU need per-object metadata.
    pub fn no_shared_integers(self) -> bool {
        self.is_lru() || self.is_lfu()
    }

    fn from_u8(v: u8) -> Policy {
        Policy::ALL
            .get(usize::from(v))
            .copied()
            .unwrap_or(Policy::NoEviction)
    }
}

static POLICY: AtomicU8 = AtomicU8::new(Policy::NoEviction as u8);
static LFU_LOG_FACTOR: AtomicU32 = AtomicU32::new(DEFAULT_LFU_LOG_FACTOR);
static LFU_DECAY_TIME: AtomicU32 = AtomicU32::new(DEFAULT_LFU_DECAY_TIME);

pub const DEFAULT_LFU_LOG_FACTOR: u32 = 10;
pub const DEFAULT_LFU_DECAY_TIME: u32 = 1;

/// The live policy.
#[inline]
pub fn policy() -> Policy {
    Policy::from_u8(POLICY.load(Ordering::Relaxed))
}

pub fn set_policy(p: Policy) {
    POLICY.store(p as u8, Ordering::Relaxed);
}

/// Whether entries keep LFU data (else LRU): read on every access.
#[inline]
pub fn lfu() -> bool {
    policy().is_lfu()
}

pub fn lfu_log_factor() -> u32 {
    LFU_LOG_FACTOR.load(Ordering::Relaxed)
}

pub fn set_lfu_log_factor(v: u32) {
    LFU_LOG_FACTOR.store(v, Ordering::Relaxed);
}

pub fn lfu_decay_time() -> u32 {
    LFU_DECAY_TIME.load(Ordering::Relaxed)
}

pub fn set_lfu_decay_time(v: u32) {
    LFU_DECAY_TIME.store(v, Ordering::Relaxed);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for p in Policy::ALL {
            assert_eq!(Policy::parse(&p.name().to_ascii_uppercase()), Some(p));
            assert_eq!(Policy::from_u8(p as u8), p);
        }
        assert_eq!(Policy::parse("lru"), None);
    }
}
