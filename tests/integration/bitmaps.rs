//! Bitmap commands (SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP) compared byte for byte with a
//! real redis-server 7.0: a fixed table of edge cases, then a seeded random sequence, in RESP2
//! and RESP3. Tests that need no oracle check the offset limit, TTL and WATCH behaviour.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::common::{err, ok, Server};
use crate::conn_util::{call, call_text};
use redis::Value;

fn server() -> Server {
    Server::start(&["--threads", "2"])
}

/// Runs `script` on both servers (after `HELLO proto`) and compares every reply's bytes;
/// returns how many distinct replies were seen (a check that the script exercises much).
fn compare(redis: &Server, ours: &Server, proto: &str, script: &[Vec<String>]) -> usize {
    let mut seen = std::collections::HashSet::new();
    let mut a = redis.raw();
    let mut b = ours.raw();
    call(&mut a, &["HELLO", proto]);
    call(&mut b, &["HELLO", proto]);
    for args in script {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let want = call_text(&mut a, &args);
        let got = call_text(&mut b, &args);
        assert_eq!(got, want, "RESP{proto} {args:?}");
        seen.insert(want);
    }
    seen.len()
}

fn words(line: &str) -> Vec<String> {
    line.split(' ')
        .map(|w| {
            if w == "\"\"" {
                String::new()
            } else {
                w.to_string()
            }
        })
        .collect()
}

