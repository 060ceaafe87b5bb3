//! Tunables: the CONFIG parameters that are validated, stored and read by name, without a
//! dedicated field anywhere else — Redis's `createBoolConfig`/`createIntConfig`/... entries
//! whose only job in ferrokv is to hold a value (parameters of subsystems that read them now:
//! `hz`, `min-replicas-to-write`, `oom-score-adj`; and parameters of subsystems that come with
//! later work — replication, cluster, streams, scripting — which Redis also accepts and
//! stores when the subsystem is idle).
//!
//! # Layout
//! [`TABLE`] is the one list: name, alias, kind (Redis's config type and bounds), default.
//! [`parse`] validates a value with Redis's error texts and returns its canonical rendering
//! (what CONFIG GET prints); [`Tunables`] holds the live values. Numeric and boolean values are
//! mirrored in atomics so hot paths ([`Tunables::int`] with an index constant such as
//! [`MIN_REPLICAS_TO_WRITE`]) read them with one relaxed load.
//!
//! # Invariants
//! - A value in [`Tunables`] has passed [`parse`] (start-up values from the config file too).
//! - Writers hold the strings' lock while they update the mirror, so a reader of both sees a
//!   value no older than the string it read (CONFIG SET of several values is applied under
//!   one lock: all or nothing, as Redis 7).

use std::sync::atomic::{AtomicI64, Ordering};

use parking_lot::RwLock;

/// A parameter's type and bounds (Redis's config types).
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    Bool,
    /// An integer in `[min, max]`.
    Int(i64, i64),
    /// A memory value (`1mb`, `512k`, ...) in `[min, max]` bytes.
    Memory(i64, i64),
    /// A memory value or a percentage (`10%`, stored negated as Redis does); percentages up
    /// to 100.
    MemoryOrPercent,
    /// One of these words (case-insensitive).
    Enum(&'static [&'static str]),
    /// Any string.
    Str,
    /// Exactly this many integers in `[min, max]`, space separated (`oom-score-adj-values`).
    Ints(usize, i64, i64),
    /// Percentiles in `[0, 100]`, space separated, possibly none
    /// (`latency-tracking-info-percentiles`).
    Percentiles,
}

/// One stored parameter.
pub struct Tunable {
    pub name: &'static str,
    /// Redis's old name for it (`slave-read-only`), readable and settable as well.
    pub alias: Option<&'static str>,
    pub kind: Kind,
    /// Canonical rendering of the default.
    pub default: &'static str,
    /// Settable with CONFIG SET (otherwise only in the config file).
    pub mutable: bool,
    /// Redis's `HIDDEN_CONFIG`: CONFIG GET shows it only when asked by its exact name.
    pub hidden: bool,
}

const fn t(name: &'static str, kind: Kind, default: &'static str) -> Tunable {
    Tunable {
        name,
        alias: None,
        kind,
        default,
        mutable: true,
        hidden: false,
    }
}

const fn aliased(
    name: &'static str,
    alias: &'static str,
    kind: Kind,
    default: &'static str,
) -> Tunable {
    Tunable {
        name,
        alias: Some(alias),
        kind,
        default,
        mutable: true,
        hidden: false,
    }
}

const fn hidden(t: Tunable) -> Tunable {
    Tunable { hidden: true, ..t }
}

const INT_MAX: i64 = i32::MAX as i64;
const LONG_MAX: i64 = i64::MAX;

