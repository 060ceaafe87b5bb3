//! Time sources: wall-clock milliseconds for expiry and a coarse uptime clock for idle times.
//!
//! `uptime_secs` is a cached counter that `tick()` refreshes (the expiry thread calls it every
//! cycle), so recording an access on the hot path is one relaxed atomic store, not a syscall.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

static START: OnceLock<Instant> = OnceLock::new();
static UPTIME_SECS: AtomicU32 = AtomicU32::new(0);

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

/// Refreshes the cached uptime.
pub fn tick() {
    UPTIME_SECS.store(start().elapsed().as_secs() as u32, Ordering::Relaxed);
}
