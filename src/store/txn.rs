//! Shard access that knows about transactions: what makes MULTI/EXEC atomic.
//!
//! EXEC write-locks, in ascending (db, shard) order (locking rule 2), every shard its queued
//! commands and watched keys may touch ([`StoreRef::lock_txn`]), then runs the commands inside
//! [`TxnLocks::run`], which makes those shards the execution's held set ([`Scope::hold`]). The
//! commands lock shards as they always do, through [`Db::write_shard`] / [`Db::read_shard`];
//! those see the scope's held set and hand out the already-held shard instead of locking it
//! again (the locks are not reentrant). So no other thread can observe a partial transaction,
//! and the commands need no transaction-specific code.
//!
//! Invariants:
//! - The held set is installed in the execution's [`Scope`] only for the duration of `run`
//!   (restored on return and on unwind), and the guards outlive it.
//! - A held shard is handed out to at most one user at a time: commands never lock a shard
//!   twice (locking rule 5), which is what makes the `&mut` handed out unique.
//! - Accessing a shard outside the held set while inside `run` locks it normally; the set is
//!   computed from the registry's key positions, and commands that may touch any key are
//!   flagged so EXEC locks everything for them.

use std::ops::{Deref, DerefMut};

use dashmap::{RwLockReadGuard, RwLockWriteGuard};

use super::{Db, Scope, Shard, StoreRef, SHARDS};

/// A write-locked shard: locked here, or held by the running transaction.
pub enum ShardWrite<'a> {
    Locked(RwLockWriteGuard<'a, Shard>),
    Held(&'a mut Shard),
}

/// A read-locked shard: locked here, or held by the running transaction.
pub enum ShardRead<'a> {
    Locked(RwLockReadGuard<'a, Shard>),
    Held(&'a Shard),
}

impl Deref for ShardWrite<'_> {
    type Target = Shard;
    fn deref(&self) -> &Shard {
        match self {
            ShardWrite::Locked(g) => g,
            ShardWrite::Held(s) => s,
        }
    }
}

impl DerefMut for ShardWrite<'_> {
    fn deref_mut(&mut self) -> &mut Shard {
        match self {
            ShardWrite::Locked(g) => g,
            ShardWrite::Held(s) => s,
        }
    }
}

impl Deref for ShardRead<'_> {
    type Target = Shard;
    fn deref(&self) -> &Shard {
        match self {
            ShardRead::Locked(g) => g,
            ShardRead::Held(s) => s,
        }
    }
}

/// The shards a running transaction holds: (db address, shard index) -> the shard, sorted.
///
/// A script's set is *growable*: a shard it reaches that is not in the set is write-locked
/// (blocking) and added, and stays locked until the script ends ([`ScriptLocks`]). Blocking
/// there cannot deadlock: one script runs at a time (the caller's rule), and every other
/// multi-shard acquisition backs off instead of waiting while it holds a shard
/// ([`super::StoreRef::lock`]), so whoever holds the shard finishes without waiting for the
/// script.
pub struct Held {
    shards: std::cell::UnsafeCell<Vec<((usize, usize), *mut Shard)>>,
    /// Locks taken while growing, unlocked by [`ScriptLocks`]'s drop.
    grown: std::cell::UnsafeCell<Vec<*const dashmap::RwLock<Shard>>>,
    growable: bool,
}

impl Held {
    fn new(shards: Vec<((usize, usize), *mut Shard)>, growable: bool) -> Held {
        Held {
            shards: std::cell::UnsafeCell::new(shards),
            grown: std::cell::UnsafeCell::new(Vec::new()),
            growable,
        }
    }
}

/// The shard of `db` the scope's running transaction holds, if any.
#[inline]
fn held(fx: &Scope, db: &Db, shard: usize) -> Option<*mut Shard> {
    let held = fx.held();
    if held.is_null() {
        return None;
    }
    held_slow(held, db, shard)
}

#[cold]
fn held_slow(held: *const Held, db: &Db, shard: usize) -> Option<*mut Shard> {
    // SAFETY: a non-null held pointer is set only by `Scope::hold`, for the duration of a
    // `TxnLocks::run` that owns the `Held` and the guards.
    let held = unsafe { &*held };
    let key = (db as *const Db as usize, shard);
    // SAFETY: the set is only touched by the thread running the execution, one call at a time
    // (no reference into the vectors escapes these two blocks).
    let shards = unsafe { &mut *held.shards.get() };
    match shards.binary_search_by_key(&key, |(k, _)| *k) {
        Ok(i) => Some(shards[i].1),
        Err(_) if !held.growable => None,
        Err(at) => {
            let lock = &db.raw_shards()[shard];
            let mut guard = lock.write();
            let p: *mut Shard = &mut *guard;
            // Kept locked until the script's `ScriptLocks` is dropped, which unlocks it.
            std::mem::forget(guard);
            shards.insert(at, (key, p));
            unsafe { &mut *held.grown.get() }.push(lock as *const _);
            Some(p)
        }
    }
}

