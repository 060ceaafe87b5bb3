//! Lua scripting: EVAL, EVALSHA, EVAL_RO, EVALSHA_RO and SCRIPT (LOAD EXISTS FLUSH KILL HELP).
//!
//! # One script, in order (Redis's `evalGenericCommand` + `scriptPrepareForRun`)
//! 1. `numkeys` checked; the body found (EVALSHA: in the cache, or `NOSCRIPT`; EVAL: cached
//!    on first use after its shebang is parsed and it compiles).
//! 2. The shebang's flags checked against the server's state (write flag with `*_RO`,
//!    MISCONF, OOM).
//! 3. Atomicity (see `store::txn::Held` for the proof): the script takes the one-script lock
//!    ([`crate::lua::cache::ScriptCache::serial`]), write-locks its declared keys' shards in
//!    order, and every other shard it reaches is locked as it reaches it and held until it
//!    ends. No other client, on any loop, sees part of its effects or writes between them;
//!    commands on shards it does not hold go on in parallel. Inside EXEC the transaction
//!    already holds every shard (EVAL is keyspace-wide for EXEC), so neither lock is taken.
//! 4. The script runs in this loop's interpreter ([`crate::lua::engine::Engine`]);
//!    `redis.call` runs each command through [`super::call()`] as a nested command of the
//!    EVAL, after Redis's script checks ([`ScriptHost::call`]): the reply comes back as RESP2
//!    (or RESP3 after `redis.setresp(3)`) and is converted to Lua. Blocking commands do not
//!    block (as in EXEC); SELECT inside the script does not change the caller's database.
//! 5. Propagation: the script's writes propagate as their effects (Redis 7's only mode),
//!    wrapped in MULTI/EXEC with the rest of the execution unit; EVAL itself is never
//!    propagated.

use std::cell::RefCell;
use std::sync::atomic::Ordering;

use bytes::Bytes;

use super::flags::*;
use super::{container, errors, registry, spec, CommandSpec, Ctx, Group};
use crate::lua::cache::{sha_arg, CachedScript, Kill, Running, BUSY_EVAL, BUSY_FUNCTION};
use crate::lua::engine::{script_flags, sha1_hex, shebang_flags, Engine, Host};
use crate::resp::reply::Reply;

/// EVAL-family flags: not from scripts, not in MONITOR before they run (fed by the handler,
/// as Redis does, so the script's commands follow it), EXEC locks everything for them.
const EVAL: u32 =
    NOSCRIPT | SKIP_MONITOR | STALE | NO_MANDATORY_KEYS | KEYSPACE_WIDE | MOVABLE_KEYS;

#[rustfmt::skip]
pub static COMMANDS: &[CommandSpec] = &[
    spec("eval",       -3, EVAL | MAY_REPLICATE, Group::Scripting, 0, 0, 0, eval).with_keys(super::keys_after_numkeys::<2>),
    spec("evalsha",    -3, EVAL | MAY_REPLICATE, Group::Scripting, 0, 0, 0, evalsha).with_keys(super::keys_after_numkeys::<2>),
    spec("eval_ro",    -3, EVAL | READONLY,      Group::Scripting, 0, 0, 0, eval_ro).with_keys(super::keys_after_numkeys::<2>),
    spec("evalsha_ro", -3, EVAL | READONLY,      Group::Scripting, 0, 0, 0, evalsha_ro).with_keys(super::keys_after_numkeys::<2>),
    container("script", 0, Group::Scripting, SCRIPT),
];

#[rustfmt::skip]
static SCRIPT: &[CommandSpec] = &[
    // Redis's order (its dictionary's), which COMMAND shows.
    spec("script|help",    2, LOADING | STALE,       Group::Scripting, 0, 0, 0, script_help),
    spec("script|debug",   3, NOSCRIPT,              Group::Scripting, 0, 0, 0, script_debug),
    spec("script|flush",  -2, NOSCRIPT,              Group::Scripting, 0, 0, 0, script_flush),
    spec("script|kill",    2, NOSCRIPT | ALLOW_BUSY, Group::Scripting, 0, 0, 0, script_kill),
    spec("script|exists", -3, NOSCRIPT,              Group::Scripting, 0, 0, 0, script_exists),
    spec("script|load",    3, NOSCRIPT | STALE,      Group::Scripting, 0, 0, 0, script_load),
];

