//! Whole RDB files: the header and aux fields, database sections, the EOF opcode and the
//! CRC64 trailer, written to any `io::Write` and read from any `io::Read`.
//!
//! The writer buffers in memory and hands the sink large chunks, feeding the checksum as it
//! goes; the loader streams (the file is never held in memory whole) and hands each key to a
//! callback, so the caller decides where it goes (the keyspace, a DEBUG RELOAD, a test).

use std::io::{Read, Write};

use super::decode::Reader;
use super::encode::{write_len, Encoder};
use super::{opcode, RdbError, MAX_LOAD_VERSION, RDB_VERSION};
use crate::store::Entry;

/// What the aux fields of a new file say.
pub struct Header {
    /// Unix seconds at the start of the save (`ctime`).
    pub ctime: u64,
    /// Memory in use when the save started (`used-mem`).
    pub used_mem: u64,
    /// Whether this is the base of an AOF (`aof-base`).
    pub aof_base: bool,
    /// FUNCTION libraries' code, written as FUNCTION2 records after the aux fields.
    pub functions: Vec<bytes::Bytes>,
}

/// The Redis version we claim in `redis-ver` (the one whose behaviour we follow).
pub const REDIS_VERSION: &str = "7.0.15";
/// [`REDIS_VERSION`] as Redis's number, 0x00MMmmpp (`redis.REDIS_VERSION_NUM` in scripts).
pub const REDIS_VERSION_NUM: i64 = 0x07_00_0f;

const FLUSH_AT: usize = 256 * 1024;

/// Writes one RDB file.
pub struct FileWriter<W: Write> {
    out: W,
    buf: Vec<u8>,
    enc: Encoder,
    digest: Option<crc::Digest<'static, u64, crc::Table<16>>>,
    written: u64,
}

impl<W: Write> FileWriter<W> {
    /// Starts a file: magic and aux fields. `compress` is `rdbcompression`, `checksum`
    /// `rdbchecksum`.
    pub fn new(out: W, header: &Header, compress: bool, checksum: bool) -> Self {
        let mut w = FileWriter {
            out,
            buf: Vec::with_capacity(FLUSH_AT + 64 * 1024),
            enc: Encoder::new(compress),
            digest: checksum.then(|| super::crc64().digest()),
            written: 0,
        };
        w.buf
            .extend_from_slice(format!("REDIS{RDB_VERSION:04}").as_bytes());
        w.aux(b"redis-ver", REDIS_VERSION.as_bytes());
        w.aux(b"redis-bits", b"64");
        w.aux(b"ctime", header.ctime.to_string().as_bytes());
        w.aux(b"used-mem", header.used_mem.to_string().as_bytes());
        w.aux(b"aof-base", if header.aof_base { b"1" } else { b"0" });
        for code in &header.functions {
            w.buf.push(opcode::FUNCTION2);
            w.enc.string(&mut w.buf, code);
        }
        w
    }

    fn aux(&mut self, key: &[u8], value: &[u8]) {
        self.buf.push(opcode::AUX);
        self.enc.string(&mut self.buf, key);
        self.enc.string(&mut self.buf, value);
    }

    /// Starts database `db`'s section: SELECTDB and the RESIZEDB size hints.
    pub fn select_db(&mut self, db: usize, keys: u64, volatile: u64) -> std::io::Result<()> {
        self.buf.push(opcode::SELECTDB);
        write_len(&mut self.buf, db as u64);
        self.buf.push(opcode::RESIZEDB);
        write_len(&mut self.buf, keys);
        write_len(&mut self.buf, volatile);
        self.maybe_flush()
    }

    /// One key of the current database.
    pub fn entry(&mut self, key: &[u8], entry: &Entry) -> std::io::Result<()> {
        self.enc.key(&mut self.buf, key, entry);
        self.maybe_flush()
    }

    /// Appends pre-encoded keys (as [`Encoder::key`] writes them).
    pub fn raw(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.buf.extend_from_slice(bytes);
        self.maybe_flush()
    }

    fn maybe_flush(&mut self) -> std::io::Result<()> {
        if self.buf.len() >= FLUSH_AT {
            self.flush_buf()?;
        }
        Ok(())
    }

