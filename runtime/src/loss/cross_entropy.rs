//! Cross-entropy losses computed from logits, never from probabilities, so they stay finite.
//!
//! Softmax cross-entropy: L = logsumexp(y) − y_c, ∂L/∂y = softmax(y) − onehot(c), computed
//! from the max-shifted logits zᵢ = yᵢ − max y as L = ln(1 + Σ_{i≠k} e^(zᵢ)) − z_c (k the
//! first maximum): nothing of size |y| is ever subtracted, so the loss keeps its digits at
//! any scale (ten equal logits of 1e30 cost ln 10) and a small loss is not rounded to 0.
//!
//! Binary cross-entropy on logits x with targets t ∈ [0, 1], per element
//! ℓ = max(x, 0) − x t + ln(1 + e^(−|x|)) (the form that neither overflows nor loses
//! precision, with `ln_1p`), L = mean ℓ, ∂L/∂xᵢ = (σ(xᵢ) − tᵢ)/N.
//!
//! At the extremes both take the limits: a +inf logit takes the probability from every finite
//! one (k logits at +inf share it, 1/k each), a −inf logit has probability 0, all logits at
//! −inf are equal (uniform); binary cross-entropy at x = ±inf costs (1 − t)·∞ or t·∞, which
//! is 0 when the target agrees exactly. A NaN logit, or a binary target outside [0, 1], gives
//! a NaN loss and gradient, which [`Trainer`](crate::train::Trainer) reports as an error.

use super::Loss;
use crate::layers::activation::{max_shifted, sigmoid};
use crate::Scalar;
use nalgebra::SVector;

/// ln Σ eˣⁱ, shifted by the maximum so it neither overflows nor underflows; −inf for an
/// empty slice, NaN if some xᵢ is NaN.
pub fn log_sum_exp<T: Scalar>(x: &[T]) -> T {
    match max_shifted(x) {
        Some((k, m, shift)) => m + rest(x, k, shift).ln_1p(),
        None => -T::one() / T::zero(),
    }
}

/// Σ_{i≠k} e^(zᵢ): the softmax denominator less the 1 of the maximum itself.
fn rest<T: Scalar>(x: &[T], k: usize, shift: impl Fn(T) -> T) -> T {
    let mut s = T::zero();
    for (i, &v) in x.iter().enumerate() {
        if i != k {
            s += shift(v).exp();
        }
    }
    s
}

/// Panics unless `class < N`, with a message that names both (an index panic would not).
#[inline]
fn in_range<const N: usize>(class: usize) {
    assert!(class < N, "label {class} is out of range for {N} classes");
}

/// Softmax cross-entropy against a class index, from logits.
///
/// A class index not below the output size panics with a message naming both (`label 12 is
/// out of range for 10 classes`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SoftmaxCrossEntropy;

impl<T: Scalar, const N: usize> Loss<T, SVector<T, N>> for SoftmaxCrossEntropy {
    /// The class, `< N`.
    type Target = usize;

    fn value(&self, y: &SVector<T, N>, &class: &usize) -> T {
        in_range::<N>(class);
        let Some((k, _, shift)) = max_shifted(y.as_slice()) else {
            return T::zero();
        };
        rest(y.as_slice(), k, &shift).ln_1p() - shift(y[class])
    }

    fn value_and_grad(&self, y: &SVector<T, N>, &class: &usize, dy: &mut SVector<T, N>) -> T {
        in_range::<N>(class);
        let Some((k, _, shift)) = max_shifted(y.as_slice()) else {
            return T::zero();
        };
        let s = rest(y.as_slice(), k, &shift);
        let inv = T::one() / (T::one() + s);
        for (dy, &y) in dy.iter_mut().zip(y.iter()) {
            *dy = shift(y).exp() * inv;
        }
        dy[class] -= T::one();
        s.ln_1p() - shift(y[class])
    }
}

/// Binary cross-entropy from logits (PyTorch's `BCEWithLogitsLoss`), element-wise mean.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BinaryCrossEntropy;

/// `t`, or NaN when it is outside [0, 1] (or NaN): such a target makes the loss unbounded
/// below, so it is reported (as a NaN loss) rather than descended.
#[inline]
fn target<T: Scalar>(t: T) -> T {
    if t >= T::zero() && t <= T::one() {
        t
    } else {
        T::zero() / T::zero()
    }
}

