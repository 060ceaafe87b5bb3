//! Functions: FUNCTION LOAD/LIST/DELETE/FLUSH/DUMP/RESTORE/STATS/KILL/HELP, FCALL, FCALL_RO.
//!
//! A library is Lua code whose shebang names it (`#!lua name=mylib`); loading it runs the
//! code in Redis's load context, where only `redis.register_function`, `redis.log` and the
//! version fields exist, and keeps the functions it registered
//! ([`crate::lua::functions::Libraries`], process-wide). Every loop's interpreter loads the
//! libraries again when they changed since it last ran a function. FCALL runs a function as
//! EVAL runs a script ([`super::scripting::run_with`]: same atomicity, same `redis.call`
//! path), with the function's registered flags in place of a shebang, and KEYS and ARGV as
//! its two arguments.
//!
//! FUNCTION LOAD, DELETE, FLUSH and RESTORE propagate as themselves (the AOF replays them).

use bytes::Bytes;

use super::flags::*;
use super::{args, container, errors, spec, CommandSpec, Ctx, Group};
use crate::lua::engine::script_flags;
use crate::lua::functions::{library_metadata, Library};
use crate::persist::rdb;

const FCALL: u32 =
    NOSCRIPT | SKIP_MONITOR | STALE | NO_MANDATORY_KEYS | KEYSPACE_WIDE | MOVABLE_KEYS;

#[rustfmt::skip]
pub static COMMANDS: &[CommandSpec] = &[
    spec("fcall",    -3, FCALL | MAY_REPLICATE, Group::Scripting, 0, 0, 0, fcall).with_keys(super::keys_after_numkeys::<2>),
    spec("fcall_ro", -3, FCALL | READONLY,      Group::Scripting, 0, 0, 0, fcall_ro).with_keys(super::keys_after_numkeys::<2>),
    container("function", 0, Group::Scripting, FUNCTION),
];

#[rustfmt::skip]
static FUNCTION: &[CommandSpec] = &[
    spec("function|delete",   3, NOSCRIPT | WRITE,             Group::Scripting, 0, 0, 0, function_delete),
    spec("function|dump",     2, NOSCRIPT,                     Group::Scripting, 0, 0, 0, function_dump),
    spec("function|flush",   -2, NOSCRIPT | WRITE,             Group::Scripting, 0, 0, 0, function_flush),
    spec("function|help",     2, LOADING | STALE,              Group::Scripting, 0, 0, 0, function_help),
    spec("function|kill",     2, NOSCRIPT | ALLOW_BUSY,        Group::Scripting, 0, 0, 0, function_kill),
    spec("function|list",    -2, NOSCRIPT,                     Group::Scripting, 0, 0, 0, function_list),
    spec("function|load",    -3, NOSCRIPT | WRITE | DENYOOM,   Group::Scripting, 0, 0, 0, function_load),
    spec("function|restore", -3, NOSCRIPT | WRITE | DENYOOM,   Group::Scripting, 0, 0, 0, function_restore),
    spec("function|stats",    2, NOSCRIPT | ALLOW_BUSY,        Group::Scripting, 0, 0, 0, function_stats),
];

/// # Format
/// `FCALL function numkeys [key ...] [arg ...]`
fn fcall(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    fcall_generic(ctx, argv, false);
}

/// # Format
/// `FCALL_RO function numkeys [key ...] [arg ...]` — only functions flagged `no-writes`.
fn fcall_ro(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    fcall_generic(ctx, argv, true);
}

