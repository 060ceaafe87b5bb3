//! Keyspace events: what a change to a key must tell the rest of the server.
//!
//! Redis pairs two calls with every modification: `signalModifiedKey` (invalidates WATCH) and
//! `notifyKeyspaceEvent` (publishes `__keyspace@<db>__:<key>` / `__keyevent@<db>__:<event>`).
//! Here both start from the [`Slot`](super::Slot) that made the change
//! ([`Slot::modified`](super::Slot::modified)), so they run **under the key's shard lock**:
//! - WATCH is exact: a watcher registers under the same lock ([`Watches::watch`]), so a change
//!   either happens before the WATCH (and the watcher reads the new value) or flags it.
//! - Notifications for one key are queued for their subscribers (in the target loops'
//!   inboxes) in the order the changes happened; the wake-ups of those loops wait in the
//!   execution's [`Scope`] until its locks are released (locking rule 4).
//!
//! Both are off the hot path when unused: one relaxed load each (`watched == 0`,
//! `notify_flags == 0`).
//!
//! A third event, Redis's `signalKeyAsReady`, wakes clients blocked on keys (BLPOP & co): when a
//! list or sorted set is stored under a key ([`Slot::put`](super::Slot::put)) while any client
//! is blocked ([`KeyspaceEvents::blocked`] non-zero: again one relaxed load otherwise), the key
//! is recorded in the execution's [`Scope`]. The command layer serves the waiters of those
//! keys once the command that stored them has finished (`commands::blocking`). Blocked
//! clients register — and raise the count — under the shard locks of their keys, so a store
//! either happens before the registration (and the client finds the data) or sees the count
//! and records the key.
//!
//! The one event that is no change, `keymiss` (class `m`), is published by the read lookups of
//! commands (`Ctx::read_lookup` in `commands/mod.rs`), not from a `Slot`.
//!
//! Threading rules: everything here is `Sync`. The publish sink is installed once at start-up
//! by the server (it must never take a shard lock: it runs while one is held).

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use dashmap::DashMap;

use super::Scope;

/// `notify-keyspace-events` classes (Redis's `NOTIFY_*` bits, parsed and printed as Redis's
/// `keyspaceEventsStringToFlags` / `keyspaceEventsFlagsToString`).
pub mod class {
    pub const KEYSPACE: u32 = 1 << 0; // K
    pub const KEYEVENT: u32 = 1 << 1; // E
    pub const GENERIC: u32 = 1 << 2; // g
    pub const STRING: u32 = 1 << 3; // $
    pub const LIST: u32 = 1 << 4; // l
    pub const SET: u32 = 1 << 5; // s
    pub const HASH: u32 = 1 << 6; // h
    pub const ZSET: u32 = 1 << 7; // z
    pub const EXPIRED: u32 = 1 << 8; // x
    pub const EVICTED: u32 = 1 << 9; // e
    pub const STREAM: u32 = 1 << 10; // t
    pub const KEY_MISS: u32 = 1 << 11; // m
    pub const MODULE: u32 = 1 << 13; // d
    pub const NEW: u32 = 1 << 14; // n
    /// `A`: every class except key-miss and new.
    pub const ALL: u32 =
        GENERIC | STRING | LIST | SET | HASH | ZSET | EXPIRED | EVICTED | STREAM | MODULE;

    /// The letters `A` stands for and `n`, in the order Redis prints them.
    const LETTERS: &[(u32, u8)] = &[
        (GENERIC, b'g'),
        (STRING, b'$'),
        (LIST, b'l'),
        (SET, b's'),
        (HASH, b'h'),
        (ZSET, b'z'),
        (EXPIRED, b'x'),
        (EVICTED, b'e'),
        (STREAM, b't'),
        (MODULE, b'd'),
        (NEW, b'n'),
    ];

    /// CONFIG SET's reason for a value [`parse`] refuses.
    pub const INVALID: &str = "Invalid event class character. Use 'Ag$lshzxeKEtmdn'.";

    /// Parses a `notify-keyspace-events` value; `None` on an unknown letter.
    pub fn parse(s: &[u8]) -> Option<u32> {
        let mut flags = 0;
        for &c in s {
            flags |= match c {
                b'A' => ALL,
                b'K' => KEYSPACE,
                b'E' => KEYEVENT,
                b'm' => KEY_MISS,
                _ => LETTERS.iter().find(|(_, l)| *l == c)?.0,
            };
        }
        Some(flags)
    }

    /// The canonical text CONFIG GET reports.
    pub fn format(flags: u32) -> String {
        let mut s = String::new();
        if flags & ALL == ALL {
            s.push('A');
        } else {
            for &(bit, l) in LETTERS {
                if flags & bit != 0 {
                    s.push(l as char);
                }
            }
        }
        for (bit, l) in [(KEYSPACE, 'K'), (KEYEVENT, 'E'), (KEY_MISS, 'm')] {
            if flags & bit != 0 {
                s.push(l);
            }
        }
        s
    }
}

