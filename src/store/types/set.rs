//! The set value type: representation and operations (the SETS command family calls these and
//! formats the replies).
//!
//! # Representation
//! Three shapes, chosen as Redis 7.0 chooses its encodings:
//!
//! | shape       | holds                                  | `OBJECT ENCODING` | bytes/member |
//! |-------------|----------------------------------------|-------------------|--------------|
//! | `Ints`      | sorted `Vec<i64>`, at most 512 members  | `intset`          | 8            |
//! | `IntTable`  | integers only, after outgrowing `Ints`  | `hashtable`       | ~20–24       |
//! | `StrTable`  | any members                            | `hashtable`       | ~36–40 (+ heap for members over 16 bytes) |
//!
//! A new set starts as `Ints`. Adding a member that is not an integer in Redis's strict sense
//! ([`parse_i64`]: no sign `+`, no leading zeros, no spaces) turns any shape into `StrTable`;
//! growing past [`MAX_INTSET_ENTRIES`] turns `Ints` into `IntTable`. A set never goes back to
//! `Ints`, even when it shrinks — as Redis never converts a hashtable back to an intset — so
//! `OBJECT ENCODING` answers what Redis answers. `IntTable` is our own refinement: Redis keeps
//! the integers of a converted intset as strings; we keep them as `i64` until a non-integer
//! arrives, which reports the same encoding and takes less than half the memory.
//!
//! # The table
//! `Table` is a chained hash table in two flat arrays (no allocation per member): `nodes`, a
//! slab of `(member, next, tag)` where `tag` holds 31 bits of the member's hash, and
//! `buckets`, the head node of each chain. The bucket count is a power of two kept between
//! `len / 1` and `len * 10` (grow at load 1, shrink under 10% like Redis's `dict`). Because a
//! member's bucket is always `hash & mask`, `SSCAN` can use Redis's reverse-binary cursor,
//! which returns every member present for a whole scan at least once, whatever resizes happen
//! in between. Removed nodes go on a free list; when fewer than a quarter of the slab is live
//! it is compacted, which keeps random picks (SPOP, SRANDMEMBER) — a random slab index, retried
//! until live — cheap and exactly uniform.
//!
//! Invariant: a stored Set is never empty — a command that empties it deletes the key.

use std::collections::HashSet;
use std::sync::OnceLock;

use ahash::RandomState;
use rand::Rng;

use crate::store::{lazyfree, StrBuf};
use crate::util::num::parse_i64;

/// Redis's `set-max-intset-entries` default: the most members an intset holds.
pub const MAX_INTSET_ENTRIES: usize = 512;

/// A member as read from a set: integers are kept as integers until they are written out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Member<'a> {
    Int(i64),
    Bytes(&'a [u8]),
}

impl<'a> Member<'a> {
    /// Calls `f` with the member's bytes (an integer is formatted on the stack).
    pub fn with_bytes<R>(self, f: impl FnOnce(&[u8]) -> R) -> R {
        match self {
            Member::Int(v) => f(itoa::Buffer::new().format(v).as_bytes()),
            Member::Bytes(b) => f(b),
        }
    }

    /// An owned copy.
    pub fn to_owned(self) -> OwnedMember {
        match self {
            Member::Int(v) => OwnedMember::Int(v),
            Member::Bytes(b) => OwnedMember::Bytes(StrBuf::from_slice(b)),
        }
    }
}

/// A member removed from a set (SPOP).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum OwnedMember {
    Int(i64),
    Bytes(StrBuf),
}

impl OwnedMember {
    pub fn as_member(&self) -> Member<'_> {
        match self {
            OwnedMember::Int(v) => Member::Int(*v),
            OwnedMember::Bytes(b) => Member::Bytes(b),
        }
    }
}

/// A set of binary-safe members.
#[derive(Debug, Clone, Default)]
pub struct Set {
    repr: Repr,
}

#[derive(Debug, Clone)]
enum Repr {
    /// Sorted and deduplicated: Redis's intset.
    Ints(Vec<i64>),
    /// A hash table of integers ("hashtable" for OBJECT ENCODING). Tables are boxed so a
    /// small set (an intset) costs only its `Vec`.
    IntTable(Box<Table<i64>>),
    /// A hash table of byte strings.
    StrTable(Box<Table<StrBuf>>),
}

