//! MIGRATE against the real binary: ferrokv -> ferrokv and ferrokv -> redis-server (types,
//! values and TTLs arrive as they were), COPY, REPLACE, the KEYS form, NOKEY, the target's
//! errors forwarded (BUSYKEY, SELECT, AUTH), AUTH/AUTH2 to password-protected targets, a
//! target that never answers, the connection cache (SELECT only when the database changes, a
//! killed connection reopened once, idle connections closed), the DEL propagated for moved
//! keys, and a differential run of the same MIGRATE command lines with redis-server as the
//! source.

use std::net::TcpListener;
use std::time::{Duration, Instant};

use crate::auth::reply;
use crate::common::{self, Server};

/// Runs a command line split on spaces, where `""` stands for the empty string, `{port}` for
/// `port` and `{dead}` for `dead`.
fn line(c: &mut redis::Connection, cmd: &str, port: u16, dead: u16) -> String {
    let cmd = cmd
        .replace("{port}", &port.to_string())
        .replace("{dead}", &dead.to_string());
    let args: Vec<&str> = cmd
        .split(' ')
        .map(|a| if a == "\"\"" { "" } else { a })
        .collect();
    reply(c, &args)
}

/// A connection to `s`, authenticated with `password` when given.
fn conn(s: &Server, password: Option<&str>) -> redis::Connection {
    let mut c = s.conn();
    if let Some(p) = password {
        assert_eq!(reply(&mut c, &["AUTH", p]), "+OK");
    }
    c
}

/// One key of each type (string as text and as an integer, list, hash, set, sorted set, a
/// large list), some with a TTL.
fn seed(c: &mut redis::Connection) {
    for cmd in [
        "SET s hello",
        "PEXPIRE s 100000",
        "SET n 12345",
        "RPUSH l a b c",
        "PEXPIRE l 50000",
        "HSET h f1 v1 f2 v2",
        "SADD set x y z 7",
        "ZADD z 1 a 2.5 b -3 c",
    ] {
        let args: Vec<&str> = cmd.split(' ').collect();
        common::ok(c, &args);
    }
    let big: Vec<String> = (0..3000).map(|i| format!("element-{i}")).collect();
    let mut args = vec!["RPUSH", "big"];
    args.extend(big.iter().map(String::as_str));
    common::ok(c, &args);
}

const SEEDED: [&str; 7] = ["s", "n", "l", "h", "set", "z", "big"];

/// A key's type and contents as comparable text (members of unordered types sorted).
fn describe(c: &mut redis::Connection, key: &str) -> String {
    let ty = reply(c, &["TYPE", key]);
    let content = match ty.as_str() {
        "+string" => reply(c, &["GET", key]),
        "+list" => reply(c, &["LRANGE", key, "0", "-1"]),
        "+zset" => reply(c, &["ZRANGE", key, "0", "-1", "WITHSCORES"]),
        "+set" => {
            let mut m: Vec<String> = reply(c, &["SMEMBERS", key])
                .split(' ')
                .map(String::from)
                .collect();
            m.sort();
            m.join(" ")
        }
        "+hash" => {
            let all = reply(c, &["HGETALL", key]);
            let words: Vec<&str> = all.split(' ').collect();
            let mut pairs: Vec<String> = words.chunks(2).map(|p| p.join("=")).collect();
            pairs.sort();
            pairs.join(" ")
        }
        _ => String::new(),
    };
    format!("{ty} {content}")
}

fn pttl(c: &mut redis::Connection, key: &str) -> i64 {
    reply(c, &["PTTL", key])
        .trim_start_matches(':')
        .parse()
        .unwrap()
}

/// ferrokv, and redis-server where installed, started with `flags`.
fn targets(flags: &[&str]) -> Vec<Server> {
    std::iter::once(Server::start(flags))
        .chain(Server::start_redis_with(flags))
        .collect()
}