/// Publishes `message` on `channel` to every subscriber, for the execution `fx` (whose caller
/// may be a subscriber itself, and which sends the loops' wake-ups once its locks are
/// released); returns nothing (notifications do not count receivers).
pub type Sink = Box<dyn Fn(&[u8], &[u8], &Scope) + Send + Sync>;

/// The per-store event hub (shared by every [`Db`](super::Db) of one store).
pub struct KeyspaceEvents {
    pub watches: Watches,
    /// `notify-keyspace-events` as [`class`] bits; 0 = off.
    pub notify_flags: AtomicU32,
    /// Clients blocked on keys in every database (maintained by the `blocked` registry). A
    /// client raises it under the shard locks of its keys before it is queued, so a store
    /// under those locks sees it; a wait lowers it when it ends, from any thread and without
    /// shard locks (a stale non-zero value only costs a needless ready record). While 0,
    /// storing a list or zset records nothing.
    pub blocked: AtomicUsize,
    /// Clients with CLIENT TRACKING on: while 0, modified keys are not recorded.
    pub tracking: AtomicUsize,
    sink: OnceLock<Sink>,
}

impl KeyspaceEvents {
    pub fn new(databases: usize) -> Self {
        KeyspaceEvents {
            watches: Watches::new(databases),
            notify_flags: AtomicU32::new(0),
            blocked: AtomicUsize::new(0),
            tracking: AtomicUsize::new(0),
            sink: OnceLock::new(),
        }
    }

    /// Installs the publisher (once, at start-up).
    pub fn set_sink(&self, sink: Sink) {
        let _ = self.sink.set(sink);
    }

    /// Redis's `notifyKeyspaceEvent(class, event, key, db)`, for execution `fx`.
    #[inline(always)]
    pub fn notify(&self, class: u32, event: &str, db: usize, key: &[u8], fx: &Scope) {
        let flags = self.notify_flags.load(Ordering::Relaxed);
        if flags & class != 0 {
            self.publish(flags, event, db, key, fx);
        }
    }

    #[cold]
    #[inline(never)]
    fn publish(&self, flags: u32, event: &str, db: usize, key: &[u8], fx: &Scope) {
        let Some(sink) = self.sink.get() else { return };
        if flags & class::KEYSPACE != 0 {
            let mut channel = format!("__keyspace@{db}__:").into_bytes();
            channel.extend_from_slice(key);
            sink(&channel, event.as_bytes(), fx);
        }
        if flags & class::KEYEVENT != 0 {
            let channel = format!("__keyevent@{db}__:{event}");
            sink(channel.as_bytes(), key, fx);
        }
    }
}

/// One client's WATCH state: set when any key it watches changes.
#[derive(Default)]
pub struct WatchFlag {
    dirty: AtomicBool,
}

impl WatchFlag {
    pub fn is_dirty(&self) -> bool {
        self.dirty.load(Ordering::Acquire)
    }

    pub fn set_dirty(&self) {
        self.dirty.store(true, Ordering::Release);
    }
}

/// One (client, key) registration.
struct Watcher {
    client: u64,
    flag: Arc<WatchFlag>,
    /// The key existed but was logically expired at WATCH time (Redis 7's `wk->expired`):
    /// its later deletion is no change.
    expired: bool,
}

/// One database's watched keys: key -> the clients watching it.
type WatchedKeys = DashMap<Box<[u8]>, Vec<Watcher>, ahash::RandomState>;

/// Watched keys of every database.
pub struct Watches {
    /// Registrations in all databases; a modification only looks further when non-zero.
    count: AtomicUsize,
    dbs: Box<[WatchedKeys]>,
}

impl Watches {
    fn new(databases: usize) -> Self {
        Watches {
            count: AtomicUsize::new(0),
            dbs: (0..databases.max(1)).map(|_| DashMap::default()).collect(),
        }
    }

    /// Registers `client` on `(db, key)`. Call under the key's shard lock (see module doc);
    /// `expired` says whether the key is present but logically expired right now.
    /// Returns false when the client already watches the key.
    pub fn watch(
        &self,
        db: usize,
        key: &[u8],
        client: u64,
        flag: &Arc<WatchFlag>,
        expired: bool,
    ) -> bool {
        let mut list = self.dbs[db].entry(key.into()).or_default();
        if list.iter().any(|w| w.client == client) {
            return false;
        }
        list.push(Watcher {
            client,
            flag: flag.clone(),
            expired,
        });
        self.count.fetch_add(1, Ordering::SeqCst);
        true
    }

