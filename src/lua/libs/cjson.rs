//! `cjson`: Mark Pulford's lua-cjson 2.1.0 as Redis 7.0 patches and embeds it.
//!
//! - `cjson.encode(value)`: strings escaped as lua-cjson does (`"`, `\`, `/` as `\/`, control
//!   characters and DEL as `\u00XX` or their short forms, other bytes as they are); numbers with
//!   `%.14g` (see `encode_number_precision`); a table is an array when all its keys are positive
//!   whole numbers (holes become `null`), unless it is excessively sparse (an error, or an object
//!   with `encode_sparse_array(true)`), otherwise an object with number or string keys; `nil` and
//!   `cjson.null` are `null`. Errors: "Cannot serialise <type>: <reason>", "Cannot serialise,
//!   excessive nesting (<depth>)".
//! - `cjson.decode(text)`: JSON to Lua, `null` as `cjson.null` (a NULL light userdata). Numbers
//!   are read as C's `strtod` reads them, so with `decode_invalid_numbers` on (the default) hex,
//!   `inf`, `nan` and a leading `+` are accepted. The text ends at a NUL byte, as a C string.
//!   Errors: "Expected <what> but found <token> at character <n>" and the others of the library.
//! - Settings, each returning the current values: `encode_sparse_array([convert [, ratio [,
//!   safe]]])`, `encode_max_depth([n])`, `decode_max_depth([n])`, `encode_number_precision([1..14])`,
//!   `encode_keep_buffer([on])` (accepted, no effect on results), `encode_invalid_numbers([on |
//!   off | "null"])`, `decode_invalid_numbers([on])`; `cjson.new()` returns a module with its own
//!   settings; `_NAME`, `_VERSION`.
//!
//! Object member order is the table's `next` order, as in C. Nesting deeper than the C stack
//! allows (only reachable after raising the depth settings) fails with the same messages at the
//! same depth. No known divergence (but see the interpreter notes in the `libs` module doc).

use std::cell::Cell;
use std::rc::Rc;

use mlua::{LightUserData, Lua, Table, Value};

use super::{
    check_integer, lib_function, raw_get_exact, type_name, Args, Failure, Helpers, Level,
    LibResult, Nest, Results, MAX_C_STACK,
};

pub(super) fn open(lua: &Lua, helpers: &Rc<Helpers>) -> mlua::Result<Table> {
    new_module(lua, helpers)
}

/// A module table with its own settings, in lua-cjson's field order.
fn new_module(lua: &Lua, helpers: &Rc<Helpers>) -> mlua::Result<Table> {
    let config = Rc::new(Config::default());
    let module = lua.create_table()?;
    let with_config = |body: fn(&Lua, &Args, &Config) -> LibResult<Results>| {
        let config = Rc::clone(&config);
        lib_function(lua, move |lua, args| body(lua, args, &config))
    };
    let encode_helpers = Rc::clone(helpers);
    let encode_config = Rc::clone(&config);
    module.raw_set(
        "encode",
        lib_function(lua, move |lua, args| {
            encode(lua, args, &encode_config, &encode_helpers)
        })?,
    )?;
    module.raw_set("decode", with_config(decode)?)?;
    module.raw_set("encode_sparse_array", with_config(encode_sparse_array)?)?;
    module.raw_set("encode_max_depth", with_config(encode_max_depth)?)?;
    module.raw_set("decode_max_depth", with_config(decode_max_depth)?)?;
    module.raw_set(
        "encode_number_precision",
        with_config(encode_number_precision)?,
    )?;
    module.raw_set("encode_keep_buffer", with_config(encode_keep_buffer)?)?;
    module.raw_set(
        "encode_invalid_numbers",
        with_config(encode_invalid_numbers)?,
    )?;
    module.raw_set(
        "decode_invalid_numbers",
        with_config(decode_invalid_numbers)?,
    )?;
    let new_helpers = Rc::clone(helpers);
    module.raw_set(
        "new",
        lib_function(lua, move |lua, _args| {
            Ok(Results::one(Value::Table(new_module(lua, &new_helpers)?)))
        })?,
    )?;
    module.raw_set("null", null())?;
    module.raw_set("_NAME", "cjson")?;
    module.raw_set("_VERSION", "2.1.0")?;
    Ok(module)
}

/// `cjson.null`: a light userdata holding NULL.
fn null() -> Value {
    Value::LightUserData(LightUserData(std::ptr::null_mut()))
}

/// What `encode_invalid_numbers` allows.
#[derive(Clone, Copy, PartialEq)]
enum InvalidNumbers {
    /// NaN and infinities are errors.
    Refuse,
    /// Written as `nan`, `inf`, `-inf`.
    Write,
    /// Written as `null`.
    Null,
}

/// One module's settings (lua-cjson's defaults).
struct Config {
    sparse_convert: Cell<bool>,
    sparse_ratio: Cell<i32>,
    sparse_safe: Cell<i32>,
    encode_max_depth: Cell<i32>,
    decode_max_depth: Cell<i32>,
    encode_invalid_numbers: Cell<InvalidNumbers>,
    decode_invalid_numbers: Cell<bool>,
    encode_keep_buffer: Cell<bool>,
    encode_number_precision: Cell<i32>,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            sparse_convert: Cell::new(false),
            sparse_ratio: Cell::new(2),
            sparse_safe: Cell::new(10),
            encode_max_depth: Cell::new(1000),
            decode_max_depth: Cell::new(1000),
            encode_invalid_numbers: Cell::new(InvalidNumbers::Refuse),
            decode_invalid_numbers: Cell::new(true),
            encode_keep_buffer: Cell::new(true),
            encode_number_precision: Cell::new(14),
        }
    }
}

// ===== Settings =====

/// lua-cjson's `json_arg_init`: at most `max` arguments.
fn check_arg_count(args: &Args, max: usize) -> LibResult<()> {
    if args.count() > max {
        return Err(Failure::arg(max + 1, "found too many arguments"));
    }
    Ok(())
}

/// An integer setting: unchanged when the argument is absent or nil, else checked against
/// `min..=max` (the error names argument 1 whichever argument it is, as in C).
fn integer_option(
    lua: &Lua,
    args: &Args,
    narg: usize,
    setting: &Cell<i32>,
    min: i32,
    max: i32,
) -> LibResult<Value> {
    match args.get(narg)? {
        None | Some(Value::Nil) => {}
        value => {
            let value = check_integer(lua, narg, value.as_ref())? as i32;
            if !(min..=max).contains(&value) {
                return Err(Failure::arg(
                    1,
                    format!("expected integer between {min} and {max}"),
                ));
            }
            setting.set(value);
        }
    }
    Ok(Value::Number(f64::from(setting.get())))
}

/// An option given as a boolean or one of `names` (`luaL_checkoption`): the index chosen, or
/// `None` when the argument is absent or nil.
fn choice(lua: &Lua, args: &Args, narg: usize, names: &[&str]) -> LibResult<Option<usize>> {
    let value = match args.get(narg)? {
        None | Some(Value::Nil) => return Ok(None),
        Some(Value::Boolean(on)) => return Ok(Some(usize::from(on))),
        Some(value) => value,
    };
    let name = super::check_bytes(lua, narg, Some(&value))?;
    let name = name.as_bytes();
    let name = name.split(|&b| b == 0).next().unwrap_or_default();
    match names
        .iter()
        .position(|candidate| candidate.as_bytes() == name)
    {
        Some(index) => Ok(Some(index)),
        None => {
            let mut message = b"invalid option '".to_vec();
            message.extend_from_slice(name);
            message.push(b'\'');
            Err(Failure::arg(narg, message))
        }
    }
}

const ON_OFF: [&str; 2] = ["off", "on"];

fn bool_option(lua: &Lua, args: &Args, narg: usize, setting: &Cell<bool>) -> LibResult<Value> {
    if let Some(index) = choice(lua, args, narg, &ON_OFF)? {
        setting.set(index == 1);
    }
    Ok(Value::Boolean(setting.get()))
}

fn encode_sparse_array(lua: &Lua, args: &Args, config: &Config) -> LibResult<Results> {
    check_arg_count(args, 3)?;
    let convert = bool_option(lua, args, 1, &config.sparse_convert)?;
    let ratio = integer_option(lua, args, 2, &config.sparse_ratio, 0, i32::MAX)?;
    let safe = integer_option(lua, args, 3, &config.sparse_safe, 0, i32::MAX)?;
    let mut results = Results::new();
    for value in [convert, ratio, safe] {
        results.push(lua, value)?;
    }
    Ok(results)
}

