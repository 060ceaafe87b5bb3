//! Blocking TCP I/O bounded by a timeout, as Redis's `syncio.c` and `connBlockingConnect` do
//! it: a non-blocking socket, an optimistic `read`/`write`, then `poll(2)` for what is left
//! until the timeout. MIGRATE uses it to talk to its target from the loop thread, which it
//! stalls for at most the timeout per wait (as Redis stalls its main thread).
//!
//! The quirks are Redis's on purpose, because they decide which IOERR a client sees:
//! - [`SyncConn::connect`] succeeds as soon as one resolved address accepts a non-blocking
//!   `connect` (`EINPROGRESS`): a refused port fails later, on the first write. A connection
//!   still pending when the timeout expires is used anyway (Redis ignores that timeout too).
//! - Every wait is bounded by the timeout from the start of that read or write call; the
//!   timeout is reported as [`IoError::Timeout`] (`ETIMEDOUT`), every other failure — an
//!   error, the peer closing — as [`IoError::Other`], which MIGRATE may retry.
//! - Lines are at most [`LINE_MAX`] bytes: a longer one is returned in pieces, as
//!   `syncReadLine` with a 1024-byte buffer does.
//!
//! Threading: a [`SyncConn`] is used by one thread at a time (it is `Send`, not shared).

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::os::fd::AsRawFd;
use std::time::Instant;

/// Redis's `SYNCIO__RESOLUTION`: the shortest wait, in milliseconds.
const RESOLUTION_MS: u64 = 10;

/// The longest line [`SyncConn::read_line`] returns (Redis reads replies into 1024 bytes,
/// NUL included).
pub const LINE_MAX: usize = 1023;

/// Why an I/O call failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IoError {
    /// The timeout expired (Redis's `ETIMEDOUT`).
    Timeout,
    /// Anything else: an error from the socket, or the peer closed it.
    Other,
}

/// A connected (or still connecting) TCP socket with its unread input.
#[derive(Debug)]
pub struct SyncConn {
    stream: TcpStream,
    input: Vec<u8>,
    /// Start of the unread part of `input`.
    pos: usize,
}

/// Redis's `atoi` on a port argument, as `anetTcpGenericConnect` turns it into the service
/// string `getaddrinfo` parses with `strtoul` and truncates to 16 bits: `70000` is port 4464,
/// `-1` is 65535, `abc` is 0.
pub fn atoi_port(arg: &[u8]) -> u16 {
    let mut s = arg;
    while let [c, rest @ ..] = s {
        if c.is_ascii_whitespace() {
            s = rest;
        } else {
            break;
        }
    }
    let neg = s.first() == Some(&b'-');
    if matches!(s.first(), Some(b'-' | b'+')) {
        s = &s[1..];
    }
    let mut v: i64 = 0;
    for &c in s.iter().take_while(|c| c.is_ascii_digit()) {
        v = v.saturating_mul(10).saturating_add(i64::from(c - b'0'));
    }
    let v = if neg { -v } else { v };
    // atoi's int, then the 16 bits htons keeps.
    v as i32 as u16
}

fn poll_one(fd: i32, events: i16, wait_ms: u64) {
    let mut pfd = libc::pollfd {
        fd,
        events,
        revents: 0,
    };
    let ms = wait_ms.min(i32::MAX as u64) as i32;
    // SAFETY: one valid pollfd for the duration of the call. An EINTR simply ends the wait
    // early; the callers re-check their deadline, as Redis's aeWait callers do.
    unsafe {
        libc::poll(&mut pfd, 1, ms);
    }
}

fn elapsed_ms(start: Instant) -> u64 {
    start.elapsed().as_millis() as u64
}

impl SyncConn {
    /// Redis's `connBlockingConnect`: resolves `host` (a name or an address) and starts a
    /// non-blocking connect to the first address that takes it, then waits up to `timeout_ms`
    /// for it to complete. `None` when no address could even start connecting (resolution
    /// failed, every `connect` failed at once).
    pub fn connect(host: &[u8], port: u16, timeout_ms: u64) -> Option<SyncConn> {
        // A C string in Redis: what follows a NUL is not part of the name.
        let host = host.split(|&b| b == 0).next().unwrap_or_default();
        let host = std::str::from_utf8(host).ok()?;
        let addrs: Vec<SocketAddr> = (host, port).to_socket_addrs().ok()?.collect();
        let socket = addrs.iter().find_map(start_connect)?;
        let fd = socket.as_raw_fd();
        poll_one(fd, libc::POLLOUT, timeout_ms);
        let _ = socket.set_nodelay(true);
        Some(SyncConn {
            stream: socket,
            input: Vec::new(),
            pos: 0,
        })
    }

    /// Redis's `syncWrite`: all of `buf` within `timeout_ms` of the start.
    pub fn write_all(&mut self, mut buf: &[u8], timeout_ms: u64) -> Result<(), IoError> {
        let start = Instant::now();
        let fd = self.stream.as_raw_fd();
        loop {
            match self.stream.write(buf) {
                Ok(n) => buf = &buf[n..],
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return Err(IoError::Other),
            }
            if buf.is_empty() {
                return Ok(());
            }
            let remaining = timeout_ms.saturating_sub(elapsed_ms(start));
            poll_one(fd, libc::POLLOUT, remaining.max(RESOLUTION_MS));
            if elapsed_ms(start) >= timeout_ms {
                return Err(IoError::Timeout);
            }
        }
    }

