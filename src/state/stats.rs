//! Statistics: per-loop counters ([`LoopStats`], written only by their loop's thread and summed
//! on demand, so no counter is shared between threads on the request path) and the
//! per-second rates INFO reports ([`Rates`]).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;

/// Per-command counters of one loop (only its own thread writes them).
#[derive(Default)]
pub struct CommandStat {
    pub calls: AtomicU64,
    pub usec: AtomicU64,
    pub rejected: AtomicU64,
    pub failed: AtomicU64,
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
