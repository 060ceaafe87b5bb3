//! `cmsgpack`: Salvatore Sanfilippo's lua-cmsgpack 0.4.0 as Redis 7.0 bundles it.
//!
//! - `cmsgpack.pack(...)`: the MessagePack of each argument, concatenated. A number that a C
//!   `int64_t` holds exactly is the smallest integer encoding (fixint, uint/int 8..64), any other
//!   number a float32 when that is lossless, else a float64; strings are fixstr/str8/16/32; a
//!   table whose keys are exactly 1..n is an array (fixarray/array16/32), any other table a map
//!   (fixmap/map16/32) in `next` order; booleans as such; nil, functions, userdata (so
//!   `cjson.null`) and threads are nil, and so is a table nested 16 deep.
//! - `cmsgpack.unpack(s)`: every value of the stream. `cmsgpack.unpack_one(s [, offset])` and
//!   `cmsgpack.unpack_limit(s, limit [, offset])` decode one / at most `limit` values from byte
//!   `offset` (0-based) and return first the offset where decoding stopped (-1 at the end).
//!   bin, ext and 0xc1 are "Bad data format in input.", truncated input "Missing bytes in
//!   input."; uint64 above 2^63 come back negative, as in C.
//! - `_NAME`, `_VERSION`, `_COPYRIGHT`, `_DESCRIPTION`.
//!
//! The C library's Lua-stack limits are reproduced (with their "stack overflow (...)" messages)
//! so that very long streams and deep nesting fail where they fail in Redis. No known divergence
//! (but see the interpreter notes in the `libs` module doc).

use std::rc::Rc;

use mlua::{Lua, Table, Value};

use super::{
    c_double_to_i64, lib_function, raw_get_exact, Args, Failure, Helpers, Level, LibResult, Nest,
    Results, MAX_C_STACK,
};

/// Tables nested this deep are packed as nil (the C library's guard against cycles).
const MAX_NESTING: usize = 16;

pub(super) fn open(lua: &Lua, helpers: &Rc<Helpers>) -> mlua::Result<Table> {
    let module = lua.create_table()?;
    let pack_helpers = Rc::clone(helpers);
    module.raw_set(
        "pack",
        lib_function(lua, move |lua, args| pack(lua, args, &pack_helpers))?,
    )?;
    module.raw_set("unpack", lib_function(lua, unpack)?)?;
    module.raw_set("unpack_one", lib_function(lua, unpack_one)?)?;
    module.raw_set("unpack_limit", lib_function(lua, unpack_limit)?)?;
    module.raw_set("_NAME", "cmsgpack")?;
    module.raw_set("_VERSION", "lua-cmsgpack 0.4.0")?;
    module.raw_set("_COPYRIGHT", "Copyright (C) 2012, Salvatore Sanfilippo")?;
    module.raw_set("_DESCRIPTION", "MessagePack C implementation for Lua")?;
    Ok(module)
}

// ===== Packing =====

fn pack(lua: &Lua, args: &Args, helpers: &Helpers) -> LibResult<Results> {
    let nargs = args.count();
    if nargs == 0 {
        return Err(Failure::arg(0, "MessagePack pack needs input."));
    }
    if 2 * nargs > MAX_C_STACK {
        return Err(Failure::arg(0, "Too many arguments for MessagePack pack."));
    }
    let mut packer = Packer {
        helpers,
        out: Vec::new(),
    };
    for narg in 1..=nargs {
        // The C stack holds the arguments and the encodings made so far, then this argument.
        let slots = nargs + narg;
        let value = args.get(narg)?.unwrap_or(Value::Nil);
        packer.value(value, 0, slots)?;
    }
    Ok(Results::one(Value::String(lua.create_string(packer.out)?)))
}

struct Packer<'a> {
    helpers: &'a Helpers,
    out: Vec<u8>,
}

