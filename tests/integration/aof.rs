//! The append-only file against the real binary, with the real `redis-server` and
//! `redis-check-aof` as the oracle where installed: restarts after `kill -9` under every fsync
//! policy, Redis 7.0's multi-part directory in both directions (RDB preamble and command
//! bases), torn and corrupt files, BGREWRITEAOF while clients write, `CONFIG SET appendonly`
//! at run time, INFO's aof fields, and the crash loop (`kill -9` at random moments under a
//! transactional writer).

use std::path::Path;
use std::time::Duration;

use crate::common::{ok, run, splitmix::SplitMix64, Server};
use crate::persistence::{
    assert_same_keyspace, info_field, keyspace, populate, start_in, temp_dir, text, wait_for,
    wait_output,
};

/// The writes that Redis rewrites before logging them (relative expiries, floats, random
/// pops, blocking pops), on top of [`populate`]'s every-type dataset.
fn rewritten_writes(c: &mut redis::Connection) {
    ok(c, &["SET", "ex", "v", "EX", "900"]);
    ok(c, &["SETEX", "setex", "800", "v"]);
    ok(c, &["PSETEX", "psetex", "700000", "v"]);
    ok(c, &["SET", "exp", "v"]);
    ok(c, &["EXPIRE", "exp", "600"]);
    ok(c, &["SET", "gone", "v"]);
    ok(c, &["EXPIRE", "gone", "-1"]);
    ok(c, &["SET", "getex", "v"]);
    ok(c, &["GETEX", "getex", "PX", "500000"]);
    ok(c, &["SET", "float", "1.5"]);
    ok(c, &["INCRBYFLOAT", "float", "0.25"]);
    ok(c, &["HINCRBYFLOAT", "hfloat", "f", "2.5"]);
    ok(c, &["SADD", "spop", "a", "b", "c", "d", "e"]);
    ok(c, &["SPOP", "spop", "2"]);
    ok(c, &["RPUSH", "blist", "x", "y", "z"]);
    ok(c, &["BLPOP", "blist", "0"]);
    ok(c, &["BLMOVE", "blist", "bdst", "RIGHT", "LEFT", "0"]);
    ok(c, &["MULTI"]);
    ok(c, &["INCR", "tx-counter"]);
    ok(c, &["SELECT", "2"]);
    ok(c, &["RPUSH", "tx-list", "in-db2"]);
    ok(c, &["SELECT", "0"]);
    ok(c, &["EXEC"]);
}

/// The files of an AOF directory, sorted.
fn aof_files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir.join("appendonlydir"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn manifest(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("appendonlydir/appendonly.aof.manifest")).unwrap()
}

/// The last incr file named by the manifest.
fn last_incr(dir: &Path) -> std::path::PathBuf {
    let m = manifest(dir);
    let name = m
        .lines()
        .rfind(|l| l.contains("type i"))
        .and_then(|l| l.split(' ').nth(1))
        .expect("an incr file in the manifest")
        .to_string();
    dir.join("appendonlydir").join(name)
}

fn wait_rewrite(c: &mut redis::Connection) {
    wait_for("the AOF rewrite to end", || {
        info_field(c, "aof_rewrite_in_progress") == "0"
            && info_field(c, "aof_rewrite_scheduled") == "0"
    });
}

fn redis_check_aof(dir: &Path) {
    let Ok(out) = std::process::Command::new("redis-check-aof")
        .arg(dir.join("appendonlydir/appendonly.aof.manifest"))
        .output()
    else {
        eprintln!("redis-check-aof not installed: skipped");
        return;
    };
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "redis-check-aof: {said}");
    assert!(said.contains("is valid"), "redis-check-aof: {said}");
}

#[test]
fn every_fsync_policy_survives_kill_9() {
    for policy in ["always", "everysec", "no"] {
        let dir = temp_dir(&format!("aof-{policy}"));
        let s = start_in(&dir, &["--appendonly", "yes", "--appendfsync", policy]);
        let mut c = s.conn();
        populate(&mut c);
        rewritten_writes(&mut c);
        let before = keyspace(&mut c, 16);
        assert_eq!(info_field(&mut c, "aof_enabled"), "1");
        drop(c);
        // SIGKILL: a process crash (not the machine's) keeps every acknowledged write, under
        // every policy, because it reached the file before its reply left.
        drop(s);
        redis_check_aof(&dir);
        let s = start_in(&dir, &["--appendonly", "yes", "--appendfsync", policy]);
        let mut c = s.conn();
        assert_same_keyspace(&keyspace(&mut c, 16), &before, policy);
        assert_eq!(
            text(&ok(&mut c, &["GET", "float"])),
            "1.75",
            "INCRBYFLOAT replays exactly"
        );
        assert_eq!(text(&ok(&mut c, &["SCARD", "spop"])), "3");
        assert!(!dir.join("dump.rdb").exists(), "no RDB without save points");
    }
}

