//! MIGRATE's connection cache (Redis's `migrate_cached_sockets`): one open connection per
//! `host:port` target, with the database it last selected there, closed after
//! [`IDLE_SECS`] seconds unused and at most [`MAX_SOCKETS`] of them.
//!
//! Threading: the map is behind a mutex held only to take or return a connection, never
//! during I/O. A MIGRATE *takes* its target's connection out of the map for the duration of
//! the command and returns it afterwards (or drops it after an error, Redis's
//! `migrateCloseSocket`), so two loops never share one socket; two loops migrating to the same
//! target at once simply open a second connection, and the one returned last is kept.
//! [`MigrateSockets::len`] counts connections taken as well (INFO's `migrate_cached_sockets`).

use std::collections::HashMap;

use parking_lot::Mutex;

use crate::util::syncio::SyncConn;

/// Redis's `MIGRATE_SOCKET_CACHE_ITEMS`.
pub const MAX_SOCKETS: usize = 64;
/// Redis's `MIGRATE_SOCKET_CACHE_TTL`: a connection unused for longer is closed.
pub const IDLE_SECS: u64 = 10;

/// One cached connection.
#[derive(Debug)]
pub struct Cached {
    pub conn: SyncConn,
    /// The database last selected on the target (-1: unknown, SELECT next time).
    pub last_dbid: i64,
    /// Unix seconds of its last use.
    last_use: u64,
}

impl Cached {
    pub fn new(conn: SyncConn, now_secs: u64) -> Cached {
        Cached {
            conn,
            last_dbid: -1,
            last_use: now_secs,
        }
    }
}

#[derive(Default)]
struct Inner {
    idle: HashMap<Vec<u8>, Cached>,
    /// Connections taken out by running MIGRATEs (opened or reused).
    in_use: usize,
}

/// The cache; see the module doc.
#[derive(Default)]
pub struct MigrateSockets {
    inner: Mutex<Inner>,
}

impl MigrateSockets {
    /// Takes the cached connection to `name` (`host:port`), marking it used at `now_secs`;
    /// `None` when there is none (the caller opens one and [`MigrateSockets::opened`] it).
    pub fn take(&self, name: &[u8], now_secs: u64) -> Option<Cached> {
        let mut inner = self.inner.lock();
        let mut cached = inner.idle.remove(name)?;
        cached.last_use = now_secs;
        inner.in_use += 1;
        Some(cached)
    }

    /// Counts a connection the caller just opened as taken.
    pub fn opened(&self) {
        self.inner.lock().in_use += 1;
    }

    /// Returns a taken connection for the next MIGRATE to `name`. When the cache is full, one
    /// connection chosen at random is closed to make room.
    pub fn give_back(&self, name: &[u8], cached: Cached) {
        let evicted;
        let replaced;
        {
            let mut inner = self.inner.lock();
            inner.in_use = inner.in_use.saturating_sub(1);
            evicted = if !inner.idle.contains_key(name) && inner.idle.len() >= MAX_SOCKETS {
                use rand::seq::IteratorRandom;
                let victim = inner.idle.keys().choose(&mut rand::thread_rng()).cloned();
                victim.and_then(|k| inner.idle.remove(&k))
            } else {
                None
            };
            replaced = inner.idle.insert(name.to_vec(), cached);
        }
        // The sockets close outside the lock.
        drop((evicted, replaced));
    }

    /// Closes a taken connection (after an error: the next MIGRATE connects afresh).
    pub fn discard(&self, cached: Cached) {
        {
            let mut inner = self.inner.lock();
            inner.in_use = inner.in_use.saturating_sub(1);
        }
        drop(cached);
    }

    /// Closes the connections unused for more than [`IDLE_SECS`] (Redis's
    /// `migrateCloseTimedoutSockets`, once a second).
    pub fn close_idle(&self, now_secs: u64) {
        let stale: Vec<Cached> = {
            let mut inner = self.inner.lock();
            let keys: Vec<Vec<u8>> = inner
                .idle
                .iter()
                .filter(|(_, c)| now_secs.saturating_sub(c.last_use) > IDLE_SECS)
                .map(|(k, _)| k.clone())
                .collect();
            keys.iter().filter_map(|k| inner.idle.remove(k)).collect()
        };
        drop(stale);
    }

    /// Open connections, cached or in use.
    pub fn len(&self) -> usize {
        let inner = self.inner.lock();
        inner.idle.len() + inner.in_use
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    fn conn(listener: &TcpListener) -> SyncConn {
        let port = listener.local_addr().unwrap().port();
        SyncConn::connect(b"127.0.0.1", port, 1000).unwrap()
    }

    #[test]
    fn connections_are_reused_then_closed_when_idle() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let cache = MigrateSockets::default();
        assert!(cache.take(b"t:1", 100).is_none());
        cache.opened();
        assert_eq!(cache.len(), 1);
        let mut c = Cached::new(conn(&listener), 100);
        c.last_dbid = 3;
        cache.give_back(b"t:1", c);
        assert_eq!(cache.len(), 1);
        let c = cache.take(b"t:1", 105).unwrap();
        assert_eq!(c.last_dbid, 3);
        assert_eq!(cache.len(), 1);
        cache.give_back(b"t:1", c);
        cache.close_idle(115);
        assert_eq!(cache.len(), 1, "10 s idle is not more than 10 s");
        cache.close_idle(116);
        assert!(cache.is_empty());
    }

    #[test]
    fn discarded_connections_are_not_counted() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let cache = MigrateSockets::default();
        cache.opened();
        cache.discard(Cached::new(conn(&listener), 1));
        assert!(cache.is_empty());
    }

    #[test]
    fn a_full_cache_drops_one_to_make_room() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let cache = MigrateSockets::default();
        for i in 0..=MAX_SOCKETS {
            cache.opened();
            cache.give_back(format!("h:{i}").as_bytes(), Cached::new(conn(&listener), 1));
        }
        assert_eq!(cache.len(), MAX_SOCKETS);
    }
}
