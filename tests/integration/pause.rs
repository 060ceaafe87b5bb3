//! CLIENT PAUSE / UNPAUSE against the real binary, differential with redis-server for the
//! replies: argument errors, WRITE holding writes (and PUBLISH, and EXEC with a queued write)
//! while reads go on, ALL holding everything until the timeout, clients on every loop held and
//! resumed, a held client's pipeline kept in order, expiry held, blocked clients' timeouts
//! still running. Held commands are observed as "no reply yet" on raw sockets, with generous
//! time bounds.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::common::{error_text, ok, run, Server};

/// How long a held command is watched for a reply that must not come.
const QUIET: Duration = Duration::from_millis(300);

fn raw(s: &Server) -> TcpStream {
    let c = TcpStream::connect(("127.0.0.1", s.port)).expect("connect");
    c.set_nodelay(true).ok();
    c
}

fn send(c: &mut TcpStream, cmd: &str) {
    let mut out = Vec::new();
    for line in cmd.split('\n') {
        let args: Vec<&str> = line.split_whitespace().collect();
        out.extend_from_slice(format!("*{}\r\n", args.len()).as_bytes());
        for a in args {
            out.extend_from_slice(format!("${}\r\n{a}\r\n", a.len()).as_bytes());
        }
    }
    c.write_all(&out).expect("send");
}

/// Reads exactly `want`'s length within 10 s and compares.
fn expect(c: &mut TcpStream, want: &str) {
    c.set_read_timeout(Some(Duration::from_secs(10))).ok();
    let mut got = vec![0u8; want.len()];
    c.read_exact(&mut got).expect("reply");
    assert_eq!(String::from_utf8_lossy(&got), want);
}

/// Asserts that nothing arrives within [`QUIET`].
fn quiet(c: &mut TcpStream) {
    c.set_read_timeout(Some(QUIET)).ok();
    let mut b = [0u8; 64];
    match c.read(&mut b) {
        Ok(n) => panic!(
            "a held command was answered: {:?}",
            String::from_utf8_lossy(&b[..n])
        ),
        Err(e) => assert!(
            matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ),
            "{e}"
        ),
    }
}

fn reply(c: &mut redis::Connection, args: &[&str]) -> String {
    match run(c, args) {
        Err(e) => format!("-{}", error_text(&e)),
        Ok(v) => format!("{v:?}"),
    }
}

/// ferrokv with `flags` (two loops, say) and, where installed, a plain redis-server.
fn both(flags: &[&str]) -> Vec<Server> {
    std::iter::once(Server::start(flags))
        .chain(Server::start_redis())
        .collect()
}

#[test]
fn argument_errors_and_replies_match_redis() {
    let steps: &[&[&str]] = &[
        &["CLIENT", "PAUSE"],
        &["CLIENT", "PAUSE", "abc"],
        &["CLIENT", "PAUSE", "-1"],
        &["CLIENT", "PAUSE", "10", "foo"],
        &["CLIENT", "PAUSE", "abc", "foo"],
        &["CLIENT", "PAUSE", "1.5"],
        &["CLIENT", "PAUSE", "99999999999999999999"],
        &["CLIENT", "PAUSE", "10", "write", "x"],
        &["CLIENT", "PAUSE", "0"],
        &["CLIENT", "PAUSE", "0", "WRITE"],
        &["CLIENT", "UNPAUSE", "x"],
        &["CLIENT", "UNPAUSE"],
        &["CLIENT", "UNPAUSE"],
        &["SHUTDOWN", "ABORT"],
        &["SHUTDOWN", "ABORT", "NOW"],
        &["SHUTDOWN", "SAVE", "NOSAVE"],
        &["SHUTDOWN", "bogus"],
    ];
    let mut seen: Vec<Vec<String>> = Vec::new();
    for s in both(&[]) {
        let mut c = s.conn();
        seen.push(steps.iter().map(|a| reply(&mut c, a)).collect());
    }
    assert_eq!(
        seen[0][0],
        "-ERR wrong number of arguments for 'client|pause' command"
    );
    assert_eq!(seen[0][13], "-ERR No shutdown in progress.");
    for other in &seen[1..] {
        for (args, (a, b)) in steps.iter().zip(seen[0].iter().zip(other)) {
            assert_eq!(a, b, "{args:?}: ferrokv vs redis-server");
        }
    }
}

