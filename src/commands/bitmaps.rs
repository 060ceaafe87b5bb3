//! Bitmap commands: SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP, BITFIELD and BITFIELD_RO, with
//! Redis 7.0's semantics, replies and error texts. A bitmap is a plain string value: bit 0 is the most significant
//! bit of the first byte; bits past the end read as 0.
//!
//! # Layout
//! The table below is the family's only list of commands. The pure helpers ([`popcount`],
//! [`first_bit`], [`resolve_range`], [`bitpos_in`], [`combine`]) hold the arithmetic and are
//! unit-tested here; handlers parse arguments in Redis's order (so the same error wins), do
//! their whole effect under the shard lock(s), and reply once.
//!
//! # Invariants
//! - A bit offset is accepted only when `offset >> 3 < proto-max-bulk-len`, so a SETBIT never
//!   grows a string past that limit (Redis 7.0's `getBitOffsetFromArgument`).
//! - Strings are stored as bytes (no integer encoding), so no conversion is needed before bit
//!   access; an integer-looking value is read as its decimal text, as Redis does.
//!
//! # Keyspace events and WATCH
//! SETBIT reports `setbit` when it created the key, grew it, or flipped the bit (nothing
//! otherwise, as Redis: an unchanged SETBIT is not propagated). BITOP reports `set` on the
//! destination when the result is non-empty (the TTL is dropped) and `del` when an empty
//! result deleted an existing destination. BITFIELD reports one `setbit` when any SET/INCRBY
//! changed bits or created/grew the string (a FAIL-refused write changes nothing).
//!
//! # Keyspace statistics
//! GETBIT, BITCOUNT, BITPOS, BITOP's sources and GET-only BITFIELD(_RO) are read lookups (one
//! hit or miss per key); SETBIT's and a writing BITFIELD's lookups are write lookups and count
//! nothing.

use bytes::Bytes;

use super::flags::*;
use super::{args, errors, spec, CommandSpec, Ctx, Group};
use crate::store::events::class;
use crate::store::{Entry, StrBuf, Value};
use crate::util::num::parse_i64;

#[rustfmt::skip]
pub static COMMANDS: &[CommandSpec] = &[
    //   name  arity flags                       group          first last step handler
    spec("setbit", 4, WRITE | DENYOOM, Group::Bitmap, 1, 1, 1, setbit),
    spec("getbit", 3, READONLY | FAST, Group::Bitmap, 1, 1, 1, getbit),
    spec("bitcount", -2, READONLY, Group::Bitmap, 1, 1, 1, bitcount),
    spec("bitpos", -3, READONLY, Group::Bitmap, 1, 1, 1, bitpos),
    spec("bitop", -4, WRITE | DENYOOM, Group::Bitmap, 2, -1, 1, bitop),
    spec("bitfield", -2, WRITE | DENYOOM, Group::Bitmap, 1, 1, 1, bitfield),
    spec("bitfield_ro", -2, READONLY | FAST, Group::Bitmap, 1, 1, 1, bitfield_ro),
];

const BIT_OFFSET: &str = "ERR bit offset is not an integer or out of range";
const BIT_VALUE: &str = "ERR bit is not an integer or out of range";
const BITPOS_BIT: &str = "ERR The bit argument must be 1 or 0.";
const BITOP_NOT_ONE_KEY: &str = "ERR BITOP NOT must be called with a single source key.";
const BITFIELD_TYPE: &str =
    "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.";
const BITFIELD_OVERFLOW: &str = "ERR Invalid OVERFLOW type specified";
const BITFIELD_RO_WRITE: &str = "ERR BITFIELD_RO only supports the GET subcommand";

// ---------------------------------------------------------------------------------------------
// Pure helpers
// ---------------------------------------------------------------------------------------------

/// The number of set bits in `bytes` (Redis's `redisPopcount`).
pub fn popcount(bytes: &[u8]) -> u64 {
    let mut chunks = bytes.chunks_exact(8);
    let mut n: u64 = 0;
    for c in &mut chunks {
        let w = u64::from_ne_bytes(c.try_into().expect("chunk of 8"));
        n += u64::from(w.count_ones());
    }
    n + chunks
        .remainder()
        .iter()
        .map(|b| u64::from(b.count_ones()))
        .sum::<u64>()
}

/// Redis's `redisBitpos`: the position of the first bit equal to `bit` in `bytes` (bit 0 is
/// the first byte's most significant bit). Not found: -1 when looking for a 1, and
/// `bytes.len() * 8` (the first bit of the implicit zero padding) when looking for a 0.
pub fn first_bit(bytes: &[u8], bit: bool) -> i64 {
    let skip: u8 = if bit { 0 } else { 0xff };
    let mut chunks = bytes.chunks_exact(8);
    let mut base = 0usize;
    for c in &mut chunks {
        let w = u64::from_be_bytes(c.try_into().expect("chunk of 8"));
        let w = if bit { w } else { !w };
        if w != 0 {
            return (base * 8 + w.leading_zeros() as usize) as i64;
        }
        base += 8;
    }
    for &b in chunks.remainder() {
        if b != skip {
            let b = if bit { b } else { !b };
            return (base * 8 + b.leading_zeros() as usize) as i64;
        }
        base += 1;
    }
    if bit {
        -1
    } else {
        (bytes.len() * 8) as i64
    }
}

