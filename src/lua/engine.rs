//! One Lua 5.1 interpreter set up as Redis 7.0 sets up its own: the libraries, the `redis`
//! API, the sandbox, compiled scripts by SHA1, and running one script with Redis's error
//! reporting.
//!
//! # Threading
//! An [`Engine`] is not `Send`: each event loop owns one (the command layer keeps it in a
//! thread local). The scripts' bodies live in a process-wide cache above this layer; an
//! engine compiles a body the first time one of its scripts runs on that loop.
//!
//! # The host
//! `redis.call` and the other functions that reach the server go through a [`Host`], which
//! the command layer implements for the duration of one [`Engine::run`]. The host pointer is
//! installed in a thread local by `run` and taken out while a callback uses it, so a callback
//! can never reach it twice at once, and nothing reaches it outside a run ("... can only be
//! called inside a script invocation", as Redis).
//!
//! # Sandbox (Redis 7.0's rules)
//! Scripts run with an environment table that is always empty: reads fall through to the
//! real globals, a missing global is an error (`Script attempted to access nonexistent global
//! variable 'x'`), and every assignment to a global is refused (`Attempt to modify a readonly
//! table`). The library tables (`redis`, `string`, `math`, `table`, `cjson`, ...) are read-only
//! the same way; `rawset`/`setmetatable` refuse them too. `print`, `dofile`, `loadfile`, `io`,
//! `os`, `package`/`require` and `debug` do not exist. Precompiled (binary) chunks are
//! refused. `math.random` is Redis's `lrand48` ([`super::rand48`]).

use std::cell::Cell;
use std::collections::HashMap;

use bytes::Bytes;
use mlua::{ChunkMode, Function, Lua, LuaOptions, MultiValue, StdLib, Table, Value};

use super::convert::{self, IGNORE_STATS};
use crate::resp::reply::Reply;

/// What a running script can ask of the server.
pub trait Host {
    /// Runs one command for `redis.call`/`redis.pcall`. `Ok`: the command ran and wrote this
    /// reply (RESP2, or RESP3 after `redis.setresp(3)`); `Err`: it was refused before running
    /// (unknown, arity, not allowed from scripts, ACL, ...) with this error text.
    fn call(&mut self, args: Vec<Bytes>) -> Result<Vec<u8>, Vec<u8>>;
    /// `redis.setresp(2|3)`.
    fn set_resp(&mut self, resp3: bool);
    /// Whether the script speaks RESP3.
    fn resp3(&self) -> bool;
    /// `redis.set_repl(flags)` (REPL_* bits, already validated).
    fn set_repl(&mut self, flags: u8);
    /// `redis.acl_check_cmd(...)`: `None` when the command does not exist.
    fn acl_check(&mut self, args: &[Bytes]) -> Option<bool>;
    /// `redis.log(level, msg)` (level 0 debug .. 3 warning).
    fn log(&mut self, level: u8, msg: &[u8]);
    /// Asked every 100,000 Lua instructions: whether SCRIPT KILL / FUNCTION KILL asked the
    /// script to stop.
    fn interrupted(&mut self) -> bool;
}

/// The message of the error that stops a killed script (Redis's).
pub const KILLED: &str = "Script killed by user with SCRIPT KILL...";

