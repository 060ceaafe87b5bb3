//! The set value type (issue 4 fills this in: representation, operations, compact encoding).
//!
//! Invariant: a stored Set is never empty — a command that empties it deletes the key.

use crate::store::lazyfree;

#[derive(Debug, Clone, Default)]
pub struct Set {
    items: Vec<crate::store::StrBuf>,
}

impl Set {
    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Every member, in no particular order (ZUNION & co read sets through this).
    pub fn members(&self) -> impl Iterator<Item = &[u8]> {
        self.items.iter().map(|m| &m[..])
    }

    pub fn contains(&self, member: &[u8]) -> bool {
        self.items.iter().any(|m| m[..] == *member)
    }

    /// `OBJECT ENCODING`.
    pub fn encoding(&self) -> &'static str {
        "hashtable"
    }
}

impl Drop for Set {
    /// Large values are freed on the lazyfree thread, never on an event loop.
    fn drop(&mut self) {
        if self.items.len() > lazyfree::THRESHOLD {
            lazyfree::defer(std::mem::take(&mut self.items));
        }
    }
}