#[test]
fn redis_loads_the_append_only_directory_ferrokv_writes() {
    for (preamble, rewrite) in [("yes", false), ("yes", true), ("no", true)] {
        let what = format!("preamble {preamble}, rewritten {rewrite}");
        let dir = temp_dir("aof-to-redis");
        let flags = ["--appendonly", "yes", "--aof-use-rdb-preamble", preamble];
        let s = start_in(&dir, &flags);
        let mut c = s.conn();
        populate(&mut c);
        if rewrite {
            ok(&mut c, &["BGREWRITEAOF"]);
            wait_rewrite(&mut c);
            assert_eq!(info_field(&mut c, "aof_last_bgrewrite_status"), "ok");
            let base = if preamble == "yes" { "rdb" } else { "aof" };
            assert!(
                aof_files(&dir).contains(&format!("appendonly.aof.2.base.{base}")),
                "{what}: {:?}",
                aof_files(&dir)
            );
        }
        rewritten_writes(&mut c);
        let ours = keyspace(&mut c, 16);
        drop(c);
        drop(s);
        redis_check_aof(&dir);
        let Some(r) =
            Server::start_redis_with(&["--dir", dir.to_str().unwrap(), "--appendonly", "yes"])
        else {
            eprintln!("redis-server not installed: skipped");
            return;
        };
        let mut rc = r.conn();
        assert_same_keyspace(&keyspace(&mut rc, 16), &ours, &what);
    }
}

#[test]
fn ferrokv_loads_the_append_only_directory_redis_writes() {
    for preamble in ["yes", "no"] {
        let dir = temp_dir("aof-from-redis");
        let Some(r) = Server::start_redis_with(&[
            "--dir",
            dir.to_str().unwrap(),
            "--appendonly",
            "yes",
            "--aof-use-rdb-preamble",
            preamble,
        ]) else {
            eprintln!("redis-server not installed: skipped");
            return;
        };
        let mut rc = r.conn();
        populate(&mut rc);
        ok(&mut rc, &["BGREWRITEAOF"]);
        wait_rewrite(&mut rc);
        rewritten_writes(&mut rc);
        let theirs = keyspace(&mut rc, 16);
        drop(rc);
        drop(r);
        let s = start_in(&dir, &["--appendonly", "yes"]);
        let mut c = s.conn();
        assert_same_keyspace(&keyspace(&mut c, 16), &theirs, preamble);
        // And it carries on appending where Redis stopped.
        ok(&mut c, &["SET", "after", "1"]);
        drop(c);
        drop(s);
        let s = start_in(&dir, &["--appendonly", "yes"]);
        let mut c = s.conn();
        assert_eq!(text(&ok(&mut c, &["GET", "after"])), "1");
    }
}

