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
use crate::store::{DbRef, Entry, Scope, Store};

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
/// `Ok(None)` when there is no such file. With `workers > 1` the file is decoded on this
/// thread and the keys are inserted by that many threads, each owning a share of the shards
/// (see [`insert_in_parallel`]); `fx` must then hold no shard lock (start-up, not EXEC).
pub fn load_file(
    store: &Store,
    fx: &Scope,
    path: &Path,
    progress: &Persistence,
    merge: bool,
    workers: usize,
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
    let input = BufReader::with_capacity(1 << 20, file);
    // RESIZEDB: size each shard's table once, instead of rehashing it as it grows.
    let reserve = |db: usize, keys: u64| {
        if st.db(db).is_empty() {
            st.db(db).reserve(keys as usize);
        }
    };
    let loaded = if workers > 1 && delay_us == 0 {
        insert_in_parallel(store, workers, merge, now, |sink| {
            load(input, size, store.len(), now, reserve, sink)
        })
    } else {
        load(input, size, store.len(), now, reserve, |db, key, entry| {
            insert(st.db(db), key, entry, now, merge)?;
            if delay_us > 0 {
                std::thread::sleep(std::time::Duration::from_micros(delay_us));
            }
            Ok(())
        })
    }
    .map_err(err)?;
    progress.loading_loaded_bytes.store(size, Ordering::Relaxed);
    if !loaded.functions.is_empty() || !merge {
        let libraries = crate::lua::functions::compile_all(
            &loaded.functions,
            super::rdb::file::REDIS_VERSION,
            super::rdb::file::REDIS_VERSION_NUM,
        )
        .map_err(|e| {
            err(RdbError::Corrupt {
                what: format!("Failed loading library: {e}"),
                offset: 0,
            })
        })?;
        progress.functions.replace_all(libraries);
    }
    progress
        .load_keys_loaded
        .store(loaded.keys, Ordering::Relaxed);
    progress
        .load_keys_expired
        .store(loaded.expired, Ordering::Relaxed);
    Ok(Some(loaded))
}

/// Inserts one loaded key; a key already there is an error unless `merge`.
fn insert(db: DbRef<'_>, key: &[u8], entry: Entry, now: u64, merge: bool) -> Result<(), RdbError> {
    let fresh = db.write(key, now, |slot| slot.put(entry).is_none());
    if !fresh && !merge {
        return Err(RdbError::Corrupt {
            what: format!(
                "RDB has duplicated key '{}' in DB {}",
                String::from_utf8_lossy(key),
                db.index()
            ),
            offset: 0,
        });
    }
    Ok(())
}

/// Keys decoded for one worker: their bytes end to end in `keys`, and per key its database,
/// where its bytes end, and its entry.
#[derive(Default)]
struct Batch {
    keys: Vec<u8>,
    records: Vec<(usize, usize, Entry)>,
}

/// Keys per batch handed to a worker.
const BATCH: usize = 2048;

