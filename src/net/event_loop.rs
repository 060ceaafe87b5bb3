//! One event loop: a mio `Poll`, this loop's own `SO_REUSEPORT` listeners, a `Slab` of
//! connections (slab key = mio `Token`), and an inbox + `Waker` through which other threads
//! reach it.
//!
//! Threading rules: a connection is only ever touched by its loop. Other threads send a
//! [`Msg`] through [`crate::state::mailbox`], which pushes onto the inbox and wakes the poll once
//! the sending execution holds no shard lock.
//!
//! Blocked clients (BLPOP & co, see [`crate::commands::blocking`]): the loop keeps their
//! deadlines in a timer set and polls no longer than the nearest one, so timeouts fire with
//! millisecond precision; a client served or unblocked by another thread arrives as
//! [`Msg::Unblocked`]. Either way the reply is appended and the client's buffered input runs.
//!
//! Clients held by a client pause ([`crate::state::pause`]) are parked in a list in the order
//! they were held; the loop polls no longer than the pause's end and re-runs them all when the
//! pause becomes less restrictive than when they were held (its end passed, or
//! [`Msg::Unpaused`] after CLIENT UNPAUSE).
//!
//! The loop knows connections and messages, not commands: it hands each parsed command to
//! [`crate::commands::call()`] (in `conn.rs`) and asks `commands::blocking` for the outcome of a
//! timed-out wait.

use std::collections::BTreeSet;
use std::io;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{channel, Receiver};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::net::TcpListener;
use mio::{Events, Interest, Poll, Token, Waker};
use slab::Slab;

use super::conn::{Conn, Next};
use crate::state::listen::LoopListeners;
use crate::state::mailbox::{LoopHandle, Msg};
use crate::state::{Client, ClientInfo, LoopStats, Shared};

const WAKER: Token = Token(usize::MAX);
/// Listener `i` uses `Token(LISTENER_BASE - i)`.
const LISTENER_BASE: usize = usize::MAX - 1;
/// Housekeeping period (idle timeouts, retried accepts).
const TICK: Duration = Duration::from_millis(100);

/// Output a connection may hold before each Pub/Sub delivery checks its output limit (below
/// it, the flush after the inbox is drained checks).
const DELIVERY_LIMIT_CHECK: usize = 256 * 1024;

/// One event loop (its thread runs [`EventLoop::run`]).
pub struct EventLoop {
    index: usize,
    poll: Poll,
    listeners: Vec<TcpListener>,
    /// Per listener: it is a `tls-port` listener (its connections start a TLS handshake).
    listener_tls: Vec<bool>,
    conns: Slab<Conn>,
    inbox: Receiver<Msg>,
    shared: Arc<Shared>,
    stats: Arc<LoopStats>,
    /// Connections with unread input left after their per-event read budget.
    read_again: Vec<usize>,
    /// An accept failed for lack of resources; retry on the next tick.
    accept_backoff: bool,
    /// Connections with output produced during this iteration (replies, Pub/Sub messages,
    /// MONITOR lines): written once each at its end, before the loop sleeps.
    pending_output: Vec<usize>,
    /// Deadlines of this loop's blocked clients: (when, token, client id). Entries whose client
    /// was unblocked meanwhile are skipped when they come due.
    timers: BTreeSet<(Instant, usize, u64)>,
    /// Clients held by a client pause, in the order they were held: (token, client id).
    parked: Vec<(usize, u64)>,
    /// The most restrictive pause kind a parked client was held under: they are re-run once
    /// the effective pause is less restrictive than this.
    parked_kind: u8,
    /// The addresses this loop listens on (to listen again when a shutdown is cancelled).
    listen_addrs: Vec<std::net::SocketAddr>,
    /// A graceful shutdown is under way: listeners closed, drain reported each iteration.
    draining: bool,
    /// Clients waiting in SHUTDOWN: (token, client id).
    shutdown_waiters: Vec<(usize, u64)>,
}

