//! COMMAND DOCS against a real redis-server 7.0.15 (skipped when it is absent): every command
//! in ferrokv's COMMAND LIST documents itself exactly as Redis does, in RESP2 and RESP3, with
//! Redis's field order inside each map.
//!
//! Two things are compared as Redis cannot order them: a container's `subcommands` map (Redis
//! iterates a hash table) is sorted by name and restricted to the subcommands ferrokv has, and
//! the no-argument form is compared as a set of names.

use std::time::Duration;

use crate::common::Server;
use redis::Value;

/// ferrokv commands that Redis 7.0.15 does not have (their docs come from Redis 7.2).
const NEWER: &[&str] = &["client|setinfo", "client|no-touch"];

fn connect(s: &Server, resp3: bool) -> redis::Connection {
    let url = if resp3 {
        format!("{}?protocol=resp3", s.url())
    } else {
        s.url()
    };
    let c = redis::Client::open(url)
        .expect("client")
        .get_connection()
        .expect("connect");
    c.set_read_timeout(Some(Duration::from_secs(10))).ok();
    c
}

fn query(c: &mut redis::Connection, args: &[&str]) -> Value {
    let mut cmd = redis::cmd(args[0]);
    for a in &args[1..] {
        cmd.arg(*a);
    }
    cmd.query(c).expect("query")
}

fn text(v: &Value) -> String {
    match v {
        Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
        Value::SimpleString(s) => s.clone(),
        other => panic!("not a string: {other:?}"),
    }
}

/// A map's entries whether it came as a RESP3 map or a RESP2 flat array.
fn entries(v: &Value) -> Vec<(Value, Value)> {
    match v {
        Value::Map(m) => m.clone(),
        Value::Array(a) => {
            assert!(a.len() % 2 == 0, "odd map {a:?}");
            a.chunks(2).map(|p| (p[0].clone(), p[1].clone())).collect()
        }
        other => panic!("not a map: {other:?}"),
    }
}

fn rebuild(like: &Value, e: Vec<(Value, Value)>) -> Value {
    match like {
        Value::Map(_) => Value::Map(e),
        _ => Value::Array(e.into_iter().flat_map(|(k, v)| [k, v]).collect()),
    }
}

/// Sorts every `subcommands` map by name, keeping only names in `keep` (None = all), and drops
/// the [`NEWER`] ones.
fn normalize(docs: &Value, keep: Option<&[String]>) -> Value {
    let e = entries(docs)
        .into_iter()
        .map(|(k, v)| {
            if text(&k) != "subcommands" {
                return (k, v);
            }
            let mut subs: Vec<(Value, Value)> = entries(&v)
                .into_iter()
                .filter(|(n, _)| {
                    let n = text(n);
                    !NEWER.contains(&n.as_str()) && keep.is_none_or(|k| k.contains(&n))
                })
                .map(|(n, d)| (n, normalize(&d, None)))
                .collect();
            subs.sort_by_key(|(n, _)| text(n));
            (k, rebuild(&v, subs))
        })
        .collect();
    rebuild(docs, e)
}

fn command_list(c: &mut redis::Connection) -> Vec<String> {
    match query(c, &["COMMAND", "LIST"]) {
        Value::Array(a) | Value::Set(a) => a.iter().map(text).collect(),
        other => panic!("{other:?}"),
    }
}

