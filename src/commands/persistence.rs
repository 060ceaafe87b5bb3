//! Persistence commands: SAVE, BGSAVE, LASTSAVE, DEBUG RELOAD, and the saves that SHUTDOWN,
//! SIGTERM and the `save` points run. The formats and the file handling are in
//! [`crate::persist`]; this module decides when to save and replies.
//!
//! A save's snapshot is taken on the thread that asks for it (the client's loop for SAVE and
//! BGSAVE, so the snapshot is the dataset as that client saw it when the command ran; the
//! saver thread for a save point), with [`crate::store::StoreRef::begin_snapshot`]; SAVE then
//! writes it on the loop (the other loops keep serving), BGSAVE hands it to the saver thread
//! (`net::saver`). One save runs at a time ([`crate::persist::Persistence::try_begin`]).

use std::sync::atomic::Ordering;

use bytes::Bytes;

use super::flags::*;
use super::{args, errors, spec, CommandSpec, Ctx, Group};
use crate::persist::{self, Job};
use crate::state::Shared;
use crate::store::Scope;

#[rustfmt::skip]
pub static COMMANDS: &[CommandSpec] = &[
    //   name        arity flags                                                    group          keys     handler
    spec("save",       1,  KEYSPACE_WIDE | ADMIN | NOSCRIPT | NO_ASYNC_LOADING | NO_MULTI,           Group::Server, 0, 0, 0, save),
    spec("bgsave",    -1,  KEYSPACE_WIDE | ADMIN | NOSCRIPT | NO_ASYNC_LOADING,           Group::Server, 0, 0, 0, bgsave),
    spec("lastsave",   1,  LOADING | STALE | FAST | DANGEROUS,                      Group::Server, 0, 0, 0, lastsave),
    spec("debug",     -2,  KEYSPACE_WIDE | ADMIN | NOSCRIPT | LOADING | STALE,     Group::Server, 0, 0, 0, debug),
];

/// `-MISCONF`: writes refused after a failed background save (`stop-writes-on-bgsave-error`).
pub const MISCONF: &str = "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. Commands that may modify the data set are disabled, because this instance is configured to report errors during writes if RDB snapshotting fails (stop-writes-on-bgsave-error option). Please check the Redis logs for details about the RDB error.";
/// `-LOADING`: the dataset is being loaded.
pub const LOADING_ERR: &str = "LOADING Redis is loading the dataset in memory";
const BGSAVE_RUNNING: &str = "ERR Background save already in progress";

/// Takes a snapshot now and claims the right to save it (`None` when a save is running).
fn begin(srv: &Shared, fx: &Scope, background: bool) -> Option<Job> {
    if !srv.persistence.try_begin(background) {
        return None;
    }
    let start = srv.store.with(fx).begin_snapshot(crate::clock::now_ms());
    Some(Job {
        start,
        settings: srv.persistence.settings(),
        dirty: srv.dirty(),
        rewrite: None,
    })
}

/// Writes a snapshot claimed by [`begin`] and records the outcome; `fx` is the caller's
/// execution (its held shards, inside EXEC, are reused).
fn write(srv: &Shared, fx: &Scope, job: Job) -> std::io::Result<u64> {
    let p = &srv.persistence;
    let result = persist::save::write_snapshot(
        &srv.store,
        fx,
        &job.start,
        &job.settings,
        p,
        super::info::rss_bytes(),
    );
    p.finish(result.is_ok(), job.dirty);
    result
}

/// The saver thread's half of a BGSAVE (or of a save point), with Redis's log lines.
pub fn background_write(srv: &Shared, job: Job) {
    let fx = srv.scope(None);
    match write(srv, &fx, job) {
        Ok(bytes) => {
            tracing::info!(bytes, "DB saved on disk");
            tracing::info!("Background saving terminated with success");
        }
        // The step that failed was logged with Redis's line (persist::save).
        Err(_) => tracing::warn!("Background saving error"),
    }
}

/// Starts a background save from the saver thread when a `save` point is due.
pub fn save_point_check(srv: &Shared) {
    let now = crate::clock::now_ms();
    let p = &srv.persistence;
    if !p.save_point_due(srv.dirty(), now) {
        return;
    }
    let changes = srv
        .dirty()
        .saturating_sub(p.dirty_at_save.load(Ordering::Relaxed));
    let since = (now / 1000).saturating_sub(p.lastsave.load(Ordering::Relaxed));
    tracing::info!("{changes} changes in {since} seconds. Saving...");
    let fx = srv.scope(None);
    if let Some(job) = begin(srv, &fx, true) {
        drop(fx);
        tracing::info!("Background saving started");
        background_write(srv, job);
    }
}

/// Saves in the foreground (SAVE, SHUTDOWN, SIGTERM, DEBUG RELOAD): Err when a save is already
/// running or the write failed.
pub fn save_now(srv: &Shared, fx: &Scope) -> Result<(), String> {
    let Some(job) = begin(srv, fx, false) else {
        return Err("Background save already in progress".into());
    };
    match write(srv, fx, job) {
        Ok(_) => {
            tracing::info!("DB saved on disk");
            Ok(())
        }
        Err(e) => {
            tracing::warn!(error = %e, "Failed saving the DB");
            Err(e.to_string())
        }
    }
}

