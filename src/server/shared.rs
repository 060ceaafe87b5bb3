//! State shared by every worker thread: the store, live settings, the client table, stats and
//! the handles used to reach other loops.
//!
//! Threading rules: everything here is `Sync`. Settings are atomics (read on hot paths without a
//! lock); the client table is a mutex touched only on connect, disconnect and CLIENT commands;
//! statistics are per-worker ([`WorkerStats`]) and summed on demand, so no counter is shared
//! between threads on the request path.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use parking_lot::Mutex;

use crate::config::{Config, OutputLimits};
use crate::server::client::ClientTable;
use crate::server::worker::WorkerHandle;
use crate::store::Store;

/// Runtime-settable configuration.
pub struct Settings {
    pub maxclients: AtomicUsize,
    pub timeout: AtomicU64,
    pub proto_max_bulk_len: AtomicU64,
    pub client_query_buffer_limit: AtomicU64,
    pub output_limits: Mutex<OutputLimits>,
    pub loglevel: Mutex<String>,
}

impl Settings {
    pub fn from_config(cfg: &Config) -> Self {
        Settings {
            maxclients: AtomicUsize::new(cfg.maxclients),
            timeout: AtomicU64::new(cfg.timeout),
            proto_max_bulk_len: AtomicU64::new(cfg.proto_max_bulk_len),
            client_query_buffer_limit: AtomicU64::new(cfg.client_query_buffer_limit),
            output_limits: Mutex::new(cfg.output_limits),
            loglevel: Mutex::new(cfg.loglevel.clone()),
        }
    }
}

/// Per-command counters of one worker (only its own thread writes them).
#[derive(Default)]
pub struct CommandStat {
    pub calls: AtomicU64,
    pub usec: AtomicU64,
    pub rejected: AtomicU64,
    pub failed: AtomicU64,
}

/// One worker's statistics.
pub struct WorkerStats {
    pub commands: Box<[CommandStat]>,
    pub connections_received: AtomicU64,
    pub rejected_connections: AtomicU64,
    pub commands_processed: AtomicU64,
    pub net_input_bytes: AtomicU64,
    pub net_output_bytes: AtomicU64,
    pub expired_keys: AtomicU64,
    pub keyspace_hits: AtomicU64,
    pub keyspace_misses: AtomicU64,
    pub unexpected_error_replies: AtomicU64,
    pub total_error_replies: AtomicU64,
    /// Error replies by error code (`ERR`, `WRONGTYPE`, ...) for INFO errorstats. Only the
    /// owning loop writes it, and only on the error path; INFO locks it briefly to read.
    pub error_codes: Mutex<BTreeMap<String, u64>>,
}

impl WorkerStats {
    pub fn new(commands: usize) -> Self {
        WorkerStats {
            commands: (0..commands).map(|_| CommandStat::default()).collect(),
            connections_received: AtomicU64::new(0),
            rejected_connections: AtomicU64::new(0),
            commands_processed: AtomicU64::new(0),
            net_input_bytes: AtomicU64::new(0),
            net_output_bytes: AtomicU64::new(0),
            expired_keys: AtomicU64::new(0),
            keyspace_hits: AtomicU64::new(0),
            keyspace_misses: AtomicU64::new(0),
            unexpected_error_replies: AtomicU64::new(0),
            total_error_replies: AtomicU64::new(0),
            error_codes: Mutex::new(BTreeMap::new()),
        }
    }

    /// Counts one error reply whose text (after `-`) starts with `reply` (`ERR syntax error`).
    /// Records one executed command (Redis's `call()` statistics): `reply` is what it wrote.
    pub fn record_call(&self, index: usize, usec: u64, reply: &[u8]) {
        WorkerStats::add(&self.commands_processed, 1);
        let stat = &self.commands[index];
        WorkerStats::add(&stat.calls, 1);
        WorkerStats::add(&stat.usec, usec);
        if reply.first() == Some(&b'-') {
            WorkerStats::add(&stat.failed, 1);
            self.count_error(&reply[1..]);
        }
    }