impl EventLoop {
    /// Creates loop `index` with its listeners (each with whether it is a TLS one); returns
    /// it and the handle for other threads.
    pub fn new(
        index: usize,
        listeners: LoopListeners,
        shared: Arc<Shared>,
    ) -> io::Result<(EventLoop, LoopHandle)> {
        let poll = Poll::new()?;
        let waker = Arc::new(Waker::new(poll.registry(), WAKER)?);
        let (tx, rx) = channel();
        let stats = shared.stats[index].clone();
        let mut event_loop = EventLoop {
            index,
            poll,
            listeners: Vec::new(),
            listener_tls: Vec::new(),
            conns: Slab::with_capacity(64),
            inbox: rx,
            shared,
            stats,
            read_again: Vec::new(),
            accept_backoff: false,
            pending_output: Vec::new(),
            timers: BTreeSet::new(),
            parked: Vec::new(),
            parked_kind: crate::state::pause::OFF,
            listen_addrs: Vec::new(),
            draining: false,
            shutdown_waiters: Vec::new(),
        };
        event_loop.install_listeners(listeners)?;
        Ok((event_loop, LoopHandle::new(tx, waker)))
    }

    /// Makes `listeners` this loop's listeners (registered unless a shutdown is draining; then
    /// they are only remembered, to listen on if it is cancelled). Fails on the first listener
    /// that cannot be registered or has no address; those before it are kept.
    fn install_listeners(&mut self, listeners: LoopListeners) -> io::Result<()> {
        // Listener `i`, its address and its TLS flag share index `i`.
        for (mut l, tls) in listeners {
            let addr = l.local_addr()?;
            if !self.draining {
                self.poll.registry().register(
                    &mut l,
                    Token(LISTENER_BASE - self.listeners.len()),
                    Interest::READABLE,
                )?;
                self.listeners.push(l);
            }
            self.listen_addrs.push(addr);
            self.listener_tls.push(tls);
        }
        Ok(())
    }

    /// CONFIG SET bind/port: the old listeners close (connection attempts get refused), the
    /// new ones (already bound and listening) take over; connections stay.
    fn replace_listeners(&mut self, listeners: LoopListeners) {
        for mut l in self.listeners.drain(..) {
            let _ = self.poll.registry().deregister(&mut l);
        }
        self.listener_tls.clear();
        self.listen_addrs.clear();
        if let Err(e) = self.install_listeners(listeners) {
            tracing::error!(event_loop = self.index, error = %e, "cannot use the new listeners");
        }
    }

    /// Runs until shutdown.
    pub fn run(mut self) {
        let mut events = Events::with_capacity(1024);
        let mut last_tick = Instant::now();
        loop {
            let timeout = if self.read_again.is_empty() {
                // Wake for the nearest blocked client's deadline (millisecond precision).
                let timeout = match self.timers.first() {
                    Some((due, _, _)) => due.saturating_duration_since(Instant::now()).min(TICK),
                    None => TICK,
                };
                if self.parked.is_empty() {
                    timeout
                } else {
                    timeout.min(self.until_pause_ends())
                }
            } else {
                Duration::ZERO
            };
            if let Err(e) = self.poll.poll(&mut events, Some(timeout)) {
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                tracing::error!(event_loop = self.index, error = %e, "poll failed");
                break;
            }
            for event in events.iter() {
                match event.token() {
                    WAKER => {}
                    Token(t) if t > LISTENER_BASE - self.listeners.len() && t <= LISTENER_BASE => {
                        self.accept(LISTENER_BASE - t)
                    }
                    Token(key) => {
                        let Some(conn) = self.conns.get_mut(key) else {
                            continue;
                        };
                        let next =
                            if event.is_readable() || event.is_read_closed() || event.is_error() {
                                if event.is_read_closed() || event.is_error() {
                                    conn.note_peer_closed();
                                }
                                conn.on_readable(&self.shared, &self.stats, self.poll.registry())
                            } else {
                                conn.on_writable(&self.shared, &self.stats, self.poll.registry())
                            };
                        let next =
                            if next == Next::Keep && event.is_writable() && event.is_readable() {
                                conn.on_writable(&self.shared, &self.stats, self.poll.registry())
                            } else {
                                next
                            };
                        self.after_input(key, next);
                    }
                }
            }
            let mut read_again = std::mem::take(&mut self.read_again);
            read_again.sort_unstable();
            read_again.dedup();
            for key in read_again {
                if let Some(conn) = self.conns.get_mut(key) {
                    let next = conn.on_readable(&self.shared, &self.stats, self.poll.registry());
                    self.after_input(key, next);
                }
            }
            if self.drain_inbox() {
                break;
            }
            // One clock read per iteration serves both the timeouts and the housekeeping tick.
            let now = Instant::now();
            self.expire_blocked(now);
            if !self.parked.is_empty() {
                let kind = self.shared.pause.current(crate::clock::now_ms());
                if kind < self.parked_kind {
                    self.resume_parked();
                }
            }
            // Everything this iteration produced (replies, deliveries, timeouts) goes out now,
            // after its writes reached the AOF (and the disk, with `appendfsync always`).
            if self.shared.aof.is_on() {
                self.shared
                    .aof
                    .before_replies(self.stats.last_ticket.load(Ordering::Relaxed));
            }
            self.flush_pending();
            if self.draining {
                // A graceful shutdown waits until every loop's clients have their replies.
                let drained = self.conns.iter().all(|(_, c)| !c.has_output());
                self.shared.graceful.report_drained(self.index, drained);
            }
            if now.saturating_duration_since(last_tick) >= TICK {
                last_tick = now;
                self.housekeeping();
            }
        }
        self.close_all();
    }

