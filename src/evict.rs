//! Eviction under `maxmemory` (Redis's `performEvictions`), run before commands by
//! [`admits`] — one step in `commands::call` — on whichever loop runs the command.
//!
//! # A pass
//! When used memory (the allocator's `stats.allocated`, [`crate::memory::alloc`]) is over
//! `maxmemory`, keys are evicted per `maxmemory-policy` until the estimated bytes freed cover
//! the excess, or the tenacity time budget is spent (then the next command continues: no
//! loop ever stalls), or nothing is left to evict:
//! - LRU / LFU / TTL: every database with keys (with a TTL, for volatile-*) is sampled —
//!   `maxmemory-samples` keys from consecutive buckets from a random position — into the
//!   eviction pool ([`crate::memory::pool`]) and its best candidate goes.
//! - random: a random key of the next database in turn.
//!
//! An evicted key is deleted as DEL deletes it, with the `evicted` event, WATCH touched and
//! `DEL key` propagated (from the store, [`crate::store::DbRef::evict`]); the pass is an
//! execution unit of its own, flushed before the command runs, as the expiry sweep's.
//!
//! # Threads
//! Any loop may evict any key. One pass runs at a time (the pool's mutex), so several loops
//! never over-evict together: a loop that finds another one evicting lets its command run
//! (Redis's `EVICT_RUNNING`) while the excess is small, and waits for the pool once it
//! passes 1/16 of the limit (back-pressure: writers cannot outrun eviction). A pass holds
//! no shard lock between keys and is bounded by the tenacity budget, so the wait is too.

use std::sync::atomic::Ordering;

use bytes::Bytes;
use rand::Rng;

use crate::memory::pool::Pool;
use crate::memory::{alloc, policy, Policy};
use crate::state::Shared;
use crate::store::{Entry, StoreRef, SHARDS};

/// `-OOM` for denyoom commands over the limit (Redis's `shared.oomerr`).
pub const OOM: &str = "OOM command not allowed when used memory > 'maxmemory'.";

/// How long a database found empty by a full walk is skipped by the samplers (ms).
const EMPTY_FOR_MS: u64 = 100;

/// What a pass achieved (Redis's EVICT_OK / EVICT_RUNNING / EVICT_FAIL).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Under the limit (or freed what was over).
    Ok,
    /// Still over, eviction goes on (time budget spent, or another loop is evicting).
    Running,
    /// Over the limit and nothing can be evicted.
    Fail,
}

/// The maxmemory step of the command path: with a limit set and memory over it, evicts;
/// returns false when the command must be refused with [`OOM`]. `may_grow` says whether the
/// command is `denyoom` (asked only when over the limit).
#[inline]
pub fn admits(srv: &Shared, now: u64, home: usize, may_grow: impl FnOnce() -> bool) -> bool {
    if srv.memory.maxmemory.load(Ordering::Relaxed) == 0 {
        return true;
    }
    over_limit(srv, now, home, may_grow)
}

#[cold]
#[inline(never)]
fn over_limit(srv: &Shared, now: u64, home: usize, may_grow: impl FnOnce() -> bool) -> bool {
    perform(srv, now, Some(home)) != Verdict::Fail || !may_grow()
}

/// One eviction pass (module doc); `home` is the loop running it (`None`: another thread).
pub fn perform(srv: &Shared, now: u64, home: Option<usize>) -> Verdict {
    let limits = &srv.memory;
    let max = limits.maxmemory.load(Ordering::Relaxed);
    // Redis's isSafeToPerformEvictions: no eviction (and no OOM) while clients are paused or
    // the dataset loads — as if it were not needed.
    if max != 0
        && (srv.pause.current(now) != crate::state::pause::OFF
            || srv.persistence.gate() & crate::persist::gate::LOADING != 0)
    {
        return Verdict::Ok;
    }
    if max == 0 || alloc::used(now) <= max {
        if max != 0 {
            limits.note_exceeded(false);
        }
        return Verdict::Ok;
    }
    let policy = policy::policy();
    let verdict = if policy == Policy::NoEviction {
        Verdict::Fail
    } else {
        // Another loop evicting: carry on while the excess is small, wait for it (and then
        // evict too) once the excess passes 1/16 of the limit — the back-pressure that keeps
        // writers on several loops from outrunning one evictor.
        let pool = limits
            .pool
            .try_lock()
            .or_else(|| (alloc::used(now) > max + max / 16).then(|| limits.pool.lock()));
        match pool {
            Some(mut pool) => {
                // The latency monitor's `eviction-cycle` event (timed only when it is on).
                let threshold = srv.tunables.int(crate::tunables::LATENCY_MONITOR_THRESHOLD);
                let started = (threshold > 0).then(std::time::Instant::now);
                let verdict = evict(srv, &mut pool, policy, max, now, home);
                if let Some(started) = started {
                    let ms = started.elapsed().as_millis() as u64;
                    srv.latency
                        .monitor
                        .add_sample_if_needed(threshold, "eviction-cycle", ms);
                }
                verdict
            }
            None => Verdict::Running,
        }
    };
    limits.note_exceeded(verdict != Verdict::Ok);
    verdict
}