#[rustfmt::skip]
const EDGE_CASES: &[&str] = &[
    "FLUSHALL",
    // SETBIT / GETBIT: creation, growth, previous value, errors in Redis's order.
    "SETBIT b 7 1", "SETBIT b 7 1", "SETBIT b 7 0", "SETBIT b 100 1", "GET b", "STRLEN b",
    "GETBIT b 100", "GETBIT b 99", "GETBIT b 100000", "GETBIT nokey 3",
    "SETBIT b -1 1", "SETBIT b x 1", "SETBIT b 1 2", "SETBIT b 1 -1", "SETBIT b 1 x",
    "SETBIT b x y", "SETBIT b 4294967296 1", "SETBIT b 4294967295 x", "GETBIT b -1",
    "GETBIT b 4294967296", "GETBIT b 9223372036854775807", "SETBIT b \"\" 1", "GETBIT b \"\"",
    "SETBIT b 1.5 1", "SETBIT b 01 1", "SETBIT b +1 1",
    // Integer-looking values are read as their text.
    "SET n 12345", "GETBIT n 2", "GETBIT n 3", "BITCOUNT n", "BITPOS n 1", "SETBIT n 0 1", "GET n",
    "SET n -1", "BITCOUNT n 0 0", "BITPOS n 0",
    // Wrong types.
    "LPUSH l a", "SETBIT l 0 1", "GETBIT l 0", "BITCOUNT l", "BITCOUNT l 0 1 BIT", "BITPOS l 1",
    "BITPOS l 2", "BITOP AND d l", "BITOP AND d b l", "BITOP NOT d l",
    // BITCOUNT ranges.
    "SET s foobar", "BITCOUNT s", "BITCOUNT s 0 0", "BITCOUNT s 1 1", "BITCOUNT s 1 -2",
    "BITCOUNT s -2 -1", "BITCOUNT s -1 -2", "BITCOUNT s -1 -2 FOO", "BITCOUNT s 5 2",
    "BITCOUNT s 0 100", "BITCOUNT s -100 -50", "BITCOUNT s 5 30 BIT", "BITCOUNT s 5 30 byte",
    "BITCOUNT s 5 30 bIt", "BITCOUNT s -9 -1 BIT", "BITCOUNT s 0 0 BIT", "BITCOUNT s 3 3 BIT",
    "BITCOUNT s 0", "BITCOUNT s 0 1 BIT x", "BITCOUNT s 0 1 FOO", "BITCOUNT s a 1",
    "BITCOUNT s 1 a", "BITCOUNT s -9223372036854775808 9223372036854775807",
    "BITCOUNT s -9223372036854775808 -9223372036854775808 BIT",
    "BITCOUNT nokey", "BITCOUNT nokey 0", "BITCOUNT nokey a b c d e",
    // BITPOS.
    "SET z \\x00", "SET ones \"\"", "BITPOS s 1", "BITPOS s 0", "BITPOS s 1 2", "BITPOS s 0 2 -1",
    "BITPOS s 1 -1", "BITPOS s 0 100", "BITPOS s 1 3 2", "BITPOS s 1 7 40 BIT",
    "BITPOS s 0 7 40 BIT", "BITPOS s 0 7 7 BIT", "BITPOS s 1 7 7 BIT", "BITPOS s 0 -3 -1 BIT",
    "BITPOS s 1 0 -1 BYTE", "BITPOS s 1 0 -1 FOO", "BITPOS s 1 x -1 FOO", "BITPOS s 1 0 x FOO",
    "BITPOS s 1 0 x", "BITPOS s 1 0 1 BIT x", "BITPOS s 2", "BITPOS s x", "BITPOS s -1",
    "BITPOS s 1 9 BIT", "BITPOS s 0 9 BIT", "BITPOS nokey 0", "BITPOS nokey 1",
    "BITPOS nokey 1 x y z", "BITPOS nokey 3", "BITPOS ones 0", "BITPOS ones 1",
    "SET ff \u{ff}", "BITPOS ff 0", "BITPOS ff 0 0", "BITPOS ff 0 0 -1", "BITPOS ff 1 0 -1 BIT",
    "BITPOS s 0 -9223372036854775808 9223372036854775807 BIT",
    // BITOP.
    "SET a abc", "SET c \"\"", "BITOP AND d a s", "GET d", "BITOP OR d a s nokey", "GET d",
    "BITOP XOR d a s a", "GET d", "BITOP NOT d a", "GET d", "BITOP not d s", "GET d",
    "BITOP AND d a nokey", "GET d", "BITOP AND d nokey nokey2", "EXISTS d", "BITOP AND d c",
    "EXISTS d", "BITOP NOT d a s", "BITOP NOT d", "BITOP FOO d a", "BITOP AN d a",
    "SET d x EX 100", "BITOP OR d a", "TTL d", "BITOP OR a a a", "GET a", "BITOP XOR a a",
    "GET a", "BITOP XOR dd a a", "GET dd", "EXISTS dd",
    // Arity.
    "SETBIT b 1", "GETBIT b", "BITCOUNT", "BITPOS b", "BITOP AND d",
    // BITFIELD / BITFIELD_RO.
    "BITFIELD bf", "BITFIELD nokey GET u8 0", "EXISTS nokey", "BITFIELD bf SET u8 0 255 GET u8 0",
    "BITFIELD bf INCRBY u8 0 10", "BITFIELD bf OVERFLOW SAT INCRBY u8 0 1000 INCRBY u8 0 -1000",
    "BITFIELD bf OVERFLOW FAIL INCRBY u8 0 1000 GET u8 0", "BITFIELD bf OVERFLOW WRAP INCRBY i8 0 200",
    "BITFIELD bf SET i5 #3 -7 GET i5 #3 GET u5 #3 GET i64 0 GET u63 1", "GET bf",
    "BITFIELD bf SET i64 0 -9223372036854775808 INCRBY i64 0 -1", "BITFIELD bf OVERFLOW SAT INCRBY i64 0 -1",
    "BITFIELD bf OVERFLOW SAT SET i64 0 9223372036854775807 INCRBY i64 0 1",
    "BITFIELD bf OVERFLOW FAIL SET u3 100 9 SET i3 100 4 SET i3 100 -4 GET u3 100",
    "BITFIELD bf OVERFLOW SAT SET u3 100 9 SET i3 100 -9", "BITFIELD bf SET u63 3 -1 GET u63 3",
    "BITFIELD bf GET u64 0", "BITFIELD bf GET i65 0", "BITFIELD bf GET i0 0", "BITFIELD bf GET x8 0",
    "BITFIELD bf GET \"\" 0", "BITFIELD bf GET u8 -1", "BITFIELD bf GET u8 #-1", "BITFIELD bf GET u8 ##1",
    "BITFIELD bf GET u8 #x", "BITFIELD bf GET u8 4294967296", "BITFIELD bf GET u8 #536870912",
    "BITFIELD bf GET u8 #9223372036854775807", "BITFIELD bf SET u8 0 x", "BITFIELD bf SET u8 0",
    "BITFIELD bf GET u8", "BITFIELD bf FOO", "BITFIELD bf OVERFLOW", "BITFIELD bf OVERFLOW BAD GET u8 0",
    "BITFIELD bf OVERFLOW sat", "BITFIELD bf get U8 0", "BITFIELD bf get u8 0 incrby u2 1 5",
    "BITFIELD l GET u8 0", "BITFIELD l SET u8 0 1", "BITFIELD l FOO", "BITFIELD_RO l GET u8 0",
    "BITFIELD_RO bf GET u8 0 GET i4 #1", "BITFIELD_RO bf SET u8 0 1", "BITFIELD_RO bf INCRBY u8 0 1",
    "BITFIELD_RO bf", "BITFIELD_RO nokey GET i8 0", "BITFIELD_RO bf OVERFLOW FAIL GET u8 0",
    "BITFIELD newkey OVERFLOW FAIL SET u2 0 7", "EXISTS newkey", "GET newkey",
    "BITFIELD grow SET u8 #3 1", "GET grow", "BITFIELD n GET u8 0 SET u4 0 15", "GET n",
];

