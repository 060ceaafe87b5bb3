//! Statistics: per-loop counters ([`LoopStats`], written only by their loop's thread and summed
//! on demand, so no counter is shared between threads on the request path) and the
//! per-second rates INFO reports ([`Rates`]).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

use hdrhistogram::Histogram;
use parking_lot::Mutex;

/// Per-command counters of one loop (only its own thread writes them).
#[derive(Default)]
pub struct CommandStat {
    pub calls: AtomicU64,
    pub usec: AtomicU64,
    pub rejected: AtomicU64,
    pub failed: AtomicU64,
    /// Latencies in nanoseconds (`latency-tracking`: LATENCY HISTOGRAM, INFO latencystats),
    /// created at the first recording, as Redis's per-command HdrHistogram. Only this loop
    /// records (its lock is uncontended then); readers merge every loop's under the lock.
    pub latency: Mutex<Option<Box<Histogram<u64>>>>,
}

/// Latencies recorded in a histogram are clamped to this range of nanoseconds, with 2
/// significant digits (Redis's LATENCY_HISTOGRAM_MIN_VALUE, _MAX_VALUE, _PRECISION).
pub const LATENCY_MIN_NS: u64 = 1;
pub const LATENCY_MAX_NS: u64 = 1_000_000_000;
const LATENCY_SIGFIG: u8 = 2;

/// An empty latency histogram with Redis's range and precision.
pub fn latency_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(LATENCY_MIN_NS, LATENCY_MAX_NS, LATENCY_SIGFIG)
        .expect("constant, valid bounds")
}

/// The latency at `percentile` of `h`, as Redis's `hdr_value_at_percentile`: the bucket
/// where the count reaches `percentile` of the total (rounded to nearest, at least 1), its
/// highest equivalent value (its lowest for percentile 0).
pub fn latency_percentile(h: &Histogram<u64>, percentile: f64) -> u64 {
    let wanted = ((percentile.min(100.0) / 100.0 * h.len() as f64) + 0.5) as u64;
    let wanted = wanted.max(1);
    let mut cumulative = 0u64;
    for bucket in h.iter_recorded() {
        cumulative += bucket.count_at_value();
        if cumulative >= wanted {
            let highest = bucket.value_iterated_to();
            return if percentile == 0.0 {
                h.lowest_equivalent(highest)
            } else {
                highest
            };
        }
    }
    0
}

/// LATENCY HISTOGRAM's cumulative distribution of `h`: (microseconds, calls up to them), as
/// Redis walks its HdrHistogram (a logarithmic iteration from 1024 ns, base 2, reporting
/// the highest value equivalent to the bucket where each step ends, only where the
/// cumulative count grew).
pub fn latency_cdf(h: &Histogram<u64>) -> Vec<(u64, u64)> {
    let mut out = Vec::new();
    let mut level: u64 = 1024;
    let mut level_low = h.lowest_equivalent(level);
    let (mut cumulative, mut reported) = (0u64, 0u64);
    let total = h.len();
    let mut highest = 0;
    for bucket in h.iter_all() {
        if cumulative >= total && reported >= total {
            break;
        }
        cumulative += bucket.count_at_value();
        highest = bucket.value_iterated_to();
        let lowest = h.lowest_equivalent(highest);
        while lowest >= level_low {
            if cumulative > reported {
                out.push((highest / 1000, cumulative));
                reported = cumulative;
            }
            level = level.saturating_mul(2);
            level_low = h.lowest_equivalent(level);
        }
    }
    // Past the last bucket before the next step's level: Redis's iterator reports where it
    // stopped, the last bucket.
    if cumulative > reported {
        out.push((highest / 1000, cumulative));
    }
    out
}

/// One loop's statistics.
pub struct LoopStats {
    pub commands: Box<[CommandStat]>,
    pub connections_received: AtomicU64,
    pub rejected_connections: AtomicU64,
    pub commands_processed: AtomicU64,
    pub net_input_bytes: AtomicU64,
    pub net_output_bytes: AtomicU64,
    pub keyspace_hits: AtomicU64,
    pub keyspace_misses: AtomicU64,
    pub unexpected_error_replies: AtomicU64,
    pub total_error_replies: AtomicU64,
    /// Changes made by this loop's executions (Redis's `server.dirty`; never reset by CONFIG
    /// RESETSTAT, as in Redis).
    pub dirty: AtomicU64,
    /// The highest propagation ticket of this loop's execution units (`appendfsync always`
    /// releases the loop's replies once the AOF is synced past it).
    pub last_ticket: AtomicU64,
    /// Error replies by error code (`ERR`, `WRONGTYPE`, ...) for INFO errorstats. Only the
    /// owning loop writes it, and only on the error path; INFO locks it briefly to read.
    pub error_codes: Mutex<BTreeMap<String, u64>>,
}

