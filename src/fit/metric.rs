//! Metrics: numbers that summarise a model's outputs against their targets over a dataset,
//! accumulated one sample at a time (no buffers, so evaluating never allocates per sample).

use stacknet_runtime::nalgebra::SVector;
use stacknet_runtime::train::checked_argmax;
use stacknet_runtime::Scalar;

/// Whether a larger or a smaller value of a metric is better; early stopping follows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Smaller is better (losses, errors).
    Min,
    /// Larger is better (accuracy).
    Max,
}

/// A dataset-wide metric on outputs `Y` against targets `Tgt`, accumulated sample by sample:
/// [`reset`](Metric::reset), [`update`](Metric::update) for every sample, then
/// [`value`](Metric::value).
///
/// ```
/// use stacknet::fit::{Metric, Mode};
/// use stacknet::prelude::*;
///
/// /// The fraction of outputs whose first value is positive when the label is 1.
/// #[derive(Clone, Default)]
/// struct Positive { right: usize, total: usize }
///
/// impl Metric<SVector<f32, 1>, usize> for Positive {
///     fn name(&self) -> &'static str { "positive" }
///     fn reset(&mut self) { *self = Positive::default(); }
///     fn update(&mut self, y: &SVector<f32, 1>, label: &usize) {
///         self.right += ((y[0] > 0.0) == (*label == 1)) as usize;
///         self.total += 1;
///     }
///     fn value(&self) -> f64 { self.right as f64 / self.total.max(1) as f64 }
///     fn mode(&self) -> Mode { Mode::Max }
/// }
/// ```
pub trait Metric<Y, Tgt: ?Sized> {
    /// A short name, used in [`History`](super::History), in progress lines and to name the
    /// metric [`EarlyStopping`](super::EarlyStopping) watches.
    fn name(&self) -> &'static str;
    /// Forgets every sample seen so far.
    fn reset(&mut self);
    /// Adds one sample.
    fn update(&mut self, output: &Y, target: &Tgt);
    /// The metric over the samples since the last reset (0 for none).
    fn value(&self) -> f64;
    /// Which direction is better.
    fn mode(&self) -> Mode;
    /// How a value is printed in progress lines; four decimals by default.
    fn format(&self, value: f64) -> String {
        format!("{value:.4}")
    }
}

pub use stacknet_runtime::Label;

/// Classification accuracy: the fraction of samples whose output's argmax is the label. An
/// output holding a NaN counts as wrong (see
/// [`checked_argmax`](stacknet_runtime::train::checked_argmax)).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Accuracy {
    right: usize,
    total: usize,
}

impl<T: Scalar, const K: usize, C: Label> Metric<SVector<T, K>, C> for Accuracy {
    fn name(&self) -> &'static str {
        "accuracy"
    }
    fn reset(&mut self) {
        *self = Accuracy::default();
    }
    #[inline]
    fn update(&mut self, output: &SVector<T, K>, label: &C) {
        self.right += (checked_argmax(output.as_slice()) == Some(label.class())) as usize;
        self.total += 1;
    }
    fn value(&self) -> f64 {
        ratio(self.right as f64, self.total)
    }
    fn mode(&self) -> Mode {
        Mode::Max
    }
    fn format(&self, value: f64) -> String {
        format!("{:.2}%", 100.0 * value)
    }
}

/// Mean absolute error over every output element, for regression: (1/(n·K)) Σ |y − t|.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct MeanAbsoluteError {
    sum: f64,
    count: usize,
}

impl<T: Scalar, const K: usize> Metric<SVector<T, K>, SVector<T, K>> for MeanAbsoluteError {
    fn name(&self) -> &'static str {
        "mae"
    }
    fn reset(&mut self) {
        *self = MeanAbsoluteError::default();
    }
    #[inline]
    fn update(&mut self, output: &SVector<T, K>, target: &SVector<T, K>) {
        for (&y, &t) in output.iter().zip(target.iter()) {
            self.sum += (y - t).to_f64().abs();
        }
        self.count += K;
    }
    fn value(&self) -> f64 {
        ratio(self.sum, self.count)
    }
    fn mode(&self) -> Mode {
        Mode::Min
    }
}

fn ratio(num: f64, den: usize) -> f64 {
    if den == 0 {
        0.0
    } else {
        num / den as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stacknet_runtime::nalgebra::{Vector2, Vector3};

    #[test]
    fn accuracy_counts_argmax_hits_with_any_label_type() {
        let mut a = Accuracy::default();
        let ys = [
            Vector3::new(0.1f32, 0.7, 0.2),
            Vector3::new(0.9, 0.0, 0.0),
            Vector3::new(f32::NAN, 0.0, 0.0),
        ];
        for (y, t) in ys.iter().zip([1u8, 2, 0]) {
            Metric::<_, u8>::update(&mut a, y, &t);
        }
        // Right on the first only; the NaN output is wrong even with label 0.
        assert!((Metric::<Vector3<f32>, u8>::value(&a) - 1.0 / 3.0).abs() < 1e-12);
        Metric::<Vector3<f32>, usize>::reset(&mut a);
        assert_eq!(Metric::<Vector3<f32>, usize>::value(&a), 0.0);
    }

    #[test]
    fn mae_by_hand() {
        let mut m = MeanAbsoluteError::default();
        m.update(&Vector2::new(1.0f64, -1.0), &Vector2::new(0.5, 1.0));
        m.update(&Vector2::new(0.0, 0.0), &Vector2::new(0.0, 3.5));
        // (0.5 + 2 + 0 + 3.5) / 4 = 1.5
        assert_eq!(Metric::<Vector2<f64>, Vector2<f64>>::value(&m), 1.5);
    }
}
