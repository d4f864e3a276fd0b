//! Softmax cross-entropy over every step of a sequence, and perplexity.
//!
//! The logits are a step-major `[STEPS, CLASSES]` sequence (element `[t·C + j]` is class j at
//! step t), the targets one class per step. With `m_t = max_j z[t, j]`,
//!
//! ```text
//! ℓ_t = ln Σ_j e^(z[t, j] − m_t) − (z[t, c_t] − m_t)      L = (1/STEPS) Σ_t ℓ_t
//! ∂L/∂z[t, j] = (softmax(z[t, ·])_j − [j = c_t]) / STEPS
//! ```
//!
//! (PyTorch's `F.cross_entropy` on `[steps, classes]` logits with `reduction = "mean"`.)
//! Both terms of ℓ_t are taken from the shifted logits, never as `logsumexp(z) − z_c`: at
//! logits around 10⁸ in `f32` the sum `m + ln Σ` would round its small second term away,
//! while the shifted differences stay exact.
//!
//! Perplexity is `exp(L)`, the mean cross-entropy over a corpus exponentiated: the number of
//! equally likely classes that would be as surprising ([`perplexity`]).

use super::Loss;
use crate::Scalar;
use nalgebra::SVector;

/// Softmax cross-entropy per step of a `[STEPS, CLASSES]` logit sequence, mean over steps,
/// against one target class per step.
///
/// ```
/// use stacknet_runtime::loss::{Loss, SequenceCrossEntropy};
/// use stacknet_runtime::nalgebra::SVector;
///
/// // Two steps of two classes, uniform logits: ln 2 per step.
/// let loss = SequenceCrossEntropy::<2, 2>;
/// let l: f64 = loss.value(&SVector::<f64, 4>::zeros(), &[0, 1]);
/// assert!((l - 2f64.ln()).abs() < 1e-15);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SequenceCrossEntropy<const STEPS: usize, const CLASSES: usize>;

impl<const STEPS: usize, const CLASSES: usize> SequenceCrossEntropy<STEPS, CLASSES> {
    /// Checks that `N` logits are `STEPS·CLASSES`.
    const fn check(n: usize) {
        assert!(
            STEPS > 0 && CLASSES > 0,
            "sequence cross-entropy: steps and classes must be positive"
        );
        assert!(
            n == STEPS * CLASSES,
            "sequence cross-entropy: the output must have `STEPS·CLASSES` values"
        );
    }

    /// The shifted maximum and ℓ_t of step t (see the module docs); panics on a class out of
    /// range with a message naming it.
    #[inline]
    fn step<T: Scalar>(z: &[T], t: usize, class: usize) -> (T, T, T) {
        assert!(
            class < CLASSES,
            "sequence cross-entropy: target class at step {t} must be below {CLASSES}, found {class}"
        );
        let m = z.iter().fold(z[0], |m, &v| if v > m { v } else { m });
        let s = z.iter().fold(T::zero(), |s, &v| s + (v - m).exp());
        (m, s, s.ln() - (z[class] - m))
    }
}

impl<T: Scalar, const STEPS: usize, const CLASSES: usize, const N: usize> Loss<T, SVector<T, N>>
    for SequenceCrossEntropy<STEPS, CLASSES>
{
    /// The class of each step, `< CLASSES`.
    type Target = [usize; STEPS];

    fn value(&self, y: &SVector<T, N>, targets: &[usize; STEPS]) -> T {
        const { Self::check(N) };
        let mut sum = T::zero();
        for (t, (z, &c)) in y.as_slice().chunks_exact(CLASSES).zip(targets).enumerate() {
            sum += Self::step(z, t, c).2;
        }
        sum / T::of(STEPS as f64)
    }

    fn value_and_grad(
        &self,
        y: &SVector<T, N>,
        targets: &[usize; STEPS],
        dy: &mut SVector<T, N>,
    ) -> T {
        const { Self::check(N) };
        let inv = T::one() / T::of(STEPS as f64);
        let mut sum = T::zero();
        let rows = y.as_slice().chunks_exact(CLASSES);
        let drows = dy.as_mut_slice().chunks_exact_mut(CLASSES);
        for (t, ((z, d), &c)) in rows.zip(drows).zip(targets).enumerate() {
            let (m, s, l) = Self::step(z, t, c);
            sum += l;
            let scale = inv / s;
            for (d, &v) in d.iter_mut().zip(z) {
                *d = (v - m).exp() * scale;
            }
            d[c] -= inv;
        }
        sum * inv
    }
}

