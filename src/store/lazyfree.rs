//! Freeing large values off the event loops.
//!
//! Dropping a collection with millions of elements takes long enough to stall a loop. The
//! collection types call [`defer`] from their `Drop` when they are large, handing their
//! contents to one background thread that drops them. Every path that discards a value (DEL,
//! UNLINK, overwrite, FLUSHDB, expiry) therefore frees big values in the background without
//! each command having to remember to.
//!
//! Values are often dropped while a shard lock is held (an expired key removed by a lookup or
//! the sweep, an overwrite), and no cross-thread wake-up may happen there (locking rule 4). So
//! [`defer`] only queues; the thread is woken by [`nudge`], which every execution's
//! [`Scope`](super::Scope) calls when it ends — after its locks are released. The thread also
//! looks at the queue once a second, for values dropped outside any execution.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

use parking_lot::{Condvar, Mutex};

/// Collections with more elements than this are freed in the background (Redis's
/// LAZYFREE_THRESHOLD is 64 allocations).
pub const THRESHOLD: usize = 64;

/// How long the thread sleeps when nobody nudges it.
const IDLE: Duration = Duration::from_secs(1);

type Garbage = Box<dyn Send>;

struct Queue {
    items: Mutex<Vec<Garbage>>,
    wake: Condvar,
}

/// Items were queued since the last nudge (one relaxed load for [`nudge`] when not).
static PENDING: AtomicBool = AtomicBool::new(false);

/// The queue and its thread, started by the first [`defer`] ([`nudge`] never starts them).
static QUEUE: OnceLock<&'static Queue> = OnceLock::new();

fn queue() -> &'static Queue {
    QUEUE.get_or_init(|| {
        let q: &'static Queue = Box::leak(Box::new(Queue {
            items: Mutex::new(Vec::new()),
            wake: Condvar::new(),
        }));
        let spawned = std::thread::Builder::new()
            .name("ferrokv-lazyfree".into())
            .spawn(move || loop {
                let garbage = {
                    let mut items = q.items.lock();
                    if items.is_empty() {
                        q.wake.wait_for(&mut items, IDLE);
                    }
                    std::mem::take(&mut *items)
                };
                drop(garbage);
            });
        if spawned.is_err() {
            tracing::warn!("cannot start the lazyfree thread; large values are freed inline");
        }
        q
    })
}

/// Queues `value` to be dropped on the background thread. Never wakes the thread (callers may
/// hold a shard lock): see [`nudge`].
pub fn defer<T: Send + 'static>(value: T) {
    queue().items.lock().push(Box::new(value));
    PENDING.store(true, Ordering::Release);
}

/// Wakes the background thread if anything was queued since the last nudge. Call with no shard
/// lock held (an execution's scope does, when it ends).
#[inline]
pub fn nudge() {
    if PENDING.load(Ordering::Relaxed) && PENDING.swap(false, Ordering::AcqRel) {
        if let Some(q) = QUEUE.get() {
            q.wake.notify_one();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    struct Flag(Arc<AtomicBool>);
    impl Drop for Flag {
        fn drop(&mut self) {
            self.0.store(true, Ordering::SeqCst);
        }
    }

    #[test]
    fn deferred_values_are_dropped_in_the_background() {
        let dropped = Arc::new(AtomicBool::new(false));
        defer(Flag(dropped.clone()));
        nudge();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while !dropped.load(Ordering::SeqCst) && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        assert!(dropped.load(Ordering::SeqCst));
    }
}
