//! MEMORY (USAGE, STATS, DOCTOR, PURGE, MALLOC-STATS, HELP) and the memory [`Overview`] that
//! INFO's memory section shares with MEMORY STATS and DOCTOR.
//!
//! Figures come from jemalloc ([`crate::memory::alloc`]); the overhead is what we can
//! compute honestly — the start-up allocation plus the key tables (slots and the nodes' fixed
//! part, [`crate::store::DbRef::overhead`]); client buffers are not tracked and count as
//! dataset. MEMORY USAGE is the per-key estimate of [`crate::store::usage`].

use std::sync::atomic::Ordering;

use bytes::Bytes;

use super::flags::*;
use super::{args, clients, container, errors, spec, CommandSpec, Ctx, Group};
use crate::memory::alloc;
use crate::state::Shared;
use crate::store::StoreRef;

#[rustfmt::skip]
pub static COMMANDS: &[CommandSpec] = &[
    container("memory", 0, Group::Server, MEMORY),
];

#[rustfmt::skip]
static MEMORY: &[CommandSpec] = &[
    //   name                  arity flags             group          keys     handler
    spec("memory|doctor",        2,  0,                Group::Server, 0, 0, 0, memory_doctor),
    spec("memory|help",          2,  LOADING | STALE,  Group::Server, 0, 0, 0, memory_help),
    spec("memory|malloc-stats",  2,  0,                Group::Server, 0, 0, 0, memory_malloc_stats),
    spec("memory|purge",         2,  0,                Group::Server, 0, 0, 0, memory_purge),
    spec("memory|stats",         2,  0,                Group::Server, 0, 0, 0, memory_stats),
    spec("memory|usage",        -3,  READONLY,         Group::Server, 2, 2, 1, memory_usage),
];

/// Redis's OBJ_COMPUTE_SIZE_DEF_SAMPLES.
const DEFAULT_SAMPLES: usize = 5;

/// The process's memory as INFO and MEMORY STATS report it.
#[derive(Debug, Clone, Default)]
pub struct Overview {
    pub used: u64,
    pub peak: u64,
    pub startup: u64,
    pub rss: u64,
    pub alloc: alloc::AllocStats,
    /// Per database with keys: (index, keys, table overhead bytes).
    pub dbs: Vec<(usize, usize, u64)>,
    pub keys: u64,
    pub overhead: u64,
    pub dataset: u64,
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

impl Overview {
    /// Measures now (one allocator snapshot; a read-locked walk of every shard's size).
    pub fn measure(srv: &Shared, store: StoreRef<'_>) -> Overview {
        let snap = alloc::snapshot();
        let used = snap.allocated;
        let peak = srv
            .peak_memory
            .fetch_max(alloc::peak().max(used), Ordering::Relaxed)
            .max(used);
        let startup = alloc::startup();
        let mut dbs = Vec::new();
        let (mut keys, mut tables) = (0u64, 0u64);
        for i in 0..store.len() {
            let (k, bytes) = store.db(i).overhead();
            if k > 0 {
                dbs.push((i, k, bytes as u64));
            }
            keys += k as u64;
            tables += bytes as u64;
        }
        let overhead = startup + tables;
        Overview {
            used,
            peak,
            startup,
            rss: super::info::rss_bytes(),
            alloc: snap,
            dbs,
            keys,
            overhead,
            dataset: used.saturating_sub(overhead),
        }
    }

    pub fn peak_perc(&self) -> f64 {
        ratio(self.used, self.peak) * 100.0
    }

    /// Redis's `dataset_perc`: the dataset's share of what start-up did not allocate.
    pub fn dataset_perc(&self) -> f64 {
        ratio(self.dataset, self.used.saturating_sub(self.startup)) * 100.0
    }

    pub fn allocator_frag(&self) -> (f64, i64) {
        let a = &self.alloc;
        (
            ratio(a.active, a.allocated),
            a.active as i64 - a.allocated as i64,
        )
    }

    pub fn allocator_rss(&self) -> (f64, i64) {
        let a = &self.alloc;
        (
            ratio(a.resident, a.active),
            a.resident as i64 - a.active as i64,
        )
    }

    pub fn rss_overhead(&self) -> (f64, i64) {
        (
            ratio(self.rss, self.alloc.resident),
            self.rss as i64 - self.alloc.resident as i64,
        )
    }

    /// `mem_fragmentation_ratio`: RSS over used memory.
    pub fn fragmentation(&self) -> (f64, i64) {
        (
            ratio(self.rss, self.used),
            self.rss as i64 - self.used as i64,
        )
    }

