//! HyperLogLog commands: PFADD, PFCOUNT, PFMERGE, PFSELFTEST and PFDEBUG, with Redis 7.0's
//! semantics, replies and error texts. An HLL is a plain string value in Redis's exact
//! representation ([`crate::util::hll`] owns it): GET returns Redis's bytes, and a string made
//! by Redis (or by SET/RESTORE of such bytes) works here.
//!
//! # Layout
//! The table below is the family's only list of commands. Handlers look keys up as Redis does,
//! validate the string (`is_hll`: WRONGTYPE for another type, Redis's "not a valid
//! HyperLogLog" WRONGTYPE for a string without a valid header, INVALIDOBJ for sparse opcodes
//! that do not cover 16384 registers), do their whole effect under the shard lock(s), and
//! reply once. The sparse-to-dense threshold is `hll-sparse-max-bytes`
//! ([`crate::tunables`]).
//!
//! # Keyspace events, WATCH and propagation (as hyperloglog.c)
//! - PFADD: when a register changed or the key was created, `pfadd` (class `$`) and a WATCH
//!   signal; otherwise nothing (not propagated). An HLL found corrupted part-way keeps the
//!   registers already raised and signals nothing, as in Redis.
//! - PFCOUNT of one key: a stale cached cardinality is recomputed and stored in the string's
//!   header — a change (WATCH signal, counted, propagated) without an event.
//! - PFMERGE: always `pfadd` on the destination and a WATCH signal, even when nothing changed.
//! - PFDEBUG GETREG / TODENSE: converting a sparse HLL counts a change (propagated) without a
//!   WATCH signal or event.
//!
//! # Keyspace statistics
//! PFCOUNT's keys and PFMERGE's keys (the destination is read first, as a source) are read
//! lookups; PFADD's and PFDEBUG's are write lookups and count nothing.

use bytes::Bytes;

use super::flags::*;
use super::{errors, spec, CommandSpec, Ctx, Group};
use crate::store::events::class;
use crate::store::{Entry, Locks, StrBuf, Value};
use crate::util::hll;

#[rustfmt::skip]
pub static COMMANDS: &[CommandSpec] = &[
    //   name          arity flags                        group               first last step handler
    spec("pfadd",        -2, WRITE | DENYOOM | FAST,      Group::HyperLogLog, 1, 1, 1,  pfadd),
    spec("pfcount",      -2, READONLY | MAY_REPLICATE,    Group::HyperLogLog, 1, -1, 1, pfcount),
    spec("pfmerge",      -2, WRITE | DENYOOM,             Group::HyperLogLog, 1, -1, 1, pfmerge),
    spec("pfselftest",    1, ADMIN,                       Group::HyperLogLog, 0, 0, 0,  pfselftest),
    spec("pfdebug",       3, WRITE | DENYOOM | ADMIN,     Group::HyperLogLog, 2, 2, 1,  pfdebug),
];

const NOT_HLL: &str = "WRONGTYPE Key is not a valid HyperLogLog string value.";
const INVALID: &str = "INVALIDOBJ Corrupted HLL object detected";
const NO_KEY: &str = "ERR The specified key does not exist";
const NOT_SPARSE: &str = "ERR HLL encoding is not sparse";

/// `hll-sparse-max-bytes`.
fn sparse_max(ctx: &Ctx<'_>) -> u64 {
    ctx.srv.tunables.int(crate::tunables::HLL_SPARSE_MAX_BYTES) as u64
}

/// The HLL bytes of `e`, or the error Redis replies for it.
fn hll_of(e: &Entry) -> Result<&[u8], &'static str> {
    let s = e.value.as_str().ok_or(errors::WRONGTYPE)?;
    if hll::is_hll(s) {
        Ok(s)
    } else {
        Err(NOT_HLL)
    }
}

/// The HLL string of `e` for an edit, or the error Redis replies for it.
fn hll_mut(e: &mut Entry) -> Result<&mut StrBuf, &'static str> {
    let s = e.value.as_str_mut().ok_or(errors::WRONGTYPE)?;
    if hll::is_hll(s) {
        Ok(s)
    } else {
        Err(NOT_HLL)
    }
}

/// Runs `f` on the bytes of `s` as a vector (no copy: an HLL string is always on the heap,
/// and the vector goes back as it is).
fn edit<R>(s: &mut StrBuf, f: impl FnOnce(&mut Vec<u8>) -> R) -> R {
    let mut v = std::mem::take(s).into_vec();
    let r = f(&mut v);
    *s = StrBuf::from_vec(v);
    r
}

