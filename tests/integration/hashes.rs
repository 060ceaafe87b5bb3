//! Hash commands end to end, through the `redis` crate against the real binary: every command,
//! every error text, listpack → hashtable conversion at Redis 7.0's limits, RESP3 reply shapes
//! (exact bytes, compared with a real redis-server when one is installed), HRANDFIELD's
//! membership/distinctness rules, HSCAN over a big hash that changes during the scan, keyspace
//! integration (TYPE, COPY, RENAME, EXPIRE) and DEL of a million-field hash without stalling.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use crate::common::{bulk, err, ok, Server, NOT_FLOAT, NOT_INT, SYNTAX, WRONGTYPE};
use crate::conn_util::{call_text, parse_info};
use redis::Value;

fn server() -> Server {
    Server::start(&["--threads", "2"])
}

fn int(c: &mut redis::Connection, args: &[&str]) -> i64 {
    match ok(c, args) {
        Value::Int(n) => n,
        other => panic!("{args:?}: unexpected {other:?}"),
    }
}

/// A reply of bulk strings (or nils) as `Option<String>`s.
fn strings(v: Value) -> Vec<Option<String>> {
    let Value::Array(items) = v else {
        panic!("not an array: {v:?}")
    };
    items
        .into_iter()
        .map(|i| match i {
            Value::BulkString(b) => Some(String::from_utf8(b).unwrap()),
            Value::Nil => None,
            other => panic!("unexpected {other:?}"),
        })
        .collect()
}

fn words(c: &mut redis::Connection, args: &[&str]) -> Vec<String> {
    strings(ok(c, args))
        .into_iter()
        .map(Option::unwrap)
        .collect()
}

fn encoding(c: &mut redis::Connection, key: &str) -> String {
    match ok(c, &["OBJECT", "ENCODING", key]) {
        Value::BulkString(b) => String::from_utf8(b).unwrap(),
        other => panic!("unexpected {other:?}"),
    }
}

/// HSET of many pairs in one command.
fn fill(c: &mut redis::Connection, key: &str, pairs: impl Iterator<Item = (String, String)>) {
    let mut cmd = redis::cmd("HSET");
    cmd.arg(key);
    for (f, v) in pairs {
        cmd.arg(f).arg(v);
    }
    let _: i64 = cmd.query(c).unwrap();
}

#[test]
fn hset_hget_hmset_hmget_hsetnx() {
    let s = server();
    let mut c = s.conn();
    assert_eq!(int(&mut c, &["HSET", "h", "a", "1", "b", "2"]), 2);
    assert_eq!(
        int(&mut c, &["HSET", "h", "a", "10", "c", "3", "c", "4"]),
        1
    );
    assert_eq!(ok(&mut c, &["HGET", "h", "a"]), bulk("10"));
    assert_eq!(ok(&mut c, &["HGET", "h", "c"]), bulk("4"));
    assert_eq!(ok(&mut c, &["HGET", "h", "zz"]), Value::Nil);
    assert_eq!(ok(&mut c, &["HGET", "missing", "a"]), Value::Nil);
    assert_eq!(ok(&mut c, &["HMSET", "h", "d", "5"]), Value::Okay);
    assert_eq!(
        strings(ok(&mut c, &["HMGET", "h", "a", "zz", "d"])),
        [Some("10".into()), None, Some("5".into())]
    );
    assert_eq!(
        strings(ok(&mut c, &["HMGET", "missing", "a", "b"])),
        [None, None]
    );
    assert_eq!(int(&mut c, &["HSETNX", "h", "a", "x"]), 0);
    assert_eq!(int(&mut c, &["HSETNX", "h", "e", "x"]), 1);
    assert_eq!(int(&mut c, &["HSETNX", "new", "f", "v"]), 1);
    assert_eq!(ok(&mut c, &["HGET", "h", "a"]), bulk("10"));
    assert_eq!(ok(&mut c, &["HGET", "h", "e"]), bulk("x"));
    // Empty field and empty value are ordinary.
    assert_eq!(int(&mut c, &["HSET", "h", "", ""]), 1);
    assert_eq!(ok(&mut c, &["HGET", "h", ""]), bulk(""));

    // Arity: odd field/value lists are rejected with the command's own name.
    for (args, name) in [
        (&["HSET", "h", "a"][..], "hset"),
        (&["HSET", "h", "a", "1", "b"], "hset"),
        (&["HMSET", "h", "a"], "hmset"),
        (&["HMSET", "h", "a", "1", "b"], "hmset"),
        (&["HSETNX", "h", "a"], "hsetnx"),
        (&["HGET", "h"], "hget"),
        (&["HMGET", "h"], "hmget"),
    ] {
        assert_eq!(
            err(&mut c, args),
            format!("ERR wrong number of arguments for '{name}' command")
        );
    }
    assert_eq!(ok(&mut c, &["HGET", "h", "b"]), bulk("2"), "nothing set");

    ok(&mut c, &["SET", "s", "x"]);
    for args in [
        &["HSET", "s", "a", "1"][..],
        &["HMSET", "s", "a", "1"],
        &["HSETNX", "s", "a", "1"],
        &["HGET", "s", "a"],
        &["HMGET", "s", "a"],
    ] {
        assert_eq!(err(&mut c, args), WRONGTYPE, "{args:?}");
    }
    assert_eq!(ok(&mut c, &["GET", "s"]), bulk("x"));
}

