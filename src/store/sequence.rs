//! The order of propagated writes across loops: [`Sequencer`].
//!
//! Loops run commands in parallel and each ends its execution unit (and hands its writes to
//! the propagation sink) after releasing its shard locks, so the order in which units reach
//! the sink is not the order in which they changed the data. The AOF (and later replicas) must
//! see two writes to one key in the order they ran, and a MULTI/EXEC as one block.
//!
//! # The rule
//! Every execution unit that changes the dataset while propagation is on takes one **ticket**
//! (a global counter) at its first change, *while it holds the lock of the shard it changes*
//! ([`Scope::order`](super::Scope::order)); when it ends it hands its writes to
//! [`Sequencer::complete`] with the ticket, and the sequencer releases units to the sink in
//! ticket order (a unit waits for every smaller ticket to complete). A unit that took a ticket
//! and wrote nothing completes it empty (also when its scope is dropped early).
//!
//! Why this is the execution order: a unit holds the locks of all the keys it changes from
//! before its first change to after its last one (single-key commands hold one lock; multi-key
//! commands, EXEC and whole-database operations take all theirs up front — store locking
//! rule 2). If units X and Y both change key K and X held K's lock first, X took its ticket
//! while holding K's lock, and Y took its own after acquiring that lock, after X released it:
//! lock release/acquire orders the two `fetch_add`s, so X's ticket is smaller.
//!
//! The snapshot barrier ([`StoreRef::begin_snapshot`](super::StoreRef::begin_snapshot)) takes
//! a ticket under every lock: it splits the stream exactly at the snapshot instant (an AOF
//! rewrite's base holds everything before it, the new incremental file everything after).
//!
//! # Cost
//! With propagation off, a change costs one relaxed load (`enabled`). With it on, one
//! `fetch_add` per unit and one short mutex section per unit to reorder.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::OnceLock;

use parking_lot::Mutex;

use super::Op;

/// Where ordered units go: the ops of one unit (empty for a marker), and its ticket.
pub type Sink = Box<dyn Fn(u64, &[Op]) + Send + Sync>;

/// Orders execution units by ticket (module doc).
pub struct Sequencer {
    enabled: AtomicBool,
    next: AtomicU64,
    state: Mutex<Reorder>,
    sink: OnceLock<Sink>,
    /// Every ticket below this one has been handed to the sink.
    emitted: AtomicU64,
}

struct Reorder {
    /// The next ticket to hand out to the sink.
    watermark: u64,
    waiting: BTreeMap<u64, Vec<Op>>,
}

impl Default for Sequencer {
    fn default() -> Self {
        Sequencer {
            enabled: AtomicBool::new(false),
            next: AtomicU64::new(1),
            state: Mutex::new(Reorder {
                watermark: 1,
                waiting: BTreeMap::new(),
            }),
            sink: OnceLock::new(),
            emitted: AtomicU64::new(1),
        }
    }
}

impl Sequencer {
    /// A sequencer that lives as long as the process (scopes hold `&'static` references).
    pub fn leak() -> &'static Sequencer {
        Box::leak(Box::default())
    }

    /// Installs the sink (once).
    pub fn set_sink(&self, sink: Sink) -> bool {
        self.sink.set(sink).is_ok()
    }

    /// Turns ticketing on or off. Turn it on under every shard lock (a snapshot barrier) so
    /// that no unit straddles the switch.
    pub fn set_enabled(&self, on: bool) {
        self.enabled.store(on, Ordering::Relaxed);
    }

    #[inline(always)]
    pub fn enabled(&self) -> bool {
        self.enabled.load(Ordering::Relaxed)
    }

    /// A new ticket: take it under the lock of a shard the unit changes.
    #[inline]
    pub fn ticket(&self) -> u64 {
        self.next.fetch_add(1, Ordering::Relaxed)
    }

    /// Every ticket below the returned one has reached the sink.
    pub fn emitted(&self) -> u64 {
        self.emitted.load(Ordering::Acquire)
    }

    /// Hands over unit `ticket`'s ops; units reach the sink in ticket order.
    pub fn complete(&self, ticket: u64, ops: Vec<Op>) {
        let mut st = self.state.lock();
        if ticket < st.watermark {
            debug_assert!(false, "ticket {ticket} completed twice");
            return;
        }
        st.waiting.insert(ticket, ops);
        loop {
            let w = st.watermark;
            let Some(ops) = st.waiting.remove(&w) else {
                break;
            };
            if let Some(sink) = self.sink.get() {
                sink(w, &ops);
            }
            st.watermark += 1;
        }
        self.emitted.store(st.watermark, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex as StdMutex};

    #[test]
    fn units_reach_the_sink_in_ticket_order() {
        let seq = Sequencer::leak();
        let seen = Arc::new(StdMutex::new(Vec::new()));
        let s2 = seen.clone();
        seq.set_sink(Box::new(move |t, ops| {
            s2.lock().unwrap().push((t, ops.len()))
        }));
        let (a, b, c) = (seq.ticket(), seq.ticket(), seq.ticket());
        seq.complete(c, vec![Op::new(0, &[b"SET", b"c", b"1"])]);
        seq.complete(b, vec![]);
        assert!(
            seen.lock().unwrap().is_empty(),
            "waits for the first ticket"
        );
        assert_eq!(seq.emitted(), 1);
        seq.complete(a, vec![Op::new(0, &[b"SET", b"a", b"1"])]);
        assert_eq!(*seen.lock().unwrap(), vec![(a, 1), (b, 0), (c, 1)]);
        assert_eq!(seq.emitted(), c + 1);
    }
}
