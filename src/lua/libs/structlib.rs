//! `struct`: Roberto Ierusalimschy's struct library (struct.c 1.7, 2018) as Redis 7.0 bundles it.
//!
//! `struct.pack(fmt, ...)`, `struct.unpack(fmt, s [, init])` (the values, then the position after
//! the last byte read) and `struct.size(fmt)`. Format options: `>` big endian, `<` little endian
//! (the default is the native order, little endian on the platforms Redis runs on), `![n]`
//! alignment (default 8), `x` a zero byte, `b`/`B` char, `h`/`H` short, `l`/`L` long (8 bytes),
//! `T` size_t, `i[n]`/`I[n]` n-byte integers (default 4, at most 32), `f` float, `d` double,
//! `s` zero-terminated string, `c[n]` n chars (`c0`: the whole string when packing, the length
//! read just before when unpacking); spaces are ignored and the format ends at a NUL byte. This
//! version has no `=` option (it is an invalid option, as in Redis).
//!
//! The C quirks are kept on purpose: integers wider than 8 bytes carry only 64 bits, numbers are
//! converted to integers with x86-64's C casts, a string too short for `c<n>` names the argument
//! after it, and a missing argument reads as the `nil` C's `pack` keeps on its stack. No known
//! divergence.

use mlua::{Lua, Table, Value};

use super::{c_double_to_i64, c_double_to_u64};
use super::{
    check_bytes, check_number, lib_function, Args, Failure, LibResult, Results, MAX_C_STACK,
};

/// Largest size of an `i`/`I` integer.
const MAX_INT_SIZE: usize = 32;
/// Default of `!`: the strictest alignment of the platform (that of a double).
const MAX_ALIGN: usize = 8;

pub(super) fn open(lua: &Lua) -> mlua::Result<Table> {
    let table = lua.create_table_with_capacity(0, 3)?;
    table.raw_set("pack", lib_function(lua, pack)?)?;
    table.raw_set("unpack", lib_function(lua, unpack)?)?;
    table.raw_set("size", lib_function(lua, size)?)?;
    Ok(table)
}

/// Byte order and maximum alignment, changed by `<`, `>` and `!` as the format goes.
struct Header {
    little_endian: bool,
    align: usize,
}

impl Header {
    fn new() -> Header {
        Header {
            little_endian: cfg!(target_endian = "little"),
            align: 1,
        }
    }
}

/// A format string read option by option; it ends at its end or at a NUL byte, as a C string.
struct Format<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Format<'_> {
    fn new(bytes: &[u8]) -> Format<'_> {
        Format { bytes, pos: 0 }
    }

    fn next_option(&mut self) -> Option<u8> {
        let option = self.bytes.get(self.pos).copied().filter(|&b| b != 0)?;
        self.pos += 1;
        Some(option)
    }

    fn peek_digit(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied().filter(u8::is_ascii_digit)
    }

    /// The decimal number at the current position (a C `int`), or `default` when there is none.
    fn number(&mut self, default: usize) -> LibResult<usize> {
        if self.peek_digit().is_none() {
            return Ok(default);
        }
        let mut value: i32 = 0;
        while let Some(digit) = self.peek_digit() {
            let digit = i32::from(digit - b'0');
            value = value
                .checked_mul(10)
                .and_then(|v| v.checked_add(digit))
                .ok_or_else(|| Failure::error("integral size overflow"))?;
            self.pos += 1;
        }
        Ok(value.unsigned_abs() as usize)
    }

    /// The size of an option's item (reading its digits), 0 for options without one.
    fn item_size(&mut self, option: u8) -> LibResult<usize> {
        Ok(match option {
            b'B' | b'b' | b'x' => 1,
            b'H' | b'h' => 2,
            b'f' => 4,
            b'L' | b'l' | b'T' | b'd' => 8,
            b'c' => self.number(1)?,
            b'i' | b'I' => {
                let size = self.number(4)?;
                if size > MAX_INT_SIZE {
                    return Err(Failure::error(format!(
                        "integral size {size} is larger than limit of {MAX_INT_SIZE}"
                    )));
                }
                size
            }
            _ => 0,
        })
    }

    /// Options that only change the header: ` `, `>`, `<`, `!n`; anything else is invalid.
    fn control(&mut self, option: u8, header: &mut Header) -> LibResult<()> {
        match option {
            b' ' => {}
            b'>' => header.little_endian = false,
            b'<' => header.little_endian = true,
            b'!' => {
                let align = self.number(MAX_ALIGN)?;
                if !align.is_power_of_two() {
                    return Err(Failure::error(format!(
                        "alignment {align} is not a power of 2"
                    )));
                }
                header.align = align;
            }
            _ => {
                let mut message = b"invalid format option '".to_vec();
                message.push(option);
                message.push(b'\'');
                return Err(Failure::arg(1, message));
            }
        }
        Ok(())
    }
}

