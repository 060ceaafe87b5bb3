//! Introspection commands compared byte for byte with redis-server 7.0: COMMAND GETKEYS and
//! GETKEYSANDFLAGS over commands of every key-spec shape; WAIT (no replicas: 0 at once when
//! nothing is asked or inside MULTI, else after the timeout or CLIENT UNBLOCK).

use std::time::{Duration, Instant};

use crate::common::Server;
use crate::conn_util::{call_text, compare_script};

#[rustfmt::skip]
const GETKEYS: &[&[&str]] = &[
    &["COMMAND", "GETKEYSANDFLAGS", "set", "k1", "v1"],
    &["COMMAND", "GETKEYSANDFLAGS", "set", "k1", "v1", "GET"],
    &["COMMAND", "GETKEYSANDFLAGS", "mset", "k1", "v1", "k2", "v2"],
    &["COMMAND", "GETKEYSANDFLAGS", "LMOVE", "k1", "k2", "left", "right"],
    &["COMMAND", "GETKEYSANDFLAGS", "sort", "k1", "store", "k2"],
    &["COMMAND", "GETKEYSANDFLAGS", "sort", "k1"],
    &["COMMAND", "GETKEYSANDFLAGS", "sort", "k1", "BY", "w*", "GET", "#", "STORE", "d"],
    &["COMMAND", "GETKEYSANDFLAGS", "sort_ro", "k1", "ALPHA"],
    &["COMMAND", "GETKEYSANDFLAGS", "bitfield", "k", "get", "u8", "0", "overflow", "sat"],
    &["COMMAND", "GETKEYSANDFLAGS", "bitfield", "k", "get", "u8", "0", "incrby", "u8", "0", "1"],
    &["COMMAND", "GETKEYSANDFLAGS", "bitfield", "k", "get", "u8"],
    &["COMMAND", "GETKEYSANDFLAGS", "bitfield_ro", "k", "get", "u8", "0"],
    &["COMMAND", "GETKEYSANDFLAGS", "get", "k"],
    &["COMMAND", "GETKEYSANDFLAGS", "del", "a", "b"],
    &["COMMAND", "GETKEYSANDFLAGS", "getdel", "a"],
    &["COMMAND", "GETKEYSANDFLAGS", "lpush", "l", "a"],
    &["COMMAND", "GETKEYSANDFLAGS", "rename", "a", "b"],
    &["COMMAND", "GETKEYSANDFLAGS", "zunionstore", "d", "2", "a", "b", "WEIGHTS", "1", "2"],
    &["COMMAND", "GETKEYSANDFLAGS", "zunion", "2", "a", "b"],
    &["COMMAND", "GETKEYSANDFLAGS", "blmpop", "0", "2", "a", "b", "LEFT"],
    &["COMMAND", "GETKEYSANDFLAGS", "bitop", "and", "d", "a", "b"],
    &["COMMAND", "GETKEYSANDFLAGS", "pfmerge", "d", "a", "b"],
    &["COMMAND", "GETKEYSANDFLAGS", "georadius", "g", "0", "0", "1", "km", "STORE", "d"],
    &["COMMAND", "GETKEYSANDFLAGS", "geosearchstore", "d", "s", "FROMLONLAT", "0", "0", "BYRADIUS", "1", "m"],
    &["COMMAND", "GETKEYSANDFLAGS", "object", "encoding", "k"],
    &["COMMAND", "GETKEYSANDFLAGS", "memory", "usage", "k"],
    &["COMMAND", "GETKEYSANDFLAGS", "expire", "k", "10"],
    &["COMMAND", "GETKEYSANDFLAGS", "copy", "a", "b"],
    &["COMMAND", "GETKEYSANDFLAGS", "smove", "a", "b", "m"],
    &["COMMAND", "GETKEYSANDFLAGS", "hset", "h", "f", "v"],
    &["COMMAND", "GETKEYSANDFLAGS", "incr", "n"],
    &["COMMAND", "GETKEYSANDFLAGS", "ping"],
    &["COMMAND", "GETKEYSANDFLAGS", "nosuch", "a"],
    &["COMMAND", "GETKEYSANDFLAGS", "get"],
    &["COMMAND", "GETKEYSANDFLAGS", "client", "list"],
    &["COMMAND", "GETKEYSANDFLAGS"],
    &["COMMAND", "GETKEYS", "mset", "k1", "v1", "k2", "v2"],
    &["COMMAND", "GETKEYS", "LMOVE", "k1", "k2", "left", "right"],
    &["COMMAND", "GETKEYS", "zunionstore", "d", "2", "a", "b"],
    &["COMMAND", "GETKEYS", "sort", "k1", "store", "k2"],
    &["COMMAND", "GETKEYS", "memory", "usage", "k"],
    &["COMMAND", "HELP"],
];