fn encode_max_depth(lua: &Lua, args: &Args, config: &Config) -> LibResult<Results> {
    check_arg_count(args, 1)?;
    Ok(Results::one(integer_option(
        lua,
        args,
        1,
        &config.encode_max_depth,
        1,
        i32::MAX,
    )?))
}

fn decode_max_depth(lua: &Lua, args: &Args, config: &Config) -> LibResult<Results> {
    check_arg_count(args, 1)?;
    Ok(Results::one(integer_option(
        lua,
        args,
        1,
        &config.decode_max_depth,
        1,
        i32::MAX,
    )?))
}

fn encode_number_precision(lua: &Lua, args: &Args, config: &Config) -> LibResult<Results> {
    check_arg_count(args, 1)?;
    Ok(Results::one(integer_option(
        lua,
        args,
        1,
        &config.encode_number_precision,
        1,
        14,
    )?))
}

fn encode_keep_buffer(lua: &Lua, args: &Args, config: &Config) -> LibResult<Results> {
    check_arg_count(args, 1)?;
    Ok(Results::one(bool_option(
        lua,
        args,
        1,
        &config.encode_keep_buffer,
    )?))
}

fn encode_invalid_numbers(lua: &Lua, args: &Args, config: &Config) -> LibResult<Results> {
    check_arg_count(args, 1)?;
    let setting = &config.encode_invalid_numbers;
    match choice(lua, args, 1, &["off", "on", "null"])? {
        Some(0) => setting.set(InvalidNumbers::Refuse),
        Some(1) => setting.set(InvalidNumbers::Write),
        Some(_) => setting.set(InvalidNumbers::Null),
        None => {}
    }
    let current = match setting.get() {
        InvalidNumbers::Refuse => Value::Boolean(false),
        InvalidNumbers::Write => Value::Boolean(true),
        InvalidNumbers::Null => Value::String(lua.create_string("null")?),
    };
    Ok(Results::one(current))
}

fn decode_invalid_numbers(lua: &Lua, args: &Args, config: &Config) -> LibResult<Results> {
    check_arg_count(args, 1)?;
    Ok(Results::one(bool_option(
        lua,
        args,
        1,
        &config.decode_invalid_numbers,
    )?))
}

// ===== Encoding =====

fn encode(lua: &Lua, args: &Args, config: &Config, helpers: &Helpers) -> LibResult<Results> {
    if args.count() != 1 {
        return Err(Failure::arg(1, "expected 1 argument"));
    }
    let value = args.get(1)?.unwrap_or(Value::Nil);
    let mut encoder = Encoder {
        lua,
        helpers,
        settings: EncodeSettings::of(config),
        out: Vec::new(),
        nest: Nest::new(),
    };
    encoder.value(value)?;
    while encoder.nest.depth() > 0 {
        match encoder.next_member()? {
            Some(value) => encoder.value(value)?,
            None => encoder.close()?,
        }
    }
    Ok(Results::one(Value::String(lua.create_string(encoder.out)?)))
}

/// The settings an encoding uses, read once.
struct EncodeSettings {
    sparse_convert: bool,
    sparse_ratio: i32,
    sparse_safe: i32,
    max_depth: i32,
    invalid_numbers: InvalidNumbers,
    precision: usize,
}

impl EncodeSettings {
    fn of(config: &Config) -> EncodeSettings {
        EncodeSettings {
            sparse_convert: config.sparse_convert.get(),
            sparse_ratio: config.sparse_ratio.get(),
            sparse_safe: config.sparse_safe.get(),
            max_depth: config.encode_max_depth.get(),
            invalid_numbers: config.encode_invalid_numbers.get(),
            precision: usize::try_from(config.encode_number_precision.get()).unwrap_or(14),
        }
    }
}

/// A table being written: an array (the next index to write, up to the length) or an object
/// (its `Level::key` is the last key written). `slots` is what the C encoder's stack holds
/// when it checks this table.
struct Container {
    shape: Shape,
    slots: usize,
}

enum Shape {
    Array { len: i32, next: i64 },
    Object { first: bool },
}

struct Encoder<'a> {
    lua: &'a Lua,
    helpers: &'a Helpers,
    settings: EncodeSettings,
    out: Vec<u8>,
    nest: Nest<Container>,
}

impl Encoder<'_> {
    /// Writes a value, or opens a table (its members follow through `next_member`).
    fn value(&mut self, value: Value) -> LibResult<()> {
        match value {
            Value::String(s) => append_string(&mut self.out, &s.as_bytes()),
            Value::Number(n) => append_number(&mut self.out, &self.settings, n)?,
            Value::Integer(i) => append_number(&mut self.out, &self.settings, i as f64)?,
            Value::Boolean(true) => self.out.extend_from_slice(b"true"),
            Value::Boolean(false) => self.out.extend_from_slice(b"false"),
            Value::Nil => self.out.extend_from_slice(b"null"),
            Value::LightUserData(pointer) if pointer.0.is_null() => {
                self.out.extend_from_slice(b"null");
            }
            Value::Table(table) => self.open(table)?,
            other => {
                return Err(cannot_serialise(
                    type_name(Some(&other)),
                    "type not supported",
                ))
            }
        }
        Ok(())
    }

    fn open(&mut self, table: Table) -> LibResult<()> {
        let depth = self.nest.depth() + 1;
        let slots = match self.nest.top() {
            None => 1,
            Some(parent) => match parent.meta.shape {
                Shape::Array { .. } => parent.meta.slots + 1,
                Shape::Object { .. } => parent.meta.slots + 2,
            },
        };
        if depth > usize::try_from(self.settings.max_depth).unwrap_or(0) || slots + 3 > MAX_C_STACK
        {
            return Err(Failure::error(format!(
                "Cannot serialise, excessive nesting ({depth})"
            )));
        }
        let len = self.array_length(&table)?;
        let shape = if len > 0 {
            self.out.push(b'[');
            Shape::Array { len, next: 1 }
        } else {
            self.out.push(b'{');
            Shape::Object { first: true }
        };
        let level = Level {
            meta: Container { shape, slots },
            table,
            key: Value::Nil,
        };
        self.nest.push(self.lua, level)?;
        Ok(())
    }

    /// lua-cjson's `lua_array_length`: the length to write as an array, or 0 or less for an
    /// object.
    fn array_length(&self, table: &Table) -> LibResult<i32> {
        let Some((max, items)) = self.helpers.cjson_array_shape(table)? else {
            return Ok(-1);
        };
        let settings = &self.settings;
        if settings.sparse_ratio > 0
            && max > items.wrapping_mul(settings.sparse_ratio)
            && max > settings.sparse_safe
        {
            if !settings.sparse_convert {
                return Err(cannot_serialise("table", "excessively sparse array"));
            }
            return Ok(-1);
        }
        Ok(max)
    }

    /// The next member value of the open table (its separator and key written), or `None`
    /// when the table is done.
    fn next_member(&mut self) -> LibResult<Option<Value>> {
        let Some(level) = self.nest.top_mut() else {
            return Ok(None);
        };
        match &mut level.meta.shape {
            Shape::Array { len, next } => {
                if *next > i64::from(*len) {
                    return Ok(None);
                }
                if *next > 1 {
                    self.out.push(b',');
                }
                let index = *next;
                *next += 1;
                Ok(Some(raw_get_exact(&level.table, index)?))
            }
            Shape::Object { first } => {
                let Some((key, value)) =
                    self.helpers.next_entry(&level.table, level.key.clone())?
                else {
                    return Ok(None);
                };
                if !*first {
                    self.out.push(b',');
                }
                *first = false;
                append_key(&mut self.out, &self.settings, &key)?;
                level.key = key;
                Ok(Some(value))
            }
        }
    }

    fn close(&mut self) -> LibResult<()> {
        if let Some(level) = self.nest.pop()? {
            self.out.push(match level.meta.shape {
                Shape::Array { .. } => b']',
                Shape::Object { .. } => b'}',
            });
        }
        Ok(())
    }
}