/// Starts ferrokv on `dir`: the running server if it starts, or its exit code and stderr if
/// it refuses.
fn start_or_exit(dir: &Path, extra: &[&str]) -> Result<Server, (Option<i32>, String)> {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_ferrokv-server"));
    child
        .args(["--port", "0", "--save", "", "--dir", dir.to_str().unwrap()])
        .args(extra)
        .current_dir(dir)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = child.spawn().unwrap();
    // A server that starts prints its port line; one that refuses exits.
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        let mut line = String::new();
        let _ = std::io::BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = rx.recv_timeout(Duration::from_secs(20)).unwrap_or_default();
    // The server listens before it loads (clients get -LOADING meanwhile): it has started
    // once PING answers PONG, and refused if it exits first.
    if let Some(port) = line
        .trim()
        .strip_prefix("ferrokv-server listening on port ")
    {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while std::time::Instant::now() < deadline {
            if child.try_wait().unwrap().is_some() {
                break;
            }
            if crate::common::ping(port.parse().unwrap()) {
                let _ = child.kill();
                let _ = child.wait();
                // Start it again through the harness, which owns the process from then on.
                return Ok(start_in(dir, extra));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    let out = wait_output(child, Duration::from_secs(20));
    Err((
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    ))
}

#[test]
fn a_torn_tail_loads_with_aof_load_truncated_and_refuses_without() {
    let dir = temp_dir("aof-torn");
    let s = start_in(&dir, &["--appendonly", "yes"]);
    let mut c = s.conn();
    for i in 0..100 {
        ok(&mut c, &["RPUSH", "l", &i.to_string()]);
    }
    drop(c);
    drop(s);
    let incr = last_incr(&dir);
    let whole = std::fs::read(&incr).unwrap();
    // Cut inside the last command.
    std::fs::write(&incr, &whole[..whole.len() - 3]).unwrap();
    let (code, stderr) =
        start_or_exit(&dir, &["--appendonly", "yes", "--aof-load-truncated", "no"])
            .err()
            .expect("refuses to start on a torn AOF with aof-load-truncated no");
    assert_eq!(code, Some(1), "{stderr}");
    let name = incr.file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        stderr.contains(&name)
            && stderr.contains("offset")
            && stderr.contains("aof-load-truncated"),
        "{stderr}"
    );
    // The default (yes) drops the torn command, cuts the file back and carries on.
    let s = start_in(&dir, &["--appendonly", "yes"]);
    let mut c = s.conn();
    assert_eq!(text(&ok(&mut c, &["LLEN", "l"])), "99");
    ok(&mut c, &["RPUSH", "l", "new"]);
    drop(c);
    drop(s);
    redis_check_aof(&dir);
    let s = start_in(&dir, &["--appendonly", "yes"]);
    let mut c = s.conn();
    assert_eq!(text(&ok(&mut c, &["LLEN", "l"])), "100");
    assert_eq!(text(&ok(&mut c, &["RPOP", "l"])), "new");
}

#[test]
fn corrupt_append_only_files_load_what_is_valid_or_name_the_file_and_offset() {
    let dir = temp_dir("aof-corrupt");
    let s = start_in(&dir, &["--appendonly", "yes"]);
    let mut c = s.conn();
    populate(&mut c);
    drop(c);
    drop(s);
    let incr = last_incr(&dir);
    let good = std::fs::read(&incr).unwrap();
    let mut rng = SplitMix64(11);
    for round in 0..8 {
        let mut bad = good.clone();
        if round % 2 == 0 {
            bad.truncate((rng.next_u64() as usize) % good.len());
        } else {
            let at = (rng.next_u64() as usize) % good.len();
            bad[at] ^= 1 << (rng.next_u64() % 8);
        }
        std::fs::write(&incr, &bad).unwrap();
        match start_or_exit(&dir, &["--appendonly", "yes"]) {
            Ok(s) => {
                // It loaded a valid prefix (a torn tail) or a flip that still parses.
                let mut c = s.conn();
                assert!(run(&mut c, &["DBSIZE"]).is_ok(), "round {round}");
            }
            Err((code, stderr)) => {
                assert_eq!(code, Some(1), "round {round}: {stderr}");
                assert!(
                    stderr.contains("appendonly.aof") && stderr.contains("offset"),
                    "round {round}: {stderr}"
                );
                assert!(!stderr.contains("panicked"), "round {round}: {stderr}");
            }
        }
    }
}

#[test]
fn bgrewriteaof_while_clients_write_keeps_every_acknowledged_write() {
    let dir = temp_dir("aof-rewrite-live");
    let s = start_in(&dir, &["--appendonly", "yes", "--threads", "2"]);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writers: Vec<_> = (0..2)
        .map(|w| {
            let mut c = s.conn();
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut acked = 0u64;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    ok(&mut c, &["MULTI"]);
                    ok(&mut c, &["INCR", &format!("counter-{w}")]);
                    ok(&mut c, &["RPUSH", &format!("log-{w}"), &acked.to_string()]);
                    ok(&mut c, &["EXEC"]);
                    acked += 1;
                }
                acked
            })
        })
        .collect();
    let mut c = s.conn();
    for round in 0..4 {
        std::thread::sleep(Duration::from_millis(150));
        ok(&mut c, &["BGREWRITEAOF"]);
        wait_rewrite(&mut c);
        assert_eq!(
            info_field(&mut c, "aof_last_bgrewrite_status"),
            "ok",
            "round {round}"
        );
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let acked: Vec<u64> = writers.into_iter().map(|w| w.join().unwrap()).collect();
    assert!(acked.iter().all(|&n| n > 0));
    let rewrites: u64 = info_field(&mut c, "aof_rewrites").parse().unwrap();
    assert!(rewrites >= 4, "{rewrites}");
    drop(c);
    drop(s);
    // Only the newest base and incr files are left; the manifest names them.
    let files = aof_files(&dir);
    assert_eq!(files.len(), 3, "{files:?}");
    redis_check_aof(&dir);
    let s = start_in(&dir, &["--appendonly", "yes"]);
    let mut c = s.conn();
    for (w, &n) in acked.iter().enumerate() {
        assert_eq!(
            text(&ok(&mut c, &["GET", &format!("counter-{w}")])),
            n.to_string()
        );
        assert_eq!(
            text(&ok(&mut c, &["LLEN", &format!("log-{w}")])),
            n.to_string()
        );
    }
}

