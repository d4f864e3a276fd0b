//! The digits as the MNIST examples feed them to a network: inputs and labels side by side,
//! as the library's `Fit` and `evaluate` take them.

use stacknet::data::MnistSplit;
use stacknet::nalgebra::SVector;

/// The digits as network inputs (pixels / 255) and class labels.
pub struct Samples {
    pub inputs: Vec<SVector<f32, 784>>,
    pub labels: Vec<usize>,
}

impl Samples {
    pub fn of(split: &MnistSplit) -> Self {
        Samples {
            inputs: split.inputs(),
            labels: split.targets(),
        }
    }

    /// Keeps the first `n` samples (the examples' `--limit`).
    #[allow(dead_code)]
    pub fn truncate(&mut self, n: usize) {
        self.inputs.truncate(n);
        self.labels.truncate(n);
    }

    #[allow(dead_code)]
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    #[allow(dead_code)]
    pub fn pairs(&self) -> impl Iterator<Item = (&SVector<f32, 784>, usize)> {
        self.inputs.iter().zip(self.labels.iter().copied())
    }
}
