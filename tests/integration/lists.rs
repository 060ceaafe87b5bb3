//! List commands end to end, through the `redis` crate (and raw sockets where the reply shape
//! matters: `*-1` vs `$-1` vs `*0`, RESP3 nulls) against the real binary: every command and
//! error path, TTL and keyspace interplay, a 1M-element list (index access, range replies, a
//! DEL that leaves the loop responsive), LMOVE/RPOPLPUSH/LMPOP atomicity under concurrency,
//! and a scripted comparison with a real redis-server when one is installed.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::common::{self, bulk, err, ok, run, Server, NOT_INT, SYNTAX, WRONGTYPE};
use redis::Value;

fn bulks(items: &[&str]) -> Value {
    Value::Array(items.iter().map(|s| bulk(s)).collect())
}

fn ints(items: &[i64]) -> Value {
    Value::Array(items.iter().map(|&n| Value::Int(n)).collect())
}

fn server() -> Server {
    Server::start(&["--threads", "2"])
}

fn all(c: &mut redis::Connection, key: &str) -> Value {
    ok(c, &["LRANGE", key, "0", "-1"])
}

const NOT_POSITIVE: &str = "ERR value is out of range, must be positive";
const RANK_ZERO: &str = "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list";

#[test]
fn push_pop_and_length() {
    let s = server();
    let mut c = s.conn();
    assert_eq!(ok(&mut c, &["RPUSH", "l", "a", "b"]), Value::Int(2));
    assert_eq!(ok(&mut c, &["LPUSH", "l", "x", "y"]), Value::Int(4));
    assert_eq!(all(&mut c, "l"), bulks(&["y", "x", "a", "b"]));
    assert_eq!(ok(&mut c, &["LPUSHX", "l", "z"]), Value::Int(5));
    assert_eq!(ok(&mut c, &["RPUSHX", "l", "e1", "e2"]), Value::Int(7));
    assert_eq!(ok(&mut c, &["LPUSHX", "nokey", "z"]), Value::Int(0));
    assert_eq!(ok(&mut c, &["RPUSHX", "nokey", "z"]), Value::Int(0));
    assert_eq!(ok(&mut c, &["EXISTS", "nokey"]), Value::Int(0));
    assert_eq!(ok(&mut c, &["LLEN", "l"]), Value::Int(7));
    assert_eq!(ok(&mut c, &["LLEN", "nokey"]), Value::Int(0));

    assert_eq!(ok(&mut c, &["LPOP", "l"]), bulk("z"));
    assert_eq!(ok(&mut c, &["RPOP", "l"]), bulk("e2"));
    assert_eq!(ok(&mut c, &["LPOP", "l", "2"]), bulks(&["y", "x"]));
    assert_eq!(ok(&mut c, &["RPOP", "l", "2"]), bulks(&["e1", "b"]));
    assert_eq!(ok(&mut c, &["LPOP", "l", "0"]), Value::Array(vec![]));
    assert_eq!(ok(&mut c, &["RPOP", "l", "100"]), bulks(&["a"]));
    // Emptied lists are deleted.
    assert_eq!(ok(&mut c, &["EXISTS", "l"]), Value::Int(0));
    assert_eq!(ok(&mut c, &["LPOP", "l"]), Value::Nil);
    assert_eq!(ok(&mut c, &["LPOP", "l", "3"]), Value::Nil);

    // The count is checked before the key, and the arity beyond it.
    for bad in ["-1", "abc", "", "1.5", "-9223372036854775808"] {
        assert_eq!(err(&mut c, &["LPOP", "l", bad]), NOT_POSITIVE, "{bad}");
        assert_eq!(err(&mut c, &["RPOP", "l", bad]), NOT_POSITIVE, "{bad}");
    }
    assert_eq!(
        err(&mut c, &["LPOP", "l", "1", "2"]),
        "ERR wrong number of arguments for 'lpop' command"
    );
    assert_eq!(
        err(&mut c, &["RPOP", "l", "1", "2"]),
        "ERR wrong number of arguments for 'rpop' command"
    );
    assert_eq!(
        err(&mut c, &["LPUSH", "l"]),
        "ERR wrong number of arguments for 'lpush' command"
    );

    // Binary-safe elements, including empty ones.
    let mut cmd = redis::cmd("RPUSH");
    cmd.arg("bin")
        .arg(&b"\x00\r\n\xff"[..])
        .arg("")
        .arg(vec![7u8; 300]);
    assert_eq!(cmd.query::<i64>(&mut c).unwrap(), 3);
    let got: Vec<Vec<u8>> = redis::cmd("LRANGE")
        .arg("bin")
        .arg(0)
        .arg(-1)
        .query(&mut c)
        .unwrap();
    assert_eq!(got, vec![b"\x00\r\n\xff".to_vec(), vec![], vec![7u8; 300]]);
}

