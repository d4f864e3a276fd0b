//! Regularisation penalties (L2, L1) and gradient clipping, applied to a gradient buffer
//! between backward and the optimiser step.
//!
//! The penalties decay [`TensorKind::Weight`] tensors only, unless asked to include biases:
//! shrinking a bias does not make a model smoother, it only shifts its outputs. Buffers
//! ([`TensorKind::Buffer`], [`TensorKind::Count`]: a scaler's fitted statistics) are never
//! decayed. They work on
//! any [`Params`] pair (a network and its gradients, or one layer and its gradients):
//!
//! ```
//! use stacknet_runtime::loss::Loss;
//! use stacknet_runtime::optim::Optimizer;
//! use stacknet_runtime::regularize::{clip_grad_norm, Regularizer, L2};
//! use stacknet_runtime::train::{clear, scale, Trainer};
//! use stacknet_runtime::{Network, PerSample};
//!
//! /// One minibatch step with weight decay on the weights and a clipped gradient.
//! fn step<N: PerSample<f32>, O: Optimizer<N>, L: Loss<f32, N::Output>>(
//!     net: &mut N,
//!     opt: &mut O,
//!     trainer: &mut Trainer<N>,
//!     loss: &L,
//!     batch: &[(N::Input, L::Target)],
//! ) -> f32
//! where
//!     L::Target: Sized,
//! {
//!     clear(&mut trainer.grad);
//!     let mut total = 0.0;
//!     for (x, t) in batch {
//!         total += trainer.accumulate(net, loss, x, t);
//!     }
//!     let inv = 1.0 / batch.len() as f32;
//!     scale(&mut trainer.grad, inv); // the mean gradient first…
//!     let penalty = L2::new(1e-4).add_grad(net, &mut trainer.grad); // …then the penalty
//!     clip_grad_norm(&mut trainer.grad, 1.0);
//!     opt.step(net, &trainer.grad);
//!     total * inv + penalty
//! }
//! ```
//!
//! L2 through the gradient is PyTorch's `weight_decay` restricted to weights: for plain SGD,
//! adding λw to the gradient is exactly `SGD(weight_decay=λ)` on those tensors.

use crate::{Params, Scalar, TensorKind};

/// A penalty R(θ) added to the loss, with its strength in the parameters' scalar `T` (as the
/// optimisers' hyperparameters are).
pub trait Regularizer<T: Scalar> {
    /// R(θ).
    fn penalty<P: Params<T>>(&self, params: &P) -> T;
    /// Adds ∂R/∂θ to `grad` (the tensors of `params`, in the same order) and returns R(θ).
    fn add_grad<P: Params<T>, G: Params<T>>(&self, params: &P, grad: &mut G) -> T;
}

fn applies(kind: TensorKind, biases: bool) -> bool {
    match kind {
        TensorKind::Weight => true,
        TensorKind::Bias => biases,
        // Not trained at all.
        TensorKind::Buffer | TensorKind::Count => false,
    }
}

/// L2 penalty R = λ/2 · Σ w², gradient λ w.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct L2<T> {
    /// λ, the penalty's strength (PyTorch's `weight_decay` for SGD, where the gradient is λw).
    pub lambda: T,
    /// Whether biases are penalised too. Default false.
    pub biases: bool,
}

impl<T: Scalar> L2<T> {
    /// λ on weight tensors only.
    pub fn new(lambda: T) -> Self {
        L2 {
            lambda,
            biases: false,
        }
    }

    /// Penalises biases too.
    pub fn with_biases(mut self) -> Self {
        self.biases = true;
        self
    }
}

impl<T: Scalar> Regularizer<T> for L2<T> {
    fn penalty<P: Params<T>>(&self, params: &P) -> T {
        let mut sum = T::zero();
        for i in (0..P::TENSORS).filter(|&i| applies(P::tensor_info(i).kind, self.biases)) {
            sum += params.tensor(i).iter().fold(T::zero(), |s, &w| s + w * w);
        }
        self.lambda / T::of(2.0) * sum
    }

    fn add_grad<P: Params<T>, G: Params<T>>(&self, params: &P, grad: &mut G) -> T {
        let lambda = self.lambda;
        for i in (0..P::TENSORS).filter(|&i| applies(P::tensor_info(i).kind, self.biases)) {
            for (g, &w) in grad.tensor_mut(i).iter_mut().zip(params.tensor(i)) {
                *g += lambda * w;
            }
        }
        self.penalty(params)
    }
}

/// L1 penalty R = λ · Σ |w|, gradient λ · sign(w) (0 at w = 0, the subgradient PyTorch's
/// `sign` gives).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct L1<T> {
    /// λ, the penalty's strength: every penalised weight is pulled towards 0 by λ per step of
    /// the gradient.
    pub lambda: T,
    /// Whether biases are penalised too. Default false.
    pub biases: bool,
}

