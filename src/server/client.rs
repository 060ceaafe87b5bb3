//! Per-connection state: [`Client`] (owned by its loop, handed to command handlers) and
//! [`ClientInfo`] (the part other threads may read for CLIENT LIST / CLIENT KILL).
//!
//! Threading rules: a `Client` is only touched by its own loop. A `ClientInfo` is shared through
//! the [`ClientTable`]; its fields are atomics or small mutexes written by the owning loop and
//! read by whoever runs CLIENT LIST. Killing a client on another loop goes through that loop's
//! inbox ([`crate::server::worker::Msg::Kill`]); the owner closes the socket.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use parking_lot::Mutex;

/// What other threads can see of a connection.
pub struct ClientInfo {
    pub id: u64,
    pub addr: SocketAddr,
    pub laddr: SocketAddr,
    pub fd: i32,
    pub worker: usize,
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
    pub killed: AtomicBool,
    /// Commands queued in the open MULTI, -1 outside MULTI (CLIENT LIST `multi=`).
    pub multi: AtomicI64,
    /// Subscription counts and MONITOR mode (written by the owning loop).
    pub pubsub: crate::pubsub::SubCounts,
    /// Blocked by BLPOP & co: a [`crate::commands::blocking::state`] value (CLIENT LIST
    /// `flags=b`, INFO `blocked_clients`). Written by whoever starts or ends the wait.
    pub blocked: AtomicU8,
}

impl ClientInfo {
    pub fn new(
        id: u64,
        addr: SocketAddr,
        laddr: SocketAddr,
        fd: i32,
        worker: usize,
        token: usize,
    ) -> Self {
        ClientInfo {
            id,
            addr,
            laddr,
            fd,
            worker,
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
            killed: AtomicBool::new(false),
            multi: AtomicI64::new(-1),
            pubsub: crate::pubsub::SubCounts::default(),
            blocked: AtomicU8::new(0),
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

    /// CLIENT LIST `flags=`, in Redis's order (`N` when none is set).
    fn flags(&self) -> String {
        let mut flags = String::new();
        if self.pubsub.monitor.load(Ordering::Relaxed) {
            flags.push('O');
        }
        if self.pubsub.is_subscribed() {
            flags.push('P');
        }
        if self.multi.load(Ordering::Relaxed) >= 0 {
            flags.push('x');
        }
        if self.is_blocked() {
            flags.push('b');
        }
        if flags.is_empty() {
            flags.push('N');
        }
        flags
    }

    /// Whether the client waits in a blocking command.
    pub fn is_blocked(&self) -> bool {
        self.blocked.load(Ordering::Relaxed) != crate::commands::blocking::state::NONE
    }

    pub fn idle_secs(&self) -> u64 {
        let now = self.created.elapsed().as_millis() as u64;
        now.saturating_sub(self.last_active_ms.load(Ordering::Relaxed)) / 1000
    }

    /// One CLIENT LIST / CLIENT INFO line (without the trailing newline), Redis 7 field order.
    pub fn describe(&self) -> String {
        let name = self.name.lock().clone().unwrap_or_default();
        let lib_name = self.lib_name.lock().clone().unwrap_or_default();
        let lib_ver = self.lib_ver.lock().clone().unwrap_or_default();
        let cmd = match self.last_cmd.load(Ordering::Relaxed) {
            0 => "NULL",
            i => crate::commands::registry().all[i - 1].name,
        };
        let qbuf = self.qbuf.load(Ordering::Relaxed);
        let obuf = self.obuf.load(Ordering::Relaxed);
        format!(
            "id={} addr={} laddr={} fd={} name={} age={} idle={} flags={} db={} sub={} psub={} ssub={} multi={} qbuf={} qbuf-free={} argv-mem=0 multi-mem=0 rbs={} rbp=0 obl={} oll=0 omem={} tot-mem={} events=r cmd={} user=default redir=-1 resp={} lib-name={} lib-ver={}",
            self.id,
            self.addr,
            self.laddr,
            self.fd,
            String::from_utf8_lossy(&name),
            self.created.elapsed().as_secs(),
            self.idle_secs(),
            self.flags(),
            self.db.load(Ordering::Relaxed),
            self.pubsub.channels.load(Ordering::Relaxed),
            self.pubsub.patterns.load(Ordering::Relaxed),
            self.pubsub.shard.load(Ordering::Relaxed),
            self.multi.load(Ordering::Relaxed),
            qbuf,
            16384usize.saturating_sub(qbuf),
            16384usize.max(qbuf),
            obuf.min(16384),
            obuf.saturating_sub(16384),
            qbuf + obuf + 16384,
            cmd,
            self.resp.load(Ordering::Relaxed),
            String::from_utf8_lossy(&lib_name),
            String::from_utf8_lossy(&lib_ver),
        )
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
    /// The last command resolved on this connection: pipelines and benchmarks repeat one
    /// command, and a case-insensitive compare is cheaper than a table lookup.
    pub last_resolved: Option<(usize, &'static crate::commands::CommandSpec)>,
    /// CLIENT REPLY OFF: replies are discarded until CLIENT REPLY ON.
    pub reply_off: bool,
    /// CLIENT REPLY SKIP was just run: the next command's reply is discarded.
    pub reply_skip_next: bool,
    /// The reply of the command now running is discarded (set from `reply_skip_next`).
    pub reply_skip: bool,
    /// Bytes of Pub/Sub pushes the running command sent this client itself, placed before its
    /// reply: kept even when CLIENT REPLY OFF/SKIP drops the reply.
    pub own_push_bytes: usize,
    /// The command now running was queued by MULTI and runs inside EXEC: blocking commands
    /// must not block (they answer as their non-blocking forms would on timeout).
    pub in_exec: bool,
    /// The open MULTI, if any.
    pub multi: Option<Box<crate::commands::multi::Transaction>>,
    /// WATCHed keys.
    pub watched: crate::commands::multi::Watched,
    /// Channels, patterns and shard channels subscribed to, and MONITOR mode.
    pub pubsub: crate::pubsub::Subscriptions,
    /// Waiting in a blocking command (BLPOP & co): the connection runs no further input until
    /// the wait ends.
    pub blocked: Option<crate::commands::blocking::BlockedOn>,
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
            reply_skip_next: false,
            reply_skip: false,
            own_push_bytes: 0,
            in_exec: false,
            multi: None,
            watched: Default::default(),
            pubsub: crate::pubsub::Subscriptions::default(),
            blocked: None,
        }
    }

    pub fn select(&mut self, db: usize) {
        self.db = db;
        self.info.db.store(db, Ordering::Relaxed);
    }
}
