//! Confusion matrices for classifiers: counts of (true class, predicted class) and a printout
//! with each class's recall.

use std::fmt;

use stacknet_runtime::train::predict;
use stacknet_runtime::{Network, Scalar};

/// `counts[true][predicted]` over `K` classes (10 by default, for digits).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfusionMatrix<const K: usize = 10> {
    counts: [[u64; K]; K],
}

impl<const K: usize> Default for ConfusionMatrix<K> {
    fn default() -> Self {
        Self::new()
    }
}

/// The 10-class matrix of `(true class, predicted class)` pairs.
///
/// # Panics
/// If a class is 10 or more.
pub fn confusion_matrix(pairs: impl IntoIterator<Item = (usize, usize)>) -> ConfusionMatrix<10> {
    ConfusionMatrix::from_pairs(pairs)
}

impl<const K: usize> ConfusionMatrix<K> {
    /// An empty matrix.
    pub fn new() -> Self {
        ConfusionMatrix {
            counts: [[0; K]; K],
        }
    }

    /// # Panics
    /// If a class is `K` or more.
    pub fn from_pairs(pairs: impl IntoIterator<Item = (usize, usize)>) -> Self {
        let mut m = Self::new();
        for (actual, predicted) in pairs {
            m.add(actual, predicted);
        }
        m
    }

    /// The matrix of `net`'s predictions (argmax of its output) on labelled samples.
    ///
    /// # Panics
    /// If a label or the network's output size exceeds `K` classes.
    pub fn of_network<'a, T, N>(
        net: &N,
        samples: impl IntoIterator<Item = (&'a N::Input, usize)>,
    ) -> Self
    where
        T: Scalar,
        N: Network<T>,
        N::Input: 'a,
    {
        Self::from_pairs(
            samples
                .into_iter()
                .map(|(x, label)| (label, predict(net, x))),
        )
    }

    /// Counts one sample.
    ///
    /// # Panics
    /// If a class is `K` or more.
    pub fn add(&mut self, actual: usize, predicted: usize) {
        assert!(
            actual < K && predicted < K,
            "class out of range: expected below {K}, found {actual} (true) and {predicted} (predicted)"
        );
        self.counts[actual][predicted] += 1;
    }

    /// Samples of class `actual` predicted as `predicted`.
    pub fn count(&self, actual: usize, predicted: usize) -> u64 {
        self.counts[actual][predicted]
    }

    /// Every count, `counts()[true][predicted]`.
    pub fn counts(&self) -> &[[u64; K]; K] {
        &self.counts
    }

    /// Samples counted.
    pub fn total(&self) -> u64 {
        self.counts.iter().flatten().sum()
    }

    /// Samples on the diagonal (predicted right).
    pub fn correct(&self) -> u64 {
        (0..K).map(|c| self.counts[c][c]).sum()
    }

    /// Fraction predicted right (0 for an empty matrix).
    pub fn accuracy(&self) -> f64 {
        ratio(self.correct(), self.total()).unwrap_or(0.0)
    }

    /// Of the samples of class `c`, the fraction predicted as `c`; `None` if there are none.
    pub fn recall(&self, c: usize) -> Option<f64> {
        ratio(self.counts[c][c], self.counts[c].iter().sum())
    }

    /// Of the samples predicted as `c`, the fraction that are `c`; `None` if there are none.
    pub fn precision(&self, c: usize) -> Option<f64> {
        ratio(self.counts[c][c], (0..K).map(|a| self.counts[a][c]).sum())
    }
}

fn ratio(num: u64, den: u64) -> Option<f64> {
    (den > 0).then(|| num as f64 / den as f64)
}

/// Rows are true classes, columns predictions, then each row's recall; the accuracy last.
impl<const K: usize> fmt::Display for ConfusionMatrix<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let largest = self.counts.iter().flatten().copied().max().unwrap_or(0);
        let w = (largest.max(1).ilog10() as usize + 1).max((K - 1).max(1).ilog10() as usize + 1);
        let label_w = "true".len().max(w);
        writeln!(f, "{:label_w$}  predicted →", "")?;
        write!(f, "{:>label_w$}", "true")?;
        for c in 0..K {
            write!(f, " {c:>w$}")?;
        }
        writeln!(f, "   recall")?;
        for (a, row) in self.counts.iter().enumerate() {
            write!(f, "{a:>label_w$}")?;
            for n in row {
                write!(f, " {n:>w$}")?;
            }
            match self.recall(a) {
                Some(r) => writeln!(f, "  {:>6.1}%", 100.0 * r)?,
                None => writeln!(f, "  {:>7}", "-")?,
            }
        }
        write!(
            f,
            "accuracy {:.2}% ({}/{})",
            100.0 * self.accuracy(),
            self.correct(),
            self.total()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_pairs_by_true_then_predicted() {
        let pairs = [
            (0, 0),
            (0, 0),
            (0, 3),
            (3, 3),
            (3, 0),
            (9, 9),
            (9, 9),
            (9, 9),
            (2, 5),
        ];
        let m = confusion_matrix(pairs);
        assert_eq!(m.count(0, 0), 2);
        assert_eq!(m.count(0, 3), 1);
        assert_eq!(m.count(3, 0), 1);
        assert_eq!(m.count(3, 3), 1);
        assert_eq!(m.count(9, 9), 3);
        assert_eq!(m.count(2, 5), 1);
        assert_eq!(m.count(5, 2), 0);
        assert_eq!(m.total(), 9);
        assert_eq!(m.correct(), 6);
        assert!((m.accuracy() - 6.0 / 9.0).abs() < 1e-12);
        // Class 0: 2 of its 3 samples right; predicted 0 for 3 samples, 2 of them 0.
        assert!((m.recall(0).unwrap() - 2.0 / 3.0).abs() < 1e-12);
        assert!((m.precision(0).unwrap() - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(m.recall(2), Some(0.0));
        assert_eq!(m.recall(4), None);
        assert_eq!(m.precision(5), Some(0.0));
        assert_eq!(m.precision(4), None);
    }

    #[test]
    fn prints_rows_with_recall() {
        let m = ConfusionMatrix::<3>::from_pairs([(0, 0), (0, 1), (1, 1), (1, 1), (1, 1)]);
        let text = m.to_string();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 6, "{text}");
        assert_eq!(lines[1], "true 0 1 2   recall");
        assert_eq!(lines[2], "   0 1 1 0    50.0%");
        assert_eq!(lines[3], "   1 0 3 0   100.0%");
        assert_eq!(lines[4], "   2 0 0 0        -");
        assert_eq!(lines[5], "accuracy 80.00% (4/5)");
    }

    #[test]
    #[should_panic(expected = "class out of range")]
    fn rejects_classes_beyond_k() {
        ConfusionMatrix::<10>::new().add(10, 0);
    }
}
