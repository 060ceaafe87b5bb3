//! ACL users against the real binary, differential with redis-server where installed: ACL
//! SETUSER/GETUSER/LIST/USERS/WHOAMI/CAT/DRYRUN/LOG and their errors, `-NOPERM` for commands,
//! keys (`~`, `%R~`, `%W~`), channels and selectors, in MULTI and at EXEC, disconnection of
//! deleted users and of subscribers whose channels are revoked, the ACL file (LOAD/SAVE) and
//! `user` lines in the config file.

use std::collections::BTreeSet;
use std::io::Write;
use std::time::Duration;

use crate::auth::{both, reply, same_replies};
use crate::common::{run, Server};

/// Runs `steps` (connection index, args, expectation) on each server over `n` connections and
/// compares the replies across servers.
fn same_replies_on(servers: &[Server], n: usize, steps: &[(usize, &[&str], Option<&str>)]) {
    let mut seen: Vec<Vec<String>> = Vec::new();
    for s in servers {
        let mut conns: Vec<_> = (0..n).map(|_| s.conn()).collect();
        let mut replies = Vec::new();
        for (i, args, want) in steps {
            let got = reply(&mut conns[*i], args);
            if let Some(want) = want {
                assert!(got.contains(want), "{args:?} on port {}: {got}", s.port);
            }
            replies.push(got);
        }
        seen.push(replies);
    }
    for other in &seen[1..] {
        for ((_, args, _), (a, b)) in steps.iter().zip(seen[0].iter().zip(other)) {
            assert_eq!(a, b, "{args:?}: ferrokv vs redis-server");
        }
    }
}

const KEY_DENIED: &str =
    "-NOPERM this user has no permissions to access one of the keys used as arguments";
const CHANNEL_DENIED: &str =
    "-NOPERM this user has no permissions to access one of the channels used as arguments";

#[test]
fn setuser_getuser_and_list_match_redis() {
    let servers = both(&[]);
    same_replies(
        &servers,
        &[
            (&["ACL", "SETUSER", "alice", "on", ">p1", ">p2", "~obj:*", "&chan", "+get", "+set", "+client|list"], Some("+OK")),
            (&["ACL", "GETUSER", "alice"], None),
            (&["ACL", "LIST"], None),
            (&["ACL", "USERS"], Some("alice default")),
            (&["ACL", "WHOAMI"], Some("default")),
            (&["ACL", "SETUSER", "alice", "<p1", "%R~ro:*", "%W~wo:*", "(~sel:* +lpush)"], Some("+OK")),
            (&["ACL", "GETUSER", "alice"], None),
            (&["ACL", "LIST"], None),
            (&["ACL", "SETUSER", "bob", "+@all", "-@dangerous", "~*"], Some("+OK")),
            (&["ACL", "GETUSER", "bob"], None),
            (&["ACL", "SETUSER", "carol", "-@all", "+@hash", "+get", "+select|0", "allchannels", "nopass", "on"], Some("+OK")),
            (&["ACL", "GETUSER", "carol"], None),
            (&["ACL", "SETUSER", "carol", "reset"], Some("+OK")),
            (&["ACL", "GETUSER", "carol"], None),
            (&["ACL", "SETUSER", "dave", "clearselectors", "(+get ~a)", "(+set", "~b)"], Some("+OK")),
            (&["ACL", "GETUSER", "dave"], None),
            (&["ACL", "SETUSER", "dave", "clearselectors"], Some("+OK")),
            (&["ACL", "GETUSER", "dave"], None),
            (&["ACL", "GETUSER", "nosuch"], Some("(nil)")),
            // Errors, each leaving the user untouched.
            (&["ACL", "SETUSER", "bob", "+nosuch"], Some("-ERR Error in ACL SETUSER modifier '+nosuch': Unknown command or category name in ACL")),
            (&["ACL", "SETUSER", "bob", "+@nosuch"], None),
            (&["ACL", "SETUSER", "bob", "~x"], Some("Adding a pattern after the * pattern")),
            (&["ACL", "SETUSER", "bob", "#abc"], Some("password hash must be exactly 64 characters")),
            (&["ACL", "SETUSER", "bob", "<nosuch"], Some("The password you are trying to remove")),
            (&["ACL", "SETUSER", "bob", "+client|list|x"], Some("Allowing first-arg of a subcommand is not supported")),
            (&["ACL", "SETUSER", "bob", "+get|"], Some("Syntax error")),
            (&["ACL", "SETUSER", "bob", "bogus"], Some("Syntax error")),
            (&["ACL", "SETUSER", "bob", "(+get", "~x"], Some("Unmatched parenthesis in acl selector starting at '(+get'.")),
            (&["ACL", "SETUSER", "bob", "%Q~x"], None),
            (&["ACL", "SETUSER", "a b"], Some("-ERR Usernames can't contain spaces or null characters")),
            (&["ACL", "GETUSER", "bob"], None),
            (&["ACL", "DELUSER", "default"], Some("-ERR The 'default' user cannot be removed")),
            (&["ACL", "DELUSER", "bob", "nosuch", "carol"], Some(":2")),
            (&["ACL", "USERS"], Some("alice dave default")),
            (&["ACL", "CAT"], None),
            (&["ACL", "CAT", "nosuch"], Some("-ERR Unknown category 'nosuch'")),
            (&["ACL", "GENPASS", "0"], None),
            (&["ACL", "LOG", "x"], None),
            (&["ACL", "LOAD"], Some("not configured to use an ACL file")),
            (&["ACL", "SAVE"], Some("not configured to use an ACL file")),
            (&["ACL", "DRYRUN", "alice", "get", "obj:1"], Some("+OK")),
            (&["ACL", "DRYRUN", "alice", "get", "other"], Some("This user has no permissions to access the 'other' key")),
            (&["ACL", "DRYRUN", "alice", "lpush", "sel:1", "x"], Some("+OK")),
            (&["ACL", "DRYRUN", "alice", "lpush", "obj:1", "x"], None),
            (&["ACL", "DRYRUN", "alice", "del", "obj:1"], Some("This user has no permissions to run the 'del' command")),
            (&["ACL", "DRYRUN", "alice", "client", "kill", "x"], Some("'client|kill'")),
            (&["ACL", "DRYRUN", "nosuch", "get", "x"], Some("-ERR User 'nosuch' not found")),
            (&["ACL", "DRYRUN", "alice", "nosuchcmd"], Some("-ERR Command 'nosuchcmd' not found")),
            (&["ACL", "DRYRUN", "alice", "get"], Some("-ERR wrong number of arguments for 'get' command")),
        ],
    );
}

