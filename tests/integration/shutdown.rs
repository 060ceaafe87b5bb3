//! The graceful shutdown against the real binary: SIGTERM lets a large reply in flight reach
//! its client, refuses new connections meanwhile, and does not wait past `shutdown-timeout`
//! for a client that never reads; SHUTDOWN ABORT cancels (the waiting SHUTDOWN gets Redis's
//! error, the server listens and takes writes again); `shutdown-on-sigterm nosave`; the
//! directives' CONFIG GET/SET replies compared with redis-server. (SIGTERM and SHUTDOWN
//! saving with save points, with a reload check, are in `persistence.rs`.)

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::common::{error_text, ok, run, temp_file, Server};

/// The large value: much more than the socket buffers hold, so most of its reply is still in
/// the server when the signal comes.
const BIG: usize = 32 << 20;

fn sigterm(s: &Server) {
    let status = std::process::Command::new("kill")
        .args(["-TERM", &s.pid().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
}

/// A server holding `big` (BIG bytes) and a raw client that asked for it and has not read.
fn with_big_reply_pending(flags: &[&str]) -> (Server, TcpStream) {
    let s = Server::start(flags);
    let mut c = s.conn();
    ok(&mut c, &["SETRANGE", "big", &(BIG - 1).to_string(), "x"]);
    let mut r = TcpStream::connect(("127.0.0.1", s.port)).expect("connect");
    r.write_all(b"GET big\r\n").unwrap();
    // Let the server fill the socket buffers and keep the rest.
    std::thread::sleep(Duration::from_millis(200));
    (s, r)
}

/// Reads the whole bulk reply of BIG bytes; returns how many bytes came.
fn read_all(r: &mut TcpStream) -> usize {
    r.set_read_timeout(Some(Duration::from_secs(20))).ok();
    let header = format!("${BIG}\r\n");
    let want = header.len() + BIG + 2;
    let mut got = 0;
    let mut buf = vec![0u8; 1 << 16];
    while got < want {
        match r.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => got += n,
        }
    }
    got
}

#[test]
fn sigterm_lets_a_large_reply_reach_its_client_and_refuses_new_connections() {
    let (mut s, mut r) = with_big_reply_pending(&["--threads", "2"]);
    sigterm(&s);
    // Once the shutdown began, nobody new gets in (the listeners are closed).
    let deadline = Instant::now() + Duration::from_secs(5);
    while TcpStream::connect(("127.0.0.1", s.port)).is_ok() {
        assert!(Instant::now() < deadline, "still accepting after SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    }
    // The server waits for the reply to drain: read it slowly at first.
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        s.wait_exit(Duration::from_millis(1)),
        None,
        "exited before the reply was read"
    );
    assert_eq!(read_all(&mut r), format!("${BIG}\r\n").len() + BIG + 2);
    assert_eq!(s.wait_exit(Duration::from_secs(10)), Some(0));
}

#[test]
fn a_client_that_never_reads_does_not_keep_the_server_past_shutdown_timeout() {
    let (mut s, _never_read) = with_big_reply_pending(&["--shutdown-timeout", "1"]);
    let t = Instant::now();
    sigterm(&s);
    assert_eq!(s.wait_exit(Duration::from_secs(10)), Some(0));
    let took = t.elapsed();
    assert!(
        took >= Duration::from_millis(800) && took < Duration::from_secs(5),
        "exited after {took:?}"
    );
}

#[test]
fn shutdown_abort_cancels_a_shutdown_in_progress() {
    let (mut s, mut r) = with_big_reply_pending(&["--shutdown-timeout", "30"]);
    let mut waiter = s.raw();
    // Connected before the shutdown: still served, writes held by the shutdown's pause.
    let mut admin = s.conn();
    waiter.send(b"SHUTDOWN NOSAVE\r\n");
    std::thread::sleep(Duration::from_millis(200));
    assert!(
        TcpStream::connect(("127.0.0.1", s.port)).is_err(),
        "new connections refused"
    );
    assert_eq!(
        format!("{:?}", ok(&mut admin, &["SHUTDOWN", "ABORT"])),
        "ok"
    );
    waiter.expect(b"-ERR Errors trying to SHUTDOWN. Check logs.\r\n");
    // Listening again, and writes run again.
    let mut fresh = s.conn();
    ok(&mut fresh, &["SET", "after", "1"]);
    assert_eq!(
        error_text(&run(&mut fresh, &["SHUTDOWN", "ABORT"]).unwrap_err()),
        "ERR No shutdown in progress."
    );
    assert_eq!(read_all(&mut r), format!("${BIG}\r\n").len() + BIG + 2);
    assert_eq!(
        s.wait_exit(Duration::from_millis(200)),
        None,
        "still running"
    );
}

#[test]
fn shutdown_on_sigterm_nosave_skips_the_save_points() {
    let dir = temp_file("sigterm-nosave");
    std::fs::create_dir_all(&dir).unwrap();
    let d = dir.to_str().unwrap();
    let s = Server::start(&[
        "--dir",
        d,
        "--save",
        "3600 1",
        "--shutdown-on-sigterm",
        "nosave",
    ]);
    ok(&mut s.conn(), &["SET", "k", "v"]);
    assert_eq!(s.terminate(), Some(0));
    assert!(!dir.join("dump.rdb").exists());
    let s = Server::start(&["--dir", d, "--save", "3600 1"]);
    let mut c = s.conn();
    ok(&mut c, &["SET", "k", "v"]);
    ok(
        &mut c,
        &["CONFIG", "SET", "shutdown-on-sigterm", "save now"],
    );
    assert_eq!(s.terminate(), Some(0));
    assert!(dir.join("dump.rdb").exists());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn shutdown_directives_read_and_set_as_redis() {
    let steps: &[&[&str]] = &[
        &["CONFIG", "GET", "shutdown-timeout"],
        // (One at a time: Redis orders a pattern's matches by its hash table.)
        &["CONFIG", "GET", "shutdown-on-sigint"],
        &["CONFIG", "SET", "shutdown-timeout", "3"],
        &["CONFIG", "SET", "shutdown-timeout", "-1"],
        &["CONFIG", "SET", "shutdown-on-sigterm", "nosave now"],
        &["CONFIG", "GET", "shutdown-on-sigterm"],
        &["CONFIG", "SET", "shutdown-on-sigint", "save nosave"],
        &["CONFIG", "SET", "shutdown-on-sigint", "later"],
        &["CONFIG", "SET", "shutdown-on-sigint", "default"],
        &["CONFIG", "GET", "shutdown-on-sigint"],
        &["CONFIG", "GET", "shutdown-timeout"],
    ];
    let servers: Vec<Server> = std::iter::once(Server::start(&[]))
        .chain(Server::start_redis())
        .collect();
    let mut seen: Vec<Vec<String>> = Vec::new();
    for s in &servers {
        let mut c = s.conn();
        seen.push(
            steps
                .iter()
                .map(|a| match run(&mut c, a) {
                    Err(e) => format!("-{}", error_text(&e)),
                    Ok(v) => format!("{v:?}"),
                })
                .collect(),
        );
    }
    assert!(seen[0][5].contains("nosave now"), "{}", seen[0][5]);
    for other in &seen[1..] {
        for (args, (a, b)) in steps.iter().zip(seen[0].iter().zip(other)) {
            assert_eq!(a, b, "{args:?}: ferrokv vs redis-server");
        }
    }
}
