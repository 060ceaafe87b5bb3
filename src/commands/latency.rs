//! SLOWLOG (GET, LEN, RESET, HELP) and LATENCY (LATEST, HISTORY, RESET, GRAPH, DOCTOR,
//! HISTOGRAM, HELP): the views of [`crate::state::latency`] and of the per-command latency
//! histograms ([`crate::state::stats::CommandStat::latency`]), with Redis 7.0's replies.
//!
//! Nothing here records anything: [`call`](super::call()) feeds the slow log, the latency
//! monitor's `command` / `fast-command` events and the histograms after every command.

use std::fmt::Write as _;

use bytes::Bytes;
use hdrhistogram::Histogram;

use super::flags::*;
use super::{clients, container, errors, registry, spec, CommandSpec, Ctx, Group};
use crate::state::latency::{Analysis, Series};
use crate::state::stats::{latency_cdf, latency_percentile};
use crate::state::Shared;

#[rustfmt::skip]
pub static COMMANDS: &[CommandSpec] = &[
    container("slowlog", 0, Group::Server, SLOWLOG),
    container("latency", 0, Group::Server, LATENCY),
];

#[rustfmt::skip]
static SLOWLOG: &[CommandSpec] = &[
    //   name               arity flags                              group          keys     handler
    spec("slowlog|get",      -2,  ADMIN | LOADING | STALE,           Group::Server, 0, 0, 0, slowlog_get),
    spec("slowlog|help",      2,  LOADING | STALE,                   Group::Server, 0, 0, 0, slowlog_help),
    spec("slowlog|len",       2,  ADMIN | LOADING | STALE,           Group::Server, 0, 0, 0, slowlog_len),
    spec("slowlog|reset",     2,  ADMIN | LOADING | STALE,           Group::Server, 0, 0, 0, slowlog_reset),
];

#[rustfmt::skip]
static LATENCY: &[CommandSpec] = &[
    //   name               arity flags                                     group          keys     handler
    spec("latency|doctor",    2,  ADMIN | NOSCRIPT | LOADING | STALE,       Group::Server, 0, 0, 0, latency_doctor),
    spec("latency|graph",     3,  ADMIN | NOSCRIPT | LOADING | STALE,       Group::Server, 0, 0, 0, latency_graph),
    spec("latency|help",      2,  LOADING | STALE,                          Group::Server, 0, 0, 0, latency_help),
    spec("latency|histogram", -2, ADMIN | NOSCRIPT | LOADING | STALE,       Group::Server, 0, 0, 0, latency_histogram),
    spec("latency|history",   3,  ADMIN | NOSCRIPT | LOADING | STALE,       Group::Server, 0, 0, 0, latency_history),
    spec("latency|latest",    2,  ADMIN | NOSCRIPT | LOADING | STALE,       Group::Server, 0, 0, 0, latency_latest),
    spec("latency|reset",    -2,  ADMIN | NOSCRIPT | LOADING | STALE,       Group::Server, 0, 0, 0, latency_reset),
];

const COUNT_RANGE: &str = "ERR count should be greater than or equal to -1";
/// Entries SLOWLOG GET returns without a count.
const DEFAULT_COUNT: usize = 10;

// ---------------------------------------------------------------------------------------------
// SLOWLOG
// ---------------------------------------------------------------------------------------------

/// # Format
/// `SLOWLOG GET [count]` — the newest `count` entries (10 by default, -1 for all), newest
/// first: `[id, unix time, microseconds, [args...], "ip:port", client name]`.
fn slowlog_get(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    if argv.len() > 3 {
        return ctx.out.error(errors::subcommand_syntax(argv));
    }
    let count = match argv.get(2) {
        None => DEFAULT_COUNT,
        Some(a) => match crate::util::num::parse_i64(a) {
            Some(-1) => usize::MAX,
            Some(n) if n >= 0 => usize::try_from(n).unwrap_or(usize::MAX),
            _ => return ctx.out.error(COUNT_RANGE),
        },
    };
    let entries = ctx.srv.latency.slowlog.newest(count);
    let out = &mut *ctx.out;
    out.array(entries.len());
    for e in entries {
        out.array(6);
        out.int(e.id as i64);
        out.int(e.time as i64);
        out.int(e.duration as i64);
        out.array(e.argv.len());
        for a in &e.argv {
            out.bulk(a);
        }
        out.bulk(e.peer.as_bytes());
        out.bulk(&e.name);
    }
}

