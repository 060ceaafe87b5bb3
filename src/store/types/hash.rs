//! The hash value type: its representation and operations. The command family
//! (`commands/hashes.rs`) calls these and formats the replies.
//!
//! Invariant: a stored Hash is never empty — a command that empties it deletes the key.
//!
//! # Encodings (Redis 7.0's rules; `OBJECT ENCODING` reports them)
//! - **listpack**: while the hash has at most [`MAX_PACK_ENTRIES`] fields and no field or value
//!   longer than [`MAX_PACK_VALUE`] bytes (the defaults of `hash-max-listpack-entries` and
//!   `hash-max-listpack-value`), it is one packed byte buffer (`Pack`: a length byte before
//!   each field and value) in insertion order, searched linearly.
//!   Deleting keeps the order of the others, as a listpack does, so HGETALL and HSCAN of a
//!   small hash list fields in the same order as Redis.
//! - **hashtable**: past either limit it converts, once, to a `Table`. It never converts
//!   back (Redis converts back only when it reloads a dataset).
//!
//! # Pairs
//! In a table, a field and its value share one 32-byte `Pair`: inline when together they fit in
//! `INLINE` bytes (no allocation at all), otherwise one boxed slice holding both.
//!
//! # The table: extendible hashing over small segments
//! Fields are placed by a 64-bit hash (one process-wide, randomly seeded ahash). A directory
//! of `2^depth` slots maps the top `depth` bits of a hash to a `Segment`; a segment with
//! local depth `d` and prefix `p` holds exactly the fields whose hash starts with the `d` bits
//! `p` (a contiguous range of the hash space). A segment is a dense `Vec<Pair>` plus a small
//! hashbrown index of positions into it (the indexmap layout):
//! - no whole-table rehash ever: a segment that passes `SEG_MAX` fields splits in two by its
//!   next hash bit (work bounded by the segment size), and a small segment merges back with its
//!   buddy, so write latency stays flat while a hash grows to millions of fields;
//! - dense storage: ~32 bytes per pair plus ~8 for the index, and O(1) uniform random access
//!   (HRANDFIELD) by picking a segment, then a position;
//! - HSCAN (see [`Hash::scan`]): the cursor is a position in the hash space. Each step returns
//!   the fields whose hash lies in `[cursor, next)`, found through the directory as it is at
//!   that step, so splits, merges and directory changes between steps cannot hide a field: the
//!   ranges of consecutive steps are contiguous and cover the whole space. A field present for
//!   the whole scan is returned exactly once (a stronger guarantee than Redis's "at least once").

use std::fmt;
use std::sync::OnceLock;

use ahash::RandomState;
use hashbrown::HashTable;
use rand::seq::SliceRandom;
use rand::Rng;

use crate::store::lazyfree;

/// `hash-max-listpack-entries` (Redis 7.0 default): more fields than this convert to a table.
pub const MAX_PACK_ENTRIES: usize = 512;
/// `hash-max-listpack-value` (Redis 7.0 default): a longer field or value converts to a table.
pub const MAX_PACK_VALUE: usize = 64;

/// Bytes of field + value stored inside a [`Pair`] without allocating.
const INLINE: usize = 29;

/// A segment splits when it passes this many fields. 896 is the capacity of a 1024-bucket
/// hashbrown index, so each half starts in a 512-bucket index at its full load (7/8).
const SEG_MAX: usize = 896;

/// A segment at most this full tries to merge with its buddy (when the two fit in half a
/// segment), so a hash that shrinks gives its memory back.
const SEG_MERGE: usize = SEG_MAX / 4;

/// One field and its value.
#[derive(Clone)]
struct Pair(PairRepr);

#[derive(Clone)]
enum PairRepr {
    /// `buf[..flen]` is the field, `buf[flen..flen + vlen]` the value.
    Inline {
        flen: u8,
        vlen: u8,
        buf: [u8; INLINE],
    },
    /// `buf[..flen]` is the field, the rest the value.
    Heap { flen: usize, buf: Box<[u8]> },
}

const _: () = assert!(std::mem::size_of::<Pair>() == 32);

impl Pair {
    fn new(field: &[u8], value: &[u8]) -> Pair {
        let total = field.len() + value.len();
        if total <= INLINE {
            let mut buf = [0u8; INLINE];
            buf[..field.len()].copy_from_slice(field);
            buf[field.len()..total].copy_from_slice(value);
            Pair(PairRepr::Inline {
                flen: field.len() as u8,
                vlen: value.len() as u8,
                buf,
            })
        } else {
            let mut buf = Vec::with_capacity(total);
            buf.extend_from_slice(field);
            buf.extend_from_slice(value);
            Pair(PairRepr::Heap {
                flen: field.len(),
                buf: buf.into_boxed_slice(),
            })
        }
    }

    #[inline]
    fn field(&self) -> &[u8] {
        match &self.0 {
            PairRepr::Inline { flen, buf, .. } => &buf[..*flen as usize],
            PairRepr::Heap { flen, buf } => &buf[..*flen],
        }
    }

