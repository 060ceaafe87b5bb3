//! The network layer: the per-core event loops and their connections, the expiry thread and
//! the saver thread (start-up load, background saves, save points); [`start`] binds one
//! listener per loop and address ([`crate::state::listen`]), starts the loops and the threads, and
//! returns; [`Running::join`] runs the graceful shutdown ([`shutdown`]) when SIGINT/SIGTERM
//! or SHUTDOWN asks for it, and returns once everything stopped.

pub mod conn;
pub mod event_loop;
pub mod expirer;
pub mod proxy;
pub mod saver;
pub mod shutdown;
pub mod tls;

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
    // TLS first: a bad certificate stops the start-up before anything listens.
    let tls_config = if config.tls.port != 0 {
        match crate::tls::build(&config.tls) {
            Ok(c) => Some(c),
            Err(why) => {
                tracing::error!("{why}");
                return Err(io::Error::other(format!(
                    "Failed to configure TLS: {why}. Check logs for more info."
                )));
            }
        }
    } else {
        None
    };
    // As Redis, `port 0` with a TLS port means no plain listener; without one, port 0 asks
    // the kernel for a free port (reported on stdout, see main.rs).
    let plain = config.port != 0 || tls_config.is_none();
    let bound = crate::state::listen::bind_all(
        &config.bind,
        plain.then_some(config.port),
        tls_config.is_some().then_some(config.tls.port),
        threads,
    )?;
    let port = bound.port();
    let (addrs, tls_addrs) = (bound.addrs, bound.tls_addrs);
    let per_loop = bound.per_loop;
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
    // The encoding thresholds are process-wide (as Redis's server.* fields).
    for (limit, n) in &shared.config.encoding_limits {
        limit.set(*n);
    }
    if let Err(e) = shared.apply_oom_score_adj() {
        tracing::warn!("Unable to set oom_score_adj: {e}");
    }
    if let Some(c) = tls_config {
        shared.tls.install(c);
    }
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
        tls_addresses = ?tls_addrs,
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