/// # Format
/// `PFADD key [element ...]` — adds the elements (creating the HLL); 1 when a register
/// changed or the key was created, else 0.
fn pfadd(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    let max = sparse_max(ctx);
    let fx = ctx.fx;
    let result = ctx.db().write(&argv[1], ctx.now, |slot| {
        let mut updated = 0u64;
        if slot.get().is_none() {
            slot.put(Entry::new(
                Value::Str(StrBuf::from_vec(hll::new_sparse())),
                0,
            ));
            updated += 1;
        }
        let e = slot.get().ok_or(errors::WRONGTYPE)?;
        let s = hll_mut(e)?;
        let corrupt = edit(s, |v| {
            for ele in &argv[2..] {
                match hll::add(v, ele, max) {
                    Ok(changed) => updated += u64::from(changed),
                    Err(hll::Corrupt) => return true,
                }
            }
            if updated > 0 {
                hll::invalidate(v);
            }
            false
        });
        if corrupt {
            return Err(INVALID);
        }
        if updated > 0 {
            slot.modified(class::STRING, "pfadd");
            // Redis counts every changed register (`server.dirty += updated`).
            fx.add_changes(updated - 1);
        }
        Ok(updated > 0)
    });
    match result {
        Ok(changed) => ctx.out.int(i64::from(changed)),
        Err(msg) => ctx.out.error(msg),
    }
}

/// # Format
/// `PFCOUNT key [key ...]` — the approximated cardinality of the HLL (cached in its header),
/// or of the union of several (nothing is modified then); missing keys are empty HLLs.
fn pfcount(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    if argv.len() > 2 {
        // On the stack, as Redis: a zeroed 16 KiB heap block is a madvise and page faults
        // per call with jemalloc.
        let mut max: hll::Raw = [0; hll::REGISTERS];
        match union(ctx, &argv[1..], &mut max) {
            Ok((_, locks)) => {
                drop(locks);
                ctx.out.int(hll::count_raw(&max) as i64)
            }
            Err(msg) => ctx.out.error(msg),
        }
        return;
    }
    let key = &argv[1];
    let found = ctx.db().write(key, ctx.now, |slot| {
        let e = slot.get()?;
        let counted = hll_mut(e).and_then(|s| {
            if let Some(card) = hll::cached(s) {
                return Ok((card, false));
            }
            let card = hll::count(s).map_err(|_| INVALID)?;
            hll::set_cached(s, card);
            Ok((card, true))
        });
        if let Ok((_, true)) = counted {
            // The string changed: a WATCH signal and a change, without an event.
            slot.touched();
        }
        Some(counted.map(|(card, _)| card))
    });
    ctx.read_lookup(key, found.is_some());
    match found {
        None => ctx.out.int(0),
        Some(Ok(card)) => ctx.out.int(card as i64),
        Some(Err(msg)) => ctx.out.error(msg),
    }
}