/// Padding that aligns an item of `size` bytes at offset `len` (chars are never aligned).
fn padding(len: usize, header: &Header, option: u8, size: usize) -> usize {
    if size == 0 || option == b'c' {
        return 0;
    }
    let size = size.min(header.align);
    (size.wrapping_sub(len & (size - 1))) & (size - 1)
}

fn is_integer_option(option: u8) -> bool {
    matches!(
        option,
        b'b' | b'B' | b'h' | b'H' | b'l' | b'L' | b'T' | b'i' | b'I'
    )
}

/// `struct.pack(fmt, ...)`.
fn pack(lua: &Lua, args: &Args) -> LibResult<Results> {
    let fmt = args.check_bytes(lua, 1)?;
    let fmt = fmt.as_bytes();
    let mut format = Format::new(&fmt);
    let mut header = Header::new();
    let mut out = Vec::new();
    let mut narg = 2;
    while let Some(option) = format.next_option() {
        let size = format.item_size(option)?;
        out.resize(out.len() + padding(out.len(), &header, option, size), 0);
        match option {
            _ if is_integer_option(option) => {
                let n = check_number(lua, narg, pack_arg(args, narg)?.as_ref())?;
                narg += 1;
                put_integer(&mut out, n, header.little_endian, size);
            }
            b'x' => out.push(0),
            b'f' => {
                let n = check_number(lua, narg, pack_arg(args, narg)?.as_ref())? as f32;
                narg += 1;
                put_ordered(&mut out, &n.to_le_bytes(), header.little_endian);
            }
            b'd' => {
                let n = check_number(lua, narg, pack_arg(args, narg)?.as_ref())?;
                narg += 1;
                put_ordered(&mut out, &n.to_le_bytes(), header.little_endian);
            }
            b'c' | b's' => {
                let text = check_bytes(lua, narg, pack_arg(args, narg)?.as_ref())?;
                let text = text.as_bytes();
                narg += 1;
                let size = if size == 0 { text.len() } else { size };
                let Some(chars) = text.get(..size) else {
                    return Err(Failure::arg(narg, "string too short"));
                };
                out.extend_from_slice(chars);
                if option == b's' {
                    out.push(0);
                }
            }
            _ => format.control(option, &mut header)?,
        }
    }
    Ok(Results::one(Value::String(lua.create_string(out)?)))
}

/// An argument as C's `pack` sees its stack: just past the arguments sits a `nil` it pushed.
fn pack_arg(args: &Args, narg: usize) -> mlua::Result<Option<Value>> {
    if narg == args.count() + 1 {
        return Ok(Some(Value::Nil));
    }
    args.get(narg)
}

