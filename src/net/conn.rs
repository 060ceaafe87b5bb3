//! One connection: its socket, read buffer, incremental parser, output buffer and the rules
//! that derive its poll interest from its state.
//!
//! Invariants:
//! - Input is parsed where the last call stopped; every complete command is executed before the
//!   replies are written, in one `write` batch per readable event (pipelining).
//! - While pending output exceeds [`PAUSE_OUTPUT`], no further input is parsed or read (a client
//!   that pipelines without reading cannot grow our memory); reading resumes once it drains.
//! - While the client waits in a blocking command (`Client::blocked`) or is held by a client
//!   pause (`Client::postponed`: the held command stays in `args`, parsed, and runs first when
//!   resumed), input is still read (so a disconnection is seen) but no command runs; the loop
//!   resumes it when the wait ends.
//! - Each command runs through [`commands::call()`] in an execution scope of its own; what the
//!   command implies beyond its reply (serving blocked clients, propagation, waking other
//!   loops, CLIENT REPLY) happens there, before this client's reply is written.
//! - WRITABLE interest is registered only while output is pending.
//! - A TLS connection (`tls` set) reads and writes through its [`TlsSession`]: the parser and
//!   the output buffer see plaintext, pipelining and write batching are the same; the plain
//!   path only tests that the field is `None` (one predictable branch per read and write).
//!   A PROXY protocol header in front of TLS is read raw, before the session sees a byte.
//! - Request buffers are never retained by the store (it copies what it keeps), so the read
//!   buffer's memory is reclaimed as soon as the commands using it have run.

use std::io::{self, Write};
use std::os::fd::AsRawFd;
use std::sync::atomic::Ordering;
use std::time::Instant;

use bytes::{Buf, Bytes, BytesMut};
use mio::net::TcpStream;
use mio::{Interest, Registry, Token};

use crate::blocked::BlockedOn;
use crate::commands::{self, Ctx};
use crate::config::OutputLimit;
use crate::resp::parse::{Limits, Parser};
use crate::resp::reply::Reply;
use crate::state::{client_eviction, Client, LoopStats, Shared};

use super::tls::TlsSession;

/// Stop reading a client's input while this much output is waiting for it.
pub const PAUSE_OUTPUT: usize = 4 * 1024 * 1024;
/// Read granularity.
const READ_CHUNK: usize = 16 * 1024;
/// Reads per readable event before yielding to other connections (fairness).
const MAX_READS_PER_EVENT: usize = 16;
/// An idle output buffer larger than this is released.
const KEEP_OUTPUT_CAPACITY: usize = 64 * 1024;

/// What the loop must do with a connection after handling an event.
#[derive(Debug, PartialEq, Eq)]
pub enum Next {
    /// Keep it.
    Keep,
    /// More input may be waiting in the kernel: call `on_readable` again next iteration.
    ReadAgain,
    /// Close it now.
    Close,
}

pub struct Conn {
    pub stream: TcpStream,
    pub token: Token,
    rbuf: BytesMut,
    /// Bytes read from the socket so far, and that count when the command now being received
    /// began: their difference is the query buffer `client-query-buffer-limit` bounds (the
    /// unfinished command's arguments already parsed plus everything unparsed).
    bytes_read: u64,
    command_start: u64,
    parser: Parser,
    args: Vec<Bytes>,
    pub out: Reply,
    pub client: Client,
    /// A PROXY protocol header must come before the first command (`proxy-protocol yes`,
    /// from a trusted source).
    pub proxy_pending: bool,
    /// WRITABLE currently registered.
    writable: bool,
    /// Input left unread because output was over [`PAUSE_OUTPUT`].
    paused: bool,
    /// When the output first exceeded the soft limit (for `client-output-buffer-limit`).
    soft_since: Option<Instant>,
    pub last_active: quanta::Instant,
    /// The poll reported the peer's write side closed: read until EOF.
    peer_closed: bool,
    /// In its loop's list of clients held by a client pause.
    pub parked: bool,
    /// `args` is a whole command a client pause held, to run first when resumed.
    held: bool,
    /// The footprint last published for client eviction.
    published_mem: usize,
    /// The TLS session of a connection accepted on a `tls-port` listener (boxed: the plain
    /// connection pays one pointer).
    pub tls: Option<Box<TlsSession>>,
    /// A TLS client protected mode turns away: once its handshake is done it gets this text
    /// (over TLS, as Redis's clientAcceptHandler writes it) and is closed.
    pub deny_after_handshake: Option<&'static str>,
}

