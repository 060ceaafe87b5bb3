//! One execution's context: [`Scope`].
//!
//! An *execution* is one command a client sent (with everything it runs: the commands EXEC
//! queued, later a script's calls) and the serving of the clients it unblocked, or one sweep
//! of the expiry thread. Each gets a fresh `Scope`, and every shard it touches is reached
//! through the [`StoreRef`](super::StoreRef) / [`DbRef`](super::DbRef) views that carry the
//! scope, so what an access causes is recorded here, explicitly, and dropped with the
//! execution (also when a command panics). Nothing about an execution lives in a
//! thread-local.
//!
//! What a scope holds:
//! - the shards a running EXEC holds, so the commands it runs reuse them (`txn.rs`);
//! - the number of changes made, Redis's `server.dirty`: one per change report
//!   ([`Slot::touched`](super::Slot::touched), Redis's `signalModifiedKey`);
//! - the keys given a list or sorted set while clients wait on keys, Redis's `ready_keys`
//!   (the command layer serves their waiters once the command is done);
//! - the writes to propagate (AOF, replicas), when anything listens: the deletions of expired
//!   keys the store made, then what the command layer adds ([`Op`]);
//! - the outbox: pushes for the running client itself (placed before its reply) and the loops
//!   to wake. Cross-thread messages are queued while shard locks are held; the wake-ups (a
//!   syscall each) are sent by the scope's owner once it has released its locks.
//!
//! Invariants:
//! - A scope is single-threaded (`!Sync`) and lives on the stack of the thread running the
//!   execution. Every shard guard taken through it borrows it, so the guards end before it
//!   does: the end of a scope is a point where the execution holds no shard lock. Dropping a
//!   scope hands deferred frees to the lazyfree thread ([`super::lazyfree::nudge`]).
//! - The held-shard pointer is set only inside [`Scope::hold`], which restores the previous
//!   value on return and on unwind.

use std::cell::{Cell, RefCell};

use bytes::Bytes;

use super::txn::Held;

/// A write to propagate: a command, as it must be replayed, in database `db`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Op {
    pub db: usize,
    pub argv: Vec<Bytes>,
}

impl Op {
    pub fn new(db: usize, argv: &[&[u8]]) -> Op {
        Op {
            db,
            argv: argv.iter().map(|a| Bytes::copy_from_slice(a)).collect(),
        }
    }
}

/// The client an execution runs for, when pushes may be addressed to it (it is subscribed or
/// monitoring): its id and whether it speaks RESP3.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caller {
    pub id: u64,
    pub resp3: bool,
}

pub struct Scope {
    /// The shards a running EXEC holds (null when none).
    held: Cell<*const Held>,
    dirty: Cell<u64>,
    ready: RefCell<Vec<(usize, Box<[u8]>)>>,
    /// Whether a propagation sink listens (otherwise nothing is recorded in `ops`).
    propagating: bool,
    ops: RefCell<Vec<Op>>,
    caller: Cell<Option<Caller>>,
    pushes: RefCell<Vec<u8>>,
    /// The loop this execution runs on (its inbox is drained before it sleeps anyway).
    home: Option<usize>,
    /// Loops to wake: bit `i` for loop `i < 64`, the rest listed.
    wake: Cell<u64>,
    wake_more: RefCell<Vec<usize>>,
}

impl Scope {
    /// A fresh scope for an execution on loop `home` (`None`: not on a loop), recording writes
    /// to propagate when `propagating`.
    pub fn new(home: Option<usize>, propagating: bool) -> Scope {
        Scope {
            held: Cell::new(std::ptr::null()),
            dirty: Cell::new(0),
            ready: RefCell::new(Vec::new()),
            propagating,
            ops: RefCell::new(Vec::new()),
            caller: Cell::new(None),
            pushes: RefCell::new(Vec::new()),
            home,
            wake: Cell::new(0),
            wake_more: RefCell::new(Vec::new()),
        }
    }

    // ----- held shards (EXEC) -----

    /// The shards the running EXEC holds, if any.
    #[inline]
    pub(super) fn held(&self) -> *const Held {
        self.held.get()
    }