/// Writes the low `size` bytes of `n` as an integer (wider sizes get zero bytes past the 8th).
fn put_integer(out: &mut Vec<u8>, n: f64, little_endian: bool, size: usize) {
    let value = if n < 0.0 {
        c_double_to_i64(n) as u64
    } else {
        c_double_to_u64(n)
    };
    let byte_at = |i: usize| if i < 8 { (value >> (8 * i)) as u8 } else { 0 };
    if little_endian {
        out.extend((0..size).map(byte_at));
    } else {
        out.extend((0..size).rev().map(byte_at));
    }
}

/// Appends little-endian `bytes` in the requested order.
fn put_ordered(out: &mut Vec<u8>, bytes: &[u8], little_endian: bool) {
    if little_endian {
        out.extend_from_slice(bytes);
    } else {
        out.extend(bytes.iter().rev());
    }
}

/// `struct.unpack(fmt, s [, init])`.
fn unpack(lua: &Lua, args: &Args) -> LibResult<Results> {
    let fmt = args.check_bytes(lua, 1)?;
    let fmt = fmt.as_bytes();
    let data = args.check_bytes(lua, 2)?;
    let data = data.as_bytes();
    let init = args.opt_integer(lua, 3, 1)? as usize;
    if init == 0 {
        return Err(Failure::arg(3, "offset must be 1 or greater"));
    }
    let mut pos = init - 1;
    let mut format = Format::new(&fmt);
    let mut header = Header::new();
    let mut results = Results::new();
    while let Some(option) = format.next_option() {
        let mut size = format.item_size(option)?;
        pos = pos.wrapping_add(padding(pos, &header, option, size));
        check_room(data.len(), pos, size)?;
        if args.count() + results.len() + 2 > MAX_C_STACK {
            return Err(Failure::stack_overflow("too many results"));
        }
        match option {
            _ if is_integer_option(option) => {
                let signed = option.is_ascii_lowercase();
                let n = get_integer(&data[pos..pos + size], header.little_endian, signed);
                results.push(lua, Value::Number(n))?;
            }
            b'x' => {}
            b'f' => {
                let bytes = ordered::<4>(&data[pos..pos + 4], header.little_endian);
                results.push(lua, Value::Number(f32::from_le_bytes(bytes).into()))?;
            }
            b'd' => {
                let bytes = ordered::<8>(&data[pos..pos + 8], header.little_endian);
                results.push(lua, Value::Number(f64::from_le_bytes(bytes)))?;
            }
            b'c' => {
                if size == 0 {
                    size = previous_size(lua, &mut results)?;
                    check_room(data.len(), pos, size)?;
                }
                let chars = lua.create_string(&data[pos..pos + size])?;
                results.push(lua, Value::String(chars))?;
            }
            b's' => {
                let Some(len) = data[pos..].iter().position(|&b| b == 0) else {
                    return Err(Failure::error("unfinished string in data"));
                };
                results.push(
                    lua,
                    Value::String(lua.create_string(&data[pos..pos + len])?),
                )?;
                size = len + 1;
            }
            _ => format.control(option, &mut header)?,
        }
        pos = pos.wrapping_add(size);
    }
    results.push(lua, Value::Number(pos.wrapping_add(1) as i64 as f64))?;
    Ok(results)
}

/// Fails unless `size` bytes can be read at `pos` of a string of `len` bytes.
fn check_room(len: usize, pos: usize, size: usize) -> LibResult<()> {
    if size <= len && pos <= len - size {
        Ok(())
    } else {
        Err(Failure::arg(2, "data string too short"))
    }
}

/// `c0` when unpacking: the previous result, a number (or numeric string), is the length; it is
/// consumed.
fn previous_size(lua: &Lua, results: &mut Results) -> LibResult<usize> {
    let size = match results.last()? {
        Some(value) => super::to_number(lua, Some(&value))?,
        None => None,
    };
    let size = size.ok_or_else(|| Failure::error("format 'c0' needs a previous size"))?;
    results.pop()?;
    Ok(c_double_to_u64(size) as usize)
}

