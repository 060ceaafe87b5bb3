//! The PROXY protocol (v1 and v2) in front of the real binary: the header's client address is
//! the one CLIENT INFO, CLIENT LIST, CLIENT KILL ADDR and MONITOR use; a missing or malformed
//! header closes that connection only; untrusted sources connect directly.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use crate::common::Server;

/// The load balancer's address in these tests (trusted); the harness and the admin
/// connections come from 127.0.0.1 (untrusted: direct, no header).
const BALANCER: &str = "127.0.0.2";

/// The server with PROXY protocol required from [`BALANCER`] (protected mode off: that
/// address is not loopback for it, as for Redis).
fn start(extra: &[&str]) -> Server {
    let mut flags = vec![
        "--proxy-protocol",
        "yes",
        "--proxy-protocol-trusted-sources",
        BALANCER,
        "--protected-mode",
        "no",
    ];
    flags.extend_from_slice(extra);
    Server::start(&flags)
}

/// A connection from [`BALANCER`].
fn connect(s: &Server) -> TcpStream {
    crate::common::connect_from(BALANCER, s.port)
}

/// Reads until `want` appears (or the peer closes); returns what came.
fn read_until(c: &mut TcpStream, want: &str) -> String {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&got).contains(want) {
        match c.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(&got).into_owned()
}

/// Whether the server closed `c` without sending anything.
fn closed_silently(c: &mut TcpStream) -> bool {
    let mut buf = [0u8; 64];
    matches!(c.read(&mut buf), Ok(0))
}

fn v2_ipv4(src: [u8; 4], sport: u16) -> Vec<u8> {
    let mut h = b"\r\n\r\n\0\r\nQUIT\n".to_vec();
    h.extend_from_slice(&[0x21, 0x11, 0, 12]);
    h.extend_from_slice(&src);
    h.extend_from_slice(&[127, 0, 0, 1]);
    h.extend_from_slice(&sport.to_be_bytes());
    h.extend_from_slice(&6379u16.to_be_bytes());
    h
}

#[test]
fn v1_and_v2_headers_set_the_client_address() {
    let s = start(&[]);
    let mut a = connect(&s);
    a.write_all(b"PROXY TCP4 203.0.113.7 127.0.0.1 51234 6379\r\nCLIENT INFO\r\n")
        .unwrap();
    let info = read_until(&mut a, "\r\n\r\n");
    assert!(info.contains("addr=203.0.113.7:51234 "), "{info}");
    // Version 2, the header split across writes.
    let mut b = connect(&s);
    let h = v2_ipv4([198, 51, 100, 9], 4242);
    b.write_all(&h[..7]).unwrap();
    std::thread::sleep(Duration::from_millis(50));
    b.write_all(&h[7..]).unwrap();
    b.write_all(b"PING\r\n").unwrap();
    assert_eq!(read_until(&mut b, "\r\n"), "+PONG\r\n");
    // Everyone's view uses the real address: CLIENT LIST, MONITOR, CLIENT KILL ADDR.
    let mut admin = s.conn();
    let list: String = redis::cmd("CLIENT").arg("LIST").query(&mut admin).unwrap();
    assert!(list.contains("addr=198.51.100.9:4242 "), "{list}");
    let mut m = connect(&s);
    m.write_all(b"PROXY TCP4 192.0.2.1 127.0.0.1 1000 6379\r\nMONITOR\r\n")
        .unwrap();
    assert_eq!(read_until(&mut m, "\r\n"), "+OK\r\n");
    b.write_all(b"SET k v\r\n").unwrap();
    assert_eq!(read_until(&mut b, "\r\n"), "+OK\r\n");
    let line = read_until(&mut m, "\r\n");
    assert!(
        line.contains("198.51.100.9:4242] \"SET\" \"k\" \"v\""),
        "{line}"
    );
    let killed: i64 = redis::cmd("CLIENT")
        .arg("KILL")
        .arg("ADDR")
        .arg("198.51.100.9:4242")
        .query(&mut admin)
        .map(|()| 1)
        .or_else(|_| {
            redis::cmd("CLIENT")
                .arg("KILL")
                .arg("198.51.100.9:4242")
                .query::<()>(&mut admin)
                .map(|()| 1)
        })
        .unwrap();
    assert_eq!(killed, 1);
    assert!(closed_silently(&mut b));
    // UNKNOWN and LOCAL keep the TCP peer's address.
    let mut u = connect(&s);
    u.write_all(b"PROXY UNKNOWN\r\nCLIENT INFO\r\n").unwrap();
    assert!(read_until(&mut u, "\r\n\r\n").contains("addr=127.0.0.2:"));
}

