//! Memory: what the process uses (the allocator's own statistics), the `maxmemory-policy`
//! and the per-key access word that LRU and LFU eviction rank keys by.
//!
//! - [`alloc`]: jemalloc is the global allocator; `used_memory` is its `stats.allocated`,
//!   refreshed at most once per millisecond by whichever thread asks first, so a check on
//!   the request path is one relaxed load (no `mallctl` per command).
//! - [`policy`]: the eviction policy and the LFU parameters. They are process-wide atomics
//!   because the store's entries read them when they record an access (an entry has no
//!   server context); CONFIG SET writes them.
//! - [`access`]: the 32-bit word every entry carries: a millisecond LRU clock or Redis's LFU
//!   (16-bit minutes, 8-bit logarithmic counter), and the math both use.
//!
//! This module sits below the store (which calls [`access`]) and knows nothing of keys;
//! eviction itself (sampling, the pool, deleting) is [`crate::evict`].

pub mod access;
pub mod alloc;
pub mod policy;
pub mod pool;

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

pub use policy::Policy;

pub const DEFAULT_MAXMEMORY_SAMPLES: u32 = 5;
pub const DEFAULT_EVICTION_TENACITY: u32 = 10;

/// The server's memory limit, eviction settings and eviction statistics (one per server, in
/// `Shared`; relaxed atomics read on the request path). The policy and LFU parameters are in
/// [`policy`].
pub struct Limits {
    /// `maxmemory` in bytes; 0: no limit.
    pub maxmemory: AtomicU64,
    /// `maxmemory-samples`.
    pub samples: AtomicU32,
    /// `maxmemory-eviction-tenacity` (0..=100).
    pub tenacity: AtomicU32,
    /// INFO `evicted_keys`.
    pub evicted_keys: AtomicU64,
    /// Microseconds since process start when used memory went over the limit and eviction
    /// could not bring it back yet; 0 while under the limit.
    pub exceeded_since_us: AtomicU64,
    /// INFO `total_eviction_exceeded_time` (ms), the closed periods.
    pub exceeded_total_us: AtomicU64,
    /// The eviction pool and the evictor's bookkeeping; held by the one thread evicting.
    pub pool: parking_lot::Mutex<pool::Pool>,
}

impl Limits {
    pub fn new(maxmemory: u64, samples: u32, tenacity: u32) -> Self {
        Limits {
            maxmemory: AtomicU64::new(maxmemory),
            samples: AtomicU32::new(samples),
            tenacity: AtomicU32::new(tenacity),
            evicted_keys: AtomicU64::new(0),
            exceeded_since_us: AtomicU64::new(0),
            exceeded_total_us: AtomicU64::new(0),
            pool: parking_lot::Mutex::new(pool::Pool::new()),
        }
    }

    /// Redis's `evictionTimeLimitUs`: how long one eviction pass may run.
    pub fn time_limit_us(&self) -> u64 {
        let t = self.tenacity.load(Ordering::Relaxed).min(100);
        if t <= 10 {
            50 * u64::from(t)
        } else if t < 100 {
            (500.0 * 1.15f64.powi(t as i32 - 10)) as u64
        } else {
            u64::MAX
        }
    }

    /// Records whether memory is (still) over the limit after an eviction pass (Redis's
    /// `update_metrics`).
    pub fn note_exceeded(&self, exceeded: bool) {
        let now = (crate::clock::start().elapsed().as_micros() as u64).max(1);
        let since = self.exceeded_since_us.load(Ordering::Relaxed);
        if exceeded {
            if since == 0 {
                self.exceeded_since_us.store(now, Ordering::Relaxed);
            }
        } else if since != 0 && self.exceeded_since_us.swap(0, Ordering::Relaxed) == since {
            self.exceeded_total_us
                .fetch_add(now.saturating_sub(since), Ordering::Relaxed);
        }
    }

    /// INFO's `(current_eviction_exceeded_time, total_eviction_exceeded_time)` in ms.
    pub fn exceeded_ms(&self) -> (u64, u64) {
        let since = self.exceeded_since_us.load(Ordering::Relaxed);
        let current = if since == 0 {
            0
        } else {
            (crate::clock::start().elapsed().as_micros() as u64).saturating_sub(since)
        };
        let total = self.exceeded_total_us.load(Ordering::Relaxed) + current;
        (current / 1000, total / 1000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenacity_follows_redis() {
        let l = Limits::new(0, 5, 10);
        assert_eq!(l.time_limit_us(), 500);
        l.tenacity.store(0, Ordering::Relaxed);
        assert_eq!(l.time_limit_us(), 0);
        l.tenacity.store(11, Ordering::Relaxed);
        assert_eq!(l.time_limit_us(), 575);
        l.tenacity.store(100, Ordering::Relaxed);
        assert_eq!(l.time_limit_us(), u64::MAX);
    }
}