fn cannot_serialise(type_name: &str, reason: &str) -> Failure {
    Failure::error(format!("Cannot serialise {type_name}: {reason}"))
}

/// An object key: numbers are written quoted, strings escaped; other types are errors.
fn append_key(out: &mut Vec<u8>, settings: &EncodeSettings, key: &Value) -> LibResult<()> {
    match key {
        Value::Number(n) => {
            out.push(b'"');
            append_number(out, settings, *n)?;
            out.extend_from_slice(b"\":");
        }
        Value::Integer(i) => {
            out.push(b'"');
            append_number(out, settings, *i as f64)?;
            out.extend_from_slice(b"\":");
        }
        Value::String(s) => {
            append_string(out, &s.as_bytes());
            out.push(b':');
        }
        other => {
            return Err(cannot_serialise(
                type_name(Some(other)),
                "table key must be a number or string",
            ))
        }
    }
    Ok(())
}

fn append_number(out: &mut Vec<u8>, settings: &EncodeSettings, n: f64) -> LibResult<()> {
    match settings.invalid_numbers {
        InvalidNumbers::Refuse if !n.is_finite() => {
            return Err(cannot_serialise("number", "must not be NaN or Inf"));
        }
        InvalidNumbers::Write if n.is_nan() => {
            out.extend_from_slice(b"nan");
            return Ok(());
        }
        InvalidNumbers::Null if !n.is_finite() => {
            out.extend_from_slice(b"null");
            return Ok(());
        }
        _ => {}
    }
    out.extend_from_slice(format_g(n, settings.precision).as_bytes());
    Ok(())
}

/// A JSON string: `"`, `\` and `/` escaped with a backslash, control characters and DEL as
/// `\b \t \n \f \r` or `\u00xx`, all other bytes (UTF-8 or not) as they are.
fn append_string(out: &mut Vec<u8>, text: &[u8]) {
    out.reserve(text.len() + 2);
    out.push(b'"');
    for &byte in text {
        match byte {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'/' => out.extend_from_slice(b"\\/"),
            0x08 => out.extend_from_slice(b"\\b"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b'\n' => out.extend_from_slice(b"\\n"),
            0x0c => out.extend_from_slice(b"\\f"),
            b'\r' => out.extend_from_slice(b"\\r"),
            0..=0x1f | 0x7f => out.extend_from_slice(format!("\\u{byte:04x}").as_bytes()),
            _ => out.push(byte),
        }
    }
    out.push(b'"');
}

/// C's `printf("%.<precision>g", value)` (precision 1 to 14).
pub(crate) fn format_g(value: f64, precision: usize) -> String {
    if value.is_nan() {
        return if value.is_sign_negative() {
            "-nan"
        } else {
            "nan"
        }
        .to_string();
    }
    if value.is_infinite() {
        return if value < 0.0 { "-inf" } else { "inf" }.to_string();
    }
    let precision = precision.max(1);
    let (digits, exponent) = if value == 0.0 {
        (b"0".to_vec(), 0)
    } else {
        significant_digits(value.abs(), precision)
    };
    layout_g(value.is_sign_negative(), &digits, exponent, precision)
}

/// The digits of `magnitude` correctly rounded to `precision` significant digits, trailing zeros
/// dropped, and the decimal exponent of the first digit.
///
/// A normal double's shortest round-trip form (ryu) is that rounding whenever it has at most
/// `precision` (≤ 15) digits: it lies within half an ulp of the value, far less than half a unit
/// of the 15th digit. Other numbers go through an exact formatting.
fn significant_digits(magnitude: f64, precision: usize) -> (Vec<u8>, i64) {
    if magnitude.is_normal() && precision <= 15 {
        let mut buffer = ryu::Buffer::new();
        let shortest = decimal_digits(buffer.format_finite(magnitude));
        if shortest.0.len() <= precision {
            return shortest;
        }
    }
    decimal_digits(&format!("{:.*e}", precision - 1, magnitude))
}

/// Splits a decimal such as `123.0`, `0.001`, `1.5e300` or `1.25e-7` into its significant
/// digits (no leading or trailing zeros) and the decimal exponent of the first one.
fn decimal_digits(text: &str) -> (Vec<u8>, i64) {
    let (mantissa, exponent) = text.split_once(['e', 'E']).unwrap_or((text, "0"));
    let exponent: i64 = exponent.parse().unwrap_or(0);
    let whole_len = mantissa.find('.').unwrap_or(mantissa.len());
    let all: Vec<u8> = mantissa.bytes().filter(u8::is_ascii_digit).collect();
    let leading = all.iter().take_while(|&&d| d == b'0').count();
    let mut digits = all[leading..].to_vec();
    while digits.len() > 1 && digits.last() == Some(&b'0') {
        digits.pop();
    }
    if digits.is_empty() {
        digits.push(b'0');
    }
    (digits, whole_len as i64 - 1 - leading as i64 + exponent)
}

/// `%g`'s layout of significant digits: scientific when the exponent is below -4 or not below
/// the precision, else positional; no trailing zeros either way.
fn layout_g(negative: bool, digits: &[u8], exponent: i64, precision: usize) -> String {
    let mut out = Vec::with_capacity(digits.len() + 8);
    if negative {
        out.push(b'-');
    }
    if exponent < -4 || exponent >= precision as i64 {
        out.push(digits[0]);
        if digits.len() > 1 {
            out.push(b'.');
            out.extend_from_slice(&digits[1..]);
        }
        out.push(b'e');
        out.push(if exponent < 0 { b'-' } else { b'+' });
        out.extend_from_slice(format!("{:02}", exponent.unsigned_abs()).as_bytes());
    } else if exponent >= 0 {
        let whole = exponent as usize + 1;
        if digits.len() <= whole {
            out.extend_from_slice(digits);
            out.resize(out.len() + whole - digits.len(), b'0');
        } else {
            out.extend_from_slice(&digits[..whole]);
            out.push(b'.');
            out.extend_from_slice(&digits[whole..]);
        }
    } else {
        out.extend_from_slice(b"0.");
        out.resize(out.len() + (-exponent - 1) as usize, b'0');
        out.extend_from_slice(digits);
    }
    String::from_utf8(out).unwrap_or_default()
}

// ===== Decoding =====

fn decode(lua: &Lua, args: &Args, config: &Config) -> LibResult<Results> {
    if args.count() != 1 {
        return Err(Failure::arg(1, "expected 1 argument"));
    }
    let text = args.check_bytes(lua, 1)?;
    let text = text.as_bytes();
    if text.len() >= 2 && (text[0] == 0 || text[1] == 0) {
        return Err(Failure::error(
            "JSON parser does not support UTF-16 or UTF-32",
        ));
    }
    let mut parser = Parser {
        lua,
        data: &text,
        pos: 0,
        invalid_numbers: config.decode_invalid_numbers.get(),
        max_depth: config.decode_max_depth.get(),
        string: Vec::new(),
        nest: Nest::new(),
        open_slots: 0,
    };
    Ok(Results::one(parser.document()?))
}

#[derive(Clone, Copy)]
enum TokenKind {
    ObjBegin,
    ObjEnd,
    ArrBegin,
    ArrEnd,
    /// The text is in `Parser::string`.
    String,
    Number(f64),
    Boolean(bool),
    Null,
    Colon,
    Comma,
    End,
    Error(&'static str),
}

impl TokenKind {
    /// How an error message names the token.
    fn name(self) -> &'static str {
        match self {
            TokenKind::ObjBegin => "T_OBJ_BEGIN",
            TokenKind::ObjEnd => "T_OBJ_END",
            TokenKind::ArrBegin => "T_ARR_BEGIN",
            TokenKind::ArrEnd => "T_ARR_END",
            TokenKind::String => "T_STRING",
            TokenKind::Number(_) => "T_NUMBER",
            TokenKind::Boolean(_) => "T_BOOLEAN",
            TokenKind::Null => "T_NULL",
            TokenKind::Colon => "T_COLON",
            TokenKind::Comma => "T_COMMA",
            TokenKind::End => "T_END",
            TokenKind::Error(message) => message,
        }
    }
}

#[derive(Clone, Copy)]
struct Token {
    kind: TokenKind,
    /// Offset of the token, or of the error inside it.
    index: usize,
}

/// An open array (the next index to fill) or object (its `Level::key` is the pending key).
#[derive(Clone, Copy)]
enum Open {
    Array { next: i64 },
    Object,
}

struct Parser<'a> {
    lua: &'a Lua,
    data: &'a [u8],
    pos: usize,
    invalid_numbers: bool,
    max_depth: i32,
    string: Vec<u8>,
    nest: Nest<Open>,
    /// Stack slots the C parser holds for the open containers (a table, and a key for objects).
    open_slots: usize,
}

