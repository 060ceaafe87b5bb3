//! The sorted-set value type: representation, operations and Redis 7.0's encoding rules.
//!
//! # Representation
//! - **Compact** ("listpack"): every element packed in one byte buffer in zset order (see
//!   `pack`), `member length + 10` bytes each. Used while the zset has at most
//!   [`LISTPACK_MAX_ENTRIES`] elements, none longer than [`LISTPACK_MAX_VALUE`] bytes. Lookups
//!   are linear walks, as in Redis's listpack.
//! - **Big** ("skiplist"): a slab of members with a hash index and an order-statistic B+tree
//!   (see `big` and `tree`): member lookups `O(1)`, rank/range queries `O(log n + m)`.
//!
//! As in Redis 7.0, a zset is converted to Big when an insert would break the compact limits and
//! is never converted back by deletions; only the store commands (ZUNIONSTORE & co,
//! ZRANGESTORE), which build a fresh zset, pick the compact form for a small result
//! ([`ZSet::from_pairs`]). `OBJECT ENCODING` therefore matches Redis's for the same history.
//!
//! # Order
//! Elements are ordered by score, then by member bytes (`memcmp`, a prefix first). Scores are
//! never NaN; `-0.0` and `0.0` are equal (a ZADD of one over the other changes nothing), and
//! the compact form stores `-0.0` as `0` like Redis's listpack.
//!
//! # Ranges
//! Range lookups follow Redis's algorithm so that replies match it exactly, including for
//! lexicographic ranges over members with different scores (which Redis leaves unspecified but
//! answers deterministically for small zsets): find the first (or, reversed, last) element in
//! range, then walk while the far bound holds. [`ZSet::score_start`] / [`ZSet::lex_start`] give
//! the starting rank; [`ZSet::iter_from`] walks.
//!
//! Invariant: a stored ZSet is never empty — a command that empties it deletes the key. This
//! module owns representation and operations; it never formats replies.

mod big;
mod pack;
mod tree;

use std::cmp::Ordering;

use crate::store::{lazyfree, StrBuf};
use big::Big;
use pack::Pack;
use tree::Pos;

pub use tree::cmp_key;

/// Redis's `zset-max-listpack-entries` default (the live value: [`super::limits`]).
pub const LISTPACK_MAX_ENTRIES: usize = 128;
/// Redis's `zset-max-listpack-value` default (bytes of a member).
pub const LISTPACK_MAX_VALUE: usize = 64;

#[derive(Debug, Clone)]
pub struct ZSet {
    repr: Repr,
}

#[derive(Debug, Clone)]
enum Repr {
    Compact(Pack),
    Big(Box<Big>),
}

/// A score as Redis 7.0's listpack stores it: `-0` is written as the integer 0, so the compact
/// form loses the sign of zero (the big form keeps it, as Redis's skiplist does).
#[inline]
fn listpack_score(score: f64) -> f64 {
    if score == 0.0 {
        0.0
    } else {
        score
    }
}

impl Default for ZSet {
    fn default() -> Self {
        ZSet::new()
    }
}

/// A score interval, `(` exclusive bounds included (Redis's `zrangespec`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScoreRange {
    pub min: f64,
    pub max: f64,
    pub min_ex: bool,
    pub max_ex: bool,
}

impl ScoreRange {
    #[inline]
    pub fn gte_min(&self, v: f64) -> bool {
        if self.min_ex {
            v > self.min
        } else {
            v >= self.min
        }
    }

    #[inline]
    pub fn lte_max(&self, v: f64) -> bool {
        if self.max_ex {
            v < self.max
        } else {
            v <= self.max
        }
    }

    /// A range no score can be in.
    pub fn is_empty(&self) -> bool {
        self.min > self.max || (self.min == self.max && (self.min_ex || self.max_ex))
    }
}

/// One end of a lexicographic range: `-`, `+`, `[member` or `(member`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LexBound {
    /// `-`: before every member.
    Min,
    /// `+`: after every member.
    Max,
    Inclusive(Vec<u8>),
    Exclusive(Vec<u8>),
}

impl LexBound {
    /// `sdscmplex(member, bound)`: how a member compares with this bound's value.
    fn cmp_member(&self, member: &[u8]) -> Ordering {
        match self {
            LexBound::Min => Ordering::Greater,
            LexBound::Max => Ordering::Less,
            LexBound::Inclusive(v) | LexBound::Exclusive(v) => member.cmp(v),
        }
    }

