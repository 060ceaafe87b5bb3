//! The large-zset representation (Redis's "skiplist" encoding): member -> score lookups in
//! `O(1)`, rank and range queries in `O(log n)`.
//!
//! # Layout
//! ```text
//!   slab:  [ member, score ][ member, score ][ free ] ...   chunks of 4096 slots; an element
//!            ^ id 0            ^ id 1                        keeps its id while it lives
//!   index: hash table of ids, hashed and compared by their member (member -> id)
//!   tree:  order-statistic B+tree of (score, id) in zset order (rank, ranges, pops)
//! ```
//! Member bytes are stored once, in the slab (inline up to 16 bytes). A score update moves the
//! element in the tree but keeps its id, so the hash table is untouched.
//!
//! ZSCAN walks slab ids: an element present for a whole scan has one fixed id and is returned
//! exactly once. When deletions leave the slab mostly empty it is compacted (ids reassigned in
//! zset order, which also restores locality); that bumps an epoch carried in the cursor, and a
//! cursor from an older epoch restarts the walk (duplicates are allowed, omissions are not).

use hashbrown::HashTable;

use super::tree::{Members, Pos, Tree};
use crate::store::StrBuf;

const CHUNK_BITS: u32 = 12;
const CHUNK: usize = 1 << CHUNK_BITS;

/// Compact the slab when fewer than 1/COMPACT_RATIO of its slots are live (and it spans at
/// least [`COMPACT_MIN_SLOTS`]).
const COMPACT_RATIO: usize = 4;
const COMPACT_MIN_SLOTS: usize = 2 * CHUNK;

#[derive(Debug, Clone)]
struct Slot {
    member: StrBuf,
    /// NaN marks a free slot (scores are never NaN).
    score: f64,
}

#[derive(Debug, Clone, Default)]
struct Slab {
    chunks: Vec<Vec<Slot>>,
    free: Vec<u32>,
}

impl Slab {
    #[inline]
    fn get(&self, id: u32) -> &Slot {
        &self.chunks[(id >> CHUNK_BITS) as usize][id as usize & (CHUNK - 1)]
    }

    #[inline]
    fn get_mut(&mut self, id: u32) -> &mut Slot {
        &mut self.chunks[(id >> CHUNK_BITS) as usize][id as usize & (CHUNK - 1)]
    }

    /// Slots in use or free (the id space).
    fn slots(&self) -> usize {
        match self.chunks.last() {
            None => 0,
            Some(last) => (self.chunks.len() - 1) * CHUNK + last.len(),
        }
    }

    fn alloc(&mut self, member: StrBuf, score: f64) -> u32 {
        if let Some(id) = self.free.pop() {
            *self.get_mut(id) = Slot { member, score };
            return id;
        }
        if self.chunks.last().is_none_or(|c| c.len() == CHUNK) {
            self.chunks.push(Vec::new());
        }
        let id = self.slots() as u32;
        let chunk = self.chunks.last_mut().expect("a chunk with room");
        chunk.push(Slot { member, score });
        id
    }

    fn release(&mut self, id: u32) -> StrBuf {
        let slot = self.get_mut(id);
        slot.score = f64::NAN;
        let member = std::mem::take(&mut slot.member);
        self.free.push(id);
        member
    }
}

impl Members for Slab {
    #[inline]
    fn member(&self, id: u32) -> &[u8] {
        &self.get(id).member
    }
}

#[derive(Debug, Clone)]
pub struct Big {
    slab: Slab,
    index: HashTable<u32>,
    hasher: ahash::RandomState,
    tree: Tree,
    /// Bumped by every slab compaction; part of ZSCAN cursors. Never 0.
    epoch: u32,
}

impl Default for Big {
    fn default() -> Self {
        Big::new()
    }
}

impl Big {
    pub fn new() -> Big {
        Big {
            slab: Slab::default(),
            index: HashTable::new(),
            hasher: ahash::RandomState::new(),
            tree: Tree::new(),
            epoch: 1,
        }
    }

    pub fn len(&self) -> usize {
        self.tree.len()
    }

    /// The shape of the member index (open addressing), for DEBUG HTSTATS-KEY.
    pub fn index_stats(&self) -> crate::store::htstats::TableStats {
        let mut s = crate::store::htstats::TableStats::default();
        s.add_open(
            crate::store::htstats::buckets_of_capacity(self.index.capacity()),
            self.index.len() as u64,
        );
        s
    }

    fn find(&self, member: &[u8]) -> Option<u32> {
        let hash = self.hasher.hash_one(member);
        self.index
            .find(hash, |&id| &self.slab.get(id).member[..] == member)
            .copied()
    }

    pub fn score(&self, member: &[u8]) -> Option<f64> {
        self.find(member).map(|id| self.slab.get(id).score)
    }

    /// Adds a member that is not present.
    pub fn insert_new(&mut self, member: &[u8], score: f64) {
        let id = self.slab.alloc(StrBuf::from_slice(member), score);
        let Big {
            slab,
            index,
            hasher,
            tree,
            ..
        } = self;
        let hash = hasher.hash_one(member);
        index.insert_unique(hash, id, |&id| hasher.hash_one(&slab.get(id).member[..]));
        tree.insert(score, id, slab);
    }

    /// Sets the score of a present member; false when it is absent.
    pub fn update(&mut self, member: &[u8], score: f64) -> bool {
        let Some(id) = self.find(member) else {
            return false;
        };
        let old = self.slab.get(id).score;
        if old == score && old.is_sign_negative() == score.is_sign_negative() {
            return true;
        }
        self.tree.remove(old, id, &self.slab);
        self.slab.get_mut(id).score = score;
        self.tree.insert(score, id, &self.slab);
        true
    }

