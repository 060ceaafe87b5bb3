//! Conversions between Redis replies and Lua values, Redis 7.0's rules exactly.
//!
//! Command reply -> Lua ([`reply_to_lua`]), from the RESP bytes the command wrote (the script
//! speaks RESP2 unless it called `redis.setresp(3)`):
//! integer -> number; bulk string -> string; null bulk / null array -> `false` (RESP2) or
//! `nil` (RESP3 null); array -> table; status -> `{ok=...}`; error -> `{err=...}`; RESP3 map
//! -> `{map={...}}`, set -> `{set={member=true}}`, boolean -> boolean, double ->
//! `{double=n}`, big number -> `{big_number=s}`, verbatim -> `{verbatim_string={format=,
//! string=}}`; attributes are skipped.
//!
//! Lua -> script reply ([`lua_to_reply`]): string -> bulk; number -> integer (truncated);
//! boolean -> `:1` / null in RESP2, a RESP3 boolean when the script speaks RESP3; a table
//! with a string `err` -> error, `ok` -> status, `double`, `big_number`, `verbatim_string`,
//! `map`, `set` fields -> those RESP3 types; any other table -> array of its elements
//! `1..` up to the first nil; anything else -> null.

use mlua::{Lua, Table, Value};

use crate::resp::reply::Reply;

/// Fields of the error table a failing `redis.call` raises (see [`error_table`]).
pub const IGNORE_STATS: &str = "ignore_error_stats_update";

/// Redis's `luaPushErrorBuff`: `-CODE msg` keeps its code, plain `msg` gets `ERR`; trailing
/// CR/LF trimmed. Returns `{err="CODE msg"}`.
pub fn error_table(lua: &Lua, error: &[u8]) -> mlua::Result<Table> {
    let text = normalize_error(error);
    let t = lua.create_table()?;
    t.raw_set("err", lua.create_string(&text)?)?;
    Ok(t)
}

/// The `CODE msg` form of an error text (see [`error_table`]).
pub fn normalize_error(error: &[u8]) -> Vec<u8> {
    let (code, msg): (&[u8], &[u8]) = match error.strip_prefix(b"-") {
        Some(rest) => match rest.iter().position(|&b| b == b' ') {
            Some(sp) => (&rest[..sp], &rest[sp + 1..]),
            None => (b"ERR", rest),
        },
        None => (b"ERR", error),
    };
    let mut msg = msg;
    while let [rest @ .., b'\r' | b'\n'] = msg {
        msg = rest;
    }
    while let [b'\r' | b'\n', rest @ ..] = msg {
        msg = rest;
    }
    let mut out = Vec::with_capacity(code.len() + 1 + msg.len());
    out.extend_from_slice(code);
    out.push(b' ');
    out.extend_from_slice(msg);
    out
}

/// Converts the complete reply in `bytes` (written by one command) to a Lua value.
pub fn reply_to_lua(lua: &Lua, bytes: &[u8]) -> mlua::Result<Value> {
    let mut pos = 0;
    parse(lua, bytes, &mut pos)
}

fn line<'a>(bytes: &'a [u8], pos: &mut usize) -> mlua::Result<&'a [u8]> {
    let start = *pos;
    let end = bytes[start..]
        .windows(2)
        .position(|w| w == b"\r\n")
        .map(|i| start + i)
        .ok_or_else(|| mlua::Error::runtime("malformed reply"))?;
    *pos = end + 2;
    Ok(&bytes[start..end])
}

fn number(text: &[u8]) -> mlua::Result<i64> {
    std::str::from_utf8(text)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| mlua::Error::runtime("malformed reply length"))
}

fn blob<'a>(bytes: &'a [u8], pos: &mut usize, len: usize) -> mlua::Result<&'a [u8]> {
    let start = *pos;
    if start + len + 2 > bytes.len() {
        return Err(mlua::Error::runtime("truncated reply"));
    }
    *pos = start + len + 2;
    Ok(&bytes[start..start + len])
}

fn single(lua: &Lua, field: &str, value: Value) -> mlua::Result<Value> {
    let t = lua.create_table()?;
    t.raw_set(field, value)?;
    Ok(Value::Table(t))
}

