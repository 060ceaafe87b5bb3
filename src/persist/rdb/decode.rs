//! The reader side of the RDB codec: lengths, strings and values of every encoding Redis
//! 2.x .. 7.2 writes for strings, lists, hashes, sets and sorted sets.
//!
//! Invariants (the input may be a corrupt file or a hostile RESTORE payload):
//! - every length is checked against the bytes left in the input before anything is read or
//!   allocated, so an allocation is never larger than the input itself;
//! - element counts are never trusted for pre-allocation beyond what the input could hold;
//! - every embedded blob (listpack, ziplist, intset, zipmap) is fully validated before use;
//! - duplicates, NaN scores and unknown types are errors (Redis reports them as corruption),
//!   and an empty collection is reported as `None` (Redis skips such keys).

use std::io::Read;

use super::{kind, listpack, lzf, RdbError, QUICKLIST_PACKED, QUICKLIST_PLAIN};
use crate::store::types::{Hash, List, Set, ZSet};
use crate::store::{StrBuf, Value};

/// A byte source with a position, an optional running CRC64 and a bound on what is left.
///
/// It reads the input in chunks into its own buffer, so that the many tiny reads of a load
/// (type bytes, lengths) are an index increment; the CRC64 is computed over whole consumed
/// stretches of the buffer, not byte by byte. It may read ahead of what it hands out, so the
/// input must not be read by anyone else afterwards (the AOF loader reopens its file).
pub struct Reader<R> {
    input: R,
    offset: u64,
    /// Bytes the input holds from `offset` on (its size is known up front).
    left: u64,
    digest: Option<crc::Digest<'static, u64, crc::Table<16>>>,
    /// Read ahead: `buf[pos..end]` is not handed out yet; `buf[crc_from..pos]` is handed out
    /// but not yet in the digest.
    buf: Box<[u8]>,
    pos: usize,
    end: usize,
    crc_from: usize,
    /// Reused for string values.
    scratch: Vec<u8>,
}

/// The read-ahead chunk.
const CHUNK: usize = 256 * 1024;

impl<'a> Reader<&'a [u8]> {
    /// A reader over a whole payload held in memory (RESTORE).
    pub fn from_slice(bytes: &'a [u8]) -> Self {
        Reader::new(bytes, bytes.len() as u64, false)
    }
}

impl<R: Read> Reader<R> {
    /// `size`: the bytes the input holds; `checksum`: keep a running CRC64 of what is read.
    pub fn new(input: R, size: u64, checksum: bool) -> Self {
        Reader {
            input,
            offset: 0,
            left: size,
            digest: checksum.then(|| super::crc64().digest()),
            buf: vec![0u8; CHUNK.min(size as usize)].into_boxed_slice(),
            pos: 0,
            end: 0,
            crc_from: 0,
            scratch: Vec::new(),
        }
    }

    /// Where the next byte is read from.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Bytes left in the input.
    pub fn left(&self) -> u64 {
        self.left
    }

    /// The CRC64 of everything read so far (0 when no checksum is kept).
    pub fn crc(&self) -> u64 {
        self.digest.clone().map_or(0, |mut d| {
            d.update(&self.buf[self.crc_from..self.pos]);
            d.finalize()
        })
    }

    /// An error at the current offset.
    pub fn corrupt(&self, what: impl Into<String>) -> RdbError {
        RdbError::Corrupt {
            what: what.into(),
            offset: self.offset,
        }
    }

    /// Err when the input has fewer than `n` bytes left: checked before anything of that
    /// size is allocated.
    fn ensure_left(&self, n: u64) -> Result<(), RdbError> {
        if n > self.left {
            return Err(RdbError::Truncated {
                offset: self.offset + self.left,
            });
        }
        Ok(())
    }

    /// The next `n` bytes when the read-ahead buffer holds them all (consumed), else `None`.
    /// The buffer never holds more than the input has left.
    fn take_buffered(&mut self, n: usize) -> Option<&[u8]> {
        if self.end - self.pos < n {
            return None;
        }
        let at = self.pos;
        self.pos += n;
        self.offset += n as u64;
        self.left -= n as u64;
        Some(&self.buf[at..at + n])
    }

