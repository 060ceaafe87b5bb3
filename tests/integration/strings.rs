//! String commands end to end, through the `redis` crate against the real binary: replies,
//! exact error texts, TTL interplay, binary safety, size limits, MSET/MGET atomicity under
//! concurrency, and a differential run against a real redis-server when one is installed.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::common::{self, bulk, err, ok, run, Server, NOT_FLOAT, NOT_INT, SYNTAX};
use redis::Value;

fn server() -> Server {
    Server::start(&["--threads", "2"])
}

#[test]
fn set_options_replies_and_errors() {
    let s = server();
    let mut c = s.conn();
    assert_eq!(ok(&mut c, &["SET", "k", "v"]), Value::Okay);
    assert_eq!(ok(&mut c, &["GET", "k"]), bulk("v"));
    assert_eq!(ok(&mut c, &["GET", "missing"]), Value::Nil);

    // NX / XX, with and without GET.
    assert_eq!(ok(&mut c, &["SET", "k", "v2", "NX"]), Value::Nil);
    assert_eq!(ok(&mut c, &["GET", "k"]), bulk("v"));
    assert_eq!(ok(&mut c, &["SET", "k", "v2", "XX"]), Value::Okay);
    assert_eq!(ok(&mut c, &["SET", "new", "v", "XX"]), Value::Nil);
    assert_eq!(ok(&mut c, &["GET", "new"]), Value::Nil);
    assert_eq!(ok(&mut c, &["SET", "k", "v3", "GET"]), bulk("v2"));
    assert_eq!(ok(&mut c, &["SET", "k", "v4", "NX", "GET"]), bulk("v3"));
    assert_eq!(ok(&mut c, &["GET", "k"]), bulk("v3"));
    assert_eq!(ok(&mut c, &["SET", "g", "x", "NX", "GET"]), Value::Nil);
    assert_eq!(ok(&mut c, &["GET", "g"]), bulk("x"));
    assert_eq!(ok(&mut c, &["SET", "g2", "x", "XX", "GET"]), Value::Nil);
    assert_eq!(ok(&mut c, &["GET", "g2"]), Value::Nil);
    assert_eq!(
        ok(&mut c, &["SET", "k", "v5", "xx", "get", "get"]),
        bulk("v3")
    );

    // Every expiry form is accepted, case-insensitively; repeats of one form are allowed.
    for opts in [
        &["EX", "100"][..],
        &["px", "100000"],
        &["ExAt", "99999999999"],
        &["PXAT", "99999999999999"],
        &["KEEPTTL"],
        &["EX", "1", "EX", "100"],
        &["KEEPTTL", "KEEPTTL", "NX", "NX"],
        &["XX", "GET", "PX", "5000"],
    ] {
        let mut args = vec!["SET", "k", "v"];
        args.extend_from_slice(opts);
        assert!(run(&mut c, &args).is_ok(), "{args:?}");
    }

    // Conflicts and malformed options.
    for opts in [
        &["NX", "XX"][..],
        &["XX", "NX"],
        &["EX", "10", "PX", "10"],
        &["PX", "10", "EXAT", "10"],
        &["EXAT", "10", "PXAT", "10"],
        &["PXAT", "10", "EX", "10"],
        &["KEEPTTL", "EX", "10"],
        &["EX", "10", "KEEPTTL"],
        &["PERSIST"],
        &["EX"],
        &["PX"],
        &["GET", "EXAT"],
        &["FOO"],
        &["EX", "10", "10"],
        &["NXX"],
    ] {
        let mut args = vec!["SET", "k", "v"];
        args.extend_from_slice(opts);
        assert_eq!(err(&mut c, &args), SYNTAX, "{args:?}");
    }
    // A syntax error wins over a bad expiry value.
    assert_eq!(
        err(&mut c, &["SET", "k", "v", "EX", "abc", "NX", "XX"]),
        SYNTAX
    );

    // Expiry values.
    let invalid = "ERR invalid expire time in 'set' command";
    for (opt, val) in [
        ("EX", "0"),
        ("EX", "-1"),
        ("PX", "0"),
        ("PXAT", "-5"),
        ("EXAT", "0"),
        ("EX", "9223372036854775807"),
        ("EX", "9223372036854775"),
        ("PX", "9223372036854775807"),
        ("EXAT", "9223372036854776"),
    ] {
        assert_eq!(
            err(&mut c, &["SET", "k", "v", opt, val]),
            invalid,
            "{opt} {val}"
        );
    }
    for val in ["abc", "1.5", " 1", "01", "+1", "99999999999999999999"] {
        assert_eq!(err(&mut c, &["SET", "k", "v", "EX", val]), NOT_INT, "{val}");
    }
    // The largest absolute expiries are fine.
    assert_eq!(
        ok(&mut c, &["SET", "far", "v", "EXAT", "9223372036854775"]),
        Value::Okay
    );
    assert_eq!(
        ok(&mut c, &["SET", "far", "v", "PXAT", "9223372036854775807"]),
        Value::Okay
    );
    assert_eq!(ok(&mut c, &["GET", "far"]), bulk("v"));

    // Arity.
    assert_eq!(
        err(&mut c, &["SET", "k"]),
        "ERR wrong number of arguments for 'set' command"
    );
    assert_eq!(
        err(&mut c, &["GET"]),
        "ERR wrong number of arguments for 'get' command"
    );
    assert_eq!(
        err(&mut c, &["GET", "a", "b"]),
        "ERR wrong number of arguments for 'get' command"
    );
}

