//! The Lua 5.1 engine scripts run in (EVAL, FCALL), without knowledge of commands: the
//! libraries Redis embeds ([`libs`]). The commands that run scripts, and `redis.call`, live in
//! the command layer.

pub mod libs;
