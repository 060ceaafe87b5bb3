//! Per-connection state: [`Client`] (owned by its loop, handed to command handlers) and
//! [`ClientInfo`] (the part other threads may read for CLIENT LIST / CLIENT KILL), plus the
//! data of an open transaction ([`Transaction`]) and of WATCH ([`Watched`]) — what MULTI/EXEC
//! do with them is in `commands::multi`.
//!
//! Threading rules: a `Client` is only touched by its own loop. A `ClientInfo` is shared through
//! the [`ClientTable`]; its fields are atomics or small mutexes written by the owning loop and
//! read by whoever runs CLIENT LIST. Killing a client on another loop goes through that loop's
//! inbox ([`super::mailbox::Msg::Kill`]); the owner closes the socket.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use parking_lot::Mutex;

use crate::blocked::BlockedOn;
use crate::pubsub::{Member, SubCounts, Subscriber, Subscriptions};
use crate::store::events::{KeyspaceEvents, WatchFlag};

/// What other threads can see of a connection.
pub struct ClientInfo {
    pub id: u64,
    /// The client's address: the TCP peer, or the one a PROXY protocol header names
    /// ([`ClientInfo::addr`]).
    addr: Mutex<SocketAddr>,
    pub laddr: SocketAddr,
    pub fd: i32,
    /// The loop that owns the connection, and its slab token there.
    pub home: usize,
    pub token: usize,
    /// Connection time (TSC clock: cheap enough to compare on every batch).
    pub created: quanta::Instant,
    pub name: Mutex<Option<Bytes>>,
    pub lib_name: Mutex<Option<Bytes>>,
    pub lib_ver: Mutex<Option<Bytes>>,
    pub db: AtomicUsize,
    pub resp: AtomicU8,
    /// Milliseconds since `created` of the last command.
    pub last_active_ms: AtomicU64,
    /// Registry index + 1 of the last command (0 = none yet).
    pub last_cmd: AtomicUsize,
    pub qbuf: AtomicUsize,
    pub obuf: AtomicUsize,
    /// The footprint last published for client eviction (see `super::client_eviction`).
    pub mem: AtomicUsize,
    /// CLIENT NO-EVICT ON: never chosen by client eviction.
    pub no_evict: AtomicBool,
    /// CLIENT NO-TOUCH ON: its commands (but TOUCH) leave the keys' LRU/LFU data alone.
    pub no_touch: AtomicBool,
    pub killed: AtomicBool,
    /// Commands queued in the open MULTI, -1 outside MULTI (CLIENT LIST `multi=`).
    pub multi: AtomicI64,
    /// Subscription counts and MONITOR mode (written by the owning loop).
    pub pubsub: SubCounts,
    /// The ACL user the connection is authenticated as (`None`: `default`); mirrors
    /// [`Client::user`] for CLIENT LIST, CLIENT KILL USER and ACL DELUSER.
    pub user: Mutex<Option<crate::acl::UserRef>>,
    /// Held by a client pause (CLIENT LIST shows `b`, as Redis's BLOCKED_POSTPONE).
    pub postponed: AtomicBool,
}

impl ClientInfo {
    /// The client's address (CLIENT LIST `addr=`, CLIENT KILL ADDR, MONITOR).
    pub fn addr(&self) -> SocketAddr {
        *self.addr.lock()
    }

    /// The real client address a PROXY protocol header gave.
    pub fn set_addr(&self, addr: SocketAddr) {
        *self.addr.lock() = addr;
    }

