//! The process-wide script cache (EVAL bodies by SHA1, SCRIPT LOAD/EXISTS/FLUSH) and the rule
//! that one script runs at a time.
//!
//! Every loop has its own interpreter ([`super::engine::Engine`]); a body is compiled in a
//! loop's interpreter the first time that loop runs it. SCRIPT FLUSH empties the cache and
//! moves the generation on, so each interpreter forgets its compiled scripts before its next
//! run.
//!
//! One script at a time ([`ScriptCache::serial`]): a running script locks the shards it
//! reaches as it goes (store `ScriptLocks`); two doing that at once could wait for each other,
//! so they take this lock first. Other commands on every loop go on in parallel on the
//! shards no script holds.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use parking_lot::{Mutex, RwLock};

/// A script in the cache.
pub struct CachedScript {
    pub body: Bytes,
    /// `#!lua flags=...` ([`super::engine::script_flags`]).
    pub flags: u32,
    /// Length of the shebang line (0 without one).
    pub shebang_len: usize,
}

#[derive(Default)]
pub struct ScriptCache {
    scripts: RwLock<HashMap<[u8; 40], Arc<CachedScript>>>,
    generation: AtomicU64,
    /// Bytes every loop's interpreter uses (INFO `used_memory_lua`).
    lua_memory: AtomicUsize,
    /// Taken by a script for its whole run (module doc).
    pub serial: Mutex<()>,
}

impl ScriptCache {
    pub fn get(&self, sha: &[u8; 40]) -> Option<Arc<CachedScript>> {
        self.scripts.read().get(sha).cloned()
    }

    pub fn insert(&self, sha: [u8; 40], script: CachedScript) -> Arc<CachedScript> {
        self.scripts
            .write()
            .entry(sha)
            .or_insert_with(|| Arc::new(script))
            .clone()
    }

    pub fn contains(&self, sha: &[u8; 40]) -> bool {
        self.scripts.read().contains_key(sha)
    }

    /// SCRIPT FLUSH: every script is forgotten, by the cache now and by each interpreter
    /// before its next run.
    pub fn flush(&self) {
        let mut scripts = self.scripts.write();
        scripts.clear();
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    /// A loop's interpreter moved from `before` to `after` bytes.
    pub fn report_lua_memory(&self, before: usize, after: usize) {
        if after >= before {
            self.lua_memory.fetch_add(after - before, Ordering::Relaxed);
        } else {
            self.lua_memory.fetch_sub(before - after, Ordering::Relaxed);
        }
    }

    /// INFO `used_memory_lua`: what every loop's interpreter uses.
    pub fn lua_memory(&self) -> usize {
        self.lua_memory.load(Ordering::Relaxed)
    }

    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// (number of scripts, bytes of their bodies): INFO `number_of_cached_scripts`,
    /// `used_memory_scripts_eval`.
    pub fn stats(&self) -> (usize, usize) {
        let scripts = self.scripts.read();
        let bytes = scripts.values().map(|s| s.body.len() + 40).sum();
        (scripts.len(), bytes)
    }
}

/// The lowercase form of a 40-character SHA1 argument, or `None` for any other length.
pub fn sha_arg(arg: &[u8]) -> Option<[u8; 40]> {
    let arr: [u8; 40] = arg.try_into().ok()?;
    Some(arr.map(|b| b.to_ascii_lowercase()))
}
