//! Client-side caching (CLIENT TRACKING): invalidation pushes to the tracking client, to a
//! redirect target (RESP2 subscriber or RESP3) on another loop, OPTIN/OPTOUT, NOLOOP, flush
//! and expiry invalidations, the errors — and a byte-for-byte comparison with redis-server.

use std::io::Read;
use std::time::Duration;

use crate::common::{Raw, Server};

fn cmd(r: &mut Raw, args: &[&str]) {
    let mut b = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        b.extend_from_slice(format!("${}\r\n{}\r\n", a.len(), a).as_bytes());
    }
    r.send(&b);
}

/// Everything that arrives within a short quiet period.
fn drain(r: &mut Raw) -> String {
    r.s.set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    while let Ok(n) = r.s.read(&mut buf) {
        if n == 0 {
            break;
        }
        out.extend_from_slice(&buf[..n]);
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn client_id(r: &mut Raw) -> String {
    cmd(r, &["CLIENT", "ID"]);
    let s = drain(r);
    s.trim_start_matches(':').trim().to_string()
}

fn resp3(srv: &Server) -> Raw {
    let mut r = srv.raw();
    cmd(&mut r, &["HELLO", "3"]);
    drain(&mut r);
    r
}

const INV_A: &str = ">2\r\n$10\r\ninvalidate\r\n*1\r\n$1\r\na\r\n";

/// A script run on one RESP3 connection (no client ids in it): the bytes must equal Redis's.
const SCRIPT: &[&[&str]] = &[
    &["CLIENT", "TRACKING", "on"],
    &["GET", "a"],
    &["SET", "a", "1"],
    &["GET", "a"],
    &["MGET", "a", "b"],
    &["MSET", "a", "2", "b", "3"],
    &["CLIENT", "TRACKINGINFO"],
    &["CLIENT", "GETREDIR"],
    &["FLUSHALL"],
    &["CLIENT", "TRACKING", "on", "bcast"],
    &["CLIENT", "TRACKING", "on", "prefix", "a"],
    &["CLIENT", "TRACKING", "on", "optin", "optout"],
    &["CLIENT", "TRACKING", "on", "optin"],
    &["CLIENT", "TRACKING", "on", "redirect", "999999"],
    &["CLIENT", "TRACKING", "on", "redirect", "x"],
    &["CLIENT", "TRACKING", "on", "foo"],
    &["CLIENT", "TRACKING", "maybe"],
    &["CLIENT", "CACHING", "yes"],
    &["CLIENT", "TRACKING", "off"],
    &["CLIENT", "CACHING", "yes"],
    &["CLIENT", "TRACKING", "on", "optin"],
    &["CLIENT", "CACHING", "no"],
    &["CLIENT", "CACHING", "maybe"],
    &["GET", "c"],
    &["SET", "c", "1"],
    &["CLIENT", "CACHING", "yes"],
    &["CLIENT", "TRACKINGINFO"],
    &["GET", "c"],
    &["SET", "c", "2"],
    &["CLIENT", "TRACKING", "off"],
    &["CLIENT", "TRACKING", "on", "optout", "noloop"],
    &["CLIENT", "CACHING", "yes"],
    &["CLIENT", "CACHING", "no"],
    &["GET", "d"],
    &["SET", "d", "1"],
    &["GET", "e"],
    &["SET", "e", "1"],
    &["CLIENT", "TRACKINGINFO"],
    &["MULTI"],
    &["GET", "e"],
    &["EXEC"],
    &["CLIENT", "TRACKING", "off"],
    &["CLIENT", "TRACKINGINFO"],
];

/// BCAST mode on one RESP3 connection: prefixes, per-prefix pushes (MSET, EXEC), the prefix
/// rules and errors, NOLOOP.
const BCAST_SCRIPT: &[&[&str]] = &[
    &[
        "CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "a:", "PREFIX", "b:",
    ],
    &["MSET", "a:1", "x", "b:2", "y", "c:3", "z", "a:0", "w"],
    &["MULTI"],
    &["INCR", "a:n"],
    &["SET", "b:x", "1"],
    &["SET", "c:x", "1"],
    &["DEL", "a:1", "a:n"],
    &["EXEC"],
    &["CLIENT", "TRACKINGINFO"],
    &["CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "a"],
    &["CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "a:1"],
    // (Redis 7.0 replies both an error and +OK when the overlap is past the first prefix
    // given; ferrokv replies the error only.)
    &[
        "CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "d", "PREFIX", "dd", "PREFIX", "c:",
    ],
    &["CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "c:"],
    &["SET", "c:1", "1"],
    &["CLIENT", "TRACKINGINFO"],
    &["CLIENT", "TRACKING", "on"],
    &["CLIENT", "TRACKING", "on", "BCAST", "OPTIN"],
    &["CLIENT", "TRACKING", "off"],
    &["SET", "a:1", "1"],
    &["CLIENT", "TRACKING", "on", "BCAST", "NOLOOP"],
    &["SET", "k", "1"],
    &["CLIENT", "TRACKINGINFO"],
    &["CLIENT", "TRACKING", "off"],
    &["CLIENT", "TRACKING", "on"],
    &["GET", "z"],
    &["CLIENT", "TRACKING", "on", "BCAST"],
    &["CLIENT", "TRACKING", "off"],
    &["CLIENT", "TRACKING", "on", "BCAST"],
    &["SET", "z", "1"],
    &["FLUSHALL"],
    &["CLIENT", "TRACKING", "off"],
];

fn run_script(srv: &Server) -> String {
    run(srv, SCRIPT)
}

fn run(srv: &Server, script: &[&[&str]]) -> String {
    let mut r = resp3(srv);
    let mut out = String::new();
    for c in script {
        cmd(&mut r, c);
        out.push_str(&drain(&mut r));
    }
    out
}

#[test]
fn matches_redis_byte_for_byte() {
    let ours = run_script(&Server::start(&["--threads", "2"]));
    let Some(redis) = Server::start_redis() else {
        println!("skipped: redis-server not found");
        return;
    };
    assert_eq!(ours, run_script(&redis));
}

#[test]
fn bcast_matches_redis_byte_for_byte() {
    let ours = run(&Server::start(&["--threads", "2"]), BCAST_SCRIPT);
    assert!(ours.contains(">2\r\n$10\r\ninvalidate\r\n*2\r\n$3\r\na:0\r\n$3\r\na:1\r\n"));
    let Some(redis) = Server::start_redis() else {
        println!("skipped: redis-server not found");
        return;
    };
    assert_eq!(ours, run(&redis, BCAST_SCRIPT));
}

#[test]
fn bcast_reaches_subscribers_on_other_loops_and_skips_own_noloop_writes() {
    let srv = Server::start(&["--threads", "2"]);
    let mut sub = srv.raw();
    let sub_id = client_id(&mut sub);
    cmd(&mut sub, &["SUBSCRIBE", "__redis__:invalidate"]);
    drain(&mut sub);
    let mut ts: Vec<Raw> = (0..3).map(|_| srv.raw()).collect();
    for t in &mut ts {
        cmd(
            t,
            &[
                "CLIENT", "TRACKING", "on", "BCAST", "NOLOOP", "REDIRECT", &sub_id, "PREFIX", "u:",
            ],
        );
        assert_eq!(drain(t), "+OK\r\n");
    }
    let mut info = srv.raw();
    cmd(&mut info, &["INFO", "clients"]);
    let s = drain(&mut info);
    assert!(s.contains("tracking_clients:3"), "{s}");
    cmd(&mut info, &["INFO", "stats"]);
    assert!(drain(&mut info).contains("tracking_total_prefixes:1"));
    // ts[0]'s own write: the other two are told.
    cmd(&mut ts[0], &["MSET", "u:1", "a", "v:1", "b"]);
    drain(&mut ts[0]);
    let msg = "*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n*1\r\n$3\r\nu:1\r\n";
    assert_eq!(drain(&mut sub), msg.repeat(2));
    // ts[1]'s SET: the other two; its expiry is nobody's own write: all three (the active
    // sweep visits each shard once a second).
    cmd(&mut ts[1], &["SET", "u:e", "1", "PX", "30"]);
    let mut s = String::new();
    for _ in 0..5 {
        std::thread::sleep(Duration::from_millis(300));
        s.push_str(&drain(&mut sub));
    }
    assert_eq!(s.matches("u:e").count(), 5, "{s}");
}

#[test]
fn table_limit_invalidates_keys_over_it() {
    let srv = Server::start(&["--threads", "2"]);
    let mut t = resp3(&srv);
    cmd(&mut t, &["CLIENT", "TRACKING", "on"]);
    cmd(&mut t, &["MGET", "a", "b", "c", "d"]);
    drain(&mut t);
    cmd(&mut t, &["CONFIG", "SET", "tracking-table-max-keys", "1"]);
    let s = drain(&mut t);
    assert!(s.starts_with("+OK\r\n"), "{s}");
    assert_eq!(s.matches("invalidate").count(), 3, "{s}");
    cmd(&mut t, &["GET", "e"]);
    let s = drain(&mut t);
    assert_eq!(s.matches("invalidate").count(), 1, "{s}");
    let mut info = srv.raw();
    cmd(&mut info, &["INFO", "stats"]);
    assert!(drain(&mut info).contains("tracking_total_keys:1"));
    cmd(&mut t, &["CONFIG", "GET", "tracking-table-max-keys"]);
    assert!(drain(&mut t).contains("$1\r\n1\r\n"));
}

#[test]
fn default_mode_invalidates_after_the_reply() {
    let srv = Server::start(&["--threads", "2"]);
    let mut r = resp3(&srv);
    cmd(&mut r, &["CLIENT", "TRACKING", "on"]);
    cmd(&mut r, &["GET", "a"]);
    assert_eq!(drain(&mut r), "+OK\r\n_\r\n");
    cmd(&mut r, &["SET", "a", "1"]);
    assert_eq!(drain(&mut r), format!("+OK\r\n{INV_A}"));
    // Untracked again until read.
    cmd(&mut r, &["SET", "a", "2"]);
    assert_eq!(drain(&mut r), "+OK\r\n");
}

#[test]
fn other_clients_writes_reach_trackers_on_other_loops() {
    let srv = Server::start(&["--threads", "2"]);
    let mut trackers: Vec<Raw> = (0..4).map(|_| resp3(&srv)).collect();
    for t in &mut trackers {
        cmd(t, &["CLIENT", "TRACKING", "on"]);
        cmd(t, &["GET", "a"]);
        drain(t);
    }
    let mut w = srv.raw();
    cmd(&mut w, &["SET", "a", "1"]);
    assert_eq!(drain(&mut w), "+OK\r\n");
    for t in &mut trackers {
        assert_eq!(drain(t), INV_A);
    }
    let mut info = srv.raw();
    cmd(&mut info, &["INFO", "clients"]);
    assert!(drain(&mut info).contains("tracking_clients:4"));
}

#[test]
fn redirect_to_resp2_subscriber_and_resp3_client() {
    let srv = Server::start(&["--threads", "2"]);
    let mut sub = srv.raw();
    let sub_id = client_id(&mut sub);
    cmd(&mut sub, &["SUBSCRIBE", "__redis__:invalidate"]);
    drain(&mut sub);
    let mut push = resp3(&srv);
    let push_id = client_id(&mut push);
    let mut t1 = srv.raw();
    let mut t2 = srv.raw();
    cmd(&mut t1, &["CLIENT", "TRACKING", "on", "REDIRECT", &sub_id]);
    cmd(&mut t2, &["CLIENT", "TRACKING", "on", "REDIRECT", &push_id]);
    cmd(&mut t1, &["GET", "k"]);
    cmd(&mut t2, &["GET", "k"]);
    drain(&mut t1);
    drain(&mut t2);
    cmd(&mut t1, &["CLIENT", "GETREDIR"]);
    assert_eq!(drain(&mut t1), format!(":{sub_id}\r\n"));
    cmd(&mut t1, &["SET", "k", "v"]);
    assert_eq!(drain(&mut t1), "+OK\r\n");
    assert_eq!(
        drain(&mut sub),
        "*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n*1\r\n$1\r\nk\r\n"
    );
    assert_eq!(
        drain(&mut push),
        ">2\r\n$10\r\ninvalidate\r\n*1\r\n$1\r\nk\r\n"
    );
    // CLIENT LIST shows the flag and the redirect.
    cmd(&mut t1, &["CLIENT", "INFO"]);
    let line = drain(&mut t1);
    assert!(line.contains("flags=t "), "{line}");
    assert!(line.contains(&format!("redir={sub_id} ")), "{line}");
}

#[test]
fn broken_redirect_is_reported() {
    let srv = Server::start(&["--threads", "2"]);
    let mut target = srv.raw();
    let id = client_id(&mut target);
    let mut t = resp3(&srv);
    cmd(&mut t, &["CLIENT", "TRACKING", "on", "REDIRECT", &id]);
    cmd(&mut t, &["GET", "k"]);
    drain(&mut t);
    drop(target);
    std::thread::sleep(Duration::from_millis(200));
    cmd(&mut t, &["SET", "k", "1"]);
    assert_eq!(
        drain(&mut t),
        format!("+OK\r\n>2\r\n$21\r\ntracking-redir-broken\r\n:{id}\r\n")
    );
    cmd(&mut t, &["CLIENT", "TRACKINGINFO"]);
    assert!(drain(&mut t).contains("broken_redirect"));
}

#[test]
fn noloop_flush_and_expiry() {
    let srv = Server::start(&["--threads", "2"]);
    let mut t = resp3(&srv);
    cmd(&mut t, &["CLIENT", "TRACKING", "on", "NOLOOP"]);
    cmd(&mut t, &["GET", "a"]);
    drain(&mut t);
    cmd(&mut t, &["SET", "a", "1"]);
    assert_eq!(drain(&mut t), "+OK\r\n");
    let mut other = resp3(&srv);
    cmd(&mut other, &["CLIENT", "TRACKING", "on"]);
    drain(&mut other);
    cmd(&mut t, &["FLUSHALL"]);
    assert_eq!(drain(&mut t), "+OK\r\n>2\r\n$10\r\ninvalidate\r\n_\r\n");
    assert_eq!(drain(&mut other), ">2\r\n$10\r\ninvalidate\r\n_\r\n");
    cmd(&mut other, &["SET", "e", "1", "PX", "50"]);
    cmd(&mut other, &["GET", "e"]);
    drain(&mut other);
    // The active sweep visits each shard once a second; a loaded machine may take longer.
    std::thread::sleep(Duration::from_millis(1000));
    cmd(&mut t, &["DBSIZE"]);
    drain(&mut t);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let mut pushed = String::new();
    while pushed.is_empty() && std::time::Instant::now() < deadline {
        pushed = drain(&mut other);
    }
    assert_eq!(pushed, ">2\r\n$10\r\ninvalidate\r\n*1\r\n$1\r\ne\r\n");
}
