//! One database: shard selection, single-key access, iteration (KEYS/SCAN/RANDOMKEY) and the
//! active-expiry sweep. Locking rules are in the parent module doc; every access goes through
//! a [`DbRef`], the database as one execution ([`Scope`]) sees it.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use ahash::RandomState;
use bytes::Bytes;
use dashmap::{DashMap, SharedValue};
use hashbrown::hash_map::RawEntryMut;

use super::events::{class, KeyspaceEvents};
use super::node::NodeBox;
use super::{Entry, Op, Scope, Shard, Value, SHARDS};

pub struct Db {
    /// This database's number (for keyspace events).
    index: usize,
    /// The store's event hub (WATCH, keyspace notifications).
    events: std::sync::Arc<KeyspaceEvents>,
    /// Keys and entries live in [`NodeBox`]es; the map's value type is unit.
    map: DashMap<NodeBox, (), RandomState>,
    /// Set whenever a TTL may have been stored since the last sweep; the sweeper skips
    /// databases where it is clear.
    maybe_volatile: AtomicBool,
    /// Where the next expiry cycle resumes (shard index).
    sweep_cursor: AtomicUsize,
    /// Whether the current sweep pass has met a key that still has a TTL.
    pass_saw_volatile: AtomicBool,
    /// Copy-on-write state of a running snapshot ([`super::snapshot`]).
    pub(super) cow: super::snapshot::DbCow,
    /// The store's expiry hold (client pauses).
    hold: std::sync::Arc<super::ExpiryHold>,
}

impl Db {
    pub(super) fn new(
        index: usize,
        hasher: RandomState,
        events: std::sync::Arc<KeyspaceEvents>,
        hold: std::sync::Arc<super::ExpiryHold>,
    ) -> Self {
        Db {
            index,
            events,
            map: DashMap::with_hasher_and_shard_amount(hasher, SHARDS),
            maybe_volatile: AtomicBool::new(false),
            sweep_cursor: AtomicUsize::new(0),
            pass_saw_volatile: AtomicBool::new(false),
            cow: super::snapshot::DbCow::new(),
            hold,
        }
    }

    pub fn index(&self) -> usize {
        self.index
    }

    pub fn events(&self) -> &KeyspaceEvents {
        &self.events
    }

    /// A key found logically expired was removed: Redis's `deleteExpiredKeyAndPropagate`
    /// notifies `expired`, invalidates WATCH and propagates the deletion (`DEL key`). Called
    /// under the key's shard lock.
    fn expired(&self, fx: &Scope, key: &[u8]) {
        self.hold.note_expired();
        self.events
            .notify(class::EXPIRED, "expired", self.index, key, fx);
        self.events.watches.touch(self.index, key, false);
        if self
            .events
            .tracking
            .load(std::sync::atomic::Ordering::Relaxed)
            != 0
        {
            fx.invalidate(key, false);
        }
        if fx.propagating() {
            fx.propagate(Op::new(self.index, &[b"DEL", key]));
        }
    }

    #[inline]
    pub fn hash(&self, key: &[u8]) -> u64 {
        self.map.hasher().hash_one(key)
    }

    #[inline]
    pub fn shard_of(&self, hash: u64) -> usize {
        self.map.determine_shard(hash as usize)
    }

    /// The shard locks themselves; everything else goes through [`Db::write_shard`] /
    /// [`Db::read_shard`] (`txn.rs`), which know about a running transaction.
    pub(super) fn raw_shards(&self) -> &[dashmap::RwLock<Shard>] {
        self.map.shards()
    }

    /// Call after storing a TTL so the expiry thread visits this database.
    #[inline]
    pub fn mark_volatile(&self) {
        if !self.maybe_volatile.load(Ordering::Relaxed) {
            self.maybe_volatile.store(true, Ordering::Relaxed);
        }
    }
}

/// A database as one execution sees it: what commands (and the expiry sweep) use.
#[derive(Clone, Copy)]
pub struct DbRef<'a> {
    db: &'a Db,
    fx: &'a Scope,
}

