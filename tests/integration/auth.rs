//! Authentication against the real binary, differential with redis-server where installed:
//! `requirepass` (flag, CONFIG SET), AUTH in both forms, HELLO AUTH, `-NOAUTH`, `-WRONGPASS`,
//! RESET, clients connected before a password was set, and protected mode.

use std::io::{Read, Write};

use crate::common::{error_text, run, Server};

/// A reply as comparable text: errors as their full line (`-ERR ...`), HELLO's map only as
/// "hello ok" (its contents name the server), the rest in RESP-like text.
pub(crate) fn reply(c: &mut redis::Connection, args: &[&str]) -> String {
    match run(c, args) {
        Err(e) => format!("-{}", error_text(&e)),
        Ok(_) if args[0].eq_ignore_ascii_case("HELLO") => "hello ok".to_string(),
        // Redis lists single-command ACL rules in its command table's hash order, which a
        // random seed picks at start-up: compare the words, not their order.
        Ok(v)
            if args.len() >= 2
                && args[0].eq_ignore_ascii_case("ACL")
                && ["GETUSER", "LIST"]
                    .iter()
                    .any(|s| args[1].eq_ignore_ascii_case(s)) =>
        {
            let t = text(&v);
            let mut words: Vec<&str> = t.split(' ').collect();
            let single = |w: &str| (w.starts_with('+') || w.starts_with('-')) && !w.contains('@');
            let at: Vec<usize> = (0..words.len()).filter(|&i| single(words[i])).collect();
            let mut rules: Vec<&str> = at.iter().map(|&i| words[i]).collect();
            rules.sort_unstable();
            for (i, r) in at.into_iter().zip(rules) {
                words[i] = r;
            }
            words.join(" ")
        }
        Ok(v) => text(&v),
    }
}

fn text(v: &redis::Value) -> String {
    use redis::Value::*;
    match v {
        Okay => "+OK".into(),
        SimpleString(s) => format!("+{s}"),
        BulkString(b) => String::from_utf8_lossy(b).into_owned(),
        Int(n) => format!(":{n}"),
        Nil => "(nil)".into(),
        Array(items) => items.iter().map(text).collect::<Vec<_>>().join(" "),
        other => format!("{other:?}"),
    }
}

/// Runs `steps` on a fresh connection to each server and compares the replies step by step;
/// also checks them against `want` where a step has an expectation.
/// ferrokv and, where installed, redis-server, both started with `flags`.
pub(crate) fn both(flags: &[&str]) -> Vec<Server> {
    std::iter::once(Server::start(flags))
        .chain(Server::start_redis_with(flags))
        .collect()
}

pub(crate) fn same_replies(servers: &[Server], steps: &[(&[&str], Option<&str>)]) {
    let mut seen: Vec<Vec<String>> = Vec::new();
    for s in servers {
        let mut c = s.conn();
        let replies: Vec<String> = steps.iter().map(|(a, _)| reply(&mut c, a)).collect();
        for ((args, want), got) in steps.iter().zip(&replies) {
            if let Some(want) = want {
                assert!(got.contains(want), "{args:?} on port {}: {got}", s.port);
            }
        }
        seen.push(replies);
    }
    for other in &seen[1..] {
        for ((args, _), (a, b)) in steps.iter().zip(seen[0].iter().zip(other)) {
            assert_eq!(a, b, "{args:?}: ferrokv vs redis-server");
        }
    }
}

const NOAUTH: &str = "-NOAUTH Authentication required.";
const WRONGPASS: &str = "-WRONGPASS invalid username-password pair or user is disabled.";

#[test]
fn requirepass_gates_every_command_until_auth() {
    let servers = both(&["--requirepass", "foo"]);
    same_replies(
        &servers,
        &[
            (&["GET", "x"], Some(NOAUTH)),
            (&["PING"], Some(NOAUTH)),
            (&["MULTI"], Some(NOAUTH)),
            (
                &["HELLO", "3"],
                Some("-NOAUTH HELLO must be called with the client already authenticated"),
            ),
            (&["AUTH", "wrong"], Some(WRONGPASS)),
            (&["AUTH", "default", "wrong"], Some(WRONGPASS)),
            (&["AUTH", "alice", "foo"], Some(WRONGPASS)),
            (&["AUTH", "a", "b", "c"], Some("-ERR syntax error")),
            (&["AUTH", "foo"], Some("+OK")),
            (&["SET", "x", "1"], Some("+OK")),
            (&["GET", "x"], None),
            (&["RESET"], None),
            (&["GET", "x"], Some(NOAUTH)),
            (&["HELLO", "2", "AUTH", "default", "wrong"], Some(WRONGPASS)),
            (&["HELLO", "2", "AUTH", "default", "foo"], Some("hello ok")),
            (&["GET", "x"], None),
            (&["QUIT"], Some("+OK")),
        ],
    );
}