/// Every stored parameter, with Redis 7.0's types, bounds and defaults (config.c).
#[rustfmt::skip]
pub const TABLE: &[Tunable] = &[
    // Read by the expiry thread: cycles per second (Redis clamps to 1..500).
    t("hz", Kind::Int(0, INT_MAX), "10"),
    t("dynamic-hz", Kind::Bool, "yes"),
    // Read at dispatch: writes are refused with -NOREPLICAS while fewer good replicas than
    // this are connected (always 0 replicas so far).
    aliased("min-replicas-to-write", "min-slaves-to-write", Kind::Int(0, INT_MAX), "0"),
    aliased("min-replicas-max-lag", "min-slaves-max-lag", Kind::Int(0, INT_MAX), "10"),
    // Applied to /proc/self/oom_score_adj.
    t("oom-score-adj", Kind::Enum(&["no", "yes", "relative", "absolute"]), "no"),
    t("oom-score-adj-values", Kind::Ints(3, -2000, 2000), "0 200 800"),
    // Active defragmentation: `activedefrag yes` is refused (see `parse`); its knobs are stored.
    t("activedefrag", Kind::Bool, "no"),
    t("active-defrag-cycle-min", Kind::Int(1, 99), "1"),
    t("active-defrag-cycle-max", Kind::Int(1, 99), "25"),
    t("active-defrag-threshold-lower", Kind::Int(0, 1000), "10"),
    t("active-defrag-threshold-upper", Kind::Int(0, 1000), "100"),
    t("active-defrag-ignore-bytes", Kind::Memory(1, LONG_MAX), "104857600"),
    t("active-defrag-max-scan-fields", Kind::Int(1, LONG_MAX), "1000"),
    // Lazy freeing: ferrokv frees large values off the loops whatever these say.
    t("lazyfree-lazy-eviction", Kind::Bool, "no"),
    t("lazyfree-lazy-expire", Kind::Bool, "no"),
    t("lazyfree-lazy-server-del", Kind::Bool, "no"),
    t("lazyfree-lazy-user-del", Kind::Bool, "no"),
    t("lazyfree-lazy-user-flush", Kind::Bool, "no"),
    // Client eviction (not enforced yet: see the README's gaps).
    t("maxmemory-clients", Kind::MemoryOrPercent, "0"),
    // Scripting (the busy threshold applies once scripts exist).
    aliased("busy-reply-threshold", "lua-time-limit", Kind::Int(0, LONG_MAX), "5000"),
    // Streams.
    t("stream-node-max-bytes", Kind::Memory(0, LONG_MAX), "4096"),
    t("stream-node-max-entries", Kind::Int(0, LONG_MAX), "100"),
    // Replication (a master with no replicas: these wait for replicas to exist).
    t("masterauth", Kind::Str, ""),
    t("masteruser", Kind::Str, ""),
    t("bind-source-addr", Kind::Str, ""),
    t("repl-backlog-size", Kind::Memory(1, LONG_MAX), "1048576"),
    t("repl-backlog-ttl", Kind::Int(0, LONG_MAX), "3600"),
    t("repl-timeout", Kind::Int(1, INT_MAX), "60"),
    aliased("repl-ping-replica-period", "repl-ping-slave-period", Kind::Int(1, INT_MAX), "10"),
    t("repl-diskless-sync", Kind::Bool, "yes"),
    t("repl-diskless-sync-delay", Kind::Int(0, INT_MAX), "5"),
    t("repl-diskless-sync-max-replicas", Kind::Int(0, INT_MAX), "0"),
    t("repl-diskless-load", Kind::Enum(&["disabled", "on-empty-db", "swapdb"]), "disabled"),
    t("repl-disable-tcp-nodelay", Kind::Bool, "no"),
    aliased("replica-read-only", "slave-read-only", Kind::Bool, "yes"),
    aliased("replica-serve-stale-data", "slave-serve-stale-data", Kind::Bool, "yes"),
    aliased("replica-lazy-flush", "slave-lazy-flush", Kind::Bool, "no"),
    aliased("replica-priority", "slave-priority", Kind::Int(0, INT_MAX), "100"),
    aliased("replica-announce-ip", "slave-announce-ip", Kind::Str, ""),
    aliased("replica-announce-port", "slave-announce-port", Kind::Int(0, 65535), "0"),
    t("replica-announced", Kind::Bool, "yes"),
    // Cluster (cluster mode is off; Redis stores these then too).
    t("cluster-announce-ip", Kind::Str, ""),
    t("cluster-announce-port", Kind::Int(0, 65535), "0"),
    t("cluster-announce-bus-port", Kind::Int(0, 65535), "0"),
    t("cluster-announce-tls-port", Kind::Int(0, 65535), "0"),
    // CLIENT TRACKING: keys in the invalidation table past this are invalidated (0: no limit).
    t("tracking-table-max-keys", Kind::Int(0, LONG_MAX), "1000000"),
    // HyperLogLog: a sparse HLL growing past this many bytes becomes dense.
    t("hll-sparse-max-bytes", Kind::Memory(0, LONG_MAX), "3000"),
    // --- latency (slowlog, latency monitor, per-command latency tracking) ---
    // Read by call() after every command: one relaxed load each.
    t("slowlog-log-slower-than", Kind::Int(-1, LONG_MAX), "10000"),
    t("slowlog-max-len", Kind::Int(0, LONG_MAX), "128"),
    t("latency-monitor-threshold", Kind::Int(0, LONG_MAX), "0"),
    t("latency-tracking", Kind::Bool, "yes"),
    t("latency-tracking-info-percentiles", Kind::Percentiles, "50 99 99.9"),
    // Testing aids Redis hides from CONFIG GET patterns (HIDDEN_CONFIG); stored, without
    // effect here: no watchdog, a panic aborts, loading does not pause to serve events.
    hidden(t("watchdog-period", Kind::Int(0, INT_MAX), "0")),
    hidden(t("use-exit-on-panic", Kind::Bool, "no")),
    hidden(t("loading-process-events-interval-bytes", Kind::Int(1024, INT_MAX), "2097152")),
    // Start-up only, as Redis: ferrokv never forks into the background.
    Tunable { name: "daemonize", alias: None, kind: Kind::Enum(&["no"]), default: "no", mutable: false, hidden: false },
    // Protected actions (Redis's `protected_action_enum`): start-up only, as Redis.
    Tunable { name: "enable-protected-configs", alias: None, kind: Kind::Enum(PROTECTED_ACTION), default: "no", mutable: false, hidden: false },
    Tunable { name: "enable-debug-command", alias: None, kind: Kind::Enum(PROTECTED_ACTION), default: "no", mutable: false, hidden: false },
    Tunable { name: "enable-module-command", alias: None, kind: Kind::Enum(PROTECTED_ACTION), default: "no", mutable: false, hidden: false },
];