/// # Format
/// `SLOWLOG LEN` — the number of entries.
fn slowlog_len(ctx: &mut Ctx<'_>, _argv: &[Bytes]) {
    ctx.out.int(ctx.srv.latency.slowlog.len() as i64);
}

/// # Format
/// `SLOWLOG RESET` — empties the log.
fn slowlog_reset(ctx: &mut Ctx<'_>, _argv: &[Bytes]) {
    ctx.srv.latency.slowlog.reset();
    ctx.out.ok();
}

fn slowlog_help(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    clients::help_reply(
        ctx,
        &argv[0],
        &[
            "GET [<count>]",
            "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
            "    Entries are made of:",
            "    id, timestamp, time in microseconds, arguments array, client IP and port,",
            "    client name",
            "LEN",
            "    Return the length of the slowlog.",
            "RESET",
            "    Reset the slowlog.",
        ],
    );
}

// ---------------------------------------------------------------------------------------------
// LATENCY
// ---------------------------------------------------------------------------------------------

/// # Format
/// `LATENCY LATEST` — per event: `[name, time of the latest sample, its latency, all-time
/// max]`.
fn latency_latest(ctx: &mut Ctx<'_>, _argv: &[Bytes]) {
    let events = ctx.srv.latency.monitor.all();
    let out = &mut *ctx.out;
    out.array(events.len());
    for (name, series) in events {
        let (time, ms) = series.latest();
        out.array(4);
        out.bulk(name.as_bytes());
        out.int(time as i64);
        out.int(ms as i64);
        out.int(series.max as i64);
    }
}

/// # Format
/// `LATENCY HISTORY event` — the event's samples, oldest first: `[unix time, milliseconds]`
/// (empty for an unknown event).
fn latency_history(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    let samples = ctx
        .srv
        .latency
        .monitor
        .series(&argv[2])
        .map(|(_, s)| s.samples())
        .unwrap_or_default();
    let out = &mut *ctx.out;
    out.array(samples.len());
    for (time, ms) in samples {
        out.array(2);
        out.int(time as i64);
        out.int(ms as i64);
    }
}

/// # Format
/// `LATENCY RESET [event ...]` — drops the named events (all without a name); replies how
/// many were dropped.
fn latency_reset(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    let monitor = &ctx.srv.latency.monitor;
    let dropped = if argv.len() == 2 {
        monitor.reset(None)
    } else {
        argv[2..].iter().map(|e| monitor.reset(Some(e))).sum()
    };
    ctx.out.int(dropped as i64);
}

/// # Format
/// `LATENCY GRAPH event` — an ASCII graph of the event's samples (verbatim text).
fn latency_graph(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    let Some((name, series)) = ctx.srv.latency.monitor.series(&argv[2]) else {
        return ctx.out.error(errors::concat(&[
            b"ERR No samples available for event '",
            errors::c_str(&argv[2], usize::MAX),
            b"'",
        ]));
    };
    let now = crate::clock::now_ms() / 1000;
    ctx.out.verbatim(graph(&name, &series, now).as_bytes());
}

/// # Format
/// `LATENCY DOCTOR` — a human-readable analysis of the events (verbatim text).
fn latency_doctor(ctx: &mut Ctx<'_>, _argv: &[Bytes]) {
    let report = doctor(ctx.srv);
    ctx.out.verbatim(report.as_bytes());
}

/// # Format
/// `LATENCY HISTOGRAM [command ...]` — per command with latencies recorded (all, or those
/// named; a container names its subcommands; unknown names are skipped): a map of its full
/// name to `{calls, histogram_usec: {microseconds: cumulative calls}}`.
fn latency_histogram(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    let reg = registry();
    let mut wanted: Vec<usize> = Vec::new();
    if argv.len() == 2 {
        for (i, spec) in reg.commands.iter().enumerate() {
            wanted.push(i);
            let base = reg.sub_base(i);
            wanted.extend(base..base + spec.subcommands.len());
        }
    } else {
        for name in &argv[2..] {
            let Some(i) = reg.index_full(name) else {
                continue;
            };
            wanted.push(i);
            if i < reg.commands.len() {
                let base = reg.sub_base(i);
                wanted.extend(base..base + reg.all[i].subcommands.len());
            }
        }
    }
    let found: Vec<(usize, Histogram<u64>)> = wanted
        .into_iter()
        .filter_map(|i| merged_histogram(ctx.srv, i).map(|h| (i, h)))
        .collect();
    let out = &mut *ctx.out;
    out.map(found.len());
    for (i, h) in found {
        out.bulk(reg.all[i].name.as_bytes());
        out.map(2);
        out.bulk(b"calls");
        out.int(h.len() as i64);
        out.bulk(b"histogram_usec");
        let cdf = latency_cdf(&h);
        out.map(cdf.len());
        for (usec, calls) in cdf {
            out.int(usec as i64);
            out.int(calls as i64);
        }
    }
}