fn fcall_generic(ctx: &mut Ctx<'_>, argv: &[Bytes], ro: bool) {
    super::call::feed_monitors_now(ctx, argv);
    let name = String::from_utf8_lossy(&argv[1]).into_owned();
    let Some((_, flags)) = ctx.srv.functions().function(&name) else {
        return ctx.out.error("ERR Function not found");
    };
    let Some(numkeys) = super::scripting::numkeys(ctx, argv, "ERR Bad number of keys provided")
    else {
        return;
    };
    // Functions never run in EVAL's compatibility mode: their flags are always declared.
    let Some(mode) = super::scripting::prepare(ctx, flags & !script_flags::EVAL_COMPAT_MODE, ro)
    else {
        return;
    };
    let split = 3 + numkeys;
    let (keys, args) = (&argv[3..split], &argv[split..]);
    let running = crate::lua::cache::Running {
        is_eval: false,
        name: name.clone(),
        argv: argv.to_vec(),
    };
    super::scripting::run_with(ctx, keys, mode, running, |engine, host, reply| {
        engine.call_function(host, &name, keys, args, reply);
    });
    ctx.prevent_propagation();
}

/// Validates library `code` in this loop's interpreter: the library, or Redis's error text.
fn compile_library(ctx: &Ctx<'_>, code: &Bytes) -> Result<Library, String> {
    let (name, start) = library_metadata(code)?;
    let functions =
        super::scripting::with_engine(ctx.srv, |engine| engine.load_library(&code[start..]))?;
    if functions.is_empty() {
        return Err("No functions registered".into());
    }
    Ok(Library {
        name,
        code: code.clone(),
        functions,
    })
}

/// # Format
/// `FUNCTION LOAD [REPLACE] code` — the library's name.
fn function_load(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    let mut replace = false;
    let mut i = 2;
    while i < argv.len() - 1 {
        if args::is(&argv[i], "replace") {
            replace = true;
            i += 1;
            continue;
        }
        return ctx.out.error(format!(
            "ERR Unknown option given: {}",
            String::from_utf8_lossy(&argv[i])
        ));
    }
    let code = &argv[argv.len() - 1];
    if i >= argv.len() {
        return ctx.out.error("ERR Function code is missing");
    }
    // Redis checks the name's existence before compiling.
    if let Ok((name, _)) = library_metadata(code) {
        if !replace && ctx.srv.functions().get(&name).is_some() {
            return ctx
                .out
                .error(format!("ERR Library '{name}' already exists"));
        }
    }
    let library = match compile_library(ctx, code) {
        Ok(l) => l,
        Err(e) => return ctx.out.error(format!("ERR {e}")),
    };
    let name = library.name.clone();
    match ctx.srv.functions().insert(library, replace) {
        Ok(_) => {
            ctx.force_propagation();
            ctx.out.bulk(name.as_bytes());
        }
        Err(e) => ctx.out.error(format!("ERR {e}")),
    }
}

/// # Format
/// `FUNCTION DELETE library-name`
fn function_delete(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    let name = String::from_utf8_lossy(&argv[2]);
    if ctx.srv.functions().remove(&name) {
        ctx.force_propagation();
        ctx.out.ok();
    } else {
        ctx.out.error("ERR Library not found");
    }
}

/// # Format
/// `FUNCTION FLUSH [ASYNC|SYNC]`
fn function_flush(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    let valid = match argv.len() {
        2 => true,
        3 => args::is(&argv[2], "sync") || args::is(&argv[2], "async"),
        _ => false,
    };
    if !valid {
        return ctx
            .out
            .error("ERR FUNCTION FLUSH only supports SYNC|ASYNC option");
    }
    ctx.srv.functions().replace_all(Vec::new());
    ctx.force_propagation();
    ctx.out.ok();
}

