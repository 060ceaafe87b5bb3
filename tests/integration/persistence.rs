//! Persistence against the real binary, with the real `redis-server`, `redis-check-rdb` as the
//! oracle where installed: RDB files in both directions, SAVE/BGSAVE/LASTSAVE, save points,
//! SHUTDOWN and SIGTERM saves, MISCONF, LOADING, DEBUG RELOAD, DUMP/RESTORE both ways,
//! corrupt files, and the point-in-time property of BGSAVE under concurrent transactions.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::common::{err, ok, run, temp_file, Server};
use redis::Value;

/// A fresh directory for one test's files.
pub(crate) fn temp_dir(name: &str) -> PathBuf {
    let d = temp_file(name);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// ferrokv with its RDB in `dir` and the given extra flags (no save points unless given).
pub(crate) fn start_in(dir: &Path, extra: &[&str]) -> Server {
    let mut args = vec!["--dir", dir.to_str().unwrap()];
    args.extend_from_slice(extra);
    if !extra.contains(&"--save") {
        args.extend_from_slice(&["--save", ""]);
    }
    Server::start(&args)
}

pub(crate) fn text(v: &Value) -> String {
    match v {
        Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
        Value::SimpleString(s) => s.clone(),
        Value::Int(i) => i.to_string(),
        Value::Nil => "(nil)".into(),
        Value::Array(a) => format!("[{}]", a.iter().map(text).collect::<Vec<_>>().join(",")),
        other => format!("{other:?}"),
    }
}

pub(crate) fn strings(v: Value) -> Vec<String> {
    match v {
        Value::Array(a) => a.iter().map(text).collect(),
        other => vec![text(&other)],
    }
}

/// One key as compared across servers: type, canonical content, and whether it has a TTL
/// (the TTL itself, rounded to seconds).
pub(crate) type Keyspace = BTreeMap<(usize, String), (String, String, i64)>;

/// How far two reads of one key's remaining time to live may be apart: the reads happen
/// seconds apart on a loaded machine (a save, a restart, another server's load).
const TTL_SLACK_MS: i64 = 10_000;

/// Asserts that two keyspaces hold the same keys, types, encodings and values, with times to
/// live within [`TTL_SLACK_MS`] of each other (or both the same negative code), naming every
/// key that differs.
#[track_caller]
pub(crate) fn assert_same_keyspace(got: &Keyspace, want: &Keyspace, what: &str) {
    let mut diffs = Vec::new();
    for (key, w) in want {
        match got.get(key) {
            None => diffs.push(format!("{key:?}: missing")),
            Some(g) => {
                let ttl_ok = if w.2 < 0 || g.2 < 0 {
                    w.2 == g.2
                } else {
                    (w.2 - g.2).abs() <= TTL_SLACK_MS
                };
                if g.0 != w.0 || g.1 != w.1 || !ttl_ok {
                    diffs.push(format!("{key:?}: got {g:?}, want {w:?}"));
                }
            }
        }
    }
    for key in got.keys().filter(|k| !want.contains_key(*k)) {
        diffs.push(format!("{key:?}: unexpected"));
    }
    assert!(
        diffs.is_empty(),
        "{what}: {} of {} keys differ:\n{}",
        diffs.len(),
        want.len(),
        diffs.join("\n")
    );
}

/// Reads back every key of databases `0..dbs` with ordinary commands; the time to live is
/// PTTL's (milliseconds, or -1 / -2).
pub(crate) fn keyspace(c: &mut redis::Connection, dbs: usize) -> Keyspace {
    let mut out = BTreeMap::new();
    for db in 0..dbs {
        ok(c, &["SELECT", &db.to_string()]);
        let mut keys = strings(ok(c, &["KEYS", "*"]));
        keys.sort();
        for k in keys {
            let ty = text(&ok(c, &["TYPE", &k]));
            let content = match ty.as_str() {
                "string" => text(&ok(c, &["GET", &k])),
                "list" => text(&ok(c, &["LRANGE", &k, "0", "-1"])),
                "hash" => {
                    let mut v = strings(ok(c, &["HGETALL", &k]));
                    let mut pairs: Vec<String> = v
                        .chunks_mut(2)
                        .map(|p| format!("{}={}", p[0], p[1]))
                        .collect();
                    pairs.sort();
                    pairs.join(",")
                }
                "set" => {
                    let mut v = strings(ok(c, &["SMEMBERS", &k]));
                    v.sort();
                    v.join(",")
                }
                "zset" => text(&ok(c, &["ZRANGE", &k, "0", "-1", "WITHSCORES"])),
                other => panic!("unexpected type {other}"),
            };
            let enc = text(&ok(c, &["OBJECT", "ENCODING", &k]));
            let pttl = match ok(c, &["PTTL", &k]) {
                Value::Int(t) => t,
                v => panic!("PTTL {v:?}"),
            };
            out.insert((db, k), (format!("{ty}/{enc}"), content, pttl));
        }
    }
    ok(c, &["SELECT", "0"]);
    out
}

/// Fills a server with every type in small and large encodings, integers, binary-ish values,
/// TTLs and several databases (the same commands work on ferrokv and Redis).
pub(crate) fn populate(c: &mut redis::Connection) {
    ok(c, &["SET", "int", "12345"]);
    ok(c, &["SET", "negint", "-9223372036854775808"]);
    ok(c, &["SET", "big", &"x".repeat(10_000)]);
    ok(c, &["SET", "compressible", &"abcabcabc".repeat(50)]);
    ok(c, &["SET", "empty", ""]);
    ok(c, &["SET", "bin", "\u{1}\u{0}\u{ff}\r\n\u{7f}"]);
    ok(c, &["SET", "ttl", "v", "EX", "1000"]);
    ok(c, &["SET", "pttl", "v", "PX", "200000000"]);
    for i in 0..5 {
        ok(
            c,
            &["RPUSH", "list-small", &format!("e{i}"), &i.to_string()],
        );
        ok(
            c,
            &["HSET", "hash-small", &format!("f{i}"), &format!("v{i}")],
        );
        ok(c, &["SADD", "set-ints", &(i * 1000 - 3).to_string()]);
        ok(c, &["SADD", "set-strs", &format!("m{i}")]);
        ok(
            c,
            &["ZADD", "zset-small", &format!("{}.5", i), &format!("z{i}")],
        );
    }
    for i in 0..2000 {
        ok(
            c,
            &[
                "RPUSH",
                "list-big",
                &format!("element-{i}-{}", "y".repeat(i % 40)),
            ],
        );
        ok(
            c,
            &["HSET", "hash-big", &format!("field{i}"), &i.to_string()],
        );
        ok(c, &["SADD", "set-big", &format!("member{i}")]);
        ok(c, &["SADD", "set-bigints", &(i * 7).to_string()]);
        ok(
            c,
            &[
                "ZADD",
                "zset-big",
                &(i as f64 / 7.0).to_string(),
                &format!("m{i}"),
            ],
        );
    }
    ok(c, &["HSET", "hash-longval", "f", &"v".repeat(100)]);
    ok(c, &["ZADD", "zset-inf", "inf", "a", "-inf", "b", "0", "c"]);
    ok(c, &["EXPIRE", "hash-big", "5000"]);
    ok(c, &["SELECT", "3"]);
    ok(c, &["SET", "in-db3", "x"]);
    ok(c, &["RPUSH", "list-db3", "a", "b"]);
    ok(c, &["SELECT", "15"]);
    ok(c, &["SET", "in-db15", "y"]);
    ok(c, &["SELECT", "0"]);
}

pub(crate) fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

pub(crate) fn info_field(c: &mut redis::Connection, field: &str) -> String {
    let info = text(&ok(c, &["INFO", "persistence"]));
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .unwrap_or_else(|| panic!("no {field} in INFO"))
        .trim()
        .to_string()
}

pub(crate) fn wait_bgsave(c: &mut redis::Connection) {
    wait_for("bgsave to end", || {
        info_field(c, "rdb_bgsave_in_progress") == "0"
    });
}

#[test]
fn save_then_restart_keeps_every_type() {
    let dir = temp_dir("save-restart");
    let s = start_in(&dir, &[]);
    let mut c = s.conn();
    populate(&mut c);
    let before = keyspace(&mut c, 16);
    assert_eq!(ok(&mut c, &["SAVE"]), Value::Okay);
    assert!(dir.join("dump.rdb").exists());
    let lastsave = ok(&mut c, &["LASTSAVE"]);
    assert!(matches!(lastsave, Value::Int(t) if t > 1_600_000_000));
    assert_eq!(info_field(&mut c, "rdb_changes_since_last_save"), "0");
    assert_eq!(info_field(&mut c, "rdb_saves"), "1");
    drop(c);
    assert_eq!(s.terminate(), Some(0));
    // No temp files left behind.
    let names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, vec!["dump.rdb".to_string()]);
    let s = start_in(&dir, &[]);
    let mut c = s.conn();
    assert_same_keyspace(&keyspace(&mut c, 16), &before, "after restart");
    assert_eq!(
        info_field(&mut c, "rdb_last_load_keys_loaded"),
        before.len().to_string()
    );
}

