//! Redis 7.0's listpack: the compact sequence inside RDB hashes, sorted sets, quicklist nodes
//! and (7.2) sets.
//!
//! ```text
//! total-bytes (u32 LE) | count (u16 LE, 65535 = "count them") | entry* | 0xFF
//! entry = encoding+data | backlen (size of encoding+data, 1..5 bytes, read right to left)
//! ```
//! Encodings (first byte): `0xxxxxxx` 7-bit uint; `10xxxxxx` string of up to 63 bytes;
//! `110xxxxx` + 1 byte 13-bit signed int; `1110xxxx` + 1 byte string of up to 4095 bytes;
//! `0xF0` + u32 LE length string; `0xF1`/`0xF2`/`0xF3`/`0xF4` + 2/3/4/8-byte LE signed int.
//!
//! Invariants of [`decode`]: every offset is checked against the blob before it is read, the
//! header's byte count must equal the blob's length, every entry's backlen must match its
//! size, and the count header must match (unless 65535).

/// One decoded element.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Item<'a> {
    Int(i64),
    Str(&'a [u8]),
}

impl Item<'_> {
    /// The element as Redis returns it: integers as their decimal text.
    pub fn to_bytes(&self) -> Vec<u8> {
        match self {
            Item::Int(v) => itoa::Buffer::new().format(*v).as_bytes().to_vec(),
            Item::Str(s) => s.to_vec(),
        }
    }
}

/// The integer a string stands for when Redis's `string2ll` accepts it (canonical decimal,
/// at most 20 bytes): such strings are stored as integers.
pub fn canonical_int(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() > 20 {
        return None;
    }
    let v = crate::util::num::parse_i64(s)?;
    (itoa::Buffer::new().format(v).as_bytes() == s).then_some(v)
}

const HEADER: usize = 6;
const END: u8 = 0xFF;

/// Builds a listpack the way Redis 7.0 writes it.
pub struct Writer {
    buf: Vec<u8>,
    count: usize,
}

impl Default for Writer {
    fn default() -> Self {
        Self::new()
    }
}

impl Writer {
    pub fn new() -> Self {
        Writer {
            buf: vec![0; HEADER],
            count: 0,
        }
    }

    /// Appends an element: a canonical integer string is stored as an integer.
    pub fn push(&mut self, value: &[u8]) {
        if let Some(v) = canonical_int(value) {
            return self.push_int(v);
        }
        let start = self.buf.len();
        let len = value.len();
        if len < 64 {
            self.buf.push(0x80 | len as u8);
        } else if len < 4096 {
            self.buf.push(0xE0 | (len >> 8) as u8);
            self.buf.push(len as u8);
        } else {
            self.buf.push(0xF0);
            self.buf.extend_from_slice(&(len as u32).to_le_bytes());
        }
        self.buf.extend_from_slice(value);
        self.end_entry(start);
    }

    /// Appends an integer with the smallest encoding.
    pub fn push_int(&mut self, v: i64) {
        let start = self.buf.len();
        if (0..=127).contains(&v) {
            self.buf.push(v as u8);
        } else if (-4096..=4095).contains(&v) {
            let u = if v < 0 { (1 << 13) + v } else { v } as u16;
            self.buf.push(0xC0 | (u >> 8) as u8);
            self.buf.push(u as u8);
        } else if let Ok(x) = i16::try_from(v) {
            self.buf.push(0xF1);
            self.buf.extend_from_slice(&x.to_le_bytes());
        } else if (-(1 << 23)..(1 << 23)).contains(&v) {
            self.buf.push(0xF2);
            self.buf.extend_from_slice(&(v as i32).to_le_bytes()[..3]);
        } else if let Ok(x) = i32::try_from(v) {
            self.buf.push(0xF3);
            self.buf.extend_from_slice(&x.to_le_bytes());
        } else {
            self.buf.push(0xF4);
            self.buf.extend_from_slice(&v.to_le_bytes());
        }
        self.end_entry(start);
    }

    fn end_entry(&mut self, start: usize) {
        let size = (self.buf.len() - start) as u64;
        encode_backlen(&mut self.buf, size);
        self.count += 1;
    }