#[test]
fn every_type_arrives_with_its_value_and_ttl_on_ferrokv_and_redis() {
    for target in targets(&[]) {
        let src = Server::start(&[]);
        let mut a = src.conn();
        let mut b = target.conn();
        seed(&mut a);
        let before: Vec<String> = SEEDED.iter().map(|k| describe(&mut a, k)).collect();
        let ttls: Vec<i64> = SEEDED.iter().map(|k| pttl(&mut a, k)).collect();
        let port = target.port.to_string();
        // One key at a time, then the rest with KEYS (a missing key among them).
        for k in &SEEDED[..3] {
            assert_eq!(
                reply(&mut a, &["MIGRATE", "127.0.0.1", &port, k, "0", "5000"]),
                "+OK"
            );
        }
        let mut args = vec!["MIGRATE", "127.0.0.1", &port, "", "0", "5000", "KEYS"];
        args.extend(&SEEDED[3..]);
        args.push("missing");
        assert_eq!(reply(&mut a, &args), "+OK");
        for (i, k) in SEEDED.iter().enumerate() {
            assert_eq!(
                describe(&mut b, k),
                before[i],
                "{k} on port {}",
                target.port
            );
            assert_eq!(
                reply(&mut a, &["EXISTS", k]),
                ":0",
                "{k} left on the source"
            );
            let ttl = pttl(&mut b, k);
            if ttls[i] < 0 {
                assert_eq!(ttl, -1, "{k}");
            } else {
                assert!(
                    ttl <= ttls[i] && ttl > ttls[i] - 5000,
                    "{k}: {ttl} vs {}",
                    ttls[i]
                );
            }
        }
    }
}

/// The steps of the differential script: a command line on the source (or, prefixed with
/// `@`, on the target) and the reply expected, `None` where only both sources must agree.
const SCRIPT: &[(&str, Option<&str>)] = &[
    ("MIGRATE 127.0.0.1 {port} missing 0 5000", Some("+NOKEY")),
    (
        "MIGRATE 127.0.0.1 {port} \"\" 0 5000 KEYS missing other",
        Some("+NOKEY"),
    ),
    ("SET k v1", Some("+OK")),
    ("MIGRATE 127.0.0.1 {port} k 0 5000 COPY", Some("+OK")),
    ("GET k", Some("v1")),
    ("@GET k", Some("v1")),
    ("SET k v2", Some("+OK")),
    (
        "MIGRATE 127.0.0.1 {port} k 0 5000",
        Some("-ERR Target instance replied with error: BUSYKEY Target key name already exists."),
    ),
    ("GET k", Some("v2")),
    ("MIGRATE 127.0.0.1 {port} k 0 5000 REPLACE", Some("+OK")),
    ("EXISTS k", Some(":0")),
    ("@GET k", Some("v2")),
    // Another database on the target, then one that does not exist there.
    ("SET k3 x", Some("+OK")),
    ("MIGRATE 127.0.0.1 {port} k3 3 5000", Some("+OK")),
    ("@EXISTS k3", Some(":0")),
    ("@SELECT 3", Some("+OK")),
    ("@GET k3", Some("x")),
    ("@SELECT 0", Some("+OK")),
    ("SET k4 y", Some("+OK")),
    (
        "MIGRATE 127.0.0.1 {port} k4 999 5000",
        Some("-ERR Target instance replied with error: ERR DB index is out of range"),
    ),
    ("GET k4", Some("y")),
    // KEYS: the ones the target takes move, the BUSYKEY one stays.
    ("MSET a 1 b 2 c 3", Some("+OK")),
    ("@SET b old", Some("+OK")),
    (
        "MIGRATE 127.0.0.1 {port} \"\" 0 5000 KEYS a b missing c",
        Some("-ERR Target instance replied with error: BUSYKEY Target key name already exists."),
    ),
    ("EXISTS a b c", Some(":1")),
    ("@MGET a b c", Some("1 old 3")),
    (
        "MIGRATE 127.0.0.1 {port} \"\" 0 5000 REPLACE COPY KEYS b",
        Some("+OK"),
    ),
    ("@GET b", Some("2")),
    ("EXISTS b", Some(":1")),
    // Malformed argument lists.
    ("MIGRATE 127.0.0.1 {port} b 0", None),
    (
        "MIGRATE 127.0.0.1 {port} b x 5000",
        Some("-ERR value is not an integer or out of range"),
    ),
    ("MIGRATE 127.0.0.1 {port} b 0 x", None),
    ("MIGRATE 127.0.0.1 {port} b 0 1.5", None),
    (
        "MIGRATE 127.0.0.1 {port} b 0 5000 foo",
        Some("-ERR syntax error"),
    ),
    (
        "MIGRATE 127.0.0.1 {port} b x x foo",
        Some("-ERR syntax error"),
    ),
    ("MIGRATE 127.0.0.1 {port} b 0 5000 COPY AUTH", None),
    ("MIGRATE 127.0.0.1 {port} b 0 5000 AUTH2 u", None),
    ("MIGRATE 127.0.0.1 {port} b 0 5000 KEYS b", None),
    ("MIGRATE 127.0.0.1 {port} b x 5000 KEYS", None),
    ("MIGRATE 127.0.0.1 {port} \"\" 0 5000 KEYS", None),
    ("MIGRATE 127.0.0.1 {port} \"\" 0 5000", None),
    ("MIGRATE 127.0.0.1 {port} b 0 5000 copy replace keys", None),
    // Targets that cannot be reached: a closed port, a bad port, an unknown host.
    ("MIGRATE 127.0.0.1 {dead} b 0 1000", None),
    ("MIGRATE 127.0.0.1 0 b 0 1000", None),
    ("MIGRATE 127.0.0.1 notaport b 0 1000", None),
    ("MIGRATE nosuchhost.invalid {port} b 0 1000", None),
    ("EXISTS b", Some(":1")),
    // The key finder and the command's description.
    ("COMMAND GETKEYS MIGRATE h 1 k 0 10", None),
    ("COMMAND GETKEYS MIGRATE h 1 \"\" 0 10 KEYS a b", None),
    ("COMMAND GETKEYS MIGRATE h 1 k 0 10 KEYS a b", None),
    ("COMMAND GETKEYS MIGRATE h 1 \"\" 0 10 AUTH KEYS a b", None),
    (
        "COMMAND GETKEYS MIGRATE h 1 \"\" 0 10 AUTH2 u p KEYS a b",
        None,
    ),
    ("COMMAND GETKEYS MIGRATE h 1 \"\" 0 10 COPY REPLACE", None),
    ("COMMAND GETKEYS MIGRATE h 1 \"\" 0 10 KEYS", None),
    ("COMMAND GETKEYS MIGRATE h 1 k 0 10 foo KEYS a", None),
    (
        "COMMAND GETKEYSANDFLAGS MIGRATE h 1 \"\" 0 10 KEYS a b",
        None,
    ),
    ("COMMAND GETKEYS MIGRATE h 1 k 0", None),
    ("COMMAND INFO MIGRATE", None),
];