#[test]
fn noperm_for_commands_keys_and_channels_matches_redis() {
    let servers = both(&[]);
    same_replies_on(
        &servers,
        2,
        &[
            (0, &["ACL", "SETUSER", "alice", "on", ">pw", "~obj:*", "%R~ro:*", "%W~wo:*", "&chan*", "+@all", "-lpush", "-client|kill"], Some("+OK")),
            (1, &["AUTH", "alice", "pw"], Some("+OK")),
            (1, &["ACL", "WHOAMI"], Some("alice")),
            (1, &["SET", "obj:1", "v"], Some("+OK")),
            (1, &["GET", "obj:1"], Some("v")),
            (1, &["GET", "other"], Some(KEY_DENIED)),
            (1, &["MSET", "obj:2", "a", "other", "b"], Some(KEY_DENIED)),
            (1, &["LPUSH", "obj:l", "x"], Some("-NOPERM this user has no permissions to run the 'lpush' command")),
            (1, &["CLIENT", "KILL", "ID", "999"], Some("-NOPERM this user has no permissions to run the 'client|kill' command")),
            // Read-only and write-only patterns.
            (1, &["GET", "ro:1"], Some("(nil)")),
            (1, &["SET", "ro:1", "v"], Some(KEY_DENIED)),
            (1, &["SET", "wo:1", "v"], Some("+OK")),
            (1, &["GET", "wo:1"], Some(KEY_DENIED)),
            (1, &["SET", "wo:1", "v", "GET"], Some(KEY_DENIED)),
            (1, &["COPY", "ro:1", "wo:2"], None),
            (1, &["LMOVE", "ro:1", "wo:2", "LEFT", "LEFT"], Some(KEY_DENIED)),
            (1, &["SUNIONSTORE", "wo:3", "ro:1", "obj:1"], None),
            (1, &["DEL", "wo:1"], Some(":1")),
            (1, &["EXISTS", "wo:1"], None),
            // Channels.
            (1, &["PUBLISH", "chan1", "m"], Some(":0")),
            (1, &["PUBLISH", "other", "m"], Some(CHANNEL_DENIED)),
            (1, &["SUBSCRIBE", "chan1", "other"], Some(CHANNEL_DENIED)),
            (1, &["PSUBSCRIBE", "chan1*"], Some(CHANNEL_DENIED)),
            // In MULTI: refused while queueing, the transaction aborts.
            (1, &["MULTI"], Some("+OK")),
            (1, &["GET", "other"], Some(KEY_DENIED)),
            (1, &["EXEC"], Some("-EXECABORT Transaction discarded because of previous errors.")),
            // Changed between queueing and EXEC.
            (1, &["MULTI"], Some("+OK")),
            (1, &["GET", "obj:1"], Some("+QUEUED")),
            (1, &["SET", "obj:1", "w"], Some("+QUEUED")),
            (0, &["ACL", "SETUSER", "alice", "-get"], Some("+OK")),
            (1, &["EXEC"], Some("-NOPERM ACLs rules changed between the moment the transaction was accumulated and the EXEC call. This command is no longer allowed for the following reason: no permission to execute the command or subcommand")),
            (1, &["GET", "obj:1"], Some("'get' command")),
            (0, &["GET", "obj:1"], Some("w")),
            // The default user may be restricted too.
            (0, &["ACL", "SETUSER", "default", "-flushall"], Some("+OK")),
            (0, &["FLUSHALL"], Some("'flushall' command")),
            (0, &["ACL", "SETUSER", "default", "+flushall"], Some("+OK")),
        ],
    );
}

