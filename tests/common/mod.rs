//! Test harness: starts the real `ferrokv-server` binary (or a real `redis-server`) on a free
//! port, waits until it answers PING, and stops it on drop.
#![allow(dead_code)]

pub mod splitmix;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running server process.
pub struct Server {
    pub port: u16,
    child: Child,
}

/// A port that was free a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

impl Server {
    /// Starts ferrokv with extra flags (`--port` is added).
    pub fn start(extra: &[&str]) -> Server {
        let port = free_port();
        let child = Command::new(env!("CARGO_BIN_EXE_ferrokv-server"))
            .arg("--port")
            .arg(port.to_string())
            .args(extra)
            .stdout(Stdio::null())
            // FERROKV_TEST_LOG=1 shows the server's log (and any panic) in the test output.
            .stderr(if std::env::var_os("FERROKV_TEST_LOG").is_some() {
                Stdio::inherit()
            } else {
                Stdio::null()
            })
            .spawn()
            .expect("spawn ferrokv-server");
        let s = Server { port, child };
        s.wait_ready();
        s
    }

    /// Starts a real redis-server if one is installed (for differential tests).
    pub fn start_redis() -> Option<Server> {
        Server::start_redis_with(&[])
    }

    /// Starts a real redis-server with extra command-line options (`--name value ...`), if one
    /// is installed.
    pub fn start_redis_with(extra: &[&str]) -> Option<Server> {
        let port = free_port();
        let child = Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let s = Server { port, child };
        s.wait_ready();
        Some(s)
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(mut c) = TcpStream::connect(("127.0.0.1", self.port)) {
                c.set_read_timeout(Some(Duration::from_secs(2))).ok();
                if c.write_all(b"PING\r\n").is_ok() {
                    let mut buf = [0u8; 7];
                    if c.read_exact(&mut buf).is_ok() && &buf == b"+PONG\r\n" {
                        return;
                    }
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("server on port {} did not become ready", self.port);
    }

    /// The server process id (for reading `/proc/<pid>/status`).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// A `redis` crate connection.
    pub fn conn(&self) -> redis::Connection {
        let client = redis::Client::open(self.url()).expect("client");
        let c = client.get_connection().expect("connect");
        c.set_read_timeout(Some(Duration::from_secs(10))).ok();
        c
    }

    /// A raw TCP connection for protocol-level tests.
    pub fn raw(&self) -> Raw {
        let s = TcpStream::connect(("127.0.0.1", self.port)).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(10))).ok();
        Raw { s }
    }

    /// Sends SIGTERM and waits for exit; returns the exit status code.
    pub fn terminate(mut self) -> Option<i32> {
        unsafe_kill(self.child.id(), 15);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// Waits up to `timeout` for the process to exit by itself.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<i32> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

fn unsafe_kill(pid: u32, sig: i32) {
    let _ = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .status();
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A raw socket speaking bytes.
pub struct Raw {
    pub s: TcpStream,
}

impl Raw {
    pub fn send(&mut self, bytes: &[u8]) {
        self.s.write_all(bytes).expect("send");
    }

    /// Reads exactly `n` bytes.
    pub fn read_n(&mut self, n: usize) -> Vec<u8> {
        let mut buf = vec![0u8; n];
        self.s.read_exact(&mut buf).expect("read");
        buf
    }

    /// Reads until `expected.len()` bytes arrived and compares.
    pub fn expect(&mut self, expected: &[u8]) {
        let got = self.read_n(expected.len());
        assert_eq!(
            String::from_utf8_lossy(&got),
            String::from_utf8_lossy(expected)
        );
    }

    /// True when the server closed the connection (read returns 0) within the timeout.
    pub fn is_closed(&mut self) -> bool {
        let mut buf = [0u8; 1024];
        loop {
            match self.s.read(&mut buf) {
                Ok(0) => return true,
                Ok(_) => continue,
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return true,
                Err(_) => return false,
            }
        }
    }
}

/// A bulk string reply.
pub fn bulk(s: &str) -> redis::Value {
    redis::Value::BulkString(s.as_bytes().to_vec())
}

/// Runs a command that must succeed and returns its reply.
pub fn ok(c: &mut redis::Connection, args: &[&str]) -> redis::Value {
    run(c, args).unwrap_or_else(|e| panic!("{args:?} failed: {e}"))
}

/// Redis's common error texts, as `err` returns them.
pub const SYNTAX: &str = "ERR syntax error";
pub const NOT_INT: &str = "ERR value is not an integer or out of range";
pub const NOT_FLOAT: &str = "ERR value is not a valid float";
pub const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";

/// Runs a command and returns the raw `redis::Value` (errors become `Err`).
pub fn run(c: &mut redis::Connection, args: &[&str]) -> redis::RedisResult<redis::Value> {
    let mut cmd = redis::cmd(args[0]);
    for a in &args[1..] {
        cmd.arg(*a);
    }
    cmd.query(c)
}

/// The error text of a failing command (`"ERR ..."`, code included), panicking on success.
pub fn err(c: &mut redis::Connection, args: &[&str]) -> String {
    match run(c, args) {
        Ok(v) => panic!("expected an error from {args:?}, got {v:?}"),
        Err(e) => error_text(&e),
    }
}

/// Reconstructs Redis's full error line from a `redis::RedisError` ("CODE detail").
pub fn error_text(e: &redis::RedisError) -> String {
    match (e.code(), e.detail()) {
        (Some(code), Some(detail)) => format!("{code} {detail}"),
        (Some(code), None) => code.to_string(),
        _ => e.to_string(),
    }
}