impl<'a> DbRef<'a> {
    #[inline]
    pub(super) fn new(db: &'a Db, fx: &'a Scope) -> Self {
        DbRef { db, fx }
    }

    pub fn index(&self) -> usize {
        self.db.index
    }

    /// The database behind this view (no shard access: see locking rule 7).
    pub fn db(&self) -> &'a Db {
        self.db
    }

    /// Runs `f` on the live entry for `key` under the shard's read lock.
    /// Returns `None` when the key is missing or expired (an expired key is then removed,
    /// unless clients are paused: [`super::ExpiryHold`]).
    #[inline]
    pub fn read<R>(&self, key: &[u8], now: u64, f: impl FnOnce(&Entry) -> R) -> Option<R> {
        self.lookup(key, now, true, f)
    }

    /// [`DbRef::read`] without recording an access: Redis's `LOOKUP_NOTOUCH`, used by the
    /// commands that must not disturb `OBJECT IDLETIME` (TYPE, EXISTS, TTL, OBJECT, ...).
    #[inline]
    pub fn peek<R>(&self, key: &[u8], now: u64, f: impl FnOnce(&Entry) -> R) -> Option<R> {
        self.lookup(key, now, false, f)
    }

    #[inline]
    fn lookup<R>(
        &self,
        key: &[u8],
        now: u64,
        touch: bool,
        f: impl FnOnce(&Entry) -> R,
    ) -> Option<R> {
        let hash = self.db.hash(key);
        let expired = {
            let guard = self.db.read_shard(self.fx, self.db.shard_of(hash));
            match guard.raw_entry().from_key_hashed_nocheck(hash, key) {
                None => return None,
                Some((node, _)) => {
                    let entry = node.entry();
                    if !entry.is_expired(now) {
                        if touch {
                            entry.touch();
                        }
                        return Some(f(entry));
                    }
                    true
                }
            }
        };
        // While clients are paused the dataset stays as it is: missing, but not deleted.
        if expired && !self.db.hold.is_held(now) {
            self.write(key, now, |slot| {
                slot.get();
            });
        }
        None
    }

    /// Runs `f` on `key`'s entry as stored — expired or not, nothing removed, no access
    /// recorded — under the shard's read lock (WATCH registers under it).
    pub fn inspect<R>(&self, key: &[u8], f: impl FnOnce(Option<&Entry>) -> R) -> R {
        let hash = self.db.hash(key);
        let guard = self.db.read_shard(self.fx, self.db.shard_of(hash));
        f(guard
            .raw_entry()
            .from_key_hashed_nocheck(hash, key)
            .map(|(node, _)| node.entry()))
    }

    /// Runs `f` with write access to `key`'s slot under its shard's write lock.
    #[inline]
    pub fn write<R>(&self, key: &[u8], now: u64, f: impl FnOnce(&mut Slot<'_>) -> R) -> R {
        let hash = self.db.hash(key);
        let mut guard = self.db.write_shard(self.fx, self.db.shard_of(hash));
        let mut slot = Slot::new(self.db, self.fx, &mut guard, key, hash, now);
        f(&mut slot)
    }

    /// Makes room for `keys` more keys spread over the shards (a load that knows its size),
    /// so that their tables do not rehash while they fill.
    pub fn reserve(&self, keys: usize) {
        let per_shard = keys / SHARDS;
        // The keys of a shard vary around the mean by about its square root: a few percent.
        let per_shard = per_shard + per_shard / 16 + 8;
        for s in 0..SHARDS {
            self.db.write_shard(self.fx, s).reserve(per_shard);
        }
    }

    /// Number of keys (including not-yet-swept expired ones, as Redis's DBSIZE).
    pub fn len(&self) -> usize {
        (0..SHARDS)
            .map(|s| self.db.read_shard(self.fx, s).len())
            .sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `(keys, keys with a TTL)` for INFO keyspace; walks every shard under its read lock.
    pub fn counts(&self) -> (usize, usize) {
        let mut keys = 0;
        let mut volatile = 0;
        for shard in 0..SHARDS {
            let g = self.db.read_shard(self.fx, shard);
            keys += g.len();
            volatile += g.keys().filter(|n| n.entry().is_volatile()).count();
        }
        (keys, volatile)
    }

    /// The shape of this database's tables (DEBUG HTSTATS): its shards' open-addressing
    /// tables taken together, and the keys with a TTL among them — ferrokv keeps no separate
    /// table of expiry times (Redis's `expires` dict), so the second figures count those keys
    /// in the same buckets (nothing when there are none). One shard at a time under its read
    /// lock.
    pub fn table_stats(&self) -> (super::htstats::TableStats, super::htstats::TableStats) {
        let mut keys = super::htstats::TableStats::default();
        let mut volatile = super::htstats::TableStats::default();
        for shard in 0..SHARDS {
            let g = self.db.read_shard(self.fx, shard);
            // An unallocated table reports one bucket.
            let buckets = if g.capacity() == 0 {
                0
            } else {
                g.raw_table().buckets() as u64
            };
            let ttls = g.keys().filter(|n| n.entry().is_volatile()).count() as u64;
            keys.add_open(buckets, g.len() as u64);
            volatile.add_open(buckets, ttls);
        }
        if volatile.elements == 0 {
            volatile = super::htstats::TableStats::default();
        }
        (keys, volatile)
    }

    /// `(keys, bytes)`: the keys and what the tables spend on them beyond keys and values
    /// (slots — a pointer and a control byte each, empty ones included — and the nodes'
    /// fixed part), for INFO's `used_memory_overhead` and MEMORY STATS.
    pub fn overhead(&self) -> (usize, usize) {
        let node = super::usage::alloc_size(std::mem::size_of::<super::node::Node>());
        let mut keys = 0;
        let mut bytes = 0;
        for shard in 0..SHARDS {
            let g = self.db.read_shard(self.fx, shard);
            keys += g.len();
            bytes += g.capacity() * 9 + g.len() * node;
        }
        (keys, bytes)
    }

    /// Calls `f` for every live key, one shard at a time (each under its read lock).
    pub fn for_each_key(&self, now: u64, mut f: impl FnMut(&[u8], &Entry)) {
        for shard in 0..SHARDS {
            let g = self.db.read_shard(self.fx, shard);
            for node in g.keys() {
                if !node.entry().is_expired(now) {
                    f(node.key(), node.entry());
                }
            }
        }
    }

    /// Calls `f` for every stored key, expired or not (nothing removed, no access recorded),
    /// one shard at a time under its read lock: what Redis's DEBUG DIGEST walks (its `dict`).
    pub fn for_each_stored(&self, mut f: impl FnMut(&[u8], &Entry)) {
        for shard in 0..SHARDS {
            let g = self.db.read_shard(self.fx, shard);
            for node in g.keys() {
                f(node.key(), node.entry());
            }
        }
    }

    /// A random live key, or `None` when the database is empty.
    pub fn random_key(&self, now: u64) -> Option<Bytes> {
        use rand::Rng;
        let mut rng = rand::thread_rng();
        let pick = |shard: usize, rng: &mut rand::rngs::ThreadRng| {
            let g = self.db.read_shard(self.fx, shard);
            let live: Vec<&[u8]> = g
                .keys()
                .filter(|n| !n.entry().is_expired(now))
                .map(|n| n.key())
                .collect();
            (!live.is_empty()).then(|| Bytes::copy_from_slice(live[rng.gen_range(0..live.len())]))
        };
        // Sample a few random shards first (cheap when the db is dense), then fall back to a
        // full ordered walk so a sparse db still finds its key.
        (0..16)
            .find_map(|_| pick(rng.gen_range(0..SHARDS), &mut rng))
            .or_else(|| {
                let start = rng.gen_range(0..SHARDS);
                (0..SHARDS).find_map(|i| pick((start + i) % SHARDS, &mut rng))
            })
    }
    /// One SCAN step.
    ///
    /// The cursor is `shard << 32 | low`, where `low` is a position in the space of the low 32
    /// bits of key hashes. A step returns the live keys of the current shard whose hash falls in
    /// `[low, high)` and continues at `high` (or the next shard). The ranges of consecutive steps
    /// are contiguous and cover the whole hash space of every shard, whatever the table does in
    /// between (growth, rehash, deletes), so a key present for the whole scan is returned at
    /// least once. The range width targets `max(count, shard_len / 8)` keys, which bounds a full
    /// scan at ~8 passes over the data. Returns (next cursor, keys); the next cursor is 0 at the end.
    ///
    /// `keep` sees every key in the range under the shard's read lock, with its entry, or `None`
    /// when the entry is expired (nothing is removed here: the caller may do it afterwards).
    pub fn scan(
        &self,
        cursor: u64,
        count: usize,
        now: u64,
        mut keep: impl FnMut(&[u8], Option<&Entry>) -> bool,
    ) -> (u64, Vec<Bytes>) {
        let count = count.max(1);
        let mut shard = (cursor >> 32) as usize;
        let mut low = cursor & 0xffff_ffff;
        let mut out = Vec::new();
        let mut visited = 0usize;
        while shard < SHARDS && visited < count {
            let g = self.db.read_shard(self.fx, shard);
            let len = g.len().max(1) as u64;
            let want = (count as u64).max(len / 8).max(1);
            // Range width in the 2^32 space so that ~`want` of `len` keys fall inside.
            // (u128: `count` is client-controlled and may be huge.)
            let width =
                ((1u128 << 32) * u128::from(want) / u128::from(len)).clamp(1, 1 << 32) as u64;
            let high = (low + width).min(1 << 32);
            for node in g.keys() {
                let k = node.key();
                let h = self.db.hash(k) & 0xffff_ffff;
                if h >= low && h < high {
                    visited += 1;
                    let e = node.entry();
                    if keep(k, Some(e).filter(|e| !e.is_expired(now))) {
                        out.push(Bytes::copy_from_slice(k));
                    }
                }
            }
            drop(g);
            if high >= 1 << 32 {
                shard += 1;
                low = 0;
            } else {
                low = high;
            }
        }
        let next = if shard >= SHARDS {
            0
        } else {
            ((shard as u64) << 32) | low
        };
        (next, out)
    }

    /// Eviction's sample (Redis's `dictGetSomeKeys`): visits the keys of consecutive buckets
    /// of shard `shard`, from bucket `start` (any number; wrapped to the table), calling
    /// `f(key, entry)` for each live key (with a TTL when `volatile_only`) until `f` has seen
    /// `count` keys or the table is done. Returns how many `f` saw. One read lock.
    pub fn sample(
        &self,
        shard: usize,
        start: usize,
        count: usize,
        now: u64,
        volatile_only: bool,
        mut f: impl FnMut(&[u8], &Entry),
    ) -> usize {
        let g = self.db.read_shard(self.fx, shard % SHARDS);
        if g.is_empty() {
            return 0;
        }
        let table = g.raw_table();
        let buckets = table.buckets();
        let mut seen = 0;
        for i in 0..buckets {
            let at = (start.wrapping_add(i)) & (buckets - 1);
            // SAFETY: `at` < buckets (a power of two), and a full bucket holds an initialised
            // element, borrowed only while the read lock `g` is held.
            let node = unsafe {
                if !table.is_bucket_full(at) {
                    continue;
                }
                &table.bucket(at).as_ref().0
            };
            let e = node.entry();
            if e.is_expired(now) || (volatile_only && !e.is_volatile()) {
                continue;
            }
            f(node.key(), e);
            seen += 1;
            if seen >= count {
                break;
            }
        }
        seen
    }

    /// Whether a key with a TTL may exist in this database (the sweeper clears the flag
    /// after a pass that met none).
    pub fn maybe_volatile(&self) -> bool {
        self.db.maybe_volatile.load(Ordering::Relaxed)
    }

    /// Evicts `key` (Redis's eviction of one key): removed — when it exists, and has a TTL
    /// if `volatile_only` — with the `evicted` event, WATCH touched and `DEL key`
    /// propagated. Returns the estimate of the bytes freed, `None` when nothing was removed.
    /// A key found logically expired is removed as expired (and counts as freed).
    pub fn evict(&self, key: &[u8], now: u64, volatile_only: bool) -> Option<usize> {
        self.write(key, now, |slot| slot.evict(volatile_only))
    }

    /// Sweeps expired keys from up to `shards` shards, resuming where the last call stopped.
    /// Returns the number of keys removed. Each shard is locked only while it is swept, and a
    /// shard left mostly empty is shrunk so memory returns after a mass expiry.
    ///
    /// A pass over all shards starts only when `maybe_volatile` is set; the flag is cleared at
    /// the start of the pass and set again at its end when the pass met a key that still has a
    /// TTL. A TTL stored during the pass sets it too (in a shard already swept or not), so no
    /// volatile key is ever forgotten, and a database whose TTLs are all gone stops being swept.
    pub fn expire_cycle(&self, now: u64, shards: usize) -> usize {
        let db = self.db;
        let start = db.sweep_cursor.load(Ordering::Relaxed);
        if start == 0 && !db.maybe_volatile.swap(false, Ordering::Relaxed) {
            return 0;
        }
        let mut removed = 0;
        let end = (start + shards.max(1)).min(SHARDS);
        let mut any_volatile = false;
        for s in start..end {
            let mut g = db.write_shard(self.fx, s);
            let before = g.len();
            g.retain(|node, _| {
                let e = node.entry();
                let expired = e.is_expired(now);
                any_volatile |= e.is_volatile() && !expired;
                if expired {
                    db.preserve_removed(s, node.key(), e);
                    db.expired(self.fx, node.key());
                }
                !expired
            });
            let n = before - g.len();
            removed += n;
            if n > 0 && g.capacity() > 64 && g.len() * 4 < g.capacity() {
                g.shrink_to_fit();
            }
        }
        if any_volatile {
            db.pass_saw_volatile.store(true, Ordering::Relaxed);
        }
        if end >= SHARDS {
            db.sweep_cursor.store(0, Ordering::Relaxed);
            if db.pass_saw_volatile.swap(false, Ordering::Relaxed) {
                db.mark_volatile();
            }
        } else {
            db.sweep_cursor.store(end, Ordering::Relaxed);
        }
        removed
    }
}

/// Write access to one key inside a write-locked shard.
pub struct Slot<'a> {
    db: &'a Db,
    fx: &'a Scope,
    shard: &'a mut Shard,
    key: &'a [u8],
    hash: u64,
    now: u64,
}