#[test]
fn redis_loads_what_ferrokv_writes() {
    if Server::start_redis().is_none() {
        eprintln!("redis-server not installed: skipped");
        return;
    }
    let dir = temp_dir("to-redis");
    let s = start_in(&dir, &[]);
    let mut c = s.conn();
    populate(&mut c);
    let ours = keyspace(&mut c, 16);
    ok(&mut c, &["SAVE"]);
    let file = dir.join("dump.rdb");
    // redis-check-rdb agrees the file is sound.
    if let Ok(out) = std::process::Command::new("redis-check-rdb")
        .arg(&file)
        .output()
    {
        let log = String::from_utf8_lossy(&out.stdout);
        assert!(log.contains("RDB looks OK"), "redis-check-rdb:\n{log}");
    }
    for compression in ["no", "yes"] {
        ok(&mut c, &["CONFIG", "SET", "rdbcompression", compression]);
        ok(&mut c, &["SAVE"]);
        let r =
            Server::start_redis_with(&["--dir", dir.to_str().unwrap(), "--dbfilename", "dump.rdb"])
                .expect("redis-server");
        let mut rc = r.conn();
        let theirs = keyspace(&mut rc, 16);
        assert_same_keyspace(&theirs, &ours, &format!("rdbcompression {compression}"));
    }
}