#[test]
fn hdel_hlen_hexists_hstrlen() {
    let s = server();
    let mut c = s.conn();
    fill(
        &mut c,
        "h",
        [("a", "1"), ("b", "hello"), ("c", "")]
            .into_iter()
            .map(|(f, v)| (f.into(), v.into())),
    );
    assert_eq!(int(&mut c, &["HLEN", "h"]), 3);
    assert_eq!(int(&mut c, &["HLEN", "missing"]), 0);
    assert_eq!(int(&mut c, &["HEXISTS", "h", "a"]), 1);
    assert_eq!(int(&mut c, &["HEXISTS", "h", "z"]), 0);
    assert_eq!(int(&mut c, &["HEXISTS", "missing", "a"]), 0);
    assert_eq!(int(&mut c, &["HSTRLEN", "h", "b"]), 5);
    assert_eq!(int(&mut c, &["HSTRLEN", "h", "c"]), 0);
    assert_eq!(int(&mut c, &["HSTRLEN", "h", "z"]), 0);
    assert_eq!(int(&mut c, &["HSTRLEN", "missing", "z"]), 0);
    assert_eq!(int(&mut c, &["HDEL", "h", "a", "a", "z"]), 1);
    assert_eq!(int(&mut c, &["HDEL", "missing", "a"]), 0);
    assert_eq!(int(&mut c, &["HLEN", "h"]), 2);
    // Deleting the last fields deletes the key.
    assert_eq!(int(&mut c, &["HDEL", "h", "b", "c", "b"]), 2);
    assert_eq!(int(&mut c, &["EXISTS", "h"]), 0);
    assert_eq!(
        err(&mut c, &["HDEL", "h"]),
        "ERR wrong number of arguments for 'hdel' command"
    );

    ok(&mut c, &["SET", "s", "x"]);
    for args in [
        &["HDEL", "s", "a"][..],
        &["HLEN", "s"],
        &["HEXISTS", "s", "a"],
        &["HSTRLEN", "s", "a"],
    ] {
        assert_eq!(err(&mut c, args), WRONGTYPE, "{args:?}");
    }
}

#[test]
fn hkeys_hvals_hgetall_keep_listpack_insertion_order() {
    let s = server();
    let mut c = s.conn();
    assert_eq!(int(&mut c, &["HSET", "h", "c", "3", "a", "1", "b", "2"]), 3);
    ok(&mut c, &["HDEL", "h", "a"]);
    ok(&mut c, &["HSET", "h", "a", "9", "c", "30"]);
    assert_eq!(words(&mut c, &["HKEYS", "h"]), ["c", "b", "a"]);
    assert_eq!(words(&mut c, &["HVALS", "h"]), ["30", "2", "9"]);
    assert_eq!(
        words(&mut c, &["HGETALL", "h"]),
        ["c", "30", "b", "2", "a", "9"]
    );
    for cmd in ["HKEYS", "HVALS", "HGETALL"] {
        assert_eq!(ok(&mut c, &[cmd, "missing"]), Value::Array(vec![]));
    }
    ok(&mut c, &["SET", "s", "x"]);
    for cmd in ["HKEYS", "HVALS", "HGETALL"] {
        assert_eq!(err(&mut c, &[cmd, "s"]), WRONGTYPE);
    }

    // A hashtable returns every pair (order unspecified).
    fill(
        &mut c,
        "big",
        (0..1000).map(|i| (format!("f{i}"), format!("v{i}"))),
    );
    let all = words(&mut c, &["HGETALL", "big"]);
    let pairs: HashMap<&str, &str> = all
        .chunks(2)
        .map(|p| (p[0].as_str(), p[1].as_str()))
        .collect();
    assert_eq!(pairs.len(), 1000);
    assert!((0..1000).all(|i| pairs[format!("f{i}").as_str()] == format!("v{i}")));
    assert_eq!(words(&mut c, &["HKEYS", "big"]).len(), 1000);
    assert_eq!(words(&mut c, &["HVALS", "big"]).len(), 1000);
}

