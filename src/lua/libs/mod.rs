//! The C libraries Redis 7.0 embeds in its Lua interpreter, written in Rust on mlua:
//! `bit`, `struct`, `cjson` and `cmsgpack`.
//!
//! Scripts must see these functions exactly as Redis's C versions: C functions whose errors are
//! plain Lua strings raised the lauxlib way (`luaL_error` prefixes the calling line,
//! `luaL_argerror` writes "bad argument #n to 'name' (...)"). mlua raises a Rust error as a
//! userdata value instead, so every Rust body is reached through a small C closure,
//! [`call_through`], that turns the body's [`Failure`] into the error lauxlib would raise. That
//! closure (and the call creating it) is the only unsafe code of the libraries.
//!
//! Two mlua properties shape the helpers below:
//! - mlua reads a Lua number in (-ε, ε) as `Value::Integer(0)`, losing -0.0 and tiny values, so
//!   numbers are re-read as `f64` wherever that could happen ([`raw_get_exact`], [`Args`]).
//! - each live mlua reference takes a slot of a reference stack of about 8000 entries, so deep
//!   structures park their open levels in a Lua table ([`Nest`]) and long result lists travel in
//!   a Lua table ([`Results`]): no script can exhaust it.
//!
//! Two differences of the interpreter itself show through these libraries:
//! - Redis 7.0 patched Lua to hash every byte of a string; stock Lua 5.1 (mlua's vendored one)
//!   samples strings of 32 bytes or more. Tables keyed by such strings are walked in another
//!   `next` order, so `cjson.encode` and `cmsgpack.pack` write their members in another order.
//! - mlua builds Lua with API checks in debug builds, where `pcall` of any C function returning
//!   more than about 20 values aborts on an assertion (Lua 5.1's `pcall` pushes its status
//!   without checking the stack); release builds behave as Redis.

mod bit;
mod cjson;
mod cmsgpack;
mod structlib;

use std::ffi::c_int;
use std::rc::Rc;

use mlua::{ffi, Function, IntoLua, Lua, MultiValue, Table, Value};

/// Installs `bit`, `struct`, `cjson` and `cmsgpack` as globals of `lua`.
pub fn load_all(lua: &Lua) -> mlua::Result<()> {
    let helpers = Helpers::load(lua)?;
    let globals = lua.globals();
    globals.raw_set("cjson", cjson::open(lua, &helpers)?)?;
    globals.raw_set("struct", structlib::open(lua)?)?;
    globals.raw_set("cmsgpack", cmsgpack::open(lua, &helpers)?)?;
    globals.raw_set("bit", bit::open(lua)?)?;
    Ok(())
}

/// Lua 5.1's `LUAI_MAXCSTACK`: the most stack slots a C function may use. The C libraries fail
/// with their own messages when they would need more; the Rust versions count slots the same way.
pub(crate) const MAX_C_STACK: usize = 8000;

/// How a library function fails: the error its C original raises.
#[derive(Debug)]
pub(crate) enum Failure {
    /// `luaL_error`: the message, prefixed with the position of the calling Lua line.
    Error(Vec<u8>),
    /// `luaL_argerror(narg, message)`.
    Arg(i32, Vec<u8>),
    /// An error the Lua core raises from inside a C function, without position
    /// (for example "table index is nil").
    Raw(Vec<u8>),
    /// A failure of mlua itself (memory), passed through as is.
    Lua(mlua::Error),
}

impl Failure {
    pub(crate) fn error(message: impl Into<Vec<u8>>) -> Failure {
        Failure::Error(message.into())
    }

    pub(crate) fn arg(narg: usize, message: impl Into<Vec<u8>>) -> Failure {
        Failure::Arg(i32::try_from(narg).unwrap_or(i32::MAX), message.into())
    }

    /// `luaL_checkstack`'s failure.
    pub(crate) fn stack_overflow(what: &str) -> Failure {
        Failure::error(format!("stack overflow ({what})"))
    }