    #[inline]
    fn value(&self) -> &[u8] {
        match &self.0 {
            PairRepr::Inline { flen, vlen, buf } => {
                &buf[*flen as usize..*flen as usize + *vlen as usize]
            }
            PairRepr::Heap { flen, buf } => &buf[*flen..],
        }
    }

    #[inline]
    fn as_tuple(&self) -> FieldValue<'_> {
        (self.field(), self.value())
    }

    fn set_value(&mut self, value: &[u8]) {
        if let PairRepr::Heap { flen, buf } = &mut self.0 {
            if buf.len() - *flen == value.len() {
                buf[*flen..].copy_from_slice(value);
                return;
            }
        }
        let new = Pair::new(self.field(), value);
        *self = new;
    }
}

impl fmt::Debug for Pair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:?} => {:?}",
            String::from_utf8_lossy(self.field()),
            String::from_utf8_lossy(self.value())
        )
    }
}

/// The process-wide field hasher (randomly seeded once: hash flooding resistant).
fn hasher() -> &'static RandomState {
    static HASHER: OnceLock<RandomState> = OnceLock::new();
    HASHER.get_or_init(RandomState::new)
}

#[inline]
fn hash_of(field: &[u8]) -> u64 {
    hasher().hash_one(field)
}

/// A field and its value, as the operations below hand them out.
pub type FieldValue<'a> = (&'a [u8], &'a [u8]);

/// A hash value.
#[derive(Clone, Default)]
pub struct Hash {
    repr: Repr,
}

#[derive(Clone)]
enum Repr {
    /// "listpack": insertion order, linear search.
    Pack(Pack),
    /// "hashtable".
    Table(Box<Table>),
}

impl Default for Repr {
    fn default() -> Self {
        Repr::Pack(Pack::default())
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hash")
            .field("encoding", &self.encoding())
            .field("len", &self.len())
            .finish()
    }
}

impl Hash {
    pub fn new() -> Self {
        Hash::default()
    }

    pub fn len(&self) -> usize {
        match &self.repr {
            Repr::Pack(p) => p.len(),
            Repr::Table(t) => t.len,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The shape of a "hashtable" hash's tables (DEBUG HTSTATS-KEY): its segments' indexes,
    /// open addressing, taken together. `None` for a listpack.
    pub fn table_stats(&self) -> Option<crate::store::htstats::TableStats> {
        use crate::store::htstats::{buckets_of_capacity, TableStats};
        let Repr::Table(t) = &self.repr else {
            return None;
        };
        let mut s = TableStats::default();
        for seg in &t.segs {
            s.add_open(
                buckets_of_capacity(seg.index.capacity()),
                seg.index.len() as u64,
            );
        }
        Some(s)
    }

    /// `OBJECT ENCODING`.
    pub fn encoding(&self) -> &'static str {
        match &self.repr {
            Repr::Pack(_) => "listpack",
            Repr::Table(_) => "hashtable",
        }
    }

    /// The value of `field`.
    #[inline]
    pub fn get(&self, field: &[u8]) -> Option<&[u8]> {
        match &self.repr {
            Repr::Pack(p) => p.find(field).map(|at| p.value_of(at)),
            Repr::Table(t) => t.get(hash_of(field), field).map(Pair::value),
        }
    }

    pub fn contains(&self, field: &[u8]) -> bool {
        self.get(field).is_some()
    }

    /// Sets `field` to `value`; true when the field is new. Converts to a table first when the
    /// pair is too long for a listpack, and after inserting when the hash has too many fields.
    pub fn set(&mut self, field: &[u8], value: &[u8]) -> bool {
        self.set_within(field, value, super::limits::hash_max_value())
    }

    /// [`Hash::set`] for a pair loaded from an RDB listpack or ziplist: as Redis 7.0's
    /// loader, only the pair count decides a conversion, so a long value stays packed (up to
    /// what the packed form can hold).
    pub fn set_loaded(&mut self, field: &[u8], value: &[u8]) -> bool {
        self.set_within(field, value, super::limits::PACK_MAX_VALUE as usize)
    }

    fn set_within(&mut self, field: &[u8], value: &[u8], max_value: usize) -> bool {
        if let Repr::Pack(p) = &mut self.repr {
            if field.len() <= max_value && value.len() <= max_value {
                if !p.set(field, value) {
                    return false;
                }
                if p.len() > super::limits::hash_max_entries() {
                    self.convert();
                }
                return true;
            }
            self.convert();
        }
        match &mut self.repr {
            Repr::Table(t) => t.set(field, value),
            Repr::Pack(_) => unreachable!("converted above"),
        }
    }

    /// Removes `field`; true when it was there.
    pub fn remove(&mut self, field: &[u8]) -> bool {
        match &mut self.repr {
            Repr::Pack(p) => p.remove(field),
            Repr::Table(t) => t.remove(field),
        }
    }

    fn convert(&mut self) {
        if let Repr::Pack(p) = &self.repr {
            let pairs = p.iter().map(|(f, v)| Pair::new(f, v)).collect();
            self.repr = Repr::Table(Box::new(Table::from_pairs(pairs)));
        }
    }

    /// Every pair: insertion order for a listpack, table order otherwise.
    pub fn iter(&self) -> impl Iterator<Item = FieldValue<'_>> + '_ {
        let (pack, table) = match &self.repr {
            Repr::Pack(p) => (Some(p.iter()), None),
            Repr::Table(t) => (None, Some(t.iter())),
        };
        pack.into_iter()
            .flatten()
            .chain(table.into_iter().flatten())
    }

    /// A uniformly chosen pair, or `None` when empty.
    pub fn random<R: Rng + ?Sized>(&self, rng: &mut R) -> Option<FieldValue<'_>> {
        if self.is_empty() {
            return None;
        }
        match &self.repr {
            Repr::Pack(p) => p.iter().nth(rng.gen_range(0..p.len())),
            Repr::Table(t) => Some(t.random(rng).as_tuple()),
        }
    }

