//! Lua scripting against the real binary: EVAL/EVALSHA/EVAL_RO/SCRIPT replies and error texts
//! compared byte for byte with a real redis-server 7.0 (RESP2 and RESP3), and atomicity
//! across loops (scripts moving value between declared and undeclared keys while readers on
//! other loops check the total, and multi-key commands run on the same keys).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::common::Server;
use crate::conn_util::{call, call_text};

/// Scripts and SCRIPT commands whose replies must equal Redis's, in order (state carries over).
#[rustfmt::skip]
const CASES: &[&[&str]] = &[
    &["EVAL", "return 1", "0"],
    &["EVAL", "return KEYS[1]..ARGV[1]", "1", "k", "a"],
    &["EVAL", "return {KEYS[1], KEYS[2], ARGV[1], ARGV[2]}", "2", "k1", "k2", "a1", "a2"],
    &["EVAL", "return a", "0"],
    &["EVAL", "a = 1", "0"],
    &["EVAL", "return redis.call('nosuch')", "0"],
    &["EVAL", "return redis.call('get')", "0"],
    &["EVAL", "error('boom')", "0"],
    &["EVAL", "error({err='X y'})", "0"],
    &["EVAL", "local t = {} t.x.y = 1", "0"],
    &["EVAL", "return redis.pcall('nosuch')", "0"],
    &["EVAL", "return pcall(redis.call, 'nosuch')", "0"],
    &["EVAL", "local ok, e = pcall(redis.call, 'nosuch') return e", "0"],
    &["EVAL", "return {1, 2, 3.5, 'x', {err='e'}, {ok='fine'}, nil, 4}", "0"],
    &["EVAL", "return redis.call('set', KEYS[1], 'v') and redis.call('incr', KEYS[1])", "1", "s"],
    &["EVAL", "return redis.pcall('incr', KEYS[1])", "1", "s"],
    &["EVAL", "return 3.99", "0"],
    &["EVAL", "return -3.99", "0"],
    &["EVAL", "return {err='my err'}", "0"],
    &["EVAL", "return redis.error_reply('MY code')", "0"],
    &["EVAL", "return redis.error_reply('-MY code')", "0"],
    &["EVAL", "return redis.status_reply('fine')", "0"],
    &["EVAL", "return redis.error_reply(1, 2)", "0"],
    &["EVAL", "return tostring(1e20)", "0"],
    &["EVAL", "return redis.call('ping')", "0"],
    &["EVAL", "return redis.sha1hex('')", "0"],
    &["EVAL", "return redis.sha1hex()", "0"],
    &["EVAL", "return {redis.call('get', 'nokey')}", "0"],
    &["EVAL", "return type(redis.call('get', 'nokey'))", "0"],
    &["EVAL", "return foo(", "0"],
    &["EVAL", "return true", "0"],
    &["EVAL", "return false", "0"],
    &["EVAL", "return nil", "0"],
    &["EVAL", "return {}", "0"],
    &["EVAL", "return redis.call('incrbyfloat', KEYS[1], 1.5)", "1", "f"],
    &["EVAL", "return redis.call('set', KEYS[1], 12345678901234567)", "1", "n"],
    &["EVAL", "return redis.call('get', KEYS[1])", "1", "n"],
    &["EVAL", "return redis.call('set', KEYS[1], 0.1)", "1", "n"],
    &["EVAL", "return redis.call('get', KEYS[1])", "1", "n"],
    &["EVAL", "return redis.call('set', KEYS[1], {})", "1", "n"],
    &["EVAL", "return redis.call()", "0"],
    &["EVAL", "return redis.call('eval', 'return 1', 0)", "0"],
    &["EVAL", "return redis.call('hset', 'h', 'a', '1', 'b', '2') + 0", "0"],
    &["EVAL", "return redis.call('hgetall', 'h')", "0"],
    &["EVAL", "return redis.call('type', 'h')", "0"],
    &["EVAL", "return redis.call('lpush', 'h', 'x')", "0"],
    &["EVAL", "redis.setresp(3) return redis.call('hgetall', 'h')", "0"],
    &["EVAL", "redis.setresp(3) return redis.call('type', 'h')", "0"],
    &["EVAL", "redis.setresp(3) return redis.call('zscore', 'nz', 'm')", "0"],
    &["EVAL", "redis.setresp(3) return {double=3.25}", "0"],
    &["EVAL", "redis.setresp(3) return true", "0"],
    &["EVAL", "redis.setresp(3) return false", "0"],
    &["EVAL", "return {map={a=1}}", "0"],
    &["EVAL", "return {set={a=true}}", "0"],
    &["EVAL", "return {big_number='123456789012345678901234567890'}", "0"],
    &["EVAL", "redis.setresp(4)", "0"],
    &["EVAL", "redis.log(redis.LOG_WARNING, 'from a script', 1, 2.5)", "0"],
    &["EVAL", "redis.log(99, 'x')", "0"],
    &["EVAL", "redis.log('x')", "0"],
    &["EVAL", "return redis.REDIS_VERSION", "0"],
    &["EVAL", "return redis.call('select', 9)", "0"],
    &["EVAL", "return redis.call('set', 'in9', 1)", "0"],
    &["EXISTS", "in9"],
    &["EVAL", "return math.random()", "0"],
    &["EVAL", "return tostring(math.random())", "0"],
    &["EVAL", "return math.random(10)", "0"],
    &["EVAL", "return math.random(5, 7)", "0"],
    &["EVAL", "math.randomseed(42) return tostring(math.random())", "0"],
    &["EVAL", "return math.random(0)", "0"],
    &["EVAL", "return cjson ~= nil and bit ~= nil and struct ~= nil and cmsgpack ~= nil", "0"],
    &["EVAL", "return type(print)", "0"],
    &["EVAL", "return type(os)", "0"],
    &["EVAL", "return type(io)", "0"],
    &["EVAL", "return type(loadfile)", "0"],
    &["EVAL", "return type(dofile)", "0"],
    &["EVAL", "return type(debug)", "0"],
    &["EVAL", "redis.call = nil", "0"],
    &["EVAL", "local g = getmetatable(_G) g.__index = {}", "0"],
    &["EVAL", "local a = {} for i = 1, 7999 do a[i] = 1 end return redis.call('rpush', 'big', unpack(a))", "0"],
    &["EVAL", "return redis.call('set', 'x', nil, 'y')", "0"],
    &["EVAL", "string.x = 1", "0"],
    &["EVAL", "return string.format('%d-%s', 7, 'x')", "0"],
    &["EVAL", "local f = function() return 1 end return f()", "0"],
    &["EVAL", "return #KEYS + #ARGV", "2", "a", "b", "c"],
    &["EVAL", "return 1", "-1"],
    &["EVAL", "return 1", "3", "a"],
    &["EVAL", "return 1", "x"],
    &["EVAL", "#!lua flags=no-writes\nreturn redis.call('set', 'x', 1)", "0"],
    &["EVAL", "#!lua flags=no-writes\nreturn redis.call('get', 'x')", "0"],
    &["EVAL", "#!lua\nreturn 2", "0"],
    &["EVAL", "#!lua flags=bogus\nreturn 2", "0"],
    &["EVAL", "#!nolua\nreturn 2", "0"],
    &["EVAL", "#!lua foo=bar\nreturn 2", "0"],
    &["EVAL", "#!lua", "0"],
    &["EVAL_RO", "return redis.call('set', 'x', 1)", "0"],
    &["EVAL_RO", "return redis.call('get', 'x')", "0"],
    &["EVAL_RO", "#!lua\nreturn 1", "0"],
    &["EVAL_RO", "#!lua flags=no-writes\nreturn 1", "0"],
    &["EVALSHA", "e0e1f9fabfc9d4800c877a703b823ac0578ff8db", "0"],
    &["EVALSHA", "abc", "0"],
    &["SCRIPT", "LOAD", "return 'loaded'"],
    &["EVALSHA", "e0e1f9fabfc9d4800c877a703b823ac0578ff8db", "0"],
    &["EVALSHA", "E0E1F9FABFC9D4800C877A703B823AC0578FF8DB", "0"],
    &["EVALSHA_RO", "e0e1f9fabfc9d4800c877a703b823ac0578ff8db", "0"],
    &["SCRIPT", "EXISTS", "e0e1f9fabfc9d4800c877a703b823ac0578ff8db", "ffffffffffffffffffffffffffffffffffffffff", "x"],
    &["SCRIPT", "LOAD", "return ("],
    &["SCRIPT", "FLUSH", "bogus"],
    &["SCRIPT", "FLUSH", "ASYNC"],
    &["SCRIPT", "EXISTS", "e0e1f9fabfc9d4800c877a703b823ac0578ff8db"],
    &["EVALSHA", "e0e1f9fabfc9d4800c877a703b823ac0578ff8db", "0"],
    &["SCRIPT", "KILL"],
    &["SCRIPT", "HELP"],
    &["SCRIPT", "FOO"],
    &["EVAL", "return redis.call('blpop', 'emptylist', 0)", "0"],
    &["EVAL", "return redis.call('rpush', 'l', 1, 2, 3)", "0"],
    &["EVAL", "return redis.call('lrange', 'l', 0, -1)", "0"],
    &["EVAL", "return redis.call('multi')", "0"],
    &["EVAL", "return redis.call('subscribe', 'x')", "0"],
    &["MULTI"],
    &["EVAL", "return redis.call('incr', 'tx')", "0"],
    &["EVAL", "return redis.call('incr', 'tx')", "0"],
    &["EXEC"],
    &["COMMAND", "GETKEYS", "EVAL", "return 1", "2", "a", "b", "c"],
    &["COMMAND", "INFO", "eval", "evalsha_ro", "script|load", "script|exists", "script|kill"],
];