impl LoopStats {
    pub fn new(commands: usize) -> Self {
        LoopStats {
            commands: (0..commands).map(|_| CommandStat::default()).collect(),
            connections_received: AtomicU64::new(0),
            rejected_connections: AtomicU64::new(0),
            commands_processed: AtomicU64::new(0),
            net_input_bytes: AtomicU64::new(0),
            net_output_bytes: AtomicU64::new(0),
            keyspace_hits: AtomicU64::new(0),
            keyspace_misses: AtomicU64::new(0),
            unexpected_error_replies: AtomicU64::new(0),
            total_error_replies: AtomicU64::new(0),
            dirty: AtomicU64::new(0),
            last_ticket: AtomicU64::new(0),
            error_codes: Mutex::new(BTreeMap::new()),
        }
    }

    /// Records one executed command (Redis's `call()` statistics): `reply` is what it wrote.
    pub fn record_call(&self, index: usize, usec: u64, reply: &[u8]) {
        LoopStats::add(&self.commands_processed, 1);
        let stat = &self.commands[index];
        LoopStats::add(&stat.calls, 1);
        LoopStats::add(&stat.usec, usec);
        if reply.first() == Some(&b'-') {
            LoopStats::add(&stat.failed, 1);
            self.count_error(&reply[1..]);
        }
    }

    /// Records `usec` in command `index`'s latency histogram (Redis's
    /// `updateCommandLatencyHistogram`: in nanoseconds, clamped to the tracked range).
    #[inline]
    pub fn record_latency(&self, index: usize, usec: u64) {
        let ns = usec
            .saturating_mul(1000)
            .clamp(LATENCY_MIN_NS, LATENCY_MAX_NS);
        let mut h = self.commands[index].latency.lock();
        h.get_or_insert_with(|| Box::new(latency_histogram()))
            .saturating_record(ns);
    }

    /// Counts one error reply whose text (after `-`) starts with `reply` (`ERR syntax error`).
    pub fn count_error(&self, reply: &[u8]) {
        LoopStats::add(&self.total_error_replies, 1);
        let end = reply
            .iter()
            .position(|&b| b == b' ' || b == b'\r')
            .unwrap_or(reply.len())
            .min(64);
        let code = String::from_utf8_lossy(&reply[..end]);
        let mut codes = self.error_codes.lock();
        if let Some(n) = codes.get_mut(code.as_ref()) {
            *n += 1;
        } else if codes.len() < 128 {
            // Redis caps the table at 128 distinct codes; later new codes are not tracked.
            codes.insert(code.into_owned(), 1);
        }
    }

    /// Records that one of this loop's units took propagation ticket `ticket`.
    #[inline]
    pub fn note_ticket(&self, ticket: u64) {
        if ticket > self.last_ticket.load(Ordering::Relaxed) {
            self.last_ticket.store(ticket, Ordering::Relaxed);
        }
    }

    /// Adds `n` to a counter owned by this loop (relaxed: single writer).
    #[inline]
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.store(counter.load(Ordering::Relaxed) + n, Ordering::Relaxed);
    }

    pub fn reset(&self) {
        for c in self.commands.iter() {
            c.calls.store(0, Ordering::Relaxed);
            c.usec.store(0, Ordering::Relaxed);
            c.rejected.store(0, Ordering::Relaxed);
            c.failed.store(0, Ordering::Relaxed);
            *c.latency.lock() = None;
        }
        for c in [
            &self.connections_received,
            &self.rejected_connections,
            &self.commands_processed,
            &self.net_input_bytes,
            &self.net_output_bytes,
            &self.keyspace_hits,
            &self.keyspace_misses,
            &self.unexpected_error_replies,
            &self.total_error_replies,
        ] {
            c.store(0, Ordering::Relaxed);
        }
        self.error_codes.lock().clear();
    }
}

/// Per-second rates sampled every expiry cycle, as Redis's `instantaneous_*` INFO fields
/// (the average of the last [`RATE_SAMPLES`] samples).
pub const RATE_SAMPLES: usize = 16;

