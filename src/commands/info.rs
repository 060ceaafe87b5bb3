//! INFO, with Redis 7's sections and text format, from the shared state and every loop's
//! statistics.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::Ordering;

use bytes::Bytes;

use super::flags::*;
use super::{args, registry, spec, CommandSpec, Ctx, Group};
use crate::state::stats::Rate;
use crate::state::Shared;
use crate::store::StoreRef;

#[rustfmt::skip]
pub static COMMANDS: &[CommandSpec] = &[
    //   name    arity flags                                   group          keys     handler
    spec("info",  -1,  KEYSPACE_WIDE | LOADING | STALE | SENTINEL | DANGEROUS, Group::Server, 0, 0, 0, info),
];

// ---------------------------------------------------------------------------------------------
// INFO
// ---------------------------------------------------------------------------------------------

/// INFO's sections in output order; the flag says whether `INFO` / `INFO default` has it.
const SECTIONS: &[(&str, bool)] = &[
    ("server", true),
    ("clients", true),
    ("memory", true),
    ("persistence", true),
    ("stats", true),
    ("replication", true),
    ("cpu", true),
    ("modules", true),
    ("commandstats", false),
    ("errorstats", true),
    ("latencystats", false),
    ("cluster", true),
    ("keyspace", true),
];

/// Which sections an `INFO [section ...]` call asks for (names are case-insensitive;
/// `default`, `all` and `everything` as in Redis; `module_list` is `modules`).
pub fn wanted_sections(argv: &[Bytes]) -> Vec<&'static str> {
    let mut all = false;
    let mut wanted: Vec<&'static str> = Vec::new();
    let mut add_defaults = argv.is_empty();
    for a in argv {
        if args::is(a, "default") {
            add_defaults = true;
        } else if args::is(a, "all") || args::is(a, "everything") {
            all = true;
        } else if let Some((name, _)) = SECTIONS
            .iter()
            .find(|(n, _)| args::is(a, n) || (*n == "modules" && args::is(a, "module_list")))
        {
            wanted.push(name);
        }
    }
    SECTIONS
        .iter()
        .filter(|(name, default)| all || (add_defaults && *default) || wanted.contains(name))
        .map(|(name, _)| *name)
        .collect()
}

/// `1.77M`-style sizes, as Redis's bytesToHuman.
fn human(n: u64) -> String {
    const UNITS: [(u64, &str); 5] = [
        (1 << 10, "K"),
        (1 << 20, "M"),
        (1 << 30, "G"),
        (1 << 40, "T"),
        (1 << 50, "P"),
    ];
    if n < 1024 {
        return format!("{n}B");
    }
    for (i, (div, unit)) in UNITS.iter().enumerate() {
        if i + 1 == UNITS.len() || n < div * 1024 {
            return format!("{:.2}{}", n as f64 / *div as f64, unit);
        }
    }
    format!("{n}B")
}

/// Resident set size in bytes, from `/proc/self/statm` (0 where unavailable).
pub(crate) fn rss_bytes() -> u64 {
    let page = page_size();
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0, |pages| pages * page)
}

fn page_size() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let p = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if p > 0 {
        p as u64
    } else {
        4096
    }
}

fn total_system_memory() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let pages = unsafe { libc::sysconf(libc::_SC_PHYS_PAGES) };
    if pages > 0 {
        pages as u64 * page_size()
    } else {
        0
    }
}

/// `sysname release machine` from uname(2).
fn os_name() -> String {
    // SAFETY: utsname is plain data; uname fills it with NUL-terminated strings.
    unsafe {
        let mut u: libc::utsname = std::mem::zeroed();
        if libc::uname(&mut u) != 0 {
            return std::env::consts::OS.to_string();
        }
        let field = |f: &[libc::c_char]| {
            std::ffi::CStr::from_ptr(f.as_ptr())
                .to_string_lossy()
                .into_owned()
        };
        format!(
            "{} {} {}",
            field(&u.sysname),
            field(&u.release),
            field(&u.machine)
        )
    }
}

