//! maxmemory and eviction against the real binary: each policy's choice of keys, the OOM
//! error (differential with redis-server), commands that may run over the limit, CONFIG SET
//! maxmemory, evictions as DEL in the AOF and as `evicted` events, the evicted_keys counter,
//! used_memory under a multi-client write flood, OBJECT FREQ/IDLETIME and MEMORY USAGE/STATS.

use std::time::{Duration, Instant};

use crate::common::{err, error_text, ok, run, Server};
use crate::persistence::{start_in, temp_dir};

const OOM: &str = "OOM command not allowed when used memory > 'maxmemory'.";

fn info_field(c: &mut redis::Connection, section: &str, field: &str) -> u64 {
    let text: String = redis::cmd("INFO").arg(section).query(c).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .unwrap_or_else(|| panic!("no {field} in INFO {section}"))
        .trim()
        .parse()
        .unwrap()
}

fn used(c: &mut redis::Connection) -> u64 {
    info_field(c, "memory", "used_memory")
}

fn exists(c: &mut redis::Connection, key: &str) -> bool {
    redis::cmd("EXISTS").arg(key).query::<i64>(c).unwrap() == 1
}

/// `n` keys `{prefix}{i}` with `size`-byte values (TTL `ttl(i)` seconds when given).
fn fill(
    c: &mut redis::Connection,
    prefix: &str,
    n: usize,
    size: usize,
    ttl: Option<&dyn Fn(usize) -> u64>,
) {
    let value = "x".repeat(size);
    let mut pipe = redis::pipe();
    for i in 0..n {
        let key = format!("{prefix}{i}");
        match ttl {
            Some(t) => pipe
                .cmd("SET")
                .arg(&key)
                .arg(&value)
                .arg("EX")
                .arg(t(i))
                .ignore(),
            None => pipe.cmd("SET").arg(&key).arg(&value).ignore(),
        };
    }
    pipe.query::<()>(c).unwrap();
}

/// Sets maxmemory `below` bytes under the current usage, then writes one small key (the
/// write that evicts); returns that write's result.
fn squeeze(c: &mut redis::Connection, below: u64) -> redis::RedisResult<redis::Value> {
    let limit = used(c) - below;
    ok(c, &["CONFIG", "SET", "maxmemory", &limit.to_string()]);
    run(c, &["SET", "trigger", "1"])
}

