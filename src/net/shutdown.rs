//! The graceful shutdown (Redis 7.0's `prepareForShutdown` / `finishShutdown`), run by the
//! main thread for SIGTERM, SIGINT and SHUTDOWN alike.
//!
//! # Sequence
//! 1. Unless `NOW` (or `shutdown-timeout 0`): writes are paused (the shutdown's own pause
//!    purpose, so CLIENT UNPAUSE does not lift it), every loop closes its listening sockets —
//!    new connections are refused — and keeps serving the clients it has: commands already
//!    read finish, reads go on, and replies are written as clients read them. The wait ends
//!    when every loop reports that none of its clients has output waiting, or after
//!    `shutdown-timeout` seconds, or on SHUTDOWN ABORT. (Redis waits here for its replicas to
//!    acknowledge the replication offset; ferrokv has no replicas yet, so its wait is for the
//!    replies to reach the clients.)
//! 2. `finishShutdown`: a running background save is stopped, the AOF is written and
//!    fsynced, and the dataset is saved when save points are configured or `SAVE` was given
//!    (never with `NOSAVE`, nor while loading). A failed save, without `FORCE`, cancels.
//! 3. The loops stop: each writes what it still holds for its clients once (best effort) and
//!    closes them; the process exits with status 0.
//!
//! Cancelled (ABORT, or a failed save): the write pause is lifted, the loops listen again, and
//! the clients waiting in SHUTDOWN get `-ERR Errors trying to SHUTDOWN. Check logs.`.

use std::time::{Duration, Instant};

use crate::state::mailbox::Msg;
use crate::state::pause::{Purpose, WRITE};
use crate::state::shutdown::{flags, Drain};
use crate::state::Shared;

/// Waits for shutdown requests and runs them until one succeeds (then the loops are told to
/// stop and this returns).
pub fn coordinate(srv: &Shared) {
    loop {
        let f = srv.graceful.next_request();
        if run(srv, f) {
            srv.request_shutdown();
            return;
        }
    }
}

/// One shutdown attempt with `f` ([`flags`]): true when the server must now stop.
fn run(srv: &Shared, f: u8) -> bool {
    tracing::warn!("User requested shutdown...");
    let timeout = srv
        .settings
        .shutdown_timeout
        .load(std::sync::atomic::Ordering::Relaxed);
    let waits = f & flags::NOW == 0 && timeout > 0;
    if waits {
        let now = crate::clock::now_ms();
        srv.pause.pause(Purpose::Shutdown, WRITE, u64::MAX, now);
        srv.loops.broadcast_now(|| Msg::StopAccepting);
        tracing::info!("Waiting for clients' replies to drain before shutting down.");
        let deadline = Instant::now() + Duration::from_secs(timeout);
        match srv.graceful.wait_drained(deadline) {
            Drain::Done => {}
            Drain::TimedOut => tracing::warn!(
                "shutdown-timeout ({timeout} s) reached with replies still unsent: closing those clients"
            ),
            Drain::Aborted => {
                cancel(srv);
                return false;
            }
        }
    }
    if srv.graceful.aborted() {
        cancel(srv);
        return false;
    }
    let fx = srv.scope(None);
    let save = f & flags::NOSAVE == 0
        && (f & flags::SAVE != 0 || crate::commands::persistence::saves_on_shutdown(srv));
    if crate::commands::persistence::prepare_shutdown(srv, &fx, save).is_err() {
        if f & flags::FORCE != 0 {
            tracing::warn!("Error trying to save the DB. Exit anyway.");
        } else {
            tracing::warn!(
                "Errors trying to shut down the server. Check the logs for more information."
            );
            drop(fx);
            cancel(srv);
            return false;
        }
    }
    true
}

/// Redis's `cancelShutdown`: writes resume, the loops listen again, the clients waiting in
/// SHUTDOWN get their error.
fn cancel(srv: &Shared) {
    // First: a SHUTDOWN that comes after this starts a new attempt; one that came before
    // waits on its loop, which the message below reaches after it.
    srv.graceful.cancelled();
    if srv.pause.unpause(Purpose::Shutdown, crate::clock::now_ms()) {
        srv.loops.broadcast_now(|| Msg::Unpaused);
    }
    srv.loops.broadcast_now(|| Msg::ShutdownCancelled);
}
