//! SHA-1 as Redis uses it for `DEBUG DIGEST` (and, later, script ids): a thin wrapper over the
//! RustCrypto `sha1` crate so callers get Redis's lowercase hex. Not for security: SHA-1 is
//! broken for that; here it only has to give Redis's exact bytes.

use sha1::Digest;

/// SHA-1 of one buffer.
pub fn sha1(data: &[u8]) -> [u8; 20] {
    sha1::Sha1::digest(data).into()
}

/// Lowercase hex of `bytes` (Redis prints digests with `%02x`).
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_vectors() {
        assert_eq!(hex(&sha1(b"")), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
        assert_eq!(
            hex(&sha1(b"abc")),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
    }
}
