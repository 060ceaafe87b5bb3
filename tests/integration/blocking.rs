//! Blocking commands (BLPOP BRPOP BLMOVE BRPOPLPUSH BLMPOP BZPOPMIN BZPOPMAX BZMPOP, CLIENT
//! UNBLOCK) against the real binary with 4 loops, so that waiting and waking clients sit on
//! different threads. Scenarios are written once as functions of a server and, where
//! redis-server is installed, run against it too: the raw reply bytes must be identical.
//! Every read is bounded by a socket timeout, so no test can hang.

use std::collections::HashSet;
use std::io::Read;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::common::{Raw, Server};
use crate::conn_util::{bulk_body, encode, parse_info, read_frame};

const THREADS: &[&str] = &["--threads", "4"];

/// A raw connection with short read timeouts.
struct C(Raw);

impl C {
    fn new(s: &Server) -> C {
        let raw = s.raw();
        raw.s
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        C(raw)
    }

    fn send(&mut self, args: &[&str]) {
        self.0.send(&encode(args));
    }

    fn read(&mut self) -> Vec<u8> {
        read_frame(&mut self.0)
    }

    fn call(&mut self, args: &[&str]) -> Vec<u8> {
        self.send(args);
        self.read()
    }

    fn text(&mut self, args: &[&str]) -> String {
        String::from_utf8_lossy(&self.call(args)).into_owned()
    }

    fn id(&mut self) -> String {
        self.text(&["CLIENT", "ID"])
            .trim_start_matches(':')
            .trim()
            .to_string()
    }

    /// Switches to RESP3 (HELLO's reply differs between servers and is not compared).
    fn resp3(&mut self) {
        let hello = self.call(&["HELLO", "3"]);
        assert_eq!(hello[0], b'%');
    }

    /// Asserts that nothing arrives within `wait`.
    fn silent(&mut self, wait: Duration) {
        self.0.s.set_read_timeout(Some(wait)).unwrap();
        let mut b = [0u8; 64];
        match self.0.s.read(&mut b) {
            Ok(n) => panic!("unexpected reply: {:?}", String::from_utf8_lossy(&b[..n])),
            Err(e) => assert!(
                matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ),
                "{e}"
            ),
        }
        self.0
            .s
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
    }
}

fn info_clients(s: &Server) -> std::collections::HashMap<String, String> {
    let mut c = C::new(s);
    let info = bulk_body(&c.call(&["INFO", "clients"]));
    parse_info(&info).remove("clients").unwrap()
}