#[test]
fn absolute_expiry_in_the_past_leaves_no_key() {
    let s = server();
    let mut c = s.conn();
    assert_eq!(ok(&mut c, &["SET", "k", "v", "EXAT", "1"]), Value::Okay);
    assert_eq!(ok(&mut c, &["GET", "k"]), Value::Nil);
    assert_eq!(ok(&mut c, &["SET", "k", "v"]), Value::Okay);
    assert_eq!(
        ok(&mut c, &["SET", "k", "w", "PXAT", "1", "GET"]),
        bulk("v")
    );
    assert_eq!(ok(&mut c, &["GET", "k"]), Value::Nil);
    assert_eq!(ok(&mut c, &["DBSIZE"]), Value::Int(0));
    assert_eq!(ok(&mut c, &["SET", "k", "v"]), Value::Okay);
    assert_eq!(ok(&mut c, &["GETEX", "k", "EXAT", "1"]), bulk("v"));
    assert_eq!(ok(&mut c, &["GET", "k"]), Value::Nil);
    assert_eq!(ok(&mut c, &["DBSIZE"]), Value::Int(0));
}

#[test]
fn setnx_setex_psetex() {
    let s = server();
    let mut c = s.conn();
    assert_eq!(ok(&mut c, &["SETNX", "k", "a"]), Value::Int(1));
    assert_eq!(ok(&mut c, &["SETNX", "k", "b"]), Value::Int(0));
    assert_eq!(ok(&mut c, &["GET", "k"]), bulk("a"));

    assert_eq!(ok(&mut c, &["SETEX", "k", "100", "b"]), Value::Okay);
    assert_eq!(ok(&mut c, &["GET", "k"]), bulk("b"));
    assert_eq!(ok(&mut c, &["PSETEX", "k", "100000", "c"]), Value::Okay);
    assert_eq!(ok(&mut c, &["GET", "k"]), bulk("c"));

    for v in ["0", "-1"] {
        assert_eq!(
            err(&mut c, &["SETEX", "k", v, "x"]),
            "ERR invalid expire time in 'setex' command"
        );
        assert_eq!(
            err(&mut c, &["PSETEX", "k", v, "x"]),
            "ERR invalid expire time in 'psetex' command"
        );
    }
    assert_eq!(
        err(&mut c, &["SETEX", "k", "9223372036854775807", "x"]),
        "ERR invalid expire time in 'setex' command"
    );
    assert_eq!(
        err(&mut c, &["PSETEX", "k", "9223372036854775807", "x"]),
        "ERR invalid expire time in 'psetex' command"
    );
    assert_eq!(err(&mut c, &["SETEX", "k", "abc", "x"]), NOT_INT);
    assert_eq!(err(&mut c, &["PSETEX", "k", "1.5", "x"]), NOT_INT);
    // Failed commands leave the value alone.
    assert_eq!(ok(&mut c, &["GET", "k"]), bulk("c"));
    assert_eq!(
        err(&mut c, &["SETEX", "k", "10"]),
        "ERR wrong number of arguments for 'setex' command"
    );
}

#[test]
fn getset_getdel_getex() {
    let s = server();
    let mut c = s.conn();
    assert_eq!(ok(&mut c, &["GETSET", "k", "a"]), Value::Nil);
    assert_eq!(ok(&mut c, &["GETSET", "k", "b"]), bulk("a"));
    assert_eq!(ok(&mut c, &["GET", "k"]), bulk("b"));

    assert_eq!(ok(&mut c, &["GETDEL", "k"]), bulk("b"));
    assert_eq!(ok(&mut c, &["GETDEL", "k"]), Value::Nil);
    assert_eq!(ok(&mut c, &["GET", "k"]), Value::Nil);

    assert_eq!(ok(&mut c, &["GETEX", "k"]), Value::Nil);
    ok(&mut c, &["SET", "k", "v"]);
    assert_eq!(ok(&mut c, &["GETEX", "k"]), bulk("v"));
    for opts in [
        &["EX", "100"][..],
        &["px", "100000"],
        &["EXAT", "99999999999"],
        &["PXAT", "99999999999999"],
        &["PERSIST"],
        &["EX", "1", "EX", "100"],
    ] {
        let mut args = vec!["GETEX", "k"];
        args.extend_from_slice(opts);
        assert_eq!(ok(&mut c, &args), bulk("v"), "{args:?}");
    }
    for opts in [
        &["PERSIST", "EX", "10"][..],
        &["EX", "10", "PERSIST"],
        &["EX", "10", "PX", "10"],
        &["KEEPTTL"],
        &["NX"],
        &["XX"],
        &["GET"],
        &["EX"],
        &["FOO"],
    ] {
        let mut args = vec!["GETEX", "k"];
        args.extend_from_slice(opts);
        assert_eq!(err(&mut c, &args), SYNTAX, "{args:?}");
        // Syntax errors are reported even for a missing key.
        args[1] = "missing";
        assert_eq!(err(&mut c, &args), SYNTAX, "{args:?}");
    }
    let invalid = "ERR invalid expire time in 'getex' command";
    assert_eq!(err(&mut c, &["GETEX", "k", "EX", "0"]), invalid);
    assert_eq!(err(&mut c, &["GETEX", "k", "PXAT", "-1"]), invalid);
    assert_eq!(
        err(&mut c, &["GETEX", "k", "EX", "9223372036854775807"]),
        invalid
    );
    assert_eq!(err(&mut c, &["GETEX", "k", "EX", "abc"]), NOT_INT);
    // The expiry is only examined when the key exists, as in Redis.
    assert_eq!(ok(&mut c, &["GETEX", "missing", "EX", "0"]), Value::Nil);
    assert_eq!(ok(&mut c, &["GETEX", "missing", "EX", "abc"]), Value::Nil);
    assert_eq!(ok(&mut c, &["GET", "k"]), bulk("v"));
    assert_eq!(
        err(&mut c, &["GETEX"]),
        "ERR wrong number of arguments for 'getex' command"
    );
}

