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
use crate::store::{Scope, Store, SHARDS};

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
    let finish = || -> io::Result<()> {
        std::fs::rename(&temp, &target)?;
        sync_dir(&settings.dir)
    };
    finish().inspect_err(|_| {
        let _ = std::fs::remove_file(&temp);
    })?;
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
    let file = File::create(&temp)?;
    let written = dump_into(store, fx, start, settings, progress, used_mem, file)
        .and_then(|(file, bytes)| file.sync_all().map(|()| bytes));
    match written {
        Ok(bytes) => Ok((temp, bytes)),
        Err(e) => {
            let _ = std::fs::remove_file(&temp);
            Err(e)
        }
    }
}

/// Encodes the whole snapshot into `out` as an RDB file.
pub fn dump_into<W: io::Write>(
    store: &Store,
    fx: &Scope,
    start: &SnapshotStart,
    settings: &RdbSettings,
    progress: &Persistence,
    used_mem: u64,
    out: W,
) -> io::Result<(W, u64)> {
    let header = Header {
        ctime: start.at / 1000,
        used_mem,
        aof_base: false,
    };
    let mut w = FileWriter::new(out, &header, settings.compression, settings.checksum);
    let mut enc = Encoder::new(settings.compression);
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
            let mut n = 0u64;
            st.dump_shard(db, shard, |key, entry| {
                enc.key(&mut buf, key, entry);
                n += 1;
            });
            if n == 0 {
                continue;
            }
            if !selected {
                w.select_db(db, keys, 0)?;
                selected = true;
            }
            w.raw(&buf)?;
            progress.keys_processed.fetch_add(n, Ordering::Relaxed);
            if settings.key_save_delay_us > 0 {
                std::thread::sleep(std::time::Duration::from_micros(
                    settings.key_save_delay_us.saturating_mul(n),
                ));
            }
        }
    }
    w.finish()
}

/// fsyncs a directory, so a rename inside it survives a crash.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}
