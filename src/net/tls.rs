//! One connection's TLS state: a `rustls::ServerConnection` driven by the loop's readiness
//! events, between the socket and the connection's plaintext buffers.
//!
//! Invariants:
//! - Nothing here blocks: every socket call returns `WouldBlock` to the caller, which waits
//!   for the next readiness event; the handshake advances one step per event, so a peer that
//!   stalls mid-handshake only holds its own slot (the loop closes it after
//!   `tls-handshake-timeout`).
//! - Reading drains decrypted plaintext before it reads more records, so rustls's received
//!   plaintext buffer stays bounded; writing moves plaintext into rustls only while its
//!   outgoing buffer (bounded by rustls's default limit) has room: the rest waits in the
//!   connection's output buffer, where the output limits see it.
//! - A TLS error (garbage, a bad certificate, a refused protocol) fails that connection only:
//!   its alert is sent best effort and the caller closes it.

use std::io::{self, Read, Write};
use std::sync::Arc;

use bytes::{Buf, BytesMut};
use mio::net::TcpStream;
use rustls::{ServerConfig, ServerConnection};

/// A TLS session over a connection's socket.
pub struct TlsSession {
    conn: ServerConnection,
}

impl TlsSession {
    pub fn new(config: Arc<ServerConfig>) -> Result<TlsSession, rustls::Error> {
        Ok(TlsSession {
            conn: ServerConnection::new(config)?,
        })
    }

    /// The handshake is not finished.
    pub fn is_handshaking(&self) -> bool {
        self.conn.is_handshaking()
    }

    /// Records (handshake messages, alerts, encrypted replies) wait to be written.
    pub fn wants_write(&self) -> bool {
        self.conn.wants_write()
    }

    /// Takes raw TLS bytes that were read from the socket before this session existed (those
    /// following a PROXY protocol header).
    pub fn feed(&mut self, mut bytes: &[u8]) -> io::Result<()> {
        while !bytes.is_empty() {
            self.conn.read_tls(&mut bytes)?;
            self.process()?;
        }
        Ok(())
    }

    /// Appends decrypted input to `rbuf`: `Ok(n > 0)` plaintext bytes, `Ok(0)` the peer
    /// closed (close_notify or EOF), `Err(WouldBlock)` nothing more for now, another error
    /// a broken session (close it).
    pub fn read(
        &mut self,
        sock: &mut TcpStream,
        rbuf: &mut BytesMut,
        chunk: usize,
    ) -> io::Result<usize> {
        loop {
            // Plaintext already decrypted goes first (it may hold several records' worth);
            // the reader says WouldBlock when there is none.
            let start = rbuf.len();
            if rbuf.capacity() - start < chunk / 4 {
                rbuf.reserve(chunk);
            }
            // Zeroed before use (safe code); bounded to one chunk so a large idle capacity is
            // not cleared on every read.
            let room = (rbuf.capacity() - start).min(chunk);
            rbuf.resize(start + room, 0);
            match self.conn.reader().read(&mut rbuf[start..]) {
                Ok(n) => {
                    rbuf.truncate(start + n);
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => rbuf.truncate(start),
                Err(e) => {
                    rbuf.truncate(start);
                    return Err(e);
                }
            }
            match self.conn.read_tls(sock) {
                Ok(0) => return Ok(0),
                Ok(_) => self.process()?,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// Processes received records; on a TLS error, sends the alert best effort.
    fn process(&mut self) -> io::Result<()> {
        match self.conn.process_new_packets() {
            Ok(_) => Ok(()),
            Err(e) => Err(io::Error::new(io::ErrorKind::InvalidData, e)),
        }
    }

    /// Encrypts what `out` holds (as much as rustls's buffer takes) and writes records to the
    /// socket until it is full; returns the plaintext bytes taken from `out`.
    pub fn write(&mut self, sock: &mut TcpStream, out: &mut BytesMut) -> io::Result<usize> {
        let mut taken = 0;
        loop {
            if !out.is_empty() {
                let n = self.conn.writer().write(out)?;
                out.advance(n);
                taken += n;
            }
            if !self.conn.wants_write() {
                return Ok(taken);
            }
            match self.conn.write_tls(sock) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(taken),
                Err(e) => return Err(e),
            }
        }
    }

    /// Best effort: pending records (an alert after a failed handshake, the last replies),
    /// one write attempt each, never blocking.
    pub fn write_best_effort(&mut self, sock: &mut TcpStream, out: &mut BytesMut) {
        let _ = self.write(sock, out);
    }
}
