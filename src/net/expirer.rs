//! The active-expiry thread: sweeps a slice of every database's shards each cycle so expired
//! keys nobody touches are reclaimed within about a second, without holding any shard lock for
//! long and without running on the event loops. Each cycle also samples the per-second rates
//! INFO reports (`instantaneous_ops_per_sec`, ...), and once a second closes idle MIGRATE
//! connections.
//!
//! Each database's sweep is an execution of its own: the `expired` notifications it publishes
//! under shard locks wake their loops once the sweep is done, and each deleted key propagates
//! as its own `DEL` (Redis's `activeExpireCycle` propagates key by key). No cycle runs while
//! clients are paused ([`crate::state::pause`]); this thread also ends pauses whose time is
//! up, as Redis's `serverCron` does. A sweep slower than `latency-monitor-threshold` is the
//! latency monitor's `expire-cycle` event.

use std::sync::atomic::Ordering;
use std::time::Duration;

use crate::state::Shared;
use crate::store::SHARDS;

/// How often INFO's instantaneous rates are sampled, whatever `hz` says (as Redis's
/// `run_with_period(100)`).
const RATE_PERIOD_MS: u64 = 100;

/// The cycle for `hz` (Redis clamps it to 1..=500): the period, and how many shards each
/// cycle sweeps so that every database is swept once a second.
fn cadence(hz: i64) -> (Duration, usize) {
    let hz = hz.clamp(1, 500) as usize;
    (
        Duration::from_micros(1_000_000 / hz as u64),
        SHARDS.div_ceil(hz),
    )
}

pub fn run(shared: &Shared) {
    let mut last_sample = 0;
    let mut last_migrate_check = 0;
    while !shared.shutdown.load(Ordering::Relaxed) {
        let (period, shards_per_cycle) = cadence(shared.tunables.int(crate::tunables::HZ));
        std::thread::sleep(period);
        crate::clock::tick();
        let now = crate::clock::now_ms();
        // Clients paused: the dataset stays constant (Redis's activeExpireCycle returns).
        // DEBUG SET-ACTIVE-EXPIRE 0: no sweep (keys still expire when they are looked up).
        let held = shared.pause.current(now) != crate::state::pause::OFF
            || !shared.settings.active_expire.load(Ordering::Relaxed);
        // The latency monitor's `expire-cycle` event: the whole sweep, timed only when the
        // monitor is on (as Redis's latencyStartMonitor).
        let threshold = shared
            .tunables
            .int(crate::tunables::LATENCY_MONITOR_THRESHOLD);
        let started = (threshold > 0 && !held).then(std::time::Instant::now);
        for i in (0..shared.store.len()).filter(|_| !held) {
            let fx = shared.scope(None);
            shared
                .store
                .with(&fx)
                .db(i)
                .expire_cycle(now, shards_per_cycle);
            // The sweep's deletions are one unit, unwrapped (Redis propagates them one by one).
            shared.propagation.flush_unit(&fx, false);
            crate::state::tracking::deliver_modified(shared, &fx, 0, &mut Vec::new());
            shared.loops.wake(&fx);
        }
        if let Some(started) = started {
            let ms = started.elapsed().as_millis() as u64;
            shared
                .latency
                .monitor
                .add_sample_if_needed(threshold, "expire-cycle", ms);
        }
        // Redis's eviction time proc: memory left over the limit when the commands stopped
        // (the time budget ran out, or CONFIG SET lowered maxmemory) keeps being evicted.
        crate::evict::perform(shared, now, None);
        if now.saturating_sub(last_sample) >= RATE_PERIOD_MS {
            last_sample = now;
            shared.sample_rates(now);
        }
        // Redis's serverCron closes idle MIGRATE connections once a second.
        if now / 1000 != last_migrate_check {
            last_migrate_check = now / 1000;
            shared.migrate_sockets.close_idle(last_migrate_check);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_hz_sweeps_each_database_once_a_second() {
        for hz in [-5, 0, 1, 10, 100, 500, 100_000] {
            let (period, shards) = cadence(hz);
            let per_second = 1_000_000 / period.as_micros() as usize;
            assert!(shards * per_second >= SHARDS, "hz {hz}");
            assert!(shards >= 1);
        }
        assert_eq!(
            cadence(10),
            (Duration::from_millis(100), SHARDS.div_ceil(10))
        );
    }
}