/// Like [`squeeze`] for a limit no eviction can reach: the first write may still be admitted
/// while the eviction is "running" (its time budget ran out with keys left to evict, Redis's
/// EVICT_RUNNING, likely on a loaded machine); once nothing evictable is left, a write gets
/// the error. Returns that error.
fn squeeze_to_oom(c: &mut redis::Connection, below: u64) -> redis::RedisError {
    let now = used(c);
    let limit = now - below;
    ok(c, &["CONFIG", "SET", "maxmemory", &limit.to_string()]);
    for _ in 0..100 {
        if let Err(e) = run(c, &["SET", "trigger", "1"]) {
            return e;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    panic!("writes still admitted 100 times at maxmemory {limit} (used {now})");
}

fn survivors(c: &mut redis::Connection, prefix: &str, range: std::ops::Range<usize>) -> usize {
    range.filter(|i| exists(c, &format!("{prefix}{i}"))).count()
}

#[test]
fn oom_error_and_non_denyoom_commands_match_redis() {
    let steps: &[&[&str]] = &[
        &["SET", "k", "v"],
        &["GET", "k"],
        &["DEL", "k"],
        &["EXISTS", "k"],
        &["LPUSH", "l", "a"],
        &["INCR", "n"],
        &["MULTI"],
        &["SET", "k", "v"],
        &["EXEC"],
        &["MULTI"],
        &["GET", "k"],
        &["EXEC"],
        &["CONFIG", "SET", "maxmemory", "0"],
        &["SET", "k", "v"],
        &["CONFIG", "GET", "maxmemory"],
    ];
    let mut servers = vec![Server::start(&["--maxmemory", "1"])];
    servers.extend(Server::start_redis_with(&["--maxmemory", "1"]));
    let replies: Vec<Vec<String>> = servers
        .iter()
        .map(|s| {
            let mut c = s.conn();
            steps
                .iter()
                .map(|args| match run(&mut c, args) {
                    Ok(v) => format!("{v:?}"),
                    Err(e) => format!("-{}", error_text(&e)),
                })
                .collect()
        })
        .collect();
    assert_eq!(replies[0][0], format!("-{OOM}"));
    assert_eq!(replies[0][1], "nil", "GET runs over the limit");
    assert_eq!(replies[0][2], "int(0)", "DEL runs over the limit");
    if let Some(redis) = replies.get(1) {
        for (i, step) in steps.iter().enumerate() {
            assert_eq!(replies[0][i], redis[i], "step {step:?}");
        }
    }
}

#[test]
fn config_memory_directives_validate_like_redis() {
    let mut servers = vec![Server::start(&[])];
    servers.extend(Server::start_redis());
    let steps: &[&[&str]] = &[
        &["CONFIG", "SET", "maxmemory", "100mb"],
        &["CONFIG", "GET", "maxmemory"],
        &["CONFIG", "SET", "maxmemory", "lots"],
        &["CONFIG", "SET", "maxmemory-policy", "allkeys-lfu"],
        &["CONFIG", "GET", "maxmemory-policy"],
        &["CONFIG", "SET", "maxmemory-policy", "lru"],
        &["CONFIG", "SET", "maxmemory-samples", "0"],
        &["CONFIG", "SET", "maxmemory-samples", "10"],
        &["CONFIG", "SET", "maxmemory-eviction-tenacity", "101"],
        &["CONFIG", "SET", "maxmemory-eviction-tenacity", "20"],
        &["CONFIG", "SET", "lfu-log-factor", "-1"],
        &["CONFIG", "SET", "lfu-log-factor", "20"],
        &["CONFIG", "SET", "lfu-decay-time", "x"],
        &["CONFIG", "SET", "lfu-decay-time", "2"],
        &["CONFIG", "GET", "maxmemory-samples"],
        &["CONFIG", "GET", "maxmemory-eviction-tenacity"],
        // (A glob's order is Redis's dict order, which varies: exact names.)
        &["CONFIG", "GET", "lfu-log-factor"],
        &["CONFIG", "GET", "lfu-decay-time"],
        &["CONFIG", "SET", "maxmemory", "0"],
    ];
    let replies: Vec<Vec<String>> = servers
        .iter()
        .map(|s| {
            let mut c = s.conn();
            steps
                .iter()
                .map(|args| match run(&mut c, args) {
                    Ok(v) => format!("{v:?}"),
                    Err(e) => format!("-{}", error_text(&e)),
                })
                .collect()
        })
        .collect();
    assert!(
        replies[0][2].contains("argument must be a memory value"),
        "{}",
        replies[0][2]
    );
    if let Some(redis) = replies.get(1) {
        for (i, step) in steps.iter().enumerate() {
            assert_eq!(replies[0][i], redis[i], "step {step:?}");
        }
    }
}

#[test]
fn volatile_policies_never_touch_persistent_keys_and_oom_when_no_ttl_is_left() {
    for policy in [
        "volatile-lru",
        "volatile-lfu",
        "volatile-random",
        "volatile-ttl",
    ] {
        let s = Server::start(&["--maxmemory-policy", policy]);
        let mut c = s.conn();
        fill(&mut c, "p", 100, 10_000, None);
        // Persistent keys only: nothing may go, so the write is refused.
        let e = squeeze(&mut c, 200_000).unwrap_err();
        assert_eq!(error_text(&e), OOM, "{policy}");
        ok(&mut c, &["CONFIG", "SET", "maxmemory", "0"]);
        fill(&mut c, "v", 100, 10_000, Some(&|_| 10_000));
        squeeze(&mut c, 500_000).unwrap();
        assert_eq!(survivors(&mut c, "p", 0..100), 100, "{policy}");
        let v = survivors(&mut c, "v", 0..100);
        assert!(v < 100, "{policy}: no volatile key evicted");
        assert!(info_field(&mut c, "stats", "evicted_keys") >= 100 - v as u64);
        // Below what the persistent keys alone need: every volatile key goes, then OOM. (The
        // margin is well above what transient buffers — a pipeline's, a reply's — can free
        // meanwhile, so the refusal does not depend on the test's timing.)
        let e = squeeze_to_oom(&mut c, 3_000_000);
        assert_eq!(error_text(&e), OOM, "{policy}");
        assert_eq!(survivors(&mut c, "p", 0..100), 100, "{policy}");
        assert_eq!(survivors(&mut c, "v", 0..100), 0, "{policy}");
    }
}

#[test]
fn volatile_ttl_evicts_the_nearest_expiry_first() {
    let s = Server::start(&[
        "--maxmemory-policy",
        "volatile-ttl",
        "--maxmemory-samples",
        "10",
    ]);
    let mut c = s.conn();
    fill(&mut c, "t", 200, 10_000, Some(&|i| 1000 + i as u64));
    squeeze(&mut c, 600_000).unwrap();
    let gone: Vec<usize> = (0..200)
        .filter(|i| !exists(&mut c, &format!("t{i}")))
        .collect();
    assert!(!gone.is_empty());
    let mean = gone.iter().sum::<usize>() as f64 / gone.len() as f64;
    // Random choice would average ~100.
    assert!(mean < 60.0, "evicted {gone:?}");
    assert!(exists(&mut c, "t199") && exists(&mut c, "t198"));
}

#[test]
fn allkeys_lru_keeps_the_recently_used() {
    let s = Server::start(&["--maxmemory-policy", "allkeys-lru"]);
    let mut c = s.conn();
    fill(&mut c, "k", 200, 10_000, None);
    // Milliseconds are enough for the LRU clock to tell the hot keys apart.
    std::thread::sleep(Duration::from_millis(20));
    for i in 0..50 {
        let _: Option<String> = redis::cmd("GET")
            .arg(format!("k{i}"))
            .query(&mut c)
            .unwrap();
    }
    squeeze(&mut c, 1_000_000).unwrap();
    let hot = survivors(&mut c, "k", 0..50);
    let cold = survivors(&mut c, "k", 50..200);
    assert!(hot >= 48, "hot survivors {hot}/50, cold {cold}/150");
    assert!(cold < 100, "cold survivors {cold}/150");
}

#[test]
fn allkeys_lfu_keeps_the_frequently_used() {
    let s = Server::start(&["--maxmemory-policy", "allkeys-lfu"]);
    let mut c = s.conn();
    fill(&mut c, "k", 200, 10_000, None);
    let mut pipe = redis::pipe();
    for _ in 0..30 {
        for i in 0..50 {
            pipe.cmd("GET").arg(format!("k{i}")).ignore();
        }
    }
    pipe.query::<()>(&mut c).unwrap();
    let freq: i64 = redis::cmd("OBJECT")
        .arg("FREQ")
        .arg("k0")
        .query(&mut c)
        .unwrap();
    assert!(freq > 5, "freq {freq}");
    let cold: i64 = redis::cmd("OBJECT")
        .arg("FREQ")
        .arg("k100")
        .query(&mut c)
        .unwrap();
    assert!(cold <= 5, "a new key starts at LFU_INIT_VAL, got {cold}");
    squeeze(&mut c, 1_000_000).unwrap();
    let hot = survivors(&mut c, "k", 0..50);
    let cold = survivors(&mut c, "k", 50..200);
    assert!(hot >= 48, "hot survivors {hot}/50, cold {cold}/150");
}

#[test]
fn allkeys_random_evicts_until_under_the_limit() {
    let s = Server::start(&["--maxmemory-policy", "allkeys-random"]);
    let mut c = s.conn();
    fill(&mut c, "k", 200, 10_000, None);
    squeeze(&mut c, 1_000_000).unwrap();
    let left = survivors(&mut c, "k", 0..200);
    assert!((50..=150).contains(&left), "{left} left");
    let max = info_field(&mut c, "memory", "maxmemory");
    assert!(used(&mut c) <= max + 64 * 1024);
}

#[test]
fn evictions_are_del_in_the_aof_and_evicted_events() {
    let dir = temp_dir("evict-aof");
    let s = start_in(
        &dir,
        &[
            "--appendonly",
            "yes",
            "--maxmemory-policy",
            "allkeys-random",
            "--notify-keyspace-events",
            "Ee",
        ],
    );
    let mut c = s.conn();
    fill(&mut c, "k", 100, 10_000, None);
    let mut sub = s.conn();
    let mut pubsub = sub.as_pubsub();
    pubsub.subscribe("__keyevent@0__:evicted").unwrap();
    pubsub
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    squeeze(&mut c, 300_000).unwrap();
    let msg = pubsub.get_message().unwrap();
    let key: String = msg.get_payload().unwrap();
    assert!(key.starts_with('k') && !exists(&mut c, &key), "{key}");
    let evicted = info_field(&mut c, "stats", "evicted_keys");
    assert!(evicted >= 1);
    // The AOF's DELs (appendfsync everysec: give it a moment).
    let del = format!("*2\r\n$3\r\nDEL\r\n${}\r\n{key}\r\n", key.len());
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let mut aof = Vec::new();
        for entry in std::fs::read_dir(dir.join("appendonlydir")).unwrap() {
            let p = entry.unwrap().path();
            if p.to_string_lossy().ends_with(".incr.aof") {
                aof.extend(std::fs::read(p).unwrap());
            }
        }
        let text = String::from_utf8_lossy(&aof);
        if text.contains(&del) {
            assert_eq!(text.matches("\r\nDEL\r\n").count() as u64, evicted);
            break;
        }
        assert!(Instant::now() < deadline, "no {del:?} in the AOF");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn used_memory_stays_near_maxmemory_under_a_multi_client_write_flood() {
    const MAX: u64 = 48 << 20;
    let s = Server::start(&[
        "--threads",
        "2",
        "--maxmemory",
        "48mb",
        "--maxmemory-policy",
        "allkeys-lru",
    ]);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let mut c = s.conn();
            let stop = stop.clone();
            std::thread::spawn(move || {
                let value = "v".repeat(200);
                let mut n = 0u64;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let mut pipe = redis::pipe();
                    for _ in 0..100 {
                        pipe.cmd("SET")
                            .arg(format!("w{w}:{n}"))
                            .arg(&value)
                            .ignore();
                        n += 1;
                    }
                    pipe.query::<()>(&mut c).unwrap();
                }
                n
            })
        })
        .collect();
    let mut c = s.conn();
    let mut highest = 0;
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(4) {
        highest = highest.max(used(&mut c));
        std::thread::sleep(Duration::from_millis(20));
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let written: u64 = writers.into_iter().map(|w| w.join().unwrap()).sum();
    let evicted = info_field(&mut c, "stats", "evicted_keys");
    assert!(evicted > 0, "{written} written, nothing evicted");
    eprintln!(
        "flood: {written} written, {evicted} evicted, highest used_memory {highest} (max {MAX})"
    );
    // Within 10% over the limit at every sample.
    assert!(
        highest <= MAX + MAX / 10,
        "used_memory reached {highest} (max {MAX}), {written} written"
    );
}

#[test]
fn object_idletime_and_freq_follow_the_policy() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    ok(&mut c, &["SET", "k", "v"]);
    assert_eq!(
        run(&mut c, &["OBJECT", "IDLETIME", "k"]).unwrap(),
        redis::Value::Int(0)
    );
    assert!(err(&mut c, &["OBJECT", "FREQ", "k"])
        .starts_with("ERR An LFU maxmemory policy is not selected"));
    // RESTORE IDLETIME under LRU.
    let dump: Vec<u8> = redis::cmd("DUMP").arg("k").query(&mut c).unwrap();
    redis::cmd("RESTORE")
        .arg("r")
        .arg(0)
        .arg(&dump)
        .arg("IDLETIME")
        .arg(1000)
        .query::<()>(&mut c)
        .unwrap();
    let idle: i64 = redis::cmd("OBJECT")
        .arg("IDLETIME")
        .arg("r")
        .query(&mut c)
        .unwrap();
    assert!((1000..1005).contains(&idle), "{idle}");
    ok(
        &mut c,
        &["CONFIG", "SET", "maxmemory-policy", "allkeys-lfu"],
    );
    assert_eq!(
        err(&mut c, &["OBJECT", "IDLETIME", "k"]),
        "ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust."
    );
    ok(&mut c, &["SET", "n", "v"]);
    assert_eq!(
        run(&mut c, &["OBJECT", "FREQ", "n"]).unwrap(),
        redis::Value::Int(5)
    );
    redis::cmd("RESTORE")
        .arg("f")
        .arg(0)
        .arg(&dump)
        .arg("FREQ")
        .arg(100)
        .query::<()>(&mut c)
        .unwrap();
    assert_eq!(
        run(&mut c, &["OBJECT", "FREQ", "f"]).unwrap(),
        redis::Value::Int(100)
    );
}

