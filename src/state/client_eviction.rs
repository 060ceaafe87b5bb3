//! Client eviction (`maxmemory-clients`, Redis 7): the memory connections hold in their buffers
//! is counted, and when it reaches the limit the largest clients are closed, as Redis's
//! `evictClients`.
//!
//! Accounting: a connection's footprint (pending input, pending output and a fixed base, the
//! figure CLIENT LIST prints as `tot-mem`) is published in its [`ClientInfo::mem`] by its own
//! loop, only when it moved by [`GRANULE`] or more. Every change is a swap of that value followed by adding the
//! difference to the process-wide total, so the total is always the sum of the published
//! values whoever changes them (no drift). A client chosen for eviction has its value zeroed by
//! the evictor at once, so a check made before its loop closes it does not count it again;
//! its loop stops publishing for it once it is marked killed.
//!
//! Eviction: when the total is at or over the limit, the largest evictable clients go first
//! (not CLIENT NO-EVICT, not already being killed) until the total is under it; each one is
//! closed by its own loop through its inbox, like CLIENT KILL. One thread evicts at a time;
//! another that finds the evictor busy leaves the work to it. Like Redis, every normal and
//! Pub/Sub client counts toward the total, NO-EVICT ones included.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use parking_lot::Mutex;

use super::client::ClientInfo;
use super::mailbox::Msg;
use super::Shared;

/// The smallest effective limit: Redis's guard against a configuration that would leave no
/// client able to talk to the server.
const MIN_LIMIT: usize = 128 * 1024;

/// The fixed part of every client's footprint (Redis's 16 KiB static reply buffer), as
/// CLIENT LIST's `tot-mem`.
pub const CLIENT_BASE: usize = 16 * 1024;

/// A connection republishes its footprint only when it moved by this much since the last
/// publication, so the request path of ordinary clients never touches the shared total; the
/// total is exact to within this per client.
pub const GRANULE: usize = 8 * 1024;

/// The process-wide client memory figures.
#[derive(Default)]
pub struct ClientMemory {
    total: AtomicUsize,
    /// INFO `evicted_clients`.
    evicted: AtomicU64,
    evicting: Mutex<()>,
}

impl ClientMemory {
    /// Publishes `bytes` as the footprint of `info`'s connection; returns the new total.
    pub fn publish(&self, info: &ClientInfo, bytes: usize) -> usize {
        let old = info.mem.swap(bytes, Ordering::AcqRel);
        if bytes >= old {
            self.total.fetch_add(bytes - old, Ordering::AcqRel) + (bytes - old)
        } else {
            self.total.fetch_sub(old - bytes, Ordering::AcqRel) - (old - bytes)
        }
    }

    /// The memory all clients hold (INFO `mem_clients_normal`).
    pub fn total(&self) -> usize {
        self.total.load(Ordering::Acquire)
    }

    /// Clients evicted since start (INFO `evicted_clients`).
    pub fn evicted(&self) -> u64 {
        self.evicted.load(Ordering::Relaxed)
    }
}

/// The effective `maxmemory-clients` in bytes (a percentage is of `maxmemory`), or 0 when
/// client eviction is off. Redis's `getClientEvictionLimit`.
pub fn limit(srv: &Shared) -> usize {
    let configured = srv.tunables.int(crate::tunables::MAXMEMORY_CLIENTS);
    let maxmemory = srv.memory.maxmemory.load(Ordering::Relaxed);
    let bytes = if configured < 0 {
        if maxmemory == 0 {
            return 0;
        }
        (maxmemory as f64 * -(configured as f64) / 100.0) as usize
    } else if configured > 0 {
        configured as usize
    } else {
        return 0;
    };
    bytes.max(MIN_LIMIT)
}

/// Evicts clients, largest first, while the total is at or over the limit. `send` delivers
/// the kill to a client's loop. Returns how many clients were evicted.
pub fn evict(srv: &Shared, send: &dyn Fn(usize, Msg)) -> usize {
    let limit = limit(srv);
    let mem = &srv.client_memory;
    if limit == 0 || mem.total() < limit {
        return 0;
    }
    let Some(_evicting) = mem.evicting.try_lock() else {
        return 0;
    };
    let mut candidates: Vec<_> = srv
        .clients
        .snapshot()
        .into_iter()
        .filter(|c| !c.no_evict.load(Ordering::Relaxed) && !c.killed.load(Ordering::Relaxed))
        .map(|c| (c.mem.load(Ordering::Relaxed), c))
        .collect();
    candidates.sort_by_key(|c| std::cmp::Reverse(c.0));
    let mut evicted = 0;
    for (_, info) in candidates {
        if mem.total() < limit {
            break;
        }
        if info.killed.swap(true, Ordering::AcqRel) {
            continue;
        }
        tracing::info!(
            client = info.id,
            addr = %info.addr(),
            bytes = info.mem.load(Ordering::Relaxed),
            "evicting client (maxmemory-clients)"
        );
        mem.publish(&info, 0);
        mem.evicted.fetch_add(1, Ordering::Relaxed);
        send(
            info.home,
            Msg::Kill {
                token: info.token,
                id: info.id,
            },
        );
        evicted += 1;
    }
    if mem.total() >= limit {
        tracing::warn!("over client maxmemory after evicting all evictable clients");
    }
    evicted
}
