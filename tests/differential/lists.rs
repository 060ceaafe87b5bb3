//! Differential generators for the lists family (issue 4 fills these in).

use super::{Entry, Step};

/// Generator entries for this family.
pub static ENTRIES: &[Entry] = &[];

/// Steps that compare `key`'s final content when it holds this family's type (they must be
/// valid whatever the key holds: use a command that answers WRONGTYPE or nil otherwise).
pub fn read_back(_key: &[u8]) -> Vec<Step> {
    Vec::new()
}
