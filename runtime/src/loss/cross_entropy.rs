//! Cross-entropy losses computed from logits, never from probabilities, so they stay finite.
//!
//! Softmax cross-entropy: L = logsumexp(y) − y_c, ∂L/∂y = softmax(y) − onehot(c).
//! Binary cross-entropy on logits x with targets t ∈ [0, 1], per element
//! ℓ = max(x, 0) − x t + ln(1 + e^(−|x|)) (the form that neither overflows nor loses
//! precision), L = mean ℓ, ∂L/∂xᵢ = (σ(xᵢ) − tᵢ)/N.

use super::Loss;
use crate::layers::activation::sigmoid;
use crate::Scalar;
use nalgebra::SVector;

/// ln Σ eˣⁱ, shifted by the maximum so it neither overflows nor underflows.
pub fn log_sum_exp<T: Scalar>(x: &[T]) -> T {
    let m = x
        .iter()
        .fold(x.first().copied().unwrap_or(T::zero()), |m, &v| {
            if v > m {
                v
            } else {
                m
            }
        });
    let s = x.iter().fold(T::zero(), |s, &v| s + (v - m).exp());
    m + s.ln()
}

/// Softmax cross-entropy against a class index, from logits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SoftmaxCrossEntropy;

impl<T: Scalar, const N: usize> Loss<T, SVector<T, N>> for SoftmaxCrossEntropy {
    /// The class, `< N`.
    type Target = usize;

    fn value(&self, y: &SVector<T, N>, &class: &usize) -> T {
        log_sum_exp(y.as_slice()) - y[class]
    }

    fn value_and_grad(&self, y: &SVector<T, N>, &class: &usize, dy: &mut SVector<T, N>) -> T {
        let lse = log_sum_exp(y.as_slice());
        for (dy, &y) in dy.iter_mut().zip(y.iter()) {
            *dy = (y - lse).exp();
        }
        dy[class] -= T::one();
        lse - y[class]
    }
}

/// Binary cross-entropy from logits (PyTorch's `BCEWithLogitsLoss`), element-wise mean.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BinaryCrossEntropy;

impl<T: Scalar, const N: usize> Loss<T, SVector<T, N>> for BinaryCrossEntropy {
    /// Targets in [0, 1].
    type Target = SVector<T, N>;

    fn value(&self, x: &SVector<T, N>, t: &SVector<T, N>) -> T {
        let sum = x.iter().zip(t.iter()).fold(T::zero(), |s, (&x, &t)| {
            s + x.max(T::zero()) - x * t + (T::one() + (-x.abs()).exp()).ln()
        });
        sum / T::of(N as f64)
    }

    fn value_and_grad(&self, x: &SVector<T, N>, t: &SVector<T, N>, dx: &mut SVector<T, N>) -> T {
        let inv = T::of(1.0 / N as f64);
        for ((dx, &x), &t) in dx.iter_mut().zip(x.iter()).zip(t.iter()) {
            *dx = (sigmoid(x) - t) * inv;
        }
        self.value(x, t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::check_loss;
    use nalgebra::{Vector2, Vector3};

    #[test]
    fn softmax_cross_entropy_known_values() {
        // Logits [1, 2, 3], class 2: L = ln(e + e² + e³) − 3 = 0.40760596444437967
        let y = Vector3::new(1.0, 2.0, 3.0);
        let l: f64 = SoftmaxCrossEntropy.value(&y, &2);
        assert!((l - 0.407_605_964_444_379_7).abs() < 1e-15);
        // Uniform logits: L = ln 3, gradient = 1/3 − onehot.
        let mut dy = Vector3::zeros();
        let l = SoftmaxCrossEntropy.value_and_grad(&Vector3::new(0.0, 0.0, 0.0), &0, &mut dy);
        assert!((l - 3.0f64.ln()).abs() < 1e-15);
        assert!((dy - Vector3::new(-2.0 / 3.0, 1.0 / 3.0, 1.0 / 3.0)).norm() < 1e-15);
        // Huge logits stay finite: logits [1000, 0] for class 1 give L = 1000.
        let l: f64 = SoftmaxCrossEntropy.value(&Vector2::new(1000.0, 0.0), &1);
        assert_eq!(l, 1000.0);
        for c in 0..3 {
            check_loss(&SoftmaxCrossEntropy, &Vector3::new(0.3, -1.2, 2.0), &c);
        }
    }

    #[test]
    fn binary_cross_entropy_known_values() {
        // x = 0: ℓ = ln 2 for any t. x = 2, t = 1: ℓ = ln(1 + e⁻²) = 0.12692801104297263.
        let x = Vector2::new(0.0, 2.0);
        let t = Vector2::new(0.3, 1.0);
        let l: f64 = BinaryCrossEntropy.value(&x, &t);
        let want = (2.0f64.ln() + 0.126_928_011_042_972_63) / 2.0;
        assert!((l - want).abs() < 1e-15);
        // Direct formula −[t ln σ + (1 − t) ln(1 − σ)] agrees at moderate logits.
        let x = Vector3::new(-1.5, 0.4, 3.0);
        let t = Vector3::new(0.0, 0.7, 1.0);
        let direct = x.iter().zip(t.iter()).map(|(&x, &t): (&f64, &f64)| {
            let s = 1.0 / (1.0 + (-x).exp());
            -(t * s.ln() + (1.0 - t) * (1.0 - s).ln())
        });
        let direct = direct.sum::<f64>() / 3.0;
        assert!((BinaryCrossEntropy.value(&x, &t) - direct).abs() < 1e-14);
        // Extreme logits stay finite: x = −1000, t = 1 costs 1000.
        let l: f64 = BinaryCrossEntropy.value(&Vector2::new(-1000.0, 0.0), &Vector2::new(1.0, 0.5));
        assert!((l - (1000.0 + 2.0f64.ln()) / 2.0).abs() < 1e-12);
        check_loss(&BinaryCrossEntropy, &x, &t);
    }
}