impl Db {
    /// Write access to shard `shard`: the transaction's if it holds it, else a fresh lock.
    #[inline]
    pub(super) fn write_shard<'a>(&'a self, fx: &Scope, shard: usize) -> ShardWrite<'a> {
        match held(fx, self, shard) {
            // SAFETY: the running transaction holds this shard's write lock for longer than
            // the borrow, and hands it to one user at a time (module invariants).
            Some(p) => ShardWrite::Held(unsafe { &mut *p }),
            None => ShardWrite::Locked(self.raw_shards()[shard].write()),
        }
    }

    /// [`Db::write_shard`] without waiting: `None` when another thread holds the shard.
    #[inline]
    pub(super) fn try_write_shard<'a>(
        &'a self,
        fx: &Scope,
        shard: usize,
    ) -> Option<ShardWrite<'a>> {
        match held(fx, self, shard) {
            // SAFETY: as in `write_shard`.
            Some(p) => Some(ShardWrite::Held(unsafe { &mut *p })),
            None => self.raw_shards()[shard].try_write().map(ShardWrite::Locked),
        }
    }

    /// Read access to shard `shard`: the transaction's if it holds it, else a fresh read lock.
    #[inline]
    pub(super) fn read_shard<'a>(&'a self, fx: &Scope, shard: usize) -> ShardRead<'a> {
        match held(fx, self, shard) {
            // SAFETY: as in `write_shard`.
            Some(p) => ShardRead::Held(unsafe { &*p }),
            None => ShardRead::Locked(self.raw_shards()[shard].read()),
        }
    }
}

/// The write locks a transaction holds while EXEC runs.
pub struct TxnLocks<'a> {
    guards: Vec<RwLockWriteGuard<'a, Shard>>,
    held: Held,
    fx: &'a Scope,
}

impl<'a> StoreRef<'a> {
    /// Write-locks, in ascending (db, shard) order, the shards of `keys`, or every shard of
    /// every database when `everything` (commands that may touch any key: KEYS, FLUSHALL,
    /// SELECT, ...).
    pub fn lock_txn(&self, keys: &[(usize, &[u8])], everything: bool) -> TxnLocks<'a> {
        let store = self.store;
        let targets: Vec<(usize, usize)> = if everything {
            (0..store.len())
                .flat_map(|db| (0..SHARDS).map(move |s| (db, s)))
                .collect()
        } else {
            store.shards_of(keys)
        };
        let mut guards = super::acquire_in_order(
            &targets,
            |db, shard| store.db(db).raw_shards()[shard].try_write(),
            |db, shard| store.db(db).raw_shards()[shard].write(),
        );
        let mut shards = Vec::with_capacity(targets.len());
        for (&(db, shard), g) in targets.iter().zip(guards.iter_mut()) {
            let d = store.db(db);
            shards.push(((d as *const Db as usize, shard), &mut **g as *mut Shard));
        }
        shards.sort_unstable_by_key(|(k, _)| *k);
        TxnLocks {
            guards,
            held: Held::new(shards, false),
            fx: self.fx,
        }
    }

    /// Write-locks the shards of a script's declared `keys` (ascending order, as rule 2) and
    /// returns the script's growable held set: every other shard the script reaches is added
    /// as it goes (see [`Held`]). The caller must make sure only one script holds such a set
    /// at a time.
    pub fn lock_script(&self, keys: &[(usize, &[u8])]) -> ScriptLocks<'a> {
        let txn = self.lock_txn(keys, false);
        let TxnLocks { guards, held, fx } = txn;
        let held = Held::new(held.shards.into_inner(), true);
        ScriptLocks { guards, held, fx }
    }
}

/// The locks a running script holds: its declared keys' shards, and every shard it reached
/// since ([`Held`]). Dropping it unlocks them all.
pub struct ScriptLocks<'a> {
    guards: Vec<RwLockWriteGuard<'a, Shard>>,
    held: Held,
    fx: &'a Scope,
}

impl ScriptLocks<'_> {
    /// Runs `f` with the execution's shard accesses served from (and added to) the set.
    pub fn run<R>(&mut self, f: impl FnOnce() -> R) -> R {
        self.fx.hold(&self.held, f)
    }

    /// Shards held (declared and reached).
    pub fn len(&self) -> usize {
        // SAFETY: not running (`&mut self` is not lent to `run`'s closure).
        unsafe { &*self.held.shards.get() }.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Drop for ScriptLocks<'_> {
    fn drop(&mut self) {
        for lock in self.held.grown.get_mut().drain(..) {
            // SAFETY: each was write-locked by `held_slow` on this thread and its guard
            // forgotten; the store outlives the script.
            unsafe { (*lock).force_unlock_write() };
        }
        self.guards.clear();
    }
}

