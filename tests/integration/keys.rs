//! Keyspace and expiry commands against the real binary: replies and exact error texts, TTL
//! behaviour with short TTLs and polling, SCAN guarantees under concurrent writers, cross-db
//! commands, active expiry of a million keys, and a differential run against real Redis.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::common::{self, bulk, err, run, Server};
use redis::Value;

fn int(c: &mut redis::Connection, args: &[&str]) -> i64 {
    match run(c, args) {
        Ok(Value::Int(n)) => n,
        other => panic!("{args:?}: expected an integer, got {other:?}"),
    }
}

fn ok(c: &mut redis::Connection, args: &[&str]) {
    assert_eq!(run(c, args).unwrap(), Value::Okay, "{args:?}");
}

fn simple(s: &str) -> Value {
    Value::SimpleString(s.to_string())
}

/// The keys of a KEYS reply (or the key list of a SCAN reply), sorted.
fn key_list(v: &Value) -> Vec<String> {
    let Value::Array(items) = v else {
        panic!("expected an array, got {v:?}");
    };
    let mut keys: Vec<String> = items
        .iter()
        .map(|k| match k {
            Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
            other => panic!("expected a bulk string, got {other:?}"),
        })
        .collect();
    keys.sort();
    keys
}

/// One SCAN call: (next cursor, keys).
fn scan_step(c: &mut redis::Connection, args: &[&str]) -> (String, Vec<String>) {
    match run(c, args).unwrap() {
        Value::Array(parts) if parts.len() == 2 => {
            let Value::BulkString(cursor) = &parts[0] else {
                panic!("cursor must be a bulk string: {:?}", parts[0]);
            };
            (
                String::from_utf8(cursor.clone()).unwrap(),
                key_list(&parts[1]),
            )
        }
        other => panic!("bad SCAN reply {other:?}"),
    }
}

/// A full SCAN iteration with extra options; returns every key returned (with repeats).
fn scan_all(c: &mut redis::Connection, options: &[&str]) -> Vec<String> {
    let mut cursor = "0".to_string();
    let mut all = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let mut args = vec!["SCAN", cursor.as_str()];
        args.extend_from_slice(options);
        let (next, keys) = scan_step(c, &args);
        all.extend(keys);
        if next == "0" {
            return all;
        }
        assert!(Instant::now() < deadline, "SCAN did not terminate");
        cursor = next;
    }
}