    /// `-` and `+` count as exclusive, as in Redis.
    fn exclusive(&self) -> bool {
        !matches!(self, LexBound::Inclusive(_))
    }
}

/// A lexicographic range (Redis's `zlexrangespec`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LexRange {
    pub min: LexBound,
    pub max: LexBound,
}

impl LexRange {
    #[inline]
    pub fn gte_min(&self, member: &[u8]) -> bool {
        let c = self.min.cmp_member(member);
        if self.min.exclusive() {
            c == Ordering::Greater
        } else {
            c != Ordering::Less
        }
    }

    #[inline]
    pub fn lte_max(&self, member: &[u8]) -> bool {
        let c = self.max.cmp_member(member);
        if self.max.exclusive() {
            c == Ordering::Less
        } else {
            c != Ordering::Greater
        }
    }

    /// A range no member can be in (`zslIsInLexRange`'s first test, `sdscmplex(min, max)`).
    pub fn is_empty(&self) -> bool {
        use LexBound::*;
        let cmp = match (&self.min, &self.max) {
            (Min, Min) | (Max, Max) => Ordering::Equal,
            (Min, _) | (_, Max) => Ordering::Less,
            (Max, _) | (_, Min) => Ordering::Greater,
            (Inclusive(a) | Exclusive(a), Inclusive(b) | Exclusive(b)) => a.cmp(b),
        };
        cmp == Ordering::Greater
            || (cmp == Ordering::Equal && (self.min.exclusive() || self.max.exclusive()))
    }
}

/// ZADD's option flags.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AddFlags {
    pub nx: bool,
    pub xx: bool,
    pub gt: bool,
    pub lt: bool,
    pub incr: bool,
}

/// What [`ZSet::add`] did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum AddOutcome {
    /// A new member, with its score.
    Added(f64),
    /// An existing member whose score changed to this.
    Updated(f64),
    /// An existing member whose new score equals the old one.
    Unchanged(f64),
    /// NX/XX/GT/LT prevented the change.
    Skipped,
    /// INCR produced NaN; nothing changed.
    NotANumber,
}

impl ZSet {
    pub fn new() -> ZSet {
        ZSet {
            repr: Repr::Compact(Pack::default()),
        }
    }