    /// Calls `f` with `count` uniformly chosen pairs (repeats allowed); nothing when empty.
    pub fn random_repeated<'h, R: Rng + ?Sized>(
        &'h self,
        count: usize,
        rng: &mut R,
        mut f: impl FnMut(FieldValue<'h>),
    ) {
        match &self.repr {
            Repr::Pack(p) if !p.is_empty() => {
                // Index the pairs once instead of walking the listpack per pick.
                let all: Vec<FieldValue<'h>> = p.iter().collect();
                (0..count).for_each(|_| f(all[rng.gen_range(0..all.len())]));
            }
            Repr::Pack(_) => {}
            Repr::Table(t) => (0..count).for_each(|_| f(t.random(rng).as_tuple())),
        }
    }

    /// `count` distinct pairs chosen uniformly, in random order (`count` is capped at the
    /// length).
    pub fn random_distinct<R: Rng + ?Sized>(
        &self,
        count: usize,
        rng: &mut R,
    ) -> Vec<FieldValue<'_>> {
        let count = count.min(self.len());
        let mut picked = rand::seq::index::sample(rng, self.len(), count).into_vec();
        picked.sort_unstable();
        let mut out: Vec<FieldValue<'_>> = match &self.repr {
            Repr::Pack(p) => {
                let mut wanted = picked.iter().peekable();
                p.iter()
                    .enumerate()
                    .filter(|(i, _)| wanted.next_if_eq(&i).is_some())
                    .map(|(_, pair)| pair)
                    .collect()
            }
            Repr::Table(t) => t.at_sorted(&picked),
        };
        out.shuffle(rng);
        out
    }

    /// One HSCAN step from `cursor`, calling `f` for each pair it covers; returns the next
    /// cursor (0 when the scan is complete).
    ///
    /// A listpack returns everything at once, whatever the cursor, as Redis does. A table
    /// covers the fields whose hash lies in `[cursor, next)`: about `count` of them, and never
    /// less than an eighth of a segment, so a full scan hashes each field at most ~8 times.
    pub fn scan<'h>(&'h self, cursor: u64, count: usize, mut f: impl FnMut(FieldValue<'h>)) -> u64 {
        match &self.repr {
            Repr::Pack(p) => {
                p.iter().for_each(f);
                0
            }
            Repr::Table(t) => t.scan(cursor, count, |pair| f(pair.as_tuple())),
        }
    }
}

impl Drop for Hash {
    /// Large values are freed on the lazyfree thread, never on an event loop.
    fn drop(&mut self) {
        if self.len() > lazyfree::THRESHOLD {
            match std::mem::take(&mut self.repr) {
                Repr::Pack(p) => lazyfree::defer(p),
                Repr::Table(t) => lazyfree::defer(t),
            }
        }
    }
}

/// Gives back a vector's spare room once it is mostly unused.
fn shrink_vec<T>(v: &mut Vec<T>) {
    if v.capacity() > 2 * v.len() + 8 {
        v.shrink_to(v.len() + v.len() / 4);
    }
}

/// The "listpack" encoding: one byte buffer, a 2-byte pair count (little endian) followed by
/// `[field length][field][value length][value]` per pair in insertion order. One byte holds
/// each length because a listpack's strings are at most [`MAX_PACK_VALUE`] bytes. A hash of
/// ten short fields takes ~100 bytes (Redis's listpack: ~90).
#[derive(Clone, Default)]
struct Pack {
    buf: Vec<u8>,
}

/// Where one pair sits in a [`Pack`]: `start..end` is the whole entry.
#[derive(Clone, Copy)]
struct At {
    start: usize,
    value: usize,
    end: usize,
}