impl<T: Scalar> L1<T> {
    /// λ on weight tensors only.
    pub fn new(lambda: T) -> Self {
        L1 {
            lambda,
            biases: false,
        }
    }

    /// Penalises biases too.
    pub fn with_biases(mut self) -> Self {
        self.biases = true;
        self
    }
}

fn sign<T: Scalar>(w: T) -> T {
    if w > T::zero() {
        T::one()
    } else if w < T::zero() {
        -T::one()
    } else {
        T::zero()
    }
}

impl<T: Scalar> Regularizer<T> for L1<T> {
    fn penalty<P: Params<T>>(&self, params: &P) -> T {
        let mut sum = T::zero();
        for i in (0..P::TENSORS).filter(|&i| applies(P::tensor_info(i).kind, self.biases)) {
            sum += params.tensor(i).iter().fold(T::zero(), |s, &w| s + w.abs());
        }
        self.lambda * sum
    }

    fn add_grad<P: Params<T>, G: Params<T>>(&self, params: &P, grad: &mut G) -> T {
        let lambda = self.lambda;
        for i in (0..P::TENSORS).filter(|&i| applies(P::tensor_info(i).kind, self.biases)) {
            for (g, &w) in grad.tensor_mut(i).iter_mut().zip(params.tensor(i)) {
                *g += lambda * sign(w);
            }
        }
        self.penalty(params)
    }
}

/// The global L2 norm ‖g‖ over every tensor of `grad`.
///
/// Computed as m·√Σ(g/m)² with m = max |g|, so it neither overflows nor underflows where
/// the norm itself is representable (a plain Σ g² overflows `f32` once |g| ≳ 10¹⁹).
pub fn grad_norm<T: Scalar, G: Params<T>>(grad: &G) -> T {
    let mut max = T::zero();
    for i in 0..G::TENSORS {
        for &g in grad.tensor(i) {
            let a = g.abs();
            match a.partial_cmp(&max) {
                Some(core::cmp::Ordering::Greater) => max = a,
                None => return a, // NaN
                _ => {}
            }
        }
    }
    if max == T::zero() || !max.is_finite() {
        return max;
    }
    let inv = T::one() / max;
    let mut sum = T::zero();
    for i in 0..G::TENSORS {
        for &g in grad.tensor(i) {
            let s = g * inv;
            sum += s * s;
        }
    }
    max * sum.sqrt()
}

/// Clips by global norm: g ← min(1, θ / ‖g‖) · g. Returns ‖g‖ before clipping.
///
/// PyTorch's `clip_grad_norm_` divides by ‖g‖ + 10⁻⁶ instead; the difference is a relative
/// 10⁻⁶/‖g‖ in the clipped gradient. A NaN norm leaves the gradient unchanged.
pub fn clip_grad_norm<T: Scalar, G: Params<T>>(grad: &mut G, max_norm: T) -> T {
    let norm = grad_norm(grad);
    let theta = max_norm;
    if norm > theta {
        crate::train::scale(grad, theta / norm);
    }
    norm
}

