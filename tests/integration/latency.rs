//! LATENCY, latency tracking and their CONFIG parameters: the deterministic replies (HELP,
//! errors, an empty monitor, DOCTOR with the monitor off, CONFIG) compared byte for byte with
//! a real redis-server 7.0 in RESP2 and RESP3; the histogram replies and INFO latencystats
//! compared in shape; the events DEBUG SLEEP causes checked on ferrokv.

use redis::Value;

use crate::common::{ok, Server};
use crate::conn_util::{bulk_body, call, call_text};

fn server() -> Server {
    Server::start(&["--threads", "2", "--enable-debug-command", "yes"])
}

#[rustfmt::skip]
const DETERMINISTIC: &[&[&str]] = &[
    &["LATENCY", "RESET"],
    &["LATENCY", "HELP"],
    &["LATENCY", "help", "xxx"],
    &["LATENCY"],
    &["LATENCY", "FOO"],
    &["LATENCY", "LATEST"],
    &["LATENCY", "LATEST", "x"],
    &["LATENCY", "HISTORY", "blabla"],
    &["LATENCY", "HISTORY"],
    &["LATENCY", "RESET", "blabla", "command"],
    &["LATENCY", "GRAPH", "command"],
    &["LATENCY", "GRAPH"],
    &["LATENCY", "DOCTOR"],
    &["LATENCY", "DOCTOR", "x"],
    &["CONFIG", "RESETSTAT"],
    &["LATENCY", "HISTOGRAM", "blabla"],
    &["LATENCY", "HISTOGRAM", "blabla", "set|x", "get"],
    // One name per CONFIG GET: Redis orders several by its hash table.
    &["CONFIG", "GET", "latency-monitor-threshold"],
    &["CONFIG", "GET", "latency-tracking"],
    &["CONFIG", "GET", "latency-tracking-info-percentiles"],
    &["CONFIG", "SET", "latency-monitor-threshold", "-1"],
    &["CONFIG", "SET", "latency-monitor-threshold", "x"],
    &["CONFIG", "SET", "latency-tracking", "maybe"],
    &["CONFIG", "SET", "latency-tracking", "NO"],
    &["CONFIG", "GET", "latency-tracking"],
    &["CONFIG", "RESETSTAT"],
    &["SET", "a", "b"],
    &["LATENCY", "HISTOGRAM"],
    &["INFO", "latencystats"],
    &["CONFIG", "SET", "latency-tracking", "yes"],
    &["CONFIG", "SET", "latency-tracking-info-percentiles", "99.90 1e1 0 100"],
    &["CONFIG", "GET", "latency-tracking-info-percentiles"],
    &["CONFIG", "SET", "latency-tracking-info-percentiles", "101"],
    &["CONFIG", "SET", "latency-tracking-info-percentiles", "-0.5"],
    &["CONFIG", "SET", "latency-tracking-info-percentiles", "50 abc"],
    &["CONFIG", "SET", "latency-tracking-info-percentiles", "nan"],
    &["CONFIG", "GET", "latency-tracking-info-percentiles"],
    &["CONFIG", "SET", "latency-tracking-info-percentiles", ""],
    &["CONFIG", "GET", "latency-tracking-info-percentiles"],
    &["CONFIG", "SET", "latency-tracking-info-percentiles", "50 99 99.9"],
    &["CONFIG", "GET", "latency-tracking-info-percentiles"],
];

/// HELP, errors, CONFIG GET/SET, an empty monitor and DOCTOR with monitoring off match
/// redis-server's bytes.
#[test]
fn deterministic_replies_match_real_redis() {
    let Some(redis) = Server::start_redis() else {
        println!("skipped: redis-server not found");
        return;
    };
    let ours = server();
    for proto in ["2", "3"] {
        let mut a = redis.raw();
        let mut b = ours.raw();
        call(&mut a, &["HELLO", proto]);
        call(&mut b, &["HELLO", proto]);
        for args in DETERMINISTIC {
            let want = call_text(&mut a, args);
            let got = call_text(&mut b, args);
            assert_eq!(got, want, "RESP{proto} {args:?}");
        }
    }
}

/// Replaces every run of digits (and dots between them) by `N`.
fn mask_numbers(s: &str) -> String {
    let mut out = String::new();
    let mut in_number = false;
    for c in s.chars() {
        if c.is_ascii_digit() || (in_number && c == '.') {
            if !in_number {
                out.push('N');
            }
            in_number = true;
        } else {
            in_number = false;
            out.push(c);
        }
    }
    out
}

