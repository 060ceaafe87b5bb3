//! The registry of clients blocked on keys (BLPOP & co): who waits on which key, in which
//! order, for what — Redis's `blocked.c` bookkeeping. The blocking commands themselves, and the
//! serving of waiters, are in `commands::blocking`; this module neither touches the store's
//! values nor formats replies.
//!
//! # Waiters
//! A blocked client is one [`Waiter`], shared by the FIFO queue of each of its keys, by its
//! connection ([`BlockedOn`], in its `Client`) and by whoever ends the wait. Four parties may end
//! a wait: a writer serving it (any loop), its timeout (its own loop), CLIENT UNBLOCK (any
//! loop) and its disconnection (its own loop). Each first calls [`Blocked::finish`], which
//! claims the waiter with one atomic swap: only the winner removes it from the queues and
//! delivers an outcome, so no element is popped for a waiter that has already gone and no
//! client gets two replies.
//!
//! # Locking rules
//! - A waiter is registered ([`Blocked::register`]) under the shard locks of all its keys,
//!   after the command found them empty; the store's blocked count is raised first, so a write
//!   under those locks either happened before (and the command found the data) or sees the
//!   count and records the key as ready ([`crate::store::events`]).
//! - Lock order: shard locks, then a queue of this registry. The queues are leaves: nothing is
//!   locked while one is held, and nothing here sends to a loop.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use dashmap::DashMap;

use crate::store::events::KeyspaceEvents;
use crate::store::types::list::Side;
use crate::store::{Scope, Value};

/// What a blocked client waits to do once one of its keys has data.
#[derive(Debug, Clone)]
pub enum WaitOp {
    /// BLPOP/BRPOP (`count` = `None`) and BLMPOP (`Some`): pop from the key's `side`.
    Pop { side: Side, count: Option<usize> },
    /// BLMOVE, or BRPOPLPUSH when `rpoplpush`: move one element onto `dst`.
    Move {
        dst: Bytes,
        from: Side,
        to: Side,
        rpoplpush: bool,
    },
    /// BZPOPMIN/BZPOPMAX (`count` = `None`) and BZMPOP (`Some`).
    ZPop { max: bool, count: Option<u64> },
    /// WAIT: acknowledgements from replicas. It has no keys, so only its timeout, CLIENT
    /// UNBLOCK or its disconnection ends it (no replica ever acknowledges yet).
    Replicas,
}

/// The type of value that can serve a waiter (Redis's `BLOCKED_LIST` / `BLOCKED_ZSET`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    List,
    ZSet,
}

impl Kind {
    /// The kind `value` can serve, if any.
    pub fn of(value: &Value) -> Option<Kind> {
        match value {
            Value::List(_) => Some(Kind::List),
            Value::ZSet(_) => Some(Kind::ZSet),
            _ => None,
        }
    }
}

impl WaitOp {
    pub fn kind(&self) -> Kind {
        match self {
            // (WAIT has no key: its kind is never asked for.)
            WaitOp::Pop { .. } | WaitOp::Move { .. } | WaitOp::Replicas => Kind::List,
            WaitOp::ZPop { .. } => Kind::ZSet,
        }
    }

    /// The destination of a move.
    pub fn dst(&self) -> Option<&[u8]> {
        match self {
            WaitOp::Move { dst, .. } => Some(dst),
            _ => None,
        }
    }
}

/// Where a blocked client lives and what it waits for.
pub struct Waiter {
    /// Its client id, loop and slab token (where its outcome is delivered).
    pub client: u64,
    pub home: usize,
    pub token: usize,
    pub db: usize,
    /// Its keys without duplicates, in argument order (copied: request buffers are not kept).
    pub keys: Vec<Bytes>,
    pub op: WaitOp,
    /// The connection's protocol, for encoding its reply.
    pub resp3: bool,
    /// The wait has a timeout (INFO `clients_in_timeout_table`).
    pub timeout: bool,
    /// Set by whoever ends the wait (see the module doc).
    claimed: AtomicBool,
}

