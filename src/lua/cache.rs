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
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
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
    /// The running script or function, for BUSY, SCRIPT/FUNCTION KILL and FUNCTION STATS.
    running: Mutex<Option<Running>>,
    /// When the running script started (monotonic ms since the process started; 0: none).
    running_since: AtomicU64,
    /// SCRIPT KILL / FUNCTION KILL asked the running script to stop.
    kill: AtomicBool,
    /// The running script has run a write command (it can no longer be killed).
    wrote: AtomicBool,
}

/// What is known of the running script.
#[derive(Clone)]
pub struct Running {
    /// EVAL (SCRIPT KILL stops it) or FCALL (FUNCTION KILL does).
    pub is_eval: bool,
    /// The SHA1, or the function's name.
    pub name: String,
    /// The command that runs it.
    pub argv: Vec<Bytes>,
}

/// The BUSY replies (Redis's `slowevalerr` / `slowscripterr`).
pub const BUSY_EVAL: &str =
    "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.";
pub const BUSY_FUNCTION: &str =
    "BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.";

/// What SCRIPT KILL / FUNCTION KILL did.
#[derive(Debug, PartialEq, Eq)]
pub enum Kill {
    Killed,
    NotBusy,
    /// The running script wrote already.
    Unkillable,
    /// The other kind runs (a function for SCRIPT KILL, a script for FUNCTION KILL).
    WrongKind,
}

fn monotonic_ms() -> u64 {
    static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    START
        .get_or_init(std::time::Instant::now)
        .elapsed()
        .as_millis() as u64
        + 1
}

impl ScriptCache {
    /// A script starts (under [`ScriptCache::serial`]).
    pub fn started(&self, running: Running) {
        *self.running.lock() = Some(running);
        self.kill.store(false, Ordering::Relaxed);
        self.wrote.store(false, Ordering::Relaxed);
        self.running_since.store(monotonic_ms(), Ordering::Release);
    }

    /// The running script ended.
    pub fn finished(&self) {
        self.running_since.store(0, Ordering::Release);
        *self.running.lock() = None;
        self.kill.store(false, Ordering::Relaxed);
    }

    /// The running script wrote to the dataset.
    pub fn wrote(&self) {
        self.wrote.store(true, Ordering::Relaxed);
    }

    /// Whether a kill was asked of the running script.
    pub fn kill_requested(&self) -> bool {
        self.kill.load(Ordering::Relaxed)
    }

    /// How long the running script has run (ms), when one runs.
    pub fn running_for(&self) -> Option<u64> {
        match self.running_since.load(Ordering::Acquire) {
            0 => None,
            since => Some(monotonic_ms().saturating_sub(since)),
        }
    }

    /// The BUSY reply for a command arriving now, when a script has run past `threshold_ms`
    /// (0: never busy).
    #[inline]
    pub fn busy(&self, threshold_ms: impl FnOnce() -> i64) -> Option<&'static str> {
        if self.running_since.load(Ordering::Relaxed) == 0 {
            return None;
        }
        self.busy_slow(threshold_ms())
    }

    #[cold]
    fn busy_slow(&self, threshold_ms: i64) -> Option<&'static str> {
        let ran = self.running_for()?;
        if threshold_ms <= 0 || ran < threshold_ms as u64 {
            return None;
        }
        let is_eval = self.running.lock().as_ref().is_none_or(|r| r.is_eval);
        Some(if is_eval { BUSY_EVAL } else { BUSY_FUNCTION })
    }

    /// The running script, if any.
    pub fn running(&self) -> Option<Running> {
        self.running.lock().clone()
    }

    /// SCRIPT KILL (`eval`) or FUNCTION KILL.
    pub fn kill(&self, eval: bool) -> Kill {
        let running = self.running.lock();
        let Some(r) = running.as_ref() else {
            return Kill::NotBusy;
        };
        if self.wrote.load(Ordering::Relaxed) {
            return Kill::Unkillable;
        }
        if r.is_eval != eval {
            return Kill::WrongKind;
        }
        self.kill.store(true, Ordering::Relaxed);
        Kill::Killed
    }

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