/// FUNCTION and FCALL cases (libraries with one function each, so the replies do not depend
/// on Redis's dictionary order).
#[rustfmt::skip]
const FUNCTION_CASES: &[&[&str]] = &[
    &["FUNCTION", "FLUSH"],
    &["FUNCTION", "LOAD", "#!lua name=lib1\nredis.register_function('f1', function(keys, args) return {keys[1], args[1]} end)"],
    &["FCALL", "f1", "1", "k", "a"],
    &["FCALL", "f1", "0"],
    &["FCALL_RO", "f1", "0"],
    &["FCALL", "nosuch", "0"],
    &["FCALL", "f1", "x"],
    &["FCALL", "f1", "2", "k"],
    &["FCALL", "f1", "-1"],
    &["FUNCTION", "LOAD", "#!lua name=lib1\nredis.register_function('f1', function() end)"],
    &["FUNCTION", "LOAD", "#!lua name=lib2\nreturn 1"],
    &["FUNCTION", "LOAD", "#!lua name=lib2\nredis.call('ping')"],
    &["FUNCTION", "LOAD", "#!lua name=lib2\nlocal a = string"],
    &["FUNCTION", "LOAD", "#!lua name=lib2\nredis.register_function('f1', function() end)"],
    &["FUNCTION", "LOAD", "#!lua name=lib2\nfoo("],
    &["FUNCTION", "LOAD", "#!lua name=lib2\nredis.register_function('f2')"],
    &["FUNCTION", "LOAD", "#!lua name=lib2\nredis.register_function('f-2', function() end)"],
    &["FUNCTION", "LOAD", "#!lua name=lib2\nredis.register_function{function_name='f2', callback=function() end, flags={'bogus'}}"],
    &["FUNCTION", "LOAD", "#!lua name=lib2\nredis.register_function{function_name='f2', callback=function() end, foo=1}"],
    &["FUNCTION", "LOAD", "#!lua name=lib2\nredis.register_function{function_name='f2'}"],
    &["FUNCTION", "LOAD", "#!lua name=lib2\nredis.register_function(1, 2, 3)"],
    &["FUNCTION", "LOAD", "no shebang"],
    &["FUNCTION", "LOAD", "#!lua\nx"],
    &["FUNCTION", "LOAD", "#!lua name=a-b\nx"],
    &["FUNCTION", "LOAD", "#!js name=ab\nx"],
    &["FUNCTION", "LOAD", "BOGUS", "#!lua name=lib2\nx"],
    &["FUNCTION", "LOAD", "#!lua name=lib2\nredis.register_function{function_name='ro', callback=function(keys) return redis.call('set', keys[1], 1) end, flags={'no-writes'}, description='read only'}"],
    &["FCALL", "ro", "1", "k"],
    &["FCALL_RO", "ro", "1", "k"],
    &["FUNCTION", "LOAD", "REPLACE", "#!lua name=lib1\nredis.register_function('f1', function(keys) return redis.call('incr', keys[1]) end)"],
    &["FCALL", "f1", "1", "counter"],
    &["FCALL", "f1", "1", "counter"],
    &["FUNCTION", "LIST", "LIBRARYNAME", "lib2"],
    &["FUNCTION", "LIST", "LIBRARYNAME", "lib1", "WITHCODE"],
    &["FUNCTION", "LIST", "LIBRARYNAME"],
    &["FUNCTION", "LIST", "bogus"],
    &["FUNCTION", "STATS"],
    &["FUNCTION", "KILL"],
    &["FUNCTION", "DELETE", "nosuch"],
    &["FUNCTION", "DELETE", "lib2"],
    &["FUNCTION", "LIST"],
    &["FUNCTION", "DUMP"],
    &["FUNCTION", "RESTORE", "bogus"],
    &["FUNCTION", "RESTORE", "x", "BOGUS"],
    &["FUNCTION", "FLUSH", "BOGUS"],
    &["FUNCTION", "HELP"],
    &["EVAL", "redis.register_function('x', function() end)", "0"],
    &["FCALL", "f1", "1"],
];