impl Default for Repr {
    fn default() -> Self {
        Repr::Ints(Vec::new())
    }
}

fn hasher() -> &'static RandomState {
    // One randomly seeded hasher per process: hash flooding resistant, and no per-set seed.
    static HASHER: OnceLock<RandomState> = OnceLock::new();
    HASHER.get_or_init(RandomState::new)
}

#[inline]
fn hash_bytes(b: &[u8]) -> u64 {
    hasher().hash_one(b)
}

/// An integer hashes as its decimal text, so a member keeps its bucket when an `IntTable`
/// becomes a `StrTable`, and an SSCAN in progress keeps its guarantee across the conversion.
#[inline]
fn hash_int(v: i64) -> u64 {
    hash_bytes(itoa::Buffer::new().format(v).as_bytes())
}

fn int_bytes(v: i64) -> StrBuf {
    StrBuf::from_slice(itoa::Buffer::new().format(v).as_bytes())
}

impl Set {
    /// An empty set (an intset, as Redis's `createIntsetObject`). Callers add members before
    /// storing it: a stored set is never empty.
    pub fn new() -> Self {
        Set::default()
    }

    pub fn len(&self) -> usize {
        match &self.repr {
            Repr::Ints(v) => v.len(),
            Repr::IntTable(t) => t.len(),
            Repr::StrTable(t) => t.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The shape of the chained table a "hashtable" set lives in (DEBUG HTSTATS-KEY);
    /// `None` for an intset.
    pub fn table_stats(&self) -> Option<crate::store::htstats::TableStats> {
        match &self.repr {
            Repr::Ints(_) => None,
            Repr::IntTable(t) => Some(t.stats()),
            Repr::StrTable(t) => Some(t.stats()),
        }
    }

    /// `OBJECT ENCODING`.
    pub fn encoding(&self) -> &'static str {
        match self.repr {
            Repr::Ints(_) => "intset",
            Repr::IntTable(_) | Repr::StrTable(_) => "hashtable",
        }
    }

    /// Whether `member` (client bytes) is in the set.
    pub fn contains(&self, member: &[u8]) -> bool {
        match &self.repr {
            Repr::StrTable(t) => t.find(hash_bytes(member), |m| &m[..] == member).is_some(),
            _ => parse_i64(member).is_some_and(|v| self.contains_member(Member::Int(v))),
        }
    }

    /// Whether `member` (read from another set) is in this one.
    pub fn contains_member(&self, member: Member<'_>) -> bool {
        match (&self.repr, member) {
            (Repr::Ints(v), Member::Int(x)) => v.binary_search(&x).is_ok(),
            (Repr::IntTable(t), Member::Int(x)) => t.find(hash_int(x), |m| *m == x).is_some(),
            (Repr::StrTable(_), m) => m.with_bytes(|b| self.contains(b)),
            (_, Member::Bytes(b)) => self.contains(b),
        }
    }

    /// Adds `member` (client bytes, copied); false when it was already there.
    pub fn add(&mut self, member: &[u8]) -> bool {
        if !matches!(self.repr, Repr::StrTable(_)) {
            if let Some(v) = parse_i64(member) {
                return self.add_int(v);
            }
            self.convert_to_strings();
        }
        let Repr::StrTable(t) = &mut self.repr else {
            unreachable!("converted above")
        };
        let hash = hash_bytes(member);
        if t.find(hash, |m| &m[..] == member).is_some() {
            return false;
        }
        t.insert_new(hash, StrBuf::from_slice(member));
        true
    }

    /// Adds a member read from another set.
    pub fn add_member(&mut self, member: Member<'_>) -> bool {
        match member {
            Member::Int(v) if !matches!(self.repr, Repr::StrTable(_)) => self.add_int(v),
            m => m.with_bytes(|b| self.add(b)),
        }
    }

    /// Adds an integer to an `Ints` or `IntTable` set.
    fn add_int(&mut self, x: i64) -> bool {
        match &mut self.repr {
            Repr::Ints(v) => {
                let Err(at) = v.binary_search(&x) else {
                    return false;
                };
                v.insert(at, x);
                if v.len() > super::limits::set_max_intset_entries() {
                    let mut t = Table::with_capacity(v.len());
                    for &y in v.iter() {
                        t.insert_new(hash_int(y), y);
                    }
                    self.repr = Repr::IntTable(Box::new(t));
                }
                true
            }
            Repr::IntTable(t) => {
                let hash = hash_int(x);
                if t.find(hash, |m| *m == x).is_some() {
                    return false;
                }
                t.insert_new(hash, x);
                true
            }
            Repr::StrTable(_) => unreachable!("callers route strings tables to add"),
        }
    }

    /// Turns an `Ints` or `IntTable` set into a `StrTable` (a non-integer is being added).
    fn convert_to_strings(&mut self) {
        let mut t = Table::with_capacity(self.len() + 1);
        for m in self.iter() {
            let Member::Int(v) = m else {
                unreachable!("integer shapes hold integers")
            };
            let b = int_bytes(v);
            t.insert_new(hash_bytes(&b), b);
        }
        self.repr = Repr::StrTable(Box::new(t));
    }

    /// Removes `member` (client bytes); false when it was not there.
    pub fn remove(&mut self, member: &[u8]) -> bool {
        match &mut self.repr {
            Repr::StrTable(t) => t.remove(hash_bytes(member), |m| &m[..] == member),
            _ => parse_i64(member).is_some_and(|v| self.remove_member(Member::Int(v))),
        }
    }

    /// Removes a member read from another set.
    pub fn remove_member(&mut self, member: Member<'_>) -> bool {
        match (&mut self.repr, member) {
            (Repr::Ints(v), Member::Int(x)) => match v.binary_search(&x) {
                Ok(at) => {
                    v.remove(at);
                    true
                }
                Err(_) => false,
            },
            (Repr::IntTable(t), Member::Int(x)) => t.remove(hash_int(x), |m| *m == x),
            (Repr::StrTable(_), m) => m.with_bytes(|b| self.remove(b)),
            (_, Member::Bytes(b)) => self.remove(b),
        }
    }

    /// Every member: ascending for an intset, slab (insertion-like) order for the tables.
    pub fn iter(&self) -> Iter<'_> {
        Iter(match &self.repr {
            Repr::Ints(v) => IterRepr::Ints(v.iter()),
            Repr::IntTable(t) => IterRepr::IntTable(t.nodes.iter()),
            Repr::StrTable(t) => IterRepr::StrTable(t.nodes.iter()),
        })
    }

