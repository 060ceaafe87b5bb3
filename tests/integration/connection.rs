//! Connection-level behaviour against the real binary: PING/ECHO/SELECT/QUIT, HELLO and
//! RESP3 (exact bytes), AUTH, RESET, every CLIENT subcommand and its errors, CLIENT KILL across
//! loops, maxclients and idle timeouts.

use std::time::{Duration, Instant};

use crate::common::{self, err, run, Server};
use crate::conn_util::{
    self, bulk_body, call, call_text, encode, parse_client_line, parse_client_list,
};
use redis::Value;

fn text(c: &mut redis::Connection, args: &[&str]) -> String {
    match run(c, args).unwrap() {
        Value::BulkString(b) => String::from_utf8(b).unwrap(),
        Value::SimpleString(s) => s,
        Value::Okay => "OK".into(),
        other => panic!("{args:?}: unexpected {other:?}"),
    }
}

fn int(c: &mut redis::Connection, args: &[&str]) -> i64 {
    match run(c, args).unwrap() {
        Value::Int(n) => n,
        other => panic!("{args:?}: unexpected {other:?}"),
    }
}

/// Waits until the connection is closed by the server (EOF or reset) within the raw timeout.
fn assert_closed(raw: &mut common::Raw) {
    raw.s
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    assert!(raw.is_closed(), "connection was not closed");
}

#[test]
fn ping_echo_select_quit() {
    let s = Server::start(&["--threads", "2"]);
    let mut c = s.conn();
    assert_eq!(
        run(&mut c, &["PING"]).unwrap(),
        Value::SimpleString("PONG".into())
    );
    assert_eq!(text(&mut c, &["PING", "hello"]), "hello");
    assert_eq!(
        err(&mut c, &["PING", "a", "b"]),
        "ERR wrong number of arguments for 'ping' command"
    );
    assert_eq!(text(&mut c, &["ECHO", "a b\r\nc"]), "a b\r\nc");
    assert_eq!(
        err(&mut c, &["ECHO"]),
        "ERR wrong number of arguments for 'echo' command"
    );
    assert_eq!(text(&mut c, &["SELECT", "15"]), "OK");
    assert_eq!(
        err(&mut c, &["SELECT", "16"]),
        "ERR DB index is out of range"
    );
    assert_eq!(
        err(&mut c, &["SELECT", "-1"]),
        "ERR DB index is out of range"
    );
    assert_eq!(
        err(&mut c, &["SELECT", "x"]),
        "ERR value is not an integer or out of range"
    );
    let info = text(&mut c, &["CLIENT", "INFO"]);
    assert!(info.contains(" db=15 "), "{info}");

    // QUIT replies OK and closes; a command pipelined after it never runs.
    let mut raw = s.raw();
    raw.send(b"QUIT\r\nPING\r\n");
    raw.expect(b"+OK\r\n");
    assert_closed(&mut raw);
}