/// `(user, system)` CPU seconds for `who` (RUSAGE_SELF, _CHILDREN, _THREAD), as `s.micros`.
fn cpu(who: libc::c_int) -> (String, String) {
    // SAFETY: rusage is plain data filled by getrusage.
    let ru = unsafe {
        let mut ru: libc::rusage = std::mem::zeroed();
        libc::getrusage(who, &mut ru);
        ru
    };
    let t = |tv: libc::timeval| format!("{}.{:06}", tv.tv_sec, tv.tv_usec);
    (t(ru.ru_utime), t(ru.ru_stime))
}

/// Builds the INFO text for `sections` (Redis's layout: `# Name` headers, `field:value`
/// lines ending in CRLF, a blank line between sections).
pub fn info_text(srv: &Shared, store: StoreRef<'_>, sections: &[&str]) -> String {
    let mut s = String::with_capacity(4096);
    for (i, section) in sections.iter().enumerate() {
        if i > 0 {
            s.push_str("\r\n");
        }
        match *section {
            "server" => server_section(srv, &mut s),
            "clients" => clients_section(srv, &mut s),
            "memory" => memory_section(srv, store, &mut s),
            "persistence" => persistence_section(srv, &mut s),
            "stats" => stats_section(srv, &mut s),
            "replication" => replication_section(srv, &mut s),
            "cpu" => cpu_section(&mut s),
            "modules" => s.push_str("# Modules\r\n"),
            "commandstats" => commandstats_section(srv, &mut s),
            "errorstats" => errorstats_section(srv, &mut s),
            "latencystats" => {
                s.push_str("# Latencystats\r\n");
                super::latency::info_lines(srv, &mut s);
            }
            "cluster" => s.push_str("# Cluster\r\ncluster_enabled:0\r\n"),
            "keyspace" => keyspace_section(store, &mut s),
            _ => {}
        }
    }
    s
}

/// Appends `name:value\r\n` lines.
macro_rules! fields {
    ($s:expr, $($name:literal => $value:expr),* $(,)?) => {
        $( let _ = write!($s, concat!($name, ":{}\r\n"), $value); )*
    };
}

fn server_section(srv: &Shared, s: &mut String) {
    let uptime = srv.started.elapsed().as_secs();
    let now_us = crate::clock::now_us();
    let executable = std::env::current_exe()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    let config_file = srv
        .config
        .config_file
        .as_ref()
        .map(|p| {
            std::fs::canonicalize(p)
                .unwrap_or_else(|_| p.clone())
                .display()
                .to_string()
        })
        .unwrap_or_default();
    s.push_str("# Server\r\n");
    fields!(s,
        "redis_version" => super::connection::REDIS_VERSION,
        "redis_git_sha1" => "00000000",
        "redis_git_dirty" => 0,
        "redis_build_id" => "0",
        "redis_mode" => "standalone",
        "os" => os_name(),
        "arch_bits" => usize::BITS,
        "monotonic_clock" => "POSIX clock_gettime",
        "multiplexing_api" => "epoll",
        "atomicvar_api" => "c11-builtin",
        "gcc_version" => "0.0.0",
        "process_id" => std::process::id(),
        "process_supervised" => "no",
        "run_id" => srv.run_id,
        "tcp_port" => srv.port.load(Ordering::Relaxed),
        "server_time_usec" => now_us,
        "uptime_in_seconds" => uptime,
        "uptime_in_days" => uptime / 86400,
        "hz" => 10,
        "configured_hz" => 10,
        "lru_clock" => (now_us / 1_000_000) & ((1 << 24) - 1),
        "executable" => executable,
        "config_file" => config_file,
        "io_threads_active" => 0,
        "ferrokv_version" => env!("CARGO_PKG_VERSION"),
        "ferrokv_threads" => srv.config.threads,
    );
}

fn clients_section(srv: &Shared, s: &mut String) {
    let clients = srv.clients.snapshot();
    let max_in = clients
        .iter()
        .map(|c| c.qbuf.load(Ordering::Relaxed))
        .max()
        .unwrap_or(0);
    let max_out = clients
        .iter()
        .map(|c| c.obuf.load(Ordering::Relaxed))
        .max()
        .unwrap_or(0);
    let (blocked, in_timeout_table) = srv.blocked.counts();
    s.push_str("# Clients\r\n");
    fields!(s,
        "connected_clients" => clients.len(),
        "cluster_connections" => 0,
        "maxclients" => srv.settings.maxclients.load(Ordering::Relaxed),
        "client_recent_max_input_buffer" => max_in,
        "client_recent_max_output_buffer" => max_out,
        // As Redis, clients held by a pause count as blocked.
        "blocked_clients" => blocked + srv.pause.parked.load(Ordering::Relaxed),
        "tracking_clients" => srv.tracking.client_count(),
        "clients_in_timeout_table" => in_timeout_table,
    );
}

