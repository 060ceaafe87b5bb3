//! The list value type: Redis's quicklist idea, a deque of packed chunks.
//!
//! # Layout
//! A [`List`] is a `VecDeque` of chunks. A chunk is one byte buffer of at most [`CHUNK_BYTES`]
//! (a larger element gets a chunk of its own) holding consecutive elements, each framed as
//!
//! ```text
//! len (LEB128) | bytes | len (LEB128, bytes in reverse order)
//! ```
//!
//! The trailing length lets a chunk be walked from its end as well as its start (RPOP, reverse
//! LPOS and index lookups near the tail never scan forward). An element under 128 bytes costs
//! its bytes plus 2; a chunk adds 32 bytes of deque slot and one allocation per ~4 KiB, so a
//! list costs about `element + 2` bytes per element (Redis's listpack is `element + 2` too, less
//! for small integers).
//!
//! # Costs
//! - push/pop at either end: O(1), plus moving the head chunk's bytes (≤ [`CHUNK_BYTES`]) when
//!   the head is pushed to or popped from, as a listpack does;
//! - access by index (LINDEX, LSET, LRANGE's start): O(chunks + chunk length), walked from the
//!   nearer end of the list and of the chunk;
//! - LINSERT, LREM, LPOS: a scan; LTRIM: O(removed chunks).
//!
//! Writes that grow a chunk past [`CHUNK_BYTES`] (LSET, LINSERT) split it at its middle; LREM
//! removes emptied chunks and merges neighbours that fit in one.
//!
//! # Invariants
//! No chunk is empty; `len` is the sum of the chunks' counts. A stored List is never empty: a
//! command that empties it deletes the key. This module never formats replies; the command
//! family (`commands/lists.rs`) normalises Redis's negative indexes before calling it.

use std::collections::VecDeque;

use crate::store::{lazyfree, StrBuf};

/// An end of a list: LEFT is the head, RIGHT the tail.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Side {
    Left,
    Right,
}

impl Side {
    /// The keyspace event of a push at this end.
    pub fn push_event(self) -> &'static str {
        match self {
            Side::Left => "lpush",
            Side::Right => "rpush",
        }
    }

    /// The keyspace event of a pop from this end.
    pub fn pop_event(self) -> &'static str {
        match self {
            Side::Left => "lpop",
            Side::Right => "rpop",
        }
    }

    /// The argument naming this end (`LEFT`/`RIGHT`), as commands are propagated.
    pub fn name(self) -> &'static [u8] {
        match self {
            Side::Left => b"LEFT",
            Side::Right => b"RIGHT",
        }
    }

    /// `getListPositionFromObjectOrReply`: LEFT or RIGHT, case-insensitive.
    pub fn parse(arg: &[u8]) -> Option<Side> {
        if arg.eq_ignore_ascii_case(b"LEFT") {
            Some(Side::Left)
        } else if arg.eq_ignore_ascii_case(b"RIGHT") {
            Some(Side::Right)
        } else {
            None
        }
    }
}

/// Target size of a chunk's buffer (Redis's default `list-max-listpack-size -2` is 8 KiB; 4 KiB
/// halves the bytes moved by a push or pop at the head for the same per-element cost).
#[cfg(not(test))]
pub const CHUNK_BYTES: usize = 4096;
/// Tiny chunks in unit tests, so small lists exercise every multi-chunk path.
#[cfg(test)]
pub const CHUNK_BYTES: usize = 40;

/// Bytes of a LEB128 length.
#[inline]
fn varint_len(n: usize) -> usize {
    let bits = (usize::BITS - n.leading_zeros()).max(1) as usize;
    bits.div_ceil(7)
}

/// Bytes an element of `n` bytes occupies in a chunk.
#[inline]
fn entry_len(n: usize) -> usize {
    2 * varint_len(n) + n
}

