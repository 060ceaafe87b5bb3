//! Table nodes: a key and its entry in one heap allocation.
//!
//! Each shard's table stores only a pointer per slot (`NodeBox`), so empty slots cost 8 bytes
//! rather than a whole entry, and a small key (≤ 16 bytes) lives inline in its node. This is
//! what keeps 1 M small keys below Redis's bytes per key.
//!
//! Invariant: a node's key never changes while the node is in a table (its hash depends on it);
//! only `entry` is mutated in place.

use std::borrow::Borrow;
use std::hash::{Hash, Hasher};

use smallvec::SmallVec;

use super::Entry;

/// Key bytes, inline up to 16 bytes.
pub type KeyBuf = SmallVec<[u8; 16]>;

pub struct Node {
    pub key: KeyBuf,
    pub entry: Entry,
}

/// The table's element: hashes and compares as its key bytes, so lookups by `&[u8]` work.
pub struct NodeBox(pub Box<Node>);

impl NodeBox {
    pub fn new(key: &[u8], entry: Entry) -> Self {
        NodeBox(Box::new(Node {
            key: KeyBuf::from_slice(key),
            entry,
        }))
    }

    #[inline]
    pub fn key(&self) -> &[u8] {
        &self.0.key
    }

    #[inline]
    pub fn entry(&self) -> &Entry {
        &self.0.entry
    }

    #[inline]
    pub fn entry_mut(&mut self) -> &mut Entry {
        &mut self.0.entry
    }

    pub fn into_entry(self) -> Entry {
        self.0.entry
    }
}

impl Hash for NodeBox {
    /// Must hash exactly as `[u8]` does, because lookups hash the borrowed `&[u8]`.
    #[inline]
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.key().hash(state)
    }
}

impl PartialEq for NodeBox {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}

impl Eq for NodeBox {}

impl Borrow<[u8]> for NodeBox {
    #[inline]
    fn borrow(&self) -> &[u8] {
        self.key()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nodes_stay_small() {
        assert_eq!(std::mem::size_of::<KeyBuf>(), 24);
        assert_eq!(std::mem::size_of::<NodeBox>(), 8);
        assert!(
            std::mem::size_of::<Node>() <= 72,
            "{}",
            std::mem::size_of::<Node>()
        );
    }
}
