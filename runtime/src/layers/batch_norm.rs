//! Batch normalisation (Ioffe and Szegedy 2015), per feature after dense layers and per
//! channel after convolutions, with PyTorch's conventions.
//!
//! Training, over the M = B·S values of channel c in a minibatch of B samples with S
//! positions each: μ = mean x, σ² = mean (x − μ)² (biased), x̂ = (x − μ)/√(σ² + ε),
//! y = γ x̂ + β; then running ← (1 − m)·running + m·batch, with the variance unbiased
//! (σ²·M/(M − 1)). Inference: y = γ (x − running_mean)/√(running_var + ε) + β.
//! Backward, with δ = ∂L/∂y: ∂L/∂γ = Σ δ x̂, ∂L/∂β = Σ δ,
//! ∂L/∂x = γ/√(σ² + ε) · (δ − mean δ − x̂ · mean(δ x̂)).
//!
//! It needs the whole minibatch, so it trains only through the `*_batch` methods
//! ([`Layer::NEEDS_BATCH`]); the record is empty because backward recomputes μ and σ from
//! the inputs it is given, which costs one pass and saves B·C values per layer.

use crate::kernels;
use crate::{Layer, NoRecord, Params, RunningStats, Scalar, Shape, TensorInfo, TensorKind, Zeros};
use nalgebra::SVector;

/// Batch norm over `C` channels of `S` positions each (`S = 1` after a dense layer);
/// `N = C·S` values per sample, in channel-major order.
#[derive(Clone, Debug, PartialEq)]
pub struct BatchNorm<T: Scalar, const C: usize, const S: usize, const N: usize> {
    /// γ, the learnable scale (PyTorch's `weight`), initially 1.
    pub gamma: SVector<T, C>,
    /// β, the learnable shift (PyTorch's `bias`), initially 0.
    pub beta: SVector<T, C>,
    /// Per-channel mean for inference, updated by each training batch; initially 0.
    pub running_mean: SVector<T, C>,
    /// Per-channel unbiased variance for inference, updated by each training batch;
    /// initially 1.
    pub running_var: SVector<T, C>,
    /// Training batches seen (PyTorch's `num_batches_tracked`), held as a scalar: exact up to
    /// 2^24 batches in f32, 2^53 in f64.
    pub num_batches_tracked: [T; 1],
    /// m in running ← (1 − m)·running + m·batch (PyTorch's `momentum`, 0.1 by default).
    pub momentum: T,
    /// ε added to the variance before the square root (1e-5 by default).
    pub eps: T,
}

/// The gradients of a batch norm's γ and β.
#[derive(Clone, Debug, PartialEq)]
pub struct BatchNormGrad<T: Scalar, const C: usize> {
    /// ∂L/∂γ per channel.
    pub gamma: SVector<T, C>,
    /// ∂L/∂β per channel.
    pub beta: SVector<T, C>,
}

impl<T: Scalar, const C: usize, const S: usize, const N: usize> BatchNorm<T, C, S, N> {
    const VALID: () = assert!(C > 0 && S > 0 && N == C * S, "batch_norm: N must be C·S");

    /// γ = 1, β = 0, running mean 0 and variance 1, as PyTorch starts.
    pub fn new(momentum: f64, eps: f64) -> Self {
        #[allow(clippy::let_unit_value)]
        let () = Self::VALID;
        BatchNorm {
            gamma: SVector::repeat(T::one()),
            beta: SVector::zeros(),
            running_mean: SVector::zeros(),
            running_var: SVector::repeat(T::one()),
            num_batches_tracked: [T::zero()],
            momentum: T::of(momentum),
            eps: T::of(eps),
        }
    }

    /// Mean and biased variance of channel `c` over a minibatch, in two passes (the variance
    /// from centred values), each summing a sample's plane with blocked partial sums and then
    /// the samples' sums: in f32 a single running sum over B·S values loses digits once the
    /// mean is large against the spread.
    fn stats(xs: &[SVector<T, N>], c: usize) -> (T, T) {
        let m = T::of((xs.len() * S) as f64);
        let planes = || xs.iter().map(|x| &x.as_slice()[c * S..(c + 1) * S]);
        let sum = planes().fold(T::zero(), |a, p| a + kernels::sum(p));
        let mean = sum / m;
        let sq = planes().fold(T::zero(), |a, p| a + kernels::sum_sq_dev(p, mean));
        (mean, sq / m)
    }
}

const PER_SAMPLE: &str =
    "`batch_norm` needs the whole minibatch; train with `BatchTrainer` (the `*_batch` methods)";

