//! The append-only file, Redis 7.0's multi-part layout: `dir/appenddirname/` holds a base file
//! (an RDB with `aof-use-rdb-preamble yes`), incremental files of RESP commands, and the
//! [`manifest`] naming them in order.
//!
//! # Writing
//! [`Aof`] is the propagation sink ([`crate::state::propagate::Propagator`], fed in ticket
//! order by the [`Sequencer`](crate::store::sequence::Sequencer)): each unit is encoded as RESP
//! (with a `SELECT` whenever the database changes) into an in-memory buffer. The buffer goes
//! to the current incremental file:
//! - `appendfsync always`: each loop, before it writes its replies, calls
//!   [`Aof::before_replies`] with the highest ticket its units took; the buffer is written and
//!   `fdatasync`ed until that ticket is on disk. One fsync covers every unit buffered so far,
//!   whichever loop made it (group commit): a loop that finds its ticket already synced by
//!   another skips the syscall. No reply leaves before its write is durable.
//! - `everysec` and `no`: the loop writes the buffer (no fsync); for `everysec` the fsync
//!   thread ([`Aof::fsync_tick`]) syncs a duplicate descriptor once a second, so no loop ever
//!   waits for the disk (Redis's background fsync).
//!
//! # Rewriting without fork
//! [`Aof::prepare_rewrite`] opens the next incremental file and persists a manifest listing it
//! (a crash during the rewrite loses nothing); the caller takes a snapshot whose barrier also
//! takes a propagation ticket (the *cut*, [`Aof::set_cut`]); when the cut reaches the sink the
//! buffer before it goes to the old file and everything after to the new one. The snapshot is
//! written as the new base; [`Aof::finish_rewrite`] renames it into place, persists the
//! manifest `{new base, new incr}` and deletes the old files. Writes continue throughout.
//!
//! # Locking
//! `pending` (the buffer) is taken by the sink (under the sequencer's mutex) and briefly by
//! writers to swap the buffer out; `file` serializes writes to the current file (never held
//! while `pending` is waited for); `manifest` only by rewrites and start-up. No lock here is
//! ever taken under a shard lock.

pub mod load;
pub mod manifest;
pub mod rewrite;

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;

use crate::store::Op;
use manifest::{AofFile, FileType, Manifest};

/// `appendfsync`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fsync {
    Always = 0,
    EverySec = 1,
    No = 2,
}

impl Fsync {
    pub fn parse(s: &str) -> Option<Fsync> {
        match s.to_ascii_lowercase().as_str() {
            "always" => Some(Fsync::Always),
            "everysec" => Some(Fsync::EverySec),
            "no" => Some(Fsync::No),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Fsync::Always => "always",
            Fsync::EverySec => "everysec",
            Fsync::No => "no",
        }
    }

    fn from_u8(v: u8) -> Fsync {
        match v {
            0 => Fsync::Always,
            1 => Fsync::EverySec,
            _ => Fsync::No,
        }
    }
}

/// The AOF directives.
#[derive(Debug, Clone, PartialEq)]
pub struct AofSettings {
    /// `appendonly`.
    pub enabled: bool,
    /// `appenddirname` (inside `dir`).
    pub dirname: String,
    /// `appendfilename`: the prefix of every file's name.
    pub filename: String,
    pub fsync: Fsync,
    /// `aof-use-rdb-preamble`.
    pub rdb_preamble: bool,
    /// `aof-load-truncated`.
    pub load_truncated: bool,
    /// `auto-aof-rewrite-percentage` (0: off) and `auto-aof-rewrite-min-size`.
    pub rewrite_percentage: u64,
    pub rewrite_min_size: u64,
}

impl Default for AofSettings {
    fn default() -> Self {
        AofSettings {
            enabled: false,
            dirname: "appendonlydir".into(),
            filename: "appendonly.aof".into(),
            fsync: Fsync::EverySec,
            rdb_preamble: true,
            load_truncated: true,
            rewrite_percentage: 100,
            rewrite_min_size: 64 * 1024 * 1024,
        }
    }
}

impl AofSettings {
    pub fn base_name(&self, seq: u64, rdb: bool) -> String {
        let ext = if rdb { "rdb" } else { "aof" };
        format!("{}.{seq}.base.{ext}", self.filename)
    }

    pub fn incr_name(&self, seq: u64) -> String {
        format!("{}.{seq}.incr.aof", self.filename)
    }

