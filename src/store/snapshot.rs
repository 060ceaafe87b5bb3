//! Point-in-time snapshots without fork and without stopping the world: what BGSAVE (and
//! later AOF rewrites and replication's full sync) read the keyspace through.
//!
//! # The algorithm: per-key copy-on-write, one shard at a time
//! 1. **Start (a barrier of O(shards) lock acquisitions, independent of the data size).**
//!    [`StoreRef::begin_snapshot`] write-locks every shard of every database in ascending
//!    (db, shard) order — the same order as multi-key commands and EXEC, so it waits for any
//!    transaction in flight and none can straddle it — marks every shard *pending*, notes the
//!    instant `T` (Unix ms, for expiry) and each database's key count, and releases the locks.
//!    The snapshot is the dataset as it was at that instant.
//! 2. **Writers preserve before they change.** Every change to a key goes through a
//!    [`Slot`](super::Slot), made under the shard's write lock. When the shard is still
//!    pending, [`Db::preserve`] first records the key's value as it was at `T` (a clone of
//!    the entry, or "absent" when the key did not exist or had expired by `T`) in the shard's
//!    side table — once per key: later writes to the same key find it recorded. Whole-shard
//!    changes do the same for each key they touch: the expiry sweep for the keys it removes,
//!    FLUSHDB/FLUSHALL by *moving* the emptied entries into the side table (no copy), SWAPDB
//!    by cloning (rare). Shards already dumped are not pending: writes there cost one relaxed
//!    load.
//! 3. **The dumper visits each shard once**, in order ([`StoreRef::dump_shard`]): under the
//!    shard's *read* lock it takes the side table, clears the pending flag, and hands the
//!    caller every live-at-`T` entry: the table's keys that have no side-table record (they
//!    are unchanged since `T`), then the side table's recorded values. Readers of that shard
//!    carry on meanwhile (read locks share); writers to it wait for one shard's worth of
//!    encoding. The caller must only encode under the lock — no I/O.
//! 4. **End.** [`StoreRef::end_snapshot`] clears what is left (an aborted dump) and the
//!    active flag.
//!
//! Extra memory is the pre-images of keys written in shards not yet dumped — at most one copy
//! per key, usually far less — never a copy of the dataset.
//!
//! # Locking rules
//! - The pending flags and side tables of a shard are only read or written with that shard's
//!   lock held: written under its write lock (writers), taken under its read lock (the dumper,
//!   which excludes writers). The side table's own mutex is therefore never contended; it exists
//!   to make the shared access sound.
//! - `begin_snapshot` takes every shard lock in the global order and nothing else; it must not
//!   run while the calling thread holds a shard lock outside a transaction (inside EXEC the
//!   transaction's held shards are reused, as for FLUSHALL).
//! - One snapshot at a time (the caller serializes BGSAVEs).

use std::sync::atomic::{AtomicBool, Ordering};

use parking_lot::Mutex;

use super::db::Db;
use super::node::KeyBuf;
use super::{Entry, Shard, StoreRef, SHARDS};

/// Value at `T` of each key changed since: `None` = the key was absent (or expired) at `T`.
type Preserved = hashbrown::HashMap<KeyBuf, Option<Entry>>;

/// One database's copy-on-write state.
pub(super) struct DbCow {
    /// Whether any shard of this database may be pending (fast path for writers).
    active: AtomicBool,
    /// The snapshot instant (Unix ms), for judging expiry at `T`.
    at: std::sync::atomic::AtomicU64,
    shards: Box<[ShardCow]>,
}

#[derive(Default)]
struct ShardCow {
    pending: AtomicBool,
    preserved: Mutex<Side>,
}

/// A pending shard's side table.
#[derive(Default)]
struct Side {
    keys: Preserved,
    /// The live table was emptied or exchanged (FLUSHDB, SWAPDB) after every key of it was
    /// recorded: the snapshot of this shard is the side table alone.
    replaced: bool,
}