#[test]
fn config_set_appendonly_yes_rewrites_then_logs() {
    let dir = temp_dir("aof-runtime");
    let s = start_in(&dir, &[]);
    let mut c = s.conn();
    populate(&mut c);
    assert_eq!(info_field(&mut c, "aof_enabled"), "0");
    assert!(!dir.join("appendonlydir").exists());
    ok(&mut c, &["CONFIG", "SET", "appendonly", "yes"]);
    wait_rewrite(&mut c);
    assert_eq!(info_field(&mut c, "aof_enabled"), "1");
    assert_eq!(info_field(&mut c, "aof_last_bgrewrite_status"), "ok");
    assert_eq!(info_field(&mut c, "aof_rewrites"), "1");
    ok(&mut c, &["SET", "after", "switch"]);
    rewritten_writes(&mut c);
    let size: u64 = info_field(&mut c, "aof_current_size").parse().unwrap();
    let base: u64 = info_field(&mut c, "aof_base_size").parse().unwrap();
    assert!(size > base && base > 0, "{size} {base}");
    assert_eq!(info_field(&mut c, "aof_last_write_status"), "ok");
    let before = keyspace(&mut c, 16);
    drop(c);
    drop(s);
    let s = start_in(&dir, &["--appendonly", "yes"]);
    let mut c = s.conn();
    assert_same_keyspace(
        &keyspace(&mut c, 16),
        &before,
        "after CONFIG SET appendonly yes",
    );
    // And off again: the files stay, nothing more is appended.
    ok(&mut c, &["CONFIG", "SET", "appendonly", "no"]);
    assert_eq!(info_field(&mut c, "aof_enabled"), "0");
    let incr = last_incr(&dir);
    let len = std::fs::metadata(&incr).unwrap().len();
    ok(&mut c, &["SET", "not-logged", "x"]);
    assert_eq!(std::fs::metadata(&incr).unwrap().len(), len);
}