    pub fn count_error(&self, reply: &[u8]) {
        WorkerStats::add(&self.total_error_replies, 1);
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

    /// Adds `n` to a counter owned by this worker (relaxed: single writer).
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
            &self.expired_keys,
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

/// The whole server's shared state.
pub struct Shared {
    pub config: Config,
    pub settings: Settings,
    pub store: Store,
    /// Clients blocked on keys (BLPOP & co), per key in blocking order.
    pub blocked: crate::commands::blocking::Blocked,
    pub clients: ClientTable,
    /// Live connections on all loops (maxclients is enforced against it).
    pub connected: AtomicUsize,
    /// One handle per worker, set once all loops are created.
    pub workers: OnceLock<Vec<WorkerHandle>>,
    pub stats: Vec<Arc<WorkerStats>>,
    pub shutdown: AtomicBool,
    pub started: Instant,
    pub run_id: String,
    /// The port actually bound (differs from config when 0 was asked).
    pub port: AtomicUsize,
    /// Keys removed by the active expiry thread.
    pub expired_by_cycle: AtomicU64,
    /// Replication id reported by INFO replication (we are always a master with no replicas).
    pub replid: String,
    /// Unix seconds at start (LASTSAVE, `rdb_last_save_time`: there is no persistence yet).
    pub started_unix: u64,
    /// Sampled by the expiry thread; read by INFO.
    pub rates: Mutex<Rates>,
    /// Highest RSS INFO has observed (`used_memory_peak`).
    pub peak_memory: AtomicU64,
    /// Pub/Sub subscriptions and MONITOR clients of every loop.
    pub pubsub: Arc<crate::pubsub::PubSub>,
}

impl Shared {
    pub fn new(config: Config) -> Self {
        use rand::Rng;
        // One statistics slot per command and per subcommand (`cmdstat_client|list`).
        let n_cmds = crate::commands::registry().all.len();
        let stats = (0..config.threads)
            .map(|_| Arc::new(WorkerStats::new(n_cmds)))
            .collect();
        let mut rng = rand::thread_rng();
        let mut hex40 = || -> String {
            (0..40)
                .map(|_| char::from_digit(rng.gen_range(0..16), 16).unwrap_or('0'))
                .collect()
        };
        let run_id = hex40();
        let replid = hex40();
        let store = Store::new(config.databases);
        store
            .events()
            .notify_flags
            .store(config.notify_keyspace_events, Ordering::Relaxed);
        Shared {
            settings: Settings::from_config(&config),
            store,
            blocked: crate::commands::blocking::Blocked::new(config.databases),
            clients: ClientTable::default(),
            connected: AtomicUsize::new(0),
            workers: OnceLock::new(),
            stats,
            shutdown: AtomicBool::new(false),
            started: Instant::now(),
            run_id,
            port: AtomicUsize::new(config.port as usize),
            expired_by_cycle: AtomicU64::new(0),
            replid,
            started_unix: crate::clock::now_ms() / 1000,
            rates: Mutex::new(Rates::starting(crate::clock::now_ms())),
            peak_memory: AtomicU64::new(0),
            pubsub: Arc::new(crate::pubsub::PubSub::new()),
            config,
        }
    }

    /// Takes one sample of the per-second rates (called by the expiry thread every cycle).
    pub fn sample_rates(&self, now_ms: u64) {
        let totals = [
            self.stat(|s| &s.commands_processed),
            self.stat(|s| &s.net_input_bytes),
            self.stat(|s| &s.net_output_bytes),
        ];
        self.rates.lock().sample(now_ms, totals);
    }

    /// Resets every worker's statistics (CONFIG RESETSTAT). Counters are single-writer
    /// relaxed atomics, so a reset racing a loop's increment may lose that one increment.
    pub fn reset_stats(&self) {
        for s in &self.stats {
            s.reset();
        }
        self.expired_by_cycle.store(0, Ordering::Relaxed);
        *self.rates.lock() = Rates::starting(crate::clock::now_ms());
        self.peak_memory.store(0, Ordering::Relaxed);
    }

    /// Sum of one counter over all workers.
    pub fn stat(&self, pick: impl Fn(&WorkerStats) -> &AtomicU64) -> u64 {
        self.stats
            .iter()
            .map(|s| pick(s).load(Ordering::Relaxed))
            .sum()
    }

    /// Asks every loop to stop (SIGTERM, SIGINT, SHUTDOWN).
    pub fn request_shutdown(&self) {
        self.shutdown.store(true, Ordering::SeqCst);
        if let Some(workers) = self.workers.get() {
            for w in workers {
                w.send(crate::server::worker::Msg::Shutdown);
            }
        }
    }
}
