//! Pub/Sub, sharded Pub/Sub and MONITOR: the server-wide subscription registry and the
//! delivery of messages to connections on any loop.
//!
//! # Layout
//! [`PubSub`] (one per server: `Shared::pubsub`, an `Arc` the keyspace-notification sink holds
//! too) maps channels, patterns and shard channels to their [`Subscriber`]s — (loop index, slab
//! token, client id) — and lists the MONITOR clients. Each connection also keeps its own
//! subscriptions ([`Subscriptions`], in its `Client`): the counts in replies come from there,
//! and so does the check its loop makes when a message arrives.
//!
//! # Delivery
//! A publication looks its receivers up under the registry's read locks, encodes each distinct
//! frame once (`message`, one `pmessage` per matching pattern, `smessage`, or a MONITOR line),
//! releases the locks, then sends **one** [`Msg::Deliver`] per target loop: the loop's
//! (token, client id, frame) list plus the shared frames ([`Delivery`]). The target loop
//! appends each frame to its connection's output (RESP3 turns the array `*` into a push `>`),
//! skipping stale targets (the token now belongs to another client) and subscriptions dropped
//! meanwhile, then flushes each touched connection once.
//!
//! - Per-publisher order: everything one thread sends to a loop goes through that loop's FIFO
//!   inbox, so each subscriber sees one publisher's messages in publishing order.
//! - The connection running the command is never sent to through the inbox: a RESP3 client
//!   publishing to itself (or causing a keyspace event it listens to) gets the push before the
//!   command's reply, as in Redis. `dispatch` marks the running connection in a thread-local
//!   ([`before_command`]); publications leave its frames there and [`after_command`] splices
//!   them in front of the reply. Its own MONITOR line is appended after the reply, as Redis's
//!   `call()` feeds monitors once the command has run.
//!
//! # Locking rules
//! - Registry locks (the channel maps' shard locks, the pattern and monitor `RwLock`s) are
//!   leaves: nothing else is locked while one is held, and no inbox send happens under one.
//! - Publishing may run under a store shard lock (keyspace notifications from the store); it
//!   never takes a store lock, so "store shard, then registry" is the only nesting.
//! - A connection's [`Subscriptions`] are only touched by its loop. Subscribing updates the
//!   local state and then the registry on that loop's thread; any delivery to that connection
//!   is processed by the same thread later, so the local check at delivery is race-free.

pub mod monitor;

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use bytes::{BufMut, Bytes, BytesMut};
use dashmap::DashMap;
use parking_lot::RwLock;

use crate::resp::reply::Reply;
use crate::server::client::{Client, ClientInfo};
use crate::server::worker::{Msg, WorkerHandle};
use crate::util::glob::glob_match;

type RandomState = ahash::RandomState;
/// Channel -> its subscribers, in subscription order.
type Table = DashMap<Bytes, Vec<Subscriber>, RandomState>;

/// Where a subscribed connection lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subscriber {
    pub worker: usize,
    pub token: usize,
    pub id: u64,
}

impl Subscriber {
    pub fn of(info: &ClientInfo) -> Self {
        Subscriber {
            worker: info.worker,
            token: info.token,
            id: info.id,
        }
    }
}

/// Global channels or shard channels (separate namespaces; patterns only see global ones).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Space {
    Global,
    Shard,
}

impl Space {
    /// The push names Redis uses: (subscribe, unsubscribe, message).
    pub fn names(self) -> (&'static str, &'static str, &'static [u8]) {
        match self {
            Space::Global => ("subscribe", "unsubscribe", b"message"),
            Space::Shard => ("ssubscribe", "sunsubscribe", b"smessage"),
        }
    }
}

/// One connection's subscriptions (owned by its loop, inside its `Client`).
#[derive(Default)]
pub struct Subscriptions {
    channels: HashSet<Bytes, RandomState>,
    /// In subscription order, as Redis's per-client pattern list.
    patterns: Vec<Bytes>,
    shard: HashSet<Bytes, RandomState>,
    monitor: bool,
}

impl Subscriptions {
    /// Redis's `CLIENT_PUBSUB`: subscribed to anything (channels, patterns or shard channels).
    #[inline]
    pub fn is_subscribed(&self) -> bool {
        !(self.channels.is_empty() && self.patterns.is_empty() && self.shard.is_empty())
    }

    /// The count SUBSCRIBE/PSUBSCRIBE-style replies carry: channels + patterns for the global
    /// space, shard channels for the shard space.
    pub fn count(&self, space: Space) -> usize {
        match space {
            Space::Global => self.channels.len() + self.patterns.len(),
            Space::Shard => self.shard.len(),
        }
    }