    /// Elements pushed so far.
    pub fn len(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The finished blob.
    pub fn finish(mut self) -> Vec<u8> {
        self.buf.push(END);
        let total = self.buf.len() as u32;
        self.buf[0..4].copy_from_slice(&total.to_le_bytes());
        let count = self.count.min(65535) as u16;
        self.buf[4..6].copy_from_slice(&count.to_le_bytes());
        self.buf
    }
}

/// Redis's `lpEncodeBacklen`: most significant 7-bit group first; every byte after the first
/// has its high bit set, so a reader going right to left knows when to stop.
fn encode_backlen(out: &mut Vec<u8>, l: u64) {
    let groups = match l {
        0..=127 => 1,
        128..=16382 => 2,
        16383..=2097150 => 3,
        2097151..=268435454 => 4,
        _ => 5,
    };
    for i in (0..groups).rev() {
        let b = ((l >> (7 * i)) & 127) as u8;
        out.push(if i == groups - 1 { b } else { b | 128 });
    }
}

/// Reads a backlen ending just before `end`; returns (value, bytes used).
fn decode_backlen(blob: &[u8], end: usize) -> Option<(u64, usize)> {
    let mut v = 0u64;
    let mut used = 0;
    loop {
        let b = *blob.get(end.checked_sub(used + 1)?)?;
        v |= u64::from(b & 127) << (7 * used);
        used += 1;
        if b & 128 == 0 {
            return Some((v, used));
        }
        if used == 5 {
            return None;
        }
    }
}

/// Decodes and fully validates a listpack blob.
pub fn decode(blob: &[u8]) -> Result<Vec<Item<'_>>, &'static str> {
    if blob.len() < HEADER + 1 {
        return Err("listpack shorter than its header");
    }
    let total = u32::from_le_bytes([blob[0], blob[1], blob[2], blob[3]]) as usize;
    if total != blob.len() {
        return Err("listpack total bytes do not match its size");
    }
    let count = u16::from_le_bytes([blob[4], blob[5]]);
    if blob[blob.len() - 1] != END {
        return Err("listpack does not end with its terminator");
    }
    let body_end = blob.len() - 1;
    let mut items = Vec::with_capacity(usize::from(count).min(blob.len() / 2));
    let mut p = HEADER;
    while p < body_end {
        let (item, size) = entry(&blob[..body_end], p)?;
        let (back, used) = decode_backlen(blob, p + size + backlen_size(size as u64))
            .ok_or("listpack entry has a bad backlen")?;
        if back != size as u64 || used != backlen_size(size as u64) {
            return Err("listpack entry backlen does not match its size");
        }
        p += size + used;
        if p > body_end {
            return Err("listpack entry runs past the end");
        }
        items.push(item);
    }
    if count != 65535 && usize::from(count) != items.len() {
        return Err("listpack count does not match its entries");
    }
    Ok(items)
}

fn backlen_size(l: u64) -> usize {
    match l {
        0..=127 => 1,
        128..=16382 => 2,
        16383..=2097150 => 3,
        2097151..=268435454 => 4,
        _ => 5,
    }
}

/// The entry at `p` (encoding + data, without backlen) and its size.
fn entry(blob: &[u8], p: usize) -> Result<(Item<'_>, usize), &'static str> {
    const SHORT: &str = "listpack entry runs past the end";
    let b = |i: usize| blob.get(p + i).copied().ok_or(SHORT);
    let bytes = |from: usize, n: usize| -> Result<&[u8], &'static str> {
        let start = p.checked_add(from).ok_or(SHORT)?;
        let end = start.checked_add(n).ok_or(SHORT)?;
        blob.get(start..end).ok_or(SHORT)
    };
    let first = b(0)?;
    Ok(match first {
        0x00..=0x7F => (Item::Int(i64::from(first)), 1),
        0x80..=0xBF => {
            let n = usize::from(first & 0x3F);
            (Item::Str(bytes(1, n)?), 1 + n)
        }
        0xC0..=0xDF => {
            let u = (u16::from(first & 0x1F) << 8) | u16::from(b(1)?);
            let v = if u >= 1 << 12 {
                i64::from(u) - (1 << 13)
            } else {
                i64::from(u)
            };
            (Item::Int(v), 2)
        }
        0xE0..=0xEF => {
            let n = (usize::from(first & 0x0F) << 8) | usize::from(b(1)?);
            (Item::Str(bytes(2, n)?), 2 + n)
        }
        0xF0 => {
            let l = bytes(1, 4)?;
            let n = u32::from_le_bytes([l[0], l[1], l[2], l[3]]) as usize;
            (Item::Str(bytes(5, n)?), 5 + n)
        }
        0xF1 => {
            let d = bytes(1, 2)?;
            (Item::Int(i64::from(i16::from_le_bytes([d[0], d[1]]))), 3)
        }
        0xF2 => {
            let d = bytes(1, 3)?;
            let v = i32::from_le_bytes([0, d[0], d[1], d[2]]) >> 8;
            (Item::Int(i64::from(v)), 4)
        }
        0xF3 => {
            let d = bytes(1, 4)?;
            (
                Item::Int(i64::from(i32::from_le_bytes([d[0], d[1], d[2], d[3]]))),
                5,
            )
        }
        0xF4 => {
            let d = bytes(1, 8)?;
            let mut a = [0u8; 8];
            a.copy_from_slice(d);
            (Item::Int(i64::from_le_bytes(a)), 9)
        }
        _ => return Err("listpack entry has an unknown encoding"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build(items: &[&[u8]]) -> Vec<u8> {
        let mut w = Writer::new();
        for i in items {
            w.push(i);
        }
        w.finish()
    }

    #[test]
    fn small_listpack_is_byte_exact() {
        // ["a", "1", "1000"]: string "a", 7-bit uint 1, 13-bit int 1000.
        let lp = build(&[b"a", b"1", b"1000"]);
        assert_eq!(
            lp,
            [15, 0, 0, 0, 3, 0, 0x81, b'a', 2, 1, 1, 0xC3, 0xE8, 2, 0xFF]
        );
    }

    #[test]
    fn integers_and_strings_round_trip_at_every_boundary() {
        let ints = [
            0i64,
            1,
            127,
            128,
            -1,
            -4096,
            4095,
            4096,
            -4097,
            i16::MAX as i64,
            i16::MIN as i64,
            32768,
            (1 << 23) - 1,
            -(1 << 23),
            1 << 23,
            i32::MAX as i64,
            i32::MIN as i64,
            i32::MAX as i64 + 1,
            i64::MAX,
            i64::MIN,
        ];
        let mut texts: Vec<Vec<u8>> = ints.iter().map(|v| v.to_string().into_bytes()).collect();
        for n in [0usize, 1, 63, 64, 4095, 4096, 70_000] {
            texts.push(vec![b's'; n]);
        }
        for s in ["007", "+1", "-0", " 1", "9223372036854775808", "1.5"] {
            texts.push(s.as_bytes().to_vec());
        }
        let refs: Vec<&[u8]> = texts.iter().map(|t| &t[..]).collect();
        let lp = build(&refs);
        let back: Vec<Vec<u8>> = decode(&lp).unwrap().iter().map(|i| i.to_bytes()).collect();
        assert_eq!(back, texts);
        let items = decode(&lp).unwrap();
        for (i, v) in ints.iter().enumerate() {
            assert_eq!(items[i], Item::Int(*v));
        }
        assert!(matches!(items[ints.len() + 7], Item::Str(b"007")));
    }

    #[test]
    fn many_entries_use_the_unknown_count() {
        let mut w = Writer::new();
        for i in 0..70_000 {
            w.push_int(i);
        }
        let lp = w.finish();
        assert_eq!(&lp[4..6], &[0xff, 0xff]);
        assert_eq!(decode(&lp).unwrap().len(), 70_000);
    }

    #[test]
    fn corruption_is_an_error_never_a_panic() {
        let lp = build(&[b"hello", b"12", &[b'x'; 300], b"-70000", b""]);
        for cut in 0..lp.len() {
            assert!(decode(&lp[..cut]).is_err(), "cut {cut}");
        }
        let mut rng = 0x1234_5678u64;
        for _ in 0..20_000 {
            rng = rng.wrapping_mul(6364136223846793005).wrapping_add(1);
            let mut bad = lp.clone();
            let at = (rng >> 33) as usize % bad.len();
            bad[at] ^= 1 << ((rng >> 20) % 8);
            let _ = decode(&bad);
        }
    }
}