/// Perplexity from a mean cross-entropy in nats: `exp(mean_cross_entropy)`.
///
/// ```
/// use stacknet_runtime::loss::perplexity;
/// // Uniform over 50 classes: cross-entropy ln 50, perplexity 50.
/// assert!((perplexity(50f64.ln()) - 50.0).abs() < 1e-12);
/// ```
pub fn perplexity<T: Scalar>(mean_cross_entropy: T) -> T {
    mean_cross_entropy.exp()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::check_loss;
    use crate::layers::sequence_fixtures as fx;

    #[test]
    fn against_pytorch() {
        let loss = SequenceCrossEntropy::<{ fx::CE_STEPS }, { fx::CE_CLASSES }>;
        let y =
            SVector::<f64, { fx::CE_STEPS * fx::CE_CLASSES }>::from_column_slice(&fx::CE_LOGITS);
        let mut dy = SVector::zeros();
        let l = loss.value_and_grad(&y, &fx::CE_TARGETS, &mut dy);
        assert!(
            (l - fx::CE_LOSS).abs() < 1e-14,
            "{l} vs PyTorch {}",
            fx::CE_LOSS
        );
        for (i, (a, b)) in dy.iter().zip(&fx::CE_DLOGITS).enumerate() {
            assert!((a - b).abs() < 1e-15, "dlogits[{i}]: {a} vs PyTorch {b}");
        }
        assert!((perplexity(l) - fx::CE_PERPLEXITY).abs() < 1e-12 * fx::CE_PERPLEXITY);
    }

    #[test]
    fn by_hand() {
        // Step 0: logits [1, 2, 3], class 2: ln(e + e² + e³) − 3 = 0.40760596444437967.
        // Step 1: uniform logits, class 0: ln 3. Mean of the two.
        let y = SVector::from([1.0, 2.0, 3.0, 0.5, 0.5, 0.5]);
        let loss = SequenceCrossEntropy::<2, 3>;
        let want = (0.407_605_964_444_379_7 + 3f64.ln()) / 2.0;
        let mut dy = SVector::zeros();
        let l = loss.value_and_grad(&y, &[2, 0], &mut dy);
        assert!((l - want).abs() < 1e-15);
        assert!((loss.value(&y, &[2, 0]) - want).abs() < 1e-15);
        // Step 1's gradient: (1/3 − onehot) / 2.
        assert!((dy[3] + 1.0 / 3.0).abs() < 1e-15);
        assert!((dy[4] - 1.0 / 6.0).abs() < 1e-15);
        for t in [[0, 0], [1, 2], [2, 1]] {
            check_loss(&loss, &SVector::from([0.3, -1.2, 2.0, 0.1, 0.7, -0.4]), &t);
        }
    }

    #[test]
    fn large_logits_stay_exact_in_f32() {
        // Logits c + [0, 1, −2] per step, all exactly representable in f32 at c = 1e5
        // (spacing 2⁻⁷) and, scaled by 8, at c = 1e8 (spacing 8). The exact loss of class j
        // is ln Σ_i e^(d_i − d_max) − (d_j − d_max) of the differences d alone.
        for (c, unit) in [(1e5f32, 1.0f32), (1e8, 8.0)] {
            let d = [0.0f32, unit, -2.0 * unit];
            let y = SVector::<f32, 6>::from_fn(|i, _| c + d[i % 3]);
            let exact = |j: usize| {
                let d: [f64; 3] = d.map(|v| v as f64);
                let m = d[1];
                d.iter().map(|v| (v - m).exp()).sum::<f64>().ln() - (d[j] - m)
            };
            let loss = SequenceCrossEntropy::<2, 3>;
            let want = (exact(0) + exact(2)) / 2.0;
            let mut dy = SVector::zeros();
            let l = loss.value_and_grad(&y, &[0, 2], &mut dy);
            let err = ((l as f64) - want).abs() / want;
            assert!(err < 1e-6, "logits around {c}: {l} vs exact {want}");
            // The gradient is the softmax of the differences, also exact.
            let d64 = d.map(|v| (v as f64 - unit as f64).exp());
            let p0 = d64[0] / d64.iter().sum::<f64>();
            assert!(((dy[0] as f64) - (p0 - 1.0) / 2.0).abs() < 1e-6);
        }
    }

    #[test]
    #[should_panic(
        expected = "sequence cross-entropy: target class at step 1 must be below 3, found 3"
    )]
    fn class_out_of_range_panics_with_a_message() {
        let _: f64 = SequenceCrossEntropy::<2, 3>.value(&SVector::<f64, 6>::zeros(), &[0, 3]);
    }
}