#[test]
fn memory_usage_grows_with_the_value_and_stats_has_redis_shape() {
    let mut servers = vec![Server::start(&[])];
    servers.extend(Server::start_redis());
    let mut shapes = Vec::new();
    for s in &servers {
        let mut c = s.conn();
        ok(&mut c, &["SET", "small", "v"]);
        ok(&mut c, &["SET", "big", &"x".repeat(10_000)]);
        let small: i64 = redis::cmd("MEMORY")
            .arg("USAGE")
            .arg("small")
            .query(&mut c)
            .unwrap();
        let big: i64 = redis::cmd("MEMORY")
            .arg("USAGE")
            .arg("big")
            .query(&mut c)
            .unwrap();
        assert!(small > 0 && small < 200, "{small}");
        assert!(big >= small + 10_000 && big < 20_000, "{big}");
        for i in 0..100 {
            redis::cmd("RPUSH")
                .arg("list")
                .arg(format!("element-{i}"))
                .query::<()>(&mut c)
                .unwrap();
        }
        let all: i64 = redis::cmd("MEMORY")
            .arg("USAGE")
            .arg("list")
            .arg("SAMPLES")
            .arg(0)
            .query(&mut c)
            .unwrap();
        assert!(all > 1000, "{all}");
        assert!(run(&mut c, &["MEMORY", "USAGE", "nokey"]).unwrap() == redis::Value::Nil);
        assert!(err(&mut c, &["MEMORY", "USAGE", "small", "SAMPLES", "-1"])
            .starts_with("ERR syntax error"));
        let stats: Vec<redis::Value> = redis::cmd("MEMORY").arg("STATS").query(&mut c).unwrap();
        let names: Vec<String> = stats
            .iter()
            .step_by(2)
            .map(|v| match v {
                redis::Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
                other => format!("{other:?}"),
            })
            .collect();
        shapes.push(names);
        assert_eq!(
            run(&mut c, &["MEMORY", "PURGE"]).unwrap(),
            redis::Value::Okay
        );
        let doctor: String = redis::cmd("MEMORY").arg("DOCTOR").query(&mut c).unwrap();
        assert!(doctor.contains("Sam"), "{doctor}");
    }
    assert!(
        shapes[0].contains(&"db.0".to_string()) && shapes[0].contains(&"keys.count".to_string())
    );
    if let Some(redis) = shapes.get(1) {
        assert_eq!(&shapes[0], redis);
    }
}

