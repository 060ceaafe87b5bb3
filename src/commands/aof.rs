//! The AOF's command side: BGREWRITEAOF, loading the AOF at start-up (its commands replayed
//! through [`call()`](super::call()) as a client of its own, Redis's fake AOF client),
//! switching the AOF on and off at run time, and the automatic rewrite. The files, the
//! buffer and fsync policies are in [`crate::persist::aof`].
//!
//! A rewrite snapshots the dataset with a barrier that also cuts the propagation stream
//! ([`crate::store::StoreRef::begin_snapshot_cut`]): the base written from the snapshot holds
//! every unit before the cut, the new incremental file every unit after it.

use std::io::Write;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use bytes::Bytes;

use super::flags::*;
use super::{registry, spec, CommandSpec, Ctx, Group};
use crate::persist::aof::manifest::{AofFile, FileType, Manifest};
use crate::persist::aof::rewrite::AofKeys;
use crate::persist::{self, Job};
use crate::resp::reply::Reply;
use crate::state::{Client, ClientInfo, LoopStats, Shared};
use crate::store::Scope;

#[rustfmt::skip]
pub static COMMANDS: &[CommandSpec] = &[
    //   name           arity flags                                         group          keys     handler
    spec("bgrewriteaof",  1,  KEYSPACE_WIDE | ADMIN | NOSCRIPT | NO_ASYNC_LOADING,           Group::Server, 0, 0, 0, bgrewriteaof),
];

/// The id of the client that replays the AOF (Redis's `CLIENT_ID_AOF`): it runs while the
/// server answers `-LOADING` to everyone else.
pub const AOF_CLIENT_ID: u64 = u64::MAX;

/// # Format
/// `BGREWRITEAOF` — rewrites the AOF in the background: `+Background append only file
/// rewriting started`, or `...scheduled` while a BGSAVE runs.
fn bgrewriteaof(ctx: &mut Ctx<'_>, _argv: &[Bytes]) {
    let p = &ctx.srv.persistence;
    if p.rewrite_in_progress.load(Ordering::Relaxed) {
        return ctx
            .out
            .error("ERR Background append only file rewriting already in progress");
    }
    if p.is_saving() {
        p.rewrite_scheduled.store(true, Ordering::Relaxed);
        return ctx
            .out
            .simple("Background append only file rewriting scheduled");
    }
    match begin_rewrite(ctx.srv, ctx.fx) {
        Ok(job) => {
            tracing::info!("Background append only file rewriting started");
            ctx.srv.persistence.submit(job);
            ctx.out
                .simple("Background append only file rewriting started");
        }
        Err(e) => ctx.out.error(format!("ERR {e}")),
    }
}

/// Starts a rewrite now (the snapshot and the cut happen here, on the calling thread); the
/// saver thread writes it ([`background_rewrite`]). With the AOF off this only writes a base.
pub fn begin_rewrite(srv: &Shared, fx: &Scope) -> Result<Job, String> {
    let p = &srv.persistence;
    if !p.try_begin_rewrite() {
        return Err("Background save already in progress".into());
    }
    let aof = &srv.aof;
    let wanted = aof.is_on() || p.rewrite_enables_aof.load(Ordering::Relaxed);
    let first = if wanted {
        match aof.prepare_rewrite() {
            Ok(seq) => seq,
            Err(e) => {
                p.finish_rewrite(false);
                tracing::warn!(error = %e, "Can't open the append-only file for the rewrite");
                return Err(format!("Can't open the new AOF file: {e}"));
            }
        }
    } else {
        aof.manifest().next_incr_seq()
    };
    let seq = srv.propagation.sequencer();
    let start = srv
        .store
        .with(fx)
        .begin_snapshot_cut(crate::clock::now_ms(), wanted.then_some(seq));
    if wanted {
        aof.set_cut(start.cut);
        seq.complete(start.cut, Vec::new());
        p.rewrite_enables_aof.store(false, Ordering::Relaxed);
    }
    Ok(Job {
        start,
        settings: p.settings(),
        dirty: srv.dirty(),
        rewrite: Some(first),
    })
}