    /// Removes a member; returns its score.
    pub fn remove(&mut self, member: &[u8]) -> Option<f64> {
        let hash = self.hasher.hash_one(member);
        let slab = &self.slab;
        let entry = self
            .index
            .find_entry(hash, |&id| &slab.get(id).member[..] == member)
            .ok()?;
        let (id, _) = entry.remove();
        let score = self.slab.get(id).score;
        self.tree.remove(score, id, &self.slab);
        self.slab.release(id);
        self.maybe_compact();
        Some(score)
    }

    /// Removes the element at `pos`; returns it.
    pub fn remove_at(&mut self, pos: Pos) -> (StrBuf, f64) {
        let (score, id) = self.tree.get(pos);
        let hash = self.hasher.hash_one(&self.slab.get(id).member[..]);
        if let Ok(entry) = self.index.find_entry(hash, |&other| other == id) {
            entry.remove();
        }
        self.tree.remove(score, id, &self.slab);
        let member = self.slab.release(id);
        self.maybe_compact();
        (member, score)
    }

    /// 0-based rank and score of a member.
    pub fn rank(&self, member: &[u8]) -> Option<(usize, f64)> {
        let id = self.find(member)?;
        let score = self.slab.get(id).score;
        self.tree
            .rank(score, member, &self.slab)
            .map(|rank| (rank, score))
    }

    pub fn select(&self, rank: usize) -> Option<Pos> {
        self.tree.select(rank)
    }

    /// `(member, score)` at `pos`.
    #[inline]
    pub fn at(&self, pos: Pos) -> (&[u8], f64) {
        let (score, id) = self.tree.get(pos);
        (&self.slab.get(id).member, score)
    }

    pub fn next(&self, pos: Pos) -> Option<Pos> {
        self.tree.next(pos)
    }

    pub fn prev(&self, pos: Pos) -> Option<Pos> {
        self.tree.prev(pos)
    }

    pub fn first(&self) -> Option<Pos> {
        self.tree.first()
    }

    pub fn last(&self) -> Option<Pos> {
        self.tree.last()
    }

    /// Number of leading elements whose score satisfies `before` (a prefix predicate).
    pub fn count_by_score(&self, before: impl Fn(f64) -> bool) -> usize {
        self.tree.partition_by_score(before)
    }

    /// Number of leading elements whose member satisfies `before` (a prefix predicate when all
    /// scores are equal, which is what lexicographic ranges assume).
    pub fn count_by_member(&self, before: impl Fn(&[u8]) -> bool) -> usize {
        self.tree.partition(&self.slab, |_, m| before(m))
    }

    /// One ZSCAN step: calls `f` for live elements from the cursor's slot on, until `count` were
    /// found or `10 * count` slots were visited. Returns the next cursor (0 at the end).
    pub fn scan(&self, cursor: u64, count: usize, mut f: impl FnMut(&[u8], f64)) -> u64 {
        let epoch = (cursor >> 32) as u32;
        let mut id = if epoch == self.epoch {
            (cursor & 0xffff_ffff) as usize
        } else {
            0
        };
        let slots = self.slab.slots();
        let count = count.max(1);
        let budget = count.saturating_mul(10);
        let (mut found, mut visited) = (0usize, 0usize);
        while id < slots && found < count && visited < budget {
            let slot = self.slab.get(id as u32);
            if !slot.score.is_nan() {
                f(&slot.member, slot.score);
                found += 1;
            }
            id += 1;
            visited += 1;
        }
        if id >= slots {
            0
        } else {
            (u64::from(self.epoch) << 32) | id as u64
        }
    }

    /// Reassigns ids densely, in zset order, when the slab is mostly free.
    fn maybe_compact(&mut self) {
        let slots = self.slab.slots();
        if slots < COMPACT_MIN_SLOTS || self.len() * COMPACT_RATIO > slots {
            return;
        }
        let order = self.tree.ids_in_order();
        let mut new_slab = Slab::default();
        let mut renumber = vec![u32::MAX; slots];
        for &old in &order {
            let slot = self.slab.get_mut(old);
            let member = std::mem::take(&mut slot.member);
            renumber[old as usize] = new_slab.alloc(member, slot.score);
        }
        self.tree.remap_ids(|old| renumber[old as usize]);
        self.slab = new_slab;
        let Big {
            slab,
            index,
            hasher,
            ..
        } = self;
        index.clear();
        index.shrink_to(order.len(), |&id| hasher.hash_one(&slab.get(id).member[..]));
        for id in 0..order.len() as u32 {
            let hash = hasher.hash_one(&slab.get(id).member[..]);
            index.insert_unique(hash, id, |&id| hasher.hash_one(&slab.get(id).member[..]));
        }
        self.epoch = self.epoch.checked_add(1).unwrap_or(1);
    }

    /// Checks that slab, index and tree agree (tests only).
    #[cfg(test)]
    pub fn check(&self) {
        self.tree.check(&self.slab);
        assert_eq!(self.index.len(), self.tree.len());
        let live = (0..self.slab.slots() as u32)
            .filter(|&id| !self.slab.get(id).score.is_nan())
            .count();
        assert_eq!(live, self.tree.len());
        for id in self.tree.ids_in_order() {
            let member = &self.slab.get(id).member;
            assert_eq!(self.find(member), Some(id));
        }
    }
}
