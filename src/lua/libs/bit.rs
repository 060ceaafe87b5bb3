//! `bit`: Mike Pall's LuaBitOp 1.0.2, as Redis 7.0 embeds it.
//!
//! Every operand is converted to a 32-bit integer the LuaBitOp way: the number plus 2^52+2^51,
//! whose low 32 mantissa bits are the operand modulo 2^32 (rounded to nearest even), and every
//! result is that integer read as signed. `tobit`, `tohex(x [,n])` (negative `n` for upper case,
//! at most 8 digits), `bnot`, variadic `band`/`bor`/`bxor`, `lshift`, `rshift`, `arshift`, `rol`,
//! `ror` (shift counts modulo 32) and `bswap`. Strings that convert to numbers are accepted, as
//! `lua_tonumber` does. No known divergence.

use mlua::{Lua, Table};

use super::{lib_function, Args, LibResult, Results};

/// 2^52 + 2^51: adding it leaves the integer part of a number in the low mantissa bits.
const TO_BIT_BIAS: f64 = 6_755_399_441_055_744.0;

/// The functions in the order `luaL_register` adds them (the table layout, and so `pairs`
/// order, depends on it).
pub(super) fn open(lua: &Lua) -> mlua::Result<Table> {
    let bit = lua.create_table_with_capacity(0, 12)?;
    bit.raw_set("tobit", unary(lua, |b| b)?)?;
    bit.raw_set("bnot", unary(lua, |b| !b)?)?;
    bit.raw_set("band", fold(lua, |a, b| a & b)?)?;
    bit.raw_set("bor", fold(lua, |a, b| a | b)?)?;
    bit.raw_set("bxor", fold(lua, |a, b| a ^ b)?)?;
    bit.raw_set("lshift", shift(lua, |b, n| b << n)?)?;
    bit.raw_set("rshift", shift(lua, |b, n| b >> n)?)?;
    bit.raw_set("arshift", shift(lua, |b, n| ((b as i32) >> n) as u32)?)?;
    bit.raw_set("rol", shift(lua, u32::rotate_left)?)?;
    bit.raw_set("ror", shift(lua, u32::rotate_right)?)?;
    bit.raw_set("bswap", unary(lua, u32::swap_bytes)?)?;
    bit.raw_set("tohex", lib_function(lua, tohex)?)?;
    Ok(bit)
}

/// Argument `narg` as LuaBitOp's `barg` converts it.
fn operand(lua: &Lua, args: &Args, narg: usize) -> LibResult<u32> {
    match args.to_number(lua, narg)? {
        Some(n) => Ok(to_bits(n)),
        None => Err(args.type_error(narg, "number")?),
    }
}

/// The number modulo 2^32, ties to even (NaN and infinities give 0).
fn to_bits(n: f64) -> u32 {
    (n + TO_BIT_BIAS).to_bits() as u32
}

fn bit_result(b: u32) -> Results {
    Results::number(f64::from(b as i32))
}

fn unary(lua: &Lua, op: fn(u32) -> u32) -> mlua::Result<mlua::Function> {
    lib_function(lua, move |lua, args| {
        Ok(bit_result(op(operand(lua, args, 1)?)))
    })
}

/// `band`/`bor`/`bxor`: the first operand, then the others from the last one down, as LuaBitOp
/// reads them (which decides the argument an error names).
fn fold(lua: &Lua, op: fn(u32, u32) -> u32) -> mlua::Result<mlua::Function> {
    lib_function(lua, move |lua, args| {
        let mut acc = operand(lua, args, 1)?;
        for narg in (2..=args.count()).rev() {
            acc = op(acc, operand(lua, args, narg)?);
        }
        Ok(bit_result(acc))
    })
}

fn shift(lua: &Lua, op: fn(u32, u32) -> u32) -> mlua::Result<mlua::Function> {
    lib_function(lua, move |lua, args| {
        let b = operand(lua, args, 1)?;
        let n = operand(lua, args, 2)? & 31;
        Ok(bit_result(op(b, n)))
    })
}

