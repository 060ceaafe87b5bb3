//! [`Shared`]: the state every loop shares — the store, live settings, the client table, the
//! registries of subscribers and blocked clients, statistics, the loops' mailboxes and the
//! propagation sink.
//!
//! Threading rules: everything here is `Sync`. Settings are atomics (read on hot paths without a
//! lock); the client table is a mutex touched only on connect, disconnect and CLIENT commands;
//! statistics are per loop ([`LoopStats`]) and summed on demand, so no counter is shared
//! between threads on the request path.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use parking_lot::Mutex;

use super::client::{Client, ClientTable};
use super::mailbox::{Mailboxes, Msg};
use super::propagate::Propagation;
use super::stats::{LoopStats, Rates};
use crate::blocked::BlockedOn;
use crate::config::{Config, OutputLimits};
use crate::persist::Persistence;
use crate::pubsub::{PubSub, Space};
use crate::store::{Scope, Store};

/// Runtime-settable configuration.
pub struct Settings {
    pub maxclients: AtomicUsize,
    pub timeout: AtomicU64,
    pub proto_max_bulk_len: AtomicU64,
    pub client_query_buffer_limit: AtomicU64,
    pub output_limits: Mutex<OutputLimits>,
    pub loglevel: Mutex<String>,
    /// `protected-mode`: without a password for `default`, only loopback clients are served.
    pub protected_mode: AtomicBool,
    /// `shutdown-timeout`: seconds a graceful shutdown waits for replies to drain.
    pub shutdown_timeout: AtomicU64,
    /// `shutdown-on-sigterm` / `shutdown-on-sigint`: [`super::shutdown::flags`].
    pub shutdown_on_sigterm: AtomicU8,
    pub shutdown_on_sigint: AtomicU8,
    /// Whether the expiry thread deletes expired keys nobody touches (DEBUG SET-ACTIVE-EXPIRE,
    /// Redis's `active_expire_enabled`).
    pub active_expire: AtomicBool,
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
            protected_mode: AtomicBool::new(cfg.protected_mode),
            shutdown_timeout: AtomicU64::new(cfg.shutdown_timeout),
            shutdown_on_sigterm: AtomicU8::new(cfg.shutdown_on_sigterm),
            shutdown_on_sigint: AtomicU8::new(cfg.shutdown_on_sigint),
            active_expire: AtomicBool::new(true),
        }
    }
}

/// The whole server's shared state.
pub struct Shared {
    pub config: Config,
    pub settings: Settings,
    pub store: Store,
    /// Clients blocked on keys (BLPOP & co), per key in blocking order.
    pub blocked: crate::blocked::Blocked,
    pub clients: ClientTable,
    /// Live connections on all loops (maxclients is enforced against it).
    pub connected: AtomicUsize,
    /// The loops' inboxes (set once all loops are created; absent in socket-free sessions).
    pub loops: Arc<Mailboxes>,
    /// Where executed writes go (AOF, replicas): see [`super::propagate`].
    pub propagation: Propagation,
    pub stats: Vec<Arc<LoopStats>>,
    pub shutdown: AtomicBool,
    pub started: Instant,
    pub run_id: String,
    /// The plain port listened on (differs from config when 0 was asked; 0 after CONFIG SET
    /// port 0, which closes the plain listeners as Redis).
    pub port: AtomicUsize,
    /// The `bind` addresses now listened on (CONFIG SET bind changes them). Its lock also
    /// serialises listener changes: whoever holds it binds the new sets and queues them for
    /// every loop, so all loops get the changes in one order.
    pub bind: Mutex<Vec<String>>,
    /// Replication id reported by INFO replication (we are always a master with no replicas);
    /// DEBUG CHANGE-REPL-ID draws a new one.
    pub replid: Mutex<String>,
    /// Unix seconds at start.
    pub started_unix: u64,
    /// Sampled by the expiry thread; read by INFO.
    pub rates: Mutex<Rates>,
    /// Highest RSS INFO has observed (`used_memory_peak`).
    pub peak_memory: AtomicU64,
    /// Pub/Sub subscriptions and MONITOR clients of every loop.
    pub pubsub: Arc<PubSub>,
    /// Client-side caching (CLIENT TRACKING).
    pub tracking: super::tracking::Tracking,
    /// RDB settings, save and load state (see [`crate::persist`]).
    pub persistence: Persistence,
    /// The append-only file (attached as the propagation sink by `net::start`).
    pub aof: Arc<crate::persist::aof::Aof>,
    /// Users and their passwords (ACL).
    pub users: crate::acl::Users,
    /// CLIENT PAUSE and the shutdown's write pause (see [`super::pause`]).
    pub pause: super::pause::Pause,
    /// The graceful shutdown's requests and drain reports (see [`super::shutdown`]);
    /// `shutdown` above is its last step, the order to stop.
    pub graceful: super::shutdown::ShutdownState,
    /// `maxmemory`, eviction settings and statistics (the policy and LFU parameters are
    /// process-wide: [`crate::memory::policy`]).
    pub memory: crate::memory::Limits,
    /// The `tls-*` settings and the rustls context new TLS connections use.
    pub tls: crate::tls::TlsContext,
    /// The stored CONFIG parameters ([`crate::tunables`]).
    pub tunables: crate::tunables::Tunables,
    /// `oom_score_adj` as the process started, and whether ferrokv has changed it since
    /// (`oom-score-adj no` then restores it, as Redis's setOOMScoreAdj).
    pub oom_base: i64,
    pub oom_changed: AtomicBool,
    /// The slow log and the latency monitor (SLOWLOG, LATENCY).
    pub latency: super::latency::Latency,
    /// MIGRATE's cached connections to its targets.
    pub migrate_sockets: super::migrate::MigrateSockets,
    /// Memory held by clients' buffers, and client eviction's count.
    pub client_memory: super::client_eviction::ClientMemory,
    /// EVAL's script cache and the one-script-at-a-time lock.
    pub scripts: crate::lua::cache::ScriptCache,
}

