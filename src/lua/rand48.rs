//! `math.random` / `math.randomseed` for scripts: the POSIX `lrand48` generator Redis ships
//! (`redisLrand48`), so a script sees the same sequence on every platform and as Redis does.
//!
//! The state is one 48-bit number for the whole process, as Redis's is: scripts run one at a
//! time per state change (an atomic read-modify-write), never seeded per script.

use std::sync::atomic::{AtomicU64, Ordering};

const A: u64 = 0x5_DEEC_E66D;
const C: u64 = 0xB;
const MASK: u64 = (1 << 48) - 1;
/// The state before any seeding: `x = {0x330E, 0xABCD, 0x1234}`.
const INITIAL: u64 = 0x1234_ABCD_330E;

static STATE: AtomicU64 = AtomicU64::new(INITIAL);

/// The largest value [`next`] returns, plus one (Redis's `REDIS_LRAND48_MAX` is `INT32_MAX`).
pub const MAX: i64 = i32::MAX as i64;

fn step(x: u64) -> u64 {
    (A.wrapping_mul(x).wrapping_add(C)) & MASK
}

/// The next value, `0..2^31`.
pub fn next() -> i64 {
    let mut x = STATE.load(Ordering::Relaxed);
    loop {
        let n = step(x);
        match STATE.compare_exchange_weak(x, n, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => return (n >> 17) as i64,
            Err(actual) => x = actual,
        }
    }
}

/// `srand48(seed)`: the high 32 bits of the state are the seed, the low 16 are 0x330E.
pub fn seed(seed: i32) {
    STATE.store(((seed as u32 as u64) << 16) | 0x330E, Ordering::Relaxed);
}

/// `math.random`'s `r`: `next() % MAX / MAX`, in `[0, 1)`.
pub fn unit() -> f64 {
    (next() % MAX) as f64 / MAX as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_is_the_posix_lrand48_recurrence() {
        // glibc: srand48(0); lrand48() == 366850414, then 1610402240.
        let x = step(0x330E);
        assert_eq!((x >> 17) as i64, 366_850_414);
        assert_eq!((step(x) >> 17) as i64, 1_610_402_240);
    }
}