#[test]
fn mget_mset_msetnx() {
    let s = server();
    let mut c = s.conn();
    assert_eq!(
        ok(&mut c, &["MSET", "a", "1", "b", "2", "a", "3"]),
        Value::Okay
    );
    assert_eq!(
        ok(&mut c, &["MGET", "a", "b", "missing", "a"]),
        Value::Array(vec![bulk("3"), bulk("2"), Value::Nil, bulk("3")])
    );
    assert_eq!(ok(&mut c, &["MGET", "b"]), Value::Array(vec![bulk("2")]));
    assert_eq!(ok(&mut c, &["MSETNX", "x", "1", "a", "9"]), Value::Int(0));
    assert_eq!(
        ok(&mut c, &["MGET", "x", "a"]),
        Value::Array(vec![Value::Nil, bulk("3")])
    );
    assert_eq!(ok(&mut c, &["MSETNX", "x", "1", "y", "2"]), Value::Int(1));
    assert_eq!(ok(&mut c, &["MSETNX", "z", "1", "z", "2"]), Value::Int(1));
    assert_eq!(
        ok(&mut c, &["MGET", "x", "y", "z"]),
        Value::Array(vec![bulk("1"), bulk("2"), bulk("2")])
    );
    for cmd in ["mset", "msetnx"] {
        let want = format!("ERR wrong number of arguments for '{cmd}' command");
        assert_eq!(err(&mut c, &[cmd, "a"]), want);
        assert_eq!(err(&mut c, &[cmd, "a", "1", "b"]), want);
    }
    assert_eq!(
        err(&mut c, &["MGET"]),
        "ERR wrong number of arguments for 'mget' command"
    );
    // Nothing was written by the failed commands.
    assert_eq!(ok(&mut c, &["GET", "a"]), bulk("3"));
}

#[test]
fn integer_counters() {
    let s = server();
    let mut c = s.conn();
    assert_eq!(ok(&mut c, &["INCR", "n"]), Value::Int(1));
    assert_eq!(ok(&mut c, &["INCRBY", "n", "41"]), Value::Int(42));
    assert_eq!(ok(&mut c, &["DECR", "n"]), Value::Int(41));
    assert_eq!(ok(&mut c, &["DECRBY", "n", "-9"]), Value::Int(50));
    assert_eq!(ok(&mut c, &["DECRBY", "m", "5"]), Value::Int(-5));
    assert_eq!(ok(&mut c, &["DECR", "d"]), Value::Int(-1));
    // Stored as the decimal text.
    assert_eq!(ok(&mut c, &["GET", "n"]), bulk("50"));
    assert_eq!(ok(&mut c, &["APPEND", "n", "0"]), Value::Int(3));
    assert_eq!(ok(&mut c, &["INCR", "n"]), Value::Int(501));

    ok(&mut c, &["SET", "max", "9223372036854775807"]);
    ok(&mut c, &["SET", "min", "-9223372036854775808"]);
    let overflow = "ERR increment or decrement would overflow";
    assert_eq!(err(&mut c, &["INCR", "max"]), overflow);
    assert_eq!(err(&mut c, &["INCRBY", "max", "1"]), overflow);
    assert_eq!(err(&mut c, &["DECR", "min"]), overflow);
    assert_eq!(err(&mut c, &["DECRBY", "min", "1"]), overflow);
    assert_eq!(err(&mut c, &["INCRBY", "min", "-1"]), overflow);
    assert_eq!(
        ok(&mut c, &["INCRBY", "min", "9223372036854775807"]),
        Value::Int(-1)
    );
    assert_eq!(ok(&mut c, &["GET", "max"]), bulk("9223372036854775807"));
    assert_eq!(
        err(&mut c, &["DECRBY", "n", "-9223372036854775808"]),
        "ERR decrement would overflow"
    );
    assert_eq!(
        err(&mut c, &["DECRBY", "missing", "-9223372036854775808"]),
        "ERR decrement would overflow"
    );
    assert_eq!(
        ok(&mut c, &["INCRBY", "z", "-9223372036854775808"]),
        Value::Int(i64::MIN)
    );

    // Values that are not integers by Redis's strict rules.
    for v in [
        " 1",
        "1 ",
        "01",
        "+1",
        "-0",
        "1.0",
        "",
        "abc",
        "123456789012345678901",
        "9223372036854775808",
        "00",
    ] {
        ok(&mut c, &["SET", "bad", v]);
        assert_eq!(err(&mut c, &["INCR", "bad"]), NOT_INT, "{v:?}");
        assert_eq!(err(&mut c, &["INCRBY", "n", v]), NOT_INT, "{v:?}");
        assert_eq!(err(&mut c, &["DECRBY", "n", v]), NOT_INT, "{v:?}");
        assert_eq!(ok(&mut c, &["GET", "bad"]), bulk(v));
    }
    // The increment is validated before the key is looked at.
    assert_eq!(err(&mut c, &["INCRBY", "bad", "x"]), NOT_INT);
    assert_eq!(ok(&mut c, &["GET", "n"]), bulk("501"));
}