/// The ACL LOG fields other than the age and client info, entry by entry.
fn log_fields(c: &mut redis::Connection) -> Vec<String> {
    let redis::Value::Array(entries) = run(c, &["ACL", "LOG"]).unwrap() else {
        panic!("ACL LOG is an array")
    };
    entries
        .iter()
        .map(|e| {
            let redis::Value::Array(kv) = e else {
                panic!("an entry is a map")
            };
            let mut out = Vec::new();
            for pair in kv.chunks(2) {
                let (redis::Value::BulkString(k), v) = (&pair[0], &pair[1]) else {
                    panic!("field names are bulk strings")
                };
                let k = String::from_utf8_lossy(k).into_owned();
                match (k.as_str(), v) {
                    ("age-seconds", _) => {}
                    ("client-info", redis::Value::BulkString(ci)) => {
                        let ci = String::from_utf8_lossy(ci);
                        assert!(ci.contains("id=") && ci.contains(" user="), "{ci}");
                    }
                    (_, redis::Value::BulkString(b)) => {
                        out.push(format!("{k}={}", String::from_utf8_lossy(b)))
                    }
                    (_, redis::Value::Int(n)) => out.push(format!("{k}={n}")),
                    (_, other) => out.push(format!("{k}={other:?}")),
                }
            }
            out.join(" ")
        })
        .collect()
}

#[test]
fn acl_log_entries_match_redis() {
    let mut logs = Vec::new();
    for s in &both(&[]) {
        let mut admin = s.conn();
        let mut c = s.conn();
        reply(
            &mut admin,
            &[
                "ACL", "SETUSER", "alice", "on", ">pw", "~k*", "+get", "+multi", "+exec", "&ch",
            ],
        );
        assert_eq!(
            reply(&mut c, &["AUTH", "alice", "wrong"]),
            "-WRONGPASS invalid username-password pair or user is disabled."
        );
        assert_eq!(reply(&mut c, &["AUTH", "alice", "pw"]), "+OK");
        reply(&mut c, &["GET", "x"]);
        reply(&mut c, &["GET", "x"]);
        reply(&mut c, &["SET", "k", "v"]);
        reply(&mut c, &["MULTI"]);
        reply(&mut c, &["GET", "other"]);
        reply(&mut c, &["EXEC"]);
        let log = log_fields(&mut admin);
        assert_eq!(reply(&mut admin, &["ACL", "LOG", "RESET"]), "+OK");
        assert!(log_fields(&mut admin).is_empty());
        logs.push(log);
    }
    assert_eq!(
        logs[0],
        [
            "count=1 reason=key context=multi object=other username=alice",
            "count=1 reason=command context=toplevel object=set username=alice",
            "count=2 reason=key context=toplevel object=x username=alice",
            "count=1 reason=auth context=toplevel object=AUTH username=alice",
        ]
    );
    for other in &logs[1..] {
        assert_eq!(&logs[0], other, "ferrokv vs redis-server");
    }
}

