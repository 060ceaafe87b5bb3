//! Where time goes: the slow log and the latency monitor (Redis's `slowlog.c` and
//! `latency.c`), shared by every loop.
//!
//! # Who writes, and when
//! [`call`](crate::commands::call()) measures every command. Only a command slower than
//! `slowlog-log-slower-than` reaches [`SlowLog::push`], and only one at or over
//! `latency-monitor-threshold` milliseconds reaches [`LatencyMonitor::add_sample`] — the
//! thresholds are read with one relaxed load each ([`crate::tunables`]), so the locks below
//! are off the path of ordinary commands. Other sources of latency (the expiry cycle, ...)
//! call [`LatencyMonitor::add_sample_if_needed`] themselves.
//!
//! Per-command latency histograms (LATENCY HISTOGRAM, INFO latencystats) are not here: they
//! sit with each loop's per-command counters ([`super::stats::CommandStat`]).

use std::collections::VecDeque;

use bytes::Bytes;
use parking_lot::Mutex;

/// Arguments kept per entry (Redis's SLOWLOG_ENTRY_MAX_ARGC): the last one kept says how many
/// more there were.
pub const MAX_ARGC: usize = 32;
/// Bytes kept per argument (Redis's SLOWLOG_ENTRY_MAX_STRING).
pub const MAX_STRING: usize = 128;

/// One slow command.
#[derive(Debug, Clone)]
pub struct SlowEntry {
    pub id: u64,
    /// Unix seconds when it was logged.
    pub time: u64,
    /// Microseconds it took.
    pub duration: u64,
    /// Its arguments, trimmed (see [`trim_args`]).
    pub argv: Vec<Bytes>,
    /// `ip:port` of the client.
    pub peer: String,
    /// The client's name (empty when it has none).
    pub name: Bytes,
}

#[derive(Default)]
struct SlowLogInner {
    /// Newest first.
    entries: VecDeque<SlowEntry>,
    next_id: u64,
}

/// The slow log (SLOWLOG GET / LEN / RESET).
#[derive(Default)]
pub struct SlowLog {
    inner: Mutex<SlowLogInner>,
}

impl SlowLog {
    /// Logs one command (its arguments already trimmed and redacted), then drops the oldest
    /// entries beyond `max_len` (as Redis, a lowered `slowlog-max-len` applies at the next
    /// push).
    pub fn push(
        &self,
        now_secs: u64,
        duration: u64,
        argv: Vec<Bytes>,
        peer: String,
        name: Bytes,
        max_len: usize,
    ) {
        let mut log = self.inner.lock();
        let id = log.next_id;
        log.next_id += 1;
        log.entries.push_front(SlowEntry {
            id,
            time: now_secs,
            duration,
            argv,
            peer,
            name,
        });
        log.entries.truncate(max_len);
    }

    pub fn len(&self) -> usize {
        self.inner.lock().entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Empties the log (entry ids keep counting, as Redis).
    pub fn reset(&self) {
        self.inner.lock().entries.clear();
    }

    /// The newest `count` entries, newest first.
    pub fn newest(&self, count: usize) -> Vec<SlowEntry> {
        let log = self.inner.lock();
        log.entries.iter().take(count).cloned().collect()
    }
}

/// Redis's slowlog trimming of an argument vector: at most [`MAX_ARGC`] arguments, the last
/// kept replaced by `... (N more arguments)`; each argument cut to [`MAX_STRING`] bytes
/// followed by `... (N more bytes)`.
pub fn trim_args(args: &[Bytes]) -> Vec<Bytes> {
    let kept = args.len().min(MAX_ARGC);
    let mut out = Vec::with_capacity(kept);
    for (j, a) in args[..kept].iter().enumerate() {
        if kept != args.len() && j == kept - 1 {
            let more = args.len() - kept + 1;
            out.push(Bytes::from(format!("... ({more} more arguments)")));
        } else if a.len() > MAX_STRING {
            let mut s = a[..MAX_STRING].to_vec();
            s.extend_from_slice(format!("... ({} more bytes)", a.len() - MAX_STRING).as_bytes());
            out.push(Bytes::from(s));
        } else {
            // A copy: a slice of the connection's read buffer would keep all of it alive.
            out.push(Bytes::copy_from_slice(a));
        }
    }
    out
}

/// Samples kept per event (Redis's LATENCY_TS_LEN).
pub const HISTORY_LEN: usize = 160;

/// One latency event's time series (Redis's `latencyTimeSeries`): at most one sample per
/// second (the highest), the last [`HISTORY_LEN`] of them.
#[derive(Clone)]
pub struct Series {
    /// Where the next sample goes.
    idx: usize,
    /// The highest latency ever recorded (milliseconds).
    pub max: u64,
    /// (unix seconds, milliseconds); time 0 is an unused slot.
    samples: [(u64, u64); HISTORY_LEN],
}

impl Series {
    fn new() -> Self {
        Series {
            idx: 0,
            max: 0,
            samples: [(0, 0); HISTORY_LEN],
        }
    }