/// A non-empty inclusive byte range of a string, with the bits of its first and last byte
/// that lie outside a BIT-unit range (the "negative masks"; 0 for BYTE ranges).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BitRange {
    pub start: usize,
    pub end: usize,
    pub first_out: u8,
    pub last_out: u8,
}

/// Resolves a BITCOUNT/BITPOS `start end` (bytes, or bits when `in_bits`) against a string of
/// `len` bytes: negative indexes count from the end, both ends are clamped; `None` when the
/// range is empty. Overflow-free for any `i64` inputs.
pub fn resolve_range(mut start: i64, mut end: i64, len: usize, in_bits: bool) -> Option<BitRange> {
    let mut total = len as i64;
    if in_bits {
        total <<= 3;
    }
    if start < 0 {
        start += total;
    }
    if end < 0 {
        end += total;
    }
    start = start.max(0);
    end = end.max(0);
    if end >= total {
        end = total - 1;
    }
    if start > end {
        return None;
    }
    if in_bits {
        let first_out = !((1u32 << (8 - (start & 7))) - 1) as u8;
        let last_out = ((1u32 << (7 - (end & 7))) - 1) as u8;
        Some(BitRange {
            start: (start >> 3) as usize,
            end: (end >> 3) as usize,
            first_out,
            last_out,
        })
    } else {
        Some(BitRange {
            start: start as usize,
            end: end as usize,
            first_out: 0,
            last_out: 0,
        })
    }
}

/// The set bits of `s` within `r` (`r` lies inside `s`).
pub fn count_in(s: &[u8], r: BitRange) -> u64 {
    popcount(&s[r.start..=r.end])
        - u64::from((s[r.start] & r.first_out).count_ones())
        - u64::from((s[r.end] & r.last_out).count_ones())
}

/// BITPOS over `r` (inside `s`): the absolute position of the first `bit`, or -1. When
/// looking for a 0 without an explicit end, the zero padding right of the string counts.
pub fn bitpos_in(s: &[u8], r: BitRange, bit: bool, end_given: bool) -> i64 {
    // Forces the out-of-range bits of a byte to the value not searched for.
    let masked = |b: u8, out: u8| if bit { b & !out } else { b | out };
    let mut start = r.start;
    let mut bytes = r.end - r.start + 1;
    let pos = 'found: {
        if r.first_out != 0 {
            let mut b = masked(s[start], r.first_out);
            if bytes == 1 {
                b = masked(b, r.last_out);
            }
            let pos = first_bit(&[b], bit);
            if bytes == 1 || (pos != -1 && pos != 8) {
                break 'found pos;
            }
            start += 1;
            bytes -= 1;
        }
        let whole = bytes - usize::from(r.last_out != 0);
        if whole > 0 {
            let pos = first_bit(&s[start..start + whole], bit);
            if bytes == whole || (pos != -1 && pos != (whole as i64) << 3) {
                break 'found pos;
            }
            start += whole;
            bytes -= whole;
        }
        first_bit(&[masked(s[r.end], r.last_out)], bit)
    };
    if end_given && !bit && pos == (bytes as i64) << 3 {
        return -1;
    }
    if pos == -1 {
        -1
    } else {
        pos + ((start as i64) << 3)
    }
}

/// The BITOP operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BitOp {
    And,
    Or,
    Xor,
    Not,
}

/// BITOP's result over `sources` (a missing key is an empty string): as long as the longest
/// source, shorter ones zero-padded. NOT takes exactly one source.
pub fn combine(op: BitOp, sources: &[&[u8]]) -> Vec<u8> {
    let maxlen = sources.iter().map(|s| s.len()).max().unwrap_or(0);
    let Some((first, rest)) = sources.split_first() else {
        return Vec::new();
    };
    // Built from the first source rather than from a zeroed buffer: jemalloc zeroes a
    // recycled large extent with madvise(MADV_DONTNEED), so `vec![0; n]` of 64 KiB and more
    // costs a syscall and a page fault per page on every BITOP.
    let mut res = Vec::with_capacity(maxlen);
    res.extend_from_slice(first);
    res.resize(maxlen, 0);
    match op {
        BitOp::Not => res.iter_mut().for_each(|b| *b = !*b),
        BitOp::And => {
            for s in rest {
                res.iter_mut().zip(s.iter()).for_each(|(r, b)| *r &= b);
                res[s.len()..].fill(0);
            }
        }
        BitOp::Or => {
            for s in rest {
                res.iter_mut().zip(s.iter()).for_each(|(r, b)| *r |= b);
            }
        }
        BitOp::Xor => {
            for s in rest {
                res.iter_mut().zip(s.iter()).for_each(|(r, b)| *r ^= b);
            }
        }
    }
    res
}