    pub fn new(
        id: u64,
        addr: SocketAddr,
        laddr: SocketAddr,
        fd: i32,
        home: usize,
        token: usize,
    ) -> Self {
        ClientInfo {
            id,
            addr: Mutex::new(addr),
            laddr,
            fd,
            home,
            token,
            created: quanta::Instant::now(),
            name: Mutex::new(None),
            lib_name: Mutex::new(None),
            lib_ver: Mutex::new(None),
            db: AtomicUsize::new(0),
            resp: AtomicU8::new(2),
            last_active_ms: AtomicU64::new(0),
            last_cmd: AtomicUsize::new(0),
            qbuf: AtomicUsize::new(0),
            obuf: AtomicUsize::new(0),
            mem: AtomicUsize::new(0),
            no_evict: AtomicBool::new(false),
            no_touch: AtomicBool::new(false),
            killed: AtomicBool::new(false),
            multi: AtomicI64::new(-1),
            pubsub: SubCounts::default(),
            user: Mutex::new(None),
            postponed: AtomicBool::new(false),
        }
    }

    /// The name of the client's user (CLIENT LIST `user=`).
    pub fn user_name(&self) -> Bytes {
        match &*self.user.lock() {
            Some(u) => u.name.clone(),
            None => Bytes::from_static(crate::acl::DEFAULT_USER.as_bytes()),
        }
    }

    /// The client class CLIENT LIST/KILL TYPE filter on and output limits apply by (Redis's
    /// `getClientType`): `pubsub` while subscribed to anything, else `normal` (MONITOR clients
    /// included). There is no replication yet, so never `slave` or `master`.
    pub fn client_type(&self) -> &'static str {
        if self.pubsub.is_subscribed() {
            "pubsub"
        } else {
            "normal"
        }
    }

    pub fn idle_secs(&self) -> u64 {
        let now = self.created.elapsed().as_millis() as u64;
        now.saturating_sub(self.last_active_ms.load(Ordering::Relaxed)) / 1000
    }
}

/// All live clients of all loops, ordered by id (as CLIENT LIST prints them).
#[derive(Default)]
pub struct ClientTable {
    clients: Mutex<BTreeMap<u64, Arc<ClientInfo>>>,
    next_id: AtomicU64,
}