    fn add(&mut self, now_secs: u64, ms: u64) {
        self.max = self.max.max(ms);
        let prev = (self.idx + HISTORY_LEN - 1) % HISTORY_LEN;
        if self.samples[prev].0 == now_secs {
            self.samples[prev].1 = self.samples[prev].1.max(ms);
            return;
        }
        self.samples[self.idx] = (now_secs, ms);
        self.idx = (self.idx + 1) % HISTORY_LEN;
    }

    /// The recorded samples, oldest first.
    pub fn samples(&self) -> Vec<(u64, u64)> {
        (0..HISTORY_LEN)
            .map(|j| self.samples[(self.idx + j) % HISTORY_LEN])
            .filter(|s| s.0 != 0)
            .collect()
    }

    /// The latest sample (time 0 if there is none).
    pub fn latest(&self) -> (u64, u64) {
        self.samples[(self.idx + HISTORY_LEN - 1) % HISTORY_LEN]
    }
}

/// Redis's `latencyStats`: what LATENCY DOCTOR reports for an event.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Analysis {
    pub all_time_high: u64,
    pub avg: u64,
    pub min: u64,
    pub max: u64,
    /// Mean absolute deviation from `avg`.
    pub mad: u64,
    pub samples: u64,
    /// Seconds since the oldest sample (at least 1).
    pub period: u64,
}

impl Series {
    /// Redis's `analyzeLatencyForEvent` at `now_secs`.
    pub fn analyze(&self, now_secs: u64) -> Analysis {
        let samples = self.samples();
        let mut a = Analysis {
            all_time_high: self.max,
            ..Analysis::default()
        };
        if samples.is_empty() {
            return a;
        }
        a.samples = samples.len() as u64;
        a.min = samples.iter().map(|s| s.1).min().unwrap_or(0);
        a.max = samples.iter().map(|s| s.1).max().unwrap_or(0);
        a.avg = samples.iter().map(|s| s.1).sum::<u64>() / a.samples;
        let oldest = samples.iter().map(|s| s.0).min().unwrap_or(now_secs);
        a.period = now_secs.saturating_sub(oldest).max(1);
        a.mad = samples.iter().map(|s| s.1.abs_diff(a.avg)).sum::<u64>() / a.samples;
        a
    }
}

/// The latency monitor's events (LATENCY LATEST / HISTORY / RESET / GRAPH / DOCTOR), in the
/// order they first occurred.
#[derive(Default)]
pub struct LatencyMonitor {
    events: Mutex<Vec<(String, Series)>>,
}

impl LatencyMonitor {
    /// Redis's `latencyAddSampleIfNeeded`: records `ms` for `event` when the monitor is on
    /// (`threshold` > 0) and `ms` reaches it.
    #[inline]
    pub fn add_sample_if_needed(&self, threshold: i64, event: &str, ms: u64) {
        if threshold > 0 && ms >= threshold as u64 {
            self.add_sample(event, ms);
        }
    }

    /// Records a sample of `ms` milliseconds for `event` now.
    #[cold]
    pub fn add_sample(&self, event: &str, ms: u64) {
        self.add_sample_at(event, ms, crate::clock::now_ms() / 1000);
    }

    pub fn add_sample_at(&self, event: &str, ms: u64, now_secs: u64) {
        let mut events = self.events.lock();
        match events.iter_mut().find(|(e, _)| e == event) {
            Some((_, series)) => series.add(now_secs, ms),
            None => {
                let mut series = Series::new();
                series.add(now_secs, ms);
                events.push((event.to_string(), series));
            }
        }
    }

    /// Drops `event` (case-insensitive), or every event for `None`; returns how many went.
    pub fn reset(&self, event: Option<&[u8]>) -> usize {
        let mut events = self.events.lock();
        let before = events.len();
        events.retain(|(e, _)| event.is_some_and(|want| !e.as_bytes().eq_ignore_ascii_case(want)));
        before - events.len()
    }

