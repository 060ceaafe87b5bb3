//! The encoding thresholds (`hash-max-listpack-*`, `set-max-intset-entries`,
//! `zset-max-listpack-*`, `list-*`): CONFIG GET/SET under both names and OBJECT ENCODING after
//! every write, compared with a real redis-server 7.0 over a seeded random sequence.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::common::Server;
use crate::conn_util::{call, call_text};

#[rustfmt::skip]
const NAMES: &[&str] = &[
    "hash-max-listpack-entries", "hash-max-ziplist-entries", "hash-max-listpack-value",
    "hash-max-ziplist-value", "set-max-intset-entries", "zset-max-listpack-entries",
    "zset-max-ziplist-entries", "zset-max-listpack-value", "zset-max-ziplist-value",
    "list-max-listpack-size", "list-max-ziplist-size", "list-compress-depth",
];

fn script(seed: u64) -> Vec<Vec<String>> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut out: Vec<Vec<String>> = Vec::new();
    let w = |s: &str| s.split(' ').map(String::from).collect::<Vec<String>>();
    for name in NAMES {
        out.push(w(&format!("CONFIG GET {name}")));
    }
    out.push(w("CONFIG SET list-compress-depth -1"));
    out.push(w("CONFIG SET hash-max-ziplist-entries x"));
    out.push(w(
        "CONFIG SET list-max-ziplist-size 5 list-compress-depth 1",
    ));
    out.push(w("CONFIG GET list-max-listpack-size"));
    for round in 0..40 {
        let entries = rng.gen_range(0..12);
        let value = rng.gen_range(0..20);
        let name = NAMES[rng.gen_range(0..9)];
        let n = if name.ends_with("value") {
            value
        } else {
            entries
        };
        out.push(w(&format!("CONFIG SET {name} {n}")));
        let key = format!("k{}", rng.gen_range(0..6));
        let len = rng.gen_range(1..30);
        let member = "m".repeat(len);
        let cmd = match rng.gen_range(0..6) {
            0 => format!("HSET h{key} f{round} {member}"),
            1 => format!("HSET h{key} {member} v"),
            2 => format!("SADD s{key} {}", rng.gen_range(-1000..1000)),
            3 => format!("SADD s{key} {member}"),
            4 => format!("ZADD z{key} {} {member}{round}", rng.gen_range(0..100)),
            _ => format!("RPUSH l{key} {member}"),
        };
        out.push(w(&cmd));
        let t = &cmd[..1].to_ascii_lowercase();
        let prefix = match t.as_str() {
            "h" => "h",
            "s" => "s",
            "z" => "z",
            _ => "l",
        };
        out.push(w(&format!("OBJECT ENCODING {prefix}{key}")));
        if rng.gen_bool(0.2) {
            out.push(w(&format!(
                "ZUNIONSTORE zu{key} 2 z{key} zk{}",
                rng.gen_range(0..6)
            )));
            out.push(w(&format!("OBJECT ENCODING zu{key}")));
            out.push(w(&format!("SUNIONSTORE su{key} s{key} sk1")));
            out.push(w(&format!("OBJECT ENCODING su{key}")));
        }
    }
    for name in NAMES {
        out.push(w(&format!("CONFIG GET {name}")));
    }
    out
}

#[test]
fn thresholds_and_encodings_match_real_redis() {
    let Some(redis) = Server::start_redis() else {
        println!("skipped: redis-server not found");
        return;
    };
    for seed in 0..4u64 {
        let ours = Server::start(&["--threads", "2"]);
        let redis_seeded = if seed == 0 {
            None
        } else {
            Server::start_redis()
        };
        let redis = redis_seeded.as_ref().unwrap_or(&redis);
        let mut a = redis.raw();
        let mut b = ours.raw();
        for step in script(seed) {
            let args: Vec<&str> = step.iter().map(String::as_str).collect();
            let want = call_text(&mut a, &args);
            let got = call_text(&mut b, &args);
            assert_eq!(got, want, "seed {seed} {args:?}");
        }
        call(&mut b, &["PING"]);
    }
}

#[test]
fn thresholds_from_the_command_line() {
    let s = Server::start(&[
        "--hash-max-ziplist-entries",
        "2",
        "--set-max-intset-entries",
        "1",
    ]);
    let mut c = s.conn();
    let enc = |c: &mut redis::Connection, k: &str| -> String {
        redis::cmd("OBJECT")
            .arg("ENCODING")
            .arg(k)
            .query(c)
            .unwrap()
    };
    redis::cmd("HSET")
        .arg(&["h", "a", "1", "b", "2"])
        .query::<i64>(&mut c)
        .unwrap();
    assert_eq!(enc(&mut c, "h"), "listpack");
    redis::cmd("HSET")
        .arg(&["h", "c", "3"])
        .query::<i64>(&mut c)
        .unwrap();
    assert_eq!(enc(&mut c, "h"), "hashtable");
    redis::cmd("SADD")
        .arg(&["s", "1"])
        .query::<i64>(&mut c)
        .unwrap();
    assert_eq!(enc(&mut c, "s"), "intset");
    redis::cmd("SADD")
        .arg(&["s", "2"])
        .query::<i64>(&mut c)
        .unwrap();
    assert_eq!(enc(&mut c, "s"), "hashtable");
}