#[test]
fn incrbyfloat() {
    let s = server();
    let mut c = s.conn();
    assert_eq!(ok(&mut c, &["INCRBYFLOAT", "f", "10.5"]), bulk("10.5"));
    assert_eq!(ok(&mut c, &["INCRBYFLOAT", "f", "0.1"]), bulk("10.6"));
    assert_eq!(ok(&mut c, &["INCRBYFLOAT", "f", "-5.6"]), bulk("5"));
    assert_eq!(ok(&mut c, &["GET", "f"]), bulk("5"));
    assert_eq!(ok(&mut c, &["INCRBYFLOAT", "f", "5.0e3"]), bulk("5005"));
    ok(&mut c, &["SET", "f", "3.0"]);
    assert_eq!(ok(&mut c, &["INCRBYFLOAT", "f", "0"]), bulk("3"));
    assert_eq!(ok(&mut c, &["INCRBYFLOAT", "g", "-0"]), bulk("0"));
    assert_eq!(ok(&mut c, &["INCR", "f"]), Value::Int(4));
    let nan = "ERR increment would produce NaN or Infinity";
    assert_eq!(err(&mut c, &["INCRBYFLOAT", "f", "inf"]), nan);
    assert_eq!(err(&mut c, &["INCRBYFLOAT", "missing", "-inf"]), nan);
    assert_eq!(ok(&mut c, &["GET", "missing"]), Value::Nil);
    for bad in ["abc", " 1", "1 ", "", "nan", "1e"] {
        assert_eq!(
            err(&mut c, &["INCRBYFLOAT", "f", bad]),
            NOT_FLOAT,
            "{bad:?}"
        );
        ok(&mut c, &["SET", "bad", bad]);
        assert_eq!(
            err(&mut c, &["INCRBYFLOAT", "bad", "1"]),
            NOT_FLOAT,
            "{bad:?}"
        );
    }
    assert_eq!(ok(&mut c, &["GET", "f"]), bulk("4"));
}

#[test]
fn append_strlen_getrange_substr() {
    let s = server();
    let mut c = s.conn();
    assert_eq!(ok(&mut c, &["APPEND", "k", "Hello"]), Value::Int(5));
    assert_eq!(ok(&mut c, &["APPEND", "k", " World"]), Value::Int(11));
    assert_eq!(ok(&mut c, &["APPEND", "k", ""]), Value::Int(11));
    assert_eq!(ok(&mut c, &["APPEND", "e", ""]), Value::Int(0));
    assert_eq!(ok(&mut c, &["GET", "e"]), bulk(""));
    assert_eq!(ok(&mut c, &["STRLEN", "k"]), Value::Int(11));
    assert_eq!(ok(&mut c, &["STRLEN", "e"]), Value::Int(0));
    assert_eq!(ok(&mut c, &["STRLEN", "missing"]), Value::Int(0));

    ok(&mut c, &["SET", "k", "Hello World"]);
    for (a, b, want) in [
        ("0", "4", "Hello"),
        ("-5", "-1", "World"),
        ("0", "-1", "Hello World"),
        ("6", "100", "World"),
        ("0", "9223372036854775807", "Hello World"),
        ("-100", "-50", "H"),
        ("-1", "-5", ""),
        ("5", "3", ""),
        ("11", "20", ""),
        ("-9223372036854775808", "-9223372036854775808", "H"),
        ("3", "3", "l"),
    ] {
        assert_eq!(ok(&mut c, &["GETRANGE", "k", a, b]), bulk(want), "{a} {b}");
        assert_eq!(ok(&mut c, &["SUBSTR", "k", a, b]), bulk(want), "{a} {b}");
    }
    assert_eq!(ok(&mut c, &["GETRANGE", "e", "0", "-1"]), bulk(""));
    assert_eq!(ok(&mut c, &["GETRANGE", "missing", "0", "-1"]), bulk(""));
    assert_eq!(err(&mut c, &["GETRANGE", "k", "a", "1"]), NOT_INT);
    assert_eq!(err(&mut c, &["GETRANGE", "missing", "0", "1.5"]), NOT_INT);
    assert_eq!(err(&mut c, &["SUBSTR", "k", "0", ""]), NOT_INT);
    assert_eq!(
        err(&mut c, &["GETRANGE", "k", "0"]),
        "ERR wrong number of arguments for 'getrange' command"
    );
}

