//! Server start-up and shutdown: binds one listener per loop and address, starts the loops and
//! the expiry thread, and waits for SIGINT/SIGTERM or SHUTDOWN.

pub mod client;
pub mod conn;
pub mod expirer;
pub mod listener;
pub mod shared;
pub mod worker;

use std::io;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread::JoinHandle;

use crate::config::Config;
use shared::Shared;
use worker::Worker;

/// A started server: its shared state and threads.
pub struct Running {
    pub shared: Arc<Shared>,
    threads: Vec<JoinHandle<()>>,
}

/// Binds and starts everything; returns once the loops are accepting.
pub fn start(config: Config) -> io::Result<Running> {
    crate::clock::tick();
    // quanta calibrates its TSC clock on first use (milliseconds of work): do it now rather
    // than inside the first client's request.
    let _ = quanta::Instant::now();
    let threads = config.threads;
    let mut addrs = Vec::new();
    for host in &config.bind {
        addrs.extend(listener::resolve(host, config.port)?);
    }
    // Bind loop 0 first so that port 0 resolves to one concrete port for every loop.
    let mut per_worker: Vec<Vec<mio::net::TcpListener>> = Vec::with_capacity(threads);
    let mut first = Vec::new();
    for addr in &mut addrs {
        let l = listener::bind(*addr)?;
        addr.set_port(l.local_addr()?.port());
        first.push(l);
    }
    per_worker.push(first);
    for _ in 1..threads {
        per_worker.push(
            addrs
                .iter()
                .map(|a| listener::bind(*a))
                .collect::<io::Result<_>>()?,
        );
    }
    let port = addrs[0].port();
    let shared = Arc::new(Shared::new(config));
    shared.port.store(port as usize, Ordering::Relaxed);
    let mut workers = Vec::with_capacity(threads);
    let mut handles = Vec::with_capacity(threads);
    for (i, listeners) in per_worker.into_iter().enumerate() {
        let (w, h) = Worker::new(i, listeners, shared.clone())?;
        workers.push(w);
        handles.push(h);
    }
    shared.pubsub.set_workers(handles.clone());
    let _ = shared.workers.set(handles);
    // Keyspace notifications publish through the registry. The sink runs under a store shard
    // lock, so it holds only the registry (which never locks the store), not `Shared`.
    let pubsub = shared.pubsub.clone();
    shared
        .store
        .events()
        .set_sink(Box::new(move |channel: &[u8], message: &[u8]| {
            pubsub.publish(crate::pubsub::Space::Global, channel, message);
        }));
    let mut joins = Vec::with_capacity(threads + 1);
    for (i, w) in workers.into_iter().enumerate() {
        joins.push(
            std::thread::Builder::new()
                .name(format!("ferrokv-loop-{i}"))
                .spawn(move || w.run())?,
        );
    }
    let s = shared.clone();
    joins.push(
        std::thread::Builder::new()
            .name("ferrokv-expire".into())
            .spawn(move || expirer::run(&s))?,
    );
    tracing::info!(
        version = env!("CARGO_PKG_VERSION"),
        addresses = ?addrs,
        threads,
        "ferrokv ready to accept connections"
    );
    Ok(Running {
        shared,
        threads: joins,
    })
}

impl Running {
    /// Waits for every thread to finish (after a shutdown request).
    pub fn join(self) {
        for t in self.threads {
            let _ = t.join();
        }
    }
}