    /// Positions are indexes into the intset or the table's slab: `slots()` of them, some
    /// free in a table.
    fn slots(&self) -> usize {
        match &self.repr {
            Repr::Ints(v) => v.len(),
            Repr::IntTable(t) => t.nodes.len(),
            Repr::StrTable(t) => t.nodes.len(),
        }
    }

    fn at(&self, pos: usize) -> Option<Member<'_>> {
        match &self.repr {
            Repr::Ints(v) => v.get(pos).map(|&x| Member::Int(x)),
            Repr::IntTable(t) => t.live(pos).map(|&x| Member::Int(x)),
            Repr::StrTable(t) => t.live(pos).map(|b| Member::Bytes(b)),
        }
    }

    /// A uniformly random live position. The set must not be empty.
    fn random_pos(&self, rng: &mut impl Rng) -> usize {
        assert!(!self.is_empty(), "random member of an empty set");
        // At least a quarter of the slots are live (tables compact below that), so this takes
        // under four tries on average.
        loop {
            let pos = rng.gen_range(0..self.slots());
            if self.at(pos).is_some() {
                return pos;
            }
        }
    }

    /// A uniformly random member. The set must not be empty.
    pub fn random(&self, rng: &mut impl Rng) -> Member<'_> {
        let pos = self.random_pos(rng);
        self.at(pos).expect("live position")
    }

    /// `count` distinct random members, `count < len()`, in random order.
    pub fn sample(&self, count: usize, rng: &mut impl Rng) -> Vec<Member<'_>> {
        debug_assert!(count < self.len());
        if count.saturating_mul(3) > self.len() {
            // A large share: shuffle the front of the list of all positions.
            let mut all: Vec<usize> = (0..self.slots())
                .filter(|&p| self.at(p).is_some())
                .collect();
            for i in 0..count {
                let j = rng.gen_range(i..all.len());
                all.swap(i, j);
            }
            all[..count].iter().filter_map(|&p| self.at(p)).collect()
        } else {
            // A small share: draw until enough distinct positions came up.
            let mut seen = HashSet::with_capacity(count);
            let mut out = Vec::with_capacity(count);
            while out.len() < count {
                let pos = self.random_pos(rng);
                if seen.insert(pos) {
                    out.extend(self.at(pos));
                }
            }
            out
        }
    }

    /// Removes and returns a uniformly random member. The set must not be empty.
    pub fn pop_random(&mut self, rng: &mut impl Rng) -> OwnedMember {
        let pos = self.random_pos(rng);
        match &mut self.repr {
            Repr::Ints(v) => OwnedMember::Int(v.remove(pos)),
            Repr::IntTable(t) => OwnedMember::Int(t.remove_at(pos as u32)),
            Repr::StrTable(t) => OwnedMember::Bytes(t.remove_at(pos as u32)),
        }
    }

    /// One SSCAN step from `cursor`: calls `emit` for a batch of members and returns the next
    /// cursor (0 at the end). An intset is returned whole with cursor 0, as Redis does; a
    /// table is walked bucket by bucket with Redis's reverse-binary cursor, stopping after
    /// `count` members or `10 * count` buckets.
    pub fn scan<'s>(&'s self, cursor: u64, count: usize, mut emit: impl FnMut(Member<'s>)) -> u64 {
        match &self.repr {
            Repr::Ints(v) => {
                v.iter().for_each(|&x| emit(Member::Int(x)));
                0
            }
            Repr::IntTable(t) => t.scan(cursor, count, |&x| emit(Member::Int(x))),
            Repr::StrTable(t) => t.scan(cursor, count, |b| emit(Member::Bytes(b))),
        }
    }
}

