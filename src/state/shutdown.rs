//! The graceful shutdown's shared state: requests (SIGTERM/SIGINT, SHUTDOWN), ABORT, and each
//! loop's "my clients' output is drained" report. The sequence itself runs in
//! [`crate::net::shutdown`] on the main thread.
//!
//! Threading: one mutex guards the request/progress/abort state, with a condvar the
//! coordinator sleeps on; the per-loop drained flags are atomics each loop writes for itself.
//! Nothing else is held under the mutex.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use parking_lot::{Condvar, Mutex};

/// SHUTDOWN's and `shutdown-on-sig*`'s flags (defined with the configuration, below this
/// layer).
pub use crate::config::shutdown_flags as flags;

#[derive(Default)]
struct Inner {
    /// A shutdown was asked for and not yet picked up: its flags.
    requested: Option<u8>,
    /// The coordinator is running a shutdown (waiting for the drain, or saving).
    in_progress: bool,
    /// SHUTDOWN ABORT came while one was in progress.
    abort: bool,
}

/// See the module doc.
pub struct ShutdownState {
    inner: Mutex<Inner>,
    cv: Condvar,
    /// Per loop: while draining, none of its clients has output waiting.
    drained: Box<[AtomicBool]>,
}

/// How a drain wait ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Drain {
    /// Every loop reported its output written.
    Done,
    /// `shutdown-timeout` passed first.
    TimedOut,
    /// SHUTDOWN ABORT.
    Aborted,
}

impl ShutdownState {
    pub fn new(loops: usize) -> Self {
        ShutdownState {
            inner: Mutex::new(Inner::default()),
            cv: Condvar::new(),
            drained: (0..loops).map(|_| AtomicBool::new(false)).collect(),
        }
    }

    /// Asks for a shutdown with `flags`; one already asked for or running is kept (as Redis's
    /// `prepareForShutdown` refuses a second one).
    pub fn request(&self, flags: u8) {
        let mut s = self.inner.lock();
        if s.requested.is_none() && !s.in_progress {
            s.requested = Some(flags);
            self.cv.notify_all();
        }
    }

    /// Whether a shutdown is asked for or running (a second SIGINT then exits at once).
    pub fn is_pending(&self) -> bool {
        let s = self.inner.lock();
        s.requested.is_some() || s.in_progress
    }

    /// SHUTDOWN ABORT: cancels a shutdown asked for or running. False when there is none.
    pub fn abort(&self) -> bool {
        let mut s = self.inner.lock();
        if s.in_progress {
            s.abort = true;
            self.cv.notify_all();
            true
        } else {
            s.requested.take().is_some()
        }
    }

    /// The coordinator's wait for the next request; marks it in progress.
    pub fn next_request(&self) -> u8 {
        let mut s = self.inner.lock();
        loop {
            if let Some(f) = s.requested.take() {
                s.in_progress = true;
                s.abort = false;
                for d in self.drained.iter() {
                    d.store(false, Ordering::Relaxed);
                }
                return f;
            }
            self.cv.wait(&mut s);
        }
    }

    /// Loop `index` reports whether its clients' output is all written.
    pub fn report_drained(&self, index: usize, drained: bool) {
        if let Some(d) = self.drained.get(index) {
            if d.swap(drained, Ordering::Relaxed) != drained && drained {
                let _s = self.inner.lock();
                self.cv.notify_all();
            }
        }
    }

    /// Waits until every loop reported drained, `deadline` passes or ABORT comes.
    pub fn wait_drained(&self, deadline: Instant) -> Drain {
        let mut s = self.inner.lock();
        loop {
            if s.abort {
                return Drain::Aborted;
            }
            if self.drained.iter().all(|d| d.load(Ordering::Relaxed)) {
                return Drain::Done;
            }
            let now = Instant::now();
            if now >= deadline {
                return Drain::TimedOut;
            }
            // The flags are set without the lock: wake now and then to look.
            let step = (deadline - now).min(std::time::Duration::from_millis(10));
            self.cv.wait_for(&mut s, step);
        }
    }

    /// Whether ABORT came (checked once more before the point of no return).
    pub fn aborted(&self) -> bool {
        self.inner.lock().abort
    }

    /// The shutdown in progress ended without exiting (aborted, or it failed).
    pub fn cancelled(&self) {
        let mut s = self.inner.lock();
        s.in_progress = false;
        s.abort = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_request_is_taken_once_and_abort_cancels_it() {
        let s = ShutdownState::new(2);
        assert!(!s.abort(), "nothing to abort");
        s.request(flags::NOW);
        s.request(flags::SAVE);
        assert!(s.is_pending());
        assert!(s.abort(), "a request not yet picked up is dropped");
        assert!(!s.is_pending());
        s.request(flags::SAVE);
        assert_eq!(s.next_request(), flags::SAVE);
        let soon = Instant::now() + Duration::from_millis(30);
        assert_eq!(s.wait_drained(soon), Drain::TimedOut);
        s.report_drained(0, true);
        s.report_drained(1, true);
        assert_eq!(s.wait_drained(soon), Drain::Done);
        assert!(s.abort());
        assert_eq!(s.wait_drained(soon), Drain::Aborted);
        s.cancelled();
        assert!(!s.is_pending());
    }
}