/// One crash cycle count for `make test`; `make crash-test` sets `FERROKV_CRASH_CYCLES=200`.
fn crash_cycles() -> u64 {
    std::env::var("FERROKV_CRASH_CYCLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20)
}

/// `appendfsync always`: a writer sends MULTI INCR RPUSH EXEC transactions; the server is
/// killed with SIGKILL at a random moment and restarted from its files, `cycles` times. After
/// each restart every acknowledged transaction is there and none is torn (the counter equals
/// the list's length; at most the one transaction in flight at the kill may also be there).
#[test]
fn kill_9_at_random_moments_loses_no_acknowledged_transaction() {
    crash_loop("always", 0xc0ffee, crash_cycles(), 20..220);
}

/// The same loop with `appendfsync everysec`: a kill -9 loses nothing either (every reply
/// follows the write(2) of its command; only the fsync is deferred). What an OS crash or power
/// loss could lose is what was written since the last fsync: the loop samples its age
/// (`aof_unsynced_age_ms`) while writing and prints the largest one seen — the loss window
/// the README reports — and it must stay within Redis's bound (about 2 s).
#[test]
fn kill_9_with_everysec_loses_nothing_and_reports_the_fsync_window() {
    // Runs long enough (1-3 s) for several fsyncs, so the window is the steady one.
    let window_ms = crash_loop("everysec", 0xbeef, (crash_cycles() / 4).max(4), 1000..3000);
    eprintln!("everysec: largest age of unsynced AOF data seen: {window_ms} ms");
    assert!(window_ms <= 2500, "{window_ms} ms since the last fsync");
}

/// Runs the crash loop under `policy` for `cycles` kills, each after a random number of ms in
/// `run_ms`; returns the largest fsync age seen (ms).
fn crash_loop(policy: &str, seed: u64, cycles: u64, run_ms: std::ops::Range<u64>) -> u64 {
    let dir = temp_dir(&format!("aof-crash-{policy}"));
    let mut rng = SplitMix64(seed);
    let flags = [
        "--appendonly",
        "yes",
        "--appendfsync",
        policy,
        "--threads",
        "2",
    ];
    let mut acked_total = 0u64;
    let mut window_ms = 0u64;
    for cycle in 0..cycles {
        let s = start_in(&dir, &flags);
        let mut c = s.conn();
        let n: u64 = text(&ok(&mut c, &["GET", "counter"])).parse().unwrap_or(0);
        let len: u64 = text(&ok(&mut c, &["LLEN", "log"])).parse().unwrap();
        assert_eq!(n, len, "cycle {cycle}: a torn transaction");
        assert!(
            n == acked_total || n == acked_total + 1,
            "cycle {cycle}: {n} transactions on disk, {acked_total} acknowledged"
        );
        acked_total = n;
        let pid = s.pid();
        let delay =
            Duration::from_millis(run_ms.start + rng.next_u64() % (run_ms.end - run_ms.start));
        // Watches the fsync age until the kill, from its own connection.
        let mut watcher = s.conn();
        let killer = std::thread::spawn(move || {
            let deadline = std::time::Instant::now() + delay;
            let mut seen = 0u64;
            while std::time::Instant::now() < deadline {
                if let Ok(v) = run(&mut watcher, &["INFO", "persistence"]) {
                    let age = text(&v)
                        .lines()
                        .find_map(|l| l.strip_prefix("aof_unsynced_age_ms:"))
                        .and_then(|v| v.trim().parse().ok())
                        .unwrap_or(0);
                    seen = seen.max(age);
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            let _ = std::process::Command::new("kill")
                .args(["-9", &pid.to_string()])
                .status();
            seen
        });
        // Write until the connection breaks; count what was acknowledged.
        loop {
            let mut p = redis::pipe();
            p.atomic()
                .cmd("INCR")
                .arg("counter")
                .cmd("RPUSH")
                .arg("log")
                .arg(acked_total);
            match p.query::<(u64, u64)>(&mut c) {
                Ok((counter, _)) => {
                    assert_eq!(counter, acked_total + 1, "cycle {cycle}");
                    acked_total += 1;
                }
                Err(_) => break,
            }
        }
        window_ms = window_ms.max(killer.join().unwrap());
        drop(c);
        drop(s);
    }
    let s = start_in(&dir, &flags);
    let mut c = s.conn();
    let n: u64 = text(&ok(&mut c, &["GET", "counter"])).parse().unwrap();
    assert!(n == acked_total || n == acked_total + 1);
    assert!(
        acked_total > cycles,
        "the writer made progress: {acked_total}"
    );
    window_ms
}

/// Caps the size of files `pid` may write (RLIMIT_FSIZE; `None`: no cap): a write past it
/// fails with EFBIG, a disk that is full for that process.
fn cap_file_size(pid: u32, bytes: Option<u64>) {
    let limit = libc::rlimit {
        rlim_cur: bytes.unwrap_or(libc::RLIM_INFINITY),
        rlim_max: libc::RLIM_INFINITY,
    };
    // SAFETY: a valid rlimit for a process this test started; no pointers are kept.
    let rc = unsafe {
        libc::prlimit(
            pid as libc::pid_t,
            libc::RLIMIT_FSIZE,
            &limit,
            std::ptr::null_mut(),
        )
    };
    assert_eq!(rc, 0, "prlimit: {}", std::io::Error::last_os_error());
}

#[test]
fn a_failing_disk_refuses_writes_with_misconf_and_recovers_losing_nothing() {
    let dir = temp_dir("aof-disk-full");
    let s = start_in(&dir, &["--appendonly", "yes", "--appendfsync", "everysec"]);
    let mut c = s.conn();
    ok(&mut c, &["SET", "before", "1"]);
    let size = std::fs::metadata(last_incr(&dir)).unwrap().len();
    cap_file_size(s.pid(), Some(size + 1000));
    let value = "v".repeat(100);
    let mut acked = Vec::new();
    let mut refusal = None;
    for i in 0..1000 {
        match run(&mut c, &["SET", &format!("k{i}"), &value]) {
            Ok(_) => acked.push(i),
            Err(e) => {
                refusal = Some(crate::common::error_text(&e));
                break;
            }
        }
    }
    assert_eq!(
        refusal.as_deref(),
        Some("MISCONF Errors writing to the AOF file: File too large"),
        "after {} writes",
        acked.len()
    );
    assert!(!acked.is_empty());
    // Reads go on; writes and PING are refused (Redis's rule); INFO tells.
    assert_eq!(text(&ok(&mut c, &["GET", "before"])), "1");
    assert!(run(&mut c, &["PING"]).is_err());
    assert_eq!(info_field(&mut c, "aof_last_write_status"), "err");
    // Space returns: the buffered writes reach the file and writes are accepted again.
    cap_file_size(s.pid(), None);
    wait_for("writes accepted again", || {
        run(&mut c, &["SET", "after", "1"]).is_ok()
    });
    assert_eq!(info_field(&mut c, "aof_last_write_status"), "ok");
    // Past the everysec window, a kill -9 loses nothing that was acknowledged, and the file
    // holds no half-written command.
    std::thread::sleep(Duration::from_millis(2500));
    drop(c);
    drop(s);
    redis_check_aof(&dir);
    let s = start_in(&dir, &["--appendonly", "yes"]);
    let mut c = s.conn();
    assert_eq!(text(&ok(&mut c, &["GET", "after"])), "1");
    for i in acked {
        assert_eq!(text(&ok(&mut c, &["GET", &format!("k{i}")])), value, "k{i}");
    }
}

#[test]
fn with_appendfsync_always_a_failing_disk_holds_the_reply_until_the_write_is_on_disk() {
    let dir = temp_dir("aof-disk-full-always");
    let s = start_in(
        &dir,
        &[
            "--appendonly",
            "yes",
            "--appendfsync",
            "always",
            "--threads",
            "1",
        ],
    );
    let mut c = s.conn();
    ok(&mut c, &["SET", "before", "1"]);
    let size = std::fs::metadata(last_incr(&dir)).unwrap().len();
    cap_file_size(s.pid(), Some(size));
    let writer = std::thread::spawn(move || {
        let r = run(&mut c, &["SET", "held", "1"]);
        (c, r.is_ok())
    });
    std::thread::sleep(Duration::from_millis(500));
    assert!(!writer.is_finished(), "acknowledged before it was on disk");
    cap_file_size(s.pid(), None);
    let (mut c, acked) = writer.join().unwrap();
    assert!(acked);
    assert_eq!(info_field(&mut c, "aof_last_write_status"), "ok");
    ok(&mut c, &["SET", "after", "1"]);
    drop(c);
    drop(s);
    let s = start_in(&dir, &["--appendonly", "yes"]);
    let mut c = s.conn();
    for key in ["before", "held", "after"] {
        assert_eq!(text(&ok(&mut c, &["GET", key])), "1", "{key}");
    }
}

#[test]
fn a_full_disk_fails_bgsave_with_redis_s_status_and_log_then_recovers() {
    let dir = temp_dir("rdb-disk-full");
    let log = dir.join("server.log");
    let log_file = std::fs::File::create(&log).unwrap();
    let s = Server::start_with(
        &["--dir", dir.to_str().unwrap(), "--save", "3600 1"],
        |cmd| {
            cmd.stderr(log_file);
        },
    );
    let mut c = s.conn();
    let value = "x".repeat(100);
    for i in 0..2000 {
        ok(&mut c, &["SET", &format!("k{i}"), &value]);
    }
    cap_file_size(s.pid(), Some(10_000));
    ok(&mut c, &["BGSAVE"]);
    crate::persistence::wait_bgsave(&mut c);
    assert_eq!(info_field(&mut c, "rdb_last_bgsave_status"), "err");
    let misconf = crate::common::err(&mut c, &["SET", "k", "v"]);
    assert!(
        misconf.starts_with("MISCONF Redis is configured to save RDB snapshots"),
        "{misconf}"
    );
    let leftovers: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("temp-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    let text_of_log = std::fs::read_to_string(&log).unwrap();
    assert!(
        text_of_log.contains("Write error saving DB on disk(rdbSaveRio): File too large")
            && text_of_log.contains("Background saving error"),
        "{text_of_log}"
    );
    // Space returns: the next BGSAVE succeeds and writes are accepted again.
    cap_file_size(s.pid(), None);
    ok(&mut c, &["BGSAVE"]);
    crate::persistence::wait_bgsave(&mut c);
    assert_eq!(info_field(&mut c, "rdb_last_bgsave_status"), "ok");
    ok(&mut c, &["SET", "k", "v"]);
    assert!(dir.join("dump.rdb").exists());
}