impl<T: Scalar, const C: usize> Zeros for BatchNormGrad<T, C> {
    fn zeros() -> Self {
        BatchNormGrad {
            gamma: SVector::zeros(),
            beta: SVector::zeros(),
        }
    }
}

fn info(i: usize, c: usize) -> TensorInfo {
    let (name, kind) = if i == 0 {
        ("weight", TensorKind::Weight)
    } else {
        ("bias", TensorKind::Bias)
    };
    TensorInfo {
        layer: "",
        name,
        shape: Shape::vector(c),
        kind,
        fan_in: 1,
        fan_out: 1,
    }
}

/// The two tensors γ (`weight`) and β (`bias`), for the layer and for its gradient alike.
macro_rules! gamma_beta_params {
    ($ty:ty, $($gen:tt)*) => {
        impl<T: Scalar, $($gen)*> Params<T> for $ty {
            const TENSORS: usize = 2;
            const LEN: usize = 2 * C;
            fn tensor(&self, i: usize) -> &[T] {
                match i {
                    0 => self.gamma.as_slice(),
                    1 => self.beta.as_slice(),
                    _ => &[],
                }
            }
            fn tensor_mut(&mut self, i: usize) -> &mut [T] {
                match i {
                    0 => self.gamma.as_mut_slice(),
                    1 => self.beta.as_mut_slice(),
                    _ => &mut [],
                }
            }
            fn tensor_info(i: usize) -> TensorInfo {
                info(i, C)
            }
        }
    };
}

gamma_beta_params!(BatchNormGrad<T, C>, const C: usize);
gamma_beta_params!(BatchNorm<T, C, S, N>, const C: usize, const S: usize, const N: usize);

/// The running mean, the running variance and the batch count, in PyTorch's buffer order.
impl<T: Scalar, const C: usize, const S: usize, const N: usize> RunningStats<T>
    for BatchNorm<T, C, S, N>
{
    const TENSORS: usize = 3;
    const LEN: usize = 2 * C + 1;
    fn running_stats(&self, i: usize) -> &[T] {
        match i {
            0 => self.running_mean.as_slice(),
            1 => self.running_var.as_slice(),
            2 => &self.num_batches_tracked,
            _ => &[],
        }
    }
    fn running_stats_mut(&mut self, i: usize) -> &mut [T] {
        match i {
            0 => self.running_mean.as_mut_slice(),
            1 => self.running_var.as_mut_slice(),
            2 => &mut self.num_batches_tracked,
            _ => &mut [],
        }
    }
    fn running_stats_info(i: usize) -> TensorInfo {
        let (name, shape, kind) = match i {
            0 => ("running_mean", Shape::vector(C), TensorKind::Buffer),
            1 => ("running_var", Shape::vector(C), TensorKind::Buffer),
            _ => ("num_batches_tracked", Shape::scalar(), TensorKind::Count),
        };
        TensorInfo {
            layer: "",
            name,
            shape,
            kind,
            fan_in: 0,
            fan_out: 0,
        }
    }
}

impl<T: Scalar, const C: usize, const S: usize, const N: usize> Layer<T> for BatchNorm<T, C, S, N> {
    type Input = SVector<T, N>;
    type Output = SVector<T, N>;
    type Record = NoRecord;
    type Grad = BatchNormGrad<T, C>;
    const KIND: &'static str = "batch_norm";
    const MACS: usize = N;
    const NEEDS_BATCH: bool = true;

    /// Inference with the running statistics, folded into one scale and shift per channel.
    fn forward(&self, x: &SVector<T, N>, y: &mut SVector<T, N>) {
        // One channel's S positions at a time, as slices: the loop vectorises.
        let planes = y
            .as_mut_slice()
            .chunks_exact_mut(S)
            .zip(x.as_slice().chunks_exact(S));
        for (c, (y, x)) in planes.enumerate().take(C) {
            let scale = self.gamma[c] / (self.running_var[c] + self.eps).sqrt();
            let shift = self.beta[c] - self.running_mean[c] * scale;
            for (y, &x) in y.iter_mut().zip(x) {
                *y = x * scale + shift;
            }
        }
    }

    fn forward_train(&mut self, _: &SVector<T, N>, _: &mut SVector<T, N>, _: &mut NoRecord) {
        panic!("{PER_SAMPLE}")
    }

    fn backward(
        &self,
        _: &SVector<T, N>,
        _: &SVector<T, N>,
        _: &NoRecord,
        _: &SVector<T, N>,
        _: Option<&mut SVector<T, N>>,
        _: &mut BatchNormGrad<T, C>,
    ) {
        panic!("{PER_SAMPLE}")
    }

