//! The per-key access word (32 bits in every entry) and the LRU / LFU math on it.
//!
//! Under an LRU policy (and noeviction / random / ttl) the word is the low 32 bits of the
//! millisecond clock at the key's last access ([`crate::clock::recent_ms`]). Redis keeps a
//! 24-bit clock of **seconds**, so every key written or read within the same second looks
//! equally idle and, under a fast write flood, allkeys-lru cannot tell a hot key from a new
//! one; milliseconds in 32 bits tell them apart and wrap after 49.7 days (a key idle longer
//! than that looks recently used, as Redis's 24-bit clock wraps after 194 days).
//!
//! Under an LFU policy it is Redis's layout: the last decrement time in minutes (16 bits,
//! wrapping) above an 8-bit logarithmic counter. New keys start at [`LFU_INIT_VAL`]; an
//! access first decays the counter by one per `lfu-decay-time` minutes elapsed, then
//! increments it with probability `1 / ((counter - LFU_INIT_VAL) * lfu-log-factor + 1)`.
//!
//! CLIENT NO-TOUCH: while a command of such a client runs, its thread's [`untouched`] scope
//! makes [`touch`] do nothing (commands run on one loop thread from start to end).
//!
//! Threading: the word is an atomic updated with relaxed loads and stores by readers holding
//! only a shared shard lock; concurrent accesses may lose an increment, which the
//! probabilistic counter tolerates.

use std::cell::Cell;
use std::sync::atomic::{AtomicU32, Ordering};

use super::policy;

/// The counter of a new key (Redis's LFU_INIT_VAL).
pub const LFU_INIT_VAL: u8 = 5;

/// The LRU clock: milliseconds, wrapping at 2^32.
#[inline]
fn lru_now() -> u32 {
    crate::clock::recent_ms() as u32
}

/// Minutes, wrapping at 2^16 (Redis's LFUGetTimeInMinutes).
#[inline]
fn minutes_now() -> u32 {
    ((crate::clock::recent_ms() / 60_000) & 0xffff) as u32
}

/// The word of a key created now.
#[inline]
pub fn fresh() -> u32 {
    if policy::lfu() {
        lfu_word(minutes_now(), LFU_INIT_VAL)
    } else {
        lru_now()
    }
}

#[inline]
fn lfu_word(minutes: u32, counter: u8) -> u32 {
    (minutes << 8) | u32::from(counter)
}

thread_local! {
    /// A CLIENT NO-TOUCH command is running on this thread: accesses are not recorded.
    static UNTOUCHED: Cell<bool> = const { Cell::new(false) };
}

/// Runs `f` with access recording off on this thread (CLIENT NO-TOUCH); restores the previous
/// state after, unwinding included.
pub fn untouched<R>(f: impl FnOnce() -> R) -> R {
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            UNTOUCHED.with(|u| u.set(self.0));
        }
    }
    let _restore = Restore(UNTOUCHED.with(|u| u.replace(true)));
    f()
}

/// Records an access (unless a CLIENT NO-TOUCH command is running on this thread).
#[inline]
pub fn touch(word: &AtomicU32) {
    if UNTOUCHED.with(Cell::get) {
        return;
    }
    if policy::lfu() {
        return touch_lfu(word);
    }
    // Store only when the clock moved, so a hot key read from several threads does not bounce
    // its cache line on every read.
    let now = lru_now();
    if word.load(Ordering::Relaxed) != now {
        word.store(now, Ordering::Relaxed);
    }
}

#[cold]
#[inline(never)]
fn touch_lfu(word: &AtomicU32) {
    let w = word.load(Ordering::Relaxed);
    let now = minutes_now();
    let counter = decayed(w, now, policy::lfu_decay_time());
    let counter = log_incr(counter, policy::lfu_log_factor(), rand::random::<f64>);
    word.store(lfu_word(now, counter), Ordering::Relaxed);
}

/// Milliseconds since the last access of an LRU word.
#[inline]
pub fn idle_ms(word: u32) -> u32 {
    lru_now().wrapping_sub(word)
}

/// An LRU word for a key idle `secs` seconds (RESTORE ... IDLETIME).
pub fn with_idle_secs(secs: u64) -> u32 {
    let ms = secs.saturating_mul(1000).min(u64::from(u32::MAX)) as u32;
    lru_now().wrapping_sub(ms)
}

/// An LFU word with counter `freq`, decremented now (RESTORE ... FREQ).
pub fn with_freq(freq: u8) -> u32 {
    lfu_word(minutes_now(), freq)
}