impl Packer<'_> {
    /// Encodes `value`, nested `level` tables deep; `slots` is what the C encoder's stack holds
    /// with the value on top (its checks fail past `MAX_C_STACK`).
    fn value(&mut self, value: Value, level: usize, slots: usize) -> LibResult<()> {
        match value {
            Value::String(s) => self.bytes(&s.as_bytes()),
            Value::Boolean(b) => self.out.push(if b { 0xc3 } else { 0xc2 }),
            Value::Number(n) => self.number(n),
            Value::Integer(i) => self.number(i as f64),
            Value::Table(table) if level < MAX_NESTING => self.table(table, level, slots)?,
            _ => self.out.push(0xc0),
        }
        Ok(())
    }

    /// A number `int64_t` holds exactly is an integer, any other one a float.
    fn number(&mut self, n: f64) {
        let integer = c_double_to_i64(n);
        if !n.is_infinite() && integer as f64 == n {
            self.integer(integer);
        } else {
            self.float(n);
        }
    }

    fn integer(&mut self, n: i64) {
        let out = &mut self.out;
        match n {
            0..=127 => out.push(n as u8),
            128..=0xff => out.extend([0xcc, n as u8]),
            0x100..=0xffff => push_with_header(out, 0xcd, &(n as u16).to_be_bytes()),
            0x1_0000..=0xffff_ffff => push_with_header(out, 0xce, &(n as u32).to_be_bytes()),
            0x1_0000_0000.. => push_with_header(out, 0xcf, &n.to_be_bytes()),
            -32..=-1 => out.push(n as u8),
            -128..=-33 => out.extend([0xd0, n as u8]),
            -32768..=-129 => push_with_header(out, 0xd1, &(n as i16).to_be_bytes()),
            -2_147_483_648..=-32769 => push_with_header(out, 0xd2, &(n as i32).to_be_bytes()),
            _ => push_with_header(out, 0xd3, &n.to_be_bytes()),
        }
    }

    /// float32 when converting to it and back gives the same number, else float64.
    fn float(&mut self, d: f64) {
        let single = d as f32;
        if f64::from(single) == d {
            push_with_header(&mut self.out, 0xca, &single.to_be_bytes());
        } else {
            push_with_header(&mut self.out, 0xcb, &d.to_be_bytes());
        }
    }

    fn bytes(&mut self, bytes: &[u8]) {
        let len = bytes.len();
        if len < 32 {
            self.out.push(0xa0 | len as u8);
        } else if len <= 0xff {
            self.out.extend([0xd9, len as u8]);
        } else if len <= 0xffff {
            push_with_header(&mut self.out, 0xda, &(len as u16).to_be_bytes());
        } else {
            push_with_header(&mut self.out, 0xdb, &(len as u32).to_be_bytes());
        }
        self.out.extend_from_slice(bytes);
    }

    fn table(&mut self, table: Table, level: usize, slots: usize) -> LibResult<()> {
        check_stack(slots, 2, "in function table_is_an_array")?;
        let (is_array, count) = self.helpers.msgpack_shape(&table)?;
        if is_array {
            check_stack(slots, 1, "in function mp_encode_lua_table_as_array")?;
            let len = table.raw_len();
            self.container_header(len, 0x90, 0xdc);
            for index in 1..=len {
                self.value(raw_get_exact(&table, index)?, level + 1, slots + 1)?;
            }
        } else {
            check_stack(slots, 3, "in function mp_encode_lua_table_as_map")?;
            self.container_header(count, 0x80, 0xde);
            let mut key = Value::Nil;
            while let Some((next_key, value)) = self.helpers.next_entry(&table, key)? {
                self.value(next_key.clone(), level + 1, slots + 3)?;
                self.value(value, level + 1, slots + 2)?;
                key = next_key;
            }
        }
        Ok(())
    }

    /// An array or map header: fix form (`fix | n`), 16-bit (`wide`) or 32-bit (`wide + 1`).
    fn container_header(&mut self, len: usize, fix: u8, wide: u8) {
        if len <= 15 {
            self.out.push(fix | len as u8);
        } else if len <= 0xffff {
            push_with_header(&mut self.out, wide, &(len as u16).to_be_bytes());
        } else {
            push_with_header(&mut self.out, wide + 1, &(len as u32).to_be_bytes());
        }
    }
}

fn push_with_header(out: &mut Vec<u8>, header: u8, bytes: &[u8]) {
    out.push(header);
    out.extend_from_slice(bytes);
}

/// `luaL_checkstack(L, extra, what)` with `slots` already on the stack.
fn check_stack(slots: usize, extra: usize, what: &str) -> LibResult<()> {
    if slots + extra > MAX_C_STACK {
        return Err(Failure::stack_overflow(what));
    }
    Ok(())
}

// ===== Unpacking =====