impl<'a> Slot<'a> {
    pub(super) fn new(
        db: &'a Db,
        fx: &'a Scope,
        shard: &'a mut Shard,
        key: &'a [u8],
        hash: u64,
        now: u64,
    ) -> Self {
        // Copy-on-write for a running snapshot: record the key's value before any change.
        db.preserve(shard, db.shard_of(hash), key, hash);
        Slot {
            db,
            fx,
            shard,
            key,
            hash,
            now,
        }
    }

    pub fn now(&self) -> u64 {
        self.now
    }

    /// The live entry, or `None`; an expired entry met here is removed.
    pub fn get(&mut self) -> Option<&mut Entry> {
        match self
            .shard
            .raw_entry_mut()
            .from_key_hashed_nocheck(self.hash, self.key)
        {
            RawEntryMut::Vacant(_) => None,
            RawEntryMut::Occupied(o) => {
                if o.key().entry().is_expired(self.now) {
                    o.remove();
                    self.db.expired(self.fx, self.key);
                    None
                } else {
                    let e = o.into_key().entry_mut();
                    e.touch();
                    Some(e)
                }
            }
        }
    }

    pub fn exists(&mut self) -> bool {
        self.get().is_some()
    }

    /// Reports a change to this key: Redis's `signalModifiedKey` (WATCH) plus
    /// `notifyKeyspaceEvent(class, event)`. Call once the change is made, before the lock is
    /// released (the slot's lifetime guarantees that).
    /// Both checks are one relaxed load each when nothing is watched or notified (the hot path
    /// of every write), so they are forced inline with the work behind them kept out of line.
    #[inline(always)]
    pub fn modified(&self, class: u32, event: &str) {
        self.touched();
        self.notify(class, event);
    }

