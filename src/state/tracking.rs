//! Client-side caching (CLIENT TRACKING, default mode): Redis's `tracking.c`.
//!
//! # Layout
//! [`Tracking`] (one per server, `Shared::tracking`) keeps the tracking clients (id -> their
//! options and where they live) and the invalidation table (key -> ids of the clients that
//! read it). The store reports every modified key into the execution's scope while
//! `KeyspaceEvents::tracking` is non-zero (one relaxed load per write otherwise); the command
//! path (`commands::call`) hands them here once the command has replied, so a client's own
//! invalidations follow its reply, as Redis 7.0's pending invalidations.
//!
//! BCAST mode keeps a prefix table instead (prefix -> subscribed client ids): every modified
//! key is matched against it once the command ran, and each prefix's keys of that execution
//! go out as one invalidation array (Redis batches them per event-loop iteration; ferrokv per
//! execution, so MSET or EXEC still gives one message per prefix).
//!
//! # Locking rules
//! Both maps are leaf locks: nothing else is locked while one is held, and no message is sent
//! under them (targets are collected, the locks released, then the loops' inboxes fed).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use parking_lot::Mutex;

use crate::store::scope::Modified;

type RandomState = ahash::RandomState;

/// One tracking client's options.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tracker {
    pub home: usize,
    pub token: usize,
    /// The client invalidations are redirected to (0: none).
    pub redirect: u64,
    pub noloop: bool,
    pub optin: bool,
    pub optout: bool,
    pub bcast: bool,
    /// Set when an invalidation found the redirect client gone.
    pub broken: bool,
}

/// Where one invalidation goes: the tracking client (for the broken-redirect push), the
/// client receiving it and the keys (`None`: every key, after a flush).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalidation {
    pub tracker: u64,
    pub to: u64,
    pub keys: Option<Vec<Bytes>>,
}

/// The server-wide tracking state.
#[derive(Default)]
pub struct Tracking {
    clients: Mutex<HashMap<u64, Tracker, RandomState>>,
    table: Mutex<HashMap<Bytes, HashSet<u64, RandomState>, RandomState>>,
    /// BCAST mode: prefix -> the clients subscribed to it (in order, as Redis's rax).
    prefixes: Mutex<BTreeMap<Bytes, BTreeSet<u64>>>,
    /// `prefixes.len()`, read without the lock on every write.
    prefix_count: AtomicUsize,
}

/// One prefix's keys modified by an execution, each with whether the caller changed it last.
type PrefixKeys<'a> = BTreeMap<&'a [u8], bool>;

/// Redis's prefix overlap rule: one is a prefix of the other.
fn overlaps(a: &[u8], b: &[u8]) -> bool {
    let n = a.len().min(b.len());
    a[..n] == b[..n]
}

impl Tracking {
    pub fn new() -> Self {
        Self::default()
    }

    /// CLIENT TRACKING ON for `id`; returns the number of tracking clients.
    pub fn enable(&self, id: u64, t: Tracker) -> usize {
        let mut c = self.clients.lock();
        c.insert(id, t);
        c.len()
    }

    /// CLIENT TRACKING OFF (or the client closed); returns the number of tracking clients.
    /// Its entries in the table are dropped lazily, as Redis does; its prefixes at once.
    pub fn disable(&self, id: u64) -> usize {
        let n = {
            let mut c = self.clients.lock();
            c.remove(&id);
            c.len()
        };
        let mut p = self.prefixes.lock();
        p.retain(|_, ids| {
            ids.remove(&id);
            !ids.is_empty()
        });
        self.prefix_count.store(p.len(), Ordering::Relaxed);
        n
    }

    /// The BCAST prefixes client `id` is subscribed to, in order.
    pub fn prefixes_of(&self, id: u64) -> Vec<Bytes> {
        let p = self.prefixes.lock();
        p.iter()
            .filter(|(_, ids)| ids.contains(&id))
            .map(|(k, _)| k.clone())
            .collect()
    }

