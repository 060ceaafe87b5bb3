//! LOLWUT compared with a real redis-server 7.0: the deterministic replies byte for byte in
//! RESP2 and RESP3 (the unstable text, errors, Schotter with at most two rows of squares, the
//! one-row skyline, COMMAND INFO/DOCS), and the random drawings by shape (line count, line
//! widths in characters or colour cells, trailer, reply type).

use crate::common::Server;
use crate::conn_util::{bulk_body, call, call_text};

#[rustfmt::skip]
const EXACT: &[&str] = &[
    "LOLWUT", "lolwut", "LOLWUT 5", "LOLWUT 10 20 30", "LOLWUT VERSION", "LOLWUT version 1",
    "LOLWUT VERSION 7", "LOLWUT VERSION 9", "LOLWUT VERSION 0", "LOLWUT VERSION -1",
    "LOLWUT VERSION 59", "LOLWUT VERSION 65", "LOLWUT VERSION x", "LOLWUT VERSION 5.0",
    "LOLWUT VERSION 99999999999999999999", "LOLWUT VERSION \"\"",
    // 2^32 + 5 and -(2^32) + 5 are version 5 once truncated to 32 bits, as in Redis.
    "LOLWUT VERSION 4294967301 4 4 1", "LOLWUT VERSION -4294967291 4 4 1",
    "LOLWUT VERSION 4294967302 3 1",
    // Argument errors, in Redis's order.
    "LOLWUT VERSION 5 x", "LOLWUT VERSION 5 1 x", "LOLWUT VERSION 5 1 1 x", "LOLWUT VERSION 5 x y z",
    "LOLWUT VERSION 6 x", "LOLWUT VERSION 6 1 x", "LOLWUT VERSION 6 1.5",
    // Schotter without randomness (at most two rows of squares), clamps included.
    "LOLWUT VERSION 5 1 1 1", "LOLWUT VERSION 5 0 0 0", "LOLWUT VERSION 5 -5 -5 -5",
    "LOLWUT VERSION 5 2 1 1", "LOLWUT VERSION 5 3 7 2", "LOLWUT VERSION 5 66 8 1",
    "LOLWUT VERSION 5 66 8 2", "LOLWUT VERSION 5 100 3 2", "LOLWUT VERSION 5 7 200 2",
    "LOLWUT VERSION 5 7 201 1", "LOLWUT VERSION 5 5 13 2", "LOLWUT VERSION 5 1000 1 1",
    "LOLWUT VERSION 5 5000 1 1", "LOLWUT VERSION 5 33 5 2 extra args",
    // The one-row skyline is all white.
    "LOLWUT VERSION 6 5 1", "LOLWUT VERSION 6 1000 1", "LOLWUT VERSION 6 0 0",
    "LOLWUT VERSION 6 -3 -3", "LOLWUT VERSION 6 2000 -1",
    "COMMAND INFO lolwut", "COMMAND DOCS lolwut",
];

/// Splits a script line on spaces (`""` is the empty argument).
fn words(line: &str) -> Vec<&str> {
    line.split(' ')
        .map(|w| if w == "\"\"" { "" } else { w })
        .collect()
}

#[test]
fn deterministic_replies_match_redis() {
    let Some(redis) = Server::start_redis() else {
        eprintln!("skipped: redis-server not found");
        return;
    };
    let ours = Server::start(&["--threads", "2"]);
    for proto in ["2", "3"] {
        let (mut a, mut b) = (redis.raw(), ours.raw());
        call(&mut a, &["HELLO", proto]);
        call(&mut b, &["HELLO", proto]);
        for line in EXACT {
            let args = words(line);
            assert_eq!(
                call_text(&mut b, &args),
                call_text(&mut a, &args),
                "RESP{proto} {line}"
            );
        }
        // Every other deterministic Schotter size, swept.
        for cols in [1, 2, 3, 4, 5, 17, 40, 81, 150] {
            for per_row in [1, 2, 3, 6, 9, 31, 77] {
                for per_col in ["1", "2"] {
                    let args = [
                        "LOLWUT",
                        "VERSION",
                        "5",
                        &cols.to_string(),
                        &per_row.to_string(),
                        per_col,
                    ];
                    assert_eq!(
                        call(&mut b, &args),
                        call(&mut a, &args),
                        "RESP{proto} {args:?}"
                    );
                }
            }
        }
    }
}

#[test]
fn unstable_text_is_exact() {
    let ours = Server::start(&["--threads", "2"]);
    let mut c = ours.raw();
    assert_eq!(
        call_text(&mut c, &["LOLWUT"]),
        "$18\r\nRedis ver. 7.0.15\n\r\n"
    );
    call(&mut c, &["HELLO", "3"]);
    assert_eq!(
        call_text(&mut c, &["LOLWUT", "VERSION", "1"]),
        "=22\r\ntxt:Redis ver. 7.0.15\n\r\n"
    );
    assert_eq!(
        call_text(&mut c, &["LOLWUT", "VERSION", "x"]),
        "-ERR value is not an integer or out of range\r\n"
    );
}

/// The shape of a reply: (reply type byte, number of drawing lines, the width of each, the
/// trailer). Version 5 widths count characters; version 6 widths count colour cells.
fn shape(frame: &[u8], skyline: bool) -> (u8, Vec<usize>, String) {
    let body = bulk_body(frame);
    let marker = if skyline { "\nDedicated" } else { "\nGeorg" };
    let at = body.rfind(marker).expect("trailer");
    let (drawing, trailer) = body.split_at(at);
    let widths = drawing
        .split('\n')
        .map(|l| {
            if skyline {
                l.matches("\x1b[0m").count()
            } else {
                assert!(
                    l.chars().all(|c| ('\u{2800}'..='\u{28ff}').contains(&c)),
                    "{l:?}"
                );
                l.chars().count()
            }
        })
        .collect();
    (frame[0], widths, trailer.to_string())
}

#[test]
fn random_drawings_have_redis_shapes() {
    let Some(redis) = Server::start_redis() else {
        eprintln!("skipped: redis-server not found");
        return;
    };
    let ours = Server::start(&["--threads", "2"]);
    let cases: &[&[&str]] = &[
        &["5"],
        &["5", "20"],
        &["5", "40", "4"],
        &["5", "66", "8", "12"],
        &["5", "30", "5", "3"],
        &["5", "80", "10", "40"],
        &["5", "13", "200", "200"],
        &["5", "3", "1", "7"],
        &["6"],
        &["6", "10"],
        &["6", "33", "7"],
        &["6", "120", "45"],
        &["6", "4", "2"],
        &["6", "1", "300"],
    ];
    for proto in ["2", "3"] {
        let (mut a, mut b) = (redis.raw(), ours.raw());
        call(&mut a, &["HELLO", proto]);
        call(&mut b, &["HELLO", proto]);
        for case in cases {
            let mut args = vec!["LOLWUT", "VERSION"];
            args.extend_from_slice(case);
            let skyline = case[0] == "6";
            let want = shape(&call(&mut a, &args), skyline);
            let got = shape(&call(&mut b, &args), skyline);
            assert_eq!(got, want, "RESP{proto} {args:?}");
        }
    }
}