    pub fn len(&self) -> usize {
        match &self.repr {
            Repr::Compact(p) => p.len(),
            Repr::Big(b) => b.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The shape of a "skiplist" sorted set's member index (DEBUG HTSTATS-KEY); `None` for
    /// a listpack.
    pub fn table_stats(&self) -> Option<crate::store::htstats::TableStats> {
        match &self.repr {
            Repr::Compact(_) => None,
            Repr::Big(b) => Some(b.index_stats()),
        }
    }

    /// `OBJECT ENCODING`.
    pub fn encoding(&self) -> &'static str {
        match &self.repr {
            Repr::Compact(_) => "listpack",
            Repr::Big(_) => "skiplist",
        }
    }

    /// Builds a zset from distinct members, choosing the compact form when the result fits
    /// (Redis's `zsetConvertToListpackIfNeeded`, as the store commands do).
    pub fn from_pairs(pairs: Vec<(StrBuf, f64)>) -> ZSet {
        Self::from_pairs_within(pairs, super::limits::zset_max_value())
    }

    /// [`ZSet::from_pairs`] for an RDB listpack or ziplist payload: as Redis 7.0's loader,
    /// only the member count decides (a long member stays packed, up to what the packed form
    /// can hold).
    pub fn from_packed_pairs(pairs: Vec<(StrBuf, f64)>) -> ZSet {
        Self::from_pairs_within(pairs, super::limits::PACK_MAX_VALUE as usize)
    }

    fn from_pairs_within(mut pairs: Vec<(StrBuf, f64)>, max_value: usize) -> ZSet {
        pairs.sort_unstable_by(|a, b| cmp_key(a.1, &a.0, b.1, &b.0));
        let fits = pairs.len() <= super::limits::zset_max_entries()
            && pairs.iter().all(|(m, _)| m.len() <= max_value);
        let repr = if fits {
            let mut pack = Pack::default();
            // Ascending input: each insert appends.
            for (m, s) in &pairs {
                pack.insert(listpack_score(*s), m);
            }
            Repr::Compact(pack)
        } else {
            let mut big = Big::new();
            for (m, s) in &pairs {
                big.insert_new(m, *s);
            }
            Repr::Big(Box::new(big))
        };
        ZSet { repr }
    }

    pub fn score(&self, member: &[u8]) -> Option<f64> {
        match &self.repr {
            Repr::Compact(p) => p.find(member).map(|(_, it)| it.score),
            Repr::Big(b) => b.score(member),
        }
    }

    pub fn contains(&self, member: &[u8]) -> bool {
        self.score(member).is_some()
    }

    /// Adds a member known to be absent, converting to the big form when the compact limits
    /// would be exceeded.
    fn insert_new(&mut self, member: &[u8], score: f64) {
        if let Repr::Compact(pack) = &mut self.repr {
            if pack.len() < super::limits::zset_max_entries()
                && member.len() <= super::limits::zset_max_value()
            {
                pack.insert(listpack_score(score), member);
                return;
            }
            let mut big = Big::new();
            for (m, s) in pack.take() {
                big.insert_new(&m, s);
            }
            self.repr = Repr::Big(Box::new(big));
        }
        if let Repr::Big(b) = &mut self.repr {
            b.insert_new(member, score);
        }
    }

    /// Moves a present member to `score`.
    fn set_score(&mut self, member: &[u8], score: f64) {
        match &mut self.repr {
            Repr::Compact(pack) => {
                if let Some((_, it)) = pack.find(member) {
                    let start = it.start;
                    pack.remove_at(start);
                    pack.insert(listpack_score(score), member);
                }
            }
            Repr::Big(b) => {
                b.update(member, score);
            }
        }
    }

    /// ZADD's per-element step (`zsetAdd`), honouring NX/XX/GT/LT/INCR.
    pub fn add(&mut self, score: f64, member: &[u8], flags: AddFlags) -> AddOutcome {
        match self.score(member) {
            Some(cur) => {
                if flags.nx {
                    return AddOutcome::Skipped;
                }
                let mut new = score;
                if flags.incr {
                    new += cur;
                    if new.is_nan() {
                        return AddOutcome::NotANumber;
                    }
                }
                if (flags.lt && new >= cur) || (flags.gt && new <= cur) {
                    return AddOutcome::Skipped;
                }
                if new != cur {
                    self.set_score(member, new);
                    AddOutcome::Updated(new)
                } else {
                    AddOutcome::Unchanged(new)
                }
            }
            None if flags.xx => AddOutcome::Skipped,
            None => {
                self.insert_new(member, score);
                AddOutcome::Added(score)
            }
        }
    }

    /// Sets `member`'s score, adding it if absent.
    pub fn insert(&mut self, member: &[u8], score: f64) {
        self.add(score, member, AddFlags::default());
    }

    /// Removes a member; true when it was present.
    pub fn remove(&mut self, member: &[u8]) -> bool {
        match &mut self.repr {
            Repr::Compact(pack) => match pack.find(member).map(|(_, it)| it.start) {
                Some(start) => {
                    pack.remove_at(start);
                    true
                }
                None => false,
            },
            Repr::Big(b) => b.remove(member).is_some(),
        }
    }

    /// 0-based ascending rank and score of a member.
    pub fn rank(&self, member: &[u8]) -> Option<(usize, f64)> {
        match &self.repr {
            Repr::Compact(p) => p.find(member).map(|(rank, it)| (rank, it.score)),
            Repr::Big(b) => b.rank(member),
        }
    }

    /// The element of 0-based ascending rank `rank`.
    pub fn get(&self, rank: usize) -> Option<(&[u8], f64)> {
        match &self.repr {
            Repr::Compact(p) => p.get(rank).map(|it| (it.member, it.score)),
            Repr::Big(b) => b.select(rank).map(|p| b.at(p)),
        }
    }

    /// Walks from rank `start` upwards (or downwards when `rev`) to the end.
    pub fn iter_from(&self, start: usize, rev: bool) -> Iter<'_> {
        let state = if start >= self.len() {
            State::Done
        } else {
            match &self.repr {
                Repr::Compact(p) => match p.get(start) {
                    Some(it) => State::Compact(p, it.start),
                    None => State::Done,
                },
                Repr::Big(b) => match b.select(start) {
                    Some(pos) => State::Big(b, pos),
                    None => State::Done,
                },
            }
        };
        Iter { state, rev }
    }