const TOO_MANY_VALUES: &str =
    "too many return values at once; use unpack_one or unpack_limit instead.";

fn unpack(lua: &Lua, args: &Args) -> LibResult<Results> {
    unpack_stream(lua, args, 0, 0, args.count())
}

fn unpack_one(lua: &Lua, args: &Args) -> LibResult<Results> {
    let offset = args.opt_integer(lua, 2, 0)?;
    unpack_stream(lua, args, 1, offset, args.count().min(1))
}

fn unpack_limit(lua: &Lua, args: &Args) -> LibResult<Results> {
    let limit = args.check_integer(lua, 2)?;
    let offset = args.opt_integer(lua, 3, 0)?;
    unpack_stream(lua, args, limit, offset, args.count().min(1))
}

/// lua-cmsgpack's `mp_unpack_full`: decodes up to `limit` values (all when both `limit` and
/// `offset` are 0, and then without the leading offset result). `base_slots` is what the C
/// stack holds before the first value.
fn unpack_stream(
    lua: &Lua,
    args: &Args,
    limit: i64,
    offset: i64,
    base_slots: usize,
) -> LibResult<Results> {
    let data = args.check_bytes(lua, 1)?;
    let data = data.as_bytes();
    let len = data.len();
    if offset < 0 || limit < 0 {
        return Err(Failure::error(format!(
            "Invalid request to unpack with offset of {} and limit of {}.",
            offset as i32, len as i32
        )));
    }
    if offset as u64 > len as u64 {
        return Err(Failure::error(format!(
            "Start offset {} greater than input length {}.",
            offset as i32, len as i32
        )));
    }
    let decode_all = limit == 0 && offset == 0;
    let limit = if decode_all {
        i64::from(i32::MAX)
    } else {
        limit
    };
    let mut results = Results::new();
    if !decode_all {
        results.push(lua, Value::Nil)?;
    }
    let mut decoder = Decoder {
        lua,
        data: &data,
        pos: offset as usize,
        slots: base_slots,
        nest: Nest::new(),
    };
    let mut count: i64 = 0;
    while decoder.pos < len && count < limit {
        let value = decoder.value().map_err(DecodeError::into_failure)?;
        results.push(lua, value)?;
        count += 1;
    }
    if !decode_all {
        check_stack(decoder.slots, 1, "in function mp_unpack_full")?;
        let next = if decoder.pos == len {
            -1.0
        } else {
            decoder.pos as f64
        };
        results.set_first(Value::Number(next))?;
    }
    Ok(results)
}

/// Why decoding stopped.
enum DecodeError {
    /// The input ends inside a value.
    MissingBytes,
    /// A type byte lua-cmsgpack does not handle.
    BadFormat,
    /// An error raised on the spot (stack overflow, invalid table key).
    Raised(Failure),
}

impl DecodeError {
    fn into_failure(self) -> Failure {
        match self {
            DecodeError::MissingBytes => Failure::error("Missing bytes in input."),
            DecodeError::BadFormat => Failure::error("Bad data format in input."),
            DecodeError::Raised(failure) => failure,
        }
    }
}

impl From<mlua::Error> for DecodeError {
    fn from(error: mlua::Error) -> DecodeError {
        DecodeError::Raised(Failure::Lua(error))
    }
}

/// An array being filled (next index, elements left) or a map (pairs left; its `Level::key`
/// holds the key once read).
enum Pending {
    Array { next: u64, left: u64 },
    Map { left: u64, have_key: bool },
}

/// What reading a type byte gave.
enum Item {
    Value(Value),
    /// An array or map was opened on the nest.
    Opened,
}

struct Decoder<'a> {
    lua: &'a Lua,
    data: &'a [u8],
    pos: usize,
    /// What the C decoder's Lua stack holds (checked as `luaL_checkstack` does).
    slots: usize,
    nest: Nest<Pending>,
}