/// The pass itself, holding the pool.
fn evict(
    srv: &Shared,
    pool: &mut Pool,
    policy: Policy,
    max: u64,
    now: u64,
    home: Option<usize>,
) -> Verdict {
    // Another loop may have evicted while this one waited for the figure to refresh.
    let used = alloc::refresh();
    if used <= max {
        return Verdict::Ok;
    }
    let to_free = used - max;
    let limit_us = srv.memory.time_limit_us();
    let start = std::time::Instant::now();
    let fx = srv.scope(home);
    let store = srv.store.with(&fx);
    if pool.empty_until.len() != store.len() {
        pool.empty_until = vec![0; store.len()];
    }
    let volatile_only = policy.volatile_only();
    let mut rng = rand::thread_rng();
    let mut freed = 0u64;
    let mut evicted = 0u64;
    let mut tries = 0u64;
    let verdict = loop {
        if freed >= to_free {
            break Verdict::Ok;
        }
        let Some((db, key)) = pick(store, pool, policy, now, &mut rng, srv) else {
            break Verdict::Fail;
        };
        if let Some(bytes) = store.db(db).evict(&key, now, volatile_only) {
            freed += bytes as u64;
            evicted += 1;
        }
        tries += 1;
        if tries.is_multiple_of(16) {
            if start.elapsed().as_micros() as u64 > limit_us {
                break Verdict::Running;
            }
            if alloc::refresh() <= max {
                break Verdict::Ok;
            }
        }
    };
    if evicted > 0 {
        srv.memory
            .evicted_keys
            .fetch_add(evicted, Ordering::Relaxed);
    }
    // The pass's deletions are one unit, unwrapped (Redis propagates them one by one), sent
    // before the command that triggered it; then the loops its `evicted` events reach wake.
    srv.propagation.flush_unit(&fx, false);
    crate::state::tracking::deliver_modified(srv, &fx, 0, &mut Vec::new());
    srv.loops.wake(&fx);
    fx.settle();
    if alloc::refresh() <= max {
        Verdict::Ok
    } else {
        verdict
    }
}

/// The next key to evict, `None` when nothing is evictable.
fn pick(
    store: StoreRef<'_>,
    pool: &mut Pool,
    policy: Policy,
    now: u64,
    rng: &mut impl Rng,
    srv: &Shared,
) -> Option<(usize, Bytes)> {
    let volatile_only = policy.volatile_only();
    let dbs = store.len();
    if matches!(policy, Policy::AllkeysRandom | Policy::VolatileRandom) {
        for _ in 0..dbs {
            pool.next_db = (pool.next_db + 1) % dbs;
            let db = pool.next_db;
            let mut found = None;
            sample_db(store, pool, db, 1, now, volatile_only, rng, |k, _| {
                found = Some(Bytes::copy_from_slice(k))
            });
            if let Some(key) = found {
                return Some((db, key));
            }
        }
        return None;
    }
    let samples = srv.memory.samples.load(Ordering::Relaxed).max(1) as usize;
    let lfu = policy.is_lfu();
    let ttl = policy == Policy::VolatileTtl;
    let mut total = 0;
    for db in 0..dbs {
        let mut offers: Vec<(u64, Bytes)> = Vec::with_capacity(samples);
        total += sample_db(
            store,
            pool,
            db,
            samples,
            now,
            volatile_only,
            rng,
            |k, e: &Entry| {
                let rank = if ttl {
                    u64::MAX - e.expire_at
                } else {
                    e.eviction_rank(lfu)
                };
                offers.push((rank, Bytes::copy_from_slice(k)));
            },
        );
        for (rank, key) in offers {
            pool.offer(rank, db, &key);
        }
    }
    if total == 0 && pool.is_empty() {
        return None;
    }
    pool.pop_best()
}

/// Samples up to `count` keys of database `db` for `f`: consecutive shards from a random
/// one (keys are spread over shards by their hash, so neighbours are as random as any),
/// until `count` were seen or every shard was visited; a database where that finds nothing
/// is skipped for [`EMPTY_FOR_MS`]. Returns how many keys `f` saw.
#[allow(clippy::too_many_arguments)]
fn sample_db(
    store: StoreRef<'_>,
    pool: &mut Pool,
    db: usize,
    count: usize,
    now: u64,
    volatile_only: bool,
    rng: &mut impl Rng,
    mut f: impl FnMut(&[u8], &Entry),
) -> usize {
    let d = store.db(db);
    if pool.empty_until[db] > now || (volatile_only && !d.maybe_volatile()) {
        return 0;
    }
    let first = rng.gen_range(0..SHARDS);
    let mut seen = 0;
    for i in 0..SHARDS {
        seen += d.sample(
            (first + i) % SHARDS,
            rng.gen(),
            count - seen,
            now,
            volatile_only,
            &mut f,
        );
        if seen >= count {
            return seen;
        }
    }
    if seen == 0 {
        pool.empty_until[db] = now + EMPTY_FOR_MS;
    }
    seen
}