    fn forward_train_batch(
        &mut self,
        xs: &[SVector<T, N>],
        ys: &mut [SVector<T, N>],
        _: &mut [NoRecord],
    ) {
        let m = xs.len() * S;
        let (one, mom) = (T::one(), self.momentum);
        for c in 0..C {
            let (mean, var) = Self::stats(xs, c);
            let inv_std = one / (var + self.eps).sqrt();
            for (x, y) in xs.iter().zip(ys.iter_mut()) {
                for s in 0..S {
                    let i = c * S + s;
                    y[i] = self.gamma[c] * (x[i] - mean) * inv_std + self.beta[c];
                }
            }
            // PyTorch keeps the unbiased variance; with a single value it has none to give.
            let unbiased = if m > 1 {
                var * T::of(m as f64 / (m - 1) as f64)
            } else {
                var
            };
            self.running_mean[c] = (one - mom) * self.running_mean[c] + mom * mean;
            self.running_var[c] = (one - mom) * self.running_var[c] + mom * unbiased;
        }
        // Rounded, so that averaging the replicas' counts (multi-threaded training) cannot
        // leave it a hair off an integer.
        let seen = libm::round(self.num_batches_tracked[0].to_f64());
        self.num_batches_tracked[0] = T::of(seen + 1.0);
    }

    fn backward_batch(
        &self,
        xs: &[SVector<T, N>],
        _: &[SVector<T, N>],
        _: &[NoRecord],
        dys: &[SVector<T, N>],
        mut dxs: Option<&mut [SVector<T, N>]>,
        grad: &mut BatchNormGrad<T, C>,
    ) {
        let m = T::of((xs.len() * S) as f64);
        for c in 0..C {
            let (mean, var) = Self::stats(xs, c);
            let inv_std = T::one() / (var + self.eps).sqrt();
            let (mut sum_dy, mut sum_dy_xhat) = (T::zero(), T::zero());
            for (x, dy) in xs.iter().zip(dys) {
                for s in 0..S {
                    let i = c * S + s;
                    sum_dy += dy[i];
                    sum_dy_xhat += dy[i] * (x[i] - mean) * inv_std;
                }
            }
            grad.gamma[c] += sum_dy_xhat;
            grad.beta[c] += sum_dy;
            if let Some(dxs) = dxs.as_deref_mut() {
                let k = self.gamma[c] * inv_std;
                let (mean_dy, mean_dy_xhat) = (sum_dy / m, sum_dy_xhat / m);
                for ((x, dy), dx) in xs.iter().zip(dys).zip(dxs.iter_mut()) {
                    for s in 0..S {
                        let i = c * S + s;
                        let xhat = (x[i] - mean) * inv_std;
                        dx[i] = k * (dy[i] - mean_dy - xhat * mean_dy_xhat);
                    }
                }
            }
        }
    }
}

