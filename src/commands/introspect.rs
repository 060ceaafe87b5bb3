//! Introspection: COMMAND (and COUNT, INFO, DOCS, LIST, GETKEYS, HELP) answered from the
//! registry, and INFO with Redis 7's sections and text format.
//!
//! What the registry does not hold is reported as Redis does for a command lacking it: no
//! command tips, and one key spec synthesised from the first/last/step key range. COMMAND DOCS
//! comes from Redis's own command descriptions (see `super::docs`).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::Ordering;

use bytes::Bytes;

use super::flags::{self, *};
use super::{args, blocking, client, errors, registry, spec, CommandSpec, Ctx, Group};
use crate::resp::reply::Reply;
use crate::server::shared::{Rate, Shared};
use crate::util::glob::glob_match;

const SUB: u32 = LOADING | STALE | SENTINEL;

#[rustfmt::skip]
pub static COMMANDS: &[CommandSpec] = &[
    // COMMAND alone lists every command, so unlike other containers its arity is -1.
    CommandSpec {
        name: "command",
        arity: -1,
        flags: SUB,
        group: Group::Server,
        first_key: 0,
        last_key: 0,
        step: 0,
        handler: command,
        subcommands: COMMAND,
        movable_keys: None,
    },
    //   name    arity flags                                   group          keys     handler
    spec("info",  -1,  KEYSPACE_WIDE | LOADING | STALE | SENTINEL | DANGEROUS, Group::Server, 0, 0, 0, info),
];

#[rustfmt::skip]
static COMMAND: &[CommandSpec] = &[
    //   name               arity flags group          keys     handler
    spec("command|count",     2,  SUB,  Group::Server, 0, 0, 0, count),
    spec("command|info",     -2,  SUB,  Group::Server, 0, 0, 0, command_info),
    spec("command|docs",     -2,  SUB,  Group::Server, 0, 0, 0, docs),
    spec("command|list",     -2,  SUB,  Group::Server, 0, 0, 0, list),
    spec("command|getkeys",  -4,  SUB,  Group::Server, 0, 0, 0, getkeys),
    spec("command|help",      2,  SUB,  Group::Server, 0, 0, 0, help),
];

/// ACL categories in the order Redis lists them.
const ACL_ORDER: &[&str] = &[
    "@keyspace",
    "@read",
    "@write",
    "@set",
    "@sortedset",
    "@list",
    "@hash",
    "@string",
    "@bitmap",
    "@hyperloglog",
    "@geo",
    "@stream",
    "@pubsub",
    "@admin",
    "@fast",
    "@slow",
    "@blocking",
    "@dangerous",
    "@connection",
    "@transaction",
    "@scripting",
];

/// One COMMAND INFO entry: `[name, arity, flags, first, last, step, acl categories, tips,
/// key specs, subcommands]`.
fn write_info(out: &mut Reply, spec: &CommandSpec) {
    out.array(10);
    out.bulk(spec.name.as_bytes());
    out.int(spec.arity as i64);
    let shown: Vec<&str> = flags::NAMES
        .iter()
        .filter(|(f, _)| spec.flags & f != 0)
        .map(|(_, name)| *name)
        .collect();
    out.set(shown.len());
    for name in shown {
        out.simple(name);
    }
    out.int(spec.first_key as i64);
    out.int(spec.last_key as i64);
    out.int(spec.step as i64);
    let mut cats = spec.acl_categories();
    cats.sort_by_key(|c| ACL_ORDER.iter().position(|o| o == c).unwrap_or(usize::MAX));
    out.set(cats.len());
    for c in cats {
        out.simple(c);
    }
    out.set(0); // tips
    write_key_specs(out, spec);
    out.array(spec.subcommands.len());
    for sub in spec.subcommands {
        write_info(out, sub);
    }
}

