//! Minibatch orders: a fresh seeded shuffle of the sample indices every epoch.

use std::slice::Chunks;

use stacknet_runtime::rng::{shuffle, SplitMix64};

/// The sample indices of a dataset, reshuffled each epoch and cut into minibatches.
///
/// ```
/// use stacknet::data::Minibatches;
///
/// let mut batches = Minibatches::new(10, 4, 42);
/// for batch in batches.epoch() {
///     assert!(batch.len() == 4 || batch.len() == 2); // 4 + 4 + 2
/// }
/// ```
#[derive(Clone, Debug)]
pub struct Minibatches {
    order: Vec<usize>,
    batch: usize,
    rng: SplitMix64,
}

impl Minibatches {
    /// Batches of `batch` indices (the last one shorter if `batch` does not divide
    /// `samples`), in an order drawn from `seed`.
    ///
    /// # Panics
    /// If `batch` is 0.
    pub fn new(samples: usize, batch: usize, seed: u64) -> Self {
        assert!(
            batch > 0,
            "minibatch size must be positive: expected at least 1, found 0"
        );
        Minibatches {
            order: (0..samples).collect(),
            batch,
            rng: SplitMix64::new(seed),
        }
    }

    /// Shuffles and returns the next epoch's minibatches.
    pub fn epoch(&mut self) -> Chunks<'_, usize> {
        shuffle(&mut self.rng, &mut self.order);
        self.order.chunks(self.batch)
    }

    /// Minibatches per epoch.
    pub fn len(&self) -> usize {
        self.order.len().div_ceil(self.batch)
    }

    /// Whether there are no samples, hence no minibatches.
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    /// Samples per epoch.
    pub fn samples(&self) -> usize {
        self.order.len()
    }

    /// Samples per minibatch; the last one of an epoch may be smaller.
    pub fn batch_size(&self) -> usize {
        self.batch
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn epoch(b: &mut Minibatches) -> Vec<Vec<usize>> {
        b.epoch().map(<[usize]>::to_vec).collect()
    }

    #[test]
    fn every_epoch_is_a_permutation_cut_into_batches() {
        let mut b = Minibatches::new(103, 10, 7);
        assert_eq!(b.len(), 11);
        for _ in 0..3 {
            let batches = epoch(&mut b);
            assert_eq!(batches.len(), 11);
            assert!(batches[..10].iter().all(|x| x.len() == 10));
            assert_eq!(batches[10].len(), 3);
            let mut all: Vec<usize> = batches.concat();
            all.sort_unstable();
            assert_eq!(all, (0..103).collect::<Vec<_>>());
        }
    }

    #[test]
    fn seeded_and_reshuffled() {
        let (mut a, mut b, mut c) = (
            Minibatches::new(50, 8, 1),
            Minibatches::new(50, 8, 1),
            Minibatches::new(50, 8, 2),
        );
        let (a1, b1, c1) = (epoch(&mut a), epoch(&mut b), epoch(&mut c));
        assert_eq!(a1, b1, "same seed, same order");
        assert_ne!(a1, c1, "another seed, another order");
        assert_ne!(epoch(&mut a), a1, "a new order every epoch");
        assert_ne!(a1.concat(), (0..50).collect::<Vec<_>>(), "shuffled at all");
    }

    #[test]
    fn empty_dataset_has_no_batches() {
        let mut b = Minibatches::new(0, 4, 0);
        assert!(b.is_empty());
        assert_eq!(b.len(), 0);
        assert_eq!(b.epoch().count(), 0);
    }
}
