//! The stored CONFIG parameters (`src/tunables.rs`): names, aliases, defaults, validation and
//! multi-parameter atomicity compared with a real redis-server 7.0; and the ones with an
//! effect: `min-replicas-to-write` (-NOREPLICAS), `hz` (active expiry) and `oom-score-adj`.

use crate::common::{err, ok, Server};
use crate::conn_util::{call, call_text};

fn server() -> Server {
    Server::start(&["--threads", "2"])
}

#[rustfmt::skip]
const STEPS: &[&[&str]] = &[
    // (Exact names: Redis lists a glob's matches in its dict order.)
    &["CONFIG", "GET", "hz"], &["CONFIG", "GET", "slave-read-only"], &["CONFIG", "GET", "lua-time-limit"],
    &["CONFIG", "GET", "busy-reply-threshold"], &["CONFIG", "GET", "maxmemory-clients"],
    &["CONFIG", "GET", "oom-score-adj"], &["CONFIG", "GET", "oom-score-adj-values"],
    &["CONFIG", "GET", "repl-backlog-size"], &["CONFIG", "GET", "repl-diskless-load"],
    &["CONFIG", "GET", "active-defrag-ignore-bytes"], &["CONFIG", "GET", "lazyfree-lazy-user-del"],
    &["CONFIG", "GET", "cluster-announce-bus-port"], &["CONFIG", "GET", "replica-announce-ip"],
    &["CONFIG", "GET", "stream-node-max-bytes"], &["CONFIG", "GET", "daemonize"],
    &["CONFIG", "SET", "hz", "x"], &["CONFIG", "SET", "hz", "-1"], &["CONFIG", "SET", "hz", "50"],
    &["CONFIG", "GET", "hz"],
    &["CONFIG", "SET", "maxmemory-clients", "200%"], &["CONFIG", "SET", "maxmemory-clients", "10%"],
    &["CONFIG", "GET", "maxmemory-clients"], &["CONFIG", "SET", "maxmemory-clients", "1mb"],
    &["CONFIG", "GET", "maxmemory-clients"], &["CONFIG", "SET", "maxmemory-clients", "0"],
    &["CONFIG", "SET", "oom-score-adj", "bad"], &["CONFIG", "SET", "oom-score-adj-values", "1 2"],
    &["CONFIG", "SET", "slave-read-only", "maybe"], &["CONFIG", "SET", "slave-read-only", "no"],
    &["CONFIG", "GET", "replica-read-only"], &["CONFIG", "SET", "replica-read-only", "yes"],
    &["CONFIG", "SET", "lua-time-limit", "100"], &["CONFIG", "GET", "busy-reply-threshold"],
    &["CONFIG", "SET", "busy-reply-threshold", "5000"],
    &["CONFIG", "SET", "repl-backlog-size", "2mb"], &["CONFIG", "GET", "repl-backlog-size"],
    &["CONFIG", "SET", "repl-diskless-load", "swapdb"], &["CONFIG", "SET", "repl-diskless-load", "nope"],
    &["CONFIG", "SET", "repl-timeout", "0"], &["CONFIG", "SET", "daemonize", "no"],
    &["CONFIG", "SET", "activedefrag", "yes"], &["CONFIG", "SET", "active-defrag-cycle-max", "100"],
    // All or nothing: a bad value leaves the good ones unapplied.
    &["CONFIG", "SET", "hz", "20", "repl-backlog-size", "3mb", "maxmemory-clients", "200%"],
    &["CONFIG", "GET", "hz"], &["CONFIG", "GET", "repl-backlog-size"],
    // min-replicas-to-write: no replicas, so writes are refused; reads are not.
    &["SET", "k", "v"], &["CONFIG", "SET", "min-replicas-to-write", "1"],
    &["SET", "k", "v2"], &["GET", "k"], &["MULTI"], &["INCR", "n"], &["EXEC"],
    &["MULTI"], &["GET", "k"], &["EXEC"],
    &["CONFIG", "SET", "min-replicas-max-lag", "0"], &["SET", "k", "v3"],
    &["CONFIG", "SET", "min-replicas-max-lag", "10", "min-slaves-to-write", "0"], &["SET", "k", "v4"],
    &["GET", "k"],
];

#[test]
fn stored_parameters_match_real_redis() {
    let Some(redis) = Server::start_redis() else {
        println!("skipped: redis-server not found");
        return;
    };
    let ours = server();
    for proto in ["2", "3"] {
        let mut a = redis.raw();
        let mut b = ours.raw();
        call(&mut a, &["HELLO", proto]);
        call(&mut b, &["HELLO", proto]);
        for step in STEPS {
            let want = call_text(&mut a, step);
            let got = call_text(&mut b, step);
            assert_eq!(got, want, "RESP{proto} {step:?}");
        }
    }
}

#[test]
fn hz_drives_active_expiry() {
    let s = server();
    let mut c = s.conn();
    ok(&mut c, &["CONFIG", "SET", "hz", "100"]);
    for i in 0..200 {
        ok(&mut c, &["SET", &format!("k{i}"), "v", "PX", "50"]);
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let n: i64 = redis::cmd("DBSIZE").query(&mut c).unwrap();
        if n == 0 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{n} keys left");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let info: String = redis::cmd("INFO").arg("stats").query(&mut c).unwrap();
    assert!(info.contains("expired_keys:200"), "{info}");
}

#[test]
fn oom_score_adj_is_applied_to_the_process() {
    let s = server();
    let path = format!("/proc/{}/oom_score_adj", s.pid());
    let Ok(base) = std::fs::read_to_string(&path) else {
        println!("skipped: no /proc");
        return;
    };
    let base: i64 = base.trim().parse().unwrap();
    let read = || -> i64 {
        std::fs::read_to_string(&path)
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    };
    let mut c = s.conn();
    ok(
        &mut c,
        &[
            "CONFIG",
            "SET",
            "oom-score-adj-values",
            "100 200 800",
            "oom-score-adj",
            "relative",
        ],
    );
    assert_eq!(read(), (base + 100).min(1000));
    ok(
        &mut c,
        &["CONFIG", "SET", "oom-score-adj-values", "300 200 800"],
    );
    assert_eq!(read(), (base + 300).min(1000));
    ok(&mut c, &["CONFIG", "SET", "oom-score-adj", "absolute"]);
    assert_eq!(read(), 300);
    ok(&mut c, &["CONFIG", "SET", "oom-score-adj", "no"]);
    assert_eq!(read(), base);
    assert!(
        err(&mut c, &["CONFIG", "SET", "oom-score-adj", "sometimes"]).contains("must be one of")
    );
}