/// The LFU counter after decay, without storing it (Redis's LFUDecrAndReturn): OBJECT FREQ
/// and the eviction sample.
pub fn freq(word: u32) -> u8 {
    decayed(word, minutes_now(), policy::lfu_decay_time())
}

/// Minutes elapsed since `ldt`, the 16-bit clock wrapping at most once (LFUTimeElapsed).
fn minutes_since(ldt: u32, now: u32) -> u32 {
    if now >= ldt {
        now - ldt
    } else {
        65535 - ldt + now
    }
}

/// The counter of `word` decayed by one per `decay_time` minutes since its last decrement.
fn decayed(word: u32, now_minutes: u32, decay_time: u32) -> u8 {
    let ldt = (word >> 8) & 0xffff;
    let counter = (word & 0xff) as u8;
    let periods = minutes_since(ldt, now_minutes)
        .checked_div(decay_time)
        .unwrap_or(0);
    counter.saturating_sub(periods.min(255) as u8)
}

/// Redis's LFULogIncr: `r` draws a uniform number in [0, 1).
fn log_incr(counter: u8, log_factor: u32, r: impl FnOnce() -> f64) -> u8 {
    if counter == 255 {
        return 255;
    }
    let base = f64::from(counter.saturating_sub(LFU_INIT_VAL));
    let p = 1.0 / (base * f64::from(log_factor) + 1.0);
    if r() < p {
        counter + 1
    } else {
        counter
    }
}

/// The eviction pool's rank of a key with `word` (higher is evicted first): idle milliseconds
/// under LRU, `255 - frequency` under LFU.
pub fn eviction_rank(word: u32, lfu: bool) -> u64 {
    if lfu {
        255 - u64::from(freq(word))
    } else {
        u64::from(idle_ms(word))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn untouched_scope_suppresses_touch_and_restores_after_unwinding() {
        let word = AtomicU32::new(0);
        untouched(|| touch(&word));
        assert_eq!(word.load(Ordering::Relaxed), 0, "nothing recorded inside");
        let caught = std::panic::catch_unwind(|| untouched(|| panic!("handler bug")));
        assert!(caught.is_err());
        assert!(!UNTOUCHED.with(Cell::get), "restored by unwinding");
    }

    #[test]
    fn new_keys_and_low_counters_always_increment() {
        for c in 0..=LFU_INIT_VAL {
            assert_eq!(log_incr(c, 10, || 0.999_999), c + 1);
        }
        assert_eq!(log_incr(255, 10, || 0.0), 255, "saturates");
    }

    #[test]
    fn increment_probability_is_redis_formula() {
        // counter 15, factor 10: p = 1 / (10 * 10 + 1)
        let p = 1.0 / 101.0;
        assert_eq!(log_incr(15, 10, || p * 0.99), 16);
        assert_eq!(log_incr(15, 10, || p * 1.01), 15);
        // factor 0: always.
        assert_eq!(log_incr(200, 0, || 0.999), 201);
    }

    #[test]
    fn counter_growth_is_logarithmic() {
        // Redis's table for lfu-log-factor 10: ~1M hits reach 255, 1K hits stay near 18.
        fn next(state: &mut u64) -> f64 {
            *state ^= *state << 13;
            *state ^= *state >> 7;
            *state ^= *state << 17;
            (*state >> 11) as f64 / (1u64 << 53) as f64
        }
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut c = LFU_INIT_VAL;
        for _ in 0..1000 {
            c = log_incr(c, 10, || next(&mut state));
        }
        assert!((14..=24).contains(&c), "1000 hits gave {c}");
        for _ in 0..1_000_000 {
            c = log_incr(c, 10, || next(&mut state));
        }
        assert!(c >= 240, "1M hits gave {c}");
    }

    #[test]
    fn decay_one_per_period_and_wraps_once() {
        let w = lfu_word(100, 20);
        assert_eq!(decayed(w, 100, 1), 20);
        assert_eq!(decayed(w, 103, 1), 17);
        assert_eq!(decayed(w, 110, 5), 18);
        assert_eq!(decayed(w, 1000, 1), 0, "floors at zero");
        assert_eq!(decayed(w, 5000, 0), 20, "decay time 0: never");
        // ldt 65530, now 4: 65535 - 65530 + 4 = 9 minutes.
        assert_eq!(decayed(lfu_word(65530, 20), 4, 1), 11);
    }

    #[test]
    fn lru_idle_wraps() {
        let now = lru_now();
        assert_eq!(idle_ms(now.wrapping_sub(1500)), 1500);
        assert_eq!(with_idle_secs(3).wrapping_add(3000), now);
    }
}