/// Memory figures from jemalloc and the key tables ([`super::memory::Overview`]).
fn memory_section(srv: &Shared, store: StoreRef<'_>, s: &mut String) {
    let o = super::memory::Overview::measure(srv, store);
    let total = total_system_memory();
    let max = srv.memory.maxmemory.load(Ordering::Relaxed);
    let (alloc_frag, alloc_frag_bytes) = o.allocator_frag();
    let (alloc_rss, alloc_rss_bytes) = o.allocator_rss();
    let (rss_over, rss_over_bytes) = o.rss_overhead();
    let (frag, frag_bytes) = o.fragmentation();
    let lua = srv.scripts.lua_memory();
    let (scripts, script_bytes) = srv.scripts.stats();
    s.push_str("# Memory\r\n");
    fields!(s,
        "used_memory" => o.used,
        "used_memory_human" => human(o.used),
        "used_memory_rss" => o.rss,
        "used_memory_rss_human" => human(o.rss),
        "used_memory_peak" => o.peak,
        "used_memory_peak_human" => human(o.peak),
        "used_memory_peak_perc" => format!("{:.2}%", o.peak_perc()),
        "used_memory_overhead" => o.overhead,
        "used_memory_startup" => o.startup,
        "used_memory_dataset" => o.dataset,
        "used_memory_dataset_perc" => format!("{:.2}%", o.dataset_perc()),
        "allocator_allocated" => o.alloc.allocated,
        "allocator_active" => o.alloc.active,
        "allocator_resident" => o.alloc.resident,
        "total_system_memory" => total,
        "total_system_memory_human" => human(total),
        "used_memory_lua" => lua,
        "used_memory_vm_eval" => lua,
        "used_memory_lua_human" => human(lua as u64),
        "used_memory_scripts_eval" => script_bytes,
        "number_of_cached_scripts" => scripts,
        "number_of_functions" => 0,
        "number_of_libraries" => 0,
        "used_memory_vm_functions" => 0,
        "used_memory_vm_total" => lua,
        "used_memory_vm_total_human" => human(lua as u64),
        "used_memory_functions" => 0,
        "used_memory_scripts" => script_bytes,
        "used_memory_scripts_human" => human(script_bytes as u64),
        "maxmemory" => max,
        "maxmemory_human" => human(max),
        "maxmemory_policy" => crate::memory::policy::policy().name(),
        "allocator_frag_ratio" => format!("{alloc_frag:.2}"),
        "allocator_frag_bytes" => alloc_frag_bytes,
        "allocator_rss_ratio" => format!("{alloc_rss:.2}"),
        "allocator_rss_bytes" => alloc_rss_bytes,
        "rss_overhead_ratio" => format!("{rss_over:.2}"),
        "rss_overhead_bytes" => rss_over_bytes,
        "mem_fragmentation_ratio" => format!("{frag:.2}"),
        "mem_fragmentation_bytes" => frag_bytes,
        "mem_not_counted_for_evict" => 0,
        "mem_replication_backlog" => 0,
        "mem_total_replication_buffers" => 0,
        "mem_clients_slaves" => 0,
        "mem_clients_normal" => srv.client_memory.total(),
        "mem_cluster_links" => 0,
        "mem_aof_buffer" => 0,
        "mem_allocator" => "jemalloc-5.3.0",
        "active_defrag_running" => 0,
        "lazyfree_pending_objects" => 0,
        "lazyfreed_objects" => 0,
    );
}