    pub fn is_monitor(&self) -> bool {
        self.monitor
    }

    fn set(&mut self, space: Space) -> &mut HashSet<Bytes, RandomState> {
        match space {
            Space::Global => &mut self.channels,
            Space::Shard => &mut self.shard,
        }
    }
}

/// The counts other threads read (CLIENT LIST `sub=`/`psub=`/`ssub=`, flags `P`/`O`, TYPE).
#[derive(Default)]
pub struct SubCounts {
    pub channels: AtomicUsize,
    pub patterns: AtomicUsize,
    pub shard: AtomicUsize,
    pub monitor: AtomicBool,
}

impl SubCounts {
    /// Subscribed to anything (Redis's `CLIENT_PUBSUB`).
    pub fn is_subscribed(&self) -> bool {
        self.channels.load(Ordering::Relaxed)
            + self.patterns.load(Ordering::Relaxed)
            + self.shard.load(Ordering::Relaxed)
            > 0
    }

    fn publish(&self, subs: &Subscriptions) {
        self.channels.store(subs.channels.len(), Ordering::Relaxed);
        self.patterns.store(subs.patterns.len(), Ordering::Relaxed);
        self.shard.store(subs.shard.len(), Ordering::Relaxed);
        self.monitor.store(subs.monitor, Ordering::Relaxed);
    }
}

/// What a frame was sent for; checked against the receiver's subscriptions on arrival.
#[derive(Debug)]
enum FrameKind {
    Channel,
    Shard,
    Pattern(Bytes),
    Monitor,
}

#[derive(Debug)]
struct Frame {
    kind: FrameKind,
    /// The RESP2 encoding; RESP3 receivers get `>` in place of the leading `*`.
    bytes: Bytes,
}

/// The frames of one publication (shared by every loop it is delivered to).
#[derive(Debug)]
pub struct Publication {
    channel: Bytes,
    frames: Vec<Frame>,
}

/// One receiver on a loop: its token, its client id (tokens are reused) and which frame.
#[derive(Debug, Clone, Copy)]
pub struct Target {
    pub token: usize,
    pub id: u64,
    frame: u32,
}

/// What one loop receives for one publication ([`Msg::Deliver`]).
#[derive(Debug)]
pub struct Delivery {
    publication: Arc<Publication>,
    pub targets: Vec<Target>,
}

impl Delivery {
    /// Appends `target`'s frame to `out` if `client` is still that target and still subscribed;
    /// returns whether anything was written.
    pub fn write(&self, target: &Target, client: &Client, out: &mut Reply) -> bool {
        if client.id != target.id {
            return false;
        }
        let frame = &self.publication.frames[target.frame as usize];
        let subs = &client.pubsub;
        let channel = &self.publication.channel[..];
        let live = match &frame.kind {
            FrameKind::Channel => subs.channels.contains(channel),
            FrameKind::Shard => subs.shard.contains(channel),
            FrameKind::Pattern(p) => subs.patterns.contains(p),
            // As Redis, a monitor with CLIENT REPLY OFF gets nothing (only pushes bypass it).
            FrameKind::Monitor => subs.monitor && !client.reply_off,
        };
        if live {
            write_frame(out, &frame.bytes);
        }
        live
    }
}

fn write_frame(out: &mut Reply, frame: &[u8]) {
    if out.resp3 && frame.first() == Some(&b'*') {
        out.buf.reserve(frame.len());
        out.buf.put_u8(b'>');
        out.buf.put_slice(&frame[1..]);
    } else {
        out.buf.put_slice(frame);
    }
}

/// `*<n>\r\n` followed by each part as a bulk string.
fn encode(parts: &[&[u8]]) -> Bytes {
    let len: usize = parts.iter().map(|p| p.len() + 16).sum();
    let mut b = BytesMut::with_capacity(len + 8);
    let mut num = itoa::Buffer::new();
    b.put_u8(b'*');
    b.put_slice(num.format(parts.len()).as_bytes());
    b.put_slice(b"\r\n");
    for p in parts {
        b.put_u8(b'$');
        b.put_slice(num.format(p.len()).as_bytes());
        b.put_slice(b"\r\n");
        b.put_slice(p);
        b.put_slice(b"\r\n");
    }
    b.freeze()
}