impl Waiter {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        client: u64,
        home: usize,
        token: usize,
        db: usize,
        keys: Vec<Bytes>,
        op: WaitOp,
        resp3: bool,
        timeout: bool,
    ) -> Waiter {
        Waiter {
            client,
            home,
            token,
            db,
            keys,
            op,
            resp3,
            timeout,
            claimed: AtomicBool::new(false),
        }
    }

    /// Takes the right to end this wait; true for exactly one caller.
    fn claim(&self) -> bool {
        !self.claimed.swap(true, Ordering::AcqRel)
    }

    /// Whether someone ended (or is ending) this wait.
    pub fn is_claimed(&self) -> bool {
        self.claimed.load(Ordering::Acquire)
    }
}

/// A connection's side of a wait (`Client::blocked`).
pub struct BlockedOn {
    pub waiter: Arc<Waiter>,
    /// When to time out (`None`: never).
    pub deadline: Option<Instant>,
    /// CLIENT REPLY OFF/SKIP was in force for the blocking command: its reply is dropped.
    pub discard_reply: bool,
    /// The loop has put `deadline` in its timer set.
    pub armed: bool,
    /// The blocking command, for what is recorded when a server or CLIENT UNBLOCK ends the
    /// wait (set by `call()`; dropped on a timeout, which Redis does not record).
    pub call: Option<Box<BlockedCall>>,
}

/// A blocking command as `call()` ran it: recorded in the slow log and its latency histogram
/// once its wait ends (Redis's `updateStatsOnUnblock`), not when it blocks.
pub struct BlockedCall {
    /// Registry index.
    pub index: usize,
    /// Microseconds the call took.
    pub usec: u64,
    /// Its arguments, as the client sent them.
    pub argv: Vec<Bytes>,
}

/// One database's blocked keys: key -> its waiters in blocking order.
type Queues = DashMap<Bytes, VecDeque<Arc<Waiter>>, ahash::RandomState>;

/// The queues of blocked clients, per database.
pub struct Blocked {
    dbs: Box<[Queues]>,
    /// Blocked clients by id (CLIENT UNBLOCK, CLIENT LIST `flags=b`, INFO).
    clients: DashMap<u64, Arc<Waiter>, ahash::RandomState>,
}

impl Blocked {
    pub fn new(databases: usize) -> Self {
        Blocked {
            dbs: (0..databases.max(1)).map(|_| DashMap::default()).collect(),
            clients: DashMap::default(),
        }
    }

    /// Appends `w` to the queue of each of its keys. Call under the shard locks of those keys
    /// (see the module doc); `events` holds the store's blocked count.
    pub fn register(&self, events: &KeyspaceEvents, w: &Arc<Waiter>) {
        events.blocked.fetch_add(1, Ordering::SeqCst);
        for key in &w.keys {
            self.dbs[w.db]
                .entry(key.clone())
                .or_default()
                .push_back(w.clone());
        }
        self.clients.insert(w.client, w.clone());
    }

    /// Ends `w`'s wait if nobody else has: removes it from every queue. Returns whether this
    /// caller won (and must deliver the outcome).
    pub fn finish(&self, events: &KeyspaceEvents, w: &Arc<Waiter>) -> bool {
        if !w.claim() {
            return false;
        }
        for key in &w.keys {
            let emptied = self.dbs[w.db].remove_if_mut(key, |_, queue| {
                queue.retain(|x| !Arc::ptr_eq(x, w));
                queue.is_empty()
            });
            drop(emptied);
        }
        self.clients.remove_if(&w.client, |_, x| Arc::ptr_eq(x, w));
        events.blocked.fetch_sub(1, Ordering::SeqCst);
        true
    }

    /// The first waiter on `(db, key)` that `kind` can serve and nobody has claimed yet.
    pub fn first_waiting(&self, db: usize, key: &[u8], kind: Kind) -> Option<Arc<Waiter>> {
        let queue = self.dbs[db].get(key)?;
        queue
            .iter()
            .find(|w| w.op.kind() == kind && !w.is_claimed())
            .cloned()
    }

