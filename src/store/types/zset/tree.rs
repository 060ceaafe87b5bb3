//! An order-statistic B+tree over `(score, member)`: the sorted index of a large zset.
//!
//! # Layout
//! Nodes live in one arena (`Vec<Node>`, indexes instead of pointers, so the tree is plain safe
//! Rust and clones deeply with `derive(Clone)`). Elements are `(score, id)` pairs; `id` names a
//! slot of the zset's slab (see `big.rs`) that holds the member bytes, which the tree reads
//! through [`Members`] only to break ties between equal scores.
//!
//! ```text
//!                 Inner: keys  [k0 | k1]          k_i = lower bound of children[i + 1]
//!                        children[c0 | c1 | c2]   counts[i] = elements under children[i]
//!                 /            |             \
//!   Leaf [s,id .. s,id] <-> Leaf [..] <-> Leaf [..]        (leaves doubly linked)
//! ```
//!
//! - Every element of `children[i]` is `< keys[i]` and every element of `children[i + 1]` is
//!   `>= keys[i]`. Separator keys own a copy of their member, so they stay valid bounds after the
//!   element they were copied from is deleted (standard B+tree: they are never updated on delete).
//! - `counts` make rank queries and selection by rank `O(log n)`: descending, the ranks of all
//!   children left of the chosen one are summed.
//! - Leaves hold scores and ids in two parallel vectors, so a search compares scores without
//!   touching the slab unless two scores are equal.
//! - Non-root nodes keep at least a quarter of their capacity (merge with or borrow from a sibling
//!   on underflow); an inner root with a single child is collapsed. The height is therefore
//!   `O(log n)` whatever the history of inserts and deletes.
//! - A leaf that overflows because of an append at the very end of the tree is split unevenly
//!   (the old leaf stays full), so ascending inserts — timestamps as scores, bulk building from
//!   sorted input — produce full leaves instead of half-full ones.

use std::cmp::Ordering;

use smallvec::SmallVec;

use crate::store::StrBuf;

/// "No node" in leaf links.
pub const NIL: u32 = u32::MAX;

const LEAF_CAP: usize = 64;
const LEAF_MIN: usize = LEAF_CAP / 4;
const INNER_CAP: usize = 64;
const INNER_MIN: usize = INNER_CAP / 4;

/// Resolves an element id to its member bytes.
pub trait Members {
    fn member(&self, id: u32) -> &[u8];
}

/// A position in the tree: a leaf and an index in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pos {
    pub leaf: u32,
    pub idx: usize,
}

#[derive(Debug, Clone)]
pub struct Tree {
    nodes: Vec<Node>,
    free: Vec<u32>,
    root: u32,
    /// Number of inner levels above the leaves (0: the root is a leaf).
    height: usize,
    len: usize,
    first: u32,
    last: u32,
}

#[derive(Debug, Clone)]
enum Node {
    Leaf(Leaf),
    Inner(Inner),
    Free,
}

#[derive(Debug, Clone)]
struct Leaf {
    scores: Vec<f64>,
    ids: Vec<u32>,
    prev: u32,
    next: u32,
}

#[derive(Debug, Clone)]
struct Inner {
    keys: Vec<Key>,
    children: Vec<u32>,
    counts: Vec<usize>,
}

/// A separator: an owned copy of an element's key.
#[derive(Debug, Clone)]
struct Key {
    score: f64,
    member: StrBuf,
}

/// The order of zset elements: by score, then by member bytes (`memcmp`, shorter first on a tie,
/// as Redis's `sdscmp`). Scores are never NaN; `-0.0` and `0.0` compare equal, as in C.
#[inline]
pub fn cmp_key(score_a: f64, member_a: &[u8], score_b: f64, member_b: &[u8]) -> Ordering {
    if score_a < score_b {
        Ordering::Less
    } else if score_a > score_b {
        Ordering::Greater
    } else {
        member_a.cmp(member_b)
    }
}

/// Path from the root to a leaf: (inner node, index of the child taken).
type Path = SmallVec<[(u32, usize); 8]>;