    fn fill(&mut self, out: &mut [u8]) -> Result<(), RdbError> {
        let n = out.len();
        self.ensure_left(n as u64)?;
        if let Some(b) = self.take_buffered(n) {
            out.copy_from_slice(b);
            return Ok(());
        }
        self.fill_slow(out)?;
        self.offset += n as u64;
        self.left -= n as u64;
        Ok(())
    }

    /// `out` needs more than the buffer holds: hand out the rest of the buffer, then read
    /// big requests straight into `out` and small ones through a refilled buffer.
    #[cold]
    fn fill_slow(&mut self, out: &mut [u8]) -> Result<(), RdbError> {
        let have = self.end - self.pos;
        out[..have].copy_from_slice(&self.buf[self.pos..self.end]);
        self.pos = self.end;
        if let Some(d) = &mut self.digest {
            d.update(&self.buf[self.crc_from..self.end]);
        }
        self.pos = 0;
        self.end = 0;
        self.crc_from = 0;
        let rest = &mut out[have..];
        let truncated = |at: u64| RdbError::Truncated { offset: at };
        if rest.len() >= self.buf.len() {
            self.input.read_exact(rest).map_err(|e| {
                if e.kind() == std::io::ErrorKind::UnexpectedEof {
                    truncated(self.offset + have as u64)
                } else {
                    RdbError::Io(e)
                }
            })?;
            if let Some(d) = &mut self.digest {
                d.update(rest);
            }
            return Ok(());
        }
        // Refill up to a chunk (never past the input's size), at least `rest.len()` bytes.
        let want = (self.buf.len() as u64).min(self.left - have as u64) as usize;
        while self.end < rest.len() {
            match self.input.read(&mut self.buf[self.end..want]) {
                Ok(0) => return Err(truncated(self.offset + (have + self.end) as u64)),
                Ok(k) => self.end += k,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(RdbError::Io(e)),
            }
        }
        rest.copy_from_slice(&self.buf[..rest.len()]);
        self.pos = rest.len();
        Ok(())
    }

    pub fn array<const N: usize>(&mut self) -> Result<[u8; N], RdbError> {
        let mut b = [0u8; N];
        self.fill(&mut b)?;
        Ok(b)
    }

    pub fn u8(&mut self) -> Result<u8, RdbError> {
        Ok(self.array::<1>()?[0])
    }

    /// `n` bytes; `n` larger than what is left is an error before any allocation.
    pub fn bytes(&mut self, n: u64) -> Result<Vec<u8>, RdbError> {
        self.ensure_left(n)?;
        let mut v = vec![0u8; n as usize];
        self.fill(&mut v)?;
        Ok(v)
    }

    /// A length, or the special-encoding marker: `(value, true)` for `11xxxxxx` bytes.
    fn len_or_special(&mut self) -> Result<(u64, bool), RdbError> {
        let first = self.u8()?;
        Ok(match first >> 6 {
            0 => (u64::from(first & 0x3f), false),
            1 => {
                let next = self.u8()?;
                ((u64::from(first & 0x3f) << 8) | u64::from(next), false)
            }
            2 => match first {
                0x80 => (u64::from(u32::from_be_bytes(self.array()?)), false),
                0x81 => (u64::from_be_bytes(self.array()?), false),
                _ => return Err(self.corrupt(format!("Unknown length encoding {first}"))),
            },
            _ => (u64::from(first & 0x3f), true),
        })
    }

    /// A plain length (`rdbLoadLen`).
    pub fn length(&mut self) -> Result<u64, RdbError> {
        match self.len_or_special()? {
            (n, false) => Ok(n),
            (_, true) => Err(self.corrupt("Unexpected special encoding where a length belongs")),
        }
    }

    /// A count of elements, each of which takes at least `min_bytes` of input: larger counts
    /// cannot be genuine.
    pub fn count(&mut self, min_bytes: u64) -> Result<u64, RdbError> {
        let n = self.length()?;
        if n.saturating_mul(min_bytes) > self.left {
            return Err(self.corrupt(format!("Element count {n} beyond the end of the input")));
        }
        Ok(n)
    }

