//! CLUSTER, READONLY, READWRITE and ASKING compared with a real redis-server 7.0.15 started
//! without `cluster-enabled` (skipped when none is installed): every CLUSTER subcommand with
//! every number of arguments from none to a few too many, in RESP2 and RESP3, byte for byte,
//! inside MULTI too; then what COMMAND says of them (INFO, GETKEYS, LIST FILTERBY).
//!
//! Redis lists a container's subcommands in hash-table order, which changes with each
//! process's hash seed: COMMAND INFO cluster and COMMAND LIST are compared with the
//! subcommands sorted by name.

use crate::common::Server;
use crate::conn_util::{call, call_text};
use redis::Value;

/// Every CLUSTER subcommand of Redis 7.0.
const SUBCOMMANDS: &[&str] = &[
    "ADDSLOTS",
    "ADDSLOTSRANGE",
    "BUMPEPOCH",
    "COUNT-FAILURE-REPORTS",
    "COUNTKEYSINSLOT",
    "DELSLOTS",
    "DELSLOTSRANGE",
    "FAILOVER",
    "FLUSHSLOTS",
    "FORGET",
    "GETKEYSINSLOT",
    "HELP",
    "INFO",
    "KEYSLOT",
    "LINKS",
    "MEET",
    "MYID",
    "NODES",
    "REPLICAS",
    "REPLICATE",
    "RESET",
    "SAVECONFIG",
    "SET-CONFIG-EPOCH",
    "SETSLOT",
    "SHARDS",
    "SLAVES",
    "SLOTS",
];

/// Argument lists to send: each subcommand with 0 to 4 extra arguments (which covers the
/// valid and the invalid arities of all of them), spelled in several cases, and the
/// container's and the connection commands' own cases.
fn script() -> Vec<Vec<String>> {
    let mut out: Vec<Vec<String>> = Vec::new();
    for sub in SUBCOMMANDS {
        for extra in 0..=4 {
            let mut args = vec!["CLUSTER".to_string(), sub.to_string()];
            args.extend((0..extra).map(|i| format!("{}", 100 + i)));
            out.push(args);
        }
        out.push(vec!["cluster".into(), sub.to_lowercase(), "x".into()]);
    }
    for line in [
        "CLUSTER",
        "cluster",
        "CLUSTER NOSUCH",
        "CLUSTER NOSUCH a b",
        "CLUSTER KEYSLOT foo",
        "CLUSTER COUNTKEYSINSLOT 0",
        "CLUSTER GETKEYSINSLOT 0 10",
        "CLUSTER SETSLOT 1 NODE abc",
        "CLUSTER RESET HARD",
        "CLUSTER FAILOVER FORCE",
        "READONLY",
        "READONLY x",
        "readonly",
        "READWRITE",
        "READWRITE x y",
        "ASKING",
        "asking",
        "ASKING x",
        "GET after-readonly",
    ] {
        out.push(line.split(' ').map(String::from).collect());
    }
    out
}

#[test]
fn replies_match_redis_without_cluster_mode() {
    let Some(redis) = Server::start_redis() else {
        eprintln!("skipped: redis-server not found");
        return;
    };
    let ours = Server::start(&["--threads", "2"]);
    let script = script();
    for proto in ["2", "3"] {
        let (mut a, mut b) = (redis.raw(), ours.raw());
        call(&mut a, &["HELLO", proto]);
        call(&mut b, &["HELLO", proto]);
        for args in &script {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            assert_eq!(
                call_text(&mut b, &args),
                call_text(&mut a, &args),
                "RESP{proto} {args:?}"
            );
        }
    }
}

#[test]
fn inside_multi_as_redis() {
    let Some(redis) = Server::start_redis() else {
        eprintln!("skipped: redis-server not found");
        return;
    };
    let ours = Server::start(&[]);
    let runs: &[&[&[&str]]] = &[
        // Queued, then each fails inside EXEC.
        &[
            &["MULTI"],
            &["CLUSTER", "INFO"],
            &["READONLY"],
            &["ASKING"],
            &["READWRITE"],
            &["SET", "k", "v"],
            &["EXEC"],
        ],
        // An arity error or an unknown subcommand aborts the transaction at EXEC.
        &[&["MULTI"], &["CLUSTER", "KEYSLOT"], &["EXEC"]],
        &[&["MULTI"], &["CLUSTER", "NOSUCH"], &["EXEC"]],
        &[&["MULTI"], &["READONLY", "x"], &["EXEC"]],
    ];
    for run in runs {
        let (mut a, mut b) = (redis.raw(), ours.raw());
        for args in *run {
            assert_eq!(call_text(&mut b, args), call_text(&mut a, args), "{args:?}");
        }
    }
}