    /// `luaL_typerror`.
    pub(crate) fn type_error(narg: usize, expected: &str, got: Option<&Value>) -> Failure {
        Failure::arg(narg, format!("{expected} expected, got {}", type_name(got)))
    }
}

impl From<mlua::Error> for Failure {
    fn from(error: mlua::Error) -> Failure {
        Failure::Lua(error)
    }
}

pub(crate) type LibResult<T> = Result<T, Failure>;

/// `lua_typename` of a value; `None` is an absent argument.
pub(crate) fn type_name(value: Option<&Value>) -> &'static str {
    match value {
        None => "no value",
        Some(Value::Nil) => "nil",
        Some(Value::Boolean(_)) => "boolean",
        Some(Value::Integer(_) | Value::Number(_)) => "number",
        Some(Value::String(_)) => "string",
        Some(Value::Table(_)) => "table",
        Some(Value::Function(_)) => "function",
        Some(Value::Thread(_)) => "thread",
        Some(_) => "userdata",
    }
}

/// `lua_tonumber` guarded by `lua_isnumber`: numbers, and strings that convert.
pub(crate) fn to_number(lua: &Lua, value: Option<&Value>) -> mlua::Result<Option<f64>> {
    Ok(match value {
        Some(Value::Number(n)) => Some(*n),
        Some(Value::Integer(i)) => Some(*i as f64),
        Some(text @ Value::String(_)) => lua.coerce_number(text.clone())?,
        _ => None,
    })
}

/// `luaL_checknumber`.
pub(crate) fn check_number(lua: &Lua, narg: usize, value: Option<&Value>) -> LibResult<f64> {
    to_number(lua, value)?.ok_or_else(|| Failure::type_error(narg, "number", value))
}

/// `luaL_checkinteger`: the number truncated the way x86-64 converts a double to `ptrdiff_t`.
pub(crate) fn check_integer(lua: &Lua, narg: usize, value: Option<&Value>) -> LibResult<i64> {
    check_number(lua, narg, value).map(c_double_to_i64)
}

/// `luaL_checklstring`: strings, and numbers converted with `%.14g`.
pub(crate) fn check_bytes(
    lua: &Lua,
    narg: usize,
    value: Option<&Value>,
) -> LibResult<mlua::String> {
    let converted = match value {
        Some(Value::String(s)) => Some(s.clone()),
        Some(number @ (Value::Number(_) | Value::Integer(_))) => {
            lua.coerce_string(number.clone())?
        }
        _ => None,
    };
    converted.ok_or_else(|| Failure::type_error(narg, "string", value))
}

/// A C cast `(int64_t)d` as x86-64 performs it: truncation, and `INT64_MIN` for NaN or out of range.
pub(crate) fn c_double_to_i64(d: f64) -> i64 {
    if (-9_223_372_036_854_775_808.0..9_223_372_036_854_775_808.0).contains(&d) {
        d as i64
    } else {
        i64::MIN
    }
}

/// A C cast `(int)d` as x86-64 performs it: truncation, and `INT_MIN` for NaN or out of range.
pub(crate) fn c_double_to_i32(d: f64) -> i32 {
    if d > -2_147_483_649.0 && d < 2_147_483_648.0 {
        d as i32
    } else {
        i32::MIN
    }
}

/// A C cast `(uint64_t)d` as gcc compiles it on x86-64 (values from 2^63 are shifted into the
/// signed range first).
pub(crate) fn c_double_to_u64(d: f64) -> u64 {
    const TWO_POW_63: f64 = 9_223_372_036_854_775_808.0;
    if d >= TWO_POW_63 {
        (c_double_to_i64(d - TWO_POW_63) as u64) ^ (1 << 63)
    } else {
        c_double_to_i64(d) as u64
    }
}

/// The arguments a library function was called with: `1..=count`, like a C function's stack.
/// Numbers are always `Value::Number`, exact.
pub(crate) struct Args {
    store: ArgStore,
    count: usize,
}

enum ArgStore {
    Inline(Vec<Value>),
    /// Many arguments, or numbers mlua would round, arrive in a table (see [`call_through`]).
    Packed(Table),
}