/// RDB state from [`crate::persist::Persistence`]; the AOF is off. Without fork there is no
/// child and no copy-on-write (the `*_cow_*` and `fork` fields stay 0).
fn persistence_section(srv: &Shared, s: &mut String) {
    use std::sync::atomic::Ordering::Relaxed;
    let p = &srv.persistence;
    let now = crate::clock::now_ms();
    let bg = p.bgsave_in_progress.load(Relaxed);
    let loading = p.is_loading();
    s.push_str("# Persistence\r\n");
    fields!(s,
        "loading" => loading as u8,
        "async_loading" => 0,
        "current_cow_peak" => 0,
        "current_cow_size" => 0,
        "current_cow_size_age" => 0,
        "current_fork_perc" => "0.00",
        "current_save_keys_processed" => if p.is_saving() { p.keys_processed.load(Relaxed) } else { 0 },
        "current_save_keys_total" => if p.is_saving() { p.keys_total.load(Relaxed) } else { 0 },
    );
    if loading {
        let started = p.loading_started.load(Relaxed);
        let total = p.loading_total_bytes.load(Relaxed);
        let done = p.loading_loaded_bytes.load(Relaxed);
        fields!(s,
            "loading_start_time" => started,
            "loading_total_bytes" => total,
            "loading_rdb_used_mem" => 0,
            "loading_loaded_bytes" => done,
            "loading_loaded_perc" => format!("{:.2}", if total == 0 { 0.0 } else { done as f64 * 100.0 / total as f64 }),
            "loading_eta_seconds" => 1,
        );
    }
    fields!(s,
        "rdb_changes_since_last_save" => srv.dirty().saturating_sub(p.dirty_at_save.load(Relaxed)),
        "rdb_bgsave_in_progress" => bg as u8,
        "rdb_last_save_time" => p.lastsave.load(Relaxed),
        "rdb_last_bgsave_status" => match p.last_status() { crate::persist::Status::Ok => "ok", crate::persist::Status::Err => "err" },
        "rdb_last_bgsave_time_sec" => p.last_bgsave_secs.load(Relaxed),
        "rdb_current_bgsave_time_sec" => if bg { (now.saturating_sub(p.bgsave_started_ms.load(Relaxed)) / 1000) as i64 } else { -1 },
        "rdb_saves" => p.saves.load(Relaxed),
        "rdb_last_cow_size" => 0,
        "rdb_last_load_keys_expired" => p.load_keys_expired.load(Relaxed),
        "rdb_last_load_keys_loaded" => p.load_keys_loaded.load(Relaxed),
        "aof_enabled" => srv.aof.is_on() as u8,
        "aof_rewrite_in_progress" => p.rewrite_in_progress.load(Relaxed) as u8,
        "aof_rewrite_scheduled" => p.rewrite_scheduled.load(Relaxed) as u8,
        "aof_last_rewrite_time_sec" => p.last_rewrite_secs.load(Relaxed),
        "aof_current_rewrite_time_sec" => if p.rewrite_in_progress.load(Relaxed) { (now.saturating_sub(p.rewrite_started_ms.load(Relaxed)) / 1000) as i64 } else { -1 },
        "aof_last_bgrewrite_status" => if p.last_rewrite_ok.load(Relaxed) { "ok" } else { "err" },
        "aof_rewrites" => p.rewrites.load(Relaxed),
        "aof_rewrites_consecutive_failures" => p.rewrite_failures.load(Relaxed),
        "aof_last_write_status" => if srv.aof.last_write_ok.load(Relaxed) { "ok" } else { "err" },
        "aof_last_cow_size" => 0,
        "module_fork_in_progress" => 0,
        "module_fork_last_cow_size" => 0,
    );
    if srv.aof.is_on() {
        fields!(s,
            "aof_current_size" => srv.aof.current_size.load(Relaxed),
            "aof_base_size" => srv.aof.base_size.load(Relaxed),
            "aof_pending_rewrite" => p.rewrite_scheduled.load(Relaxed) as u8,
            "aof_buffer_length" => srv.aof.unsynced_bytes(),
            "aof_pending_bio_fsync" => 0,
            "aof_delayed_fsync" => srv.aof.delayed_fsyncs(),
            // ferrokv's own: the age of the oldest write not yet fsynced (0 when none), the
            // window an OS crash could lose under `everysec`.
            "aof_unsynced_age_ms" => srv.aof.unsynced_age_ms(),
        );
    }
}

