//! Raw-protocol helpers for the connection and server suites: encode a command, read exactly
//! one RESP2/RESP3 reply frame (so tests can compare exact bytes of replies whose length is
//! not known up front), and parse INFO / CLIENT LIST text.
#![allow(dead_code)]

use std::collections::HashMap;
use std::io::Read;

use crate::common::Raw;

/// RESP encoding of a command.
pub fn encode(args: &[&str]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// Reads one `\r\n`-terminated line (type byte included) onto `into`; returns its text
/// without the type byte and the CRLF.
fn read_line(raw: &mut Raw, into: &mut Vec<u8>) -> String {
    let start = into.len();
    let mut b = [0u8; 1];
    loop {
        raw.s.read_exact(&mut b).expect("read reply");
        into.push(b[0]);
        if into.len() - start >= 3 && &into[into.len() - 2..] == b"\r\n" {
            break;
        }
    }
    String::from_utf8_lossy(&into[start + 1..into.len() - 2]).into_owned()
}

fn read_into(raw: &mut Raw, into: &mut Vec<u8>) {
    let start = into.len();
    let header = read_line(raw, into);
    let ty = into[start];
    let n = || header.parse::<i64>().expect("length");
    match ty {
        b'$' | b'=' | b'!' => {
            let len = n();
            if len >= 0 {
                let mut body = vec![0u8; len as usize + 2];
                raw.s.read_exact(&mut body).expect("read bulk");
                into.extend_from_slice(&body);
            }
        }
        b'*' | b'~' | b'>' => {
            for _ in 0..n().max(0) {
                read_into(raw, into);
            }
        }
        b'%' | b'|' => {
            for _ in 0..2 * n().max(0) {
                read_into(raw, into);
            }
        }
        _ => {}
    }
}

/// Reads exactly one reply frame and returns its bytes.
pub fn read_frame(raw: &mut Raw) -> Vec<u8> {
    let mut out = Vec::new();
    read_into(raw, &mut out);
    out
}

/// Sends a command and returns the bytes of its reply.
pub fn call(raw: &mut Raw, args: &[&str]) -> Vec<u8> {
    raw.send(&encode(args));
    read_frame(raw)
}

/// Like [`call`], as (lossy) text, for readable assertions.
pub fn call_text(raw: &mut Raw, args: &[&str]) -> String {
    String::from_utf8_lossy(&call(raw, args)).into_owned()
}

/// Runs `script` on `redis` and `ours` (each on one connection, after `HELLO proto`) and
/// asserts every reply's bytes are equal.
pub fn compare_script(
    redis: &crate::common::Server,
    ours: &crate::common::Server,
    proto: &str,
    script: &[&[&str]],
) {
    let mut a = redis.raw();
    let mut b = ours.raw();
    call(&mut a, &["HELLO", proto]);
    call(&mut b, &["HELLO", proto]);
    for args in script {
        let want = call_text(&mut a, args);
        let got = call_text(&mut b, args);
        assert_eq!(got, want, "RESP{proto} {args:?}");
    }
}

/// The body of a bulk or verbatim reply (`$n\r\n...` / `=n\r\ntxt:...`).
pub fn bulk_body(frame: &[u8]) -> String {
    let text = String::from_utf8_lossy(frame);
    let (_, rest) = text.split_once("\r\n").expect("header");
    let body = rest.strip_suffix("\r\n").expect("trailing CRLF");
    match frame[0] {
        b'=' => body[4..].to_string(),
        _ => body.to_string(),
    }
}

/// INFO text as `section -> field -> value` (section names lowercased, as in `# Server`).
pub fn parse_info(text: &str) -> HashMap<String, HashMap<String, String>> {
    let mut out: HashMap<String, HashMap<String, String>> = HashMap::new();
    let mut section = String::new();
    for line in text.split("\r\n") {
        if let Some(name) = line.strip_prefix("# ") {
            section = name.to_lowercase();
            out.entry(section.clone()).or_default();
        } else if let Some((k, v)) = line.split_once(':') {
            out.entry(section.clone())
                .or_default()
                .insert(k.to_string(), v.to_string());
        }
    }
    out
}

/// One CLIENT LIST line as ordered `(field, value)` pairs.
pub fn parse_client_line(line: &str) -> Vec<(String, String)> {
    line.split(' ')
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (k.to_string(), v.to_string())
        })
        .collect()
}

/// CLIENT LIST text as one field map per client.
pub fn parse_client_list(text: &str) -> Vec<HashMap<String, String>> {
    text.lines()
        .filter(|l| !l.is_empty())
        .map(|l| parse_client_line(l).into_iter().collect())
        .collect()
}