#[test]
fn ferrokv_loads_what_redis_writes() {
    let dir = temp_dir("from-redis");
    let Some(r) = Server::start_redis_with(&["--dir", dir.to_str().unwrap()]) else {
        eprintln!("redis-server not installed: skipped");
        return;
    };
    let mut rc = r.conn();
    populate(&mut rc);
    let theirs = keyspace(&mut rc, 16);
    for compression in ["yes", "no"] {
        ok(&mut rc, &["CONFIG", "SET", "rdbcompression", compression]);
        ok(&mut rc, &["SAVE"]);
        let s = start_in(&dir, &[]);
        let mut c = s.conn();
        assert_same_keyspace(
            &keyspace(&mut c, 16),
            &theirs,
            &format!("rdbcompression {compression}"),
        );
    }
}

#[test]
fn bgsave_reports_progress_and_refuses_a_second_save() {
    let dir = temp_dir("bgsave");
    let s = start_in(&dir, &[]);
    let mut c = s.conn();
    for i in 0..200 {
        ok(&mut c, &["SET", &format!("k{i}"), "v"]);
    }
    ok(&mut c, &["CONFIG", "SET", "rdb-key-save-delay", "10000"]);
    assert_eq!(text(&ok(&mut c, &["BGSAVE"])), "Background saving started");
    assert_eq!(info_field(&mut c, "rdb_bgsave_in_progress"), "1");
    assert_eq!(
        err(&mut c, &["BGSAVE"]),
        "ERR Background save already in progress"
    );
    assert_eq!(
        err(&mut c, &["BGSAVE", "SCHEDULE"]),
        "ERR Background save already in progress"
    );
    assert_eq!(
        err(&mut c, &["SAVE"]),
        "ERR Background save already in progress"
    );
    assert_eq!(err(&mut c, &["BGSAVE", "NOW"]), "ERR syntax error");
    // The loops keep serving meanwhile, writes included.
    ok(&mut c, &["SET", "during", "1"]);
    ok(&mut c, &["CONFIG", "SET", "rdb-key-save-delay", "0"]);
    wait_bgsave(&mut c);
    assert_eq!(info_field(&mut c, "rdb_last_bgsave_status"), "ok");
    assert_eq!(info_field(&mut c, "rdb_changes_since_last_save"), "1");
    // The file is the dataset as it was when BGSAVE ran: without `during`.
    let mut keys = 0;
    ferrokv::persist::rdb::file::load(
        std::fs::File::open(dir.join("dump.rdb")).unwrap(),
        std::fs::metadata(dir.join("dump.rdb")).unwrap().len(),
        16,
        0,
        |_, _| {},
        |_, k, _| {
            assert_ne!(k, b"during");
            keys += 1;
            Ok(())
        },
    )
    .unwrap();
    assert_eq!(keys, 200);
}

