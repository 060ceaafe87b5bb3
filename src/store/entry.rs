//! One keyspace entry: the value, its absolute expiry and its access clock.
//!
//! Invariants: `expire_at == 0` means "no TTL"; otherwise it is a Unix time in milliseconds.
//! An entry whose `expire_at` is in the past is logically absent: every reader treats it as
//! missing and the first writer (or the active expirer) removes it.

use std::sync::atomic::{AtomicU32, Ordering};

use smallvec::SmallVec;

use crate::memory::access;

use super::types::{Hash, List, Set, ZSet};

/// A stored value. Every command matches on it and answers `WRONGTYPE` for the variants it
/// does not handle. Collections are boxed so a value stays 32 bytes (small strings inline).
#[derive(Debug, Clone)]
pub enum Value {
    Str(StrBuf),
    List(Box<List>),
    Hash(Box<Hash>),
    Set(Box<Set>),
    ZSet(Box<ZSet>),
}

/// String value bytes, inline up to 16 bytes (no allocation for small values).
pub type StrBuf = SmallVec<[u8; 16]>;

/// Typed views of a value: `None` for any other type (the caller answers WRONGTYPE).
macro_rules! accessors {
    ($($variant:ident: $ty:ty => $get:ident, $get_mut:ident;)*) => {
        impl Value {
            $(
                #[inline]
                pub fn $get(&self) -> Option<&$ty> {
                    match self {
                        Value::$variant(v) => Some(v),
                        _ => None,
                    }
                }

                #[inline]
                pub fn $get_mut(&mut self) -> Option<&mut $ty> {
                    match self {
                        Value::$variant(v) => Some(v),
                        _ => None,
                    }
                }
            )*
        }
    };
}

accessors! {
    Str: StrBuf => as_str, as_str_mut;
    List: List => as_list, as_list_mut;
    Hash: Hash => as_hash, as_hash_mut;
    Set: Set => as_set, as_set_mut;
    ZSet: ZSet => as_zset, as_zset_mut;
}

impl Value {
    /// The name `TYPE` reports.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Str(_) => "string",
            Value::List(_) => "list",
            Value::Hash(_) => "hash",
            Value::Set(_) => "set",
            Value::ZSet(_) => "zset",
        }
    }

    /// `OBJECT ENCODING`, following Redis 7.0's rules.
    pub fn encoding(&self) -> &'static str {
        match self {
            Value::List(l) => l.encoding(),
            Value::Hash(h) => h.encoding(),
            Value::Set(s) => s.encoding(),
            Value::ZSet(z) => z.encoding(),
            Value::Str(s) => {
                if s.len() <= 20 && crate::util::num::parse_i64(s).is_some() {
                    "int"
                } else if s.len() <= 44 {
                    "embstr"
                } else {
                    "raw"
                }
            }
        }
    }
}

/// A value plus its metadata.
#[derive(Debug)]
pub struct Entry {
    pub value: Value,
    /// Absolute expiry in Unix milliseconds; 0 = persistent.
    pub expire_at: u64,
    /// The access word: the LRU clock (ms) of the last access, or Redis's LFU data under an
    /// LFU policy ([`crate::memory::access`]). For `OBJECT IDLETIME|FREQ` and eviction.
    access: AtomicU32,
}

impl Clone for Entry {
    fn clone(&self) -> Self {
        Entry {
            value: self.value.clone(),
            expire_at: self.expire_at,
            access: AtomicU32::new(self.access.load(Ordering::Relaxed)),
        }
    }
}

impl Entry {
    pub fn new(value: Value, expire_at: u64) -> Self {
        Entry {
            value,
            expire_at,
            access: AtomicU32::new(access::fresh()),
        }
    }

    #[inline]
    pub fn is_expired(&self, now_ms: u64) -> bool {
        self.expire_at != 0 && self.expire_at <= now_ms
    }

    #[inline]
    pub fn is_volatile(&self) -> bool {
        self.expire_at != 0
    }

    /// Records an access (relaxed: readers under a shared lock may race, any winner is fine).
    #[inline]
    pub fn touch(&self) {
        access::touch(&self.access);
    }

    /// Makes the entry look idle for `secs` seconds (RESTORE ... IDLETIME, under LRU).
    pub fn set_idle_secs(&self, secs: u64) {
        self.access
            .store(access::with_idle_secs(secs), Ordering::Relaxed);
    }

    /// Sets the LFU counter (RESTORE ... FREQ, under LFU).
    pub fn set_freq(&self, freq: u8) {
        self.access
            .store(access::with_freq(freq), Ordering::Relaxed);
    }

    /// Seconds since the last access (meaningful under an LRU-clock policy).
    pub fn idle_secs(&self) -> u32 {
        access::idle_ms(self.access.load(Ordering::Relaxed)) / 1000
    }

    /// The decayed LFU counter (meaningful under an LFU policy).
    pub fn freq(&self) -> u8 {
        access::freq(self.access.load(Ordering::Relaxed))
    }

    /// The eviction pool's rank (higher goes first): idle ms, or 255 - frequency under LFU.
    pub fn eviction_rank(&self, lfu: bool) -> u64 {
        access::eviction_rank(self.access.load(Ordering::Relaxed), lfu)
    }
}