/// Clips every element to [−c, c] (PyTorch's `clip_grad_value_`).
pub fn clip_grad_value<T: Scalar, G: Params<T>>(grad: &mut G, c: T) {
    for i in 0..G::TENSORS {
        for g in grad.tensor_mut(i) {
            if *g > c {
                *g = c;
            } else if *g < -c {
                *g = -c;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::{relative_error, EPS};
    use crate::layers::Dense;
    use crate::{Layer, Zeros};

    /// A 2×3 dense layer with fixed values: weight [[1, −2, 0], [0.5, 3, −1]], bias [2, −4].
    fn layer() -> Dense<f64, 3, 2> {
        let mut l = Dense::zeros();
        l.tensor_mut(0)
            .copy_from_slice(&[1.0, -2.0, 0.0, 0.5, 3.0, -1.0]);
        l.tensor_mut(1).copy_from_slice(&[2.0, -4.0]);
        l
    }

    #[test]
    fn l2_values_by_hand() {
        let l = layer();
        // Σw² over weights = 1 + 4 + 0 + 0.25 + 9 + 1 = 15.25; λ/2 = 0.05
        assert!((L2::new(0.1).penalty(&l) - 0.7625).abs() < 1e-15);
        // With biases: + 4 + 16 = 35.25
        assert!((L2::new(0.1).with_biases().penalty(&l) - 1.7625).abs() < 1e-15);
        let mut g = <Dense<f64, 3, 2> as Layer<f64>>::Grad::zeros();
        g.tensor_mut(1).copy_from_slice(&[7.0, 7.0]);
        let r = L2::new(0.1).add_grad(&l, &mut g);
        assert!((r - 0.7625).abs() < 1e-15);
        let want = [0.1, -0.2, 0.0, 0.05, 0.3, -0.1];
        for (a, b) in g.tensor(0).iter().zip(want) {
            assert!((a - b).abs() < 1e-16);
        }
        assert_eq!(g.tensor(1), &[7.0, 7.0], "biases untouched by default");
    }

    #[test]
    fn buffers_are_never_decayed() {
        // A fitted scaler's statistics are buffers: no penalty and no gradient, biases or not.
        let s = crate::data::Standardizer::<f64, 2> {
            mean: [3.0, -1.0].into(),
            std: [2.0, 0.5].into(),
        };
        let mut g = s;
        assert_eq!(L2::new(0.1).with_biases().add_grad(&s, &mut g), 0.0);
        assert_eq!(L1::new(0.1).with_biases().add_grad(&s, &mut g), 0.0);
        assert_eq!(g, s);
    }

    #[test]
    fn l1_values_by_hand() {
        let l = layer();
        // Σ|w| = 1 + 2 + 0 + 0.5 + 3 + 1 = 7.5; biases add 6
        assert!((L1::new(0.2).penalty(&l) - 1.5).abs() < 1e-15);
        assert!((L1::new(0.2).with_biases().penalty(&l) - 2.7).abs() < 1e-15);
        let mut g = <Dense<f64, 3, 2> as Layer<f64>>::Grad::zeros();
        L1::new(0.2).with_biases().add_grad(&l, &mut g);
        assert_eq!(g.tensor(0), &[0.2, -0.2, 0.0, 0.2, 0.2, -0.2]);
        assert_eq!(g.tensor(1), &[0.2, -0.2]);
    }

    /// Central differences of the penalty against `add_grad`, entry by entry.
    fn check_fd(r: &impl Regularizer<f64>) {
        let l = layer();
        let mut g = <Dense<f64, 3, 2> as Layer<f64>>::Grad::zeros();
        r.add_grad(&l, &mut g);
        for i in 0..2 {
            for k in 0..l.tensor(i).len() {
                if l.tensor(i)[k] == 0.0 {
                    continue; // |w| has no derivative at 0
                }
                let (mut hi, mut lo) = (l.clone(), l.clone());
                hi.tensor_mut(i)[k] += EPS;
                lo.tensor_mut(i)[k] -= EPS;
                let numeric = (r.penalty(&hi) - r.penalty(&lo)) / (2.0 * EPS);
                let err = relative_error(g.tensor(i)[k], numeric);
                assert!(
                    err < 1e-7,
                    "tensor {i} [{k}]: {} vs {numeric}",
                    g.tensor(i)[k]
                );
            }
        }
    }

    #[test]
    fn gradients_match_finite_differences() {
        check_fd(&L2::new(0.3));
        check_fd(&L2::new(0.3).with_biases());
        check_fd(&L1::new(0.7));
        check_fd(&L1::new(0.7).with_biases());
    }

    #[test]
    fn clipping_by_norm_and_value() {
        let mut g = layer();
        // ‖g‖² = 15.25 + 20 = 35.25
        let norm: f64 = grad_norm(&g);
        assert!((norm - 35.25f64.sqrt()).abs() < 1e-14);
        // Below the threshold: unchanged.
        let before = g.clone();
        assert_eq!(clip_grad_norm::<f64, _>(&mut g, 10.0), norm);
        assert_eq!(g, before);
        // Above: scaled by 2/‖g‖, to norm 2.
        let returned: f64 = clip_grad_norm(&mut g, 2.0);
        assert_eq!(returned, norm);
        let k = 2.0 / 35.25f64.sqrt();
        for (a, b) in g.tensor(0).iter().zip([1.0, -2.0, 0.0, 0.5, 3.0, -1.0]) {
            assert!((a - k * b).abs() < 1e-15);
        }
        assert!((g.tensor(1)[1] + 4.0 * k).abs() < 1e-15);
        assert!((grad_norm::<f64, _>(&g) - 2.0).abs() < 1e-14);

        let mut v = layer();
        clip_grad_value(&mut v, 1.5);
        assert_eq!(v.tensor(0), &[1.0, -1.5, 0.0, 0.5, 1.5, -1.0]);
        assert_eq!(v.tensor(1), &[1.5, -1.5]);
    }

    #[test]
    fn norm_survives_extremes() {
        let mut g = Dense::<f32, 1, 2>::zeros();
        g.tensor_mut(0).copy_from_slice(&[3e30, 4e30]);
        let n: f32 = grad_norm(&g);
        assert!((n / 5e30 - 1.0).abs() < 1e-6, "{n}");
        let zero = Dense::<f32, 1, 2>::zeros();
        assert_eq!(grad_norm::<f32, _>(&zero), 0.0);
        g.tensor_mut(1)[0] = f32::NAN;
        assert!(grad_norm::<f32, _>(&g).is_nan());
    }
}