impl Args {
    fn from_call(mut values: MultiValue) -> mlua::Result<Args> {
        if let Some(Value::Integer(MODE_PACKED)) = values.front() {
            let table = values.get(1).and_then(Value::as_table).cloned();
            let count = values.get(2).and_then(Value::as_integer).unwrap_or(0);
            if let Some(table) = table {
                let count = usize::try_from(count).unwrap_or(0);
                return Ok(Args {
                    store: ArgStore::Packed(table),
                    count,
                });
            }
        }
        values.pop_front();
        let inline: Vec<Value> = values.into_iter().map(exact_integer).collect();
        Ok(Args {
            count: inline.len(),
            store: ArgStore::Inline(inline),
        })
    }

    /// How many arguments there are (`lua_gettop`).
    pub(crate) fn count(&self) -> usize {
        self.count
    }

    /// Argument `narg` (1-based); `None` when absent.
    pub(crate) fn get(&self, narg: usize) -> mlua::Result<Option<Value>> {
        if narg == 0 || narg > self.count {
            return Ok(None);
        }
        match &self.store {
            ArgStore::Inline(values) => Ok(values.get(narg - 1).cloned()),
            ArgStore::Packed(table) => raw_get_exact(table, narg).map(Some),
        }
    }

    pub(crate) fn to_number(&self, lua: &Lua, narg: usize) -> mlua::Result<Option<f64>> {
        to_number(lua, self.get(narg)?.as_ref())
    }

    pub(crate) fn check_integer(&self, lua: &Lua, narg: usize) -> LibResult<i64> {
        check_integer(lua, narg, self.get(narg)?.as_ref())
    }

    /// `luaL_optinteger`: `default` when the argument is absent or nil.
    pub(crate) fn opt_integer(&self, lua: &Lua, narg: usize, default: i64) -> LibResult<i64> {
        match self.get(narg)? {
            None | Some(Value::Nil) => Ok(default),
            value => check_integer(lua, narg, value.as_ref()),
        }
    }

    pub(crate) fn check_bytes(&self, lua: &Lua, narg: usize) -> LibResult<mlua::String> {
        check_bytes(lua, narg, self.get(narg)?.as_ref())
    }

    pub(crate) fn type_error(&self, narg: usize, expected: &str) -> LibResult<Failure> {
        Ok(Failure::type_error(
            narg,
            expected,
            self.get(narg)?.as_ref(),
        ))
    }
}

/// mlua's integers are whole doubles; the libraries work on `f64` throughout.
fn exact_integer(value: Value) -> Value {
    match value {
        Value::Integer(i) => Value::Number(i as f64),
        other => other,
    }
}

/// `t[key]` without metamethods, with numbers read exactly (see the module doc).
pub(crate) fn raw_get_exact(table: &Table, key: impl IntoLua + Clone) -> mlua::Result<Value> {
    match table.raw_get::<Value>(key.clone())? {
        Value::Integer(0) => Ok(Value::Number(table.raw_get::<f64>(key)?)),
        other => Ok(exact_integer(other)),
    }
}

/// The values a library function returns. The first few travel as they are; longer lists are
/// kept in a Lua table, which [`call_through`] unpacks onto the stack.
pub(crate) struct Results {
    inline: Vec<Value>,
    spilled: Option<Table>,
    len: usize,
}

const INLINE_RESULTS: usize = 16;

impl Results {
    pub(crate) fn new() -> Results {
        Results {
            inline: Vec::new(),
            spilled: None,
            len: 0,
        }
    }

    pub(crate) fn one(value: Value) -> Results {
        Results {
            inline: vec![value],
            spilled: None,
            len: 1,
        }
    }

