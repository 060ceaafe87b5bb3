//! Listening sockets: one per loop and address, all bound with `SO_REUSEPORT` so the kernel
//! spreads incoming connections over the loops.

use std::io;
use std::net::{SocketAddr, ToSocketAddrs};

use socket2::{Domain, Protocol, Socket, Type};

/// Resolves `host` + `port` to socket addresses (`*` and `0.0.0.0` mean any IPv4 address).
pub fn resolve(host: &str, port: u16) -> io::Result<Vec<SocketAddr>> {
    let host = match host {
        "*" => "0.0.0.0",
        "::*" => "::",
        h => h.trim_start_matches('-'),
    };
    let addrs: Vec<SocketAddr> = (host, port).to_socket_addrs()?.collect();
    if addrs.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("cannot resolve {host}"),
        ));
    }
    Ok(addrs)
}

/// A non-blocking listener with `SO_REUSEADDR` and `SO_REUSEPORT`, ready for mio.
pub fn bind(addr: SocketAddr) -> io::Result<mio::net::TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    socket.set_reuse_port(true)?;
    if addr.is_ipv6() {
        socket.set_only_v6(true)?;
    }
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(511)?;
    Ok(mio::net::TcpListener::from_std(socket.into()))
}
