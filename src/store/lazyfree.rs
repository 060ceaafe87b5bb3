//! Freeing large values off the event loops.
//!
//! Dropping a collection with millions of elements takes long enough to stall a loop. The
//! collection types call [`defer`] from their `Drop` when they are large, handing their
//! contents to one background thread that drops them. Every path that discards a value (DEL,
//! UNLINK, overwrite, FLUSHDB, expiry) therefore frees big values in the background without
//! each command having to remember to.

use std::sync::mpsc::{channel, Sender};
use std::sync::{Mutex, OnceLock};

/// Collections with more elements than this are freed in the background (Redis's
/// LAZYFREE_THRESHOLD is 64 allocations).
pub const THRESHOLD: usize = 64;

type Garbage = Box<dyn Send>;

fn sender() -> &'static Mutex<Sender<Garbage>> {
    static SENDER: OnceLock<Mutex<Sender<Garbage>>> = OnceLock::new();
    SENDER.get_or_init(|| {
        let (tx, rx) = channel::<Garbage>();
        std::thread::Builder::new()
            .name("ferrokv-lazyfree".into())
            .spawn(move || {
                for garbage in rx {
                    drop(garbage);
                }
            })
            .expect("spawn lazyfree thread");
        Mutex::new(tx)
    })
}

/// Drops `value` on the background thread (or here, if that thread is gone).
pub fn defer<T: Send + 'static>(value: T) {
    let boxed: Garbage = Box::new(value);
    let sent = match sender().lock() {
        Ok(tx) => tx.send(boxed).map_err(|e| e.0),
        Err(_) => Err(boxed),
    };
    drop(sent);
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
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while !dropped.load(Ordering::SeqCst) && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        assert!(dropped.load(Ordering::SeqCst));
    }
}