impl Decoder<'_> {
    /// Decodes one whole value (with everything nested in it).
    fn value(&mut self) -> Result<Value, DecodeError> {
        loop {
            let mut value = match self.item()? {
                Item::Value(value) => value,
                Item::Opened => match self.advance()? {
                    Some(table) => table,
                    None => continue,
                },
            };
            loop {
                if self.nest.depth() == 0 {
                    return Ok(value);
                }
                self.store(value)?;
                match self.advance()? {
                    Some(table) => value = table,
                    None => break,
                }
            }
        }
    }

    /// Gets the open container ready for its next element: `Some(table)` when it is complete
    /// (it is closed), `None` when an element must be read.
    fn advance(&mut self) -> Result<Option<Value>, DecodeError> {
        let Some(level) = self.nest.top_mut() else {
            return Ok(None);
        };
        match &level.meta {
            Pending::Array { left: 0, .. } | Pending::Map { left: 0, .. } => {
                let table = self.nest.pop()?.map(|level| Value::Table(level.table));
                Ok(table)
            }
            Pending::Array { .. } => {
                // The C decoder pushes the index before the element.
                self.slots += 1;
                Ok(None)
            }
            Pending::Map { .. } => Ok(None),
        }
    }

    /// Puts a finished value in the open container (as its element, map key or map value).
    fn store(&mut self, value: Value) -> Result<(), DecodeError> {
        let Some(level) = self.nest.top_mut() else {
            return Ok(());
        };
        match &mut level.meta {
            Pending::Array { next, left } => {
                level.table.raw_set(*next, value)?;
                *next += 1;
                *left -= 1;
                self.slots = self.slots.saturating_sub(2);
            }
            Pending::Map {
                have_key: have_key @ false,
                ..
            } => {
                level.key = value;
                *have_key = true;
            }
            Pending::Map { left, have_key } => {
                let key = std::mem::replace(&mut level.key, Value::Nil);
                match &key {
                    Value::Nil => return Err(raw_error("table index is nil")),
                    Value::Number(n) if n.is_nan() => return Err(raw_error("table index is NaN")),
                    _ => {}
                }
                level.table.raw_set(key, value)?;
                *left -= 1;
                *have_key = false;
                self.slots = self.slots.saturating_sub(2);
            }
        }
        Ok(())
    }

    fn need(&self, len: usize) -> Result<(), DecodeError> {
        if self.data.len() - self.pos < len {
            return Err(DecodeError::MissingBytes);
        }
        Ok(())
    }

    /// `len` bytes after the type byte (checked present).
    fn payload(&self, len: usize) -> Result<&[u8], DecodeError> {
        self.need(1 + len)?;
        Ok(&self.data[self.pos + 1..self.pos + 1 + len])
    }

    /// A big-endian unsigned number of `width` bytes after the type byte.
    fn be_number(&self, width: usize) -> Result<u64, DecodeError> {
        let bytes = self.payload(width)?;
        Ok(bytes.iter().fold(0, |acc, &b| (acc << 8) | u64::from(b)))
    }

    /// Reads one type byte and what it needs: a scalar, or the header of an array or map.
    fn item(&mut self) -> Result<Item, DecodeError> {
        self.need(1)?;
        if self.slots + 1 > MAX_C_STACK {
            return Err(DecodeError::Raised(Failure::stack_overflow(
                TOO_MANY_VALUES,
            )));
        }
        let byte = self.data[self.pos];
        let value = match byte {
            0xc0 => self.scalar(1, Value::Nil),
            0xc2 => self.scalar(1, Value::Boolean(false)),
            0xc3 => self.scalar(1, Value::Boolean(true)),
            0xcc..=0xce => {
                let width = 1 << (byte - 0xcc);
                let n = self.be_number(width)?;
                self.scalar(1 + width, Value::Number(n as f64))
            }
            0xcf => {
                let n = self.be_number(8)?;
                self.scalar(9, Value::Number(n as i64 as f64))
            }
            0xd0..=0xd3 => {
                let width = 1 << (byte - 0xd0);
                let n = sign_extend(self.be_number(width)?, width);
                self.scalar(1 + width, Value::Number(n as f64))
            }
            0xca => {
                let bits = self.be_number(4)? as u32;
                self.scalar(5, Value::Number(f32::from_bits(bits).into()))
            }
            0xcb => {
                let bits = self.be_number(8)?;
                self.scalar(9, Value::Number(f64::from_bits(bits)))
            }
            0xd9..=0xdb => {
                let width = 1 << (byte - 0xd9);
                let len = self.be_number(width)? as usize;
                self.string(1 + width, len)?
            }
            0xdc | 0xdd => {
                let width = 2 << (byte - 0xdc);
                let len = self.be_number(width)?;
                self.pos += 1 + width;
                return self.open_array(len);
            }
            0xde | 0xdf => {
                let width = 2 << (byte - 0xde);
                let len = self.be_number(width)?;
                self.pos += 1 + width;
                return self.open_map(len);
            }
            0x00..=0x7f => self.scalar(1, Value::Number(f64::from(byte))),
            0xe0..=0xff => self.scalar(1, Value::Number(f64::from(byte as i8))),
            0xa0..=0xbf => self.string(1, usize::from(byte & 0x1f))?,
            0x90..=0x9f => {
                self.pos += 1;
                return self.open_array(u64::from(byte & 0x0f));
            }
            0x80..=0x8f => {
                self.pos += 1;
                return self.open_map(u64::from(byte & 0x0f));
            }
            _ => return Err(DecodeError::BadFormat),
        };
        Ok(Item::Value(value))
    }

    /// A value `len` bytes long in the input (type byte included), now on the stack.
    fn scalar(&mut self, len: usize, value: Value) -> Value {
        self.pos += len;
        self.slots += 1;
        value
    }

    /// A string of `len` bytes after a header of `header` bytes (type byte included).
    fn string(&mut self, header: usize, len: usize) -> Result<Value, DecodeError> {
        self.need(header + len)?;
        let start = self.pos + header;
        let text = self.lua.create_string(&self.data[start..start + len])?;
        Ok(self.scalar(header + len, Value::String(text)))
    }

    fn open_array(&mut self, len: u64) -> Result<Item, DecodeError> {
        self.slots += 1;
        if self.slots + 1 > MAX_C_STACK {
            return Err(DecodeError::Raised(Failure::stack_overflow(
                "in function mp_decode_to_lua_array",
            )));
        }
        self.open(Pending::Array { next: 1, left: len })
    }

    fn open_map(&mut self, len: u64) -> Result<Item, DecodeError> {
        self.slots += 1;
        self.open(Pending::Map {
            left: len,
            have_key: false,
        })
    }

    fn open(&mut self, pending: Pending) -> Result<Item, DecodeError> {
        let level = Level {
            meta: pending,
            table: self.lua.create_table()?,
            key: Value::Nil,
        };
        self.nest.push(self.lua, level)?;
        Ok(Item::Opened)
    }
}

