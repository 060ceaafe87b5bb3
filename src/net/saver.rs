//! The saver thread: writes the snapshots BGSAVE took ([`crate::persist::Persistence::submit`])
//! and checks the `save` points every 100 ms, starting a background save when one is due
//! (Redis's `serverCron` rule). Only this thread writes background saves, so they never run on
//! an event loop.

use std::sync::atomic::Ordering;
use std::time::Duration;

use crate::commands::aof::{background_rewrite, rewrite_check};
use crate::commands::persistence::{background_write, save_point_check};
use crate::state::Shared;

const CHECK_EVERY: Duration = Duration::from_millis(100);

pub fn run(shared: &Shared) {
    lower_priority();
    while !shared.shutdown.load(Ordering::Relaxed) {
        match shared.persistence.next_job(CHECK_EVERY) {
            Some(job) if job.rewrite.is_some() => background_rewrite(shared, job),
            Some(job) => background_write(shared, job),
            None => {
                save_point_check(shared);
                rewrite_check(shared);
            }
        }
    }
}

/// Background saves and rewrites yield the CPU to the event loops: where they share a core,
/// a loop that wakes up preempts the save at once instead of waiting out its time slice, so
/// request latency barely moves during a BGSAVE (Redis's forked child competes as an equal).
/// The save still gets every cycle the loops leave idle. (The start-up load, which runs
/// before this, keeps the normal priority.)
fn lower_priority() {
    // SAFETY: gettid has no preconditions; setpriority on our own thread id only changes this
    // thread's nice value (Linux applies PRIO_PROCESS to a single thread).
    let rc = unsafe {
        let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
        libc::setpriority(libc::PRIO_PROCESS, tid, SAVER_NICE)
    };
    if rc != 0 {
        tracing::debug!(error = %std::io::Error::last_os_error(), "cannot lower the saver thread's priority");
    }
}

const SAVER_NICE: libc::c_int = 19;

/// The `everysec` fsync thread: once a second, the AOF's buffer is written and synced.
pub fn fsync_loop(shared: &Shared) {
    while !shared.shutdown.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(100));
        let now = crate::clock::now_ms();
        if now / 1000 != LAST.swap(now / 1000, Ordering::Relaxed) {
            shared.aof.fsync_tick();
        }
    }
}

static LAST: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Loads the data at start-up while the loops already answer (`-LOADING` meanwhile): the AOF
/// when `appendonly yes` (see [`crate::commands::aof::open_at_startup`]), else
/// `dir/dbfilename`. Data that cannot be loaded stops the server, as in Redis.
pub fn load_at_startup(shared: &Shared) {
    let p = &shared.persistence;
    if shared.aof.settings().enabled {
        if let Err(e) = crate::commands::aof::open_at_startup(shared) {
            tracing::error!("Fatal error loading the AOF: {e}. Exiting.");
            eprintln!("ferrokv: Fatal error loading the AOF: {e}. Exiting.");
            std::process::exit(1);
        }
        p.set_loading(false);
        return;
    }
    let path = p.settings().path();
    let started = std::time::Instant::now();
    let fx = shared.scope(None);
    let loaded =
        crate::persist::load::load_file(&shared.store, &fx, &path, p, false, shared.config.threads);
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
