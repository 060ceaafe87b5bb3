//! MEMORY USAGE's estimate of one key's bytes: its table slot, its node (key and entry), the
//! key's and value's heap parts, and for collections the elements — all of them up to
//! `samples` (0: all), then the average of the sampled ones times the element count, as
//! Redis's `objectComputeSize` does. Per-element overheads are those of our encodings (a
//! packed element's length header, a table pair's allocation and slot) rounded to what
//! jemalloc's size classes make of them; the figure is an estimate, not an allocator walk.

use super::node::Node;
use super::{Entry, Value};

/// Rounds `n` up to a jemalloc small size class (16-byte steps up to 128, then four classes
/// per doubling), which is what a heap block of `n` bytes really takes.
pub fn alloc_size(n: usize) -> usize {
    if n == 0 {
        return 0;
    }
    if n <= 128 {
        return n.div_ceil(16) * 16;
    }
    let group = usize::BITS - (n - 1).leading_zeros() - 1; // 2^group < n <= 2^(group+1)
    let step = 1usize << (group - 2);
    n.div_ceil(step) * step
}

/// Bytes of a heap-spilled small vector with inline capacity 16.
fn spilled(len: usize, capacity: usize) -> usize {
    if len > 16 {
        alloc_size(capacity)
    } else {
        0
    }
}

/// The estimate for `key` holding `entry` (`samples` 0 = every element).
pub fn key_usage(key: &[u8], entry: &Entry, samples: usize) -> usize {
    // The table's slot (a pointer plus a control byte) and the node it points to.
    let fixed = 9 + alloc_size(std::mem::size_of::<Node>());
    let key_heap = if key.len() > 16 {
        alloc_size(key.len())
    } else {
        0
    };
    fixed + key_heap + value_usage(&entry.value, samples)
}

/// The heap bytes of a value beyond the entry itself.
pub fn value_usage(value: &Value, samples: usize) -> usize {
    match value {
        Value::Str(s) => spilled(s.len(), s.capacity()),
        Value::List(l) => {
            // Packed chunks: a length header per element; chunk headers amortised.
            let box_size = alloc_size(std::mem::size_of_val(&**l));
            box_size + sampled(l.len(), samples, l.iter().map(|e| e.len() + 2)) + l.len() / 8
        }
        Value::Hash(h) => {
            let per = if h.encoding() == "listpack" { 4 } else { 48 };
            alloc_size(std::mem::size_of_val(&**h))
                + sampled(
                    h.len(),
                    samples,
                    h.iter().map(|(f, v)| f.len() + v.len() + per),
                )
        }
        Value::Set(s) => {
            let per = match s.encoding() {
                "intset" => 0,
                "listpack" => 2,
                _ => 32,
            };
            alloc_size(std::mem::size_of_val(&**s))
                + sampled(
                    s.len(),
                    samples,
                    s.iter().map(|m| match m {
                        super::types::set::Member::Int(_) if per == 0 => 8,
                        m => m.with_bytes(|b| b.len()) + per,
                    }),
                )
        }
        Value::ZSet(z) => {
            let per = if z.encoding() == "listpack" { 11 } else { 64 };
            alloc_size(std::mem::size_of_val(&**z))
                + sampled(z.len(), samples, z.iter().map(|(m, _)| m.len() + per))
        }
    }
}

/// The sum of `sizes` over all `len` elements, or the average over the first `samples` times
/// `len`.
fn sampled(len: usize, samples: usize, sizes: impl Iterator<Item = usize>) -> usize {
    if len == 0 {
        return 0;
    }
    let take = if samples == 0 { len } else { samples.min(len) };
    let (n, sum) = sizes
        .take(take)
        .fold((0usize, 0usize), |(n, s), b| (n + 1, s + b));
    if n == 0 {
        0
    } else if n == len {
        sum
    } else {
        (sum as f64 / n as f64 * len as f64) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::StrBuf;

    #[test]
    fn size_classes() {
        assert_eq!(alloc_size(1), 16);
        assert_eq!(alloc_size(72), 80);
        assert_eq!(alloc_size(129), 160);
        assert_eq!(alloc_size(1000), 1024);
        assert_eq!(alloc_size(1025), 1280);
    }

    #[test]
    fn grows_with_the_value() {
        let small = Entry::new(Value::Str(StrBuf::from_slice(b"v")), 0);
        let big = Entry::new(Value::Str(StrBuf::from_slice(&[b'x'; 1000])), 0);
        let a = key_usage(b"k", &small, 5);
        let b = key_usage(b"k", &big, 5);
        assert!((64..200).contains(&a), "{a}");
        assert!(b >= a + 1000, "{a} {b}");
        assert!(key_usage(&[b'k'; 100], &small, 5) > a + 100);
    }
}
