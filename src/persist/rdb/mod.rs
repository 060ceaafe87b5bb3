//! The RDB codec (being written).