    fn flush_buf(&mut self) -> std::io::Result<()> {
        if let Some(d) = &mut self.digest {
            d.update(&self.buf);
        }
        self.out.write_all(&self.buf)?;
        self.written += self.buf.len() as u64;
        self.buf.clear();
        Ok(())
    }

    /// Ends the file (EOF and checksum); returns the sink and the bytes written.
    pub fn finish(mut self) -> std::io::Result<(W, u64)> {
        self.buf.push(opcode::EOF);
        self.flush_buf()?;
        let crc = self.digest.take().map_or(0, |d| d.finalize());
        self.out.write_all(&crc.to_le_bytes())?;
        self.out.flush()?;
        Ok((self.out, self.written + 8))
    }
}

/// What a loaded file said about itself and what it held.
#[derive(Debug, Default)]
pub struct Loaded {
    pub version: u16,
    /// Aux fields, in file order.
    pub aux: Vec<(Vec<u8>, Vec<u8>)>,
    /// Keys handed to the callback.
    pub keys: u64,
    /// Keys skipped because they had expired (when the caller asked for that).
    pub expired: u64,
    /// Empty collections skipped (Redis skips them too).
    pub empty: u64,
    /// Bytes consumed, up to and including the checksum.
    pub bytes: u64,
    /// FUNCTION libraries' code (FUNCTION2 records), in file order.
    pub functions: Vec<Vec<u8>>,
}

