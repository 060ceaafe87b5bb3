//! Persistence: the on-disk formats Redis 7.0 uses and the machinery that writes and reads them.
//!
//! - [`rdb`]: the RDB codec (version 10 writer, loader for what Redis 2.x .. 7.2 write), also
//!   the value serialization DUMP/RESTORE use.
//! - [`save`]: writes a point-in-time snapshot ([`crate::store::snapshot`]) to `dir/dbfilename`
//!   crash-safely (temp file, fsync, rename, fsync of the directory).
//! - [`load`]: fills the keyspace from a file at start-up and on DEBUG RELOAD.
//! - [`Persistence`]: the live settings (`dir`, `dbfilename`, `save`, ...) and the state INFO
//!   persistence, LASTSAVE and the save points read.
//!
//! This layer sits on the store (values, snapshots) and config; it knows nothing about clients
//! or commands. Who runs a save (a command on its loop, the background saver thread, the
//! save-point check) is decided above it.
//!
//! # Threading
//! Settings are behind one mutex, touched by CONFIG, by the start of a save and by the
//! save-point check (every 100 ms): never on the request path. What the request path reads —
//! whether commands are refused because the dataset is loading or because the last background
//! save failed — is one atomic ([`Persistence::gate`]).

pub mod aof;
pub mod load;
pub mod rdb;
pub mod save;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;

use parking_lot::{Condvar, Mutex};

/// Redis's default `save` points: after 3600 s if 1 change, 300 s if 100, 60 s if 10000.
pub const DEFAULT_SAVE_POINTS: &[(u64, u64)] = &[(3600, 1), (300, 100), (60, 10000)];

/// Retry delay after a failed background save before a save point may try again
/// (Redis's `CONFIG_BGSAVE_RETRY_DELAY`).
pub const BGSAVE_RETRY_DELAY_MS: u64 = 5000;

/// The RDB directives (live values; CONFIG SET changes them).
#[derive(Debug, Clone, PartialEq)]
pub struct RdbSettings {
    /// `dir`, made absolute at start-up.
    pub dir: PathBuf,
    pub dbfilename: String,
    /// `save` points: (seconds, changes).
    pub save_points: Vec<(u64, u64)>,
    pub compression: bool,
    pub checksum: bool,
    pub stop_writes_on_bgsave_error: bool,
    /// `key-load-delay` (microseconds per key while loading; a testing aid, as in Redis).
    pub key_load_delay_us: u64,
    /// `rdb-key-save-delay` (microseconds per key while saving, slept outside any lock; a
    /// testing aid, as in Redis).
    pub key_save_delay_us: u64,
}

impl Default for RdbSettings {
    fn default() -> Self {
        RdbSettings {
            dir: PathBuf::from("."),
            dbfilename: "dump.rdb".into(),
            save_points: DEFAULT_SAVE_POINTS.to_vec(),
            compression: true,
            checksum: true,
            stop_writes_on_bgsave_error: true,
            key_load_delay_us: 0,
            key_save_delay_us: 0,
        }
    }
}

impl RdbSettings {
    /// `dir/dbfilename`.
    pub fn path(&self) -> PathBuf {
        self.dir.join(&self.dbfilename)
    }

