//! The keyspace: `databases` independent [`Db`]s, each a [`DashMap`](dashmap::DashMap) of shards.
//!
//! # Layout
//! Every `Db` is a `DashMap<Bytes, Entry>` with [`SHARDS`] shards, all built from **one**
//! randomly seeded hasher (hash-flooding resistant, and identical across databases so that a
//! key lands in the same shard index in every database — SWAPDB relies on it). We use the
//! DashMap as a set of independently locked hashbrown tables (its `raw-api`) so we can hash a
//! key once, lock exactly its shard, and lock several shards in a fixed order.
//!
//! # Locking rules (every command obeys them; they are what makes multi-key commands atomic)
//! 1. A single-key command takes exactly one shard lock (read or write) for its whole effect.
//! 2. A multi-key command first computes every (db, shard) it touches, de-duplicates them and
//!    acquires the **write** locks in ascending (db index, shard index) order via [`StoreRef::lock`];
//!    it holds them all until its effect is complete. Ascending order makes deadlock
//!    impossible; holding all makes the effect atomic to every other thread.
//! 3. Whole-database operations (FLUSHDB, FLUSHALL, SWAPDB) are rule 2 applied to every shard.
//! 4. No lock is held across an I/O call or across commands — except EXEC, which applies rule 2
//!    once to every key of the transaction (or every shard, for keyspace-wide commands) and
//!    runs the queued commands under those locks; while it does, the execution's shard
//!    accesses are served from the held locks (`txn.rs`), so command code is the same inside
//!    EXEC. No syscall and no cross-thread wake-up happens under a shard lock: messages to
//!    other loops are queued and their wake-ups wait in the execution's [`Scope`] until its
//!    owner has released its locks; large values freed under a lock are queued for the
//!    lazyfree thread, which is nudged when the scope ends ([`lazyfree`]).
//! 5. Never lock a shard twice on one thread: [`Locks`] de-duplicates.
//! 6. Every change to a key is reported from its [`Slot`] while the shard lock is held
//!    ([`Slot::modified`]; WATCH, keyspace notifications and the change count, see [`events`]
//!    and [`scope`]). Code that runs under a shard lock (the notification sink, the blocked
//!    clients' bookkeeping) never takes a shard lock itself.
//! 7. Every shard access goes through a [`StoreRef`] / [`DbRef`]: the store seen by one
//!    execution ([`Scope`]). The compiler enforces it (the shard accessors take the scope), so
//!    an access inside EXEC cannot bypass the transaction's held locks and deadlock.
//!
//! Point-in-time snapshots (BGSAVE) need no fork and no pause: every change made through a
//! [`Slot`] (and the whole-shard operations) first preserves the key's old value while a
//! snapshot is pending for its shard; see [`snapshot`] for the algorithm and its rules.
//!
//! # Expiry
//! Expired entries are logically absent. Readers never return them; writers remove them when
//! they meet them ([`Slot::get`]); [`DbRef::expire_cycle`] (run by the expiry thread) sweeps them.
//! While clients are paused ([`ExpiryHold`]) readers still treat expired keys as absent but
//! leave them in place, and the sweep waits.

mod db;
mod entry;
pub mod events;
pub mod htstats;
pub mod lazyfree;
mod node;
pub mod scope;
pub mod sequence;
pub mod snapshot;
mod txn;
pub mod types;
pub mod usage;

pub use db::{Db, DbRef, Slot};
pub use entry::{Entry, StrBuf, Value};
pub use node::KeyBuf;
pub use scope::{Caller, Op, Scope};
use txn::ShardWrite;
pub use txn::{ScriptLocks, TxnLocks};

use ahash::RandomState;

/// Shards per database (power of two). Many small shards keep lock hold times, SCAN batches and
/// expiry sweeps short.
pub const SHARDS: usize = 1024;

pub(crate) type Shard = hashbrown::HashMap<node::NodeBox, dashmap::SharedValue<()>, RandomState>;

/// All databases.
pub struct Store {
    dbs: Box<[Db]>,
    events: std::sync::Arc<events::KeyspaceEvents>,
    hold: std::sync::Arc<ExpiryHold>,
}