#[test]
fn function_replies_match_redis() {
    let Some(redis) = Server::start_redis() else {
        eprintln!("skipped: redis-server not found");
        return;
    };
    let ours = Server::start(&["--threads", "2"]);
    for proto in ["2", "3"] {
        let (mut a, mut b) = (redis.raw(), ours.raw());
        call(&mut a, &["HELLO", proto]);
        call(&mut b, &["HELLO", proto]);
        call(&mut a, &["FLUSHALL"]);
        call(&mut b, &["FLUSHALL"]);
        for args in FUNCTION_CASES {
            assert_eq!(
                call_text(&mut b, args),
                call_text(&mut a, args),
                "RESP{proto} {args:?}"
            );
        }
        // A DUMP from Redis restores here, and ours restores there: the same libraries.
        let lib3 = "#!lua name=lib3\nredis.register_function('f3', function() return 3 end)";
        call(&mut a, &["FUNCTION", "LOAD", lib3]);
        call(&mut b, &["FUNCTION", "LOAD", lib3]);
        let theirs = dump_payload(&mut a);
        let ours_dump = dump_payload(&mut b);
        assert_eq!(restore(&mut b, &theirs, "FLUSH"), b"+OK\r\n");
        assert_eq!(restore(&mut a, &ours_dump, "FLUSH"), b"+OK\r\n");
        for args in [
            &["FCALL", "f3", "0"][..],
            &["FUNCTION", "LIST", "LIBRARYNAME", "lib3", "WITHCODE"],
        ] {
            assert_eq!(call_text(&mut b, args), call_text(&mut a, args), "{args:?}");
        }
        // Which colliding library is named depends on Redis's dictionary order.
        let collision = |r: Vec<u8>| {
            let t = String::from_utf8(r).unwrap();
            t.starts_with("-ERR Library lib") && t.ends_with(" already exists\r\n")
        };
        assert!(collision(restore(&mut b, &theirs, "APPEND")));
        assert!(collision(restore(&mut a, &theirs, "APPEND")));
        assert_eq!(
            restore(&mut b, &theirs, "REPLACE"),
            restore(&mut a, &theirs, "REPLACE")
        );
        let mut corrupt = theirs.clone();
        let last = corrupt.len() - 1;
        corrupt[last] ^= 1;
        assert_eq!(
            restore(&mut b, &corrupt, "REPLACE"),
            restore(&mut a, &corrupt, "REPLACE")
        );
    }
}