#[test]
fn hincrby_and_hincrbyfloat() {
    let s = server();
    let mut c = s.conn();
    assert_eq!(int(&mut c, &["HINCRBY", "h", "n", "5"]), 5);
    assert_eq!(int(&mut c, &["HINCRBY", "h", "n", "-7"]), -2);
    ok(
        &mut c,
        &[
            "HSET",
            "h",
            "max",
            "9223372036854775807",
            "min",
            "-9223372036854775808",
        ],
    );
    assert_eq!(
        err(&mut c, &["HINCRBY", "h", "max", "1"]),
        "ERR increment or decrement would overflow"
    );
    assert_eq!(
        err(&mut c, &["HINCRBY", "h", "min", "-1"]),
        "ERR increment or decrement would overflow"
    );
    assert_eq!(
        int(&mut c, &["HINCRBY", "h", "max", "-1"]),
        9223372036854775806
    );
    for bad in ["x", "1.0", "007", " 1", "12345678901234567890123"] {
        ok(&mut c, &["HSET", "h", "bad", bad]);
        assert_eq!(
            err(&mut c, &["HINCRBY", "h", "bad", "1"]),
            "ERR hash value is not an integer",
            "{bad:?}"
        );
    }
    for incr in ["x", "1.5", "", "99999999999999999999"] {
        assert_eq!(err(&mut c, &["HINCRBY", "h", "n", incr]), NOT_INT);
    }

    assert_eq!(ok(&mut c, &["HINCRBYFLOAT", "h", "f", "1.5"]), bulk("1.5"));
    assert_eq!(ok(&mut c, &["HINCRBYFLOAT", "h", "f", "-1.5"]), bulk("0"));
    assert_eq!(
        ok(&mut c, &["HINCRBYFLOAT", "h", "n", "0.25"]),
        bulk("-1.75")
    );
    assert_eq!(ok(&mut c, &["HINCRBYFLOAT", "h", "f", "0x10"]), bulk("16"));
    assert_eq!(ok(&mut c, &["HINCRBYFLOAT", "h", "g", "1e3"]), bulk("1000"));
    ok(&mut c, &["HSET", "h", "sp", "1e5000"]);
    assert_eq!(
        err(&mut c, &["HINCRBYFLOAT", "h", "sp", "1"]),
        "ERR hash value is not a float"
    );
    ok(&mut c, &["HSET", "h", "big", "1e308"]);
    let Value::BulkString(v) = ok(&mut c, &["HINCRBYFLOAT", "h", "big", "1e308"]) else {
        panic!()
    };
    assert_eq!(v.len(), 309, "long double holds 2e308");
    assert_eq!(err(&mut c, &["HINCRBYFLOAT", "h", "f", "x"]), NOT_FLOAT);
    assert_eq!(err(&mut c, &["HINCRBYFLOAT", "h", "f", "nan"]), NOT_FLOAT);
    for inf in ["inf", "-inf", "1e5000"] {
        let e = err(&mut c, &["HINCRBYFLOAT", "h", "f", inf]);
        if inf == "1e5000" {
            assert_eq!(e, NOT_FLOAT);
        } else {
            assert_eq!(e, "ERR value is NaN or Infinity");
        }
    }
    ok(&mut c, &["HSET", "h", "inf", "inf"]);
    assert_eq!(
        err(&mut c, &["HINCRBYFLOAT", "h", "inf", "1"]),
        "ERR increment would produce NaN or Infinity"
    );
    assert_eq!(ok(&mut c, &["HGET", "h", "inf"]), bulk("inf"));

    ok(&mut c, &["SET", "s", "x"]);
    assert_eq!(err(&mut c, &["HINCRBY", "s", "a", "1"]), WRONGTYPE);
    assert_eq!(err(&mut c, &["HINCRBYFLOAT", "s", "a", "1"]), WRONGTYPE);
    // The increment is validated before the key's type, as in Redis.
    assert_eq!(err(&mut c, &["HINCRBY", "s", "a", "x"]), NOT_INT);
    assert_eq!(err(&mut c, &["HINCRBYFLOAT", "s", "a", "x"]), NOT_FLOAT);
    // A failed increment on a missing key leaves no key behind.
    assert_eq!(
        err(&mut c, &["HINCRBYFLOAT", "nokey", "a", "inf"]),
        "ERR value is NaN or Infinity"
    );
    assert_eq!(int(&mut c, &["EXISTS", "nokey"]), 0);
}