    pub fn bytes_per_key(&self) -> u64 {
        self.used
            .saturating_sub(self.startup)
            .checked_div(self.keys)
            .unwrap_or(0)
    }
}

/// # Format
/// `MEMORY USAGE key [SAMPLES count]` — the estimated bytes of the key and its value; nested
/// values sampled up to `count` elements (default 5, 0: all). Nil for a missing key.
fn memory_usage(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    let mut samples = DEFAULT_SAMPLES;
    let mut i = 3;
    while i < argv.len() {
        if args::is(&argv[i], "samples") && i + 1 < argv.len() {
            let Some(n) = crate::util::num::parse_i64(&argv[i + 1]) else {
                return ctx.out.error(errors::NOT_INTEGER);
            };
            if n < 0 {
                return ctx.out.error(errors::SYNTAX);
            }
            samples = if n == 0 { 0 } else { n as usize };
            i += 2;
        } else {
            return ctx.out.error(errors::SYNTAX);
        }
    }
    let key = &argv[2][..];
    let usage = ctx.db().peek(key, ctx.now, |e| {
        crate::store::usage::key_usage(key, e, samples)
    });
    match usage {
        Some(n) => ctx.out.int(n as i64),
        None => ctx.out.null(),
    }
}

/// # Format
/// `MEMORY STATS` — Redis 7.0's map, field for field.
fn memory_stats(ctx: &mut Ctx<'_>, _argv: &[Bytes]) {
    let o = Overview::measure(ctx.srv, ctx.store());
    let out = &mut *ctx.out;
    out.map(27 + o.dbs.len());
    let int = |out: &mut crate::resp::reply::Reply, name: &str, v: i64| {
        out.bulk(name.as_bytes());
        out.int(v);
    };
    let dbl = |out: &mut crate::resp::reply::Reply, name: &str, v: f64| {
        out.bulk(name.as_bytes());
        out.double(v);
    };
    int(out, "peak.allocated", o.peak as i64);
    int(out, "total.allocated", o.used as i64);
    int(out, "startup.allocated", o.startup as i64);
    int(out, "replication.backlog", 0);
    int(out, "clients.slaves", 0);
    int(out, "clients.normal", 0);
    int(out, "cluster.links", 0);
    int(out, "aof.buffer", 0);
    int(out, "lua.caches", 0);
    int(out, "functions.caches", 0);
    for &(db, _, bytes) in &o.dbs {
        out.bulk(format!("db.{db}").as_bytes());
        out.map(3);
        int(out, "overhead.hashtable.main", bytes as i64);
        int(out, "overhead.hashtable.expires", 0);
        int(out, "overhead.hashtable.slot-to-keys", 0);
    }
    int(out, "overhead.total", o.overhead as i64);
    int(out, "keys.count", o.keys as i64);
    int(out, "keys.bytes-per-key", o.bytes_per_key() as i64);
    int(out, "dataset.bytes", o.dataset as i64);
    dbl(out, "dataset.percentage", o.dataset_perc());
    dbl(out, "peak.percentage", o.peak_perc());
    int(out, "allocator.allocated", o.alloc.allocated as i64);
    int(out, "allocator.active", o.alloc.active as i64);
    int(out, "allocator.resident", o.alloc.resident as i64);
    let (r, b) = o.allocator_frag();
    dbl(out, "allocator-fragmentation.ratio", r);
    int(out, "allocator-fragmentation.bytes", b);
    let (r, b) = o.allocator_rss();
    dbl(out, "allocator-rss.ratio", r);
    int(out, "allocator-rss.bytes", b);
    let (r, b) = o.rss_overhead();
    dbl(out, "rss-overhead.ratio", r);
    int(out, "rss-overhead.bytes", b);
    let (r, b) = o.fragmentation();
    dbl(out, "fragmentation", r);
    int(out, "fragmentation.bytes", b);
}

/// # Format
/// `MEMORY DOCTOR` — Redis's report, from the same thresholds (the replica, client-buffer and
/// script checks have nothing to find here).
fn memory_doctor(ctx: &mut Ctx<'_>, _argv: &[Bytes]) {
    let o = Overview::measure(ctx.srv, ctx.store());
    ctx.out.verbatim(doctor_report(&o).as_bytes());
}

fn doctor_report(o: &Overview) -> String {
    let mut issues: Vec<&str> = Vec::new();
    let empty = o.used < 5 << 20;
    if !empty {
        let (total_frag, total_frag_bytes) = o.fragmentation();
        let (alloc_frag, alloc_frag_bytes) = o.allocator_frag();
        let (alloc_rss, alloc_rss_bytes) = o.allocator_rss();
        let (proc_rss, proc_rss_bytes) = o.rss_overhead();
        if ratio(o.peak, o.used) > 1.5 {
            issues.push(" * Peak memory: In the past this instance used more than 150% the memory that is currently using. The allocator is normally not able to release memory after a peak, so you can expect to see a big fragmentation ratio, however this is actually harmless and is only due to the memory peak, and if the Redis instance Resident Set Size (RSS) is currently bigger than expected, the memory will be used as soon as you fill the Redis instance with more data. If the memory peak was only occasional and you want to try to reclaim memory, please try the MEMORY PURGE command, otherwise the only other option is to shutdown and restart the instance.\n\n");
        }
        if total_frag > 1.4 && total_frag_bytes > 10 << 20 {
            issues.push(" * High total RSS: This instance has a memory fragmentation and RSS overhead greater than 1.4 (this means that the Resident Set Size of the Redis process is much larger than the sum of the logical allocations Redis performed). This problem is usually due either to a large peak memory (check if there is a peak memory entry above in the report) or may result from a workload that causes the allocator to fragment memory a lot. If the problem is a large peak memory, then there is no issue. Otherwise, make sure you are using the Jemalloc allocator and not the default libc malloc. Note: The currently used allocator is \"jemalloc-5.3.0\".\n\n");
        }
        if alloc_frag > 1.1 && alloc_frag_bytes > 10 << 20 {
            issues.push(" * High allocator fragmentation: This instance has an allocator external fragmentation greater than 1.1. This problem is usually due either to a large peak memory (check if there is a peak memory entry above in the report) or may result from a workload that causes the allocator to fragment memory a lot. You can try enabling 'activedefrag' config option.\n\n");
        }
        if alloc_rss > 1.1 && alloc_rss_bytes > 10 << 20 {
            issues.push(" * High allocator RSS overhead: This instance has an RSS memory overhead is greater than 1.1 (this means that the Resident Set Size of the allocator is much larger than the sum what the allocator actually holds). This problem is usually due to a large peak memory (check if there is a peak memory entry above in the report), you can try the MEMORY PURGE command to reclaim it.\n\n");
        }
        if proc_rss > 1.1 && proc_rss_bytes > 10 << 20 {
            issues.push(" * High process RSS overhead: This instance has non-allocator RSS memory overhead is greater than 1.1 (this means that the Resident Set Size of the Redis process is much larger than the RSS the allocator holds). This problem may be due to Lua scripts or Modules.\n\n");
        }
    }
    if empty {
        "Hi Sam, this instance is empty or is using very little memory, my issues detector can't be used in these conditions. Please, leave for your mission on Earth and fill it with some data. The new Sam and I will be back to our programming as soon as I finished rebooting.\n".to_string()
    } else if issues.is_empty() {
        "Hi Sam, I can't find any memory issue in your instance. I can only account for what occurs on this base.\n".to_string()
    } else {
        let mut s =
            "Sam, I detected a few issues in this Redis instance memory implants:\n\n".to_string();
        for i in issues {
            s.push_str(i);
        }
        s.push_str("I'm here to keep you safe, Sam. I want to help you.\n");
        s
    }
}

/// # Format
/// `MEMORY PURGE` — returns the allocator's dirty pages to the OS.
fn memory_purge(ctx: &mut Ctx<'_>, _argv: &[Bytes]) {
    match alloc::purge() {
        Ok(()) => ctx.out.ok(),
        Err(_) => ctx.out.error("ERR Error purging dirty pages"),
    }
}

/// # Format
/// `MEMORY MALLOC-STATS` — jemalloc's statistics report (verbatim text).
fn memory_malloc_stats(ctx: &mut Ctx<'_>, _argv: &[Bytes]) {
    ctx.out.verbatim(alloc::report().as_bytes());
}

/// # Format
/// `MEMORY HELP`
fn memory_help(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    clients::help_reply(
        ctx,
        &argv[0],
        &[
            "DOCTOR",
            "    Return memory problems reports.",
            "MALLOC-STATS",
            "    Return internal statistics report from the memory allocator.",
            "PURGE",
            "    Attempt to purge dirty pages for reclamation by the allocator.",
            "STATS",
            "    Return information about the memory usage of the server.",
            "USAGE <key> [SAMPLES <count>]",
            "    Return memory in bytes used by <key> and its value. Nested values are",
            "    sampled up to <count> times (default: 5, 0 means sample all).",
        ],
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doctor_texts() {
        let small = Overview::default();
        assert!(doctor_report(&small).starts_with("Hi Sam, this instance is empty"));
        let fine = Overview {
            used: 100 << 20,
            peak: 100 << 20,
            rss: 100 << 20,
            alloc: alloc::AllocStats {
                allocated: 100 << 20,
                active: 100 << 20,
                resident: 100 << 20,
                ..Default::default()
            },
            ..Default::default()
        };
        assert!(doctor_report(&fine).starts_with("Hi Sam, I can't find any memory issue"));
        let peaky = Overview {
            peak: 400 << 20,
            ..fine
        };
        assert!(doctor_report(&peaky).contains(" * Peak memory:"));
    }
}