/// A `width`-byte two's complement number, sign-extended.
fn sign_extend(value: u64, width: usize) -> i64 {
    let unused = 64 - 8 * width as u32;
    ((value << unused) as i64) >> unused
}

/// An error the Lua core raises without position (`lua_settable` with a nil or NaN key).
fn raw_error(message: &str) -> DecodeError {
    DecodeError::Raised(Failure::Raw(message.as_bytes().to_vec()))
}

#[cfg(test)]
mod tests {
    use crate::lua::libs::test_support::check_all;

    /// Expected values from Redis 7.0.15.
    #[test]
    fn pack_matches_redis() {
        check_all(&[
            (
                "hex(cmsgpack.pack(0, 127, 128, 255, 256, 65535, 65536, 2^32-1, 2^32, 2^53))",
                "007fcc80ccffcd0100cdffffce00010000ceffffffffcf0000000100000000cf0020000000000000",
            ),
            (
                "hex(cmsgpack.pack(-1, -32, -33, -128, -129, -32768, -32769, -2^31, -2^31-1, -2^53))",
                "ffe0d0dfd080d1ff7fd18000d2ffff7fffd280000000d3ffffffff7fffffffd3ffe0000000000000",
            ),
            (
                "hex(cmsgpack.pack(2^63, -2^63, 2^64, 1.5, 0.1, -0.0, 1/0, -1/0, 0/0, 1e300, 3.4028234663852886e38))",
                "ca5f000000d38000000000000000ca5f800000ca3fc00000cb3fb999999999999a00caff800000ca7f800000cbfff8000000000000cb7e37e43c8800759cca7f7fffff",
            ),
            ("hex(cmsgpack.pack(\"\", \"abc\", string.rep(\"x\", 31)))", "a0a3616263bf78787878787878787878787878787878787878787878787878787878787878"),
            ("hex(cmsgpack.pack(string.rep(\"x\", 32))):sub(1,8)", "d9207878"),
            ("hex(cmsgpack.pack(string.rep(\"x\", 256))):sub(1,8)", "da010078"),
            ("hex(cmsgpack.pack(string.rep(\"x\", 65536))):sub(1,12)", "db0001000078"),
            (
                "hex(cmsgpack.pack({}, {1,2}, {a=1}, {1,nil,3}, {[2]=1}, {[1.5]=1}, true, false, nil))",
                "9092010281a16101820101030381020181ca3fc0000001c3c2c0",
            ),
            ("hex(cmsgpack.pack({{{{{{{{{{{{{{{{{{1}}}}}}}}}}}}}}}}}}))", "91919191919191919191919191919191c0"),
            ("hex(cmsgpack.pack({[{{{{{{{{{{{{{{{1}}}}}}}}}}}}}}}]=1}))", "819191919191919191919191919191910101"),
            ("hex(cmsgpack.pack(cjson.null, coroutine.create(function() end), tostring))", "c0c0c0"),
            ("hex(cmsgpack.pack({[2^31]=1}))", "81ce8000000001"),
            ("hex(cmsgpack.pack({[{}]=1}))", "819001"),
            ("hex(cmsgpack.pack(1e-300, -1e-300))", "cb01a56e1fc2f8f359cb81a56e1fc2f8f359"),
            ("hex(cmsgpack.pack({1e-300}))", "91cb01a56e1fc2f8f359"),
            ("hex(cmsgpack.pack({[1e-300]=-0.0}))", "81cb01a56e1fc2f8f35900"),
            ("hex(cmsgpack.pack(1,2,3,4,5,6,7,8,9,10,11,12))", "0102030405060708090a0b0c"),
        ]);
    }