#[derive(Default)]
pub struct Rates {
    last_ms: u64,
    last: [u64; 3],
    samples: [[u64; RATE_SAMPLES]; 3],
    next: usize,
}

/// Which rate: commands, input bytes, output bytes.
#[derive(Clone, Copy)]
pub enum Rate {
    Ops = 0,
    NetInput = 1,
    NetOutput = 2,
}

impl Rates {
    /// Rates whose baseline is all-zero totals at `now_ms` (server start, or a stats reset),
    /// so the first sample already counts what happened since.
    pub fn starting(now_ms: u64) -> Self {
        Rates {
            last_ms: now_ms,
            ..Rates::default()
        }
    }

    /// Records the current totals at `now_ms`.
    pub fn sample(&mut self, now_ms: u64, totals: [u64; 3]) {
        if self.last_ms != 0 && now_ms > self.last_ms {
            let dt = now_ms - self.last_ms;
            for (i, total) in totals.iter().enumerate() {
                let delta = total.saturating_sub(self.last[i]);
                self.samples[i][self.next] = delta * 1000 / dt;
            }
            self.next = (self.next + 1) % RATE_SAMPLES;
        }
        self.last_ms = now_ms;
        self.last = totals;
    }

    /// The average per-second rate over the recorded samples.
    pub fn get(&self, which: Rate) -> u64 {
        self.samples[which as usize].iter().sum::<u64>() / RATE_SAMPLES as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cdf_reports_where_redis_walk_ends_each_step() {
        let mut h = latency_histogram();
        assert!(latency_cdf(&h).is_empty());
        // 1 µs: the step ending at 1024 ns reports its bucket's highest value, 1031 ns.
        h.record(1_000).unwrap();
        assert_eq!(latency_cdf(&h), [(1, 1)]);
        // 5 µs falls in the step that ends in the bucket of 8192 ns (8192..8255).
        h.record(5_000).unwrap();
        assert_eq!(latency_cdf(&h), [(1, 1), (8, 2)]);
        h.record(5_000).unwrap();
        h.record(LATENCY_MAX_NS).unwrap();
        let cdf = latency_cdf(&h);
        // Checked against Redis 7.0.15's hdr_histogram.c walked as LATENCY HISTOGRAM walks it.
        assert_eq!(cdf, [(1, 1), (8, 3), (1073741, 4)]);
        let mut h = latency_histogram();
        for v in [
            1, 2, 3, 999, 1000, 1023, 1024, 1500, 30000, 700000, 12345678,
        ] {
            h.record(v).unwrap();
        }
        assert_eq!(
            latency_cdf(&h),
            [(1, 7), (2, 8), (33, 9), (1056, 10), (16908, 11)]
        );
        let at = |p| latency_percentile(&h, p);
        assert_eq!(
            [at(0.0), at(33.0), at(50.0), at(99.0)],
            [1, 999, 1023, 12386303]
        );
    }

    #[test]
    fn percentiles_round_to_the_nearest_count() {
        let mut h = latency_histogram();
        assert_eq!(latency_percentile(&h, 50.0), 0);
        for v in [
            1_000, 2_000, 3_000, 4_000, 5_000, 6_000, 7_000, 8_000, 9_000, 10_000,
        ] {
            h.record(v).unwrap();
        }
        // 33% of 10 is 3.3: the third value (a ceiling would take the fourth).
        assert_eq!(latency_percentile(&h, 33.0), h.highest_equivalent(3_000));
        assert_eq!(latency_percentile(&h, 50.0), h.highest_equivalent(5_000));
        assert_eq!(latency_percentile(&h, 99.9), h.highest_equivalent(10_000));
        assert_eq!(latency_percentile(&h, 100.0), h.highest_equivalent(10_000));
        assert_eq!(latency_percentile(&h, 0.0), h.lowest_equivalent(1_000));
    }

    #[test]
    fn latencies_are_clamped_and_reset() {
        let stats = LoopStats::new(2);
        stats.record_latency(1, 0);
        stats.record_latency(1, u64::MAX);
        {
            let h = stats.commands[1].latency.lock();
            let h = h.as_ref().unwrap();
            assert_eq!(h.len(), 2);
            assert_eq!(h.min(), LATENCY_MIN_NS);
            assert!(h.max() >= LATENCY_MAX_NS);
        }
        assert!(stats.commands[0].latency.lock().is_none());
        stats.reset();
        assert!(stats.commands[1].latency.lock().is_none());
    }
}