/// Replies for the edge-case table match redis-server 7.0's bytes, in RESP2 and RESP3.
#[test]
fn edge_cases_match_real_redis() {
    let Some(redis) = Server::start_redis() else {
        println!("skipped: redis-server not found");
        return;
    };
    let ours = server();
    let script: Vec<Vec<String>> = EDGE_CASES
        .iter()
        .map(|l| {
            words(l)
                .into_iter()
                .map(|w| w.replace("\\x00", "\0"))
                .collect()
        })
        .collect();
    for proto in ["2", "3"] {
        compare(&redis, &ours, proto, &script);
    }
}

/// A random command over a few small bitmaps (and one key of another type).
fn random_command(rng: &mut StdRng) -> Vec<String> {
    const KEYS: &[&str] = &["k1", "k2", "k3", "missing", "list"];
    let key = |rng: &mut StdRng| KEYS[rng.gen_range(0..KEYS.len())].to_string();
    let index = |rng: &mut StdRng| -> String {
        match rng.gen_range(0..10) {
            0 => rng.gen_range(-1000i64..1000).to_string(),
            1 => ["x", "", "9223372036854775807", "-9223372036854775808"][rng.gen_range(0..4)]
                .to_string(),
            _ => rng.gen_range(-40i64..40).to_string(),
        }
    };
    let unit = |rng: &mut StdRng| ["BIT", "BYTE", "bit", "byte", "bits"][rng.gen_range(0..5)];
    let bit = |rng: &mut StdRng| ["0", "1", "0", "1", "2", "-1", "x"][rng.gen_range(0..7)];
    let mut cmd: Vec<String> = match rng.gen_range(0..15) {
        12..=14 => {
            let name = ["BITFIELD", "BITFIELD", "BITFIELD_RO"][rng.gen_range(0..3)];
            let mut v = vec![name.into(), key(rng)];
            for _ in 0..rng.gen_range(0..4) {
                let sign = ["i", "u", "i", "u", "x"][rng.gen_range(0..5)];
                let bits = match rng.gen_range(0..10) {
                    0 => ["64", "63", "65", "0"][rng.gen_range(0..4)].to_string(),
                    _ => rng.gen_range(1..20).to_string(),
                };
                let ty = format!("{sign}{bits}");
                let off = if rng.gen_bool(0.2) {
                    format!("#{}", rng.gen_range(0..10))
                } else {
                    rng.gen_range(0..200).to_string()
                };
                let val = match rng.gen_range(0..6) {
                    0 => ["9223372036854775807", "-9223372036854775808", "x"][rng.gen_range(0..3)]
                        .to_string(),
                    _ => rng.gen_range(-300i64..300).to_string(),
                };
                match rng.gen_range(0..8) {
                    0..=2 => v.extend(["GET".into(), ty, off]),
                    3 | 4 => v.extend(["SET".into(), ty, off, val]),
                    5 | 6 => v.extend(["INCRBY".into(), ty, off, val]),
                    _ => v.extend([
                        "OVERFLOW".into(),
                        ["WRAP", "SAT", "FAIL", "fail"][rng.gen_range(0..4)].into(),
                    ]),
                }
            }
            v
        }
        0..=3 => vec!["SETBIT".into(), key(rng), rng.gen_range(0..300).to_string()],
        4 => vec!["GETBIT".into(), key(rng), index(rng)],
        5 | 6 => {
            let mut v = vec!["BITCOUNT".into(), key(rng)];
            let n = rng.gen_range(0..4);
            if n >= 1 {
                v.push(index(rng));
            }
            if n >= 2 {
                v.push(index(rng));
            }
            if n >= 3 {
                v.push(unit(rng).into());
            }
            v
        }
        7 | 8 => {
            let mut v = vec!["BITPOS".into(), key(rng), bit(rng).into()];
            let n = rng.gen_range(0..4);
            if n >= 1 {
                v.push(index(rng));
            }
            if n >= 2 {
                v.push(index(rng));
            }
            if n >= 3 {
                v.push(unit(rng).into());
            }
            v
        }
        9 | 10 => {
            let op = ["AND", "OR", "XOR", "NOT", "and", "nand"][rng.gen_range(0..6)];
            let mut v = vec!["BITOP".into(), op.into(), key(rng)];
            for _ in 0..rng.gen_range(1..4) {
                v.push(key(rng));
            }
            v
        }
        _ => vec!["GET".into(), key(rng)],
    };
    if cmd[0] == "SETBIT" {
        cmd.push(bit(rng).into());
    }
    cmd
}