#[test]
fn a_password_set_at_run_time_binds_new_clients_only() {
    for s in &both(&[]) {
        let mut before = s.conn();
        assert_eq!(
            reply(&mut before, &["AUTH", "foo"]),
            "-ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?"
        );
        assert_eq!(
            reply(&mut before, &["CONFIG", "SET", "requirepass", "bar"]),
            "+OK"
        );
        // Connected while no password was needed: still authenticated (as Redis).
        assert_eq!(reply(&mut before, &["SET", "k", "v"]), "+OK");
        assert_eq!(
            reply(&mut before, &["CONFIG", "GET", "requirepass"]),
            "requirepass bar"
        );
        let mut after = s.conn();
        assert_eq!(reply(&mut after, &["GET", "k"]), NOAUTH, "port {}", s.port);
        assert_eq!(reply(&mut after, &["AUTH", "bar"]), "+OK");
        assert_eq!(
            reply(&mut after, &["CONFIG", "SET", "requirepass", ""]),
            "+OK"
        );
        let mut open = s.conn();
        assert!(
            reply(&mut open, &["GET", "k"]).contains("v"),
            "port {}",
            s.port
        );
    }
}

#[test]
fn config_get_requirepass_and_protected_mode_match_redis() {
    let servers = both(&["--requirepass", "pw"]);
    same_replies(
        &servers,
        &[
            (&["AUTH", "pw"], None),
            (&["CONFIG", "GET", "requirepass"], Some("pw")),
            (&["CONFIG", "GET", "protected-mode"], Some("yes")),
            (&["CONFIG", "SET", "protected-mode", "maybe"], None),
        ],
    );
}

/// Connects to `port` from the loopback address `source` (not 127.0.0.1: Redis counts only
/// 127.0.0.1 and ::1 as local) and returns what the server sends before closing, if it closes.
fn from_another_address(port: u16, source: &str) -> Option<String> {
    let mut s = crate::common::connect_from(source, port);
    s.write_all(b"PING\r\n").unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return Some(String::from_utf8_lossy(&got).into_owned()),
            Ok(n) => {
                got.extend_from_slice(&buf[..n]);
                if got.starts_with(b"+PONG") {
                    return None;
                }
            }
            Err(_) => return Some(String::from_utf8_lossy(&got).into_owned()),
        }
    }
}

#[test]
fn protected_mode_turns_away_non_loopback_clients_without_a_password() {
    let cases: [(&[&str], bool); 3] = [
        (&[], true),
        (&["--requirepass", "pw"], false),
        (&["--protected-mode", "no"], false),
    ];
    for (flags, denied) in cases {
        let servers = both(flags);
        for s in &servers {
            let got = from_another_address(s.port, "127.0.0.2");
            if denied {
                let text = got.unwrap_or_default();
                assert!(
                    text.starts_with("-DENIED Redis is running in protected mode")
                        && text.ends_with("from the outside.\r\n"),
                    "{flags:?} port {}: {text}",
                    s.port
                );
            } else if let Some(text) = got {
                // With a password the PING gets NOAUTH instead, and the connection stays.
                assert!(
                    text.starts_with("-NOAUTH"),
                    "{flags:?} port {}: {text}",
                    s.port
                );
            }
        }
        if denied {
            // The same text from both, byte for byte.
            let texts: Vec<_> = servers
                .iter()
                .map(|s| from_another_address(s.port, "127.0.0.2"))
                .collect();
            assert!(texts.windows(2).all(|w| w[0] == w[1]), "{texts:?}");
            // Loopback clients are served.
            let mut c = servers[0].conn();
            assert_eq!(reply(&mut c, &["PING"]), "+PONG");
        }
    }
}

#[test]
fn acl_whoami_users_list_genpass_match_redis() {
    for flags in [&[][..], &["--requirepass", "foo"][..]] {
        let servers = both(flags);
        let auth: (&[&str], Option<&str>) = if flags.is_empty() {
            (&["PING"], None)
        } else {
            (&["AUTH", "foo"], Some("+OK"))
        };
        same_replies(
            &servers,
            &[
                auth,
                (&["ACL", "WHOAMI"], Some("default")),
                (&["ACL", "USERS"], Some("default")),
                (&["ACL", "LIST"], Some("user default on ")),
                (
                    &["ACL", "GENPASS", "0"],
                    Some("-ERR ACL GENPASS argument must be"),
                ),
                (
                    &["ACL", "GENPASS", "4097"],
                    Some("-ERR ACL GENPASS argument must be"),
                ),
                (
                    &["ACL", "GENPASS", "x"],
                    Some("-ERR value is not an integer"),
                ),
                (&["ACL", "WHOAMI", "extra"], None),
                (&["ACL"], None),
            ],
        );
        let mut c = servers[0].conn();
        if !flags.is_empty() {
            reply(&mut c, &["AUTH", "foo"]);
        }
        for (bits, chars) in [(None, 64), (Some("5"), 2), (Some("4096"), 1024)] {
            let mut args = vec!["ACL", "GENPASS"];
            args.extend(bits);
            let p = reply(&mut c, &args);
            assert_eq!(p.len(), chars, "{bits:?}: {p}");
            assert!(p.bytes().all(|b| b.is_ascii_hexdigit()), "{p}");
        }
        assert_ne!(
            reply(&mut c, &["ACL", "GENPASS"]),
            reply(&mut c, &["ACL", "GENPASS"])
        );
    }
}