impl Conn {
    pub fn new(stream: TcpStream, token: Token, client: Client) -> Self {
        Conn {
            stream,
            token,
            rbuf: BytesMut::with_capacity(READ_CHUNK),
            bytes_read: 0,
            command_start: 0,
            parser: Parser::new(),
            args: Vec::with_capacity(8),
            out: Reply::new(false),
            client,
            writable: false,
            paused: false,
            soft_since: None,
            last_active: quanta::Instant::now(),
            peer_closed: false,
            proxy_pending: false,
            parked: false,
            held: false,
            published_mem: 0,
            tls: None,
            deny_after_handshake: None,
        }
    }

    /// Still in the TLS handshake (checked by the loop's handshake timeout).
    pub fn tls_handshaking(&self) -> bool {
        self.tls.as_ref().is_some_and(|t| t.is_handshaking())
    }

    /// TLS records wait to be written.
    fn tls_pending(&self) -> bool {
        self.tls.as_ref().is_some_and(|t| t.wants_write())
    }

    /// Reads what the socket has (bounded per event), executing complete commands as it goes,
    /// then writes the replies.
    pub fn on_readable(&mut self, shared: &Shared, stats: &LoopStats, registry: &Registry) -> Next {
        // Killed by CLIENT KILL on another connection: run nothing more; the loop closes us
        // when it reads the `Msg::Kill` from its inbox (or now, if the event came first).
        if self.client.info.killed.load(Ordering::Relaxed) {
            return Next::Close;
        }
        let mut next = Next::Keep;
        self.paused = false;
        // Commands already buffered run first (resuming after a pause).
        self.process(shared, stats);
        for i in 0.. {
            if self.client.close_after_reply || self.out.len() > PAUSE_OUTPUT {
                self.paused = !self.client.close_after_reply;
                break;
            }
            if i == MAX_READS_PER_EVENT {
                next = Next::ReadAgain;
                break;
            }
            match self.read_some() {
                Ok((0, _)) => {
                    // EOF: like Redis, replies to what the client sent before closing its
                    // side still go out (best effort), then the connection closes.
                    self.flush_best_effort();
                    return Next::Close;
                }
                Ok((n, asked)) => {
                    LoopStats::add(&stats.net_input_bytes, n as u64);
                    self.bytes_read += n as u64;
                    self.process(shared, stats);
                    if !self.publish_memory(shared) {
                        return Next::Close;
                    }
                    let limit = shared
                        .settings
                        .client_query_buffer_limit
                        .load(Ordering::Relaxed);
                    if self.bytes_read - self.command_start > limit {
                        // As Redis: no reply, the client is closed and the event logged.
                        tracing::warn!(
                            client = self.client.id,
                            "closing client that reached max query buffer length"
                        );
                        return Next::Close;
                    }
                    // A short read drained the socket: with edge-triggered readiness, data that
                    // arrives later raises a new event, so skip the read that would only say
                    // EAGAIN (one syscall per request saved). Not after the peer half-closed:
                    // that edge is already consumed and only reading to 0 reveals the EOF.
                    if n < asked && !self.peer_closed {
                        // Output may have filled up while processing this read: commands left
                        // in the buffer then wait for the drain (`on_writable` resumes them).
                        self.paused =
                            !self.client.close_after_reply && self.out.len() > PAUSE_OUTPUT;
                        break;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => return Next::Close,
            }
        }
        if !self.paused {
            // The replies go out when the loop has handled every ready connection (it calls
            // `on_writable` for each one with output, see `has_output`), as Redis's
            // `handleClientsWithPendingWrites`: clients then receive their replies in one
            // burst per iteration rather than spread across it.
            return next;
        }
        match self.flush(shared, stats, registry) {
            // The flush drained enough of the output that paused us. Nothing else would wake
            // this connection: WRITABLE is dropped once output is empty, and no new READABLE
            // edge comes while the client is blocked on its full send buffer. Resume now.
            Next::Keep if self.out.len() <= PAUSE_OUTPUT / 2 => {
                self.paused = false;
                Next::ReadAgain
            }
            Next::Keep => next,
            other => other,
        }
    }

    /// Output is waiting to be written (or the connection is to close once it is): the loop
    /// must call [`Conn::on_writable`] before it sleeps.
    pub fn has_output(&self) -> bool {
        !self.out.buf.is_empty() || self.client.close_after_reply || self.tls_pending()
    }

    /// Writes pending output; on drain, resumes paused input.
    pub fn on_writable(&mut self, shared: &Shared, stats: &LoopStats, registry: &Registry) -> Next {
        let next = self.flush(shared, stats, registry);
        if next == Next::Keep && self.paused && self.out.len() <= PAUSE_OUTPUT / 2 {
            self.paused = false;
            // Input held back by the pause runs now, and its replies are written at once
            // (nothing else would schedule this connection's write).
            return match self.on_readable(shared, stats, registry) {
                Next::Close => Next::Close,
                next => match self.flush(shared, stats, registry) {
                    Next::Keep => next,
                    other => other,
                },
            };
        }
        next
    }

    /// Records that the poll reported the peer's write side closed (see `on_readable`).
    pub fn note_peer_closed(&mut self) {
        self.peer_closed = true;
    }

    /// One read of input (plaintext, whatever the transport): (bytes read, bytes asked for).
    fn read_some(&mut self) -> io::Result<(usize, usize)> {
        if self.tls.is_some() {
            return self.read_tls();
        }
        self.read_raw()
    }

    /// [`Conn::read_some`] for a TLS connection: plaintext bytes, reported as a full read (the
    /// short-read shortcut does not apply: rustls reads records, not our buffer's room) so
    /// that reading goes on until `WouldBlock`.
    #[cold]
    fn read_tls(&mut self) -> io::Result<(usize, usize)> {
        while self.proxy_pending {
            let (n, _) = self.read_raw()?;
            if n == 0 {
                return Ok((0, 0));
            }
            match super::proxy::parse(&self.rbuf) {
                Ok(None) => continue,
                Ok(Some(header)) => {
                    let _ = self.rbuf.split_to(header.len);
                    if let Some(source) = header.source {
                        self.client.info.set_addr(source);
                    }
                    self.proxy_pending = false;
                    let hello = self.rbuf.split();
                    if let Some(tls) = self.tls.as_deref_mut() {
                        tls.feed(&hello)?;
                    }
                }
                Err(e) => {
                    tracing::debug!(client = self.client.id, error = %e, "closing connection");
                    return Err(io::ErrorKind::InvalidData.into());
                }
            }
        }
        let Some(tls) = self.tls.as_deref_mut() else {
            return Err(io::ErrorKind::NotConnected.into());
        };
        let read = tls.read(&mut self.stream, &mut self.rbuf, READ_CHUNK);
        if self.deny_after_handshake.is_some() && !tls.is_handshaking() {
            return self.deny_now();
        }
        match read {
            Ok(n) => Ok((n, n)),
            Err(e) => {
                if e.kind() != io::ErrorKind::WouldBlock {
                    tracing::debug!(client = self.client.id, error = %e, "TLS error, closing");
                    // The alert, if any.
                    tls.write_best_effort(&mut self.stream, &mut BytesMut::new());
                }
                Err(e)
            }
        }
    }

    /// Turns the client away (protected mode on a TLS port): its input is dropped, the text
    /// goes out, and the connection closes as at EOF.
    #[cold]
    fn deny_now(&mut self) -> io::Result<(usize, usize)> {
        if let Some(text) = self.deny_after_handshake.take() {
            self.rbuf.clear();
            self.out.buf.extend_from_slice(text.as_bytes());
        }
        Ok((0, 0))
    }

    /// One `read` of raw socket bytes into the spare capacity: (bytes read, bytes asked for).
    fn read_raw(&mut self) -> io::Result<(usize, usize)> {
        if self.rbuf.capacity() - self.rbuf.len() < READ_CHUNK / 4 {
            self.rbuf.reserve(READ_CHUNK);
        }
        let spare = self.rbuf.spare_capacity_mut();
        // SAFETY: `read` writes at most `spare.len()` bytes into the spare capacity, and we only
        // extend the length by the count it reports as written.
        let n = unsafe {
            libc::read(
                self.stream.as_raw_fd(),
                spare.as_mut_ptr() as *mut libc::c_void,
                spare.len(),
            )
        };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        let n = n as usize;
        let asked = spare.len();
        unsafe { self.rbuf.set_len(self.rbuf.len() + n) };
        Ok((n, asked))
    }

    /// Parses and executes every complete command in the read buffer (until paused).
    ///
    /// Clocks are read once per batch (wall time for expiry, shared by the batch's commands as
    /// Redis's cached `mstime`) plus once per command for its duration.
    /// Consumes the PROXY protocol header at the start of the input: true once it is taken
    /// (the client's address is then the one it names), false while it is incomplete or when
    /// it is missing or malformed (the connection is then closed, without a reply).
    #[cold]
    fn take_proxy_header(&mut self) -> bool {
        match super::proxy::parse(&self.rbuf) {
            Ok(None) => false,
            Ok(Some(header)) => {
                let _ = self.rbuf.split_to(header.len);
                self.command_start += header.len as u64;
                if let Some(source) = header.source {
                    self.client.info.set_addr(source);
                }
                self.proxy_pending = false;
                !self.rbuf.is_empty()
            }
            Err(e) => {
                tracing::debug!(client = self.client.id, error = %e, "closing connection");
                self.client.close_after_reply = true;
                false
            }
        }
    }

    fn process(&mut self, shared: &Shared, stats: &LoopStats) {
        // A client blocked in BLPOP & co, or held by a client pause, runs nothing until the
        // wait ends (Redis keeps reading its input meanwhile, and so do we).
        if self.client.blocked.is_some() || self.client.postponed || self.client.awaiting_shutdown {
            return;
        }
        // The command a pause held (still in `args`) runs first, before anything parsed.
        // (Otherwise `args` may hold the part of a command parsed so far.)
        let mut held = std::mem::take(&mut self.held);
        if !held && (self.rbuf.is_empty() || self.proxy_pending && !self.take_proxy_header()) {
            return;
        }
        let limits = Limits {
            max_bulk_len: shared.settings.proto_max_bulk_len.load(Ordering::Relaxed) as usize,
        };
        let now_ms = crate::clock::now_ms();
        crate::clock::note_ms(now_ms);
        let clock = quanta::Instant::now();
        self.last_active = clock;
        let mut ran_any = false;
        // While the batch runs, CLIENT LIST's `qbuf=` is the whole batch (the running command
        // included), as Redis trims its query buffer only after processing it.
        self.client
            .info
            .qbuf
            .store(self.rbuf.len(), Ordering::Relaxed);
        // One execution scope and context serve the batch: `call` leaves both as fresh after
        // every command (it drains the scope when the command's unit ends).
        let fx = shared.scope(Some(self.client.info.home));
        let mut ctx = Ctx::new(
            shared,
            stats,
            &mut self.client,
            &mut self.out,
            &fx,
            now_ms,
            clock,
        );
        while !ctx.client.close_after_reply
            && ctx.client.blocked.is_none()
            && !ctx.client.awaiting_shutdown
            && ctx.out.len() <= PAUSE_OUTPUT
        {
            let parsed = if std::mem::take(&mut held) {
                Ok(true)
            } else {
                self.parser.parse(&mut self.rbuf, &mut self.args, &limits)
            };
            match parsed {
                Ok(true) => {
                    self.command_start = self.bytes_read - self.rbuf.len() as u64;
                    commands::call(&mut ctx, &self.args);
                    if ctx.client.postponed {
                        // Held by a client pause: the command stays in `args`, and the rest
                        // of the pipeline waits behind it.
                        self.held = true;
                        break;
                    }
                    self.args.clear();
                    ran_any = true;
                }
                Ok(false) => break,
                Err(e) => {
                    ctx.out.error(format!("ERR Protocol error: {e}"));
                    stats.count_error(b"ERR");
                    ctx.client.close_after_reply = true;
                    tracing::debug!(client = ctx.client.id, error = %e, "protocol error");
                    break;
                }
            }
        }
        let clock = ctx.clock;
        drop(ctx);
        let info = &self.client.info;
        info.qbuf.store(self.rbuf.len(), Ordering::Relaxed);
        if ran_any {
            let active = clock.saturating_duration_since(info.created).as_millis() as u64;
            info.last_active_ms.store(active, Ordering::Relaxed);
        }
    }

    /// Ends this client's wait in a blocking command with `reply` (its pop's result, or the
    /// timeout / CLIENT UNBLOCK reply) and returns the ended wait, whose deadline the loop
    /// drops from its timers; the caller then resumes the input (`on_readable`). An error
    /// reply counts as the command's failure, and the command's latency and slow-log entry are
    /// recorded (unless the wait timed out), as Redis's `updateStatsOnUnblock`.
    pub fn unblock(
        &mut self,
        shared: &Shared,
        reply: &[u8],
        stats: &LoopStats,
    ) -> Option<BlockedOn> {
        let blocked = self.client.blocked.take()?;
        if let Some(call) = &blocked.call {
            crate::commands::call::unblocked(shared, stats, &self.client.info, call);
        }
        if reply.first() == Some(&b'-') {
            stats.count_error(&reply[1..]);
            if let Some(i) = self
                .client
                .info
                .last_cmd
                .load(Ordering::Relaxed)
                .checked_sub(1)
            {
                LoopStats::add(&stats.commands[i].failed, 1);
            }
        }
        if !blocked.discard_reply {
            self.out.buf.extend_from_slice(reply);
        }
        Some(blocked)
    }

    /// Writes as much pending output as the socket takes and updates WRITABLE interest.
    pub fn flush(&mut self, shared: &Shared, stats: &LoopStats, registry: &Registry) -> Next {
        let mut wrote = false;
        if let Some(tls) = self.tls.as_deref_mut() {
            match tls.write(&mut self.stream, &mut self.out.buf) {
                Ok(n) => {
                    LoopStats::add(&stats.net_output_bytes, n as u64);
                    wrote = n > 0;
                }
                Err(_) => return Next::Close,
            }
        } else {
            while !self.out.buf.is_empty() {
                match self.stream.write(&self.out.buf) {
                    Ok(0) => return Next::Close,
                    Ok(n) => {
                        LoopStats::add(&stats.net_output_bytes, n as u64);
                        self.out.buf.advance(n);
                        wrote = true;
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(_) => return Next::Close,
                }
            }
        }
        // As Redis, a client still receiving a large reply is not idle (`timeout`).
        if wrote {
            self.last_active = quanta::Instant::now();
        }
        let pending = self.out.buf.len();
        let tls_pending = self.tls_pending();
        self.client.info.obuf.store(pending, Ordering::Relaxed);
        if !self.publish_memory(shared) {
            return Next::Close;
        }
        if pending == 0 {
            if self.client.close_after_reply && !tls_pending {
                return Next::Close;
            }
            if self.out.buf.capacity() > KEEP_OUTPUT_CAPACITY {
                self.out.buf = BytesMut::with_capacity(READ_CHUNK);
            } else {
                self.out.buf.clear();
            }
            self.soft_since = None;
        } else if self.over_output_limit_now(shared) {
            return Next::Close;
        }
        let want_writable = pending > 0 || tls_pending;
        if want_writable != self.writable {
            let interest = if want_writable {
                Interest::READABLE | Interest::WRITABLE
            } else {
                Interest::READABLE
            };
            if registry
                .reregister(&mut self.stream, self.token, interest)
                .is_err()
            {
                return Next::Close;
            }
            self.writable = want_writable;
        }
        Next::Keep
    }

    /// Publishes this connection's footprint for client eviction when it changed by at least
    /// [`client_eviction::GRANULE`] (pending
    /// input, the unfinished command included, pending output and the fixed base), and evicts
    /// clients when that growth took the total to `maxmemory-clients`. Returns false when this
    /// client was killed or evicted and must close.
    pub fn publish_memory(&mut self, shared: &Shared) -> bool {
        let info = &self.client.info;
        if info.killed.load(Ordering::Relaxed) {
            return false;
        }
        let input = ((self.bytes_read - self.command_start) as usize).max(self.rbuf.len());
        let bytes = input + self.out.len() + client_eviction::CLIENT_BASE;
        // Small changes (a pipeline's replies waiting for the flush) are not published: the
        // total is shared by every loop, and this keeps it off the request path.
        if bytes.abs_diff(self.published_mem) < client_eviction::GRANULE {
            return true;
        }
        let grew = bytes > self.published_mem;
        self.published_mem = bytes;
        let total = shared.client_memory.publish(info, bytes);
        if grew {
            let limit = client_eviction::limit(shared);
            if limit != 0 && total >= limit {
                client_eviction::evict(shared, &|to, msg| shared.loops.send_now(to, msg));
                return !info.killed.load(Ordering::Relaxed);
            }
        }
        true
    }

    /// Whether the output waiting now is over its client class's limit (the class is Redis's
    /// `getClientType`: subscribers have their own). Checked by every flush, and as Pub/Sub
    /// deliveries are appended. Logs the disconnection.
    pub fn over_output_limit_now(&mut self, shared: &Shared) -> bool {
        let pending = self.out.buf.len();
        let limits = *shared.settings.output_limits.lock();
        let limit = if self.client.pubsub.is_subscribed() {
            limits.pubsub
        } else {
            limits.normal
        };
        let over = self.over_output_limit(limit, pending);
        if over {
            tracing::info!(
                client = self.client.id,
                pending,
                "closing client over output buffer limit"
            );
        }
        over
    }

    fn over_output_limit(&mut self, limit: OutputLimit, pending: usize) -> bool {
        let pending = pending as u64;
        if limit.hard > 0 && pending >= limit.hard {
            return true;
        }
        if limit.soft > 0 && pending >= limit.soft {
            let since = *self.soft_since.get_or_insert_with(Instant::now);
            return since.elapsed().as_secs() >= limit.soft_seconds;
        }
        self.soft_since = None;
        false
    }

    /// Best-effort final write of pending output (shutdown, kill).
    pub fn flush_best_effort(&mut self) {
        match self.tls.as_deref_mut() {
            None => {
                let _ = self.stream.write(&self.out.buf);
            }
            Some(tls) => tls.write_best_effort(&mut self.stream, &mut self.out.buf),
        }
    }
}