impl Drop for Set {
    /// Large values are freed on the lazyfree thread, never on an event loop.
    fn drop(&mut self) {
        if !matches!(self.repr, Repr::Ints(_)) && self.len() > lazyfree::THRESHOLD {
            lazyfree::defer(std::mem::take(&mut self.repr));
        }
    }
}

/// Iterator over a set's members (see [`Set::iter`]).
pub struct Iter<'a>(IterRepr<'a>);

enum IterRepr<'a> {
    Ints(std::slice::Iter<'a, i64>),
    IntTable(std::slice::Iter<'a, Node<i64>>),
    StrTable(std::slice::Iter<'a, Node<StrBuf>>),
}

impl<'a> Iterator for Iter<'a> {
    type Item = Member<'a>;

    fn next(&mut self) -> Option<Member<'a>> {
        match &mut self.0 {
            IterRepr::Ints(it) => it.next().map(|&x| Member::Int(x)),
            IterRepr::IntTable(it) => it.find(|n| n.tag != FREE).map(|n| Member::Int(n.member)),
            IterRepr::StrTable(it) => it
                .find(|n| n.tag != FREE)
                .map(|n| Member::Bytes(&n.member[..])),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The table
// ---------------------------------------------------------------------------------------------

/// End of a chain / of the free list.
const NIL: u32 = u32::MAX;
/// The `tag` of a free slab slot (live tags have the top bit clear).
const FREE: u32 = u32::MAX;
const MIN_BUCKETS: usize = 4;
/// Slabs at most this long are never compacted.
const MIN_COMPACT: usize = 64;

#[inline]
fn tag_of(hash: u64) -> u32 {
    (hash as u32) & 0x7fff_ffff
}

/// Bucket count for `len` members: the next power of two (load factor at most 1).
fn buckets_for(len: usize) -> usize {
    len.next_power_of_two().max(MIN_BUCKETS)
}

/// A chained hash table over a slab; see the module doc.
#[derive(Debug, Clone)]
struct Table<M> {
    nodes: Vec<Node<M>>,
    /// Head node of each chain, or NIL; a power of two long.
    buckets: Vec<u32>,
    /// Head of the free-slot list (linked through `next`), or NIL.
    free: u32,
    len: u32,
}

#[derive(Debug, Clone)]
struct Node<M> {
    member: M,
    next: u32,
    /// 31 bits of the member's hash (its bucket at any table size), or FREE.
    tag: u32,
}

impl<M: Default> Table<M> {
    fn with_capacity(n: usize) -> Self {
        Table {
            nodes: Vec::with_capacity(n),
            buckets: vec![NIL; buckets_for(n)],
            free: NIL,
            len: 0,
        }
    }

    fn len(&self) -> usize {
        self.len as usize
    }

    /// Every bucket's chain, walked.
    fn stats(&self) -> crate::store::htstats::TableStats {
        let mut s = crate::store::htstats::TableStats::default();
        for &head in &self.buckets {
            let mut len = 0;
            let mut at = head;
            while at != NIL {
                len += 1;
                at = self.nodes[at as usize].next;
            }
            s.add_bucket(len);
        }
        s
    }

    #[inline]
    fn bucket(&self, tag: u32) -> usize {
        tag as usize & (self.buckets.len() - 1)
    }

    /// The member at slab position `pos`, if that slot is live.
    fn live(&self, pos: usize) -> Option<&M> {
        self.nodes
            .get(pos)
            .filter(|n| n.tag != FREE)
            .map(|n| &n.member)
    }

    fn find(&self, hash: u64, eq: impl Fn(&M) -> bool) -> Option<u32> {
        let tag = tag_of(hash);
        let mut i = self.buckets[self.bucket(tag)];
        while i != NIL {
            let n = &self.nodes[i as usize];
            if n.tag == tag && eq(&n.member) {
                return Some(i);
            }
            i = n.next;
        }
        None
    }

    /// Inserts a member the caller knows is absent.
    fn insert_new(&mut self, hash: u64, member: M) {
        if self.len() >= self.buckets.len() {
            self.rebuild(self.buckets.len() * 2);
        }
        let tag = tag_of(hash);
        let b = self.bucket(tag);
        let node = Node {
            member,
            next: self.buckets[b],
            tag,
        };
        let i = if self.free != NIL {
            let i = self.free;
            self.free = self.nodes[i as usize].next;
            self.nodes[i as usize] = node;
            i
        } else {
            // u32 positions: up to 4,294,967,294 members (Redis's limit is 2^32 - 1 too).
            assert!(self.nodes.len() < NIL as usize, "set too large");
            self.nodes.push(node);
            (self.nodes.len() - 1) as u32
        };
        self.buckets[b] = i;
        self.len += 1;
    }

    fn remove(&mut self, hash: u64, eq: impl Fn(&M) -> bool) -> bool {
        match self.find(hash, eq) {
            Some(i) => {
                self.remove_at(i);
                true
            }
            None => false,
        }
    }

    /// Unlinks the live node at `i` and returns its member.
    fn remove_at(&mut self, i: u32) -> M {
        let Node { next, tag, .. } = self.nodes[i as usize];
        let b = self.bucket(tag);
        if self.buckets[b] == i {
            self.buckets[b] = next;
        } else {
            let mut p = self.buckets[b];
            while self.nodes[p as usize].next != i {
                p = self.nodes[p as usize].next;
            }
            self.nodes[p as usize].next = next;
        }
        let node = &mut self.nodes[i as usize];
        let member = std::mem::take(&mut node.member);
        node.tag = FREE;
        node.next = self.free;
        self.free = i;
        self.len -= 1;
        if self.nodes.len() > MIN_COMPACT && self.len() * 4 < self.nodes.len() {
            self.compact();
        } else if self.buckets.len() > MIN_BUCKETS && self.len() * 10 < self.buckets.len() {
            self.rebuild(buckets_for(self.len()));
        }
        member
    }

    /// Drops the free slots (keeping the live nodes' order) and rebuilds the chains.
    fn compact(&mut self) {
        self.nodes.retain(|n| n.tag != FREE);
        self.nodes.shrink_to_fit();
        self.free = NIL;
        self.rebuild(buckets_for(self.len()));
    }

    /// Re-chains every live node into `buckets` buckets (no member is rehashed or moved).
    fn rebuild(&mut self, buckets: usize) {
        let shrink = buckets < self.buckets.len();
        self.buckets.clear();
        self.buckets.resize(buckets, NIL);
        if shrink {
            self.buckets.shrink_to_fit();
        }
        let mask = buckets - 1;
        for (i, n) in self.nodes.iter_mut().enumerate() {
            if n.tag != FREE {
                let b = n.tag as usize & mask;
                n.next = self.buckets[b];
                self.buckets[b] = i as u32;
            }
        }
    }

    /// Redis's `dictScan` on one table, repeated as `scanGenericCommand` does.
    fn scan<'s>(&'s self, cursor: u64, count: usize, mut emit: impl FnMut(&'s M)) -> u64 {
        let mask = (self.buckets.len() - 1) as u64;
        let mut v = cursor;
        let mut budget = count.saturating_mul(10);
        let mut emitted = 0;
        loop {
            let mut i = self.buckets[(v & mask) as usize];
            while i != NIL {
                let n = &self.nodes[i as usize];
                emit(&n.member);
                emitted += 1;
                i = n.next;
            }
            // Increment the reversed cursor: the bits above the mask are set first, so the
            // carry walks the masked bits from the top, which keeps the visit order valid
            // across table sizes.
            v |= !mask;
            v = v.reverse_bits().wrapping_add(1).reverse_bits();
            if v == 0 || budget == 0 || emitted >= count {
                return v;
            }
            budget -= 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn members(s: &Set) -> Vec<Vec<u8>> {
        let mut v: Vec<Vec<u8>> = s.iter().map(|m| m.with_bytes(|b| b.to_vec())).collect();
        v.sort();
        v
    }

    fn b(s: &str) -> Vec<u8> {
        s.as_bytes().to_vec()
    }

    #[test]
    fn encodings_follow_redis_7_0() {
        let mut s = Set::new();
        assert!(s.add(b"3") && s.add(b"1") && !s.add(b"1"));
        assert_eq!(s.encoding(), "intset");
        assert_eq!(
            s.iter().collect::<Vec<_>>(),
            vec![Member::Int(1), Member::Int(3)]
        );
        // Not integers in Redis's strict sense.
        for odd in ["007", "-0", "+1", " 1", "1 ", "18446744073709551616", ""] {
            let mut t = Set::new();
            t.add(b"5");
            t.add(odd.as_bytes());
            assert_eq!(t.encoding(), "hashtable", "{odd:?}");
            assert!(t.contains(odd.as_bytes()) && t.contains(b"5"));
            assert_eq!(t.len(), 2);
        }
        // A hashtable never turns back into an intset.
        s.add(b"a");
        s.remove(b"a");
        assert_eq!(s.encoding(), "hashtable");
        assert_eq!(members(&s), vec![b("1"), b("3")]);
    }

    #[test]
    fn intset_converts_past_512_and_keeps_integers() {
        let mut s = Set::new();
        for i in 0..512 {
            s.add(i.to_string().as_bytes());
        }
        assert_eq!(s.encoding(), "intset");
        s.add(b"-1");
        assert_eq!(s.encoding(), "hashtable");
        assert!(matches!(s.repr, Repr::IntTable(_)));
        assert_eq!(s.len(), 513);
        assert!(s.contains(b"-1") && s.contains(b"511") && !s.contains(b"512"));
        assert!(!s.contains(b"0511") && !s.contains(b"x"));
        s.add(b"x");
        assert!(matches!(s.repr, Repr::StrTable(_)));
        assert_eq!(s.len(), 514);
        assert!(s.contains(b"-1") && s.contains(b"511") && s.contains(b"x"));
        assert!(s.contains_member(Member::Int(100)));
        assert!(s.remove_member(Member::Int(100)));
        assert!(!s.contains(b"100"));
    }

    #[test]
    fn table_grows_shrinks_and_compacts() {
        let mut s = Set::new();
        let n = 20_000;
        for i in 0..n {
            assert!(s.add(format!("m{i}").as_bytes()));
        }
        assert_eq!(s.len(), n);
        for i in (0..n).filter(|i| i % 10 != 0) {
            assert!(s.remove(format!("m{i}").as_bytes()), "m{i}");
        }
        assert_eq!(s.len(), n / 10);
        let Repr::StrTable(t) = &s.repr else { panic!() };
        assert!(t.nodes.len() < n / 2, "compacted");
        assert!(t.buckets.len() <= 10 * t.len(), "shrunk");
        for i in 0..n {
            assert_eq!(s.contains(format!("m{i}").as_bytes()), i % 10 == 0);
        }
        // Free slots are reused.
        for i in 0..100 {
            s.add(format!("again{i}").as_bytes());
        }
        assert_eq!(s.len(), n / 10 + 100);
        assert_eq!(s.iter().count(), s.len());
    }

    #[test]
    fn random_pop_and_sample_stay_inside_the_set() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        for big in [false, true] {
            let mut s = Set::new();
            let n = if big { 3000 } else { 100 };
            for i in 0..n {
                s.add(i.to_string().as_bytes());
            }
            for count in [1, 10, n / 3, n / 2, n - 1] {
                let picked = s.sample(count, &mut rng);
                let distinct: HashSet<_> = picked.iter().collect();
                assert_eq!((picked.len(), distinct.len()), (count, count));
                assert!(picked.iter().all(|&m| s.contains_member(m)));
            }
            let mut popped = HashSet::new();
            while !s.is_empty() {
                let m = s.pop_random(&mut rng);
                assert!(!s.contains_member(m.as_member()));
                assert!(popped.insert(m));
            }
            assert_eq!(popped.len(), n);
        }
    }

    #[test]
    fn random_is_roughly_uniform() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let mut s = Set::new();
        for i in 0..1000 {
            s.add(format!("m{i}").as_bytes());
        }
        // Leave holes in the slab: uniformity must not depend on them.
        for i in 0..500 {
            s.remove(format!("m{}", i * 2).as_bytes());
        }
        let mut hits = std::collections::HashMap::new();
        for _ in 0..50_000 {
            *hits.entry(s.random(&mut rng).to_owned()).or_insert(0) += 1;
        }
        assert_eq!(hits.len(), 500);
        assert!(hits.values().all(|&h| (40..=170).contains(&h)), "{hits:?}");
    }

    #[test]
    fn scan_returns_every_stable_member_across_resizes() {
        let mut s = Set::new();
        for i in 0..5000 {
            s.add(format!("k{i}").as_bytes());
        }
        let mut seen = HashSet::new();
        let mut cursor = 0;
        let mut step = 0;
        loop {
            cursor = s.scan(cursor, 10, |m| {
                seen.insert(m.with_bytes(|b| b.to_vec()));
            });
            // Churn: grow then shrink the table between steps.
            if step % 50 == 0 {
                for j in 0..5000 {
                    s.add(format!("tmp{j}").as_bytes());
                }
            } else if step % 50 == 25 {
                for j in 0..5000 {
                    s.remove(format!("tmp{j}").as_bytes());
                }
            }
            step += 1;
            if cursor == 0 {
                break;
            }
        }
        for i in 0..5000 {
            assert!(seen.contains(format!("k{i}").as_bytes()), "missing k{i}");
        }
        // Bounded work per call: a step returns about `count` members.
        let mut n = 0;
        s.scan(0, 10, |_| n += 1);
        assert!(n < 100, "{n}");
    }

    #[test]
    fn scan_survives_the_switch_from_integers_to_strings() {
        let mut s = Set::new();
        for i in 0..5000 {
            s.add(i.to_string().as_bytes());
        }
        let mut seen = HashSet::new();
        let mut cursor = s.scan(0, 10, |m| {
            seen.insert(m.to_owned());
        });
        assert!(matches!(s.repr, Repr::IntTable(_)));
        s.add(b"not a number");
        assert!(matches!(s.repr, Repr::StrTable(_)));
        while cursor != 0 {
            cursor = s.scan(cursor, 10, |m| {
                seen.insert(m.with_bytes(|b| OwnedMember::Bytes(StrBuf::from_slice(b))));
            });
        }
        for i in 0..5000i64 {
            let as_int = OwnedMember::Int(i);
            let as_text = OwnedMember::Bytes(int_bytes(i));
            assert!(
                seen.contains(&as_int) || seen.contains(&as_text),
                "missing {i}"
            );
        }
    }

    #[test]
    fn a_set_header_is_small() {
        // Small sets are common: the boxed header is a Vec plus the variant tag.
        assert!(std::mem::size_of::<Set>() <= 32);
    }

    #[test]
    fn intset_scan_is_whole_and_clone_is_deep() {
        let mut s = Set::new();
        s.add(b"2");
        s.add(b"1");
        let mut got = Vec::new();
        assert_eq!(s.scan(12345, 1, |m| got.push(m.to_owned())), 0);
        assert_eq!(got, vec![OwnedMember::Int(1), OwnedMember::Int(2)]);
        let mut c = s.clone();
        c.add(b"x");
        assert_eq!(s.len(), 2);
        assert_eq!(c.len(), 3);
    }
}
