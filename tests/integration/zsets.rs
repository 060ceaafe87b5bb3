//! Sorted-set commands end to end against the real binary: every command's replies and error
//! texts, encodings, RESP3 reply shapes, big (skiplist) zsets compared with a real
//! redis-server, incremental ZSCAN, atomicity of the multi-key commands, and freeing a
//! million-member zset off the event loop.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::common::{self, bulk, err, ok, Server, NOT_FLOAT, NOT_INT, SYNTAX, WRONGTYPE};
use redis::Value;

fn bulks(items: &[&str]) -> Value {
    Value::Array(items.iter().map(|s| bulk(s)).collect())
}

fn int(n: i64) -> Value {
    Value::Int(n)
}

fn server() -> Server {
    Server::start(&["--threads", "2"])
}

const RANGE_NOT_FLOAT: &str = "ERR min or max is not a float";
const RANGE_NOT_LEX: &str = "ERR min or max not valid string range item";

/// Pipelines `ZADD key score member ...` in batches of 1000 members over a raw socket.
fn load(
    s: &Server,
    key: &str,
    n: usize,
    member: impl Fn(usize) -> String,
    score: impl Fn(usize) -> f64,
) {
    let mut stream = TcpStream::connect(("127.0.0.1", s.port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let mut batches = 0;
    let mut buf = Vec::new();
    for start in (0..n).step_by(1000) {
        let end = (start + 1000).min(n);
        let mut args = vec!["ZADD".to_string(), key.to_string()];
        for i in start..end {
            args.push(format!("{}", score(i)));
            args.push(member(i));
        }
        buf.extend_from_slice(format!("*{}\r\n", args.len()).as_bytes());
        for a in &args {
            buf.extend_from_slice(format!("${}\r\n{a}\r\n", a.len()).as_bytes());
        }
        batches += 1;
    }
    stream.write_all(&buf).unwrap();
    let mut r = BufReader::new(stream);
    for _ in 0..batches {
        let mut line = String::new();
        r.read_line(&mut line).unwrap();
        assert!(line.starts_with(':'), "ZADD batch failed: {line}");
    }
}

#[test]
fn zadd_options_replies_and_errors() {
    let s = server();
    let mut c = s.conn();
    assert_eq!(ok(&mut c, &["ZADD", "z", "1", "a", "2", "b"]), int(2));
    assert_eq!(ok(&mut c, &["ZADD", "z", "1", "a", "3", "c"]), int(1));
    // CH counts updates too; an unchanged score is not an update.
    assert_eq!(
        ok(&mut c, &["ZADD", "z", "CH", "1", "a", "5", "b", "4", "d"]),
        int(2)
    );
    // NX: only new members; XX: only existing ones (a missing key is not created).
    assert_eq!(ok(&mut c, &["ZADD", "z", "NX", "9", "a", "6", "e"]), int(1));
    assert_eq!(ok(&mut c, &["ZSCORE", "z", "a"]), bulk("1"));
    assert_eq!(
        ok(&mut c, &["ZADD", "z", "XX", "CH", "7", "a", "8", "new"]),
        int(1)
    );
    assert_eq!(ok(&mut c, &["ZSCORE", "z", "new"]), Value::Nil);
    assert_eq!(ok(&mut c, &["ZADD", "nokey", "XX", "1", "a"]), int(0));
    assert_eq!(ok(&mut c, &["EXISTS", "nokey"]), int(0));
    // GT / LT only move a score in one direction (and still add new members).
    assert_eq!(
        ok(
            &mut c,
            &["ZADD", "z", "GT", "CH", "1", "a", "10", "b", "1", "gt"]
        ),
        int(2)
    );
    assert_eq!(
        ok(&mut c, &["ZMSCORE", "z", "a", "b", "gt"]),
        bulks(&["7", "10", "1"])
    );
    assert_eq!(
        ok(&mut c, &["ZADD", "z", "LT", "CH", "100", "a", "0", "b"]),
        int(1)
    );
    assert_eq!(ok(&mut c, &["ZMSCORE", "z", "a", "b"]), bulks(&["7", "0"]));
    // INCR: the new score, or nil when a condition prevented it.
    assert_eq!(ok(&mut c, &["ZADD", "z", "INCR", "2.5", "a"]), bulk("9.5"));
    assert_eq!(
        ok(&mut c, &["ZADD", "z", "INCR", "NX", "1", "a"]),
        Value::Nil
    );
    assert_eq!(
        ok(&mut c, &["ZADD", "z", "INCR", "XX", "1", "zz"]),
        Value::Nil
    );
    assert_eq!(
        ok(&mut c, &["ZADD", "z", "INCR", "GT", "-1", "a"]),
        Value::Nil
    );
    assert_eq!(
        ok(&mut c, &["ZADD", "z", "incr", "lt", "-1", "a"]),
        bulk("8.5")
    );
    assert_eq!(
        ok(&mut c, &["ZADD", "z", "INCR", "0.1", "f1"]),
        bulk("0.10000000000000001")
    );
    // Infinite scores are fine; inf + -inf is not.
    assert_eq!(ok(&mut c, &["ZADD", "z", "inf", "i", "-inf", "j"]), int(2));
    assert_eq!(
        err(&mut c, &["ZADD", "z", "INCR", "-inf", "i"]),
        "ERR resulting score is not a number (NaN)"
    );
    assert_eq!(ok(&mut c, &["ZSCORE", "z", "i"]), bulk("inf"));

    // Errors, in Redis's order of checks.
    assert_eq!(
        err(&mut c, &["ZADD", "z", "1"]),
        "ERR wrong number of arguments for 'zadd' command"
    );
    assert_eq!(err(&mut c, &["ZADD", "z", "1", "a", "2"]), SYNTAX);
    assert_eq!(err(&mut c, &["ZADD", "z", "NX", "CH"]), SYNTAX);
    assert_eq!(
        err(&mut c, &["ZADD", "z", "NX", "XX", "1", "a"]),
        "ERR XX and NX options at the same time are not compatible"
    );
    for opts in [["NX", "GT"], ["LT", "NX"], ["GT", "LT"]] {
        assert_eq!(
            err(&mut c, &["ZADD", "z", opts[0], opts[1], "1", "a"]),
            "ERR GT, LT, and/or NX options at the same time are not compatible"
        );
    }
    assert_eq!(
        err(&mut c, &["ZADD", "z", "INCR", "1", "a", "2", "b"]),
        "ERR INCR option supports a single increment-element pair"
    );
    for bad in ["nan", "abc", "", "1e400", " 1", "(1"] {
        assert_eq!(err(&mut c, &["ZADD", "z", bad, "a"]), NOT_FLOAT, "{bad}");
    }
    // A bad score anywhere leaves the zset untouched.
    assert_eq!(
        err(&mut c, &["ZADD", "z", "1", "fresh", "x", "b"]),
        NOT_FLOAT
    );
    assert_eq!(ok(&mut c, &["ZSCORE", "z", "fresh"]), Value::Nil);
    ok(&mut c, &["SET", "str", "v"]);
    assert_eq!(err(&mut c, &["ZADD", "str", "1", "a"]), WRONGTYPE);
    assert_eq!(err(&mut c, &["ZINCRBY", "str", "1", "a"]), WRONGTYPE);

    // ZINCRBY is ZADD INCR, quirks included.
    assert_eq!(ok(&mut c, &["ZINCRBY", "zi", "2", "m"]), bulk("2"));
    assert_eq!(ok(&mut c, &["ZINCRBY", "zi", "-0.5", "m"]), bulk("1.5"));
    assert_eq!(err(&mut c, &["ZINCRBY", "zi", "x", "m"]), NOT_FLOAT);
    assert_eq!(err(&mut c, &["ZINCRBY", "zi", "nx", "m"]), SYNTAX);
    assert_eq!(ok(&mut c, &["ZCARD", "zi"]), int(1));
}

#[test]
fn zrem_zcard_zscore_zmscore() {
    let s = server();
    let mut c = s.conn();
    ok(&mut c, &["ZADD", "z", "1", "a", "2", "b", "3", "c"]);
    assert_eq!(ok(&mut c, &["ZCARD", "z"]), int(3));
    assert_eq!(ok(&mut c, &["ZCARD", "nokey"]), int(0));
    assert_eq!(ok(&mut c, &["ZSCORE", "z", "b"]), bulk("2"));
    assert_eq!(ok(&mut c, &["ZSCORE", "z", "x"]), Value::Nil);
    assert_eq!(ok(&mut c, &["ZSCORE", "nokey", "x"]), Value::Nil);
    assert_eq!(
        ok(&mut c, &["ZMSCORE", "z", "a", "x", "c"]),
        Value::Array(vec![bulk("1"), Value::Nil, bulk("3")])
    );
    assert_eq!(
        ok(&mut c, &["ZMSCORE", "nokey", "a", "b"]),
        Value::Array(vec![Value::Nil, Value::Nil])
    );
    assert_eq!(ok(&mut c, &["ZREM", "z", "a", "x", "a"]), int(1));
    assert_eq!(ok(&mut c, &["ZREM", "nokey", "a"]), int(0));
    // Emptying the zset deletes the key.
    assert_eq!(ok(&mut c, &["ZREM", "z", "b", "c", "d"]), int(2));
    assert_eq!(ok(&mut c, &["EXISTS", "z"]), int(0));
    ok(&mut c, &["SET", "str", "v"]);
    for args in [
        &["ZREM", "str", "a"][..],
        &["ZCARD", "str"],
        &["ZSCORE", "str", "a"],
        &["ZMSCORE", "str", "a"],
    ] {
        assert_eq!(err(&mut c, args), WRONGTYPE, "{args:?}");
    }
    assert_eq!(
        err(&mut c, &["ZREM", "z"]),
        "ERR wrong number of arguments for 'zrem' command"
    );
    assert_eq!(
        err(&mut c, &["ZMSCORE", "z"]),
        "ERR wrong number of arguments for 'zmscore' command"
    );
    // Scores print like Redis 7.0's %.17g.
    ok(
        &mut c,
        &[
            "ZADD", "f", "0.1", "a", "1e20", "b", "-1.5e-7", "c", "3.0", "d",
        ],
    );
    assert_eq!(
        ok(&mut c, &["ZMSCORE", "f", "a", "b", "c", "d"]),
        bulks(&[
            "0.10000000000000001",
            "1e+20",
            "-1.4999999999999999e-07",
            "3"
        ])
    );
}

#[test]
fn zrange_by_rank_score_and_lex() {
    let s = server();
    let mut c = s.conn();
    ok(
        &mut c,
        &[
            "ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e",
        ],
    );
    assert_eq!(
        ok(&mut c, &["ZRANGE", "z", "0", "-1"]),
        bulks(&["a", "b", "c", "d", "e"])
    );
    assert_eq!(
        ok(&mut c, &["ZRANGE", "z", "1", "2", "WITHSCORES"]),
        bulks(&["b", "2", "c", "3"])
    );
    assert_eq!(
        ok(&mut c, &["ZRANGE", "z", "-2", "100"]),
        bulks(&["d", "e"])
    );
    assert_eq!(ok(&mut c, &["ZRANGE", "z", "3", "1"]), bulks(&[]));
    assert_eq!(
        ok(&mut c, &["ZRANGE", "z", "0", "1", "REV"]),
        bulks(&["e", "d"])
    );
    assert_eq!(
        ok(&mut c, &["ZREVRANGE", "z", "0", "1", "WITHSCORES"]),
        bulks(&["e", "5", "d", "4"])
    );
    assert_eq!(ok(&mut c, &["ZRANGE", "nokey", "0", "-1"]), bulks(&[]));
    // BYSCORE, exclusive bounds, infinities, LIMIT, REV (bounds given max first).
    assert_eq!(
        ok(&mut c, &["ZRANGE", "z", "(1", "3", "BYSCORE"]),
        bulks(&["b", "c"])
    );
    assert_eq!(
        ok(
            &mut c,
            &["ZRANGE", "z", "-inf", "+inf", "BYSCORE", "LIMIT", "1", "2"]
        ),
        bulks(&["b", "c"])
    );
    assert_eq!(
        ok(
            &mut c,
            &["ZRANGE", "z", "+inf", "(2", "BYSCORE", "REV", "WITHSCORES"]
        ),
        bulks(&["e", "5", "d", "4", "c", "3"])
    );
    assert_eq!(
        ok(
            &mut c,
            &["ZRANGEBYSCORE", "z", "2", "4", "LIMIT", "1", "-1"]
        ),
        bulks(&["c", "d"])
    );
    assert_eq!(
        ok(
            &mut c,
            &["ZRANGEBYSCORE", "z", "-inf", "inf", "LIMIT", "-1", "2"]
        ),
        bulks(&[])
    );
    assert_eq!(
        ok(
            &mut c,
            &["ZRANGEBYSCORE", "z", "-inf", "inf", "LIMIT", "0", "0"]
        ),
        bulks(&[])
    );
    assert_eq!(
        ok(
            &mut c,
            &["ZREVRANGEBYSCORE", "z", "4", "(1", "LIMIT", "1", "10"]
        ),
        bulks(&["c", "b"])
    );
    assert_eq!(ok(&mut c, &["ZRANGEBYSCORE", "z", "(3", "(3"]), bulks(&[]));
    // strtod rules for bounds: leading space, hex and the empty string (0) are accepted.
    assert_eq!(
        ok(&mut c, &["ZRANGEBYSCORE", "z", " 1", "0x2"]),
        bulks(&["a", "b"])
    );
    assert_eq!(ok(&mut c, &["ZRANGEBYSCORE", "z", "", "1"]), bulks(&["a"]));
    // BYLEX over equal scores.
    ok(
        &mut c,
        &[
            "ZADD", "l", "0", "a", "0", "b", "0", "c", "0", "d", "0", "e",
        ],
    );
    assert_eq!(
        ok(&mut c, &["ZRANGE", "l", "[b", "(d", "BYLEX"]),
        bulks(&["b", "c"])
    );
    assert_eq!(
        ok(
            &mut c,
            &["ZRANGE", "l", "+", "[c", "BYLEX", "REV", "LIMIT", "1", "1"]
        ),
        bulks(&["d"])
    );
    assert_eq!(
        ok(&mut c, &["ZRANGEBYLEX", "l", "-", "+"]),
        bulks(&["a", "b", "c", "d", "e"])
    );
    assert_eq!(
        ok(&mut c, &["ZREVRANGEBYLEX", "l", "(c", "-"]),
        bulks(&["b", "a"])
    );
    assert_eq!(ok(&mut c, &["ZRANGEBYLEX", "l", "+", "-"]), bulks(&[]));

    // Errors.
    assert_eq!(
        err(&mut c, &["ZRANGE", "z", "0", "1", "LIMIT", "0", "1"]),
        "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX"
    );
    assert_eq!(
        err(&mut c, &["ZRANGE", "l", "-", "+", "BYLEX", "WITHSCORES"]),
        "ERR syntax error, WITHSCORES not supported in combination with BYLEX"
    );
    assert_eq!(
        err(&mut c, &["ZRANGEBYLEX", "l", "-", "+", "WITHSCORES"]),
        "ERR syntax error, WITHSCORES not supported in combination with BYLEX"
    );
    for args in [
        &["ZRANGE", "z", "0", "1", "REV", "REV"][..],
        &["ZRANGE", "z", "0", "1", "BYSCORE", "BYLEX"],
        &["ZRANGE", "z", "0", "1", "LIMIT", "1"],
        &["ZRANGE", "z", "0", "1", "FOO"],
        &["ZRANGEBYSCORE", "z", "0", "1", "REV"],
        &["ZREVRANGE", "z", "0", "1", "BYSCORE"],
    ] {
        assert_eq!(err(&mut c, args), SYNTAX, "{args:?}");
    }
    assert_eq!(err(&mut c, &["ZRANGE", "z", "a", "1"]), NOT_INT);
    assert_eq!(
        err(
            &mut c,
            &["ZRANGE", "z", "0", "1", "BYSCORE", "LIMIT", "x", "1"]
        ),
        NOT_INT
    );
    for bad in ["abc", "1 ", "nan", "(nan", "((1"] {
        assert_eq!(
            err(&mut c, &["ZRANGEBYSCORE", "z", bad, "1"]),
            RANGE_NOT_FLOAT,
            "{bad}"
        );
        assert_eq!(
            err(&mut c, &["ZRANGE", "z", "1", bad, "BYSCORE"]),
            RANGE_NOT_FLOAT,
            "{bad}"
        );
    }
    for bad in ["a", "", "+a", "-a", "1"] {
        assert_eq!(
            err(&mut c, &["ZRANGEBYLEX", "l", bad, "+"]),
            RANGE_NOT_LEX,
            "{bad}"
        );
    }
    ok(&mut c, &["SET", "str", "v"]);
    assert_eq!(err(&mut c, &["ZRANGE", "str", "0", "1"]), WRONGTYPE);
    // Syntax errors win over WRONGTYPE (options are parsed before the key is read).
    assert_eq!(err(&mut c, &["ZRANGE", "str", "0", "1", "FOO"]), SYNTAX);
}

#[test]
fn zrangestore_stores_and_deletes() {
    let s = server();
    let mut c = s.conn();
    ok(&mut c, &["ZADD", "src", "1", "a", "2", "b", "3", "c"]);
    ok(&mut c, &["SET", "dst", "string"]);
    ok(&mut c, &["EXPIRE", "dst", "1000"]);
    assert_eq!(
        ok(
            &mut c,
            &["ZRANGESTORE", "dst", "src", "(1", "+inf", "BYSCORE"]
        ),
        int(2)
    );
    assert_eq!(
        ok(&mut c, &["ZRANGE", "dst", "0", "-1", "WITHSCORES"]),
        bulks(&["b", "2", "c", "3"])
    );
    assert_eq!(ok(&mut c, &["TTL", "dst"]), int(-1));
    assert_eq!(
        ok(&mut c, &["ZRANGESTORE", "dst", "src", "0", "0", "REV"]),
        int(1)
    );
    assert_eq!(ok(&mut c, &["ZRANGE", "dst", "0", "-1"]), bulks(&["c"]));
    // Storing onto the source itself.
    assert_eq!(ok(&mut c, &["ZRANGESTORE", "src", "src", "0", "1"]), int(2));
    assert_eq!(
        ok(&mut c, &["ZRANGE", "src", "0", "-1"]),
        bulks(&["a", "b"])
    );
    // An empty result deletes the destination.
    assert_eq!(
        ok(&mut c, &["ZRANGESTORE", "dst", "src", "5", "10"]),
        int(0)
    );
    assert_eq!(ok(&mut c, &["EXISTS", "dst"]), int(0));
    ok(&mut c, &["SET", "dst", "x"]);
    assert_eq!(
        ok(&mut c, &["ZRANGESTORE", "dst", "nokey", "0", "-1"]),
        int(0)
    );
    assert_eq!(ok(&mut c, &["EXISTS", "dst"]), int(0));
    assert_eq!(
        err(
            &mut c,
            &["ZRANGESTORE", "dst", "src", "0", "-1", "WITHSCORES"]
        ),
        SYNTAX
    );
    ok(&mut c, &["SET", "str", "v"]);
    assert_eq!(
        err(&mut c, &["ZRANGESTORE", "dst", "str", "0", "-1"]),
        WRONGTYPE
    );
}

#[test]
fn zrank_zrevrank_zcount_zlexcount() {
    let s = server();
    let mut c = s.conn();
    ok(&mut c, &["ZADD", "z", "1", "a", "2", "b", "3", "c"]);
    assert_eq!(ok(&mut c, &["ZRANK", "z", "a"]), int(0));
    assert_eq!(ok(&mut c, &["ZREVRANK", "z", "a"]), int(2));
    assert_eq!(ok(&mut c, &["ZRANK", "z", "x"]), Value::Nil);
    assert_eq!(ok(&mut c, &["ZRANK", "nokey", "x"]), Value::Nil);
    // WITHSCORE (Redis 7.2).
    assert_eq!(
        ok(&mut c, &["ZRANK", "z", "c", "WITHSCORE"]),
        Value::Array(vec![int(2), bulk("3")])
    );
    assert_eq!(
        ok(&mut c, &["ZREVRANK", "z", "c", "withscore"]),
        Value::Array(vec![int(0), bulk("3")])
    );
    assert_eq!(ok(&mut c, &["ZRANK", "z", "x", "WITHSCORE"]), Value::Nil);
    assert_eq!(err(&mut c, &["ZRANK", "z", "a", "FOO"]), SYNTAX);
    assert_eq!(
        err(&mut c, &["ZRANK", "z", "a", "WITHSCORE", "x"]),
        "ERR wrong number of arguments for 'zrank' command"
    );

    assert_eq!(ok(&mut c, &["ZCOUNT", "z", "-inf", "+inf"]), int(3));
    assert_eq!(ok(&mut c, &["ZCOUNT", "z", "(1", "3"]), int(2));
    assert_eq!(ok(&mut c, &["ZCOUNT", "z", "3", "1"]), int(0));
    assert_eq!(ok(&mut c, &["ZCOUNT", "nokey", "0", "1"]), int(0));
    assert_eq!(err(&mut c, &["ZCOUNT", "z", "x", "1"]), RANGE_NOT_FLOAT);
    ok(&mut c, &["ZADD", "l", "0", "a", "0", "b", "0", "c"]);
    assert_eq!(ok(&mut c, &["ZLEXCOUNT", "l", "-", "+"]), int(3));
    assert_eq!(ok(&mut c, &["ZLEXCOUNT", "l", "(a", "[c"]), int(2));
    assert_eq!(ok(&mut c, &["ZLEXCOUNT", "l", "[c", "[a"]), int(0));
    assert_eq!(err(&mut c, &["ZLEXCOUNT", "l", "a", "+"]), RANGE_NOT_LEX);
    ok(&mut c, &["SET", "str", "v"]);
    for args in [
        &["ZRANK", "str", "a"][..],
        &["ZREVRANK", "str", "a"],
        &["ZCOUNT", "str", "0", "1"],
        &["ZLEXCOUNT", "str", "-", "+"],
    ] {
        assert_eq!(err(&mut c, args), WRONGTYPE, "{args:?}");
    }
    // Range errors come before the type check.
    assert_eq!(err(&mut c, &["ZCOUNT", "str", "x", "1"]), RANGE_NOT_FLOAT);
}

#[test]
fn zremrange_family() {
    let s = server();
    let mut c = s.conn();
    ok(
        &mut c,
        &[
            "ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e",
        ],
    );
    assert_eq!(ok(&mut c, &["ZREMRANGEBYRANK", "z", "0", "1"]), int(2));
    assert_eq!(ok(&mut c, &["ZREMRANGEBYRANK", "z", "5", "10"]), int(0));
    assert_eq!(ok(&mut c, &["ZREMRANGEBYRANK", "z", "-1", "-1"]), int(1));
    assert_eq!(ok(&mut c, &["ZRANGE", "z", "0", "-1"]), bulks(&["c", "d"]));
    assert_eq!(ok(&mut c, &["ZREMRANGEBYSCORE", "z", "(3", "+inf"]), int(1));
    assert_eq!(
        ok(&mut c, &["ZREMRANGEBYSCORE", "z", "-inf", "+inf"]),
        int(1)
    );
    assert_eq!(ok(&mut c, &["EXISTS", "z"]), int(0));
    ok(&mut c, &["ZADD", "l", "0", "a", "0", "b", "0", "c"]);
    assert_eq!(ok(&mut c, &["ZREMRANGEBYLEX", "l", "[b", "+"]), int(2));
    assert_eq!(ok(&mut c, &["ZREMRANGEBYLEX", "l", "-", "(a"]), int(0));
    assert_eq!(ok(&mut c, &["ZREMRANGEBYLEX", "l", "-", "+"]), int(1));
    assert_eq!(ok(&mut c, &["EXISTS", "l"]), int(0));
    assert_eq!(ok(&mut c, &["ZREMRANGEBYRANK", "nokey", "0", "-1"]), int(0));
    assert_eq!(err(&mut c, &["ZREMRANGEBYRANK", "z", "a", "1"]), NOT_INT);
    assert_eq!(
        err(&mut c, &["ZREMRANGEBYSCORE", "z", "a", "1"]),
        RANGE_NOT_FLOAT
    );
    assert_eq!(
        err(&mut c, &["ZREMRANGEBYLEX", "z", "a", "+"]),
        RANGE_NOT_LEX
    );
    ok(&mut c, &["SET", "str", "v"]);
    assert_eq!(
        err(&mut c, &["ZREMRANGEBYRANK", "str", "0", "1"]),
        WRONGTYPE
    );
    assert_eq!(
        err(&mut c, &["ZREMRANGEBYSCORE", "str", "0", "1"]),
        WRONGTYPE
    );
    assert_eq!(err(&mut c, &["ZREMRANGEBYLEX", "str", "-", "+"]), WRONGTYPE);
}

#[test]
fn zpop_and_zmpop() {
    let s = server();
    let mut c = s.conn();
    ok(
        &mut c,
        &["ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d"],
    );
    assert_eq!(ok(&mut c, &["ZPOPMIN", "z"]), bulks(&["a", "1"]));
    assert_eq!(
        ok(&mut c, &["ZPOPMAX", "z", "2"]),
        bulks(&["d", "4", "c", "3"])
    );
    assert_eq!(ok(&mut c, &["ZPOPMIN", "z", "0"]), bulks(&[]));
    assert_eq!(ok(&mut c, &["ZPOPMIN", "z", "10"]), bulks(&["b", "2"]));
    assert_eq!(ok(&mut c, &["EXISTS", "z"]), int(0));
    assert_eq!(ok(&mut c, &["ZPOPMIN", "z"]), bulks(&[]));
    let range = "ERR value is out of range, must be positive";
    assert_eq!(err(&mut c, &["ZPOPMIN", "z", "-1"]), range);
    assert_eq!(err(&mut c, &["ZPOPMAX", "z", "x"]), range);
    assert_eq!(err(&mut c, &["ZPOPMIN", "z", "1", "2"]), SYNTAX);

    ok(&mut c, &["ZADD", "z2", "1", "a", "2", "b", "3", "c"]);
    let pair = |m: &str, s: &str| bulks(&[m, s]);
    assert_eq!(
        ok(&mut c, &["ZMPOP", "2", "empty", "z2", "MIN"]),
        Value::Array(vec![bulk("z2"), Value::Array(vec![pair("a", "1")])])
    );
    assert_eq!(
        ok(&mut c, &["ZMPOP", "1", "z2", "max", "COUNT", "5"]),
        Value::Array(vec![
            bulk("z2"),
            Value::Array(vec![pair("c", "3"), pair("b", "2")])
        ])
    );
    assert_eq!(ok(&mut c, &["EXISTS", "z2"]), int(0));
    assert_eq!(ok(&mut c, &["ZMPOP", "2", "x", "y", "MIN"]), Value::Nil);
    let numkeys = "ERR numkeys should be greater than 0";
    for n in ["0", "-1", "abc"] {
        assert_eq!(err(&mut c, &["ZMPOP", n, "z", "MIN"]), numkeys);
    }
    assert_eq!(err(&mut c, &["ZMPOP", "3", "a", "b", "MIN"]), SYNTAX);
    assert_eq!(err(&mut c, &["ZMPOP", "1", "a", "MID"]), SYNTAX);
    assert_eq!(
        err(&mut c, &["ZMPOP", "1", "a", "MIN", "COUNT", "0"]),
        "ERR count should be greater than 0"
    );
    assert_eq!(
        err(
            &mut c,
            &["ZMPOP", "1", "a", "MIN", "COUNT", "1", "COUNT", "1"]
        ),
        SYNTAX
    );
    assert_eq!(err(&mut c, &["ZMPOP", "1", "a", "MIN", "COUNT"]), SYNTAX);
    ok(&mut c, &["SET", "str", "v"]);
    ok(&mut c, &["ZADD", "z3", "1", "a"]);
    assert_eq!(err(&mut c, &["ZPOPMIN", "str"]), WRONGTYPE);
    // The first existing key decides: a string before a zset is an error.
    assert_eq!(
        err(&mut c, &["ZMPOP", "3", "nokey", "str", "z3", "MIN"]),
        WRONGTYPE
    );
    assert_eq!(ok(&mut c, &["ZCARD", "z3"]), int(1));
}

#[test]
fn zrandmember_counts() {
    let s = server();
    let mut c = s.conn();
    ok(
        &mut c,
        &[
            "ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e",
        ],
    );
    let all = ["a", "b", "c", "d", "e"];
    for _ in 0..20 {
        let Value::BulkString(m) = ok(&mut c, &["ZRANDMEMBER", "z"]) else {
            panic!()
        };
        assert!(all.contains(&std::str::from_utf8(&m).unwrap()));
    }
    assert_eq!(ok(&mut c, &["ZRANDMEMBER", "nokey"]), Value::Nil);
    assert_eq!(ok(&mut c, &["ZRANDMEMBER", "nokey", "3"]), bulks(&[]));
    assert_eq!(ok(&mut c, &["ZRANDMEMBER", "z", "0"]), bulks(&[]));
    // A count covering the zset returns all of it, highest score first (as Redis walks it).
    assert_eq!(
        ok(&mut c, &["ZRANDMEMBER", "z", "10"]),
        bulks(&["e", "d", "c", "b", "a"])
    );
    assert_eq!(
        ok(&mut c, &["ZRANDMEMBER", "z", "5", "WITHSCORES"]),
        bulks(&["e", "5", "d", "4", "c", "3", "b", "2", "a", "1"])
    );
    // Distinct members for a positive count, repetitions for a negative one.
    for _ in 0..20 {
        let Value::Array(items) = ok(&mut c, &["ZRANDMEMBER", "z", "3"]) else {
            panic!()
        };
        let mut v: Vec<_> = items
            .into_iter()
            .collect::<Vec<_>>()
            .iter()
            .map(|x| format!("{x:?}"))
            .collect();
        v.sort();
        v.dedup();
        assert_eq!(v.len(), 3);
    }
    let Value::Array(items) = ok(&mut c, &["ZRANDMEMBER", "z", "-20", "WITHSCORES"]) else {
        panic!()
    };
    assert_eq!(items.len(), 40);
    assert_eq!(err(&mut c, &["ZRANDMEMBER", "z", "x"]), NOT_INT);
    assert_eq!(err(&mut c, &["ZRANDMEMBER", "z", "1", "FOO"]), SYNTAX);
    assert_eq!(
        err(&mut c, &["ZRANDMEMBER", "z", "1", "WITHSCORES", "x"]),
        SYNTAX
    );
    assert_eq!(
        err(
            &mut c,
            &["ZRANDMEMBER", "z", "9223372036854775807", "WITHSCORES"]
        ),
        "ERR value is out of range"
    );
    ok(&mut c, &["SET", "str", "v"]);
    assert_eq!(err(&mut c, &["ZRANDMEMBER", "str"]), WRONGTYPE);
    assert_eq!(err(&mut c, &["ZRANDMEMBER", "str", "2"]), WRONGTYPE);
}

#[test]
fn union_inter_diff_and_stores() {
    let s = server();
    let mut c = s.conn();
    ok(&mut c, &["ZADD", "a", "1", "x", "2", "y", "3", "z"]);
    ok(&mut c, &["ZADD", "b", "10", "y", "20", "z", "30", "w"]);
    assert_eq!(
        ok(&mut c, &["ZUNION", "2", "a", "b", "WITHSCORES"]),
        bulks(&["x", "1", "y", "12", "z", "23", "w", "30"])
    );
    assert_eq!(
        ok(
            &mut c,
            &[
                "ZUNION",
                "2",
                "a",
                "b",
                "WEIGHTS",
                "2",
                "1",
                "AGGREGATE",
                "MIN"
            ]
        ),
        bulks(&["x", "y", "z", "w"])
    );
    assert_eq!(
        ok(
            &mut c,
            &["ZINTER", "2", "a", "b", "AGGREGATE", "MAX", "WITHSCORES"]
        ),
        bulks(&["y", "10", "z", "20"])
    );
    assert_eq!(
        ok(
            &mut c,
            &["ZINTER", "2", "a", "b", "WEIGHTS", "1", "-1", "WITHSCORES"]
        ),
        bulks(&["z", "-17", "y", "-8"])
    );
    assert_eq!(ok(&mut c, &["ZINTER", "2", "a", "nokey"]), bulks(&[]));
    assert_eq!(
        ok(&mut c, &["ZDIFF", "2", "a", "b", "WITHSCORES"]),
        bulks(&["x", "1"])
    );
    assert_eq!(ok(&mut c, &["ZDIFF", "1", "nokey"]), bulks(&[]));
    assert_eq!(ok(&mut c, &["ZINTERCARD", "2", "a", "b"]), int(2));
    assert_eq!(
        ok(&mut c, &["ZINTERCARD", "2", "a", "b", "LIMIT", "1"]),
        int(1)
    );
    assert_eq!(
        ok(&mut c, &["ZINTERCARD", "2", "a", "b", "LIMIT", "0"]),
        int(2)
    );
    // inf * 0 is NaN, which counts as 0; inf + -inf sums to 0 too.
    ok(&mut c, &["ZADD", "inf", "inf", "x"]);
    ok(&mut c, &["ZADD", "ninf", "-inf", "x"]);
    assert_eq!(
        ok(
            &mut c,
            &["ZUNION", "1", "inf", "WEIGHTS", "0", "WITHSCORES"]
        ),
        bulks(&["x", "0"])
    );
    assert_eq!(
        ok(&mut c, &["ZUNION", "2", "inf", "ninf", "WITHSCORES"]),
        bulks(&["x", "0"])
    );
    // Stores: the size; an empty result deletes the destination, which loses its TTL otherwise.
    ok(&mut c, &["SET", "d", "v"]);
    ok(&mut c, &["EXPIRE", "d", "100"]);
    assert_eq!(ok(&mut c, &["ZUNIONSTORE", "d", "2", "a", "b"]), int(4));
    assert_eq!(ok(&mut c, &["TTL", "d"]), int(-1));
    assert_eq!(
        ok(
            &mut c,
            &["ZINTERSTORE", "d", "2", "a", "b", "WEIGHTS", "2", "3"]
        ),
        int(2)
    );
    assert_eq!(
        ok(&mut c, &["ZRANGE", "d", "0", "-1", "WITHSCORES"]),
        bulks(&["y", "34", "z", "66"])
    );
    assert_eq!(ok(&mut c, &["ZDIFFSTORE", "d", "2", "a", "b"]), int(1));
    assert_eq!(ok(&mut c, &["ZDIFFSTORE", "d", "2", "a", "a"]), int(0));
    assert_eq!(ok(&mut c, &["EXISTS", "d"]), int(0));
    // The destination may be a source.
    assert_eq!(
        ok(
            &mut c,
            &["ZUNIONSTORE", "a", "2", "a", "b", "AGGREGATE", "MAX"]
        ),
        int(4)
    );
    assert_eq!(ok(&mut c, &["ZSCORE", "a", "z"]), bulk("20"));

    // Errors.
    for (cmd, args) in [
        ("zunion", &["ZUNION", "0", "a"][..]),
        ("zinter", &["ZINTER", "-1", "a"]),
        ("zdiff", &["ZDIFF", "0", "a"]),
        ("zintercard", &["ZINTERCARD", "0", "a"]),
        ("zunionstore", &["ZUNIONSTORE", "d", "0", "a"]),
        ("zinterstore", &["ZINTERSTORE", "d", "0", "a"]),
        ("zdiffstore", &["ZDIFFSTORE", "d", "0", "a"]),
    ] {
        assert_eq!(
            err(&mut c, args),
            format!("ERR at least 1 input key is needed for '{cmd}' command")
        );
    }
    assert_eq!(err(&mut c, &["ZUNION", "x", "a"]), NOT_INT);
    assert_eq!(err(&mut c, &["ZUNION", "3", "a", "b"]), SYNTAX);
    assert_eq!(err(&mut c, &["ZUNION", "1", "a", "WEIGHTS"]), SYNTAX);
    assert_eq!(
        err(&mut c, &["ZUNION", "1", "a", "WEIGHTS", "x"]),
        "ERR weight value is not a float"
    );
    assert_eq!(
        err(&mut c, &["ZUNION", "1", "a", "AGGREGATE", "AVG"]),
        SYNTAX
    );
    assert_eq!(err(&mut c, &["ZDIFF", "1", "a", "WEIGHTS", "1"]), SYNTAX);
    assert_eq!(
        err(&mut c, &["ZUNIONSTORE", "d", "1", "a", "WITHSCORES"]),
        SYNTAX
    );
    assert_eq!(err(&mut c, &["ZINTERCARD", "1", "a", "WITHSCORES"]), SYNTAX);
    assert_eq!(
        err(&mut c, &["ZINTERCARD", "1", "a", "LIMIT", "-1"]),
        "ERR LIMIT can't be negative"
    );
    assert_eq!(
        err(&mut c, &["ZINTERCARD", "1", "a", "LIMIT", "x"]),
        "ERR LIMIT can't be negative"
    );
    ok(&mut c, &["SET", "str", "v"]);
    assert_eq!(err(&mut c, &["ZUNION", "2", "a", "str"]), WRONGTYPE);
    // WRONGTYPE is found before option errors, as Redis reads the keys first.
    assert_eq!(
        err(&mut c, &["ZUNIONSTORE", "d", "2", "a", "str", "FOO"]),
        WRONGTYPE
    );
    // A wrong-typed destination is simply overwritten.
    assert_eq!(ok(&mut c, &["ZUNIONSTORE", "str", "1", "b"]), int(3));
    assert_eq!(
        ok(&mut c, &["TYPE", "str"]),
        Value::SimpleString("zset".into())
    );
}

#[test]
fn encodings_follow_redis() {
    let s = server();
    let mut c = s.conn();
    let enc = |c: &mut redis::Connection, k: &str| ok(c, &["OBJECT", "ENCODING", k]);
    ok(&mut c, &["ZADD", "z", "1", "a"]);
    assert_eq!(enc(&mut c, "z"), bulk("listpack"));
    let long = "x".repeat(65);
    ok(&mut c, &["ZADD", "z", "2", &long]);
    assert_eq!(enc(&mut c, "z"), bulk("skiplist"));
    ok(&mut c, &["ZREM", "z", &long]);
    assert_eq!(
        enc(&mut c, "z"),
        bulk("skiplist"),
        "deletions never convert back"
    );
    // ZUNIONSTORE & co pick the compact form for a small result.
    ok(&mut c, &["ZUNIONSTORE", "u", "1", "z"]);
    assert_eq!(enc(&mut c, "u"), bulk("listpack"));
    ok(&mut c, &["ZRANGESTORE", "r", "z", "0", "-1"]);
    assert_eq!(enc(&mut c, "r"), bulk("listpack"));
    // 128 entries fit, 129 do not.
    let mut args: Vec<String> = vec!["ZADD".into(), "n".into()];
    for i in 0..128 {
        args.push(i.to_string());
        args.push(format!("m{i}"));
    }
    let refs: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
    ok(&mut c, &refs);
    assert_eq!(enc(&mut c, "n"), bulk("listpack"));
    ok(&mut c, &["ZADD", "n", "0", "one-more"]);
    assert_eq!(enc(&mut c, "n"), bulk("skiplist"));
    ok(&mut c, &["COPY", "n", "n2"]);
    assert_eq!(enc(&mut c, "n2"), bulk("skiplist"));
    assert_eq!(ok(&mut c, &["ZCARD", "n2"]), int(129));
    // A new key whose first member is long starts as a skiplist.
    ok(&mut c, &["ZADD", "big", "1", &long]);
    assert_eq!(enc(&mut c, "big"), bulk("skiplist"));
    // -0 is stored as 0 in a listpack but keeps its sign in a skiplist (Redis 7.0).
    ok(&mut c, &["ZADD", "z0", "-0", "m"]);
    assert_eq!(ok(&mut c, &["ZSCORE", "z0", "m"]), bulk("0"));
    ok(&mut c, &["ZADD", "big", "-0", "m"]);
    assert_eq!(ok(&mut c, &["ZSCORE", "big", "m"]), bulk("-0"));
}

#[test]
fn zscan_small_and_big() {
    let s = server();
    let mut c = s.conn();
    ok(&mut c, &["ZADD", "z", "1", "a", "2", "b", "1.5", "ab"]);
    // A compact zset comes back whole, in order, whatever the cursor and COUNT.
    let whole = Value::Array(vec![bulk("0"), bulks(&["a", "1", "ab", "1.5", "b", "2"])]);
    assert_eq!(ok(&mut c, &["ZSCAN", "z", "0"]), whole);
    assert_eq!(ok(&mut c, &["ZSCAN", "z", "7", "COUNT", "1"]), whole);
    assert_eq!(
        ok(&mut c, &["ZSCAN", "z", "0", "MATCH", "a*"]),
        Value::Array(vec![bulk("0"), bulks(&["a", "1", "ab", "1.5"])])
    );
    assert_eq!(
        ok(&mut c, &["ZSCAN", "nokey", "0"]),
        Value::Array(vec![bulk("0"), bulks(&[])])
    );
    assert_eq!(err(&mut c, &["ZSCAN", "z", "x"]), "ERR invalid cursor");
    assert_eq!(err(&mut c, &["ZSCAN", "z", "0", "COUNT", "0"]), SYNTAX);
    assert_eq!(err(&mut c, &["ZSCAN", "z", "0", "COUNT", "x"]), NOT_INT);
    assert_eq!(err(&mut c, &["ZSCAN", "z", "0", "TYPE", "zset"]), SYNTAX);
    assert_eq!(err(&mut c, &["ZSCAN", "z", "0", "MATCH"]), SYNTAX);
    // Options are only checked for an existing zset, as in Redis.
    assert_eq!(
        ok(&mut c, &["ZSCAN", "nokey", "0", "COUNT", "0"]),
        Value::Array(vec![bulk("0"), bulks(&[])])
    );
    ok(&mut c, &["SET", "str", "v"]);
    assert_eq!(err(&mut c, &["ZSCAN", "str", "0"]), WRONGTYPE);

    // A big zset is scanned incrementally: bounded batches, every member once at least.
    let n = 5000;
    load(&s, "big", n, |i| format!("member:{i}"), |i| i as f64);
    let mut cursor = "0".to_string();
    let mut seen = std::collections::HashMap::new();
    let mut calls = 0;
    loop {
        let Value::Array(parts) = ok(&mut c, &["ZSCAN", "big", &cursor, "COUNT", "100"]) else {
            panic!()
        };
        let (Value::BulkString(next), Value::Array(items)) = (&parts[0], &parts[1]) else {
            panic!()
        };
        assert!(items.len() <= 2 * 100, "batch of {}", items.len() / 2);
        for pair in items.chunks(2) {
            let (Value::BulkString(m), Value::BulkString(score)) = (&pair[0], &pair[1]) else {
                panic!()
            };
            let m = String::from_utf8(m.clone()).unwrap();
            let Some(i) = m.strip_prefix("member:") else {
                continue;
            };
            let i: usize = i.parse().unwrap();
            assert_eq!(score, i.to_string().as_bytes());
            seen.insert(m, ());
        }
        calls += 1;
        // Churn between calls: members come and go; the original ones must all be seen.
        ok(&mut c, &["ZADD", "big", "1", &format!("temp:{calls}")]);
        ok(&mut c, &["ZREM", "big", &format!("temp:{}", calls / 2)]);
        cursor = String::from_utf8(next.clone()).unwrap();
        if cursor == "0" {
            break;
        }
        assert!(calls < 1000);
    }
    assert!(calls >= n / 100, "{calls} calls");
    for i in 0..n {
        assert!(
            seen.contains_key(&format!("member:{i}")),
            "member:{i} missing"
        );
    }
}

/// A raw RESP connection returning each reply's exact bytes.
struct RespConn {
    r: BufReader<TcpStream>,
}

impl RespConn {
    fn new(port: u16) -> RespConn {
        let s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        RespConn {
            r: BufReader::new(s),
        }
    }

    fn call(&mut self, args: &[&[u8]]) -> Vec<u8> {
        let mut req = format!("*{}\r\n", args.len()).into_bytes();
        for a in args {
            req.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
            req.extend_from_slice(a);
            req.extend_from_slice(b"\r\n");
        }
        self.r.get_mut().write_all(&req).unwrap();
        let mut out = Vec::new();
        self.read_reply(&mut out);
        out
    }

    fn read_reply(&mut self, out: &mut Vec<u8>) {
        let start = out.len();
        self.r.read_until(b'\n', out).unwrap();
        let line = out[start..].to_vec();
        let n: i64 = std::str::from_utf8(&line[1..line.len() - 2])
            .unwrap_or("0")
            .parse()
            .unwrap_or(0);
        match line[0] {
            b'$' | b'=' | b'!' if n >= 0 => {
                let mut data = vec![0; n as usize + 2];
                self.r.read_exact(&mut data).unwrap();
                out.extend_from_slice(&data);
            }
            b'*' | b'~' | b'>' => (0..n.max(0)).for_each(|_| self.read_reply(out)),
            b'%' | b'|' => (0..2 * n.max(0)).for_each(|_| self.read_reply(out)),
            _ => {}
        }
    }
}

fn cmd(line: &str) -> Vec<&[u8]> {
    line.split(' ').map(|a| a.as_bytes()).collect()
}

/// RESP3 reply shapes, byte for byte.
#[test]
fn resp3_reply_shapes() {
    let s = server();
    let mut c = RespConn::new(s.port);
    c.call(&cmd("HELLO 3"));
    let cases: &[(&str, &[u8])] = &[
        ("ZADD z 1 a 2.5 b", b":2\r\n"),
        (
            "ZRANGE z 0 -1 WITHSCORES",
            b"*2\r\n*2\r\n$1\r\na\r\n,1\r\n*2\r\n$1\r\nb\r\n,2.5\r\n",
        ),
        ("ZRANGE z 0 -1", b"*2\r\n$1\r\na\r\n$1\r\nb\r\n"),
        ("ZSCORE z b", b",2.5\r\n"),
        ("ZSCORE z x", b"_\r\n"),
        ("ZMSCORE z a x", b"*2\r\n,1\r\n_\r\n"),
        ("ZINCRBY z 1 a", b",2\r\n"),
        ("ZADD z XX INCR 1 q", b"_\r\n"),
        ("ZRANK z q", b"_\r\n"),
        ("ZRANK z a WITHSCORE", b"*2\r\n:0\r\n,2\r\n"),
        ("ZRANK z q WITHSCORE", b"_\r\n"),
        (
            "ZUNION 1 z WITHSCORES",
            b"*2\r\n*2\r\n$1\r\na\r\n,2\r\n*2\r\n$1\r\nb\r\n,2.5\r\n",
        ),
        (
            "ZSCAN z 0",
            b"*2\r\n$1\r\n0\r\n*4\r\n$1\r\na\r\n$1\r\n2\r\n$1\r\nb\r\n$3\r\n2.5\r\n",
        ),
        (
            "ZRANDMEMBER z 5 WITHSCORES",
            b"*2\r\n*2\r\n$1\r\nb\r\n,2.5\r\n*2\r\n$1\r\na\r\n,2\r\n",
        ),
        ("ZRANDMEMBER nokey", b"_\r\n"),
        ("ZPOPMIN z", b"*2\r\n$1\r\na\r\n,2\r\n"),
        ("ZADD z 1 a", b":1\r\n"),
        ("ZPOPMAX z 1", b"*1\r\n*2\r\n$1\r\nb\r\n,2.5\r\n"),
        (
            "ZMPOP 1 z MIN",
            b"*2\r\n$1\r\nz\r\n*1\r\n*2\r\n$1\r\na\r\n,1\r\n",
        ),
        ("ZMPOP 1 z MIN", b"_\r\n"),
        ("ZADD z inf i -inf j", b":2\r\n"),
        (
            "ZRANGE z 0 -1 WITHSCORES",
            b"*2\r\n*2\r\n$1\r\nj\r\n,-inf\r\n*2\r\n$1\r\ni\r\n,inf\r\n",
        ),
    ];
    for (line, want) in cases {
        let got = c.call(&cmd(line));
        assert_eq!(
            String::from_utf8_lossy(&got),
            String::from_utf8_lossy(want),
            "{line}"
        );
    }
}

/// Big (skiplist) zsets against a real redis-server, on inputs where Redis is deterministic:
/// every range form, ranks, counts, removals, pops, stores, RESP2 and RESP3.
#[test]
fn big_zsets_match_redis() {
    let Some(oracle) = Server::start_redis() else {
        println!("skipped: redis-server not found");
        return;
    };
    let s = server();
    let n = 3000;
    for srv in [&s, &oracle] {
        // Scores with ties (so members break them), and an equal-score zset for lex ranges.
        load(
            srv,
            "z",
            n,
            |i| format!("m{:05}", (i * 7919) % n),
            |i| ((i * 31) % 500) as f64 / 4.0,
        );
        load(
            srv,
            "lex",
            n,
            |i| format!("w{:05}", (i * 7919) % n),
            |_| 0.0,
        );
        load(
            srv,
            "other",
            n / 2,
            |i| format!("m{:05}", i * 2),
            |i| i as f64,
        );
    }
    let script = [
        "OBJECT ENCODING z",
        "ZCARD z",
        "ZRANGE z 0 20 WITHSCORES",
        "ZRANGE z -30 -1",
        "ZRANGE z 1000 1040 REV WITHSCORES",
        "ZRANGE z 10 (20.5 BYSCORE LIMIT 5 30 WITHSCORES",
        "ZRANGE z (50 -inf BYSCORE REV LIMIT 0 25",
        "ZRANGEBYSCORE z 100 100.25 WITHSCORES",
        "ZREVRANGEBYSCORE z +inf 120 LIMIT 3 7",
        "ZCOUNT z 10 (99.75",
        "ZCOUNT z -inf +inf",
        "ZRANK z m00007",
        "ZREVRANK z m00007",
        "ZRANK z m02999",
        "ZSCORE z m01234",
        "ZRANGE lex [w01000 (w01050 BYLEX",
        "ZRANGE lex + [w02900 BYLEX REV LIMIT 10 20",
        "ZRANGEBYLEX lex - (w00030",
        "ZREVRANGEBYLEX lex [w00100 [w00010 LIMIT 0 5",
        "ZLEXCOUNT lex [w00500 [w01500",
        "ZLEXCOUNT lex - +",
        "ZUNIONSTORE u 2 z other WEIGHTS 1 2",
        "ZRANGE u 0 50 WITHSCORES",
        "ZINTERSTORE i 2 z other AGGREGATE MAX",
        "ZRANGE i 500 560 WITHSCORES",
        "OBJECT ENCODING i",
        "ZDIFFSTORE d 2 z other",
        "ZRANGE d 0 30 WITHSCORES",
        "ZINTERCARD 2 z other",
        "ZINTERCARD 2 z other LIMIT 100",
        "ZUNION 2 z other WITHSCORES",
        "ZRANGESTORE r z 100 399",
        "OBJECT ENCODING r",
        "ZRANGESTORE r z 100 150 BYSCORE LIMIT 10 100",
        "OBJECT ENCODING r",
        "ZRANGE r 0 -1 WITHSCORES",
        "ZRANDMEMBER other 5000 WITHSCORES",
        "ZREMRANGEBYRANK z 100 199",
        "ZREMRANGEBYSCORE z (30 40",
        "ZREMRANGEBYLEX lex [w01000 (w02000",
        "ZRANGE lex 990 1010",
        "ZPOPMIN z 5",
        "ZPOPMAX z",
        "ZMPOP 2 nokey z MAX COUNT 3",
        "ZRANGE z 0 -1 WITHSCORES",
        "ZADD z INCR 1000 m00003",
        "ZRANK z m00003",
        "ZADD z GT CH 1 m00004 5000 m00005",
        "ZRANGE z -3 -1 WITHSCORES",
        "HELLO 3",
        "ZRANGE z 0 5 WITHSCORES",
        "ZPOPMIN z 2",
        "ZSCORE z m00005",
    ];
    let mut a = RespConn::new(s.port);
    let mut b = RespConn::new(oracle.port);
    for line in script {
        let (got, want) = (a.call(&cmd(line)), b.call(&cmd(line)));
        if line.starts_with("HELLO") {
            continue;
        }
        assert!(
            !want.starts_with(b"-"),
            "{line}: {}",
            String::from_utf8_lossy(&want)
        );
        assert!(
            want.len() > 4 || want.starts_with(b":"),
            "{line}: trivial reply"
        );
        assert!(
            got == want,
            "{line}\n  ferrokv: {}\n  redis:   {}",
            String::from_utf8_lossy(&got),
            String::from_utf8_lossy(&want)
        );
    }
    // ZSCAN: the same members and scores, whatever the order.
    let scan_all = |c: &mut RespConn| -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        let mut cursor = b"0".to_vec();
        loop {
            let reply = c.call(&[b"ZSCAN", b"z", &cursor, b"COUNT", b"50"]);
            // Parse `*2 $n cursor *m items...` loosely: split lines.
            let text = reply;
            let lines: Vec<&[u8]> = text
                .split(|&c| c == b'\n')
                .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
                .collect();
            cursor = lines[2].to_vec();
            let items: Vec<&[u8]> = lines[4..].iter().skip(1).step_by(2).copied().collect();
            for pair in items.chunks(2) {
                if pair.len() == 2 {
                    out.push([pair[0], b" ", pair[1]].concat());
                }
            }
            if cursor == b"0" {
                break;
            }
        }
        out.sort();
        out.dedup();
        out
    };
    assert_eq!(scan_all(&mut a), scan_all(&mut b));
}

/// Concurrent read-modify-writes across keys must not lose updates: each thread repeatedly
/// folds its own zset into a shared accumulator with `ZUNIONSTORE acc 2 acc mine`.
#[test]
fn multi_key_commands_are_atomic() {
    let s = Server::start(&["--threads", "4"]);
    let threads = 4;
    let rounds = 150;
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let mut c = s.conn();
            std::thread::spawn(move || {
                for r in 0..rounds {
                    let mine = format!("mine{t}");
                    ok(&mut c, &["ZADD", &mine, "1", &format!("t{t}r{r}")]);
                    ok(&mut c, &["ZUNIONSTORE", "acc", "2", "acc", &mine]);
                    // ZMPOP moves nothing out of acc: it pops from the thread's own zset.
                    ok(&mut c, &["ZMPOP", "1", &mine, "MIN"]);
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let mut c = s.conn();
    assert_eq!(ok(&mut c, &["ZCARD", "acc"]), int(threads * rounds));
}

/// DEL of a million-member zset returns at once (the memory is freed on the lazyfree thread),
/// and the same connection's next command is answered promptly. Freeing such a zset inline
/// takes tens of milliseconds; the best of three deletions must stay well below that.
#[test]
fn deleting_a_huge_zset_keeps_the_loop_responsive() {
    let s = Server::start(&["--threads", "1"]);
    let n = 1_000_000;
    load(
        &s,
        "huge",
        n,
        |i| format!("a-longer-member-name:{i:09}"),
        |i| (i % 1000) as f64,
    );
    let mut c = s.conn();
    assert_eq!(ok(&mut c, &["ZCARD", "huge"]), int(n as i64));
    assert_eq!(
        ok(&mut c, &["OBJECT", "ENCODING", "huge"]),
        bulk("skiplist")
    );
    assert_eq!(ok(&mut c, &["COPY", "huge", "huge2"]), int(1));
    assert_eq!(ok(&mut c, &["COPY", "huge", "huge3"]), int(1));
    let mut raw = TcpStream::connect(("127.0.0.1", s.port)).unwrap();
    raw.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut best = Duration::MAX;
    for key in ["huge", "huge2", "huge3"] {
        let t = Instant::now();
        let req = format!(
            "*2\r\n$3\r\nDEL\r\n${}\r\n{key}\r\n*1\r\n$4\r\nPING\r\n",
            key.len()
        );
        raw.write_all(req.as_bytes()).unwrap();
        let mut buf = [0u8; 11];
        raw.read_exact(&mut buf).unwrap();
        best = best.min(t.elapsed());
        assert_eq!(&buf, b":1\r\n+PONG\r\n");
    }
    assert!(best < Duration::from_millis(10), "DEL + PING took {best:?}");
    assert_eq!(ok(&mut c, &["EXISTS", "huge", "huge2", "huge3"]), int(0));
}

/// The seeded big-zset differential's argument source.
struct Rng(common::splitmix::SplitMix64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0.next_u64() % n
    }

    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo + 1) as u64) as i64
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

/// Seeded random command sequences on big (skiplist) zsets, replies compared byte for byte
/// with a real redis-server: `s` has scores with many ties, `l` equal scores (so lexicographic
/// ranges are defined). Covers every range form with REV/LIMIT/WITHSCORES, counts, ranks,
/// removals, pops, stores (and their encodings) and updates.
#[test]
fn random_big_zset_sequences_match_redis() {
    let Some(oracle) = Server::start_redis() else {
        println!("skipped: redis-server not found");
        return;
    };
    let s = server();
    let mut a = RespConn::new(s.port);
    let mut b = RespConn::new(oracle.port);
    let seeds = std::env::var("FERROKV_ZSET_SEEDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(12u64);
    for seed in 1..=seeds {
        let mut g = Rng(common::splitmix::SplitMix64(seed));
        let n = [200i64, 1000, 3000][g.below(3) as usize];
        let mut both = |args: Vec<String>| {
            let refs: Vec<&[u8]> = args.iter().map(|x| x.as_bytes()).collect();
            let (got, want) = (a.call(&refs), b.call(&refs));
            assert!(
                got == want,
                "seed {seed}: {args:?}\n  ferrokv: {}\n  redis:   {}",
                String::from_utf8_lossy(&got[..got.len().min(400)]),
                String::from_utf8_lossy(&want[..want.len().min(400)])
            );
        };
        let sv = |v: &[&str]| -> Vec<String> { v.iter().map(|x| x.to_string()).collect() };
        both(sv(&["FLUSHALL"]));
        let member = |g: &mut Rng| format!("m{:05}", g.below(2 * n as u64));
        let score = |g: &mut Rng| format!("{}", g.range(0, 60) as f64 / 4.0);
        for (key, lex) in [("s", false), ("l", true)] {
            let mut start = 0;
            while start < n {
                let mut args = sv(&["ZADD", key]);
                for _ in start..(start + 500).min(n) {
                    args.push(if lex { "0".into() } else { score(&mut g) });
                    args.push(member(&mut g));
                }
                both(args);
                start += 500;
            }
        }
        for _ in 0..300 {
            let sb = |g: &mut Rng| match g.below(5) {
                0 => "-inf".to_string(),
                1 => "+inf".to_string(),
                2 => format!("({}", g.range(-1, 16)),
                3 => format!("{}", g.range(0, 60) as f64 / 4.0),
                _ => format!("{}", g.range(-1, 16)),
            };
            let lb = |g: &mut Rng| match g.below(5) {
                0 => "-".to_string(),
                1 => "+".to_string(),
                2 => format!("({}", member(g)),
                _ => format!("[{}", member(g)),
            };
            let rank = |g: &mut Rng| g.range(-n - 5, n + 5).to_string();
            let mut tail = Vec::new();
            if g.chance(40) {
                tail.extend(sv(&["LIMIT"]));
                tail.push(g.range(-1, n).to_string());
                tail.push(g.pick(&["-1", "0", "1", "5", "50", "100000"]).to_string());
            }
            let rev = if g.chance(50) {
                vec!["REV".to_string()]
            } else {
                vec![]
            };
            let ws = if g.chance(50) {
                vec!["WITHSCORES".to_string()]
            } else {
                vec![]
            };
            let key = g.pick(&["s", "l"]).to_string();
            let mut args = match g.below(15) {
                0 => [
                    sv(&["ZRANGE", "s"]),
                    vec![rank(&mut g), rank(&mut g)],
                    rev,
                    ws,
                ]
                .concat(),
                1 => [
                    sv(&["ZRANGE", "s"]),
                    vec![sb(&mut g), sb(&mut g)],
                    sv(&["BYSCORE"]),
                    rev,
                    tail,
                    ws,
                ]
                .concat(),
                2 => [
                    sv(&["ZRANGE", "l"]),
                    vec![lb(&mut g), lb(&mut g)],
                    sv(&["BYLEX"]),
                    rev,
                    tail,
                ]
                .concat(),
                3 => [
                    vec![
                        g.pick(&["ZRANGEBYSCORE", "ZREVRANGEBYSCORE"]).to_string(),
                        "s".into(),
                        sb(&mut g),
                        sb(&mut g),
                    ],
                    ws,
                    tail,
                ]
                .concat(),
                4 => [
                    vec![
                        g.pick(&["ZRANGEBYLEX", "ZREVRANGEBYLEX"]).to_string(),
                        "l".into(),
                        lb(&mut g),
                        lb(&mut g),
                    ],
                    tail,
                ]
                .concat(),
                5 => vec!["ZCOUNT".into(), "s".into(), sb(&mut g), sb(&mut g)],
                6 => vec!["ZLEXCOUNT".into(), "l".into(), lb(&mut g), lb(&mut g)],
                7 => vec![
                    g.pick(&["ZRANK", "ZREVRANK"]).to_string(),
                    key,
                    member(&mut g),
                ],
                8 => {
                    let mut v = vec!["ZADD".to_string(), key.clone()];
                    for _ in 0..g.range(1, 20) {
                        v.push(if key == "l" {
                            "0".into()
                        } else {
                            score(&mut g)
                        });
                        v.push(member(&mut g));
                    }
                    v
                }
                9 => [
                    vec!["ZREM".to_string(), key],
                    (0..5).map(|_| member(&mut g)).collect(),
                ]
                .concat(),
                10 => vec![
                    "ZREMRANGEBYRANK".into(),
                    key,
                    rank(&mut g),
                    (g.range(-n, n) / 20).to_string(),
                ],
                11 => vec!["ZREMRANGEBYLEX".into(), "l".into(), lb(&mut g), lb(&mut g)],
                12 => vec![
                    g.pick(&["ZPOPMIN", "ZPOPMAX"]).to_string(),
                    key,
                    g.range(0, 5).to_string(),
                ],
                13 => vec![
                    "ZINCRBY".into(),
                    "s".into(),
                    format!("{}", g.range(-8, 8) as f64 / 4.0),
                    member(&mut g),
                ],
                _ => {
                    let op = g.pick(&["ZUNIONSTORE", "ZINTERSTORE", "ZDIFFSTORE"]);
                    let mut v = vec![op.to_string(), "d".into(), "2".into()];
                    v.push(g.pick(&["s", "l"]).into());
                    v.push(g.pick(&["s", "l"]).into());
                    if op != "ZDIFFSTORE" {
                        v.extend(sv(g
                            .pick(&["", "WEIGHTS 2 0.5", "AGGREGATE MAX", "AGGREGATE MIN"])
                            .split_whitespace()
                            .collect::<Vec<_>>()
                            .as_slice()));
                    }
                    both(v);
                    both(sv(&["OBJECT", "ENCODING", "d"]));
                    sv(&["ZRANGE", "d", "0", "-1", "WITHSCORES"])
                }
            };
            if g.chance(3) {
                args = vec![
                    "ZRANDMEMBER".into(),
                    "s".into(),
                    "100000".into(),
                    "WITHSCORES".into(),
                ];
            }
            both(args);
        }
        for key in ["s", "l"] {
            both(sv(&["ZRANGE", key, "0", "-1", "WITHSCORES"]));
            both(sv(&["OBJECT", "ENCODING", key]));
        }
    }
}