/// The values of the `enable-*` protected-action parameters, in their mirror's order:
/// [`Tunables::int`] reads 0 (no), 1 (yes) or 2 (local: loopback clients only).
const PROTECTED_ACTION: &[&str] = &["no", "yes", "local"];
/// A protected action allowed to every client.
pub const PROTECTED_YES: i64 = 1;
/// A protected action allowed to loopback clients.
pub const PROTECTED_LOCAL: i64 = 2;

pub const HZ: usize = index_of("hz");
pub const MAXMEMORY_CLIENTS: usize = index_of("maxmemory-clients");
pub const BUSY_REPLY_THRESHOLD: usize = index_of("busy-reply-threshold");
pub const MIN_REPLICAS_TO_WRITE: usize = index_of("min-replicas-to-write");
pub const MIN_REPLICAS_MAX_LAG: usize = index_of("min-replicas-max-lag");
pub const OOM_SCORE_ADJ: usize = index_of("oom-score-adj");
pub const OOM_SCORE_ADJ_VALUES: usize = index_of("oom-score-adj-values");
pub const TRACKING_TABLE_MAX_KEYS: usize = index_of("tracking-table-max-keys");
pub const HLL_SPARSE_MAX_BYTES: usize = index_of("hll-sparse-max-bytes");
pub const ENABLE_PROTECTED_CONFIGS: usize = index_of("enable-protected-configs");
pub const ENABLE_DEBUG_COMMAND: usize = index_of("enable-debug-command");
pub const SLOWLOG_LOG_SLOWER_THAN: usize = index_of("slowlog-log-slower-than");
pub const SLOWLOG_MAX_LEN: usize = index_of("slowlog-max-len");
pub const LATENCY_MONITOR_THRESHOLD: usize = index_of("latency-monitor-threshold");
pub const LATENCY_TRACKING: usize = index_of("latency-tracking");
pub const LATENCY_TRACKING_INFO_PERCENTILES: usize = index_of("latency-tracking-info-percentiles");

