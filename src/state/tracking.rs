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
//! # Locking rules
//! Both maps are leaf locks: nothing else is locked while one is held, and no message is sent
//! under them (targets are collected, the locks released, then the loops' inboxes fed).

use std::collections::{HashMap, HashSet};

use bytes::Bytes;
use parking_lot::Mutex;

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
    /// Set when an invalidation found the redirect client gone.
    pub broken: bool,
}

/// Where one invalidation goes: the tracking client (for the broken-redirect push), the
/// client receiving it and the key (`None`: every key, after a flush).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalidation {
    pub tracker: u64,
    pub to: u64,
    pub key: Option<Bytes>,
}

/// The server-wide tracking state.
#[derive(Default)]
pub struct Tracking {
    clients: Mutex<HashMap<u64, Tracker, RandomState>>,
    table: Mutex<HashMap<Bytes, HashSet<u64, RandomState>, RandomState>>,
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
    /// Its entries in the table are dropped lazily, as Redis does.
    pub fn disable(&self, id: u64) -> usize {
        let mut c = self.clients.lock();
        c.remove(&id);
        c.len()
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
    pub fn invalidate(&self, keys: &[Box<[u8]>], caller: u64) -> Vec<Invalidation> {
        let mut hit = Vec::new();
        {
            let mut t = self.table.lock();
            for k in keys {
                if let Some((key, ids)) = t.remove_entry(&k[..]) {
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
                if t.noloop && id == caller {
                    continue;
                }
                out.push(Invalidation {
                    tracker: id,
                    to: if t.redirect != 0 { t.redirect } else { id },
                    key: Some(key.clone()),
                });
            }
        }
        out
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
                key: None,
            })
            .collect()
    }
}

/// The invalidation frame for `key` (`None`: a null, every key), RESP2 shape: RESP3 receivers
/// turn the leading `*` into `>`; RESP2 redirect targets get it as a Pub/Sub message.
pub fn frame(key: Option<&[u8]>, resp3: bool) -> Vec<u8> {
    let mut b = Vec::with_capacity(64);
    if resp3 {
        b.extend_from_slice(b">2\r\n$10\r\ninvalidate\r\n");
    } else {
        b.extend_from_slice(b"*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n");
    }
    match key {
        Some(k) => {
            b.extend_from_slice(b"*1\r\n$");
            b.extend_from_slice(k.len().to_string().as_bytes());
            b.extend_from_slice(b"\r\n");
            b.extend_from_slice(k);
            b.extend_from_slice(b"\r\n");
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
    let invs = srv.tracking.invalidate(&keys, caller);
    deliver(srv, fx, invs, caller, own);
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
        send(srv, fx, &to, frame(inv.key.as_deref(), resp3), caller, own);
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
        let inv = tr.invalidate(&[b"a".to_vec().into_boxed_slice()], 0);
        assert_eq!(inv.len(), 2);
        assert_eq!(inv[0].to, 1);
        assert_eq!(inv[1].to, 9);
        assert_eq!(tr.table_size(), (1, 1));
        assert!(tr
            .invalidate(&[b"a".to_vec().into_boxed_slice()], 0)
            .is_empty());
    }

    #[test]
    fn noloop_and_disabled_clients_get_nothing() {
        let tr = Tracking::new();
        tr.enable(1, t(0, true));
        tr.remember(1, [&b"k"[..]]);
        tr.remember(3, [&b"k"[..]]);
        assert!(tr
            .invalidate(&[b"k".to_vec().into_boxed_slice()], 1)
            .is_empty());
    }

    #[test]
    fn flush_sends_null_to_all() {
        let tr = Tracking::new();
        tr.enable(1, t(0, false));
        tr.enable(2, t(5, false));
        let inv = tr.flush();
        assert_eq!(inv.iter().map(|i| i.to).collect::<Vec<_>>(), vec![1, 5]);
        assert!(inv.iter().all(|i| i.key.is_none()));
    }

    #[test]
    fn frames() {
        assert_eq!(
            frame(Some(b"k"), true),
            b">2\r\n$10\r\ninvalidate\r\n*1\r\n$1\r\nk\r\n".to_vec()
        );
        assert_eq!(
            frame(None, true),
            b">2\r\n$10\r\ninvalidate\r\n_\r\n".to_vec()
        );
    }
}