#[test]
fn acl_cat_lists_the_same_commands_as_redis() {
    let servers = both(&[]);
    let Some(redis) = servers.get(1) else {
        return;
    };
    let mut f = servers[0].conn();
    let mut r = redis.conn();
    let names = |c: &mut redis::Connection, args: &[&str]| -> BTreeSet<String> {
        let redis::Value::Array(items) = run(c, args).unwrap() else {
            panic!("an array")
        };
        items
            .iter()
            .map(|v| match v {
                redis::Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
                other => panic!("{other:?}"),
            })
            .collect()
    };
    let cats = names(&mut f, &["ACL", "CAT"]);
    assert_eq!(cats, names(&mut r, &["ACL", "CAT"]));
    // Every command (and subcommand) both servers have.
    let (mut ours, mut redis_has) = (BTreeSet::new(), BTreeSet::new());
    for c in &cats {
        ours.extend(names(&mut f, &["ACL", "CAT", c]));
        redis_has.extend(names(&mut r, &["ACL", "CAT", c]));
    }
    let common: BTreeSet<String> = ours.intersection(&redis_has).cloned().collect();
    for c in &cats {
        let only_common = |s: BTreeSet<String>| -> BTreeSet<String> {
            s.into_iter().filter(|n| common.contains(n)).collect()
        };
        let mine = only_common(names(&mut f, &["ACL", "CAT", c]));
        let theirs = only_common(names(&mut r, &["ACL", "CAT", c]));
        assert_eq!(mine, theirs, "ACL CAT {c}");
    }
}

/// Whether the connection was closed by the server (a command fails with an I/O error).
fn closed(c: &mut redis::Connection) -> bool {
    c.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    match run(c, &["PING"]) {
        Ok(_) => false,
        Err(e) => e.is_io_error() || e.is_connection_dropped() || e.to_string().contains("closed"),
    }
}

#[test]
fn deleted_users_and_revoked_subscribers_are_disconnected() {
    let servers: Vec<Server> = std::iter::once(Server::start(&["--threads", "2"]))
        .chain(Server::start_redis())
        .collect();
    for (n, s) in servers.iter().enumerate() {
        eprintln!("server {n}");
        let mut admin = s.conn();
        reply(
            &mut admin,
            &["ACL", "SETUSER", "alice", "on", ">pw", "~*", "&*", "+@all"],
        );
        let mut conns: Vec<_> = (0..4).map(|_| s.conn()).collect();
        for c in &mut conns {
            assert_eq!(reply(c, &["AUTH", "alice", "pw"]), "+OK");
        }
        let clients = reply(&mut admin, &["CLIENT", "LIST"]);
        assert_eq!(clients.matches("user=alice").count(), 4, "{clients}");
        assert_eq!(
            reply(&mut admin, &["CLIENT", "KILL", "USER", "nosuch"]),
            "-ERR No such user 'nosuch'"
        );
        assert_eq!(reply(&mut admin, &["ACL", "DELUSER", "alice"]), ":1");
        for c in &mut conns {
            assert!(closed(c), "port {}", s.port);
        }
        // A subscriber whose channel is revoked.
        reply(
            &mut admin,
            &[
                "ACL",
                "SETUSER",
                "bob",
                "on",
                ">pw",
                "~*",
                "resetchannels",
                "&news",
                "&other",
                "+@all",
            ],
        );
        let mut sub = s.raw();
        sub.s
            .set_read_timeout(Some(Duration::from_secs(2)))
            .unwrap();
        sub.send(b"AUTH bob pw\r\nSUBSCRIBE news\r\n");
        sub.expect(b"+OK\r\n*3\r\n$9\r\nsubscribe\r\n$4\r\nnews\r\n:1\r\n");
        let mut keeper = s.conn();
        assert_eq!(reply(&mut keeper, &["AUTH", "bob", "pw"]), "+OK");
        // Still allowed: kept.
        assert_eq!(
            reply(&mut admin, &["ACL", "SETUSER", "bob", "&more"]),
            "+OK"
        );
        sub.send(b"PING\r\n");
        sub.expect(b"*2\r\n$4\r\npong\r\n$0\r\n\r\n");
        assert_eq!(
            reply(
                &mut admin,
                &["ACL", "SETUSER", "bob", "resetchannels", "&other"]
            ),
            "+OK"
        );
        assert!(sub.is_closed(), "port {}", s.port);
        // Not subscribed: kept.
        assert!(!closed(&mut keeper), "port {}", s.port);
        // CLIENT KILL USER.
        assert_eq!(reply(&mut admin, &["CLIENT", "KILL", "USER", "bob"]), ":1");
        assert!(closed(&mut keeper));
    }
}