/// A seeded random sequence of bitmap commands gives the same bytes as redis-server 7.0.
#[test]
fn random_sequence_matches_real_redis() {
    let Some(redis) = Server::start_redis() else {
        println!("skipped: redis-server not found");
        return;
    };
    let ours = server();
    let mut rng = StdRng::seed_from_u64(12);
    let mut script = vec![words("FLUSHALL"), words("RPUSH list a b")];
    script.extend((0..3000).map(|_| random_command(&mut rng)));
    let distinct = compare(&redis, &ours, "2", &script);
    assert!(distinct > 100, "only {distinct} distinct replies");
}

/// Offsets are limited by proto-max-bulk-len (byte index below it), as Redis 7.0.
#[test]
fn offsets_are_limited_by_proto_max_bulk_len() {
    let s = Server::start(&["--proto-max-bulk-len", "1mb"]);
    let mut c = s.conn();
    let max = 1024 * 1024 * 8 - 1;
    assert_eq!(
        ok(&mut c, &["SETBIT", "k", &max.to_string(), "1"]),
        Value::Int(0)
    );
    assert_eq!(ok(&mut c, &["STRLEN", "k"]), Value::Int(1024 * 1024));
    assert_eq!(
        err(&mut c, &["SETBIT", "k", &(max + 1).to_string(), "1"]),
        "ERR bit offset is not an integer or out of range"
    );
    assert_eq!(
        err(&mut c, &["GETBIT", "k", &(max + 1).to_string()]),
        "ERR bit offset is not an integer or out of range"
    );
    assert_eq!(ok(&mut c, &["BITCOUNT", "k"]), Value::Int(1));
    assert_eq!(ok(&mut c, &["BITPOS", "k", "1"]), Value::Int(max));
}