impl Pack {
    fn len(&self) -> usize {
        match self.buf.get(..2) {
            Some(n) => usize::from(u16::from_le_bytes([n[0], n[1]])),
            None => 0,
        }
    }

    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn set_len(&mut self, n: usize) {
        let n = u16::try_from(n).expect("a listpack converts long before 65535 pairs");
        self.buf[..2].copy_from_slice(&n.to_le_bytes());
    }

    /// The entry at byte offset `start`.
    #[inline]
    fn at(&self, start: usize) -> At {
        let value = start + 1 + usize::from(self.buf[start]);
        let end = value + 1 + usize::from(self.buf[value]);
        At { start, value, end }
    }

    fn field_of(&self, at: At) -> &[u8] {
        &self.buf[at.start + 1..at.value]
    }

    fn value_of(&self, at: At) -> &[u8] {
        &self.buf[at.value + 1..at.end]
    }

    fn entries(&self) -> impl Iterator<Item = At> + '_ {
        let mut next = 2;
        std::iter::from_fn(move || {
            (next < self.buf.len()).then(|| {
                let at = self.at(next);
                next = at.end;
                at
            })
        })
    }

    fn iter(&self) -> impl Iterator<Item = FieldValue<'_>> + '_ {
        self.entries()
            .map(|at| (self.field_of(at), self.value_of(at)))
    }

    #[inline]
    fn find(&self, field: &[u8]) -> Option<At> {
        self.entries().find(|&at| self.field_of(at) == field)
    }

    /// Sets `field` (both at most [`MAX_PACK_VALUE`] bytes); true when it is new.
    fn set(&mut self, field: &[u8], value: &[u8]) -> bool {
        if let Some(at) = self.find(field) {
            if at.end - at.value - 1 == value.len() {
                self.buf[at.value + 1..at.end].copy_from_slice(value);
            } else {
                let mut entry = Vec::with_capacity(value.len() + 1);
                entry.push(value.len() as u8);
                entry.extend_from_slice(value);
                self.buf.splice(at.value..at.end, entry);
            }
            return false;
        }
        let n = self.len();
        let header = if self.buf.is_empty() { 2 } else { 0 };
        let need = header + 2 + field.len() + value.len();
        if self.buf.capacity() - self.buf.len() < need {
            // Grow by a quarter, not double: small hashes are most of a dataset.
            self.buf.reserve_exact(need.max(self.buf.len() / 4));
        }
        if header > 0 {
            self.buf.extend_from_slice(&[0, 0]);
        }
        self.buf.push(field.len() as u8);
        self.buf.extend_from_slice(field);
        self.buf.push(value.len() as u8);
        self.buf.extend_from_slice(value);
        self.set_len(n + 1);
        true
    }

    fn remove(&mut self, field: &[u8]) -> bool {
        let Some(at) = self.find(field) else {
            return false;
        };
        self.buf.drain(at.start..at.end);
        let n = self.len() - 1;
        self.set_len(n);
        shrink_vec(&mut self.buf);
        true
    }
}

/// The "hashtable" encoding (see the module doc).
#[derive(Clone)]
struct Table {
    /// Global depth: the directory has `2^depth` slots.
    depth: u32,
    /// Segment index of each top-`depth`-bit hash prefix.
    dir: Vec<u32>,
    segs: Vec<Segment>,
    len: usize,
}

/// The fields whose hash starts with the `depth` bits `prefix`.
#[derive(Clone)]
struct Segment {
    depth: u32,
    prefix: u64,
    entries: Vec<Pair>,
    /// Positions in `entries`, keyed by field hash.
    index: HashTable<u32>,
}

/// One past the largest hash, as a position in the hash space.
const END: u128 = 1 << 64;

impl Segment {
    fn new(depth: u32, prefix: u64, entries: Vec<Pair>, hashes: &[u64]) -> Segment {
        let mut index = HashTable::with_capacity(entries.len());
        for (i, &h) in hashes.iter().enumerate() {
            index.insert_unique(h, i as u32, |&j| hash_of(entries[j as usize].field()));
        }
        Segment {
            depth,
            prefix,
            entries,
            index,
        }
    }

    #[inline]
    fn find(&self, hash: u64, field: &[u8]) -> Option<usize> {
        self.index
            .find(hash, |&i| self.entries[i as usize].field() == field)
            .map(|&i| i as usize)
    }

    fn push(&mut self, hash: u64, pair: Pair) {
        if self.entries.len() == self.entries.capacity() {
            // Grow by a quarter, not double: the vector is most of a segment's memory.
            self.entries.reserve_exact((self.entries.len() / 4).max(4));
        }
        self.entries.push(pair);
        let entries = &self.entries;
        self.index
            .insert_unique(hash, entries.len() as u32 - 1, |&j| {
                hash_of(entries[j as usize].field())
            });
    }

