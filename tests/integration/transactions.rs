//! MULTI / EXEC / DISCARD / WATCH across threads: the server runs 4 loops and every test uses
//! several connections, so clients sit on different threads.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use crate::common::{err, run, Server};
use redis::Value;

fn start() -> Server {
    Server::start(&["--threads", "4"])
}

fn int(c: &mut redis::Connection, args: &[&str]) -> i64 {
    match run(c, args).unwrap() {
        Value::Int(n) => n,
        Value::BulkString(b) => String::from_utf8(b).unwrap().parse().unwrap(),
        other => panic!("{args:?}: {other:?}"),
    }
}

#[test]
fn exec_runs_the_queue_and_reports_each_reply() {
    let s = start();
    let mut c = s.conn();
    let (a, b): (i64, i64) = redis::pipe()
        .atomic()
        .cmd("INCR")
        .arg("n")
        .cmd("INCRBY")
        .arg("n")
        .arg(10)
        .query(&mut c)
        .unwrap();
    assert_eq!((a, b), (1, 11));
    let mut raw = s.raw();
    raw.send(b"MULTI\r\nSET k v\r\nLPUSH k x\r\nGET k\r\nEXEC\r\n");
    raw.expect(
        b"+OK\r\n+QUEUED\r\n+QUEUED\r\n+QUEUED\r\n*3\r\n+OK\r\n-WRONGTYPE Operation against a key holding the wrong kind of value\r\n$1\r\nv\r\n",
    );
    raw.send(b"MULTI\r\nNOSUCH\r\nSET k w\r\nEXEC\r\nGET k\r\n");
    raw.expect(
        b"+OK\r\n-ERR unknown command 'NOSUCH', with args beginning with: \r\n+QUEUED\r\n-EXECABORT Transaction discarded because of previous errors.\r\n$1\r\nv\r\n",
    );
    raw.send(b"EXEC\r\nDISCARD\r\nMULTI\r\nMULTI\r\nWATCH k\r\nDISCARD\r\n");
    raw.expect(
        b"-ERR EXEC without MULTI\r\n-ERR DISCARD without MULTI\r\n+OK\r\n-ERR MULTI calls can not be nested\r\n-ERR WATCH inside MULTI is not allowed\r\n+OK\r\n",
    );
    // RESP3: a WATCH abort is the null (`_`), not `*-1`.
    raw.send(b"HELLO 3\r\nPING\r\n");
    let mut seen = Vec::new();
    while !seen.ends_with(b"+PONG\r\n") {
        seen.extend(raw.read_n(1));
    }
    let mut other = s.conn();
    raw.send(b"WATCH k\r\n");
    raw.expect(b"+OK\r\n");
    run(&mut other, &["SET", "k", "changed"]).unwrap();
    raw.send(b"MULTI\r\nGET k\r\nEXEC\r\n");
    raw.expect(b"+OK\r\n+QUEUED\r\n_\r\n");
}

#[test]
fn client_list_shows_the_open_transaction() {
    let s = start();
    let mut c = s.conn();
    let info = |c: &mut redis::Connection| match run(c, &["CLIENT", "INFO"]).unwrap() {
        Value::BulkString(b) => String::from_utf8(b).unwrap(),
        Value::VerbatimString { text, .. } => text,
        other => panic!("{other:?}"),
    };
    assert!(info(&mut c).contains(" flags=N "));
    assert!(info(&mut c).contains(" multi=-1 "));
    let mut raw = s.raw();
    raw.send(b"CLIENT SETNAME tx\r\nMULTI\r\nPING\r\nPING\r\n");
    raw.expect(b"+OK\r\n+OK\r\n+QUEUED\r\n+QUEUED\r\n");
    let list = match run(&mut c, &["CLIENT", "LIST"]).unwrap() {
        Value::BulkString(b) => String::from_utf8(b).unwrap(),
        Value::VerbatimString { text, .. } => text,
        other => panic!("{other:?}"),
    };
    let line = list.lines().find(|l| l.contains(" name=tx ")).unwrap();
    assert!(
        line.contains(" flags=x ") && line.contains(" multi=2 "),
        "{line}"
    );
}