impl ClientTable {
    /// A fresh, never reused client id (starting at 1... Redis starts at 1 too, but its own
    /// internal clients take a few; we start at 1 for simplicity).
    pub fn next_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed) + 1
    }

    pub fn insert(&self, info: Arc<ClientInfo>) {
        self.clients.lock().insert(info.id, info);
    }

    pub fn remove(&self, id: u64) {
        self.clients.lock().remove(&id);
    }

    /// A snapshot of all clients (so the lock is not held while formatting).
    pub fn snapshot(&self) -> Vec<Arc<ClientInfo>> {
        self.clients.lock().values().cloned().collect()
    }

    pub fn get(&self, id: u64) -> Option<Arc<ClientInfo>> {
        self.clients.lock().get(&id).cloned()
    }

    pub fn len(&self) -> usize {
        self.clients.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The command-visible state of one connection.
pub struct Client {
    pub id: u64,
    pub db: usize,
    pub info: Arc<ClientInfo>,
    /// Close the connection once the pending output is written (QUIT, CLIENT KILL of self,
    /// protocol errors).
    pub close_after_reply: bool,
    /// The registry index of the last top-level command resolved on this connection:
    /// pipelines and benchmarks repeat one command, and a case-insensitive compare of its name
    /// is cheaper than a table lookup.
    pub last_resolved: Option<usize>,
    /// CLIENT REPLY OFF: replies are discarded until CLIENT REPLY ON.
    pub reply_off: bool,
    /// CLIENT TRACKING is on (the options live in `Shared::tracking`).
    pub tracking: bool,
    /// OPTIN/OPTOUT: CLIENT CACHING YES|NO was just run (applies to the next command).
    pub caching: Option<bool>,
    /// CLIENT REPLY SKIP was just run: the next command's reply is discarded.
    pub reply_skip_next: bool,
    /// The reply of the command now running is discarded (set from `reply_skip_next`).
    pub reply_skip: bool,
    /// The open MULTI, if any.
    pub multi: Option<Box<Transaction>>,
    /// WATCHed keys.
    pub watched: Watched,
    /// Channels, patterns and shard channels subscribed to, and MONITOR mode.
    pub pubsub: Subscriptions,
    /// Waiting in a blocking command (BLPOP & co): the connection runs no further input until
    /// the wait ends.
    pub blocked: Option<BlockedOn>,
    /// Held by a client pause (Redis's BLOCKED_POSTPONE): the command that was held stays in
    /// the connection, which runs nothing until its loop re-runs it ([`crate::state::pause`]).
    pub postponed: bool,
    /// Sent SHUTDOWN and waits for it (Redis's BLOCKED_SHUTDOWN): runs nothing more; gets an
    /// error if the shutdown is aborted or fails, else the connection closes as it exits.
    pub awaiting_shutdown: bool,
    /// Authenticated (Redis's `c->authenticated`): set at connection time when `default`
    /// needs no password, and by a successful AUTH / HELLO AUTH; RESET re-derives it.
    pub authenticated: bool,
    /// The ACL user (`None`: `default`).
    pub user: Option<crate::acl::UserRef>,
}

impl Client {
    pub fn new(info: Arc<ClientInfo>) -> Self {
        Client {
            id: info.id,
            db: 0,
            info,
            close_after_reply: false,
            last_resolved: None,
            reply_off: false,
            tracking: false,
            caching: None,
            reply_skip_next: false,
            reply_skip: false,
            multi: None,
            watched: Watched::default(),
            pubsub: Subscriptions::default(),
            blocked: None,
            postponed: false,
            awaiting_shutdown: false,
            authenticated: true,
            user: None,
        }
    }

    /// Authenticates the connection as `user` (`None`: `default`).
    pub fn set_user(&mut self, user: Option<crate::acl::UserRef>) {
        *self.info.user.lock() = user.clone();
        self.user = user;
    }

    pub fn select(&mut self, db: usize) {
        self.db = db;
        self.info.db.store(db, Ordering::Relaxed);
    }

    /// Where this connection lives, as the Pub/Sub registry names it.
    pub fn subscriber(&self) -> Subscriber {
        Subscriber {
            home: self.info.home,
            token: self.info.token,
            id: self.id,
        }
    }

    /// This connection as the Pub/Sub registry sees it.
    pub fn member(&mut self) -> Member<'_> {
        Member {
            at: self.subscriber(),
            subs: &mut self.pubsub,
            counts: &self.info.pubsub,
        }
    }

    /// Mirrors the open transaction into CLIENT LIST's `multi=` (queued commands, -1 outside
    /// MULTI); called after every change to `multi`.
    pub fn show_queue(&self) {
        let queued = self.multi.as_ref().map_or(-1, |t| t.len() as i64);
        self.info.multi.store(queued, Ordering::Relaxed);
    }
}

/// A client's open transaction: the commands MULTI queued.
#[derive(Default)]
pub struct Transaction {
    pub queue: Vec<Queued>,
    /// A command was rejected while queueing: EXEC answers EXECABORT.
    pub failed: bool,
}

impl Transaction {
    /// Commands queued so far (CLIENT LIST `multi=`).
    pub fn len(&self) -> usize {
        self.queue.len()
    }

    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }
}

/// One queued command: its registry index and arguments.
pub struct Queued {
    pub index: usize,
    /// Copied out of the read buffer (a long transaction must not pin request buffers).
    pub args: Vec<Bytes>,
}

/// A client's watched keys.
#[derive(Default)]
pub struct Watched {
    /// Set by any change to a watched key; created on the first WATCH.
    pub flag: Option<Arc<WatchFlag>>,
    pub keys: Vec<(usize, Bytes)>,
}

impl Watched {
    /// Unregisters every key client `id` watches and forgets the "changed" flag (UNWATCH,
    /// EXEC, DISCARD, disconnection).
    pub fn release(&mut self, events: &KeyspaceEvents, id: u64) {
        for (db, key) in self.keys.drain(..) {
            events.watches.unwatch(db, &key, id);
        }
        self.flag = None;
    }
}