impl Shared {
    /// The FUNCTION libraries (kept with the persistence state, which saves them).
    pub fn functions(&self) -> &crate::lua::functions::Libraries {
        &self.persistence.functions
    }

    /// The state of a server with `config`, keeping statistics for `commands` registry slots
    /// (every command and subcommand: `cmdstat_client|list`).
    pub fn new(config: Config, commands: usize) -> Self {
        use rand::Rng;
        let stats = (0..config.threads)
            .map(|_| Arc::new(LoopStats::new(commands)))
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
        let pause = super::pause::Pause::new(store.expiry_hold().clone());
        let persistence = Persistence::new(config.rdb.clone(), crate::clock::now_ms() / 1000);
        store
            .events()
            .notify_flags
            .store(config.notify_keyspace_events, Ordering::Relaxed);
        Shared {
            settings: Settings::from_config(&config),
            store,
            blocked: crate::blocked::Blocked::new(config.databases),
            clients: ClientTable::default(),
            connected: AtomicUsize::new(0),
            loops: Arc::new(Mailboxes::default()),
            propagation: Propagation::default(),
            stats,
            shutdown: AtomicBool::new(false),
            started: Instant::now(),
            run_id,
            port: AtomicUsize::new(config.port as usize),
            bind: Mutex::new(config.bind.clone()),
            replid: Mutex::new(replid),
            started_unix: crate::clock::now_ms() / 1000,
            rates: Mutex::new(Rates::starting(crate::clock::now_ms())),
            peak_memory: AtomicU64::new(0),
            pubsub: Arc::new(PubSub::new()),
            tracking: super::tracking::Tracking::new(),
            scripts: Default::default(),
            aof: Arc::new(crate::persist::aof::Aof::new(
                &config.rdb.dir,
                config.aof.clone(),
                persistence.gate_cell(),
            )),
            persistence,
            users: crate::acl::Users::new(config.requirepass.as_deref().map(str::as_bytes)),
            pause,
            graceful: super::shutdown::ShutdownState::new(config.threads),
            memory: {
                use crate::memory::policy;
                policy::set_policy(config.maxmemory_policy);
                policy::set_lfu_log_factor(config.lfu_log_factor);
                policy::set_lfu_decay_time(config.lfu_decay_time);
                crate::memory::Limits::new(
                    config.maxmemory,
                    config.maxmemory_samples,
                    config.maxmemory_eviction_tenacity,
                )
            },
            tls: crate::tls::TlsContext::new(config.tls.clone(), None),
            tunables: crate::tunables::Tunables::new(&config.tunables),
            oom_base: crate::tunables::read_oom_score_adj(),
            oom_changed: AtomicBool::new(false),
            latency: super::latency::Latency::default(),
            client_memory: Default::default(),
            migrate_sockets: super::migrate::MigrateSockets::default(),
            config,
        }
    }