/// Runs `decode` (the file's decoder) on this thread with a sink that hands each key to one
/// of `workers` inserting threads: the worker that owns the key's shard (shard index modulo
/// `workers`), so that workers never wait on each other's locks and each touches only its
/// share of the tables. The first error (the decoder's, or a worker's duplicate key) stops
/// the load.
fn insert_in_parallel(
    store: &Store,
    workers: usize,
    merge: bool,
    now: u64,
    decode: impl FnOnce(
        &mut dyn FnMut(usize, &[u8], Entry) -> Result<(), RdbError>,
    ) -> Result<Loaded, RdbError>,
) -> Result<Loaded, RdbError> {
    use std::sync::atomic::AtomicBool;
    use std::sync::mpsc::sync_channel;
    let failed = AtomicBool::new(false);
    std::thread::scope(|threads| {
        let mut senders = Vec::with_capacity(workers);
        let mut handles = Vec::with_capacity(workers);
        for w in 0..workers {
            let (tx, rx) = sync_channel::<Batch>(4);
            senders.push(tx);
            let failed = &failed;
            let spawned = std::thread::Builder::new()
                .name(format!("ferrokv-load-{w}"))
                .spawn_scoped(threads, move || -> Result<(), RdbError> {
                    let fx = Scope::new(None, None);
                    let st = store.with(&fx);
                    for batch in rx {
                        let mut from = 0;
                        for (db, to, entry) in batch.records {
                            if let Err(e) =
                                insert(st.db(db), &batch.keys[from..to], entry, now, merge)
                            {
                                failed.store(true, Ordering::Relaxed);
                                return Err(e);
                            }
                            from = to;
                        }
                    }
                    Ok(())
                });
            match spawned {
                Ok(h) => handles.push(h),
                Err(e) => return Err(RdbError::Io(e)),
            }
        }
        let mut batches: Vec<Batch> = (0..workers).map(|_| Batch::default()).collect();
        let stopped = || RdbError::Corrupt {
            what: "a loading thread stopped".into(),
            offset: 0,
        };
        let mut sink = |db: usize, key: &[u8], entry: Entry| -> Result<(), RdbError> {
            let d = store.db(db);
            let w = d.shard_of(d.hash(key)) % workers;
            let b = &mut batches[w];
            b.keys.extend_from_slice(key);
            b.records.push((db, b.keys.len(), entry));
            if b.records.len() >= BATCH {
                if failed.load(Ordering::Relaxed) {
                    return Err(stopped());
                }
                let full = std::mem::take(b);
                senders[w].send(full).map_err(|_| stopped())?;
            }
            Ok(())
        };
        let decoded = decode(&mut sink);
        if decoded.is_ok() {
            for (w, b) in batches.into_iter().enumerate() {
                if !b.records.is_empty() {
                    let _ = senders[w].send(b);
                }
            }
        }
        drop(senders);
        // A worker's error (a duplicate key) explains a decoder stopped by it.
        let mut first_worker_error = None;
        for h in handles {
            let outcome = h.join().unwrap_or_else(|_| Err(stopped()));
            if let Err(e) = outcome {
                first_worker_error.get_or_insert(e);
            }
        }
        match (decoded, first_worker_error) {
            (_, Some(e)) => Err(e),
            (decoded, None) => decoded,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::persist::RdbSettings;

    /// An RDB file (no checksum) with `keys` as string keys of db 0, RESIZEDB first.
    fn rdb_with(keys: &[String]) -> Vec<u8> {
        let mut f = b"REDIS0010".to_vec();
        f.extend_from_slice(&[254, 0, 251]);
        f.extend_from_slice(&[0x80]);
        f.extend_from_slice(&(keys.len() as u32).to_be_bytes());
        f.push(0);
        for k in keys {
            f.push(0);
            f.push(k.len() as u8);
            f.extend_from_slice(k.as_bytes());
            f.extend_from_slice(&[1, b'v']);
        }
        f.push(255);
        f.extend_from_slice(&[0; 8]);
        f
    }

    fn load_with(workers: usize, bytes: &[u8]) -> (Result<Option<Loaded>, LoadError>, usize) {
        let dir = std::env::temp_dir().join(format!(
            "ferrokv-load-{}-{workers}-{}",
            std::process::id(),
            bytes.len()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("dump.rdb");
        std::fs::write(&path, bytes).unwrap();
        let store = Store::new(2);
        let fx = Scope::new(None, None);
        let p = Persistence::new(RdbSettings::default(), 0);
        let r = load_file(&store, &fx, &path, &p, false, workers);
        let n = store.with(&fx).db(0).len();
        std::fs::remove_dir_all(&dir).unwrap();
        (r, n)
    }

    #[test]
    fn parallel_and_sequential_loads_insert_the_same_keys() {
        let keys: Vec<String> = (0..20_000).map(|i| format!("key:{i}")).collect();
        let bytes = rdb_with(&keys);
        for workers in [1, 3] {
            let (r, n) = load_with(workers, &bytes);
            assert_eq!(r.unwrap().unwrap().keys, 20_000, "{workers} workers");
            assert_eq!(n, 20_000, "{workers} workers");
        }
    }

    #[test]
    fn a_duplicated_key_fails_the_load_with_any_number_of_workers() {
        let mut keys: Vec<String> = (0..10_000).map(|i| format!("key:{i}")).collect();
        keys.push("key:77".into());
        keys.extend((10_000..12_000).map(|i| format!("key:{i}")));
        let bytes = rdb_with(&keys);
        for workers in [1, 3] {
            let e = load_with(workers, &bytes).0.unwrap_err();
            assert!(
                e.to_string().contains("duplicated key 'key:77'"),
                "{workers} workers: {e}"
            );
        }
    }
}