    /// Removes `field`; true when it was there.
    fn remove(&mut self, hash: u64, field: &[u8]) -> bool {
        let entries = &self.entries;
        let Ok(found) = self
            .index
            .find_entry(hash, |&i| entries[i as usize].field() == field)
        else {
            return false;
        };
        let (i, _) = found.remove();
        let (i, last) = (i as usize, self.entries.len() - 1);
        self.entries.swap_remove(i);
        if i != last {
            // The last pair moved into the hole: repoint its index entry.
            let moved = hash_of(self.entries[i].field());
            if let Some(slot) = self.index.find_mut(moved, |&j| j as usize == last) {
                *slot = i as u32;
            }
        }
        shrink_vec(&mut self.entries);
        let len = self.entries.len();
        if self.index.capacity() > 4 * len + 16 {
            let entries = &self.entries;
            self.index
                .shrink_to(len, |&j| hash_of(entries[j as usize].field()));
        }
        true
    }

    /// The hash-space range `[start, end)` this segment covers.
    fn range(&self) -> (u128, u128) {
        if self.depth == 0 {
            return (0, END);
        }
        let width = 1u128 << (64 - self.depth);
        let start = u128::from(self.prefix) * width;
        (start, start + width)
    }
}

impl Table {
    fn from_pairs(pairs: Vec<Pair>) -> Table {
        let hashes: Vec<u64> = pairs.iter().map(|p| hash_of(p.field())).collect();
        let len = pairs.len();
        let mut t = Table {
            depth: 0,
            dir: vec![0],
            segs: vec![Segment::new(0, 0, pairs, &hashes)],
            len,
        };
        t.split_if_full(0);
        t
    }

    fn iter(&self) -> impl Iterator<Item = FieldValue<'_>> + '_ {
        self.segs
            .iter()
            .flat_map(|s| s.entries.iter().map(Pair::as_tuple))
    }

    #[inline]
    fn seg_of(&self, hash: u64) -> usize {
        let slot = if self.depth == 0 {
            0
        } else {
            (hash >> (64 - self.depth)) as usize
        };
        self.dir[slot] as usize
    }

    #[inline]
    fn get(&self, hash: u64, field: &[u8]) -> Option<&Pair> {
        let seg = &self.segs[self.seg_of(hash)];
        seg.find(hash, field).map(|i| &seg.entries[i])
    }

    fn set(&mut self, field: &[u8], value: &[u8]) -> bool {
        let hash = hash_of(field);
        let s = self.seg_of(hash);
        let seg = &mut self.segs[s];
        if let Some(i) = seg.find(hash, field) {
            seg.entries[i].set_value(value);
            return false;
        }
        seg.push(hash, Pair::new(field, value));
        self.len += 1;
        if seg.entries.len() > SEG_MAX {
            self.split_if_full(s);
        }
        true
    }

    fn remove(&mut self, field: &[u8]) -> bool {
        let hash = hash_of(field);
        let s = self.seg_of(hash);
        if !self.segs[s].remove(hash, field) {
            return false;
        }
        self.len -= 1;
        if self.segs[s].entries.len() <= SEG_MERGE {
            self.merge(s);
        }
        true
    }

    /// The directory slots `[first, end)` of a segment.
    fn slots(&self, depth: u32, prefix: u64) -> std::ops::Range<usize> {
        let shift = self.depth - depth;
        let first = (prefix as usize) << shift;
        first..first + (1usize << shift)
    }

    /// Splits segment `s` (and the halves, while one is still too full).
    fn split_if_full(&mut self, s: usize) {
        let mut work = vec![s];
        while let Some(s) = work.pop() {
            if self.segs[s].entries.len() <= SEG_MAX || !self.can_split(s) {
                continue;
            }
            let t = self.split(s);
            work.push(s);
            work.push(t);
        }
    }

    /// Whether segment `s` may split. Splitting a segment as deep as the directory doubles the
    /// directory; with a good hash that stays tiny next to the data (about one slot per
    /// couple of hundred fields), and this bound keeps a pathological input from blowing it
    /// up: the segment just grows past [`SEG_MAX`] instead.
    fn can_split(&self, s: usize) -> bool {
        let seg = &self.segs[s];
        seg.depth < self.depth || (self.depth < 48 && self.dir.len() * 2 <= (self.len / 16).max(64))
    }

    /// Splits segment `s` by its next hash bit; returns the new segment's index.
    fn split(&mut self, s: usize) -> usize {
        if self.segs[s].depth == self.depth {
            self.dir = self.dir.iter().flat_map(|&x| [x, x]).collect();
            self.depth += 1;
        }
        let seg = &mut self.segs[s];
        let depth = seg.depth + 1;
        let bit = 64 - depth;
        let mut stay = (Vec::new(), Vec::new());
        let mut go = (Vec::new(), Vec::new());
        for pair in std::mem::take(&mut seg.entries) {
            let h = hash_of(pair.field());
            let side = if (h >> bit) & 1 == 0 {
                &mut stay
            } else {
                &mut go
            };
            side.0.push(pair);
            side.1.push(h);
        }
        let prefix = seg.prefix << 1;
        *seg = Segment::new(depth, prefix, stay.0, &stay.1);
        let t = self.segs.len();
        self.segs.push(Segment::new(depth, prefix | 1, go.0, &go.1));
        for slot in self.slots(depth, prefix | 1) {
            self.dir[slot] = t as u32;
        }
        t
    }

