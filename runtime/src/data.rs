//! Data preparation without a heap: feature scaling fitted on training data, one-hot
//! targets, and shuffled minibatch orders, over slices of `SVector`s.
//!
//! Scalers are fitted on the training set only and then applied unchanged to validation and
//! test data, so that no statistic of the held-out data leaks into training:
//!
//! ```
//! use stacknet_runtime::data::{minibatches, Standardizer};
//! use stacknet_runtime::nalgebra::SVector;
//! use stacknet_runtime::rng::SplitMix64;
//!
//! let mut train = [SVector::from([1.0, 10.0]), SVector::from([3.0, 30.0])];
//! let scaler = Standardizer::fit(&train).unwrap();
//! scaler.transform_all(&mut train);
//! assert_eq!(train[0], SVector::from([-1.0, -1.0]));
//!
//! let mut order = [0usize; 2];
//! let mut rng = SplitMix64::new(7);
//! for batch in minibatches(&mut order, 1, &mut rng).unwrap() {
//!     assert_eq!(batch.len(), 1); // indices into `train`
//! }
//! ```

use crate::rng::shuffle;
use crate::{Params, Scalar, Shape, TensorInfo, TensorKind};
use core::fmt;
use nalgebra::SVector;
use rand_core::RngCore;

/// Why a data helper refused its input.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum DataError {
    /// Fitting a scaler needs at least one sample.
    Empty,
    /// A class label must be below the number of classes.
    LabelOutOfRange {
        /// The offending label.
        label: usize,
        /// The number of classes, so labels must be in `0..classes`.
        classes: usize,
    },
    /// A min–max target range [a, b] needs a < b.
    EmptyRange {
        /// The requested lower end.
        a: f64,
        /// The requested upper end.
        b: f64,
    },
    /// Minibatches need at least one sample each.
    ZeroBatchSize,
}

impl fmt::Display for DataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            DataError::Empty => f.write_str("cannot fit a scaler on no samples"),
            DataError::LabelOutOfRange { label, classes } => {
                write!(
                    f,
                    "label out of range: expected a class below {classes}, found {label}"
                )
            }
            DataError::EmptyRange { a, b } => {
                write!(
                    f,
                    "min–max range is empty: expected a < b, found [{a}, {b}]"
                )
            }
            DataError::ZeroBatchSize => {
                f.write_str("batch size is 0: expected at least 1 sample per batch")
            }
        }
    }
}

impl core::error::Error for DataError {}

/// Per-feature standardisation z = (x − μ) / σ, with μ and σ fitted on training data.
///
/// σ is the population standard deviation (divide by n, as scikit-learn's `StandardScaler`);
/// a feature that is constant in the training data keeps σ = 1, so it maps to 0 instead of
/// dividing by zero.
///
/// Its fitted state is a [`Params`] of two tensors, `standardizer.mean` and
/// `standardizer.std` (each `[F]`, kind [`TensorKind::Buffer`]: saved and loaded, never
/// trained or decayed), so that it is saved beside a network's weights in one safetensors
/// file ([`export_state_with`](crate::safetensors::export_state_with)).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Standardizer<T: Scalar, const F: usize> {
    /// μ, the training mean of each feature.
    pub mean: SVector<T, F>,
    /// σ, the training population standard deviation of each feature (1 where it was 0).
    pub std: SVector<T, F>,
}

impl<T: Scalar, const F: usize> Standardizer<T, F> {
    /// Fits μ and σ per feature. Statistics are accumulated in `f64` (two passes: mean, then
    /// squared deviations), so `f32` data with a large offset keeps its variance.
    pub fn fit(data: &[SVector<T, F>]) -> Result<Self, DataError> {
        if data.is_empty() {
            return Err(DataError::Empty);
        }
        let n = data.len() as f64;
        let mut out = Standardizer {
            mean: SVector::zeros(),
            std: SVector::zeros(),
        };
        for j in 0..F {
            let mean = data.iter().map(|x| x[j].to_f64()).sum::<f64>() / n;
            let var = data
                .iter()
                .map(|x| x[j].to_f64() - mean)
                .map(|d| d * d)
                .sum::<f64>()
                / n;
            let std = <f64 as nalgebra::ComplexField>::sqrt(var);
            out.mean[j] = T::of(mean);
            out.std[j] = T::of(if std > 0.0 { std } else { 1.0 });
        }
        Ok(out)
    }