/// Runs [`SCRIPT`] with `src` as the source and a fresh target of the same kind as `target`
/// gives; returns the replies.
fn run_script(src: &Server, target: &Server, dead: u16) -> Vec<String> {
    let mut a = src.conn();
    let mut b = target.conn();
    SCRIPT
        .iter()
        .map(|(cmd, want)| {
            let got = match cmd.strip_prefix('@') {
                Some(cmd) => line(&mut b, cmd, target.port, dead),
                None => line(&mut a, cmd, target.port, dead),
            };
            if let Some(want) = want {
                assert_eq!(&got, want, "{cmd} (source on port {})", src.port);
            }
            got
        })
        .collect()
}

/// A port nothing listens on (bound, then closed).
fn closed_port() -> u16 {
    common::free_port()
}

#[test]
fn replies_match_redis_as_the_source() {
    let dead = closed_port();
    // ferrokv -> ferrokv, and ferrokv -> redis-server.
    let ours: Vec<Vec<String>> = targets(&[])
        .iter()
        .map(|t| run_script(&Server::start(&[]), t, dead))
        .collect();
    // redis-server -> redis-server is the reference.
    let (Some(src), Some(target)) = (Server::start_redis(), Server::start_redis()) else {
        return;
    };
    let theirs = run_script(&src, &target, dead);
    for replies in &ours {
        for ((cmd, _), (got, want)) in SCRIPT.iter().zip(replies.iter().zip(&theirs)) {
            assert_eq!(got, want, "{cmd}: ferrokv vs redis-server as the source");
        }
    }
}