const NOSCRIPT_ERR: &str = "NOSCRIPT No matching script. Please use EVAL.";

thread_local! {
    /// This loop's interpreter and the cache generation its compiled scripts belong to.
    static ENGINE: RefCell<Option<LoopEngine>> = const { RefCell::new(None) };
}

/// This loop's interpreter: the cache generation its compiled scripts belong to, the
/// libraries' generation its functions belong to, and the memory it last reported (INFO
/// `used_memory_lua` sums every loop's).
struct LoopEngine {
    generation: u64,
    libraries: u64,
    reported: usize,
    engine: Engine,
}

/// Runs `f` with this thread's interpreter, made (or brought up to date after SCRIPT FLUSH
/// and FUNCTION changes) as needed, and reports the interpreter's memory after.
pub(super) fn with_engine<R>(srv: &crate::state::Shared, f: impl FnOnce(&mut Engine) -> R) -> R {
    let cache = &srv.scripts;
    let generation = cache.generation();
    ENGINE.with(|slot| {
        let mut slot = slot.borrow_mut();
        let current = slot.get_or_insert_with(|| LoopEngine {
            generation,
            libraries: 0,
            reported: 0,
            engine: Engine::new(
                super::connection::REDIS_VERSION,
                crate::persist::rdb::file::REDIS_VERSION_NUM,
            )
            .expect("the Lua environment is built from fixed code"),
        });
        if current.generation != generation {
            current.engine.forget_all();
            current.generation = generation;
        }
        if current.libraries != srv.functions().generation() {
            current.libraries = reload_libraries(&mut current.engine, srv.functions());
        }
        let result = f(&mut current.engine);
        let now = current.engine.memory();
        cache.report_lua_memory(current.reported, now);
        current.reported = now;
        result
    })
}

/// Loads every library into `engine` afresh; returns the generation loaded.
fn reload_libraries(engine: &mut Engine, libraries: &crate::lua::functions::Libraries) -> u64 {
    let (generation, libs) = libraries.snapshot();
    engine.forget_functions();
    for lib in libs {
        let start = crate::lua::functions::library_metadata(&lib.code).map_or(0, |(_, at)| at);
        match engine.load_library(&lib.code[start..]) {
            Ok(_) => engine.commit_library(&lib.name),
            Err(e) => tracing::warn!(library = %lib.name, "library failed to load: {e}"),
        }
    }
    generation
}

/// Compiles `body` into the cache (and this loop's interpreter): its SHA1, or the error reply.
fn load(ctx: &Ctx<'_>, body: &Bytes) -> Result<[u8; 40], String> {
    let sha = sha1_hex(body);
    let cache = &ctx.srv.scripts;
    if cache.contains(&sha) {
        return Ok(sha);
    }
    let (flags, shebang_len) = shebang_flags(body).map_err(|e| format!("ERR {e}"))?;
    with_engine(ctx.srv, |engine| engine.compile(&sha, body, shebang_len))
        .map_err(|e| format!("ERR {e}"))?;
    cache.insert(
        sha,
        CachedScript {
            body: body.clone(),
            flags,
            shebang_len,
        },
    );
    Ok(sha)
}

/// # Format
/// `EVAL script numkeys [key ...] [arg ...]`
fn eval(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    eval_generic(ctx, argv, false, false);
}

/// # Format
/// `EVALSHA sha1 numkeys [key ...] [arg ...]`
fn evalsha(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    eval_generic(ctx, argv, true, false);
}

/// # Format
/// `EVAL_RO script numkeys [key ...] [arg ...]` — the script may not write.
fn eval_ro(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    eval_generic(ctx, argv, false, true);
}

/// # Format
/// `EVALSHA_RO sha1 numkeys [key ...] [arg ...]`
fn evalsha_ro(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    eval_generic(ctx, argv, true, true);
}

