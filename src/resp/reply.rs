//! Reply encoding straight into a connection's output buffer, in RESP2 or RESP3.
//!
//! Handlers never build reply values; they call these methods, which append the wire bytes.
//! Where RESP3 has a richer type (map, set, double, null, boolean, verbatim string) the
//! method emits it when the connection speaks RESP3 and Redis's RESP2 fallback otherwise.

use bytes::{BufMut, BytesMut};

/// The output side of one connection.
pub struct Reply {
    pub buf: BytesMut,
    pub resp3: bool,
}

impl Reply {
    pub fn new(resp3: bool) -> Self {
        Reply {
            buf: BytesMut::with_capacity(16 * 1024),
            resp3,
        }
    }

    #[inline]
    fn header(&mut self, prefix: u8, n: i64) {
        let mut num = itoa::Buffer::new();
        let digits = num.format(n).as_bytes();
        self.buf.reserve(digits.len() + 3);
        self.buf.put_u8(prefix);
        self.buf.put_slice(digits);
        self.buf.put_slice(b"\r\n");
    }

    /// `+OK`
    #[inline]
    pub fn ok(&mut self) {
        self.buf.put_slice(b"+OK\r\n");
    }

    /// A simple string; `s` must not contain CR or LF.
    pub fn simple(&mut self, s: &str) {
        self.buf.reserve(s.len() + 3);
        self.buf.put_u8(b'+');
        self.buf.put_slice(s.as_bytes());
        self.buf.put_slice(b"\r\n");
    }

    /// An error reply. `msg` carries its code (`"ERR ..."`, `"WRONGTYPE ..."`); CR and LF are
    /// replaced by spaces as Redis does, so client-supplied text can never break framing.
    /// Binary-safe: client bytes quoted in an error are sent as Redis sends them.
    pub fn error(&mut self, msg: impl AsRef<[u8]>) {
        // As addReplyErrorFormat: CR/LF trimmed from both ends, then inner ones made spaces.
        let mut msg = msg.as_ref();
        while let [b'\r' | b'\n', rest @ ..] = msg {
            msg = rest;
        }
        while let [rest @ .., b'\r' | b'\n'] = msg {
            msg = rest;
        }
        self.buf.reserve(msg.len() + 3);
        self.buf.put_u8(b'-');
        for &b in msg {
            self.buf
                .put_u8(if b == b'\r' || b == b'\n' { b' ' } else { b });
        }
        self.buf.put_slice(b"\r\n");
    }

    #[inline]
    pub fn int(&mut self, n: i64) {
        self.header(b':', n);
    }

    #[inline]
    pub fn bulk(&mut self, data: &[u8]) {
        self.header(b'$', data.len() as i64);
        self.buf.put_slice(data);
        self.buf.put_slice(b"\r\n");
    }

    /// A bulk string formatted from an integer (e.g. INCR's reply is an integer, but GET of a
    /// number and CLIENT ID style replies use this).
    pub fn bulk_int(&mut self, n: i64) {
        let mut num = itoa::Buffer::new();
        self.bulk(num.format(n).as_bytes());
    }

    /// The null bulk string (`$-1` / `_`).
    #[inline]
    pub fn null(&mut self) {
        if self.resp3 {
            self.buf.put_slice(b"_\r\n");
        } else {
            self.buf.put_slice(b"$-1\r\n");
        }
    }

    /// The null array (`*-1` / `_`).
    pub fn null_array(&mut self) {
        if self.resp3 {
            self.buf.put_slice(b"_\r\n");
        } else {
            self.buf.put_slice(b"*-1\r\n");
        }
    }

    #[inline]
    pub fn array(&mut self, len: usize) {
        self.header(b'*', len as i64);
    }

    /// A push of `len` elements (`>` in RESP3; an array in RESP2): Pub/Sub messages and
    /// subscription confirmations.
    pub fn push(&mut self, len: usize) {
        self.header(if self.resp3 { b'>' } else { b'*' }, len as i64);
    }

    /// A map of `len` pairs (`%` in RESP3, a flat array of 2*len in RESP2).
    pub fn map(&mut self, len: usize) {
        if self.resp3 {
            self.header(b'%', len as i64);
        } else {
            self.header(b'*', 2 * len as i64);
        }
    }

    /// A set (`~` in RESP3, an array in RESP2).
    pub fn set(&mut self, len: usize) {
        if self.resp3 {
            self.header(b'~', len as i64);
        } else {
            self.header(b'*', len as i64);
        }
    }