/// Keeps the dataset constant while clients are paused (CLIENT PAUSE, a shutdown's drain):
/// until the held time, an expired key a command meets is reported missing but not deleted,
/// and the active expiry cycle does not run (Redis's `checkClientPauseTimeoutAndReturnIfPaused`
/// in `expireIfNeeded` and `activeExpireCycle`). Set by [`crate::state::pause`].
#[derive(Default)]
pub struct ExpiryHold {
    until_ms: std::sync::atomic::AtomicU64,
    /// Keys deleted because they expired, lazily or by the cycle (INFO `expired_keys`).
    expired: std::sync::atomic::AtomicU64,
}

impl ExpiryHold {
    /// Holds expiry until `until_ms` inclusive (Unix ms; 0: not held).
    pub fn hold_until(&self, until_ms: u64) {
        self.until_ms
            .store(until_ms, std::sync::atomic::Ordering::Relaxed);
    }

    /// Counts one expired key's deletion.
    pub fn note_expired(&self) {
        self.expired
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    /// Keys expired so far (INFO `expired_keys`).
    pub fn expired(&self) -> u64 {
        self.expired.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// CONFIG RESETSTAT.
    pub fn reset_expired(&self) {
        self.expired.store(0, std::sync::atomic::Ordering::Relaxed);
    }

    /// Whether expiry is held at `now` (Unix ms).
    #[inline]
    pub fn is_held(&self, now: u64) -> bool {
        now <= self.until_ms.load(std::sync::atomic::Ordering::Relaxed)
    }
}

impl Store {
    pub fn new(databases: usize) -> Self {
        let hasher = RandomState::new();
        let events = std::sync::Arc::new(events::KeyspaceEvents::new(databases));
        let hold = std::sync::Arc::new(ExpiryHold::default());
        let dbs = (0..databases.max(1))
            .map(|i| Db::new(i, hasher.clone(), events.clone(), hold.clone()))
            .collect();
        Store { dbs, events, hold }
    }

    /// The expiry hold client pauses set (see [`ExpiryHold`]).
    pub fn expiry_hold(&self) -> &std::sync::Arc<ExpiryHold> {
        &self.hold
    }

    /// WATCH registrations and keyspace notifications (see [`events`]).
    pub fn events(&self) -> &events::KeyspaceEvents {
        &self.events
    }

    /// This store as execution `fx` sees it: the only way to its shards (locking rule 7).
    #[inline]
    pub fn with<'a>(&'a self, fx: &'a Scope) -> StoreRef<'a> {
        StoreRef { store: self, fx }
    }

    pub fn db(&self, index: usize) -> &Db {
        &self.dbs[index]
    }

    pub fn len(&self) -> usize {
        self.dbs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.dbs.is_empty()
    }

    /// Whether any thread holds the lock of `key`'s shard in database `db` (tests of the
    /// locking rules).
    #[cfg(test)]
    pub fn is_locked(&self, db: usize, key: &[u8]) -> bool {
        let d = &self.dbs[db];
        d.raw_shards()[d.shard_of(d.hash(key))]
            .try_write()
            .is_none()
    }

    /// The distinct (db, shard) pairs holding `keys`, in locking order (ascending).
    fn shards_of(&self, keys: &[(usize, &[u8])]) -> Vec<(usize, usize)> {
        let mut targets: Vec<(usize, usize)> = keys
            .iter()
            .map(|(db, key)| (*db, self.dbs[*db].shard_of(self.dbs[*db].hash(key))))
            .collect();
        targets.sort_unstable();
        targets.dedup();
        targets
    }
}

/// Locks `targets` (ascending) with `try_lock`, never waiting while it holds one: when a
/// shard is busy, everything taken so far is released, the busy shard is waited for (holding
/// nothing) and the acquisition starts over. A multi-shard acquisition therefore never holds
/// a shard while it waits, which is what lets a running script lock the shards it reaches
/// out of order (see [`txn::Held`]) without any risk of deadlock. Uncontended, it costs what
/// blocking locks cost.
fn acquire_in_order<G>(
    targets: &[(usize, usize)],
    mut try_lock: impl FnMut(usize, usize) -> Option<G>,
    mut lock: impl FnMut(usize, usize) -> G,
) -> Vec<G> {
    let mut got = Vec::with_capacity(targets.len());
    let mut i = 0;
    while i < targets.len() {
        let (db, shard) = targets[i];
        if let Some(g) = try_lock(db, shard) {
            got.push(g);
            i += 1;
            continue;
        }
        if got.is_empty() {
            got.push(lock(db, shard));
            i += 1;
            continue;
        }
        got.clear();
        drop(lock(db, shard));
        i = 0;
    }
    got
}

/// The store seen by one execution (see [`scope`]): every shard access goes through it.
#[derive(Clone, Copy)]
pub struct StoreRef<'a> {
    store: &'a Store,
    fx: &'a Scope,
}

impl<'a> StoreRef<'a> {
    /// Database `index` as this execution sees it.
    #[inline]
    pub fn db(&self, index: usize) -> DbRef<'a> {
        DbRef::new(&self.store.dbs[index], self.fx)
    }

