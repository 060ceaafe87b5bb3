//! The ACL log (ACL LOG): recent refusals, newest first, similar ones folded into one entry
//! with a count (Redis's `addACLLogEntry`: same reason, context, object and user within 60 s,
//! looking at the 10 newest entries), at most `acllog-max-len` entries.
//!
//! Shared by every loop behind one mutex: entries are added only on refusals, which are rare
//! and already off the fast path.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};

use parking_lot::Mutex;

/// Entries within this many milliseconds of each other may fold into one.
const GROUPING_MAX_MS: u64 = 60_000;
/// How many of the newest entries a new one is compared with.
const GROUPING_SCAN: usize = 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    Command,
    Key,
    Channel,
    Auth,
}

impl Reason {
    pub fn name(self) -> &'static str {
        match self {
            Reason::Command => "command",
            Reason::Key => "key",
            Reason::Channel => "channel",
            Reason::Auth => "auth",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Context {
    Toplevel,
    Multi,
    Lua,
}

impl Context {
    pub fn name(self) -> &'static str {
        match self {
            Context::Toplevel => "toplevel",
            Context::Multi => "multi",
            Context::Lua => "lua",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Entry {
    pub count: u64,
    pub reason: Reason,
    pub context: Context,
    /// The command, key or channel refused (the command name for `auth`).
    pub object: Vec<u8>,
    pub username: Vec<u8>,
    /// Wall-clock milliseconds of the last occurrence.
    pub ctime_ms: u64,
    /// The CLIENT LIST line of the last client refused.
    pub client_info: String,
}

pub struct AclLog {
    entries: Mutex<VecDeque<Entry>>,
    max_len: AtomicUsize,
}

impl AclLog {
    pub fn new(max_len: usize) -> AclLog {
        AclLog {
            entries: Mutex::new(VecDeque::new()),
            max_len: AtomicUsize::new(max_len),
        }
    }

    pub fn max_len(&self) -> usize {
        self.max_len.load(Ordering::Relaxed)
    }

    /// `acllog-max-len`: takes effect at the next addition, as in Redis.
    pub fn set_max_len(&self, n: usize) {
        self.max_len.store(n, Ordering::Relaxed);
    }

    pub fn add(&self, e: Entry) {
        let mut entries = self.entries.lock();
        let found = entries.iter().take(GROUPING_SCAN).position(|old| {
            old.reason == e.reason
                && old.context == e.context
                && old.ctime_ms.abs_diff(e.ctime_ms) <= GROUPING_MAX_MS
                && old.object == e.object
                && old.username == e.username
        });
        if let Some(i) = found {
            let mut old = entries.remove(i).expect("found");
            old.count += 1;
            old.ctime_ms = e.ctime_ms;
            old.client_info = e.client_info;
            entries.push_front(old);
            return;
        }
        entries.push_front(e);
        let max = self.max_len();
        entries.truncate(max);
    }

    /// The newest `count` entries.
    pub fn newest(&self, count: usize) -> Vec<Entry> {
        self.entries.lock().iter().take(count).cloned().collect()
    }

    pub fn reset(&self) {
        self.entries.lock().clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(object: &str, at: u64) -> Entry {
        Entry {
            count: 1,
            reason: Reason::Key,
            context: Context::Toplevel,
            object: object.as_bytes().to_vec(),
            username: b"u".to_vec(),
            ctime_ms: at,
            client_info: String::new(),
        }
    }

    #[test]
    fn similar_entries_fold_and_the_log_is_bounded() {
        let log = AclLog::new(3);
        log.add(entry("a", 0));
        log.add(entry("b", 10));
        log.add(entry("a", 20));
        let e = log.newest(10);
        assert_eq!(e.len(), 2);
        assert_eq!((e[0].object.as_slice(), e[0].count), (&b"a"[..], 2));
        // Too far apart in time: a new entry.
        log.add(entry("a", 20 + GROUPING_MAX_MS + 1));
        assert_eq!(log.newest(10).len(), 3);
        log.add(entry("c", 100_000));
        assert_eq!(log.newest(10).len(), 3);
        log.reset();
        assert!(log.newest(10).is_empty());
    }
}