fn latency_help(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    clients::help_reply(
        ctx,
        &argv[0],
        &[
            "DOCTOR",
            "    Return a human readable latency analysis report.",
            "GRAPH <event>",
            "    Return an ASCII latency graph for the <event> class.",
            "HISTORY <event>",
            "    Return time-latency samples for the <event> class.",
            "LATEST",
            "    Return the latest latency samples for all events.",
            "RESET [<event> ...]",
            "    Reset latency data of one or more <event> classes.",
            "    (default: reset all data for all event classes)",
            "HISTOGRAM [COMMAND ...]",
            "    Return a cumulative distribution of latencies in the format of a histogram for the specified command names.",
            "    If no commands are specified then all histograms are replied.",
        ],
    );
}

/// Registry command `index`'s latency histogram over every loop (`None`: nothing recorded).
pub fn merged_histogram(srv: &Shared, index: usize) -> Option<Histogram<u64>> {
    let mut merged: Option<Histogram<u64>> = None;
    for stats in &srv.stats {
        let h = stats.commands[index].latency.lock();
        let Some(h) = h.as_deref() else { continue };
        match merged.as_mut() {
            None => merged = Some(h.clone()),
            // Same bounds everywhere: adding cannot fail.
            Some(m) => {
                let _ = m.add(h);
            }
        }
    }
    merged
}