    /// Removes `client`'s registration on `(db, key)`.
    pub fn unwatch(&self, db: usize, key: &[u8], client: u64) {
        let removed = self.dbs[db].remove_if_mut(key, |_, list| {
            let before = list.len();
            list.retain(|w| w.client != client);
            if list.len() != before {
                self.count.fetch_sub(1, Ordering::SeqCst);
            }
            list.is_empty()
        });
        drop(removed);
    }

    /// Whether any key is watched at all (a relaxed check for hot paths).
    #[inline]
    pub fn any(&self) -> bool {
        self.count.load(Ordering::Relaxed) != 0
    }

    /// Redis's `touchWatchedKey`: flags every client watching `(db, key)`. `exists` says
    /// whether the key exists after the change. Call under the key's shard lock.
    #[inline]
    pub fn touch(&self, db: usize, key: &[u8], exists: bool) {
        if self.any() {
            self.touch_slow(db, key, exists);
        }
    }

    #[cold]
    fn touch_slow(&self, db: usize, key: &[u8], exists: bool) {
        if let Some(mut list) = self.dbs[db].get_mut(key) {
            for w in list.iter_mut() {
                if w.expired && !exists {
                    // An already-expired key was deleted: logically no change.
                    w.expired = false;
                    continue;
                }
                w.flag.set_dirty();
            }
        }
    }

    /// The keys watched in `db` (for FLUSHDB/FLUSHALL/SWAPDB, which test each one).
    pub fn keys_in(&self, db: usize) -> Vec<Box<[u8]>> {
        if !self.any() {
            return Vec::new();
        }
        self.dbs[db].iter().map(|e| e.key().clone()).collect()
    }

    /// Redis's `touchAllWatchedKeysInDb` for one key: `exists_in_emptied` / `replacement`
    /// describe the key in the database being emptied and in the one replacing it (SWAPDB;
    /// `None` for a flush): `Some(true)` = there and expired, `Some(false)` = there and live.
    pub fn touch_replaced(
        &self,
        db: usize,
        key: &[u8],
        exists_in_emptied: bool,
        replacement: Option<bool>,
    ) {
        if !exists_in_emptied && replacement.is_none() {
            return;
        }
        if let Some(mut list) = self.dbs[db].get_mut(key) {
            for w in list.iter_mut() {
                if w.expired {
                    match replacement {
                        None => {
                            w.expired = false;
                            continue;
                        }
                        Some(true) => continue,
                        Some(false) => {}
                    }
                } else if !exists_in_emptied && replacement == Some(true) {
                    w.expired = true;
                    continue;
                }
                w.flag.set_dirty();
            }
        }
    }

    /// Whether `(db, key)` was live when `client` watched it (for EXEC's expiry check).
    pub fn was_live(&self, db: usize, key: &[u8], client: u64) -> bool {
        self.dbs[db]
            .get(key)
            .and_then(|l| l.iter().find(|w| w.client == client).map(|w| !w.expired))
            .unwrap_or(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notify_flags_parse_and_format_like_redis() {
        assert_eq!(class::parse(b""), Some(0));
        assert_eq!(class::format(class::parse(b"$g").unwrap()), "g$");
        let f = class::parse(b"KEA").unwrap();
        assert_eq!(class::format(f), "AKE");
        assert_eq!(class::format(class::parse(b"Elg").unwrap()), "glE");
        assert_eq!(class::format(class::parse(b"KAnm").unwrap()), "AKm");
        assert_eq!(class::format(class::parse(b"Kgn").unwrap()), "gnK");
        assert_eq!(class::parse(b"Kq"), None);
    }

    #[test]
    fn touch_flags_watchers_of_that_key_only() {
        let w = Watches::new(2);
        let a = Arc::new(WatchFlag::default());
        let b = Arc::new(WatchFlag::default());
        assert!(w.watch(0, b"k", 1, &a, false));
        assert!(!w.watch(0, b"k", 1, &a, false));
        assert!(w.watch(1, b"k", 2, &b, false));
        w.touch(0, b"other", true);
        assert!(!a.is_dirty());
        w.touch(0, b"k", true);
        assert!(a.is_dirty() && !b.is_dirty());
        w.unwatch(0, b"k", 1);
        w.unwatch(1, b"k", 2);
        assert!(!w.any());
    }

    #[test]
    fn deleting_an_already_expired_key_is_no_change() {
        let w = Watches::new(1);
        let a = Arc::new(WatchFlag::default());
        w.watch(0, b"k", 1, &a, true);
        w.touch(0, b"k", false);
        assert!(!a.is_dirty());
        w.touch(0, b"k", true);
        assert!(a.is_dirty());
    }
}
