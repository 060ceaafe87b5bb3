//! The writer side of the RDB codec: lengths, strings and values exactly as Redis 7.0's
//! `rdbSaveLen`, `rdbSaveRawString` and `rdbSaveObject` write them.
//!
//! A value is written in the encoding Redis 7.0 would hold it in (ferrokv's own types follow
//! Redis's conversion thresholds, so `OBJECT ENCODING` picks the RDB type): lists as a
//! quicklist of listpack nodes, hashes and sorted sets as one listpack while small, sets as an
//! intset while they hold only integers. Strings of up to 11 bytes that are canonical 32-bit
//! integers are written as integers; longer ones are LZF-compressed when compression is on and
//! it saves at least 4 bytes (as `rdbSaveLzfStringObject`).

use super::{kind, listpack, lzf, opcode, QUICKLIST_NODE_BYTES, QUICKLIST_PACKED};
use crate::store::types::set::Member;
use crate::store::{Entry, Value};

/// Writes Redis's variable-length length encoding.
pub fn write_len(out: &mut Vec<u8>, len: u64) {
    if len < 1 << 6 {
        out.push(len as u8);
    } else if len < 1 << 14 {
        out.push(0x40 | (len >> 8) as u8);
        out.push(len as u8);
    } else if len <= u64::from(u32::MAX) {
        out.push(0x80);
        out.extend_from_slice(&(len as u32).to_be_bytes());
    } else {
        out.push(0x81);
        out.extend_from_slice(&len.to_be_bytes());
    }
}

/// The integer a string stands for when Redis would store it as an RDB integer: at most 11
/// bytes, canonical (it prints back to the same bytes) and within 32 bits.
fn as_rdb_int(s: &[u8]) -> Option<i32> {
    if s.is_empty() || s.len() > 11 {
        return None;
    }
    let v = crate::util::num::parse_i64(s)?;
    let v = i32::try_from(v).ok()?;
    (itoa::Buffer::new().format(v).as_bytes() == s).then_some(v)
}

/// Writes `v` with the smallest RDB integer encoding (`rdbEncodeInteger`).
fn write_int(out: &mut Vec<u8>, v: i32) {
    if let Ok(b) = i8::try_from(v) {
        out.extend_from_slice(&[0xC0, b as u8]);
    } else if let Ok(h) = i16::try_from(v) {
        out.push(0xC1);
        out.extend_from_slice(&h.to_le_bytes());
    } else {
        out.push(0xC2);
        out.extend_from_slice(&v.to_le_bytes());
    }
}

/// The RDB type byte of a value, as Redis 7.0 would write it.
pub fn value_kind(v: &Value) -> u8 {
    match v {
        Value::Str(_) => kind::STRING,
        Value::List(_) => kind::LIST_QUICKLIST_2,
        Value::Hash(h) if h.encoding() == "listpack" => kind::HASH_LISTPACK,
        Value::Hash(_) => kind::HASH,
        Value::Set(s) if s.encoding() == "intset" => kind::SET_INTSET,
        Value::Set(_) => kind::SET,
        Value::ZSet(z) if z.encoding() == "listpack" => kind::ZSET_LISTPACK,
        Value::ZSet(_) => kind::ZSET_2,
    }
}

/// A zset score as Redis 7.0's listpack stores it (`d2string`): integral values of magnitude
/// below 2^52 as integers, the rest as `%.17g`.
fn score_text(score: f64) -> Vec<u8> {
    const LIMIT: f64 = 4_503_599_627_370_496.0; // 2^52
    if score.is_finite() && score.fract() == 0.0 && score.abs() < LIMIT {
        itoa::Buffer::new().format(score as i64).as_bytes().to_vec()
    } else {
        crate::util::num::format_f64(score).into_bytes()
    }
}

/// Serializes strings and values; keeps the LZF state and scratch buffers between calls so a
/// snapshot of millions of keys does not allocate per key.
pub struct Encoder {
    compress: bool,
    lzf: lzf::Compressor,
    scratch: Vec<u8>,
}

impl Encoder {
    /// `compress`: Redis's `rdbcompression`.
    pub fn new(compress: bool) -> Self {
        Encoder {
            compress,
            lzf: lzf::Compressor::new(),
            scratch: Vec::new(),
        }
    }

    /// Writes a string: as an integer, LZF-compressed, or raw (`rdbSaveRawString`).
    pub fn string(&mut self, out: &mut Vec<u8>, s: &[u8]) {
        if let Some(v) = as_rdb_int(s) {
            return write_int(out, v);
        }
        if self.compress && s.len() > 20 {
            let limit = s.len() - 4;
            if self.lzf.compress(s, limit, &mut self.scratch) && self.scratch.len() <= limit {
                out.push(0xC3);
                write_len(out, self.scratch.len() as u64);
                write_len(out, s.len() as u64);
                out.extend_from_slice(&self.scratch);
                return;
            }
        }
        write_len(out, s.len() as u64);
        out.extend_from_slice(s);
    }

    /// Writes one key: its expiry (`EXPIRETIME_MS`), type byte, name and value.
    pub fn key(&mut self, out: &mut Vec<u8>, key: &[u8], entry: &Entry) {
        if entry.expire_at != 0 {
            out.push(opcode::EXPIRETIME_MS);
            out.extend_from_slice(&entry.expire_at.to_le_bytes());
        }
        out.push(value_kind(&entry.value));
        self.string(out, key);
        self.value(out, &entry.value);
    }