    /// The series of `event` (exact name, as Redis's dictionary lookup).
    pub fn series(&self, event: &[u8]) -> Option<(String, Series)> {
        let events = self.events.lock();
        events.iter().find(|(e, _)| e.as_bytes() == event).cloned()
    }

    /// Every event and its series.
    pub fn all(&self) -> Vec<(String, Series)> {
        self.events.lock().clone()
    }

    pub fn is_empty(&self) -> bool {
        self.events.lock().is_empty()
    }
}

/// The slow log and the latency monitor.
#[derive(Default)]
pub struct Latency {
    pub slowlog: SlowLog,
    pub monitor: LatencyMonitor,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(words: &[&str]) -> Vec<Bytes> {
        words
            .iter()
            .map(|w| Bytes::copy_from_slice(w.as_bytes()))
            .collect()
    }

    #[test]
    fn arguments_are_trimmed_as_redis_does() {
        let few = args(&["get", "k"]);
        assert_eq!(trim_args(&few), few);
        let many: Vec<String> = (0..34).map(|i| i.to_string()).collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        let t = trim_args(&args(&many));
        assert_eq!(t.len(), 32);
        assert_eq!(&t[30][..], b"30");
        assert_eq!(&t[31][..], b"... (3 more arguments)");
        let exactly = args(&many[..32]);
        assert_eq!(trim_args(&exactly), exactly);
        let long = "A".repeat(129);
        let t = trim_args(&args(&["set", &long]));
        assert_eq!(t[1], format!("{}... (1 more bytes)", "A".repeat(128)));
        let fits = "A".repeat(128);
        assert_eq!(trim_args(&args(&[&fits]))[0], fits);
    }

    #[test]
    fn the_slow_log_keeps_the_newest_entries() {
        let log = SlowLog::default();
        for i in 0..5u64 {
            log.push(
                100 + i,
                i,
                args(&["ping"]),
                "1.2.3.4:5".into(),
                Bytes::new(),
                3,
            );
        }
        assert_eq!(log.len(), 3);
        let ids: Vec<u64> = log.newest(10).iter().map(|e| e.id).collect();
        assert_eq!(ids, [4, 3, 2]);
        assert_eq!(log.newest(1)[0].time, 104);
        log.reset();
        assert!(log.is_empty());
        log.push(1, 1, args(&["ping"]), String::new(), Bytes::new(), 3);
        assert_eq!(log.newest(1)[0].id, 5, "ids keep counting after a reset");
        log.push(1, 1, args(&["ping"]), String::new(), Bytes::new(), 0);
        assert!(log.is_empty());
    }

    #[test]
    fn one_sample_per_second_the_highest() {
        let m = LatencyMonitor::default();
        m.add_sample_at("command", 10, 1000);
        m.add_sample_at("command", 30, 1000);
        m.add_sample_at("command", 20, 1000);
        m.add_sample_at("command", 5, 1001);
        let (_, s) = m.series(b"command").unwrap();
        assert_eq!(s.samples(), [(1000, 30), (1001, 5)]);
        assert_eq!(s.latest(), (1001, 5));
        assert_eq!(s.max, 30);
        for t in 0..200 {
            m.add_sample_at("command", t, 2000 + t);
        }
        let (_, s) = m.series(b"command").unwrap();
        assert_eq!(s.samples().len(), HISTORY_LEN);
        assert_eq!(s.samples()[0], (2040, 40));
        assert_eq!(s.max, 199);
        let a = s.analyze(2199);
        assert_eq!((a.samples, a.min, a.max, a.avg), (160, 40, 199, 119));
        assert_eq!((a.period, a.mad, a.all_time_high), (159, 40, 199));
    }

    #[test]
    fn reset_drops_named_events_case_insensitively() {
        let m = LatencyMonitor::default();
        m.add_sample_at("command", 1, 1);
        m.add_sample_at("fast-command", 1, 1);
        m.add_sample_at("expire-cycle", 1, 1);
        assert_eq!(m.reset(Some(b"nosuch")), 0);
        assert_eq!(m.reset(Some(b"COMMAND")), 1);
        assert!(m.series(b"command").is_none());
        assert_eq!(m.reset(None), 2);
        assert!(m.is_empty());
        m.add_sample_if_needed(0, "command", 100);
        m.add_sample_if_needed(200, "command", 199);
        assert!(m.is_empty());
        m.add_sample_if_needed(200, "command", 200);
        assert!(!m.is_empty());
    }
}