/// FUNCTION DUMP's payload.
fn dump_payload(raw: &mut crate::common::Raw) -> Vec<u8> {
    let frame = call(raw, &["FUNCTION", "DUMP"]);
    let start = frame.iter().position(|&b| b == b'\n').unwrap() + 1;
    frame[start..frame.len() - 2].to_vec()
}

/// FUNCTION RESTORE `payload` `policy`: the raw reply.
fn restore(raw: &mut crate::common::Raw, payload: &[u8], policy: &str) -> Vec<u8> {
    let mut req = format!(
        "*4\r\n$8\r\nFUNCTION\r\n$7\r\nRESTORE\r\n${}\r\n",
        payload.len()
    )
    .into_bytes();
    req.extend_from_slice(payload);
    req.extend_from_slice(format!("\r\n${}\r\n{policy}\r\n", policy.len()).as_bytes());
    raw.send(&req);
    crate::conn_util::read_frame(raw)
}

#[test]
fn eval_and_script_replies_match_redis() {
    let Some(redis) = Server::start_redis() else {
        eprintln!("skipped: redis-server not found");
        return;
    };
    let ours = Server::start(&["--threads", "2"]);
    for proto in ["2", "3"] {
        let (mut a, mut b) = (redis.raw(), ours.raw());
        call(&mut a, &["HELLO", proto]);
        call(&mut b, &["HELLO", proto]);
        call(&mut a, &["FLUSHALL"]);
        call(&mut b, &["FLUSHALL"]);
        for args in CASES {
            assert_eq!(
                call_text(&mut b, args),
                call_text(&mut a, args),
                "RESP{proto} {args:?}"
            );
        }
    }
}

