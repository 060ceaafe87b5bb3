//! One execution's context: [`Scope`].
//!
//! An *execution* is one command a client sent (with everything it runs: the commands EXEC
//! queued, later a script's calls) and the serving of the clients it unblocked, or one sweep
//! of the expiry thread. Every shard it touches is reached through the
//! [`StoreRef`](super::StoreRef) / [`DbRef`](super::DbRef) views that carry its `Scope`, so
//! what an access causes is recorded here, explicitly, and drained when the execution unit
//! ends (also when a command panics). Nothing about an execution lives in a thread-local.
//!
//! A loop uses one scope for the commands of one read batch, one after the other: the end of
//! each command's unit drains it back to a fresh state ([`Scope::settle`]; every command
//! starts by checking [`Scope::is_settled`] in debug builds), which saves creating one per
//! command on the request path.
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
//!   does: the end of a scope is a point where the execution holds no shard lock (and so is
//!   the end of a command's unit: its guards are gone). Dropping a scope hands deferred frees
//!   to the lazyfree thread ([`super::lazyfree::nudge`]).
//! - The held-shard pointer is set only inside `Scope::hold`, which restores the previous
//!   value on return and on unwind.

use std::cell::Cell;

use bytes::Bytes;

use super::sequence::Sequencer;
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

/// The bit of `Scope::caller` saying the caller speaks RESP3.
const RESP3: u64 = 1 << 63;

pub struct Scope {
    /// The shards a running EXEC holds (null when none).
    held: Cell<*const Held>,
    dirty: Cell<u64>,
    /// The propagation order (see [`super::sequence`]); `None`: nothing is ever recorded.
    seq: Option<&'static Sequencer>,
    /// This unit's place in the propagation order (0: none taken yet).
    ticket: Cell<u64>,
    /// The caller's id (0: none; client ids start at 1) with [`RESP3`] set for RESP3.
    caller: Cell<u64>,
    /// The loop this execution runs on (its inbox is drained before it sleeps anyway);
    /// `usize::MAX` when not on a loop.
    home: usize,
    /// Loops to wake, `i < 64`: bit `i` (the rest in `Rare::wake_more`).
    wake: Cell<u64>,
    /// Something was recorded that the end of the execution unit must deal with (ready keys,
    /// writes to propagate, pushes, wake-ups): one check on the common path.
    pending: Cell<bool>,
    /// What most executions never record, allocated on first use (so a scope costs a few
    /// stores to create and a null check to drop). Taken out while in use.
    rare: Cell<Option<Box<Rare>>>,
}

/// A key an execution modified, for CLIENT TRACKING (see [`Scope::invalidate`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Modified {
    pub key: Box<[u8]>,
    pub by_client: bool,
}

#[derive(Default)]
struct Rare {
    ready: Vec<(usize, Box<[u8]>)>,
    ops: Vec<Op>,
    pushes: Vec<u8>,
    /// Keys modified while some client tracks keys (CLIENT TRACKING).
    invalidated: Vec<Modified>,
    wake_more: Vec<usize>,
}

impl Scope {
    /// A fresh scope for an execution on loop `home` (`None`: not on a loop), recording writes
    /// to propagate in the order `seq` gives them while it is enabled.
    #[inline]
    pub fn new(home: Option<usize>, seq: Option<&'static Sequencer>) -> Scope {
        Scope {
            held: Cell::new(std::ptr::null()),
            dirty: Cell::new(0),
            seq,
            ticket: Cell::new(0),
            caller: Cell::new(0),
            home: home.unwrap_or(usize::MAX),
            wake: Cell::new(0),
            pending: Cell::new(false),
            rare: Cell::new(None),
        }
    }

    /// Whether the execution recorded anything its end must deal with (see the fields).
    #[inline]
    pub fn has_pending(&self) -> bool {
        self.pending.get()
    }

    /// Marks what was recorded as dealt with, once the owner has drained it (the end of an
    /// execution unit), so the scope can serve the next command of a batch.
    pub fn settle(&self) {
        debug_assert!(self.is_settled(), "an execution unit ended undrained");
        self.pending.set(false);
    }