/// Frames `data` into `dst`, which is exactly `entry_len(data.len())` bytes.
#[inline]
fn write_entry(dst: &mut [u8], data: &[u8]) {
    let h = varint_len(data.len());
    let total = dst.len();
    let mut n = data.len();
    for i in 0..h {
        let mut b = (n & 0x7f) as u8;
        n >>= 7;
        if i + 1 < h {
            b |= 0x80;
        }
        dst[i] = b;
        dst[total - 1 - i] = b;
    }
    dst[h..h + data.len()].copy_from_slice(data);
}

/// Decodes the element starting at `off`: `(data start, data length, next element's offset)`.
#[inline]
fn read_fwd(buf: &[u8], off: usize) -> (usize, usize, usize) {
    let mut n = 0usize;
    let mut shift = 0;
    let mut p = off;
    loop {
        let b = buf[p];
        p += 1;
        n |= usize::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            break;
        }
        shift += 7;
    }
    let h = p - off;
    (p, n, p + n + h)
}

/// Decodes the element ending at `end`: `(element start, data start, data length)`.
#[inline]
fn read_back(buf: &[u8], end: usize) -> (usize, usize, usize) {
    let mut n = 0usize;
    let mut shift = 0;
    let mut p = end;
    loop {
        p -= 1;
        let b = buf[p];
        n |= usize::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            break;
        }
        shift += 7;
    }
    let h = end - p;
    let data = p - n;
    (data - h, data, n)
}

/// A run of consecutive elements in one buffer.
#[derive(Debug, Clone, Default)]
struct Chunk {
    buf: Vec<u8>,
    count: u32,
}

impl Chunk {
    fn with(data: &[u8]) -> Chunk {
        let mut c = Chunk {
            buf: Vec::with_capacity(entry_len(data.len())),
            count: 0,
        };
        c.splice(0, 0, data);
        c
    }

    /// Whether an element of `n` bytes may be added without passing [`CHUNK_BYTES`].
    #[inline]
    fn fits(&self, n: usize) -> bool {
        self.buf.len() + entry_len(n) <= CHUNK_BYTES
    }

    /// Makes room for `extra` bytes. Small buffers grow to fit exactly (most lists are small,
    /// and a listpack is exact too); larger ones double, but never past [`CHUNK_BYTES`] (plain
    /// `Vec` growth would leave up to half of every full chunk unused).
    #[inline]
    fn grow(&mut self, extra: usize) {
        let need = self.buf.len() + extra;
        if need > self.buf.capacity() {
            let target = if need <= CHUNK_BYTES / 8 {
                need
            } else {
                need.max(self.buf.capacity() * 2).min(CHUNK_BYTES.max(need))
            };
            self.buf.reserve_exact(target - self.buf.len());
        }
    }

    /// Replaces the `old` bytes at `off` (0 = insert) by the framed `data`.
    fn splice(&mut self, off: usize, old: usize, data: &[u8]) {
        let new = entry_len(data.len());
        let len = self.buf.len();
        let tail = off + old;
        if new > old {
            self.grow(new - old);
            self.buf.resize(len + new - old, 0);
            self.buf.copy_within(tail..len, off + new);
        } else if new < old {
            self.buf.copy_within(tail..len, off + new);
            self.buf.truncate(len - (old - new));
        }
        write_entry(&mut self.buf[off..off + new], data);
        if old == 0 {
            self.count += 1;
        }
    }

    fn push_back(&mut self, data: &[u8]) {
        self.splice(self.buf.len(), 0, data);
    }

    fn push_front(&mut self, data: &[u8]) {
        self.splice(0, 0, data);
    }

    fn pop_front(&mut self) -> StrBuf {
        let (start, n, next) = read_fwd(&self.buf, 0);
        let v = StrBuf::from_slice(&self.buf[start..start + n]);
        self.buf.drain(..next);
        self.count -= 1;
        v
    }

    fn pop_back(&mut self) -> StrBuf {
        let (entry, start, n) = read_back(&self.buf, self.buf.len());
        let v = StrBuf::from_slice(&self.buf[start..start + n]);
        self.buf.truncate(entry);
        self.count -= 1;
        v
    }