    /// `save` as CONFIG GET shows it: `"3600 1 300 100 60 10000"`, or `""`.
    pub fn render_save(&self) -> String {
        self.save_points
            .iter()
            .map(|(s, c)| format!("{s} {c}"))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// Parses a `save` value: pairs of `<seconds> <changes>`, or `""` (none). Redis's errors.
pub fn parse_save(value: &[&str]) -> Result<Vec<(u64, u64)>, String> {
    if value.len() == 1 && value[0].is_empty() {
        return Ok(Vec::new());
    }
    if value.is_empty() || !value.len().is_multiple_of(2) {
        return Err("Invalid save parameters".into());
    }
    value
        .chunks(2)
        .map(|p| match (p[0].parse::<u64>(), p[1].parse::<u64>()) {
            (Ok(s), Ok(c)) => Ok((s, c)),
            _ => Err("Invalid save parameters".into()),
        })
        .collect()
}

/// Bits of [`Persistence::gate`].
pub mod gate {
    /// The dataset is loading: commands without the `loading` flag get `-LOADING`.
    pub const LOADING: u8 = 1;
    /// The last background save failed and `stop-writes-on-bgsave-error` applies: writes (and
    /// PING) get `-MISCONF`.
    pub const MISCONF: u8 = 2;
    /// Appending to (or fsyncing) the AOF failed: writes (and PING) get `-MISCONF Errors
    /// writing to the AOF file: ...` until an append succeeds again. Set by the AOF.
    pub const AOF_ERROR: u8 = 4;
}

/// Outcome of the last save, for INFO and the MISCONF rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Ok,
    Err,
}

/// A background save waiting for the saver thread.
pub struct Job {
    pub start: crate::store::snapshot::SnapshotStart,
    pub settings: RdbSettings,
    /// Changes counted when the snapshot was taken.
    pub dirty: u64,
    /// For an AOF rewrite: the first incremental file the new base is followed by (`None`:
    /// an RDB save).
    pub rewrite: Option<u64>,
}

/// Persistence state shared by every thread.
pub struct Persistence {
    settings: Mutex<RdbSettings>,
    /// FUNCTION libraries: kept here because they are part of every RDB snapshot and AOF base
    /// (Redis's function records), read by the savers; `Shared::functions` is the way in.
    pub functions: crate::lua::functions::Libraries,
    gate: Arc<AtomicU8>,
    /// A save (SAVE or BGSAVE) is running: only one at a time.
    saving: AtomicBool,
    /// Whether the running save is a background one.
    pub bgsave_in_progress: AtomicBool,
    /// Asks the running background save to stop (SHUTDOWN, FLUSHALL as in Redis).
    pub abort: AtomicBool,
    last_ok: AtomicBool,
    /// Unix seconds of the last successful save (LASTSAVE).
    pub lastsave: AtomicU64,
    /// Changes counted when the last successful save took its snapshot.
    pub dirty_at_save: AtomicU64,
    /// Unix ms of the last background save attempt (the save points' retry delay).
    pub last_try_ms: AtomicU64,
    /// Unix ms when the running background save started.
    pub bgsave_started_ms: AtomicU64,
    /// Seconds the last background save took (-1 before the first).
    pub last_bgsave_secs: AtomicI64,
    /// Successful saves since start-up (`rdb_saves`).
    pub saves: AtomicU64,
    /// Keys written so far by the running save, and its total (INFO's `current_save_keys_*`).
    pub keys_processed: AtomicU64,
    pub keys_total: AtomicU64,
    /// An AOF rewrite is running (it holds the save claim), or waits for a BGSAVE to end.
    pub rewrite_in_progress: AtomicBool,
    pub rewrite_scheduled: AtomicBool,
    /// The next rewrite switches the AOF on (CONFIG SET appendonly yes).
    pub rewrite_enables_aof: AtomicBool,
    pub rewrite_started_ms: AtomicU64,
    /// Seconds the last rewrite took (-1 before the first), its outcome, how many succeeded
    /// and how many failed in a row.
    pub last_rewrite_secs: AtomicI64,
    pub last_rewrite_ok: AtomicBool,
    pub rewrites: AtomicU64,
    pub rewrite_failures: AtomicU64,
    /// Keys of the last load: loaded, and skipped because expired.
    pub load_keys_loaded: AtomicU64,
    pub load_keys_expired: AtomicU64,
    /// Unix seconds when the running load started, its size and progress (INFO loading_*).
    pub loading_started: AtomicU64,
    pub loading_total_bytes: AtomicU64,
    pub loading_loaded_bytes: AtomicU64,
    jobs: Mutex<Option<Job>>,
    job_ready: Condvar,
}

impl Persistence {
    pub fn new(settings: RdbSettings, now_secs: u64) -> Self {
        Persistence {
            settings: Mutex::new(settings),
            functions: Default::default(),
            gate: Arc::new(AtomicU8::new(0)),
            saving: AtomicBool::new(false),
            bgsave_in_progress: AtomicBool::new(false),
            abort: AtomicBool::new(false),
            last_ok: AtomicBool::new(true),
            lastsave: AtomicU64::new(now_secs),
            dirty_at_save: AtomicU64::new(0),
            last_try_ms: AtomicU64::new(0),
            bgsave_started_ms: AtomicU64::new(0),
            last_bgsave_secs: AtomicI64::new(-1),
            saves: AtomicU64::new(0),
            keys_processed: AtomicU64::new(0),
            keys_total: AtomicU64::new(0),
            rewrite_in_progress: AtomicBool::new(false),
            rewrite_scheduled: AtomicBool::new(false),
            rewrite_enables_aof: AtomicBool::new(false),
            rewrite_started_ms: AtomicU64::new(0),
            last_rewrite_secs: AtomicI64::new(-1),
            last_rewrite_ok: AtomicBool::new(true),
            rewrites: AtomicU64::new(0),
            rewrite_failures: AtomicU64::new(0),
            load_keys_loaded: AtomicU64::new(0),
            load_keys_expired: AtomicU64::new(0),
            loading_started: AtomicU64::new(0),
            loading_total_bytes: AtomicU64::new(0),
            loading_loaded_bytes: AtomicU64::new(0),
            jobs: Mutex::new(None),
            job_ready: Condvar::new(),
        }
    }

