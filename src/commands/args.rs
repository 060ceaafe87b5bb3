//! Small helpers for handlers: parsing numeric arguments with Redis's error replies.

use bytes::Bytes;

use super::errors;
use super::Ctx;
use crate::util::num::{parse_f64, parse_i64};

/// Parses an integer argument or replies `ERR value is not an integer or out of range`.
pub fn int(ctx: &mut Ctx<'_>, arg: &Bytes) -> Option<i64> {
    let v = parse_i64(arg);
    if v.is_none() {
        ctx.out.error(errors::NOT_INTEGER);
    }
    v
}

/// Parses a float argument or replies `ERR value is not a valid float`.
pub fn float(ctx: &mut Ctx<'_>, arg: &Bytes) -> Option<f64> {
    let v = parse_f64(arg);
    if v.is_none() {
        ctx.out.error(errors::NOT_FLOAT);
    }
    v
}

/// Case-insensitive keyword comparison.
#[inline]
pub fn is(arg: &[u8], word: &str) -> bool {
    arg.eq_ignore_ascii_case(word.as_bytes())
}

/// SRANDMEMBER / ZRANDMEMBER with a negative count repeat members; beyond this many repeats we
/// refuse (`ERR value is out of range`) rather than build an unbounded reply under a shard lock
/// (Redis would stream until memory or the client's output limit runs out).
pub const MAX_RANDOM_REPEATS: u64 = 1 << 24;