/// `N` bytes as little endian, from data in the given order.
fn ordered<const N: usize>(data: &[u8], little_endian: bool) -> [u8; N] {
    let mut bytes = [0; N];
    bytes.copy_from_slice(&data[..N]);
    if !little_endian {
        bytes.reverse();
    }
    bytes
}

/// Reads an integer of `data.len()` bytes; only the last 64 bits read are kept, and the sign
/// mask is computed with the C shift (its count modulo 64 for sizes over 8).
fn get_integer(data: &[u8], little_endian: bool, signed: bool) -> f64 {
    let accumulate = |acc: u64, &byte: &u8| (acc << 8) | u64::from(byte);
    let value = if little_endian {
        data.iter().rev().fold(0, accumulate)
    } else {
        data.iter().fold(0, accumulate)
    };
    if !signed {
        return value as f64;
    }
    let sign_bit = (data.len() as i64 * 8 - 1) as u32;
    let mask = u64::MAX.wrapping_shl(sign_bit);
    let value = if value & mask != 0 {
        value | mask
    } else {
        value
    };
    value as i64 as f64
}

/// `struct.size(fmt)`.
fn size(lua: &Lua, args: &Args) -> LibResult<Results> {
    let fmt = args.check_bytes(lua, 1)?;
    let fmt = fmt.as_bytes();
    let mut format = Format::new(&fmt);
    let mut header = Header::new();
    let mut pos: usize = 0;
    while let Some(option) = format.next_option() {
        let size = format.item_size(option)?;
        pos = pos.wrapping_add(padding(pos, &header, option, size));
        if option == b's' {
            return Err(Failure::arg(1, "option 's' has no fixed size"));
        }
        if option == b'c' && size == 0 {
            return Err(Failure::arg(1, "option 'c0' has no fixed size"));
        }
        if !option.is_ascii_alphanumeric() {
            format.control(option, &mut header)?;
        }
        pos = pos.wrapping_add(size);
    }
    Ok(Results::number(pos as i64 as f64))
}

#[cfg(test)]
mod tests {
    use crate::lua::libs::test_support::check_all;

    /// Expected values from Redis 7.0.15.
    #[test]
    fn pack_matches_redis() {
        check_all(&[
            ("hex(struct.pack(\">i\", -2))", "fffffffe"),
            (
                "hex(struct.pack(\"<i16\", -1))",
                "ffffffffffffffff0000000000000000",
            ),
            (
                "hex(struct.pack(\">i16\", -1))",
                "0000000000000000ffffffffffffffff",
            ),
            ("hex(struct.pack(\">I3\", 2^24+5))", "000005"),
            ("hex(struct.pack(\"<L\", 0/0))", "0000000000000080"),
            ("hex(struct.pack(\"<L\", 2^64))", "0000000000000000"),
            ("hex(struct.pack(\"<L\", 2^63))", "0000000000000080"),
            ("hex(struct.pack(\"<l\", 2^63))", "0000000000000080"),
            ("hex(struct.pack(\"<l\", -2^63-5000))", "0000000000000080"),
            ("hex(struct.pack(\"<B\", 300))", "2c"),
            ("hex(struct.pack(\"<b\", -1.7))", "ff"),
            ("hex(struct.pack(\"<i\", 1.9))", "01000000"),
            ("hex(struct.pack(\"!4 b i\", 1, 2))", "0100000002000000"),
            (
                "hex(struct.pack(\"!b d\", 1, 2))",
                "01000000000000000000000000000040",
            ),
            (
                "hex(struct.pack(\"!2 b i3 i\", 1, 2, 3))",
                "01000200000003000000",
            ),
            (
                "hex(struct.pack(\"s c0 c2\", \"a\\0b\", \"xyz\", \"qrs\"))",
                "6100620078797a7172",
            ),
            ("hex(struct.pack(\"i\", \"12\"))", "0c000000"),
            (
                "hex(struct.pack(\">f d\", 1.5, -0.1))",
                "3fc00000bfb999999999999a",
            ),
            ("hex(struct.pack(\"<f\", 1e300))", "0000807f"),
            ("hex(struct.pack(\"<d\", -0.0))", "0000000000000080"),
            ("hex(struct.pack(\"xxb\", 1))", "000001"),
            ("hex(struct.pack(\"c\", 12))", "31"),
            ("hex(struct.pack(\"i\\0i\", 1, 2))", "01000000"),
            ("hex(struct.pack(\"! h\", 1))", "0100"),
            ("e(struct.pack, \"!\", 1)", "OK:"),
        ]);
    }

