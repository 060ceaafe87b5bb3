//! State shared by every worker thread: the store, live settings, the client table, stats and
//! the handles used to reach other loops.
//!
//! Threading rules: everything here is `Sync`. Settings are atomics (read on hot paths without a
//! lock); the client table is a mutex touched only on connect, disconnect and CLIENT commands;
//! statistics are per-worker ([`WorkerStats`]) and summed on demand, so no counter is shared
//! between threads on the request path.

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
    /// Bumped whenever `output_limits` changes, so loops can cache it.
    pub output_limits_version: AtomicU64,
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
            output_limits_version: AtomicU64::new(0),
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
    }
}

/// The whole server's shared state.
pub struct Shared {
    pub config: Config,
    pub settings: Settings,
    pub store: Store,
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
}

impl Shared {
    pub fn new(config: Config) -> Self {
        use rand::Rng;
        let n_cmds = crate::commands::registry().commands.len();
        let stats = (0..config.threads)
            .map(|_| Arc::new(WorkerStats::new(n_cmds)))
            .collect();
        let mut rng = rand::thread_rng();
        let run_id: String = (0..40)
            .map(|_| char::from_digit(rng.gen_range(0..16), 16).unwrap_or('0'))
            .collect();
        Shared {
            settings: Settings::from_config(&config),
            store: Store::new(config.databases),
            clients: ClientTable::default(),
            connected: AtomicUsize::new(0),
            workers: OnceLock::new(),
            stats,
            shutdown: AtomicBool::new(false),
            started: Instant::now(),
            run_id,
            port: AtomicUsize::new(config.port as usize),
            expired_by_cycle: AtomicU64::new(0),
            config,
        }
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
