//! The compact zset form (Redis's "listpack" encoding): every element packed in one byte
//! buffer, in zset order.
//!
//! ```text
//!   [len][member bytes][score: f64 LE][len]  [len][member ...
//!    1B   len (<= 64)   8 bytes       1B
//! ```
//! The length byte is repeated after the entry so the buffer can be walked backwards as well
//! as forwards (reverse ranges, ZPOPMAX). Members are at most 64 bytes
//! ([`super::LISTPACK_MAX_VALUE`]) and a pack holds at most 128 entries, so every operation is a
//! short linear walk, as in Redis's listpack; a small zset then costs `len + 10` bytes per
//! element instead of a vector slot plus a heap string.

use std::cmp::Ordering;

use super::tree::cmp_key;

/// Bytes an entry takes besides its member.
const OVERHEAD: usize = 10;

#[derive(Debug, Clone, Default)]
pub struct Pack {
    buf: Vec<u8>,
    len: usize,
}

/// One decoded entry: member, score, and the byte offsets where it starts and ends.
#[derive(Debug, Clone, Copy)]
pub struct Item<'a> {
    pub member: &'a [u8],
    pub score: f64,
    pub start: usize,
    pub end: usize,
}

impl Pack {
    pub fn len(&self) -> usize {
        self.len
    }

    /// The entry starting at byte `start` (which must be an entry boundary before the end).
    #[inline]
    pub fn at(&self, start: usize) -> Item<'_> {
        let n = self.buf[start] as usize;
        let member = &self.buf[start + 1..start + 1 + n];
        let mut score = [0u8; 8];
        score.copy_from_slice(&self.buf[start + 1 + n..start + 9 + n]);
        Item {
            member,
            score: f64::from_le_bytes(score),
            start,
            end: start + n + OVERHEAD,
        }
    }

    /// The entry ending at byte `end` (an entry boundary after the start).
    #[inline]
    pub fn before(&self, end: usize) -> Item<'_> {
        let n = self.buf[end - 1] as usize;
        self.at(end - n - OVERHEAD)
    }

    /// Byte size of the buffer (one past the last entry).
    pub fn end(&self) -> usize {
        self.buf.len()
    }

    /// Entries in order.
    pub fn items(&self) -> impl Iterator<Item = Item<'_>> {
        let mut off = 0;
        std::iter::from_fn(move || {
            (off < self.buf.len()).then(|| {
                let item = self.at(off);
                off = item.end;
                item
            })
        })
    }

    /// Rank and entry of `member`.
    pub fn find(&self, member: &[u8]) -> Option<(usize, Item<'_>)> {
        self.items().enumerate().find(|(_, it)| it.member == member)
    }

    /// The entry of 0-based rank `rank`.
    pub fn get(&self, rank: usize) -> Option<Item<'_>> {
        self.items().nth(rank)
    }

    /// Byte offset of rank `rank` (`end()` when `rank == len`).
    fn offset_of(&self, rank: usize) -> usize {
        self.items().nth(rank).map_or(self.buf.len(), |it| it.start)
    }

    /// Number of leading entries for which `before` holds (a prefix predicate).
    pub fn count_while(&self, before: impl Fn(&[u8], f64) -> bool) -> usize {
        self.items()
            .take_while(|it| before(it.member, it.score))
            .count()
    }

    /// Inserts `(score, member)` at its place; the member must be absent and fit in a byte.
    pub fn insert(&mut self, score: f64, member: &[u8]) {
        debug_assert!(member.len() <= u8::MAX as usize);
        let at = self
            .items()
            .find(|it| cmp_key(it.score, it.member, score, member) != Ordering::Less)
            .map_or(self.buf.len(), |it| it.start);
        let n = member.len() as u8;
        let mut entry = Vec::with_capacity(member.len() + OVERHEAD);
        entry.push(n);
        entry.extend_from_slice(member);
        entry.extend_from_slice(&score.to_le_bytes());
        entry.push(n);
        // Exact growth: a small zset keeps no spare capacity (Redis's listpack reallocates on
        // every insert too).
        self.buf.reserve_exact(entry.len());
        self.buf.splice(at..at, entry);
        self.len += 1;
    }

    /// Removes the entry starting at byte `start`.
    pub fn remove_at(&mut self, start: usize) {
        let end = self.at(start).end;
        self.buf.drain(start..end);
        self.len -= 1;
        self.trim();
    }

    /// Gives back spare capacity once it dominates (after removals).
    fn trim(&mut self) {
        if self.buf.capacity() > 2 * self.buf.len() + 64 {
            self.buf.shrink_to_fit();
        }
    }

    /// Removes the entries of ranks `lo..hi` (`hi <= len`).
    pub fn remove_ranks(&mut self, lo: usize, hi: usize) {
        let (from, to) = (self.offset_of(lo), self.offset_of(hi));
        self.buf.drain(from..to);
        self.len -= hi - lo;
        self.trim();
    }

    /// Drops all entries, returning them in order (conversion to the big form).
    pub fn take(&mut self) -> Vec<(Vec<u8>, f64)> {
        let out = self
            .items()
            .map(|it| (it.member.to_vec(), it.score))
            .collect();
        self.buf = Vec::new();
        self.len = 0;
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walks_both_ways_and_keeps_order() {
        let mut p = Pack::default();
        for (s, m) in [(2.0, "b"), (1.0, "z"), (2.0, "a"), (-1.0, ""), (2.0, "ab")] {
            p.insert(s, m.as_bytes());
        }
        let fwd: Vec<(&[u8], f64)> = p.items().map(|it| (it.member, it.score)).collect();
        let want: Vec<(&[u8], f64)> = vec![
            (b"", -1.0),
            (b"z", 1.0),
            (b"a", 2.0),
            (b"ab", 2.0),
            (b"b", 2.0),
        ];
        assert_eq!(fwd, want);
        let mut back = Vec::new();
        let mut end = p.end();
        while end > 0 {
            let it = p.before(end);
            back.push((it.member, it.score));
            end = it.start;
        }
        back.reverse();
        assert_eq!(back, want);
        assert_eq!(p.find(b"ab").map(|(r, _)| r), Some(3));
        p.remove_ranks(1, 3);
        assert_eq!(p.len(), 3);
        let (_, it) = p.find(b"b").unwrap();
        p.remove_at(it.start);
        let rest: Vec<&[u8]> = p.items().map(|it| it.member).collect();
        assert_eq!(rest, [&b""[..], b"ab"]);
        assert_eq!(p.end(), 2 * OVERHEAD + 2);
    }
}