    /// The request path's one check: non-zero when commands may be refused (see [`gate`]).
    #[inline(always)]
    /// The gate itself, for the AOF to raise and clear [`gate::AOF_ERROR`] in.
    pub fn gate_cell(&self) -> Arc<AtomicU8> {
        self.gate.clone()
    }

    pub fn gate(&self) -> u8 {
        self.gate.load(Ordering::Relaxed)
    }

    /// A copy of the live settings.
    pub fn settings(&self) -> RdbSettings {
        self.settings.lock().clone()
    }

    /// Changes the settings (CONFIG SET) and re-derives the MISCONF rule.
    pub fn update(&self, f: impl FnOnce(&mut RdbSettings)) {
        f(&mut self.settings.lock());
        self.refresh_gate();
    }

    fn refresh_gate(&self) {
        let s = self.settings.lock();
        let misconf = s.stop_writes_on_bgsave_error
            && !s.save_points.is_empty()
            && !self.last_ok.load(Ordering::Relaxed);
        drop(s);
        if misconf {
            self.gate.fetch_or(gate::MISCONF, Ordering::Relaxed);
        } else {
            self.gate.fetch_and(!gate::MISCONF, Ordering::Relaxed);
        }
    }

    /// Marks the start (true) or end (false) of loading.
    pub fn set_loading(&self, on: bool) {
        if on {
            self.gate.fetch_or(gate::LOADING, Ordering::SeqCst);
        } else {
            self.gate.fetch_and(!gate::LOADING, Ordering::SeqCst);
        }
    }

    pub fn is_loading(&self) -> bool {
        self.gate() & gate::LOADING != 0
    }

    /// Claims the right to save; false when a save is already running.
    pub fn try_begin(&self, background: bool) -> bool {
        if self
            .saving
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            return false;
        }
        self.abort.store(false, Ordering::Relaxed);
        self.keys_processed.store(0, Ordering::Relaxed);
        if background {
            self.bgsave_in_progress.store(true, Ordering::Relaxed);
            let now = crate::clock::now_ms();
            self.bgsave_started_ms.store(now, Ordering::Relaxed);
            self.last_try_ms.store(now, Ordering::Relaxed);
        }
        true
    }