    /// The execution this view belongs to.
    pub fn scope(&self) -> &'a Scope {
        self.fx
    }

    pub fn len(&self) -> usize {
        self.store.len()
    }

    pub fn is_empty(&self) -> bool {
        self.store.is_empty()
    }

    /// Write-locks the shards of every `(db, key)` in ascending (db, shard) order (rule 2).
    pub fn lock(&self, keys: &[(usize, &[u8])]) -> Locks<'a> {
        let targets = self.store.shards_of(keys);
        let (store, fx) = (self.store, self.fx);
        let guards = acquire_in_order(
            &targets,
            |db, shard| store.dbs[db].try_write_shard(fx, shard),
            |db, shard| store.dbs[db].write_shard(fx, shard),
        );
        let guards = targets.into_iter().zip(guards).collect();
        Locks {
            store: self.store,
            fx: self.fx,
            guards,
        }
    }

    /// Write-locks every shard of the given databases (ascending), for whole-db operations.
    fn lock_all(&self, dbs: &[usize]) -> Vec<ShardWrite<'a>> {
        let mut dbs = dbs.to_vec();
        dbs.sort_unstable();
        dbs.dedup();
        let (store, fx) = (self.store, self.fx);
        let targets: Vec<(usize, usize)> = dbs
            .iter()
            .flat_map(|&db| (0..SHARDS).map(move |s| (db, s)))
            .collect();
        acquire_in_order(
            &targets,
            |db, shard| store.dbs[db].try_write_shard(fx, shard),
            |db, shard| store.dbs[db].write_shard(fx, shard),
        )
    }

    /// Empties the given databases atomically; the old tables are returned so the caller can
    /// drop them here (SYNC) or on another thread (ASYNC). Clients watching a key of a flushed
    /// database are flagged first (Redis's `touchAllWatchedKeysInDb(db, NULL)`).
    pub fn flush(&self, dbs: &[usize]) -> Vec<Shard> {
        let mut dbs = dbs.to_vec();
        dbs.sort_unstable();
        dbs.dedup();
        let mut guards = self.lock_all(&dbs);
        self.fx.order();
        for (i, &db) in dbs.iter().enumerate() {
            let shards = &guards[i * SHARDS..(i + 1) * SHARDS];
            self.store.touch_all_watched(db, shards, None, 0);
        }
        guards
            .iter_mut()
            .enumerate()
            .map(|(i, g)| {
                self.store.dbs[dbs[i / SHARDS]].preserve_all(i % SHARDS, g, true);
                let empty = Shard::with_hasher(g.hasher().clone());
                std::mem::replace(&mut **g, empty)
            })
            .collect()
    }

    /// Exchanges the contents of two databases atomically (SWAPDB). Clients watching a key of
    /// either database are flagged as Redis's `touchAllWatchedKeysInDb` does (expiry judged at
    /// `now`).
    pub fn swap(&self, a: usize, b: usize, now: u64) {
        if a == b {
            return;
        }
        let (lo, hi) = (a.min(b), a.max(b));
        let mut guards = self.lock_all(&[lo, hi]);
        self.fx.order();
        let (first, second) = guards.split_at_mut(SHARDS);
        self.store.touch_all_watched(lo, first, Some(second), now);
        self.store.touch_all_watched(hi, second, Some(first), now);
        for (s, (x, y)) in first.iter_mut().zip(second.iter_mut()).enumerate() {
            self.store.dbs[lo].preserve_all(s, x, false);
            self.store.dbs[hi].preserve_all(s, y, false);
            std::mem::swap(&mut **x, &mut **y);
        }
        self.store.dbs[lo].mark_volatile();
        self.store.dbs[hi].mark_volatile();
    }
}

