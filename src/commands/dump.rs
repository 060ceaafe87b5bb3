//! DUMP and RESTORE: one value serialized in Redis 7.0's format (an RDB value, the RDB version
//! and a CRC64), so payloads move both ways between ferrokv and Redis.
//!
//! Payloads are always validated in full before anything is stored (what Redis does with
//! `sanitize-dump-payload yes`): the decoder checks every length and embedded blob, so a
//! hostile payload is `ERR Bad data format`, never a panic or a huge allocation.

use bytes::Bytes;

use super::flags::*;
use super::{args, errors, spec, CommandSpec, Ctx, Group};
use crate::persist::rdb::{decode, encode};
use crate::store::events::class;
use crate::store::Entry;
use crate::util::num::parse_i64;

#[rustfmt::skip]
pub static COMMANDS: &[CommandSpec] = &[
    //   name      arity flags             group           keys     handler
    spec("dump",      2, READONLY,         Group::Generic, 1, 1, 1, dump),
    spec("restore",  -4, WRITE | DENYOOM,  Group::Generic, 1, 1, 1, restore),
];

/// # Format
/// `DUMP key` — the serialized value, or nil when the key does not exist.
fn dump(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    let payload = ctx
        .db()
        .read(&argv[1], ctx.now, |e| encode::dump_payload(&e.value));
    ctx.read_lookup(&argv[1], payload.is_some());
    match payload {
        Some(p) => ctx.out.bulk(&p),
        None => ctx.out.null(),
    }
}

/// # Format
/// `RESTORE key ttl serialized-value [REPLACE] [ABSTTL] [IDLETIME seconds] [FREQ frequency]`
///
/// `+OK`. `ttl` is in milliseconds (0: none), absolute with ABSTTL; a TTL already in the past
/// deletes the key instead (a REPLACE of an existing key then reports `del`). Errors, in
/// Redis's order: syntax and option values, the TTL, `BUSYKEY` when the key exists without
/// REPLACE, then the payload's version/checksum and its format.
fn restore(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    let (mut replace, mut absttl) = (false, false);
    let (mut idle, mut freq): (Option<i64>, Option<i64>) = (None, None);
    let mut i = 4;
    while i < argv.len() {
        let more = i + 1 < argv.len();
        if args::is(&argv[i], "replace") {
            replace = true;
        } else if args::is(&argv[i], "absttl") {
            absttl = true;
        } else if args::is(&argv[i], "idletime") && more && freq.is_none() {
            i += 1;
            let Some(v) = parse_i64(&argv[i]) else {
                return ctx.out.error(errors::NOT_INTEGER);
            };
            if v < 0 {
                return ctx.out.error("ERR Invalid IDLETIME value, must be >= 0");
            }
            idle = Some(v);
        } else if args::is(&argv[i], "freq") && more && idle.is_none() {
            i += 1;
            let Some(v) = parse_i64(&argv[i]) else {
                return ctx.out.error(errors::NOT_INTEGER);
            };
            if !(0..=255).contains(&v) {
                return ctx
                    .out
                    .error("ERR Invalid FREQ value, must be >= 0 and <= 255");
            }
            freq = Some(v);
        } else {
            return ctx.out.error(errors::SYNTAX);
        }
        i += 1;
    }
    let Some(ttl) = parse_i64(&argv[2]) else {
        return ctx.out.error(errors::NOT_INTEGER);
    };
    if ttl < 0 {
        return ctx.out.error("ERR Invalid TTL value, must be >= 0");
    }
    let now = ctx.now;
    let key = &argv[1][..];
    let outcome = ctx.db().write(key, now, |slot| {
        if !replace && slot.exists() {
            return Err("BUSYKEY Target key name already exists.");
        }
        let value = decode::restore_payload(&argv[3])?;
        let expire_at = match (ttl, absttl) {
            (0, _) => 0,
            (t, true) => t as u64,
            (t, false) => now.saturating_add(t as u64),
        };
        if expire_at != 0 && expire_at <= now {
            // Already expired: the key is removed instead (Redis's checkAlreadyExpired).
            if slot.remove().is_some() {
                slot.modified(class::GENERIC, "del");
            }
            return Ok(());
        }
        let entry = Entry::new(value, expire_at);
        // As Redis's objectSetLRUOrLFU: FREQ applies under an LFU policy, IDLETIME under
        // any other; the one that does not apply is validated and ignored.
        if crate::memory::policy::lfu() {
            if let Some(f) = freq {
                entry.set_freq(f as u8);
            }
        } else if let Some(secs) = idle {
            entry.set_idle_secs(secs as u64);
        }
        slot.remove();
        slot.put(entry);
        slot.modified(class::GENERIC, "restore");
        Ok(())
    });
    match outcome {
        Ok(()) => ctx.out.ok(),
        Err(e) => ctx.out.error(e),
    }
}