    /// [`EventLoop::after`] for a connection that just ran input: its replies are queued for the
    /// end-of-iteration write ([`EventLoop::flush_pending`]).
    fn after_input(&mut self, key: usize, next: Next) {
        if next != Next::Close && self.conns.get(key).is_some_and(Conn::has_output) {
            self.pending_output.push(key);
        }
        self.after(key, next);
    }

    fn after(&mut self, key: usize, next: Next) {
        match next {
            Next::Keep => {}
            Next::ReadAgain => self.read_again.push(key),
            Next::Close => return self.close(key),
        }
        // A command just blocked the client: arm its timeout.
        if let Some(conn) = self.conns.get_mut(key) {
            if conn.client.awaiting_shutdown
                && !self.shutdown_waiters.contains(&(key, conn.client.id))
            {
                self.shutdown_waiters.push((key, conn.client.id));
            }
            if conn.client.postponed && !conn.parked {
                conn.parked = true;
                self.parked.push((key, conn.client.id));
                self.parked_kind = self.parked_kind.max(self.shared.pause.kind());
            }
            let id = conn.client.id;
            if let Some(blocked) = conn.client.blocked.as_mut().filter(|b| !b.armed) {
                blocked.armed = true;
                if let Some(due) = blocked.deadline {
                    self.timers.insert((due, key, id));
                }
            }
        }
    }

    /// Times out the blocked clients whose deadline has passed (Redis's
    /// `handleBlockedClientsTimeout`): each gets its command's timeout reply and resumes.
    fn expire_blocked(&mut self, now: Instant) {
        while let Some(&(due, key, id)) = self.timers.first() {
            if due > now {
                break;
            }
            self.timers.pop_first();
            let Some(conn) = self.conns.get_mut(key) else {
                continue;
            };
            let still = conn.client.id == id
                && conn
                    .client
                    .blocked
                    .as_ref()
                    .is_some_and(|b| b.deadline == Some(due));
            if !still {
                continue;
            }
            let blocked = conn.client.blocked.as_mut().expect("checked above");
            // Lost to a server or CLIENT UNBLOCK: their `Msg::Unblocked` is on its way.
            if let Some(reply) = crate::commands::blocking::timed_out(&self.shared, blocked) {
                // As Redis, a timed-out command goes to neither the slow log nor its
                // latency histogram.
                blocked.call = None;
                self.resume(key, &reply);
            }
        }
    }

    /// A graceful shutdown began: new connections are refused (the listening sockets are
    /// closed, so connection attempts get a reset) while the clients already here are served.
    fn stop_accepting(&mut self) {
        for mut l in self.listeners.drain(..) {
            let _ = self.poll.registry().deregister(&mut l);
        }
        self.draining = true;
    }

    /// The shutdown was aborted or failed: listen again, and answer the clients that wait in
    /// SHUTDOWN with Redis's error, then run what they pipelined after it.
    fn shutdown_cancelled(&mut self) {
        self.draining = false;
        if self.listeners.is_empty() {
            for (i, addr) in self.listen_addrs.iter().enumerate() {
                match crate::state::listen::bind(*addr).and_then(|mut l| {
                    self.poll.registry().register(
                        &mut l,
                        Token(LISTENER_BASE - i),
                        Interest::READABLE,
                    )?;
                    Ok(l)
                }) {
                    Ok(l) => self.listeners.push(l),
                    Err(e) => {
                        tracing::error!(event_loop = self.index, %addr, error = %e, "cannot listen again after the cancelled shutdown");
                        break;
                    }
                }
            }
        }
        for (key, id) in std::mem::take(&mut self.shutdown_waiters) {
            let Some(conn) = self.conns.get_mut(key).filter(|c| c.client.id == id) else {
                continue;
            };
            conn.client.awaiting_shutdown = false;
            conn.out.error(crate::commands::errors::SHUTDOWN_FAILED);
            self.stats.count_error(b"ERR");
            let next = conn.on_readable(&self.shared, &self.stats, self.poll.registry());
            self.after_input(key, next);
        }
    }

