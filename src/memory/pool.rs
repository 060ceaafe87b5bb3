//! Redis's eviction pool: the best candidates seen by recent samples, kept between eviction
//! passes so each pass needs only a few new samples to find a good key.
//!
//! Holds at most [`POOL_SIZE`] `(rank, db, key)` in ascending rank; the last is the best
//! candidate (most idle, least frequent, nearest expiry). A sampled key ranks into the pool
//! when it beats the worst entry or there is room. Keys may have been deleted since they were
//! sampled (ghosts): the evictor skips those when it pops them.

use bytes::Bytes;

/// Redis's EVPOOL_SIZE.
pub const POOL_SIZE: usize = 16;

#[derive(Debug, Default)]
pub struct Pool {
    entries: Vec<(u64, usize, Bytes)>,
    /// Per database: until when (Unix ms) a walk found nothing to sample there.
    pub empty_until: Vec<u64>,
    /// The random policies' next database (Redis's `next_db`).
    pub next_db: usize,
}

impl Pool {
    pub fn new() -> Self {
        Pool {
            entries: Vec::with_capacity(POOL_SIZE + 1),
            empty_until: Vec::new(),
            next_db: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Offers a sampled key; copies it only when it ranks in.
    pub fn offer(&mut self, rank: u64, db: usize, key: &[u8]) {
        if self.entries.len() == POOL_SIZE && rank <= self.entries[0].0 {
            return;
        }
        if self
            .entries
            .iter()
            .any(|(_, d, k)| *d == db && k[..] == *key)
        {
            return;
        }
        let at = self.entries.partition_point(|(r, _, _)| *r < rank);
        self.entries
            .insert(at, (rank, db, Bytes::copy_from_slice(key)));
        if self.entries.len() > POOL_SIZE {
            self.entries.remove(0);
        }
    }

    /// The best candidate, removed from the pool.
    pub fn pop_best(&mut self) -> Option<(usize, Bytes)> {
        self.entries.pop().map(|(_, db, key)| (db, key))
    }

    pub fn clear(&mut self) {
        self.entries.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_best_sixteen_in_order() {
        let mut p = Pool::new();
        for i in 0..40u64 {
            // Ranks 0..40 in a scrambled order.
            let r = (i * 17) % 40;
            p.offer(r, 0, format!("k{r}").as_bytes());
        }
        assert_eq!(p.len(), POOL_SIZE);
        p.offer(39, 0, b"k39"); // already there: no duplicate
        assert_eq!(p.len(), POOL_SIZE);
        p.offer(1, 0, b"low"); // worse than every entry of a full pool
        let order: Vec<Bytes> = std::iter::from_fn(|| p.pop_best().map(|(_, k)| k)).collect();
        let want: Vec<Bytes> = (24..40u64)
            .rev()
            .map(|r| Bytes::from(format!("k{r}")))
            .collect();
        assert_eq!(order, want);
    }
}