    /// Every element in ascending order.
    pub fn iter(&self) -> Iter<'_> {
        self.iter_from(0, false)
    }

    /// Number of elements whose score is in `range`.
    pub fn count_in_score_range(&self, range: &ScoreRange) -> usize {
        if range.is_empty() {
            return 0;
        }
        let (lo, hi) = (
            self.count_scores(|s| !range.gte_min(s)),
            self.count_scores(|s| range.lte_max(s)),
        );
        hi.saturating_sub(lo)
    }

    /// Leading elements whose score satisfies a prefix predicate.
    fn count_scores(&self, before: impl Fn(f64) -> bool) -> usize {
        match &self.repr {
            Repr::Compact(p) => p.count_while(|_, s| before(s)),
            Repr::Big(b) => b.count_by_score(before),
        }
    }

    /// Rank of the first (ascending) or last (`rev`) element in `range`
    /// (`zslFirstInRange` / `zslLastInRange`).
    pub fn score_start(&self, range: &ScoreRange, rev: bool) -> Option<usize> {
        if range.is_empty() || self.is_empty() {
            return None;
        }
        if rev {
            let hi = self.count_scores(|s| range.lte_max(s));
            let rank = hi.checked_sub(1)?;
            let (_, score) = self.get(rank)?;
            range.gte_min(score).then_some(rank)
        } else {
            let lo = self.count_scores(|s| !range.gte_min(s));
            let (_, score) = self.get(lo)?;
            range.lte_max(score).then_some(lo)
        }
    }

    /// Rank of the first (ascending) or last (`rev`) element in a lexicographic range, with
    /// Redis's semantics: a linear scan over a compact zset (as its listpack), a search
    /// assuming equal scores over a big one (as its skiplist).
    pub fn lex_start(&self, range: &LexRange, rev: bool) -> Option<usize> {
        if range.is_empty() || self.is_empty() {
            return None;
        }
        let (first, _) = self.get(0)?;
        let (last, _) = self.get(self.len() - 1)?;
        if !range.gte_min(last) || !range.lte_max(first) {
            return None;
        }
        match &self.repr {
            Repr::Compact(p) => {
                if rev {
                    let i = p
                        .items()
                        .enumerate()
                        .filter(|(_, it)| range.lte_max(it.member))
                        .last()?;
                    range.gte_min(i.1.member).then_some(i.0)
                } else {
                    let i = p
                        .items()
                        .enumerate()
                        .find(|(_, it)| range.gte_min(it.member))?;
                    range.lte_max(i.1.member).then_some(i.0)
                }
            }
            Repr::Big(b) => {
                if rev {
                    let hi = b.count_by_member(|m| range.lte_max(m));
                    let rank = hi.checked_sub(1)?;
                    let (m, _) = b.at(b.select(rank)?);
                    range.gte_min(m).then_some(rank)
                } else {
                    let lo = b.count_by_member(|m| !range.gte_min(m));
                    let (m, _) = b.at(b.select(lo)?);
                    range.lte_max(m).then_some(lo)
                }
            }
        }
    }

    /// ZLEXCOUNT: elements from the first in range while the upper bound holds.
    pub fn count_in_lex_range(&self, range: &LexRange) -> usize {
        let Some(start) = self.lex_start(range, false) else {
            return 0;
        };
        match &self.repr {
            Repr::Compact(_) => self
                .iter_from(start, false)
                .take_while(|(m, _)| range.lte_max(m))
                .count(),
            // Redis counts by the ranks of the first and last elements in range.
            Repr::Big(_) => {
                let end = self
                    .lex_start(range, true)
                    .map_or(self.len(), |last| last + 1);
                end.saturating_sub(start)
            }
        }
    }

    /// Removes the elements of ranks `lo..hi`; returns how many.
    pub fn remove_ranks(&mut self, lo: usize, hi: usize) -> usize {
        let hi = hi.min(self.len());
        if lo >= hi {
            return 0;
        }
        match &mut self.repr {
            Repr::Compact(p) => p.remove_ranks(lo, hi),
            Repr::Big(b) => {
                for _ in lo..hi {
                    if let Some(pos) = b.select(lo) {
                        b.remove_at(pos);
                    }
                }
            }
        }
        hi - lo
    }

    /// Removes the run of elements starting at rank `start` while `keep_going` holds for them;
    /// returns how many.
    pub fn remove_run(&mut self, start: usize, keep_going: impl Fn(&[u8], f64) -> bool) -> usize {
        let n = self
            .iter_from(start, false)
            .take_while(|(m, s)| keep_going(m, *s))
            .count();
        self.remove_ranks(start, start + n)
    }

    /// ZREMRANGEBYSCORE.
    pub fn remove_score_range(&mut self, range: &ScoreRange) -> usize {
        match self.score_start(range, false) {
            Some(start) => self.remove_run(start, |_, s| range.lte_max(s)),
            None => 0,
        }
    }

    /// ZREMRANGEBYLEX (`zzlDeleteRangeByLex` / `zslDeleteRangeByLex`).
    pub fn remove_lex_range(&mut self, range: &LexRange) -> usize {
        let start = match &self.repr {
            Repr::Compact(_) => self.lex_start(range, false),
            Repr::Big(b) => Some(b.count_by_member(|m| !range.gte_min(m))),
        };
        match start {
            Some(start) => self.remove_run(start, |m, _| range.lte_max(m)),
            None => 0,
        }
    }

    /// Removes and returns the lowest (or highest, `max`) element.
    pub fn pop(&mut self, max: bool) -> Option<(StrBuf, f64)> {
        match &mut self.repr {
            Repr::Compact(p) => {
                if p.len() == 0 {
                    return None;
                }
                let it = if max { p.before(p.end()) } else { p.at(0) };
                let (member, score, start) = (StrBuf::from_slice(it.member), it.score, it.start);
                p.remove_at(start);
                Some((member, score))
            }
            Repr::Big(b) => {
                let pos = if max { b.last()? } else { b.first()? };
                Some(b.remove_at(pos))
            }
        }
    }

    /// One ZSCAN step: a compact zset is returned whole (next cursor 0, whatever the cursor),
    /// a big one incrementally. Returns the next cursor.
    pub fn scan(&self, cursor: u64, count: usize, mut f: impl FnMut(&[u8], f64)) -> u64 {
        match &self.repr {
            Repr::Compact(p) => {
                for it in p.items() {
                    f(it.member, it.score);
                }
                0
            }
            Repr::Big(b) => b.scan(cursor, count, f),
        }
    }

    /// Checks internal invariants (tests only).
    #[cfg(test)]
    fn check(&self) {
        match &self.repr {
            Repr::Compact(p) => {
                let items: Vec<_> = p.items().collect();
                assert_eq!(items.len(), p.len());
                for w in items.windows(2) {
                    assert_eq!(
                        cmp_key(w[0].score, w[0].member, w[1].score, w[1].member),
                        Ordering::Less
                    );
                }
            }
            Repr::Big(b) => b.check(),
        }
    }
}