/// Read-looks-up `keys` in order under one lock set and merges their registers into `max`
/// (zeroed; missing keys count as empty): whether any HLL was dense, and the locks still held
/// (PFMERGE writes its destination under them); or the first error.
fn union<'a>(
    ctx: &Ctx<'a>,
    keys: &[Bytes],
    max: &mut hll::Raw,
) -> Result<(bool, Locks<'a>), &'static str> {
    let d = ctx.client.db;
    let now = ctx.now;
    let names: Vec<(usize, &[u8])> = keys.iter().map(|k| (d, &k[..])).collect();
    let mut locks = ctx.store().lock(&names);
    let mut dense = false;
    for key in keys {
        let merged = locks.slot(d, key, now).get().map(|e| {
            let s = hll_of(e)?;
            dense |= hll::encoding(s) == hll::DENSE;
            hll::merge_into(max, s).map_err(|_| INVALID)
        });
        ctx.read_lookup(key, merged.is_some());
        if let Some(Err(msg)) = merged {
            return Err(msg);
        }
    }
    Ok((dense, locks))
}

/// # Format
/// `PFMERGE destkey [sourcekey ...]` — stores the union of the sources and of `destkey`
/// itself in `destkey` (created when missing); dense when any input was dense.
fn pfmerge(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    let d = ctx.client.db;
    let now = ctx.now;
    let max_bytes = sparse_max(ctx);
    let dest = &argv[1][..];
    let mut max: hll::Raw = [0; hll::REGISTERS];
    let result = union(ctx, &argv[1..], &mut max).and_then(|(dense, mut locks)| {
        let mut slot = locks.slot(d, dest, now);
        if slot.get().is_none() {
            slot.put(Entry::new(
                Value::Str(StrBuf::from_vec(hll::new_sparse())),
                0,
            ));
        }
        let e = slot.get().ok_or(errors::WRONGTYPE)?;
        let s = hll_mut(e)?;
        edit(s, |v| {
            if dense && hll::to_dense(v).is_err() {
                return Err(INVALID);
            }
            for (i, &r) in max.iter().enumerate() {
                if r != 0 {
                    // As Redis, a failed edit is ignored here (the inputs were checked).
                    let _ = hll::raise(v, i, r, max_bytes);
                }
            }
            hll::invalidate(v);
            Ok(())
        })?;
        slot.modified(class::STRING, "pfadd");
        Ok(())
    });
    match result {
        Ok(()) => ctx.out.ok(),
        Err(msg) => ctx.out.error(msg),
    }
}

/// # Format
/// `PFSELFTEST` — checks the register access and the estimate's error (OK, or a TESTFAILED
/// error).
fn pfselftest(ctx: &mut Ctx<'_>, _argv: &[Bytes]) {
    let max = sparse_max(ctx);
    let mut rng = rand::random::<u64>() | 1;
    // xorshift64: any generator does; the test checks bounds, not values.
    let next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    match hll::selftest(max, next) {
        Ok(()) => ctx.out.ok(),
        Err(msg) => ctx.out.error(msg),
    }
}

/// What PFDEBUG replies.
enum Debug {
    Registers(Vec<u8>),
    Text(String),
    Status(&'static str),
    Int(i64),
}

/// # Format
/// `PFDEBUG GETREG|DECODE|ENCODING|TODENSE key` — the registers (converting a sparse HLL to
/// dense), the sparse opcodes as text, the encoding, or a conversion to dense (1 if done).
fn pfdebug(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    let sub = &argv[1][..];
    let fx = ctx.fx;
    let result = ctx.db().write(&argv[2], ctx.now, |slot| {
        let e = slot.get().ok_or(NO_KEY.as_bytes().to_vec())?;
        let s = hll_mut(e).map_err(|m| m.as_bytes().to_vec())?;
        let mut converted = false;
        let reply = if sub.eq_ignore_ascii_case(b"getreg") || sub.eq_ignore_ascii_case(b"todense") {
            converted = edit(s, hll::to_dense).map_err(|_| INVALID.as_bytes().to_vec())?;
            if sub.eq_ignore_ascii_case(b"getreg") {
                let regs = &s[hll::HDR..];
                Debug::Registers(
                    (0..hll::REGISTERS)
                        .map(|i| hll::dense_get(regs, i))
                        .collect(),
                )
            } else {
                Debug::Int(i64::from(converted))
            }
        } else if sub.eq_ignore_ascii_case(b"decode") {
            if hll::encoding(s) != hll::SPARSE {
                return Err(NOT_SPARSE.as_bytes().to_vec());
            }
            Debug::Text(hll::decode(s))
        } else if sub.eq_ignore_ascii_case(b"encoding") {
            Debug::Status(if hll::encoding(s) == hll::DENSE {
                "dense"
            } else {
                "sparse"
            })
        } else {
            return Err(errors::concat(&[
                b"ERR Unknown PFDEBUG subcommand '",
                errors::c_str(sub, usize::MAX),
                b"'",
            ]));
        };
        if converted {
            // Redis's `server.dirty++` (propagated), without a WATCH signal or an event.
            fx.add_changes(1);
            fx.order();
        }
        Ok(reply)
    });
    match result {
        Err(msg) => ctx.out.error(msg),
        Ok(Debug::Registers(regs)) => {
            ctx.out.array(regs.len());
            for r in regs {
                ctx.out.int(i64::from(r));
            }
        }
        Ok(Debug::Text(t)) => ctx.out.bulk(t.as_bytes()),
        Ok(Debug::Status(s)) => ctx.out.simple(s),
        Ok(Debug::Int(n)) => ctx.out.int(n),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_matches_redis_arity_and_keys() {
        let by = |n: &str| COMMANDS.iter().find(|c| c.name == n).unwrap();
        assert_eq!(by("pfadd").arity, -2);
        assert_eq!(by("pfdebug").arity, 3);
        assert_eq!(by("pfdebug").key_positions(3), vec![2]);
        assert_eq!(by("pfcount").key_positions(4), vec![1, 2, 3]);
        assert_eq!(by("pfmerge").key_positions(3), vec![1, 2]);
    }
}
