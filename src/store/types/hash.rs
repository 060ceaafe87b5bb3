//! The hash value type (issue 4 fills this in: representation, operations, compact encoding).
//!
//! Invariant: a stored Hash is never empty — a command that empties it deletes the key.

use crate::store::lazyfree;

#[derive(Debug, Clone, Default)]
pub struct Hash {
    items: Vec<crate::store::StrBuf>,
}

impl Hash {
    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// `OBJECT ENCODING`.
    pub fn encoding(&self) -> &'static str {
        "listpack"
    }
}

impl Drop for Hash {
    /// Large values are freed on the lazyfree thread, never on an event loop.
    fn drop(&mut self) {
        if self.items.len() > lazyfree::THRESHOLD {
            lazyfree::defer(std::mem::take(&mut self.items));
        }
    }
}