#[test]
fn encodings_follow_redis_7_0_limits() {
    let s = server();
    let mut c = s.conn();
    let v64 = "v".repeat(64);
    let v65 = "v".repeat(65);
    ok(&mut c, &["HSET", "h", "a", &v64]);
    assert_eq!(encoding(&mut c, "h"), "listpack");
    // HSETNX on an existing field does not convert; HSET of a long value does.
    ok(&mut c, &["HSETNX", "h", "a", &v65]);
    assert_eq!(encoding(&mut c, "h"), "listpack");
    ok(&mut c, &["HSET", "h", "a", &v65]);
    assert_eq!(encoding(&mut c, "h"), "hashtable");
    // Never back, even when the long value is gone.
    ok(&mut c, &["HSET", "h", "a", "short"]);
    assert_eq!(encoding(&mut c, "h"), "hashtable");

    ok(&mut c, &["HINCRBY", "f", &"k".repeat(65), "1"]);
    assert_eq!(encoding(&mut c, "f"), "hashtable");
    ok(&mut c, &["HINCRBYFLOAT", "g", "x", "1e70"]);
    assert_eq!(encoding(&mut c, "g"), "hashtable", "71-byte result");

    fill(&mut c, "n", (0..512).map(|i| (format!("f{i}"), "v".into())));
    assert_eq!(encoding(&mut c, "n"), "listpack");
    ok(&mut c, &["HSET", "n", "f0", "w"]);
    assert_eq!(encoding(&mut c, "n"), "listpack");
    ok(&mut c, &["HSET", "n", "f512", "v"]);
    assert_eq!(encoding(&mut c, "n"), "hashtable");
    assert_eq!(int(&mut c, &["HLEN", "n"]), 513);
    assert_eq!(ok(&mut c, &["HGET", "n", "f0"]), bulk("w"));
}

