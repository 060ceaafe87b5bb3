//! One database: shard selection, single-key access, iteration (KEYS/SCAN/RANDOMKEY) and the
//! active-expiry sweep. Locking rules are in the parent module doc.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use ahash::RandomState;
use bytes::Bytes;
use dashmap::{DashMap, RwLockWriteGuard, SharedValue};
use hashbrown::hash_map::RawEntryMut;

use super::{Entry, Shard, SHARDS};

pub struct Db {
    map: DashMap<Bytes, Entry, RandomState>,
    /// Set whenever a TTL may have been stored since the last sweep; the sweeper skips
    /// databases where it is clear.
    maybe_volatile: AtomicBool,
    /// Where the next expiry cycle resumes (shard index).
    sweep_cursor: AtomicUsize,
}

impl Db {
    pub(super) fn new(hasher: RandomState) -> Self {
        Db {
            map: DashMap::with_hasher_and_shard_amount(hasher, SHARDS),
            maybe_volatile: AtomicBool::new(false),
            sweep_cursor: AtomicUsize::new(0),
        }
    }

    #[inline]
    pub fn hash(&self, key: &[u8]) -> u64 {
        self.map.hasher().hash_one(key) as u64
    }

    #[inline]
    pub fn shard_of(&self, hash: u64) -> usize {
        self.map.determine_shard(hash as usize)
    }