    /// Records every key of `db` that has waiters as ready in `fx` (after SWAPDB, as Redis's
    /// `scanDatabaseForReadyKeys`; serving checks each key's type).
    pub fn signal_db(&self, events: &KeyspaceEvents, db: usize, fx: &Scope) {
        if events.blocked.load(Ordering::Relaxed) == 0 {
            return;
        }
        for entry in self.dbs[db].iter() {
            fx.ready(db, entry.key());
        }
    }

    /// The wait of client `id`, if it is blocked.
    pub fn waiter_of(&self, id: u64) -> Option<Arc<Waiter>> {
        self.clients.get(&id).map(|w| w.clone())
    }

    /// Whether client `id` is blocked (CLIENT LIST `flags=b`).
    pub fn is_blocked(&self, id: u64) -> bool {
        self.clients.contains_key(&id)
    }

    /// Blocked clients, and how many of them have a timeout (INFO `blocked_clients`,
    /// `clients_in_timeout_table`).
    pub fn counts(&self) -> (usize, usize) {
        let mut with_timeout = 0;
        let mut total = 0;
        for w in self.clients.iter() {
            total += 1;
            with_timeout += usize::from(w.timeout);
        }
        (total, with_timeout)
    }

    /// Whether nothing is registered (every queue and the client index are empty).
    pub fn is_empty(&self) -> bool {
        self.clients.is_empty() && self.dbs.iter().all(|q| q.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn waiter(client: u64, keys: &[&str], op: WaitOp) -> Arc<Waiter> {
        let keys = keys.iter().map(|k| Bytes::copy_from_slice(k.as_bytes()));
        Arc::new(Waiter::new(
            client,
            0,
            0,
            0,
            keys.collect(),
            op,
            false,
            true,
        ))
    }

    #[test]
    fn waits_end_once_and_leave_nothing_behind() {
        let events = KeyspaceEvents::new(1);
        let blocked = Blocked::new(1);
        let pop = WaitOp::Pop {
            side: Side::Left,
            count: None,
        };
        let a = waiter(1, &["k", "j"], pop.clone());
        let z = waiter(
            2,
            &["k"],
            WaitOp::ZPop {
                max: false,
                count: None,
            },
        );
        blocked.register(&events, &a);
        blocked.register(&events, &z);
        assert_eq!(events.blocked.load(Ordering::SeqCst), 2);
        assert_eq!(blocked.counts(), (2, 2));
        assert!(blocked.is_blocked(1));
        // The zset waiter is not offered a list.
        let first = blocked.first_waiting(0, b"k", Kind::List).unwrap();
        assert!(Arc::ptr_eq(&first, &a));
        let first = blocked.first_waiting(0, b"k", Kind::ZSet).unwrap();
        assert!(Arc::ptr_eq(&first, &z));
        assert!(blocked.finish(&events, &a));
        assert!(!blocked.finish(&events, &a), "a wait ends once");
        assert!(blocked.first_waiting(0, b"j", Kind::List).is_none());
        assert!(blocked.finish(&events, &z));
        assert_eq!(events.blocked.load(Ordering::SeqCst), 0);
        assert!(blocked.is_empty());
    }

    #[test]
    fn signal_db_records_every_waited_key() {
        let events = KeyspaceEvents::new(2);
        let blocked = Blocked::new(2);
        let fx = Scope::new(None, None);
        blocked.signal_db(&events, 0, &fx);
        assert!(!fx.has_ready(), "nobody blocked: nothing recorded");
        let op = WaitOp::Pop {
            side: Side::Right,
            count: Some(2),
        };
        blocked.register(&events, &waiter(1, &["a", "b"], op));
        blocked.signal_db(&events, 1, &fx);
        assert!(!fx.has_ready(), "no waiter in db 1");
        blocked.signal_db(&events, 0, &fx);
        let mut keys: Vec<Vec<u8>> = fx
            .take_ready()
            .into_iter()
            .map(|(_, k)| k.to_vec())
            .collect();
        keys.sort();
        assert_eq!(keys, vec![b"a".to_vec(), b"b".to_vec()]);
    }
}