/// WRITE: writes (and PUBLISH) wait, reads and the pauser go on; UNPAUSE releases them in
/// order. Same observable behaviour on both servers.
#[test]
fn write_pause_holds_writes_until_unpause_while_reads_go_on() {
    for s in both(&["--threads", "2"]) {
        let mut admin = s.conn();
        ok(&mut admin, &["SET", "k", "1"]);
        ok(&mut admin, &["CLIENT", "PAUSE", "10000", "WRITE"]);
        let mut writer = raw(&s);
        let mut publisher = raw(&s);
        send(&mut writer, "INCR k");
        send(&mut publisher, "PUBLISH ch m");
        // Reads go on, on any connection, while the writes are held.
        let t = Instant::now();
        assert_eq!(reply(&mut admin, &["GET", "k"]), "bulk-string('\"1\"')");
        assert!(t.elapsed() < Duration::from_secs(1));
        quiet(&mut writer);
        quiet(&mut publisher);
        assert!(reply(&mut admin, &["CLIENT", "LIST"]).contains("flags=b"));
        ok(&mut admin, &["CLIENT", "UNPAUSE"]);
        expect(&mut writer, ":2\r\n");
        expect(&mut publisher, ":0\r\n");
        assert_eq!(reply(&mut admin, &["GET", "k"]), "bulk-string('\"2\"')");
    }
}

/// ALL: every command waits (the pauser's too), until the timeout.
#[test]
fn all_pause_holds_every_command_until_its_timeout() {
    for s in both(&[]) {
        let mut admin = raw(&s);
        let mut reader = raw(&s);
        send(&mut admin, "CLIENT PAUSE 700 ALL");
        expect(&mut admin, "+OK\r\n");
        let t = Instant::now();
        send(&mut reader, "GET k");
        send(&mut admin, "PING");
        expect(&mut reader, "$-1\r\n");
        expect(&mut admin, "+PONG\r\n");
        let waited = t.elapsed();
        assert!(
            waited >= Duration::from_millis(500) && waited < Duration::from_secs(5),
            "port {}: released after {waited:?}",
            s.port
        );
    }
}

/// With two loops and eight connections, every one is held (CLIENT LIST shows `b`, INFO counts
/// them as blocked) and every one runs after UNPAUSE.
#[test]
fn clients_on_every_loop_are_held_and_resumed() {
    let s = Server::start(&["--threads", "2"]);
    let mut admin = s.conn();
    ok(&mut admin, &["CLIENT", "PAUSE", "10000", "WRITE"]);
    let mut writers: Vec<TcpStream> = (0..8).map(|_| raw(&s)).collect();
    for w in &mut writers {
        send(w, "INCR n");
    }
    // Wait until all eight are parked (they may be read a little later than sent).
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let info = reply(&mut admin, &["INFO", "clients"]);
        if info.contains("blocked_clients:8") {
            break;
        }
        assert!(Instant::now() < deadline, "not all held: {info}");
        std::thread::sleep(Duration::from_millis(20));
    }
    let list = reply(&mut admin, &["CLIENT", "LIST"]);
    assert_eq!(list.matches("flags=b").count(), 8, "{list}");
    assert_eq!(list.matches("cmd=incr").count(), 8, "{list}");
    for w in &mut writers {
        quiet(w);
    }
    ok(&mut admin, &["CLIENT", "UNPAUSE"]);
    let mut seen: Vec<String> = Vec::new();
    for w in &mut writers {
        w.set_read_timeout(Some(Duration::from_secs(10))).ok();
        let mut b = [0u8; 16];
        let n = w.read(&mut b).expect("reply after UNPAUSE");
        seen.push(String::from_utf8_lossy(&b[..n]).into_owned());
    }
    seen.sort();
    let mut want: Vec<String> = (1..=8).map(|i| format!(":{i}\r\n")).collect();
    want.sort();
    assert_eq!(seen, want);
    assert!(reply(&mut admin, &["INFO", "clients"]).contains("blocked_clients:0"));
}