#[test]
fn save_points_trigger_a_background_save() {
    let dir = temp_dir("savepoints");
    let s = start_in(&dir, &["--save", "1 2"]);
    let mut c = s.conn();
    assert_eq!(
        strings(ok(&mut c, &["CONFIG", "GET", "save"])),
        vec!["save", "1 2"]
    );
    ok(&mut c, &["SET", "a", "1"]);
    std::thread::sleep(Duration::from_millis(1500));
    assert!(
        !dir.join("dump.rdb").exists(),
        "one change is below the save point"
    );
    ok(&mut c, &["SET", "b", "2"]);
    wait_for("the save point's BGSAVE", || dir.join("dump.rdb").exists());
    wait_bgsave(&mut c);
    ok(&mut c, &["CONFIG", "SET", "save", ""]);
    assert_eq!(
        strings(ok(&mut c, &["CONFIG", "GET", "save"])),
        vec!["save", ""]
    );
    ok(
        &mut c,
        &["CONFIG", "SET", "save", "3600 1 300 100 60 10000"],
    );
    assert_eq!(
        strings(ok(&mut c, &["CONFIG", "GET", "save"])),
        vec!["save", "3600 1 300 100 60 10000"]
    );
    assert!(err(&mut c, &["CONFIG", "SET", "save", "3600"]).contains("Invalid save parameters"));
}

#[test]
fn shutdown_and_sigterm_save_as_redis_does() {
    let dir = temp_dir("shutdown");
    // No save points: SIGTERM does not save, SHUTDOWN SAVE does.
    let s = start_in(&dir, &[]);
    ok(&mut s.conn(), &["SET", "k", "1"]);
    assert_eq!(s.terminate(), Some(0));
    assert!(!dir.join("dump.rdb").exists());
    let s = start_in(&dir, &[]);
    let mut c = s.conn();
    ok(&mut c, &["SET", "k", "2"]);
    let _ = run(&mut c, &["SHUTDOWN", "SAVE"]);
    let mut s = s;
    assert_eq!(s.wait_exit(Duration::from_secs(10)), Some(0));
    assert!(dir.join("dump.rdb").exists());
    // With save points, SIGTERM saves; SHUTDOWN NOSAVE does not.
    let s = start_in(&dir, &["--save", "3600 1"]);
    let mut c = s.conn();
    assert_eq!(text(&ok(&mut c, &["GET", "k"])), "2");
    ok(&mut c, &["SET", "k", "3"]);
    drop(c);
    assert_eq!(s.terminate(), Some(0));
    let s = start_in(&dir, &["--save", "3600 1"]);
    let mut c = s.conn();
    assert_eq!(text(&ok(&mut c, &["GET", "k"])), "3");
    ok(&mut c, &["SET", "k", "4"]);
    let _ = run(&mut c, &["SHUTDOWN", "NOSAVE"]);
    let mut s = s;
    assert_eq!(s.wait_exit(Duration::from_secs(10)), Some(0));
    let s = start_in(&dir, &[]);
    assert_eq!(text(&ok(&mut s.conn(), &["GET", "k"])), "3");
}