/// Writes a snapshot as an AOF base file at `path` (RDB preamble or commands).
fn write_base(
    srv: &Shared,
    fx: &Scope,
    job: &Job,
    path: &Path,
    preamble: bool,
) -> std::io::Result<()> {
    let file = std::fs::File::create(path)?;
    let p = &srv.persistence;
    let file = if preamble {
        persist::save::dump_into(
            &srv.store,
            fx,
            &job.start,
            &job.settings,
            p,
            super::info::rss_bytes(),
            true,
            file,
        )?
        .0
    } else {
        let mut w = std::io::BufWriter::with_capacity(1 << 20, file);
        // The libraries first, as Redis's rewriteFunctions: one FUNCTION LOAD each.
        for lib in srv.functions().snapshot().1 {
            let mut cmd = b"*3\r\n$8\r\nFUNCTION\r\n$4\r\nLOAD\r\n".to_vec();
            cmd.extend_from_slice(format!("${}\r\n", lib.code.len()).as_bytes());
            cmd.extend_from_slice(&lib.code);
            cmd.extend_from_slice(b"\r\n");
            w.write_all(&cmd)?;
        }
        persist::save::walk(
            &srv.store,
            fx,
            &job.start,
            &job.settings,
            p,
            &mut AofKeys,
            &mut |bytes| w.write_all(bytes),
        )?;
        w.into_inner().map_err(|e| e.into_error())?
    };
    file.sync_all()
}

/// The saver thread's half of a rewrite.
pub fn background_rewrite(srv: &Shared, job: Job) {
    let fx = Scope::new(None, None);
    let aof = &srv.aof;
    let preamble = aof.settings().rdb_preamble;
    let temp = aof.rewrite_temp();
    let first = job.rewrite.unwrap_or(1);
    let result = std::fs::create_dir_all(aof.dir())
        .and_then(|()| write_base(srv, &fx, &job, &temp, preamble))
        .and_then(|()| aof.finish_rewrite(&temp, first, preamble));
    srv.store.with(&fx).end_snapshot();
    match &result {
        Ok(()) => {
            tracing::info!("Background AOF rewrite terminated with success");
            tracing::info!("Background AOF rewrite finished successfully");
        }
        Err(e) => {
            let _ = std::fs::remove_file(&temp);
            aof.abort_rewrite();
            tracing::warn!(error = %e, "Background AOF rewrite failed");
        }
    }
    srv.persistence.finish_rewrite(result.is_ok());
}

/// The saver thread's periodic check: a scheduled rewrite, or an automatic one when the AOF
/// grew `auto-aof-rewrite-percentage` over its size after the last rewrite (and is at least
/// `auto-aof-rewrite-min-size`).
pub fn rewrite_check(srv: &Shared) {
    let p = &srv.persistence;
    if p.is_saving() || p.is_loading() {
        return;
    }
    let aof = &srv.aof;
    let scheduled = p.rewrite_scheduled.load(Ordering::Relaxed);
    let auto = aof.is_on() && {
        let s = aof.settings();
        let size = aof.current_size.load(Ordering::Relaxed);
        let base = aof.base_size.load(Ordering::Relaxed).max(1);
        s.rewrite_percentage > 0
            && size >= s.rewrite_min_size
            && (size.saturating_sub(base)) * 100 / base >= s.rewrite_percentage
    };
    if !scheduled && !auto {
        return;
    }
    if auto && !scheduled {
        tracing::info!("Starting automatic rewriting of AOF");
    }
    let fx = srv.scope(None);
    if let Ok(job) = begin_rewrite(srv, &fx) {
        drop(fx);
        background_rewrite(srv, job);
    }
}

/// CONFIG SET appendonly yes|no.
pub fn set_enabled(srv: &Shared, fx: &Scope, on: bool) -> Result<(), String> {
    let aof = &srv.aof;
    if on == aof.is_on() {
        return Ok(());
    }
    if !on {
        srv.propagation.set_enabled(false);
        aof.update(|s| s.enabled = false);
        return aof.stop().map_err(|e| e.to_string());
    }
    aof.update(|s| s.enabled = true);
    std::fs::create_dir_all(aof.dir()).map_err(|e| e.to_string())?;
    // Files of an earlier run are replaced by the rewrite that switches the AOF on.
    if let Ok(Some(m)) = aof.read_manifest() {
        aof.adopt(m);
    }
    let p = &srv.persistence;
    p.rewrite_enables_aof.store(true, Ordering::Relaxed);
    if p.is_saving() {
        tracing::info!("AOF was enabled but there is already another background operation. An AOF background was scheduled to start when possible.");
        p.rewrite_scheduled.store(true, Ordering::Relaxed);
        return Ok(());
    }
    let job = begin_rewrite(srv, fx)?;
    tracing::info!("Background append only file rewriting started");
    srv.persistence.submit(job);
    Ok(())
}