thread_local! {
    /// The connection whose command runs on this thread, when it is subscribed (set by
    /// [`before_command`]), and whether it speaks RESP3.

    static RUNNING: Cell<Option<(Subscriber, bool)>> = const { Cell::new(None) };
    /// Pushes addressed to that connection during the command.
    static SELF_PUSHES: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// The server-wide registry.
pub struct PubSub {
    channels: Table,
    shard_channels: Table,
    patterns: RwLock<HashMap<Bytes, Vec<Subscriber>, RandomState>>,
    /// Distinct patterns (publishers skip the pattern lock when 0).
    pattern_count: AtomicUsize,
    monitors: RwLock<Vec<Subscriber>>,
    /// MONITOR clients (every command checks it: one relaxed load when 0).
    monitor_count: AtomicUsize,
    /// The loops' inboxes, set once at start-up (absent in socket-free sessions).
    workers: OnceLock<Vec<WorkerHandle>>,
}

impl Default for PubSub {
    fn default() -> Self {
        Self::new()
    }
}

impl PubSub {
    pub fn new() -> Self {
        PubSub {
            channels: DashMap::default(),
            shard_channels: DashMap::default(),
            patterns: RwLock::new(HashMap::default()),
            pattern_count: AtomicUsize::new(0),
            monitors: RwLock::new(Vec::new()),
            monitor_count: AtomicUsize::new(0),
            workers: OnceLock::new(),
        }
    }

    /// Gives the registry the loops' inboxes (once, at start-up).
    pub fn set_workers(&self, workers: Vec<WorkerHandle>) {
        let _ = self.workers.set(workers);
    }

    fn table(&self, space: Space) -> &Table {
        match space {
            Space::Global => &self.channels,
            Space::Shard => &self.shard_channels,
        }
    }

    /// Subscribes `client` to `channel`; false when it already was.
    pub fn subscribe(&self, client: &mut Client, space: Space, channel: &[u8]) -> bool {
        let set = client.pubsub.set(space);
        if set.contains(channel) {
            return false;
        }
        // Copied: request buffers are never retained.
        let channel = Bytes::copy_from_slice(channel);
        set.insert(channel.clone());
        let me = Subscriber::of(&client.info);
        self.table(space).entry(channel).or_default().push(me);
        client.info.pubsub.publish(&client.pubsub);
        true
    }

    /// Unsubscribes `client` from `channel`; false when it was not subscribed.
    pub fn unsubscribe(&self, client: &mut Client, space: Space, channel: &[u8]) -> bool {
        if !client.pubsub.set(space).remove(channel) {
            return false;
        }
        self.forget(self.table(space), channel, client.id);
        client.info.pubsub.publish(&client.pubsub);
        true
    }

    fn forget(&self, table: &Table, channel: &[u8], id: u64) {
        let removed = table.remove_if_mut(channel, |_, subs| {
            subs.retain(|s| s.id != id);
            // The entry goes with its last subscriber, as in Redis (PUBSUB CHANNELS).
            subs.is_empty()
        });
        drop(removed);
    }

    /// The channels `client` is subscribed to in `space` (for UNSUBSCRIBE without arguments).
    pub fn channels_of(client: &Client, space: Space) -> Vec<Bytes> {
        match space {
            Space::Global => client.pubsub.channels.iter().cloned().collect(),
            Space::Shard => client.pubsub.shard.iter().cloned().collect(),
        }
    }

    /// The patterns `client` is subscribed to, in subscription order.
    pub fn patterns_of(client: &Client) -> Vec<Bytes> {
        client.pubsub.patterns.clone()
    }

    /// Subscribes `client` to `pattern`; false when it already was.
    pub fn psubscribe(&self, client: &mut Client, pattern: &[u8]) -> bool {
        if client.pubsub.patterns.iter().any(|p| p[..] == *pattern) {
            return false;
        }
        let pattern = Bytes::copy_from_slice(pattern);
        client.pubsub.patterns.push(pattern.clone());
        let me = Subscriber::of(&client.info);
        {
            let mut patterns = self.patterns.write();
            patterns.entry(pattern).or_default().push(me);
            self.pattern_count.store(patterns.len(), Ordering::Relaxed);
        }
        client.info.pubsub.publish(&client.pubsub);
        true
    }

    /// Unsubscribes `client` from `pattern`; false when it was not subscribed.
    pub fn punsubscribe(&self, client: &mut Client, pattern: &[u8]) -> bool {
        let Some(i) = client
            .pubsub
            .patterns
            .iter()
            .position(|p| p[..] == *pattern)
        else {
            return false;
        };
        client.pubsub.patterns.remove(i);
        {
            let mut patterns = self.patterns.write();
            if let Some(subs) = patterns.get_mut(pattern) {
                subs.retain(|s| s.id != client.id);
                if subs.is_empty() {
                    patterns.remove(pattern);
                }
            }
            self.pattern_count.store(patterns.len(), Ordering::Relaxed);
        }
        client.info.pubsub.publish(&client.pubsub);
        true
    }

    /// Puts `client` in MONITOR mode; false when it already is.
    pub fn monitor(&self, client: &mut Client) -> bool {
        if client.pubsub.monitor {
            return false;
        }
        client.pubsub.monitor = true;
        let mut monitors = self.monitors.write();
        monitors.push(Subscriber::of(&client.info));
        self.monitor_count.store(monitors.len(), Ordering::Relaxed);
        drop(monitors);
        client.info.pubsub.publish(&client.pubsub);
        true
    }

    /// Drops every subscription of `client` and leaves MONITOR mode, without notifying it
    /// (RESET, disconnect).
    pub fn clear(&self, client: &mut Client) {
        let subs = &mut client.pubsub;
        if !subs.is_subscribed() && !subs.monitor {
            return;
        }
        for channel in std::mem::take(&mut subs.channels) {
            self.forget(&self.channels, &channel, client.id);
        }
        for channel in std::mem::take(&mut subs.shard) {
            self.forget(&self.shard_channels, &channel, client.id);
        }
        let patterns = std::mem::take(&mut subs.patterns);
        if !patterns.is_empty() {
            let mut table = self.patterns.write();
            for p in &patterns {
                if let Some(list) = table.get_mut(p) {
                    list.retain(|s| s.id != client.id);
                    if list.is_empty() {
                        table.remove(p);
                    }
                }
            }
            self.pattern_count.store(table.len(), Ordering::Relaxed);
        }
        if std::mem::take(&mut subs.monitor) {
            let mut monitors = self.monitors.write();
            monitors.retain(|s| s.id != client.id);
            self.monitor_count.store(monitors.len(), Ordering::Relaxed);
        }
        client.info.pubsub.publish(&client.pubsub);
    }

    /// PUBLISH / SPUBLISH / keyspace notifications: sends `message` to the subscribers of
    /// `channel` (and, for the global space, of every matching pattern) on every loop.
    /// Returns the number of receivers (a client subscribed through a channel and a pattern
    /// counts twice, as in Redis).
    pub fn publish(&self, space: Space, channel: &[u8], message: &[u8]) -> usize {
        let mut batch = Batch::new(self, RUNNING.with(|r| r.get()));
        let channel_frame = |kind| Frame {
            kind,
            bytes: encode(&[space.names().2, channel, message]),
        };
        if let Some(subs) = self.table(space).get(channel) {
            let frame = batch.frame(channel_frame(match space {
                Space::Global => FrameKind::Channel,
                Space::Shard => FrameKind::Shard,
            }));
            for s in subs.iter() {
                batch.add(*s, frame);
            }
        }
        if space == Space::Global && self.pattern_count.load(Ordering::Relaxed) > 0 {
            let patterns = self.patterns.read();
            for (pattern, subs) in patterns.iter() {
                if !glob_match(pattern, channel, false) {
                    continue;
                }
                let frame = batch.frame(Frame {
                    bytes: encode(&[b"pmessage", pattern, channel, message]),
                    kind: FrameKind::Pattern(pattern.clone()),
                });
                for s in subs {
                    batch.add(*s, frame);
                }
            }
        }
        let receivers = batch.receivers;
        let to_self = batch.send(channel);
        if !to_self.is_empty() {
            SELF_PUSHES.with(|p| p.borrow_mut().extend_from_slice(&to_self));
        }
        receivers
    }

    /// Whether any client is in MONITOR mode (one relaxed load).
    #[inline]
    pub fn has_monitors(&self) -> bool {
        self.monitor_count.load(Ordering::Relaxed) != 0
    }

    /// Sends one MONITOR line (already formatted, CRLF included) to every monitor. Returns the
    /// bytes for `me` when it is a monitor itself (the caller appends them to its own output).
    pub fn feed(&self, line: Bytes, me: Subscriber, resp3: bool) -> Vec<u8> {
        let mut batch = Batch::new(self, Some((me, resp3)));
        let frame = batch.frame(Frame {
            kind: FrameKind::Monitor,
            bytes: line,
        });
        for s in self.monitors.read().iter() {
            batch.add(*s, frame);
        }
        batch.send(&[])
    }

    /// Active channels of `space` matching `pattern` (all when `None`).
    pub fn active(&self, space: Space, pattern: Option<&[u8]>) -> Vec<Bytes> {
        self.table(space)
            .iter()
            .filter(|e| pattern.is_none_or(|p| glob_match(p, e.key(), false)))
            .map(|e| e.key().clone())
            .collect()
    }

    /// Subscribers of `channel` in `space` (patterns excluded).
    pub fn numsub(&self, space: Space, channel: &[u8]) -> usize {
        self.table(space).get(channel).map_or(0, |s| s.len())
    }

    /// Distinct patterns subscribed to (PUBSUB NUMPAT, INFO `pubsub_patterns`).
    pub fn numpat(&self) -> usize {
        self.pattern_count.load(Ordering::Relaxed)
    }

    /// Active channels of `space` (INFO `pubsub_channels` / `pubsubshard_channels`).
    pub fn channel_count(&self, space: Space) -> usize {
        self.table(space).len()
    }
}

/// Receivers of one publication, grouped by loop.
struct Batch<'a> {
    ps: &'a PubSub,
    /// The connection running the command on this thread (and whether it speaks RESP3).
    me: Option<(Subscriber, bool)>,
    frames: Vec<Frame>,
    per_loop: Vec<Vec<Target>>,
    to_self: Vec<u32>,
    receivers: usize,
}