/// Polls `f` every 10 ms until it is true or `within` passes.
fn eventually(within: Duration, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + within;
    loop {
        if f() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Loads keys `key(0..n)` with `SET k v` and `PEXPIRE k ttl_ms` as fast as the server takes
/// them: raw RESP written by one thread while this one counts the single-line replies.
fn load_raw_with_ttl(s: &Server, n: usize, key: fn(usize) -> String, ttl_ms: u64) {
    use std::io::{BufRead, BufReader, Write};
    let raw = s.raw();
    let mut writer = raw.s.try_clone().expect("clone socket");
    let sender = std::thread::spawn(move || {
        let ttl = ttl_ms.to_string();
        let mut buf = Vec::with_capacity(1 << 20);
        for i in 0..n {
            let k = key(i);
            write!(buf, "*3\r\n$3\r\nSET\r\n${}\r\n{k}\r\n$1\r\nv\r\n", k.len()).unwrap();
            write!(
                buf,
                "*3\r\n$7\r\nPEXPIRE\r\n${}\r\n{k}\r\n${}\r\n{ttl}\r\n",
                k.len(),
                ttl.len()
            )
            .unwrap();
            if buf.len() >= 1 << 20 {
                writer.write_all(&buf).expect("send");
                buf.clear();
            }
        }
        writer.write_all(&buf).expect("send");
    });
    let mut reader = BufReader::with_capacity(1 << 20, raw.s);
    let mut line = Vec::new();
    for _ in 0..2 * n {
        line.clear();
        reader.read_until(b'\n', &mut line).expect("read reply");
        // `+OK` for SET, `:1` (or `:0` if the key already expired) for PEXPIRE.
        assert!(
            line.first() == Some(&b'+') || line.first() == Some(&b':'),
            "unexpected reply {:?}",
            String::from_utf8_lossy(&line)
        );
    }
    sender.join().expect("sender");
}

/// Loads `keys` with `SET k v` (+ `PEXPIRE k ttl_ms` when given) through pipelines.
fn load(c: &mut redis::Connection, keys: impl Iterator<Item = String>, ttl_ms: Option<u64>) {
    let mut pipe = redis::pipe();
    let mut queued = 0;
    for k in keys {
        pipe.cmd("SET").arg(&k).arg("v").ignore();
        if let Some(ttl) = ttl_ms {
            pipe.cmd("PEXPIRE").arg(&k).arg(ttl).ignore();
        }
        queued += 1;
        if queued == 5_000 {
            let () = pipe.query(c).expect("pipeline");
            pipe = redis::pipe();
            queued = 0;
        }
    }
    if queued > 0 {
        let () = pipe.query(c).expect("pipeline");
    }
}

#[test]
fn del_unlink_exists_type_touch() {
    let s = Server::start(&["--threads", "2"]);
    let mut c = s.conn();
    for k in ["a", "b", "c"] {
        ok(&mut c, &["SET", k, "1"]);
    }
    assert_eq!(
        int(&mut c, &["EXISTS", "a", "a", "b", "nope"]),
        3,
        "repeats count"
    );
    assert_eq!(int(&mut c, &["TOUCH", "a", "a", "nope"]), 2);
    assert_eq!(run(&mut c, &["TYPE", "a"]).unwrap(), simple("string"));
    assert_eq!(run(&mut c, &["TYPE", "nope"]).unwrap(), simple("none"));
    assert_eq!(
        int(&mut c, &["DEL", "a", "a", "nope"]),
        1,
        "a repeated key is deleted once"
    );
    assert_eq!(int(&mut c, &["UNLINK", "b", "c", "nope"]), 2);
    assert_eq!(int(&mut c, &["EXISTS", "a", "b", "c"]), 0);
    assert_eq!(int(&mut c, &["DBSIZE"]), 0);
    assert_eq!(
        err(&mut c, &["DEL"]),
        "ERR wrong number of arguments for 'del' command"
    );
    assert_eq!(
        err(&mut c, &["EXISTS"]),
        "ERR wrong number of arguments for 'exists' command"
    );
    assert_eq!(
        err(&mut c, &["TYPE", "a", "b"]),
        "ERR wrong number of arguments for 'type' command"
    );
}

#[test]
fn keys_randomkey_dbsize_flush() {
    let s = Server::start(&["--threads", "2"]);
    let mut c = s.conn();
    assert_eq!(run(&mut c, &["RANDOMKEY"]).unwrap(), Value::Nil);
    assert_eq!(
        key_list(&run(&mut c, &["KEYS", "*"]).unwrap()),
        Vec::<String>::new()
    );
    for k in ["one", "two", "three", "four", "", "a*b", "a?c"] {
        ok(&mut c, &["SET", k, "x"]);
    }
    assert_eq!(int(&mut c, &["DBSIZE"]), 7);
    // `*` returns the empty key too (Redis's fast path); other patterns go through the matcher.
    assert_eq!(key_list(&run(&mut c, &["KEYS", "*"]).unwrap()).len(), 7);
    assert_eq!(
        key_list(&run(&mut c, &["KEYS", "t*"]).unwrap()),
        ["three", "two"]
    );
    assert_eq!(key_list(&run(&mut c, &["KEYS", "?o*"]).unwrap()), ["four"]);
    assert_eq!(
        key_list(&run(&mut c, &["KEYS", "[ot]*e"]).unwrap()),
        ["one", "three"]
    );
    assert_eq!(key_list(&run(&mut c, &["KEYS", "a\\*b"]).unwrap()), ["a*b"]);
    assert_eq!(
        key_list(&run(&mut c, &["KEYS", "nomatch*"]).unwrap()),
        Vec::<String>::new()
    );
    match run(&mut c, &["RANDOMKEY"]).unwrap() {
        Value::BulkString(k) => {
            let k = String::from_utf8(k).unwrap();
            assert!(["one", "two", "three", "four", "", "a*b", "a?c"].contains(&k.as_str()));
        }
        other => panic!("RANDOMKEY: {other:?}"),
    }
    ok(&mut c, &["SELECT", "1"]);
    ok(&mut c, &["SET", "in1", "x"]);
    ok(&mut c, &["FLUSHDB"]);
    assert_eq!(int(&mut c, &["DBSIZE"]), 0);
    ok(&mut c, &["SET", "in1", "x"]);
    ok(&mut c, &["FLUSHDB", "ASYNC"]);
    assert_eq!(int(&mut c, &["DBSIZE"]), 0);
    ok(&mut c, &["SET", "in1", "x"]);
    ok(&mut c, &["FLUSHDB", "sync"]);
    ok(&mut c, &["SELECT", "0"]);
    assert_eq!(
        int(&mut c, &["DBSIZE"]),
        7,
        "FLUSHDB only empties the selected db"
    );
    ok(&mut c, &["SELECT", "2"]);
    ok(&mut c, &["SET", "in2", "x"]);
    ok(&mut c, &["FLUSHALL", "ASYNC"]);
    assert_eq!(int(&mut c, &["DBSIZE"]), 0);
    ok(&mut c, &["SELECT", "0"]);
    assert_eq!(int(&mut c, &["DBSIZE"]), 0);
    ok(&mut c, &["SET", "x", "x"]);
    ok(&mut c, &["FLUSHALL", "SYNC"]);
    ok(&mut c, &["SET", "x", "x"]);
    ok(&mut c, &["FLUSHALL"]);
    assert_eq!(int(&mut c, &["DBSIZE"]), 0);
    assert_eq!(err(&mut c, &["FLUSHDB", "foo"]), "ERR syntax error");
    assert_eq!(
        err(&mut c, &["FLUSHDB", "SYNC", "ASYNC"]),
        "ERR syntax error"
    );
    assert_eq!(err(&mut c, &["FLUSHALL", "lazy"]), "ERR syntax error");
    assert_eq!(
        err(&mut c, &["KEYS"]),
        "ERR wrong number of arguments for 'keys' command"
    );
    assert_eq!(
        err(&mut c, &["RANDOMKEY", "x"]),
        "ERR wrong number of arguments for 'randomkey' command"
    );
}

#[test]
fn flushall_async_of_a_large_keyspace_keeps_the_server_responsive() {
    let s = Server::start(&["--threads", "2"]);
    let mut c = s.conn();
    load(&mut c, (0..100_000).map(|i| format!("k{i}")), None);
    assert_eq!(int(&mut c, &["DBSIZE"]), 100_000);
    ok(&mut c, &["FLUSHALL", "ASYNC"]);
    assert_eq!(int(&mut c, &["DBSIZE"]), 0);
    ok(&mut c, &["SET", "after", "1"]);
    assert_eq!(int(&mut c, &["DBSIZE"]), 1);
}

#[test]
fn rename_and_renamenx() {
    let s = Server::start(&["--threads", "2"]);
    let mut c = s.conn();
    assert_eq!(err(&mut c, &["RENAME", "a", "b"]), "ERR no such key");
    assert_eq!(err(&mut c, &["RENAME", "a", "a"]), "ERR no such key");
    assert_eq!(err(&mut c, &["RENAMENX", "a", "b"]), "ERR no such key");
    assert_eq!(err(&mut c, &["RENAMENX", "a", "a"]), "ERR no such key");
    ok(&mut c, &["SET", "a", "1"]);
    ok(&mut c, &["RENAME", "a", "a"]);
    assert_eq!(int(&mut c, &["RENAMENX", "a", "a"]), 0);
    assert_eq!(int(&mut c, &["PEXPIRE", "a", "100000"]), 1);
    ok(&mut c, &["RENAME", "a", "b"]);
    assert_eq!(int(&mut c, &["EXISTS", "a"]), 0);
    assert_eq!(run(&mut c, &["GET", "b"]).unwrap(), bulk("1"));
    let ttl = int(&mut c, &["PTTL", "b"]);
    assert!(
        ttl > 90_000 && ttl <= 100_000,
        "RENAME keeps the TTL, got {ttl}"
    );
    ok(&mut c, &["SET", "c", "3"]);
    ok(&mut c, &["RENAME", "b", "c"]);
    assert_eq!(
        run(&mut c, &["GET", "c"]).unwrap(),
        bulk("1"),
        "RENAME overwrites"
    );
    assert!(int(&mut c, &["PTTL", "c"]) > 0);
    ok(&mut c, &["SET", "d", "4"]);
    assert_eq!(int(&mut c, &["RENAMENX", "c", "d"]), 0);
    assert_eq!(run(&mut c, &["GET", "d"]).unwrap(), bulk("4"));
    assert_eq!(int(&mut c, &["RENAMENX", "c", "e"]), 1);
    assert_eq!(int(&mut c, &["EXISTS", "c", "e"]), 1);
    assert_eq!(
        err(&mut c, &["RENAME", "e"]),
        "ERR wrong number of arguments for 'rename' command"
    );
}

#[test]
fn copy_move_and_swapdb_across_databases() {
    let s = Server::start(&["--threads", "2"]);
    let mut c = s.conn();
    // COPY
    assert_eq!(
        err(&mut c, &["COPY", "a", "a"]),
        "ERR source and destination objects are the same"
    );
    assert_eq!(
        err(&mut c, &["COPY", "a", "a", "DB", "0"]),
        "ERR source and destination objects are the same"
    );
    assert_eq!(
        int(&mut c, &["COPY", "a", "a", "DB", "1"]),
        0,
        "missing source"
    );
    assert_eq!(
        err(&mut c, &["COPY", "a", "b", "DB", "16"]),
        "ERR DB index is out of range"
    );
    assert_eq!(
        err(&mut c, &["COPY", "a", "b", "DB", "-1"]),
        "ERR DB index is out of range"
    );
    assert_eq!(
        err(&mut c, &["COPY", "a", "b", "DB", "x"]),
        "ERR value is not an integer or out of range"
    );
    assert_eq!(
        err(&mut c, &["COPY", "a", "b", "DB", "4294967296"]),
        "ERR value is out of range, value must between -2147483648 and 2147483647"
    );
    assert_eq!(err(&mut c, &["COPY", "a", "b", "DB"]), "ERR syntax error");
    assert_eq!(err(&mut c, &["COPY", "a", "b", "foo"]), "ERR syntax error");
    ok(&mut c, &["SET", "a", "1"]);
    assert_eq!(int(&mut c, &["PEXPIRE", "a", "100000"]), 1);
    assert_eq!(int(&mut c, &["COPY", "a", "b"]), 1);
    assert_eq!(run(&mut c, &["GET", "b"]).unwrap(), bulk("1"));
    assert!(int(&mut c, &["PTTL", "b"]) > 90_000, "COPY keeps the TTL");
    ok(&mut c, &["SET", "a", "2"]);
    assert_eq!(int(&mut c, &["COPY", "a", "b"]), 0, "destination exists");
    assert_eq!(run(&mut c, &["GET", "b"]).unwrap(), bulk("1"));
    assert_eq!(int(&mut c, &["COPY", "a", "b", "REPLACE"]), 1);
    assert_eq!(run(&mut c, &["GET", "b"]).unwrap(), bulk("2"));
    assert_eq!(
        int(&mut c, &["PTTL", "b"]),
        -1,
        "REPLACE takes the source's (absent) TTL"
    );
    assert_eq!(int(&mut c, &["COPY", "a", "a", "DB", "3"]), 1);
    assert_eq!(int(&mut c, &["COPY", "a", "z", "db", "3", "replace"]), 1);
    ok(&mut c, &["SELECT", "3"]);
    assert_eq!(run(&mut c, &["GET", "a"]).unwrap(), bulk("2"));
    assert_eq!(run(&mut c, &["GET", "z"]).unwrap(), bulk("2"));
    ok(&mut c, &["SELECT", "0"]);

    // MOVE
    assert_eq!(
        err(&mut c, &["MOVE", "a", "0"]),
        "ERR source and destination objects are the same"
    );
    assert_eq!(
        err(&mut c, &["MOVE", "a", "16"]),
        "ERR DB index is out of range"
    );
    assert_eq!(
        err(&mut c, &["MOVE", "a", "-1"]),
        "ERR DB index is out of range"
    );
    assert_eq!(
        err(&mut c, &["MOVE", "a", "x"]),
        "ERR value is not an integer or out of range"
    );
    assert_eq!(
        err(&mut c, &["MOVE", "a", "4294967296"]),
        "ERR value is out of range, value must between -2147483648 and 2147483647"
    );
    assert_eq!(int(&mut c, &["MOVE", "nope", "1"]), 0);
    assert_eq!(
        int(&mut c, &["MOVE", "a", "3"]),
        0,
        "exists in the target db"
    );
    assert_eq!(int(&mut c, &["EXISTS", "a"]), 1);
    assert_eq!(int(&mut c, &["PEXPIRE", "a", "100000"]), 1);
    assert_eq!(int(&mut c, &["MOVE", "a", "5"]), 1);
    assert_eq!(int(&mut c, &["EXISTS", "a"]), 0);
    ok(&mut c, &["SELECT", "5"]);
    assert_eq!(run(&mut c, &["GET", "a"]).unwrap(), bulk("2"));
    assert!(int(&mut c, &["PTTL", "a"]) > 90_000, "MOVE keeps the TTL");

    // SWAPDB
    assert_eq!(
        err(&mut c, &["SWAPDB", "a", "1"]),
        "ERR invalid first DB index"
    );
    assert_eq!(
        err(&mut c, &["SWAPDB", "1", "a"]),
        "ERR invalid second DB index"
    );
    assert_eq!(
        err(&mut c, &["SWAPDB", "16", "x"]),
        "ERR invalid second DB index"
    );
    assert_eq!(
        err(&mut c, &["SWAPDB", "4294967296", "1"]),
        "ERR invalid first DB index"
    );
    assert_eq!(
        err(&mut c, &["SWAPDB", "0", "16"]),
        "ERR DB index is out of range"
    );
    assert_eq!(
        err(&mut c, &["SWAPDB", "-1", "0"]),
        "ERR DB index is out of range"
    );
    ok(&mut c, &["SWAPDB", "0", "0"]);
    // db 5 has {a}, db 0 has {b}; a second client stays on db 0 and sees the swap.
    let mut other = s.conn();
    ok(&mut c, &["SWAPDB", "5", "0"]);
    assert_eq!(run(&mut other, &["GET", "a"]).unwrap(), bulk("2"));
    assert!(int(&mut other, &["PTTL", "a"]) > 90_000);
    assert_eq!(int(&mut other, &["EXISTS", "b"]), 0);
    assert_eq!(
        run(&mut c, &["GET", "b"]).unwrap(),
        bulk("2"),
        "this client is on db 5"
    );
    assert_eq!(int(&mut c, &["DBSIZE"]), 1);
}

#[test]
fn expire_family_errors() {
    let s = Server::start(&["--threads", "2"]);
    let mut c = s.conn();
    ok(&mut c, &["SET", "a", "1"]);
    let nx = "ERR NX and XX, GT or LT options at the same time are not compatible";
    let gtlt = "ERR GT and LT options at the same time are not compatible";
    for cmd in ["EXPIRE", "PEXPIRE", "EXPIREAT", "PEXPIREAT"] {
        assert_eq!(err(&mut c, &[cmd, "a", "10", "NX", "XX"]), nx);
        assert_eq!(err(&mut c, &[cmd, "a", "10", "nx", "gt"]), nx);
        assert_eq!(err(&mut c, &[cmd, "a", "10", "lt", "NX"]), nx);
        assert_eq!(err(&mut c, &[cmd, "a", "10", "GT", "LT"]), gtlt);
        assert_eq!(err(&mut c, &[cmd, "a", "10", "gt", "lt", "xx"]), gtlt);
        // Options are parsed before the time.
        assert_eq!(
            err(&mut c, &[cmd, "a", "abc", "Foo"]),
            "ERR Unsupported option Foo"
        );
        assert_eq!(
            err(&mut c, &[cmd, "a", "abc"]),
            "ERR value is not an integer or out of range"
        );
        assert_eq!(
            err(&mut c, &[cmd, "a", "1.5"]),
            "ERR value is not an integer or out of range"
        );
        assert_eq!(
            err(&mut c, &[cmd, "a"]),
            format!(
                "ERR wrong number of arguments for '{}' command",
                cmd.to_lowercase()
            )
        );
    }
    for cmd in ["expire", "pexpire", "expireat"] {
        assert_eq!(
            err(&mut c, &[cmd, "a", "9223372036854775807"]),
            format!("ERR invalid expire time in '{cmd}' command")
        );
    }
    assert_eq!(
        err(&mut c, &["EXPIRE", "a", "-9223372036854775808"]),
        "ERR invalid expire time in 'expire' command"
    );
    assert_eq!(
        err(&mut c, &["EXPIRE", "a", "9223372036854776"]),
        "ERR invalid expire time in 'expire' command"
    );
    assert_eq!(
        err(&mut c, &["EXPIREAT", "a", "9223372036854776"]),
        "ERR invalid expire time in 'expireat' command"
    );
    // PEXPIREAT adds nothing, so it cannot overflow: a far-future time is accepted.
    assert_eq!(int(&mut c, &["PEXPIREAT", "a", "9223372036854775807"]), 1);
    assert_eq!(int(&mut c, &["PEXPIRETIME", "a"]), i64::MAX);
    assert_eq!(int(&mut c, &["PERSIST", "a"]), 1);
    assert_eq!(
        err(&mut c, &["TTL"]),
        "ERR wrong number of arguments for 'ttl' command"
    );
    assert_eq!(
        err(&mut c, &["PERSIST", "a", "b"]),
        "ERR wrong number of arguments for 'persist' command"
    );
}

#[test]
fn ttl_semantics_with_short_ttls() {
    let s = Server::start(&["--threads", "2"]);
    let mut c = s.conn();
    for cmd in ["TTL", "PTTL", "EXPIRETIME", "PEXPIRETIME"] {
        assert_eq!(int(&mut c, &[cmd, "missing"]), -2);
    }
    ok(&mut c, &["SET", "k", "v"]);
    for cmd in ["TTL", "PTTL", "EXPIRETIME", "PEXPIRETIME"] {
        assert_eq!(int(&mut c, &[cmd, "k"]), -1);
    }
    assert_eq!(int(&mut c, &["PERSIST", "k"]), 0);
    assert_eq!(int(&mut c, &["PERSIST", "missing"]), 0);
    assert_eq!(int(&mut c, &["EXPIRE", "missing", "10"]), 0);

    // PEXPIRE: visible TTL, then gone by itself.
    assert_eq!(int(&mut c, &["PEXPIRE", "k", "450"]), 1);
    let pttl = int(&mut c, &["PTTL", "k"]);
    assert!((1..=450).contains(&pttl), "PTTL {pttl}");
    assert_eq!(int(&mut c, &["TTL", "k"]), 0, "under 500 ms rounds to 0 s");
    let at = int(&mut c, &["PEXPIRETIME", "k"]);
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    assert!(
        (at - now_ms - 450).abs() < 1000,
        "PEXPIRETIME {at} vs now {now_ms}"
    );
    assert_eq!(int(&mut c, &["EXPIRETIME", "k"]), (at + 500) / 1000);
    assert!(eventually(Duration::from_secs(5), || int(
        &mut c,
        &["EXISTS", "k"]
    ) == 0));
    assert_eq!(int(&mut c, &["PTTL", "k"]), -2);

    // PERSIST cancels a TTL.
    ok(&mut c, &["SET", "p", "v"]);
    assert_eq!(int(&mut c, &["PEXPIRE", "p", "100000"]), 1);
    assert_eq!(int(&mut c, &["PERSIST", "p"]), 1);
    assert_eq!(int(&mut c, &["TTL", "p"]), -1);

    // Absolute forms; a time in the past deletes and returns 1.
    ok(&mut c, &["SET", "abs", "v"]);
    assert_eq!(
        int(
            &mut c,
            &["PEXPIREAT", "abs", &(now_ms + 100_000).to_string()]
        ),
        1
    );
    assert!(int(&mut c, &["PTTL", "abs"]) > 0);
    assert_eq!(int(&mut c, &["EXPIREAT", "abs", "1"]), 1);
    assert_eq!(int(&mut c, &["EXISTS", "abs"]), 0);
    ok(&mut c, &["SET", "neg", "v"]);
    assert_eq!(int(&mut c, &["EXPIRE", "neg", "-1"]), 1);
    assert_eq!(int(&mut c, &["EXISTS", "neg"]), 0);
    ok(&mut c, &["SET", "zero", "v"]);
    assert_eq!(int(&mut c, &["PEXPIRE", "zero", "0"]), 1);
    assert_eq!(int(&mut c, &["EXISTS", "zero"]), 0);

    // NX / XX / GT / LT: no TTL counts as infinite.
    ok(&mut c, &["SET", "o", "v"]);
    assert_eq!(int(&mut c, &["EXPIRE", "o", "100", "XX"]), 0);
    assert_eq!(int(&mut c, &["EXPIRE", "o", "100", "GT"]), 0);
    assert_eq!(int(&mut c, &["TTL", "o"]), -1);
    assert_eq!(int(&mut c, &["EXPIRE", "o", "100", "LT"]), 1);
    assert_eq!(int(&mut c, &["EXPIRE", "o", "100", "NX"]), 0);
    assert_eq!(int(&mut c, &["EXPIRE", "o", "200", "LT"]), 0);
    assert_eq!(int(&mut c, &["EXPIRE", "o", "50", "GT"]), 0);
    assert_eq!(int(&mut c, &["EXPIRE", "o", "200", "GT"]), 1);
    assert_eq!(int(&mut c, &["EXPIRE", "o", "300", "XX", "GT"]), 1);
    assert_eq!(int(&mut c, &["TTL", "o"]), 300);
    assert_eq!(
        int(&mut c, &["EXPIRE", "o", "-1", "LT"]),
        1,
        "LT into the past deletes"
    );
    assert_eq!(int(&mut c, &["EXISTS", "o"]), 0);

    // An expired key is invisible to every command even before the sweeper gets to it.
    ok(&mut c, &["SET", "gone", "v"]);
    assert_eq!(int(&mut c, &["PEXPIRE", "gone", "100"]), 1);
    assert!(eventually(Duration::from_secs(5), || {
        run(&mut c, &["TYPE", "gone"]).unwrap() == simple("none")
    }));
    assert_eq!(err(&mut c, &["RENAME", "gone", "x"]), "ERR no such key");
    assert_eq!(int(&mut c, &["COPY", "gone", "x"]), 0);
    assert_eq!(int(&mut c, &["MOVE", "gone", "1"]), 0);
    assert_eq!(int(&mut c, &["TOUCH", "gone"]), 0);
    assert_eq!(
        run(&mut c, &["OBJECT", "ENCODING", "gone"]).unwrap(),
        Value::Nil
    );
}

#[test]
fn untouched_expired_keys_are_swept_actively() {
    let s = Server::start(&["--threads", "2"]);
    let mut c = s.conn();
    load(&mut c, (0..1000).map(|i| format!("v{i}")), Some(150));
    load(&mut c, (0..10).map(|i| format!("keep{i}")), None);
    // DBSIZE counts expired-but-present keys, so reaching 10 proves the sweeper removed them.
    assert!(
        eventually(Duration::from_secs(10), || int(&mut c, &["DBSIZE"]) == 10),
        "DBSIZE stuck at {}",
        int(&mut c, &["DBSIZE"])
    );
}

#[test]
fn scan_options_and_errors() {
    let s = Server::start(&["--threads", "2"]);
    let mut c = s.conn();
    assert_eq!(scan_step(&mut c, &["SCAN", "0"]), ("0".to_string(), vec![]));
    for i in 0..300 {
        ok(&mut c, &["SET", &format!("user:{i}"), "x"]);
        ok(&mut c, &["SET", &format!("item:{i}"), "x"]);
    }
    ok(&mut c, &["SET", "", "empty"]);
    let all = scan_all(&mut c, &[]);
    let unique: HashSet<&String> = all.iter().collect();
    assert_eq!(
        unique.len(),
        601,
        "plain SCAN returns every key, the empty one included"
    );
    let users: HashSet<String> = scan_all(&mut c, &["MATCH", "user:*"]).into_iter().collect();
    assert_eq!(users.len(), 300);
    assert!(users.iter().all(|k| k.starts_with("user:")));
    let ones: HashSet<String> = scan_all(&mut c, &["MATCH", "*:1?", "COUNT", "7"])
        .into_iter()
        .collect();
    assert_eq!(ones.len(), 20);
    assert_eq!(
        scan_all(&mut c, &["MATCH", "*", "COUNT", "1000"])
            .iter()
            .collect::<HashSet<_>>()
            .len(),
        601
    );
    assert_eq!(
        scan_all(&mut c, &["TYPE", "string"])
            .iter()
            .collect::<HashSet<_>>()
            .len(),
        601
    );
    assert_eq!(
        scan_all(&mut c, &["type", "STRING", "match", "item:*"])
            .iter()
            .collect::<HashSet<_>>()
            .len(),
        300
    );
    assert!(scan_all(&mut c, &["TYPE", "list"]).is_empty());
    assert!(scan_all(&mut c, &["TYPE", "nosuchtype"]).is_empty());
    // COUNT is a hint: a big COUNT finishes in one call.
    let (next, keys) = scan_step(&mut c, &["SCAN", "0", "COUNT", "100000"]);
    assert_eq!((next.as_str(), keys.len()), ("0", 601));
    // Small COUNTs take several calls; each returns a cursor as a bulk string.
    let (next, _) = scan_step(&mut c, &["SCAN", "0", "COUNT", "1"]);
    assert_ne!(next, "0");
    // Cursor parsing follows strtoul: huge, negative, signed and empty cursors are accepted.
    for cursor in ["18446744073709551615", "-1", "+0", ""] {
        scan_step(&mut c, &["SCAN", cursor]);
    }
    assert_eq!(err(&mut c, &["SCAN", "abc"]), "ERR invalid cursor");
    assert_eq!(
        err(&mut c, &["SCAN", "18446744073709551616"]),
        "ERR invalid cursor"
    );
    assert_eq!(err(&mut c, &["SCAN", " 1"]), "ERR invalid cursor");
    assert_eq!(
        err(&mut c, &["SCAN", "abc", "COUNT", "0"]),
        "ERR invalid cursor"
    );
    assert_eq!(
        err(&mut c, &["SCAN", "0", "COUNT", "0"]),
        "ERR syntax error"
    );
    assert_eq!(
        err(&mut c, &["SCAN", "0", "COUNT", "-1"]),
        "ERR syntax error"
    );
    assert_eq!(
        err(&mut c, &["SCAN", "0", "COUNT", "abc"]),
        "ERR value is not an integer or out of range"
    );
    assert_eq!(err(&mut c, &["SCAN", "0", "COUNT"]), "ERR syntax error");
    assert_eq!(err(&mut c, &["SCAN", "0", "MATCH"]), "ERR syntax error");
    assert_eq!(err(&mut c, &["SCAN", "0", "TYPE"]), "ERR syntax error");
    assert_eq!(
        err(&mut c, &["SCAN", "0", "foo", "bar"]),
        "ERR syntax error"
    );
    assert_eq!(
        err(&mut c, &["SCAN"]),
        "ERR wrong number of arguments for 'scan' command"
    );
}

/// Every key present for the whole SCAN is returned at least once, while another connection
/// (on another loop thread) keeps adding and removing keys, growing and shrinking tables.
#[test]
fn scan_is_complete_under_concurrent_adds_and_removes() {
    let s = Server::start(&["--threads", "4"]);
    let mut c = s.conn();
    const STABLE: usize = 20_000;
    load(&mut c, (0..STABLE).map(|i| format!("stable:{i}")), None);
    let stop = Arc::new(AtomicBool::new(false));
    let churned = Arc::new(AtomicU64::new(0));
    let churners: Vec<_> = (0..2)
        .map(|t| {
            let mut w = s.conn();
            let (stop, churned) = (stop.clone(), churned.clone());
            std::thread::spawn(move || {
                let mut i = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let mut pipe = redis::pipe();
                    for j in 0..200 {
                        pipe.cmd("SET")
                            .arg(format!("tmp:{t}:{}", i + j))
                            .arg("x")
                            .ignore();
                    }
                    if i >= 10_000 {
                        for j in 0..200 {
                            pipe.cmd("DEL")
                                .arg(format!("tmp:{t}:{}", i - 10_000 + j))
                                .ignore();
                        }
                    }
                    let () = pipe.query(&mut w).expect("churn pipeline");
                    i += 200;
                    churned.fetch_add(200, Ordering::Relaxed);
                }
            })
        })
        .collect();
    // Wait until churn is under way so the scan overlaps it.
    assert!(eventually(Duration::from_secs(10), || churned
        .load(Ordering::Relaxed)
        >= 2_000));
    let before = churned.load(Ordering::Relaxed);
    let seen: HashSet<String> = scan_all(&mut c, &["COUNT", "50"]).into_iter().collect();
    let during = churned.load(Ordering::Relaxed) - before;
    stop.store(true, Ordering::Relaxed);
    for t in churners {
        t.join().unwrap();
    }
    let missing: Vec<usize> = (0..STABLE)
        .filter(|i| !seen.contains(&format!("stable:{i}")))
        .collect();
    assert!(
        missing.is_empty(),
        "{} stable keys missed, e.g. {:?}",
        missing.len(),
        &missing[..missing.len().min(5)]
    );
    assert!(during > 0, "the churn must overlap the scan");
}

#[test]
fn object_subcommands() {
    let s = Server::start(&["--threads", "2"]);
    let mut c = s.conn();
    ok(&mut c, &["SET", "n", "5"]);
    ok(&mut c, &["SET", "big", "123456789012"]);
    ok(&mut c, &["SET", "neg", "-1"]);
    ok(&mut c, &["SET", "s", "hello"]);
    ok(&mut c, &["SET", "long", &"x".repeat(45)]);
    ok(&mut c, &["SET", "zeros", "007"]);
    assert_eq!(
        run(&mut c, &["OBJECT", "ENCODING", "n"]).unwrap(),
        bulk("int")
    );
    assert_eq!(
        run(&mut c, &["OBJECT", "ENCODING", "big"]).unwrap(),
        bulk("int")
    );
    assert_eq!(
        run(&mut c, &["object", "encoding", "s"]).unwrap(),
        bulk("embstr")
    );
    assert_eq!(
        run(&mut c, &["OBJECT", "ENCODING", "long"]).unwrap(),
        bulk("raw")
    );
    assert_eq!(
        run(&mut c, &["OBJECT", "ENCODING", "zeros"]).unwrap(),
        bulk("embstr")
    );
    assert_eq!(
        run(&mut c, &["OBJECT", "ENCODING", "nokey"]).unwrap(),
        Value::Nil
    );
    assert_eq!(
        int(&mut c, &["OBJECT", "REFCOUNT", "n"]),
        2147483647,
        "shared integer"
    );
    assert_eq!(int(&mut c, &["OBJECT", "REFCOUNT", "big"]), 1);
    assert_eq!(int(&mut c, &["OBJECT", "REFCOUNT", "neg"]), 1);
    assert_eq!(int(&mut c, &["OBJECT", "REFCOUNT", "s"]), 1);
    assert_eq!(
        run(&mut c, &["OBJECT", "REFCOUNT", "nokey"]).unwrap(),
        Value::Nil
    );
    assert!(int(&mut c, &["OBJECT", "IDLETIME", "s"]) <= 2);
    assert_eq!(
        run(&mut c, &["OBJECT", "IDLETIME", "nokey"]).unwrap(),
        Value::Nil
    );
    assert_eq!(
        run(&mut c, &["OBJECT", "FREQ", "nokey"]).unwrap(),
        Value::Nil
    );
    assert_eq!(
        err(&mut c, &["OBJECT", "FREQ", "s"]),
        "ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust."
    );
    match run(&mut c, &["OBJECT", "HELP"]).unwrap() {
        Value::Array(lines) => {
            assert_eq!(lines.len(), 15);
            assert_eq!(
                lines[0],
                simple("OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:")
            );
            assert_eq!(lines[14], simple("    Prints this help."));
        }
        other => panic!("OBJECT HELP: {other:?}"),
    }
    assert_eq!(
        err(&mut c, &["OBJECT", "foo"]),
        "ERR unknown subcommand 'foo'. Try OBJECT HELP."
    );
    assert_eq!(
        err(&mut c, &["OBJECT"]),
        "ERR wrong number of arguments for 'object' command"
    );
    assert_eq!(
        err(&mut c, &["OBJECT", "ENCODING"]),
        "ERR wrong number of arguments for 'object|encoding' command"
    );
    assert_eq!(
        err(&mut c, &["OBJECT", "ENCODING", "a", "b"]),
        "ERR wrong number of arguments for 'object|encoding' command"
    );
}

/// Active expiry at scale: a million keys with a 1 s TTL disappear by themselves within a few
/// seconds, and the server keeps answering quickly while the sweeper works. This checks
/// responsiveness with a generous bound; it is not a benchmark.
#[test]
fn a_million_expiring_keys_are_swept_while_the_server_stays_responsive() {
    let s = Server::start(&["--threads", "2"]);
    let mut c = s.conn();
    const N: usize = 1_000_000;
    load_raw_with_ttl(&s, N, |i| format!("key:{i:07}"), 1000);
    ok(&mut c, &["SET", "persistent", "v"]);
    let loaded = Instant::now();
    let mut worst_ping = Duration::ZERO;
    let mut ping = s.conn();
    let mut last = usize::MAX;
    let done = eventually(Duration::from_secs(20), || {
        let t = Instant::now();
        assert_eq!(run(&mut ping, &["PING"]).unwrap(), simple("PONG"));
        worst_ping = worst_ping.max(t.elapsed());
        last = int(&mut c, &["DBSIZE"]) as usize;
        last == 1
    });
    assert!(
        done,
        "DBSIZE still {last} {:?} after loading",
        loaded.elapsed()
    );
    assert!(
        worst_ping < Duration::from_millis(200),
        "PING took {worst_ping:?} during the sweep"
    );
    assert_eq!(run(&mut c, &["GET", "persistent"]).unwrap(), bulk("v"));
}

/// The same command sequence against ferrokv and real Redis must give identical replies
/// (KEYS output sorted; only deterministic commands).
#[test]
fn keyspace_commands_match_real_redis() {
    let Some(redis) = Server::start_redis() else {
        eprintln!("redis-server not installed; skipping the differential test");
        return;
    };
    let ours = Server::start(&["--threads", "2"]);
    let script: &[&[&str]] = &[
        &["FLUSHALL"],
        &["SET", "a", "1"],
        &["SET", "b", "hello"],
        &["SET", "c", "12345678901234567890123"],
        &["EXISTS", "a", "a", "b", "zz"],
        &["TYPE", "a"],
        &["TYPE", "zz"],
        &["KEYS", "*"],
        &["KEYS", "[ab]"],
        &["KEYS", "?"],
        &["DBSIZE"],
        &["TOUCH", "a", "zz", "a"],
        &["RENAME", "zz", "y"],
        &["RENAME", "a", "a"],
        &["RENAMENX", "a", "a"],
        &["RENAMENX", "a", "b"],
        &["RENAME", "a", "a2"],
        &["RENAMENX", "a2", "a"],
        &["COPY", "a", "a"],
        &["COPY", "a", "b"],
        &["COPY", "a", "b", "REPLACE"],
        &["COPY", "a", "b", "DB", "1", "REPLACE"],
        &["COPY", "a", "b", "DB", "99"],
        &["COPY", "a", "b", "DB", "-5"],
        &["COPY", "a", "b", "DB", "nan"],
        &["COPY", "a", "b", "DB", "9999999999"],
        &["COPY", "a", "b", "DB"],
        &["COPY", "a", "b", "NOPE"],
        &["MOVE", "a", "0"],
        &["MOVE", "a", "1"],
        &["MOVE", "b", "1"],
        &["MOVE", "a", "99"],
        &["MOVE", "a", "x"],
        &["MOVE", "a", "9999999999"],
        &["SWAPDB", "0", "1"],
        &["KEYS", "*"],
        &["SWAPDB", "1", "0"],
        &["SWAPDB", "x", "0"],
        &["SWAPDB", "0", "x"],
        &["SWAPDB", "0", "99"],
        &["SWAPDB", "9999999999", "0"],
        &["EXPIRE", "a", "100"],
        &["TTL", "a"],
        &["EXPIRE", "a", "200", "GT"],
        &["EXPIRE", "a", "50", "GT"],
        &["EXPIRE", "a", "50", "LT"],
        &["EXPIRE", "a", "10", "NX"],
        &["EXPIRE", "b", "10", "XX"],
        &["EXPIRE", "b", "10", "GT"],
        &["EXPIRE", "b", "10", "LT"],
        &["TTL", "b"],
        &["PERSIST", "b"],
        &["PERSIST", "b"],
        &["TTL", "b"],
        &["TTL", "zz"],
        &["PTTL", "zz"],
        &["EXPIRETIME", "zz"],
        &["PEXPIRETIME", "b"],
        &["EXPIRE", "a", "1", "NX", "XX"],
        &["EXPIRE", "a", "1", "GT", "LT"],
        &["EXPIRE", "a", "1", "bogus"],
        &["EXPIRE", "a", "x"],
        &["EXPIRE", "a", "9223372036854775807"],
        &["PEXPIRE", "a", "9223372036854775807"],
        &["EXPIREAT", "a", "9223372036854775807"],
        &["EXPIRE", "b", "-10"],
        &["EXISTS", "b"],
        &["PEXPIREAT", "c", "1"],
        &["DBSIZE"],
        &["OBJECT", "ENCODING", "a"],
        &["OBJECT", "REFCOUNT", "a"],
        &["OBJECT", "ENCODING", "zz"],
        &["OBJECT", "FREQ", "a"],
        &["OBJECT", "FREQ", "zz"],
        &["OBJECT", "HELP"],
        &["OBJECT", "NOPE"],
        &["OBJECT", "ENCODING"],
        &["SCAN", "x"],
        &["SCAN", "0", "COUNT", "0"],
        &["SCAN", "0", "COUNT", "x"],
        &["SCAN", "0", "MATCH"],
        &["SCAN", "0", "BOGUS", "1"],
        &["SCAN", "0", "COUNT", "100", "MATCH", "a*", "TYPE", "string"],
        &["SCAN", "0", "TYPE", "hash"],
        &["FLUSHDB", "BOGUS"],
        &["FLUSHDB", "ASYNC", "SYNC"],
        &["FLUSHDB", "ASYNC"],
        &["FLUSHALL", "SYNC"],
        &["RANDOMKEY"],
        &["DBSIZE"],
    ];
    let mut theirs = redis.conn();
    let mut mine = ours.conn();
    let normalise = |args: &[&str], r: redis::RedisResult<Value>| -> String {
        match r {
            Ok(v) if args[0] == "KEYS" => format!("{:?}", key_list(&v)),
            Ok(v) => format!("{v:?}"),
            Err(e) => format!("error: {}", common::error_text(&e)),
        }
    };
    for args in script {
        let expected = normalise(args, run(&mut theirs, args));
        let got = normalise(args, run(&mut mine, args));
        assert_eq!(got, expected, "{args:?}");
    }
}

/// INFO `expired_keys` counts keys deleted because they expired, by a read (lazily) or by the
/// background cycle; as redis-server.
#[test]
fn info_expired_keys_counts_lazy_and_active_expiry() {
    let expired = |c: &mut redis::Connection| -> u64 {
        let text: String = redis::cmd("INFO").arg("stats").query(c).unwrap();
        text.lines()
            .find_map(|l| l.strip_prefix("expired_keys:"))
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    };
    for s in std::iter::once(Server::start(&[])).chain(Server::start_redis()) {
        let mut c = s.conn();
        for k in ["a", "b", "c"] {
            let _: () = redis::cmd("SET")
                .arg(k)
                .arg("v")
                .arg("PX")
                .arg(5)
                .query(&mut c)
                .unwrap();
        }
        std::thread::sleep(std::time::Duration::from_millis(30));
        // Read now (lazy) or let the cycle take them: three either way.
        let _: Option<String> = redis::cmd("GET").arg("a").query(&mut c).unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while expired(&mut c) < 3 && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        assert_eq!(expired(&mut c), 3, "port {}", s.port);
        let _: () = redis::cmd("CONFIG").arg("RESETSTAT").query(&mut c).unwrap();
        assert_eq!(expired(&mut c), 0, "port {}", s.port);
    }
}