/// Whether start-up has data to load (the AOF's manifest, or the RDB file).
pub fn has_data_at_startup(srv: &Shared) -> bool {
    if srv.aof.settings().enabled {
        // With the AOF on, commands wait until it is open, data or not.
        true
    } else {
        srv.persistence.settings().path().exists()
    }
}

/// A client that replays AOF commands.
struct Replayer<'a> {
    srv: &'a Shared,
    stats: LoopStats,
    client: Client,
    out: Reply,
}

/// The client AOF commands run as (Redis's fake AOF client).
fn aof_client() -> Client {
    let addr: std::net::SocketAddr = ([0, 0, 0, 0], 0).into();
    Client::new(Arc::new(ClientInfo::new(
        AOF_CLIENT_ID,
        addr,
        addr,
        -1,
        0,
        0,
    )))
}

/// A command of the AOF must be known (Redis stops loading at the first one it is not).
fn known(argv: &[Bytes]) -> Result<(), String> {
    match registry().resolve(argv) {
        Ok(_) => Ok(()),
        Err(_) => Err(format!(
            "Unknown command '{}' reading the append only file",
            String::from_utf8_lossy(&argv[0])
        )),
    }
}

impl<'a> Replayer<'a> {
    fn new(srv: &'a Shared) -> Self {
        Replayer {
            srv,
            stats: LoopStats::new(registry().all.len()),
            client: aof_client(),
            out: Reply::new(false),
        }
    }

    fn replay(&mut self, argv: &[Bytes]) -> Result<(), String> {
        known(argv)?;
        super::session::run_as(
            self.srv,
            &self.stats,
            &mut self.client,
            &mut self.out,
            crate::clock::now_ms(),
            argv,
        );
        self.out.buf.clear();
        Ok(())
    }
}

/// Start-up with `appendonly yes` (Redis's `loadAppendOnlyFiles` then
/// `aofOpenIfNeededOnServerStart`): loads the files the manifest lists, writes a base when
/// there is none, opens the last incremental file and switches propagation on. The RDB file
/// is not read. Err: the server must not start.
pub fn open_at_startup(srv: &Shared) -> Result<(), String> {
    let aof = &srv.aof;
    let settings = aof.settings();
    let mut m = aof.read_manifest()?.unwrap_or_default();
    let fx = Scope::new(None, None);
    let mut replayer = Replayer::new(srv);
    load_files(srv, &fx, &m, srv.config.threads, &mut |argv| {
        replayer.replay(argv)
    })?;
    drop(replayer);
    if m.base.is_none() && m.incrs.is_empty() {
        // An empty dataset gets a base file first, as Redis does on start.
        std::fs::create_dir_all(aof.dir()).map_err(|e| e.to_string())?;
        let name = settings.base_name(1, settings.rdb_preamble);
        let job = Job {
            start: srv.store.with(&fx).begin_snapshot(crate::clock::now_ms()),
            settings: srv.persistence.settings(),
            dirty: 0,
            rewrite: Some(1),
        };
        let written = write_base(
            srv,
            &fx,
            &job,
            &aof.dir().join(&name),
            settings.rdb_preamble,
        );
        srv.store.with(&fx).end_snapshot();
        written.map_err(|e| format!("Can't create the AOF base file {name}: {e}"))?;
        tracing::info!("Creating AOF base file {name} on server start");
        m = Manifest {
            base: Some(AofFile {
                name,
                seq: 1,
                kind: FileType::Base,
            }),
            ..Manifest::default()
        };
    }
    aof.start(m)
        .map_err(|e| format!("Can't open the append-only file: {e}"))?;
    srv.propagation.set_enabled(true);
    Ok(())
}