impl Parser<'_> {
    /// The byte at `index`; 0 past the end, as at a C string's terminator.
    fn at(&self, index: usize) -> u8 {
        self.data.get(index).copied().unwrap_or(0)
    }

    fn rest(&self) -> &[u8] {
        self.data.get(self.pos..).unwrap_or_default()
    }

    fn document(&mut self) -> LibResult<Value> {
        let mut token = self.next_token();
        loop {
            let mut value = match token.kind {
                TokenKind::ObjBegin => {
                    self.descend(Open::Object)?;
                    token = self.next_token();
                    if !matches!(token.kind, TokenKind::ObjEnd) {
                        token = self.object_key(token)?;
                        continue;
                    }
                    self.ascend()?
                }
                TokenKind::ArrBegin => {
                    self.descend(Open::Array { next: 1 })?;
                    token = self.next_token();
                    if !matches!(token.kind, TokenKind::ArrEnd) {
                        continue;
                    }
                    self.ascend()?
                }
                TokenKind::String => Value::String(self.lua.create_string(&self.string)?),
                TokenKind::Number(n) => Value::Number(n),
                TokenKind::Boolean(b) => Value::Boolean(b),
                TokenKind::Null => null(),
                _ => return Err(parse_error("value", token)),
            };
            // Store the value in the open containers, closing those that end with it.
            loop {
                if self.nest.depth() == 0 {
                    let end = self.next_token();
                    if !matches!(end.kind, TokenKind::End) {
                        return Err(parse_error("the end", end));
                    }
                    return Ok(value);
                }
                let open = self.store(value)?;
                let after = self.next_token();
                match (open, after.kind) {
                    (Open::Array { .. }, TokenKind::ArrEnd) | (Open::Object, TokenKind::ObjEnd) => {
                        value = self.ascend()?;
                    }
                    (_, TokenKind::Comma) => {
                        token = self.next_token();
                        if let Open::Object = open {
                            token = self.object_key(token)?;
                        }
                        break;
                    }
                    (Open::Array { .. }, _) => {
                        return Err(parse_error("comma or array end", after))
                    }
                    (Open::Object, _) => return Err(parse_error("comma or object end", after)),
                }
            }
        }
    }

    /// Stores a finished value in the innermost open container, returning which kind it is.
    fn store(&mut self, value: Value) -> LibResult<Open> {
        let Some(level) = self.nest.top_mut() else {
            return Err(Failure::error("no open JSON container"));
        };
        match &mut level.meta {
            Open::Array { next } => {
                level.table.raw_set(*next, value)?;
                *next += 1;
                Ok(Open::Array { next: *next })
            }
            Open::Object => {
                let key = std::mem::replace(&mut level.key, Value::Nil);
                level.table.raw_set(key, value)?;
                Ok(Open::Object)
            }
        }
    }

    /// Reads `"key" :` given the key's token; returns the token starting the member's value.
    fn object_key(&mut self, token: Token) -> LibResult<Token> {
        if !matches!(token.kind, TokenKind::String) {
            return Err(parse_error("object key string", token));
        }
        let key = Value::String(self.lua.create_string(&self.string)?);
        if let Some(level) = self.nest.top_mut() {
            level.key = key;
        }
        let colon = self.next_token();
        if !matches!(colon.kind, TokenKind::Colon) {
            return Err(parse_error("colon", colon));
        }
        Ok(self.next_token())
    }

    /// Opens a container, within the depth limit and the C stack's room.
    fn descend(&mut self, open: Open) -> LibResult<()> {
        let depth = self.nest.depth() + 1;
        let (held, needed) = match open {
            Open::Array { .. } => (1, 2),
            Open::Object => (2, 3),
        };
        let within_depth = i64::try_from(depth).unwrap_or(i64::MAX) <= i64::from(self.max_depth);
        if !within_depth || 1 + self.open_slots + needed > MAX_C_STACK {
            return Err(Failure::error(format!(
                "Found too many nested data structures ({depth}) at character {}",
                self.pos
            )));
        }
        self.open_slots += held;
        let level = Level {
            meta: open,
            table: self.lua.create_table()?,
            key: Value::Nil,
        };
        self.nest.push(self.lua, level)?;
        Ok(())
    }

    /// Closes the innermost container, returning it.
    fn ascend(&mut self) -> LibResult<Value> {
        let level = self.nest.pop()?;
        let level = level.ok_or_else(|| Failure::error("unbalanced JSON containers"))?;
        let held = match level.meta {
            Open::Array { .. } => 1,
            Open::Object => 2,
        };
        self.open_slots = self.open_slots.saturating_sub(held);
        Ok(Value::Table(level.table))
    }

    fn next_token(&mut self) -> Token {
        while matches!(self.at(self.pos), b' ' | b'\t' | b'\n' | b'\r') {
            self.pos += 1;
        }
        let index = self.pos;
        let single = |kind| Token { kind, index };
        let kind = match self.at(index) {
            0 => return single(TokenKind::End),
            b'{' => TokenKind::ObjBegin,
            b'}' => TokenKind::ObjEnd,
            b'[' => TokenKind::ArrBegin,
            b']' => TokenKind::ArrEnd,
            b',' => TokenKind::Comma,
            b':' => TokenKind::Colon,
            b'"' => return self.string_token(),
            b'-' | b'0'..=b'9' => {
                if !self.invalid_numbers && self.at_invalid_number() {
                    return self.error_token("invalid number");
                }
                return self.number_token();
            }
            b'f' | b'i' | b'I' | b'n' | b'N' | b't' | b'+' => return self.word_token(),
            _ => return self.error_token("invalid token"),
        };
        self.pos += 1;
        single(kind)
    }

    fn error_token(&self, message: &'static str) -> Token {
        Token {
            kind: TokenKind::Error(message),
            index: self.pos,
        }
    }

    /// `true`, `false`, `null`, or (when allowed) `inf`, `nan`, `+1` and the like.
    fn word_token(&mut self) -> Token {
        let index = self.pos;
        let words: [(&[u8], TokenKind); 3] = [
            (b"true", TokenKind::Boolean(true)),
            (b"false", TokenKind::Boolean(false)),
            (b"null", TokenKind::Null),
        ];
        for (word, kind) in words {
            if self.rest().starts_with(word) {
                self.pos += word.len();
                return Token { kind, index };
            }
        }
        if self.invalid_numbers && self.at_invalid_number() {
            return self.number_token();
        }
        self.error_token("invalid token")
    }

    /// lua-cjson's `json_is_invalid_number`: numbers strict JSON refuses but `strtod` reads
    /// (a leading `+`, hex, leading zeros, `inf`, `nan`).
    fn at_invalid_number(&self) -> bool {
        let mut p = self.pos;
        if self.at(p) == b'+' {
            return true;
        }
        if self.at(p) == b'-' {
            p += 1;
        }
        let first = self.at(p);
        if first == b'0' {
            let second = self.at(p + 1);
            return second | 0x20 == b'x' || second.is_ascii_digit();
        }
        // C compares a plain (signed) char: bytes from 0x80 count as small.
        if (first as i8) <= b'9' as i8 {
            return false;
        }
        let word = self.data.get(p..).unwrap_or_default();
        starts_with_ignore_case(word, b"inf") || starts_with_ignore_case(word, b"nan")
    }

    fn number_token(&mut self) -> Token {
        match parse_c_double(self.rest()) {
            Some((value, len)) => {
                let index = self.pos;
                self.pos += len;
                Token {
                    kind: TokenKind::Number(value),
                    index,
                }
            }
            None => self.error_token("invalid number"),
        }
    }

    fn string_token(&mut self) -> Token {
        let index = self.pos;
        self.pos += 1;
        self.string.clear();
        loop {
            let byte = self.at(self.pos);
            match byte {
                b'"' => break,
                0 => return self.error_token("unexpected end of string"),
                b'\\' => {
                    let translated = match self.at(self.pos + 1) {
                        b'"' => b'"',
                        b'\\' => b'\\',
                        b'/' => b'/',
                        b'b' => 0x08,
                        b't' => b'\t',
                        b'n' => b'\n',
                        b'f' => 0x0c,
                        b'r' => b'\r',
                        b'u' => match self.unicode_escape() {
                            Some(len) => {
                                self.pos += len;
                                continue;
                            }
                            None => return self.error_token("invalid unicode escape code"),
                        },
                        _ => return self.error_token("invalid escape code"),
                    };
                    self.string.push(translated);
                    self.pos += 2;
                }
                _ => {
                    self.string.push(byte);
                    self.pos += 1;
                }
            }
        }
        self.pos += 1;
        Token {
            kind: TokenKind::String,
            index,
        }
    }

    /// Appends the UTF-8 of the `\uXXXX` escape (or surrogate pair) at `pos`; returns the
    /// length of the escape text, `None` when it is invalid.
    fn unicode_escape(&mut self) -> Option<usize> {
        let mut codepoint = self.hex4(self.pos + 2)?;
        let mut len = 6;
        if codepoint & 0xF800 == 0xD800 {
            if codepoint & 0x400 != 0 {
                return None;
            }
            if self.at(self.pos + 6) != b'\\' || self.at(self.pos + 7) != b'u' {
                return None;
            }
            let low = self.hex4(self.pos + 8)?;
            if low & 0xFC00 != 0xDC00 {
                return None;
            }
            codepoint = (((codepoint & 0x3FF) << 10) | (low & 0x3FF)) + 0x10000;
            len = 12;
        }
        let character = char::from_u32(codepoint)?;
        let mut buffer = [0; 4];
        self.string
            .extend_from_slice(character.encode_utf8(&mut buffer).as_bytes());
        Some(len)
    }

    fn hex4(&self, at: usize) -> Option<u32> {
        (at..at + 4).try_fold(0, |acc, i| {
            Some(acc << 4 | char::from(self.at(i)).to_digit(16)?)
        })
    }
}

