//! Listening sockets: one set per loop, every socket bound with `SO_REUSEPORT` so the kernel
//! spreads incoming connections over the loops.
//!
//! [`bind_all`] builds every loop's set from `bind` + `port` + `tls-port`; start-up
//! (`net::start`) and CONFIG SET `bind`/`port` (which hands each loop its new set as
//! [`super::mailbox::Msg::Listen`]) both use it, so a runtime change listens exactly as
//! start-up does. It lives here, below the commands, because CONFIG SET binds the new sockets
//! itself: a failure is its reply, and the old listeners stay untouched.

use std::io;
use std::net::{SocketAddr, ToSocketAddrs};

use mio::net::TcpListener;
use socket2::{Domain, Protocol, Socket, Type};

/// Redis's `CONFIG_BINDADDR_MAX`.
pub const MAX_BIND_ADDRESSES: usize = 16;

/// One loop's listeners, each with whether it is a `tls-port` one.
pub type LoopListeners = Vec<(TcpListener, bool)>;

/// Every loop's listeners, and the addresses they listen on.
pub struct Bound {
    /// One set per loop, in loop order.
    pub per_loop: Vec<LoopListeners>,
    /// The plain addresses (port 0 replaced by the port the kernel picked).
    pub addrs: Vec<SocketAddr>,
    pub tls_addrs: Vec<SocketAddr>,
}

impl Bound {
    /// The plain port listened on (0: none).
    pub fn port(&self) -> u16 {
        self.addrs.first().map_or(0, SocketAddr::port)
    }
}

/// Resolves `host` + `port` to socket addresses (`*` and `0.0.0.0` mean any IPv4 address; a
/// leading `-` marks an optional address, see [`bind_all`]).
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
pub fn bind(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    socket.set_reuse_port(true)?;
    if addr.is_ipv6() {
        socket.set_only_v6(true)?;
    }
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(511)?;
    Ok(TcpListener::from_std(socket.into()))
}

/// Binds `loops` listener sets on every address of `hosts`: plain ones on `port` when given
/// (`Some(0)`: a port the kernel picks, the same for every loop), TLS ones on `tls_port` when
/// given. As Redis's `listenToPort`, an optional address (`-::1`) that the host lacks and an
/// address family the host does not support are skipped with a warning; any other failure
/// fails the whole set (the sockets bound so far are closed).
pub fn bind_all(
    hosts: &[String],
    port: Option<u16>,
    tls_port: Option<u16>,
    loops: usize,
) -> io::Result<Bound> {
    let mut bound = Bound {
        per_loop: Vec::with_capacity(loops),
        addrs: Vec::new(),
        tls_addrs: Vec::new(),
    };
    // Loop 0 first: it settles which addresses are listened on, and port 0's concrete port.
    let mut first = LoopListeners::new();
    for (port, tls) in [(port, false), (tls_port, true)] {
        let Some(mut port) = port else { continue };
        for host in hosts {
            for addr in resolve(host, port)? {
                let mut addr = addr;
                addr.set_port(port);
                match bind(addr) {
                    Ok(l) => {
                        addr.set_port(l.local_addr()?.port());
                        port = addr.port();
                        first.push((l, tls));
                        if tls {
                            bound.tls_addrs.push(addr);
                        } else {
                            bound.addrs.push(addr);
                        }
                    }
                    Err(e) if skippable(host, &e) => {
                        tracing::warn!(%addr, error = %e, "Could not create server TCP listening socket (skipped)");
                    }
                    Err(e) => {
                        tracing::warn!(%addr, error = %e, "Could not create server TCP listening socket");
                        return Err(e);
                    }
                }
            }
        }
    }
    bound.per_loop.push(first);
    for _ in 1..loops {
        let mut mine = LoopListeners::with_capacity(bound.addrs.len() + bound.tls_addrs.len());
        for (addrs, tls) in [(&bound.addrs, false), (&bound.tls_addrs, true)] {
            for a in addrs {
                mine.push((bind(*a)?, tls));
            }
        }
        bound.per_loop.push(mine);
    }
    Ok(bound)
}

/// A bind failure Redis's `listenToPort` steps over: an optional address the host lacks, or
/// an address family it does not support.
fn skippable(host: &str, e: &io::Error) -> bool {
    match e.raw_os_error() {
        Some(libc::EADDRNOTAVAIL) => host.starts_with('-'),
        Some(
            libc::ENOPROTOOPT
            | libc::EPROTONOSUPPORT
            | libc::ESOCKTNOSUPPORT
            | libc::EPFNOSUPPORT
            | libc::EAFNOSUPPORT,
        ) => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_zero_is_one_port_for_every_loop() {
        let b = bind_all(&["127.0.0.1".into()], Some(0), None, 3).unwrap();
        let port = b.port();
        assert_ne!(port, 0);
        assert_eq!(b.per_loop.len(), 3);
        for set in &b.per_loop {
            assert_eq!(set.len(), 1);
            assert_eq!(set[0].0.local_addr().unwrap().port(), port);
            assert!(!set[0].1);
        }
    }

    #[test]
    fn no_port_no_listeners() {
        let b = bind_all(&["127.0.0.1".into()], None, None, 2).unwrap();
        assert_eq!(b.port(), 0);
        assert!(b.per_loop.iter().all(Vec::is_empty));
    }

    #[test]
    fn a_port_held_without_reuseport_fails() {
        let held = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = held.local_addr().unwrap().port();
        assert!(bind_all(&["127.0.0.1".into()], Some(port), None, 2).is_err());
    }

    #[test]
    fn an_optional_missing_address_is_skipped() {
        // 192.0.2.1 (TEST-NET-1) is not an address of this host.
        let b = bind_all(&["-192.0.2.1".into(), "127.0.0.1".into()], Some(0), None, 1).unwrap();
        assert_eq!(b.addrs.len(), 1);
        assert!(bind_all(&["192.0.2.1".into()], Some(0), None, 1).is_err());
    }
}
