//! The zipmap (read-only): the hash encoding of Redis before 2.6, still loadable from old
//! files.
//!
//! ```text
//! zmlen (1 byte, 254 = "count them") | (len key len free value free-bytes)* | 0xFF
//! len = 1 byte < 254, or 254 + u32 LE
//! ```
//! [`decode`] checks every length against the blob and the end byte.

/// A field and its value.
pub type Pair<'a> = (&'a [u8], &'a [u8]);

/// Decodes a zipmap into (field, value) pairs.
pub fn decode(blob: &[u8]) -> Result<Vec<Pair<'_>>, &'static str> {
    const SHORT: &str = "zipmap entry runs past the end";
    let mut p = 1usize;
    if blob.is_empty() {
        return Err("empty zipmap");
    }
    let len = |p: &mut usize| -> Result<Option<usize>, &'static str> {
        match *blob.get(*p).ok_or(SHORT)? {
            255 => Ok(None),
            254 => {
                let b = blob.get(*p + 1..*p + 5).ok_or(SHORT)?;
                *p += 5;
                Ok(Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize))
            }
            n => {
                *p += 1;
                Ok(Some(usize::from(n)))
            }
        }
    };
    let take = |p: &mut usize, n: usize| -> Result<&[u8], &'static str> {
        let end = p.checked_add(n).ok_or(SHORT)?;
        let s = blob.get(*p..end).ok_or(SHORT)?;
        *p = end;
        Ok(s)
    };
    let mut out = Vec::new();
    while let Some(klen) = len(&mut p)? {
        let key = take(&mut p, klen)?;
        let vlen = len(&mut p)?.ok_or("zipmap key without a value")?;
        let free = usize::from(*blob.get(p).ok_or(SHORT)?);
        p += 1;
        let value = take(&mut p, vlen)?;
        take(&mut p, free)?;
        out.push((key, value));
    }
    if p + 1 != blob.len() {
        return Err("zipmap has bytes after its end");
    }
    if blob[0] < 254 && usize::from(blob[0]) != out.len() {
        return Err("zipmap count does not match its entries");
    }
    Ok(out)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn encode(pairs: &[(&[u8], &[u8])], free: u8) -> Vec<u8> {
        let mut out = vec![pairs.len().min(254) as u8];
        let len = |out: &mut Vec<u8>, n: usize| {
            if n < 254 {
                out.push(n as u8);
            } else {
                out.push(254);
                out.extend_from_slice(&(n as u32).to_le_bytes());
            }
        };
        for (k, v) in pairs {
            len(&mut out, k.len());
            out.extend_from_slice(k);
            len(&mut out, v.len());
            out.push(free);
            out.extend_from_slice(v);
            out.extend(std::iter::repeat_n(0, usize::from(free)));
        }
        out.push(255);
        out
    }

    #[test]
    fn decodes_short_and_long_lengths_and_free_bytes() {
        let long = vec![b'v'; 300];
        let pairs: Vec<(&[u8], &[u8])> = vec![(b"a", b"1"), (b"key", &long), (b"", b"")];
        assert_eq!(decode(&encode(&pairs, 0)).unwrap(), pairs);
        assert_eq!(decode(&encode(&pairs, 3)).unwrap(), pairs);
        let z = encode(&pairs, 2);
        for cut in 0..z.len() {
            assert!(decode(&z[..cut]).is_err(), "cut {cut}");
        }
    }
}