    #[test]
    fn unpack_matches_redis() {
        check_all(&[
            ("pk(struct.unpack(\">i\", \"\\255\\255\\255\\254\"))", "-2|5"),
            ("pk(struct.unpack(\"<i16\", string.rep(\"\\255\", 16)))", "-1|17"),
            ("pk(struct.unpack(\"<I9\", string.rep(\"\\255\", 9)))", "1.844674407371e+19|10"),
            ("pk(struct.unpack(\"<i9\", \"\\0\\0\\0\\0\\0\\0\\0\\0\\128\"))", "0|10"),
            ("pk(struct.unpack(\"<i9\", \"\\1\\0\\0\\0\\0\\0\\0\\128\\0\"))", "-127|10"),
            ("pk(struct.unpack(\"<i12\", \"\\1\\0\\0\\0\\0\\0\\0\\0\\0\\0\\0\\128\"))", "1|13"),
            ("pk(struct.unpack(\"<i0\", \"\"))", "0|1"),
            ("pk(struct.unpack(\"<L\", string.rep(\"\\255\", 8)))", "1.844674407371e+19|9"),
            ("pk(struct.unpack(\"<l\", string.rep(\"\\255\", 8)))", "-1|9"),
            ("pk(struct.unpack(\"b c0\", \"\\3abcdef\"))", "abc|5"),
            ("pk(struct.unpack(\"c1 c0\", \"3abcdef\"))", "abc|5"),
            ("pk(struct.unpack(\"s s\", \"ab\\0cd\\0\"))", "ab|cd|7"),
            ("pk(struct.unpack(\"b\", \"abcd\", 2.7))", "98|3"),
            ("pk(struct.unpack(\"!4 b i\", \"\\1\\0\\0\\0\\2\\0\\0\\0\"))", "1|2|9"),
            ("pk(struct.unpack(\"!4 b i\", \"xx\\1\\0\\0\\0\\2\\0\\0\\0\", 2))", "120|131072|9"),
            (
                "pk(struct.unpack(\">f d\", \"\\63\\192\\0\\0\\191\\185\\153\\153\\153\\153\\153\\154\"))",
                "1.5|-0.1|13",
            ),
            ("pk(struct.unpack(\"x b\", \"ab\"))", "98|3"),
            ("pk(struct.unpack(\"\", \"ab\"))", "1"),
            ("pk(struct.unpack(\"<\", \"\", 1))", "1"),
            ("pk(struct.unpack(\"i\", \"abcd\", \"1\"))", "1684234849|5"),
            ("pk(struct.unpack(\"d c0\", \"\\0\\0\\0\\0\\0\\0\\0\\64abc\"))", "ab|11"),
            ("pk(struct.unpack(\"d c0\", \"\\0\\0\\0\\0\\0\\0\\240\\127abc\"))", "|9"),
            ("(struct.unpack(\"d\", struct.pack(\"d\", -0.0)))", "-0"),
            ("select('#', struct.unpack(string.rep('b', 7997), string.rep('a', 7997)))", "7998"),
        ]);
    }

    #[test]
    fn size_matches_redis() {
        check_all(&[
            ("struct.size(\"!8 b d\")", "16"),
            ("struct.size(\"z\")", "0"),
            ("struct.size(\"i0 c3 !2 h\")", "6"),
            ("struct.size(\"<i3 >I7 T\")", "18"),
        ]);
    }

