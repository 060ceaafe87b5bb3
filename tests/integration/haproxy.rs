//! The HAProxy example (`deploy/haproxy/haproxy.cfg`) with the real Debian haproxy in front of
//! two ferrokv instances: clients get correct replies through it, each backend sees the real
//! client address (PROXY protocol v2), and when a backend dies haproxy's PING health check
//! marks it down and traffic goes on through the other. Skipped where haproxy is not
//! installed (CI installs it).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{free_port, Server};

/// haproxy, killed on drop.
struct Haproxy(Child);

impl Drop for Haproxy {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn backend() -> Server {
    Server::start(&[
        "--proxy-protocol",
        "yes",
        "--proxy-protocol-trusted-sources",
        "127.0.0.2",
        "--protected-mode",
        "no",
    ])
}

/// One request on a fresh connection through the frontend: the reply, or None.
fn through(front: u16, request: &[u8]) -> Option<(String, std::net::SocketAddr)> {
    let mut c = TcpStream::connect(("127.0.0.1", front)).ok()?;
    c.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    c.write_all(request).ok()?;
    let mut buf = vec![0u8; 8192];
    let n = c.read(&mut buf).ok()?;
    (n > 0).then(|| {
        (
            String::from_utf8_lossy(&buf[..n]).into_owned(),
            c.local_addr().unwrap(),
        )
    })
}

#[test]
fn haproxy_in_front_of_two_backends() {
    if Command::new("haproxy").arg("-v").output().is_err() {
        eprintln!("haproxy not installed: skipped");
        return;
    }
    let a = backend();
    let b = backend();
    let front = free_port();
    let config = concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/haproxy/haproxy.cfg");
    let _haproxy = Haproxy(
        Command::new("haproxy")
            .args(["-db", "-f", config])
            .env("FRONT_ADDR", format!("127.0.0.1:{front}"))
            .env("BACKEND_A", format!("127.0.0.1:{}", a.port))
            .env("BACKEND_B", format!("127.0.0.1:{}", b.port))
            .env("SOURCE_ADDR", "127.0.0.2")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start haproxy"),
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while through(front, b"PING\r\n").map(|r| r.0) != Some("+PONG\r\n".into()) {
        assert!(Instant::now() < deadline, "haproxy did not come up");
        std::thread::sleep(Duration::from_millis(50));
    }
    // Replies are correct, and the backend names the real client (our own socket's address).
    let (set, _) = through(front, b"SET k v\r\n").unwrap();
    assert_eq!(set, "+OK\r\n");
    for _ in 0..4 {
        let (info, me) = through(front, b"CLIENT INFO\r\n").unwrap();
        assert!(info.contains(&format!("addr={me} ")), "{me}: {info}");
    }
    // Round robin reached both backends: each saw client connections.
    for s in [&a, &b] {
        let mut c = s.conn();
        let info: String = redis::cmd("INFO").arg("stats").query(&mut c).unwrap();
        let received: u64 = info
            .lines()
            .find_map(|l| l.strip_prefix("total_connections_received:"))
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        assert!(received > 2, "port {}: {received}", s.port);
    }
    // One backend dies: after the health check marks it down, every request succeeds.
    drop(a);
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut streak = 0;
    while streak < 20 {
        assert!(
            Instant::now() < deadline,
            "traffic did not recover after a backend died"
        );
        match through(front, b"PING\r\n") {
            Some((r, _)) if r == "+PONG\r\n" => streak += 1,
            _ => streak = 0,
        }
    }
}