/// Loads the files `m` lists, in order, in execution `fx`: a base with an RDB preamble
/// through the RDB loader (`workers` threads inserting), every command through `replay`.
/// Err: why loading stopped (a file missing or unreadable, bad content, a torn tail that may
/// not be cut, an unknown command).
fn load_files(
    srv: &Shared,
    fx: &Scope,
    m: &Manifest,
    workers: usize,
    replay: &mut dyn FnMut(&[Bytes]) -> Result<(), String>,
) -> Result<(), String> {
    let aof = &srv.aof;
    let load_truncated = aof.settings().load_truncated;
    let started = std::time::Instant::now();
    let files: Vec<AofFile> = m.load_order().cloned().collect();
    let mut commands = 0u64;
    for (i, f) in files.iter().enumerate() {
        let path = aof.dir().join(&f.name);
        let last = i + 1 == files.len();
        let mut offset = 0;
        if f.kind == FileType::Base && starts_with_rdb(&path) {
            let loaded =
                persist::load::load_file(&srv.store, fx, &path, &srv.persistence, false, workers)
                    .map_err(|e| e.to_string())?;
            offset = loaded.map_or(0, |l| l.bytes);
        }
        let out =
            persist::aof::load::read_commands(&path, offset, last, load_truncated, &mut *replay)?;
        commands += out.commands;
    }
    if !files.is_empty() {
        tracing::info!(
            commands,
            "DB loaded from append only file: {:.3} seconds",
            started.elapsed().as_secs_f64()
        );
    }
    Ok(())
}

/// DEBUG LOADAOF (Redis's: flush the AOF, empty the dataset, load the files the manifest on
/// disk lists). Runs with every shard held — those of the running EXEC, else all of them taken
/// here — so no other client sees or changes the dataset in between, as in single-threaded
/// Redis: their commands wait for the locks (no `-LOADING` reply, which Redis's clients never
/// see here either). Nothing of it is propagated: propagation is off while the files load (switched back
/// on before the locks are released, so the next writer's change is recorded), and the
/// execution's pending writes and change count are as they were before. The AOF's commands
/// run as the AOF client, nested in this execution (MULTI and EXEC skipped: the shards are
/// held anyway). Err: no AOF on disk, or loading failed (Redis exits then; the caller
/// decides). The dataset is then empty or partly loaded.
pub fn load_again(ctx: &mut Ctx<'_>) -> Result<(), String> {
    if ctx.fx.holds_transaction() {
        return load_again_holding(ctx);
    }
    let mut locks = ctx.store().lock_txn(&[], true);
    locks.run(|| load_again_holding(ctx))
}

fn load_again_holding(ctx: &mut Ctx<'_>) -> Result<(), String> {
    let (srv, fx) = (ctx.srv, ctx.fx);
    flush_propagated(srv, fx);
    let was_on = srv.propagation.is_active();
    srv.propagation.set_enabled(false);
    let ops_before = fx.take_ops();
    let dirty_before = fx.take_dirty();

    let store = ctx.store();
    let all: Vec<usize> = (0..store.len()).collect();
    drop(store.flush(&all));
    let loaded = srv.aof.read_manifest().and_then(|m| {
        let m = m.ok_or_else(|| "no AOF manifest to load".to_string())?;
        if m.base.is_none() && m.incrs.is_empty() {
            return Err("the AOF manifest lists no file".into());
        }
        let stats = LoopStats::new(registry().all.len());
        let mut client = aof_client();
        let mut out = Reply::new(false);
        let mut replayer = Ctx::nested_in(srv, &stats, &mut client, &mut out, fx, ctx.now);
        load_files(srv, fx, &m, 1, &mut |argv| {
            known(argv)?;
            if !super::args::is(&argv[0], "multi") && !super::args::is(&argv[0], "exec") {
                super::call(&mut replayer, argv);
                replayer.out.buf.clear();
            }
            Ok(())
        })
    });

    fx.take_ops();
    for op in ops_before {
        fx.propagate(op);
    }
    fx.take_dirty();
    fx.add_changes(dirty_before);
    srv.propagation.set_enabled(was_on);
    loaded
}

/// Redis's `flushAppendOnlyFile(1)` before DEBUG LOADAOF: every unit that changed the dataset
/// so far reaches the file. The caller holds every shard, so no unit still holds a lock; a
/// marker ticket taken now completes once every earlier unit has (not inside a transaction
/// that already took a ticket of its own: that one completes only after this command).
fn flush_propagated(srv: &Shared, fx: &Scope) {
    if !srv.aof.is_on() {
        return;
    }
    let seq = srv.propagation.sequencer();
    if seq.enabled() && !fx.has_ticket() {
        let marker = seq.ticket();
        seq.complete(marker, Vec::new());
        while seq.emitted() <= marker {
            std::thread::yield_now();
        }
    }
    if let Err(e) = srv.aof.write_out(true) {
        tracing::warn!(error = %e, "DEBUG LOADAOF: writing the AOF buffer failed");
    }
}

fn starts_with_rdb(path: &Path) -> bool {
    use std::io::Read;
    let mut magic = [0u8; 5];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut magic))
        .is_ok()
        && &magic == b"REDIS"
}