fn parse_error(expected: &str, token: Token) -> Failure {
    Failure::error(format!(
        "Expected {expected} but found {} at character {}",
        token.kind.name(),
        token.index + 1
    ))
}

fn starts_with_ignore_case(text: &[u8], word: &[u8]) -> bool {
    text.len() >= word.len() && text[..word.len()].eq_ignore_ascii_case(word)
}

// ===== Numbers as glibc's strtod reads them =====

/// The number at the start of `text` as `strtod` reads it: its value and length, or `None`
/// when no number starts there. Reading stops at a NUL byte or the end.
fn parse_c_double(text: &[u8]) -> Option<(f64, usize)> {
    let at = |i: usize| text.get(i).copied().unwrap_or(0);
    let mut i = 0;
    while matches!(at(i), b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r') {
        i += 1;
    }
    let negative = at(i) == b'-';
    if matches!(at(i), b'+' | b'-') {
        i += 1;
    }
    let apply_sign = |v: f64| if negative { -v } else { v };
    let rest = text.get(i..).unwrap_or_default();
    if starts_with_ignore_case(rest, b"inf") {
        let len = if starts_with_ignore_case(rest, b"infinity") {
            8
        } else {
            3
        };
        return Some((apply_sign(f64::INFINITY), i + len));
    }
    if starts_with_ignore_case(rest, b"nan") {
        let (nan, len) = parse_nan_tail(&rest[3..]);
        return Some((apply_sign(nan), i + 3 + len));
    }
    let hex_start =
        at(i + 2).is_ascii_hexdigit() || (at(i + 2) == b'.' && at(i + 3).is_ascii_hexdigit());
    if at(i) == b'0' && at(i + 1) | 0x20 == b'x' && hex_start {
        let (value, len) = parse_hex_float(&rest[2..]);
        return Some((apply_sign(value), i + 2 + len));
    }
    let len = decimal_length(rest)?;
    let digits = std::str::from_utf8(&rest[..len]).ok()?;
    let value: f64 = digits.parse().ok()?;
    Some((apply_sign(value), i + len))
}

/// Length of the decimal number (digits, fraction, exponent) at the start of `text`; `None`
/// without any digit.
fn decimal_length(text: &[u8]) -> Option<usize> {
    let at = |i: usize| text.get(i).copied().unwrap_or(0);
    let count_digits = |from: usize| (from..).take_while(|&i| at(i).is_ascii_digit()).count();
    let whole = count_digits(0);
    let mut len = whole;
    if at(len) == b'.' {
        let fraction = count_digits(len + 1);
        if whole + fraction == 0 {
            return None;
        }
        len += 1 + fraction;
    } else if whole == 0 {
        return None;
    }
    if at(len) | 0x20 == b'e' {
        let mut exponent = len + 1;
        if matches!(at(exponent), b'+' | b'-') {
            exponent += 1;
        }
        let digits = count_digits(exponent);
        if digits > 0 {
            len = exponent + digits;
        }
    }
    Some(len)
}

/// After `nan`: glibc reads an optional `(chars)` whose number (base prefix as `strtoull`)
/// becomes the NaN's payload. Returns the NaN and the length read after `nan`.
fn parse_nan_tail(text: &[u8]) -> (f64, usize) {
    const QUIET_NAN: u64 = 0x7FF8_0000_0000_0000;
    const PAYLOAD_MASK: u64 = (1 << 51) - 1;
    let plain = (f64::from_bits(QUIET_NAN), 0);
    if text.first() != Some(&b'(') {
        return plain;
    }
    let inner = text[1..]
        .iter()
        .take_while(|b| b.is_ascii_alphanumeric() || **b == b'_')
        .count();
    if text.get(1 + inner) != Some(&b')') {
        return plain;
    }
    let payload = parse_whole_unsigned(&text[1..1 + inner]).unwrap_or(0) & PAYLOAD_MASK;
    (f64::from_bits(QUIET_NAN | payload), inner + 2)
}

/// `strtoull(text, &end, 0)` when it reads all of `text` (saturating on overflow); `None`
/// when something is left over.
fn parse_whole_unsigned(text: &[u8]) -> Option<u64> {
    let (digits, radix) = match text {
        [] => return Some(0),
        [b'0', x, first, ..] if *x | 0x20 == b'x' && first.is_ascii_hexdigit() => (&text[2..], 16),
        [b'0', ..] => (text, 8),
        _ => (text, 10),
    };
    digits.iter().try_fold(0u64, |acc, &b| {
        let digit = char::from(b).to_digit(radix)?;
        Some(
            acc.saturating_mul(u64::from(radix))
                .saturating_add(u64::from(digit)),
        )
    })
}

/// A hex float after its `0x`: digits, optional fraction, optional binary exponent `p`.
/// Returns the value, rounded to nearest even as glibc does, and its length.
fn parse_hex_float(text: &[u8]) -> (f64, usize) {
    let at = |i: usize| text.get(i).copied().unwrap_or(0);
    let digit = |i: usize| char::from(at(i)).to_digit(16).map(u64::from);
    let mut mantissa: u64 = 0;
    let mut exponent: i64 = 0;
    let mut sticky = false;
    let mut i = 0;
    let mut take = |d: u64, fraction: bool, mantissa: &mut u64, exponent: &mut i64| {
        if *mantissa >> 60 == 0 {
            *mantissa = (*mantissa << 4) | d;
            if fraction {
                *exponent -= 4;
            }
        } else {
            sticky |= d != 0;
            if !fraction {
                *exponent += 4;
            }
        }
    };
    while let Some(d) = digit(i) {
        take(d, false, &mut mantissa, &mut exponent);
        i += 1;
    }
    if at(i) == b'.' {
        i += 1;
        while let Some(d) = digit(i) {
            take(d, true, &mut mantissa, &mut exponent);
            i += 1;
        }
    }
    if at(i) | 0x20 == b'p' {
        let mut j = i + 1;
        let negative = at(j) == b'-';
        if matches!(at(j), b'+' | b'-') {
            j += 1;
        }
        if at(j).is_ascii_digit() {
            let mut power: i64 = 0;
            while at(j).is_ascii_digit() {
                power = (power * 10 + i64::from(at(j) - b'0')).min(1 << 40);
                j += 1;
            }
            exponent += if negative { -power } else { power };
            i = j;
        }
    }
    (compose_binary(mantissa, exponent, sticky), i)
}