/// INFO's `# Latencystats` lines (with `latency-tracking` on): per command with latencies
/// recorded, in the registry's order, `latency_percentiles_usec_<name>:p50=...,p99=...`.
pub fn info_lines(srv: &Shared, s: &mut String) {
    use crate::tunables::{render_percentile, LATENCY_TRACKING, LATENCY_TRACKING_INFO_PERCENTILES};
    if srv.tunables.int(LATENCY_TRACKING) == 0 {
        return;
    }
    let percentiles =
        crate::tunables::percentiles(&srv.tunables.get(LATENCY_TRACKING_INFO_PERCENTILES));
    let reg = registry();
    for (i, spec) in reg.commands.iter().enumerate() {
        let base = reg.sub_base(i);
        for index in std::iter::once(i).chain(base..base + spec.subcommands.len()) {
            let Some(h) = merged_histogram(srv, index) else {
                continue;
            };
            let _ = write!(s, "latency_percentiles_usec_{}:", reg.all[index].name);
            for (j, p) in percentiles.iter().enumerate() {
                if j > 0 {
                    s.push(',');
                }
                let usec = latency_percentile(&h, *p) as f64 / 1000.0;
                let _ = write!(s, "p{}={usec:.3}", render_percentile(*p));
            }
            s.push_str("\r\n");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// GRAPH
// ---------------------------------------------------------------------------------------------

/// Columns of a LATENCY GRAPH (Redis's LATENCY_GRAPH_COLS).
const GRAPH_COLS: usize = 80;
/// Rows of the graph itself, above the labels.
const GRAPH_ROWS: usize = 4;

/// Redis's `latencyCommandGenSparkeline`: a header, a rule, then the samples as a filled
/// sparkline labelled with how long ago each was taken.
pub fn graph(event: &str, series: &Series, now_secs: u64) -> String {
    let samples: Vec<(f64, String)> = series
        .samples()
        .into_iter()
        .map(|(time, ms)| {
            let elapsed = now_secs.saturating_sub(time);
            let label = if elapsed < 60 {
                format!("{elapsed}s")
            } else if elapsed < 3600 {
                format!("{}m", elapsed / 60)
            } else if elapsed < 3600 * 24 {
                format!("{}h", elapsed / 3600)
            } else {
                format!("{}d", elapsed / (3600 * 24))
            };
            (ms as f64, label)
        })
        .collect();
    let values = samples.iter().map(|s| s.0 as u64);
    let high = values.clone().max().unwrap_or(0);
    let low = values.min().unwrap_or(0);
    let mut out = format!(
        "{event} - high {high} ms, low {low} ms (all time high {} ms)\n",
        series.max
    );
    out.push_str(&"-".repeat(GRAPH_COLS));
    out.push('\n');
    sparkline(&mut out, &samples, GRAPH_COLS, GRAPH_ROWS);
    out
}

/// Redis's `sparklineRender` with SPARKLINE_FILL: `columns` samples per block of `rows`
/// rows (three levels per row: `_`, `o`, `#`, and `|` below the top), a blank line, then
/// each sample's label written downwards.
fn sparkline(out: &mut String, samples: &[(f64, String)], columns: usize, rows: usize) {
    const CHARSET: &[u8] = b"_o#";
    let Some(first) = samples.first() else {
        return;
    };
    // As Redis's sequence: a new minimum does not update the maximum.
    let (mut min, mut max) = (first.0, first.0);
    for (v, _) in &samples[1..] {
        if *v < min {
            min = *v;
        } else if *v > max {
            max = *v;
        }
    }
    let relmax = if max - min == 0.0 { 1.0 } else { max - min };
    let steps = (CHARSET.len() * rows) as i64;
    for (block, chunk) in samples.chunks(columns).enumerate() {
        if block != 0 {
            out.push('\n');
        }
        let mut row = 0usize;
        loop {
            let mut more = false;
            let mut chars = vec![b' '; chunk.len()];
            for (j, (value, label)) in chunk.iter().enumerate() {
                if row < rows {
                    let relval = value - min;
                    // C: `(int)(relval*steps)/relmax`, truncated again into an int.
                    let step = (((relval * steps as f64) as i64) as f64 / relmax) as i64;
                    let step = step.clamp(0, steps - 1);
                    let charidx = step - ((rows - row - 1) * CHARSET.len()) as i64;
                    more = true;
                    if (0..CHARSET.len() as i64).contains(&charidx) {
                        chars[j] = CHARSET[charidx as usize];
                    } else if charidx >= CHARSET.len() as i64 {
                        chars[j] = b'|';
                    }
                } else {
                    // One blank line between the graph and the labels.
                    if row - rows < 1 {
                        more = true;
                        break;
                    }
                    let at = row - rows - 1;
                    if let Some(&c) = label.as_bytes().get(at) {
                        more = true;
                        chars[j] = c;
                    }
                }
            }
            if !more {
                break;
            }
            row += 1;
            out.push_str(&String::from_utf8_lossy(&chars));
            out.push('\n');
        }
    }
}

// ---------------------------------------------------------------------------------------------
// DOCTOR
// ---------------------------------------------------------------------------------------------

/// The advice LATENCY DOCTOR may give, in its order.
#[derive(Default)]
struct Advice {
    slowlog_enabled: bool,
    slowlog_tuning: bool,
    slowlog_inspect: bool,
    scheduler: bool,
    local_disk: bool,
    ssd: bool,
    data_writeback: bool,
    disk_contention: bool,
    no_appendfsync: bool,
    relax_fsync_policy: bool,
    write_load_info: bool,
    hz: bool,
    large_objects: bool,
    mass_eviction: bool,
    disable_thp: bool,
}

/// Redis's `createLatencyReport`.
pub fn doctor(srv: &Shared) -> String {
    use crate::tunables::{HZ, LATENCY_MONITOR_THRESHOLD, SLOWLOG_LOG_SLOWER_THAN};
    let events = srv.latency.monitor.all();
    let threshold = srv.tunables.int(LATENCY_MONITOR_THRESHOLD);
    if events.is_empty() && threshold == 0 {
        return "I'm sorry, Dave, I can't do that. Latency monitoring is disabled in this Redis instance. You may use \"CONFIG SET latency-monitor-threshold <milliseconds>.\" in order to enable it. If we weren't in a deep space mission I'd suggest to take a look at https://redis.io/topics/latency-monitor.\n".into();
    }
    let now = crate::clock::now_ms() / 1000;
    let slower = srv.tunables.int(SLOWLOG_LOG_SLOWER_THAN);
    let mut report = String::new();
    let mut advice = Advice::default();
    let mut advices = 0;
    for (n, (event, series)) in events.iter().enumerate() {
        if n == 0 {
            report.push_str("Dave, I have observed latency spikes in this Redis instance. You don't mind talking about it, do you Dave?\n\n");
        }
        let a: Analysis = series.analyze(now);
        let _ = write!(
            report,
            "{}. {}: {} latency spikes (average {}ms, mean deviation {}ms, period {:.2} sec). Worst all time event {}ms.",
            n + 1,
            event,
            a.samples,
            a.avg,
            a.mad,
            a.period as f64 / a.samples.max(1) as f64,
            series.max
        );
        match event.to_ascii_lowercase().as_str() {
            "command" => {
                if slower < 0 {
                    advice.slowlog_enabled = true;
                    advices += 1;
                } else if slower / 1000 > threshold {
                    advice.slowlog_tuning = true;
                    advices += 1;
                }
                advice.slowlog_inspect = true;
                advice.large_objects = true;
                advices += 2;
            }
            "fast-command" => {
                advice.scheduler = true;
                advices += 1;
            }
            "aof-write-pending-fsync" => {
                advice.local_disk = true;
                advice.disk_contention = true;
                advice.ssd = true;
                advice.data_writeback = true;
                advices += 4;
            }
            "aof-write-active-child" => {
                advice.no_appendfsync = true;
                advice.data_writeback = true;
                advice.ssd = true;
                advices += 3;
            }
            "aof-write-alone" => {
                advice.local_disk = true;
                advice.data_writeback = true;
                advice.ssd = true;
                advices += 3;
            }
            "aof-fsync-always" => {
                advice.relax_fsync_policy = true;
                advices += 1;
            }
            "aof-fstat" | "rdb-unlink-temp-file" => {
                advice.disk_contention = true;
                advice.local_disk = true;
                advices += 2;
            }
            "aof-rewrite-diff-write" | "aof-rename" => {
                advice.write_load_info = true;
                advice.data_writeback = true;
                advice.ssd = true;
                advice.local_disk = true;
                advices += 4;
            }
            "expire-cycle" => {
                advice.hz = true;
                advice.large_objects = true;
                advices += 2;
            }
            "eviction-del" => {
                advice.large_objects = true;
                advices += 1;
            }
            "eviction-cycle" => {
                advice.mass_eviction = true;
                advices += 1;
            }
            _ => {}
        }
        report.push('\n');
    }
    if anon_huge_pages() > 0 {
        advice.disable_thp = true;
        advices += 1;
    }
    if events.is_empty() && advices == 0 {
        report.push_str("Dave, no latency spike was observed during the lifetime of this Redis instance, not in the slightest bit. I honestly think you ought to sit down calmly, take a stress pill, and think things over.\n");
        return report;
    }
    if !events.is_empty() && advices == 0 {
        report.push_str("\nWhile there are latency events logged, I'm not able to suggest any easy fix. Please use the Redis community to get some help, providing this report in your help request.\n");
        return report;
    }
    report.push_str("\nI have a few advices for you:\n\n");
    let threshold_us = threshold.max(0) as u64 * 1000;
    if advice.slowlog_enabled {
        let _ = writeln!(report, "- There are latency issues with potentially slow commands you are using. Try to enable the Slow Log Redis feature using the command 'CONFIG SET slowlog-log-slower-than {threshold_us}'. If the Slow log is disabled Redis is not able to log slow commands execution for you.");
    }
    if advice.slowlog_tuning {
        let _ = writeln!(report, "- Your current Slow Log configuration only logs events that are slower than your configured latency monitor threshold. Please use 'CONFIG SET slowlog-log-slower-than {threshold_us}'.");
    }
    if advice.slowlog_inspect {
        report.push_str("- Check your Slow Log to understand what are the commands you are running which are too slow to execute. Please check https://redis.io/commands/slowlog for more information.\n");
    }
    if advice.scheduler {
        report.push_str("- The system is slow to execute Redis code paths not containing system calls. This usually means the system does not provide Redis CPU time to run for long periods. You should try to:\n  1) Lower the system load.\n  2) Use a computer / VM just for Redis if you are running other software in the same system.\n  3) Check if you have a \"noisy neighbour\" problem.\n  4) Check with 'redis-cli --intrinsic-latency 100' what is the intrinsic latency in your system.\n  5) Check if the problem is allocator-related by recompiling Redis with MALLOC=libc, if you are using Jemalloc. However this may create fragmentation problems.\n");
    }
    if advice.local_disk {
        report.push_str("- It is strongly advised to use local disks for persistence, especially if you are using AOF. Remote disks provided by platform-as-a-service providers are known to be slow.\n");
    }
    if advice.ssd {
        report.push_str("- SSD disks are able to reduce fsync latency, and total time needed for snapshotting and AOF log rewriting (resulting in smaller memory usage). With extremely high write load SSD disks can be a good option. However Redis should perform reasonably with high load using normal disks. Use this advice as a last resort.\n");
    }
    if advice.data_writeback {
        report.push_str("- Mounting ext3/4 filesystems with data=writeback can provide a performance boost compared to data=ordered, however this mode of operation provides less guarantees, and sometimes it can happen that after a hard crash the AOF file will have a half-written command at the end and will require to be repaired before Redis restarts.\n");
    }
    if advice.disk_contention {
        report.push_str("- Try to lower the disk contention. This is often caused by other disk intensive processes running in the same computer (including other Redis instances).\n");
    }
    if advice.no_appendfsync {
        report.push_str("- Assuming from the point of view of data safety this is viable in your environment, you could try to enable the 'no-appendfsync-on-rewrite' option, so that fsync will not be performed while there is a child rewriting the AOF file or producing an RDB file (the moment where there is high disk contention).\n");
    }
    if advice.relax_fsync_policy && srv.aof.settings().fsync == crate::persist::aof::Fsync::Always {
        report.push_str("- Your fsync policy is set to 'always'. It is very hard to get good performances with such a setup, if possible try to relax the fsync policy to 'onesec'.\n");
    }
    if advice.write_load_info {
        report.push_str("- Latency during the AOF atomic rename operation or when the final difference is flushed to the AOF file at the end of the rewrite, sometimes is caused by very high write load, causing the AOF buffer to get very large. If possible try to send less commands to accomplish the same work, or use Lua scripts to group multiple operations into a single EVALSHA call.\n");
    }
    if advice.hz && srv.tunables.int(HZ) < 100 {
        report.push_str("- In order to make the Redis keys expiring process more incremental, try to set the 'hz' configuration parameter to 100 using 'CONFIG SET hz 100'.\n");
    }
    if advice.large_objects {
        report.push_str("- Deleting, expiring or evicting (because of maxmemory policy) large objects is a blocking operation. If you have very large objects that are often deleted, expired, or evicted, try to fragment those objects into multiple smaller objects.\n");
    }
    if advice.mass_eviction {
        report.push_str("- Sudden changes to the 'maxmemory' setting via 'CONFIG SET', or allocation of large objects via sets or sorted sets intersections, STORE option of SORT, Redis Cluster large keys migrations (RESTORE command), may create sudden memory pressure forcing the server to block trying to evict keys. \n");
    }
    if advice.disable_thp {
        report.push_str("- I detected a non zero amount of anonymous huge pages used by your process. This creates very serious latency events in different conditions, especially when Redis is persisting on disk. To disable THP support use the command 'echo never > /sys/kernel/mm/transparent_hugepage/enabled', make sure to also add it into /etc/rc.local so that the command will be executed again after a reboot. Note that even if you have already disabled THP, you still need to restart the Redis process to get rid of the huge pages already created.\n");
    }
    report
}

/// Bytes of anonymous huge pages this process uses (Redis's `THPGetAnonHugePagesSize`), 0
/// when unknown.
fn anon_huge_pages() -> u64 {
    let Ok(smaps) = std::fs::read_to_string("/proc/self/smaps_rollup") else {
        return 0;
    };
    smaps
        .lines()
        .filter_map(|l| l.strip_prefix("AnonHugePages:"))
        .filter_map(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .sum::<u64>()
        * 1024
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::session::Session;

    fn run(s: &mut Session, args: &[&str]) -> String {
        let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        s.run_at(1_000, false, &args)
    }

    #[test]
    fn the_graph_is_drawn_as_redis_draws_it() {
        let m = crate::state::latency::LatencyMonitor::default();
        for (t, ms) in [(100, 10), (101, 40), (102, 25), (103, 1)] {
            m.add_sample_at("command", ms, t);
        }
        let (_, series) = m.series(b"command").unwrap();
        let g = graph("command", &series, 103);
        let rows = [" #  ", " |o ", " || ", "#||_", "    ", "3210", "ssss"];
        let expected = format!(
            "command - high 40 ms, low 1 ms (all time high 40 ms)\n{}\n{}\n",
            "-".repeat(80),
            rows.join("\n")
        );
        assert_eq!(g, expected);
    }

    #[test]
    fn slowlog_get_validates_its_count() {
        let mut s = Session::new();
        assert_eq!(
            run(&mut s, &["SLOWLOG", "GET", "-2"]),
            format!("-{COUNT_RANGE}\r\n")
        );
        assert_eq!(
            run(&mut s, &["SLOWLOG", "GET", "x"]),
            format!("-{COUNT_RANGE}\r\n")
        );
        assert_eq!(
            run(&mut s, &["SLOWLOG", "GET", "1", "2"]),
            "-ERR unknown subcommand or wrong number of arguments for 'GET'. Try SLOWLOG HELP.\r\n"
        );
        assert_eq!(run(&mut s, &["SLOWLOG", "GET", "-1"]), "*0\r\n");
    }

    #[test]
    fn commands_over_the_threshold_are_logged_trimmed_and_redacted() {
        let mut s = Session::new();
        run(&mut s, &["CONFIG", "SET", "slowlog-log-slower-than", "0"]);
        run(&mut s, &["SLOWLOG", "RESET"]);
        run(&mut s, &["CONFIG", "SET", "masterauth", "secret"]);
        run(&mut s, &["MULTI"]);
        run(&mut s, &["SET", "k", "v"]);
        run(&mut s, &["EXEC"]);
        let entries = s.srv.latency.slowlog.newest(10);
        let argv: Vec<Vec<String>> = entries
            .iter()
            .map(|e| {
                e.argv
                    .iter()
                    .map(|a| String::from_utf8_lossy(a).into_owned())
                    .collect()
            })
            .collect();
        // EXEC is not logged, the commands it ran are; MULTI is.
        assert_eq!(
            argv,
            [
                vec!["SET", "k", "v"],
                vec!["MULTI"],
                vec!["CONFIG", "SET", "masterauth", "(redacted)"],
                vec!["SLOWLOG", "RESET"],
            ]
        );
        run(&mut s, &["CONFIG", "SET", "slowlog-log-slower-than", "-1"]);
        run(&mut s, &["SLOWLOG", "RESET"]);
        run(&mut s, &["PING"]);
        assert_eq!(run(&mut s, &["SLOWLOG", "LEN"]), ":0\r\n");
    }

    #[test]
    fn histograms_follow_calls_and_resetstat() {
        let mut s = Session::new();
        run(&mut s, &["CONFIG", "RESETSTAT"]);
        run(&mut s, &["SET", "a", "b"]);
        run(&mut s, &["CLIENT", "ID"]);
        let reply = run(&mut s, &["LATENCY", "HISTOGRAM", "set", "client", "nosuch"]);
        assert!(
            reply.starts_with(
                "*4\r\n$3\r\nset\r\n*4\r\n$5\r\ncalls\r\n:1\r\n$14\r\nhistogram_usec\r\n"
            ),
            "{reply}"
        );
        assert!(reply.contains("$9\r\nclient|id\r\n"), "{reply}");
        run(&mut s, &["CONFIG", "SET", "latency-tracking", "no"]);
        run(&mut s, &["CONFIG", "RESETSTAT"]);
        run(&mut s, &["SET", "a", "b"]);
        assert_eq!(run(&mut s, &["LATENCY", "HISTOGRAM"]), "*0\r\n");
        let mut info = String::new();
        info_lines(&s.srv, &mut info);
        assert!(info.is_empty());
        run(&mut s, &["CONFIG", "SET", "latency-tracking", "yes"]);
        run(
            &mut s,
            &[
                "CONFIG",
                "SET",
                "latency-tracking-info-percentiles",
                "50 99.90 0",
            ],
        );
        run(&mut s, &["GET", "a"]);
        info_lines(&s.srv, &mut info);
        assert!(
            info.starts_with("latency_percentiles_usec_get:p50=")
                && info.contains(",p99.9=")
                && info.contains(",p0="),
            "{info}"
        );
    }
}