/// Scripts move units between two keys (one declared, one reached without being declared)
/// on both loops while readers on both loops check the total with MGET and with a script:
/// no reader ever sees a transfer half done, and multi-key commands on the same keys run
/// throughout without deadlock.
#[test]
fn scripts_are_atomic_across_loops() {
    let srv = Server::start(&["--threads", "2"]);
    let mut setup = srv.conn();
    let total = 1000i64;
    redis::cmd("MSET")
        .arg("acct:a")
        .arg(total)
        .arg("acct:b")
        .arg(0)
        .query::<()>(&mut setup)
        .unwrap();
    let transfer = "redis.call('decrby', KEYS[1], 1) \
                    for i = 1, 50 do redis.call('get', KEYS[1]) end \
                    redis.call('incrby', ARGV[1], 1) return 1";
    let stop = Arc::new(AtomicBool::new(false));
    let mut workers = Vec::new();
    for w in 0..4 {
        let (url, stop) = (srv.url(), stop.clone());
        workers.push(std::thread::spawn(move || {
            let mut c = redis::Client::open(url).unwrap().get_connection().unwrap();
            let (from, to) = if w % 2 == 0 {
                ("acct:a", "acct:b")
            } else {
                ("acct:b", "acct:a")
            };
            let mut moves = 0;
            while !stop.load(Ordering::Relaxed) {
                let _: i64 = redis::cmd("EVAL")
                    .arg(transfer)
                    .arg(1)
                    .arg(from)
                    .arg(to)
                    .query(&mut c)
                    .unwrap();
                moves += 1;
            }
            moves
        }));
    }
    let mut readers = Vec::new();
    for r in 0..3 {
        let (url, stop) = (srv.url(), stop.clone());
        readers.push(std::thread::spawn(move || {
            let mut c = redis::Client::open(url).unwrap().get_connection().unwrap();
            let mut checks = 0;
            while !stop.load(Ordering::Relaxed) {
                let sum: i64 = match r {
                    0 => {
                        let v: Vec<i64> = redis::cmd("MGET")
                            .arg("acct:a")
                            .arg("acct:b")
                            .query(&mut c)
                            .unwrap();
                        v.iter().sum()
                    }
                    1 => redis::cmd("EVAL")
                        .arg("return redis.call('get', 'acct:a') + redis.call('get', 'acct:b')")
                        .arg(0)
                        .query(&mut c)
                        .unwrap(),
                    _ => {
                        // A multi-key write on the same shards: copies both, then checks the copy.
                        let _: () = redis::cmd("EVAL")
                            .arg("return redis.call('mset', 'copy:a', redis.call('get', KEYS[1]), 'copy:b', redis.call('get', KEYS[2])) and 0")
                            .arg(2)
                            .arg("acct:a")
                            .arg("acct:b")
                            .query(&mut c)
                            .map(|_: Option<i64>| ())
                            .unwrap();
                        let v: Vec<i64> = redis::cmd("MGET")
                            .arg("copy:a")
                            .arg("copy:b")
                            .query(&mut c)
                            .unwrap();
                        v.iter().sum()
                    }
                };
                assert_eq!(sum, total, "reader {r} saw a partial transfer");
                checks += 1;
            }
            checks
        }));
    }
    let deadline = Instant::now() + Duration::from_millis(1500);
    while Instant::now() < deadline {
        // RENAME back and forth through a third key: an ordered multi-shard write racing the
        // scripts' out-of-order locking.
        let _: () = redis::cmd("MSET")
            .arg("side:x")
            .arg(1)
            .arg("side:y")
            .arg(2)
            .query(&mut setup)
            .unwrap();
        std::thread::sleep(Duration::from_millis(5));
    }
    stop.store(true, Ordering::Relaxed);
    let moves: i64 = workers.into_iter().map(|w| w.join().unwrap()).sum();
    let checks: i64 = readers.into_iter().map(|r| r.join().unwrap()).sum();
    assert!(moves > 0 && checks > 0, "moves {moves}, checks {checks}");
    let v: Vec<i64> = redis::cmd("MGET")
        .arg("acct:a")
        .arg("acct:b")
        .query(&mut setup)
        .unwrap();
    assert_eq!(v.iter().sum::<i64>(), total);
}