    /// Whether nothing is left for the end of an execution unit: no ready key, write, push or
    /// wake-up recorded, no caller, no held shards.
    pub fn is_settled(&self) -> bool {
        let rare = self.rare.take();
        let rare_empty = rare.as_ref().is_none_or(|r| {
            r.ready.is_empty()
                && r.ops.is_empty()
                && r.pushes.is_empty()
                && r.wake_more.is_empty()
                && r.invalidated.is_empty()
        });
        self.rare.set(rare);
        rare_empty
            && self.wake.get() == 0
            && self.caller.get() == 0
            && self.held.get().is_null()
            && self.ticket.get() == 0
    }

    /// Runs `f` on the rarely used records, creating them.
    fn rare<R>(&self, f: impl FnOnce(&mut Rare) -> R) -> R {
        self.pending.set(true);
        let mut rare = self.rare.take().unwrap_or_default();
        let r = f(&mut rare);
        self.rare.set(Some(rare));
        r
    }

    /// Runs `f` on the rarely used records if they exist.
    #[inline]
    fn rare_if<R: Default>(&self, f: impl FnOnce(&mut Rare) -> R) -> R {
        match self.rare.take() {
            Some(mut rare) => {
                let r = f(&mut rare);
                self.rare.set(Some(rare));
                r
            }
            None => R::default(),
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

    /// Counts one change (a key changed, Redis's `server.dirty++`); called under the changed
    /// key's shard lock, so it also takes the unit's propagation ticket.
    #[inline(always)]
    pub(super) fn changed(&self) {
        self.dirty.set(self.dirty.get() + 1);
        self.order();
    }

    /// Takes this unit's propagation ticket if propagation is on and it has none yet. Call it
    /// under the lock of a shard the unit changes (see [`super::sequence`]).
    #[inline(always)]
    pub fn order(&self) {
        if self.ticket.get() == 0 {
            if let Some(seq) = self.seq {
                if seq.enabled() {
                    self.ticket.set(seq.ticket());
                    self.pending.set(true);
                }
            }
        }
    }

    /// Takes the unit's ticket (0 when it has none): the unit is being handed to the sequencer.
    pub fn take_ticket(&self) -> u64 {
        self.ticket.replace(0)
    }

    /// The sequencer this scope orders its writes with.
    pub fn sequencer(&self) -> Option<&'static Sequencer> {
        self.seq
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

    /// Takes the change count (the execution unit ends: its changes were accounted for).
    #[inline]
    pub fn take_dirty(&self) -> u64 {
        self.dirty.replace(0)
    }

    // ----- keys made ready for blocked clients -----

    /// Records `(db, key)` as given data while clients wait on keys.
    #[cold]
    pub fn ready(&self, db: usize, key: &[u8]) {
        self.rare(|r| r.ready.push((db, key.into())));
    }

    #[inline]
    pub fn has_ready(&self) -> bool {
        self.rare_if(|r| !r.ready.is_empty())
    }

    /// Takes the ready keys, in the order they became ready, without duplicates.
    pub fn take_ready(&self) -> Vec<(usize, Box<[u8]>)> {
        let mut keys = self.rare_if(|r| std::mem::take(&mut r.ready));
        let mut seen = std::collections::HashSet::with_capacity(keys.len());
        keys.retain(|k| seen.insert(k.clone()));
        keys
    }

    // ----- propagation -----

    /// Whether writes are recorded for propagation: propagation is on, or this unit already
    /// holds a ticket.
    #[inline]
    pub fn propagating(&self) -> bool {
        self.ticket.get() != 0 || self.seq.is_some_and(|s| s.enabled())
    }

    /// Whether this unit took a propagation ticket (it changed data while propagation was on).
    #[inline]
    pub fn has_ticket(&self) -> bool {
        self.ticket.get() != 0
    }

    /// Records a write to propagate (ignored when propagation is off).
    pub fn propagate(&self, op: Op) {
        self.order();
        if self.ticket.get() != 0 {
            self.rare(|r| r.ops.push(op));
        }
    }

    /// Takes every write recorded so far (one execution unit's worth).
    pub fn take_ops(&self) -> Vec<Op> {
        self.rare_if(|r| std::mem::take(&mut r.ops))
    }

    // ----- outbox -----

    /// Sets the client pushes may be addressed to; returns the previous one.
    pub fn set_caller(&self, caller: Option<Caller>) -> Option<Caller> {
        let packed = caller.map_or(0, |c| c.id | if c.resp3 { RESP3 } else { 0 });
        unpack(self.caller.replace(packed))
    }

    #[inline]
    pub fn caller(&self) -> Option<Caller> {
        unpack(self.caller.get())
    }

    /// Records a key modified while clients track keys (invalidated after the command);
    /// `by_client`: the executing client changed it (false: an expiry or eviction did, which
    /// NOLOOP in BCAST mode does not filter, as Redis's `signalModifiedKey(NULL, ..)`).
    pub fn invalidate(&self, key: &[u8], by_client: bool) {
        self.rare(|r| {
            r.invalidated.push(Modified {
                key: key.into(),
                by_client,
            })
        });
    }

    /// Takes the keys recorded by [`Scope::invalidate`].
    pub fn take_invalidated(&self) -> Vec<Modified> {
        self.rare_if(|r| std::mem::take(&mut r.invalidated))
    }

    /// Keeps frames addressed to the caller (they go before its reply).
    pub fn push_to_caller(&self, frames: &[u8]) {
        self.rare(|r| r.pushes.extend_from_slice(frames));
    }

    /// Bytes of caller pushes kept so far.
    pub fn pushes_len(&self) -> usize {
        self.rare_if(|r| r.pushes.len())
    }

    /// Takes the caller pushes kept since `start` (a [`Scope::pushes_len`] reading).
    pub fn take_pushes_since(&self, start: usize) -> Vec<u8> {
        self.rare_if(|r| {
            if start >= r.pushes.len() {
                return Vec::new();
            }
            r.pushes.split_off(start)
        })
    }

    /// Asks for loop `index` to be woken when the execution ends (its inbox got a message).
    pub fn defer_wake(&self, index: usize) {
        if self.home == index {
            // The running loop drains its inbox before it next sleeps.
            return;
        }
        if index < 64 {
            self.pending.set(true);
            self.wake.set(self.wake.get() | 1 << index);
        } else {
            self.rare(|r| {
                if !r.wake_more.contains(&index) {
                    r.wake_more.push(index);
                }
            });
        }
    }

    /// Takes the loops to wake.
    pub fn take_wakes(&self) -> Vec<usize> {
        let bits = self.wake.replace(0);
        let mut loops: Vec<usize> = (0..64).filter(|i| bits & (1 << i) != 0).collect();
        loops.extend(self.rare_if(|r| std::mem::take(&mut r.wake_more)));
        loops
    }

    /// Whether any wake-up is waiting.
    #[inline]
    pub fn has_wakes(&self) -> bool {
        self.wake.get() != 0 || self.rare_if(|r| !r.wake_more.is_empty())
    }
}

/// The caller packed in `Scope::caller`.
#[inline]
fn unpack(packed: u64) -> Option<Caller> {
    (packed != 0).then_some(Caller {
        id: packed & !RESP3,
        resp3: packed & RESP3 != 0,
    })
}

impl Drop for Scope {
    fn drop(&mut self) {
        // A unit that took a ticket must complete it, or every later unit would wait forever.
        let ticket = self.ticket.replace(0);
        if let (Some(seq), true) = (self.seq, ticket != 0) {
            seq.complete(ticket, self.take_ops());
        }
        // Values freed under this execution's locks were queued without waking anyone.
        super::lazyfree::nudge();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wakes_skip_the_home_loop_and_come_out_once() {
        let fx = Scope::new(Some(1), None);
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
        let fx = Scope::new(None, None);
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
        let off = Scope::new(None, None);
        off.propagate(Op::new(0, &[b"DEL", b"k"]));
        assert!(off.take_ops().is_empty());
        let seq = Sequencer::leak();
        let disabled = Scope::new(None, Some(seq));
        disabled.propagate(Op::new(0, &[b"DEL", b"k"]));
        assert!(disabled.take_ops().is_empty());
        seq.set_enabled(true);
        let on = Scope::new(None, Some(seq));
        on.propagate(Op::new(0, &[b"DEL", b"k"]));
        assert_eq!(on.take_ops(), vec![Op::new(0, &[b"DEL", b"k"])]);
        assert!(on.take_ticket() != 0);
    }

    #[test]
    fn caller_pushes_are_taken_from_a_mark() {
        let fx = Scope::new(None, None);
        fx.push_to_caller(b"one");
        let mark = fx.pushes_len();
        fx.push_to_caller(b"two");
        assert_eq!(fx.take_pushes_since(mark), b"two");
        assert_eq!(fx.take_pushes_since(0), b"one");
        assert!(fx.take_pushes_since(0).is_empty());
    }
}