/// The unsigned integer of `bits` bits (1..=64) at bit `offset` of `s`; bits past the end
/// read as 0.
pub fn get_unsigned(s: &[u8], offset: u64, bits: u32) -> u64 {
    (0..u64::from(bits)).fold(0, |v, j| (v << 1) | u64::from(bit_at(s, offset + j)))
}

/// The signed (two's complement) integer of `bits` bits at bit `offset` of `s`.
pub fn get_signed(s: &[u8], offset: u64, bits: u32) -> i64 {
    let v = get_unsigned(s, offset, bits);
    if bits < 64 && v & (1 << (bits - 1)) != 0 {
        (v | (u64::MAX << bits)) as i64
    } else {
        v as i64
    }
}

/// Writes the low `bits` bits of `value` at bit `offset` of `s` (which must be long enough).
pub fn set_field(s: &mut [u8], offset: u64, bits: u32, value: u64) {
    for j in 0..u64::from(bits) {
        let on = value & (1 << (u64::from(bits) - 1 - j)) != 0;
        let at = offset + j;
        let mask = 0x80u8 >> (at & 7);
        let byte = &mut s[(at >> 3) as usize];
        if on {
            *byte |= mask;
        } else {
            *byte &= !mask;
        }
    }
}

/// BITFIELD's OVERFLOW modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overflow {
    Wrap,
    Sat,
    Fail,
}

/// Whether `value + incr` fits an unsigned field of `bits` bits (1..=63); when not, the value
/// to store instead under `ow` (`None` for FAIL). Redis's `checkUnsignedBitfieldOverflow`.
pub fn unsigned_overflow(value: u64, incr: i64, bits: u32, ow: Overflow) -> Option<Option<u64>> {
    let max = if bits == 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    };
    let max_incr = max.wrapping_sub(value) as i64;
    let min_incr = value.wrapping_neg() as i64;
    let wrap = || {
        let r = value.wrapping_add(incr as u64);
        if bits < 64 {
            r & !(u64::MAX << bits)
        } else {
            r
        }
    };
    let limit = if value > max || (incr > 0 && incr > max_incr) {
        max
    } else if incr < 0 && incr < min_incr {
        0
    } else {
        return None;
    };
    Some(match ow {
        Overflow::Wrap => Some(wrap()),
        Overflow::Sat => Some(limit),
        Overflow::Fail => None,
    })
}

/// As [`unsigned_overflow`] for a signed field of `bits` bits (1..=64); Redis's
/// `checkSignedBitfieldOverflow`, wrapping arithmetic where C relies on two's complement.
pub fn signed_overflow(value: i64, incr: i64, bits: u32, ow: Overflow) -> Option<Option<i64>> {
    let max = if bits == 64 {
        i64::MAX
    } else {
        (1i64 << (bits - 1)) - 1
    };
    let min = -max - 1;
    let max_incr = (max as u64).wrapping_sub(value as u64) as i64;
    let min_incr = min.wrapping_sub(value);
    let wrap = || {
        let mut c = (value as u64).wrapping_add(incr as u64);
        if bits < 64 {
            let mask = u64::MAX << bits;
            if c & (1u64 << (bits - 1)) != 0 {
                c |= mask;
            } else {
                c &= !mask;
            }
        }
        c as i64
    };
    let limit = if value > max
        || (bits != 64 && incr > max_incr)
        || (value >= 0 && incr > 0 && incr > max_incr)
    {
        max
    } else if value < min
        || (bits != 64 && incr < min_incr)
        || (value < 0 && incr < 0 && incr < min_incr)
    {
        min
    } else {
        return None;
    };
    Some(match ow {
        Overflow::Wrap => Some(wrap()),
        Overflow::Sat => Some(limit),
        Overflow::Fail => None,
    })
}

/// One parsed BITFIELD operation.
#[derive(Debug, Clone, Copy)]
struct FieldOp {
    /// `None` for GET; the SET value or INCRBY increment otherwise.
    write: Option<(bool, i64)>,
    offset: u64,
    bits: u32,
    signed: bool,
    ow: Overflow,
}

impl FieldOp {
    /// The field's value (GET).
    fn get(&self, s: &[u8]) -> i64 {
        if self.signed {
            get_signed(s, self.offset, self.bits)
        } else {
            get_unsigned(s, self.offset, self.bits) as i64
        }
    }