#[test]
fn every_command_answers_wrongtype_on_a_string() {
    let s = server();
    let mut c = s.conn();
    ok(&mut c, &["SET", "s", "v"]);
    ok(&mut c, &["RPUSH", "l", "a"]);
    for args in [
        &["LPUSH", "s", "a"][..],
        &["RPUSH", "s", "a"],
        &["LPUSHX", "s", "a"],
        &["RPUSHX", "s", "a"],
        &["LPOP", "s"],
        &["RPOP", "s"],
        &["LPOP", "s", "0"],
        &["LLEN", "s"],
        &["LRANGE", "s", "0", "-1"],
        &["LINDEX", "s", "0"],
        &["LINDEX", "s", "abc"],
        &["LSET", "s", "0", "x"],
        &["LSET", "s", "abc", "x"],
        &["LINSERT", "s", "BEFORE", "a", "b"],
        &["LREM", "s", "0", "a"],
        &["LTRIM", "s", "0", "1"],
        &["LPOS", "s", "a"],
        &["LMOVE", "s", "l", "LEFT", "LEFT"],
        &["LMOVE", "l", "s", "LEFT", "LEFT"],
        &["RPOPLPUSH", "s", "l"],
        &["RPOPLPUSH", "l", "s"],
        &["LMPOP", "2", "missing", "s", "LEFT"],
    ] {
        assert_eq!(err(&mut c, args), WRONGTYPE, "{args:?}");
    }
    // Nothing moved on a WRONGTYPE destination; the string is untouched.
    assert_eq!(all(&mut c, "l"), bulks(&["a"]));
    assert_eq!(ok(&mut c, &["GET", "s"]), bulk("v"));
    // A list met before the string is popped without looking at the string.
    assert_eq!(
        ok(&mut c, &["LMPOP", "2", "l", "s", "LEFT"]),
        Value::Array(vec![bulk("l"), bulks(&["a"])])
    );
    // Errors parsed before the lookup win over WRONGTYPE.
    assert_eq!(err(&mut c, &["LPOP", "s", "-1"]), NOT_POSITIVE);
    assert_eq!(err(&mut c, &["LRANGE", "s", "a", "0"]), NOT_INT);
    assert_eq!(err(&mut c, &["LTRIM", "s", "0", "a"]), NOT_INT);
    assert_eq!(err(&mut c, &["LREM", "s", "a", "x"]), NOT_INT);
    assert_eq!(err(&mut c, &["LINSERT", "s", "NEAR", "a", "b"]), SYNTAX);
    assert_eq!(err(&mut c, &["LPOS", "s", "a", "RANK", "0"]), RANK_ZERO);
    assert_eq!(err(&mut c, &["LMOVE", "s", "l", "UP", "LEFT"]), SYNTAX);
}

#[test]
fn range_index_set_and_trim() {
    let s = server();
    let mut c = s.conn();
    ok(&mut c, &["RPUSH", "l", "a", "b", "c", "d", "e"]);
    for (start, stop, want) in [
        ("0", "-1", &["a", "b", "c", "d", "e"][..]),
        ("1", "2", &["b", "c"]),
        ("-2", "-1", &["d", "e"]),
        ("-100", "1", &["a", "b"]),
        ("3", "100", &["d", "e"]),
        ("3", "1", &[]),
        ("5", "10", &[]),
        ("-1", "-2", &[]),
        (
            "-9223372036854775808",
            "9223372036854775807",
            &["a", "b", "c", "d", "e"],
        ),
        ("9223372036854775807", "-9223372036854775808", &[]),
    ] {
        assert_eq!(
            ok(&mut c, &["LRANGE", "l", start, stop]),
            bulks(want),
            "{start} {stop}"
        );
    }
    assert_eq!(ok(&mut c, &["LRANGE", "nokey", "0", "-1"]), bulks(&[]));
    assert_eq!(err(&mut c, &["LRANGE", "l", "0", "x"]), NOT_INT);
    assert_eq!(err(&mut c, &["LRANGE", "nokey", "x", "0"]), NOT_INT);

    assert_eq!(ok(&mut c, &["LINDEX", "l", "0"]), bulk("a"));
    assert_eq!(ok(&mut c, &["LINDEX", "l", "-1"]), bulk("e"));
    assert_eq!(ok(&mut c, &["LINDEX", "l", "5"]), Value::Nil);
    assert_eq!(ok(&mut c, &["LINDEX", "l", "-6"]), Value::Nil);
    assert_eq!(
        ok(&mut c, &["LINDEX", "l", "-9223372036854775808"]),
        Value::Nil
    );
    assert_eq!(ok(&mut c, &["LINDEX", "nokey", "abc"]), Value::Nil);
    assert_eq!(err(&mut c, &["LINDEX", "l", "abc"]), NOT_INT);

    assert_eq!(ok(&mut c, &["LSET", "l", "0", "A"]), Value::Okay);
    assert_eq!(ok(&mut c, &["LSET", "l", "-1", "E"]), Value::Okay);
    assert_eq!(
        ok(&mut c, &["LSET", "l", "2", "a longer value than c"]),
        Value::Okay
    );
    assert_eq!(
        all(&mut c, "l"),
        bulks(&["A", "b", "a longer value than c", "d", "E"])
    );
    assert_eq!(
        err(&mut c, &["LSET", "l", "5", "x"]),
        "ERR index out of range"
    );
    assert_eq!(
        err(&mut c, &["LSET", "l", "-6", "x"]),
        "ERR index out of range"
    );
    assert_eq!(err(&mut c, &["LSET", "l", "x", "x"]), NOT_INT);
    assert_eq!(err(&mut c, &["LSET", "nokey", "0", "x"]), "ERR no such key");
    assert_eq!(err(&mut c, &["LSET", "nokey", "x", "x"]), "ERR no such key");

    assert_eq!(ok(&mut c, &["LTRIM", "l", "1", "-2"]), Value::Okay);
    assert_eq!(
        all(&mut c, "l"),
        bulks(&["b", "a longer value than c", "d"])
    );
    assert_eq!(ok(&mut c, &["LTRIM", "l", "-100", "100"]), Value::Okay);
    assert_eq!(ok(&mut c, &["LLEN", "l"]), Value::Int(3));
    assert_eq!(ok(&mut c, &["LTRIM", "nokey", "0", "1"]), Value::Okay);
    assert_eq!(ok(&mut c, &["EXISTS", "nokey"]), Value::Int(0));
    assert_eq!(err(&mut c, &["LTRIM", "l", "x", "1"]), NOT_INT);
    // An empty range deletes the key.
    assert_eq!(ok(&mut c, &["LTRIM", "l", "2", "1"]), Value::Okay);
    assert_eq!(ok(&mut c, &["EXISTS", "l"]), Value::Int(0));
}

