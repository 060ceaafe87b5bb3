//! Loading an RDB file into the keyspace (start-up, DEBUG RELOAD).
//!
//! Keys are inserted through the store's ordinary write path (one shard lock per key), so a
//! load may run while the loops serve other clients (they get `-LOADING` meanwhile, see
//! [`super::gate`]). Keys already expired are skipped, as a Redis master does.

use std::fs::File;
use std::io::BufReader;
use std::path::Path;
use std::sync::atomic::Ordering;

use super::rdb::file::{load, Loaded};
use super::rdb::RdbError;
use super::Persistence;
use crate::store::{Scope, Store};

/// Why a file could not be loaded: the message names the file and, for bad content, the
/// offset.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {source}")]
pub struct LoadError {
    pub path: String,
    pub source: RdbError,
}

/// Loads `path` into `store` in execution `fx`. A key already present is an error (Redis's
/// "Duplicated key found in RDB file") unless `merge`, where the file's version replaces it.
/// `Ok(None)` when there is no such file.
pub fn load_file(
    store: &Store,
    fx: &Scope,
    path: &Path,
    progress: &Persistence,
    merge: bool,
) -> Result<Option<Loaded>, LoadError> {
    let err = |source: RdbError| LoadError {
        path: path.display().to_string(),
        source,
    };
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(err(e.into())),
    };
    let size = file.metadata().map_err(|e| err(e.into()))?.len();
    let delay_us = progress.settings().key_load_delay_us;
    progress
        .loading_started
        .store(crate::clock::now_ms() / 1000, Ordering::Relaxed);
    progress.loading_total_bytes.store(size, Ordering::Relaxed);
    progress.loading_loaded_bytes.store(0, Ordering::Relaxed);
    let st = store.with(fx);
    let now = crate::clock::now_ms();
    let loaded = load(
        BufReader::with_capacity(1 << 20, file),
        size,
        store.len(),
        now,
        |db, key, entry| {
            let fresh = st.db(db).write(&key, now, |slot| slot.put(entry).is_none());
            if !fresh && !merge {
                return Err(RdbError::Corrupt {
                    what: format!(
                        "RDB has duplicated key '{}' in DB {db}",
                        String::from_utf8_lossy(&key)
                    ),
                    offset: 0,
                });
            }
            if delay_us > 0 {
                std::thread::sleep(std::time::Duration::from_micros(delay_us));
            }
            Ok(())
        },
    )
    .map_err(err)?;
    progress.loading_loaded_bytes.store(size, Ordering::Relaxed);
    progress
        .load_keys_loaded
        .store(loaded.keys, Ordering::Relaxed);
    progress
        .load_keys_expired
        .store(loaded.expired, Ordering::Relaxed);
    Ok(Some(loaded))
}