/// # Format
/// `FUNCTION LIST [LIBRARYNAME pattern] [WITHCODE]`
fn function_list(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    let (mut with_code, mut pattern): (bool, Option<&[u8]>) = (false, None);
    let mut i = 2;
    while i < argv.len() {
        if !with_code && args::is(&argv[i], "withcode") {
            with_code = true;
        } else if pattern.is_none() && args::is(&argv[i], "libraryname") {
            if i >= argv.len() - 1 {
                return ctx.out.error("ERR library name argument was not given");
            }
            i += 1;
            pattern = Some(&argv[i]);
        } else {
            return ctx.out.error(format!(
                "ERR Unknown argument {}",
                String::from_utf8_lossy(&argv[i])
            ));
        }
        i += 1;
    }
    let (_, libraries) = ctx.srv.functions().snapshot();
    let shown: Vec<&Library> = libraries
        .iter()
        .filter(|l| {
            pattern.is_none_or(|p| crate::util::glob::glob_match(p, l.name.as_bytes(), true))
        })
        .collect();
    let out = &mut *ctx.out;
    out.array(shown.len());
    for lib in shown {
        out.map(if with_code { 4 } else { 3 });
        out.bulk(b"library_name");
        out.bulk(lib.name.as_bytes());
        out.bulk(b"engine");
        out.bulk(b"LUA");
        out.bulk(b"functions");
        out.array(lib.functions.len());
        for f in &lib.functions {
            out.map(3);
            out.bulk(b"name");
            out.bulk(f.name.as_bytes());
            out.bulk(b"description");
            match &f.description {
                Some(d) => out.bulk(d.as_bytes()),
                None => out.null(),
            }
            out.bulk(b"flags");
            let names: Vec<&str> = script_flags::NAMES
                .iter()
                .filter(|(_, bit)| f.flags & bit != 0)
                .map(|(n, _)| *n)
                .collect();
            out.set(names.len());
            for n in names {
                out.simple(n);
            }
        }
        if with_code {
            out.bulk(b"library_code");
            out.bulk(&lib.code);
        }
    }
}