#[test]
fn getkeys_and_flags_match_redis() {
    let ours = Server::start(&["--threads", "2"]);
    let mut raw = ours.raw();
    assert_eq!(
        call_text(
            &mut raw,
            &[
                "COMMAND",
                "GETKEYSANDFLAGS",
                "LMOVE",
                "a",
                "b",
                "left",
                "left"
            ]
        ),
        "*2\r\n*2\r\n$1\r\na\r\n*3\r\n+RW\r\n+access\r\n+delete\r\n\
         *2\r\n$1\r\nb\r\n*2\r\n+RW\r\n+insert\r\n"
    );
    let Some(redis) = Server::start_redis() else {
        println!("skipped: redis-server not found");
        return;
    };
    for proto in ["2", "3"] {
        compare_script(&redis, &ours, proto, GETKEYS);
    }
}

#[rustfmt::skip]
const WAIT: &[&[&str]] = &[
    &["WAIT", "0", "0"],
    &["WAIT", "-1", "100"],
    &["WAIT", "1", "-1"],
    &["WAIT", "x", "0"],
    &["WAIT", "1", "1.5"],
    &["WAIT", "1", "x"],
    &["WAIT", "1"],
    &["WAIT", "1", "20"],
    &["MULTI"],
    &["WAIT", "5", "0"],
    &["EXEC"],
];

#[test]
fn wait_matches_redis_and_blocks_until_its_timeout() {
    let ours = Server::start(&["--threads", "2"]);
    let mut raw = ours.raw();
    let start = Instant::now();
    assert_eq!(call_text(&mut raw, &["WAIT", "1", "300"]), ":0\r\n");
    assert!(start.elapsed() >= Duration::from_millis(290));
    // Blocked forever, until CLIENT UNBLOCK (timeout reply, then the ERROR form).
    let mut waiter = ours.raw();
    let id = call_text(&mut waiter, &["CLIENT", "ID"]);
    let id = id.trim_start_matches(':').trim().to_string();
    waiter.send(&crate::conn_util::encode(&["WAIT", "1", "0"]));
    std::thread::sleep(Duration::from_millis(100));
    let info = call_text(&mut raw, &["INFO", "clients"]);
    assert!(info.contains("blocked_clients:1"), "{info}");
    assert_eq!(call_text(&mut raw, &["CLIENT", "UNBLOCK", &id]), ":1\r\n");
    assert_eq!(crate::conn_util::read_frame(&mut waiter), b":0\r\n");
    waiter.send(&crate::conn_util::encode(&["WAIT", "1", "0"]));
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(
        call_text(&mut raw, &["CLIENT", "UNBLOCK", &id, "ERROR"]),
        ":1\r\n"
    );
    assert_eq!(
        crate::conn_util::read_frame(&mut waiter),
        b"-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n"
    );
    let Some(redis) = Server::start_redis() else {
        println!("skipped: redis-server not found");
        return;
    };
    for proto in ["2", "3"] {
        compare_script(&redis, &ours, proto, WAIT);
    }
}