impl Leaf {
    fn new() -> Leaf {
        Leaf {
            scores: Vec::with_capacity(LEAF_CAP + 1),
            ids: Vec::with_capacity(LEAF_CAP + 1),
            prev: NIL,
            next: NIL,
        }
    }

    fn len(&self) -> usize {
        self.ids.len()
    }

    /// Index of the first element not less than `(score, member)`.
    fn lower_bound<M: Members>(&self, score: f64, member: &[u8], m: &M) -> usize {
        let (mut lo, mut hi) = (0, self.len());
        while lo < hi {
            let mid = (lo + hi) / 2;
            let s = self.scores[mid];
            let less = s < score || (s == score && m.member(self.ids[mid]) < member);
            if less {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo
    }
}

impl Inner {
    /// The child whose key range holds `(score, member)`.
    fn child_for(&self, score: f64, member: &[u8]) -> usize {
        self.keys
            .partition_point(|k| cmp_key(k.score, &k.member, score, member) != Ordering::Greater)
    }
}

impl Default for Tree {
    fn default() -> Self {
        Tree::new()
    }
}

impl Tree {
    pub fn new() -> Tree {
        Tree {
            nodes: vec![Node::Leaf(Leaf::new())],
            free: Vec::new(),
            root: 0,
            height: 0,
            len: 0,
            first: 0,
            last: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    fn leaf(&self, n: u32) -> &Leaf {
        match &self.nodes[n as usize] {
            Node::Leaf(l) => l,
            _ => unreachable!("node {n} is not a leaf"),
        }
    }

    fn leaf_mut(&mut self, n: u32) -> &mut Leaf {
        match &mut self.nodes[n as usize] {
            Node::Leaf(l) => l,
            _ => unreachable!("node {n} is not a leaf"),
        }
    }

    fn inner(&self, n: u32) -> &Inner {
        match &self.nodes[n as usize] {
            Node::Inner(i) => i,
            _ => unreachable!("node {n} is not an inner node"),
        }
    }

    fn inner_mut(&mut self, n: u32) -> &mut Inner {
        match &mut self.nodes[n as usize] {
            Node::Inner(i) => i,
            _ => unreachable!("node {n} is not an inner node"),
        }
    }

    fn alloc(&mut self, node: Node) -> u32 {
        match self.free.pop() {
            Some(n) => {
                self.nodes[n as usize] = node;
                n
            }
            None => {
                self.nodes.push(node);
                (self.nodes.len() - 1) as u32
            }
        }
    }

    fn release(&mut self, n: u32) {
        self.nodes[n as usize] = Node::Free;
        self.free.push(n);
    }

    /// Descends towards `(score, member)`, recording the path; returns the leaf.
    fn descend(&self, score: f64, member: &[u8], path: &mut Path) -> u32 {
        let mut node = self.root;
        for _ in 0..self.height {
            let inner = self.inner(node);
            let ci = inner.child_for(score, member);
            path.push((node, ci));
            node = inner.children[ci];
        }
        node
    }

    /// Inserts element `id` with `score`; its key must not be in the tree yet.
    pub fn insert<M: Members>(&mut self, score: f64, id: u32, m: &M) {
        let member = m.member(id);
        let mut path = Path::new();
        let leaf_n = self.descend(score, member, &mut path);
        let last = self.last;
        let leaf = self.leaf_mut(leaf_n);
        let pos = leaf.lower_bound(score, member, m);
        leaf.scores.insert(pos, score);
        leaf.ids.insert(pos, id);
        let len = leaf.len();
        let appended = pos + 1 == len && leaf_n == last;
        for &(n, ci) in &path {
            self.inner_mut(n).counts[ci] += 1;
        }
        self.len += 1;
        if len > LEAF_CAP {
            self.split_leaf(leaf_n, &path, appended, m);
        }
    }

    fn split_leaf<M: Members>(&mut self, left: u32, path: &Path, appended: bool, m: &M) {
        let mid = if appended {
            LEAF_CAP
        } else {
            LEAF_CAP.div_ceil(2)
        };
        let mut right = Leaf::new();
        let l = self.leaf_mut(left);
        right.scores.extend_from_slice(&l.scores[mid..]);
        right.ids.extend_from_slice(&l.ids[mid..]);
        l.scores.truncate(mid);
        l.ids.truncate(mid);
        right.prev = left;
        right.next = l.next;
        let old_next = l.next;
        let sep = Key {
            score: right.scores[0],
            member: StrBuf::from_slice(m.member(right.ids[0])),
        };
        let right_len = right.len();
        let right_n = self.alloc(Node::Leaf(right));
        self.leaf_mut(left).next = right_n;
        if old_next == NIL {
            self.last = right_n;
        } else {
            self.leaf_mut(old_next).prev = right_n;
        }
        self.insert_child(path, path.len(), sep, right_n, mid, right_len);
    }

    /// Hangs `right` (holding `right_count` elements) after the child at `path[depth - 1]`,
    /// whose size becomes `left_count`; splits upwards as needed.
    fn insert_child(
        &mut self,
        path: &Path,
        depth: usize,
        sep: Key,
        right: u32,
        left_count: usize,
        right_count: usize,
    ) {
        if depth == 0 {
            let old_root = self.root;
            self.root = self.alloc(Node::Inner(Inner {
                keys: vec![sep],
                children: vec![old_root, right],
                counts: vec![left_count, right_count],
            }));
            self.height += 1;
            return;
        }
        let (p, ci) = path[depth - 1];
        let inner = self.inner_mut(p);
        inner.keys.insert(ci, sep);
        inner.children.insert(ci + 1, right);
        inner.counts[ci] = left_count;
        inner.counts.insert(ci + 1, right_count);
        if inner.children.len() <= INNER_CAP {
            return;
        }
        let mid = inner.children.len() / 2;
        let children = inner.children.split_off(mid);
        let counts = inner.counts.split_off(mid);
        let keys = inner.keys.split_off(mid);
        let up = inner.keys.pop().expect("inner node has keys");
        let left_count = inner.counts.iter().sum();
        let right_count = counts.iter().sum();
        let new = self.alloc(Node::Inner(Inner {
            keys,
            children,
            counts,
        }));
        self.insert_child(path, depth - 1, up, new, left_count, right_count);
    }

    /// Removes element `id` whose score is `score`; false when it is not in the tree.
    pub fn remove<M: Members>(&mut self, score: f64, id: u32, m: &M) -> bool {
        let member = m.member(id);
        let mut path = Path::new();
        let leaf_n = self.descend(score, member, &mut path);
        let leaf = self.leaf_mut(leaf_n);
        let pos = leaf.lower_bound(score, member, m);
        if pos >= leaf.len() || leaf.ids[pos] != id {
            return false;
        }
        leaf.scores.remove(pos);
        leaf.ids.remove(pos);
        let len = leaf.len();
        for &(n, ci) in &path {
            self.inner_mut(n).counts[ci] -= 1;
        }
        self.len -= 1;
        if len < LEAF_MIN && !path.is_empty() {
            self.fix_leaf(leaf_n, &path, m);
        }
        true
    }

    /// Repairs an underfull leaf by merging it with, or borrowing from, a sibling.
    fn fix_leaf<M: Members>(&mut self, node: u32, path: &Path, m: &M) {
        let (p, ci) = *path.last().expect("leaf has a parent");
        let (left, right, sep) = {
            let inner = self.inner(p);
            if ci > 0 {
                (inner.children[ci - 1], node, ci - 1)
            } else {
                (node, inner.children[1], 0)
            }
        };
        let (ll, rl) = (self.leaf(left).len(), self.leaf(right).len());
        if ll + rl <= LEAF_CAP {
            let Node::Leaf(r) = std::mem::replace(&mut self.nodes[right as usize], Node::Free)
            else {
                unreachable!("sibling of a leaf is a leaf")
            };
            self.free.push(right);
            let l = self.leaf_mut(left);
            l.scores.extend_from_slice(&r.scores);
            l.ids.extend_from_slice(&r.ids);
            l.next = r.next;
            if r.next == NIL {
                self.last = left;
            } else {
                self.leaf_mut(r.next).prev = left;
            }
            let inner = self.inner_mut(p);
            inner.keys.remove(sep);
            inner.children.remove(sep + 1);
            let moved = inner.counts.remove(sep + 1);
            inner.counts[sep] += moved;
            self.fix_inner(p, &path[..path.len() - 1]);
        } else {
            let Node::Leaf(mut r) = std::mem::replace(&mut self.nodes[right as usize], Node::Free)
            else {
                unreachable!("sibling of a leaf is a leaf")
            };
            let l = self.leaf_mut(left);
            let target = (ll + rl) / 2;
            if ll < target {
                let n = target - ll;
                l.scores.extend(r.scores.drain(..n));
                l.ids.extend(r.ids.drain(..n));
            } else {
                let n = ll - target;
                let at = ll - n;
                r.scores.splice(0..0, l.scores.drain(at..));
                r.ids.splice(0..0, l.ids.drain(at..));
            }
            let key = Key {
                score: r.scores[0],
                member: StrBuf::from_slice(m.member(r.ids[0])),
            };
            let (ll, rl) = (l.len(), r.len());
            self.nodes[right as usize] = Node::Leaf(r);
            let inner = self.inner_mut(p);
            inner.keys[sep] = key;
            inner.counts[sep] = ll;
            inner.counts[sep + 1] = rl;
        }
    }

    /// Repairs inner node `node` (reached through `path`) after it lost a child.
    fn fix_inner(&mut self, node: u32, path: &[(u32, usize)]) {
        let Some(&(p, ci)) = path.last() else {
            // The root: collapse it when it has a single child left.
            let inner = self.inner(node);
            if inner.children.len() == 1 {
                self.root = inner.children[0];
                self.height -= 1;
                self.release(node);
            }
            return;
        };
        if self.inner(node).children.len() >= INNER_MIN {
            return;
        }
        let (left, right, sep) = {
            let inner = self.inner(p);
            if ci > 0 {
                (inner.children[ci - 1], node, ci - 1)
            } else {
                (node, inner.children[1], 0)
            }
        };
        let Node::Inner(mut r) = std::mem::replace(&mut self.nodes[right as usize], Node::Free)
        else {
            unreachable!("sibling of an inner node is an inner node")
        };
        let lc = self.inner(left).children.len();
        let rc = r.children.len();
        if lc + rc <= INNER_CAP {
            self.free.push(right);
            let parent = self.inner_mut(p);
            let down = parent.keys.remove(sep);
            parent.children.remove(sep + 1);
            let moved = parent.counts.remove(sep + 1);
            parent.counts[sep] += moved;
            let l = self.inner_mut(left);
            l.keys.push(down);
            l.keys.append(&mut r.keys);
            l.children.append(&mut r.children);
            l.counts.append(&mut r.counts);
            self.fix_inner(p, &path[..path.len() - 1]);
        } else {
            // Rotate one child through the parent towards the smaller side.
            let parent_key = std::mem::replace(
                &mut self.inner_mut(p).keys[sep],
                Key {
                    score: 0.0,
                    member: StrBuf::new(),
                },
            );
            let (new_key, moved) = if lc < rc {
                let key = r.keys.remove(0);
                let child = r.children.remove(0);
                let count = r.counts.remove(0);
                let l = self.inner_mut(left);
                l.keys.push(parent_key);
                l.children.push(child);
                l.counts.push(count);
                (key, count as isize)
            } else {
                let l = self.inner_mut(left);
                let key = l.keys.pop().expect("inner node has keys");
                let child = l.children.pop().expect("inner node has children");
                let count = l.counts.pop().expect("inner node has counts");
                r.keys.insert(0, parent_key);
                r.children.insert(0, child);
                r.counts.insert(0, count);
                (key, -(count as isize))
            };
            self.nodes[right as usize] = Node::Inner(r);
            let parent = self.inner_mut(p);
            parent.keys[sep] = new_key;
            parent.counts[sep] = parent.counts[sep].wrapping_add_signed(moved);
            parent.counts[sep + 1] = parent.counts[sep + 1].wrapping_add_signed(-moved);
        }
    }

    /// The 0-based rank of element `(score, member)`, if present.
    pub fn rank<M: Members>(&self, score: f64, member: &[u8], m: &M) -> Option<usize> {
        let mut node = self.root;
        let mut rank = 0;
        for _ in 0..self.height {
            let inner = self.inner(node);
            let ci = inner.child_for(score, member);
            rank += inner.counts[..ci].iter().sum::<usize>();
            node = inner.children[ci];
        }
        let leaf = self.leaf(node);
        let pos = leaf.lower_bound(score, member, m);
        (pos < leaf.len() && leaf.scores[pos] == score && m.member(leaf.ids[pos]) == member)
            .then_some(rank + pos)
    }

    /// The position of the element of 0-based rank `rank` (`rank < len`).
    pub fn select(&self, mut rank: usize) -> Option<Pos> {
        if rank >= self.len {
            return None;
        }
        let mut node = self.root;
        for _ in 0..self.height {
            let inner = self.inner(node);
            let mut ci = 0;
            while rank >= inner.counts[ci] {
                rank -= inner.counts[ci];
                ci += 1;
            }
            node = inner.children[ci];
        }
        Some(Pos {
            leaf: node,
            idx: rank,
        })
    }

    /// The number of leading elements for which `before` holds. `before` must hold for a
    /// prefix of the order (true, then false); it is asked about separator keys too.
    pub fn partition<M: Members>(&self, m: &M, before: impl Fn(f64, &[u8]) -> bool) -> usize {
        let mut node = self.root;
        let mut rank = 0;
        for _ in 0..self.height {
            let inner = self.inner(node);
            let ci = inner.keys.partition_point(|k| before(k.score, &k.member));
            rank += inner.counts[..ci].iter().sum::<usize>();
            node = inner.children[ci];
        }
        let leaf = self.leaf(node);
        let (mut lo, mut hi) = (0, leaf.len());
        while lo < hi {
            let mid = (lo + hi) / 2;
            if before(leaf.scores[mid], m.member(leaf.ids[mid])) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        rank + lo
    }

    /// Like [`Tree::partition`] for a predicate on scores only (never reads members).
    pub fn partition_by_score(&self, before: impl Fn(f64) -> bool) -> usize {
        let mut node = self.root;
        let mut rank = 0;
        for _ in 0..self.height {
            let inner = self.inner(node);
            let ci = inner.keys.partition_point(|k| before(k.score));
            rank += inner.counts[..ci].iter().sum::<usize>();
            node = inner.children[ci];
        }
        rank + self.leaf(node).scores.partition_point(|&s| before(s))
    }

    /// `(score, id)` at `pos`.
    #[inline]
    pub fn get(&self, pos: Pos) -> (f64, u32) {
        let leaf = self.leaf(pos.leaf);
        (leaf.scores[pos.idx], leaf.ids[pos.idx])
    }

    pub fn first(&self) -> Option<Pos> {
        (self.len > 0).then_some(Pos {
            leaf: self.first,
            idx: 0,
        })
    }

    pub fn last(&self) -> Option<Pos> {
        (self.len > 0).then(|| Pos {
            leaf: self.last,
            idx: self.leaf(self.last).len() - 1,
        })
    }

    pub fn next(&self, pos: Pos) -> Option<Pos> {
        let leaf = self.leaf(pos.leaf);
        if pos.idx + 1 < leaf.len() {
            return Some(Pos {
                leaf: pos.leaf,
                idx: pos.idx + 1,
            });
        }
        // Leaves other than a lone root are never empty.
        (leaf.next != NIL).then_some(Pos {
            leaf: leaf.next,
            idx: 0,
        })
    }

    pub fn prev(&self, pos: Pos) -> Option<Pos> {
        if pos.idx > 0 {
            return Some(Pos {
                leaf: pos.leaf,
                idx: pos.idx - 1,
            });
        }
        let prev = self.leaf(pos.leaf).prev;
        (prev != NIL).then(|| Pos {
            leaf: prev,
            idx: self.leaf(prev).len() - 1,
        })
    }

    /// Renames every element id through `f` (slab compaction).
    pub fn remap_ids(&mut self, mut f: impl FnMut(u32) -> u32) {
        for node in &mut self.nodes {
            if let Node::Leaf(leaf) = node {
                for id in &mut leaf.ids {
                    *id = f(*id);
                }
            }
        }
    }

    /// Every element id in order (for compaction).
    pub fn ids_in_order(&self) -> Vec<u32> {
        let mut out = Vec::with_capacity(self.len);
        let mut n = if self.len == 0 { NIL } else { self.first };
        while n != NIL {
            let leaf = self.leaf(n);
            out.extend_from_slice(&leaf.ids);
            n = leaf.next;
        }
        out
    }

    /// Checks every structural invariant (tests only).
    #[cfg(test)]
    pub fn check<M: Members>(&self, m: &M) {
        let mut leaves = Vec::new();
        let total = self.check_node(self.root, self.height, None, None, m, &mut leaves, true);
        assert_eq!(total, self.len, "len");
        // Leaf links follow the in-order leaf sequence.
        assert_eq!(self.first, leaves[0]);
        assert_eq!(self.last, *leaves.last().unwrap());
        for w in leaves.windows(2) {
            assert_eq!(self.leaf(w[0]).next, w[1]);
            assert_eq!(self.leaf(w[1]).prev, w[0]);
        }
        assert_eq!(self.leaf(leaves[0]).prev, NIL);
        assert_eq!(self.leaf(*leaves.last().unwrap()).next, NIL);
        // Elements strictly ascending.
        let ids = self.ids_in_order();
        let keys: Vec<(f64, &[u8])> = leaves
            .iter()
            .flat_map(|&l| {
                let leaf = self.leaf(l);
                leaf.scores
                    .iter()
                    .zip(&leaf.ids)
                    .map(|(&s, &id)| (s, m.member(id)))
            })
            .collect();
        assert_eq!(ids.len(), keys.len());
        for w in keys.windows(2) {
            assert_eq!(cmp_key(w[0].0, w[0].1, w[1].0, w[1].1), Ordering::Less);
        }
    }

    #[cfg(test)]
    #[allow(clippy::too_many_arguments)]
    fn check_node<M: Members>(
        &self,
        n: u32,
        height: usize,
        lo: Option<&Key>,
        hi: Option<&Key>,
        m: &M,
        leaves: &mut Vec<u32>,
        root: bool,
    ) -> usize {
        let in_bounds = |s: f64, mem: &[u8]| {
            lo.is_none_or(|k| cmp_key(s, mem, k.score, &k.member) != Ordering::Less)
                && hi.is_none_or(|k| cmp_key(s, mem, k.score, &k.member) == Ordering::Less)
        };
        if height == 0 {
            let leaf = self.leaf(n);
            // The last leaf may be short after an uneven (append) split.
            assert!(
                root || leaf.len() >= LEAF_MIN || (n == self.last && !leaf.ids.is_empty()),
                "underfull leaf"
            );
            assert!(leaf.len() <= LEAF_CAP, "overfull leaf");
            assert_eq!(leaf.scores.len(), leaf.ids.len());
            for (&s, &id) in leaf.scores.iter().zip(&leaf.ids) {
                assert!(in_bounds(s, m.member(id)), "element outside its separators");
            }
            leaves.push(n);
            return leaf.len();
        }
        let inner = self.inner(n);
        assert!(root || inner.children.len() >= INNER_MIN, "underfull inner");
        assert!(inner.children.len() <= INNER_CAP, "overfull inner");
        assert!(inner.children.len() >= 2, "inner with one child");
        assert_eq!(inner.keys.len() + 1, inner.children.len());
        assert_eq!(inner.counts.len(), inner.children.len());
        let mut total = 0;
        for (i, &c) in inner.children.iter().enumerate() {
            let clo = if i == 0 { lo } else { Some(&inner.keys[i - 1]) };
            let chi = inner.keys.get(i).or(hi);
            let got = self.check_node(c, height - 1, clo, chi, m, leaves, false);
            assert_eq!(got, inner.counts[i], "count of child {i}");
            total += got;
        }
        total
    }
}
