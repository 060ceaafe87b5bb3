//! HyperLogLog commands (PFADD, PFCOUNT, PFMERGE, PFDEBUG, PFSELFTEST) compared byte for byte
//! with a real redis-server 7.0: a fixed table of edge cases (corrupted HLLs included), a
//! seeded random sequence that crosses the sparse-to-dense promotion and reads the raw bytes
//! back with GET, both in RESP2 and RESP3; then keyspace events and WATCH, and what reaches the
//! append-only file, against the same oracle.

use std::path::Path;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::common::{Raw, Server};
use crate::conn_util::read_frame;
use crate::persistence::{start_in, temp_dir};

fn server() -> Server {
    Server::start(&["--threads", "2"])
}

/// RESP encoding of a binary command.
fn encode(args: &[Vec<u8>]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
    out
}

fn call(raw: &mut Raw, args: &[Vec<u8>]) -> Vec<u8> {
    raw.send(&encode(args));
    read_frame(raw)
}

/// A table line as arguments: words split on spaces, `""` is the empty string, `\xNN` a byte.
fn words(line: &str) -> Vec<Vec<u8>> {
    line.split(' ')
        .map(|w| {
            if w == "\"\"" {
                return Vec::new();
            }
            let mut out = Vec::new();
            let b = w.as_bytes();
            let mut i = 0;
            while i < b.len() {
                if b[i] == b'\\' && b.get(i + 1) == Some(&b'x') && i + 4 <= b.len() {
                    let hex = std::str::from_utf8(&b[i + 2..i + 4]).unwrap();
                    out.push(u8::from_str_radix(hex, 16).unwrap());
                    i += 4;
                } else {
                    out.push(b[i]);
                    i += 1;
                }
            }
            out
        })
        .collect()
}