/// Waits until the server reports `n` blocked clients.
fn wait_blocked(s: &Server, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let got: usize = info_clients(s)["blocked_clients"].parse().unwrap();
        if got == n {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "blocked_clients stayed {got}, wanted {n}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Runs `scenario` against ferrokv (4 loops) and, when installed, redis-server; the recorded
/// replies must be identical. Returns ferrokv's.
fn both(scenario: impl Fn(&Server) -> Vec<Vec<u8>>) -> Vec<Vec<u8>> {
    let ours = scenario(&Server::start(THREADS));
    if let Some(redis) = Server::start_redis() {
        let theirs = scenario(&redis);
        let show = |v: &[Vec<u8>]| -> Vec<String> {
            v.iter()
                .map(|r| String::from_utf8_lossy(r).into_owned())
                .collect()
        };
        assert_eq!(show(&ours), show(&theirs), "ferrokv (left) vs redis-server");
    }
    ours
}

fn s(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

// ---------------------------------------------------------------------------------------------
// Immediate path, errors, timeouts of one connection
// ---------------------------------------------------------------------------------------------

/// Every command once with data present, then its errors and (short) timeouts, in RESP2 and
/// RESP3.
fn immediate_script(c: &mut C, out: &mut Vec<Vec<u8>>) {
    let script: &[&[&str]] = &[
        &["RPUSH", "l", "a", "b", "c"],
        &["BLPOP", "l", "0"],
        &["BRPOP", "l", "0"],
        &["BLPOP", "missing", "l", "0"],
        &["RPUSH", "l1", "x"],
        &["RPUSH", "l2", "y"],
        &["BLPOP", "l2", "l1", "0"],
        &["SET", "s", "v"],
        &["BLPOP", "missing", "s", "l1", "0"],
        &["BLPOP", "l1", "s", "0"],
        &["ZADD", "z", "1", "a", "2", "b", "3", "c", "4.5", "d"],
        &["BZPOPMIN", "z", "0"],
        &["BZPOPMAX", "nothing", "z", "0"],
        &["BZMPOP", "0", "2", "nothing", "z", "MIN", "COUNT", "5"],
        &["EXISTS", "z"],
        &["BZPOPMIN", "s", "0"],
        &["RPUSH", "m", "1", "2", "3"],
        &["BLMPOP", "0", "2", "nokey", "m", "RIGHT", "COUNT", "2"],
        &["BLMPOP", "0", "1", "m", "LEFT"],
        &["BLMPOP", "0", "1", "s", "LEFT"],
        &["RPUSH", "src", "a", "b"],
        &["BLMOVE", "src", "dst", "LEFT", "RIGHT", "0"],
        &["BRPOPLPUSH", "src", "dst", "0"],
        &["LRANGE", "dst", "0", "-1"],
        &["EXISTS", "src"],
        &["BLMOVE", "dst", "dst", "LEFT", "RIGHT", "0"],
        &["LRANGE", "dst", "0", "-1"],
        &["RPUSH", "src2", "x"],
        &["BLMOVE", "src2", "s", "LEFT", "LEFT", "0"],
        &["LLEN", "src2"],
        &["BLMOVE", "s", "dst", "LEFT", "LEFT", "0"],
        // Timeout parsing (Redis 7.0's getTimeoutFromObjectOrReply).
        &["BLPOP", "l", "abc"],
        &["BLPOP", "l", ""],
        &["BLPOP", "l", " 1"],
        &["BLPOP", "l", "nan"],
        &["BLPOP", "l", "-1"],
        &["BLPOP", "l", "-0.002"],
        &["BLPOP", "l", "inf"],
        &["BLPOP", "l", "1e300"],
        &["BLPOP", "l", "9223372036854776"],
        &["BRPOP", "l", "-inf"],
        &["BZPOPMIN", "z", "x"],
        &["BRPOPLPUSH", "a", "b", "x"],
        // Argument errors, in Redis's order.
        &["BLPOP", "l"],
        &["BLMOVE", "a", "b", "LEFT", "0"],
        &["BLMOVE", "a", "b", "UP", "LEFT", "x"],
        &["BLMOVE", "a", "b", "LEFT", "DOWN", "x"],
        &["BLMOVE", "a", "b", "LEFT", "RIGHT", "x"],
        &["BLMPOP", "0", "1", "a"],
        &["BLMPOP", "0", "0", "a", "LEFT"],
        &["BLMPOP", "0", "-1", "a", "LEFT"],
        &["BLMPOP", "0", "x", "a", "LEFT"],
        &["BLMPOP", "0", "5", "a", "LEFT"],
        &["BLMPOP", "x", "1", "a", "UP"],
        &["BLMPOP", "x", "1", "a", "LEFT"],
        &["BLMPOP", "0", "1", "a", "LEFT", "COUNT", "0"],
        &["BLMPOP", "0", "1", "a", "LEFT", "COUNT"],
        &["BLMPOP", "0", "1", "a", "LEFT", "COUNT", "1", "COUNT", "2"],
        &["BLMPOP", "-1", "1", "a", "LEFT", "COUNT", "1"],
        &["BZMPOP", "0", "1", "a", "MID"],
        &["BZMPOP", "0", "1", "a", "MIN", "COUNT", "-1"],
        &["BZMPOP", "0", "2", "a"],
        &["BZMPOP", "nope", "1", "a", "max"],
        &["BZPOPMAX", "z"],
        // Timeouts: the null array for every command.
        &["BLPOP", "none", "0.01"],
        &["BRPOP", "none", "none2", "0.01"],
        &["BLMOVE", "none", "d", "LEFT", "LEFT", "0.01"],
        &["BRPOPLPUSH", "none", "d", "0.01"],
        &["BLMPOP", "0.01", "1", "none", "LEFT"],
        &["BLMPOP", "0.01", "2", "none", "x", "RIGHT", "COUNT", "3"],
        &["BZPOPMIN", "none", "0.01"],
        &["BZPOPMAX", "none", "0.01"],
        &["BZMPOP", "0.01", "1", "none", "MAX", "COUNT", "2"],
        &["BLPOP", "none", "1e-300"],
        // Key positions.
        &["COMMAND", "GETKEYS", "BLPOP", "a", "b", "0"],
        &[
            "COMMAND", "GETKEYS", "BLMOVE", "a", "b", "LEFT", "LEFT", "0",
        ],
        &["COMMAND", "GETKEYS", "BLMPOP", "0", "2", "a", "b", "LEFT"],
        &[
            "COMMAND", "GETKEYS", "BZMPOP", "0", "1", "z", "MIN", "COUNT", "2",
        ],
        // CLIENT UNBLOCK on clients that are not blocked, and its errors.
        &["CLIENT", "UNBLOCK", "999999"],
        &["CLIENT", "UNBLOCK", "-1", "ERROR"],
        &["CLIENT", "UNBLOCK", "1", "TiMeOuT"],
        &["CLIENT", "UNBLOCK", "abc", "foo"],
        &["CLIENT", "UNBLOCK", "abc"],
        &["CLIENT", "UNBLOCK", "1", "timeout", "x"],
        &["CLIENT", "UNBLOCK"],
        &["FLUSHALL"],
    ];
    for args in script {
        out.push(c.call(args));
    }
}

#[test]
fn immediate_errors_and_timeouts_match_redis() {
    let replies = both(|srv| {
        let mut c = C::new(srv);
        let mut out = Vec::new();
        immediate_script(&mut c, &mut out);
        c.resp3();
        immediate_script(&mut c, &mut out);
        out
    });
    // A few exact checks that do not depend on redis-server being installed.
    let text: Vec<String> = replies.iter().map(|r| s(r)).collect();
    assert_eq!(text[1], "*2\r\n$1\r\nl\r\n$1\r\na\r\n");
    assert_eq!(text[11], "*3\r\n$1\r\nz\r\n$1\r\na\r\n$1\r\n1\r\n");
    assert!(text.contains(&"-ERR timeout is not a float or out of range\r\n".to_string()));
    assert!(text.contains(&"-ERR timeout is negative\r\n".to_string()));
    let n = text.len() / 2;
    assert_eq!(text[n + 11], "*3\r\n$1\r\nz\r\n$1\r\na\r\n,1\r\n");
    let nulls = |range: std::ops::Range<usize>, null: &str| {
        text[range].iter().filter(|t| t.as_str() == null).count()
    };
    assert!(nulls(0..n, "*-1\r\n") >= 10);
    assert!(nulls(n..2 * n, "_\r\n") >= 10);
}

#[test]
fn timeouts_are_precise_and_reply_the_null_array() {
    let srv = Server::start(THREADS);
    for (resp3, null) in [(false, "*-1\r\n"), (true, "_\r\n")] {
        let mut c = C::new(&srv);
        if resp3 {
            c.resp3();
        }
        for cmd in [
            &["BLPOP", "k", "0.1"][..],
            &["BLMOVE", "k", "d", "LEFT", "RIGHT", "0.1"],
            &["BZMPOP", "0.1", "1", "k", "MIN"],
        ] {
            let start = Instant::now();
            assert_eq!(s(&c.call(cmd)), null, "{cmd:?}");
            let took = start.elapsed();
            assert!(
                took >= Duration::from_millis(100) && took < Duration::from_millis(600),
                "{cmd:?} took {took:?}"
            );
        }
    }
    // A timed-out client left nothing behind.
    let info = info_clients(&srv);
    assert_eq!(info["blocked_clients"], "0");
    assert_eq!(info["clients_in_timeout_table"], "0");
}

// ---------------------------------------------------------------------------------------------
// Waking from other connections
// ---------------------------------------------------------------------------------------------

/// `waiter` blocks on connection A; once the server reports it blocked, `wake` runs on B
/// (each reply recorded), then A's reply is recorded, then `after` on B.
fn wake(
    srv: &Server,
    setup: &[&[&str]],
    waiter: &[&str],
    wake: &[&[&str]],
    after: &[&[&str]],
) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut b = C::new(srv);
    b.call(&["FLUSHALL"]);
    for args in setup {
        out.push(b.call(args));
    }
    let mut a = C::new(srv);
    a.send(waiter);
    wait_blocked(srv, 1);
    for args in wake {
        out.push(b.call(args));
    }
    out.push(a.read());
    for args in after {
        out.push(b.call(args));
    }
    wait_blocked(srv, 0);
    out
}

#[test]
fn pushes_and_other_writes_wake_blocked_clients() {
    both(|srv| {
        let mut out = Vec::new();
        out.extend(wake(
            srv,
            &[],
            &["BLPOP", "k", "0"],
            &[&["LPUSH", "k", "v"]],
            &[&["EXISTS", "k"]],
        ));
        out.extend(wake(
            srv,
            &[],
            &["BRPOP", "k", "other", "0"],
            &[&["RPUSH", "k", "a", "b"]],
            &[&["LRANGE", "k", "0", "-1"]],
        ));
        out.extend(wake(
            srv,
            &[],
            &["BZPOPMIN", "z", "0"],
            &[&["ZADD", "z", "1.5", "m", "2", "n"]],
            &[&["ZRANGE", "z", "0", "-1", "WITHSCORES"]],
        ));
        out.extend(wake(
            srv,
            &[&["RPUSH", "src", "x", "y"]],
            &["BLPOP", "k", "0"],
            &[&["LMOVE", "src", "k", "LEFT", "LEFT"]],
            &[&["LRANGE", "src", "0", "-1"], &["EXISTS", "k"]],
        ));
        out.extend(wake(
            srv,
            &[&["RPUSH", "tmp", "r1", "r2"]],
            &["BLPOP", "k", "0"],
            &[&["RENAME", "tmp", "k"]],
            &[&["LRANGE", "k", "0", "-1"]],
        ));
        out.extend(wake(
            srv,
            &[],
            &["BLMOVE", "k", "dst", "RIGHT", "LEFT", "0"],
            &[&["RPUSH", "k", "1", "2"]],
            &[&["LRANGE", "k", "0", "-1"], &["LRANGE", "dst", "0", "-1"]],
        ));
        out.extend(wake(
            srv,
            &[],
            &["BLMPOP", "0", "2", "k1", "k2", "LEFT", "COUNT", "10"],
            &[&["RPUSH", "k2", "a", "b", "c"]],
            &[&["EXISTS", "k2"]],
        ));
        out.extend(wake(
            srv,
            &[],
            &["BZMPOP", "0", "1", "z", "MAX", "COUNT", "2"],
            &[&["ZADD", "z", "1", "a", "2", "b", "3", "c"]],
            &[&["ZCARD", "z"]],
        ));
        // A write that stores another type wakes nobody; the list that follows does.
        out.extend(wake(
            srv,
            &[],
            &["BLPOP", "k", "0"],
            &[&["SET", "k", "str"], &["DEL", "k"], &["RPUSH", "k", "v"]],
            &[],
        ));
        // A key moved in from another database (MOVE) and databases swapped (SWAPDB).
        out.extend(wake(
            srv,
            &[&["SELECT", "1"], &["RPUSH", "k", "from1"], &["SELECT", "0"]],
            &["BLPOP", "k", "0"],
            &[&["SELECT", "1"], &["MOVE", "k", "0"], &["SELECT", "0"]],
            &[],
        ));
        out.extend(wake(
            srv,
            &[
                &["SELECT", "1"],
                &["RPUSH", "k", "swapped"],
                &["SELECT", "0"],
            ],
            &["BLPOP", "k", "0"],
            &[&["SWAPDB", "0", "1"]],
            &[&["EXISTS", "k"]],
        ));
        out
    });
}

#[test]
fn served_replies_use_the_waiters_protocol() {
    both(|srv| {
        let mut out = Vec::new();
        let mut b = C::new(srv);
        for (waiter, push) in [
            (&["BZPOPMAX", "z", "0"][..], &["ZADD", "z", "2.5", "m"][..]),
            (
                &["BZMPOP", "0", "1", "z", "MIN"],
                &["ZADD", "z", "1", "a", "2", "b"],
            ),
            (
                &["BLMPOP", "0", "1", "k", "RIGHT"],
                &["RPUSH", "k", "a", "b"],
            ),
            (&["BLPOP", "k2", "0"], &["RPUSH", "k2", "a"]),
        ] {
            let mut a = C::new(srv);
            a.resp3();
            a.send(waiter);
            wait_blocked(srv, 1);
            out.push(b.call(push));
            out.push(a.read());
            b.call(&["FLUSHALL"]);
        }
        out
    });
}

#[test]
fn a_blmove_chain_serves_the_destinations_waiters() {
    both(|srv| {
        let mut a = C::new(srv);
        let mut c = C::new(srv);
        let mut b = C::new(srv);
        a.send(&["BLMOVE", "k1", "k2", "LEFT", "LEFT", "0"]);
        wait_blocked(srv, 1);
        c.send(&["BLPOP", "k2", "0"]);
        wait_blocked(srv, 2);
        let out = vec![
            b.call(&["RPUSH", "k1", "x"]),
            a.read(),
            c.read(),
            b.call(&["EXISTS", "k1", "k2"]),
        ];
        wait_blocked(srv, 0);
        out
    });
}

#[test]
fn blmove_to_a_wrong_type_destination_gets_wrongtype_and_moves_nothing() {
    both(|srv| {
        let mut a = C::new(srv);
        let mut a2 = C::new(srv);
        let mut b = C::new(srv);
        // The destination is only checked when the move happens.
        a.send(&["BLMOVE", "src", "dst", "LEFT", "LEFT", "0"]);
        wait_blocked(srv, 1);
        a2.send(&["BLPOP", "src", "0"]);
        wait_blocked(srv, 2);
        let out = vec![
            b.call(&["SET", "dst", "string"]),
            b.call(&["RPUSH", "src", "v"]),
            a.read(),
            // The element stayed for the next waiter.
            a2.read(),
            b.call(&["EXISTS", "src"]),
            b.call(&["GET", "dst"]),
        ];
        wait_blocked(srv, 0);
        out
    });
}

#[test]
fn a_zset_waiter_ignores_a_list_and_times_out() {
    both(|srv| {
        let mut a = C::new(srv);
        let mut b = C::new(srv);
        a.send(&["BZPOPMIN", "k", "0.3"]);
        wait_blocked(srv, 1);
        vec![
            b.call(&["RPUSH", "k", "v"]),
            a.read(),
            b.call(&["LLEN", "k"]),
        ]
    });
}

// ---------------------------------------------------------------------------------------------
// Order
// ---------------------------------------------------------------------------------------------

#[test]
fn waiters_on_a_key_are_served_first_come_first_served() {
    both(|srv| {
        let mut out = Vec::new();
        let mut waiters: Vec<C> = (0..3).map(|_| C::new(srv)).collect();
        let mut b = C::new(srv);
        for (i, w) in waiters.iter_mut().enumerate() {
            w.send(&["BLPOP", "q", "0"]);
            wait_blocked(srv, i + 1);
        }
        for (i, w) in waiters.iter_mut().enumerate() {
            out.push(b.call(&["RPUSH", "q", &format!("e{i}")]));
            out.push(w.read());
        }
        // One push of three elements serves three waiters, in order.
        for (i, w) in waiters.iter_mut().enumerate() {
            w.send(&["BRPOP", "q", "0"]);
            wait_blocked(srv, i + 1);
        }
        out.push(b.call(&["RPUSH", "q", "x", "y", "z"]));
        for w in &mut waiters {
            out.push(w.read());
        }
        // Fewer elements than waiters: the last one keeps waiting.
        for (i, w) in waiters.iter_mut().enumerate() {
            w.send(&["BLPOP", "q", "0"]);
            wait_blocked(srv, i + 1);
        }
        out.push(b.call(&["RPUSH", "q", "1", "2"]));
        out.push(waiters[0].read());
        out.push(waiters[1].read());
        wait_blocked(srv, 1);
        waiters[2].silent(Duration::from_millis(100));
        out.push(b.call(&["RPUSH", "q", "3"]));
        out.push(waiters[2].read());
        out
    });
}

#[test]
fn multi_key_waiters_take_from_whichever_key_gets_data() {
    both(|srv| {
        let mut a = C::new(srv);
        let mut a2 = C::new(srv);
        let mut b = C::new(srv);
        a.send(&["BLPOP", "k1", "k2", "k1", "0"]);
        wait_blocked(srv, 1);
        a2.send(&["BLPOP", "k2", "0"]);
        wait_blocked(srv, 2);
        let out = vec![
            b.call(&["RPUSH", "k2", "first", "second"]),
            a.read(),
            a2.read(),
            b.call(&["EXISTS", "k1", "k2"]),
        ];
        wait_blocked(srv, 0);
        out
    });
}

#[test]
fn pipelined_commands_wait_for_the_blocking_one() {
    both(|srv| {
        let mut a = C::new(srv);
        let mut b = C::new(srv);
        let mut pipeline = encode(&["BLPOP", "k", "0"]);
        pipeline.extend(encode(&["PING"]));
        pipeline.extend(encode(&["RPUSH", "later", "x"]));
        a.0.send(&pipeline);
        wait_blocked(srv, 1);
        a.silent(Duration::from_millis(100));
        let mut out = vec![b.call(&["EXISTS", "later"])];
        out.push(b.call(&["RPUSH", "k", "v"]));
        out.push(a.read());
        out.push(a.read());
        out.push(a.read());
        out.push(b.call(&["LRANGE", "later", "0", "-1"]));
        out
    });
}

// ---------------------------------------------------------------------------------------------
// Leaving: disconnect, CLIENT UNBLOCK
// ---------------------------------------------------------------------------------------------

#[test]
fn a_disconnected_waiter_leaves_no_trace() {
    let srv = Server::start(THREADS);
    let mut b = C::new(&srv);
    let mut a = C::new(&srv);
    let id = a.id();
    a.send(&["BLPOP", "k", "other", "0"]);
    wait_blocked(&srv, 1);
    let list = bulk_body(&b.call(&["CLIENT", "LIST", "ID", &id]));
    assert!(list.contains(" flags=b "), "{list}");
    assert!(list.contains(" cmd=blpop "), "{list}");
    let t = C::new(&srv);
    let mut timed = t;
    timed.send(&["BZPOPMIN", "z", "100"]);
    wait_blocked(&srv, 2);
    assert_eq!(info_clients(&srv)["clients_in_timeout_table"], "1");
    drop(a);
    drop(timed);
    wait_blocked(&srv, 0);
    assert_eq!(info_clients(&srv)["clients_in_timeout_table"], "0");
    assert_eq!(s(&b.call(&["RPUSH", "k", "v"])), ":1\r\n");
    assert_eq!(s(&b.call(&["ZADD", "z", "1", "m"])), ":1\r\n");
    assert_eq!(s(&b.call(&["LLEN", "k"])), ":1\r\n");
    assert_eq!(s(&b.call(&["ZCARD", "z"])), ":1\r\n");
    // A client that blocks and is served later shows no `b` any more.
    let mut a = C::new(&srv);
    let id = a.id();
    assert_eq!(
        s(&a.call(&["BLPOP", "k", "0"])),
        "*2\r\n$1\r\nk\r\n$1\r\nv\r\n"
    );
    let list = bulk_body(&b.call(&["CLIENT", "LIST", "ID", &id]));
    assert!(list.contains(" flags=N "), "{list}");
}

#[test]
fn client_kill_of_a_blocked_client_on_another_loop() {
    let srv = Server::start(THREADS);
    let mut b = C::new(&srv);
    let mut waiters: Vec<C> = (0..4).map(|_| C::new(&srv)).collect();
    for (i, w) in waiters.iter_mut().enumerate() {
        let id = w.id();
        w.send(&["BLPOP", "k", "0"]);
        wait_blocked(&srv, 1);
        assert_eq!(
            s(&b.call(&["CLIENT", "KILL", "ID", &id])),
            ":1\r\n",
            "waiter {i}"
        );
        wait_blocked(&srv, 0);
        w.0.s
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        assert!(w.0.is_closed());
    }
    assert_eq!(s(&b.call(&["RPUSH", "k", "v"])), ":1\r\n");
    assert_eq!(s(&b.call(&["LLEN", "k"])), ":1\r\n");
}

#[test]
fn blocked_clients_are_not_closed_as_idle() {
    let srv = Server::start(&["--threads", "4", "--timeout", "1"]);
    let mut a = C::new(&srv);
    a.send(&["BLPOP", "k", "0"]);
    wait_blocked(&srv, 1);
    std::thread::sleep(Duration::from_millis(2500));
    let mut b = C::new(&srv);
    assert_eq!(s(&b.call(&["RPUSH", "k", "v"])), ":1\r\n");
    assert_eq!(s(&a.read()), "*2\r\n$1\r\nk\r\n$1\r\nv\r\n");
}

#[test]
fn client_unblock_from_another_connection() {
    both(|srv| {
        let mut out = Vec::new();
        let mut a = C::new(srv);
        let mut b = C::new(srv);
        let id = a.id();
        // TIMEOUT (the default): the waiter's timeout reply.
        a.send(&["BLPOP", "k", "0"]);
        wait_blocked(srv, 1);
        out.push(b.call(&["CLIENT", "UNBLOCK", &id]));
        out.push(a.read());
        out.push(b.call(&["CLIENT", "UNBLOCK", &id]));
        // ERROR.
        a.send(&["BZPOPMIN", "z", "0"]);
        wait_blocked(srv, 1);
        out.push(b.call(&["CLIENT", "UNBLOCK", &id, "error"]));
        out.push(a.read());
        // BLMOVE's timeout reply is the null array too; RESP3's null.
        a.send(&["BLMOVE", "s", "d", "LEFT", "LEFT", "0"]);
        wait_blocked(srv, 1);
        out.push(b.call(&["CLIENT", "UNBLOCK", &id, "TIMEOUT"]));
        out.push(a.read());
        a.resp3();
        a.send(&["BLMPOP", "0", "1", "k", "LEFT"]);
        wait_blocked(srv, 1);
        out.push(b.call(&["CLIENT", "UNBLOCK", &id]));
        out.push(a.read());
        // Unblocked clients carry on normally.
        out.push(a.call(&["PING"]));
        out.push(b.call(&["INFO", "errorstats"]));
        out
    });
}

#[test]
fn blocking_commands_inside_exec_do_not_block() {
    both(|srv| {
        let mut c = C::new(srv);
        let mut out = Vec::new();
        for args in [
            &["RPUSH", "full", "a"][..],
            &["MULTI"],
            &["BLPOP", "empty", "0"],
            &["BLMOVE", "empty", "d", "LEFT", "LEFT", "0"],
            &["BRPOPLPUSH", "empty", "d", "0"],
            &["BZPOPMIN", "empty", "0"],
            &["BZMPOP", "0", "1", "empty", "MIN"],
            &["BLMPOP", "0", "1", "empty", "LEFT"],
            &["BLPOP", "full", "0"],
            &["EXEC"],
        ] {
            out.push(c.call(args));
        }
        // A transaction's pushes are served after EXEC.
        let mut a = C::new(srv);
        a.send(&["BLPOP", "q", "0"]);
        wait_blocked(srv, 1);
        out.push(c.call(&["MULTI"]));
        out.push(c.call(&["RPUSH", "q", "1"]));
        out.push(c.call(&["RPUSH", "q", "2"]));
        out.push(c.call(&["EXEC"]));
        out.push(a.read());
        out.push(c.call(&["LRANGE", "q", "0", "-1"]));
        out
    });
}

// ---------------------------------------------------------------------------------------------
// Stress
// ---------------------------------------------------------------------------------------------

/// Runs `poppers` threads that call `pop(conn, popper, attempt)` (the elements it received)
/// until `total` elements have arrived, alongside `pushers` threads that call
/// `push(conn, pusher)`, every thread on its own connection (so on several loops); returns
/// every element received. Bounded to 60 s.
fn stress(
    srv: &Server,
    total: usize,
    (poppers, pushers): (usize, usize),
    pop: impl Fn(&mut C, usize, usize) -> Vec<String> + Sync,
    push: impl Fn(&mut C, usize) + Sync,
) -> Vec<String> {
    let received = Mutex::new(Vec::<String>::new());
    let count = AtomicUsize::new(0);
    let deadline = Instant::now() + Duration::from_secs(60);
    std::thread::scope(|scope| {
        for p in 0..poppers {
            let (received, count, pop) = (&received, &count, &pop);
            scope.spawn(move || {
                let mut c = C::new(srv);
                let mut mine = Vec::new();
                let mut i = 0usize;
                while count.load(Ordering::SeqCst) < total {
                    assert!(Instant::now() < deadline, "stress test timed out");
                    i += 1;
                    let got = pop(&mut c, p, i);
                    count.fetch_add(got.len(), Ordering::SeqCst);
                    mine.extend(got);
                }
                received.lock().unwrap().extend(mine);
            });
        }
        for p in 0..pushers {
            let push = &push;
            scope.spawn(move || push(&mut C::new(srv), p));
        }
    });
    let received = received.into_inner().unwrap();
    let distinct: HashSet<&String> = received.iter().collect();
    assert_eq!(received.len(), total, "elements received");
    assert_eq!(distinct.len(), total, "an element was received twice");
    wait_blocked(srv, 0);
    received
}

/// Pushers and blocked poppers on different loops: every pushed element is received exactly
/// once, whatever the interleaving of pushes, serves, timeouts and immediate pops.
#[test]
fn every_pushed_element_is_received_exactly_once() {
    const PUSHERS: usize = 4;
    const PER_PUSHER: usize = 400;
    let srv = Server::start(THREADS);
    // Mix the commands: one element each, or a few with BLMPOP.
    let pop = |c: &mut C, p: usize, i: usize| {
        elements(&match (p + i) % 3 {
            0 => c.call(&["BLPOP", "q1", "q2", "0.05"]),
            1 => c.call(&["BRPOP", "q2", "q1", "0.05"]),
            _ => c.call(&["BLMPOP", "0.05", "2", "q1", "q2", "LEFT", "COUNT", "3"]),
        })
    };
    let push = |c: &mut C, p: usize| {
        let mut i = 0;
        while i < PER_PUSHER {
            let key = if (p + i).is_multiple_of(2) {
                "q1"
            } else {
                "q2"
            };
            // Sometimes two at once.
            if i + 1 < PER_PUSHER && i.is_multiple_of(5) {
                let (x, y) = (format!("{p}:{i}"), format!("{p}:{}", i + 1));
                c.call(&["RPUSH", key, &x, &y]);
                i += 2;
            } else {
                c.call(&["LPUSH", key, &format!("{p}:{i}")]);
                i += 1;
            }
        }
    };
    let received = stress(&srv, PUSHERS * PER_PUSHER, (6, PUSHERS), pop, push);
    for p in 0..PUSHERS {
        for i in 0..PER_PUSHER {
            assert!(received.contains(&format!("{p}:{i}")), "{p}:{i} lost");
        }
    }
    let mut c = C::new(&srv);
    assert_eq!(s(&c.call(&["EXISTS", "q1", "q2"])), ":0\r\n");
}

/// The same for sorted sets with BZPOPMIN/BZMPOP waiters (members are unique across pushers).
#[test]
fn every_zadded_member_is_popped_exactly_once() {
    const PUSHERS: usize = 3;
    const PER_PUSHER: usize = 300;
    let srv = Server::start(THREADS);
    let pop = |c: &mut C, p: usize, i: usize| -> Vec<String> {
        if (p + i).is_multiple_of(2) {
            // [key, member, score]
            let mut e = elements(&c.call(&["BZPOPMIN", "z", "0.05"]));
            e.truncate(1);
            e
        } else {
            // [key, [[member, score], ...]]: members are the odd leaves.
            elements(&c.call(&["BZMPOP", "0.05", "1", "z", "MAX", "COUNT", "2"]))
                .into_iter()
                .step_by(2)
                .collect()
        }
    };
    let push = |c: &mut C, p: usize| {
        for i in 0..PER_PUSHER {
            c.call(&["ZADD", "z", &i.to_string(), &format!("{p}:{i}")]);
        }
    };
    stress(&srv, PUSHERS * PER_PUSHER, (5, PUSHERS), pop, push);
}

/// The bulk strings of a reply after its first (the key), flattened; empty for a null.
fn elements(reply: &[u8]) -> Vec<String> {
    let text = s(reply);
    if text == "*-1\r\n" {
        return Vec::new();
    }
    let mut bulks = Vec::new();
    let mut lines = text.split("\r\n");
    while let Some(line) = lines.next() {
        if line.starts_with('$') {
            bulks.push(lines.next().unwrap_or_default().to_string());
        }
    }
    assert!(!bulks.is_empty(), "unexpected reply {text:?}");
    bulks.remove(0);
    bulks
}