#[test]
fn hello_switches_protocol_with_exact_resp3_bytes() {
    let s = Server::start(&["--threads", "2"]);
    let mut raw = s.raw();
    let id: i64 = {
        let r = call_text(&mut raw, &["CLIENT", "ID"]);
        r.trim_start_matches(':').trim().parse().unwrap()
    };
    let map = |proto: u8, head: &str| {
        format!(
            "{head}$6\r\nserver\r\n$7\r\nferrokv\r\n$7\r\nversion\r\n$6\r\n7.0.15\r\n$5\r\nproto\r\n:{proto}\r\n$2\r\nid\r\n:{id}\r\n$4\r\nmode\r\n$10\r\nstandalone\r\n$4\r\nrole\r\n$6\r\nmaster\r\n$7\r\nmodules\r\n*0\r\n"
        )
    };
    // HELLO with no version replies in the current protocol.
    assert_eq!(call_text(&mut raw, &["HELLO"]), map(2, "*14\r\n"));
    assert_eq!(call_text(&mut raw, &["HELLO", "3"]), map(3, "%7\r\n"));
    // RESP3 from now on: null is `_`, maps are `%`, INFO-like text is verbatim.
    assert_eq!(call_text(&mut raw, &["GET", "missing"]), "_\r\n");
    assert_eq!(call_text(&mut raw, &["PING"]), "+PONG\r\n");
    assert_eq!(call_text(&mut raw, &["CLIENT", "GETNAME"]), "_\r\n");
    assert_eq!(call_text(&mut raw, &["HELLO"]), map(3, "%7\r\n"));
    let info = call(&mut raw, &["CLIENT", "INFO"]);
    assert!(info.starts_with(b"="), "{}", String::from_utf8_lossy(&info));
    assert!(String::from_utf8_lossy(&info).contains("\r\ntxt:id="));
    assert!(bulk_body(&info).contains(" resp=3 "));
    assert_eq!(
        call_text(&mut raw, &["CONFIG", "GET", "maxclients"]),
        "%1\r\n$10\r\nmaxclients\r\n$5\r\n10000\r\n"
    );
    assert_eq!(
        call_text(&mut raw, &["CLIENT", "TRACKINGINFO"]),
        "%3\r\n$5\r\nflags\r\n~1\r\n$3\r\noff\r\n$8\r\nredirect\r\n:-1\r\n$8\r\nprefixes\r\n*0\r\n"
    );
    // Back to RESP2.
    assert_eq!(call_text(&mut raw, &["HELLO", "2"]), map(2, "*14\r\n"));
    assert_eq!(call_text(&mut raw, &["GET", "missing"]), "$-1\r\n");
    assert!(bulk_body(&call(&mut raw, &["CLIENT", "INFO"])).contains(" resp=2 "));
}

#[test]
fn hello_errors_auth_and_setname() {
    let s = Server::start(&["--threads", "1"]);
    let mut c = s.conn();
    assert_eq!(
        err(&mut c, &["HELLO", "4"]),
        "NOPROTO unsupported protocol version"
    );
    assert_eq!(
        err(&mut c, &["HELLO", "1"]),
        "NOPROTO unsupported protocol version"
    );
    assert_eq!(
        err(&mut c, &["HELLO", "abc"]),
        "ERR Protocol version is not an integer or out of range"
    );
    assert_eq!(
        err(&mut c, &["HELLO", "AUTH", "default", "x"]),
        "ERR Protocol version is not an integer or out of range"
    );
    assert_eq!(
        err(&mut c, &["HELLO", "2", "foo"]),
        "ERR Syntax error in HELLO option 'foo'"
    );
    assert_eq!(
        err(&mut c, &["HELLO", "2", "AUTH", "default"]),
        "ERR Syntax error in HELLO option 'AUTH'"
    );
    assert_eq!(
        err(&mut c, &["HELLO", "2", "AUTH", "nobody", "pw"]),
        "WRONGPASS invalid username-password pair or user is disabled."
    );
    assert_eq!(
        err(&mut c, &["HELLO", "2", "SETNAME", "a b"]),
        "ERR Client names cannot contain spaces, newlines or special characters."
    );
    // The default user has no password: any password authenticates it.
    let mut raw = s.raw();
    let reply = call_text(
        &mut raw,
        &["HELLO", "3", "AUTH", "default", "anything", "SETNAME", "me"],
    );
    assert!(reply.starts_with("%7\r\n"), "{reply}");
    assert_eq!(call_text(&mut raw, &["CLIENT", "GETNAME"]), "$2\r\nme\r\n");
}

#[test]
fn auth_without_configured_password() {
    let s = Server::start(&["--threads", "1"]);
    let mut c = s.conn();
    assert_eq!(
        err(&mut c, &["AUTH", "secret"]),
        "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?"
    );
    assert_eq!(text(&mut c, &["AUTH", "default", "whatever"]), "OK");
    assert_eq!(
        err(&mut c, &["AUTH", "bob", "pw"]),
        "WRONGPASS invalid username-password pair or user is disabled."
    );
    assert_eq!(err(&mut c, &["AUTH", "a", "b", "c"]), "ERR syntax error");
    assert_eq!(
        err(&mut c, &["AUTH"]),
        "ERR wrong number of arguments for 'auth' command"
    );
}