#[test]
fn insert_remove_and_pos() {
    let s = server();
    let mut c = s.conn();
    ok(&mut c, &["RPUSH", "l", "a", "b", "c", "b", "a"]);
    assert_eq!(
        ok(&mut c, &["LINSERT", "l", "BEFORE", "b", "x"]),
        Value::Int(6)
    );
    assert_eq!(
        ok(&mut c, &["LINSERT", "l", "after", "b", "y"]),
        Value::Int(7)
    );
    assert_eq!(
        all(&mut c, "l"),
        bulks(&["a", "x", "b", "y", "c", "b", "a"])
    );
    assert_eq!(
        ok(&mut c, &["LINSERT", "l", "AFTER", "zz", "y"]),
        Value::Int(-1)
    );
    assert_eq!(
        ok(&mut c, &["LINSERT", "nokey", "AFTER", "a", "y"]),
        Value::Int(0)
    );
    assert_eq!(ok(&mut c, &["EXISTS", "nokey"]), Value::Int(0));
    assert_eq!(err(&mut c, &["LINSERT", "l", "NEAR", "a", "y"]), SYNTAX);
    assert_eq!(err(&mut c, &["LINSERT", "nokey", "NEAR", "a", "y"]), SYNTAX);

    // LPOS: ranks, counts, maxlen; indexes always count from the head.
    assert_eq!(ok(&mut c, &["LPOS", "l", "b"]), Value::Int(2));
    assert_eq!(ok(&mut c, &["LPOS", "l", "b", "RANK", "2"]), Value::Int(5));
    assert_eq!(ok(&mut c, &["LPOS", "l", "b", "RANK", "-1"]), Value::Int(5));
    assert_eq!(ok(&mut c, &["LPOS", "l", "b", "RANK", "3"]), Value::Nil);
    assert_eq!(ok(&mut c, &["LPOS", "l", "zz"]), Value::Nil);
    assert_eq!(ok(&mut c, &["LPOS", "l", "a", "COUNT", "0"]), ints(&[0, 6]));
    assert_eq!(ok(&mut c, &["LPOS", "l", "a", "COUNT", "1"]), ints(&[0]));
    assert_eq!(
        ok(&mut c, &["LPOS", "l", "a", "COUNT", "0", "RANK", "-1"]),
        ints(&[6, 0])
    );
    assert_eq!(
        ok(&mut c, &["LPOS", "l", "a", "COUNT", "0", "MAXLEN", "3"]),
        ints(&[0])
    );
    assert_eq!(
        ok(&mut c, &["LPOS", "l", "a", "RANK", "-1", "MAXLEN", "3"]),
        Value::Int(6)
    );
    assert_eq!(ok(&mut c, &["LPOS", "l", "zz", "COUNT", "2"]), ints(&[]));
    assert_eq!(ok(&mut c, &["LPOS", "nokey", "a"]), Value::Nil);
    assert_eq!(ok(&mut c, &["LPOS", "nokey", "a", "COUNT", "0"]), ints(&[]));
    // Repeated options: the last one wins.
    assert_eq!(
        ok(&mut c, &["LPOS", "l", "a", "RANK", "2", "RANK", "1"]),
        Value::Int(0)
    );
    // RANK i64::MIN cannot be negated; Redis 7.0 then returns every match from the tail.
    assert_eq!(
        ok(
            &mut c,
            &[
                "LPOS",
                "l",
                "a",
                "RANK",
                "-9223372036854775808",
                "COUNT",
                "1"
            ]
        ),
        ints(&[6, 0])
    );
    assert_eq!(err(&mut c, &["LPOS", "l", "a", "RANK", "0"]), RANK_ZERO);
    assert_eq!(err(&mut c, &["LPOS", "l", "a", "RANK", "x"]), NOT_INT);
    for bad in ["-1", "x"] {
        assert_eq!(
            err(&mut c, &["LPOS", "l", "a", "COUNT", bad]),
            "ERR COUNT can't be negative"
        );
        assert_eq!(
            err(&mut c, &["LPOS", "l", "a", "MAXLEN", bad]),
            "ERR MAXLEN can't be negative"
        );
    }
    assert_eq!(err(&mut c, &["LPOS", "l", "a", "RANK"]), SYNTAX);
    assert_eq!(err(&mut c, &["LPOS", "l", "a", "FOO", "1"]), SYNTAX);
    // Options are checked in order: the first bad one answers.
    assert_eq!(
        err(&mut c, &["LPOS", "l", "a", "COUNT", "-1", "RANK", "0"]),
        "ERR COUNT can't be negative"
    );

    // LREM: from the head, from the tail, all.
    ok(&mut c, &["DEL", "r"]);
    ok(&mut c, &["RPUSH", "r", "a", "b", "a", "c", "a", "b", "a"]);
    assert_eq!(ok(&mut c, &["LREM", "r", "2", "a"]), Value::Int(2));
    assert_eq!(all(&mut c, "r"), bulks(&["b", "c", "a", "b", "a"]));
    assert_eq!(ok(&mut c, &["LREM", "r", "-1", "b"]), Value::Int(1));
    assert_eq!(all(&mut c, "r"), bulks(&["b", "c", "a", "a"]));
    assert_eq!(ok(&mut c, &["LREM", "r", "0", "a"]), Value::Int(2));
    assert_eq!(ok(&mut c, &["LREM", "r", "0", "zz"]), Value::Int(0));
    assert_eq!(
        ok(&mut c, &["LREM", "r", "-9223372036854775808", "b"]),
        Value::Int(1)
    );
    assert_eq!(ok(&mut c, &["LREM", "nokey", "1", "a"]), Value::Int(0));
    assert_eq!(err(&mut c, &["LREM", "r", "x", "a"]), NOT_INT);
    assert_eq!(ok(&mut c, &["LREM", "r", "1", "c"]), Value::Int(1));
    assert_eq!(ok(&mut c, &["EXISTS", "r"]), Value::Int(0));
}

