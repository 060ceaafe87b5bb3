//! LZF, the compression Redis applies to RDB strings (`rdbcompression yes`), compatible with
//! liblzf 3.6 (any valid stream decodes as liblzf decodes it; our streams decode with liblzf).
//!
//! A stream is a sequence of chunks, each starting with a control byte `c`:
//! - `c < 32`: a literal run of `c + 1` bytes follows;
//! - otherwise a back-reference: `len = c >> 5` (7 means "add the next byte"), offset
//!   `((c & 31) << 8) + next byte + 1` back into the output; `len + 2` bytes are copied
//!   (overlapping copies repeat bytes, as in liblzf).
//!
//! The compressor keeps a hash table of recent positions between calls; a candidate match is
//! always verified by comparing bytes and bounded by the 8 KiB window, so stale entries from an
//! earlier input can never produce a wrong stream, and the table need not be cleared.

const HASH_LOG: u32 = 14;
const MAX_OFF: usize = 1 << 13;
const MAX_REF: usize = (1 << 8) + (1 << 3);
const MAX_LIT: usize = 1 << 5;

/// Reusable compressor state.
pub struct Compressor {
    table: Vec<u32>,
}

impl Default for Compressor {
    fn default() -> Self {
        Self::new()
    }
}

#[inline]
fn hash(a: u8, b: u8, c: u8) -> usize {
    let v = (u32::from(a) << 16) | (u32::from(b) << 8) | u32::from(c);
    (v.wrapping_mul(2_654_435_761) >> (32 - HASH_LOG)) as usize
}

impl Compressor {
    pub fn new() -> Self {
        Compressor {
            table: vec![0; 1 << HASH_LOG],
        }
    }

    /// Compresses `input` into `out` (cleared first). Returns false when the result would be
    /// longer than `max_len` bytes (the caller then stores the input uncompressed).
    pub fn compress(&mut self, input: &[u8], max_len: usize, out: &mut Vec<u8>) -> bool {
        out.clear();
        let n = input.len();
        if n == 0 {
            return false;
        }
        // Position of the current literal run's control byte, and its length.
        let mut lit_at = out.len();
        out.push(0);
        let mut lit = 0usize;
        let mut ip = 0usize;
        while ip + 2 < n {
            let h = hash(input[ip], input[ip + 1], input[ip + 2]);
            let cand = self.table[h] as usize;
            self.table[h] = ip as u32;
            let off = ip.wrapping_sub(cand).wrapping_sub(1);
            if cand < ip && off < MAX_OFF && input[cand..cand + 3] == input[ip..ip + 3] {
                let max = (n - ip).min(MAX_REF);
                let mut len = 3;
                while len < max && input[cand + len] == input[ip + len] {
                    len += 1;
                }
                // Close the literal run (or drop its unused control byte).
                if lit > 0 {
                    out[lit_at] = (lit - 1) as u8;
                } else {
                    out.pop();
                }
                let l = len - 2;
                if l < 7 {
                    out.push(((off >> 8) as u8) | ((l as u8) << 5));
                } else {
                    out.push(((off >> 8) as u8) | (7 << 5));
                    out.push((l - 7) as u8);
                }
                out.push(off as u8);
                // Remember a couple of positions inside the match for later matches.
                let end = ip + len;
                let mut p = ip + 1;
                while p < end && p + 2 < n && p <= ip + 2 {
                    self.table[hash(input[p], input[p + 1], input[p + 2])] = p as u32;
                    p += 1;
                }
                ip = end;
                lit_at = out.len();
                out.push(0);
                lit = 0;
            } else {
                out.push(input[ip]);
                lit += 1;
                ip += 1;
                if lit == MAX_LIT {
                    out[lit_at] = (MAX_LIT - 1) as u8;
                    lit_at = out.len();
                    out.push(0);
                    lit = 0;
                }
            }
            if out.len() > max_len + 1 {
                return false;
            }
        }
        while ip < n {
            out.push(input[ip]);
            lit += 1;
            ip += 1;
            if lit == MAX_LIT {
                out[lit_at] = (MAX_LIT - 1) as u8;
                lit_at = out.len();
                out.push(0);
                lit = 0;
            }
        }
        if lit > 0 {
            out[lit_at] = (lit - 1) as u8;
        } else {
            out.pop();
        }
        out.len() <= max_len
    }
}

