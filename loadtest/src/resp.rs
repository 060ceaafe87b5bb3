//! A minimal RESP2/RESP3 reply reader: finds where one reply ends and classifies it, so the
//! load generator can check replies without building values.

/// What one reply was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// `+...` (also RESP3 `#`, `,`, `(`)
    Simple(Vec<u8>),
    /// `-...` / `!...`
    Error(Vec<u8>),
    Int(i64),
    /// Bulk or verbatim string (payload).
    Bulk(Vec<u8>),
    /// `$-1`, `*-1`, `_`
    Nil,
    /// Any aggregate, with its element count.
    Aggregate(usize),
}

/// Tries to read one reply from the front of `buf`. `Ok(None)` = incomplete.
pub fn read(buf: &[u8]) -> Result<Option<(Reply, usize)>, String> {
    let Some(line_end) = find_crlf(buf) else {
        return Ok(None);
    };
    let Some(&kind) = buf.first() else {
        return Ok(None);
    };
    let line = &buf[1..line_end];
    let after = line_end + 2;
    let num = || -> Result<i64, String> {
        std::str::from_utf8(line)
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| format!("bad number {:?}", String::from_utf8_lossy(line)))
    };
    match kind {
        b'+' | b'#' | b',' | b'(' => Ok(Some((Reply::Simple(line.to_vec()), after))),
        b'-' => Ok(Some((Reply::Error(line.to_vec()), after))),
        b':' => Ok(Some((Reply::Int(num()?), after))),
        b'_' => Ok(Some((Reply::Nil, after))),
        b'$' | b'=' | b'!' => {
            let n = num()?;
            if n < 0 {
                return Ok(Some((Reply::Nil, after)));
            }
            let end = after + n as usize;
            if buf.len() < end + 2 {
                return Ok(None);
            }
            let payload = buf[after..end].to_vec();
            let reply = if kind == b'!' {
                Reply::Error(payload)
            } else {
                Reply::Bulk(payload)
            };
            Ok(Some((reply, end + 2)))
        }
        b'*' | b'~' | b'>' | b'%' | b'|' => {
            let n = num()?;
            if n < 0 {
                return Ok(Some((Reply::Nil, after)));
            }
            let elements = if kind == b'%' || kind == b'|' {
                2 * n
            } else {
                n
            } as usize;
            let mut pos = after;
            for _ in 0..elements {
                match read(&buf[pos..])? {
                    Some((_, used)) => pos += used,
                    None => return Ok(None),
                }
            }
            Ok(Some((Reply::Aggregate(n as usize), pos)))
        }
        other => Err(format!("unexpected reply type byte {:?}", other as char)),
    }
}

fn find_crlf(buf: &[u8]) -> Option<usize> {
    buf.windows(2).position(|w| w == b"\r\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_each_type_and_waits_for_more() {
        assert_eq!(
            read(b"+OK\r\n").unwrap(),
            Some((Reply::Simple(b"OK".to_vec()), 5))
        );
        assert_eq!(
            read(b"$3\r\nabc\r\n").unwrap(),
            Some((Reply::Bulk(b"abc".to_vec()), 9))
        );
        assert_eq!(read(b"$3\r\nab").unwrap(), None);
        assert_eq!(read(b"$-1\r\n").unwrap(), Some((Reply::Nil, 5)));
        assert_eq!(read(b"_\r\n").unwrap(), Some((Reply::Nil, 3)));
        assert_eq!(read(b":7\r\n").unwrap(), Some((Reply::Int(7), 4)));
        assert_eq!(
            read(b"%1\r\n+a\r\n:1\r\nrest").unwrap(),
            Some((Reply::Aggregate(1), 12))
        );
        assert!(read(b"?x\r\n").is_err());
    }
}