#[test]
fn reset_restores_a_fresh_connection() {
    let s = Server::start(&["--threads", "1"]);
    let mut raw = s.raw();
    assert_eq!(call_text(&mut raw, &["SELECT", "3"]), "+OK\r\n");
    assert_eq!(
        call_text(&mut raw, &["CLIENT", "SETNAME", "old"]),
        "+OK\r\n"
    );
    assert!(call_text(&mut raw, &["HELLO", "3"]).starts_with("%7"));
    assert_eq!(
        call_text(&mut raw, &["CLIENT", "TRACKING", "on"]),
        "+OK\r\n"
    );
    assert_eq!(call_text(&mut raw, &["RESET"]), "+RESET\r\n");
    assert_eq!(
        call_text(&mut raw, &["CLIENT", "GETREDIR"]),
        ":-1\r\n",
        "RESET turns tracking off"
    );
    assert_eq!(call_text(&mut raw, &["CLIENT", "GETNAME"]), "$-1\r\n");
    let info = bulk_body(&call(&mut raw, &["CLIENT", "INFO"]));
    assert!(
        info.contains(" db=0 ") && info.contains(" resp=2 ") && info.contains(" name= "),
        "{info}"
    );
    // No flags left (`t` would be tracking), and `qbuf` counts the running command's own
    // bytes, as Redis (`*2\r\n$6\r\nCLIENT\r\n$4\r\nINFO\r\n` is 26 bytes).
    assert!(
        info.contains(" flags=N ") && info.contains(" qbuf=26 "),
        "{info}"
    );
    assert_eq!(
        call_text(&mut raw, &["RESET", "x"]),
        "-ERR wrong number of arguments for 'reset' command\r\n"
    );
}

#[test]
fn client_id_names_and_info() {
    let s = Server::start(&["--threads", "2"]);
    let mut c = s.conn();
    let id = int(&mut c, &["CLIENT", "ID"]);
    assert!(id > 0);
    assert_eq!(run(&mut c, &["CLIENT", "GETNAME"]).unwrap(), Value::Nil);
    assert_eq!(text(&mut c, &["CLIENT", "SETNAME", "worker-1"]), "OK");
    assert_eq!(text(&mut c, &["CLIENT", "GETNAME"]), "worker-1");
    for bad in ["a b", "a\nb", "caf\u{e9}", "tab\there"] {
        assert_eq!(
            err(&mut c, &["CLIENT", "SETNAME", bad]),
            "ERR Client names cannot contain spaces, newlines or special characters.",
            "{bad:?}"
        );
    }
    assert_eq!(text(&mut c, &["CLIENT", "GETNAME"]), "worker-1");
    // An empty name removes it.
    assert_eq!(text(&mut c, &["CLIENT", "SETNAME", ""]), "OK");
    assert_eq!(run(&mut c, &["CLIENT", "GETNAME"]).unwrap(), Value::Nil);

    let info = text(&mut c, &["CLIENT", "INFO"]);
    assert!(
        info.ends_with('\n') && info.lines().count() == 1,
        "{info:?}"
    );
    let fields = parse_client_line(info.trim_end());
    let names: Vec<&str> = fields.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        names,
        [
            "id",
            "addr",
            "laddr",
            "fd",
            "name",
            "age",
            "idle",
            "flags",
            "db",
            "sub",
            "psub",
            "ssub",
            "multi",
            "qbuf",
            "qbuf-free",
            "argv-mem",
            "multi-mem",
            "rbs",
            "rbp",
            "obl",
            "oll",
            "omem",
            "tot-mem",
            "events",
            "cmd",
            "user",
            "redir",
            "resp",
            "lib-name",
            "lib-ver"
        ]
    );
    let get = |k: &str| fields.iter().find(|(n, _)| n == k).unwrap().1.clone();
    assert_eq!(get("id"), id.to_string());
    assert_eq!(get("laddr"), format!("127.0.0.1:{}", s.port));
    assert_eq!(get("flags"), "N");
    assert_eq!(get("cmd"), "client|info");
    assert_eq!(get("user"), "default");
    assert_eq!(get("resp"), "2");

    for (args, msg) in [
        (
            &["CLIENT"][..],
            "ERR wrong number of arguments for 'client' command",
        ),
        (
            &["CLIENT", "ID", "x"],
            "ERR wrong number of arguments for 'client|id' command",
        ),
        (
            &["CLIENT", "INFO", "x"],
            "ERR wrong number of arguments for 'client|info' command",
        ),
        (
            &["CLIENT", "GETNAME", "x"],
            "ERR wrong number of arguments for 'client|getname' command",
        ),
        (
            &["CLIENT", "SETNAME"],
            "ERR wrong number of arguments for 'client|setname' command",
        ),
        (
            &["CLIENT", "FOO"],
            "ERR unknown subcommand 'FOO'. Try CLIENT HELP.",
        ),
        (
            &["client", "foo", "bar"],
            "ERR unknown subcommand 'foo'. Try CLIENT HELP.",
        ),
    ] {
        assert_eq!(err(&mut c, args), msg, "{args:?}");
    }
}