    /// Redis's `syncReadLine`: the next line without its `\r\n`, at most [`LINE_MAX`] bytes,
    /// each byte awaited for up to `timeout_ms`. An empty line is returned as such (MIGRATE
    /// treats it as a failure, as Redis does with a zero-length read).
    pub fn read_line(&mut self, timeout_ms: u64) -> Result<Vec<u8>, IoError> {
        let mut line = Vec::new();
        loop {
            if self.pos == self.input.len() {
                self.fill(timeout_ms)?;
            }
            let avail = &self.input[self.pos..];
            let room = LINE_MAX - line.len();
            let scan = &avail[..avail.len().min(room)];
            if let Some(nl) = scan.iter().position(|&b| b == b'\n') {
                line.extend_from_slice(&scan[..nl]);
                self.pos += nl + 1;
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                return Ok(line);
            }
            line.extend_from_slice(scan);
            self.pos += scan.len();
            if line.len() == LINE_MAX {
                return Ok(line);
            }
        }
    }

    /// Reads what is available into the (empty) input buffer, waiting up to `timeout_ms`.
    fn fill(&mut self, timeout_ms: u64) -> Result<(), IoError> {
        self.input.clear();
        self.pos = 0;
        self.input.resize(16 * 1024, 0);
        let start = Instant::now();
        let fd = self.stream.as_raw_fd();
        loop {
            match self.stream.read(&mut self.input) {
                Ok(0) => {
                    self.input.clear();
                    return Err(IoError::Other);
                }
                Ok(n) => {
                    self.input.truncate(n);
                    return Ok(());
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => {
                    self.input.clear();
                    return Err(IoError::Other);
                }
            }
            let remaining = timeout_ms.saturating_sub(elapsed_ms(start));
            poll_one(fd, libc::POLLIN, remaining.max(RESOLUTION_MS));
            if elapsed_ms(start) >= timeout_ms {
                self.input.clear();
                return Err(IoError::Timeout);
            }
        }
    }
}

/// A non-blocking socket connecting to `addr`, if `connect` did not fail at once (Redis's
/// `anetTcpGenericConnect` with `ANET_CONNECT_NONBLOCK`).
fn start_connect(addr: &SocketAddr) -> Option<TcpStream> {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(
        Domain::for_address(*addr),
        Type::STREAM,
        Some(Protocol::TCP),
    )
    .ok()?;
    socket.set_reuse_address(true).ok()?;
    socket.set_nonblocking(true).ok()?;
    match socket.connect(&(*addr).into()) {
        Ok(()) => {}
        Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {}
        Err(_) => return None,
    }
    Some(socket.into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    #[test]
    fn ports_parse_as_redis_atoi_then_sixteen_bits() {
        assert_eq!(atoi_port(b"6379"), 6379);
        assert_eq!(atoi_port(b"  42abc"), 42);
        assert_eq!(atoi_port(b"abc"), 0);
        assert_eq!(atoi_port(b"70000"), 4464);
        assert_eq!(atoi_port(b"-1"), 65535);
        assert_eq!(atoi_port(b"+80"), 80);
    }

    #[test]
    fn lines_are_split_and_bounded() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let mut conn = SyncConn::connect(b"127.0.0.1", port, 1000).unwrap();
        let (mut peer, _) = listener.accept().unwrap();
        let long = vec![b'x'; LINE_MAX + 5];
        peer.write_all(b"+OK\r\n-ERR bad\r\n\r\n").unwrap();
        peer.write_all(&long).unwrap();
        peer.write_all(b"\r\n").unwrap();
        assert_eq!(conn.read_line(1000).unwrap(), b"+OK");
        assert_eq!(conn.read_line(1000).unwrap(), b"-ERR bad");
        assert_eq!(conn.read_line(1000).unwrap(), b"");
        assert_eq!(conn.read_line(1000).unwrap().len(), LINE_MAX);
        assert_eq!(conn.read_line(1000).unwrap(), b"xxxxx");
        conn.write_all(b"PING\r\n", 1000).unwrap();
        let mut got = [0u8; 6];
        peer.read_exact(&mut got).unwrap();
        assert_eq!(&got, b"PING\r\n");
    }

    #[test]
    fn a_silent_peer_times_out_and_a_closed_one_is_an_error() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let mut conn = SyncConn::connect(b"127.0.0.1", port, 1000).unwrap();
        let (peer, _) = listener.accept().unwrap();
        let start = Instant::now();
        assert_eq!(conn.read_line(100), Err(IoError::Timeout));
        assert!(start.elapsed().as_millis() >= 100);
        drop(peer);
        assert_eq!(conn.read_line(1000), Err(IoError::Other));
    }

    #[test]
    fn unresolvable_hosts_do_not_connect() {
        assert!(SyncConn::connect(b"", 80, 100).is_none());
        assert!(SyncConn::connect(b"\xff", 80, 100).is_none());
    }
}