fn parse(lua: &Lua, bytes: &[u8], pos: &mut usize) -> mlua::Result<Value> {
    let Some(&kind) = bytes.get(*pos) else {
        return Err(mlua::Error::runtime("empty reply"));
    };
    *pos += 1;
    let head = line(bytes, pos)?;
    Ok(match kind {
        b':' => Value::Number(number(head)? as f64),
        b'$' => match number(head)? {
            n if n < 0 => Value::Boolean(false),
            n => Value::String(lua.create_string(blob(bytes, pos, n as usize)?)?),
        },
        b'+' => single(lua, "ok", Value::String(lua.create_string(head)?))?,
        b'-' => {
            let mut err = Vec::with_capacity(head.len() + 1);
            err.push(b'-');
            err.extend_from_slice(head);
            let t = error_table(lua, &err)?;
            t.raw_set(IGNORE_STATS, true)?;
            Value::Table(t)
        }
        b'*' | b'>' => match number(head)? {
            n if n < 0 => Value::Boolean(false),
            n => {
                let t = lua.create_table_with_capacity(n as usize, 0)?;
                for i in 1..=n {
                    t.raw_set(i, parse(lua, bytes, pos)?)?;
                }
                Value::Table(t)
            }
        },
        b'%' => {
            let n = number(head)?;
            let t = lua.create_table()?;
            for _ in 0..n {
                let k = parse(lua, bytes, pos)?;
                let v = parse(lua, bytes, pos)?;
                t.raw_set(k, v)?;
            }
            single(lua, "map", Value::Table(t))?
        }
        b'~' => {
            let n = number(head)?;
            let t = lua.create_table()?;
            for _ in 0..n {
                let k = parse(lua, bytes, pos)?;
                t.raw_set(k, true)?;
            }
            single(lua, "set", Value::Table(t))?
        }
        b'_' => Value::Nil,
        b'#' => Value::Boolean(head == b"t"),
        b',' => {
            let text = std::str::from_utf8(head).unwrap_or("nan");
            let d = match text {
                "inf" => f64::INFINITY,
                "-inf" => f64::NEG_INFINITY,
                _ => text.parse().unwrap_or(f64::NAN),
            };
            single(lua, "double", Value::Number(d))?
        }
        b'(' => single(lua, "big_number", Value::String(lua.create_string(head)?))?,
        b'=' => {
            let body = blob(bytes, pos, number(head)? as usize)?;
            let (format, text) = body.split_at(body.len().min(3));
            let inner = lua.create_table()?;
            inner.raw_set("format", lua.create_string(format)?)?;
            inner.raw_set("string", lua.create_string(text.get(1..).unwrap_or(b""))?)?;
            single(lua, "verbatim_string", Value::Table(inner))?
        }
        b'|' => {
            // An attribute: skip its pairs, the value follows.
            for _ in 0..number(head)? * 2 {
                parse(lua, bytes, pos)?;
            }
            parse(lua, bytes, pos)?
        }
        _ => return Err(mlua::Error::runtime("unknown reply type")),
    })
}

/// Writes the script's result `value` to `out` (`resp3`: the script called
/// `redis.setresp(3)`, which decides how booleans are sent). Nesting deeper than Lua's own
/// limits cannot happen: a table that contains itself is cut at `depth` levels with a null.
pub fn lua_to_reply(out: &mut Reply, value: &Value, resp3: bool) {
    write_value(out, value, resp3, 0);
}

/// Redis answers "reached lua stack limit" past a few thousand levels; this bound keeps a
/// self-referencing table from recursing without end.
const MAX_DEPTH: usize = 1000;

fn write_value(out: &mut Reply, value: &Value, resp3: bool, depth: usize) {
    match value {
        Value::String(s) => out.bulk(&s.as_bytes()),
        Value::Boolean(b) if resp3 => out.boolean(*b),
        Value::Boolean(true) => out.int(1),
        Value::Integer(n) => out.int(*n),
        Value::Number(n) => out.int(lua_number_to_i64(*n)),
        Value::Table(t) if depth < MAX_DEPTH => write_table(out, t, resp3, depth),
        Value::Table(_) => out.error("ERR reached lua stack limit"),
        _ => out.null(),
    }
}

/// C's `(long long)` cast of a double as Redis does it (saturating here; NaN -> 0).
fn lua_number_to_i64(n: f64) -> i64 {
    n as i64
}

fn string_field(t: &Table, name: &str) -> Option<mlua::String> {
    match t.raw_get::<Value>(name) {
        Ok(Value::String(s)) => Some(s),
        _ => None,
    }
}

