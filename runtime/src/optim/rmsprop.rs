//! RMSProp (Tieleman and Hinton 2012), as PyTorch's `torch.optim.RMSprop` without its
//! `momentum` and `centered` options.
//!
//! Per element, with γ = `alpha`:
//!
//! ```text
//! g ← g + λ w
//! s ← γ s + (1 − γ) g²               (s₀ = 0)
//! w ← w − α g / (√s + ε)             (EpsPlacement::Outside, PyTorch, default)
//! w ← w − α g / √(s + ε)             (EpsPlacement::Inside)
//! ```

use super::{EpsPlacement, Optimizer};
use crate::{Model, Network, Params, Scalar, Zeros};

/// RMSProp: AdaGrad with an exponential average of squared gradients instead of a sum.
pub struct RmsProp<N: Network<T>, T: Scalar = <N as Model>::Scalar> {
    /// α. Default 0.01.
    pub lr: T,
    /// γ, the decay of the squared-gradient average. Default 0.99.
    pub alpha: T,
    /// ε. Default 1e-8.
    pub eps: T,
    /// Default [`EpsPlacement::Outside`] (PyTorch).
    pub eps_placement: EpsPlacement,
    /// L2 weight decay λ on every tensor. Default 0.
    pub weight_decay: T,
    /// The average of squared gradients s.
    pub mean_sq: N::Grad,
}

impl<N: Network<T>, T: Scalar> Default for RmsProp<N, T> {
    fn default() -> Self {
        Self::new(T::of(0.01))
    }
}

impl<N: Network<T>, T: Scalar> RmsProp<N, T> {
    /// PyTorch's `RMSprop(lr)`: alpha 0.99, ε = 1e-8 outside the square root, no weight decay.
    pub fn new(lr: T) -> Self {
        RmsProp {
            lr,
            alpha: T::of(0.99),
            eps: T::of(1e-8),
            eps_placement: EpsPlacement::Outside,
            weight_decay: T::zero(),
            mean_sq: N::Grad::zeros(),
        }
    }

    /// Sets γ (PyTorch's `alpha`).
    pub fn alpha(mut self, alpha: T) -> Self {
        self.alpha = alpha;
        self
    }

    /// Sets ε, added to the denominator (where: [`eps_placement`](Self::eps_placement)).
    pub fn eps(mut self, eps: T) -> Self {
        self.eps = eps;
        self
    }

    /// Sets whether ε goes outside or inside the square root.
    pub fn eps_placement(mut self, placement: EpsPlacement) -> Self {
        self.eps_placement = placement;
        self
    }

    /// Sets the L2 weight decay λ, added to the gradient as λθ.
    pub fn weight_decay(mut self, lambda: T) -> Self {
        self.weight_decay = lambda;
        self
    }

    /// Forgets the squared-gradient average.
    pub fn reset(&mut self) {
        crate::train::clear(&mut self.mean_sq);
    }
}

impl<N: Network<T>, T: Scalar> Optimizer<N, T> for RmsProp<N, T> {
    fn step(&mut self, net: &mut N, grad: &N::Grad) {
        let (lr, a, wd, eps, placement) = (
            self.lr,
            self.alpha,
            self.weight_decay,
            self.eps,
            self.eps_placement,
        );
        let one_minus_a = T::one() - a;
        for i in 0..N::TENSORS {
            let w = net.tensor_mut(i);
            let g = grad.tensor(i);
            let s = self.mean_sq.tensor_mut(i);
            for ((w, &g), s) in w.iter_mut().zip(g).zip(s.iter_mut()) {
                let g = g + wd * *w;
                *s = a * *s + one_minus_a * g * g;
                *w -= lr * g / placement.denominator(*s, eps);
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