    /// Redis's `checkPrefixCollisionsOrReply`: the error for the first of `new` overlapping
    /// one of `id`'s prefixes or a later one of `new`.
    pub fn prefix_collision(&self, id: u64, new: &[Bytes]) -> Option<String> {
        let old = self.prefixes_of(id);
        for (i, p) in new.iter().enumerate() {
            if let Some(o) = old.iter().find(|o| overlaps(o, p)) {
                return Some(format!(
                    "ERR Prefix '{}' overlaps with an existing prefix '{}'. Prefixes for a single client must not overlap.",
                    String::from_utf8_lossy(p),
                    String::from_utf8_lossy(o)
                ));
            }
            if let Some(q) = new[i + 1..].iter().find(|q| overlaps(p, q)) {
                return Some(format!(
                    "ERR Prefix '{}' overlaps with another provided prefix '{}'. Prefixes for a single client must not overlap.",
                    String::from_utf8_lossy(p),
                    String::from_utf8_lossy(q)
                ));
            }
        }
        None
    }

    /// Subscribes client `id` (in BCAST mode) to `prefixes` (none: the empty prefix).
    pub fn subscribe_prefixes(&self, id: u64, prefixes: &[Bytes]) {
        let mut p = self.prefixes.lock();
        let empty = [Bytes::new()];
        let list = if prefixes.is_empty() {
            &empty[..]
        } else {
            prefixes
        };
        for prefix in list {
            p.entry(prefix.clone()).or_default().insert(id);
        }
        self.prefix_count.store(p.len(), Ordering::Relaxed);
    }

    /// Prefixes in the BCAST table (INFO `tracking_total_prefixes`).
    pub fn prefix_count(&self) -> usize {
        self.prefix_count.load(Ordering::Relaxed)
    }

    /// The BCAST invalidations for `modified` (by client `caller`): per prefix, in order, the
    /// matching keys (each once, sorted, as Redis's rax) to every subscribed client, less the
    /// keys the client itself changed when it is in NOLOOP mode.
    pub fn broadcast(&self, modified: &[Modified], caller: u64) -> Vec<Invalidation> {
        if self.prefix_count() == 0 {
            return Vec::new();
        }
        let mut out = Vec::new();
        let per_prefix: Vec<(PrefixKeys, Vec<u64>)> = {
            let p = self.prefixes.lock();
            p.iter()
                .filter_map(|(prefix, ids)| {
                    // The last change of a key decides who made it (Redis re-inserts it).
                    let mut keys = BTreeMap::new();
                    for m in modified.iter().filter(|m| m.key.starts_with(prefix)) {
                        keys.insert(&m.key[..], m.by_client);
                    }
                    (!keys.is_empty()).then(|| (keys, ids.iter().copied().collect()))
                })
                .collect()
        };
        if per_prefix.is_empty() {
            return out;
        }
        let clients = self.clients.lock();
        for (keys, ids) in per_prefix {
            for id in ids {
                let Some(t) = clients.get(&id) else { continue };
                let own = t.noloop && id == caller;
                let list: Vec<Bytes> = keys
                    .iter()
                    .filter(|(_, &by_client)| !(own && by_client))
                    .map(|(k, _)| Bytes::copy_from_slice(k))
                    .collect();
                if list.is_empty() {
                    continue;
                }
                out.push(Invalidation {
                    tracker: id,
                    to: if t.redirect != 0 { t.redirect } else { id },
                    keys: Some(list),
                });
            }
        }
        out
    }

    pub fn get(&self, id: u64) -> Option<Tracker> {
        self.clients.lock().get(&id).copied()
    }

    pub fn mark_broken(&self, id: u64) {
        if let Some(t) = self.clients.lock().get_mut(&id) {
            t.broken = true;
        }
    }

