//! The loops' mailboxes: how any thread reaches a loop ([`Msg`], [`LoopHandle`], [`Mailboxes`]).
//!
//! A message goes into the target loop's FIFO inbox at once — so everything one thread sends a
//! loop arrives in sending order, and a keyspace notification queued under a shard lock keeps
//! its place — but the loop's wake-up (an eventfd write) waits: [`Mailboxes::send`] records
//! it in the sending execution's [`Scope`], and the execution's owner sends the wake-ups with
//! [`Mailboxes::wake`] once its locks are released (locking rule 4). A loop never wakes
//! itself: it drains its inbox before it next sleeps.
//!
//! Threading rules: a connection is only ever touched by its loop; other threads only send
//! messages here.

use std::sync::mpsc::Sender;
use std::sync::{Arc, OnceLock};

use bytes::BytesMut;

use crate::blocked::Waiter;
use crate::pubsub::{Delivery, Outgoing};
use crate::store::Scope;

/// Messages other threads send to a loop.
pub enum Msg {
    /// Close connection `token` if it is still client `id` (tokens are reused).
    Kill { token: usize, id: u64 },
    /// Close everything and exit the loop.
    Shutdown,
    /// The ACL rules of client `id`'s user changed: close it if they no longer allow its
    /// subscriptions.
    AclRecheck { token: usize, id: u64 },
    /// A graceful shutdown began: close the listeners (new connections are refused) and
    /// report when every client's output is written.
    StopAccepting,
    /// The shutdown was aborted or failed: listen again, and answer the clients waiting in
    /// SHUTDOWN with `-ERR Errors trying to SHUTDOWN. Check logs.`
    ShutdownCancelled,
    /// CONFIG SET bind/port: close the listeners and listen on these instead (bound by the
    /// sender, see [`super::listen`]); connections stay.
    Listen(super::listen::LoopListeners),
    /// A client pause ended or became less restrictive (CLIENT UNPAUSE): re-run the parked
    /// clients now (those still held park again).
    Unpaused,
    /// Pub/Sub messages or MONITOR lines for connections of this loop (one per publication
    /// per loop; see [`crate::pubsub`]).
    Deliver(Delivery),
    /// A ready-made push (a client-side caching invalidation) for connection `token` if it is
    /// still client `id`.
    Push {
        token: usize,
        id: u64,
        frame: Vec<u8>,
    },
    /// The wait of the client blocked at `token` on `waiter` ended elsewhere (served by a push,
    /// or CLIENT UNBLOCK): append `reply` and resume its input.
    Unblocked {
        token: usize,
        waiter: Arc<Waiter>,
        reply: BytesMut,
    },
}

/// Wakes a loop from its poll (a mio `Waker`; tests substitute their own).
pub trait Wake: Send + Sync {
    fn wake(&self);
}

impl Wake for mio::Waker {
    fn wake(&self) {
        let _ = mio::Waker::wake(self);
    }
}

/// How other threads reach one loop.
#[derive(Clone)]
pub struct LoopHandle {
    inbox: Sender<Msg>,
    waker: Arc<dyn Wake>,
}

impl LoopHandle {
    pub fn new(inbox: Sender<Msg>, waker: Arc<dyn Wake>) -> Self {
        LoopHandle { inbox, waker }
    }
}

/// Every loop's handle, set once at start-up.
#[derive(Default)]
pub struct Mailboxes {
    loops: OnceLock<Vec<LoopHandle>>,
}

impl Mailboxes {
    /// Installs the loops' handles (once).
    pub fn set(&self, loops: Vec<LoopHandle>) {
        let _ = self.loops.set(loops);
    }

    /// Queues `msg` for loop `to` now; its wake-up waits until execution `fx` ends.
    pub fn send(&self, to: usize, msg: Msg, fx: &Scope) {
        if let Some(h) = self.loops.get().and_then(|l| l.get(to)) {
            if h.inbox.send(msg).is_ok() {
                fx.defer_wake(to);
            }
        }
    }

    /// Queues `msg()` for every loop; the wake-ups wait until execution `fx` ends.
    pub fn broadcast(&self, msg: impl Fn() -> Msg, fx: &Scope) {
        let count = self.loops.get().map_or(0, Vec::len);
        for to in 0..count {
            self.send(to, msg(), fx);
        }
    }

    /// Sends what a publication produced: each loop's delivery into its inbox (woken when `fx`
    /// ends) and the caller's own frames into `fx` (they go before its reply). Returns the
    /// receivers counted.
    pub fn deliver(&self, out: Outgoing, fx: &Scope) -> usize {
        if !out.to_caller.is_empty() {
            fx.push_to_caller(&out.to_caller);
        }
        for (home, delivery) in out.deliveries {
            self.send(home, Msg::Deliver(delivery), fx);
        }
        out.receivers
    }

    /// Sends the wake-ups execution `fx` deferred. Call once it holds no shard lock.
    pub fn wake(&self, fx: &Scope) {
        if !fx.has_wakes() {
            return;
        }
        debug_assert!(
            !fx.holds_transaction(),
            "wake-ups sent while a transaction holds its locks"
        );
        let Some(loops) = self.loops.get() else {
            fx.take_wakes();
            return;
        };
        for i in fx.take_wakes() {
            if let Some(h) = loops.get(i) {
                h.waker.wake();
            }
        }
    }

    /// Queues `msg` for loop `to` and wakes it at once (no execution is running).
    pub fn send_now(&self, to: usize, msg: Msg) {
        if let Some(h) = self.loops.get().and_then(|l| l.get(to)) {
            if h.inbox.send(msg).is_ok() {
                h.waker.wake();
            }
        }
    }

    /// Sends `msg()` to every loop and wakes them at once (no execution is running: signals,
    /// SHUTDOWN).
    pub fn broadcast_now(&self, msg: impl Fn() -> Msg) {
        for h in self.loops.get().into_iter().flatten() {
            if h.inbox.send(msg()).is_ok() {
                h.waker.wake();
            }
        }
    }
}