#[test]
fn hrandfield_counts_membership_and_errors() {
    let s = server();
    let mut c = s.conn();
    for (key, n) in [("small", 5usize), ("big", 2000)] {
        fill(
            &mut c,
            key,
            (0..n).map(|i| (format!("f{i}"), format!("v{i}"))),
        );
        let member = |f: &str| {
            f.strip_prefix('f')
                .and_then(|i| i.parse::<usize>().ok())
                .is_some_and(|i| i < n)
        };
        let Value::BulkString(one) = ok(&mut c, &["HRANDFIELD", key]) else {
            panic!()
        };
        assert!(member(std::str::from_utf8(&one).unwrap()));
        // Positive counts: distinct fields, at most the hash's size.
        for count in [1usize, 3, 5, 7, 1500, 2000, 5000] {
            let got = words(&mut c, &["HRANDFIELD", key, &count.to_string()]);
            assert_eq!(got.len(), count.min(n), "{key} {count}");
            assert!(got.iter().all(|f| member(f)));
            assert_eq!(got.iter().collect::<HashSet<_>>().len(), got.len());
            let with = words(
                &mut c,
                &["HRANDFIELD", key, &count.to_string(), "withvalues"],
            );
            assert_eq!(with.len(), 2 * count.min(n));
            for p in with.chunks(2) {
                assert_eq!(p[1], format!("v{}", &p[0][1..]));
            }
        }
        // Negative counts: exactly that many picks, repeats allowed.
        let got = words(&mut c, &["HRANDFIELD", key, "-50"]);
        assert_eq!(got.len(), 50);
        assert!(got.iter().all(|f| member(f)));
        if n == 5 {
            assert!(got.iter().collect::<HashSet<_>>().len() < 50);
        }
        let with = words(&mut c, &["HRANDFIELD", key, "-7", "WITHVALUES"]);
        assert_eq!(with.len(), 14);
        assert_eq!(ok(&mut c, &["HRANDFIELD", key, "0"]), Value::Array(vec![]));
    }
    // Every field of a small hash comes up eventually.
    let mut seen = HashSet::new();
    for _ in 0..50 {
        seen.extend(words(&mut c, &["HRANDFIELD", "small", "-20"]));
    }
    assert_eq!(seen.len(), 5);

    assert_eq!(ok(&mut c, &["HRANDFIELD", "missing"]), Value::Nil);
    assert_eq!(
        ok(&mut c, &["HRANDFIELD", "missing", "5"]),
        Value::Array(vec![])
    );
    assert_eq!(
        ok(&mut c, &["HRANDFIELD", "missing", "-5", "WITHVALUES"]),
        Value::Array(vec![])
    );
    assert_eq!(err(&mut c, &["HRANDFIELD", "small", "x"]), NOT_INT);
    assert_eq!(err(&mut c, &["HRANDFIELD", "small", "1", "foo"]), SYNTAX);
    assert_eq!(err(&mut c, &["HRANDFIELD", "missing", "1", "foo"]), SYNTAX);
    assert_eq!(
        err(&mut c, &["HRANDFIELD", "small", "1", "WITHVALUES", "x"]),
        SYNTAX
    );
    assert_eq!(
        err(&mut c, &["HRANDFIELD", "small", "-9223372036854775808"]),
        "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"
    );
    for count in [
        "-4611686018427387904",
        "4611686018427387904",
        "-9223372036854775807",
    ] {
        assert_eq!(
            err(&mut c, &["HRANDFIELD", "small", count, "WITHVALUES"]),
            "ERR value is out of range"
        );
    }
    // A reply that could not fit in proto-max-bulk-len is refused (Redis would try to build it).
    assert_eq!(
        err(
            &mut c,
            &["HRANDFIELD", "small", "-4611686018427387903", "WITHVALUES"]
        ),
        "ERR value is out of range"
    );
    assert_eq!(
        err(&mut c, &["HRANDFIELD", "small", "-9223372036854775807"]),
        "ERR value is out of range"
    );
    assert_eq!(
        ok(&mut c, &["HRANDFIELD", "small", "9223372036854775807"]),
        ok(&mut c, &["HKEYS", "small"]),
        "a count past the size returns the whole hash in order"
    );
    ok(&mut c, &["SET", "s", "x"]);
    assert_eq!(err(&mut c, &["HRANDFIELD", "s"]), WRONGTYPE);
    assert_eq!(err(&mut c, &["HRANDFIELD", "s", "1"]), WRONGTYPE);
}

/// Runs a whole HSCAN from cursor 0; returns the pairs and the number of calls.
fn hscan_all(
    c: &mut redis::Connection,
    key: &str,
    extra: &[&str],
) -> (Vec<(String, String)>, usize) {
    let mut cursor = "0".to_string();
    let mut out = Vec::new();
    let mut calls = 0;
    loop {
        let mut args = vec!["HSCAN", key, &cursor];
        args.extend_from_slice(extra);
        let Value::Array(reply) = ok(c, &args) else {
            panic!()
        };
        calls += 1;
        let [Value::BulkString(next), items] = &reply[..] else {
            panic!("{reply:?}")
        };
        let items = strings(items.clone());
        for p in items.chunks(2) {
            out.push((p[0].clone().unwrap(), p[1].clone().unwrap()));
        }
        cursor = String::from_utf8(next.clone()).unwrap();
        if cursor == "0" {
            return (out, calls);
        }
    }
}

