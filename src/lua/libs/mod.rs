//! The C libraries Redis 7.0 embeds in its Lua interpreter, written in Rust on mlua:
//! `bit`, `struct`, `cjson` and `cmsgpack`.

use mlua::Lua;

/// Installs `bit`, `struct`, `cjson` and `cmsgpack` as globals of `lua`.
pub fn load_all(_lua: &Lua) -> mlua::Result<()> {
    Ok(())
}