fn stats_section(srv: &Shared, s: &mut String) {
    let (ops, kin, kout) = {
        let r = srv.rates.lock();
        (
            r.get(Rate::Ops),
            r.get(Rate::NetInput),
            r.get(Rate::NetOutput),
        )
    };
    let expired = srv.store.expiry_hold().expired();
    let (exceeded_current_ms, exceeded_total_ms) = srv.memory.exceeded_ms();
    s.push_str("# Stats\r\n");
    fields!(s,
        "total_connections_received" => srv.stat(|w| &w.connections_received),
        "total_commands_processed" => srv.stat(|w| &w.commands_processed),
        "instantaneous_ops_per_sec" => ops,
        "total_net_input_bytes" => srv.stat(|w| &w.net_input_bytes),
        "total_net_output_bytes" => srv.stat(|w| &w.net_output_bytes),
        "total_net_repl_input_bytes" => 0,
        "total_net_repl_output_bytes" => 0,
        "instantaneous_input_kbps" => format!("{:.2}", kin as f64 / 1024.0),
        "instantaneous_output_kbps" => format!("{:.2}", kout as f64 / 1024.0),
        "instantaneous_input_repl_kbps" => "0.00",
        "instantaneous_output_repl_kbps" => "0.00",
        "rejected_connections" => srv.stat(|w| &w.rejected_connections),
        "sync_full" => 0,
        "sync_partial_ok" => 0,
        "sync_partial_err" => 0,
        "expired_keys" => expired,
        "expired_stale_perc" => "0.00",
        "expired_time_cap_reached_count" => 0,
        "expire_cycle_cpu_milliseconds" => 0,
        "evicted_keys" => srv.memory.evicted_keys.load(Ordering::Relaxed),
        "evicted_clients" => srv.client_memory.evicted(),
        "total_eviction_exceeded_time" => exceeded_total_ms,
        "current_eviction_exceeded_time" => exceeded_current_ms,
        "keyspace_hits" => srv.stat(|w| &w.keyspace_hits),
        "keyspace_misses" => srv.stat(|w| &w.keyspace_misses),
        "pubsub_channels" => srv.pubsub.channel_count(crate::pubsub::Space::Global),
        "pubsub_patterns" => srv.pubsub.numpat(),
        "pubsubshard_channels" => srv.pubsub.channel_count(crate::pubsub::Space::Shard),
        "latest_fork_usec" => 0,
        "total_forks" => 0,
        "migrate_cached_sockets" => srv.migrate_sockets.len(),
        "slave_expires_tracked_keys" => 0,
        "active_defrag_hits" => 0,
        "active_defrag_misses" => 0,
        "active_defrag_key_hits" => 0,
        "active_defrag_key_misses" => 0,
        "total_active_defrag_time" => 0,
        "current_active_defrag_time" => 0,
        "tracking_total_keys" => srv.tracking.table_size().0,
        "tracking_total_items" => srv.tracking.table_size().1,
        "tracking_total_prefixes" => srv.tracking.prefix_count(),
        "unexpected_error_replies" => srv.stat(|w| &w.unexpected_error_replies),
        "total_error_replies" => srv.stat(|w| &w.total_error_replies),
        "dump_payload_sanitizations" => 0,
        "total_reads_processed" => 0,
        "total_writes_processed" => 0,
        "io_threaded_reads_processed" => 0,
        "io_threaded_writes_processed" => 0,
        "reply_buffer_shrinks" => 0,
        "reply_buffer_expands" => 0,
    );
}

fn replication_section(srv: &Shared, s: &mut String) {
    s.push_str("# Replication\r\n");
    fields!(s,
        "role" => "master",
        "connected_slaves" => 0,
        "master_failover_state" => "no-failover",
        "master_replid" => srv.replid.lock().as_str(),
        "master_replid2" => "0000000000000000000000000000000000000000",
        "master_repl_offset" => 0,
        "second_repl_offset" => -1,
        "repl_backlog_active" => 0,
        "repl_backlog_size" => 1048576,
        "repl_backlog_first_byte_offset" => 0,
        "repl_backlog_histlen" => 0,
    );
}

fn cpu_section(s: &mut String) {
    let (user, sys) = cpu(libc::RUSAGE_SELF);
    let (cuser, csys) = cpu(libc::RUSAGE_CHILDREN);
    // "main thread" is the loop thread answering this INFO.
    let (tuser, tsys) = cpu(libc::RUSAGE_THREAD);
    s.push_str("# CPU\r\n");
    fields!(s,
        "used_cpu_sys" => sys,
        "used_cpu_user" => user,
        "used_cpu_sys_children" => csys,
        "used_cpu_user_children" => cuser,
        "used_cpu_sys_main_thread" => tsys,
        "used_cpu_user_main_thread" => tuser,
    );
}

