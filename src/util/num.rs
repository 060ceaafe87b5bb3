//! Number parsing and formatting with Redis 7.0's exact rules.
//!
//! - [`parse_i64`]: `string2ll()` — the strict integer syntax behind every
//!   "value is not an integer or out of range".
//! - [`parse_f64`]: `string2d()` / `getDoubleFromObject()` — strtod syntax
//!   (so `inf`, `1e3`, `0x1p4` are accepted) minus leading whitespace,
//!   trailing bytes, overflow, underflow to zero and NaN.
//! - [`incr_by_float`]: `INCRBYFLOAT`, which Redis computes in C
//!   `long double` and prints with `"%.17Lf"` minus trailing zeros.
//! - [`format_f64`]: `"%.17g"`, Redis 7.0's double replies (`ZSCORE`,
//!   `ZINCRBY`, `WITHSCORES`, ...).
//!
//! Rust has no `long double` and its float parsing/printing differs from
//! glibc's at the edges, so the float conversions go through a small C file,
//! csrc/longdouble.c, compiled by build.rs. On x86-64 `long double` is the
//! 80-bit x87 type, as in the redis-server builds we compare against; on
//! other targets results follow that target's `long double`, as Redis's do.

use std::ffi::{c_char, c_int};
use std::fmt;

/// Redis's `MAX_LONG_DOUBLE_CHARS`: an `INCRBYFLOAT` operand this long or
/// longer is "not a valid float".
pub const MAX_LONG_DOUBLE_CHARS: usize = 5 * 1024;

/// Redis's `LONG_STR_SIZE`: `string2ll` rejects inputs this long or longer
/// (the longest `i64`, `-9223372036854775808`, has 20 bytes).
const LONG_STR_SIZE: usize = 21;

/// Inputs up to this length are copied to the stack before calling strtod.
const STACK_PARSE_LEN: usize = 64;

/// Room for any `"%.17g"` output (at most 24 bytes, e.g.
/// `-2.2250738585072014e-308`) plus the terminator.
const DOUBLE_STR_CAP: usize = 32;

const ERR_NOT_FLOAT: c_int = -1;
const ERR_NAN_OR_INF: c_int = -2;

// Defined in csrc/longdouble.c; see the comments there for each contract.
unsafe extern "C" {
    fn ferrokv_incrbyfloat(
        cur: *const c_char,
        curlen: usize,
        incr: *const c_char,
        incrlen: usize,
        out: *mut c_char,
        outlen: usize,
    ) -> c_int;
    fn ferrokv_string2d(s: *const c_char, slen: usize, out: *mut f64) -> c_int;
    fn ferrokv_format_double(value: f64, out: *mut c_char, outlen: usize) -> c_int;
    fn ferrokv_timeout_ms(s: *const c_char, slen: usize, out_ms: *mut i64) -> c_int;
}

/// Why [`incr_by_float`] failed; `Display` gives Redis's reply text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IncrFloatError {
    /// The stored value or the increment does not parse as a float.
    NotFloat,
    /// The sum is NaN or infinite; the key must be left unchanged.
    NanOrInf,
}

impl IncrFloatError {
    /// The error reply Redis sends, without the leading `-`.
    pub fn message(self) -> &'static str {
        match self {
            IncrFloatError::NotFloat => "ERR value is not a valid float",
            IncrFloatError::NanOrInf => "ERR increment would produce NaN or Infinity",
        }
    }
}

impl fmt::Display for IncrFloatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

impl std::error::Error for IncrFloatError {}