fn eval_generic(ctx: &mut Ctx<'_>, argv: &[Bytes], by_sha: bool, ro: bool) {
    super::call::feed_monitors_now(ctx, argv);
    let Some(numkeys) = numkeys(ctx, argv, errors::NOT_INTEGER) else {
        return;
    };
    let sha = if by_sha {
        match sha_arg(&argv[1]) {
            Some(sha) if ctx.srv.scripts.contains(&sha) => sha,
            _ => return ctx.out.error(NOSCRIPT_ERR),
        }
    } else {
        match load(ctx, &argv[1]) {
            Ok(sha) => sha,
            Err(e) => return ctx.out.error(e),
        }
    };
    let Some(script) = ctx.srv.scripts.get(&sha) else {
        return ctx.out.error(NOSCRIPT_ERR);
    };
    let Some(mode) = prepare(ctx, script.flags, ro) else {
        return;
    };
    let split = 3 + numkeys;
    run(ctx, &sha, &script, &argv[3..split], &argv[split..], mode);
    // The script's writes propagated as themselves.
    ctx.prevent_propagation();
}

/// The `numkeys` argument of EVAL and FCALL (`argv[2]`), checked as Redis checks it
/// (`not_integer`: the command's own error for a non-number); `None` after the error reply.
pub(super) fn numkeys(ctx: &mut Ctx<'_>, argv: &[Bytes], not_integer: &str) -> Option<usize> {
    let Some(n) = crate::util::num::parse_i64(&argv[2]) else {
        ctx.out.error(not_integer);
        return None;
    };
    if n > argv.len() as i64 - 3 {
        ctx.out
            .error("ERR Number of keys can't be greater than number of args");
        return None;
    }
    if n < 0 {
        ctx.out.error("ERR Number of keys can't be negative");
        return None;
    }
    Some(n as usize)
}

/// How a script runs (Redis's run_ctx flags).
pub(super) struct RunMode {
    read_only: bool,
    allow_oom: bool,
    /// Memory was over `maxmemory` when the script started.
    oom_at_start: bool,
}

/// Redis's `scriptPrepareForRun`: the shebang flags against the server's state. `None` after
/// writing the refusal.
pub(super) fn prepare(ctx: &mut Ctx<'_>, flags: u32, ro: bool) -> Option<RunMode> {
    let compat = flags & script_flags::EVAL_COMPAT_MODE != 0;
    let oom_at_start = ctx.srv.memory.maxmemory.load(Ordering::Relaxed) != 0
        && crate::evict::perform(ctx.srv, ctx.now, Some(ctx.client.info.home))
            == crate::evict::Verdict::Fail;
    if !compat {
        if flags & script_flags::NO_WRITES == 0 {
            let gate = ctx.srv.persistence.gate();
            if gate & crate::persist::gate::MISCONF != 0 {
                ctx.out.error("MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. Writable scripts are blocked. Use 'no-writes' flag for read only scripts.");
                return None;
            }
            if ro {
                ctx.out
                    .error("ERR Can not execute a script with write flag using *_ro command.");
                return None;
            }
        }
        if oom_at_start && flags & (script_flags::ALLOW_OOM | script_flags::NO_WRITES) == 0 {
            ctx.out.error("OOM allow-oom flag is not set on the script, can not run it when used memory > 'maxmemory'");
            return None;
        }
    }
    Some(RunMode {
        read_only: ro || (!compat && flags & script_flags::NO_WRITES != 0),
        allow_oom: !compat && flags & script_flags::ALLOW_OOM != 0,
        oom_at_start,
    })
}

/// Steps 3 and 4 of the module doc.
fn run(
    ctx: &mut Ctx<'_>,
    sha: &[u8; 40],
    script: &CachedScript,
    keys: &[Bytes],
    args: &[Bytes],
    mode: RunMode,
) {
    let running = Running {
        is_eval: true,
        name: String::from_utf8_lossy(sha).into_owned(),
        argv: Vec::new(),
    };
    run_with(ctx, keys, mode, running, |engine, host, reply| {
        if !engine.has(sha) {
            if let Err(e) = engine.compile(sha, &script.body, script.shebang_len) {
                reply.error(format!("ERR {e}"));
                return;
            }
        }
        engine.run(host, sha, keys, args, reply);
    });
}