    /// Writes a value's body (what follows the type byte and the key).
    pub fn value(&mut self, out: &mut Vec<u8>, v: &Value) {
        match v {
            Value::Str(s) => self.string(out, s),
            Value::List(l) => {
                let mut nodes = Vec::new();
                let mut node = listpack::Writer::new();
                let mut bytes = 0;
                for item in l.iter() {
                    // A new node once this one would pass the 8 KiB listpack limit.
                    let cost = item.len() + 11;
                    if bytes > 0 && bytes + cost > QUICKLIST_NODE_BYTES {
                        nodes.push(std::mem::take(&mut node).finish());
                        bytes = 0;
                    }
                    node.push(item);
                    bytes += cost;
                }
                if bytes > 0 {
                    nodes.push(node.finish());
                }
                write_len(out, nodes.len() as u64);
                for blob in nodes {
                    write_len(out, QUICKLIST_PACKED);
                    self.string(out, &blob);
                }
            }
            Value::Hash(h) => {
                if h.encoding() == "listpack" {
                    let mut lp = listpack::Writer::new();
                    for (f, v) in h.iter() {
                        lp.push(f);
                        lp.push(v);
                    }
                    let blob = lp.finish();
                    self.string(out, &blob);
                } else {
                    write_len(out, h.len() as u64);
                    for (f, v) in h.iter() {
                        self.string(out, f);
                        self.string(out, v);
                    }
                }
            }
            Value::Set(s) => {
                if s.encoding() == "intset" {
                    let ints: Vec<i64> = s
                        .iter()
                        .filter_map(|m| match m {
                            Member::Int(v) => Some(v),
                            Member::Bytes(b) => crate::util::num::parse_i64(b),
                        })
                        .collect();
                    let blob = super::intset::encode(&ints);
                    self.string(out, &blob);
                } else {
                    write_len(out, s.len() as u64);
                    for m in s.iter() {
                        m.with_bytes(|b| self.string(out, b));
                    }
                }
            }
            Value::ZSet(z) => {
                if z.encoding() == "listpack" {
                    let mut lp = listpack::Writer::new();
                    for (m, score) in z.iter() {
                        lp.push(m);
                        lp.push(&score_text(score));
                    }
                    let blob = lp.finish();
                    self.string(out, &blob);
                } else {
                    // Tail to head, as Redis writes a skiplist (its loader then inserts at the
                    // head each time).
                    write_len(out, z.len() as u64);
                    for (m, score) in z.iter_from(z.len().saturating_sub(1), true) {
                        self.string(out, m);
                        out.extend_from_slice(&score.to_le_bytes());
                    }
                }
            }
        }
    }
}

/// A DUMP payload: type byte, value, RDB version (2 bytes LE), CRC64 of all that (8 bytes LE).
pub fn dump_payload(v: &Value) -> Vec<u8> {
    let mut out = vec![value_kind(v)];
    Encoder::new(true).value(&mut out, v);
    out.extend_from_slice(&super::RDB_VERSION.to_le_bytes());
    let crc = super::crc64().checksum(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn len_bytes(len: u64) -> Vec<u8> {
        let mut out = Vec::new();
        write_len(&mut out, len);
        out
    }

    #[test]
    fn lengths_use_redis_encodings() {
        assert_eq!(len_bytes(0), [0]);
        assert_eq!(len_bytes(63), [63]);
        assert_eq!(len_bytes(64), [0x40, 64]);
        assert_eq!(len_bytes(16383), [0x7f, 0xff]);
        assert_eq!(len_bytes(16384), [0x80, 0, 0, 0x40, 0]);
        assert_eq!(
            len_bytes(u64::from(u32::MAX)),
            [0x80, 0xff, 0xff, 0xff, 0xff]
        );
        assert_eq!(len_bytes(1 << 32), [0x81, 0, 0, 0, 1, 0, 0, 0, 0]);
    }

    #[test]
    fn small_canonical_integers_are_stored_as_integers() {
        let enc = |s: &[u8]| {
            let mut out = Vec::new();
            Encoder::new(false).string(&mut out, s);
            out
        };
        assert_eq!(enc(b"12"), [0xC0, 12]);
        assert_eq!(enc(b"-128"), [0xC0, 0x80]);
        assert_eq!(enc(b"1000"), [0xC1, 0xe8, 0x03]);
        assert_eq!(enc(b"-2147483648"), [0xC2, 0, 0, 0, 0x80]);
        // Not canonical or out of 32 bits: raw.
        assert_eq!(enc(b"012"), [3, b'0', b'1', b'2']);
        assert_eq!(enc(b"2147483648")[0], 10);
        assert_eq!(enc(b"+1"), [2, b'+', b'1']);
    }

    #[test]
    fn long_repetitive_strings_are_compressed_only_when_asked() {
        let s = vec![b'a'; 200];
        let mut out = Vec::new();
        Encoder::new(true).string(&mut out, &s);
        assert_eq!(out[0], 0xC3);
        assert!(out.len() < 50);
        let mut raw = Vec::new();
        Encoder::new(false).string(&mut raw, &s);
        assert_eq!(raw.len(), 2 + 200);
    }

    #[test]
    fn scores_are_written_as_redis_d2string() {
        assert_eq!(score_text(3.0), b"3");
        assert_eq!(score_text(-7.0), b"-7");
        assert_eq!(score_text(1.5), b"1.5");
        assert_eq!(score_text(0.1), b"0.10000000000000001");
        assert_eq!(score_text(f64::INFINITY), b"inf");
        assert_eq!(score_text(1e300), b"1.0000000000000001e+300");
    }
}