#[test]
fn auth_and_auth2_reach_password_protected_targets() {
    let flags = ["--requirepass", "foobar"];
    let steps: &[(&str, &str)] = &[
        ("SET k v", "+OK"),
        (
            "MIGRATE 127.0.0.1 {port} k 0 5000",
            "-ERR Target instance replied with error: NOAUTH Authentication required.",
        ),
        (
            "MIGRATE 127.0.0.1 {port} k 0 5000 AUTH wrong",
            "-ERR Target instance replied with error: WRONGPASS invalid username-password pair or user is disabled.",
        ),
        ("EXISTS k", ":1"),
        ("MIGRATE 127.0.0.1 {port} k 0 5000 AUTH foobar", "+OK"),
        ("EXISTS k", ":0"),
        ("SET k2 v2", "+OK"),
        (
            "MIGRATE 127.0.0.1 {port} k2 0 5000 AUTH2 mig nope",
            "-ERR Target instance replied with error: WRONGPASS invalid username-password pair or user is disabled.",
        ),
        ("MIGRATE 127.0.0.1 {port} k2 1 5000 AUTH2 mig secret", "+OK"),
        ("EXISTS k2", ":0"),
    ];
    for target in targets(&flags) {
        let mut t = conn(&target, Some("foobar"));
        assert_eq!(
            reply(
                &mut t,
                &["ACL", "SETUSER", "mig", "on", ">secret", "~*", "+@all"]
            ),
            "+OK"
        );
        let sources = std::iter::once(Server::start(&[])).chain(Server::start_redis());
        for src in sources {
            let mut a = src.conn();
            for (cmd, want) in steps {
                let got = line(&mut a, cmd, target.port, 0);
                assert_eq!(
                    &got, want,
                    "{cmd}: source {} target {}",
                    src.port, target.port
                );
            }
            assert_eq!(reply(&mut t, &["GET", "k"]), "v");
            assert_eq!(reply(&mut t, &["SELECT", "1"]), "+OK");
            assert_eq!(reply(&mut t, &["GET", "k2"]), "v2");
            assert_eq!(reply(&mut t, &["FLUSHALL"]), "+OK");
            assert_eq!(reply(&mut t, &["SELECT", "0"]), "+OK");
        }
    }
}

#[test]
fn a_target_that_never_answers_times_out_and_keeps_the_key() {
    // Connections complete in the kernel's backlog; nothing ever reads or answers.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port().to_string();
    let src = Server::start(&[]);
    let mut a = src.conn();
    common::ok(&mut a, &["SET", "k", "v"]);
    let started = Instant::now();
    assert_eq!(
        reply(&mut a, &["MIGRATE", "127.0.0.1", &port, "k", "0", "300"]),
        "-IOERR error or timeout reading to target instance"
    );
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(300) && took < Duration::from_secs(5),
        "{took:?}"
    );
    assert_eq!(reply(&mut a, &["GET", "k"]), "v");
    // The failed connection is not kept.
    assert!(reply(&mut a, &["INFO", "stats"]).contains("migrate_cached_sockets:0"));
    // With KEYS and COPY as well; the server goes on serving.
    assert_eq!(
        reply(
            &mut a,
            &[
                "MIGRATE",
                "127.0.0.1",
                &port,
                "",
                "0",
                "200",
                "COPY",
                "KEYS",
                "k"
            ]
        ),
        "-IOERR error or timeout reading to target instance"
    );
    assert_eq!(reply(&mut a, &["PING"]), "+PONG");
}

/// The `calls=` figure of `cmdstat_<cmd>` in INFO commandstats (0 when absent).
fn calls(c: &mut redis::Connection, cmd: &str) -> u64 {
    let info = reply(c, &["INFO", "commandstats"]);
    let prefix = format!("cmdstat_{cmd}:calls=");
    info.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .and_then(|rest| rest.split(',').next())
        .map_or(0, |n| n.parse().unwrap())
}