    /// Byte offset of element `i` (`i == count` is the end), walked from the nearer end.
    fn offset_of(&self, i: usize) -> usize {
        let count = self.count as usize;
        if i <= count / 2 {
            let mut off = 0;
            for _ in 0..i {
                off = read_fwd(&self.buf, off).2;
            }
            off
        } else {
            let mut end = self.buf.len();
            for _ in i..count {
                end = read_back(&self.buf, end).0;
            }
            end
        }
    }

    /// Element `i`'s bytes: `(element offset, its data, its framed length)`.
    fn at(&self, i: usize) -> (usize, &[u8], usize) {
        let off = self.offset_of(i);
        let (start, n, next) = read_fwd(&self.buf, off);
        (off, &self.buf[start..start + n], next - off)
    }

    /// Removes up to `limit` elements equal to `value`, scanning from the front or the back.
    fn remove_matching(&mut self, value: &[u8], limit: usize, from_back: bool) -> usize {
        // Framed spans of the matches, in ascending order.
        let mut hits: Vec<(usize, usize)> = Vec::new();
        if from_back {
            let mut end = self.buf.len();
            while end > 0 && hits.len() < limit {
                let (entry, start, n) = read_back(&self.buf, end);
                if &self.buf[start..start + n] == value {
                    hits.push((entry, end));
                }
                end = entry;
            }
            hits.reverse();
        } else {
            let mut off = 0;
            while off < self.buf.len() && hits.len() < limit {
                let (start, n, next) = read_fwd(&self.buf, off);
                if &self.buf[start..start + n] == value {
                    hits.push((off, next));
                }
                off = next;
            }
        }
        let Some(&(first, _)) = hits.first() else {
            return 0;
        };
        // Close the gaps in one pass.
        let mut w = first;
        for (i, &(_, end)) in hits.iter().enumerate() {
            let next = hits.get(i + 1).map_or(self.buf.len(), |h| h.0);
            self.buf.copy_within(end..next, w);
            w += next - end;
        }
        self.buf.truncate(w);
        self.count -= hits.len() as u32;
        hits.len()
    }
}

/// A Redis list. See the module doc for the layout.
#[derive(Debug, Clone, Default)]
pub struct List {
    chunks: VecDeque<Chunk>,
    len: usize,
}