    /// Runs the operation on `s` (long enough for writes); the reply (`None`: FAIL overflow)
    /// and whether the stored bits changed.
    fn apply(&self, s: &mut [u8]) -> (Option<i64>, bool) {
        let Some((incr, arg)) = self.write else {
            return (Some(self.get(s)), false);
        };
        let (old, new, reply) = if self.signed {
            let old = get_signed(s, self.offset, self.bits);
            let (base, inc) = if incr { (old, arg) } else { (arg, 0) };
            let new = match signed_overflow(base, inc, self.bits, self.ow) {
                None => base.wrapping_add(inc),
                Some(Some(v)) => v,
                Some(None) => return (None, false),
            };
            (old as u64, new as u64, if incr { new } else { old })
        } else {
            let old = get_unsigned(s, self.offset, self.bits);
            let (base, inc) = if incr { (old, arg) } else { (arg as u64, 0) };
            let new = match unsigned_overflow(base, inc, self.bits, self.ow) {
                None => base.wrapping_add(inc as u64),
                Some(Some(v)) => v,
                Some(None) => return (None, false),
            };
            (old, new, (if incr { new } else { old }) as i64)
        };
        set_field(s, self.offset, self.bits, new);
        (Some(reply), old != new)
    }
}

// ---------------------------------------------------------------------------------------------
// Handlers
// ---------------------------------------------------------------------------------------------

/// Parses a bit offset: a non-negative integer whose byte (`offset >> 3`) lies below
/// proto-max-bulk-len; otherwise replies `ERR bit offset is not an integer or out of range`.
/// With `field_bits > 0` (BITFIELD), `#N` means `N * field_bits`.
fn bit_offset(ctx: &mut Ctx<'_>, arg: &[u8], field_bits: u32) -> Option<u64> {
    let limit = ctx
        .srv
        .settings
        .proto_max_bulk_len
        .load(std::sync::atomic::Ordering::Relaxed);
    let parsed = match arg.strip_prefix(b"#") {
        // Redis multiplies without an overflow check; wrapping matches its two's complement.
        Some(n) if field_bits > 0 => parse_i64(n).map(|n| n.wrapping_mul(i64::from(field_bits))),
        _ => parse_i64(arg),
    };
    match parsed {
        Some(n) if n >= 0 && ((n as u64) >> 3) < limit => Some(n as u64),
        _ => {
            ctx.out.error(BIT_OFFSET);
            None
        }
    }
}

/// The value of bit `offset` of `s` (0 past the end).
fn bit_at(s: &[u8], offset: u64) -> bool {
    let byte = (offset >> 3) as usize;
    s.get(byte).is_some_and(|b| b & (0x80 >> (offset & 7)) != 0)
}

/// # Format
/// `SETBIT key offset value` — sets or clears one bit, growing (zero-padded) or creating the
/// string as needed; replies the bit's previous value. Keeps the TTL.
fn setbit(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    let Some(offset) = bit_offset(ctx, &argv[2], 0) else {
        return;
    };
    let on = match parse_i64(&argv[3]) {
        Some(v @ (0 | 1)) => v == 1,
        _ => {
            ctx.out.error(BIT_VALUE);
            return;
        }
    };
    // `byte` is below proto-max-bulk-len (checked above), so the growth is bounded.
    let byte = (offset >> 3) as usize;
    let mask = 0x80u8 >> (offset & 7);
    let result = ctx.db().write(&argv[1], ctx.now, |slot| {
        let (old, changed) = match slot.get() {
            None => {
                let mut buf = StrBuf::from_elem(0, byte + 1);
                if on {
                    buf[byte] |= mask;
                }
                slot.put(Entry::new(Value::Str(buf), 0));
                (false, true)
            }
            Some(e) => {
                let s = e.value.as_str_mut().ok_or(errors::WRONGTYPE)?;
                let grown = s.len() <= byte;
                if grown {
                    s.resize(byte + 1, 0);
                }
                let old = s[byte] & mask != 0;
                if on {
                    s[byte] |= mask;
                } else {
                    s[byte] &= !mask;
                }
                (old, grown || old != on)
            }
        };
        if changed {
            slot.modified(class::STRING, "setbit");
        }
        Ok::<bool, &str>(old)
    });
    match result {
        Ok(old) => ctx.out.int(i64::from(old)),
        Err(msg) => ctx.out.error(msg),
    }
}

/// # Format
/// `GETBIT key offset` — the bit's value; 0 past the end or when the key is missing.
fn getbit(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    let Some(offset) = bit_offset(ctx, &argv[2], 0) else {
        return;
    };
    let found = ctx.db().read(&argv[1], ctx.now, |e| {
        e.value.as_str().map(|s| bit_at(s, offset))
    });
    ctx.read_lookup(&argv[1], found.is_some());
    match found {
        None => ctx.out.int(0),
        Some(None) => ctx.out.error(errors::WRONGTYPE),
        Some(Some(b)) => ctx.out.int(i64::from(b)),
    }
}

/// `BYTE` or `BIT` (case-insensitive): whether a range is in bits.
fn unit(arg: &[u8]) -> Result<bool, &'static str> {
    if args::is(arg, "bit") {
        Ok(true)
    } else if args::is(arg, "byte") {
        Ok(false)
    } else {
        Err(errors::SYNTAX)
    }
}