/// x·k, taken as 0 when k = 0 so that an infinite logit with an exact target costs 0.
#[inline]
fn times<T: Scalar>(x: T, k: T) -> T {
    if k == T::zero() {
        k
    } else {
        x * k
    }
}

/// ℓ(x, t) = max(x, 0) − x t + ln(1 + e^(−|x|)), written as x(1 − t) or −x t so that each
/// infinite limit is a product.
#[inline]
fn bce<T: Scalar>(x: T, t: T) -> T {
    let t = target(t);
    let linear = if x >= T::zero() {
        times(x, T::one() - t)
    } else {
        times(-x, t)
    };
    // A NaN logit or target makes one of the two terms NaN.
    linear + (-x.abs()).exp().ln_1p()
}

impl<T: Scalar, const N: usize> Loss<T, SVector<T, N>> for BinaryCrossEntropy {
    /// Targets in [0, 1]; any other target gives a NaN loss.
    type Target = SVector<T, N>;

    fn value(&self, x: &SVector<T, N>, t: &SVector<T, N>) -> T {
        let sum = x
            .iter()
            .zip(t.iter())
            .fold(T::zero(), |s, (&x, &t)| s + bce(x, t));
        sum / T::of(N as f64)
    }

    fn value_and_grad(&self, x: &SVector<T, N>, t: &SVector<T, N>, dx: &mut SVector<T, N>) -> T {
        let inv = T::of(1.0 / N as f64);
        for ((dx, &x), &t) in dx.iter_mut().zip(x.iter()).zip(t.iter()) {
            *dx = (sigmoid(x) - target(t)) * inv;
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
    #[should_panic(expected = "label 12 is out of range for 10 classes")]
    fn an_out_of_range_label_is_named() {
        let y = nalgebra::SVector::<f32, 10>::zeros();
        let _ = SoftmaxCrossEntropy.value(&y, &12);
    }

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

    /// Loss and gradient of softmax cross-entropy in f32.
    fn sce<const N: usize>(y: [f32; N], class: usize) -> (f32, [f32; N]) {
        let mut dy = SVector::<f32, N>::zeros();
        let l = SoftmaxCrossEntropy.value_and_grad(&SVector::from(y), &class, &mut dy);
        let v: f32 = SoftmaxCrossEntropy.value(&SVector::from(y), &class);
        assert!(
            l == v || (l.is_nan() && v.is_nan()),
            "value {v} vs value_and_grad {l}"
        );
        (l, dy.into())
    }

    fn close(a: f32, b: f64) -> bool {
        a == b as f32 || ((a as f64 - b) / b).abs() < 2e-7
    }

    #[test]
    fn softmax_cross_entropy_is_exact_for_large_logits() {
        let ln = |x: f64| x.ln();
        // Ten equal logits: L = ln 10, gradient 1/10 − onehot (summing to 0), at any size.
        for big in [1e5f32, 1e8, 1e30, f32::MAX, -1e30, -f32::MAX] {
            let (l, dy) = sce([big; 10], 3);
            assert!(close(l, ln(10.0)), "{big}: {l}");
            for (i, &d) in dy.iter().enumerate() {
                let want = if i == 3 { 0.1 - 1.0 } else { 0.1 };
                assert!(close(d, want), "{big}: dy[{i}] = {d}");
            }
        }
        // [b, b, 0]: ln 2 for a class at the top, b + ln 2 for the other.
        for big in [1e5f32, 1e8, 1e30, f32::MAX] {
            assert!(close(sce([big, big, 0.0], 0).0, ln(2.0)), "{big}");
            assert!(
                close(sce([big, big, 0.0], 2).0, big as f64 + ln(2.0)),
                "{big}"
            );
        }
        // Digits beyond the logits' spacing: [100001, 100000], class 1 costs ln(1 + e).
        let (l, dy) = sce([100_001.0, 100_000.0], 1);
        let e = core::f64::consts::E;
        assert!(close(l, ln(1.0 + e)), "{l}");
        assert!(
            close(dy[0], e / (1.0 + e)) && close(dy[1], -e / (1.0 + e)),
            "{dy:?}"
        );
        // A small loss keeps its digits: [20, 0], class 0 costs ln(1 + e⁻²⁰) = 2.0611536e-9.
        assert!(close(sce([20.0, 0.0], 0).0, 2.061_153_620_314_381e-9));
        // ±f32::MAX: the exact loss 2·f32::MAX rounds to inf; the gradient is exact.
        assert_eq!(sce([f32::MAX, -f32::MAX], 0), (0.0, [0.0, 0.0]));
        assert_eq!(sce([f32::MAX, -f32::MAX], 1), (f32::INFINITY, [1.0, -1.0]));
        // f64 from 1e15 on had the same cancellation.
        let mut dy = nalgebra::Vector2::zeros();
        let y = Vector2::new(1e16 + 2.0, 1e16);
        let l: f64 = SoftmaxCrossEntropy.value_and_grad(&y, &1, &mut dy);
        let want = (1.0 + 2.0f64.exp()).ln();
        assert!((l - want).abs() < 1e-15 * want, "{l}");
        assert!((dy[0] + dy[1]).abs() < 4e-16, "{dy:?}");
    }

    #[test]
    fn softmax_cross_entropy_limits_at_infinity() {
        let inf = f32::INFINITY;
        // +inf logits share the probability; a class among them costs ln k, any other inf.
        assert_eq!(sce([inf, 0.0, inf], 0), (2.0f32.ln(), [-0.5, 0.0, 0.5]));
        assert_eq!(sce([inf, 0.0, inf], 1), (inf, [0.5, -1.0, 0.5]));
        // A −inf logit has probability 0: it costs inf as the class, nothing otherwise.
        assert_eq!(sce([-inf, 0.0], 0), (inf, [-1.0, 1.0]));
        assert_eq!(sce([-inf, 0.0], 1), (0.0, [0.0, 0.0]));
        // All −inf: the limit of equal logits, uniform.
        assert_eq!(sce([-inf, -inf], 1), (2.0f32.ln(), [0.5, -0.5]));
        // NaN anywhere: NaN loss and gradient, never a finite answer.
        for y in [[f32::NAN, 0.0], [0.0, f32::NAN], [inf, f32::NAN]] {
            let (l, dy) = sce(y, 0);
            assert!(
                l.is_nan() && dy.iter().all(|d| d.is_nan()),
                "{y:?}: {l} {dy:?}"
            );
        }
        assert_eq!(log_sum_exp(&[inf, 0.0]), inf);
        assert_eq!(log_sum_exp(&[-inf, -inf]), -inf);
        assert_eq!(log_sum_exp::<f32>(&[]), -inf);
        assert!(close(log_sum_exp(&[1e30f32, 1e30]), 1e30));
    }

    /// Loss and gradient of binary cross-entropy in f32, one element.
    fn bce(x: f32, t: f32) -> (f32, f32) {
        let (x, t) = (SVector::<f32, 1>::new(x), SVector::<f32, 1>::new(t));
        let mut dx = SVector::<f32, 1>::zeros();
        let l = BinaryCrossEntropy.value_and_grad(&x, &t, &mut dx);
        (l, dx[0])
    }

    #[test]
    fn binary_cross_entropy_extremes() {
        let inf = f32::INFINITY;
        // A small loss keeps its digits (ln_1p): x = 20, t = 1 costs ln(1 + e⁻²⁰).
        assert!(close(bce(20.0, 1.0).0, 2.061_153_620_314_381e-9));
        assert!(close(bce(-30.0, 0.0).0, 9.357_622_968_839_737e-14));
        // Infinite logits: the limits (1 − t)·∞ for +inf and t·∞ for −inf, 0 when t is exact.
        assert_eq!(bce(inf, 1.0), (0.0, 0.0));
        assert_eq!(bce(-inf, 0.0), (0.0, 0.0));
        assert_eq!(bce(inf, 0.25), (inf, 0.75));
        assert_eq!(bce(-inf, 0.25), (inf, -0.25));
        assert_eq!(bce(f32::MAX, 0.0), (f32::MAX, 1.0));
        // Targets outside [0, 1] (and NaN) have no meaning: NaN loss and gradient, which
        // training reports as an error instead of descending an unbounded loss.
        for t in [-0.5f32, 1.5, f32::NAN, inf] {
            let (l, d) = bce(0.5, t);
            assert!(l.is_nan() && d.is_nan(), "t = {t}: {l} {d}");
        }
        let (l, d) = bce(f32::NAN, 1.0);
        assert!(l.is_nan() && d.is_nan());
    }
}