#[test]
fn hscan_small_and_errors() {
    let s = server();
    let mut c = s.conn();
    ok(&mut c, &["HSET", "h", "a", "1", "b", "2", "ab", "3"]);
    // A listpack comes back whole with cursor 0, whatever the cursor and COUNT.
    for cursor in ["0", "123", "18446744073709551615", "-1", ""] {
        assert_eq!(
            ok(&mut c, &["HSCAN", "h", cursor, "COUNT", "1"]),
            Value::Array(vec![
                bulk("0"),
                Value::Array(["a", "1", "b", "2", "ab", "3"].map(bulk).to_vec())
            ])
        );
    }
    assert_eq!(
        ok(&mut c, &["HSCAN", "h", "0", "MATCH", "a*"]),
        Value::Array(vec![
            bulk("0"),
            Value::Array(["a", "1", "ab", "3"].map(bulk).to_vec())
        ])
    );
    let empty = Value::Array(vec![bulk("0"), Value::Array(vec![])]);
    assert_eq!(ok(&mut c, &["HSCAN", "h", "0", "MATCH", "z*"]), empty);
    assert_eq!(ok(&mut c, &["HSCAN", "missing", "0"]), empty);
    // Errors in Redis's order: cursor, key type, then options (a missing key skips them).
    assert_eq!(err(&mut c, &["HSCAN", "h", "x"]), "ERR invalid cursor");
    assert_eq!(
        err(&mut c, &["HSCAN", "h", "18446744073709551616"]),
        "ERR invalid cursor"
    );
    assert_eq!(ok(&mut c, &["HSCAN", "missing", "0", "COUNT", "0"]), empty);
    for opts in [
        &["COUNT", "0"][..],
        &["COUNT", "-1"],
        &["MATCH"],
        &["TYPE", "string"],
        &["NOVALUES"],
        &["COUNT", "1", "FOO", "x"],
    ] {
        let mut args = vec!["HSCAN", "h", "0"];
        args.extend_from_slice(opts);
        assert_eq!(err(&mut c, &args), SYNTAX, "{opts:?}");
    }
    assert_eq!(err(&mut c, &["HSCAN", "h", "0", "COUNT", "x"]), NOT_INT);
    ok(&mut c, &["SET", "s", "x"]);
    assert_eq!(err(&mut c, &["HSCAN", "s", "0"]), WRONGTYPE);
    assert_eq!(err(&mut c, &["HSCAN", "s", "0", "COUNT", "0"]), WRONGTYPE);
    assert_eq!(err(&mut c, &["HSCAN", "s", "x"]), "ERR invalid cursor");
}

#[test]
fn hscan_of_a_big_hash_is_incremental_and_complete_while_it_changes() {
    let s = server();
    let mut c = s.conn();
    let n = 100_000;
    for chunk in (0..n).collect::<Vec<_>>().chunks(5000) {
        fill(
            &mut c,
            "big",
            chunk.iter().map(|i| (format!("f:{i}"), format!("{i}"))),
        );
    }
    // Bounded work per call: COUNT 100 returns a small batch, never the whole hash.
    let Value::Array(first) = ok(&mut c, &["HSCAN", "big", "0", "COUNT", "100"]) else {
        panic!()
    };
    let Value::Array(batch) = &first[1] else {
        panic!()
    };
    assert!(
        batch.len() / 2 < 2000,
        "one call returned {}",
        batch.len() / 2
    );

    // Scan while another connection grows the hash (forcing segment splits) and deletes the
    // fields it added.
    let mut w = s.conn();
    let mut cursor = "0".to_string();
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut step = 0;
    loop {
        let Value::Array(reply) = ok(&mut c, &["HSCAN", "big", &cursor, "COUNT", "200"]) else {
            panic!()
        };
        let items = strings(reply[1].clone());
        for p in items.chunks(2) {
            *seen.entry(p[0].clone().unwrap()).or_default() += 1;
        }
        fill(
            &mut w,
            "big",
            (0..300).map(|j| (format!("tmp:{step}:{j}"), "x".to_string())),
        );
        if step % 2 == 1 {
            let mut del = redis::cmd("HDEL");
            del.arg("big");
            for j in 0..300 {
                del.arg(format!("tmp:{}:{j}", step - 1));
            }
            let _: i64 = del.query(&mut w).unwrap();
        }
        step += 1;
        let Value::BulkString(next) = &reply[0] else {
            panic!()
        };
        cursor = String::from_utf8(next.clone()).unwrap();
        if cursor == "0" {
            break;
        }
    }
    for i in 0..n {
        assert_eq!(seen.get(&format!("f:{i}")), Some(&1), "f:{i} returned once");
    }
    assert!(step > 50, "the scan took {step} calls");

    // MATCH filters after visiting; the union is exactly the matching fields.
    let (pairs, _) = hscan_all(&mut c, "big", &["MATCH", "f:1234*", "COUNT", "1000"]);
    let mut got: Vec<String> = pairs
        .into_iter()
        .map(|(f, v)| {
            assert_eq!(f, format!("f:{v}"));
            f
        })
        .collect();
    got.sort();
    let mut want: Vec<String> = (0..n)
        .map(|i| format!("f:{i}"))
        .filter(|f| f.starts_with("f:1234"))
        .collect();
    want.sort();
    assert_eq!(got, want);
}