/// Loads one RDB file (or an AOF's RDB preamble) of `size` bytes from `input`.
///
/// Every key goes to `sink(db, key, entry)`; a key whose expiry is at or before
/// `skip_expired_before` (Unix ms; 0 = keep all) is counted and dropped, as a Redis master
/// does when it loads. A database number `>= databases` is an error, as in Redis.
pub fn load<R: Read>(
    input: R,
    size: u64,
    databases: usize,
    skip_expired_before: u64,
    mut resize_hint: impl FnMut(usize, u64),
    mut sink: impl FnMut(usize, &[u8], Entry) -> Result<(), RdbError>,
) -> Result<Loaded, RdbError> {
    let mut r = Reader::new(input, size, true);
    let magic: [u8; 9] = r.array()?;
    if &magic[..5] != b"REDIS" {
        return Err(RdbError::Corrupt {
            what: "Wrong signature trying to load DB from file".into(),
            offset: 0,
        });
    }
    let version = std::str::from_utf8(&magic[5..])
        .ok()
        .and_then(|s| s.parse::<u16>().ok())
        .filter(|v| (1..=MAX_LOAD_VERSION).contains(v))
        .ok_or_else(|| RdbError::Corrupt {
            what: format!(
                "Can't handle RDB format version {}",
                String::from_utf8_lossy(&magic[5..])
            ),
            offset: 5,
        })?;
    let mut loaded = Loaded {
        version,
        ..Loaded::default()
    };
    let mut db = 0usize;
    let mut expire_at: u64 = 0;
    // Every key is read into this one buffer (the store copies it into its node).
    let mut key = Vec::new();
    loop {
        let op = r.u8()?;
        match op {
            opcode::EXPIRETIME_MS => {
                expire_at = i64::from_le_bytes(r.array()?).max(1) as u64;
                continue;
            }
            opcode::EXPIRETIME => {
                let secs = i32::from_le_bytes(r.array()?);
                expire_at = (i64::from(secs) * 1000).max(1) as u64;
                continue;
            }
            opcode::IDLE => {
                r.length()?;
                continue;
            }
            opcode::FREQ => {
                r.u8()?;
                continue;
            }
            opcode::EOF => break,
            opcode::SELECTDB => {
                let n = r.length()?;
                if n >= databases as u64 {
                    return Err(r.corrupt(format!(
                        "FATAL: Data file was created with a Redis server configured to handle more than {databases} databases"
                    )));
                }
                db = n as usize;
                continue;
            }
            opcode::RESIZEDB => {
                let keys = r.length()?;
                r.length()?;
                // A hint only: a corrupt count must not size an allocation beyond what the
                // rest of the file could hold (a key takes at least 3 bytes).
                resize_hint(db, keys.min(r.left() / 3));
                continue;
            }
            opcode::AUX => {
                let k = r.string()?;
                let v = r.string()?;
                loaded.aux.push((k, v));
                continue;
            }
            opcode::MODULE_AUX => {
                return Err(r.corrupt("Module auxiliary data is not supported"));
            }
            opcode::FUNCTION2 => {
                loaded.functions.push(r.string()?);
                continue;
            }
            opcode::FUNCTION => {
                // Redis 7.0 release candidates' format (name, engine, description, code).
                return Err(r.corrupt("Pre-GA function format not supported"));
            }
            _ => {}
        }
        r.string_into(&mut key)?;
        let value = r.value(op)?;
        let at = std::mem::take(&mut expire_at);
        let Some(value) = value else {
            loaded.empty += 1;
            continue;
        };
        if at != 0 && skip_expired_before != 0 && at <= skip_expired_before {
            loaded.expired += 1;
            continue;
        }
        loaded.keys += 1;
        sink(db, &key, Entry::new(value, at))?;
    }
    if version >= 5 {
        let computed = r.crc();
        let stored = u64::from_le_bytes(r.array()?);
        if stored != 0 && stored != computed {
            return Err(r.corrupt("Wrong RDB checksum"));
        }
    }
    loaded.bytes = r.offset();
    Ok(loaded)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{StrBuf, Value};

    fn header() -> Header {
        Header {
            functions: Vec::new(),
            ctime: 1_700_000_000,
            used_mem: 1 << 20,
            aof_base: false,
        }
    }

    fn sample(checksum: bool) -> Vec<u8> {
        let mut w = FileWriter::new(Vec::new(), &header(), true, checksum);
        w.select_db(0, 2, 1).unwrap();
        w.entry(b"a", &Entry::new(Value::Str(StrBuf::from_slice(b"1")), 0))
            .unwrap();
        w.entry(
            b"b",
            &Entry::new(Value::Str(StrBuf::from_slice(b"hello")), 4_000_000_000_000),
        )
        .unwrap();
        w.select_db(3, 1, 0).unwrap();
        w.entry(b"c", &Entry::new(Value::Str(StrBuf::from_slice(b"x")), 5))
            .unwrap();
        w.finish().unwrap().0
    }

    #[test]
    fn a_written_file_loads_back() {
        for checksum in [true, false] {
            let bytes = sample(checksum);
            assert!(bytes.starts_with(b"REDIS0010"));
            let mut keys = Vec::new();
            let loaded = load(
                &bytes[..],
                bytes.len() as u64,
                16,
                10,
                |_, _| {},
                |db, k, e| {
                    keys.push((db, k.to_vec(), e.expire_at));
                    Ok(())
                },
            )
            .unwrap();
            assert_eq!(loaded.version, 10);
            assert_eq!(loaded.bytes, bytes.len() as u64);
            assert_eq!(loaded.expired, 1);
            assert_eq!(
                keys,
                vec![(0, b"a".to_vec(), 0), (0, b"b".to_vec(), 4_000_000_000_000)]
            );
            let aux: Vec<&[u8]> = loaded.aux.iter().map(|(k, _)| &k[..]).collect();
            assert_eq!(
                aux,
                [
                    &b"redis-ver"[..],
                    b"redis-bits",
                    b"ctime",
                    b"used-mem",
                    b"aof-base"
                ]
            );
        }
    }

    #[test]
    fn checksum_and_database_count_are_enforced() {
        let mut bytes = sample(true);
        let n = bytes.len();
        bytes[n - 12] ^= 0x40;
        let err = load(&bytes[..], n as u64, 16, 0, |_, _| {}, |_, _, _| Ok(())).unwrap_err();
        assert!(err.to_string().contains("checksum") || err.to_string().contains("at offset"));
        let bytes = sample(true);
        let err = load(
            &bytes[..],
            bytes.len() as u64,
            2,
            0,
            |_, _| {},
            |_, _, _| Ok(()),
        )
        .unwrap_err();
        assert!(err.to_string().contains("databases"), "{err}");
    }

    #[test]
    fn every_truncation_is_an_error() {
        let bytes = sample(true);
        for cut in 0..bytes.len() {
            assert!(
                load(
                    &bytes[..cut],
                    cut as u64,
                    16,
                    0,
                    |_, _| {},
                    |_, _, _| Ok(())
                )
                .is_err(),
                "cut at {cut}"
            );
        }
    }
}
