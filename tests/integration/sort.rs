//! SORT and SORT_RO compared byte for byte with a real redis-server 7.0 (RESP2 and RESP3): a
//! table of edge cases over lists, sets and sorted sets (BY/GET patterns, hash fields,
//! LIMIT, ALPHA, DESC, STORE, nosort, errors) and a seeded random sequence. Cases whose order
//! Redis leaves to its hash tables or to an unstable qsort (a hashtable set with BY nosort,
//! ALPHA BY ties) are left out.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::common::{err, Server};
use crate::conn_util::{call, call_text};

#[rustfmt::skip]
const EDGE_CASES: &[&str] = &[
    "FLUSHALL",
    "SORT missing", "SORT_RO missing", "SORT missing STORE dst", "EXISTS dst",
    "RPUSH l 3 1 2 10 -5 2.5", "SORT l", "SORT l DESC", "SORT l ALPHA", "SORT l ALPHA DESC",
    "SORT l LIMIT 1 2", "SORT l LIMIT -1 2", "SORT l LIMIT 2 -1", "SORT l LIMIT 10 5", "SORT l LIMIT 0 0",
    "SORT l LIMIT 1", "SORT l LIMIT x 1", "SORT l FOO", "SORT_RO l STORE x",
    "SORT l BY nosort", "SORT l BY nosort DESC", "SORT l BY nosort LIMIT 1 3", "SORT l BY nosort DESC LIMIT 1 3",
    "SORT l BY nosort LIMIT 10 3",
    "MSET w_3 30 w_1 10 w_2 20 w_10 5 w_-5 0 w_2.5 25", "SORT l BY w_*", "SORT l BY w_* DESC LIMIT 0 3",
    "SORT l BY w_* GET # GET w_*", "SORT l GET w_* GET missing_* GET nostar", "SORT l BY missing_*",
    "HSET h_3 f c", "HSET h_1 f a", "HSET h_2 f b", "SORT l BY h_*->f ALPHA", "SORT l GET h_*->f", "SORT l GET h_*->",
    "SORT l BY w_* STORE dst", "LRANGE dst 0 -1", "TYPE dst", "SORT l GET w_* GET # STORE dst", "LRANGE dst 0 -1",
    "SORT l LIMIT 0 0 STORE dst", "EXISTS dst", "SET dst x", "EXPIRE dst 100", "SORT l STORE dst", "TTL dst",
    "RPUSH bad 1 x 2", "SORT bad", "SORT bad ALPHA", "SORT bad BY nosort", "SET wbad abc", "SORT l BY wbad",
    "SET s1 hello", "SORT s1", "SORT_RO s1",
    "SADD si 5 3 9 1", "SORT si", "SORT si DESC", "SORT si BY nosort", "SORT si BY nosort LIMIT 1 2",
    "SADD ss b c a", "SORT ss ALPHA", "SORT ss BY nosort STORE dst", "LRANGE dst 0 -1",
    "ZADD z 1 c 2 a 3 b 0 d", "SORT z ALPHA", "SORT z BY nosort", "SORT z BY nosort DESC", "SORT z BY nosort LIMIT 1 2",
    "SORT z BY nosort DESC LIMIT 1 2", "SORT z BY nosort LIMIT 5 2", "SORT z", "SORT z BY nosort GET #",
    "RPUSH e ''", "SORT e", "RPUSH sp ' 3' 1e2 inf -inf", "SORT sp", "RPUSH ov 1e999", "SORT ov",

];

fn words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = line;
    while !rest.is_empty() {
        rest = rest.trim_start();
        if let Some(r) = rest.strip_prefix('\'') {
            let end = r.find('\'').expect("closing quote");
            out.push(r[..end].to_string());
            rest = &r[end + 1..];
        } else {
            let end = rest.find(' ').unwrap_or(rest.len());
            out.push(rest[..end].to_string());
            rest = &rest[end..];
        }
    }
    out
}