    /// (x − μ) / σ.
    pub fn transform(&self, x: &SVector<T, F>) -> SVector<T, F> {
        (x - self.mean).component_div(&self.std)
    }

    /// Standardises every sample in place.
    pub fn transform_all(&self, data: &mut [SVector<T, F>]) {
        for x in data {
            *x = self.transform(x);
        }
    }

    /// z·σ + μ.
    pub fn inverse(&self, z: &SVector<T, F>) -> SVector<T, F> {
        z.component_mul(&self.std) + self.mean
    }
}

/// Per-feature min–max scaling to [a, b]: x′ = a + (x − min)·(b − a)/(max − min), with min and
/// max fitted on training data.
///
/// Values outside the training range map outside [a, b]. A feature that is constant in the
/// training data is treated as having range 1 (as scikit-learn does), so it maps to a.
///
/// Its fitted state is a [`Params`] of four tensors, `min_max.min` and `min_max.range` (each
/// `[F]`), then `min_max.a` and `min_max.b` (scalars, shape `[]`), all of kind
/// [`TensorKind::Buffer`], so that it is saved beside a network's weights in one safetensors
/// file ([`export_state_with`](crate::safetensors::export_state_with)).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MinMaxScaler<T: Scalar, const F: usize> {
    /// The training minimum of each feature.
    pub min: SVector<T, F>,
    /// max − min, or 1 for a constant feature.
    pub range: SVector<T, F>,
    /// Where the training minimum maps to.
    pub a: T,
    /// Where the training maximum maps to (a < b).
    pub b: T,
}

impl<T: Scalar, const F: usize> MinMaxScaler<T, F> {
    /// Fits min and max per feature, to scale into [a, b].
    pub fn fit(data: &[SVector<T, F>], a: f64, b: f64) -> Result<Self, DataError> {
        // `!(a < b)` rather than `a >= b`, so NaN bounds are refused too.
        if a.partial_cmp(&b) != Some(core::cmp::Ordering::Less) {
            return Err(DataError::EmptyRange { a, b });
        }
        let (first, rest) = data.split_first().ok_or(DataError::Empty)?;
        let (mut min, mut max) = (*first, *first);
        for x in rest {
            min = min.inf(x);
            max = max.sup(x);
        }
        let range = (max - min).map(|r| if r > T::zero() { r } else { T::one() });
        Ok(MinMaxScaler {
            min,
            range,
            a: T::of(a),
            b: T::of(b),
        })
    }

    /// a + (x − min)·(b − a)/range.
    pub fn transform(&self, x: &SVector<T, F>) -> SVector<T, F> {
        let width = self.b - self.a;
        (x - self.min)
            .component_div(&self.range)
            .map(|u| self.a + u * width)
    }

    /// Scales every sample in place.
    pub fn transform_all(&self, data: &mut [SVector<T, F>]) {
        for x in data {
            *x = self.transform(x);
        }
    }

    /// min + (x′ − a)·range/(b − a).
    pub fn inverse(&self, y: &SVector<T, F>) -> SVector<T, F> {
        let width = self.b - self.a;
        y.map(|v| (v - self.a) / width).component_mul(&self.range) + self.min
    }
}

/// A scaler's fitted tensor: not trained, so a [`TensorKind::Buffer`] (no regulariser decays
/// it), under the scaler's own `layer` prefix.
fn buffer(layer: &'static str, name: &'static str, shape: Shape) -> TensorInfo {
    TensorInfo {
        layer,
        name,
        shape,
        kind: TensorKind::Buffer,
        fan_in: 0,
        fan_out: 0,
    }
}

/// `standardizer.mean` and `standardizer.std`, each of shape `[F]`.
impl<T: Scalar, const F: usize> Params<T> for Standardizer<T, F> {
    const TENSORS: usize = 2;
    const LEN: usize = 2 * F;
    fn tensor(&self, i: usize) -> &[T] {
        match i {
            0 => self.mean.as_slice(),
            1 => self.std.as_slice(),
            _ => &[],
        }
    }
    fn tensor_mut(&mut self, i: usize) -> &mut [T] {
        match i {
            0 => self.mean.as_mut_slice(),
            1 => self.std.as_mut_slice(),
            _ => &mut [],
        }
    }
    fn tensor_info(i: usize) -> TensorInfo {
        let name = if i == 0 { "mean" } else { "std" };
        buffer("standardizer", name, Shape::vector(F))
    }
}

