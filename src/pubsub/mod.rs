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
//! releases the locks, and returns them as an [`Outgoing`]: **one** [`Delivery`] per target
//! loop — the loop's (token, client id, frame) list plus the shared frames — and the frames for
//! the caller itself. This module sends nothing: the state layer puts each delivery in its
//! loop's inbox (`state::mailbox`). The target loop appends each frame to its connection's
//! output (RESP3 turns the array `*` into a push `>`), skipping stale targets (the token now
//! belongs to another client) and subscriptions dropped meanwhile, then flushes each touched
//! connection once.
//!
//! - Per-publisher order: everything one thread sends to a loop goes through that loop's FIFO
//!   inbox, so each subscriber sees one publisher's messages in publishing order.
//! - The connection running the command (the execution's [`Caller`]) is never sent to through
//!   the inbox: a RESP3 client publishing to itself (or causing a keyspace event it listens
//!   to) gets the push before the command's reply, as in Redis. Its frames come back in
//!   [`Outgoing::to_caller`]; the command path (`commands::call`) puts them in front of the
//!   reply. Its own MONITOR line goes after the reply, as Redis's `call()` feeds monitors once
//!   the command has run.
//!
//! # Locking rules
//! - Registry locks (the channel maps' shard locks, the pattern and monitor `RwLock`s) are
//!   leaves: nothing else is locked while one is held.
//! - Publishing may run under a store shard lock (keyspace notifications from the store); it
//!   never takes a store lock, so "store shard, then registry" is the only nesting.
//! - A connection's [`Subscriptions`] are only touched by its loop. Subscribing updates the
//!   local state and then the registry on that loop's thread; any delivery to that connection
//!   is processed by the same thread later, so the local check at delivery is race-free.

pub mod monitor;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::{BufMut, Bytes, BytesMut};
use dashmap::DashMap;
use parking_lot::RwLock;

use crate::resp::reply::Reply;
use crate::store::Caller;
use crate::util::glob::glob_match;

type RandomState = ahash::RandomState;
/// Channel -> its subscribers, in subscription order.
type Table = DashMap<Bytes, Vec<Subscriber>, RandomState>;

/// Where a subscribed connection lives: its loop, slab token and client id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subscriber {
    pub home: usize,
    pub token: usize,
    pub id: u64,
}