thread_local! {
    static HOST: Cell<Option<*mut (dyn Host + 'static)>> = const { Cell::new(None) };
}

/// Runs `f` with the running script's host; `None` outside a run (or from inside a callback
/// that already holds it).
fn with_host<R>(f: impl FnOnce(&mut dyn Host) -> R) -> Option<R> {
    let host = HOST.with(|h| h.take())?;
    struct PutBack(*mut (dyn Host + 'static));
    impl Drop for PutBack {
        fn drop(&mut self) {
            HOST.with(|h| h.set(Some(self.0)));
        }
    }
    let _back = PutBack(host);
    // SAFETY: the pointer was installed by `Engine::run` from a `&mut dyn Host` that outlives
    // the run, and it was taken out of the thread local, so this is its only user now.
    Some(f(unsafe { &mut *host }))
}

/// Script flags from a `#!lua flags=...` shebang (Redis's SCRIPT_FLAG_*).
pub mod script_flags {
    pub const NO_WRITES: u32 = 1 << 0;
    pub const ALLOW_OOM: u32 = 1 << 1;
    pub const ALLOW_STALE: u32 = 1 << 2;
    pub const NO_CLUSTER: u32 = 1 << 3;
    /// No shebang: EVAL's backwards-compatible mode.
    pub const EVAL_COMPAT_MODE: u32 = 1 << 4;
    pub const ALLOW_CROSS_SLOT: u32 = 1 << 5;

    pub const NAMES: [(&str, u32); 5] = [
        ("no-writes", NO_WRITES),
        ("allow-oom", ALLOW_OOM),
        ("allow-stale", ALLOW_STALE),
        ("no-cluster", NO_CLUSTER),
        ("allow-cross-slot-keys", ALLOW_CROSS_SLOT),
    ];
}

/// Redis's `evalExtractShebangFlags`: the flags and the length of the shebang line (0 when
/// there is none); the error text otherwise.
pub fn shebang_flags(body: &[u8]) -> Result<(u32, usize), String> {
    if !body.starts_with(b"#!") {
        return Ok((script_flags::EVAL_COMPAT_MODE, 0));
    }
    let Some(end) = body.iter().position(|&b| b == b'\n') else {
        return Err("Invalid script shebang".into());
    };
    let line = String::from_utf8_lossy(&body[..end]);
    let parts: Vec<&str> = line.split_ascii_whitespace().collect();
    let Some(engine) = parts.first() else {
        return Err("Invalid engine in script shebang".into());
    };
    if *engine != "#!lua" {
        return Err(format!("Unexpected engine in script shebang: {engine}"));
    }
    let mut flags = 0;
    for part in &parts[1..] {
        let Some(list) = part.strip_prefix("flags=") else {
            return Err(format!("Unknown lua shebang option: {part}"));
        };
        for name in list.split(',').filter(|s| !s.is_empty()) {
            match script_flags::NAMES.iter().find(|(n, _)| *n == name) {
                Some((_, f)) => flags |= f,
                None => return Err(format!("Unexpected flag in script shebang: {name}")),
            }
        }
    }
    Ok((flags, end))
}

/// The lowercase hex SHA1 of `data` (script ids, `redis.sha1hex`).
pub fn sha1_hex(data: &[u8]) -> [u8; 40] {
    use sha1::{Digest, Sha1};
    let digest = Sha1::digest(data);
    let mut out = [0u8; 40];
    for (i, b) in digest.iter().enumerate() {
        out[2 * i] = b"0123456789abcdef"[(b >> 4) as usize];
        out[2 * i + 1] = b"0123456789abcdef"[(b & 15) as usize];
    }
    out
}

/// A Lua interpreter with the Redis environment and the scripts compiled in it.
pub struct Engine {
    lua: Lua,
    /// The real globals (KEYS and ARGV are set here for each EVAL).
    globals: Table,
    /// The scripts' (always empty) environment.
    env: Table,
    xpcall: Function,
    handler: Function,
    scripts: HashMap<[u8; 40], Function>,
    /// Functions' environment and its metatable (whose `__index` is switched to
    /// `load_globals` while a library loads).
    fenv: Table,
    fmeta: Table,
    load_globals: Table,
    run_function: Function,
    /// Loaded libraries: name -> its functions' callbacks.
    libraries: HashMap<String, Vec<(String, Function)>>,
    /// Every loaded function by name.
    functions: HashMap<String, Function>,
    /// What the last `load_library` registered, until committed.
    pending: Vec<(FunctionMeta, Function)>,
}

/// A function a library registered (`redis.register_function`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionMeta {
    pub name: String,
    pub description: Option<String>,
    /// `script_flags` bits.
    pub flags: u32,
}

thread_local! {
    /// The functions registered by the library loading on this thread (`None`: no load).
    static REGISTERING: std::cell::RefCell<Option<Vec<(FunctionMeta, Function)>>> =
        const { std::cell::RefCell::new(None) };
}

/// Runs in the engine's own chunk (named `=ferrokv`, which error reports skip): the Lua
/// halves of the API, the read-only protection and the sandbox's removals.
const PRELUDE: &str = include_str!("prelude.lua");

impl Engine {
    pub fn new(version: &str, version_num: i64) -> mlua::Result<Engine> {
        let lua = Lua::new_with(
            StdLib::TABLE | StdLib::STRING | StdLib::MATH,
            LuaOptions::default(),
        )?;
        super::libs::load_all(&lua)?;
        let api = lua.create_table()?;
        lua.set_named_registry_value("ferrokv.call", lua.create_function(raw_call)?)?;
        // SAFETY: made by `calling!`, which follows the C API contract.
        api.raw_set("call", unsafe { lua.create_c_function(redis_call)? })?;
        api.raw_set("pcall", unsafe { lua.create_c_function(redis_pcall)? })?;
        api.raw_set(
            "log",
            raising_fn(&lua, "ferrokv.log", raw_log, raising_log)?,
        )?;
        api.raw_set(
            "setresp",
            raising_fn(&lua, "ferrokv.setresp", raw_setresp, raising_setresp)?,
        )?;
        api.raw_set(
            "set_repl",
            raising_fn(&lua, "ferrokv.set_repl", raw_set_repl, raising_set_repl)?,
        )?;
        api.raw_set(
            "acl_check_cmd",
            raising_fn(
                &lua,
                "ferrokv.acl_check_cmd",
                raw_acl_check,
                raising_acl_check,
            )?,
        )?;
        api.raw_set(
            "sha1hex",
            raising_fn(&lua, "ferrokv.sha1hex", raw_sha1hex, raising_sha1hex)?,
        )?;
        api.raw_set(
            "error_table",
            lua.create_function(|lua, text: mlua::String| {
                convert::error_table(lua, &text.as_bytes())
            })?,
        )?;
        api.raw_set(
            "random",
            raising_fn(&lua, "ferrokv.random", raw_random, raising_random)?,
        )?;
        api.raw_set(
            "randomseed",
            raising_fn(
                &lua,
                "ferrokv.randomseed",
                raw_randomseed,
                raising_randomseed,
            )?,
        )?;
        api.raw_set("version", version)?;
        api.raw_set("version_num", version_num)?;
        let globals = lua.globals();
        let xpcall: Function = globals.raw_get("xpcall")?;
        api.raw_set(
            "register_function",
            raising_fn(
                &lua,
                "ferrokv.register_function",
                raw_register_function,
                raising_register_function,
            )?,
        )?;
        let made: Table = lua
            .load(PRELUDE)
            .set_name("=ferrokv")
            .set_mode(ChunkMode::Text)
            .call(api)?;
        let handler = lua.create_function(error_handler)?;
        Ok(Engine {
            lua,
            globals,
            env: made.raw_get("env")?,
            xpcall,
            handler,
            scripts: HashMap::new(),
            fenv: made.raw_get("fenv")?,
            fmeta: made.raw_get("fmeta")?,
            load_globals: made.raw_get("load_globals")?,
            run_function: made.raw_get("run_function")?,
            libraries: HashMap::new(),
            functions: HashMap::new(),
            pending: Vec::new(),
        })
    }

    /// Runs library `name`'s `code` (after its shebang line, whose line feed it starts with)
    /// in the load context and returns the functions it registered, without making them
    /// callable yet ([`Engine::commit_library`]). The error is Redis's text.
    pub fn load_library(&mut self, code: &[u8]) -> Result<Vec<FunctionMeta>, String> {
        let f = self
            .lua
            .load(code)
            .set_name("@user_function")
            .set_mode(ChunkMode::Text)
            .set_environment(self.fenv.clone())
            .into_function()
            .map_err(|e| format!("Error compiling function: {}", lua_message(&e)))?;
        self.fmeta
            .raw_set("__index", self.load_globals.clone())
            .map_err(|e| e.to_string())?;
        REGISTERING.with(|r| *r.borrow_mut() = Some(Vec::new()));
        let identity = self.lua.create_function(|_, v: Value| Ok(v));
        let result = identity.and_then(|h| self.xpcall.call::<(bool, Value)>((f, h)));
        let registered = REGISTERING
            .with(|r| r.borrow_mut().take())
            .unwrap_or_default();
        self.fmeta
            .raw_set("__index", self.globals.clone())
            .map_err(|e| e.to_string())?;
        let failure = match result {
            Ok((true, _)) => None,
            Ok((false, Value::Table(t))) => Some(match t.raw_get::<Value>("err") {
                Ok(Value::String(e)) => e.to_string_lossy(),
                _ => "ERR unknown error".into(),
            }),
            Ok((false, Value::String(e))) => Some(format!("ERR {}", e.to_string_lossy())),
            Ok((false, _)) => Some("ERR unknown error".into()),
            Err(e) => Some(format!("ERR {}", lua_message(&e))),
        };
        if let Some(text) = failure {
            return Err(format!("Error registering functions: {text}"));
        }
        let metas = registered.iter().map(|(m, _)| m.clone()).collect();
        self.pending = registered;
        Ok(metas)
    }

    /// Makes the functions of the last [`Engine::load_library`] callable as library `name`
    /// (replacing a library of that name).
    pub fn commit_library(&mut self, name: &str) {
        self.drop_library(name);
        let pending = std::mem::take(&mut self.pending);
        for (meta, f) in &pending {
            self.functions.insert(meta.name.clone(), f.clone());
        }
        self.libraries.insert(
            name.to_string(),
            pending.into_iter().map(|(m, f)| (m.name, f)).collect(),
        );
    }

    /// Forgets library `name` and its functions.
    pub fn drop_library(&mut self, name: &str) {
        if let Some(functions) = self.libraries.remove(name) {
            for (fname, _) in functions {
                self.functions.remove(&fname);
            }
        }
    }

    /// Forgets every library (FUNCTION FLUSH, or before reloading them all).
    pub fn forget_functions(&mut self) {
        self.libraries.clear();
        self.functions.clear();
        self.pending.clear();
        let _ = self.lua.gc_collect();
    }

    /// Whether library `name` is loaded here.
    pub fn has_library(&self, name: &str) -> bool {
        self.libraries.contains_key(name)
    }

    /// Runs function `name` with `keys` and `args` (passed as its two table arguments),
    /// writing its result or error to `out`; as [`Engine::run`].
    pub fn call_function(
        &mut self,
        host: &mut dyn Host,
        name: &str,
        keys: &[Bytes],
        args: &[Bytes],
        out: &mut Reply,
    ) -> bool {
        let Some(f) = self.functions.get(name).cloned() else {
            out.error("ERR Function not found");
            return false;
        };
        let tables = self
            .array(keys)
            .and_then(|k| self.array(args).map(|a| (k, a)));
        let (keys_t, args_t) = match tables {
            Ok(t) => t,
            Err(e) => {
                out.error(format!("ERR {}", lua_message(&e)));
                return false;
            }
        };
        let runner = self.run_function.clone();
        let handler = self.handler.clone();
        self.invoke(host, name, out, move || {
            runner.call::<MultiValue>((f, handler, keys_t, args_t))
        })
    }

    /// Whether `sha`'s script is compiled here.
    pub fn has(&self, sha: &[u8; 40]) -> bool {
        self.scripts.contains_key(sha)
    }

    /// Compiles `body` (whose shebang, if any, is `shebang_len` bytes) as script `sha`. The
    /// error is Redis's `Error compiling script (new function): ...` text.
    pub fn compile(
        &mut self,
        sha: &[u8; 40],
        body: &[u8],
        shebang_len: usize,
    ) -> Result<(), String> {
        // The shebang is skipped but its line feed kept, so line numbers stay the user's.
        let f = self
            .lua
            .load(&body[shebang_len..])
            .set_name("@user_script")
            .set_mode(ChunkMode::Text)
            .set_environment(self.env.clone())
            .into_function()
            .map_err(|e| format!("Error compiling script (new function): {}", lua_message(&e)))?;
        self.scripts.insert(*sha, f);
        Ok(())
    }

    /// Forgets every compiled script (SCRIPT FLUSH).
    pub fn forget_all(&mut self) {
        self.scripts.clear();
        let _ = self.lua.gc_collect();
    }

    /// Bytes the interpreter uses (INFO `used_memory_lua`).
    pub fn memory(&self) -> usize {
        self.lua.used_memory()
    }

    /// Runs compiled script `sha` with `keys` and `argv` as KEYS and ARGV, writing its result
    /// (or its error, Redis's text) to `out`. Returns false when the script failed.
    pub fn run(
        &mut self,
        host: &mut dyn Host,
        sha: &[u8; 40],
        keys: &[Bytes],
        argv: &[Bytes],
        out: &mut Reply,
    ) -> bool {
        let Some(f) = self.scripts.get(sha).cloned() else {
            out.error("NOSCRIPT No matching script. Please use EVAL.");
            return false;
        };
        if let Err(e) = self
            .set_array("KEYS", keys)
            .and_then(|_| self.set_array("ARGV", argv))
        {
            out.error(format!("ERR {}", lua_message(&e)));
            return false;
        }
        let xpcall = self.xpcall.clone();
        let handler = self.handler.clone();
        let sha_text = std::str::from_utf8(sha).unwrap_or("").to_string();
        self.invoke(host, &sha_text, out, move || {
            xpcall.call::<MultiValue>((f, handler))
        })
    }

    /// Runs `call` (an `xpcall` of the script or function) with `host` installed, and writes
    /// its result, or its error naming `name` (Redis's `funcname`), to `out`.
    fn invoke(
        &mut self,
        host: &mut dyn Host,
        name: &str,
        out: &mut Reply,
        call: impl FnOnce() -> mlua::Result<MultiValue>,
    ) -> bool {
        // SAFETY (lifetime): the pointer is removed from the thread local before `invoke`
        // returns (the guard below, also on unwinding), so it never outlives `host`.
        let host_ptr: *mut (dyn Host + '_) = host;
        let host_ptr: *mut (dyn Host + 'static) = unsafe { std::mem::transmute(host_ptr) };
        struct Uninstall;
        impl Drop for Uninstall {
            fn drop(&mut self) {
                HOST.with(|h| h.set(None));
            }
        }
        HOST.with(|h| h.set(Some(host_ptr)));
        let uninstall = Uninstall;
        self.lua.set_hook(
            mlua::HookTriggers::new().every_nth_instruction(100_000),
            |_, _| match with_host(|h| h.interrupted()) {
                Some(true) => Err(mlua::Error::runtime(KILLED)),
                _ => Ok(mlua::VmState::Continue),
            },
        );
        let result = call();
        self.lua.remove_hook();
        let resp3 = with_host(|h| h.resp3()).unwrap_or(false);
        drop(uninstall);
        match result {
            Ok(values) => {
                let mut values = values.into_iter();
                let ok = matches!(values.next(), Some(Value::Boolean(true)));
                let value = values.next().unwrap_or(Value::Nil);
                if ok {
                    convert::lua_to_reply(out, &value, resp3);
                    true
                } else {
                    out.error(failure_text(&value, name));
                    false
                }
            }
            Err(e) => {
                out.error(format!(
                    "ERR Error running script {name}, {:.100}",
                    lua_message(&e)
                ));
                false
            }
        }
    }

    fn array(&self, items: &[Bytes]) -> mlua::Result<Table> {
        let t = self.lua.create_table_with_capacity(items.len(), 0)?;
        for (i, item) in items.iter().enumerate() {
            t.raw_set(i + 1, self.lua.create_string(item)?)?;
        }
        Ok(t)
    }

    fn set_array(&self, name: &str, items: &[Bytes]) -> mlua::Result<()> {
        self.globals.raw_set(name, self.array(items)?)
    }
}

/// Redis's `luaCallFunction` error reply: the error table's `err`, then ` script: <sha>, on
/// <source>:<line>.` when the handler found where it happened.
fn failure_text(err: &Value, sha: &str) -> Vec<u8> {
    let Value::Table(t) = err else {
        let msg = match err {
            Value::String(s) => s.to_string_lossy(),
            _ => "execution failure".into(),
        };
        return format!("Error running script {sha}, {msg:.100}").into_bytes();
    };
    let mut text = match t.raw_get::<Value>("err") {
        Ok(Value::String(s)) => s.as_bytes().to_vec(),
        _ => b"ERR unknown error".to_vec(),
    };
    let source = t.raw_get::<Option<mlua::String>>("source").ok().flatten();
    let line = match t.raw_get::<Value>("line") {
        Ok(Value::Number(n)) => Some(n as i64),
        Ok(Value::Integer(n)) => Some(n),
        _ => None,
    };
    if let (Some(source), Some(line)) = (source, line) {
        text.extend_from_slice(format!(" script: {sha}, on ").as_bytes());
        text.extend_from_slice(&source.as_bytes());
        text.extend_from_slice(format!(":{line}.").as_bytes());
    }
    text
}

/// The message of a Lua error without mlua's decorations.
fn lua_message(e: &mlua::Error) -> String {
    match e {
        mlua::Error::SyntaxError { message, .. } => message.clone(),
        mlua::Error::RuntimeError(m) => m.clone(),
        mlua::Error::CallbackError { cause, .. } => lua_message(cause),
        other => other.to_string(),
    }
}

/// The message handler of every script run (Redis's `__redis__err__handler`): turns the
/// error into `{err=..., source=..., line=...}`, the place being the innermost frame of the
/// user's code (C functions and the engine's own Lua halves are skipped).
fn error_handler(lua: &Lua, err: Value) -> mlua::Result<Table> {
    let t = match err {
        Value::Table(t) => t,
        other => {
            let text = match &other {
                Value::String(s) => s.as_bytes().to_vec(),
                Value::Nil => b"nil".to_vec(),
                Value::Boolean(b) => b.to_string().into_bytes(),
                Value::Number(n) => crate::util::num::format_f64(*n).into_bytes(),
                Value::Error(e) => lua_message(e).into_bytes(),
                v => format!("{v:?}").into_bytes(),
            };
            let t = lua.create_table()?;
            let mut msg = b"ERR ".to_vec();
            msg.extend_from_slice(&text);
            t.raw_set("err", lua.create_string(&msg)?)?;
            t
        }
    };
    for level in 1..64 {
        let Some(frame) = lua.inspect_stack(level) else {
            break;
        };
        let src = frame.source();
        if src.what == "C" || src.source.as_deref() == Some("=ferrokv") {
            continue;
        }
        if let Some(source) = src.source.as_deref() {
            t.raw_set("source", source)?;
            t.raw_set("line", frame.curr_line())?;
        }
        break;
    }
    Ok(t)
}

/// `redis.call` and the other API functions that raise are C functions, as Redis's are, so
/// that `return redis.call(...)` is not a Lua tail call and an error report still names the
/// calling line. Each runs its Rust half (kept in the registry under its key), which returns
/// `(ok, value)`, and raises `value` when `ok` is false.
macro_rules! raising {
    ($name:ident, $key:literal, $prepend_raise:expr) => {
        /// # Safety
        /// Called by Lua only (see [`raise_through`]).
        unsafe extern "C-unwind" fn $name(state: *mut mlua::lua_State) -> std::os::raw::c_int {
            raise_through(state, $key, $prepend_raise)
        }
    };
}

raising!(raising_log, c"ferrokv.log", false);
raising!(raising_setresp, c"ferrokv.setresp", false);
raising!(raising_set_repl, c"ferrokv.set_repl", false);
raising!(raising_acl_check, c"ferrokv.acl_check_cmd", false);
raising!(raising_sha1hex, c"ferrokv.sha1hex", false);
raising!(raising_random, c"ferrokv.random", false);
raising!(raising_randomseed, c"ferrokv.randomseed", false);
raising!(
    raising_register_function,
    c"ferrokv.register_function",
    false
);

/// `redis.call` / `redis.pcall` (raise or not): as [`raising!`], but the arguments travel to
/// the Rust half in one table, so a call with thousands of arguments (`unpack` of a big table)
/// stays within the C stack limits.
macro_rules! calling {
    ($name:ident, $raise:expr) => {
        /// # Safety
        /// Called by Lua only (see [`call_through`]).
        unsafe extern "C-unwind" fn $name(state: *mut mlua::lua_State) -> std::os::raw::c_int {
            call_through(state, $raise)
        }
    };
}

calling!(redis_call, true);
calling!(redis_pcall, false);

/// The body of the [`calling!`] functions.
///
/// # Safety
/// As [`raise_through`].
unsafe fn call_through(state: *mut mlua::lua_State, raise: bool) -> std::os::raw::c_int {
    use mlua::ffi;
    let n = ffi::lua_gettop(state);
    ffi::lua_createtable(state, n, 0);
    for i in 1..=n {
        ffi::lua_pushvalue(state, i);
        ffi::lua_rawseti(state, -2, i.into());
    }
    // The count, so nils among the arguments are seen (and refused) as Redis sees them.
    ffi::lua_pushinteger(state, n.into());
    ffi::lua_setfield(state, -2, c"n".as_ptr());
    ffi::lua_insert(state, 1);
    ffi::lua_settop(state, 1);
    ffi::lua_getfield(state, ffi::LUA_REGISTRYINDEX, c"ferrokv.call".as_ptr());
    ffi::lua_insert(state, 1);
    ffi::lua_pushboolean(state, raise as std::os::raw::c_int);
    ffi::lua_insert(state, 2);
    ffi::lua_call(state, 2, 2);
    if !raise || ffi::lua_toboolean(state, 1) != 0 {
        return 1;
    }
    ffi::lua_remove(state, 1);
    ffi::lua_error(state)
}

/// The body of the [`raising!`] functions.
///
/// # Safety
/// Called from a Lua C function only. No Rust value with a destructor is alive when
/// `lua_error` jumps out.
unsafe fn raise_through(
    state: *mut mlua::lua_State,
    key: &std::ffi::CStr,
    prepend_raise: bool,
) -> std::os::raw::c_int {
    use mlua::ffi;
    let n = ffi::lua_gettop(state);
    ffi::lua_getfield(state, ffi::LUA_REGISTRYINDEX, key.as_ptr());
    ffi::lua_insert(state, 1);
    let mut extra = 0;
    if prepend_raise {
        ffi::lua_pushboolean(state, 1);
        ffi::lua_insert(state, 2);
        extra = 1;
    }
    ffi::lua_call(state, n + extra, 2);
    if ffi::lua_toboolean(state, 1) != 0 {
        return 1;
    }
    ffi::lua_remove(state, 1);
    if ffi::lua_type(state, 1) == ffi::LUA_TSTRING {
        // A plain message gets the calling line in front, as luaL_error's.
        ffi::luaL_where(state, 1);
        ffi::lua_insert(state, 1);
        ffi::lua_concat(state, 2);
    }
    ffi::lua_error(state)
}

/// Registers `f` as the Rust half of the raising API function `c` and returns the latter.
fn raising_fn<F>(lua: &Lua, key: &str, f: F, c: mlua::ffi::lua_CFunction) -> mlua::Result<Function>
where
    F: Fn(&Lua, MultiValue) -> mlua::Result<(bool, Value)> + 'static,
{
    lua.set_named_registry_value(key, lua.create_function(f)?)?;
    // SAFETY: every `c` passed here is made by `raising!`, which follows the C API contract.
    unsafe { lua.create_c_function(c) }
}

/// Redis's `luaArgsToRedisArgv`: the arguments of `redis.call` (and `acl_check_cmd`) as a
/// command, numbers as `"%.17g"`; the error text otherwise.
fn command_args(args: &[Value]) -> Result<Vec<Bytes>, &'static [u8]> {
    if args.is_empty() {
        return Err(b"Please specify at least one argument for this redis lib call");
    }
    args.iter()
        .map(|a| match a {
            Value::String(s) => Ok(Bytes::copy_from_slice(&s.as_bytes())),
            Value::Number(n) => Ok(Bytes::from(format_g17(*n))),
            Value::Integer(n) => Ok(Bytes::from(format_g17(*n as f64))),
            _ => Err(&b"Lua redis lib command arguments must be strings or integers"[..]),
        })
        .collect()
}

fn error_result(lua: &Lua, text: &[u8]) -> mlua::Result<(bool, Value)> {
    Ok((false, Value::Table(convert::error_table(lua, text)?)))
}

/// `redis.call`/`redis.pcall`'s Rust half: `(raise, {name, args...})` -> `(ok, reply)`.
fn raw_call(lua: &Lua, (raise, list): (bool, Table)) -> mlua::Result<(bool, Value)> {
    let n: usize = list.raw_get("n")?;
    let mut args = Vec::with_capacity(n);
    for i in 1..=n {
        args.push(list.raw_get::<Value>(i)?);
    }
    let argv = match command_args(&args) {
        Ok(argv) => argv,
        Err(e) => return error_result(lua, e),
    };
    let Some(result) = with_host(|h| h.call(argv)) else {
        return error_result(
            lua,
            b"redis.call/pcall can only be called inside a script invocation",
        );
    };
    match result {
        Err(text) => {
            let t = convert::error_table(lua, &text)?;
            t.raw_set(IGNORE_STATS, true)?;
            Ok((false, Value::Table(t)))
        }
        Ok(reply) => {
            let value = convert::reply_to_lua(lua, &reply)?;
            Ok((!(raise && reply.first() == Some(&b'-')), value))
        }
    }
}

/// C's `"%.17g"`, as Redis formats a number argument of `redis.call`.
pub fn format_g17(n: f64) -> String {
    crate::util::num::format_f64(n)
}

fn raw_log(lua: &Lua, args: MultiValue) -> mlua::Result<(bool, Value)> {
    if args.len() < 2 {
        return error_result(lua, b"redis.log() requires two arguments or more.");
    }
    let level = match &args[0] {
        Value::Number(n) => *n,
        Value::Integer(n) => *n as f64,
        Value::String(s) => match s.to_str().ok().and_then(|s| s.trim().parse::<f64>().ok()) {
            Some(n) => n,
            None => return error_result(lua, b"First argument must be a number (log level)."),
        },
        _ => return error_result(lua, b"First argument must be a number (log level)."),
    };
    let level = level as i64;
    if !(0..=3).contains(&level) {
        return error_result(lua, b"Invalid debug level.");
    }
    let mut msg = Vec::new();
    for (i, a) in args.iter().skip(1).enumerate() {
        let piece = match a {
            Value::String(s) => s.as_bytes().to_vec(),
            v @ (Value::Number(_) | Value::Integer(_)) => lua_tostring(lua, v)?,
            _ => continue,
        };
        if i != 0 {
            msg.push(b' ');
        }
        msg.extend_from_slice(&piece);
    }
    with_host(|h| h.log(level as u8, &msg));
    Ok((true, Value::Nil))
}

/// Lua's `luaL_checkint` for argument `i` (1-based) of `fname`: a number (or a numeric
/// string), truncated to a C int; the argument error text otherwise.
fn check_int(args: &MultiValue, i: usize, fname: &str) -> Result<i64, String> {
    let v = args.get(i - 1);
    let n = match v {
        Some(Value::Integer(n)) => Some(*n as f64),
        Some(Value::Number(n)) => Some(*n),
        Some(Value::String(s)) => s.to_str().ok().and_then(|t| t.trim().parse::<f64>().ok()),
        _ => None,
    };
    match n {
        Some(n) => Ok(n as i32 as i64),
        None => {
            let got = v.map_or("no value", |v| v.type_name());
            Err(format!(
                "bad argument #{i} to '{fname}' (number expected, got {got})"
            ))
        }
    }
}

fn message(lua: &Lua, text: &str) -> mlua::Result<(bool, Value)> {
    Ok((false, Value::String(lua.create_string(text)?)))
}

/// `math.random([m [, n]])` on Redis's lrand48, with Lua 5.1's argument rules.
fn raw_random(lua: &Lua, args: MultiValue) -> mlua::Result<(bool, Value)> {
    let r = super::rand48::unit();
    let value = match args.len() {
        0 => r,
        1 => match check_int(&args, 1, "random") {
            Err(e) => return message(lua, &e),
            Ok(u) if u < 1 => {
                return message(lua, "bad argument #1 to 'random' (interval is empty)")
            }
            Ok(u) => (r * u as f64).floor() + 1.0,
        },
        2 => {
            let (l, u) = match (check_int(&args, 1, "random"), check_int(&args, 2, "random")) {
                (Err(e), _) | (_, Err(e)) => return message(lua, &e),
                (Ok(l), Ok(u)) => (l, u),
            };
            if l > u {
                return message(lua, "bad argument #2 to 'random' (interval is empty)");
            }
            (r * (u - l + 1) as f64).floor() + l as f64
        }
        _ => return message(lua, "wrong number of arguments"),
    };
    Ok((true, Value::Number(value)))
}

fn raw_randomseed(lua: &Lua, args: MultiValue) -> mlua::Result<(bool, Value)> {
    match check_int(&args, 1, "randomseed") {
        Ok(seed) => {
            super::rand48::seed(seed as i32);
            Ok((true, Value::Nil))
        }
        Err(e) => message(lua, &e),
    }
}

/// Redis's rule for library and function names: letters, digits and `_`, at least one.
pub fn valid_function_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// `redis.register_function(name, callback)` or `redis.register_function{function_name=...,
/// callback=..., flags={...}, description=...}` during FUNCTION LOAD.
fn raw_register_function(lua: &Lua, args: MultiValue) -> mlua::Result<(bool, Value)> {
    let loading = REGISTERING.with(|r| r.borrow().is_some());
    if !loading {
        return error_result(
            lua,
            b"redis.register_function can only be called on FUNCTION LOAD command",
        );
    }
    let parsed = match args.len() {
        1 => named_registration(&args[0]),
        2 => match (&args[0], &args[1]) {
            (Value::String(name), Value::Function(f)) => {
                Ok((name.to_string_lossy(), None, 0, f.clone()))
            }
            (Value::Integer(_) | Value::Number(_), Value::Function(f)) => Ok((
                lua_tostring(lua, &args[0]).map(|b| String::from_utf8_lossy(&b).into_owned())?,
                None,
                0,
                f.clone(),
            )),
            (Value::String(_) | Value::Integer(_) | Value::Number(_), _) => {
                Err("second argument to redis.register_function must be a function")
            }
            _ => Err("first argument to redis.register_function must be a string"),
        },
        _ => Err("wrong number of arguments to redis.register_function"),
    };
    let (name, description, flags, callback) = match parsed {
        Ok(p) => p,
        Err(e) => return error_result(lua, e.as_bytes()),
    };
    if !valid_function_name(&name) {
        return error_result(
            lua,
            b"Library names can only contain letters, numbers, or underscores(_) and must be at least one character long",
        );
    }
    let duplicate = REGISTERING.with(|r| {
        r.borrow()
            .as_ref()
            .is_some_and(|v| v.iter().any(|(m, _)| m.name == name))
    });
    if duplicate {
        return error_result(lua, b"Function already exists in the library");
    }
    REGISTERING.with(|r| {
        if let Some(v) = r.borrow_mut().as_mut() {
            v.push((
                FunctionMeta {
                    name,
                    description,
                    flags,
                },
                callback,
            ));
        }
    });
    Ok((true, Value::Nil))
}

type Registration = (String, Option<String>, u32, Function);

fn named_registration(arg: &Value) -> Result<Registration, &'static str> {
    let Value::Table(t) = arg else {
        return Err("calling redis.register_function with a single argument is only applicable to Lua table (representing named arguments).");
    };
    let (mut name, mut description, mut flags, mut callback) = (None, None, 0, None);
    for pair in t.pairs::<Value, Value>() {
        let Ok((k, v)) = pair else {
            return Err("named argument key given to redis.register_function is not a string");
        };
        let key = match &k {
            Value::String(s) => s.to_string_lossy().to_ascii_lowercase(),
            _ => return Err("named argument key given to redis.register_function is not a string"),
        };
        match key.as_str() {
            "function_name" => {
                match v {
                    Value::String(s) => name = Some(s.to_string_lossy()),
                    _ => return Err(
                        "function_name argument given to redis.register_function must be a string",
                    ),
                }
            }
            "description" => {
                match v {
                    Value::String(s) => description = Some(s.to_string_lossy()),
                    _ => return Err(
                        "description argument given to redis.register_function must be a string",
                    ),
                }
            }
            "callback" => match v {
                Value::Function(f) => callback = Some(f),
                _ => {
                    return Err(
                        "callback argument given to redis.register_function must be a function",
                    )
                }
            },
            "flags" => {
                let Value::Table(list) = v else {
                    return Err("flags argument to redis.register_function must be a table representing function flags");
                };
                for i in 1.. {
                    match list.raw_get::<Value>(i) {
                        Ok(Value::Nil) | Err(_) => break,
                        Ok(Value::String(f)) => {
                            let f = f.to_string_lossy();
                            match script_flags::NAMES
                                .iter()
                                .find(|(n, _)| n.eq_ignore_ascii_case(&f))
                            {
                                Some((_, bit)) => flags |= bit,
                                None => return Err("unknown flag given"),
                            }
                        }
                        Ok(_) => return Err("unknown flag given"),
                    }
                }
            }
            _ => return Err("unknown argument given to redis.register_function"),
        }
    }
    let Some(name) = name else {
        return Err("redis.register_function must get a function name argument");
    };
    let Some(callback) = callback else {
        return Err("redis.register_function must get a callback argument");
    };
    Ok((name, description, flags, callback))
}

fn raw_sha1hex(lua: &Lua, args: MultiValue) -> mlua::Result<(bool, Value)> {
    if args.len() != 1 {
        return error_result(lua, b"wrong number of arguments");
    }
    let text = match &args[0] {
        Value::String(s) => s.as_bytes().to_vec(),
        v @ (Value::Number(_) | Value::Integer(_)) => lua_tostring(lua, v)?,
        _ => Vec::new(),
    };
    Ok((true, Value::String(lua.create_string(sha1_hex(&text))?)))
}

/// Lua's own `tostring` of a number (`"%.14g"`), as `lua_tolstring` converts it.
fn lua_tostring(lua: &Lua, v: &Value) -> mlua::Result<Vec<u8>> {
    let f: Function = lua.globals().raw_get("tostring")?;
    let s: mlua::String = f.call(v.clone())?;
    Ok(s.as_bytes().to_vec())
}

fn raw_setresp(lua: &Lua, args: MultiValue) -> mlua::Result<(bool, Value)> {
    if args.len() != 1 {
        return error_result(lua, b"redis.setresp() requires one argument.");
    }
    let resp = match &args[0] {
        Value::Number(n) => *n as i64,
        Value::Integer(n) => *n,
        Value::String(s) => s
            .to_str()
            .ok()
            .and_then(|s| s.trim().parse::<f64>().ok())
            .map_or(0, |n| n as i64),
        _ => 0,
    };
    if resp != 2 && resp != 3 {
        return error_result(lua, b"RESP version must be 2 or 3.");
    }
    match with_host(|h| h.set_resp(resp == 3)) {
        Some(()) => Ok((true, Value::Nil)),
        None => error_result(
            lua,
            b"redis.setresp can only be called inside a script invocation",
        ),
    }
}

fn raw_set_repl(lua: &Lua, args: MultiValue) -> mlua::Result<(bool, Value)> {
    if args.len() != 1 {
        return error_result(lua, b"redis.set_repl() requires two arguments.");
    }
    let flags = match &args[0] {
        Value::Number(n) => *n as i64,
        Value::Integer(n) => *n,
        _ => 0,
    };
    if flags & !3 != 0 {
        return error_result(
            lua,
            b"Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.",
        );
    }
    match with_host(|h| h.set_repl(flags as u8)) {
        Some(()) => Ok((true, Value::Nil)),
        None => error_result(
            lua,
            b"redis.set_repl can only be called inside a script invocation",
        ),
    }
}

fn raw_acl_check(lua: &Lua, args: MultiValue) -> mlua::Result<(bool, Value)> {
    let args: Vec<Value> = args.into_iter().collect();
    let argv = match command_args(&args) {
        Ok(argv) => argv,
        Err(e) => return error_result(lua, e),
    };
    match with_host(|h| h.acl_check(&argv)) {
        None => error_result(
            lua,
            b"redis.acl_check_cmd can only be called inside a script invocation",
        ),
        Some(None) => error_result(lua, b"Invalid command passed to redis.acl_check_cmd()"),
        Some(Some(allowed)) => Ok((true, Value::Boolean(allowed))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shebangs_as_redis_parses_them() {
        assert_eq!(
            shebang_flags(b"return 1"),
            Ok((script_flags::EVAL_COMPAT_MODE, 0))
        );
        assert_eq!(
            shebang_flags(b"#!lua flags=no-writes,allow-oom\nreturn 1"),
            Ok((script_flags::NO_WRITES | script_flags::ALLOW_OOM, 31))
        );
        assert_eq!(shebang_flags(b"#!lua\nreturn 1"), Ok((0, 5)));
        assert_eq!(
            shebang_flags(b"#!lua"),
            Err("Invalid script shebang".into())
        );
        assert_eq!(
            shebang_flags(b"#!py\n"),
            Err("Unexpected engine in script shebang: #!py".into())
        );
        assert_eq!(
            shebang_flags(b"#!lua flags=bad\n"),
            Err("Unexpected flag in script shebang: bad".into())
        );
        assert_eq!(
            shebang_flags(b"#!lua x=1\n"),
            Err("Unknown lua shebang option: x=1".into())
        );
    }

    /// Answers GET with a bulk string, anything named NOSUCH as unknown, the rest with +OK.
    struct Mock {
        resp3: bool,
    }

    impl Host for Mock {
        fn call(&mut self, args: Vec<Bytes>) -> Result<Vec<u8>, Vec<u8>> {
            match &args[0][..] {
                b"get" => Ok(b"$1\r\nv\r\n".to_vec()),
                b"fail" => Ok(b"-WRONGTYPE Operation against a key\r\n".to_vec()),
                b"nosuch" => Err(b"Unknown Redis command called from script".to_vec()),
                _ => Ok(b"+OK\r\n".to_vec()),
            }
        }
        fn set_resp(&mut self, resp3: bool) {
            self.resp3 = resp3;
        }
        fn resp3(&self) -> bool {
            self.resp3
        }
        fn set_repl(&mut self, _flags: u8) {}
        fn acl_check(&mut self, _args: &[Bytes]) -> Option<bool> {
            Some(true)
        }
        fn log(&mut self, _level: u8, _msg: &[u8]) {}
        fn interrupted(&mut self) -> bool {
            false
        }
    }

    fn eval(engine: &mut Engine, body: &str) -> String {
        let sha = sha1_hex(body.as_bytes());
        if !engine.has(&sha) {
            if let Err(e) = engine.compile(&sha, body.as_bytes(), 0) {
                return e;
            }
        }
        let mut out = Reply::new(false);
        let mut host = Mock { resp3: false };
        engine.run(
            &mut host,
            &sha,
            &[Bytes::from_static(b"k1")],
            &[Bytes::from_static(b"a1")],
            &mut out,
        );
        String::from_utf8_lossy(&out.buf).replace(std::str::from_utf8(&sha).unwrap(), "SHA")
    }

    #[test]
    fn scripts_run_with_redis_semantics_and_error_texts() {
        let mut e = Engine::new("7.0.15", 0x07000f).unwrap();
        assert_eq!(eval(&mut e, "return KEYS[1]..ARGV[1]"), "$4\r\nk1a1\r\n");
        assert_eq!(eval(&mut e, "return redis.call('get', 'k')"), "$1\r\nv\r\n");
        assert_eq!(
            eval(&mut e, "return a"),
            "-ERR user_script:1: Script attempted to access nonexistent global variable 'a' script: SHA, on @user_script:1.\r\n"
        );
        assert_eq!(
            eval(&mut e, "a = 1"),
            "-ERR user_script:1: Attempt to modify a readonly table script: SHA, on @user_script:1.\r\n"
        );
        assert_eq!(
            eval(&mut e, "\nreturn redis.call('nosuch')"),
            "-ERR Unknown Redis command called from script script: SHA, on @user_script:2.\r\n"
        );
        assert_eq!(
            eval(&mut e, "return redis.call('fail')"),
            "-WRONGTYPE Operation against a key script: SHA, on @user_script:1.\r\n"
        );
        assert_eq!(
            eval(&mut e, "return redis.pcall('fail')"),
            "-WRONGTYPE Operation against a key\r\n"
        );
        assert_eq!(
            eval(&mut e, "return pcall(redis.call, 'nosuch')"),
            "$-1\r\n"
        );
        assert_eq!(
            eval(
                &mut e,
                "local ok, err = pcall(redis.call, 'nosuch') return err"
            ),
            "$44\r\nERR Unknown Redis command called from script\r\n"
        );
        assert_eq!(
            eval(&mut e, "error('boom')"),
            "-ERR user_script:1: boom script: SHA, on @user_script:1.\r\n"
        );
        assert_eq!(
            eval(&mut e, "error({err='X y'})"),
            "-X y script: SHA, on @user_script:1.\r\n"
        );
        assert_eq!(
            eval(&mut e, "return redis.error_reply('MY code')"),
            "-MY code\r\n"
        );
        assert_eq!(
            eval(&mut e, "return redis.status_reply('fine')"),
            "+fine\r\n"
        );
        assert_eq!(
            eval(&mut e, "return foo("),
            "Error compiling script (new function): user_script:1: unexpected symbol near '<eof>'"
        );
        assert_eq!(eval(&mut e, "redis.call = nil"), "-ERR user_script:1: Attempt to modify a readonly table script: SHA, on @user_script:1.\r\n");
        assert_eq!(eval(&mut e, "rawset(_G, 'x', 1)"), "-ERR user_script:1: Attempt to modify a readonly table script: SHA, on @user_script:1.\r\n");
        assert_eq!(
            eval(
                &mut e,
                "return loadstring('y = 1') ~= nil and pcall(loadstring('y = 1'))"
            ),
            "$-1\r\n"
        );
        assert_eq!(
            eval(
                &mut e,
                "return {1, 2, 3.5, 'x', {err='e'}, {ok='fine'}, nil, 4}"
            ),
            "*6\r\n:1\r\n:2\r\n:3\r\n$1\r\nx\r\n-e\r\n+fine\r\n"
        );
        assert_eq!(
            eval(&mut e, "return redis.sha1hex('')"),
            "$40\r\nda39a3ee5e6b4b0d3255bfef95601890afd80709\r\n"
        );
        assert_eq!(eval(&mut e, "return type(print)"), "-ERR user_script:1: Script attempted to access nonexistent global variable 'print' script: SHA, on @user_script:1.\r\n");
    }

    #[test]
    fn sha1_is_lowercase_hex() {
        assert_eq!(&sha1_hex(b""), b"da39a3ee5e6b4b0d3255bfef95601890afd80709");
    }
}