#[test]
fn client_list_filters_and_fields() {
    let s = Server::start(&["--threads", "2"]);
    let mut a = s.conn();
    let mut b = s.conn();
    let id_a = int(&mut a, &["CLIENT", "ID"]);
    let id_b = int(&mut b, &["CLIENT", "ID"]);
    text(&mut b, &["CLIENT", "SETNAME", "bee"]);
    text(&mut b, &["SELECT", "4"]);

    let all = parse_client_list(&text(&mut a, &["CLIENT", "LIST"]));
    let find = |id: i64| all.iter().find(|c| c["id"] == id.to_string()).cloned();
    let me = find(id_a).expect("self listed");
    let other = find(id_b).expect("other listed");
    assert_eq!(me["cmd"], "client|list");
    assert_eq!(other["cmd"], "select");
    assert_eq!(other["name"], "bee");
    assert_eq!(other["db"], "4");
    let ids: Vec<u64> = all.iter().map(|c| c["id"].parse().unwrap()).collect();
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(ids, sorted, "ordered by id");

    let normal = parse_client_list(&text(&mut a, &["CLIENT", "LIST", "TYPE", "normal"]));
    assert_eq!(normal.len(), all.len());
    for t in ["master", "replica", "slave", "pubsub", "PUBSUB"] {
        assert_eq!(text(&mut a, &["CLIENT", "LIST", "TYPE", t]), "", "{t}");
    }
    let by_id = text(
        &mut a,
        &[
            "CLIENT",
            "LIST",
            "ID",
            &id_b.to_string(),
            "999999",
            &id_a.to_string(),
        ],
    );
    let listed: Vec<String> = parse_client_list(&by_id)
        .iter()
        .map(|c| c["id"].clone())
        .collect();
    assert_eq!(listed, [id_b.to_string(), id_a.to_string()]);
    assert_eq!(text(&mut a, &["CLIENT", "LIST", "ID", "0"]), "");

    assert_eq!(
        err(&mut a, &["CLIENT", "LIST", "TYPE", "foo"]),
        "ERR Unknown client type 'foo'"
    );
    assert_eq!(
        err(&mut a, &["CLIENT", "LIST", "ID", "abc"]),
        "ERR Invalid client ID"
    );
    assert_eq!(err(&mut a, &["CLIENT", "LIST", "TYPE"]), "ERR syntax error");
    assert_eq!(err(&mut a, &["CLIENT", "LIST", "ID"]), "ERR syntax error");
    assert_eq!(err(&mut a, &["CLIENT", "LIST", "foo"]), "ERR syntax error");
    assert_eq!(
        err(&mut a, &["CLIENT", "LIST", "TYPE", "normal", "x"]),
        "ERR syntax error"
    );
}