#[test]
fn setrange_offsets_and_limits() {
    let s = server();
    let mut c = s.conn();
    ok(&mut c, &["SET", "k", "Hello World"]);
    assert_eq!(ok(&mut c, &["SETRANGE", "k", "6", "Redis"]), Value::Int(11));
    assert_eq!(ok(&mut c, &["GET", "k"]), bulk("Hello Redis"));
    assert_eq!(ok(&mut c, &["SETRANGE", "k", "11", "!"]), Value::Int(12));
    assert_eq!(ok(&mut c, &["SETRANGE", "k", "0", ""]), Value::Int(12));
    // An empty value never creates the key, whatever the offset.
    assert_eq!(ok(&mut c, &["SETRANGE", "missing", "0", ""]), Value::Int(0));
    assert_eq!(
        ok(&mut c, &["SETRANGE", "missing", "536870912", ""]),
        Value::Int(0)
    );
    assert_eq!(
        ok(&mut c, &["SETRANGE", "k", "9999999999", ""]),
        Value::Int(12)
    );
    assert_eq!(ok(&mut c, &["GET", "missing"]), Value::Nil);
    assert_eq!(ok(&mut c, &["DBSIZE"]), Value::Int(1));

    // Zero padding.
    assert_eq!(ok(&mut c, &["SETRANGE", "p", "3", "ab"]), Value::Int(5));
    assert_eq!(
        ok(&mut c, &["GET", "p"]),
        Value::BulkString(b"\0\0\0ab".to_vec())
    );

    assert_eq!(
        err(&mut c, &["SETRANGE", "k", "-1", "x"]),
        "ERR offset is out of range"
    );
    assert_eq!(err(&mut c, &["SETRANGE", "k", "x", "x"]), NOT_INT);
    let too_big = "ERR string exceeds maximum allowed size (proto-max-bulk-len)";
    assert_eq!(err(&mut c, &["SETRANGE", "k", "536870912", "x"]), too_big);
    assert_eq!(err(&mut c, &["SETRANGE", "k", "536870911", "xy"]), too_big);
    assert_eq!(err(&mut c, &["SETRANGE", "n", "536870912", "x"]), too_big);
    assert_eq!(
        err(&mut c, &["SETRANGE", "n", "9223372036854775807", "x"]),
        too_big
    );
    assert_eq!(ok(&mut c, &["GET", "n"]), Value::Nil);

    // A big offset on a fresh key (32 MiB) and then inside it.
    let off = 32 * 1024 * 1024 - 1;
    assert_eq!(
        ok(&mut c, &["SETRANGE", "big", &off.to_string(), "z"]),
        Value::Int(off + 1)
    );
    assert_eq!(ok(&mut c, &["STRLEN", "big"]), Value::Int(off + 1));
    assert_eq!(
        ok(&mut c, &["GETRANGE", "big", "-2", "-1"]),
        Value::BulkString(b"\0z".to_vec())
    );
    assert_eq!(
        ok(&mut c, &["SETRANGE", "big", "1000", "mid"]),
        Value::Int(off + 1)
    );
    assert_eq!(
        ok(&mut c, &["GETRANGE", "big", "999", "1003"]),
        Value::BulkString(b"\0mid\0".to_vec())
    );
    assert_eq!(ok(&mut c, &["DEL", "big"]), Value::Int(1));
}

#[test]
fn lcs_replies() {
    let s = server();
    let mut c = s.conn();
    ok(&mut c, &["MSET", "key1", "ohmytext", "key2", "mynewtext"]);
    assert_eq!(ok(&mut c, &["LCS", "key1", "key2"]), bulk("mytext"));
    assert_eq!(ok(&mut c, &["LCS", "key1", "key2", "LEN"]), Value::Int(6));
    let range = |a: i64, b: i64| Value::Array(vec![Value::Int(a), Value::Int(b)]);
    assert_eq!(
        ok(&mut c, &["LCS", "key1", "key2", "IDX"]),
        Value::Array(vec![
            bulk("matches"),
            Value::Array(vec![
                Value::Array(vec![range(4, 7), range(5, 8)]),
                Value::Array(vec![range(2, 3), range(0, 1)]),
            ]),
            bulk("len"),
            Value::Int(6),
        ])
    );
    assert_eq!(
        ok(
            &mut c,
            &[
                "LCS",
                "key1",
                "key2",
                "idx",
                "minmatchlen",
                "4",
                "withmatchlen"
            ]
        ),
        Value::Array(vec![
            bulk("matches"),
            Value::Array(vec![Value::Array(vec![
                range(4, 7),
                range(5, 8),
                Value::Int(4)
            ])]),
            bulk("len"),
            Value::Int(6),
        ])
    );
    assert_eq!(
        ok(
            &mut c,
            &[
                "LCS",
                "key1",
                "key2",
                "LEN",
                "WITHMATCHLEN",
                "MINMATCHLEN",
                "-5"
            ]
        ),
        Value::Int(6)
    );
    assert_eq!(ok(&mut c, &["LCS", "nokey", "nokey2"]), bulk(""));
    assert_eq!(
        ok(&mut c, &["LCS", "key1", "nokey", "IDX"]),
        Value::Array(vec![
            bulk("matches"),
            Value::Array(vec![]),
            bulk("len"),
            Value::Int(0)
        ])
    );
    assert_eq!(ok(&mut c, &["LCS", "key1", "key1"]), bulk("ohmytext"));
    assert_eq!(
        err(&mut c, &["LCS", "key1", "key2", "LEN", "IDX"]),
        "ERR If you want both the length and indexes, please just use IDX."
    );
    assert_eq!(err(&mut c, &["LCS", "key1", "key2", "MINMATCHLEN"]), SYNTAX);
    assert_eq!(err(&mut c, &["LCS", "key1", "key2", "FOO"]), SYNTAX);
    assert_eq!(
        err(&mut c, &["LCS", "key1", "key2", "MINMATCHLEN", "x"]),
        NOT_INT
    );
    assert_eq!(
        err(&mut c, &["LCS", "key1"]),
        "ERR wrong number of arguments for 'lcs' command"
    );
    // The DP table may not exceed proto-max-bulk-len (512 MiB): 12000 x 12000 x 4 bytes.
    let long = "a".repeat(12_000);
    ok(&mut c, &["MSET", "la", &long, "lb", &long]);
    assert_eq!(
        err(&mut c, &["LCS", "la", "lb", "LEN"]),
        "ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len"
    );
}

