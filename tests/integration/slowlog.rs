//! SLOWLOG and its CONFIG parameters: the deterministic replies (HELP, errors, CONFIG) compared
//! byte for byte with a real redis-server 7.0 in RESP2 and RESP3; the entries' shape (trimmed
//! and redacted arguments, client address and name, EXEC not logged) compared with the
//! volatile fields masked; and what needs DEBUG SLEEP or two event loops checked on ferrokv.

use std::time::Duration;

use redis::Value;

use crate::common::{ok, run, Server};
use crate::conn_util::{call, call_text};

fn server() -> Server {
    Server::start(&["--threads", "2", "--enable-debug-command", "yes"])
}

#[rustfmt::skip]
const DETERMINISTIC: &[&[&str]] = &[
    &["CONFIG", "SET", "slowlog-log-slower-than", "-1"],
    &["SLOWLOG", "RESET"],
    &["SLOWLOG", "HELP"],
    &["SLOWLOG", "help"],
    &["SLOWLOG", "HELP", "x"],
    &["SLOWLOG"],
    &["SLOWLOG", "FOO"],
    &["SLOWLOG", "GET", "-2"],
    &["SLOWLOG", "GET", "-222"],
    &["SLOWLOG", "GET", "x"],
    &["SLOWLOG", "GET", "1.5"],
    &["SLOWLOG", "GET", "1", "2"],
    &["SLOWLOG", "GET", "-1"],
    &["SLOWLOG", "GET", "0"],
    &["SLOWLOG", "GET"],
    &["SLOWLOG", "LEN"],
    &["SLOWLOG", "LEN", "x"],
    &["SLOWLOG", "RESET", "x"],
    // One name per CONFIG GET: Redis orders several by its hash table.
    &["CONFIG", "GET", "slowlog-log-slower-than"],
    &["CONFIG", "GET", "slowlog-max-len"],
    &["CONFIG", "SET", "slowlog-log-slower-than", "-2"],
    &["CONFIG", "SET", "slowlog-log-slower-than", "abc"],
    &["CONFIG", "SET", "slowlog-log-slower-than", "9223372036854775807"],
    &["CONFIG", "GET", "slowlog-log-slower-than"],
    &["CONFIG", "SET", "slowlog-log-slower-than", "-1"],
    &["CONFIG", "SET", "slowlog-max-len", "-1"],
    &["CONFIG", "SET", "slowlog-max-len", "0"],
    &["CONFIG", "GET", "slowlog-max-len"],
    &["CONFIG", "SET", "slowlog-max-len", "128"],
    &["PING"],
    &["SLOWLOG", "LEN"],
    &["SLOWLOG", "GET", "10"],
];

/// HELP, errors, CONFIG GET/SET and the replies of an empty log match redis-server's bytes.
#[test]
fn deterministic_replies_match_real_redis() {
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
        for args in DETERMINISTIC {
            let want = call_text(&mut a, args);
            let got = call_text(&mut b, args);
            assert_eq!(got, want, "RESP{proto} {args:?}");
        }
    }
}

/// One entry with the fields that vary between runs masked: (argv, peer is the caller's
/// address, client name).
type Shape = (Vec<String>, bool, String);

fn text(v: &Value) -> String {
    match v {
        Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
        Value::SimpleString(s) => s.clone(),
        other => format!("{other:?}"),
    }
}

/// `SLOWLOG GET -1`, checked for its types and ids (consecutive, newest first), as shapes.
fn entries(c: &mut redis::Connection, addr: &str) -> Vec<Shape> {
    let Value::Array(list) = ok(c, &["SLOWLOG", "GET", "-1"]) else {
        panic!("SLOWLOG GET is an array");
    };
    let mut last_id = None;
    list.iter()
        .map(|e| {
            let Value::Array(f) = e else {
                panic!("an entry is an array: {e:?}")
            };
            assert_eq!(f.len(), 6, "{f:?}");
            let (Value::Int(id), Value::Int(time), Value::Int(_), Value::Array(argv)) =
                (&f[0], &f[1], &f[2], &f[3])
            else {
                panic!("entry fields: {f:?}");
            };
            if let Some(last) = last_id {
                assert_eq!(*id, last - 1, "ids count down from the newest");
            }
            last_id = Some(*id);
            assert!(*time > 1_600_000_000, "unix seconds: {time}");
            (
                argv.iter().map(text).collect(),
                text(&f[4]) == addr,
                text(&f[5]),
            )
        })
        .collect()
}