#[test]
fn lmove_rpoplpush_and_lmpop() {
    let s = server();
    let mut c = s.conn();
    ok(&mut c, &["RPUSH", "src", "1", "2", "3", "4"]);
    assert_eq!(
        ok(&mut c, &["LMOVE", "src", "dst", "LEFT", "RIGHT"]),
        bulk("1")
    );
    assert_eq!(
        ok(&mut c, &["LMOVE", "src", "dst", "right", "left"]),
        bulk("4")
    );
    assert_eq!(
        ok(&mut c, &["LMOVE", "src", "dst", "LEFT", "LEFT"]),
        bulk("2")
    );
    assert_eq!(
        ok(&mut c, &["LMOVE", "dst", "src", "RIGHT", "RIGHT"]),
        bulk("1")
    );
    assert_eq!(all(&mut c, "src"), bulks(&["3", "1"]));
    assert_eq!(all(&mut c, "dst"), bulks(&["2", "4"]));
    assert_eq!(ok(&mut c, &["RPOPLPUSH", "src", "dst"]), bulk("1"));
    assert_eq!(all(&mut c, "dst"), bulks(&["1", "2", "4"]));
    assert_eq!(ok(&mut c, &["RPOPLPUSH", "src", "new"]), bulk("3"));
    assert_eq!(ok(&mut c, &["EXISTS", "src"]), Value::Int(0));
    assert_eq!(all(&mut c, "new"), bulks(&["3"]));
    assert_eq!(
        ok(&mut c, &["LMOVE", "src", "dst", "LEFT", "LEFT"]),
        Value::Nil
    );
    assert_eq!(ok(&mut c, &["RPOPLPUSH", "src", "dst"]), Value::Nil);
    assert_eq!(err(&mut c, &["LMOVE", "dst", "x", "LEFT", "UP"]), SYNTAX);
    assert_eq!(err(&mut c, &["LMOVE", "dst", "x", "", "LEFT"]), SYNTAX);

    // Same key: a rotation that keeps the key and its TTL, even with one element.
    ok(&mut c, &["EXPIRE", "dst", "1000"]);
    assert_eq!(
        ok(&mut c, &["LMOVE", "dst", "dst", "LEFT", "RIGHT"]),
        bulk("1")
    );
    assert_eq!(all(&mut c, "dst"), bulks(&["2", "4", "1"]));
    assert_eq!(ok(&mut c, &["RPOPLPUSH", "dst", "dst"]), bulk("1"));
    assert_eq!(all(&mut c, "dst"), bulks(&["1", "2", "4"]));
    assert_eq!(
        ok(&mut c, &["LMOVE", "dst", "dst", "LEFT", "LEFT"]),
        bulk("1")
    );
    assert_eq!(all(&mut c, "dst"), bulks(&["1", "2", "4"]));
    assert!(matches!(ok(&mut c, &["TTL", "dst"]), Value::Int(t) if t > 900));
    assert_eq!(ok(&mut c, &["RPUSH", "one", "x"]), Value::Int(1));
    assert_eq!(
        ok(&mut c, &["LMOVE", "one", "one", "RIGHT", "LEFT"]),
        bulk("x")
    );
    assert_eq!(all(&mut c, "one"), bulks(&["x"]));

    // LMPOP: first non-empty key, LEFT/RIGHT, COUNT.
    ok(&mut c, &["DEL", "a", "b"]);
    ok(&mut c, &["RPUSH", "b", "1", "2", "3"]);
    assert_eq!(
        ok(&mut c, &["LMPOP", "2", "a", "b", "LEFT"]),
        Value::Array(vec![bulk("b"), bulks(&["1"])])
    );
    assert_eq!(
        ok(&mut c, &["LMPOP", "2", "a", "b", "right", "count", "5"]),
        Value::Array(vec![bulk("b"), bulks(&["3", "2"])])
    );
    assert_eq!(ok(&mut c, &["EXISTS", "b"]), Value::Int(0));
    assert_eq!(ok(&mut c, &["LMPOP", "2", "a", "b", "LEFT"]), Value::Nil);
    for (args, want) in [
        (
            &["LMPOP", "0", "a", "LEFT"][..],
            "ERR numkeys should be greater than 0",
        ),
        (
            &["LMPOP", "-1", "a", "LEFT"],
            "ERR numkeys should be greater than 0",
        ),
        (
            &["LMPOP", "x", "a", "LEFT"],
            "ERR numkeys should be greater than 0",
        ),
        (&["LMPOP", "2", "a", "LEFT"], SYNTAX),
        (&["LMPOP", "9223372036854775807", "a", "LEFT"], SYNTAX),
        (&["LMPOP", "1", "a", "UP"], SYNTAX),
        (&["LMPOP", "1", "a", "LEFT", "COUNT"], SYNTAX),
        (&["LMPOP", "1", "a", "LEFT", "FOO", "1"], SYNTAX),
        (
            &["LMPOP", "1", "a", "LEFT", "COUNT", "1", "COUNT", "1"],
            SYNTAX,
        ),
        (
            &["LMPOP", "1", "a", "LEFT", "COUNT", "0"],
            "ERR count should be greater than 0",
        ),
        (
            &["LMPOP", "1", "a", "LEFT", "COUNT", "-1"],
            "ERR count should be greater than 0",
        ),
        (
            &["LMPOP", "1", "a", "LEFT", "COUNT", "x"],
            "ERR count should be greater than 0",
        ),
        (
            &["LMPOP", "1", "a"],
            "ERR wrong number of arguments for 'lmpop' command",
        ),
    ] {
        assert_eq!(err(&mut c, args), want, "{args:?}");
    }

    // COMMAND GETKEYS finds LMPOP's movable keys; COMMAND INFO flags them.
    assert_eq!(
        ok(
            &mut c,
            &["COMMAND", "GETKEYS", "LMPOP", "2", "a", "b", "LEFT"]
        ),
        bulks(&["a", "b"])
    );
    assert_eq!(
        err(&mut c, &["COMMAND", "GETKEYS", "LMPOP", "5", "a", "LEFT"]),
        "ERR Invalid arguments specified for command"
    );
    assert_eq!(
        ok(
            &mut c,
            &["COMMAND", "GETKEYS", "LMOVE", "a", "b", "LEFT", "LEFT"]
        ),
        bulks(&["a", "b"])
    );
}