/// TTL interplay observed through time: keys are given short TTLs, modified, then checked after
/// the TTL has passed (no TTL command is needed).
#[test]
fn ttl_kept_or_cleared_by_each_command() {
    let s = server();
    let mut c = s.conn();
    let short = ["PX", "300"];
    // Keys whose TTL must survive the modification (they vanish), and keys whose TTL must be
    // cleared (they stay).
    let mut vanish = Vec::new();
    let mut stay = Vec::new();
    let setup = |c: &mut redis::Connection, key: &str, value: &str| {
        let mut args = vec!["SET", key, value];
        args.extend_from_slice(&short);
        ok(c, &args);
    };
    setup(&mut c, "incr", "1");
    ok(&mut c, &["INCR", "incr"]);
    vanish.push("incr");
    setup(&mut c, "incrby", "1");
    ok(&mut c, &["DECRBY", "incrby", "5"]);
    vanish.push("incrby");
    setup(&mut c, "float", "1");
    ok(&mut c, &["INCRBYFLOAT", "float", "1.5"]);
    vanish.push("float");
    setup(&mut c, "append", "a");
    ok(&mut c, &["APPEND", "append", "b"]);
    vanish.push("append");
    setup(&mut c, "setrange", "abc");
    ok(&mut c, &["SETRANGE", "setrange", "1", "x"]);
    vanish.push("setrange");
    setup(&mut c, "keepttl", "a");
    ok(&mut c, &["SET", "keepttl", "b", "KEEPTTL"]);
    vanish.push("keepttl");
    setup(&mut c, "nx", "a");
    ok(&mut c, &["SET", "nx", "b", "NX"]);
    ok(&mut c, &["SETNX", "nx", "c"]);
    ok(&mut c, &["MSETNX", "nx", "d", "other", "e"]);
    vanish.push("nx");
    setup(&mut c, "getex", "a");
    ok(&mut c, &["GETEX", "getex"]);
    vanish.push("getex");
    ok(&mut c, &["SET", "getex-px", "a"]);
    ok(&mut c, &["GETEX", "getex-px", "PX", "300"]);
    vanish.push("getex-px");
    ok(&mut c, &["SETEX", "setex", "100", "a"]);
    ok(&mut c, &["PSETEX", "setex", "300", "a"]);
    vanish.push("setex");

    setup(&mut c, "set", "a");
    ok(&mut c, &["SET", "set", "b"]);
    stay.push("set");
    setup(&mut c, "setxx", "a");
    ok(&mut c, &["SET", "setxx", "b", "XX", "GET"]);
    stay.push("setxx");
    setup(&mut c, "getset", "a");
    ok(&mut c, &["GETSET", "getset", "b"]);
    stay.push("getset");
    setup(&mut c, "mset", "a");
    ok(&mut c, &["MSET", "mset", "b"]);
    stay.push("mset");
    setup(&mut c, "persist", "a");
    ok(&mut c, &["GETEX", "persist", "PERSIST"]);
    stay.push("persist");
    setup(&mut c, "ex-long", "a");
    ok(&mut c, &["SET", "ex-long", "b", "EX", "1000"]);
    stay.push("ex-long");

    for k in vanish.iter().chain(&stay) {
        assert_ne!(ok(&mut c, &["GET", k]), Value::Nil, "{k} before expiry");
    }
    std::thread::sleep(Duration::from_millis(450));
    for k in &vanish {
        assert_eq!(
            ok(&mut c, &["GET", k]),
            Value::Nil,
            "{k} should have expired"
        );
    }
    for k in &stay {
        assert_ne!(
            ok(&mut c, &["GET", k]),
            Value::Nil,
            "{k} should have no TTL"
        );
    }
    // A counter on an expired key starts again from zero without a TTL.
    assert_eq!(ok(&mut c, &["INCR", "incr"]), Value::Int(1));
}

