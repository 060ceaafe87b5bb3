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

/// One command on a connection, its reply (or error) as comparable text.
fn reply(c: &mut redis::Connection, args: &[Vec<u8>]) -> String {
    let mut cmd = redis::cmd(std::str::from_utf8(&args[0]).unwrap());
    for a in &args[1..] {
        cmd.arg(a.as_slice());
    }
    match cmd.query::<redis::Value>(c) {
        Ok(v) => format!("{v:?}"),
        Err(e) => format!("ERR {e}"),
    }
}

/// RESTORE of Redis's own payloads and the store commands (SINTERSTORE, SDIFFSTORE,
/// ZINTERSTORE, ZDIFFSTORE, ZRANGESTORE, ZUNIONSTORE) under seeded thresholds: the encoding
/// each result is created with must be Redis's.
#[test]

fn restore_and_store_results_encode_as_redis() {
    let Some(redis) = Server::start_redis() else {
        println!("skipped: redis-server not found");
        return;
    };
    let ours = Server::start(&["--threads", "2"]);
    let mut a = redis.conn();
    let mut b = ours.conn();
    let mut rng = StdRng::seed_from_u64(12);
    let v = |s: String| -> Vec<Vec<u8>> { s.split(' ').map(|p| p.as_bytes().to_vec()).collect() };
    for round in 0..30 {
        // Sources built on Redis under its defaults, then dumped.
        for c in [&mut a, &mut b] {
            for name in [
                "hash-max-listpack-entries",
                "set-max-intset-entries",
                "zset-max-listpack-entries",
            ] {
                reply(c, &v(format!("CONFIG SET {name} 512")));
            }
            reply(c, &v("CONFIG SET hash-max-listpack-value 64".into()));
            reply(c, &v("CONFIG SET zset-max-listpack-value 64".into()));
        }
        let n = rng.gen_range(1..12);
        let long = rng.gen_bool(0.3);
        let mut steps: Vec<Vec<Vec<u8>>> = Vec::new();
        for k in 0..2 {
            steps.push(v(format!("DEL s{k} h{k} z{k} r{k}")));
            for i in 0..n {
                let m = if long && i == 0 {
                    "x".repeat(30)
                } else {
                    format!("{}", i * (k + 1))
                };
                steps.push(v(format!("SADD s{k} {m}")));
                steps.push(v(format!("HSET h{k} f{i} {m}")));
                steps.push(v(format!("ZADD z{k} {i} {m}")));
            }
        }
        for s in &steps {
            assert_eq!(reply(&mut b, s), reply(&mut a, s), "round {round} {s:?}");
        }
        // Smaller thresholds on both, then restores and store commands.
        let entries = rng.gen_range(0..10);
        let value = rng.gen_range(0..40);
        let mut steps: Vec<Vec<Vec<u8>>> = vec![
            v(format!("CONFIG SET set-max-intset-entries {entries}")),
            v(format!("CONFIG SET hash-max-ziplist-entries {entries}")),
            v(format!("CONFIG SET zset-max-ziplist-entries {entries}")),
            v(format!("CONFIG SET hash-max-listpack-value {value}")),
            v(format!("CONFIG SET zset-max-listpack-value {value}")),
        ];
        for k in ["s0", "h0", "z0"] {
            let payload: Vec<u8> = redis::cmd("DUMP").arg(k).query(&mut a).unwrap();
            steps.push(vec![
                b"RESTORE".to_vec(),
                format!("r{k}").into_bytes(),
                b"0".to_vec(),
                payload,
                b"REPLACE".to_vec(),
            ]);
            steps.push(v(format!("OBJECT ENCODING r{k}")));
        }
        for s in [
            "SINTERSTORE d1 s0 s1",
            "SDIFFSTORE d2 s0 s1",
            "SUNIONSTORE d3 s0 s1",
            "ZINTERSTORE d4 2 z0 z1",
            "ZDIFFSTORE d5 2 z0 z1",
            "ZUNIONSTORE d6 2 z0 z1",
            "ZRANGESTORE d7 z0 0 -1",
            "ZRANGESTORE d8 z0 0 1",
        ] {
            steps.push(v(s.into()));
            let dst = s.split(' ').nth(1).unwrap();
            steps.push(v(format!("OBJECT ENCODING {dst}")));
        }
        steps.push(v("HSET h0 fnew y".into()));
        steps.push(v("OBJECT ENCODING h0".into()));
        steps.push(v("SADD s0 99".into()));
        steps.push(v("OBJECT ENCODING s0".into()));
        steps.push(v("ZADD z0 5 znew".into()));
        steps.push(v("OBJECT ENCODING z0".into()));
        for s in &steps {
            assert_eq!(
                reply(&mut b, s),
                reply(&mut a, s),
                "round {round} entries {entries} value {value} {s:?}"
            );
        }
    }
}