    pub fn client_count(&self) -> usize {
        self.clients.lock().len()
    }

    /// (keys, items) in the invalidation table.
    pub fn table_size(&self) -> (usize, usize) {
        let t = self.table.lock();
        (t.len(), t.values().map(HashSet::len).sum())
    }

    /// Remembers that client `id` read `keys`.
    pub fn remember<'k>(&self, id: u64, keys: impl IntoIterator<Item = &'k [u8]>) {
        let mut t = self.table.lock();
        for k in keys {
            match t.get_mut(k) {
                Some(ids) => {
                    ids.insert(id);
                }
                None => {
                    let mut ids = HashSet::default();
                    ids.insert(id);
                    t.insert(Bytes::copy_from_slice(k), ids);
                }
            }
        }
    }

    /// The invalidations `keys` being modified by client `caller` (0: none) cause; the keys
    /// leave the table.
    pub fn invalidate(&self, keys: &[Modified], caller: u64) -> Vec<Invalidation> {
        let mut hit = Vec::new();
        {
            let mut t = self.table.lock();
            if t.is_empty() {
                return Vec::new();
            }
            for k in keys {
                if let Some((key, ids)) = t.remove_entry(&k.key[..]) {
                    hit.push((key, ids));
                }
            }
        }
        if hit.is_empty() {
            return Vec::new();
        }
        let clients = self.clients.lock();
        let mut out = Vec::new();
        for (key, ids) in hit {
            let mut ids: Vec<u64> = ids.into_iter().collect();
            ids.sort_unstable();
            for id in ids {
                let Some(t) = clients.get(&id) else { continue };
                // A client now in BCAST mode is not told about keys it read before.
                if t.bcast || t.noloop && id == caller {
                    continue;
                }
                out.push(Invalidation {
                    tracker: id,
                    to: if t.redirect != 0 { t.redirect } else { id },
                    keys: Some(vec![key.clone()]),
                });
            }
        }
        out
    }

    /// Redis's `trackingLimitUsedSlots`: while the table holds more than `max` keys (0: no
    /// limit), keys leave it and their readers are told, as if the keys changed.
    pub fn evict_over(&self, max: usize) -> Vec<Invalidation> {
        if max == 0 {
            return Vec::new();
        }
        let victims: Vec<Modified> = {
            let t = self.table.lock();
            if t.len() <= max {
                return Vec::new();
            }
            t.keys()
                .take(t.len() - max)
                .map(|k| Modified {
                    key: k[..].into(),
                    by_client: false,
                })
                .collect()
        };
        self.invalidate(&victims, 0)
    }

    /// FLUSHDB/FLUSHALL: a null invalidation for every tracking client.
    pub fn flush(&self) -> Vec<Invalidation> {
        self.table.lock().clear();
        let clients = self.clients.lock();
        let mut ids: Vec<u64> = clients.keys().copied().collect();
        ids.sort_unstable();
        ids.into_iter()
            .map(|id| Invalidation {
                tracker: id,
                to: match clients[&id].redirect {
                    0 => id,
                    r => r,
                },
                keys: None,
            })
            .collect()
    }
}

/// The invalidation frame for `keys` (`None`: a null, every key): a RESP3 push, or for a RESP2
/// redirect target a Pub/Sub message on `__redis__:invalidate`.
pub fn frame(keys: Option<&[Bytes]>, resp3: bool) -> Vec<u8> {
    let mut b = Vec::with_capacity(64);
    if resp3 {
        b.extend_from_slice(b">2\r\n$10\r\ninvalidate\r\n");
    } else {
        b.extend_from_slice(b"*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n");
    }
    match keys {
        Some(keys) => {
            b.extend_from_slice(format!("*{}\r\n", keys.len()).as_bytes());
            for k in keys {
                b.extend_from_slice(format!("${}\r\n", k.len()).as_bytes());
                b.extend_from_slice(k);
                b.extend_from_slice(b"\r\n");
            }
        }
        None if resp3 => b.extend_from_slice(b"_\r\n"),
        None => b.extend_from_slice(b"*-1\r\n"),
    }
    b
}