#[test]
fn values_and_keys_are_binary_safe() {
    let s = server();
    let mut c = s.conn();
    let key: &[u8] = b"k\0\r\n\xff";
    let value: Vec<u8> = (0..=255u8).chain([b'\r', b'\n', 0]).collect();
    let _: () = redis::cmd("SET")
        .arg(key)
        .arg(&value)
        .query(&mut c)
        .unwrap();
    let got: Vec<u8> = redis::cmd("GET").arg(key).query(&mut c).unwrap();
    assert_eq!(got, value);
    let n: i64 = redis::cmd("APPEND")
        .arg(key)
        .arg(b"\0\xfe")
        .query(&mut c)
        .unwrap();
    assert_eq!(n as usize, value.len() + 2);
    let got: Vec<u8> = redis::cmd("GETRANGE")
        .arg(key)
        .arg(-2)
        .arg(-1)
        .query(&mut c)
        .unwrap();
    assert_eq!(got, b"\0\xfe");
    let n: i64 = redis::cmd("SETRANGE")
        .arg(key)
        .arg(1)
        .arg(b"\r\n")
        .query(&mut c)
        .unwrap();
    assert_eq!(n as usize, value.len() + 2);
    let got: Vec<Option<Vec<u8>>> = redis::cmd("MGET")
        .arg(key)
        .arg(b"\xff")
        .query(&mut c)
        .unwrap();
    let mut want = value.clone();
    want[1] = b'\r';
    want[2] = b'\n';
    want.extend_from_slice(b"\0\xfe");
    assert_eq!(got, vec![Some(want), None]);
    let _: () = redis::cmd("MSET")
        .arg(b"\0")
        .arg(b"\0\0")
        .query(&mut c)
        .unwrap();
    let got: Vec<u8> = redis::cmd("GETDEL").arg(b"\0").query(&mut c).unwrap();
    assert_eq!(got, b"\0\0");
    let got: Vec<u8> = redis::cmd("LCS").arg(key).arg(key).query(&mut c).unwrap();
    assert_eq!(got.len(), value.len() + 2);
}

#[test]
fn many_appends_stay_fast() {
    let s = server();
    let mut c = s.conn();
    let start = Instant::now();
    let mut pipe = redis::pipe();
    for _ in 0..20_000 {
        pipe.cmd("APPEND").arg("log").arg("0123456789").ignore();
    }
    pipe.query::<()>(&mut c).unwrap();
    assert_eq!(ok(&mut c, &["STRLEN", "log"]), Value::Int(200_000));
    assert!(
        start.elapsed() < Duration::from_secs(20),
        "APPEND is quadratic"
    );
}