impl DbCow {
    pub(super) fn new() -> Self {
        DbCow {
            active: AtomicBool::new(false),
            at: std::sync::atomic::AtomicU64::new(0),
            shards: (0..SHARDS).map(|_| ShardCow::default()).collect(),
        }
    }

    /// Whether shard `s` is waiting for the dumper (call with the shard's lock held).
    #[inline(always)]
    fn pending(&self, s: usize) -> bool {
        self.active.load(Ordering::Relaxed) && self.shards[s].pending.load(Ordering::Relaxed)
    }

    fn at(&self) -> u64 {
        self.at.load(Ordering::Relaxed)
    }
}

/// The value of an entry at instant `at`: `None` when it had expired by then.
fn live_at(entry: &Entry, at: u64) -> Option<&Entry> {
    (!entry.is_expired(at)).then_some(entry)
}

impl Db {
    /// Copy-on-write hook for a change to `key` (hash `hash`) in shard `s`, called under the
    /// shard's write lock before anything changes (see the module doc, step 2).
    #[inline(always)]
    pub(super) fn preserve(&self, shard: &Shard, s: usize, key: &[u8], hash: u64) {
        if self.cow.pending(s) {
            self.preserve_slow(shard, s, key, hash);
        }
    }

    #[cold]
    #[inline(never)]
    fn preserve_slow(&self, shard: &Shard, s: usize, key: &[u8], hash: u64) {
        let mut side = self.cow.shards[s].preserved.lock();
        if side.replaced || side.keys.contains_key(key) {
            return;
        }
        let at = self.cow.at();
        let before = shard
            .raw_entry()
            .from_key_hashed_nocheck(hash, key)
            .and_then(|(node, _)| live_at(node.entry(), at))
            .cloned();
        side.keys.insert(KeyBuf::from_slice(key), before);
    }

    /// The expiry sweep is about to remove `key` with `entry` from pending shard `s`.
    pub(super) fn preserve_removed(&self, s: usize, key: &[u8], entry: &Entry) {
        if self.cow.pending(s) {
            let at = self.cow.at();
            let mut side = self.cow.shards[s].preserved.lock();
            if !side.replaced {
                side.keys
                    .entry(KeyBuf::from_slice(key))
                    .or_insert_with(|| live_at(entry, at).cloned());
            }
        }
    }

    /// Whole-shard change to pending shard `s` (FLUSHDB, SWAPDB): records every key of
    /// `shard` not yet recorded, and from then on the side table alone is this shard's
    /// snapshot. With `take` the entries are moved out of `shard` (which is being emptied);
    /// otherwise they are cloned (the table moves to another database).
    pub(super) fn preserve_all(&self, s: usize, shard: &mut Shard, take: bool) {
        if !self.cow.pending(s) {
            return;
        }
        let at = self.cow.at();
        let mut side = self.cow.shards[s].preserved.lock();
        if side.replaced {
            return;
        }
        side.replaced = true;
        let preserved = &mut side.keys;
        if take {
            for (node, _) in shard.drain() {
                if !preserved.contains_key(node.key()) {
                    let key = KeyBuf::from_slice(node.key());
                    let entry = node.into_entry();
                    preserved.insert(key, (!entry.is_expired(at)).then_some(entry));
                }
            }
        } else {
            for node in shard.keys() {
                if !preserved.contains_key(node.key()) {
                    preserved.insert(
                        KeyBuf::from_slice(node.key()),
                        live_at(node.entry(), at).cloned(),
                    );
                }
            }
        }
    }
}

/// What [`StoreRef::begin_snapshot`] saw at the snapshot instant.
#[derive(Debug, Clone)]
pub struct SnapshotStart {
    /// The instant `T` (Unix ms).
    pub at: u64,
    /// Keys per database at `T` (including not yet removed expired ones), a size hint.
    pub keys: Vec<u64>,
    /// The propagation ticket taken at the instant (0: none asked): every unit ordered before
    /// it is in the snapshot, every unit after it is not.
    pub cut: u64,
}