/// The histogram replies and INFO latencystats have Redis's shape (same commands, same
/// calls, a `histogram_usec` map, `p50=...` fields with three decimals) in RESP2 and RESP3.
#[test]
fn histograms_match_real_redis_in_shape() {
    let Some(redis) = Server::start_redis() else {
        println!("skipped: redis-server not found");
        return;
    };
    let ours = server();
    for proto in ["2", "3"] {
        let mut replies: Vec<Vec<String>> = Vec::new();
        for srv in [&redis, &ours] {
            let mut r = srv.raw();
            call(&mut r, &["HELLO", proto]);
            call(&mut r, &["CONFIG", "RESETSTAT"]);
            call(&mut r, &["SET", "a", "b"]);
            call(&mut r, &["SET", "c", "d"]);
            call(&mut r, &["CLIENT", "ID"]);
            let mut got = Vec::new();
            for args in [
                &["LATENCY", "HISTOGRAM", "set"][..],
                &["LATENCY", "HISTOGRAM", "client", "nosuch"],
                &["LATENCY", "HISTOGRAM", "client|id"],
            ] {
                let reply = call_text(&mut r, args);
                // One bucket or several: keep the header up to the map of buckets.
                let head = reply
                    .find("histogram_usec")
                    .map(|i| &reply[..i])
                    .unwrap_or(&reply);
                got.push(mask_numbers(head));
            }
            let info = bulk_body(&call(&mut r, &["INFO", "latencystats"]));
            let mut lines: Vec<String> = info.lines().map(mask_numbers).collect();
            lines.sort();
            got.push(lines.join("\n"));
            replies.push(got);
        }
        assert_eq!(replies[1], replies[0], "RESP{proto}");
        assert!(replies[1][3].contains("latency_percentiles_usec_set:pN=N,pN=N,pN=N"));
    }
}

/// Every loop's histogram counts: SETs from connections on both event loops add up, and
/// the buckets are cumulative up to the number of calls.
#[test]
fn histograms_merge_every_event_loop() {
    let srv = server();
    let mut conns: Vec<redis::Connection> = (0..4).map(|_| srv.conn()).collect();
    ok(&mut conns[0], &["CONFIG", "RESETSTAT"]);
    for (i, c) in conns.iter_mut().enumerate() {
        for j in 0..10 {
            ok(c, &["SET", &format!("k{i}"), &j.to_string()]);
        }
    }
    let Value::Array(reply) = ok(&mut conns[0], &["LATENCY", "HISTOGRAM", "set"]) else {
        panic!()
    };
    assert_eq!(reply[0], crate::common::bulk("set"));
    let Value::Array(fields) = &reply[1] else {
        panic!()
    };
    assert_eq!(fields[1], Value::Int(40));
    let Value::Array(buckets) = &fields[3] else {
        panic!()
    };
    let counts: Vec<i64> = buckets
        .iter()
        .skip(1)
        .step_by(2)
        .map(|v| match v {
            Value::Int(n) => *n,
            _ => panic!(),
        })
        .collect();
    assert!(counts.windows(2).all(|w| w[0] < w[1]), "{counts:?}");
    assert_eq!(counts.last(), Some(&40));
}

/// DEBUG SLEEP over `latency-monitor-threshold` is a `command` event: LATEST, HISTORY,
/// GRAPH, DOCTOR report it, RESET drops it; under the threshold (or with the monitor off)
/// nothing is recorded.
#[test]
fn slow_commands_are_latency_events() {
    let srv = server();
    let mut c = srv.conn();
    ok(&mut c, &["LATENCY", "RESET"]);
    ok(&mut c, &["DEBUG", "SLEEP", "0.06"]);
    assert_eq!(ok(&mut c, &["LATENCY", "LATEST"]), Value::Array(vec![]));
    ok(
        &mut c,
        &["CONFIG", "SET", "latency-monitor-threshold", "50"],
    );
    ok(&mut c, &["DEBUG", "SLEEP", "0.01"]);
    assert_eq!(ok(&mut c, &["LATENCY", "LATEST"]), Value::Array(vec![]));
    ok(&mut c, &["DEBUG", "SLEEP", "0.06"]);
    let Value::Array(latest) = ok(&mut c, &["LATENCY", "LATEST"]) else {
        panic!()
    };
    assert_eq!(latest.len(), 1);
    let Value::Array(event) = &latest[0] else {
        panic!()
    };
    assert_eq!(event[0], crate::common::bulk("command"));
    let (Value::Int(time), Value::Int(ms), Value::Int(max)) = (&event[1], &event[2], &event[3])
    else {
        panic!("{event:?}")
    };
    assert!(*ms >= 60 && *max >= *ms, "{ms} {max}");
    let Value::Array(history) = ok(&mut c, &["LATENCY", "HISTORY", "command"]) else {
        panic!()
    };
    assert_eq!(
        history,
        [Value::Array(vec![Value::Int(*time), Value::Int(*ms)])]
    );
    let graph = match ok(&mut c, &["LATENCY", "GRAPH", "command"]) {
        Value::BulkString(b) => String::from_utf8(b).unwrap(),
        other => panic!("{other:?}"),
    };
    assert!(
        graph.starts_with(&format!(
            "command - high {ms} ms, low {ms} ms (all time high {max} ms)\n{}\n",
            "-".repeat(80)
        )),
        "{graph}"
    );
    let doctor = match ok(&mut c, &["LATENCY", "DOCTOR"]) {
        Value::BulkString(b) => String::from_utf8(b).unwrap(),
        other => panic!("{other:?}"),
    };
    assert!(
        doctor.starts_with("Dave, I have observed latency spikes"),
        "{doctor}"
    );
    assert!(doctor.contains("1. command: 1 latency spikes"), "{doctor}");
    assert!(doctor.contains("- Check your Slow Log"), "{doctor}");
    assert_eq!(ok(&mut c, &["LATENCY", "RESET", "COMMAND"]), Value::Int(1));
    assert_eq!(ok(&mut c, &["LATENCY", "LATEST"]), Value::Array(vec![]));
    ok(&mut c, &["CONFIG", "SET", "latency-monitor-threshold", "0"]);
}