    /// How long until the effective pause's end (Unix ms), rounded up.
    fn until_pause_ends(&self) -> Duration {
        let end = self.shared.pause.end_ms();
        let now = crate::clock::now_ms();
        Duration::from_millis(end.saturating_sub(now).saturating_add(1))
    }

    /// Re-runs every client held by a client pause, in the order they were held (Redis's
    /// `unblockPostponedClients`): each runs its held command first, then its pipeline;
    /// those the pause still holds park again.
    fn resume_parked(&mut self) {
        self.parked_kind = crate::state::pause::OFF;
        for (key, id) in std::mem::take(&mut self.parked) {
            let Some(conn) = self.conns.get_mut(key).filter(|c| c.client.id == id) else {
                continue;
            };
            Self::unpark(&self.shared, conn);
            let next = conn.on_readable(&self.shared, &self.stats, self.poll.registry());
            self.after_input(key, next);
        }
    }

    /// Clears a held client's pause state (resumed, or closing).
    fn unpark(shared: &Shared, conn: &mut Conn) {
        conn.parked = false;
        if std::mem::take(&mut conn.client.postponed) {
            conn.client.info.postponed.store(false, Ordering::Relaxed);
            shared.pause.parked.fetch_sub(1, Ordering::Relaxed);
        }
    }

