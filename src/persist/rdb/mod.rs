//! The RDB codec: Redis 7.0's snapshot format (RDB version 10), which is also the body of a
//! DUMP payload and the preamble of an AOF base file.
//!
//! # Layout of a file
//! ```text
//! "REDIS0010"  AUX(redis-ver, redis-bits, ctime, used-mem, aof-base)
//! per non-empty db:  SELECTDB n  RESIZEDB keys volatile  { [EXPIRETIME_MS t] type key value }*
//! EOF  crc64 (8 bytes little-endian, 0 when rdbchecksum is off)
//! ```
//!
//! - [`encode`]: the writer side: lengths, strings (integer / LZF / raw), and every value in
//!   the encoding Redis 7.0 would write for it (quicklist of listpacks, listpack or hashtable
//!   hashes, intset or hashtable sets, listpack or skiplist zsets).
//! - [`decode`]: the reader side, for everything Redis 2.x .. 7.2 writes for strings, lists,
//!   hashes, sets and sorted sets (zipmap, ziplist, quicklist, intset, listpack, 7.2's set
//!   listpack). Every length read is checked against what is left of the input before anything
//!   is allocated, so a corrupt file or a hostile RESTORE payload is an error, never a panic or
//!   a huge allocation.
//! - [`file`]: whole files: header, aux fields, databases, trailer and checksum.
//! - [`listpack`], [`ziplist`], [`intset`], [`zipmap`], [`lzf`]: the embedded blob formats.
//!
//! Nothing here locks the store: the snapshot machinery ([`crate::persist::snapshot`]) hands
//! entries to the encoder, and the loader returns values for the caller to insert.

pub mod decode;
pub mod encode;
pub mod file;
pub mod intset;
pub mod listpack;
pub mod lzf;
pub mod ziplist;
pub mod zipmap;

use std::sync::OnceLock;

/// The RDB version Redis 7.0 writes (and the highest DUMP payload version it restores).
pub const RDB_VERSION: u16 = 10;
/// The highest file version we load: Redis 7.2's (11) adds only the set listpack type.
pub const MAX_LOAD_VERSION: u16 = 11;

/// Value types (the byte before a key).
pub mod kind {
    pub const STRING: u8 = 0;
    pub const LIST: u8 = 1;
    pub const SET: u8 = 2;
    pub const ZSET: u8 = 3;
    pub const HASH: u8 = 4;
    pub const ZSET_2: u8 = 5;
    pub const MODULE: u8 = 6;
    pub const MODULE_2: u8 = 7;
    pub const HASH_ZIPMAP: u8 = 9;
    pub const LIST_ZIPLIST: u8 = 10;
    pub const SET_INTSET: u8 = 11;
    pub const ZSET_ZIPLIST: u8 = 12;
    pub const HASH_ZIPLIST: u8 = 13;
    pub const LIST_QUICKLIST: u8 = 14;
    pub const STREAM_LISTPACKS: u8 = 15;
    pub const HASH_LISTPACK: u8 = 16;
    pub const ZSET_LISTPACK: u8 = 17;
    pub const LIST_QUICKLIST_2: u8 = 18;
    pub const STREAM_LISTPACKS_2: u8 = 19;
    pub const SET_LISTPACK: u8 = 20;
    pub const STREAM_LISTPACKS_3: u8 = 21;
}

/// Opcodes that are not value types.
pub mod opcode {
    pub const FUNCTION2: u8 = 245;
    pub const FUNCTION: u8 = 246;
    pub const MODULE_AUX: u8 = 247;
    pub const IDLE: u8 = 248;
    pub const FREQ: u8 = 249;
    pub const AUX: u8 = 250;
    pub const RESIZEDB: u8 = 251;
    pub const EXPIRETIME_MS: u8 = 252;
    pub const EXPIRETIME: u8 = 253;
    pub const SELECTDB: u8 = 254;
    pub const EOF: u8 = 255;
}

/// Quicklist node containers (RDB_TYPE_LIST_QUICKLIST_2).
pub const QUICKLIST_PLAIN: u64 = 1;
pub const QUICKLIST_PACKED: u64 = 2;

/// Redis's `list-max-listpack-size -2`: a quicklist node holds at most 8 KiB of listpack.
pub const QUICKLIST_NODE_BYTES: usize = 8 * 1024;

type Crc = crc::Crc<u64, crc::Table<16>>;

/// CRC-64/Jones (Redis's `crc64`, reflected, polynomial 0xad93d23594c935a9, init 0), the
/// checksum of files and DUMP payloads.
pub fn crc64() -> &'static Crc {
    static CRC: OnceLock<Crc> = OnceLock::new();
    CRC.get_or_init(|| Crc::new(&crc::CRC_64_REDIS))
}

/// A malformed input: what is wrong and where (a byte offset into the file or payload).
#[derive(Debug, thiserror::Error)]
pub enum RdbError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("{what} at offset {offset}")]
    Corrupt { what: String, offset: u64 },
    /// The input ended early (a truncated file).
    #[error("unexpected end of file at offset {offset}")]
    Truncated { offset: u64 },
}

#[cfg(test)]
mod tests {
    #[test]
    fn crc64_is_redis_jones() {
        // Redis's own self-test value for crc64(0, "123456789").
        assert_eq!(super::crc64().checksum(b"123456789"), 0xe9c6d914c4b8d9ca);
    }
}
