//! AdaDelta (Zeiler 2012), as PyTorch's `torch.optim.Adadelta`.
//!
//! Per element:
//!
//! ```text
//! g  ← g + λ w
//! s  ← ρ s + (1 − ρ) g²
//! g′ = √(Δx + ε) / √(s + ε) · g        (ε inside both square roots)
//! Δx ← ρ Δx + (1 − ρ) g′²
//! w  ← w − α g′                         (α = 1 in Zeiler's paper and PyTorch's default)
//! ```
//!
//! The ratio of root-mean-squares gives the step the units of w, which is why AdaDelta
//! needs no learning rate; α only scales it. Early steps are about √ε·g/|g| (1e-3 for the
//! default ε) and grow as Δx accumulates, so AdaDelta starts slowly.

use super::Optimizer;
use crate::{Model, Network, Params, Scalar, Zeros};

/// AdaDelta: steps scaled by the ratio of past step sizes to past gradient sizes.
pub struct Adadelta<N: Network<T>, T: Scalar = <N as Model>::Scalar> {
    /// α. Default 1.0.
    pub lr: T,
    /// ρ. Default 0.9.
    pub rho: T,
    /// ε. Default 1e-6.
    pub eps: T,
    /// L2 weight decay λ on every tensor. Default 0.
    pub weight_decay: T,
    /// The average of squared gradients s.
    pub mean_sq: N::Grad,
    /// The average of squared updates Δx.
    pub mean_sq_delta: N::Grad,
}

impl<N: Network<T>, T: Scalar> Default for Adadelta<N, T> {
    fn default() -> Self {
        Self::new(T::one())
    }
}

impl<N: Network<T>, T: Scalar> Adadelta<N, T> {
    /// PyTorch's `Adadelta(lr)`: ρ = 0.9, ε = 1e-6, no weight decay.
    pub fn new(lr: T) -> Self {
        Adadelta {
            lr,
            rho: T::of(0.9),
            eps: T::of(1e-6),
            weight_decay: T::zero(),
            mean_sq: N::Grad::zeros(),
            mean_sq_delta: N::Grad::zeros(),
        }
    }

    /// Sets ρ, the decay of both running averages.
    pub fn rho(mut self, rho: T) -> Self {
        self.rho = rho;
        self
    }

    /// Sets ε, added inside both square roots (it also sets the size of the first steps).
    pub fn eps(mut self, eps: T) -> Self {
        self.eps = eps;
        self
    }

    /// Sets the L2 weight decay λ, added to the gradient as λθ.
    pub fn weight_decay(mut self, lambda: T) -> Self {
        self.weight_decay = lambda;
        self
    }

    /// Forgets both averages.
    pub fn reset(&mut self) {
        crate::train::clear(&mut self.mean_sq);
        crate::train::clear(&mut self.mean_sq_delta);
    }
}

impl<N: Network<T>, T: Scalar> Optimizer<N, T> for Adadelta<N, T> {
    fn step(&mut self, net: &mut N, grad: &N::Grad) {
        let (lr, rho, eps, wd) = (self.lr, self.rho, self.eps, self.weight_decay);
        let one_minus_rho = T::one() - rho;
        for i in 0..N::TENSORS {
            let w = net.tensor_mut(i);
            let g = grad.tensor(i);
            let s = self.mean_sq.tensor_mut(i);
            let dx = self.mean_sq_delta.tensor_mut(i);
            let it = w.iter_mut().zip(g).zip(s.iter_mut().zip(dx.iter_mut()));
            for ((w, &g), (s, dx)) in it {
                let g = g + wd * *w;
                *s = rho * *s + one_minus_rho * g * g;
                let delta = (*dx + eps).sqrt() / (*s + eps).sqrt() * g;
                *dx = rho * *dx + one_minus_rho * delta * delta;
                *w -= lr * delta;
            }
        }
    }
    fn learning_rate(&self) -> T {
        self.lr
    }
    fn set_learning_rate(&mut self, lr: T) {
        self.lr = lr;
    }
}