#[test]
fn command_docs_match_redis() {
    let Some(redis) = Server::start_redis() else {
        eprintln!("redis-server not found; skipping");
        return;
    };
    let ours = Server::start(&[]);
    for resp3 in [false, true] {
        let mut f = connect(&ours, resp3);
        let mut r = connect(&redis, resp3);
        let names = command_list(&mut f);
        assert!(names.len() > 150, "{names:?}");
        let mut compared = 0;
        for name in &names {
            let mine = query(&mut f, &["COMMAND", "DOCS", name]);
            let e = entries(&mine);
            assert_eq!(e.len(), 1, "{name}: {mine:?}");
            assert_eq!(text(&e[0].0), *name);
            if NEWER.contains(&name.as_str()) {
                continue;
            }
            let theirs = query(&mut r, &["COMMAND", "DOCS", name]);
            let te = entries(&theirs);
            assert_eq!(te.len(), 1, "redis lacks {name}");
            assert_eq!(text(&te[0].0), *name);
            let mine = normalize(&e[0].1, None);
            let theirs = normalize(&te[0].1, Some(&names));
            assert_eq!(mine, theirs, "COMMAND DOCS {name} (resp3: {resp3})");
            compared += 1;
        }
        assert_eq!(compared, names.len() - NEWER.len());

        // No arguments: every top-level command (a set of names; Redis's order is a hash
        // table's).
        let top = |v: &Value| -> Vec<String> {
            let mut n: Vec<String> = entries(v).iter().map(|(k, _)| text(k)).collect();
            n.sort();
            n
        };
        let mut mine_all = top(&query(&mut f, &["COMMAND", "DOCS"]));
        let theirs_all: Vec<String> = top(&query(&mut r, &["COMMAND", "DOCS"]))
            .into_iter()
            .filter(|n| names.contains(n))
            .collect();
        let mut expected: Vec<String> =
            names.iter().filter(|n| !n.contains('|')).cloned().collect();
        expected.sort();
        assert_eq!(mine_all, expected);
        mine_all.retain(|n| theirs_all.contains(n));
        assert_eq!(mine_all, theirs_all);

        // Unknown names are skipped; the rest keep the requested order; names are
        // case-insensitive and `container|sub` works.
        for args in [
            &["COMMAND", "DOCS", "GET", "nosuch", "Client|Kill", "set"][..],
            &["COMMAND", "DOCS", "nosuch"][..],
            &["COMMAND", "DOCS", "client|nosuch", "get|x", "lpush"][..],
        ] {
            let mine = normalize(&query(&mut f, args), None);
            let theirs = normalize(&query(&mut r, args), None);
            assert_eq!(mine, theirs, "{args:?}");
        }
    }
}

/// One COMMAND INFO entry with its subcommands sorted by name (Redis iterates a hash table)
/// and restricted to those in `keep`.
fn normalized_info(v: &Value, keep: &dyn Fn(&str) -> bool) -> Value {
    let Value::Array(fields) = v else {
        panic!("an entry is an array: {v:?}")
    };
    let mut fields = fields.clone();
    if let Some(Value::Array(subs)) = fields.get_mut(9) {
        let mut kept: Vec<Value> = subs
            .iter()
            .filter(|s| keep(&info_name(s)))
            .map(|s| normalized_info(s, keep))
            .collect();
        kept.sort_by_key(info_name);
        *subs = kept;
    }
    Value::Array(fields)
}

fn info_name(v: &Value) -> String {
    match v {
        Value::Array(f) => match &f[0] {
            Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
            other => panic!("{other:?}"),
        },
        other => panic!("{other:?}"),
    }
}

/// COMMAND INFO (flags, ACL categories, tips, key specs) is Redis's for every command both
/// have, but ZRANK/ZREVRANK, which take Redis 7.2's WITHSCORE (arity -3 instead of 3).
#[test]
fn command_info_matches_redis() {
    let Some(redis) = Server::start_redis() else {
        return;
    };
    let ferrokv = Server::start(&[]);
    let all = |s: &Server| -> Vec<Value> {
        let mut c = connect(s, false);
        match redis::cmd("COMMAND").query::<Value>(&mut c).unwrap() {
            Value::Array(v) => v,
            other => panic!("{other:?}"),
        }
    };
    let theirs: std::collections::HashMap<String, Value> = all(&redis)
        .into_iter()
        .map(|v| (info_name(&v), v))
        .collect();
    let keep = |n: &str| !NEWER.contains(&n);
    let mut compared = 0;
    for ours in all(&ferrokv) {
        let name = info_name(&ours);
        if ["zrank", "zrevrank"].contains(&name.as_str()) {
            continue;
        }
        let Some(t) = theirs.get(&name) else {
            continue;
        };
        // Redis lists only the subcommands both have.
        let ours_subs: Vec<String> = match &ours {
            Value::Array(f) => match &f[9] {
                Value::Array(s) => s.iter().map(info_name).collect(),
                _ => vec![],
            },
            _ => vec![],
        };
        let both = |n: &str| keep(n) && (ours_subs.is_empty() || ours_subs.iter().any(|o| o == n));
        assert_eq!(
            normalized_info(&ours, &both),
            normalized_info(t, &both),
            "COMMAND INFO {name}"
        );
        compared += 1;
    }
    assert!(compared > 150, "{compared} commands compared");
}