    /// Runs `f` with `held` as the execution's held shards (restored afterwards, also when
    /// `f` panics).
    pub(super) fn hold<R>(&self, held: &Held, f: impl FnOnce() -> R) -> R {
        struct Restore<'a>(&'a Cell<*const Held>, *const Held);
        impl Drop for Restore<'_> {
            fn drop(&mut self) {
                self.0.set(self.1);
            }
        }
        let _restore = Restore(&self.held, self.held.replace(held));
        f()
    }

    /// Whether the execution runs inside a transaction's held locks.
    pub fn holds_transaction(&self) -> bool {
        !self.held.get().is_null()
    }

    // ----- changes -----

    /// Counts one change (a key changed, Redis's `server.dirty++`).
    #[inline(always)]
    pub(super) fn changed(&self) {
        self.dirty.set(self.dirty.get() + 1);
    }

    /// Adds changes the store does not report key by key (FLUSHALL, SWAPDB: Redis's
    /// `server.dirty += n`).
    pub fn add_changes(&self, n: u64) {
        self.dirty.set(self.dirty.get() + n);
    }

    /// Changes made so far in this execution.
    #[inline]
    pub fn dirty(&self) -> u64 {
        self.dirty.get()
    }

    // ----- keys made ready for blocked clients -----

    /// Records `(db, key)` as given data while clients wait on keys.
    #[cold]
    pub fn ready(&self, db: usize, key: &[u8]) {
        self.ready.borrow_mut().push((db, key.into()));
    }

    #[inline]
    pub fn has_ready(&self) -> bool {
        !self.ready.borrow().is_empty()
    }

    /// Takes the ready keys, in the order they became ready, without duplicates.
    pub fn take_ready(&self) -> Vec<(usize, Box<[u8]>)> {
        let mut keys = std::mem::take(&mut *self.ready.borrow_mut());
        let mut seen = std::collections::HashSet::with_capacity(keys.len());
        keys.retain(|k| seen.insert(k.clone()));
        keys
    }

    // ----- propagation -----

    /// Whether writes are recorded for propagation.
    #[inline]
    pub fn propagating(&self) -> bool {
        self.propagating
    }

    /// Records a write to propagate (ignored when nothing listens).
    pub fn propagate(&self, op: Op) {
        if self.propagating {
            self.ops.borrow_mut().push(op);
        }
    }

    /// Writes recorded so far.
    pub fn ops_len(&self) -> usize {
        self.ops.borrow().len()
    }

    /// Takes every write recorded so far (one execution unit's worth).
    pub fn take_ops(&self) -> Vec<Op> {
        std::mem::take(&mut *self.ops.borrow_mut())
    }

    // ----- outbox -----

    /// Sets the client pushes may be addressed to; returns the previous one.
    pub fn set_caller(&self, caller: Option<Caller>) -> Option<Caller> {
        self.caller.replace(caller)
    }

    #[inline]
    pub fn caller(&self) -> Option<Caller> {
        self.caller.get()
    }

    /// Keeps frames addressed to the caller (they go before its reply).
    pub fn push_to_caller(&self, frames: &[u8]) {
        self.pushes.borrow_mut().extend_from_slice(frames);
    }

    /// Bytes of caller pushes kept so far.
    pub fn pushes_len(&self) -> usize {
        self.pushes.borrow().len()
    }

    /// Takes the caller pushes kept since `start` (a [`Scope::pushes_len`] reading).
    pub fn take_pushes_since(&self, start: usize) -> Vec<u8> {
        let mut pushes = self.pushes.borrow_mut();
        if start >= pushes.len() {
            return Vec::new();
        }
        pushes.split_off(start)
    }

    /// Asks for loop `index` to be woken when the execution ends (its inbox got a message).
    pub fn defer_wake(&self, index: usize) {
        if self.home == Some(index) {
            // The running loop drains its inbox before it next sleeps.
            return;
        }
        if index < 64 {
            self.wake.set(self.wake.get() | 1 << index);
        } else {
            let mut more = self.wake_more.borrow_mut();
            if !more.contains(&index) {
                more.push(index);
            }
        }
    }

    /// Takes the loops to wake.
    pub fn take_wakes(&self) -> Vec<usize> {
        let bits = self.wake.replace(0);
        let mut loops: Vec<usize> = (0..64).filter(|i| bits & (1 << i) != 0).collect();
        loops.append(&mut self.wake_more.borrow_mut());
        loops
    }

    /// Whether any wake-up is waiting.
    #[inline]
    pub fn has_wakes(&self) -> bool {
        self.wake.get() != 0 || !self.wake_more.borrow().is_empty()
    }
}

impl Drop for Scope {
    fn drop(&mut self) {
        // Values freed under this execution's locks were queued without waking anyone.
        super::lazyfree::nudge();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wakes_skip_the_home_loop_and_come_out_once() {
        let fx = Scope::new(Some(1), false);
        for i in [3, 1, 3, 70, 0, 70] {
            fx.defer_wake(i);
        }
        assert!(fx.has_wakes());
        assert_eq!(fx.take_wakes(), vec![0, 3, 70]);
        assert!(!fx.has_wakes());
        assert!(fx.take_wakes().is_empty());
    }

    #[test]
    fn ready_keys_come_out_in_order_without_duplicates() {
        let fx = Scope::new(None, false);
        fx.ready(0, b"b");
        fx.ready(0, b"a");
        fx.ready(0, b"b");
        fx.ready(1, b"b");
        let keys: Vec<(usize, Vec<u8>)> = fx
            .take_ready()
            .into_iter()
            .map(|(d, k)| (d, k.to_vec()))
            .collect();
        assert_eq!(
            keys,
            vec![(0, b"b".to_vec()), (0, b"a".to_vec()), (1, b"b".to_vec())]
        );
        assert!(!fx.has_ready());
    }

    #[test]
    fn ops_are_recorded_only_when_propagating() {
        let off = Scope::new(None, false);
        off.propagate(Op::new(0, &[b"DEL", b"k"]));
        assert_eq!(off.ops_len(), 0);
        let on = Scope::new(None, true);
        on.propagate(Op::new(0, &[b"DEL", b"k"]));
        assert_eq!(on.take_ops(), vec![Op::new(0, &[b"DEL", b"k"])]);
    }

    #[test]
    fn caller_pushes_are_taken_from_a_mark() {
        let fx = Scope::new(None, false);
        fx.push_to_caller(b"one");
        let mark = fx.pushes_len();
        fx.push_to_caller(b"two");
        assert_eq!(fx.take_pushes_since(mark), b"two");
        assert_eq!(fx.take_pushes_since(0), b"one");
        assert!(fx.take_pushes_since(0).is_empty());
    }
}