/// `min_max.min` and `min_max.range` of shape `[F]`, then `min_max.a` and `min_max.b` of shape
/// `[]`.
impl<T: Scalar, const F: usize> Params<T> for MinMaxScaler<T, F> {
    const TENSORS: usize = 4;
    const LEN: usize = 2 * F + 2;
    fn tensor(&self, i: usize) -> &[T] {
        match i {
            0 => self.min.as_slice(),
            1 => self.range.as_slice(),
            2 => core::slice::from_ref(&self.a),
            3 => core::slice::from_ref(&self.b),
            _ => &[],
        }
    }
    fn tensor_mut(&mut self, i: usize) -> &mut [T] {
        match i {
            0 => self.min.as_mut_slice(),
            1 => self.range.as_mut_slice(),
            2 => core::slice::from_mut(&mut self.a),
            3 => core::slice::from_mut(&mut self.b),
            _ => &mut [],
        }
    }
    fn tensor_info(i: usize) -> TensorInfo {
        match i {
            0 => buffer("min_max", "min", Shape::vector(F)),
            1 => buffer("min_max", "range", Shape::vector(F)),
            2 => buffer("min_max", "a", Shape::scalar()),
            _ => buffer("min_max", "b", Shape::scalar()),
        }
    }
}

/// The one-hot vector of `label` among `C` classes.
pub fn one_hot<T: Scalar, const C: usize>(label: usize) -> Result<SVector<T, C>, DataError> {
    if label >= C {
        return Err(DataError::LabelOutOfRange { label, classes: C });
    }
    let mut v = SVector::zeros();
    v[label] = T::one();
    Ok(v)
}

/// One epoch's minibatches: fills `order` with 0..len, shuffles it with `rng`, and returns it
/// in chunks of `batch_size` indices (the last chunk may be shorter).
///
/// `order` is the caller's buffer, one slot per sample, so nothing is allocated; the order
/// depends only on the RNG state, so a seeded run repeats its epochs exactly.
pub fn minibatches<'a>(
    order: &'a mut [usize],
    batch_size: usize,
    rng: &mut (impl RngCore + ?Sized),
) -> Result<core::slice::Chunks<'a, usize>, DataError> {
    if batch_size == 0 {
        return Err(DataError::ZeroBatchSize);
    }
    for (i, o) in order.iter_mut().enumerate() {
        *o = i;
    }
    shuffle(rng, order);
    Ok(order.chunks(batch_size))
}