impl StoreRef<'_> {
    /// Starts a snapshot of every database at this instant (module doc, step 1).
    pub fn begin_snapshot(&self, now_ms: u64) -> SnapshotStart {
        self.begin_snapshot_cut(now_ms, None)
    }

    /// [`StoreRef::begin_snapshot`] that also cuts the propagation stream at the instant:
    /// with `cut = Some(seq)`, `seq` is switched on and a ticket taken under every lock (see
    /// [`super::sequence`]). The caller must complete that ticket ([`SnapshotStart::cut`]).
    pub fn begin_snapshot_cut(
        &self,
        now_ms: u64,
        cut: Option<&super::sequence::Sequencer>,
    ) -> SnapshotStart {
        let dbs: Vec<usize> = (0..self.len()).collect();
        let guards = self.lock_all(&dbs);
        let cut = cut.map_or(0, |seq| {
            seq.set_enabled(true);
            seq.ticket()
        });
        let mut keys = vec![0u64; dbs.len()];
        for (i, g) in guards.iter().enumerate() {
            keys[i / SHARDS] += g.len() as u64;
        }
        for db in &dbs {
            let cow = &self.store.db(*db).cow;
            cow.at.store(now_ms, Ordering::Relaxed);
            for s in cow.shards.iter() {
                s.pending.store(true, Ordering::Relaxed);
            }
            cow.active.store(true, Ordering::Relaxed);
        }
        drop(guards);
        SnapshotStart {
            at: now_ms,
            keys,
            cut,
        }
    }

    /// Dumps shard `s` of database `db` (module doc, step 3): calls `emit` with every entry
    /// live at the snapshot instant, under the shard's read lock. `emit` must not block or do
    /// I/O.
    pub fn dump_shard(&self, db: usize, s: usize, mut emit: impl FnMut(&[u8], &Entry)) {
        let d = self.store.db(db);
        let at = d.cow.at();
        let shard = d.read_shard(self.fx, s);
        let cow = &d.cow.shards[s];
        let side = std::mem::take(&mut *cow.preserved.lock());
        let preserved = side.keys;
        cow.pending.store(false, Ordering::Relaxed);
        let live = if side.replaced { None } else { Some(&*shard) };
        for node in live.into_iter().flat_map(|t| t.keys()) {
            if !preserved.contains_key(node.key()) {
                if let Some(e) = live_at(node.entry(), at) {
                    emit(node.key(), e);
                }
            }
        }
        drop(shard);
        // The side table is this dump's own now: no lock needed to walk it.
        for (key, entry) in &preserved {
            if let Some(e) = entry {
                emit(key, e);
            }
        }
    }

    /// Ends the snapshot: clears every pending flag and side table left (an aborted dump).
    pub fn end_snapshot(&self) {
        for db in 0..self.len() {
            let d = self.store.db(db);
            d.cow.active.store(false, Ordering::Relaxed);
            for s in 0..SHARDS {
                let shard = d.read_shard(self.fx, s);
                let cow = &d.cow.shards[s];
                cow.pending.store(false, Ordering::Relaxed);
                let left = std::mem::take(&mut *cow.preserved.lock());
                drop(shard);
                drop(left);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::store::{Entry, Scope, Store, StrBuf, Value};
    use std::collections::BTreeMap;

    fn s(v: &str, ttl: u64) -> Entry {
        Entry::new(Value::Str(StrBuf::from_slice(v.as_bytes())), ttl)
    }

    fn dump(store: &Store, fx: &Scope) -> BTreeMap<(usize, Vec<u8>), Vec<u8>> {
        let mut out = BTreeMap::new();
        let st = store.with(fx);
        for db in 0..store.len() {
            for sh in 0..super::SHARDS {
                st.dump_shard(db, sh, |k, e| {
                    let v = e.value.as_str().unwrap().to_vec();
                    assert!(
                        out.insert((db, k.to_vec()), v).is_none(),
                        "key emitted twice"
                    );
                });
            }
        }
        st.end_snapshot();
        out
    }

    #[test]
    fn the_snapshot_is_the_dataset_at_its_start() {
        let store = Store::new(2);
        let fx = Scope::new(None, None);
        let st = store.with(&fx);
        for i in 0..2000 {
            st.db(0)
                .write(format!("k{i}").as_bytes(), 0, |slot| slot.put(s("old", 0)));
        }
        st.db(0).write(b"ttl-soon", 0, |slot| slot.put(s("v", 150)));
        st.db(0).write(b"expired", 0, |slot| slot.put(s("v", 50)));
        st.db(1).write(b"d1", 0, |slot| slot.put(s("one", 0)));
        let start = st.begin_snapshot(100);
        assert_eq!(start.keys, vec![2002, 1]);
        // Changes after the instant: overwrite, delete, create, expire, flush, swap.
        for i in 0..1000 {
            st.db(0).write(format!("k{i}").as_bytes(), 200, |slot| {
                slot.put(s("new", 0))
            });
        }
        st.db(0).write(b"k1500", 200, |slot| slot.remove());
        st.db(0).write(b"created", 200, |slot| slot.put(s("x", 0)));
        assert_eq!(st.db(0).expire_cycle(200, super::SHARDS), 2);
        st.flush(&[1]);
        st.swap(0, 1, 200);
        let snap = dump(&store, &fx);
        assert_eq!(snap.len(), 2002);
        assert!(snap.iter().all(|((db, k), v)| {
            (*db == 0 && (v == b"old" || k == b"ttl-soon")) || (*db == 1 && v == b"one")
        }));
        assert!(!snap.contains_key(&(0, b"expired".to_vec())));
        assert!(!snap.contains_key(&(0, b"created".to_vec())));
        // After the snapshot, writes no longer preserve anything, and a second one works.
        st.db(1).write(b"k1", 300, |slot| slot.put(s("later", 0)));
        st.begin_snapshot(300);
        let snap = dump(&store, &fx);
        assert_eq!(snap.get(&(1, b"k1".to_vec())).unwrap(), b"later");
    }

    #[test]
    fn transactions_never_straddle_the_instant() {
        use std::sync::Arc;
        let store = Arc::new(Store::new(1));
        let keys: Vec<Vec<u8>> = (0..64).map(|i| format!("acct{i}").into_bytes()).collect();
        {
            let fx = Scope::new(None, None);
            for k in &keys {
                store
                    .with(&fx)
                    .db(0)
                    .write(k, 0, |slot| slot.put(s("100", 0)));
            }
        }
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let workers: Vec<_> = (0..2)
            .map(|t| {
                let (store, keys, stop) = (store.clone(), keys.clone(), stop.clone());
                std::thread::spawn(move || {
                    let mut i = t;
                    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                        // Move 1 from one account to another atomically (ordered locks).
                        let (a, b) = (&keys[i % 64], &keys[(i * 7 + 3) % 64]);
                        i += 1;
                        if a == b {
                            continue;
                        }
                        let fx = Scope::new(None, None);
                        let st = store.with(&fx);
                        let mut locks = st.lock(&[(0, a), (0, b)]);
                        for (k, d) in [(a, -1i64), (b, 1)] {
                            let mut slot = locks.slot(0, k, 0);
                            let e = slot.get().unwrap();
                            let v: i64 = std::str::from_utf8(e.value.as_str().unwrap())
                                .unwrap()
                                .parse()
                                .unwrap();
                            e.value =
                                Value::Str(StrBuf::from_slice((v + d).to_string().as_bytes()));
                        }
                    }
                })
            })
            .collect();
        for _ in 0..20 {
            let fx = Scope::new(None, None);
            store.with(&fx).begin_snapshot(1);
            let total: i64 = dump(&store, &fx)
                .values()
                .map(|v| std::str::from_utf8(v).unwrap().parse::<i64>().unwrap())
                .sum();
            assert_eq!(total, 6400, "a transfer was torn by the snapshot");
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        for w in workers {
            w.join().unwrap();
        }
    }
}