    /// Merges segment `s` with its buddy while both are small, then halves the directory if no
    /// segment needs its full depth any more.
    fn merge(&mut self, mut s: usize) {
        loop {
            let (depth, prefix) = (self.segs[s].depth, self.segs[s].prefix);
            if depth == 0 {
                break;
            }
            let b = self.dir[self.slots(depth, prefix ^ 1).start] as usize;
            if self.segs[b].depth != depth
                || self.segs[s].entries.len() + self.segs[b].entries.len() > SEG_MAX / 2
            {
                break;
            }
            let buddy = std::mem::take(&mut self.segs[b].entries);
            let mut entries = std::mem::take(&mut self.segs[s].entries);
            entries.extend(buddy);
            let hashes: Vec<u64> = entries.iter().map(|p| hash_of(p.field())).collect();
            self.segs[s] = Segment::new(depth - 1, prefix >> 1, entries, &hashes);
            for slot in self.slots(depth - 1, prefix >> 1) {
                self.dir[slot] = s as u32;
            }
            self.segs.swap_remove(b);
            if b < self.segs.len() {
                // The last segment moved to `b`: repoint its slots (it may be `s` itself).
                let (d, p) = (self.segs[b].depth, self.segs[b].prefix);
                for slot in self.slots(d, p) {
                    self.dir[slot] = b as u32;
                }
                if s == self.segs.len() {
                    s = b;
                }
            }
        }
        while self.depth > 0 && self.segs.iter().all(|seg| seg.depth < self.depth) {
            self.dir = self.dir.iter().step_by(2).copied().collect();
            self.depth -= 1;
        }
    }

    /// A uniformly chosen pair (the table is not empty).
    fn random<R: Rng + ?Sized>(&self, rng: &mut R) -> &Pair {
        // Rejection sampling: a segment drawn uniformly is kept with probability
        // len / SEG_MAX, then a position in it uniformly, so every pair is equally likely.
        for _ in 0..64 {
            let seg = &self.segs[rng.gen_range(0..self.segs.len())];
            if rng.gen_range(0..SEG_MAX) < seg.entries.len() {
                return &seg.entries[rng.gen_range(0..seg.entries.len())];
            }
        }
        // Sparse table (many nearly empty segments): count through.
        let mut i = rng.gen_range(0..self.len);
        for seg in &self.segs {
            if i < seg.entries.len() {
                return &seg.entries[i];
            }
            i -= seg.entries.len();
        }
        unreachable!("len counts every segment's entries")
    }