/// A walk over a zset from some rank, ascending or descending; yields `(member, score)`.
pub struct Iter<'a> {
    state: State<'a>,
    rev: bool,
}

enum State<'a> {
    /// A pack and the byte offset of the next entry to yield.
    Compact(&'a Pack, usize),
    Big(&'a Big, Pos),
    Done,
}

impl<'a> Iterator for Iter<'a> {
    type Item = (&'a [u8], f64);

    fn next(&mut self) -> Option<Self::Item> {
        match self.state {
            State::Done => None,
            State::Compact(pack, start) => {
                let it = pack.at(start);
                self.state = if self.rev {
                    if start == 0 {
                        State::Done
                    } else {
                        State::Compact(pack, pack.before(start).start)
                    }
                } else if it.end < pack.end() {
                    State::Compact(pack, it.end)
                } else {
                    State::Done
                };
                Some((it.member, it.score))
            }
            State::Big(big, pos) => {
                let item = big.at(pos);
                let next = if self.rev {
                    big.prev(pos)
                } else {
                    big.next(pos)
                };
                self.state = next.map_or(State::Done, |p| State::Big(big, p));
                Some(item)
            }
        }
    }
}

impl Drop for ZSet {
    /// Large values are freed on the lazyfree thread, never on an event loop. (A compact zset
    /// is one allocation, freed here like Redis frees a listpack.)
    fn drop(&mut self) {
        if matches!(self.repr, Repr::Big(_)) && self.len() > lazyfree::THRESHOLD {
            let repr = std::mem::replace(&mut self.repr, Repr::Compact(Pack::default()));
            lazyfree::defer(repr);
        }
    }
}

#[cfg(test)]
mod tests;