    #[test]
    fn pack_containers_match_redis() {
        check_all(&[
            ("hex(cmsgpack.pack({1,2,3,4,5,6,7,8,9,10,11,12,13,14,15}))", "9f0102030405060708090a0b0c0d0e0f"),
            ("hex(cmsgpack.pack({1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16})):sub(1,8)", "dc001001"),
            ("(function() local t = {} for i = 1, 70000 do t[i] = 0 end return hex(cmsgpack.pack(t):sub(1, 6)) end)()", "dd0001117000"),
            ("(function() local t = {} for i = 1, 16 do t['k' .. i] = i end return hex(cmsgpack.pack(t):sub(1, 3)) end)()", "de0010"),
            ("(function() local t = {} for i = 1, 70000 do t['k' .. i] = i end return hex(cmsgpack.pack(t):sub(1, 5)) end)()", "df00011170"),
        ]);
    }

    #[test]
    fn unpack_matches_redis() {
        check_all(&[
            ("pk(cmsgpack.unpack(cmsgpack.pack(1, \"a\", true, nil, 1.5)))", "1|a|true|nil|1.5"),
            ("pk(cmsgpack.unpack(\"\\204\\255\\205\\1\\0\\206\\0\\1\\0\\0\\207\\0\\0\\0\\1\\0\\0\\0\\0\"))", "255|256|65536|4294967296"),
            (
                "pk(cmsgpack.unpack(\"\\208\\128\\209\\128\\0\\210\\128\\0\\0\\0\\211\\128\\0\\0\\0\\0\\0\\0\\0\\211\\255\\255\\255\\255\\255\\255\\255\\255\"))",
                "-128|-32768|-2147483648|-9.2233720368548e+18|-1",
            ),
            ("pk(cmsgpack.unpack(\"\\207\\255\\255\\255\\255\\255\\255\\255\\255\"))", "-1"),
            ("pk(cmsgpack.unpack(\"\\202\\63\\192\\0\\0\\203\\63\\185\\153\\153\\153\\153\\153\\154\"))", "1.5|0.1"),
            ("pk(cmsgpack.unpack(\"\"))", ""),
            ("pk(cmsgpack.unpack_one(cmsgpack.pack(1,2,3)))", "1|1"),
            ("pk(cmsgpack.unpack_one(cmsgpack.pack(1,2,3), 1))", "2|2"),
            ("pk(cmsgpack.unpack_one(cmsgpack.pack(1,2,3), 2))", "-1|3"),
            ("pk(cmsgpack.unpack_one(cmsgpack.pack(1,2,3), 3))", "-1"),
            ("pk(cmsgpack.unpack_limit(cmsgpack.pack(1,2,3), 2))", "2|1|2"),
            ("pk(cmsgpack.unpack_limit(cmsgpack.pack(1,2,3), 5))", "-1|1|2|3"),
            ("pk(cmsgpack.unpack_limit(cmsgpack.pack(1,2,3), 0))", "1|2|3"),
            ("pk(cmsgpack.unpack_limit(cmsgpack.pack(1,2,3), 0, 1))", "1"),
            ("pk(cmsgpack.unpack(12))", "49|50"),
            ("cjson.encode(cmsgpack.unpack(\"\\130\\161a\\1\\161b\\146\\1\\2\"))", "{\"a\":1,\"b\":[1,2]}"),
            ("cjson.encode(cmsgpack.unpack(\"\\220\\0\\2\\1\\2\"))", "[1,2]"),
            ("cjson.encode(cmsgpack.unpack(\"\\222\\0\\1\\161a\\192\"))", "{}"),
            ("cjson.encode(cmsgpack.unpack(\"\\221\\0\\0\\0\\1\\1\"))", "[1]"),
            ("cjson.encode(cmsgpack.unpack(\"\\223\\0\\0\\0\\1\\1\\1\"))", "[1]"),
            ("pk(cmsgpack.unpack(\"\\217\\3abc\\218\\0\\1x\\219\\0\\0\\0\\2yz\"))", "abc|x|yz"),
            ("pk(cmsgpack.unpack_one(\"\\1\\2\", 2))", "-1"),
            ("pk(cmsgpack.unpack_one(\"\\1\\2\", 2.9))", "-1"),
            ("pk(cmsgpack.unpack(\"\\202\\127\\192\\0\\0\"))", "nan"),
            ("pk(cmsgpack.unpack_limit(\"\\1\\2\\3\", 1, 1))", "2|2"),
            ("pk(cmsgpack.unpack_one(\"\\1\\2\", nil))", "1|1"),
            ("pk(cmsgpack.unpack(\"\\1\\2\", 5))", "1|2"),
            ("select(\"#\", cmsgpack.unpack(string.rep(\"\\1\", 7997)))", "7997"),
            ("select(\"#\", cmsgpack.unpack(string.rep(\"\\1\", 7998)))", "7998"),
            ("select(\"#\", cmsgpack.unpack(string.rep(\"\\1\", 7997), 2))", "7997"),
            ("select(\"#\", cmsgpack.unpack_limit(string.rep(\"\\1\", 7998), 8000))", "7999"),
            ("select(\"#\", cmsgpack.unpack_limit(string.rep(\"\\1\", 7998), 7997))", "7998"),
            ("hex(cmsgpack.pack(cmsgpack.unpack(cmsgpack.pack(1e-300, -0.0, {[1e-300] = 2}))))", "cb01a56e1fc2f8f3590081cb01a56e1fc2f8f35902"),
        ]);
    }

