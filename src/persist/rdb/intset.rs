//! The intset: a sorted array of integers, Redis's encoding for small all-integer sets.
//!
//! ```text
//! encoding (u32 LE: 2, 4 or 8 bytes per value) | length (u32 LE) | values (LE, ascending)
//! ```
//! [`decode`] requires a known encoding, the exact size and strictly ascending values.

/// Builds an intset from integers in any order (sorted, deduplicated, smallest width).
pub fn encode(values: &[i64]) -> Vec<u8> {
    let mut v = values.to_vec();
    v.sort_unstable();
    v.dedup();
    let width: usize = if v.iter().all(|x| i16::try_from(*x).is_ok()) {
        2
    } else if v.iter().all(|x| i32::try_from(*x).is_ok()) {
        4
    } else {
        8
    };
    let mut out = Vec::with_capacity(8 + width * v.len());
    out.extend_from_slice(&(width as u32).to_le_bytes());
    out.extend_from_slice(&(v.len() as u32).to_le_bytes());
    for x in v {
        out.extend_from_slice(&x.to_le_bytes()[..width]);
    }
    out
}

/// Decodes and validates an intset.
pub fn decode(blob: &[u8]) -> Result<Vec<i64>, &'static str> {
    if blob.len() < 8 {
        return Err("intset shorter than its header");
    }
    let width = u32::from_le_bytes([blob[0], blob[1], blob[2], blob[3]]) as usize;
    if ![2, 4, 8].contains(&width) {
        return Err("intset has an unknown encoding");
    }
    let len = u32::from_le_bytes([blob[4], blob[5], blob[6], blob[7]]) as usize;
    if len.checked_mul(width).and_then(|n| n.checked_add(8)) != Some(blob.len()) {
        return Err("intset length does not match its size");
    }
    let mut out: Vec<i64> = Vec::with_capacity(len);
    for chunk in blob[8..].chunks_exact(width) {
        let v = match width {
            2 => i64::from(i16::from_le_bytes([chunk[0], chunk[1]])),
            4 => i64::from(i32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]])),
            _ => {
                let mut a = [0u8; 8];
                a.copy_from_slice(chunk);
                i64::from_le_bytes(a)
            }
        };
        if out.last().is_some_and(|&p| p >= v) {
            return Err("intset values are not strictly ascending");
        }
        out.push(v);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths_follow_the_values() {
        let s = encode(&[3, 1, 2, 3]);
        assert_eq!(s, [2, 0, 0, 0, 3, 0, 0, 0, 1, 0, 2, 0, 3, 0]);
        assert_eq!(decode(&s).unwrap(), vec![1, 2, 3]);
        let s = encode(&[70_000, -1]);
        assert_eq!(&s[..4], &[4, 0, 0, 0]);
        assert_eq!(decode(&s).unwrap(), vec![-1, 70_000]);
        let s = encode(&[i64::MIN, i64::MAX, 0]);
        assert_eq!(&s[..4], &[8, 0, 0, 0]);
        assert_eq!(decode(&s).unwrap(), vec![i64::MIN, 0, i64::MAX]);
        assert_eq!(decode(&encode(&[])).unwrap(), vec![]);
    }

    #[test]
    fn corruption_is_detected() {
        let s = encode(&[1, 5, 9]);
        for cut in 0..s.len() {
            assert!(decode(&s[..cut]).is_err());
        }
        let mut unsorted = s.clone();
        unsorted[8] = 20;
        assert!(decode(&unsorted).is_err());
        let mut bad_width = s.clone();
        bad_width[0] = 3;
        assert!(decode(&bad_width).is_err());
        let mut huge = s;
        huge[7] = 0xff;
        assert!(decode(&huge).is_err());
    }
}