#[test]
fn client_setinfo_lib_name_and_version() {
    let s = Server::start(&["--threads", "1"]);
    let mut c = s.conn();
    assert_eq!(
        text(&mut c, &["CLIENT", "SETINFO", "LIB-NAME", "redis-py"]),
        "OK"
    );
    assert_eq!(
        text(&mut c, &["CLIENT", "SETINFO", "lib-ver", "5.0.1"]),
        "OK"
    );
    let info = text(&mut c, &["CLIENT", "INFO"]);
    assert!(
        info.trim_end()
            .ends_with(" lib-name=redis-py lib-ver=5.0.1"),
        "{info}"
    );
    assert_eq!(
        err(&mut c, &["CLIENT", "SETINFO", "lib-name", "a b"]),
        "ERR lib-name cannot contain spaces, newlines or special characters."
    );
    assert_eq!(
        err(&mut c, &["CLIENT", "SETINFO", "LIB-VER", "1\n2"]),
        "ERR LIB-VER cannot contain spaces, newlines or special characters."
    );
    assert_eq!(
        err(&mut c, &["CLIENT", "SETINFO", "lib-foo", "x"]),
        "ERR Unrecognized option 'lib-foo'"
    );
    assert_eq!(
        err(&mut c, &["CLIENT", "SETINFO", "lib-name"]),
        "ERR wrong number of arguments for 'client|setinfo' command"
    );
    assert_eq!(text(&mut c, &["CLIENT", "SETINFO", "lib-name", ""]), "OK");
    assert!(text(&mut c, &["CLIENT", "INFO"]).contains(" lib-name= lib-ver=5.0.1"));
}

#[test]
fn client_modes_and_help() {
    let s = Server::start(&["--threads", "1"]);
    let mut c = s.conn();
    for sub in ["NO-EVICT", "no-touch"] {
        assert_eq!(text(&mut c, &["CLIENT", sub, "on"]), "OK");
        assert_eq!(text(&mut c, &["CLIENT", sub, "OFF"]), "OK");
        assert_eq!(err(&mut c, &["CLIENT", sub, "maybe"]), "ERR syntax error");
    }
    assert_eq!(int(&mut c, &["CLIENT", "GETREDIR"]), -1);
    assert_eq!(err(&mut c, &["CLIENT", "REPLY", "foo"]), "ERR syntax error");
    let Value::Array(help) = run(&mut c, &["CLIENT", "HELP"]).unwrap() else {
        panic!("help is an array")
    };
    assert_eq!(
        help[0],
        Value::SimpleString(
            "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:".into()
        )
    );
    assert_eq!(
        help[help.len() - 1],
        Value::SimpleString("    Prints this help.".into())
    );
    assert!(help.contains(&Value::SimpleString("SETNAME <name>".into())));
}