impl<'a> Batch<'a> {
    fn new(ps: &'a PubSub, me: Option<(Subscriber, bool)>) -> Self {
        Batch {
            ps,
            me,
            frames: Vec::new(),
            per_loop: Vec::new(),
            to_self: Vec::new(),
            receivers: 0,
        }
    }

    fn frame(&mut self, frame: Frame) -> u32 {
        self.frames.push(frame);
        (self.frames.len() - 1) as u32
    }

    fn add(&mut self, s: Subscriber, frame: u32) {
        self.receivers += 1;
        if self.me.is_some_and(|(me, _)| me == s) {
            self.to_self.push(frame);
            return;
        }
        if self.per_loop.len() <= s.worker {
            self.per_loop.resize_with(s.worker + 1, Vec::new);
        }
        self.per_loop[s.worker].push(Target {
            token: s.token,
            id: s.id,
            frame,
        });
    }

    /// Sends one message per target loop; returns the encoded frames for the running
    /// connection itself.
    fn send(self, channel: &[u8]) -> Vec<u8> {
        let mut mine = Reply::new(self.me.is_some_and(|(_, resp3)| resp3));
        for &f in &self.to_self {
            write_frame(&mut mine, &self.frames[f as usize].bytes);
        }
        if self.per_loop.iter().any(|t| !t.is_empty()) {
            let publication = Arc::new(Publication {
                channel: Bytes::copy_from_slice(channel),
                frames: self.frames,
            });
            if let Some(workers) = self.ps.workers.get() {
                for (w, targets) in self.per_loop.into_iter().enumerate() {
                    if targets.is_empty() {
                        continue;
                    }
                    if let Some(h) = workers.get(w) {
                        h.send(Msg::Deliver(Delivery {
                            publication: publication.clone(),
                            targets,
                        }));
                    }
                }
            }
        }
        mine.buf.to_vec()
    }
}

