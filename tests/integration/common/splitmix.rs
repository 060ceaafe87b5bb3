//! SplitMix64, shared by the randomized tests and the benchmarks (which include this file by
//! path).

/// SplitMix64: a tiny pseudo-random sequence, the same on every platform and crate version, so
/// randomized tests and benchmarks are reproducible from their seed.
#[derive(Clone, Copy)]
pub struct SplitMix64(pub u64);

impl SplitMix64 {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}