/// The index of the parameter whose name or alias is exactly `name`, at compile time (panics,
/// failing the build, for a name [`TABLE`] lacks).
pub const fn index_of(name: &str) -> usize {
    let mut i = 0;
    while i < TABLE.len() {
        if const_eq(TABLE[i].name, name) {
            return i;
        }
        if let Some(a) = TABLE[i].alias {
            if const_eq(a, name) {
                return i;
            }
        }
        i += 1;
    }
    panic!("no such tunable")
}

const fn const_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// The parameter called `name` (or its alias), case-insensitively.
pub fn find(name: &str) -> Option<usize> {
    TABLE.iter().position(|t| {
        t.name.eq_ignore_ascii_case(name) || t.alias.is_some_and(|a| a.eq_ignore_ascii_case(name))
    })
}

/// Validates `value` for parameter `index` with Redis's error texts (the part after
/// `CONFIG SET failed (possibly related to argument '...') - `); returns the canonical value.
pub fn parse(index: usize, value: &str) -> Result<String, String> {
    let t = &TABLE[index];
    match t.kind {
        Kind::Bool => match value.to_ascii_lowercase().as_str() {
            "yes" => {
                if t.name == "activedefrag" {
                    // As a Redis built without its patched jemalloc (Debian's): ferrokv's
                    // allocator has no defragmentation hints.
                    return Err("Active defragmentation cannot be enabled: it requires a Redis server compiled with a modified Jemalloc like the one shipped by default with the Redis source distribution".into());
                }
                Ok("yes".into())
            }
            "no" => Ok("no".into()),
            _ => Err("argument must be 'yes' or 'no'".into()),
        },
        Kind::Int(min, max) => {
            let n = crate::util::num::parse_i64(value.as_bytes())
                .ok_or_else(|| "argument couldn't be parsed into an integer".to_string())?;
            in_range(n, min, max).map(|n| n.to_string())
        }
        Kind::Memory(min, max) => {
            let n = memory(value).ok_or_else(|| "argument must be a memory value".to_string())?;
            in_range(n, min, max).map(|n| n.to_string())
        }
        Kind::MemoryOrPercent => {
            if let Some(p) = value.strip_suffix('%') {
                let n = crate::util::num::parse_i64(p.as_bytes())
                    .ok_or_else(|| "argument must be a memory or percent value".to_string())?;
                if n > 100 {
                    return Err("percentage argument must be less or equal to 100".into());
                }
                if n < 0 {
                    return Err("argument must be a memory or percent value".into());
                }
                return Ok(format!("{n}%"));
            }
            let n = memory(value)
                .ok_or_else(|| "argument must be a memory or percent value".to_string())?;
            in_range(n, 0, LONG_MAX).map(|n| n.to_string())
        }
        Kind::Enum(words) => words
            .iter()
            .find(|w| w.eq_ignore_ascii_case(value))
            .map(|w| w.to_string())
            .ok_or_else(|| {
                format!(
                    "argument(s) must be one of the following: {}",
                    words.join(", ")
                )
            }),
        Kind::Str => Ok(value.to_string()),
        Kind::Ints(count, min, max) => {
            let words: Vec<&str> = value.split_whitespace().collect();
            if words.len() != count {
                return Err("wrong number of arguments".into());
            }
            let mut out = Vec::with_capacity(count);
            for w in words {
                let n = crate::util::num::parse_i64(w.as_bytes())
                    .filter(|n| (min..=max).contains(n))
                    .ok_or_else(|| "Invalid oom-score-adj-values value".to_string())?;
                out.push(n.to_string());
            }
            Ok(out.join(" "))
        }
        Kind::Percentiles => {
            let mut out = Vec::new();
            for w in value.split_whitespace() {
                let p = crate::util::num::parse_f64(w.as_bytes())
                    .filter(|p| !p.is_nan())
                    .ok_or_else(|| {
                        "Invalid latency-tracking-info-percentiles parameters".to_string()
                    })?;
                if !(0.0..=100.0).contains(&p) {
                    return Err("latency-tracking-info-percentiles parameters should sit between [0.0,100.0]".into());
                }
                out.push(render_percentile(p));
            }
            Ok(out.join(" "))
        }
    }
}