    #[test]
    fn deep_and_long_inputs_match_redis() {
        check_all(&[
            (
                "e(function() return hex(cmsgpack.pack(cmsgpack.unpack(string.rep(\"\\145\", 3998) .. \"\\1\"))) end)",
                "OK:91919191919191919191919191919191c0",
            ),
            (
                "e(function() return hex(cmsgpack.pack(cmsgpack.unpack(string.rep(\"\\145\", 3999) .. \"\\1\"))) end)",
                "OK:91919191919191919191919191919191c0",
            ),
            (
                "e(function() return hex(cmsgpack.pack(cmsgpack.unpack(string.rep(\"\\129\\1\", 3998) .. \"\\1\"))) end)",
                "OK:91919191919191919191919191919191c0",
            ),
            (
                "e(function() local t = {} for i = 1, 4000 do t[i] = {i} end return #cmsgpack.pack(unpack(t)) end)",
                "E:user_script:1: stack overflow (in function table_is_an_array)",
            ),
            (
                "e(function() local t = {} for i = 1, 4001 do t[i] = i end return #cmsgpack.pack(unpack(t)) end)",
                "E:user_script:1: bad argument #0 to 'pack' (Too many arguments for MessagePack pack.)",
            ),
            (
                "e(function() local t = {} for i = 1, 3999 do t[i] = i end t[4000] = {{{1}}} return #cmsgpack.pack(unpack(t)) end)",
                "E:user_script:1: stack overflow (in function table_is_an_array)",
            ),
            (
                "e(function() local t = {} for i = 1, 4000 do t[i] = 's' .. i end return #cmsgpack.pack(unpack(t)) end)",
                "OK:22893",
            ),
            (
                "e(function() local s = '' for i = 0, 255 do s = s .. string.char(i) end return hex(cmsgpack.unpack(cmsgpack.pack(s))) == hex(s) end)",
                "OK:true",
            ),
            (
                "e(function() local t = {} for i = 1, 300 do t['k' .. (i % 17)] = {i, 'x' .. i, [i + 100] = true} end return #cmsgpack.pack(t) end)",
                "OK:316",
            ),
        ]);
    }