    pub(super) fn lock_shard(&self, shard: usize) -> RwLockWriteGuard<'_, Shard> {
        self.map.shards()[shard].write()
    }

    /// Call after storing a TTL so the expiry thread visits this database.
    #[inline]
    pub fn mark_volatile(&self) {
        if !self.maybe_volatile.load(Ordering::Relaxed) {
            self.maybe_volatile.store(true, Ordering::Relaxed);
        }
    }

    /// Runs `f` on the live entry for `key` under the shard's read lock.
    /// Returns `None` when the key is missing or expired (an expired key is then removed).
    #[inline]
    pub fn read<R>(&self, key: &[u8], now: u64, f: impl FnOnce(&Entry) -> R) -> Option<R> {
        let hash = self.hash(key);
        let shard = &self.map.shards()[self.shard_of(hash)];
        let expired = {
            let guard = shard.read();
            match guard.raw_entry().from_key_hashed_nocheck(hash, key) {
                None => return None,
                Some((_, v)) => {
                    let entry = v.get();
                    if !entry.is_expired(now) {
                        entry.touch();
                        return Some(f(entry));
                    }
                    true
                }
            }
        };
        if expired {
            self.write(key, now, |slot| {
                slot.get();
            });
        }
        None
    }

    /// Runs `f` with write access to `key`'s slot under its shard's write lock.
    #[inline]
    pub fn write<R>(&self, key: &[u8], now: u64, f: impl FnOnce(&mut Slot<'_>) -> R) -> R {
        let hash = self.hash(key);
        let mut guard = self.lock_shard(self.shard_of(hash));
        let mut slot = Slot::new(self, &mut guard, key, hash, now);
        f(&mut slot)
    }

    /// Number of keys (including not-yet-swept expired ones, as Redis's DBSIZE).
    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `(keys, keys with a TTL)` for INFO keyspace; walks every shard under its read lock.
    pub fn counts(&self) -> (usize, usize) {
        let mut keys = 0;
        let mut volatile = 0;
        for shard in self.map.shards() {
            let g = shard.read();
            keys += g.len();
            volatile += g.values().filter(|v| v.get().is_volatile()).count();
        }
        (keys, volatile)
    }

    /// Calls `f` for every live key, one shard at a time (each under its read lock).
    pub fn for_each_key(&self, now: u64, mut f: impl FnMut(&Bytes, &Entry)) {
        for shard in self.map.shards() {
            let g = shard.read();
            for (k, v) in g.iter() {
                if !v.get().is_expired(now) {
                    f(k, v.get());
                }
            }
        }
    }

    /// A random live key, or `None` when the database is empty.
    pub fn random_key(&self, now: u64) -> Option<Bytes> {
        use rand::Rng;
        let mut rng = rand::thread_rng();
        // Sample a few random shards first (cheap when the db is dense), then fall back to a
        // full ordered walk so a sparse db still finds its key.
        for _ in 0..16 {
            let g = self.map.shards()[rng.gen_range(0..SHARDS)].read();
            if g.is_empty() {
                continue;
            }
            let live: Vec<&Bytes> = g
                .iter()
                .filter(|(_, v)| !v.get().is_expired(now))
                .map(|(k, _)| k)
                .collect();
            if !live.is_empty() {
                return Some(live[rng.gen_range(0..live.len())].clone());
            }
        }
        let start = rng.gen_range(0..SHARDS);
        for i in 0..SHARDS {
            let g = self.map.shards()[(start + i) % SHARDS].read();
            let live: Vec<&Bytes> = g
                .iter()
                .filter(|(_, v)| !v.get().is_expired(now))
                .map(|(k, _)| k)
                .collect();
            if !live.is_empty() {
                return Some(live[rng.gen_range(0..live.len())].clone());
            }
        }
        None
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
    pub fn scan(
        &self,
        cursor: u64,
        count: usize,
        now: u64,
        mut keep: impl FnMut(&Bytes, &Entry) -> bool,
    ) -> (u64, Vec<Bytes>) {
        let count = count.max(1);
        let mut shard = (cursor >> 32) as usize;
        let mut low = cursor & 0xffff_ffff;
        let mut out = Vec::new();
        let mut visited = 0usize;
        while shard < SHARDS && visited < count {
            let g = self.map.shards()[shard].read();
            let len = g.len().max(1) as u64;
            let want = (count as u64).max(len / 8).max(1);
            // Range width in the 2^32 space so that ~`want` of `len` keys fall inside.
            let width = ((1u64 << 32) * want / len).max(1);
            let high = (low + width).min(1 << 32);
            for (k, v) in g.iter() {
                let h = self.hash(k) & 0xffff_ffff;
                if h >= low && h < high {
                    visited += 1;
                    let e = v.get();
                    if !e.is_expired(now) && keep(k, e) {
                        out.push(k.clone());
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

    /// Sweeps expired keys from up to `shards` shards, resuming where the last call stopped.
    /// Returns the number of keys removed. Each shard is locked only while it is swept.
    pub fn expire_cycle(&self, now: u64, shards: usize) -> usize {
        let mut removed = 0;
        let start = self.sweep_cursor.load(Ordering::Relaxed);
        if start == 0 && !self.maybe_volatile.swap(false, Ordering::Relaxed) {
            return 0;
        }
        let end = (start + shards).min(SHARDS);
        let mut any_volatile = false;
        for s in start..end {
            let mut g = self.lock_shard(s);
            let before = g.len();
            g.retain(|_, v| {
                let e = v.get();
                any_volatile |= e.is_volatile() && !e.is_expired(now);
                !e.is_expired(now)
            });
            let n = before - g.len();
            removed += n;
            if n > 0 && g.capacity() > 64 && g.len() * 4 < g.capacity() {
                g.shrink_to_fit();
            }
        }
        if any_volatile {
            self.mark_volatile();
        }
        self.sweep_cursor
            .store(if end >= SHARDS { 0 } else { end }, Ordering::Relaxed);
        if end < SHARDS {
            // Mid-sweep: keep the flag set so the next cycle continues.
            self.mark_volatile();
        }
        removed
    }
}

/// Write access to one key inside a write-locked shard.
pub struct Slot<'a> {
    db: &'a Db,
    shard: &'a mut Shard,
    key: &'a [u8],
    hash: u64,
    now: u64,
}

impl<'a> Slot<'a> {
    pub(super) fn new(db: &'a Db, shard: &'a mut Shard, key: &'a [u8], hash: u64, now: u64) -> Self {
        Slot {
            db,
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
                if o.get().get().is_expired(self.now) {
                    o.remove();
                    None
                } else {
                    let e = o.into_mut().get_mut();
                    e.touch();
                    Some(e)
                }
            }
        }
    }

    pub fn exists(&mut self) -> bool {
        self.get().is_some()
    }

    /// Stores `entry`, returning the previous live entry. The key is copied on first insert
    /// (request buffers are never retained by the store).
    pub fn put(&mut self, entry: Entry) -> Option<Entry> {
        if entry.is_volatile() {
            self.db.mark_volatile();
        }
        let now = self.now;
        match self
            .shard
            .raw_entry_mut()
            .from_key_hashed_nocheck(self.hash, self.key)
        {
            RawEntryMut::Occupied(mut o) => {
                let old = std::mem::replace(o.get_mut().get_mut(), entry);
                (!old.is_expired(now)).then_some(old)
            }
            RawEntryMut::Vacant(v) => {
                v.insert_hashed_nocheck(
                    self.hash,
                    Bytes::copy_from_slice(self.key),
                    SharedValue::new(entry),
                );
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
                let (_, v) = o.remove_entry();
                let e = v.into_inner();
                (!e.is_expired(self.now)).then_some(e)
            }
        }
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
    use crate::store::{Store, Value};

    fn s(v: &str) -> Entry {
        Entry::new(Value::Str(Bytes::copy_from_slice(v.as_bytes())), 0)
    }

    #[test]
    fn put_get_remove_and_lazy_expiry() {
        let store = Store::new(1);
        let db = store.db(0);
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
        let db = store.db(0);
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
        let db = store.db(0);
        for i in 0..10_000 {
            db.write(format!("k{i}").as_bytes(), 0, |slot| {
                slot.put(Entry::new(Value::Str(Bytes::from_static(b"v")), 10))
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
    fn multi_key_locks_are_ordered_and_deduplicated() {
        let store = Store::new(2);
        let keys: Vec<(usize, &[u8])> = vec![(1, b"x"), (0, b"y"), (0, b"y"), (1, b"z")];
        let mut locks = store.lock(&keys);
        locks.slot(0, b"y", 0).put(s("1"));
        locks.slot(1, b"x", 0).put(s("2"));
        drop(locks);
        assert!(store.db(0).read(b"y", 0, |_| ()).is_some());
        store.swap(0, 1);
        assert!(store.db(1).read(b"y", 0, |_| ()).is_some());
        assert!(store.db(0).read(b"x", 0, |_| ()).is_some());
    }
}