/// The samples of one minibatch as (input, target) pairs, the shape
/// [`Trainer::step`](crate::train::Trainer::step) takes.
///
/// Panics if an index is out of bounds of `inputs` or `targets`.
pub fn batch<'a, X, Y>(
    inputs: &'a [X],
    targets: &'a [Y],
    indices: &'a [usize],
) -> impl Iterator<Item = (&'a X, &'a Y)> + 'a {
    indices.iter().map(move |&i| (&inputs[i], &targets[i]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::SplitMix64;
    use nalgebra::{Vector2, Vector3};

    #[test]
    fn standardizer_by_hand() {
        // Feature 0: [1, 2, 6] → mean 3, var (4 + 1 + 9)/3 = 14/3.
        // Feature 1: constant 5 → mean 5, σ kept at 1.
        let data = [
            Vector2::new(1.0, 5.0),
            Vector2::new(2.0, 5.0),
            Vector2::new(6.0, 5.0),
        ];
        let s = Standardizer::<f64, 2>::fit(&data).unwrap();
        let sd = (14.0f64 / 3.0).sqrt();
        assert!((s.mean[0] - 3.0).abs() < 1e-15 && (s.std[0] - sd).abs() < 1e-15);
        assert_eq!((s.mean[1], s.std[1]), (5.0, 1.0));
        // Applied to unseen data with the training statistics.
        let z = s.transform(&Vector2::new(10.0, 7.0));
        assert!((z[0] - 7.0 / sd).abs() < 1e-14);
        assert_eq!(z[1], 2.0);
        let back = s.inverse(&z);
        assert!((back - Vector2::new(10.0, 7.0)).norm() < 1e-14);
        // The transformed training set has mean 0 and variance 1.
        let mut t = data;
        s.transform_all(&mut t);
        let mean: f64 = t.iter().map(|x| x[0]).sum::<f64>() / 3.0;
        let var: f64 = t.iter().map(|x| x[0] * x[0]).sum::<f64>() / 3.0;
        assert!(mean.abs() < 1e-15 && (var - 1.0).abs() < 1e-14);
        assert_eq!(Standardizer::<f64, 2>::fit(&[]), Err(DataError::Empty));
    }

    #[test]
    fn standardizer_keeps_f32_variance_under_an_offset() {
        // 1e4 ± 1: a one-pass Σx² − n μ² in f32 would lose the variance entirely.
        let data: [SVector<f32, 1>; 4] = [[9999.0], [10001.0], [9999.0], [10001.0]].map(Into::into);
        let s = Standardizer::fit(&data).unwrap();
        assert_eq!((s.mean[0], s.std[0]), (10000.0, 1.0));
    }

    #[test]
    fn min_max_by_hand() {
        // Feature 0 in [2, 6], feature 1 in [−1, 1], feature 2 constant; target [−1, 1].
        let data = [
            Vector3::new(2.0, 1.0, 4.0),
            Vector3::new(6.0, -1.0, 4.0),
            Vector3::new(3.0, 0.0, 4.0),
        ];
        let m = MinMaxScaler::fit(&data, -1.0, 1.0).unwrap();
        // x′ = −1 + 2 (x − min)/range
        assert_eq!(m.transform(&data[0]), Vector3::new(-1.0, 1.0, -1.0));
        assert_eq!(m.transform(&data[1]), Vector3::new(1.0, -1.0, -1.0));
        assert_eq!(m.transform(&data[2]), Vector3::new(-0.5, 0.0, -1.0));
        // Outside the training range maps outside [a, b]: 8 → −1 + 2·6/4 = 2.
        assert_eq!(m.transform(&Vector3::new(8.0, 0.0, 4.0))[0], 2.0);
        let x = Vector3::new(4.5, 0.25, 4.0);
        assert!((m.inverse(&m.transform(&x)) - x).norm() < 1e-15);
        let mut all = data;
        m.transform_all(&mut all);
        assert_eq!(all[2], Vector3::new(-0.5, 0.0, -1.0));
        assert_eq!(
            MinMaxScaler::fit(&data, 1.0, 1.0),
            Err(DataError::EmptyRange { a: 1.0, b: 1.0 })
        );
        assert!(MinMaxScaler::fit(&data, f64::NAN, 1.0).is_err());
        assert_eq!(
            MinMaxScaler::<f64, 3>::fit(&[], 0.0, 1.0),
            Err(DataError::Empty)
        );
    }

    #[test]
    fn scalers_are_named_buffers_that_round_trip_as_safetensors() {
        use crate::safetensors::SafeTensors;
        use crate::safetensors::{export_to_slice, exported_len, load_from_bytes, Dtype};
        use std::string::ToString;
        use std::vec::Vec;

        fn infos<P: Params<f32>>() -> Vec<(std::string::String, Vec<usize>, TensorKind)> {
            (0..P::TENSORS)
                .map(P::tensor_info)
                .map(|t| (t.to_string(), t.shape.dims().to_vec(), t.kind))
                .collect()
        }
        let b = TensorKind::Buffer;
        assert_eq!(
            infos::<Standardizer<f32, 3>>(),
            [
                ("standardizer.mean".into(), [3].into(), b),
                ("standardizer.std".into(), [3].into(), b),
            ]
        );
        assert_eq!(
            infos::<MinMaxScaler<f32, 3>>(),
            [
                ("min_max.min".into(), [3].into(), b),
                ("min_max.range".into(), [3].into(), b),
                ("min_max.a".into(), [].into(), b),
                ("min_max.b".into(), [].into(), b),
            ]
        );
        assert_eq!(<Standardizer<f32, 3> as Params<f32>>::LEN, 6);
        assert_eq!(<MinMaxScaler<f32, 3> as Params<f32>>::LEN, 8);

        let m = MinMaxScaler::<f32, 3> {
            min: Vector3::new(1.5, -2.0, 0.25),
            range: Vector3::new(0.5, 4.0, 1.0),
            a: -1.0,
            b: 3.0,
        };
        assert!(m.tensor(4).is_empty());
        let mut buf = [0u8; 512];
        let n = export_to_slice(&m, &mut buf).unwrap();
        assert_eq!(n, exported_len::<f32, MinMaxScaler<f32, 3>>());
        let file = SafeTensors::parse(&buf[..n]).unwrap();
        let a = file.get("min_max.a").unwrap();
        assert_eq!((a.dtype, a.shape.dims()), (Dtype::F32, &[][..]));
        assert_eq!(a.data, (-1.0f32).to_le_bytes());
        let mut back = MinMaxScaler {
            min: Vector3::zeros(),
            range: Vector3::zeros(),
            a: 0.0,
            b: 0.0,
        };
        load_from_bytes(&mut back, &buf[..n]).unwrap();
        assert_eq!(back, m);

        let s = Standardizer::<f64, 3> {
            mean: Vector3::new(1.5, -2.0, 0.25),
            std: Vector3::new(0.5, 4.0, 1.0),
        };
        let n = export_to_slice(&s, &mut buf).unwrap();
        let file = SafeTensors::parse(&buf[..n]).unwrap();
        assert!(file.tensors().all(|t| t.dtype == Dtype::F64));
        let mut back = Standardizer {
            mean: Vector3::zeros(),
            std: Vector3::zeros(),
        };
        load_from_bytes(&mut back, &buf[..n]).unwrap();
        assert_eq!(back, s);
    }

    #[test]
    fn one_hot_encoding() {
        assert_eq!(
            one_hot::<f32, 4>(2),
            Ok(SVector::from([0.0, 0.0, 1.0, 0.0]))
        );
        assert_eq!(
            one_hot::<f32, 4>(4),
            Err(DataError::LabelOutOfRange {
                label: 4,
                classes: 4
            })
        );
        assert_eq!(
            std::format!(
                "{}",
                DataError::LabelOutOfRange {
                    label: 4,
                    classes: 4
                }
            ),
            "label out of range: expected a class below 4, found 4"
        );
    }

    #[test]
    fn minibatches_cover_every_sample_once_and_repeat_with_the_seed() {
        let mut order = [0usize; 10];
        let batches: std::vec::Vec<std::vec::Vec<usize>> =
            minibatches(&mut order, 4, &mut SplitMix64::new(3))
                .unwrap()
                .map(|b| b.to_vec())
                .collect();
        assert_eq!(
            batches
                .iter()
                .map(|b| b.len())
                .collect::<std::vec::Vec<_>>(),
            [4, 4, 2]
        );
        let mut all: std::vec::Vec<usize> = batches.concat();
        assert_ne!(all, (0..10).collect::<std::vec::Vec<_>>(), "shuffled");
        all.sort();
        assert_eq!(all, (0..10).collect::<std::vec::Vec<_>>());
        // The same seed gives the same order, whatever the buffer held before.
        let mut again = [7usize; 10];
        let repeat: std::vec::Vec<usize> = minibatches(&mut again, 4, &mut SplitMix64::new(3))
            .unwrap()
            .flatten()
            .copied()
            .collect();
        assert_eq!(repeat, batches.concat());
        assert_eq!(
            minibatches(&mut order, 0, &mut SplitMix64::new(3)).err(),
            Some(DataError::ZeroBatchSize)
        );
    }

    #[test]
    fn batch_pairs_inputs_with_targets() {
        let xs = [
            Vector2::new(0.0, 0.0),
            Vector2::new(1.0, 1.0),
            Vector2::new(2.0, 2.0),
        ];
        let ys = [10usize, 11, 12];
        let pairs: std::vec::Vec<_> = batch(&xs, &ys, &[2, 0]).collect();
        assert_eq!(pairs, [(&xs[2], &12), (&xs[0], &10)]);
    }
}