/// One connection as the registry sees it: its own subscriptions, where it lives, and the
/// counts other threads read (borrowed from its `Client` and `ClientInfo`).
pub struct Member<'a> {
    pub subs: &'a mut Subscriptions,
    pub at: Subscriber,
    pub counts: &'a SubCounts,
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

    /// The channels subscribed to in `space` (for UNSUBSCRIBE without arguments).
    pub fn channels(&self, space: Space) -> Vec<Bytes> {
        match space {
            Space::Global => self.channels.iter().cloned().collect(),
            Space::Shard => self.shard.iter().cloned().collect(),
        }
    }

    /// The patterns subscribed to, in subscription order.
    pub fn patterns(&self) -> Vec<Bytes> {
        self.patterns.clone()
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

/// What one loop receives for one publication (`Msg::Deliver`).
#[derive(Debug)]
pub struct Delivery {
    publication: Arc<Publication>,
    pub targets: Vec<Target>,
}

impl Delivery {
    /// Appends `target`'s frame to `out` if the connection (client `id`, with `subs`, its
    /// replies off when `reply_off`) is still that target and still subscribed; returns
    /// whether anything was written.
    pub fn write(
        &self,
        target: &Target,
        id: u64,
        subs: &Subscriptions,
        reply_off: bool,
        out: &mut Reply,
    ) -> bool {
        if id != target.id {
            return false;
        }
        let frame = &self.publication.frames[target.frame as usize];
        let channel = &self.publication.channel[..];
        let live = match &frame.kind {
            FrameKind::Channel => subs.channels.contains(channel),
            FrameKind::Shard => subs.shard.contains(channel),
            FrameKind::Pattern(p) => subs.patterns.contains(p),
            // As Redis, a monitor with CLIENT REPLY OFF gets nothing (only pushes bypass it).
            FrameKind::Monitor => subs.monitor && !reply_off,
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

/// What a publication must send: one delivery per target loop, and the frames addressed to
/// the caller itself (already encoded for its protocol).
#[derive(Debug, Default)]
pub struct Outgoing {
    /// Receivers counted (a client subscribed through a channel and a pattern counts twice).
    pub receivers: usize,
    pub to_caller: Vec<u8>,
    /// (loop index, what that loop must deliver).
    pub deliveries: Vec<(usize, Delivery)>,
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
        }
    }

    fn table(&self, space: Space) -> &Table {
        match space {
            Space::Global => &self.channels,
            Space::Shard => &self.shard_channels,
        }
    }

    /// Subscribes `m` to `channel`; false when it already was.
    pub fn subscribe(&self, m: Member<'_>, space: Space, channel: &[u8]) -> bool {
        let set = m.subs.set(space);
        if set.contains(channel) {
            return false;
        }
        // Copied: request buffers are never retained.
        let channel = Bytes::copy_from_slice(channel);
        set.insert(channel.clone());
        self.table(space).entry(channel).or_default().push(m.at);
        m.counts.publish(m.subs);
        true
    }

    /// Unsubscribes `m` from `channel`; false when it was not subscribed.
    pub fn unsubscribe(&self, m: Member<'_>, space: Space, channel: &[u8]) -> bool {
        if !m.subs.set(space).remove(channel) {
            return false;
        }
        self.forget(self.table(space), channel, m.at.id);
        m.counts.publish(m.subs);
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

    /// Subscribes `m` to `pattern`; false when it already was.
    pub fn psubscribe(&self, m: Member<'_>, pattern: &[u8]) -> bool {
        if m.subs.patterns.iter().any(|p| p[..] == *pattern) {
            return false;
        }
        let pattern = Bytes::copy_from_slice(pattern);
        m.subs.patterns.push(pattern.clone());
        {
            let mut patterns = self.patterns.write();
            patterns.entry(pattern).or_default().push(m.at);
            self.pattern_count.store(patterns.len(), Ordering::Relaxed);
        }
        m.counts.publish(m.subs);
        true
    }

    /// Unsubscribes `m` from `pattern`; false when it was not subscribed.
    pub fn punsubscribe(&self, m: Member<'_>, pattern: &[u8]) -> bool {
        let Some(i) = m.subs.patterns.iter().position(|p| p[..] == *pattern) else {
            return false;
        };
        m.subs.patterns.remove(i);
        {
            let mut patterns = self.patterns.write();
            if let Some(subs) = patterns.get_mut(pattern) {
                subs.retain(|s| s.id != m.at.id);
                if subs.is_empty() {
                    patterns.remove(pattern);
                }
            }
            self.pattern_count.store(patterns.len(), Ordering::Relaxed);
        }
        m.counts.publish(m.subs);
        true
    }

    /// Puts `m` in MONITOR mode; false when it already is.
    pub fn monitor(&self, m: Member<'_>) -> bool {
        if m.subs.monitor {
            return false;
        }
        m.subs.monitor = true;
        let mut monitors = self.monitors.write();
        monitors.push(m.at);
        self.monitor_count.store(monitors.len(), Ordering::Relaxed);
        drop(monitors);
        m.counts.publish(m.subs);
        true
    }

    /// Drops every subscription of `m` and leaves MONITOR mode, without notifying it
    /// (RESET, disconnect).
    pub fn clear(&self, m: Member<'_>) {
        let (subs, id) = (m.subs, m.at.id);
        if !subs.is_subscribed() && !subs.monitor {
            return;
        }
        for channel in std::mem::take(&mut subs.channels) {
            self.forget(&self.channels, &channel, id);
        }
        for channel in std::mem::take(&mut subs.shard) {
            self.forget(&self.shard_channels, &channel, id);
        }
        let patterns = std::mem::take(&mut subs.patterns);
        if !patterns.is_empty() {
            let mut table = self.patterns.write();
            for p in &patterns {
                if let Some(list) = table.get_mut(p) {
                    list.retain(|s| s.id != id);
                    if list.is_empty() {
                        table.remove(p);
                    }
                }
            }
            self.pattern_count.store(table.len(), Ordering::Relaxed);
        }
        if std::mem::take(&mut subs.monitor) {
            let mut monitors = self.monitors.write();
            monitors.retain(|s| s.id != id);
            self.monitor_count.store(monitors.len(), Ordering::Relaxed);
        }
        m.counts.publish(subs);
    }

    /// PUBLISH / SPUBLISH / keyspace notifications: what sending `message` to the subscribers
    /// of `channel` (and, for the global space, of every matching pattern) on every loop takes,
    /// for an execution running for `caller` (whose own frames are returned apart). Its
    /// `receivers` is what PUBLISH replies.
    pub fn publish(
        &self,
        space: Space,
        channel: &[u8],
        message: &[u8],
        caller: Option<Caller>,
    ) -> Outgoing {
        let mut batch = Batch::new(caller);
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
        batch.into_outgoing(channel)
    }

    /// Whether any client is in MONITOR mode (one relaxed load).
    #[inline]
    pub fn has_monitors(&self) -> bool {
        self.monitor_count.load(Ordering::Relaxed) != 0
    }

    /// What sending one MONITOR line (already formatted, CRLF included) to every monitor
    /// takes; the line for `me`, when it is a monitor itself, comes back in `to_caller`.
    pub fn feed(&self, line: Bytes, me: Caller) -> Outgoing {
        let mut batch = Batch::new(Some(me));
        let frame = batch.frame(Frame {
            kind: FrameKind::Monitor,
            bytes: line,
        });
        for s in self.monitors.read().iter() {
            batch.add(*s, frame);
        }
        batch.into_outgoing(&[])
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
struct Batch {
    /// The client the execution runs for (its frames are kept apart).
    me: Option<Caller>,
    frames: Vec<Frame>,
    per_loop: Vec<Vec<Target>>,
    to_self: Vec<u32>,
    receivers: usize,
}

impl Batch {
    fn new(me: Option<Caller>) -> Self {
        Batch {
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
        if self.me.is_some_and(|me| me.id == s.id) {
            self.to_self.push(frame);
            return;
        }
        if self.per_loop.len() <= s.home {
            self.per_loop.resize_with(s.home + 1, Vec::new);
        }
        self.per_loop[s.home].push(Target {
            token: s.token,
            id: s.id,
            frame,
        });
    }

    /// One delivery per target loop, and the encoded frames for the caller itself.
    fn into_outgoing(self, channel: &[u8]) -> Outgoing {
        let mut mine = Reply::new(self.me.is_some_and(|me| me.resp3));
        for &f in &self.to_self {
            write_frame(&mut mine, &self.frames[f as usize].bytes);
        }
        let mut deliveries = Vec::new();
        if self.per_loop.iter().any(|t| !t.is_empty()) {
            let publication = Arc::new(Publication {
                channel: Bytes::copy_from_slice(channel),
                frames: self.frames,
            });
            for (home, targets) in self.per_loop.into_iter().enumerate() {
                if !targets.is_empty() {
                    let publication = publication.clone();
                    deliveries.push((
                        home,
                        Delivery {
                            publication,
                            targets,
                        },
                    ));
                }
            }
        }
        Outgoing {
            receivers: self.receivers,
            to_caller: mine.buf.to_vec(),
            deliveries,
        }
    }
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