    /// Claims the right to snapshot for an AOF rewrite; false when a save or rewrite runs.
    pub fn try_begin_rewrite(&self) -> bool {
        if self
            .saving
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            return false;
        }
        self.abort.store(false, Ordering::Relaxed);
        self.keys_processed.store(0, Ordering::Relaxed);
        self.rewrite_scheduled.store(false, Ordering::Relaxed);
        self.rewrite_in_progress.store(true, Ordering::Relaxed);
        self.rewrite_started_ms
            .store(crate::clock::now_ms(), Ordering::Relaxed);
        true
    }

    /// Records the end of a rewrite claimed by [`Persistence::try_begin_rewrite`].
    pub fn finish_rewrite(&self, ok: bool) {
        let started = self.rewrite_started_ms.load(Ordering::Relaxed);
        self.last_rewrite_secs.store(
            (crate::clock::now_ms().saturating_sub(started) / 1000) as i64,
            Ordering::Relaxed,
        );
        self.last_rewrite_ok.store(ok, Ordering::Relaxed);
        if ok {
            self.rewrites.fetch_add(1, Ordering::Relaxed);
            self.rewrite_failures.store(0, Ordering::Relaxed);
        } else {
            self.rewrite_failures.fetch_add(1, Ordering::Relaxed);
        }
        self.rewrite_in_progress.store(false, Ordering::Relaxed);
        self.saving.store(false, Ordering::Release);
    }

    /// Whether a save (foreground or background) is running.
    pub fn is_saving(&self) -> bool {
        self.saving.load(Ordering::Acquire)
    }

    /// Records the end of the save claimed by [`Persistence::try_begin`]. `dirty`: the change
    /// count when its snapshot was taken.
    pub fn finish(&self, ok: bool, dirty: u64) {
        let now_ms = crate::clock::now_ms();
        if self.bgsave_in_progress.swap(false, Ordering::Relaxed) {
            let started = self.bgsave_started_ms.load(Ordering::Relaxed);
            self.last_bgsave_secs.store(
                (now_ms.saturating_sub(started) / 1000) as i64,
                Ordering::Relaxed,
            );
            // Only a background save's outcome drives MISCONF (as Redis's lastbgsave_status);
            // a failed SAVE is reported to its caller.
            self.last_ok.store(ok, Ordering::Relaxed);
        } else if ok {
            self.last_ok.store(true, Ordering::Relaxed);
        }
        if ok {
            self.lastsave.store(now_ms / 1000, Ordering::Relaxed);
            self.dirty_at_save.store(dirty, Ordering::Relaxed);
            self.saves.fetch_add(1, Ordering::Relaxed);
        }
        self.refresh_gate();
        self.saving.store(false, Ordering::Release);
    }

    /// `rdb_last_bgsave_status`.
    pub fn last_status(&self) -> Status {
        if self.last_ok.load(Ordering::Relaxed) {
            Status::Ok
        } else {
            Status::Err
        }
    }

    /// Hands a background save to the saver thread.
    pub fn submit(&self, job: Job) {
        *self.jobs.lock() = Some(job);
        self.job_ready.notify_one();
    }

    /// The saver thread's wait for work (`None` after `timeout`, so it can check for shutdown).
    pub fn next_job(&self, timeout: std::time::Duration) -> Option<Job> {
        let mut jobs = self.jobs.lock();
        if jobs.is_none() {
            self.job_ready.wait_for(&mut jobs, timeout);
        }
        jobs.take()
    }

    /// Whether a save point is due (Redis's `serverCron` rule): `dirty` changes in all, at
    /// `now_ms`.
    pub fn save_point_due(&self, dirty: u64, now_ms: u64) -> bool {
        if self.is_saving() || self.is_loading() {
            return false;
        }
        let changes = dirty.saturating_sub(self.dirty_at_save.load(Ordering::Relaxed));
        let since_save = (now_ms / 1000).saturating_sub(self.lastsave.load(Ordering::Relaxed));
        let retry_ok = self.last_ok.load(Ordering::Relaxed)
            || now_ms.saturating_sub(self.last_try_ms.load(Ordering::Relaxed))
                > BGSAVE_RETRY_DELAY_MS;
        retry_ok
            && self
                .settings
                .lock()
                .save_points
                .iter()
                .any(|&(secs, min)| changes >= min && since_save >= secs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn save_values_parse_like_redis() {
        assert_eq!(
            parse_save(&["3600", "1", "300", "100"]).unwrap(),
            vec![(3600, 1), (300, 100)]
        );
        assert_eq!(parse_save(&[""]).unwrap(), vec![]);
        assert!(parse_save(&["3600"]).is_err());
        assert!(parse_save(&["a", "1"]).is_err());
    }

    #[test]
    fn misconf_follows_the_last_background_save() {
        let p = Persistence::new(RdbSettings::default(), 0);
        assert_eq!(p.gate(), 0);
        assert!(p.try_begin(true));
        assert!(!p.try_begin(false), "one save at a time");
        p.finish(false, 0);
        assert_eq!(p.gate(), gate::MISCONF);
        p.update(|s| s.stop_writes_on_bgsave_error = false);
        assert_eq!(p.gate(), 0);
        p.update(|s| s.stop_writes_on_bgsave_error = true);
        assert!(p.try_begin(true));
        p.finish(true, 5);
        assert_eq!(p.gate(), 0);
        assert_eq!(p.dirty_at_save.load(Ordering::Relaxed), 5);
    }

    #[test]
    fn save_points_fire_on_time_and_changes() {
        let p = Persistence::new(RdbSettings::default(), 1000);
        assert!(!p.save_point_due(0, 1_000_000 + 4000 * 1000));
        assert!(p.save_point_due(1, (1000 + 3600) * 1000));
        assert!(!p.save_point_due(1, (1000 + 3599) * 1000));
        assert!(p.save_point_due(10000, (1000 + 60) * 1000));
    }
}
