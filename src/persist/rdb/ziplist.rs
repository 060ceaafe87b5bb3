//! The legacy ziplist (read-only): what Redis up to 6.2 wrote for small lists (inside
//! quicklist nodes), hashes and sorted sets.
//!
//! ```text
//! zlbytes (u32 LE) | zltail (u32 LE) | zllen (u16 LE, 65535 = "count them") | entry* | 0xFF
//! entry = prevlen (1 byte < 254, or 0xFE + u32 LE) | encoding | data
//! ```
//! Encodings: `00pppppp` string of up to 63 bytes; `01pppppp qqqqqqqq` 14-bit big-endian
//! length; `10000000` + u32 big-endian length; `0xC0` i16, `0xD0` i32, `0xE0` i64, `0xF0`
//! i24, `0xFE` i8 (little-endian); `0xF1`..`0xFD` the immediates 0..12.
//!
//! [`decode`] checks every offset, the byte count, the tail offset, the prevlen chain, the
//! end byte and (unless 65535) the entry count.

use super::listpack::Item;

const HEADER: usize = 10;

/// Decodes and validates a ziplist.
pub fn decode(blob: &[u8]) -> Result<Vec<Item<'_>>, &'static str> {
    const SHORT: &str = "ziplist entry runs past the end";
    if blob.len() < HEADER + 1 {
        return Err("ziplist shorter than its header");
    }
    let u32_at = |i: usize| u32::from_le_bytes([blob[i], blob[i + 1], blob[i + 2], blob[i + 3]]);
    if u32_at(0) as usize != blob.len() {
        return Err("ziplist byte count does not match its size");
    }
    let tail = u32_at(4) as usize;
    let count = u16::from_le_bytes([blob[8], blob[9]]);
    let end = blob.len() - 1;
    if blob[end] != 0xFF {
        return Err("ziplist does not end with its terminator");
    }
    let mut items = Vec::with_capacity(usize::from(count).min(blob.len() / 2));
    let mut p = HEADER;
    let mut prev_size = 0usize;
    let mut last_start = HEADER;
    while p < end {
        let start = p;
        let get = |i: usize| blob.get(i).copied().filter(|_| i < end).ok_or(SHORT);
        // prevlen
        let first = get(p)?;
        let prevlen = if first < 254 {
            p += 1;
            usize::from(first)
        } else if first == 254 {
            let b = blob.get(p + 1..p + 5).ok_or(SHORT)?;
            p += 5;
            u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize
        } else {
            return Err("ziplist entry has a bad prevlen");
        };
        if prevlen != prev_size {
            return Err("ziplist prevlen does not match the previous entry");
        }
        let enc = get(p)?;
        let take = |from: usize, n: usize| -> Result<&[u8], &'static str> {
            let e = from.checked_add(n).ok_or(SHORT)?;
            if e > end {
                return Err(SHORT);
            }
            Ok(&blob[from..e])
        };
        let (item, next) = match enc >> 6 {
            0 => {
                let n = usize::from(enc & 0x3F);
                (Item::Str(take(p + 1, n)?), p + 1 + n)
            }
            1 => {
                let n = (usize::from(enc & 0x3F) << 8) | usize::from(get(p + 1)?);
                (Item::Str(take(p + 2, n)?), p + 2 + n)
            }
            2 => {
                if enc != 0x80 {
                    return Err("ziplist entry has an unknown encoding");
                }
                let l = take(p + 1, 4)?;
                let n = u32::from_be_bytes([l[0], l[1], l[2], l[3]]) as usize;
                (Item::Str(take(p + 5, n)?), p + 5 + n)
            }
            _ => match enc {
                0xC0 => {
                    let d = take(p + 1, 2)?;
                    (
                        Item::Int(i64::from(i16::from_le_bytes([d[0], d[1]]))),
                        p + 3,
                    )
                }
                0xD0 => {
                    let d = take(p + 1, 4)?;
                    (
                        Item::Int(i64::from(i32::from_le_bytes([d[0], d[1], d[2], d[3]]))),
                        p + 5,
                    )
                }
                0xE0 => {
                    let d = take(p + 1, 8)?;
                    let mut a = [0u8; 8];
                    a.copy_from_slice(d);
                    (Item::Int(i64::from_le_bytes(a)), p + 9)
                }
                0xF0 => {
                    let d = take(p + 1, 3)?;
                    let v = i32::from_le_bytes([0, d[0], d[1], d[2]]) >> 8;
                    (Item::Int(i64::from(v)), p + 4)
                }
                0xFE => {
                    let d = take(p + 1, 1)?;
                    (Item::Int(i64::from(d[0] as i8)), p + 2)
                }
                0xF1..=0xFD => (Item::Int(i64::from(enc & 0x0F) - 1), p + 1),
                _ => return Err("ziplist entry has an unknown encoding"),
            },
        };
        items.push(item);
        prev_size = next - start;
        last_start = start;
        p = next;
    }
    if p != end {
        return Err(SHORT);
    }
    if tail != last_start {
        return Err("ziplist tail offset does not point at the last entry");
    }
    if count != 65535 && usize::from(count) != items.len() {
        return Err("ziplist count does not match its entries");
    }
    Ok(items)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A test-only ziplist encoder (strings and integers as Redis 6 chose them).
    pub fn encode(items: &[Item<'_>]) -> Vec<u8> {
        let mut body = Vec::new();
        let mut prev = 0usize;
        let mut tail = HEADER;
        for it in items {
            let start = body.len();
            tail = HEADER + start;
            if prev < 254 {
                body.push(prev as u8);
            } else {
                body.push(254);
                body.extend_from_slice(&(prev as u32).to_le_bytes());
            }
            match it {
                Item::Str(s) => {
                    let n = s.len();
                    if n < 64 {
                        body.push(n as u8);
                    } else if n < 16384 {
                        body.push(0x40 | (n >> 8) as u8);
                        body.push(n as u8);
                    } else {
                        body.push(0x80);
                        body.extend_from_slice(&(n as u32).to_be_bytes());
                    }
                    body.extend_from_slice(s);
                }
                Item::Int(v) => {
                    let v = *v;
                    if (0..=12).contains(&v) {
                        body.push(0xF1 + v as u8);
                    } else if let Ok(x) = i8::try_from(v) {
                        body.push(0xFE);
                        body.push(x as u8);
                    } else if let Ok(x) = i16::try_from(v) {
                        body.push(0xC0);
                        body.extend_from_slice(&x.to_le_bytes());
                    } else if (-(1 << 23)..(1 << 23)).contains(&v) {
                        body.push(0xF0);
                        body.extend_from_slice(&(v as i32).to_le_bytes()[..3]);
                    } else if let Ok(x) = i32::try_from(v) {
                        body.push(0xD0);
                        body.extend_from_slice(&x.to_le_bytes());
                    } else {
                        body.push(0xE0);
                        body.extend_from_slice(&v.to_le_bytes());
                    }
                }
            }
            prev = body.len() - start;
        }
        let mut out = Vec::with_capacity(HEADER + body.len() + 1);
        out.extend_from_slice(&((HEADER + body.len() + 1) as u32).to_le_bytes());
        out.extend_from_slice(&(tail as u32).to_le_bytes());
        out.extend_from_slice(&(items.len().min(65535) as u16).to_le_bytes());
        out.extend_from_slice(&body);
        out.push(0xFF);
        out
    }

    #[test]
    fn round_trips_every_encoding() {
        let long = vec![b'q'; 300];
        let huge = vec![b'h'; 20_000];
        let items = vec![
            Item::Str(b"a"),
            Item::Int(0),
            Item::Int(12),
            Item::Int(13),
            Item::Int(-100),
            Item::Int(1000),
            Item::Int(-(1 << 23)),
            Item::Int(1 << 30),
            Item::Int(i64::MIN),
            Item::Str(&long),
            Item::Str(&huge),
            Item::Str(b""),
        ];
        let zl = encode(&items);
        assert_eq!(decode(&zl).unwrap(), items);
        assert_eq!(decode(&encode(&[])).unwrap(), vec![]);
    }

    #[test]
    fn corruption_is_an_error_never_a_panic() {
        let long = vec![b'q'; 300];
        let zl = encode(&[
            Item::Str(b"abc"),
            Item::Int(7),
            Item::Str(&long),
            Item::Int(-5000),
        ]);
        for cut in 0..zl.len() {
            assert!(decode(&zl[..cut]).is_err());
        }
        let mut rng = 99u64;
        for _ in 0..20_000 {
            rng = rng.wrapping_mul(6364136223846793005).wrapping_add(1);
            let mut bad = zl.clone();
            let at = (rng >> 33) as usize % bad.len();
            bad[at] ^= 1 << ((rng >> 20) % 8);
            let _ = decode(&bad);
        }
    }
}