    /// A string in any encoding (integer, LZF, raw), as bytes (`rdbGenericLoadStringObject`).
    pub fn string(&mut self) -> Result<Vec<u8>, RdbError> {
        let mut out = Vec::new();
        self.string_into(&mut out)?;
        Ok(out)
    }

    /// [`Reader::string`] into `out` (cleared first), reusing its allocation: the loader reads
    /// every key and small value through one buffer instead of allocating each.
    pub fn string_into(&mut self, out: &mut Vec<u8>) -> Result<(), RdbError> {
        out.clear();
        let (n, special) = self.len_or_special()?;
        if !special {
            self.ensure_left(n)?;
            let n = n as usize;
            if let Some(b) = self.take_buffered(n) {
                // The common case, without zeroing `out` first.
                out.extend_from_slice(b);
                return Ok(());
            }
            out.resize(n, 0);
            return self.fill(out);
        }
        out.extend_from_slice(&self.special_string(n)?);
        Ok(())
    }

    /// A specially encoded string (`n`: the encoding): an integer or LZF-compressed bytes.
    fn special_string(&mut self, n: u64) -> Result<Vec<u8>, RdbError> {
        let v: i64 = match n {
            0 => i64::from(self.u8()? as i8),
            1 => i64::from(i16::from_le_bytes(self.array()?)),
            2 => i64::from(i32::from_le_bytes(self.array()?)),
            3 => {
                let clen = self.length()?;
                let ulen = self.length()?;
                // LZF expands at most ~132 times (a 2-byte back-reference of 264 bytes).
                if ulen > clen.saturating_mul(132).saturating_add(64) {
                    return Err(self.corrupt("LZF length beyond what the compressed data holds"));
                }
                let at = self.offset;
                let packed = self.bytes(clen)?;
                return lzf::decompress(&packed, ulen as usize).map_err(|e| RdbError::Corrupt {
                    what: format!("Invalid LZF compressed string: {e}"),
                    offset: at,
                });
            }
            _ => return Err(self.corrupt(format!("Unknown RDB string encoding type {n}"))),
        };
        Ok(itoa::Buffer::new().format(v).as_bytes().to_vec())
    }

    /// A binary double (ZSET_2 scores).
    fn binary_double(&mut self) -> Result<f64, RdbError> {
        Ok(f64::from_le_bytes(self.array()?))
    }

    /// A double in the old text form (ZSET scores): a length byte with 253/254/255 meaning
    /// NaN/+inf/-inf.
    fn text_double(&mut self) -> Result<f64, RdbError> {
        match self.u8()? {
            253 => Ok(f64::NAN),
            254 => Ok(f64::INFINITY),
            255 => Ok(f64::NEG_INFINITY),
            n => {
                let b = self.bytes(u64::from(n))?;
                crate::util::num::parse_f64_strtod(&b)
                    .ok_or_else(|| self.corrupt("Invalid double value"))
            }
        }
    }