/// Reply shapes the `redis` crate folds together: nil bulk vs nil array vs empty array, in
/// RESP2 and RESP3.
#[test]
fn nil_shapes_on_the_wire() {
    let s = server();
    let mut r = s.raw();
    let cases: &[(&str, &str)] = &[
        ("*3\r\n$5\r\nRPUSH\r\n$1\r\nl\r\n$1\r\na\r\n", ":1\r\n"),
        ("*2\r\n$4\r\nLPOP\r\n$2\r\nno\r\n", "$-1\r\n"),
        ("*3\r\n$4\r\nLPOP\r\n$2\r\nno\r\n$1\r\n1\r\n", "*-1\r\n"),
        ("*3\r\n$4\r\nLPOP\r\n$2\r\nno\r\n$1\r\n0\r\n", "*-1\r\n"),
        ("*3\r\n$4\r\nLPOP\r\n$1\r\nl\r\n$1\r\n0\r\n", "*0\r\n"),
        ("*3\r\n$6\r\nLINDEX\r\n$1\r\nl\r\n$1\r\n5\r\n", "$-1\r\n"),
        ("*3\r\n$4\r\nLPOS\r\n$1\r\nl\r\n$1\r\nz\r\n", "$-1\r\n"),
        (
            "*5\r\n$4\r\nLPOS\r\n$2\r\nno\r\n$1\r\nz\r\n$5\r\nCOUNT\r\n$1\r\n0\r\n",
            "*0\r\n",
        ),
        (
            "*4\r\n$5\r\nLMPOP\r\n$1\r\n1\r\n$2\r\nno\r\n$4\r\nLEFT\r\n",
            "*-1\r\n",
        ),
        (
            "*5\r\n$5\r\nLMOVE\r\n$2\r\nno\r\n$1\r\nl\r\n$4\r\nLEFT\r\n$4\r\nLEFT\r\n",
            "$-1\r\n",
        ),
        (
            "*4\r\n$6\r\nLRANGE\r\n$2\r\nno\r\n$1\r\n0\r\n$2\r\n-1\r\n",
            "*0\r\n",
        ),
        (
            "*4\r\n$5\r\nLMPOP\r\n$1\r\n1\r\n$1\r\nl\r\n$5\r\nRIGHT\r\n",
            "*2\r\n$1\r\nl\r\n*1\r\n$1\r\na\r\n",
        ),
    ];
    for (req, want) in cases {
        r.send(req.as_bytes());
        r.expect(want.as_bytes());
    }
    // RESP3: every nil is `_`.
    let mut c = s.raw();
    c.send(b"*2\r\n$5\r\nHELLO\r\n$1\r\n3\r\n");
    // Skip the HELLO map by syncing on a PING's echo.
    c.send(b"*2\r\n$4\r\nPING\r\n$4\r\nsync\r\n");
    let mut seen = Vec::new();
    while !seen.ends_with(b"$4\r\nsync\r\n") {
        seen.extend(c.read_n(1));
    }
    for (req, want) in [
        ("*2\r\n$4\r\nLPOP\r\n$2\r\nno\r\n", "_\r\n"),
        ("*3\r\n$4\r\nLPOP\r\n$2\r\nno\r\n$1\r\n1\r\n", "_\r\n"),
        (
            "*4\r\n$5\r\nLMPOP\r\n$1\r\n1\r\n$2\r\nno\r\n$4\r\nLEFT\r\n",
            "_\r\n",
        ),
        ("*3\r\n$6\r\nLINDEX\r\n$2\r\nno\r\n$1\r\n0\r\n", "_\r\n"),
        ("*3\r\n$4\r\nLPOS\r\n$2\r\nno\r\n$1\r\nz\r\n", "_\r\n"),
    ] {
        c.send(req.as_bytes());
        c.expect(want.as_bytes());
    }
}

