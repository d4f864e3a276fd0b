//! Mean squared error: L = (1/N) Σ (yᵢ − tᵢ)², ∂L/∂yᵢ = 2(yᵢ − tᵢ)/N.

use super::Loss;
use crate::Scalar;
use nalgebra::SVector;

/// Mean squared error over `N` outputs against a target of the same shape (PyTorch's
/// `nn.MSELoss` with `reduction = "mean"`): the loss for regression.
///
/// Divided by N, not 2N, so the gradient is 2(y − t)/N, as in PyTorch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Mse;

impl<T: Scalar, const N: usize> Loss<T, SVector<T, N>> for Mse {
    type Target = SVector<T, N>;

    fn value(&self, y: &SVector<T, N>, t: &SVector<T, N>) -> T {
        (y - t).norm_squared() / T::of(N as f64)
    }

    fn value_and_grad(&self, y: &SVector<T, N>, t: &SVector<T, N>, dy: &mut SVector<T, N>) -> T {
        let scale = T::of(2.0 / N as f64);
        let mut sum = T::zero();
        for ((dy, &y), &t) in dy.iter_mut().zip(y.iter()).zip(t.iter()) {
            let e = y - t;
            sum += e * e;
            *dy = scale * e;
        }
        sum / T::of(N as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::check_loss;
    use nalgebra::Vector3;

    #[test]
    fn known_value() {
        // errors [1, -2, 0.5] → (1 + 4 + 0.25) / 3 = 1.75
        let y = Vector3::new(2.0, 0.0, 1.0);
        let t = Vector3::new(1.0, 2.0, 0.5);
        assert_eq!(Mse.value(&y, &t), 1.75);
        let mut dy = Vector3::zeros();
        assert_eq!(Mse.value_and_grad(&y, &t, &mut dy), 1.75);
        // 2e/3
        assert_eq!(dy, Vector3::new(2.0 / 3.0, -4.0 / 3.0, 1.0 / 3.0));
        check_loss(&Mse, &y, &t);
    }
}