/// Decompresses `input`, which must expand to exactly `expected_len` bytes.
pub fn decompress(input: &[u8], expected_len: usize) -> Result<Vec<u8>, &'static str> {
    let mut out: Vec<u8> = Vec::with_capacity(expected_len);
    let mut ip = 0usize;
    while ip < input.len() {
        let c = usize::from(input[ip]);
        ip += 1;
        if c < 32 {
            let run = c + 1;
            let lits = input
                .get(ip..ip + run)
                .ok_or("literal run past the input")?;
            if out.len() + run > expected_len {
                return Err("output longer than expected");
            }
            out.extend_from_slice(lits);
            ip += run;
        } else {
            let mut len = c >> 5;
            if len == 7 {
                len += usize::from(*input.get(ip).ok_or("truncated back-reference")?);
                ip += 1;
            }
            let low = usize::from(*input.get(ip).ok_or("truncated back-reference")?);
            ip += 1;
            let off = ((c & 0x1f) << 8) + low + 1;
            let len = len + 2;
            if off > out.len() {
                return Err("back-reference before the start");
            }
            if out.len() + len > expected_len {
                return Err("output longer than expected");
            }
            let from = out.len() - off;
            for i in 0..len {
                let b = out[from + i];
                out.push(b);
            }
        }
    }
    if out.len() != expected_len {
        return Err("output shorter than expected");
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(data: &[u8]) -> Option<usize> {
        let mut c = Compressor::new();
        let mut out = Vec::new();
        if !c.compress(data, data.len() + 64, &mut out) {
            return None;
        }
        assert_eq!(decompress(&out, data.len()).unwrap(), data);
        Some(out.len())
    }

    #[test]
    fn round_trips_many_shapes() {
        let mut rng = 42u64;
        let mut random = Vec::new();
        for _ in 0..100_000 {
            rng = rng
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            random.push((rng >> 56) as u8);
        }
        let text: Vec<u8> = "the quick brown fox jumps over the lazy dog. "
            .repeat(2000)
            .into_bytes();
        for data in [
            &b"a"[..],
            b"ab",
            b"abc",
            b"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            &vec![7u8; 1 << 20][..],
            &random[..],
            &text[..],
            &random[..31],
            &random[..32],
            &random[..33],
            &vec![b'z'; 264],
            &vec![b'z'; 265],
            &vec![b'z'; 266],
        ] {
            roundtrip(data);
        }
        assert!(roundtrip(&text).unwrap() < text.len() / 10);
        assert!(roundtrip(&vec![0u8; 10_000]).unwrap() < 200);
    }

    #[test]
    fn limits_are_honoured() {
        let mut c = Compressor::new();
        let mut out = Vec::new();
        let data = vec![b'x'; 1000];
        assert!(c.compress(&data, 996, &mut out));
        assert!(!c.compress(&data, 5, &mut out));
        let mut rng = 5u64;
        let random: Vec<u8> = (0..500)
            .map(|_| {
                rng = rng.wrapping_mul(6364136223846793005).wrapping_add(1);
                (rng >> 56) as u8
            })
            .collect();
        assert!(
            !c.compress(&random, random.len() - 4, &mut out),
            "incompressible"
        );
    }

    #[test]
    fn hand_made_streams_decode_as_liblzf() {
        // Literal "ab", then a back-reference of length 4 at offset 2: "ababab".
        assert_eq!(decompress(&[1, b'a', b'b', 0x40, 1], 6).unwrap(), b"ababab");
        // A long reference (len 7 + 3 extra) at offset 1 after "x": 1 + 12 bytes of 'x'.
        assert_eq!(
            decompress(&[0, b'x', 0xE0, 3, 0], 13).unwrap(),
            vec![b'x'; 13]
        );
        assert!(
            decompress(&[0x20, 5], 10).is_err(),
            "reference before the start"
        );
        assert!(decompress(&[3, b'a'], 4).is_err(), "literal past the input");
        assert!(decompress(&[0, b'a'], 2).is_err(), "too short");
        assert!(decompress(&[1, b'a', b'b'], 1).is_err(), "too long");
    }

    #[test]
    fn corrupt_streams_never_panic() {
        let data = b"hello hello hello hello world world world".repeat(20);
        let mut c = Compressor::new();
        let mut z = Vec::new();
        assert!(c.compress(&data, data.len(), &mut z));
        for cut in 0..z.len() {
            assert!(decompress(&z[..cut], data.len()).is_err());
        }
        let mut rng = 1u64;
        for _ in 0..20_000 {
            rng = rng.wrapping_mul(6364136223846793005).wrapping_add(1);
            let mut bad = z.clone();
            let at = (rng >> 33) as usize % bad.len();
            bad[at] ^= 1 << ((rng >> 20) % 8);
            let _ = decompress(&bad, data.len());
        }
    }
}