/// The push telling a RESP3 tracking client its redirect client is gone.
pub fn broken_frame(redirect: u64) -> Vec<u8> {
    format!(">2\r\n$21\r\ntracking-redir-broken\r\n:{redirect}\r\n").into_bytes()
}

/// Sends the invalidations for the keys execution `fx` modified (run by client `caller`, 0:
/// none), once it holds no shard lock: frames for the caller itself are appended to `own`
/// (after its reply), the others go through their loops' inboxes (woken when `fx` ends).
pub fn deliver_modified(
    srv: &super::shared::Shared,
    fx: &crate::store::Scope,
    caller: u64,
    own: &mut Vec<u8>,
) {
    let keys = fx.take_invalidated();
    if keys.is_empty() {
        return;
    }
    let mut invs = srv.tracking.invalidate(&keys, caller);
    invs.extend(srv.tracking.broadcast(&keys, caller));
    deliver(srv, fx, invs, caller, own);
}

/// Enforces `tracking-table-max-keys` (after a client read keys, or the limit changed).
pub fn enforce_limit(
    srv: &super::shared::Shared,
    fx: &crate::store::Scope,
    caller: u64,
    own: &mut Vec<u8>,
) {
    let max = srv.tunables.int(crate::tunables::TRACKING_TABLE_MAX_KEYS);
    let invs = srv.tracking.evict_over(usize::try_from(max).unwrap_or(0));
    if !invs.is_empty() {
        deliver(srv, fx, invs, caller, own);
    }
}

/// Sends `invs` (see [`deliver_modified`]).
pub fn deliver(
    srv: &super::shared::Shared,
    fx: &crate::store::Scope,
    invs: Vec<Invalidation>,
    caller: u64,
    own: &mut Vec<u8>,
) {
    use std::sync::atomic::Ordering;
    for inv in invs {
        let redirected = inv.to != inv.tracker;
        let Some(to) = srv.clients.get(inv.to) else {
            // The redirect client is gone: flag it, and tell a RESP3 tracking client.
            srv.tracking.mark_broken(inv.tracker);
            if let Some(t) = srv.clients.get(inv.tracker) {
                if t.resp.load(Ordering::Relaxed) >= 3 {
                    send(srv, fx, &t, broken_frame(inv.to), caller, own);
                }
            }
            continue;
        };
        let resp3 = to.resp.load(Ordering::Relaxed) >= 3;
        if !(resp3 || redirected && to.pubsub.is_subscribed()) {
            // RESP2 has no pushes on the same connection.
            continue;
        }
        send(srv, fx, &to, frame(inv.keys.as_deref(), resp3), caller, own);
    }
}