#[test]
fn failed_background_save_stops_writes_until_one_succeeds() {
    let dir = temp_dir("misconf");
    let gone = dir.join("gone");
    std::fs::create_dir_all(&gone).unwrap();
    // `dir` is a protected config (CONFIG SET refuses it by default, as Redis).
    let s = start_in(
        &dir,
        &["--save", "3600 1", "--enable-protected-configs", "yes"],
    );
    let mut c = s.conn();
    ok(&mut c, &["CONFIG", "SET", "dir", gone.to_str().unwrap()]);
    std::fs::remove_dir(&gone).unwrap();
    ok(&mut c, &["SET", "k", "v"]);
    ok(&mut c, &["BGSAVE"]);
    wait_bgsave(&mut c);
    assert_eq!(info_field(&mut c, "rdb_last_bgsave_status"), "err");
    let misconf = err(&mut c, &["SET", "k", "w"]);
    assert!(
        misconf.starts_with("MISCONF Redis is configured to save RDB snapshots"),
        "{misconf}"
    );
    assert!(err(&mut c, &["PING"]).starts_with("MISCONF"));
    assert_eq!(text(&ok(&mut c, &["GET", "k"])), "v", "reads still work");
    // Inside MULTI the write is refused at queue time and EXEC aborts.
    ok(&mut c, &["MULTI"]);
    assert!(err(&mut c, &["SET", "k", "w"]).starts_with("MISCONF"));
    assert!(err(&mut c, &["EXEC"]).starts_with("EXECABORT"));
    // Turning the rule off lets writes through; so does a successful save.
    ok(
        &mut c,
        &["CONFIG", "SET", "stop-writes-on-bgsave-error", "no"],
    );
    ok(&mut c, &["SET", "k", "w"]);
    ok(
        &mut c,
        &["CONFIG", "SET", "stop-writes-on-bgsave-error", "yes"],
    );
    assert!(err(&mut c, &["SET", "k", "x"]).starts_with("MISCONF"));
    std::fs::create_dir_all(&gone).unwrap();
    ok(&mut c, &["BGSAVE"]);
    wait_bgsave(&mut c);
    assert_eq!(info_field(&mut c, "rdb_last_bgsave_status"), "ok");
    ok(&mut c, &["SET", "k", "x"]);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn loading_answers_loading_and_debug_reload_keeps_the_data() {
    let dir = temp_dir("loading");
    let s = start_in(&dir, &["--enable-debug-command", "yes"]);
    let mut c = s.conn();
    for i in 0..3000 {
        ok(&mut c, &["SET", &format!("k{i}"), &i.to_string()]);
    }
    ok(&mut c, &["RPUSH", "l", "a", "b"]);
    let before = keyspace(&mut c, 1);
    assert_eq!(ok(&mut c, &["DEBUG", "RELOAD"]), Value::Okay);
    assert_same_keyspace(&keyspace(&mut c, 1), &before, "after reload");
    ok(&mut c, &["SAVE"]);
    drop(c);
    drop(s);
    // A slow start-up load: clients get -LOADING, commands flagged `loading` still run.
    let conf = dir.join("slow.conf");
    std::fs::write(
        &conf,
        format!(
            "save \"\"\ndir {}\nkey-load-delay 500\nenable-debug-command yes\n",
            dir.display()
        ),
    )
    .unwrap();
    let s = Server::start_listening(&["--config", conf.to_str().unwrap()]);
    let mut raw = s.raw();
    raw.send(b"GET k1\r\n");
    raw.expect(b"-LOADING Redis is loading the dataset in memory\r\n");
    raw.send(b"INFO persistence\r\n");
    let mut got = Vec::new();
    while !String::from_utf8_lossy(&got).contains("loading:1\r") {
        got.extend(raw.read_n(1));
    }
    raw.send(b"LASTSAVE\r\n");
    s.wait_ready().unwrap();
    let mut c = s.conn();
    assert_same_keyspace(&keyspace(&mut c, 1), &before, "after reload");
    assert_eq!(info_field(&mut c, "loading"), "0");
    assert_eq!(
        err(&mut c, &["DEBUG", "NOPE"]),
        "ERR unknown subcommand or wrong number of arguments for 'NOPE'. Try DEBUG HELP."
    );
}

#[test]
fn corrupt_files_refuse_to_start_with_the_file_and_offset() {
    let dir = temp_dir("corrupt");
    let s = start_in(&dir, &[]);
    let mut c = s.conn();
    populate(&mut c);
    ok(&mut c, &["SAVE"]);
    drop(c);
    drop(s);
    let good = std::fs::read(dir.join("dump.rdb")).unwrap();
    let mut rng = crate::common::splitmix::SplitMix64(7);
    for round in 0..6 {
        let mut bad = good.clone();
        if round % 2 == 0 {
            bad.truncate((rng.next_u64() as usize) % good.len());
        } else {
            let at = 9 + (rng.next_u64() as usize) % (good.len() - 9);
            bad[at] ^= 1 << (rng.next_u64() % 8);
        }
        std::fs::write(dir.join("dump.rdb"), &bad).unwrap();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_ferrokv-server"))
            .args(["--port", "0", "--save", "", "--dir", dir.to_str().unwrap()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let out = wait_output(out, Duration::from_secs(20));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "round {round}: {stderr}");
        assert!(
            stderr.contains("dump.rdb") && stderr.contains("offset"),
            "round {round}: {stderr}"
        );
    }
}

pub(crate) fn wait_output(mut child: std::process::Child, limit: Duration) -> std::process::Output {
    let deadline = Instant::now() + limit;
    loop {
        if let Ok(Some(_)) = child.try_wait() {
            return child.wait_with_output().unwrap();
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the server neither started nor exited: it hangs on a corrupt file");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn bgsave_is_a_point_in_time_snapshot_under_transactions() {
    const ACCOUNTS: usize = 50;
    let dir = temp_dir("pit");
    let s = start_in(&dir, &["--threads", "2"]);
    let mut c = s.conn();
    for i in 0..ACCOUNTS {
        ok(&mut c, &["SET", &format!("acct{{{i}}}"), "1000"]);
    }
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writers: Vec<_> = (0..3)
        .map(|t| {
            let (stop, url) = (stop.clone(), s.url());
            std::thread::spawn(move || {
                let mut c = redis::Client::open(url).unwrap().get_connection().unwrap();
                let mut i = t * 17;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let (a, b) = (i % ACCOUNTS, (i * 7 + 3) % ACCOUNTS);
                    i += 1;
                    let _: () = redis::pipe()
                        .atomic()
                        .cmd("DECRBY")
                        .arg(format!("acct{{{a}}}"))
                        .arg(3)
                        .ignore()
                        .cmd("INCRBY")
                        .arg(format!("acct{{{b}}}"))
                        .arg(3)
                        .ignore()
                        .query(&mut c)
                        .unwrap();
                }
            })
        })
        .collect();
    for _ in 0..10 {
        ok(&mut c, &["BGSAVE"]);
        wait_bgsave(&mut c);
        let path = dir.join("dump.rdb");
        let mut total = 0i64;
        ferrokv::persist::rdb::file::load(
            std::fs::File::open(&path).unwrap(),
            std::fs::metadata(&path).unwrap().len(),
            16,
            0,
            |_, _| {},
            |_, _, e| {
                let v = e.value.as_str().unwrap();
                total += std::str::from_utf8(v).unwrap().parse::<i64>().unwrap();
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(
            total,
            1000 * ACCOUNTS as i64,
            "a transaction was torn by BGSAVE"
        );
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for w in writers {
        w.join().unwrap();
    }
}

#[test]
fn dump_and_restore_move_values_both_ways_with_redis() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    populate(&mut c);
    let keys = strings(ok(&mut c, &["KEYS", "*"]));
    // Round trip inside ferrokv.
    for k in &keys {
        let payload = match ok(&mut c, &["DUMP", k]) {
            Value::BulkString(p) => p,
            v => panic!("DUMP {k}: {v:?}"),
        };
        let mut cmd = redis::cmd("RESTORE");
        cmd.arg(format!("copy-{k}")).arg(0).arg(&payload[..]);
        let _: () = cmd.query(&mut c).unwrap();
        let mut cmd = redis::cmd("RESTORE");
        cmd.arg(k).arg(0).arg(&payload[..]);
        let e = cmd.query::<()>(&mut c).unwrap_err();
        assert_eq!(
            crate::common::error_text(&e),
            "BUSYKEY Target key name already exists."
        );
    }
    assert_eq!(ok(&mut c, &["DUMP", "nosuchkey"]), Value::Nil);
    let bad_checksum = {
        let mut cmd = redis::cmd("RESTORE");
        cmd.arg("x")
            .arg(0)
            .arg(&b"\x00\x03abc\x0a\x00\x00\x00\x00\x00\x00\x00\x00\x01"[..]);
        crate::common::error_text(&cmd.query::<()>(&mut c).unwrap_err())
    };
    assert_eq!(
        bad_checksum,
        "ERR DUMP payload version or checksum are wrong"
    );
    assert_eq!(
        err(&mut c, &["RESTORE", "x", "-1", "abc"]),
        "ERR Invalid TTL value, must be >= 0"
    );
    assert_eq!(
        err(&mut c, &["RESTORE", "x", "0", "abc", "IDLETIME", "-1"]),
        "ERR Invalid IDLETIME value, must be >= 0"
    );
    assert_eq!(
        err(&mut c, &["RESTORE", "x", "0", "abc", "FREQ", "256"]),
        "ERR Invalid FREQ value, must be >= 0 and <= 255"
    );
    assert_eq!(
        err(&mut c, &["RESTORE", "x", "0", "abc", "BOGUS"]),
        "ERR syntax error"
    );
    let Some(r) = Server::start_redis() else {
        eprintln!("redis-server not installed: the Redis half is skipped");
        return;
    };
    let mut rc = r.conn();
    populate(&mut rc);
    for k in &keys {
        // Redis -> ferrokv and ferrokv -> Redis, with a TTL.
        for (from, to) in [
            (
                &mut rc as *mut redis::Connection,
                &mut c as *mut redis::Connection,
            ),
            (&mut c as *mut _, &mut rc as *mut _),
        ] {
            // SAFETY: two distinct connections, used one at a time.
            let (from, to) = unsafe { (&mut *from, &mut *to) };
            let Value::BulkString(payload) = ok(from, &["DUMP", k]) else {
                panic!("DUMP {k}")
            };
            let mut cmd = redis::cmd("RESTORE");
            cmd.arg(format!("moved-{k}"))
                .arg(100_000)
                .arg(&payload[..])
                .arg("REPLACE");
            let _: () = cmd.query(to).unwrap_or_else(|e| panic!("RESTORE {k}: {e}"));
        }
    }
    let ours: Keyspace = keyspace(&mut c, 1)
        .into_iter()
        .filter(|((_, k), _)| k.starts_with("moved-"))
        .collect();
    let theirs: Keyspace = keyspace(&mut rc, 1)
        .into_iter()
        .filter(|((_, k), _)| k.starts_with("moved-"))
        .collect();
    assert_same_keyspace(&ours, &theirs, "moved with DUMP/RESTORE");
    assert_eq!(ours.len(), keys.len());
}