/// Parses a signed 64-bit integer exactly as Redis's `string2ll`: optional
/// `-`, then `0` alone or a digit 1-9 followed by digits; no `+`, no
/// whitespace, no leading zeros, no `-0`, at most 20 bytes, no overflow.
pub fn parse_i64(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() >= LONG_STR_SIZE {
        return None;
    }
    if s == b"0" {
        return Some(0);
    }
    let (negative, digits) = match s.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, s),
    };
    match digits.first() {
        Some(b'1'..=b'9') => {}
        _ => return None,
    }
    let mut v: u64 = 0;
    if digits.len() <= 18 {
        // Cannot overflow: the common case (lengths, counts) without checked arithmetic.
        for &b in digits {
            let d = b.wrapping_sub(b'0');
            if d > 9 {
                return None;
            }
            v = v * 10 + u64::from(d);
        }
        let v = v as i64;
        return Some(if negative { -v } else { v });
    }
    for &b in digits {
        if !b.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
    }
    if negative {
        // Covers i64::MIN, whose magnitude does not fit in i64.
        0i64.checked_sub_unsigned(v)
    } else {
        i64::try_from(v).ok()
    }
}

/// Parses a double exactly as Redis's `getDoubleFromObject` (`string2d`):
/// glibc `strtod` syntax (`1e3`, `.5`, `+1`, `inf`, `-infinity`, hex floats)
/// over the whole input; `None` for the empty string, leading whitespace,
/// trailing bytes (including NUL), NaN, overflow to ±inf and underflow to 0.
pub fn parse_f64(s: &[u8]) -> Option<f64> {
    if s.is_empty() {
        return None;
    }
    // strtod needs a NUL-terminated string.
    let mut stack = [0u8; STACK_PARSE_LEN + 1];
    let mut heap = Vec::new();
    let buf: &[u8] = if s.len() <= STACK_PARSE_LEN {
        stack[..s.len()].copy_from_slice(s);
        &stack[..=s.len()]
    } else {
        heap.reserve_exact(s.len() + 1);
        heap.extend_from_slice(s);
        heap.push(0);
        &heap
    };
    let mut out = 0f64;
    // SAFETY: `buf` holds `s.len()` readable bytes followed by a NUL, which
    // bounds strtod's scan; `out` is a valid place for one f64.
    let ok = unsafe { ferrokv_string2d(buf.as_ptr().cast(), s.len(), &mut out) };
    (ok == 1).then_some(out)
}

/// Computes `INCRBYFLOAT`: `current + incr` in C `long double`, formatted as
/// Redis stores and replies it (`"%.17Lf"`, trailing zeros and `.` removed,
/// `-0` written `0`).
///
/// For a missing key pass `b"0"` (Redis adds to 0 then). The stored value is
/// checked before the increment; both fail with [`IncrFloatError::NotFloat`]
/// when empty, at least [`MAX_LONG_DOUBLE_CHARS`] long, or not a float by
/// `strtold` rules (see [`parse_f64`]).
pub fn incr_by_float(current: &[u8], incr: &[u8]) -> Result<Vec<u8>, IncrFloatError> {
    if current.len() >= MAX_LONG_DOUBLE_CHARS || incr.len() >= MAX_LONG_DOUBLE_CHARS {
        return Err(IncrFloatError::NotFloat);
    }
    let mut out = [0u8; MAX_LONG_DOUBLE_CHARS];
    // SAFETY: each (pointer, length) pair describes a live slice, and the C
    // side copies at most that many bytes (fewer than MAX_LONG_DOUBLE_CHARS,
    // checked above) into its own NUL-terminated buffer, so neither input
    // needs a terminator; `out` is writable for `out.len()` bytes and the C
    // side never writes more.
    let n = unsafe {
        ferrokv_incrbyfloat(
            current.as_ptr().cast(),
            current.len(),
            incr.as_ptr().cast(),
            incr.len(),
            out.as_mut_ptr().cast(),
            out.len(),
        )
    };
    match n {
        ERR_NOT_FLOAT => Err(IncrFloatError::NotFloat),
        ERR_NAN_OR_INF => Err(IncrFloatError::NanOrInf),
        // The output always fits (at most ~4952 bytes for the largest long
        // double), so the only other negative, "no room", cannot happen;
        // Redis would store an empty string in that case.
        n => Ok(usize::try_from(n).map_or_else(|_| Vec::new(), |n| out[..n].to_vec())),
    }
}

