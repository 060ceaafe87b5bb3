//! The Redis wire protocol: request parsing ([`parse`]) and reply encoding ([`reply`]).

pub mod parse;
pub mod reply;