/// CLIENT NO-TOUCH (Redis 7.2): the client's commands leave OBJECT FREQ alone, in MULTI too;
/// TOUCH still counts; CLIENT LIST shows `T`. With `lfu-log-factor 0` every access adds one.
#[test]
fn client_no_touch_leaves_access_data_alone() {
    let s = Server::start(&[
        "--threads",
        "2",
        "--maxmemory-policy",
        "allkeys-lfu",
        "--lfu-log-factor",
        "0",
    ]);
    let mut quiet = s.conn();
    let mut other = s.conn();
    run(&mut quiet, &["SET", "k", "v"]).unwrap();
    let base = int(&mut other, &["OBJECT", "FREQ", "k"]);
    assert_eq!(text(&mut quiet, &["CLIENT", "NO-TOUCH", "on"]), "OK");
    let info = text(&mut quiet, &["CLIENT", "INFO"]);
    assert!(client_flags(&info).contains('T'), "{info}");
    for _ in 0..3 {
        assert_eq!(text(&mut quiet, &["GET", "k"]), "v");
    }
    run(&mut quiet, &["APPEND", "k", "w"]).unwrap();
    run(&mut quiet, &["MULTI"]).unwrap();
    run(&mut quiet, &["GET", "k"]).unwrap();
    run(&mut quiet, &["EXEC"]).unwrap();
    assert_eq!(int(&mut other, &["OBJECT", "FREQ", "k"]), base);
    assert_eq!(int(&mut quiet, &["TOUCH", "k"]), 1);
    assert_eq!(int(&mut other, &["OBJECT", "FREQ", "k"]), base + 1);
    assert_eq!(text(&mut other, &["GET", "k"]), "vw");
    assert_eq!(int(&mut other, &["OBJECT", "FREQ", "k"]), base + 2);
    assert_eq!(text(&mut quiet, &["CLIENT", "NO-TOUCH", "off"]), "OK");
    assert_eq!(text(&mut quiet, &["GET", "k"]), "vw");
    assert_eq!(int(&mut other, &["OBJECT", "FREQ", "k"]), base + 3);
    let info = text(&mut quiet, &["CLIENT", "INFO"]);
    assert!(!client_flags(&info).contains('T'), "{info}");
}

fn client_flags(line: &str) -> String {
    parse_client_line(line.trim())
        .into_iter()
        .find(|(k, _)| k == "flags")
        .map(|(_, v)| v)
        .expect("a flags field")
}

#[test]
fn client_reply_off_skip_on() {
    let s = Server::start(&["--threads", "1"]);
    let mut raw = s.raw();
    // SKIP: no reply to SKIP itself nor to the next command.
    raw.send(&encode(&["CLIENT", "REPLY", "SKIP"]));
    raw.send(&encode(&["ECHO", "skipped"]));
    raw.send(&encode(&["ECHO", "shown"]));
    raw.expect(b"$5\r\nshown\r\n");
    // OFF: nothing (errors included) until ON, which replies OK.
    raw.send(&encode(&["CLIENT", "REPLY", "OFF"]));
    raw.send(&encode(&["ECHO", "hidden"]));
    raw.send(&encode(&["NOSUCHCOMMAND"]));
    raw.send(&encode(&["CLIENT", "REPLY", "SKIP"]));
    raw.send(&encode(&["CLIENT", "REPLY", "ON"]));
    raw.send(&encode(&["ECHO", "back"]));
    raw.expect(b"+OK\r\n$4\r\nback\r\n");
}

#[test]
fn client_kill_old_form_by_address() {
    let s = Server::start(&["--threads", "2"]);
    let mut c = s.conn();
    let mut victim = s.raw();
    assert_eq!(call_text(&mut victim, &["PING"]), "+PONG\r\n");
    let victim_addr = victim.s.local_addr().unwrap().to_string();
    assert_eq!(text(&mut c, &["CLIENT", "KILL", &victim_addr]), "OK");
    assert_closed(&mut victim);
    assert_eq!(
        err(&mut c, &["CLIENT", "KILL", &victim_addr]),
        "ERR No such client"
    );
    assert_eq!(
        err(&mut c, &["CLIENT", "KILL", "nonsense"]),
        "ERR No such client"
    );
    // The old form may kill the caller: the reply arrives, then the connection closes.
    let mut me = s.raw();
    let my_addr = me.s.local_addr().unwrap().to_string();
    me.send(&encode(&["CLIENT", "KILL", &my_addr]));
    me.send(&encode(&["PING"]));
    me.expect(b"+OK\r\n");
    assert_closed(&mut me);
}