/// What [`before_command`] saved, for [`after_command`].
pub struct Mark {
    previous: Option<(Subscriber, bool)>,
    reply_start: usize,
    active: bool,
}

/// Called by `dispatch` before a handler runs: when the client is subscribed, publications
/// made during the command that target it are kept for it (see the module doc). Nests (EXEC
/// runs its queued commands through `dispatch`).
#[inline]
pub fn before_command(client: &Client, out: &Reply) -> Mark {
    if !client.pubsub.is_subscribed() {
        return Mark {
            previous: None,
            reply_start: 0,
            active: false,
        };
    }
    let me = (Subscriber::of(&client.info), out.resp3);
    let previous = RUNNING.with(|r| r.replace(Some(me)));
    if previous.is_none() {
        // Outermost command: nothing can be pending (a handler that panicked may have left
        // pushes behind; they belonged to a connection that is closed since).
        SELF_PUSHES.with(|p| p.borrow_mut().clear());
    }
    Mark {
        previous,
        reply_start: out.len(),
        active: true,
    }
}

/// Called by `dispatch` after the handler: puts the pushes addressed to the client itself in
/// front of its reply, then feeds MONITOR clients (unless the command is flagged
/// `skip_monitor` or `admin`, as Redis's `call()`).
pub fn after_command(
    ctx: &mut crate::commands::Ctx<'_>,
    mark: Mark,
    spec: &crate::commands::CommandSpec,
    args: &[Bytes],
) {
    if mark.active {
        RUNNING.with(|r| r.set(mark.previous));
        let pushes = SELF_PUSHES.with(|p| std::mem::take(&mut *p.borrow_mut()));
        if !pushes.is_empty() {
            let reply = ctx.out.buf.split_off(mark.reply_start);
            ctx.out.buf.put_slice(&pushes);
            ctx.out.buf.put_slice(&reply);
            ctx.client.own_push_bytes += pushes.len();
        }
    }
    use crate::commands::flags::{ADMIN, SKIP_MONITOR};
    if ctx.srv.pubsub.has_monitors() && spec.flags & (SKIP_MONITOR | ADMIN) == 0 {
        monitor::feed(ctx, spec.name, args);
    }
}