/// What BITCOUNT/BITPOS scan, parsed from the arguments alone (Redis parses them after the
/// lookup, so a missing key or WRONGTYPE wins over any argument error; parsing first and
/// reporting later gives the same replies without copying the string out of the store).
enum Scan {
    /// `start end` (bytes, or bits), the end possibly implicit (BITPOS).
    Range {
        start: i64,
        end: Option<i64>,
        in_bits: bool,
    },
    /// A fixed integer reply for an existing string (BITCOUNT's `start > end`, both negative).
    Fixed(i64),
    /// An argument error, replied if the key holds a string.
    Invalid(&'static str),
}

/// Looks `key` up (a read lookup) and runs `scan` on its string under the shard's read lock;
/// replies `missing` for a missing key, WRONGTYPE, or what `scan` returns.
fn scan_string(
    ctx: &mut Ctx<'_>,
    key: &[u8],
    missing: i64,
    scan: impl FnOnce(&[u8]) -> Result<i64, &'static str>,
) {
    let found = ctx
        .db()
        .read(key, ctx.now, |e| e.value.as_str().map(|s| scan(s)));
    ctx.read_lookup(key, found.is_some());
    match found {
        None => ctx.out.int(missing),
        Some(None) => ctx.out.error(errors::WRONGTYPE),
        Some(Some(Ok(n))) => ctx.out.int(n),
        Some(Some(Err(msg))) => ctx.out.error(msg),
    }
}

/// Parses BITCOUNT's `[start end [BYTE|BIT]]` in Redis's order.
fn bitcount_scan(argv: &[Bytes]) -> Scan {
    match argv.len() {
        2 => Scan::Range {
            start: 0,
            end: Some(-1),
            in_bits: false,
        },
        4 | 5 => {
            let (Some(start), Some(end)) = (parse_i64(&argv[2]), parse_i64(&argv[3])) else {
                return Scan::Invalid(errors::NOT_INTEGER);
            };
            // Checked before the unit is parsed, as Redis does.
            if start < 0 && end < 0 && start > end {
                return Scan::Fixed(0);
            }
            match argv.get(4).map_or(Ok(false), |u| unit(u)) {
                Ok(in_bits) => Scan::Range {
                    start,
                    end: Some(end),
                    in_bits,
                },
                Err(msg) => Scan::Invalid(msg),
            }
        }
        _ => Scan::Invalid(errors::SYNTAX),
    }
}

/// # Format
/// `BITCOUNT key [start end [BYTE|BIT]]` — the number of set bits, in the whole string or in
/// the inclusive range; 0 when the key is missing.
fn bitcount(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    let plan = bitcount_scan(argv);
    scan_string(ctx, &argv[1], 0, |s| match plan {
        Scan::Fixed(n) => Ok(n),
        Scan::Invalid(msg) => Err(msg),
        Scan::Range {
            start,
            end,
            in_bits,
        } => {
            let r = resolve_range(start, end.unwrap_or(-1), s.len(), in_bits);
            Ok(r.map_or(0, |r| count_in(s, r)) as i64)
        }
    });
}

/// Parses BITPOS's `[start [end [BYTE|BIT]]]` in Redis's order (unit before end).
fn bitpos_scan(argv: &[Bytes]) -> Scan {
    match argv.len() {
        3 => Scan::Range {
            start: 0,
            end: Some(-1),
            in_bits: false,
        },
        4..=6 => {
            let Some(start) = parse_i64(&argv[3]) else {
                return Scan::Invalid(errors::NOT_INTEGER);
            };
            let in_bits = match argv.get(5).map_or(Ok(false), |u| unit(u)) {
                Ok(b) => b,
                Err(msg) => return Scan::Invalid(msg),
            };
            let end = match argv.get(4) {
                None => None,
                Some(e) => match parse_i64(e) {
                    Some(e) => Some(e),
                    None => return Scan::Invalid(errors::NOT_INTEGER),
                },
            };
            Scan::Range {
                start,
                end,
                in_bits,
            }
        }
        _ => Scan::Invalid(errors::SYNTAX),
    }
}

/// # Format
/// `BITPOS key bit [start [end [BYTE|BIT]]]` — the position of the first bit equal to `bit`,
/// or -1. A missing key is all zeros (0 for bit 0, -1 for bit 1).
fn bitpos(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    let Some(bit) = args::int(ctx, &argv[2]) else {
        return;
    };
    if bit != 0 && bit != 1 {
        ctx.out.error(BITPOS_BIT);
        return;
    }
    let bit = bit == 1;
    let plan = bitpos_scan(argv);
    scan_string(ctx, &argv[1], if bit { -1 } else { 0 }, |s| match plan {
        Scan::Fixed(n) => Ok(n),
        Scan::Invalid(msg) => Err(msg),
        Scan::Range {
            start,
            end,
            in_bits,
        } => {
            let end_given = argv.len() >= 5;
            // Without an end: the last byte (overflow-free: a string is far below 2^60 bytes).
            let len = s.len() as i64;
            let end = end.unwrap_or(if in_bits { (len << 3) + 7 } else { len - 1 });
            let r = resolve_range(start, end, s.len(), in_bits);
            Ok(r.map_or(-1, |r| bitpos_in(s, r, bit, end_given)))
        }
    });
}

/// # Format
/// `BITOP AND|OR|XOR|NOT destkey key [key ...]` — stores the bitwise operation of the
/// sources (missing keys are empty strings) in `destkey`, replacing it and its TTL, or deletes
/// `destkey` when the result is empty; replies the result's length.
fn bitop(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    let op = if args::is(&argv[1], "and") {
        BitOp::And
    } else if args::is(&argv[1], "or") {
        BitOp::Or
    } else if args::is(&argv[1], "xor") {
        BitOp::Xor
    } else if args::is(&argv[1], "not") {
        BitOp::Not
    } else {
        ctx.out.error(errors::SYNTAX);
        return;
    };
    if op == BitOp::Not && argv.len() != 4 {
        ctx.out.error(BITOP_NOT_ONE_KEY);
        return;
    }
    let d = ctx.client.db;
    let now = ctx.now;
    let dst = &argv[2][..];
    let sources = &argv[3..];
    let mut names: Vec<(usize, &[u8])> = sources.iter().map(|k| (d, &k[..])).collect();
    names.push((d, dst));
    let mut locks = ctx.store().lock(&names);
    // Sources are looked up in order, stopping at the first of another type (as Redis).
    for key in sources {
        let found = locks
            .slot(d, key, now)
            .get()
            .map(|e| e.value.as_str().is_some());
        ctx.read_lookup(key, found.is_some());
        if found == Some(false) {
            drop(locks);
            ctx.out.error(errors::WRONGTYPE);
            return;
        }
    }
    let result = {
        let texts: Vec<&[u8]> = sources
            .iter()
            .map(|key| {
                locks
                    .get(d, key, now)
                    .and_then(|e| e.value.as_str())
                    .map_or(&[][..], |s| &s[..])
            })
            .collect();
        combine(op, &texts)
    };
    let len = result.len();
    let mut slot = locks.slot(d, dst, now);
    let old = if len > 0 {
        let old = slot.put(Entry::new(Value::Str(StrBuf::from_vec(result)), 0));
        slot.modified(class::STRING, "set");
        old
    } else {
        // Redis deletes the destination without looking it up: an expired one counts.
        let old = slot.delete();
        if old.is_some() {
            slot.modified(class::GENERIC, "del");
        }
        old
    };
    drop(locks);
    // The replaced value is freed once the locks are released.
    drop(old);
    ctx.out.int(len as i64);
}

/// Parses `i1`..`i64` / `u1`..`u63`: (signed, bits), or replies the type error.
fn field_type(ctx: &mut Ctx<'_>, arg: &[u8]) -> Option<(bool, u32)> {
    let parsed = match arg.split_first() {
        Some((b'i', n)) => parse_i64(n)
            .filter(|n| (1..=64).contains(n))
            .map(|n| (true, n)),
        Some((b'u', n)) => parse_i64(n)
            .filter(|n| (1..=63).contains(n))
            .map(|n| (false, n)),
        _ => None,
    };
    match parsed {
        Some((signed, bits)) => Some((signed, bits as u32)),
        None => {
            ctx.out.error(BITFIELD_TYPE);
            None
        }
    }
}

/// # Format
/// `BITFIELD key [GET type offset | SET type offset value | INCRBY type offset increment |
/// OVERFLOW WRAP|SAT|FAIL] ...` — runs the operations in order, replying one integer each
/// (SET: the old value, INCRBY: the new one; nil when OVERFLOW FAIL refused it).
fn bitfield(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    bitfield_generic(ctx, argv, false);
}

/// # Format
/// `BITFIELD_RO key [GET type offset ...]` — BITFIELD restricted to GET.
fn bitfield_ro(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    bitfield_generic(ctx, argv, true);
}

fn bitfield_generic(ctx: &mut Ctx<'_>, argv: &[Bytes], read_only_cmd: bool) {
    let mut ops: Vec<FieldOp> = Vec::new();
    let mut ow = Overflow::Wrap;
    // The last bit any write reaches (the string grows to hold it).
    let mut highest: Option<u64> = None;
    let mut j = 2;
    while j < argv.len() {
        let rem = argv.len() - j - 1;
        let sub = &argv[j][..];
        let write = if args::is(sub, "get") && rem >= 2 {
            false
        } else if (args::is(sub, "set") || args::is(sub, "incrby")) && rem >= 3 {
            true
        } else if args::is(sub, "overflow") && rem >= 1 {
            let name = &argv[j + 1][..];
            ow = if args::is(name, "wrap") {
                Overflow::Wrap
            } else if args::is(name, "sat") {
                Overflow::Sat
            } else if args::is(name, "fail") {
                Overflow::Fail
            } else {
                ctx.out.error(BITFIELD_OVERFLOW);
                return;
            };
            j += 2;
            continue;
        } else {
            ctx.out.error(errors::SYNTAX);
            return;
        };
        let Some((signed, bits)) = field_type(ctx, &argv[j + 1]) else {
            return;
        };
        let Some(offset) = bit_offset(ctx, &argv[j + 2], bits) else {
            return;
        };
        let op_write = if write {
            let last = offset + u64::from(bits) - 1;
            highest = Some(highest.map_or(last, |h| h.max(last)));
            let Some(arg) = args::int(ctx, &argv[j + 3]) else {
                return;
            };
            Some((args::is(sub, "incrby"), arg))
        } else {
            None
        };
        ops.push(FieldOp {
            write: op_write,
            offset,
            bits,
            signed,
            ow,
        });
        j += if write { 4 } else { 3 };
    }
    let replies: Vec<Option<i64>> = match highest {
        None => {
            // Only GETs: a read lookup; a missing key reads as zeros.
            let found = ctx.db().read(&argv[1], ctx.now, |e| {
                e.value
                    .as_str()
                    .map(|s| ops.iter().map(|op| Some(op.get(s))).collect::<Vec<_>>())
            });
            ctx.read_lookup(&argv[1], found.is_some());
            match found {
                None => ops.iter().map(|op| Some(op.get(&[]))).collect(),
                Some(None) => {
                    ctx.out.error(errors::WRONGTYPE);
                    return;
                }
                Some(Some(r)) => r,
            }
        }
        Some(_) if read_only_cmd => {
            ctx.out.error(BITFIELD_RO_WRITE);
            return;
        }
        Some(last) => {
            // `last >> 3` is below proto-max-bulk-len (offsets were checked), so growth is bounded.
            let need = (last >> 3) as usize + 1;
            let result = ctx.db().write(&argv[1], ctx.now, |slot| {
                let mut created = false;
                if slot.get().is_none() {
                    slot.put(Entry::new(Value::Str(StrBuf::from_elem(0, need)), 0));
                    created = true;
                }
                let e = slot.get().expect("present");
                let s = e.value.as_str_mut().ok_or(errors::WRONGTYPE)?;
                let grown = s.len() < need;
                if grown {
                    s.resize(need, 0);
                }
                let dirty = created || grown;
                let mut changes = false;
                let replies: Vec<Option<i64>> = ops
                    .iter()
                    .map(|op| {
                        let (reply, changed) = op.apply(s);
                        // Redis counts a write on a created or grown string as a change.
                        changes |= (changed || dirty) && reply.is_some() && op.write.is_some();
                        reply
                    })
                    .collect();
                if changes {
                    slot.modified(class::STRING, "setbit");
                }
                Ok::<_, &str>(replies)
            });
            match result {
                Ok(r) => r,
                Err(msg) => {
                    ctx.out.error(msg);
                    return;
                }
            }
        }
    };
    ctx.out.array(replies.len());
    for r in replies {
        match r {
            Some(v) => ctx.out.int(v),
            None => ctx.out.null(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bit-by-bit reference for the helpers.
    fn bits(s: &[u8]) -> Vec<bool> {
        (0..s.len() * 8).map(|i| bit_at(s, i as u64)).collect()
    }

    #[test]
    fn popcount_matches_bytewise_count() {
        let data: Vec<u8> = (0..100u32).map(|i| (i * 37 + 11) as u8).collect();
        for n in 0..data.len() {
            let want: u64 = data[..n].iter().map(|b| u64::from(b.count_ones())).sum();
            assert_eq!(popcount(&data[..n]), want);
        }
    }

    #[test]
    fn first_bit_finds_first_match_or_reports_padding() {
        assert_eq!(first_bit(b"", true), -1);
        assert_eq!(first_bit(b"", false), 0);
        assert_eq!(first_bit(&[0xff; 3], false), 24);
        assert_eq!(first_bit(&[0; 20], true), -1);
        assert_eq!(first_bit(&[0, 0, 0x10], true), 19);
        let mut v = vec![0xffu8; 19];
        v[17] = 0xfe;
        assert_eq!(first_bit(&v, false), 17 * 8 + 7);
        let mut v = vec![0u8; 19];
        v[9] = 0x40;
        assert_eq!(first_bit(&v, true), 9 * 8 + 1);
    }

    #[test]
    fn ranges_clamp_and_carry_edge_masks() {
        assert_eq!(resolve_range(0, -1, 0, false), None);
        assert_eq!(
            resolve_range(-100, 100, 3, false),
            Some(BitRange {
                start: 0,
                end: 2,
                first_out: 0,
                last_out: 0
            })
        );
        assert_eq!(resolve_range(2, 1, 3, false), None);
        assert_eq!(
            resolve_range(3, 12, 3, true),
            Some(BitRange {
                start: 0,
                end: 1,
                first_out: 0xe0,
                last_out: 0x07
            })
        );
        assert_eq!(
            resolve_range(i64::MIN, i64::MIN, 3, true).map(|r| r.start),
            Some(0)
        );
        assert!(resolve_range(i64::MAX, i64::MAX, 3, true).is_none());
    }

    #[test]
    fn count_and_pos_agree_with_bitwise_reference() {
        let s: Vec<u8> = vec![0x00, 0xf0, 0x0f, 0xff, 0x81, 0x00, 0x3c];
        let b = bits(&s);
        let n = b.len() as i64;
        for start in -3..n + 2 {
            for end in -3..n + 2 {
                let Some(r) = resolve_range(start, end, s.len(), true) else {
                    continue;
                };
                let a = if start < 0 { start + n } else { start }.max(0);
                let z = if end < 0 { end + n } else { end }.max(0).min(n - 1);
                let slice = &b[a as usize..=z as usize];
                let want = slice.iter().filter(|x| **x).count() as u64;
                assert_eq!(count_in(&s, r), want, "count {start} {end}");
                for bit in [false, true] {
                    let want = slice
                        .iter()
                        .position(|x| *x == bit)
                        .map_or(-1, |p| a + p as i64);
                    assert_eq!(bitpos_in(&s, r, bit, true), want, "pos {bit} {start} {end}");
                }
            }
        }
    }

    #[test]
    fn bitpos_zero_without_end_counts_the_padding() {
        let s = [0xffu8, 0xff];
        let r = resolve_range(0, -1, s.len(), false).unwrap();
        assert_eq!(bitpos_in(&s, r, false, false), 16);
        assert_eq!(bitpos_in(&s, r, false, true), -1);
    }

    #[test]
    fn combine_pads_shorter_sources_with_zeros() {
        assert_eq!(combine(BitOp::And, &[b"\xff\xff", b"\x0f"]), b"\x0f\x00");
        assert_eq!(combine(BitOp::Or, &[b"\x01", b"\x10\x20"]), b"\x11\x20");
        assert_eq!(combine(BitOp::Xor, &[b"\xff", b"\x0f", b""]), b"\xf0");
        assert_eq!(combine(BitOp::Not, &[b"\x0f\xf0"]), b"\xf0\x0f");
        assert_eq!(combine(BitOp::And, &[b"", b""]), b"");
    }

    #[test]
    fn fields_round_trip_across_byte_boundaries() {
        let mut s = vec![0u8; 10];
        set_field(&mut s, 7, 5, 23);
        assert_eq!(&s[..2], &[0b0000_0001, 0b0111_0000]);
        assert_eq!(get_unsigned(&s, 7, 5), 23);
        set_field(&mut s, 13, 64, (-5i64) as u64);
        assert_eq!(get_signed(&s, 13, 64), -5);
        set_field(&mut s, 0, 4, 0b1001);
        assert_eq!(get_signed(&s, 0, 4), -7);
        assert_eq!(get_unsigned(&s, 0, 4), 9);
        // Past the end reads zeros.
        assert_eq!(get_unsigned(&s, 76, 8), get_unsigned(&s, 76, 4) << 4);
    }

    #[test]
    fn overflow_modes() {
        use Overflow::*;
        assert_eq!(unsigned_overflow(250, 10, 8, Wrap), Some(Some(4)));
        assert_eq!(unsigned_overflow(250, 10, 8, Sat), Some(Some(255)));
        assert_eq!(unsigned_overflow(250, 10, 8, Fail), Some(None));
        assert_eq!(unsigned_overflow(5, -10, 8, Sat), Some(Some(0)));
        assert_eq!(unsigned_overflow(5, -10, 8, Wrap), Some(Some(251)));
        assert_eq!(unsigned_overflow(5, 10, 8, Fail), None);
        assert_eq!(signed_overflow(100, 100, 8, Wrap), Some(Some(-56)));
        assert_eq!(signed_overflow(100, 100, 8, Sat), Some(Some(127)));
        assert_eq!(signed_overflow(-100, -100, 8, Sat), Some(Some(-128)));
        assert_eq!(signed_overflow(i64::MAX, 1, 64, Wrap), Some(Some(i64::MIN)));
        assert_eq!(signed_overflow(i64::MIN, -1, 64, Sat), Some(Some(i64::MIN)));
        assert_eq!(signed_overflow(-3, 1, 4, Fail), None);
        // SET checks the value alone (incr 0).
        assert_eq!(signed_overflow(300, 0, 8, Wrap), Some(Some(44)));
        assert_eq!(
            unsigned_overflow((-1i64) as u64, 0, 8, Sat),
            Some(Some(255))
        );
    }
}
