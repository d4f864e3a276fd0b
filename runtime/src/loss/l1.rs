//! Mean absolute error: L = (1/N) Σ |yᵢ − tᵢ|, ∂L/∂yᵢ = sign(yᵢ − tᵢ)/N (0 where they agree).

use super::Loss;
use crate::Scalar;
use nalgebra::SVector;

/// Mean absolute error over `N` outputs against a target of the same shape (PyTorch's
/// `nn.L1Loss` with `reduction = "mean"`).
///
/// Less sensitive to outliers than [`Mse`](super::Mse): every error pulls with the same
/// gradient 1/N. At yᵢ = tᵢ the gradient is 0 (PyTorch's subgradient). Not to be confused
/// with the L1 weight penalty, `regularize::L1` (the prelude's `L1Penalty`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct L1;

impl<T: Scalar, const N: usize> Loss<T, SVector<T, N>> for L1 {
    type Target = SVector<T, N>;

    fn value(&self, y: &SVector<T, N>, t: &SVector<T, N>) -> T {
        (y - t).abs().sum() / T::of(N as f64)
    }

    fn value_and_grad(&self, y: &SVector<T, N>, t: &SVector<T, N>, dy: &mut SVector<T, N>) -> T {
        let inv = T::of(1.0 / N as f64);
        for ((dy, &y), &t) in dy.iter_mut().zip(y.iter()).zip(t.iter()) {
            *dy = if y > t {
                inv
            } else if y < t {
                -inv
            } else {
                T::zero()
            };
        }
        self.value(y, t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::check_loss;
    use nalgebra::Vector4;

    #[test]
    fn known_value() {
        // |errors| = [1, 2, 0.5, 0] → 3.5 / 4
        let y = Vector4::new(2.0, 0.0, 1.0, 3.0);
        let t = Vector4::new(1.0, 2.0, 0.5, 3.0);
        assert_eq!(L1.value(&y, &t), 0.875);
        let mut dy = Vector4::zeros();
        L1.value_and_grad(&y, &t, &mut dy);
        assert_eq!(dy, Vector4::new(0.25, -0.25, 0.25, 0.0));
        // Away from the kink the gradient is exact.
        check_loss(&L1, &Vector4::new(2.0, 0.0, 1.0, 3.5), &t);
    }
}