fn compare(redis: &Server, ours: &Server, proto: &str, script: &[Vec<String>]) {
    let mut a = redis.raw();
    let mut b = ours.raw();
    call(&mut a, &["HELLO", proto]);
    call(&mut b, &["HELLO", proto]);
    for args in script {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let want = call_text(&mut a, &args);
        let got = call_text(&mut b, &args);
        assert_eq!(got, want, "RESP{proto} {args:?}");
    }
}

#[test]
fn edge_cases_match_real_redis() {
    let Some(redis) = Server::start_redis() else {
        println!("skipped: redis-server not found");
        return;
    };
    let ours = Server::start(&["--threads", "2"]);
    let script: Vec<Vec<String>> = EDGE_CASES.iter().map(|l| words(l)).collect();
    for proto in ["2", "3"] {
        compare(&redis, &ours, proto, &script);
    }
}

#[test]
fn random_sequence_matches_real_redis() {
    let Some(redis) = Server::start_redis() else {
        println!("skipped: redis-server not found");
        return;
    };
    let ours = Server::start(&["--threads", "2"]);
    let mut rng = StdRng::seed_from_u64(7);
    let mut script: Vec<Vec<String>> = vec![words("FLUSHALL")];
    for i in 0..40 {
        // Distinct weights: ALPHA by pattern has no ties to order.
        script.push(words(&format!("SET w_{i} {}", 1000 + i * 7 % 41)));
        script.push(words(&format!("HSET o_{i} name n{:03}", (i * 13) % 40)));
    }
    for _ in 0..400 {
        let n = rng.gen_range(0..40);
        let line = match rng.gen_range(0..8) {
            0 => format!("RPUSH l{} {n}", rng.gen_range(0..3)),
            1 => format!("ZADD z{} {} {n}", rng.gen_range(0..3), rng.gen_range(0..5)),
            2 => format!("SADD s{} {n}", rng.gen_range(0..3)),
            3 => format!("LREM l{} 1 {n}", rng.gen_range(0..3)),
            _ => {
                let key = ["l", "z", "s"][rng.gen_range(0..3)];
                let mut cmd = format!("SORT {key}{}", rng.gen_range(0..3));
                match rng.gen_range(0..4) {
                    0 => cmd.push_str(" BY w_*"),
                    1 => cmd.push_str(" BY o_*->name ALPHA"),
                    2 if key != "s" => cmd.push_str(" BY nosort"),
                    _ => {}
                }
                if rng.gen_bool(0.5) {
                    cmd.push_str(" DESC");
                }
                if rng.gen_bool(0.5) {
                    let (a, b) = (rng.gen_range(-2..8), rng.gen_range(-2..8));
                    cmd.push_str(&format!(" LIMIT {a} {b}"));
                }
                if rng.gen_bool(0.4) {
                    cmd.push_str(" GET # GET w_* GET o_*->name");
                }
                if rng.gen_bool(0.3) {
                    cmd.push_str(" STORE dst");
                    script.push(words(&cmd));
                    cmd = "LRANGE dst 0 -1".to_string();
                }
                cmd
            }
        };
        script.push(words(&line));
    }
    compare(&redis, &ours, "2", &script);
}

#[test]
fn patterns_need_full_key_access() {
    let s = Server::start(&["--threads", "2"]);
    let mut c = s.conn();
    for cmd in ["ACL SETUSER u on nopass +@all ~l*", "RPUSH list 2 1"] {
        let args = words(cmd);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        crate::common::run(&mut c, &args).unwrap();
    }
    crate::common::run(&mut c, &["AUTH", "u", "x"]).unwrap();
    assert_eq!(
        err(&mut c, &["SORT", "list", "BY", "w_*"]),
        "ERR BY option of SORT denied due to insufficient ACL permissions."
    );
    assert_eq!(
        err(&mut c, &["SORT", "list", "GET", "w_*"]),
        "ERR GET option of SORT denied due to insufficient ACL permissions."
    );
    let v: Vec<String> = redis::cmd("SORT")
        .arg(&["list", "BY", "nosort"])
        .query(&mut c)
        .unwrap();
    assert_eq!(v, ["2", "1"]);
}