fn client_addr(c: &mut redis::Connection) -> String {
    let info = text(&ok(c, &["CLIENT", "INFO"]));
    info.split(' ')
        .find_map(|f| f.strip_prefix("addr="))
        .expect("addr=")
        .to_string()
}

/// The same commands leave entries of the same shape in both servers: arguments trimmed
/// (32 kept, 128 bytes each) and passwords redacted (AUTH, HELLO AUTH, ACL SETUSER, CONFIG
/// SET masterauth), the caller's address and name, EXEC itself not logged (its commands are),
/// MULTI's queued commands logged only when EXEC runs them, and the oldest dropped beyond
/// `slowlog-max-len`.
#[test]
fn entries_match_real_redis_in_shape() {
    let Some(redis) = Server::start_redis() else {
        println!("skipped: redis-server not found");
        return;
    };
    let ours = server();
    let members: Vec<String> = (1..=33).map(|i| i.to_string()).collect();
    let long = "A".repeat(129);
    let mut sadd = vec!["SADD", "set"];
    sadd.extend(members.iter().map(String::as_str));
    let script: Vec<Vec<&str>> = vec![
        vec!["CONFIG", "SET", "slowlog-log-slower-than", "0"],
        vec!["SLOWLOG", "RESET"],
        vec!["CLIENT", "SETNAME", "me"],
        sadd,
        vec!["SET", "k", long.as_str()],
        vec!["AUTH", "pw"],
        vec!["AUTH", "user", "pw"],
        vec!["AUTH", "a", "b", "c"],
        vec!["HELLO", "2", "AUTH", "default", "wrong"],
        vec!["HELLO", "2", "SETNAME", "me"],
        vec!["ACL", "SETUSER", "slowlog-user", "on", ">secret", "+get"],
        vec![
            "CONFIG",
            "SET",
            "masterauth",
            "pw",
            "maxmemory-samples",
            "5",
        ],
        vec!["MULTI"],
        vec!["SET", "a", "1"],
        vec!["INCR", "a"],
        vec!["EXEC"],
        vec!["GET", "a"],
        vec!["CONFIG", "SET", "slowlog-log-slower-than", "-1"],
    ];
    let mut shapes = Vec::new();
    for srv in [&redis, &ours] {
        let mut c = srv.conn();
        let addr = client_addr(&mut c);
        for args in &script {
            let _ = run(&mut c, args);
        }
        shapes.push(entries(&mut c, &addr));
        // A lowered max length applies at the next entry.
        ok(&mut c, &["CONFIG", "SET", "slowlog-max-len", "2"]);
        ok(&mut c, &["CONFIG", "SET", "slowlog-log-slower-than", "0"]);
        ok(&mut c, &["PING"]);
        ok(&mut c, &["CONFIG", "SET", "slowlog-log-slower-than", "-1"]);
        shapes.push(entries(&mut c, &addr));
        ok(&mut c, &["CONFIG", "SET", "slowlog-max-len", "128"]);
    }
    assert_eq!(shapes[2], shapes[0], "ferrokv vs redis-server");
    assert_eq!(shapes[3], shapes[1], "ferrokv vs redis-server, max len 2");
    // And what they are (so a change in both would still be noticed).
    let argvs: Vec<String> = shapes[2].iter().map(|s| s.0.join(" ")).collect();
    assert_eq!(argvs.len(), 15, "{argvs:?}");
    assert_eq!(
        argvs[..4],
        ["GET a", "INCR a", "SET a 1", "MULTI"],
        "EXEC is not logged"
    );
    assert_eq!(
        argvs[4],
        "CONFIG SET masterauth (redacted) maxmemory-samples 5"
    );
    assert_eq!(
        argvs[5],
        "ACL SETUSER (redacted) (redacted) (redacted) (redacted)"
    );
    assert_eq!(argvs[6], "HELLO 2 SETNAME me");
    assert_eq!(argvs[7], "HELLO 2 AUTH (redacted) (redacted)");
    assert_eq!(argvs[8], "AUTH a b c");
    assert_eq!(argvs[9], "AUTH (redacted) (redacted)");
    assert_eq!(argvs[10], "AUTH (redacted)");
    assert_eq!(
        argvs[11],
        format!("SET k {}... (1 more bytes)", "A".repeat(128))
    );
    let sadd = &shapes[2][12].0;
    assert_eq!(sadd.len(), 32);
    assert_eq!(sadd[31], "... (4 more arguments)");
    assert_eq!(argvs[14], "SLOWLOG RESET");
    assert!(
        shapes[2].iter().all(|s| s.1),
        "every entry names the caller"
    );
    assert_eq!(shapes[2][0].2, "me");
    assert_eq!(shapes[2][14].2, "", "before CLIENT SETNAME");
    let last: Vec<String> = shapes[3].iter().map(|s| s.0.join(" ")).collect();
    assert_eq!(last, ["PING", "CONFIG SET slowlog-log-slower-than 0"]);
}