impl TxnLocks<'_> {
    /// Runs `f` with the execution's shard accesses served from the held locks.
    pub fn run<R>(&mut self, f: impl FnOnce() -> R) -> R {
        self.fx.hold(&self.held, f)
    }

    /// Number of shards held.
    pub fn len(&self) -> usize {
        self.guards.len()
    }

    pub fn is_empty(&self) -> bool {
        self.guards.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Entry, Store, StrBuf, Value};
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    fn s(v: &str) -> Entry {
        Entry::new(Value::Str(StrBuf::from_slice(v.as_bytes())), 0)
    }

    #[test]
    fn commands_inside_run_reuse_the_held_locks() {
        let store = Store::new(2);
        let fx = Scope::new(None, None);
        let store = store.with(&fx);
        let mut txn = store.lock_txn(&[(0, b"a"), (0, b"b"), (1, b"c")], false);
        txn.run(|| {
            // Single-key and multi-key paths both work without deadlocking.
            store.db(0).write(b"a", 0, |slot| slot.put(s("1")));
            let mut locks = store.lock(&[(0, b"b"), (1, b"c")]);
            locks.slot(0, b"b", 0).put(s("2"));
            locks.slot(1, b"c", 0).put(s("3"));
            drop(locks);
            assert!(store.db(0).read(b"a", 0, |_| ()).is_some());
        });
        drop(txn);
        assert!(store.db(1).read(b"c", 0, |_| ()).is_some());
    }

    #[test]
    fn everything_mode_serves_whole_db_operations() {
        let store = Store::new(2);
        let fx = Scope::new(None, None);
        let store = store.with(&fx);
        store.db(0).write(b"x", 0, |slot| slot.put(s("1")));
        let mut txn = store.lock_txn(&[], true);
        assert_eq!(txn.len(), 2 * SHARDS);
        txn.run(|| {
            assert_eq!(store.db(0).len(), 1);
            store.swap(0, 1, 0);
            assert_eq!(store.db(1).len(), 1);
            store.flush(&[1]);
        });
        drop(txn);
        assert_eq!(store.db(1).len(), 0);
    }

    /// A script holding its declared key's shard reaches an undeclared key whose shard a
    /// multi-key command took first (ordered before it) while waiting for the script's shard:
    /// the command backs off, the script gets the shard, both finish.
    #[test]
    fn a_script_reaching_undeclared_shards_never_deadlocks_with_ordered_locking() {
        let store = Arc::new(Store::new(1));
        let d = store.db(0);
        let shard = |k: &[u8]| d.shard_of(d.hash(k));
        // `low` lands in a lower shard than `high`.
        let high = b"high".to_vec();
        let low = (0..10_000)
            .map(|i| format!("low{i}").into_bytes())
            .find(|k| shard(k) < shard(&high))
            .unwrap();
        let fx = Scope::new(None, None);
        let mut script = store.with(&fx).lock_script(&[(0, &high)]);
        let started = Arc::new(AtomicBool::new(false));
        let other = {
            let (store, started, low, high) =
                (store.clone(), started.clone(), low.clone(), high.clone());
            std::thread::spawn(move || {
                let fx = Scope::new(None, None);
                started.store(true, Ordering::SeqCst);
                let mut locks = store.with(&fx).lock(&[(0, &low), (0, &high)]);
                locks.slot(0, &low, 0).put(s("other"));
            })
        };
        while !started.load(Ordering::SeqCst) {
            std::thread::yield_now();
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
        script.run(|| {
            let db = store.with(&fx).db(0);
            db.write(&high, 0, |slot| slot.put(s("script")));
            db.write(&low, 0, |slot| slot.put(s("script")));
        });
        assert_eq!(script.len(), 2, "the undeclared shard joined the set");
        drop(script);
        other.join().unwrap();
        let v = store
            .with(&fx)
            .db(0)
            .read(&low, 0, |e| e.value.as_str().unwrap().to_vec());
        assert_eq!(
            v,
            Some(b"other".to_vec()),
            "the command ran after the script"
        );
    }

    #[test]
    fn other_threads_wait_for_the_transaction() {
        let store = Arc::new(Store::new(1));
        let fx = Scope::new(None, None);
        let mut txn = store.with(&fx).lock_txn(&[(0, b"k")], false);
        let done = Arc::new(AtomicBool::new(false));
        let reader = {
            let (store, done) = (store.clone(), done.clone());
            std::thread::spawn(move || {
                let fx = Scope::new(None, None);
                let v = store
                    .with(&fx)
                    .db(0)
                    .read(b"k", 0, |e| e.value.as_str().unwrap().to_vec());
                assert!(
                    done.load(Ordering::SeqCst),
                    "read ran inside the transaction"
                );
                v
            })
        };
        txn.run(|| {
            let db = store.with(&fx).db(0);
            db.write(b"k", 0, |slot| slot.put(s("1")));
            std::thread::sleep(std::time::Duration::from_millis(50));
            db.write(b"k", 0, |slot| slot.put(s("2")));
        });
        done.store(true, Ordering::SeqCst);
        drop(txn);
        assert_eq!(reader.join().unwrap(), Some(b"2".to_vec()));
    }
}