    /// A value of RDB type `kind`; `None` for an empty collection (skipped, as Redis does).
    pub fn value(&mut self, kind: u8) -> Result<Option<Value>, RdbError> {
        let v = match kind {
            kind::STRING => {
                // Small values land inline in the StrBuf: read them without a heap buffer.
                // (Larger ones keep the buffer they were read into.)
                let mut scratch = std::mem::take(&mut self.scratch);
                let read = self.string_into(&mut scratch);
                let value = if scratch.len() <= StrBuf::new().inline_size() {
                    let v = StrBuf::from_slice(&scratch);
                    self.scratch = scratch;
                    v
                } else {
                    StrBuf::from_vec(scratch)
                };
                read?;
                Value::Str(value)
            }
            kind::LIST => {
                let n = self.count(1)?;
                let mut list = List::new();
                for _ in 0..n {
                    list.push_back(&self.string()?);
                }
                Value::List(Box::new(list))
            }
            kind::LIST_QUICKLIST | kind::LIST_QUICKLIST_2 => {
                let nodes = self.count(1)?;
                let mut list = List::new();
                for _ in 0..nodes {
                    let container = if kind == kind::LIST_QUICKLIST_2 {
                        self.length()?
                    } else {
                        QUICKLIST_PACKED
                    };
                    let at = self.offset;
                    let blob = self.string()?;
                    match container {
                        QUICKLIST_PLAIN => list.push_back(&blob),
                        QUICKLIST_PACKED => {
                            let items = if kind == kind::LIST_QUICKLIST_2 {
                                listpack::decode(&blob)
                            } else {
                                super::ziplist::decode(&blob)
                            }
                            .map_err(|e| blob_error("quicklist node", e, at))?;
                            for item in items {
                                with_item(item, |b| list.push_back(b));
                            }
                        }
                        c => return Err(self.corrupt(format!("Unknown quicklist container {c}"))),
                    }
                }
                Value::List(Box::new(list))
            }
            kind::LIST_ZIPLIST => {
                let at = self.offset;
                let blob = self.string()?;
                let items =
                    super::ziplist::decode(&blob).map_err(|e| blob_error("ziplist", e, at))?;
                let mut list = List::new();
                for item in items {
                    with_item(item, |b| list.push_back(b));
                }
                Value::List(Box::new(list))
            }
            kind::SET => {
                let n = self.count(1)?;
                let mut set = Set::new();
                for _ in 0..n {
                    let m = self.string()?;
                    if !set.add(&m) {
                        return Err(self.corrupt("Duplicate set members detected"));
                    }
                }
                Value::Set(Box::new(set))
            }
            kind::SET_INTSET => {
                let at = self.offset;
                let blob = self.string()?;
                let ints = super::intset::decode(&blob).map_err(|e| blob_error("intset", e, at))?;
                let mut set = Set::new();
                for v in ints {
                    set.add_member(crate::store::types::set::Member::Int(v));
                }
                Value::Set(Box::new(set))
            }
            kind::SET_LISTPACK => {
                let at = self.offset;
                let blob = self.string()?;
                let items = listpack::decode(&blob).map_err(|e| blob_error("listpack", e, at))?;
                let mut set = Set::new();
                for item in items {
                    if !with_item(item, |b| set.add(b)) {
                        return Err(RdbError::Corrupt {
                            what: "Duplicate set members detected".into(),
                            offset: at,
                        });
                    }
                }
                Value::Set(Box::new(set))
            }
            kind::ZSET | kind::ZSET_2 => {
                let n = self.count(2)?;
                let mut pairs = Vec::new();
                for _ in 0..n {
                    let m = self.string()?;
                    let score = if kind == kind::ZSET_2 {
                        self.binary_double()?
                    } else {
                        self.text_double()?
                    };
                    if score.is_nan() {
                        return Err(self.corrupt("Zset with NAN score detected"));
                    }
                    pairs.push((StrBuf::from_vec(m), score));
                }
                let at = self.offset;
                zset_from(pairs, at, false)?
            }
            kind::ZSET_ZIPLIST | kind::ZSET_LISTPACK => {
                let at = self.offset;
                let blob = self.string()?;
                let items = if kind == kind::ZSET_LISTPACK {
                    listpack::decode(&blob)
                } else {
                    super::ziplist::decode(&blob)
                }
                .map_err(|e| blob_error("sorted set blob", e, at))?;
                if items.len() % 2 != 0 {
                    return Err(blob_error("sorted set blob", "odd number of elements", at));
                }
                let mut pairs = Vec::with_capacity(items.len() / 2);
                for pair in items.chunks_exact(2) {
                    let score = match pair[1] {
                        listpack::Item::Int(v) => v as f64,
                        listpack::Item::Str(s) => crate::util::num::parse_f64_strtod(s)
                            .filter(|f| !f.is_nan())
                            .ok_or_else(|| blob_error("sorted set blob", "invalid score", at))?,
                    };
                    pairs.push((StrBuf::from_vec(pair[0].to_bytes()), score));
                }
                // A packed payload converts on its length only (Redis 7.0's loader).
                zset_from(pairs, at, true)?
            }
            kind::HASH => {
                let n = self.count(2)?;
                let mut hash = Hash::new();
                for _ in 0..n {
                    let f = self.string()?;
                    let v = self.string()?;
                    if !hash.set(&f, &v) {
                        return Err(self.corrupt("Duplicate hash fields detected"));
                    }
                }
                Value::Hash(Box::new(hash))
            }
            kind::HASH_ZIPMAP => {
                let at = self.offset;
                let blob = self.string()?;
                let pairs =
                    super::zipmap::decode(&blob).map_err(|e| blob_error("zipmap", e, at))?;
                let mut hash = Hash::new();
                for (f, v) in pairs {
                    if !hash.set(f, v) {
                        return Err(blob_error("zipmap", "duplicate hash fields", at));
                    }
                }
                Value::Hash(Box::new(hash))
            }
            kind::HASH_ZIPLIST | kind::HASH_LISTPACK => {
                let at = self.offset;
                let blob = self.string()?;
                let items = if kind == kind::HASH_LISTPACK {
                    listpack::decode(&blob)
                } else {
                    super::ziplist::decode(&blob)
                }
                .map_err(|e| blob_error("hash blob", e, at))?;
                if items.len() % 2 != 0 {
                    return Err(blob_error("hash blob", "odd number of elements", at));
                }
                let mut hash = Hash::new();
                for pair in items.chunks_exact(2) {
                    if !hash.set_loaded(&pair[0].to_bytes(), &pair[1].to_bytes()) {
                        return Err(blob_error("hash blob", "duplicate hash fields", at));
                    }
                }
                Value::Hash(Box::new(hash))
            }
            kind::STREAM_LISTPACKS | kind::STREAM_LISTPACKS_2 | kind::STREAM_LISTPACKS_3 => {
                // TODO(issue 14): streams.
                return Err(self.corrupt("Stream values are not supported yet"));
            }
            kind::MODULE | kind::MODULE_2 => {
                return Err(self.corrupt("Module values are not supported"));
            }
            other => return Err(self.corrupt(format!("Unknown RDB encoding type {other}"))),
        };
        Ok((!is_empty(&v)).then_some(v))
    }
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Str(_) => false,
        Value::List(l) => l.is_empty(),
        Value::Hash(h) => h.is_empty(),
        Value::Set(s) => s.is_empty(),
        Value::ZSet(z) => z.is_empty(),
    }
}

