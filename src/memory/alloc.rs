//! The allocator's view of memory: jemalloc (the global allocator, see `lib.rs`) statistics.
//!
//! jemalloc's `stats.*` values are snapshots refreshed by advancing its `epoch` (a `mallctl`
//! that merges every arena's counters: microseconds). [`used`] refreshes the snapshot at most
//! once per millisecond — the first caller in a new millisecond does it, the others read the
//! cached value — so the maxmemory check on the request path is a relaxed load or two.
//! [`refresh`] forces a new snapshot (after an eviction pass, for INFO).

use std::sync::atomic::{AtomicU64, Ordering};

use tikv_jemalloc_ctl::{epoch, stats};

/// `stats.allocated` as of the last refresh.
static ALLOCATED: AtomicU64 = AtomicU64::new(0);
/// The millisecond of the last refresh.
static REFRESHED_MS: AtomicU64 = AtomicU64::new(0);
/// The highest `ALLOCATED` seen (`used_memory_peak`).
static PEAK: AtomicU64 = AtomicU64::new(0);

/// Bytes allocated by the process (jemalloc's `stats.allocated`), at most about a
/// millisecond old as of `now_ms`.
#[inline]
pub fn used(now_ms: u64) -> u64 {
    if REFRESHED_MS.load(Ordering::Relaxed) != now_ms
        && REFRESHED_MS.swap(now_ms, Ordering::Relaxed) != now_ms
    {
        refresh();
    }
    ALLOCATED.load(Ordering::Relaxed)
}

/// Takes a fresh snapshot of the statistics now; returns `stats.allocated`.
#[cold]
pub fn refresh() -> u64 {
    if epoch::advance().is_err() {
        return ALLOCATED.load(Ordering::Relaxed);
    }
    let allocated = stats::allocated::read().unwrap_or(0) as u64;
    ALLOCATED.store(allocated, Ordering::Relaxed);
    PEAK.fetch_max(allocated, Ordering::Relaxed);
    allocated
}

/// The highest allocation observed by a refresh since start or [`reset_peak`].
pub fn peak() -> u64 {
    PEAK.load(Ordering::Relaxed)
}

/// CONFIG RESETSTAT: the peak starts again from the current figure.
pub fn reset_peak() {
    PEAK.store(refresh(), Ordering::Relaxed);
}

/// `stats.allocated` once the server is initialised (`used_memory_startup`).
static STARTUP: AtomicU64 = AtomicU64::new(0);

/// Records the start-up figure (called once the server state exists, before loading data).
pub fn mark_startup() {
    STARTUP.store(refresh(), Ordering::Relaxed);
}

pub fn startup() -> u64 {
    STARTUP.load(Ordering::Relaxed)
}

/// The allocator's figures INFO and MEMORY STATS report (one fresh snapshot).
#[derive(Debug, Clone, Copy, Default)]
pub struct AllocStats {
    /// Bytes the application holds.
    pub allocated: u64,
    /// Bytes in active pages (allocated plus the unused parts of those pages).
    pub active: u64,
    /// Bytes in physically resident data pages mapped by the allocator.
    pub resident: u64,
    /// Bytes dedicated to the allocator's own metadata.
    pub metadata: u64,
    /// Bytes in extents mapped by the allocator.
    pub mapped: u64,
    /// Bytes retained (unmapped from use but kept as virtual memory).
    pub retained: u64,
}

pub fn snapshot() -> AllocStats {
    refresh();
    let r = |v: tikv_jemalloc_ctl::Result<usize>| v.unwrap_or(0) as u64;
    AllocStats {
        allocated: ALLOCATED.load(Ordering::Relaxed),
        active: r(stats::active::read()),
        resident: r(stats::resident::read()),
        metadata: r(stats::metadata::read()),
        mapped: r(stats::mapped::read()),
        retained: r(stats::retained::read()),
    }
}

/// Returns dirty pages of every arena to the OS (MEMORY PURGE): `arena.<all>.purge`.
pub fn purge() -> Result<(), String> {
    // MALLCTL_ARENAS_ALL (4096) addresses every arena at once.
    let name = b"arena.4096.purge\0";
    // SAFETY: a NUL-terminated name; "arena.<i>.purge" reads and writes nothing, so every
    // pointer is null and both lengths zero (jemalloc refuses anything else).
    let rc = unsafe {
        tikv_jemalloc_sys::mallctl(
            name.as_ptr().cast(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            0,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(crate::util::fs::strerror(
            &std::io::Error::from_raw_os_error(rc),
        ))
    }
}

/// jemalloc's statistics report (MEMORY MALLOC-STATS), as `malloc_stats_print` writes it.
pub fn report() -> String {
    let mut out = Vec::new();
    let options = tikv_jemalloc_ctl::stats_print::Options::default();
    match tikv_jemalloc_ctl::stats_print::stats_print(&mut out, options) {
        Ok(()) => String::from_utf8_lossy(&out).into_owned(),
        Err(e) => format!("Stats not supported for the current allocator: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allocation_shows_in_used_memory() {
        let before = refresh();
        let block = vec![1u8; 8 << 20];
        let after = refresh();
        // Other tests allocate concurrently: the 8 MiB block must dominate.
        assert!(after >= before + (4 << 20), "{before} -> {after}");
        drop(block);
        assert!(peak() >= after);
        let s = snapshot();
        assert!(s.active >= s.allocated / 2 && s.resident > 0, "{s:?}");
        assert!(report().contains("jemalloc"));
        purge().unwrap();
    }
}