/// Formats `v` like C's `"%.17g"`, as Redis 7.0 replies with doubles:
/// `1.5` → `"1.5"`, `0.1` → `"0.10000000000000001"`, `1e20` → `"1e+20"`,
/// `3.0` → `"3"`, `-0.0` → `"-0"`, infinities `"inf"` / `"-inf"`.
pub fn format_f64(v: f64) -> String {
    // Integral values below 1e17 have at most 17 digits, which "%.17g"
    // prints exactly and without exponent: skip libc for them (-0.0 keeps
    // its sign in "%.17g", so it takes the libc path).
    if v.fract() == 0.0 && v.abs() < 1e17 && !(v == 0.0 && v.is_sign_negative()) {
        return (v as i64).to_string();
    }
    format_f64_libc(v)
}

fn format_f64_libc(v: f64) -> String {
    let mut out = [0u8; DOUBLE_STR_CAP];
    // SAFETY: `out` is writable for `out.len()` bytes; snprintf never writes
    // more than the length it is given.
    let n = unsafe { ferrokv_format_double(v, out.as_mut_ptr().cast(), out.len()) };
    let n = usize::try_from(n).unwrap_or(0);
    out[..n].iter().map(|&b| char::from(b)).collect()
}

/// Parses a blocking command's timeout in seconds as Redis 7.0 does
/// (`getTimeoutFromObjectOrReply` with `UNIT_SECONDS`): a C `long double` by `strtold` rules
/// (see [`parse_f64`]; hex and `inf` accepted), times 1000, rounded up, as milliseconds.
/// `None` when it is not a float. The result may be negative (the caller rejects it): values
/// beyond the `i64` range, infinities included, give `i64::MIN` as on Redis's x86-64 builds,
/// while small negative values such as `-0.0001` round up to 0 (no timeout).
pub fn parse_timeout_ms(s: &[u8]) -> Option<i64> {
    let mut ms = 0i64;
    // SAFETY: `s` is readable for `s.len()` bytes (the C side copies it into a NUL-terminated
    // buffer and reads nothing else); `ms` is a valid place for one i64.
    let ok = unsafe { ferrokv_timeout_ms(s.as_ptr().cast(), s.len(), &mut ms) };
    (ok == 1).then_some(ms)
}