fn blob_error(what: &str, e: &str, offset: u64) -> RdbError {
    RdbError::Corrupt {
        what: format!("Invalid {what}: {e}"),
        offset,
    }
}

/// Calls `f` with an element's bytes (integers as decimal text).
fn with_item<R>(item: listpack::Item<'_>, f: impl FnOnce(&[u8]) -> R) -> R {
    match item {
        listpack::Item::Str(s) => f(s),
        listpack::Item::Int(v) => f(itoa::Buffer::new().format(v).as_bytes()),
    }
}

/// A zset from loaded pairs, refusing duplicate members (Redis: "Duplicate zset fields").
fn zset_from(pairs: Vec<(StrBuf, f64)>, offset: u64, packed: bool) -> Result<Value, RdbError> {
    let mut seen = hashbrown::HashSet::with_capacity(pairs.len());
    if !pairs.iter().all(|(m, _)| seen.insert(&m[..])) {
        return Err(RdbError::Corrupt {
            what: "Duplicate zset fields detected".into(),
            offset,
        });
    }
    drop(seen);
    Ok(Value::ZSet(Box::new(if packed {
        ZSet::from_packed_pairs(pairs)
    } else {
        ZSet::from_pairs(pairs)
    })))
}

/// The records of a DUMP-style payload (DUMP, FUNCTION DUMP) whose footer — RDB version (2
/// bytes LE, at most ours) and CRC64 of everything before the CRC (8 bytes LE) — is right.
pub fn verified_body(payload: &[u8]) -> Option<&[u8]> {
    if payload.len() < 10 {
        return None;
    }
    let (body, footer) = payload.split_at(payload.len() - 10);
    let version = u16::from_le_bytes([footer[0], footer[1]]);
    let crc = u64::from_le_bytes(footer[2..10].try_into().ok()?);
    (version <= super::RDB_VERSION && crc == super::crc64().checksum(&payload[..payload.len() - 8]))
        .then_some(body)
}