#[test]
fn resp3_reply_shapes() {
    let s = server();
    let mut r = s.raw();
    assert!(call_text(&mut r, &["HELLO", "3"]).starts_with('%'));
    call_text(&mut r, &["HSET", "h", "a", "1", "b", "2"]);
    assert_eq!(
        call_text(&mut r, &["HGETALL", "h"]),
        "%2\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n"
    );
    assert_eq!(call_text(&mut r, &["HGETALL", "missing"]), "%0\r\n");
    assert_eq!(call_text(&mut r, &["HKEYS", "missing"]), "*0\r\n");
    assert_eq!(call_text(&mut r, &["HGET", "h", "z"]), "_\r\n");
    assert_eq!(
        call_text(&mut r, &["HMGET", "h", "a", "z"]),
        "*2\r\n$1\r\n1\r\n_\r\n"
    );
    assert_eq!(call_text(&mut r, &["HRANDFIELD", "missing"]), "_\r\n");
    assert_eq!(
        call_text(&mut r, &["HRANDFIELD", "missing", "2", "WITHVALUES"]),
        "*0\r\n"
    );
    assert_eq!(
        call_text(&mut r, &["HRANDFIELD", "h", "5", "WITHVALUES"]),
        "*2\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n*2\r\n$1\r\nb\r\n$1\r\n2\r\n"
    );
    let picks = call_text(&mut r, &["HRANDFIELD", "h", "-3", "WITHVALUES"]);
    assert!(picks.starts_with("*3\r\n*2\r\n$1\r\n"), "{picks}");
    assert_eq!(
        call_text(&mut r, &["HSCAN", "h", "0"]),
        "*2\r\n$1\r\n0\r\n*4\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n"
    );
}

/// Deterministic commands (listpack order is insertion order in both) give byte-identical
/// replies from ferrokv and a real redis-server, in RESP2 and RESP3.
#[test]
fn exact_bytes_match_real_redis_in_both_protocols() {
    let Some(redis) = Server::start_redis() else {
        println!("skipped: redis-server not found");
        return;
    };
    let ours = server();
    let long = "L".repeat(70);
    let script: Vec<Vec<&str>> = vec![
        vec![
            "HSET", "h", "b", "2", "a", "1", "c", "x", "n", "10", "f", "1.5",
        ],
        vec!["HGETALL", "h"],
        vec!["HKEYS", "h"],
        vec!["HVALS", "h"],
        vec!["HMGET", "h", "a", "zz", "c"],
        vec!["HRANDFIELD", "h", "100", "WITHVALUES"],
        vec!["HRANDFIELD", "h", "100"],
        vec!["HRANDFIELD", "h", "0", "WITHVALUES"],
        vec!["HSCAN", "h", "7", "MATCH", "[ab]", "COUNT", "1"],
        vec!["HINCRBY", "h", "n", "-20"],
        vec!["HINCRBYFLOAT", "h", "f", "0.1"],
        vec!["HINCRBYFLOAT", "h", "n", "1e-3"],
        vec!["HINCRBYFLOAT", "h", "c", "1"],
        vec!["HINCRBY", "h", "c", "1"],
        vec!["HDEL", "h", "a", "zz"],
        vec!["HSETNX", "h", "a", "again"],
        vec!["HGETALL", "h"],
        vec!["HSTRLEN", "h", "f"],
        vec!["OBJECT", "ENCODING", "h"],
        vec!["HSET", "h", "long", &long],
        vec!["OBJECT", "ENCODING", "h"],
        vec!["HLEN", "h"],
        vec!["HGETALL", "nokey"],
        vec!["HRANDFIELD", "nokey"],
        vec!["HRANDFIELD", "nokey", "-3", "WITHVALUES"],
        vec!["HSCAN", "nokey", "0"],
        vec!["HSET", "h"],
        vec!["HMSET", "h", "a"],
        vec!["SET", "s", "v"],
        vec!["HGETALL", "s"],
        vec!["HRANDFIELD", "s", "x"],
        vec!["DEL", "h", "s"],
    ];
    for proto in ["2", "3"] {
        let mut a = redis.raw();
        let mut b = ours.raw();
        call_text(&mut a, &["HELLO", proto]);
        call_text(&mut b, &["HELLO", proto]);
        for args in &script {
            let want = call_text(&mut a, args);
            let got = call_text(&mut b, args);
            assert_eq!(got, want, "RESP{proto} {args:?}");
        }
    }
}

