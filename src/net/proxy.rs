//! The PROXY protocol header (HAProxy's spec, versions 1 and 2) that a load balancer sends
//! before the client's bytes, so that the server sees the real client address.
//!
//! [`parse`] looks at the start of a connection's read buffer: `Ok(None)` while the header may
//! still be incomplete, the header's length and source address once it is whole, an error for
//! anything else (the connection is then closed). It never reads past [`MAX_HEADER`] bytes,
//! so a peer cannot make the server buffer an unbounded header.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// Version 2's signature.
const V2_SIGNATURE: &[u8; 12] = b"\r\n\r\n\0\r\nQUIT\n";
/// Version 1's longest line, CRLF included (the spec's figure).
const V1_MAX: usize = 107;
/// The longest version 2 header accepted (16 fixed bytes + addresses + TLVs).
pub const MAX_HEADER: usize = 16 + 2048;

/// A complete header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Bytes the header takes at the start of the stream.
    pub len: usize,
    /// The client's address; `None` for `UNKNOWN` (v1) and `LOCAL` or unspecified (v2): the
    /// connection's own peer address stands.
    pub source: Option<SocketAddr>,
}

/// Why a header was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProxyError {
    #[error("no PROXY protocol header")]
    Missing,
    #[error("malformed PROXY protocol header: {0}")]
    Malformed(&'static str),
}

/// Parses the header at the start of `buf` (see the module doc).
pub fn parse(buf: &[u8]) -> Result<Option<Header>, ProxyError> {
    if buf.is_empty() {
        return Ok(None);
    }
    let v2 = &V2_SIGNATURE[..buf.len().min(12)];
    if buf.starts_with(v2) {
        return if buf.len() < 16 {
            Ok(None)
        } else {
            parse_v2(buf)
        };
    }
    let v1 = &b"PROXY "[..buf.len().min(6)];
    if buf.starts_with(v1) {
        return parse_v1(buf);
    }
    Err(ProxyError::Missing)
}

fn parse_v1(buf: &[u8]) -> Result<Option<Header>, ProxyError> {
    let Some(end) = buf.iter().take(V1_MAX).position(|&b| b == b'\n') else {
        return if buf.len() >= V1_MAX {
            Err(ProxyError::Malformed("v1 line too long"))
        } else {
            Ok(None)
        };
    };
    let line = &buf[..end];
    let line = line
        .strip_suffix(b"\r")
        .ok_or(ProxyError::Malformed("v1 line not ended by CRLF"))?;
    let line = std::str::from_utf8(line).map_err(|_| ProxyError::Malformed("v1 not ASCII"))?;
    let mut words = line.split(' ');
    let _proxy = words.next();
    let source = match words.next() {
        Some("UNKNOWN") => None,
        Some(family @ ("TCP4" | "TCP6")) => {
            let src: IpAddr = word(&mut words)?
                .parse()
                .map_err(|_| ProxyError::Malformed("v1 bad source address"))?;
            let dst: IpAddr = word(&mut words)?
                .parse()
                .map_err(|_| ProxyError::Malformed("v1 bad destination address"))?;
            let v4 = family == "TCP4";
            if src.is_ipv4() != v4 || dst.is_ipv4() != v4 {
                return Err(ProxyError::Malformed("v1 address family mismatch"));
            }
            let sport = port(word(&mut words)?)?;
            let _dport = port(word(&mut words)?)?;
            if words.next().is_some() {
                return Err(ProxyError::Malformed("v1 extra fields"));
            }
            Some(SocketAddr::new(src, sport))
        }
        _ => return Err(ProxyError::Malformed("v1 unknown protocol")),
    };
    Ok(Some(Header {
        len: end + 1,
        source,
    }))
}

fn word<'a>(words: &mut impl Iterator<Item = &'a str>) -> Result<&'a str, ProxyError> {
    words
        .next()
        .filter(|w| !w.is_empty())
        .ok_or(ProxyError::Malformed("v1 missing field"))
}

/// A v1 port: decimal, no sign or leading zero, at most 65535.
fn port(w: &str) -> Result<u16, ProxyError> {
    if !w.bytes().all(|b| b.is_ascii_digit()) || (w.len() > 1 && w.starts_with('0')) {
        return Err(ProxyError::Malformed("v1 bad port"));
    }
    w.parse().map_err(|_| ProxyError::Malformed("v1 bad port"))
}