/// As Redis (isSafeToPerformEvictions): nothing is evicted while clients are paused, not even
/// by the background cycle; eviction resumes after CLIENT UNPAUSE. Same on redis-server.
#[test]
fn nothing_is_evicted_during_a_client_pause() {
    let servers: Vec<Server> =
        std::iter::once(Server::start(&["--maxmemory-policy", "allkeys-random"]))
            .chain(Server::start_redis_with(&[
                "--maxmemory-policy",
                "allkeys-random",
            ]))
            .collect();
    for s in &servers {
        let mut c = s.conn();
        fill(&mut c, "k", 200, 10_000, None);
        ok(&mut c, &["CLIENT", "PAUSE", "10000", "WRITE"]);
        let limit = used(&mut c) - 1_000_000;
        ok(&mut c, &["CONFIG", "SET", "maxmemory", &limit.to_string()]);
        std::thread::sleep(Duration::from_millis(400));
        assert_eq!(survivors(&mut c, "k", 0..200), 200, "port {}", s.port);
        ok(&mut c, &["CLIENT", "UNPAUSE"]);
        // The next write (or the background cycle) evicts.
        run(&mut c, &["SET", "trigger", "1"]).unwrap();
        assert!(survivors(&mut c, "k", 0..200) < 200, "port {}", s.port);
    }
}
