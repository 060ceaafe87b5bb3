//! The shape of a hash table as Redis's `dictGetStats` describes one (DEBUG HTSTATS,
//! DEBUG HTSTATS-KEY): buckets, elements, occupied buckets and the chain length of each.
//!
//! ferrokv's tables are of two kinds, and each reports what it really is:
//! - chained tables (a set's "hashtable" encoding): exactly Redis's figures — each bucket's
//!   chain walked;
//! - open-addressing tables (the keyspace's shards, a hash's segments, a sorted set's member
//!   index; hashbrown): every element has a bucket of its own, so each occupied bucket is a
//!   chain of length 1 and the figures are the bucket count and the elements.
//!
//! Tables are never rehashed incrementally here (hashbrown grows in one step), so there is
//! never a "rehashing target". Plain data; no locking (the caller holds what it walks).

/// Chain lengths counted one by one; longer chains count in the last cell (Redis's
/// `DICT_STATS_VECTLEN`).
pub const CHAIN_CELLS: usize = 50;

/// One table's figures (Redis's `_dictGetStatsHt` inputs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableStats {
    /// Buckets ("table size").
    pub size: u64,
    /// Elements ("number of elements").
    pub elements: u64,
    /// Occupied buckets ("different slots").
    pub slots: u64,
    pub max_chain: u64,
    /// Sum of the chain lengths of the occupied buckets.
    pub total_chain: u64,
    /// Buckets per chain length (`[0]`: empty buckets).
    pub chains: [u64; CHAIN_CELLS],
}

impl Default for TableStats {
    fn default() -> Self {
        TableStats {
            size: 0,
            elements: 0,
            slots: 0,
            max_chain: 0,
            total_chain: 0,
            chains: [0; CHAIN_CELLS],
        }
    }
}

impl TableStats {
    /// Counts one bucket holding a chain of `len` elements (0: empty).
    pub fn add_bucket(&mut self, len: u64) {
        self.size += 1;
        self.chains[(len as usize).min(CHAIN_CELLS - 1)] += 1;
        if len > 0 {
            self.slots += 1;
            self.elements += len;
            self.total_chain += len;
            self.max_chain = self.max_chain.max(len);
        }
    }

    /// Adds an open-addressing table of `buckets` buckets holding `elements` elements.
    pub fn add_open(&mut self, buckets: u64, elements: u64) {
        let elements = elements.min(buckets);
        self.size += buckets;
        self.elements += elements;
        self.slots += elements;
        self.total_chain += elements;
        self.chains[0] += buckets - elements;
        self.chains[1] += elements;
        if elements > 0 {
            self.max_chain = self.max_chain.max(1);
        }
    }
}

/// The bucket count of a hashbrown table from its capacity (hashbrown keeps at most 7/8 of
/// its buckets full, all but one below 8 buckets). Tombstones lower the capacity a little;
/// rounding up to the power of two gives the buckets back while fewer than half are
/// tombstones.
pub fn buckets_of_capacity(capacity: usize) -> u64 {
    let b = match capacity {
        0 => 0,
        c if c < 8 => (c + 1).next_power_of_two(),
        c => (c * 8).div_ceil(7).next_power_of_two(),
    };
    b as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capacity_maps_back_to_buckets() {
        for buckets in [2usize, 4, 8, 16, 1024, 1 << 20] {
            let cap = if buckets < 8 {
                buckets - 1
            } else {
                buckets / 8 * 7
            };
            assert_eq!(buckets_of_capacity(cap), buckets as u64);
        }
        let t = hashbrown::HashTable::<u32>::with_capacity(100);
        assert_eq!(buckets_of_capacity(t.capacity()), 128);
    }

    #[test]
    fn chains_and_open_tables_add_up() {
        let mut s = TableStats::default();
        for len in [0, 1, 3, 0] {
            s.add_bucket(len);
        }
        assert_eq!((s.size, s.elements, s.slots, s.max_chain), (4, 4, 2, 3));
        assert_eq!(&s.chains[..4], &[2, 1, 0, 1]);
        let mut o = TableStats::default();
        o.add_open(8, 3);
        assert_eq!((o.size, o.elements, o.slots, o.max_chain), (8, 3, 3, 1));
        assert_eq!(&o.chains[..2], &[5, 3]);
    }
}
