//! The collection value types. Each owns its representation (compact while small), its
//! operations (the command families call them; they never format replies) and frees itself
//! off the loop when large (see [`crate::store::lazyfree`]).

pub mod hash;
pub mod limits;
pub mod list;
pub mod set;
pub mod zset;

pub use hash::Hash;
pub use list::List;
pub use set::Set;
pub use zset::ZSet;
