//! AdaGrad (Duchi, Hazan and Singer 2011), as PyTorch's `torch.optim.Adagrad`.
//!
//! Per element, with t the step count from 1:
//!
//! ```text
//! g ← g + λ w
//! α_t = α / (1 + (t − 1)·lr_decay)
//! s ← s + g²                         (s₀ = initial_accumulator_value)
//! w ← w − α_t g / (√s + ε)           (EpsPlacement::Outside, PyTorch, default)
//! w ← w − α_t g / √(s + ε)           (EpsPlacement::Inside)
//! ```

use super::{EpsPlacement, Optimizer};
use crate::{Model, Network, Params, Scalar, Zeros};

/// AdaGrad: each element's step shrinks with the sum of its squared gradients.
pub struct Adagrad<N: Network<T>, T: Scalar = <N as Model>::Scalar> {
    /// α. Default 0.01.
    pub lr: T,
    /// Divides α by 1 + (t − 1)·lr_decay. Default 0.
    pub lr_decay: T,
    /// L2 weight decay λ on every tensor. Default 0.
    pub weight_decay: T,
    /// ε. Default 1e-10.
    pub eps: T,
    /// Default [`EpsPlacement::Outside`] (PyTorch).
    pub eps_placement: EpsPlacement,
    /// The sum of squared gradients s.
    pub sum_sq: N::Grad,
    /// Steps taken.
    pub steps: u64,
}

impl<N: Network<T>, T: Scalar> Default for Adagrad<N, T> {
    fn default() -> Self {
        Self::new(T::of(0.01))
    }
}

impl<N: Network<T>, T: Scalar> Adagrad<N, T> {
    /// PyTorch's `Adagrad(lr)`: lr_decay 0, weight_decay 0, initial accumulator 0, ε = 1e-10
    /// outside the square root.
    pub fn new(lr: T) -> Self {
        Adagrad {
            lr,
            lr_decay: T::zero(),
            weight_decay: T::zero(),
            eps: T::of(1e-10),
            eps_placement: EpsPlacement::Outside,
            sum_sq: N::Grad::zeros(),
            steps: 0,
        }
    }

    /// Sets the learning-rate decay: step t uses α / (1 + (t − 1)·lr_decay).
    pub fn lr_decay(mut self, lr_decay: T) -> Self {
        self.lr_decay = lr_decay;
        self
    }

    /// Sets the L2 weight decay λ, added to the gradient as λθ.
    pub fn weight_decay(mut self, lambda: T) -> Self {
        self.weight_decay = lambda;
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

    /// Starts every accumulator at `value` (PyTorch's `initial_accumulator_value`).
    pub fn initial_accumulator(mut self, value: T) -> Self {
        fill(&mut self.sum_sq, value);
        self
    }

    /// Forgets the accumulated squares (back to zero) and the step count.
    pub fn reset(&mut self) {
        fill(&mut self.sum_sq, T::zero());
        self.steps = 0;
    }
}

fn fill<T: Scalar, P: Params<T>>(p: &mut P, v: T) {
    for i in 0..P::TENSORS {
        p.tensor_mut(i).fill(v);
    }
}

impl<N: Network<T>, T: Scalar> Optimizer<N, T> for Adagrad<N, T> {
    fn step(&mut self, net: &mut N, grad: &N::Grad) {
        self.steps += 1;
        let decay = T::one() + T::of((self.steps - 1) as f64) * self.lr_decay;
        let lr = self.lr / decay;
        let (wd, eps, placement) = (self.weight_decay, self.eps, self.eps_placement);
        for i in 0..N::TENSORS {
            let w = net.tensor_mut(i);
            let g = grad.tensor(i);
            let s = self.sum_sq.tensor_mut(i);
            for ((w, &g), s) in w.iter_mut().zip(g).zip(s.iter_mut()) {
                let g = g + wd * *w;
                *s += g * g;
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