    /// A double (`,` in RESP3; a bulk string formatted like Redis's `%.17g` in RESP2).
    pub fn double(&mut self, v: f64) {
        let text = crate::util::num::format_f64(v);
        if self.resp3 {
            self.buf.reserve(text.len() + 3);
            self.buf.put_u8(b',');
            self.buf.put_slice(text.as_bytes());
            self.buf.put_slice(b"\r\n");
        } else {
            self.bulk(text.as_bytes());
        }
    }

    /// A boolean (`#t`/`#f` in RESP3; `:1`/`:0` in RESP2).
    pub fn boolean(&mut self, v: bool) {
        if self.resp3 {
            self.buf.put_slice(if v { b"#t\r\n" } else { b"#f\r\n" });
        } else {
            self.int(v as i64);
        }
    }

    /// A verbatim text string (`=len\r\ntxt:...` in RESP3, a bulk string in RESP2), as Redis
    /// uses for INFO and CLIENT LIST.
    pub fn verbatim(&mut self, text: &[u8]) {
        if self.resp3 {
            self.header(b'=', text.len() as i64 + 4);
            self.buf.put_slice(b"txt:");
            self.buf.put_slice(text);
            self.buf.put_slice(b"\r\n");
        } else {
            self.bulk(text);
        }
    }

    /// A verbatim string with its 3-letter `format` (RESP3), a bulk string of `text` in RESP2.
    pub fn verbatim_with(&mut self, format: &[u8], text: &[u8]) {
        if self.resp3 {
            let mut fmt = [b' '; 3];
            for (d, s) in fmt.iter_mut().zip(format) {
                *d = *s;
            }
            self.header(b'=', text.len() as i64 + 4);
            self.buf.put_slice(&fmt);
            self.buf.put_u8(b':');
            self.buf.put_slice(text);
            self.buf.put_slice(b"\r\n");
        } else {
            self.bulk(text);
        }
    }

    /// A big number (`(` in RESP3, a bulk string in RESP2); `digits` has no CR or LF.
    pub fn big_number(&mut self, digits: &[u8]) {
        if self.resp3 {
            self.buf.reserve(digits.len() + 3);
            self.buf.put_u8(b'(');
            self.buf.put_slice(digits);
            self.buf.put_slice(b"\r\n");
        } else {
            self.bulk(digits);
        }
    }

    pub fn len(&self) -> usize {
        self.buf.len()
    }

    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn out(resp3: bool, f: impl FnOnce(&mut Reply)) -> Vec<u8> {
        let mut r = Reply::new(resp3);
        f(&mut r);
        r.buf.to_vec()
    }

    #[test]
    fn resp2_encodings() {
        assert_eq!(out(false, |r| r.ok()), b"+OK\r\n");
        assert_eq!(out(false, |r| r.int(-42)), b":-42\r\n");
        assert_eq!(out(false, |r| r.bulk(b"a\r\nb")), b"$4\r\na\r\nb\r\n");
        assert_eq!(out(false, |r| r.null()), b"$-1\r\n");
        assert_eq!(out(false, |r| r.null_array()), b"*-1\r\n");
        assert_eq!(out(false, |r| r.map(2)), b"*4\r\n");
        assert_eq!(out(false, |r| r.set(3)), b"*3\r\n");
        assert_eq!(out(false, |r| r.boolean(true)), b":1\r\n");
        assert_eq!(out(false, |r| r.verbatim(b"hi")), b"$2\r\nhi\r\n");
    }

    #[test]
    fn resp3_encodings() {
        assert_eq!(out(true, |r| r.null()), b"_\r\n");
        assert_eq!(out(true, |r| r.map(2)), b"%2\r\n");
        assert_eq!(out(true, |r| r.set(1)), b"~1\r\n");
        assert_eq!(out(true, |r| r.boolean(false)), b"#f\r\n");
        assert_eq!(out(true, |r| r.double(1.5)), b",1.5\r\n");
        assert_eq!(out(true, |r| r.verbatim(b"hi")), b"=6\r\ntxt:hi\r\n");
        assert_eq!(out(true, |r| r.push(3)), b">3\r\n");
        assert_eq!(out(false, |r| r.push(3)), b"*3\r\n");
    }

    #[test]
    fn errors_cannot_break_framing() {
        assert_eq!(
            out(false, |r| r.error("ERR bad\r\nthing")),
            b"-ERR bad  thing\r\n"
        );
        assert_eq!(out(false, |r| r.error("ERR tail\n\r\n")), b"-ERR tail\r\n");
    }
}