fn send(
    srv: &super::shared::Shared,
    fx: &crate::store::Scope,
    to: &super::client::ClientInfo,
    frame: Vec<u8>,
    caller: u64,
    own: &mut Vec<u8>,
) {
    if to.id == caller {
        own.extend_from_slice(&frame);
    } else {
        srv.loops.send(
            to.home,
            super::mailbox::Msg::Push {
                token: to.token,
                id: to.id,
                frame,
            },
            fx,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(redirect: u64, noloop: bool) -> Tracker {
        Tracker {
            redirect,
            noloop,
            ..Tracker::default()
        }
    }

    #[test]
    fn invalidation_removes_key_and_targets_readers() {
        let tr = Tracking::new();
        tr.enable(1, t(0, false));
        tr.enable(2, t(9, false));
        tr.remember(1, [&b"a"[..], b"b"]);
        tr.remember(2, [&b"a"[..]]);
        assert_eq!(tr.table_size(), (2, 3));
        let inv = tr.invalidate(&[m(b"a", true)], 0);
        assert_eq!(inv.len(), 2);
        assert_eq!(inv[0].to, 1);
        assert_eq!(inv[1].to, 9);
        assert_eq!(tr.table_size(), (1, 1));
        assert!(tr.invalidate(&[m(b"a", true)], 0).is_empty());
    }

    #[test]
    fn noloop_and_disabled_clients_get_nothing() {
        let tr = Tracking::new();
        tr.enable(1, t(0, true));
        tr.remember(1, [&b"k"[..]]);
        tr.remember(3, [&b"k"[..]]);
        assert!(tr.invalidate(&[m(b"k", true)], 1).is_empty());
    }

    #[test]
    fn flush_sends_null_to_all() {
        let tr = Tracking::new();
        tr.enable(1, t(0, false));
        tr.enable(2, t(5, false));
        let inv = tr.flush();
        assert_eq!(inv.iter().map(|i| i.to).collect::<Vec<_>>(), vec![1, 5]);
        assert!(inv.iter().all(|i| i.keys.is_none()));
    }

    fn m(k: &[u8], by_client: bool) -> Modified {
        Modified {
            key: k.into(),
            by_client,
        }
    }

    #[test]
    fn broadcast_groups_keys_per_prefix_and_honours_noloop() {
        let tr = Tracking::new();
        tr.enable(
            1,
            Tracker {
                bcast: true,
                ..t(0, false)
            },
        );
        tr.enable(
            2,
            Tracker {
                bcast: true,
                ..t(7, true)
            },
        );
        tr.subscribe_prefixes(1, &[Bytes::from_static(b"a:"), Bytes::from_static(b"b:")]);
        tr.subscribe_prefixes(2, &[]);
        assert_eq!(tr.prefix_count(), 3);
        let mods = [
            m(b"b:2", true),
            m(b"a:1", true),
            m(b"c", true),
            m(b"b:1", false),
        ];
        let inv = tr.broadcast(&mods, 2);
        let got: Vec<(u64, Vec<&[u8]>)> = inv
            .iter()
            .map(|i| {
                (
                    i.to,
                    i.keys.as_ref().unwrap().iter().map(|k| &k[..]).collect(),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                (7, vec![&b"b:1"[..]]),
                (1, vec![&b"a:1"[..]]),
                (1, vec![&b"b:1"[..], b"b:2"]),
            ]
        );
        // A bcast client's reads from before are not invalidated.
        tr.remember(1, [&b"a:1"[..]]);
        assert!(tr.invalidate(&[m(b"a:1", true)], 0).is_empty());
        tr.disable(1);
        assert_eq!(tr.prefixes_of(1), Vec::<Bytes>::new());
        assert_eq!(tr.prefix_count(), 1);
    }

    #[test]
    fn prefix_collisions_as_redis() {
        let tr = Tracking::new();
        let b = |s: &'static str| Bytes::from_static(s.as_bytes());
        let e = tr.prefix_collision(1, &[b("FOOBAR"), b("FOO")]).unwrap();
        assert!(e.starts_with("ERR Prefix 'FOOBAR' overlaps with another provided prefix 'FOO'"));
        tr.subscribe_prefixes(1, &[b("FOO"), b("BAR")]);
        let e = tr.prefix_collision(1, &[b("FO")]).unwrap();
        assert!(e.starts_with("ERR Prefix 'FO' overlaps with an existing prefix 'FOO'"));
        assert!(tr.prefix_collision(1, &[b("BAZ")]).is_none());
    }

    #[test]
    fn frames() {
        assert_eq!(
            frame(Some(&[Bytes::from_static(b"k")]), true),
            b">2\r\n$10\r\ninvalidate\r\n*1\r\n$1\r\nk\r\n".to_vec()
        );
        assert_eq!(
            frame(None, true),
            b">2\r\n$10\r\ninvalidate\r\n_\r\n".to_vec()
        );
    }
}