/// `(mantissa + a little if sticky) * 2^exponent`, rounded to the nearest double (ties to even).
fn compose_binary(mantissa: u64, exponent: i64, sticky: bool) -> f64 {
    if mantissa == 0 {
        return 0.0;
    }
    let leading = i64::from(mantissa.leading_zeros());
    let m = u128::from(mantissa << leading);
    let e = exponent - leading;
    let top = e + 63;
    if top > 1023 {
        return f64::INFINITY;
    }
    let ulp = if top >= -1022 { top - 52 } else { -1074 };
    let shift = ulp - e;
    let (mut q, remainder, half) = if shift >= 128 {
        (0, m, u128::MAX)
    } else {
        let shift = shift as u32;
        (m >> shift, m & ((1 << shift) - 1), 1u128 << (shift - 1))
    };
    if remainder > half || (remainder == half && (sticky || q & 1 == 1)) {
        q += 1;
    }
    (q as f64) * power_of_two(ulp)
}

/// 2^k for k in -1074..=1023, exactly.
fn power_of_two(k: i64) -> f64 {
    if k >= -1022 {
        f64::from_bits(((k + 1023) as u64) << 52)
    } else {
        f64::from_bits(1 << (k + 1074))
    }
}

#[cfg(test)]
mod tests {
    use super::{format_g, parse_c_double};
    use crate::lua::libs::test_support::{check_all, check_each_fresh};

    /// Expected values from Redis 7.0.15 (`EVAL "return tostring(<expr>)" 0`).
    #[test]
    fn encode_matches_redis() {
        check_all(&[
            ("cjson.encode({1,2,3})", "[1,2,3]"),
            ("cjson.encode({})", "{}"),
            (
                r#"cjson.encode("a/b\"c\\\1\127\128\r\n\t\b\f\31")"#,
                "\"a\\/b\\\"c\\\\\\u0001\\u007f\u{fffd}\\r\\n\\t\\b\\f\\u001f\"",
            ),
            ("cjson.encode(0.1)", "0.1"),
            ("cjson.encode(1/3)", "0.33333333333333"),
            ("cjson.encode(-0.0)", "-0"),
            ("cjson.encode(1e300)", "1e+300"),
            ("cjson.encode(123456789012345678)", "1.2345678901235e+17"),
            ("cjson.encode(2^53)", "9.007199254741e+15"),
            ("cjson.encode(1e-5)", "1e-05"),
            ("cjson.encode(0.0001)", "0.0001"),
            ("cjson.encode(1e15)", "1e+15"),
            ("cjson.encode(100000000000000)", "1e+14"),
            ("cjson.encode(12345678901234.5)", "12345678901234"),
            ("cjson.encode(2.5e-10)", "2.5e-10"),
            ("cjson.encode(5e-324)", "4.9406564584125e-324"),
            (
                "cjson.encode(1.7976931348623157e308)",
                "1.7976931348623e+308",
            ),
            ("cjson.encode({[1]=1,[2]=2,[4]=4})", "[1,2,null,4]"),
            ("cjson.encode({[2^40]=1})", "{\"1099511627776\":1}"),
            ("cjson.encode({[1.5]=1})", "{\"1.5\":1}"),
            ("cjson.encode({[-1]=1})", "{\"-1\":1}"),
            ("cjson.encode({[0]=1})", "{\"0\":1}"),
            ("cjson.encode({[0.1]=1})", "{\"0.1\":1}"),
            ("cjson.encode({1,2,x=3})", "{\"1\":1,\"2\":2,\"x\":3}"),
            ("cjson.encode({a={b={c={}}}})", "{\"a\":{\"b\":{\"c\":{}}}}"),
            ("cjson.encode(cjson.null)", "null"),
            ("cjson.encode({cjson.null, nil, 3})", "[null,null,3]"),
            ("cjson.encode(nil)", "null"),
            ("cjson.encode(true)", "true"),
        ]);
    }

    #[test]
    fn encode_errors_match_redis() {
        check_all(&[
            (
                "e(cjson.encode, 0/0)",
                "E:Cannot serialise number: must not be NaN or Inf",
            ),
            (
                "e(cjson.encode, 1/0)",
                "E:Cannot serialise number: must not be NaN or Inf",
            ),
            (
                "e(cjson.encode, {1/0})",
                "E:Cannot serialise number: must not be NaN or Inf",
            ),
            (
                "e(cjson.encode, {[1/0]=1})",
                "E:Cannot serialise number: must not be NaN or Inf",
            ),
            (
                "e(cjson.encode, {[true]=1})",
                "E:Cannot serialise boolean: table key must be a number or string",
            ),
            (
                "e(cjson.encode, {[1]=1,[30]=2})",
                "E:Cannot serialise table: excessively sparse array",
            ),
            (
                "e(cjson.encode)",
                "E:bad argument #1 to '?' (expected 1 argument)",
            ),
            (
                "e(cjson.encode, 1, 2)",
                "E:bad argument #1 to '?' (expected 1 argument)",
            ),
            (
                "e(cjson.encode, tostring)",
                "E:Cannot serialise function: type not supported",
            ),
            (
                "e(cjson.encode, coroutine.create(function() end))",
                "E:Cannot serialise thread: type not supported",
            ),
            (
                "e(function() return cjson.encode({[1]=1,[20]=2}) end)",
                "E:user_script:1: Cannot serialise table: excessively sparse array",
            ),
        ]);
    }

    #[test]
    fn settings_match_redis() {
        check_each_fresh(&[
            ("pk(cjson.encode_sparse_array())", "false|2|10"),
            ("pk(cjson.encode_sparse_array(true, 3, 5))", "true|3|5"),
            ("pk(cjson.encode_sparse_array(\"off\", 2, 10))", "false|2|10"),
            ("e(cjson.encode_sparse_array, \"maybe\")", "E:bad argument #1 to '?' (invalid option 'maybe')"),
            (
                "e(cjson.encode_sparse_array, nil, -1)",
                "E:bad argument #1 to '?' (expected integer between 0 and 2147483647)",
            ),
            (
                "e(cjson.encode_sparse_array, nil, nil, -1)",
                "E:bad argument #1 to '?' (expected integer between 0 and 2147483647)",
            ),
            ("e(cjson.encode_sparse_array, 1,2,3,4)", "E:bad argument #4 to '?' (found too many arguments)"),
            ("e(cjson.encode_sparse_array, 1)", "E:bad argument #1 to '?' (invalid option '1')"),
            ("pk(cjson.encode_max_depth())", "1000"),
            ("e(cjson.encode_max_depth, 0)", "E:bad argument #1 to '?' (expected integer between 1 and 2147483647)"),
            ("pk(cjson.encode_number_precision())", "14"),
            ("e(cjson.encode_number_precision, 15)", "E:bad argument #1 to '?' (expected integer between 1 and 14)"),
            ("e(cjson.encode_number_precision, \"x\")", "E:bad argument #1 to '?' (number expected, got string)"),
            ("pk(cjson.encode_number_precision(2^32+3))", "3"),
            ("e(cjson.encode_number_precision, 2^31)", "E:bad argument #1 to '?' (expected integer between 1 and 14)"),
            ("pk(cjson.encode_keep_buffer())", "true"),
            ("pk(cjson.encode_invalid_numbers())", "false"),
            ("pk(cjson.encode_invalid_numbers(\"null\"))", "null"),
            ("pk(cjson.encode_invalid_numbers(true))", "true"),
            ("pk(cjson.decode_invalid_numbers())", "true"),
            ("pk(cjson.decode_max_depth(\"5\"))", "5"),
            ("pk(cjson.encode_max_depth(2.9))", "2"),
            ("cjson._NAME .. cjson._VERSION", "cjson2.1.0"),
            ("type(cjson.new)", "function"),
            ("tostring(cjson.null)", "userdata: (nil)"),
            ("cjson.null == cjson.decode('null')", "true"),
            ("pk(cjson.new().encode_max_depth(), cjson.encode_max_depth(5), cjson.new().encode_max_depth())", "1000|5|1000"),
            (
                "e(function() cjson.encode_sparse_array(true, 3, -1) return pk(cjson.encode_sparse_array()) end)",
                "E:user_script:1: bad argument #1 to 'encode_sparse_array' (expected integer between 0 and 2147483647)",
            ),
            ("pk(pcall(cjson.encode_sparse_array, true, 3, -1), cjson.encode_sparse_array())", "false|true|3|10"),
            (
                "pk(cjson.encode_number_precision(3), cjson.encode(math.pi), cjson.encode({[1/3]=2/3}))",
                "3|3.14|{\"0.333\":0.667}",
            ),
            ("pk(cjson.encode_invalid_numbers(true), cjson.encode({0/0, 1/0, -1/0}))", "true|[nan,inf,-inf]"),
            ("pk(cjson.encode_invalid_numbers('null'), cjson.encode({0/0, 1/0, 3}))", "null|[null,null,3]"),
            ("pk(cjson.encode_invalid_numbers(true), cjson.encode({[1/0]=1}))", "true|{\"inf\":1}"),
            ("pk(cjson.encode_sparse_array(true), cjson.encode({[1]=1,[30]=2}))", "true|{\"1\":1,\"30\":2}"),
            ("pk(cjson.encode_sparse_array(false, 0), cjson.encode({[1]=1,[13]=2}))", "false|[1,null,null,null,null,null,null,null,null,null,null,null,2]"),
            (
                "e(function() cjson.decode_max_depth(2) return cjson.decode(\"[[[1]]]\") end)",
                "E:user_script:1: Found too many nested data structures (3) at character 3",
            ),
            (
                "e(function() cjson.decode_max_depth(2) return cjson.decode(\"{\\\"a\\\":{\\\"b\\\":{}}}\") end)",
                "E:user_script:1: Found too many nested data structures (3) at character 11",
            ),
            (
                "e(function() cjson.encode_max_depth(2) return cjson.encode({{{1}}}) end)",
                "E:user_script:1: Cannot serialise, excessive nesting (3)",
            ),
            (
                "e(function() cjson.decode_invalid_numbers(false) return cjson.decode('[1, 0x10]') end)",
                "E:user_script:1: Expected value but found invalid number at character 5",
            ),
            (
                "e(function() cjson.decode_invalid_numbers(false) return cjson.decode('Infinity') end)",
                "E:user_script:1: Expected value but found invalid token at character 1",
            ),
        ]);
    }

