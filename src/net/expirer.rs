//! The active-expiry thread: sweeps a slice of every database's shards each cycle so expired
//! keys nobody touches are reclaimed within about a second, without holding any shard lock for
//! long and without running on the event loops. Each cycle also samples the per-second rates
//! INFO reports (`instantaneous_ops_per_sec`, ...).
//!
//! Each database's sweep is an execution of its own: the `expired` notifications it publishes
//! under shard locks wake their loops once the sweep is done, and each deleted key propagates
//! as its own `DEL` (Redis's `activeExpireCycle` propagates key by key). No cycle runs while
//! clients are paused ([`crate::state::pause`]); this thread also ends pauses whose time is
//! up, as Redis's `serverCron` does.

use std::sync::atomic::Ordering;
use std::time::Duration;

use crate::state::Shared;
use crate::store::SHARDS;

/// Cycle period. With [`SHARDS_PER_CYCLE`] this gives a full sweep of a database per second.
const CYCLE: Duration = Duration::from_millis(100);
const SHARDS_PER_CYCLE: usize = SHARDS / 10;

pub fn run(shared: &Shared) {
    while !shared.shutdown.load(Ordering::Relaxed) {
        std::thread::sleep(CYCLE);
        crate::clock::tick();
        let now = crate::clock::now_ms();
        // Clients paused: the dataset stays constant (Redis's activeExpireCycle returns).
        let held = shared.pause.current(now) != crate::state::pause::OFF;
        for i in (0..shared.store.len()).filter(|_| !held) {
            let fx = shared.scope(None);
            shared
                .store
                .with(&fx)
                .db(i)
                .expire_cycle(now, SHARDS_PER_CYCLE);
            // The sweep's deletions are one unit, unwrapped (Redis propagates them one by one).
            shared.propagation.flush_unit(&fx, false);
            shared.loops.wake(&fx);
        }
        // Redis's eviction time proc: memory left over the limit when the commands stopped
        // (the time budget ran out, or CONFIG SET lowered maxmemory) keeps being evicted.
        crate::evict::perform(shared, now, None);
        // The same 100 ms cadence feeds INFO's instantaneous_* rates.
        shared.sample_rates(now);
    }
}