    pub fn manifest_name(&self) -> String {
        format!("{}.manifest", self.filename)
    }
}

/// Appends `argv` as a RESP multibulk.
pub fn encode_command(out: &mut Vec<u8>, argv: &[&[u8]]) {
    out.push(b'*');
    out.extend_from_slice(itoa::Buffer::new().format(argv.len()).as_bytes());
    out.extend_from_slice(b"\r\n");
    for a in argv {
        out.push(b'$');
        out.extend_from_slice(itoa::Buffer::new().format(a.len()).as_bytes());
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
}

/// What the sink has buffered for the file.
struct Pending {
    bytes: Vec<u8>,
    /// The database the file's command stream has selected (`None`: nothing yet in this file).
    db: Option<usize>,
    /// The highest ticket whose unit is in `bytes` (or already written).
    last_ticket: u64,
    /// A rewrite's cut ticket, waiting to reach the sink.
    cut: u64,
    /// Where the cut fell in `bytes` and the file to continue in.
    switch: Option<(usize, Current)>,
    /// The file opened for the next rewrite, until its cut arrives.
    next: Option<Current>,
}

/// The incremental file being appended to.
struct Current {
    file: File,
    /// The file's length after the last complete write: a failed write is cut back to it.
    len: u64,
}

/// The running AOF (see the module doc).
pub struct Aof {
    dir: PathBuf,
    settings: Mutex<AofSettings>,
    fsync: AtomicU8,
    on: AtomicBool,
    pending: Mutex<Pending>,
    file: Mutex<Option<Current>>,
    /// Every ticket up to this one is written to the file / on disk.
    written_ticket: AtomicU64,
    synced_ticket: AtomicU64,
    manifest: Mutex<Manifest>,
    /// Sizes for INFO and the automatic rewrite: the base file, and all files now.
    pub base_size: AtomicU64,
    pub current_size: AtomicU64,
    /// Whether the last write succeeded (`aof_last_write_status`).
    pub last_write_ok: AtomicBool,
    /// Whether the last background fsync succeeded.
    fsync_ok: AtomicBool,
    /// The error of the failed write or fsync (`strerror` text) while one of them is failing.
    error: Mutex<String>,
    /// The persistence gate, where a failing AOF raises [`crate::persist::gate::AOF_ERROR`].
    gate: Arc<AtomicU8>,
    /// Every write made before this instant (Unix ms) is on disk.
    durable_before_ms: AtomicU64,
    /// When (Unix ms) the running background fsync started; 0 when none runs.
    fsync_started_ms: AtomicU64,
    /// Since when (Unix ms) loops keep their bytes back from a slow fsync; 0 when they don't.
    postponed_since_ms: AtomicU64,
    /// Writes that went out while a slow fsync still ran (`aof_delayed_fsync`).
    delayed_fsync: AtomicU64,
    /// Bytes written since the last fsync.
    unsynced: AtomicU64,
}

/// A background fsync running this long (ms) makes `everysec` loops hold their writes back.
const SLOW_FSYNC_MS: u64 = 100;
/// How long (ms) they hold them back at most: Redis's two seconds.
const MAX_POSTPONE_MS: u64 = 2000;

impl Current {
    /// After a failed append of `bytes`: cuts the file back to its length before it (so no
    /// half command stays in it) and returns what must be written again — all of `bytes`, or
    /// what follows the part that is in the file when it cannot be cut (as Redis).
    fn undo_short_write(&mut self, bytes: &[u8]) -> Vec<u8> {
        let now = self.file.metadata().map_or(self.len, |m| m.len());
        if now == self.len {
            return bytes.to_vec();
        }
        match self.file.set_len(self.len) {
            Ok(()) => bytes.to_vec(),
            Err(e) => {
                tracing::warn!(
                    "Could not remove short write from the append-only file.  Redis may refuse to load the AOF the next time it starts.  ftruncate: {}",
                    crate::util::fs::strerror(&e)
                );
                let kept = ((now - self.len) as usize).min(bytes.len());
                self.len += kept as u64;
                bytes[kept..].to_vec()
            }
        }
    }
}

impl Aof {
    /// The AOF of `settings` in `dir/appenddirname`; nothing is opened yet.
    pub fn new(rdb_dir: &Path, settings: AofSettings, gate: Arc<AtomicU8>) -> Aof {
        Aof {
            dir: rdb_dir.join(&settings.dirname),
            fsync: AtomicU8::new(settings.fsync as u8),
            settings: Mutex::new(settings),
            on: AtomicBool::new(false),
            pending: Mutex::new(Pending {
                bytes: Vec::new(),
                db: None,
                last_ticket: 0,
                cut: 0,
                switch: None,
                next: None,
            }),
            file: Mutex::new(None),
            written_ticket: AtomicU64::new(0),
            synced_ticket: AtomicU64::new(0),
            manifest: Mutex::new(Manifest::default()),
            base_size: AtomicU64::new(0),
            current_size: AtomicU64::new(0),
            last_write_ok: AtomicBool::new(true),
            fsync_ok: AtomicBool::new(true),
            error: Mutex::new(String::new()),
            gate,
            durable_before_ms: AtomicU64::new(0),
            fsync_started_ms: AtomicU64::new(0),
            postponed_since_ms: AtomicU64::new(0),
            delayed_fsync: AtomicU64::new(0),
            unsynced: AtomicU64::new(0),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn settings(&self) -> AofSettings {
        self.settings.lock().clone()
    }

    pub fn update(&self, f: impl FnOnce(&mut AofSettings)) {
        let mut s = self.settings.lock();
        f(&mut s);
        self.fsync.store(s.fsync as u8, Ordering::Relaxed);
    }

    /// Whether the AOF is being written (`aof_enabled`).
    #[inline]
    pub fn is_on(&self) -> bool {
        self.on.load(Ordering::Relaxed)
    }

    pub fn fsync_policy(&self) -> Fsync {
        Fsync::from_u8(self.fsync.load(Ordering::Relaxed))
    }

    /// The manifest as last persisted.
    pub fn manifest(&self) -> Manifest {
        self.manifest.lock().clone()
    }

    /// Takes `m` as the current manifest without writing it (files of an earlier run that the
    /// next rewrite replaces).
    pub fn adopt(&self, m: Manifest) {
        *self.manifest.lock() = m;
    }

    /// Reads the manifest from disk (`None` when there is none).
    pub fn read_manifest(&self) -> Result<Option<Manifest>, String> {
        let path = self.dir.join(self.settings.lock().manifest_name());
        match std::fs::read_to_string(&path) {
            Ok(text) => Manifest::parse(&text)
                .map(Some)
                .map_err(|e| format!("{}: {e}", path.display())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(format!("{}: {e}", path.display())),
        }
    }

    /// Writes `m` as the manifest, atomically (temp file, fsync, rename, fsync of the dir).
    pub fn persist_manifest(&self, m: &Manifest) -> io::Result<()> {
        let name = self.settings.lock().manifest_name();
        crate::util::fs::replace_file(&self.dir.join(&name), m.render().as_bytes())?;
        *self.manifest.lock() = m.clone();
        Ok(())
    }

    fn open_append(&self, name: &str) -> io::Result<Current> {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join(name))?;
        let len = file.metadata()?.len();
        Ok(Current { file, len })
    }

    /// Starts appending to the last incremental file of `m` (a new one when it has none),
    /// persists `m` and switches the AOF on. Start-up, once the files were loaded.
    pub fn start(&self, mut m: Manifest) -> io::Result<()> {
        std::fs::create_dir_all(&self.dir)?;
        if m.incrs.is_empty() {
            let seq = m.next_incr_seq();
            let name = self.settings.lock().incr_name(seq);
            m.incrs.push(AofFile {
                name,
                seq,
                kind: FileType::Incr,
            });
        }
        let last = m.incrs.last().expect("one incr").name.clone();
        let current = self.open_append(&last)?;
        self.persist_manifest(&m)?;
        self.measure(&m);
        *self.file.lock() = Some(current);
        self.pending.lock().db = None;
        self.synced(crate::clock::now_ms());
        self.on.store(true, Ordering::Relaxed);
        Ok(())
    }

    fn measure(&self, m: &Manifest) {
        let size = |f: &AofFile| std::fs::metadata(self.dir.join(&f.name)).map_or(0, |md| md.len());
        let base = m.base.as_ref().map_or(0, size);
        let all = base + m.incrs.iter().map(size).sum::<u64>();
        self.base_size.store(base, Ordering::Relaxed);
        self.current_size.store(all, Ordering::Relaxed);
    }

    /// Switches the AOF off (CONFIG SET appendonly no): writes and syncs what is buffered and
    /// closes the file.
    pub fn stop(&self) -> io::Result<()> {
        self.on.store(false, Ordering::Relaxed);
        let r = self.write_out(true);
        *self.file.lock() = None;
        r
    }

    /// The sink: one unit, in ticket order.
    pub fn feed(&self, ticket: u64, ops: &[Op]) {
        let mut p = self.pending.lock();
        if ticket == p.cut && p.cut != 0 {
            p.cut = 0;
            if let Some(next) = p.next.take() {
                let at = p.bytes.len();
                p.switch = Some((at, next));
            }
            p.db = None;
        }
        if !self.is_on() && p.switch.is_none() {
            p.last_ticket = ticket;
            return;
        }
        for op in ops {
            if p.db != Some(op.db) {
                let db = itoa::Buffer::new().format(op.db).as_bytes().to_vec();
                encode_command(&mut p.bytes, &[b"SELECT", &db]);
                p.db = Some(op.db);
            }
            let argv: Vec<&[u8]> = op.argv.iter().map(|a| &a[..]).collect();
            encode_command(&mut p.bytes, &argv);
        }
        p.last_ticket = ticket;
    }

    /// Writes what is buffered to the file (switching files at a rewrite's cut), and fsyncs
    /// when `sync`. Errors leave the bytes buffered for the next attempt.
    pub fn write_out(&self, sync: bool) -> io::Result<()> {
        let mut file = self.file.lock();
        let (bytes, ticket, switch) = {
            let mut p = self.pending.lock();
            (std::mem::take(&mut p.bytes), p.last_ticket, p.switch.take())
        };
        let result = self.write_locked(&mut file, &bytes, switch, sync);
        match result {
            Ok(()) => {
                if !self.last_write_ok.swap(true, Ordering::Relaxed) {
                    tracing::warn!("AOF write error looks solved, Redis can write again.");
                }
                if sync {
                    self.fsync_ok.store(true, Ordering::Relaxed);
                }
                self.refresh_gate();
                self.written_ticket.fetch_max(ticket, Ordering::Release);
                if sync {
                    self.synced_ticket.fetch_max(ticket, Ordering::Release);
                }
                Ok(())
            }
            Err((e, unwritten)) => {
                self.failed(&e, !unwritten.is_empty());
                let mut p = self.pending.lock();
                let later = std::mem::replace(&mut p.bytes, unwritten);
                p.bytes.extend_from_slice(&later);
                Err(e)
            }
        }
    }

    /// Writes `bytes` (switching file at `switch`); on error returns what was not written.
    fn write_locked(
        &self,
        file: &mut Option<Current>,
        bytes: &[u8],
        switch: Option<(usize, Current)>,
        sync: bool,
    ) -> Result<(), (io::Error, Vec<u8>)> {
        let mut rest = bytes;
        if let Some((at, next)) = switch {
            let (before, after) = bytes.split_at(at);
            if let Some(cur) = file.as_mut() {
                if let Err(e) = cur
                    .file
                    .write_all(before)
                    .and_then(|()| cur.file.sync_data())
                {
                    // The old file is being replaced by the rewrite; its tail is in the base.
                    tracing::warn!(error = %e, "writing the last bytes of the old AOF failed");
                }
            }
            *file = Some(next);
            rest = after;
        }
        let Some(cur) = file.as_mut() else {
            return Ok(());
        };
        if !rest.is_empty() {
            if let Err(e) = cur.file.write_all(rest) {
                return Err((e, cur.undo_short_write(rest)));
            }
            cur.len += rest.len() as u64;
            self.current_size
                .fetch_add(rest.len() as u64, Ordering::Relaxed);
            self.unsynced
                .fetch_add(rest.len() as u64, Ordering::Relaxed);
        }
        if sync {
            let pending = self.unsynced.swap(0, Ordering::Relaxed);
            if pending > 0 {
                let started = crate::clock::now_ms();
                if let Err(e) = cur.file.sync_data() {
                    self.unsynced.fetch_add(pending, Ordering::Relaxed);
                    return Err((e, Vec::new()));
                }
                self.synced(started);
            }
        }
        Ok(())
    }

    /// Records a failed write (`write`: the append itself; otherwise its fsync) and raises the
    /// gate, so that writes are refused until an append succeeds (as Redis).
    fn failed(&self, e: &io::Error, write: bool) {
        let text = crate::util::fs::strerror(e);
        let first = if write {
            self.last_write_ok.swap(false, Ordering::Relaxed)
        } else {
            self.fsync_ok.swap(false, Ordering::Relaxed)
        };
        if first {
            tracing::warn!("Error writing to the AOF file: {text}");
        }
        *self.error.lock() = text;
        self.refresh_gate();
    }

    fn refresh_gate(&self) {
        use crate::persist::gate::AOF_ERROR;
        if self.last_write_ok.load(Ordering::Relaxed) && self.fsync_ok.load(Ordering::Relaxed) {
            if self.gate.load(Ordering::Relaxed) & AOF_ERROR != 0 {
                self.gate.fetch_and(!AOF_ERROR, Ordering::Relaxed);
            }
        } else {
            self.gate.fetch_or(AOF_ERROR, Ordering::Relaxed);
        }
    }

    /// The `-MISCONF` reply while the AOF cannot be written (Redis's text).
    pub fn misconf_error(&self) -> String {
        format!(
            "MISCONF Errors writing to the AOF file: {}",
            self.error.lock()
        )
    }

    /// A loop is about to write its replies; `ticket` is the highest one its units took.
    /// `always`: returns once that ticket is on disk. Otherwise: writes the buffer, no fsync.
    pub fn before_replies(&self, ticket: u64) {
        if !self.is_on() {
            return;
        }
        if self.fsync_policy() != Fsync::Always {
            if !self.pending.lock().bytes.is_empty() && !self.postpone_for_slow_fsync() {
                // A failure is logged and gated by `failed`; the bytes wait for a retry.
                let _ = self.write_out(false);
            }
            return;
        }
        let mut spins = 0u32;
        while self.synced_ticket.load(Ordering::Acquire) < ticket {
            if self.write_out(true).is_err() {
                // Unlike Redis (which exits), the loop waits for the disk: its clients' replies
                // are held until their writes are on disk, other loops refuse writes meanwhile
                // (the gate), and nothing acknowledged is lost when space returns.
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            if self.synced_ticket.load(Ordering::Acquire) < ticket {
                // The unit is still waiting for an earlier one, running on another loop.
                spins += 1;
                if spins > 64 {
                    std::thread::sleep(std::time::Duration::from_micros(50));
                } else {
                    std::thread::yield_now();
                }
            }
        }
    }

    /// The `everysec` fsync, called once a second by the fsync thread: writes the buffer and
    /// syncs a duplicate of the file's descriptor without holding the file lock during the
    /// fsync, so loops appending meanwhile never wait for the disk.
    pub fn fsync_tick(&self) {
        if !self.is_on() || self.fsync_policy() != Fsync::EverySec {
            return;
        }
        if self.write_out(false).is_err() {
            return;
        }
        let started = crate::clock::now_ms();
        let pending = self.unsynced.swap(0, Ordering::Relaxed);
        if pending == 0 {
            return;
        }
        self.fsync_started_ms.store(started, Ordering::Relaxed);
        let ticket = self.written_ticket.load(Ordering::Acquire);
        let dup = self
            .file
            .lock()
            .as_ref()
            .and_then(|c| c.file.try_clone().ok());
        if let Some(f) = dup {
            match f.sync_data() {
                Ok(()) => {
                    if !self.fsync_ok.swap(true, Ordering::Relaxed) {
                        self.refresh_gate();
                    }
                    self.synced_ticket.fetch_max(ticket, Ordering::Release);
                    self.synced(started);
                }
                Err(e) => {
                    self.unsynced.fetch_add(pending, Ordering::Relaxed);
                    self.failed(&e, false);
                }
            }
        }
        self.fsync_started_ms.store(0, Ordering::Relaxed);
    }

    /// Redis's `aof_delayed_fsync` rule for `everysec` on a slow disk: while the background
    /// fsync has been running for over [`SLOW_FSYNC_MS`], a loop keeps its bytes buffered
    /// rather than risk a `write(2)` that waits behind the fsync — for at most
    /// [`MAX_POSTPONE_MS`], after which it writes anyway and counts a delayed fsync (INFO
    /// `aof_delayed_fsync`). On a healthy disk fsyncs end well before the threshold and every
    /// reply still follows its write(2).
    fn postpone_for_slow_fsync(&self) -> bool {
        let started = self.fsync_started_ms.load(Ordering::Relaxed);
        let now = crate::clock::now_ms();
        if self.fsync_policy() != Fsync::EverySec
            || started == 0
            || now.saturating_sub(started) < SLOW_FSYNC_MS
        {
            self.postponed_since_ms.store(0, Ordering::Relaxed);
            return false;
        }
        let since = match self.postponed_since_ms.load(Ordering::Relaxed) {
            0 => {
                self.postponed_since_ms.store(now, Ordering::Relaxed);
                now
            }
            t => t,
        };
        if now.saturating_sub(since) < MAX_POSTPONE_MS {
            return true;
        }
        self.postponed_since_ms.store(0, Ordering::Relaxed);
        self.delayed_fsync.fetch_add(1, Ordering::Relaxed);
        tracing::warn!("Asynchronous AOF fsync is taking too long (disk is busy?). Writing the AOF buffer without waiting for fsync to complete, this may slow down Redis.");
        false
    }

    /// Writes postponed by [`Aof::postpone_for_slow_fsync`] that went out anyway.
    pub fn delayed_fsyncs(&self) -> u64 {
        self.delayed_fsync.load(Ordering::Relaxed)
    }

    /// An fsync that started at `started_ms` (Unix ms) completed: every write made before
    /// then is on disk.
    fn synced(&self, started_ms: u64) {
        self.durable_before_ms
            .fetch_max(started_ms, Ordering::Relaxed);
    }

    /// How old (ms) the oldest write is that an OS crash could still lose: 0 when everything
    /// written is on disk. With writes flowing, the `everysec` loss window at this instant.
    pub fn unsynced_age_ms(&self) -> u64 {
        let fsync_running = self.fsync_started_ms.load(Ordering::Relaxed) != 0;
        if self.unsynced_bytes() == 0 && !fsync_running {
            return 0;
        }
        crate::clock::now_ms().saturating_sub(self.durable_before_ms.load(Ordering::Relaxed))
    }

    /// Rewrite step 1 (before the snapshot barrier): opens the next incremental file and
    /// persists a manifest that lists it after the current ones. Returns the new incr's seq.
    pub fn prepare_rewrite(&self) -> io::Result<u64> {
        std::fs::create_dir_all(&self.dir)?;
        let mut m = self.manifest.lock().clone();
        let seq = m.next_incr_seq();
        let name = self.settings.lock().incr_name(seq);
        let next = self.open_append(&name)?;
        m.incrs.push(AofFile {
            name,
            seq,
            kind: FileType::Incr,
        });
        self.persist_manifest(&m)?;
        self.pending.lock().next = Some(next);
        Ok(seq)
    }

    /// Rewrite step 2: the snapshot barrier took `ticket` as the cut; switches the AOF on
    /// (when it was off: CONFIG SET appendonly yes).
    pub fn set_cut(&self, ticket: u64) {
        self.pending.lock().cut = ticket;
        self.on.store(true, Ordering::Relaxed);
    }

    /// Rewrite step 3: `temp` holds the new base; installs it with the incremental files from
    /// `first_incr` on, and deletes the files it replaces.
    pub fn finish_rewrite(&self, temp: &Path, first_incr: u64, rdb: bool) -> io::Result<()> {
        let settings = self.settings();
        let mut m = self.manifest.lock().clone();
        let seq = m.next_base_seq();
        let name = settings.base_name(seq, rdb);
        std::fs::rename(temp, self.dir.join(&name))?;
        super::save::sync_dir(&self.dir)?;
        let old: Vec<AofFile> = m
            .base
            .take()
            .into_iter()
            .chain(m.history.drain(..))
            .chain(m.incrs.iter().filter(|f| f.seq < first_incr).cloned())
            .collect();
        m.incrs.retain(|f| f.seq >= first_incr);
        m.base = Some(AofFile {
            name,
            seq,
            kind: FileType::Base,
        });
        self.persist_manifest(&m)?;
        for f in old {
            let _ = std::fs::remove_file(self.dir.join(&f.name));
        }
        self.measure(&m);
        Ok(())
    }

    /// A rewrite failed after [`Aof::prepare_rewrite`]: the new incr stays listed (it holds the
    /// writes after the cut), nothing is lost; the next rewrite starts from there.
    pub fn abort_rewrite(&self) {
        let mut p = self.pending.lock();
        p.cut = 0;
        p.next = None;
    }

    /// A temp file name for a rewrite's base.
    pub fn rewrite_temp(&self) -> PathBuf {
        self.dir
            .join(format!("temp-rewriteaof-bg-{}.aof", std::process::id()))
    }

    /// Seconds since the last fsync and bytes not yet synced (INFO).
    pub fn unsynced_bytes(&self) -> u64 {
        self.unsynced.load(Ordering::Relaxed) + self.pending.lock().bytes.len() as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("ferrokv-aof-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    /// An AOF in `dir` under `fsync`, switched on with an empty manifest.
    fn started(dir: &Path, fsync: Fsync) -> Aof {
        let aof = Aof::new(
            dir,
            AofSettings {
                enabled: true,
                fsync,
                ..AofSettings::default()
            },
            Arc::default(),
        );
        aof.start(Manifest::default()).unwrap();
        aof
    }

    fn read_incr(aof: &Aof) -> String {
        let m = aof.manifest();
        let name = &m.incrs.last().unwrap().name;
        String::from_utf8(std::fs::read(aof.dir().join(name)).unwrap()).unwrap()
    }

    #[test]
    fn everysec_holds_writes_back_from_a_slow_fsync_for_two_seconds_at_most() {
        let dir = temp_dir("slow-fsync");
        let aof = started(&dir, Fsync::EverySec);
        let now = crate::clock::now_ms();
        // A fast fsync in progress: the write goes out.
        aof.fsync_started_ms.store(now, Ordering::Relaxed);
        aof.feed(1, &[Op::new(0, &[b"SET", b"a", b"1"])]);
        aof.before_replies(1);
        assert_eq!(aof.pending.lock().bytes.len(), 0);
        // A slow one: the bytes stay buffered...
        aof.fsync_started_ms.store(now - 500, Ordering::Relaxed);
        aof.feed(2, &[Op::new(0, &[b"SET", b"b", b"2"])]);
        aof.before_replies(2);
        assert!(!aof.pending.lock().bytes.is_empty());
        assert_eq!(aof.delayed_fsyncs(), 0);
        // ...until they have waited two seconds: then they are written and counted.
        aof.postponed_since_ms.store(now - 2500, Ordering::Relaxed);
        aof.before_replies(2);
        assert_eq!(aof.pending.lock().bytes.len(), 0);
        assert_eq!(aof.delayed_fsyncs(), 1);
        assert!(read_incr(&aof).ends_with("$1\r\nb\r\n$1\r\n2\r\n"));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn units_are_written_with_selects_and_switch_files_at_the_cut() {
        let dir = temp_dir("units");
        let aof = started(&dir, Fsync::Always);
        aof.feed(1, &[Op::new(0, &[b"SET", b"a", b"1"])]);
        aof.feed(2, &[Op::new(3, &[b"DEL", b"b"])]);
        aof.before_replies(2);
        assert_eq!(
            read_incr(&aof),
            "*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n1\r\n*2\r\n$6\r\nSELECT\r\n$1\r\n3\r\n*2\r\n$3\r\nDEL\r\n$1\r\nb\r\n"
        );
        let first = aof.prepare_rewrite().unwrap();
        assert_eq!(first, 2);
        aof.set_cut(4);
        aof.feed(3, &[Op::new(3, &[b"SET", b"x", b"1"])]);
        aof.feed(4, &[]);
        aof.feed(5, &[Op::new(3, &[b"SET", b"y", b"2"])]);
        aof.before_replies(5);
        // After the cut, the new file starts with its own SELECT.
        assert_eq!(
            read_incr(&aof),
            "*2\r\n$6\r\nSELECT\r\n$1\r\n3\r\n*3\r\n$3\r\nSET\r\n$1\r\ny\r\n$1\r\n2\r\n"
        );
        let temp = aof.rewrite_temp();
        std::fs::write(&temp, b"REDIS0010").unwrap();
        aof.finish_rewrite(&temp, first, true).unwrap();
        let m = aof.manifest();
        assert_eq!(
            m.render(),
            "file appendonly.aof.1.base.rdb seq 1 type b\nfile appendonly.aof.2.incr.aof seq 2 type i\n"
        );
        assert!(!aof.dir().join("appendonly.aof.1.incr.aof").exists());
        assert_eq!(aof.read_manifest().unwrap().unwrap(), m);
    }
}