    fn accept(&mut self, listener: usize) {
        loop {
            let (mut stream, addr) = match self.listeners[listener].accept() {
                Ok(pair) => pair,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    // EMFILE/ENFILE/ENOBUFS: back off and retry on the next tick rather than
                    // spinning or giving up on the listener.
                    tracing::warn!(event_loop = self.index, error = %e, "accept failed");
                    self.accept_backoff = true;
                    return;
                }
            };
            let tls = self.listener_tls[listener];
            let maxclients = self.shared.settings.maxclients.load(Ordering::Relaxed);
            if self.shared.connected.fetch_add(1, Ordering::SeqCst) >= maxclients {
                self.shared.connected.fetch_sub(1, Ordering::SeqCst);
                // As Redis: a best-effort error, then close; counted as rejected, not received.
                // (On a TLS port the error would need a handshake first: just close.)
                LoopStats::add(&self.stats.rejected_connections, 1);
                use std::io::Write;
                if !tls {
                    let _ = stream.write(b"-ERR max number of clients reached\r\n");
                }
                continue;
            }
            let session = if tls {
                // The context as it is now: a later CONFIG SET tls-* affects later connections.
                match self
                    .shared
                    .tls
                    .server_config()
                    .map(super::tls::TlsSession::new)
                {
                    Some(Ok(session)) => Some(Box::new(session)),
                    _ => {
                        self.shared.connected.fetch_sub(1, Ordering::SeqCst);
                        continue;
                    }
                }
            } else {
                None
            };
            let denied = self.shared.settings.protected_mode.load(Ordering::Relaxed)
                && !is_loopback_client(&addr)
                && self.shared.users.default_is_nopass();
            if denied {
                // As Redis's clientAcceptHandler: the explanation, then close — on a TLS port
                // once the handshake is done (the connection carries the text until then).
                LoopStats::add(&self.stats.rejected_connections, 1);
                if !tls {
                    self.shared.connected.fetch_sub(1, Ordering::SeqCst);
                    use std::io::Write;
                    let _ = stream.write(crate::commands::errors::PROTECTED_MODE_DENIED.as_bytes());
                    continue;
                }
            }
            LoopStats::add(&self.stats.connections_received, 1);
            let _ = stream.set_nodelay(true);
            let entry = self.conns.vacant_entry();
            let token = Token(entry.key());
            if self
                .poll
                .registry()
                .register(&mut stream, token, Interest::READABLE)
                .is_err()
            {
                self.shared.connected.fetch_sub(1, Ordering::SeqCst);
                continue;
            }
            use std::os::fd::AsRawFd;
            let laddr = stream.local_addr().unwrap_or(addr);
            let id = self.shared.clients.next_id();
            let info = Arc::new(ClientInfo::new(
                id,
                addr,
                laddr,
                stream.as_raw_fd(),
                self.index,
                token.0,
            ));
            self.shared.clients.insert(info.clone());
            let mut client = Client::new(info);
            client.authenticated = self.shared.users.starts_authenticated();
            let mut conn = Conn::new(stream, token, client);
            conn.tls = session;
            conn.deny_after_handshake =
                denied.then_some(crate::commands::errors::PROTECTED_MODE_DENIED);
            let cfg = &self.shared.config;
            conn.proxy_pending = cfg.proxy_protocol
                && (cfg.proxy_trusted.is_empty()
                    || cfg.proxy_trusted.iter().any(|n| n.contains(&addr.ip())));
            // Counted for client eviction from the start (a kill, if this evicts it, arrives
            // through the inbox).
            conn.publish_memory(&self.shared);
            entry.insert(conn);
        }
    }

    /// Ends the wait of the blocked client at `key` with `reply` and runs its buffered input.
    fn resume(&mut self, key: usize, reply: &[u8]) {
        let Some(conn) = self.conns.get_mut(key) else {
            return;
        };
        if let Some(due) = conn
            .unblock(&self.shared, reply, &self.stats)
            .and_then(|b| b.deadline)
        {
            self.timers.remove(&(due, key, conn.client.id));
        }
        let next = conn.on_readable(&self.shared, &self.stats, self.poll.registry());
        self.after_input(key, next);
    }

    fn close(&mut self, key: usize) {
        if let Some(mut conn) = self.conns.try_remove(key) {
            let _ = self.poll.registry().deregister(&mut conn.stream);
            Self::unpark(&self.shared, &mut conn);
            let id = conn.client.id;
            if let Some(due) = self
                .shared
                .disconnect(&mut conn.client)
                .and_then(|b| b.deadline)
            {
                self.timers.remove(&(due, key, id));
            }
            self.shared.connected.fetch_sub(1, Ordering::SeqCst);
        }
    }

    /// Handles queued messages; returns true on shutdown.
    fn drain_inbox(&mut self) -> bool {
        let mut shutdown = false;
        while let Ok(msg) = self.inbox.try_recv() {
            match msg {
                Msg::Kill { token, id } => {
                    if self.conns.get(token).is_some_and(|c| c.client.id == id) {
                        self.close(token);
                    }
                }
                Msg::Shutdown => shutdown = true,
                Msg::AclRecheck { token, id } => {
                    let revoked = self.conns.get(token).is_some_and(|c| {
                        let client = &c.client;
                        client.id == id
                            && !self
                                .shared
                                .users
                                .of(&client.user)
                                .rules()
                                .keeps_subscriptions(&client.pubsub)
                    });
                    if revoked {
                        self.close(token);
                    }
                }
                Msg::Listen(listeners) => self.replace_listeners(listeners),
                Msg::Unpaused => self.resume_parked(),
                Msg::StopAccepting => self.stop_accepting(),
                Msg::ShutdownCancelled => self.shutdown_cancelled(),
                Msg::Deliver(d) => self.deliver(&d),
                Msg::Push { token, id, frame } => {
                    if let Some(conn) = self.conns.get_mut(token) {
                        if conn.client.id == id {
                            conn.out.buf.extend_from_slice(&frame);
                            self.pending_output.push(token);
                        }
                    }
                }
                Msg::Unblocked {
                    token,
                    waiter,
                    reply,
                } => {
                    let Some(conn) = self.conns.get_mut(token) else {
                        continue;
                    };
                    let ours = conn
                        .client
                        .blocked
                        .as_ref()
                        .is_some_and(|b| Arc::ptr_eq(&b.waiter, &waiter));
                    if ours {
                        self.resume(token, &reply);
                    }
                }
            }
        }
        shutdown || self.shared.shutdown.load(Ordering::Relaxed)
    }

    /// Appends a publication's frames to its live targets on this loop.
    fn deliver(&mut self, d: &crate::pubsub::Delivery) {
        for t in &d.targets {
            if let Some(conn) = self.conns.get_mut(t.token) {
                let c = &conn.client;
                if d.write(t, c.id, &c.pubsub, c.reply_off, &mut conn.out) {
                    // As Redis checks the limit on every reply appended: a flood of deliveries
                    // drained in one go must not grow a non-reading subscriber's buffer past
                    // its limit before the flush would notice.
                    // (Only past a size worth checking: the flush checks every limit anyway.)
                    if conn.out.len() >= DELIVERY_LIMIT_CHECK
                        && conn.over_output_limit_now(&self.shared)
                    {
                        self.close(t.token);
                    } else {
                        self.pending_output.push(t.token);
                    }
                }
            }
        }
    }

    /// Writes out every pending output once per connection (the output limit for its client
    /// class is checked there), as Redis's `handleClientsWithPendingWrites` before sleeping.
    fn flush_pending(&mut self) {
        if self.pending_output.is_empty() {
            return;
        }
        let mut pending = std::mem::take(&mut self.pending_output);
        pending.sort_unstable();
        pending.dedup();
        for &key in &pending {
            if let Some(conn) = self.conns.get_mut(key) {
                let next = conn.on_writable(&self.shared, &self.stats, self.poll.registry());
                self.after(key, next);
            }
        }
        // Keep the buffer's capacity, and anything queued while flushing.
        pending.clear();
        pending.append(&mut self.pending_output);
        self.pending_output = pending;
    }

    fn housekeeping(&mut self) {
        if self.shared.config.proxy_protocol {
            self.close_stalled_proxy_headers();
        }
        if self.listener_tls.contains(&true) {
            self.close_stalled_handshakes();
        }
        if self.accept_backoff {
            self.accept_backoff = false;
            for i in 0..self.listeners.len() {
                self.accept(i);
            }
        }
        let timeout = self.shared.settings.timeout.load(Ordering::Relaxed);
        if timeout > 0 {
            let idle: Vec<usize> = self
                .conns
                .iter()
                // As Redis, a client waiting in a blocking command or held by a client pause
                // is not idle.
                .filter(|(_, c)| {
                    c.client.blocked.is_none()
                        && !c.client.postponed
                        && c.last_active.elapsed().as_secs() >= timeout
                })
                .map(|(k, _)| k)
                .collect();
            for key in idle {
                tracing::debug!(event_loop = self.index, "closing idle client");
                self.close(key);
            }
        }
    }

    /// Connections whose PROXY protocol header has not come within
    /// `proxy-protocol-header-timeout` seconds of connecting are closed: a balancer sends it
    /// at once, so a silent or trickling peer only holds a slot.
    fn close_stalled_proxy_headers(&mut self) {
        let limit = Duration::from_secs(self.shared.config.proxy_header_timeout);
        let stalled: Vec<usize> = self
            .conns
            .iter()
            .filter(|(_, c)| c.proxy_pending && c.client.info.created.elapsed() >= limit)
            .map(|(k, _)| k)
            .collect();
        for key in stalled {
            tracing::debug!(
                event_loop = self.index,
                "closing client: no PROXY header in time"
            );
            self.close(key);
        }
    }

    /// TLS connections still handshaking `tls-handshake-timeout` ms after connecting are
    /// closed: a real client finishes in a few round trips, so a silent or trickling peer only
    /// holds a slot.
    fn close_stalled_handshakes(&mut self) {
        let limit = Duration::from_millis(self.shared.tls.settings().handshake_timeout_ms);
        let stalled: Vec<usize> = self
            .conns
            .iter()
            .filter(|(_, c)| c.tls_handshaking() && c.client.info.created.elapsed() >= limit)
            .map(|(k, _)| k)
            .collect();
        for key in stalled {
            tracing::debug!(
                event_loop = self.index,
                "closing client: TLS handshake not finished in time"
            );
            self.close(key);
        }
    }

    fn close_all(&mut self) {
        let keys: Vec<usize> = self.conns.iter().map(|(k, _)| k).collect();
        for key in keys {
            if let Some(conn) = self.conns.get_mut(key) {
                conn.flush_best_effort();
            }
            self.close(key);
        }
    }
}

/// Redis's `islocalClient`: exactly 127.0.0.1 or ::1 (other 127/8 addresses are not local).
fn is_loopback_client(addr: &std::net::SocketAddr) -> bool {
    match addr.ip() {
        std::net::IpAddr::V4(ip) => ip == std::net::Ipv4Addr::LOCALHOST,
        std::net::IpAddr::V6(ip) => ip == std::net::Ipv6Addr::LOCALHOST,
    }
}