    /// Nesting limits with the depth settings raised: the C stack's limit then applies.
    #[test]
    fn deep_nesting_matches_redis() {
        check_each_fresh(&[
            (
                "e(function() cjson.encode_max_depth(100000) local t = {} t[1] = t return cjson.encode(t) end)",
                "E:user_script:1: Cannot serialise, excessive nesting (7998)",
            ),
            (
                "e(function() cjson.encode_max_depth(100000) local t = {} t.a = t return cjson.encode(t) end)",
                "E:user_script:1: Cannot serialise, excessive nesting (4000)",
            ),
            (
                "e(function() cjson.encode_max_depth(100000) local t = {} local c = t for i = 1, 7996 do c[1] = {} c = c[1] end return #cjson.encode(t) end)",
                "OK:15994",
            ),
            (
                "e(function() cjson.decode_max_depth(100000) return cjson.decode(string.rep(\"[\", 8000)) end)",
                "E:user_script:1: Found too many nested data structures (7999) at character 7999",
            ),
            (
                "e(function() cjson.decode_max_depth(100000) return cjson.decode(string.rep(\"{\\\"a\\\":\", 5000)) end)",
                "E:user_script:1: Found too many nested data structures (4000) at character 19996",
            ),
            (
                "e(function() cjson.decode_max_depth(100000) cjson.encode_max_depth(100000) return #cjson.encode(cjson.decode(string.rep(\"[\", 7997) .. string.rep(\"]\", 7997))) end)",
                "OK:15994",
            ),
            (
                "e(function() cjson.decode_max_depth(100000) cjson.encode_max_depth(100000) return #cjson.encode(cjson.decode(string.rep(\"{\\\"a\\\":\", 3998) .. \"1\" .. string.rep(\"}\", 3998))) end)",
                "OK:23989",
            ),
        ]);
    }

    #[test]
    fn strings_and_key_order_match_redis() {
        check_all(&[
            (
                "e(function() local s = '' for i = 0, 255 do s = s .. string.char(i) end return hex(cjson.decode(cjson.encode(s))) == hex(s) end)",
                "OK:true",
            ),
            (
                "e(function() local t = {} for i = 1, 12 do t['key' .. i] = i end return cjson.encode(t) end)",
                "OK:{\"key6\":6,\"key9\":9,\"key2\":2,\"key1\":1,\"key10\":10,\"key12\":12,\"key11\":11,\"key5\":5,\"key7\":7,\"key3\":3,\"key4\":4,\"key8\":8}",
            ),
            (
                "e(function() local t = {} for i = 1, 30 do t[i] = i end for i = 1, 30, 3 do t[i] = nil end return cjson.encode(t) end)",
                "OK:[null,2,3,null,5,6,null,8,9,null,11,12,null,14,15,null,17,18,null,20,21,null,23,24,null,26,27,null,29,30]",
            ),
            ("e(function() return cjson.encode({[1e-300]=1, [2]=-0.0}) end)", "OK:{\"1e-300\":1,\"2\":-0}"),
            ("e(function() return cjson.encode(cjson.decode('[1e-300, -0.0, -1e-310]')) end)", "OK:[1e-300,-0,-1e-310]"),
        ]);
    }

    #[test]
    fn decode_matches_redis() {
        check_all(&[
            ("hex(cjson.decode(\"\\\"\\\\ud83d\\\\ude00\\\\u00e9\\\\u0041\\\\u20AC\\\\u0000\\\"\"))", "f09f9880c3a941e282ac00"),
            ("cjson.decode(\"1e5\")", "100000"),
            ("cjson.decode(\"0x10\")", "16"),
            ("cjson.decode(\"+5\")", "5"),
            ("cjson.decode(\"-Infinity\")", "-inf"),
            ("cjson.decode(\"NaN\")", "nan"),
            ("cjson.decode(\"-nan\")", "-nan"),
            ("cjson.decode(\"inf\")", "inf"),
            ("cjson.decode(\"012\")", "12"),
            ("cjson.decode(\" 1.5 \")", "1.5"),
            ("cjson.decode(\"[1]\\0junk\")[1]", "1"),
            ("cjson.decode(\"1.\")", "1"),
            ("cjson.decode(\"0x1p3\")", "8"),
            ("cjson.decode(\"0x.8\")", "0.5"),
            ("cjson.decode(\"-0x1.8p1\")", "-3"),
            ("cjson.decode(\"1e400\")", "inf"),
            ("cjson.decode(\"-1e-400\")", "-0"),
            ("cjson.decode(\"4.9e-324\")", "4.9406564584125e-324"),
            ("cjson.decode(\"infinity\")", "inf"),
            ("e(cjson.decode, \"Inf\")", "OK:inf"),
            ("e(cjson.decode, \"NAN(123)\")", "OK:nan"),
            ("cjson.decode(12)", "12"),
            ("cjson.decode(\"null\") == cjson.null", "true"),
            (
                "cjson.encode(cjson.decode(\"{\\\"a\\\":[1,2,{\\\"b\\\":null}],\\\"c\\\":\\\"\\\\/x\\\"}\"))",
                "{\"a\":[1,2,{\"b\":null}],\"c\":\"\\/x\"}",
            ),
            ("cjson.encode(cjson.decode('[[],{},[[]],{\"\":{}}]'))", "[{},{},[{}],{\"\":{}}]"),
            ("cjson.decode('[1,\"a\",true,false,null]')[5] == cjson.null", "true"),
            ("#cjson.decode('[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20]')", "20"),
            ("cjson.decode('{\"a\":1,\"a\":2}').a", "2"),
            ("hex(cjson.decode('\"\\1\\127\\255\"'))", "017fff"),
        ]);
    }