#[test]
fn client_kill_new_form_filters_and_errors() {
    let s = Server::start(&["--threads", "2"]);
    let mut c = s.conn();
    let my_id = int(&mut c, &["CLIENT", "ID"]);
    let mut v = s.raw();
    let vid = call_text(&mut v, &["CLIENT", "ID"]);
    let vid = vid.trim_start_matches(':').trim().to_string();
    let vaddr = v.s.local_addr().unwrap().to_string();

    for (args, msg) in [
        (
            &["CLIENT", "KILL", "ID", "abc"][..],
            "ERR client-id should be greater than 0",
        ),
        (
            &["CLIENT", "KILL", "ID", "0"],
            "ERR client-id should be greater than 0",
        ),
        (
            &["CLIENT", "KILL", "ID", "-3"],
            "ERR client-id should be greater than 0",
        ),
        (
            &["CLIENT", "KILL", "TYPE", "foo"],
            "ERR Unknown client type 'foo'",
        ),
        (&["CLIENT", "KILL", "SKIPME", "maybe"], "ERR syntax error"),
        (&["CLIENT", "KILL", "ID", "5", "foo"], "ERR syntax error"),
        (&["CLIENT", "KILL", "FOO", "bar"], "ERR syntax error"),
        (&["CLIENT", "KILL", "USER", "bob"], "ERR No such user 'bob'"),
        (
            &["CLIENT", "KILL"],
            "ERR wrong number of arguments for 'client|kill' command",
        ),
    ] {
        assert_eq!(err(&mut c, args), msg, "{args:?}");
    }
    // Filters that match nobody.
    assert_eq!(int(&mut c, &["CLIENT", "KILL", "ID", "999999"]), 0);
    assert_eq!(int(&mut c, &["CLIENT", "KILL", "ADDR", "1.2.3.4:5"]), 0);
    assert_eq!(int(&mut c, &["CLIENT", "KILL", "LADDR", "1.2.3.4:5"]), 0);
    assert_eq!(int(&mut c, &["CLIENT", "KILL", "TYPE", "pubsub"]), 0);
    assert_eq!(
        int(&mut c, &["CLIENT", "KILL", "ID", &vid, "ADDR", "1.2.3.4:5"]),
        0
    );
    // SKIPME yes (the default) protects the caller.
    assert_eq!(
        int(&mut c, &["CLIENT", "KILL", "ID", &my_id.to_string()]),
        0
    );
    // All filters match the victim at once.
    assert_eq!(
        int(
            &mut c,
            &[
                "CLIENT",
                "KILL",
                "ID",
                &vid,
                "ADDR",
                &vaddr,
                "LADDR",
                &format!("127.0.0.1:{}", s.port),
                "TYPE",
                "normal",
                "USER",
                "default",
                "SKIPME",
                "yes"
            ]
        ),
        1
    );
    assert_closed(&mut v);
    assert_eq!(int(&mut c, &["CLIENT", "KILL", "ID", &vid]), 0);

    // SKIPME no: the caller is killed after its reply.
    let mut me = s.raw();
    let me_id = call_text(&mut me, &["CLIENT", "ID"]);
    let me_id = me_id.trim_start_matches(':').trim().to_string();
    me.send(&encode(&["CLIENT", "KILL", "ID", &me_id, "SKIPME", "no"]));
    me.expect(b":1\r\n");
    assert_closed(&mut me);
    // The surviving connection still works.
    assert_eq!(text(&mut c, &["PING"]), "PONG");
}