/// # Format
/// `FUNCTION DUMP` — every library as `FUNCTION2` RDB records, the RDB version and a CRC64.
fn function_dump(ctx: &mut Ctx<'_>, _argv: &[Bytes]) {
    let (_, libraries) = ctx.srv.functions().snapshot();
    let mut out = Vec::new();
    let mut encoder = rdb::encode::Encoder::new(true);
    for lib in &libraries {
        out.push(rdb::opcode::FUNCTION2);
        encoder.string(&mut out, &lib.code);
    }
    out.extend_from_slice(&rdb::RDB_VERSION.to_le_bytes());
    let crc = rdb::crc64().checksum(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    ctx.out.bulk(&out);
}

/// # Format
/// `FUNCTION RESTORE payload [FLUSH|APPEND|REPLACE]`
fn function_restore(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    if argv.len() > 4 {
        return ctx.out.error(errors::subcommand_syntax(argv));
    }
    #[derive(PartialEq)]
    enum Policy {
        Append,
        Replace,
        Flush,
    }
    let policy =
        match argv.get(3) {
            None => Policy::Append,
            Some(p) if args::is(p, "append") => Policy::Append,
            Some(p) if args::is(p, "replace") => Policy::Replace,
            Some(p) if args::is(p, "flush") => Policy::Flush,
            Some(_) => return ctx.out.error(
                "ERR Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.",
            ),
        };
    let payload = &argv[2];
    let Some(body) = rdb::decode::verified_body(payload) else {
        return ctx
            .out
            .error("ERR DUMP payload version or checksum are wrong");
    };
    let mut reader = rdb::decode::Reader::from_slice(body);
    let mut incoming = Vec::new();
    while reader.left() > 0 {
        let Ok(kind) = reader.u8() else {
            return ctx.out.error("ERR can not read data type");
        };
        if kind != rdb::opcode::FUNCTION2 {
            return ctx.out.error("ERR given type is not a function");
        }
        let Ok(code) = reader.string() else {
            return ctx
                .out
                .error("ERR failed loading the given functions payload");
        };
        match compile_library(ctx, &Bytes::from(code)) {
            Ok(lib) => {
                if incoming.iter().any(|l: &Library| l.name == lib.name) {
                    return ctx
                        .out
                        .error(format!("ERR Library {} already exists", lib.name));
                }
                incoming.push(lib);
            }
            Err(e) => return ctx.out.error(format!("ERR {e}")),
        }
    }
    let result = if policy == Policy::Flush {
        ctx.srv.functions().replace_all(incoming);
        Ok(())
    } else {
        ctx.srv
            .functions()
            .join(incoming, policy == Policy::Replace)
    };
    match result {
        Ok(()) => {
            ctx.force_propagation();
            ctx.out.ok();
        }
        Err(e) => ctx.out.error(format!("ERR {e}")),
    }
}

/// # Format
/// `FUNCTION STATS` — the running function (seen from another loop), and the engine's counts.
fn function_stats(ctx: &mut Ctx<'_>, _argv: &[Bytes]) {
    let running = ctx.srv.scripts.running();
    if running.as_ref().is_some_and(|r| r.is_eval) {
        return ctx.out.error(crate::lua::cache::BUSY_EVAL);
    }
    let ran = ctx.srv.scripts.running_for().unwrap_or(0);
    let (libraries, functions) = ctx.srv.functions().counts();
    let out = &mut *ctx.out;
    out.map(2);
    out.bulk(b"running_script");
    match running {
        None => out.null(),
        Some(r) => {
            out.map(3);
            out.bulk(b"name");
            out.bulk(r.name.as_bytes());
            out.bulk(b"command");
            out.array(r.argv.len());
            for a in &r.argv {
                out.bulk(a);
            }
            out.bulk(b"duration_ms");
            out.int(ran as i64);
        }
    }
    out.bulk(b"engines");
    out.map(1);
    out.bulk(b"LUA");
    out.map(2);
    out.bulk(b"libraries_count");
    out.int(libraries as i64);
    out.bulk(b"functions_count");
    out.int(functions as i64);
}

/// # Format
/// `FUNCTION KILL`
fn function_kill(ctx: &mut Ctx<'_>, _argv: &[Bytes]) {
    super::scripting::kill_reply(ctx, false);
}

/// # Format
/// `FUNCTION HELP`
fn function_help(ctx: &mut Ctx<'_>, _argv: &[Bytes]) {
    super::clients::help_reply(
        ctx,
        b"FUNCTION",
        &[
            "LOAD [REPLACE] <FUNCTION CODE>",
            "    Create a new library with the given library name and code.",
            "DELETE <LIBRARY NAME>",
            "    Delete the given library.",
            "LIST [LIBRARYNAME PATTERN] [WITHCODE]",
            "    Return general information on all the libraries:",
            "    * Library name",
            "    * The engine used to run the Library",
            "    * Library description",
            "    * Functions list",
            "    * Library code (if WITHCODE is given)",
            "    It also possible to get only function that matches a pattern using LIBRARYNAME argument.",
            "STATS",
            "    Return information about the current function running:",
            "    * Function name",
            "    * Command used to run the function",
            "    * Duration in MS that the function is running",
            "    If no function is running, return nil",
            "    In addition, returns a list of available engines.",
            "KILL",
            "    Kill the current running function.",
            "FLUSH [ASYNC|SYNC]",
            "    Delete all the libraries.",
            "    When called without the optional mode argument, the behavior is determined by the",
            "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
            "    * ASYNC: Asynchronously flush the libraries.",
            "    * SYNC: Synchronously flush the libraries.",
            "DUMP",
            "    Return a serialized payload representing the current libraries, can be restored using FUNCTION RESTORE command",
            "RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
            "    Restore the libraries represented by the given payload, it is possible to give a restore policy to",
            "    control how to handle existing libraries (default APPEND):",
            "    * FLUSH: delete all existing libraries.",
            "    * APPEND: appends the restored libraries to the existing libraries. On collision, abort.",
            "    * REPLACE: appends the restored libraries to the existing libraries, On collision, replace the old",
            "      libraries with the new libraries (notice that even on this option there is a chance of failure",
            "      in case of functions name collision with another library).",
        ],
    );
}