/// A percentile as Redis prints it (`%f` without trailing zeros: `50`, `99.9`).
pub fn render_percentile(p: f64) -> String {
    let s = format!("{p:.6}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// The percentiles of a canonical `latency-tracking-info-percentiles` value.
pub fn percentiles(canonical: &str) -> Vec<f64> {
    canonical
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect()
}

fn in_range(n: i64, min: i64, max: i64) -> Result<i64, String> {
    if n < min || n > max {
        return Err(format!(
            "argument must be between {min} and {max} inclusive"
        ));
    }
    Ok(n)
}

/// A memory value in bytes (`1gb`, `512k`, ...), as redis.conf reads them.
fn memory(value: &str) -> Option<i64> {
    // Redis's `memtoull` refuses any sign: "-1" is not a memory value (not out of range).
    crate::config::parse_memory(value).and_then(|n| i64::try_from(n).ok())
}

/// The numeric mirror of a canonical value: integers as themselves, yes/no as 1/0, the
/// index of an enum word, a percentage negated (Redis's convention); strings 0.
fn numeric(kind: Kind, canonical: &str) -> i64 {
    match kind {
        Kind::Bool => i64::from(canonical == "yes"),
        Kind::Int(..) | Kind::Memory(..) => canonical.parse().unwrap_or(0),
        Kind::MemoryOrPercent => match canonical.strip_suffix('%') {
            Some(p) => -p.parse::<i64>().unwrap_or(0),
            None => canonical.parse().unwrap_or(0),
        },
        Kind::Enum(words) => words.iter().position(|w| *w == canonical).unwrap_or(0) as i64,
        Kind::Str | Kind::Ints(..) | Kind::Percentiles => 0,
    }
}

/// The live values of [`TABLE`].
pub struct Tunables {
    values: RwLock<Vec<String>>,
    numbers: Vec<AtomicI64>,
}

impl Tunables {
    /// Defaults, then `overrides` (index, canonical value) in order.
    pub fn new(overrides: &[(usize, String)]) -> Tunables {
        let mut values: Vec<String> = TABLE.iter().map(|t| t.default.to_string()).collect();
        for (i, v) in overrides {
            values[*i] = v.clone();
        }
        let numbers = TABLE
            .iter()
            .zip(&values)
            .map(|(t, v)| AtomicI64::new(numeric(t.kind, v)))
            .collect();
        Tunables {
            values: RwLock::new(values),
            numbers,
        }
    }

    /// The canonical value of parameter `index`.
    pub fn get(&self, index: usize) -> String {
        self.values.read()[index].clone()
    }

    /// The numeric mirror of parameter `index` (see [`numeric`]): one relaxed load.
    #[inline]
    pub fn int(&self, index: usize) -> i64 {
        self.numbers[index].load(Ordering::Relaxed)
    }

    /// Applies already validated values, all under one lock.
    pub fn set_all(&self, changes: &[(usize, String)]) {
        let mut values = self.values.write();
        for (i, v) in changes {
            self.numbers[*i].store(numeric(TABLE[*i].kind, v), Ordering::Relaxed);
            values[*i] = v.clone();
        }
    }
}

impl Default for Tunables {
    fn default() -> Self {
        Tunables::new(&[])
    }
}

/// Redis's `setOOMScoreAdj`: writes this process's `/proc/self/oom_score_adj` from the
/// `oom-score-adj` mode and the first (master) value of `oom-score-adj-values`. `base` is the
/// value the process started with; `no` puts it back (only if a mode had changed it). Errors
/// are returned as Redis words them for CONFIG SET.
pub fn apply_oom_score_adj(
    mode: &str,
    values: &str,
    base: i64,
    was_set: bool,
) -> Result<(), String> {
    let master: i64 = values
        .split_whitespace()
        .next()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let value = match mode {
        "no" if !was_set => return Ok(()),
        "no" => base,
        "absolute" => master,
        _ => base + master,
    }
    .clamp(-1000, 1000);
    std::fs::write("/proc/self/oom_score_adj", value.to_string())
        .map_err(|e| format!("Failed to set current oom_score_adj. Check server logs. ({e})"))
}

/// The process's `oom_score_adj` at start-up (0 where /proc is unavailable).
pub fn read_oom_score_adj() -> i64 {
    std::fs::read_to_string("/proc/self/oom_score_adj")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_constants_name_their_parameters() {
        assert_eq!(TABLE[HZ].name, "hz");
        assert_eq!(TABLE[MIN_REPLICAS_TO_WRITE].name, "min-replicas-to-write");
        assert_eq!(TABLE[index_of("slave-read-only")].name, "replica-read-only");
    }

    #[test]
    fn defaults_parse_to_themselves_and_names_are_unique() {
        for (i, t) in TABLE.iter().enumerate() {
            assert_eq!(parse(i, t.default).as_deref(), Ok(t.default), "{}", t.name);
            assert_eq!(find(t.name), Some(i));
            if let Some(a) = t.alias {
                assert_eq!(find(a), Some(i));
            }
        }
    }

    #[test]
    fn values_are_validated_with_redis_texts() {
        let hz = find("HZ").unwrap();
        assert_eq!(
            parse(hz, "x").unwrap_err(),
            "argument couldn't be parsed into an integer"
        );
        assert_eq!(
            parse(hz, "-1").unwrap_err(),
            "argument must be between 0 and 2147483647 inclusive"
        );
        let mmc = find("maxmemory-clients").unwrap();
        assert_eq!(parse(mmc, "10%").unwrap(), "10%");
        assert_eq!(parse(mmc, "1mb").unwrap(), "1048576");
        assert_eq!(
            parse(mmc, "200%").unwrap_err(),
            "percentage argument must be less or equal to 100"
        );
        let oom = find("oom-score-adj").unwrap();
        assert_eq!(
            parse(oom, "bad").unwrap_err(),
            "argument(s) must be one of the following: no, yes, relative, absolute"
        );
        let vals = find("oom-score-adj-values").unwrap();
        assert_eq!(parse(vals, "1 2").unwrap_err(), "wrong number of arguments");
        assert_eq!(parse(vals, " 1  2 3 ").unwrap(), "1 2 3");
        let ro = find("slave-read-only").unwrap();
        assert_eq!(parse(ro, "NO").unwrap(), "no");
        assert!(parse(find("activedefrag").unwrap(), "yes").is_err());
    }

    #[test]
    fn mirrors_follow_values() {
        let t = Tunables::default();
        assert_eq!(t.int(HZ), 10);
        t.set_all(&[(HZ, "100".into()), (MIN_REPLICAS_TO_WRITE, "2".into())]);
        assert_eq!(t.int(HZ), 100);
        assert_eq!(t.get(MIN_REPLICAS_TO_WRITE), "2");
        let mmc = find("maxmemory-clients").unwrap();
        t.set_all(&[(mmc, "10%".into())]);
        assert_eq!(t.int(mmc), -10);
    }
}