/// SETBIT keeps the TTL; BITOP replaces the destination and drops its TTL; an unchanged
/// SETBIT does not touch a WATCHed key, a changing one does.
#[test]
fn ttl_and_watch() {
    let s = server();
    let mut c = s.conn();
    ok(&mut c, &["SET", "k", "a", "EX", "1000"]);
    assert_eq!(ok(&mut c, &["SETBIT", "k", "100", "1"]), Value::Int(0));
    assert!(matches!(ok(&mut c, &["TTL", "k"]), Value::Int(t) if t > 0));
    ok(&mut c, &["SET", "d", "x", "EX", "1000"]);
    assert_eq!(ok(&mut c, &["BITOP", "OR", "d", "k"]), Value::Int(13));
    assert_eq!(ok(&mut c, &["TTL", "d"]), Value::Int(-1));

    let mut w = s.conn();
    // Bit 1 of "a" (0x61) is already 1: nothing changes, EXEC runs.
    ok(&mut w, &["WATCH", "k"]);
    assert_eq!(ok(&mut c, &["SETBIT", "k", "1", "1"]), Value::Int(1));
    ok(&mut w, &["MULTI"]);
    ok(&mut w, &["PING"]);
    assert_eq!(
        ok(&mut w, &["EXEC"]),
        Value::Array(vec![Value::SimpleString("PONG".into())])
    );
    // Flipping a bit aborts it.
    ok(&mut w, &["WATCH", "k"]);
    assert_eq!(ok(&mut c, &["SETBIT", "k", "1", "0"]), Value::Int(1));
    ok(&mut w, &["MULTI"]);
    ok(&mut w, &["PING"]);
    assert_eq!(ok(&mut w, &["EXEC"]), Value::Nil);
}

/// Only writes that changed something are propagated (the AOF shows them), as in Redis: an
/// unchanged SETBIT / BITFIELD, a BITFIELD whose writes all FAILed, a BITOP with nothing to
/// delete and the read commands are absent.
#[test]
fn only_changing_writes_are_propagated() {
    let dir = crate::common::temp_file("bitmaps-aof");
    std::fs::create_dir_all(&dir).unwrap();
    let s = Server::start(&[
        "--dir",
        dir.to_str().unwrap(),
        "--appendonly",
        "yes",
        "--appendfsync",
        "always",
    ]);
    let mut c = s.conn();
    for cmd in [
        "SETBIT k 7 1",
        "SETBIT k 7 1",
        "SETBIT k 7 0",
        "BITFIELD f SET u8 0 1",
        "BITFIELD f SET u8 0 1",
        "BITFIELD f OVERFLOW FAIL INCRBY u2 0 9",
        "BITOP AND d nokey",
        "BITOP OR d k f",
        "BITFIELD_RO f GET u8 0",
        "GETBIT k 1",
        "BITCOUNT k",
    ] {
        let args: Vec<&str> = cmd.split(' ').collect();
        ok(&mut c, &args);
    }
    let aof = std::fs::read(dir.join("appendonlydir/appendonly.aof.1.incr.aof")).unwrap();
    let text = String::from_utf8_lossy(&aof).replace("\r\n", " ");
    let commands: Vec<&str> = text
        .split('*')
        .filter(|f| !f.is_empty())
        .map(|f| f.trim())
        .collect();
    assert_eq!(
        commands,
        [
            "2 $6 SELECT $1 0",
            "4 $6 SETBIT $1 k $1 7 $1 1",
            "4 $6 SETBIT $1 k $1 7 $1 0",
            "6 $8 BITFIELD $1 f $3 SET $2 u8 $1 0 $1 1",
            "5 $5 BITOP $2 OR $1 d $1 k $1 f",
        ]
    );
    drop(s);
    let _ = std::fs::remove_dir_all(&dir);
}