/// MSET is atomic across shards and threads: readers on other connections (other loops) never
/// see a mix of two MSETs, and MSETNX races leave all-or-nothing results.
#[test]
fn mset_is_atomic_under_concurrent_readers() {
    let s = Server::start(&["--threads", "4"]);
    let keys: Vec<String> = (1..=10).map(|i| format!("k{i}")).collect();
    let stop = Arc::new(AtomicBool::new(false));
    let reads = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(20);
    {
        let mut c = s.conn();
        let mut cmd = redis::cmd("MSET");
        for k in &keys {
            cmd.arg(k).arg("init");
        }
        cmd.query::<()>(&mut c).unwrap();
    }
    let mut writers = Vec::new();
    for w in 0..2 {
        let mut c = s.conn();
        let keys = keys.clone();
        writers.push(std::thread::spawn(move || {
            for i in 0..3000 {
                if Instant::now() > deadline {
                    break;
                }
                let value = format!("w{w}-{i}");
                let mut cmd = redis::cmd("MSET");
                for k in &keys {
                    cmd.arg(k).arg(&value);
                }
                cmd.query::<()>(&mut c).unwrap();
            }
        }));
    }
    let mut readers = Vec::new();
    for _ in 0..3 {
        let mut c = s.conn();
        let keys = keys.clone();
        let stop = stop.clone();
        let reads = reads.clone();
        readers.push(std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
                let got: Vec<String> = redis::cmd("MGET").arg(&keys).query(&mut c).unwrap();
                assert!(
                    got.iter().all(|v| *v == got[0]),
                    "MGET saw a partial MSET: {got:?}"
                );
                reads.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    for w in writers {
        w.join().expect("writer");
    }
    stop.store(true, Ordering::Relaxed);
    for r in readers {
        r.join().expect("reader saw a torn MSET");
    }
    assert!(reads.load(Ordering::Relaxed) > 100, "readers barely ran");

    // MSETNX races on overlapping keys: per round exactly one contender wins both keys.
    let mut admin = s.conn();
    for round in 0..200 {
        ok(&mut admin, &["DEL", "x", "y"]);
        let handles: Vec<_> = (0..4)
            .map(|t| {
                let mut c = s.conn();
                std::thread::spawn(move || {
                    let (a, b) = if t % 2 == 0 { ("x", "y") } else { ("y", "x") };
                    let won: i64 = redis::cmd("MSETNX")
                        .arg(a)
                        .arg(t)
                        .arg(b)
                        .arg(t)
                        .query(&mut c)
                        .unwrap();
                    won
                })
            })
            .collect();
        let wins: i64 = handles.into_iter().map(|h| h.join().unwrap()).sum();
        assert_eq!(wins, 1, "round {round}");
        let got: Vec<String> = redis::cmd("MGET")
            .arg("x")
            .arg("y")
            .query(&mut admin)
            .unwrap();
        assert_eq!(got[0], got[1], "round {round}");
    }
}

/// Runs the same commands on ferrokv and on a real redis-server and compares every reply.
#[test]
fn differential_against_real_redis() {
    let Some(redis) = Server::start_redis() else {
        eprintln!("redis-server not installed; skipping differential test");
        return;
    };
    let ours = server();
    let script: &[&[&str]] = &[
        &["SET", "k", "v"],
        &["SET", "k", "v2", "NX"],
        &["SET", "k", "v3", "XX", "GET"],
        &["SET", "k", "v4", "NX", "GET"],
        &["SET", "nx", "a", "NX", "GET"],
        &["SET", "xx", "a", "XX", "GET"],
        &["SET", "k", "v", "GET", "GET", "KEEPTTL"],
        &["SET", "k", "v", "NX", "XX"],
        &["SET", "k", "v", "EX", "10", "PX", "10"],
        &["SET", "k", "v", "KEEPTTL", "PXAT", "10"],
        &["SET", "k", "v", "PERSIST"],
        &["SET", "k", "v", "EX"],
        &["SET", "k", "v", "EX", "0"],
        &["SET", "k", "v", "EX", "9223372036854775"],
        &["SET", "k", "v", "EXAT", "9223372036854776"],
        &["SET", "k", "v", "EXAT", "9223372036854775"],
        &["SET", "k", "v", "PXAT", "1"],
        &["GET", "k"],
        &["SET", "k", "v", "EX", "x"],
        &["SET", "k", "v", "EX", "100"],
        &["SETNX", "k", "x"],
        &["SETNX", "sn", "x"],
        &["SETEX", "se", "0", "x"],
        &["SETEX", "se", "abc", "x"],
        &["SETEX", "se", "100", "x"],
        &["PSETEX", "pe", "-1", "x"],
        &["PSETEX", "pe", "100000", "x"],
        &["GETSET", "k", "gs"],
        &["GETSET", "gs2", "x"],
        &["GETDEL", "gs2"],
        &["GETDEL", "gs2"],
        &["GETEX", "k"],
        &["GETEX", "k", "PERSIST"],
        &["GETEX", "k", "EX", "0"],
        &["GETEX", "k", "EX", "abc"],
        &["GETEX", "nokey", "EX", "abc"],
        &["GETEX", "k", "PERSIST", "PX", "1"],
        &["GETEX", "k", "NX"],
        &["GETEX", "k", "EXAT", "1"],
        &["GET", "k"],
        &["MSET", "a", "1", "b", "2"],
        &["MSET", "a"],
        &["MSET", "a", "1", "b"],
        &["MSETNX", "a", "1", "c", "3"],
        &["MSETNX", "c", "3", "d", "4"],
        &["MGET", "a", "b", "c", "d", "e"],
        &["INCR", "a"],
        &["INCRBY", "a", "10"],
        &["DECR", "a"],
        &["DECRBY", "a", "3"],
        &["DECRBY", "a", "-9223372036854775808"],
        &["INCRBY", "a", "9223372036854775807"],
        &["INCRBY", "a", "01"],
        &["SET", "bad", " 1"],
        &["INCR", "bad"],
        &["SET", "bad", "123456789012345678901"],
        &["INCR", "bad"],
        &["INCRBYFLOAT", "bad", "1"],
        &["INCRBYFLOAT", "fl", "0.1"],
        &["INCRBYFLOAT", "fl", "1.5e300"],
        &["INCRBYFLOAT", "fl", "-1.5e300"],
        &["INCRBYFLOAT", "fl", "inf"],
        &["INCRBYFLOAT", "fl", "3.0e-5"],
        &["INCRBYFLOAT", "fl", "x"],
        &["GET", "fl"],
        &["APPEND", "ap", "abc"],
        &["APPEND", "ap", "def"],
        &["STRLEN", "ap"],
        &["STRLEN", "nokey"],
        &["GETRANGE", "ap", "0", "-1"],
        &["GETRANGE", "ap", "-1", "-5"],
        &["GETRANGE", "ap", "-100", "-50"],
        &["GETRANGE", "ap", "2", "1"],
        &["GETRANGE", "ap", "0", "9223372036854775807"],
        &["GETRANGE", "ap", "x", "1"],
        &["GETRANGE", "nokey", "0", "1"],
        &["SUBSTR", "ap", "1", "3"],
        &["SETRANGE", "ap", "1", "XY"],
        &["SETRANGE", "ap", "10", "Z"],
        &["GET", "ap"],
        &["SETRANGE", "ap", "-1", "Z"],
        &["SETRANGE", "ap", "536870912", "Z"],
        &["SETRANGE", "sr", "0", ""],
        &["SETRANGE", "sr", "536870912", ""],
        &["SETRANGE", "sr", "536870912", "x"],
        &["SETRANGE", "ap", "536870912", ""],
        &["MSET", "key1", "ohmytext", "key2", "mynewtext"],
        &["LCS", "key1", "key2"],
        &["LCS", "key1", "key2", "LEN"],
        &["LCS", "key1", "key2", "IDX"],
        &["LCS", "key1", "key2", "IDX", "WITHMATCHLEN"],
        &[
            "LCS",
            "key1",
            "key2",
            "IDX",
            "MINMATCHLEN",
            "3",
            "WITHMATCHLEN",
        ],
        &["LCS", "key1", "key2", "LEN", "IDX"],
        &["LCS", "key1", "key2", "MINMATCHLEN"],
        &["LCS", "key1", "key2", "MINMATCHLEN", "x"],
        &["LCS", "key1", "nokey", "IDX"],
        &["LCS", "ap", "key2", "IDX", "WITHMATCHLEN"],
        &["LCS", "nokey", "nokey"],
        &["GET"],
        &["SET", "x"],
        &["GETEX"],
        &["LCS", "a"],
        &["DBSIZE"],
    ];
    let mut a = ours.conn();
    let mut b = redis.conn();
    let as_result = |r: redis::RedisResult<Value>| r.map_err(|e| common::error_text(&e));
    for cmd in script {
        let got = as_result(run(&mut a, cmd));
        let want = as_result(run(&mut b, cmd));
        assert_eq!(got, want, "{cmd:?}");
    }
}