/// Redis's `processCommand` rule for RESP2 clients in Pub/Sub mode: only (P|S)SUBSCRIBE,
/// (P|S)UNSUBSCRIBE, PING, QUIT and RESET run. Returns false after writing the error.
/// (Commands run by EXEC are not checked, as Redis checks only what `processCommand` sees.)
#[inline]
pub fn allowed_in_context(ctx: &mut crate::commands::Ctx<'_>, name: &str) -> bool {
    if ctx.out.resp3 || !ctx.client.pubsub.is_subscribed() || ctx.client.in_exec {
        return true;
    }
    const ALLOWED: &[&str] = &[
        "ping",
        "subscribe",
        "ssubscribe",
        "unsubscribe",
        "sunsubscribe",
        "psubscribe",
        "punsubscribe",
        "quit",
        "reset",
    ];
    if ALLOWED.contains(&name) {
        return true;
    }
    ctx.out.error(format!(
        "ERR Can't execute '{name}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context"
    ));
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_resp2_arrays_and_resp3_pushes() {
        let f = encode(&[b"message", b"ch", b"hi"]);
        assert_eq!(&f[..], b"*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n");
        let mut out = Reply::new(true);
        write_frame(&mut out, &f);
        assert_eq!(
            &out.buf[..],
            b">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n"
        );
        let mut out = Reply::new(true);
        write_frame(&mut out, b"+1.000001 [0 a] \"x\"\r\n");
        assert_eq!(&out.buf[..], b"+1.000001 [0 a] \"x\"\r\n");
    }
}

#[cfg(test)]
mod session_tests {
    use crate::commands::session::Session;

    #[test]
    fn registry_follows_subscriptions_and_clear_leaves_no_trace() {
        let mut s = Session::new();
        let run = |s: &mut Session, resp3: bool, args: &[&str]| {
            let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
            s.run_at(0, resp3, &args)
        };
        run(&mut s, false, &["SUBSCRIBE", "a", "b"]);
        run(&mut s, false, &["PSUBSCRIBE", "a*"]);
        run(&mut s, false, &["SSUBSCRIBE", "a"]);
        assert_eq!(s.srv.pubsub.numsub(super::Space::Global, b"a"), 1);
        assert_eq!(s.srv.pubsub.numpat(), 1);
        assert!(s.client.info.pubsub.is_subscribed());
        // RESP3: the session's own message comes before the PUBLISH reply (both deliveries).
        assert_eq!(
            run(&mut s, true, &["PUBLISH", "a", "m"]),
            ">3\r\n$7\r\nmessage\r\n$1\r\na\r\n$1\r\nm\r\n>4\r\n$8\r\npmessage\r\n$2\r\na*\r\n$1\r\na\r\n$1\r\nm\r\n:2\r\n"
        );
        assert_eq!(
            run(&mut s, false, &["PING"]),
            "*2\r\n$4\r\npong\r\n$0\r\n\r\n"
        );
        assert_eq!(run(&mut s, false, &["RESET"]), "+RESET\r\n");
        assert_eq!(s.srv.pubsub.numsub(super::Space::Global, b"a"), 0);
        assert_eq!(s.srv.pubsub.numsub(super::Space::Shard, b"a"), 0);
        assert_eq!(s.srv.pubsub.numpat(), 0);
        assert_eq!(s.srv.pubsub.channel_count(super::Space::Global), 0);
        assert!(!s.client.info.pubsub.is_subscribed());
        assert_eq!(run(&mut s, true, &["PUBLISH", "a", "m"]), ":0\r\n");
    }
}