fn commandstats_section(srv: &Shared, s: &mut String) {
    s.push_str("# Commandstats\r\n");
    let reg = registry();
    let index_of = |spec: &CommandSpec| reg.all.iter().position(|c| std::ptr::eq(*c, spec));
    // Redis's order: each command followed by its subcommands.
    for spec in &reg.commands {
        for c in std::iter::once(*spec).chain(spec.subcommands.iter()) {
            let Some(i) = index_of(c) else { continue };
            let sum =
                |pick: fn(&crate::state::stats::CommandStat) -> &std::sync::atomic::AtomicU64| {
                    srv.stats
                        .iter()
                        .map(|w| pick(&w.commands[i]).load(Ordering::Relaxed))
                        .sum::<u64>()
                };
            let calls = sum(|c| &c.calls);
            let rejected = sum(|c| &c.rejected);
            let failed = sum(|c| &c.failed);
            if calls == 0 && rejected == 0 && failed == 0 {
                continue;
            }
            let usec = sum(|c| &c.usec);
            let per_call = if calls == 0 {
                0.0
            } else {
                usec as f64 / calls as f64
            };
            let _ = write!(
                s,
                "cmdstat_{}:calls={calls},usec={usec},usec_per_call={per_call:.2},rejected_calls={rejected},failed_calls={failed}\r\n",
                c.name
            );
        }
    }
}

fn errorstats_section(srv: &Shared, s: &mut String) {
    s.push_str("# Errorstats\r\n");
    let mut all: BTreeMap<String, u64> = BTreeMap::new();
    for w in &srv.stats {
        for (code, n) in w.error_codes.lock().iter() {
            *all.entry(code.clone()).or_default() += n;
        }
    }
    for (code, n) in all {
        // INFO-unsafe characters become '_', as Redis's getSafeInfoString.
        let code: String = code
            .chars()
            .map(|c| if "#:\n\r".contains(c) { '_' } else { c })
            .collect();
        let _ = write!(s, "errorstat_{code}:count={n}\r\n");
    }
}

fn keyspace_section(store: StoreRef<'_>, s: &mut String) {
    s.push_str("# Keyspace\r\n");
    for i in 0..store.len() {
        let db = store.db(i);
        if db.is_empty() {
            continue;
        }
        let (keys, expires) = db.counts();
        if keys > 0 || expires > 0 {
            let _ = write!(s, "db{i}:keys={keys},expires={expires},avg_ttl=0\r\n");
        }
    }
}

/// # Format
/// `INFO [section ...]` — a verbatim string (RESP3) / bulk string (RESP2).
fn info(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    let sections = wanted_sections(&argv[1..]);
    let text = info_text(ctx.srv, ctx.store(), &sections);
    ctx.out.verbatim(text.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::commands::session::argv as b;

    #[test]
    fn section_selection_follows_redis() {
        let default = wanted_sections(&[]);
        assert!(default.contains(&"server") && default.contains(&"keyspace"));
        assert!(!default.contains(&"commandstats"));
        assert_eq!(wanted_sections(&b(&["SERVER"])), vec!["server"]);
        assert_eq!(
            wanted_sections(&b(&["keyspace", "server"])),
            vec!["server", "keyspace"]
        );
        assert_eq!(wanted_sections(&b(&["all"])).len(), SECTIONS.len());
        assert_eq!(wanted_sections(&b(&["everything"])).len(), SECTIONS.len());
        assert_eq!(wanted_sections(&b(&["default"])), default);
        assert!(wanted_sections(&b(&["nosuch"])).is_empty());
        assert_eq!(wanted_sections(&b(&["module_list"])), vec!["modules"]);
    }

    #[test]
    fn human_sizes_match_bytes_to_human() {
        assert_eq!(human(0), "0B");
        assert_eq!(human(1023), "1023B");
        assert_eq!(human(1024), "1.00K");
        assert_eq!(human(1855768), "1.77M");
        assert_eq!(human(25276510208), "23.54G");
    }
}