/// `tohex(x [,n])`: the low `|n|` hex digits (8 by default, at most 8), upper case for negative
/// `n`. `n` = -2^31 negates to itself and, as in the C build, means 8 upper-case digits.
fn tohex(lua: &Lua, args: &Args) -> LibResult<Results> {
    let value = operand(lua, args, 1)?;
    let requested = if args.count() < 2 {
        8
    } else {
        operand(lua, args, 2)? as i32
    };
    let digits = requested.unsigned_abs().min(8) as usize;
    let text = if requested < 0 {
        format!("{value:08X}")
    } else {
        format!("{value:08x}")
    };
    let text = &text[8 - digits..];
    Ok(Results::one(mlua::Value::String(lua.create_string(text)?)))
}

#[cfg(test)]
mod tests {
    use crate::lua::libs::test_support::check_all;

    /// Expected values from Redis 7.0.15 (`EVAL "return tostring(<expr>)" 0`).
    #[test]
    fn operations_match_redis() {
        check_all(&[
            ("bit.tobit(2^32+5)", "5"),
            ("bit.tobit(0/0)", "0"),
            ("bit.tobit(1/0)", "0"),
            ("bit.tobit(\"0x10\")", "16"),
            ("bit.tobit(2.5)", "2"),
            ("bit.tobit(3.5)", "4"),
            ("bit.tobit(-2.5)", "-2"),
            ("bit.tobit(-0.5)", "0"),
            ("bit.tobit(0.5)", "0"),
            ("bit.tobit(1.5)", "2"),
            ("bit.tobit(2^53)", "0"),
            ("bit.tobit(-2^53-2)", "4"),
            ("bit.tobit(2^52+2^51+7)", "4"),
            ("bit.tobit(0xffffffff)", "-1"),
            ("bit.tobit(-1e-300)", "0"),
            ("bit.bnot(0)", "-1"),
            ("bit.bxor(1,2,4,8)", "15"),
            ("bit.bor(1, \"2\", 4.0)", "7"),
            ("bit.band(0x7fffffff, -1, 0xff00ff)", "16711935"),
            ("bit.lshift(1, 33)", "2"),
            ("bit.lshift(1, 31)", "-2147483648"),
            ("bit.rol(0x12345678, 36)", "591751041"),
            ("bit.ror(0x12345678, -4)", "591751041"),
            ("bit.rol(0x12345678, 0)", "305419896"),
            ("bit.arshift(-256, 4)", "-16"),
            ("bit.rshift(-256, 4)", "268435440"),
            ("bit.bswap(0x12345678)", "2018915346"),
        ]);
    }

    #[test]
    fn tohex_matches_redis() {
        check_all(&[
            ("bit.tohex(-1)", "ffffffff"),
            ("bit.tohex(-1, -4)", "FFFF"),
            ("bit.tohex(255, 0)", ""),
            ("bit.tohex(255, 12)", "000000ff"),
            ("bit.tohex(255, 0x80000000)", "000000FF"),
            ("bit.tohex(255, -2^31)", "000000FF"),
            ("bit.tohex(255, 2^32-8)", "000000FF"),
            ("bit.tohex(1, 0x80000000)", "00000001"),
            ("bit.tohex(0xabcdef, 3)", "def"),
        ]);
    }

    #[test]
    fn errors_match_redis() {
        check_all(&[
            (
                "e(bit.tobit, \"x\")",
                "E:bad argument #1 to '?' (number expected, got string)",
            ),
            (
                "e(bit.tohex, 1, nil)",
                "E:bad argument #2 to '?' (number expected, got nil)",
            ),
            (
                "e(bit.band, 1, {})",
                "E:bad argument #2 to '?' (number expected, got table)",
            ),
            (
                "e(bit.band, {}, 1, {}, {})",
                "E:bad argument #1 to '?' (number expected, got table)",
            ),
            (
                "e(bit.band, 1, {}, 1, true)",
                "E:bad argument #4 to '?' (number expected, got boolean)",
            ),
            (
                "e(function() return bit.band() end)",
                "E:user_script:1: bad argument #1 to 'band' (number expected, got no value)",
            ),
            (
                "e(function() local f = bit.lshift; local x = f(1) return x end)",
                "E:user_script:1: bad argument #2 to 'f' (number expected, got no value)",
            ),
        ]);
    }
}