    pub(crate) fn number(n: f64) -> Results {
        Results::one(Value::Number(n))
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn push(&mut self, lua: &Lua, value: Value) -> mlua::Result<()> {
        if self.spilled.is_none() && self.inline.len() < INLINE_RESULTS {
            self.inline.push(value);
        } else {
            let table = match &self.spilled {
                Some(table) => table.clone(),
                None => self.spill(lua)?,
            };
            table.raw_set(self.len + 1, value)?;
        }
        self.len += 1;
        Ok(())
    }

    fn spill(&mut self, lua: &Lua) -> mlua::Result<Table> {
        let table = lua.create_table()?;
        for (index, value) in self.inline.drain(..).enumerate() {
            table.raw_set(index + 1, value)?;
        }
        self.spilled = Some(table.clone());
        Ok(table)
    }

    /// The last value pushed.
    pub(crate) fn last(&self) -> mlua::Result<Option<Value>> {
        if self.len == 0 {
            return Ok(None);
        }
        match &self.spilled {
            Some(table) => raw_get_exact(table, self.len).map(Some),
            None => Ok(self.inline.last().cloned()),
        }
    }

    /// Replaces the first value pushed.
    pub(crate) fn set_first(&mut self, value: Value) -> mlua::Result<()> {
        match &self.spilled {
            Some(table) => table.raw_set(1, value)?,
            None => {
                if let Some(first) = self.inline.first_mut() {
                    *first = value;
                }
            }
        }
        Ok(())
    }

    /// Removes the last value pushed.
    pub(crate) fn pop(&mut self) -> mlua::Result<()> {
        if self.len == 0 {
            return Ok(());
        }
        match &self.spilled {
            Some(table) => table.raw_set(self.len, Value::Nil)?,
            None => {
                self.inline.pop();
            }
        }
        self.len -= 1;
        Ok(())
    }

    fn into_protocol(self) -> MultiValue {
        let mut values = Vec::with_capacity(self.inline.len() + 1);
        match self.spilled {
            Some(table) => {
                values.push(Value::Integer(STATUS_PACKED));
                values.push(Value::Table(table));
                values.push(Value::Integer(
                    mlua::Integer::try_from(self.len).unwrap_or(0),
                ));
            }
            None => {
                values.push(Value::Integer(STATUS_VALUES));
                values.extend(self.inline);
            }
        }
        MultiValue::from_vec(values)
    }
}

/// A stack of open tables (with one value each, such as the current key), for walking or
/// building nested structures without recursion. The outermost levels and the innermost one
/// are held directly; the levels between are parked in a Lua table, so that nesting depth
/// costs no mlua references.
pub(crate) struct Nest<M> {
    outer: Vec<Level<M>>,
    inner: Option<Level<M>>,
    parked_metas: Vec<M>,
    parked: Option<Table>,
}

/// One open table of a [`Nest`].
pub(crate) struct Level<M> {
    pub(crate) meta: M,
    pub(crate) table: Table,
    pub(crate) key: Value,
}

/// How many outermost levels a [`Nest`] holds without parking.
const HELD_LEVELS: usize = 32;

impl<M> Nest<M> {
    pub(crate) fn new() -> Nest<M> {
        Nest {
            outer: Vec::new(),
            inner: None,
            parked_metas: Vec::new(),
            parked: None,
        }
    }

    /// Number of open levels.
    pub(crate) fn depth(&self) -> usize {
        self.outer.len() + self.parked_metas.len() + usize::from(self.inner.is_some())
    }

    pub(crate) fn top(&self) -> Option<&Level<M>> {
        self.inner.as_ref().or_else(|| self.outer.last())
    }

    pub(crate) fn top_mut(&mut self) -> Option<&mut Level<M>> {
        match &mut self.inner {
            Some(level) => Some(level),
            None => self.outer.last_mut(),
        }
    }

    pub(crate) fn push(&mut self, lua: &Lua, level: Level<M>) -> mlua::Result<()> {
        if self.inner.is_none() && self.outer.len() < HELD_LEVELS {
            self.outer.push(level);
            return Ok(());
        }
        if let Some(previous) = self.inner.replace(level) {
            let parked = match &self.parked {
                Some(parked) => parked.clone(),
                None => {
                    let parked = lua.create_table()?;
                    self.parked = Some(parked.clone());
                    parked
                }
            };
            let slot = 2 * self.parked_metas.len();
            parked.raw_set(slot + 1, previous.table)?;
            parked.raw_set(slot + 2, previous.key)?;
            self.parked_metas.push(previous.meta);
        }
        Ok(())
    }