impl Store {
    /// Redis's `touchAllWatchedKeysInDb(emptied, replaced_with)`: for every key watched in
    /// database `db` (whose locked shards are `emptied`), flags its watchers when the key is
    /// present in `emptied` or in `replaced_with` (the database taking its place, for SWAPDB).
    /// Presence counts logically expired entries, as Redis's `dictFind`; whether the
    /// replacement is expired is judged at `now`.
    fn touch_all_watched(
        &self,
        db: usize,
        emptied: &[ShardWrite<'_>],
        replaced_with: Option<&[ShardWrite<'_>]>,
        now: u64,
    ) {
        let watches = &self.events.watches;
        for key in watches.keys_in(db) {
            let d = &self.dbs[db];
            let hash = d.hash(&key);
            let shard = d.shard_of(hash);
            let find = |shards: &[ShardWrite<'_>]| {
                shards[shard]
                    .raw_entry()
                    .from_key_hashed_nocheck(hash, &key[..])
                    .map(|(node, _)| node.entry().is_expired(now))
            };
            let exists_in_emptied = find(emptied).is_some();
            let replacement = replaced_with.and_then(find);
            watches.touch_replaced(db, &key, exists_in_emptied, replacement);
        }
    }
}

/// Write locks held on a set of shards, acquired in order by [`StoreRef::lock`].
pub struct Locks<'a> {
    store: &'a Store,
    fx: &'a Scope,
    guards: Vec<((usize, usize), ShardWrite<'a>)>,
}

impl<'a> Locks<'a> {
    /// The slot of `key` in database `db`; the key must have been passed to [`StoreRef::lock`].
    pub fn slot<'s>(&'s mut self, db: usize, key: &'s [u8], now: u64) -> Slot<'s> {
        let (hash, i) = self.locate(db, key);
        Slot::new(
            self.store.db(db),
            self.fx,
            &mut self.guards[i].1,
            key,
            hash,
            now,
        )
    }

    /// `key`'s hash in database `db` and the index of its shard's guard.
    fn locate(&self, db: usize, key: &[u8]) -> (u64, usize) {
        let d = self.store.db(db);
        let hash = d.hash(key);
        let shard = d.shard_of(hash);
        let i = self
            .guards
            .binary_search_by_key(&(db, shard), |(k, _)| *k)
            .expect("key was locked by StoreRef::lock");
        (hash, i)
    }

    /// Shared access to the live entry of `key` (which must have been passed to
    /// [`StoreRef::lock`]), or `None` when it is missing or expired. Unlike [`Locks::slot`] this
    /// borrows `self` shared, so a multi-key read (SINTER, SUNION, ...) can hold several
    /// entries at once. An expired entry is only skipped here; call `slot(..).get()` first to
    /// remove it, as Redis's lookups do.
    pub fn get(&self, db: usize, key: &[u8], now: u64) -> Option<&Entry> {
        let (hash, i) = self.locate(db, key);
        let (node, _) = self.guards[i]
            .1
            .raw_entry()
            .from_key_hashed_nocheck(hash, key)?;
        let entry = node.entry();
        if entry.is_expired(now) {
            return None;
        }
        entry.touch();
        Some(entry)
    }
}