/// A command that blocks is logged when a server ends its wait (with its own arguments,
/// after whatever served it), not when it blocks, and not at all when it times out.
#[test]
fn blocked_commands_are_logged_when_served_as_redis() {
    let Some(redis) = Server::start_redis() else {
        println!("skipped: redis-server not found");
        return;
    };
    let ours = server();
    let mut logs = Vec::new();
    for srv in [&redis, &ours] {
        let mut c = srv.conn();
        let mut waiter = srv.raw();
        ok(&mut c, &["CONFIG", "SET", "slowlog-log-slower-than", "0"]);
        ok(&mut c, &["SLOWLOG", "RESET"]);
        waiter.send(&crate::conn_util::encode(&["BLPOP", "l", "0"]));
        wait_blocked(&mut c);
        ok(&mut c, &["MULTI"]);
        ok(&mut c, &["LPUSH", "l", "foo"]);
        ok(&mut c, &["SLOWLOG", "RESET"]);
        ok(&mut c, &["EXEC"]);
        let served = crate::conn_util::read_frame(&mut waiter);
        assert_eq!(served, b"*2\r\n$1\r\nl\r\n$3\r\nfoo\r\n");
        // A wait that times out leaves no entry.
        waiter.send(&crate::conn_util::encode(&["BLPOP", "l", "0.05"]));
        assert_eq!(crate::conn_util::read_frame(&mut waiter), b"*-1\r\n");
        ok(&mut c, &["CONFIG", "SET", "slowlog-log-slower-than", "-1"]);
        let addr = client_addr(&mut c);
        logs.push(entries(&mut c, &addr));
    }
    assert_eq!(logs[1], logs[0]);
    let argvs: Vec<String> = logs[1].iter().map(|s| s.0.join(" ")).collect();
    assert_eq!(argvs, ["BLPOP l 0", "SLOWLOG RESET"]);
}