fn write_table(out: &mut Reply, t: &Table, resp3: bool, depth: usize) {
    if let Some(err) = string_field(t, "err") {
        let text = err.as_bytes();
        return out.error(&*text);
    }
    if let Some(ok) = string_field(t, "ok") {
        let text: Vec<u8> = ok
            .as_bytes()
            .iter()
            .map(|&b| if b == b'\r' || b == b'\n' { b' ' } else { b })
            .collect();
        return out.simple(&String::from_utf8_lossy(&text));
    }
    if let Ok(Value::Number(d)) = t.raw_get::<Value>("double") {
        return out.double(d);
    }
    if let Ok(Value::Integer(d)) = t.raw_get::<Value>("double") {
        return out.double(d as f64);
    }
    if let Some(big) = string_field(t, "big_number") {
        let text: Vec<u8> = big
            .as_bytes()
            .iter()
            .map(|&b| if b == b'\r' || b == b'\n' { b' ' } else { b })
            .collect();
        return out.big_number(&text);
    }
    if let Ok(Value::Table(v)) = t.raw_get::<Value>("verbatim_string") {
        if let (Some(format), Some(text)) = (string_field(&v, "format"), string_field(&v, "string"))
        {
            return out.verbatim_with(&format.as_bytes(), &text.as_bytes());
        }
    }
    if let Ok(Value::Table(map)) = t.raw_get::<Value>("map") {
        let pairs: Vec<(Value, Value)> = map.pairs::<Value, Value>().flatten().collect();
        out.map(pairs.len());
        for (k, v) in &pairs {
            write_value(out, k, resp3, depth + 1);
            write_value(out, v, resp3, depth + 1);
        }
        return;
    }
    if let Ok(Value::Table(set)) = t.raw_get::<Value>("set") {
        let members: Vec<Value> = set
            .pairs::<Value, Value>()
            .flatten()
            .map(|(k, _)| k)
            .collect();
        out.set(members.len());
        for m in &members {
            write_value(out, m, resp3, depth + 1);
        }
        return;
    }
    let mut items = Vec::new();
    for i in 1.. {
        match t.raw_get::<Value>(i) {
            Ok(Value::Nil) | Err(_) => break,
            Ok(v) => items.push(v),
        }
    }
    out.array(items.len());
    for v in &items {
        write_value(out, v, resp3, depth + 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(lua: &Lua, reply: &[u8], resp3: bool) -> String {
        let v = reply_to_lua(lua, reply).unwrap();
        let mut out = Reply::new(resp3);
        lua_to_reply(&mut out, &v, resp3);
        String::from_utf8(out.buf.to_vec()).unwrap()
    }

    #[test]
    fn resp2_replies_survive_the_round_trip_as_redis_converts_them() {
        let lua = Lua::new();
        assert_eq!(roundtrip(&lua, b":42\r\n", false), ":42\r\n");
        assert_eq!(roundtrip(&lua, b"$3\r\nabc\r\n", false), "$3\r\nabc\r\n");
        assert_eq!(roundtrip(&lua, b"$-1\r\n", false), "$-1\r\n");
        assert_eq!(roundtrip(&lua, b"+PONG\r\n", false), "+PONG\r\n");
        assert_eq!(
            roundtrip(&lua, b"-WRONGTYPE Operation\r\n", false),
            "-WRONGTYPE Operation\r\n"
        );
        assert_eq!(
            roundtrip(&lua, b"*3\r\n:1\r\n$-1\r\n:3\r\n", false),
            "*3\r\n:1\r\n$-1\r\n:3\r\n",
            "a false element is null, not the end"
        );
    }

    #[test]
    fn resp3_types_become_tagged_tables() {
        let lua = Lua::new();
        assert_eq!(roundtrip(&lua, b",3.5\r\n", true), ",3.5\r\n");
        assert_eq!(roundtrip(&lua, b"#t\r\n", true), "#t\r\n");
        assert_eq!(roundtrip(&lua, b"#f\r\n", false), "$-1\r\n");
        assert_eq!(
            roundtrip(&lua, b"%1\r\n$1\r\na\r\n:1\r\n", true),
            "%1\r\n$1\r\na\r\n:1\r\n"
        );
        assert_eq!(
            roundtrip(&lua, b"~1\r\n$1\r\na\r\n", true),
            "~1\r\n$1\r\na\r\n"
        );
        assert_eq!(roundtrip(&lua, b"(12345\r\n", true), "(12345\r\n");
        assert_eq!(
            roundtrip(&lua, b"=8\r\ntxt:abcd\r\n", true),
            "=8\r\ntxt:abcd\r\n"
        );
    }

    #[test]
    fn numbers_truncate_and_arrays_stop_at_the_first_nil() {
        let lua = Lua::new();
        let v: Value = lua
            .load("return {1, 2.9, -3.9, 'x', nil, 5}")
            .eval()
            .unwrap();
        let mut out = Reply::new(false);
        lua_to_reply(&mut out, &v, false);
        assert_eq!(&out.buf[..], b"*4\r\n:1\r\n:2\r\n:-3\r\n$1\r\nx\r\n");
    }

    #[test]
    fn error_texts_get_a_code() {
        assert_eq!(normalize_error(b"oops\r\n"), b"ERR oops");
        assert_eq!(normalize_error(b"-WRONGTYPE bad"), b"WRONGTYPE bad");
        assert_eq!(normalize_error(b"-NOCODE"), b"ERR NOCODE");
    }
}