/// Runs a script or function (`call`, given this loop's interpreter, the host and where its
/// reply goes) atomically, as the module doc's steps 3 and 4 say: the one-script lock, the
/// declared `keys`' shards, the reached ones, the caller's database restored after.
pub(super) fn run_with(
    ctx: &mut Ctx<'_>,
    keys: &[Bytes],
    mode: RunMode,
    running: Running,
    call: impl FnOnce(&mut Engine, &mut dyn Host, &mut Reply),
) {
    let srv = ctx.srv;
    let in_transaction = ctx.fx.holds_transaction();
    let _serial = (!in_transaction).then(|| srv.scripts.serial.lock());
    struct Finished<'s>(&'s crate::lua::cache::ScriptCache);
    impl Drop for Finished<'_> {
        fn drop(&mut self) {
            self.0.finished();
        }
    }
    srv.scripts.started(running);
    let _finished = Finished(&srv.scripts);
    let db = ctx.client.db;
    let declared: Vec<(usize, &[u8])> = keys.iter().map(|k| (db, &k[..])).collect();
    let mut locks = (!in_transaction).then(|| ctx.store().lock_script(&declared));
    let was_in_exec = std::mem::replace(&mut ctx.in_exec, true);
    ctx.in_script = true;
    let mut reply = Reply {
        buf: bytes::BytesMut::new(),
        resp3: ctx.out.resp3,
    };
    let mut host = ScriptHost {
        ctx,
        resp3: false,
        mode,
        dirty: false,
    };
    let body = || with_engine(srv, |engine| call(engine, &mut host, &mut reply));
    match locks.as_mut() {
        Some(locks) => locks.run(body),
        None => body(),
    }
    drop(locks);
    let ctx = host.ctx;
    ctx.in_exec = was_in_exec;
    ctx.in_script = false;
    ctx.client.db = db;
    ctx.out.buf.extend_from_slice(&reply.buf);
}

/// The server as a running script sees it (Redis's `scriptCall` checks, then `call()`).
struct ScriptHost<'c, 'a> {
    ctx: &'c mut Ctx<'a>,
    resp3: bool,
    mode: RunMode,
    /// The script has run a write command (Redis's SCRIPT_WRITE_DIRTY).
    dirty: bool,
}

impl Host for ScriptHost<'_, '_> {
    fn call(&mut self, args: Vec<Bytes>) -> Result<Vec<u8>, Vec<u8>> {
        let Ok((index, spec)) = registry().resolve(&args) else {
            return Err(b"Unknown Redis command called from script".to_vec());
        };
        if !spec.arity_ok(args.len()) {
            return Err(b"Wrong number of args calling Redis command from script".to_vec());
        }
        if spec.flags & NOSCRIPT != 0 {
            return Err(b"This Redis command is not allowed from script".to_vec());
        }
        if let Some(denied) = super::acl::script_denial(self.ctx, index, spec, &args) {
            return Err(denied.into_bytes());
        }
        let writes = spec.flags & WRITE != 0;
        if self.mode.read_only && spec.flags & (WRITE | MAY_REPLICATE) != 0 {
            return Err(b"Write commands are not allowed from read-only scripts.".to_vec());
        }
        if writes
            && !self.dirty
            && !self.mode.allow_oom
            && self.mode.oom_at_start
            && spec.flags & DENYOOM != 0
        {
            return Err(format!("-{}", crate::evict::OOM).into_bytes());
        }
        if writes {
            self.dirty = true;
            self.ctx.srv.scripts.wrote();
        }
        let ctx = &mut *self.ctx;
        let start = ctx.out.len();
        let caller_resp3 = std::mem::replace(&mut ctx.out.resp3, self.resp3);
        super::call(ctx, &args);
        ctx.out.resp3 = caller_resp3;
        // Copied out and truncated (not split off), so the output buffer keeps its capacity.
        let reply = ctx.out.buf[start..].to_vec();
        ctx.out.buf.truncate(start);
        Ok(reply)
    }

    fn set_resp(&mut self, resp3: bool) {
        self.resp3 = resp3;
    }

    fn resp3(&self) -> bool {
        self.resp3
    }

    fn set_repl(&mut self, _flags: u8) {
        // Accepted; every write still propagates (no replication yet; the AOF takes all).
    }