/// The key specs implied by the legacy first/last/step range (Redis's `find_keys` range
/// counts `lastkey` from the first key; negative values count from the end).
fn write_key_specs(out: &mut Reply, spec: &CommandSpec) {
    if spec.first_key <= 0 {
        out.set(0);
        return;
    }
    out.set(1);
    out.map(3);
    out.bulk(b"flags");
    // Shard channels are "keys" for cluster routing only.
    let key_flags: &[&str] = if spec.flags & PUBSUB != 0 {
        &["not_key"]
    } else if spec.flags & WRITE != 0 {
        &["RW", "update"]
    } else if spec.group == Group::Transactions {
        // WATCH only looks at its keys' versions, never their values.
        &["RO"]
    } else {
        &["RO", "access"]
    };
    out.set(key_flags.len());
    for f in key_flags {
        out.simple(f);
    }
    out.bulk(b"begin_search");
    out.map(2);
    out.bulk(b"type");
    out.bulk(b"index");
    out.bulk(b"spec");
    out.map(1);
    out.bulk(b"index");
    out.int(spec.first_key as i64);
    out.bulk(b"find_keys");
    out.map(2);
    out.bulk(b"type");
    out.bulk(b"range");
    out.bulk(b"spec");
    out.map(3);
    out.bulk(b"lastkey");
    out.int(if spec.last_key >= 0 {
        (spec.last_key - spec.first_key) as i64
    } else {
        spec.last_key as i64
    });
    out.bulk(b"keystep");
    out.int(spec.step as i64);
    out.bulk(b"limit");
    out.int(0);
}

/// # Format
/// `COMMAND` — COMMAND INFO of every command.
fn command(ctx: &mut Ctx<'_>, _argv: &[Bytes]) {
    let reg = registry();
    ctx.out.array(reg.commands.len());
    for spec in &reg.commands {
        write_info(ctx.out, spec);
    }
}

/// # Format
/// `COMMAND COUNT`
fn count(ctx: &mut Ctx<'_>, _argv: &[Bytes]) {
    ctx.out.int(registry().commands.len() as i64);
}

/// # Format
/// `COMMAND INFO [command-name ...]` — nil for unknown names; `container|sub` names work.
fn command_info(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    let reg = registry();
    if argv.len() == 2 {
        return command(ctx, argv);
    }
    ctx.out.array(argv.len() - 2);
    for name in &argv[2..] {
        match reg.lookup_full(name) {
            Some(spec) => write_info(ctx.out, spec),
            None => ctx.out.null(),
        }
    }
}

/// # Format
/// `COMMAND DOCS [command-name ...]` — a map of name to docs; unknown names are left out.
fn docs(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    let reg = registry();
    let specs: Vec<&CommandSpec> = if argv.len() == 2 {
        reg.commands.clone()
    } else {
        argv[2..]
            .iter()
            .filter_map(|n| reg.lookup_full(n))
            .collect()
    };
    ctx.out.map(specs.len());
    for spec in specs {
        ctx.out.bulk(spec.name.as_bytes());
        super::docs::write(ctx.out, spec);
    }
}