    #[test]
    fn errors_match_redis() {
        check_all(&[
            ("e(cmsgpack.pack)", "E:bad argument #0 to '?' (MessagePack pack needs input.)"),
            ("e(cmsgpack.unpack, \"\\204\")", "E:Missing bytes in input."),
            ("e(cmsgpack.unpack, \"\\193\")", "E:Bad data format in input."),
            ("e(cmsgpack.unpack, \"\\196\\1a\")", "E:Bad data format in input."),
            ("e(cmsgpack.unpack, \"\\147\\1\")", "E:Missing bytes in input."),
            ("e(cmsgpack.unpack_one, \"abc\", 4)", "E:Start offset 4 greater than input length 3."),
            ("e(cmsgpack.unpack_one, \"abc\", -1)", "E:Invalid request to unpack with offset of -1 and limit of 3."),
            ("e(cmsgpack.unpack_limit, \"abc\", -2)", "E:Invalid request to unpack with offset of 0 and limit of 3."),
            ("e(cmsgpack.unpack_limit, \"abc\")", "E:bad argument #2 to '?' (number expected, got no value)"),
            ("e(cmsgpack.unpack)", "E:bad argument #1 to '?' (string expected, got no value)"),
            ("e(cmsgpack.unpack, \"\\219\\0\\0\\0\\9yz\")", "E:Missing bytes in input."),
            ("e(cmsgpack.unpack, \"\\146\\1\")", "E:Missing bytes in input."),
            ("e(cmsgpack.unpack, \"\\191\")", "E:Missing bytes in input."),
            ("e(cmsgpack.unpack_one, \"\\1\\2\", \"x\")", "E:bad argument #2 to '?' (number expected, got string)"),
            ("e(cmsgpack.unpack_one, \"abc\", 2^40)", "E:Start offset 0 greater than input length 3."),
            ("e(cmsgpack.unpack, \"\\129\\192\\1\")", "E:table index is nil"),
            ("e(cmsgpack.unpack, \"\\129\\203\\255\\248\\0\\0\\0\\0\\0\\0\\1\")", "E:table index is NaN"),
            ("e(function() return cmsgpack.unpack(\"\\129\\192\\1\") end)", "E:table index is nil"),
            ("e(function() return cmsgpack.unpack(\"\\193\") end)", "E:user_script:1: Bad data format in input."),
            ("e(cmsgpack.unpack, string.rep(\"\\145\", 5000) .. \"\\1\")", "E:stack overflow (in function mp_decode_to_lua_array)"),
            (
                "e(cmsgpack.unpack, string.rep(\"\\129\\1\", 5000) .. \"\\1\")",
                "E:stack overflow (too many return values at once; use unpack_one or unpack_limit instead.)",
            ),
            (
                "e(cmsgpack.unpack, string.rep(\"\\129\", 9000) .. \"\\1\")",
                "E:stack overflow (too many return values at once; use unpack_one or unpack_limit instead.)",
            ),
            (
                "e(cmsgpack.unpack, string.rep(\"\\1\", 8000))",
                "E:stack overflow (too many return values at once; use unpack_one or unpack_limit instead.)",
            ),
            (
                "e(cmsgpack.unpack, string.rep(\"\\1\", 7990) .. \"\\145\\145\\145\\145\\145\\145\\1\")",
                "E:stack overflow (in function mp_decode_to_lua_array)",
            ),
            (
                "e(cmsgpack.unpack, string.rep(\"\\1\", 7991) .. \"\\145\\145\\145\\145\\145\\145\\1\")",
                "E:stack overflow (too many return values at once; use unpack_one or unpack_limit instead.)",
            ),
        ]);
    }
}