impl List {
    pub fn new() -> Self {
        List {
            chunks: VecDeque::with_capacity(1),
            len: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// `OBJECT ENCODING`: Redis 7.0 reports "quicklist" for every list, whatever its size.
    pub fn encoding(&self) -> &'static str {
        "quicklist"
    }

    /// Appends a copy of `value` at the tail.
    pub fn push_back(&mut self, value: &[u8]) {
        match self.chunks.back_mut() {
            Some(c) if c.fits(value.len()) => c.push_back(value),
            _ => self.chunks.push_back(Chunk::with(value)),
        }
        self.len += 1;
    }

    /// Prepends a copy of `value` at the head.
    pub fn push_front(&mut self, value: &[u8]) {
        match self.chunks.front_mut() {
            Some(c) if c.fits(value.len()) => c.push_front(value),
            _ => self.chunks.push_front(Chunk::with(value)),
        }
        self.len += 1;
    }

    pub fn pop_front(&mut self) -> Option<StrBuf> {
        let c = self.chunks.front_mut()?;
        let v = c.pop_front();
        if c.count == 0 {
            self.chunks.pop_front();
        }
        self.len -= 1;
        Some(v)
    }

    pub fn pop_back(&mut self) -> Option<StrBuf> {
        let c = self.chunks.back_mut()?;
        let v = c.pop_back();
        if c.count == 0 {
            self.chunks.pop_back();
        }
        self.len -= 1;
        Some(v)
    }

    /// `(chunk, index in chunk)` of element `index` (< len), walked from the nearer end.
    fn locate(&self, mut index: usize) -> (usize, usize) {
        debug_assert!(index < self.len);
        if index < self.len / 2 {
            for (ci, c) in self.chunks.iter().enumerate() {
                let n = c.count as usize;
                if index < n {
                    return (ci, index);
                }
                index -= n;
            }
        } else {
            let mut from_end = self.len - 1 - index;
            for (ci, c) in self.chunks.iter().enumerate().rev() {
                let n = c.count as usize;
                if from_end < n {
                    return (ci, n - 1 - from_end);
                }
                from_end -= n;
            }
        }
        unreachable!("index {index} within len {}", self.len)
    }

    /// Element `index` (0-based from the head), if any.
    pub fn get(&self, index: usize) -> Option<&[u8]> {
        if index >= self.len {
            return None;
        }
        let (ci, i) = self.locate(index);
        Some(self.chunks[ci].at(i).1)
    }

    /// Replaces element `index` by a copy of `value`; false when out of range.
    pub fn set(&mut self, index: usize, value: &[u8]) -> bool {
        if index >= self.len {
            return false;
        }
        let (ci, i) = self.locate(index);
        let c = &mut self.chunks[ci];
        let (off, _, old) = c.at(i);
        c.splice(off, old, value);
        self.split_if_big(ci);
        true
    }

    /// Inserts a copy of `value` before (or after) the first element equal to `pivot`;
    /// false when there is none.
    pub fn insert(&mut self, pivot: &[u8], value: &[u8], after: bool) -> bool {
        for ci in 0..self.chunks.len() {
            let c = &mut self.chunks[ci];
            let mut off = 0;
            while off < c.buf.len() {
                let (start, n, next) = read_fwd(&c.buf, off);
                if &c.buf[start..start + n] == pivot {
                    c.splice(if after { next } else { off }, 0, value);
                    self.len += 1;
                    self.split_if_big(ci);
                    return true;
                }
                off = next;
            }
        }
        false
    }

    /// Removes elements equal to `value`: at most `limit` (0 = all), the first ones from the
    /// head, or from the tail when `from_back`. Returns how many were removed.
    pub fn remove(&mut self, value: &[u8], limit: usize, from_back: bool) -> usize {
        let limit = if limit == 0 { usize::MAX } else { limit };
        let n = self.chunks.len();
        let mut removed = 0;
        for step in 0..n {
            let ci = if from_back { n - 1 - step } else { step };
            removed += self.chunks[ci].remove_matching(value, limit - removed, from_back);
            if removed == limit {
                break;
            }
        }
        if removed > 0 {
            self.len -= removed;
            self.compact();
        }
        removed
    }

    /// Drops the first `n` elements (all of them when `n >= len`).
    pub fn drop_front(&mut self, n: usize) {
        let mut n = n.min(self.len);
        self.len -= n;
        while n > 0 {
            let c = self.chunks.front_mut().expect("len counts chunk elements");
            let count = c.count as usize;
            if count <= n {
                n -= count;
                self.chunks.pop_front();
            } else {
                let off = c.offset_of(n);
                c.buf.drain(..off);
                c.count -= n as u32;
                n = 0;
            }
        }
    }

    /// Drops the last `n` elements (all of them when `n >= len`).
    pub fn drop_back(&mut self, n: usize) {
        let mut n = n.min(self.len);
        self.len -= n;
        while n > 0 {
            let c = self.chunks.back_mut().expect("len counts chunk elements");
            let count = c.count as usize;
            if count <= n {
                n -= count;
                self.chunks.pop_back();
            } else {
                let off = c.offset_of(count - n);
                c.buf.truncate(off);
                c.count -= n as u32;
                n = 0;
            }
        }
    }

    /// The elements from the head.
    pub fn iter(&self) -> Iter<'_> {
        Iter {
            chunks: &self.chunks,
            ci: 0,
            off: 0,
        }
    }