/// Parses a DUMP payload (type byte, value, version, CRC64) into a value; the errors are the
/// texts RESTORE replies with.
pub fn restore_payload(payload: &[u8]) -> Result<Value, &'static str> {
    const BAD_VERSION: &str = "ERR DUMP payload version or checksum are wrong";
    const BAD_FORMAT: &str = "ERR Bad data format";
    let body = verified_body(payload).ok_or(BAD_VERSION)?;
    let mut r = Reader::from_slice(body);
    let kind = r.u8().map_err(|_| BAD_FORMAT)?;
    match r.value(kind) {
        Ok(Some(v)) if r.left() == 0 => Ok(v),
        _ => Err(BAD_FORMAT),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::persist::rdb::encode::{dump_payload, Encoder};

    fn roundtrip(v: &Value, compress: bool) -> Value {
        let mut out = vec![super::super::encode::value_kind(v)];
        Encoder::new(compress).value(&mut out, v);
        let mut r = Reader::from_slice(&out);
        let k = r.u8().unwrap();
        let back = r.value(k).unwrap().unwrap();
        assert_eq!(r.left(), 0);
        back
    }

    fn strs(v: &Value) -> Vec<Vec<u8>> {
        match v {
            Value::Str(s) => vec![s.to_vec()],
            Value::List(l) => l.iter().map(|b| b.to_vec()).collect(),
            Value::Hash(h) => {
                let mut p: Vec<Vec<u8>> = h.iter().map(|(f, v)| [f, b"=", v].concat()).collect();
                p.sort();
                p
            }
            Value::Set(s) => {
                let mut p: Vec<Vec<u8>> = s.iter().map(|m| m.with_bytes(|b| b.to_vec())).collect();
                p.sort();
                p
            }
            Value::ZSet(z) => z
                .iter()
                .map(|(m, s)| [m, b"=", s.to_string().as_bytes()].concat())
                .collect(),
        }
    }

    #[test]
    fn every_type_and_encoding_round_trips() {
        for compress in [false, true] {
            for n in [1usize, 5, 200, 600, 3000] {
                let mut list = List::new();
                let mut hash = Hash::new();
                let mut set = Set::new();
                let mut iset = Set::new();
                let mut pairs = Vec::new();
                for i in 0..n {
                    let s = format!("element-{i}-{}", "x".repeat(i % 70));
                    list.push_back(s.as_bytes());
                    list.push_back(i.to_string().as_bytes());
                    hash.set(s.as_bytes(), (i * 7).to_string().as_bytes());
                    set.add(s.as_bytes());
                    iset.add((i as i64 * 1_000_003 - 5000).to_string().as_bytes());
                    pairs.push((StrBuf::from_slice(s.as_bytes()), i as f64 / 3.0 - 10.0));
                }
                for v in [
                    Value::Str(StrBuf::from_slice(b"12345")),
                    Value::Str(StrBuf::from_slice(&vec![b'z'; 300])),
                    Value::List(Box::new(list)),
                    Value::Hash(Box::new(hash)),
                    Value::Set(Box::new(set)),
                    Value::Set(Box::new(iset)),
                    Value::ZSet(Box::new(ZSet::from_pairs(pairs))),
                ] {
                    let back = roundtrip(&v, compress);
                    assert_eq!(back.type_name(), v.type_name());
                    assert_eq!(back.encoding(), v.encoding());
                    assert_eq!(strs(&back), strs(&v), "{} n={n}", v.type_name());
                }
            }
        }
    }

    /// `blob` as an RDB string (a plain length, then the bytes).
    fn rdb_string(blob: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        super::super::encode::write_len(&mut out, blob.len() as u64);
        out.extend_from_slice(blob);
        out
    }

    fn decode_kind(kind: u8, payload: &[u8]) -> Value {
        let mut r = Reader::from_slice(payload);
        let v = r.value(kind).unwrap().unwrap();
        assert_eq!(r.left(), 0, "kind {kind}: bytes left");
        v
    }

    /// What Redis 6.2 and older (ziplists, zipmaps, quicklist v1) and 7.2 (set listpacks)
    /// write loads as the same values.
    #[test]
    fn legacy_encodings_of_redis_6_2_and_7_2_load() {
        use super::super::listpack::Item as Zl;
        use super::super::ziplist::tests::encode as ziplist;
        let zl = ziplist(&[Zl::Str(b"a"), Zl::Int(-7), Zl::Str(b"bb"), Zl::Int(1 << 40)]);
        let list = decode_kind(kind::LIST_ZIPLIST, &rdb_string(&zl));
        assert_eq!(strs(&list), [&b"a"[..], b"-7", b"bb", b"1099511627776"]);
        // Quicklist v1: nodes that are ziplists.
        let mut ql = Vec::new();
        super::super::encode::write_len(&mut ql, 2);
        ql.extend(rdb_string(&zl));
        ql.extend(rdb_string(&ziplist(&[Zl::Str(b"z")])));
        let quick = decode_kind(kind::LIST_QUICKLIST, &ql);
        assert_eq!(strs(&quick).len(), 5);
        assert_eq!(quick.encoding(), "quicklist");
        // Hash as ziplist (field, value, ...) and as zipmap (Redis 2.x).
        let hz = ziplist(&[Zl::Str(b"f1"), Zl::Str(b"v1"), Zl::Str(b"f2"), Zl::Int(5)]);
        let h = decode_kind(kind::HASH_ZIPLIST, &rdb_string(&hz));
        assert_eq!(strs(&h), [&b"f1=v1"[..], b"f2=5"]);
        let zm = super::super::zipmap::tests::encode(&[(b"k", b"v"), (b"n", b"12")], 2);
        let h = decode_kind(kind::HASH_ZIPMAP, &rdb_string(&zm));
        assert_eq!(strs(&h), [&b"k=v"[..], b"n=12"]);
        // Sorted set as ziplist (member, score as string or integer).
        let zz = ziplist(&[Zl::Str(b"m1"), Zl::Str(b"1.5"), Zl::Str(b"m2"), Zl::Int(3)]);
        let z = decode_kind(kind::ZSET_ZIPLIST, &rdb_string(&zz));
        assert_eq!(strs(&z), [&b"m1=1.5"[..], b"m2=3"]);
        // Redis 7.2's set listpack.
        let mut w = listpack::Writer::new();
        for m in [&b"x"[..], b"42", b"yy"] {
            w.push(m);
        }
        let set = decode_kind(kind::SET_LISTPACK, &rdb_string(&w.finish()));
        assert_eq!(strs(&set), [&b"42"[..], b"x", b"yy"]);
        // A duplicate member is corruption, as in Redis.
        let mut w = listpack::Writer::new();
        w.push(b"x");
        w.push(b"x");
        let dup = rdb_string(&w.finish());
        assert!(Reader::from_slice(&dup).value(kind::SET_LISTPACK).is_err());
    }

    #[test]
    fn dump_payloads_verify_version_and_checksum() {
        let v = Value::Str(StrBuf::from_slice(b"hello"));
        let p = dump_payload(&v);
        assert!(matches!(restore_payload(&p), Ok(Value::Str(s)) if &s[..] == b"hello"));
        let mut bad = p.clone();
        bad[2] ^= 1;
        assert_eq!(
            restore_payload(&bad).err(),
            Some("ERR DUMP payload version or checksum are wrong")
        );
        assert!(restore_payload(b"").is_err());
    }

    #[test]
    fn corrupt_inputs_are_errors_not_panics() {
        let mut set = Set::new();
        for i in 0..100 {
            set.add(format!("m{i}").as_bytes());
        }
        let p = dump_payload(&Value::Set(Box::new(set)));
        let body = &p[..p.len() - 10];
        for cut in 0..body.len() {
            let mut r = Reader::from_slice(&body[..cut]);
            if let Ok(k) = r.u8() {
                assert!(r.value(k).is_err(), "cut {cut}");
            }
        }
        // A huge declared length allocates nothing.
        let mut r = Reader::from_slice(&[0x81, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]);
        assert!(r.string().is_err());
        let mut r = Reader::from_slice(&[0x81, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]);
        assert!(r.value(kind::LIST).is_err());
    }
}