/// Redis's `prepareForShutdown`: stops a running background save and, when `save` asks for it
/// (SHUTDOWN SAVE, or save points configured and not NOSAVE), saves. Err: the save failed
/// (the server must keep running unless forced).
pub fn prepare_shutdown(srv: &Shared, fx: &Scope, save: bool) -> Result<(), String> {
    let p = &srv.persistence;
    if p.is_saving() {
        tracing::warn!("There is a child saving an .rdb. Killing it!");
        p.abort.store(true, Ordering::Relaxed);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while p.is_saving() && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
    }
    if srv.aof.is_on() {
        tracing::info!("Calling fsync() on the AOF file.");
        if let Err(e) = srv.aof.write_out(true) {
            tracing::warn!(error = %e, "Error writing the AOF file before exiting");
        }
    }
    if save && !p.is_loading() {
        tracing::info!("Saving the final RDB snapshot before exiting.");
        save_now(srv, fx).inspect_err(|_| {
            tracing::warn!("Error trying to save the DB, can't exit.");
        })?;
    }
    Ok(())
}

/// Whether a plain shutdown (SIGTERM, SHUTDOWN without SAVE/NOSAVE) saves: when save points
/// are configured.
pub fn saves_on_shutdown(srv: &Shared) -> bool {
    !srv.persistence.settings().save_points.is_empty()
}

/// # Format
/// `SAVE` — writes the snapshot in the foreground; `+OK`, or `-ERR` when it failed.
fn save(ctx: &mut Ctx<'_>, _argv: &[Bytes]) {
    match save_now(ctx.srv, ctx.fx) {
        Ok(()) => ctx.out.ok(),
        Err(e) if e.starts_with("Background save") => ctx.out.error(BGSAVE_RUNNING),
        Err(_) => ctx.out.error("ERR"),
    }
}

/// # Format
/// `BGSAVE [SCHEDULE]` — snapshots now and writes in the background; `+Background saving
/// started`. (With no AOF rewrite ever running, SCHEDULE never has to wait.)
fn bgsave(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    match argv {
        [_] => {}
        [_, s] if args::is(s, "schedule") => {}
        _ => return ctx.out.error(errors::SYNTAX),
    }
    match begin(ctx.srv, ctx.fx, true) {
        Some(job) => {
            tracing::info!("Background saving started");
            ctx.srv.persistence.submit(job);
            ctx.out.simple("Background saving started");
        }
        None => ctx.out.error(BGSAVE_RUNNING),
    }
}

/// # Format
/// `LASTSAVE` — Unix time of the last successful save (start-up time before the first).
fn lastsave(ctx: &mut Ctx<'_>, _argv: &[Bytes]) {
    ctx.out
        .int(ctx.srv.persistence.lastsave.load(Ordering::Relaxed) as i64);
}

/// # Format
/// `DEBUG <subcommand> ...` — only the subcommands the persistence tests and tools use:
/// RELOAD (below) and HELP. (Redis's DEBUG is one command that dispatches itself.)
fn debug(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    if args::is(&argv[1], "reload") {
        debug_reload(ctx, argv)
    } else if args::is(&argv[1], "sleep") && argv.len() == 3 {
        debug_sleep(ctx, argv)
    } else if args::is(&argv[1], "help") && argv.len() == 2 {
        super::clients::help_reply(
            ctx,
            &argv[0],
            &[
                "RELOAD [option ...]",
                "    Save the RDB on disk and reload it back to memory. Options:",
                "    * MERGE: Merge the RDB content into the existing dataset.",
                "    * NOFLUSH: Do not flush the dataset before loading.",
                "    * NOSAVE: Do not save before loading.",
            ],
        );
    } else {
        ctx.out.error(errors::concat(&[
            b"ERR unknown subcommand '",
            errors::c_str(&argv[1], 128),
            b"'. Try DEBUG HELP.",
        ]));
    }
}

/// # Format
/// `DEBUG SLEEP <seconds>` — blocks this loop for that long (a float; anything else is 0, as
/// Redis's unchecked `strtod`), then `+OK`.
fn debug_sleep(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    let secs = crate::util::num::parse_f64_strtod(&argv[2]).unwrap_or(0.0);
    // Redis converts to whole microseconds; a negative or huge value sleeps not at all / long.
    let usec = (secs * 1_000_000.0) as i64;
    if usec > 0 {
        std::thread::sleep(std::time::Duration::from_micros(usec as u64));
    }
    ctx.out.ok();
}

/// # Format
/// `DEBUG RELOAD [MERGE] [NOFLUSH] [NOSAVE]` — saves, empties the keyspace and loads the file
/// back. NOSAVE skips the save, NOFLUSH keeps the keyspace (a key in both is then an error,
/// unless MERGE, where the file's version wins).
fn debug_reload(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    let (mut merge, mut flush, mut save) = (false, true, true);
    for a in &argv[2..] {
        match () {
            _ if args::is(a, "merge") => merge = true,
            _ if args::is(a, "noflush") => flush = false,
            _ if args::is(a, "nosave") => save = false,
            _ => {
                return ctx
                    .out
                    .error("ERR DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE options.")
            }
        }
    }
    let srv = ctx.srv;
    if save {
        if let Err(e) = save_now(srv, ctx.fx) {
            return ctx
                .out
                .error(format!("ERR Error trying to save the DB: {e}"));
        }
    }
    let store = ctx.store();
    if flush {
        let all: Vec<usize> = (0..store.len()).collect();
        drop(store.flush(&all));
    }
    let path = srv.persistence.settings().path();
    srv.persistence.set_loading(true);
    let loaded = persist::load::load_file(&srv.store, ctx.fx, &path, &srv.persistence, merge, 1);
    srv.persistence.set_loading(false);
    match loaded {
        Ok(_) => {
            tracing::info!("DB reloaded by DEBUG RELOAD");
            ctx.out.ok()
        }
        Err(e) => {
            tracing::warn!(error = %e, "Error trying to load the RDB dump");
            ctx.out
                .error("ERR Error trying to load the RDB dump, check server logs.")
        }
    }
}