    /// The elements from `index` towards the tail (empty when `index >= len`).
    pub fn iter_from(&self, index: usize) -> Iter<'_> {
        if index >= self.len {
            return Iter {
                chunks: &self.chunks,
                ci: self.chunks.len(),
                off: 0,
            };
        }
        let (ci, i) = self.locate(index);
        Iter {
            chunks: &self.chunks,
            ci,
            off: self.chunks[ci].offset_of(i),
        }
    }

    /// The elements from the tail towards the head.
    pub fn iter_rev(&self) -> RevIter<'_> {
        RevIter {
            chunks: &self.chunks,
            ci: self.chunks.len(),
            end: 0,
        }
    }

    /// Splits chunk `ci` at its middle element boundary, repeatedly, until every piece is
    /// within [`CHUNK_BYTES`] or holds one element.
    fn split_if_big(&mut self, ci: usize) {
        let c = &mut self.chunks[ci];
        if c.buf.len() <= CHUNK_BYTES || c.count < 2 {
            return;
        }
        let half = c.buf.len() / 2;
        let mut off = read_fwd(&c.buf, 0).2;
        let mut k = 1;
        while off < half && k + 1 < c.count {
            off = read_fwd(&c.buf, off).2;
            k += 1;
        }
        let tail = Chunk {
            buf: c.buf[off..].to_vec(),
            count: c.count - k,
        };
        c.buf.truncate(off);
        c.buf.shrink_to_fit();
        c.count = k;
        self.chunks.insert(ci + 1, tail);
        self.split_if_big(ci + 1);
        self.split_if_big(ci);
    }

    /// Drops empty chunks and merges neighbours whose bytes fit in one chunk (after LREM).
    fn compact(&mut self) {
        let old = std::mem::take(&mut self.chunks);
        let mut chunks: VecDeque<Chunk> = VecDeque::with_capacity(old.len());
        for c in old {
            if c.count == 0 {
                continue;
            }
            match chunks.back_mut() {
                Some(last) if last.buf.len() + c.buf.len() <= CHUNK_BYTES => {
                    last.grow(c.buf.len());
                    last.buf.extend_from_slice(&c.buf);
                    last.count += c.count;
                }
                _ => chunks.push_back(c),
            }
        }
        self.chunks = chunks;
    }
}

impl Drop for List {
    /// Large values are freed on the lazyfree thread, never on an event loop.
    fn drop(&mut self) {
        if self.len > lazyfree::THRESHOLD {
            lazyfree::defer(std::mem::take(&mut self.chunks));
        }
    }
}

/// Head-to-tail iterator over a list's elements.
pub struct Iter<'a> {
    chunks: &'a VecDeque<Chunk>,
    ci: usize,
    off: usize,
}

impl<'a> Iterator for Iter<'a> {
    type Item = &'a [u8];

    #[inline]
    fn next(&mut self) -> Option<&'a [u8]> {
        loop {
            let c = self.chunks.get(self.ci)?;
            if self.off < c.buf.len() {
                let (start, n, next) = read_fwd(&c.buf, self.off);
                self.off = next;
                return Some(&c.buf[start..start + n]);
            }
            self.ci += 1;
            self.off = 0;
        }
    }
}

/// Tail-to-head iterator over a list's elements.
pub struct RevIter<'a> {
    chunks: &'a VecDeque<Chunk>,
    /// The chunk being read; `end` is the end of its next element (0 = move to the previous).
    ci: usize,
    end: usize,
}

impl<'a> Iterator for RevIter<'a> {
    type Item = &'a [u8];

    #[inline]
    fn next(&mut self) -> Option<&'a [u8]> {
        while self.end == 0 {
            if self.ci == 0 {
                return None;
            }
            self.ci -= 1;
            self.end = self.chunks[self.ci].buf.len();
        }
        let c = &self.chunks[self.ci];
        let (entry, start, n) = read_back(&c.buf, self.end);
        self.end = entry;
        Some(&c.buf[start..start + n])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn items(l: &List) -> Vec<Vec<u8>> {
        l.iter().map(|v| v.to_vec()).collect()
    }