    /// Closes the innermost level, returning it.
    pub(crate) fn pop(&mut self) -> mlua::Result<Option<Level<M>>> {
        let Some(closed) = self.inner.take() else {
            return Ok(self.outer.pop());
        };
        if let (Some(meta), Some(parked)) = (self.parked_metas.pop(), &self.parked) {
            let slot = 2 * self.parked_metas.len();
            let table: Table = parked.raw_get(slot + 1)?;
            let key = raw_get_exact(parked, slot + 2)?;
            parked.raw_set(slot + 1, Value::Nil)?;
            parked.raw_set(slot + 2, Value::Nil)?;
            self.inner = Some(Level { meta, table, key });
        }
        Ok(Some(closed))
    }
}

/// Small Lua functions the libraries iterate tables with. They run in Lua because walking a
/// table key by key is `lua_next`'s job, which mlua only offers with lossy number keys.
pub(crate) struct Helpers {
    entry: Function,
    cjson_array_shape: Function,
    msgpack_shape: Function,
}

const HELPERS_SOURCE: &str = r#"
local next, type = ...
local inf = 1 / 0

-- next(t, k), with numeric keys and values repeated so that Rust can read them exactly.
local function entry(t, k)
  local key, value = next(t, k)
  if key == nil then return nil end
  return key, value, type(key) == "number" and key or nil, type(value) == "number" and value or nil
end

local function whole(k)
  return k == inf or k == -inf or k % 1 == 0
end

-- lua-cjson's lua_array_length: nil when a key is not a positive whole number, else the
-- largest key (as C's int conversion leaves it) and the number of keys.
local function cjson_array_shape(t)
  local max, items = 0, 0
  for k in next, t do
    if type(k) ~= "number" or k < 1 or not whole(k) then return nil end
    if k > max then
      if k >= 2147483648 then max = -2147483648 else max = k end
    end
    items = items + 1
  end
  return max, items
end

-- lua-cmsgpack's table_is_an_array (keys exactly 1..n), and the number of keys.
local function msgpack_shape(t)
  local count, max, array = 0, 0, true
  for k in next, t do
    if array and (type(k) ~= "number" or k <= 0 or k >= 2147483648 or k % 1 ~= 0) then
      array = false
    elseif array and k > max then
      max = k
    end
    count = count + 1
  end
  return array and max == count, count
end

return entry, cjson_array_shape, msgpack_shape
"#;

impl Helpers {
    fn load(lua: &Lua) -> mlua::Result<Rc<Helpers>> {
        let globals = lua.globals();
        let next: Value = globals.raw_get("next")?;
        let type_of: Value = globals.raw_get("type")?;
        let (entry, cjson_array_shape, msgpack_shape) = lua
            .load(HELPERS_SOURCE)
            .set_name("=ferrokv_libs")
            .call::<(Function, Function, Function)>((next, type_of))?;
        Ok(Rc::new(Helpers {
            entry,
            cjson_array_shape,
            msgpack_shape,
        }))
    }

    /// The entry after `key` in `table`'s `next` order (`Nil` starts), numbers exact.
    pub(crate) fn next_entry(
        &self,
        table: &Table,
        key: Value,
    ) -> mlua::Result<Option<(Value, Value)>> {
        let (key, value, key_number, value_number): (Value, Value, Option<f64>, Option<f64>) =
            self.entry.call((table, key))?;
        if key.is_nil() {
            return Ok(None);
        }
        let key = key_number.map_or(key, Value::Number);
        let value = value_number.map_or_else(|| exact_integer(value), Value::Number);
        Ok(Some((key, value)))
    }

    /// `Some((max, items))` when every key is a positive whole number (see the Lua source).
    pub(crate) fn cjson_array_shape(&self, table: &Table) -> mlua::Result<Option<(i32, i32)>> {
        let (max, items): (Option<f64>, Option<f64>) = self.cjson_array_shape.call(table)?;
        Ok(max.map(|max| (c_double_to_i32(max), c_double_to_i32(items.unwrap_or(0.0)))))
    }

    /// Whether the keys are exactly 1..n (lua-cmsgpack's array test), and how many keys there are.
    pub(crate) fn msgpack_shape(&self, table: &Table) -> mlua::Result<(bool, usize)> {
        let (is_array, count): (bool, f64) = self.msgpack_shape.call(table)?;
        Ok((is_array, count as usize))
    }
}

/// Makes a script-callable function of a library body (see the module doc).
pub(crate) fn lib_function<F>(lua: &Lua, body: F) -> mlua::Result<Function>
where
    F: Fn(&Lua, &Args) -> LibResult<Results> + 'static,
{
    let inner = lua.create_function(move |lua, values: MultiValue| {
        let args = Args::from_call(values)?;
        match body(lua, &args) {
            Ok(results) => Ok(results.into_protocol()),
            Err(failure) => failure_protocol(lua, failure),
        }
    })?;
    // SAFETY: `exec_raw` runs the closure on a stack holding `inner`; `lua_pushcclosure` takes it
    // as the upvalue of `call_through`, which is a valid `lua_CFunction` for that upvalue.
    unsafe {
        lua.exec_raw(inner, |state| {
            ffi::lua_pushcclosure(state, call_through, 1);
        })
    }
}

fn failure_protocol(lua: &Lua, failure: Failure) -> mlua::Result<MultiValue> {
    let values = match failure {
        Failure::Lua(error) => return Err(error),
        Failure::Error(message) => vec![
            Value::Integer(STATUS_ERROR),
            Value::String(lua.create_string(message)?),
        ],
        Failure::Arg(narg, message) => vec![
            Value::Integer(STATUS_ARG_ERROR),
            Value::Integer(narg.into()),
            Value::String(lua.create_string(message)?),
        ],
        Failure::Raw(message) => vec![
            Value::Integer(STATUS_RAW_ERROR),
            Value::String(lua.create_string(message)?),
        ],
    };
    Ok(MultiValue::from_vec(values))
}

/// How [`call_through`] passes the arguments: as they are, or packed as (table, count).
const MODE_INLINE: mlua::Integer = 0;
const MODE_PACKED: mlua::Integer = 1;
/// Above this many arguments they are packed, so that no call holds many mlua references.
const INLINE_ARGS: c_int = 8;

/// What a body's first return value tells [`call_through`].
const STATUS_VALUES: mlua::Integer = 0;
const STATUS_PACKED: mlua::Integer = 1;
const STATUS_ERROR: mlua::Integer = 2;
const STATUS_ARG_ERROR: mlua::Integer = 3;
const STATUS_RAW_ERROR: mlua::Integer = 4;

/// The C function scripts call. Upvalue 1 is the Rust body; it is called with the arguments and
/// answers a status ahead of its results, which this function turns into returned values or
/// into the error lauxlib would raise (`luaL_where(L, 1)` and `luaL_argerror` both look at this
/// C function's frame, as they do for the C libraries).
///
/// No Rust value with a destructor lives in this frame: `lua_error` unwinds it with `longjmp`.
unsafe extern "C-unwind" fn call_through(state: *mut ffi::lua_State) -> c_int {
    let nargs = ffi::lua_gettop(state);
    if args_need_packing(state, nargs) {
        ffi::lua_createtable(state, nargs, 0);
        for index in 1..=nargs {
            ffi::lua_pushvalue(state, index);
            ffi::lua_rawseti(state, -2, index.into());
        }
        ffi::lua_replace(state, 1);
        ffi::lua_settop(state, 1);
        ffi::lua_pushvalue(state, ffi::lua_upvalueindex(1));
        ffi::lua_insert(state, 1);
        ffi::lua_pushinteger(state, MODE_PACKED);
        ffi::lua_insert(state, 2);
        ffi::lua_pushinteger(state, nargs.into());
        ffi::lua_call(state, 3, ffi::LUA_MULTRET);
    } else {
        ffi::lua_pushvalue(state, ffi::lua_upvalueindex(1));
        ffi::lua_insert(state, 1);
        ffi::lua_pushinteger(state, MODE_INLINE);
        ffi::lua_insert(state, 2);
        ffi::lua_call(state, nargs + 1, ffi::LUA_MULTRET);
    }
    deliver(state)
}

/// Packs the arguments when there are many, or when one is a number mlua would round.
unsafe fn args_need_packing(state: *mut ffi::lua_State, nargs: c_int) -> bool {
    if nargs > INLINE_ARGS {
        return true;
    }
    for index in 1..=nargs {
        if ffi::lua_type(state, index) == ffi::LUA_TNUMBER
            && mlua_rounds(ffi::lua_tonumber(state, index))
        {
            return true;
        }
    }
    false
}

/// Whether mlua's `Value` conversion would turn `n` into a different number (see the module doc).
fn mlua_rounds(n: f64) -> bool {
    n.abs() < f64::EPSILON && n.to_bits() != 0
}

/// Turns the body's answer (on the stack from index 1) into this C function's outcome. The
/// answer is checked before use: a script holding the `debug` library could swap the body.
unsafe fn deliver(state: *mut ffi::lua_State) -> c_int {
    if ffi::lua_gettop(state) == 0 {
        return 0;
    }
    match ffi::lua_tointeger(state, 1) {
        STATUS_VALUES => {
            ffi::lua_remove(state, 1);
            ffi::lua_gettop(state)
        }
        STATUS_PACKED if ffi::lua_type(state, 2) == ffi::LUA_TTABLE => {
            let count = ffi::lua_tointeger(state, 3).clamp(0, c_int::MAX.into());
            let count = c_int::try_from(count).unwrap_or(0);
            ffi::lua_settop(state, 2);
            ffi::lua_remove(state, 1);
            if ffi::lua_checkstack(state, count) == 0 {
                ffi::lua_pushstring(state, c"stack overflow (too many results)".as_ptr());
                ffi::lua_error(state);
            }
            for index in 1..=count {
                ffi::lua_rawgeti(state, 1, index.into());
            }
            ffi::lua_remove(state, 1);
            count
        }
        STATUS_ARG_ERROR => {
            let narg = ffi::lua_tointeger(state, 2).clamp(c_int::MIN.into(), c_int::MAX.into());
            let narg = c_int::try_from(narg).unwrap_or(0);
            ffi::lua_settop(state, 3);
            ffi::luaL_argerror(state, narg, ffi::lua_tostring(state, 3))
        }
        STATUS_RAW_ERROR => {
            ffi::lua_settop(state, 2);
            ffi::lua_error(state)
        }
        _ => {
            ffi::lua_settop(state, 2);
            ffi::luaL_where(state, 1);
            ffi::lua_insert(state, 2);
            ffi::lua_concat(state, 2);
            ffi::lua_error(state)
        }
    }
}

#[cfg(test)]
pub(crate) mod test_support {
    //! Running snippets in a fresh interpreter with the libraries loaded.

    use mlua::{Lua, Value};

    /// A Lua state with the standard libraries and these four.
    pub(crate) fn lua() -> Lua {
        let lua = Lua::new();
        super::load_all(&lua).expect("libraries load");
        lua
    }

    /// Prelude shared with the Redis oracle runs, on one line as there (error positions read
    /// "user_script:1:"): `hex(s)`, `pk(...)` (all results joined with `|`) and `e(f, ...)`
    /// (pcall: "OK:" and the result, or "E:" and the message).
    const PRELUDE: &str = concat!(
        r##"local function hex(s) return (string.gsub(s, ".", function(c) return string.format("%02x", string.byte(c)) end)) end "##,
        r##"local function pk(...) local t = {...} local n = select("#", ...) local o = {} for i=1,n do o[i] = tostring(t[i]) end return table.concat(o, "|") end "##,
        r##"local function e(f, ...) local ok, m = pcall(f, ...) if ok then return "OK:" .. tostring(m) end return "E:" .. tostring(m) end "##,
    );

    /// `tostring(<expression>)` evaluated in `lua`, as bytes shown lossily.
    pub(crate) fn eval_in(lua: &Lua, expression: &str) -> String {
        let source = format!("{PRELUDE} return tostring({expression})");
        match lua.load(&source).set_name("=user_script").eval::<Value>() {
            Ok(Value::String(s)) => s.to_string_lossy(),
            Ok(other) => format!("<non-string {other:?}>"),
            Err(error) => format!("<error {error}>"),
        }
    }

    /// `tostring(<expression>)` in a fresh interpreter.
    pub(crate) fn eval(expression: &str) -> String {
        eval_in(&lua(), expression)
    }

    /// Checks each `(expression, expected)` pair, reporting every mismatch at once.
    pub(crate) fn check_all(cases: &[(&str, &str)]) {
        let lua = lua();
        let failures: Vec<String> = cases
            .iter()
            .filter_map(|(expression, expected)| {
                let got = eval_in(&lua, expression);
                (got != *expected)
                    .then(|| format!("{expression}\n   expected {expected}\n   got      {got}"))
            })
            .collect();
        assert!(
            failures.is_empty(),
            "{} mismatches:\n{}",
            failures.len(),
            failures.join("\n")
        );
    }

    /// Like [`check_all`], each case in a fresh interpreter (for cases that change settings).
    pub(crate) fn check_each_fresh(cases: &[(&str, &str)]) {
        let failures: Vec<String> = cases
            .iter()
            .filter_map(|(expression, expected)| {
                let got = eval(expression);
                (got != *expected)
                    .then(|| format!("{expression}\n   expected {expected}\n   got      {got}"))
            })
            .collect();
        assert!(
            failures.is_empty(),
            "{} mismatches:\n{}",
            failures.len(),
            failures.join("\n")
        );
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::check_all;

    /// Expected values from Redis 7.0.15: the module tables are built in the C libraries' order,
    /// so `pairs` walks them in the same order.
    #[test]
    fn module_tables_iterate_like_redis() {
        let keys = |module: &str| {
            format!(
                "(function() local o = {{}} for k in pairs({module}) do o[#o+1] = k end return table.concat(o, \",\") end)()"
            )
        };
        let cases = [
            (
                keys("bit"),
                "band,rshift,bor,bnot,bswap,bxor,tobit,ror,lshift,tohex,rol,arshift",
            ),
            (
                keys("cjson"),
                "_NAME,encode,decode_max_depth,_VERSION,decode_invalid_numbers,encode_keep_buffer,\
                 null,encode_number_precision,new,encode_max_depth,encode_invalid_numbers,decode,\
                 encode_sparse_array",
            ),
            (
                keys("cmsgpack"),
                "_DESCRIPTION,pack,_NAME,unpack,_COPYRIGHT,_VERSION,unpack_one,unpack_limit",
            ),
            (keys("struct"), "pack,size,unpack"),
        ];
        let cases: Vec<(&str, &str)> = cases.iter().map(|(e, x)| (e.as_str(), *x)).collect();
        check_all(&cases);
    }

    /// Numbers mlua would read as integer 0 (-0.0, tiny values) and long argument lists reach
    /// the libraries intact.
    #[test]
    fn arguments_arrive_exact() {
        check_all(&[
            (
                "pk(bit.band(-0.0, -1), bit.tobit(1e-310), cjson.encode(-0.0), cjson.encode(1e-320))",
                "0|0|-0|9.9998886718268e-321",
            ),
            (
                "e(function() local t = {} for i = 1, 20 do t[i] = i end return bit.bor(unpack(t)) end)",
                "OK:31",
            ),
            (
                "e(function() return bit.bor(1, 2, 4, 8, 16, 32, 64, 128, 256, -0.0) end)",
                "OK:511",
            ),
        ]);
    }
}