#[test]
fn keyspace_integration() {
    let s = server();
    let mut c = s.conn();
    ok(&mut c, &["RPUSH", "l", "a", "b"]);
    assert_eq!(
        ok(&mut c, &["TYPE", "l"]),
        Value::SimpleString("list".into())
    );
    assert_eq!(ok(&mut c, &["OBJECT", "ENCODING", "l"]), bulk("quicklist"));
    // Pushes and pops keep the TTL; a re-created list has none.
    ok(&mut c, &["EXPIRE", "l", "1000"]);
    ok(&mut c, &["RPUSH", "l", "c"]);
    ok(&mut c, &["LPOP", "l"]);
    ok(&mut c, &["LSET", "l", "0", "x"]);
    ok(&mut c, &["LINSERT", "l", "AFTER", "x", "y"]);
    ok(&mut c, &["LREM", "l", "1", "y"]);
    ok(&mut c, &["LTRIM", "l", "0", "-1"]);
    assert!(matches!(ok(&mut c, &["TTL", "l"]), Value::Int(t) if t > 900));
    ok(&mut c, &["LPOP", "l", "5"]);
    ok(&mut c, &["RPUSH", "l", "z"]);
    assert_eq!(ok(&mut c, &["TTL", "l"]), Value::Int(-1));
    // COPY is a deep copy; RENAME and MOVE carry the list.
    ok(&mut c, &["COPY", "l", "l2"]);
    ok(&mut c, &["RPUSH", "l2", "more"]);
    assert_eq!(all(&mut c, "l"), bulks(&["z"]));
    assert_eq!(all(&mut c, "l2"), bulks(&["z", "more"]));
    ok(&mut c, &["RENAME", "l2", "l3"]);
    assert_eq!(all(&mut c, "l3"), bulks(&["z", "more"]));
    let Value::Array(parts) = ok(&mut c, &["SCAN", "0", "TYPE", "list", "COUNT", "1000"]) else {
        panic!("SCAN reply");
    };
    let Value::Array(keys) = &parts[1] else {
        panic!("SCAN keys");
    };
    let mut keys: Vec<&Value> = keys.iter().collect();
    keys.sort_by_key(|k| format!("{k:?}"));
    assert_eq!(keys, [&bulk("l"), &bulk("l3")]);
    // An expired list is gone for every command.
    ok(&mut c, &["PEXPIRE", "l3", "1"]);
    std::thread::sleep(Duration::from_millis(20));
    assert_eq!(ok(&mut c, &["LLEN", "l3"]), Value::Int(0));
    assert_eq!(ok(&mut c, &["LPUSHX", "l3", "a"]), Value::Int(0));
    // Keyspace hits and misses: reads count, writes do not.
    let stats = |c: &mut redis::Connection| -> (i64, i64) {
        let info: String = redis::cmd("INFO").arg("stats").query(c).unwrap();
        let field = |name: &str| -> i64 {
            info.lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.trim().parse().ok())
                .unwrap()
        };
        (field("keyspace_hits:"), field("keyspace_misses:"))
    };
    let (h0, m0) = stats(&mut c);
    ok(&mut c, &["LLEN", "l"]);
    ok(&mut c, &["LRANGE", "nokey", "0", "1"]);
    ok(&mut c, &["LINDEX", "l", "0"]);
    ok(&mut c, &["LPOS", "nokey", "a"]);
    ok(&mut c, &["RPUSH", "l", "w"]);
    ok(&mut c, &["LPOP", "nokey"]);
    let (h1, m1) = stats(&mut c);
    assert_eq!((h1 - h0, m1 - m0), (2, 2));
}