    /// Checks the invariants and that every access path agrees with `model`.
    fn check(l: &List, model: &VecDeque<Vec<u8>>) {
        assert_eq!(l.len(), model.len());
        assert_eq!(
            l.chunks.iter().map(|c| c.count as usize).sum::<usize>(),
            l.len()
        );
        assert!(l.chunks.iter().all(|c| c.count > 0));
        for c in &l.chunks {
            assert!(
                c.buf.len() <= CHUNK_BYTES || c.count == 1,
                "oversized chunk"
            );
        }
        let fwd: Vec<Vec<u8>> = items(l);
        assert_eq!(fwd, model.iter().cloned().collect::<Vec<_>>());
        let mut rev: Vec<Vec<u8>> = l.iter_rev().map(|v| v.to_vec()).collect();
        rev.reverse();
        assert_eq!(rev, fwd);
        for (i, v) in model.iter().enumerate() {
            assert_eq!(l.get(i), Some(&v[..]));
            assert_eq!(l.iter_from(i).next(), Some(&v[..]));
        }
        assert_eq!(l.get(model.len()), None);
        assert_eq!(l.iter_from(model.len()).next(), None);
    }

    #[test]
    fn framing_round_trips_every_length_class() {
        for n in [0, 1, 127, 128, 300, 16383, 16384, 70000] {
            let data: Vec<u8> = (0..n).map(|i| i as u8).collect();
            let mut buf = vec![0u8; entry_len(n)];
            write_entry(&mut buf, &data);
            let (start, len, next) = read_fwd(&buf, 0);
            assert_eq!((&buf[start..start + len], next), (&data[..], buf.len()));
            let (entry, start, len) = read_back(&buf, buf.len());
            assert_eq!((entry, &buf[start..start + len]), (0, &data[..]));
        }
        assert_eq!(entry_len(0), 2);
        assert_eq!(entry_len(127), 129);
        assert_eq!(entry_len(128), 132);
    }

    #[test]
    fn pushes_pops_and_big_elements() {
        let mut l = List::new();
        let mut m = VecDeque::new();
        for i in 0..50u32 {
            let v = format!("v{i}").into_bytes();
            if i % 3 == 0 {
                l.push_front(&v);
                m.push_front(v);
            } else {
                l.push_back(&v);
                m.push_back(v);
            }
        }
        let big = vec![b'x'; 3 * CHUNK_BYTES];
        l.push_back(&big);
        m.push_back(big.clone());
        l.push_front(&big);
        m.push_front(big);
        check(&l, &m);
        while let Some(v) = l.pop_back() {
            assert_eq!(v.to_vec(), m.pop_back().unwrap());
            if let Some(v) = l.pop_front() {
                assert_eq!(v.to_vec(), m.pop_front().unwrap());
            }
            check(&l, &m);
        }
        assert!(l.chunks.is_empty());
    }

    #[test]
    fn set_insert_remove_trim() {
        let mut l = List::new();
        for v in ["a", "b", "c", "a", "b", "c", "a"] {
            l.push_back(v.as_bytes());
        }
        assert!(l.set(1, b"a much longer value than before"));
        assert!(!l.set(7, b"x"));
        assert!(l.insert(b"c", b"before-c", false));
        assert!(l.insert(b"c", b"after-c", true));
        assert!(!l.insert(b"zz", b"x", true));
        let want = [
            "a",
            "a much longer value than before",
            "before-c",
            "c",
            "after-c",
            "a",
            "b",
            "c",
            "a",
        ];
        let m: VecDeque<Vec<u8>> = want.iter().map(|s| s.as_bytes().to_vec()).collect();
        check(&l, &m);
        assert_eq!(l.remove(b"a", 2, true), 2);
        assert_eq!(l.remove(b"a", 0, false), 1);
        assert_eq!(l.remove(b"nope", 0, false), 0);
        let want = [
            "a much longer value than before",
            "before-c",
            "c",
            "after-c",
            "b",
            "c",
        ];
        let m: VecDeque<Vec<u8>> = want.iter().map(|s| s.as_bytes().to_vec()).collect();
        check(&l, &m);
        l.drop_front(2);
        l.drop_back(1);
        let m: VecDeque<Vec<u8>> = ["c", "after-c", "b"]
            .iter()
            .map(|s| s.as_bytes().to_vec())
            .collect();
        check(&l, &m);
        l.drop_back(10);
        assert!(l.is_empty() && l.chunks.is_empty());
    }

