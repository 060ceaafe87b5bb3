//! The sorted-set value type: representation, operations and Redis 7.0's encoding rules.
//!
//! # Representation
//! - **Compact** ("listpack"): a `Vec<(score, member)>` kept in zset order. Used while the zset
//!   has at most [`LISTPACK_MAX_ENTRIES`] elements, none longer than [`LISTPACK_MAX_VALUE`]
//!   bytes. Lookups by member are linear, as in Redis's listpack.
//! - **Big** ("skiplist"): a slab of members with a hash index and an order-statistic B+tree
//!   (see [`big`] and [`tree`]): member lookups `O(1)`, rank/range queries `O(log n + m)`.
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
mod tree;

use std::cmp::Ordering;

use crate::store::{lazyfree, StrBuf};
use big::Big;
use tree::Pos;

pub use tree::cmp_key;

/// Redis's `zset-max-listpack-entries` default.
pub const LISTPACK_MAX_ENTRIES: usize = 128;
/// Redis's `zset-max-listpack-value` default (bytes of a member).
pub const LISTPACK_MAX_VALUE: usize = 64;

#[derive(Debug, Clone)]
pub struct ZSet {
    repr: Repr,
}

#[derive(Debug, Clone)]
enum Repr {
    Compact(Vec<(f64, StrBuf)>),
    Big(Big),
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
            repr: Repr::Compact(Vec::new()),
        }
    }

    pub fn len(&self) -> usize {
        match &self.repr {
            Repr::Compact(v) => v.len(),
            Repr::Big(b) => b.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
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
    pub fn from_pairs(mut pairs: Vec<(StrBuf, f64)>) -> ZSet {
        pairs.sort_unstable_by(|a, b| cmp_key(a.1, &a.0, b.1, &b.0));
        let fits = pairs.len() <= LISTPACK_MAX_ENTRIES
            && pairs.iter().all(|(m, _)| m.len() <= LISTPACK_MAX_VALUE);
        let repr = if fits {
            Repr::Compact(
                pairs
                    .into_iter()
                    .map(|(m, s)| (listpack_score(s), m))
                    .collect(),
            )
        } else {
            let mut big = Big::new();
            for (m, s) in &pairs {
                big.insert_new(m, s.to_owned());
            }
            Repr::Big(big)
        };
        ZSet { repr }
    }

    fn compact_find(items: &[(f64, StrBuf)], member: &[u8]) -> Option<usize> {
        items.iter().position(|(_, m)| m[..] == *member)
    }

    fn compact_pos(items: &[(f64, StrBuf)], score: f64, member: &[u8]) -> usize {
        items.partition_point(|(s, m)| cmp_key(*s, m, score, member) == Ordering::Less)
    }

    pub fn score(&self, member: &[u8]) -> Option<f64> {
        match &self.repr {
            Repr::Compact(v) => Self::compact_find(v, member).map(|i| v[i].0),
            Repr::Big(b) => b.score(member),
        }
    }

    pub fn contains(&self, member: &[u8]) -> bool {
        self.score(member).is_some()
    }

    /// Adds a member known to be absent, converting to the big form when the compact limits
    /// would be exceeded.
    fn insert_new(&mut self, member: &[u8], score: f64) {
        if let Repr::Compact(items) = &mut self.repr {
            if items.len() < LISTPACK_MAX_ENTRIES && member.len() <= LISTPACK_MAX_VALUE {
                let score = listpack_score(score);
                let at = Self::compact_pos(items, score, member);
                items.insert(at, (score, StrBuf::from_slice(member)));
                return;
            }
            let mut big = Big::new();
            for (s, m) in items.drain(..) {
                big.insert_new(&m, s);
            }
            self.repr = Repr::Big(big);
        }
        if let Repr::Big(b) = &mut self.repr {
            b.insert_new(member, score);
        }
    }

    /// Moves a present member to `score`.
    fn set_score(&mut self, member: &[u8], score: f64) {
        match &mut self.repr {
            Repr::Compact(items) => {
                if let Some(i) = Self::compact_find(items, member) {
                    let score = listpack_score(score);
                    let (_, m) = items.remove(i);
                    let at = Self::compact_pos(items, score, member);
                    items.insert(at, (score, m));
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
            Repr::Compact(items) => match Self::compact_find(items, member) {
                Some(i) => {
                    items.remove(i);
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
            Repr::Compact(v) => Self::compact_find(v, member).map(|i| (i, v[i].0)),
            Repr::Big(b) => b.rank(member),
        }
    }

    /// The element of 0-based ascending rank `rank`.
    pub fn get(&self, rank: usize) -> Option<(&[u8], f64)> {
        match &self.repr {
            Repr::Compact(v) => v.get(rank).map(|(s, m)| (&m[..], *s)),
            Repr::Big(b) => b.select(rank).map(|p| b.at(p)),
        }
    }

    /// Walks from rank `start` upwards (or downwards when `rev`) to the end.
    pub fn iter_from(&self, start: usize, rev: bool) -> Iter<'_> {
        let state = if start >= self.len() {
            State::Done
        } else {
            match &self.repr {
                Repr::Compact(v) => State::Compact(v, start),
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
            Repr::Compact(v) => v.partition_point(|(s, _)| before(*s)),
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
            Repr::Compact(v) => {
                if rev {
                    let i = v.iter().rposition(|(_, m)| range.lte_max(m))?;
                    range.gte_min(&v[i].1).then_some(i)
                } else {
                    let i = v.iter().position(|(_, m)| range.gte_min(m))?;
                    range.lte_max(&v[i].1).then_some(i)
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
            Repr::Compact(v) => {
                v.drain(lo..hi);
            }
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
            Repr::Compact(v) => {
                if v.is_empty() {
                    return None;
                }
                let (s, m) = if max { v.pop()? } else { v.remove(0) };
                Some((m, s))
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
            Repr::Compact(v) => {
                for (s, m) in v {
                    f(m, *s);
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
            Repr::Compact(v) => {
                for w in v.windows(2) {
                    assert_eq!(cmp_key(w[0].0, &w[0].1, w[1].0, &w[1].1), Ordering::Less);
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
    Compact(&'a [(f64, StrBuf)], usize),
    Big(&'a Big, Pos),
    Done,
}

impl<'a> Iterator for Iter<'a> {
    type Item = (&'a [u8], f64);

    fn next(&mut self) -> Option<Self::Item> {
        match self.state {
            State::Done => None,
            State::Compact(items, i) => {
                let (s, m) = &items[i];
                self.state = match (self.rev, i) {
                    (true, 0) => State::Done,
                    (true, _) => State::Compact(items, i - 1),
                    (false, _) if i + 1 < items.len() => State::Compact(items, i + 1),
                    (false, _) => State::Done,
                };
                Some((&m[..], *s))
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
    /// Large values are freed on the lazyfree thread, never on an event loop.
    fn drop(&mut self) {
        if self.len() > lazyfree::THRESHOLD {
            let repr = std::mem::replace(&mut self.repr, Repr::Compact(Vec::new()));
            lazyfree::defer(repr);
        }
    }
}

#[cfg(test)]
mod tests;
