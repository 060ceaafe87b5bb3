//! The network layer: the per-core event loops and their connections, the listeners, the
//! expiry thread and the saver thread (start-up load, background saves, save points);
//! [`start`] binds one listener per loop and address, starts the loops and the threads, and
//! returns; [`Running::join`] runs the graceful shutdown ([`shutdown`]) when SIGINT/SIGTERM
//! or SHUTDOWN asks for it, and returns once everything stopped.

pub mod conn;
pub mod event_loop;
pub mod expirer;
pub mod listener;
pub mod proxy;
pub mod saver;
pub mod shutdown;

use std::io;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread::JoinHandle;

use crate::config::Config;
use crate::state::Shared;
use event_loop::EventLoop;

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
    let mut per_loop: Vec<Vec<mio::net::TcpListener>> = Vec::with_capacity(threads);
    let mut first = Vec::new();
    for addr in &mut addrs {
        let l = listener::bind(*addr)?;
        addr.set_port(l.local_addr()?.port());
        first.push(l);
    }
    per_loop.push(first);
    for _ in 1..threads {
        per_loop.push(
            addrs
                .iter()
                .map(|a| listener::bind(*a))
                .collect::<io::Result<_>>()?,
        );
    }
    let port = addrs[0].port();
    let users = crate::acl::Users::configured(
        config.requirepass.as_deref().map(str::as_bytes),
        &config.acl,
    )
    .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    let mut shared = Shared::new(config, crate::commands::registry().all.len());
    shared.users = users;
    let shared = Arc::new(shared);
    crate::memory::alloc::mark_startup();
    shared.port.store(port as usize, Ordering::Relaxed);
    let mut loops = Vec::with_capacity(threads);
    let mut handles = Vec::with_capacity(threads);
    for (i, listeners) in per_loop.into_iter().enumerate() {
        let (l, h) = EventLoop::new(i, listeners, shared.clone())?;
        loops.push(l);
        handles.push(h);
    }
    shared.loops.set(handles);
    shared.install_notifications();
    // Commands get -LOADING until the RDB file (if any) is loaded, which happens once the
    // loops run.
    shared
        .propagation
        .attach(Box::new(crate::state::propagate::AofSink(
            shared.aof.clone(),
        )));
    let has_file = crate::commands::aof::has_data_at_startup(&shared);
    if has_file {
        shared.persistence.set_loading(true);
    }
    let mut joins = Vec::with_capacity(threads + 1);
    for (i, w) in loops.into_iter().enumerate() {
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
    let s = shared.clone();
    joins.push(
        std::thread::Builder::new()
            .name("ferrokv-saver".into())
            .spawn(move || {
                if has_file {
                    saver::load_at_startup(&s);
                }
                saver::run(&s)
            })?,
    );
    let s = shared.clone();
    joins.push(
        std::thread::Builder::new()
            .name("ferrokv-aof-fsync".into())
            .spawn(move || saver::fsync_loop(&s))?,
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
    /// Runs shutdown requests until one succeeds ([`shutdown::coordinate`]), then waits for
    /// every thread to finish.
    pub fn join(self) {
        shutdown::coordinate(&self.shared);
        for t in self.threads {
            let _ = t.join();
        }
    }
}