    #[test]
    fn clone_is_deep() {
        let mut a = List::new();
        a.push_back(b"x");
        let b = a.clone();
        a.set(0, b"y");
        assert_eq!(b.get(0), Some(&b"x"[..]));
    }

    #[derive(Debug, Clone)]
    enum Op {
        PushFront(Vec<u8>),
        PushBack(Vec<u8>),
        PopFront,
        PopBack,
        Set(usize, Vec<u8>),
        Insert(Vec<u8>, Vec<u8>, bool),
        Remove(Vec<u8>, usize, bool),
        DropFront(usize),
        DropBack(usize),
    }

    fn value() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            4 => prop::sample::select(vec![b"a".to_vec(), b"b".to_vec(), b"".to_vec()]),
            2 => prop::collection::vec(any::<u8>(), 0..20),
            1 => prop::collection::vec(any::<u8>(), 100..200),
        ]
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => value().prop_map(Op::PushFront),
            4 => value().prop_map(Op::PushBack),
            2 => Just(Op::PopFront),
            2 => Just(Op::PopBack),
            2 => (0..40usize, value()).prop_map(|(i, v)| Op::Set(i, v)),
            2 => (value(), value(), any::<bool>()).prop_map(|(p, v, a)| Op::Insert(p, v, a)),
            1 => (value(), 0..4usize, any::<bool>()).prop_map(|(v, n, b)| Op::Remove(v, n, b)),
            1 => (0..6usize).prop_map(Op::DropFront),
            1 => (0..6usize).prop_map(Op::DropBack),
        ]
    }

    proptest! {
        /// Every operation agrees with a `VecDeque<Vec<u8>>` model.
        #[test]
        fn behaves_like_a_deque(ops in prop::collection::vec(op(), 1..120)) {
            let mut l = List::new();
            let mut m: VecDeque<Vec<u8>> = VecDeque::new();
            for op in ops {
                match op {
                    Op::PushFront(v) => { l.push_front(&v); m.push_front(v); }
                    Op::PushBack(v) => { l.push_back(&v); m.push_back(v); }
                    Op::PopFront => prop_assert_eq!(l.pop_front().map(|v| v.to_vec()), m.pop_front()),
                    Op::PopBack => prop_assert_eq!(l.pop_back().map(|v| v.to_vec()), m.pop_back()),
                    Op::Set(i, v) => {
                        let ok = i < m.len();
                        prop_assert_eq!(l.set(i, &v), ok);
                        if ok { m[i] = v; }
                    }
                    Op::Insert(p, v, after) => {
                        let at = m.iter().position(|x| *x == p);
                        prop_assert_eq!(l.insert(&p, &v, after), at.is_some());
                        if let Some(at) = at { m.insert(if after { at + 1 } else { at }, v); }
                    }
                    Op::Remove(v, limit, from_back) => {
                        let limit_n = if limit == 0 { usize::MAX } else { limit };
                        let mut idx: Vec<usize> =
                            (0..m.len()).filter(|&i| m[i] == v).collect();
                        if from_back { idx.reverse(); }
                        idx.truncate(limit_n);
                        idx.sort_unstable();
                        for &i in idx.iter().rev() { m.remove(i); }
                        prop_assert_eq!(l.remove(&v, limit, from_back), idx.len());
                    }
                    Op::DropFront(n) => { l.drop_front(n); for _ in 0..n.min(m.len()) { m.pop_front(); } }
                    Op::DropBack(n) => { l.drop_back(n); for _ in 0..n.min(m.len()) { m.pop_back(); } }
                }
                check(&l, &m);
            }
        }
    }
}