#[test]
fn client_kill_reaches_connections_on_other_loops() {
    let s = Server::start(&["--threads", "4"]);
    let mut killer = s.conn();
    // With four SO_REUSEPORT listeners, 16 connections spread over several loops.
    let mut victims: Vec<(common::Raw, String)> = (0..16)
        .map(|_| {
            let mut r = s.raw();
            let id = call_text(&mut r, &["CLIENT", "ID"]);
            (r, id.trim_start_matches(':').trim().to_string())
        })
        .collect();
    for (_, id) in &victims {
        assert_eq!(
            int(&mut killer, &["CLIENT", "KILL", "ID", id]),
            1,
            "kill {id}"
        );
    }
    for (raw, id) in &mut victims {
        raw.s
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        assert!(raw.is_closed(), "client {id} still open");
    }
    // Only the killer is left.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let left = parse_client_list(&text(&mut killer, &["CLIENT", "LIST"]));
        if left.len() == 1 {
            break;
        }
        assert!(Instant::now() < deadline, "{left:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn client_kill_type_normal_kills_everyone_else() {
    let s = Server::start(&["--threads", "3"]);
    let mut killer = s.conn();
    let mut others: Vec<common::Raw> = (0..6)
        .map(|_| {
            let mut r = s.raw();
            assert_eq!(call_text(&mut r, &["PING"]), "+PONG\r\n");
            r
        })
        .collect();
    // The readiness probe's connection may still be closing; count only what is listed.
    let listed = parse_client_list(&text(&mut killer, &["CLIENT", "LIST"])).len() as i64;
    let killed = int(&mut killer, &["CLIENT", "KILL", "TYPE", "normal"]);
    assert!(
        killed >= 6 && killed < listed,
        "killed {killed} of {listed}"
    );
    for r in &mut others {
        assert_closed(r);
    }
    assert_eq!(text(&mut killer, &["PING"]), "PONG");
}

#[test]
fn maxclients_rejects_extra_clients() {
    let s = Server::start(&["--threads", "2", "--maxclients", "2"]);
    // Connect until two clients are served (the readiness probe may still hold a slot briefly).
    let mut held = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(5);
    while held.len() < 2 {
        assert!(Instant::now() < deadline, "could not open two clients");
        let mut r = s.raw();
        r.send(b"PING\r\n");
        let first = r.read_n(1);
        if first == b"+" {
            r.expect(b"PONG\r\n");
            held.push(r);
        } else {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    let mut extra = s.raw();
    extra.expect(b"-ERR max number of clients reached\r\n");
    assert_closed(&mut extra);
    let info = conn_util::parse_info(&bulk_body(&call(&mut held[0], &["INFO", "stats"])));
    assert!(
        info["stats"]["rejected_connections"]
            .parse::<u64>()
            .unwrap()
            >= 1
    );
    // Raising the limit at runtime admits a third client.
    assert_eq!(
        call_text(&mut held[0], &["CONFIG", "SET", "maxclients", "3"]),
        "+OK\r\n"
    );
    let mut third = s.raw();
    assert_eq!(call_text(&mut third, &["PING"]), "+PONG\r\n");
}

#[test]
fn idle_clients_are_closed_after_timeout() {
    let s = Server::start(&["--threads", "2", "--timeout", "1"]);
    let mut idle = s.raw();
    assert_eq!(call_text(&mut idle, &["PING"]), "+PONG\r\n");
    let mut busy = s.raw();
    let start = Instant::now();
    // The busy client keeps talking for 2.5 s and must survive.
    while start.elapsed() < Duration::from_millis(2500) {
        assert_eq!(call_text(&mut busy, &["PING"]), "+PONG\r\n");
        std::thread::sleep(Duration::from_millis(200));
    }
    idle.s
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    assert!(idle.is_closed(), "idle client not closed");
    assert!(start.elapsed() < Duration::from_secs(8));
    assert_eq!(
        call_text(&mut busy, &["CONFIG", "GET", "timeout"]),
        "*2\r\n$7\r\ntimeout\r\n$1\r\n1\r\n"
    );
    // timeout 0 disables it again.
    assert_eq!(
        call_text(&mut busy, &["CONFIG", "SET", "timeout", "0"]),
        "+OK\r\n"
    );
    let mut later = s.raw();
    assert_eq!(call_text(&mut later, &["PING"]), "+PONG\r\n");
    std::thread::sleep(Duration::from_millis(2200));
    assert_eq!(call_text(&mut later, &["PING"]), "+PONG\r\n");
}