    fn acl_check(&mut self, args: &[Bytes]) -> Option<bool> {
        let (index, _) = registry().resolve(args).ok()?;
        Some(super::acl::would_permit(self.ctx, index, args))
    }

    fn interrupted(&mut self) -> bool {
        self.ctx.srv.scripts.kill_requested()
    }

    fn log(&mut self, level: u8, msg: &[u8]) {
        let text = String::from_utf8_lossy(msg);
        match level {
            0 => tracing::debug!(target: "script", "{text}"),
            1 => tracing::info!(target: "script", "{text}"),
            2 => tracing::info!(target: "script", "{text}"),
            _ => tracing::warn!(target: "script", "{text}"),
        }
    }
}

/// # Format
/// `SCRIPT LOAD script` — the script's SHA1.
fn script_load(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    match load(ctx, &argv[2]) {
        Ok(sha) => ctx.out.bulk(&sha),
        Err(e) => ctx.out.error(e),
    }
}

/// # Format
/// `SCRIPT EXISTS sha1 [sha1 ...]` — 1 or 0 for each.
fn script_exists(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    ctx.out.array(argv.len() - 2);
    for arg in &argv[2..] {
        let known = sha_arg(arg).is_some_and(|sha| ctx.srv.scripts.contains(&sha));
        ctx.out.int(known as i64);
    }
}

/// # Format
/// `SCRIPT FLUSH [ASYNC|SYNC]`
fn script_flush(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    let valid = match argv.len() {
        2 => true,
        3 => super::args::is(&argv[2], "sync") || super::args::is(&argv[2], "async"),
        _ => false,
    };
    if !valid {
        return ctx
            .out
            .error("ERR SCRIPT FLUSH only support SYNC|ASYNC option");
    }
    ctx.srv.scripts.flush();
    ctx.out.ok();
}

/// # Format
/// `SCRIPT KILL` — stops the running script (run by a client on another loop) at its next
/// check, unless it wrote.
fn script_kill(ctx: &mut Ctx<'_>, _argv: &[Bytes]) {
    kill_reply(ctx, true);
}

/// The reply of SCRIPT KILL (`eval`) or FUNCTION KILL.
pub(super) fn kill_reply(ctx: &mut Ctx<'_>, eval: bool) {
    match ctx.srv.scripts.kill(eval) {
        Kill::Killed => ctx.out.ok(),
        Kill::NotBusy => ctx.out.error("NOTBUSY No scripts in execution right now."),
        Kill::Unkillable => ctx.out.error("UNKILLABLE Sorry the script already executed write commands against the dataset. You can either wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command."),
        Kill::WrongKind => ctx.out.error(if eval { BUSY_FUNCTION } else { BUSY_EVAL }),
    }
}

/// # Format
/// `SCRIPT DEBUG YES|SYNC|NO` — NO is accepted; the Lua debugger itself (YES, SYNC) does not
/// exist here.
fn script_debug(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    let mode = &argv[2];
    if super::args::is(mode, "no") {
        ctx.out.ok();
    } else if super::args::is(mode, "yes") || super::args::is(mode, "sync") {
        ctx.out
            .error("ERR SCRIPT DEBUG YES|SYNC: the Lua debugger is not supported by this server");
    } else {
        ctx.out.error("ERR Use SCRIPT DEBUG YES/SYNC/NO");
    }
}

/// # Format
/// `SCRIPT HELP`
fn script_help(ctx: &mut Ctx<'_>, _argv: &[Bytes]) {
    super::clients::help_reply(
        ctx,
        b"SCRIPT",
        &[
            "DEBUG (YES|SYNC|NO)",
            "    Set the debug mode for subsequent scripts executed.",
            "EXISTS <sha1> [<sha1> ...]",
            "    Return information about the existence of the scripts in the script cache.",
            "FLUSH [ASYNC|SYNC]",
            "    Flush the Lua scripts cache. Very dangerous on replicas.",
            "    When called without the optional mode argument, the behavior is determined by the",
            "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
            "    * ASYNC: Asynchronously flush the scripts cache.",
            "    * SYNC: Synchronously flush the scripts cache.",
            "KILL",
            "    Kill the currently executing Lua script.",
            "LOAD <script>",
            "    Load a script into the scripts cache without executing it.",
        ],
    );
}