fn parse_v2(buf: &[u8]) -> Result<Option<Header>, ProxyError> {
    let ver_cmd = buf[12];
    if ver_cmd >> 4 != 2 {
        return Err(ProxyError::Malformed("v2 bad version"));
    }
    let family = buf[13];
    let body = u16::from_be_bytes([buf[14], buf[15]]) as usize;
    let len = 16 + body;
    if len > MAX_HEADER {
        return Err(ProxyError::Malformed("v2 header too long"));
    }
    if buf.len() < len {
        return Ok(None);
    }
    let addrs = &buf[16..len];
    let source = match ver_cmd & 0x0F {
        // LOCAL: the proxy's own connection (health checks); addresses are ignored.
        0x0 => None,
        0x1 => match family {
            // TCP or UDP over IPv4.
            0x11 | 0x12 => {
                let a = addrs
                    .get(..12)
                    .ok_or(ProxyError::Malformed("v2 short IPv4 block"))?;
                let ip = Ipv4Addr::new(a[0], a[1], a[2], a[3]);
                Some(SocketAddr::new(ip.into(), u16::from_be_bytes([a[8], a[9]])))
            }
            0x21 | 0x22 => {
                let a = addrs
                    .get(..36)
                    .ok_or(ProxyError::Malformed("v2 short IPv6 block"))?;
                let mut ip = [0u8; 16];
                ip.copy_from_slice(&a[..16]);
                let ip = Ipv6Addr::from(ip);
                Some(SocketAddr::new(
                    ip.into(),
                    u16::from_be_bytes([a[32], a[33]]),
                ))
            }
            // UNSPEC, or UNIX sockets: no usable address.
            _ => None,
        },
        _ => return Err(ProxyError::Malformed("v2 bad command")),
    };
    Ok(Some(Header { len, source }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v2(cmd: u8, family: u8, addrs: &[u8]) -> Vec<u8> {
        let mut h = V2_SIGNATURE.to_vec();
        h.push(0x20 | cmd);
        h.push(family);
        h.extend_from_slice(&(addrs.len() as u16).to_be_bytes());
        h.extend_from_slice(addrs);
        h
    }

    #[test]
    fn v1_headers() {
        let h = b"PROXY TCP4 203.0.113.7 10.0.0.1 51234 6379\r\nPING\r\n";
        let got = parse(h).unwrap().unwrap();
        assert_eq!(got.len, h.len() - 6);
        assert_eq!(got.source, Some("203.0.113.7:51234".parse().unwrap()));
        let h = b"PROXY TCP6 2001:db8::1 2001:db8::2 4000 6379\r\n";
        assert_eq!(
            parse(h).unwrap().unwrap().source,
            Some("[2001:db8::1]:4000".parse().unwrap())
        );
        assert_eq!(parse(b"PROXY UNKNOWN\r\n").unwrap().unwrap().source, None);
        // Incomplete so far.
        assert_eq!(parse(b"PROX").unwrap(), None);
        assert_eq!(parse(b"PROXY TCP4 1.2.3.4").unwrap(), None);
    }

    #[test]
    fn v1_garbage_is_refused() {
        for bad in [
            &b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n"[..],
            b"PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n",
            b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n",
            b"PROXY TCP4 ::1 5.6.7.8 1 2\r\n",
            b"PROXY TCP4 1.2.3.4 5.6.7.8 99999 2\r\n",
            b"PROXY TCP4 1.2.3.4 5.6.7.8 +1 2\r\n",
            b"PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n",
            b"GET x\r\n",
            b"*1\r\n$4\r\nPING\r\n",
        ] {
            assert!(parse(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
        let long = [b"PROXY TCP4 ".as_slice(), &[b'1'; 200]].concat();
        assert!(parse(&long).is_err());
    }

    #[test]
    fn v2_headers() {
        let mut a4 = vec![198, 51, 100, 9, 10, 0, 0, 1];
        a4.extend_from_slice(&4242u16.to_be_bytes());
        a4.extend_from_slice(&6379u16.to_be_bytes());
        let h = v2(1, 0x11, &a4);
        let got = parse(&h).unwrap().unwrap();
        assert_eq!(got.len, 28);
        assert_eq!(got.source, Some("198.51.100.9:4242".parse().unwrap()));
        // TLVs after the addresses are skipped.
        let mut with_tlv = a4.clone();
        with_tlv.extend_from_slice(&[0x05, 0, 3, b'a', b'b', b'c']);
        assert_eq!(parse(&v2(1, 0x11, &with_tlv)).unwrap().unwrap().len, 34);
        let mut a6 = vec![0u8; 36];
        a6[0] = 0x20;
        a6[1] = 0x01;
        a6[15] = 7;
        a6[32..34].copy_from_slice(&5000u16.to_be_bytes());
        assert_eq!(
            parse(&v2(1, 0x21, &a6)).unwrap().unwrap().source,
            Some("[2001::7]:5000".parse().unwrap())
        );
        // LOCAL: no address.
        assert_eq!(parse(&v2(0, 0x00, &[])).unwrap().unwrap().source, None);
        // Incomplete, then refused shapes.
        assert_eq!(parse(&h[..20]).unwrap(), None);
        assert_eq!(parse(&h[..5]).unwrap(), None);
        assert!(parse(&v2(1, 0x11, &a4[..6])).is_err());
        let mut bad_version = h.clone();
        bad_version[12] = 0x11;
        assert!(parse(&bad_version).is_err());
        let mut too_long = h.clone();
        too_long[14..16].copy_from_slice(&60000u16.to_be_bytes());
        assert!(parse(&too_long).is_err());
    }
}