fn wait_blocked(c: &mut redis::Connection) {
    for _ in 0..500 {
        let info = text(&ok(c, &["INFO", "clients"]));
        if info.contains("blocked_clients:1") {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("the client never blocked");
}

/// DEBUG SLEEP as the suite uses it: only commands over the threshold are logged, with their
/// duration; a max length of 1 keeps the newest; -1 turns the log off.
#[test]
fn slow_commands_over_the_threshold() {
    let srv = server();
    let mut c = srv.conn();
    ok(
        &mut c,
        &["CONFIG", "SET", "slowlog-log-slower-than", "100000"],
    );
    ok(&mut c, &["SLOWLOG", "RESET"]);
    ok(&mut c, &["PING"]);
    assert_eq!(ok(&mut c, &["SLOWLOG", "LEN"]), Value::Int(0));
    ok(&mut c, &["CLIENT", "SETNAME", "sleeper"]);
    assert_eq!(ok(&mut c, &["DEBUG", "SLEEP", "0.2"]), Value::Okay);
    assert_eq!(ok(&mut c, &["SLOWLOG", "LEN"]), Value::Int(1));
    let Value::Array(list) = ok(&mut c, &["SLOWLOG", "GET"]) else {
        panic!()
    };
    let Value::Array(e) = &list[0] else { panic!() };
    let Value::Int(usec) = e[2] else { panic!() };
    assert!((200_000..2_000_000).contains(&usec), "{usec}");
    assert_eq!(
        e[3],
        Value::Array(vec![
            crate::common::bulk("DEBUG"),
            crate::common::bulk("SLEEP"),
            crate::common::bulk("0.2")
        ])
    );
    assert_eq!(text(&e[5]), "sleeper");
    // DEBUG SLEEP 0 and nonsense sleep not at all.
    assert_eq!(ok(&mut c, &["DEBUG", "SLEEP", "0"]), Value::Okay);
    assert_eq!(ok(&mut c, &["DEBUG", "SLEEP", "abc"]), Value::Okay);
    ok(&mut c, &["CONFIG", "SET", "slowlog-max-len", "1"]);
    ok(&mut c, &["CONFIG", "SET", "slowlog-log-slower-than", "1"]);
    ok(&mut c, &["DEBUG", "SLEEP", "0.01"]);
    assert_eq!(ok(&mut c, &["SLOWLOG", "LEN"]), Value::Int(1));
    ok(&mut c, &["CONFIG", "SET", "slowlog-log-slower-than", "-1"]);
    ok(&mut c, &["SLOWLOG", "RESET"]);
    ok(&mut c, &["DEBUG", "SLEEP", "0.01"]);
    assert_eq!(ok(&mut c, &["SLOWLOG", "LEN"]), Value::Int(0));
}

/// One log for the whole server: clients of both event loops add to it, ids unique.
#[test]
fn one_log_for_every_event_loop() {
    let srv = server();
    let mut admin = srv.conn();
    ok(
        &mut admin,
        &["CONFIG", "SET", "slowlog-log-slower-than", "0"],
    );
    ok(&mut admin, &["CONFIG", "SET", "slowlog-max-len", "1000"]);
    ok(&mut admin, &["SLOWLOG", "RESET"]);
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let url = srv.url();
            std::thread::spawn(move || {
                let mut c = redis::Client::open(url).unwrap().get_connection().unwrap();
                for i in 0..50 {
                    ok(&mut c, &["SET", &format!("k{t}"), &i.to_string()]);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    ok(
        &mut admin,
        &["CONFIG", "SET", "slowlog-log-slower-than", "-1"],
    );
    let Value::Array(list) = ok(&mut admin, &["SLOWLOG", "GET", "-1"]) else {
        panic!()
    };
    let sets = list
        .iter()
        .filter(|e| matches!(e, Value::Array(f) if matches!(&f[3], Value::Array(a) if text(&a[0]) == "SET")))
        .count();
    assert_eq!(sets, 200);
    let mut ids: Vec<i64> = list
        .iter()
        .map(|e| match e {
            Value::Array(f) => match f[0] {
                Value::Int(id) => id,
                _ => panic!(),
            },
            _ => panic!(),
        })
        .collect();
    let n = ids.len();
    ids.dedup();
    assert_eq!(ids.len(), n, "unique ids");
    let peers: std::collections::HashSet<String> = list
        .iter()
        .map(|e| match e {
            Value::Array(f) => text(&f[4]),
            _ => panic!(),
        })
        .collect();
    assert_eq!(peers.len(), 5, "four writers and the admin");
}