#[test]
fn command_introspection_matches_redis() {
    let Some(redis) = Server::start_redis() else {
        eprintln!("skipped: redis-server not found");
        return;
    };
    let ours = Server::start(&[]);
    let (mut a, mut b) = (redis.raw(), ours.raw());
    let mut exact: Vec<Vec<String>> = vec![
        vec![
            "COMMAND".into(),
            "INFO".into(),
            "readonly".into(),
            "READWRITE".into(),
            "asking".into(),
        ],
        vec![
            "COMMAND".into(),
            "GETKEYS".into(),
            "CLUSTER".into(),
            "KEYSLOT".into(),
            "foo".into(),
        ],
        vec![
            "COMMAND".into(),
            "GETKEYS".into(),
            "CLUSTER".into(),
            "COUNTKEYSINSLOT".into(),
            "1".into(),
        ],
        vec![
            "COMMAND".into(),
            "GETKEYS".into(),
            "CLUSTER".into(),
            "GETKEYSINSLOT".into(),
            "1".into(),
            "2".into(),
        ],
        vec![
            "COMMAND".into(),
            "GETKEYS".into(),
            "CLUSTER".into(),
            "INFO".into(),
        ],
        vec![
            "COMMAND".into(),
            "GETKEYS".into(),
            "CLUSTER".into(),
            "NOSUCH".into(),
        ],
        vec![
            "COMMAND".into(),
            "GETKEYS".into(),
            "CLUSTER".into(),
            "KEYSLOT".into(),
        ],
        vec![
            "COMMAND".into(),
            "GETKEYS".into(),
            "READONLY".into(),
            "x".into(),
        ],
        vec![
            "COMMAND".into(),
            "GETKEYSANDFLAGS".into(),
            "CLUSTER".into(),
            "KEYSLOT".into(),
            "foo".into(),
        ],
        vec!["COMMAND".into(), "INFO".into(), "cluster|nosuch".into()],
    ];
    for sub in SUBCOMMANDS {
        exact.push(vec![
            "COMMAND".into(),
            "INFO".into(),
            format!("cluster|{}", sub.to_lowercase()),
        ]);
    }
    for proto in ["2", "3"] {
        call(&mut a, &["HELLO", proto]);
        call(&mut b, &["HELLO", proto]);
        for args in &exact {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            assert_eq!(
                call_text(&mut b, &args),
                call_text(&mut a, &args),
                "RESP{proto} {args:?}"
            );
        }
    }

    // COMMAND INFO cluster, subcommands sorted; COMMAND LIST as sets of names.
    let (mut ra, mut rb) = (redis.conn(), ours.conn());
    let info = |c: &mut redis::Connection| -> Value {
        let v: Value = redis::cmd("COMMAND")
            .arg("INFO")
            .arg("cluster")
            .query(c)
            .unwrap();
        sort_subcommands(v)
    };
    assert_eq!(info(&mut rb), info(&mut ra));
    for filter in [
        &["FILTERBY", "PATTERN", "cluster*"][..],
        &["FILTERBY", "PATTERN", "cluster|*"],
        &["FILTERBY", "PATTERN", "read*"],
        &["FILTERBY", "MODULE", "cluster"],
    ] {
        let list = |c: &mut redis::Connection| -> Vec<String> {
            let mut v: Vec<String> = redis::cmd("COMMAND")
                .arg("LIST")
                .arg(filter)
                .query(c)
                .unwrap();
            v.sort();
            v
        };
        assert_eq!(list(&mut rb), list(&mut ra), "{filter:?}");
    }
    let list: Vec<String> = redis::cmd("COMMAND")
        .arg(&["LIST", "FILTERBY", "PATTERN", "cluster|*"])
        .query(&mut rb)
        .unwrap();
    assert_eq!(list.len(), SUBCOMMANDS.len());
    assert!(list.contains(&"cluster|help".to_string()));
}

/// `COMMAND INFO cluster` with the subcommands (the tenth field) in name order.
fn sort_subcommands(v: Value) -> Value {
    let Value::Array(mut commands) = v else {
        panic!("COMMAND INFO reply {v:?}")
    };
    for c in &mut commands {
        if let Value::Array(fields) = c {
            if let Some(Value::Array(subs)) = fields.get_mut(9) {
                subs.sort_by_key(|s| format!("{s:?}"));
            }
        }
    }
    Value::Array(commands)
}