/// The script's writes reach the AOF as their effects, inside MULTI/EXEC, and come back
/// after a restart; EVAL itself is not logged.
#[test]
fn script_effects_are_persisted_not_the_script() {
    let dir = crate::common::fresh_cwd();
    let args = [
        "--threads",
        "2",
        "--appendonly",
        "yes",
        "--dir",
        dir.to_str().unwrap(),
    ];
    let srv = Server::start(&args);
    let mut c = srv.conn();
    let _: i64 = redis::cmd("EVAL")
        .arg("redis.call('set', KEYS[1], 'a') redis.call('rpush', 'undeclared', 'x', 'y') return 1")
        .arg(1)
        .arg("k")
        .query(&mut c)
        .unwrap();
    drop(c);
    srv.terminate();
    let aof = std::fs::read_dir(dir.join("appendonlydir"))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains(".incr."))
        .map(|e| std::fs::read(e.path()).unwrap())
        .next()
        .unwrap();
    let text = String::from_utf8_lossy(&aof);
    assert!(text.contains("MULTI") || text.contains("multi"), "{text}");
    assert!(!text.to_ascii_lowercase().contains("eval"), "{text}");
    let srv = Server::start(&args);
    let mut c = srv.conn();
    let got: (String, Vec<String>) = redis::pipe()
        .cmd("GET")
        .arg("k")
        .cmd("LRANGE")
        .arg("undeclared")
        .arg(0)
        .arg(-1)
        .query(&mut c)
        .unwrap();
    assert_eq!(
        got,
        ("a".to_string(), vec!["x".to_string(), "y".to_string()])
    );
}