    #[test]
    fn errors_match_redis() {
        check_all(&[
            (
                "e(struct.pack, \"=i\", 1)",
                "E:bad argument #1 to '?' (invalid format option '=')",
            ),
            (
                "e(struct.pack, \"i33\", 1)",
                "E:integral size 33 is larger than limit of 32",
            ),
            (
                "e(struct.pack, \"!3i\", 1)",
                "E:alignment 3 is not a power of 2",
            ),
            (
                "e(struct.pack, \"i99999999999\", 1)",
                "E:integral size overflow",
            ),
            (
                "e(struct.pack, \"z\", 1)",
                "E:bad argument #1 to '?' (invalid format option 'z')",
            ),
            (
                "e(struct.pack, \"c5\", \"ab\")",
                "E:bad argument #3 to '?' (string too short)",
            ),
            (
                "e(struct.pack, \"i\")",
                "E:bad argument #2 to '?' (number expected, got nil)",
            ),
            (
                "e(struct.pack, \"ii\", 1)",
                "E:bad argument #3 to '?' (number expected, got nil)",
            ),
            (
                "e(struct.pack, \"iii\", 1)",
                "E:bad argument #3 to '?' (number expected, got nil)",
            ),
            (
                "e(struct.pack, \"i\", \"x\")",
                "E:bad argument #2 to '?' (number expected, got string)",
            ),
            (
                "e(struct.pack, \"s\", {})",
                "E:bad argument #2 to '?' (string expected, got table)",
            ),
            (
                "e(struct.pack)",
                "E:bad argument #1 to '?' (string expected, got no value)",
            ),
            (
                "e(struct.unpack, \"c0\", \"abc\")",
                "E:format 'c0' needs a previous size",
            ),
            (
                "e(struct.unpack, \"c1 c0\", \"xabc\")",
                "E:format 'c0' needs a previous size",
            ),
            (
                "e(struct.unpack, \"s\", \"ab\")",
                "E:unfinished string in data",
            ),
            (
                "e(struct.unpack, \"i\", \"ab\")",
                "E:bad argument #2 to '?' (data string too short)",
            ),
            (
                "e(struct.unpack, \"i\", \"abcd\", 0)",
                "E:bad argument #3 to '?' (offset must be 1 or greater)",
            ),
            (
                "e(struct.unpack, \"i\", \"abcd\", -1)",
                "E:bad argument #2 to '?' (data string too short)",
            ),
            (
                "e(struct.unpack, \"<\", \"\", 2)",
                "E:bad argument #2 to '?' (data string too short)",
            ),
            (
                "e(struct.unpack, \"i\", \"abcd\", \"z\")",
                "E:bad argument #3 to '?' (number expected, got string)",
            ),
            (
                "e(struct.unpack, \"i\", \"abcd\", 1e30)",
                "E:bad argument #2 to '?' (data string too short)",
            ),
            (
                "e(struct.unpack, \"b c0\", \"\\255abc\")",
                "E:bad argument #2 to '?' (data string too short)",
            ),
            (
                "e(struct.unpack, string.rep('b', 7998), string.rep('a', 7998))",
                "E:stack overflow (too many results)",
            ),
            (
                "e(struct.size, \"s\")",
                "E:bad argument #1 to '?' (option 's' has no fixed size)",
            ),
            (
                "e(struct.size, \"c0\")",
                "E:bad argument #1 to '?' (option 'c0' has no fixed size)",
            ),
            (
                "e(struct.size, \"=\")",
                "E:bad argument #1 to '?' (invalid format option '=')",
            ),
            (
                "e(function() return struct.unpack('c0', 'abc', 1) end)",
                "E:user_script:1: format 'c0' needs a previous size",
            ),
            (
                "e(function() return struct.pack('q') end)",
                "E:user_script:1: bad argument #1 to 'pack' (invalid format option 'q')",
            ),
        ]);
    }
}