/// `BatchNormalization` with the running statistics (ONNX's momentum is 1 − PyTorch's).
impl<T: Scalar, const C: usize, const S: usize, const N: usize> crate::onnx::ToOnnx<T>
    for BatchNorm<T, C, S, N>
{
    fn onnx(&self, g: &mut dyn crate::onnx::Graph<T>, site: &crate::onnx::Site<'_>) {
        let tensors = [
            ("weight", self.gamma.as_slice()),
            ("bias", self.beta.as_slice()),
            ("running_mean", self.running_mean.as_slice()),
            ("running_var", self.running_var.as_slice()),
        ];
        let names = tensors.map(|(name, values)| {
            let name = site.of(name);
            g.tensor(name, &[C], &[values]);
            name
        });
        let [scale, bias, mean, var] = names;
        let attrs = [
            crate::onnx::Attr::Float("epsilon", self.eps.to_f64() as f32),
            crate::onnx::Attr::Float("momentum", 1.0 - self.momentum.to_f64() as f32),
        ];
        g.node(
            "BatchNormalization",
            &[site.input, scale, bias, mean, var],
            &[site.output],
            &attrs,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::{relative_error, EPS, TOLERANCE};
    use crate::rng::{uniform_sym, SplitMix64};
    use nalgebra::Vector2;
    use std::vec::Vec;

    #[test]
    fn training_forward_matches_the_formula_by_hand() {
        // Three samples of two features: feature 0 = [1, 2, 6], feature 1 = [0, 0, 3].
        // Feature 0: μ = 3, σ² = (4 + 1 + 9)/3 = 14/3. Feature 1: μ = 1, σ² = (1 + 1 + 4)/3 = 2.
        let mut bn = BatchNorm::<f64, 2, 1, 2>::new(0.1, 1e-5);
        bn.gamma = Vector2::new(2.0, 0.5);
        bn.beta = Vector2::new(1.0, -1.0);
        let xs = [
            Vector2::new(1.0, 0.0),
            Vector2::new(2.0, 0.0),
            Vector2::new(6.0, 3.0),
        ];
        let mut ys = [Vector2::zeros(); 3];
        bn.forward_train_batch(&xs, &mut ys, &mut [NoRecord; 3]);
        let (s0, s1) = ((14.0f64 / 3.0 + 1e-5).sqrt(), (2.0f64 + 1e-5).sqrt());
        let want = [
            [2.0 * (1.0 - 3.0) / s0 + 1.0, 0.5 * (0.0 - 1.0) / s1 - 1.0],
            [2.0 * (2.0 - 3.0) / s0 + 1.0, 0.5 * (0.0 - 1.0) / s1 - 1.0],
            [2.0 * (6.0 - 3.0) / s0 + 1.0, 0.5 * (3.0 - 1.0) / s1 - 1.0],
        ];
        for (y, w) in ys.iter().zip(want) {
            assert!(
                (y[0] - w[0]).abs() < 1e-12 && (y[1] - w[1]).abs() < 1e-12,
                "{y} vs {w:?}"
            );
        }
        // running_mean = 0.9·0 + 0.1·μ; running_var = 0.9·1 + 0.1·σ²·3/2 (unbiased).
        assert!((bn.running_mean - Vector2::new(0.3, 0.1)).norm() < 1e-15);
        // One batch seen, as PyTorch's `num_batches_tracked` counts it.
        assert_eq!(bn.num_batches_tracked, [1.0]);
        let want_var = Vector2::new(0.9 + 0.1 * 7.0, 0.9 + 0.1 * 3.0);
        assert!((bn.running_var - want_var).norm() < 1e-15);
        // Inference uses the running statistics.
        let mut y = Vector2::zeros();
        bn.forward(&Vector2::new(1.0, 2.0), &mut y);
        let want0 = 2.0 * (1.0 - 0.3) / (1.6f64 + 1e-5).sqrt() + 1.0;
        let want1 = 0.5 * (2.0 - 0.1) / (1.2f64 + 1e-5).sqrt() - 1.0;
        assert!((y[0] - want0).abs() < 1e-12 && (y[1] - want1).abs() < 1e-12);
    }

    /// Σ_b r_b · y_b over a batch in training mode, on a fresh clone each time.
    fn probe<const C: usize, const S: usize, const N: usize>(
        bn: &BatchNorm<f64, C, S, N>,
        xs: &[SVector<f64, N>],
        rs: &[SVector<f64, N>],
    ) -> f64 {
        let mut bn = bn.clone();
        let mut ys = std::vec![SVector::zeros(); xs.len()];
        let mut recs = std::vec![NoRecord; xs.len()];
        bn.forward_train_batch(xs, &mut ys, &mut recs);
        ys.iter().zip(rs).map(|(y, r)| y.dot(r)).sum()
    }

    fn check_batch<const C: usize, const S: usize, const N: usize>(batch: usize, seed: u64) {
        let mut rng = SplitMix64::new(seed);
        let mut bn = BatchNorm::<f64, C, S, N>::new(0.1, 1e-5);
        bn.gamma
            .iter_mut()
            .for_each(|g| *g = 0.5 + uniform_sym(&mut rng, 0.4));
        bn.beta
            .iter_mut()
            .for_each(|b| *b = uniform_sym(&mut rng, 1.0));
        let rand = |rng: &mut SplitMix64| SVector::<f64, N>::from_fn(|_, _| uniform_sym(rng, 1.0));
        let xs: Vec<_> = (0..batch).map(|_| rand(&mut rng)).collect();
        let rs: Vec<_> = (0..batch).map(|_| rand(&mut rng)).collect();
        let mut dxs = std::vec![SVector::zeros(); batch];
        let mut grad = BatchNormGrad::zeros();
        bn.backward_batch(&xs, &[], &[], &rs, Some(&mut dxs), &mut grad);
        for b in 0..batch {
            for j in 0..N {
                let (mut hi, mut lo) = (xs.clone(), xs.clone());
                hi[b][j] += EPS;
                lo[b][j] -= EPS;
                let numeric = (probe(&bn, &hi, &rs) - probe(&bn, &lo, &rs)) / (2.0 * EPS);
                let err = relative_error(dxs[b][j], numeric);
                assert!(err < TOLERANCE, "dx[{b}][{j}]: {} vs {numeric}", dxs[b][j]);
            }
        }
        for t in 0..2 {
            for c in 0..C {
                let (mut hi, mut lo) = (bn.clone(), bn.clone());
                hi.tensor_mut(t)[c] += EPS;
                lo.tensor_mut(t)[c] -= EPS;
                let numeric = (probe(&hi, &xs, &rs) - probe(&lo, &xs, &rs)) / (2.0 * EPS);
                let err = relative_error(grad.tensor(t)[c], numeric);
                assert!(
                    err < TOLERANCE,
                    "tensor {t}[{c}]: {} vs {numeric}",
                    grad.tensor(t)[c]
                );
            }
        }
    }

    #[test]
    fn gradients_match_finite_differences() {
        check_batch::<3, 1, 3>(5, 1); // after a dense layer
        check_batch::<2, 4, 8>(3, 2); // after a convolution: 2 channels of 2×2
        check_batch::<2, 9, 18>(1, 3); // one sample still has 9 values per channel
    }

    #[test]
    #[should_panic(expected = "needs the whole minibatch")]
    fn per_sample_training_is_refused() {
        let mut bn = BatchNorm::<f64, 2, 1, 2>::new(0.1, 1e-5);
        bn.forward_train(&Vector2::zeros(), &mut Vector2::zeros(), &mut NoRecord);
    }

    /// Per-sample inference and the batch methods of a batch norm with random γ, β and
    /// running statistics overwrite their outputs.
    fn check_overwrites<const C: usize, const S: usize, const N: usize>(batch: usize, seed: u64) {
        use crate::layer::contract::{assert_overwrites, assert_overwrites_batch, random};
        let mut rng = SplitMix64::new(seed);
        let mut bn = BatchNorm::<f64, C, S, N>::new(0.1, 1e-5);
        bn.gamma = random(&mut rng);
        bn.beta = random(&mut rng);
        bn.running_mean = random(&mut rng);
        bn.running_var
            .iter_mut()
            .for_each(|v| *v = 1.0 + uniform_sym(&mut rng, 0.5));
        let xs: Vec<SVector<f64, N>> = (0..batch).map(|_| random(&mut rng)).collect();
        let dys: Vec<SVector<f64, N>> = (0..batch).map(|_| random(&mut rng)).collect();
        let mut recs = std::vec![NoRecord; batch];
        assert_overwrites("batch_norm", "forward", |y| bn.forward(&xs[0], y));
        assert_overwrites_batch("batch_norm", "forward_train_batch", batch, |ys| {
            bn.clone().forward_train_batch(&xs, ys, &mut recs)
        });
        let mut ys = std::vec![SVector::zeros(); batch];
        bn.clone().forward_train_batch(&xs, &mut ys, &mut recs);
        assert_overwrites_batch("batch_norm", "backward_batch", batch, |dxs| {
            let mut grad = BatchNormGrad::zeros();
            bn.backward_batch(&xs, &ys, &recs, &dys, Some(dxs), &mut grad)
        });
    }

    #[test]
    fn forward_and_batch_methods_overwrite_their_outputs() {
        check_overwrites::<3, 1, 3>(5, 1); // after a dense layer
        check_overwrites::<2, 4, 8>(3, 2); // after a convolution: 2 channels of 2×2
        check_overwrites::<2, 9, 18>(1, 3); // one sample
    }

    #[test]
    fn statistics_keep_their_digits_when_the_mean_dwarfs_the_spread() {
        // 32 samples of 32×32 positions around 1000 with spread ±1, in f32; the reference is
        // the same two-pass formula in f64 over the same values.
        const S: usize = 1024;
        let mut rng = crate::rng::SplitMix64::new(5);
        let xs: std::vec::Vec<SVector<f32, S>> = (0..32)
            .map(|_| {
                SVector::from_fn(|_, _| 1000.0 + crate::rng::uniform_sym(&mut rng, 1.0) as f32)
            })
            .collect();
        let (mean, var) = BatchNorm::<f32, 1, S, S>::stats(&xs, 0);
        let all: std::vec::Vec<f64> = xs
            .iter()
            .flat_map(|x| x.iter().map(|&v| v as f64))
            .collect();
        let m = all.iter().sum::<f64>() / all.len() as f64;
        let v = all.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / all.len() as f64;
        let (em, ev) = ((mean as f64 - m).abs() / m, (var as f64 - v).abs() / v);
        assert!(
            em < 1e-7 && ev < 1e-5,
            "mean {em:e}, variance {ev:e} relative error"
        );
    }
}