#[test]
fn acl_file_load_and_save() {
    let dir = crate::common::temp_file("aclfile");
    std::fs::create_dir_all(&dir).unwrap();
    let write_file = |name: &str, text: &str| {
        let p = dir.join(name);
        std::fs::File::create(&p)
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
        p.to_string_lossy().into_owned()
    };
    let good = "user alice on #2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae ~k* &* +@all\nuser default on nopass ~* &* +@all\n\n";
    let path = write_file("users.acl", good);
    let redis_path = write_file("redis-users.acl", good);
    let mut servers = vec![Server::start(&["--aclfile", &path])];
    servers.extend(Server::start_redis_with(&["--aclfile", &redis_path]));
    let paths = [path.clone(), redis_path.clone()];
    let mut replies: Vec<Vec<String>> = Vec::new();
    for (s, p) in servers.iter().zip(&paths) {
        let mut admin = s.conn();
        let mut alice = s.conn();
        let mut got = vec![
            reply(&mut admin, &["ACL", "LIST"]),
            reply(&mut alice, &["AUTH", "alice", "foo"]),
            reply(
                &mut admin,
                &["ACL", "SETUSER", "bob", "on", ">x", "+get", "~*"],
            ),
            reply(&mut admin, &["ACL", "SAVE"]),
        ];
        let saved = std::fs::read_to_string(p).unwrap();
        got.push(saved.clone());
        // A broken file changes nothing and names the problems.
        // (Redis 7.0.15 crashes on an unmatched selector parenthesis in the file: not compared.)
        std::fs::write(p, "user carol on +nosuch\nbogus line\n").unwrap();
        let e = reply(&mut admin, &["ACL", "LOAD"]);
        got.push(e.replace(p.as_str(), "FILE"));
        got.push(reply(&mut admin, &["ACL", "USERS"]));
        // A good file replaces the users; alice's connection goes.
        std::fs::write(p, "user erin on nopass ~* +@all\n").unwrap();
        got.push(reply(&mut admin, &["ACL", "LOAD"]));
        got.push(reply(&mut admin, &["ACL", "LIST"]));
        assert!(closed(&mut alice), "port {}", s.port);
        assert_eq!(
            reply(&mut admin, &["PING"]),
            "+PONG",
            "server {}",
            replies.len()
        );
        replies.push(got);
    }
    assert!(replies[0][4].contains("user bob on #"), "{}", replies[0][4]);
    assert!(
        replies[0][5].starts_with("-ERR FILE:1: Error in applying operation '+nosuch'"),
        "{}",
        replies[0][5]
    );
    // An unmatched selector parenthesis is an error like the others.
    std::fs::write(&path, "user dave on (+get\n").unwrap();
    let mut c = servers[0].conn();
    assert_eq!(
        reply(&mut c, &["ACL", "LOAD"]).replace(path.as_str(), "FILE"),
        "-ERR FILE:1: Unmatched parenthesis in selector definition.WARNING: ACL errors detected, no change to the previously active ACL rules was performed"
    );
    for other in &replies[1..] {
        assert_eq!(&replies[0], other, "ferrokv vs redis-server");
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn user_lines_in_the_config_file() {
    let dir = crate::common::temp_file("acl-conf");
    std::fs::create_dir_all(&dir).unwrap();
    let conf = dir.join("ferrokv.conf");
    std::fs::write(
        &conf,
        "user alice on >pw ~app:* +@read +@write -@dangerous\nuser default off\n",
    )
    .unwrap();
    let conf = conf.to_string_lossy().into_owned();
    let servers: Vec<Server> = std::iter::once(Server::start(&["--config", &conf]))
        .chain(Server::start_redis_with(&[&conf]))
        .collect();
    same_replies(
        &servers,
        &[
            (&["GET", "x"], Some("-NOAUTH")),
            (&["AUTH", "pw"], Some("-WRONGPASS")),
            (&["AUTH", "alice", "pw"], Some("+OK")),
            (&["SET", "app:1", "v"], Some("+OK")),
            (&["GET", "other"], Some(KEY_DENIED)),
            (&["ACL", "LIST"], Some("-NOPERM")),
        ],
    );
    // An ACL file and user lines together are refused, as Redis does.
    let out = crate::common::run_to_exit(&["--config", &conf, "--aclfile", "/nonexistent.acl"]);
    assert!(!out.status.success());
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn acl_pubsub_default_decides_new_users_channels() {
    let servers = both(&[]);
    same_replies(
        &servers,
        &[
            (
                &["CONFIG", "GET", "acl-pubsub-default"],
                Some("resetchannels"),
            ),
            (&["ACL", "SETUSER", "a"], Some("+OK")),
            (
                &["CONFIG", "SET", "acl-pubsub-default", "allchannels"],
                Some("+OK"),
            ),
            (&["ACL", "SETUSER", "b"], Some("+OK")),
            (&["ACL", "LIST"], None),
            (&["CONFIG", "SET", "acl-pubsub-default", "bogus"], None),
            (&["CONFIG", "GET", "acllog-max-len"], Some("128")),
            (&["CONFIG", "SET", "acllog-max-len", "2"], Some("+OK")),
            (&["CONFIG", "GET", "aclfile"], None),
        ],
    );
}

#[test]
fn config_rewrite_keeps_the_users() {
    let dir = crate::common::temp_file("acl-rewrite");
    std::fs::create_dir_all(&dir).unwrap();
    let conf = dir.join("ferrokv.conf");
    // (CONFIG REWRITE writes `dir` as an absolute path: one that outlives the first server.)
    std::fs::write(&conf, format!("dir {}\n", dir.display())).unwrap();
    let conf = conf.to_string_lossy().into_owned();
    let s = Server::start(&["--config", &conf]);
    let mut c = s.conn();
    assert_eq!(
        reply(
            &mut c,
            &[
                "ACL",
                "SETUSER",
                "alice",
                "on",
                ">pw",
                "~k*",
                "+@read",
                "(+set ~w*)"
            ]
        ),
        "+OK"
    );
    assert_eq!(reply(&mut c, &["CONFIG", "REWRITE"]), "+OK");
    let before = reply(&mut c, &["ACL", "LIST"]);
    let text = std::fs::read_to_string(&conf).unwrap();
    assert!(text.contains("\nuser alice on #"), "{text}");
    assert!(
        text.contains("\nuser default on nopass ~* &* +@all"),
        "{text}"
    );
    drop(c);
    drop(s);
    let s = Server::start(&["--config", &conf]);
    let mut c = s.conn();
    // As Redis, a config-file `user default` line starts from `reset`, which adds the
    // sanitize-payload flag.
    assert_eq!(
        reply(&mut c, &["ACL", "LIST"]),
        before.replace(
            "user default on nopass",
            "user default on nopass sanitize-payload"
        )
    );
    assert_eq!(reply(&mut c, &["AUTH", "alice", "pw"]), "+OK");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn default_user_subscribers_go_when_its_channels_are_revoked() {
    for s in &both(&[]) {
        let mut admin = s.conn();
        let mut sub = s.raw();
        sub.s
            .set_read_timeout(Some(Duration::from_secs(2)))
            .unwrap();
        sub.send(b"SUBSCRIBE news\r\n");
        sub.expect(b"*3\r\n$9\r\nsubscribe\r\n$4\r\nnews\r\n:1\r\n");
        assert_eq!(
            reply(
                &mut admin,
                &["ACL", "SETUSER", "default", "resetchannels", "&other"]
            ),
            "+OK"
        );
        assert!(sub.is_closed(), "port {}", s.port);
        // The admin (not subscribed) stays.
        assert_eq!(
            reply(&mut admin, &["ACL", "SETUSER", "default", "allchannels"]),
            "+OK"
        );
        assert_eq!(reply(&mut admin, &["PING"]), "+PONG");
    }
}