/// Writers on several threads move amounts between accounts in transactions while readers on
/// other threads check the total with MGET and with transactions of GETs: nobody may ever
/// see a partial transfer.
#[test]
fn no_thread_observes_a_partial_transaction() {
    const ACCOUNTS: usize = 16;
    const START: i64 = 1000;
    const TRANSFERS: usize = 1500;
    let s = start();
    let keys: Vec<String> = (0..ACCOUNTS).map(|i| format!("acct:{i}")).collect();
    let mut c = s.conn();
    for k in &keys {
        run(&mut c, &["SET", k, &START.to_string()]).unwrap();
    }
    let total = START * ACCOUNTS as i64;
    let done = Arc::new(AtomicBool::new(false));
    let checks = Arc::new(AtomicU64::new(0));
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let mut c = s.conn();
            let keys = keys.clone();
            thread::spawn(move || {
                let mut x = w as usize * 7919 + 1;
                for i in 0..TRANSFERS {
                    x = x
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    let from = &keys[(x >> 33) % ACCOUNTS];
                    let to = &keys[(x >> 17) % ACCOUNTS];
                    let amount = (i % 50) as i64 + 1;
                    let (_, _): (i64, i64) = redis::pipe()
                        .atomic()
                        .cmd("DECRBY")
                        .arg(from)
                        .arg(amount)
                        .cmd("INCRBY")
                        .arg(to)
                        .arg(amount)
                        .query(&mut c)
                        .unwrap();
                }
            })
        })
        .collect();
    let readers: Vec<_> = (0..3)
        .map(|r| {
            let mut c = s.conn();
            let keys = keys.clone();
            let done = done.clone();
            let checks = checks.clone();
            thread::spawn(move || {
                while !done.load(Ordering::SeqCst) {
                    let values: Vec<i64> = if r % 2 == 0 {
                        redis::cmd("MGET").arg(&keys).query(&mut c).unwrap()
                    } else {
                        let mut p = redis::pipe();
                        p.atomic();
                        for k in &keys {
                            p.cmd("GET").arg(k);
                        }
                        p.query(&mut c).unwrap()
                    };
                    assert_eq!(values.iter().sum::<i64>(), total, "partial transfer seen");
                    checks.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    for w in writers {
        w.join().unwrap();
    }
    done.store(true, Ordering::SeqCst);
    for r in readers {
        r.join().unwrap();
    }
    let values: Vec<i64> = redis::cmd("MGET").arg(&keys).query(&mut c).unwrap();
    assert_eq!(values.iter().sum::<i64>(), total);
    assert!(checks.load(Ordering::Relaxed) > 100);
}

/// The classic optimistic-locking loop (WATCH, GET, MULTI, SET, EXEC, retry on nil) from
/// several threads: every increment lands exactly once, so WATCH caught every conflict.
#[test]
fn watch_makes_read_modify_write_safe_across_threads() {
    const CLIENTS: usize = 4;
    const INCREMENTS: usize = 300;
    let s = start();
    let aborts = Arc::new(AtomicU64::new(0));
    let handles: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let mut c = s.conn();
            let aborts = aborts.clone();
            thread::spawn(move || {
                for _ in 0..INCREMENTS {
                    loop {
                        run(&mut c, &["WATCH", "counter"]).unwrap();
                        let v: Option<i64> =
                            redis::cmd("GET").arg("counter").query(&mut c).unwrap();
                        let next = v.unwrap_or(0) + 1;
                        let r: Option<(String,)> = redis::pipe()
                            .atomic()
                            .cmd("SET")
                            .arg("counter")
                            .arg(next)
                            .query(&mut c)
                            .unwrap();
                        if r.is_some() {
                            break;
                        }
                        aborts.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let mut c = s.conn();
    assert_eq!(
        int(&mut c, &["GET", "counter"]),
        (CLIENTS * INCREMENTS) as i64
    );
}

/// Heavy writes to other keys (thousands, so many share the watched key's shard) never abort
/// a transaction watching a key nobody touches.
#[test]
fn writes_to_other_keys_never_abort_a_watch() {
    let s = start();
    let done = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..2)
        .map(|w| {
            let mut c = s.conn();
            let done = done.clone();
            thread::spawn(move || {
                let mut i = 0u64;
                while !done.load(Ordering::SeqCst) {
                    let mut p = redis::pipe();
                    for j in 0..100 {
                        p.cmd("SET")
                            .arg(format!("other:{w}:{}", (i + j) % 20_000))
                            .arg(i);
                        p.cmd("DEL")
                            .arg(format!("other:{w}:{}", (i + j + 7) % 20_000));
                    }
                    p.query::<()>(&mut c).unwrap();
                    i += 100;
                }
            })
        })
        .collect();
    let mut c = s.conn();
    run(&mut c, &["SET", "mine", "0"]).unwrap();
    for n in 1..=300 {
        run(&mut c, &["WATCH", "mine", "missing"]).unwrap();
        thread::sleep(Duration::from_micros(200));
        let r: Option<(i64,)> = redis::pipe()
            .atomic()
            .cmd("INCR")
            .arg("mine")
            .query(&mut c)
            .unwrap();
        assert_eq!(r, Some((n,)), "false abort at iteration {n}");
    }
    done.store(true, Ordering::SeqCst);
    for w in writers {
        w.join().unwrap();
    }
}

/// Every kind of change by another connection aborts EXEC: modify, delete, expire, flush,
/// swap, rename onto it.
#[test]
fn every_kind_of_change_to_a_watched_key_aborts() {
    let s = start();
    let mut c = s.conn();
    let mut other = s.conn();
    let aborted = |c: &mut redis::Connection| -> bool {
        let r: Option<(String,)> = redis::pipe().atomic().cmd("PING").query(c).unwrap();
        r.is_none()
    };
    let changes: &[(&[&str], &[&str])] = &[
        (&["SET", "k", "1"], &["SET", "k", "2"]),
        (&["SET", "k", "1"], &["DEL", "k"]),
        (&["SET", "k", "1"], &["INCR", "k"]),
        (&["SET", "k", "1"], &["EXPIRE", "k", "100"]),
        (&["SET", "k", "1"], &["FLUSHDB"]),
        (&["SET", "k", "1"], &["FLUSHALL"]),
        (&["SET", "k", "1"], &["SWAPDB", "0", "1"]),
        (&["SET", "src", "1"], &["RENAME", "src", "k"]),
        (&["DEL", "k"], &["LPUSH", "k", "a"]),
        (&["SET", "k", "1"], &["MOVE", "k", "2"]),
        (&["SET", "k", "1"], &["APPEND", "k", "x"]),
    ];
    for (setup, change) in changes {
        run(&mut c, &["FLUSHALL"]).unwrap();
        run(&mut c, setup).unwrap();
        run(&mut c, &["WATCH", "k"]).unwrap();
        run(&mut other, change).unwrap();
        assert!(aborted(&mut c), "{change:?} did not abort");
    }
    // Expiry with nobody touching the key.
    run(&mut c, &["SET", "k", "1", "PX", "30"]).unwrap();
    run(&mut c, &["WATCH", "k"]).unwrap();
    thread::sleep(Duration::from_millis(80));
    assert!(aborted(&mut c), "expiry did not abort");
    // No-op "changes" do not abort: FLUSHALL when the key does not exist, SET NX on an
    // existing key, a read.
    let no_changes: &[(&[&str], &[&str])] = &[
        (&["DEL", "k"], &["FLUSHALL"]),
        (&["SET", "k", "1"], &["SET", "k", "2", "NX"]),
        (&["SET", "k", "1"], &["GET", "k"]),
        (&["SET", "k", "1"], &["SET", "k2", "1"]),
    ];
    for (setup, change) in no_changes {
        run(&mut c, &["DEL", "k"]).unwrap();
        run(&mut c, setup).unwrap();
        run(&mut c, &["WATCH", "k"]).unwrap();
        run(&mut other, change).unwrap();
        assert!(!aborted(&mut c), "{change:?} aborted");
    }
    // DISCARD and UNWATCH forget the watch.
    run(&mut c, &["WATCH", "k"]).unwrap();
    run(&mut other, &["SET", "k", "x"]).unwrap();
    run(&mut c, &["UNWATCH"]).unwrap();
    assert!(!aborted(&mut c));
    assert!(err(&mut c, &["EXEC"]).contains("EXEC without MULTI"));
}

/// A client that disconnects while watching leaves nothing behind (its registrations are
/// removed): later changes still work and other watchers are unaffected.
#[test]
fn disconnecting_watchers_leave_no_trace() {
    let s = start();
    for _ in 0..50 {
        let mut c = s.conn();
        run(&mut c, &["WATCH", "a", "b", "c"]).unwrap();
        run(&mut c, &["MULTI"]).unwrap();
        run(&mut c, &["SET", "a", "1"]).unwrap();
    }
    let mut c = s.conn();
    run(&mut c, &["WATCH", "a"]).unwrap();
    let r: Option<(String,)> = redis::pipe()
        .atomic()
        .cmd("SET")
        .arg("a")
        .arg("2")
        .query(&mut c)
        .unwrap();
    assert!(r.is_some());
    assert_eq!(int(&mut c, &["EXISTS", "a"]), 1);
}