/// A 1M-element list: index access from both ends and the middle, range replies, trims, and a
/// DEL that leaves the event loop answering at once (the list is freed off the loop).
#[test]
fn million_element_list() {
    let s = Server::start(&["--threads", "1"]);
    let mut c = s.conn();
    const N: usize = 1_000_000;
    let mut pipe = redis::pipe();
    for batch in 0..N / 1000 {
        let mut cmd = redis::cmd("RPUSH");
        cmd.arg("big");
        for i in batch * 1000..(batch + 1) * 1000 {
            cmd.arg(format!("element:{i}"));
        }
        pipe.add_command(cmd).ignore();
    }
    pipe.query::<()>(&mut c).unwrap();
    assert_eq!(ok(&mut c, &["LLEN", "big"]), Value::Int(N as i64));
    for i in [0usize, 1, 4095, N / 2, N / 2 + 1, N - 2, N - 1] {
        let want = format!("element:{i}");
        assert_eq!(ok(&mut c, &["LINDEX", "big", &i.to_string()]), bulk(&want));
        let neg = (i as i64 - N as i64).to_string();
        assert_eq!(ok(&mut c, &["LINDEX", "big", &neg]), bulk(&want));
    }
    let mid: Vec<String> = redis::cmd("LRANGE")
        .arg("big")
        .arg(N / 2)
        .arg(N / 2 + 2)
        .query(&mut c)
        .unwrap();
    assert_eq!(
        mid,
        (N / 2..N / 2 + 3)
            .map(|i| format!("element:{i}"))
            .collect::<Vec<_>>()
    );
    assert_eq!(
        ok(&mut c, &["LSET", "big", &(N / 2).to_string(), "changed"]),
        Value::Okay
    );
    assert_eq!(
        ok(&mut c, &["LPOS", "big", "changed"]),
        Value::Int((N / 2) as i64)
    );
    assert_eq!(
        ok(&mut c, &["LPOS", "big", "changed", "RANK", "-1"]),
        Value::Int((N / 2) as i64)
    );
    assert_eq!(
        ok(&mut c, &["LINSERT", "big", "BEFORE", "changed", "ins"]),
        Value::Int(N as i64 + 1)
    );
    assert_eq!(ok(&mut c, &["LREM", "big", "1", "ins"]), Value::Int(1));
    let all: Vec<Vec<u8>> = redis::cmd("LRANGE")
        .arg("big")
        .arg(0)
        .arg(-1)
        .query(&mut c)
        .unwrap();
    assert_eq!(all.len(), N);
    assert_eq!(all[N - 1], format!("element:{}", N - 1).into_bytes());
    drop(all);

    // DEL returns at once and the loop keeps answering while the list is freed.
    ok(&mut c, &["COPY", "big", "big2"]);
    let started = Instant::now();
    assert_eq!(ok(&mut c, &["DEL", "big"]), Value::Int(1));
    let mut other = s.conn();
    for _ in 0..100 {
        assert_eq!(
            ok(&mut other, &["PING"]),
            Value::SimpleString("PONG".into())
        );
    }
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "DEL of a 1M-element list stalled the loop"
    );
    // LTRIM of almost everything, then the rest popped.
    assert_eq!(ok(&mut c, &["LTRIM", "big2", "10", "-11"]), Value::Okay);
    assert_eq!(ok(&mut c, &["LLEN", "big2"]), Value::Int(N as i64 - 20));
    assert_eq!(ok(&mut c, &["LINDEX", "big2", "0"]), bulk("element:10"));
    assert_eq!(ok(&mut c, &["LTRIM", "big2", "-3", "-1"]), Value::Okay);
    assert_eq!(
        all_of(&mut c, "big2"),
        vec![
            format!("element:{}", N - 13),
            format!("element:{}", N - 12),
            format!("element:{}", N - 11)
        ]
    );
}

fn all_of(c: &mut redis::Connection, key: &str) -> Vec<String> {
    redis::cmd("LRANGE")
        .arg(key)
        .arg(0)
        .arg(-1)
        .query(c)
        .unwrap()
}