/// Libraries survive a restart from an RDB snapshot and from a rewritten AOF (whose base
/// holds them as FUNCTION2 records), and a snapshot taken by Redis loads here.
#[test]
fn functions_are_persisted() {
    let lib =
        "#!lua name=keep\nredis.register_function('kept', function(keys) return 'still here' end)";
    for mode in ["rdb", "aof", "aof-commands"] {
        let dir = crate::common::fresh_cwd();
        let aof = if mode == "rdb" { "no" } else { "yes" };
        let preamble = if mode == "aof-commands" { "no" } else { "yes" };
        let args = [
            "--threads",
            "2",
            "--appendonly",
            aof,
            "--aof-use-rdb-preamble",
            preamble,
            "--dir",
            dir.to_str().unwrap(),
        ];
        let srv = Server::start(&args);
        let mut c = srv.conn();
        let _: String = redis::cmd("FUNCTION")
            .arg("LOAD")
            .arg(lib)
            .query(&mut c)
            .unwrap();
        if mode == "rdb" {
            let _: () = redis::cmd("SAVE").query(&mut c).unwrap();
        } else {
            let _: () = redis::cmd("BGREWRITEAOF")
                .query(&mut c)
                .map(|_: String| ())
                .unwrap();
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                let info: String = redis::cmd("INFO").arg("persistence").query(&mut c).unwrap();
                if info.contains("aof_rewrite_in_progress:0")
                    && info.contains("aof_rewrite_scheduled:0")
                {
                    break;
                }
                assert!(Instant::now() < deadline, "rewrite did not finish");
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        drop(c);
        srv.terminate();
        let srv = Server::start(&args);
        let mut c = srv.conn();
        let got: String = redis::cmd("FCALL")
            .arg("kept")
            .arg(0)
            .query(&mut c)
            .unwrap();
        assert_eq!(got, "still here", "{mode}");
    }
}

/// A script running past `busy-reply-threshold` makes clients on the other loops get BUSY
/// (allow-busy commands still run); SCRIPT KILL and FUNCTION KILL stop a script that has not
/// written, with Redis's texts; one that wrote is UNKILLABLE.
#[test]
fn busy_scripts_answer_busy_and_can_be_killed() {
    let srv = Server::start(&["--threads", "4", "--busy-reply-threshold", "100"]);
    // Sixteen connections over four loops: some are not on the script's loop.
    let mut others: Vec<crate::common::Raw> = (0..16).map(|_| srv.raw()).collect();
    for r in &mut others {
        assert_eq!(call_text(r, &["PING"]), "+PONG\r\n");
    }
    let lib = "#!lua name=busy\nredis.register_function('spin', function() while true do end end)";
    let mut setup = srv.raw();
    call(&mut setup, &["FUNCTION", "LOAD", lib]);
    for (start, kill, busy) in [
        (
            &["EVAL", "local i = 0 while true do i = i + 1 end", "0"][..],
            "SCRIPT",
            "SCRIPT KILL",
        ),
        (&["FCALL", "spin", "0"][..], "FUNCTION", "FUNCTION KILL"),
    ] {
        let mut runner = srv.raw();
        runner.send(&crate::conn_util::encode(start));
        std::thread::sleep(Duration::from_millis(300));
        // Those on other loops answer at once; those sharing the script's loop wait.
        let mut free = Vec::new();
        for (i, r) in others.iter_mut().enumerate() {
            r.s.set_read_timeout(Some(Duration::from_millis(200)))
                .unwrap();
            r.send(&crate::conn_util::encode(&["PING"]));
            let mut buf = [0u8; 256];
            if let Ok(n) = std::io::Read::read(&mut r.s, &mut buf) {
                let text = String::from_utf8_lossy(&buf[..n]).into_owned();
                assert_eq!(
                    text,
                    format!("-BUSY Redis is busy running a script. You can only call {busy} or SHUTDOWN NOSAVE.\r\n")
                );
                free.push(i);
            }
        }
        assert!(
            !free.is_empty(),
            "every connection shares the script's loop"
        );
        let killer = &mut others[free[0]];
        killer
            .s
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        if kill == "FUNCTION" {
            let stats = call_text(killer, &["FUNCTION", "STATS"]);
            assert!(
                stats.contains("spin") && stats.contains("duration_ms"),
                "{stats}"
            );
            assert_eq!(
                call_text(killer, &["SCRIPT", "KILL"]),
                "-BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.\r\n"
            );
        }
        assert_eq!(call_text(killer, &[kill, "KILL"]), "+OK\r\n");
        runner
            .s
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let killed = String::from_utf8(crate::conn_util::read_frame(&mut runner)).unwrap();
        assert!(
            killed.starts_with("-ERR Script killed by user with SCRIPT KILL..."),
            "{killed}"
        );
        // Every connection is served again (the waiting PINGs included).
        for (i, r) in others.iter_mut().enumerate() {
            r.s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            if !free.contains(&i) {
                assert_eq!(
                    String::from_utf8(crate::conn_util::read_frame(r)).unwrap(),
                    "+PONG\r\n"
                );
            }
            assert_eq!(call_text(r, &["PING"]), "+PONG\r\n");
        }
        assert_eq!(
            call_text(&mut others[0], &[kill, "KILL"]),
            "-NOTBUSY No scripts in execution right now.\r\n"
        );
    }
    // A script that wrote cannot be killed (the server is stopped by the test harness).
    let mut runner = srv.raw();
    runner.send(&crate::conn_util::encode(&[
        "EVAL",
        "redis.call('set', 'x', 1) while true do end",
        "0",
    ]));
    std::thread::sleep(Duration::from_millis(300));
    let mut answered = false;
    for r in others.iter_mut() {
        r.s.set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        r.send(&crate::conn_util::encode(&["SCRIPT", "KILL"]));
        let mut buf = [0u8; 512];
        if let Ok(n) = std::io::Read::read(&mut r.s, &mut buf) {
            let text = String::from_utf8_lossy(&buf[..n]).into_owned();
            assert!(
                text.starts_with("-UNKILLABLE Sorry the script already executed write commands"),
                "{text}"
            );
            answered = true;
            break;
        }
    }
    assert!(answered);
}
