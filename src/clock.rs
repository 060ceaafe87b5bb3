//! Time sources: wall-clock milliseconds for expiry and a coarse uptime clock for idle times.
//!
//! `uptime_secs` is a cached counter that `tick()` refreshes (the expiry thread calls it every
//! cycle). `recent_ms` is the wall clock in milliseconds as last noted by a loop (each loop
//! notes the time it reads once per batch of commands) or the expiry thread: the keys' LRU
//! clock, so recording an access on the hot path is one relaxed load, not a syscall.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

static START: OnceLock<Instant> = OnceLock::new();
static UPTIME_SECS: AtomicU32 = AtomicU32::new(0);
static RECENT_MS: AtomicU64 = AtomicU64::new(0);

/// Unix time in milliseconds.
#[inline]
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Unix time in microseconds.
pub fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0)
}

/// The process start instant (first call fixes it).
pub fn start() -> Instant {
    *START.get_or_init(Instant::now)
}

/// Whole seconds since start, as of the last `tick()`.
#[inline]
pub fn uptime_secs() -> u32 {
    UPTIME_SECS.load(Ordering::Relaxed)
}

/// Refreshes the cached uptime and [`recent_ms`].
pub fn tick() {
    UPTIME_SECS.store(start().elapsed().as_secs() as u32, Ordering::Relaxed);
    note_ms(now_ms());
}

/// Unix milliseconds as last noted ([`note_ms`]): at most a batch of commands old.
#[inline]
pub fn recent_ms() -> u64 {
    RECENT_MS.load(Ordering::Relaxed)
}

/// Notes the time a loop just read. Stores only when the millisecond moved (and never goes
/// back), so loops do not bounce the cache line on every batch.
#[inline]
pub fn note_ms(now: u64) {
    if RECENT_MS.load(Ordering::Relaxed) < now {
        RECENT_MS.fetch_max(now, Ordering::Relaxed);
    }
}
