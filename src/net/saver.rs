//! The saver thread: writes the snapshots BGSAVE took ([`crate::persist::Persistence::submit`])
//! and checks the `save` points every 100 ms, starting a background save when one is due
//! (Redis's `serverCron` rule). Only this thread writes background saves, so they never run on
//! an event loop.

use std::sync::atomic::Ordering;
use std::time::Duration;

use crate::commands::persistence::{background_write, save_point_check};
use crate::state::Shared;

const CHECK_EVERY: Duration = Duration::from_millis(100);

pub fn run(shared: &Shared) {
    while !shared.shutdown.load(Ordering::Relaxed) {
        match shared.persistence.next_job(CHECK_EVERY) {
            Some(job) => background_write(shared, job),
            None => save_point_check(shared),
        }
    }
}

/// Loads `dir/dbfilename` at start-up while the loops already answer (`-LOADING` meanwhile).
/// A file that cannot be loaded stops the server, as in Redis.
pub fn load_at_startup(shared: &Shared) {
    let p = &shared.persistence;
    let path = p.settings().path();
    let started = std::time::Instant::now();
    let fx = shared.scope(None);
    let loaded = crate::persist::load::load_file(&shared.store, &fx, &path, p, false);
    drop(fx);
    match loaded {
        Ok(Some(l)) => {
            tracing::info!(
                "Done loading RDB, keys loaded: {}, keys expired: {}.",
                l.keys,
                l.expired
            );
            tracing::info!(
                "DB loaded from disk: {:.3} seconds",
                started.elapsed().as_secs_f64()
            );
        }
        Ok(None) => {}
        Err(e) => {
            tracing::error!("Fatal error loading the DB: {e}. Exiting.");
            eprintln!("ferrokv: Fatal error loading the DB: {e}. Exiting.");
            std::process::exit(1);
        }
    }
    p.set_loading(false);
}