#[test]
fn connections_are_cached_select_follows_the_db_and_idle_ones_close() {
    let target = Server::start(&[]);
    let src = Server::start(&[]);
    let mut a = src.conn();
    let mut b = target.conn();
    let port = target.port.to_string();
    common::ok(
        &mut a,
        &["MSET", "k1", "1", "k2", "2", "k3", "3", "k4", "4"],
    );
    let info = |c: &mut redis::Connection| reply(c, &["INFO", "stats"]);
    assert!(info(&mut a).contains("migrate_cached_sockets:0"));
    let migrate = |c: &mut redis::Connection, key: &str, db: &str| {
        reply(c, &["MIGRATE", "127.0.0.1", &port, key, db, "5000"])
    };
    assert_eq!(migrate(&mut a, "k1", "0"), "+OK");
    assert_eq!(migrate(&mut a, "k2", "0"), "+OK");
    assert_eq!(migrate(&mut a, "k3", "1"), "+OK");
    assert!(info(&mut a).contains("migrate_cached_sockets:1"));
    // One connection: SELECT for its first database, and again when it changed.
    assert_eq!(calls(&mut b, "select"), 2);
    assert_eq!(calls(&mut b, "restore"), 3);
    // The target drops the cached connection: the next MIGRATE reconnects, once, and selects
    // its database again.
    assert_eq!(reply(&mut b, &["CLIENT", "KILL", "TYPE", "normal"]), ":1");
    assert_eq!(migrate(&mut a, "k4", "1"), "+OK");
    assert_eq!(calls(&mut b, "select"), 3);
    assert_eq!(reply(&mut b, &["SELECT", "1"]), "+OK");
    assert_eq!(reply(&mut b, &["MGET", "k3", "k4"]), "3 4");
    // Unused for more than 10 s, it is closed (checked once a second).
    let deadline = Instant::now() + Duration::from_secs(20);
    while !info(&mut a).contains("migrate_cached_sockets:0") {
        assert!(
            Instant::now() < deadline,
            "the idle connection was never closed"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

#[test]
fn moved_keys_propagate_as_one_del() {
    let dir = common::temp_file("migrate-aof");
    std::fs::create_dir_all(&dir).unwrap();
    let src = Server::start(&[
        "--dir",
        dir.to_str().unwrap(),
        "--appendonly",
        "yes",
        "--appendfsync",
        "always",
    ]);
    let target = Server::start(&[]);
    let port = target.port.to_string();
    let mut a = src.conn();
    let mut b = target.conn();
    common::ok(
        &mut a,
        &["MSET", "a", "1", "b", "2", "c", "3", "d", "4", "e", "5"],
    );
    common::ok(&mut b, &["SET", "e", "there"]);
    let m = |c: &mut redis::Connection, tail: &[&str]| {
        let mut args = vec!["MIGRATE", "127.0.0.1", &port];
        args.extend(tail);
        reply(c, &args)
    };
    assert_eq!(m(&mut a, &["a", "0", "5000"]), "+OK");
    assert_eq!(
        m(&mut a, &["", "0", "5000", "KEYS", "b", "nosuch", "c"]),
        "+OK"
    );
    assert_eq!(m(&mut a, &["d", "0", "5000", "COPY"]), "+OK");
    assert!(m(&mut a, &["e", "0", "5000"]).contains("BUSYKEY"));
    assert_eq!(m(&mut a, &["nosuch", "0", "5000"]), "+NOKEY");
    // A marker that every command before it reached the file.
    common::ok(&mut a, &["SET", "end", "1"]);
    let aof = std::fs::read(dir.join("appendonlydir/appendonly.aof.1.incr.aof")).unwrap();
    let text = String::from_utf8_lossy(&aof).replace("\r\n", " ");
    let commands: Vec<String> = text
        .split('*')
        .filter(|f| !f.is_empty())
        .map(|f| {
            // "N $len ARG $len ARG" -> "ARG ARG"
            f.split_whitespace()
                .skip(1)
                .filter(|w| !w.starts_with('$'))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    let interesting: Vec<&str> = commands
        .iter()
        .map(String::as_str)
        .filter(|c| c.starts_with("DEL") || c.to_ascii_uppercase().starts_with("MIGRATE"))
        .collect();
    assert_eq!(interesting, ["DEL a", "DEL b c"], "{commands:?}");
    drop(src);
    let _ = std::fs::remove_dir_all(&dir);
}