    /// The pairs at ascending positions of the table order.
    fn at_sorted(&self, positions: &[usize]) -> Vec<FieldValue<'_>> {
        let mut out = Vec::with_capacity(positions.len());
        let mut base = 0;
        let mut segs = self.segs.iter();
        let mut seg = segs.next();
        for &i in positions {
            while let Some(s) = seg {
                if i < base + s.entries.len() {
                    out.push(s.entries[i - base].as_tuple());
                    break;
                }
                base += s.entries.len();
                seg = segs.next();
            }
        }
        out
    }

    fn scan<'t>(&'t self, cursor: u64, count: usize, mut f: impl FnMut(&'t Pair)) -> u64 {
        let count = count.max(1);
        let mut pos = u128::from(cursor);
        let mut visited = 0usize;
        while pos < END && visited < count {
            let seg = &self.segs[self.seg_of(pos as u64)];
            let (start, end) = seg.range();
            let len = seg.entries.len().max(1) as u128;
            let want = (count as u128).max(len / 8).max(1);
            // A sub-range of [pos, end) expected to hold about `want` of the segment's fields.
            let high = if want >= len {
                end
            } else {
                (pos + (end - start) * want / len).clamp(pos + 1, end)
            };
            for pair in &seg.entries {
                let h = u128::from(hash_of(pair.field()));
                if h >= pos && h < high {
                    visited += 1;
                    f(pair);
                }
            }
            pos = high;
        }
        if pos >= END {
            0
        } else {
            pos as u64
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{HashMap, HashSet};

    fn field(i: usize) -> Vec<u8> {
        format!("field:{i}").into_bytes()
    }

    /// Checks the table's structural invariants.
    fn check(h: &Hash) {
        let Repr::Table(t) = &h.repr else { return };
        assert_eq!(t.dir.len(), 1 << t.depth);
        let mut total = 0;
        for (i, seg) in t.segs.iter().enumerate() {
            assert!(seg.depth <= t.depth);
            for slot in t.slots(seg.depth, seg.prefix) {
                assert_eq!(t.dir[slot] as usize, i, "slot {slot} of segment {i}");
            }
            assert_eq!(seg.index.len(), seg.entries.len());
            for (j, p) in seg.entries.iter().enumerate() {
                let hash = hash_of(p.field());
                assert_eq!(t.seg_of(hash), i);
                assert_eq!(seg.find(hash, p.field()), Some(j));
            }
            total += seg.entries.len();
        }
        assert_eq!(total, t.len);
    }

    #[test]
    fn pairs_are_32_bytes_inline_or_boxed() {
        for (f, v) in [
            (&b""[..], &b""[..]),
            (b"a", b"1"),
            (b"field:123456", b"value:1234567890123"),
            (b"field:1234567", b"value:12345678901234567890"),
            (&[7u8; 100][..], &[9u8; 1000][..]),
        ] {
            let mut p = Pair::new(f, v);
            assert_eq!((p.field(), p.value()), (f, v));
            p.set_value(b"x");
            assert_eq!((p.field(), p.value()), (f, &b"x"[..]));
            p.set_value(&[1u8; 40]);
            assert_eq!((p.field(), p.value()), (f, &[1u8; 40][..]));
            p.set_value(&[2u8; 40]);
            assert_eq!((p.field(), p.value()), (f, &[2u8; 40][..]));
        }
    }

    #[test]
    fn listpack_keeps_insertion_order_and_converts_at_redis_limits() {
        let mut h = Hash::new();
        for f in ["c", "a", "b"] {
            assert!(h.set(f.as_bytes(), b"1"));
        }
        assert!(!h.set(b"a", b"2"));
        assert!(h.remove(b"c"));
        assert!(!h.remove(b"c"));
        h.set(b"c", b"3");
        let order: Vec<&[u8]> = h.iter().map(|(f, _)| f).collect();
        assert_eq!(order, [&b"a"[..], b"b", b"c"]);
        assert_eq!(h.get(b"a"), Some(&b"2"[..]));
        assert_eq!(h.encoding(), "listpack");
        // A value of exactly 64 bytes stays; 65 converts.
        h.set(b"d", &[b'x'; MAX_PACK_VALUE]);
        assert_eq!(h.encoding(), "listpack");
        h.set(b"d", &[b'x'; MAX_PACK_VALUE + 1]);
        assert_eq!(h.encoding(), "hashtable");
        assert_eq!(h.len(), 4);
        check(&h);

        let mut h = Hash::new();
        for i in 0..MAX_PACK_ENTRIES {
            h.set(&field(i), b"v");
        }
        assert_eq!(h.encoding(), "listpack");
        h.set(&field(0), b"w");
        assert_eq!(h.encoding(), "listpack");
        h.set(&field(MAX_PACK_ENTRIES), b"v");
        assert_eq!(h.encoding(), "hashtable");
        assert_eq!(h.get(&field(0)), Some(&b"w"[..]));
        // Never converts back.
        for i in 0..MAX_PACK_ENTRIES {
            h.remove(&field(i));
        }
        assert_eq!((h.encoding(), h.len()), ("hashtable", 1));
        check(&h);
    }

    #[test]
    fn listpack_matches_an_ordered_model() {
        let mut rng = rand::thread_rng();
        let mut h = Hash::new();
        let mut model: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
        for _ in 0..20_000 {
            let f = format!("{}", rng.gen_range(0..40)).repeat(rng.gen_range(0..3));
            let f = f.into_bytes();
            let pos = model.iter().position(|(k, _)| *k == f);
            if rng.gen_range(0..3) < 2 {
                let v: Vec<u8> = (0..rng.gen_range(0..=MAX_PACK_VALUE))
                    .map(|_| rng.gen())
                    .collect();
                assert_eq!(h.set(&f, &v), pos.is_none());
                match pos {
                    Some(i) => model[i].1 = v,
                    None => model.push((f, v)),
                }
            } else {
                assert_eq!(h.remove(&f), pos.is_some());
                if let Some(i) = pos {
                    model.remove(i);
                }
            }
            assert_eq!(h.len(), model.len());
        }
        assert_eq!(h.encoding(), "listpack");
        let got: Vec<(Vec<u8>, Vec<u8>)> =
            h.iter().map(|(f, v)| (f.to_vec(), v.to_vec())).collect();
        assert_eq!(got, model);
        // Emptied and refilled.
        for (f, _) in &model {
            assert!(h.remove(f));
        }
        assert!(h.is_empty());
        assert!(h.set(b"again", b"1"));
        assert_eq!(h.iter().collect::<Vec<_>>(), [(&b"again"[..], &b"1"[..])]);
    }

    #[test]
    fn table_matches_a_model_through_growth_and_shrinking() {
        let mut h = Hash::new();
        let mut model: HashMap<Vec<u8>, Vec<u8>> = HashMap::new();
        let mut rng = rand::thread_rng();
        for round in 0..3 {
            for _ in 0..20_000 {
                let f = field(rng.gen_range(0..12_000));
                if rng.gen_range(0..3) < 2 - round.min(1) {
                    let v = format!("v{}", rng.gen::<u32>()).into_bytes();
                    assert_eq!(h.set(&f, &v), model.insert(f, v).is_none());
                } else {
                    assert_eq!(h.remove(&f), model.remove(&f).is_some());
                }
            }
            check(&h);
            assert_eq!(h.len(), model.len());
            for (f, v) in &model {
                assert_eq!(h.get(f), Some(&v[..]));
            }
        }
        // Empty it: segments merge back and the directory shrinks.
        let fields: Vec<Vec<u8>> = model.keys().cloned().collect();
        for f in &fields[1..] {
            assert!(h.remove(f));
        }
        check(&h);
        let Repr::Table(t) = &h.repr else {
            panic!("table")
        };
        assert_eq!((t.segs.len(), t.depth), (1, 0));
    }

    #[test]
    fn scan_returns_each_stable_field_once_despite_growth_and_deletes() {
        let mut h = Hash::new();
        for i in 0..5000 {
            h.set(&field(i), b"v");
        }
        let mut seen = HashSet::new();
        let mut cursor = 0;
        let mut step = 0;
        loop {
            let mut batch = Vec::new();
            cursor = h.scan(cursor, 10, |(f, _)| batch.push(f.to_vec()));
            for f in batch {
                assert!(seen.insert(f), "returned twice");
            }
            // Churn between steps: grow (splits, directory doubling) and delete others.
            for j in 0..40 {
                h.set(format!("tmp:{step}:{j}").as_bytes(), b"x");
            }
            if step % 3 == 0 {
                for j in 0..40 {
                    h.remove(format!("tmp:{}:{j}", step / 2).as_bytes());
                }
            }
            step += 1;
            if cursor == 0 {
                break;
            }
        }
        for i in 0..5000 {
            assert!(seen.contains(&field(i)), "missing field:{i}");
        }
        check(&h);
    }

    #[test]
    fn scan_survives_merges_between_steps() {
        let mut h = Hash::new();
        for i in 0..20_000 {
            h.set(&field(i), b"v");
        }
        let mut seen = HashSet::new();
        let mut cursor = 0;
        let mut removed = 1000;
        loop {
            cursor = h.scan(cursor, 50, |(f, _)| {
                seen.insert(f.to_vec());
            });
            // Delete most of the hash as the scan goes, forcing merges.
            for _ in 0..400 {
                if removed < 20_000 {
                    h.remove(&field(removed));
                    removed += 1;
                }
            }
            if cursor == 0 {
                break;
            }
        }
        for i in 0..1000 {
            assert!(seen.contains(&field(i)), "missing field:{i}");
        }
        check(&h);
    }

    #[test]
    fn scan_with_huge_count_or_cursor() {
        let mut h = Hash::new();
        for i in 0..3000 {
            h.set(&field(i), b"v");
        }
        let mut n = 0;
        assert_eq!(h.scan(0, usize::MAX, |_| n += 1), 0);
        assert_eq!(n, 3000);
        let mut n = 0;
        assert_eq!(h.scan(u64::MAX, 10, |_| n += 1), 0);
        assert!(n <= 1);
    }

    #[test]
    fn random_picks_are_members_and_roughly_uniform() {
        let mut rng = rand::thread_rng();
        for size in [3usize, 600, 5000] {
            let mut h = Hash::new();
            for i in 0..size {
                h.set(&field(i), format!("{i}").as_bytes());
            }
            let mut hits = vec![0u32; size];
            let draws = size * 40;
            for _ in 0..draws {
                let (f, v) = h.random(&mut rng).unwrap();
                let i: usize = std::str::from_utf8(v).unwrap().parse().unwrap();
                assert_eq!(f, field(i));
                hits[i] += 1;
            }
            // Expected 40 per field; a biased sampler would leave some near 0.
            let min = *hits.iter().min().unwrap();
            assert!(min > 5, "size {size}: min hits {min}");
            for count in [1, size / 2, size - 1, size, size + 5] {
                let picked = h.random_distinct(count, &mut rng);
                assert_eq!(picked.len(), count.min(size));
                let distinct: HashSet<&[u8]> = picked.iter().map(|(f, _)| *f).collect();
                assert_eq!(distinct.len(), picked.len());
                assert!(picked.iter().all(|(f, v)| h.get(f) == Some(*v)));
                let mut n = 0;
                h.random_repeated(count, &mut rng, |(f, v)| {
                    assert_eq!(h.get(f), Some(v));
                    n += 1;
                });
                assert_eq!(n, count);
            }
        }
    }

    #[test]
    fn clone_is_deep() {
        let mut h = Hash::new();
        for i in 0..2000 {
            h.set(&field(i), b"v");
        }
        let mut c = h.clone();
        c.set(&field(0), b"changed");
        c.remove(&field(1));
        assert_eq!(h.get(&field(0)), Some(&b"v"[..]));
        assert!(h.contains(&field(1)));
        check(&c);
    }
}