/// RPOPLPUSH/LMOVE between lists on different shards, from several loops at once: no element
/// is lost or duplicated (each move is atomic), and LMPOP/LPOP consumers racing a producer see
/// every element exactly once.
#[test]
fn moves_are_atomic_under_concurrency() {
    let s = Server::start(&["--threads", "4"]);
    let mut admin = s.conn();
    const N: usize = 200;
    let keys = ["q:a", "q:b", "q:c"];
    let mut cmd = redis::cmd("RPUSH");
    cmd.arg(keys[0]);
    for i in 0..N {
        cmd.arg(i);
    }
    cmd.query::<()>(&mut admin).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let movers: Vec<_> = (0..4)
        .map(|t| {
            let mut c = s.conn();
            std::thread::spawn(move || {
                for i in 0..2000 {
                    if Instant::now() > deadline {
                        break;
                    }
                    let src = keys[(i + t) % 3];
                    let dst = keys[(i + t + 1 + t % 2) % 3];
                    let _: Option<String> = if i % 2 == 0 {
                        redis::cmd("RPOPLPUSH")
                            .arg(src)
                            .arg(dst)
                            .query(&mut c)
                            .unwrap()
                    } else {
                        redis::cmd("LMOVE")
                            .arg(src)
                            .arg(dst)
                            .arg("LEFT")
                            .arg("RIGHT")
                            .query(&mut c)
                            .unwrap()
                    };
                }
            })
        })
        .collect();
    for m in movers {
        m.join().expect("mover");
    }
    let mut seen: Vec<i64> = Vec::new();
    for k in keys {
        let items: Vec<i64> = redis::cmd("LRANGE")
            .arg(k)
            .arg(0)
            .arg(-1)
            .query(&mut admin)
            .unwrap();
        seen.extend(items);
    }
    seen.sort_unstable();
    assert_eq!(seen, (0..N as i64).collect::<Vec<_>>());

    // One producer, three consumers (LPOP count, RPOP, LMPOP over two keys).
    const M: i64 = 3000;
    let done = Arc::new(AtomicBool::new(false));
    let consumers: Vec<_> = (0..3)
        .map(|t| {
            let mut c = s.conn();
            let done = done.clone();
            std::thread::spawn(move || {
                let mut got: Vec<i64> = Vec::new();
                loop {
                    let finished = done.load(Ordering::SeqCst);
                    let batch: Vec<i64> = match t {
                        0 => redis::cmd("LPOP")
                            .arg("work")
                            .arg(7)
                            .query::<Option<Vec<i64>>>(&mut c)
                            .unwrap()
                            .unwrap_or_default(),
                        1 => redis::cmd("RPOP")
                            .arg("work")
                            .query::<Option<i64>>(&mut c)
                            .unwrap()
                            .into_iter()
                            .collect(),
                        _ => redis::cmd("LMPOP")
                            .arg(2)
                            .arg("other")
                            .arg("work")
                            .arg("LEFT")
                            .arg("COUNT")
                            .arg(3)
                            .query::<Option<(String, Vec<i64>)>>(&mut c)
                            .unwrap()
                            .map(|(_, v)| v)
                            .unwrap_or_default(),
                    };
                    if batch.is_empty() && finished {
                        return got;
                    }
                    got.extend(batch);
                    if Instant::now() > deadline + Duration::from_secs(20) {
                        return got;
                    }
                }
            })
        })
        .collect();
    let mut p = s.conn();
    for i in 0..M {
        let _: i64 = redis::cmd("LPUSH")
            .arg("work")
            .arg(i)
            .query(&mut p)
            .unwrap();
    }
    done.store(true, Ordering::SeqCst);
    let mut all: Vec<i64> = consumers
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    all.sort_unstable();
    assert_eq!(all, (0..M).collect::<Vec<_>>());
}

/// The same script on ferrokv and on a real redis-server, every reply compared.
#[test]
fn scripted_comparison_with_real_redis() {
    let Some(redis) = Server::start_redis() else {
        eprintln!("redis-server not installed; skipping");
        return;
    };
    let ours = server();
    let script: &[&[&str]] = &[
        &["RPUSH", "l", "a", "b", "c", "a", "b", "c", "a"],
        &["LPOS", "l", "a", "RANK", "-9223372036854775808"],
        &[
            "LPOS",
            "l",
            "a",
            "RANK",
            "-9223372036854775808",
            "COUNT",
            "2",
        ],
        &["LPOS", "l", "a", "RANK", "-9223372036854775807"],
        &["LPOS", "l", "c", "RANK", "-2", "COUNT", "0", "MAXLEN", "5"],
        &["LPOS", "l", "a", "COUNT", "2", "RANK", "2"],
        &["LINSERT", "l", "BEFORE", "c", "x"],
        &["LINSERT", "l", "AFTER", "a", "y"],
        &["LREM", "l", "-2", "a"],
        &["LRANGE", "l", "0", "-1"],
        &["LSET", "l", "-3", "z"],
        &["LTRIM", "l", "1", "-2"],
        &["LRANGE", "l", "-100", "100"],
        &["LMOVE", "l", "m", "LEFT", "RIGHT"],
        &["LMOVE", "l", "l", "RIGHT", "LEFT"],
        &["RPOPLPUSH", "l", "m"],
        &["LMPOP", "3", "x", "m", "l", "RIGHT", "COUNT", "2"],
        &["LPOP", "l", "2"],
        &["RPOP", "m", "9"],
        &["LRANGE", "l", "0", "-1"],
        &["LRANGE", "m", "0", "-1"],
        &["EXISTS", "m"],
        &["LPUSH", "n", ""],
        &["LINDEX", "n", "0"],
        &["LPUSHX", "n", "1", "2"],
        &["OBJECT", "ENCODING", "n"],
        &["LPOP", "n", "0"],
    ];
    let mut a = ours.conn();
    let mut b = redis.conn();
    for args in script {
        let x = run(&mut a, args).map_err(|e| common::error_text(&e));
        let y = run(&mut b, args).map_err(|e| common::error_text(&e));
        assert_eq!(x, y, "{args:?}");
    }
}
