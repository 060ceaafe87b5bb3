//! Set commands end to end, through the `redis` crate against the real binary: replies and
//! their RESP2/RESP3 types, exact error texts, intset/hashtable encodings, SSCAN cursors on big
//! sets, atomicity of SMOVE and the multi-key commands across threads, and a big DEL freed off
//! the event loop.

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::common::{self, bulk, err, ok, run, Server, NOT_INT, SYNTAX, WRONGTYPE};
use redis::Value;

fn int(c: &mut redis::Connection, args: &[&str]) -> i64 {
    match ok(c, args) {
        Value::Int(n) => n,
        other => panic!("{args:?}: expected an integer, got {other:?}"),
    }
}

fn text(v: &Value) -> String {
    match v {
        Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
        other => panic!("expected a bulk string, got {other:?}"),
    }
}

/// The members of an array or set reply, in reply order.
fn list(v: Value) -> Vec<String> {
    match v {
        Value::Array(items) | Value::Set(items) => items.iter().map(text).collect(),
        other => panic!("expected an array, got {other:?}"),
    }
}

/// The members of an array or set reply, sorted.
fn sorted(v: Value) -> Vec<String> {
    let mut items = list(v);
    items.sort();
    items
}

fn strs(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

fn encoding(c: &mut redis::Connection, key: &str) -> String {
    text(&ok(c, &["OBJECT", "ENCODING", key]))
}

fn server() -> Server {
    Server::start(&["--threads", "2"])
}

#[test]
fn sadd_srem_membership_and_cardinality() {
    let s = server();
    let mut c = s.conn();
    assert_eq!(int(&mut c, &["SADD", "s", "a", "b", "a", "c"]), 3);
    assert_eq!(int(&mut c, &["SADD", "s", "c", "d"]), 1);
    assert_eq!(int(&mut c, &["SCARD", "s"]), 4);
    assert_eq!(int(&mut c, &["SCARD", "missing"]), 0);
    assert_eq!(int(&mut c, &["SISMEMBER", "s", "a"]), 1);
    assert_eq!(int(&mut c, &["SISMEMBER", "s", "z"]), 0);
    assert_eq!(int(&mut c, &["SISMEMBER", "missing", "a"]), 0);
    assert_eq!(
        ok(&mut c, &["SMISMEMBER", "s", "a", "z", "d"]),
        Value::Array(vec![Value::Int(1), Value::Int(0), Value::Int(1)])
    );
    assert_eq!(
        ok(&mut c, &["SMISMEMBER", "missing", "a", "b"]),
        Value::Array(vec![Value::Int(0), Value::Int(0)])
    );
    assert_eq!(
        sorted(ok(&mut c, &["SMEMBERS", "s"])),
        strs(&["a", "b", "c", "d"])
    );
    assert_eq!(
        list(ok(&mut c, &["SMEMBERS", "missing"])),
        Vec::<String>::new()
    );

    assert_eq!(int(&mut c, &["SREM", "s", "a", "z", "a"]), 1);
    assert_eq!(int(&mut c, &["SREM", "missing", "a"]), 0);
    // Emptying the set deletes the key; the rest of the arguments are not looked at.
    assert_eq!(int(&mut c, &["SREM", "s", "b", "c", "d", "e"]), 3);
    assert_eq!(int(&mut c, &["EXISTS", "s"]), 0);

    // Binary-safe members, the empty member included.
    let mut cmd = redis::cmd("SADD");
    cmd.arg("bin").arg(&b"\x00\xff\r\n"[..]).arg("");
    assert_eq!(cmd.query::<i64>(&mut c).unwrap(), 2);
    let mut cmd = redis::cmd("SISMEMBER");
    cmd.arg("bin").arg(&b"\x00\xff\r\n"[..]);
    assert_eq!(cmd.query::<i64>(&mut c).unwrap(), 1);
    assert_eq!(int(&mut c, &["SISMEMBER", "bin", ""]), 1);

    // A TTL survives SADD/SREM.
    ok(&mut c, &["SADD", "t", "1", "2"]);
    ok(&mut c, &["EXPIRE", "t", "100"]);
    ok(&mut c, &["SADD", "t", "3"]);
    ok(&mut c, &["SREM", "t", "1"]);
    assert!(int(&mut c, &["TTL", "t"]) > 0);

    // WRONGTYPE everywhere, and the string is left alone.
    ok(&mut c, &["SET", "str", "x"]);
    for args in [
        &["SADD", "str", "a"][..],
        &["SREM", "str", "a"],
        &["SMEMBERS", "str"],
        &["SISMEMBER", "str", "a"],
        &["SMISMEMBER", "str", "a"],
        &["SCARD", "str"],
        &["SPOP", "str"],
        &["SPOP", "str", "0"],
        &["SRANDMEMBER", "str"],
        &["SRANDMEMBER", "str", "0"],
        &["SSCAN", "str", "0"],
    ] {
        assert_eq!(err(&mut c, args), WRONGTYPE, "{args:?}");
    }
    assert_eq!(ok(&mut c, &["GET", "str"]), bulk("x"));
}

#[test]
fn encodings_follow_redis_7_0() {
    let s = server();
    let mut c = s.conn();
    ok(&mut c, &["SADD", "i", "3", "1", "2", "-5"]);
    assert_eq!(encoding(&mut c, "i"), "intset");
    // An intset answers in ascending order.
    assert_eq!(
        list(ok(&mut c, &["SMEMBERS", "i"])),
        strs(&["-5", "1", "2", "3"])
    );
    // Not integers to Redis: leading zeros, "-0", a sign, spaces, overflow.
    for odd in ["007", "-0", "+1", " 1", "18446744073709551616"] {
        ok(&mut c, &["DEL", "o"]);
        ok(&mut c, &["SADD", "o", "1", odd]);
        assert_eq!(encoding(&mut c, "o"), "hashtable", "{odd:?}");
        assert_eq!(int(&mut c, &["SISMEMBER", "o", odd]), 1);
    }
    // A hashtable stays one after the string leaves.
    ok(&mut c, &["SADD", "i", "x"]);
    ok(&mut c, &["SREM", "i", "x"]);
    assert_eq!(encoding(&mut c, "i"), "hashtable");

    // 512 integers fit in an intset, 513 do not.
    let mut args: Vec<String> = vec!["SADD".into(), "big".into()];
    args.extend((0..512).map(|i| i.to_string()));
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    assert_eq!(int(&mut c, &argv), 512);
    assert_eq!(encoding(&mut c, "big"), "intset");
    ok(&mut c, &["SADD", "big", "512"]);
    assert_eq!(encoding(&mut c, "big"), "hashtable");
    assert_eq!(int(&mut c, &["SCARD", "big"]), 513);
    assert_eq!(int(&mut c, &["SISMEMBER", "big", "511"]), 1);
    assert_eq!(int(&mut c, &["SISMEMBER", "big", "0511"]), 0);
    ok(&mut c, &["SADD", "big", "word"]);
    assert_eq!(int(&mut c, &["SISMEMBER", "big", "300"]), 1);
    assert_eq!(int(&mut c, &["SISMEMBER", "big", "word"]), 1);

    // STORE results are built like Redis's: an intset when they can be.
    ok(&mut c, &["SADD", "h", "1", "2", "a"]);
    assert_eq!(int(&mut c, &["SINTERSTORE", "d", "h", "big"]), 2);
    assert_eq!(encoding(&mut c, "d"), "intset");
    assert_eq!(int(&mut c, &["SUNIONSTORE", "d", "h", "i"]), 5);
    assert_eq!(encoding(&mut c, "d"), "hashtable");
    // COPY is deep.
    ok(&mut c, &["COPY", "h", "h2"]);
    ok(&mut c, &["SADD", "h2", "new"]);
    assert_eq!(int(&mut c, &["SCARD", "h"]), 3);
    assert_eq!(int(&mut c, &["SCARD", "h2"]), 4);
}

#[test]
fn set_algebra_and_store_variants() {
    let s = server();
    let mut c = s.conn();
    ok(&mut c, &["SADD", "a", "1", "2", "3", "x", "y"]);
    ok(&mut c, &["SADD", "b", "2", "3", "4", "y"]);
    ok(&mut c, &["SADD", "c", "3", "y", "z"]);
    ok(&mut c, &["SET", "str", "v"]);

    assert_eq!(
        sorted(ok(&mut c, &["SINTER", "a", "b", "c"])),
        strs(&["3", "y"])
    );
    assert_eq!(
        sorted(ok(&mut c, &["SINTER", "a", "a"])),
        strs(&["1", "2", "3", "x", "y"])
    );
    assert_eq!(
        list(ok(&mut c, &["SINTER", "a", "missing"])),
        Vec::<String>::new()
    );
    assert_eq!(
        sorted(ok(&mut c, &["SUNION", "a", "missing", "c"])),
        strs(&["1", "2", "3", "x", "y", "z"])
    );
    assert_eq!(
        sorted(ok(&mut c, &["SDIFF", "a", "b", "missing"])),
        strs(&["1", "x"])
    );
    assert_eq!(
        list(ok(&mut c, &["SDIFF", "missing", "a"])),
        Vec::<String>::new()
    );
    assert_eq!(list(ok(&mut c, &["SDIFF", "a", "a"])), Vec::<String>::new());
    // Redis 7.0 type-checks every key before an empty one short-cuts the work.
    for cmd in ["SINTER", "SUNION", "SDIFF"] {
        assert_eq!(err(&mut c, &[cmd, "missing", "str"]), WRONGTYPE, "{cmd}");
        assert_eq!(err(&mut c, &[cmd, "a", "str"]), WRONGTYPE, "{cmd}");
    }

    // STORE: replaces the destination (whatever it held, TTL included).
    ok(&mut c, &["SET", "dst", "string"]);
    ok(&mut c, &["EXPIRE", "dst", "100"]);
    assert_eq!(int(&mut c, &["SINTERSTORE", "dst", "a", "b"]), 3);
    assert_eq!(
        sorted(ok(&mut c, &["SMEMBERS", "dst"])),
        strs(&["2", "3", "y"])
    );
    assert_eq!(int(&mut c, &["TTL", "dst"]), -1);
    assert_eq!(int(&mut c, &["SUNIONSTORE", "dst", "b", "c"]), 5);
    assert_eq!(int(&mut c, &["SDIFFSTORE", "dst", "a", "b"]), 2);
    assert_eq!(sorted(ok(&mut c, &["SMEMBERS", "dst"])), strs(&["1", "x"]));
    // The destination may be a source.
    assert_eq!(int(&mut c, &["SUNIONSTORE", "dst", "dst", "c"]), 5);
    assert_eq!(int(&mut c, &["SINTERSTORE", "dst", "dst", "a"]), 4);
    // An empty result deletes the destination.
    assert_eq!(int(&mut c, &["SINTERSTORE", "dst", "a", "missing"]), 0);
    assert_eq!(int(&mut c, &["EXISTS", "dst"]), 0);
    ok(&mut c, &["SADD", "dst", "q"]);
    assert_eq!(int(&mut c, &["SDIFFSTORE", "dst", "a", "a"]), 0);
    assert_eq!(int(&mut c, &["EXISTS", "dst"]), 0);
    // A WRONGTYPE source leaves the destination alone.
    ok(&mut c, &["SADD", "dst", "q"]);
    for cmd in ["SINTERSTORE", "SUNIONSTORE", "SDIFFSTORE"] {
        assert_eq!(err(&mut c, &[cmd, "dst", "missing", "str"]), WRONGTYPE);
    }
    assert_eq!(list(ok(&mut c, &["SMEMBERS", "dst"])), strs(&["q"]));
    // Only the destination is written: a string destination is fine.
    assert_eq!(int(&mut c, &["SUNIONSTORE", "str2", "c"]), 3);

    // SINTERCARD.
    assert_eq!(int(&mut c, &["SINTERCARD", "2", "a", "b"]), 3);
    assert_eq!(int(&mut c, &["SINTERCARD", "2", "a", "b", "LIMIT", "2"]), 2);
    assert_eq!(int(&mut c, &["SINTERCARD", "2", "a", "b", "limit", "0"]), 3);
    assert_eq!(
        int(
            &mut c,
            &["SINTERCARD", "2", "a", "b", "LIMIT", "1", "LIMIT", "9"]
        ),
        3
    );
    assert_eq!(int(&mut c, &["SINTERCARD", "1", "missing"]), 0);
    assert_eq!(
        err(&mut c, &["SINTERCARD", "2", "missing", "str"]),
        WRONGTYPE
    );
    for n in ["0", "-1", "x", "99999999999999999999"] {
        assert_eq!(
            err(&mut c, &["SINTERCARD", n, "a"]),
            "ERR numkeys should be greater than 0"
        );
    }
    assert_eq!(
        err(&mut c, &["SINTERCARD", "3", "a", "b"]),
        "ERR Number of keys can't be greater than number of args"
    );
    for limit in ["-1", "x", "1.5"] {
        assert_eq!(
            err(&mut c, &["SINTERCARD", "1", "a", "LIMIT", limit]),
            "ERR LIMIT can't be negative"
        );
    }
    assert_eq!(err(&mut c, &["SINTERCARD", "1", "a", "LIMIT"]), SYNTAX);
    assert_eq!(err(&mut c, &["SINTERCARD", "1", "a", "b"]), SYNTAX);
    assert_eq!(
        err(&mut c, &["SINTERCARD", "1"]),
        "ERR wrong number of arguments for 'sintercard' command"
    );
}

#[test]
fn spop_and_srandmember() {
    let s = server();
    let mut c = s.conn();
    let all: Vec<String> = (1..=10).map(|i| format!("m{i}")).collect();
    let mut args = vec!["SADD", "s"];
    args.extend(all.iter().map(String::as_str));
    ok(&mut c, &args);

    // SRANDMEMBER never changes the set.
    let one = text(&ok(&mut c, &["SRANDMEMBER", "s"]));
    assert!(all.contains(&one));
    let three = list(ok(&mut c, &["SRANDMEMBER", "s", "3"]));
    assert_eq!(three.iter().collect::<HashSet<_>>().len(), 3);
    assert!(three.iter().all(|m| all.contains(m)));
    assert_eq!(sorted(ok(&mut c, &["SRANDMEMBER", "s", "100"])), {
        let mut a = all.clone();
        a.sort();
        a
    });
    let repeats = list(ok(&mut c, &["SRANDMEMBER", "s", "-30"]));
    assert_eq!(repeats.len(), 30);
    assert!(repeats.iter().all(|m| all.contains(m)));
    assert_eq!(
        list(ok(&mut c, &["SRANDMEMBER", "s", "0"])),
        Vec::<String>::new()
    );
    assert_eq!(ok(&mut c, &["SRANDMEMBER", "missing"]), Value::Nil);
    assert_eq!(
        list(ok(&mut c, &["SRANDMEMBER", "missing", "-3"])),
        Vec::<String>::new()
    );
    assert_eq!(int(&mut c, &["SCARD", "s"]), 10);
    assert_eq!(err(&mut c, &["SRANDMEMBER", "s", "x"]), NOT_INT);
    assert_eq!(
        err(&mut c, &["SRANDMEMBER", "s", "-9223372036854775808"]),
        "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"
    );
    assert_eq!(err(&mut c, &["SRANDMEMBER", "s", "1", "2"]), SYNTAX);

    // SPOP removes what it returns.
    let popped = text(&ok(&mut c, &["SPOP", "s"]));
    assert_eq!(int(&mut c, &["SISMEMBER", "s", &popped]), 0);
    let popped = list(ok(&mut c, &["SPOP", "s", "3"]));
    assert_eq!(popped.iter().collect::<HashSet<_>>().len(), 3);
    assert_eq!(int(&mut c, &["SCARD", "s"]), 6);
    // Most of the set: the few that stay move to a new set.
    let popped = list(ok(&mut c, &["SPOP", "s", "5"]));
    assert_eq!(popped.len(), 5);
    assert_eq!(int(&mut c, &["SCARD", "s"]), 1);
    assert_eq!(list(ok(&mut c, &["SPOP", "s", "0"])), Vec::<String>::new());
    assert_eq!(list(ok(&mut c, &["SPOP", "s", "7"])).len(), 1);
    assert_eq!(int(&mut c, &["EXISTS", "s"]), 0);
    assert_eq!(ok(&mut c, &["SPOP", "missing"]), Value::Nil);
    assert_eq!(
        list(ok(&mut c, &["SPOP", "missing", "2"])),
        Vec::<String>::new()
    );
    for bad in ["-1", "x", "1.5"] {
        assert_eq!(
            err(&mut c, &["SPOP", "s", bad]),
            "ERR value is out of range, must be positive"
        );
    }
    assert_eq!(err(&mut c, &["SPOP", "s", "1", "2"]), SYNTAX);

    // The last member popped deletes the key; a TTL survives partial pops.
    ok(&mut c, &["SADD", "one", "x"]);
    assert_eq!(ok(&mut c, &["SPOP", "one"]), bulk("x"));
    assert_eq!(int(&mut c, &["EXISTS", "one"]), 0);
    ok(&mut c, &["SADD", "t", "1", "2", "3", "4", "5", "6"]);
    ok(&mut c, &["EXPIRE", "t", "100"]);
    ok(&mut c, &["SPOP", "t", "5"]);
    assert!(int(&mut c, &["TTL", "t"]) > 0);

    // Popping most of a hashtable of integers leaves an intset (Redis rebuilds the set).
    let mut args: Vec<String> = vec!["SADD".into(), "h".into()];
    args.extend((0..600).map(|i| i.to_string()));
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    ok(&mut c, &argv);
    assert_eq!(encoding(&mut c, "h"), "hashtable");
    assert_eq!(list(ok(&mut c, &["SPOP", "h", "590"])).len(), 590);
    assert_eq!(encoding(&mut c, "h"), "intset");
    // ... while popping a few keeps the hashtable.
    ok(&mut c, &argv);
    assert_eq!(list(ok(&mut c, &["SPOP", "h", "3"])).len(), 3);
    assert_eq!(encoding(&mut c, "h"), "hashtable");
}

#[test]
fn smove_paths() {
    let s = server();
    let mut c = s.conn();
    ok(&mut c, &["SADD", "src", "a", "b", "1"]);
    ok(&mut c, &["SET", "str", "x"]);
    assert_eq!(int(&mut c, &["SMOVE", "src", "dst", "a"]), 1);
    assert_eq!(list(ok(&mut c, &["SMEMBERS", "dst"])), strs(&["a"]));
    assert_eq!(int(&mut c, &["SMOVE", "src", "dst", "a"]), 0);
    assert_eq!(int(&mut c, &["SMOVE", "src", "dst", "zz"]), 0);
    // A new destination is created with the right encoding.
    assert_eq!(int(&mut c, &["SMOVE", "src", "ints", "1"]), 1);
    assert_eq!(encoding(&mut c, "ints"), "intset");
    // Already in the destination: still 1, removed from the source.
    ok(&mut c, &["SADD", "dst", "b"]);
    assert_eq!(int(&mut c, &["SMOVE", "src", "dst", "b"]), 1);
    assert_eq!(int(&mut c, &["EXISTS", "src"]), 0, "emptied source deleted");
    assert_eq!(sorted(ok(&mut c, &["SMEMBERS", "dst"])), strs(&["a", "b"]));
    // Same key: membership only.
    assert_eq!(int(&mut c, &["SMOVE", "dst", "dst", "a"]), 1);
    assert_eq!(int(&mut c, &["SMOVE", "dst", "dst", "q"]), 0);
    assert_eq!(int(&mut c, &["SCARD", "dst"]), 2);
    // Type errors: a missing source answers 0 first.
    assert_eq!(int(&mut c, &["SMOVE", "missing", "str", "a"]), 0);
    assert_eq!(err(&mut c, &["SMOVE", "str", "dst", "a"]), WRONGTYPE);
    assert_eq!(err(&mut c, &["SMOVE", "dst", "str", "zz"]), WRONGTYPE);
    assert_eq!(err(&mut c, &["SMOVE", "str", "str", "a"]), WRONGTYPE);
    assert_eq!(int(&mut c, &["SCARD", "dst"]), 2);
}

#[test]
fn sscan_small_and_big_sets() {
    let s = server();
    let mut c = s.conn();
    // An intset comes whole, whatever the cursor and COUNT.
    ok(&mut c, &["SADD", "i", "3", "1", "2", "10"]);
    let reply = ok(&mut c, &["SSCAN", "i", "12345", "COUNT", "1"]);
    let Value::Array(parts) = reply else { panic!() };
    assert_eq!(parts[0], bulk("0"));
    assert_eq!(list(parts[1].clone()), strs(&["1", "2", "3", "10"]));
    let reply = ok(&mut c, &["SSCAN", "i", "0", "MATCH", "1*"]);
    let Value::Array(parts) = reply else { panic!() };
    assert_eq!(list(parts[1].clone()), strs(&["1", "10"]));
    assert_eq!(
        ok(&mut c, &["SSCAN", "missing", "0", "BAD"]),
        Value::Array(vec![bulk("0"), Value::Array(vec![])])
    );
    assert_eq!(err(&mut c, &["SSCAN", "i", "x"]), "ERR invalid cursor");
    assert_eq!(err(&mut c, &["SSCAN", "i", "0", "COUNT", "0"]), SYNTAX);
    assert_eq!(err(&mut c, &["SSCAN", "i", "0", "COUNT", "x"]), NOT_INT);
    assert_eq!(err(&mut c, &["SSCAN", "i", "0", "MATCH"]), SYNTAX);
    assert_eq!(err(&mut c, &["SSCAN", "i", "0", "TYPE", "set"]), SYNTAX);

    // A big set is scanned in small steps, and every member present throughout comes back
    // even while another client grows and shrinks the set.
    let n = 20_000;
    let mut pipe = redis::pipe();
    for chunk in (0..n).collect::<Vec<_>>().chunks(1000) {
        let mut cmd = redis::cmd("SADD");
        cmd.arg("big");
        for i in chunk {
            cmd.arg(format!("member:{i}"));
        }
        pipe.add_command(cmd).ignore();
    }
    pipe.query::<()>(&mut c).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let churn = {
        let stop = stop.clone();
        let mut c2 = s.conn();
        std::thread::spawn(move || {
            let mut round = 0;
            while !stop.load(Ordering::Relaxed) {
                let mut add = redis::cmd("SADD");
                let mut rem = redis::cmd("SREM");
                add.arg("big");
                rem.arg("big");
                for j in 0..2000 {
                    add.arg(format!("tmp:{round}:{j}"));
                    rem.arg(format!("tmp:{round}:{j}"));
                }
                add.query::<i64>(&mut c2).unwrap();
                rem.query::<i64>(&mut c2).unwrap();
                round += 1;
            }
        })
    };
    let mut seen = HashSet::new();
    let mut cursor = "0".to_string();
    let mut calls = 0;
    loop {
        let Value::Array(parts) = ok(&mut c, &["SSCAN", "big", &cursor, "COUNT", "50"]) else {
            panic!()
        };
        let batch = list(parts[1].clone());
        assert!(batch.len() < 1000, "bounded work per call: {}", batch.len());
        seen.extend(batch);
        cursor = text(&parts[0]);
        calls += 1;
        if cursor == "0" {
            break;
        }
    }
    stop.store(true, Ordering::Relaxed);
    churn.join().unwrap();
    assert!(calls > 20, "incremental: {calls} calls");
    for i in 0..n {
        assert!(seen.contains(&format!("member:{i}")), "member:{i} missing");
    }
    // MATCH filters what a step returns.
    let mut cursor = "0".to_string();
    let mut matched = 0;
    loop {
        let args = [
            "SSCAN",
            "big",
            &cursor,
            "MATCH",
            "member:1?",
            "COUNT",
            "1000",
        ];
        let Value::Array(parts) = ok(&mut c, &args) else {
            panic!()
        };
        matched += list(parts[1].clone()).len();
        cursor = text(&parts[0]);
        if cursor == "0" {
            break;
        }
    }
    assert_eq!(matched, 10);
}

/// Sends one RESP command on a raw socket and returns the first line of the reply.
fn raw_first_line(r: &mut BufReader<std::net::TcpStream>, args: &[&str]) -> String {
    let mut req = format!("*{}\r\n", args.len());
    for a in args {
        req.push_str(&format!("${}\r\n{a}\r\n", a.len()));
    }
    r.get_mut().write_all(req.as_bytes()).unwrap();
    let mut line = String::new();
    r.read_line(&mut line).unwrap();
    // Skip the rest of the reply: small replies arrive whole; wait briefly and drain.
    std::thread::sleep(Duration::from_millis(30));
    r.get_mut().set_nonblocking(true).unwrap();
    let mut rest = Vec::new();
    let _ = r.read_to_end(&mut rest);
    r.get_mut().set_nonblocking(false).unwrap();
    line.trim_end().to_string()
}

#[test]
fn resp3_reply_types_match_redis_7_0() {
    let s = server();
    let mut c = s.conn();
    ok(&mut c, &["SADD", "s", "1", "2", "3"]);
    let stream = std::net::TcpStream::connect(("127.0.0.1", s.port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut r = BufReader::new(stream);
    assert!(raw_first_line(&mut r, &["HELLO", "3"]).starts_with('%'));
    for (args, first) in [
        (&["SMEMBERS", "s"][..], "~3"),
        (&["SMEMBERS", "missing"], "~0"),
        (&["SINTER", "s", "s"], "~3"),
        (&["SUNION", "s"], "~3"),
        (&["SDIFF", "s", "missing"], "~3"),
        (&["SINTER", "s", "missing"], "~0"),
        (&["SRANDMEMBER", "s", "2"], "*2"),
        (&["SRANDMEMBER", "s", "-4"], "*4"),
        (&["SRANDMEMBER", "missing", "2"], "*0"),
        (&["SRANDMEMBER", "missing"], "_"),
        (&["SPOP", "missing"], "_"),
        (&["SPOP", "missing", "2"], "~0"),
        (&["SPOP", "s", "0"], "~0"),
        (&["SMISMEMBER", "s", "1"], "*1"),
        (&["SSCAN", "s", "0"], "*2"),
        (&["SPOP", "s", "2"], "~2"),
    ] {
        assert_eq!(raw_first_line(&mut r, args), first, "{args:?}");
    }
}

#[test]
fn smove_and_multi_key_reads_are_atomic_across_threads() {
    let s = Server::start(&["--threads", "4"]);
    let mut c = s.conn();
    let n = 50;
    let mut args = vec!["SADD".to_string(), "{a}".to_string()];
    args.extend((0..n).map(|i| format!("m{i}")));
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    ok(&mut c, &argv);
    let stop = Arc::new(AtomicBool::new(false));
    let movers: Vec<_> = (0..3)
        .map(|t| {
            let stop = stop.clone();
            let mut c = s.conn();
            std::thread::spawn(move || {
                let mut i = t;
                while !stop.load(Ordering::Relaxed) {
                    let m = format!("m{}", i % n);
                    let (from, to) = if i % 2 == 0 {
                        ("{a}", "b")
                    } else {
                        ("b", "{a}")
                    };
                    run(&mut c, &["SMOVE", from, to, &m]).unwrap();
                    i += 7;
                }
            })
        })
        .collect();
    // Every member is always in exactly one of the two sets.
    let deadline = Instant::now() + Duration::from_millis(1500);
    let mut checks = 0;
    while Instant::now() < deadline {
        assert_eq!(int(&mut c, &["SINTERCARD", "2", "{a}", "b"]), 0);
        assert_eq!(list(ok(&mut c, &["SUNION", "{a}", "b"])).len(), n);
        assert_eq!(int(&mut c, &["SUNIONSTORE", "u", "{a}", "b"]), n as i64);
        checks += 1;
    }
    stop.store(true, Ordering::Relaxed);
    for m in movers {
        m.join().unwrap();
    }
    assert!(checks > 10);
    assert_eq!(
        int(&mut c, &["SCARD", "{a}"]) + int(&mut c, &["SCARD", "b"]),
        n as i64
    );
}

#[test]
fn deleting_a_million_member_set_keeps_the_loop_responsive() {
    // One worker: the PING below is served by the same loop that ran the DEL.
    let s = Server::start(&["--threads", "1"]);
    let mut c = s.conn();
    let n = 1_000_000;
    let mut pipe = redis::pipe();
    for start in (0..n).step_by(10_000) {
        let mut cmd = redis::cmd("SADD");
        cmd.arg("big");
        // Over 16 bytes: each member owns a heap allocation, as in a worst-case free.
        for i in start..start + 10_000 {
            cmd.arg(format!("member:{i:016}"));
        }
        pipe.add_command(cmd).ignore();
    }
    pipe.query::<()>(&mut c).unwrap();
    assert_eq!(int(&mut c, &["SCARD", "big"]), n);
    let started = Instant::now();
    assert_eq!(int(&mut c, &["DEL", "big"]), 1);
    assert_eq!(ok(&mut c, &["PING"]), Value::SimpleString("PONG".into()));
    let elapsed = started.elapsed();
    // Freeing a million allocations inline takes tens of milliseconds or more; handed to the
    // lazyfree thread the DEL and the PING take well under that. Generous bound: CI noise.
    assert!(elapsed < Duration::from_millis(500), "{elapsed:?}");
    assert_eq!(int(&mut c, &["EXISTS", "big"]), 0);
}

#[test]
fn command_info_describes_the_set_commands() {
    let s = server();
    let mut c = s.conn();
    let Value::Array(info) = ok(&mut c, &["COMMAND", "INFO", "sintercard", "smove", "sadd"]) else {
        panic!()
    };
    let fields = |v: &Value| match v {
        Value::Array(f) => f.clone(),
        other => panic!("{other:?}"),
    };
    let sintercard = fields(&info[0]);
    assert_eq!(sintercard[1], Value::Int(-3));
    assert!(format!("{:?}", sintercard[2]).contains("movablekeys"));
    let smove = fields(&info[1]);
    assert_eq!(
        (&smove[1], &smove[3], &smove[4], &smove[5]),
        (
            &Value::Int(4),
            &Value::Int(1),
            &Value::Int(2),
            &Value::Int(1)
        )
    );
    let sadd = fields(&info[2]);
    assert_eq!(sadd[1], Value::Int(-3));
}

/// A huge negative SRANDMEMBER count is refused instead of building an unbounded reply (a
/// hostile client must not exhaust memory or stall its loop); reasonable counts still work.
#[test]
fn srandmember_refuses_unbounded_repeats() {
    let s = Server::start(&["--threads", "1"]);
    let mut c = s.conn();
    let _: i64 = redis::cmd("SADD")
        .arg("s")
        .arg("a")
        .arg("b")
        .query(&mut c)
        .unwrap();
    assert_eq!(
        common::err(&mut c, &["SRANDMEMBER", "s", "-9223372036854775807"]),
        "ERR value is out of range"
    );
    let picks: Vec<String> = redis::cmd("SRANDMEMBER")
        .arg("s")
        .arg(-1000)
        .query(&mut c)
        .unwrap();
    assert_eq!(picks.len(), 1000);
    assert_eq!(
        common::run(&mut c, &["PING"]).unwrap(),
        redis::Value::SimpleString("PONG".into())
    );
}