/// # Format
/// `COMMAND LIST [FILTERBY MODULE name | ACLCAT category | PATTERN pattern]` — every command
/// and subcommand name.
fn list(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    enum Filter<'a> {
        None,
        Module,
        AclCat(&'a [u8]),
        Pattern(&'a [u8]),
    }
    let mut filter = Filter::None;
    let mut i = 2;
    while i < argv.len() {
        if args::is(&argv[i], "FILTERBY") && argv.len() - 1 - i == 2 {
            let arg = &argv[i + 2][..];
            filter = if args::is(&argv[i + 1], "MODULE") {
                Filter::Module
            } else if args::is(&argv[i + 1], "ACLCAT") {
                Filter::AclCat(arg)
            } else if args::is(&argv[i + 1], "PATTERN") {
                Filter::Pattern(arg)
            } else {
                return ctx.out.error(errors::SYNTAX);
            };
            i += 3;
        } else {
            return ctx.out.error(errors::SYNTAX);
        }
    }
    let keep = |spec: &CommandSpec| match &filter {
        Filter::None => true,
        // There are no modules.
        Filter::Module => false,
        Filter::AclCat(cat) => spec
            .acl_categories()
            .iter()
            .any(|c| c.as_bytes()[1..].eq_ignore_ascii_case(cat)),
        Filter::Pattern(p) => glob_match(p, spec.name.as_bytes(), true),
    };
    let mut names = Vec::new();
    for spec in &registry().commands {
        if keep(spec) {
            names.push(spec.name);
        }
        names.extend(spec.subcommands.iter().filter(|s| keep(s)).map(|s| s.name));
    }
    ctx.out.array(names.len());
    for n in names {
        ctx.out.bulk(n.as_bytes());
    }
}

/// # Format
/// `COMMAND GETKEYS command [arg ...]` — the key arguments of a full command line, from the
/// registry's key positions.
fn getkeys(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    let cmd = &argv[2..];
    let reg = registry();
    let spec = match reg.lookup(&cmd[0]) {
        Some((_, s)) if s.is_container() && cmd.len() >= 2 => super::subcommand(s, &cmd[1]),
        Some((_, s)) => Some(s),
        None => None,
    };
    let Some(spec) = spec else {
        return ctx.out.error(errors::INVALID_COMMAND);
    };
    if spec.first_key <= 0 && spec.movable_keys.is_none() {
        return ctx.out.error(errors::NO_KEY_ARGUMENTS);
    }
    let argc = cmd.len() as i32;
    if (spec.arity > 0 && spec.arity != argc) || argc < -spec.arity {
        return ctx.out.error(errors::GETKEYS_ARITY);
    }
    let keys = spec.keys_of(cmd);
    if keys.is_empty() {
        return ctx.out.error(errors::GETKEYS_INVALID);
    }
    ctx.out.array(keys.len());
    for k in keys {
        ctx.out.bulk(&cmd[k]);
    }
}

/// # Format
/// `COMMAND HELP`
fn help(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    client::help_reply(
        ctx,
        &argv[0],
        &[
            "(no subcommand)",
            "    Return details about all Redis commands.",
            "COUNT",
            "    Return the total number of commands in this Redis server.",
            "LIST",
            "    Return a list of all commands in this Redis server.",
            "INFO [<command-name> ...]",
            "    Return details about multiple Redis commands.",
            "    If no command names are given, documentation details for all",
            "    commands are returned.",
            "DOCS [<command-name> ...]",
            "    Return documentation details about multiple Redis commands.",
            "    If no command names are given, documentation details for all",
            "    commands are returned.",
            "GETKEYS <full-command>",
            "    Return the keys from a full Redis command.",
        ],
    );
}

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
fn rss_bytes() -> u64 {
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
pub fn info_text(srv: &Shared, sections: &[&str]) -> String {
    let mut s = String::with_capacity(4096);
    for (i, section) in sections.iter().enumerate() {
        if i > 0 {
            s.push_str("\r\n");
        }
        match *section {
            "server" => server_section(srv, &mut s),
            "clients" => clients_section(srv, &mut s),
            "memory" => memory_section(srv, &mut s),
            "persistence" => persistence_section(srv, &mut s),
            "stats" => stats_section(srv, &mut s),
            "replication" => replication_section(srv, &mut s),
            "cpu" => cpu_section(&mut s),
            "modules" => s.push_str("# Modules\r\n"),
            "commandstats" => commandstats_section(srv, &mut s),
            "errorstats" => errorstats_section(srv, &mut s),
            // No latency histograms are kept (as Redis with latency-tracking off).
            "latencystats" => s.push_str("# Latencystats\r\n"),
            "cluster" => s.push_str("# Cluster\r\ncluster_enabled:0\r\n"),
            "keyspace" => keyspace_section(srv, &mut s),
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
    s.push_str("# Clients\r\n");
    fields!(s,
        "connected_clients" => clients.len(),
        "cluster_connections" => 0,
        "maxclients" => srv.settings.maxclients.load(Ordering::Relaxed),
        "client_recent_max_input_buffer" => max_in,
        "client_recent_max_output_buffer" => max_out,
        "blocked_clients" => clients.iter().filter(|c| c.is_blocked()).count(),
        "tracking_clients" => 0,
        "clients_in_timeout_table" => clients
            .iter()
            .filter(|c| c.blocked.load(Ordering::Relaxed) == blocking::state::BLOCKED_TIMEOUT)
            .count(),
    );
}

/// Memory figures: ferrokv uses the system allocator without instrumentation, so
/// `used_memory` reports the process's resident set size (as `used_memory_rss` does).
fn memory_section(srv: &Shared, s: &mut String) {
    let used = rss_bytes();
    let peak = srv.peak_memory.fetch_max(used, Ordering::Relaxed).max(used);
    let total = total_system_memory();
    let peak_perc = if peak > 0 {
        used as f64 * 100.0 / peak as f64
    } else {
        100.0
    };
    s.push_str("# Memory\r\n");
    fields!(s,
        "used_memory" => used,
        "used_memory_human" => human(used),
        "used_memory_rss" => used,
        "used_memory_rss_human" => human(used),
        "used_memory_peak" => peak,
        "used_memory_peak_human" => human(peak),
        "used_memory_peak_perc" => format!("{peak_perc:.2}%"),
        "used_memory_overhead" => 0,
        "used_memory_startup" => 0,
        "used_memory_dataset" => used,
        "used_memory_dataset_perc" => "100.00%",
        "allocator_allocated" => used,
        "allocator_active" => used,
        "allocator_resident" => used,
        "total_system_memory" => total,
        "total_system_memory_human" => human(total),
        "used_memory_lua" => 0,
        "used_memory_vm_eval" => 0,
        "used_memory_lua_human" => "0B",
        "used_memory_scripts_eval" => 0,
        "number_of_cached_scripts" => 0,
        "number_of_functions" => 0,
        "number_of_libraries" => 0,
        "used_memory_vm_functions" => 0,
        "used_memory_vm_total" => 0,
        "used_memory_vm_total_human" => "0B",
        "used_memory_functions" => 0,
        "used_memory_scripts" => 0,
        "used_memory_scripts_human" => "0B",
        "maxmemory" => 0,
        "maxmemory_human" => "0B",
        "maxmemory_policy" => "noeviction",
        "allocator_frag_ratio" => "1.00",
        "allocator_frag_bytes" => 0,
        "allocator_rss_ratio" => "1.00",
        "allocator_rss_bytes" => 0,
        "rss_overhead_ratio" => "1.00",
        "rss_overhead_bytes" => 0,
        "mem_fragmentation_ratio" => "1.00",
        "mem_fragmentation_bytes" => 0,
        "mem_not_counted_for_evict" => 0,
        "mem_replication_backlog" => 0,
        "mem_total_replication_buffers" => 0,
        "mem_clients_slaves" => 0,
        "mem_clients_normal" => 0,
        "mem_cluster_links" => 0,
        "mem_aof_buffer" => 0,
        "mem_allocator" => "libc",
        "active_defrag_running" => 0,
        "lazyfree_pending_objects" => 0,
        "lazyfreed_objects" => 0,
    );
}

/// There is no persistence yet: never loading, never saving, AOF off.
fn persistence_section(srv: &Shared, s: &mut String) {
    s.push_str("# Persistence\r\n");
    fields!(s,
        "loading" => 0,
        "async_loading" => 0,
        "current_cow_peak" => 0,
        "current_cow_size" => 0,
        "current_cow_size_age" => 0,
        "current_fork_perc" => "0.00",
        "current_save_keys_processed" => 0,
        "current_save_keys_total" => 0,
        "rdb_changes_since_last_save" => 0,
        "rdb_bgsave_in_progress" => 0,
        "rdb_last_save_time" => srv.started_unix,
        "rdb_last_bgsave_status" => "ok",
        "rdb_last_bgsave_time_sec" => -1,
        "rdb_current_bgsave_time_sec" => -1,
        "rdb_saves" => 0,
        "rdb_last_cow_size" => 0,
        "rdb_last_load_keys_expired" => 0,
        "rdb_last_load_keys_loaded" => 0,
        "aof_enabled" => 0,
        "aof_rewrite_in_progress" => 0,
        "aof_rewrite_scheduled" => 0,
        "aof_last_rewrite_time_sec" => -1,
        "aof_current_rewrite_time_sec" => -1,
        "aof_last_bgrewrite_status" => "ok",
        "aof_rewrites" => 0,
        "aof_rewrites_consecutive_failures" => 0,
        "aof_last_write_status" => "ok",
        "aof_last_cow_size" => 0,
        "module_fork_in_progress" => 0,
        "module_fork_last_cow_size" => 0,
    );
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
    let expired = srv.stat(|w| &w.expired_keys) + srv.expired_by_cycle.load(Ordering::Relaxed);
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
        "evicted_keys" => 0,
        "evicted_clients" => 0,
        "total_eviction_exceeded_time" => 0,
        "current_eviction_exceeded_time" => 0,
        "keyspace_hits" => srv.stat(|w| &w.keyspace_hits),
        "keyspace_misses" => srv.stat(|w| &w.keyspace_misses),
        "pubsub_channels" => srv.pubsub.channel_count(crate::pubsub::Space::Global),
        "pubsub_patterns" => srv.pubsub.numpat(),
        "pubsubshard_channels" => srv.pubsub.channel_count(crate::pubsub::Space::Shard),
        "latest_fork_usec" => 0,
        "total_forks" => 0,
        "migrate_cached_sockets" => 0,
        "slave_expires_tracked_keys" => 0,
        "active_defrag_hits" => 0,
        "active_defrag_misses" => 0,
        "active_defrag_key_hits" => 0,
        "active_defrag_key_misses" => 0,
        "total_active_defrag_time" => 0,
        "current_active_defrag_time" => 0,
        "tracking_total_keys" => 0,
        "tracking_total_items" => 0,
        "tracking_total_prefixes" => 0,
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
        "master_replid" => srv.replid,
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
                |pick: fn(&crate::server::shared::CommandStat) -> &std::sync::atomic::AtomicU64| {
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

fn keyspace_section(srv: &Shared, s: &mut String) {
    s.push_str("# Keyspace\r\n");
    for i in 0..srv.store.len() {
        let db = srv.store.db(i);
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
    let text = info_text(ctx.srv, &sections);
    ctx.out.verbatim(text.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(v: &[&str]) -> Vec<Bytes> {
        v.iter()
            .map(|s| Bytes::copy_from_slice(s.as_bytes()))
            .collect()
    }

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

    #[test]
    fn subcommands_resolve_to_their_own_stats_slot() {
        let reg = registry();
        let (i, spec) = reg.resolve(&b(&["CLIENT", "List"])).unwrap();
        assert_eq!(spec.name, "client|list");
        assert!(std::ptr::eq(reg.all[i], spec));
        let (j, container) = reg.resolve(&b(&["client"])).unwrap();
        assert_eq!(container.name, "client");
        assert!(j < reg.commands.len() && i >= reg.commands.len());
        assert_eq!(
            reg.resolve(&b(&["client", "nope"])).err().as_deref(),
            Some(b"ERR unknown subcommand 'nope'. Try CLIENT HELP.".as_slice())
        );
        assert_eq!(reg.lookup_full(b"Config|GET").unwrap().name, "config|get");
        assert!(reg.lookup_full(b"config|nope").is_none());
        assert!(reg.lookup_full(b"nope|get").is_none());
    }

    #[test]
    fn every_command_has_a_group_and_unique_stats_slot() {
        let reg = registry();
        let mut seen = std::collections::HashSet::new();
        for c in &reg.all {
            assert!(seen.insert(c.name), "{} twice", c.name);
        }
        assert_eq!(
            reg.all.len(),
            reg.commands.len()
                + reg
                    .commands
                    .iter()
                    .map(|c| c.subcommands.len())
                    .sum::<usize>()
        );
    }
}