    #[test]
    fn decode_errors_match_redis() {
        check_all(&[
            (
                "e(cjson.decode, \"x\")",
                "E:Expected value but found invalid token at character 1",
            ),
            (
                "e(cjson.decode, \"\")",
                "E:Expected value but found T_END at character 1",
            ),
            (
                "e(cjson.decode, \"[1,]\")",
                "E:Expected value but found T_ARR_END at character 4",
            ),
            (
                "e(cjson.decode, \"[1 2]\")",
                "E:Expected comma or array end but found T_NUMBER at character 4",
            ),
            (
                "e(cjson.decode, \"{\\\"a\\\" 1}\")",
                "E:Expected colon but found T_NUMBER at character 6",
            ),
            (
                "e(cjson.decode, \"{1:1}\")",
                "E:Expected object key string but found T_NUMBER at character 2",
            ),
            (
                "e(cjson.decode, \"{\\\"a\\\":1,}\")",
                "E:Expected object key string but found T_OBJ_END at character 8",
            ),
            (
                "e(cjson.decode, \"{\\\"a\\\":1 \\\"b\\\"}\")",
                "E:Expected comma or object end but found T_STRING at character 8",
            ),
            (
                "e(cjson.decode, \"\\\"abc\")",
                "E:Expected value but found unexpected end of string at character 5",
            ),
            (
                "e(cjson.decode, \"\\\"a\\\\qb\\\"\")",
                "E:Expected value but found invalid escape code at character 3",
            ),
            (
                "e(cjson.decode, \"\\\"a\\\\u12\\\"\")",
                "E:Expected value but found invalid unicode escape code at character 3",
            ),
            (
                "e(cjson.decode, \"\\\"\\\\ud800\\\"\")",
                "E:Expected value but found invalid unicode escape code at character 2",
            ),
            (
                "e(cjson.decode, \"\\\"\\\\udc00\\\\ud800\\\"\")",
                "E:Expected value but found invalid unicode escape code at character 2",
            ),
            (
                "e(cjson.decode, \"\\\"\\\\ud800\\\\u0041\\\"\")",
                "E:Expected value but found invalid unicode escape code at character 2",
            ),
            (
                "e(cjson.decode, \"1 2\")",
                "E:Expected the end but found T_NUMBER at character 3",
            ),
            (
                "e(cjson.decode, \"tru\")",
                "E:Expected value but found invalid token at character 1",
            ),
            (
                "e(cjson.decode, \"nul\")",
                "E:Expected value but found invalid token at character 1",
            ),
            (
                "e(cjson.decode, \"-\")",
                "E:Expected value but found invalid number at character 1",
            ),
            (
                "e(cjson.decode, \"- 1\")",
                "E:Expected value but found invalid number at character 1",
            ),
            (
                "e(cjson.decode, \"1e\")",
                "E:Expected the end but found invalid token at character 2",
            ),
            (
                "e(cjson.decode, \".5\")",
                "E:Expected value but found invalid token at character 1",
            ),
            (
                "e(cjson.decode, \"\\0[1]\")",
                "E:JSON parser does not support UTF-16 or UTF-32",
            ),
            (
                "e(cjson.decode, \"1\\0\")",
                "E:JSON parser does not support UTF-16 or UTF-32",
            ),
            (
                "e(cjson.decode, \"[\\\"a\\0b\\\"]\")",
                "E:Expected value but found unexpected end of string at character 4",
            ),
            (
                "e(cjson.decode, \"infinit\")",
                "E:Expected the end but found invalid token at character 4",
            ),
            (
                "e(cjson.decode, \"0x\")",
                "E:Expected the end but found invalid token at character 2",
            ),
            (
                "e(cjson.decode, \"0xg\")",
                "E:Expected the end but found invalid token at character 2",
            ),
            (
                "e(cjson.decode, \"nan(\")",
                "E:Expected the end but found invalid token at character 4",
            ),
            (
                "e(cjson.decode, \"nan(-1)\")",
                "E:Expected the end but found invalid token at character 4",
            ),
            (
                "e(cjson.decode)",
                "E:bad argument #1 to '?' (expected 1 argument)",
            ),
            (
                "e(cjson.decode, 1, 2)",
                "E:bad argument #1 to '?' (expected 1 argument)",
            ),
            (
                "e(cjson.decode, {})",
                "E:bad argument #1 to '?' (string expected, got table)",
            ),
            (
                "e(cjson.decode, string.rep('[', 1001))",
                "E:Found too many nested data structures (1001) at character 1001",
            ),
            (
                "e(function() return cjson.decode('x') end)",
                "E:user_script:1: Expected value but found invalid token at character 1",
            ),
            (
                "e(function() local d = cjson.decode; return d(1, 2) end)",
                "E:user_script:1: bad argument #1 to 'd' (expected 1 argument)",
            ),
        ]);
    }

    #[test]
    fn nan_payloads_and_hex_floats_match_redis() {
        check_all(&[
            (
                "hex(cmsgpack.pack(cjson.decode(\"nan(123)\")))",
                "cb7ff800000000007b",
            ),
            (
                "hex(cmsgpack.pack(cjson.decode(\"nan(0x10)\")))",
                "cb7ff8000000000010",
            ),
            (
                "hex(cmsgpack.pack(cjson.decode(\"nan(abc)\")))",
                "cb7ff8000000000000",
            ),
            (
                "hex(cmsgpack.pack(cjson.decode(\"nan(0xfffffffffffffffff)\")))",
                "cb7fffffffffffffff",
            ),
            (
                "hex(cmsgpack.pack(cjson.decode(\"-nan\")))",
                "cbfff8000000000000",
            ),
            (
                "hex(cmsgpack.pack(cjson.decode(\"NaN(010)\")))",
                "cb7ff8000000000008",
            ),
            (
                "hex(cmsgpack.pack(cjson.decode(\"nan()\")))",
                "cb7ff8000000000000",
            ),
            (
                "hex(cmsgpack.pack(cjson.decode(\"nan(_1)\")))",
                "cb7ff8000000000000",
            ),
            (
                "hex(cmsgpack.pack(cjson.decode(\"nan(9999999999999999999999)\")))",
                "cb7fffffffffffffff",
            ),
            (
                "hex(cmsgpack.pack(cjson.decode(\"nan(0x8000000000001)\")))",
                "cb7ff8000000000001",
            ),
            (
                "hex(cmsgpack.pack(cjson.decode(\"1e99999999999999999999\")))",
                "ca7f800000",
            ),
            (
                "hex(cmsgpack.pack(cjson.decode(\"0x1p99999999999999999999\")))",
                "ca7f800000",
            ),
            (
                "hex(cmsgpack.pack(cjson.decode(\"0x1.fffffffffffff8p1023\")))",
                "ca7f800000",
            ),
            ("hex(cmsgpack.pack(cjson.decode(\"0x1p-1075\")))", "00"),
            (
                "hex(cmsgpack.pack(cjson.decode(\"0x1.8p-1074\")))",
                "cb0000000000000002",
            ),
            (
                "hex(cmsgpack.pack(cjson.decode(\"0x0.0000000000001p-1022\")))",
                "cb0000000000000001",
            ),
        ]);
    }

    #[test]
    fn format_g_matches_printf() {
        let cases: [(f64, usize, &str); 12] = [
            (0.0, 14, "0"),
            (-0.0, 14, "-0"),
            (100.0, 14, "100"),
            (1e14, 14, "1e+14"),
            (99999999999999.0, 14, "99999999999999"),
            (999999999999999.0, 14, "1e+15"),
            (0.5, 1, "0.5"),
            (2.5, 1, "2"),
            (0.00012345, 3, "0.000123"),
            (0.000012345, 3, "1.23e-05"),
            (1.5e300, 2, "1.5e+300"),
            (123456.0, 3, "1.23e+05"),
        ];
        for (value, precision, expected) in cases {
            assert_eq!(
                format_g(value, precision),
                expected,
                "{value} at {precision}"
            );
        }
    }

    #[test]
    fn strtod_stops_where_glibc_does() {
        assert_eq!(parse_c_double(b"12abc"), Some((12.0, 2)));
        assert_eq!(parse_c_double(b"1e+"), Some((1.0, 1)));
        assert_eq!(parse_c_double(b"-.5e1x"), Some((-5.0, 5)));
        assert_eq!(parse_c_double(b"0x1P-2"), Some((0.25, 6)));
        assert_eq!(parse_c_double(b"0x"), Some((0.0, 1)));
        assert_eq!(parse_c_double(b"-"), None);
        assert_eq!(parse_c_double(b"."), None);
        assert_eq!(parse_c_double(b"INFINITYx"), Some((f64::INFINITY, 8)));
    }
}