    /// Redis's `signalModifiedKey` alone (WATCH), which is also where a change is counted
    /// (the execution's dirty count, [`Scope::dirty`]).
    #[inline(always)]
    pub fn touched(&self) {
        self.fx.changed();
        if self.db.events.watches.any() {
            self.touch_watchers();
        }
        if self
            .db
            .events
            .tracking
            .load(std::sync::atomic::Ordering::Relaxed)
            != 0
        {
            self.fx.invalidate(self.key, true);
        }
    }

    #[cold]
    #[inline(never)]
    fn touch_watchers(&self) {
        let exists = self
            .shard
            .raw_entry()
            .from_key_hashed_nocheck(self.hash, self.key)
            .is_some();
        self.db
            .events
            .watches
            .touch(self.db.index, self.key, exists);
    }

    /// Redis's `notifyKeyspaceEvent` alone.
    #[inline(always)]
    pub fn notify(&self, class: u32, event: &str) {
        self.db
            .events
            .notify(class, event, self.db.index, self.key, self.fx);
    }

    /// The database this slot belongs to, as its execution sees it.
    pub fn db(&self) -> DbRef<'a> {
        DbRef::new(self.db, self.fx)
    }

    /// Stores `entry`, returning the previous live entry. The key is copied on first insert
    /// (request buffers are never retained by the store).
    ///
    /// Storing a list or sorted set while clients are blocked on keys records the key as ready
    /// in the execution's scope (Redis's `signalKeyAsReady`, see [`super::events`]): whoever
    /// waits on it is served after the current command.
    pub fn put(&mut self, entry: Entry) -> Option<Entry> {
        if entry.is_volatile() {
            self.db.mark_volatile();
        }
        if matches!(entry.value, Value::List(_) | Value::ZSet(_))
            && self.db.events.blocked.load(Ordering::Relaxed) != 0
        {
            self.fx.ready(self.db.index, self.key);
        }
        let now = self.now;
        match self
            .shard
            .raw_entry_mut()
            .from_key_hashed_nocheck(self.hash, self.key)
        {
            RawEntryMut::Occupied(o) => {
                let old = std::mem::replace(o.into_key().entry_mut(), entry);
                if old.is_expired(now) {
                    self.db.expired(self.fx, self.key);
                    self.notify(class::NEW, "new");
                    None
                } else {
                    Some(old)
                }
            }
            RawEntryMut::Vacant(v) => {
                v.insert_hashed_nocheck(
                    self.hash,
                    NodeBox::new(self.key, entry),
                    SharedValue::new(()),
                );
                self.notify(class::NEW, "new");
                None
            }
        }
    }

    /// Removes the key, returning the live entry it had.
    pub fn remove(&mut self) -> Option<Entry> {
        match self
            .shard
            .raw_entry_mut()
            .from_key_hashed_nocheck(self.hash, self.key)
        {
            RawEntryMut::Vacant(_) => None,
            RawEntryMut::Occupied(o) => {
                let (node, _) = o.remove_entry();
                let e = node.into_entry();
                if e.is_expired(self.now) {
                    self.db.expired(self.fx, self.key);
                    return None;
                }
                Some(e)
            }
        }
    }

    /// Redis's `dbDelete` without a lookup first: removes the key whether or not it is
    /// logically expired, with no `expired` event, and returns its entry. The STORE commands
    /// delete their destination so when their result is empty (and report `del`, even for a
    /// destination that had expired but was not yet removed).
    pub fn delete(&mut self) -> Option<Entry> {
        match self
            .shard
            .raw_entry_mut()
            .from_key_hashed_nocheck(self.hash, self.key)
        {
            RawEntryMut::Vacant(_) => None,
            RawEntryMut::Occupied(o) => Some(o.remove_entry().0.into_entry()),
        }
    }

    /// [`DbRef::evict`] under the slot's lock.
    fn evict(&mut self, volatile_only: bool) -> Option<usize> {
        let RawEntryMut::Occupied(o) = self
            .shard
            .raw_entry_mut()
            .from_key_hashed_nocheck(self.hash, self.key)
        else {
            return None;
        };
        let e = o.key().entry();
        if volatile_only && !e.is_volatile() {
            return None;
        }
        let freed = super::usage::key_usage(self.key, e, 5);
        let expired = e.is_expired(self.now);
        o.remove();
        if expired {
            self.db.expired(self.fx, self.key);
            return Some(freed);
        }
        let db = self.db;
        db.events.watches.touch(db.index, self.key, false);
        if db
            .events
            .tracking
            .load(std::sync::atomic::Ordering::Relaxed)
            != 0
        {
            self.fx.invalidate(self.key, false);
        }
        db.events
            .notify(class::EVICTED, "evicted", db.index, self.key, self.fx);
        if self.fx.propagating() {
            self.fx.propagate(Op::new(db.index, &[b"DEL", self.key]));
        }
        Some(freed)
    }

    /// Sets the absolute expiry (0 = persist) of a live key; returns false when missing.
    pub fn set_expire(&mut self, at: u64) -> bool {
        let db = self.db;
        match self.get() {
            Some(e) => {
                e.expire_at = at;
                if at != 0 {
                    db.mark_volatile();
                }
                true
            }
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Scope, Store, StrBuf, Value};

    fn s(v: &str) -> Entry {
        Entry::new(Value::Str(StrBuf::from_slice(v.as_bytes())), 0)
    }

    #[test]
    fn put_get_remove_and_lazy_expiry() {
        let store = Store::new(1);
        let fx = Scope::new(None, None);
        let db = store.with(&fx).db(0);
        db.write(b"a", 1000, |slot| assert!(slot.put(s("1")).is_none()));
        assert_eq!(db.read(b"a", 1000, |e| e.value.type_name()), Some("string"));
        db.write(b"a", 1000, |slot| assert!(slot.set_expire(1500)));
        assert!(db.read(b"a", 1499, |_| ()).is_some());
        assert!(db.read(b"a", 1500, |_| ()).is_none());
        assert_eq!(db.len(), 0, "expired key removed on access");
    }

    #[test]
    fn scan_returns_every_stable_key_despite_concurrent_changes() {
        let store = Store::new(1);
        let fx = Scope::new(None, None);
        let db = store.with(&fx).db(0);
        for i in 0..5000 {
            db.write(format!("k{i}").as_bytes(), 0, |slot| slot.put(s("v")));
        }
        let mut seen = std::collections::HashSet::new();
        let mut cursor = 0;
        let mut step = 0;
        loop {
            let (next, keys) = db.scan(cursor, 10, 0, |_, _| true);
            seen.extend(keys);
            // Churn: add and remove other keys between steps, forcing table growth.
            for j in 0..50 {
                let k = format!("tmp{step}-{j}");
                db.write(k.as_bytes(), 0, |slot| slot.put(s("x")));
                if j % 2 == 0 {
                    db.write(k.as_bytes(), 0, |slot| slot.remove());
                }
            }
            step += 1;
            cursor = next;
            if cursor == 0 {
                break;
            }
        }
        for i in 0..5000 {
            assert!(seen.contains(format!("k{i}").as_bytes()), "missing k{i}");
        }
    }

    #[test]
    fn expire_cycle_removes_expired_keys() {
        let store = Store::new(1);
        let fx = Scope::new(None, None);
        let db = store.with(&fx).db(0);
        for i in 0..10_000 {
            db.write(format!("k{i}").as_bytes(), 0, |slot| {
                slot.put(Entry::new(Value::Str(StrBuf::from_slice(b"v")), 10))
            });
        }
        let mut removed = 0;
        for _ in 0..4 {
            removed += db.expire_cycle(20, SHARDS / 2);
        }
        assert_eq!(removed, 10_000);
        assert_eq!(db.len(), 0);
    }

    #[test]
    fn expire_cycle_keeps_sweeping_while_ttls_remain_then_idles() {
        let store = Store::new(1);
        let fx = Scope::new(None, None);
        let db = store.with(&fx).db(0);
        // One far-future TTL, one near one, plus persistent keys.
        db.write(b"far", 0, |slot| {
            slot.put(Entry::new(Value::Str(StrBuf::from_slice(b"v")), 1_000_000))
        });
        db.write(b"near", 0, |slot| {
            slot.put(Entry::new(Value::Str(StrBuf::from_slice(b"v")), 50))
        });
        for i in 0..100 {
            db.write(format!("p{i}").as_bytes(), 0, |slot| slot.put(s("v")));
        }
        let pass = |now| {
            (0..10)
                .map(|_| db.expire_cycle(now, SHARDS / 10 + 1))
                .sum::<usize>()
        };
        assert_eq!(pass(10), 0);
        assert_eq!(pass(60), 1, "a later pass still finds the near key");
        assert_eq!(pass(2_000_000), 1, "the far key is never forgotten");
        assert_eq!(db.len(), 100);
        // No TTL left: the next pass runs once and finds nothing, then the db is skipped.
        assert!(!db.db().maybe_volatile.load(Ordering::Relaxed));
        assert_eq!(db.expire_cycle(3_000_000, SHARDS), 0);
        assert_eq!(db.db().sweep_cursor.load(Ordering::Relaxed), 0);
        db.write(b"p0", 0, |slot| slot.set_expire(5));
        assert!(db.db().maybe_volatile.load(Ordering::Relaxed));
        assert_eq!(pass(10), 1);
    }

    #[test]
    fn expire_cycle_shrinks_emptied_shards() {
        let store = Store::new(1);
        let fx = Scope::new(None, None);
        let db = store.with(&fx).db(0);
        for i in 0..200_000 {
            db.write(format!("k{i}").as_bytes(), 0, |slot| {
                slot.put(Entry::new(Value::Str(StrBuf::from_slice(b"v")), 10))
            });
        }
        let capacity = || {
            db.db()
                .map
                .shards()
                .iter()
                .map(|s| s.read().capacity())
                .sum::<usize>()
        };
        assert!(capacity() >= 200_000);
        db.expire_cycle(20, SHARDS);
        assert_eq!(db.len(), 0);
        assert!(
            capacity() < 200_000 / 4,
            "capacity {} not reclaimed",
            capacity()
        );
    }

    #[test]
    fn scan_tolerates_huge_counts_and_cursors() {
        let store = Store::new(1);
        let fx = Scope::new(None, None);
        let db = store.with(&fx).db(0);
        for i in 0..1000 {
            db.write(format!("k{i}").as_bytes(), 0, |slot| slot.put(s("v")));
        }
        let (next, keys) = db.scan(0, usize::MAX, 0, |_, _| true);
        assert_eq!((next, keys.len()), (0, 1000));
        let (next, keys) = db.scan(u64::MAX, 10, 0, |_, _| true);
        assert_eq!((next, keys.len()), (0, 0));
    }

    #[test]
    fn multi_key_locks_are_ordered_and_deduplicated() {
        let store = Store::new(2);
        let fx = Scope::new(None, None);
        let store = store.with(&fx);
        let keys: Vec<(usize, &[u8])> = vec![(1, b"x"), (0, b"y"), (0, b"y"), (1, b"z")];
        let mut locks = store.lock(&keys);
        locks.slot(0, b"y", 0).put(s("1"));
        locks.slot(1, b"x", 0).put(s("2"));
        drop(locks);
        assert!(store.db(0).read(b"y", 0, |_| ()).is_some());
        store.swap(0, 1, 0);
        assert!(store.db(1).read(b"y", 0, |_| ()).is_some());
        assert!(store.db(0).read(b"x", 0, |_| ()).is_some());
    }
}