fn show(args: &[Vec<u8>]) -> String {
    args.iter()
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Runs `script` on both servers (after `HELLO proto`) and compares every reply's bytes;
/// returns how many distinct replies were seen.
fn compare(redis: &Server, ours: &Server, proto: &str, script: &[Vec<Vec<u8>>]) -> usize {
    let mut seen = std::collections::HashSet::new();
    let mut a = redis.raw();
    let mut b = ours.raw();
    let hello = words(&format!("HELLO {proto}"));
    call(&mut a, &hello);
    call(&mut b, &hello);
    for args in script {
        let want = call(&mut a, args);
        let got = call(&mut b, args);
        if got != want {
            panic!(
                "RESP{proto} {}\n ours: {}\nredis: {}",
                show(args),
                summary(&got),
                summary(&want)
            );
        }
        seen.insert(want);
    }
    seen.len()
}

#[rustfmt::skip]
const EDGE_CASES: &[&str] = &[
    "FLUSHALL",
    // Creation, the empty HLL's bytes, counting, the cache bit.
    "PFADD h", "EXISTS h", "GET h", "STRLEN h", "PFCOUNT h", "GET h", "PFADD h", "PFADD h a b c",
    "GET h", "PFADD h a b c", "PFCOUNT h", "GET h", "GETRANGE h 15 15", "PFADD h a", "GET h",
    "PFADD h 1 2 3", "GETRANGE h 15 15", "PFCOUNT h", "PFADD h \"\"", "PFCOUNT h", "GET h",
    "PFCOUNT nokey", "PFCOUNT nokey h", "PFCOUNT nokey nokey2", "EXISTS nokey",
    "PFADD e \"\"", "GET e", "PFADD bin \\x00 \\xff \\x80\\x00", "GET bin",
    // Encodings, DECODE, TODENSE, GETREG.
    "PFDEBUG ENCODING h", "PFDEBUG DECODE h", "PFDEBUG decode h", "PFDEBUG encoding nokey",
    "PFDEBUG FOO h", "PFDEBUG FOO nokey", "PFDEBUG \"\" h", "PFDEBUG GETREG nokey",
    "PFADD sp x y z", "PFDEBUG TODENSE sp", "PFDEBUG TODENSE sp", "PFDEBUG ENCODING sp",
    "PFDEBUG DECODE sp", "GET sp", "PFCOUNT sp", "PFADD sp w", "PFCOUNT sp", "GET sp",
    "PFADD sp2 a b", "PFDEBUG GETREG sp2", "PFDEBUG ENCODING sp2", "GET sp2",
    // Merging: sparse into missing, into itself, dense into sparse.
    "PFADD m1 a b c", "PFADD m2 b c d", "PFADD m3 c d e", "PFMERGE m m1 m2 m3", "GET m",
    "PFCOUNT m", "PFCOUNT m1 m2 m3", "PFMERGE m", "GET m", "PFMERGE m4", "GET m4",
    "PFMERGE m1 sp", "PFDEBUG ENCODING m1", "GET m1", "PFCOUNT m1", "PFMERGE nm nokey nokey2",
    "GET nm", "PFMERGE m2 m2", "GET m2",
    // Wrong types and invalid HLL strings.
    "SET s bar", "PFADD s 1", "PFCOUNT s", "PFCOUNT h s", "PFMERGE h s", "PFMERGE s h",
    "PFDEBUG ENCODING s", "PFDEBUG FOO s", "LPUSH l x", "PFADD l 1", "PFCOUNT l", "PFCOUNT h l",
    "PFMERGE l h", "PFMERGE h l", "PFDEBUG GETREG l", "SET n 12345", "PFCOUNT n",
    "SET short HYLL", "PFADD short a", "SET hdr HYLL\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00",
    "PFADD hdr a", "PFCOUNT hdr", "PFDEBUG DECODE hdr", "PFMERGE x hdr",
    // Corrupted sparse and dense HLLs (the Redis suite's cases and more).
    "PFADD c a b c", "APPEND c hello", "PFCOUNT c", "PFADD c zz", "PFDEBUG DECODE c",
    "PFCOUNT c h", "PFMERGE cm c", "GET c",
    "DEL c", "PFADD c a b c", "SETRANGE c 0 0123", "PFCOUNT c", "PFADD c x",
    "DEL c", "PFADD c a b c", "SETRANGE c 4 x", "PFCOUNT c",
    "DEL c", "PFADD c a b c", "SETRANGE c 4 \\x00", "PFCOUNT c", "PFDEBUG TODENSE c",
    "DEL c", "PFADD c a b c", "SETRANGE c 16 \\x00", "PFCOUNT c", "PFADD c a b c d e",
    "PFDEBUG GETREG c", "PFMERGE cm c", "GET c",
    "DEL c", "PFADD c a", "SETRANGE c 17 \\x00", "PFCOUNT c", "PFDEBUG TODENSE c", "GET c",
    "DEL c", "PFADD c a", "SETRANGE c 16 \\x7f\\xff\\xff", "PFCOUNT c", "PFCOUNT c c",
    "PFMERGE cm2 c", "PFADD c q", "GET c",
    "DEL c", "PFADD c", "SETRANGE c 16 \\x7f", "GET c", "PFDEBUG DECODE c", "PFCOUNT c",
    "PFADD c a b c d e f g", "GET c",
    "DEL c", "PFADD c a", "SETRANGE c 15 \\x00", "PFCOUNT c", "GET c",
    "DEL c", "PFADD c a", "SETRANGE c 8 \\x07\\x00\\x00\\x00\\x00\\x00\\x00\\x00", "PFCOUNT c",
    "DEL d", "PFADD d a", "PFDEBUG TODENSE d", "SETRANGE d 100 \\xff\\xff\\xff", "PFCOUNT d",
    "SETRANGE d 15 \\x80", "PFCOUNT d", "PFDEBUG GETREG d", "APPEND d x", "PFCOUNT d",
    // The sparse-max-bytes parameter.
    "CONFIG GET hll-sparse-max-bytes", "CONFIG SET hll-sparse-max-bytes 20", "DEL p",
    "PFADD p a", "PFDEBUG ENCODING p", "PFADD p b c", "PFDEBUG ENCODING p", "GET p",
    "CONFIG SET hll-sparse-max-bytes 0", "DEL p", "PFADD p", "PFDEBUG ENCODING p",
    "PFADD p a", "PFDEBUG ENCODING p", "CONFIG SET hll-sparse-max-bytes 1kb",
    "CONFIG GET hll-sparse-max-bytes", "CONFIG SET hll-sparse-max-bytes -1",
    "CONFIG SET hll-sparse-max-bytes x", "CONFIG SET hll-sparse-max-bytes 3000",
    // Arity and the self test.
    "PFADD", "PFCOUNT", "PFMERGE", "PFDEBUG", "PFDEBUG ENCODING", "PFDEBUG ENCODING h x",
    "PFSELFTEST x", "PFSELFTEST",
];

/// Replies for the edge-case table match redis-server 7.0's bytes, in RESP2 and RESP3.
#[test]
fn edge_cases_match_real_redis() {
    let Some(redis) = Server::start_redis() else {
        println!("skipped: redis-server not found");
        return;
    };
    let ours = server();
    let script: Vec<Vec<Vec<u8>>> = EDGE_CASES.iter().map(|l| words(l)).collect();
    for proto in ["2", "3"] {
        compare(&redis, &ours, proto, &script);
    }
}

/// A random command over a few HLLs: adds (batches big enough to promote them), counts of one
/// or several keys, merges, raw reads, debug reads, a corrupted byte now and then, and changes
/// of the promotion threshold.
fn random_command(rng: &mut StdRng) -> Vec<Vec<u8>> {
    const KEYS: &[&str] = &["k1", "k2", "k3", "k4", "missing", "str"];
    let key = |rng: &mut StdRng| KEYS[rng.gen_range(0..KEYS.len())].as_bytes().to_vec();
    let element = |rng: &mut StdRng| -> Vec<u8> {
        match rng.gen_range(0..4) {
            0 => (0..rng.gen_range(0..20)).map(|_| rng.gen()).collect(),
            _ => rng.gen_range(0..5000u32).to_string().into_bytes(),
        }
    };
    let w = |s: &str| s.as_bytes().to_vec();
    match rng.gen_range(0..40) {
        0..=11 => {
            let n = match rng.gen_range(0..10) {
                0 => rng.gen_range(100..800),
                1 => 0,
                _ => rng.gen_range(1..12),
            };
            let mut v = vec![w("PFADD"), key(rng)];
            v.extend((0..n).map(|_| element(rng)));
            v
        }
        12..=17 => {
            let mut v = vec![w("PFCOUNT"), key(rng)];
            for _ in 0..rng.gen_range(0..3) {
                v.push(key(rng));
            }
            v
        }
        18..=21 => {
            let mut v = vec![w("PFMERGE"), key(rng)];
            for _ in 0..rng.gen_range(0..3) {
                v.push(key(rng));
            }
            v
        }
        22..=27 => vec![w("GET"), key(rng)],
        28..=30 => {
            let sub = ["ENCODING", "DECODE", "TODENSE", "GETREG", "encoding"];
            vec![w("PFDEBUG"), w(sub[rng.gen_range(0..sub.len())]), key(rng)]
        }
        31 => {
            // One random byte somewhere in the first 40 bytes (header and first opcodes).
            let at = rng.gen_range(0..40u32).to_string();
            vec![w("SETRANGE"), key(rng), w(&at), vec![rng.gen()]]
        }
        32 => {
            let v = ["0", "30", "100", "300", "3000", "20000"][rng.gen_range(0..6)];
            vec![w("CONFIG"), w("SET"), w("hll-sparse-max-bytes"), w(v)]
        }
        33 => vec![w("DEL"), key(rng)],
        34 => vec![w("STRLEN"), key(rng)],
        _ => vec![w("GETRANGE"), key(rng), w("0"), w("17")],
    }
}

/// A seeded random sequence of HLL commands gives the same bytes as redis-server 7.0, in
/// RESP2 and RESP3.
#[test]
fn random_sequence_matches_real_redis() {
    let Some(redis) = Server::start_redis() else {
        println!("skipped: redis-server not found");
        return;
    };
    let ours = server();
    for (proto, seed) in [("2", 7u64), ("3", 8)] {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut script = vec![
            words("FLUSHALL"),
            words("CONFIG SET hll-sparse-max-bytes 3000"),
            words("SET str hello"),
        ];
        script.extend((0..2500).map(|_| random_command(&mut rng)));
        let distinct = compare(&redis, &ours, proto, &script);
        assert!(distinct > 300, "only {distinct} distinct replies");
    }
}

/// Reads frames from a subscriber until the `done` message; returns them.
fn events_until_done(sub: &mut Raw) -> Vec<String> {
    let mut out = Vec::new();
    loop {
        let f = String::from_utf8_lossy(&read_frame(sub)).into_owned();
        if f.contains("\r\ndone\r\n") {
            return out;
        }
        out.push(f);
    }
}

/// Two clients: `A:` lines run on the first, `B:` on the second, and a subscriber records the
/// keyspace events; replies and events are compared with redis-server's.
#[rustfmt::skip]
const EVENTS_SCRIPT: &[&str] = &[
    "A:CONFIG SET notify-keyspace-events KEA",
    "A:PFADD h a b c", "A:PFADD h a b c", "A:PFADD h", "A:PFADD h2",
    // PFCOUNT recomputing the cache touches WATCH; a cached PFCOUNT does not.
    "A:WATCH h", "B:PFCOUNT h", "A:MULTI", "A:PING", "A:EXEC",
    "A:WATCH h", "B:PFCOUNT h", "A:MULTI", "A:PING", "A:EXEC",
    // Several keys: nothing is modified.
    "B:PFADD h d", "A:WATCH h", "B:PFCOUNT h h2", "A:MULTI", "A:PING", "A:EXEC",
    // A PFADD that changes nothing does not touch WATCH.
    "A:WATCH h", "B:PFADD h d", "A:MULTI", "A:PING", "A:EXEC",
    "A:WATCH h", "B:PFADD h zz", "A:MULTI", "A:PING", "A:EXEC",
    // PFMERGE always signals, and reports pfadd.
    "A:WATCH h", "B:PFMERGE h", "A:MULTI", "A:PING", "A:EXEC",
    "B:PFMERGE new h h2 missing",
    // PFDEBUG's conversion signals nobody.
    "A:WATCH h", "B:PFDEBUG TODENSE h", "A:MULTI", "A:PING", "A:EXEC",
    "A:WATCH h", "B:PFDEBUG GETREG new", "A:MULTI", "A:PING", "A:EXEC",
    // An expired HLL: expired, then the read's keymiss.
    "B:PFADD ex a", "B:PEXPIRE ex 1", "B:SLEEP", "B:PFCOUNT ex", "B:PFADD ex2 a",
    "B:PEXPIRE ex2 1", "B:SLEEP", "B:PFMERGE ex2 missing", "B:PFCOUNT missing x y",
    "B:SET s x", "B:PFADD s a", "B:PFCOUNT s missing",
];

/// A reply as text, long ones (GETREG) as their length and a checksum.
fn summary(reply: &[u8]) -> String {
    if reply.len() <= 200 {
        return String::from_utf8_lossy(reply).into_owned();
    }
    let sum = reply
        .iter()
        .fold(0u64, |h, &b| h.wrapping_mul(31).wrapping_add(u64::from(b)));
    format!("<{} bytes, sum {sum:x}>", reply.len())
}

fn run_events(server: &Server) -> (Vec<String>, Vec<String>) {
    let mut a = server.raw();
    let mut b = server.raw();
    let mut sub = server.raw();
    call(&mut sub, &words("PSUBSCRIBE __key*__:*"));
    call(&mut sub, &words("SUBSCRIBE done"));
    let mut replies = Vec::new();
    for line in EVENTS_SCRIPT {
        let (who, cmd) = line.split_once(':').unwrap();
        if cmd == "SLEEP" {
            std::thread::sleep(std::time::Duration::from_millis(20));
            continue;
        }
        let conn = if who == "A" { &mut a } else { &mut b };
        let reply = call(conn, &words(cmd));
        replies.push(format!("{line} -> {}", summary(&reply)));
    }
    call(&mut a, &words("PUBLISH done done"));
    (replies, events_until_done(&mut sub))
}

/// Keyspace events and WATCH signals of the HLL commands are Redis's.
#[test]
fn events_and_watch_match_real_redis() {
    let Some(redis) = Server::start_redis() else {
        println!("skipped: redis-server not found");
        return;
    };
    let ours = server();
    let want = run_events(&redis);
    let got = run_events(&ours);
    assert_eq!(got.0, want.0);
    assert_eq!(got.1, want.1);
    assert!(want.1.iter().any(|e| e.contains("pfadd")));
}

/// The commands of an AOF incr file (after the preamble's base), as text lines.
fn logged(dir: &Path) -> Vec<String> {
    let m = std::fs::read_to_string(dir.join("appendonlydir/appendonly.aof.manifest")).unwrap();
    let name = m
        .lines()
        .rfind(|l| l.contains("type i"))
        .and_then(|l| l.split(' ').nth(1))
        .unwrap()
        .to_string();
    let bytes = std::fs::read(dir.join("appendonlydir").join(name)).unwrap();
    // One command per `*N` header; arguments joined with spaces (binary shown lossily).
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let mut out = Vec::new();
    let mut lines = text.split("\r\n");
    while let Some(h) = lines.next() {
        let Some(n) = h.strip_prefix('*').and_then(|n| n.parse::<usize>().ok()) else {
            continue;
        };
        let mut args = Vec::new();
        for _ in 0..n {
            lines.next();
            args.push(lines.next().unwrap_or_default().to_string());
        }
        out.push(args.join(" "));
    }
    out
}

#[rustfmt::skip]
const PROPAGATION_SCRIPT: &[&str] = &[
    "PFADD h a b c", "PFADD h a b c", "PFCOUNT h", "PFCOUNT h", "PFADD h d", "PFCOUNT h h",
    "PFCOUNT h", "PFMERGE m h", "PFMERGE m", "PFDEBUG ENCODING m", "PFDEBUG TODENSE m",
    "PFDEBUG TODENSE m", "PFDEBUG GETREG m", "PFADD g x", "PFDEBUG GETREG g", "PFCOUNT missing",
    "SET c x", "PFADD c a",
];

/// What reaches the append-only file (PFCOUNT's cache update, PFDEBUG's conversions, no
/// unchanged PFADD) is what Redis logs.
#[test]
fn propagation_matches_real_redis() {
    let dir_r = temp_dir("hll-aof-redis");
    let Some(redis) =
        Server::start_redis_with(&["--dir", dir_r.to_str().unwrap(), "--appendonly", "yes"])
    else {
        println!("skipped: redis-server not found");
        return;
    };
    let dir_o = temp_dir("hll-aof-ours");
    let ours = start_in(&dir_o, &["--appendonly", "yes"]);
    for s in [&redis, &ours] {
        let mut c = s.raw();
        for line in PROPAGATION_SCRIPT {
            call(&mut c, &words(line));
        }
    }
    // Both write the AOF before replying; allow a moment for the file system anyway.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let (mut want, mut got) = (logged(&dir_r), logged(&dir_o));
    while want != got && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
        (want, got) = (logged(&dir_r), logged(&dir_o));
    }
    assert_eq!(got, want);
    assert!(want.iter().any(|l| l == "PFCOUNT h"), "{want:?}");
    assert!(want.iter().any(|l| l == "PFDEBUG TODENSE m"), "{want:?}");
    drop(redis);
    drop(ours);
    let _ = std::fs::remove_dir_all(dir_r);
    let _ = std::fs::remove_dir_all(dir_o);
}
