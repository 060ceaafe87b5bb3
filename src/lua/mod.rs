//! The Lua 5.1 engine scripts run in (EVAL, later FCALL), without knowledge of commands: the
//! interpreter with Redis's environment and sandbox ([`engine`]), the reply conversions
//! ([`convert`]), Redis's `lrand48` ([`rand48`]) and the C libraries Redis embeds ([`libs`]).
//! The commands that run scripts, the script cache and `redis.call`'s dispatch live in the
//! command layer (`commands::scripting`), which implements [`engine::Host`].

pub mod cache;
pub mod convert;
pub mod engine;
pub mod functions;
pub mod libs;
pub mod rand48;