#[test]
fn keyspace_integration() {
    let s = server();
    let mut c = s.conn();
    fill(
        &mut c,
        "h",
        (0..600).map(|i| (format!("f{i}"), format!("v{i}"))),
    );
    assert_eq!(
        ok(&mut c, &["TYPE", "h"]),
        Value::SimpleString("hash".into())
    );
    // COPY is deep: changing the copy leaves the original alone.
    assert_eq!(int(&mut c, &["COPY", "h", "h2"]), 1);
    ok(&mut c, &["HSET", "h2", "f0", "changed"]);
    ok(&mut c, &["HDEL", "h2", "f1"]);
    assert_eq!(ok(&mut c, &["HGET", "h", "f0"]), bulk("v0"));
    assert_eq!(int(&mut c, &["HLEN", "h"]), 600);
    assert_eq!(int(&mut c, &["HLEN", "h2"]), 599);
    assert_eq!(encoding(&mut c, "h2"), "hashtable");
    ok(&mut c, &["RENAME", "h2", "h3"]);
    assert_eq!(ok(&mut c, &["HGET", "h3", "f0"]), bulk("changed"));
    // A TTL applies to the whole hash and survives field writes.
    assert_eq!(int(&mut c, &["PEXPIRE", "h3", "100000"]), 1);
    ok(&mut c, &["HSET", "h3", "new", "x"]);
    assert!(int(&mut c, &["PTTL", "h3"]) > 0);
    assert_eq!(int(&mut c, &["PEXPIRE", "h3", "1"]), 1);
    std::thread::sleep(Duration::from_millis(20));
    assert_eq!(int(&mut c, &["HLEN", "h3"]), 0);
    assert_eq!(int(&mut c, &["EXISTS", "h3"]), 0);
    // Read commands count keyspace hits (a key of another type is a hit) and misses; writes
    // count neither, as Redis's lookupKeyRead / lookupKeyWrite.
    let stats = |c: &mut redis::Connection| {
        let Value::BulkString(info) = ok(c, &["INFO", "stats"]) else {
            panic!()
        };
        let info = parse_info(&String::from_utf8(info).unwrap());
        let get = |k: &str| info["stats"][k].parse::<i64>().unwrap();
        (get("keyspace_hits"), get("keyspace_misses"))
    };
    ok(&mut c, &["SET", "s", "x"]);
    let (hits, misses) = stats(&mut c);
    ok(&mut c, &["HGET", "h", "f0"]);
    ok(&mut c, &["HGETALL", "missing"]);
    ok(&mut c, &["HSCAN", "missing", "0"]);
    err(&mut c, &["HLEN", "s"]);
    ok(&mut c, &["HSET", "h", "x", "1"]);
    ok(&mut c, &["HDEL", "missing", "x"]);
    assert_eq!(stats(&mut c), (hits + 2, misses + 2));

    // SCAN TYPE sees hashes.
    let Value::Array(reply) = ok(&mut c, &["SCAN", "0", "TYPE", "hash", "COUNT", "1000"]) else {
        panic!()
    };
    assert_eq!(strings(reply[1].clone()), [Some("h".to_string())]);
}

#[test]
fn deleting_a_million_field_hash_does_not_stall_the_loop() {
    // One event loop, so a slow free would delay the PING behind it.
    let s = Server::start(&["--threads", "1"]);
    let mut c = s.conn();
    // Values long enough that every pair is its own allocation (the slow case to free).
    let value = "x".repeat(40);
    let mut pipe = redis::pipe();
    for chunk in 0..1000 {
        let mut cmd = redis::cmd("HSET");
        cmd.arg("big");
        for i in 0..1000 {
            cmd.arg(format!("field:{}", chunk * 1000 + i)).arg(&value);
        }
        pipe.add_command(cmd).ignore();
    }
    pipe.query::<()>(&mut c).unwrap();
    assert_eq!(int(&mut c, &["HLEN", "big"]), 1_000_000);

    let mut r = s.raw();
    let start = Instant::now();
    r.send(b"DEL big\r\nPING\r\n");
    r.expect(b":1\r\n+PONG\r\n");
    let took = start.elapsed();
    assert!(
        took < Duration::from_millis(500),
        "DEL + PING took {took:?}"
    );
    assert_eq!(int(&mut c, &["EXISTS", "big"]), 0);
}