/// A held client's pipeline stays behind its held command: replies come in order.
#[test]
fn a_held_pipeline_keeps_its_order() {
    for s in both(&["--threads", "2"]) {
        let mut admin = s.conn();
        ok(&mut admin, &["CLIENT", "PAUSE", "10000", "WRITE"]);
        let mut c = raw(&s);
        send(&mut c, "GET k\nSET k 1\nGET k\nINCR k\nGET k");
        // The first read runs; the SET is held and everything after it waits.
        expect(&mut c, "$-1\r\n");
        quiet(&mut c);
        ok(&mut admin, &["CLIENT", "UNPAUSE"]);
        expect(&mut c, "+OK\r\n$1\r\n1\r\n:2\r\n$1\r\n2\r\n");
    }
}

/// A write queued into MULTI waits at queueing time; EXEC of a transaction with a write waits;
/// EXEC of a read-only transaction does not.
#[test]
fn transactions_with_writes_wait_for_the_pause() {
    for s in both(&[]) {
        let mut admin = s.conn();
        let mut c = raw(&s);
        send(&mut c, "MULTI\nSET k 1");
        expect(&mut c, "+OK\r\n+QUEUED\r\n");
        ok(&mut admin, &["CLIENT", "PAUSE", "10000", "WRITE"]);
        send(&mut c, "EXEC");
        quiet(&mut c);
        ok(&mut admin, &["CLIENT", "UNPAUSE"]);
        expect(&mut c, "*1\r\n+OK\r\n");
        send(&mut c, "MULTI\nGET k");
        expect(&mut c, "+OK\r\n+QUEUED\r\n");
        ok(&mut admin, &["CLIENT", "PAUSE", "10000", "WRITE"]);
        send(&mut c, "EXEC");
        expect(&mut c, "*1\r\n$1\r\n1\r\n");
        send(&mut c, "MULTI\nINCR k");
        expect(&mut c, "+OK\r\n");
        quiet(&mut c);
        ok(&mut admin, &["CLIENT", "UNPAUSE"]);
        expect(&mut c, "+QUEUED\r\n");
    }
}

/// During a pause expired keys read as missing but stay (no lazy deletion, no active cycle):
/// DBSIZE still counts them until the pause ends.
#[test]
fn expiry_is_held_during_a_pause() {
    for s in both(&[]) {
        let mut c = s.conn();
        ok(&mut c, &["SET", "k", "v", "PX", "100"]);
        ok(&mut c, &["CLIENT", "PAUSE", "10000", "WRITE"]);
        std::thread::sleep(Duration::from_millis(400));
        assert_eq!(reply(&mut c, &["GET", "k"]), "nil");
        assert_eq!(reply(&mut c, &["EXISTS", "k"]), "int(0)");
        assert_eq!(reply(&mut c, &["DBSIZE"]), "int(1)", "port {}", s.port);
        ok(&mut c, &["CLIENT", "UNPAUSE"]);
        assert_eq!(reply(&mut c, &["GET", "k"]), "nil");
        assert_eq!(reply(&mut c, &["DBSIZE"]), "int(0)");
    }
}

/// A client blocked in BLPOP before an ALL pause still times out during it.
#[test]
fn blocked_clients_time_out_during_a_pause() {
    for s in both(&[]) {
        let mut blocked = raw(&s);
        let mut admin = raw(&s);
        send(&mut blocked, "BLPOP list 0.3");
        std::thread::sleep(Duration::from_millis(50));
        send(&mut admin, "CLIENT PAUSE 5000 ALL");
        expect(&mut admin, "+OK\r\n");
        let t = Instant::now();
        expect(&mut blocked, "*-1\r\n");
        assert!(t.elapsed() < Duration::from_secs(2), "port {}", s.port);
    }
}

/// A weaker, shorter pause does not shorten one in force; a longer one extends it.
#[test]
fn a_shorter_pause_does_not_end_a_longer_one() {
    let s = Server::start(&[]);
    let mut admin = raw(&s);
    let mut writer = raw(&s);
    send(&mut admin, "CLIENT PAUSE 10000 WRITE\nCLIENT PAUSE 1 WRITE");
    expect(&mut admin, "+OK\r\n+OK\r\n");
    send(&mut writer, "SET k v");
    quiet(&mut writer);
    send(&mut admin, "CLIENT UNPAUSE");
    expect(&mut admin, "+OK\r\n");
    expect(&mut writer, "+OK\r\n");
}