    /// Applies `oom-score-adj` / `oom-score-adj-values` to the process (at start-up and after
    /// CONFIG SET of either).
    pub fn apply_oom_score_adj(&self) -> Result<(), String> {
        use crate::tunables::{OOM_SCORE_ADJ, OOM_SCORE_ADJ_VALUES};
        let mode = self.tunables.get(OOM_SCORE_ADJ);
        let values = self.tunables.get(OOM_SCORE_ADJ_VALUES);
        let changed = self.oom_changed.load(Ordering::Relaxed);
        crate::tunables::apply_oom_score_adj(&mode, &values, self.oom_base, changed)?;
        self.oom_changed.store(mode != "no", Ordering::Relaxed);
        Ok(())
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

    /// A fresh execution scope for loop `home` (`None`: not a loop), recording writes for
    /// propagation while a sink listens.
    pub fn scope(&self, home: Option<usize>) -> Scope {
        Scope::new(home, Some(self.propagation.sequencer()))
    }

    /// Publishes `message` on `channel` for execution `fx` (PUBLISH, SPUBLISH): returns the
    /// receivers counted.
    pub fn publish(&self, space: Space, channel: &[u8], message: &[u8], fx: &Scope) -> usize {
        let out = self.pubsub.publish(space, channel, message, fx.caller());
        self.loops.deliver(out, fx)
    }

    /// Publishes keyspace notifications through the Pub/Sub registry from now on (the store
    /// calls the sink under a shard lock: it only queues; the loops are woken when the
    /// execution ends).
    pub fn install_notifications(&self) {
        let pubsub = self.pubsub.clone();
        let loops = self.loops.clone();
        self.store.events().set_sink(Box::new(
            move |channel: &[u8], message: &[u8], fx: &Scope| {
                let out = pubsub.publish(Space::Global, channel, message, fx.caller());
                loops.deliver(out, fx);
            },
        ));
    }

    /// Forgets a connection that is closing: its wait in a blocking command ends without a
    /// trace (returned, so its loop can drop the timer), its watches and subscriptions are
    /// dropped, and it leaves the client table.
    pub fn disconnect(&self, client: &mut Client) -> Option<BlockedOn> {
        let events = self.store.events();
        let blocked = client.blocked.take();
        if let Some(b) = &blocked {
            self.blocked.finish(events, &b.waiter);
        }
        let id = client.id;
        client.watched.release(events, id);
        if client.tracking {
            client.tracking = false;
            let n = self.tracking.disable(id);
            events
                .tracking
                .store(n, std::sync::atomic::Ordering::Relaxed);
        }
        self.pubsub.clear(client.member());
        self.client_memory.publish(&client.info, 0);
        self.clients.remove(id);
        blocked
    }

    /// Resets every loop's statistics (CONFIG RESETSTAT). Counters are single-writer
    /// relaxed atomics, so a reset racing a loop's increment may lose that one increment.
    pub fn reset_stats(&self) {
        for s in &self.stats {
            s.reset();
        }
        self.store.expiry_hold().reset_expired();
        *self.rates.lock() = Rates::starting(crate::clock::now_ms());
        self.peak_memory.store(0, Ordering::Relaxed);
        crate::memory::alloc::reset_peak();
    }

    /// Changes made to the dataset since start-up (Redis's `server.dirty`, never reset).
    pub fn dirty(&self) -> u64 {
        self.stat(|l| &l.dirty)
    }

    /// Sum of one counter over all loops.
    pub fn stat(&self, pick: impl Fn(&LoopStats) -> &AtomicU64) -> u64 {
        self.stats
            .iter()
            .map(|s| pick(s).load(Ordering::Relaxed))
            .sum()
    }

    /// Asks every loop to stop (SIGTERM, SIGINT, SHUTDOWN). Wakes them at once: call it with
    /// no shard lock held (SHUTDOWN is refused inside MULTI).
    pub fn request_shutdown(&self) {
        self.shutdown.store(true, Ordering::SeqCst);
        self.loops.broadcast_now(|| Msg::Shutdown);
    }
}