#[test]
fn a_missing_or_malformed_header_closes_that_connection_only() {
    let s = start(&[]);
    let mut good = connect(&s);
    good.write_all(b"PROXY TCP4 10.1.2.3 127.0.0.1 1 2\r\n")
        .unwrap();
    for bad in [
        &b"PING\r\n"[..],
        b"*1\r\n$4\r\nPING\r\n",
        b"PROXY TCP4 10.1.2.3 127.0.0.1 1\r\nPING\r\n",
        b"PROXY TCP9 a b c d\r\n",
        b"\r\n\r\n\0\r\nQUIT\n\x11\x11\x00\x0c",
    ] {
        let mut c = connect(&s);
        c.write_all(bad).unwrap();
        assert!(
            closed_silently(&mut c),
            "{:?}",
            String::from_utf8_lossy(bad)
        );
    }
    // An oversized v1 line is refused before the server buffers more of it.
    let mut c = connect(&s);
    let _ = c.write_all(&[b"PROXY TCP4 ".as_slice(), &[b'9'; 300]].concat());
    assert!(closed_silently(&mut c));
    good.write_all(b"PING\r\n").unwrap();
    assert_eq!(read_until(&mut good, "\r\n"), "+PONG\r\n");
}

#[test]
fn only_trusted_sources_send_headers() {
    let s = start(&[]);
    // 127.0.0.1 is not trusted: its connections are direct.
    let mut c = s.conn();
    let v: String = redis::cmd("PING").query(&mut c).unwrap();
    assert_eq!(v, "PONG");
    let got: Vec<String> = redis::cmd("CONFIG")
        .arg("GET")
        .arg("proxy-protocol-trusted-sources")
        .query(&mut c)
        .unwrap();
    assert_eq!(got[1], "127.0.0.2/32");
    // The trusted balancer must send the header.
    let mut b = connect(&s);
    b.write_all(b"PING\r\n").unwrap();
    assert!(closed_silently(&mut b));
    // CIDRs parse; a bad one stops the server.
    let s = Server::start(&[
        "--proxy-protocol",
        "yes",
        "--proxy-protocol-trusted-sources",
        "10.0.0.0/8 192.168.1.1 2001:db8::/32",
    ]);
    let mut c = s.conn();
    let got: Vec<String> = redis::cmd("CONFIG")
        .arg("GET")
        .arg("proxy-protocol-trusted-sources")
        .query(&mut c)
        .unwrap();
    assert_eq!(got[1], "10.0.0.0/8 192.168.1.1/32 2001:db8::/32");
    let out = crate::common::run_to_exit(&[
        "--port",
        "0",
        "--proxy-protocol-trusted-sources",
        "10.0.0.0/99",
    ]);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn a_header_that_does_not_come_in_time_closes_the_connection() {
    let s = start(&["--proxy-protocol-header-timeout", "1"]);
    let started = std::time::Instant::now();
    let mut silent = connect(&s);
    let mut trickling = connect(&s);
    trickling.write_all(b"PROX").unwrap();
    assert!(closed_silently(&mut silent));
    assert!(closed_silently(&mut trickling));
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(900) && waited < Duration::from_secs(4),
        "{waited:?}"
    );
    // Direct clients are not affected.
    let mut c = s.conn();
    let v: String = redis::cmd("PING").query(&mut c).unwrap();
    assert_eq!(v, "PONG");
}
