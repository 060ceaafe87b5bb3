//! Writing a snapshot to disk: `dir/dbfilename` is replaced atomically.
//!
//! The file is written to `dir/temp-<pid>-<n>.rdb`, fsynced, renamed over the target and the
//! directory fsynced, so a crash at any moment leaves either the old file or the new one,
//! never a partial one. On any error the temp file is removed and the snapshot ended.
//!
//! Each shard is encoded under its read lock into a memory buffer ([`StoreRef::dump_shard`]),
//! and the buffer is written to the file after the lock is released: no I/O under a lock.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::rdb::encode::Encoder;
use super::rdb::file::{FileWriter, Header};
use super::{Persistence, RdbSettings};
use crate::store::snapshot::SnapshotStart;
use crate::store::{Entry, Scope, Store, SHARDS};

/// Writes the snapshot begun as `start` to `settings.path()`; returns the bytes written. Ends
/// the snapshot whatever happens. Progress goes to `progress` (INFO), which may also ask to
/// stop (`abort`). `fx` is the calling execution (inside EXEC its held shards are reused).
pub fn write_snapshot(
    store: &Store,
    fx: &Scope,
    start: &SnapshotStart,
    settings: &RdbSettings,
    progress: &Persistence,
    used_mem: u64,
) -> io::Result<u64> {
    let result = write_to_temp(store, fx, start, settings, progress, used_mem);
    store.with(fx).end_snapshot();
    let (temp, bytes) = result?;
    let target = settings.path();
    if let Err(e) = std::fs::rename(&temp, &target) {
        tracing::warn!(
            "Error moving temp DB file {} on the final destination {} (in server root dir {}): {}",
            temp.display(),
            target.display(),
            settings.dir.display(),
            crate::util::fs::strerror(&e)
        );
        let _ = std::fs::remove_file(&temp);
        return Err(e);
    }
    sync_dir(&settings.dir).inspect_err(|e| write_error("fsyncFileDir", e))?;
    Ok(bytes)
}

fn temp_path(dir: &Path) -> PathBuf {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    dir.join(format!("temp-{}-{n}.rdb", std::process::id()))
}

fn write_to_temp(
    store: &Store,
    fx: &Scope,
    start: &SnapshotStart,
    settings: &RdbSettings,
    progress: &Persistence,
    used_mem: u64,
) -> io::Result<(PathBuf, u64)> {
    let temp = temp_path(&settings.dir);
    let file = File::create(&temp).inspect_err(|e| {
        tracing::warn!(
            "Failed opening the temp RDB file {} (in server root dir {}) for saving: {}",
            temp.file_name().unwrap_or_default().to_string_lossy(),
            settings.dir.display(),
            crate::util::fs::strerror(e)
        )
    })?;
    let written = dump_into(store, fx, start, settings, progress, used_mem, false, file)
        .inspect_err(|e| write_error("rdbSaveRio", e))
        .and_then(|(file, bytes)| {
            file.sync_all()
                .inspect_err(|e| write_error("fsync", e))
                .map(|()| bytes)
        });
    match written {
        Ok(bytes) => Ok((temp, bytes)),
        Err(e) => {
            let _ = std::fs::remove_file(&temp);
            Err(e)
        }
    }
}

/// Redis's log line for a failed write of the snapshot (`op` names the failed step).
fn write_error(op: &str, e: &io::Error) {
    tracing::warn!(
        "Write error saving DB on disk({op}): {}",
        crate::util::fs::strerror(e)
    );
}

/// How a snapshot's keys are written: RDB records, or commands (an AOF base without the RDB
/// preamble).
pub trait KeyFormat {
    /// The start of database `db`'s keys (`keys`: its size at the instant, a hint).
    fn select_db(&mut self, out: &mut Vec<u8>, db: usize, keys: u64);
    fn key(&mut self, out: &mut Vec<u8>, key: &[u8], entry: &Entry);
}

/// RDB records ([`Encoder::key`]) after SELECTDB and RESIZEDB.
pub struct RdbKeys(pub Encoder);

impl KeyFormat for RdbKeys {
    fn select_db(&mut self, out: &mut Vec<u8>, db: usize, keys: u64) {
        out.push(super::rdb::opcode::SELECTDB);
        super::rdb::encode::write_len(out, db as u64);
        out.push(super::rdb::opcode::RESIZEDB);
        super::rdb::encode::write_len(out, keys);
        super::rdb::encode::write_len(out, 0);
    }

    fn key(&mut self, out: &mut Vec<u8>, key: &[u8], entry: &Entry) {
        self.0.key(out, key, entry);
    }
}

/// Walks the snapshot shard by shard: each shard's keys are encoded under its read lock into a
/// buffer, which `write` gets once the lock is released. Honours `abort` and
/// `rdb-key-save-delay`, and reports progress.
pub fn walk(
    store: &Store,
    fx: &Scope,
    start: &SnapshotStart,
    settings: &RdbSettings,
    progress: &Persistence,
    format: &mut dyn KeyFormat,
    write: &mut dyn FnMut(&[u8]) -> io::Result<()>,
) -> io::Result<()> {
    let mut buf = Vec::with_capacity(64 * 1024);
    progress
        .keys_total
        .store(start.keys.iter().sum(), Ordering::Relaxed);
    let st = store.with(fx);
    for (db, &keys) in start.keys.iter().enumerate() {
        let mut selected = false;
        for shard in 0..SHARDS {
            if progress.abort.load(Ordering::Relaxed) {
                return Err(io::Error::new(
                    io::ErrorKind::Interrupted,
                    "background save aborted",
                ));
            }
            buf.clear();
            if !selected {
                format.select_db(&mut buf, db, keys);
            }
            let mut n = 0u64;
            st.dump_shard(db, shard, |key, entry| {
                format.key(&mut buf, key, entry);
                n += 1;
            });
            if n == 0 {
                continue;
            }
            selected = true;
            write(&buf)?;
            progress.keys_processed.fetch_add(n, Ordering::Relaxed);
            if settings.key_save_delay_us > 0 {
                std::thread::sleep(std::time::Duration::from_micros(
                    settings.key_save_delay_us.saturating_mul(n),
                ));
            }
        }
    }
    Ok(())
}

/// Encodes the whole snapshot into `out` as an RDB file (`aof_base`: as an AOF's base).
#[allow(clippy::too_many_arguments)]
pub fn dump_into<W: io::Write>(
    store: &Store,
    fx: &Scope,
    start: &SnapshotStart,
    settings: &RdbSettings,
    progress: &Persistence,
    used_mem: u64,
    aof_base: bool,
    out: W,
) -> io::Result<(W, u64)> {
    let header = Header {
        ctime: start.at / 1000,
        used_mem,
        aof_base,
        functions: progress
            .functions
            .snapshot()
            .1
            .into_iter()
            .map(|lib| lib.code)
            .collect(),
    };
    let mut w = FileWriter::new(out, &header, settings.compression, settings.checksum);
    let mut format = RdbKeys(Encoder::new(settings.compression));
    walk(
        store,
        fx,
        start,
        settings,
        progress,
        &mut format,
        &mut |bytes| w.raw(bytes),
    )?;
    w.finish()
}

pub use crate::util::fs::sync_dir;