/// Parses a score-range bound as Redis's `zslParseRange` does: C `strtod` over the bytes up
/// to the first NUL, which must all be consumed, and the result must not be NaN. Looser than
/// [`parse_f64`]: leading whitespace, the empty string (0), overflow (±inf) and underflow are
/// accepted, as Redis accepts them in `ZRANGEBYSCORE` & co.
pub fn parse_f64_strtod(s: &[u8]) -> Option<f64> {
    let s = &s[..s.iter().position(|&b| b == 0).unwrap_or(s.len())];
    let mut buf = Vec::with_capacity(s.len() + 1);
    buf.extend_from_slice(s);
    buf.push(0);
    let mut end: *mut std::ffi::c_char = std::ptr::null_mut();
    // SAFETY: `buf` is NUL-terminated and outlives the call; strtod reads up to the NUL and
    // stores into `end` a pointer into `buf`.
    let v = unsafe { libc::strtod(buf.as_ptr().cast(), &mut end) };
    let consumed = end as usize - buf.as_ptr() as usize;
    (consumed == s.len() && !v.is_nan()).then_some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_parse_like_redis_7_0() {
        // Each checked against redis-server 7.0.15's BLPOP.
        assert_eq!(parse_timeout_ms(b"1"), Some(1000));
        assert_eq!(parse_timeout_ms(b"0.1"), Some(100));
        assert_eq!(parse_timeout_ms(b".5"), Some(500));
        assert_eq!(parse_timeout_ms(b"+1"), Some(1000));
        assert_eq!(parse_timeout_ms(b"0x10"), Some(16_000));
        assert_eq!(parse_timeout_ms(b"1e-300"), Some(1));
        assert_eq!(parse_timeout_ms(b"-0"), Some(0));
        assert_eq!(parse_timeout_ms(b"-0.0001"), Some(0));
        // -0.001 is not exact: times 1000 it is just above -1, which rounds up to 0.
        assert_eq!(parse_timeout_ms(b"-0.001"), Some(0));
        assert_eq!(parse_timeout_ms(b"-0.002"), Some(-1));
        assert_eq!(
            parse_timeout_ms(b"9223372036854775"),
            Some(9223372036854775000)
        );
        assert_eq!(parse_timeout_ms(b"9223372036854776"), Some(i64::MIN));
        assert_eq!(parse_timeout_ms(b"inf"), Some(i64::MIN));
        assert_eq!(parse_timeout_ms(b"-inf"), Some(i64::MIN));
        for bad in [&b""[..], b" 1", b"1 ", b"nan", b"abc", b"1\x000"] {
            assert_eq!(parse_timeout_ms(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn parse_i64_redis_util_cases() {
        // src/util.c test_string2ll
        assert_eq!(parse_i64(b"+1"), None);
        assert_eq!(parse_i64(b" 1"), None);
        assert_eq!(parse_i64(b"1 "), None);
        assert_eq!(parse_i64(b"01"), None);
        assert_eq!(parse_i64(b"-1"), Some(-1));
        assert_eq!(parse_i64(b"0"), Some(0));
        assert_eq!(parse_i64(b"1"), Some(1));
        assert_eq!(parse_i64(b"99"), Some(99));
        assert_eq!(parse_i64(b"-99"), Some(-99));
        assert_eq!(parse_i64(b"-9223372036854775808"), Some(i64::MIN));
        assert_eq!(parse_i64(b"-9223372036854775809"), None);
        assert_eq!(parse_i64(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_i64(b"9223372036854775808"), None);
    }

    #[test]
    fn parse_i64_edges() {
        for bad in [
            &b""[..],
            b"-",
            b"-0",
            b"00",
            b"-01",
            b"1.0",
            b"1e3",
            b"0x10",
            b"\t1",
            b"1\n",
            b"1\x002",
            b"--1",
            b"\xd9\xa1",
            b"18446744073709551615",
            b"18446744073709551616",
            b"99999999999999999999",
            b"-18446744073709551616",
            b"123456789012345678901",
        ] {
            assert_eq!(parse_i64(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
        assert_eq!(parse_i64(b"10"), Some(10));
        assert_eq!(parse_i64(b"-9223372036854775807"), Some(-i64::MAX));
        assert_eq!(parse_i64(b"1000000000000000000"), Some(10i64.pow(18)));
    }

    #[test]
    fn parse_i64_round_trips() {
        let mut x = 0x2545_F491_4F6C_DD1Du64;
        for _ in 0..10_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let v = x as i64 >> (x % 64);
            assert_eq!(parse_i64(v.to_string().as_bytes()), Some(v));
        }
    }

    #[test]
    fn parse_f64_accepts_strtod_syntax() {
        let cases: &[(&[u8], f64)] = &[
            (b"0", 0.0),
            (b"1", 1.0),
            (b"-1.5", -1.5),
            (b"+1.5", 1.5),
            (b"1e3", 1000.0),
            (b"1E-3", 0.001),
            (b".5", 0.5),
            (b"5.", 5.0),
            (b"0x10", 16.0),
            (b"0x1p-2", 0.25),
            (b"inf", f64::INFINITY),
            (b"+inf", f64::INFINITY),
            (b"-inf", f64::NEG_INFINITY),
            (b"INF", f64::INFINITY),
            (b"Infinity", f64::INFINITY),
            (b"-infinity", f64::NEG_INFINITY),
            (b"1.7976931348623157e308", f64::MAX),
            (b"4.9406564584124654e-324", 5e-324), // subnormal: ERANGE but not 0
            (b"0e-999", 0.0),
            (b"0.1", 0.1),
            (b"9007199254740993", 9007199254740992.0),
        ];
        for &(s, expected) in cases {
            let got = parse_f64(s);
            assert_eq!(got, Some(expected), "{:?}", String::from_utf8_lossy(s));
        }
        let neg_zero = parse_f64(b"-0").unwrap();
        assert!(neg_zero == 0.0 && neg_zero.is_sign_negative());
        // Longer than the stack buffer.
        let long = format!("0.{}1", "0".repeat(200));
        assert_eq!(parse_f64(long.as_bytes()), Some(1e-201));
        let long_int = format!("{}1", "0".repeat(100));
        assert_eq!(parse_f64(long_int.as_bytes()), Some(1.0));
    }

    #[test]
    fn parse_f64_rejects() {
        for bad in [
            &b""[..],
            b" 1",
            b"\t1",
            b"\n1",
            b"1 ",
            b"1x",
            b"1\x00",
            b"\x001",
            b"nan",
            b"-nan",
            b"NaN",
            b"nan(123)",
            b"1e400",
            b"-1e400",
            b"1e-400",
            b"-",
            b"+",
            b".",
            b"e3",
            b"abc",
            b"1,5",
            b"infinit",
            b"0x",
        ] {
            assert_eq!(parse_f64(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
        let long_bad = format!("1{}x", "0".repeat(100));
        assert_eq!(parse_f64(long_bad.as_bytes()), None);
    }

    fn incr(cur: &str, by: &str) -> Result<String, IncrFloatError> {
        incr_by_float(cur.as_bytes(), by.as_bytes()).map(|v| String::from_utf8(v).unwrap())
    }

    /// Expected values are redis-server 7.0.15's INCRBYFLOAT replies.
    #[test]
    fn incr_by_float_matches_redis() {
        let ok: &[(&str, &str, &str)] = &[
            ("10.50", "0.1", "10.6"),
            ("0.1", "0.2", "0.3"),
            ("5.0e3", "2.0e2", "5200"),
            ("3", "1.5", "4.5"),
            ("17179869184", "1.5", "17179869185.5"),
            ("-0", "-0", "0"),
            ("0", "-0", "0"),
            ("1", "-1.00000000000000000001", "0"),
            ("0", "-1e-20", "0"),
            ("0", "1e-20", "0"),
            ("0", "+1", "1"),
            ("0", "0x10", "16"),
            ("0", "1e-4940", "0"),
            ("0", "1.5e30", "1500000000000000000002684354560"),
            ("0", "-1.1", "-1.1"),
            ("0", "0.1", "0.1"),
            ("0", ".5", "0.5"),
            ("0", "5.", "5"),
            ("0", "-.5e1", "-5"),
            ("1e300", "0", "1000000000000000000008997324079559193870523944273290747938260082321265646596180935755849152083750497190350372508614274835903592556184672983913096260520748646287327135641843653294084255107606016789726652932370030551382947620994540294772781889620606179267611627097410650567187386105690089424915104006144"),
        ];
        for &(cur, by, expected) in ok {
            assert_eq!(incr(cur, by).as_deref(), Ok(expected), "{cur} + {by}");
        }
        let not_float: &[(&str, &str)] = &[
            ("0", "1e-5000"),
            ("0", " 1"),
            ("0", "1 "),
            ("0", "nan"),
            ("", "1"),
            ("1", ""),
            ("abc", "1"),
            ("1", "1\0"),
        ];
        for &(cur, by) in not_float {
            assert_eq!(
                incr(cur, by),
                Err(IncrFloatError::NotFloat),
                "{cur:?} + {by:?}"
            );
        }
        let nan_inf: &[(&str, &str)] = &[
            ("0", "inf"),
            ("1", "infinity"),
            ("inf", "-inf"),
            ("1.18e4932", "1.18e4932"),
        ];
        for &(cur, by) in nan_inf {
            assert_eq!(incr(cur, by), Err(IncrFloatError::NanOrInf), "{cur} + {by}");
        }
    }

    #[test]
    fn incr_by_float_extremes() {
        // 1e4000 overflows a double but not a long double.
        let big = incr("1e4000", "0").unwrap();
        assert_eq!(big.len(), 4000);
        assert!(big.starts_with("99999999999999999999654638730996"));
        // The largest long double still formats (4933 digits).
        let max = incr("1.18e4932", "0").unwrap();
        assert_eq!(max.len(), 4933);
        // Operand length limit: 5119 bytes is allowed, 5120 is not.
        let ok_len = format!("{}1", "0".repeat(MAX_LONG_DOUBLE_CHARS - 2));
        assert_eq!(ok_len.len(), MAX_LONG_DOUBLE_CHARS - 1);
        assert_eq!(incr(&ok_len, "1").as_deref(), Ok("2"));
        let too_long = format!("0{ok_len}");
        assert_eq!(incr(&too_long, "1"), Err(IncrFloatError::NotFloat));
        assert_eq!(incr("1", &too_long), Err(IncrFloatError::NotFloat));
        // Binary garbage, embedded NUL.
        assert_eq!(
            incr_by_float(b"\xff\xfe", b"1"),
            Err(IncrFloatError::NotFloat)
        );
        assert_eq!(
            incr_by_float(b"1\x002", b"1"),
            Err(IncrFloatError::NotFloat)
        );
    }

    #[test]
    fn incr_float_error_texts() {
        assert_eq!(
            IncrFloatError::NotFloat.to_string(),
            "ERR value is not a valid float"
        );
        assert_eq!(
            IncrFloatError::NanOrInf.to_string(),
            "ERR increment would produce NaN or Infinity"
        );
    }

    #[test]
    fn format_f64_matches_printf() {
        let cases: &[(f64, &str)] = &[
            (1.5, "1.5"),
            (0.1, "0.10000000000000001"),
            (1e20, "1e+20"),
            (3.0, "3"),
            (0.0, "0"),
            (-0.0, "-0"),
            (-3.0, "-3"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
            (1e16, "10000000000000000"),
            (1e17, "1e+17"),
            (123456789012345680.0, "1.2345678901234568e+17"),
            (99999999999999984.0, "99999999999999984"),
            (9007199254740993.0, "9007199254740992"),
            (1e-5, "1.0000000000000001e-05"),
            (0.0001, "0.0001"),
            (f64::MAX, "1.7976931348623157e+308"),
            (f64::MIN_POSITIVE, "2.2250738585072014e-308"),
            (-f64::MIN_POSITIVE, "-2.2250738585072014e-308"),
            (5e-324, "4.9406564584124654e-324"),
            (2.5, "2.5"),
            (-1.1, "-1.1000000000000001"),
        ];
        for &(v, expected) in cases {
            assert_eq!(format_f64(v), expected, "{v:e}");
        }
    }

    #[test]
    fn format_f64_fast_path_agrees_with_libc() {
        let mut x = 0x853C_49E6_748F_EA9Bu64;
        let mut values = vec![
            0.0,
            1.0,
            -1.0,
            1e17 - 16.0,
            -(1e17 - 16.0),
            1e15,
            2f64.powi(53),
        ];
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let v = (x as i64 >> (x % 64)) as f64;
            values.push(v);
            values.push(f64::from_bits(x));
        }
        for v in values {
            if v.is_nan() {
                continue;
            }
            assert_eq!(format_f64(v), format_f64_libc(v), "{v:e}");
        }
    }

    #[test]
    fn format_f64_round_trips_through_parse_f64() {
        for v in [0.1, 1.0 / 3.0, 1e-300, 6.02214076e23, -2.5e-10, 5e-324] {
            assert_eq!(parse_f64(format_f64(v).as_bytes()), Some(v));
        }
    }

    #[test]
    fn strtod_bounds_follow_zsl_parse_range() {
        assert_eq!(parse_f64_strtod(b"1.5"), Some(1.5));
        assert_eq!(parse_f64_strtod(b""), Some(0.0));
        assert_eq!(parse_f64_strtod(b" 1"), Some(1.0));
        assert_eq!(parse_f64_strtod(b"0x10"), Some(16.0));
        assert_eq!(parse_f64_strtod(b"1e400"), Some(f64::INFINITY));
        assert_eq!(parse_f64_strtod(b"-inf"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_f64_strtod(b"2\0junk"), Some(2.0));
        assert_eq!(parse_f64_strtod(b"1 "), None);
        assert_eq!(parse_f64_strtod(b"nan"), None);
        assert_eq!(parse_f64_strtod(b"abc"), None);
    }
}
